"""``recompose``: find whole operators that a framework exported in pieces.

Keras 3 writes BatchNormalization as ``x * (rsqrt(var + eps) * gamma) + (beta - mean * ...)``,
swish as ``x * sigmoid(x)``, GELU with ``erfc``, LayerNorm / GroupNorm with moments, Dense as
``MatMul`` + ``BiasAdd``, ``UpSampling2D`` as repeats; MindSpore writes an exact GELU with
``erf``. Fusion and kernels want the whole op, and the same op whichever framework the model came
from. Each pattern anchors on the last op of its chain and checks every piece it absorbs:

- ``mul(x, sigmoid(x))`` -> ``cir.silu``; ``0.5 * x * (1 + erf(x / sqrt(2)))`` (and the erfc
  form) -> ``cir.gelu``; ``x * 1`` / ``x + 0`` / ``x / 1`` -> ``x``;
- ``x * m + (beta - mean * m)`` with ``m = rsqrt(var + eps) * gamma`` -> ``cir.batch_norm``
  when mean / var are data, ``cir.layer_norm`` / ``cir.group_norm`` when they are moments of x
  (``reduce_mean`` over the trailing dims, or over the spatial dims and channels of a group);
  channels-last tensors get transposes that ``cancel-transposes`` removes;
- ``softmax(q @ k^T * scale) @ v`` -> ``cir.attention`` (the scale is dropped when it is the
  default ``1 / sqrt(E)``);
- ``x @ w`` with a constant 2-D ``w`` -> ``cir.linear`` (``w`` transposed to (out, in)); a bias
  added to a linear or a convolution without one moves into it, and so does zero padding of a
  convolution's input; a linear applied to ``x`` with its leading dims flattened is applied to
  ``x``;
- nearest upsampling written as two repeats (``reshape(tile(reshape(x)))`` on H and on W) ->
  ``cir.upsample``.

Example: ``circ-opt keras.mlir -p recompose,cancel-transposes``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from cir.passes.cancel_transposes import layout_patterns
from cir.passes.rewrite_utils import (
    defining,
    dense,
    insert,
    inverse,
    is_data,
    rebuild,
    scalar_value,
    shape,
)
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from cir import ops
from cir.weights import attached

SQRT1_2 = 1 / math.sqrt(2)


def _close(a: float | None, b: float, rel: float = 1e-5) -> bool:
    return a is not None and abs(a - b) <= rel * abs(b)


def _one_use(v: SSAValue) -> bool:
    return v.uses.get_length() == 1


def _pairs(op: Operation) -> list[tuple[SSAValue, SSAValue]]:
    a, b = op.operands
    return [(a, b), (b, a)]


def _vector(v: SSAValue, rank: int) -> tuple[int, int] | None:
    """(axis, size) of the one dim larger than 1 of `v` broadcast to `rank` dims."""
    s = shape(v)
    full = [1] * (rank - len(s)) + list(s)
    big = [(i, d) for i, d in enumerate(full) if d != 1]
    if len(big) != 1:
        return None
    return big[0]


# --- elementwise ---------------------------------------------------------------------------


class DropIdentityArith(RewritePattern):
    """x * 1, x / 1, x + 0, x - 0 -> x (when they change neither shape nor type)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, ops.MulOp | ops.DivOp | ops.AddOp | ops.SubOp):
            return
        unit = 1.0 if isinstance(op, ops.MulOp | ops.DivOp) else 0.0
        candidates = _pairs(op) if isinstance(op, ops.MulOp | ops.AddOp) else [tuple(op.operands)]
        for x, c in candidates:
            if scalar_value(c) == unit and x.type == op.results[0].type:
                rewriter.replace(op, [], [x])
                return


