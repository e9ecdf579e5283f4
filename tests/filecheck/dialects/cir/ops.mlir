// Every CIR op in its custom format: parse, print, and survive a trip through the generic form.
// RUN: circ-opt %s | circ-opt | filecheck %s
// RUN: CIRC_ROUNDTRIP

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<2x3xf32>, %y: tensor<3xf32>, %i: tensor<2x3xi32>) -> tensor<2x3xf32> {
  // CHECK-NEXT: %neg = cir.neg %x : tensor<2x3xf32>
  %neg = cir.neg %x : tensor<2x3xf32>
  // CHECK-NEXT: %abs = cir.abs %i : tensor<2x3xi32>
  %abs = cir.abs %i : tensor<2x3xi32>
  // CHECK-NEXT: %exp = cir.exp %x : tensor<2x3xf32>
  %exp = cir.exp %x : tensor<2x3xf32>
  // CHECK-NEXT: %log = cir.log %x : tensor<2x3xf32>
  %log = cir.log %x : tensor<2x3xf32>
  // CHECK-NEXT: %sqrt = cir.sqrt %x : tensor<2x3xf32>
  %sqrt = cir.sqrt %x : tensor<2x3xf32>
  // CHECK-NEXT: %rsqrt = cir.rsqrt %x : tensor<2x3xf32>
  %rsqrt = cir.rsqrt %x : tensor<2x3xf32>
  // CHECK-NEXT: %rcp = cir.reciprocal %x : tensor<2x3xf32>
  %rcp = cir.reciprocal %x : tensor<2x3xf32>
  // CHECK-NEXT: %erf = cir.erf %x : tensor<2x3xf32>
  %erf = cir.erf %x : tensor<2x3xf32>
  // CHECK-NEXT: %tanh = cir.tanh %x : tensor<2x3xf32>
  %tanh = cir.tanh %x : tensor<2x3xf32>
  // CHECK-NEXT: %sig = cir.sigmoid %x : tensor<2x3xf32>
  %sig = cir.sigmoid %x : tensor<2x3xf32>
  // CHECK-NEXT: %relu = cir.relu %x : tensor<2x3xf32>
  %relu = cir.relu %x : tensor<2x3xf32>
  // CHECK-NEXT: %clamp = cir.clamp %x {min = -1.0, max = 6.0} : tensor<2x3xf32>
  %clamp = cir.clamp %x {min = -1.0, max = 6.0} : tensor<2x3xf32>
  // CHECK-NEXT: %clamp_lo = cir.clamp %x {min = 0.0} : tensor<2x3xf32>
  %clamp_lo = cir.clamp %x {min = 0.0} : tensor<2x3xf32>
  // CHECK-NEXT: %silu = cir.silu %x : tensor<2x3xf32>
  %silu = cir.silu %x : tensor<2x3xf32>
  // CHECK-NEXT: %gelu = cir.gelu %x : tensor<2x3xf32>
  %gelu = cir.gelu %x : tensor<2x3xf32>
  // CHECK-NEXT: %gelu_t = cir.gelu %x {approximate = "tanh"} : tensor<2x3xf32>
  %gelu_t = cir.gelu %x {approximate = "tanh"} : tensor<2x3xf32>
  // CHECK-NEXT: %hs = cir.hardswish %x : tensor<2x3xf32>
  %hs = cir.hardswish %x : tensor<2x3xf32>
  // CHECK-NEXT: %sin = cir.sin %x : tensor<2x3xf32>
  %sin = cir.sin %x : tensor<2x3xf32>
  // CHECK-NEXT: %cos = cir.cos %x : tensor<2x3xf32>
  %cos = cir.cos %x : tensor<2x3xf32>
  // CHECK-NEXT: %floor = cir.floor %x : tensor<2x3xf32>
  %floor = cir.floor %x : tensor<2x3xf32>
  // CHECK-NEXT: %add = cir.add %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %add = cir.add %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: %sub = cir.sub %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %sub = cir.sub %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: %mul = cir.mul %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %mul = cir.mul %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: %div = cir.div %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %div = cir.div %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: %pow = cir.pow %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %pow = cir.pow %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: %max = cir.maximum %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %max = cir.maximum %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: %min = cir.minimum %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %min = cir.minimum %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: %eq = cir.eq %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %eq = cir.eq %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK-NEXT: %ne = cir.ne %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %ne = cir.ne %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK-NEXT: %lt = cir.lt %i, %i : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi1>
  %lt = cir.lt %i, %i : (tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi1>
  // CHECK-NEXT: %le = cir.le %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %le = cir.le %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK-NEXT: %gt = cir.gt %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %gt = cir.gt %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK-NEXT: %ge = cir.ge %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %ge = cir.ge %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK-NEXT: %where = cir.where %gt, %x, %y : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %where = cir.where %gt, %x, %y : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: %f16 = cir.cast %x : (tensor<2x3xf32>) -> tensor<2x3xf16>
  %f16 = cir.cast %x : tensor<2x3xf32> -> tensor<2x3xf16>
  // CHECK-NEXT: %bf16 = cir.cast %f16 : (tensor<2x3xf16>) -> tensor<2x3xbf16>
  %bf16 = cir.cast %f16 : (tensor<2x3xf16>) -> tensor<2x3xbf16>
  // CHECK-NEXT: %i8 = cir.cast %bf16 : (tensor<2x3xbf16>) -> tensor<2x3xi8>
  %i8 = cir.cast %bf16 : (tensor<2x3xbf16>) -> tensor<2x3xi8>
  // CHECK-NEXT: %i64 = cir.cast %i8 : (tensor<2x3xi8>) -> tensor<2x3xi64>
  %i64 = cir.cast %i8 : (tensor<2x3xi8>) -> tensor<2x3xi64>
  func.return %where : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @constants
func.func @constants() -> (tensor<4xf32>, tensor<2x2xi64>, tensor<320x4x3x3xf16>) {
  // CHECK-NEXT: %c = cir.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
  %c = cir.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  // CHECK-NEXT: %s = cir.constant dense<7> : tensor<2x2xi64>
  %s = cir.constant dense<7> : tensor<2x2xi64>
  // CHECK-NEXT: %w = cir.weight "conv_in.weight" : tensor<320x4x3x3xf16>
  %w = cir.weight "conv_in.weight" : tensor<320x4x3x3xf16>
  func.return %c, %s, %w : tensor<4xf32>, tensor<2x2xi64>, tensor<320x4x3x3xf16>
}

// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<2x3x4xf32>) {
  // CHECK-NEXT: %sum = cir.reduce_sum %x {axes = [1, 2]} : (tensor<2x3x4xf32>) -> tensor<2xf32>
  %sum = cir.reduce_sum %x {axes = [1, 2]} : tensor<2x3x4xf32> -> tensor<2xf32>
  // CHECK-NEXT: %mean = cir.reduce_mean %x {axes = [-1], keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x3x1xf32>
  %mean = cir.reduce_mean %x {axes = [-1], keepdims = true} : tensor<2x3x4xf32> -> tensor<2x3x1xf32>
  // CHECK-NEXT: %max = cir.reduce_max %x {axes = [0]} : (tensor<2x3x4xf32>) -> tensor<3x4xf32>
  %max = cir.reduce_max %x {axes = [0]} : tensor<2x3x4xf32> -> tensor<3x4xf32>
  // CHECK-NEXT: %min = cir.reduce_min %x {axes = [0, 1, 2]} : (tensor<2x3x4xf32>) -> tensor<f32>
  %min = cir.reduce_min %x {axes = [0, 1, 2]} : tensor<2x3x4xf32> -> tensor<f32>
  // CHECK-NEXT: %arg = cir.argmax %x {axis = 1} : (tensor<2x3x4xf32>) -> tensor<2x4xi64>
  %arg = cir.argmax %x {axis = 1} : tensor<2x3x4xf32> -> tensor<2x4xi64>
  func.return
}

// CHECK-LABEL: func.func @shapes
func.func @shapes(%x: tensor<2x3x4xf32>, %idx: tensor<5xi64>, %gi: tensor<2x5x4xi64>) {
  // CHECK-NEXT: %r = cir.reshape %x {shape = [6, 4]} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %r = cir.reshape %x {shape = [6, 4]} : tensor<2x3x4xf32> -> tensor<6x4xf32>
  // CHECK-NEXT: %t = cir.transpose %x {perm = [2, 0, 1]} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %t = cir.transpose %x {perm = [2, 0, 1]} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  // CHECK-NEXT: %c = cir.concat %x, %x, %x {axis = 1} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x9x4xf32>
  %c = cir.concat %x, %x, %x {axis = 1} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x9x4xf32>
  // CHECK-NEXT: %s, %s_1 = cir.split %x {axis = 2, sizes = [1, 3]} : (tensor<2x3x4xf32>) -> (tensor<2x3x1xf32>, tensor<2x3x3xf32>)
  %s:2 = cir.split %x {axis = 2, sizes = [1, 3]} : tensor<2x3x4xf32> -> (tensor<2x3x1xf32>, tensor<2x3x3xf32>)
  // CHECK-NEXT: %sl = cir.slice %x {starts = [0, 1, 0], ends = [2, 3, 4], steps = [1, 1, 2]} : (tensor<2x3x4xf32>) -> tensor<2x2x2xf32>
  %sl = cir.slice %x {starts = [0, 1, 0], ends = [2, 3, 4], steps = [1, 1, 2]} : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  // CHECK-NEXT: %g = cir.gather %x, %idx {axis = 2} : (tensor<2x3x4xf32>, tensor<5xi64>) -> tensor<2x3x5xf32>
  %g = cir.gather %x, %idx {axis = 2} : (tensor<2x3x4xf32>, tensor<5xi64>) -> tensor<2x3x5xf32>
  // CHECK-NEXT: %ge = cir.gather_elements %x, %gi {axis = 1} : (tensor<2x3x4xf32>, tensor<2x5x4xi64>) -> tensor<2x5x4xf32>
  %ge = cir.gather_elements %x, %gi {axis = 1} : (tensor<2x3x4xf32>, tensor<2x5x4xi64>) -> tensor<2x5x4xf32>
  // CHECK-NEXT: %b = cir.broadcast_to %x {shape = [7, 2, 3, 4]} : (tensor<2x3x4xf32>) -> tensor<7x2x3x4xf32>
  %b = cir.broadcast_to %x {shape = [7, 2, 3, 4]} : tensor<2x3x4xf32> -> tensor<7x2x3x4xf32>
  // CHECK-NEXT: %p = cir.pad %x {low = [0, 1, 2], high = [0, 1, 0], value = -1.5} : (tensor<2x3x4xf32>) -> tensor<2x5x6xf32>
  %p = cir.pad %x {low = [0, 1, 2], high = [0, 1, 0], value = -1.5} : tensor<2x3x4xf32> -> tensor<2x5x6xf32>
  // CHECK-NEXT: %pr = cir.pad %x {low = [0, 1, 2], high = [0, 1, 0], mode = "reflect"} : (tensor<2x3x4xf32>) -> tensor<2x5x6xf32>
  %pr = cir.pad %x {low = [0, 1, 2], high = [0, 1, 0], mode = "reflect"} : tensor<2x3x4xf32> -> tensor<2x5x6xf32>
  // CHECK-NEXT: %tl = cir.tile %x {repeats = [1, 2, 3]} : (tensor<2x3x4xf32>) -> tensor<2x6x12xf32>
  %tl = cir.tile %x {repeats = [1, 2, 3]} : tensor<2x3x4xf32> -> tensor<2x6x12xf32>
  func.return
}

// CHECK-LABEL: func.func @integers_and_indexing
func.func @integers_and_indexing(%i: tensor<2x3xi64>, %j: tensor<3xi64>, %b: tensor<2x3xi1>, %c: tensor<3xi1>, %x: tensor<2x3x4xf32>, %nd: tensor<5x2xi64>, %u: tensor<5x4xf32>, %bi: tensor<2x5x1xi32>, %ei: tensor<2x3x2xi64>, %eu: tensor<2x3x2xf32>) {
  // CHECK-NEXT: %fd = cir.floor_div %i, %j : (tensor<2x3xi64>, tensor<3xi64>) -> tensor<2x3xi64>
  %fd = cir.floor_div %i, %j : (tensor<2x3xi64>, tensor<3xi64>) -> tensor<2x3xi64>
  // CHECK-NEXT: %rem = cir.mod %i, %j : (tensor<2x3xi64>, tensor<3xi64>) -> tensor<2x3xi64>
  %rem = cir.mod %i, %j : (tensor<2x3xi64>, tensor<3xi64>) -> tensor<2x3xi64>
  // CHECK-NEXT: %fmod = cir.mod %i, %j {fmod = true} : (tensor<2x3xi64>, tensor<3xi64>) -> tensor<2x3xi64>
  %fmod = cir.mod %i, %j {fmod = true} : (tensor<2x3xi64>, tensor<3xi64>) -> tensor<2x3xi64>
  // CHECK-NEXT: %and = cir.logical_and %b, %c : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  %and = cir.logical_and %b, %c : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  // CHECK-NEXT: %or = cir.logical_or %b, %c : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  %or = cir.logical_or %b, %c : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  // CHECK-NEXT: %xor = cir.logical_xor %b, %b : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %xor = cir.logical_xor %b, %b : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK-NEXT: %not = cir.logical_not %b : tensor<2x3xi1>
  %not = cir.logical_not %b : tensor<2x3xi1>
  // CHECK-NEXT: %cs = cir.cumsum %i {axis = 1} : tensor<2x3xi64>
  %cs = cir.cumsum %i {axis = 1} : tensor<2x3xi64>
  // CHECK-NEXT: %csr = cir.cumsum %x {axis = -1, exclusive = true, reverse = true} : tensor<2x3x4xf32>
  %csr = cir.cumsum %x {axis = -1, exclusive = true, reverse = true} : tensor<2x3x4xf32>
  // CHECK-NEXT: %gnd = cir.gather_nd %x, %nd : (tensor<2x3x4xf32>, tensor<5x2xi64>) -> tensor<5x4xf32>
  %gnd = cir.gather_nd %x, %nd : (tensor<2x3x4xf32>, tensor<5x2xi64>) -> tensor<5x4xf32>
  // CHECK-NEXT: %gb = cir.gather_nd %x, %bi {batch_dims = 1} : (tensor<2x3x4xf32>, tensor<2x5x1xi32>) -> tensor<2x5x4xf32>
  %gb = cir.gather_nd %x, %bi {batch_dims = 1} : (tensor<2x3x4xf32>, tensor<2x5x1xi32>) -> tensor<2x5x4xf32>
  // CHECK-NEXT: %snd = cir.scatter_nd %x, %nd, %u {reduction = "add"} : (tensor<2x3x4xf32>, tensor<5x2xi64>, tensor<5x4xf32>) -> tensor<2x3x4xf32>
  %snd = cir.scatter_nd %x, %nd, %u {reduction = "add"} : (tensor<2x3x4xf32>, tensor<5x2xi64>, tensor<5x4xf32>) -> tensor<2x3x4xf32>
  // CHECK-NEXT: %se = cir.scatter_elements %x, %ei, %eu {axis = 2} : (tensor<2x3x4xf32>, tensor<2x3x2xi64>, tensor<2x3x2xf32>) -> tensor<2x3x4xf32>
  %se = cir.scatter_elements %x, %ei, %eu {axis = 2} : (tensor<2x3x4xf32>, tensor<2x3x2xi64>, tensor<2x3x2xf32>) -> tensor<2x3x4xf32>
  func.return
}

// CHECK-LABEL: func.func @nn
func.func @nn(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xf32>, %b: tensor<8xf32>,
              %tw: tensor<4x2x4x4xf32>, %m: tensor<2x16x32xf32>, %lw: tensor<32x32xf32>) {
  // CHECK-NEXT: %conv = cir.conv2d %x, %w, %b {pads = [1, 1, 1, 1]} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %conv = cir.conv2d %x, %w, %b {pads = [1, 1, 1, 1]} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  // CHECK-NEXT: %down = cir.conv2d %x, %w {strides = [2, 2], pads = [0, 0, 1, 1]} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x4x4xf32>
  %down = cir.conv2d %x, %w {strides = [2, 2], pads = [0, 0, 1, 1], dilations = [1, 1], groups = 1} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %up = cir.conv_transpose2d %x, %tw {strides = [2, 2], pads = [1, 1, 1, 1], groups = 2} : (tensor<1x4x8x8xf32>, tensor<4x2x4x4xf32>) -> tensor<1x4x16x16xf32>
  %up = cir.conv_transpose2d %x, %tw {strides = [2, 2], pads = [1, 1, 1, 1], groups = 2} : (tensor<1x4x8x8xf32>, tensor<4x2x4x4xf32>) -> tensor<1x4x16x16xf32>
  // CHECK-NEXT: %mm = cir.matmul %m, %lw : (tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x32xf32>
  %mm = cir.matmul %m, %lw : (tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x32xf32>
  // CHECK-NEXT: %mt = cir.matmul %m, %m {transpose_a = true} : (tensor<2x16x32xf32>, tensor<2x16x32xf32>) -> tensor<2x32x32xf32>
  %mt = cir.matmul %m, %m {transpose_a = true} : (tensor<2x16x32xf32>, tensor<2x16x32xf32>) -> tensor<2x32x32xf32>
  // CHECK-NEXT: %mb = cir.matmul %m, %m {transpose_b = true} : (tensor<2x16x32xf32>, tensor<2x16x32xf32>) -> tensor<2x16x16xf32>
  %mb = cir.matmul %m, %m {transpose_b = true} : (tensor<2x16x32xf32>, tensor<2x16x32xf32>) -> tensor<2x16x16xf32>
  // CHECK-NEXT: %lin = cir.linear %m, %lw : (tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x32xf32>
  %lin = cir.linear %m, %lw : (tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x32xf32>
  // CHECK-NEXT: %sm = cir.softmax %m : tensor<2x16x32xf32>
  %sm = cir.softmax %m {axis = -1} : tensor<2x16x32xf32>
  // CHECK-NEXT: %lsm = cir.log_softmax %m {axis = 1} : tensor<2x16x32xf32>
  %lsm = cir.log_softmax %m {axis = 1} : tensor<2x16x32xf32>
  // CHECK-NEXT: %ln = cir.layer_norm %m, %m, %m {axis = 0} : (tensor<2x16x32xf32>, tensor<2x16x32xf32>, tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  %ln = cir.layer_norm %m, %m, %m {axis = 0} : (tensor<2x16x32xf32>, tensor<2x16x32xf32>, tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  // CHECK-NEXT: %ln2 = cir.layer_norm %m {epsilon = 1.0e-06} : tensor<2x16x32xf32>
  %ln2 = cir.layer_norm %m {epsilon = 1.0e-06} : tensor<2x16x32xf32>
  // CHECK-NEXT: %gn = cir.group_norm %conv, %b, %b {num_groups = 4} : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %gn = cir.group_norm %conv, %b, %b {num_groups = 4} : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  // CHECK-NEXT: %bn = cir.batch_norm %conv, %b, %b, %b, %b {epsilon = 0.001} : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %bn = cir.batch_norm %conv, %b, %b, %b, %b {epsilon = 0.001} : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  // CHECK-NEXT: %rms = cir.rms_norm %m {epsilon = 1.0e-05} : tensor<2x16x32xf32>
  %rms = cir.rms_norm %m {epsilon = 1.0e-05} : tensor<2x16x32xf32>
  // CHECK-NEXT: %mp = cir.max_pool2d %conv {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], ceil_mode = true} : (tensor<1x8x8x8xf32>) -> tensor<1x8x5x5xf32>
  %mp = cir.max_pool2d %conv {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], ceil_mode = true} : tensor<1x8x8x8xf32> -> tensor<1x8x5x5xf32>
  // CHECK-NEXT: %ap = cir.avg_pool2d %conv {kernel = [2, 2], strides = [2, 2], count_include_pad = false} : (tensor<1x8x8x8xf32>) -> tensor<1x8x4x4xf32>
  %ap = cir.avg_pool2d %conv {kernel = [2, 2], strides = [2, 2], count_include_pad = false} : tensor<1x8x8x8xf32> -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %us = cir.upsample %conv {size = [16, 16]} : (tensor<1x8x8x8xf32>) -> tensor<1x8x16x16xf32>
  %us = cir.upsample %conv {size = [16, 16], mode = "nearest"} : tensor<1x8x8x8xf32> -> tensor<1x8x16x16xf32>
  // CHECK-NEXT: %ub = cir.upsample %conv {size = [12, 12], mode = "bilinear", align_corners = true} : (tensor<1x8x8x8xf32>) -> tensor<1x8x12x12xf32>
  %ub = cir.upsample %conv {size = [12, 12], mode = "bilinear", align_corners = true} : tensor<1x8x8x8xf32> -> tensor<1x8x12x12xf32>
  func.return
}

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<2x8x64x40xf16>, %k: tensor<2x8x77x40xf16>, %v: tensor<2x8x77x40xf16>, %mask: tensor<64x77xi1>) {
  // CHECK-NEXT: %a = cir.attention %q, %k, %v : (tensor<2x8x64x40xf16>, tensor<2x8x77x40xf16>, tensor<2x8x77x40xf16>) -> tensor<2x8x64x40xf16>
  %a = cir.attention %q, %k, %v : (tensor<2x8x64x40xf16>, tensor<2x8x77x40xf16>, tensor<2x8x77x40xf16>) -> tensor<2x8x64x40xf16>
  // CHECK-NEXT: %am = cir.attention %q, %k, %v, %mask {scale = 0.125} : (tensor<2x8x64x40xf16>, tensor<2x8x77x40xf16>, tensor<2x8x77x40xf16>, tensor<64x77xi1>) -> tensor<2x8x64x40xf16>
  %am = cir.attention %q, %k, %v, %mask {scale = 0.125} : (tensor<2x8x64x40xf16>, tensor<2x8x77x40xf16>, tensor<2x8x77x40xf16>, tensor<64x77xi1>) -> tensor<2x8x64x40xf16>
  // CHECK-NEXT: %ac = cir.attention %q, %q, %q {causal = true} : (tensor<2x8x64x40xf16>, tensor<2x8x64x40xf16>, tensor<2x8x64x40xf16>) -> tensor<2x8x64x40xf16>
  %ac = cir.attention %q, %q, %q {causal = true} : (tensor<2x8x64x40xf16>, tensor<2x8x64x40xf16>, tensor<2x8x64x40xf16>) -> tensor<2x8x64x40xf16>
  func.return
}

// Tensors may carry a data format (chosen by the layout pass); the shape stays logical (NCHW).
// CHECK-LABEL: func.func @formats
// CHECK-SAME: tensor<1x16x8x8xf16, #cir.format<NC1HWC0>>
func.func @formats(%x: tensor<1x16x8x8xf16, #cir.format<NC1HWC0>>) -> tensor<1x16x8x8xf16, #cir.format<NC1HWC0>> {
  // CHECK-NEXT: %r = cir.relu %x : tensor<1x16x8x8xf16, #cir.format<NC1HWC0>>
  %r = cir.relu %x : tensor<1x16x8x8xf16, #cir.format<NC1HWC0>>
  func.return %r : tensor<1x16x8x8xf16, #cir.format<NC1HWC0>>
}
