"""Comparison, selection and logical kernels: cir.eq/ne/lt/le/gt/ge, cir.where and
cir.logical_and/or/xor/not (what each computes is data: ``masks.toml``).

Bool tensors are one byte per element in GM (0 or 1, as int8_t). Each core takes a 32-byte
aligned slice of the output and streams it through UB in tiles:

- a comparison Compares its operands (CompareScalar when one is a single value) into a bit
  mask, Selects half 1.0 / 0.0 by the bits and Casts that to int8_t;
- ``where`` Casts the condition bytes to half, CompareScalars them with 0.5 into a bit mask and
  Selects between the two value tiles (a single-value operand is Duplicated into a tile once);
- logical ops Cast their bytes to half, compute on the 0/1 values and Cast back.

Compare and Select work on whole 256-byte repeats: a tile's count is rounded up to a multiple
of 128 elements (the lanes of the widest case, half) inside tile-sized UB buffers; only the
tile's own elements are copied out. Operands that broadcast other than as a single value, and
element types outside ``[types]``, take the host fallback.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from cir.lowering import ascendc as A
from cir.lowering.builder import (
    ALIGN,
    KB,
    Launch,
    SliceTiling,
    block_slice,
    copy_tile,
    ctype,
    emit_step,
    kernel,
    new_kernel,
    split_elements,
    tensor_type,
)
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntAttr, StringAttr, TensorType, f32
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import IRDLOperation

from cir.soc import Soc
from cir.types import numel

MASKS = Path(__file__).parent.parent / "masks.toml"
LANES = 128  # half elements in one 256-byte repeat: Compare/Select counts are multiples of it
MIRROR = {"LT": "GT", "GT": "LT", "LE": "GE", "GE": "LE", "EQ": "EQ", "NE": "NE"}  # a < b <=> b > a


@cache
def table() -> dict[str, Any]:
    return tomllib.loads(MASKS.read_text())


def _mask_kind(op: Operation) -> tuple[str, TensorType, list[TensorType], list[bool], str]:
    """(kind, result type, operand types, which operands are a single value, compute type);
    NotImplementedError for what the kernel does not cover."""
    tab = table()
    kind = "compare" if op.name in tab["compare"] else "logical" if op.name in tab["logical"] else "where"
    out_t = tensor_type(op.results[0])
    shape, total = out_t.get_shape(), numel(out_t.get_shape())
    in_ts = [tensor_type(v) for v in op.operands]
    single = [numel(t.get_shape()) == 1 and total > 1 for t in in_ts]
    if any(not s and t.get_shape() != shape for t, s in zip(in_ts, single, strict=True)):
        raise NotImplementedError(f"{op.name} with broadcasting")
    compute = ctype(in_ts[0]) if kind == "compare" else ctype(out_t) if kind == "where" else "half"
    modes = tab["types"].get(kind, {}).get(compute) if kind != "logical" else "all"
    if modes is None or modes != "all" and tab["compare"][op.name] not in modes:
        raise NotImplementedError(f"{op.name} on {compute}")
    if kind == "logical" and any(single) or kind == "where" and single[0] or all(single) and total > 1:
        raise NotImplementedError(f"{op.name} with a single-value operand here")
    return kind, out_t, in_ts, single, compute


def _g(ty: str) -> A.GlobalType:
    return A.GlobalType(StringAttr(ty))


def _loc(ty: str) -> A.LocalType:
    return A.LocalType(StringAttr(ty))


@kernel(*table()["compare"], *table()["logical"], "cir.where")
def mask_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    kind, out_t, in_ts, single, compute = _mask_kind(op)
    total = numel(out_t.get_shape())
    # UB: double-buffered queues for the tensor operands and the result, half scratch tiles
    scratch = {"compare": ["ones", "zeros", "h"], "where": ["hc"], "logical": ["h", "h0", "h1"][:len(in_ts) + 1]}[kind]
    singles = [i for i, s in enumerate(single) if s and kind == "where"]
    per_elem = (2 * sum(A.ctype_bytes(ctype(t)) for t, s in zip(in_ts, single, strict=True) if not s)
                + 2 * A.ctype_bytes(ctype(out_t)) + 2 * len(scratch)
                + A.ctype_bytes(compute) * len(singles) + 1)  # + the bit mask, rounded up
    tile = (soc.ub_bytes - 4 * ALIGN) // per_elem // LANES * LANES
    tile = max(LANES, min(tile, 16384))
    block_dim, per_block = split_elements(total, 1, soc)
    names = [f"x{i}" for i in range(len(in_ts))]
    kernel_op, gm, k = new_kernel(name, names + ["y", "workspace", "tiling"], SliceTiling,
                                  comment + f"\n({kind}: bit masks over 256-byte repeats)")
    f = k.fields(SliceTiling)
    total_v, per_block_v, tile_v = f.total, f.per_block, f.tile
    zero = k.c(0)
    begin, length = block_slice(k, total_v, per_block_v)

    gms: dict[int, SSAValue] = {}
    values: dict[int, SSAValue] = {}  # single-value operands, read once
    for i, t in enumerate(in_ts):
        if single[i]:
            sg = k.name(k.call(A.GlobalTensorOp, gm[names[i]], zero, k.c(1), result=_g(ctype(t))), f"x{i}_gm")
            values[i] = k.name(k.call(A.GetValueOp, sg, zero, result=f32), f"x{i}_value")
        else:
            gms[i] = k.name(k.call(A.GlobalTensorOp, gm[names[i]], begin, length, result=_g(ctype(t))), f"x{i}_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], begin, length, result=_g(ctype(out_t))), "y_gm")
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")

    def buffer(hint: str, ty: str, elems: SSAValue) -> SSAValue:
        b = k.name(k.call(A.BufOp, result=A.BufType()), f"{hint}_buf")
        k.call(A.InitBufferOp, pipe, b, k.binop(arith.MuliOp, elems, k.c(A.ctype_bytes(ty))), num=1)
        return k.name(k.call(A.BufGetOp, b, result=_loc(ty)), hint)

    que_in = {}
    for i in gms:
        q = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), f"in_que{i}")
        k.call(A.InitBufferOp, pipe, q, k.binop(arith.MuliOp, tile_v, k.c(A.ctype_bytes(ctype(in_ts[i])))), num=2)
        que_in[i] = q
    que_out = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
    k.call(A.InitBufferOp, pipe, que_out, k.binop(arith.MuliOp, tile_v, k.c(A.ctype_bytes(ctype(out_t)))), num=2)
    tmp = {s: buffer(s, "half", tile_v) for s in scratch}
    mask = buffer("mask", "uint8_t", k.binop(arith.DivSIOp, tile_v, k.c(8))) if kind != "logical" else None
    filled = {i: buffer(f"x{i}_tile", compute, tile_v) for i in singles}
    for i, b in filled.items():
        k.call(A.DuplicateOp, b, values[i], tile_v)
    if kind == "compare":
        k.call(A.DuplicateOp, tmp["ones"], k.f(1.0), tile_v)
        k.call(A.DuplicateOp, tmp["zeros"], k.f(0.0), tile_v)
    if filled or kind == "compare":
        k.call(A.PipeBarrierOp, pipe="PIPE_V")

    def body(kb: KB, off: SSAValue) -> None:
        n = kb.tile_count(tile_v, length, off)
        n_rep = n  # Compare / Select counts: n rounded up to whole repeats
        if kind != "logical":
            lanes = kb.c(LANES)
            n_rep = kb.name(kb.binop(arith.MuliOp, kb.binop(
                arith.DivSIOp, kb.binop(arith.AddiOp, n, kb.c(LANES - 1)), lanes), lanes), "n_repeats")

        x: dict[int, SSAValue] = {}
        for i, q in que_in.items():  # CopyIn
            ty = ctype(in_ts[i])
            t = kb.name(kb.call(A.AllocTensorOp, q, result=_loc(ty)), f"x{i}_in")
            copy_tile(kb, kb.aligned(n, A.ctype_bytes(ty), None), t, kb.call(A.AtOp, gms[i], off, result=_g(ty)), n, soc,
                  A.ctype_bytes(ty))
            kb.call(A.EnQueOp, q, t)
        for i, q in que_in.items():
            x[i] = kb.name(kb.call(A.DeQueOp, q, result=_loc(ctype(in_ts[i]))), f"x{i}_ub")
        x |= filled
        y = kb.name(kb.call(A.AllocTensorOp, que_out, result=_loc(ctype(out_t))), "y_ub")
        _compute(kb, op, kind, single, values, x, y, tmp, mask, n, n_rep)
        kb.call(A.EnQueOp, que_out, y)
        for i, q in que_in.items():
            kb.call(A.FreeTensorOp, q, x[i])
        out = kb.name(kb.call(A.DeQueOp, que_out, result=_loc(ctype(out_t))), "y_out")  # CopyOut
        ob = A.ctype_bytes(ctype(out_t))
        copy_tile(kb, kb.aligned(n, ob, None), kb.call(A.AtOp, y_g, off, result=_g(ctype(out_t))), out, n, soc, ob)
        kb.call(A.FreeTensorOp, que_out, out)

    k.loop(zero, length, tile_v, body)
    return Launch(kernel_op, block_dim, SliceTiling(total=total, per_block=per_block, tile=tile).values())


def _compute(kb: KB, op: Operation, kind: str, single: list[bool], values: dict[int, SSAValue],
             x: dict[int, SSAValue], y: SSAValue, tmp: dict[str, SSAValue], mask: SSAValue | None,
             n: SSAValue, n_rep: SSAValue) -> None:
    """The tile's result y from the operand tiles x: Compare / CompareScalar into the bit mask
    and Select (compare, where), or the logical recipe over half tiles."""
    tab = table()

    def vec(kb: KB, cls: type[IRDLOperation], *operands: SSAValue, **props: Any) -> None:
        kb.call(cls, *operands, **props)
        kb.barrier()

    if kind == "compare":
        assert mask is not None
        mode = tab["compare"][op.name]
        if single[1]:
            vec(kb, A.CompareScalarOp, mask, x[0], values[1], n_rep, mode=mode)
        elif single[0]:
            vec(kb, A.CompareScalarOp, mask, x[1], values[0], n_rep, mode=MIRROR[mode])
        else:
            vec(kb, A.CompareOp, mask, x[0], x[1], n_rep, mode=mode)
        vec(kb, A.SelectOp, tmp["h"], mask, tmp["ones"], tmp["zeros"], n_rep)
        vec(kb, A.CastOp, y, tmp["h"], n, round="trunc")
    elif kind == "where":
        assert mask is not None
        vec(kb, A.CastOp, tmp["hc"], x[0], n, round="none")
        vec(kb, A.CompareScalarOp, mask, tmp["hc"], kb.f(0.5), n_rep, mode="GT")
        vec(kb, A.SelectOp, y, mask, x[1], x[2], n_rep)
    else:
        for i, xi in x.items():
            vec(kb, A.CastOp, tmp[f"h{i}"], xi, n, round="none")
        for step in tab["logical"][op.name]:
            emit_step(kb, step, tmp, {}, n)
        vec(kb, A.CastOp, y, tmp["h"], n, round="trunc")