class Silu(RewritePattern):
    """x * sigmoid(x) -> silu(x)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.MulOp, rewriter: PatternRewriter) -> None:
        for x, s in _pairs(op):
            sig = defining(s, ops.SigmoidOp)
            if sig is not None and sig.x == x and x.type == op.result.type:
                rewriter.replace(op, ops.SiluOp(x))
                return


def _factors(v: SSAValue, top: bool = True) -> tuple[list[SSAValue], float]:
    """A product of single-use muls as its non-constant factors and their constant product."""
    mul = defining(v, ops.MulOp)
    c = scalar_value(v)
    if c is not None and not top:
        return [], c
    if mul is None or (not top and not _one_use(v)):
        return [v], 1.0
    fa, ca = _factors(mul.lhs, False)
    fb, cb = _factors(mul.rhs, False)
    return fa + fb, ca * cb


def _scaled(u: SSAValue) -> tuple[SSAValue, float] | None:
    """u = x * k (also x / c, -x * c, -(x * c)) -> (x, k)."""
    sign = 1.0
    neg = defining(u, ops.NegOp)
    if neg is not None:
        u, sign = neg.x, -1.0
    m = defining(u, ops.MulOp)
    if m is not None:
        for x, c in _pairs(m):
            k = scalar_value(c)
            if k is not None and scalar_value(x) is None:
                inner = defining(x, ops.NegOp)
                if inner is not None:
                    return inner.x, -sign * k
                return x, sign * k
    d = defining(u, ops.DivOp)
    if d is not None and (k := scalar_value(d.rhs)) is not None and k != 0.0:
        return d.lhs, sign / k
    return None


def _erf_term(v: SSAValue) -> tuple[SSAValue, float] | None:
    """1 + erf(k x) -> (x, k); 1 - erf(k x) -> (x, -k)."""
    add = defining(v, ops.AddOp)
    sub = defining(v, ops.SubOp)
    if add is not None:
        for one, e in _pairs(add):
            erf = defining(e, ops.ErfOp)
            if erf is not None and scalar_value(one) == 1.0 and (s := _scaled(erf.x)):
                return s
    if sub is not None and scalar_value(sub.lhs) == 1.0:
        erf = defining(sub.rhs, ops.ErfOp)
        if erf is not None and (s := _scaled(erf.x)):
            return s[0], -s[1]
    return None


class Gelu(RewritePattern):
    """0.5 * x * (1 + erf(x / sqrt(2))) (in any order, or with erfc) -> gelu(x)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.MulOp, rewriter: PatternRewriter) -> None:
        factors, c = _factors(op.result)
        if len(factors) != 2 or not _close(c, 0.5):
            return
        for x, term in ((factors[0], factors[1]), (factors[1], factors[0])):
            found = _erf_term(term)
            if found and found[0] == x and _close(found[1], SQRT1_2) and x.type == op.result.type:
                rewriter.replace(op, ops.GeluOp(x))
                return


# --- normalisation -------------------------------------------------------------------------


def _fits(v: SSAValue | None, want: list[int]) -> bool:
    """An absent affine parameter, or constant data with exactly the elements of `want`."""
    return v is None or (is_data(v) and int(np.prod(shape(v))) == int(np.prod(want)))


def _reshaped(rewriter: PatternRewriter, op: Operation, v: SSAValue | None,
              want: list[int]) -> SSAValue | None:
    if v is None or list(shape(v)) == want:
        return v
    return insert(rewriter, op, ops.ReshapeOp(v, shape=want))


def _rsqrt_scale(m: SSAValue) -> tuple[SSAValue, float, SSAValue | None] | None:
    """m = rsqrt(var + eps) [* gamma] -> (var, eps, gamma)."""
    gamma = None
    r = defining(m, ops.RsqrtOp)
    if r is None:
        mul = defining(m, ops.MulOp)
        if mul is None:
            return None
        for a, g in _pairs(mul):
            if (r := defining(a, ops.RsqrtOp)) is not None:
                gamma = g
                break
        else:
            return None
    add = defining(r.x, ops.AddOp)
    if add is None:
        return None
    for var, e in _pairs(add):
        eps = scalar_value(e)
        if eps is not None and scalar_value(var) is None:
            return var, eps, gamma
    return None


