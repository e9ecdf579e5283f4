"""``lower-to-ascendc{soc=...}``: a kernel (``ascendc.kernel``) for every CIR op.

Each CIR op in ``@main`` gets the kernels it launches at module level (``ascendc.kernel``), and
an attribute ``cir.launches``: one dictionary per launch, in order, with ``kernel`` (its name),
``block_dim``, ``tiling`` (the tiling struct's values, in field order), ``args`` (what each GM
argument before ``workspace, tiling`` is: ``operand:i``, ``result:i`` or ``weight:NAME``) and
``workspace`` (GM scratch bytes). The launch graph and the runtime read only that. Views
(``cir.reshape`` of an ND tensor) launch nothing. Ops whose kernels print the same C++ up to
the kernel's name share one kernel, named after the op and a hash of its C++
(``silu_3fa9c2e1``): the same kernel gets the same name, and object file, in every model.
Kernel families:

- elementwise (``recipes.toml``): the work is split over ``blockDim`` cores in 32-byte-aligned
  slices; each core streams its slice through UB in tiles sized for the SoC's UB, with
  double-buffered VECIN/VECOUT queues and DataCopyPad for the unaligned tail.

An op no kernel family covers yet runs on the **host fallback** (``host_fallback=true``, the
default), as ATC places operators AI Core cannot run on the AI CPU: its ``cir.launches`` is one
entry ``{engine = "host", kernel = "host", reason}`` and the runtime evaluates it on the host CPU
with the reference interpreter's kernel, on the same buffers a kernel would use. Drivers list
these ops (``host_ops``); with ``host_fallback=false`` they stop the pass with the list of them
(``partial=true`` lowers what it can, for tests and inspection).
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from cir.lowering import ascendc as A
from cir.lowering.decompose import decompose
from cir.soc import Soc
from cir.soc import soc as lookup_soc
from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint

from cir import ops as cir_ops
from cir.errors import CircError, describe_location, describe_op
from cir.formats import physical_shape
from cir.types import dtype_of, format_of, numel
from cir.weights import WeightStore, attach, weights_of

RECIPES = Path(__file__).parent / "recipes.toml"
ALIGN = 32


@cache
def recipes() -> dict[str, list[list[Any]]]:
    return tomllib.loads(RECIPES.read_text())


def ctype(t: TensorType) -> str:
    return A.api()["types"][dtype_of(t).name]


class KB:
    """Builds one kernel body: scalar helpers over arith/scf, API calls over ascendc ops."""

    def __init__(self, block: Block):
        self.b = Builder(InsertPoint.at_end(block))

    def add(self, op: Operation) -> Any:
        self.b.insert(op)
        return op.results[0] if op.results else op

    def c(self, v: int) -> SSAValue:
        return self.add(arith.ConstantOp(IntegerAttr(v, i64)))

    def f(self, v: float) -> SSAValue:
        return self.add(arith.ConstantOp(FloatAttr(v, f32)))

    def field(self, name: str) -> SSAValue:
        return self.add(A.TilingFieldOp.build(result_types=[i64], properties={"field": StringAttr(name)}))

    def binop(self, cls: type[Operation], a: SSAValue, b: SSAValue) -> SSAValue:
        return self.add(cls(a, b))

    def loop(self, lb: SSAValue, ub: SSAValue, step: SSAValue, body: Callable[[KB, SSAValue], None]) -> None:
        block = Block(arg_types=[i64])
        inner = KB(block)
        body(inner, block.args[0])
        inner.add(scf.YieldOp())
        self.b.insert(scf.ForOp(lb, ub, step, [], Region(block)))

    def when(self, cond: SSAValue, then: Callable[[KB], None],
             otherwise: Callable[[KB], None] | None = None) -> None:
        regions = []
        for body in (then, otherwise):
            block = Block()
            if body is not None:
                body(KB(block))
            block.add_op(scf.YieldOp())
            regions.append(Region(block))
        self.b.insert(scf.IfOp(cond, [], regions[0], regions[1]))

    def name(self, v: Any, hint: str) -> Any:
        v.name_hint = hint
        return v

    def call(self, cls: type[Operation], *operands: SSAValue, result: Any = None, **props: Any) -> Any:
        properties = {k: StringAttr(v) if isinstance(v, str) else IntegerAttr(v, i64) for k, v in props.items()}
        return self.add(cls.build(operands=list(operands), result_types=[result] if result else [],
                                  properties=properties))


@dataclass
class Launch:
    kernel: A.KernelOp
    block_dim: int
    tiling: dict[str, int]
    # what each GM argument (before workspace, tiling) is: "operand:i", "result:i", "weight:name";
    # None: the op's operands then its results
    args: list[str] | None = None
    weights: dict[str, np.ndarray] | None = None  # compile-time tables the kernel reads
    workspace: int = 0  # GM scratch bytes the kernel needs (all blocks together)


def _split(total: int, elem_bytes: int, soc: Soc, min_per_block: int = 4096) -> tuple[int, int]:
    """(blockDim, elements per block): aligned slices, not more cores than the work wants."""
    align = ALIGN // elem_bytes
    blocks = max(1, min(soc.vector_cores, math.ceil(total / min_per_block)))
    per_block = math.ceil(math.ceil(total / blocks) / align) * align
    return math.ceil(total / per_block), per_block


def new_kernel(name: str, args: list[str], fields: list[tuple[str, str]],
               comment: str) -> tuple[A.KernelOp, dict[str, SSAValue], KB]:
    """An empty ``ascendc.kernel`` with GM arguments `args` (``workspace, tiling`` last) and
    tiling struct `fields`; returns it, its arguments by name, and a builder for its body."""
    kernel = A.KernelOp.build(
        properties={
            "sym_name": StringAttr(name),
            "arg_names": ArrayAttr([StringAttr(a) for a in args]),
            "tiling_fields": A.attr_list(fields),
            # ASCII only: the IR printer escapes other bytes, which do not parse back as a string
            "comment": StringAttr(comment.encode("ascii", "backslashreplace").decode()),
        },
        regions=[Region(Block(arg_types=[A.GmPtrType()] * len(args)))],
    )
    return kernel, dict(zip(args, kernel.body.block.args)), KB(kernel.body.block)


def block_slice(k: KB, total: SSAValue, per_block: SSAValue) -> tuple[SSAValue, SSAValue]:
    """This core's slice [begin, begin + length) of `total` elements; idle cores return."""
    block = k.call(A.BlockIdxOp, result=i64)
    begin = k.name(k.binop(arith.MuliOp, block, per_block), "begin")
    rest = k.name(k.binop(arith.SubiOp, total, begin), "rest")
    length = k.name(k.add(arith.MinSIOp(per_block, rest)), "length")
    k.when(k.name(k.add(arith.CmpiOp(length, k.c(0), "sle")), "idle"),
           lambda kb: kb.add(A.ReturnOp.build()))
    return begin, length


