// Negative tests: every verifier rule of the CIR dialect, one per chunk.
// RUN: circ-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.relu %x : tensor<2x3xf32> -> tensor<3x2xf32>
  func.return
}
// CHECK: 'cir.relu' at {{.*}}invalid.mlir:{{[0-9]+}}:3: result type tensor<3x2xf32> does not match the inferred type tensor<2x3xf32>

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = "cir.relu"(%f) : (f32) -> f32
  func.return
}
// CHECK: 'cir.relu' at {{.*}}: operand 'x' at position 0 does not verify: f32 should be of base attribute tensor

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.exp %d : tensor<2xf64>
  func.return
}
// CHECK: 'cir.exp' at {{.*}}: element type f64 is not supported by CIR

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.exp %i : tensor<2x3xi32>
  func.return
}
// CHECK: 'cir.exp' at {{.*}}: operand #0 must be a float tensor (f32/f16/bf16), got tensor<2x3xi32>

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.add %b, %b : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  func.return
}
// CHECK: 'cir.add' at {{.*}}: operand #0 must be numeric, got tensor<2x3xi1>

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.add %x, %i : (tensor<2x3xf32>, tensor<2x3xi32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.add' at {{.*}}: operands must have the same element type, got f32 and i32

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.add %x, %v4 : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.add' at {{.*}}: shapes (2, 3) and (4,) are not broadcastable

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.eq %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.eq' at {{.*}}: result type tensor<2x3xf32> does not match the inferred type tensor<2x3xi1>

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = "cir.split"(%x) <{axis = 1 : i64, sizes = array<i64: 1, 2>}> : (tensor<2x3xf32>) -> tensor<2x1xf32>
  func.return
}
// CHECK: 'cir.split' at {{.*}}: expected 2 results, got 1

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %w = cir.weight "" : tensor<2xf32>
  func.return
}
// CHECK: 'cir.weight' at {{.*}}: weight name must not be empty

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.gelu %x {approximate = "fast"} : tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.gelu' at {{.*}}: approximate must be one of none, tanh, got 'fast'

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.clamp %x : tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.clamp' at {{.*}}: clamp needs at least one of min and max

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.clamp %x {min = 2.0, max = 1.0} : tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.clamp' at {{.*}}: clamp min 2.0 is greater than max 1.0

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.where %x, %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.where' at {{.*}}: condition must be an i1 tensor, got tensor<2x3xf32>

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.cast %x : tensor<2x3xf32> -> tensor<6xf16>
  func.return
}
// CHECK: 'cir.cast' at {{.*}}: cast must keep the shape: (2, 3) -> (6,)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.reduce_sum %x {axes = [2]} : tensor<2x3xf32> -> tensor<2xf32>
  func.return
}
// CHECK: 'cir.reduce_sum' at {{.*}}: axis 2 is out of range for rank 2

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.reduce_sum %x {axes = []} : tensor<2x3xf32> -> tensor<2xf32>
  func.return
}
// CHECK: 'cir.reduce_sum' at {{.*}}: axes must not be empty

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.reduce_max %x {axes = [1, -1]} : tensor<2x3xf32> -> tensor<2xf32>
  func.return
}
// CHECK: 'cir.reduce_max' at {{.*}}: axes (1, -1) repeat a dimension

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.reduce_mean %i {axes = [1]} : tensor<2x3xi32> -> tensor<2xi32>
  func.return
}
// CHECK: 'cir.reduce_mean' at {{.*}}: operand #0 must be a float tensor

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.argmax %x {axis = -3} : tensor<2x3xf32> -> tensor<3xi64>
  func.return
}
// CHECK: 'cir.argmax' at {{.*}}: axis -3 is out of range for rank 2

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.reshape %x {shape = [4, 2]} : tensor<2x3xf32> -> tensor<4x2xf32>
  func.return
}
// CHECK: 'cir.reshape' at {{.*}}: cannot reshape (2, 3) (6 elements) to (4, 2) (8 elements)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.reshape %x {shape = [-1, 3]} : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.reshape' at {{.*}}: shape must not be negative, got [-1, 3]

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.transpose %x {perm = [0, 0]} : tensor<2x3xf32> -> tensor<2x2xf32>
  func.return
}
// CHECK: 'cir.transpose' at {{.*}}: perm [0, 0] is not a permutation of rank 2

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = "cir.concat"() <{axis = 0 : i64}> : () -> tensor<2xf32>
  func.return
}
// CHECK: 'cir.concat' at {{.*}}: concat needs at least one operand

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.concat %x, %v4 {axis = 0} : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<6xf32>
  func.return
}
// CHECK: 'cir.concat' at {{.*}}: concat operands must agree on every dimension but 0: (2, 3) vs (4,)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r:2 = cir.split %x {axis = 1, sizes = [1, 1]} : tensor<2x3xf32> -> (tensor<2x1xf32>, tensor<2x1xf32>)
  func.return
}
// CHECK: 'cir.split' at {{.*}}: split sizes [1, 1] do not add up to dimension 1 of size 3

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.slice %x {starts = [0, 2], ends = [2, 4], steps = [1, 1]} : tensor<2x3xf32> -> tensor<2x2xf32>
  func.return
}
// CHECK: 'cir.slice' at {{.*}}: slice [2:4] of dimension 1 (size 3) is out of range

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.slice %x {starts = [0], ends = [2], steps = [1]} : tensor<2x3xf32> -> tensor<2xf32>
  func.return
}
// CHECK: 'cir.slice' at {{.*}}: starts must have 2 elements, got 1

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.slice %x {starts = [0, 0], ends = [2, 3], steps = [1, 0]} : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.slice' at {{.*}}: steps must be positive, got [1, 0]

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.gather %x, %x {axis = 0} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3x3xf32>
  func.return
}
// CHECK: 'cir.gather' at {{.*}}: indices must be i64 or i32, got f32

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.broadcast_to %x {shape = [3]} : tensor<2x3xf32> -> tensor<3xf32>
  func.return
}
// CHECK: 'cir.broadcast_to' at {{.*}}: cannot broadcast (2, 3) to (3,)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.pad %x {low = [0, 3], high = [0, 0], mode = "reflect"} : tensor<2x3xf32> -> tensor<2x6xf32>
  func.return
}
// CHECK: 'cir.pad' at {{.*}}: reflect padding of dimension 1 must be smaller than its size 3

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.pad %x {low = [0, 1], high = [0, 0], mode = "mirror"} : tensor<2x3xf32> -> tensor<2x4xf32>
  func.return
}
// CHECK: 'cir.pad' at {{.*}}: mode must be one of constant, reflect, replicate, circular, got 'mirror'

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.pad %x {low = [0, -1], high = [0, 0]} : tensor<2x3xf32> -> tensor<2x2xf32>
  func.return
}
// CHECK: 'cir.pad' at {{.*}}: low must not be negative, got [0, -1]

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.tile %x {repeats = [2]} : tensor<2x3xf32> -> tensor<4x3xf32>
  func.return
}
// CHECK: 'cir.tile' at {{.*}}: repeats must have 2 elements, got 1

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.conv2d %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.conv2d' at {{.*}}: input must have rank 4, got shape (2, 3)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.conv2d %img, %w3 {groups = 3} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// CHECK: 'cir.conv2d' at {{.*}}: channels in 4 and out 8 must be divisible by groups 3

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.conv2d %img, %w3 {groups = 2} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// CHECK: 'cir.conv2d' at {{.*}}: weight expects 8 input channels (4 per group x 2), input has 4

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.conv2d %img, %w3, %v4 : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<4xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// CHECK: 'cir.conv2d' at {{.*}}: bias must have shape (8,), got (4,)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.conv2d %img, %w3 {strides = [0, 1]} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// CHECK: 'cir.conv2d' at {{.*}}: strides must be positive, got [0, 1]

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.conv2d %tiny, %w3 : (tensor<1x4x2x2xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x1x1xf32>
  func.return
}
// CHECK: 'cir.conv2d' at {{.*}}: kernel of size 3 (dilation 1) does not fit input size 2 with padding 0

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.conv_transpose2d %img, %w3 : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x4x10x10xf32>
  func.return
}
// CHECK: 'cir.conv_transpose2d' at {{.*}}: weight expects 8 input channels, input has 4

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.conv_transpose2d %img, %t4 {groups = 3} : (tensor<1x4x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x6x10x10xf32>
  func.return
}
// CHECK: 'cir.conv_transpose2d' at {{.*}}: input channels 4 must be divisible by groups 3

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.conv_transpose2d %img, %t4 {output_padding = [1, 1]} : (tensor<1x4x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x11x11xf32>
  func.return
}
// CHECK: 'cir.conv_transpose2d' at {{.*}}: output_padding must be smaller than stride or dilation

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.conv_transpose2d %tiny, %t4 {pads = [2, 2, 2, 2]} : (tensor<1x4x2x2xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x1x1xf32>
  func.return
}
// CHECK: 'cir.conv_transpose2d' at {{.*}}: output size (0, 0) is empty

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.matmul %v4, %v4 : (tensor<4xf32>, tensor<4xf32>) -> tensor<f32>
  func.return
}
// CHECK: 'cir.matmul' at {{.*}}: matmul operands must have rank >= 2, got (4,) and (4,)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.matmul %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.matmul' at {{.*}}: matmul contraction mismatch: (2, 3) @ (2, 3)

