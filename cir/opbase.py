"""The base of every CIR op: Python-valued builders, shape inference, verification and one
readable custom assembly format shared by all ops.

An op class declares its operands, results and properties with IRDL and implements
``infer(ins, p)``: given the operand tensor types and the properties as plain Python values,
return the result tensor types, or raise ``VerifyException`` naming what is inconsistent.
The same function computes result types in builders and checks them in the verifier, so the
two can never disagree.

Custom format (properties equal to their default are elided)::

    %y = cir.conv2d %x, %w, %b {pads = [1, 1, 1, 1]} : (tensor<1x4x8x8xf32>, ...) -> tensor<...>
    %z = cir.relu %y : tensor<1x8x8x8xf32>
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    NoneAttr,
    StringAttr,
    TensorType,
    f64,
    i1,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    OptionalDef,
    VariadicDef,
    opt_prop_def,
    prop_def,
)
from xdsl.irdl.constraints import VerificationContext
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from cir.formats import valid_rank
from cir.types import dtype_of, format_of

Props = Mapping[str, Any]


# --- property declarations ---------------------------------------------------------------
# Properties are declared with these helpers so that defaults are written once, as Python.


def int_prop(default: int | None = None) -> Any:
    if default is None:
        return prop_def(IntegerAttr[IntegerType])
    return prop_def(IntegerAttr[IntegerType], default_value=IntegerAttr(default, i64))


def float_prop(default: float | None = None) -> Any:
    if default is None:
        return prop_def(FloatAttr)
    return prop_def(FloatAttr, default_value=FloatAttr(default, f64))


def opt_float_prop() -> Any:
    return opt_prop_def(FloatAttr)


def bool_prop(default: bool = False) -> Any:
    return prop_def(IntegerAttr[IntegerType], default_value=IntegerAttr(int(default), i1))


def str_prop(default: str | None = None) -> Any:
    if default is None:
        return prop_def(StringAttr)
    return prop_def(StringAttr, default_value=StringAttr(default))


def ints_prop(default: Sequence[int] | None = None) -> Any:
    if default is None:
        return prop_def(DenseArrayBase)
    return prop_def(DenseArrayBase, default_value=DenseArrayBase.from_list(i64, list(default)))


# --- Python <-> attribute ----------------------------------------------------------------


def to_python(attr: Attribute | None) -> Any:
    """A property attribute as a plain Python value (bool, int, float, str, tuple[int])."""
    if attr is None:
        return None
    if isinstance(attr, IntegerAttr):
        if isinstance(attr.type, IntegerType) and attr.type.width.data == 1:
            return bool(attr.value.data)
        return attr.value.data
    if isinstance(attr, FloatAttr):
        return attr.value.data
    if isinstance(attr, StringAttr):
        return attr.data
    if isinstance(attr, DenseArrayBase):
        return tuple(attr.get_values())
    return attr


def _candidates(value: Any) -> list[Attribute]:
    if isinstance(value, Attribute):
        return [value]
    if isinstance(value, bool):
        return [IntegerAttr(int(value), i1)]
    if isinstance(value, int):
        return [IntegerAttr(value, i64), FloatAttr(float(value), f64)]
    if isinstance(value, float):
        return [FloatAttr(value, f64)]
    if isinstance(value, str):
        return [StringAttr(value)]
    if isinstance(value, Sequence):
        return [DenseArrayBase.from_list(i64, [int(v) for v in value])]
    raise TypeError(f"cannot turn {value!r} into an attribute")


def _coerce(op_cls: type[IRDLOperation], name: str, value: Any) -> Attribute:
    """Turn a Python value (or a parsed attribute) into the attribute property `name` wants."""
    prop = op_cls.get_irdl_definition().properties.get(name)
    if prop is None:
        raise TypeError(f"{op_cls.name} has no property '{name}'")
    if isinstance(value, ArrayAttr) and all(isinstance(a, IntegerAttr) for a in value.data):
        value = [a.value.data for a in value.data]  # `[1, 2]` in the custom format
    if isinstance(value, IntegerAttr) and not (
        isinstance(value.type, IntegerType) and value.type.width.data == 1
    ):
        value = value.value.data
    for cand in _candidates(value):
        try:
            prop.constr.verify(cand, VerificationContext())
            return cand
        except VerifyException:
            continue
    raise VerifyException(f"property '{name}' of {op_cls.name} cannot be {value}")


def _format_float(v: float) -> str:
    text = repr(float(v))
    if "e" in text and "." not in text.split("e")[0]:
        mant, exp = text.split("e")
        text = f"{mant}.0e{exp}"
    return text


# --- the base op -------------------------------------------------------------------------


class CirOp(IRDLOperation):
    """Common behaviour of CIR ops; subclasses implement `infer`."""

    # Element-type classes accepted on every operand, checked before `infer`:
    # "float" (f32/f16/bf16), "numeric" (anything but i1), "any".
    OPERAND_DTYPES: ClassVar[str] = "any"

    def __init__(
        self,
        *operands: SSAValue | Operation | Sequence[SSAValue | Operation] | None,
        attributes: Mapping[str, Attribute] | None = None,
        **props: Any,
    ):
        cls = type(self)
        grouped = _group_operands(cls, _flatten(operands))
        properties = {k: _coerce(cls, k, v) for k, v in props.items() if v is not None}
        in_types = [_value(v).type for g in grouped for v in _as_list(g)]
        py = _props_view(cls, properties)
        results = cls.infer(list(in_types), py)  # type: ignore[arg-type]
        super().__init__(
            operands=grouped,
            result_types=_group_results(cls, results),
            properties=properties,
            attributes=dict(attributes or {}),
        )

    # -- semantics ----------------------------------------------------------------------

    @classmethod
    def infer(cls, ins: list[TensorType], p: Props) -> list[TensorType]:
        raise NotImplementedError(f"{cls.name} has no shape inference")

    @property
    def p(self) -> Props:
        """Properties as Python values, defaults filled in: ``op.p["axis"]``."""
        return _props_view(type(self), self.properties)

    def verify_(self) -> None:
        for v in (*self.operands, *self.results):
            dtype_of(v.type)
            fmt = format_of(v.type)  # type: ignore[arg-type]
            if not valid_rank(fmt, len(v.type.get_shape())):  # type: ignore[attr-defined]
                raise VerifyException(f"format {fmt} does not apply to a rank-"
                                      f"{len(v.type.get_shape())} tensor")  # type: ignore[attr-defined]
        _check_dtypes(self.name, self.OPERAND_DTYPES, [v.type for v in self.operands])
        inferred = type(self).infer([v.type for v in self.operands], self.p)  # type: ignore
        actual = [v.type for v in self.results]
        if len(inferred) != len(actual):
            raise VerifyException(f"expected {len(inferred)} results, got {len(actual)}")
        for i, (want, got) in enumerate(zip(inferred, actual, strict=True)):
            assert isinstance(got, TensorType)
            if want.get_shape() != got.get_shape() or want.element_type != got.element_type:
                which = f"result #{i} " if len(actual) > 1 else "result "
                raise VerifyException(
                    f"{which}type {_plain(got)} does not match the inferred type {want}"
                )

    # -- custom format ------------------------------------------------------------------

    def print(self, printer: Printer) -> None:
        if self.operands:
            printer.print_string(" ")
            printer.print_list(self.operands, printer.print_operand)
        self._print_props(printer)
        printer.print_string(" : ")
        ins = [v.type for v in self.operands]
        outs = [v.type for v in self.results]
        if len(ins) == 1 and len(outs) == 1 and ins[0] == outs[0]:
            printer.print_attribute(outs[0])
            return
        if ins:
            printer.print_string("(")
            printer.print_list(ins, printer.print_attribute)
            printer.print_string(") -> ")
        if len(outs) == 1:
            printer.print_attribute(outs[0])
        else:
            printer.print_string("(")
            printer.print_list(outs, printer.print_attribute)
            printer.print_string(")")

    def _print_props(self, printer: Printer) -> None:
        op_def = type(self).get_irdl_definition()
        entries: list[str] = []
        for name, attr in self.properties.items():
            if name == "operandSegmentSizes":  # implied by the operand list
                continue
            pdef = op_def.properties.get(name)
            if pdef is not None and pdef.default_value == attr:
                continue
            entries.append(f"{name} = {format_value(attr)}")
        for name, attr in self.attributes.items():  # discardable: MLIR's own syntax
            entries.append(f"{name} = {attr}")
        if entries:
            printer.print_string(" {" + ", ".join(entries) + "}")

    @classmethod
    def parse(cls, parser: Parser) -> CirOp:
        pos = parser.pos
        unresolved = (
            parser.parse_optional_undelimited_comma_separated_list(
                parser.parse_optional_unresolved_operand, parser.parse_unresolved_operand
            )
            or []
        )
        attr_pos = parser.pos
        entries = parser.parse_optional_attr_dict()
        try:
            props, attrs = _split_attr_dict(cls, entries)
        except VerifyException as e:
            parser.raise_error(str(e), attr_pos, parser.pos)
        parser.parse_punctuation(":")
        in_types, out_types = parse_signature(parser, len(unresolved))
        operands = _resolve(parser, unresolved, in_types, pos)
        try:
            grouped = _group_operands(cls, operands)
        except TypeError as e:
            parser.raise_error(str(e), pos, parser.pos)
        return cls.build(
            operands=grouped,
            result_types=_group_results(cls, out_types),
            properties=props,
            attributes=attrs,
        )


# --- helpers -----------------------------------------------------------------------------


def _plain(t: TensorType) -> TensorType:
    return TensorType(t.element_type, t.get_shape()) if t.encoding != NoneAttr() else t


def _check_dtypes(op_name: str, kind: str, types: Sequence[Attribute]) -> None:
    for i, t in enumerate(types):
        dt = dtype_of(t)
        if kind == "float" and not dt.is_float:
            raise VerifyException(f"operand #{i} must be a float tensor (f32/f16/bf16), got {t}")
        if kind == "numeric" and dt.name == "i1":
            raise VerifyException(f"operand #{i} must be numeric, got {t}")


def format_value(attr: Attribute) -> str:
    """A property value as the custom formats print it: bare i64 / f64, `[1, 2]` arrays."""
    if isinstance(attr, IntegerAttr) and attr.type == i64:
        return str(attr.value.data)
    if isinstance(attr, IntegerAttr) and attr.type == i1:
        return "true" if attr.value.data else "false"
    if isinstance(attr, FloatAttr) and attr.type == f64 and math.isfinite(attr.value.data):
        return _format_float(attr.value.data)
    if isinstance(attr, DenseArrayBase) and attr.elt_type == i64:
        return "[" + ", ".join(str(v) for v in attr.get_values()) + "]"
    if isinstance(attr, StringAttr):
        return StringAttr(attr.data).__str__()
    return str(attr)


def _props_view(cls: type[IRDLOperation], properties: Mapping[str, Attribute]) -> Props:
    out: dict[str, Any] = {}
    for name, pdef in cls.get_irdl_definition().properties.items():
        if name == "operandSegmentSizes":  # structural, not a semantic property
            continue
        attr = properties.get(name, pdef.default_value)
        out[name] = to_python(attr)
    return out


def _split_attr_dict(
    cls: type[IRDLOperation], entries: Mapping[str, Attribute]
) -> tuple[dict[str, Attribute], dict[str, Attribute]]:
    known = cls.get_irdl_definition().properties
    props = {k: _coerce(cls, k, v) for k, v in entries.items() if k in known}
    attrs = {k: v for k, v in entries.items() if k not in known}
    return props, attrs


def _parse_type_list(parser: Parser) -> list[Attribute]:
    if parser.parse_optional_punctuation(")") is not None:
        return []
    types: list[Attribute] = list(parser.parse_comma_separated_list(parser.Delimiter.NONE, parser.parse_type))
    parser.parse_punctuation(")")
    return types


def _parse_results(parser: Parser) -> list[Attribute]:
    if parser.parse_optional_punctuation("(") is not None:
        return _parse_type_list(parser)
    return [parser.parse_type()]


def parse_signature(parser: Parser, n_operands: int) -> tuple[list[Attribute], list[Attribute]]:
    """`: T` (one operand, same result type), `: T` (no operand), `: (Ts) -> R`, `: T -> R`."""
    if parser.parse_optional_punctuation("(") is not None:
        ins = _parse_type_list(parser)
        parser.parse_punctuation("->")
        return ins, _parse_results(parser)
    t = parser.parse_type()
    if parser.parse_optional_punctuation("->") is not None:
        return [t], _parse_results(parser)
    if n_operands == 0:
        return [], [t]
    return [t] * n_operands, [t]


def _resolve(
    parser: Parser, unresolved: Sequence[UnresolvedOperand], types: Sequence[Attribute], pos: int
) -> list[SSAValue]:
    if len(unresolved) != len(types):
        parser.raise_error(
            f"expected {len(unresolved)} operand types, got {len(types)}", pos, parser.pos
        )
    return [parser.resolve_operand(u, t) for u, t in zip(unresolved, types, strict=True)]


def _flatten(operands: Sequence[Any]) -> list[SSAValue | None]:
    flat: list[SSAValue | None] = []
    for o in operands:
        if o is None:
            flat.append(None)
        elif isinstance(o, SSAValue | Operation):
            flat.append(_value(o))
        else:  # a variadic group
            flat.extend(_value(v) for v in o)
    return flat


def _value(v: SSAValue | Operation) -> SSAValue:
    if isinstance(v, Operation):
        if len(v.results) != 1:
            raise ValueError(f"{v.name} has {len(v.results)} results; pass one of them")
        return v.results[0]
    return v


def _as_list(g: Any) -> list[SSAValue]:
    if g is None:
        return []
    if isinstance(g, Sequence):
        return list(g)
    return [g]


def _group_operands(cls: type[IRDLOperation], flat: Sequence[SSAValue | None]) -> list[Any]:
    """Assign a flat operand list to the op's operand definitions.

    Optional operands are trailing and take one value each when present; a variadic operand
    takes everything that is left.
    """
    defs = [d for _, d in cls.get_irdl_definition().operands]
    required = sum(1 for d in defs if not isinstance(d, VariadicDef))
    flat = list(flat)
    while flat and flat[-1] is None:
        flat.pop()
    if len(flat) < required:
        raise TypeError(f"{cls.name} expects at least {required} operands, got {len(flat)}")
    grouped: list[Any] = []
    rest = list(flat)
    for d in defs:
        if isinstance(d, OptionalDef):
            grouped.append(rest.pop(0) if rest else None)
        elif isinstance(d, VariadicDef):
            grouped.append([v for v in rest if v is not None])
            rest = []
        else:
            v = rest.pop(0)
            if v is None:
                raise TypeError(f"{cls.name}: a required operand is missing")
            grouped.append(v)
    if rest:
        raise TypeError(f"{cls.name} expects at most {len(defs)} operands, got {len(flat)}")
    return grouped


def _group_results(cls: type[IRDLOperation], flat: Sequence[Attribute]) -> list[Any]:
    defs = [d for _, d in cls.get_irdl_definition().results]
    if len(defs) == 1 and isinstance(defs[0], VariadicDef):
        return [list(flat)]
    return list(flat)
