// lower-to-ascendc: a depthwise conv (groups == in == out channels) on arch 220 takes the vector
// kernel of lowering/kernels/depthwise.py, printed as AscendC C++ (-t ascendc-cpp).
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' -t ascendc-cpp | filecheck %s
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' | filecheck %s --check-prefix=IR

// the SoC's 48 cores: a plane a core, its taps by Axpy; the CPU layer's 4: 6 planes a tile,
// their taps' weights broadcast by Gather. One kernel for both (only the tiling differs).
// IR: kernel = "conv2d_depthwise_{{[0-9a-f]+}}", block_dim = 24 : i64, tiling = {planes = 24 : i64, channels = 24 : i64, planes_per_block = 1 : i64, planes_per_tile = 1 : i64, by_gather = 0 : i64,
// IR-SAME: plane_pitch = 88 : i64, tile_elems = 88 : i64, table_elems = 8 : i64,
// IR-SAME: cpu = {block_dim = 4 : i64, tiling = {planes = 24 : i64, channels = 24 : i64, planes_per_block = 6 : i64, planes_per_tile = 6 : i64, by_gather = 1 : i64,
// IR-SAME: plane_pitch = 88 : i64, tile_elems = 528 : i64, table_elems = 528 : i64,

// CHECK-LABEL: // ----- kernel conv2d_depthwise_{{[0-9a-f]+}} -----
// CHECK: struct conv2d_depthwise_{{[0-9a-f]+}}_tiling {
// CHECK: pipe.InitBuffer(offsets_buf, {{v[0-9]+}});
// CHECK: AscendC::LocalTensor<uint32_t> offsets = offsets_buf.Get<uint32_t>();
// the Gather offset table, built once a core: plane p's elements -> row p of the weights
// CHECK: const bool by_gather = t.by_gather != 0;
// CHECK-NEXT: if (by_gather) {
// CHECK-NEXT: for (int64_t p = 0; p < t.planes_per_tile; p += 1) {
// CHECK: AscendC::Duplicate(offsets[{{v[0-9]+}}], static_cast<uint32_t>(row_bytes), t.plane_pitch);
// tiles of planes; a tile's weights and biases in one move each (two when it runs into the next image)
// CHECK: for (int64_t plane0 = first_row; plane0 < end_row; plane0 += t.planes_per_tile) {
// CHECK: AscendC::DataCopyPad(w_f32[{{v[0-9]+}}], weight_gm[{{v[0-9]+}}], AscendC::DataCopyExtParams{static_cast<uint16_t>(n_first), static_cast<uint32_t>(t.taps * sizeof(float))
// CHECK: AscendC::DataCopyPad(w_f32[{{v[0-9]+}}], bias_gm[channel0], AscendC::DataCopyExtParams{static_cast<uint16_t>(n_first), static_cast<uint32_t>(1 * sizeof(float)), static_cast<uint32_t>(0), static_cast<uint32_t>(bias_gap), 0}
// CHECK: AscendC::Gather(acc, w_f32, offsets, static_cast<uint32_t>({{v[0-9]+}}), static_cast<uint32_t>(count));
// the band: one move a plane, at its plane's offset
// CHECK: for (int64_t [[P:p[0-9]*]] = 0; [[P]] < n_planes; [[P]] += 1) {
// CHECK: AscendC::DataCopyPad(band_in[{{v[0-9]+}}], x_gm[{{v[0-9]+}}],
// a tap over the whole tile: Gather, Mul, Add; or an Axpy a plane
// CHECK: AscendC::Gather(w_tap, w_f32, offsets, static_cast<uint32_t>({{v[0-9]+}}), static_cast<uint32_t>(count));
// CHECK: AscendC::Mul(w_tap, band_ub[tap_row], w_tap, count);
// CHECK: AscendC::Add(acc, acc, w_tap, count);
// CHECK: } else {
// CHECK: AscendC::Axpy(acc[plane_off], band_ub[{{v[0-9]+}}], static_cast<float>(wv), plane_count);
// CHECK: AscendC::Adds(y_tile, acc, static_cast<float>(0.0f), count);
// CHECK: AscendC::DataCopyPad(y_gm[y_off], y_ub[{{v[0-9]+}}], AscendC::DataCopyExtParams{static_cast<uint16_t>(rows), static_cast<uint32_t>(t.ow * sizeof(float))
func.func @main(%x: tensor<1x24x7x7xf32>, %w: tensor<24x1x5x5xf32>, %b: tensor<24xf32>) -> tensor<1x24x7x7xf32> {
  %0 = cir.conv2d %x, %w, %b {pads = [2, 2, 2, 2], groups = 24} : (tensor<1x24x7x7xf32>, tensor<24x1x5x5xf32>, tensor<24xf32>) -> tensor<1x24x7x7xf32>
  func.return %0 : tensor<1x24x7x7xf32>
}
