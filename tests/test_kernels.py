"""Generated AscendC kernels, compiled with -Wall -Werror against circ's CPU layer and run
through ICPU_RUN_KF, against the reference interpreter on random inputs (odd sizes and
unaligned tails included, fp32 and fp16).

Tolerances: fp32 1e-5 relative (the kernels evaluate the interpreter's formulas with the same
fp32 operations, in another order for composed activations); fp16 2e-3 (the kernels compute in
fp16 where the interpreter computes in fp32 and rounds once).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from cir.lowering.kernels.elementwise import CASTS

import cir
from cir import ops
from cir.app.execute import run_lowered
from cir.build import build_module
from cir.types import dtype_from_numpy, tensor

RNG = np.random.default_rng(7)
SOC = "Ascend310P3"


def run_kernels(module, inputs: dict[str, np.ndarray], tmp: Path) -> dict[str, np.ndarray]:
    """Execute @main op by op: every CIR op through its generated kernels."""
    cir.apply_pipeline(module, f"lower-to-ascendc{{soc={SOC} host_fallback=false}}")  # kernels only
    return run_lowered(module, inputs, tmp)


def check(make, *arrays: np.ndarray, tmp: Path, tol: float) -> None:
    names = [f"a{i}" for i in range(len(arrays))]
    types = {n: tensor(a.shape, dtype_from_numpy(a.dtype)) for n, a in zip(names, arrays)}

    def body(b, *args):
        op = make(*args)
        b.add(op)
        return list(op.results)  # every result is compared

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



LAST_DIM_TRANSPOSES = [((2, 5, 3, 13), [0, 2, 1, 3]), ((3, 17, 40), [1, 0, 2]),
                       ((2, 3, 4, 5, 9), [0, 3, 1, 2, 4]), ((3, 2, 4, 5, 7), [2, 0, 3, 1, 4]),
                       ((2, 1, 3, 6), [2, 1, 0, 3]), ((4, 3, 5, 6), [1, 0, 2, 3]),
                       ((20, 2, 3000), [1, 0, 2]), ((2, 3, 16391), [1, 0, 2])]


@pytest.mark.parametrize("soc", ["Ascend910B1", "Ascend310P3"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_transpose_keeping_last_dim(tmp_path, monkeypatch, soc, dtype):
    """Strided row copies (DataCopy / the arch's unaligned tail), bit-exact."""
    monkeypatch.setitem(globals(), "SOC", soc)  # run_kernels reads the module-level SOC
    for shape, perm in LAST_DIM_TRANSPOSES:
        x = RNG.standard_normal(shape).astype(dtype)
        check(lambda v, perm=perm: ops.TransposeOp(v, perm=perm), x, tmp=tmp_path, tol=0)

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


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float16, 4e-3)])
def test_group_norm_big_rows(tmp_path, dtype, tol):
    """Rows longer than one tile: a group resident in UB (channels of a multiple of 8 elements,
    several channels per tile) and a streamed one (x read twice); a mean far from zero checks
    the per-tile (Chan / Welford) combination of the statistics."""
    x = (RNG.standard_normal((1, 64, 40, 40)) + 30.0).astype(dtype)
    g, b = (RNG.standard_normal(64).astype(dtype) for _ in range(2))
    check(lambda *a: ops.GroupNormSiluOp(*a, num_groups=2), x, g, b, tmp=tmp_path, tol=tol)
    x = RNG.standard_normal((1, 8, 101, 101)).astype(dtype)
    g, b = (RNG.standard_normal(8).astype(dtype) for _ in range(2))
    check(lambda *a: ops.GroupNormOp(*a, num_groups=1), x, g, b, tmp=tmp_path, tol=tol)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float16, 2e-3)])
def test_more_elementwise_kernels(tmp_path, dtype, tol):
    x = RNG.standard_normal((7, 45)).astype(dtype)
    for cls in (ops.TanhOp, ops.SinOp, ops.CosOp, ops.ErfOp, ops.FloorOp):
        check(cls, x, tmp=tmp_path, tol=tol)
    check(lambda v: ops.GeluOp(v, approximate="none"), x, tmp=tmp_path, tol=tol)
    check(lambda v: ops.ClampOp(v, min=-0.5, max=0.75), x, tmp=tmp_path, tol=tol)
    check(lambda v: ops.ClampOp(v, min=-0.5), x, tmp=tmp_path, tol=tol)
    base = (np.abs(x) + np.asarray(0.5, dtype)).astype(dtype)
    check(ops.PowOp, base, RNG.uniform(-2, 2, x.shape).astype(dtype), tmp=tmp_path, tol=tol)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float16, 2e-3)])
