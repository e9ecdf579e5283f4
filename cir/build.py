"""Building CIR modules from Python.

    def body(b: FunctionBuilder, x):
        y = b.add(ops.ReluOp(x))
        return [y]

    module = build_module("main", {"x": tensor([1, 4], "f32")}, body, output_names=["y"])

Op builders compute their own result types; ``FunctionBuilder.add`` inserts an op and
returns its single result (or the op, when it has several).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from cir.io import verify


class FunctionBuilder:
    """Appends ops to a function body in order."""

    def __init__(self, block: Block):
        self.block = block
        self.location: Attribute | None = None  # stamped on ops added from now on

    def add(self, op: Operation) -> Any:
        if self.location is not None:
            op.location = self.location  # type: ignore[assignment]
        self.block.add_op(op)
        return op.results[0] if len(op.results) == 1 else op


def name_attrs(names: Sequence[str]) -> ArrayAttr[DictionaryAttr]:
    return ArrayAttr([DictionaryAttr({"cir.name": StringAttr(n)}) for n in names])


def build_function(
    name: str,
    inputs: Mapping[str, TensorType],
    body: Callable[..., Sequence[SSAValue]],
    output_names: Sequence[str] | None = None,
) -> func.FuncOp:
    block = Block(arg_types=list(inputs.values()))
    for arg, arg_name in zip(block.args, inputs, strict=True):
        arg.name_hint = arg_name
    b = FunctionBuilder(block)
    results = list(body(b, *block.args))
    block.add_op(func.ReturnOp(*results))
    fn = func.FuncOp(
        name,
        ([v.type for v in block.args], [r.type for r in results]),
        Region(block),
        res_attrs=name_attrs(output_names) if output_names else None,
    )
    return fn


def build_module(
    name: str,
    inputs: Mapping[str, TensorType],
    body: Callable[..., Sequence[SSAValue]],
    output_names: Sequence[str] | None = None,
) -> ModuleOp:
    """A module holding one function built by `body(builder, *args)`; verified."""
    module = ModuleOp([build_function(name, inputs, body, output_names)])
    verify(module)
    return module
