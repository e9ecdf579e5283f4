"""Vector kernel families over rows: broadcasting elementwise ops, GeGLU, concat / split,
embedding-style gather, and the fused add + norm operators.

**Row kernels.** The output is viewed as ``[rows, inner]``: ``inner`` is the longest run of
trailing dimensions over which every operand is either contiguous or constant, ``rows`` the
product of the others (kept as up to a few row dimensions). Each operand reads, for a row with
multi-index ``(i_0, ..., i_k)``, from ``offset + sum(i_j * stride_j)`` (stride 0 where it is
broadcast) and, along ``inner``, either a contiguous run (DataCopy into UB) or one value
(GetValue, Duplicate). Rows are split over ``blockDim`` cores; each row streams through UB in
tiles with double-buffered queues, and the op's recipe (``recipes.toml``) computes the tile.
Shape numbers (rows, dimension sizes, strides, offsets) are tiling fields, so one kernel serves
every shape with the same structure.

**Row copies.** concat and split move contiguous runs between two row-strided views: one launch
per input (concat) or output (split) of one shared kernel. A transpose that keeps the last
dimension last is such a copy too: each output row (the leading output dims, merged where the
input keeps them adjacent) is one contiguous input run; on arch 220 a chunk of rows along the
innermost row dim moves in one strided DataCopyPad each way. Other permutations use the gather
kernel.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cir.lowering import ascendc as A
from cir.lowering.lower_to_ascendc import (
    ALIGN,
    KB,
    Launch,
    _copy,
    _emit_step,
    check_recipe_types,
    ctype,
    elementwise_kernel,
    gather_kernel,
    new_kernel,
    norm_launch,
    prop_scalars,
    recipe_key,
    recipes,
    register,
)
from cir.soc import Soc
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntAttr, StringAttr, TensorType, f32, i64
from xdsl.ir import Operation, SSAValue

from cir import ops as cir_ops
from cir.types import dtype_of, is_bool, numel

MAX_ROW_DIMS = 4


def _block_rows(k: KB, f: dict[str, SSAValue]) -> tuple[SSAValue, SSAValue]:
    """This core's rows [first_row, end_row) from the tiling fields rows and rows_per_block."""
    block = k.call(A.BlockIdxOp, result=i64)
    first = k.name(k.binop(arith.MuliOp, block, f["rows_per_block"]), "first_row")
    last = k.name(k.add(arith.MinSIOp(k.binop(arith.AddiOp, first, f["rows_per_block"]), f["rows"])), "end_row")
    return first, last


def _staging_queue(k: KB, tile: SSAValue, elem_bytes: int) -> SSAValue:
    """A double-buffered VECIN queue of `tile` elements for copies staged through UB."""
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    que = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), "que")
    k.call(A.InitBufferOp, pipe, que, k.name(k.binop(arith.MuliOp, tile, k.c(elem_bytes)), "tile_bytes"), num=2)
    return que


def _copy_run(kb: KB, que: SSAValue, src: tuple[SSAValue, SSAValue], dst: tuple[SSAValue, SSAValue],
              length: SSAValue, tile: SSAValue, soc: Soc, elem_bytes: int) -> None:
    """Copy `length` contiguous elements from (GlobalTensor, offset) `src` to `dst` through UB,
    `tile` at a time (DataCopy, or the unaligned-tail path of `_copy`)."""
    (x_g, x_off), (y_g, y_off) = src, dst
    g_t = x_g.type
    assert isinstance(g_t, A.GlobalType)
    l_t = A.LocalType(g_t.elem)

    def tile_body(k2: KB, off: SSAValue) -> None:
        n = k2.name(k2.add(arith.MinSIOp(tile, k2.binop(arith.SubiOp, length, off))), "n")
        aligned = k2.name(k2.add(arith.CmpiOp(
            k2.binop(arith.RemSIOp, k2.binop(arith.MuliOp, n, k2.c(elem_bytes)), k2.c(ALIGN)), k2.c(0), "eq")),
            "aligned")
        t = k2.name(k2.call(A.AllocTensorOp, que, result=l_t), "buf")
        _copy(k2, aligned, t, k2.call(A.AtOp, x_g, k2.binop(arith.AddiOp, x_off, off), result=g_t), n, soc, elem_bytes)
        k2.call(A.EnQueOp, que, t)
        u = k2.name(k2.call(A.DeQueOp, que, result=l_t), "buf_in")
        _copy(k2, aligned, k2.call(A.AtOp, y_g, k2.binop(arith.AddiOp, y_off, off), result=g_t), u, n, soc, elem_bytes)
        k2.call(A.FreeTensorOp, que, u)

    kb.loop(kb.c(0), length, tile, tile_body)