// -----

func.func @f(%x: tensor<2x3xf32>, %y: tensor<3x2xf32>) {
  %r = cir.matmul %x, %y {transpose_a = true} : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<3x2xf32>
  func.return
}
// CHECK: 'cir.matmul' at {{.*}}: matmul contraction mismatch: (2, 3) @ (3, 2) (a transposed)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.linear %v4, %x : (tensor<4xf32>, tensor<2x3xf32>) -> tensor<2xf32>
  func.return
}
// CHECK: 'cir.linear' at {{.*}}: linear input (4,) does not match weight (2, 3) (out, in)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.softmax %x {axis = 2} : tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.softmax' at {{.*}}: axis 2 is out of range for rank 2

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.layer_norm %x, %v4 : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.layer_norm' at {{.*}}: weight and bias must have shape (3,), got (4,)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.rms_norm %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.rms_norm' at {{.*}}: weight must have shape (3,), got (2, 3)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.group_norm %v4 {num_groups = 2} : tensor<4xf32>
  func.return
}
// CHECK: 'cir.group_norm' at {{.*}}: group_norm input must have rank >= 2, got (4,)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.group_norm %img {num_groups = 3} : tensor<1x4x8x8xf32>
  func.return
}
// CHECK: 'cir.group_norm' at {{.*}}: channels 4 are not divisible by num_groups 3

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.group_norm %img {num_groups = 0} : tensor<1x4x8x8xf32>
  func.return
}
// CHECK: 'cir.group_norm' at {{.*}}: num_groups must be positive, got [0]

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.batch_norm %v4, %v4, %v4, %v4, %v4 : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return
}
// CHECK: 'cir.batch_norm' at {{.*}}: batch_norm input must have rank >= 2, got (4,)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.batch_norm %img, %v4, %v4, %v4, %x : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x3xf32>) -> tensor<1x4x8x8xf32>
  func.return
}
// CHECK: 'cir.batch_norm' at {{.*}}: scale, bias, mean and var must have shape (4,), got (2, 3)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.max_pool2d %img {kernel = [2, 2], strides = [2, 2], pads = [2, 0, 0, 0]} : tensor<1x4x8x8xf32> -> tensor<1x4x5x4xf32>
  func.return
}
// CHECK: 'cir.max_pool2d' at {{.*}}: pads [2, 0, 0, 0] exceed half the kernel [2, 2]

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.max_pool2d %tiny {kernel = [3, 3], strides = [1, 1]} : tensor<1x4x2x2xf32> -> tensor<1x4x1x1xf32>
  func.return
}
// CHECK: 'cir.max_pool2d' at {{.*}}: pooling window 3 does not fit input size 2

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.avg_pool2d %img {kernel = [2], strides = [2, 2]} : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  func.return
}
// CHECK: 'cir.avg_pool2d' at {{.*}}: kernel must have 2 elements, got 1

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.upsample %img {size = [16, 16], align_corners = true} : tensor<1x4x8x8xf32> -> tensor<1x4x16x16xf32>
  func.return
}
// CHECK: 'cir.upsample' at {{.*}}: align_corners applies to bilinear mode only

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.upsample %img {size = [16, 16], mode = "bicubic"} : tensor<1x4x8x8xf32> -> tensor<1x4x16x16xf32>
  func.return
}
// CHECK: 'cir.upsample' at {{.*}}: mode must be one of nearest, bilinear, got 'bicubic'

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.attention %i, %i, %i : (tensor<2x3xi32>, tensor<2x3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
  func.return
}
// CHECK: 'cir.attention' at {{.*}}: q, k and v must be float tensors, got tensor<2x3xi32>

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.attention %v4, %v4, %v4 : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return
}
// CHECK: 'cir.attention' at {{.*}}: q, k and v must have rank >= 2

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.attention %x, %img, %img : (tensor<2x3xf32>, tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.attention' at {{.*}}: q (2, 3) and k (1, 4, 8, 8) disagree on the embedding size

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.attention %x, %x, %xt : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  func.return
}
// CHECK: 'cir.attention' at {{.*}}: k (2, 3) and v (3, 2) disagree on the sequence length

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.attention %x, %x, %x, %i : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xi32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.attention' at {{.*}}: mask must be i1 or f32, got i32

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.attention %x, %x, %x, %m3 : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x2x2xi1>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.attention' at {{.*}}: mask (3, 2, 2) does not broadcast to (2, 2)

