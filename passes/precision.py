"""``convert-precision{to=f16}``: compute the model in fp16 behind an unchanged interface.

Every f32 tensor inside ``@main`` becomes f16: op results, weights (the store keeps its arrays;
they are converted where they are read and when a package is written) and constants. The
function keeps its f32 arguments and results: a ``cir.cast`` to f16 follows each f32 argument
and a ``cir.cast`` back to f32 precedes each f32 result, so callers feed and receive what the
framework does. Kernels that reduce (norms, softmax, matmul) accumulate in fp32 as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    Float32Type,
    ModuleOp,
    TensorType,
    f16,
)
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from cir import ops
from cir.errors import CircError
from cir.interpreter import constant_array, entry_function

TARGETS = {"f16": f16}


def _narrow(t: TensorType, to) -> TensorType:  # type: ignore[no-untyped-def]
    return TensorType(to, t.get_shape(), t.encoding)


def is_f32(v: SSAValue) -> bool:
    return isinstance(v.type, TensorType) and isinstance(v.type.element_type, Float32Type)


@dataclass(frozen=True)
class ConvertPrecisionPass(ModulePass):
    name = "convert-precision"

    to: str = "f16"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.to not in TARGETS:
            raise CircError(f"convert-precision: 'to' must be one of {', '.join(TARGETS)}, got '{self.to}'")
        to = TARGETS[self.to]
        f = entry_function(op)
        block = f.body.block
        is_f32 = lambda v: isinstance(v.type, TensorType) and isinstance(v.type.element_type, Float32Type)
        for inner in list(block.ops):
            if isinstance(inner, ops.ConstantOp) and is_f32(inner.result):
                arr = constant_array(inner).astype(np.float16)
                t = _narrow(inner.result.type, to)  # type: ignore[arg-type]
                new = ops.ConstantOp(DenseIntOrFPElementsAttr(t, BytesAttr(arr.tobytes())))
                Rewriter.replace_op(inner, new)
                continue
            if isinstance(inner, func.ReturnOp):
                continue
            for r in list(inner.results):
                if is_f32(r):
                    Rewriter.replace_value_with_new_type(r, _narrow(r.type, to))  # type: ignore[arg-type]
        for arg in list(block.args):  # the interface stays f32: cast on the way in
            if is_f32(arg) and arg.uses.get_length():
                cast = ops.CastOp(arg, to)
                cast.result.name_hint = f"{arg.name_hint}_{self.to}" if arg.name_hint else None
                Rewriter.insert_op(cast, InsertPoint.at_start(block))
                arg.replace_uses_with_if(cast.result, lambda use, cast=cast: use.operation is not cast)
        ret = block.last_op
        assert isinstance(ret, func.ReturnOp)
        wanted = f.function_type.outputs.data
        for i, (v, t) in enumerate(zip(ret.operands, wanted)):
            if isinstance(t, TensorType) and v.type != t:
                cast = ops.CastOp(v, t.element_type)
                cast.result.name_hint = f"{v.name_hint}_f32" if v.name_hint else None
                Rewriter.insert_op(cast, InsertPoint.before(ret))
                ret.operands[i] = cast.result
