"""Softmax, reduction, argmax, pooling and attention kernels (lowering/kernels/reduce.py,
pool.py, attention.py) against the reference interpreter, on both SoC archs.

Tolerances, relative to max|ref|: fp32 1e-5 (the same fp32 formulas, summed in another order:
per-256-byte tree sums, tile by tile). fp16 inputs are widened to fp32 in UB, so the error is
mostly the final rounding to fp16 (2^-11 ~ 4.9e-4 relative) plus, for attention, the fp16
probabilities fed to the P·V matmul (each rounded to 2^-11): 2e-3 for softmax and the
reductions, 5e-3 for attention.
"""

from __future__ import annotations

import numpy as np
import pytest

import cir
from cir import ops
from cir.app.execute import run_lowered
from cir.build import build_module
from cir.types import dtype_from_numpy, tensor

RNG = np.random.default_rng(11)
SOCS = ["Ascend910B1", "Ascend310P3"]
FP = [(np.float32, 1e-5), (np.float16, 2e-3)]


def check(make, *arrays: np.ndarray, tmp, tol: float, soc: str = "Ascend910B1") -> None:
    names = [f"a{i}" for i in range(len(arrays))]
    types = {n: tensor(a.shape, dtype_from_numpy(a.dtype)) for n, a in zip(names, arrays)}

    def body(b, *args):
        return [b.add(make(*args))]

    inputs = dict(zip(names, arrays))
    want = cir.interpret(build_module("main", types, body), inputs)
    module = build_module("main", types, body)
    cir.apply_pipeline(module, f"lower-to-ascendc{{soc={soc} host_fallback=false}}")
    got = run_lowered(module, inputs, tmp)
    for k in want:
        w, g = want[k].astype(np.float64), got[k].astype(np.float64)
        assert w.shape == g.shape
        scale = max(float(np.abs(w).max()), 1.0)
        np.testing.assert_allclose(g, w, rtol=0, atol=tol * scale)


@pytest.mark.parametrize("soc", SOCS)
@pytest.mark.parametrize("dtype,tol", FP)
def test_softmax(tmp_path, soc, dtype, tol):
    x = (RNG.standard_normal((5, 333)) * 3).astype(dtype)
    for cls in (ops.SoftmaxOp, ops.LogSoftmaxOp):
        check(cls, x, tmp=tmp_path, tol=tol, soc=soc)  # last axis, one tile per row
        check(lambda v, cls=cls: cls(v, axis=0), x, tmp=tmp_path, tol=tol, soc=soc)  # across rows
    y = (RNG.standard_normal((2, 7, 3, 5)) * 2).astype(dtype)
    check(lambda v: ops.SoftmaxOp(v, axis=1), y, tmp=tmp_path, tol=tol, soc=soc)
    check(lambda v: ops.LogSoftmaxOp(v, axis=2), y, tmp=tmp_path, tol=tol, soc=soc)


def test_softmax_long_rows(tmp_path):
    """Rows longer than a UB tile: every pass streams the row from GM."""
    x = (RNG.standard_normal((3, 20011)) * 4).astype(np.float32)
    check(ops.SoftmaxOp, x, tmp=tmp_path, tol=1e-5)
    check(ops.LogSoftmaxOp, x, tmp=tmp_path, tol=1e-5)
    check(lambda v: ops.ReduceSumOp(v, axes=[1]), x, tmp=tmp_path, tol=1e-5)


REDUCE_OPS = (ops.ReduceSumOp, ops.ReduceMeanOp, ops.ReduceMaxOp, ops.ReduceMinOp)
# (axes, keepdims) on x[3, 4, 5, 37]; the first two (and [-1, -2], the same kernel as [3]) are the
# row form and the column form with no reduced outer dim; the others add outer dims to decode
FORMS = [([3], False), ([1, 2], True), ([-1, -2], True)]
OUTER = [([0, 2], False), ([0, 3], True), ([1, 3], False), ([0, 1, 2, 3], False)]
# each parametrization runs every axes pattern on one reduction, a different one each
ALL_PATTERNS = {("Ascend910B1", np.float32): ops.ReduceSumOp, ("Ascend310P3", np.float32): ops.ReduceMeanOp,
                ("Ascend910B1", np.float16): ops.ReduceMaxOp, ("Ascend310P3", np.float16): ops.ReduceMinOp}


@pytest.mark.parametrize("soc", SOCS)
@pytest.mark.parametrize("dtype,tol", FP)
def test_reductions(tmp_path, soc, dtype, tol):
    """Every reduction in the row and the column form on each dtype and arch; every pattern of
    reduced / kept outer dims on each dtype and arch (and with each reduction once). A pattern
    only changes the kernel's index decoding and a reduction only its combine / scale calls, so
    the full cross product (4 x 7 kernels per dtype and arch) compiled 48 kernels more for no
    line of C++ (names and constants aside) that this does not run."""
    x = RNG.standard_normal((3, 4, 5, 37)).astype(dtype)
    for cls in REDUCE_OPS:
        for axes, keep in FORMS + (OUTER if cls is ALL_PATTERNS[soc, dtype] else []):
            check(lambda v, cls=cls, axes=axes, keep=keep: cls(v, axes=axes, keepdims=keep), x, tmp=tmp_path, tol=tol, soc=soc)