// -----

func.func @f(%x: tensor<2x3xf32>, %xt: tensor<3x2xf32>, %i: tensor<2x3xi32>, %b: tensor<2x3xi1>, %v4: tensor<4xf32>, %d: tensor<2xf64>, %f: f32, %img: tensor<1x4x8x8xf32>, %tiny: tensor<1x4x2x2xf32>, %w3: tensor<8x4x3x3xf32>, %w5: tensor<8x4x5x5xf32>, %t4: tensor<4x2x3x3xf32>, %m3: tensor<3x2x2xi1>) {
  %r = cir.softmax %x {axis = "last"} : tensor<2x3xf32>
  func.return
}
// CHECK: {{.*}}invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: property 'axis' of cir.softmax cannot be "last"

// -----

// Parse-time rules: an unknown data format, a constant without a dense value.
func.func @f(%x: tensor<2x16xf16, #cir.format<NC1HWC1>>) {
  func.return
}
// CHECK: {{.*}}invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: unknown data format 'NC1HWC1' (expected one of NCHW, NHWC, ND, NC1HWC0, FRACTAL_Z, FRACTAL_NZ)

// -----

func.func @f() {
  %c = cir.constant [1, 2] : tensor<2xi64>
  func.return
}
// CHECK: {{.*}}invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: cir.constant expects a dense<...> value

