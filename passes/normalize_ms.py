"""``normalize-ms``: the ``ms`` import dialect -> CIR, driven by ``tables/ms.toml``.

The table maps each MindSpore primitive on its own; then ``recompose`` finds the whole
operators MindSpore exported in pieces (an exact GELU written with ``erf``, attention written
with ``BatchMatMul`` and ``Softmax``, ``nn.Dense`` as ``MatMul`` + ``BiasAdd``) and
``cancel-transposes`` tidies layout changes, so that a MindSpore model gives the graph the same
PyTorch model gives. Example::

    circ-opt model.ms.mlir -p normalize-ms
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cir.passes.normalize_tf  # noqa: F401  (registers the slicing / padding table helpers)
from cir.passes.normalize import TABLES, MappingTable, normalize
from cir.passes.recompose import canonical_form
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass


@cache
def ms_table() -> MappingTable:
    return MappingTable.load(TABLES / "ms.toml", framework="mindspore", dialect="ms")


def normalize_ms(module: ModuleOp, table: MappingTable | None = None,
                 pass_name: str = "normalize-ms") -> None:
    """Map every ``ms.*`` op, then recompose whole ops and cancel layout changes."""
    normalize(module, table or ms_table(), pass_name)
    canonical_form(module)


@dataclass(frozen=True)
class NormalizeMsPass(ModulePass):
    """Map every ``ms.*`` op to CIR with the MindSpore mapping table (see the module docstring).

    Stops with the list of unmapped operators (count and first location) rather than dropping
    anything. Example: ``circ-opt model.ms.mlir -p normalize-ms``.
    """

    name = "normalize-ms"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        normalize_ms(op)
