"""The shape of the code base: layers import downward only, no private name crosses a module,
the core imports nothing above it, and every name the registries list resolves.

Layers, bottom to top (README "Architecture"):

    core      cir/*.py            ops, types, interpreter, io, registry, signature, package format
    dialects  dialects/           the frameworks' import dialects
    passes    passes/             normalisation, fusion, layout, planning
    lowering  lowering/           lower-to-ascendc and its kernel library, graphs
    runtime   runtime/            Session, CPU layer, ACL: reads packages, needs only the core
    app       cir/app/            frontend, compile, report, serve, demo, command-line tools

Deferred (inside-function) imports count: an edge hidden in a function is still an edge.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from xdsl.passes import ModulePass

from cir.frameworks import CALLABLES, frameworks
from cir.registry import get_all_dialects, get_all_passes

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"cir": "cir", "dialects": "cir.dialects", "passes": "cir.passes",
           "lowering": "cir.lowering", "runtime": "cir.runtime"}
# what each layer may import (itself included)
ALLOWED = {
    "core": {"core"},
    "dialects": {"core", "dialects"},
    "passes": {"core", "dialects", "passes"},
    "lowering": {"core", "dialects", "passes", "lowering"},
    "runtime": {"core", "runtime"},
    "app": {"core", "dialects", "passes", "lowering", "runtime", "app"},
}
ABOVE_CORE = ("cir.app", "cir.dialects", "cir.passes", "cir.lowering", "cir.runtime")


def layer(module: str) -> str:
    for prefix, name in (("cir.app", "app"), ("cir.dialects", "dialects"), ("cir.passes", "passes"),
                         ("cir.lowering", "lowering"), ("cir.runtime", "runtime")):
        if module == prefix or module.startswith(prefix + "."):
            return name
    return "core"


def sources() -> list[tuple[str, Path]]:
    out = []
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = [*package.split("."), *path.relative_to(ROOT / folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            out.append((".".join(parts), path))
    return out


def imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported circ module, names taken from it, line) for every import in the file."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "cir"]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            if target.split(".")[0] == "cir":
                found.append((target, [a.name for a in node.names], node.lineno))
    return found


SOURCES = sources()


def test_the_layers_import_downward_only():
    wrong = []
    for module, path in SOURCES:
        for target, _, line in imports(module, path):
            if layer(target) not in ALLOWED[layer(module)]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {layer(module)} imports "
                             f"{layer(target)} ({target})")
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)


def test_no_private_name_crosses_a_module():
    wrong = []
    for module, path in SOURCES:
        for target, names, line in imports(module, path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target != module:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {', '.join(private)} from {target}")
    assert not wrong, "private names used across modules:\n" + "\n".join(wrong)


def test_the_core_imports_nothing_above_it():
    core = [m for m, _ in SOURCES if layer(m) == "core"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in core) +
            f"print('\\n'.join(m for m in sys.modules if m.startswith({ABOVE_CORE!r})))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [], f"importing the core loaded: {proc.stdout.split()}"


def test_the_detector_matches_the_table():
    """The layers test is only as good as its module list: every folder is covered."""
    layers = {layer(m) for m, _ in SOURCES}
    assert layers == set(ALLOWED)
    assert len(SOURCES) > 80


@pytest.mark.parametrize("name", sorted(get_all_passes()))
def test_every_registered_pass_resolves(name):
    cls = get_all_passes()[name]()
    assert issubclass(cls, ModulePass) and cls.name == name


@pytest.mark.parametrize("name", sorted(get_all_dialects()))
def test_every_registered_dialect_resolves(name):
    assert get_all_dialects()[name]().name == name


@pytest.mark.parametrize("fw", sorted(frameworks()))
def test_every_framework_callable_resolves(fw):
    for what in CALLABLES:
        assert callable(frameworks()[fw].load(what)), f"{fw}.{what}"


def test_the_command_line_starts_without_the_compiler():
    """`circ --help` and argument errors stay fast: parsing the command line imports no framework
    and none of the compiler's layers (each command imports what it runs)."""
    code = ("import sys\n"
            "from cir.app.tools import circ\n"
            "circ.build_parser()\n"
            "heavy = ('torch', 'tensorflow', 'mindspore', 'onnx', 'cir.passes', 'cir.lowering',"
            " 'cir.dialects')\n"
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == []
