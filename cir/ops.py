"""The CIR dialect: one framework-neutral op set with static shapes.

Layout conventions: activations are NCHW, conv weights OIHW (conv_transpose2d: IOHW, as in
PyTorch), linear weights (out, in). Padding is ``[top, left, bottom, right]``. Semantics of every
op are fixed by the numpy reference interpreter in ``cir.interpreter``.
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    NoneAttr,
    StringAttr,
    TensorType,
    i1,
    i64,
)
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import ConstantLike, Pure
from xdsl.utils.exceptions import VerifyException

from cir import shapes
from cir.opbase import (
    CirOp,
    Props,
    bool_prop,
    float_prop,
    int_prop,
    ints_prop,
    opt_float_prop,
    str_prop,
)
from cir.types import FORMATS, FormatAttr, dtype_named, dtype_of, format_of, is_bool, numel

T = TensorType


def _like(t: TensorType, shape=None, elem: Attribute | None = None) -> TensorType:
    return TensorType(elem or t.element_type, t.get_shape() if shape is None else shape)


def _same_dtype(*ts: TensorType) -> None:
    first = ts[0].element_type
    for t in ts[1:]:
        if t.element_type != first:
            raise VerifyException(
                f"operands must have the same element type, got {first} and {t.element_type}"
            )


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise VerifyException(f"{name} must be one of {', '.join(choices)}, got '{value}'")


def _positive(name: str, values) -> None:
    if any(v < 1 for v in values):
        raise VerifyException(f"{name} must be positive, got {list(values)}")


def _non_negative(name: str, values) -> None:
    if any(v < 0 for v in values):
        raise VerifyException(f"{name} must not be negative, got {list(values)}")


# === constants and weights ================================================================


@irdl_op_definition
class ConstantOp(CirOp):
    """A small inline constant: ``%c = cir.constant dense<1.0> : tensor<4xf32>``."""

    name = "cir.constant"
    value = prop_def(DenseIntOrFPElementsAttr)
    result = result_def(T)
    traits = traits_def(Pure(), ConstantLike())

    def __init__(self, value: DenseIntOrFPElementsAttr):
        super(CirOp, self).__init__(properties={"value": value}, result_types=[value.type])

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        return [p["value"].type]

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.value)  # dense<...> : tensor<...>

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr):
            parser.raise_error("cir.constant expects a dense<...> value")
        return cls(value)


@irdl_op_definition
class WeightOp(CirOp):
    """A named tensor in the model's weights file: ``%w = cir.weight "conv.weight" : tensor<...>``.

    Weights never go into IR text; the module attribute ``cir.weights`` names the safetensors
    file, relative to the IR file.
    """

    name = "cir.weight"
    sym_name = prop_def(StringAttr, prop_name="name")
    result = result_def(T)
    traits = traits_def(Pure())

    def __init__(self, name: str, type: TensorType):
        super(CirOp, self).__init__(properties={"name": StringAttr(name)}, result_types=[type])

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        raise AssertionError("unreachable: cir.weight's type is given, not inferred")

    def verify_(self) -> None:
        dtype_of(self.result.type)
        if not self.sym_name.data:
            raise VerifyException("weight name must not be empty")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.sym_name.data)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> WeightOp:
        name = parser.parse_str_literal()
        parser.parse_punctuation(":")
        t = parser.parse_type()
        if not isinstance(t, TensorType):
            parser.raise_error("cir.weight expects a tensor type")
        return cls(name, t)


# === elementwise ==========================================================================


class _Unary(CirOp):
    x = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        return [_like(ins[0])]


class _NumericUnary(_Unary):
    OPERAND_DTYPES: ClassVar[str] = "numeric"


@irdl_op_definition
class NegOp(_NumericUnary):
    name = "cir.neg"


@irdl_op_definition
class AbsOp(_NumericUnary):
    name = "cir.abs"


@irdl_op_definition
class ReluOp(_NumericUnary):
    name = "cir.relu"


@irdl_op_definition
class ExpOp(_Unary):
    name = "cir.exp"


@irdl_op_definition
class LogOp(_Unary):
    name = "cir.log"


@irdl_op_definition
class SqrtOp(_Unary):
    name = "cir.sqrt"


@irdl_op_definition
class RsqrtOp(_Unary):
    name = "cir.rsqrt"


@irdl_op_definition
class ReciprocalOp(_Unary):
    name = "cir.reciprocal"


@irdl_op_definition
class ErfOp(_Unary):
    name = "cir.erf"


@irdl_op_definition
class TanhOp(_Unary):
    name = "cir.tanh"


@irdl_op_definition
class SigmoidOp(_Unary):
    name = "cir.sigmoid"


@irdl_op_definition
class SiluOp(_Unary):
    name = "cir.silu"


@irdl_op_definition
class HardswishOp(_Unary):
    name = "cir.hardswish"


@irdl_op_definition
class SinOp(_Unary):
    name = "cir.sin"


@irdl_op_definition
class CosOp(_Unary):
    name = "cir.cos"


@irdl_op_definition
class FloorOp(_Unary):
    name = "cir.floor"


@irdl_op_definition
class GeluOp(_Unary):
    """GELU, exact (``approximate = "none"``) or the tanh approximation."""

    name = "cir.gelu"
    approximate = str_prop("none")

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        _choice("approximate", p["approximate"], ("none", "tanh"))
        return [_like(ins[0])]


@irdl_op_definition
class ClampOp(_NumericUnary):
    """Clamp to ``[min, max]``; either bound may be absent."""

    name = "cir.clamp"
    min = opt_float_prop()
    max = opt_float_prop()

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        lo, hi = p["min"], p["max"]
        if lo is None and hi is None:
            raise VerifyException("clamp needs at least one of min and max")
        if lo is not None and hi is not None and lo > hi:
            raise VerifyException(f"clamp min {lo} is greater than max {hi}")
        return [_like(ins[0])]


class _Binary(CirOp):
    """numpy-broadcasting binary op on two tensors of one element type."""

    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "numeric"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        _same_dtype(*ins)
        return [_like(ins[0], shapes.broadcast(ins[0].get_shape(), ins[1].get_shape()))]


@irdl_op_definition
class AddOp(_Binary):
    name = "cir.add"


@irdl_op_definition
class SubOp(_Binary):
    name = "cir.sub"


@irdl_op_definition
class MulOp(_Binary):
    name = "cir.mul"


@irdl_op_definition
class DivOp(_Binary):
    """``lhs / rhs``; on integer tensors the quotient is truncated toward zero (C, ONNX Div,
    torch ``div(rounding_mode="trunc")``). Floor division is ``cir.floor_div``."""

    name = "cir.div"


@irdl_op_definition
class PowOp(_Binary):
    name = "cir.pow"


@irdl_op_definition
class MaximumOp(_Binary):
    name = "cir.maximum"


@irdl_op_definition
class MinimumOp(_Binary):
    name = "cir.minimum"


class _Compare(_Binary):
    """Broadcasting comparison; the result is i1."""

    OPERAND_DTYPES: ClassVar[str] = "any"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        _same_dtype(*ins)
        return [_like(ins[0], shapes.broadcast(ins[0].get_shape(), ins[1].get_shape()), i1)]


@irdl_op_definition
class EqOp(_Compare):
    name = "cir.eq"


@irdl_op_definition
class NeOp(_Compare):
    name = "cir.ne"


@irdl_op_definition
class LtOp(_Compare):
    name = "cir.lt"


@irdl_op_definition
class LeOp(_Compare):
    name = "cir.le"


@irdl_op_definition
class GtOp(_Compare):
    name = "cir.gt"


@irdl_op_definition
class GeOp(_Compare):
    name = "cir.ge"


@irdl_op_definition
class FloorDivOp(_Binary):
    """``floor(lhs / rhs)``: the quotient rounded toward negative infinity (torch.floor_divide,
    ``div(rounding_mode="floor")``; Python's ``//``). Integers and floats."""

    name = "cir.floor_div"


@irdl_op_definition
class ModOp(_Binary):
    """Remainder of ``lhs / rhs``, broadcasting. ``fmod = false``: the sign of ``rhs``, as
    ``lhs - floor_div(lhs, rhs) * rhs`` (torch.remainder, Python ``%``, ONNX Mod fmod=0);
    ``fmod = true``: the sign of ``lhs``, truncated quotient (torch.fmod, C fmod, ONNX Mod
    fmod=1)."""

    name = "cir.mod"
    fmod = bool_prop(False)


class _Logical(CirOp):
    """Broadcasting boolean op on two i1 tensors; the result is i1."""

    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        for i, t in enumerate(ins):
            if not is_bool(t):
                raise VerifyException(f"operand #{i} of a logical op must be an i1 tensor, got {t}")
        return [_like(ins[0], shapes.broadcast(ins[0].get_shape(), ins[1].get_shape()), i1)]


@irdl_op_definition
class LogicalAndOp(_Logical):
    """``lhs and rhs`` elementwise on i1 tensors (numpy broadcasting)."""

    name = "cir.logical_and"


@irdl_op_definition
class LogicalOrOp(_Logical):
    """``lhs or rhs`` elementwise on i1 tensors (numpy broadcasting)."""

    name = "cir.logical_or"


@irdl_op_definition
class LogicalXorOp(_Logical):
    """``lhs != rhs`` elementwise on i1 tensors (numpy broadcasting)."""

    name = "cir.logical_xor"


@irdl_op_definition
class LogicalNotOp(CirOp):
    """``not x`` elementwise on an i1 tensor."""

    name = "cir.logical_not"
    x = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        if not is_bool(ins[0]):
            raise VerifyException(f"operand #0 of a logical op must be an i1 tensor, got {ins[0]}")
        return [_like(ins[0])]


@irdl_op_definition
class WhereOp(CirOp):
    """``cond ? a : b`` with numpy broadcasting of all three."""

    name = "cir.where"
    cond = operand_def(T)
    a = operand_def(T)
    b = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        cond, a, b = ins
        if not is_bool(cond):
            raise VerifyException(f"condition must be an i1 tensor, got {cond}")
        _same_dtype(a, b)
        return [_like(a, shapes.broadcast(cond.get_shape(), a.get_shape(), b.get_shape()))]


@irdl_op_definition
class CastOp(CirOp):
    """Element-type conversion; the target type is the result type."""

    name = "cir.cast"
    x = operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())

    def __init__(self, x: SSAValue, dtype: Attribute | str):
        t = x.type
        assert isinstance(t, TensorType)
        elem = dtype_named(dtype).ir if isinstance(dtype, str) else dtype_of(dtype).ir
        super(CirOp, self).__init__(operands=[x], result_types=[_like(t, elem=elem)])

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        raise AssertionError("unreachable: cir.cast verifies its shape only")

    def verify_(self) -> None:
        src, dst = self.x.type, self.result.type
        assert isinstance(src, TensorType) and isinstance(dst, TensorType)
        dtype_of(src)
        dtype_of(dst)
        if src.get_shape() != dst.get_shape():
            raise VerifyException(
                f"cast must keep the shape: {src.get_shape()} -> {dst.get_shape()}"
            )


