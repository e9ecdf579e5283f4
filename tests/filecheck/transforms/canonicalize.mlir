// canonicalize: identities vanish, chains merge, constants and weight-only subgraphs fold,
// BatchNorm folds into the conv before it, then CSE + DCE.
// RUN: circ-opt %s -p canonicalize | filecheck %s

// CHECK-LABEL: func.func @identities
func.func @identities(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  // CHECK-NEXT: func.return %x
  %a = cir.reshape %x {shape = [2, 3, 4]} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %b = cir.transpose %a {perm = [0, 1, 2]} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %c = cir.cast %b : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %d = cir.concat %c {axis = 0} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %e = cir.pad %d {low = [0, 0, 0], high = [0, 0, 0]} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %f = cir.tile %e {repeats = [1, 1, 1]} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %g = cir.broadcast_to %f {shape = [2, 3, 4]} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %h = cir.slice %g {starts = [0, 0, 0], ends = [2, 3, 4], steps = [1, 1, 1]} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  func.return %h : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @chains
func.func @chains(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<4x2x3xf32>, tensor<4x6xf32>) {
  // inverse transposes cancel; two transposes compose into one; reshapes merge
  // CHECK-NEXT: %[[T:.*]] = cir.transpose %x {perm = [2, 0, 1]}
  // CHECK-NEXT: %[[R:.*]] = cir.reshape %x {shape = [4, 6]}
  // CHECK-NEXT: func.return %x, %[[T]], %[[R]]
  %a = cir.transpose %x {perm = [1, 2, 0]} : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %b = cir.transpose %a {perm = [2, 0, 1]} : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
  %c = cir.transpose %x {perm = [0, 2, 1]} : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
  %d = cir.transpose %c {perm = [1, 0, 2]} : tensor<2x4x3xf32> -> tensor<4x2x3xf32>
  %e = cir.reshape %x {shape = [24]} : tensor<2x3x4xf32> -> tensor<24xf32>
  %f = cir.reshape %e {shape = [4, 6]} : tensor<24xf32> -> tensor<4x6xf32>
  func.return %b, %d, %f : tensor<2x3x4xf32>, tensor<4x2x3xf32>, tensor<4x6xf32>
}

// CHECK-LABEL: func.func @constants
func.func @constants(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK-NEXT: %[[C:.*]] = cir.constant dense<[2.000000e+00, 3.000000e+00, 4.000000e+00, 5.000000e+00]> : tensor<4xf32>
  // CHECK-NEXT: %[[M:.*]] = cir.mul %x, %[[C]]
  // CHECK-NEXT: func.return %[[M]]
  %a = cir.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %b = cir.constant dense<1.0> : tensor<f32>
  %c = cir.add %a, %b : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %m = cir.mul %x, %c : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return %m : tensor<4xf32>
}

// CHECK-LABEL: func.func @trans_data_pairs
func.func @trans_data_pairs(%x: tensor<1x16x4x4xf16>) -> tensor<1x16x4x4xf16> {
  // CHECK-NEXT: func.return %x
  %a = cir.trans_data %x {src_format = "ND", dst_format = "NC1HWC0"} : tensor<1x16x4x4xf16> -> tensor<1x16x4x4xf16, #cir.format<NC1HWC0>>
  %b = cir.trans_data %a {src_format = "NC1HWC0", dst_format = "ND"} : tensor<1x16x4x4xf16, #cir.format<NC1HWC0>> -> tensor<1x16x4x4xf16>
  func.return %b : tensor<1x16x4x4xf16>
}

// CHECK-LABEL: func.func @batch_norm_into_conv
func.func @batch_norm_into_conv(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  // CHECK-NEXT: %[[W:.*]] = cir.constant dense<{{.*}}> : tensor<2x2x1x1xf32>
  // CHECK-NEXT: %[[B:.*]] = cir.constant dense<[-1.000000e+00, 3.000000e+00]> : tensor<2xf32>
  // CHECK-NEXT: %[[Y:.*]] = cir.conv2d %x, %[[W]], %[[B]]
  // CHECK-NOT: cir.batch_norm
  // CHECK: func.return %[[Y]]
  %w = cir.constant dense<[[[[1.0]], [[0.0]]], [[[0.0]], [[1.0]]]]> : tensor<2x2x1x1xf32>
  %c = cir.conv2d %x, %w : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %scale = cir.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %bias = cir.constant dense<[1.0, 3.0]> : tensor<2xf32>
  %mean = cir.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %var = cir.constant dense<[1.0, 1.0]> : tensor<2xf32>
  %bn = cir.batch_norm %c, %scale, %bias, %mean, %var {epsilon = 0.0} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %bn : tensor<1x2x4x4xf32>
}

// 1x1 convs between image and tokens (SD's proj_in / proj_out) are matmuls that read the NCHW
// side transposed: no transpose of the activations is left.
// CHECK-LABEL: func.func @pointwise_tokens
func.func @pointwise_tokens(%x: tensor<2x8x4x5xf32>, %w: tensor<6x8x1x1xf32>, %b: tensor<6xf32>, %w2: tensor<8x6x1x1xf32>, %b2: tensor<8xf32>) -> (tensor<2x20x6xf32>, tensor<2x8x4x5xf32>) {
  // CHECK-NEXT: %[[XR:.*]] = cir.reshape %x {shape = [2, 8, 20]}
  // CHECK-NEXT: %[[WR:.*]] = cir.reshape %w {shape = [6, 8]}
  // CHECK-NEXT: %[[MM:.*]] = cir.matmul %[[XR]], %[[WR]] {transpose_a = true, transpose_b = true} : (tensor<2x8x20xf32>, tensor<6x8xf32>) -> tensor<2x20x6xf32>
  // CHECK-NEXT: %[[TOK:.*]] = cir.add %[[MM]], %b : (tensor<2x20x6xf32>, tensor<6xf32>) -> tensor<2x20x6xf32>
  %c = cir.conv2d %x, %w, %b : (tensor<2x8x4x5xf32>, tensor<6x8x1x1xf32>, tensor<6xf32>) -> tensor<2x6x4x5xf32>
  %t = cir.transpose %c {perm = [0, 2, 3, 1]} : tensor<2x6x4x5xf32> -> tensor<2x4x5x6xf32>
  %tokens = cir.reshape %t {shape = [2, 20, 6]} : tensor<2x4x5x6xf32> -> tensor<2x20x6xf32>
  // CHECK-NEXT: %[[W2:.*]] = cir.reshape %w2 {shape = [8, 6]}
  // CHECK-NEXT: %[[M2:.*]] = cir.matmul %[[W2]], %[[TOK]] {transpose_b = true} : (tensor<8x6xf32>, tensor<2x20x6xf32>) -> tensor<2x8x20xf32>
  // CHECK-NEXT: %[[IMG:.*]] = cir.reshape %[[M2]] {shape = [2, 8, 4, 5]}
  // CHECK-NEXT: %[[BC:.*]] = cir.reshape %b2 {shape = [8, 1, 1]}
  // CHECK-NEXT: %[[OUT:.*]] = cir.add %[[IMG]], %[[BC]] : (tensor<2x8x4x5xf32>, tensor<8x1x1xf32>) -> tensor<2x8x4x5xf32>
  %r = cir.reshape %tokens {shape = [2, 4, 5, 6]} : tensor<2x20x6xf32> -> tensor<2x4x5x6xf32>
  %i = cir.transpose %r {perm = [0, 3, 1, 2]} : tensor<2x4x5x6xf32> -> tensor<2x6x4x5xf32>
  %out = cir.conv2d %i, %w2, %b2 : (tensor<2x6x4x5xf32>, tensor<8x6x1x1xf32>, tensor<8xf32>) -> tensor<2x8x4x5xf32>
  // CHECK-NEXT: func.return %[[TOK]], %[[OUT]]
  func.return %tokens, %out : tensor<2x20x6xf32>, tensor<2x8x4x5xf32>
}

// Not between image and tokens (an NHWC image, no token reshape), or not pointwise: unchanged.
// CHECK-LABEL: func.func @pointwise_stays
func.func @pointwise_stays(%x: tensor<1x8x4x4xf32>, %w: tensor<6x8x1x1xf32>, %w3: tensor<6x8x3x3xf32>) -> (tensor<1x4x4x6xf32>, tensor<1x16x6xf32>) {
  // CHECK-NEXT: cir.conv2d %x, %w :
  // CHECK-NEXT: cir.transpose
  // CHECK-NEXT: cir.conv2d %x, %w3 {pads = [1, 1, 1, 1]}
  // CHECK-NEXT: cir.transpose
  // CHECK-NEXT: cir.reshape
  // CHECK-NEXT: func.return
  %c = cir.conv2d %x, %w : (tensor<1x8x4x4xf32>, tensor<6x8x1x1xf32>) -> tensor<1x6x4x4xf32>
  %t = cir.transpose %c {perm = [0, 2, 3, 1]} : tensor<1x6x4x4xf32> -> tensor<1x4x4x6xf32>
  %c3 = cir.conv2d %x, %w3 {pads = [1, 1, 1, 1]} : (tensor<1x8x4x4xf32>, tensor<6x8x3x3xf32>) -> tensor<1x6x4x4xf32>
  %t3 = cir.transpose %c3 {perm = [0, 2, 3, 1]} : tensor<1x6x4x4xf32> -> tensor<1x4x4x6xf32>
  %r3 = cir.reshape %t3 {shape = [1, 16, 6]} : tensor<1x4x4x6xf32> -> tensor<1x16x6xf32>
  func.return %t, %r3 : tensor<1x4x4x6xf32>, tensor<1x16x6xf32>
}

// torch.bmm over flattened heads: the product runs on the (B, N, ...) operands; K^T (BERT's
// transpose [0, 2, 3, 1] of (B, S, N, D)) is read transposed by the matmul, and what is left of
// it keeps the last dim.
// CHECK-LABEL: func.func @attention_matmuls
func.func @attention_matmuls(%q: tensor<1x2x5x4xf32>, %k: tensor<1x5x2x4xf32>) -> tensor<1x2x5x5xf32> {
  // CHECK-NEXT: %[[KH:.*]] = cir.transpose %k {perm = [0, 2, 1, 3]} : (tensor<1x5x2x4xf32>) -> tensor<1x2x5x4xf32>
  // CHECK-NEXT: %[[S:.*]] = cir.matmul %q, %[[KH]] {transpose_b = true} : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x5xf32>
  // CHECK-NEXT: func.return %[[S]]
  %kt = cir.transpose %k {perm = [0, 2, 3, 1]} : tensor<1x5x2x4xf32> -> tensor<1x2x4x5xf32>
  %q3 = cir.reshape %q {shape = [2, 5, 4]} : tensor<1x2x5x4xf32> -> tensor<2x5x4xf32>
  %k3 = cir.reshape %kt {shape = [2, 4, 5]} : tensor<1x2x4x5xf32> -> tensor<2x4x5xf32>
  %s3 = cir.matmul %q3, %k3 : (tensor<2x5x4xf32>, tensor<2x4x5xf32>) -> tensor<2x5x5xf32>
  %s = cir.reshape %s3 {shape = [1, 2, 5, 5]} : tensor<2x5x5xf32> -> tensor<1x2x5x5xf32>
  func.return %s : tensor<1x2x5x5xf32>
}

// A swap of the last two dims vanishes into transpose_a. Unchanged: a product reshaped to other
// dims than the flattened ones, a transpose that keeps the last dim, one read twice.
// CHECK-LABEL: func.func @matmul_transposed_or_not
func.func @matmul_transposed_or_not(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x4x5xf32>, %x: tensor<3x4x5xf32>, %y: tensor<3x4x2xf32>, %u: tensor<4x3x5xf32>, %w: tensor<3x5x2xf32>) -> (tensor<10x5xf32>, tensor<3x5x2xf32>, tensor<3x4x2xf32>, tensor<3x5x2xf32>, tensor<3x5x4xf32>) {
  // CHECK-NEXT: cir.reshape %q
  // CHECK-NEXT: cir.reshape %k
  // CHECK-NEXT: cir.matmul
  // CHECK-NEXT: cir.reshape %{{.*}} {shape = [10, 5]}
  %q3 = cir.reshape %q {shape = [2, 5, 4]} : tensor<1x2x5x4xf32> -> tensor<2x5x4xf32>
  %k3 = cir.reshape %k {shape = [2, 4, 5]} : tensor<1x2x4x5xf32> -> tensor<2x4x5xf32>
  %s3 = cir.matmul %q3, %k3 : (tensor<2x5x4xf32>, tensor<2x4x5xf32>) -> tensor<2x5x5xf32>
  %s = cir.reshape %s3 {shape = [10, 5]} : tensor<2x5x5xf32> -> tensor<10x5xf32>
  // CHECK-NEXT: cir.matmul %x, %y {transpose_a = true} : (tensor<3x4x5xf32>, tensor<3x4x2xf32>) -> tensor<3x5x2xf32>
  %xt = cir.transpose %x {perm = [0, 2, 1]} : tensor<3x4x5xf32> -> tensor<3x5x4xf32>
  %g = cir.matmul %xt, %y : (tensor<3x5x4xf32>, tensor<3x4x2xf32>) -> tensor<3x5x2xf32>
  // CHECK-NEXT: %[[UT:.*]] = cir.transpose %u {perm = [1, 0, 2]}
  // CHECK-NEXT: cir.matmul %[[UT]], %w :
  %ut = cir.transpose %u {perm = [1, 0, 2]} : tensor<4x3x5xf32> -> tensor<3x4x5xf32>
  %h = cir.matmul %ut, %w : (tensor<3x4x5xf32>, tensor<3x5x2xf32>) -> tensor<3x4x2xf32>
  // CHECK-NEXT: %[[T2:.*]] = cir.transpose %x {perm = [0, 2, 1]}
  // CHECK-NEXT: cir.matmul %[[T2]], %y :
  // CHECK-NEXT: func.return
  %t2 = cir.transpose %x {perm = [0, 2, 1]} : tensor<3x4x5xf32> -> tensor<3x5x4xf32>
  %z = cir.matmul %t2, %y : (tensor<3x5x4xf32>, tensor<3x4x2xf32>) -> tensor<3x5x2xf32>
  func.return %s, %g, %h, %z, %t2 : tensor<10x5xf32>, tensor<3x5x2xf32>, tensor<3x4x2xf32>, tensor<3x5x2xf32>, tensor<3x5x4xf32>
}
