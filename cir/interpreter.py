"""The numpy reference interpreter for CIR: the golden model every later stage is checked
against.

Each CIR op has one numpy kernel, registered with ``@kernel(Op)``; a kernel receives the op
(for its properties) and its operand arrays. f16/bf16 operands are computed in f32 and every
result is cast to the op's declared result type, so the interpreter's dtypes always match the IR.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Operation

from cir import ops
from cir.errors import CircError, describe_op
from cir.formats import pack, physical_shape, unpack
from cir.signature import check_inputs, entry_function, output_names
from cir.types import dtype_of, format_of, shape_of
from cir.weights import WeightStore, weights_of

Kernel = Callable[..., Any]
KERNELS: dict[type[Operation], Kernel] = {}


def kernel(*op_types: type[Operation]) -> Callable[[Kernel], Kernel]:
    def register(fn: Kernel) -> Kernel:
        for t in op_types:
            KERNELS[t] = fn
        return fn

    return register


def _f32(a: np.ndarray) -> np.ndarray:
    """Compute f16/bf16 in f32; leave other dtypes alone."""
    if a is None or a.dtype == np.float32:
        return a
    return a.astype(np.float32) if a.dtype.kind == "f" or a.dtype.name == "bfloat16" else a


# --- elementwise -------------------------------------------------------------------------


def _erf(x: np.ndarray) -> np.ndarray:
    # vectorised math.erf: exact to double precision, fast enough for a reference
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


UNARY: dict[type[Operation], Callable[[np.ndarray], np.ndarray]] = {
    ops.NegOp: np.negative,
    ops.AbsOp: np.abs,
    ops.ExpOp: np.exp,
    ops.LogOp: np.log,
    ops.SqrtOp: np.sqrt,
    ops.RsqrtOp: lambda x: 1 / np.sqrt(x),
    ops.ReciprocalOp: lambda x: 1 / x,
    ops.ErfOp: _erf,
    ops.TanhOp: np.tanh,
    ops.SigmoidOp: _sigmoid,
    ops.ReluOp: lambda x: np.maximum(x, 0),
    ops.SiluOp: lambda x: x * _sigmoid(x),
    ops.HardswishOp: lambda x: x * np.clip(x + 3, 0, 6) / 6,
    ops.SinOp: np.sin,
    ops.CosOp: np.cos,
    ops.FloorOp: np.floor,
}


@kernel(*UNARY)
def _unary(op: Operation, x: np.ndarray) -> np.ndarray:
    return UNARY[type(op)](x)


def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


@kernel(ops.GeluOp)
def _gelu(op: ops.GeluOp, x: np.ndarray) -> np.ndarray:
    return gelu(x, op.p["approximate"])


@kernel(ops.ClampOp)
def _clamp(op: ops.ClampOp, x: np.ndarray) -> np.ndarray:
    lo, hi = op.p["min"], op.p["max"]
    if lo is not None:
        x = np.maximum(x, lo)
    if hi is not None:
        x = np.minimum(x, hi)
    return x


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "iu":  # integer division truncates toward zero (C, ONNX)
        q = np.abs(a) // np.abs(b)
        return np.where((a < 0) ^ (b < 0), -q, q)
    return a / b


BINARY: dict[type[Operation], Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ops.AddOp: np.add,
    ops.SubOp: np.subtract,
    ops.MulOp: np.multiply,
    ops.DivOp: _div,
    ops.PowOp: np.power,
    ops.MaximumOp: np.maximum,
    ops.MinimumOp: np.minimum,
    ops.FloorDivOp: np.floor_divide,
    ops.EqOp: np.equal,
    ops.NeOp: np.not_equal,
    ops.LtOp: np.less,
    ops.LeOp: np.less_equal,
    ops.GtOp: np.greater,
    ops.GeOp: np.greater_equal,
    ops.LogicalAndOp: np.logical_and,
    ops.LogicalOrOp: np.logical_or,
    ops.LogicalXorOp: np.logical_xor,
}


@kernel(*BINARY)
def _binary(op: Operation, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return BINARY[type(op)](a, b)


@kernel(ops.ModOp)
def _mod(op: ops.ModOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.fmod(a, b) if op.p["fmod"] else np.mod(a, b)


@kernel(ops.LogicalNotOp)
def _logical_not(op: ops.LogicalNotOp, x: np.ndarray) -> np.ndarray:
    return np.logical_not(x)


@kernel(ops.WhereOp)
def _where(op: ops.WhereOp, c: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where(c, a, b)


@kernel(ops.CastOp)
def _cast(op: ops.CastOp, x: np.ndarray) -> np.ndarray:
    return x  # the result cast below does the conversion


# --- reductions --------------------------------------------------------------------------

REDUCE: dict[type[Operation], Callable[..., np.ndarray]] = {
    ops.ReduceSumOp: np.sum,
    ops.ReduceMeanOp: np.mean,
    ops.ReduceMaxOp: np.max,
    ops.ReduceMinOp: np.min,
}


@kernel(*REDUCE)
def _reduce(op: ops.ReduceSumOp, x: np.ndarray) -> np.ndarray:
    if x.ndim == 0:  # reducing a scalar over "dim 0" leaves it as it is
        return x
    axes = tuple(a % x.ndim for a in op.p["axes"])
    return REDUCE[type(op)](x, axis=axes, keepdims=op.p["keepdims"])


@kernel(ops.ArgmaxOp)
def _argmax(op: ops.ArgmaxOp, x: np.ndarray) -> np.ndarray:
    if x.ndim == 0:
        return np.zeros((), np.int64)
    return np.asarray(np.argmax(x, axis=op.p["axis"], keepdims=op.p["keepdims"]))


@kernel(ops.CumsumOp)
def _cumsum(op: ops.CumsumOp, x: np.ndarray) -> np.ndarray:
    if x.ndim == 0:
        return np.zeros_like(x) if op.p["exclusive"] else x
    axis = op.p["axis"] % x.ndim
    src = np.flip(x, axis) if op.p["reverse"] else x
    y = np.cumsum(src, axis=axis, dtype=x.dtype)
    if op.p["exclusive"]:  # shift by one: the sum of what comes strictly before
        y = np.concatenate([np.zeros_like(np.take(y, [0], axis=axis)),
                            np.take(y, np.arange(y.shape[axis] - 1), axis=axis)], axis=axis)
    return np.flip(y, axis) if op.p["reverse"] else y


# --- shape ops ---------------------------------------------------------------------------


@kernel(ops.ReshapeOp)
def _reshape(op: ops.ReshapeOp, x: np.ndarray) -> np.ndarray:
    return x.reshape(op.p["shape"])


@kernel(ops.TransposeOp)
def _transpose(op: ops.TransposeOp, x: np.ndarray) -> np.ndarray:
    return np.transpose(x, op.p["perm"])


@kernel(ops.ConcatOp)
def _concat(op: ops.ConcatOp, *xs: np.ndarray) -> np.ndarray:
    return np.concatenate(xs, axis=op.p["axis"])


@kernel(ops.SplitOp)
def _split(op: ops.SplitOp, x: np.ndarray) -> tuple[np.ndarray, ...]:
    cuts = np.cumsum(op.p["sizes"])[:-1]
    return tuple(np.split(x, cuts, axis=op.p["axis"]))


@kernel(ops.SliceOp)
def _slice(op: ops.SliceOp, x: np.ndarray) -> np.ndarray:
    p = op.p
    return x[tuple(slice(b, e, s) for b, e, s in zip(p["starts"], p["ends"], p["steps"]))]


@kernel(ops.GatherOp)
def _gather(op: ops.GatherOp, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    axis = op.p["axis"] % x.ndim
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[axis]):
        raise CircError(f"{describe_op(op)}: index out of range for dimension of size {x.shape[axis]}")
    return np.take(x, idx, axis=axis)


@kernel(ops.GatherElementsOp)
def _gather_elements(op: ops.GatherElementsOp, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    axis = op.p["axis"] % x.ndim
    idx = np.where(idx < 0, idx + x.shape[axis], idx)
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[axis]):
        raise CircError(f"{describe_op(op)}: index out of range for dimension of size {x.shape[axis]}")
    # outside `axis`, indices may be smaller than x: take the leading block of x
    block = x[tuple(slice(0, n) if i != axis else slice(None) for i, n in enumerate(idx.shape))]
    return np.take_along_axis(block, idx, axis=axis)


def _checked_indices(op: Operation, idx: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    """indices[..., j] into dimension dims[j]: negatives wrapped, out of range refused."""
    size = np.asarray(dims, dtype=np.int64)
    idx = idx.astype(np.int64)
    idx = np.where(idx < 0, idx + size, idx)
    if idx.size and ((idx < 0) | (idx >= size)).any():
        raise CircError(f"{describe_op(op)}: index out of range for dimensions of size {dims}")
    return idx


@kernel(ops.GatherNdOp)
def _gather_nd(op: ops.GatherNdOp, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    b, k = op.p["batch_dims"], idx.shape[-1]
    idx = _checked_indices(op, idx, x.shape[b : b + k])
    nb = int(np.prod(x.shape[:b], dtype=np.int64))
    xb = x.reshape(nb, *x.shape[b:])
    ib = idx.reshape(nb, -1, k)
    batch = np.arange(nb).reshape(nb, 1)
    out = xb[(batch, *(ib[..., j] for j in range(k)))]  # (nb, m, rest...)
    return out.reshape(*idx.shape[:-1], *x.shape[b + k :])


_SCATTER = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def _scatter(x: np.ndarray, where: tuple[np.ndarray, ...], upd: np.ndarray,
             reduction: str) -> np.ndarray:
    out = x.copy()
    if reduction == "none":
        out[where] = upd  # a repeated index keeps the last update (row-major order)
    else:
        _SCATTER[reduction].at(out, where, upd)
    return out


@kernel(ops.ScatterNdOp)
def _scatter_nd(op: ops.ScatterNdOp, x: np.ndarray, idx: np.ndarray, upd: np.ndarray) -> np.ndarray:
    k = idx.shape[-1]
    idx = _checked_indices(op, idx, x.shape[:k]).reshape(-1, k)
    upd = upd.reshape(idx.shape[0], *x.shape[k:])
    return _scatter(x, tuple(idx[:, j] for j in range(k)), upd, op.p["reduction"])


@kernel(ops.ScatterElementsOp)
def _scatter_elements(op: ops.ScatterElementsOp, x: np.ndarray, idx: np.ndarray,
                      upd: np.ndarray) -> np.ndarray:
    axis = op.p["axis"] % x.ndim
    idx = _checked_indices(op, idx[..., None], (x.shape[axis],))[..., 0]
    where = list(np.indices(idx.shape, sparse=True))
    where[axis] = idx
    where = [np.broadcast_to(w, idx.shape) for w in where]
    return _scatter(x, tuple(where), upd, op.p["reduction"])


@kernel(ops.BroadcastToOp)
def _broadcast_to(op: ops.BroadcastToOp, x: np.ndarray) -> np.ndarray:
    return np.broadcast_to(x, op.p["shape"])


PadMode = Literal["constant", "reflect", "edge", "wrap"]
PAD_MODES: dict[str, PadMode] = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
                                 "circular": "wrap"}


@kernel(ops.PadOp)
def _pad(op: ops.PadOp, x: np.ndarray) -> np.ndarray:
    p = op.p
    widths = list(zip(p["low"], p["high"]))
    if p["mode"] == "constant":
        return np.pad(x, widths, constant_values=p["value"])
    return np.pad(x, widths, mode=PAD_MODES[p["mode"]])


@kernel(ops.TileOp)
def _tile(op: ops.TileOp, x: np.ndarray) -> np.ndarray:
    return np.tile(x, op.p["repeats"])


# --- neural-network ops ------------------------------------------------------------------


def _windows(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
             out: tuple[int, int]) -> np.ndarray:
    """(N, C, OH, OW, KH, KW) view of an already padded NCHW array."""
    span = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
    v = sliding_window_view(x, span, axis=(2, 3))[:, :, :: s[0], :: s[1], :: d[0], :: d[1]]
    return v[:, :, : out[0], : out[1]]


@kernel(ops.Conv2dOp)
def _conv2d(op: ops.Conv2dOp, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    p = op.p
    n, _c, _, _ = x.shape
    o, cg, kh, kw = w.shape
    g = p["groups"]
    pt, pl, pb, pr = p["pads"]
    oh, ow = op.result.type.get_shape()[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    win = _windows(xp, (kh, kw), p["strides"], p["dilations"], (oh, ow))
    out = np.empty((n, o, oh, ow), dtype=np.result_type(x, w))
    og = o // g
    for gi in range(g):
        cols = win[:, gi * cg : (gi + 1) * cg].transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, -1)
        wg = w[gi * og : (gi + 1) * og].reshape(og, -1)
        out[:, gi * og : (gi + 1) * og] = (cols @ wg.T).reshape(n, oh, ow, og).transpose(0, 3, 1, 2)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


@kernel(ops.ConvTranspose2dOp)
def _conv_transpose2d(op: ops.ConvTranspose2dOp, x: np.ndarray, w: np.ndarray,
                      b: np.ndarray | None = None) -> np.ndarray:
    p = op.p
    n, c, h, wd = x.shape
    _, og, kh, kw = w.shape
    g = p["groups"]
    (sh, sw), (dh, dw), (pt, pl, _, _) = p["strides"], p["dilations"], p["pads"]
    oph, opw = p["output_padding"]
    full = np.zeros((n, og * g, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                     (wd - 1) * sw + dw * (kw - 1) + 1 + opw), dtype=np.result_type(x, w))
    cg = c // g
    for gi in range(g):
        xg = x[:, gi * cg : (gi + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                contrib = np.einsum("nchw,co->nohw", xg, w[gi * cg : (gi + 1) * cg, :, i, j])
                full[:, gi * og : (gi + 1) * og,
                     i * dh : i * dh + (h - 1) * sh + 1 : sh,
                     j * dw : j * dw + (wd - 1) * sw + 1 : sw] += contrib
    oh, ow = op.result.type.get_shape()[2:]
    out = full[:, :, pt : pt + oh, pl : pl + ow]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out


@kernel(ops.MatmulOp)
def _matmul(op: ops.MatmulOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.swapaxes(a, -1, -2) if op.p["transpose_a"] else a
    b = np.swapaxes(b, -1, -2) if op.p["transpose_b"] else b
    return np.matmul(a, b)


@kernel(ops.LinearOp)
def _linear(op: ops.LinearOp, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    y = x @ w.T
    return y + b if b is not None else y


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - np.where(np.isfinite(m), m, 0))
    return e / np.sum(e, axis=axis, keepdims=True)


@kernel(ops.SoftmaxOp)
def _softmax_k(op: ops.SoftmaxOp, x: np.ndarray) -> np.ndarray:
    return _softmax(x, op.p["axis"])


@kernel(ops.LogSoftmaxOp)
def _log_softmax(op: ops.LogSoftmaxOp, x: np.ndarray) -> np.ndarray:
    axis = op.p["axis"]
    m = np.max(x, axis=axis, keepdims=True)
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _normalize(x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


@kernel(ops.LayerNormOp)
def _layer_norm(op: ops.LayerNormOp, x: np.ndarray, w: np.ndarray | None = None,
                b: np.ndarray | None = None) -> np.ndarray:
    axis = op.p["axis"] % x.ndim
    y = _normalize(x, tuple(range(axis, x.ndim)), op.p["epsilon"])
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


@kernel(ops.RmsNormOp)
def _rms_norm(op: ops.RmsNormOp, x: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    axes = tuple(range(op.p["axis"] % x.ndim, x.ndim))
    y = x / np.sqrt(np.mean(x * x, axis=axes, keepdims=True) + op.p["epsilon"])
    return y * w if w is not None else y


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape(1, -1, *([1] * (ndim - 2)))


@kernel(ops.GroupNormOp)
def _group_norm(op: ops.GroupNormOp, x: np.ndarray, w: np.ndarray | None = None,
                b: np.ndarray | None = None) -> np.ndarray:
    n, g = x.shape[0], op.p["num_groups"]
    y = _normalize(x.reshape(n, g, -1), (2,), op.p["epsilon"]).reshape(x.shape)
    if w is not None:
        y = y * _per_channel(w, x.ndim)
    if b is not None:
        y = y + _per_channel(b, x.ndim)
    return y


@kernel(ops.BatchNormOp)
def _batch_norm(op: ops.BatchNormOp, x: np.ndarray, scale: np.ndarray, bias: np.ndarray,
                mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    def pc(v: np.ndarray) -> np.ndarray:
        return _per_channel(v, x.ndim)

    return (x - pc(mean)) / np.sqrt(pc(var) + op.p["epsilon"]) * pc(scale) + pc(bias)


def _pool_windows(op: ops.MaxPool2dOp | ops.AvgPool2dOp, x: np.ndarray, fill: float,
                  dil: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Windows over x padded with `fill`, with extra bottom/right room for ceil_mode."""
    p = op.p
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = p["kernel"], p["strides"], p["pads"]
    oh, ow = shape_of(op.results[0].type)[2:]
    h, w = x.shape[2:]
    eb = max(0, (oh - 1) * sh + dil[0] * (kh - 1) + 1 - (h + pt + pb))
    er = max(0, (ow - 1) * sw + dil[1] * (kw - 1) + 1 - (w + pl + pr))
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb + eb), (pl, pr + er)), constant_values=fill)
    return _windows(xp, (kh, kw), (sh, sw), dil, (oh, ow)), (pt, pl, pb + eb, pr + er)


