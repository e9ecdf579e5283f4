// normalize-tf: TensorFlow ops of the tf import dialect become CIR, per passes/tables/tf.toml;
// NHWC ops get transposes to and from NCHW that cancel where they meet, HWIO kernels are
// transposed to OIHW, SAME padding is resolved, and what Keras exports in pieces (BatchNorm,
// swish, Dense) is recomposed. From circ-opt the weights are not in memory, so a kernel's
// transpose stays visible (cir.import_model folds it into the weight).
// RUN: circ-opt %s -p normalize-tf --split-input-file --verify-diagnostics | filecheck %s

// CHECK-LABEL: func.func @nhwc_convs
func.func @nhwc_convs(%x: tensor<1x8x8x4xf32>) -> tensor<1x4x4x8xf32> {
  %w1 = cir.weight "c1/kernel" : tensor<3x3x4x8xf32>
  %b1 = cir.weight "c1/bias" : tensor<8xf32>
  %w2 = cir.weight "c2/kernel" : tensor<3x3x8x8xf32>
  // CHECK:      %[[X:.*]] = cir.transpose %x {perm = [0, 3, 1, 2]}
  // CHECK-NEXT: %[[W1:.*]] = cir.transpose %w1 {perm = [3, 2, 0, 1]} : (tensor<3x3x4x8xf32>) -> tensor<8x4x3x3xf32>
  // the bias moves into the convolution; stride 1 SAME padding is symmetric
  // CHECK-NEXT: %[[C1:.*]] = cir.conv2d %[[X]], %[[W1]], %b1 {pads = [1, 1, 1, 1]}
  // the transposes between the convolutions cancel: relu runs in NCHW
  // CHECK-NEXT: %[[R:.*]] = cir.relu %[[C1]] : tensor<1x8x8x8xf32>
  // CHECK-NEXT: %[[W2:.*]] = cir.transpose %w2 {perm = [3, 2, 0, 1]}
  // stride 2 SAME padding puts the extra cell at the bottom and right, as TensorFlow does
  // CHECK-NEXT: %[[C2:.*]] = cir.conv2d %[[R]], %[[W2]] {strides = [2, 2], pads = [0, 0, 1, 1]}
  // CHECK-NEXT: %[[OUT:.*]] = cir.transpose %[[C2]] {perm = [0, 2, 3, 1]}
  // CHECK-NEXT: func.return %[[OUT]]
  %c1 = tf.Conv2D(input=%x, filter=%w1) {data_format = "NHWC", dilations = [1, 1, 1, 1], explicit_paddings = [], padding = "SAME", strides = [1, 1, 1, 1]} : (tensor<1x8x8x4xf32>, tensor<3x3x4x8xf32>) -> tensor<1x8x8x8xf32>
  %y1 = tf.BiasAdd(value=%c1, bias=%b1) {data_format = "NHWC"} : (tensor<1x8x8x8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %r1 = tf.Relu(features=%y1) : (tensor<1x8x8x8xf32>) -> tensor<1x8x8x8xf32>
  %c2 = tf.Conv2D(input=%r1, filter=%w2) {data_format = "NHWC", dilations = [1, 1, 1, 1], explicit_paddings = [], padding = "SAME", strides = [1, 2, 2, 1]} : (tensor<1x8x8x8xf32>, tensor<3x3x8x8xf32>) -> tensor<1x4x4x8xf32>
  func.return %c2 : tensor<1x4x4x8xf32>
}

// Keras 3 BatchNormalization (Sub/Rsqrt/Mul/AddV2) and swish (x * sigmoid(1.0 * x)) give the
// same CIR as a real batch norm and SiLU.
// CHECK-LABEL: func.func @swish_and_batchnorm
func.func @swish_and_batchnorm(%x: tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32> {
  %gamma = cir.weight "bn/gamma" : tensor<8xf32>
  %beta = cir.weight "bn/beta" : tensor<8xf32>
  %mean = cir.weight "bn/moving_mean" : tensor<8xf32>
  %var = cir.weight "bn/moving_variance" : tensor<8xf32>
  // CHECK:      %[[T:.*]] = cir.transpose %x {perm = [0, 3, 1, 2]}
  // CHECK-NEXT: %[[BN:.*]] = cir.batch_norm %[[T]], %gamma, %beta, %mean, %var {epsilon = 0.001}
  // CHECK-NEXT: %[[S:.*]] = cir.silu %[[BN]] : tensor<1x8x4x4xf32>
  // CHECK-NEXT: %[[OUT:.*]] = cir.transpose %[[S]] {perm = [0, 2, 3, 1]}
  // CHECK-NEXT: func.return %[[OUT]]
  %0 = tf.AddV2(x=%var) {y = 1.0e-03} : (tensor<8xf32>) -> tensor<8xf32>
  %1 = tf.Rsqrt(x=%0) : (tensor<8xf32>) -> tensor<8xf32>
  %2 = tf.Mul(x=%1, y=%gamma) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %3 = tf.Mul(x=%x, y=%2) : (tensor<1x4x4x8xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  %4 = tf.Mul(x=%mean, y=%2) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %5 = tf.Sub(x=%beta, y=%4) : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %bn = tf.AddV2(x=%3, y=%5) : (tensor<1x4x4x8xf32>, tensor<8xf32>) -> tensor<1x4x4x8xf32>
  %6 = tf.Mul(y=%bn) {x = 1.0} : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  %7 = tf.Sigmoid(x=%6) : (tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  %8 = tf.Mul(x=%bn, y=%7) : (tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
  func.return %8 : tensor<1x4x4x8xf32>
}

// Dense = MatMul with an (in, out) kernel + BiasAdd -> one cir.linear; a strided slice that
// only adds axes is a reshape.
// CHECK-LABEL: func.func @dense_and_slice
func.func @dense_and_slice(%t: tensor<1x16xf32>) -> tensor<1x1x1x8xf32> {
  %k = cir.weight "dense/kernel" : tensor<16x8xf32>
  %b = cir.weight "dense/bias" : tensor<8xf32>
  // CHECK:      %[[K:.*]] = cir.transpose %k {perm = [1, 0]} : (tensor<16x8xf32>) -> tensor<8x16xf32>
  // CHECK-NEXT: %[[Y:.*]] = cir.linear %t, %[[K]], %b
  // CHECK-NEXT: %[[S:.*]] = cir.reshape %[[Y]] {shape = [1, 1, 1, 8]}
  // CHECK-NEXT: func.return %[[S]]
  %m = tf.MatMul(a=%t, b=%k) {transpose_a = false, transpose_b = false} : (tensor<1x16xf32>, tensor<16x8xf32>) -> tensor<1x8xf32>
  %y = tf.BiasAdd(value=%m, bias=%b) {data_format = "NHWC"} : (tensor<1x8xf32>, tensor<8xf32>) -> tensor<1x8xf32>
  %s = tf.StridedSlice(input=%y) {begin = [0, 0, 0, 0], end = [0, 0, 0, 0], strides = [1, 1, 1, 1], begin_mask = 9, end_mask = 9, ellipsis_mask = 0, new_axis_mask = 6, shrink_axis_mask = 0} : (tensor<1x8xf32>) -> tensor<1x1x1x8xf32>
  func.return %s : tensor<1x1x1x8xf32>
}

// -----

// An operator with no mapping stops the pass, with its count and first location (the TF node
// name).
func.func @unmapped(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = tf.Cumsum(x=%x) {axis = 0, exclusive = false, reverse = false} : (tensor<4xf32>) -> tensor<4xf32> loc("model/cumsum/Cumsum")
  %b = tf.Cumsum(x=%a) {axis = 0, exclusive = false, reverse = false} : (tensor<4xf32>) -> tensor<4xf32> loc("model/cumsum_1/Cumsum")
  func.return %b : tensor<4xf32>
}
// CHECK: normalize-tf: 1 tensorflow operator(s) have no CIR mapping:
// CHECK-NEXT: Cumsum x2, first at model/cumsum/Cumsum
