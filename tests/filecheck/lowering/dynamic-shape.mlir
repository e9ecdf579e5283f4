// lower-to-ascendc needs static shapes: a dynamic dimension is refused where it appears.
// RUN: not circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' 2>&1 | filecheck %s
// CHECK: lower-to-ascendc: @main's arguments: tensor<6x?xf32> has a dynamic dimension; kernels need static shapes
func.func @main(%x: tensor<6x?xf32>) -> tensor<6x?xf32> {
  %y = cir.neg %x : tensor<6x?xf32>
  func.return %y : tensor<6x?xf32>
}