// -----

func.func @f(%x: tensor<2x3xf32>) {
  %r = cir.add %x : tensor<2x3xf32>
  func.return
}
// CHECK: {{.*}}invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: cir.add expects at least 2 operands, got 1

// -----

func.func @f(%x: tensor<2x3xf32>) {
  %r = cir.relu %x, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: {{.*}}invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: cir.relu expects at most 1 operands, got 2

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<3x3xi64>) {
  %r = cir.gather_elements %x, %i {axis = 1} : (tensor<2x3xf32>, tensor<3x3xi64>) -> tensor<3x3xf32>
  func.return
}
// CHECK: 'cir.gather_elements' at {{.*}}: indices (3, 3) must have the rank of x (2, 3) and fit it outside axis 1

// -----

// Formats and the fused operators.
func.func @f(%x: tensor<2x3xf32, #cir.format<NC1HWC0>>) {
  func.return
}
func.func @g(%x: tensor<2x3xf32>) {
  %r = cir.relu %x : tensor<2x3xf32> -> tensor<2x3xf32, #cir.format<NC1HWC0>>
  func.return
}
// CHECK: 'cir.relu' at {{.*}}: format NC1HWC0 does not apply to a rank-2 tensor

// -----

func.func @f(%x: tensor<1x4x2x2xf32>) {
  %r = cir.trans_data %x {src_format = "NCHW", dst_format = "NC1HWC0"} : tensor<1x4x2x2xf32> -> tensor<1x4x2x2xf32, #cir.format<NC1HWC0>>
  func.return
}
// CHECK: 'cir.trans_data' at {{.*}}: operand format ND does not match src_format NCHW

// -----

