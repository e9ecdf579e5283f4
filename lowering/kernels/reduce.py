"""Kernel families over an axis: softmax / log_softmax, the reductions and argmax (2-D pooling:
``pool.py``).

Shapes are first *merged*: size-1 dims dropped and neighbouring dims that are both reduced
(or both kept) fused, so ``reduce_sum(x[2, 3, 5, 7], axes=[1, 2])`` is a reduction of
``[2, 15, 7]`` over the middle dim. Two kernel forms follow from the innermost merged dim:

- **row form** (the innermost dim is reduced, e.g. softmax over the last axis): every output
  row is one GM-contiguous run of ``row_len`` elements; a core owns a slice of the rows and
  streams each through UB in ``tile``-element tiles, reducing every tile with
  ReduceSum/ReduceMax/ReduceMin to a scalar and combining the scalars (fp32).
- **column form** (the innermost dim is kept, e.g. softmax over channels of NCHW): the
  reduction runs across rows of ``width`` contiguous elements, elementwise: a tile of a row is
  combined into an fp32 accumulator tile with Add/Max/Min, one reduced row after another.

Outer dims (reduced or kept, any number) are walked by decoding a flat index with the
``*_size`` / ``*_div`` / ``*_stride`` tiling fields, so one kernel covers every pattern of
axes. fp16 tiles are widened to fp32 (Cast) before any arithmetic and narrowed once when
stored; the reductions and the softmax sums accumulate in fp32.

Softmax is three passes over a row: max, sum of exp(x - max), normalise; when the whole row
fits one tile it is read from GM once and stays in UB (``resident``). The column form does the
same with accumulator tiles (Max, then Sub/Exp/Add, then Sub/Exp/Div).

UB: a double-buffered input queue and output queue of ``tile`` native elements plus fp32
scratch tiles, sized from the SoC's UB with 32-byte alignment; tails use DataCopyPad where the
SoC has it (``copy_tile``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cir.lowering import ascendc as A
from cir.lowering.builder import (
    ALIGN,
    FLT_MAX,
    KB,
    Launch,
    Tiling,
    block_rows,
    copy_tile,
    ctype,
    decode_offset,
    digit_fields,
    fold,
    kernel,
    new_kernel,
    props,
    split_rows,
    tiling_fields,
)
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntAttr, StringAttr, TensorType, f32, i64
from xdsl.ir import Operation, SSAValue

from cir.soc import Soc
from cir.types import numel

SOFTMAX_OPS = ("cir.softmax", "cir.log_softmax")
REDUCE_OPS = ("cir.reduce_sum", "cir.reduce_mean", "cir.reduce_max", "cir.reduce_min", "cir.argmax")
# per reduction: ReduceX API for a tile, the vector op combining tiles, the scalar combine
_KIND = {
    "sum": ("ReduceSum", "Add", arith.AddfOp),
    "mean": ("ReduceSum", "Add", arith.AddfOp),
    "max": ("ReduceMax", "Max", arith.MaximumfOp),
    "min": ("ReduceMin", "Min", arith.MinimumfOp),
    "argmax": ("ReduceMax", "Max", arith.MaximumfOp),
}


@dataclass
class RowsTiling(Tiling):
    """Softmax over rows: whole rows per core, streamed in tiles."""

    rows: int
    rows_per_block: int
    row_len: int
    tile: int


@dataclass
class ColumnsTiling(Tiling):
    """Softmax across rows: work items are (outer index, chunk of the inner dim)."""

    items: int
    items_per_block: int
    chunks: int
    length: int
    inner: int
    tile: int


@dataclass
class ReduceRowsTiling(Tiling):
    """A reduction along contiguous rows; `extra`: the kept (k*) and reduced (r*) digits."""

    rows: int
    rows_per_block: int
    row_len: int
    red_rows: int
    tile: int
    total: int


@dataclass
class ReduceColumnsTiling(Tiling):
    """A reduction across rows into fp32 tiles; `extra`: the kept (k*) and reduced (r*) digits."""

    items: int
    items_per_block: int
    chunks: int
    width: int
    red_rows: int
    tile: int
    total: int


# --- helpers ----------------------------------------------------------------------------


def merge_dims(shape: tuple[int, ...], reduced: set[int]) -> list[tuple[int, bool]]:
    """(size, reduced) runs: size-1 dims dropped, neighbours of the same kind fused."""
    out: list[tuple[int, bool]] = []
    for i, d in enumerate(shape):
        if d == 1:
            continue
        r = i in reduced
        if out and out[-1][1] == r:
            out[-1] = (out[-1][0] * d, r)
        else:
            out.append((d, r))
    return out


class Stream:
    """GM <-> fp32 UB tiles through double-buffered queues (the CopyIn / CopyOut stages)."""

    def __init__(self, k: KB, soc: Soc, in_ty: str, out_ty: str, tile: SSAValue,
                 scratch: list[str]):
        self.soc, self.in_ty, self.out_ty = soc, in_ty, out_ty
        self.in_bytes, self.out_bytes = A.ctype_bytes(in_ty), A.ctype_bytes(out_ty)
        self.f32_t = A.LocalType(StringAttr("float"))
        self.pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
        self.qin = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), "in_que")
        self.qout = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
        k.call(A.InitBufferOp, self.pipe, self.qin, k.name(k.binop(arith.MuliOp, tile, k.c(self.in_bytes)), "in_bytes"), num=2)
        k.call(A.InitBufferOp, self.pipe, self.qout, k.name(k.binop(arith.MuliOp, tile, k.c(self.out_bytes)), "out_bytes"), num=2)
        self.bufs = {}
        if scratch:
            f32_bytes = k.name(k.binop(arith.MuliOp, tile, k.c(4)), "tile_f32_bytes")
        for nm in scratch:
            b = k.name(k.call(A.BufOp, result=A.BufType()), f"{nm}_buf")
            k.call(A.InitBufferOp, self.pipe, b, f32_bytes, num=1)
            self.bufs[nm] = b

    def get(self, kb: KB, nm: str) -> SSAValue:
        return kb.name(kb.call(A.BufGetOp, self.bufs[nm], result=self.f32_t), nm)

    def load(self, kb: KB, src_g: SSAValue, off: SSAValue, n: SSAValue, dst: SSAValue) -> None:
        """GM[off, off + n) -> the fp32 tile dst."""
        l_t = A.LocalType(StringAttr(self.in_ty))
        t = kb.name(kb.call(A.AllocTensorOp, self.qin, result=l_t), "x_in")
        copy_tile(kb, kb.aligned(n, self.in_bytes), t, kb.call(A.AtOp, src_g, off, result=src_g.type), n,
              self.soc, self.in_bytes)
        kb.call(A.EnQueOp, self.qin, t)
        u = kb.name(kb.call(A.DeQueOp, self.qin, result=l_t), "x_ub")
        if self.in_ty == "float":  # a count-form vector copy: DataCopy would need a 32-byte multiple
            kb.call(A.VecScalarOp, dst, u, kb.f(0.0), n, fn="Adds")
        else:
            kb.call(A.CastOp, dst, u, n, round="none")
        kb.barrier()
        kb.call(A.FreeTensorOp, self.qin, u)

    def store(self, kb: KB, src: SSAValue, dst_g: SSAValue, off: SSAValue, n: SSAValue) -> None:
        """The fp32 tile src -> GM[off, off + n), narrowed to the output type."""
        l_t = A.LocalType(StringAttr(self.out_ty))
        out = kb.name(kb.call(A.AllocTensorOp, self.qout, result=l_t), "y_ub")
        if self.out_ty == "float":
            kb.call(A.VecScalarOp, out, src, kb.f(0.0), n, fn="Adds")
        else:
            kb.call(A.CastOp, out, src, n, round="rint")
        kb.barrier()
        kb.call(A.EnQueOp, self.qout, out)
        y = kb.name(kb.call(A.DeQueOp, self.qout, result=l_t), "y_out")
        copy_tile(kb, kb.aligned(n, self.out_bytes), kb.call(A.AtOp, dst_g, off, result=dst_g.type), y, n,
              self.soc, self.out_bytes)
        kb.call(A.FreeTensorOp, self.qout, y)

    def reduce(self, kb: KB, fn: str, src: SSAValue, n: SSAValue) -> SSAValue:
        """ReduceSum/Max/Min of src[0, n) as a scalar."""
        work = self.get(kb, "work")
        kb.call(A.ReduceOp, work, src, work, n, fn=fn)
        kb.barrier()
        return kb.name(kb.call(A.GetValueOp, work, kb.c(0), result=f32), "part")


def _tile(soc: Soc, per_elem: int, cap: int = 8192) -> int:
    """Elements per tile: as many as the UB holds (`per_elem` bytes each), a multiple of 16."""
    return max(16, min(cap, (soc.ub_bytes - 8 * ALIGN) // per_elem // 16 * 16))


# --- softmax ----------------------------------------------------------------------------


@kernel(*SOFTMAX_OPS)
def softmax_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    x_t = op.operands[0].type
    assert isinstance(x_t, TensorType)
    shape = x_t.get_shape()
    ty = ctype(x_t)
    if ty not in ("float", "half"):
        raise NotImplementedError(f"{op.name} with {ty}")
    axis = props(op)["axis"] % len(shape)
    outer, length, inner = numel(shape[:axis]), shape[axis], numel(shape[axis + 1:])
    log = op.name == "cir.log_softmax"
    if inner == 1:
        return _softmax_rows(name, ty, outer, length, log, soc, comment)
    return _softmax_columns(name, ty, outer, length, inner, log, soc, comment)


def _softmax_rows(name: str, ty: str, rows: int, row_len: int, log: bool, soc: Soc,
                  comment: str) -> Launch:
    eb = A.ctype_bytes(ty)
    tile = _tile(soc, 4 * eb + 4 * 3)  # queues in/out x2, fp32 x, exp, work
    block_dim, per = split_rows(rows, soc)
    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], RowsTiling,
                               comment + "\n(row softmax: max, sum of exp, normalise; fp32 arithmetic)")
    f = k.fields(RowsTiling)
    rows_v, per_v, len_v, tile_v = f.rows, f.rows_per_block, f.row_len, f.tile
    g_t = A.GlobalType(StringAttr(ty))
    total = k.name(k.binop(arith.MuliOp, rows_v, len_v), "total")
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], k.c(0), total, result=g_t), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], k.c(0), total, result=g_t), "y_gm")
    s = Stream(k, soc, ty, ty, tile_v, ["xf", "ex", "work"])
    first, last = block_rows(k, rows_v, per_v)
    # a row longer than a tile is streamed from GM in every pass; a shorter one stays in UB
    streamed = k.name(k.add(arith.CmpiOp(len_v, tile_v, "sgt")), "streamed")

    def count(kb: KB, off: SSAValue) -> SSAValue:
        return kb.name(kb.add(arith.MinSIOp(tile_v, kb.binop(arith.SubiOp, len_v, off))), "n")

    def row(kb: KB, r: SSAValue) -> None:
        base = kb.name(kb.binop(arith.MuliOp, r, len_v), "base")

        def tile_max(k2: KB, off: SSAValue, acc: SSAValue) -> SSAValue:
            n = count(k2, off)
            s.load(k2, x_g, k2.binop(arith.AddiOp, base, off), n, s.get(k2, "xf"))
            return k2.add(arith.MaximumfOp(acc, s.reduce(k2, "ReduceMax", s.get(k2, "xf"), n)))

        mx = kb.name(fold(kb, kb.c(0), len_v, tile_v, kb.f(-FLT_MAX), tile_max), "row_max")
        neg_max = kb.name(kb.add(arith.SubfOp(kb.f(0.0), mx)), "neg_max")

        def exp_of(k2: KB, off: SSAValue, n: SSAValue, reload: bool) -> SSAValue:
            """ex = exp(x - max) of the tile at off (x reloaded unless the row stays in UB)."""
            xf, ex = s.get(k2, "xf"), s.get(k2, "ex")
            if reload:
                k2.when(streamed, lambda k3: s.load(k3, x_g, k3.binop(arith.AddiOp, base, off), n, xf))
            k2.call(A.VecScalarOp, ex, xf, neg_max, n, fn="Adds")
            k2.barrier()
            k2.call(A.VecUnaryOp, ex, ex, n, fn="Exp")
            k2.barrier()
            return ex

        def tile_sum(k2: KB, off: SSAValue, acc: SSAValue) -> SSAValue:
            n = count(k2, off)
            return k2.add(arith.AddfOp(acc, s.reduce(k2, "ReduceSum", exp_of(k2, off, n, True), n)))

        total_exp = kb.name(fold(kb, kb.c(0), len_v, tile_v, kb.f(0.0), tile_sum), "row_sum")
        if log:  # y = x - max - ln(sum): Ln on the vector unit (the scalar unit has no log)
            work = s.get(kb, "work")
            kb.call(A.DuplicateOp, work, total_exp, kb.c(8))
            kb.barrier()
            kb.call(A.VecUnaryOp, work, work, kb.c(8), fn="Ln")
            kb.barrier()
            ln_sum = kb.name(kb.call(A.GetValueOp, work, kb.c(0), result=f32), "ln_sum")
            shift = kb.name(kb.add(arith.SubfOp(neg_max, ln_sum)), "shift")
        else:
            inv_sum = kb.name(kb.add(arith.DivfOp(kb.f(1.0), total_exp)), "inv_sum")

        def normalise(k2: KB, off: SSAValue) -> None:
            n = count(k2, off)
            if log:
                xf = s.get(k2, "xf")
                k2.when(streamed, lambda k3: s.load(k3, x_g, k3.binop(arith.AddiOp, base, off), n, xf))
                k2.call(A.VecScalarOp, xf, xf, shift, n, fn="Adds")
                out = xf
            else:
                out = exp_of(k2, off, n, True)
                k2.call(A.VecScalarOp, out, out, inv_sum, n, fn="Muls")
            k2.barrier()
            s.store(k2, out, y_g, k2.binop(arith.AddiOp, base, off), n)

        kb.loop(kb.c(0), len_v, tile_v, normalise)

    k.loop(first, last, k.c(1), row)
    return Launch(kernel, block_dim, RowsTiling(rows=rows, rows_per_block=per, row_len=row_len, tile=tile).values())


def _softmax_columns(name: str, ty: str, outer: int, length: int, inner: int, log: bool,
                     soc: Soc, comment: str) -> Launch:
    eb = A.ctype_bytes(ty)
    tile = min(_tile(soc, 4 * eb + 4 * 3), math.ceil(inner / 16) * 16)
    chunks = math.ceil(inner / tile)
    rows = outer * chunks  # work items: (outer index, chunk of the inner dim)
    block_dim, per = split_rows(rows, soc)
    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], ColumnsTiling,
                               comment + "\n(softmax across rows: running max / sum tiles, fp32 arithmetic)")
    f = k.fields(ColumnsTiling)
    items_v, per_v, chunks_v, len_v, inner_v, tile_v = f.items, f.items_per_block, f.chunks, f.length, f.inner, f.tile
    g_t = A.GlobalType(StringAttr(ty))
    total = k.name(k.binop(arith.MuliOp, k.binop(arith.MuliOp, k.binop(arith.DivSIOp, items_v, chunks_v), len_v),
                           inner_v), "total")
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], k.c(0), total, result=g_t), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], k.c(0), total, result=g_t), "y_gm")
    s = Stream(k, soc, ty, ty, tile_v, ["xf", "mx", "sm"])
    first, last = block_rows(k, items_v, per_v)

    def item(kb: KB, it: SSAValue) -> None:
        o = kb.name(kb.binop(arith.DivSIOp, it, chunks_v), "outer")
        c0 = kb.name(kb.binop(arith.MuliOp, kb.binop(arith.RemSIOp, it, chunks_v), tile_v), "col")
        n = kb.name(kb.add(arith.MinSIOp(tile_v, kb.binop(arith.SubiOp, inner_v, c0))), "n")
        base = kb.name(kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, kb.binop(arith.MuliOp, o, len_v), inner_v), c0),
                       "base")
        xf, mx, sm = s.get(kb, "xf"), s.get(kb, "mx"), s.get(kb, "sm")

        def at(k2: KB, l: SSAValue) -> SSAValue:
            return k2.binop(arith.AddiOp, base, k2.binop(arith.MuliOp, l, inner_v))

        s.load(kb, x_g, base, n, mx)

        def running_max(k2: KB, l: SSAValue) -> None:
            s.load(k2, x_g, at(k2, l), n, xf)
            k2.call(A.VecBinaryOp, mx, mx, xf, n, fn="Max")
            k2.barrier()

        kb.loop(kb.c(1), len_v, kb.c(1), running_max)
        kb.call(A.DuplicateOp, sm, kb.f(0.0), n)
        kb.barrier()

        def exp_tile(k2: KB, l: SSAValue) -> None:
            s.load(k2, x_g, at(k2, l), n, xf)
            k2.call(A.VecBinaryOp, xf, xf, mx, n, fn="Sub")
            k2.barrier()
            k2.call(A.VecUnaryOp, xf, xf, n, fn="Exp")
            k2.barrier()

        def running_sum(k2: KB, l: SSAValue) -> None:
            exp_tile(k2, l)
            k2.call(A.VecBinaryOp, sm, sm, xf, n, fn="Add")
            k2.barrier()

        kb.loop(kb.c(0), len_v, kb.c(1), running_sum)
        if log:
            kb.call(A.VecUnaryOp, sm, sm, n, fn="Ln")
            kb.barrier()

        def normalise(k2: KB, l: SSAValue) -> None:
            if log:
                s.load(k2, x_g, at(k2, l), n, xf)
                k2.call(A.VecBinaryOp, xf, xf, mx, n, fn="Sub")
                k2.barrier()
                k2.call(A.VecBinaryOp, xf, xf, sm, n, fn="Sub")
            else:
                exp_tile(k2, l)
                k2.call(A.VecBinaryOp, xf, xf, sm, n, fn="Div")
            k2.barrier()
            s.store(k2, xf, y_g, at(k2, l), n)

        kb.loop(kb.c(0), len_v, kb.c(1), normalise)

    k.loop(first, last, k.c(1), item)
    return Launch(kernel, block_dim, ColumnsTiling(items=rows, items_per_block=per, chunks=chunks, length=length,
                                                   inner=inner, tile=tile).values())


# --- reductions and argmax ----------------------------------------------------------------


@kernel(*REDUCE_OPS)
def reduce_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    x_t, y_t = op.operands[0].type, op.results[0].type
    assert isinstance(x_t, TensorType) and isinstance(y_t, TensorType)
    shape = x_t.get_shape()
    ty = ctype(x_t)
    if ty not in ("float", "half"):
        raise NotImplementedError(f"{op.name} with {ty}")
    kind = op.name.removeprefix("cir.reduce_").removeprefix("cir.")
    p = props(op)
    if not shape:
        raise NotImplementedError(f"{op.name} of a scalar")
    axes = {p["axis"] % len(shape)} if kind == "argmax" else {a % len(shape) for a in p["axes"]}
    dims = merge_dims(shape, axes)
    if not any(r for _, r in dims):  # only size-1 dims reduced: a copy (argmax: zeros)
        dims = [(1, True)] + (dims or [(1, False)])
    strides, acc = [], 1
    for d, _ in reversed(dims):
        strides.append(acc)
        acc *= d
    strides.reverse()
    *outer, (width, last_reduced, _) = [(d, r, st) for (d, r), st in zip(dims, strides)]
    kept = [(d, st) for d, r, st in outer if not r]
    red = [(d, st) for d, r, st in outer if r]
    count = numel([d for d, r in dims if r])
    out_ty = ctype(y_t)
    if last_reduced:
        return _reduce_rows(name, kind, ty, out_ty, kept, red, width, count, numel(shape), soc, comment)
    return _reduce_columns(name, kind, ty, out_ty, kept, red, width, count, numel(shape), soc, comment)


def _reduce_rows(name: str, kind: str, ty: str, out_ty: str, kept: list[tuple[int, int]],
                 red: list[tuple[int, int]], row_len: int, count: int, total: int, soc: Soc,
                 comment: str) -> Launch:
    eb = A.ctype_bytes(ty)
    tile = min(_tile(soc, 2 * eb + 4 * 2), math.ceil(row_len / 16) * 16)
    rows = numel([d for d, _ in kept])
    red_rows = numel([d for d, _ in red])
    block_dim, per = split_rows(rows, soc)
    k_fields, k_vals = digit_fields(kept, "k")
    r_fields, r_vals = digit_fields(red, "r")
    fields = tiling_fields(ReduceRowsTiling.names()) + k_fields + r_fields
    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], fields,
                               comment + f"\n(row {kind}: each output reduces contiguous rows tile by tile, fp32)")
    f = k.fields(ReduceRowsTiling)
    rows_v, per_v, len_v, red_v, tile_v, total_v = f.rows, f.rows_per_block, f.row_len, f.red_rows, f.tile, f.total
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], k.c(0), total_v, result=A.GlobalType(StringAttr(ty))), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], k.c(0), rows_v, result=A.GlobalType(StringAttr(out_ty))), "y_gm")
    s = Stream(k, soc, ty, ty, tile_v, ["xf", "work"])
    first, last = block_rows(k, rows_v, per_v)
    reduce_fn, _, combine = _KIND[kind]
    init = {"max": -FLT_MAX, "argmax": -FLT_MAX, "min": FLT_MAX}.get(kind, 0.0)

    def count_at(kb: KB, off: SSAValue) -> SSAValue:
        return kb.name(kb.add(arith.MinSIOp(tile_v, kb.binop(arith.SubiOp, len_v, off))), "n")

    def row(kb: KB, o: SSAValue) -> None:
        base = kb.name(decode_offset(kb, o, "k", len(kept)), "base")

        def one_row(k2: KB, r: SSAValue, acc: SSAValue) -> SSAValue:
            start = k2.name(k2.binop(arith.AddiOp, base, decode_offset(k2, r, "r", len(red))), "start")

            def tile_fn(k3: KB, off: SSAValue, acc3: SSAValue) -> SSAValue:
                n = count_at(k3, off)
                s.load(k3, x_g, k3.binop(arith.AddiOp, start, off), n, s.get(k3, "xf"))
                return k3.add(combine(acc3, s.reduce(k3, reduce_fn, s.get(k3, "xf"), n)))

            return fold(k2, k2.c(0), len_v, tile_v, acc, tile_fn)

        value = kb.name(fold(kb, kb.c(0), red_v, kb.c(1), kb.f(init), one_row), "value")
        if kind == "mean":
            value = kb.name(kb.add(arith.DivfOp(value, kb.add(arith.SIToFPOp(
                kb.binop(arith.MuliOp, red_v, len_v), f32)))), "mean")
        if kind == "argmax":  # second pass: the first tile whose maximum is the row's, its index
            def find(k3: KB, off: SSAValue, idx: SSAValue) -> SSAValue:
                n = count_at(k3, off)
                xf, work = s.get(k3, "xf"), s.get(k3, "work")
                s.load(k3, x_g, k3.binop(arith.AddiOp, base, off), n, xf)
                k3.call(A.ReduceIndexOp, work, xf, work, n, fn="ReduceMax")
                k3.barrier()
                tile_max = k3.name(k3.call(A.GetValueOp, work, k3.c(0), result=f32), "tile_max")
                at = k3.name(k3.call(A.GetValueOp, k3.call(A.ReinterpretOp, work, result=A.LocalType(
                    StringAttr("uint32_t"))), k3.c(1), result=i64), "tile_arg")
                hit = k3.add(arith.AndIOp(k3.add(arith.CmpfOp(tile_max, value, "oeq")),
                                          k3.add(arith.CmpiOp(idx, k3.c(0), "slt"))))
                return k3.add(arith.SelectOp(hit, k3.binop(arith.AddiOp, off, at), idx))

            arg = kb.name(fold(kb, kb.c(0), len_v, tile_v, kb.c(-1), find), "arg")
            kb.call(A.SetValueOp, y_g, o, arg)
        else:
            kb.call(A.SetValueOp, y_g, o, value)

    k.loop(first, last, k.c(1), row)
    return Launch(kernel, block_dim, ReduceRowsTiling(rows=rows, rows_per_block=per, row_len=row_len, red_rows=red_rows,
                                                      tile=tile, total=total, extra=k_vals | r_vals).values())


def _reduce_columns(name: str, kind: str, ty: str, out_ty: str, kept: list[tuple[int, int]],
                    red: list[tuple[int, int]], width: int, count: int, total: int, soc: Soc,
                    comment: str) -> Launch:
    eb = A.ctype_bytes(ty)
    argmax = kind == "argmax"
    tile = min(_tile(soc, 2 * eb + 2 * A.ctype_bytes(out_ty) + 4 * 3), math.ceil(width / 16) * 16)
    chunks = math.ceil(width / tile)
    rows = numel([d for d, _ in kept])
    red_rows = numel([d for d, _ in red])
    items = rows * chunks
    block_dim, per = split_rows(items, soc)
    k_fields, k_vals = digit_fields(kept, "k")
    r_fields, r_vals = digit_fields(red, "r")
    fields = tiling_fields(ReduceColumnsTiling.names()) + k_fields + r_fields
    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], fields,
                               comment + f"\n(column {kind}: rows combined elementwise into an fp32 tile)")
    f = k.fields(ReduceColumnsTiling)
    items_v, per_v, chunks_v, width_v = f.items, f.items_per_block, f.chunks, f.width
    red_v, tile_v, total_v = f.red_rows, f.tile, f.total
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], k.c(0), total_v, result=A.GlobalType(StringAttr(ty))), "x_gm")
    out_total = k.name(k.binop(arith.MuliOp, k.binop(arith.DivSIOp, items_v, chunks_v), width_v), "out_total")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], k.c(0), out_total, result=A.GlobalType(StringAttr(out_ty))), "y_gm")
    s = Stream(k, soc, ty, out_ty, tile_v, ["xf", "acc"])
    first, last = block_rows(k, items_v, per_v)
    _, vec_fn, _ = _KIND[kind]

    def item(kb: KB, it: SSAValue) -> None:
        o = kb.name(kb.binop(arith.DivSIOp, it, chunks_v), "row")
        c0 = kb.name(kb.binop(arith.MuliOp, kb.binop(arith.RemSIOp, it, chunks_v), tile_v), "col")
        n = kb.name(kb.add(arith.MinSIOp(tile_v, kb.binop(arith.SubiOp, width_v, c0))), "n")
        base = kb.name(kb.binop(arith.AddiOp, decode_offset(kb, o, "k", len(kept)), c0), "base")
        xf, acc = s.get(kb, "xf"), s.get(kb, "acc")

        def at(k2: KB, r: SSAValue) -> SSAValue:
            return k2.name(k2.binop(arith.AddiOp, base, decode_offset(k2, r, "r", len(red))), "start")

        s.load(kb, x_g, base, n, acc)  # reduced row 0 starts the accumulator
        if argmax:
            # no vector compare/select in the API subset: a scalar scan of each loaded tile;
            # strictly greater keeps the first maximum, like np.argmax
            arg = kb.name(kb.call(A.AllocTensorOp, s.qout, result=A.LocalType(StringAttr(out_ty))), "arg_ub")

            def zero(k2: KB, c: SSAValue) -> None:
                k2.call(A.SetValueOp, arg, c, k2.c(0))

            kb.loop(kb.c(0), n, kb.c(1), zero)

            def scan(k2: KB, r: SSAValue) -> None:
                s.load(k2, x_g, at(k2, r), n, xf)

                def lane(k3: KB, c: SSAValue) -> None:
                    v = k3.name(k3.call(A.GetValueOp, xf, c, result=f32), "v")
                    best = k3.name(k3.call(A.GetValueOp, acc, c, result=f32), "best")

                    def take(k4: KB) -> None:
                        k4.call(A.SetValueOp, acc, c, v)
                        k4.call(A.SetValueOp, arg, c, r)

                    k3.when(k3.add(arith.CmpfOp(v, best, "ogt")), take)

                k2.loop(k2.c(0), n, k2.c(1), lane)

            kb.loop(kb.c(1), red_v, kb.c(1), scan)
            kb.call(A.EnQueOp, s.qout, arg)
            y = kb.name(kb.call(A.DeQueOp, s.qout, result=A.LocalType(StringAttr(out_ty))), "y_out")
            dst = kb.call(A.AtOp, y_g, kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, o, width_v), c0), result=y_g.type)
            copy_tile(kb, kb.aligned(n, A.ctype_bytes(out_ty)), dst, y, n, soc, A.ctype_bytes(out_ty))
            kb.call(A.FreeTensorOp, s.qout, y)
            return

        def combine(k2: KB, r: SSAValue) -> None:
            s.load(k2, x_g, at(k2, r), n, xf)
            k2.call(A.VecBinaryOp, acc, acc, xf, n, fn=vec_fn)
            k2.barrier()

        kb.loop(kb.c(1), red_v, kb.c(1), combine)
        if kind == "mean":
            kb.call(A.VecScalarOp, acc, acc, kb.f(1.0 / count), n, fn="Muls")
            kb.barrier()
        s.store(kb, acc, y_g, kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, o, width_v), c0), n)

    k.loop(first, last, k.c(1), item)
    return Launch(kernel, block_dim, ReduceColumnsTiling(items=items, items_per_block=per, chunks=chunks, width=width,
                                                         red_rows=red_rows, tile=tile, total=total,
                                                         extra=k_vals | r_vals).values())
