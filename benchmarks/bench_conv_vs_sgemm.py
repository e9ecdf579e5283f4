"""circ's generated conv kernels on the CPU layer against the BLAS's sgemm on the same GEMM (issue 15).

    .venv/bin/python benchmarks/bench_conv_vs_sgemm.py [--threads 2] [--rounds 5] [--set resnet50,...]

For each conv shape of ResNet-50, MobileNetV3-small (1x1 and depthwise) and the SD1.5 UNet
(fp32, batch 1): the op lowered by lower-to-ascendc for Ascend910B1 and launched warm with the
tiling a Session runs on the CPU layer, in GFLOP/s (2 * cout * pixels * cin/groups * kh * kw),
beside OpenBLAS's sgemm on the equivalent GEMM (M = cout, N = pixels, K = cin * kh * kw; for a
depthwise conv, the `groups` GEMMs M=1) on the same threads. The issue asks for >= 80%. Each
output is checked against the interpreter (max abs error / max |y|). The best of --rounds is
kept: the machine has 2 cores and may be shared.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernels import interpreted, lowered_launch
from cir.runtime import ascendc_cpu as acpu

from cir import ops

# (cin, h, w, cout, k, stride, pad, groups): the distinct convs of each model
SETS = {
    "resnet50": [(3, 224, 224, 64, 7, 2, 3, 1), (64, 56, 56, 64, 1, 1, 0, 1), (64, 56, 56, 64, 3, 1, 1, 1),
                 (64, 56, 56, 256, 1, 1, 0, 1), (256, 56, 56, 128, 1, 1, 0, 1), (128, 56, 56, 128, 3, 2, 1, 1),
                 (256, 56, 56, 512, 1, 2, 0, 1), (128, 28, 28, 128, 3, 1, 1, 1), (512, 28, 28, 256, 1, 1, 0, 1),
                 (256, 28, 28, 256, 3, 2, 1, 1), (256, 14, 14, 256, 3, 1, 1, 1), (1024, 14, 14, 256, 1, 1, 0, 1),
                 (512, 14, 14, 512, 3, 2, 1, 1), (512, 7, 7, 512, 3, 1, 1, 1), (512, 7, 7, 2048, 1, 1, 0, 1)],
    "mobilenet_v3_small": [(3, 224, 224, 16, 3, 2, 1, 1), (16, 112, 112, 16, 3, 2, 1, 16), (72, 56, 56, 72, 3, 2, 1, 72),
                           (16, 56, 56, 72, 1, 1, 0, 1), (96, 28, 28, 96, 5, 2, 2, 96), (240, 14, 14, 240, 5, 1, 2, 240),
                           (576, 7, 7, 576, 5, 1, 2, 576), (96, 7, 7, 576, 1, 1, 0, 1), (576, 7, 7, 96, 1, 1, 0, 1)],
    "sd15_unet": [(4, 64, 64, 320, 3, 1, 1, 1), (320, 64, 64, 320, 3, 1, 1, 1), (320, 32, 32, 640, 3, 1, 1, 1),
                  (640, 32, 32, 640, 3, 1, 1, 1), (640, 16, 16, 1280, 3, 1, 1, 1), (1280, 8, 8, 1280, 3, 1, 1, 1),
                  (320, 64, 64, 320, 1, 1, 0, 1), (640, 32, 32, 640, 1, 1, 0, 1)],
}


def best_of(fn, rounds: int) -> float:
    fn()
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="worker threads (simulated cores) and BLAS threads")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--set", default=",".join(SETS), help=f"shape sets: {', '.join(SETS)}")
    a = ap.parse_args()
    os.environ["CIRC_ASCENDC_THREADS"] = str(a.threads)
    work = Path(tempfile.mkdtemp(prefix="circ-bench-conv-"))
    rng = np.random.default_rng(0)
    _, libdir, libname = acpu.openblas_dirs()
    blas = ctypes.CDLL(str(libdir / f"lib{libname}.so"))
    p, i = ctypes.c_void_p, ctypes.c_int
    blas.scipy_cblas_sgemm.argtypes = [i, i, i, i, i, i, ctypes.c_float, p, i, p, i, ctypes.c_float, p, i]
    print(f"{a.threads} threads; Ascend910B1 kernels with the CPU layer's tiling; best of {a.rounds}")
    print("| model | conv (cin x h x w -> cout, k, stride, groups) | circ ms | circ GFLOP/s | sgemm GFLOP/s | "
          "ratio | rel err |")
    print("|---|---|---|---|---|---|---|")
    for name in a.set.split(","):
        total_circ = total_blas = 0.0
        for n_case, (cin, h, w, cout, k, s, pad, g) in enumerate(SETS[name]):
            oh, ow = (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
            x = rng.standard_normal((1, cin, h, w)).astype(np.float32)
            wt = (rng.standard_normal((cout, cin // g, k, k)) / np.sqrt(cin // g * k * k)).astype(np.float32)
            b = rng.standard_normal(cout).astype(np.float32)
            props = {"strides": [s, s], "pads": [pad] * 4, "groups": g}
            launch, (y,) = lowered_launch(lambda *v, pr=props: ops.Conv2dOp(*v, **pr), [x, wt, b],
                                          [(1, cout, oh, ow)], work / f"{name}{n_case}")
            t_circ = best_of(launch, a.rounds)
            want = interpreted(lambda *v, pr=props: ops.Conv2dOp(*v, **pr), [x, wt, b])
            err = float(np.abs(y - want).max() / np.abs(want).max())
            # the equivalent GEMM(s): one per group
            m, n_, kk = cout // g, oh * ow, cin // g * k * k
            am = rng.standard_normal((g, m, kk)).astype(np.float32)
            bm = rng.standard_normal((g, kk, n_)).astype(np.float32)
            cm = np.empty((g, m, n_), np.float32)

            def sgemm(am=am, bm=bm, cm=cm, m=m, n_=n_, kk=kk, g=g) -> None:
                for j in range(g):
                    blas.scipy_cblas_sgemm(101, 111, 111, m, n_, kk, 1.0, am[j].ctypes.data, kk, bm[j].ctypes.data,
                                           n_, 0.0, cm[j].ctypes.data, n_)

            blas.scipy_openblas_set_num_threads(a.threads)
            t_blas = best_of(sgemm, a.rounds)
            blas.scipy_openblas_set_num_threads(1)  # the CPU layer's blocks run BLAS single-threaded
            flop = 2.0 * g * m * n_ * kk
            total_circ += t_circ
            total_blas += t_blas
            print(f"| {name} | {cin}x{h}x{w} -> {cout}, k{k}, s{s}, g{g} | {t_circ * 1e3:.2f} | "
                  f"{flop / t_circ / 1e9:.1f} | {flop / t_blas / 1e9:.1f} | {100 * t_blas / t_circ:.0f}% | "
                  f"{err:.1e} |", flush=True)
        print(f"| {name} | all of the above | {total_circ * 1e3:.1f} | | | {100 * total_blas / total_circ:.0f}% | |",
              flush=True)


if __name__ == "__main__":
    main()
