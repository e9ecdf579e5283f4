"""``normalize-onnx``: the ``onnx`` import dialect -> CIR, driven by ``tables/onnx.toml``.

Six steps:

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
     become chains of the two-input form the table maps (``Mean`` = ``Sum`` / n);
   - ``DropoutPattern``: Dropout at inference (or ratio 0) is its input, its mask all true.

   LayerNormalization, Gelu and Attention exported as single ONNX ops map through the table.

2. Every ``onnx.*`` op gets the attribute ``opset`` (from the module attribute ``onnx.opset``
   unless the op has its own), so table conditions select semantics by version, the way
   TVM's ``_impl_vN`` do: ``when = "opset < 13"`` for the old Softmax, for instance. An op
   with an element type CIR does not have (f64, unsigned, ...) stops the pass here, named.

3. Parameter inputs computed at run time whose value the static result shapes imply are
   recorded as ``<input>_value`` (Split's sizes, Tile's repeats, a window's size, ...:
   ``record_implied_values``); a Reduce*'s axes are read off the shapes by the table helper
   ``reduction_axes``.

4. Ops the table cannot map get a CIR form of their own: ``ResizePattern`` (any mode, as
   gathers or matmuls by constant interpolation matrices), ``PoolPattern`` (3-D, dilated,
   large pads), ``BatchNormTrainingPattern``, and last ``FunctionBodyPattern``: an operator
   the ONNX schema defines as a function of other operators (LayerNormalization with its
   Mean/InvStdDev, Attention with a KV cache or softcap, the losses, ...) is replaced by its
   function body, imported like a model and mapped op by op.

5. The table maps each op (format: ``passes/normalize.py``). Besides the attributes, an
   entry sees each operand's shape under its schema name and, for constant inputs the
   importer recorded, their values as ``<input>_value`` (``dims(axes_value)``); see
   ``dialects/onnx/importer.py``. ONNX-specific helpers for table expressions are defined
   below (``conv_pads``, ``pads2d``, ``slicing``, ``pad_side``, ...).

6. Constants left without users (shape and axes inputs once they are read as values) are
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
from typing import Any, Protocol, cast

import numpy as np
from cir.dialects.framework_op import FrameworkOp, op_class, to_attr
from cir.dialects.onnx.importer import import_onnx
from cir.passes.normalize import TABLES, MappingTable, normalize, op_env
from cir.passes.rewrite_utils import dense_array, dense_attr, tensor_type
from cir.passes.table_expr import EXTRA_HELPERS, ExprError
from xdsl.context import Context
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    IntegerAttr,
    ModuleOp,
    TensorType,
    i64,
)
from xdsl.ir import Attribute, Operation, OpResult, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)
from xdsl.utils.exceptions import VerifyException

from cir import ops as cir
from cir.errors import CircError, describe_location
from cir.interpreter import constant_array
from cir.shapes import broadcast
from cir.types import dtype_named, dtype_of, numel
from cir.weights import WeightStore, weights_of

OPSET_ATTR = "onnx.opset"


@cache
def onnx_table() -> MappingTable:
    return MappingTable.load(TABLES / "onnx.toml", framework="onnx", dialect="onnx")


# ONNX op types mapped outside the table: by the patterns below, and by the importer
# (``Constant`` nodes become ``cir.weight``).
PATTERN_OPS = ("Max", "Min", "Sum", "Mean")
IMPORTED_OPS = ("Constant",)


class FunctionSchema(Protocol):
    """What circ reads of an ``onnx.defs.OpSchema``'s function bodies (members the onnx type
    stubs leave out)."""

    @property
    def function_opset_versions(self) -> list[int]: ...

    @property
    def context_dependent_function_opset_versions(self) -> list[int]: ...

    def get_function_with_opset_version(self, opset: int) -> bytes: ...

    def get_context_dependent_function_with_opset_version(
            self, opset: int, node: bytes, input_types: list[bytes]) -> bytes: ...


@cache
def function_op_types() -> frozenset[str]:
    """The ONNX op types (default domain) whose schema defines them, at some opset, as a
    function of other ops: normalize-onnx maps a variant the table does not by that body."""
    import onnx

    return frozenset(
        s.name for s in onnx.defs.get_all_schemas_with_history()
        if s.domain in ("", "ai.onnx")
        and ((f := cast(FunctionSchema, s)).function_opset_versions
             or f.context_dependent_function_opset_versions))


def expressed_op_types() -> frozenset[str]:
    """The ONNX op types (default domain) circ maps to CIR: the table's keys, the ops the
    patterns rewrite, the ones the importer turns into weights, and the ones defined by a
    function body (FunctionBodyPattern)."""
    return (frozenset(onnx_table().variants) | frozenset(PATTERN_OPS)
            | frozenset(IMPORTED_OPS) | function_op_types())


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


def _implied_axes(in_shape: Sequence[int], out_shape: Sequence[int],
                  keepdims: bool) -> list[int]:
    """The dims a reduction of `in_shape` to `out_shape` reduces, when the shapes say it.
    Reducing a dim of size 1 groups the same elements whether it is counted or not, so only
    the reduced dims larger than 1 (and, without keepdims, how many dims go) must be clear."""
    rank = len(in_shape)
    if keepdims:
        if len(out_shape) != rank or any(o not in (i, 1) for i, o in zip(in_shape, out_shape)):
            raise ExprError(f"no reduction of {list(in_shape)} gives {list(out_shape)}")
        return [d for d in range(rank) if out_shape[d] == 1 and in_shape[d] != 1]
    drop = rank - len(out_shape)
    found: dict[tuple[int, ...], list[int]] = {}

    def walk(i: int, j: int, dropped: tuple[int, ...]) -> None:
        if i == rank:
            if j == len(out_shape):
                found.setdefault(tuple(d for d in dropped if in_shape[d] != 1), list(dropped))
            return
        if j < len(out_shape) and in_shape[i] == out_shape[j]:
            walk(i + 1, j + 1, dropped)
        if len(dropped) < drop:
            walk(i + 1, j, (*dropped, i))

    if drop >= 0:
        walk(0, 0, ())
    if len(found) != 1:
        raise ExprError(f"the reduced axes are given at run time, and reducing {list(in_shape)} "
                        f"to {list(out_shape)} does not say which they are")
    return next(iter(found.values()))


def _reduction_axes(env: Mapping[str, Any]) -> Callable[..., list[int] | None]:
    def reduction_axes(as_input: bool, axes: Any, axes_value: Any, keepdims: int,
                       noop_with_empty_axes: int | None) -> list[int] | None:
        """The dims an ONNX Reduce* reduces, or None when it is the identity. `axes` is an
        attribute (`as_input` false: opsets before 18, ReduceSum 13) or an input; an input
        computed at run time is read off the static result shape when that says which dims
        are reduced (it does with keepdims, and without when the dims left are unambiguous).
        """
        rank, in_shape = env["rank"], list(env["in_shape"])
        given = (axes or []) if not as_input else axes_value if axes is not None else []
        if given is None:  # an input known only at run time
            implied = _implied_axes(in_shape, env["out_shape"], keepdims == 1)
            if implied or keepdims != 1:  # without keepdims: the dims that went
                return implied if implied or not noop_with_empty_axes else None
            ones = [d for d in range(rank) if in_shape[d] == 1]
            if not noop_with_empty_axes:  # some axes, or every dim: only dims of size 1
                return ones
            if keepdims == 1 and ones:  # no axes (the identity), or dims of size 1
                raise ExprError("the axes are given at run time: the identity or a reduction "
                                "over dims of size 1?")
            return None
        if not given:
            return None if noop_with_empty_axes else list(range(rank))
        if not all(-rank <= a < rank for a in given):
            raise ExprError(f"axes {list(given)} are out of range for rank {rank}")
        return sorted({a % rank for a in given})

    return reduction_axes


def _reduces_empty(env: Mapping[str, Any]) -> Callable[..., bool]:
    def reduces_empty(axes: Sequence[int] | None) -> bool:
        """Whether a reduction over `axes` reduces sets of no elements."""
        return any(env["in_shape"][d] == 0 for d in axes or [])

    return reduces_empty


def _extreme(sign: int) -> Callable[[Mapping[str, Any]], Callable[[str], float | int | bool]]:
    def make(env: Mapping[str, Any]) -> Callable[[str], float | int | bool]:
        def extreme(dtype: str) -> float | int | bool:
            """The lowest (highest) value of a CIR dtype: -inf (inf) for floats."""
            dt = dtype_named(dtype).np
            if dt.kind == "b":
                return sign > 0
            if dt.kind == "i":
                return int(np.iinfo(dt).max if sign > 0 else np.iinfo(dt).min)
            return sign * math.inf

        return extreme

    return make


def _item(env: Mapping[str, Any]) -> Callable[[Any], Any]:
    def item(value: Any) -> Any:
        """The single element of a tensor attribute or a list."""
        if isinstance(value, DenseIntOrFPElementsAttr):
            return dense_array(value).reshape(-1)[0].item()
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
        return dense_attr(arr, t)

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


def _diagonals(env: Mapping[str, Any]) -> Callable[..., np.ndarray]:
    def diagonals(shape: Sequence[int]) -> np.ndarray:
        """column - row over the last two dims: the diagonal each element is on."""
        rows, cols = list(shape)[-2:]
        return np.arange(cols)[None, :] - np.arange(rows)[:, None]

    return diagonals


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
    item=_item, dense=_dense, tri_mask=_tri_mask, diagonals=_diagonals, iota=_iota, eye=_eye,
    exact_scales=_exact_scales, prod=_prod, reduction_axes=_reduction_axes,
    reduces_empty=_reduces_empty, lowest=_extreme(-1), highest=_extreme(1),
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


def _elem(v: SSAValue) -> Attribute:
    """The element type of a tensor value."""
    return tensor_type(v).element_type


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
        if _shape(user.results[0]) != x_shape or _elem(other[1]) != _elem(v):
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
            new.append(cir.ConstantOp(_splat(1, _elem(x), channels)))
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


def _splat(value: float, elem: Attribute, n: int) -> DenseIntOrFPElementsAttr:
    return dense_attr(np.full([n], value, dtype_of(elem).np), TensorType(elem, [n]))


class AttentionPattern(RewritePattern):
    """MatMul(Softmax(MatMul(q*s1, kT*s2) [*s3] [+mask]), v) -> cir.attention."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, FrameworkOp) or op.name != "onnx.MatMul":
            return
        probs, v = op.operand("A"), op.operand("B")
        softmax = _producer(probs, "Softmax")
        if probs is None or v is None or softmax is None or not _one_use(probs):
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
        if unscaled is not scores and (mul := _producer(scores, "Mul")) is not None:
            chain.append(mul)
            scores = unscaled
        qk = _producer(scores, "MatMul")
        if qk is None or not _one_use(scores):
            return
        a, b = qk.operand("A"), qk.operand("B")
        if a is None or b is None:
            return
        chain.append(qk)
        q, s1 = _scaled(a)
        kt, s2 = _scaled(b)
        for scaled, orig in ((q, a), (kt, b)):
            if scaled is not orig and (mul := _producer(orig, "Mul")) is not None:
                chain.append(mul)
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
            t = TensorType(_elem(acc), broadcast(_shape(acc), _shape(x)))
            new.append(op_class(kind)([("data_0", acc), ("data_0", x)], attrs, [t]))
            acc = new[-1].results[0]
        if op.name == "onnx.Mean" and len(ins) > 1:
            elem = _elem(acc)
            n = cir.ConstantOp(dense_attr(np.asarray(len(ins), dtype_of(elem).np),
                                          TensorType(elem, [])))
            new.append(n)
            div = op_class("onnx.Div")([("A", acc), ("B", n.results[0])],
                                       {**attrs, "B_value": float(len(ins))}, [acc.type])
            new.append(div)
            acc = div.results[0]
        for o in new:
            o.location = op.location
        rewriter.replace(op, new, [acc])


