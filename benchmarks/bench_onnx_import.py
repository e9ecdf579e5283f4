"""ONNX import + normalise time and op counts for diffusers UNets exported with
``torch.onnx.export(..., dynamo=True)`` (export not counted).

Models: the tiny UNet of the tests and an SD1.5-size UNet2DConditionModel
(cross_attention_dim=768, default block sizes, random weights; saved with external data, as
it is over protobuf's 2 GB), sample 1x4x64x64, context 1x77x768. Prints one line per model:
load/check/shape inference/folding (``prepare``), building the onnx dialect (``build``),
``normalize-onnx``, and the op counts before and after.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the bundled examples

from examples.diffusers_models import TINY_UNET  # noqa: E402

import contextlib
import io
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

from cir.dialects.onnx.importer import _GraphImporter, load_model, prepare
from cir.app.frontend import normalize_module

MODELS = {
    "tiny UNet": (
        dict(**TINY_UNET),
        (1, 4, 8, 8), (1, 7, 32),
    ),
    "SD1.5-size UNet": (dict(cross_attention_dim=768), (1, 4, 64, 64), (1, 77, 768)),
}


def export(name: str, config: dict, sample: tuple, context: tuple, out: Path) -> float:
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    model = UNet2DConditionModel(**config).eval()
    args = (torch.randn(*sample), torch.tensor([10.0]), torch.randn(*context))
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        program = torch.onnx.export(model, args, dynamo=True, verbose=False)
        program.save(out, external_data=True)
    params = sum(p.numel() for p in model.parameters())
    del model, program
    return params, time.perf_counter() - t0


def main() -> None:
    for name, (config, sample, context) in MODELS.items():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "unet.onnx"
            params, t_export = export(name, config, sample, context, path)
            t0 = time.perf_counter()
            model, base = load_model(path)
            model, base_dir = prepare(model, base)
            t1 = time.perf_counter()
            module = _GraphImporter(model, base_dir).build()
            t2 = time.perf_counter()
            n_nodes = len(model.graph.node)
            n_import = sum(1 for op in module.walk() if op.name.startswith("onnx."))
            normalize_module(module, "onnx")
            t3 = time.perf_counter()
            counts = Counter(op.name for op in module.walk() if op.name.startswith("cir."))
            fused = ", ".join(f"{counts[k]} {k.removeprefix('cir.')}" for k in
                              ("cir.group_norm", "cir.attention", "cir.layer_norm", "cir.silu"))
            print(f"{name}: {params / 1e6:.1f}M params, {n_nodes} ONNX nodes | export "
                  f"{t_export:.1f} s (not counted) | prepare {t1 - t0:.2f} s | build "
                  f"{t2 - t1:.2f} s ({n_import} onnx ops) | normalise {t3 - t2:.2f} s "
                  f"({sum(counts.values())} CIR ops, {counts['cir.weight']} weights; {fused}) | "
                  f"import+normalise {t3 - t0:.2f} s")
            del module, model


if __name__ == "__main__":
    main()
