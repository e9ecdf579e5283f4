// lower-to-ascendc: cir.flash_attention / cir.attention as one FlashAttention-2 kernel
// (lowering/attention.py): Matmul for Q·Kᵀ and P·V, online softmax on the vector unit.
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' -t ascendc-cpp | filecheck %s
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' | filecheck %s --check-prefix=IR

// BNSD, causal, fp16: S = 77 is not a multiple of the 64-row query block or the 80-key block
// IR: cir.flash_attention {{.*}}cir.launches = [{kernel = "flash_attention_{{[0-9a-f]+}}", block_dim = 16 : i64, tiling = {tasks = 32 : i64, tasks_per_block = 2 : i64, q_blocks = 2 : i64, length = 77 : i64, keys = 77 : i64, head_dim = 40 : i64, value_dim = 40 : i64, block_q = 64 : i64, block_k = 80 : i64, value_pitch = 40 : i64, ws_block = 40960 : i64, q_row = 40 : i64
// IR-SAME: workspace = 655360 : i64
// BSH with an i1 mask broadcast over batch and heads: a head is a 40-wide band of 320-wide rows
// IR: tiling = {{.*}}q_row = 320 : i64, k_row = 320 : i64, v_row = 320 : i64, o_row = 320 : i64, m_row = 77 : i64{{.*}}q1_stride = 40 : i64{{.*}}m0_stride = 0 : i64{{.*}}args = ["operand:0", "operand:1", "operand:2", "operand:3", "result:0"]

// CHECK-LABEL: // ----- kernel flash_attention_{{[0-9a-f]+}} -----
// CHECK: // (FlashAttention-2: Q*K^T and P*V on the cube (Matmul), online softmax on the vector unit, causal)
// CHECK: #include "lib/matmul_intf.h"
// CHECK: AscendC::GlobalTensor<float> score_ws;
// CHECK: AscendC::GlobalTensor<half> prob_ws;
// CHECK: AscendC::GlobalTensor<float> out_block_ws;
// CHECK: TCubeTiling cube_tiling{};
// CHECK: matmul::Matmul<matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, half>, matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, half, true>, matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>, matmul::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>> mm;
// CHECK: REGIST_MATMUL_OBJ(&pipe, AscendC::GetSysWorkSpacePtr(), mm, &cube_tiling);
// per-row statistics are [rows, 8]: each row's value over a 32-byte block (SoftmaxFlashV2's form)
// CHECK: const int64_t stat_elems = nq * 8;
// CHECK-NEXT: AscendC::Duplicate(row_max, static_cast<float>(-3.4028235e+38f), stat_elems);
// CHECK: const int64_t key_end = t.keys < v{{[0-9]+}} ? t.keys : v{{[0-9]+}};
// CHECK: for (int64_t [[K0:i[0-9]*]] = 0; [[K0]] < key_end; [[K0]] += t.block_k) {
// CHECK: mm.SetOrgShape(t.block_q, t.block_k, t.q_row, t.k_row, t.block_k);
// CHECK: mm.SetTensorB(k_gm[{{.*}}], true);
// CHECK: mm.SetTail(nq, nk, t.head_dim);
// CHECK: mm.IterateAll(score_ws);
// CHECK: AscendC::DataCopy(score_in, score_ws, {{.*}});
// CHECK: float m_old = row_max.GetValue(
// CHECK: if (v{{[0-9]+}}) {
// CHECK: const float m_new = m_old > block_max ? m_old : block_max;
// CHECK: AscendC::Exp(
// CHECK: AscendC::Cast(probs[{{.*}}], scores[{{.*}}], AscendC::RoundMode::CAST_RINT, n);
// CHECK: } else {
// CHECK: AscendC::Sub(alpha, row_max, new_max, stat_elems);
// CHECK-NEXT: AscendC::PipeBarrier<PIPE_V>();
// CHECK-NEXT: AscendC::Exp(alpha, alpha, stat_elems);
// CHECK: AscendC::Mul(row_sum, row_sum, alpha, stat_elems);
// CHECK: AscendC::DataCopy(prob_ws, probs_out, {{.*}});
// CHECK: AscendC::PipeBarrier<PIPE_ALL>();
// CHECK: mm.SetOrgShape(t.block_q, t.v_row, t.block_k, t.block_k, t.value_pitch);
// CHECK: mm.SetTensorA(prob_ws);
// CHECK: mm.SetTail(nq, t.value_dim, nk);
// CHECK: mm.IterateAll(out_block_ws);
// CHECK: AscendC::Muls(acc[{{.*}}], acc[{{.*}}], static_cast<float>(a), t.value_dim);
// CHECK: const float inv_sum = 1.0f / v{{[0-9]+}};
// CHECK: AscendC::Cast(o_ub, acc[{{.*}}], AscendC::RoundMode::CAST_RINT, t.value_dim);