def _shift(q: SSAValue, m: SSAValue) -> tuple[SSAValue, SSAValue | None] | None:
    """q = beta - mean * m, or -mean * m + beta, or -(mean * m) -> (mean, beta)."""
    sub = defining(q, ops.SubOp)
    if sub is not None:
        mul = defining(sub.rhs, ops.MulOp)
        if mul is not None:
            for mean, mm in _pairs(mul):
                if mm == m:
                    return mean, sub.lhs
    add = defining(q, ops.AddOp)
    candidates = _pairs(add) if add is not None else [(q, None)]
    for prod, beta in candidates:
        mul = defining(prod, ops.MulOp)
        if mul is not None:
            for nm, mm in _pairs(mul):
                neg = defining(nm, ops.NegOp)
                if mm == m and neg is not None:
                    return neg.x, beta
        neg = defining(prod, ops.NegOp)
        if neg is not None and (mul := defining(neg.x, ops.MulOp)) is not None:
            for mean, mm in _pairs(mul):
                if mm == m:
                    return mean, beta
    return None


def _moments(x: SSAValue, mean: SSAValue, var: SSAValue) -> list[int] | None:
    """The axes when mean = reduce_mean(x) and var = reduce_mean((x - mean)^2), same axes."""
    rm = defining(mean, ops.ReduceMeanOp)
    rv = defining(var, ops.ReduceMeanOp)
    if rm is None or rv is None or rm.x != x or not rm.p["keepdims"] or not rv.p["keepdims"]:
        return None
    rank = len(shape(x))
    axes = sorted(a % rank for a in rm.p["axes"])
    if sorted(a % rank for a in rv.p["axes"]) != axes:
        return None
    sq = defining(rv.x, ops.MulOp)
    if sq is None or sq.lhs != sq.rhs:
        return None
    d = defining(sq.lhs, ops.SubOp)
    if d is None or d.lhs != x or d.rhs != mean:
        return None
    return axes


