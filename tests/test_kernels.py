"""Generated AscendC kernels, compiled with -Wall -Werror against circ's CPU layer and run
through ICPU_RUN_KF, against the reference interpreter on random inputs (odd sizes and
unaligned tails included, fp32 and fp16).

Tolerances: fp32 1e-5 relative (the kernels evaluate the interpreter's formulas with the same
fp32 operations, in another order for composed activations); fp16 2e-3 (the kernels compute in
fp16 where the interpreter computes in fp32 and rounds once).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cir
from cir import ops
from cir.build import build_module
from cir.runtime.kernels import run_lowered
from cir.types import dtype_from_numpy, tensor

RNG = np.random.default_rng(7)
SOC = "Ascend310P3"


def run_kernels(module, inputs: dict[str, np.ndarray], tmp: Path) -> dict[str, np.ndarray]:
    """Execute @main op by op: every CIR op through its generated kernels."""
    cir.apply_pipeline(module, f"lower-to-ascendc{{soc={SOC}}}")
    return run_lowered(module, inputs, tmp)


def check(make, *arrays: np.ndarray, tmp: Path, tol: float) -> None:
    names = [f"a{i}" for i in range(len(arrays))]
    types = {n: tensor(a.shape, dtype_from_numpy(a.dtype)) for n, a in zip(names, arrays)}

    def body(b, *args):
        return [b.add(make(*args))]

    inputs = dict(zip(names, arrays))
    want = cir.interpret(build_module("main", types, body), inputs)
    got = run_kernels(build_module("main", types, body), inputs, tmp)
    for k in want:
        w, g = want[k].astype(np.float64), got[k].astype(np.float64)
        scale = max(float(np.abs(w).max()), 1.0)
        np.testing.assert_allclose(g, w, rtol=0, atol=tol * scale)


UNARY = [ops.ReluOp, ops.AbsOp, ops.ExpOp, ops.SqrtOp, ops.RsqrtOp, ops.ReciprocalOp,
         ops.NegOp, ops.SigmoidOp, ops.SiluOp, ops.HardswishOp, ops.LogOp]
POSITIVE = (ops.SqrtOp, ops.RsqrtOp, ops.ReciprocalOp, ops.LogOp)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float16, 2e-3)])
@pytest.mark.parametrize("shape", [(3, 1001), (64, 257)], ids=["tail", "multi-block"])
def test_elementwise_kernels(tmp_path, dtype, tol, shape):
    for cls in UNARY:
        x = RNG.standard_normal(shape).astype(dtype)
        if cls in POSITIVE:
            x = np.abs(x) + np.asarray(0.5, dtype)
        check(cls, x, tmp=tmp_path, tol=tol)
    a, b = RNG.standard_normal(shape).astype(dtype), RNG.standard_normal(shape).astype(dtype)
    for cls in (ops.AddOp, ops.SubOp, ops.MulOp, ops.MaximumOp, ops.MinimumOp):
        check(cls, a, b, tmp=tmp_path, tol=tol)
    check(lambda x: ops.GeluOp(x, approximate="tanh"), a, tmp=tmp_path, tol=max(tol, 1e-5))


def test_scalar_operand_and_gather_kernels(tmp_path):
    x = RNG.standard_normal((5, 37)).astype(np.float32)
    s = np.array([1.5], np.float32)
    check(ops.MulOp, x, s, tmp=tmp_path, tol=1e-6)
    check(ops.AddOp, x, s, tmp=tmp_path, tol=1e-6)
    y = RNG.standard_normal((2, 3, 5, 7)).astype(np.float32)
    check(lambda v: ops.TransposeOp(v, perm=[0, 2, 3, 1]), y, tmp=tmp_path, tol=0)
    check(lambda v: ops.SliceOp(v, starts=[0, 1, 0, 2], ends=[2, 3, 5, 7], steps=[1, 1, 2, 2]),
          y, tmp=tmp_path, tol=0)
    check(lambda v: ops.PadOp(v, low=[0, 0, 1, 2], high=[0, 0, 2, 1], value=-3.0), y,
          tmp=tmp_path, tol=0)
    check(lambda v: ops.PadOp(v, low=[0, 0, 1, 2], high=[0, 0, 2, 1], mode="reflect"), y,
          tmp=tmp_path, tol=0)
    check(lambda v: ops.UpsampleOp(v, size=[10, 14]), y, tmp=tmp_path, tol=0)
    check(lambda v: ops.BroadcastToOp(v, shape=[4, 2, 3, 5, 7]), y, tmp=tmp_path, tol=0)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float16, 4e-3)])
def test_norm_kernels(tmp_path, dtype, tol):
    x = RNG.standard_normal((2, 16, 9, 11)).astype(dtype)
    g, b = (RNG.standard_normal(16).astype(dtype) for _ in range(2))
    check(lambda *a: ops.GroupNormSiluOp(*a, num_groups=4, epsilon=1e-5), x, g, b, tmp=tmp_path, tol=tol)
    check(lambda *a: ops.GroupNormOp(*a, num_groups=8), x, g, b, tmp=tmp_path, tol=tol)
    t = RNG.standard_normal((3, 7, 40)).astype(dtype)
    w, c = (RNG.standard_normal(40).astype(dtype) for _ in range(2))
    check(lambda *a: ops.LayerNormOp(*a), t, w, c, tmp=tmp_path, tol=tol)
    check(lambda *a: ops.RmsNormOp(*a, epsilon=1e-6), t, w, tmp=tmp_path, tol=tol)
