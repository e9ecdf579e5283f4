"""Where circ writes: every destination is checked before the work starts, so a mistake in an
output path costs no time, gives one clear message and leaves nothing half-written."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cir.errors import CircError


def check_destination(path: str | os.PathLike[str], what: str, *, directory: bool = False) -> Path:
    """`path` as a Path, if it can be written as a file (or, with `directory`, as a folder):
    a file must not be a directory and vice versa, the first existing ancestor must be a
    writable directory. `what` names the flag or argument in the message."""
    if not isinstance(path, str | os.PathLike) or not isinstance(os.fspath(path), str):
        raise CircError(f"{what}: expected a path, got {type(path).__name__}")
    p = Path(path)
    if "\0" in str(p):
        raise CircError(f"{what} {str(p)!r}: a path cannot hold a NUL byte")
    if directory and p.exists() and not p.is_dir():
        raise CircError(f"{what} {p}: is a file, not a directory")
    if not directory and p.is_dir():
        raise CircError(f"{what} {p}: is a directory; name the file to write")
    for parent in (p if directory else p.parent, *p.parents):
        if parent.exists():
            if not parent.is_dir():
                raise CircError(f"{what} {p}: {parent} is a file, not a directory")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise CircError(f"{what} {p}: {parent} is not writable")
            break
    return p


def write_atomic(path: Path, write: Callable[[Any], Any]) -> None:
    """Write a text file through a temporary file beside it, renamed into place: a reader
    never sees half of it, and a failure leaves nothing (the temporary file is removed)."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", newline="") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def make_parents(p: Path, what: str) -> None:
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CircError(f"{what} {p}: cannot create {p.parent} ({e.strerror})") from None
