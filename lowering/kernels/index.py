"""Kernels for indexing by run-time indices and running sums: cir.gather_elements,
cir.gather_nd, cir.scatter_nd and cir.cumsum.

Each output element (or slice) reads its source position from the index tensor at run time
(negative indices count from the end, as the interpreter's), so there is no compile-time table.
Element moves are scalar GM reads and writes (``GetValue`` / ``SetValue``): these ops move
little data in real models (a pooled token, relative-position tables, a KV-cache row). Cores
split the output elements (gather_elements), the index rows (gather_nd) or the lines along the
axis (cumsum); scatter_nd runs on one core, in index order, so a repeated index keeps the last
update (reduction none) and sums are reproducible (add). Shape numbers are tiling fields; only
ranks are structural. Other cases (batch_dims, mul/max/min scatters, f16/bf16 sums) take the
host fallback.
"""

from __future__ import annotations

import math

from cir.lowering import ascendc as A
from cir.lowering.builder import (
    KB,
    Fields,
    Launch,
    block_slice,
    ctype,
    fold,
    kernel,
    new_kernel,
    props,
    split_rows,
    tensor_type,
)
from xdsl.dialects import arith
from xdsl.dialects.builtin import StringAttr, TensorType, f32, i64
from xdsl.ir import Operation, SSAValue

from cir.soc import Soc
from cir.types import numel

MAX_RANK = 6  # ranks unrolled into the kernel's index arithmetic
SUM_TYPES = {"float": f32, "int32_t": i64, "int64_t": i64}  # cumsum / scatter add: accumulator types


def _wrap(kb: KB, raw: SSAValue, dim: SSAValue, hint: str) -> SSAValue:
    """A possibly negative index into a dimension of size `dim`."""
    neg = kb.add(arith.CmpiOp(raw, kb.c(0), "slt"))
    return kb.name(kb.add(arith.SelectOp(neg, kb.binop(arith.AddiOp, raw, dim), raw)), hint)


def _globals(k: KB, gm: dict[str, SSAValue], f: Fields, spec: dict[str, tuple[str, str]]
             ) -> dict[str, SSAValue]:
    """GlobalTensors over whole GM arguments: name -> (C++ element type, size field)."""
    zero = k.c(0)
    return {n: k.name(k.call(A.GlobalTensorOp, gm[n], zero, f[size], result=A.GlobalType(StringAttr(ty))), f"{n}_gm")
            for n, (ty, size) in spec.items()}


@kernel("cir.gather_elements")
def gather_elements_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    x_t, idx_t = tensor_type(op.operands[0]), tensor_type(op.operands[1])
    rank = len(idx_t.get_shape())
    if rank > MAX_RANK:
        raise NotImplementedError(f"{op.name} of rank {rank}")
    axis = props(op)["axis"] % rank
    ishape, xshape = idx_t.get_shape(), x_t.get_shape()
    xstrides = [numel(xshape[d + 1:]) for d in range(rank)]
    total = numel(ishape)
    fields = ["total", "per_block", "x_size", "axis_dim"] + [f"dim{d}" for d in range(rank)] + \
        [f"xstride{d}" for d in range(rank)]
    kernel, gm, k = new_kernel(name, ["x0", "x1", "y", "workspace", "tiling"], [(f, "int64_t") for f in fields],
                               comment + f"\n(element gather by run-time indices along axis {axis})")
    f = k.fields(fields)
    begin, length = block_slice(k, f["total"], f["per_block"])
    g = _globals(k, gm, f, {"x0": (ctype(x_t), "x_size"), "x1": (ctype(idx_t), "total"), "y": (ctype(x_t), "total")})
    end = k.name(k.binop(arith.AddiOp, begin, length), "end")

    def body(kb: KB, t: SSAValue) -> None:
        rest, off = t, kb.c(0)
        for d in reversed(range(rank)):  # the element's coordinates in the index tensor
            if d == axis:
                coord = _wrap(kb, kb.name(kb.call(A.GetValueOp, g["x1"], t, result=i64), "index"), f["axis_dim"], "source")
            else:
                coord = kb.binop(arith.RemSIOp, rest, f[f"dim{d}"]) if d else rest
            if d:
                rest = kb.binop(arith.DivSIOp, rest, f[f"dim{d}"])
            off = kb.binop(arith.AddiOp, off, kb.binop(arith.MuliOp, coord, f[f"xstride{d}"]))
        kb.call(A.SetValueOp, g["y"], t, kb.name(kb.call(A.GetValueOp, g["x0"], kb.name(off, "src"), result=f32), "v"))

    k.loop(begin, end, k.c(1), body)
    block_dim, per = split_rows(total, soc, math.ceil(total / 1024))
    return Launch(kernel, block_dim, {"total": total, "per_block": per, "x_size": numel(xshape),
                                      "axis_dim": xshape[axis]}
                  | {f"dim{d}": s for d, s in enumerate(ishape)} | {f"xstride{d}": s for d, s in enumerate(xstrides)})


