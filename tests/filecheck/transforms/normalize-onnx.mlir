// normalize-onnx: ONNX ops of the onnx import dialect become CIR, by exporter patterns and by
// passes/tables/onnx.toml, with semantics picked by the module's onnx.opset.
// RUN: circ-opt %s -p normalize-onnx --split-input-file --verify-diagnostics | filecheck %s

builtin.module attributes {onnx.opset = 17 : i64} {
// CHECK-LABEL: func.func @convnet
func.func @convnet(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xf32>, %b: tensor<8xf32>, %w8: tensor<8x8x3x3xf32>, %fw: tensor<10x8xf32>, %fb: tensor<10xf32>) -> tensor<1x10xf32> {
  // CHECK-NEXT: %c = cir.conv2d %x, %w, %b {pads = [1, 1, 1, 1]}
  %c = onnx.Conv(X=%x, W=%w, B=%b) {kernel_shape = [3, 3], pads = [1, 1, 1, 1], group = 1, auto_pad = "NOTSET"} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  // auto_pad SAME_UPPER: the explicit pads ONNX implies, the odd one at the end
  // CHECK-NEXT: %s = cir.conv2d %c, %w8 {strides = [2, 2], pads = [0, 0, 1, 1]}
  %s = onnx.Conv(X=%c, W=%w8) {kernel_shape = [3, 3], strides = [2, 2], group = 1, auto_pad = "SAME_UPPER"} : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %r = cir.relu %s
  %r = onnx.Relu(X=%s) : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %p = cir.reduce_mean %r {axes = [2, 3], keepdims = true}
  %p = onnx.GlobalAveragePool(X=%r) : (tensor<1x8x4x4xf32>) -> tensor<1x8x1x1xf32>
  // a shape input is read from the static result type; the constant is then dropped
  // CHECK-NEXT: %f = cir.reshape %p {shape = [1, 8]}
  %shape = cir.constant dense<[1, 8]> : tensor<2xi64>
  %f = onnx.Reshape(data=%p, shape=%shape) {allowzero = 0, shape_value = [1, 8]} : (tensor<1x8x1x1xf32>, tensor<2xi64>) -> tensor<1x8xf32>
  // CHECK-NEXT: %y = cir.linear %f, %fw, %fb
  %y = onnx.Gemm(A=%f, B=%fw, C=%fb) {alpha = 1.0, beta = 1.0, transA = 0, transB = 1} : (tensor<1x8xf32>, tensor<10x8xf32>, tensor<10xf32>) -> tensor<1x10xf32>
  // CHECK-NEXT: func.return %y
  func.return %y : tensor<1x10xf32>
}

// Constant inputs the importer recorded as <input>_value: axes, pads, starts/ends/steps.
// CHECK-LABEL: func.func @recorded_values
func.func @recorded_values(%x: tensor<2x3x4xf32>, %i: tensor<2xi64>) -> (tensor<2x4xf32>, tensor<2x5x4xf32>, tensor<2x1x2xf32>) {
  // CHECK-NEXT: %m = cir.reduce_sum %x {axes = [1]}
  %m = onnx.ReduceSum(data=%x, axes=%i) {keepdims = 0, noop_with_empty_axes = 0, axes_value = [-2]} : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  // CHECK-NEXT: %p = cir.pad %x {low = [0, 1, 0], high = [0, 1, 0], value = 0.5}
  %p = onnx.Pad(data=%x, pads=%i, constant_value=%i) {mode = "constant", pads_value = [0, 1, 0, 0, 1, 0], constant_value_value = 0.5} : (tensor<2x3x4xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<2x5x4xf32>
  // CHECK-NEXT: %s = cir.slice %x {starts = [0, 2, 0], ends = [2, 3, 4], steps = [1, 1, 2]}
  %s = onnx.Slice(data=%x, starts=%i, ends=%i, axes=%i, steps=%i) {starts_value = [-1, 0], ends_value = [9223372036854775807, 4], axes_value = [1, 2], steps_value = [1, 2]} : (tensor<2x3x4xf32>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>, tensor<2xi64>) -> tensor<2x1x2xf32>
  func.return %m, %p, %s : tensor<2x4xf32>, tensor<2x5x4xf32>, tensor<2x1x2xf32>
}

// Exporter patterns: GroupNorm as torch exports it, x * sigmoid(x), attention.
// CHECK-LABEL: func.func @group_norm
func.func @group_norm(%x: tensor<1x8x4x4xf32>, %w: tensor<8x1x1xf32>, %b: tensor<8x1x1xf32>) -> tensor<1x8x4x4xf32> {
  // CHECK-NEXT: %[[W:.*]] = cir.reshape %w {shape = [8]}
  // CHECK-NEXT: %[[B:.*]] = cir.reshape %b {shape = [8]}
  // CHECK-NEXT: %[[G:.*]] = cir.group_norm %x, %[[W]], %[[B]] {num_groups = 2, epsilon = 1.0e-06}
  // CHECK-NEXT: %s = cir.silu %[[G]]
  // CHECK-NEXT: func.return %s
  %g = cir.constant dense<[0, 2, -1]> : tensor<3xi64>
  %ones = cir.constant dense<1.0> : tensor<2xf32>
  %zeros = cir.constant dense<0.0> : tensor<2xf32>
  %back = cir.constant dense<[1, 8, 4, 4]> : tensor<4xi64>
  %r1 = onnx.Reshape(data=%x, shape=%g) {allowzero = 0, shape_value = [0, 2, -1]} : (tensor<1x8x4x4xf32>, tensor<3xi64>) -> tensor<1x2x64xf32>
  %n = onnx.InstanceNormalization(input=%r1, scale=%ones, B=%zeros) {epsilon = 1.0e-06} : (tensor<1x2x64xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x64xf32>
  %r2 = onnx.Reshape(data=%n, shape=%back) {allowzero = 0, shape_value = [1, 8, 4, 4]} : (tensor<1x2x64xf32>, tensor<4xi64>) -> tensor<1x8x4x4xf32>
  %m = onnx.Mul(A=%r2, B=%w) : (tensor<1x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<1x8x4x4xf32>
  %y = onnx.Add(A=%m, B=%b) : (tensor<1x8x4x4xf32>, tensor<8x1x1xf32>) -> tensor<1x8x4x4xf32>
  %sig = onnx.Sigmoid(X=%y) : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %s = onnx.Mul(A=%y, B=%sig) : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  func.return %s : tensor<1x8x4x4xf32>
}

// A scale that is not all ones: InstanceNormalization is mapped as it is (still correct).
// CHECK-LABEL: func.func @instance_norm_kept
func.func @instance_norm_kept(%x: tensor<1x8x4x4xf32>, %scale: tensor<2xf32>) -> tensor<1x8x4x4xf32> {
  // CHECK: cir.group_norm %{{.*}}, %scale, %{{.*}} {num_groups = 2, epsilon = 1.0e-06} : (tensor<1x2x64xf32>
  %zeros = cir.constant dense<0.0> : tensor<2xf32>
  %g = cir.constant dense<[0, 2, -1]> : tensor<3xi64>
  %back = cir.constant dense<[1, 8, 4, 4]> : tensor<4xi64>
  %r1 = onnx.Reshape(data=%x, shape=%g) {allowzero = 0} : (tensor<1x8x4x4xf32>, tensor<3xi64>) -> tensor<1x2x64xf32>
  %n = onnx.InstanceNormalization(input=%r1, scale=%scale, B=%zeros) {epsilon = 1.0e-06} : (tensor<1x2x64xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x64xf32>
  %r2 = onnx.Reshape(data=%n, shape=%back) {allowzero = 0} : (tensor<1x2x64xf32>, tensor<4xi64>) -> tensor<1x8x4x4xf32>
  func.return %r2 : tensor<1x8x4x4xf32>
}

// torch's SDPA export: q and k^T scaled by sqrt(scale), k^T made by Reshape/Transpose/Reshape.
// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %c: tensor<1xf32>, %s1: tensor<3xi64>, %s2: tensor<4xi64>) -> tensor<1x2x4x8xf32> {
  // CHECK-NEXT: %o = cir.attention %q, %k, %v {scale = 0.35355339059327373}
  // CHECK-NEXT: func.return %o
  %k3 = onnx.Reshape(data=%k, shape=%s1) {allowzero = 0} : (tensor<1x2x4x8xf32>, tensor<3xi64>) -> tensor<2x4x8xf32>
  %kt3 = onnx.Transpose(data=%k3) {perm = [0, 2, 1]} : (tensor<2x4x8xf32>) -> tensor<2x8x4xf32>
  %kt = onnx.Reshape(data=%kt3, shape=%s2) {allowzero = 0} : (tensor<2x8x4xf32>, tensor<4xi64>) -> tensor<1x2x8x4xf32>
  %qs = onnx.Mul(A=%q, B=%c) {B_value = 0.5946035575013605} : (tensor<1x2x4x8xf32>, tensor<1xf32>) -> tensor<1x2x4x8xf32>
  %ks = onnx.Mul(A=%kt, B=%c) {B_value = 0.5946035575013605} : (tensor<1x2x8x4xf32>, tensor<1xf32>) -> tensor<1x2x8x4xf32>
  %scores = onnx.MatMul(A=%qs, B=%ks) : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %p = onnx.Softmax(input=%scores) {axis = -1} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = onnx.MatMul(A=%p, B=%v) : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  func.return %o : tensor<1x2x4x8xf32>
}

// Max of three inputs becomes a chain of two-input maximums; Mean is Sum / n.
// CHECK-LABEL: func.func @variadic
func.func @variadic(%a: tensor<4xf32>, %b: tensor<4xf32>, %c: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  // CHECK-NEXT: %[[M:.*]] = cir.maximum %a, %b
  // CHECK-NEXT: %{{.*}} = cir.maximum %[[M]], %c
  %max = onnx.Max(data_0=%a, data_0=%b, data_0=%c) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  // CHECK-NEXT: %[[S:.*]] = cir.add %a, %b
  // CHECK-NEXT: %[[N:.*]] = cir.constant dense<2.000000e+00> : tensor<f32>
  // CHECK-NEXT: %{{.*}} = cir.div %[[S]], %[[N]]
  %mean = onnx.Mean(data_0=%a, data_0=%b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %max, %mean : tensor<4xf32>, tensor<4xf32>
}
}

// -----

// The opset picks the semantics: before opset 13 Softmax works on the input flattened to 2-D.
builtin.module attributes {onnx.opset = 11 : i64} {
// CHECK-LABEL: func.func @softmax_v11
func.func @softmax_v11(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // CHECK-NEXT: %[[F:.*]] = cir.reshape %x {shape = [2, 12]}
  // CHECK-NEXT: %[[S:.*]] = cir.softmax %[[F]] {axis = 1}
  // CHECK-NEXT: %y = cir.reshape %[[S]] {shape = [2, 3, 4]}
  %y = onnx.Softmax(input=%x) {axis = 1} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  func.return %y : tensor<2x3x4xf32>
}
}

// -----

builtin.module attributes {onnx.opset = 13 : i64} {
// CHECK-LABEL: func.func @softmax_v13
func.func @softmax_v13(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // CHECK-NEXT: %y = cir.softmax %x {axis = 1}
  %y = onnx.Softmax(input=%x) {axis = 1} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  func.return %y : tensor<2x3x4xf32>
}
}

// -----

// An operator with no mapping stops the pass, with its count and first location.
builtin.module attributes {onnx.opset = 17 : i64} {
func.func @unmapped(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = onnx.Acos(input=%x) : (tensor<4xf32>) -> tensor<4xf32> loc("acos_1")
  %d = onnx.Acos(input=%c) : (tensor<4xf32>) -> tensor<4xf32> loc("acos_2")
  func.return %d : tensor<4xf32>
}
}
// CHECK: normalize-onnx: 1 onnx operator(s) have no CIR mapping:
// CHECK-NEXT: Acos x2, first at acos_1

// -----

// Without onnx.opset the table cannot pick semantics.
func.func @no_opset(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = onnx.Relu(X=%x) : (tensor<4xf32>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}
// CHECK: normalize-onnx: the module has no integer attribute 'onnx.opset'
