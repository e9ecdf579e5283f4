"""Reading and writing CIR text, with errors that point at file:line:col.

Ops parsed from text get a ``loc("file":line:col)`` location when the text gave none, so a
verifier error on a hand-written file names the line of the offending op.
"""

from __future__ import annotations

import bisect
import os
from io import StringIO
from pathlib import Path

from xdsl.context import Context
from xdsl.dialects.builtin import FileLineColLoc, IntAttr, ModuleOp, StringAttr, UnknownLoc
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException

from cir.errors import CircError, describe_op
from cir.registry import make_context


class LocatingParser(Parser):
    """A Parser that stamps every op without a location with the file:line:col it came from."""

    def __init__(self, ctx: Context, text: str, name: str = "<string>"):
        super().__init__(ctx, text, name)
        self._name = name
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def parse_operation(self) -> Operation:
        start = self._current_token.span.start
        op = super().parse_operation()
        if isinstance(op.location, UnknownLoc):
            line = bisect.bisect_left(self._newlines, start)
            col = start - (self._newlines[line - 1] + 1 if line else 0)
            op.location = FileLineColLoc(StringAttr(self._name), IntAttr(line + 1), IntAttr(col + 1))
        return op


def parse_text(text: str, name: str = "<string>", ctx: Context | None = None) -> ModuleOp:
    """Parse and verify CIR text. Raises CircError naming file:line:col."""
    try:
        module = LocatingParser(ctx or make_context(), text, name).parse_module()
    except ParseError as e:
        raise CircError(_parse_error_message(e)) from None
    verify(module)
    return module


def parse_file(path: str | os.PathLike[str], ctx: Context | None = None) -> ModuleOp:
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise CircError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CircError(f"{p}: cannot read ({e})") from None
    module = parse_text(text, str(p), ctx)
    from cir.weights import set_base_dir

    set_base_dir(module, p.parent)
    return module


def _parse_error_message(e: ParseError) -> str:
    loc = e.span.get_location()
    context = e.span.print_with_context(e.msg).rstrip()
    # print_with_context starts with "name:line:col"; keep the source excerpt after it
    first, _, rest = context.partition("\n")
    return f"{loc.file}:{loc.line}:{loc.col}: {e.msg}" + (f"\n{rest}" if rest else "")


def verify(module: Operation) -> None:
    """Verify every op; on failure name the op, its location and the broken rule."""
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except DiagnosticException as e:
            raise CircError(f"{describe_op(op)}: {_first_line(e)}") from None


def _first_line(e: Exception) -> str:
    msg = str(e.args[0]) if e.args else str(e)
    msg = " ".join(line.strip() for line in msg.splitlines() if line.strip())
    return msg.removeprefix("Operation does not verify: ") or type(e).__name__


def to_text(module: Operation, generic: bool = False, debuginfo: bool = False) -> str:
    out = StringIO()
    Printer(stream=out, print_generic_format=generic, print_debuginfo=debuginfo).print_op(module)
    return out.getvalue() + "\n"


__all__ = ["parse_text", "parse_file", "verify", "to_text", "VerifyException"]
