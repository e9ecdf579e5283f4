// An op no kernel family covers runs on the host fallback: lower-to-ascendc gives it one launch
// with engine "host" (and the reason), and the launch graph carries the op alone in
// func.func @host as CIR text for the runtime to evaluate. Ops with kernels are unaffected.
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' | filecheck %s
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1},plan-memory' -t launch-json | filecheck %s --check-prefix=GRAPH

func.func @main(%x: tensor<2x3x4xf16>) -> tensor<2x3x4xf16> {
  %t = cir.cumsum %x {axis = 1 : i64, reverse = true} : (tensor<2x3x4xf16>) -> tensor<2x3x4xf16>
  %u = cir.silu %t : (tensor<2x3x4xf16>) -> tensor<2x3x4xf16>
  func.return %u : tensor<2x3x4xf16>
}
// CHECK: cir.cumsum %x {axis = 1, reverse = true, cir.launches = [{engine = "host", kernel = "host", reason = "no AscendC kernel yet: cir.cumsum on half"
// CHECK: cir.silu {{.*}}cir.launches = [{kernel = "silu_{{[0-9a-f]+}}"

// GRAPH: "nodes": [
// GRAPH-NEXT: {
// GRAPH-NEXT: "engine": "host",
// GRAPH-NEXT: "kernel": "",
// GRAPH: "op": "cir.cumsum",
// GRAPH: "reason": "no AscendC kernel yet: cir.cumsum on half",
// GRAPH-NEXT: "ir": "builtin.module {\n  func.func @host(%0: tensor<2x3x4xf16>) -> tensor<2x3x4xf16> {\n    %t = cir.cumsum %0 {axis = 1, reverse = true} : tensor<2x3x4xf16>\n    func.return %t : tensor<2x3x4xf16>\n  }\n}\n"
// GRAPH: "kernel": "silu_{{[0-9a-f]+}}",
// GRAPH: "kernels": ["silu_{{[0-9a-f]+}}"]
