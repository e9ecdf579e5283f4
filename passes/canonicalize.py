"""``canonicalize``: CIR's cleanup pass.

Patterns (each rewrites one shape of IR into a simpler one):
- constant folding, including weight-only subgraphs (e.g. a transposed or scaled weight):
  the op is evaluated with the reference interpreter's kernel; small results become inline
  ``cir.constant``, large ones new weights named ``_folded.<hash>``;
- identity ops disappear: reshape/broadcast_to to the same shape, transpose by the identity,
  cast to the same type, single-input concat, zero pad, all-ones tile, same-format trans_data;
- chains merge: transpose∘transpose -> one transpose, reshape∘reshape -> one reshape,
  trans_data A->B->A -> nothing;
- BatchNorm folds into the convolution before it (new conv weight and bias);
- a 1x1 convolution between image and tokens (``conv -> transpose NHWC -> reshape (B, HW, C)``
  or ``reshape (B, H, W, C) -> transpose NCHW -> conv``: Stable Diffusion's Transformer2D
  proj_in / proj_out) is a ``cir.matmul`` that reads the NCHW side transposed: no transpose of
  the activations is left (the bias becomes a broadcast add);
- a batched matmul over flattened batch dims (``reshape (B*N, M, K)`` of both operands, the
  product reshaped back to ``(B, N, M, N')``) runs on the ``(B, N, ...)`` operands directly;
- a matmul operand transposed so that its last dim becomes the row dim is read transposed by
  the matmul (``transpose_a`` / ``transpose_b``); what is left keeps the last dim, or vanishes;
then CSE and DCE. Example: ``circ-opt m.mlir -p canonicalize``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from cir.passes.rewrite_utils import dense_attr, tensor_type
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
from xdsl.transforms.common_subexpression_elimination import CommonSubexpressionElimination
from xdsl.transforms.dead_code_elimination import DeadCodeElimination

from cir import ops
from cir.errors import CircError
from cir.interpreter import KERNELS, constant_array, evaluate_op
from cir.types import dtype_of, format_of, numel, shape_of
from cir.weights import WeightStore, attach, weights_of

INLINE_LIMIT = 16  # folded results up to this many elements stay inline in the IR
FOLD_LIMIT = 1 << 24  # never materialise folded tensors larger than this


def value_of(v: SSAValue, store: WeightStore) -> np.ndarray | None:
    """The compile-time value of `v`, if it is a constant or a (logical-format) weight."""
    owner = v.owner
    if isinstance(owner, ops.ConstantOp):
        return constant_array(owner)
    if isinstance(owner, ops.WeightOp):
        t = owner.result.type
        name = owner.sym_name.data
        if isinstance(t, TensorType) and format_of(t) == "ND" and name in store:
            arr = np.asarray(store[name])
            if arr.shape == t.get_shape():
                return arr
    return None


def materialise(value: np.ndarray, t: TensorType, store: WeightStore, hint: str) -> Operation:
    """An op producing `value`: inline when small, else a new weight."""
    arr = np.asarray(value, dtype=dtype_of(t).np).reshape(t.get_shape())
    if arr.size <= INLINE_LIMIT:
        return ops.ConstantOp(dense_attr(arr, t))
    digest = hashlib.sha1(arr.tobytes() + str(arr.shape).encode()).hexdigest()[:12]
    name = f"_folded.{hint}.{digest}"
    store[name] = arr
    return ops.WeightOp(name, TensorType(t.element_type, t.get_shape()))


class FoldConstants(RewritePattern):
    """An op whose operands are all constants or weights -> its value."""

    def __init__(self, store: WeightStore):
        self.store = store

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if type(op) not in KERNELS or not op.operands or isinstance(op, ops.TransDataOp):
            return
        if any(numel(shape_of(r.type)) > FOLD_LIMIT for r in op.results):
            return
        found = [value_of(v, self.store) for v in op.operands]
        values = [v for v in found if v is not None]
        if len(values) != len(found):
            return
        # a weight used by something else too would be duplicated: only fold single uses
        if (all(isinstance(v.owner, ops.WeightOp) for v in op.operands) and len(op.results) == 1
                and any(v.uses.get_length() > 1 for v in op.operands)):
            return
        results = evaluate_op(op, values)
        new_ops = [materialise(r, tensor_type(res), self.store, op.name.removeprefix("cir."))
                   for r, res in zip(results, op.results)]
        rewriter.replace(op, new_ops, [n.results[0] for n in new_ops])


def _same(a: SSAValue, b: SSAValue) -> bool:
    return a.type == b.type


class RemoveIdentities(RewritePattern):
    """reshape/broadcast_to/cast/transpose/concat/pad/tile/trans_data that change nothing."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        identity = False
        match op:
            case ops.ReshapeOp() | ops.BroadcastToOp() | ops.CastOp():
                identity = _same(op.operands[0], op.results[0])
            case ops.TransposeOp():
                identity = list(op.p["perm"]) == sorted(op.p["perm"])
            case ops.ConcatOp():
                identity = len(op.operands) == 1
            case ops.PadOp():
                identity = not any(op.p["low"]) and not any(op.p["high"])
            case ops.TileOp():
                identity = all(r == 1 for r in op.p["repeats"])
            case ops.SliceOp():
                identity = _same(op.operands[0], op.results[0]) and all(s == 1 for s in op.p["steps"])
            case ops.TransDataOp():
                identity = op.p["src_format"] == op.p["dst_format"]
        if identity and op.operands[0].type == op.results[0].type:
            rewriter.replace(op, [], [op.operands[0]])


