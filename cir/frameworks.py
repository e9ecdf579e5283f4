"""The framework table (``frameworks.toml``) as Python objects.

Every per-framework decision in circ is a lookup here: which files and objects a framework
owns, its import dialect, importer, normalisation pass and mapping table, its reference run
for the report, its ATC number. The table names callables as ``"module:name"``; `Framework.call`
imports them on first use, so reading the table imports no framework and nothing above the core.

    >>> fw = framework("onnx")
    >>> module = fw.load("importer")(model, shapes)
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cir.errors import CircError

TABLE = Path(__file__).parent / "frameworks.toml"
CALLABLES = ("importer", "pass_class", "normalize", "table", "reference")


@dataclass(frozen=True)
class Framework:
    name: str
    dialect: str
    suffixes: tuple[str, ...]
    modules: tuple[str, ...]
    normalize_pass: str
    refs: dict[str, str] = field(repr=False)  # CALLABLES -> "module:name"
    model_dirs: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    atc: str | None = None

    def load(self, what: str) -> Any:
        """The callable the table names for `what` (one of CALLABLES), imported now."""
        module, _, name = self.refs[what].partition(":")
        return getattr(importlib.import_module(module), name)

    def owns(self, obj: Any) -> bool:
        """Is `obj` (or one of its base classes) from one of this framework's packages?"""
        return any(c.__module__.split(".")[0] in self.modules for c in type(obj).__mro__)


@cache
def frameworks() -> dict[str, Framework]:
    """Every framework, in the table's order (detection tries them in this order)."""
    with open(TABLE, "rb") as f:
        rows = tomllib.load(f)
    out = {}
    for name, row in rows.items():
        refs = {k: row.pop(k) for k in CALLABLES}
        out[name] = Framework(
            name=name, dialect=row.pop("dialect"), suffixes=tuple(row.pop("suffixes")),
            modules=tuple(row.pop("modules")), normalize_pass=row.pop("normalize_pass"), refs=refs,
            model_dirs=tuple(row.pop("model_dirs", ())), refused=tuple(row.pop("refused", ())),
            options=tuple(row.pop("options", ())), atc=row.pop("atc", None))
        if row:  # a typo in the table is a bug to see at once, not a silently ignored field
            raise CircError(f"{TABLE}: [{name}] has unknown fields {', '.join(row)}")
    return out


def framework(name: str) -> Framework:
    table = frameworks()
    if name not in table:
        raise CircError(f"unknown framework '{name}' (known: {', '.join(table)})")
    return table[name]


@cache
def by_dialect() -> dict[str, Framework]:
    """Import-dialect prefix -> its framework (``torch`` -> pytorch)."""
    return {fw.dialect: fw for fw in frameworks().values()}


@cache
def by_atc_number() -> dict[str, Framework]:
    """ATC's ``--framework`` numbers (1 MindSpore, 3 TensorFlow, 5 ONNX) -> the framework."""
    return {fw.atc: fw for fw in frameworks().values() if fw.atc is not None}
