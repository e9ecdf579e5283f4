"""Data-movement kernel families: the gather kernel over a compile-time index map, transposes
that keep the last dimension, concat / split as strided row copies, and embedding-style row
gathers by run-time indices.

**Row copies.** concat and split move contiguous runs between two row-strided views: one launch
per input (concat) or output (split) of one shared kernel. A transpose that keeps the last
dimension last is such a copy too: each output row (the leading output dims, merged where the
input keeps them adjacent) is one contiguous input run; on arch 220 a chunk of rows along the
innermost row dim moves in one strided DataCopyPad each way. Other permutations use the gather
kernel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from cir.lowering import ascendc as A
from cir.lowering.builder import (
    ALIGN,
    KB,
    Launch,
    Tiling,
    block_rows,
    block_slice,
    copy_run,
    ctype,
    kernel,
    new_kernel,
    props,
    split_elements,
    split_rows,
    staging_queue,
)
from xdsl.dialects import arith
from xdsl.dialects.builtin import StringAttr, TensorType, f32, i64
from xdsl.ir import Operation, SSAValue

from cir.formats import pack, physical_shape, unpack
from cir.interpreter import KERNELS, PAD_MODES
from cir.soc import Soc
from cir.types import dtype_of, format_of, numel

MAX_ROW_DIMS = 4


@dataclass
class IndexMapTiling(Tiling):
    total: int  # output elements (of the physical layout for trans_data)
    per_block: int
    in_total: int


@dataclass
class RowCopyTiling(Tiling):
    """y[r * dst_stride + dst_off + j] = x[r * src_stride + src_off + j], j < row_len."""

    rows: int
    rows_per_block: int
    row_len: int
    tile: int
    src_stride: int
    src_off: int
    dst_stride: int
    dst_off: int
    src_size: int
    dst_size: int


@dataclass
class GatherRowsTiling(Tiling):
    rows: int
    rows_per_block: int
    n_idx: int
    dim: int
    inner: int
    tile: int
    x_size: int


# --- data movement: one gather kernel driven by a compile-time index map ------------------
#
# The op's own reference kernel, run on an array of element indices instead of data, says for
# every output element which input element it copies (-1: padding). The kernel streams that
# map and gathers; one kernel covers transpose, slice, broadcast, tile, pad, nearest upsample
# and split, and is exactly as correct as the reference interpreter.

GATHER_OPS = ("cir.slice", "cir.broadcast_to", "cir.tile", "cir.pad",
              "cir.upsample", "cir.trans_data")


def index_maps(op: Operation) -> list[np.ndarray]:
    """For each result: the flat index of the input element each output element copies, -1
    where it copies none (padding). Computed by the op's reference kernel on 1 + indices, so
    that zero padding (pad, trans_data into C0 blocks) reads as -1."""
    x = op.operands[0].type
    assert isinstance(x, TensorType)
    idx = np.arange(1, numel(x.get_shape()) + 1, dtype=np.float64).reshape(x.get_shape())
    if op.name == "cir.upsample" and props(op)["mode"] != "nearest":
        raise NotImplementedError("cir.upsample bilinear")
    if op.name == "cir.trans_data":  # buffers hold the physical layouts
        p = props(op)
        logical = x.get_shape()
        if p["src_format"] not in ("ND", "NCHW"):
            phys = physical_shape(logical, p["src_format"], dtype_of(x).itemsize)
            idx = np.arange(1, numel(phys) + 1, dtype=np.float64).reshape(phys)
            idx = unpack(idx, p["src_format"], logical)
        outs = (pack(idx, p["dst_format"], dtype_of(x).itemsize),)
    elif op.name == "cir.pad":
        p = props(op)
        widths = list(zip(p["low"], p["high"]))
        outs = (np.pad(idx, widths, constant_values=0) if p["mode"] == "constant"
                else np.pad(idx, widths, mode=PAD_MODES[p["mode"]]),)
    else:
        out = KERNELS[type(op)](op, idx)
        outs = out if isinstance(out, tuple) else (out,)
    return [(np.asarray(o) - 1).astype(np.int32) for o in outs]


@kernel(*GATHER_OPS)
def gather_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    if len(op.results) != 1:
        raise NotImplementedError(f"{op.name} with several results")
    out_t = op.results[0].type
    assert isinstance(out_t, TensorType)
    (imap,) = index_maps(op)
    ty = ctype(out_t)
    total = imap.size  # the output buffer's elements (its physical layout for trans_data)
    block_dim, per_block = split_elements(total, 4, soc)
    pad = float(props(op)["value"]) if op.name == "cir.pad" else 0.0
    args = ["x0", "map", "y", "workspace", "tiling"]
    kernel, gm, k = new_kernel(name, args, IndexMapTiling, comment + "\n(gather through a compile-time index map)")
    g_t = A.GlobalType(StringAttr(ty))
    m_t = A.GlobalType(StringAttr("int32_t"))
    f = k.fields(IndexMapTiling)
    total_v, per_block_v, in_total = f.total, f.per_block, f.in_total
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
    return Launch(kernel, block_dim, IndexMapTiling(total=total, per_block=per_block, in_total=in_total).values(),
                  args=["operand:0", f"weight:_map.{name}", "result:0"],
                  weights={f"_map.{name}": imap.reshape(-1)})



# --- concat / split: strided row copies --------------------------------------------------

def row_copy_kernel(name: str, comment: str, soc: Soc, t: TensorType) -> A.KernelOp:
    """y[r * dst_stride + dst_off + j] = x[r * src_stride + src_off + j], j < row_len."""
    ty = ctype(t)
    elem_bytes = dtype_of(t).itemsize
    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], RowCopyTiling, comment)
    f = k.fields(RowCopyTiling)
    g_t = A.GlobalType(StringAttr(ty))
    zero, one = k.c(0), k.c(1)
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, f["src_size"], result=g_t), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, f["dst_size"], result=g_t), "y_gm")
    que = staging_queue(k, f["tile"], elem_bytes)
    first, last = block_rows(k, f["rows"], f["rows_per_block"])

    def row_body(kb: KB, row: SSAValue) -> None:
        src = kb.name(kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, row, f["src_stride"]), f["src_off"]), "src")
        dst = kb.name(kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, row, f["dst_stride"]), f["dst_off"]), "dst")

        copy_run(kb, que, (x_g, src), (y_g, dst), f["row_len"], f["tile"], soc, elem_bytes)

    k.loop(first, last, one, row_body)
    return kernel


def _copy_launch(kernel: A.KernelOp, soc: Soc, elem_bytes: int, rows: int, row_len: int,
                 src: tuple[int, int, int], dst: tuple[int, int, int], args: list[str]) -> Launch:
    """src, dst: (row stride, offset, buffer size) in elements."""
    tile = max(ALIGN // elem_bytes, min(16384, (soc.ub_bytes // 2) // ALIGN * ALIGN // elem_bytes,
                                        -(-row_len // 8) * 8))
    block_dim, per = split_rows(rows, soc, math.ceil(rows * row_len / 4096))
    tiling = RowCopyTiling(rows=rows, rows_per_block=per, row_len=row_len, tile=tile, src_stride=src[0],
                           src_off=src[1], dst_stride=dst[0], dst_off=dst[1], src_size=src[2], dst_size=dst[2])
    return Launch(kernel, block_dim, tiling.values(), args=args)


@kernel("cir.concat", "cir.split")
def concat_split_kernels(name: str, op: Operation, soc: Soc, comment: str) -> list[Launch]:
    axis = props(op)["axis"]
    concat = op.name == "cir.concat"
    whole = op.results[0].type if concat else op.operands[0].type
    parts = [v.type for v in (op.operands if concat else op.results)]
    assert isinstance(whole, TensorType)
    shape = whole.get_shape()
    axis %= len(shape)
    outer = numel(shape[:axis])
    row_total = numel(shape[axis:])
    kernel = row_copy_kernel(name, comment + "\n(strided row copy)", soc, whole)
    elem_bytes = dtype_of(whole).itemsize
    launches, off = [], 0
    total = numel(shape)
    for i, t in enumerate(parts):
        assert isinstance(t, TensorType)
        row_len = numel(t.get_shape()[axis:])
        part, whole_view = (row_len, 0, outer * row_len), (row_total, off, total)
        if row_len and outer:
            if concat:
                launches.append(_copy_launch(kernel, soc, elem_bytes, outer, row_len, part, whole_view,
                                             [f"operand:{i}", "result:0"]))
            else:
                launches.append(_copy_launch(kernel, soc, elem_bytes, outer, row_len, whole_view, part,
                                             ["operand:0", f"result:{i}"]))
        off += row_len
    return launches


# --- transpose keeping the last dimension: strided row copies ----------------------------

def _transpose_plan(shape: Sequence[int], perm: Sequence[int]
                    ) -> tuple[list[int], list[int], int] | None:
    """(row dims, their input strides, run length) of ``x.transpose(perm)`` seen as copies of
    contiguous runs: output dims of size 1 dropped, adjacent output dims merged where the input
    keeps them adjacent (the last merged dim is the run). None when the run would not be
    contiguous in the input (the permutation moves the last dimension)."""
    in_strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    dims = [(shape[q], in_strides[q]) for q in perm if shape[q] != 1]
    if not dims:
        return [], [], 1
    merged = [dims[-1]]
    for d, st in reversed(dims[:-1]):
        md, ms = merged[0]
        if st == ms * md:
            merged[0] = (d * md, ms)
        else:
            merged.insert(0, (d, st))
    *row, (inner, inner_stride) = merged
    if inner_stride != 1:
        return None
    return [d for d, _ in row], [st for _, st in row], inner


@kernel("cir.transpose")
def transpose_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    """y[r * row_len + j] = x[sum_k i_k(r) * src_stride_k + j]: output row r (multi-index
    i(r) over the merged leading output dims) is one contiguous input run, copied GM -> UB -> GM
    in tiles. Permutations that move the last dimension go to the gather kernel."""
    x_t, out_t = op.operands[0].type, op.results[0].type
    assert isinstance(x_t, TensorType) and isinstance(out_t, TensorType)
    shape = x_t.get_shape()
    plan = _transpose_plan(shape, props(op)["perm"])
    if (plan is None or numel(shape) == 0 or len(plan[0]) > MAX_ROW_DIMS
            or format_of(x_t) != "ND" or format_of(out_t) != "ND"):
        return gather_kernel(name, op, soc, comment)
    row_dims, strides, inner = plan
    rows = math.prod(row_dims)
    n_dims = max(len(row_dims), 1)
    row_dims, strides = row_dims or [1], strides or [0]
    ty = ctype(out_t)
    elem_bytes = dtype_of(out_t).itemsize
    per_align = ALIGN // elem_bytes  # whole 32-byte blocks: DataCopyPad pads up to them in UB
    tile = max(per_align, min(16384, (soc.ub_bytes // 2) // ALIGN * ALIGN // elem_bytes,
                              -(-inner // per_align) * per_align))
    padded_row = -(-inner // per_align) * per_align
    # arch 220: a chunk of `group` rows along the innermost row dim in one strided DataCopyPad
    # GM -> UB (each row padded to 32 bytes in UB) and one DataCopyPad UB -> GM (contiguous)
    group = min(4095, (soc.ub_bytes // 2) // ALIGN * ALIGN // elem_bytes // padded_row, row_dims[-1])
    batched = soc.arch >= 220 and group >= 2 and (strides[-1] - inner) * elem_bytes < 2**32
    if batched:
        tile = group * padded_row
        outer = rows // row_dims[-1]
        chunks_per_row = -(-row_dims[-1] // group)
        chunks = outer * chunks_per_row
    fields = [(f, "int64_t") for f in ("rows", "rows_per_block", "row_len", "tile", "size")]
    if batched:
        fields += [(f, "int64_t") for f in ("group", "chunks_per_row", "src_gap_bytes")]
    fields += [(f"dim{j}", "int64_t") for j in range(n_dims)]
    fields += [(f"src_stride{j}", "int64_t") for j in range(n_dims)]
    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], fields,
                               comment + "\n(transpose keeping the last dim: strided row copies)")
    f = k.fields([name for name, _ in fields])
    g_t, l_t = A.GlobalType(StringAttr(ty)), A.LocalType(StringAttr(ty))
    zero, one = k.c(0), k.c(1)
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, f["size"], result=g_t), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, f["size"], result=g_t), "y_gm")
    que = staging_queue(k, f["tile"], elem_bytes)
    first, last = block_rows(k, f["rows"], f["rows_per_block"])

    def row_body(kb: KB, row: SSAValue) -> None:
        src = zero
        rest = row
        for j in reversed(range(n_dims)):  # the row's multi-index, innermost row dim first
            i_j = kb.name(kb.binop(arith.RemSIOp, rest, f[f"dim{j}"]), f"i{j}")
            src = kb.binop(arith.AddiOp, src, kb.binop(arith.MuliOp, i_j, f[f"src_stride{j}"]))
            if j:
                rest = kb.binop(arith.DivSIOp, rest, f[f"dim{j}"])
        src = kb.name(src, "src")
        dst = kb.name(kb.binop(arith.MuliOp, row, f["row_len"]), "dst")

        copy_run(kb, que, (x_g, src), (y_g, dst), f["row_len"], f["tile"], soc, elem_bytes)

    def chunk_body(kb: KB, chunk: SSAValue) -> None:
        # rows [q * dim_last + i0, + g): consecutive along the innermost row dim
        q = kb.name(kb.binop(arith.DivSIOp, chunk, f["chunks_per_row"]), "q")
        i0 = kb.name(kb.binop(arith.MuliOp, kb.binop(arith.RemSIOp, chunk, f["chunks_per_row"]), f["group"]), "i0")
        last_dim = f[f"dim{n_dims - 1}"]
        g = kb.name(kb.add(arith.MinSIOp(f["group"], kb.binop(arith.SubiOp, last_dim, i0))), "g")
        src = kb.binop(arith.MuliOp, i0, f[f"src_stride{n_dims - 1}"])
        rest = q
        for j in reversed(range(n_dims - 1)):
            i_j = kb.name(kb.binop(arith.RemSIOp, rest, f[f"dim{j}"]), f"i{j}")
            src = kb.binop(arith.AddiOp, src, kb.binop(arith.MuliOp, i_j, f[f"src_stride{j}"]))
            if j:
                rest = kb.binop(arith.DivSIOp, rest, f[f"dim{j}"])
        src = kb.name(src, "src")
        row = kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, q, last_dim), i0)
        dst = kb.name(kb.binop(arith.MuliOp, row, f["row_len"]), "dst")
        t = kb.name(kb.call(A.AllocTensorOp, que, result=l_t), "buf")
        kb.call(A.DataCopyPad2dOp, t, kb.call(A.AtOp, x_g, src, result=g_t), g, f["row_len"],
                f["src_gap_bytes"], zero, zero, zero)
        kb.call(A.EnQueOp, que, t)
        u = kb.name(kb.call(A.DeQueOp, que, result=l_t), "buf_in")
        kb.call(A.DataCopyPad2dOp, kb.call(A.AtOp, y_g, dst, result=g_t), u, g, f["row_len"], zero, zero, zero, zero)
        kb.call(A.FreeTensorOp, que, u)

    if batched:
        k.loop(first, last, one, chunk_body)
        block_dim, per = split_rows(chunks, soc, math.ceil(rows * inner / 4096))
        # "rows" / "rows_per_block" count chunks of `group` rows here
        tiling = {"rows": chunks, "rows_per_block": per, "row_len": inner, "tile": tile, "size": numel(shape),
                  "group": group, "chunks_per_row": chunks_per_row,
                  "src_gap_bytes": (strides[-1] - inner) * elem_bytes}
        return Launch(kernel, block_dim, tiling | {f"dim{j}": d for j, d in enumerate(row_dims)}
                      | {f"src_stride{j}": st for j, st in enumerate(strides)}, args=["operand:0", "result:0"])
    k.loop(first, last, one, row_body)
    block_dim, per = split_rows(rows, soc, math.ceil(rows * inner / 4096))
    tiling = {"rows": rows, "rows_per_block": per, "row_len": inner, "tile": tile, "size": numel(shape)}
    tiling |= {f"dim{j}": d for j, d in enumerate(row_dims)}
    tiling |= {f"src_stride{j}": st for j, st in enumerate(strides)}
    return Launch(kernel, block_dim, tiling, args=["operand:0", "result:0"])



# --- gather along an axis with run-time indices (embeddings) -----------------------------

@kernel("cir.gather")
def gather_rows_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    """out[o, j, :] = x[o, idx[j], :]: one row copy per (o, j), the source row read from the
    index tensor at run time (negative indices count from the end)."""
    x_t, idx_t = (v.type for v in op.operands)
    assert isinstance(x_t, TensorType) and isinstance(idx_t, TensorType)
    shape = x_t.get_shape()
    axis = props(op)["axis"] % len(shape)
    outer, dim, inner = numel(shape[:axis]), shape[axis], numel(shape[axis + 1:])
    n_idx = numel(idx_t.get_shape())
    ty, ity = ctype(x_t), ctype(idx_t)
    elem_bytes = dtype_of(x_t).itemsize
    kernel, gm, k = new_kernel(name, ["x0", "x1", "y", "workspace", "tiling"], GatherRowsTiling,
                               comment + "\n(row gather by run-time indices)")
    f = k.fields(GatherRowsTiling)
    g_t = A.GlobalType(StringAttr(ty))
    zero, one = k.c(0), k.c(1)
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, f["x_size"], result=g_t), "x_gm")
    i_g = k.name(k.call(A.GlobalTensorOp, gm["x1"], zero, f["n_idx"], result=A.GlobalType(StringAttr(ity))), "index_gm")
    y_total = k.binop(arith.MuliOp, f["rows"], f["inner"])
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, y_total, result=g_t), "y_gm")
    que = staging_queue(k, f["tile"], elem_bytes)
    first, last = block_rows(k, f["rows"], f["rows_per_block"])

    def row_body(kb: KB, row: SSAValue) -> None:
        o = kb.name(kb.binop(arith.DivSIOp, row, f["n_idx"]), "o")
        j = kb.name(kb.binop(arith.RemSIOp, row, f["n_idx"]), "j")
        raw = kb.name(kb.call(A.GetValueOp, i_g, j, result=i64), "index")
        wrapped = kb.name(kb.binop(arith.AddiOp, raw, f["dim"]), "wrapped")
        idx = kb.name(kb.add(arith.SelectOp(kb.add(arith.CmpiOp(raw, zero, "slt")), wrapped, raw)), "source_row")
        src = kb.name(kb.binop(arith.MuliOp, kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, o, f["dim"]), idx),
                               f["inner"]), "src")
        dst = kb.name(kb.binop(arith.MuliOp, row, f["inner"]), "dst")

        copy_run(kb, que, (x_g, src), (y_g, dst), f["inner"], f["tile"], soc, elem_bytes)

    k.loop(first, last, one, row_body)
    rows = outer * n_idx
    tile = max(ALIGN // elem_bytes, min(16384, -(-inner // 8) * 8))
    block_dim, per = split_rows(rows, soc)
    return Launch(kernel, block_dim, GatherRowsTiling(rows=rows, rows_per_block=per, n_idx=n_idx, dim=dim,
                                                      inner=inner, tile=tile, x_size=numel(shape)).values())