class Normalization(RewritePattern):
    """x * m + shift with m = rsqrt(var + eps) * gamma -> batch / layer / group norm."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.AddOp, rewriter: PatternRewriter) -> None:
        for p, q in _pairs(op):
            mul = defining(p, ops.MulOp)
            if mul is None:
                continue
            for x, m in _pairs(mul):
                scale = _rsqrt_scale(m)
                shift = _shift(q, m) if scale else None
                if scale is None or shift is None:
                    continue
                var, eps, gamma = scale
                mean, beta = shift
                if self._rewrite(op, x, mean, var, eps, gamma, beta, rewriter):
                    return

    def _rewrite(self, op: ops.AddOp, x: SSAValue, mean: SSAValue, var: SSAValue, eps: float,
                 gamma: SSAValue | None, beta: SSAValue | None, rewriter: PatternRewriter) -> bool:
        out_t = op.result.type
        if out_t != x.type:
            return False
        rank = len(shape(x))
        if is_data(mean) and is_data(var):
            return self._batch_norm(op, x, mean, var, eps, gamma, beta, rank, rewriter)
        axes = _moments(x, mean, var)
        if axes is None:
            return False
        if axes == list(range(axes[0], rank)):
            k = axes[0]
            norm = list(shape(x)[k:])
            if not (_fits(gamma, norm) and _fits(beta, norm)):
                return False
            w, b = _reshaped(rewriter, op, gamma, norm), _reshaped(rewriter, op, beta, norm)
            rewriter.replace(op, ops.LayerNormOp(x, w, b, axis=k, epsilon=eps))
            return True
        return self._group_norm(op, x, axes, eps, gamma, beta, rank, rewriter)

    def _group_norm(self, op: ops.AddOp, x: SSAValue, axes: list[int], eps: float,
                    gamma: SSAValue | None, beta: SSAValue | None, rank: int,
                    rewriter: PatternRewriter) -> bool:
        # channels-last groups: x = reshape(x0 (N, ..., C), (N, ..., G, C / G))
        r = defining(x, ops.ReshapeOp)
        if r is None or rank < 3 or axes != [*range(1, rank - 2), rank - 1]:
            return False
        x0 = r.x
        s0, s = list(shape(x0)), list(shape(x))
        groups, c = s[-2], s0[-1] if s0 else 0
        if s0[:-1] != s[:-2] or groups * s[-1] != c:
            return False
        if not (_fits(gamma, [c]) and _fits(beta, [c])):
            return False
        w, b = _reshaped(rewriter, op, gamma, [c]), _reshaped(rewriter, op, beta, [c])
        r0 = len(s0)
        to_first = [0, r0 - 1, *range(1, r0 - 1)]
        t = insert(rewriter, op, ops.TransposeOp(x0, perm=to_first))
        g = insert(rewriter, op, ops.GroupNormOp(t, w, b, num_groups=groups, epsilon=eps))
        back = insert(rewriter, op, ops.TransposeOp(g, perm=inverse(to_first)))
        rewriter.replace(op, ops.ReshapeOp(back, shape=s))
        return True

    def _batch_norm(self, op: ops.AddOp, x: SSAValue, mean: SSAValue, var: SSAValue, eps: float,
                    gamma: SSAValue | None, beta: SSAValue | None, rank: int,
                    rewriter: PatternRewriter) -> bool:
        found = _vector(mean, rank)
        if rank < 2 or found is None or _vector(var, rank) != found:
            return False
        axis, c = found
        if axis not in (1, rank - 1):
            return False
        t = x.type
        assert isinstance(t, TensorType)
        given = ((gamma, 1.0), (beta, 0.0), (mean, 0.0), (var, 0.0))
        if any(v is not None and (_vector(v, rank) != found or not is_data(v)) for v, _ in given):
            return False
        parts = [insert(rewriter, op, dense(np.full((c,), default, np.float32), t)) if v is None
                 else _reshaped(rewriter, op, v, [c]) for v, default in given]
        if axis == 1:
            rewriter.replace(op, ops.BatchNormOp(x, *parts, epsilon=eps))
            return True
        to_first = [0, rank - 1, *range(1, rank - 1)]
        xt = insert(rewriter, op, ops.TransposeOp(x, perm=to_first))
        y = insert(rewriter, op, ops.BatchNormOp(xt, *parts, epsilon=eps))
        rewriter.replace(op, ops.TransposeOp(y, perm=inverse(to_first)))
        return True


# --- attention -----------------------------------------------------------------------------


class Attention(RewritePattern):
    """softmax(q @ k^T * scale) @ v -> attention(q, k, v, scale)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.MatmulOp, rewriter: PatternRewriter) -> None:
        sm = defining(op.a, ops.SoftmaxOp)
        if sm is None or not _one_use(op.a) or sm.p["axis"] % len(shape(sm.x)) != len(shape(sm.x)) - 1:
            return
        scores, scale = sm.x, 1.0
        for cls in (ops.MulOp, ops.DivOp):
            s = defining(scores, cls)
            if s is None or not _one_use(scores):
                continue
            pairs = _pairs(s) if cls is ops.MulOp else [(s.lhs, s.rhs)]
            for qk, c in pairs:
                k = scalar_value(c)
                if k and defining(qk, ops.MatmulOp):
                    scores, scale = qk, (k if cls is ops.MulOp else 1 / k)
                    break
        mm = defining(scores, ops.MatmulOp)
        if mm is None or not _one_use(scores):
            return
        q, kt = mm.a, mm.b
        rank = len(shape(kt))
        if rank < 2 or len(shape(q)) != rank or len(shape(op.b)) != rank:
            return
        swap = [*range(rank - 2), rank - 1, rank - 2]
        t = defining(kt, ops.TransposeOp)
        src, perm = (t.x, [t.p["perm"][i] for i in swap]) if t is not None else (kt, swap)
        k_op = None if perm == list(range(rank)) else ops.TransposeOp(src, perm=perm)
        k = src if k_op is None else k_op.result
        e = shape(q)[-1]
        default = 1 / math.sqrt(e)
        attn = ops.AttentionOp(q, k, op.b, scale=None if _close(scale, default) else scale)
        if attn.result.type != op.result.type:
            return
        if k_op is not None:
            insert(rewriter, op, k_op)
        rewriter.replace(op, attn)