# === reductions ===========================================================================


class _Reduce(CirOp):
    x = operand_def(T)
    result = result_def(T)
    axes = ints_prop()
    keepdims = bool_prop(False)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "numeric"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape = ins[0].get_shape()
        axes = shapes.norm_axes(p["axes"], len(shape))
        out = [1 if i in axes else d for i, d in enumerate(shape)] if p["keepdims"] else [
            d for i, d in enumerate(shape) if i not in axes
        ]
        return [_like(ins[0], out)]


@irdl_op_definition
class ReduceSumOp(_Reduce):
    name = "cir.reduce_sum"


@irdl_op_definition
class ReduceMeanOp(_Reduce):
    name = "cir.reduce_mean"
    OPERAND_DTYPES: ClassVar[str] = "float"


@irdl_op_definition
class ReduceMaxOp(_Reduce):
    name = "cir.reduce_max"


@irdl_op_definition
class ReduceMinOp(_Reduce):
    name = "cir.reduce_min"


@irdl_op_definition
class ArgmaxOp(CirOp):
    """Index of the first maximum along ``axis``, as i64."""

    name = "cir.argmax"
    x = operand_def(T)
    result = result_def(T)
    axis = int_prop()
    keepdims = bool_prop(False)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "numeric"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape = ins[0].get_shape()
        axis = shapes.norm_axis(p["axis"], len(shape))
        out = [1 if i == axis else d for i, d in enumerate(shape)] if p["keepdims"] else [
            d for i, d in enumerate(shape) if i != axis
        ]
        return [_like(ins[0], out, i64)]


