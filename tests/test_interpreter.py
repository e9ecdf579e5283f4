"""The reference interpreter, op by op, against PyTorch's own kernels on the same inputs.

Tolerance: fp32 elementwise ops agree to 1e-5 (both sides evaluate the same formula in fp32;
differences are last-bit rounding of exp/tanh/erf). Ops that sum many products (conv, matmul,
norms, attention) use 1e-4 relative, 1e-4 absolute: numpy/BLAS and torch accumulate in different
orders, and errors grow with the length of the sum (up to ~300 terms here).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cir import ops
from cir.build import build_module
from cir.interpreter import interpret
from cir.types import dtype_from_numpy, tensor

RNG = np.random.default_rng(1234)


def rand(*shape: int, dtype=np.float32, positive: bool = False) -> np.ndarray:
    a = RNG.standard_normal(shape).astype(dtype)
    return np.abs(a) + 0.1 if positive else a


def run(make, *arrays: np.ndarray, **weights) -> list[np.ndarray]:
    """Build `make(*args)` over function arguments holding `arrays`; interpret it."""
    names = [f"a{i}" for i in range(len(arrays))]
    types = {n: tensor(a.shape, dtype_from_numpy(a.dtype)) for n, a in zip(names, arrays)}

    def body(b, *args):
        op = make(*args)
        b.add(op)
        return list(op.results)

    module = build_module("main", types, body)
    out = interpret(module, dict(zip(names, arrays)))
    return list(out.values())


def close(got: np.ndarray, want: torch.Tensor | np.ndarray, tol: float = 1e-5) -> None:
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else want
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)


T = torch.from_numpy

UNARY = [
    (ops.NegOp, torch.neg, False),
    (ops.AbsOp, torch.abs, False),
    (ops.ExpOp, torch.exp, False),
    (ops.LogOp, torch.log, True),
    (ops.SqrtOp, torch.sqrt, True),
    (ops.RsqrtOp, torch.rsqrt, True),
    (ops.ReciprocalOp, torch.reciprocal, True),
    (ops.ErfOp, torch.erf, False),
    (ops.TanhOp, torch.tanh, False),
    (ops.SigmoidOp, torch.sigmoid, False),
    (ops.ReluOp, torch.relu, False),
    (ops.SiluOp, F.silu, False),
    (ops.HardswishOp, F.hardswish, False),
    (ops.SinOp, torch.sin, False),
    (ops.CosOp, torch.cos, False),
    (ops.FloorOp, torch.floor, False),
]


@pytest.mark.parametrize("op_cls,ref,positive", UNARY, ids=[u[0].name for u in UNARY])
def test_unary(op_cls, ref, positive):
    x = rand(3, 17, positive=positive) * 4
    (y,) = run(op_cls, x)
    close(y, ref(T(x)))


@pytest.mark.parametrize("approx", ["none", "tanh"])
def test_gelu(approx):
    x = rand(4, 33) * 3
    (y,) = run(lambda a: ops.GeluOp(a, approximate=approx), x)
    close(y, F.gelu(T(x), approximate=approx))


def test_clamp():
    x = rand(5, 7) * 3
    (y,) = run(lambda a: ops.ClampOp(a, min=-1.0, max=0.5), x)
    close(y, torch.clamp(T(x), -1.0, 0.5))
    (y,) = run(lambda a: ops.ClampOp(a, min=0), x)
    close(y, torch.clamp(T(x), min=0))


BINARY = [
    (ops.AddOp, torch.add),
    (ops.SubOp, torch.sub),
    (ops.MulOp, torch.mul),
    (ops.DivOp, torch.div),
    (ops.MaximumOp, torch.maximum),
    (ops.MinimumOp, torch.minimum),
    (ops.EqOp, torch.eq),
    (ops.NeOp, torch.ne),
    (ops.LtOp, torch.lt),
    (ops.LeOp, torch.le),
    (ops.GtOp, torch.gt),
    (ops.GeOp, torch.ge),
]


@pytest.mark.parametrize("op_cls,ref", BINARY, ids=[b[0].name for b in BINARY])
def test_binary_broadcast(op_cls, ref):
    a, b = rand(2, 1, 5), rand(3, 1)
    b[0, 0] = a[0, 0, 0]  # make equality comparisons hit at least once
    (y,) = run(op_cls, a, b)
    close(y, ref(T(a), T(b)))


def test_pow():
    a, b = rand(4, 6, positive=True), rand(6)
    (y,) = run(ops.PowOp, a, b)
    close(y, torch.pow(T(a), T(b)))


def test_integer_div_truncates_toward_zero():
    a = np.array([7, -7, 7, -7], np.int64)
    b = np.array([2, 2, -2, -2], np.int64)
    (y,) = run(ops.DivOp, a, b)
    np.testing.assert_array_equal(y, torch.div(T(a), T(b), rounding_mode="trunc").numpy())


def test_where_and_cast():
    c = rand(3, 4) > 0
    a, b = rand(3, 4), rand(4)
    (y,) = run(ops.WhereOp, c, a, b)
    close(y, torch.where(T(c), T(a), T(b)))
    (h,) = run(lambda x: ops.CastOp(x, "f16"), a)
    assert h.dtype == np.float16
    close(h, T(a).half())
    (i,) = run(lambda x: ops.CastOp(x, "i32"), a * 10)
    np.testing.assert_array_equal(i, T(a * 10).to(torch.int32).numpy())


@pytest.mark.parametrize("keep", [False, True])
def test_reductions(keep):
    x = rand(2, 3, 4, 5)
    for op_cls, ref in [
        (ops.ReduceSumOp, lambda t: t.sum(dim=(1, 3), keepdim=keep)),
        (ops.ReduceMeanOp, lambda t: t.mean(dim=(1, 3), keepdim=keep)),
        (ops.ReduceMaxOp, lambda t: t.amax(dim=(1, 3), keepdim=keep)),
        (ops.ReduceMinOp, lambda t: t.amin(dim=(1, 3), keepdim=keep)),
    ]:
        (y,) = run(lambda a, c=op_cls: c(a, axes=[1, -1], keepdims=keep), x)
        close(y, ref(T(x)))
    (y,) = run(lambda a: ops.ArgmaxOp(a, axis=2, keepdims=keep), x)
    np.testing.assert_array_equal(y, torch.argmax(T(x), dim=2, keepdim=keep).numpy())


def test_shape_ops():
    x = rand(2, 3, 4)
    (y,) = run(lambda a: ops.ReshapeOp(a, shape=[6, 4]), x)
    close(y, T(x).reshape(6, 4))
    (y,) = run(lambda a: ops.TransposeOp(a, perm=[2, 0, 1]), x)
    close(y, T(x).permute(2, 0, 1))
    (y,) = run(lambda a, b: ops.ConcatOp([a, b], axis=1), x, x[:, :1])
    close(y, torch.cat([T(x), T(x[:, :1])], dim=1))
    ys = run(lambda a: ops.SplitOp(a, axis=2, sizes=[1, 3]), x)
    for got, want in zip(ys, torch.split(T(x), [1, 3], dim=2)):
        close(got, want)
    (y,) = run(lambda a: ops.SliceOp(a, starts=[0, 1, 0], ends=[2, 3, 4], steps=[1, 1, 3]), x)
    close(y, T(x)[0:2, 1:3, 0:4:3])
    idx = np.array([[2, 0], [1, -1]], np.int64)
    (y,) = run(lambda a, i: ops.GatherOp(a, i, axis=1), x, idx)
    close(y, T(x)[:, T(idx % 3)])
    gi = np.array([[[0, 2, 1, 0], [2, 2, 0, 1]]], np.int64)
    (y,) = run(lambda a, i: ops.GatherElementsOp(a, i, axis=1), x, gi)
    close(y, torch.gather(T(x), 1, T(gi)))
    (y,) = run(lambda a: ops.BroadcastToOp(a, shape=[5, 2, 3, 4]), x)
    close(y, T(x).expand(5, 2, 3, 4))
    (y,) = run(lambda a: ops.TileOp(a, repeats=[1, 2, 3]), x)
    close(y, T(x).repeat(1, 2, 3))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad(mode):
    x = rand(1, 2, 5, 6)
    kw = {"value": 1.5} if mode == "constant" else {}
    (y,) = run(lambda a: ops.PadOp(a, low=[0, 0, 1, 2], high=[0, 0, 3, 1], mode=mode, **kw), x)
    close(y, F.pad(T(x), (2, 1, 1, 3), mode=mode, **kw))


@pytest.mark.parametrize(
    "n,c,h,w,o,k,stride,pad,dil,groups",
    [
        (1, 4, 9, 9, 8, 3, 1, 1, 1, 1),
        (2, 6, 10, 7, 4, 3, 2, 1, 1, 2),
        (1, 8, 11, 11, 8, 3, 1, 2, 2, 8),  # depthwise, dilated
        (1, 3, 8, 8, 5, 1, 1, 0, 1, 1),
    ],
)
def test_conv2d(n, c, h, w, o, k, stride, pad, dil, groups):
    x, wt, b = rand(n, c, h, w), rand(o, c // groups, k, k), rand(o)
    (y,) = run(
        lambda a, ww, bb: ops.Conv2dOp(
            a, ww, bb, strides=[stride] * 2, pads=[pad] * 4, dilations=[dil] * 2, groups=groups
        ),
        x, wt, b,
    )
    close(y, F.conv2d(T(x), T(wt), T(b), stride, pad, dil, groups), 1e-4)


def test_conv2d_asymmetric_pads_without_bias():
    x, wt = rand(1, 2, 6, 6), rand(3, 2, 3, 3)
    (y,) = run(lambda a, ww: ops.Conv2dOp(a, ww, strides=[2, 2], pads=[0, 0, 1, 1]), x, wt)
    close(y, F.conv2d(F.pad(T(x), (0, 1, 0, 1)), T(wt), stride=2), 1e-4)


@pytest.mark.parametrize("stride,pad,outpad,dil,groups", [(2, 1, 1, 1, 1), (2, 0, 0, 1, 2), (1, 1, 0, 2, 1)])
def test_conv_transpose2d(stride, pad, outpad, dil, groups):
    x, wt, b = rand(2, 4, 5, 6), rand(4, 3, 3, 3), rand(3 * groups)
    (y,) = run(
        lambda a, ww, bb: ops.ConvTranspose2dOp(
            a, ww, bb, strides=[stride] * 2, pads=[pad] * 4, output_padding=[outpad] * 2,
            dilations=[dil] * 2, groups=groups,
        ),
        x, wt, b,
    )
    ref = F.conv_transpose2d(T(x), T(wt), T(b), stride, pad, outpad, groups, dil)
    close(y, ref, 1e-4)


def test_matmul_and_linear():
    a, b = rand(2, 1, 5, 7), rand(3, 7, 4)
    (y,) = run(ops.MatmulOp, a, b)
    close(y, torch.matmul(T(a), T(b)), 1e-4)
    x, w, bias = rand(2, 3, 7), rand(5, 7), rand(5)
    (y,) = run(ops.LinearOp, x, w, bias)
    close(y, F.linear(T(x), T(w), T(bias)), 1e-4)
    (y,) = run(ops.LinearOp, x, w)
    close(y, F.linear(T(x), T(w)), 1e-4)


def test_softmax_family():
    x = rand(3, 4, 9) * 5
    (y,) = run(lambda a: ops.SoftmaxOp(a, axis=1), x)
    close(y, torch.softmax(T(x), 1))
    (y,) = run(lambda a: ops.LogSoftmaxOp(a), x)
    close(y, torch.log_softmax(T(x), -1))


def test_norms():
    x = rand(2, 8, 5, 6)
    w, b = rand(8), rand(8)
    (y,) = run(lambda a, ww, bb: ops.GroupNormOp(a, ww, bb, num_groups=4, epsilon=1e-6), x, w, b)
    close(y, F.group_norm(T(x), 4, T(w), T(b), 1e-6), 1e-4)
    (y,) = run(lambda a: ops.GroupNormOp(a, num_groups=2), x)
    close(y, F.group_norm(T(x), 2), 1e-4)
    lw, lb = rand(5, 6), rand(5, 6)
    (y,) = run(lambda a, ww, bb: ops.LayerNormOp(a, ww, bb, axis=2), x, lw, lb)
    close(y, F.layer_norm(T(x), (5, 6), T(lw), T(lb)), 1e-4)
    mean, var = rand(8), rand(8, positive=True)
    (y,) = run(ops.BatchNormOp, x, w, b, mean, var)
    close(y, F.batch_norm(T(x), T(mean), T(var), T(w), T(b), False, 0.0, 1e-5), 1e-4)


def test_rms_norm():
    x, w = rand(2, 7, 16), rand(16)
    (y,) = run(lambda a, ww: ops.RmsNormOp(a, ww, epsilon=1e-6), x, w)
    close(y, F.rms_norm(T(x), (16,), T(w), 1e-6), 1e-4)


@pytest.mark.parametrize("ceil", [False, True])
def test_pools(ceil):
    x = rand(2, 3, 9, 10)
    (y,) = run(lambda a: ops.MaxPool2dOp(a, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                         ceil_mode=ceil), x)
    close(y, F.max_pool2d(T(x), 3, 2, 1, ceil_mode=ceil))
    (y,) = run(lambda a: ops.MaxPool2dOp(a, kernel=[2, 2], strides=[1, 1], dilations=[2, 2]), x)
    close(y, F.max_pool2d(T(x), 2, 1, 0, dilation=2))
    for include in (True, False):
        (y,) = run(lambda a, include=include: ops.AvgPool2dOp(
            a, kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=ceil,
            count_include_pad=include), x)
        close(y, F.avg_pool2d(T(x), 3, 2, 1, ceil_mode=ceil, count_include_pad=include))


@pytest.mark.parametrize("mode,align", [("nearest", False), ("bilinear", False), ("bilinear", True)])
def test_upsample(mode, align):
    x = rand(1, 2, 5, 7)
    kw = {} if mode == "nearest" else {"align_corners": align}
    (y,) = run(lambda a: ops.UpsampleOp(a, size=[10, 14], mode=mode, **kw), x)
    close(y, F.interpolate(T(x), size=(10, 14), mode=mode, **kw))
    (y,) = run(lambda a: ops.UpsampleOp(a, size=[3, 4], mode=mode, **kw), x)  # downsample
    close(y, F.interpolate(T(x), size=(3, 4), mode=mode, **kw))


@pytest.mark.parametrize("mask_kind", [None, "bool", "float", "causal"])
def test_attention(mask_kind):
    q, k, v = rand(2, 4, 6, 8), rand(2, 4, 9, 8), rand(2, 4, 9, 5)
    args, kw, ref_kw = [q, k, v], {}, {}
    if mask_kind == "bool":
        m = RNG.random((6, 9)) > 0.3
        m[:, 0] = True
        args.append(m)
        ref_kw["attn_mask"] = T(m)
    elif mask_kind == "float":
        m = rand(2, 1, 6, 9)
        args.append(m)
        ref_kw["attn_mask"] = T(m)
    elif mask_kind == "causal":
        kw["causal"] = True
        ref_kw["is_causal"] = True
    (y,) = run(lambda *a: ops.AttentionOp(*a, **kw), *args)
    close(y, F.scaled_dot_product_attention(T(q), T(k), T(v), **ref_kw), 1e-4)
    (y,) = run(lambda *a: ops.AttentionOp(*a[:3], scale=0.5), q, k, v)
    close(y, F.scaled_dot_product_attention(T(q), T(k), T(v), scale=0.5), 1e-4)


@pytest.mark.parametrize("dtype,tol", [(np.float16, 2e-3), ("bf16", 2e-2)])
def test_low_precision_computes_in_f32_and_rounds_once(dtype, tol):
    import ml_dtypes

    dt = ml_dtypes.bfloat16 if dtype == "bf16" else dtype
    x = rand(4, 32).astype(dt)
    (y,) = run(lambda a: ops.SoftmaxOp(a), x)
    assert y.dtype == np.dtype(dt)
    want = torch.softmax(torch.from_numpy(x.astype(np.float32)), -1).numpy().astype(dt)
    np.testing.assert_allclose(y.astype(np.float32), want.astype(np.float32), rtol=tol, atol=tol)


def test_constant_and_weight():
    from xdsl.dialects.builtin import BytesAttr, DenseIntOrFPElementsAttr

    c = np.arange(6, dtype=np.float32).reshape(2, 3)
    w = rand(2, 3)

    def body(b, x):
        k = b.add(ops.ConstantOp(DenseIntOrFPElementsAttr(tensor((2, 3), "f32"), BytesAttr(c.tobytes()))))
        ww = b.add(ops.WeightOp("layer.w", tensor((2, 3), "f32")))
        return [b.add(ops.AddOp(b.add(ops.AddOp(x, k)), ww))]

    module = build_module("main", {"x": tensor((2, 3), "f32")}, body)
    x = rand(2, 3)
    (y,) = interpret(module, {"x": x}, weights={"layer.w": w}).values()
    close(y, x + c + w)


# --- fused operators: each equals the composition it replaces (torch for the reference) ---


def test_group_norm_silu_and_add_group_norm():
    x, x2, g, b = rand(2, 8, 5, 5), rand(2, 8, 1, 1), rand(8), rand(8)
    (y,) = run(lambda a, gg, bb: ops.GroupNormSiluOp(a, gg, bb, num_groups=4, epsilon=1e-6), x, g, b)
    close(y, F.silu(F.group_norm(T(x), 4, T(g), T(b), 1e-6)), 1e-4)
    y, s = run(lambda a, a2, gg, bb: ops.AddGroupNormOp(a, a2, gg, bb, num_groups=2,
                                                          activate_silu=True), x, x2, g, b)
    close(s, T(x) + T(x2))
    close(y, F.silu(F.group_norm(T(x) + T(x2), 2, T(g), T(b))), 1e-4)


def test_conv_gn_silu():
    x, w, cb, g, b = rand(1, 4, 9, 9), rand(8, 4, 3, 3), rand(8), rand(8), rand(8)
    y, c = run(lambda *a: ops.ConvGnSiluOp(*a, pads=[1, 1, 1, 1], num_groups=4), x, w, cb, g, b)
    conv = F.conv2d(T(x), T(w), T(cb), padding=1)
    close(c, conv, 1e-4)
    close(y, F.silu(F.group_norm(conv, 4, T(g), T(b))), 1e-4)


@pytest.mark.parametrize("layout", ["BNSD", "BSH"])
def test_flash_attention(layout):
    q, k, v = rand(2, 4, 6, 8), rand(2, 4, 9, 8), rand(2, 4, 9, 8)
    want = F.scaled_dot_product_attention(T(q), T(k), T(v), scale=0.3)
    if layout == "BSH":
        def bsh(t):
            return t.transpose(0, 2, 1, 3).reshape(t.shape[0], t.shape[2], -1)
        q, k, v = bsh(q), bsh(k), bsh(v)
        want = want.transpose(1, 2).reshape(2, 6, 32)
    (y,) = run(lambda *a: ops.FlashAttentionOp(*a, head_num=4, input_layout=layout, scale=0.3),
               q, k, v)
    close(y, want, 1e-4)


@pytest.mark.parametrize("approx", ["none", "tanh"])
def test_geglu(approx):
    x = rand(2, 5, 12)
    (y,) = run(lambda a: ops.GegluOp(a, approximate=approx), x)
    left, right = T(x).chunk(2, dim=-1)
    close(y, left * F.gelu(right, approximate=approx))


def test_add_layer_norm_and_linear_act():
    x1, x2, g, b = rand(2, 5, 16), rand(16), rand(16), rand(16)
    y, s = run(ops.AddLayerNormOp, x1, x2, g, b)
    close(s, T(x1) + T(x2))
    close(y, F.layer_norm(T(x1) + T(x2), (16,), T(g), T(b)), 1e-4)
    x, w, bias = rand(3, 7), rand(5, 7), rand(5)
    for act, ref in [("gelu", F.gelu), ("silu", F.silu), ("relu", F.relu), ("none", lambda t: t),
                     ("gelu_tanh", lambda t: F.gelu(t, approximate="tanh")), ("sigmoid", torch.sigmoid)]:
        (y,) = run(lambda a, ww, bb, act=act: ops.LinearActOp(a, ww, bb, activation=act), x, w, bias)
        close(y, ref(F.linear(T(x), T(w), T(bias))), 1e-4)


@pytest.mark.parametrize("shape,fmt", [((2, 20, 3, 5), "NC1HWC0"), ((17, 5, 3, 3), "FRACTAL_Z"),
                                       ((3, 20, 33), "FRACTAL_NZ"), ((1, 3, 4, 5), "NHWC")])
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int8])
def test_formats_pack_and_unpack(shape, fmt, dtype):
    from cir.formats import pack, physical_shape, unpack

    a = (RNG.standard_normal(shape) * 50).astype(dtype)
    p = pack(a, fmt)
    assert p.shape == physical_shape(shape, fmt, np.dtype(dtype).itemsize)
    np.testing.assert_array_equal(unpack(p, fmt, shape), a)
    assert p.sum(dtype=np.float64) == pytest.approx(a.sum(dtype=np.float64))  # padding is zero


def test_nc1hwc0_layout_matches_the_definition():
    from cir.formats import pack

    a = rand(1, 20, 2, 3)
    p = pack(a, "NC1HWC0")  # C1 = 2, C0 = 16: channel c lives at [n, c // 16, h, w, c % 16]
    for c in range(20):
        np.testing.assert_array_equal(p[0, c // 16, :, :, c % 16], a[0, c])
    assert not p[0, 1, :, :, 4:].any()


def test_trans_data_and_packed_weights():
    from cir.formats import pack

    w = rand(8, 4, 3, 3)

    def body(b, x):
        t = b.add(ops.TransDataOp(x, "NC1HWC0"))
        back = b.add(ops.TransDataOp(t, "ND"))
        ww = b.add(ops.WeightOp("w", tensor((8, 4, 3, 3), "f32", fmt="FRACTAL_Z")))
        return [b.add(ops.Conv2dOp(back, ww))]

    module = build_module("main", {"x": tensor((1, 4, 6, 6), "f32")}, body)
    x = rand(1, 4, 6, 6)
    (y,) = interpret(module, {"x": x}, weights={"w": pack(w, "FRACTAL_Z")}).values()
    close(y, F.conv2d(T(x), T(w)), 1e-4)


# --- integers, booleans and indexing (issue #13) ------------------------------------------


def ints(*shape: int, lo: int = -9, hi: int = 10, dtype=np.int64) -> np.ndarray:
    return RNG.integers(lo, hi, size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_arithmetic(dtype):
    a, b = ints(3, 4, dtype=dtype), ints(4, dtype=dtype)
    for op_cls, ref in [(ops.AddOp, torch.add), (ops.SubOp, torch.sub), (ops.MulOp, torch.mul),
                        (ops.MaximumOp, torch.maximum), (ops.MinimumOp, torch.minimum)]:
        (y,) = run(op_cls, a, b)
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, ref(T(a), T(b)).numpy())
    (y,) = run(ops.NegOp, a)
    np.testing.assert_array_equal(y, (-T(a)).numpy())
    (y,) = run(lambda x: ops.ReduceSumOp(x, axes=[1]), a)
    np.testing.assert_array_equal(y, T(a).sum(1).to(T(a).dtype).numpy())


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float32])
def test_floor_div_and_mod(dtype):
    a = ints(4, 6, dtype=dtype)
    b = ints(6, lo=1, hi=5, dtype=dtype) * np.array([1, -1, 1, -1, 1, -1], dtype)
    (y,) = run(ops.FloorDivOp, a, b)
    close(y, torch.div(T(a), T(b), rounding_mode="floor"))
    (y,) = run(ops.ModOp, a, b)
    close(y, torch.remainder(T(a), T(b)))
    (y,) = run(lambda x, z: ops.ModOp(x, z, fmod=True), a, b)
    close(y, torch.fmod(T(a), T(b)))
    if dtype == np.float32:
        x, z = rand(5, 7) * 10, rand(7) * 3
        (y,) = run(ops.FloorDivOp, x, z)
        close(y, torch.div(T(x), T(z), rounding_mode="floor"))
        (y,) = run(ops.ModOp, x, z)
        close(y, torch.remainder(T(x), T(z)))


def test_logical_ops():
    a, b = rand(3, 1, 5) > 0, rand(4, 1) > 0
    for op_cls, ref in [(ops.LogicalAndOp, torch.logical_and), (ops.LogicalOrOp, torch.logical_or),
                        (ops.LogicalXorOp, torch.logical_xor)]:
        (y,) = run(op_cls, a, b)
        assert y.dtype == np.bool_
        np.testing.assert_array_equal(y, ref(T(a), T(b)).numpy())
    (y,) = run(ops.LogicalNotOp, a)
    np.testing.assert_array_equal(y, torch.logical_not(T(a)).numpy())


@pytest.mark.parametrize("exclusive,reverse", [(False, False), (True, False), (False, True), (True, True)])
def test_cumsum(exclusive, reverse):
    x, i = rand(3, 5, 4), ints(3, 5)
    for arr, axis in ((x, 1), (x, -1), (i, 0)):
        (y,) = run(lambda a, ax=axis: ops.CumsumOp(a, axis=ax, exclusive=exclusive, reverse=reverse), arr)
        t = T(arr).flip(axis) if reverse else T(arr)
        want = torch.cumsum(t, dim=axis)
        if exclusive:
            want = want - t
        want = want.flip(axis) if reverse else want
        close(y, want)


def test_gather_nd():
    x = rand(4, 5, 6)
    i0, i1 = ints(2, 3, lo=-4, hi=4), ints(2, 3, lo=0, hi=5)
    idx = np.stack([i0, i1], axis=-1)  # (2, 3, 2): x[i0, i1] -> (2, 3, 6)
    (y,) = run(ops.GatherNdOp, x, idx)
    close(y, T(x)[T(i0), T(i1)])
    full = np.stack([i0, i1, ints(2, 3, lo=0, hi=6)], axis=-1).astype(np.int32)
    (y,) = run(ops.GatherNdOp, x, full)
    close(y, T(x)[T(i0), T(i1), T(full[..., 2].astype(np.int64))])
    bi = ints(4, 7, 1, lo=0, hi=5)  # batch_dims=1: y[b, m] = x[b, bi[b, m, 0]]
    (y,) = run(lambda a, i: ops.GatherNdOp(a, i, batch_dims=1), x, bi)
    close(y, T(x)[torch.arange(4)[:, None], T(bi[..., 0])])


def test_gather_nd_out_of_range_is_a_clean_error():
    from cir.errors import CircError

    with pytest.raises(CircError, match="index out of range"):
        run(ops.GatherNdOp, rand(2, 3), np.array([[2, 0]], np.int64))


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_nd(reduction):
    x = rand(4, 5, 3)
    if reduction == "none":  # unique rows: the result is defined
        idx = np.array([[0, 1], [3, 4], [2, 0], [0, 0]], np.int64)
    else:
        idx = ints(6, 2, lo=0, hi=4)
        idx[:3] = [[1, 1], [1, 1], [-1, 2]]  # repeats accumulate
    upd = rand(idx.shape[0], 3)
    (y,) = run(lambda a, i, u: ops.ScatterNdOp(a, i, u, reduction=reduction), x, idx, upd)
    ti = tuple(T(idx[:, j] % x.shape[j]) for j in range(2))
    if reduction in ("none", "add"):
        want = T(x).index_put(ti, T(upd), accumulate=reduction == "add")
    else:  # element-wise reductions: torch.scatter_reduce over the flattened (row, col)
        flat = (ti[0] * 5 + ti[1])[:, None].expand(-1, 3)
        torch_reduce = {"mul": "prod", "max": "amax", "min": "amin"}[reduction]
        want = T(x).reshape(20, 3).scatter_reduce(0, flat, T(upd), torch_reduce).reshape(4, 5, 3)
    close(y, want)


@pytest.mark.parametrize("reduction", ["none", "add", "max"])
def test_scatter_elements(reduction):
    x = rand(3, 6)
    idx = np.array([[0, 5, 2], [1, 1, 4], [3, 0, 5]], np.int64)
    if reduction == "none":
        idx = np.array([[0, 5, 2], [1, 3, 4], [3, 0, 5]], np.int64)
    upd = rand(3, 3)
    (y,) = run(lambda a, i, u: ops.ScatterElementsOp(a, i, u, axis=1, reduction=reduction), x, idx, upd)
    if reduction == "none":
        want = torch.scatter(T(x), 1, T(idx), T(upd))
    else:
        want = T(x).scatter_reduce(1, T(idx), T(upd), {"add": "sum", "max": "amax"}[reduction])
    close(y, want)