def _nd_offset(kb: KB, g: dict[str, SSAValue], f: Fields, row: SSAValue, k_dims: int) -> SSAValue:
    """The flat offset in x of the slice index row `row` addresses."""
    off = kb.c(0)
    base = kb.binop(arith.MuliOp, row, kb.c(k_dims))
    for j in range(k_dims):
        raw = kb.name(kb.call(A.GetValueOp, g["x1"], kb.binop(arith.AddiOp, base, kb.c(j)), result=i64), f"index{j}")
        off = kb.binop(arith.AddiOp, off, kb.binop(arith.MuliOp, _wrap(kb, raw, f[f"dim{j}"], f"i{j}"), f[f"stride{j}"]))
    return kb.name(off, "slice_start")


def _nd_shape(op: Operation) -> tuple[TensorType, TensorType, int, int, int, list[int], list[int]]:
    x_t, idx_t = tensor_type(op.operands[0]), tensor_type(op.operands[1])
    if props(op).get("batch_dims", 0):
        raise NotImplementedError(f"{op.name} with batch_dims")
    k_dims = idx_t.get_shape()[-1]
    if k_dims > MAX_RANK:
        raise NotImplementedError(f"{op.name} with {k_dims}-long index rows")
    xs = x_t.get_shape()
    rows, sl = numel(idx_t.get_shape()[:-1]), numel(xs[k_dims:])
    return x_t, idx_t, k_dims, rows, sl, list(xs[:k_dims]), [numel(xs[j + 1:]) for j in range(k_dims)]


