"""Fuzzing CIR text and pass-pipeline text (issue 14): ``cir.io.parse_text`` /
``parse_pipeline`` / ``circ-opt`` either succeed or raise one clean ``CircError``.

(a) byte mutations of the functions in tests/filecheck, printed back and re-parsed when they
parse; (b) grammar-aware CIR: random attribute values and nesting, random tensor types with
huge dimensions, random op names with quotes and escapes, CIR ops in generic form with random
operands, properties and results; (c) pipeline text, applied to a small module when it parses;
(d) a few circ-opt runs.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from functools import cache
from pathlib import Path

from harness import expect_clean, expect_clean_cli, mutated
from hypothesis import event, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp

import cir.io
from cir.app.pipeline import apply_pipeline, parse_pipeline
from cir.errors import CircError
from cir.registry import get_all_passes, make_context

FILECHECK = Path(__file__).resolve().parent.parent / "filecheck"
SEED_FILES = ["transforms/cse.mlir", "transforms/canonicalize.mlir", "transforms/layout.mlir",
              "transforms/normalize-torch.mlir", "transforms/normalize-onnx.mlir",
              "dialects/cir/ops.mlir", "dialects/cir/fused.mlir", "lowering/lower-to-ascendc.mlir",
              "lowering/attention.mlir"]
NAME = "fuzz.mlir"


# --- seeds, read from tests/filecheck at test time -----------------------------------------


@cache
def seed_functions() -> tuple[str, ...]:
    """The top-level ops of the seed files (a module, or each function), without comments, if
    small enough to fuzz quickly."""
    chunks: list[str] = []
    for rel in SEED_FILES:
        for part in (FILECHECK / rel).read_text().split("// -----"):
            text = "\n".join(ln for ln in part.splitlines() if not ln.lstrip().startswith("//"))
            if text.lstrip().startswith("builtin.module"):
                chunks.append(text.strip() + "\n")
            else:  # a function ends at the first unindented "}"
                chunks += [f + "\n" for f in re.findall(r"(?ms)^\S.*?^}$", text)]
    return tuple(c for c in chunks if len(c) < 2500)


@cache
def op_templates() -> tuple[tuple[str, str], ...]:
    """(a function's header without results and its ops before `line`, `line`) for every
    single-line CIR op of the seeds."""
    templates = []
    for chunk in seed_functions():
        header, _, body = chunk.partition("\n")
        if not (header.startswith("func.func") and header.endswith("{")):
            continue
        head = [re.sub(r"\)\s*->.*\{$", ") {", header)]
        for line in body.splitlines():
            if re.match(r"\s*%\S+ = cir\.\w+ .* : ", line):
                templates.append(("\n".join(head), line))
            head.append(line)
            if "func.return" in line:
                break
    return tuple(templates)


def in_function(head: str, line: str) -> str:
    return f"{head}\n{line}\n  func.return\n}}\n"


# --- what is checked ---------------------------------------------------------------------


def check_text(text: str) -> None:
    """Parsing `text` is clean; a module that parses prints back to text that parses again."""
    module = expect_clean(cir.io.parse_text, text, NAME)
    event("parsed" if isinstance(module, ModuleOp) else "refused")
    if isinstance(module, ModuleOp):
        for generic in (False, True):
            printed = expect_clean(cir.io.to_text, module, generic)
            assert isinstance(printed, str), printed
            again = expect_clean(cir.io.parse_text, printed, NAME)
            assert isinstance(again, ModuleOp), f"printed module does not parse: {again}\n{printed}"


# --- (a) mutations -----------------------------------------------------------------------


@given(st.data())
def test_mutated_seed_text(data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(seed_functions()), label="seed")
    edits = data.draw(st.integers(1, 8), label="edits")
    blob = data.draw(mutated(seed.encode(), max_edits=edits), label="mutated")
    decoded = expect_clean(cir.io.decode_source, blob, NAME)  # not UTF-8: a clean CircError
    if isinstance(decoded, str):
        check_text(decoded)


# --- (b) grammar-aware generation --------------------------------------------------------

HUGE = [2**31, 2**32 + 1, 2**62, 2**63 - 1, 2**63, 2**64, 10**30, 100_000_000_000]
DIMS = st.one_of(st.integers(0, 8), st.sampled_from(HUGE), st.just("?"))
ELEMENTS = st.one_of(st.sampled_from(["f32", "f16", "i64"]), st.sampled_from(
    ["bf16", "f64", "i1", "i8", "i32", "ui8", "si32", "index", "complex<f32>", "i0", "i99999",
     "f8E4M3FN", "tensor<2xf32>", "none", "!cir.nope", "memref<2xf32>"]))
ESCAPY = "ab \"\\\nt0fFx{}<>[]=,:%@#"


@st.composite
def tensor_types(draw: st.DrawFn) -> str:
    dims = draw(st.lists(DIMS, max_size=5))
    return f"tensor<{''.join(f'{d}x' for d in dims)}{draw(ELEMENTS)}>"


def string_literals() -> st.SearchStrategy[str]:
    """Quoted text with random escapes, sometimes unterminated."""
    return st.builds(lambda body, end: f'"{body}{end}', st.text(ESCAPY, max_size=40),
                     st.sampled_from(['"', '"', "", "\\", '\\"']))


NUMBERS = st.one_of(st.integers(-(2**70), 2**70).map(str), st.floats().map(repr),
                    st.sampled_from(["0x7FC00000", "1e999", "-0.0", "1.", "0x", "nan", "inf",
                                     "9" * 5000, "1.0e-99999"]))
LEAVES = st.one_of(
    NUMBERS, string_literals(), st.sampled_from(["true", "false", "unit", "f32", "@sym", "#loc"]),
    tensor_types(),
    st.builds(lambda v, t: f"dense<{v}> : {t}", NUMBERS, tensor_types()),
    st.builds(lambda vs, t: f"array<{t}: {', '.join(vs)}>", st.lists(NUMBERS, max_size=4),
              st.sampled_from(["i64", "i32", "f32", "i1", "x"])),
)
ATTRIBUTES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda xs: f"[{', '.join(xs)}]"),
        st.lists(st.tuples(st.from_regex(r"[a-z_]{1,6}", fullmatch=True), inner), max_size=3)
        .map(lambda kvs: "{" + ", ".join(f"{k} = {v}" for k, v in kvs) + "}"),
        st.builds(lambda v, t: f"dense<[{v}]> : {t}", inner, tensor_types()),
    ),
    max_leaves=12,
)
DEEP = st.builds(lambda n, kind: kind[0] * n + "1" + kind[1] * n, st.integers(0, 6000),
                 st.sampled_from([("[", "]"), ("{a = ", "}"), ("dense<[", "]> : tensor<1xf32>"),
                                  ("tensor<", ">")]))


@given(st.data(), st.one_of(ATTRIBUTES, DEEP))
def test_random_attributes(data: st.DataObject, attribute: str) -> None:
    head, line = data.draw(st.sampled_from(op_templates()), label="op")
    keys = re.findall(r"(\w+) =", m.group(1)) if (m := re.search(r"\{(.*)\}", line)) else []
    key = data.draw(st.sampled_from([*keys, "a", "cir.name"]), label="key")
    new_dict = f"{{{key} = {attribute}}}"
    if m:
        line = line[:m.start()] + new_dict + line[m.end():]
    else:
        line = line.replace(" : ", f" {new_dict} : ", 1)
    check_text(in_function(head, line))


TENSOR_TYPE = re.compile(r"tensor<[^<>]*(?:<[^<>]*>[^<>]*)*>")


@given(st.data())
def test_random_types(data: st.DataObject) -> None:
    """A type of an op's function replaced by a random one: everywhere it occurs (so ops whose
    operands and results agree still verify, now with huge dimensions), or just once."""
    head, line = data.draw(st.sampled_from(op_templates()), label="op")
    text = in_function(head, line)
    old = data.draw(st.sampled_from(sorted(set(TENSOR_TYPE.findall(line)))), label="old")
    new = data.draw(tensor_types(), label="new")
    if data.draw(st.booleans(), label="everywhere"):
        text = text.replace(old, new)
    else:
        text = text.replace(old, new, 1)
    check_text(text)


OP_NAMES = st.one_of(
    st.builds(lambda s: f"cir.{s}", st.text(ESCAPY + "._$", max_size=20)),
    st.builds(lambda s: f'"cir.{s}"', st.text(ESCAPY + "._$", max_size=20)),
    string_literals(),
)


@given(st.data(), OP_NAMES)
def test_random_op_names(data: st.DataObject, name: str) -> None:
    head, line = data.draw(st.sampled_from(op_templates()), label="op")
    check_text(in_function(head, re.sub(r"cir\.\w+", lambda _: name, line, count=1)))


@cache
def cir_ops() -> tuple[tuple[str, int, int, tuple[str, ...]], ...]:
    """(name, operand count, result count, property names) of every CIR op."""
    ctx = make_context()
    ctx.load_registered_dialect("cir")
    defs = [(op.name, op.get_irdl_definition()) for op in ctx.loaded_ops
            if op.name.startswith("cir.")]
    return tuple((name, len(d.operands), len(d.results), tuple(d.properties)) for name, d in defs)


@given(st.data())
def test_generic_ops(data: st.DataObject) -> None:
    """A CIR op in generic form: random operands, properties and result types (as many operands
    and results as the op defines, mostly)."""
    name, n_operands, n_results, props = data.draw(st.sampled_from(cir_ops()), label="op")
    some_type = st.one_of(st.just("tensor<2x3xf32>"), tensor_types())
    count = st.one_of(st.just(n_operands), st.integers(0, 3))
    types = data.draw(count.flatmap(lambda n: st.lists(some_type, min_size=n, max_size=n)),
                      label="operands")
    keys = st.one_of(st.sampled_from([*props, "x"]), st.from_regex(r"[a-z_]{1,6}", fullmatch=True))
    entries = data.draw(st.lists(st.tuples(keys, ATTRIBUTES), max_size=3, unique_by=lambda e: e[0]),
                        label="properties")
    count = st.one_of(st.just(n_results), st.integers(0, 2))
    results = data.draw(count.flatmap(lambda n: st.lists(some_type, min_size=n, max_size=n)),
                        label="results")
    args = ", ".join(f"%a{i}: {t}" for i, t in enumerate(types))
    operands = ", ".join(f"%a{i}" for i in range(len(types)))
    properties = ", ".join(f"{k} = {v}" for k, v in entries)
    op = (f'"{name}"({operands}) <{{{properties}}}> : ({", ".join(types)}) '
          f'-> ({", ".join(results)})')
    lhs = ", ".join(f"%r{i}" for i in range(len(results)))
    check_text(in_function(f"func.func @f({args}) {{", f"  {lhs} = {op}" if results else f"  {op}"))


# --- (c) pipeline text -------------------------------------------------------------------

PASSES = get_all_passes()
VALUES = st.one_of(NUMBERS, string_literals(), st.sampled_from(
    ["true", "false", "f16", "sd_optimized", "Ascend310P3", "[cse]", "", "1,2,3", "a b"]))
PUNCTUATION = st.sampled_from(["{", "}", ",", "=", " ", '"', "[", "]", "\\", "\x00", "\n"])


@st.composite
def pipelines(draw: st.DrawFn) -> str:
    """Mostly real passes with their own options and random values, a few stray characters."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.one_of(st.sampled_from(sorted(PASSES)), st.text(ESCAPY, max_size=8)))
        fields = [f.name for f in dataclasses.fields(PASSES[name]())] if name in PASSES else []
        keys = st.sampled_from([*fields, "x"])
        options = draw(st.lists(st.tuples(keys, VALUES), max_size=3))
        body = " ".join(f"{k}={v}" for k, v in options)
        parts.append(f"{name}{{{body}}}" if options or draw(st.booleans()) else name)
    spec = draw(st.sampled_from([",", ", ", " ,"])).join(parts)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(spec)))
        spec = spec[:at] + draw(PUNCTUATION) + spec[at:]
    return spec


