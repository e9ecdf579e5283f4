"""``plan-memory``: give every intermediate tensor an offset in one arena.

Tensors are the results of CIR ops (not weights, constants or function arguments, which live
elsewhere). Each gets its physical size (its data format's padded shape, see cir/formats.py)
rounded up to 32 bytes, and a lifetime from its definition to its last use.

- Views share memory: a reshape of an ND tensor is the same bytes, so it joins its operand's
  buffer (whose lifetime grows to cover both); a view of an argument or a weight is not in the
  arena at all (offset -1, like them).
- In place: an elementwise op whose operand dies at that op and has the result's size writes
  its result over the operand (``tables/inplace``: the ops in INPLACE_OPS).
- Buffers are placed greedily, largest first, each at the lowest 32-byte-aligned offset that
  does not overlap a buffer alive at the same time.

Results: each op gets ``cir.mem = array<i64: offset, ...>`` (-1 for results outside the arena)
and the module ``cir.arena_bytes``. ``report=true`` prints the naive sum of intermediates, the
liveness lower bound (the peak of live bytes) and the arena size. From Python,
``plan_memory(module)`` does the same and returns the ``Plan`` of each function by name.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, ModuleOp, TensorType, i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from cir import ops
from cir.formats import physical_bytes
from cir.types import dtype_of, format_of

ALIGN = 32
INPLACE_OPS = (
    "cir.neg", "cir.abs", "cir.exp", "cir.log", "cir.sqrt", "cir.rsqrt", "cir.reciprocal",
    "cir.erf", "cir.tanh", "cir.sigmoid", "cir.relu", "cir.clamp", "cir.silu", "cir.gelu",
    "cir.hardswish", "cir.sin", "cir.cos", "cir.floor", "cir.add", "cir.sub", "cir.mul",
    "cir.div", "cir.pow", "cir.maximum", "cir.minimum",
)  # fmt: skip
VIEW_OPS = ("cir.reshape",)
NOT_IN_ARENA = (ops.WeightOp, ops.ConstantOp)


def aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def tensor_bytes(v: SSAValue) -> int:
    t = v.type
    assert isinstance(t, TensorType)
    return aligned(physical_bytes(t.get_shape(), format_of(t), dtype_of(t).itemsize))


@dataclass
class Buffer:
    size: int
    start: int
    end: int
    values: list[SSAValue] = field(default_factory=list)
    offset: int = -1


@dataclass
class Plan:
    buffers: list[Buffer]
    arena_bytes: int
    naive_bytes: int
    lower_bound: int

    def offset_of(self, v: SSAValue) -> int:
        for b in self.buffers:
            if any(x is v for x in b.values):
                return b.offset
        return -1


def plan_function(f: func.FuncOp) -> Plan:
    body = list(f.body.block.ops)
    index = {id(op): i for i, op in enumerate(body)}
    buffer_of: dict[int, Buffer] = {}
    buffers: list[Buffer] = []
    naive = 0

    def last_use(v: SSAValue) -> int:
        return max((index[id(_top(u.operation, f))] for u in v.uses), default=index.get(id(v.owner), 0))

    for i, op in enumerate(body):
        if isinstance(op, NOT_IN_ARENA) or not op.results:
            continue
        for res in op.results:
            if not isinstance(res.type, TensorType):
                continue
            size = tensor_bytes(res)
            naive += size
            end = last_use(res)
            src = op.operands[0] if op.operands else None
            src_buf = buffer_of.get(id(src)) if src is not None else None
            if op.name in VIEW_OPS and format_of(res.type) == "ND" and src_buf is None:
                continue  # a view of an input or a weight: it lives where they do
            if src_buf is not None and op.name in VIEW_OPS and format_of(res.type) == "ND":
                src_buf.end = max(src_buf.end, end)  # same bytes, read through another shape
                src_buf.values.append(res)
                buffer_of[id(res)] = src_buf
                continue
            if op.name in INPLACE_OPS and len(op.results) == 1:
                for operand in op.operands:
                    b = buffer_of.get(id(operand))
                    if b is not None and b.end == i and b.size == size and \
                            operand.type == res.type:
                        b.end = max(b.end, end)
                        b.values.append(res)
                        buffer_of[id(res)] = b
                        break
                if id(res) in buffer_of:
                    continue
            b = Buffer(size, i, end, [res])
            buffers.append(b)
            buffer_of[id(res)] = b

    # the liveness lower bound: the most bytes alive at once
    events = [0] * (len(body) + 1)
    for b in buffers:
        events[b.start] += b.size
        events[b.end + 1] -= b.size
    live = peak = 0
    for delta in events:
        live += delta
        peak = max(peak, live)

    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-b.size, b.start)):
        overlapping = sorted(
            (p for p in placed if p.start <= b.end and b.start <= p.end), key=lambda p: p.offset
        )
        offset = 0
        for p in overlapping:
            if offset + b.size <= p.offset:
                break
            offset = max(offset, aligned(p.offset + p.size))
        b.offset = offset
        placed.append(b)
    arena = max((b.offset + b.size for b in buffers), default=0)
    return Plan(buffers, arena, naive, peak)


def _top(op: Operation, f: func.FuncOp) -> Operation:
    while op.parent is not f.body.block and (parent := op.parent_op()) is not None:
        op = parent
    return op


def plan_memory(module: ModuleOp) -> dict[str, Plan]:
    """Plan every function of `module`, annotate its ops (``cir.mem``) and the module
    (``cir.arena_bytes``); the plans by function name."""
    plans: dict[str, Plan] = {}
    for f in module.ops:
        if not isinstance(f, func.FuncOp) or not f.body.blocks:
            continue
        plan = plan_function(f)
        plans[f.sym_name.data] = plan
        for o in f.body.block.ops:
            if o.results and not isinstance(o, NOT_IN_ARENA):
                o.attributes["cir.mem"] = DenseArrayBase.from_list(
                    i64, [plan.offset_of(r) for r in o.results]
                )
    total = max((plan.arena_bytes for plan in plans.values()), default=0)
    module.attributes["cir.arena_bytes"] = IntegerAttr(total, i64)
    return plans


@dataclass(frozen=True)
class PlanMemoryPass(ModulePass):
    """Assign arena offsets to intermediates (``cir.mem`` per op, ``cir.arena_bytes``)."""

    name = "plan-memory"

    report: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        plans = plan_memory(op)
        if self.report:
            for name, plan in plans.items():
                print(f"plan-memory @{name}: naive {plan.naive_bytes} B, "
                      f"lower bound {plan.lower_bound} B, arena {plan.arena_bytes} B "
                      f"({plan.arena_bytes / max(plan.lower_bound, 1):.3f}x the bound, "
                      f"{plan.arena_bytes / max(plan.naive_bytes, 1):.3f}x naive)", file=sys.stderr)
