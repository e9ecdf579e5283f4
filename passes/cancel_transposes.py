"""``cancel-transposes``: move layout changes out of the way until they meet and cancel.

Frontends of channels-last frameworks put a ``cir.transpose`` to NCHW in front of every
convolution and one back to NHWC after it. These patterns push transposes down through ops that
do not care about layout, compose and cancel them, and bring reshapes and transposes into one
canonical order, so that an NHWC model ends up as the same NCHW graph a PyTorch model gives:

- ``transpose(transpose(x, p), q)`` -> one transpose, or ``x`` when they cancel; the same for
  reshape chains; a transpose that only moves size-1 dims is a reshape; a full slice is ``x``;
- ``f(transpose(x, p))`` -> ``transpose(f(x), p)`` for elementwise ops, reductions, softmax,
  pad, slice and concat (axes renumbered); a binary op needs its other operand transposed the
  same way or cheap to re-lay out (a scalar, a vector broadcast along one dim, constant data);
- a transpose next to a reshape that only merges or splits whole dims moves to the side where
  the tensor has fewer dims (``reshape(transpose(x))`` -> ``transpose(reshape(x))`` when the
  reshape merges, the other way when it splits);
- a transpose or reshape of a ``cir.constant``, or of a ``cir.weight`` whose values are in
  memory, is folded into the data.

Example: ``circ-opt nhwc.mlir -p cancel-transposes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from math import prod

from cir.passes.rewrite_utils import (
    defining,
    fold_layout,
    insert,
    inverse,
    is_data,
    rebuild,
    shape,
)
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
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
from cir.weights import WeightStore, attached

UNARY = (
    ops.NegOp, ops.AbsOp, ops.ExpOp, ops.LogOp, ops.SqrtOp, ops.RsqrtOp, ops.ReciprocalOp,
    ops.ErfOp, ops.TanhOp, ops.SigmoidOp, ops.ReluOp, ops.ClampOp, ops.SiluOp, ops.GeluOp,
    ops.HardswishOp, ops.SinOp, ops.CosOp, ops.FloorOp, ops.CastOp,
)  # fmt: skip
BINARY = (
    ops.AddOp, ops.SubOp, ops.MulOp, ops.DivOp, ops.PowOp, ops.MaximumOp, ops.MinimumOp,
    ops.EqOp, ops.NeOp, ops.LtOp, ops.LeOp, ops.GtOp, ops.GeOp,
)  # fmt: skip
REDUCE = (ops.ReduceSumOp, ops.ReduceMeanOp, ops.ReduceMaxOp, ops.ReduceMinOp)


def _transposed(v: SSAValue) -> tuple[SSAValue, list[int]] | None:
    t = defining(v, ops.TransposeOp)
    return (t.x, list(t.p["perm"])) if t is not None else None


# --- chains and trivial layout ops ---------------------------------------------------------


class TransposeChain(RewritePattern):
    """transpose(transpose(x, p), q) -> transpose(x, p∘q); an identity transpose -> x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.TransposeOp, rewriter: PatternRewriter) -> None:
        perm = list(op.p["perm"])
        src = op.x
        inner = _transposed(src)
        if inner is not None:
            src, first = inner
            perm = [first[i] for i in perm]
        if perm == list(range(len(perm))):
            rewriter.replace(op, [], [src])
        elif inner is not None:
            rewriter.replace(op, ops.TransposeOp(src, perm=perm))


class ReshapeChain(RewritePattern):
    """reshape(reshape(x)) -> reshape(x); a reshape to the same shape -> x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ReshapeOp, rewriter: PatternRewriter) -> None:
        src = op.x
        inner = defining(src, ops.ReshapeOp)
        if inner is not None:
            src = inner.x
        if shape(src) == shape(op.result):
            rewriter.replace(op, [], [src])
        elif inner is not None:
            rewriter.replace(op, ops.ReshapeOp(src, shape=list(shape(op.result))))


class UnitTransposeToReshape(RewritePattern):
    """A transpose that keeps the order of every dim larger than 1 is a reshape."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.TransposeOp, rewriter: PatternRewriter) -> None:
        s = shape(op.x)
        moved = [p for p in op.p["perm"] if s[p] != 1]
        if moved == sorted(moved) and list(op.p["perm"]) != list(range(len(s))):
            rewriter.replace(op, ops.ReshapeOp(op.x, shape=list(shape(op.result))))


