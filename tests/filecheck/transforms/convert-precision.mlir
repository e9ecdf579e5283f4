// convert-precision{to=f16}: fp16 inside, the f32 interface kept by casts at the boundary.
// RUN: circ-opt %s -p 'convert-precision{to=f16}' | filecheck %s
// RUN: not circ-opt %s -p 'convert-precision{to=f64}' 2>&1 | filecheck %s --check-prefix=BAD

// CHECK-LABEL: func.func @main(%x: tensor<2x8xf32>, %ids: tensor<3xi64>) -> (tensor<2x8xf32>, tensor<3xi64>)
// CHECK-NEXT:    %x_f16 = cir.cast %x : (tensor<2x8xf32>) -> tensor<2x8xf16>
// CHECK-NEXT:    %w = cir.weight "w" : tensor<8xf16>
// CHECK-NEXT:    %c = cir.constant dense<5.000000e-01> : tensor<1xf16>
// CHECK-NEXT:    %a = cir.add %x_f16, %w : (tensor<2x8xf16>, tensor<8xf16>) -> tensor<2x8xf16>
// CHECK-NEXT:    %m = cir.mul %a, %c : (tensor<2x8xf16>, tensor<1xf16>) -> tensor<2x8xf16>
// CHECK-NEXT:    %s = cir.silu %m : tensor<2x8xf16>
// CHECK-NEXT:    %s_f32 = cir.cast %s : (tensor<2x8xf16>) -> tensor<2x8xf32>
// CHECK-NEXT:    func.return %s_f32, %ids : tensor<2x8xf32>, tensor<3xi64>
// BAD: convert-precision: 'to' must be one of f16, bf16, got 'f64'
func.func @main(%x: tensor<2x8xf32>, %ids: tensor<3xi64>) -> (tensor<2x8xf32>, tensor<3xi64>) {
  %w = cir.weight "w" : tensor<8xf32>
  %c = cir.constant dense<0.5> : tensor<1xf32>
  %a = cir.add %x, %w : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %m = cir.mul %a, %c : (tensor<2x8xf32>, tensor<1xf32>) -> tensor<2x8xf32>
  %s = cir.silu %m : tensor<2x8xf32>
  func.return %s, %ids : tensor<2x8xf32>, tensor<3xi64>
}
