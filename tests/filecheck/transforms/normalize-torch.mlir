// normalize-torch: ATen ops of the torch import dialect become CIR, per passes/tables/torch.toml.
// RUN: circ-opt %s -p normalize-torch --split-input-file --verify-diagnostics | filecheck %s

// CHECK-LABEL: func.func @resblock
func.func @resblock(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xf32>, %b: tensor<8xf32>, %t: tensor<1x8xf32>) -> tensor<1x8x16x16xf32> {
  // CHECK-NEXT: %c = cir.conv2d %x, %w, %b {pads = [1, 1, 1, 1]}
  %c = torch.aten.convolution.default(input=%x, weight=%w, bias=%b) {stride = [1, 1], padding = [1, 1], dilation = [1, 1], transposed = false, output_padding = [0, 0], groups = 1} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  // CHECK-NEXT: %g = cir.group_norm %c, %b, %b {num_groups = 2, epsilon = 1.0e-06}
  %g = torch.aten.group_norm.default(input=%c, weight=%b, bias=%b) {num_groups = 2, eps = 1.0e-06, cudnn_enabled = false} : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  // CHECK-NEXT: %s = cir.silu %g
  %s = torch.aten.silu.default(self=%g) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  // unsqueeze becomes a reshape to the shape torch computed
  // CHECK-NEXT: %u = cir.reshape %t {shape = [1, 8, 1, 1]}
  %u = torch.aten.view.default(self=%t) {size = [1, 8, 1, 1]} : (tensor<1x8xf32>) -> tensor<1x8x1x1xf32>
  // CHECK-NEXT: %a = cir.add %s, %u
  %a = torch.aten.add.Tensor(self=%s, other=%u) {alpha = 1} : (tensor<1x8x8x8xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x8x8xf32>
  // scalar operands become 0-d constants of the result dtype
  // CHECK-NEXT: %{{.*}} = cir.constant dense<5.000000e-01> : tensor<f32>
  // CHECK-NEXT: %h = cir.mul %a, %{{.*}} : (tensor<1x8x8x8xf32>, tensor<f32>) -> tensor<1x8x8x8xf32>
  %h = torch.aten.mul.Tensor(self=%a) {other = 0.5} : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  // CHECK-NEXT: %up = cir.upsample %h {size = [16, 16]}
  %up = torch.aten.upsample_nearest2d.vec(input=%h) {scale_factors = array<f64: 2.0, 2.0>} : (tensor<1x8x8x8xf32>) -> tensor<1x8x16x16xf32>
  // identity ops disappear
  // CHECK-NEXT: func.return %up
  %id = torch.aten.clone.default(self=%up) : (tensor<1x8x16x16xf32>) -> tensor<1x8x16x16xf32>
  func.return %id : tensor<1x8x16x16xf32>
}

// CHECK-LABEL: func.func @attention
func.func @attention(%x: tensor<2x16x32xf32>, %w: tensor<96x32xf32>) -> tensor<2x4x16x8xf32> {
  // CHECK-NEXT: %qkv = cir.linear %x, %w
  %qkv = torch.aten.linear.default(input=%x, weight=%w) : (tensor<2x16x32xf32>, tensor<96x32xf32>) -> tensor<2x16x96xf32>
  // CHECK-NEXT: %s, %s_1, %s_2 = cir.split %qkv {axis = 2, sizes = [32, 32, 32]}
  %s:3 = torch.aten.split.Tensor(self=%qkv) {split_size = 32, dim = -1} : (tensor<2x16x96xf32>) -> (tensor<2x16x32xf32>, tensor<2x16x32xf32>, tensor<2x16x32xf32>)
  // CHECK-NEXT: %q = cir.reshape %s {shape = [2, 16, 4, 8]}
  %q = torch.aten.view.default(self=%s#0) {size = [2, 16, 4, 8]} : (tensor<2x16x32xf32>) -> tensor<2x16x4x8xf32>
  // CHECK-NEXT: %qt = cir.transpose %q {perm = [0, 2, 1, 3]}
  %qt = torch.aten.transpose.int(self=%q) {dim0 = 1, dim1 = 2} : (tensor<2x16x4x8xf32>) -> tensor<2x4x16x8xf32>
  // CHECK-NEXT: %o = cir.attention %qt, %qt, %qt {causal = true}
  %o = torch.aten.scaled_dot_product_attention.default(query=%qt, key=%qt, value=%qt) {dropout_p = 0.0, is_causal = true, enable_gqa = false} : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  func.return %o : tensor<2x4x16x8xf32>
}

// CHECK-LABEL: func.func @promotion
func.func @promotion(%i: tensor<4xi64>, %f: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi1>) {
  // mixed dtypes are cast to the result dtype first
  // CHECK-NEXT: %[[C:.*]] = cir.cast %i : (tensor<4xi64>) -> tensor<4xf32>
  // CHECK-NEXT: %d = cir.div %[[C]], %f
  %d = torch.aten.div.Tensor(self=%i, other=%f) : (tensor<4xi64>, tensor<4xf32>) -> tensor<4xf32>
  // CHECK: %lt = cir.lt
  %lt = torch.aten.lt.Scalar(self=%f) {other = 0} : (tensor<4xf32>) -> tensor<4xi1>
  func.return %d, %lt : tensor<4xf32>, tensor<4xi1>
}

// CHECK-LABEL: func.func @advanced_indexing
func.func @advanced_indexing(%x: tensor<4x5x6xf32>, %i: tensor<3xi64>, %j: tensor<2x1xi64>, %v: tensor<4x2x3xf32>) -> (tensor<3x5x6xf32>, tensor<4x2x3xf32>, tensor<2x3x5xf32>, tensor<4x5x6xf32>) {
  // one index tensor: a gather along its dim
  // CHECK-NEXT: %a = cir.gather %x, %i {axis = 0}
  %a = torch.aten.index.Tensor(self=%x, indices=%i) : (tensor<4x5x6xf32>, tensor<3xi64>) -> tensor<3x5x6xf32>
  // x[:, j, i]: adjacent index tensors, broadcast to (2, 3) and stacked; the block stays at dim 1
  // CHECK-NEXT: %[[T:.*]] = cir.transpose %x {perm = [1, 2, 0]}
  // CHECK-NEXT: %[[J:.*]] = cir.broadcast_to %j {shape = [2, 3]}
  // CHECK-NEXT: %[[J1:.*]] = cir.reshape %[[J]] {shape = [2, 3, 1]}
  // CHECK-NEXT: %[[I:.*]] = cir.broadcast_to %i {shape = [2, 3]}
  // CHECK-NEXT: %[[I1:.*]] = cir.reshape %[[I]] {shape = [2, 3, 1]}
  // CHECK-NEXT: %[[S:.*]] = cir.concat %[[J1]], %[[I1]] {axis = 2}
  // CHECK-NEXT: %[[G:.*]] = cir.gather_nd %[[T]], %[[S]] : (tensor<5x6x4xf32>, tensor<2x3x2xi64>) -> tensor<2x3x4xf32>
  // CHECK-NEXT: %b = cir.transpose %[[G]] {perm = [2, 0, 1]} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %b = torch.aten.index.Tensor(self=%x, indices=%j, indices=%i) {indices_slots = [1, 2]} : (tensor<4x5x6xf32>, tensor<2x1xi64>, tensor<3xi64>) -> tensor<4x2x3xf32>
  // x[j, :, i]: index tensors apart: the block goes in front
  // CHECK: %c = cir.gather_nd %{{.*}}, %{{.*}} : (tensor<4x6x5xf32>, tensor<2x3x2xi64>) -> tensor<2x3x5xf32>
  %c = torch.aten.index.Tensor(self=%x, indices=%j, indices=%i) {indices_slots = [0, 2]} : (tensor<4x5x6xf32>, tensor<2x1xi64>, tensor<3xi64>) -> tensor<2x3x5xf32>
  // x[:, j, i] += v: scatter_nd on x with the indexed dims in front, then back
  // CHECK: %[[VT:.*]] = cir.transpose %v {perm = [1, 2, 0]}
  // CHECK: %[[U:.*]] = cir.scatter_nd %{{.*}}, %{{.*}}, %[[VT]] {reduction = "add"} : (tensor<5x6x4xf32>, tensor<2x3x2xi64>, tensor<2x3x4xf32>) -> tensor<5x6x4xf32>
  // CHECK-NEXT: %d = cir.transpose %[[U]] {perm = [2, 0, 1]}
  %d = torch.aten.index_put.default(self=%x, indices=%j, indices=%i, values=%v) {indices_slots = [1, 2], accumulate = true} : (tensor<4x5x6xf32>, tensor<2x1xi64>, tensor<3xi64>, tensor<4x2x3xf32>) -> tensor<4x5x6xf32>
  func.return %a, %b, %c, %d : tensor<3x5x6xf32>, tensor<4x2x3xf32>, tensor<2x3x5xf32>, tensor<4x5x6xf32>
}

// CHECK-LABEL: func.func @bools_and_conv1d
func.func @bools_and_conv1d(%m: tensor<2x8xi1>, %x: tensor<1x4x8xf32>, %w: tensor<6x4x3xf32>) -> (tensor<2x8xi1>, tensor<1x6x8xf32>, tensor<2x8xi64>) {
  // CHECK-NEXT: %n = cir.logical_not %m
  %n = torch.aten.bitwise_not.default(self=%m) : (tensor<2x8xi1>) -> tensor<2x8xi1>
  // CHECK-NEXT: %a = cir.logical_and %m, %n
  %a = torch.aten.bitwise_and.Tensor(self=%m, other=%n) : (tensor<2x8xi1>, tensor<2x8xi1>) -> tensor<2x8xi1>
  // conv1d is conv2d over a unit height
  // CHECK-NEXT: %[[X:.*]] = cir.reshape %x {shape = [1, 4, 1, 8]}
  // CHECK-NEXT: %[[W:.*]] = cir.reshape %w {shape = [6, 4, 1, 3]}
  // CHECK-NEXT: %[[Y:.*]] = cir.conv2d %[[X]], %[[W]] {pads = [0, 1, 0, 1]}
  // CHECK-NEXT: %y = cir.reshape %[[Y]] {shape = [1, 6, 8]}
  %y = torch.aten.convolution.default(input=%x, weight=%w) {stride = [1], padding = [1], dilation = [1], transposed = false, output_padding = [0], groups = 1} : (tensor<1x4x8xf32>, tensor<6x4x3xf32>) -> tensor<1x6x8xf32>
  // a cumulative sum of booleans counts in i64
  // CHECK-NEXT: %[[C:.*]] = cir.cast %a : (tensor<2x8xi1>) -> tensor<2x8xi64>
  // CHECK-NEXT: %c = cir.cumsum %[[C]] {axis = 1}
  %c = torch.aten.cumsum.default(self=%a) {dim = -1} : (tensor<2x8xi1>) -> tensor<2x8xi64>
  func.return %a, %y, %c : tensor<2x8xi1>, tensor<1x6x8xf32>, tensor<2x8xi64>
}

// -----

// An operator with no mapping stops the pass, with its count and first location.
func.func @unmapped(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = torch.aten.logcumsumexp.default(self=%x) {dim = 0} : (tensor<4xf32>) -> tensor<4xf32> loc("model.py":3:0)
  %b = torch.aten.logcumsumexp.default(self=%a) {dim = 0} : (tensor<4xf32>) -> tensor<4xf32> loc("model.py":4:0)
  func.return %b : tensor<4xf32>
}
// CHECK: normalize-torch: 1 pytorch operator(s) have no CIR mapping:
// CHECK-NEXT: aten.logcumsumexp.default x2, first at model.py:3:0
