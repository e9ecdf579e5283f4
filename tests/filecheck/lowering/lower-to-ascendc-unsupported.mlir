// With host_fallback=false, an op with no kernel family stops the lowering with the list of
// such ops.
// RUN: not circ-opt %s -p 'lower-to-ascendc{host_fallback=false}' 2>&1 | filecheck %s

func.func @main(%x: tensor<2x3x4xf16>) -> tensor<2x3x4xf16> {
  %t = cir.cumsum %x {axis = 1 : i64} : (tensor<2x3x4xf16>) -> tensor<2x3x4xf16>
  %u = cir.cumsum %t {axis = 2 : i64} : (tensor<2x3x4xf16>) -> tensor<2x3x4xf16>
  func.return %u : tensor<2x3x4xf16>
}
// CHECK: lower-to-ascendc: no kernel yet for 1 kind(s) of op:
// CHECK-NEXT: cir.cumsum on half x2, first at {{.*}}lower-to-ascendc-unsupported.mlir:6:3

// A negative core count for the CPU layer's tiling is refused before anything is lowered.
// RUN: not circ-opt %s -p 'lower-to-ascendc{cpu_cores=-2}' 2>&1 | filecheck %s --check-prefix=CORES
// CORES: circ-opt: error: lower-to-ascendc: cpu_cores must be 0 (no CPU-layer tiling) or more, got -2
// CORES-NOT: Traceback