def elementwise_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    out_t = op.results[0].type
    assert isinstance(out_t, TensorType)
    total = numel(out_t.get_shape())
    scalar_idx = [i for i, v in enumerate(op.operands)
                  if numel(v.type.get_shape()) == 1 and total > 1]  # type: ignore[attr-defined]
    key = recipe_key(op)
    if scalar_idx and len(op.operands) == 2:
        key += ".scalar"
    recipe = recipes().get(key)
    if recipe is None:
        raise NotImplementedError(key)
    if any(v.type.get_shape() != out_t.get_shape() for i, v in enumerate(op.operands)  # type: ignore[attr-defined]
           if i not in scalar_idx):
        raise NotImplementedError(f"{op.name} with broadcasting")
    if scalar_idx and scalar_idx[0] == 0 and op.name in ("cir.sub", "cir.div"):
        raise NotImplementedError(f"{op.name} with a scalar first operand")
    ty = ctype(out_t)
    check_recipe_types(recipe, ty, op.name)
    elem_bytes = dtype_of(out_t).itemsize
    tensors = [i for i in range(len(op.operands)) if i not in scalar_idx]
    temps = sorted({a for step in recipe for a in step[1:] if isinstance(a, str) and a.startswith("t")})
    n_buffers = 2 * (len(tensors) + 1) + len(temps)  # double-buffered queues + scratch
    tile = (soc.ub_bytes // n_buffers) // ALIGN * ALIGN // elem_bytes
    tile = max(ALIGN // elem_bytes, min(tile, 16384))
    block_dim, per_block = _split(total, elem_bytes, soc)
    args = [f"x{i}" for i in range(len(op.operands))] + ["y", "workspace", "tiling"]
    kernel, gm, k = new_kernel(
        name, args, [("total", "int64_t"), ("per_block", "int64_t"), ("tile", "int64_t")], comment)
    g_t, l_t = A.GlobalType(StringAttr(ty)), A.LocalType(StringAttr(ty))
    total_v, per_block_v, tile_v = k.field("total"), k.field("per_block"), k.field("tile")
    zero = k.c(0)
    begin, length = block_slice(k, total_v, per_block_v)
    globals_ = {i: k.name(k.call(A.GlobalTensorOp, gm[f"x{i}"], begin, length, result=g_t), f"x{i}_gm")
                for i in tensors}
    out_g = k.name(k.call(A.GlobalTensorOp, gm["y"], begin, length, result=g_t), "y_gm")
    scalars = prop_scalars(k, op)
    for i in scalar_idx:  # a single value: read it once from GM
        sg = k.name(k.call(A.GlobalTensorOp, gm[f"x{i}"], zero, k.c(1), result=g_t), f"x{i}_gm")
        scalars["s0"] = k.name(k.call(A.GetValueOp, sg, zero, result=f32), "s0")
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    que_in = {i: k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), f"in_que{i}")
              for i in tensors}
    que_out = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
    tile_bytes = k.name(k.binop(arith.MuliOp, tile_v, k.c(elem_bytes)), "tile_bytes")
    for q in (*que_in.values(), que_out):
        k.call(A.InitBufferOp, pipe, q, tile_bytes, num=2)
    bufs = {t: k.name(k.call(A.BufOp, result=A.BufType()), f"{t}_buf") for t in temps}
    for b in bufs.values():
        k.call(A.InitBufferOp, pipe, b, tile_bytes, num=1)
    block_bytes = k.c(ALIGN)

    def tile_body(kb: KB, off: SSAValue) -> None:
        left = kb.name(kb.binop(arith.SubiOp, length, off), "left")
        n = kb.name(kb.add(arith.MinSIOp(tile_v, left)), "n")
        nbytes = kb.name(kb.binop(arith.MuliOp, n, kb.c(elem_bytes)), "n_bytes")
        tail = kb.name(kb.binop(arith.RemSIOp, nbytes, block_bytes), "tail_bytes")
        aligned = kb.name(kb.add(arith.CmpiOp(tail, kb.c(0), "eq")), "aligned")
        locals_: dict[str, SSAValue] = {}
        for j, i in enumerate(tensors):  # CopyIn
            t = kb.name(kb.call(A.AllocTensorOp, que_in[i], result=l_t), f"x{i}_in")
            src = kb.call(A.AtOp, globals_[i], off, result=g_t)
            _copy(kb, aligned, t, src, n, soc, elem_bytes)
            kb.call(A.EnQueOp, que_in[i], t)
        for j, i in enumerate(tensors):  # Compute
            locals_[f"x{i}"] = kb.name(kb.call(A.DeQueOp, que_in[i], result=l_t), f"x{i}_ub")
        locals_["y"] = kb.name(kb.call(A.AllocTensorOp, que_out, result=l_t), "y_ub")
        for t, b in bufs.items():
            locals_[t] = kb.name(kb.call(A.BufGetOp, b, result=l_t), t)
        for step in recipe:
            _emit_step(kb, step, locals_, scalars, n)
        kb.call(A.EnQueOp, que_out, locals_["y"])
        for i in tensors:
            kb.call(A.FreeTensorOp, que_in[i], locals_[f"x{i}"])
        y = kb.name(kb.call(A.DeQueOp, que_out, result=l_t), "y_out")  # CopyOut
        dst = kb.call(A.AtOp, out_g, off, result=g_t)
        _copy(kb, aligned, dst, y, n, soc, elem_bytes)
        kb.call(A.FreeTensorOp, que_out, y)

    k.loop(zero, length, tile_v, tile_body)
    return Launch(kernel, block_dim, {"total": total, "per_block": per_block, "tile": tile})


def check_recipe_types(recipe: Sequence[Sequence[Any]], ty: str, what: str) -> None:
    """NotImplementedError (the host fallback) unless every call of `recipe` takes `ty`."""
    table = A.api()["vector_types"]
    for fn, *_ in recipe:
        if ty not in table.get(fn, table["default"]):
            raise NotImplementedError(f"{what} on {ty} ({fn} takes {', '.join(table.get(fn, table['default']))})")


def recipe_key(op: Operation) -> str:
    """The recipes.toml entry for an elementwise op (variants by attribute)."""
    p = op.p  # type: ignore[attr-defined]
    if op.name == "cir.gelu" and p["approximate"] == "tanh":
        return "cir.gelu.tanh"
    if op.name == "cir.clamp" and (p["min"] is None) != (p["max"] is None):
        return "cir.clamp.min" if p["max"] is None else "cir.clamp.max"
    return op.name


