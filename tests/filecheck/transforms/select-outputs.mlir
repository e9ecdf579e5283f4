// select-outputs{nodes=...}: ATC's --out_nodes. The last op carrying a node name gives its value.
// RUN: circ-opt %s -p 'select-outputs{nodes="conv1:0;split:1"}' | filecheck %s
// RUN: not circ-opt %s -p 'select-outputs{nodes="nope:0"}' 2>&1 | filecheck %s --check-prefix=NONAME
// RUN: not circ-opt %s -p 'select-outputs{nodes="split:2"}' 2>&1 | filecheck %s --check-prefix=NOINDEX
// RUN: not circ-opt %s -p 'select-outputs{nodes="conv1:x"}' 2>&1 | filecheck %s --check-prefix=SYNTAX

// CHECK:      func.func @main(%x: tensor<2x8xf32>) -> (tensor<2x8xf32> {cir.name = "conv1:0"}, tensor<2x4xf32> {cir.name = "split:1"})
// CHECK-NEXT:   %a = cir.relu %x : tensor<2x8xf32>
// CHECK-NEXT:   %b = cir.neg %a : tensor<2x8xf32>
// CHECK-NEXT:   %s, %s_1 = cir.split %b {axis = 1, sizes = [4, 4]}
// CHECK-NEXT:   func.return %b, %s_1 : tensor<2x8xf32>, tensor<2x4xf32>
// NONAME: select-outputs: no op carries the node name 'nope'
// NOINDEX: select-outputs: node 'split' has 2 output(s); index 2 does not exist
// SYNTAX: select-outputs: expected NODE:INDEX, got 'conv1:x'
func.func @main(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %a = cir.relu %x : tensor<2x8xf32> loc("conv1")
  %b = cir.neg %a : tensor<2x8xf32> loc("conv1")
  %s:2 = cir.split %b {axis = 1 : i64, sizes = array<i64: 4, 4>} : (tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) loc("split")
  %e = cir.exp %s#0 : tensor<2x4xf32> loc("exp")
  func.return %e : tensor<2x4xf32>
}
