"""Cube kernels (lowering/cube.py: matmul, linear, linear_act, conv2d, conv_gn_silu) compiled
against circ's CPU layer and run through ICPU_RUN_KF, against the reference interpreter.

Tolerances, relative to max|ref|: fp32 1e-5 — kernel and interpreter both accumulate in fp32,
only the summation order differs (blocked sgemm vs numpy), which for the K <= 300 used here
stays far below 1e-5; the activations use the elementwise recipes (tested at 1e-5 there).
fp16 2e-3 — products accumulate in fp32 in both and the result is rounded to fp16 once
(half an fp16 ulp is 4.9e-4 relative), the im2col copies are exact.

The SoC is Ascend910B1 (arch 220); the convs also run for Ascend310P3 (arch 200: no
DataCopyPad, the im2col moves whole 32-byte blocks).
"""

from __future__ import annotations

import numpy as np
import pytest

import cir
import tests.test_kernels as tk
from cir import ops
from cir.build import build_module
from cir.errors import CircError
from cir.types import tensor
from tests.test_kernels import check

RNG = np.random.default_rng(11)
TOLS = [(np.float32, 1e-5), (np.float16, 2e-3)]


@pytest.fixture(autouse=True)
def _soc(monkeypatch):
    monkeypatch.setattr(tk, "SOC", "Ascend910B1")


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype,tol", TOLS)
def test_matmul(tmp_path, dtype, tol):
    check(ops.MatmulOp, rand(37, 45, dtype=dtype), rand(45, 29, dtype=dtype), tmp=tmp_path, tol=tol)
    # batch dims broadcast both ways, and a batched A against a plain B
    check(ops.MatmulOp, rand(3, 1, 17, 19, dtype=dtype), rand(4, 19, 23, dtype=dtype), tmp=tmp_path, tol=tol)
    check(ops.MatmulOp, rand(2, 5, 33, 7, dtype=dtype), rand(7, 130, dtype=dtype), tmp=tmp_path, tol=tol)
    check(ops.MatmulOp, rand(1, 9, 3, dtype=dtype), rand(6, 3, 11, dtype=dtype), tmp=tmp_path, tol=tol)


@pytest.mark.parametrize("dtype,tol", TOLS)
def test_matmul_transposed_operands(tmp_path, dtype, tol):
    """transpose_a / transpose_b: A stored (k, m), B stored (n, k), read transposed; batched and
    broadcast, tiles over M and N (the 1x1 convs of channels-last sandwiches become these)."""
    def mm(ta, tb):
        return lambda a, b: ops.MatmulOp(a, b, transpose_a=ta, transpose_b=tb)

    check(mm(True, False), rand(45, 37, dtype=dtype), rand(45, 29, dtype=dtype), tmp=tmp_path, tol=tol)
    check(mm(False, True), rand(2, 3, 17, 19, dtype=dtype), rand(23, 19, dtype=dtype), tmp=tmp_path, tol=tol)
    check(mm(True, True), rand(2, 40, 300, dtype=dtype), rand(70, 40, dtype=dtype), tmp=tmp_path, tol=tol)
    check(mm(False, True), rand(70, 40, dtype=dtype), rand(2, 300, 40, dtype=dtype), tmp=tmp_path, tol=tol)


def test_matmul_multi_tile(tmp_path):
    """Large enough that M and N are both split over the cores, with ragged last tiles."""
    check(ops.MatmulOp, rand(301, 67), rand(67, 333), tmp=tmp_path, tol=1e-5)


@pytest.mark.parametrize("dtype,tol", TOLS)
def test_linear(tmp_path, dtype, tol):
    x, w, b = rand(3, 13, 45, dtype=dtype), rand(29, 45, dtype=dtype), rand(29, dtype=dtype)
    check(ops.LinearOp, x, w, b, tmp=tmp_path, tol=tol)
    check(ops.LinearOp, x, w, tmp=tmp_path, tol=tol)
    check(ops.LinearOp, rand(150, 33, dtype=dtype), rand(270, 33, dtype=dtype), rand(270, dtype=dtype),
          tmp=tmp_path, tol=tol)


@pytest.mark.parametrize("dtype,tol", TOLS)
@pytest.mark.parametrize("act", ops.ACTIVATIONS)
def test_linear_act(tmp_path, dtype, tol, act):
    x, w, b = rand(2, 21, 37, dtype=dtype), rand(45, 37, dtype=dtype), rand(45, dtype=dtype)
    check(lambda *a: ops.LinearActOp(*a, activation=act), x, w, b, tmp=tmp_path, tol=tol)
    if act == "silu":
        check(lambda *a: ops.LinearActOp(*a, activation=act), x, w, tmp=tmp_path, tol=tol)


