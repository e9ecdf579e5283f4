"""Depthwise conv2d on the vector unit: ``groups == in_channels == out_channels`` (MobileNet,
EfficientNet), dispatched from the ``cir.conv2d`` generator (lowering/kernels/cube.py) when
`depthwise_plan` takes the op; everything else stays on the implicit-GEMM path.

The (N*C) channel planes are split over the vector cores, whole planes a core, and a core's
planes into tiles of P planes computed together (P = 1 when a plane needs several tiles of
output rows). In the UB a tile is [P][band_rows][ow_al] in fp32: a plane's part is
``plane_pitch = band_rows * ow_al`` elements (its output rows, then the taps' extra rows), the
rows ``ow_al`` elements apart (OW rounded up to a 32-byte block of the input type), so every
plane, row and tap slice starts aligned:

    acc = bias;  for each tap (ki, kj):  acc += w[c, ki, kj] * S_tap
    S_tap[r, j] = x[c, (oh0 + r) * stride_h + ki - pad_top, j * stride_w + kj - pad_left]

For each column kj and row phase pr (ki = a * stride_h + pr), one DataCopyPad (GM -> UB) a plane
stages a band of input rows at its plane's offset: row b is input row (oh0 + b) * stride_h + pr -
pad_top (the GM row gap is stride_h rows), shifted by kj; the horizontal zero padding is the
copy's left / right padding (at most one 32-byte block a side), rows above / below the image are
Duplicate zeros. The taps of that band are its slices from row a on, the same slice of every
plane at the same offset in its part; per tap, either

- (``by_gather``: small planes) one Gather builds W_tap, each plane's weight broadcast over its
  part (the weights and biases of the tile's planes sit in the UB a row of ``w_pitch`` each; a
  uint32 offset table, plane p's elements -> byte p * w_pitch * 4, is built once per core and the
  tap's byte offset is the Gather's base address), then one Mul and one Add over the tile; or
- one Axpy a plane (acc += w * S_tap), for planes big enough that a call costs less than
  broadcasting their elements.

``cir.conv2d_act`` without a residual runs its activation (the elementwise recipe) over the
fp32 accumulator before the store. The elements between a plane's output rows and the next
plane (its extra rows) are computed and never stored. fp16: the band is Cast to fp32 first,
the weights once per tile; the result is rounded once with Cast RINT. Stride_w > 1 first splits each plane of the tile into its stride_w
column phases in GM workspace (a DataCopyPad of one element per 32-byte block with a GM gap of
stride_w - 1 elements, written back compacted by a DataCopyPad out of those blocks), so every
band reads contiguous runs of one phase. Everything sized by the tiling (P, rows per tile, the
table, the buffers) is a tiling field, so the kernel is the same for any core count.

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
    emit_step,
    new_kernel,
    props,
    round_up,
    split_rows,
    tensor_type,
)
from cir.lowering.kernels.elementwise import activation_recipe, recipe_temps
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntAttr, StringAttr, f32, i64
from xdsl.ir import Operation, SSAValue

from cir.soc import Soc
from cir.types import dtype_of

MAX_COUNT = 4095  # DataCopyPad's blockCount
# A tile of whole planes holds up to TILE_ELEMS elements (more planes than that only lengthen
# the vector calls past where their issue cost is amortised, and the tile's working set, acc +
# band + tap weights, stays within a CPU core's L1 on the CPU layer). Planes of up to
# GATHER_PITCH elements a tile get a tap's weights broadcast by one Gather (then one Mul and one
# Add over the tile); larger ones an Axpy a plane, whose call costs less than broadcasting their
# elements (measured on the CPU layer: 5x5 taps over 7x7 planes run ~1.6x faster with the Gather,
# over 14x14 planes ~1.5x slower).
TILE_ELEMS = 2048
GATHER_PITCH = 192


@dataclass
class DepthwiseTiling(Tiling):
    planes: int
    channels: int
    planes_per_block: int
    planes_per_tile: int  # P: the planes a tile computes together (1: a plane in row tiles)
    by_gather: int  # 1: a tap's weights are Gathered over the tile; 0: an Axpy a plane
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
    plane_pitch: int  # band_rows * ow_al: a plane's part of the band, accumulator and output tiles
    tile_elems: int  # P * plane_pitch
    table_elems: int  # the Gather offset table and the tap's weights: tile_elems (by_gather), else a block
    plane_w: int  # the width of what the taps read: w, or w / stride_w (one column phase)
    chunk_rows: int  # rows of a phase gathered per move
    ws_plane: int  # GM workspace elements per plane (its phases); P planes a core
    stage_bytes: int
    w_pitch: int  # a plane's weights in UB: its taps, padded to a block, then a block for its bias
    bias_col: int  # round_up(taps, block): where its bias is


def depthwise_plan(op: Operation, soc: Soc) -> tuple[DepthwiseTiling, int, str, int] | None:
    """(tiling, blockDim, C++ type, element bytes) when the dedicated kernel takes this conv."""
    if op.name not in ("cir.conv2d", "cir.conv2d_act") or soc.arch < 220 or len(op.operands) > 3:
        return None
    p = props(op)
    temps = len(recipe_temps(activation_recipe(p.get("activation", "none"))))
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
    bias_col = round_up(taps, blk)
    w_pitch = bias_col + blk
    chunk_rows = max(1, min(h, MAX_COUNT // plane_w, 32768 // (plane_w * ALIGN) or 1)) if sw > 1 else 1
    gather = chunk_rows * plane_w * ALIGN if sw > 1 else 0
    wide = ty != "float"
    extra = -(-kh // sh) - 1

    def ub_bytes(planes: int, rows: int, table: bool) -> int:
        """in x2, out x2, acc (, the fp32 band) (, the activation's temporaries) (, the tap's weights
        and the offset table), weights."""
        tile = planes * (rows + extra) * ow_al
        return (2 * max(tile * es, gather) + 2 * tile * es + tile * 4 * (1 + wide + temps) + (tile if table else blk) * 8
                + planes * w_pitch * (4 + wide * es) + 1024)

    per_row = ow_al * (4 * es + 4 * (1 + wide + temps))
    tile_rows = min(oh, MAX_COUNT - extra, max(0, (soc.ub_bytes - ub_bytes(1, 0, False)) // per_row))
    while tile_rows > 0 and ub_bytes(1, tile_rows, False) > soc.ub_bytes:
        tile_rows -= 1
    if tile_rows < 1:
        return None
    band_rows = tile_rows + extra
    pitch = band_rows * ow_al
    # small planes: a tap's weights broadcast by one Gather beat an Axpy call a plane
    by_gather = tile_rows == oh and pitch <= GATHER_PITCH
    block_dim, per = split_rows(n * c, soc)
    planes = 1
    if tile_rows == oh:  # whole planes: as many a tile as the UB holds, the same in every tile
        lo, hi = 1, min(per, c, MAX_COUNT, max(1, TILE_ELEMS // pitch))  # (c: a tile spans at most two images)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if ub_bytes(mid, oh, by_gather) <= soc.ub_bytes else (lo, mid - 1)
        planes = -(-per // -(-per // lo))
    by_gather = by_gather and planes > 1
    tile = planes * pitch
    ws_plane = round_up(h * w, 64) if sw > 1 else 0
    tiling = DepthwiseTiling(planes=n * c, channels=c, planes_per_block=per, planes_per_tile=planes,
                             by_gather=int(by_gather), h=h, w=w, oh=oh, ow=ow, kh=kh,
                             kw=kw, taps=taps, stride_h=sh, stride_w=sw, pad_top=pt, pad_left=pl, ow_al=ow_al,
                             tile_rows=tile_rows, band_rows=band_rows, plane_pitch=pitch, tile_elems=tile,
                             table_elems=tile if by_gather else blk, plane_w=plane_w, chunk_rows=chunk_rows,
                             ws_plane=ws_plane, stage_bytes=max(tile * es, gather), w_pitch=w_pitch,
                             bias_col=bias_col)
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
                                  comment + "\n(depthwise conv on the vector unit: per tile of channel planes, "
                                  "acc += W_tap * shifted input rows, W_tap each plane's weight broadcast by "
                                  "Gather, fp32 accumulation)")
    t = k.fields(DepthwiseTiling)
    o = _Int(k)
    mul, add, sub, div, rem = arith.MuliOp, arith.AddiOp, arith.SubiOp, arith.DivSIOp, arith.RemSIOp
    zero, one, es_v, f4 = k.c(0), k.c(1), k.c(es), k.c(4)
    blk_v = k.c(ALIGN // es)
    g_t, l_t, f_t = A.GlobalType(StringAttr(ty)), A.LocalType(StringAttr(ty)), A.LocalType(StringAttr("float"))
    u_t = A.LocalType(StringAttr("uint32_t"))
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
        ws_block = o(mul, t.planes_per_tile, t.ws_plane, "ws_block")
        ws_g = gtensor(gm["workspace"], o(mul, block, ws_block, "ws_off"), ws_block, "ws_gm")
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")

    def que(pos: str, nbytes: SSAValue, hint: str) -> SSAValue:
        q = k.name(k.call(A.QueOp, result=A.QueType(StringAttr(pos), IntAttr(2))), hint)
        k.call(A.InitBufferOp, pipe, q, nbytes, num=2)
        return q

    def buf(nbytes: SSAValue, hint: str, lt: Any = f_t) -> SSAValue:
        b = k.name(k.call(A.BufOp, result=A.BufType()), hint + "_buf")
        k.call(A.InitBufferOp, pipe, b, nbytes, num=1)
        return k.name(k.call(A.BufGetOp, b, result=lt), hint)

    in_q = que("VECIN", t.stage_bytes, "in_que")
    out_q = que("VECOUT", o(mul, t.tile_elems, es_v), "out_que")
    acc = buf(o(mul, t.tile_elems, f4), "acc")
    wtap = buf(o(mul, t.table_elems, f4), "w_tap")  # by_gather: the tap's weights, then the product
    table = buf(o(mul, t.table_elems, f4), "offsets", u_t)
    xf = buf(o(mul, t.tile_elems, f4), "xf") if wide else None
    w_elems = o(mul, t.planes_per_tile, t.w_pitch, "w_elems")
    wf = buf(o(mul, w_elems, f4), "w_f32")  # the unit's weights (and biases), a row a plane
    wst = buf(o(mul, w_elems, es_v), "w_stage", l_t) if wide else None
    act = activation_recipe(props(op).get("activation", "none"))  # cir.conv2d_act: x0 -> y in place on acc
    act_bufs = {"x0": acc, "y": acc} | {tmp: buf(o(mul, t.tile_elems, f4), tmp) for tmp in recipe_temps(act)}
    # by_gather: a tap's weights are Gathered over the tile (plane p's elements read row p of
    # w_f32); else they are the scalars of an Axpy a plane
    by_gather = k.name(k.add(arith.CmpiOp(t.by_gather, zero, "ne")), "by_gather")

    def barrier(kb: KB, pipe_name: str = "PIPE_V") -> None:
        kb.call(A.PipeBarrierOp, pipe=pipe_name)

    def pad2d(kb: KB, dst: SSAValue, src: SSAValue, count: SSAValue, length: SSAValue, sgap: SSAValue,
              dgap: SSAValue, left: SSAValue | None = None, right: SSAValue | None = None) -> None:
        kb.call(A.DataCopyPad2dOp, dst, src, count, length, sgap, dgap, left or zero, right or zero)

    def at(kb: KB, g: SSAValue, off: SSAValue) -> SSAValue:
        return kb.call(A.AtOp, g, off, result=g.type)

    def build_table(kb: KB) -> None:
        """offsets[p * plane_pitch + e] = p * w_pitch * 4 bytes: row p of w_f32."""
        def row(k2: KB, pp: SSAValue) -> None:
            q = _Int(k2)
            k2.call(A.DuplicateOp, at(k2, table, q(mul, pp, t.plane_pitch)),
                    q(mul, q(mul, pp, t.w_pitch), f4, "row_bytes"), t.plane_pitch)

        kb.loop(zero, t.planes_per_tile, one, row, iv_name="p")
        barrier(kb)

    k.when(by_gather, build_table)

    def gather_phases(kb: KB, x_plane: SSAValue, ws_base: SSAValue) -> None:
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
                dst = q3(add, ws_base, q3(add, q3(mul, p, q3(mul, t.h, wq)), q3(mul, r0, wq)), "phase_off")
                pad2d(k3, at(k3, ws, dst), u, cnt, one, zero, zero)
                k3.call(A.FreeTensorOp, in_q, u)

            k2.loop(zero, t.h, t.chunk_rows, chunk, iv_name="r0")

        kb.loop(zero, t.stride_w, one, phase, iv_name="p")

    def unit(kb: KB, plane0: SSAValue) -> None:
        q = _Int(kb)
        np_ = kb.name(kb.add(arith.MinSIOp(t.planes_per_tile, q(sub, last, plane0))), "n_planes")
        c0 = q(rem, plane0, t.channels, "channel0")
        # the tile's weights, a row of w_pitch a plane: taps, then (a block on) its bias; a tile
        # running into the next image continues from channel 0
        barrier(kb, "PIPE_ALL")  # the previous tile's reads of w_f32 (and the workspace) are done
        wdst = wst if wst is not None else wf
        n1 = kb.name(kb.add(arith.MinSIOp(np_, q(sub, t.channels, c0))), "n_first")
        bias_gap = q(sub, q(div, t.w_pitch, blk_v), one, "bias_gap") if b_g is not None else None

        def weights(k2: KB, ch: SSAValue, row: SSAValue, count: SSAValue) -> None:
            q2 = _Int(k2)
            w_row = q2(mul, row, t.w_pitch)
            pad2d(k2, at(k2, wdst, w_row), at(k2, w_g, q2(mul, ch, t.taps)), count, t.taps, zero, one)
            if b_g is not None and bias_gap is not None:
                pad2d(k2, at(k2, wdst, q2(add, w_row, t.bias_col)), at(k2, b_g, ch), count, one, zero, bias_gap)

        weights(kb, c0, zero, n1)
        kb.when(kb.add(arith.CmpiOp(np_, n1, "sgt")), lambda k2: weights(k2, zero, n1, _Int(k2)(sub, np_, n1)))
        if strided:
            def phases_of(k2: KB, pp: SSAValue) -> None:
                q2 = _Int(k2)
                gather_phases(k2, q2(mul, q2(add, plane0, pp), hw), q2(mul, pp, t.ws_plane))

            kb.loop(zero, np_, one, phases_of, iv_name="p")
        barrier(kb, "PIPE_ALL")
        if wst is not None:
            kb.call(A.CastOp, wf, wst, q(mul, np_, t.w_pitch), round="none")
            barrier(kb, "PIPE_ALL")  # GetValue (scalar) reads it
        phase_size = q(mul, t.h, t.plane_w, "phase_size")

        def src_of(k2: KB, pp: SSAValue) -> tuple[SSAValue, SSAValue]:
            q2 = _Int(k2)
            if strided:
                assert ws_g is not None
                return ws_g, q2(mul, pp, t.ws_plane)
            return x_g, q2(mul, q2(add, plane0, pp), hw)

        def tile(k2: KB, oh0: SSAValue) -> None:
            q2 = _Int(k2)
            rows = k2.name(k2.add(arith.MinSIOp(t.tile_rows, q2(sub, t.oh, oh0))), "rows")
            # planes p < n_planes - 1 in full (their extra rows are never stored), the last one's rows
            cnt = q2(add, q2(mul, q2(sub, np_, one), t.plane_pitch), q2(mul, rows, t.ow_al), "count")
            band_all = q2(mul, np_, t.plane_pitch, "band_elems")
            plane_cnt = q2(mul, rows, t.ow_al, "plane_count")
            if b_g is not None:
                def bias_each(k3: KB) -> None:
                    def one_plane(k4: KB, pp: SSAValue) -> None:
                        q4 = _Int(k4)
                        bv = k4.name(k4.call(A.GetValueOp, wf, q4(add, q4(mul, pp, t.w_pitch), t.bias_col),
                                             result=f32), "bias")
                        k4.call(A.DuplicateOp, at(k4, acc, q4(mul, pp, t.plane_pitch)), bv, plane_cnt)

                    k3.loop(zero, np_, one, one_plane, iv_name="p")

                k2.when(by_gather, lambda k3: k3.call(A.GatherOp, acc, wf, table, q2(mul, t.bias_col, f4), cnt),
                        bias_each)
            else:
                k2.call(A.DuplicateOp, acc, k2.f(0.0), cnt)
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
                    k4.call(A.DuplicateOp, s, k4.f(0.0), band_all)
                    barrier(k4, "PIPE_ALL")

                def load(k4: KB) -> None:
                    q4 = _Int(k4)
                    ih = q4(sub, q4(add, q4(mul, lo, t.stride_h), pr), t.pad_top, "ih")
                    off = q4(add, q4(add, q4(mul, p, phase_size), q4(mul, ih, t.plane_w)), q4(add, fq, lz),
                             "src_off")
                    gap = q4(mul, q4(sub, q4(mul, t.stride_h, t.plane_w), ln), es_v, "row_gap_bytes")
                    row0 = q4(mul, q4(sub, lo, oh0), t.ow_al, "dst_row")

                    def plane_copy(k5: KB, pp: SSAValue) -> None:  # one move a plane, at its pitch
                        q5 = _Int(k5)
                        src_g, base = src_of(k5, pp)
                        dst = at(k5, s, q5(add, q5(mul, pp, t.plane_pitch), row0))
                        pad2d(k5, dst, at(k5, src_g, q5(add, base, off)), n_valid, ln, gap, zero, lz, rz)

                    k4.loop(zero, np_, one, plane_copy, iv_name="p")

                k3.when(full, lambda k4: None, zeros)
                k3.when(has, load)
                k3.call(A.EnQueOp, in_q, s)
                u = k3.name(k3.call(A.DeQueOp, in_q, result=l_t), "band_ub")
                src_f = u
                if xf is not None:
                    k3.call(A.CastOp, xf, u, band_all, round="none")
                    barrier(k3)
                    src_f = xf

                def tap(k4: KB, a: SSAValue) -> None:
                    q4 = _Int(k4)
                    kk = q4(add, q4(mul, q4(add, q4(mul, a, t.stride_h), pr), t.kw), kj, "tap")
                    a_off = q4(mul, a, t.ow_al, "tap_row")
                    sl = at(k4, src_f, a_off)

                    def gathered(k5: KB) -> None:  # acc += S * W over the tile
                        k5.call(A.GatherOp, wtap, wf, table, _Int(k5)(mul, kk, f4), cnt)
                        barrier(k5)
                        k5.call(A.VecBinaryOp, wtap, sl, wtap, cnt, fn="Mul")
                        barrier(k5)
                        k5.call(A.VecBinaryOp, acc, acc, wtap, cnt, fn="Add")

                    def scalar(k5: KB) -> None:  # acc += w * S a plane (Axpy)
                        def one_plane(k6: KB, pp: SSAValue) -> None:
                            q6 = _Int(k6)
                            wv = k6.name(k6.call(A.GetValueOp, wf, q6(add, q6(mul, pp, t.w_pitch), kk), result=f32),
                                         "wv")
                            po = q6(mul, pp, t.plane_pitch, "plane_off")
                            k6.call(A.VecScalarOp, at(k6, acc, po), at(k6, src_f, q6(add, a_off, po)), wv, plane_cnt,
                                    fn="Axpy")

                        k5.loop(zero, np_, one, one_plane, iv_name="p")

                    k4.when(by_gather, gathered, scalar)
                    barrier(k4)

                k3.loop(zero, n_taps, one, tap, iv_name="a")
                k3.call(A.FreeTensorOp, in_q, u)

            k2.loop(zero, q2(mul, t.kw, t.stride_h), one, band, iv_name="band")
            for step in act:
                emit_step(k2, step, act_bufs, {}, cnt)
            out = k2.name(k2.call(A.AllocTensorOp, out_q, result=l_t), "y_tile")
            if wide:
                k2.call(A.CastOp, out, acc, cnt, round="rint")
            else:  # a count-form vector copy
                k2.call(A.VecScalarOp, out, acc, k2.f(0.0), cnt, fn="Adds")
            barrier(k2)
            k2.call(A.EnQueOp, out_q, out)
            y = k2.name(k2.call(A.DeQueOp, out_q, result=l_t), "y_ub")

            def store(k3: KB, pp: SSAValue) -> None:
                q3 = _Int(k3)
                y_off = q3(add, q3(mul, q3(add, plane0, pp), ohw), q3(mul, oh0, t.ow), "y_off")
                pad2d(k3, at(k3, y_g, y_off), at(k3, y, q3(mul, pp, t.plane_pitch)), rows, t.ow, zero, zero)

            k2.loop(zero, np_, one, store, iv_name="p")
            k2.call(A.FreeTensorOp, out_q, y)

        kb.loop(zero, t.oh, t.tile_rows, tile, iv_name="oh0")

    k.loop(first, last, t.planes_per_tile, unit, iv_name="plane0")
    return Launch(kernel_op, block_dim, tiling.values(),
                  args=["operand:0", "operand:1"] + ["operand:2"] * has_bias + ["result:0"],
                  workspace=block_dim * tiling.planes_per_tile * tiling.ws_plane * es)
