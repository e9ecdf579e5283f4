"""``layout{soc=...}``: choose Ascend data formats.

- Chains of conv / norm / elementwise ops (``tables/layout.toml``) keep their 4-D activations
  in NC1HWC0; ``cir.trans_data`` is inserted only where a value crosses between a 5HD op and an
  ND one, and inverse pairs cancel.
- GroupNorm goes 5HD only when every group is a whole number of C0 channel blocks (group
  boundaries aligned with C0); otherwise it stays ND.
- Constant weights of convolutions are pre-packed to FRACTAL_Z and of linear layers to
  FRACTAL_NZ at compile time (new weights ``<name>@<FORMAT>``); the cube kernels read them as is.
- Elementwise ops go 5HD only when all their non-scalar operands are 4-D (5HD broadcasting of
  lower-rank operands would not follow NCHW broadcasting).

Shapes stay logical (see cir/formats.py), so every verifier and the interpreter see the same
values; the reference interpreter packs and unpacks every trans_data and packed weight.
Example: ``circ-opt m.mlir -p 'layout{soc=Ascend310P3}'``; from Python,
``layout(module, soc)`` returns what it did (``LayoutCounts``).
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cir.passes.canonicalize import value_of
from cir.passes.rewrite_utils import tensor_type
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, NoneAttr, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from cir import ops
from cir.errors import CircError
from cir.formats import c0_for, pack
from cir.opbase import CirOp
from cir.soc import soc as lookup_soc
from cir.types import FormatAttr, dtype_of, format_of
from cir.weights import WeightStore, attach, weights_of

TABLE = Path(__file__).parent / "tables" / "layout.toml"
FIVE_HD = "NC1HWC0"


@cache
def layout_table() -> dict[str, Any]:
    return tomllib.loads(TABLE.read_text())


def _with_format(t: TensorType, fmt: str) -> TensorType:
    return TensorType(t.element_type, t.get_shape(), FormatAttr(fmt) if fmt != "ND" else NoneAttr())


def _is_4d(v: SSAValue) -> bool:
    return isinstance(v.type, TensorType) and len(v.type.get_shape()) == 4


def _scalar_like(v: SSAValue) -> bool:
    return isinstance(v.type, TensorType) and all(d == 1 for d in v.type.get_shape())


def _activation_indices(op: Operation, spec: dict[str, Any]) -> list[int] | None:
    acts = spec["activations"]
    # (listed indices past the operand list are optional operands the op does not have)
    idx = ([i for i, v in enumerate(op.operands) if _is_4d(v)] if acts == "all"
           else [i for i in acts if i < len(op.operands)])
    if acts == "all":
        others = [v for i, v in enumerate(op.operands) if i not in idx]
        if any(not _scalar_like(v) for v in others):
            return None  # a lower-rank broadcast operand: keep the op in ND
    if not idx or any(not _is_4d(op.operands[i]) for i in idx):
        return None
    return idx


def _groups_aligned(op: Operation) -> bool:
    x = tensor_type(op.operands[0])
    c = x.get_shape()[1]
    assert isinstance(op, CirOp)
    g = op.p["num_groups"]
    return (c // g) % c0_for(dtype_of(x).itemsize) == 0


def _retype(op: Operation, result_types: list[Attribute]) -> Operation:
    new = type(op).create(
        operands=list(op.operands), result_types=result_types,
        properties=dict(op.properties), attributes=dict(op.attributes),
    )
    new.location = op.location
    for old, res in zip(op.results, new.results):
        res.name_hint = old.name_hint
    return new


def choose_5hd(module: ModuleOp) -> list[tuple[Operation, list[int]]]:
    table = layout_table()
    chosen = []
    for op in module.walk():
        spec = table["nc1hwc0"].get(op.name)
        if spec is None:
            continue
        if op.name in table["group_norm_ops"] and not _groups_aligned(op):
            continue
        idx = _activation_indices(op, spec)
        if idx is not None:
            chosen.append((op, idx))
    return chosen


def place_trans_data(module: ModuleOp) -> int:
    """Make chosen ops 5HD with trans_data at every edge; returns how many were inserted."""
    rewriter = Rewriter()
    inserted = 0
    for op, idx in choose_5hd(module):
        for i in idx:
            v = op.operands[i]
            td = ops.TransDataOp(v, FIVE_HD)
            td.location = op.location
            rewriter.insert_op(td, InsertPoint.before(op))
            op.operands[i] = td.result
            inserted += 1
        new_types = [_with_format(tensor_type(r), FIVE_HD) if _is_4d(r) else r.type
                     for r in op.results]
        new = _retype(op, new_types)
        rewriter.insert_op(new, InsertPoint.before(op))
        for old, res in zip(op.results, new.results):
            if _is_4d(old):
                back = ops.TransDataOp(res, "ND")
                back.location = op.location
                rewriter.insert_op(back, InsertPoint.after(new))
                old.replace_all_uses_with(back.result)
                inserted += 1
            else:
                old.replace_all_uses_with(res)
        rewriter.erase_op(op)
    return inserted


def cancel_pairs(module: ModuleOp) -> None:
    """trans_data(trans_data(x, F->ND), ND->F) -> x; one trans_data per (value, format);
    then drop dead trans_data."""
    first: dict[tuple[int, str], ops.TransDataOp] = {}
    for op in list(module.walk()):
        if isinstance(op, ops.TransDataOp):
            inner = op.x.owner
            if isinstance(inner, ops.TransDataOp) and inner.x.type == op.result.type:
                op.result.replace_all_uses_with(inner.x)
                continue
            key = (id(op.x), op.p["dst_format"])
            if key in first:
                op.result.replace_all_uses_with(first[key].result)
            else:
                first[key] = op
    for op in reversed(list(module.walk())):
        if isinstance(op, ops.TransDataOp) and not op.result.uses.get_length():
            Rewriter.erase_op(op)


def pack_weights(module: ModuleOp, store: WeightStore) -> int:
    table = layout_table()["packed_weights"]
    packed = 0
    rewriter = Rewriter()
    for op in list(module.walk()):
        spec = table.get(op.name)
        if spec is None or spec["operand"] >= len(op.operands):
            continue
        w = op.operands[spec["operand"]]
        owner = w.owner
        if not isinstance(owner, ops.WeightOp) or format_of(tensor_type(w)) != "ND":
            continue
        value = value_of(w, store)
        if value is None:
            continue
        fmt = spec["format"]
        name = f"{owner.sym_name.data}@{fmt}"
        if name not in store:
            store[name] = pack(value, fmt)
        new = ops.WeightOp(name, _with_format(tensor_type(w), fmt))
        new.location = owner.location
        rewriter.insert_op(new, InsertPoint.before(op))
        op.operands[spec["operand"]] = new.result
        if not owner.result.uses.get_length():
            rewriter.erase_op(owner)
        packed += 1
    return packed


def count_trans_data(module: ModuleOp) -> int:
    return sum(1 for op in module.walk() if isinstance(op, ops.TransDataOp))


@dataclass(frozen=True)
class LayoutCounts:
    """What `layout` did to a module."""

    inserted: int  # trans_data inserted where a value crosses between 5HD and ND
    remaining: int  # trans_data left after cancelling inverse pairs
    packed_weights: int  # weights pre-packed to FRACTAL_Z / FRACTAL_NZ


def layout(module: ModuleOp, soc: str = "Ascend910B1") -> LayoutCounts:
    """Choose NC1HWC0 / FRACTAL formats for `soc` in `module`, in place."""
    lookup_soc(soc)  # an unknown SoC is an error, not a silent default
    try:
        store = weights_of(module)
        attach(module, store)
    except CircError:
        store = WeightStore()
    inserted = place_trans_data(module)
    cancel_pairs(module)
    remaining = count_trans_data(module)
    packed = pack_weights(module, store)
    return LayoutCounts(inserted, remaining, packed)


@dataclass(frozen=True)
class LayoutPass(ModulePass):
    """Choose NC1HWC0 / FRACTAL_Z / FRACTAL_NZ formats for `soc`; ``report=true`` prints
    the trans_data count before and after cancellation."""

    name = "layout"

    soc: str = "Ascend910B1"
    report: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        counts = layout(op, self.soc)
        if self.report:
            print(f"layout: {counts.inserted} trans_data inserted, {counts.remaining} left after "
                  f"cancelling inverse pairs; {counts.packed_weights} weights pre-packed",
                  file=sys.stderr)