def prop_scalars(k: KB, op: Operation) -> dict[str, SSAValue]:
    """`p:NAME` recipe operands: the op's float properties as kernel constants."""
    out = {}
    for step in recipes().get(recipe_key(op), []):
        for a in step[2:]:
            if isinstance(a, str) and a.startswith("p:"):
                out[a] = k.name(k.f(float(op.p[a[2:]])), a[2:])  # type: ignore[attr-defined]
    return out


def _copy(kb: KB, aligned: SSAValue, dst: SSAValue, src: SSAValue, n: SSAValue,
          soc: Soc, elem_bytes: int) -> None:
    """DataCopy when the byte count is a multiple of 32; otherwise DataCopyPad where the SoC
    has it (arch 220), else DataCopy of the 32-byte-aligned part and the tail element by
    element (arch 200 has no DataCopyPad)."""
    if soc.arch >= 220:
        kb.when(aligned, lambda k: k.call(A.DataCopyOp, dst, src, n),
                lambda k: k.call(A.DataCopyPadOp, dst, src, n))
        return

    def split(k: KB) -> None:
        per_block = k.c(ALIGN // elem_bytes)
        body = k.name(k.binop(arith.SubiOp, n, k.binop(arith.RemSIOp, n, per_block)), "n_aligned")
        k.when(k.add(arith.CmpiOp(body, k.c(0), "sgt")), lambda k2: k2.call(A.DataCopyOp, dst, src, body))

        def tail(k2: KB, j: SSAValue) -> None:
            k2.call(A.SetValueOp, dst, j, k2.name(k2.call(A.GetValueOp, src, j, result=f32), "e"))

        k.loop(body, n, k.c(1), tail)

    kb.when(aligned, lambda k: k.call(A.DataCopyOp, dst, src, n), split)


_BINARY = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Power"}
_SCALAR = {"Adds", "Muls", "Maxs", "Mins"}


def _emit_step(kb: KB, step: Sequence[Any], bufs: dict[str, SSAValue],
               scalars: dict[str, SSAValue], n: SSAValue) -> None:
    fn, dst, *srcs = step
    if fn in _BINARY:
        kb.call(A.VecBinaryOp, bufs[dst], bufs[srcs[0]], bufs[srcs[1]], n, fn=fn)
    elif fn in _SCALAR:
        sc = scalars[srcs[1]] if isinstance(srcs[1], str) else kb.f(float(srcs[1]))
        kb.call(A.VecScalarOp, bufs[dst], bufs[srcs[0]], sc, n, fn=fn)
    else:
        kb.call(A.VecUnaryOp, bufs[dst], bufs[srcs[0]], n, fn=fn)
    kb.call(A.PipeBarrierOp, pipe="PIPE_V")


# --- data movement: one gather kernel driven by a compile-time index map ------------------
#
# The op's own reference kernel, run on an array of element indices instead of data, says for
# every output element which input element it copies (-1: padding). The kernel streams that
# map and gathers; one kernel covers transpose, slice, broadcast, tile, pad, nearest upsample
# and split, and is exactly as correct as the reference interpreter.

GATHER_OPS = ("cir.transpose", "cir.slice", "cir.broadcast_to", "cir.tile", "cir.pad",
              "cir.upsample", "cir.trans_data")


def index_maps(op: Operation) -> list[np.ndarray]:
    """For each result: the flat index of the input element each output element copies, -1
    where it copies none (padding). Computed by the op's reference kernel on 1 + indices, so
    that zero padding (pad, trans_data into C0 blocks) reads as -1."""
    from cir.interpreter import PAD_MODES, KERNELS

    x = op.operands[0].type
    assert isinstance(x, TensorType)
    idx = np.arange(1, numel(x.get_shape()) + 1, dtype=np.float64).reshape(x.get_shape())
    if op.name == "cir.upsample" and op.p["mode"] != "nearest":  # type: ignore[attr-defined]
        raise NotImplementedError("cir.upsample bilinear")
    if op.name == "cir.trans_data":  # buffers hold the physical layouts
        from cir.formats import pack, physical_shape, unpack

        p = op.p  # type: ignore[attr-defined]
        logical = x.get_shape()
        if p["src_format"] not in ("ND", "NCHW"):
            phys = physical_shape(logical, p["src_format"], dtype_of(x).itemsize)
            idx = np.arange(1, numel(phys) + 1, dtype=np.float64).reshape(phys)
            idx = unpack(idx, p["src_format"], logical)
        outs = (pack(idx, p["dst_format"], dtype_of(x).itemsize),)
    elif op.name == "cir.pad":
        p = op.p  # type: ignore[attr-defined]
        widths = list(zip(p["low"], p["high"]))
        outs = (np.pad(idx, widths, constant_values=0) if p["mode"] == "constant"
                else np.pad(idx, widths, mode=PAD_MODES[p["mode"]]),)
    else:
        out = KERNELS[type(op)](op, idx)
        outs = out if isinstance(out, tuple) else (out,)
    return [(np.asarray(o) - 1).astype(np.int32) for o in outs]


def gather_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    if len(op.results) != 1:
        raise NotImplementedError(f"{op.name} with several results")
    out_t = op.results[0].type
    assert isinstance(out_t, TensorType)
    (imap,) = index_maps(op)
    ty = ctype(out_t)
    total = imap.size  # the output buffer's elements (its physical layout for trans_data)
    block_dim, per_block = _split(total, 4, soc)
    pad = float(op.p["value"]) if op.name == "cir.pad" else 0.0  # type: ignore[attr-defined]
    args = ["x0", "map", "y", "workspace", "tiling"]
    kernel, gm, k = new_kernel(
        name, args, [("total", "int64_t"), ("per_block", "int64_t"), ("in_total", "int64_t")],
        comment + "\n(gather through a compile-time index map)")
    g_t = A.GlobalType(StringAttr(ty))
    m_t = A.GlobalType(StringAttr("int32_t"))
    total_v, per_block_v, in_total = k.field("total"), k.field("per_block"), k.field("in_total")
    zero = k.c(0)
    begin, length = block_slice(k, total_v, per_block_v)
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, in_total, result=g_t), "x_gm")
    m_g = k.name(k.call(A.GlobalTensorOp, gm["map"], begin, length, result=m_t), "map_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], begin, length, result=g_t), "y_gm")
    pad_v = k.name(k.f(pad), "pad_value")

    def body(kb: KB, i: SSAValue) -> None:
        src = kb.name(kb.call(A.GetValueOp, m_g, i, result=i64), "src")
        inside = kb.name(kb.add(arith.CmpiOp(src, kb.c(0), "sge")), "inside")
        kb.when(inside,
                lambda k2: k2.call(A.SetValueOp, y_g, i, k2.name(k2.call(A.GetValueOp, x_g, src, result=f32), "v")),
                lambda k2: k2.call(A.SetValueOp, y_g, i, pad_v))

    k.loop(zero, length, k.c(1), body)
    in_t = op.operands[0].type
    assert isinstance(in_t, TensorType)
    in_total = numel(physical_shape(in_t.get_shape(), format_of(in_t), dtype_of(in_t).itemsize))
    return Launch(kernel, block_dim,
                  {"total": total, "per_block": per_block, "in_total": in_total},
                  args=["operand:0", f"weight:_map.{name}", "result:0"],
                  weights={f"_map.{name}": imap.reshape(-1)})


# --- norms: one statistics pass, one normalise pass, fp32 accumulation --------------------
#
# A "row" is what one normalisation covers: the trailing dims from `axis` (layer/rms norm) or
# one group of channels (group norm). Each core takes whole rows; a row streams through UB
# twice. Pass 1 reads it in big tiles and keeps (count, mean, M2) per row: each tile's own mean
# and sum of squared deviations (ReduceSum, Adds, Mul, ReduceSum in UB), combined with the
# running values by Chan's parallel form of Welford's update (no catastrophic cancellation of a
# plain sum-of-squares); rms norm needs only the sum of squares. Pass 2 normalises: group norm
# walks the group's channels, several whole channels per tile when a channel fits UB, with
# scale = gamma * rstd and shift = beta - mean * scale per channel (one Muls and one Adds over
# the channel's run); layer / rms norm apply x * rstd - mean * rstd, then gamma and beta
# element-wise (loaded once per core when the row fits one tile). Then SiLU (z / (1 + e^-z))
# over the whole tile with the activation library's Silu. fp32 tiles are computed in place in the input buffer; fp16 tiles are
# widened to fp32 for the statistics and the arithmetic and rounded once at the end.

NORM_OPS = ("cir.layer_norm", "cir.rms_norm", "cir.group_norm", "cir.group_norm_silu")


def norm_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    x_t = op.operands[0].type
    assert isinstance(x_t, TensorType)
    kind = op.name.removeprefix("cir.")
    if kind == "group_norm_silu" and not op.p["activate_silu"]:  # type: ignore[attr-defined]
        kind = "group_norm"
    return norm_launch(name, kind, x_t, op.p, len(op.operands) > 1, len(op.operands) > 2,  # type: ignore[attr-defined]
                       soc, comment)


def _norm_tiles(hw: int, ch_per_group: int, grouped: bool, tile: int) -> tuple[int, int]:
    """(channels per pass-2 tile, elements of a channel per tile): whole channels side by side
    when they fit and each channel's run starts 32-byte aligned in the fp32 buffer."""
    if not grouped:
        return 1, min(hw, tile)
    if hw <= tile and hw % (ALIGN // 4) == 0:
        return max(1, min(ch_per_group, tile // hw)), hw
    return 1, min(hw, tile)


def norm_launch(name: str, kind: str, x_t: TensorType, p: dict[str, Any], has_w: bool,
                has_b: bool, soc: Soc, comment: str) -> Launch:
    """A norm kernel: `kind` is layer_norm, rms_norm, group_norm or group_norm_silu; `p` holds
    axis or num_groups, and epsilon. GM arguments: x0, (x1 gamma, (x2 beta)), y."""
    from xdsl.dialects import math as xmath

    shape = x_t.get_shape()
    grouped = kind in ("group_norm", "group_norm_silu")
    if grouped:
        n, c = shape[0], shape[1]
        groups = p["num_groups"]
        hw = numel(shape[2:])
        rows, row_len, ch_per_group = n * groups, (c // groups) * hw, c // groups
    else:
        axis = p["axis"] % len(shape)
        rows, row_len = numel(shape[:axis]), numel(shape[axis:])
        hw, ch_per_group, groups = row_len, 1, 1
    silu = kind == "group_norm_silu"
    centred = kind != "rms_norm"
    elementwise_affine = not grouped and (has_w or has_b)
    ty = ctype(x_t)
    elem_bytes = dtype_of(x_t).itemsize
    wide = ty != "float"
    f32_t, l_t = A.LocalType(StringAttr("float")), A.LocalType(StringAttr(ty))
    g_t = A.GlobalType(StringAttr(ty))
    # UB per element: input and output queues x2 (native type), fp32 tmp, fp32 copy of an fp16
    # tile, fp32 gamma / beta tiles of layer / rms norm; plus the ReduceSum work space
    per_elem = 4 * elem_bytes + 4 * (1 + wide + elementwise_affine * (has_w + has_b))
    tile = (soc.ub_bytes - 8 * ALIGN) * 64 // (64 * per_elem + 4) // 64 * 64
    tile = max(64, min(tile, 16384))
    # a group whose fp32 copy fits UB beside the output tiles stays resident: x is read once
    row_bytes = _round_up(row_len * 4, ALIGN)
    per_elem_resident = 2 * elem_bytes * (1 + wide) + 4  # out queue x2 (+ fp16 staging x2), tmp
    resident_tile = (soc.ub_bytes - 8 * ALIGN - row_bytes) * 64 // (64 * per_elem_resident + 4) // 64 * 64
    resident = grouped and hw % (ALIGN // 4) == 0 and resident_tile >= 1024
    if resident:
        tile = min(resident_tile, 16384)
    work_elems = _round_up(tile // 64 + 8, 8)
    ch_per_tile, piece = _norm_tiles(hw, ch_per_group, grouped, tile)
    blocks = max(1, min(soc.vector_cores, rows))
    rows_per_block = math.ceil(rows / blocks)
    block_dim = math.ceil(rows / rows_per_block)
    args = ["x0"] + ["x1"] * has_w + ["x2"] * has_b + ["y", "workspace", "tiling"]
    names = ["rows", "rows_per_block", "row_len", "tile", "hw", "ch_per_group", "groups", "ch_per_tile",
             "piece", "work_elems"] + ["row_bytes"] * resident
    how = ("the group resident in UB: x read once" if resident else "x streamed twice")
    kernel, gm, k = new_kernel(name, args, [(f, "int64_t") for f in names],
                               comment + f"\n(statistics pass + normalise pass, fp32 accumulation; {how})")
    t = {f: k.field(f) for f in names}
    rows_v, row_len_v, tile_v, hw_v, cpg = t["rows"], t["row_len"], t["tile"], t["hw"], t["ch_per_group"]
    zero, one = k.c(0), k.c(1)
    block = k.call(A.BlockIdxOp, result=i64)
    first = k.name(k.binop(arith.MuliOp, block, t["rows_per_block"]), "first_row")
    last = k.name(k.add(arith.MinSIOp(k.binop(arith.AddiOp, first, t["rows_per_block"]), rows_v)), "end_row")
    total = k.name(k.binop(arith.MuliOp, rows_v, row_len_v), "total")
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, total, result=g_t), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, total, result=g_t), "y_gm")
    w_len = k.binop(arith.MuliOp, t["groups"], cpg) if grouped else row_len_v
    w_g = k.name(k.call(A.GlobalTensorOp, gm["x1"], zero, w_len, result=g_t), "gamma_gm") if has_w else None
    b_g = k.name(k.call(A.GlobalTensorOp, gm["x2"], zero, w_len, result=g_t), "beta_gm") if has_b else None
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    qin = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), "in_que")
    qout = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
    native_bytes = k.name(k.binop(arith.MuliOp, tile_v, k.c(elem_bytes)), "tile_bytes")
    f32_bytes = k.name(k.binop(arith.MuliOp, tile_v, k.c(4)), "tile_f32_bytes")
    if wide or not resident:
        k.call(A.InitBufferOp, pipe, qin, native_bytes, num=2)
    k.call(A.InitBufferOp, pipe, qout, native_bytes, num=2)
    qrow = rbuf = None
    if resident and not wide:  # the fp32 row itself, through a depth-1 input queue
        qrow = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(1))), "row_que")
        k.call(A.InitBufferOp, pipe, qrow, t["row_bytes"], num=1)
    elif resident:  # the fp16 row widened to fp32
        rbuf = k.name(k.call(A.BufOp, result=A.BufType()), "row_buf")
        k.call(A.InitBufferOp, pipe, rbuf, t["row_bytes"], num=1)
    scratch = {}
    for nm in ["tmp"] + ["xf"] * (wide and not resident) + (["wf"] * has_w + ["bf"] * has_b) * elementwise_affine:
        b = k.name(k.call(A.BufOp, result=A.BufType()), f"{nm}_buf")
        k.call(A.InitBufferOp, pipe, b, f32_bytes, num=1)
        scratch[nm] = b
    scratch["work"] = k.name(k.call(A.BufOp, result=A.BufType()), "work_buf")
    k.call(A.InitBufferOp, pipe, scratch["work"], k.binop(arith.MuliOp, t["work_elems"], k.c(4)), num=1)
    tmp = k.name(k.call(A.BufGetOp, scratch["tmp"], result=f32_t), "tmp")
    work = k.name(k.call(A.BufGetOp, scratch["work"], result=f32_t), "work")
    xf = k.name(k.call(A.BufGetOp, scratch["xf"], result=f32_t), "xf") if wide and not resident else None
    row_f32 = k.name(k.call(A.BufGetOp, rbuf, result=f32_t), "row") if rbuf is not None else None
    eps = k.name(k.f(float(p["epsilon"])), "eps")
    inv_len = k.name(k.add(arith.DivfOp(k.f(1.0), k.add(arith.SIToFPOp(row_len_v, f32)))), "inv_len")

    def v(kb: KB, cls: type[Operation], *operands: SSAValue, **props: Any) -> None:
        kb.call(cls, *operands, **props)
        kb.call(A.PipeBarrierOp, pipe="PIPE_V")

    def aligned_n(kb: KB, n: SSAValue) -> SSAValue:
        return kb.add(arith.CmpiOp(kb.binop(arith.RemSIOp, kb.binop(arith.MuliOp, n, kb.c(elem_bytes)),
                                            kb.c(ALIGN)), kb.c(0), "eq"))

    def load(kb: KB, src_g: Any, off: SSAValue, n: SSAValue) -> SSAValue:
        """GM tile -> the input queue; returns the dequeued tile (the caller frees it)."""
        tin = kb.name(kb.call(A.AllocTensorOp, qin, result=l_t), "x_in")
        _copy(kb, aligned_n(kb, n), tin, kb.call(A.AtOp, src_g, off, result=g_t), n, soc, elem_bytes)
        kb.call(A.EnQueOp, qin, tin)
        return kb.name(kb.call(A.DeQueOp, qin, result=l_t), "x_ub")

    def load_f32(kb: KB, src_g: Any, off: SSAValue, n: SSAValue, dst: SSAValue | None) -> SSAValue:
        """GM tile as fp32: the input tile itself (fp32; freed by the caller, returned second
        slot) or widened into `dst` (fp16)."""
        u = load(kb, src_g, off, n)
        if dst is None:
            return u
        if wide:
            v(kb, A.CastOp, dst, u, n, round="none")
        else:  # a count-form vector copy: DataCopy would need a 32-byte multiple
            v(kb, A.VecScalarOp, dst, u, kb.f(0.0), n, fn="Adds")
        kb.call(A.FreeTensorOp, qin, u)
        return dst

    def reduce_sum(kb: KB, src: SSAValue, n: SSAValue, hint: str) -> SSAValue:
        v(kb, A.ReduceOp, work, src, work, n, fn="ReduceSum")
        return kb.name(kb.call(A.GetValueOp, work, kb.c(0), result=f32), hint)

    def affine_tiles(kb: KB, off: SSAValue, n: SSAValue) -> None:
        for key, g in (("wf", w_g), ("bf", b_g)):
            if g is not None:
                buf = kb.name(kb.call(A.BufGetOp, scratch[key], result=f32_t), key)
                load_f32(kb, g, off, n, buf)

    # layer / rms norm rows that fit one tile: gamma and beta once per core
    single = None
    if elementwise_affine:
        single = k.name(k.add(arith.CmpiOp(row_len_v, tile_v, "sle")), "single_tile")
        k.when(single, lambda kb: affine_tiles(kb, zero, row_len_v))

    def row_body(kb: KB, row: SSAValue) -> None:
        base = kb.name(kb.binop(arith.MuliOp, row, row_len_v), "base")
        rf = None  # the resident fp32 row
        if qrow is not None:
            r_in = kb.name(kb.call(A.AllocTensorOp, qrow, result=l_t), "row_in")
            _copy(kb, aligned_n(kb, row_len_v), r_in, kb.call(A.AtOp, x_g, base, result=g_t), row_len_v, soc,
                  elem_bytes)
            kb.call(A.EnQueOp, qrow, r_in)
            rf = kb.name(kb.call(A.DeQueOp, qrow, result=l_t), "row_ub")
        elif row_f32 is not None:
            rf = row_f32

            def widen(k2: KB, off: SSAValue) -> None:
                n = k2.name(k2.add(arith.MinSIOp(tile_v, k2.binop(arith.SubiOp, row_len_v, off))), "n")
                u = load(k2, x_g, k2.binop(arith.AddiOp, base, off), n)
                v(k2, A.CastOp, k2.call(A.AtOp, rf, off, result=f32_t), u, n, round="none")
                k2.call(A.FreeTensorOp, qin, u)

            kb.loop(kb.c(0), row_len_v, tile_v, _named_iv_norm(widen, "off"))

        # pass 1: (count, mean, M2) by Chan's combination of per-tile statistics
        def stats(k2: KB, off: SSAValue, n: SSAValue, carried: list[SSAValue]) -> list[SSAValue]:
            if rf is not None:
                src = u = k2.call(A.AtOp, rf, off, result=f32_t)
            else:
                src = u = load(k2, x_g, k2.binop(arith.AddiOp, base, off), n)
            if wide and rf is None:
                v(k2, A.CastOp, xf, u, n, round="none")
                k2.call(A.FreeTensorOp, qin, u)
                src = xf
            nb = k2.name(k2.add(arith.SIToFPOp(n, f32)), "n_tile")
            if centred:
                mb = k2.name(k2.add(arith.DivfOp(reduce_sum(k2, src, n, "tile_sum"), nb)), "tile_mean")
                v(k2, A.VecScalarOp, tmp, src, k2.add(arith.SubfOp(k2.f(0.0), mb)), n, fn="Adds")
                v(k2, A.VecBinaryOp, tmp, tmp, tmp, n, fn="Mul")
            else:
                v(k2, A.VecBinaryOp, tmp, src, src, n, fn="Mul")
            m2b = reduce_sum(k2, tmp, n, "tile_m2")
            if not wide and rf is None:
                k2.call(A.FreeTensorOp, qin, u)
            na, ma, m2a = carried
            if not centred:
                return [na, ma, k2.add(arith.AddfOp(m2a, m2b))]
            nn = k2.name(k2.add(arith.AddfOp(na, nb)), "count")
            delta = k2.name(k2.add(arith.SubfOp(mb, ma)), "delta")
            frac = k2.add(arith.DivfOp(nb, nn))
            mean = k2.add(arith.AddfOp(ma, k2.add(arith.MulfOp(delta, frac))))
            corr = k2.add(arith.MulfOp(k2.add(arith.MulfOp(delta, delta)), k2.add(arith.MulfOp(na, frac))))
            m2 = k2.add(arith.AddfOp(k2.add(arith.AddfOp(m2a, m2b)), corr))
            return [nn, mean, m2]

        _, mean, m2 = _fold(kb, row_len_v, tile_v, [kb.f(0.0), kb.f(0.0), kb.f(0.0)], stats)
        mean = kb.name(mean, "mean")
        var = kb.name(kb.add(arith.MulfOp(m2, inv_len)), "var")
        rstd = kb.name(kb.add(arith.DivfOp(kb.f(1.0), kb.add(xmath.SqrtOp(kb.add(arith.AddfOp(var, eps)))))), "rstd")
        neg_mean = kb.name(kb.add(arith.SubfOp(kb.f(0.0), mean)), "neg_mean") if centred else None
        neg_mean_rstd = kb.name(kb.add(arith.MulfOp(neg_mean, rstd)), "shift") if centred and not grouped else None

        # pass 2: normalise + affine (+ SiLU)
        def tile_fn(k2: KB, off: SSAValue, n: SSAValue, run: SSAValue, channel0: SSAValue | None,
                    n_ch: SSAValue | None) -> None:
            """Elements [off, off + n) of the row: n_ch channels of `run` elements each (group
            norm) or one run (layer / rms norm)."""
            if elementwise_affine:
                k2.when(single, lambda k3: None, lambda k3: affine_tiles(k3, off, n))
            if rf is not None:
                z = k2.call(A.AtOp, rf, off, result=f32_t)
            else:
                u = load(k2, x_g, k2.binop(arith.AddiOp, base, off), n)
                if wide:
                    v(k2, A.CastOp, xf, u, n, round="none")
                    k2.call(A.FreeTensorOp, qin, u)
                    z = xf
                else:
                    z = u
            out = k2.name(k2.call(A.AllocTensorOp, qout, result=l_t), "y_ub")
            # where the last affine step writes: the output tile when nothing follows
            last_to_out = not wide and not silu
            if grouped:
                def channel(k3: KB, ci: SSAValue) -> None:
                    ch = k3.name(k3.binop(arith.AddiOp, channel0, ci), "channel")
                    scale = rstd
                    if w_g is not None:
                        gamma = k3.name(k3.call(A.GetValueOp, w_g, ch, result=f32), "gamma")
                        scale = k3.name(k3.add(arith.MulfOp(gamma, rstd)), "scale")
                    shift = k3.name(k3.add(arith.MulfOp(neg_mean, scale)), "shift_c")
                    if b_g is not None:
                        beta = k3.name(k3.call(A.GetValueOp, b_g, ch, result=f32), "beta")
                        shift = k3.name(k3.add(arith.AddfOp(beta, shift)), "shift_c")
                    at = k3.binop(arith.MuliOp, ci, run)
                    zc = k3.call(A.AtOp, z, at, result=f32_t if wide else l_t)
                    dc = k3.call(A.AtOp, out, at, result=l_t) if last_to_out else zc
                    v(k3, A.VecScalarOp, zc, zc, scale, run, fn="Muls")
                    v(k3, A.VecScalarOp, dc, zc, shift, run, fn="Adds")

                k2.loop(k2.c(0), n_ch, one, _named_iv_norm(channel, "ci"))
            else:
                steps: list[tuple[Any, ...]] = [(A.VecScalarOp, rstd, "Muls")]
                if centred:
                    steps.append((A.VecScalarOp, neg_mean_rstd, "Adds"))
                if has_w:
                    steps.append((A.VecBinaryOp, k2.name(k2.call(A.BufGetOp, scratch["wf"], result=f32_t), "wf"), "Mul"))
                if has_b:
                    steps.append((A.VecBinaryOp, k2.name(k2.call(A.BufGetOp, scratch["bf"], result=f32_t), "bf"), "Add"))
                for i, (cls, operand, fn) in enumerate(steps):
                    dst = out if last_to_out and i == len(steps) - 1 else z
                    v(k2, cls, dst, z, operand, n, fn=fn)
            if silu:  # the activation library's Silu (dst and src disjoint)
                v(k2, A.VecUnaryOp, tmp if wide else out, z, n, fn="Silu")
                z = tmp
            if wide:
                v(k2, A.CastOp, out, z, n, round="rint")
            elif rf is None:
                k2.call(A.FreeTensorOp, qin, u)
            k2.call(A.EnQueOp, qout, out)
            y = k2.name(k2.call(A.DeQueOp, qout, result=l_t), "y_out")
            _copy(k2, aligned_n(k2, n), k2.call(A.AtOp, y_g, k2.binop(arith.AddiOp, base, off), result=g_t),
                  y, n, soc, elem_bytes)
            k2.call(A.FreeTensorOp, qout, y)

        if grouped:  # chunks of ch_per_tile whole channels, or pieces of one channel
            group = kb.name(kb.binop(arith.RemSIOp, row, t["groups"]), "group")
            first_ch = kb.name(kb.binop(arith.MuliOp, group, cpg), "first_channel")

            def chunk(k2: KB, c0: SSAValue) -> None:
                n_ch = k2.name(k2.add(arith.MinSIOp(t["ch_per_tile"], k2.binop(arith.SubiOp, cpg, c0))), "n_channels")

                def piece_fn(k3: KB, p0: SSAValue) -> None:
                    run = k3.name(k3.add(arith.MinSIOp(t["piece"], k3.binop(arith.SubiOp, hw_v, p0))), "run")
                    off = k3.name(k3.binop(arith.AddiOp, k3.binop(arith.MuliOp, c0, hw_v), p0), "off")
                    n = k3.name(k3.binop(arith.MuliOp, n_ch, run), "n")
                    tile_fn(k3, off, n, run, k3.binop(arith.AddiOp, first_ch, c0), n_ch)

                k2.loop(k2.c(0), hw_v, t["piece"], _named_iv_norm(piece_fn, "p0"))

            kb.loop(kb.c(0), cpg, t["ch_per_tile"], _named_iv_norm(chunk, "c0"))
        else:
            def whole(k3: KB, t0: SSAValue) -> None:
                n = k3.name(k3.add(arith.MinSIOp(tile_v, k3.binop(arith.SubiOp, row_len_v, t0))), "n")
                tile_fn(k3, t0, n, n, None, None)

            kb.loop(kb.c(0), row_len_v, tile_v, _named_iv_norm(whole, "t0"))
        if qrow is not None:
            kb.call(A.FreeTensorOp, qrow, rf)

    k.loop(first, last, one, _named_iv_norm(row_body, "row"))
    return Launch(kernel, block_dim, {"rows": rows, "rows_per_block": rows_per_block, "row_len": row_len,
                                      "tile": tile, "hw": hw, "ch_per_group": ch_per_group, "groups": groups,
                                      "ch_per_tile": ch_per_tile, "piece": piece, "work_elems": work_elems}
                  | ({"row_bytes": row_bytes} if resident else {}))


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def _named_iv_norm(body: Callable[[KB, SSAValue], None], hint: str) -> Callable[[KB, SSAValue], None]:
    def named(kb: KB, iv: SSAValue) -> None:
        iv.name_hint = hint
        body(kb, iv)

    return named


