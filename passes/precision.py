"""``convert-precision``: ATC's precision modes, behind an unchanged f32 interface.

    convert-precision{to=f16}                                   every f32 op in fp16
    convert-precision{mode=allow_mix_precision}                 ATC's mixed precision
    convert-precision{mode=mixed_float16 mixlist="ml.json" keep="keep.txt"}

`mode` is an ATC ``--precision_mode`` or ``--precision_mode_v2`` value; what each means is
``passes/tables/precision.toml`` (which float type f32 ops may be reduced to, and which ops:
all, the cube ops, or the white/black/gray lists). ``mixlist`` is a ``--modify_mixlist`` JSON
file (``{"black-list": {"to-add": [...], "to-remove": [...]}, "white-list": {...}}`` by GE op
type, or CIR op name); ``keep`` is a ``--keep_dtype`` file: one op per line, kept in its
original type — by the name of the framework node or module its location names, or
``OpType::<GE type>`` for every op of a type.

Each op is decided in program order (gray ops follow the ops that feed them), then the
module is rewritten: reduced ops get reduced result types, every float operand takes its op's
type through a ``cir.cast`` where it differs (one cast per value and type), weights and
constants only reduced ops read are stored in the reduced type. The function keeps its f32
arguments and results (casts at the edges), so callers feed and receive what the framework
does. Kernels that reduce (norms, softmax, matmul) accumulate in fp32 whatever their types.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from cir.passes.rewrite_utils import dense_attr, tensor_type
from cir.passes.select_outputs import location_names
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    Float32Type,
    ModuleOp,
    TensorType,
    bf16,
    f16,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from cir import ops
from cir.errors import CircError, describe_location
from cir.graph_ops import ge_types
from cir.interpreter import constant_array
from cir.signature import entry_function
from cir.types import dtype_of

TABLE = Path(__file__).parent / "tables" / "precision.toml"
TARGETS: dict[str, Attribute] = {"f16": f16, "bf16": bf16}


@cache
def table() -> dict:
    return tomllib.loads(TABLE.read_text())


@dataclass(frozen=True)
class Mode:
    name: str
    reduce_to: str  # "f16", "bf16" or "" (nothing reduced)
    policy: str  # all | cube | mixlist | none


def modes() -> list[str]:
    t = table()
    return sorted(t["modes"]) + sorted(t["modes_v2"])


def resolve_mode(name: str) -> Mode:
    """A --precision_mode or --precision_mode_v2 value -> what it means."""
    t = table()
    key = t["modes_v2"].get(name, name)
    if key not in t["modes"]:
        raise CircError(f"convert-precision: unknown precision mode '{name}' "
                        f"(known: {', '.join(modes())})")
    entry = t["modes"][key]
    return Mode(name, entry["reduce_to"], entry["policy"])


# --- the lists ------------------------------------------------------------------------------


@dataclass
class Lists:
    white: set[str]
    black: set[str]

    @staticmethod
    def default() -> Lists:
        t = table()["mixlist"]
        return Lists(set(t["white"]), set(t["black"]))

    def modify(self, path: str) -> None:
        """Apply a --modify_mixlist JSON file (ATC's format)."""
        try:
            spec = json.loads(Path(path).read_text())
        except OSError as e:
            raise CircError(f"mixlist {path}: cannot read ({e.strerror})") from None
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise CircError(f"mixlist {path}: not valid JSON ({e})") from None
        if not isinstance(spec, dict) or set(spec) - {"black-list", "white-list", "gray-list"}:
            raise CircError(f"mixlist {path}: expected an object with 'black-list' / 'white-list' entries")
        for key, lst in (("black-list", self.black), ("white-list", self.white), ("gray-list", None)):
            entry = spec.get(key, {})
            if not isinstance(entry, dict) or set(entry) - {"to-add", "to-remove"}:
                raise CircError(f"mixlist {path}: '{key}' must be an object with 'to-add' / 'to-remove'")
            for action in ("to-remove", "to-add"):
                names = entry.get(action, [])
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise CircError(f"mixlist {path}: '{key}'.'{action}' must be a list of op types")
                for n in names:
                    if action == "to-remove":
                        if lst is None or n not in lst:
                            raise CircError(f"mixlist {path}: '{n}' is not in the {key} to remove it from")
                        lst.discard(n)
                    else:
                        self.white.discard(n)
                        self.black.discard(n)
                        if lst is not None:
                            lst.add(n)

    def classify(self, op: Operation) -> str:
        names = ge_types(op.name) | {op.name}
        if names & self.black:
            return "black"
        return "white" if names & self.white else "gray"


def read_keep_dtype(path: str) -> set[str]:
    """A --keep_dtype file: op names (or ``OpType::T``), one a line; ``#`` starts a comment."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise CircError(f"keep_dtype {path}: cannot read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise CircError(f"keep_dtype {path}: not a text file") from None
    return {ln.split("#", 1)[0].strip() for ln in lines} - {""}


def _names(op: Operation) -> set[str]:
    """What a --keep_dtype line may call an op: the names its location carries, its result
    names, and ``OpType::`` + each of its GE types."""
    out = {f"OpType::{t}" for t in ge_types(op.name)} | location_names(op.location)
    where = describe_location(op.location)
    out |= {p.strip().split(" (")[0] for p in where.split(",") if p.strip()}
    out |= {r.name_hint for r in op.results if r.name_hint}
    return out


# --- the pass --------------------------------------------------------------------------------


def _is_f32(t: Attribute) -> bool:
    return isinstance(t, TensorType) and isinstance(t.element_type, Float32Type)


def _with(t: TensorType, element: Attribute) -> TensorType:
    return TensorType(element, t.get_shape(), t.encoding)


NEUTRAL = ops.WeightOp | ops.ConstantOp  # take the type of the ops that read them


@dataclass(frozen=True)
class ConvertPrecisionPass(ModulePass):
    name = "convert-precision"

    to: str = "f16"
    mode: str = ""
    mixlist: str = ""
    keep: str = ""

    def plan(self) -> tuple[Mode, Lists, set[str]]:
        if self.mode:
            mode = resolve_mode(self.mode)
        else:
            if self.to not in TARGETS:
                raise CircError(f"convert-precision: 'to' must be one of {', '.join(TARGETS)}, got '{self.to}'")
            mode = Mode("force_" + self.to, self.to, "all")
        lists = Lists.default()
        if self.mixlist:
            if mode.policy != "mixlist":
                raise CircError(f"convert-precision: a mixlist applies to the mixed precision modes, "
                                f"not to '{mode.name}'")
            lists.modify(self.mixlist)
        keep = read_keep_dtype(self.keep) if self.keep else set()
        return mode, lists, keep

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        mode, lists, keep = self.plan()
        if not mode.reduce_to:
            return
        f = entry_function(op)
        reduced = self._decide(f, mode, lists, keep)
        _rewrite(f, reduced, TARGETS[mode.reduce_to])

    def _decide(self, f: func.FuncOp, mode: Mode, lists: Lists, keep: set[str]) -> set[Operation]:
        cube = set(table()["cube"])
        out: set[Operation] = set()
        for inner in f.body.block.ops:
            if isinstance(inner, NEUTRAL | func.ReturnOp | ops.CastOp):
                continue
            floats = [v for v in (*inner.operands, *inner.results) if _is_f32(v.type)]
            if not floats or (keep and _names(inner) & keep):
                continue
            if mode.policy == "all":
                take = True
            elif mode.policy == "cube":
                take = bool(ge_types(inner.name) & cube)
            else:
                kind = lists.classify(inner)
                take = kind == "white" or (kind == "gray" and any(
                    isinstance(v.owner, Operation) and v.owner in out for v in inner.operands
                    if _is_f32(v.type)))
            if take:
                out.add(inner)
        return out


def _rewrite(f: func.FuncOp, reduced: set[Operation], low: Attribute) -> None:
    block = f.body.block
    # the values the pass may retype or cast: those that were f32 (their new SSAValues are
    # added as they are made)
    floats: set[SSAValue] = {a for a in block.args if _is_f32(a.type)}
    floats |= {r for o in block.ops for r in o.results if _is_f32(r.type)}

    def retype(v: SSAValue) -> None:
        floats.discard(v)
        floats.add(Rewriter.replace_value_with_new_type(v, _with(tensor_type(v), low)))

    # weights and constants only reduced ops read are stored reduced
    for inner in list(block.ops):
        if isinstance(inner, NEUTRAL) and inner.results[0] in floats:
            users = [u.operation for u in inner.results[0].uses]
            if users and all(u in reduced for u in users):
                floats.discard(inner.results[0])
                floats.add(_reduce_source(inner, low))
    for inner in reduced:
        for r in list(inner.results):
            if r in floats:
                retype(r)
    casts: dict[tuple[SSAValue, Attribute], SSAValue] = {}

    def cast(v: SSAValue, to: Attribute) -> SSAValue:
        if (v, to) not in casts:
            c = ops.CastOp(v, to)
            suffix = dtype_of(to).name
            c.result.name_hint = f"{v.name_hint}_{suffix}" if v.name_hint else None
            where = InsertPoint.after(v.owner) if isinstance(v.owner, Operation) else InsertPoint.at_start(block)
            Rewriter.insert_op(c, where)
            casts[(v, to)] = c.result
        return casts[(v, to)]

    f32 = Float32Type()
    for inner in list(block.ops):
        if isinstance(inner, NEUTRAL | ops.CastOp) and inner.results[0] not in floats:
            continue  # a reduced source, or one of the casts made here
        if isinstance(inner, func.ReturnOp):
            wants: list[Attribute] = [f32] * len(inner.operands)
        else:
            wants = [low if inner in reduced else f32] * len(inner.operands)
        for i, (v, want) in enumerate(zip(inner.operands, wants)):
            if v in floats and tensor_type(v).element_type != want:
                inner.operands[i] = cast(v, want)


def _reduce_source(op: Operation, low: Attribute) -> SSAValue:
    """Store a weight or constant in the reduced type; returns its new value."""
    t = op.results[0].type
    assert isinstance(t, TensorType)
    if isinstance(op, ops.ConstantOp):
        arr = np.asarray(constant_array(op)).astype(dtype_of(_with(t, low)).np)
        new = ops.ConstantOp(dense_attr(arr, _with(t, low)))
        new.result.name_hint = op.result.name_hint
        Rewriter.replace_op(op, new)
        return new.result
    # a weight: the store keeps its arrays; a package stores them in the IR's type
    return Rewriter.replace_value_with_new_type(op.results[0], _with(t, low))
