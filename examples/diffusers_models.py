"""The diffusers UNet configurations circ's tests and benchmarks share (random weights)."""

from __future__ import annotations

# 0.8M parameters: every SD UNet block type, small enough for the reference interpreter
TINY_UNET = dict(
    sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
    block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
    attention_head_dim=8, norm_num_groups=16,
)  # fmt: skip
TINY_UNET_INPUTS = {"sample": (1, 4, 8, 8), "encoder_hidden_states": (1, 7, 32)}

# Stable Diffusion 1.5's UNet (860M parameters) at 64x64 latents
SD15_UNET = dict(cross_attention_dim=768)
SD15_UNET_INPUTS = {"sample": (1, 4, 64, 64), "encoder_hidden_states": (1, 77, 768)}