def _fold(kb: KB, length: SSAValue, tile: SSAValue, init: list[SSAValue],
          part: Callable[[KB, SSAValue, SSAValue, list[SSAValue]], list[SSAValue]]) -> list[SSAValue]:
    """Fold part(off, n, carried) over the tiles of [0, length): loop-carried fp32 values."""
    block = Block(arg_types=[i64] + [f32] * len(init))
    inner = KB(block)
    off, *carried = block.args
    off.name_hint = "off"
    n = inner.name(inner.add(arith.MinSIOp(tile, inner.binop(arith.SubiOp, length, off))), "n")
    inner.add(scf.YieldOp(*part(inner, off, n, list(carried))))
    loop = scf.ForOp(kb.c(0), length, tile, init, Region(block))
    kb.b.insert(loop)
    return list(loop.results)


def _accumulate(kb: KB, length: SSAValue, tile: SSAValue,
                part: Callable[[KB, SSAValue, SSAValue], SSAValue]) -> SSAValue:
    """Sum part(off, n) over the tiles of [0, length): a loop-carried fp32 accumulator."""
    return _fold(kb, length, tile, [kb.f(0.0)], lambda k, off, n, acc: [k.add(arith.AddfOp(acc[0], part(k, off, n)))])[0]


Generator = Callable[[str, Operation, Soc, str], "Launch | list[Launch]"]
FAMILIES: dict[str, Generator] = {
    ".".join(name.split(".")[:2]): elementwise_kernel for name in recipes()
} | {name: gather_kernel for name in GATHER_OPS} | {name: norm_kernel for name in NORM_OPS}
VIEWS = ("cir.reshape",)  # same bytes, new shape: no kernel
SKIP = (cir_ops.WeightOp, cir_ops.ConstantOp, func.ReturnOp)