@dataclass
class RowOperand:
    """How a kernel input reads the ``[rows, inner]`` iteration space."""

    arg: str  # its binding: "operand:i"
    strides: list[int]  # element stride per row dimension (0: broadcast)
    contiguous: bool  # True: a run along inner; False: one value per row
    offset: int = 0


def _row_plan(out_shape: Sequence[int], in_shapes: Sequence[Sequence[int]]
              ) -> tuple[list[int], int, list[list[int]], list[bool]]:
    """(row dims, inner, per-operand row strides, per-operand inner contiguity) for numpy
    broadcasting of `in_shapes` to `out_shape`."""
    rank = len(out_shape)
    padded = [[1] * (rank - len(s)) + list(s) for s in in_shapes]
    dims = [(d, [int(s[i] == d and d != 1) for s in padded]) for i, d in enumerate(out_shape) if d != 1]
    if not dims:
        return [], 1, [[] for _ in in_shapes], [True] * len(in_shapes)
    merged: list[tuple[int, list[int]]] = [dims[0]]
    for d, status in dims[1:]:
        if status == merged[-1][1]:
            merged[-1] = (merged[-1][0] * d, status)
        else:
            merged.append((d, status))
    *row, (inner, inner_status) = merged
    strides = []
    for k in range(len(in_shapes)):
        run = inner if inner_status[k] else 1
        st = []
        for d, status in reversed(row):
            st.append(run if status[k] else 0)
            run *= d if status[k] else 1
        strides.append(st[::-1])
    return [d for d, _ in row], inner, strides, [bool(s) for s in inner_status]


