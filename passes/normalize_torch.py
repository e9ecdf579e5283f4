"""``normalize-torch``: the ``torch`` import dialect -> CIR, driven by ``tables/torch.toml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from cir.passes.normalize import TABLES, MappingTable, normalize


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
