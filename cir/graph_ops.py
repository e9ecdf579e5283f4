"""What each CIR op becomes in the graphs for ACL/GE: the table ``graph_ops.toml`` (its format
is documented at its top). lowering/graph.py renders the ONNX, GE and launch graphs from it;
convert-precision reads the GE op types of each CIR op from it (ATC's mixed-precision lists
name GE op types)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).parent / "graph_ops.toml"


@cache
def table() -> dict[str, Any]:
    return tomllib.loads(TABLE.read_text())


@cache
def ge_types(op_name: str) -> frozenset[str]:
    """The GE op types a CIR op becomes (its [ge] entry, macros expanded)."""
    g = table()

    def expand(nodes: Iterable[list[Any]], seen: frozenset[str]) -> Iterable[str]:
        for node in nodes:
            kind = node[0]
            if kind.startswith("@") and kind[1:] not in seen:
                yield from expand(g.get("macro", {}).get(kind[1:], []), seen | {kind[1:]})
            elif not kind.startswith("@"):
                yield kind.split("::")[-1]

    return frozenset(expand(g.get("ge", {}).get(op_name, []), frozenset()))
