// lower-to-ascendc: softmax, reductions, argmax (lowering/kernels/reduce.py) and pooling
// kernels (lowering/kernels/pool.py).
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' -t ascendc-cpp | filecheck %s
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' | filecheck %s --check-prefix=IR
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend310P3}' -t ascendc-cpp | filecheck %s --check-prefix=SCALAR

// Softmax over the last axis: row form, three passes (max, sum of exp, normalise); a row that
// fits one tile is read once (`streamed` is false) and stays in UB.
// IR: %s = cir.softmax %x {cir.launches = [{kernel = "softmax_{{[0-9a-f]+}}", block_dim = 4 : i64, tiling = {rows = 4 : i64, rows_per_block = 1 : i64, row_len = 333 : i64, tile = {{[0-9]+}} : i64}
// CHECK-LABEL: // ----- kernel softmax_{{[0-9a-f]+}} -----
// CHECK: // (row softmax: max, sum of exp, normalise; fp32 arithmetic)
// CHECK: const bool streamed = t.row_len > t.tile;
// CHECK: AscendC::ReduceMax(work, xf1, work, n);
// CHECK: const float v{{[0-9]+}} = acc > part ? acc : part;
// CHECK: const float neg_max = 0.0f - acc;
// CHECK: if (streamed) {
// CHECK: AscendC::Exp(ex, ex, n1);
// CHECK: AscendC::ReduceSum(work1, ex, work1, n1);
// CHECK: const float inv_sum = 1.0f / acc1;
// CHECK: AscendC::Muls(ex1, ex1, static_cast<float>(inv_sum), n2);

// log_softmax over a middle axis of fp16: column form, fp32 running max / sum tiles
// CHECK-LABEL: // ----- kernel log_softmax_{{[0-9a-f]+}} -----
// CHECK: // (softmax across rows: running max / sum tiles, fp32 arithmetic)
// CHECK: AscendC::Cast(mx, x_ub, AscendC::RoundMode::CAST_NONE, n);
// CHECK: AscendC::Max(mx, mx, xf, n);
// CHECK: AscendC::Duplicate(sm, static_cast<float>(0.0f), n);
// CHECK: AscendC::Add(sm, sm, xf, n);
// CHECK: AscendC::Ln(sm, sm, n);
// CHECK: AscendC::Sub(xf, xf, sm, n);
// CHECK: AscendC::Cast(y_ub, xf, AscendC::RoundMode::CAST_RINT, n);

// CHECK-LABEL: // ----- kernel reduce_max_{{[0-9a-f]+}} -----
// CHECK: // (row max: each output reduces contiguous rows tile by tile, fp32)
// CHECK: y_gm.SetValue(i, acc);

// reduce_mean over dims 1 and 2 of [2, 7, 3, 5]: merged to [2, 21, 5], a column reduction
// IR: cir.reduce_mean %h {{.*}}tiling = {items = 2 : i64, items_per_block = 1 : i64, chunks = 1 : i64, width = 5 : i64, red_rows = 21 : i64, tile = 16 : i64, total = 210 : i64, k0_size = 2 : i64, k0_div = 1 : i64, k0_stride = 105 : i64, r0_size = 21 : i64, r0_div = 1 : i64, r0_stride = 5 : i64}
// CHECK-LABEL: // ----- kernel reduce_mean_{{[0-9a-f]+}} -----
// CHECK: // (column mean: rows combined elementwise into an fp32 tile)
// CHECK: const int64_t r_off = v{{[0-9]+}} * t.r0_stride;
// CHECK: AscendC::Add(acc, acc, xf, n);
// CHECK: AscendC::Muls(acc, acc, static_cast<float>(0.04761905f), n);

// argmax: the row maximum, then the first tile holding it (ReduceMax with calIndex)
// CHECK-LABEL: // ----- kernel argmax_{{[0-9a-f]+}} -----
// CHECK: AscendC::GlobalTensor<int64_t> y_gm;
// CHECK: AscendC::ReduceMax(work1, xf2, work1, n1, true);
// CHECK: uint32_t tile_arg = work1.ReinterpretCast<uint32_t>().GetValue(1);

