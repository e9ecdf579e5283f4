"""Small helpers shared by circ's CIR-to-CIR rewrite patterns: looking through producers,
reading constants, rebuilding an op with new operands, and folding layout changes of constant
data (``cir.constant``, and ``cir.weight`` when the weights are in memory)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import numpy as np
from xdsl.dialects.builtin import AnyDenseElement, BytesAttr, DenseIntOrFPElementsAttr, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter

from cir import ops
from cir.interpreter import constant_array
from cir.opbase import to_python
from cir.types import dtype_of
from cir.weights import WeightStore

OpT = TypeVar("OpT", bound=Operation)


def tensor_type(v: SSAValue) -> TensorType:
    """The type of a CIR value: always a tensor (the verifier checks it)."""
    t = v.type
    assert isinstance(t, TensorType)
    return t


def shape(v: SSAValue) -> tuple[int, ...]:
    t = v.type
    return t.get_shape() if isinstance(t, TensorType) else ()


def defining(v: SSAValue | None, cls: type[OpT]) -> OpT | None:
    """The op producing `v`, if it is a `cls`."""
    if v is None:
        return None
    owner = v.owner
    return owner if isinstance(owner, cls) else None


def props(op: Operation) -> dict[str, Any]:
    """The op's explicitly set properties as Python values (what its builder takes)."""
    return {k: (list(v) if isinstance(v := to_python(a), tuple) else v)
            for k, a in op.properties.items() if k != "operandSegmentSizes"}


def rebuild(op: Operation, operands: Sequence[SSAValue | None], **changes: Any) -> Operation:
    """A new op of the same kind, with other operands and optionally other properties."""
    if isinstance(op, ops.CastOp):
        x = operands[0]
        assert x is not None  # a cast has its operand
        return ops.CastOp(x, op.result.type)
    builder: Callable[..., Operation] = type(op)  # CIR ops are built like functions
    return builder(*operands, **(props(op) | changes))


def insert(rewriter: PatternRewriter, anchor: Operation, new: Operation) -> SSAValue:
    """Insert `new` before the matched op, with the anchor's location; its first result."""
    new.location = anchor.location
    rewriter.insert(new)
    return new.results[0]


def constant_value(v: SSAValue) -> np.ndarray | None:
    """The value of a ``cir.constant`` (through reshapes / broadcasts), else None."""
    op = v.owner
    while isinstance(op, ops.ReshapeOp | ops.BroadcastToOp):
        op = op.x.owner
    if isinstance(op, ops.ConstantOp):
        return constant_array(op)
    return None


def scalar_value(v: SSAValue) -> float | None:
    """A constant whose elements are all equal, as a float."""
    arr = constant_value(v)
    if arr is None or arr.size == 0:
        return None
    flat = arr.reshape(-1)
    if not np.all(flat == flat[0]):
        return None
    if flat.dtype in (np.float32, np.float16):
        return float(str(flat[0]))  # the shortest decimal: 1e-06, not 9.999999974752427e-07
    return float(flat[0])


def is_data(v: SSAValue) -> bool:
    """Fixed data (a weight or constant, maybe reshaped or transposed): free to re-lay out."""
    op = v.owner
    while isinstance(op, ops.ReshapeOp | ops.TransposeOp | ops.CastOp):
        op = op.x.owner
    return isinstance(op, ops.ConstantOp | ops.WeightOp)


def inverse(perm: Sequence[int]) -> list[int]:
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


def dense_array(value: DenseIntOrFPElementsAttr) -> np.ndarray:
    """A ``dense`` value as an array of its type's shape and element type (read-only: it
    shares the attribute's bytes); ``constant_array`` of a ``cir.constant`` reads its value
    this way."""
    return np.frombuffer(value.data.data, dtype=dtype_of(value.type).np).reshape(value.get_shape())


def dense_attr(arr: np.ndarray, t: TensorType) -> DenseIntOrFPElementsAttr:
    """`arr` (already of `t`'s element type and shape) as a ``dense`` value of type `t`; its
    bytes in C order."""
    # CIR element types (cir.types.DTYPES) are all integer or float types: dense elements
    typed = cast(TensorType[AnyDenseElement], t)
    return DenseIntOrFPElementsAttr(typed, BytesAttr(np.require(arr, requirements="C").tobytes()))


def dense(arr: np.ndarray, like: TensorType) -> ops.ConstantOp:
    t = TensorType(like.element_type, list(arr.shape))
    return ops.ConstantOp(dense_attr(arr.astype(dtype_of(like).np, copy=False), t))


def fold_layout(op: ops.TransposeOp | ops.ReshapeOp, store: WeightStore | None,
                rewriter: PatternRewriter) -> bool:
    """Fold a transpose / reshape of constant data into the data itself."""
    src = op.x.owner
    out_t = op.result.type
    assert isinstance(out_t, TensorType)

    def apply(arr: np.ndarray) -> np.ndarray:
        if isinstance(op, ops.TransposeOp):
            return np.transpose(arr, op.p["perm"])
        return arr.reshape(out_t.get_shape())

    if isinstance(src, ops.ConstantOp):
        rewriter.replace(op, dense(apply(constant_array(src)), out_t))
        return True
    if isinstance(src, ops.WeightOp) and store is not None and src.sym_name.data in store:
        name = src.sym_name.data
        value = np.ascontiguousarray(apply(store[name]))
        if src.result.uses.get_length() == 1:
            new_name = name  # the only use: the weight itself takes the new layout
        else:
            new_name = f"{name}@{'x'.join(map(str, value.shape))}"
            n = 1
            while new_name in store and not np.array_equal(store[new_name], value):
                new_name, n = f"{name}@{'x'.join(map(str, value.shape))}.{n}", n + 1
        store[new_name] = value
        new = ops.WeightOp(new_name, out_t)
        new.location = src.location
        rewriter.replace(op, new)
        if not src.result.uses.get_length():
            rewriter.erase(src)
        return True
    return False
