// A batch_norm canonicalize could not fold into a conv (here: it comes first) is lowered as
// x * s + t with per-channel s = scale / sqrt(var + eps), t = bias - mean * s (lowering/decompose.py).
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' | filecheck %s
// CHECK-NOT:  cir.batch_norm
// CHECK:      %y_scale = cir.constant dense<[{{\[\[}}1.000000e+00]], {{\[\[}}1.000000e+00]], {{\[\[}}5.000000e-01]]]> : tensor<3x1x1xf32>
// CHECK-NEXT: %y_shift = cir.constant dense<[{{\[\[}}-5.000000e-01]], {{\[\[}}1.000000e+00]], {{\[\[}}-2.000000e+00]]]> : tensor<3x1x1xf32>
// CHECK-NEXT: %y_scaled = cir.mul %x, %y_scale {cir.launches = [{kernel = "mul_{{[0-9a-f]+}}"
// CHECK-NEXT: %y = cir.add %y_scaled, %y_shift {cir.launches = [{kernel = "add_{{[0-9a-f]+}}"
// CHECK-NOT:  cir.constant dense<[5.000000e-01
func.func @main(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %s = cir.constant dense<[1.0, 2.0, 0.5]> : tensor<3xf32>
  %b = cir.constant dense<[0.0, 1.0, -1.0]> : tensor<3xf32>
  %m = cir.constant dense<[0.5, 0.0, 2.0]> : tensor<3xf32>
  %v = cir.constant dense<[1.0, 4.0, 1.0]> : tensor<3xf32>
  %y = cir.batch_norm %x, %s, %b, %m, %v {epsilon = 0.0} : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  func.return %y : tensor<1x3x4x4xf32>
}
