"""Import + normalise time and op counts for diffusers UNets (export not counted).

Models: the tiny UNet of the tests and an SD1.5-size UNet2DConditionModel
(cross_attention_dim=768, default block sizes, random weights), sample 1x4x64x64, context
1x77x768. Prints one line per model.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the bundled examples

from examples.diffusers_models import TINY_UNET  # noqa: E402

import time
from collections import Counter

import torch

from cir.dialects.torch.importer import _GraphImporter, load_program
from cir.app.frontend import normalize_module


def unet(config: dict) -> torch.nn.Module:
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    return UNet2DConditionModel(**config).eval()


MODELS = {
    "tiny UNet": (
        dict(**TINY_UNET),
        (1, 4, 8, 8), (1, 7, 32),
    ),
    "SD1.5-size UNet": (dict(cross_attention_dim=768), (1, 4, 64, 64), (1, 77, 768)),
}


def main() -> None:
    for name, (config, sample, context) in MODELS.items():
        model = unet(config)
        args = (torch.randn(*sample), torch.tensor([10.0]), torch.randn(*context))
        t0 = time.perf_counter()
        ep = torch.export.export(model, args)
        t1 = time.perf_counter()
        ep = load_program(ep)  # decomposition to core ATen is part of import
        module = _GraphImporter(ep).build()
        t2 = time.perf_counter()
        n_import = sum(1 for op in module.walk() if op.name.startswith("torch."))
        normalize_module(module, "pytorch")
        t3 = time.perf_counter()
        counts = Counter(op.name for op in module.walk() if op.name.startswith("cir."))
        params = sum(p.numel() for p in model.parameters())
        print(f"{name}: {params / 1e6:.1f}M params | export {t1 - t0:.2f} s (not counted) | "
              f"import {t2 - t1:.2f} s ({n_import} ATen ops) | normalise {t3 - t2:.2f} s "
              f"({sum(counts.values())} CIR ops, {counts['cir.weight']} weights) | "
              f"import+normalise {t3 - t1:.2f} s")
        del model, ep, module


if __name__ == "__main__":
    main()