class FullSlice(RewritePattern):
    """A slice that takes everything is its input."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.SliceOp, rewriter: PatternRewriter) -> None:
        p = op.p
        s = shape(op.x)
        if (all(b == 0 for b in p["starts"]) and list(p["ends"]) == list(s)
                and all(st == 1 for st in p["steps"])):
            rewriter.replace(op, [], [op.x])


@dataclass
class FoldDataLayout(RewritePattern):
    """transpose / reshape of a constant (or of an in-memory weight) -> the changed data."""

    store: WeightStore | None = None

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if isinstance(op, ops.TransposeOp | ops.ReshapeOp):
            fold_layout(op, self.store, rewriter)


# --- sinking transposes through layout-agnostic ops ----------------------------------------


class SinkThroughUnary(RewritePattern):
    """f(transpose(x, p)) -> transpose(f(x), p) for elementwise f."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, UNARY):
            return
        t = _transposed(op.operands[0])
        if t is None:
            return
        x, perm = t
        y = insert(rewriter, op, rebuild(op, [x]))
        rewriter.replace(op, ops.TransposeOp(y, perm=perm))


def _relayout(rewriter: PatternRewriter, anchor: Operation, v: SSAValue, perm: list[int],
              rank: int) -> SSAValue | None:
    """`v` (an operand broadcast against a tensor transposed by `perm`) in the untransposed
    layout, or None when that would cost a real transpose of computed data."""
    t = _transposed(v)
    if t is not None and t[1] == perm:
        return t[0]
    s = shape(v)
    if not s:
        return v
    full = [1] * (rank - len(s)) + list(s)
    if sum(d != 1 for d in full) > 1 and not is_data(v):
        return None
    if len(s) < rank:
        v = insert(rewriter, anchor, ops.ReshapeOp(v, shape=full))
    return insert(rewriter, anchor, ops.TransposeOp(v, perm=inverse(perm)))


class SinkThroughBinary(RewritePattern):
    """f(transpose(a, p), b) -> transpose(f(a, b'), p) when b is transposed the same way or is
    cheap to re-lay out (a scalar, a vector along one dim, constant data)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, BINARY):
            return
        rank = len(shape(op.results[0]))
        perms = [t[1] for v in op.operands if (t := _transposed(v)) and len(t[1]) == rank]
        if not perms or any(p != perms[0] for p in perms):
            return
        perm = perms[0]
        # check every operand first, so that nothing is inserted for a rewrite that fails
        for v in op.operands:
            t = _transposed(v)
            s = shape(v)
            if (t is None or t[1] != perm) and s and sum(
                    d != 1 for d in s) > 1 and not is_data(v):
                return
        new = [_relayout(rewriter, op, v, perm, rank) for v in op.operands]
        assert all(v is not None for v in new)
        y = insert(rewriter, op, rebuild(op, new))
        rewriter.replace(op, ops.TransposeOp(y, perm=perm))


class SinkThroughReduce(RewritePattern):
    """reduce(transpose(x, p), axes) -> [transpose](reduce(x, p[axes]))."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, REDUCE):
            return
        t = _transposed(op.x)
        if t is None:
            return
        x, perm = t
        rank = len(perm)
        axes = [a % rank for a in op.p["axes"]]
        new_axes = sorted(perm[a] for a in axes)
        keep = op.p["keepdims"]
        y = insert(rewriter, op, rebuild(op, [x], axes=new_axes))
        if keep:
            rewriter.replace(op, ops.TransposeOp(y, perm=perm))
            return
        left = [perm[i] for i in range(rank) if i not in axes]
        order = sorted(left)
        after = [order.index(d) for d in left]
        if after == list(range(len(after))):
            rewriter.replace(op, [], [y])
        else:
            rewriter.replace(op, ops.TransposeOp(y, perm=after))


class SinkThroughSoftmax(RewritePattern):
    """softmax(transpose(x, p), axis) -> transpose(softmax(x, p[axis]), p)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, ops.SoftmaxOp | ops.LogSoftmaxOp):
            return
        t = _transposed(op.x)
        if t is None:
            return
        x, perm = t
        axis = perm[op.p["axis"] % len(perm)]
        y = insert(rewriter, op, rebuild(op, [x], axis=axis))
        rewriter.replace(op, ops.TransposeOp(y, perm=perm))


class SinkThroughPad(RewritePattern):
    """pad(transpose(x, p)) -> transpose(pad(x), p), pads renumbered."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.PadOp, rewriter: PatternRewriter) -> None:
        t = _transposed(op.x)
        if t is None:
            return
        x, perm = t
        low, high = [0] * len(perm), [0] * len(perm)
        for i, p in enumerate(perm):
            low[p], high[p] = op.p["low"][i], op.p["high"][i]
        y = insert(rewriter, op, rebuild(op, [x], low=low, high=high))
        rewriter.replace(op, ops.TransposeOp(y, perm=perm))


