"""Fusion rules: parsed from the lark grammar in ``grammar.lark``, compiled to xDSL patterns.

A rule is a small dataflow pattern over CIR ops ending in a *root* (its last statement), an
optional list of ``where`` constraints, and the fused op to build::

    rule conv_gn_silu:
        %c = cir.conv2d(%x, %w, %b) {strides = $s, pads = $p, dilations = $d, groups = $grp}
        %n = cir.group_norm(%c, %gamma, %beta) {num_groups = $g, epsilon = $eps}
        %y = cir.silu(%n)
        where x_dtype != "i8"
        => %y = cir.conv_gn_silu(%x, %w, %b, %gamma, %beta) {strides = $s, pads = $p, dilations = $d, groups = $grp, num_groups = $g, epsilon = $eps}

Matching anchors on the root and walks operands upward. A ``%name`` used twice must be the same
value; ``$capture`` binds a property (and must agree where it repeats); a literal property must
equal; a property with a default that the pattern does not name must hold its default (a
pattern for ``cir.matmul(%a, %b)`` is the plain product, not one with ``transpose_b``). Binary ops that commute (add, mul, maximum, minimum) match either operand order.
Every value the pattern produces must be used only inside the pattern, except those the
replacement names on its left (``=> %y, %s = ...`` replaces %y and %s by the fused results).
Constraints and ``expr(...)`` property values use the table expression language, where
``%x`` reads as ``x`` (its shape), ``x_dtype`` is its element type, ``x_value`` its value when
it is a scalar constant, and ``$g`` reads as ``g``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from cir.passes.table_expr import ExprError, evaluate, parse_expr
from lark import Lark, Transformer, UnexpectedInput
from xdsl.dialects.builtin import ArrayAttr, FusedLoc, NoneAttr, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import IRDLOperation
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern
from xdsl.utils.exceptions import VerifyException

from cir import ops as cir_ops
from cir.errors import CircError
from cir.interpreter import constant_array
from cir.opbase import CirOp
from cir.types import dtype_of

GRAMMAR = Path(__file__).parent / "grammar.lark"
COMMUTATIVE = ("cir.add", "cir.mul", "cir.maximum", "cir.minimum")


@dataclass(frozen=True)
class Stmt:
    results: tuple[str, ...]
    op: str
    operands: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)  # value or ("$", name) or ("expr", text)


@dataclass(frozen=True)
class Rule:
    name: str
    stmts: tuple[Stmt, ...]
    constraints: tuple[str, ...]
    replacement: Stmt
    origin: str = ""

    @property
    def root(self) -> Stmt:
        return self.stmts[-1]


class _ToRules(Transformer):
    def __init__(self, origin: str):
        super().__init__()
        self.origin = origin

    def start(self, rules):
        return list(rules)

    def rule(self, items):
        name, *body, repl = items
        stmts = tuple(i for i in body if isinstance(i, Stmt))
        constraints = tuple(i for i in body if isinstance(i, str))
        return Rule(str(name), stmts, constraints, repl, self.origin)

    def stmt(self, items):
        results, op, operands, attrs = items
        return Stmt(tuple(results), str(op), tuple(operands or ()), dict(attrs or {}))

    def replacement(self, items):
        return self.stmt(items)

    def results(self, items):
        return [str(t) for t in items]

    def operands(self, items):
        return [str(t) for t in items]

    def attrs(self, items):
        return dict(items)

    def attr(self, items):
        return str(items[0]), items[1]

    def constraint(self, items):
        return str(items[0]).strip()

    def capture(self, items):
        return ("$", str(items[0])[1:])

    def string(self, items):
        return str(items[0])[1:-1]

    def number(self, items):
        text = str(items[0])
        return float(text) if any(c in text for c in ".eE") else int(text)

    def true(self, _):
        return True

    def false(self, _):
        return False

    def list(self, items):
        return [i for i in items if i is not None]

    def expr(self, items):
        return ("expr", str(items[0]).strip())


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR.read_text(), parser="lalr", maybe_placeholders=True)


def parse_rules(text: str, origin: str = "<rules>") -> list[Rule]:
    """Parse rule text; syntax and meaning errors name origin:line:column."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as e:
        got = getattr(e, "token", None) or getattr(e, "char", None)
        raise CircError(f"{origin}:{e.line}:{e.column}: syntax error in fusion rules"
                        + (f": unexpected '{got}'" if got else "")) from None
    rules = _ToRules(origin).transform(tree)
    for r in rules:
        _check(r, text)
    return rules


def _line_of(text: str, needle: str) -> str:
    idx = text.find(needle)
    return f"{text.count(chr(10), 0, idx) + 1}" if idx >= 0 else "?"