def row_kernel(name: str, comment: str, soc: Soc, out_t: TensorType, recipe: list[list[Any]],
               operands: list[RowOperand], row_dims: list[int], inner: int,
               sizes: dict[str, int], scalars_of: Operation | None = None) -> Launch:
    """Apply `recipe` (inputs x0.., output y) over ``[rows, inner]`` (see the module docstring)."""
    if len(row_dims) > MAX_ROW_DIMS:
        raise NotImplementedError(f"broadcasting over more than {MAX_ROW_DIMS} row dimensions")
    ty = ctype(out_t)
    check_recipe_types(recipe, ty, scalars_of.name if scalars_of is not None else name)
    elem_bytes = dtype_of(out_t).itemsize
    rows = math.prod(row_dims)
    temps = sorted({a for step in recipe for a in step[1:] if isinstance(a, str) and a.startswith("t")})
    n_buffers = 2 * (len(operands) + 1) + len(temps)
    tile = (soc.ub_bytes // n_buffers) // ALIGN * ALIGN // elem_bytes
    tile = max(ALIGN // elem_bytes, min(tile, 16384, -(-inner // (ALIGN // elem_bytes)) * (ALIGN // elem_bytes)))
    blocks = max(1, min(soc.vector_cores, rows, math.ceil(rows * inner / 4096)))
    rows_per_block = math.ceil(rows / blocks)
    block_dim = math.ceil(rows / rows_per_block)
    n_dims = max(len(row_dims), 1)
    dims = (row_dims or [1])
    fields = [("rows", "int64_t"), ("rows_per_block", "int64_t"), ("inner", "int64_t"), ("tile", "int64_t")]
    fields += [(f"dim{j}", "int64_t") for j in range(n_dims)]
    tiling: dict[str, int] = {"rows": rows, "rows_per_block": rows_per_block, "inner": inner, "tile": tile}
    tiling |= {f"dim{j}": d for j, d in enumerate(dims)}
    for i, o in enumerate(operands):
        fields.append((f"x{i}_offset", "int64_t"))
        tiling[f"x{i}_offset"] = o.offset
        for j in range(n_dims):
            fields.append((f"x{i}_stride{j}", "int64_t"))
            tiling[f"x{i}_stride{j}"] = (o.strides or [0])[j]
    # distinct GM arguments: operands bound to the same tensor share one
    bindings = list(dict.fromkeys(o.arg for o in operands))
    args = [f"x{bindings.index(o.arg)}" for o in operands]
    gm_names = [f"x{j}" for j in range(len(bindings))]
    for j, b in enumerate(bindings):  # GM sizes, so the CPU layer checks every access
        fields.append((f"x{j}_size", "int64_t"))
        tiling[f"x{j}_size"] = sizes[b]
    kernel, gm, k = new_kernel(name, gm_names + ["y", "workspace", "tiling"], fields, comment)
    f = {fname: k.field(fname) for fname, _ in fields}
    g_t, l_t = A.GlobalType(StringAttr(ty)), A.LocalType(StringAttr(ty))
    zero, one = k.c(0), k.c(1)
    srcs = {a: k.name(k.call(A.GlobalTensorOp, gm[a], zero, f[f"{a}_size"], result=g_t), f"{a}_gm")
            for a in dict.fromkeys(args)}
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, k.binop(arith.MuliOp, f["rows"], f["inner"]),
                        result=g_t), "y_gm")
    scalars = prop_scalars(k, scalars_of) if scalars_of is not None else {}
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    que_in = [k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), f"in_que{i}")
              for i in range(len(operands))]
    que_out = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
    tile_bytes = k.name(k.binop(arith.MuliOp, f["tile"], k.c(elem_bytes)), "tile_bytes")
    for q in (*que_in, que_out):
        k.call(A.InitBufferOp, pipe, q, tile_bytes, num=2)
    bufs = {t: k.name(k.call(A.BufOp, result=A.BufType()), f"{t}_buf") for t in temps}
    for b in bufs.values():
        k.call(A.InitBufferOp, pipe, b, tile_bytes, num=1)
    first, last = _block_rows(k, f)

    def row_body(kb: KB, row: SSAValue) -> None:
        # the row's multi-index, innermost row dimension first
        idx: list[SSAValue] = [zero] * n_dims
        rest = row
        for j in reversed(range(n_dims)):
            idx[j] = kb.name(kb.binop(arith.RemSIOp, rest, f[f"dim{j}"]), f"i{j}")
            if j:
                rest = kb.binop(arith.DivSIOp, rest, f[f"dim{j}"])
        bases = []
        for i in range(len(operands)):
            base = f[f"x{i}_offset"]
            for j in range(n_dims):
                base = kb.binop(arith.AddiOp, base, kb.binop(arith.MuliOp, idx[j], f[f"x{i}_stride{j}"]))
            bases.append(kb.name(base, f"x{i}_base"))
        out_base = kb.name(kb.binop(arith.MuliOp, row, f["inner"]), "y_base")

        def tile_body(k2: KB, off: SSAValue) -> None:
            n = k2.name(k2.add(arith.MinSIOp(f["tile"], k2.binop(arith.SubiOp, f["inner"], off))), "n")
            nbytes = k2.binop(arith.MuliOp, n, k2.c(elem_bytes))
            aligned = k2.name(k2.add(arith.CmpiOp(k2.binop(arith.RemSIOp, nbytes, k2.c(ALIGN)), k2.c(0), "eq")),
                              "aligned")
            locals_: dict[str, SSAValue] = {}
            for i, o in enumerate(operands):  # CopyIn
                t = k2.name(k2.call(A.AllocTensorOp, que_in[i], result=l_t), f"x{i}_in")
                if o.contiguous:
                    src = k2.call(A.AtOp, srcs[args[i]], k2.binop(arith.AddiOp, bases[i], off), result=g_t)
                    _copy(k2, aligned, t, src, n, soc, elem_bytes)
                else:
                    v = k2.name(k2.call(A.GetValueOp, srcs[args[i]], bases[i], result=f32), f"x{i}_value")
                    k2.call(A.DuplicateOp, t, v, n)
                k2.call(A.EnQueOp, que_in[i], t)
            for i in range(len(operands)):  # Compute
                locals_[f"x{i}"] = k2.name(k2.call(A.DeQueOp, que_in[i], result=l_t), f"x{i}_ub")
            locals_["y"] = k2.name(k2.call(A.AllocTensorOp, que_out, result=l_t), "y_ub")
            for t, b in bufs.items():
                locals_[t] = k2.name(k2.call(A.BufGetOp, b, result=l_t), t)
            for step in recipe:
                _emit_step(k2, step, locals_, scalars, n)
            k2.call(A.EnQueOp, que_out, locals_["y"])
            for i in range(len(operands)):
                k2.call(A.FreeTensorOp, que_in[i], locals_[f"x{i}"])
            y = k2.name(k2.call(A.DeQueOp, que_out, result=l_t), "y_out")  # CopyOut
            dst = k2.call(A.AtOp, y_g, k2.binop(arith.AddiOp, out_base, off), result=g_t)
            _copy(k2, aligned, dst, y, n, soc, elem_bytes)
            k2.call(A.FreeTensorOp, que_out, y)

        kb.loop(zero, f["inner"], f["tile"], tile_body)

    k.loop(first, last, one, row_body)
    return Launch(kernel, block_dim, tiling, args=bindings + ["result:0"])