func.func @f(%x: tensor<1x4x2x2xf32>) {
  %r = cir.trans_data %x {src_format = "ND", dst_format = "NC1HWC0"} : tensor<1x4x2x2xf32> -> tensor<1x4x2x2xf32>
  func.return
}
// CHECK: 'cir.trans_data' at {{.*}}: result format ND does not match dst_format NC1HWC0

// -----

func.func @f(%q: tensor<2x8x16x4xf32>) {
  %r = cir.flash_attention %q, %q, %q {head_num = 4} : (tensor<2x8x16x4xf32>, tensor<2x8x16x4xf32>, tensor<2x8x16x4xf32>) -> tensor<2x8x16x4xf32>
  func.return
}
// CHECK: 'cir.flash_attention' at {{.*}}: q has 8 heads, head_num is 4

// -----

func.func @f(%q: tensor<2x16x30xf32>) {
  %r = cir.flash_attention %q, %q, %q {head_num = 4, input_layout = "BSH"} : (tensor<2x16x30xf32>, tensor<2x16x30xf32>, tensor<2x16x30xf32>) -> tensor<2x16x30xf32>
  func.return
}
// CHECK: 'cir.flash_attention' at {{.*}}: q hidden size 30 is not divisible by head_num 4

// -----

func.func @f(%q: tensor<2x16x32xf32>, %k: tensor<2x10x32xf32>) {
  %r = cir.flash_attention %q, %k, %q {head_num = 4, input_layout = "BSH"} : (tensor<2x16x32xf32>, tensor<2x10x32xf32>, tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
  func.return
}
// CHECK: 'cir.flash_attention' at {{.*}}: k (2, 10, 32) and v (2, 16, 32) disagree on the sequence length

// -----

func.func @f(%x: tensor<2x5xf32>) {
  %r = cir.geglu %x : tensor<2x5xf32> -> tensor<2x2xf32>
  func.return
}
// CHECK: 'cir.geglu' at {{.*}}: dimension 1 of size 5 cannot be split in halves

// -----

func.func @f(%x: tensor<1x4x2x2xf32>, %y: tensor<2x4x2x2xf32>, %c: tensor<4xf32>) {
  %r:2 = cir.add_group_norm %x, %y, %c, %c {num_groups = 2} : (tensor<1x4x2x2xf32>, tensor<2x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<1x4x2x2xf32>, tensor<1x4x2x2xf32>)
  func.return
}
// CHECK: 'cir.add_group_norm' at {{.*}}: x2 (2, 4, 2, 2) must broadcast to x1 (1, 4, 2, 2)

// -----

func.func @f(%x: tensor<1x4x2x2xf32>, %c: tensor<3xf32>) {
  %r = cir.group_norm_silu %x, %c, %c {num_groups = 2} : (tensor<1x4x2x2xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x4x2x2xf32>
  func.return
}
// CHECK: 'cir.group_norm_silu' at {{.*}}: gamma and beta must have shape (4,), got (3,)

// -----

func.func @f(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) {
  %r = cir.linear_act %x, %w {activation = "swish"} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  func.return
}
// CHECK: 'cir.linear_act' at {{.*}}: activation must be one of none, relu, gelu, gelu_tanh, silu, sigmoid, hardswish, got 'swish'

// -----

func.func @f(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xf32>, %b: tensor<8xf32>) {
  %r = cir.conv2d_act %x, %w, %b {activation = "relu6"} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// CHECK: 'cir.conv2d_act' at {{.*}}: activation must be one of none, relu, gelu, gelu_tanh, silu, sigmoid, hardswish, got 'relu6'

// -----

func.func @f(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xf32>, %b: tensor<8xf32>, %r: tensor<1x8x8x8xf32>) {
  %y = cir.conv2d_act %x, %w, %b, %r {activation = "relu"} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// CHECK: 'cir.conv2d_act' at {{.*}}: residual must have the result's shape [1, 8, 6, 6], got [1, 8, 8, 8]

// -----

func.func @f(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xf32>) {
  %y = cir.conv2d_act %x, %w {activation = "relu"} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// CHECK: invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: cir.conv2d_act expects at least 3 operands, got 2

// -----

func.func @f(%b: tensor<2x3xi1>, %x: tensor<2x3xf32>) {
  %r = cir.logical_and %b, %x : (tensor<2x3xi1>, tensor<2x3xf32>) -> tensor<2x3xi1>
  func.return
}
// CHECK: 'cir.logical_and' at {{.*}}: operand #1 of a logical op must be an i1 tensor, got tensor<2x3xf32>

// -----

func.func @f(%i: tensor<2x3xi64>) {
  %r = cir.logical_not %i : tensor<2x3xi64>
  func.return
}
// CHECK: 'cir.logical_not' at {{.*}}: operand #0 of a logical op must be an i1 tensor, got tensor<2x3xi64>

// -----

func.func @f(%b: tensor<2x3xi1>) {
  %r = cir.cumsum %b {axis = 0} : tensor<2x3xi1>
  func.return
}
// CHECK: 'cir.cumsum' at {{.*}}: operand #0 must be numeric, got tensor<2x3xi1>

// -----

func.func @f(%x: tensor<2x3xf32>) {
  %r = cir.cumsum %x {axis = 2} : tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.cumsum' at {{.*}}: axis 2 is out of range for rank 2

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<i64>) {
  %r = cir.gather_nd %x, %i : (tensor<2x3xf32>, tensor<i64>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.gather_nd' at {{.*}}: indices must have rank >= 1 (the last dimension indexes data)

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<2x1xi64>) {
  %r = cir.gather_nd %x, %i {batch_dims = 2} : (tensor<2x3xf32>, tensor<2x1xi64>) -> tensor<2xf32>
  func.return
}
// CHECK: 'cir.gather_nd' at {{.*}}: batch_dims 2 must be in [0, 1] for data (2, 3) and indices (2, 1)

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<3x1xi64>) {
  %r = cir.gather_nd %x, %i {batch_dims = 1} : (tensor<2x3xf32>, tensor<3x1xi64>) -> tensor<3xf32>
  func.return
}
// CHECK: 'cir.gather_nd' at {{.*}}: the first 1 dimensions of data (2, 3) and indices (3, 1) differ

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<4x3xi64>) {
  %r = cir.gather_nd %x, %i : (tensor<2x3xf32>, tensor<4x3xi64>) -> tensor<4xf32>
  func.return
}
// CHECK: 'cir.gather_nd' at {{.*}}: indices address 3 dimensions after 0 batch dimensions; data (2, 3) has 2

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<4x1xf32>) {
  %r = cir.gather_nd %x, %i : (tensor<2x3xf32>, tensor<4x1xf32>) -> tensor<4x3xf32>
  func.return
}
// CHECK: 'cir.gather_nd' at {{.*}}: indices must be i64 or i32, got f32

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<4x1xi64>, %u: tensor<4x2xf32>) {
  %r = cir.scatter_nd %x, %i, %u : (tensor<2x3xf32>, tensor<4x1xi64>, tensor<4x2xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.scatter_nd' at {{.*}}: updates must have shape (4, 3) (indices (4, 1), x (2, 3)), got (4, 2)

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<4x1xi64>, %u: tensor<4x3xf32>) {
  %r = cir.scatter_nd %x, %i, %u {reduction = "mean"} : (tensor<2x3xf32>, tensor<4x1xi64>, tensor<4x3xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.scatter_nd' at {{.*}}: reduction must be one of none, add, mul, max, min, got 'mean'

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<4x1xi64>, %u: tensor<4x3xi64>) {
  %r = cir.scatter_nd %x, %i, %u : (tensor<2x3xf32>, tensor<4x1xi64>, tensor<4x3xi64>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.scatter_nd' at {{.*}}: operands must have the same element type, got f32 and i64

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<2x2xi64>, %u: tensor<2x1xf32>) {
  %r = cir.scatter_elements %x, %i, %u {axis = 1} : (tensor<2x3xf32>, tensor<2x2xi64>, tensor<2x1xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.scatter_elements' at {{.*}}: updates (2, 1) must have the shape of indices (2, 2)

// -----

func.func @f(%x: tensor<2x3xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf32>) {
  %r = cir.scatter_elements %x, %i, %u {axis = 1} : (tensor<2x3xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<2x3xf32>
  func.return
}
// CHECK: 'cir.scatter_elements' at {{.*}}: indices (3, 2) must have the rank of x (2, 3) and fit it outside axis 1
