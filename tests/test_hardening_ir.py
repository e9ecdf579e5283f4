"""Bad CIR text and bad pipeline text (issue 14): circ answers quickly with one clean
``CircError`` naming file:line:col (``circ-opt: error: ...``, exit 1), never a hang, a
traceback or an internal error."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import cir
from cir.app.pipeline import parse_pipeline
from cir.errors import CircError
from cir.io import MAX_DENSE_ELEMENTS, MAX_NESTING

BIN = Path(sys.executable).parent


def func(body: str) -> str:
    """`body` (one line) inside a function, on line 2 of the text."""
    return ("func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {\n"
            f"  {body}\n"
            "  func.return %x : tensor<2xf32>\n"
            "}\n")


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def on_alarm(signum: int, frame: Any) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def api_error(fn: Callable[..., Any], *args: Any) -> str:
    """`fn(*args)` must raise a CircError quickly; its message."""
    with time_limit(10), pytest.raises(CircError) as info:
        fn(*args)
    return str(info.value)


def opt_error(*args: str | Path, stdin: bytes | None = None) -> str:
    """Run circ-opt: it must fail with exit 1 and one `circ-opt: error:` line; that line."""
    proc = subprocess.run([str(BIN / "circ-opt"), *map(str, args)], input=stdin, check=False,
                          capture_output=True, timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("circ-opt: error: ")]
    assert len(errors) == 1, err
    return errors[0]


def both(tmp_path: Path, content: str | bytes) -> tuple[str, str, str]:
    """The error of parse_text (str content only), of parse_file and of circ-opt."""
    data = content.encode() if isinstance(content, str) else content
    path = tmp_path / "bad.mlir"
    path.write_bytes(data)
    text_error = api_error(cir.parse_text, content, str(path)) if isinstance(content, str) else ""
    return text_error, api_error(cir.parse_file, path), opt_error(path)


# --- the hang: an unterminated string literal -------------------------------------------


@pytest.mark.parametrize("body", [
    '%m = cir.a"b %x : tensor<2xf32>',
    '%m = cir.a"' + "b" * 60 + " %x : tensor<2xf32>",
    '%m = cir.relu %x {a = "' + "x" * 60 + "} : tensor<2xf32>",
])
def test_unterminated_string_fails_fast(tmp_path, body):
    for message in both(tmp_path, func(body)):
        assert "bad.mlir:2:" in message and "string literal" in message


def test_unterminated_string_at_start_of_file(tmp_path):
    for message in both(tmp_path, '"' + "a" * 60 + "\n"):
        assert "bad.mlir:1:1:" in message


# --- internal errors on bad input --------------------------------------------------------


@pytest.mark.parametrize("text", [
    func("%m = cir.relu %x {a = " + "[" * 5000 + "]" * 5000 + "} : tensor<2xf32>"),
    "builtin.module {\n" * 3000 + "}\n" * 3000,
    func("%m = cir.relu %x {a = " + "{b = " * 3000 + "1" + "}" * 3000 + "} : tensor<2xf32>"),
])
def test_deep_nesting(tmp_path, text):
    for message in both(tmp_path, text):
        assert "bad.mlir:" in message and "nested too deeply" in message


def nest(depth: int, kind: tuple[str, str]) -> str:
    return func(f"%m = cir.relu %x {{a = {kind[0] * depth}f32{kind[1] * depth}}} : tensor<2xf32>")


def at_stack_depth(frames: int, fn: Callable[[], Any]) -> Any:
    return fn() if frames == 0 else at_stack_depth(frames - 1, fn)


@pytest.mark.parametrize("kind", [("[", "]"), ("{b = ", "}"), ("tuple<", ">"), ("() -> (", ")")])
def test_nesting_limit_does_not_depend_on_the_stack(kind):
    """What parses prints and parses again, however deep the caller's stack."""
    ok = nest(MAX_NESTING - 4, kind)
    module = at_stack_depth(300, lambda: cir.parse_text(ok))
    assert cir.parse_text(cir.to_text(module))
    message = api_error(cir.parse_text, nest(MAX_NESTING + 1, kind))
    assert f"nested too deeply (more than {MAX_NESTING} levels)" in message


@pytest.mark.parametrize("text, where", [
    ('"' + func(""), "1:1"),
    ("\x00" + func(""), "1:1"),
    ("#@!junk\n" + func(""), "1:1"),
    ("#", "1:1"),
    ("%", "1:1"),
    (func("%m = cir.relu %x : tensor<2xf32>\x00"), "2:"),
])
def test_lex_error_at_start(tmp_path, text, where):
    for message in both(tmp_path, text):
        assert f"bad.mlir:{where}" in message
        assert "{first_char}" not in message and "\x00" not in message


