// plan-memory: arena offsets from liveness; views and dying elementwise operands are reused.
// RUN: circ-opt %s -p 'plan-memory{report=true}' 2>%t.report | filecheck %s
// RUN: filecheck %s --check-prefix=REPORT < %t.report

// CHECK: builtin.module attributes {cir.arena_bytes = 256 : i64}
// CHECK-LABEL: func.func @chain
func.func @chain(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>) -> tensor<8x4xf32> {
  // 128-byte tensors; weights and arguments live outside the arena, and so do views of them
  // CHECK-NEXT: %v = cir.reshape %x {shape = [32], cir.mem = array<i64: -1>}
  %v = cir.reshape %x {shape = [32]} : tensor<4x8xf32> -> tensor<32xf32>
  // CHECK-NEXT: %a = cir.linear %x, %w {cir.mem = array<i64: 0>}
  %a = cir.linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  // %a dies here: relu writes over it
  // CHECK-NEXT: %b = cir.relu %a {cir.mem = array<i64: 0>}
  %b = cir.relu %a : tensor<4x8xf32>
  // %b is still needed by %d: exp gets a new buffer
  // CHECK-NEXT: %c = cir.exp %b {cir.mem = array<i64: 128>}
  %c = cir.exp %b : tensor<4x8xf32>
  // CHECK-NEXT: %d = cir.add %b, %c {cir.mem = array<i64: 0>}
  %d = cir.add %b, %c : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  // a reshape is a view of its operand
  // CHECK-NEXT: %e = cir.reshape %d {shape = [8, 4], cir.mem = array<i64: 0>}
  %e = cir.reshape %d {shape = [8, 4]} : tensor<4x8xf32> -> tensor<8x4xf32>
  %s = cir.reduce_sum %v {axes = [0]} : tensor<32xf32> -> tensor<f32>
  func.return %e : tensor<8x4xf32>
}
// REPORT: plan-memory @chain: naive 800 B, lower bound 256 B, arena 256 B
