// lower-to-graph, launch-graph form (-t launch-json): one node per kernel launch with the
// tiling values and bytes and the arguments resolved to inputs / arena offsets; a reshape is
// an alias. Without lowering, the launch graph is refused with a clear message.
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1},plan-memory' -t launch-json | filecheck %s
// RUN: not circ-opt %s -t launch-json 2>&1 | filecheck %s --check-prefix=ERR

// CHECK: "soc": "Ascend910B1",
// CHECK-NEXT: "arena_bytes": 12000,
// CHECK: "nodes": [
// CHECK: "kernel": "silu_{{[0-9a-f]+}}",
// CHECK-NEXT: "block_dim": 1,
// CHECK-NEXT: "tiling": [3000, 3000, {{[0-9]+}}],
// CHECK-NEXT: "tiling_fields": ["total", "per_block", "tile"],
// CHECK-NEXT: "tiling_hex": "b80b000000000000b80b000000000000{{[0-9a-f]+}}",
// CHECK: "kind": "input",
// CHECK-NEXT: "name": "x",
// CHECK-NEXT: "nbytes": 12000,
// CHECK: "kind": "arena",
// CHECK-NEXT: "offset": 0,
// CHECK: "op": "cir.silu",
// CHECK-NEXT: "loc": "{{.*}}graph-launch.mlir:28:3"
// CHECK: "kernel": "add_{{[0-9a-f]+}}",
// CHECK: "aliases": [
// CHECK: "value": "reshape_2",
// CHECK-NEXT: "of": "add_1",
// ERR: circ-opt: error: the module is not lowered: run 'lower-to-ascendc{soc=...},plan-memory'
func.func @main(%x: tensor<3x1000xf32>, %y: tensor<3x1000xf32>) -> tensor<3000xf32> {
  %s = cir.silu %x : tensor<3x1000xf32>
  %a = cir.add %s, %y : (tensor<3x1000xf32>, tensor<3x1000xf32>) -> tensor<3x1000xf32>
  %r = cir.reshape %a {shape = [3000]} : tensor<3x1000xf32> -> tensor<3000xf32>
  func.return %r : tensor<3000xf32>
}
