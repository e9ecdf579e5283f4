"""``select-outputs{nodes="NODE:INDEX;..."}``: the graph's outputs become named nodes' outputs
(ATC's ``--out_nodes``), and what no output needs any more is removed.

A node is found by the names its ops' locations carry (the ONNX / TensorFlow node name, the
PyTorch module path, the MindSpore scope): the last op in program order that carries the name
computes the node's value, as in ``circ report``; INDEX picks among its results. Run it
before passes that fuse ops (their locations merge). Output ``i`` is named ``NODE:INDEX``.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FunctionType,
    FusedLoc,
    ModuleOp,
    NameLoc,
    StringAttr,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass

from cir.errors import CircError
from cir.signature import entry_function


def parse_nodes(text: str) -> list[tuple[str, int]]:
    """``"conv1:0;fc:1"`` -> [("conv1", 0), ("fc", 1)]; a node without ``:INDEX`` is output 0."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, index = part.rpartition(":")
        if not sep:
            name, index = part, "0"
        if not name or not index.isdigit():
            raise CircError(f"select-outputs: expected NODE:INDEX, got '{part}'")
        out.append((name, int(index)))
    if not out:
        raise CircError("select-outputs: no nodes given (nodes=\"NODE:INDEX;...\")")
    return out


def location_names(loc: Attribute | None) -> set[str]:
    """Every name a location carries (nested NameLocs, the parts of a FusedLoc)."""
    names: set[str] = set()
    while loc is not None:
        if isinstance(loc, FusedLoc):
            parts = loc.locations
            for part in parts.data if isinstance(parts, ArrayAttr) else ():
                names |= location_names(part)
            return names
        if not isinstance(loc, NameLoc):
            return names
        names.add(loc.desc.data)
        loc = loc.location
    return names


@dataclass(frozen=True)
class SelectOutputsPass(ModulePass):
    name = "select-outputs"

    nodes: str = ""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        wanted = parse_nodes(self.nodes)
        f = entry_function(op)
        block = f.body.block
        last: dict[str, Operation] = {}
        for inner in block.ops:
            for n in location_names(inner.location):
                last[n] = inner
        values: list[SSAValue] = []
        for name, index in wanted:
            producer = last.get(name)
            if producer is None:
                raise CircError(f"select-outputs: no op carries the node name '{name}' "
                                "(names come from the model's node names or module paths)")
            if index >= len(producer.results):
                raise CircError(f"select-outputs: node '{name}' has {len(producer.results)} "
                                f"output(s); index {index} does not exist")
            values.append(producer.results[index])
        ret = block.last_op
        assert isinstance(ret, func.ReturnOp)
        ret.operands = values
        f.function_type = FunctionType.from_lists([a.type for a in block.args], [v.type for v in values])
        f.res_attrs = ArrayAttr([DictionaryAttr({"cir.name": StringAttr(f"{n}:{i}")}) for n, i in wanted])
        for inner in reversed(list(block.ops)):  # what no output needs any more
            if inner is not ret and all(not r.uses for r in inner.results):
                inner.detach()
                inner.erase()