class DropoutPattern(RewritePattern):
    """Dropout at inference (or with ratio 0) -> its input, and a mask of all true when
    the mask is used."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, FrameworkOp) or op.name != "onnx.Dropout":
            return
        training = op.operand("training_mode") is not None and op.arg("training_mode_value") \
            in (None, True, 1)
        ratio = op.arg("ratio_value") if op.operand("ratio") is not None else op.arg("ratio")
        if training and _scalar_of(ratio) != 0:
            return  # random: no CIR equivalent
        data = op.operand("data")
        assert data is not None
        new: list[Operation] = []
        results: list[SSAValue | None] = [data]
        if len(op.results) > 1:
            mask = op.results[1]
            if mask.uses.get_length():
                new.append(cir.ConstantOp(_splat_shaped(True, tensor_type(mask))))
                results.append(new[-1].results[0])
            else:
                results.append(None)
        for o in new:
            o.location = op.location
        rewriter.replace(op, new, results)


class _Fallback(RewritePattern):
    """A CIR form for an onnx op the table may not map: ``build`` gives the new ops and the
    value for each of the op's results (None for one nothing uses), or None when it does not
    apply. Ops it cannot build, or that disagree with the op's types, leave the op as it is
    (reported as unmapped)."""

    def build(self, op: FrameworkOp) -> tuple[list[Operation], list[SSAValue | None]] | None:
        raise NotImplementedError

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, FrameworkOp):
            return
        try:
            built = self.build(op)
        except (VerifyException, ValueError, TypeError):
            return
        if built is None:
            return
        new, results = built
        if len(results) != len(op.results):
            return
        for r, v in zip(op.results, results):
            if (r.uses.get_length() if v is None else v.type != r.type):
                return
        for o in new:
            o.location = op.location
        rewriter.replace(op, new, results)


class BatchNormTrainingPattern(_Fallback):
    """BatchNormalization with training_mode = 1 (opset 14+) -> the batch's mean and
    (biased) variance per channel, cir.batch_norm with them, and the running statistics
    ``running * momentum + batch * (1 - momentum)``."""

    def build(self, op: FrameworkOp) -> tuple[list[Operation], list[SSAValue | None]] | None:
        if op.name != "onnx.BatchNormalization":
            return None
        if op.arg("training_mode") != 1 or op.arg("opset", 0) < 14:
            return None
        x, scale, bias = op.operand("X"), op.operand("scale"), op.operand("B")
        mean, var = op.operand("input_mean"), op.operand("input_var")
        if x is None or scale is None or bias is None or mean is None or var is None:
            return None
        rank = len(_shape(x))
        elem = _elem(x)
        if rank < 2 or not dtype_of(elem).is_float:
            return None
        axes = [d for d in range(rank) if d != 1]
        momentum = float(op.arg("momentum", 0.9))

        def scalar(v: float) -> SSAValue:
            new.append(cir.ConstantOp(dense_attr(np.asarray(v, dtype_of(elem).np),
                                                 TensorType(elem, []))))
            return new[-1].results[0]

        def running(old: SSAValue, batch: SSAValue) -> SSAValue:
            new.append(cir.MulOp(old, scalar(momentum)))
            a = new[-1].results[0]
            new.append(cir.MulOp(batch, scalar(1 - momentum)))
            new.append(cir.AddOp(a, new[-1].results[0]))
            return new[-1].results[0]

        new: list[Operation] = [cir.ReduceMeanOp(x, axes=axes, keepdims=True)]
        kept = new[-1].results[0]
        new.append(cir.ReduceMeanOp(x, axes=axes, keepdims=False))
        batch_mean = new[-1].results[0]
        new.append(cir.SubOp(x, kept))
        d = new[-1].results[0]
        new.append(cir.MulOp(d, d))
        new.append(cir.ReduceMeanOp(new[-1].results[0], axes=axes, keepdims=False))
        batch_var = new[-1].results[0]
        new.append(cir.BatchNormOp(x, scale, bias, batch_mean, batch_var,
                                   epsilon=float(op.arg("epsilon", 1e-5))))
        results: list[SSAValue | None] = [new[-1].results[0]]
        if len(op.results) > 1:
            results.append(running(mean, batch_mean))
        if len(op.results) > 2:
            results.append(running(var, batch_var))
        return new, results


def _scalar_of(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _splat_shaped(value: Any, t: TensorType) -> DenseIntOrFPElementsAttr:
    return dense_attr(np.full(t.get_shape(), value, dtype_of(t).np), t)


WINDOWS = ("onnx.HannWindow", "onnx.HammingWindow", "onnx.BlackmanWindow")


def record_implied_values(module: ModuleOp) -> None:
    """Record ``<input>_value`` for parameter inputs computed at run time whose value the
    static result shapes imply: Split's sizes (the results' sizes along the axis), Tile's
    repeats (result / input per dim), CenterCropPad's shape (the result's, on its axes) and
    a window's size (the result's length). CIR is static: a run-time value that gave other
    shapes would contradict the model's own types."""
    for op in module.walk():
        if not isinstance(op, FrameworkOp):
            continue
        if op.name == "onnx.Split" and op.operand("split") is not None \
                and op.arg("split_value") is None and op.results:
            rank = len(_shape(op.results[0]))
            axis = op.arg("axis", 0)
            if -rank <= axis < rank:
                op.attributes["split_value"] = to_attr([_shape(r)[axis] for r in op.results])
        elif op.name == "onnx.CenterCropPad" and op.operand("shape") is not None \
                and op.arg("shape_value") is None:
            outs = _shape(op.results[0])
            axes = op.arg("axes") or range(len(outs))
            if all(-len(outs) <= a < len(outs) for a in axes):
                op.attributes["shape_value"] = to_attr([outs[a] for a in axes])
        elif op.name in WINDOWS and op.operand("size") is not None \
                and op.arg("size_value") is None and len(_shape(op.results[0])) == 1:
            op.attributes["size_value"] = to_attr(_shape(op.results[0])[0])
        elif op.name == "onnx.Tile" and op.operand("repeats") is not None \
                and op.arg("repeats_value") is None:
            ins, outs = _shape(op.operands[0]), _shape(op.results[0])
            if len(ins) == len(outs) and all(i and o % i == 0 for i, o in zip(ins, outs)):
                op.attributes["repeats_value"] = to_attr([o // i for i, o in zip(ins, outs)])


class _Builder:
    """Collects the ops a fallback makes; each call returns the new op's result."""

    def __init__(self) -> None:
        self.ops: list[Operation] = []

    def __call__(self, op: Operation) -> SSAValue:
        self.ops.append(op)
        return op.results[0]

    def i64(self, value: Any) -> SSAValue:
        arr = np.asarray(value, np.int64)
        return self(cir.ConstantOp(DenseIntOrFPElementsAttr(TensorType(i64, list(arr.shape)),
                                                            BytesAttr(arr.tobytes()))))

    def as_i64(self, v: SSAValue) -> SSAValue:
        return v if dtype_of(v.type).name == "i64" else self(cir.CastOp(v, "i64"))

    def clip(self, v: SSAValue, lo: int, hi: int) -> SSAValue:
        return self(cir.MinimumOp(self(cir.MaximumOp(v, self.i64(lo))), self.i64(hi)))

    def per_dim(self, axes: SSAValue, values: SSAValue, d: int, absent: int) -> SSAValue:
        """The entry of `values` whose (normalised) axis is d, or `absent` when none is."""
        sel = self(cir.EqOp(axes, self.i64(d)))
        picked = self(cir.ReduceSumOp(self(cir.WhereOp(sel, values, self.i64(0))), axes=[0]))
        if not absent:
            return picked
        count = self(cir.ReduceSumOp(self(cir.WhereOp(sel, self.i64(1), self.i64(0))), axes=[0]))
        missing = self(cir.MulOp(self(cir.SubOp(self.i64(1), count)), self.i64(absent)))
        return self(cir.AddOp(picked, missing))

    def axes(self, op: FrameworkOp, count: int, rank: int) -> SSAValue:
        """An op's `axes` input normalised to 0..rank-1 (every dim in order when absent)."""
        axes = op.operand("axes")
        if axes is None:
            return self.i64(np.arange(count))
        a = self.as_i64(axes)
        return self(cir.WhereOp(self(cir.LtOp(a, self.i64(0))),
                                self(cir.AddOp(a, self.i64(rank))), a))


class SlicePattern(_Fallback):
    """Slice with starts, axes or steps known only at run time -> per dim a ``cir.gather`` of
    ``start + step * [0, 1, ...]`` (as many as the static result has), start and step picked
    from the inputs at run time and clamped as ONNX does; the ends only set the length."""

    def __init__(self, table: MappingTable):
        self.table = table

    def build(self, op: FrameworkOp) -> tuple[list[Operation], list[SSAValue | None]] | None:
        if op.name != "onnx.Slice" or op.arg("opset", 0) < 10 or self.table.match(op):
            return None
        data, starts, steps = op.operand("data"), op.operand("starts"), op.operand("steps")
        if data is None or starts is None or len(_shape(starts)) != 1:
            return None
        xs, ys = _shape(data), _shape(op.results[0])
        rank, count = len(xs), _shape(starts)[0]
        if len(ys) != rank or 0 in xs:
            return None
        b = _Builder()
        axes = b.axes(op, count, rank)
        first = b.as_i64(starts)
        step = b.as_i64(steps) if steps is not None else b.i64(np.ones(count))
        y = data
        for d in range(rank):
            n = xs[d]
            st = b.per_dim(axes, first, d, 0)
            sp = b.per_dim(axes, step, d, 1)
            st = b(cir.WhereOp(b(cir.LtOp(st, b.i64(0))), b(cir.AddOp(st, b.i64(n))), st))
            st = b(cir.WhereOp(b(cir.GtOp(sp, b.i64(0))), b.clip(st, 0, n), b.clip(st, 0, n - 1)))
            idx = b(cir.AddOp(st, b(cir.MulOp(sp, b.i64(np.arange(ys[d]))))))
            y = b(cir.GatherOp(y, idx, axis=d))
        return b.ops, [y]


class BoolReducePattern(_Fallback):
    """ReduceMax / ReduceMin of booleans (any / all) -> the reduction of the values as i32,
    cast back: CIR reduces numbers only."""

    def build(self, op: FrameworkOp) -> tuple[list[Operation], list[SSAValue | None]] | None:
        kind = {"onnx.ReduceMax": cir.ReduceMaxOp, "onnx.ReduceMin": cir.ReduceMinOp}.get(op.name)
        x = op.operand("data")
        if kind is None or x is None or dtype_of(x.type).name != "i1" or not _shape(x):
            return None
        env = op_env(op)
        try:
            axes = _reduction_axes(env)(env["opset"] >= 18, env["axes"], env["axes_value"],
                                        env["keepdims"], env["noop_with_empty_axes"])
        except ExprError:
            return None
        if axes is None:
            return [], [x]
        if _reduces_empty(env)(axes):
            return None
        b = _Builder()
        y = b(kind(b(cir.CastOp(x, "i32")), axes=axes, keepdims=env["keepdims"] == 1))
        return b.ops, [b(cir.CastOp(y, "i1"))]


class PadPattern(_Fallback):
    """Pad with pads (or axes, or the constant) known only at run time -> per dim a
    ``cir.gather`` of ``[0, 1, ...] - low`` mapped into the input as the mode says (edge:
    clamped, wrap: modulo, reflect: folded), and for constant mode ``cir.where`` the value
    outside it; the static result gives each dim's size."""

    def __init__(self, table: MappingTable):
        self.table = table

    def build(self, op: FrameworkOp) -> tuple[list[Operation], list[SSAValue | None]] | None:
        if op.name != "onnx.Pad" or op.arg("opset", 0) < 11 or self.table.match(op):
            return None
        data, pads = op.operand("data"), op.operand("pads")
        if data is None or pads is None or len(_shape(pads)) != 1:
            return None
        mode = op.arg("mode", "constant")
        xs, ys = _shape(data), _shape(op.results[0])
        rank, count = len(xs), _shape(pads)[0] // 2
        if len(ys) != rank or 0 in xs or mode not in ("constant", "edge", "wrap", "reflect"):
            return None
        b = _Builder()
        axes = b.axes(op, count, rank)
        lows = b(cir.SliceOp(b.as_i64(pads), starts=[0], ends=[count], steps=[1]))
        value = op.operand("constant_value")
        if value is None:
            value = b(cir.ConstantOp(_splat_shaped(0, TensorType(_elem(data), []))))
        y = data
        for d in range(rank):
            n = xs[d]
            idx = b(cir.SubOp(b.i64(np.arange(ys[d])), b.per_dim(axes, lows, d, 0)))
            inside = idx
            if mode == "wrap":
                inside = b(cir.ModOp(idx, b.i64(n)))
            elif mode == "reflect" and n > 1:
                r = b(cir.ModOp(idx, b.i64(2 * (n - 1))))
                inside = b(cir.WhereOp(b(cir.LtOp(r, b.i64(n))), r,
                                       b(cir.SubOp(b.i64(2 * (n - 1)), r))))
            inside = b.clip(inside, 0, n - 1)
            y = b(cir.GatherOp(y, inside, axis=d))
            if mode == "constant":
                valid = b(cir.EqOp(idx, inside))
                shape = [1] * rank
                shape[d] = ys[d]
                y = b(cir.WhereOp(b(cir.ReshapeOp(valid, shape=shape)), y, value))
        return b.ops, [y]


class ResizePattern(_Fallback):
    """A Resize the table does not map (cubic, antialias, other coordinate modes, sizes
    known only at run time) -> one linear map per resized axis: ``cir.gather`` of constant
    indices for nearest, else ``cir.matmul`` by a constant interpolation matrix. ONNX's
    resize is separable and linear in x, so each matrix is ONNX's own Resize (onnx.reference)
    of an identity along that axis. The scales must be constants; sizes known only at run
    time are the static result's (with keep_aspect_ratio_policy stretch)."""

    def __init__(self, table: MappingTable, constants: ConstantReader):
        self.table, self.constants = table, constants

    def build(self, op: FrameworkOp) -> tuple[list[Operation], list[SSAValue | None]] | None:
        if op.name != "onnx.Resize":
            return None
        if self.table.match(op) is not None or len(op.results) != 1:
            return None
        x = op.operand("X")
        assert x is not None
        xs, ys = _shape(x), _shape(op.results[0])
        rank = len(xs)
        if rank < 2 or len(ys) != rank or op.arg("coordinate_transformation_mode") == \
                "tf_crop_and_resize":
            return None
        if op.arg("mode") != "nearest" and not dtype_of(x.type).is_float:
            return None  # interpolating integers rounds: not a matmul
        axes = [a % rank for a in op.arg("axes") or range(rank)]
        scales = None
        sc = op.operand("scales")
        if sc is not None and _shape(sc) != (0,):
            given = op.arg("scales_value")
            value = np.asarray(given) if given is not None else self.constants(sc)
            if value is None or value.size != len(axes):
                return None  # scales known only at run time: the result depends on their values
            scales = dict(zip(axes, value.reshape(-1).tolist()))
        elif op.arg("keep_aspect_ratio_policy", "stretch") != "stretch":
            return None
        new: list[Operation] = []
        y: SSAValue = x
        for d in range(rank):
            if d not in axes:
                if xs[d] != ys[d]:
                    return None
                continue
            w = _resize_matrix(op, xs[d], ys[d], scales[d] if scales else None)
            if w is None:
                return None
            if xs[d] == ys[d] and np.allclose(w, np.eye(xs[d])):
                continue
            y = _apply_along(y, d, w, op.arg("mode") == "nearest", new)
        return new, [y]


def _resize_matrix(op: FrameworkOp, n: int, m: int, scale: float | None) -> np.ndarray | None:
    """(n, m): ONNX Resize, with `op`'s attributes, of the n x n identity along its columns."""
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    keep = ("mode", "coordinate_transformation_mode", "cubic_coeff_a", "exclude_outside",
            "extrapolation_value", "nearest_mode", "antialias")
    attrs = {k: op.arg(k) for k in keep if op.arg(k) is not None}
    if scale is not None:
        ins = ["x", "", "scales"]
        feeds = {"x": np.eye(n, dtype=np.float32), "scales": np.array([1, scale], np.float32)}
    else:
        ins = ["x", "", "", "sizes"]
        feeds = {"x": np.eye(n, dtype=np.float32), "sizes": np.array([n, m], np.int64)}
    node = helper.make_node("Resize", ins, ["y"], **attrs)
    graph = helper.make_graph(
        [node], "resize",
        [helper.make_tensor_value_info(
            k, TensorProto.INT64 if k == "sizes" else TensorProto.FLOAT, None) for k in feeds],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", op.arg("opset"))])
    try:
        outs = ReferenceEvaluator(model).run(None, feeds)
        assert isinstance(outs, list)  # all outputs (names None): a list
        w = np.asarray(outs[0])
    except Exception:  # noqa: BLE001 - the reference refuses some attribute combinations
        return None
    return w if w.shape == (n, m) else None


def _apply_along(x: SSAValue, d: int, w: np.ndarray, nearest: bool,
                 new: list[Operation]) -> SSAValue:
    """x mapped by `w` (n, m) along dim d: a gather when w picks one element per column."""
    rank = len(_shape(x))
    elem = _elem(x)
    if nearest and np.all((w == 0) | (w == 1)) and np.all(w.sum(axis=0) == 1):
        idx = np.argmax(w, axis=0).astype(np.int64)
        new.append(cir.ConstantOp(DenseIntOrFPElementsAttr(
            TensorType(i64, [len(idx)]), BytesAttr(idx.tobytes()))))
        new.append(cir.GatherOp(x, new[-1].results[0], axis=d))
        return new[-1].results[0]

    def const(a: np.ndarray) -> SSAValue:
        a = np.ascontiguousarray(a.astype(dtype_of(elem).np))
        new.append(cir.ConstantOp(dense_attr(a, TensorType(elem, list(a.shape)))))
        return new[-1].results[0]

    if d == rank - 2:
        new.append(cir.MatmulOp(const(w.T), x))
        return new[-1].results[0]
    perm = list(range(rank))
    perm[d], perm[-1] = perm[-1], perm[d]
    if d != rank - 1:
        new.append(cir.TransposeOp(x, perm=perm))
        x = new[-1].results[0]
    new.append(cir.MatmulOp(x, const(w)))
    y = new[-1].results[0]
    if d != rank - 1:
        new.append(cir.TransposeOp(y, perm=perm))
        y = new[-1].results[0]
    return y


class PoolPattern(_Fallback):
    """MaxPool / AveragePool the table does not map (3-D, dilated averages, pads beyond half
    the kernel) -> explicit padding, then one pooling per spatial dim, each a 2-D op over
    ``(N, C * dims before, dim, dims after)``: ``cir.max_pool2d`` with a (k, 1) kernel, or a
    window sum (``cir.conv2d`` by ones) times a constant 1 / (elements counted)."""

    def __init__(self, table: MappingTable):
        self.table = table

    def build(self, op: FrameworkOp) -> tuple[list[Operation], list[SSAValue | None]] | None:
        if op.name not in ("onnx.MaxPool", "onnx.AveragePool"):
            return None
        if any(r.uses.get_length() for r in op.results[1:]):
            return None  # MaxPool's indices
        x = op.operand("X")
        assert x is not None
        xs, ys = _shape(x), _shape(op.results[0])
        n = len(xs) - 2
        kernel = list(op.arg("kernel_shape") or [])
        if n < 1 or len(kernel) != n or len(ys) != len(xs):
            return None
        strides = list(op.arg("strides") or [1] * n)
        dil = list(op.arg("dilations") or [1] * n)
        try:
            pads = _conv_pads({"in_shape": list(xs)})(op.arg("auto_pad", "NOTSET"),
                                                     op.arg("pads"), kernel, strides, dil)
        except (TypeError, ValueError):
            return None
        variant = self.table.match(op)
        if variant is not None and all(pads[i] <= kernel[i % n] // 2 for i in range(2 * n)):
            return None
        is_max = op.name == "onnx.MaxPool"
        elem = _elem(x)
        dt = dtype_of(elem)
        if not is_max and not dt.is_float:
            return None
        low, high = pads[:n], pads[n:]
        extra = [max(0, (ys[2 + i] - 1) * strides[i] + dil[i] * (kernel[i] - 1) + 1
                     - (xs[2 + i] + low[i] + high[i])) for i in range(n)]
        if any((xs[2 + i] + low[i] + high[i] + extra[i] - dil[i] * (kernel[i] - 1) - 1)
               // strides[i] + 1 != ys[2 + i] for i in range(n)):
            return None
        new: list[Operation] = []
        y: SSAValue = x
        if any(low) or any(h + e for h, e in zip(high, extra)):
            fill = (-math.inf if dt.is_float else float(np.iinfo(dt.np).min)) if is_max else 0.0
            new.append(cir.PadOp(y, low=[0, 0, *low], high=[0, 0, *[h + e for h, e in
                                                                    zip(high, extra)]],
                                 mode="constant", value=fill))
            y = new[-1].results[0]
        for i in range(n):
            y = _pool_dim(y, 2 + i, kernel[i], strides[i], dil[i], ys[2 + i], is_max, new)
        if not is_max:
            include = op.arg("count_include_pad", 0) == 1
            counts = [_window_counts(xs[2 + i], low[i], high[i], extra[i], kernel[i],
                                     strides[i], dil[i], ys[2 + i], include) for i in range(n)]
            count = counts[0]
            for c in counts[1:]:
                count = np.multiply.outer(count, c)
            factor = (1.0 / count).astype(dt.np).reshape([1, 1, *ys[2:]])
            new.append(cir.ConstantOp(dense_attr(factor, TensorType(elem, list(factor.shape)))))
            new.append(cir.MulOp(y, new[-1].results[0]))
            y = new[-1].results[0]
        return new, [y] + [None] * (len(op.results) - 1)


def _pool_dim(x: SSAValue, d: int, k: int, s: int, dil: int, out: int, is_max: bool,
              new: list[Operation]) -> SSAValue:
    """Max (or sum) over windows of dim d of x, no padding."""
    shape = list(_shape(x))
    before, after = int(numel(shape[1:d])), int(numel(shape[d + 1:]))
    elem = _elem(x)
    if is_max:
        new.append(cir.ReshapeOp(x, shape=[shape[0], before, shape[d], after]))
        new.append(cir.MaxPool2dOp(new[-1].results[0], kernel=[k, 1], strides=[s, 1],
                                   pads=[0, 0, 0, 0], dilations=[dil, 1]))
    else:
        new.append(cir.ReshapeOp(x, shape=[shape[0] * before, 1, shape[d], after]))
        ones = np.ones([1, 1, k, 1], dtype_of(elem).np)
        new.append(cir.ConstantOp(dense_attr(ones, TensorType(elem, [1, 1, k, 1]))))
        new.append(cir.Conv2dOp(new[-2].results[0], new[-1].results[0], None, strides=[s, 1],
                                pads=[0, 0, 0, 0], dilations=[dil, 1], groups=1))
    new.append(cir.ReshapeOp(new[-1].results[0], shape=[*shape[:d], out, *shape[d + 1:]]))
    return new[-1].results[0]


def _window_counts(size: int, low: int, high: int, extra: int, k: int, s: int, dil: int,
                   out: int, include_pads: bool) -> np.ndarray:
    """How many elements each window of one dim averages: the input's, and with
    count_include_pad the explicit pads' too (never the ceil_mode overhang)."""
    mask = np.concatenate([np.full(low, include_pads), np.ones(size, bool),
                           np.full(high, include_pads), np.zeros(extra, bool)])
    return np.array([mask[o * s:o * s + dil * (k - 1) + 1:dil].sum() for o in range(out)],
                    np.float64)


class FunctionBodyPattern(RewritePattern):
    """An onnx op the table cannot map (no variant holds, or it uses a result the variant
    leaves out) whose operator schema defines it as a function -> the ops of that function's
    body, imported like a model of their own (LayerNormalization's Mean and InvStdDev,
    Attention with a KV cache or a softcap, ...)."""

    def __init__(self, table: MappingTable, constants: ConstantReader, pass_name: str):
        self.table, self.constants, self.pass_name = table, constants, pass_name

    def mapped(self, op: FrameworkOp) -> bool:
        variant = self.table.match(op)
        if variant is None:
            return False
        keep = variant.results
        return keep is None or all(
            i in keep or not r.uses.get_length() for i, r in enumerate(op.results))

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, FrameworkOp) or not op.name.startswith("onnx."):
            return
        if "." in op.name.removeprefix("onnx.") or self.mapped(op):
            return
        body = function_body(op, self.constants)
        if body is None:
            return
        sub, inputs = body
        stamp_opset(sub, self.pass_name)
        mapping: dict[SSAValue, SSAValue] = {}
        store = weights_of(sub)
        fn = next(iter(sub.body.block.ops))
        block = fn.regions[0].blocks[0]
        for arg, v in zip(block.args, inputs, strict=True):
            mapping[arg] = v
        new: list[Operation] = []
        results: list[SSAValue] = []
        for o in block.ops:
            if o is block.last_op:  # func.return
                results = [mapping.get(v, v) for v in o.operands]
                break
            if isinstance(o, cir.WeightOp):
                arr = np.asarray(store[o.sym_name.data])
                c = cir.ConstantOp(dense_attr(arr, tensor_type(o.results[0])))
                mapping[o.results[0]] = c.results[0]
                new.append(c)
                continue
            new.append(o.clone(mapping))
        wanted = [r for r in op.results if r.uses.get_length()]
        if [r.type for r in results] != [r.type for r in wanted]:
            return
        it = iter(results)
        for o in new:
            o.location = op.location
        rewriter.replace(op, new, [next(it) if r.uses.get_length() else None
                                   for r in op.results])


def function_body(op: FrameworkOp, constants: ConstantReader
                  ) -> tuple[ModuleOp, list[SSAValue]] | None:
    """`op`'s ONNX function body (from its schema at the op's opset) imported as a module, and
    the operands its function's arguments stand for; None when the schema has no function
    for the op or its body cannot be imported."""
    import onnx
    from onnx import helper, numpy_helper

    op_type, opset = op.name.removeprefix("onnx."), op.arg("opset")
    try:
        schema = onnx.defs.get_schema(op_type, opset, "")
    except onnx.defs.SchemaError:
        return None
    functions = cast(FunctionSchema, schema)
    plain = [v for v in functions.function_opset_versions if v <= opset]
    contextual = [v for v in functions.context_dependent_function_opset_versions if v <= opset]
    if not plain and not contextual:
        return None
    # the node, with its inputs in schema order ("" for an omitted optional one)
    names: list[str] = []
    values: dict[str, SSAValue] = {}
    for formal in schema.inputs:
        found = op.operands_named(formal.name)
        for v in found or [None]:
            name = f"in{len(names)}" if v is not None else ""
            names.append(name)
            if v is not None:
                values[name] = v
    while names and not names[-1]:
        names.pop()
    attrs = {}
    for name, a in schema.attributes.items():
        value = op.arg(name)
        if value is None:
            continue
        if isinstance(value, DenseIntOrFPElementsAttr):
            value = numpy_helper.from_array(dense_array(value), name)
        try:
            attrs[name] = helper.make_attribute(name, value, attr_type=cast(int, a.type))  # an IntEnum
        except (TypeError, ValueError):
            return None
    # results nothing uses are left out (omitted optional outputs may have no type)
    outs = [f"out{i}" if r.uses.get_length() else "" for i, r in enumerate(op.results)]
    while outs and not outs[-1]:
        outs.pop()
    node = helper.make_node(op_type, names, outs)
    node.attribute.extend(attrs.values())

    def type_of(v: SSAValue) -> Any:
        t = tensor_type(v)
        elem = helper.np_dtype_to_tensor_dtype(dtype_of(t).np)
        return helper.make_tensor_type_proto(elem, list(t.get_shape()))

    try:
        if max(plain, default=0) >= max(contextual, default=0):
            text = functions.get_function_with_opset_version(max(plain))
        else:
            text = functions.get_context_dependent_function_with_opset_version(
                max(contextual), node.SerializeToString(),
                [type_of(values[n]).SerializeToString() if n else b"" for n in names])
        fn = onnx.FunctionProto()
        fn.ParseFromString(text)
    except Exception:  # noqa: BLE001 - the schema's function builder refuses some variants
        return None
    body = _expand(node, fn, attrs)
    if body is None:
        return None
    inits, inputs, graph_inputs = [], [], []
    recorded = {n: op.arg(f"{schema.inputs[min(i, len(schema.inputs) - 1)].name}_value")
                for i, n in enumerate(names) if n}
    for name in (n for n in names if n):
        v = values[name]
        arr = constants(v)
        if arr is None and recorded[name] is not None:  # a value the importer recorded
            arr = np.asarray(recorded[name], dtype_of(v.type).np)
            arr = arr.reshape(_shape(v)) if arr.size == numel(_shape(v)) else None
        if arr is not None and arr.size <= 64:
            inits.append(numpy_helper.from_array(np.asarray(arr), name))
            continue
        graph_inputs.append(helper.make_value_info(name, type_of(v)))
        inputs.append(v)
    graph = helper.make_graph(
        body, op_type, graph_inputs,
        [helper.make_value_info(n, type_of(r)) for n, r in zip(outs, op.results) if n], inits)
    imports = {o.domain: o.version for o in fn.opset_import}
    imports.setdefault("", opset)
    model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid(d, v) for d, v in imports.items()])
    try:
        return import_onnx(model), inputs
    except CircError:
        return None


def _expand(node: Any, fn: Any, attrs: Mapping[str, Any]) -> list[Any] | None:
    """The nodes of function `fn` applied to `node`: formal inputs and outputs renamed to
    the node's, internal values prefixed, attribute references resolved."""
    import onnx

    rename = {f: a for f, a in zip(fn.input, list(node.input) + [""] * len(fn.input))}
    rename.update({f: a for f, a in zip(fn.output, node.output) if a})
    body = []
    for inner in fn.node:
        n = onnx.NodeProto()
        n.CopyFrom(inner)
        del n.input[:], n.output[:], n.attribute[:]
        n.input.extend(rename.get(x, f"_fn_{x}" if x else "") for x in inner.input)
        n.output.extend(rename.get(x, f"_fn_{x}" if x else "") for x in inner.output)
        for a in inner.attribute:
            if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                return None
            if a.ref_attr_name:
                if a.ref_attr_name in attrs:
                    ref = onnx.AttributeProto()
                    ref.CopyFrom(attrs[a.ref_attr_name])
                    ref.name = a.name
                    n.attribute.append(ref)
                continue
            n.attribute.append(a)
        body.append(n)
    return body


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
    patterns: list[RewritePattern] = [
        VariadicPattern(), GroupNormPattern(ConstantReader(module)), AttentionPattern(),
        SiluPattern(), DropoutPattern()]
    PatternRewriteWalker(GreedyRewritePatternApplier(patterns),
                         apply_recursively=False).rewrite_module(module)
    stamp_opset(module, pass_name)
    check_dtypes(module, pass_name)
    record_implied_values(module)
    table = table or onnx_table()
    constants = ConstantReader(module)
    late: list[RewritePattern] = [
        ResizePattern(table, constants), PoolPattern(table), BatchNormTrainingPattern(),
        SlicePattern(table), PadPattern(table), BoolReducePattern(),
        FunctionBodyPattern(table, constants, pass_name)]
    PatternRewriteWalker(GreedyRewritePatternApplier(late),
                         apply_recursively=True).rewrite_module(module)
    check_dtypes(module, pass_name)  # function bodies may compute in other types
    normalize(module, table, pass_name)
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
