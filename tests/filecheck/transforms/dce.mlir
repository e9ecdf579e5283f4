// dce: CIR ops are pure, so ops whose results are unused disappear.
// RUN: circ-opt %s -p dce | filecheck %s

// CHECK-LABEL: func.func @dead
func.func @dead(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK-NEXT: %live = cir.relu %x
  // CHECK-NEXT: func.return %live
  %dead = cir.exp %x : tensor<2x3xf32>
  %dead2 = cir.add %dead, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %w = cir.weight "unused" : tensor<3xf32>
  %live = cir.relu %x : tensor<2x3xf32>
  func.return %live : tensor<2x3xf32>
}
