"""Norm kernel families: layer / RMS / group norm, GroupNorm+SiLU and the fused add + norm.
One statistics pass, one normalise pass, fp32 accumulation.

A "row" is what one normalisation covers: the trailing dims from `axis` (layer/rms norm) or
one group of channels (group norm). Each core takes whole rows; a row streams through UB
twice. Pass 1 reads it in big tiles and keeps (count, mean, M2) per row: each tile's own mean
and sum of squared deviations (ReduceSum, Adds, Mul, ReduceSum in UB), combined with the
running values by Chan's parallel form of Welford's update (no catastrophic cancellation of a
plain sum-of-squares); rms norm needs only the sum of squares. Pass 2 normalises: group norm
walks the group's channels, several whole channels per tile when a channel fits UB, with
scale = gamma * rstd and shift = beta - mean * scale per channel (one Muls and one Adds over
the channel's run); layer / rms norm apply x * rstd - mean * rstd, then gamma and beta
element-wise (loaded once per core when the row fits one tile). Then SiLU (z / (1 + e^-z))
over the whole tile with the activation library's Silu. fp32 tiles are computed in place in the input buffer; fp16 tiles are
widened to fp32 for the statistics and the arithmetic and rounded once at the end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cir.lowering import ascendc as A
from cir.lowering.builder import (
    ALIGN,
    KB,
    Launch,
    Tiling,
    copy_tile,
    ctype,
    fold_tiles,
    kernel,
    new_kernel,
    props,
    round_up,
    split_rows,
)
from cir.lowering.kernels.elementwise import elementwise_any
from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import IntAttr, StringAttr, TensorType, f32, i64
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import IRDLOperation

from cir import ops as cir_ops
from cir.soc import Soc
from cir.types import dtype_of, numel

NORM_OPS = ("cir.layer_norm", "cir.rms_norm", "cir.group_norm", "cir.group_norm_silu")


@kernel(*NORM_OPS)
def norm_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    x_t = op.operands[0].type
    assert isinstance(x_t, TensorType)
    kind = op.name.removeprefix("cir.")
    if kind == "group_norm_silu" and not props(op)["activate_silu"]:
        kind = "group_norm"
    return norm_launch(name, kind, x_t, props(op), len(op.operands) > 1, len(op.operands) > 2,
                       soc, comment)


def _norm_tiles(hw: int, ch_per_group: int, grouped: bool, tile: int) -> tuple[int, int]:
    """(channels per pass-2 tile, elements of a channel per tile): whole channels side by side
    when they fit and each channel's run starts 32-byte aligned in the fp32 buffer."""
    if not grouped:
        return 1, min(hw, tile)
    if hw <= tile and hw % (ALIGN // 4) == 0:
        return max(1, min(ch_per_group, tile // hw)), hw
    return 1, min(hw, tile)


@dataclass
class NormTiling(Tiling):
    """The norm kernel's struct (``row_bytes`` in `extra` when the row stays resident in UB)."""

    rows: int
    rows_per_block: int
    row_len: int
    tile: int
    hw: int
    ch_per_group: int
    groups: int
    ch_per_tile: int
    piece: int
    work_elems: int


@dataclass
class NormPlan:
    """What a norm kernel is generated for: its kind's flags, types and tiling."""

    grouped: bool
    silu: bool
    centred: bool
    has_w: bool
    has_b: bool
    ty: str
    elem_bytes: int
    resident: bool
    tiling: NormTiling
    block_dim: int

    @property
    def wide(self) -> bool:
        return self.ty != "float"

    @property
    def elementwise_affine(self) -> bool:
        return not self.grouped and (self.has_w or self.has_b)


def _norm_plan(kind: str, x_t: TensorType, p: Mapping[str, Any], has_w: bool, has_b: bool, soc: Soc) -> NormPlan:
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
    elementwise_affine = not grouped and (has_w or has_b)
    ty = ctype(x_t)
    elem_bytes = dtype_of(x_t).itemsize
    wide = ty != "float"
    # UB per element: input and output queues x2 (native type), fp32 tmp, fp32 copy of an fp16
    # tile, fp32 gamma / beta tiles of layer / rms norm; plus the ReduceSum work space
    per_elem = 4 * elem_bytes + 4 * (1 + wide + elementwise_affine * (has_w + has_b))
    tile = (soc.ub_bytes - 8 * ALIGN) * 64 // (64 * per_elem + 4) // 64 * 64
    tile = max(64, min(tile, 16384))
    # a group whose fp32 copy fits UB beside the output tiles stays resident: x is read once
    row_bytes = round_up(row_len * 4, ALIGN)
    per_elem_resident = 2 * elem_bytes * (1 + wide) + 4  # out queue x2 (+ fp16 staging x2), tmp
    resident_tile = (soc.ub_bytes - 8 * ALIGN - row_bytes) * 64 // (64 * per_elem_resident + 4) // 64 * 64
    resident = grouped and hw % (ALIGN // 4) == 0 and resident_tile >= 1024
    if resident:
        tile = min(resident_tile, 16384)
    ch_per_tile, piece = _norm_tiles(hw, ch_per_group, grouped, tile)
    block_dim, rows_per_block = split_rows(rows, soc)
    tiling = NormTiling(rows=rows, rows_per_block=rows_per_block, row_len=row_len, tile=tile, hw=hw,
                        ch_per_group=ch_per_group, groups=groups, ch_per_tile=ch_per_tile, piece=piece,
                        work_elems=round_up(tile // 64 + 8, 8), extra={"row_bytes": row_bytes} if resident else {})
    return NormPlan(grouped, kind == "group_norm_silu", kind != "rms_norm", has_w, has_b, ty, elem_bytes, resident,
                    tiling, block_dim)


def norm_launch(name: str, kind: str, x_t: TensorType, p: Mapping[str, Any], has_w: bool,
                has_b: bool, soc: Soc, comment: str) -> Launch:
    """A norm kernel: `kind` is layer_norm, rms_norm, group_norm or group_norm_silu; `p` holds
    axis or num_groups, and epsilon. GM arguments: x0, (x1 gamma, (x2 beta)), y."""
    plan = _norm_plan(kind, x_t, p, has_w, has_b, soc)
    args = ["x0"] + ["x1"] * has_w + ["x2"] * has_b + ["y", "workspace", "tiling"]
    how = ("the group resident in UB: x read once" if plan.resident else "x streamed twice")
    kernel_op, gm, k = new_kernel(name, args, list(plan.tiling.values()),
                                  comment + f"\n(statistics pass + normalise pass, fp32 accumulation; {how})")
    NormKernel(k, gm, plan, soc, float(p["epsilon"])).build()
    return Launch(kernel_op, plan.block_dim, plan.tiling.values())


class NormKernel:
    """The norm kernel's body: buffers, then per row the statistics pass and the normalise pass."""

    def __init__(self, k: KB, gm: dict[str, SSAValue], plan: NormPlan, soc: Soc, epsilon: float):
        self.k, self.plan, self.soc = k, plan, soc
        ty, elem_bytes, wide, resident = plan.ty, plan.elem_bytes, plan.wide, plan.resident
        self.f32_t, self.l_t = A.LocalType(StringAttr("float")), A.LocalType(StringAttr(ty))
        self.g_t = g_t = A.GlobalType(StringAttr(ty))
        self.t = t = k.fields(list(plan.tiling.values()))
        rows_v, row_len_v = t.rows, t.row_len
        zero = self.zero = k.c(0)
        self.one = k.c(1)
        block = k.call(A.BlockIdxOp, result=i64)
        self.first = k.name(k.binop(arith.MuliOp, block, t.rows_per_block), "first_row")
        self.last = k.name(k.add(arith.MinSIOp(k.binop(arith.AddiOp, self.first, t.rows_per_block), rows_v)), "end_row")
        total = k.name(k.binop(arith.MuliOp, rows_v, row_len_v), "total")
        self.x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, total, result=g_t), "x_gm")
        self.y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, total, result=g_t), "y_gm")
        w_len = k.binop(arith.MuliOp, t.groups, t.ch_per_group) if plan.grouped else row_len_v
        self.w_g = k.name(k.call(A.GlobalTensorOp, gm["x1"], zero, w_len, result=g_t), "gamma_gm") if plan.has_w else None
        self.b_g = k.name(k.call(A.GlobalTensorOp, gm["x2"], zero, w_len, result=g_t), "beta_gm") if plan.has_b else None
        pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
        self.qin = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), "in_que")
        self.qout = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
        native_bytes = k.name(k.binop(arith.MuliOp, t.tile, k.c(elem_bytes)), "tile_bytes")
        f32_bytes = k.name(k.binop(arith.MuliOp, t.tile, k.c(4)), "tile_f32_bytes")
        if wide or not resident:
            k.call(A.InitBufferOp, pipe, self.qin, native_bytes, num=2)
        k.call(A.InitBufferOp, pipe, self.qout, native_bytes, num=2)
        self.qrow = rbuf = None
        if resident and not wide:  # the fp32 row itself, through a depth-1 input queue
            self.qrow = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(1))), "row_que")
            k.call(A.InitBufferOp, pipe, self.qrow, t.row_bytes, num=1)
        elif resident:  # the fp16 row widened to fp32
            rbuf = k.name(k.call(A.BufOp, result=A.BufType()), "row_buf")
            k.call(A.InitBufferOp, pipe, rbuf, t.row_bytes, num=1)
        self.scratch = scratch = {}
        affine = (["wf"] * plan.has_w + ["bf"] * plan.has_b) * plan.elementwise_affine
        for nm in ["tmp"] + ["xf"] * (wide and not resident) + affine:
            b = k.name(k.call(A.BufOp, result=A.BufType()), f"{nm}_buf")
            k.call(A.InitBufferOp, pipe, b, f32_bytes, num=1)
            scratch[nm] = b
        scratch["work"] = k.name(k.call(A.BufOp, result=A.BufType()), "work_buf")
        k.call(A.InitBufferOp, pipe, scratch["work"], k.binop(arith.MuliOp, t.work_elems, k.c(4)), num=1)
        self.tmp = k.name(k.call(A.BufGetOp, scratch["tmp"], result=self.f32_t), "tmp")
        self.work = k.name(k.call(A.BufGetOp, scratch["work"], result=self.f32_t), "work")
        self.xf = k.name(k.call(A.BufGetOp, scratch["xf"], result=self.f32_t), "xf") if wide and not resident else None
        self.row_f32 = k.name(k.call(A.BufGetOp, rbuf, result=self.f32_t), "row") if rbuf is not None else None
        self.eps = k.name(k.f(epsilon), "eps")
        self.inv_len = k.name(k.add(arith.DivfOp(k.f(1.0), k.add(arith.SIToFPOp(row_len_v, f32)))), "inv_len")
        # layer / rms norm rows that fit one tile: gamma and beta once per core
        self.single = None
        if plan.elementwise_affine:
            self.single = k.name(k.add(arith.CmpiOp(row_len_v, t.tile, "sle")), "single_tile")
            k.when(self.single, lambda kb: self.affine_tiles(kb, zero, row_len_v))

    def build(self) -> None:
        self.k.loop(self.first, self.last, self.one, self.row_body, iv_name="row")

    def v(self, kb: KB, cls: type[IRDLOperation], *operands: SSAValue, **props: Any) -> None:
        kb.call(cls, *operands, **props)
        kb.call(A.PipeBarrierOp, pipe="PIPE_V")

    def aligned_n(self, kb: KB, n: SSAValue) -> SSAValue:
        return kb.aligned(n, self.plan.elem_bytes, None)

    def load(self, kb: KB, src_g: Any, off: SSAValue, n: SSAValue) -> SSAValue:
        """GM tile -> the input queue; returns the dequeued tile (the caller frees it)."""
        tin = kb.name(kb.call(A.AllocTensorOp, self.qin, result=self.l_t), "x_in")
        copy_tile(kb, self.aligned_n(kb, n), tin, kb.call(A.AtOp, src_g, off, result=self.g_t), n, self.soc,
                  self.plan.elem_bytes)
        kb.call(A.EnQueOp, self.qin, tin)
        return kb.name(kb.call(A.DeQueOp, self.qin, result=self.l_t), "x_ub")

    def load_f32(self, kb: KB, src_g: Any, off: SSAValue, n: SSAValue, dst: SSAValue) -> SSAValue:
        """GM tile as fp32, widened (fp16) or copied (fp32) into `dst`."""
        u = self.load(kb, src_g, off, n)
        if self.plan.wide:
            self.v(kb, A.CastOp, dst, u, n, round="none")
        else:  # a count-form vector copy: DataCopy would need a 32-byte multiple
            self.v(kb, A.VecScalarOp, dst, u, kb.f(0.0), n, fn="Adds")
        kb.call(A.FreeTensorOp, self.qin, u)
        return dst

    def reduce_sum(self, kb: KB, src: SSAValue, n: SSAValue, hint: str) -> SSAValue:
        self.v(kb, A.ReduceOp, self.work, src, self.work, n, fn="ReduceSum")
        return kb.name(kb.call(A.GetValueOp, self.work, kb.c(0), result=f32), hint)

    def affine_tiles(self, kb: KB, off: SSAValue, n: SSAValue) -> None:
        for key, g in (("wf", self.w_g), ("bf", self.b_g)):
            if g is not None:
                buf = kb.name(kb.call(A.BufGetOp, self.scratch[key], result=self.f32_t), key)
                self.load_f32(kb, g, off, n, buf)

    def row_body(self, kb: KB, row: SSAValue) -> None:
        t, plan = self.t, self.plan
        row_len_v, tile_v = t.row_len, t.tile
        self.base = base = kb.name(kb.binop(arith.MuliOp, row, row_len_v), "base")
        self.rf = None  # the resident fp32 row
        if self.qrow is not None:
            r_in = kb.name(kb.call(A.AllocTensorOp, self.qrow, result=self.l_t), "row_in")
            copy_tile(kb, self.aligned_n(kb, row_len_v), r_in, kb.call(A.AtOp, self.x_g, base, result=self.g_t),
                      row_len_v, self.soc, plan.elem_bytes)
            kb.call(A.EnQueOp, self.qrow, r_in)
            self.rf = kb.name(kb.call(A.DeQueOp, self.qrow, result=self.l_t), "row_ub")
        elif self.row_f32 is not None:
            self.rf = rf = self.row_f32

            def widen(k2: KB, off: SSAValue) -> None:
                n = k2.tile_count(tile_v, row_len_v, off)
                u = self.load(k2, self.x_g, k2.binop(arith.AddiOp, base, off), n)
                self.v(k2, A.CastOp, k2.call(A.AtOp, rf, off, result=self.f32_t), u, n, round="none")
                k2.call(A.FreeTensorOp, self.qin, u)

            kb.loop(kb.c(0), row_len_v, tile_v, widen, iv_name="off")
        _, mean, m2 = fold_tiles(kb, row_len_v, tile_v, [kb.f(0.0), kb.f(0.0), kb.f(0.0)], self.stats)
        mean = kb.name(mean, "mean")
        var = kb.name(kb.add(arith.MulfOp(m2, self.inv_len)), "var")
        self.rstd = rstd = kb.name(kb.add(arith.DivfOp(kb.f(1.0), kb.add(xmath.SqrtOp(
            kb.add(arith.AddfOp(var, self.eps)))))), "rstd")
        self.neg_mean = neg_mean = kb.name(kb.add(arith.SubfOp(kb.f(0.0), mean)), "neg_mean") if plan.centred else None
        self.neg_mean_rstd = (kb.name(kb.add(arith.MulfOp(neg_mean, rstd)), "shift")
                              if neg_mean is not None and not plan.grouped else None)
        if plan.grouped:
            self.normalise_group(kb, row)
        else:
            def whole(k3: KB, t0: SSAValue) -> None:
                n = k3.name(k3.add(arith.MinSIOp(tile_v, k3.binop(arith.SubiOp, row_len_v, t0))), "n")
                self.normalise_tile(k3, t0, n, n, None, None)

            kb.loop(kb.c(0), row_len_v, tile_v, whole, iv_name="t0")
        if self.qrow is not None and self.rf is not None:
            kb.call(A.FreeTensorOp, self.qrow, self.rf)

    def stats(self, k2: KB, off: SSAValue, n: SSAValue, carried: list[SSAValue]) -> list[SSAValue]:
        """Pass 1: (count, mean, M2) by Chan's combination of per-tile statistics."""
        plan, rf, tmp = self.plan, self.rf, self.tmp
        if rf is not None:
            src = u = k2.call(A.AtOp, rf, off, result=self.f32_t)
        else:
            src = u = self.load(k2, self.x_g, k2.binop(arith.AddiOp, self.base, off), n)
        if plan.wide and rf is None:
            assert self.xf is not None
            self.v(k2, A.CastOp, self.xf, u, n, round="none")
            k2.call(A.FreeTensorOp, self.qin, u)
            src = self.xf
        nb = k2.name(k2.add(arith.SIToFPOp(n, f32)), "n_tile")
        mb = None
        if plan.centred:
            mb = k2.name(k2.add(arith.DivfOp(self.reduce_sum(k2, src, n, "tile_sum"), nb)), "tile_mean")
            self.v(k2, A.VecScalarOp, tmp, src, k2.add(arith.SubfOp(k2.f(0.0), mb)), n, fn="Adds")
            self.v(k2, A.VecBinaryOp, tmp, tmp, tmp, n, fn="Mul")
        else:
            self.v(k2, A.VecBinaryOp, tmp, src, src, n, fn="Mul")
        m2b = self.reduce_sum(k2, tmp, n, "tile_m2")
        if not plan.wide and rf is None:
            k2.call(A.FreeTensorOp, self.qin, u)
        na, ma, m2a = carried
        if mb is None:
            return [na, ma, k2.add(arith.AddfOp(m2a, m2b))]
        nn = k2.name(k2.add(arith.AddfOp(na, nb)), "count")
        delta = k2.name(k2.add(arith.SubfOp(mb, ma)), "delta")
        frac = k2.add(arith.DivfOp(nb, nn))
        mean = k2.add(arith.AddfOp(ma, k2.add(arith.MulfOp(delta, frac))))
        corr = k2.add(arith.MulfOp(k2.add(arith.MulfOp(delta, delta)), k2.add(arith.MulfOp(na, frac))))
        m2 = k2.add(arith.AddfOp(k2.add(arith.AddfOp(m2a, m2b)), corr))
        return [nn, mean, m2]

    def normalise_group(self, kb: KB, row: SSAValue) -> None:
        """Pass 2 of group norm: chunks of ch_per_tile whole channels, or pieces of one channel."""
        t = self.t
        cpg, hw_v = t.ch_per_group, t.hw
        group = kb.name(kb.binop(arith.RemSIOp, row, t.groups), "group")
        first_ch = kb.name(kb.binop(arith.MuliOp, group, cpg), "first_channel")

        def chunk(k2: KB, c0: SSAValue) -> None:
            n_ch = k2.name(k2.add(arith.MinSIOp(t.ch_per_tile, k2.binop(arith.SubiOp, cpg, c0))), "n_channels")

            def piece_fn(k3: KB, p0: SSAValue) -> None:
                run = k3.name(k3.add(arith.MinSIOp(t.piece, k3.binop(arith.SubiOp, hw_v, p0))), "run")
                off = k3.name(k3.binop(arith.AddiOp, k3.binop(arith.MuliOp, c0, hw_v), p0), "off")
                n = k3.name(k3.binop(arith.MuliOp, n_ch, run), "n")
                self.normalise_tile(k3, off, n, run, k3.binop(arith.AddiOp, first_ch, c0), n_ch)

            k2.loop(k2.c(0), hw_v, t.piece, piece_fn, iv_name="p0")

        kb.loop(kb.c(0), cpg, t.ch_per_tile, chunk, iv_name="c0")

    def normalise_tile(self, k2: KB, off: SSAValue, n: SSAValue, run: SSAValue, channel0: SSAValue | None,
                       n_ch: SSAValue | None) -> None:
        """Pass 2, elements [off, off + n) of the row: n_ch channels of `run` elements each
        (group norm) or one run (layer / rms norm); normalise + affine (+ SiLU)."""
        plan, rf, l_t, wide = self.plan, self.rf, self.l_t, self.plan.wide
        if self.single is not None:
            k2.when(self.single, lambda k3: None, lambda k3: self.affine_tiles(k3, off, n))
        u = None
        if rf is not None:
            z = k2.call(A.AtOp, rf, off, result=self.f32_t)
        else:
            u = self.load(k2, self.x_g, k2.binop(arith.AddiOp, self.base, off), n)
            if wide:
                assert self.xf is not None
                self.v(k2, A.CastOp, self.xf, u, n, round="none")
                k2.call(A.FreeTensorOp, self.qin, u)
                z = self.xf
            else:
                z = u
        out = k2.name(k2.call(A.AllocTensorOp, self.qout, result=l_t), "y_ub")
        # where the last affine step writes: the output tile when nothing follows
        last_to_out = not wide and not plan.silu
        if plan.grouped:
            assert channel0 is not None and n_ch is not None
            k2.loop(k2.c(0), n_ch, self.one, lambda k3, ci: self.channel_affine(k3, ci, channel0, run, z, out,
                                                                                 last_to_out), iv_name="ci")
        else:
            steps: list[tuple[Any, ...]] = [(A.VecScalarOp, self.rstd, "Muls")]
            if plan.centred:
                steps.append((A.VecScalarOp, self.neg_mean_rstd, "Adds"))
            for flag, key, fn in ((plan.has_w, "wf", "Mul"), (plan.has_b, "bf", "Add")):
                if flag:
                    steps.append((A.VecBinaryOp, k2.name(k2.call(A.BufGetOp, self.scratch[key], result=self.f32_t),
                                                         key), fn))
            for i, (cls, operand, fn) in enumerate(steps):
                dst = out if last_to_out and i == len(steps) - 1 else z
                self.v(k2, cls, dst, z, operand, n, fn=fn)
        if plan.silu:  # the activation library's Silu (dst and src disjoint)
            self.v(k2, A.VecUnaryOp, self.tmp if wide else out, z, n, fn="Silu")
            z = self.tmp
        if wide:
            self.v(k2, A.CastOp, out, z, n, round="rint")
        elif rf is None:
            assert u is not None
            k2.call(A.FreeTensorOp, self.qin, u)
        k2.call(A.EnQueOp, self.qout, out)
        y = k2.name(k2.call(A.DeQueOp, self.qout, result=l_t), "y_out")
        copy_tile(k2, self.aligned_n(k2, n), k2.call(A.AtOp, self.y_g, k2.binop(arith.AddiOp, self.base, off),
                                                      result=self.g_t), y, n, self.soc, plan.elem_bytes)
        k2.call(A.FreeTensorOp, self.qout, y)

    def channel_affine(self, k3: KB, ci: SSAValue, channel0: SSAValue, run: SSAValue, z: SSAValue,
                       out: SSAValue, last_to_out: bool) -> None:
        """Channel ci of a group norm tile: scale = gamma * rstd, shift = beta - mean * scale."""
        ch = k3.name(k3.binop(arith.AddiOp, channel0, ci), "channel")
        scale = self.rstd
        if self.w_g is not None:
            gamma = k3.name(k3.call(A.GetValueOp, self.w_g, ch, result=f32), "gamma")
            scale = k3.name(k3.add(arith.MulfOp(gamma, self.rstd)), "scale")
        assert self.neg_mean is not None  # group norm is centred
        shift = k3.name(k3.add(arith.MulfOp(self.neg_mean, scale)), "shift_c")
        if self.b_g is not None:
            beta = k3.name(k3.call(A.GetValueOp, self.b_g, ch, result=f32), "beta")
            shift = k3.name(k3.add(arith.AddfOp(beta, shift)), "shift_c")
        at = k3.binop(arith.MuliOp, ci, run)
        zc = k3.call(A.AtOp, z, at, result=self.f32_t if self.plan.wide else self.l_t)
        dc = k3.call(A.AtOp, out, at, result=self.l_t) if last_to_out else zc
        self.v(k3, A.VecScalarOp, zc, zc, scale, run, fn="Muls")
        self.v(k3, A.VecScalarOp, dc, zc, shift, run, fn="Adds")


# --- fused add + norm: the sum (result 1), then the norm of it (result 0) ----------------

@kernel("cir.add_group_norm", "cir.add_layer_norm")
def add_norm_kernels(name: str, op: Operation, soc: Soc, comment: str) -> list[Launch]:
    p = props(op)
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

