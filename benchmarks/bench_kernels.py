"""How fast circ's *generated* cube and norm kernels run on the CPU layer, against the machine.

(a) cir.conv2d 3x3, 320 -> 320 channels, 64x64, batch 1, pad 1, bias, fp32, lowered by
    lower-to-ascendc (implicit GEMM: im2col tiles in GM workspace + the Matmul API), launched
    warm exactly as run_lowered launches it (only the launch is timed), in GFLOP/s
    (2 * 320 * 4096 * 2880 flop) beside OpenBLAS's own sgemm on the equivalent GEMM
    (M=320, N=4096, K=2880) with the same thread count (target >= 70%);
(b) cir.group_norm_silu on (1, 320, 64, 64) fp32, 32 groups, in GB/s (read x + write y)
    beside numpy's copy bandwidth (read + write bytes of a 100 MB copy; target >= 50%).

Rounds are interleaved and the best kept: the machine is shared.

    python benchmarks/bench_kernels.py [--threads 2] [--rounds 5]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from cir.runtime import ascendc_cpu as acpu

import cir
from cir import ops
from cir.app.execute import LaunchSpec, build_module_library
from cir.build import build_module
from cir.types import tensor


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def lowered_launch(make, arrays: list[np.ndarray], out_shapes: list[tuple[int, ...]] | None, workdir: Path,
                   soc: str = "Ascend910B1"):
    """The op's kernels built and its buffers prepared once (outputs in `out_shapes`, or the op's
    result shapes when None); returns (launch(), outputs)."""
    types = {f"a{i}": tensor(a.shape, "f32") for i, a in enumerate(arrays)}
    module = build_module("main", types, lambda b, *v: [b.add(make(*v))])
    cir.apply_pipeline(module, f"lower-to-ascendc{{soc={soc}}}")
    lib = build_module_library(module, workdir)
    main_fn = next(iter(module.body.block.ops))
    op = next(o for o in main_fn.body.block.ops if o.name.startswith("cir."))
    shapes = out_shapes or [tuple(r.type.get_shape()) for r in op.results]
    outs = [np.empty(s, np.float32) for s in shapes]
    calls = []
    for spec in LaunchSpec.of(op, cpu_layer=True):  # the tiling a Session runs on the CPU
        bufs = []
        for binding in spec.args:
            kind, _, what = binding.partition(":")
            bufs.append(arrays[int(what)] if kind == "operand" else outs[int(what)])
        bufs.append(np.zeros(max(spec.workspace, 64), np.uint8))
        bufs.append(np.array(spec.tiling, np.int64))
        calls.append((spec.kernel, bufs, spec.block_dim))

    def launch():
        for name, bufs, dim in calls:
            lib.launch(name, [b.ctypes.data for b in bufs], dim)

    return launch, outs


def interpreted(make, arrays: list[np.ndarray]) -> np.ndarray:
    """The op's output on `arrays` by the reference interpreter (what a timed kernel is checked
    against)."""
    types = {f"a{i}": tensor(a.shape, "f32") for i, a in enumerate(arrays)}
    module = build_module("main", types, lambda b, *v: [b.add(make(*v))])
    return next(iter(cir.interpret(module, {f"a{i}": a for i, a in enumerate(arrays)}).values()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="worker threads (simulated cores)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best is kept")
    args = ap.parse_args()
    os.environ["CIRC_ASCENDC_THREADS"] = str(args.threads)
    work = Path(tempfile.mkdtemp(prefix="circ-bench-kernels-"))
    rng = np.random.default_rng(0)

    # (b) first: loading OpenBLAS starts threads that spin for a while
    c, h, w, groups = 320, 64, 64, 32
    x = rng.standard_normal((1, c, h, w)).astype(np.float32)
    gamma, beta = (rng.standard_normal(c).astype(np.float32) for _ in range(2))
    gn, (y,) = lowered_launch(lambda *v: ops.GroupNormSiluOp(*v, num_groups=groups, epsilon=1e-5),
                              [x, gamma, beta], [x.shape], work / "gn")
    src = np.ones(25_000_000, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    gn()
    best = {"copy": 1e9, "gn": 1e9, "conv": 1e9, "sgemm": 1e9}
    for _ in range(args.rounds):
        best["copy"] = min(best["copy"], timed(lambda: np.copyto(dst, src)))
        best["gn"] = min(best["gn"], min(timed(gn) for _ in range(3)))

    # (a) conv3x3 vs sgemm
    cin = cout = 320
    xc = rng.standard_normal((1, cin, h, w)).astype(np.float32)
    wc = (rng.standard_normal((cout, cin, 3, 3)) / 50).astype(np.float32)
    bc = rng.standard_normal(cout).astype(np.float32)
    conv, (yc,) = lowered_launch(lambda *v: ops.Conv2dOp(*v, pads=[1, 1, 1, 1]), [xc, wc, bc],
                                 [(1, cout, h, w)], work / "conv")
    conv()
    M, N, K = cout, h * w, cin * 9
    _, libdir, libname = acpu.openblas_dirs()
    blas = ctypes.CDLL(str(libdir / f"lib{libname}.so"))
    p, i = ctypes.c_void_p, ctypes.c_int
    blas.scipy_cblas_sgemm.argtypes = [i, i, i, i, i, i, ctypes.c_float, p, i, p, i, ctypes.c_float, p, i]
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    cmat = np.empty((M, N), np.float32)

    def sgemm():
        blas.scipy_cblas_sgemm(101, 111, 111, M, N, K, 1.0, a.ctypes.data, K, b.ctypes.data, N, 0.0,
                               cmat.ctypes.data, N)

    for _ in range(args.rounds):
        best["conv"] = min(best["conv"], timed(conv))
    blas.scipy_openblas_set_num_threads(args.threads)
    sgemm()
    for _ in range(args.rounds):
        best["sgemm"] = min(best["sgemm"], timed(sgemm))
    blas.scipy_openblas_set_num_threads(1)
    conv()

    # correctness of what was timed
    ref = interpreted(lambda *v: ops.Conv2dOp(*v, pads=[1, 1, 1, 1]), [xc, wc, bc])
    conv_err = float(np.abs(yc - ref).max() / np.abs(yc).max())

    flop = 2.0 * M * N * K
    conv_gf, blas_gf = flop / best["conv"] / 1e9, flop / best["sgemm"] / 1e9
    copy_gbs = 2 * src.nbytes / best["copy"] / 1e9
    gn_gbs = (x.nbytes + y.nbytes) / best["gn"] / 1e9
    print(f"threads (simulated cores)              : {args.threads}")
    print(f"(a) generated conv3x3 320->320 64x64   : {conv_gf:6.1f} GFLOP/s, {best['conv'] * 1e3:.1f} ms, "
          f"rel err {conv_err:.1e}")
    print(f"    OpenBLAS sgemm {M}x{N}x{K}       : {blas_gf:6.1f} GFLOP/s ({args.threads} threads)")
    print(f"    ratio                              : {100 * conv_gf / blas_gf:.0f}% (target >= 70%)")
    print(f"(b) generated group_norm_silu (1,320,64,64): {gn_gbs:6.1f} GB/s, {best['gn'] * 1e3:.2f} ms")
    print(f"    numpy copy bandwidth (100 MB)      : {copy_gbs:6.1f} GB/s (read + write)")
    print(f"    ratio                              : {100 * gn_gbs / copy_gbs:.0f}% (target >= 50%)")


if __name__ == "__main__":
    main()
