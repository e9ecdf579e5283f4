// canonicalize (xDSL's driver over CIR): dead pure ops are removed, live ones kept in order.
// RUN: circ-opt %s -p canonicalize | filecheck %s

// CHECK-LABEL: func.func @block
func.func @block(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32> {
  // CHECK-NEXT: %c = cir.conv2d %x, %w {pads = [1, 1, 1, 1]}
  // CHECK-NEXT: %g = cir.group_norm %c {num_groups = 2}
  // CHECK-NEXT: %s = cir.silu %g
  // CHECK-NEXT: func.return %s
  %c = cir.conv2d %x, %w {pads = [1, 1, 1, 1]} : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %unused = cir.sigmoid %c : tensor<1x4x8x8xf32>
  %g = cir.group_norm %c {num_groups = 2} : tensor<1x4x8x8xf32>
  %s = cir.silu %g : tensor<1x4x8x8xf32>
  func.return %s : tensor<1x4x8x8xf32>
}
