"""How fast circ's generated 2-D pooling kernels (lowering/kernels/pool.py) run on the CPU layer.

Real shapes, fp32, lowered for Ascend910B1 and launched warm exactly as run_lowered launches
them (only the launch is timed; the best of several rounds: the machine is shared):

- resnet50's stem max pool: x 1x64x112x112, kernel 3, stride 2, pad 1;
- an avg pool 1x256x28x28, kernel 3, stride 1, pad 1 (count_include_pad=False);
- a 2x2 stride-2 max pool 1x64x56x56.

Prints ms per launch and the GB/s of input read, and checks each result against the
reference interpreter. ``--scalar`` times the scalar kernel (the fallback, and what ran before
the vector path) instead.

    python benchmarks/bench_pool.py [--threads 2] [--rounds 7] [--scalar]
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

from cir import ops

CASES = [
    ("resnet50 stem max 1x64x112x112 k3 s2 p1", (1, 64, 112, 112),
     lambda v: ops.MaxPool2dOp(v, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("avg 1x256x28x28 k3 s1 p1 (excl. pad)", (1, 256, 28, 28),
     lambda v: ops.AvgPool2dOp(v, kernel=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=False)),
    ("max 1x64x56x56 k2 s2", (1, 64, 56, 56),
     lambda v: ops.MaxPool2dOp(v, kernel=[2, 2], strides=[2, 2])),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="worker threads (simulated cores)")
    ap.add_argument("--rounds", type=int, default=7, help="rounds; the best is kept")
    ap.add_argument("--soc", default="Ascend910B1")
    ap.add_argument("--scalar", action="store_true", help="time the scalar kernel (no vector path)")
    args = ap.parse_args()
    if args.scalar:
        from cir.lowering.kernels import pool

        pool.vector_plan = lambda op, soc: None
    os.environ["CIRC_ASCENDC_THREADS"] = str(args.threads)
    work = Path(tempfile.mkdtemp(prefix="circ-bench-pool-"))
    rng = np.random.default_rng(0)
    print(f"threads (simulated cores): {args.threads}, soc {args.soc}, {'scalar' if args.scalar else 'vector'} path")
    for i, (label, shape, make) in enumerate(CASES):
        x = rng.standard_normal(shape).astype(np.float32)
        launch, (y,) = lowered_launch(make, [x], None, work / f"case{i}", args.soc)
        launch()
        best = 1e9
        for _ in range(args.rounds):
            t = time.perf_counter()
            launch()
            best = min(best, time.perf_counter() - t)
        err = float(np.abs(y - interpreted(make, [x])).max())
        print(f"{label:42s}: {best * 1e3:7.3f} ms, {x.nbytes / best / 1e9:6.2f} GB/s input read, "
              f"max abs err {err:.1e}")


if __name__ == "__main__":
    main()