SMALL_MODULE = """func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = cir.relu %x : tensor<2x3xf32>
  %b = cir.add %a, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %b : tensor<2x3xf32>
}
"""


VALID_PIPELINE = b"canonicalize,aigc-fusion{preset=sd_optimized report=true},cse"


@given(st.one_of(pipelines(), mutated(VALID_PIPELINE).map(lambda b: b.decode("utf-8", "replace"))))
def test_pipeline_text(spec: str) -> None:
    parsed = not isinstance(expect_clean(parse_pipeline, spec), CircError)
    event("parsed" if parsed else "refused")
    if parsed:
        expect_clean(apply_pipeline, cir.io.parse_text(SMALL_MODULE), spec)


# --- (d) the circ-opt command line -------------------------------------------------------


@settings(max_examples=5)
@given(st.data(), st.sampled_from(["", "canonicalize,cse", "canonicalize{", "dce,x"]))
def test_circ_opt_cli(data: st.DataObject, spec: str) -> None:
    seed = data.draw(st.sampled_from(seed_functions()), label="seed")
    blob = data.draw(mutated(seed.encode()), label="mutated")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / NAME
        path.write_bytes(blob)
        expect_clean_cli(["circ-opt", str(path), *(["-p", spec] if spec else [])], cwd=tmp)