@kernel(ops.MaxPool2dOp)
def _max_pool(op: ops.MaxPool2dOp, x: np.ndarray) -> np.ndarray:
    win, _ = _pool_windows(op, x, -np.inf, tuple(op.p["dilations"]))
    return win.max(axis=(4, 5))


@kernel(ops.AvgPool2dOp)
def _avg_pool(op: ops.AvgPool2dOp, x: np.ndarray) -> np.ndarray:
    p = op.p
    win, (pt, pl, pb, pr) = _pool_windows(op, x, 0.0, (1, 1))
    total = win.sum(axis=(4, 5))
    h, w = x.shape[2:]
    # divisor: the window's cells inside the input (count_include_pad=False), or inside the
    # explicitly padded input (True); cells added only for ceil_mode never count (PyTorch).
    area = np.zeros((1, 1, h + pt + pb, w + pl + pr), dtype=np.float32)
    pad_t, pad_l, pad_b, pad_r = p["pads"]
    if p["count_include_pad"]:
        area[:, :, : h + pad_t + pad_b, : w + pad_l + pad_r] = 1
    else:
        area[:, :, pad_t : pad_t + h, pad_l : pad_l + w] = 1
    divisor = _windows(area, tuple(p["kernel"]), tuple(p["strides"]), (1, 1), total.shape[2:]).sum(
        axis=(4, 5)
    )
    return total / divisor


