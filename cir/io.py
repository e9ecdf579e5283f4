"""Reading and writing CIR text, with errors that point at file:line:col.

Ops parsed from text get a ``loc("file":line:col)`` location when the text gave none, so a
verifier error on a hand-written file names the line of the offending op.

Whatever the text, parsing ends in a module or in one ``CircError`` naming file:line:col, never
a hang, a ``RecursionError`` or a ``MemoryError``: the lexer's string-literal pattern cannot
backtrack (xDSL's backtracks exponentially on an unterminated string), nesting deeper than
``MAX_NESTING`` and dense literals larger than ``MAX_DENSE_ELEMENTS`` are refused (xDSL builds a
splat ``dense<0.0>`` element by element), and a byte that is not UTF-8 is named.
"""

from __future__ import annotations

import bisect
import math
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

from xdsl.context import Context
from xdsl.dialects.builtin import (
    AnyDenseElement,
    DenseIntOrFPElementsAttr,
    FileLineColLoc,
    IntAttr,
    ModuleOp,
    RankedStructure,
    StringAttr,
    UnknownLoc,
)
from xdsl.ir import Attribute, Operation, Region, TypeAttribute
from xdsl.parser import Parser, ParserState
from xdsl.printer import Printer
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException
from xdsl.utils.lexer import Input, Span
from xdsl.utils.mlir_lexer import MLIRLexer, MLIRTokenKind

from cir.errors import CircError, describe_op
from cir.registry import make_context
from cir.weights import set_base_dir

MAX_DENSE_ELEMENTS = 1 << 24
"""The most elements a ``dense<...>`` literal in IR text may have (a splat of a larger type
would take seconds to minutes and gigabytes to build). Large tensors belong in the weights file."""

MAX_NESTING = 32
"""The deepest nesting of attributes, tensor literals and regions, and separately of types,
accepted in IR text: a fixed limit, well inside Python's recursion limit, so that whatever
parses also prints and parses again (nothing real comes close)."""

_EXCERPT_WIDTH = 120
_MODULE_NAMES = ("builtin.module", '"builtin.module"', "module")


class _Lexer(MLIRLexer):
    """xDSL's lexer with a string-literal pattern that fails in linear time.

    xDSL's pattern nests ``+`` inside ``*``, so an unterminated string (``cir.a"b ...``)
    backtracks exponentially in the length of the rest of its line. The possessive
    quantifiers accept exactly the same strings without backtracking."""

    _unescaped_characters_regex = re.compile(
        r'"(?:[^"\\\n\v\f]++|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*+"'
    )


