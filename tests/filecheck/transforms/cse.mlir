// cse: identical pure CIR ops (same operands, same properties) are computed once.
// RUN: circ-opt %s -p cse | filecheck %s

// CHECK-LABEL: func.func @dedup
func.func @dedup(%x: tensor<1x8x4x4xf32>, %w: tensor<8x8x3x3xf32>) -> (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) {
  // CHECK-NEXT: %a = cir.conv2d %x, %w {pads = [1, 1, 1, 1]}
  // CHECK-NEXT: %b = cir.conv2d %x, %w {pads = [0, 0, 2, 2]}
  // CHECK-NEXT: %s = cir.silu %a
  // CHECK-NEXT: func.return %s, %s, %b
  %a = cir.conv2d %x, %w {pads = [1, 1, 1, 1]} : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x4x4xf32>
  %a2 = cir.conv2d %x, %w {pads = [1, 1, 1, 1]} : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x4x4xf32>
  %b = cir.conv2d %x, %w {pads = [0, 0, 2, 2]} : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>) -> tensor<1x8x4x4xf32>
  %s = cir.silu %a : tensor<1x8x4x4xf32>
  %s2 = cir.silu %a2 : tensor<1x8x4x4xf32>
  func.return %s, %s2, %b : tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>
}

// Weights with the same name are the same tensor; different names are not.
// CHECK-LABEL: func.func @weights
func.func @weights() -> (tensor<4xf32>, tensor<4xf32>) {
  // CHECK-NEXT: %w = cir.weight "a" : tensor<4xf32>
  // CHECK-NEXT: %v = cir.weight "b" : tensor<4xf32>
  // CHECK-NEXT: %s = cir.add %w, %v
  // CHECK-NEXT: func.return %s, %s
  %w = cir.weight "a" : tensor<4xf32>
  %w2 = cir.weight "a" : tensor<4xf32>
  %v = cir.weight "b" : tensor<4xf32>
  %s = cir.add %w, %v : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %s2 = cir.add %w2, %v : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %s, %s2 : tensor<4xf32>, tensor<4xf32>
}
