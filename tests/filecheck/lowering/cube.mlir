// lower-to-ascendc: the cube kernels (lowering/cube.py), printed as AscendC C++ (-t ascendc-cpp).
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' -t ascendc-cpp | filecheck %s
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' | filecheck %s --check-prefix=IR
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1 cpu_cores=0}' | filecheck %s --check-prefix=IR0

// conv_gn_silu: two launches, the conv writes result 1, the GroupNorm+SiLU reads it, writes result 0
// IR: cir.conv_gn_silu {{.*}}cir.launches = [{kernel = "conv_gn_silu_{{[0-9a-f]+}}", block_dim = 6 : i64, tiling = {cin = 4 : i64, h = 6 : i64, w = 6 : i64, cout = 8 : i64, oh = 6 : i64, ow = 6 : i64
// IR-SAME: args = ["operand:0", "operand:1", "operand:2", "result:1"], workspace = {{[1-9][0-9]*}} : i64,
// the same kernel tiled for the CPU layer's 4 cores (the conv: 3 units of 2 rows x 8 channels)
// IR-SAME: cpu = {block_dim = 3 : i64, tiling = {cin = 4 : i64{{.*}}tile_rows = 2 : i64{{.*}}cout_tile = 8 : i64
// IR-SAME: {kernel = "conv_gn_silu_gn_{{[0-9a-f]+}}", {{.*}} args = ["result:1", "operand:3", "operand:4", "result:0"], workspace = 0 : i64
// IR0-NOT: cpu = {
// IR: cir.linear_act {{.*}}kernel = "linear_act_{{[0-9a-f]+}}"{{.*}}args = ["operand:0", "operand:1", "operand:2", "result:0"]
// IR: cir.matmul {{.*}}tiling = {m = 7 : i64, n = 5 : i64, k = 9 : i64{{.*}}batch3 = 2 : i64, a_stride0 = 0 : i64, a_stride1 = 0 : i64, a_stride2 = 0 : i64, a_stride3 = 63 : i64, b_stride0 = 0 : i64, b_stride1 = 0 : i64, b_stride2 = 0 : i64, b_stride3 = 0 : i64

// CHECK-LABEL: // ----- kernel conv_gn_silu_{{[0-9a-f]+}} -----
// CHECK: // (implicit GEMM, im2col of a tile of output rows into GM workspace, then Matmul with the weight)
// CHECK-NEXT: #include "kernel_operator.h"
// CHECK-NEXT: #include "lib/matmul_intf.h"
// CHECK: struct conv_gn_silu_{{[0-9a-f]+}}_tiling {
// CHECK: extern "C" __global__ __aicore__ void conv_gn_silu_{{[0-9a-f]+}}(GM_ADDR x, GM_ADDR weight, GM_ADDR bias, GM_ADDR y, GM_ADDR workspace, GM_ADDR tiling)
// CHECK: ws_gm.SetGlobalBuffer((__gm__ float*)workspace + ws_off, t.ws_block);
// CHECK: TCubeTiling cube_tiling{};
// CHECK: cube_tiling.M = static_cast<int32_t>(t.cout_per_group);
// CHECK: matmul::Matmul<matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>, matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>, matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>, matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>> mm;
// CHECK-NEXT: REGIST_MATMUL_OBJ(&pipe, AscendC::GetSysWorkSpacePtr(), mm, &cube_tiling);
// CHECK-NEXT: mm.SetOrgShape(t.cout_per_group, t.tile_pix, t.k, t.k, out_plane);
// CHECK: for (int64_t unit = block; unit < t.units; unit += blocks) {
// a unit is a tile of output rows and of output channels (m of them: the last tile is smaller)
// CHECK: const int64_t m = t.cout_tile < {{.*}} ? t.cout_tile : {{.*}};
// CHECK: for (int64_t g = 0; g < t.groups; g += 1) {
// the zero-padded input band: a strided move per band row and chunk of channels
// CHECK: AscendC::DataCopyPad(band, x_gm[x_off], AscendC::DataCopyExtParams{static_cast<uint16_t>(n_channels), static_cast<uint32_t>(t.w * sizeof(float)), static_cast<uint32_t>(channel_gap_bytes), static_cast<uint32_t>(0), 0}, AscendC::DataCopyPadExtParams<float>{true, static_cast<uint8_t>(t.pad_left), static_cast<uint8_t>(t.pad_right), 0});
// CHECK: AscendC::PipeBarrier<PIPE_ALL>();
// im2col: stride 1 moves all channels of a tap and row at once, stride > 1 gathers elements
// CHECK: if (unit_stride) {
// CHECK: AscendC::DataCopyPad(cols_gm[dst], taps_ub,
// CHECK: } else {
// CHECK: static_cast<uint32_t>(1 * sizeof(float)), static_cast<uint32_t>(col_gap_bytes)
// the bias is written first, the product accumulated on top
// CHECK: AscendC::Duplicate(bias_row, static_cast<float>(bias_value), npix);
// CHECK: mm.SetTensorA(weight_gm[weight_off]);
// CHECK-NEXT: mm.SetTensorB(cols_gm);
// CHECK-NEXT: mm.SetTail(m, npix, t.k);
// CHECK-NEXT: mm.IterateAll(y_gm[y_off], 1);
// CHECK-NEXT: mm.End();