def _check(rule: Rule, text: str) -> None:
    known = {op.name: op for op in cir_ops.CIR.operations}
    where = f"{rule.origin}:{_line_of(text, 'rule ' + rule.name)}: rule '{rule.name}'"
    if not rule.stmts:
        raise CircError(f"{where}: the pattern is empty")
    defined: set[str] = set()
    for s in (*rule.stmts, rule.replacement):
        if s.op not in known:
            raise CircError(f"{where}: unknown CIR op '{s.op}'")
        cls = known[s.op]
        props = cls.get_irdl_definition().properties if issubclass(cls, IRDLOperation) else {}
        for a in s.attrs:
            if a not in props:
                raise CircError(f"{where}: {s.op} has no property '{a}'")
    for s in rule.stmts:
        defined.update(s.results)
        defined.update(v.rstrip("?") for v in s.operands)
    for v in rule.replacement.results:
        if v not in defined:
            raise CircError(f"{where}: the replacement replaces {v}, which the pattern does not define")
    for c in rule.constraints:
        try:
            parse_expr(_pythonic(c))
        except ExprError as e:
            raise CircError(f"{where}: {e}") from None


def _pythonic(expr: str) -> str:
    return re.sub(r"[%$]([A-Za-z_][A-Za-z0-9_]*)", r"\1", expr)


# --- matching ------------------------------------------------------------------------------


@dataclass
class Match:
    values: dict[str, SSAValue] = field(default_factory=dict)
    captures: dict[str, Any] = field(default_factory=dict)
    ops: list[Operation] = field(default_factory=list)


def _attr_matches(want: Any, got: Any, m: Match) -> bool:
    if isinstance(want, tuple) and want and want[0] == "$":
        if want[1] in m.captures:
            return m.captures[want[1]] == got
        m.captures[want[1]] = got
        return True
    if isinstance(want, list) and isinstance(got, tuple):
        return tuple(want) == got
    if isinstance(want, float | int) and isinstance(got, float | int) and not isinstance(got, bool):
        return abs(float(want) - float(got)) <= 1e-12 * max(1.0, abs(float(want)))
    return want == got


def _unnamed_at_default(op: CirOp, named: Mapping[str, Any]) -> bool:
    for name, pdef in type(op).get_irdl_definition().properties.items():
        if name in named or pdef.default_value is None or name == "operandSegmentSizes":
            continue
        if op.properties.get(name, pdef.default_value) != pdef.default_value:
            return False
    return True


def _bind(var: str, value: SSAValue, m: Match) -> bool:
    if var in m.values:
        return m.values[var] is value
    m.values[var] = value
    return True


