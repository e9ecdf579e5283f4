"""``normalize-onnx``: the ``onnx`` import dialect -> CIR, driven by ``tables/onnx.toml``.

Four steps:

1. Patterns recognise what exporters spell with several nodes and give the CIR op the PyTorch
   frontend gives for the same model:

   - ``GroupNormPattern``: torch's GroupNorm export, ``Reshape(x, [N, G, -1]) ->
     InstanceNormalization(ones, zeros) -> Reshape(x.shape) [-> Mul(w)] [-> Add(b)]`` ->
     ``cir.group_norm(x, w, b) {num_groups = G}``;
   - ``AttentionPattern``: ``MatMul(Softmax(MatMul(q * s1, kT * s2) [* s3] [+ mask]), v)``
     -> ``cir.attention(q, k, v[, mask]) {scale = s1 * s2 * s3}`` (k is found behind the
     transpose of kT, or made with ``cir.transpose``);
   - ``SiluPattern``: ``Mul(x, Sigmoid(x))`` -> ``cir.silu(x)``;
   - ``VariadicPattern``: ``Max/Min/Sum`` of one or of three or more inputs, and ``Mean``,
     become chains of the two-input form the table maps (``Mean`` = ``Sum`` / n).

   LayerNormalization, Gelu and Attention exported as single ONNX ops map through the table.

2. Every ``onnx.*`` op gets the attribute ``opset`` (from the module attribute ``onnx.opset``
   unless the op has its own), so table conditions select semantics by version, the way
   TVM's ``_impl_vN`` do: ``when = "opset < 13"`` for the old Softmax, for instance. An op
   with an element type CIR does not have (f64, unsigned, ...) stops the pass here, named.

3. The table maps each op (format: ``passes/normalize.py``). Besides the attributes, an
   entry sees each operand's shape under its schema name and, for constant inputs the
   importer recorded, their values as ``<input>_value`` (``dims(axes_value)``); see
   ``dialects/onnx/importer.py``. ONNX-specific helpers for table expressions are defined
   below (``conv_pads``, ``pads2d``, ``slicing``, ``pad_side``, ...).

4. Constants left without users (shape and axes inputs once they are read as values) are
   removed.

Constant values the patterns need (GroupNorm's ones and zeros) are read from ``cir.constant``
ops or from the module's weights, when those are attached or readable; when they cannot be
read, the ops are normalised one by one instead, which is equally correct.

Example: ``circ-opt model.onnx.mlir -p normalize-onnx``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    IntegerAttr,
    ModuleOp,
    TensorType,
    i64,
)
from xdsl.ir import Operation, OpResult, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)
from xdsl.utils.exceptions import VerifyException

from cir import ops as cir
from cir.dialects.framework_op import FrameworkOp, op_class
from cir.errors import CircError, describe_location
from cir.passes.normalize import TABLES, MappingTable, normalize
from cir.passes.table_expr import EXTRA_HELPERS, ExprError
from cir.shapes import broadcast
from cir.types import dtype_named, dtype_of, numel
from cir.weights import WeightStore, weights_of

OPSET_ATTR = "onnx.opset"


@cache
def onnx_table() -> MappingTable:
    return MappingTable.load(TABLES / "onnx.toml", framework="onnx", dialect="onnx")


# --- helpers for the table's expressions ---------------------------------------------------


def _conv_pads(env: Mapping[str, Any]) -> Callable[..., list[int]]:
    def conv_pads(auto_pad: str, pads: Sequence[int] | None, kernel: Sequence[int],
                  strides: Sequence[int] | None, dilations: Sequence[int] | None) -> list[int]:
        """Explicit ONNX pads ``[begin..., end...]`` for NOTSET / VALID / SAME_UPPER /
        SAME_LOWER, over the input's spatial dims."""
        n = len(kernel)
        if auto_pad in ("NOTSET", "", None):
            return list(pads) if pads else [0] * (2 * n)
        if auto_pad == "VALID":
            return [0] * (2 * n)
        spatial = list(env["in_shape"])[-n:]
        strides = list(strides or [1] * n)
        dilations = list(dilations or [1] * n)
        begins, ends = [], []
        for size, k, s, d in zip(spatial, kernel, strides, dilations):
            out = -(-size // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
            small, big = total // 2, total - total // 2
            begins.append(big if auto_pad == "SAME_LOWER" else small)
            ends.append(small if auto_pad == "SAME_LOWER" else big)
        return begins + ends

    return conv_pads


def _convt(env: Mapping[str, Any]) -> Callable[..., list[list[int]]]:
    def convt(auto_pad: str, pads: Sequence[int] | None, kernel: Sequence[int],
              strides: Sequence[int] | None, dilations: Sequence[int] | None,
              output_padding: Sequence[int] | None,
              output_shape: Sequence[int] | None) -> list[list[int]]:
        """ConvTranspose -> ``[ONNX pads, output_padding]`` that give the result size ONNX
        inferred, for explicit pads, ``output_shape`` and ``SAME_*`` alike."""
        n = len(kernel)
        outpad = list(output_padding or [0] * n)
        if auto_pad in ("NOTSET", "", None) and not output_shape:
            return [list(pads) if pads else [0] * (2 * n), outpad]
        sizes_in, sizes_out = list(env["in_shape"])[-n:], list(env["out_shape"])[-n:]
        strides = list(strides or [1] * n)
        dilations = list(dilations or [1] * n)
        begins, ends = [], []
        for i in range(n):
            total = (strides[i] * (sizes_in[i] - 1) + outpad[i] + (kernel[i] - 1) * dilations[i]
                     + 1 - sizes_out[i])
            if total < 0:  # a larger result than the pads-free one: more output padding
                begins.append(0)
                ends.append(0)
                outpad[i] -= total
                continue
            small, big = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else big)
            ends.append(big if auto_pad == "SAME_UPPER" else small)
        return [begins + ends, outpad]

    return convt