# --- elementwise ops with general broadcasting -------------------------------------------

def _single(v: SSAValue) -> bool:
    return numel(v.type.get_shape()) == 1  # type: ignore[attr-defined]


def elementwise_any(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    """Same-shape operands (or a single-value second operand with a scalar recipe): the flat
    elementwise kernel. Anything else numpy broadcasting allows: a row kernel."""
    out_t = op.results[0].type
    assert isinstance(out_t, TensorType)
    shape = out_t.get_shape()
    same = all(v.type.get_shape() == shape for v in op.operands)  # type: ignore[attr-defined]
    scalar_ok = (len(op.operands) == 2 and _single(op.operands[1]) and not _single(op.operands[0])
                 and recipe_key(op) + ".scalar" in recipes())
    if same or scalar_ok:
        return elementwise_kernel(name, op, soc, comment)
    recipe = recipes().get(recipe_key(op))
    if recipe is None:
        raise NotImplementedError(op.name)
    row_dims, inner, strides, contiguous = _row_plan(shape, [v.type.get_shape() for v in op.operands])  # type: ignore[attr-defined]
    operands = [RowOperand(f"operand:{i}", strides[i], contiguous[i]) for i in range(len(op.operands))]
    sizes = {f"operand:{i}": numel(v.type.get_shape()) for i, v in enumerate(op.operands)}  # type: ignore[attr-defined]
    return row_kernel(name, comment + "\n(broadcasting rows)", soc, out_t, recipe, operands, row_dims, inner,
                      sizes, op)


# --- GeGLU: left * gelu(right) over the halves of the last dimension ---------------------

def geglu_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    p = op.p  # type: ignore[attr-defined]
    x_t = op.operands[0].type
    out_t = op.results[0].type
    assert isinstance(x_t, TensorType) and isinstance(out_t, TensorType)
    shape = x_t.get_shape()
    if p["dim"] % len(shape) != len(shape) - 1:
        raise NotImplementedError("cir.geglu over a dimension other than the last")
    half = shape[-1] // 2
    rows = numel(shape[:-1])
    gelu = recipes()["cir.gelu.tanh" if p["approximate"] == "tanh" else "cir.gelu"]
    # gelu of the activated half into t1 (x0 -> x1 renamed), then the product
    act, other = ("x0", "x1") if p["activate_left"] else ("x1", "x0")
    steps = [[s[0], "t1" if s[1] == "y" else s[1], *(act if a == "x0" else a for a in s[2:])] for s in gelu]
    steps.append(["Mul", "y", other, "t1"])
    operands = [RowOperand("operand:0", [2 * half], True, 0), RowOperand("operand:0", [2 * half], True, half)]
    return row_kernel(name, comment + "\n(GeGLU: the halves of each row)", soc, out_t, steps, operands,
                      [rows], half, {"operand:0": numel(shape)})


# --- concat / split: strided row copies --------------------------------------------------

def row_copy_kernel(name: str, comment: str, soc: Soc, t: TensorType) -> A.KernelOp:
    """y[r * dst_stride + dst_off + j] = x[r * src_stride + src_off + j], j < row_len."""
    ty = ctype(t)
    elem_bytes = dtype_of(t).itemsize
    fields = [(f, "int64_t") for f in ("rows", "rows_per_block", "row_len", "tile", "src_stride",
                                        "src_off", "dst_stride", "dst_off", "src_size", "dst_size")]
    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], fields, comment)
    f = {fname: k.field(fname) for fname, _ in fields}
    g_t = A.GlobalType(StringAttr(ty))
    zero, one = k.c(0), k.c(1)
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, f["src_size"], result=g_t), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, f["dst_size"], result=g_t), "y_gm")
    que = _staging_queue(k, f["tile"], elem_bytes)
    first, last = _block_rows(k, f)

    def row_body(kb: KB, row: SSAValue) -> None:
        src = kb.name(kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, row, f["src_stride"]), f["src_off"]), "src")
        dst = kb.name(kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, row, f["dst_stride"]), f["dst_off"]), "dst")

        _copy_run(kb, que, (x_g, src), (y_g, dst), f["row_len"], f["tile"], soc, elem_bytes)

    k.loop(first, last, one, row_body)
    return kernel


