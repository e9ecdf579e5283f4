// The fused CIR operators and cir.trans_data: parse, print, generic round trip.
// RUN: circ-opt %s | circ-opt | filecheck %s
// RUN: CIRC_ROUNDTRIP

// CHECK-LABEL: func.func @fused
func.func @fused(%x: tensor<1x32x8x8xf16>, %w: tensor<32x32x3x3xf16>, %c: tensor<32xf16>,
                 %q: tensor<2x8x64x40xf16>, %h: tensor<2x64x320xf16>, %t: tensor<2x77x1280xf16>,
                 %lw: tensor<320x320xf16>, %lb: tensor<320xf16>) {
  // CHECK-NEXT: %gs = cir.group_norm_silu %x, %c, %c {num_groups = 8} : (tensor<1x32x8x8xf16>, tensor<32xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16>
  %gs = cir.group_norm_silu %x, %c, %c {num_groups = 8} : (tensor<1x32x8x8xf16>, tensor<32xf16>, tensor<32xf16>) -> tensor<1x32x8x8xf16>
  // CHECK-NEXT: %ag, %ag_1 = cir.add_group_norm %x, %x, %c, %c {num_groups = 8, activate_silu = true} : (tensor<1x32x8x8xf16>, tensor<1x32x8x8xf16>, tensor<32xf16>, tensor<32xf16>) -> (tensor<1x32x8x8xf16>, tensor<1x32x8x8xf16>)
  %ag:2 = cir.add_group_norm %x, %x, %c, %c {num_groups = 8, activate_silu = true} : (tensor<1x32x8x8xf16>, tensor<1x32x8x8xf16>, tensor<32xf16>, tensor<32xf16>) -> (tensor<1x32x8x8xf16>, tensor<1x32x8x8xf16>)
  // CHECK-NEXT: %cgs, %cgs_1 = cir.conv_gn_silu %x, %w, %c, %c, %c {pads = [1, 1, 1, 1], num_groups = 8, epsilon = 1.0e-06} : (tensor<1x32x8x8xf16>, tensor<32x32x3x3xf16>, tensor<32xf16>, tensor<32xf16>, tensor<32xf16>) -> (tensor<1x32x8x8xf16>, tensor<1x32x8x8xf16>)
  %cgs:2 = cir.conv_gn_silu %x, %w, %c, %c, %c {pads = [1, 1, 1, 1], num_groups = 8, epsilon = 1.0e-06} : (tensor<1x32x8x8xf16>, tensor<32x32x3x3xf16>, tensor<32xf16>, tensor<32xf16>, tensor<32xf16>) -> (tensor<1x32x8x8xf16>, tensor<1x32x8x8xf16>)
  // CHECK-NEXT: %fa = cir.flash_attention %q, %q, %q {head_num = 8, scale = 0.158} : (tensor<2x8x64x40xf16>, tensor<2x8x64x40xf16>, tensor<2x8x64x40xf16>) -> tensor<2x8x64x40xf16>
  %fa = cir.flash_attention %q, %q, %q {head_num = 8, scale = 0.158} : (tensor<2x8x64x40xf16>, tensor<2x8x64x40xf16>, tensor<2x8x64x40xf16>) -> tensor<2x8x64x40xf16>
  // CHECK-NEXT: %fb = cir.flash_attention %h, %h, %h {head_num = 8, input_layout = "BSH"} : (tensor<2x64x320xf16>, tensor<2x64x320xf16>, tensor<2x64x320xf16>) -> tensor<2x64x320xf16>
  %fb = cir.flash_attention %h, %h, %h {head_num = 8, input_layout = "BSH"} : (tensor<2x64x320xf16>, tensor<2x64x320xf16>, tensor<2x64x320xf16>) -> tensor<2x64x320xf16>
  // CHECK-NEXT: %gg = cir.geglu %t : (tensor<2x77x1280xf16>) -> tensor<2x77x640xf16>
  %gg = cir.geglu %t : tensor<2x77x1280xf16> -> tensor<2x77x640xf16>
  // CHECK-NEXT: %al, %al_1 = cir.add_layer_norm %h, %h, %lb, %lb : (tensor<2x64x320xf16>, tensor<2x64x320xf16>, tensor<320xf16>, tensor<320xf16>) -> (tensor<2x64x320xf16>, tensor<2x64x320xf16>)
  %al:2 = cir.add_layer_norm %h, %h, %lb, %lb : (tensor<2x64x320xf16>, tensor<2x64x320xf16>, tensor<320xf16>, tensor<320xf16>) -> (tensor<2x64x320xf16>, tensor<2x64x320xf16>)
  // CHECK-NEXT: %ca = cir.conv2d_act %x, %w, %c, %x {pads = [1, 1, 1, 1], activation = "relu"} : (tensor<1x32x8x8xf16>, tensor<32x32x3x3xf16>, tensor<32xf16>, tensor<1x32x8x8xf16>) -> tensor<1x32x8x8xf16>
  %ca = cir.conv2d_act %x, %w, %c, %x {pads = [1, 1, 1, 1], activation = "relu"} : (tensor<1x32x8x8xf16>, tensor<32x32x3x3xf16>, tensor<32xf16>, tensor<1x32x8x8xf16>) -> tensor<1x32x8x8xf16>
  // CHECK-NEXT: %cb = cir.conv2d_act %x, %w, %c {strides = [2, 2], pads = [1, 1, 1, 1], activation = "hardswish"} : (tensor<1x32x8x8xf16>, tensor<32x32x3x3xf16>, tensor<32xf16>) -> tensor<1x32x4x4xf16>
  %cb = cir.conv2d_act %x, %w, %c {strides = [2, 2], pads = [1, 1, 1, 1], activation = "hardswish"} : (tensor<1x32x8x8xf16>, tensor<32x32x3x3xf16>, tensor<32xf16>) -> tensor<1x32x4x4xf16>
  // CHECK-NEXT: %la = cir.linear_act %h, %lw, %lb {activation = "gelu"} : (tensor<2x64x320xf16>, tensor<320x320xf16>, tensor<320xf16>) -> tensor<2x64x320xf16>
  %la = cir.linear_act %h, %lw, %lb {activation = "gelu"} : (tensor<2x64x320xf16>, tensor<320x320xf16>, tensor<320xf16>) -> tensor<2x64x320xf16>
  // CHECK-NEXT: %td = cir.trans_data %x {src_format = "ND", dst_format = "NC1HWC0"} : (tensor<1x32x8x8xf16>) -> tensor<1x32x8x8xf16, #cir.format<NC1HWC0>>
  %td = cir.trans_data %x {src_format = "ND", dst_format = "NC1HWC0"} : tensor<1x32x8x8xf16> -> tensor<1x32x8x8xf16, #cir.format<NC1HWC0>>
  // CHECK-NEXT: %fz = cir.trans_data %w {src_format = "ND", dst_format = "FRACTAL_Z"} : (tensor<32x32x3x3xf16>) -> tensor<32x32x3x3xf16, #cir.format<FRACTAL_Z>>
  %fz = cir.trans_data %w {src_format = "ND", dst_format = "FRACTAL_Z"} : tensor<32x32x3x3xf16> -> tensor<32x32x3x3xf16, #cir.format<FRACTAL_Z>>
  func.return
}