def register(names: Sequence[str], gen: Generator) -> None:
    """Add a kernel family (lowering modules call this for the ops they cover)."""
    for n in names:
        FAMILIES[n] = gen


def _comment(op: Operation) -> str:
    where = describe_location(op.location)
    return f"circ kernel for {op.name}" + (f" at {where}" if where else "")


def _body_key(kernel: A.KernelOp) -> str:
    """The kernel's C++ with its name and comment left out: equal keys, interchangeable kernels."""
    from cir.lowering.cpp import print_kernel

    text = print_kernel(kernel)
    name = kernel.sym_name.data
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("// "))
    return body.replace(name, "@K")


def launches_attr(launches: Sequence[Launch], op: Operation) -> ArrayAttr:
    out = []
    for ln in launches:
        binding = ln.args or ([f"operand:{j}" for j in range(len(op.operands))]
                              + [f"result:{j}" for j in range(len(op.results))])
        out.append(DictionaryAttr({
            "kernel": StringAttr(ln.kernel.sym_name.data),
            "block_dim": IntegerAttr(ln.block_dim, i64),
            "tiling": DictionaryAttr({k: IntegerAttr(v, i64) for k, v in ln.tiling.items()}),
            "args": ArrayAttr([StringAttr(a) for a in binding]),
            "workspace": IntegerAttr(ln.workspace, i64),
        }))
    return ArrayAttr(out)


