"""2-D pooling over NCHW (``cir.max_pool2d``, ``cir.avg_pool2d``): a vector kernel where the SoC
has DataCopyPad (arch >= 220), the scalar kernel elsewhere.

**Vector path.** Work units are (group of ``tile_planes`` planes, tile of ``tile_rows`` output
rows), split over the vector cores; a unit's output rows are computed with whole-tile vector
calls. Write the window offsets as ``i * dilation_h = a * stride_h + pr`` and
``j * dilation_w = o * stride_w + p``: window cell (i, j) of output (r, x) is input row
``(r + a) * stride_h + pr - pad_top`` and column ``(x + o) * stride_w + p - pad_left``. So for
each *band* (o, pr) one DataCopyPad per plane stages the rows of row phase pr (GM row gap
``stride_h - 1`` rows), shifted left by o column steps: band row b, column c holds input row
``(oh0 + b) * stride_h + pr - pad_top``, column ``c + o * stride_w - pad_left``. The copy's
left / right padding (``paddingValue``: the lowest float for max, 0 for avg) supplies the
columns outside the image, Duplicate fills the rows above / below it. Rows are ``pitch``
elements apart (a multiple of stride_w 32-byte blocks), planes ``band_rows * pitch``.

Stride_w 2 or 4 then splits the staged band into its column phases with GatherMask (built-in
patterns: 1/2 for stride 2, 3..6 for stride 4) over the whole band at once: phase p holds the
columns p, p + stride_w, ... of every row, ``phase_pitch = pitch / stride_w`` apart (still
32-byte aligned). Window cell (i, j) of every output of the unit is then the one contiguous
slice of phase p starting at row a, and ``acc = Max(acc, slice)`` (or Add) is one vector call
per window cell over all the unit's planes and rows (an output plane is ``band_rows`` rows of
``phase_pitch`` in the accumulator; the extra rows are never stored). Avg divides by a map of
the window counts (count_include_pad as the interpreter: cells in the explicitly padded input,
or in the input). Max over fp16 runs in fp16 (exact); avg over fp16 sums in fp32 (Cast) and
rounds once.

Not taken (the scalar kernel below runs them): arch 200 (no DataCopyPad), stride_w other than
1, 2, 4, padding or right overhang wider than a 32-byte block, rows too wide for the UB.

**Scalar path.** A core owns output rows (n, c, oh); the window's input rows are staged in UB
as fp32 (one DataCopy each, out-of-range rows skipped) and every output element is reduced on
the scalar unit from UB, then the output row is stored in one copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from cir.lowering import ascendc as A
from cir.lowering.builder import (
    ALIGN,
    FLT_MAX,
    KB,
    PHASE_PATTERNS,
    REPEAT,
    IntOps,
    Launch,
    Tiling,
    block_rows,
    ctype,
    fold,
    kernel,
    new_kernel,
    props,
    round_up,
    split_rows,
)
from cir.lowering.kernels.reduce import Stream
from xdsl.dialects import arith
from xdsl.dialects.builtin import FloatAttr, IntAttr, StringAttr, TensorType, f32, i64
from xdsl.ir import Operation, SSAValue

from cir.soc import Soc

POOL_OPS = ("cir.max_pool2d", "cir.avg_pool2d")
MAX_REPEATS = 255  # repeats of one GatherMask call
MAX_COUNT = 4095  # DataCopyPad's blockCount


@dataclass
class PoolVectorTiling(Tiling):
    planes: int
    h: int
    w: int
    oh: int
    ow: int
    kernel_h: int
    kernel_w: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int
    pad_bottom: int
    pad_right: int
    dilation_h: int
    dilation_w: int
    pitch: int  # elements per staged row: a multiple of stride_w 32-byte blocks
    phase_pitch: int  # pitch / stride_w: a row of one column phase, and of the accumulator
    extra_rows: int  # ((kernel_h - 1) * dilation_h) // stride_h: band rows past the unit's output rows
    tile_rows: int
    band_rows: int  # tile_rows + extra_rows
    tile_planes: int
    row_tiles: int
    units: int
    units_per_block: int
    col_bands: int  # ((kernel_w - 1) * dilation_w) // stride_w + 1: the column shifts o
    pattern_base: int
    stage_elems: int  # staged band elements (all planes), rounded up to whole repeats


@dataclass
class PoolTiling(Tiling):
    rows: int
    rows_per_block: int
    in_h: int
    in_w: int
    out_h: int
    out_w: int
    row_pitch: int  # fp32 elements per staged input row (32-byte aligned)
    kernel_h: int
    kernel_w: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int
    pad_bottom: int
    pad_right: int
    dilation_h: int
    dilation_w: int
    io_tile: int


@kernel(*POOL_OPS)
def pool_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    x_t = op.operands[0].type
    assert isinstance(x_t, TensorType)
    ty = ctype(x_t)
    if ty not in ("float", "half"):
        raise NotImplementedError(f"{op.name} with {ty}")
    plan = vector_plan(op, soc)
    if plan is not None:
        return _vector_pool(name, op, soc, comment, plan)
    return _scalar_pool(name, op, soc, comment)


# --- the vector path ------------------------------------------------------------------------


def _geometry(op: Operation) -> tuple[int, ...]:
    x_t, y_t = op.operands[0].type, op.results[0].type
    assert isinstance(x_t, TensorType) and isinstance(y_t, TensorType)
    p = props(op)
    n, c, h, w = x_t.get_shape()
    oh, ow = y_t.get_shape()[2:]
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = p["kernel"], p["strides"], p["pads"]
    dh, dw = p["dilations"] if op.name == "cir.max_pool2d" else (1, 1)
    return n * c, h, w, oh, ow, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw


def _columns(o: int, sw: int, dw: int, kw: int, pl: int, w: int, ow: int) -> tuple[int, int, int, int, int]:
    """Band column shift o: (left pad, first source column, source length, right pad, staged
    length); the kernel computes the same from its tiling fields."""
    pmax = min(sw - 1, (kw - 1) * dw - o * sw)
    staged = (ow - 1) * sw + pmax + 1
    shift = o * sw - pl
    left, src = max(0, -shift), max(0, shift)
    length = min(w - src, staged - left)
    return left, src, length, max(0, staged - left - length), staged


def vector_plan(op: Operation, soc: Soc) -> PoolVectorTiling | None:
    """The vector kernel's tiling, or None when the scalar kernel runs this op."""
    if soc.arch < 220:
        return None
    x_t = op.operands[0].type
    assert isinstance(x_t, TensorType)
    ty = ctype(x_t)
    es = A.ctype_bytes(ty)
    is_max = op.name == "cir.max_pool2d"
    wide = ty == "half" and not is_max  # avg over fp16 sums in fp32
    cb = 4 if ty == "float" or wide else 2  # bytes of the computing type
    planes, h, w, oh, ow, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw = _geometry(op)
    if sw not in PHASE_PATTERNS or min(oh, ow, planes) <= 0:
        return None
    blk = ALIGN // es
    col_bands = (kw - 1) * dw // sw + 1
    staged = 0
    for o in range(col_bands):
        left, _src, length, right, st = _columns(o, sw, dw, kw, pl, w, ow)
        if left > blk or right > blk or length <= 0:
            return None
        staged = max(staged, st)
    pitch = round_up(staged, blk * sw)
    phase_pitch = pitch // sw
    extra = (kh - 1) * dh // sh

    def ub(planes_: int, rows: int) -> int:
        e = planes_ * (rows + extra) * pitch
        acc = e // sw
        need = 2 * round_up(e * es, REPEAT)  # the staging queue
        need += round_up(e * 4, REPEAT) if wide else 0  # the band widened to fp32
        need += round_up(e * cb, REPEAT) if sw > 1 else 0  # its column phases
        need += round_up(acc * 4, ALIGN) if wide else 0  # the fp32 accumulator
        need += 2 * round_up(acc * es, ALIGN)  # the output queue (the accumulator itself otherwise)
        if not is_max:  # the window-count map and the column counts
            need += rows * phase_pitch * 4 + phase_pitch * 4
        return need + 1024

    if ub(1, 1) > soc.ub_bytes or 1 + extra > MAX_COUNT:
        return None
    rows = min(oh, MAX_COUNT - extra)
    if planes < soc.vector_cores:  # cut planes into row tiles until every core has work
        rows = min(rows, math.ceil(oh / math.ceil(soc.vector_cores / planes)))
    while ub(1, rows) > soc.ub_bytes:
        rows = max(1, rows * 3 // 4) if rows > 8 else rows - 1
    tile_planes = 1
    if rows == oh:  # whole planes: as many a unit as fit, not fewer units than cores
        cap = max(1, math.ceil(planes / soc.vector_cores))
        while tile_planes < cap and ub(tile_planes + 1, rows) <= soc.ub_bytes:
            tile_planes += 1
    row_tiles = math.ceil(oh / rows)
    units = math.ceil(planes / tile_planes) * row_tiles
    _, per = split_rows(units, soc)
    lanes = REPEAT // es
    return PoolVectorTiling(
        planes=planes, h=h, w=w, oh=oh, ow=ow, kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw,
        pad_top=pt, pad_left=pl, pad_bottom=pb, pad_right=pr, dilation_h=dh, dilation_w=dw, pitch=pitch,
        phase_pitch=phase_pitch, extra_rows=extra, tile_rows=rows, band_rows=rows + extra,
        tile_planes=tile_planes, row_tiles=row_tiles, units=units, units_per_block=per, col_bands=col_bands,
        pattern_base=PHASE_PATTERNS[sw],
        stage_elems=round_up(tile_planes * (rows + extra) * pitch, lanes))


def _vector_pool(name: str, op: Operation, soc: Soc, comment: str, tiling: PoolVectorTiling) -> Launch:
    x_t = op.operands[0].type
    assert isinstance(x_t, TensorType)
    ty = ctype(x_t)
    es = A.ctype_bytes(ty)
    is_max = op.name == "cir.max_pool2d"
    wide = ty == "half" and not is_max
    ct = "float" if wide else ty  # the computing type
    cb = A.ctype_bytes(ct)
    phased = tiling.stride_w > 1
    p_ = props(op)
    with_pad = bool(p_["count_include_pad"]) if not is_max else False
    kind = "max" if is_max else ("avg (count_include_pad)" if with_pad else "avg")
    kernel_op, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], PoolVectorTiling,
                                  comment + f"\n({kind} pooling on the vector unit: bands of input rows staged "
                                  "with DataCopyPad" + (", split into column phases by GatherMask" if phased else "")
                                  + f", one {'Max' if is_max else 'Add'} per window cell over the whole tile)")
    t = k.fields(PoolVectorTiling)
    q = IntOps(k)
    zero, one = k.c(0), k.c(1)
    fill = -FLT_MAX if is_max else 0.0
    g_t = A.GlobalType(StringAttr(ty))
    l_t, c_t, f_t = A.LocalType(StringAttr(ty)), A.LocalType(StringAttr(ct)), A.LocalType(StringAttr("float"))
    vec_fn = "Max" if is_max else "Add"
    hw, ohw = q.mul(t.h, t.w, "in_plane"), q.mul(t.oh, t.ow, "out_plane")
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, q.mul(t.planes, hw), result=g_t), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, q.mul(t.planes, ohw), result=g_t), "y_gm")
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    plane_elems = q.mul(t.band_rows, t.pitch, "band_plane")  # staged elements of a plane
    acc_plane = q.mul(t.band_rows, t.phase_pitch, "acc_plane")  # accumulator elements of a plane
    acc_elems = q.mul(t.tile_planes, acc_plane, "acc_elems")

    def que(pos: str, nbytes: SSAValue, hint: str) -> SSAValue:
        qq = k.name(k.call(A.QueOp, result=A.QueType(StringAttr(pos), IntAttr(2))), hint)
        k.call(A.InitBufferOp, pipe, qq, nbytes, num=2)
        return qq

    def buf(nbytes: SSAValue, hint: str, lt: Any) -> SSAValue:
        b = k.name(k.call(A.BufOp, result=A.BufType()), hint + "_buf")
        k.call(A.InitBufferOp, pipe, b, nbytes, num=1)
        return k.name(k.call(A.BufGetOp, b, result=lt), hint)

    in_q = que("VECIN", q.mul(t.stage_elems, k.c(es)), "in_que")
    out_q = que("VECOUT", q.mul(q.add(acc_elems, k.c(ALIGN)), k.c(es)), "out_que")
    wide_elems = zero
    if wide or phased:  # the band (and its phases) in the computing type, whole repeats
        wide_elems = q.mul(q.div(q.add(t.stage_elems, k.c(REPEAT // cb - 1)), k.c(REPEAT // cb)), k.c(REPEAT // cb),
                           "band_elems")
    xf = buf(q.mul(wide_elems, k.c(4)), "band_f32", f_t) if wide else None
    phases = buf(q.mul(wide_elems, k.c(cb)), "phases", c_t) if phased else None
    region = q.div(wide_elems, t.stride_w, "phase_size") if phased else zero  # one column phase of the band
    acc_f = buf(q.mul(q.add(acc_elems, k.c(ALIGN)), k.c(4)), "acc", f_t) if wide else None
    counts = col_counts = None
    if not is_max:
        counts = buf(q.mul(q.mul(t.tile_rows, t.phase_pitch), k.c(4)), "counts", f_t)
        col_counts = buf(q.mul(t.phase_pitch, k.c(4)), "col_counts", f_t)

        def col(kb: KB, x: SSAValue) -> None:
            r = IntOps(kb)
            x0 = r.sub(r.mul(x, t.stride_w), t.pad_left, "x0")
            cells = _window_extent(kb, x0, t.w, t.kernel_w, t.pad_right, with_pad)
            cells = kb.add(arith.SelectOp(r.cmp(x, t.ow, "slt"), cells, one))
            kb.call(A.SetValueOp, col_counts, x, kb.add(arith.SIToFPOp(cells, f32)))

        k.loop(zero, t.phase_pitch, one, col, iv_name="x")
        k.call(A.PipeBarrierOp, pipe="PIPE_ALL")
    block = k.call(A.BlockIdxOp, result=i64)
    first = k.name(q.mul(block, t.units_per_block), "first_unit")
    last = k.name(q.min(q.add(first, t.units_per_block), t.units), "end_unit")

    def barrier(kb: KB) -> None:
        kb.call(A.PipeBarrierOp, pipe="PIPE_V")

    def at(kb: KB, g: SSAValue, off: SSAValue) -> SSAValue:
        return kb.call(A.AtOp, g, off, result=g.type)

    def unit(kb: KB, u: SSAValue) -> None:
        r = IntOps(kb)
        group, rt = r.div(u, t.row_tiles, "group"), r.rem(u, t.row_tiles, "row_tile")
        plane0 = r.mul(group, t.tile_planes, "plane0")
        n_planes = r.min(t.tile_planes, r.sub(t.planes, plane0), "n_planes")
        oh0 = r.mul(rt, t.tile_rows, "oh0")
        rows = r.min(t.tile_rows, r.sub(t.oh, oh0), "rows")
        nb = r.add(rows, t.extra_rows, "n_band")
        count = r.mul(r.sub(r.mul(n_planes, t.band_rows), t.extra_rows), t.phase_pitch, "count")
        out = kb.name(kb.call(A.AllocTensorOp, out_q, result=l_t), "y_tile")
        acc = acc_f if acc_f is not None else out
        kb.call(A.DuplicateOp, acc, kb.f(fill), count)
        barrier(kb)

        def band(k2: KB, bi: SSAValue) -> None:
            s = IntOps(k2)
            o, pr = s.div(bi, t.stride_h, "col_band"), s.rem(bi, t.stride_h, "row_phase")
            # band (o, pr) is read by some window column j (o * stride_w <= j * dilation_w <
            # (o + 1) * stride_w) and some window row i ((i * dilation_h) % stride_h == pr)
            j_lo = s.div(s.add(s.mul(o, t.stride_w), s.sub(t.dilation_w, one)), t.dilation_w, "j_lo")
            col_used = s.both(s.cmp(j_lo, t.kernel_w, "slt"),
                              s.cmp(s.mul(j_lo, t.dilation_w), s.mul(s.add(o, one), t.stride_w), "slt"))

            def row_tap(k3: KB, i: SSAValue, n: SSAValue) -> SSAValue:
                v = IntOps(k3)
                hit = v.cmp(v.rem(v.mul(i, t.dilation_h), t.stride_h), pr, "eq")
                return k3.add(arith.SelectOp(hit, v.add(n, one), n))

            row_taps = k2.name(fold(k2, zero, t.kernel_h, one, zero, row_tap, "i"), "row_taps")
            k2.when(s.both(col_used, s.cmp(row_taps, zero, "sgt"), "band_used"), lambda k3: band_body(k3, o, pr))

        def band_body(k2: KB, o: SSAValue, pr: SSAValue) -> None:
            s = IntOps(k2)
            # rows: band row b is input row (oh0 + b) * stride_h + pr - pad_top; inside: [lo, hi)
            top = s.sub(t.pad_top, pr)
            lo = s.min(s.max(oh0, s.div(s.add(s.max(top, zero), s.sub(t.stride_h, one)), t.stride_h)), s.add(oh0, nb))
            below = s.max(s.add(t.h, top), zero)
            hi = s.min(s.add(oh0, nb), s.div(s.add(below, s.sub(t.stride_h, one)), t.stride_h))
            lo_b = s.sub(lo, oh0, "lo")
            hi_b = s.max(s.sub(hi, oh0), lo_b, "hi")
            n_valid = s.sub(hi_b, lo_b, "n_valid")
            # columns: staged column c is input column c + o * stride_w - pad_left
            pmax = s.min(s.sub(t.stride_w, one), s.sub(s.mul(s.sub(t.kernel_w, one), t.dilation_w),
                                                       s.mul(o, t.stride_w)))
            staged = s.add(s.mul(s.sub(t.ow, one), t.stride_w), s.add(pmax, one), "staged")
            shift = s.sub(s.mul(o, t.stride_w), t.pad_left)
            left, src_col = s.max(s.sub(zero, shift), zero, "left"), s.max(shift, zero, "src_col")
            length = s.min(s.sub(t.w, src_col), s.sub(staged, left), "length")
            right = s.max(s.sub(s.sub(staged, left), length), zero, "right")
            row_bytes = s.mul(s.add(s.add(left, length), right), k2.c(es))
            gap = s.div(s.sub(s.mul(t.pitch, k2.c(es)), s.mul(s.div(s.add(row_bytes, k2.c(ALIGN - 1)), k2.c(ALIGN)),
                                                               k2.c(ALIGN))), k2.c(ALIGN), "ub_gap")
            src_gap = s.mul(s.sub(s.mul(t.stride_h, t.w), length), k2.c(es), "src_gap")
            ih = s.sub(s.add(s.mul(lo, t.stride_h), pr), t.pad_top, "ih")
            stage = k2.name(k2.call(A.AllocTensorOp, in_q, result=l_t), "band")

            def plane(k3: KB, pi: SSAValue) -> None:
                v = IntOps(k3)
                base = v.mul(pi, plane_elems, "base")
                k3.when(v.cmp(lo_b, zero, "sgt"),
                        lambda k4: k4.call(A.DuplicateOp, at(k4, stage, base), k4.f(fill), v.mul(lo_b, t.pitch)))
                k3.when(v.cmp(hi_b, nb, "slt"),
                        lambda k4: k4.call(A.DuplicateOp, at(k4, stage, v.add(base, v.mul(hi_b, t.pitch))),
                                           k4.f(fill), v.mul(v.sub(nb, hi_b), t.pitch)))

                def copy(k4: KB) -> None:
                    w_ = IntOps(k4)
                    src = w_.add(w_.add(w_.mul(w_.add(plane0, pi), hw), w_.mul(ih, t.w)), src_col, "x_off")
                    k4.add(A.DataCopyPad2dOp.build(
                        operands=[at(k4, stage, w_.add(base, w_.mul(lo_b, t.pitch))), at(k4, x_g, src), n_valid,
                                  length, src_gap, gap, left, right],
                        properties={"value": FloatAttr(fill, f32)}))

                k3.when(v.cmp(n_valid, zero, "sgt"), copy)

            k2.loop(zero, n_planes, one, plane, iv_name="pi")
            k2.call(A.EnQueOp, in_q, stage)
            staged_ub = k2.name(k2.call(A.DeQueOp, in_q, result=l_t), "band_ub")
            used = s.mul(n_planes, plane_elems, "band_count") if wide or phased else zero
            src = staged_ub
            if xf is not None:
                k2.call(A.CastOp, xf, staged_ub, used, round="none")
                barrier(k2)
                src = xf

            def phase(k3: KB, ph: SSAValue) -> None:
                v = IntOps(k3)  # some window column j has j * dilation_w = o * stride_w + ph
                col = v.add(v.mul(o, t.stride_w), ph, "tap_col")
                used = v.both(v.cmp(v.rem(col, t.dilation_w), zero, "eq"),
                              v.cmp(v.div(col, t.dilation_w), t.kernel_w, "slt"), "phase_used")
                k3.when(used, lambda k4: phase_body(k4, ph))

            def phase_body(k3: KB, ph: SSAValue) -> None:
                v = IntOps(k3)
                taps_src = src
                if phases is not None:
                    ph_buf = phases
                    lanes = k3.c(REPEAT // cb)
                    repeats = v.div(v.add(used, v.sub(lanes, one)), lanes, "repeats")
                    dst0 = v.mul(ph, region, "phase_off")

                    def gather(k4: KB, r0: SSAValue) -> None:
                        w_ = IntOps(k4)
                        n = w_.min(k4.c(MAX_REPEATS), w_.sub(repeats, r0), "n_repeats")
                        dst = at(k4, ph_buf, w_.add(dst0, w_.div(w_.mul(r0, lanes), t.stride_w)))
                        k4.call(A.GatherMaskOp, dst, at(k4, src, w_.mul(r0, lanes)),
                                w_.add(t.pattern_base, ph, "pattern"), n)

                    k3.loop(zero, repeats, k3.c(MAX_REPEATS), gather, iv_name="r0")
                    barrier(k3)
                    taps_src = at(k3, phases, dst0)

                def tap(k4: KB, i: SSAValue) -> None:
                    w_ = IntOps(k4)
                    ri = w_.mul(i, t.dilation_h, "tap_row")

                    def combine(k5: KB) -> None:
                        a = IntOps(k5).div(ri, t.stride_h, "a")
                        k5.call(A.VecBinaryOp, acc, acc, at(k5, taps_src, IntOps(k5).mul(a, t.phase_pitch)), count,
                                fn=vec_fn)
                        barrier(k5)

                    k4.when(w_.cmp(w_.rem(ri, t.stride_h), pr, "eq"), combine)

                k3.loop(zero, t.kernel_h, one, tap, iv_name="i")

            k2.loop(zero, t.stride_w, one, phase, iv_name="ph")
            k2.call(A.FreeTensorOp, in_q, staged_ub)

        kb.loop(zero, r.mul(t.col_bands, t.stride_h), one, band, iv_name="band")
        if counts is not None and col_counts is not None:  # avg: divide by the window counts
            cnt, col_cnt = counts, col_counts
            def count_row(k2: KB, rr: SSAValue) -> None:
                s = IntOps(k2)
                y0 = s.sub(s.mul(s.add(oh0, rr), t.stride_h), t.pad_top, "y0")
                cells = _window_extent(k2, y0, t.h, t.kernel_h, t.pad_bottom, with_pad)
                k2.call(A.VecScalarOp, at(k2, cnt, s.mul(rr, t.phase_pitch)), col_cnt,
                        k2.add(arith.SIToFPOp(cells, f32)), t.phase_pitch, fn="Muls")

            kb.loop(zero, rows, one, count_row, iv_name="rr")
            barrier(kb)

            def divide(k2: KB, pi: SSAValue) -> None:
                s = IntOps(k2)
                a_p = at(k2, acc, s.mul(pi, acc_plane))
                k2.call(A.VecBinaryOp, a_p, a_p, cnt, s.mul(rows, t.phase_pitch), fn="Div")

            kb.loop(zero, n_planes, one, divide, iv_name="pi")
            barrier(kb)
        if acc_f is not None:
            kb.call(A.CastOp, out, acc_f, count, round="rint")
            barrier(kb)
        kb.call(A.EnQueOp, out_q, out)
        y = kb.name(kb.call(A.DeQueOp, out_q, result=l_t), "y_ub")
        ub_gap = r.div(r.sub(r.mul(t.phase_pitch, kb.c(es)), r.mul(r.div(r.add(r.mul(t.ow, kb.c(es)),
                                                                                   kb.c(ALIGN - 1)), kb.c(ALIGN)),
                                                                       kb.c(ALIGN))), kb.c(ALIGN), "y_gap")

        def store(k2: KB, pi: SSAValue) -> None:
            s = IntOps(k2)
            dst = s.add(s.mul(s.add(plane0, pi), ohw), s.mul(oh0, t.ow), "y_off")
            k2.call(A.DataCopyPad2dOp, at(k2, y_g, dst), at(k2, y, s.mul(pi, acc_plane)), rows, t.ow, ub_gap, zero,
                    zero, zero)

        kb.loop(zero, n_planes, one, store, iv_name="pi")
        kb.call(A.FreeTensorOp, out_q, y)

    k.loop(first, last, one, unit, iv_name="unit")
    block_dim = math.ceil(tiling.units / tiling.units_per_block)
    return Launch(kernel_op, block_dim, tiling.values())


# --- the scalar path ------------------------------------------------------------------------


def _scalar_pool(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    """Pooling over NCHW on the scalar unit: a core owns output rows (n, c, oh); the window's
    input rows are staged in UB as fp32 and every output element is reduced from UB."""
    x_t, y_t = op.operands[0].type, op.results[0].type
    assert isinstance(x_t, TensorType) and isinstance(y_t, TensorType)
    ty = ctype(x_t)
    p = props(op)
    is_max = op.name == "cir.max_pool2d"
    n_, c_, h, w = x_t.get_shape()
    oh, ow = y_t.get_shape()[2:]
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = p["kernel"], p["strides"], p["pads"]
    dh, dw = p["dilations"] if is_max else (1, 1)
    eb = A.ctype_bytes(ty)
    w_pad = math.ceil(w / 8) * 8  # fp32 row pitch in UB: 32-byte aligned rows
    ow_pad = math.ceil(ow / 16) * 16
    need = 4 * max(w_pad, ow_pad) * eb + kh * w_pad * 4 + ow_pad * 4 + 2 * ow_pad * eb + 8 * ALIGN
    if need > soc.ub_bytes:
        raise NotImplementedError(f"{op.name} with rows of {w} elements and a {kh}-row window (UB)")
    rows = n_ * c_ * oh
    block_dim, per = split_rows(rows, soc)
    kind = "max" if is_max else ("avg (count_include_pad)" if p["count_include_pad"] else "avg")
    kernel_op, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], PoolTiling,
                                  comment + f"\n({kind} pooling: window rows staged in UB, scalar windows)")
    f = k.fields(PoolTiling)
    g_t = A.GlobalType(StringAttr(ty))
    planes = k.name(k.binop(arith.DivSIOp, f.rows, f.out_h), "planes")
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], k.c(0), k.binop(arith.MuliOp, planes, k.binop(
        arith.MuliOp, f.in_h, f.in_w)), result=g_t), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], k.c(0), k.binop(arith.MuliOp, f.rows, f.out_w), result=g_t), "y_gm")
    s = Stream(k, soc, ty, ty, f.io_tile, [])
    win_buf = k.name(k.call(A.BufOp, result=A.BufType()), "window_buf")
    k.call(A.InitBufferOp, s.pipe, win_buf, k.binop(arith.MuliOp, k.binop(arith.MuliOp, f.kernel_h, f.row_pitch), k.c(4)), num=1)
    out_buf = k.name(k.call(A.BufOp, result=A.BufType()), "out_buf")
    k.call(A.InitBufferOp, s.pipe, out_buf, k.binop(arith.MuliOp, k.binop(
        arith.AddiOp, f.out_w, k.c(16)), k.c(4)), num=1)
    first, last = block_rows(k, f.rows, f.rows_per_block)
    fill = -FLT_MAX if is_max else 0.0
    with_pad = bool(p["count_include_pad"]) if not is_max else False

    def row(kb: KB, r: SSAValue) -> None:
        plane = kb.name(kb.binop(arith.DivSIOp, r, f.out_h), "plane")
        oy = kb.name(kb.binop(arith.RemSIOp, r, f.out_h), "oy")
        y0 = kb.name(kb.binop(arith.SubiOp, kb.binop(arith.MuliOp, oy, f.stride_h), f.pad_top), "y0")
        win = kb.name(kb.call(A.BufGetOp, win_buf, result=s.f32_t), "window")
        out = kb.name(kb.call(A.BufGetOp, out_buf, result=s.f32_t), "out")

        def stage(k2: KB, i: SSAValue) -> None:
            iy = k2.name(k2.binop(arith.AddiOp, y0, k2.binop(arith.MuliOp, i, f.dilation_h)), "iy")
            inside = k2.add(arith.AndIOp(k2.add(arith.CmpiOp(iy, k2.c(0), "sge")),
                                         k2.add(arith.CmpiOp(iy, f.in_h, "slt"))))
            src = k2.binop(arith.MuliOp, k2.binop(arith.AddiOp, k2.binop(arith.MuliOp, plane, f.in_h), iy), f.in_w)
            dst = k2.call(A.AtOp, win, k2.binop(arith.MuliOp, i, f.row_pitch), result=s.f32_t)
            k2.when(inside, lambda k3: s.load(k3, x_g, src, f.in_w, dst))

        kb.loop(kb.c(0), f.kernel_h, kb.c(1), stage)

        def column(k2: KB, ox: SSAValue) -> None:
            x0 = k2.name(k2.binop(arith.SubiOp, k2.binop(arith.MuliOp, ox, f.stride_w), f.pad_left), "x0")

            def wrow(k3: KB, i: SSAValue, acc: SSAValue) -> SSAValue:
                iy = k3.binop(arith.AddiOp, y0, k3.binop(arith.MuliOp, i, f.dilation_h))
                row_ok = k3.add(arith.AndIOp(k3.add(arith.CmpiOp(iy, k3.c(0), "sge")),
                                             k3.add(arith.CmpiOp(iy, f.in_h, "slt"))))

                def wcol(k4: KB, j: SSAValue, acc4: SSAValue) -> SSAValue:
                    ix = k4.binop(arith.AddiOp, x0, k4.binop(arith.MuliOp, j, f.dilation_w))
                    ok = k4.name(k4.add(arith.AndIOp(row_ok, k4.add(arith.AndIOp(
                        k4.add(arith.CmpiOp(ix, k4.c(0), "sge")), k4.add(arith.CmpiOp(ix, f.in_w, "slt")))))), "inside")
                    at = k4.add(arith.SelectOp(ok, k4.binop(arith.AddiOp, k4.binop(arith.MuliOp, i, f.row_pitch), ix),
                                               k4.c(0)))
                    v = k4.name(k4.call(A.GetValueOp, win, at, result=f32), "cell")
                    v = k4.add(arith.SelectOp(ok, v, k4.f(fill)))
                    return k4.add(arith.MaximumfOp(acc4, v) if is_max else arith.AddfOp(acc4, v))

                return fold(k3, k3.c(0), f.kernel_w, k3.c(1), acc, wcol)

            value = fold(k2, k2.c(0), f.kernel_h, k2.c(1), k2.f(fill), wrow)
            if not is_max:  # divisor: window cells inside the (explicitly padded) input
                cells = k2.name(k2.binop(arith.MuliOp, _window_extent(k2, y0, f.in_h, f.kernel_h, f.pad_bottom, with_pad),
                                         _window_extent(k2, x0, f.in_w, f.kernel_w, f.pad_right, with_pad)), "cells")
                value = k2.add(arith.DivfOp(value, k2.add(arith.SIToFPOp(cells, f32))))
            k2.call(A.SetValueOp, out, ox, value)

        kb.loop(kb.c(0), f.out_w, kb.c(1), column)
        s.store(kb, out, y_g, kb.binop(arith.MuliOp, r, f.out_w), f.out_w)

    k.loop(first, last, k.c(1), row)
    tiling = PoolTiling(rows=rows, rows_per_block=per, in_h=h, in_w=w, out_h=oh, out_w=ow, row_pitch=w_pad,
                        kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw, pad_top=pt, pad_left=pl, pad_bottom=pb,
                        pad_right=pr, dilation_h=dh, dilation_w=dw, io_tile=max(w_pad, ow_pad))
    return Launch(kernel_op, block_dim, tiling.values())


def _window_extent(k: KB, lo: SSAValue, size: SSAValue, kern: SSAValue, pad_hi: SSAValue, with_pad: bool) -> SSAValue:
    """The window's cells along one dim inside the input (padding counted when `with_pad`)."""
    hi = k.add(arith.MinSIOp(k.binop(arith.AddiOp, lo, kern), k.binop(arith.AddiOp, size, pad_hi)))
    if with_pad:
        return k.binop(arith.SubiOp, hi, lo)
    return k.binop(arith.SubiOp, k.add(arith.MinSIOp(hi, size)), k.add(arith.MaxSIOp(lo, k.c(0))))
