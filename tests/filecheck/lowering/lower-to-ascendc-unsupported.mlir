// An op with no kernel family stops the lowering with the list of such ops.
// RUN: not circ-opt %s -p 'lower-to-ascendc' 2>&1 | filecheck %s

func.func @main(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %t = cir.lt %x, %x : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xi1>
  %u = cir.lt %x, %x : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xi1>
  func.return %x : tensor<2x3x4xf32>
}
// CHECK: lower-to-ascendc: no kernel yet for 1 kind(s) of op:
// CHECK-NEXT: cir.lt x2, first at {{.*}}lower-to-ascendc-unsupported.mlir:5:3