// CHECK-LABEL: // ----- kernel conv_gn_silu_gn_{{[0-9a-f]+}} -----
// CHECK: void conv_gn_silu_gn_{{[0-9a-f]+}}(GM_ADDR x0, GM_ADDR x1, GM_ADDR x2, GM_ADDR y, GM_ADDR workspace, GM_ADDR tiling)

// linear: B is the (out, in) weight, transposed by the Matmul; the bias by SetBias; the act in UB
// CHECK-LABEL: // ----- kernel linear_act_{{[0-9a-f]+}} -----
// CHECK: matmul::Matmul<matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>, matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float, true>,
// CHECK: mm.SetTensorB(b_gm[b_off], true);
// CHECK-NEXT: mm.SetBias(bias_gm[n0]);
// CHECK-NEXT: mm.SetTail(rows, cols, t.k);
// CHECK-NEXT: mm.IterateAll(c_gm[c_off]);
// CHECK: AscendC::Exp(t0, t0, count);

// batched matmul, fp16: batch offsets from the tiling's dims and strides (0: broadcast)
// CHECK-LABEL: // ----- kernel matmul_{{[0-9a-f]+}} -----
// CHECK: matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, half>
// CHECK: const int64_t batch = unit / tiles_per_matrix;
// CHECK: mm.SetTensorA(a_gm[a_off]);
// CHECK-NEXT: mm.SetTensorB(b_gm[b_off]);
// CHECK-NOT: SetBias
// CHECK: mm.IterateAll(c_gm[c_off]);

// stride_w 2: the band holds each row as its two column phases (GatherMask patterns 1 and 2),
// so every tap of the im2col is one strided move of contiguous runs; no per-element gather
// CHECK-LABEL: // ----- kernel conv2d_{{[0-9a-f]+}} -----
// CHECK: AscendC::TQue<AscendC::TPosition::VECOUT, 1> phase_que;
// CHECK: AscendC::DataCopyPad(band, x_gm[x_off], {{.*}} static_cast<uint32_t>(t.ub_row_gap), 0}
// CHECK: for (int64_t ph = 0; ph < t.phases; ph += 1) {
// CHECK: const int64_t pattern = t.pattern_base + ph;
// CHECK: AscendC::GatherMask(phase, band_ub, static_cast<uint8_t>(pattern), false, 0, AscendC::GatherMaskParams{1, static_cast<uint16_t>(repeats), 8, 0}, kept);
// CHECK: AscendC::DataCopyPad(ws_gm[phase_off], phase_ub,
// a tap's first column x is in phase x % stride_w, at x / stride_w
// CHECK: const int64_t tap_col = kj * t.dilation_w;
// CHECK-NEXT: const int64_t [[P:v[0-9]+]] = tap_col % t.stride_w;
// CHECK-NEXT: const int64_t [[PW:v[0-9]+]] = [[P]] * t.phase_w;
// CHECK-NEXT: const int64_t [[Q:v[0-9]+]] = tap_col / t.stride_w;
// CHECK-NEXT: const int64_t tap_col1 = [[PW]] + [[Q]];
// CHECK-NOT: col_gap_bytes
// CHECK: mm.IterateAll(y_gm[y_off], 1);
func.func @main(%x: tensor<1x4x6x6xf32>, %w: tensor<8x4x3x3xf32>, %b: tensor<8xf32>, %g: tensor<8xf32>, %be: tensor<8xf32>, %h: tensor<3x12xf32>, %lw: tensor<5x12xf32>, %lb: tensor<5xf32>, %a: tensor<2x7x9xf16>, %m: tensor<9x5xf16>) -> (tensor<1x8x6x6xf32>, tensor<3x5xf32>, tensor<2x7x5xf16>, tensor<1x8x3x3xf32>) {
  %0, %1 = cir.conv_gn_silu %x, %w, %b, %g, %be {pads = [1, 1, 1, 1], num_groups = 2} : (tensor<1x4x6x6xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>)
  %2 = cir.linear_act %h, %lw, %lb {activation = "gelu_tanh"} : (tensor<3x12xf32>, tensor<5x12xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  %3 = cir.matmul %a, %m : (tensor<2x7x9xf16>, tensor<9x5xf16>) -> tensor<2x7x5xf16>
  %4 = cir.conv2d %x, %w, %b {strides = [2, 2], pads = [1, 1, 1, 1]} : (tensor<1x4x6x6xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x3x3xf32>
  func.return %0, %2, %3, %4 : tensor<1x8x6x6xf32>, tensor<3x5xf32>, tensor<2x7x5xf16>, tensor<1x8x3x3xf32>
}
