"""Model files as every importer reads them: paths the OS can take, regular files only, protobuf
text fields without control characters, shapes that fit a device. Each problem is one
CircError naming the file (or the field) and what is wrong."""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cir.errors import CircError


def model_path(source: str | os.PathLike[str]) -> Path:
    """`source` as a Path; a path the OS cannot take (a NUL byte inside) is a CircError."""
    try:
        path = Path(source)
        os.fsencode(path)
    except (TypeError, UnicodeEncodeError):
        raise CircError(f"{source!r}: not a valid file path") from None
    if "\0" in str(path):
        raise CircError(f"{str(path)!r}: not a valid file path (it contains a NUL byte)")
    return path


def model_file(source: str | os.PathLike[str], what: str) -> Path:
    """The path of an existing regular file holding `what` ("an ONNX model"); a missing file,
    a directory or a device (which could block or never end) is a CircError."""
    path = model_path(source)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise CircError(f"{path}: no such file") from None
    except OSError as e:
        raise CircError(f"{path}: cannot read ({e.strerror})") from None
    if stat.S_ISDIR(mode):
        raise CircError(f"{path}: is a directory, not {what}")
    if not stat.S_ISREG(mode):
        raise CircError(f"{path}: not a regular file; expected {what}")
    return path


def read_model_file(source: str | os.PathLike[str], what: str) -> bytes:
    """The bytes of a model file (see `model_file`)."""
    path = model_file(source, what)
    try:
        return path.read_bytes()
    except OSError as e:
        raise CircError(f"{path}: cannot read ({e.strerror})") from None
    except MemoryError:
        raise CircError(f"{path}: too large to read into memory") from None


def proto_messages(msg: Any, where: str) -> Iterator[tuple[str, Any]]:
    """A protobuf message and every message inside it, each with its place in the model:
    ``model.graph.node[2]('conv').attribute[0]('pads')``."""
    yield where, msg
    for field in msg.DESCRIPTOR.fields:
        if field.type != field.TYPE_MESSAGE:
            continue
        if _is_map(field):
            if field.message_type.fields_by_name["value"].type == field.TYPE_MESSAGE:
                for key, m in getattr(msg, field.name).items():
                    yield from proto_messages(m, f"{where}.{field.name}[{key!r:.60}]")
        elif field.is_repeated:
            for i, m in enumerate(getattr(msg, field.name)):
                yield from proto_messages(m, f"{where}.{field.name}[{i}]{_proto_label(m)}")
        elif msg.HasField(field.name):
            yield from proto_messages(getattr(msg, field.name), f"{where}.{field.name}")


def _is_map(field: Any) -> bool:
    return field.type == field.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _proto_label(msg: Any) -> str:
    """``('conv')`` for a message with a readable name."""
    name = getattr(msg, "name", None) if "name" in msg.DESCRIPTOR.fields_by_name else None
    return f"({name[:60]!r})" if isinstance(name, str) and name else ""


# protobuf fields that name things (nodes, values, attributes, operators): they end up in
# error messages and IR locations, so they must be one printable line
NAME_FIELDS = frozenset({"name", "op_type", "op", "domain", "input", "output"})
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def check_text_fields(msg: Any, where: str, origin: str) -> None:
    """Every string field of `msg` is UTF-8 (protobuf hands over one that is not as bytes,
    which the frameworks' C++ code then fails to decode), and names (NAME_FIELDS) have no
    control characters."""
    for field in msg.DESCRIPTOR.fields:
        for text in _texts(msg, field):
            if isinstance(text, bytes):
                raise CircError(f"{origin}: {where}.{field.name} is not UTF-8 text")
            if field.name in NAME_FIELDS and CONTROL_CHARACTERS.search(text):
                raise CircError(f"{origin}: {where}.{field.name} {text[:80]!r} has control "
                                "characters")


def _texts(msg: Any, field: Any) -> list[str | bytes]:
    """The strings a field holds (a map's string keys and values too)."""
    if _is_map(field):
        entry = field.message_type.fields_by_name
        items = getattr(msg, field.name).items()
        return [*(k for k, _ in items if entry["key"].type == field.TYPE_STRING),
                *(v for _, v in items if entry["value"].type == field.TYPE_STRING)]
    if field.type != field.TYPE_STRING:
        return []
    value = getattr(msg, field.name)
    return list(value) if field.is_repeated else [value]


def check_proto_text(msg: Any, root: str, origin: str) -> None:
    """`check_text_fields` for `msg` and every message inside it."""
    for where, m in proto_messages(msg, root):
        check_text_fields(m, where, origin)


MAX_ELEMENTS = 1 << 40  # more than any device holds: a file asking for more is corrupt


def static_shape(dims: Iterable[int], what: str) -> list[int]:
    """Tensor dimensions a model file gives, checked: none negative, and the non-zero ones
    multiplying to at most MAX_ELEMENTS (so that sizes and byte counts fit in 64 bits)."""
    dims = [int(d) for d in dims]
    if any(d < 0 for d in dims):
        raise CircError(f"{what} has a negative dimension: {dims}")
    if math.prod(d for d in dims if d) > MAX_ELEMENTS:
        raise CircError(f"{what} has shape {dims}: more than 2**40 elements; corrupt?")
    return dims