@kernel("cir.gather_nd")
def gather_nd_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    x_t, idx_t, k_dims, rows, sl, dims, strides = _nd_shape(op)
    fields = ["rows", "per_block", "slice", "x_size", "idx_size"] + [f"dim{j}" for j in range(k_dims)] + \
        [f"stride{j}" for j in range(k_dims)]
    kernel, gm, k = new_kernel(name, ["x0", "x1", "y", "workspace", "tiling"], [(f, "int64_t") for f in fields],
                               comment + f"\n(slice gather by run-time {k_dims}-long index rows)")
    f = k.fields(fields)
    begin, length = block_slice(k, f["rows"], f["per_block"])
    y_size = k.binop(arith.MuliOp, f["rows"], f["slice"])
    f["y_size"] = y_size
    g = _globals(k, gm, f, {"x0": (ctype(x_t), "x_size"), "x1": (ctype(idx_t), "idx_size"), "y": (ctype(x_t), "y_size")})

    def row_body(kb: KB, row: SSAValue) -> None:
        src = _nd_offset(kb, g, f, row, k_dims)
        dst = kb.name(kb.binop(arith.MuliOp, row, f["slice"]), "dst")

        def copy(k2: KB, s: SSAValue) -> None:
            v = k2.name(k2.call(A.GetValueOp, g["x0"], k2.binop(arith.AddiOp, src, s), result=f32), "v")
            k2.call(A.SetValueOp, g["y"], k2.binop(arith.AddiOp, dst, s), v)

        kb.loop(kb.c(0), f["slice"], kb.c(1), copy)

    k.loop(begin, k.binop(arith.AddiOp, begin, length), k.c(1), row_body)
    block_dim, per = split_rows(rows, soc, math.ceil(rows / max(1, 1024 // max(sl, 1))))
    return Launch(kernel, block_dim, {"rows": rows, "per_block": per, "slice": sl, "x_size": numel(x_t.get_shape()),
                                      "idx_size": numel(idx_t.get_shape())}
                  | {f"dim{j}": d for j, d in enumerate(dims)} | {f"stride{j}": s for j, s in enumerate(strides)})


@kernel("cir.scatter_nd")
def scatter_nd_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    x_t, idx_t, k_dims, rows, sl, dims, strides = _nd_shape(op)
    reduction = props(op)["reduction"]
    ty = ctype(x_t)
    if reduction not in ("none", "add") or reduction == "add" and ty not in SUM_TYPES:
        raise NotImplementedError(f"{op.name} with reduction {reduction} on {ty}")
    fields = ["rows", "slice", "x_size", "idx_size"] + [f"dim{j}" for j in range(k_dims)] + \
        [f"stride{j}" for j in range(k_dims)]
    kernel, gm, k = new_kernel(name, ["x0", "x1", "x2", "y", "workspace", "tiling"], [(f, "int64_t") for f in fields],
                               comment + f"\n(scatter ({reduction}) by run-time {k_dims}-long index rows, in index order)")
    f = k.fields(fields)
    f["upd_size"] = k.binop(arith.MuliOp, f["rows"], f["slice"])
    g = _globals(k, gm, f, {"x0": (ty, "x_size"), "x1": (ctype(idx_t), "idx_size"), "x2": (ty, "upd_size"),
                            "y": (ty, "x_size")})
    acc_t = SUM_TYPES.get(ty, f32)

    def copy(kb: KB, i: SSAValue) -> None:  # y = x
        kb.call(A.SetValueOp, g["y"], i, kb.name(kb.call(A.GetValueOp, g["x0"], i, result=f32), "v"))

    k.loop(k.c(0), f["x_size"], k.c(1), copy)

    def row_body(kb: KB, row: SSAValue) -> None:
        dst = _nd_offset(kb, g, f, row, k_dims)
        src = kb.name(kb.binop(arith.MuliOp, row, f["slice"]), "src")

        def put(k2: KB, s: SSAValue) -> None:
            at = k2.name(k2.binop(arith.AddiOp, dst, s), "at")
            u = k2.name(k2.call(A.GetValueOp, g["x2"], k2.binop(arith.AddiOp, src, s), result=acc_t), "u")
            if reduction == "add":
                old = k2.name(k2.call(A.GetValueOp, g["y"], at, result=acc_t), "old")
                u = k2.binop(arith.AddfOp if acc_t == f32 else arith.AddiOp, old, u)
            k2.call(A.SetValueOp, g["y"], at, u)

        kb.loop(kb.c(0), f["slice"], kb.c(1), put)

    k.loop(k.c(0), f["rows"], k.c(1), row_body)
    return Launch(kernel, 1, {"rows": rows, "slice": sl, "x_size": numel(x_t.get_shape()),
                              "idx_size": numel(idx_t.get_shape())}
                  | {f"dim{j}": d for j, d in enumerate(dims)} | {f"stride{j}": s for j, s in enumerate(strides)})


@kernel("cir.cumsum")
def cumsum_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    x_t = tensor_type(op.operands[0])
    ty = ctype(x_t)
    if ty not in SUM_TYPES:
        raise NotImplementedError(f"{op.name} on {ty}")
    p = props(op)
    shape = x_t.get_shape()
    axis = p["axis"] % len(shape)
    outer, size, inner = numel(shape[:axis]), shape[axis], numel(shape[axis + 1:])
    exclusive, reverse = bool(p["exclusive"]), bool(p["reverse"])
    fields = ["lines", "per_block", "size", "inner", "total"]
    how = ("exclusive " if exclusive else "") + ("reversed " if reverse else "")
    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], [(n, "int64_t") for n in fields],
                               comment + f"\n({how}running sum along axis {axis}, one line per step)")
    f = k.fields(fields)
    g = _globals(k, gm, f, {"x0": (ty, "total"), "y": (ty, "total")})
    acc_t = SUM_TYPES[ty]
    begin, length = block_slice(k, f["lines"], f["per_block"])
    step = f["inner"]

    def line_body(kb: KB, line: SSAValue) -> None:
        o = kb.binop(arith.DivSIOp, line, f["inner"])
        i = kb.binop(arith.RemSIOp, line, f["inner"])
        base = kb.name(kb.binop(arith.AddiOp, kb.binop(arith.MuliOp, kb.binop(arith.MuliOp, o, f["size"]), f["inner"]), i),
                       "base")
        zero = kb.f(0.0) if acc_t == f32 else kb.c(0)
        add = arith.AddfOp if acc_t == f32 else arith.AddiOp

        def element(k2: KB, a: SSAValue, acc: SSAValue) -> SSAValue:
            pos_a = k2.binop(arith.SubiOp, k2.binop(arith.SubiOp, f["size"], k2.c(1)), a) if reverse else a
            at = k2.name(k2.binop(arith.AddiOp, base, k2.binop(arith.MuliOp, pos_a, step)), "at")
            v = k2.name(k2.call(A.GetValueOp, g["x0"], at, result=acc_t), "v")
            total = k2.name(k2.binop(add, acc, v), "running")
            k2.call(A.SetValueOp, g["y"], at, acc if exclusive else total)
            return total

        fold(kb, kb.c(0), f["size"], kb.c(1), zero, element, iv_name="a")

    k.loop(begin, k.binop(arith.AddiOp, begin, length), k.c(1), line_body)
    lines = outer * inner
    block_dim, per = split_rows(lines, soc, math.ceil(lines / max(1, 4096 // max(size, 1))))
    return Launch(kernel, block_dim, {"lines": lines, "per_block": per, "size": size, "inner": inner,
                                      "total": numel(shape)})
