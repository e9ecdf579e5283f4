"""``normalize-tf``: the ``tf`` import dialect -> CIR, driven by ``tables/tf.toml``.

The table maps each TensorFlow op on its own (NHWC ops between explicit transposes to and from
NCHW, HWIO kernels transposed to OIHW); then ``recompose`` finds the whole operators Keras
exported in pieces and ``cancel-transposes`` removes the layout changes that meet, so that a
Keras model gives the NCHW graph the same PyTorch model gives. Example::

    circ-opt model.tf.mlir -p normalize-tf
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from cir.passes.normalize import TABLES, MappingTable, normalize
from cir.passes.recompose import canonical_form
from cir.passes.table_expr import EXTRA_HELPERS, ExprError
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

# --- table helpers (also used by the MindSpore table: same padding and slicing rules) ------


def same_pads(in_hw: Sequence[int], k_hw: Sequence[int], s_hw: Sequence[int],
              d_hw: Sequence[int]) -> list[int]:
    """TensorFlow's SAME padding as [top, left, bottom, right]: the extra cell goes last."""
    before, after = [], []
    for n, k, s, d in zip(in_hw, k_hw, s_hw, d_hw):
        out = -(-n // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
        before.append(total // 2)
        after.append(total - total // 2)
    return [*before, *after]


def tf_pads(padding: str, explicit: Sequence[int], in_hw: Sequence[int], k_hw: Sequence[int],
            s_hw: Sequence[int], d_hw: Sequence[int]) -> list[int]:
    """[top, left, bottom, right] for padding VALID / SAME / EXPLICIT (pairs per spatial dim)."""
    if padding == "VALID":
        return [0, 0, 0, 0]
    if padding == "SAME":
        return same_pads(in_hw, k_hw, s_hw, d_hw)
    if padding == "EXPLICIT" and len(explicit) == 4:
        return [explicit[0], explicit[2], explicit[1], explicit[3]]
    raise ExprError(f"padding '{padding}' is not supported")


def tf_slice(shape: Sequence[int], begin: Any, end: Any, strides: Any, begin_mask: int = 0,
             end_mask: int = 0, ellipsis_mask: int = 0, new_axis_mask: int = 0,
             shrink_axis_mask: int = 0) -> list[list[int]]:
    """[starts, ends, steps] over the input dims of a strided slice with TF's masks.

    New axes consume no input dim; a shrunk axis takes one element; an ellipsis covers the
    dims the other entries leave; dims after the last entry are taken whole.
    """
    begin, end, strides = _ints(begin), _ints(end), _ints(strides)
    rank = len(shape)
    consumed = sum(1 for i in range(len(begin))
                   if not (ellipsis_mask >> i) & 1 and not (new_axis_mask >> i) & 1)
    starts, ends, steps = [], [], []

    def whole(n: int) -> None:
        starts.append(0)
        ends.append(n)
        steps.append(1)

    d = 0
    for i in range(len(begin)):
        if (ellipsis_mask >> i) & 1:
            for _ in range(rank - consumed):
                whole(shape[d])
                d += 1
            continue
        if (new_axis_mask >> i) & 1:
            continue
        if d >= rank:
            raise ExprError("strided slice indexes more dims than the input has")
        n, step = shape[d], strides[i]
        if step <= 0:
            raise ExprError("negative strides are not supported")
        if (shrink_axis_mask >> i) & 1:
            b = begin[i] + n if begin[i] < 0 else begin[i]
            starts.append(b)
            ends.append(b + 1)
            steps.append(1)
        else:
            b = 0 if (begin_mask >> i) & 1 else (begin[i] + n if begin[i] < 0 else begin[i])
            e = n if (end_mask >> i) & 1 else (end[i] + n if end[i] < 0 else end[i])
            b, e = min(max(b, 0), n), min(max(e, 0), n)
            starts.append(b)
            ends.append(max(e, b))
            steps.append(step)
        d += 1
    while d < rank:
        whole(shape[d])
        d += 1
    return [starts, ends, steps]


def _ints(v: Any) -> list[int]:
    """An int or a (nested) list of ints, flattened."""
    if isinstance(v, list | tuple):
        return [i for x in v for i in _ints(x)]
    return [int(v)]


def tf_split_sizes(sizes: Sequence[int], total: int) -> list[int]:
    """SplitV sizes with the one -1 resolved."""
    sizes = _ints(sizes)
    if sizes.count(-1) == 1:
        sizes[sizes.index(-1)] = total - sum(s for s in sizes if s != -1)
    return sizes


def tf_slice_ends(begin: Sequence[int], size: Sequence[int], shape: Sequence[int]) -> list[int]:
    """Slice's ends from begin and size (-1: to the end)."""
    return [n if s == -1 else b + s for b, s, n in zip(_ints(begin), _ints(size), shape)]


HELPERS = {
    "tf_same_pads": same_pads, "tf_pads": tf_pads, "tf_slice": tf_slice,
    "tf_split_sizes": tf_split_sizes, "tf_slice_ends": tf_slice_ends,
    "tf_pad_low": lambda p: _ints(p)[0::2], "tf_pad_high": lambda p: _ints(p)[1::2],
}  # fmt: skip
for _name, _fn in HELPERS.items():
    EXTRA_HELPERS[_name] = lambda env, fn=_fn: fn


@cache
def tf_table() -> MappingTable:
    return MappingTable.load(TABLES / "tf.toml", framework="tensorflow", dialect="tf")


def normalize_tf(module: ModuleOp, table: MappingTable | None = None,
                 pass_name: str = "normalize-tf") -> None:
    """Map every ``tf.*`` op, then recompose whole ops and cancel layout changes."""
    normalize(module, table or tf_table(), pass_name)
    canonical_form(module)


@dataclass(frozen=True)
class NormalizeTfPass(ModulePass):
    """Map every ``tf.*`` op to CIR with the TensorFlow mapping table (see the module docstring).

    Stops with the list of unmapped operators (count and first location) rather than dropping
    anything. Example: ``circ-opt model.tf.mlir -p normalize-tf``.
    """

    name = "normalize-tf"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        normalize_tf(op)
