"""Memory planning on diffusers UNets: naive sum of intermediates, the liveness lower bound
(peak of live bytes) and the planned arena, after canonicalize + fusion + layout.
Goal: the arena within 10% of the lower bound and at most half of the naive sum."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the bundled examples

from examples.diffusers_models import TINY_UNET  # noqa: E402

import time

import torch

import cir
from cir.passes.plan_memory import plan_memory

PIPELINE = "canonicalize,aigc-fusion{preset=sd_optimized},layout{soc=Ascend910B1}"  # then plan-memory


def models():

    tiny = dict(**TINY_UNET)
    yield "tiny UNet", tiny, (1, 4, 8, 8), (1, 7, 32)
    yield "SD1.5-size UNet", dict(cross_attention_dim=768), (1, 4, 64, 64), (1, 77, 768)


def main() -> None:
    from diffusers import UNet2DConditionModel

    for name, config, sample, context in models():
        torch.manual_seed(0)
        model = UNet2DConditionModel(**config).eval()
        args = (torch.randn(*sample), torch.tensor([10.0]), torch.randn(*context))
        module = cir.import_model(model, args)
        t = time.perf_counter()
        cir.apply_pipeline(module, PIPELINE)
        plan = plan_memory(module)["main"]
        mib = 1 << 20
        print(f"{name}: naive {plan.naive_bytes / mib:.1f} MiB | lower bound "
              f"{plan.lower_bound / mib:.1f} MiB | plan {plan.arena_bytes / mib:.1f} MiB "
              f"({plan.arena_bytes / plan.lower_bound:.3f}x bound, "
              f"{plan.arena_bytes / plan.naive_bytes:.3f}x naive) | "
              f"{len(plan.buffers)} buffers | passes {time.perf_counter() - t:.2f} s")
        del model, module


if __name__ == "__main__":
    main()