# --- linear and convolution ----------------------------------------------------------------


class MatmulToLinear(RewritePattern):
    """x @ w with constant 2-D w (in, out) -> linear(x, w^T)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.MatmulOp, rewriter: PatternRewriter) -> None:
        if len(shape(op.b)) != 2 or not is_data(op.b) or len(shape(op.a)) < 2:
            return
        w = insert(rewriter, op, ops.TransposeOp(op.b, perm=[1, 0]))
        rewriter.replace(op, ops.LinearOp(op.a, w))


class BiasIntoLinear(RewritePattern):
    """linear(x, w) + b -> linear(x, w, b) for a constant b along the output features (also
    through a reshape of the leading dims between the two)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.AddOp, rewriter: PatternRewriter) -> None:
        for y, b in _pairs(op):
            r = defining(y, ops.ReshapeOp)
            src = r.x if r is not None and _one_use(y) else y
            lin = defining(src, ops.LinearOp)
            if lin is None or lin.bias is not None or not _one_use(src) or not is_data(b):
                continue
            rank = len(shape(y))
            out = shape(src)[-1]
            if (_vector(b, rank) != (rank - 1, out) or op.result.type != y.type
                    or shape(y)[-1] != out):
                continue
            bias = b if shape(b) == (out,) else insert(rewriter, op, ops.ReshapeOp(b, shape=[out]))
            new = insert(rewriter, op, ops.LinearOp(lin.x, lin.weight, bias))
            if src is y:
                rewriter.replace(op, [], [new])
            else:
                rewriter.replace(op, ops.ReshapeOp(new, shape=list(shape(y))))
            return


class BiasIntoConv(RewritePattern):
    """conv2d(x, w) + b -> conv2d(x, w, b) for a constant per-channel b."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.AddOp, rewriter: PatternRewriter) -> None:
        for y, b in _pairs(op):
            conv = defining(y, ops.Conv2dOp)
            if conv is None or conv.bias is not None or not _one_use(y) or not is_data(b):
                continue
            c = shape(y)[1]
            if _vector(b, 4) != (1, c) or len(shape(b)) < 3 or op.result.type != y.type:
                continue
            bias = insert(rewriter, op, ops.ReshapeOp(b, shape=[c]))
            rewriter.replace(op, rebuild(conv, [conv.x, conv.weight, bias]))
            return


class PadIntoConv(RewritePattern):
    """conv2d(pad(x) with zeros on H and W) -> conv2d(x) with those pads."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.Conv2dOp, rewriter: PatternRewriter) -> None:
        pad = defining(op.x, ops.PadOp)
        if pad is None or pad.p["mode"] != "constant" or pad.p["value"] != 0.0:
            return
        low, high = list(pad.p["low"]), list(pad.p["high"])
        if any(low[:2]) or any(high[:2]):
            return
        t, l, b, r = op.p["pads"]
        pads = [t + low[2], l + low[3], b + high[2], r + high[3]]
        rewriter.replace(op, rebuild(op, [pad.x, *op.operands[1:]], pads=pads))


