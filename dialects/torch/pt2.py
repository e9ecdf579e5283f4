"""Reading a ``.pt2`` file (``torch.export.save``) without running anything that is in it.

``torch.export.load`` must not see a file from elsewhere: it unpickles (weights and constants
marked ``use_pickle``, custom and opaque objects, and the example inputs, retried with
``weights_only=False``), parses symbolic shape expressions with ``sympy.sympify`` (``eval``)
and resolves node targets with ``getattr`` chains from the ``torch`` module (``torch.ops.
load_library`` is one). So circ reads the archive with Python's ``zipfile`` and its JSON with
``json``, and refuses, before any of it reaches PyTorch:

- a pickle: ``torch.save`` files, payloads stored as pickles, custom and opaque objects;
- node targets that are not operators (``torch.ops.<ns>.<op>.<overload>``, higher-order
  operators, the symbolic-size operators PyTorch serialises);
- symbolic expressions outside plain size arithmetic.

The weights are made from their raw bytes (``torch.frombuffer``); the program is built by
PyTorch's deserializer from the checked JSON, without the example inputs (a pickle) and without
``guards_code`` (Python source).
"""

from __future__ import annotations

import json
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, cast

from cir.errors import CircError
from cir.model_files import CONTROL_CHARACTERS, model_file

MODEL = "model"  # the program torch.export.save writes
MAX_JSON_BYTES = 1 << 30
MAX_EXPR_CHARS = 2000
# what an archive's entries may add up to, past the file's own size (deflated JSON)
MAX_INFLATION = 64

PICKLE_ADVICE = ("Export the model instead: torch.export.save(torch.export.export(model, "
                 "example_args), 'model.pt2')")

# sympy names a symbolic size expression (as PyTorch writes it: ``Mul(Integer(2),
# Symbol('s0', positive=True, integer=True))``) may use: arithmetic, comparisons, PyTorch's
# integer functions and symbol assumptions; nothing that grows its operands (Pow, PowByNatural,
# LShift, RoundDecimal)
_EXPR_NAMES = frozenset({
    "Symbol", "Integer", "Float", "Rational", "Add", "Mul", "Max", "Min", "Abs", "Eq", "Ne",
    "Lt", "Le", "Gt", "Ge", "StrictLessThan", "StrictGreaterThan", "LessThan", "GreaterThan",
    "Equality", "Unequality", "And", "Or", "Not", "true", "false", "True", "False", "oo",
    "Infinity", "NegativeInfinity", "FloorDiv", "ModularIndexing", "Where", "PythonMod", "Mod",
    "CleanDiv", "CeilToInt", "FloorToInt", "CeilDiv", "RShift", "FloatTrueDiv", "IntTrueDiv",
    "TruncToFloat", "TruncToInt", "RoundToInt", "ToFloat", "Identity", "positive", "negative",
    "nonnegative", "nonpositive", "integer", "real", "finite", "zero", "nonzero", "even", "odd",
})  # fmt: skip
_EXPR_TOKEN = re.compile(r"\s*(?:(?P<name>[A-Za-z_]\w*)|'(?P<text>[^'\\]*)'|"
                         r"\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|[-+*/%(),<>=!&|~])")
_NAME = re.compile(r"[A-Za-z_]\w*")


def load_pt2(source: Any) -> Any:
    """The ExportedProgram in a ``.pt2`` file, read as described above."""
    path = model_file(source, "a .pt2 archive (torch.export.save)")
    with _reading(path), _open_archive(path) as archive:
        program = archive.json(f"models/{MODEL}.json")
        check_program(program, path)
        state_dict = archive.payloads("weights", "weight_")
        constants = archive.payloads("constants", "tensor_")
    return _deserialize(path, program, state_dict, constants)


# --- the archive -----------------------------------------------------------------------------