class RulePattern(RewritePattern):
    """One fusion rule as an xDSL rewrite pattern (anchored on the rule's root op)."""

    def __init__(self, rule: Rule, counts: dict[str, int]):
        self.rule = rule
        self.defs = {r: s for s in rule.stmts for r in s.results}
        self.counts = counts
        self.cls = {op.name: op for op in cir_ops.CIR.operations}

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        root = self.rule.root
        if op.name != root.op:
            return
        for m in self._match_stmt(root, op, Match()):
            if self._valid(m) and self._rewrite(m, rewriter):
                self.counts[self.rule.name] = self.counts.get(self.rule.name, 0) + 1
                return

    # each stmt may match in several ways (commutative operands): generate them all
    def _match_stmt(self, stmt: Stmt, op: Operation, m: Match):
        if not isinstance(op, CirOp) or op.name != stmt.op or len(op.results) != len(stmt.results):
            return
        required = sum(1 for v in stmt.operands if not v.endswith("?"))
        if not required <= len(op.operands) <= len(stmt.operands):
            return
        props = op.p
        orders = [list(op.operands)]
        if op.name in COMMUTATIVE:
            orders.append(list(reversed(op.operands)))
        for operands in orders:
            trial = Match(dict(m.values), dict(m.captures), [*m.ops, op])
            if not all(_bind(r, res, trial) for r, res in zip(stmt.results, op.results)):
                continue
            if not all(_attr_matches(w, props.get(k), trial) for k, w in stmt.attrs.items()):
                continue
            if not _unnamed_at_default(op, stmt.attrs):
                continue
            for absent in stmt.operands[len(operands):]:  # optional operands not given
                trial.values[absent.rstrip("?")] = None  # type: ignore[assignment]
            pairs = [(v.rstrip("?"), o) for v, o in zip(stmt.operands, operands)]
            yield from self._match_operands(stmt, pairs, trial)

    def _match_operands(self, stmt: Stmt, pairs: list[tuple[str, SSAValue]], m: Match):
        if not pairs:
            yield m
            return
        (var, value), rest = pairs[0], pairs[1:]
        if var in self.defs and var not in m.values:
            producer = value.owner
            if not isinstance(producer, Operation):
                return
            for m2 in self._match_stmt(self.defs[var], producer, m):
                if m2.values.get(var) is value:
                    yield from self._match_operands(stmt, rest, m2)
        else:
            trial = Match(dict(m.values), dict(m.captures), list(m.ops))
            if _bind(var, value, trial):
                yield from self._match_operands(stmt, rest, trial)

    def _env(self, m: Match) -> dict[str, Any]:
        env: dict[str, Any] = {k: list(v) if isinstance(v, tuple) else v
                               for k, v in m.captures.items()}
        for name, v in m.values.items():
            key = name[1:]
            if v is None:
                env[key] = None
            elif isinstance(v.type, TensorType):
                env[key] = list(v.type.get_shape())
                env[f"{key}_dtype"] = dtype_of(v.type).name
                env[f"{key}_value"] = _scalar_value(v)
        return env

    def _valid(self, m: Match) -> bool:
        replaced = {m.values[v] for v in self.rule.replacement.results}
        inside = set(map(id, m.ops))
        later: set[int] = set()  # the fused op replaces the root: exported values' outside
        nxt = m.ops[0].next_op   # users must come after it
        while nxt is not None:
            later.add(id(nxt))
            nxt = nxt.next_op
        for op in m.ops:
            for res in op.results:
                outside = [u.operation for u in res.uses if id(u.operation) not in inside]
                if res not in replaced and outside:
                    return False  # an intermediate is needed outside the pattern
                if any(id(_top(u, m.ops[0])) not in later for u in outside):
                    return False
        env = self._env(m)
        for c in self.rule.constraints:
            try:
                if not evaluate(_pythonic(c), env):
                    return False
            except (ExprError, TypeError, ValueError, IndexError, KeyError, ZeroDivisionError):
                return False
        return True

    def _rewrite(self, m: Match, rewriter: PatternRewriter) -> bool:
        repl = self.rule.replacement
        env = self._env(m)
        props: dict[str, Any] = {}
        try:
            for k, v in repl.attrs.items():
                if isinstance(v, tuple) and v[0] == "$":
                    props[k] = m.captures[v[1]]
                elif isinstance(v, tuple) and v[0] == "expr":
                    props[k] = evaluate(_pythonic(v[1]), env)
                else:
                    props[k] = v
            new = self.cls[repl.op](*[m.values[o.rstrip("?")] for o in repl.operands], **props)
        except (VerifyException, TypeError, ValueError, KeyError, ExprError):
            return False  # the fused op would not verify here: leave the IR alone
        replaced = [m.values[v] for v in repl.results]
        if len(new.results) < len(replaced) or any(
            n.type != r.type for n, r in zip(new.results, replaced)
        ):
            return False
        locs = [op.location for op in m.ops]
        distinct = list({str(loc): loc for loc in locs}.values())
        new.location = distinct[0] if len(distinct) == 1 else FusedLoc(ArrayAttr(distinct), NoneAttr())
        rewriter.insert(new)
        for old, res in zip(replaced, new.results):
            rewriter.replace_all_uses_with(old, res)
        pending = list(m.ops)
        while pending:  # erase consumers before producers, whatever order they matched in
            dead = [op for op in pending if all(r.uses.get_length() == 0 for r in op.results)]
            if not dead:
                break
            for op in dead:
                rewriter.erase(op)
                pending.remove(op)
        return True


def _top(op: Operation, root: Operation) -> Operation:
    """`op`, or its ancestor in the root's block."""
    while op.parent is not root.parent and (parent := op.parent_op()) is not None:
        op = parent
    return op


def _scalar_value(v: SSAValue) -> float | None:
    owner = v.owner
    if isinstance(owner, cir_ops.ConstantOp):
        arr = constant_array(owner)
        flat = np.unique(arr.reshape(-1))
        if flat.size == 1:
            # the shortest decimal that round-trips in the constant's own precision:
            # an f32 1e-5 reads back as 1e-05, not 9.999999747378752e-06
            return float(str(flat[0])) if flat.dtype.kind == "f" else float(flat[0])
    return None


def load_rule_files(paths: Sequence[Path]) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for p in paths:
        try:
            text = p.read_text()
        except OSError as e:
            raise CircError(f"{p}: cannot read the fusion rules ({e.strerror})") from None
        for r in parse_rules(text, str(p)):
            if r.name in rules:
                raise CircError(f"{p}: rule '{r.name}' is defined twice (also in {rules[r.name].origin})")
            rules[r.name] = r
    return rules

