// cancel-transposes: transposes sink through layout-agnostic ops, compose and cancel; a
// transpose next to a reshape moves to the side with fewer dims.
// RUN: circ-opt %s -p cancel-transposes | filecheck %s

// NHWC -> NCHW -> NHWC around elementwise ops: everything runs in one layout.
// CHECK-LABEL: func.func @cancel_through_elementwise
func.func @cancel_through_elementwise(%x: tensor<1x8x4x4xf32>, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  // the bias vector along NHWC's last dim becomes a (1, 8, 1, 1) operand in NCHW
  // CHECK-NEXT: %[[B:.*]] = cir.reshape %b {shape = [1, 8, 1, 1]}
  // CHECK-NEXT: %[[A:.*]] = cir.add %x, %[[B]] : (tensor<1x8x4x4xf32>, tensor<1x8x1x1xf32>) -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %[[S:.*]] = cir.silu %[[A]]
  // CHECK-NEXT: func.return %[[S]]
  %t = cir.transpose %x {perm = [0, 2, 3, 1]} : (tensor<1x8x4x4xf32>) -> tensor<1x4x4x8xf32>
  %a = cir.add %t, %b : (tensor<1x4x4x8xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  %s = cir.silu %a : tensor<1x4x4x8xf32>
  %back = cir.transpose %s {perm = [0, 3, 1, 2]} : (tensor<1x4x4x8xf32>) -> tensor<1x8x4x4xf32>
  func.return %back : tensor<1x8x4x4xf32>
}

// Both operands transposed the same way; the reduction's axes are renumbered and the result
// needs no transpose (global average pooling of an NHWC tensor).
// CHECK-LABEL: func.func @binary_and_reduce
func.func @binary_and_reduce(%x: tensor<1x8x4x4xf32>, %y: tensor<1x8x4x4xf32>) -> tensor<1x8xf32> {
  // CHECK-NEXT: %[[M:.*]] = cir.mul %x, %y : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %[[R:.*]] = cir.reduce_mean %[[M]] {axes = [2, 3]} : (tensor<1x8x4x4xf32>) -> tensor<1x8xf32>
  // CHECK-NEXT: func.return %[[R]]
  %tx = cir.transpose %x {perm = [0, 2, 3, 1]} : (tensor<1x8x4x4xf32>) -> tensor<1x4x4x8xf32>
  %ty = cir.transpose %y {perm = [0, 2, 3, 1]} : (tensor<1x8x4x4xf32>) -> tensor<1x4x4x8xf32>
  %m = cir.mul %tx, %ty : (tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  %r = cir.reduce_mean %m {axes = [1, 2]} : (tensor<1x4x4x8xf32>) -> tensor<1x8xf32>
  func.return %r : tensor<1x8xf32>
}

// Zero padding of an NHWC tensor before an NHWC -> NCHW transpose: the pads are renumbered.
// CHECK-LABEL: func.func @pad
func.func @pad(%x: tensor<1x8x4x4xf32>) -> tensor<1x8x6x6xf32> {
  // CHECK-NEXT: %[[P:.*]] = cir.pad %x {low = [0, 0, 1, 1], high = [0, 0, 1, 1]}
  // CHECK-NEXT: func.return %[[P]]
  %t = cir.transpose %x {perm = [0, 2, 3, 1]} : (tensor<1x8x4x4xf32>) -> tensor<1x4x4x8xf32>
  %p = cir.pad %t {low = [0, 1, 1, 0], high = [0, 1, 1, 0]} : (tensor<1x4x4x8xf32>) -> tensor<1x6x6x8xf32>
  %back = cir.transpose %p {perm = [0, 3, 1, 2]} : (tensor<1x6x6x8xf32>) -> tensor<1x8x6x6xf32>
  func.return %back : tensor<1x8x6x6xf32>
}

// Flattening an NHWC feature map into tokens = flattening NCHW and swapping the last two dims
// (what PyTorch writes: x.flatten(2).transpose(1, 2)); the way back moves the transpose before
// the reshape that splits the tokens.
// CHECK-LABEL: func.func @reshape_order
func.func @reshape_order(%x: tensor<1x8x4x4xf32>, %t: tensor<1x16x8xf32>) -> (tensor<1x16x8xf32>, tensor<1x8x4x4xf32>) {
  // CHECK-NEXT: %[[R:.*]] = cir.reshape %x {shape = [1, 8, 16]}
  // CHECK-NEXT: %[[T:.*]] = cir.transpose %[[R]] {perm = [0, 2, 1]} : (tensor<1x8x16xf32>) -> tensor<1x16x8xf32>
  %nhwc = cir.transpose %x {perm = [0, 2, 3, 1]} : (tensor<1x8x4x4xf32>) -> tensor<1x4x4x8xf32>
  %tokens = cir.reshape %nhwc {shape = [1, 16, 8]} : (tensor<1x4x4x8xf32>) -> tensor<1x16x8xf32>
  // CHECK-NEXT: %[[T2:.*]] = cir.transpose %t {perm = [0, 2, 1]} : (tensor<1x16x8xf32>) -> tensor<1x8x16xf32>
  // CHECK-NEXT: %[[R2:.*]] = cir.reshape %[[T2]] {shape = [1, 8, 4, 4]}
  // CHECK-NEXT: func.return %[[T]], %[[R2]]
  %map = cir.reshape %t {shape = [1, 4, 4, 8]} : (tensor<1x16x8xf32>) -> tensor<1x4x4x8xf32>
  %nchw = cir.transpose %map {perm = [0, 3, 1, 2]} : (tensor<1x4x4x8xf32>) -> tensor<1x8x4x4xf32>
  func.return %tokens, %nchw : tensor<1x16x8xf32>, tensor<1x8x4x4xf32>
}

// Layout changes of constants fold; a transpose that moves only size-1 dims is a reshape; a
// slice of everything is its input.
// CHECK-LABEL: func.func @fold
func.func @fold(%v: tensor<1x8xf32>) -> (tensor<2x3xf32>, tensor<8x1xf32>, tensor<1x8xf32>) {
  // CHECK-NEXT: %[[C:.*]] = cir.constant dense<{{\[\[}}1.000000e+00, 3.000000e+00, 5.000000e+00], [2.000000e+00, 4.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>
  // CHECK-NEXT: %[[R:.*]] = cir.reshape %v {shape = [8, 1]}
  // CHECK-NEXT: func.return %[[C]], %[[R]], %v
  %c = cir.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %ct = cir.transpose %c {perm = [1, 0]} : (tensor<3x2xf32>) -> tensor<2x3xf32>
  %vt = cir.transpose %v {perm = [1, 0]} : (tensor<1x8xf32>) -> tensor<8x1xf32>
  %s = cir.slice %v {starts = [0, 0], ends = [1, 8], steps = [1, 1]} : (tensor<1x8xf32>) -> tensor<1x8xf32>
  func.return %ct, %vt, %s : tensor<2x3xf32>, tensor<8x1xf32>, tensor<1x8xf32>
}

// A transpose stays when the other operand is a full computed tensor: moving it would only add
// a transpose there.
// CHECK-LABEL: func.func @keep
func.func @keep(%x: tensor<1x8x4x4xf32>, %y: tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> {
  // CHECK-NEXT: %[[T:.*]] = cir.transpose %x {perm = [0, 2, 3, 1]}
  // CHECK-NEXT: %[[A:.*]] = cir.add %[[T]], %y
  // CHECK-NEXT: func.return %[[A]]
  %t = cir.transpose %x {perm = [0, 2, 3, 1]} : (tensor<1x8x4x4xf32>) -> tensor<1x4x4x8xf32>
  %a = cir.add %t, %y : (tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  func.return %a : tensor<1x4x4x8xf32>
}