class _Archive:
    """The entries of a .pt2 zip, by their name inside its top folder (``models/model.json``)."""

    def __init__(self, path: Path, zf: zipfile.ZipFile):
        self.path = path
        self.zip = zf
        infos = zf.infolist()
        self.root = infos[0].filename.split("/")[0] + "/"
        self.entries = {i.filename[len(self.root):]: i for i in infos
                        if i.filename.startswith(self.root)}
        limit = path.stat().st_size * MAX_INFLATION + (1 << 20)
        if len(self.entries) != len(infos) or sum(i.file_size for i in infos) > limit:
            raise CircError(f"{path}: not a .pt2 archive (torch.export.save); corrupt")

    def read(self, name: str, limit: int | None = None) -> bytes:
        info = self.entries.get(name)
        if info is None:
            raise CircError(f"{self.path}: the archive has no {name}; corrupt or not written "
                            "by torch.export.save")
        if limit is not None and info.file_size > limit:
            raise CircError(f"{self.path}: {name} is too large ({info.file_size} bytes)")
        return self.zip.read(info)  # checks the CRC

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name, MAX_JSON_BYTES).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise CircError(f"{self.path}: {name} is not valid JSON; corrupt") from None

    def payloads(self, kind: str, prefix: str) -> dict[str, Any]:
        """The tensors a ``data/<kind>/model_<kind>_config.json`` lists, from raw bytes.
        Pickled payloads (``use_pickle``, custom and opaque objects) are refused."""
        if f"data/{kind}/{MODEL}.pt" in self.entries:
            raise _pickle_error(self.path, f"its {kind} are a pickle (an old format)")
        config = self.json(f"data/{kind}/{MODEL}_{kind}_config.json")
        entries = config.get("config") if isinstance(config, dict) else None
        if not isinstance(entries, dict):
            raise CircError(f"{self.path}: the {kind} configuration is malformed; corrupt")
        flat: dict[str, Any] = {}  # payload file -> its bytes as a flat tensor (shared by views)
        out = {}
        for fqn, meta in entries.items():
            what = f"{kind.rstrip('s')} '{fqn}'"
            if not isinstance(meta, dict) or not isinstance(meta.get("path_name"), str):
                raise CircError(f"{self.path}: {what} is malformed; corrupt")
            if meta.get("use_pickle") or not meta["path_name"].startswith(prefix):
                raise _pickle_error(self.path, f"{what} is stored as a pickled object")
            with _malformed(self.path, what):
                out[fqn] = self._tensor(meta, f"data/{kind}/{meta['path_name']}", flat)
        return out

    def _tensor(self, meta: dict[str, Any], name: str, flat: dict[str, Any]) -> Any:
        import torch
        from torch._export.serde import schema
        from torch._export.serde.serialize import (
            _dict_to_dataclass,
            deserialize_scalar_type,
            deserialize_size,
            deserialize_storage_offset,
            deserialize_stride,
        )

        tm = cast(schema.TensorMeta, _dict_to_dataclass(schema.TensorMeta, meta["tensor_meta"]))
        dtype = deserialize_scalar_type(tm.dtype)
        if name not in flat:
            data = bytearray(self.read(name))
            flat[name] = (torch.frombuffer(data, dtype=dtype) if data
                          else torch.empty(0, dtype=dtype))
        base = flat[name]
        if base.dtype != dtype:
            raise ValueError(f"{name} is read as {base.dtype} and as {dtype}")
        t = torch.as_strided(base, deserialize_size(tm.sizes), deserialize_stride(tm.strides),
                             deserialize_storage_offset(tm.storage_offset))
        return torch.nn.Parameter(t, requires_grad=False) if meta.get("is_param") else t


@contextmanager
def _open_archive(path: Path) -> Iterator[_Archive]:
    """The archive, after telling a .pt2 from a pickle and from a corrupt or truncated file."""
    with open(path, "rb") as f:
        head = f.read(4)
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle protocol 2-5
        raise _pickle_error(path, "this is a pickle (torch.save)")
    if head != b"PK\x03\x04":
        raise CircError(f"{path}: not a .pt2 archive (torch.export.save); corrupt or truncated")
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        # a truncated .pt2 can still end in the directory of a zip stored inside it
        if not infos or min(i.header_offset for i in infos) != 0:
            raise CircError(f"{path}: a .pt2 archive (torch.export.save), but corrupt or truncated")
        archive = _Archive(path, zf)
        if "data.pkl" in archive.entries:
            raise _pickle_error(path, "this is a full pickle (torch.save)")
        if not {"archive_format", f"models/{MODEL}.json"} <= archive.entries.keys():
            raise CircError(f"{path}: not a torch.export archive (no models/{MODEL}.json); "
                            f"{PICKLE_ADVICE}")
        if archive.read("archive_format", 64) != b"pt2":
            raise CircError(f"{path}: not a torch.export archive (archive_format is not pt2)")
        yield archive


def _pickle_error(path: Path, what: str) -> CircError:
    return CircError(f"{path}: {what}, which circ never loads: unpickling can run arbitrary "
                     f"code. {PICKLE_ADVICE}")


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Errors of reading the zip itself: a corrupt or truncated file."""
    try:
        yield
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError,
            UnicodeDecodeError) as e:  # UnicodeDecodeError: an entry name flagged UTF-8 is not
        raise CircError(f"{path}: corrupt or truncated .pt2 archive ({e})") from None
    except OSError as e:
        raise CircError(f"{path}: cannot read ({e.strerror or e})") from None
    except MemoryError:
        raise CircError(f"{path}: too large to read into memory") from None


@contextmanager
def _malformed(path: Path, what: str) -> Iterator[None]:
    """What PyTorch's schema helpers raise for a field of the wrong shape."""
    try:
        yield
    except (AssertionError, KeyError, TypeError, ValueError, RuntimeError, IndexError,
            AttributeError, OverflowError, RecursionError) as e:
        raise CircError(f"{path}: {what} is malformed ({_first_line(e)}); corrupt") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__


