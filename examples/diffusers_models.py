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


def unet_with_inputs(name: str):  # type: ignore[no-untyped-def]
    """("tiny_unet" | "sd15_unet") -> (module (sample, timestep, context) -> sample, example
    inputs, input names): the UNet as the benchmarks call it (random weights)."""
    import torch
    from diffusers import UNet2DConditionModel

    cfg, shapes = (TINY_UNET, TINY_UNET_INPUTS) if name == "tiny_unet" else (SD15_UNET, SD15_UNET_INPUTS)
    unet = UNet2DConditionModel(**cfg).eval()

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep, encoder_hidden_states):  # type: ignore[no-untyped-def]
            return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]

    args = (torch.randn(shapes["sample"]), torch.tensor([10.0]), torch.randn(shapes["encoder_hidden_states"]))
    return Wrapped().eval(), args, ["sample", "timestep", "encoder_hidden_states"]