@pytest.mark.parametrize("body", [
    "%c = cir.constant dense<1.0> : tensor<100000000000xf32>",
    "%c = cir.constant dense<1> : tensor<100000x100000x100000xi64>",
    '%c = cir.constant dense<"0x0000803F"> : tensor<100000000000xf32>',
    "%m = cir.relu %x {a = dense<1.0> : tensor<100000000000xf32>} : tensor<2xf32>",
    f"%m = cir.relu %x {{a = dense<0> : tensor<{MAX_DENSE_ELEMENTS + 1}xi8>}} : tensor<2xf32>",
])
def test_huge_dense_refused_before_materialising(tmp_path, body):
    for message in both(tmp_path, func(body)):
        assert "bad.mlir:2:" in message and "too large" in message
        assert "elements" in message


def test_dense_at_the_limit_parses():
    n = 1 << 10
    body = f"%m = cir.relu %x {{a = dense<0> : tensor<{n}xi8>}} : tensor<2xf32>"
    module = cir.parse_text(func(body))
    assert f"tensor<{n}xi8>" in cir.to_text(module)


def test_non_utf8(tmp_path):
    _, file_error, cli_error = both(tmp_path, b"func.func @main() {\n  \xff\xfe\n}\n")
    for message in (file_error, cli_error):
        assert "bad.mlir:2:3:" in message and "UTF-8" in message
    stdin_error = opt_error(stdin=b"\n\n  \x80")
    assert ":3:3:" in stdin_error and "UTF-8" in stdin_error


@pytest.mark.parametrize("path, fragment", [("a\x00b", "not a valid path"),
                                            ("/nonexistent/m.mlir", "no such file"),
                                            (".", "cannot read")])
def test_bad_paths(path, fragment):
    assert fragment in api_error(cir.parse_file, path)


@pytest.mark.parametrize("text", ["", "   \n", "// only a comment\n"])
def test_empty_input(tmp_path, text):
    for message in both(tmp_path, text):
        assert "bad.mlir: empty input" in message


def test_verifier_exception_inside_a_parser_names_the_op(tmp_path):
    for message in both(tmp_path, func('%m = arith.constant"b" %x : tensor<2xf32>')):
        assert "bad.mlir:2:" in message


@pytest.mark.parametrize("output", ["missing/out.mlir", "."])
def test_unwritable_output(tmp_path, output):
    path = tmp_path / "ok.mlir"
    path.write_text(func(""))
    assert "cannot write" in opt_error(path, "-o", tmp_path / output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.mlir"]


def test_only_cir_targets():
    proc = subprocess.run([str(BIN / "circ-opt"), "-t", "riscv-asm"], capture_output=True,
                          check=False, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "invalid choice: 'riscv-asm'" in proc.stderr


def test_split_input_file_keeps_lines(tmp_path):
    path = tmp_path / "bad.mlir"
    path.write_text(func("") + "// -----\n" + func('%m = cir.a"' + "b" * 60))
    assert "bad.mlir:7:" in opt_error(path, "--split-input-file")


def test_message_is_one_line_and_excerpt():
    text = func("%m = cir.relu %x : tensor<2xf32> \x0b\x0c\x1c junk")
    message = api_error(cir.parse_text, text, "m.mlir")
    first, *excerpt = message.split("\n")
    assert first.startswith("m.mlir:2:") and len(excerpt) == 2 and excerpt[1].strip() == "^"
    assert all(line.isprintable() for line in excerpt)


# --- pass pipeline text ------------------------------------------------------------------


@pytest.mark.parametrize("spec, fragment", [
    ("canonicalize{", "column 14"),
    ("cse,,dce", "column 5"),
    ("cse{a=\"\\f\"}", "cse"),
    ("layout{soc=" + "9" * 5000 + "}", "layout"),
    ("cse{" + "{" * 5000, "column 5"),
    ("\x00", "\\x00"),
])
def test_bad_pipeline_text(spec, fragment):
    message = api_error(parse_pipeline, spec)
    assert "\n" not in message and fragment in message and len(message) < 400


def test_bad_pipeline_cli(tmp_path):
    path = tmp_path / "ok.mlir"
    path.write_text(func(""))
    assert "column 14" in opt_error(path, "-p", "canonicalize{")