class MergeTransposes(RewritePattern):
    """transpose(transpose(x, p1), p2) -> transpose(x, p1∘p2) (or x)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.TransposeOp, rewriter: PatternRewriter) -> None:
        inner = op.x.owner
        if not isinstance(inner, ops.TransposeOp):
            return
        p1, p2 = inner.p["perm"], op.p["perm"]
        perm = [p1[i] for i in p2]
        if perm == sorted(perm):
            rewriter.replace(op, [], [inner.x])
        else:
            rewriter.replace(op, ops.TransposeOp(inner.x, perm=perm))


class MergeReshapes(RewritePattern):
    """reshape(reshape(x)) -> reshape(x)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ReshapeOp, rewriter: PatternRewriter) -> None:
        inner = op.x.owner
        if isinstance(inner, ops.ReshapeOp):
            rewriter.replace(op, ops.ReshapeOp(inner.x, shape=op.p["shape"]))


class CancelTransData(RewritePattern):
    """trans_data(trans_data(x, A->B), B->A) -> x."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.TransDataOp, rewriter: PatternRewriter) -> None:
        inner = op.x.owner
        if isinstance(inner, ops.TransDataOp) and inner.x.type == op.result.type:
            rewriter.replace(op, [], [inner.x])


class FoldBatchNormIntoConv(RewritePattern):
    """batch_norm(conv2d(x, W, b)) -> conv2d(x, W', b') with W' = W*s, b' = (b-mean)*s + beta,
    s = scale / sqrt(var + eps); needs W and the BN parameters known at compile time."""

    def __init__(self, store: WeightStore):
        self.store = store

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.BatchNormOp, rewriter: PatternRewriter) -> None:
        conv = op.x.owner
        if not isinstance(conv, ops.Conv2dOp) or conv.result.uses.get_length() != 1:
            return
        w = value_of(conv.weight, self.store)
        found = [value_of(v, self.store) for v in (op.scale, op.bias, op.mean, op.var)]
        params = [p for p in found if p is not None]
        if w is None or len(params) != len(found):
            return
        b = value_of(conv.bias, self.store) if conv.bias is not None else np.zeros(w.shape[0])
        if b is None:
            return
        scale, beta, mean, var = (np.asarray(p, np.float64) for p in params)
        s = scale / np.sqrt(var + op.p["epsilon"])
        new_w = (w.astype(np.float64) * s[:, None, None, None])
        new_b = (b.astype(np.float64) - mean) * s + beta
        wt = tensor_type(conv.weight)
        bt = TensorType(wt.element_type, [wt.get_shape()[0]])
        w_op = materialise(new_w, wt, self.store, "bn_weight")
        b_op = materialise(new_b, bt, self.store, "bn_bias")
        p = conv.p
        new_conv = ops.Conv2dOp(conv.x, w_op, b_op, strides=p["strides"], pads=p["pads"],
                                dilations=p["dilations"], groups=p["groups"])
        new_conv.location = conv.location
        rewriter.replace(op, [w_op, b_op, new_conv])


def _pointwise(op: Operation) -> bool:
    """A 1x1, stride-1, unpadded, ungrouped cir.conv2d: per image a (C', C) @ (C, HW) product."""
    return (isinstance(op, ops.Conv2dOp) and shape_of(op.weight.type)[2:] == (1, 1)
            and op.p["strides"] == (1, 1) and not any(op.p["pads"]) and op.p["groups"] == 1)


class PointwiseConvToTokens(RewritePattern):
    """reshape(transpose(conv1x1(x), [0, 2, 3, 1]), (B, H*W, C')) -> x^T W^T (+ bias):
    matmul(reshape(x, (B, C, HW)), reshape(W, (C', C)), transpose_a, transpose_b)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ReshapeOp, rewriter: PatternRewriter) -> None:
        t = op.x.owner
        if not isinstance(t, ops.TransposeOp) or t.p["perm"] != (0, 2, 3, 1) or t.result.uses.get_length() != 1:
            return
        conv = t.x.owner
        if not isinstance(conv, ops.Conv2dOp) or not _pointwise(conv) or conv.result.uses.get_length() != 1:
            return
        b, c, h, w = shape_of(conv.x.type)
        cout = shape_of(conv.weight.type)[0]
        if tuple(op.p["shape"]) != (b, h * w, cout):
            return
        new: list[Operation] = [ops.ReshapeOp(conv.x, shape=[b, c, h * w]),
                                ops.ReshapeOp(conv.weight, shape=[cout, c])]
        new.append(ops.MatmulOp(new[0].results[0], new[1].results[0], transpose_a=True, transpose_b=True))
        if conv.bias is not None:
            new.append(ops.AddOp(new[-1].results[0], conv.bias))
        for n in new:
            n.location = conv.location
        rewriter.replace(op, new)


class TokensToPointwiseConv(RewritePattern):
    """conv1x1(transpose(reshape(tokens, (B, H, W, C')), [0, 3, 1, 2])) -> W tokens^T (+ bias):
    reshape(matmul(reshape(W, (C, C')), tokens, transpose_b), (B, C, H, W))."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.Conv2dOp, rewriter: PatternRewriter) -> None:
        t = op.x.owner
        if not _pointwise(op) or not isinstance(t, ops.TransposeOp) or t.p["perm"] != (0, 3, 1, 2):
            return
        r = t.x.owner
        if not isinstance(r, ops.ReshapeOp):
            return
        tokens = r.x
        b, h, w, c = shape_of(r.result.type)
        if shape_of(tokens.type) != (b, h * w, c):
            return
        cout = shape_of(op.weight.type)[0]
        new: list[Operation] = [ops.ReshapeOp(op.weight, shape=[cout, c])]
        new.append(ops.MatmulOp(new[0].results[0], tokens, transpose_b=True))
        new.append(ops.ReshapeOp(new[-1].results[0], shape=[b, cout, h, w]))
        if op.bias is not None:
            new.append(ops.ReshapeOp(op.bias, shape=[cout, 1, 1]))
            new.append(ops.AddOp(new[-2].results[0], new[-1].results[0]))
        for n in new:
            n.location = op.location
        rewriter.replace(op, new)


class UnflattenBatchedMatmul(RewritePattern):
    """reshape(matmul(reshape(a, (B*N, M, K)), reshape(b, (B*N, K, N'))), (B, N, M, N')) ->
    matmul(a, b) on the (B, N, ...) operands themselves (what torch.bmm over flattened heads
    leaves: the attention's matmuls then see the head transposes they read)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.ReshapeOp, rewriter: PatternRewriter) -> None:
        mm = op.x.owner
        if not isinstance(mm, ops.MatmulOp) or mm.result.uses.get_length() != 1:
            return
        if mm.p["transpose_a"] or mm.p["transpose_b"]:
            return
        ra, rb = mm.operands[0].owner, mm.operands[1].owner
        if not isinstance(ra, ops.ReshapeOp) or not isinstance(rb, ops.ReshapeOp):
            return
        a, b = ra.x, rb.x
        sa, sb, s3a, s3b = shape_of(a.type), shape_of(b.type), shape_of(ra.result.type), shape_of(rb.result.type)
        if len(sa) < 3 or sa[:-2] != sb[:-2] or len(s3a) != 3 or len(s3b) != 3:
            return
        flat = int(np.prod(sa[:-2]))
        if s3a != (flat, *sa[-2:]) or s3b != (flat, *sb[-2:]) or tuple(op.p["shape"]) != (*sa[:-2], sa[-2], sb[-1]):
            return
        new = ops.MatmulOp(a, b)
        new.location = mm.location
        new.result.name_hint = op.result.name_hint
        rewriter.replace(op, new)


class MatmulReadsTransposed(RewritePattern):
    """matmul(a, transpose(x, p)) where p moves x's last dim to the second-to-last place ->
    matmul(a, transpose(x, p'), transpose_b) with p' = p with its last two entries swapped
    (likewise for a): the GEMM reads the operand transposed, and what is left of the
    transpose keeps the last dim (a block copy) or vanishes (BERT's K^T, GPT-2's)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ops.MatmulOp, rewriter: PatternRewriter) -> None:
        for i, flag in ((0, "transpose_a"), (1, "transpose_b")):
            t = op.operands[i].owner
            if op.p[flag] or not isinstance(t, ops.TransposeOp) or t.result.uses.get_length() != 1:
                continue
            perm = list(t.p["perm"])
            n = len(perm)
            if n < 2 or perm[-2] != n - 1:
                continue
            keep = perm[:-2] + [perm[-1], perm[-2]]
            new: list[Operation] = []
            src = t.x
            if keep != sorted(keep):
                new.append(ops.TransposeOp(t.x, perm=keep))
                new[-1].location = t.location
                new[-1].results[0].name_hint = t.result.name_hint
                src = new[-1].results[0]
            operands = [src if j == i else op.operands[j] for j in range(2)]
            flags = {"transpose_a": op.p["transpose_a"], "transpose_b": op.p["transpose_b"], flag: True}
            new.append(ops.MatmulOp(*operands, **flags))
            new[-1].location = op.location
            new[-1].results[0].name_hint = op.result.name_hint
            rewriter.replace(op, new)
            return


def canonicalization_patterns(store: WeightStore) -> list[RewritePattern]:
    return [
        RemoveIdentities(),
        MergeTransposes(),
        MergeReshapes(),
        CancelTransData(),
        FoldBatchNormIntoConv(store),
        PointwiseConvToTokens(),
        TokensToPointwiseConv(),
        UnflattenBatchedMatmul(),
        MatmulReadsTransposed(),
        FoldConstants(store),
    ]


@dataclass(frozen=True)
class CanonicalizePass(ModulePass):
    """Fold constants and weight-only subgraphs, drop identity ops, merge chains, fold
    BatchNorm into conv, then CSE and DCE."""

    name = "canonicalize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        try:
            store = weights_of(op)
            attach(op, store)  # new folded weights must stay reachable from the module
        except CircError:  # weights file not found: fold what needs no weights
            store = WeightStore()
        PatternRewriteWalker(GreedyRewritePatternApplier(canonicalization_patterns(store))).rewrite_module(op)
        CommonSubexpressionElimination().apply(ctx, op)
        DeadCodeElimination().apply(ctx, op)


def folded_weight_names(module: ModuleOp) -> list[str]:
    return [o.sym_name.data for o in module.walk() if isinstance(o, ops.WeightOp)
            and o.sym_name.data.startswith("_folded.")]

