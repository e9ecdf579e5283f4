"""The shape shared by every framework import dialect: one op per framework operator.

An import dialect records what the framework said, nothing more: the operator's full name
(``torch.aten.convolution.default``, ``tf.Conv2D``, ``ms.Conv2D``, ``onnx.Conv``), its tensor
inputs with the schema's argument names, its other arguments as attributes named as in the
schema, and its results' types. Op classes are made on demand for any operator name, so text
with any framework operator parses::

    %y = torch.aten.convolution.default(input=%x, weight=%w, bias=%b) {stride = [1, 1], ...}
           : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    f64,
    i1,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from cir.opbase import format_value, parse_signature
from cir.opbase import to_python as prop_to_python

ARG_NAMES = "operand_names"  # attribute: the schema name of each operand, in order


class FrameworkOp(IRDLOperation):
    """A framework operator, recorded faithfully. Subclasses only set `name`."""

    args = var_operand_def()
    outs = var_result_def()
    traits = traits_def(Pure())

    def __init__(
        self,
        operands: Sequence[tuple[str, SSAValue]],
        attrs: Mapping[str, Any],
        result_types: Sequence[Attribute],
    ):
        attributes = {k: to_attr(v) for k, v in attrs.items() if v is not None}
        attributes[ARG_NAMES] = ArrayAttr([StringAttr(n) for n, _ in operands])
        super().__init__(
            operands=[[v for _, v in operands]],
            result_types=[list(result_types)],
            attributes=attributes,
        )

    @property
    def operand_names(self) -> list[str]:
        names = self.attributes.get(ARG_NAMES)
        return [a.data for a in names.data] if isinstance(names, ArrayAttr) else []

    def operand(self, name: str) -> SSAValue | None:
        """The first operand passed as schema argument `name`."""
        for n, v in zip(self.operand_names, self.operands):
            if n == name:
                return v
        return None

    def operands_named(self, name: str) -> list[SSAValue]:
        return [v for n, v in zip(self.operand_names, self.operands) if n == name]

    def arg(self, name: str, default: Any = None) -> Any:
        """A non-tensor argument as a Python value."""
        attr = self.attributes.get(name)
        return default if attr is None else to_python(attr)

    @property
    def arg_values(self) -> dict[str, Any]:
        return {k: to_python(v) for k, v in self.attributes.items() if k != ARG_NAMES}

    def verify_(self) -> None:
        if len(self.operand_names) != len(self.operands):
            raise VerifyException(
                f"{ARG_NAMES} names {len(self.operand_names)} operands, the op has "
                f"{len(self.operands)}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string("(")
        printer.print_list(
            list(zip(self.operand_names, self.operands)),
            lambda nv: (printer.print_string(f"{nv[0]}="), printer.print_operand(nv[1])),
        )
        printer.print_string(")")
        entries = [f"{k} = {format_value(v)}" for k, v in self.attributes.items() if k != ARG_NAMES]
        if entries:
            printer.print_string(" {" + ", ".join(entries) + "}")
        printer.print_string(" : (")
        printer.print_list([v.type for v in self.operands], printer.print_attribute)
        printer.print_string(") -> ")
        outs = [r.type for r in self.results]
        if len(outs) == 1:
            printer.print_attribute(outs[0])
        else:
            printer.print_string("(")
            printer.print_list(outs, printer.print_attribute)
            printer.print_string(")")

    @classmethod
    def parse(cls, parser: Parser) -> FrameworkOp:
        pos = parser.pos

        def named_operand() -> tuple[str, Any]:
            name = parser.parse_identifier()
            parser.parse_punctuation("=")
            return name, parser.parse_unresolved_operand()

        pairs = parser.parse_comma_separated_list(parser.Delimiter.PAREN, named_operand)
        attrs = {k: _normalise(v) for k, v in parser.parse_optional_attr_dict().items()}
        parser.parse_punctuation(":")
        ins, outs = parse_signature(parser, len(pairs))
        if len(ins) != len(pairs):
            parser.raise_error(f"expected {len(pairs)} operand types, got {len(ins)}", pos)
        values = [parser.resolve_operand(u, t) for (_, u), t in zip(pairs, ins, strict=True)]
        attrs[ARG_NAMES] = ArrayAttr([StringAttr(n) for n, _ in pairs])
        return cls.build(operands=[values], result_types=[outs], attributes=attrs)


@cache
def op_class(name: str) -> type[FrameworkOp]:
    """The op class for one framework operator name, made once."""
    cls_name = "".join(p.capitalize() for p in name.replace(".", "_").split("_") if p) + "Op"
    return irdl_op_definition(type(cls_name, (FrameworkOp,), {"name": name}))


# --- Python values <-> attributes ----------------------------------------------------------


def to_attr(value: Any) -> Attribute:
    if isinstance(value, Attribute):
        return value
    if isinstance(value, bool):
        return IntegerAttr(int(value), i1)
    if isinstance(value, int):
        return IntegerAttr(value, i64)
    if isinstance(value, float):
        return FloatAttr(value, f64)
    if isinstance(value, str):
        return StringAttr(value)
    if isinstance(value, Sequence):
        vals = list(value)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
            return DenseArrayBase.from_list(i64, vals)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
            return DenseArrayBase.from_list(f64, [float(v) for v in vals])
        return ArrayAttr([to_attr(v) for v in vals])
    raise TypeError(f"cannot record argument value {value!r} as an attribute")


def to_python(attr: Attribute) -> Any:
    """An argument as a Python value; lists stay lists (the frameworks' own spelling)."""
    if isinstance(attr, ArrayAttr):
        return [to_python(a) for a in attr.data]
    value = prop_to_python(attr)
    return list(value) if isinstance(attr, DenseArrayBase) else value


def _normalise(attr: Attribute) -> Attribute:
    """`[1, 2]` parses as an ArrayAttr of i64; it was printed from a DenseArrayBase."""
    if isinstance(attr, ArrayAttr) and attr.data and all(
        isinstance(a, IntegerAttr) and a.type == i64 for a in attr.data
    ):
        return DenseArrayBase.from_list(i64, [a.value.data for a in attr.data])
    return attr