def _pads2d(env: Mapping[str, Any]) -> Callable[..., list[int]]:
    def pads2d(pads: Sequence[int]) -> list[int]:
        """ONNX pads of one or two spatial dims -> CIR's ``[top, left, bottom, right]``."""
        if len(pads) == 2:
            return [0, pads[0], 0, pads[1]]
        if len(pads) == 4:
            return list(pads)
        raise ExprError(f"pads {list(pads)} are not for one or two spatial dims")

    return pads2d


def _slicing(env: Mapping[str, Any]) -> Callable[..., list[list[int]]]:
    def slicing(starts: Sequence[int], ends: Sequence[int], axes: Sequence[int] | None,
                steps: Sequence[int] | None) -> list[list[int]]:
        """ONNX Slice (positive steps) -> CIR ``[starts, ends, steps]`` over every dim."""
        shape = list(env["in_shape"])
        rank = len(shape)
        axes = list(axes) if axes is not None else list(range(len(starts)))
        steps = list(steps) if steps is not None else [1] * len(starts)
        lo, hi, st = [0] * rank, list(shape), [1] * rank
        for b, e, a, s in zip(starts, ends, axes, steps):
            if s <= 0:
                raise ExprError("negative slice steps have no CIR equivalent")
            if not -rank <= a < rank:
                raise ExprError(f"slice axis {a} is out of range for rank {rank}")
            a %= rank
            n = shape[a]
            b = min(max(b + n if b < 0 else b, 0), n)
            e = min(max(e + n if e < 0 else e, 0), n)
            lo[a], hi[a], st[a] = b, max(e, b), s
        return [lo, hi, st]

    return slicing


def _pad_side(env: Mapping[str, Any]) -> Callable[..., list[int]]:
    def pad_side(pads: Sequence[int], axes: Sequence[int] | None, side: int) -> list[int]:
        """ONNX Pad's ``[begin..., end...]`` (over `axes`, else every dim) -> per-dim lows
        (side 0) or highs (side 1)."""
        rank = env["rank"]
        axes = [a % rank for a in axes] if axes is not None else list(range(rank))
        out = [0] * rank
        for i, a in enumerate(axes):
            out[a] = pads[i + side * len(axes)]
        return out

    return pad_side


def _item(env: Mapping[str, Any]) -> Callable[[Any], Any]:
    def item(value: Any) -> Any:
        """The single element of a tensor attribute or a list."""
        if isinstance(value, DenseIntOrFPElementsAttr):
            t = value.type
            arr = np.frombuffer(value.data.data, dtype=dtype_of(t).np)
            return arr.reshape(-1)[0].item()
        if isinstance(value, list | tuple):
            return value[0]
        return value

    return item


