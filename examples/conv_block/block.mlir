// A Stable-Diffusion-style residual block in CIR: conv3x3 -> GroupNorm -> SiLU -> conv3x3,
// plus the skip connection. Weights live in block.safetensors (made by `circ demo`).
builtin.module attributes {cir.weights = "block.safetensors"} {
  func.func @main(%sample: tensor<1x32x16x16xf32>) -> (tensor<1x32x16x16xf32> {cir.name = "out"}) {
    %w1 = cir.weight "conv1.weight" : tensor<32x32x3x3xf32>
    %b1 = cir.weight "conv1.bias" : tensor<32xf32>
    %gamma = cir.weight "norm.weight" : tensor<32xf32>
    %beta = cir.weight "norm.bias" : tensor<32xf32>
    %w2 = cir.weight "conv2.weight" : tensor<32x32x3x3xf32>
    %b2 = cir.weight "conv2.bias" : tensor<32xf32>
    %h = cir.conv2d %sample, %w1, %b1 {pads = [1, 1, 1, 1]} : (tensor<1x32x16x16xf32>, tensor<32x32x3x3xf32>, tensor<32xf32>) -> tensor<1x32x16x16xf32>
    %n = cir.group_norm %h, %gamma, %beta {num_groups = 8, epsilon = 1.0e-06} : (tensor<1x32x16x16xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<1x32x16x16xf32>
    %a = cir.silu %n : tensor<1x32x16x16xf32>
    %unused = cir.sigmoid %n : tensor<1x32x16x16xf32>
    %o = cir.conv2d %a, %w2, %b2 {pads = [1, 1, 1, 1]} : (tensor<1x32x16x16xf32>, tensor<32x32x3x3xf32>, tensor<32xf32>) -> tensor<1x32x16x16xf32>
    %out = cir.add %sample, %o : (tensor<1x32x16x16xf32>, tensor<1x32x16x16xf32>) -> tensor<1x32x16x16xf32>
    func.return %out : tensor<1x32x16x16xf32>
  }
}
