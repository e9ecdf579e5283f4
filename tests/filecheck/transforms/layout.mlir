// layout: 5HD for conv/norm/elementwise chains, trans_data only at the edges (inverse pairs
// cancel), GroupNorm only when groups align with C0, conv/linear weights pre-packed.
// RUN: python -c "import numpy as np; from safetensors.numpy import save_file; save_file({'conv.weight': np.ones((8, 4, 3, 3), np.float32), 'fc.weight': np.ones((64, 32), np.float32)}, '%t.safetensors')"
// RUN: sed 's|WEIGHTS_FILE|%t.safetensors|' %s | circ-opt -p 'layout{soc=Ascend910B1 report=true}' 2>%t.report | filecheck %s
// RUN: filecheck %s --check-prefix=REPORT < %t.report
// RUN: not circ-opt %s -p 'layout{soc=Ascend999}' 2>&1 | filecheck %s --check-prefix=BADSOC

builtin.module attributes {cir.weights = "WEIGHTS_FILE"} {
// CHECK-LABEL: func.func @chain
func.func @chain(%x: tensor<1x32x8x8xf16>, %w: tensor<32x32x3x3xf16>, %c: tensor<32xf16>) -> tensor<1x32x8x8xf16> {
  // one trans_data in, one out; the conv -> relu -> add -> group_norm chain stays 5HD
  // CHECK-NEXT: %[[IN:.*]] = cir.trans_data %x {src_format = "ND", dst_format = "NC1HWC0"}
  // CHECK-NEXT: %conv = cir.conv2d %[[IN]], %w, %c {pads = [1, 1, 1, 1]} : ({{.*}}NC1HWC0>>, tensor<32x32x3x3xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16, #cir.format<NC1HWC0>>
  %conv = cir.conv2d %x, %w, %c {pads = [1, 1, 1, 1]} : (tensor<1x32x8x8xf16>, tensor<32x32x3x3xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16>
  // CHECK-NEXT: %r = cir.relu %conv : tensor<1x32x8x8xf16, #cir.format<NC1HWC0>>
  %r = cir.relu %conv : tensor<1x32x8x8xf16>
  // CHECK-NEXT: %a = cir.add %r, %[[IN]]
  %a = cir.add %r, %x : (tensor<1x32x8x8xf16>, tensor<1x32x8x8xf16>) -> tensor<1x32x8x8xf16>
  // 32 channels in 2 groups: 16 channels per group, one C0 block each -> 5HD
  // CHECK-NEXT: %g = cir.group_norm %a, %c, %c {num_groups = 2} : ({{.*}}NC1HWC0>>, {{.*}}) -> tensor<1x32x8x8xf16, #cir.format<NC1HWC0>>
  %g = cir.group_norm %a, %c, %c {num_groups = 2} : (tensor<1x32x8x8xf16>, tensor<32xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16>
  // 32 channels in 8 groups of 4: not aligned with C0 = 16, stays ND
  // CHECK-NEXT: %[[OUT:.*]] = cir.trans_data %g {src_format = "NC1HWC0", dst_format = "ND"}
  // CHECK-NEXT: %g2 = cir.group_norm %[[OUT]], %c, %c {num_groups = 8} : (tensor<1x32x8x8xf16>, tensor<32xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16>
  %g2 = cir.group_norm %g, %c, %c {num_groups = 8} : (tensor<1x32x8x8xf16>, tensor<32xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16>
  // CHECK-NEXT: func.return %g2
  func.return %g2 : tensor<1x32x8x8xf16>
}

// conv2d_act: x and the residual (operand 3, when there is one) are activations
// CHECK-LABEL: func.func @conv_act
func.func @conv_act(%x: tensor<1x32x8x8xf16>, %w: tensor<32x32x3x3xf16>, %c: tensor<32xf16>) -> tensor<1x32x8x8xf16> {
  // CHECK-NEXT: %[[IN:.*]] = cir.trans_data %x {src_format = "ND", dst_format = "NC1HWC0"}
  // CHECK-NEXT: %a = cir.conv2d_act %[[IN]], %w, %c {pads = [1, 1, 1, 1], activation = "relu"} : ({{.*}}NC1HWC0>>, tensor<32x32x3x3xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16, #cir.format<NC1HWC0>>
  %a = cir.conv2d_act %x, %w, %c {pads = [1, 1, 1, 1], activation = "relu"} : (tensor<1x32x8x8xf16>, tensor<32x32x3x3xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16>
  // CHECK-NEXT: %b = cir.conv2d_act %a, %w, %c, %[[IN]] {pads = [1, 1, 1, 1], activation = "relu"} : ({{.*}}NC1HWC0>>, tensor<32x32x3x3xf16>, tensor<32xf16>, tensor<1x32x8x8xf16, #cir.format<NC1HWC0>>) -> tensor<1x32x8x8xf16, #cir.format<NC1HWC0>>
  %b = cir.conv2d_act %a, %w, %c, %x {pads = [1, 1, 1, 1], activation = "relu"} : (tensor<1x32x8x8xf16>, tensor<32x32x3x3xf16>, tensor<32xf16>, tensor<1x32x8x8xf16>) -> tensor<1x32x8x8xf16>
  // CHECK-NEXT: %[[OUT:.*]] = cir.trans_data %b {src_format = "NC1HWC0", dst_format = "ND"}
  // CHECK-NEXT: func.return %[[OUT]]
  func.return %b : tensor<1x32x8x8xf16>
}

// CHECK-LABEL: func.func @packed_weights
func.func @packed_weights(%x: tensor<1x4x8x8xf32>, %t: tensor<2x16x32xf32>) -> (tensor<1x8x8x8xf32>, tensor<2x16x64xf32>) {
  // CHECK: cir.weight "conv.weight@FRACTAL_Z" : tensor<8x4x3x3xf32, #cir.format<FRACTAL_Z>>
  %w = cir.weight "conv.weight" : tensor<8x4x3x3xf32>
  %y = cir.conv2d %x, %w {pads = [1, 1, 1, 1]} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x8x8xf32>
  // CHECK: cir.weight "fc.weight@FRACTAL_NZ" : tensor<64x32xf32, #cir.format<FRACTAL_NZ>>
  %fw = cir.weight "fc.weight" : tensor<64x32xf32>
  %z = cir.linear %t, %fw : (tensor<2x16x32xf32>, tensor<64x32xf32>) -> tensor<2x16x64xf32>
  func.return %y, %z : tensor<1x8x8x8xf32>, tensor<2x16x64xf32>
}
}

// REPORT: layout: 16 trans_data inserted, 6 left after cancelling inverse pairs; 2 weights pre-packed
// BADSOC: unknown SoC 'Ascend999' (known: Ascend310P3, Ascend910B1, Ascend910B2, Ascend910B3, Ascend910B4, Ascend910_9392)
