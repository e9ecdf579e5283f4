"""``normalize-torch``: the ``torch`` import dialect -> CIR, driven by ``tables/torch.toml``.

Most ATen operators map through the table alone. Advanced indexing (``aten.index.Tensor``,
``aten.index_put``) needs a number of ops that depends on how many index tensors there are and
where they sit, so the table names an expansion written here (see ``EXPANSIONS``):

    x[i]          -> cir.gather {axis = 0}
    x[:, i, j]    -> cir.gather_nd over stack(i, j), with transposes to and from the front
    x[i, j] += v  -> cir.scatter_nd {reduction = "add"}
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cir.passes.normalize import (
    EXPANSIONS,
    TABLES,
    Emitter,
    MappingTable,
    normalize,
    scalar_constant,
)
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import VerifyException

from cir import ops
from cir.shapes import broadcast
from cir.types import dtype_of, is_bool


def _shape(v: SSAValue) -> tuple[int, ...]:
    assert isinstance(v.type, TensorType)
    return v.type.get_shape()


class _Indexing:
    """``x[indices]`` as PyTorch reads it: the index tensors, the dims they index (their slots
    in the index list; ``None`` entries are whole dims), their broadcast shape, and where the
    indexed block lands in the result (in place when the slots are adjacent, else in front)."""

    def __init__(self, em: Emitter):
        op = em.op
        self.em = em
        self.x = op.operands_named("self")[0]
        self.indices = op.operands_named("indices")
        self.rank = len(_shape(self.x))
        slots = op.arg("indices_slots")
        self.slots = list(slots) if slots is not None else list(range(len(self.indices)))
        if not self.indices:
            raise em.fail("indexing without index tensors")
        if any(is_bool(i.type) for i in self.indices):
            raise em.fail("a boolean mask index gives a data-dependent shape; circ needs a mask "
                          "fixed at import (a buffer or constant)")
        if max(self.slots) >= self.rank:
            raise em.fail(f"{len(self.slots)} indices for a rank-{self.rank} tensor")
        try:
            self.batch = broadcast(*[_shape(i) for i in self.indices])
        except VerifyException as e:
            raise em.fail(str(e)) from None
        self.rest = [d for d in range(self.rank) if d not in self.slots]
        adjacent = self.slots == list(range(self.slots[0], self.slots[0] + len(self.slots)))
        # result dims of the gather over x transposed to (slots..., rest...): batch, rest
        # torch puts the batch block at the first slot when the slots are adjacent
        self.lead = self.slots[0] if adjacent else 0

    def front(self, v: SSAValue) -> SSAValue:
        """x with the indexed dims moved to the front, in slot order."""
        perm = self.slots + self.rest
        if perm == list(range(self.rank)):
            return v
        return self.em.build(ops.TransposeOp, v, perm=perm)

    def stacked(self) -> SSAValue:
        """The index tensors, i64, broadcast and stacked on a last axis: (batch..., k)."""
        parts = []
        for i in self.indices:
            i = self.em.cast(i, "i64")
            if _shape(i) != self.batch:
                i = self.em.build(ops.BroadcastToOp, i, shape=list(self.batch))
            parts.append(self.em.build(ops.ReshapeOp, i, shape=[*self.batch, 1]))
        if len(parts) == 1:
            return parts[0]
        return self.em.build(ops.ConcatOp, parts, axis=len(self.batch))

    def block_perm(self) -> list[int]:
        """(batch, rest) -> torch's order (rest[:lead], batch, rest[lead:])."""
        nb = len(self.batch)
        return [*range(nb, nb + self.lead), *range(nb), *range(nb + self.lead, nb + len(self.rest))]


def index_tensor(em: Emitter) -> list[SSAValue]:
    """``aten.index.Tensor``: x[i] -> gather; several index tensors -> gather_nd."""
    ix = _Indexing(em)
    if len(ix.indices) == 1:
        idx = ix.indices[0]
        idx = idx if _dtype(idx) in ("i64", "i32") else em.cast(idx, "i64")
        return [em.build(ops.GatherOp, ix.x, idx, axis=ix.slots[0])]
    g = em.build(ops.GatherNdOp, ix.front(ix.x), ix.stacked())
    perm = ix.block_perm()
    if perm != list(range(len(perm))):
        g = em.build(ops.TransposeOp, g, perm=perm)
    return [g]


def _masked_put(em: Emitter) -> list[SSAValue] | None:
    """``x[mask] = v`` with v the same for every selected position (it broadcasts over the
    dims after the mask): ``where(mask, v, x)``, no data-dependent shape. None otherwise."""
    op = em.op
    indices = op.operands_named("indices")
    if len(indices) != 1 or not is_bool(indices[0].type):
        return None
    x, mask, values = op.operands_named("self")[0], indices[0], op.operands_named("values")[0]
    slots = op.arg("indices_slots")
    first = slots[0] if slots else 0
    xs, ms, vs = _shape(x), _shape(mask), _shape(values)
    trailing = len(xs) - first - len(ms)
    if trailing < 0 or xs[first : first + len(ms)] != ms or len(vs) > trailing:
        return None
    mask = em.build(ops.ReshapeOp, mask, shape=[1] * first + list(ms) + [1] * trailing)
    values = em.cast(values, _dtype(x))
    if not op.arg("accumulate"):
        return [em.build(ops.WhereOp, mask, values, x)]
    zero = em.insert(scalar_constant(0, _dtype(x))).results[0]
    return [em.build(ops.AddOp, x, em.build(ops.WhereOp, mask, values, zero))]


def index_put(em: Emitter) -> list[SSAValue]:
    """``aten.index_put``: x[indices] = values (accumulate: +=) -> scatter_nd on x with the
    indexed dims in front; a boolean mask with one value for every position -> where."""
    masked = _masked_put(em)
    if masked is not None:
        return masked
    ix = _Indexing(em)
    values = em.op.operands_named("values")[0]
    values = em.cast(values, _dtype(ix.x))
    # values broadcast to what x[indices] is; scatter_nd wants them as (batch, rest)
    xs = _shape(ix.x)
    rest_shape = [xs[d] for d in ix.rest]
    torch_shape = [*rest_shape[: ix.lead], *ix.batch, *rest_shape[ix.lead :]]
    if _shape(values) != tuple(torch_shape):
        values = em.build(ops.BroadcastToOp, values, shape=torch_shape)
    perm = ix.block_perm()
    inverse = [perm.index(i) for i in range(len(perm))]
    if inverse != list(range(len(inverse))):
        values = em.build(ops.TransposeOp, values, perm=inverse)
    reduction = "add" if em.op.arg("accumulate") else "none"
    out = em.build(ops.ScatterNdOp, ix.front(ix.x), ix.stacked(), values, reduction=reduction)
    order = ix.slots + ix.rest
    back = [order.index(i) for i in range(ix.rank)]
    if back != list(range(ix.rank)):
        out = em.build(ops.TransposeOp, out, perm=back)
    return [out]


def _dtype(v: SSAValue) -> str:
    return dtype_of(v.type).name


EXPANSIONS.update({"index_tensor": index_tensor, "index_put": index_put})


@cache
def torch_table() -> MappingTable:
    return MappingTable.load(TABLES / "torch.toml", framework="pytorch", dialect="torch")


@dataclass(frozen=True)
class NormalizeTorchPass(ModulePass):
    """Map every ``torch.aten.*`` op to CIR with the ATen mapping table.

    Stops with the list of unmapped operators (count and first location) rather than dropping
    anything. Example: ``circ-opt unet.torch.mlir -p normalize-torch``.
    """

    name = "normalize-torch"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        normalize(op, torch_table(), self.name)