class LocatingParser(Parser):
    """A Parser that stamps every op without a location with the file:line:col it came from,
    refuses huge dense literals and reports exceptions raised inside an op's parser (a
    VerifyException from its constructor, say) as a ParseError at the op.

    The constructor lexes the first token, so it may raise ParseError too."""

    def __init__(self, ctx: Context, text: str, name: str = "<string>"):
        super().__init__(ctx, "", name)
        self._parser_state = ParserState(_Lexer(Input(text, name)))
        self._name = name
        self._newlines = [i for i, ch in enumerate(text) if ch == "\n"]
        # types count apart: printing adds a type to an integer (`1 : i64`)
        self._depth = {"attributes and regions": 0, "types": 0}

    def parse_module(self, allow_implicit_module: bool = True) -> ModuleOp:
        # printing wraps ops in a builtin.module when the text had none: count it as a level
        if allow_implicit_module and self._current_token.text not in _MODULE_NAMES:
            self._depth["attributes and regions"] += 1
        return super().parse_module(allow_implicit_module)

    def parse_operation(self) -> Operation:
        start = self._current_token.span.start
        try:
            op = super().parse_operation()
        except DiagnosticException as e:
            self.raise_error(_first_line(e), start, max(start + 1, self._current_token.span.start))
        if isinstance(op.location, UnknownLoc):
            line = bisect.bisect_left(self._newlines, start)
            col = start - (self._newlines[line - 1] + 1 if line else 0)
            op.location = FileLineColLoc(StringAttr(self._name), IntAttr(line + 1), IntAttr(col + 1))
        return op

    def parse_optional_attribute(self) -> Attribute | None:
        with self._nested("attributes and regions"):
            return super().parse_optional_attribute()

    def parse_optional_region(
        self, arguments: Iterable[Parser.Argument] | None = None
    ) -> Region | None:
        with self._nested("attributes and regions"):
            return super().parse_optional_region(arguments)

    def _parse_tensor_literal(self) -> tuple[list[Any], list[int]]:
        with self._nested("attributes and regions"):
            return super()._parse_tensor_literal()

    def parse_optional_type(self) -> TypeAttribute | None:
        with self._nested("types"):
            return super().parse_optional_type()

    @contextmanager
    def _nested(self, kind: str) -> Iterator[None]:
        if self._depth[kind] >= MAX_NESTING:
            self.raise_error(f"nested too deeply (more than {MAX_NESTING} levels)")
        self._depth[kind] += 1
        try:
            yield
        finally:
            self._depth[kind] -= 1

    def parse_dense_int_or_fp_elements_attr(
        self, type: RankedStructure[AnyDenseElement] | None
    ) -> DenseIntOrFPElementsAttr:
        if type is not None:  # the type came first (an attribute's typed parameter)
            self._check_dense_size(type, self._current_token.span.start)
        return super().parse_dense_int_or_fp_elements_attr(type)

    def _parse_dense_literal_type(self) -> RankedStructure[AnyDenseElement]:
        start = self._current_token.span.start
        type = super()._parse_dense_literal_type()
        self._check_dense_size(type, start)
        return type

    def _check_dense_size(self, type: RankedStructure[AnyDenseElement], at: int) -> None:
        count = math.prod(type.get_shape())
        if count > MAX_DENSE_ELEMENTS:
            size = count * getattr(type.element_type, "compile_time_size", 1)
            self.raise_error(
                f"dense literal of {count} elements ({_bytes(size)}) is too large for IR text "
                f"(at most {MAX_DENSE_ELEMENTS} elements); keep large tensors in the weights file",
                at, self._current_token.span.start)


def parse_unverified(text: str, name: str = "<string>", ctx: Context | None = None,
                     implicit_module: bool = True) -> ModuleOp:
    """Parse CIR text without verifying it. Raises CircError naming file:line:col."""
    parser: LocatingParser | None = None
    try:
        parser = LocatingParser(ctx or make_context(), text, name)
        if parser._current_token.kind == MLIRTokenKind.EOF:
            raise CircError(f"{name}: empty input (no operations)")
        return parser.parse_module(implicit_module)
    except CircError:
        raise
    except ParseError as e:
        raise CircError(_parse_error_message(e)) from None
    except RecursionError:  # what MAX_NESTING does not count: affine maps, locations
        raise CircError(_at_parser(parser, name, "nested too deeply")) from None
    except Exception as e:  # whatever else the text makes xDSL or an op's parser trip on
        raise CircError(_at_parser(parser, name, _describe(e))) from e


def parse_text(text: str, name: str = "<string>", ctx: Context | None = None) -> ModuleOp:
    """Parse and verify CIR text. Raises CircError naming file:line:col."""
    module = parse_unverified(text, name, ctx)
    verify(module)
    return module


def parse_file(path: str | os.PathLike[str], ctx: Context | None = None) -> ModuleOp:
    module = parse_text(read_source(path), str(path), ctx)
    set_base_dir(module, Path(path).parent)
    return module