def test_broadcasting_binary_kernels(tmp_path, dtype, tol):
    """Every broadcast pattern with the non-commutative sub and div (an operand read in the
    wrong place or order shows); add / mul / maximum take turns over the patterns, a different
    turn per dtype. A pattern only changes the row kernel's indexing and copy-in, an op only its
    compute step (the flat kernel's, test_elementwise_kernels): the full 5 x 5 cross product
    compiled 10 kernels more per dtype for no line of C++ (names aside) that this does not run."""
    def r(*shape):
        return RNG.standard_normal(shape).astype(dtype)

    x = r(2, 6, 5, 7)
    cases = [
        (x, r(2, 6, 1, 1)),   # per-channel value (bias of a time embedding)
        (x, r(7)),            # a row vector
        (x, r(1, 6, 1, 7)),   # broadcast in two separated dimensions
        (r(6, 1, 7), r(5, 1)),  # both operands broadcast
        (r(1), x),            # a single value first (sub/div are not commutative)
    ]
    commutative = [ops.AddOp, ops.MulOp, ops.MaximumOp]
    shift = 0 if dtype == np.float32 else 1
    for k, (a, b) in enumerate(cases):
        check(ops.SubOp, a, b, tmp=tmp_path, tol=tol)
        check(ops.DivOp, a, (np.abs(b) + np.asarray(0.5, dtype)).astype(dtype), tmp=tmp_path, tol=tol)
        check(commutative[(k + shift) % 3], a, b, tmp=tmp_path, tol=tol)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float16, 4e-3)])
def test_fused_vector_kernels(tmp_path, dtype, tol):
    x = RNG.standard_normal((2, 5, 2 * 37)).astype(dtype)
    check(lambda v: ops.GegluOp(v), x, tmp=tmp_path, tol=tol)
    check(lambda v: ops.GegluOp(v, approximate="tanh", activate_left=True), x, tmp=tmp_path, tol=tol)
    a, b = (RNG.standard_normal((2, 16, 5, 3)).astype(dtype) for _ in range(2))
    g, c = (RNG.standard_normal(16).astype(dtype) for _ in range(2))
    check(lambda *v: ops.AddGroupNormOp(*v, num_groups=4, activate_silu=True), a, b, g, c, tmp=tmp_path, tol=tol)
    t1, t2 = (RNG.standard_normal((3, 9, 40)).astype(dtype) for _ in range(2))
    w, d = (RNG.standard_normal(40).astype(dtype) for _ in range(2))
    check(lambda *v: ops.AddLayerNormOp(*v, epsilon=1e-5), t1, t2, w, d, tmp=tmp_path, tol=tol)


def test_data_movement_kernels(tmp_path):
    a, b = RNG.standard_normal((2, 3, 5)).astype(np.float32), RNG.standard_normal((2, 4, 5)).astype(np.float32)
    check(lambda *v: ops.ConcatOp(list(v), axis=1), a, b, tmp=tmp_path, tol=0)
    check(lambda v: ops.SplitOp(v, axis=2, sizes=[2, 3]), b, tmp=tmp_path, tol=0)
    table = RNG.standard_normal((11, 24)).astype(np.float32)
    ids = np.array([[3, 0, 10, -1, 3]], np.int64)
    check(lambda t, i: ops.GatherOp(t, i, axis=0), table, ids, tmp=tmp_path, tol=0)
    y = RNG.standard_normal((2, 20, 3, 5)).astype(np.float16)

    def round_trip(v):
        packed = ops.TransDataOp(v, "NC1HWC0")
        return packed, ops.TransDataOp(packed.results[0], "ND")
    check_chain(round_trip, y, tmp=tmp_path)


