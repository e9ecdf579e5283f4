// recompose: whole operators that frameworks export in pieces are found again.
// RUN: circ-opt %s -p recompose | filecheck %s

// CHECK-LABEL: func.func @silu_gelu
func.func @silu_gelu(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  // x * sigmoid(1.0 * x) (Keras' swish) -> silu
  // CHECK-NEXT: %[[S:.*]] = cir.silu %x : tensor<2x8xf32>
  %one = cir.constant dense<1.0> : tensor<f32>
  %x1 = cir.mul %one, %x : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %sig = cir.sigmoid %x1 : tensor<2x8xf32>
  %s = cir.mul %x, %sig : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  // 0.5 * x * erfc(-x / sqrt(2)) (Keras' exact gelu) -> gelu
  // CHECK-NEXT: %[[G:.*]] = cir.gelu %x : tensor<2x8xf32>
  // CHECK-NEXT: func.return %[[S]], %[[G]]
  %half = cir.constant dense<0.5> : tensor<f32>
  %c = cir.constant dense<0.707106769> : tensor<f32>
  %onef = cir.constant dense<1.0> : tensor<f32>
  %h = cir.mul %half, %x : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %n = cir.neg %x : tensor<2x8xf32>
  %u = cir.mul %n, %c : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %e = cir.erf %u : tensor<2x8xf32>
  %erfc = cir.sub %onef, %e : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %g = cir.mul %h, %erfc : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %s, %g : tensor<2x8xf32>, tensor<2x8xf32>
}

