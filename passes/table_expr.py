"""The small expression language of the op-mapping tables.

Table entries compute CIR properties from a framework op's arguments with Python-syntax
expressions such as ``pads4(padding)`` or ``dims(dim)``. They are parsed with ``ast`` and
evaluated by this interpreter over a fixed set of names and helpers: no ``eval``, no attribute
access, no imports, nothing outside the table's vocabulary.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np

from cir.errors import CircError


class ExprError(CircError):
    pass


def _norm(d: int, rank: int) -> int:
    if not -max(rank, 1) <= d < max(rank, 1):
        raise ExprError(f"dimension {d} is out of range for rank {rank}")
    return d % rank if rank else 0


def _slice_bound(v: int | None, size: int, default: int) -> int:
    if v is None:
        return default
    if v < 0:
        v += size
    return min(max(v, 0), size)


# Helpers a framework's normaliser adds for its own table: name -> factory(env) -> helper.
EXTRA_HELPERS: dict[str, Callable[[Mapping[str, Any]], Callable[..., Any]]] = {}


def pair(v: Any) -> list[int]:
    return [v, v] if isinstance(v, int) else list(v) * (2 if len(v) == 1 else 1)

def chunk_sizes(size: int, chunks: int) -> list[int]:
    each = -(-size // chunks)
    out = []
    while size > 0:
        out.append(min(each, size))
        size -= each
    return out

def split_sizes(size: int, split: int) -> list[int]:
    return [min(split, size - i) for i in range(0, size, split)]

def inv_sqrt(x: float) -> float:
    return 1 / math.sqrt(x)

def arange(start: float, end: float | None = None, step: float = 1) -> Any:
    return np.arange(start, end, step) if end is not None else np.arange(start)

def adaptive_avg_matrix(n_in: int, n_out: int, transpose: bool = False) -> Any:
    """PyTorch's adaptive average pooling along one dim as an (n_out, n_in) f32 matrix:
    row i averages [floor(i n_in / n_out), ceil((i + 1) n_in / n_out))."""
    if not (0 < n_in <= 1 << 16 and 0 < n_out <= 1 << 16):
        raise ExprError(f"adaptive pooling from {n_in} to {n_out}")
    m = np.zeros((n_out, n_in), np.float32)
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m.T.copy() if transpose else m


def make_helpers(env: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    """Helpers that see the op (its input rank and shapes) through `env`."""
    rank = env.get("rank", 0)
    in_shape = env.get("in_shape", ())

    def dims(d: Any = None) -> list[int]:
        """A dim or list of dims, normalised; None or [] means every dim."""
        if d is None or d == []:
            return list(range(rank))
        if isinstance(d, int):
            return [_norm(d, rank)]
        return [_norm(x, rank) for x in d]

    def dim(d: int) -> int:
        return _norm(d, rank)

    def pads4(p: Sequence[int]) -> list[int]:
        """torch's symmetric [ph, pw] -> [top, left, bottom, right]."""
        if len(p) == 1:
            p = [p[0], p[0]]
        return [p[0], p[1], p[0], p[1]]

    def swap(d0: int, d1: int) -> list[int]:
        perm = list(range(rank))
        a, b = _norm(d0, rank), _norm(d1, rank)
        perm[a], perm[b] = perm[b], perm[a]
        return perm

    def slice_starts(d: int, start: int | None, end: int | None, step: int = 1) -> list[int]:
        a = _norm(d, rank)
        return [_slice_bound(start, n, 0) if i == a else 0 for i, n in enumerate(in_shape)]

    def slice_ends(d: int, start: int | None, end: int | None, step: int = 1) -> list[int]:
        a = _norm(d, rank)
        lo = slice_starts(d, start, end, step)[a]
        return [max(_slice_bound(end, n, n), lo) if i == a else n for i, n in enumerate(in_shape)]

    def slice_steps(d: int, step: int = 1) -> list[int]:
        a = _norm(d, rank)
        return [step if i == a else 1 for i in range(rank)]

    def tpad(pad: Sequence[int], side: int) -> list[int]:
        """torch's F.pad list (last dim first, (lo, hi) pairs) -> per-dim lows or highs."""
        out = [0] * rank
        for i in range(len(pad) // 2):
            out[rank - 1 - i] = pad[2 * i + side]
        return out

    def unfold_index(d: int, size: int, step: int) -> Any:
        """Tensor.unfold's windows along dim d as an index table: (n_windows, size), i64."""
        n = (in_shape[_norm(d, rank)] - size) // step + 1
        if n < 1 or size < 1 or step < 1:
            raise ExprError(f"unfold of size {size}, step {step} does not fit dimension {d}")
        return np.arange(n, dtype=np.int64)[:, None] * step + np.arange(size, dtype=np.int64)

    def strided_index(size: Sequence[int], stride: Sequence[int], offset: int | None = 0) -> Any:
        """as_strided over a contiguous tensor: the flat position of every element, i64."""
        if len(size) != len(stride) or min(size, default=1) < 0 or min(stride, default=0) < 0:
            raise ExprError(f"as_strided size {list(size)} and stride {list(stride)} do not match")
        pos = np.full(tuple(size), offset or 0, dtype=np.int64)
        for k, (n, st) in enumerate(zip(size, stride)):
            shape = [1] * len(size)
            shape[k] = n
            pos = pos + (np.arange(n, dtype=np.int64) * st).reshape(shape)
        total = 1
        for n in in_shape:
            total *= n
        if pos.size and (pos.max() >= total):
            raise ExprError(f"as_strided reads past the end of a {total}-element tensor")
        return pos

    def norm_index(index: int, d: int) -> int:
        n = in_shape[_norm(d, rank)]
        return index + n if index < 0 else index

    return {
        "dims": dims, "dim": dim, "pads4": pads4, "pair": pair, "swap": swap,
        "slice_starts": slice_starts, "slice_ends": slice_ends, "slice_steps": slice_steps,
        "chunk_sizes": chunk_sizes, "split_sizes": split_sizes, "inv_sqrt": inv_sqrt,
        "tpad_low": lambda pad: tpad(pad, 0), "tpad_high": lambda pad: tpad(pad, 1),
        "arange": arange, "norm_index": norm_index, "unfold_index": unfold_index,
        "strided_index": strided_index, "adaptive_avg_matrix": adaptive_avg_matrix, "numel": lambda shape: math.prod(shape),
        "len": len, "min": min, "max": max, "list": list, "int": int, "float": float,
        "abs": abs, "sum": sum, "range": lambda *a: list(range(*a)),
    } | {name: make(env) for name, make in EXTRA_HELPERS.items()}  # fmt: skip


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}  # fmt: skip
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b, ast.Is: operator.is_, ast.IsNot: operator.is_not,
}  # fmt: skip