@pytest.mark.parametrize("soc", SOCS)
def test_argmax(tmp_path, soc):
    x = RNG.standard_normal((4, 6, 131)).astype(np.float32)
    x[1, 2, 7] = x[1, 2, 100] = 9.0  # ties: the first index wins
    for axis in (2, 1, 0):
        for keep in (False, True):
            check(lambda v, axis=axis, keep=keep: ops.ArgmaxOp(v, axis=axis, keepdims=keep), x, tmp=tmp_path, tol=0, soc=soc)
    check(lambda v: ops.ArgmaxOp(v, axis=-1), x.astype(np.float16), tmp=tmp_path, tol=0, soc=soc)


@pytest.mark.parametrize("soc", SOCS)
@pytest.mark.parametrize("dtype,tol", FP)
def test_pools(tmp_path, soc, dtype, tol):
    x = RNG.standard_normal((2, 3, 11, 13)).astype(dtype)
    for kw in [{"kernel": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
               {"kernel": [2, 3], "strides": [2, 1], "pads": [0, 1, 1, 0], "ceil_mode": True},
               {"kernel": [3, 3], "strides": [2, 2], "ceil_mode": True}]:
        check(lambda v, kw=kw: ops.MaxPool2dOp(v, **kw), x, tmp=tmp_path, tol=tol, soc=soc)
        check(lambda v, kw=kw: ops.AvgPool2dOp(v, **kw), x, tmp=tmp_path, tol=tol, soc=soc)
        check(lambda v, kw=kw: ops.AvgPool2dOp(v, count_include_pad=False, **kw), x, tmp=tmp_path,
              tol=tol, soc=soc)
    check(lambda v: ops.MaxPool2dOp(v, kernel=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], dilations=[2, 1]),
          x, tmp=tmp_path, tol=tol, soc=soc)


def pool_path(make, x: np.ndarray, soc: str) -> str:
    """Which pooling kernel lower-to-ascendc picks: "vector" or "scalar" (from its comment)."""
    from cir.lowering import ascendc as A

    module = build_module("main", {"a0": tensor(x.shape, dtype_from_numpy(x.dtype))}, lambda b, v: [b.add(make(v))])
    cir.apply_pipeline(module, f"lower-to-ascendc{{soc={soc} host_fallback=false}}")
    comments = [op.comment.data for op in module.walk() if isinstance(op, A.KernelOp)]
    assert len(comments) == 1
    return "vector" if "on the vector unit" in comments[0] else "scalar"


def _pool(cls, **kw):
    return lambda v: cls(v, **kw)


