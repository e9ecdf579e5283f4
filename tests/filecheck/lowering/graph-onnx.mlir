// lower-to-graph, ONNX form (-t onnx-text): standard ops, npu-domain fused nodes, weights as
// initializers, outputs under their own names.
// RUN: circ-opt %s -t onnx-text | filecheck %s

// CHECK: main (float[1,8,4,4] x, float[8] g, float[8] b) => (float[1,8,4,4] output_0)
// CHECK: [group_norm_silu_0] group_norm_silu_0, {{.*}} = npu.NPUGroupNormSilu <eps: float = 1e-05, group: int = 2> (x, g, b)
// CHECK: geglu_2, {{.*}} = npu.NPUGeGlu <activate_left: int = 0, approximate: int = 0, dim: int = 1> (reshape_1)
// CHECK: reshape_3 = Reshape (geglu_2, {{.*}})
// CHECK: pad_4 = Pad <mode: string = "constant"> (reshape_3,
// CHECK: output_0 = Identity (pad_4)
func.func @main(%x: tensor<1x8x4x4xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %y = cir.group_norm_silu %x, %g, %b {num_groups = 2} : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %r = cir.reshape %y {shape = [1, 8, 4, 4, 1]} : tensor<1x8x4x4xf32> -> tensor<1x8x4x4x1xf32>
  %h = cir.geglu %r {dim = 1} : tensor<1x8x4x4x1xf32> -> tensor<1x4x4x4x1xf32>
  %o = cir.reshape %h {shape = [1, 8, 4, 2]} : tensor<1x4x4x4x1xf32> -> tensor<1x8x4x2xf32>
  %p = cir.pad %o {low = [0, 0, 0, 1], high = [0, 0, 0, 1]} : tensor<1x8x4x2xf32> -> tensor<1x8x4x4xf32>
  func.return %p : tensor<1x8x4x4xf32>
}
