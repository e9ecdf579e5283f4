"""The Stable-Diffusion-style block of ``torch_block.py``, written for MindSpore.

Same structure, sizes and parameter names as the PyTorch ``SDBlock`` (NCHW, like MindSpore
itself): ResBlock (GroupNorm + SiLU, time embedding), a transformer block (self- and
cross-attention, GEGLU feed-forward), down- and up-sampling, with MindSpore's own cells
(``nn.GroupNorm``, ``nn.Conv2d``, ``nn.Dense``, ``nn.LayerNorm``, an exact ``nn.GELU``).
``from_torch`` builds it with the weights of a PyTorch ``SDBlock``: one set of weights for all
three frameworks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from mindspore import Tensor, nn, ops

CHANNELS, GROUPS, TIME_DIM, CONTEXT_DIM, HEADS = 32, 8, 32, 24, 4


def _conv(c: int, k: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c, c, k, stride=stride, pad_mode="pad", padding=k // 2, has_bias=True)


class ResBlock(nn.Cell):
    def __init__(self, c: int, time_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, c, eps=1e-6)
        self.conv1 = _conv(c, 3)
        self.time_emb = nn.Dense(time_dim, c)
        self.norm2 = nn.GroupNorm(GROUPS, c, eps=1e-6)
        self.conv2 = _conv(c, 3)

    def construct(self, x: Tensor, temb: Tensor) -> Tensor:
        h = self.conv1(ops.silu(self.norm1(x)))
        h = h + self.time_emb(ops.silu(temb))[:, :, None, None]
        h = self.conv2(ops.silu(self.norm2(h)))
        return x + h


class Attention(nn.Cell):
    def __init__(self, dim: int, context_dim: int):
        super().__init__()
        self.to_q = nn.Dense(dim, dim, has_bias=False)
        self.to_k = nn.Dense(context_dim, dim, has_bias=False)
        self.to_v = nn.Dense(context_dim, dim, has_bias=False)
        self.to_out = nn.Dense(dim, dim)
        self.scale = 1 / math.sqrt(dim // HEADS)

    def construct(self, x: Tensor, context: Tensor) -> Tensor:
        b, n, d = x.shape
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(context)
        q = q.reshape(b, -1, HEADS, d // HEADS).transpose(0, 2, 1, 3)
        k = k.reshape(b, -1, HEADS, d // HEADS).transpose(0, 2, 1, 3)
        v = v.reshape(b, -1, HEADS, d // HEADS).transpose(0, 2, 1, 3)
        scores = ops.matmul(q, k.swapaxes(-1, -2)) * self.scale
        o = ops.matmul(ops.softmax(scores, axis=-1), v)
        return self.to_out(o.transpose(0, 2, 1, 3).reshape(b, n, d))


class GEGLU(nn.Cell):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.proj = nn.Dense(dim, hidden * 2)
        self.gelu = nn.GELU(approximate=False)

    def construct(self, x: Tensor) -> Tensor:
        h, gate = ops.chunk(self.proj(x), 2, axis=-1)
        return h * self.gelu(gate)


class TransformerBlock(nn.Cell):
    def __init__(self, dim: int, context_dim: int):
        super().__init__()
        self.norm_in = nn.GroupNorm(GROUPS, dim, eps=1e-6)
        self.proj_in = _conv(dim, 1)
        self.norm1 = nn.LayerNorm((dim,), epsilon=1e-5)
        self.attn1 = Attention(dim, dim)
        self.norm2 = nn.LayerNorm((dim,), epsilon=1e-5)
        self.attn2 = Attention(dim, context_dim)
        self.norm3 = nn.LayerNorm((dim,), epsilon=1e-5)
        self.ff = GEGLU(dim, dim * 2)
        self.ff_out = nn.Dense(dim * 2, dim)
        self.proj_out = _conv(dim, 1)

    def construct(self, x: Tensor, context: Tensor) -> Tensor:
        b, c, h, w = x.shape
        t = self.proj_in(self.norm_in(x)).reshape(b, c, h * w).transpose(0, 2, 1)
        n = self.norm1(t)
        t = t + self.attn1(n, n)
        t = t + self.attn2(self.norm2(t), context)
        t = t + self.ff_out(self.ff(self.norm3(t)))
        return x + self.proj_out(t.transpose(0, 2, 1).reshape(b, c, h, w))


class SDBlock(nn.Cell):
    """sample (1, 32, 16, 16), timestep embedding (1, 32), context (1, 8, 24) -> (1, 32, 16, 16)."""

    def __init__(self) -> None:
        super().__init__()
        self.res = ResBlock(CHANNELS, TIME_DIM)
        self.attn = TransformerBlock(CHANNELS, CONTEXT_DIM)
        self.down = _conv(CHANNELS, 3, stride=2)
        self.up = _conv(CHANNELS, 3)

    def construct(self, sample: Tensor, temb: Tensor, context: Tensor) -> Tensor:
        h = self.attn(self.res(sample, temb), context)
        h = self.down(h)
        return self.up(ops.interpolate(h, scale_factor=2.0, mode="nearest",
                                       recompute_scale_factor=True))


# MindSpore names some parameters differently from PyTorch.
_RENAMES = {"gamma": "weight", "beta": "bias"}


def load_torch_weights(cell: nn.Cell, state_dict: Mapping[str, Any]) -> nn.Cell:
    """Give `cell` the weights of a PyTorch SDBlock state dict (same layouts: OIHW convs,
    (out, in) dense weights; GroupNorm / LayerNorm gamma, beta = weight, bias)."""
    for name, param in cell.parameters_and_names():
        head, _, last = name.rpartition(".")
        key = f"{head}.{_RENAMES.get(last, last)}"
        v = state_dict[key]
        value = v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)
        if tuple(value.shape) != tuple(param.shape):
            raise ValueError(f"{name}: torch {key} has shape {value.shape}, not {param.shape}")
        param.set_data(Tensor(np.ascontiguousarray(value, dtype=np.float32)))
    return cell


def from_torch(torch_model: Any) -> SDBlock:
    """The MindSpore block with the weights of a PyTorch SDBlock."""
    cell = load_torch_weights(SDBlock(), torch_model.state_dict())
    cell.set_train(False)
    return cell


__all__ = ["SDBlock", "from_torch", "load_torch_weights"]
