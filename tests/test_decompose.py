"""Ops the lowering computes through other ops' kernels (lowering/decompose.py), end to end.

Tolerance: 1e-4 x max|output| against PyTorch eager (the convolution sums 72 products per
output in another order; the scale/shift is exact fp32 arithmetic up to one rounding of s).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import cir

SOC = "Ascend910B1"


class DenseLayer(nn.Module):
    """DenseNet's layer: BN -> ReLU -> 1x1 conv -> BN -> ReLU -> 3x3 conv, concatenated with
    its input; the first BN reads the concatenation, so no conv before it absorbs it."""

    def __init__(self, c: int = 8, growth: int = 4) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.BatchNorm2d(c), nn.Conv2d(c, 2 * growth, 1, bias=False)
        self.norm2, self.conv2 = nn.BatchNorm2d(2 * growth), nn.Conv2d(2 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(torch.relu(self.norm1(x)))
        h = self.conv2(torch.relu(self.norm2(h)))
        return torch.cat([x, h], 1)


def test_unfoldable_batch_norm_runs_as_scale_and_shift(tmp_path):
    torch.manual_seed(0)
    model = DenseLayer().eval()
    for bn in (model.norm1, model.norm2):  # non-trivial statistics
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.5, 0.5)
    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        ref = model(x).numpy()
    pkg = cir.compile(model, tmp_path / "dense.circ", example_inputs=(x,), soc=SOC)
    lowered = (pkg / "model.mlir").read_text()
    assert "cir.batch_norm" not in lowered and "_scale = " in lowered  # norm1: scale/shift kernels
    with cir.load(pkg) as sess:
        got = sess.run({"x": x.numpy()})["output_0"]
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4 * float(np.abs(ref).max()))