def _source_index(out: int, size: int, align: bool) -> np.ndarray:
    d = np.arange(out, dtype=np.float64)
    if align:
        return d * ((size - 1) / (out - 1)) if out > 1 else np.zeros(out)
    return np.maximum((d + 0.5) * (size / out) - 0.5, 0)


@kernel(ops.UpsampleOp)
def _upsample(op: ops.UpsampleOp, x: np.ndarray) -> np.ndarray:
    p = op.p
    h, w = x.shape[2:]
    oh, ow = p["size"]
    if p["mode"] == "nearest":  # PyTorch 'nearest': floor(dst * in / out)
        ih = np.minimum(np.floor(np.arange(oh) * (h / oh)).astype(np.int64), h - 1)
        iw = np.minimum(np.floor(np.arange(ow) * (w / ow)).astype(np.int64), w - 1)
        return x[:, :, ih][:, :, :, iw]
    out = x
    for axis, (n_in, n_out) in ((2, (h, oh)), (3, (w, ow))):
        src = _source_index(n_out, n_in, p["align_corners"])
        lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = (src - lo).astype(np.float32)
        shape = [1, 1, 1, 1]
        shape[axis] = n_out
        frac = frac.reshape(shape)
        out = np.take(out, lo, axis=axis) * (1 - frac) + np.take(out, hi, axis=axis) * frac
    return out