# --- the program's JSON ----------------------------------------------------------------------


def check_program(program: Any, path: Path) -> None:
    """Refuse what PyTorch's deserializer would run: see the module docstring."""
    if not isinstance(program, dict) or not isinstance(program.get("graph_module"), dict):
        raise CircError(f"{path}: models/{MODEL}.json is not an exported program; corrupt")
    for key, value in _items(program):
        if key == "target" or key == "as_operator":
            check_target(value, path)
        elif key == "expr_str":
            check_expression(value, path)
        elif key == "name" and isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise CircError(f"{path}: the program names a value {value[:80]!r}, with control "
                            "characters; corrupt")


def _items(tree: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of every dict in a JSON tree (no recursion: the depth is the file's)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                yield k, v
                stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)


def check_target(target: Any, path: Path) -> None:
    """A node calls an operator: ``torch.ops.<ns>.<op>.<overload>``, a higher-order operator
    (``torch.ops.higher_order.cond``) or one of the symbolic-size operators."""
    import torch

    if not isinstance(target, str):
        raise CircError(f"{path}: a node target is not a name; corrupt")
    if target in _symbolic_ops():
        return
    parts = target.split(".")
    if parts[:2] != ["torch", "ops"] or len(parts) not in (4, 5) or not all(
            _NAME.fullmatch(p) and not p.startswith("__") for p in parts[2:]):
        raise CircError(f"{path}: the graph calls {target[:200]!r}, which is not an operator")
    op: Any = torch.ops
    for name in parts[2:]:
        try:
            op = getattr(op, name)
        except (AttributeError, RuntimeError):
            raise CircError(f"{path}: the graph calls operator '{target}', which is not "
                            "registered (load its library before importing)") from None
    if not isinstance(op, torch._ops.OpOverload | torch._ops.HigherOrderOperator):
        raise CircError(f"{path}: the graph calls '{target}', which is not an operator")


def check_expression(expr: Any, path: Path) -> None:
    """A symbolic size is arithmetic on size symbols (``s0``, ``u1``): PyTorch gives it to
    ``sympy.sympify``, which evaluates Python."""
    words = _expression_words(expr) if isinstance(expr, str) else None
    if words is None or not all(_readable_word(w, quoted) for w, quoted in words):
        raise CircError(f"{path}: the program has a symbolic size circ does not read: "
                        f"{str(expr)[:200]!r}")


def _expression_words(expr: str) -> list[tuple[str, bool]] | None:
    """The names and quoted texts (word, is quoted) in `expr` if it is a short sequence of
    names, quoted texts, numbers and operators (no ``**``, no attribute access); else None."""
    expr = expr.strip()
    if len(expr) > MAX_EXPR_CHARS or "**" in expr:
        return None
    words, pos = [], 0
    while pos < len(expr):
        m = _EXPR_TOKEN.match(expr, pos)
        if m is None:
            return None
        if m["name"] or m["text"] is not None:
            words.append((m["name"] or m["text"], m["text"] is not None))
        pos = m.end()
    return words


def _readable_word(word: str, quoted: bool) -> bool:
    """A size symbol (``s0``; the only text sympy's ``Symbol('s0')`` may quote) or an allowed
    sympy name."""
    return bool(_size_symbol().fullmatch(word)) or (not quoted and word in _EXPR_NAMES)


@cache
def _symbolic_ops() -> frozenset[str]:
    """The size-arithmetic operators PyTorch serialises, as it names them (``_operator.add``)."""
    from torch._export.serde.serialize import _SYM_OPS

    return frozenset(f"{op.__module__}.{op.__name__}" for op in _SYM_OPS)


@cache
def _size_symbol() -> re.Pattern[str]:
    from torch.utils._sympy.symbol import prefix_str

    return re.compile(f"(?:{'|'.join(map(re.escape, prefix_str.values()))})\\d+")


def _deserialize(path: Path, program: dict[str, Any], state_dict: dict[str, Any],
                 constants: dict[str, Any]) -> Any:
    from torch._export.serde import schema
    from torch._export.serde.serialize import ExportedProgramDeserializer, _dict_to_dataclass

    program = {**program, "guards_code": []}
    with _malformed(path, f"models/{MODEL}.json"):
        serialized = cast(schema.ExportedProgram,
                          _dict_to_dataclass(schema.ExportedProgram, program))
    try:
        return ExportedProgramDeserializer().deserialize(serialized, state_dict, constants, None)
    except Exception as e:  # noqa: BLE001 - PyTorch's deserializer raises many kinds
        raise CircError(f"{path}: cannot load the exported program ({_first_line(e)})") from None
