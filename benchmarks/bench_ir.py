"""How fast circ handles CIR text and runs the reference interpreter.

Builds a chain of N ResNet/SD-style blocks (conv -> group_norm -> silu -> add) in memory,
then times: building, verifying, printing, parsing the printed text back, a cse+dce pipeline,
and interpreting it. Prints per-op costs; no pass/fail.
"""

from __future__ import annotations

import time

import numpy as np

import cir
from cir import ops
from cir.build import build_module
from cir.types import tensor

BLOCKS = 500
C, H = 8, 8


def build():
    rng = np.random.default_rng(0)
    weights = {}

    def body(b, x):
        h = x
        for i in range(BLOCKS):
            w = b.add(ops.WeightOp(f"b{i}.w", tensor((C, C, 3, 3), "f32")))
            weights[f"b{i}.w"] = (rng.standard_normal((C, C, 3, 3)) * 0.1).astype(np.float32)
            c = b.add(ops.Conv2dOp(h, w, pads=[1, 1, 1, 1]))
            g = b.add(ops.GroupNormOp(c, num_groups=4))
            s = b.add(ops.SiluOp(g))
            h = b.add(ops.AddOp(h, s))
        return [h]

    module = build_module("main", {"x": tensor((1, C, H, H), "f32")}, body)
    return module, weights


def timed(label: str, n_ops: int, fn):
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    print(f"{label:<12} {dt * 1e3:8.1f} ms  {dt / n_ops * 1e6:7.1f} us/op")
    return out


def main() -> None:
    t = time.perf_counter()
    module, weights = build()
    n = sum(1 for _ in module.walk())
    print(f"{BLOCKS} blocks, {n} ops; built in {(time.perf_counter() - t) * 1e3:.0f} ms")
    timed("verify", n, lambda: cir.verify(module))
    text = timed("print", n, lambda: cir.to_text(module))
    parsed = timed("parse", n, lambda: cir.parse_text(text))
    timed("cse,dce", n, lambda: cir.apply_pipeline(parsed, "cse,dce"))
    x = np.random.default_rng(1).standard_normal((1, C, H, H)).astype(np.float32)
    timed("interpret", n, lambda: cir.interpret(module, {"x": x}, weights=weights))


if __name__ == "__main__":
    main()