def _dense(env: Mapping[str, Any]) -> Callable[..., DenseIntOrFPElementsAttr]:
    def dense(value: Any, dtype: str) -> DenseIntOrFPElementsAttr:
        """A ``dense<...>`` constant value (for ``cir.constant``) of the given CIR dtype."""
        dt = dtype_named(dtype)
        arr = np.asarray(value, dtype=dt.np)
        t = TensorType(dt.ir, list(arr.shape))
        return DenseIntOrFPElementsAttr(t, BytesAttr(np.require(arr, requirements="C").tobytes()))

    return dense


def _tri_mask(env: Mapping[str, Any]) -> Callable[..., np.ndarray]:
    def tri_mask(shape: Sequence[int], k: int, upper: bool) -> np.ndarray:
        """Trilu's mask over the last two dims: true where the element is kept."""
        ones = np.ones(list(shape)[-2:], dtype=bool)
        return np.triu(ones, k) if upper else np.tril(ones, k)

    return tri_mask


def _iota(env: Mapping[str, Any]) -> Callable[..., np.ndarray]:
    def iota(shape: Sequence[int], axis: int) -> np.ndarray:
        """0, 1, ... along `axis`, shaped to broadcast against `shape`."""
        dims = [1] * len(shape)
        dims[axis] = shape[axis]
        return np.arange(shape[axis]).reshape(dims)

    return iota


def _eye(env: Mapping[str, Any]) -> Callable[..., np.ndarray]:
    def eye(shape: Sequence[int], k: int) -> np.ndarray:
        return np.eye(shape[0], shape[1], k)

    return eye


def _exact_scales(env: Mapping[str, Any]) -> Callable[..., bool]:
    def exact_scales(scales: Sequence[float] | None) -> bool:
        """Resize: the scales (when given) are exactly out / in on every dim."""
        if scales is None:  # given at run time
            return False
        if not scales:
            return True
        return all(math.isclose(s, o / i) for s, o, i in
                   zip(scales, env["out_shape"], env["in_shape"]) if i)

    return exact_scales


def _prod(env: Mapping[str, Any]) -> Callable[[Sequence[int]], int]:
    return lambda xs: int(numel(xs))


EXTRA_HELPERS.update(
    conv_pads=_conv_pads, convt=_convt, pads2d=_pads2d, slicing=_slicing, pad_side=_pad_side,
    item=_item, dense=_dense, tri_mask=_tri_mask, iota=_iota, eye=_eye,
    exact_scales=_exact_scales, prod=_prod,
)


# --- pattern helpers -----------------------------------------------------------------------


def _producer(v: SSAValue | None, name: str | None = None) -> FrameworkOp | None:
    """The onnx op (of type `name`, when given) that defines `v`."""
    if not isinstance(v, OpResult) or not isinstance(v.op, FrameworkOp):
        return None
    op = v.op
    if name is not None and op.name != f"onnx.{name}":
        return None
    return op


def _one_use(v: SSAValue) -> bool:
    return v.uses.get_length() == 1


def _sole_user(v: SSAValue) -> Operation | None:
    if not _one_use(v):
        return None
    return next(iter(v.uses)).operation


def _shape(v: SSAValue) -> tuple[int, ...]:
    return v.type.get_shape() if isinstance(v.type, TensorType) else ()


def _scalar(op: FrameworkOp, operand: str) -> float | None:
    """The recorded value of a one-element constant input."""
    value = op.arg(f"{operand}_value")
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _other(op: FrameworkOp, v: SSAValue) -> tuple[str, SSAValue] | None:
    """For a two-input op, the (schema name, value) of the operand that is not `v`."""
    pairs = list(zip(op.operand_names, op.operands))
    if len(pairs) != 2:
        return None
    if pairs[0][1] is v:
        return pairs[1]
    if pairs[1][1] is v:
        return pairs[0]
    return None


def _scaled(v: SSAValue) -> tuple[SSAValue, float]:
    """Look through ``Mul(x, c)`` (c a constant scalar, x keeping its shape)."""
    mul = _producer(v, "Mul")
    if mul is None or not _one_use(v):
        return v, 1.0
    for x in mul.operands:
        other = _other(mul, x)
        if other is None:
            continue
        c = _scalar(mul, other[0])
        if c is not None and _shape(x) == _shape(v):
            return x, c
    return v, 1.0


