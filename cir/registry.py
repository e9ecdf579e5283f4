"""Registries: dialect and pass names -> lazy factories, so drivers start fast and a new pass
is one line of ``registry.toml``. ``circ-opt`` and ``cir.apply_pipeline`` use the same tables.

The registry names the modules that define dialects and passes (``"module:name"``) and imports
one only when its name is used: the core refers to the layers above it by name, never by import.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from xdsl.context import Context
from xdsl.ir import Dialect, Operation
from xdsl.passes import ModulePass
from xdsl.universe import Universe

from cir.frameworks import by_dialect, frameworks

TABLE = Path(__file__).parent / "registry.toml"


@cache
def _table() -> dict[str, Any]:
    with open(TABLE, "rb") as f:
        return tomllib.load(f)


def _lazy(ref: str) -> Callable[[], Any]:
    def load() -> Any:
        module, _, name = ref.partition(":")
        return getattr(importlib.import_module(module), name)

    return load


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    return {name: _lazy(ref) for name, ref in _table()["dialects"].items()}


def get_circ_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """circ's own passes (the importers' normalisers, fusion, layout, planning, lowering)."""
    passes = {name: _lazy(ref) for name, ref in _table()["passes"]["circ"].items()}
    for fw in frameworks().values():
        passes[fw.normalize_pass] = _lazy(fw.refs["pass_class"])
    return passes


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """The passes circ-opt offers: xDSL's generic cleanups plus circ's own."""
    xdsl = {name: _lazy(ref) for name, ref in _table()["passes"]["xdsl"].items()}
    return {**xdsl, **get_circ_passes()}


class CircContext(Context):
    """A Context that also knows every framework operator (``torch.aten.add.Tensor``, …):
    import dialects make their op classes on demand, one per framework operator name."""

    def get_optional_op(self, name: str, *, dialect_stack: Any = ()) -> type[Operation] | None:
        found = super().get_optional_op(name, dialect_stack=dialect_stack)
        if found is not None:
            return found
        if "." in name and name.split(".", 1)[0] in by_dialect():
            op = _lazy("cir.dialects.framework_op:op_class")()(name)
            self.load_op(op)
            return op
        return None


def make_context() -> Context:
    """A context with every dialect circ knows, loaded lazily."""
    ctx = CircContext()
    for name, factory in get_all_dialects().items():
        ctx.register_dialect(name, factory)
    return ctx


# Lets stock `xdsl-opt` load cir too (entry point `xdsl.universe`). Only names xDSL does not
# already define may appear here.
CIR_UNIVERSE = Universe(
    all_dialects={"cir": get_all_dialects()["cir"]},
    all_passes={k: v for k, v in get_circ_passes().items() if k != "canonicalize"},
)