def _check_static_shapes(f: func.FuncOp) -> None:
    """Kernels are tiled for static, non-empty shapes: refuse the others at their op."""
    values = [(a, None) for a in f.body.block.args] + \
        [(r, o) for o in f.body.block.ops for r in o.results]
    for v, owner in values:
        t = v.type
        if not isinstance(t, TensorType):
            continue
        where = describe_op(owner) if owner is not None else f"@{f.sym_name.data}'s arguments"
        shape = t.get_shape()
        if any(d < 0 for d in shape):
            raise CircError(f"lower-to-ascendc: {where}: {t} has a dynamic dimension; kernels need "
                            "static shapes (give the shapes at import, e.g. --input-shape)")
        if 0 in shape:
            raise CircError(f"lower-to-ascendc: {where}: {t} is empty (a zero dimension); kernels "
                            "need at least one element")


@dataclass(frozen=True)
class LowerToAscendCPass(ModulePass):
    """Generate the AscendC kernels of every CIR op of ``@main`` (see the module docstring)."""

    name = "lower-to-ascendc"

    soc: str = "Ascend910B1"
    partial: bool = False
    host_fallback: bool = True

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        _load_families()
        chip = lookup_soc(self.soc)
        try:
            store = weights_of(op)
            attach(op, store)
        except CircError:
            store = WeightStore()
        fns = [f for f in op.ops if isinstance(f, func.FuncOp)]
        for f in fns:
            _check_static_shapes(f)
            decompose(f, store)
        missing: dict[str, list[Operation]] = {}
        kernels: dict[str, A.KernelOp] = {}  # body key -> the kernel ops share
        # ops alike in kind, types and properties get the same launches: generated once (models
        # repeat blocks); launches with per-op tables (index maps) are always generated anew
        made_for: dict[tuple[str, ...], list[Launch]] = {}
        for f in fns:
            for i, cop in enumerate(list(f.body.block.ops)):
                if isinstance(cop, SKIP):
                    continue
                if cop.name in VIEWS and _is_view(cop):
                    cop.attributes["cir.launches"] = ArrayAttr([])
                    continue
                name = f"{cop.name.removeprefix('cir.')}_{i}"
                gen = FAMILIES.get(cop.name)
                alike = _signature(cop)
                if alike in made_for:
                    launches = made_for[alike]
                    for ln in launches:
                        _note_user(ln.kernel, cop)
                    cop.attributes["cir.launches"] = launches_attr(launches, cop)
                    continue
                try:
                    if gen is None:
                        raise NotImplementedError(cop.name)
                    made = gen(name, cop, chip, _comment(cop))
                except NotImplementedError as e:
                    missing.setdefault(str(e), []).append(cop)
                    continue
                launches = made if isinstance(made, list) else [made]
                if not any(ln.weights for ln in launches):
                    made_for[alike] = launches
                for ln in launches:
                    key = _body_key(ln.kernel)
                    if key not in kernels:  # named by content: one object file per distinct kernel
                        base = re.sub(r"_\d+", "", ln.kernel.sym_name.data)
                        digest = hashlib.sha256(key.encode()).hexdigest()[:8]
                        ln.kernel.properties["sym_name"] = StringAttr(f"{base}_{digest}")
                    shared = kernels.setdefault(key, ln.kernel)
                    if shared is not ln.kernel:
                        ln.kernel = shared
                        _note_user(shared, cop)
                    for wname, arr in (ln.weights or {}).items():
                        store[wname] = arr
                cop.attributes["cir.launches"] = launches_attr(launches, cop)
        if missing and self.host_fallback:
            missing = _to_host(missing)
        if missing and not self.partial:
            lines = [f"lower-to-ascendc: no kernel yet for {len(missing)} kind(s) of op:"]
            lines += [f"  {k} x{len(v)}, first at {describe_location(v[0].location) or '?'}"
                      for k, v in missing.items()]
            raise CircError("\n".join(lines))
        for kop in kernels.values():
            op.body.block.add_op(kop)
        op.attributes["cir.soc"] = StringAttr(chip.name)