def _copy_launch(kernel: A.KernelOp, soc: Soc, elem_bytes: int, rows: int, row_len: int,
                 src: tuple[int, int, int], dst: tuple[int, int, int], args: list[str]) -> Launch:
    """src, dst: (row stride, offset, buffer size) in elements."""
    tile = max(ALIGN // elem_bytes, min(16384, (soc.ub_bytes // 2) // ALIGN * ALIGN // elem_bytes,
                                        -(-row_len // 8) * 8))
    blocks = max(1, min(soc.vector_cores, rows, math.ceil(rows * row_len / 4096)))
    per = math.ceil(rows / blocks)
    return Launch(kernel, math.ceil(rows / per),
                  {"rows": rows, "rows_per_block": per, "row_len": row_len, "tile": tile,
                   "src_stride": src[0], "src_off": src[1], "dst_stride": dst[0], "dst_off": dst[1],
                   "src_size": src[2], "dst_size": dst[2]},
                  args=args)


def concat_split_kernels(name: str, op: Operation, soc: Soc, comment: str) -> list[Launch]:
    axis = op.p["axis"]  # type: ignore[attr-defined]
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
        row_len = numel(t.get_shape()[axis:])  # type: ignore[attr-defined]
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


def transpose_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    """y[r * row_len + j] = x[sum_k i_k(r) * src_stride_k + j]: output row r (multi-index
    i(r) over the merged leading output dims) is one contiguous input run, copied GM -> UB -> GM
    in tiles. Permutations that move the last dimension go to the gather kernel."""
    x_t, out_t = op.operands[0].type, op.results[0].type
    assert isinstance(x_t, TensorType) and isinstance(out_t, TensorType)
    from cir.types import format_of

    shape = x_t.get_shape()
    plan = _transpose_plan(shape, op.p["perm"])  # type: ignore[attr-defined]
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
    f = {fname: k.field(fname) for fname, _ in fields}
    g_t, l_t = A.GlobalType(StringAttr(ty)), A.LocalType(StringAttr(ty))
    zero, one = k.c(0), k.c(1)
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, f["size"], result=g_t), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, f["size"], result=g_t), "y_gm")
    que = _staging_queue(k, f["tile"], elem_bytes)
    first, last = _block_rows(k, f)

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

        _copy_run(kb, que, (x_g, src), (y_g, dst), f["row_len"], f["tile"], soc, elem_bytes)

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
        blocks = max(1, min(soc.vector_cores, chunks, math.ceil(rows * inner / 4096)))
        per = math.ceil(chunks / blocks)
        # "rows" / "rows_per_block" count chunks of `group` rows here
        tiling = {"rows": chunks, "rows_per_block": per, "row_len": inner, "tile": tile, "size": numel(shape),
                  "group": group, "chunks_per_row": chunks_per_row,
                  "src_gap_bytes": (strides[-1] - inner) * elem_bytes}
        return Launch(kernel, math.ceil(chunks / per), tiling | {f"dim{j}": d for j, d in enumerate(row_dims)}
                      | {f"src_stride{j}": st for j, st in enumerate(strides)}, args=["operand:0", "result:0"])
    k.loop(first, last, one, row_body)
    blocks = max(1, min(soc.vector_cores, rows, math.ceil(rows * inner / 4096)))
    per = math.ceil(rows / blocks)
    tiling = {"rows": rows, "rows_per_block": per, "row_len": inner, "tile": tile, "size": numel(shape)}
    tiling |= {f"dim{j}": d for j, d in enumerate(row_dims)}
    tiling |= {f"src_stride{j}": st for j, st in enumerate(strides)}
    return Launch(kernel, math.ceil(rows / per), tiling, args=["operand:0", "result:0"])