class ConstantReader:
    """Values of constant operands: inline ``cir.constant`` ops, or the module's weights."""

    def __init__(self, module: ModuleOp):
        self.module = module
        self._store: WeightStore | None = None
        self._tried = False

    def store(self) -> WeightStore | None:
        if not self._tried:
            self._tried = True
            try:
                self._store = weights_of(self.module)
            except CircError:
                self._store = None
        return self._store

    def __call__(self, v: SSAValue | None) -> np.ndarray | None:
        if not isinstance(v, OpResult):
            return None
        op = v.op
        if isinstance(op, cir.ConstantOp):
            from cir.interpreter import constant_array

            return constant_array(op)
        if isinstance(op, cir.WeightOp):
            store = self.store()
            if store is not None and op.sym_name.data in store:
                return np.asarray(store[op.sym_name.data])
        return None


# --- patterns ------------------------------------------------------------------------------


class GroupNormPattern(RewritePattern):
    """Reshape -> InstanceNormalization -> Reshape [-> Mul] [-> Add] -> cir.group_norm."""

    def __init__(self, constants: ConstantReader):
        self.constants = constants

    def per_channel(self, v: SSAValue, x_shape: tuple[int, ...]) -> bool:
        s = _shape(v)
        if len(s) > len(x_shape):
            return False
        padded = (1,) * (len(x_shape) - len(s)) + s
        return padded == tuple(1 if i != 1 else x_shape[1] for i in range(len(x_shape)))

    def affine(self, v: SSAValue, kind: str,
               x_shape: tuple[int, ...]) -> tuple[FrameworkOp, SSAValue] | None:
        """The sole user of `v` if it is `kind` (Mul/Add) by a per-channel tensor."""
        user = _sole_user(v)
        if not isinstance(user, FrameworkOp) or user.name != f"onnx.{kind}":
            return None
        other = _other(user, v)
        if other is None or not self.per_channel(other[1], x_shape):
            return None
        if _shape(user.results[0]) != x_shape or other[1].type.element_type != v.type.element_type:
            return None
        return user, other[1]

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, FrameworkOp) or op.name != "onnx.Reshape":
            return
        norm = _producer(op.operand("data"), "InstanceNormalization")
        if norm is None or not _one_use(norm.results[0]):
            return
        r1 = _producer(norm.operand("input"), "Reshape")
        if r1 is None or not _one_use(r1.results[0]):
            return
        x = r1.operand("data")
        assert x is not None
        xs, gs = _shape(x), _shape(r1.results[0])
        if len(xs) < 2 or len(gs) < 3 or _shape(op.results[0]) != xs or gs[0] != xs[0]:
            return
        groups, channels = gs[1], xs[1]
        if channels % groups or numel(gs[2:]) * groups != numel(xs[1:]):
            return
        scale, bias = self.constants(norm.operand("scale")), self.constants(norm.operand("B"))
        if scale is None or bias is None or not (np.all(scale == 1) and np.all(bias == 0)):
            return
        chain: list[FrameworkOp] = [r1, norm, op]
        last: SSAValue = op.results[0]
        weight = bias_v = None
        if found := self.affine(last, "Mul", xs):
            chain.append(found[0])
            weight, last = found[1], found[0].results[0]
        if found := self.affine(last, "Add", xs):
            chain.append(found[0])
            bias_v, last = found[1], found[0].results[0]
        end = chain[-1]
        new: list[Operation] = []

        def per_channel(v: SSAValue | None) -> SSAValue | None:
            """(C,) from a (1, C, 1, ...)-like tensor."""
            if v is None or _shape(v) == (channels,):
                return v
            new.append(cir.ReshapeOp(v, shape=[channels]))
            return new[-1].results[0]

        w, b = per_channel(weight), per_channel(bias_v)
        if w is None and b is not None:  # group_norm's operands are positional: weight first
            new.append(cir.ConstantOp(_splat(1, x.type.element_type, channels)))
            w = new[-1].results[0]
        eps = float(norm.arg("epsilon", 1e-5))
        try:
            gn = cir.GroupNormOp(x, w, b, num_groups=groups, epsilon=eps)
        except (VerifyException, TypeError):
            return
        new.append(gn)
        for o in new:
            o.location = end.location
        rewriter.replace(end, new, [gn.results[0]])
        for dead in reversed(chain[:-1]):
            rewriter.erase(dead)


def _splat(value: float, elem: Any, n: int) -> DenseIntOrFPElementsAttr:
    dt = dtype_of(elem)
    t = TensorType(elem, [n])
    return DenseIntOrFPElementsAttr(t, BytesAttr(np.full([n], value, dt.np).tobytes()))