@cache
def parse_expr(text: str) -> ast.expr:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ExprError(f"bad table expression '{text}': {e.msg} at column {e.offset}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Lambda | ast.NamedExpr | ast.Starred):
            raise ExprError(f"bad table expression '{text}': {type(node).__name__} not allowed")
    return tree.body


def evaluate(text: str, env: Mapping[str, Any]) -> Any:
    """Evaluate a table expression; names come from `env` and the helpers."""
    return _eval(parse_expr(text), _Scope(env, make_helpers(env)), text)


class _Scope(dict):
    """Names resolve to the op's arguments first, then helpers; calls resolve to helpers."""

    def __init__(self, env: Mapping[str, Any], helpers: Mapping[str, Callable[..., Any]]):
        super().__init__()
        self.env, self.helpers = env, helpers

    def __contains__(self, key: object) -> bool:
        return key in self.env or key in self.helpers

    def __getitem__(self, key: str) -> Any:
        return self.env[key] if key in self.env else self.helpers[key]


def _eval(node: ast.expr, names: Mapping[str, Any], text: str) -> Any:
    match node:
        case ast.Constant(value=v):
            return v
        case ast.Name(id=n):
            if n not in names:
                raise ExprError(f"unknown name '{n}' in table expression '{text}'")
            return names[n]
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            return [_eval(e, names, text) for e in elts]
        case ast.UnaryOp(op=ast.USub(), operand=o):
            return -_eval(o, names, text)
        case ast.UnaryOp(op=ast.Not(), operand=o):
            return not _eval(o, names, text)
        case ast.BinOp(left=l, op=op, right=r) if type(op) in _BINOPS:
            return _BINOPS[type(op)](_eval(l, names, text), _eval(r, names, text))
        case ast.BoolOp(op=ast.And(), values=vals):
            result: Any = True
            for v in vals:
                result = _eval(v, names, text)
                if not result:
                    return result
            return result
        case ast.BoolOp(op=ast.Or(), values=vals):
            result = False
            for v in vals:
                result = _eval(v, names, text)
                if result:
                    return result
            return result
        case ast.Compare(left=l, ops=ops, comparators=comps):
            left = _eval(l, names, text)
            for op, c in zip(ops, comps):
                right = _eval(c, names, text)
                if type(op) not in _CMPOPS or not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        case ast.IfExp(test=t, body=b, orelse=o):
            return _eval(b, names, text) if _eval(t, names, text) else _eval(o, names, text)
        case ast.Subscript(value=v, slice=s):
            base = _eval(v, names, text)
            if isinstance(s, ast.Slice):
                lo = _eval(s.lower, names, text) if s.lower else None
                hi = _eval(s.upper, names, text) if s.upper else None
                return base[lo:hi]
            return base[_eval(s, names, text)]
        case ast.Call(func=ast.Name(id=fn), args=args, keywords=[]):
            f = names.helpers.get(fn) if isinstance(names, _Scope) else names.get(fn)
            if not callable(f):
                raise ExprError(f"unknown function '{fn}' in table expression '{text}'")
            return f(*[_eval(a, names, text) for a in args])
    raise ExprError(f"unsupported construct in table expression '{text}'")