register(["cir.transpose"], transpose_kernel)


# --- gather along an axis with run-time indices (embeddings) -----------------------------

def gather_rows_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    """out[o, j, :] = x[o, idx[j], :]: one row copy per (o, j), the source row read from the
    index tensor at run time (negative indices count from the end)."""
    x_t, idx_t = (v.type for v in op.operands)
    assert isinstance(x_t, TensorType) and isinstance(idx_t, TensorType)
    shape = x_t.get_shape()
    axis = op.p["axis"] % len(shape)  # type: ignore[attr-defined]
    outer, dim, inner = numel(shape[:axis]), shape[axis], numel(shape[axis + 1:])
    n_idx = numel(idx_t.get_shape())
    ty, ity = ctype(x_t), ctype(idx_t)
    elem_bytes = dtype_of(x_t).itemsize
    fields = [(f, "int64_t") for f in ("rows", "rows_per_block", "n_idx", "dim", "inner", "tile", "x_size")]
    kernel, gm, k = new_kernel(name, ["x0", "x1", "y", "workspace", "tiling"], fields,
                               comment + "\n(row gather by run-time indices)")
    f = {fname: k.field(fname) for fname, _ in fields}
    g_t = A.GlobalType(StringAttr(ty))
    zero, one = k.c(0), k.c(1)
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, f["x_size"], result=g_t), "x_gm")
    i_g = k.name(k.call(A.GlobalTensorOp, gm["x1"], zero, f["n_idx"], result=A.GlobalType(StringAttr(ity))), "index_gm")
    y_total = k.binop(arith.MuliOp, f["rows"], f["inner"])
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, y_total, result=g_t), "y_gm")
    que = _staging_queue(k, f["tile"], elem_bytes)
    first, last = _block_rows(k, f)

    def row_body(kb: KB, row: SSAValue) -> None:
        o = kb.name(kb.binop(arith.DivSIOp, row, f["n_idx"]), "o")
        j = kb.name(kb.binop(arith.RemSIOp, row, f["n_idx"]), "j")
        raw = kb.name(kb.call(A.GetValueOp, i_g, j, result=i64), "index")
        wrapped = kb.name(kb.binop(arith.AddiOp, raw, f["dim"]), "wrapped")
        idx = kb.name(kb.add(arith.SelectOp(kb.add(arith.CmpiOp(raw, zero, "slt")), wrapped, raw)), "source_row")
        src = kb.name(kb.binop(arith.MuliOp, kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, o, f["dim"]), idx),
                               f["inner"]), "src")
        dst = kb.name(kb.binop(arith.MuliOp, row, f["inner"]), "dst")

        _copy_run(kb, que, (x_g, src), (y_g, dst), f["inner"], f["tile"], soc, elem_bytes)

    k.loop(first, last, one, row_body)
    rows = outer * n_idx
    tile = max(ALIGN // elem_bytes, min(16384, -(-inner // 8) * 8))
    blocks = max(1, min(soc.vector_cores, rows))
    per = math.ceil(rows / blocks) if rows else 1
    return Launch(kernel, max(1, math.ceil(rows / per)),
                  {"rows": rows, "rows_per_block": per, "n_idx": n_idx, "dim": dim, "inner": inner, "tile": tile,
                   "x_size": numel(shape)})


# --- fused add + norm: the sum (result 1), then the norm of it (result 0) ----------------

def add_norm_kernels(name: str, op: Operation, soc: Soc, comment: str) -> list[Launch]:
    p = op.p  # type: ignore[attr-defined]
    x1, x2 = op.operands[0], op.operands[1]
    add = cir_ops.AddOp(x1, x2)  # the sum as a standalone op, to generate its kernel
    try:
        first = elementwise_any(f"{name}_sum", add, soc, comment + "\n(the sum)")
    finally:
        add.erase()
    first.args = ["operand:0", "operand:1", "result:1"] if first.args is None else [
        a.replace("result:0", "result:1") for a in first.args]
    sum_t = op.results[1].type
    assert isinstance(sum_t, TensorType)
    if op.name == "cir.add_group_norm":
        kind = "group_norm_silu" if p["activate_silu"] else "group_norm"
    else:
        kind = "layer_norm"
    norm = norm_launch(f"{name}_norm", kind, sum_t, p, True, True, soc, comment + "\n(the norm of the sum)")
    norm.args = ["result:1", "operand:2", "operand:3", "result:0"]
    return [first, norm]


BINARY_OPS = ("cir.add", "cir.sub", "cir.mul", "cir.div", "cir.pow", "cir.maximum", "cir.minimum")
register(BINARY_OPS, elementwise_any)
register(["cir.geglu"], geglu_kernel)
register(["cir.concat", "cir.split"], concat_split_kernels)
register(["cir.gather"], gather_rows_kernel)
register(["cir.add_group_norm", "cir.add_layer_norm"], add_norm_kernels)


# --- cast: element type conversion through UB --------------------------------------------

CASTS = Path(__file__).parent / "casts.toml"


@cache
def cast_plan(arch: int, src: str, dst: str) -> list[tuple[str, str]]:
    """[(C++ type, RoundMode)] of the Casts that take `src` to `dst` on `arch` (lowering/casts.toml)."""
    entry = tomllib.loads(CASTS.read_text()).get(f"arch{arch}", {}).get(f"{src}->{dst}")
    if entry is None:
        raise NotImplementedError(f"cir.cast {src} -> {dst} (no Cast pair on arch {arch})")
    if isinstance(entry, str):
        return [(dst, entry)]
    via, first, second = entry
    return [(via, first), (dst, second)]


def cast_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    from cir.lowering.lower_to_ascendc import _split, block_slice

    src_t, dst_t = op.operands[0].type, op.results[0].type
    assert isinstance(src_t, TensorType) and isinstance(dst_t, TensorType)
    if is_bool(dst_t):  # x != 0, not a numeric conversion: the host fallback for now
        raise NotImplementedError(f"cir.cast {dtype_of(src_t).name} -> i1")
    sty, dty = ctype(src_t), ctype(dst_t)
    steps = cast_plan(soc.arch, sty, dty)
    total = numel(dst_t.get_shape())
    sb, db = dtype_of(src_t).itemsize, dtype_of(dst_t).itemsize
    vb = A.ctype_bytes(steps[0][0]) if len(steps) > 1 else 0  # the intermediate tile's element bytes
    widest = max(sb, db, vb)
    tile = max(ALIGN // min(sb, db), (soc.ub_bytes // (2 * (sb + db) + vb)) // ALIGN * ALIGN // widest)
    tile = min(tile, 16384)
    block_dim, per_block = _split(total, min(sb, db), soc)
    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"],
                               [("total", "int64_t"), ("per_block", "int64_t"), ("tile", "int64_t")], comment)
    total_v, per_block_v, tile_v = k.field("total"), k.field("per_block"), k.field("tile")
    gs, gd = A.GlobalType(StringAttr(sty)), A.GlobalType(StringAttr(dty))
    ls, ld = A.LocalType(StringAttr(sty)), A.LocalType(StringAttr(dty))
    begin, length = block_slice(k, total_v, per_block_v)
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], begin, length, result=gs), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], begin, length, result=gd), "y_gm")
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    qi = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), "in_que")
    qo = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
    k.call(A.InitBufferOp, pipe, qi, k.binop(arith.MuliOp, tile_v, k.c(sb)), num=2)
    k.call(A.InitBufferOp, pipe, qo, k.binop(arith.MuliOp, tile_v, k.c(db)), num=2)
    mid = None
    if len(steps) > 1:  # a UB tile of the intermediate type between the two Casts
        mid_buf = k.name(k.call(A.BufOp, result=A.BufType()), "mid_buf")
        k.call(A.InitBufferOp, pipe, mid_buf, k.binop(arith.MuliOp, tile_v, k.c(vb)), num=1)
        mid = k.name(k.call(A.BufGetOp, mid_buf, result=A.LocalType(StringAttr(steps[0][0]))), "mid")

    def body(kb: KB, off: SSAValue) -> None:
        n = kb.name(kb.add(arith.MinSIOp(tile_v, kb.binop(arith.SubiOp, length, off))), "n")

        def aligned(bytes_per: int) -> SSAValue:
            return kb.add(arith.CmpiOp(kb.binop(arith.RemSIOp, kb.binop(arith.MuliOp, n, kb.c(bytes_per)),
                                                kb.c(ALIGN)), kb.c(0), "eq"))

        t = kb.name(kb.call(A.AllocTensorOp, qi, result=ls), "x_in")
        _copy(kb, aligned(sb), t, kb.call(A.AtOp, x_g, off, result=gs), n, soc, sb)
        kb.call(A.EnQueOp, qi, t)
        x = kb.name(kb.call(A.DeQueOp, qi, result=ls), "x_ub")
        y = kb.name(kb.call(A.AllocTensorOp, qo, result=ld), "y_ub")
        src = x
        for (_, mode), dst in zip(steps, [mid, y] if mid is not None else [y]):
            kb.call(A.CastOp, dst, src, n, round=mode)
            kb.call(A.PipeBarrierOp, pipe="PIPE_V")
            src = dst
        kb.call(A.EnQueOp, qo, y)
        kb.call(A.FreeTensorOp, qi, x)
        out = kb.name(kb.call(A.DeQueOp, qo, result=ld), "y_out")
        _copy(kb, aligned(db), kb.call(A.AtOp, y_g, off, result=gd), out, n, soc, db)
        kb.call(A.FreeTensorOp, qo, out)

    k.loop(k.c(0), length, tile_v, body)
    return Launch(kernel, block_dim, {"total": total, "per_block": per_block, "tile": tile})


register(["cir.cast"], cast_kernel)