def check_chain(make, *arrays: np.ndarray, tmp: Path) -> None:
    """Like check, for a chain of ops whose last result is the output."""
    names = [f"a{i}" for i in range(len(arrays))]
    types = {n: tensor(a.shape, dtype_from_numpy(a.dtype)) for n, a in zip(names, arrays)}

    def body(b, *args):
        made = make(*args)
        for o in made:
            b.add(o)
        return [made[-1].results[0]]

    inputs = dict(zip(names, arrays))
    want = cir.interpret(build_module("main", types, body), inputs)
    got = run_kernels(build_module("main", types, body), inputs, tmp)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])


def test_fp16_precision_with_cast_kernels(tmp_path):
    """convert-precision then every kernel (casts at the boundary) against the interpreter of
    the same fp16 module; and the fp16 result against fp32 within fp16 rounding."""
    x = RNG.standard_normal((2, 16, 5, 7)).astype(np.float32)
    g, b = (RNG.standard_normal(16).astype(np.float32) for _ in range(2))
    types = {n: tensor(a.shape, "f32") for n, a in (("x", x), ("g", g), ("b", b))}

    def body(bld, xv, gv, bv):
        n = bld.add(ops.GroupNormSiluOp(xv, gv, bv, num_groups=4))
        return [bld.add(ops.AddOp(n, xv))]

    inputs = {"x": x, "g": g, "b": b}
    full = cir.interpret(build_module("main", types, body), inputs)["output_0"]
    module = build_module("main", types, body)
    cir.apply_pipeline(module, "convert-precision{to=f16}")
    want = cir.interpret(module, inputs)["output_0"]
    got = run_kernels(module, inputs, tmp_path)["output_0"]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=4e-3 * np.abs(want).max())
    np.testing.assert_allclose(want, full, rtol=0, atol=4e-3 * np.abs(full).max())


CAST_VALUES = {  # per source type: values that exercise rounding, truncation and range
    np.int64: lambda n: np.concatenate([RNG.integers(-5000, 5000, n - 4), [0, 1 << 24, (1 << 24) + 1, -(1 << 30)]]),
    np.int32: lambda n: RNG.integers(-60000, 60000, n),
    np.int8: lambda n: RNG.integers(-128, 128, n),
    np.float32: lambda n: RNG.standard_normal(n) * 1000,
    np.float16: lambda n: RNG.standard_normal(n) * 100,
}


@pytest.mark.parametrize("pair", sorted(tomllib.loads(CASTS.read_text())["arch220"]))
def test_cast_kernels(tmp_path, monkeypatch, pair):
    """Every cir.cast pair of lowering/casts.toml (arch 220), one Cast or two through UB, with a
    tail: exactly the interpreter's values (numpy's conversions: truncation toward zero, round
    to nearest even), except the fp16 ones whose integer source is out of fp16's exact range."""
    monkeypatch.setattr(sys.modules[__name__], "SOC", "Ascend910B1")  # arch 220's table
    by_ctype = {"float": np.float32, "half": np.float16, "int64_t": np.int64, "int32_t": np.int32,
                "int8_t": np.int8}
    src, dst = (by_ctype[t] for t in pair.split("->"))
    x = CAST_VALUES[src](1003).astype(src)
    if dst in (np.int8, np.int32, np.int64):  # in range: out-of-range float -> int is undefined
        info = np.iinfo(dst)
        x = np.clip(x, max(info.min, -60000), min(info.max, 60000)).astype(src)
    check(lambda a: ops.CastOp(a, dtype_from_numpy(dst).ir), x, tmp=tmp_path, tol=0.0)


COMPARES = [ops.EqOp, ops.NeOp, ops.LtOp, ops.LeOp, ops.GtOp, ops.GeOp]


@pytest.mark.parametrize("soc,dtype", [("Ascend910B1", np.float32), ("Ascend910B1", np.float16),
                                       ("Ascend910B1", np.int32), ("Ascend310P3", np.float32)])