def _to_host(missing: dict[str, list[Operation]]) -> dict[str, list[Operation]]:
    """Give the ops without a kernel a host-fallback launch; returns those that cannot have one
    (no reference kernel, or a tensor in a physical layout the host kernel does not read)."""
    from cir.interpreter import KERNELS

    left: dict[str, list[Operation]] = {}
    for reason, ops_ in missing.items():
        for cop in ops_:
            values = (*cop.operands, *cop.results)
            if type(cop) not in KERNELS or not all(
                    isinstance(v.type, TensorType) and format_of(v.type) == "ND" for v in values):
                left.setdefault(reason, []).append(cop)
                continue
            cop.attributes["cir.launches"] = ArrayAttr([DictionaryAttr({
                "engine": StringAttr("host"), "kernel": StringAttr("host"),
                "reason": StringAttr(f"no AscendC kernel yet: {reason}"),
                "block_dim": IntegerAttr(0, i64), "tiling": DictionaryAttr({}),
                "args": ArrayAttr([StringAttr(f"operand:{j}") for j in range(len(cop.operands))]
                                  + [StringAttr(f"result:{j}") for j in range(len(cop.results))]),
                "workspace": IntegerAttr(0, i64),
            })])
    return left


def host_launch(op: Operation) -> DictionaryAttr | None:
    """The host-fallback launch lower-to-ascendc gave `op`, if it gave one."""
    launches = op.attributes.get("cir.launches")
    if not isinstance(launches, ArrayAttr):
        return None
    return next((d for d in launches.data if isinstance(d, DictionaryAttr)
                 and d.data.get("engine") == StringAttr("host")), None)