CONVS = {
    "3x3-pad1-bias": ((2, 6, 11, 13), (8, 6, 3, 3), True, {"pads": [1, 1, 1, 1]}),
    "stride2-pad1": ((1, 5, 13, 10), (7, 5, 3, 3), False, {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    "stride-hw-asym-pad": ((1, 3, 12, 15), (4, 3, 3, 2), True, {"strides": [2, 3], "pads": [0, 2, 1, 1]}),
    "groups2": ((1, 8, 9, 9), (6, 4, 3, 3), True, {"groups": 2, "pads": [1, 1, 1, 1]}),
    "depthwise": ((2, 12, 10, 7), (12, 1, 3, 3), True, {"groups": 12, "pads": [1, 1, 1, 1]}),
    "dilation2": ((1, 4, 14, 14), (5, 4, 3, 3), False, {"dilations": [2, 2], "pads": [2, 2, 2, 2]}),
    "1x1": ((2, 19, 7, 9), (11, 19, 1, 1), True, {}),
    "1x1-groups": ((1, 8, 5, 5), (6, 4, 1, 1), False, {"groups": 2}),
    "1x1-stride2": ((1, 8, 9, 9), (6, 8, 1, 1), True, {"strides": [2, 2]}),
    "7x7-pad3": ((1, 3, 20, 20), (8, 3, 7, 7), True, {"strides": [2, 2], "pads": [3, 3, 3, 3]}),
    # stride_w 2 / 4: the band as column phases (GatherMask); stride 3 above gathers elements
    "patch4-stride4": ((1, 3, 16, 20), (8, 3, 4, 4), True, {"strides": [4, 4]}),
    "stride2-dilation2": ((1, 4, 15, 15), (6, 4, 3, 3), False,
                          {"strides": [2, 2], "dilations": [2, 2], "pads": [2, 2, 2, 2]}),
    # units of (row tile, channel tile) with a last, smaller channel tile
    "channel-tiles": ((1, 8, 3, 7), (200, 8, 3, 3), True, {"pads": [1, 1, 1, 1]}),
    "1x1-channel-tiles": ((1, 16, 4, 8), (100, 16, 1, 1), True, {}),
}


SOCS = ["Ascend910B1", "Ascend310P3"]


@pytest.mark.parametrize("soc", SOCS)
@pytest.mark.parametrize("dtype,tol", TOLS)
@pytest.mark.parametrize("case", list(CONVS))
def test_conv2d(tmp_path, monkeypatch, soc, dtype, tol, case):
    monkeypatch.setattr(tk, "SOC", soc)
    xs, ws, bias, props = CONVS[case]
    arrays = [rand(*xs, dtype=dtype), rand(*ws, dtype=dtype)] + ([rand(ws[0], dtype=dtype)] if bias else [])
    check(lambda *a: ops.Conv2dOp(*a, **props), *arrays, tmp=tmp_path, tol=tol)


# Depthwise convs (groups == in == out channels): the vector-unit kernel of
# lowering/kernels/depthwise.py on arch 220 (MobileNetV3 shapes, odd widths, asymmetric
# "same" padding, a plane split into row tiles); arch 200 and a stride-2 conv of an odd width
# stay on the implicit-GEMM path (checked by name below).
DEPTHWISE = {
    "3x3-s1-bias": ((1, 16, 56, 56), 3, True, {"pads": [1, 1, 1, 1]}),
    "3x3-s2": ((1, 72, 28, 28), 3, False, {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    "5x5-s2-bias": ((1, 96, 14, 14), 5, True, {"strides": [2, 2], "pads": [2, 2, 2, 2]}),
    "5x5-s1-odd-width": ((2, 5, 9, 13), 5, False, {"pads": [2, 2, 2, 2]}),
    "3x3-s2-same-asym": ((1, 8, 16, 16), 3, True, {"strides": [2, 2], "pads": [0, 0, 1, 1]}),
    "3x3-row-tiles": ((1, 2, 112, 112), 3, True, {"pads": [1, 1, 1, 1]}),
    "3x3-s2-odd-width": ((1, 4, 11, 13), 3, True, {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    # many small planes a tile: a tap's weights broadcast by one Gather (7x7), an Axpy a plane
    # (14x14); batch 2 with an odd channel count, so tiles run into the next image and the last
    # tile of a core is partial
    "5x5-s1-576x7x7": ((1, 576, 7, 7), 5, True, {"pads": [2, 2, 2, 2]}),
    "5x5-s1-240x14x14": ((1, 240, 14, 14), 5, True, {"pads": [2, 2, 2, 2]}),
    "3x3-s1-batch2-odd-channels": ((2, 37, 7, 7), 3, True, {"pads": [1, 1, 1, 1]}),
    "5x5-s2-batch2-odd-channels": ((2, 45, 14, 14), 5, False, {"strides": [2, 2], "pads": [2, 2, 2, 2]}),
    "3x3-s1-batch2-tiles-axpy": ((2, 51, 14, 13), 3, True, {"pads": [1, 1, 1, 1]}),
}
DEPTHWISE_FALLBACK = {"3x3-s2-odd-width"}


def _depthwise(case):
    xs, k, bias, props = DEPTHWISE[case]
    shapes = [xs, (xs[1], 1, k, k)] + [(xs[1],)] * bias
    return shapes, (lambda *a: ops.Conv2dOp(*a, groups=xs[1], **props))


@pytest.mark.parametrize("dtype,tol", TOLS)
@pytest.mark.parametrize("case", list(DEPTHWISE))
def test_depthwise_conv2d(tmp_path, monkeypatch, dtype, tol, case):
    """On arch 220, where the depthwise kernel runs (arch 200 takes the cube path, whose
    depthwise convs the conv tests above cover)."""
    monkeypatch.setattr(tk, "SOC", "Ascend910B1")
    shapes, make = _depthwise(case)
    check(make, *[rand(*s, dtype=dtype) for s in shapes], tmp=tmp_path, tol=tol)


@pytest.mark.parametrize("dtype,tol", TOLS)
@pytest.mark.parametrize("case", ["3x3-s2", "5x5-s2-bias", "5x5-s1-576x7x7", "3x3-s1-batch2-odd-channels",
                                  "5x5-s2-batch2-odd-channels", "3x3-s1-batch2-tiles-axpy", "3x3-row-tiles"])
def test_depthwise_conv2d_cpu_layer_tiling(tmp_path, monkeypatch, dtype, tol, case):
    """The same kernels with the tiling a Session runs on the CPU layer (4 cores: more planes a
    tile than the SoC's 48); the conv must have one (its C++ may not depend on the core count)."""
    from cir.runtime.executor import for_cpu_layer
    from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr

    from cir.app import execute

    shapes, make = _depthwise(case)
    module = _lower(make, *shapes, dtype="f16" if dtype == np.float16 else "f32")
    conv = next(o for o in module.walk() if o.name == "cir.conv2d")
    launches = conv.attributes["cir.launches"]
    assert isinstance(launches, ArrayAttr)
    for d in launches.data:
        assert isinstance(d, DictionaryAttr)
        assert d.data["block_dim"].value.data <= 4 or "cpu" in d.data, (case, d.data["kernel"])
    unshared = execute.unshared_launch_graph
    monkeypatch.setattr(execute, "unshared_launch_graph", lambda m: for_cpu_layer(unshared(m)))
    check(make, *[rand(*s, dtype=dtype) for s in shapes], tmp=tmp_path, tol=tol)


@pytest.mark.parametrize("soc", SOCS)
def test_depthwise_kernel_is_chosen(soc):
    """The depthwise kernel takes the arch-220 cases it is meant for, fp32 and fp16."""
    from cir.lowering.ascendc import KernelOp

    for case in DEPTHWISE:
        shapes, make = _depthwise(case)
        for dtype in ("f32", "f16"):
            module = _lower(make, *shapes, soc=soc, dtype=dtype)
            names = [k.sym_name.data for k in module.ops if isinstance(k, KernelOp)]
            depthwise = soc == "Ascend910B1" and case not in DEPTHWISE_FALLBACK
            assert len(names) == 1 and names[0].startswith("conv2d_depthwise_") == depthwise, (case, names)


def test_conv2d_arch200_edges(tmp_path, monkeypatch):
    """Arch 200 only: padding wider than a 32-byte block (pads are top, left, bottom, right),
    rows narrower than a block, stride 3 with dilation, fp16 rows of 16-element blocks."""
    monkeypatch.setattr(tk, "SOC", "Ascend310P3")
    check(lambda *a: ops.Conv2dOp(*a, pads=[2, 10, 1, 9]), rand(1, 3, 6, 5), rand(4, 3, 3, 3), rand(4),
          tmp=tmp_path, tol=1e-5)
    check(lambda *a: ops.Conv2dOp(*a, strides=[1, 3], dilations=[2, 1], pads=[1, 2, 1, 2]),
          rand(2, 5, 9, 17, dtype=np.float16), rand(6, 5, 3, 3, dtype=np.float16), tmp=tmp_path, tol=2e-3)


@pytest.mark.parametrize("soc", SOCS)
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float16, 4e-3)])
def test_conv_gn_silu(tmp_path, monkeypatch, soc, dtype, tol):
    """Two launches: conv -> result 1, GroupNorm + SiLU of it -> result 0 (both compared).
    fp16: the norm kernel's own tolerance (tests/test_kernels.py)."""
    monkeypatch.setattr(tk, "SOC", soc)
    x, w, b = rand(1, 6, 9, 11, dtype=dtype), rand(16, 6, 3, 3, dtype=dtype), rand(16, dtype=dtype)
    g, beta = rand(16, dtype=dtype), rand(16, dtype=dtype)
    check(lambda *a: ops.ConvGnSiluOp(*a, pads=[1, 1, 1, 1], num_groups=4), x, w, b, g, beta,
          tmp=tmp_path, tol=tol)
    check(lambda *a: ops.ConvGnSiluOp(*a, num_groups=8, activate_silu=False), x, rand(16, 6, 1, 1, dtype=dtype),
          b, g, beta, tmp=tmp_path, tol=tol)


# cir.conv2d_act: the conv's C tile gets the epilogue (residual add, activation) in UB right
# after its Matmul; depthwise convs without a residual run the activation on the vector
# kernel's accumulator; arch 200 computes conv2d, add and the activation as separate kernels
CONV_ACTS = {
    "3x3-add-relu": ((2, 6, 11, 13), (8, 6, 3, 3), True, "relu", {"pads": [1, 1, 1, 1]}),
    "1x1-add": ((2, 19, 7, 9), (11, 19, 1, 1), True, "none", {}),
    "1x1-hardswish-channel-tiles": ((1, 16, 4, 8), (100, 16, 1, 1), False, "hardswish", {}),
    "stride2-silu": ((1, 5, 13, 10), (7, 5, 3, 3), False, "silu", {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    "patch4-sigmoid": ((1, 3, 16, 20), (8, 3, 4, 4), True, "sigmoid", {"strides": [4, 4]}),
    # a C tile wider than the epilogue's UB chunk: chunks of columns
    "wide-tile-add-relu": ((1, 4, 48, 5000), (8, 4, 3, 3), True, "relu", {"pads": [1, 1, 1, 1]}),
    "depthwise-hardswish": ((1, 16, 56, 56), (16, 1, 3, 3), False, "hardswish", {"groups": 16, "pads": [1, 1, 1, 1]}),
    "depthwise-gather-relu": ((1, 96, 7, 7), (96, 1, 5, 5), False, "relu", {"groups": 96, "pads": [2, 2, 2, 2]}),
    "depthwise-add-relu": ((1, 8, 9, 9), (8, 1, 3, 3), True, "relu", {"groups": 8, "pads": [1, 1, 1, 1]}),
}


@pytest.mark.parametrize("soc", SOCS)
@pytest.mark.parametrize("dtype,tol", TOLS)
@pytest.mark.parametrize("case", list(CONV_ACTS))
def test_conv2d_act(tmp_path, monkeypatch, soc, dtype, tol, case):
    monkeypatch.setattr(tk, "SOC", soc)
    xs, ws, residual, act, props = CONV_ACTS[case]
    out = ops.Conv2dOp.infer([tensor(xs, "f32"), tensor(ws, "f32")], {**_CONV_DEFAULTS, **props})[0].get_shape()
    arrays = [rand(*xs, dtype=dtype), rand(*ws, dtype=dtype), rand(ws[0], dtype=dtype)]
    arrays += [rand(*out, dtype=dtype)] * residual
    check(lambda *a: ops.Conv2dActOp(*a, activation=act, **props), *arrays, tmp=tmp_path, tol=tol)


_CONV_DEFAULTS = {"strides": (1, 1), "pads": (0, 0, 0, 0), "dilations": (1, 1), "groups": 1}


@pytest.mark.parametrize("soc", SOCS)
def test_conv2d_act_kernels(soc):
    """One kernel with the epilogue on arch 220 (the depthwise one where it takes the conv);
    on arch 200 the conv, the add and the activation as their own kernels."""
    from cir.lowering.ascendc import KernelOp

    for case in ("3x3-add-relu", "depthwise-hardswish", "depthwise-add-relu"):
        xs, ws, residual, act, props = CONV_ACTS[case]
        shapes = [xs, ws, (ws[0],)]
        if residual:
            shapes.append(ops.Conv2dOp.infer([tensor(xs, "f32"), tensor(ws, "f32")],
                                             {**_CONV_DEFAULTS, **props})[0].get_shape())
        module = _lower(lambda *a, act=act, props=props: ops.Conv2dActOp(*a, activation=act, **props), *shapes, soc=soc)
        names = sorted(k.sym_name.data.rsplit("_", 1)[0] for k in module.ops if isinstance(k, KernelOp))
        if soc == "Ascend310P3":
            assert names == sorted(["conv2d", act] + ["add"] * residual), names
        else:
            assert names == ["conv2d_depthwise_act" if case == "depthwise-hardswish" else "conv2d_act"], names


CONV_TRANSPOSES = {
    "3x3": ((1, 4, 5, 6), (4, 3, 3, 3), True, {}),
    "k4-s2-p1": ((2, 5, 4, 5), (5, 6, 4, 4), True, {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    "k3-s2-outpad-asym": ((1, 3, 5, 4), (3, 4, 3, 3), False,
                          {"strides": [2, 3], "pads": [1, 0, 0, 2], "output_padding": [1, 2]}),
    "groups-dilation": ((1, 6, 4, 5), (6, 2, 3, 2), True, {"groups": 3, "dilations": [2, 1], "pads": [1, 0, 2, 1]}),
    "k2-s2": ((1, 8, 6, 6), (8, 4, 2, 2), False, {"strides": [2, 2]}),
    "channel-tiles": ((1, 8, 4, 64), (8, 96, 2, 2), True, {"strides": [2, 2]}),
}


@pytest.mark.parametrize("soc", SOCS)
@pytest.mark.parametrize("dtype,tol", TOLS)
@pytest.mark.parametrize("case", list(CONV_TRANSPOSES))
def test_conv_transpose2d(tmp_path, monkeypatch, soc, dtype, tol, case):
    monkeypatch.setattr(tk, "SOC", soc)
    xs, ws, bias, props = CONV_TRANSPOSES[case]
    groups = props.get("groups", 1)
    arrays = [rand(*xs, dtype=dtype), rand(*ws, dtype=dtype)] + ([rand(ws[1] * groups, dtype=dtype)] if bias else [])
    check(lambda *a: ops.ConvTranspose2dOp(*a, **props), *arrays, tmp=tmp_path, tol=tol)


def _lower(make, *shapes, soc="Ascend910B1", dtype="f32"):
    types = {f"a{i}": tensor(s, dtype) for i, s in enumerate(shapes)}
    module = build_module("main", types, lambda b, *args: [b.add(make(*args))])
    cir.apply_pipeline(module, f"lower-to-ascendc{{soc={soc} host_fallback=false}}")  # kernels only
    return module


def test_unsupported_configurations_are_listed():
    with pytest.raises(CircError, match="cir.conv_transpose2d with padding beyond"):
        _lower(lambda x, w: ops.ConvTranspose2dOp(x, w, pads=[3, 3, 3, 3]), (1, 4, 5, 5), (4, 3, 3, 3))
    with pytest.raises(CircError, match="cir.matmul with i32 operands"):
        _lower(ops.MatmulOp, (4, 5), (5, 6), dtype="i32")


def test_shape_numbers_live_in_the_tiling(tmp_path):
    """Convs of different shapes share one kernel (one for stride_w 1, one for the column-phase
    band of stride_w 2); matmuls too."""
    from cir.lowering.ascendc import KernelOp

    def body(b, x, w1, w2, w3, w4, y, v):
        c1 = b.add(ops.Conv2dOp(x, w1, pads=[1, 1, 1, 1]))
        c2 = b.add(ops.Conv2dOp(c1, w2, pads=[0, 0, 0, 0]))
        c3 = b.add(ops.Conv2dOp(c2, w3, strides=[2, 2], pads=[1, 1, 1, 1]))
        c4 = b.add(ops.Conv2dOp(c3, w4, strides=[2, 2], pads=[1, 1, 1, 1]))
        m1 = b.add(ops.MatmulOp(y, v))
        m2 = b.add(ops.MatmulOp(v, y))
        return [c4, m1, m2]

    types = {"x": tensor((1, 4, 19, 19), "f32"), "w1": tensor((6, 4, 3, 3), "f32"),
             "w2": tensor((5, 6, 3, 3), "f32"), "w3": tensor((7, 5, 3, 3), "f32"), "w4": tensor((3, 7, 3, 3), "f32"),
             "y": tensor((7, 3), "f32"), "v": tensor((3, 7), "f32")}
    module = build_module("main", types, body)
    cir.apply_pipeline(module, "lower-to-ascendc{soc=Ascend910B1}")
    assert len([k for k in module.ops if isinstance(k, KernelOp)]) == 3