@irdl_op_definition
class CumsumOp(CirOp):
    """Cumulative sum along ``axis``: ``y[..., i, ...] = sum(x[..., j, ...] for j <= i)``.

    ``exclusive``: the sum of the elements strictly before i (the first is 0); ``reverse``:
    sum from the end (j >= i, or j > i when exclusive). As ONNX CumSum; torch.cumsum is the
    default. The result has x's type (integer sums wrap as in the source framework).
    """

    name = "cir.cumsum"
    x = operand_def(T)
    result = result_def(T)
    axis = int_prop()
    exclusive = bool_prop(False)
    reverse = bool_prop(False)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "numeric"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shapes.norm_axis(p["axis"], len(ins[0].get_shape()))
        return [_like(ins[0])]


# === shape ops ============================================================================


@irdl_op_definition
class ReshapeOp(CirOp):
    name = "cir.reshape"
    x = operand_def(T)
    result = result_def(T)
    shape = ints_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        src, dst = ins[0].get_shape(), p["shape"]
        _non_negative("shape", dst)
        if numel(src) != numel(dst):
            raise VerifyException(
                f"cannot reshape {src} ({numel(src)} elements) to {tuple(dst)} "
                f"({numel(dst)} elements)"
            )
        return [_like(ins[0], dst)]


@irdl_op_definition
class TransposeOp(CirOp):
    name = "cir.transpose"
    x = operand_def(T)
    result = result_def(T)
    perm = ints_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape, perm = ins[0].get_shape(), p["perm"]
        if sorted(perm) != list(range(len(shape))):
            raise VerifyException(f"perm {list(perm)} is not a permutation of rank {len(shape)}")
        return [_like(ins[0], [shape[i] for i in perm])]


@irdl_op_definition
class ConcatOp(CirOp):
    name = "cir.concat"
    inputs = var_operand_def(T)
    result = result_def(T)
    axis = int_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        if not ins:
            raise VerifyException("concat needs at least one operand")
        _same_dtype(*ins)
        first = ins[0].get_shape()
        axis = shapes.norm_axis(p["axis"], len(first))
        total = 0
        for t in ins:
            s = t.get_shape()
            if len(s) != len(first) or any(
                a != b for i, (a, b) in enumerate(zip(s, first)) if i != axis
            ):
                raise VerifyException(
                    f"concat operands must agree on every dimension but {axis}: {first} vs {s}"
                )
            total += s[axis]
        return [_like(ins[0], [total if i == axis else d for i, d in enumerate(first)])]


@irdl_op_definition
class SplitOp(CirOp):
    """Split along ``axis`` into pieces of the given ``sizes``."""

    name = "cir.split"
    x = operand_def(T)
    outputs = var_result_def(T)
    axis = int_prop()
    sizes = ints_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape = ins[0].get_shape()
        axis = shapes.norm_axis(p["axis"], len(shape))
        sizes = p["sizes"]
        _non_negative("sizes", sizes)
        if sum(sizes) != shape[axis]:
            raise VerifyException(
                f"split sizes {list(sizes)} do not add up to dimension {axis} of size {shape[axis]}"
            )
        return [
            _like(ins[0], [n if i == axis else d for i, d in enumerate(shape)]) for n in sizes
        ]