class LinearOnFlattened(RewritePattern):
    """linear(reshape(x, (M, K)), w) where x's leading dims hold M elements and its other dims
    K -> reshape(linear(reshape(x, (*leading, K)), w), (M, N)): the linear sees the leading dims
    as a PyTorch model has them."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.LinearOp, rewriter: PatternRewriter) -> None:
        r = defining(op.x, ops.ReshapeOp)
        if r is None:
            return
        s0, (m, k) = list(shape(r.x)), (shape(op.x) + (0, 0))[:2]
        if len(shape(op.x)) != 2 or len(s0) < 2:
            return
        lead, n = [], 1
        for d in s0:
            if n == m:
                break
            lead.append(d)
            n *= d
        if n != m or len(lead) < 2 or int(np.prod(s0[len(lead):])) != k:
            return
        x = r.x if s0 == [*lead, k] else insert(rewriter, op, ops.ReshapeOp(r.x, shape=[*lead, k]))
        y = insert(rewriter, op, ops.LinearOp(x, op.weight, op.bias))
        rewriter.replace(op, ops.ReshapeOp(y, shape=list(shape(op.result))))


# --- upsampling ----------------------------------------------------------------------------


def _repeat(v: SSAValue) -> tuple[SSAValue, int, int] | None:
    """v = reshape(tile(reshape(x, insert 1 after axis a), r at a + 1), merge) -> (x, a, r)."""
    outer = defining(v, ops.ReshapeOp)
    tile = defining(outer.x, ops.TileOp) if outer else None
    inner = defining(tile.x, ops.ReshapeOp) if tile else None
    if outer is None or tile is None or inner is None:
        return None
    x = inner.x
    s, e = list(shape(x)), list(shape(inner.result))
    reps = list(tile.p["repeats"])
    for a in range(len(s)):
        if e == s[: a + 1] + [1] + s[a + 1 :]:
            r = reps[a + 1]
            if [d for i, d in enumerate(reps) if i != a + 1] == [1] * len(s) and list(
                    shape(v)) == s[:a] + [s[a] * r] + s[a + 1 :]:
                return x, a, r
    return None


class UpsampleFromRepeats(RewritePattern):
    """repeat(repeat(x, r, H), s, W) -> nearest upsampling (NCHW, or NHWC with transposes)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ReshapeOp, rewriter: PatternRewriter) -> None:
        second = _repeat(op.result)
        first = _repeat(second[0]) if second else None
        if second is None or first is None or len(shape(first[0])) != 4:
            return
        x, a1, _ = first
        a2 = second[1]
        out = list(shape(op.result))
        if (a1, a2) in ((2, 3), (3, 2)):
            rewriter.replace(op, ops.UpsampleOp(x, size=out[2:], mode="nearest"))
        elif (a1, a2) in ((1, 2), (2, 1)):
            t = insert(rewriter, op, ops.TransposeOp(x, perm=[0, 3, 1, 2]))
            u = insert(rewriter, op, ops.UpsampleOp(t, size=out[1:3], mode="nearest"))
            rewriter.replace(op, ops.TransposeOp(u, perm=[0, 2, 3, 1]))


def recompose_patterns() -> list[RewritePattern]:
    return [
        DropIdentityArith(), Silu(), Gelu(), Normalization(), Attention(), MatmulToLinear(),
        BiasIntoLinear(), BiasIntoConv(), PadIntoConv(), LinearOnFlattened(),
        UpsampleFromRepeats(),
    ]  # fmt: skip


def canonical_form(module: ModuleOp) -> None:
    """Recompose whole ops, then cancel layout changes: what every frontend's CIR goes through,
    so that one model from any framework gives one graph."""
    PatternRewriteWalker(GreedyRewritePatternApplier(recompose_patterns())).rewrite_module(module)
    patterns = recompose_patterns() + layout_patterns(attached(module))
    PatternRewriteWalker(GreedyRewritePatternApplier(patterns)).rewrite_module(module)


@dataclass(frozen=True)
class RecomposePass(ModulePass):
    """Recompose decomposed operators (see the module docstring). No options."""

    name = "recompose"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(GreedyRewritePatternApplier(recompose_patterns())).rewrite_module(op)