// Not causal: a full block of keys is one SoftmaxFlashV2 over all its rows (its one-split
// tiling), a partial one row by row. The i1 mask: int8 -> half -> float, then (m - 1) * 1e30
// added to the scores
// CHECK-LABEL: // ----- kernel flash_attention_{{[0-9a-f]+}} -----
// CHECK: AscendC::GlobalTensor<int8_t> mask_gm;
// CHECK: const bool full_block = nk == t.block_k;
// CHECK-NEXT: if (full_block) {
// CHECK: AscendC::Muls(scores, scores, static_cast<float>({{.*}}), block_elems);
// CHECK: AscendC::Cast(mask_f16, mask_ub, AscendC::RoundMode::CAST_NONE, t.block_k);
// CHECK: AscendC::Cast(mask_f32, mask_f16, AscendC::RoundMode::CAST_NONE, t.block_k);
// CHECK: AscendC::Adds(mask_f32, mask_f32, static_cast<float>(-1.0f), t.block_k);
// CHECK: AscendC::Muls(mask_f32, mask_f32, static_cast<float>(1e+30f), t.block_k);
// CHECK: AscendC::Add(scores[{{.*}}], scores[{{.*}}], mask_f32, t.block_k);
// CHECK: AscendC::SoftMaxTiling sm_tiling{};
// CHECK-NEXT: sm_tiling.srcM = static_cast<uint32_t>(nq);
// CHECK-NEXT: sm_tiling.srcK = static_cast<uint32_t>(t.block_k);
// CHECK: AscendC::SoftmaxFlashV2<float, true>(scores, block_sum, new_max, scores, alpha, row_sum, row_max, sm_tiling, AscendC::SoftMaxShapeInfo{static_cast<uint32_t>(nq), static_cast<uint32_t>(t.block_k), static_cast<uint32_t>(nq), static_cast<uint32_t>(t.block_k)});
// CHECK: AscendC::Adds(row_max, new_max, static_cast<float>(0.0f), stat_elems);
// CHECK-NEXT: AscendC::Adds(row_sum, block_sum, static_cast<float>(0.0f), stat_elems);
// CHECK: } else {
// CHECK: AscendC::Cast(mask_f161, mask_ub1, AscendC::RoundMode::CAST_NONE, nk);
// CHECK: AscendC::Add(scores[{{.*}}], scores[{{.*}}], mask_f321, nk);
func.func @main(%q: tensor<2x8x77x40xf16>, %k: tensor<2x8x77x40xf16>, %h: tensor<2x77x320xf32>, %m: tensor<77x77xi1>) -> (tensor<2x8x77x40xf16>, tensor<2x77x320xf32>) {
  %fa = cir.flash_attention %q, %k, %k {head_num = 8, scale = 0.158, causal = true} : (tensor<2x8x77x40xf16>, tensor<2x8x77x40xf16>, tensor<2x8x77x40xf16>) -> tensor<2x8x77x40xf16>
  %fb = cir.flash_attention %h, %h, %h, %m {head_num = 8, input_layout = "BSH"} : (tensor<2x77x320xf32>, tensor<2x77x320xf32>, tensor<2x77x320xf32>, tensor<77x77xi1>) -> tensor<2x77x320xf32>
  func.return %fa, %fb : tensor<2x8x77x40xf16>, tensor<2x77x320xf32>
}