@kernel(ops.AttentionOp)
def _attention_k(op: ops.AttentionOp, q: np.ndarray, k: np.ndarray, v: np.ndarray,
                 mask: np.ndarray | None = None) -> np.ndarray:
    return attention(q, k, v, mask, op.p["scale"], op.p["causal"])


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None,
              scale: float | None, causal: bool) -> np.ndarray:
    if scale is None:
        scale = 1 / math.sqrt(q.shape[-1])
    scores = np.matmul(q, np.swapaxes(k, -1, -2)) * np.float32(scale)
    if causal:
        L, S = scores.shape[-2:]
        scores = np.where(np.tril(np.ones((L, S), dtype=bool)), scores, -np.inf)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf) if mask.dtype == np.bool_ else scores + mask
    return np.matmul(_softmax(scores, -1), v)


# --- fused operators ---------------------------------------------------------------------


def _silu(x: np.ndarray) -> np.ndarray:
    return x * _sigmoid(x)


def _gn(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, groups: int, eps: float) -> np.ndarray:
    y = _normalize(x.reshape(x.shape[0], groups, -1), (2,), eps).reshape(x.shape)
    return y * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)


@kernel(ops.GroupNormSiluOp)
def _group_norm_silu(op: ops.GroupNormSiluOp, x, gamma, beta) -> np.ndarray:
    y = _gn(x, gamma, beta, op.p["num_groups"], op.p["epsilon"])
    return _silu(y) if op.p["activate_silu"] else y