def read_source(path: str | os.PathLike[str]) -> str:
    """The text of a CIR file. Raises CircError when it is missing, unreadable or not UTF-8."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise CircError(f"{path}: no such file") from None
    except OSError as e:
        raise CircError(f"{path}: cannot read ({e.strerror or e})") from None
    except ValueError as e:  # a NUL in the path
        raise CircError(f"{printable(repr(str(path)))}: not a valid path ({e})") from None
    return decode_source(data, str(path))


def decode_source(data: bytes, name: str) -> str:
    """`data` as text (a leading byte-order mark dropped); CircError at the first byte that is
    not UTF-8."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line_start = data.rfind(b"\n", 0, e.start) + 1
        line = data.count(b"\n", 0, e.start) + 1
        col = len(data[line_start:e.start].decode("utf-8", "replace")) + 1
        byte = data[e.start]
        raise CircError(f"{name}:{line}:{col}: not UTF-8 text (byte 0x{byte:02x})") from None


def _at_parser(parser: LocatingParser | None, name: str, msg: str) -> str:
    """`msg` at the token the parser stopped on."""
    if parser is None:
        return f"{name}: {msg}"
    return _parse_error_message(ParseError(parser._current_token.span, msg))


def _describe(e: Exception) -> str:
    msg = printable(str(e))
    if digits := re.match(r"Exceeds the limit \((\d+) digits\).* has (\d+) digits", msg):
        return f"integer literal of {digits[2]} digits (at most {digits[1]})"
    if isinstance(e, MemoryError):
        return "out of memory while parsing"
    return f"cannot parse this ({type(e).__name__}{': ' + msg if msg else ''})"


def _parse_error_message(e: ParseError) -> str:
    """``file:line:col: message`` and, below it, the source line with a caret under the place."""
    loc = e.span.get_location()
    return f"{loc.file}:{loc.line}:{loc.col}: {printable(_reword(e))}\n{_excerpt(e.span)}"


def _reword(e: ParseError) -> str:
    """Two xDSL lexer messages that mislead."""
    if e.msg == "End of file reached before closing string literal.":
        return "unterminated string literal (no closing '\"' on its line)"
    return e.msg.replace("{first_char}", repr(e.span.text[:1]))  # an f-string without its f


def _excerpt(span: Span[str] | Span[bytes]) -> str:
    """The span's first line (at most _EXCERPT_WIDTH characters around it) and a caret line."""
    source = span.input
    line_start = source.get_start_of_line(span.start)
    line_end = source.get_end_of_line(span.start)
    first = max(line_start, span.start - _EXCERPT_WIDTH // 2)
    last = min(line_end, first + _EXCERPT_WIDTH)
    text = source.content[first:last]
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # one printable character for each source character, so the caret stays under its place
    shown = "".join(ch if ch.isprintable() else " " for ch in text).rstrip()
    carets = max(1, min(span.end, last) - span.start)
    return f"{shown}\n{' ' * (span.start - first)}{'^' * carets}"


def printable(text: str) -> str:
    """`text` on one line: whitespace runs become one space, control characters escapes."""
    text = " ".join(text.split())
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size < 1000:
            return f"{size:.3g} {unit}"
        size /= 1000
    return f"{size:.3g} EB"


def verify(module: Operation) -> None:
    """Verify every op; on failure name the op, its location and the broken rule."""
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except DiagnosticException as e:
            raise CircError(f"{describe_op(op)}: {_first_line(e)}") from None


def diagnostic_line(e: BaseException) -> str:
    """The first line of an xDSL diagnostic (its notes may print the whole module)."""
    first = next((line for line in str(e).splitlines() if line.strip()), "")
    return printable(first) or type(e).__name__


def _first_line(e: Exception) -> str:
    msg = str(e.args[0]) if e.args else str(e)
    msg = printable(msg)
    return msg.removeprefix("Operation does not verify: ") or type(e).__name__


def to_text(module: Operation, generic: bool = False, debuginfo: bool = False) -> str:
    out = StringIO()
    Printer(stream=out, print_generic_format=generic, print_debuginfo=debuginfo).print_op(module)
    return out.getvalue() + "\n"


__all__ = [
    "MAX_DENSE_ELEMENTS",
    "MAX_NESTING",
    "VerifyException",
    "parse_file",
    "parse_text",
    "parse_unverified",
    "read_source",
    "to_text",
    "verify",
]
