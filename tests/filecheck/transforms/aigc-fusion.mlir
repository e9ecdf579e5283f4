// aigc-fusion{preset=...}: each rule of the built-in database on its smallest example.
// RUN: circ-opt %s -p 'aigc-fusion{preset=sd_optimized}' --split-input-file | filecheck %s
// RUN: circ-opt %s -p 'aigc-fusion{preset=transformer}' --split-input-file | filecheck %s --check-prefix=TRF
// RUN: circ-opt %s -p 'aigc-fusion{preset=none}' --split-input-file | filecheck %s --check-prefix=NONE
// RUN: circ-opt %s -p 'aigc-fusion{preset=sd_optimized}' --split-input-file --fusion-report 2>&1 >/dev/null | filecheck %s --check-prefix=REPORT
// RUN: circ-opt %s -p 'aigc-fusion{preset=cnn}' --split-input-file | filecheck %s --check-prefix=CNN

// CHECK-LABEL: func.func @resblock
// NONE-LABEL: func.func @resblock
func.func @resblock(%x: tensor<1x32x8x8xf32>, %w: tensor<32x32x3x3xf32>, %c: tensor<32xf32>, %skip: tensor<1x32x8x8xf32>) -> (tensor<1x32x8x8xf32>, tensor<1x32x8x8xf32>, tensor<1x32x8x8xf32>) {
  // conv output also feeds the skip path: the fused op exports it
  // CHECK-NEXT: %y, %conv = cir.conv_gn_silu %x, %w, %c, %c, %c {pads = [1, 1, 1, 1], num_groups = 8, epsilon = 1.0e-06}
  %conv = cir.conv2d %x, %w, %c {pads = [1, 1, 1, 1]} : (tensor<1x32x8x8xf32>, tensor<32x32x3x3xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32>
  %n = cir.group_norm %conv, %c, %c {num_groups = 8, epsilon = 1.0e-06} : (tensor<1x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32>
  %y = cir.silu %n : tensor<1x32x8x8xf32>
  // CHECK-NEXT: %y2, %s = cir.add_group_norm %skip, %y, %c, %c {num_groups = 8, activate_silu = true}
  %s = cir.add %skip, %y : (tensor<1x32x8x8xf32>, tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %n2 = cir.group_norm %s, %c, %c {num_groups = 8} : (tensor<1x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32>
  %y2 = cir.silu %n2 : tensor<1x32x8x8xf32>
  // CHECK-NEXT: %y3 = cir.group_norm_silu %s, %c, %c {num_groups = 4}
  %n3 = cir.group_norm %s, %c, %c {num_groups = 4} : (tensor<1x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32>
  %y3 = cir.silu %n3 : tensor<1x32x8x8xf32>
  // CHECK-NEXT: func.return %y2, %s, %y3
  // NONE: cir.conv2d
  // NONE-NOT: cir.conv_gn_silu
  func.return %y2, %s, %y3 : tensor<1x32x8x8xf32>, tensor<1x32x8x8xf32>, tensor<1x32x8x8xf32>
}

// A GroupNorm whose input is needed elsewhere, with no SiLU: skip-add + GroupNorm.
// CHECK-LABEL: func.func @skip_add_group_norm
func.func @skip_add_group_norm(%a: tensor<1x32x4x4xf32>, %b: tensor<1x32x4x4xf32>, %c: tensor<32xf32>) -> (tensor<1x32x4x4xf32>, tensor<1x32x4x4xf32>) {
  // CHECK-NEXT: %y, %s = cir.add_group_norm %a, %b, %c, %c {num_groups = 8} :
  %s = cir.add %a, %b : (tensor<1x32x4x4xf32>, tensor<1x32x4x4xf32>) -> tensor<1x32x4x4xf32>
  %y = cir.group_norm %s, %c, %c {num_groups = 8} : (tensor<1x32x4x4xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<1x32x4x4xf32>
  func.return %y, %s : tensor<1x32x4x4xf32>, tensor<1x32x4x4xf32>
}

// -----

// CHECK-LABEL: func.func @attention
// TRF-LABEL: func.func @attention
func.func @attention(%q: tensor<2x8x16x40xf32>, %k: tensor<2x8x77x40xf32>, %v: tensor<2x8x77x40xf32>, %mask: tensor<2x1x16x77xf32>, %kmask: tensor<2x1x16x1xf32>) -> (tensor<2x8x16x40xf32>, tensor<2x8x16x40xf32>, tensor<2x8x16x40xf32>, tensor<2x8x16x40xf32>, tensor<2x8x16x40xf32>, tensor<2x8x16x40xf32>) {
  // CHECK-NEXT: %o = cir.flash_attention %q, %k, %v {head_num = 8, scale = 0.15811388300841897}
  // TRF-NEXT: cir.flash_attention
  %o = cir.attention %q, %k, %v : (tensor<2x8x16x40xf32>, tensor<2x8x77x40xf32>, tensor<2x8x77x40xf32>) -> tensor<2x8x16x40xf32>
  // matmul -> scale -> softmax -> matmul, the form TF and ONNX give
  // CHECK: %o2 = cir.flash_attention %q, %k, %v {head_num = 8, scale = 0.125}
  %kt = cir.transpose %k {perm = [0, 1, 3, 2]} : tensor<2x8x77x40xf32> -> tensor<2x8x40x77xf32>
  %sc = cir.matmul %q, %kt : (tensor<2x8x16x40xf32>, tensor<2x8x40x77xf32>) -> tensor<2x8x16x77xf32>
  %f = cir.constant dense<0.125> : tensor<f32>
  %ss = cir.mul %sc, %f : (tensor<2x8x16x77xf32>, tensor<f32>) -> tensor<2x8x16x77xf32>
  %p = cir.softmax %ss : tensor<2x8x16x77xf32>
  %o2 = cir.matmul %p, %v : (tensor<2x8x16x77xf32>, tensor<2x8x77x40xf32>) -> tensor<2x8x16x40xf32>
  // with an additive mask (BERT's extended attention mask, broadcast over the heads)
  // CHECK-NEXT: %o3 = cir.flash_attention %q, %k, %v, %mask {head_num = 8, scale = 0.125}
  // TRF: %o3 = cir.flash_attention %q, %k, %v, %mask
  %kt3 = cir.transpose %k {perm = [0, 1, 3, 2]} : tensor<2x8x77x40xf32> -> tensor<2x8x40x77xf32>
  %sc3 = cir.matmul %q, %kt3 : (tensor<2x8x16x40xf32>, tensor<2x8x40x77xf32>) -> tensor<2x8x16x77xf32>
  %ss3 = cir.mul %sc3, %f : (tensor<2x8x16x77xf32>, tensor<f32>) -> tensor<2x8x16x77xf32>
  %sm3 = cir.add %ss3, %mask : (tensor<2x8x16x77xf32>, tensor<2x1x16x77xf32>) -> tensor<2x8x16x77xf32>
  %p3 = cir.softmax %sm3 : tensor<2x8x16x77xf32>
  %o3 = cir.matmul %p3, %v : (tensor<2x8x16x77xf32>, tensor<2x8x77x40xf32>) -> tensor<2x8x16x40xf32>
  // a mask broadcast along the keys is left alone (the kernel reads one mask row per key block)
  // CHECK: cir.add %{{.*}}, %kmask
  %kt4 = cir.transpose %k {perm = [0, 1, 3, 2]} : tensor<2x8x77x40xf32> -> tensor<2x8x40x77xf32>
  %sc4 = cir.matmul %q, %kt4 : (tensor<2x8x16x40xf32>, tensor<2x8x40x77xf32>) -> tensor<2x8x16x77xf32>
  %ss4 = cir.mul %sc4, %f : (tensor<2x8x16x77xf32>, tensor<f32>) -> tensor<2x8x16x77xf32>
  %sm4 = cir.add %ss4, %kmask : (tensor<2x8x16x77xf32>, tensor<2x1x16x1xf32>) -> tensor<2x8x16x77xf32>
  %p4 = cir.softmax %sm4 : tensor<2x8x16x77xf32>
  %o4 = cir.matmul %p4, %v : (tensor<2x8x16x77xf32>, tensor<2x8x77x40xf32>) -> tensor<2x8x16x40xf32>
  // sdpa with a mask (HF's sdpa attention): the mask goes along; broadcast along the keys: stays
  // CHECK: %o5 = cir.flash_attention %q, %k, %v, %mask {head_num = 8, scale = 0.15811388300841897}
  // CHECK: %o6 = cir.attention %q, %k, %v, %kmask
  // TRF: %o5 = cir.flash_attention %q, %k, %v, %mask
  %o5 = cir.attention %q, %k, %v, %mask : (tensor<2x8x16x40xf32>, tensor<2x8x77x40xf32>, tensor<2x8x77x40xf32>, tensor<2x1x16x77xf32>) -> tensor<2x8x16x40xf32>
  %o6 = cir.attention %q, %k, %v, %kmask : (tensor<2x8x16x40xf32>, tensor<2x8x77x40xf32>, tensor<2x8x77x40xf32>, tensor<2x1x16x1xf32>) -> tensor<2x8x16x40xf32>
  func.return %o, %o2, %o3, %o4, %o5, %o6 : tensor<2x8x16x40xf32>, tensor<2x8x16x40xf32>, tensor<2x8x16x40xf32>, tensor<2x8x16x40xf32>, tensor<2x8x16x40xf32>, tensor<2x8x16x40xf32>
}

// -----

// CHECK-LABEL: func.func @attention_bsh
// TRF-LABEL: func.func @attention_bsh
// heads split from (B, S, H) and merged back around the attention: flash attention reads BSH
func.func @attention_bsh(%x: tensor<1x64x32xf32>, %c: tensor<1x7x32xf32>) -> (tensor<1x64x32xf32>, tensor<1x8x64x4xf32>) {
  // CHECK-NEXT: %y = cir.flash_attention %x, %c, %c {head_num = 8, input_layout = "BSH", scale = 0.5}
  // TRF-NEXT: %y = cir.flash_attention %x, %c, %c {head_num = 8, input_layout = "BSH"
  %q4 = cir.reshape %x {shape = [1, 64, 8, 4]} : (tensor<1x64x32xf32>) -> tensor<1x64x8x4xf32>
  %q = cir.transpose %q4 {perm = [0, 2, 1, 3]} : tensor<1x64x8x4xf32> -> tensor<1x8x64x4xf32>
  %k4 = cir.reshape %c {shape = [1, 7, 8, 4]} : (tensor<1x7x32xf32>) -> tensor<1x7x8x4xf32>
  %k = cir.transpose %k4 {perm = [0, 2, 1, 3]} : tensor<1x7x8x4xf32> -> tensor<1x8x7x4xf32>
  %v4 = cir.reshape %c {shape = [1, 7, 8, 4]} : (tensor<1x7x32xf32>) -> tensor<1x7x8x4xf32>
  %v = cir.transpose %v4 {perm = [0, 2, 1, 3]} : tensor<1x7x8x4xf32> -> tensor<1x8x7x4xf32>
  %o = cir.flash_attention %q, %k, %v {head_num = 8, scale = 0.5} : (tensor<1x8x64x4xf32>, tensor<1x8x7x4xf32>, tensor<1x8x7x4xf32>) -> tensor<1x8x64x4xf32>
  %ot = cir.transpose %o {perm = [0, 2, 1, 3]} : tensor<1x8x64x4xf32> -> tensor<1x64x8x4xf32>
  %y = cir.reshape %ot {shape = [1, 64, 32]} : (tensor<1x64x8x4xf32>) -> tensor<1x64x32xf32>
  // the BNSD output is also used as it is: it stays
  // CHECK: %o2 = cir.flash_attention %q2, %q2, %q2 {head_num = 8, scale = 0.5}
  // CHECK: cir.transpose
  %q24 = cir.reshape %x {shape = [1, 64, 8, 4]} : (tensor<1x64x32xf32>) -> tensor<1x64x8x4xf32>
  %q2 = cir.transpose %q24 {perm = [0, 2, 1, 3]} : tensor<1x64x8x4xf32> -> tensor<1x8x64x4xf32>
  %o2 = cir.flash_attention %q2, %q2, %q2 {head_num = 8, scale = 0.5} : (tensor<1x8x64x4xf32>, tensor<1x8x64x4xf32>, tensor<1x8x64x4xf32>) -> tensor<1x8x64x4xf32>
  %o2t = cir.transpose %o2 {perm = [0, 2, 1, 3]} : tensor<1x8x64x4xf32> -> tensor<1x64x8x4xf32>
  %y2 = cir.reshape %o2t {shape = [1, 64, 32]} : (tensor<1x64x8x4xf32>) -> tensor<1x64x32xf32>
  %sum = cir.add %y, %y2 : (tensor<1x64x32xf32>, tensor<1x64x32xf32>) -> tensor<1x64x32xf32>
  func.return %sum, %o2 : tensor<1x64x32xf32>, tensor<1x8x64x4xf32>
}

// -----

// CHECK-LABEL: func.func @attention_bert
// TRF-LABEL: func.func @attention_bert
// BERT / HF encoders after canonicalize: Q K^T reads K transposed (transpose_b), an additive
// mask, heads split from and merged back to (B, S, H): one flash attention on BSH, mask kept
func.func @attention_bert(%x: tensor<1x16x32xf32>, %mask: tensor<1x1x16x16xf32>) -> tensor<1x16x32xf32> {
  // CHECK-NEXT: %y = cir.flash_attention %x, %x, %x, %mask {head_num = 8, input_layout = "BSH", scale = 0.5}
  // TRF-NEXT: %y = cir.flash_attention %x, %x, %x, %mask {head_num = 8, input_layout = "BSH", scale = 0.5}
  %q4 = cir.reshape %x {shape = [1, 16, 8, 4]} : (tensor<1x16x32xf32>) -> tensor<1x16x8x4xf32>
  %q = cir.transpose %q4 {perm = [0, 2, 1, 3]} : tensor<1x16x8x4xf32> -> tensor<1x8x16x4xf32>
  %k4 = cir.reshape %x {shape = [1, 16, 8, 4]} : (tensor<1x16x32xf32>) -> tensor<1x16x8x4xf32>
  %k = cir.transpose %k4 {perm = [0, 2, 1, 3]} : tensor<1x16x8x4xf32> -> tensor<1x8x16x4xf32>
  %v4 = cir.reshape %x {shape = [1, 16, 8, 4]} : (tensor<1x16x32xf32>) -> tensor<1x16x8x4xf32>
  %v = cir.transpose %v4 {perm = [0, 2, 1, 3]} : tensor<1x16x8x4xf32> -> tensor<1x8x16x4xf32>
  %s = cir.matmul %q, %k {transpose_b = true} : (tensor<1x8x16x4xf32>, tensor<1x8x16x4xf32>) -> tensor<1x8x16x16xf32>
  %f = cir.constant dense<0.5> : tensor<f32>
  %ss = cir.mul %s, %f : (tensor<1x8x16x16xf32>, tensor<f32>) -> tensor<1x8x16x16xf32>
  %sm = cir.add %ss, %mask : (tensor<1x8x16x16xf32>, tensor<1x1x16x16xf32>) -> tensor<1x8x16x16xf32>
  %p = cir.softmax %sm : tensor<1x8x16x16xf32>
  %o = cir.matmul %p, %v : (tensor<1x8x16x16xf32>, tensor<1x8x16x4xf32>) -> tensor<1x8x16x4xf32>
  %ot = cir.transpose %o {perm = [0, 2, 1, 3]} : tensor<1x8x16x4xf32> -> tensor<1x16x8x4xf32>
  %y = cir.reshape %ot {shape = [1, 16, 32]} : (tensor<1x16x8x4xf32>) -> tensor<1x16x32xf32>
  // NONE: cir.matmul %q, %k {transpose_b = true}
  // NONE-NOT: cir.flash_attention
  func.return %y : tensor<1x16x32xf32>
}

// -----

// CHECK-LABEL: func.func @attention_bnsd_tb
// TRF-LABEL: func.func @attention_bnsd_tb
// unmasked, on BNSD operands (no head split to absorb)
func.func @attention_bnsd_tb(%q: tensor<1x8x16x4xf32>, %k: tensor<1x8x16x4xf32>, %v: tensor<1x8x16x4xf32>) -> tensor<1x8x16x4xf32> {
  // CHECK-NEXT: %o2 = cir.flash_attention %q, %k, %v {head_num = 8, scale = 0.5}
  // TRF: %o2 = cir.flash_attention %q, %k, %v {head_num = 8, scale = 0.5}
  %f = cir.constant dense<0.5> : tensor<f32>
  %s2 = cir.matmul %q, %k {transpose_b = true} : (tensor<1x8x16x4xf32>, tensor<1x8x16x4xf32>) -> tensor<1x8x16x16xf32>
  %ss2 = cir.mul %s2, %f : (tensor<1x8x16x16xf32>, tensor<f32>) -> tensor<1x8x16x16xf32>
  %p2 = cir.softmax %ss2 : tensor<1x8x16x16xf32>
  %o2 = cir.matmul %p2, %v : (tensor<1x8x16x16xf32>, tensor<1x8x16x4xf32>) -> tensor<1x8x16x4xf32>
  func.return %o2 : tensor<1x8x16x4xf32>
}

// -----

// CHECK-LABEL: func.func @feed_forward
// TRF-LABEL: func.func @feed_forward
func.func @feed_forward(%x: tensor<2x16x32xf32>, %w: tensor<128x32xf32>, %b: tensor<128xf32>, %w2: tensor<32x32xf32>) -> (tensor<2x16x64xf32>, tensor<2x16x32xf32>) {
  // CHECK: %y = cir.geglu %h : (tensor<2x16x128xf32>) -> tensor<2x16x64xf32>
  %h = cir.linear %x, %w, %b : (tensor<2x16x32xf32>, tensor<128x32xf32>, tensor<128xf32>) -> tensor<2x16x128xf32>
  %a, %g = cir.split %h {axis = 2, sizes = [64, 64]} : tensor<2x16x128xf32> -> (tensor<2x16x64xf32>, tensor<2x16x64xf32>)
  %ge = cir.gelu %g : tensor<2x16x64xf32>
  %y = cir.mul %a, %ge : (tensor<2x16x64xf32>, tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  // linear + activation fuses in the transformer preset, not in sd_optimized
  // CHECK: cir.gelu
  // TRF: %z = cir.linear_act %x, %w2 {activation = "gelu"}
  %l = cir.linear %x, %w2 : (tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x32xf32>
  %z = cir.gelu %l : tensor<2x16x32xf32>
  func.return %y, %z : tensor<2x16x64xf32>, tensor<2x16x32xf32>
}

// -----

// Norms from their primitive forms, and add + layer_norm.
// CHECK-LABEL: func.func @norms
// TRF-LABEL: func.func @norms
func.func @norms(%x: tensor<2x16x32xf32>, %r: tensor<2x16x32xf32>, %gamma: tensor<32xf32>, %beta: tensor<32xf32>) -> (tensor<2x16x32xf32>, tensor<2x16x32xf32>, tensor<2x16x32xf32>, tensor<2x16x32xf32>) {
  // CHECK: %y = cir.layer_norm %x, %gamma, %beta {axis = 2} :
  // TRF: %y = cir.layer_norm %x, %gamma, %beta {axis = 2} :
  %m = cir.reduce_mean %x {axes = [2], keepdims = true} : tensor<2x16x32xf32> -> tensor<2x16x1xf32>
  %d = cir.sub %x, %m : (tensor<2x16x32xf32>, tensor<2x16x1xf32>) -> tensor<2x16x32xf32>
  %sq = cir.mul %d, %d : (tensor<2x16x32xf32>, tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  %v = cir.reduce_mean %sq {axes = [2], keepdims = true} : tensor<2x16x32xf32> -> tensor<2x16x1xf32>
  %eps = cir.constant dense<1.0e-05> : tensor<f32>
  %ve = cir.add %v, %eps : (tensor<2x16x1xf32>, tensor<f32>) -> tensor<2x16x1xf32>
  %rs = cir.rsqrt %ve : tensor<2x16x1xf32>
  %n = cir.mul %d, %rs : (tensor<2x16x32xf32>, tensor<2x16x1xf32>) -> tensor<2x16x32xf32>
  %g = cir.mul %n, %gamma : (tensor<2x16x32xf32>, tensor<32xf32>) -> tensor<2x16x32xf32>
  %y = cir.add %g, %beta : (tensor<2x16x32xf32>, tensor<32xf32>) -> tensor<2x16x32xf32>
  // CHECK: %rms = cir.rms_norm %x, %gamma {axis = 2, epsilon = 1.0e-05}
  %sq2 = cir.mul %x, %x : (tensor<2x16x32xf32>, tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  %v2 = cir.reduce_mean %sq2 {axes = [2], keepdims = true} : tensor<2x16x32xf32> -> tensor<2x16x1xf32>
  %ve2 = cir.add %v2, %eps : (tensor<2x16x1xf32>, tensor<f32>) -> tensor<2x16x1xf32>
  %rs2 = cir.rsqrt %ve2 : tensor<2x16x1xf32>
  %n2 = cir.mul %x, %rs2 : (tensor<2x16x32xf32>, tensor<2x16x1xf32>) -> tensor<2x16x32xf32>
  %rms = cir.mul %n2, %gamma : (tensor<2x16x32xf32>, tensor<32xf32>) -> tensor<2x16x32xf32>
  // CHECK: %ln, %s = cir.add_layer_norm %r, %x, %gamma, %beta
  %s = cir.add %r, %x : (tensor<2x16x32xf32>, tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  %ln = cir.layer_norm %s, %gamma, %beta : (tensor<2x16x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<2x16x32xf32>
  func.return %y, %rms, %ln, %s : tensor<2x16x32xf32>, tensor<2x16x32xf32>, tensor<2x16x32xf32>, tensor<2x16x32xf32>
}

// REPORT: fusion report:
// REPORT: conv_gn_silu 1

// -----

// CNN blocks (conv + folded BatchNorm [+ skip] + activation): one conv2d_act each
// CHECK-LABEL: func.func @cnn_blocks
// CNN-LABEL: func.func @cnn_blocks
// NONE-LABEL: func.func @cnn_blocks
func.func @cnn_blocks(%x: tensor<1x8x8x8xf32>, %w: tensor<8x8x3x3xf32>, %w1: tensor<8x8x1x1xf32>, %c: tensor<8xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) {
  // CHECK-NEXT: %a = cir.conv2d_act %x, %w, %c {pads = [1, 1, 1, 1], activation = "relu"}
  // CNN-NEXT: %a = cir.conv2d_act %x, %w, %c {pads = [1, 1, 1, 1], activation = "relu"}
  %c1 = cir.conv2d %x, %w, %c {pads = [1, 1, 1, 1]} : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %a = cir.relu %c1 : tensor<1x8x8x8xf32>
  // the skip add, commuted, then relu: the identity path is the residual
  // CHECK-NEXT: %b = cir.conv2d_act %a, %w, %c, %x {pads = [1, 1, 1, 1], activation = "relu"}
  // CNN-NEXT: %b = cir.conv2d_act %a, %w, %c, %x {pads = [1, 1, 1, 1], activation = "relu"}
  %c2 = cir.conv2d %a, %w, %c {pads = [1, 1, 1, 1]} : (tensor<1x8x8x8xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %s = cir.add %x, %c2 : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %b = cir.relu %s : tensor<1x8x8x8xf32>
  // CHECK-NEXT: %h = cir.conv2d_act %b, %w1, %c {activation = "hardswish"}
  %c3 = cir.conv2d %b, %w1, %c : (tensor<1x8x8x8xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %h = cir.hardswish %c3 : tensor<1x8x8x8xf32>
  // an inverted-residual projection: conv + skip add, no activation
  // CHECK-NEXT: %p = cir.conv2d_act %h, %w1, %c, %b : (tensor<1x8x8x8xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %c4 = cir.conv2d %h, %w1, %c : (tensor<1x8x8x8xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %p = cir.add %c4, %b : (tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  // CHECK-NEXT: %si = cir.conv2d_act %p, %w1, %c {activation = "silu"}
  %c5 = cir.conv2d %p, %w1, %c : (tensor<1x8x8x8xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %si = cir.silu %c5 : tensor<1x8x8x8xf32>
  // CHECK-NEXT: %sg = cir.conv2d_act %si, %w1, %c {activation = "sigmoid"}
  %c6 = cir.conv2d %si, %w1, %c : (tensor<1x8x8x8xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %sg = cir.sigmoid %c6 : tensor<1x8x8x8xf32>
  // the conv's output is also returned: its relu stays apart; a conv without a bias is not fused
  // CHECK-NEXT: %c7 = cir.conv2d %sg, %w1, %c
  // CHECK-NEXT: %r7 = cir.relu %c7
  // CHECK-NEXT: %c8 = cir.conv2d %sg, %w1 :
  // CHECK-NEXT: %r8 = cir.relu %c8
  %c7 = cir.conv2d %sg, %w1, %c : (tensor<1x8x8x8xf32>, tensor<8x8x1x1xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %r7 = cir.relu %c7 : tensor<1x8x8x8xf32>
  %c8 = cir.conv2d %sg, %w1 : (tensor<1x8x8x8xf32>, tensor<8x8x1x1xf32>) -> tensor<1x8x8x8xf32>
  %r8 = cir.relu %c8 : tensor<1x8x8x8xf32>
  // NONE-NOT: cir.conv2d_act
  func.return %p, %r7, %c7, %r8, %h : tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>, tensor<1x8x8x8xf32>
}

// REPORT: conv_add_relu 1
// REPORT-NEXT: conv_add 1
// REPORT-NEXT: conv_relu 1
// REPORT-NEXT: conv_silu 1
// REPORT-NEXT: conv_hardswish 1
// REPORT-NEXT: conv_sigmoid 1

// -----

// A property the pattern does not name must hold its default: P V with V read transposed is
// not the attention rule's plain `cir.matmul(%p, %v)`, so nothing fuses (square, so the fused
// op's result type would match and only the property tells them apart).
// CHECK-LABEL: func.func @unnamed_property_not_default
func.func @unnamed_property_not_default(%q: tensor<1x2x8x8xf32>, %k: tensor<1x2x8x8xf32>, %vt: tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32> {
  // CHECK-NOT: cir.flash_attention
  // CHECK: cir.matmul %p, %vt {transpose_b = true}
  %kt = cir.transpose %k {perm = [0, 1, 3, 2]} : tensor<1x2x8x8xf32> -> tensor<1x2x8x8xf32>
  %sc = cir.matmul %q, %kt : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %f = cir.constant dense<0.5> : tensor<f32>
  %ss = cir.mul %sc, %f : (tensor<1x2x8x8xf32>, tensor<f32>) -> tensor<1x2x8x8xf32>
  %p = cir.softmax %ss : tensor<1x2x8x8xf32>
  %o = cir.matmul %p, %vt {transpose_b = true} : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  func.return %o : tensor<1x2x8x8xf32>
}