class SinkThroughSlice(RewritePattern):
    """slice(transpose(x, p)) -> transpose(slice(x), p), bounds renumbered."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.SliceOp, rewriter: PatternRewriter) -> None:
        t = _transposed(op.x)
        if t is None:
            return
        x, perm = t
        new = {k: [0] * len(perm) for k in ("starts", "ends", "steps")}
        for k, values in new.items():
            for i, p in enumerate(perm):
                values[p] = op.p[k][i]
        y = insert(rewriter, op, rebuild(op, [x], **new))
        rewriter.replace(op, ops.TransposeOp(y, perm=perm))


class SinkThroughConcat(RewritePattern):
    """concat(transpose(a, p), transpose(b, p), axis) -> transpose(concat(a, b, p[axis]), p)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ConcatOp, rewriter: PatternRewriter) -> None:
        found = [_transposed(v) for v in op.inputs]
        ts = [t for t in found if t is not None]
        if not ts or len(ts) != len(found) or any(t[1] != ts[0][1] for t in ts):
            return
        perm = ts[0][1]
        axis = perm[op.p["axis"] % len(perm)]
        y = insert(rewriter, op, ops.ConcatOp([t[0] for t in ts], axis=axis))
        rewriter.replace(op, ops.TransposeOp(y, perm=perm))


# --- transposes next to reshapes -------------------------------------------------------------


def _groups(big: Sequence[int], small: Sequence[int]) -> list[list[int]] | None:
    """For a reshape between `big` and `small` (fewer dims) that only merges runs of dims:
    the run of `big` dims behind each `small` dim, or None."""
    groups: list[list[int]] = []
    i = 0
    for d in small:
        group: list[int] = []
        if d == 1:
            if i >= len(big) or big[i] != 1:
                return None
            group.append(i)
            i += 1
        else:
            n = 1
            while i < len(big) and n < d:
                n *= big[i]
                group.append(i)
                i += 1
            if n != d:
                return None
        groups.append(group)
    if any(big[j] != 1 for j in range(i, len(big))) or not groups:
        return None
    groups[-1].extend(range(i, len(big)))
    return groups


def _runs_in_order(positions: Sequence[int]) -> bool:
    return all(b == a + 1 for a, b in pairwise(positions))


class TransposeAfterMerge(RewritePattern):
    """reshape(transpose(x, p)) that merges whole dims -> transpose(reshape(x)): the transpose
    moves to the side with fewer dims."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ReshapeOp, rewriter: PatternRewriter) -> None:
        t = _transposed(op.x)
        out = shape(op.result)
        if t is None or len(out) >= len(shape(op.x)):
            return
        x, perm = t
        groups = _groups(shape(op.x), out)
        if groups is None:
            return
        sources = [[perm[i] for i in g] for g in groups]
        if not all(_runs_in_order(s) for s in sources):
            return
        order = sorted(range(len(groups)), key=lambda j: sources[j][0])
        xs = shape(x)
        merged = [prod(xs[k] for k in sources[j]) for j in order]
        r = insert(rewriter, op, ops.ReshapeOp(x, shape=merged))
        rewriter.replace(op, ops.TransposeOp(r, perm=[order.index(j) for j in range(len(groups))]))


class TransposeBeforeSplit(RewritePattern):
    """transpose(reshape(x)) where the reshape splits whole dims -> reshape(transpose(x)): the
    transpose moves to the side with fewer dims."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.TransposeOp, rewriter: PatternRewriter) -> None:
        r = defining(op.x, ops.ReshapeOp)
        if r is None or len(shape(r.x)) >= len(shape(r.result)):
            return
        groups = _groups(shape(r.result), shape(r.x))
        if groups is None:
            return
        perm = list(op.p["perm"])
        where = [[perm.index(i) for i in g] for g in groups]
        if not all(_runs_in_order(w) for w in where):
            return
        order = sorted(range(len(groups)), key=lambda k: where[k][0])
        y = insert(rewriter, op, ops.TransposeOp(r.x, perm=order))
        rewriter.replace(op, ops.ReshapeOp(y, shape=list(shape(op.result))))


def layout_patterns(store: WeightStore | None) -> list[RewritePattern]:
    return [
        TransposeChain(), ReshapeChain(), UnitTransposeToReshape(), FullSlice(),
        FoldDataLayout(store), SinkThroughUnary(), SinkThroughBinary(), SinkThroughReduce(),
        SinkThroughSoftmax(), SinkThroughPad(), SinkThroughSlice(), SinkThroughConcat(),
        TransposeAfterMerge(), TransposeBeforeSplit(),
    ]  # fmt: skip


@dataclass(frozen=True)
class CancelTransposesPass(ModulePass):
    """Sink, compose and cancel ``cir.transpose`` ops (see the module docstring).

    Weights are re-laid out only when the module's weights are in memory (``cir.import_model``);
    from ``circ-opt`` a transposed weight stays a transpose.
    """

    name = "cancel-transposes"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(GreedyRewritePatternApplier(layout_patterns(attached(op)))).rewrite_module(op)
