"""A Stable-Diffusion-style UNet block in PyTorch: the project's own example model.

ResBlock (GroupNorm + SiLU, time embedding), a transformer block (self- and cross-attention,
GEGLU feed-forward), then down- and up-sampling. Small enough to run anywhere in milliseconds.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

CHANNELS, GROUPS, TIME_DIM, CONTEXT_DIM, HEADS = 32, 8, 32, 24, 4


class ResBlock(nn.Module):
    def __init__(self, c: int, time_dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, c, eps=1e-6)
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.time_emb = nn.Linear(time_dim, c)
        self.norm2 = nn.GroupNorm(GROUPS, c, eps=1e-6)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return x + h


class Attention(nn.Module):
    def __init__(self, dim: int, context_dim: int):
        super().__init__()
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.to_q(x), self.to_k(context), self.to_v(context)
        q, k, v = (t.view(b, -1, HEADS, d // HEADS).transpose(1, 2) for t in (q, k, v))
        o = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(o.transpose(1, 2).reshape(b, n, d))


class GEGLU(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.proj = nn.Linear(dim, hidden * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, context_dim: int):
        super().__init__()
        self.norm_in = nn.GroupNorm(GROUPS, dim, eps=1e-6)
        self.proj_in = nn.Conv2d(dim, dim, 1)
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, context_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = GEGLU(dim, dim * 2)
        self.ff_out = nn.Linear(dim * 2, dim)
        self.proj_out = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        t = self.proj_in(self.norm_in(x)).flatten(2).transpose(1, 2)
        n = self.norm1(t)
        t = t + self.attn1(n, n)
        t = t + self.attn2(self.norm2(t), context)
        t = t + self.ff_out(self.ff(self.norm3(t)))
        return x + self.proj_out(t.transpose(1, 2).reshape(b, c, h, w))


class SDBlock(nn.Module):
    """sample (1, 32, 16, 16), timestep embedding (1, 32), context (1, 8, 24) -> (1, 32, 16, 16)."""

    def __init__(self) -> None:
        super().__init__()
        self.res = ResBlock(CHANNELS, TIME_DIM)
        self.attn = TransformerBlock(CHANNELS, CONTEXT_DIM)
        self.down = nn.Conv2d(CHANNELS, CHANNELS, 3, stride=2, padding=1)
        self.up = nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1)

    def forward(self, sample: torch.Tensor, temb: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        h = self.attn(self.res(sample, temb), context)
        h = self.down(h)
        return self.up(F.interpolate(h, scale_factor=2.0, mode="nearest"))


def example_inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(1, CHANNELS, 16, 16, generator=g), torch.randn(1, TIME_DIM, generator=g),
            torch.randn(1, 8, CONTEXT_DIM, generator=g))


def make_model(seed: int = 0) -> SDBlock:
    torch.manual_seed(seed)
    return SDBlock().eval()