def host_ops(module: ModuleOp) -> list[dict[str, Any]]:
    """The ops of a lowered module that run on the host fallback, by kind: ``{op, count,
    first (location), reason}`` in order of first appearance."""
    out: dict[str, dict[str, Any]] = {}
    for o in module.walk():
        d = host_launch(o)
        if d is None:
            continue
        reason = d.data.get("reason")
        entry = out.setdefault(o.name, {"op": o.name, "count": 0, "first": describe_location(o.location) or "?",
                                        "reason": reason.data if isinstance(reason, StringAttr) else ""})
        entry["count"] += 1
    return list(out.values())


def describe_host_ops(ops_: Sequence[dict[str, Any]]) -> str:
    """One line for drivers: which ops run on the host fallback."""
    n = sum(e["count"] for e in ops_)
    kinds = ", ".join(f"{e['op']} x{e['count']} (first at {e['first']})" for e in ops_)
    return f"{n} op(s) run on the host fallback (no AscendC kernel yet): {kinds}"


def _signature(op: Operation) -> tuple[str, ...]:
    """What a kernel generator reads of an op: its kind, operand/result types and properties."""
    return (op.name, *(str(v.type) for v in (*op.operands, *op.results)),
            *(f"{k}={v}" for k, v in sorted(op.properties.items())))


def _note_user(kernel: A.KernelOp, op: Operation) -> None:
    """Name a further op that launches `kernel` in its comment (the first few)."""
    note = f"also for {op.name} at {describe_location(op.location) or '?'}"
    note = note.encode("ascii", "backslashreplace").decode()  # see new_kernel
    old = kernel.comment.data if kernel.comment else ""
    if old.count("\nalso for ") < 3 and note not in old:
        kernel.properties["comment"] = StringAttr(old + "\n" + note)


def _is_view(op: Operation) -> bool:
    from cir.types import format_of

    return all(format_of(v.type) == "ND" for v in (*op.operands, *op.results))


@cache
def _load_families() -> None:
    """Import the modules that register further kernel families."""
    import importlib

    for mod in FAMILY_MODULES:
        importlib.import_module(mod)


# modules that call register(): cube (matmul/conv), attention/softmax/reductions, misc ops
FAMILY_MODULES: tuple[str, ...] = ("cir.lowering.vector", "cir.lowering.reduce", "cir.lowering.attention",
                                   "cir.lowering.cube", "cir.lowering.mask",
                                   "cir.lowering.index")
