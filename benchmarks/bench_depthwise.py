"""The depthwise conv2d vector kernel (lowering/kernels/depthwise.py) alone, on mobilenet_v3_small's
depthwise shapes.

    .venv/bin/python benchmarks/bench_depthwise.py [--threads 2] [--rounds 7] [--dtype f32]

Each conv (groups == in == out channels, "same" padding k // 2, with bias) is lowered by
lower-to-ascendc for Ascend910B1 and launched warm with the tiling a Session runs on the CPU layer
(`lowered_launch`); the best of --rounds is kept (the machine has 2 cores and may be shared). The
output is checked against the interpreter (max abs error / max |y|) and the kernel's name is
printed, so a conv that fell back to the cube path shows.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernels import interpreted, lowered_launch

import cir
from cir import ops
from cir.build import build_module
from cir.types import tensor

# (channels, h, w, k, stride): mobilenet_v3_small's depthwise convs (batch 1)
SHAPES = [(16, 112, 112, 3, 2), (72, 56, 56, 3, 2), (88, 28, 28, 3, 1), (96, 28, 28, 5, 2), (240, 14, 14, 5, 1),
          (120, 14, 14, 5, 1), (144, 14, 14, 5, 1), (288, 14, 14, 5, 2), (576, 7, 7, 5, 1)]


def best_of(fn, rounds: int) -> float:
    fn()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def kernel_name(props: dict, types: dict) -> str:
    """The name of the kernel lower-to-ascendc picks for the conv."""
    from cir.lowering.ascendc import KernelOp

    module = build_module("main", types, lambda bb, *v: [bb.add(ops.Conv2dOp(*v, **props))])
    cir.apply_pipeline(module, "lower-to-ascendc{soc=Ascend910B1}")
    return ",".join(k.sym_name.data for k in module.ops if isinstance(k, KernelOp))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="worker threads (simulated cores)")
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    os.environ["CIRC_ASCENDC_THREADS"] = str(a.threads)
    work = Path(tempfile.mkdtemp(prefix="circ-bench-depthwise-"))
    rng = np.random.default_rng(0)
    print(f"{a.threads} threads; Ascend910B1 kernels with the CPU layer's tiling; fp32; best of {a.rounds}")
    print("| conv (c x h x w, k, stride) | ms | rel err | kernel |")
    print("|---|---|---|---|")
    total = 0.0
    for i, (c, h, w, k, s) in enumerate(SHAPES):
        pad = k // 2
        oh, ow = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
        x = rng.standard_normal((1, c, h, w)).astype(np.float32)
        wt = (rng.standard_normal((c, 1, k, k)) / k).astype(np.float32)
        b = rng.standard_normal(c).astype(np.float32)
        props = {"strides": [s, s], "pads": [pad] * 4, "groups": c}
        launch, (y,) = lowered_launch(lambda *v, pr=props: ops.Conv2dOp(*v, **pr), [x, wt, b],
                                      [(1, c, oh, ow)], work / f"dw{i}")
        t = best_of(launch, a.rounds)
        types = {"x": tensor(x.shape, "f32"), "w": tensor(wt.shape, "f32"), "b": tensor(b.shape, "f32")}
        want = interpreted(lambda *v, pr=props: ops.Conv2dOp(*v, **pr), [x, wt, b])
        err = float(np.abs(y - want).max() / np.abs(want).max())
        total += t
        print(f"| {c}x{h}x{w}, k{k}, s{s} | {t * 1e3:.3f} | {err:.1e} | {kernel_name(props, types)} |", flush=True)
    print(f"| total | {total * 1e3:.2f} | | |", flush=True)


if __name__ == "__main__":
    main()