@irdl_op_definition
class SliceOp(CirOp):
    """Strided slice over every dimension: ``x[starts[i]:ends[i]:steps[i]]``, normalised
    (0 <= start <= end <= dim, step >= 1)."""

    name = "cir.slice"
    x = operand_def(T)
    result = result_def(T)
    starts = ints_prop()
    ends = ints_prop()
    steps = ints_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape = ins[0].get_shape()
        for name in ("starts", "ends", "steps"):
            shapes.expect_len(name, p[name], len(shape))
        _positive("steps", p["steps"])
        out = []
        for i, (d, b, e, s) in enumerate(zip(shape, p["starts"], p["ends"], p["steps"])):
            if not 0 <= b <= e <= d:
                raise VerifyException(f"slice [{b}:{e}] of dimension {i} (size {d}) is out of range")
            out.append(-(-(e - b) // s))
        return [_like(ins[0], out)]


@irdl_op_definition
class GatherOp(CirOp):
    """``numpy.take(x, indices, axis)``."""

    name = "cir.gather"
    x = operand_def(T)
    indices = operand_def(T)
    result = result_def(T)
    axis = int_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        x, idx = ins
        if dtype_of(idx).name not in ("i64", "i32"):
            raise VerifyException(f"indices must be i64 or i32, got {idx.element_type}")
        s = x.get_shape()
        axis = shapes.norm_axis(p["axis"], len(s))
        return [_like(x, [*s[:axis], *idx.get_shape(), *s[axis + 1 :]])]


@irdl_op_definition
class GatherElementsOp(CirOp):
    """``numpy.take_along_axis(x, indices, axis)``: the result has the shape of `indices`."""

    name = "cir.gather_elements"
    x = operand_def(T)
    indices = operand_def(T)
    result = result_def(T)
    axis = int_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        x, idx = ins
        if dtype_of(idx).name not in ("i64", "i32"):
            raise VerifyException(f"indices must be i64 or i32, got {idx.element_type}")
        sx, si = x.get_shape(), idx.get_shape()
        axis = shapes.norm_axis(p["axis"], len(sx))
        if len(si) != len(sx) or any(a > b for i, (a, b) in enumerate(zip(si, sx)) if i != axis):
            raise VerifyException(
                f"indices {si} must have the rank of x {sx} and fit it outside axis {axis}"
            )
        return [_like(x, si)]


def _index_dtype(t: TensorType) -> None:
    if dtype_of(t).name not in ("i64", "i32"):
        raise VerifyException(f"indices must be i64 or i32, got {t.element_type}")


def _gather_nd_shape(data: tuple[int, ...], idx: tuple[int, ...], b: int) -> tuple[int, ...]:
    """ONNX GatherND: ``idx.shape[:-1] + data.shape[b + k:]`` with k = idx.shape[-1]."""
    if not idx:
        raise VerifyException("indices must have rank >= 1 (the last dimension indexes data)")
    if b < 0 or b >= len(idx) or b > len(data):
        raise VerifyException(
            f"batch_dims {b} must be in [0, {min(len(idx) - 1, len(data))}] for data {data} "
            f"and indices {idx}"
        )
    if data[:b] != idx[:b]:
        raise VerifyException(f"the first {b} dimensions of data {data} and indices {idx} differ")
    k = idx[-1]
    if b + k > len(data):
        raise VerifyException(
            f"indices address {k} dimensions after {b} batch dimensions; data {data} has {len(data)}"
        )
    return (*idx[:-1], *data[b + k :])


@irdl_op_definition
class GatherNdOp(CirOp):
    """ONNX GatherND: gather slices of ``x`` addressed by the last dimension of ``indices``.

    With b = ``batch_dims`` and k = indices.shape[-1] (the first b dims of x and indices are
    equal): ``y[b..., m...] = x[b..., indices[b..., m..., 0], ..., indices[b..., m..., k-1], :]``,
    shape ``indices.shape[:-1] + x.shape[b + k:]``. Negative indices count from the end.
    PyTorch ``x[i0, i1]`` (advanced indexing with several tensors on leading dims) is
    gather_nd over the broadcast indices stacked on a last axis.
    """

    name = "cir.gather_nd"
    x = operand_def(T)
    indices = operand_def(T)
    result = result_def(T)
    batch_dims = int_prop(0)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        x, idx = ins
        _index_dtype(idx)
        return [_like(x, _gather_nd_shape(x.get_shape(), idx.get_shape(), p["batch_dims"]))]


SCATTER_REDUCTIONS = ("none", "add", "mul", "max", "min")


@irdl_op_definition
class ScatterNdOp(CirOp):
    """ONNX ScatterND: a copy of ``x`` with the slices addressed by ``indices`` replaced by (or,
    with ``reduction`` add/mul/max/min, combined with) ``updates``.

    k = indices.shape[-1]; updates has shape ``indices.shape[:-1] + x.shape[k:]``;
    ``y[indices[m..., :]] = updates[m...]``, m in row-major order (with reduction none, a
    repeated index keeps the last update; with add, PyTorch ``index_put(accumulate=True)``,
    every update is summed). Negative indices count from the end.
    """

    name = "cir.scatter_nd"
    x = operand_def(T)
    indices = operand_def(T)
    updates = operand_def(T)
    result = result_def(T)
    reduction = str_prop("none")
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        x, idx, upd = ins
        _index_dtype(idx)
        _same_dtype(x, upd)
        _choice("reduction", p["reduction"], SCATTER_REDUCTIONS)
        want = _gather_nd_shape(x.get_shape(), idx.get_shape(), 0)
        if upd.get_shape() != want:
            raise VerifyException(
                f"updates must have shape {want} (indices {idx.get_shape()}, x {x.get_shape()}), "
                f"got {upd.get_shape()}"
            )
        return [_like(x)]


@irdl_op_definition
class ScatterElementsOp(CirOp):
    """ONNX ScatterElements / torch.scatter: a copy of ``x`` with, for every position j of
    ``indices``, ``y[j with j[axis] := indices[j]] = updates[j]`` (or combined with it by
    ``reduction`` add/mul/max/min). indices and updates have one shape, of x's rank and no
    larger than x outside ``axis``. Negative indices count from the end.
    """

    name = "cir.scatter_elements"
    x = operand_def(T)
    indices = operand_def(T)
    updates = operand_def(T)
    result = result_def(T)
    axis = int_prop()
    reduction = str_prop("none")
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        x, idx, upd = ins
        _same_dtype(x, upd)
        _choice("reduction", p["reduction"], SCATTER_REDUCTIONS)
        GatherElementsOp.infer([x, idx], p)
        if upd.get_shape() != idx.get_shape():
            raise VerifyException(
                f"updates {upd.get_shape()} must have the shape of indices {idx.get_shape()}"
            )
        return [_like(x)]


@irdl_op_definition
class BroadcastToOp(CirOp):
    name = "cir.broadcast_to"
    x = operand_def(T)
    result = result_def(T)
    shape = ints_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        src, dst = ins[0].get_shape(), tuple(p["shape"])
        if len(src) > len(dst) or shapes.broadcast(src, dst) != dst:
            raise VerifyException(f"cannot broadcast {src} to {dst}")
        return [_like(ins[0], dst)]


@irdl_op_definition
class PadOp(CirOp):
    """Pad every dimension by ``low[i]`` before and ``high[i]`` after."""

    name = "cir.pad"
    x = operand_def(T)
    result = result_def(T)
    low = ints_prop()
    high = ints_prop()
    mode = str_prop("constant")
    value = float_prop(0.0)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape = ins[0].get_shape()
        _choice("mode", p["mode"], ("constant", "reflect", "replicate", "circular"))
        for name in ("low", "high"):
            shapes.expect_len(name, p[name], len(shape))
            _non_negative(name, p[name])
        if p["mode"] in ("reflect", "circular"):
            for i, (d, lo, hi) in enumerate(zip(shape, p["low"], p["high"])):
                if max(lo, hi) >= d + (p["mode"] == "circular"):
                    raise VerifyException(
                        f"{p['mode']} padding of dimension {i} must be smaller than its size {d}"
                    )
        return [_like(ins[0], [d + lo + hi for d, lo, hi in zip(shape, p["low"], p["high"])])]


@irdl_op_definition
class TileOp(CirOp):
    name = "cir.tile"
    x = operand_def(T)
    result = result_def(T)
    repeats = ints_prop()
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape = ins[0].get_shape()
        shapes.expect_len("repeats", p["repeats"], len(shape))
        _non_negative("repeats", p["repeats"])
        return [_like(ins[0], [d * r for d, r in zip(shape, p["repeats"])])]


# === neural-network ops ===================================================================


def _check_bias(bias: TensorType | None, n: int, of: TensorType) -> None:
    if bias is None:
        return
    _same_dtype(of, bias)
    if bias.get_shape() != (n,):
        raise VerifyException(f"bias must have shape ({n},), got {bias.get_shape()}")


class _ConvBase(CirOp):
    x = operand_def(T)
    weight = operand_def(T)
    bias = opt_operand_def(T)
    result = result_def(T)
    strides = ints_prop((1, 1))
    pads = ints_prop((0, 0, 0, 0))
    dilations = ints_prop((1, 1))
    groups = int_prop(1)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @staticmethod
    def _check_common(ins: list[TensorType], p: Props) -> None:
        shapes.expect_rank("input", ins[0].get_shape(), 4)
        shapes.expect_rank("weight", ins[1].get_shape(), 4)
        shapes.expect_len("strides", p["strides"], 2)
        shapes.expect_len("pads", p["pads"], 4)
        shapes.expect_len("dilations", p["dilations"], 2)
        _positive("strides", p["strides"])
        _positive("dilations", p["dilations"])
        _non_negative("pads", p["pads"])
        _positive("groups", [p["groups"]])
        _same_dtype(ins[0], ins[1])


@irdl_op_definition
class Conv2dOp(_ConvBase):
    """2-D convolution, NCHW input, OIHW weight (I = C / groups)."""

    name = "cir.conv2d"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        cls._check_common(ins, p)
        (n, c, h, w), (o, ci, kh, kw) = ins[0].get_shape(), ins[1].get_shape()
        g = p["groups"]
        if c % g or o % g:
            raise VerifyException(f"channels in {c} and out {o} must be divisible by groups {g}")
        if ci * g != c:
            raise VerifyException(
                f"weight expects {ci * g} input channels ({ci} per group x {g}), input has {c}"
            )
        _check_bias(ins[2] if len(ins) > 2 else None, o, ins[0])
        (sh, sw), (pt, pl, pb, pr), (dh, dw) = p["strides"], p["pads"], p["dilations"]
        oh = shapes.conv_out(h, kh, sh, pt + pb, dh)
        ow = shapes.conv_out(w, kw, sw, pl + pr, dw)
        return [_like(ins[0], (n, o, oh, ow))]


@irdl_op_definition
class ConvTranspose2dOp(_ConvBase):
    """Transposed 2-D convolution, NCHW input, IOHW weight (O = out channels / groups)."""

    name = "cir.conv_transpose2d"
    output_padding = ints_prop((0, 0))

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        cls._check_common(ins, p)
        (n, c, h, w), (ci, og, kh, kw) = ins[0].get_shape(), ins[1].get_shape()
        g = p["groups"]
        if ci != c:
            raise VerifyException(f"weight expects {ci} input channels, input has {c}")
        if c % g:
            raise VerifyException(f"input channels {c} must be divisible by groups {g}")
        o = og * g
        _check_bias(ins[2] if len(ins) > 2 else None, o, ins[0])
        (sh, sw), (pt, pl, pb, pr), (dh, dw) = p["strides"], p["pads"], p["dilations"]
        oph, opw = p["output_padding"]
        if oph >= max(sh, dh) or opw >= max(sw, dw) or min(oph, opw) < 0:
            raise VerifyException("output_padding must be smaller than stride or dilation")
        oh = (h - 1) * sh - pt - pb + dh * (kh - 1) + oph + 1
        ow = (w - 1) * sw - pl - pr + dw * (kw - 1) + opw + 1
        if oh < 1 or ow < 1:
            raise VerifyException(f"output size ({oh}, {ow}) is empty")
        return [_like(ins[0], (n, o, oh, ow))]


@irdl_op_definition
class MatmulOp(CirOp):
    """Batched matrix product ``a[..., m, k] @ b[..., k, n]`` with broadcast batch dims;
    ``transpose_a`` / ``transpose_b``: the operand is stored ``[..., k, m]`` / ``[..., n, k]``
    and read transposed (BatchMatMulV2's adj_x1 / adj_x2)."""

    name = "cir.matmul"
    a = operand_def(T)
    b = operand_def(T)
    result = result_def(T)
    transpose_a = bool_prop(False)
    transpose_b = bool_prop(False)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "numeric"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        a, b = ins
        _same_dtype(a, b)
        sa, sb = a.get_shape(), b.get_shape()
        if len(sa) < 2 or len(sb) < 2:
            raise VerifyException(f"matmul operands must have rank >= 2, got {sa} and {sb}")
        m, ka = (sa[-1], sa[-2]) if p["transpose_a"] else (sa[-2], sa[-1])
        kb, n = (sb[-1], sb[-2]) if p["transpose_b"] else (sb[-2], sb[-1])
        if ka != kb:
            flags = "".join(f" ({x} transposed)" for x in "ab" if p[f"transpose_{x}"])
            raise VerifyException(f"matmul contraction mismatch: {sa} @ {sb}{flags}")
        batch = shapes.broadcast(sa[:-2], sb[:-2])
        return [_like(a, (*batch, m, n))]


@irdl_op_definition
class LinearOp(CirOp):
    """``x @ weight.T + bias`` with weight (out, in)."""

    name = "cir.linear"
    x = operand_def(T)
    weight = operand_def(T)
    bias = opt_operand_def(T)
    result = result_def(T)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        x, w = ins[0], ins[1]
        _same_dtype(x, w)
        sx, sw = x.get_shape(), w.get_shape()
        shapes.expect_rank("weight", sw, 2)
        if not sx or sx[-1] != sw[1]:
            raise VerifyException(f"linear input {sx} does not match weight {sw} (out, in)")
        _check_bias(ins[2] if len(ins) > 2 else None, sw[0], x)
        return [_like(x, (*sx[:-1], sw[0]))]


class _Softmax(CirOp):
    x = operand_def(T)
    result = result_def(T)
    axis = int_prop(-1)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shapes.norm_axis(p["axis"], len(ins[0].get_shape()))
        return [_like(ins[0])]


@irdl_op_definition
class SoftmaxOp(_Softmax):
    name = "cir.softmax"


@irdl_op_definition
class LogSoftmaxOp(_Softmax):
    name = "cir.log_softmax"


def _check_affine(ins: list[TensorType], shape: tuple[int, ...], what: str) -> None:
    for t in ins[1:]:
        _same_dtype(ins[0], t)
        if t.get_shape() != tuple(shape):
            raise VerifyException(f"{what} must have shape {tuple(shape)}, got {t.get_shape()}")


@irdl_op_definition
class LayerNormOp(CirOp):
    """Normalise over dimensions ``axis..rank-1``; optional weight and bias of that shape."""

    name = "cir.layer_norm"
    x = operand_def(T)
    weight = opt_operand_def(T)
    bias = opt_operand_def(T)
    result = result_def(T)
    axis = int_prop(-1)
    epsilon = float_prop(1e-5)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape = ins[0].get_shape()
        axis = shapes.norm_axis(p["axis"], len(shape))
        _check_affine(ins, shape[axis:], "weight and bias")
        return [_like(ins[0])]


@irdl_op_definition
class RmsNormOp(CirOp):
    """``x / sqrt(mean(x^2) + eps) * weight`` over dimensions ``axis..rank-1``."""

    name = "cir.rms_norm"
    x = operand_def(T)
    weight = opt_operand_def(T)
    result = result_def(T)
    axis = int_prop(-1)
    epsilon = float_prop(1e-6)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape = ins[0].get_shape()
        axis = shapes.norm_axis(p["axis"], len(shape))
        _check_affine(ins, shape[axis:], "weight")
        return [_like(ins[0])]


@irdl_op_definition
class GroupNormOp(CirOp):
    """Group normalisation of an (N, C, ...) tensor with per-channel weight and bias."""

    name = "cir.group_norm"
    x = operand_def(T)
    weight = opt_operand_def(T)
    bias = opt_operand_def(T)
    result = result_def(T)
    num_groups = int_prop()
    epsilon = float_prop(1e-5)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        _gn_check(ins[0], ins[1:], p["num_groups"], "weight and bias")
        return [_like(ins[0])]


@irdl_op_definition
class BatchNormOp(CirOp):
    """Inference-mode batch normalisation of an (N, C, ...) tensor."""

    name = "cir.batch_norm"
    x = operand_def(T)
    scale = operand_def(T)
    bias = operand_def(T)
    mean = operand_def(T)
    var = operand_def(T)
    result = result_def(T)
    epsilon = float_prop(1e-5)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape = ins[0].get_shape()
        if len(shape) < 2:
            raise VerifyException(f"batch_norm input must have rank >= 2, got {shape}")
        _check_affine(ins, (shape[1],), "scale, bias, mean and var")
        return [_like(ins[0])]


class _Pool(CirOp):
    x = operand_def(T)
    result = result_def(T)
    kernel = ints_prop()
    strides = ints_prop()
    pads = ints_prop((0, 0, 0, 0))
    ceil_mode = bool_prop(False)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def _out(cls, ins: list[TensorType], p: Props, dil: tuple[int, int]) -> list[TensorType]:
        shape = ins[0].get_shape()
        shapes.expect_rank("input", shape, 4)
        shapes.expect_len("kernel", p["kernel"], 2)
        shapes.expect_len("strides", p["strides"], 2)
        shapes.expect_len("pads", p["pads"], 4)
        _positive("kernel", p["kernel"])
        _positive("strides", p["strides"])
        _non_negative("pads", p["pads"])
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = p["kernel"], p["strides"], p["pads"]
        if pt > kh // 2 or pb > kh // 2 or pl > kw // 2 or pr > kw // 2:
            raise VerifyException(f"pads {list(p['pads'])} exceed half the kernel {list(p['kernel'])}")
        n, c, h, w = shape
        oh = shapes.pool_out(h, kh, sh, pt, pb, dil[0], p["ceil_mode"])
        ow = shapes.pool_out(w, kw, sw, pl, pr, dil[1], p["ceil_mode"])
        return [_like(ins[0], (n, c, oh, ow))]


@irdl_op_definition
class MaxPool2dOp(_Pool):
    name = "cir.max_pool2d"
    dilations = ints_prop((1, 1))

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shapes.expect_len("dilations", p["dilations"], 2)
        _positive("dilations", p["dilations"])
        return cls._out(ins, p, tuple(p["dilations"]))


@irdl_op_definition
class AvgPool2dOp(_Pool):
    name = "cir.avg_pool2d"
    count_include_pad = bool_prop(True)

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        return cls._out(ins, p, (1, 1))


@irdl_op_definition
class UpsampleOp(CirOp):
    """Resize the two spatial dims of an NCHW tensor to ``size`` (nearest or bilinear)."""

    name = "cir.upsample"
    x = operand_def(T)
    result = result_def(T)
    size = ints_prop()
    mode = str_prop("nearest")
    align_corners = bool_prop(False)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        shape = ins[0].get_shape()
        shapes.expect_rank("input", shape, 4)
        shapes.expect_len("size", p["size"], 2)
        _positive("size", p["size"])
        _choice("mode", p["mode"], ("nearest", "bilinear"))
        if p["align_corners"] and p["mode"] == "nearest":
            raise VerifyException("align_corners applies to bilinear mode only")
        return [_like(ins[0], (*shape[:2], *p["size"]))]


@irdl_op_definition
class AttentionOp(CirOp):
    """Scaled dot-product attention ``softmax(q @ k^T * scale + mask) @ v``.

    q (..., L, E), k (..., S, E), v (..., S, Ev); batch dims broadcast. The optional mask
    broadcasts to (..., L, S): i1 (true = attend) or additive float. ``scale`` defaults to
    1/sqrt(E); ``causal`` masks keys after the query position.
    """

    name = "cir.attention"
    q = operand_def(T)
    k = operand_def(T)
    v = operand_def(T)
    mask = opt_operand_def(T)
    result = result_def(T)
    scale = opt_float_prop()
    causal = bool_prop(False)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        q, k, v = ins[:3]
        for t in (q, k, v):
            if not dtype_of(t).is_float:
                raise VerifyException(f"q, k and v must be float tensors, got {t}")
        _same_dtype(q, k, v)
        sq, sk, sv = q.get_shape(), k.get_shape(), v.get_shape()
        if min(len(sq), len(sk), len(sv)) < 2:
            raise VerifyException("q, k and v must have rank >= 2")
        if sq[-1] != sk[-1]:
            raise VerifyException(f"q {sq} and k {sk} disagree on the embedding size")
        if sk[-2] != sv[-2]:
            raise VerifyException(f"k {sk} and v {sv} disagree on the sequence length")
        batch = shapes.broadcast(sq[:-2], sk[:-2], sv[:-2])
        if len(ins) > 3:
            m = ins[3]
            if not is_bool(m) and m.element_type != q.element_type:
                raise VerifyException(f"mask must be i1 or {q.element_type}, got {m.element_type}")
            scores = (*batch, sq[-2], sk[-2])
            if shapes.broadcast(m.get_shape(), scores) != scores:
                raise VerifyException(f"mask {m.get_shape()} does not broadcast to {scores}")
        return [_like(q, (*batch, sq[-2], sv[-1]))]


# === fused operators (made by aigc-fusion, modelled on CANN's) ============================


def _gn_check(x: TensorType, affine: list[TensorType], g: int, what: str = "gamma and beta") -> None:
    shape = x.get_shape()
    if len(shape) < 2:
        raise VerifyException(f"group_norm input must have rank >= 2, got {shape}")
    _positive("num_groups", [g])
    if shape[1] % g:
        raise VerifyException(f"channels {shape[1]} are not divisible by num_groups {g}")
    _check_affine([x, *affine], (shape[1],), what)


@irdl_op_definition
class GroupNormSiluOp(CirOp):
    """``silu(group_norm(x))`` (or without SiLU): CANN GroupNormSilu."""

    name = "cir.group_norm_silu"
    x = operand_def(T)
    gamma = operand_def(T)
    beta = operand_def(T)
    result = result_def(T)
    num_groups = int_prop()
    epsilon = float_prop(1e-5)
    activate_silu = bool_prop(True)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        _gn_check(ins[0], ins[1:], p["num_groups"])
        return [_like(ins[0])]


@irdl_op_definition
class AddGroupNormOp(CirOp):
    """Skip-add + GroupNorm (+ SiLU): ``s = x1 + x2; y = [silu](group_norm(s))`` -> (y, s)."""

    name = "cir.add_group_norm"
    x1 = operand_def(T)
    x2 = operand_def(T)
    gamma = operand_def(T)
    beta = operand_def(T)
    y = result_def(T)
    sum = result_def(T)
    num_groups = int_prop()
    epsilon = float_prop(1e-5)
    activate_silu = bool_prop(False)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        x1, x2 = ins[:2]
        _same_dtype(x1, x2)
        shape = shapes.broadcast(x1.get_shape(), x2.get_shape())
        if shape != x1.get_shape():
            raise VerifyException(f"x2 {x2.get_shape()} must broadcast to x1 {x1.get_shape()}")
        _gn_check(x1, ins[2:], p["num_groups"])
        return [_like(x1), _like(x1)]


@irdl_op_definition
class ConvGnSiluOp(_ConvBase):
    """Conv2d + GroupNorm + SiLU in one kernel (the seed's three-in-one) -> (y, conv_out).

    ``conv_out`` (the convolution's result) is kept for the skip path that usually reads it.
    """

    name = "cir.conv_gn_silu"
    # (all operands restated: IRDL orders a subclass's own fields before the inherited ones)
    x = operand_def(T)
    weight = operand_def(T)
    bias = operand_def(T)  # type: ignore[assignment]
    gamma = operand_def(T)
    beta = operand_def(T)
    conv_out = result_def(T)
    num_groups = int_prop()
    epsilon = float_prop(1e-5)
    activate_silu = bool_prop(True)

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        (out,) = Conv2dOp.infer(ins[:3], p)
        _gn_check(out, ins[3:], p["num_groups"])
        return [out, out]


@irdl_op_definition
class FlashAttentionOp(CirOp):
    """FlashAttentionScore / PromptFlashAttention: attention over heads.

    ``input_layout`` BNSD: q (B, N, S, D), k/v (B, N, S', D); BSH: q (B, S, H), k/v (B, S', H)
    with H = head_num * D. The output has q's layout. Optional mask as in cir.attention.
    """

    name = "cir.flash_attention"
    q = operand_def(T)
    k = operand_def(T)
    v = operand_def(T)
    mask = opt_operand_def(T)
    result = result_def(T)
    head_num = int_prop()
    input_layout = str_prop("BNSD")
    scale = float_prop(1.0)
    causal = bool_prop(False)
    traits = traits_def(Pure())

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        _choice("input_layout", p["input_layout"], ("BNSD", "BSH"))
        q, k, v = ins[:3]
        _positive("head_num", [p["head_num"]])
        rank = 4 if p["input_layout"] == "BNSD" else 3
        for name, t in (("q", q), ("k", k), ("v", v)):
            shapes.expect_rank(name, t.get_shape(), rank)
        if p["input_layout"] == "BNSD":
            if q.get_shape()[1] != p["head_num"]:
                raise VerifyException(f"q has {q.get_shape()[1]} heads, head_num is {p['head_num']}")
            return AttentionOp.infer(ins, {"scale": p["scale"], "causal": p["causal"]})
        for name, t in (("q", q), ("k", k), ("v", v)):
            if t.get_shape()[2] % p["head_num"]:
                raise VerifyException(f"{name} hidden size {t.get_shape()[2]} is not divisible "
                                      f"by head_num {p['head_num']}")
        _same_dtype(q, k, v)
        if k.get_shape()[1] != v.get_shape()[1]:
            raise VerifyException(f"k {k.get_shape()} and v {v.get_shape()} disagree on the sequence length")
        return [_like(q, (*q.get_shape()[:2], v.get_shape()[2]))]


@irdl_op_definition
class GegluOp(CirOp):
    """GeGluV2: split x in halves along ``dim``; ``left * gelu(right)`` (activate_left=false)."""

    name = "cir.geglu"
    x = operand_def(T)
    result = result_def(T)
    dim = int_prop(-1)
    approximate = str_prop("none")
    activate_left = bool_prop(False)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        _choice("approximate", p["approximate"], ("none", "tanh"))
        shape = list(ins[0].get_shape())
        d = shapes.norm_axis(p["dim"], len(shape))
        if shape[d] % 2:
            raise VerifyException(f"dimension {d} of size {shape[d]} cannot be split in halves")
        shape[d] //= 2
        return [_like(ins[0], shape)]


@irdl_op_definition
class AddLayerNormOp(CirOp):
    """AddLayerNorm: ``s = x1 + x2; y = layer_norm(s)`` -> (y, s)."""

    name = "cir.add_layer_norm"
    x1 = operand_def(T)
    x2 = operand_def(T)
    gamma = operand_def(T)
    beta = operand_def(T)
    y = result_def(T)
    sum = result_def(T)
    axis = int_prop(-1)
    epsilon = float_prop(1e-5)
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        x1, x2 = ins[:2]
        _same_dtype(x1, x2)
        if shapes.broadcast(x1.get_shape(), x2.get_shape()) != x1.get_shape():
            raise VerifyException(f"x2 {x2.get_shape()} must broadcast to x1 {x1.get_shape()}")
        axis = shapes.norm_axis(p["axis"], len(x1.get_shape()))
        _check_affine([x1, *ins[2:]], x1.get_shape()[axis:], "gamma and beta")
        return [_like(x1), _like(x1)]


# the epilogues of linear_act and conv2d_act: each is an elementwise op (name, properties)
ACTIVATION_OPS: dict[str, tuple[str, dict[str, str]]] = {
    "relu": ("cir.relu", {}), "gelu": ("cir.gelu", {}), "gelu_tanh": ("cir.gelu", {"approximate": "tanh"}),
    "silu": ("cir.silu", {}), "sigmoid": ("cir.sigmoid", {}), "hardswish": ("cir.hardswish", {}),
}
ACTIVATIONS = ("none", *ACTIVATION_OPS)


@irdl_op_definition
class LinearActOp(CirOp):
    """``act(x @ weight.T + bias)``: linear with a fused epilogue."""

    name = "cir.linear_act"
    x = operand_def(T)
    weight = operand_def(T)
    bias = opt_operand_def(T)
    result = result_def(T)
    activation = str_prop("none")
    traits = traits_def(Pure())
    OPERAND_DTYPES: ClassVar[str] = "float"

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        _choice("activation", p["activation"], ACTIVATIONS)
        return LinearOp.infer(ins, p)


@irdl_op_definition
class Conv2dActOp(_ConvBase):
    """``act(conv2d(x, weight) + bias [+ residual])``: a convolution with a fused epilogue (CANN's
    Conv2D + Add + Relu UB fusion); ``residual`` has the result's shape. The bias is required: the
    one optional operand is the residual, so the operand list alone says which is which."""

    name = "cir.conv2d_act"
    # (all operands restated: IRDL orders a subclass's own fields before the inherited ones)
    x = operand_def(T)
    weight = operand_def(T)
    bias = operand_def(T)  # type: ignore[assignment]
    residual = opt_operand_def(T)
    activation = str_prop("none")

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        _choice("activation", p["activation"], ACTIVATIONS)
        (out,) = Conv2dOp.infer(ins[:3], p)
        if len(ins) > 3:
            _same_dtype(out, ins[3])
            if ins[3].get_shape() != out.get_shape():
                raise VerifyException(f"residual must have the result's shape {list(out.get_shape())}, "
                                      f"got {list(ins[3].get_shape())}")
        return [out]


@irdl_op_definition
class TransDataOp(CirOp):
    """Change a tensor's data format (GE TransData). The logical shape is unchanged; the
    operand's and result's ``#cir.format`` encodings must be ``src_format`` and ``dst_format``."""

    name = "cir.trans_data"
    x = operand_def(T)
    result = result_def(T)
    src_format = str_prop()
    dst_format = str_prop()
    groups = int_prop(1)
    traits = traits_def(Pure())

    def __init__(self, x: SSAValue, dst_format: str):
        t = x.type
        assert isinstance(t, TensorType)
        src = format_of(t)
        out = TensorType(t.element_type, t.get_shape(),
                         FormatAttr(dst_format) if dst_format != "ND" else NoneAttr())
        super(CirOp, self).__init__(
            operands=[x], result_types=[out],
            properties={"src_format": StringAttr(src), "dst_format": StringAttr(dst_format)},
        )

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        for key in ("src_format", "dst_format"):
            _choice(key, p[key], tuple(FORMATS))
        if format_of(ins[0]) != p["src_format"]:
            raise VerifyException(
                f"operand format {format_of(ins[0])} does not match src_format {p['src_format']}"
            )
        return [_like(ins[0])]

    def verify_(self) -> None:
        super().verify_()
        got = format_of(self.result.type)  # type: ignore[arg-type]
        if got != self.p["dst_format"]:
            raise VerifyException(f"result format {got} does not match dst_format {self.p['dst_format']}")


CIR = Dialect(
    "cir",
    [
        ConstantOp, WeightOp,
        NegOp, AbsOp, ExpOp, LogOp, SqrtOp, RsqrtOp, ReciprocalOp, ErfOp, TanhOp, SigmoidOp,
        ReluOp, ClampOp, SiluOp, GeluOp, HardswishOp, SinOp, CosOp, FloorOp,
        AddOp, SubOp, MulOp, DivOp, PowOp, MaximumOp, MinimumOp, FloorDivOp, ModOp,
        EqOp, NeOp, LtOp, LeOp, GtOp, GeOp, WhereOp, CastOp,
        LogicalAndOp, LogicalOrOp, LogicalXorOp, LogicalNotOp,
        ReduceSumOp, ReduceMeanOp, ReduceMaxOp, ReduceMinOp, ArgmaxOp, CumsumOp,
        ReshapeOp, TransposeOp, ConcatOp, SplitOp, SliceOp, GatherOp, GatherElementsOp, BroadcastToOp,
        GatherNdOp, ScatterNdOp, ScatterElementsOp,
        PadOp, TileOp,
        Conv2dOp, ConvTranspose2dOp, MatmulOp, LinearOp, SoftmaxOp, LogSoftmaxOp,
        LayerNormOp, GroupNormOp, BatchNormOp, RmsNormOp, MaxPool2dOp, AvgPool2dOp, UpsampleOp,
        AttentionOp,
        GroupNormSiluOp, AddGroupNormOp, ConvGnSiluOp, FlashAttentionOp, GegluOp, AddLayerNormOp,
        LinearActOp, Conv2dActOp, TransDataOp,
    ],
    [FormatAttr],
)