F32, F16 = [(np.float32, 1e-5)], FP
# (input shape, op, dtypes): the vector path (arch 220) on strides 1 / 2 / 4, kernels 1-7,
# padding, dilation, ceil_mode, odd widths, several planes a tile (and a last, partial group), row
# tiles, fp16
VECTOR_POOLS = {
    "s1-k3-max": ((2, 3, 11, 13), _pool(ops.MaxPool2dOp, kernel=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]), F16),
    "s1-k5-avg-incl": ((1, 2, 9, 14), _pool(ops.AvgPool2dOp, kernel=[5, 5], strides=[1, 1], pads=[2, 2, 2, 2]), F16),
    "s1-dil21-max": ((2, 3, 11, 13), _pool(ops.MaxPool2dOp, kernel=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                                          dilations=[2, 1]), F32),
    "s2-k3-max-odd": ((1, 3, 15, 17), _pool(ops.MaxPool2dOp, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), F16),
    "s2-k7-avg-excl-ceil": ((1, 2, 23, 21), _pool(ops.AvgPool2dOp, kernel=[7, 7], strides=[2, 2], pads=[3, 3, 3, 3],
                                                  count_include_pad=False, ceil_mode=True), F16),
    "s2-dil22-max": ((1, 3, 13, 15), _pool(ops.MaxPool2dOp, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                          dilations=[2, 2]), F32),
    "s21-k23-avg-ceil": ((2, 3, 11, 13), _pool(ops.AvgPool2dOp, kernel=[2, 3], strides=[2, 1], pads=[0, 1, 1, 0],
                                               ceil_mode=True), F32),
    "s4-k5-max": ((1, 2, 19, 23), _pool(ops.MaxPool2dOp, kernel=[5, 5], strides=[4, 4], pads=[2, 2, 2, 2]), F16),
    "s4-k4-avg-ceil": ((1, 2, 17, 18), _pool(ops.AvgPool2dOp, kernel=[4, 4], strides=[4, 4], ceil_mode=True,
                                             count_include_pad=False), F16),
    "s2-k1-avg": ((1, 2, 9, 9), _pool(ops.AvgPool2dOp, kernel=[1, 1], strides=[2, 2]), F32),  # a row phase unused
    "planes-max": ((3, 7, 8, 9), _pool(ops.MaxPool2dOp, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), F16),
    "planes-avg": ((2, 8, 7, 7), _pool(ops.AvgPool2dOp, kernel=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1],
                                      count_include_pad=False), F32),
    "row-tiles-avg": ((1, 1, 300, 301), _pool(ops.AvgPool2dOp, kernel=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
                      F32),
    "resnet50-stem": ((1, 64, 112, 112), _pool(ops.MaxPool2dOp, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                      F32),
}


@pytest.mark.parametrize("case", VECTOR_POOLS)
def test_pool_vector_path(tmp_path, case):
    shape, make, dtypes = VECTOR_POOLS[case]
    for dtype, tol in dtypes:
        x = RNG.standard_normal(shape).astype(dtype)
        assert pool_path(make, x, "Ascend910B1") == "vector"
        check(make, x, tmp=tmp_path, tol=tol)


def test_pool_scalar_fallback(tmp_path):
    """Stride_w 3 (no GatherMask pattern) and arch 200 (no DataCopyPad) take the scalar kernel."""
    x = RNG.standard_normal((1, 2, 10, 11)).astype(np.float32)
    make = _pool(ops.MaxPool2dOp, kernel=[3, 3], strides=[3, 3], pads=[1, 1, 1, 1])
    assert pool_path(make, x, "Ascend910B1") == "scalar"
    assert pool_path(make, x, "Ascend310P3") == "scalar"
    check(make, x, tmp=tmp_path, tol=1e-5)


ATT = [(np.float32, 1e-5), (np.float16, 5e-3)]


@pytest.mark.parametrize("dtype,tol", ATT)
def test_flash_attention_bnsd(tmp_path, dtype, tol):
    """S = 150, S' = 200: neither a multiple of the 16-row / 128-key blocks."""
    q = RNG.standard_normal((2, 3, 150, 40)).astype(dtype)
    k = RNG.standard_normal((2, 3, 200, 40)).astype(dtype)
    v = RNG.standard_normal((2, 3, 200, 24)).astype(dtype)
    check(lambda *a: ops.FlashAttentionOp(*a, head_num=3, scale=0.15), q, k, v, tmp=tmp_path, tol=tol)
    check(lambda *a: ops.FlashAttentionOp(*a, head_num=3, scale=0.15, causal=True), q, k[:, :, :150],
          v[:, :, :150], tmp=tmp_path, tol=tol)
    # S' = 256: two full key blocks, each one SoftmaxFlashV2 updating the other's statistics
    k2, v2 = (RNG.standard_normal((2, 3, 256, d)).astype(dtype) for d in (40, 24))
    check(lambda *a: ops.FlashAttentionOp(*a, head_num=3, scale=0.15), q, k2 * 3, v2, tmp=tmp_path, tol=tol)


@pytest.mark.parametrize("soc", SOCS)
@pytest.mark.parametrize("dtype,tol", ATT)
def test_flash_attention_bsh_mask(tmp_path, soc, dtype, tol):
    q = RNG.standard_normal((2, 37, 4 * 16)).astype(dtype)
    k = RNG.standard_normal((2, 141, 4 * 16)).astype(dtype)
    v = RNG.standard_normal((2, 141, 4 * 8)).astype(dtype)
    check(lambda *a: ops.FlashAttentionOp(*a, head_num=4, input_layout="BSH", scale=0.25), q, k, v,
          tmp=tmp_path, tol=tol, soc=soc)
    add = (RNG.standard_normal((2, 1, 37, 141)) * 2).astype(dtype)
    check(lambda *a: ops.FlashAttentionOp(*a, head_num=4, input_layout="BSH", scale=0.25), q, k, v, add,
          tmp=tmp_path, tol=tol, soc=soc)
    keep = RNG.random((37, 141)) > 0.3
    keep[:, 0] = True  # every query sees a key (a fully masked row is NaN in the reference)
    check(lambda *a: ops.FlashAttentionOp(*a, head_num=4, input_layout="BSH", scale=0.25, causal=True),
          q, k[:, :37], v[:, :37], keep[:, :37], tmp=tmp_path, tol=tol, soc=soc)


@pytest.mark.parametrize("dtype,tol", ATT)
def test_attention(tmp_path, dtype, tol):
    q = RNG.standard_normal((3, 19, 32)).astype(dtype)
    k = RNG.standard_normal((1, 45, 32)).astype(dtype)  # broadcast batch
    v = RNG.standard_normal((1, 45, 20)).astype(dtype)
    check(lambda *a: ops.AttentionOp(*a), q, k, v, tmp=tmp_path, tol=tol)
    check(lambda *a: ops.AttentionOp(*a, causal=True), q, k[:, :19], v[:, :19], tmp=tmp_path, tol=tol)
    mask = RNG.random((3, 19, 45)) > 0.5
    mask[:, :, 3] = True
    check(lambda *a: ops.AttentionOp(*a, scale=0.3), q, k, v, mask, tmp=tmp_path, tol=tol)
