"""User op mappings (the ``--custom-ops`` file): teach circ operators it does not know.

A TOML or JSON file with two sections, each entry in the mapping-table format of
``passes/normalize.py``::

    # a torch.library custom op, by its operator name
    [ops."mylib.group_norm_silu.default"]
    steps = [
      { cir = "cir.group_norm", operands = ["x", "weight", "bias"], attrs = { num_groups = "groups", epsilon = "eps" }, as = "n" },
      { cir = "cir.silu", operands = ["%n"] },
    ]

    # every instance of an nn.Module class, by class name (found through nn_module_stack)
    [modules.GroupNormSD]
    cir = "cir.group_norm"
    operands = ["input0", "weight", "bias"]
    attrs = { num_groups = "num_groups", epsilon = "eps" }

For a module class, the importer turns each instance into one op whose operands are the
activations flowing in (``input0``, ``input1``, …) and the instance's own parameters (by their
name inside the module, e.g. ``weight``), and whose attributes are the instance's scalar fields
(``num_groups``, ``eps``, …) when the model was given in memory.
"""

from __future__ import annotations

import copy
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cir.errors import CircError

MODULE_PREFIX = "module."


class CustomOps:
    def __init__(self, ops: Mapping[str, Any], modules: Mapping[str, Any], origin: str):
        self.ops = dict(ops)
        self.modules = dict(modules)
        self.origin = origin

    @classmethod
    def load(cls, source: str | os.PathLike[str] | Mapping[str, Any]) -> CustomOps:
        if isinstance(source, Mapping):
            data, origin = source, "custom op mapping"
        elif isinstance(source, str | os.PathLike):
            data, origin = _read(Path(source)), str(source)
        else:
            raise CircError(f"a custom op mapping is a file path or a dict, not a "
                            f"{type(source).__name__}")
        sections = {k: data.get(k, {}) for k in ("ops", "modules")}
        unknown = set(data) - set(sections)
        if unknown:
            raise CircError(f"{origin}: unknown section(s) {sorted(map(str, unknown))}; use "
                            "[ops.\"name\"] or [modules.ClassName]")
        for name, section in sections.items():
            if not isinstance(section, Mapping) or not all(isinstance(k, str) for k in section):
                raise CircError(f"{origin}: [{name}] must be a table of named entries")
        custom = cls(sections["ops"], sections["modules"], origin)
        from cir.passes.normalize import MappingTable

        # validate every entry now, so errors name this file
        try:
            MappingTable("custom", "torch", {}).extend(custom.table_entries(), origin)
        except (TypeError, AttributeError, KeyError, ValueError) as e:  # a value of a wrong kind
            raise CircError(f"{origin}: malformed entry ({type(e).__name__}: {e})") from None
        return custom

    def table_entries(self) -> dict[str, Any]:
        entries = dict(self.ops)
        entries.update({MODULE_PREFIX + k: v for k, v in self.modules.items()})
        return entries

    def extend(self, table: Any) -> Any:
        """A copy of `table` with these mappings taking precedence."""
        new = copy.copy(table)
        new.variants = dict(table.variants)
        new.extend(self.table_entries(), self.origin, front=True)
        return new

    def module_class(self, classes: list[tuple[str, str]]) -> tuple[str, str] | None:
        """The outermost (path, class name) in an nn_module_stack that is mapped."""
        for path, qualname in classes:
            short = qualname.rsplit(".", 1)[-1]
            if short in self.modules or qualname in self.modules:
                return path, short if short in self.modules else qualname
        return None


def _read(path: Path) -> Mapping[str, Any]:
    """A mapping file: TOML, or JSON for a .json file; its top level must be a table."""
    kind = "JSON" if path.suffix == ".json" else "TOML"
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise CircError(f"{path}: cannot read the custom op mapping ({e.strerror})") from None
    except UnicodeDecodeError:
        raise CircError(f"{path}: not valid {kind}: not UTF-8 text") from None
    try:
        data = json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except (ValueError, RecursionError) as e:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise CircError(f"{path}: not valid {kind}: {e}") from None
    if not isinstance(data, dict):
        raise CircError(f"{path}: a custom op mapping is a table, not a {type(data).__name__}")
    return data
