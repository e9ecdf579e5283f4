"""``circ demo`` / ``make demo``: the bundled example, end to end, checked against PyTorch.

Until the frontends and the AscendC lowering land, the demo parses the bundled CIR block,
makes its weights (seeded), runs the cleanup pipeline, interprets it, and compares the result
with the same block computed by PyTorch eager.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cir.errors import CircError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PIPELINE = "canonicalize,cse"
# fp32 conv + group-norm: numpy/BLAS and torch sum ~300 products in different orders.
TOLERANCE = 1e-4


def make_weights(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def r(*shape: int, scale: float = 0.1) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    return {
        "conv1.weight": r(32, 32, 3, 3), "conv1.bias": r(32),
        "norm.weight": 1 + r(32), "norm.bias": r(32),
        "conv2.weight": r(32, 32, 3, 3), "conv2.bias": r(32),
    }  # fmt: skip


def torch_reference(x: np.ndarray, w: dict[str, np.ndarray]) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = {k: torch.from_numpy(v) for k, v in w.items()}
    xs = torch.from_numpy(x)
    h = F.conv2d(xs, t["conv1.weight"], t["conv1.bias"], padding=1)
    h = F.silu(F.group_norm(h, 8, t["norm.weight"], t["norm.bias"], eps=1e-6))
    return (xs + F.conv2d(h, t["conv2.weight"], t["conv2.bias"], padding=1)).numpy()


def run_demo(out_dir: Path) -> None:
    from cir.interpreter import interpret
    from cir.io import parse_file, to_text
    from cir.pipeline import apply_pipeline
    from cir.weights import WeightStore, attach

    source = EXAMPLES / "conv_block" / "block.mlir"
    if not source.is_file():
        raise CircError(f"the bundled example is missing: {source} (run from a circ checkout)")
    out_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    module = parse_file(source)
    n_before = sum(1 for _ in module.walk())
    weights = WeightStore(make_weights())
    weights.save(out_dir / "block.safetensors")
    attach(module, weights)
    apply_pipeline(module, PIPELINE)
    n_after = sum(1 for _ in module.walk())
    (out_dir / "block.opt.mlir").write_text(to_text(module))
    t1 = time.perf_counter()

    x = np.random.default_rng(1).standard_normal((1, 32, 16, 16)).astype(np.float32)
    got = interpret(module, {"sample": x}, weights=WeightStore.open(out_dir / "block.safetensors"))
    t2 = time.perf_counter()
    want = torch_reference(x, make_weights())
    np.save(out_dir / "out.npy", got["out"])

    err = float(np.max(np.abs(got["out"] - want)))
    rel = err / float(np.max(np.abs(want)))
    print(f"parsed   {source.relative_to(EXAMPLES.parent)} ({n_before} ops)")
    print(f"pipeline {PIPELINE}: {n_before} -> {n_after} ops ({(t1 - t0) * 1e3:.0f} ms)")
    print(f"interpreted @main on sample{list(x.shape)} ({(t2 - t1) * 1e3:.0f} ms)")
    print(f"vs PyTorch eager: max abs error {err:.2e}, relative {rel:.2e} (tolerance {TOLERANCE:.0e})")
    print(f"wrote {out_dir}/block.opt.mlir, block.safetensors, out.npy")
    if rel > TOLERANCE:
        raise CircError(f"the demo's result differs from PyTorch by {rel:.2e} (> {TOLERANCE:.0e})")
    print("demo: OK")
