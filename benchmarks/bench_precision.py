"""Accuracy of circ's precision modes: PSNR of each package's output against the fp32
framework output, for a diffusers VAE decoder and UNet, and how many ops each mode reduces.

    .venv/bin/python benchmarks/bench_precision.py [--size small|medium]

Every package runs through its AscendC kernels on the CPU runtime; the reference is PyTorch
eager in fp32 on the same inputs (PSNR = 20 log10(max|ref| / RMSE)).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cir

SOC = "Ascend910B1"
MODES = ["fp32", "mixed_float16", "allow_fp32_to_fp16", "force_fp16"]


def psnr(got: np.ndarray, ref: np.ndarray) -> float:
    mse = float(np.mean((got.astype(np.float64) - ref.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(float(np.abs(ref).max()) ** 2 / mse)


def models(size: str):  # type: ignore[no-untyped-def]
    from diffusers import AutoencoderKL, UNet2DConditionModel

    from examples.diffusers_models import TINY_UNET

    torch.manual_seed(0)
    channels = (32, 64) if size == "small" else (64, 128)
    unet_cfg = dict(TINY_UNET, block_out_channels=channels, sample_size=16 if size == "small" else 32)
    unet = UNet2DConditionModel(**unet_cfg).eval()
    hw = unet_cfg["sample_size"]
    unet_args = (torch.randn(1, 4, hw, hw), torch.tensor([500.0]), torch.randn(1, 7, 32))
    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=channels,
                        latent_channels=4, norm_num_groups=16, sample_size=2 * hw).eval()

    class Decoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vae = vae

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.vae.decode(z).sample

    yield "vae_decoder", Decoder().eval(), (torch.randn(1, 4, hw, hw),)
    yield "unet", unet, unet_args


def reduced_ops(pkg: Path) -> tuple[int, int]:
    """(ops computing in f16, ops in all) of the package's lowered IR."""
    lines = [ln for ln in (pkg / "model.mlir").read_text().splitlines()
             if re.search(r"= cir\.(?!weight|constant|cast)", ln)]
    return sum("xf16>" in ln.split("->")[-1] for ln in lines), len(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["small", "medium"], default="small")
    size = ap.parse_args().size
    print(f"{'model':<12} {'mode':<20} {'PSNR vs fp32 torch':>18} {'f16 ops':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, model, args in models(size):
            with torch.no_grad():
                out = model(*args)
            ref = (out.sample if hasattr(out, "sample") else out).numpy()
            for mode in MODES:
                pkg = cir.compile(model, Path(tmp) / f"{name}-{mode}.circ", example_inputs=args, soc=SOC,
                                  precision=mode)
                with cir.load(pkg) as sess:
                    feeds = dict(zip([t.name for t in sess.inputs], (a.numpy() for a in args)))
                    got = next(iter(sess.run(feeds).values()))
                n16, n = reduced_ops(pkg)
                print(f"{name:<12} {mode:<20} {psnr(got, ref):>15.1f} dB {n16:>5}/{n:<4}", flush=True)


if __name__ == "__main__":
    main()