@kernel(ops.AddGroupNormOp)
def _add_group_norm(op: ops.AddGroupNormOp, x1, x2, gamma, beta) -> tuple[np.ndarray, np.ndarray]:
    s = x1 + x2
    y = _gn(s, gamma, beta, op.p["num_groups"], op.p["epsilon"])
    return (_silu(y) if op.p["activate_silu"] else y), s


@kernel(ops.ConvGnSiluOp)
def _conv_gn_silu(op: ops.ConvGnSiluOp, x, w, b, gamma, beta) -> tuple[np.ndarray, np.ndarray]:
    c = _conv2d(op, x, w, b)
    y = _gn(c, gamma, beta, op.p["num_groups"], op.p["epsilon"])
    return (_silu(y) if op.p["activate_silu"] else y), c


@kernel(ops.FlashAttentionOp)
def _flash_attention(op: ops.FlashAttentionOp, q, k, v, mask=None) -> np.ndarray:
    p = op.p
    if p["input_layout"] == "BNSD":
        return attention(q, k, v, mask, p["scale"], p["causal"])
    n = p["head_num"]

    def heads(t: np.ndarray) -> np.ndarray:
        b, s, h = t.shape
        return t.reshape(b, s, n, h // n).transpose(0, 2, 1, 3)

    o = attention(heads(q), heads(k), heads(v), mask, p["scale"], p["causal"])
    b, _, s, d = o.shape
    return o.transpose(0, 2, 1, 3).reshape(b, s, n * d)


@kernel(ops.GegluOp)
def _geglu(op: ops.GegluOp, x: np.ndarray) -> np.ndarray:
    left, right = np.split(x, 2, axis=op.p["dim"])
    if op.p["activate_left"]:
        return gelu(left, op.p["approximate"]) * right
    return left * gelu(right, op.p["approximate"])


@kernel(ops.AddLayerNormOp)
def _add_layer_norm(op: ops.AddLayerNormOp, x1, x2, gamma, beta) -> tuple[np.ndarray, np.ndarray]:
    s = x1 + x2
    axis = op.p["axis"] % s.ndim
    return _normalize(s, tuple(range(axis, s.ndim)), op.p["epsilon"]) * gamma + beta, s


_ACT = {
    "none": lambda y: y,
    "relu": lambda y: np.maximum(y, 0),
    "gelu": gelu,
    "gelu_tanh": lambda y: gelu(y, "tanh"),
    "silu": _silu,
    "sigmoid": _sigmoid,
    "hardswish": UNARY[ops.HardswishOp],
}


@kernel(ops.LinearActOp)
def _linear_act(op: ops.LinearActOp, x, w, b=None) -> np.ndarray:
    return _ACT[op.p["activation"]](_linear(op, x, w, b))


@kernel(ops.Conv2dActOp)
def _conv2d_act(op: ops.Conv2dActOp, x, w, b, residual=None) -> np.ndarray:
    y = _conv2d(op, x, w, b)
    return _ACT[op.p["activation"]](y if residual is None else y + residual)


@kernel(ops.TransDataOp)
def _trans_data(op: ops.TransDataOp, x: np.ndarray) -> np.ndarray:
    """Values are logical arrays; the physical layouts are built and checked on the way."""
    src, dst = op.p["src_format"], op.p["dst_format"]
    stored = pack(x, dst)
    back = unpack(stored, dst, x.shape)
    if not np.array_equal(back, x, equal_nan=True):
        raise CircError(f"{describe_op(op)}: {src} -> {dst} does not round-trip")
    return back


# --- constants and weights ---------------------------------------------------------------


def constant_array(op: ops.ConstantOp) -> np.ndarray:
    t = op.value.type
    assert isinstance(t, TensorType)
    return np.frombuffer(op.value.data.data, dtype=dtype_of(t).np).reshape(t.get_shape())


# --- the interpreter ---------------------------------------------------------------------


def _run(fn: Kernel, op: Operation, args: tuple[Any, ...]) -> tuple[Any, ...]:
    types = [r.type for r in op.results]
    if types and all(0 in shape_of(t) for t in types):  # empty results: nothing to compute
        return tuple(np.zeros(shape_of(t), dtype_of(t).np) for t in types)
    ins = [_f32(a) for a in args]
    with np.errstate(all="ignore"):
        out = fn(op, *ins)
    outs = out if isinstance(out, tuple) else (out,)
    # np.require keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d)
    return tuple(
        np.require(np.asarray(o).astype(dtype_of(t).np, copy=False), requirements="C")
        for o, t in zip(outs, types, strict=True)
    )


def evaluate_op(op: Operation, args: Sequence[np.ndarray]) -> tuple[np.ndarray, ...]:
    """One op on numpy arrays (its operands, in order): its results, in the result types'
    dtypes, exactly as the interpreter computes them inside a function."""
    fn = KERNELS.get(type(op))
    if fn is None:
        raise CircError(f"{describe_op(op)} has no reference kernel")
    return _run(fn, op, tuple(args))


def _make_functions() -> type[InterpreterFunctions]:
    namespace: dict[str, Any] = {}
    for op_type, fn in KERNELS.items():
        def run(self: Any, interp: Interpreter, op: Operation, args: tuple[Any, ...], fn=fn):
            return _run(fn, op, args)

        namespace[f"run_{op_type.name.replace('.', '_')}"] = impl(op_type)(run)

    def run_constant(self: Any, interp: Interpreter, op: ops.ConstantOp, args: tuple[Any, ...]):
        return (constant_array(op),)

    def run_weight(self: Any, interp: Interpreter, op: ops.WeightOp, args: tuple[Any, ...]):
        name = op.sym_name.data
        try:
            arr = self.weights[name]
        except KeyError:
            raise CircError(f"{describe_op(op)}: weight '{name}' is not in the weights") from None
        t = op.result.type
        assert isinstance(t, TensorType)
        fmt = format_of(t)
        if fmt != "ND" and tuple(arr.shape) != t.get_shape():
            # pre-packed at compile time: stored in its physical layout
            want = physical_shape(t.get_shape(), fmt, dtype_of(t).itemsize)
            if tuple(arr.shape) != want:
                raise CircError(f"{describe_op(op)}: packed weight '{name}' has shape "
                                f"{tuple(arr.shape)}, {fmt} needs {want}")
            arr = unpack(np.asarray(arr), fmt, t.get_shape())
        if tuple(arr.shape) != t.get_shape():
            raise CircError(
                f"{describe_op(op)}: weight '{name}' has shape {tuple(arr.shape)}, IR says {t}"
            )
        return (np.asarray(arr).astype(dtype_of(t).np, copy=False),)

    namespace["run_constant"] = impl(ops.ConstantOp)(run_constant)
    namespace["run_weight"] = impl(ops.WeightOp)(run_weight)

    def __init__(self: Any, weights: WeightStore) -> None:
        self.weights = weights

    namespace["__init__"] = __init__
    return register_impls(type("CirFunctions", (InterpreterFunctions,), namespace))


CirFunctions = _make_functions()


def interpret(module: ModuleOp, inputs: Mapping[str, Any],
              weights: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Run `module`'s entry function on named numpy arrays; outputs in the function's order.

    >>> outs = interpret(module, {"x": np.ones((1, 4), np.float32)})
    """
    f = entry_function(module)
    args = check_inputs(f, inputs)
    store = weights if weights is not None else weights_of(module)
    interp = Interpreter(module)
    interp.register_implementations(FuncFunctions())
    interp.register_implementations(CirFunctions(store))  # type: ignore[call-arg]
    for op in f.walk():
        if op is not f and op.dialect_name() not in ("cir", "func"):
            raise CircError(f"{describe_op(op)} cannot be interpreted: it is not a CIR op")
    results = interp.call_op(f, tuple(args))
    return dict(zip(output_names(f), (np.asarray(r) for r in results), strict=True))