// avg_pool2d on arch 220: the vector kernel. Per band (column shift, row phase) one DataCopyPad
// a plane stages the rows, padded left / right with 0; stride 2 splits them into column phases
// (GatherMask, pattern_base 1); one Add per window cell over the whole tile; the divisor map
// (row count x column counts) divides the sums. 48 cores cut the 3 planes into one-row tiles,
// the CPU layer's 4 into three-row ones: the same kernel C++ (the `cpu` tiling is kept).
// IR: cir.avg_pool2d %p {{.*}}tiling = {planes = 3 : i64, h = 11 : i64, w = 13 : i64, oh = 6 : i64, ow = 7 : i64, {{.*}}pitch = 16 : i64, phase_pitch = 8 : i64, extra_rows = 1 : i64, tile_rows = 1 : i64, band_rows = 2 : i64, {{.*}}col_bands = 2 : i64, pattern_base = 1 : i64{{.*}}cpu = {block_dim = 3 : i64
// CHECK-LABEL: // ----- kernel avg_pool2d_{{[0-9a-f]+}} -----
// CHECK: // (avg (count_include_pad) pooling on the vector unit: bands of input rows staged with DataCopyPad, split into column phases by GatherMask, one Add per window cell over the whole tile)
// CHECK: col_counts.SetValue(x, static_cast<float>(v{{[0-9]+}}));
// CHECK: AscendC::Duplicate(y_tile, static_cast<float>(0.0f), count);
// CHECK: AscendC::DataCopyPad(band{{[0-9]*}}[v{{[0-9]+}}], x_gm[x_off], AscendC::DataCopyExtParams{static_cast<uint16_t>(n_valid), static_cast<uint32_t>(length * sizeof(float)), static_cast<uint32_t>(src_gap), static_cast<uint32_t>(ub_gap), 0}, AscendC::DataCopyPadExtParams<float>{true, static_cast<uint8_t>(left), static_cast<uint8_t>(right), static_cast<float>(0.0f)});
// CHECK: AscendC::GatherMask(phases[v{{[0-9]+}}], band_ub[v{{[0-9]+}}], static_cast<uint8_t>(pattern), false, 0, AscendC::GatherMaskParams{1, static_cast<uint16_t>(n_repeats), 8, 0}, kept);
// CHECK: AscendC::Add(y_tile, y_tile, phases[phase_off][v{{[0-9]+}}], count);
// CHECK: AscendC::Muls(counts[v{{[0-9]+}}], col_counts, static_cast<float>(static_cast<float>(v{{[0-9]+}})), t.phase_pitch);
// CHECK: AscendC::Div(y_tile[v{{[0-9]+}}], y_tile[v{{[0-9]+}}], counts, v{{[0-9]+}});
// CHECK: AscendC::DataCopyPad(y_gm[y_off], y_ub[v{{[0-9]+}}], AscendC::DataCopyExtParams{static_cast<uint16_t>(rows), static_cast<uint32_t>(t.ow * sizeof(float)), static_cast<uint32_t>(y_gap), static_cast<uint32_t>(0), 0});

// max_pool2d of fp16, stride 1: in fp16 (max is exact), the padding the lowest value, no phases
// CHECK-LABEL: // ----- kernel max_pool2d_{{[0-9a-f]+}} -----
// CHECK: // (max pooling on the vector unit: bands of input rows staged with DataCopyPad, one Max per window cell over the whole tile)
// CHECK: AscendC::Duplicate(y_tile, static_cast<half>(-3.4028235e+38f), count);
// CHECK: AscendC::DataCopyPadExtParams<half>{true, static_cast<uint8_t>(left), static_cast<uint8_t>(right), static_cast<half>(-3.4028235e+38f)});
// CHECK-NOT: GatherMask
// CHECK: AscendC::Max(y_tile, y_tile, band_ub[v{{[0-9]+}}], count);

// arch 200 has no DataCopyPad: the scalar kernel. Window rows staged in UB (out-of-range rows
// skipped), the divisor from the window's cells inside the padded input
// SCALAR-LABEL: // ----- kernel avg_pool2d_{{[0-9a-f]+}} -----
// SCALAR: // (avg (count_include_pad) pooling: window rows staged in UB, scalar windows)
// SCALAR: AscendC::TBuf<AscendC::TPosition::VECCALC> window_buf;
// SCALAR: float cell = window.GetValue(
// SCALAR: const int64_t cells = 
// SCALAR: out.SetValue(i{{[0-9]+}}, v{{[0-9]+}});
// SCALAR-LABEL: // ----- kernel max_pool2d_{{[0-9a-f]+}} -----
// SCALAR: // (max pooling: window rows staged in UB, scalar windows)
func.func @main(%x: tensor<4x333xf32>, %h: tensor<2x7x3x5xf16>, %p: tensor<1x3x11x13xf32>, %g: tensor<1x4x9x10xf16>) -> (tensor<4x333xf32>, tensor<2x7x3x5xf16>, tensor<4xf32>, tensor<2x5xf16>, tensor<4xi64>, tensor<1x3x6x7xf32>, tensor<1x4x9x10xf16>) {
  %s = cir.softmax %x : tensor<4x333xf32>
  %l = cir.log_softmax %h {axis = 1} : tensor<2x7x3x5xf16>
  %r = cir.reduce_max %x {axes = [1]} : tensor<4x333xf32> -> tensor<4xf32>
  %m = cir.reduce_mean %h {axes = [1, 2]} : tensor<2x7x3x5xf16> -> tensor<2x5xf16>
  %a = cir.argmax %x {axis = 1} : tensor<4x333xf32> -> tensor<4xi64>
  %q = cir.avg_pool2d %p {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]} : tensor<1x3x11x13xf32> -> tensor<1x3x6x7xf32>
  %mp = cir.max_pool2d %g {kernel = [3, 3], strides = [1, 1], pads = [1, 1, 1, 1]} : tensor<1x4x9x10xf16> -> tensor<1x4x9x10xf16>
  func.return %s, %l, %r, %m, %a, %q, %mp : tensor<4x333xf32>, tensor<2x7x3x5xf16>, tensor<4xf32>, tensor<2x5xf16>, tensor<4xi64>, tensor<1x3x6x7xf32>, tensor<1x4x9x10xf16>
}
