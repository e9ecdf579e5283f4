"""User-facing errors: one message that names the problem and where it is.

Every mistake a user can make (bad IR, bad flag, bad input array, unsupported op, corrupt
model) surfaces as a ``CircError``; the drivers print ``error: <message>`` and exit 1 (2 for
usage errors), never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from xdsl.dialects.builtin import (
    CallSiteLoc,
    FileLineColLoc,
    FusedLoc,
    NameLoc,
    NoneAttr,
    UnknownLoc,
)
from xdsl.ir import Attribute, Operation


class CircError(Exception):
    """A user-facing error. ``str(e)`` is the whole message."""

    exit_code = 1


class UsageError(CircError):
    """Wrong command-line usage (exit status 2)."""

    exit_code = 2


class HostFallbackWarning(UserWarning):
    """Some ops of a compiled model run on the host fallback (no AscendC kernel for them yet)."""


def describe_location(loc: Attribute | None) -> str:
    """``file:line:col``, a name (e.g. a module path), or ``""`` when unknown."""
    match loc:
        case FileLineColLoc():
            return f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
        case NameLoc():
            inner = describe_location(loc.location)
            return f"{loc.desc.data} ({inner})" if inner else loc.desc.data
        case CallSiteLoc():
            return describe_location(loc.callee)
        case FusedLoc():
            parts = (describe_location(x) for x in loc.locations.data)  # type: ignore[attr-defined]
            return ", ".join(p for p in parts if p)
        case UnknownLoc() | NoneAttr() | None:  # NoneAttr: a NameLoc without a child
            return ""
        case _:
            return str(loc)


def describe_op(op: Operation) -> str:
    """``'cir.add' at model.py:12:0`` — how an op is named in error messages."""
    where = describe_location(op.location)
    return f"'{op.name}'" + (f" at {where}" if where else "")


def name_mismatch(given: Iterable[str], expected: Sequence[str]) -> str | None:
    """None when `given` names exactly `expected`; else "missing input(s) 'a'; unknown input(s)
    'b'" (the start of the one message every entry point gives for it)."""
    given = list(given)
    missing = [n for n in expected if n not in given]
    unknown = [n for n in given if n not in expected]
    parts = []
    if missing:
        parts.append("missing input(s) " + ", ".join(f"'{n}'" for n in missing))
    if unknown:
        parts.append("unknown input(s) " + ", ".join(f"'{n}'" for n in unknown))
    return "; ".join(parts) or None
