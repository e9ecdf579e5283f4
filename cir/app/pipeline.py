"""Pass pipelines from Python, with the same registry and syntax as ``circ-opt -p``."""

from __future__ import annotations

import re
from collections.abc import Callable

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError

from cir.errors import CircError
from cir.io import diagnostic_line, printable, verify
from cir.registry import get_all_passes, make_context


def parse_pipeline(
    spec: str, callback: Callable[[ModulePass | None, ModuleOp, ModulePass | None], None] | None = None
) -> PassPipeline:
    """Parse ``'a,b{opt=1 flag=true}'``; a bad spec raises CircError naming the problem."""
    available = get_all_passes()
    try:
        return PassPipeline.parse_spec(available, spec, callback)
    except ArgSpecParseError as e:  # a BaseException in xDSL
        msg = _syntax_error(e)
    except ParseError as e:  # a bad escape in a quoted option value
        loc = e.span.get_location()
        msg = f"{_column(loc.line, loc.col)}: {e.msg}"
    except (ValueError, TypeError, DiagnosticException) as e:
        msg = re.sub(r"<class '(\w+)'>", r"\1", _clean(e))
        if msg.startswith("Unrecognized passes"):
            msg += f" (available: {', '.join(sorted(available))})"
    raise CircError(f"bad pass pipeline '{_shorten(spec, 60)}': {_shorten(msg, 300)}")


_SYNTAX_ERROR = re.compile(r"pass-pipeline:(\d+):(\d+)\n[^\n]*\n[^\n]*\n *([^\n]*)")
"""What xDSL's ArgSpecParseError says: the location, the spec's line, a caret line, the message."""


def _syntax_error(e: ArgSpecParseError) -> str:
    match = _SYNTAX_ERROR.search(str(e))
    if match is None:
        return _clean(e)
    line, col, msg = match.groups()
    return f"{_column(int(line), int(col))}: {msg[:1].lower()}{msg[1:]}"


def _column(line: int, col: int) -> str:
    return f"column {col}" if line == 1 else f"line {line}, column {col}"


def _shorten(text: str, width: int) -> str:
    shown = printable(text)
    return f"{shown[:width - 3]}..." if len(shown) > width else shown


def _clean(e: BaseException) -> str:
    return " ".join(str(e).split()).replace("Error parsing pass pipeline specification: ", "")


def apply_pipeline(module: ModuleOp, spec: str) -> ModuleOp:
    """Run passes on `module` in place, verifying after every pass, and return it.

    >>> module = cir.apply_pipeline(module, "canonicalize,cse")
    """
    def check(prev: ModulePass | None, m: ModuleOp, nxt: ModulePass | None) -> None:
        try:
            verify(m)
        except CircError as e:
            where = f"after pass '{prev.name}'" if prev else "before the pipeline"
            raise CircError(f"verification failed {where}: {e}") from None

    pipeline = parse_pipeline(spec, check)
    try:
        pipeline.apply(make_context(), module)
    except DiagnosticException as e:
        raise CircError(f"pass failed: {_shorten(diagnostic_line(e), 300)}") from None
    return module
