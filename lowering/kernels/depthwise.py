"""Depthwise conv2d on the vector unit: ``groups == in_channels == out_channels`` (MobileNet,
EfficientNet), dispatched from the ``cir.conv2d`` generator (lowering/kernels/cube.py) when
`depthwise_plan` takes the op; everything else stays on the implicit-GEMM path.

The (N*C) channel planes are split over the vector cores, whole planes a core. Per plane, a
tile of output rows is computed in fp32 in the UB, the rows ``ow_al`` elements apart (OW rounded
up to a 32-byte block of the input type), so every row and every tap slice starts aligned:

    acc = bias;  for each tap (ki, kj):  acc += w[c, ki, kj] * S_tap
    S_tap[r, j] = x[c, (oh0 + r) * stride_h + ki - pad_top, j * stride_w + kj - pad_left]

For each column kj and row phase pr (ki = a * stride_h + pr), one DataCopyPad (GM -> UB) stages
a band of input rows: row b is input row (oh0 + b) * stride_h + pr - pad_top (the GM row gap is
stride_h rows), shifted by kj; the horizontal zero padding is the copy's left / right padding
(at most one 32-byte block a side), rows above / below the image are Duplicate zeros. The taps
of that band are its slices from row a on: per tap one Muls and one Add over the whole tile
(fp16: the band is Cast to fp32 first; the result is rounded once with Cast RINT). Stride_w > 1
first splits the plane into its stride_w column phases in GM workspace (a DataCopyPad of one
element per 32-byte block with a GM gap of stride_w - 1 elements, written back compacted by a
DataCopyPad out of those blocks), so every band reads contiguous runs of one phase.

Not taken (the cube path runs them): arch 200 (no DataCopyPad), dilation, a channel multiplier,
stride_w > 1 with a width not a multiple of it, padding wider than a 32-byte block, rows too
wide for the UB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cir.lowering import ascendc as A
from cir.lowering.builder import (
    ALIGN,
    KB,
    Launch,
    Tiling,
    block_rows,
    ctype,
    new_kernel,
    props,
    round_up,
    split_rows,
    tensor_type,
)
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntAttr, StringAttr, f32, i64
from xdsl.ir import Operation, SSAValue

from cir.soc import Soc
from cir.types import dtype_of

MAX_COUNT = 4095  # DataCopyPad's blockCount


@dataclass
class DepthwiseTiling(Tiling):
    planes: int
    planes_per_block: int
    channels: int
    h: int
    w: int
    oh: int
    ow: int
    kh: int
    kw: int
    taps: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int
    ow_al: int
    tile_rows: int
    band_rows: int  # tile_rows + the taps' extra rows: ceil(kh / stride_h) - 1
    plane_w: int  # the width of what the taps read: w, or w / stride_w (one column phase)
    chunk_rows: int  # rows of a phase gathered per move
    ws_plane: int  # GM workspace elements per core (the phases of one plane)
    stage_bytes: int
    taps_al: int


def depthwise_plan(op: Operation, soc: Soc) -> tuple[DepthwiseTiling, int, str, int] | None:
    """(tiling, blockDim, C++ type, element bytes) when the dedicated kernel takes this conv."""
    if op.name != "cir.conv2d" or soc.arch < 220:
        return None
    p = props(op)
    x_t, w_t = tensor_type(op.operands[0]), tensor_type(op.operands[1])
    ty = ctype(x_t)
    if ty not in ("float", "half") or len(x_t.get_shape()) != 4:
        return None
    es = dtype_of(x_t).itemsize
    n, c, h, w = x_t.get_shape()
    cout, cg, kh, kw = w_t.get_shape()
    oh, ow = tensor_type(op.results[0]).get_shape()[2:]
    (sh, sw), (pt, pl, _pb, pr), (dh, dw) = p["strides"], p["pads"], p["dilations"]
    if not (p["groups"] == c == cout and cg == 1) or (dh, dw) != (1, 1) or min(oh, ow) <= 0:
        return None
    blk = ALIGN // es
    if max(pl, pr) > blk or (sw > 1 and w % sw):
        return None
    plane_w = w // sw
    for kj in range(kw):  # the zero columns each tap's copy pads on the left / right
        fq = (kj - pl) // sw
        if max(0, -fq) > blk or max(0, ow + fq - plane_w) > blk:
            return None
    if plane_w > MAX_COUNT:
        return None
    ow_al = round_up(ow, blk)
    taps = kh * kw
    taps_al = round_up(taps, 16)
    chunk_rows = max(1, min(h, MAX_COUNT // plane_w, 32768 // (plane_w * ALIGN) or 1)) if sw > 1 else 1
    gather = chunk_rows * plane_w * ALIGN if sw > 1 else 0
    wide = ty != "float"
    extra = -(-kh // sh) - 1
    fixed = 2 * gather + 1024 + (wide * (taps_al + 16) * (es + 4)) + extra * ow_al * (2 * es + wide * 4)
    per_row = ow_al * (2 * es + 2 * es + (2 + wide) * 4)  # in x2, out x2, acc, tmp (, fp32 copy)
    tile_rows = min(oh, (soc.ub_bytes - fixed) // per_row, MAX_COUNT - extra)
    if tile_rows < 1:
        return None
    stage = max((tile_rows + extra) * ow_al * es, gather)
    total = 2 * stage + tile_rows * ow_al * (2 * es + 2 * 4) + wide * (tile_rows + extra) * ow_al * 4
    if total + wide * (taps_al + 16) * (es + 4) + 1024 > soc.ub_bytes:
        return None
    block_dim, per = split_rows(n * c, soc)
    ws_plane = round_up(h * w, 64) if sw > 1 else 0
    tiling = DepthwiseTiling(planes=n * c, planes_per_block=per, channels=c, h=h, w=w, oh=oh, ow=ow, kh=kh,
                             kw=kw, taps=taps, stride_h=sh, stride_w=sw, pad_top=pt, pad_left=pl, ow_al=ow_al,
                             tile_rows=tile_rows, band_rows=tile_rows + extra, plane_w=plane_w, chunk_rows=chunk_rows, ws_plane=ws_plane,
                             stage_bytes=stage, taps_al=taps_al)
    return tiling, block_dim, ty, es


class _Int:
    """Integer arithmetic shorthands."""

    def __init__(self, k: KB):
        self.k = k

    def __call__(self, cls: Any, a: SSAValue, b: SSAValue, hint: str | None = None) -> SSAValue:
        v = self.k.add(cls(a, b))
        return self.k.name(v, hint) if hint else v


def depthwise_launch(name: str, op: Operation, soc: Soc, comment: str,
                     plan: tuple[DepthwiseTiling, int, str, int]) -> Launch:
    tiling, block_dim, ty, es = plan
    has_bias = len(op.operands) > 2
    wide = ty != "float"
    strided = tiling.stride_w > 1
    args = ["x", "weight"] + ["bias"] * has_bias + ["y", "workspace", "tiling"]
    kname = name.replace("conv2d", "conv2d_depthwise", 1)
    kernel_op, gm, k = new_kernel(kname, args, DepthwiseTiling,
                                  comment + "\n(depthwise conv on the vector unit: per channel plane, "
                                  "acc += w[tap] * shifted input rows, fp32 accumulation)")
    t = k.fields(DepthwiseTiling)
    o = _Int(k)
    mul, add, sub, div, rem = arith.MuliOp, arith.AddiOp, arith.SubiOp, arith.DivSIOp, arith.RemSIOp
    zero, one, es_v = k.c(0), k.c(1), k.c(es)
    g_t, l_t, f_t = A.GlobalType(StringAttr(ty)), A.LocalType(StringAttr(ty)), A.LocalType(StringAttr("float"))
    hw, ohw = o(mul, t.h, t.w, "in_plane"), o(mul, t.oh, t.ow, "out_plane")

    def gtensor(ptr: SSAValue, off: SSAValue, size: SSAValue, hint: str) -> SSAValue:
        return k.name(k.call(A.GlobalTensorOp, ptr, off, size, result=g_t), hint)

    x_g = gtensor(gm["x"], zero, o(mul, t.planes, hw), "x_gm")
    w_g = gtensor(gm["weight"], zero, o(mul, t.channels, t.taps), "weight_gm")
    b_g = gtensor(gm["bias"], zero, t.channels, "bias_gm") if has_bias else None
    y_g = gtensor(gm["y"], zero, o(mul, t.planes, ohw), "y_gm")
    first, last = block_rows(k, t.planes, t.planes_per_block)
    ws_g = None
    if strided:
        block = k.call(A.BlockIdxOp, result=i64)
        ws_g = gtensor(gm["workspace"], o(mul, block, t.ws_plane, "ws_off"), t.ws_plane, "ws_gm")
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")

    def que(pos: str, nbytes: SSAValue, hint: str) -> SSAValue:
        q = k.name(k.call(A.QueOp, result=A.QueType(StringAttr(pos), IntAttr(2))), hint)
        k.call(A.InitBufferOp, pipe, q, nbytes, num=2)
        return q

    def buf(nbytes: SSAValue, hint: str, lt: Any = f_t) -> SSAValue:
        b = k.name(k.call(A.BufOp, result=A.BufType()), hint + "_buf")
        k.call(A.InitBufferOp, pipe, b, nbytes, num=1)
        return k.name(k.call(A.BufGetOp, b, result=lt), hint)

    tile_elems = o(mul, t.tile_rows, t.ow_al, "tile_elems")
    in_q = que("VECIN", t.stage_bytes, "in_que")
    out_q = que("VECOUT", o(mul, tile_elems, es_v), "out_que")
    acc = buf(o(mul, tile_elems, k.c(4)), "acc")
    tmp = buf(o(mul, tile_elems, k.c(4)), "tmp")
    xf = buf(o(mul, o(mul, t.band_rows, t.ow_al), k.c(4)), "xf") if wide else None
    wst = wf = None
    if wide:  # the plane's weights (and bias) widened to fp32: scalars for Muls / Adds
        w_elems = o(add, t.taps_al, k.c(16))
        wst = buf(o(mul, w_elems, es_v), "w_stage", l_t)
        wf = buf(o(mul, w_elems, k.c(4)), "w_f32")

    def barrier(kb: KB, pipe_name: str = "PIPE_V") -> None:
        kb.call(A.PipeBarrierOp, pipe=pipe_name)

    def pad2d(kb: KB, dst: SSAValue, src: SSAValue, count: SSAValue, length: SSAValue, sgap: SSAValue,
              dgap: SSAValue, left: SSAValue | None = None, right: SSAValue | None = None) -> None:
        kb.call(A.DataCopyPad2dOp, dst, src, count, length, sgap, dgap, left or zero, right or zero)

    def at(kb: KB, g: SSAValue, off: SSAValue) -> SSAValue:
        return kb.call(A.AtOp, g, off, result=g.type)

    def gather_phases(kb: KB, x_plane: SSAValue) -> None:
        """ws[p, r, j] = x[r, j * stride_w + p]: each column phase of the plane, compacted."""
        assert ws_g is not None
        ws = ws_g
        q = _Int(kb)
        gap = q(mul, q(sub, t.stride_w, one), es_v, "phase_gap_bytes")
        wq = t.plane_w

        def phase(k2: KB, p: SSAValue) -> None:
            def chunk(k3: KB, r0: SSAValue) -> None:
                q3 = _Int(k3)
                nr = k3.name(k3.add(arith.MinSIOp(t.chunk_rows, q3(sub, t.h, r0))), "n_rows")
                cnt = q3(mul, nr, wq, "n_elems")
                ub = k3.name(k3.call(A.AllocTensorOp, in_q, result=l_t), "phase")
                pad2d(k3, ub, at(k3, x_g, q3(add, q3(add, x_plane, q3(mul, r0, t.w)), p)), cnt, one, gap, zero)
                k3.call(A.EnQueOp, in_q, ub)
                u = k3.name(k3.call(A.DeQueOp, in_q, result=l_t), "phase_ub")
                dst = q3(add, q3(mul, p, q3(mul, t.h, wq)), q3(mul, r0, wq), "phase_off")
                pad2d(k3, at(k3, ws, dst), u, cnt, one, zero, zero)
                k3.call(A.FreeTensorOp, in_q, u)

            k2.loop(zero, t.h, t.chunk_rows, chunk, iv_name="r0")

        kb.loop(zero, t.stride_w, one, phase, iv_name="p")
        barrier(kb, "PIPE_ALL")

    def plane(kb: KB, pln: SSAValue) -> None:
        q = _Int(kb)
        ch = q(rem, pln, t.channels, "channel")
        x_plane = q(mul, pln, hw, "x_plane")
        y_plane = q(mul, pln, ohw, "y_plane")
        if strided:
            gather_phases(kb, x_plane)
            src_g, src_base = ws_g, zero
        else:
            src_g, src_base = x_g, x_plane
        assert src_g is not None
        phase_size = q(mul, t.h, t.plane_w, "phase_size")
        w_off = q(mul, ch, t.taps, "weight_off")
        if wide:
            assert wst is not None and wf is not None
            kb.call(A.DataCopyPadOp, wst, at(kb, w_g, w_off), t.taps)
            if b_g is not None:
                kb.call(A.DataCopyPadOp, at(kb, wst, t.taps_al), at(kb, b_g, ch), one)
            barrier(kb, "PIPE_ALL")
            kb.call(A.CastOp, wf, wst, q(add, t.taps_al, kb.c(16)), round="none")
            barrier(kb, "PIPE_ALL")
            bias = kb.name(kb.call(A.GetValueOp, wf, t.taps_al, result=f32), "bias") if b_g else kb.f(0.0)
        else:
            bias = kb.name(kb.call(A.GetValueOp, b_g, ch, result=f32), "bias") if b_g else kb.f(0.0)

        def tile(k2: KB, oh0: SSAValue) -> None:
            q2 = _Int(k2)
            rows = k2.name(k2.add(arith.MinSIOp(t.tile_rows, q2(sub, t.oh, oh0))), "rows")
            cnt = q2(mul, rows, t.ow_al, "count")
            k2.call(A.DuplicateOp, acc, bias, cnt)
            barrier(k2)

            def band(k3: KB, bi: SSAValue) -> None:
                q3 = _Int(k3)
                kj, pr = q3(div, bi, t.stride_h, "kj"), q3(rem, bi, t.stride_h, "row_phase")
                # the taps ki = a * stride_h + pr, a < n_taps, read band rows r + a
                n_taps = q3(div, q3(add, q3(sub, t.kh, pr), q3(sub, t.stride_h, one)), t.stride_h, "n_taps")
                k3.when(k3.add(arith.CmpiOp(n_taps, zero, "sgt")), lambda k4: band_taps(k4, kj, pr, n_taps))

            def band_taps(k3: KB, kj: SSAValue, pr: SSAValue, n_taps: SSAValue) -> None:
                q3 = _Int(k3)
                nb = q3(sub, q3(add, rows, n_taps), one, "band_rows")
                nb_end = q3(add, oh0, nb, "band_end")
                band_cnt = q3(mul, nb, t.ow_al, "band_count")

                def mx(a: SSAValue, b: SSAValue) -> SSAValue:
                    return k3.add(arith.MaxSIOp(a, b))

                def mn(a: SSAValue, b: SSAValue) -> SSAValue:
                    return k3.add(arith.MinSIOp(a, b))

                # band row b is input row (oh0 + b) * stride_h + pr - pad_top; inside the image: [lo, hi)
                top = q3(sub, t.pad_top, pr)
                lo = k3.name(mx(oh0, q3(div, q3(add, mx(top, zero), q3(sub, t.stride_h, one)), t.stride_h)), "lo")
                below = mx(q3(add, t.h, top), zero)
                hi = k3.name(mn(nb_end, q3(div, q3(add, below, q3(sub, t.stride_h, one)), t.stride_h)), "hi")
                n_valid = k3.name(mx(q3(sub, hi, lo), zero), "n_valid")
                # columns: the band reads phase p from column fq on; zeros left / right of the plane
                shifted = q3(add, q3(sub, kj, t.pad_left), q3(mul, t.stride_w, t.pad_left))
                fq = q3(sub, q3(div, shifted, t.stride_w), t.pad_left, "first_col")
                p = q3(rem, shifted, t.stride_w, "phase")
                lz = k3.name(mx(q3(sub, zero, fq), zero), "left_zeros")
                rz = k3.name(mx(q3(sub, q3(add, t.ow, fq), t.plane_w), zero), "right_zeros")
                ln = q3(sub, q3(sub, t.ow, lz), rz, "n_cols")
                has = k3.name(k3.add(arith.AndIOp(k3.add(arith.CmpiOp(n_valid, zero, "sgt")),
                                                  k3.add(arith.CmpiOp(ln, zero, "sgt")))), "has_data")
                full = k3.name(k3.add(arith.AndIOp(has, k3.add(arith.CmpiOp(n_valid, nb, "eq")))), "full")
                s = k3.name(k3.call(A.AllocTensorOp, in_q, result=l_t), "band_in")

                def zeros(k4: KB) -> None:
                    k4.call(A.DuplicateOp, s, k4.f(0.0), band_cnt)
                    barrier(k4, "PIPE_ALL")

                def load(k4: KB) -> None:
                    q4 = _Int(k4)
                    ih = q4(sub, q4(add, q4(mul, lo, t.stride_h), pr), t.pad_top, "ih")
                    src = q4(add, q4(add, q4(add, src_base, q4(mul, p, phase_size)), q4(mul, ih, t.plane_w)),
                             q4(add, fq, lz), "src_off")
                    gap = q4(mul, q4(sub, q4(mul, t.stride_h, t.plane_w), ln), es_v, "row_gap_bytes")
                    dst = at(k4, s, q4(mul, q4(sub, lo, oh0), t.ow_al))
                    pad2d(k4, dst, at(k4, src_g, src), n_valid, ln, gap, zero, lz, rz)

                k3.when(full, lambda k4: None, zeros)
                k3.when(has, load)
                k3.call(A.EnQueOp, in_q, s)
                u = k3.name(k3.call(A.DeQueOp, in_q, result=l_t), "band_ub")
                src_f = u
                if xf is not None:
                    k3.call(A.CastOp, xf, u, band_cnt, round="none")
                    barrier(k3)
                    src_f = xf

                def tap(k4: KB, a: SSAValue) -> None:
                    q4 = _Int(k4)
                    kk = q4(add, q4(mul, q4(add, q4(mul, a, t.stride_h), pr), t.kw), kj, "tap")
                    wv = k4.name(k4.call(A.GetValueOp, wf if wf is not None else w_g,
                                         kk if wf is not None else q4(add, w_off, kk), result=f32), "wv")
                    k4.call(A.VecScalarOp, tmp, at(k4, src_f, q4(mul, a, t.ow_al)), wv, cnt, fn="Muls")
                    barrier(k4)
                    k4.call(A.VecBinaryOp, acc, acc, tmp, cnt, fn="Add")
                    barrier(k4)

                k3.loop(zero, n_taps, one, tap, iv_name="a")
                k3.call(A.FreeTensorOp, in_q, u)

            k2.loop(zero, q2(mul, t.kw, t.stride_h), one, band, iv_name="band")
            out = k2.name(k2.call(A.AllocTensorOp, out_q, result=l_t), "y_tile")
            if wide:
                k2.call(A.CastOp, out, acc, cnt, round="rint")
            else:  # a count-form vector copy
                k2.call(A.VecScalarOp, out, acc, k2.f(0.0), cnt, fn="Adds")
            barrier(k2)
            k2.call(A.EnQueOp, out_q, out)
            y = k2.name(k2.call(A.DeQueOp, out_q, result=l_t), "y_ub")
            pad2d(k2, at(k2, y_g, q2(add, y_plane, q2(mul, oh0, t.ow))), y, rows, t.ow, zero, zero)
            k2.call(A.FreeTensorOp, out_q, y)

        kb.loop(zero, t.oh, t.tile_rows, tile, iv_name="oh0")
        if strided:  # the next plane's phases overwrite the workspace these tiles read
            barrier(kb, "PIPE_ALL")

    k.loop(first, last, one, plane, iv_name="plane")
    return Launch(kernel_op, block_dim, tiling.values(),
                  args=["operand:0", "operand:1"] + ["operand:2"] * has_bias + ["result:0"],
                  workspace=block_dim * tiling.ws_plane * es)
