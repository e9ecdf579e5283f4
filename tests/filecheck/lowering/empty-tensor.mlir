// lower-to-ascendc needs non-empty tensors: a zero dimension is refused at its op.
// RUN: not circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' 2>&1 | filecheck %s
// CHECK: lower-to-ascendc: 'cir.slice' at {{.*}}empty-tensor.mlir:6:{{[0-9]+}}: tensor<0x4xf32> is empty (a zero dimension)
func.func @main(%x: tensor<6x4xf32>) -> tensor<0x4xf32> {
  %z = cir.neg %x : tensor<6x4xf32>
  %y = cir.slice %z {starts = [6, 0], ends = [6, 4], steps = [1, 1]} : (tensor<6x4xf32>) -> tensor<0x4xf32>
  func.return %y : tensor<0x4xf32>
}