// LayerNormalization written with moments: mean, (x - mean)^2, rsqrt(var + eps) * gamma.
// CHECK-LABEL: func.func @layer_norm
func.func @layer_norm(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %gamma = cir.weight "ln/gamma" : tensor<8xf32>
  %beta = cir.weight "ln/beta" : tensor<8xf32>
  // the default epsilon 1e-5 is not printed
  // CHECK:      %[[LN:.*]] = cir.layer_norm %x, %gamma, %beta {axis = 2}
  // CHECK-NEXT: func.return %[[LN]]
  %eps = cir.constant dense<1.0e-05> : tensor<f32>
  %mean = cir.reduce_mean %x {axes = [2], keepdims = true} : (tensor<1x4x8xf32>) -> tensor<1x4x1xf32>
  %d = cir.sub %x, %mean : (tensor<1x4x8xf32>, tensor<1x4x1xf32>) -> tensor<1x4x8xf32>
  %sq = cir.mul %d, %d : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %var = cir.reduce_mean %sq {axes = [2], keepdims = true} : (tensor<1x4x8xf32>) -> tensor<1x4x1xf32>
  %ve = cir.add %var, %eps : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
  %r = cir.rsqrt %ve : tensor<1x4x1xf32>
  %m = cir.mul %r, %gamma : (tensor<1x4x1xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  %xm = cir.mul %x, %m : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %nm = cir.neg %mean : tensor<1x4x1xf32>
  %nmm = cir.mul %nm, %m : (tensor<1x4x1xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %sh = cir.add %nmm, %beta : (tensor<1x4x8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  %y = cir.add %xm, %sh : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  func.return %y : tensor<1x4x8xf32>
}

// Keras GroupNormalization on NHWC: groups split off the channel dim, moments over H, W and
// the channels of a group -> group_norm on NCHW between transposes.
// CHECK-LABEL: func.func @group_norm_nhwc
func.func @group_norm_nhwc(%x: tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %gamma = cir.weight "gn/gamma" : tensor<8xf32>
  %beta = cir.weight "gn/beta" : tensor<8xf32>
  // CHECK:      %[[T:.*]] = cir.transpose %x {perm = [0, 3, 1, 2]}
  // CHECK-NEXT: %[[GN:.*]] = cir.group_norm %[[T]], %{{.*}}, %{{.*}} {num_groups = 2, epsilon = 1.0e-06}
  // CHECK-NEXT: %[[B:.*]] = cir.transpose %[[GN]] {perm = [0, 2, 3, 1]}
  %eps = cir.constant dense<1.0e-06> : tensor<f32>
  %xr = cir.reshape %x {shape = [1, 4, 4, 2, 4]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x2x4xf32>
  %mean = cir.reduce_mean %xr {axes = [1, 2, 4], keepdims = true} : (tensor<1x4x4x2x4xf32>) -> tensor<1x1x1x2x1xf32>
  %d = cir.sub %xr, %mean : (tensor<1x4x4x2x4xf32>, tensor<1x1x1x2x1xf32>) -> tensor<1x4x4x2x4xf32>
  %sq = cir.mul %d, %d : (tensor<1x4x4x2x4xf32>, tensor<1x4x4x2x4xf32>) -> tensor<1x4x4x2x4xf32>
  %var = cir.reduce_mean %sq {axes = [1, 2, 4], keepdims = true} : (tensor<1x4x4x2x4xf32>) -> tensor<1x1x1x2x1xf32>
  %ve = cir.add %var, %eps : (tensor<1x1x1x2x1xf32>, tensor<f32>) -> tensor<1x1x1x2x1xf32>
  %r = cir.rsqrt %ve : tensor<1x1x1x2x1xf32>
  %g = cir.reshape %gamma {shape = [1, 1, 1, 2, 4]} : (tensor<8xf32>) -> tensor<1x1x1x2x4xf32>
  %m = cir.mul %r, %g : (tensor<1x1x1x2x1xf32>, tensor<1x1x1x2x4xf32>) -> tensor<1x1x1x2x4xf32>
  %xm = cir.mul %xr, %m : (tensor<1x4x4x2x4xf32>, tensor<1x1x1x2x4xf32>) -> tensor<1x4x4x2x4xf32>
  %nm = cir.neg %mean : tensor<1x1x1x2x1xf32>
  %nmm = cir.mul %nm, %m : (tensor<1x1x1x2x1xf32>, tensor<1x1x1x2x4xf32>) -> tensor<1x1x1x2x4xf32>
  %b = cir.reshape %beta {shape = [1, 1, 1, 2, 4]} : (tensor<8xf32>) -> tensor<1x1x1x2x4xf32>
  %sh = cir.add %nmm, %b : (tensor<1x1x1x2x4xf32>, tensor<1x1x1x2x4xf32>) -> tensor<1x1x1x2x4xf32>
  %y = cir.add %xm, %sh : (tensor<1x4x4x2x4xf32>, tensor<1x1x1x2x4xf32>) -> tensor<1x4x4x2x4xf32>
  %out = cir.reshape %y {shape = [1, 4, 4, 8]} : (tensor<1x4x4x2x4xf32>) -> tensor<1x4x4x8xf32>
  func.return %out : tensor<1x4x4x8xf32>
}

// Attention with a scale that is not the default, keys given transposed.
// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<2x16x4xf32>, %kt: tensor<2x4x8xf32>, %v: tensor<2x8x4xf32>) -> tensor<2x16x4xf32> {
  // CHECK-NEXT: %[[K:.*]] = cir.transpose %kt {perm = [0, 2, 1]}
  // CHECK-NEXT: %[[A:.*]] = cir.attention %q, %[[K]], %v {scale = 0.125}
  // CHECK-NEXT: func.return %[[A]]
  %c = cir.constant dense<8.0> : tensor<f32>
  %s = cir.matmul %q, %kt : (tensor<2x16x4xf32>, tensor<2x4x8xf32>) -> tensor<2x16x8xf32>
  %sc = cir.div %s, %c : (tensor<2x16x8xf32>, tensor<f32>) -> tensor<2x16x8xf32>
  %p = cir.softmax %sc {axis = 2} : tensor<2x16x8xf32>
  %o = cir.matmul %p, %v : (tensor<2x16x8xf32>, tensor<2x8x4xf32>) -> tensor<2x16x4xf32>
  func.return %o : tensor<2x16x4xf32>
}

// x @ kernel + bias -> linear; zero padding and a per-channel bias move into the convolution.
// CHECK-LABEL: func.func @linear_conv
func.func @linear_conv(%t: tensor<1x8xf32>, %x: tensor<1x4x8x8xf32>) -> (tensor<1x6xf32>, tensor<1x4x4x4xf32>) {
  %k = cir.weight "dense/kernel" : tensor<8x6xf32>
  %kb = cir.weight "dense/bias" : tensor<6xf32>
  %w = cir.weight "conv/weight" : tensor<4x4x3x3xf32>
  %cb = cir.weight "conv/bias" : tensor<4x1x1xf32>
  // CHECK:      %[[KT:.*]] = cir.transpose %k {perm = [1, 0]}
  // CHECK-NEXT: %[[L:.*]] = cir.linear %t, %[[KT]], %kb
  %m = cir.matmul %t, %k : (tensor<1x8xf32>, tensor<8x6xf32>) -> tensor<1x6xf32>
  %l = cir.add %m, %kb : (tensor<1x6xf32>, tensor<6xf32>) -> tensor<1x6xf32>
  // CHECK:      %[[B:.*]] = cir.reshape %cb {shape = [4]}
  // CHECK-NEXT: %[[C:.*]] = cir.conv2d %x, %w, %[[B]] {strides = [2, 2], pads = [1, 1, 1, 1]}
  %p = cir.pad %x {low = [0, 0, 1, 1], high = [0, 0, 1, 1]} : (tensor<1x4x8x8xf32>) -> tensor<1x4x10x10xf32>
  %c = cir.conv2d %p, %w {strides = [2, 2]} : (tensor<1x4x10x10xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32>
  %y = cir.add %c, %cb : (tensor<1x4x4x4xf32>, tensor<4x1x1xf32>) -> tensor<1x4x4x4xf32>
  func.return %l, %y : tensor<1x6xf32>, tensor<1x4x4x4xf32>
}

// Keras UpSampling2D on NHWC: a repeat along H, then along W -> nearest upsampling.
// CHECK-LABEL: func.func @upsample_nhwc
func.func @upsample_nhwc(%x: tensor<1x4x4x8xf32>) -> tensor<1x8x8x8xf32> {
  // CHECK-NEXT: %[[T:.*]] = cir.transpose %x {perm = [0, 3, 1, 2]}
  // CHECK-NEXT: %[[U:.*]] = cir.upsample %[[T]] {size = [8, 8]}
  // CHECK-NEXT: %[[B:.*]] = cir.transpose %[[U]] {perm = [0, 2, 3, 1]}
  // CHECK-NEXT: func.return %[[B]]
  %0 = cir.reshape %x {shape = [1, 4, 1, 4, 8]} : (tensor<1x4x4x8xf32>) -> tensor<1x4x1x4x8xf32>
  %1 = cir.tile %0 {repeats = [1, 1, 2, 1, 1]} : (tensor<1x4x1x4x8xf32>) -> tensor<1x4x2x4x8xf32>
  %2 = cir.reshape %1 {shape = [1, 8, 4, 8]} : (tensor<1x4x2x4x8xf32>) -> tensor<1x8x4x8xf32>
  %3 = cir.reshape %2 {shape = [1, 8, 4, 1, 8]} : (tensor<1x8x4x8xf32>) -> tensor<1x8x4x1x8xf32>
  %4 = cir.tile %3 {repeats = [1, 1, 1, 2, 1]} : (tensor<1x8x4x1x8xf32>) -> tensor<1x8x4x2x8xf32>
  %5 = cir.reshape %4 {shape = [1, 8, 8, 8]} : (tensor<1x8x4x2x8xf32>) -> tensor<1x8x8x8xf32>
  func.return %5 : tensor<1x8x8x8xf32>
}

// Not a normalisation: the "mean" is not the mean of x.
// CHECK-LABEL: func.func @not_layer_norm
func.func @not_layer_norm(%x: tensor<1x4x8xf32>, %z: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  // CHECK-NOT: cir.layer_norm
  // CHECK: func.return
  %eps = cir.constant dense<1.0e-05> : tensor<f32>
  %mean = cir.reduce_mean %z {axes = [2], keepdims = true} : (tensor<1x4x8xf32>) -> tensor<1x4x1xf32>
  %d = cir.sub %x, %mean : (tensor<1x4x8xf32>, tensor<1x4x1xf32>) -> tensor<1x4x8xf32>
  %sq = cir.mul %d, %d : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  %var = cir.reduce_mean %sq {axes = [2], keepdims = true} : (tensor<1x4x8xf32>) -> tensor<1x4x1xf32>
  %ve = cir.add %var, %eps : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
  %r = cir.rsqrt %ve : tensor<1x4x1xf32>
  %xm = cir.mul %x, %r : (tensor<1x4x8xf32>, tensor<1x4x1xf32>) -> tensor<1x4x8xf32>
  %nm = cir.neg %mean : tensor<1x4x1xf32>
  %nmm = cir.mul %nm, %r : (tensor<1x4x1xf32>, tensor<1x4x1xf32>) -> tensor<1x4x1xf32>
  %y = cir.add %xm, %nmm : (tensor<1x4x8xf32>, tensor<1x4x1xf32>) -> tensor<1x4x8xf32>
  func.return %y : tensor<1x4x8xf32>
}
