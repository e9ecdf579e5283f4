// lower-to-ascendc: elementwise kernels, printed as AscendC C++ (-t ascendc-cpp).
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' -t ascendc-cpp | filecheck %s
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend310P3}' -t ascendc-cpp | filecheck %s --check-prefix=ARCH200
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend310P3}' | filecheck %s --check-prefix=IR

// IR: %s = cir.silu %x {cir.launches = [{kernel = "silu_{{[0-9a-f]+}}", block_dim = 1 : i64, tiling = {total = 3000 : i64, per_block = 3000 : i64, tile = 13104 : i64}, args = ["operand:0", "result:0"], workspace = 0 : i64}]}
// IR: "ascendc.kernel"()

// CHECK-LABEL: // ----- kernel silu_{{[0-9a-f]+}} -----
// CHECK-NEXT: // circ kernel for cir.silu at {{.*}}lower-to-ascendc.mlir:27:3
// CHECK-NEXT: #include "kernel_operator.h"
// CHECK: struct silu_{{[0-9a-f]+}}_tiling {
// CHECK-NEXT:     int64_t total;
// CHECK: extern "C" __global__ __aicore__ void silu_{{[0-9a-f]+}}(GM_ADDR x0, GM_ADDR y, GM_ADDR workspace, GM_ADDR tiling)
// CHECK-NEXT: {
// CHECK-NEXT:     GET_TILING_DATA_WITH_STRUCT(silu_{{[0-9a-f]+}}_tiling, t, tiling);
// CHECK:     AscendC::TQue<AscendC::TPosition::VECIN, 2> in_que0;
// CHECK:     pipe.InitBuffer(in_que0, 2, tile_bytes);
// CHECK:         AscendC::DataCopyPad(x0_in, x0_gm[i], AscendC::DataCopyExtParams{1, static_cast<uint32_t>(n * sizeof(float)), 0, 0, 0}, AscendC::DataCopyPadExtParams<float>{false, 0, 0, 0});
// CHECK:         AscendC::Exp(t0, t0, n);
// Ascend310P (arch 200) has no DataCopyPad: the aligned part by DataCopy, the tail by element
// ARCH200: const int64_t n_aligned = n - {{.*}};
// ARCH200: AscendC::DataCopy(x0_in, x0_gm[i], n_aligned);
// ARCH200: x0_in.SetValue({{.*}}, e);
// ARCH200-NOT: DataCopyPad
func.func @main(%x: tensor<3x1000xf32>, %y: tensor<3x1000xf16>, %h: tensor<3x1000xf16>) -> (tensor<3x1000xf32>, tensor<3x1000xf16>) {
  %s = cir.silu %x : tensor<3x1000xf32>
  // CHECK-LABEL: // ----- kernel add_{{[0-9a-f]+}} -----
  // CHECK: void add_{{[0-9a-f]+}}(GM_ADDR x0, GM_ADDR x1, GM_ADDR y, GM_ADDR workspace, GM_ADDR tiling)
  // CHECK: AscendC::GlobalTensor<half> x0_gm;
  // CHECK: AscendC::Add(y_ub, x0_ub, x1_ub, n);
  %a = cir.add %y, %h : (tensor<3x1000xf16>, tensor<3x1000xf16>) -> tensor<3x1000xf16>
  func.return %s, %a : tensor<3x1000xf32>, tensor<3x1000xf16>
}
