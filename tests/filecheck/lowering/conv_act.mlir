// lower-to-ascendc of cir.conv2d_act: the conv kernel with its epilogue (residual add, activation)
// run over each C tile in UB after the Matmul; a depthwise conv runs the activation on the
// vector kernel's fp32 accumulator; arch 200 lowers conv2d, add and the activation apart.
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' -t ascendc-cpp | filecheck %s
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend910B1}' | filecheck %s --check-prefix=IR
// RUN: circ-opt %s -p 'lower-to-ascendc{soc=Ascend310P3}' | filecheck %s --check-prefix=A200

// IR: cir.conv2d_act {{.*}}kernel = "conv2d_act_{{[0-9a-f]+}}"{{.*}}epi_rows = 8 : i64, epi_cols = 8 : i64, epi_bytes = 256 : i64}, args = ["operand:0", "operand:1", "operand:2", "operand:3", "result:0"]
// IR: cir.conv2d_act {{.*}}kernel = "conv2d_depthwise_act_{{[0-9a-f]+}}"
// IR-SAME: args = ["operand:0", "operand:1", "operand:2", "result:0"]

// CHECK-LABEL: // ----- kernel conv2d_act_{{[0-9a-f]+}} -----
// CHECK: void conv2d_act_{{[0-9a-f]+}}(GM_ADDR x, GM_ADDR weight, GM_ADDR bias, GM_ADDR residual, GM_ADDR y, GM_ADDR workspace, GM_ADDR tiling)
// CHECK: pipe.InitBuffer(in_que, 2, t.epi_bytes);
// CHECK: pipe.InitBuffer(out_que, 2, t.epi_bytes);
// CHECK: pipe.InitBuffer(r_que, 2, t.epi_bytes);
// CHECK: mm.IterateAll(y_gm[y_off], 1);
// CHECK-NEXT: mm.End();
// CHECK-NEXT: AscendC::PipeBarrier<PIPE_ALL>();
// the tile in chunks of columns and rows; each row of the tile is out_plane apart in GM
// CHECK-NEXT: for (int64_t [[C0:c0[0-9]*]] = 0; [[C0]] < npix; [[C0]] += t.epi_cols) {
// CHECK: for (int64_t r0 = 0; r0 < m; r0 += t.epi_rows) {
// CHECK: const int64_t [[GAP:v[0-9]+]] = out_plane - width;
// CHECK: AscendC::DataCopyPad(x_in, y_gm[chunk_off],
// CHECK: AscendC::DataCopyPad(r_in, residual_gm[chunk_off],
// CHECK: AscendC::Add(x_ub, x_ub, r_ub, count);
// CHECK: AscendC::Relu(y_ub, x_ub, count);
// CHECK: AscendC::DataCopyPad(y_gm[chunk_off], y_out,

// CHECK-LABEL: // ----- kernel conv2d_depthwise_act_{{[0-9a-f]+}} -----
// CHECK: AscendC::Axpy(acc[plane_off]
// CHECK: AscendC::Adds(t0, acc, static_cast<float>(3.0f), count);
// CHECK: AscendC::Mul(acc, acc, t0, count);
// CHECK: AscendC::LocalTensor<float> y_tile = out_que.AllocTensor<float>();

// A200: %0 = cir.conv2d %x, %w, %b {pads = [1, 1, 1, 1], cir.launches
// A200-NEXT: %1 = cir.add %0, %x
// A200-NEXT: %2 = cir.relu %1
// A200-NEXT: %3 = cir.conv2d %2, %dw, %b {pads = [1, 1, 1, 1], groups = 8, cir.launches
// A200-NEXT: %4 = cir.hardswish %3
// A200-NEXT: func.return %2, %4
func.func @main(%x: tensor<1x8x6x6xf32>, %w: tensor<8x8x3x3xf32>, %b: tensor<8xf32>, %dw: tensor<8x1x3x3xf32>) -> (tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>) {
  %0 = cir.conv2d_act %x, %w, %b, %x {pads = [1, 1, 1, 1], activation = "relu"} : (tensor<1x8x6x6xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>, tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %1 = cir.conv2d_act %0, %dw, %b {pads = [1, 1, 1, 1], groups = 8, activation = "hardswish"} : (tensor<1x8x6x6xf32>, tensor<8x1x3x3xf32>, tensor<8xf32>) -> tensor<1x8x6x6xf32>
  func.return %0, %1 : tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>
}
