// normalize-ms: MindSpore primitives of the ms import dialect become CIR, per
// passes/tables/ms.toml; legacy attributes (pad_list) and the scalars new-style primitives take
// as inputs (GroupNorm's num_groups, eps) both map; what MindSpore exports in pieces (nn.Dense,
// an exact GELU, hand-written attention) is recomposed.
// RUN: circ-opt %s -p normalize-ms --split-input-file --verify-diagnostics | filecheck %s

// CHECK-LABEL: func.func @conv_block
func.func @conv_block(%x: tensor<1x8x8x8xf32>) -> tensor<1x8x7x7xf32> {
  %gamma = cir.weight "norm.gamma" : tensor<8xf32>
  %beta = cir.weight "norm.beta" : tensor<8xf32>
  %w = cir.weight "conv.weight" : tensor<8x8x3x3xf32>
  %b = cir.weight "conv.bias" : tensor<8xf32>
  // CHECK:      %[[G:.*]] = cir.group_norm %x, %gamma, %beta {num_groups = 2, epsilon = 1.0e-06}
  // CHECK-NEXT: %[[S:.*]] = cir.silu %[[G]]
  // pad_list is [top, bottom, left, right]; CIR's pads are [top, left, bottom, right]
  // CHECK-NEXT: %[[C:.*]] = cir.conv2d %[[S]], %w, %b {pads = [0, 0, 1, 1]}
  // CHECK-NEXT: func.return %[[C]]
  %g:3 = ms.GroupNorm(input=%x, weight=%gamma, bias=%beta) {num_groups = 2, eps = 1.0e-06} : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x2xf32>, tensor<1x2xf32>)
  %s = ms.SiLU(input=%g#0) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %c = ms.Conv2D(x=%s, w=%w) {kernel_size = [3, 3], mode = 1, out_channel = 8, pad_mode = "pad", format = "NCHW", pad_list = [0, 1, 0, 1], group = 1, stride = [1, 1, 1, 1], dilation = [1, 1, 1, 1]} : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x7x7xf32>
  %y = ms.BiasAdd(input_x=%c, bias=%b) {data_format = 0} : (tensor<1x8x7x7xf32>, tensor<8xf32>) -> tensor<1x8x7x7xf32>
  func.return %y : tensor<1x8x7x7xf32>
}

// nn.Dense on a 3-D input: flatten, MatMul(transpose_b), BiasAdd, unflatten -> one linear;
// nn.GELU(approximate=False) is written with erf -> cir.gelu.
// CHECK-LABEL: func.func @dense_gelu
func.func @dense_gelu(%x: tensor<1x16x8xf32>) -> tensor<1x16x4xf32> {
  %w = cir.weight "ff.weight" : tensor<4x8xf32>
  %b = cir.weight "ff.bias" : tensor<4xf32>
  // CHECK:      %[[L:.*]] = cir.linear %x, %w, %b : (tensor<1x16x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<1x16x4xf32>
  // CHECK-NEXT: %[[G:.*]] = cir.gelu %[[L]] : tensor<1x16x4xf32>
  // CHECK-NEXT: func.return %[[G]]
  %f = ms.Reshape(input=%x) {shape = [-1, 8]} : (tensor<1x16x8xf32>) -> tensor<16x8xf32>
  %m = ms.MatMul(input=%f, mat2=%w) {transpose_a = false, transpose_b = true} : (tensor<16x8xf32>, tensor<4x8xf32>) -> tensor<16x4xf32>
  %y = ms.BiasAdd(input_x=%m, bias=%b) {data_format = 0} : (tensor<16x4xf32>, tensor<4xf32>) -> tensor<16x4xf32>
  %u = ms.Reshape(input=%y) {shape = [1, 16, 4]} : (tensor<16x4xf32>) -> tensor<1x16x4xf32>
  %0 = ms.Div(input=%u) {other = 1.4142135381698608} : (tensor<1x16x4xf32>) -> tensor<1x16x4xf32>
  %1 = ms.Erf(input=%0) : (tensor<1x16x4xf32>) -> tensor<1x16x4xf32>
  %2 = ms.Add(input=%1) {other = 1.0} : (tensor<1x16x4xf32>) -> tensor<1x16x4xf32>
  %3 = ms.Mul(input=%u, other=%2) : (tensor<1x16x4xf32>, tensor<1x16x4xf32>) -> tensor<1x16x4xf32>
  %4 = ms.Mul(input=%3) {other = 0.5} : (tensor<1x16x4xf32>) -> tensor<1x16x4xf32>
  func.return %4 : tensor<1x16x4xf32>
}

// softmax(q @ k^T * scale) @ v -> cir.attention; the default scale 1/sqrt(E) is not written.
// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<1x2x16x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x16x4xf32> {
  // CHECK-NEXT: %[[A:.*]] = cir.attention %q, %k, %v : (tensor<1x2x16x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x16x4xf32>
  // CHECK-NEXT: func.return %[[A]]
  %kt = ms.Transpose(input=%k) {dims = [0, 1, 3, 2]} : (tensor<1x2x8x4xf32>) -> tensor<1x2x4x8xf32>
  %s = ms.MatMulExt(input=%q, other=%kt) : (tensor<1x2x16x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x16x8xf32>
  %c = ms.Muls(input=%s) {other = 0.5} : (tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  %p = ms.Softmax(input=%c) {axis = [-1]} : (tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  %o = ms.MatMulExt(input=%p, other=%v) : (tensor<1x2x16x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x16x4xf32>
  func.return %o : tensor<1x2x16x4xf32>
}

// The mint ops (Ascend-only kernels) map too.
// CHECK-LABEL: func.func @mint
func.func @mint(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %w = cir.weight "conv.weight" : tensor<8x8x3x3xf32>
  %b = cir.weight "conv.bias" : tensor<8xf32>
  // CHECK-NEXT: %w = cir.weight
  // CHECK-NEXT: %b = cir.weight
  // CHECK-NEXT: %[[C:.*]] = cir.conv2d %x, %w, %b {pads = [1, 1, 1, 1]}
  // CHECK-NEXT: %[[G:.*]] = cir.gelu %[[C]] {approximate = "tanh"}
  %c = ms.Conv2DExt(input=%x, weight=%w, bias=%b) {stride = [1, 1], padding = [1, 1], dilation = [1, 1], groups = 1} : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %g = ms.GeluExt(input=%c) {approximate = 1} : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  func.return %g : tensor<1x8x4x4xf32>
}

// -----

// An operator with no mapping stops the pass, with its count and first location (the cell
// scope).
func.func @unmapped(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = ms.CumProd(x=%x) {axis = 0, exclusive = false, reverse = false} : (tensor<4xf32>) -> tensor<4xf32> loc("Default/net-Net/CumProd-op0")
  func.return %a : tensor<4xf32>
}
// CHECK: normalize-ms: 1 mindspore operator(s) have no CIR mapping:
// CHECK-NEXT: CumProd x1, first at Default/net-Net/CumProd-op0