class AttentionPattern(RewritePattern):
    """MatMul(Softmax(MatMul(q*s1, kT*s2) [*s3] [+mask]), v) -> cir.attention."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, FrameworkOp) or op.name != "onnx.MatMul":
            return
        probs, v = op.operand("A"), op.operand("B")
        softmax = _producer(probs, "Softmax")
        if softmax is None or not _one_use(probs) or v is None:
            return
        scores = softmax.operand("input")
        assert scores is not None
        rank = len(_shape(scores))
        if rank < 2 or softmax.arg("axis", -1) % rank != rank - 1:
            return
        chain: list[FrameworkOp] = [softmax]
        mask = None
        if (add := _producer(scores, "Add")) is not None and _one_use(scores):
            for x in add.operands:
                other = _other(add, x)
                if other is not None and _producer(_scaled(x)[0], "MatMul") is not None:
                    chain.append(add)
                    mask, scores = other[1], x
                    break
        unscaled, s3 = _scaled(scores)
        if unscaled is not scores:
            chain.append(_producer(scores, "Mul"))  # type: ignore[arg-type]
            scores = unscaled
        qk = _producer(scores, "MatMul")
        if qk is None or not _one_use(scores):
            return
        chain.append(qk)
        q, s1 = _scaled(qk.operand("A"))  # type: ignore[arg-type]
        kt, s2 = _scaled(qk.operand("B"))  # type: ignore[arg-type]
        for scaled, orig in ((q, qk.operand("A")), (kt, qk.operand("B"))):
            if scaled is not orig:
                chain.append(_producer(orig, "Mul"))  # type: ignore[arg-type]
        new: list[Operation] = []
        k = self.untranspose(kt, chain)
        if k is None:
            perm = list(range(len(_shape(kt))))
            perm[-1], perm[-2] = perm[-2], perm[-1]
            new.append(cir.TransposeOp(kt, perm=perm))
            k = new[-1].results[0]
        try:
            att = cir.AttentionOp(q, k, v, mask, scale=s1 * s2 * s3)
        except (VerifyException, TypeError, ValueError):
            return
        if _shape(att.results[0]) != _shape(op.results[0]):
            return
        new.append(att)
        for o in new:
            o.location = op.location
        rewriter.replace(op, new, [att.results[0]])
        for dead in chain:  # users first: each is dead once the ones after it are gone
            if all(r.uses.get_length() == 0 for r in dead.results):
                rewriter.erase(dead)

    @staticmethod
    def untranspose(kt: SSAValue, chain: list[FrameworkOp]) -> SSAValue | None:
        """k such that kt is k with its last two dims swapped, if kt is made that way."""
        ks = _shape(kt)
        if len(ks) < 2 or not _one_use(kt):
            return None
        swap = list(range(len(ks)))
        swap[-1], swap[-2] = swap[-2], swap[-1]
        if (t := _producer(kt, "Transpose")) is not None and list(t.arg("perm", [])) == swap:
            chain.append(t)
            return t.operand("data")
        # torch's export: Reshape(k, [B, S, E]) -> Transpose([0, 2, 1]) -> Reshape([..., E, S])
        outer = _producer(kt, "Reshape")
        t = _producer(outer.operand("data") if outer else None, "Transpose")
        inner = _producer(t.operand("data") if t else None, "Reshape")
        if outer is None or t is None or inner is None or list(t.arg("perm", [])) != [0, 2, 1]:
            return None
        if not (_one_use(t.results[0]) and _one_use(inner.results[0])):
            return None
        k = inner.operand("data")
        assert k is not None
        s = _shape(k)
        if len(s) < 2 or s[:-2] + (s[-1], s[-2]) != ks:
            return None
        if _shape(inner.results[0]) != (numel(s[:-2]), s[-2], s[-1]):
            return None
        chain.extend([outer, t, inner])
        return k


class SiluPattern(RewritePattern):
    """Mul(x, Sigmoid(x)) -> cir.silu(x)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, FrameworkOp) or op.name != "onnx.Mul" or len(op.operands) != 2:
            return
        a, b = op.operands
        for x, s in ((a, b), (b, a)):
            sig = _producer(s, "Sigmoid")
            if sig is not None and sig.operands[0] is x and _one_use(s):
                silu = cir.SiluOp(x)
                if silu.results[0].type != op.results[0].type:
                    return
                silu.location = op.location
                rewriter.replace(op, [silu])
                rewriter.erase(sig)
                return