def test_compare_kernels(tmp_path, monkeypatch, soc, dtype):
    """Compare into bit masks, Select 1/0, Cast to bytes: exactly numpy's comparisons, ties
    included (int32: equality, the one mode its Compare has), with an unaligned tail (1003 elements) and a single-value operand on either side."""
    monkeypatch.setattr(sys.modules[__name__], "SOC", soc)
    a = np.round(RNG.standard_normal((3, 1003)) * 3).astype(dtype)  # rounded: many equal pairs
    b = np.round(RNG.standard_normal((3, 1003)) * 3).astype(dtype)
    s = np.array([1], dtype)
    for cls in COMPARES if dtype != np.int32 else [ops.EqOp]:  # int32 Compare has EQ only
        check(cls, a, b, tmp=tmp_path, tol=0)
    for cls in (ops.LtOp, ops.NeOp) if dtype != np.int32 else [ops.EqOp]:  # CompareScalar, mirrored
        check(cls, a, s, tmp=tmp_path, tol=0)
        check(cls, s, b, tmp=tmp_path, tol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_where_and_logical_kernels(tmp_path, dtype):
    cond = RNG.random((4, 517)) > 0.4
    other = RNG.random((4, 517)) > 0.6
    a, b = RNG.standard_normal((4, 517)).astype(dtype), RNG.standard_normal((4, 517)).astype(dtype)
    check(ops.WhereOp, cond, a, b, tmp=tmp_path, tol=0)
    check(ops.WhereOp, cond, a, np.array([-np.inf], dtype), tmp=tmp_path, tol=0)  # a masked fill
    check(ops.WhereOp, cond, np.array([0.5], dtype), b, tmp=tmp_path, tol=0)
    for cls in (ops.LogicalAndOp, ops.LogicalOrOp, ops.LogicalXorOp):
        check(cls, cond, other, tmp=tmp_path, tol=0)
    check(ops.LogicalNotOp, cond, tmp=tmp_path, tol=0)


def test_mask_ops_outside_the_kernels_take_the_host_fallback():
    """Broadcasting other than a single value, and i64 comparisons: no kernel (host fallback)."""
    from cir.build import build_module

    types = {"a": tensor((4, 8), dtype_from_numpy(np.float32)), "b": tensor((1, 8), dtype_from_numpy(np.float32)),
             "i": tensor((4, 8), dtype_from_numpy(np.int64))}

    def body(b, x, y, i):
        lt, eq = ops.LtOp(x, y), ops.EqOp(i, i)
        b.add(lt)
        b.add(eq)
        return [lt.results[0], eq.results[0]]

    module = build_module("main", types, body)
    with pytest.raises(cir.CircError, match=r"cir.lt with broadcasting x1.*\n.*cir.eq on int64_t x1"):
        cir.apply_pipeline(module, "lower-to-ascendc{soc=Ascend910B1 host_fallback=false}")
    module = build_module("main", types, body)
    cir.apply_pipeline(module, "lower-to-ascendc{soc=Ascend910B1}")
    from cir.lowering.lower_to_ascendc import host_ops

    assert [(h["op"], h["count"]) for h in host_ops(module)] == [("cir.lt", 1), ("cir.eq", 1)]


def test_index_kernels(tmp_path):
    """gather_elements / gather_nd / scatter_nd / cumsum read their indices at run time:
    bit-exact moves (negative indices included), sums in the interpreter's order."""
    x = RNG.standard_normal((3, 5, 7)).astype(np.float32)
    idx = RNG.integers(-5, 5, (3, 4, 7))
    check(lambda a, i: ops.GatherElementsOp(a, i, axis=1), x, idx, tmp=tmp_path, tol=0)
    rows = np.array([[0, -1], [2, 3], [1, 0], [-3, 4]])  # x[i, j, :] per row
    check(ops.GatherNdOp, x, rows, tmp=tmp_path, tol=0)
    check(ops.GatherNdOp, x, np.array([[[2], [0]], [[1], [-1]]]), tmp=tmp_path, tol=0)
    upd = RNG.standard_normal((4, 7)).astype(np.float32)
    dup = np.array([[0, 1], [2, 3], [0, 1], [1, 4]])  # (0, 1) twice: the last wins / both add
    check(lambda a, i, u: ops.ScatterNdOp(a, i, u), x, dup, upd, tmp=tmp_path, tol=0)
    check(lambda a, i, u: ops.ScatterNdOp(a, i, u, reduction="add"), x, dup, upd, tmp=tmp_path, tol=1e-6)
    for exclusive in (False, True):
        for reverse in (False, True):
            check(lambda a, e=exclusive, r=reverse: ops.CumsumOp(a, axis=1, exclusive=e, reverse=r), x,
                  tmp=tmp_path, tol=1e-6)
    ints = RNG.integers(-100, 100, (4, 9)).astype(np.int64)
    check(lambda a: ops.CumsumOp(a, axis=-1), ints, tmp=tmp_path, tol=0)
    check(lambda a: ops.CumsumOp(a, axis=0, reverse=True), ints.astype(np.int32), tmp=tmp_path, tol=0)


def test_int32_arithmetic_kernels(tmp_path, monkeypatch):
    """Integer add / sub / mul / max / min run as kernels (the vector calls take int32_t);
    int64 ones take the host fallback (test_mask_ops_outside_the_kernels...)."""
    monkeypatch.setattr(sys.modules[__name__], "SOC", "Ascend910B1")
    a = RNG.integers(-1000, 1000, (3, 301)).astype(np.int32)
    b = RNG.integers(-1000, 1000, (3, 301)).astype(np.int32)
    for cls in (ops.AddOp, ops.SubOp, ops.MulOp, ops.MaximumOp, ops.MinimumOp):
        check(cls, a, b, tmp=tmp_path, tol=0)
    check(ops.AddOp, a, np.array([7], np.int32), tmp=tmp_path, tol=0)


@pytest.mark.parametrize("soc", ["Ascend910B1", "Ascend310P3"])
def test_every_kernel_has_a_cpu_layer_tiling(soc):
    """A kernel's C++ must not depend on the core count (only its tiling may), or the CPU layer
    runs the SoC's many small tiles: every launch of these ops (model-sized shapes) that uses
    more blocks than the CPU layer's cores carries a `cpu` tiling with at most that many."""
    from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr

    from cir.soc import CPU_LAYER_CORES

    def body(b, x, w, s2w, lw, lb, q, k, v, h, g):
        c = b.add(ops.Conv2dOp(x, w, pads=[1, 1, 1, 1]))
        outs = [c, b.add(ops.ReluOp(c)), b.add(ops.AddOp(c, c)),
                b.add(ops.Conv2dOp(c, s2w, strides=[2, 2], pads=[1, 1, 1, 1])),
                b.add(ops.MaxPool2dOp(c, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
                b.add(ops.GroupNormOp(c, g, g, num_groups=8)),
                b.add(ops.ReduceMeanOp(c, axes=[2, 3], keepdims=True)),
                b.add(ops.LinearOp(h, lw, lb)), b.add(ops.LinearActOp(h, lw, lb, activation="gelu")),
                b.add(ops.SoftmaxOp(b.add(ops.MatmulOp(q, b.add(ops.TransposeOp(k, perm=[0, 1, 3, 2])))))),
                b.add(ops.FlashAttentionOp(q, k, v, head_num=4, scale=0.125)),
                # a depthwise conv (its vector kernel on arch 220), the weight sliced from w
                b.add(ops.Conv2dOp(x, b.add(ops.SliceOp(w, starts=[0, 0, 0, 0], ends=[32, 1, 3, 3],
                                                        steps=[1, 1, 1, 1])), pads=[1, 1, 1, 1], groups=32))]
        return outs

    types = {"x": tensor((1, 32, 28, 28), "f32"), "w": tensor((64, 32, 3, 3), "f32"),
             "s2w": tensor((64, 64, 3, 3), "f32"), "lw": tensor((512, 256), "f32"), "lb": tensor((512,), "f32"),
             "q": tensor((1, 4, 128, 64), "f32"), "k": tensor((1, 4, 128, 64), "f32"), "v": tensor((1, 4, 128, 64), "f32"),
             "h": tensor((128, 256), "f32"), "g": tensor((64,), "f32")}
    module = cir.apply_pipeline(build_module("main", types, body), f"lower-to-ascendc{{soc={soc}}}")
    checked = set()
    for op in module.walk():
        launches = op.attributes.get("cir.launches")
        if not isinstance(launches, ArrayAttr):
            continue
        for d in launches.data:
            assert isinstance(d, DictionaryAttr)
            if d.data.get("engine") is not None or d.data["block_dim"].value.data <= CPU_LAYER_CORES:
                continue
            checked.add(op.name)
            assert "cpu" in d.data, f"{op.name} ({d.data['kernel']}) has no CPU-layer tiling"
            assert d.data["cpu"].data["block_dim"].value.data <= CPU_LAYER_CORES
    # (arch 200 computes linear_act as linear + gelu: lowering/decompose.py)
    fused = "cir.linear_act" if soc == "Ascend910B1" else "cir.gelu"
    assert len(checked) >= 8 and fused in checked, checked
