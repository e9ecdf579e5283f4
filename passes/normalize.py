"""Import dialect -> CIR, driven by an op-mapping table (data, one TOML file per framework).

A table maps each framework operator to one or more *variants*; the first variant whose
``when`` holds is used::

    [["aten.convolution.default"]]
    when = "not transposed"
    cir = "cir.conv2d"
    operands = ["input", "weight", "bias"]
    attrs = { strides = "stride", pads = "pads4(padding)", dilations = "dilation", groups = "groups" }

Fields: ``cir`` (a CIR op name, or ``identity`` / ``constant``), ``operands`` (schema argument
names of tensors; any other expression becomes a scalar constant; ``%name`` refers to an earlier
step), ``attrs`` (CIR property -> expression over the op's arguments, see ``table_expr``),
``when`` (guard), ``promote`` (``result``: cast operands to the result dtype; ``common``: to
their common dtype), ``steps`` (a list of such op specs for multi-op mappings, each with an
``as`` name), ``results`` (which framework results the CIR op's results stand for), ``note``.
``expand`` names an expansion instead of ``cir``/``steps``: a function a framework's normaliser
registers in ``EXPANSIONS`` for the few operators whose op count depends on the operands
(PyTorch advanced indexing ``x[i, :, j]``: one gather, or transposes around a gather_nd).

Every framework op must map: the pass first collects every op without a matching variant and
stops with one message listing each operator, its count and its first location.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from cir.dialects.framework_op import FrameworkOp
from cir.passes.rewrite_utils import dense_attr
from cir.passes.table_expr import ExprError, evaluate, parse_expr
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)
from xdsl.utils.exceptions import VerifyException

from cir import ops as cir_ops
from cir.errors import CircError, describe_location
from cir.types import dtype_from_numpy, dtype_of, tensor

TABLES = Path(__file__).parent / "tables"
SPECIAL = ("identity", "constant")

# name -> function(emitter) -> the values standing for the framework op's results; filled
# by the framework normalisers (normalize_torch.py), named by table entries' `expand`.
EXPANSIONS: dict[str, Callable[[Emitter], list[SSAValue]]] = {}


def cir_op_classes() -> dict[str, type[Operation]]:
    return {op.name: op for op in cir_ops.CIR.operations}


@dataclass(frozen=True)
class OpSpec:
    cir: str
    operands: tuple[str, ...] = ()
    attrs: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None  # `as`: how later steps refer to this one


@dataclass(frozen=True)
class Variant:
    source: str
    steps: tuple[OpSpec, ...]
    when: str | None = None
    promote: str | None = None
    results: tuple[int, ...] | None = None
    note: str = ""
    expand: str | None = None

    @property
    def summary(self) -> str:
        if self.expand:
            return f"expand:{self.expand}"
        return " ; ".join(s.cir for s in self.steps)


class MappingTable:
    """Framework operator name -> variants, loaded from TOML and checked on load."""

    def __init__(self, framework: str, dialect: str, variants: dict[str, list[Variant]]):
        self.framework = framework
        self.dialect = dialect
        self.variants = variants

    @classmethod
    def load(cls, path: Path, framework: str, dialect: str) -> MappingTable:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise CircError(f"{path}: cannot read the mapping table ({e})") from None
        table = cls(framework, dialect, {})
        table.extend(data, str(path))
        return table

    def extend(self, data: Mapping[str, Any], origin: str, front: bool = False) -> None:
        known = cir_op_classes()
        for source, entries in data.items():
            if source.startswith("_"):
                continue
            entries = entries if isinstance(entries, list) else [entries]
            variants = [_variant(source, e, known, origin) for e in entries]
            existing = self.variants.get(source, [])
            self.variants[source] = variants + existing if front else existing + variants

    def match(self, op: FrameworkOp) -> Variant | None:
        source = op.name.removeprefix(self.dialect + ".")
        env = op_env(op)
        for v in self.variants.get(source, []):
            try:
                if v.when is None or evaluate(v.when, env):
                    return v
            except (ExprError, TypeError, LookupError, ValueError, ZeroDivisionError):
                continue
        return None


def _variant(source: str, e: Mapping[str, Any], known: Mapping[str, Any], origin: str) -> Variant:
    where = f"{origin}: entry '{source}'"
    if not isinstance(e, Mapping):
        raise CircError(f"{where}: expected a table, got {type(e).__name__}")
    expand = e.get("expand")
    if expand is not None:
        if expand not in EXPANSIONS:
            raise CircError(f"{where}: unknown expansion '{expand}'")
        if e.get("when") is not None:
            try:
                parse_expr(e["when"])
            except ExprError as err:
                raise CircError(f"{where}: {err}") from None
        return Variant(source, (), e.get("when"), None, None, e.get("note", ""), expand)
    raw_steps = e.get("steps") or [e]
    steps = []
    for s in raw_steps:
        op = s.get("cir")
        if not isinstance(op, str):
            raise CircError(f"{where}: missing 'cir' (the CIR op to produce)")
        if op not in known and op not in SPECIAL:
            raise CircError(f"{where}: unknown CIR op '{op}'")
        attrs = dict(s.get("attrs", {}))
        for expr in [*attrs.values(), *[o for o in s.get("operands", []) if not o.startswith("%")]]:
            try:
                parse_expr(str(expr))
            except ExprError as err:
                raise CircError(f"{where}: {err}") from None
        if op in known:
            props = known[op].get_irdl_definition().properties
            for a in attrs:
                if a not in props:
                    raise CircError(f"{where}: {op} has no property '{a}'")
        steps.append(OpSpec(op, tuple(s.get("operands", [])), attrs, s.get("as")))
    for key in ("when",):
        if e.get(key) is not None:
            try:
                parse_expr(e[key])
            except ExprError as err:
                raise CircError(f"{where}: {err}") from None
    results = e.get("results")
    return Variant(source, tuple(steps), e.get("when"), e.get("promote"),
                   tuple(results) if results is not None else None, e.get("note", ""))


def op_env(op: FrameworkOp) -> dict[str, Any]:
    """What table expressions see: the op's arguments, its tensors' shapes, in/out shapes."""
    env: dict[str, Any] = dict(op.arg_values)
    for name in dict.fromkeys(op.operand_names):
        vals = op.operands_named(name)
        shapes = [list(_shape(v)) for v in vals]
        env[name] = shapes[0] if len(shapes) == 1 else shapes
    first_in = _shape(op.operands[0]) if op.operands else ()
    out = op.results[0].type if op.results else None
    env.update(
        dtypes={n: _dtype_name(op.operands_named(n)[0].type) for n in dict.fromkeys(op.operand_names)},
        in_shape=list(first_in),
        rank=len(first_in),
        out_shape=list(out.get_shape()) if isinstance(out, TensorType) else [],
        out_dtype=_dtype_name(out) if out is not None else None,
        in_dtype=_dtype_name(op.operands[0].type) if op.operands else None,
    )
    return _Env(env)


class _Env(dict):
    """Absent optional arguments read as None."""

    def __missing__(self, key: str) -> Any:
        return None

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        return True


def _shape(v: SSAValue) -> tuple[int, ...]:
    return v.type.get_shape() if isinstance(v.type, TensorType) else ()


def _dtype_name(t: Any) -> str | None:
    try:
        return dtype_of(t).name
    except VerifyException:
        return str(t.element_type) if isinstance(t, TensorType) else None


# --- rewriting -----------------------------------------------------------------------------


def scalar_constant(value: Any, dtype: str) -> cir_ops.ConstantOp:
    dt = tensor((), dtype)
    arr = np.asarray(value, dtype=dtype_of(dt).np)
    return cir_ops.ConstantOp(dense_attr(arr, dt))


def array_constant(value: Any, t: TensorType) -> cir_ops.ConstantOp:
    arr = np.broadcast_to(np.asarray(value, dtype=dtype_of(t).np), t.get_shape())
    return cir_ops.ConstantOp(dense_attr(arr, t))


class Emitter:
    """Builds the CIR ops for one framework op, in front of it."""

    def __init__(self, op: FrameworkOp, variant: Variant, rewriter: PatternRewriter, pass_name: str):
        self.op, self.variant, self.rewriter, self.pass_name = op, variant, rewriter, pass_name
        self.env = op_env(op)
        self.named: dict[str, SSAValue] = {}

    def fail(self, msg: str) -> CircError:
        where = describe_location(self.op.location)
        return CircError(f"{self.pass_name}: {self.variant.source}"
                         + (f" at {where}" if where else "") + f": {msg}")

    def insert(self, new: Operation) -> Operation:
        new.location = self.op.location
        self.rewriter.insert(new)
        return new

    def build(self, cls: type[Operation], *operands: Any, **props: Any) -> SSAValue:
        """Insert one CIR op (for expansions); an inconsistency is one error naming the op."""
        return self.insert(self.new_op(cls, operands, props)).results[0]

    def new_op(self, cls: type[Operation], operands: Sequence[SSAValue | None],
               props: Mapping[str, Any]) -> Operation:
        """A CIR op from its builder (operands positional, properties by name); a value its
        builder or verifier refuses is one error naming the op."""
        builder: Callable[..., Operation] = cls  # CIR ops are built like functions
        try:
            return builder(*operands, **props)
        except (VerifyException, TypeError, ValueError) as e:
            raise self.fail(f"cannot build {cls.name}: {e}") from None

    def cast(self, v: SSAValue, dtype: str) -> SSAValue:
        if _dtype_name(v.type) == dtype:
            return v
        return self.insert(cir_ops.CastOp(v, dtype)).results[0]

    def operand(self, expr: str, dtype: str | None) -> list[SSAValue | None]:
        if expr.startswith("%"):
            return [self.named[expr[1:]]]
        vals = self.op.operands_named(expr)
        if vals:
            return list(vals)
        value = evaluate(expr, self.env)
        if value is None:
            return [None]
        if isinstance(value, SSAValue):
            return [value]
        if isinstance(value, np.ndarray) and value.ndim:  # a helper's index table: its own dtype
            t = tensor(value.shape, dtype_from_numpy(value.dtype))
            return [self.insert(array_constant(value, t)).results[0]]
        return [self.insert(scalar_constant(value, dtype or "f32")).results[0]]

    def promote_dtype(self, values: Sequence[SSAValue]) -> str | None:
        if self.variant.promote == "result":
            return self.env["out_dtype"]
        if self.variant.promote == "common":
            names = [_dtype_name(v.type) for v in values]
            floats = [n for n in names if n in ("f32", "f16", "bf16")]
            return floats[0] if floats else (names[0] if names else None)
        return None

    def emit(self) -> list[SSAValue]:
        if self.variant.expand:
            return EXPANSIONS[self.variant.expand](self)
        last: list[SSAValue] = []
        for spec in self.variant.steps:
            last = self.emit_step(spec)
            if spec.name:
                self.named[spec.name] = last[0]
        return last

    def emit_step(self, spec: OpSpec) -> list[SSAValue]:
        out_t = self.op.results[0].type if self.op.results else None
        if spec.cir == "identity":
            found = self.operand(spec.operands[0], None)
            values = [v for v in found if v is not None]
            if len(values) != len(found):
                raise self.fail(f"identity of an absent operand '{spec.operands[0]}'")
            return values
        if spec.cir == "constant":
            assert isinstance(out_t, TensorType)
            value = evaluate(spec.attrs["value"], self.env)
            return list(self.insert(array_constant(value, out_t)).results)
        tensors = [v for v in self.op.operands]
        dtype = self.promote_dtype(tensors) or self.env["out_dtype"]
        operands: list[SSAValue | None] = []
        for expr in spec.operands:
            operands.extend(self.operand(expr, dtype))
        if self.variant.promote:
            target = self.promote_dtype([v for v in operands if v is not None])
            if target:
                operands = [self.cast(v, target) if v is not None else None for v in operands]
        props = {k: evaluate(e, self.env) for k, e in spec.attrs.items()}
        cls = cir_op_classes()[spec.cir]
        if cls is cir_ops.CastOp:
            x = operands[0]
            if x is None:
                raise self.fail("a cast of an absent operand")
            return list(self.insert(cir_ops.CastOp(x, self.env["out_dtype"])).results)
        return list(self.insert(self.new_op(cls, operands, props)).results)


class NormalizePattern(RewritePattern):
    """One framework op -> the CIR ops its table entry names."""

    def __init__(self, table: MappingTable, pass_name: str):
        self.table = table
        self.pass_name = pass_name

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if not isinstance(op, FrameworkOp) or not op.name.startswith(self.table.dialect + "."):
            return
        variant = self.table.match(op)
        if variant is None:
            return  # reported up front by check_mapped
        emitter = Emitter(op, variant, rewriter, self.pass_name)
        try:
            values = emitter.emit()
        except ExprError as e:
            raise emitter.fail(str(e)) from None
        except (LookupError, TypeError, ValueError, ZeroDivisionError, OverflowError) as e:
            # a table helper given attribute values outside what the framework allows (a
            # malformed or hostile model): the op is named, nothing escapes
            raise emitter.fail(f"its attributes are outside what the mapping handles "
                               f"({type(e).__name__}: {e})") from None
        mapped = variant.results if variant.results is not None else tuple(range(len(op.results)))
        for idx, res in enumerate(op.results):
            if idx not in mapped:
                if res.uses.get_length():
                    raise emitter.fail(f"result #{idx} is used but has no CIR equivalent")
                continue
            new = values[mapped.index(idx)]
            want = res.type
            assert isinstance(want, TensorType) and isinstance(new.type, TensorType)
            if new.type.get_shape() != want.get_shape():
                raise emitter.fail(
                    f"the mapping gives {new.type} where the framework says {want} "
                    "(a bug in the mapping table)"
                )
            if new.type.element_type != want.element_type:
                new = emitter.cast(new, _dtype_name(want) or "f32")
            rewriter.replace_all_uses_with(res, new)
        rewriter.erase(op)


def check_mapped(module: ModuleOp, table: MappingTable, pass_name: str) -> None:
    """Stop with every unmapped framework op, its count and first location."""
    missing: dict[str, list[Any]] = {}
    for op in module.walk():
        if (isinstance(op, FrameworkOp) and op.name.startswith(table.dialect + ".")
                and table.match(op) is None):
            missing.setdefault(op.name.removeprefix(table.dialect + "."), []).append(op)
    if not missing:
        return
    lines = [f"{pass_name}: {len(missing)} {table.framework} operator(s) have no CIR mapping:"]
    for name, found in sorted(missing.items(), key=lambda kv: -len(kv[1])):
        where = describe_location(found[0].location)
        known = " (a variant exists but its conditions do not hold)" if name in table.variants else ""
        lines.append(f"  {name} x{len(found)}" + (f", first at {where}" if where else "") + known)
    lines.append(f"see `circ ops --framework {table.framework}` for what is mapped; "
                 "a custom mapping file (--custom-ops) can add more")
    raise CircError("\n".join(lines))


def normalize(module: ModuleOp, table: MappingTable, pass_name: str) -> None:
    check_mapped(module, table, pass_name)
    PatternRewriteWalker(NormalizePattern(table, pass_name), apply_recursively=False).rewrite_module(module)