class VariadicPattern(RewritePattern):
    """Max/Min/Sum of 1 or 3+ inputs, and Mean, -> chains of two-input ops (Mean: Sum / n)."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, FrameworkOp) or op.name not in (
            "onnx.Max", "onnx.Min", "onnx.Sum", "onnx.Mean"
        ):
            return
        ins = list(op.operands)
        if not ins or (len(ins) == 2 and op.name != "onnx.Mean"):
            return
        attrs = {k: v for k, v in op.arg_values.items() if k == "opset"}
        kind = "onnx.Sum" if op.name == "onnx.Mean" else op.name
        new: list[Operation] = []
        acc = ins[0]
        for x in ins[1:]:
            t = TensorType(acc.type.element_type, broadcast(_shape(acc), _shape(x)))
            new.append(op_class(kind)([("data_0", acc), ("data_0", x)], attrs, [t]))
            acc = new[-1].results[0]
        if op.name == "onnx.Mean" and len(ins) > 1:
            elem = acc.type.element_type
            n = cir.ConstantOp(DenseIntOrFPElementsAttr(
                TensorType(elem, []), BytesAttr(np.asarray(len(ins), dtype_of(elem).np).tobytes())))
            new.append(n)
            div = op_class("onnx.Div")([("A", acc), ("B", n.results[0])],
                                       {**attrs, "B_value": float(len(ins))}, [acc.type])
            new.append(div)
            acc = div.results[0]
        for o in new:
            o.location = op.location
        rewriter.replace(op, new, [acc])


# --- the pass ------------------------------------------------------------------------------


def stamp_opset(module: ModuleOp, pass_name: str) -> None:
    """Give every onnx op the attribute ``opset`` the table's conditions read: its domain's
    version from the module attribute ``onnx.opset`` (``onnx.opset.<domain>``)."""
    for op in module.walk():
        if not isinstance(op, FrameworkOp) or not op.name.startswith("onnx."):
            continue
        if "opset" in op.attributes:
            continue
        domain = op.name.removeprefix("onnx.").rpartition(".")[0]
        key = f"{OPSET_ATTR}.{domain}" if domain else OPSET_ATTR
        attr = module.attributes.get(key)
        if not isinstance(attr, IntegerAttr):
            raise CircError(f"{pass_name}: the module has no integer attribute '{key}' (the "
                            f"opset the model uses), and '{op.name}' has no 'opset' of its own")
        op.attributes["opset"] = IntegerAttr(attr.value.data, i64)


def check_dtypes(module: ModuleOp, pass_name: str) -> None:
    """Stop at the first onnx op with a tensor of an element type CIR does not have."""
    for op in module.walk():
        if isinstance(op, FrameworkOp) and op.name.startswith("onnx."):
            for v in (*op.operands, *op.results):
                try:
                    dtype_of(v.type)
                except VerifyException as e:
                    where = describe_location(op.location)
                    raise CircError(f"{pass_name}: {op.name.removeprefix('onnx.')}"
                                    + (f" at {where}" if where else "") + f": {e}") from None


def drop_unused_constants(module: ModuleOp) -> None:
    """Erase cir.weight / cir.constant ops nothing uses any more."""
    for op in reversed(list(module.walk())):
        if isinstance(op, cir.WeightOp | cir.ConstantOp) and not op.results[0].uses.get_length():
            op.detach()
            op.erase()


def normalize_onnx(module: ModuleOp, table: MappingTable | None = None,
                   pass_name: str = "normalize-onnx") -> None:
    """Patterns, then the mapping table, then unused constants removed. Element types CIR
    does not have (f64, unsigned, ...) stop the pass with the op that has one."""
    patterns = [VariadicPattern(), GroupNormPattern(ConstantReader(module)), AttentionPattern(),
                SiluPattern()]
    PatternRewriteWalker(GreedyRewritePatternApplier(patterns),  # type: ignore[arg-type]
                         apply_recursively=False).rewrite_module(module)
    stamp_opset(module, pass_name)
    check_dtypes(module, pass_name)
    normalize(module, table or onnx_table(), pass_name)
    drop_unused_constants(module)


@dataclass(frozen=True)
class NormalizeOnnxPass(ModulePass):
    """Map every ``onnx.*`` op to CIR: exporter patterns first, then the opset-aware table.

    Stops with the list of unmapped operators (count and first location) rather than dropping
    anything. Example: ``circ-opt unet.onnx.mlir -p normalize-onnx``.
    """

    name = "normalize-onnx"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        normalize_onnx(op, onnx_table(), self.name)
