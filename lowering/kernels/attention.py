"""Attention kernels: ``cir.flash_attention`` (BNSD, BSH) and ``cir.attention`` as one
FlashAttention-2 kernel (cube matmuls, vector online softmax).

Work items are (head, query block of ``block_q`` rows), spread over the AI cores. For each item
the kernel walks the key/value blocks of ``block_k`` keys (causal: only blocks at or below the
diagonal):

1. ``S = Q_blk · K_blkᵀ`` with the Matmul API into this core's GM workspace (fp32, rows of
   ``block_k``);
2. the vector unit loads S, scales it, adds the mask (additive float mask, or an i1 mask as
   0 / -1e30), and per row takes the block maximum ``m_new = max(m, rowmax)``, ``P = exp(S -
   m_new)`` and its sum; keys after the query position (causal) are left out of the row (P = 0);
3. ``alpha = exp(m - m_new)`` for all rows at once, ``l = l·alpha + rowsum``, ``m = m_new``;
   P goes to the workspace in the input type;
4. ``O_blk = P · V_blk`` with the same Matmul object (fp32 into the workspace), and the fp32 UB
   accumulator is rescaled: ``O = O·alpha + O_blk``.

The output rows are ``O / l``, narrowed once. Every tensor is addressed through per-batch-dim
strides (``*_size/_div/_stride`` fields, as in reduce.py), which covers BNSD, BSH (a head is a
column band of width D in rows of H), broadcast batch dims and broadcast masks. Masked scores
use a finite -1e30 instead of -inf so a block whose keys are all masked for a row cannot make
``exp(-inf - -inf)``; its weights vanish once a real key raises the row maximum (a row with no
key at all, NaN in the reference, is not reproduced).

UB: the S block (fp32) and P block (input type), the O accumulator and the loaded O block
(fp32, rows padded to 8 floats), per-row m / l / m_new / rowsum / alpha and a mask row;
``block_q`` is the largest of 128, 64, 32, 16 that fits the SoC's UB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from cir.lowering import ascendc as A
from cir.lowering.builder import (
    ALIGN,
    FLT_MAX,
    KB,
    Launch,
    Tiling,
    copy_tile,
    ctype,
    decode_offset,
    digit_fields,
    kernel,
    new_kernel,
    props,
    tensor_type,
    tiling_fields,
)
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntAttr, StringAttr, f32, i64
from xdsl.ir import Operation, SSAValue

from cir.soc import Soc
from cir.types import is_bool, numel

MASKED = -1.0e30
BASE_K = 64


def _strides(shape: tuple[int, ...], batch: tuple[int, ...]) -> list[int]:
    """Element strides of `shape`'s leading dims over the broadcast `batch` dims (0: broadcast)."""
    full = (1,) * (len(batch) + 2 - len(shape)) + tuple(shape)
    contiguous = [int(np.prod(full[i + 1:])) for i in range(len(full))]
    return [0 if full[i] == 1 and batch[i] != 1 else contiguous[i] for i in range(len(batch))]


@dataclass
class AttentionTiling(Tiling):
    """The attention kernel's struct; `extra`: per tensor x (q, k, v, o, m) its row stride
    ``x_row``, its size ``x_total`` and its batch-dim digits (``x0_size/_div/_stride``, ...)."""

    tasks: int
    tasks_per_block: int
    q_blocks: int
    length: int
    keys: int
    head_dim: int
    value_dim: int
    block_q: int
    block_k: int
    value_pitch: int
    ws_block: int


@dataclass
class AttentionPlan:
    """What the kernel is generated for: element type, batch dims, per tensor its (batch
    strides, row stride), the block sizes and the work split."""

    ty: str
    mask_ty: str | None
    batch: tuple[int, ...]
    layout: dict[str, tuple[list[int], int]]
    length: int
    keys: int
    d: int
    dv: int
    scale: float
    causal: bool
    block_q: int = 0
    block_k: int = 0
    dv_pad: int = 0

    @property
    def eb(self) -> int:
        return A.ctype_bytes(self.ty)

    @property
    def has_mask(self) -> bool:
        return self.mask_ty is not None

    @property
    def dims(self) -> list[int]:
        return list(self.batch) or [1]


def _plan(op: Operation, soc: Soc) -> AttentionPlan:
    q_t, k_t, v_t, o_t = (tensor_type(v) for v in (*op.operands[:3], op.results[0]))
    ty = ctype(q_t)
    if ty not in ("float", "half"):
        raise NotImplementedError(f"{op.name} with {ty}")
    p = props(op)
    qs, ks, vs = q_t.get_shape(), k_t.get_shape(), v_t.get_shape()
    # (batch dims, L, S, D, Dv) and, per tensor, (batch strides, row stride)
    if op.name == "cir.flash_attention" and p["input_layout"] == "BSH":
        n = p["head_num"]
        (b, length, h), (_, keys, hk), (_, _, hv) = qs, ks, vs
        d, dv = h // n, hv // n
        batch: tuple[int, ...] = (b, n)
        layout = {"q": ([length * h, d], h), "k": ([keys * hk, d], hk), "v": ([keys * hv, dv], hv),
                  "o": ([length * n * dv, dv], n * dv)}
    else:
        batch = tuple(o_t.get_shape()[:-2])
        length, d, keys, dv = qs[-2], qs[-1], ks[-2], vs[-1]
        layout = {"q": (_strides(qs, batch), d), "k": (_strides(ks, batch), d),
                  "v": (_strides(vs, batch), dv), "o": (_strides(o_t.get_shape(), batch), dv)}
    scale = p["scale"] if p["scale"] is not None else 1 / math.sqrt(d)
    mask_ty = None
    if len(op.operands) > 3:
        m_t = tensor_type(op.operands[3])
        ms = m_t.get_shape()
        mask_ty = "int8_t" if is_bool(m_t) else ty
        if not ms or ms[-1] != keys:
            raise NotImplementedError(f"{op.name} with a mask broadcast along the keys")
        full = (1,) * (len(batch) + 2 - len(ms)) + tuple(ms)
        layout["m"] = (_strides(ms, batch), 0 if full[-2] == 1 and length != 1 else keys)
    plan = AttentionPlan(ty, mask_ty, batch, layout, length, keys, d, dv, scale, bool(p["causal"]))
    _block_sizes(plan, op, soc)
    return plan


def _block_sizes(plan: AttentionPlan, op: Operation, soc: Soc) -> None:
    """block_k, the O row pitch and the largest block_q whose buffers fit the SoC's UB."""
    eb = plan.eb
    block_k = min(128, math.ceil(plan.keys / 16) * 16)
    dv_pad = math.ceil(plan.dv / 8) * 8  # fp32 rows of O, 32-byte aligned
    mask_bytes = block_k * (4 + 2 + 2 * (A.ctype_bytes(plan.mask_ty) if plan.mask_ty else 0))

    def ub_bytes(block_q: int) -> int:
        return (block_q * block_k * (4 + eb)  # S block, P block
                + 2 * block_q * dv_pad * 4  # O accumulator, O block
                + dv_pad * eb + 5 * (block_q * 8 + 8) * 4 + block_k * 4 + mask_bytes + 16 * ALIGN)

    fits = [bq for bq in (128, 64, 32, 16) if ub_bytes(bq) <= soc.ub_bytes]
    if not fits:
        raise NotImplementedError(f"{op.name} with value rows of {plan.dv} elements (UB)")
    plan.block_q = next((bq for bq in fits if bq <= math.ceil(plan.length / 16) * 16), fits[-1])
    plan.block_k, plan.dv_pad = block_k, dv_pad


@kernel("cir.attention", "cir.flash_attention")
def attention_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    plan = _plan(op, soc)
    heads = int(np.prod(plan.batch)) if plan.batch else 1
    q_blocks = math.ceil(plan.length / plan.block_q)
    tasks = heads * q_blocks
    blocks = max(1, min(soc.ai_cores, tasks))
    per = math.ceil(tasks / blocks)
    block_dim = math.ceil(tasks / per)
    # S, P, O block per core
    ws_block = plan.block_q * plan.block_k * (4 + plan.eb) + plan.block_q * plan.dv_pad * 4
    batch_fields, digit_vals = [], {}
    for t, (strides, _) in plan.layout.items():
        f, v = digit_fields(list(zip(plan.dims, strides or [0])), t)
        batch_fields += f
        digit_vals |= v
    totals = {f"{x}_total": numel(tensor_type(v).get_shape())
              for x, v in zip(("q", "k", "v", "o", "m"), (*op.operands[:3], op.results[0], *op.operands[3:]))}
    tiling = AttentionTiling(
        tasks=tasks, tasks_per_block=per, q_blocks=q_blocks, length=plan.length, keys=plan.keys,
        head_dim=plan.d, value_dim=plan.dv, block_q=plan.block_q, block_k=plan.block_k,
        value_pitch=plan.dv_pad, ws_block=ws_block,
        extra={f"{x}_row": r for x, (_, r) in plan.layout.items()} | totals | digit_vals)
    fields = tiling_fields(AttentionTiling.names()) + tiling_fields(
        [f"{x}_row" for x in plan.layout] + list(totals)) + batch_fields
    what = ("FlashAttention-2: Q*K^T and P*V on the cube (Matmul), online softmax on the vector unit"
            + (", causal" if plan.causal else "")
            + (", i1 mask" if plan.mask_ty == "int8_t" else ", additive mask" if plan.has_mask else ""))
    args = ["q", "k", "v"] + ["mask"] * plan.has_mask + ["out", "workspace", "tiling"]
    kernel_op, gm, k = new_kernel(name, args, fields, comment + f"\n({what})")
    FlashAttention(k, gm, plan, soc).build()
    return Launch(kernel_op, block_dim, tiling.values(), workspace=block_dim * ws_block)


class FlashAttention:
    """The kernel body: buffers and the Matmul object, then per task (head, query block) the
    walk over the key blocks (see the module docstring)."""

    def __init__(self, k: KB, gm: dict[str, SSAValue], plan: AttentionPlan, soc: Soc):
        self.k, self.plan, self.soc = k, plan, soc
        ty, layout = plan.ty, plan.layout
        self.t = k.fields(AttentionTiling)
        self.rows = {x: k.field(f"{x}_row") for x in layout}
        self.g = {x: k.name(k.call(A.GlobalTensorOp, gm[arg], k.c(0), k.field(f"{x}_total"),
                                   result=A.GlobalType(StringAttr(plan.mask_ty if x == "m" and plan.mask_ty else ty))), f"{arg}_gm")
                  for x, arg in (("q", "q"), ("k", "k"), ("v", "v"), ("o", "out"), ("m", "mask")) if x in layout}
        self.f32_t, self.l_t = A.LocalType(StringAttr("float")), A.LocalType(StringAttr(ty))
        self.zero, self.one = k.c(0), k.c(1)
        self.workspace(gm["workspace"])
        self.buffers()

    def workspace(self, ws: SSAValue) -> None:
        """This core's workspace: S (fp32), P (input type), O block (fp32)."""
        k, t, eb = self.k, self.t, self.plan.eb
        self.block = k.call(A.BlockIdxOp, result=i64)
        ws_base = k.name(k.binop(arith.MuliOp, self.block, t.ws_block), "ws_base")
        self.s_elems = s_elems = k.name(k.binop(arith.MuliOp, t.block_q, t.block_k), "score_elems")
        self.o_elems = k.name(k.binop(arith.MuliOp, t.block_q, t.value_pitch), "out_elems")
        self.s_ws = k.name(k.call(A.GlobalTensorOp, ws, k.binop(arith.DivSIOp, ws_base, k.c(4)), s_elems,
                                  result=A.GlobalType(StringAttr("float"))), "score_ws")
        p_off = k.binop(arith.AddiOp, ws_base, k.binop(arith.MuliOp, s_elems, k.c(4)))
        self.p_ws = k.name(k.call(A.GlobalTensorOp, ws, k.binop(arith.DivSIOp, p_off, k.c(eb)), s_elems,
                                  result=A.GlobalType(StringAttr(self.plan.ty))), "prob_ws")
        ob_off = k.binop(arith.AddiOp, p_off, k.binop(arith.MuliOp, s_elems, k.c(eb)))
        self.ob_ws = k.name(k.call(A.GlobalTensorOp, ws, k.binop(arith.DivSIOp, ob_off, k.c(4)), self.o_elems,
                                   result=A.GlobalType(StringAttr("float"))), "out_block_ws")

    def buffers(self) -> None:
        k, t, plan, eb = self.k, self.t, self.plan, self.plan.eb
        self.pipe = pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")

        def que(pos: str, hint: str, nbytes: SSAValue) -> SSAValue:
            q = k.name(k.call(A.QueOp, result=A.QueType(StringAttr(pos), IntAttr(1))), hint)
            k.call(A.InitBufferOp, pipe, q, nbytes, num=1)
            return q

        def buf(hint: str, nbytes: SSAValue) -> SSAValue:
            b = k.name(k.call(A.BufOp, result=A.BufType()), f"{hint}_buf")
            k.call(A.InitBufferOp, pipe, b, nbytes, num=1)
            return b

        bq, bk, dvp = t.block_q, t.block_k, t.value_pitch
        self.score_q = que("VECIN", "score_que", k.binop(arith.MuliOp, self.s_elems, k.c(4)))
        self.prob_q = que("VECOUT", "prob_que", k.binop(arith.MuliOp, self.s_elems, k.c(eb)))
        self.oblk_q = que("VECIN", "out_block_que", k.binop(arith.MuliOp, self.o_elems, k.c(4)))
        self.out_q = que("VECOUT", "out_que", k.binop(arith.MuliOp, dvp, k.c(eb)))
        if plan.mask_ty is not None:
            self.mask_q = que("VECIN", "mask_que", k.binop(arith.MuliOp, bk, k.c(A.ctype_bytes(plan.mask_ty))))
        # per-row statistics [block_q, 8]: each row's value over one 32-byte block (SoftmaxFlashV2's form)
        row_bytes = k.binop(arith.MuliOp, k.binop(arith.AddiOp, k.binop(arith.MuliOp, bq, k.c(8)), k.c(8)), k.c(4))
        self.bufs = {nm: buf(nm, row_bytes) for nm in ("row_max", "row_sum", "new_max", "block_sum", "alpha")}
        self.acc_buf = buf("acc", k.binop(arith.MuliOp, self.o_elems, k.c(4)))
        self.work_buf = buf("work", k.binop(arith.MuliOp, bk, k.c(4)))
        if plan.has_mask:
            self.maskf_buf = buf("mask_f32", k.binop(arith.MuliOp, bk, k.c(4)))
            if plan.mask_ty == "int8_t":
                self.maskh_buf = buf("mask_f16", k.binop(arith.MuliOp, bk, k.c(2)))

    def build(self) -> None:
        k, t, one, ty = self.k, self.t, self.one, self.plan.ty
        bq, bk, dvp, hd = t.block_q, t.block_k, t.value_pitch, t.head_dim
        cube = k.call(A.CubeTilingOp, [one, bq, k.binop(arith.AddiOp, bk, dvp), k.binop(arith.AddiOp, bk, hd),
                                       k.binop(arith.AddiOp, bk, hd), bq, k.binop(arith.AddiOp, bk, dvp),
                                       k.binop(arith.AddiOp, bk, hd), bq, k.c(128), k.c(BASE_K), one, one,
                                       one, one, one, one],
                      result=A.CubeTilingType(),
                      fields="usedCoreNum,M,N,Ka,Kb,singleCoreM,singleCoreN,singleCoreK,baseM,baseN,baseK,"
                             "depthA1,depthB1,stepM,stepN,stepKa,stepKb")
        # one Matmul object for both products: B may be transposed (K) or not (V)
        self.mm = k.name(k.call(A.MatmulObjOp, self.pipe, cube, result=A.MatmulType(StringAttr(ty)),
                                a=ty, b=ty + ",trans", c="float", bias="float"), "mm")
        self.scale_v = k.name(k.f(self.plan.scale), "scale")
        first = k.name(k.binop(arith.MuliOp, self.block, t.tasks_per_block), "first_task")
        last = k.name(k.add(arith.MinSIOp(k.binop(arith.AddiOp, first, t.tasks_per_block), t.tasks)), "end_task")
        k.loop(first, last, one, self.task)

    def get(self, kb: KB, b: SSAValue, hint: str) -> SSAValue:
        return kb.name(kb.call(A.BufGetOp, b, result=self.f32_t), hint)

    def task(self, kb: KB, it: SSAValue) -> None:
        t, g, bq = self.t, self.g, self.t.block_q
        head = kb.name(kb.binop(arith.DivSIOp, it, t.q_blocks), "head")
        self.q0 = q0 = kb.name(kb.binop(arith.MuliOp, kb.binop(arith.RemSIOp, it, t.q_blocks), bq), "q0")
        self.nq = nq = kb.name(kb.add(arith.MinSIOp(bq, kb.binop(arith.SubiOp, t.length, q0))), "nq")
        self.base = {x: kb.name(decode_offset(kb, head, x, len(self.plan.dims)), f"{x}_base") for x in self.plan.layout}
        row_max, row_sum, _, _, _ = self.state = [self.get(kb, self.bufs[nm], nm) for nm in self.bufs]
        self.acc = self.get(kb, self.acc_buf, "acc")
        self.stat_elems = kb.name(kb.binop(arith.MuliOp, nq, kb.c(8)), "stat_elems")
        kb.call(A.DuplicateOp, row_max, kb.f(-FLT_MAX), self.stat_elems)
        kb.call(A.DuplicateOp, row_sum, kb.f(0.0), self.stat_elems)
        kb.call(A.DuplicateOp, self.acc, kb.f(0.0), kb.binop(arith.MuliOp, nq, t.value_pitch))
        kb.barrier()
        self.q_at = kb.call(A.AtOp, g["q"], kb.binop(arith.AddiOp, self.base["q"], kb.binop(
            arith.MuliOp, q0, self.rows["q"])), result=g["q"].type)
        key_end = t.keys
        if self.plan.causal:  # keys after the block's last query are masked for every row
            key_end = kb.name(kb.add(arith.MinSIOp(t.keys, kb.binop(arith.AddiOp, q0, nq))), "key_end")
        kb.loop(self.zero, key_end, t.block_k, self.key_block)
        kb.loop(self.zero, nq, self.one, self.emit)

    def key_block(self, k2: KB, k0: SSAValue) -> None:
        t, g, rows, mm, nq = self.t, self.g, self.rows, self.mm, self.nq
        bq, bk, f32_t = t.block_q, t.block_k, self.f32_t
        nk = k2.name(k2.add(arith.MinSIOp(bk, k2.binop(arith.SubiOp, t.keys, k0))), "nk")
        # 1. S = Q Kᵀ (fp32, rows of block_k)
        k2.call(A.MatmulOrgShapeOp, [mm, bq, bk, rows["q"], rows["k"], bk])
        k_at = k2.call(A.AtOp, g["k"], k2.binop(arith.AddiOp, self.base["k"], k2.binop(arith.MuliOp, k0, rows["k"])),
                       result=g["k"].type)
        k2.call(A.MatmulOp, [mm, self.q_at, k_at, self.s_ws, nq, nk, t.head_dim], trans_a=0, trans_b=1,
                has_bias=0, atomic=0)
        # 2. online softmax of the block, row by row
        s_in = k2.name(k2.call(A.AllocTensorOp, self.score_q, result=f32_t), "score_in")
        k2.call(A.DataCopyOp, s_in, self.s_ws, k2.binop(arith.MuliOp, nq, bk))
        k2.call(A.EnQueOp, self.score_q, s_in)
        s_ub = k2.name(k2.call(A.DeQueOp, self.score_q, result=f32_t), "scores")
        p_ub = k2.name(k2.call(A.AllocTensorOp, self.prob_q, result=self.l_t), "probs")
        if self.plan.causal:  # rows see different key counts: row by row
            k2.loop(self.zero, nq, self.one, lambda k3, i: self.softmax_row(k3, i, k0, nk, s_ub, p_ub))
            self.update_state(k2)
        else:  # a full block: SoftmaxFlashV2 over all its rows; the last, partial one row by row
            def partial(k3: KB) -> None:
                self.softmax_block(k3, k0, nk, s_ub, p_ub)
                self.update_state(k3)

            full = k2.name(k2.add(arith.CmpiOp(nk, bk, "eq")), "full_block")
            k2.when(full, lambda k3: self.flash_block(k3, k0, s_ub, p_ub), partial)
        k2.barrier()
        k2.call(A.FreeTensorOp, self.score_q, s_ub)
        self.store_probs(k2, p_ub)
        # 4. O_blk = P V; O = O alpha + O_blk
        k2.call(A.MatmulOrgShapeOp, [mm, bq, rows["v"], bk, bk, t.value_pitch])
        v_at = k2.call(A.AtOp, g["v"], k2.binop(arith.AddiOp, self.base["v"], k2.binop(arith.MuliOp, k0, rows["v"])),
                       result=g["v"].type)
        k2.call(A.MatmulOp, [mm, self.p_ws, v_at, self.ob_ws, nq, t.value_dim, nk], trans_a=0, trans_b=0,
                has_bias=0, atomic=0)
        ob_in = k2.name(k2.call(A.AllocTensorOp, self.oblk_q, result=f32_t), "out_block_in")
        k2.call(A.DataCopyOp, ob_in, self.ob_ws, k2.binop(arith.MuliOp, nq, t.value_pitch))
        k2.call(A.EnQueOp, self.oblk_q, ob_in)
        ob = k2.name(k2.call(A.DeQueOp, self.oblk_q, result=f32_t), "out_block")

        def rescale(k3: KB, i: SSAValue) -> None:
            off = k3.binop(arith.MuliOp, i, t.value_pitch)
            o_row = k3.name(k3.call(A.AtOp, self.acc, off, result=f32_t), "o_row")
            a = k3.name(k3.call(A.GetValueOp, self.state[4], self.lane0(k3, i), result=f32), "a")
            k3.call(A.VecScalarOp, o_row, o_row, a, t.value_dim, fn="Muls")
            k3.barrier()
            k3.call(A.VecBinaryOp, o_row, o_row, k3.call(A.AtOp, ob, off, result=f32_t), t.value_dim, fn="Add")

        k2.loop(self.zero, nq, self.one, rescale)
        k2.barrier()
        k2.call(A.FreeTensorOp, self.oblk_q, ob)

    def softmax_block(self, k2: KB, k0: SSAValue, nk: SSAValue, s_ub: SSAValue, p_ub: SSAValue) -> None:
        """Every row sees the block's nk keys: scale, exp and the narrowing to P over the whole
        block at once; per row only the mask, the block max (S - m_new) and the sum. Columns
        from nk to block_k hold stale values the P V product (K = nk) never reads."""
        bk, f32_t = self.t.block_k, self.f32_t
        row_max, _, new_max, block_sum, _ = self.state
        elems = k2.name(k2.binop(arith.MuliOp, self.nq, bk), "block_elems")
        k2.call(A.VecScalarOp, s_ub, s_ub, self.scale_v, elems, fn="Muls")
        k2.barrier()

        def s_row_at(k3: KB, i: SSAValue) -> SSAValue:
            return k3.name(k3.call(A.AtOp, s_ub, k3.binop(arith.MuliOp, i, bk), result=f32_t), "s_row")

        def shift(k3: KB, i: SSAValue) -> None:
            m_old = k3.name(k3.call(A.GetValueOp, row_max, self.lane0(k3, i), result=f32), "m_old")
            self.set_stat(k3, new_max, i, self.shift_row(k3, i, k0, nk, s_row_at(k3, i), m_old))

        def total(k3: KB, i: SSAValue) -> None:
            work = k3.name(k3.call(A.BufGetOp, self.work_buf, result=f32_t), "work")
            k3.call(A.ReduceOp, work, s_row_at(k3, i), work, nk, fn="ReduceSum")
            k3.barrier()
            self.set_stat(k3, block_sum, i, k3.name(k3.call(A.GetValueOp, work, k3.c(0), result=f32), "s"))

        k2.loop(self.zero, self.nq, self.one, shift)
        k2.barrier()
        k2.call(A.VecUnaryOp, s_ub, s_ub, elems, fn="Exp")
        k2.barrier()
        k2.loop(self.zero, self.nq, self.one, total)
        if self.plan.ty == "float":
            k2.call(A.VecScalarOp, p_ub, s_ub, k2.f(0.0), elems, fn="Adds")
        else:
            k2.call(A.CastOp, p_ub, s_ub, elems, round="rint")

    def shift_row(self, k: KB, i: SSAValue, k0: SSAValue, n: SSAValue, s_row: SSAValue, m_old: SSAValue) -> SSAValue:
        """Row i's first n scores: + the mask, then - m_new, m_new = max(m_old, their max); returns m_new."""
        if self.plan.has_mask:
            self.add_mask(k, self.base["m"], k.binop(arith.AddiOp, self.q0, i), k0, n, s_row)
        work = k.name(k.call(A.BufGetOp, self.work_buf, result=self.f32_t), "work")
        k.call(A.ReduceOp, work, s_row, work, n, fn="ReduceMax")
        k.barrier()
        top = k.name(k.call(A.GetValueOp, work, k.c(0), result=f32), "block_max")
        m_new = k.name(k.add(arith.MaximumfOp(m_old, top)), "m_new")
        k.call(A.VecScalarOp, s_row, s_row, k.name(k.add(arith.SubfOp(k.f(0.0), m_new)), "neg_max"), n, fn="Adds")
        return m_new

    def softmax_row(self, k3: KB, i: SSAValue, k0: SSAValue, nk: SSAValue, s_ub: SSAValue, p_ub: SSAValue) -> None:
        """Row i of the block: scale, mask, block max, P = exp(S - m_new) and its sum."""
        bk, f32_t, zero = self.t.block_k, self.f32_t, self.zero
        row_max, _, new_max, block_sum, _ = self.state
        s_row = k3.name(k3.call(A.AtOp, s_ub, k3.binop(arith.MuliOp, i, bk), result=f32_t), "s_row")
        p_row = k3.name(k3.call(A.AtOp, p_ub, k3.binop(arith.MuliOp, i, bk), result=self.l_t), "p_row")
        n = nk
        if self.plan.causal:  # query q0 + i sees keys [0, q0 + i]
            seen = k3.binop(arith.SubiOp, k3.binop(arith.AddiOp, k3.binop(arith.AddiOp, self.q0, i), self.one), k0)
            n = k3.name(k3.add(arith.MaxSIOp(k3.add(arith.MinSIOp(seen, nk)), zero)), "n")
        k3.call(A.DuplicateOp, p_row, k3.f(0.0), bk)
        m_old = k3.name(k3.call(A.GetValueOp, row_max, self.lane0(k3, i), result=f32), "m_old")

        def live(k4: KB) -> None:
            k4.call(A.VecScalarOp, s_row, s_row, self.scale_v, n, fn="Muls")
            k4.barrier()
            m_new = self.shift_row(k4, i, k0, n, s_row, m_old)
            k4.barrier()
            work = k4.name(k4.call(A.BufGetOp, self.work_buf, result=f32_t), "work")
            k4.call(A.VecUnaryOp, s_row, s_row, n, fn="Exp")
            k4.barrier()
            k4.call(A.ReduceOp, work, s_row, work, n, fn="ReduceSum")
            k4.barrier()
            self.set_stat(k4, block_sum, i, k4.name(k4.call(A.GetValueOp, work, k4.c(0), result=f32), "s"))
            self.set_stat(k4, new_max, i, m_new)
            if self.plan.ty == "float":
                k4.call(A.VecScalarOp, p_row, s_row, k4.f(0.0), n, fn="Adds")
            else:
                k4.call(A.CastOp, p_row, s_row, n, round="rint")

        def dead(k4: KB) -> None:  # no visible key in this block
            self.set_stat(k4, block_sum, i, k4.f(0.0))
            self.set_stat(k4, new_max, i, m_old)

        if self.plan.causal:
            k3.when(k3.add(arith.CmpiOp(n, zero, "sgt")), live, dead)
        else:
            live(k3)

    def flash_block(self, k3: KB, k0: SSAValue, s_ub: SSAValue, p_ub: SSAValue) -> None:
        """A block of block_k keys: scale (and mask) the scores, then one SoftmaxFlashV2 over
        its rows: P = e^(S - m_new), m_new, l = l alpha + rowsum and alpha = e^(m - m_new)."""
        t, nq = self.t, self.nq
        row_max, row_sum, new_max, block_sum, alpha = self.state
        elems = k3.name(k3.binop(arith.MuliOp, nq, t.block_k), "block_elems")
        k3.call(A.VecScalarOp, s_ub, s_ub, self.scale_v, elems, fn="Muls")
        k3.barrier()
        if self.plan.has_mask:
            def masked(k4: KB, i: SSAValue) -> None:
                s_row = k4.call(A.AtOp, s_ub, k4.binop(arith.MuliOp, i, t.block_k), result=self.f32_t)
                self.add_mask(k4, self.base["m"], k4.binop(arith.AddiOp, self.q0, i), k0, t.block_k, s_row)

            k3.loop(self.zero, nq, self.one, masked)
        k3.call(A.SoftmaxFlashV2Op, [s_ub, block_sum, new_max, s_ub, alpha, row_sum, row_max, nq, t.block_k],
                update=1)
        k3.barrier()
        k3.call(A.VecScalarOp, row_max, new_max, k3.f(0.0), self.stat_elems, fn="Adds")
        k3.call(A.VecScalarOp, row_sum, block_sum, k3.f(0.0), self.stat_elems, fn="Adds")
        if self.plan.ty == "float":
            k3.call(A.VecScalarOp, p_ub, s_ub, k3.f(0.0), elems, fn="Adds")
        else:
            k3.call(A.CastOp, p_ub, s_ub, elems, round="rint")

    def lane0(self, kb: KB, i: SSAValue) -> SSAValue:
        """Where row i's statistic is read: the first element of its 32-byte block."""
        return kb.binop(arith.MuliOp, i, kb.c(8))

    def set_stat(self, kb: KB, stat: SSAValue, i: SSAValue, value: SSAValue) -> None:
        """Row i's statistic := value, over its whole 32-byte block."""
        kb.call(A.DuplicateOp, kb.call(A.AtOp, stat, self.lane0(kb, i), result=self.f32_t), value, kb.c(8))

    def update_state(self, k2: KB) -> None:
        """3. alpha = exp(m - m_new); l = l alpha + rowsum; m = m_new (all rows at once)."""
        n = self.stat_elems
        row_max, row_sum, new_max, block_sum, alpha = self.state
        k2.call(A.VecBinaryOp, alpha, row_max, new_max, n, fn="Sub")
        k2.barrier()
        k2.call(A.VecUnaryOp, alpha, alpha, n, fn="Exp")
        k2.barrier()
        k2.call(A.VecBinaryOp, row_sum, row_sum, alpha, n, fn="Mul")
        k2.barrier()
        k2.call(A.VecBinaryOp, row_sum, row_sum, block_sum, n, fn="Add")
        k2.call(A.VecScalarOp, row_max, new_max, k2.f(0.0), n, fn="Adds")

    def store_probs(self, k2: KB, p_ub: SSAValue) -> None:
        """P to the workspace, for the cube."""
        nq = self.nq
        k2.barrier()
        k2.call(A.EnQueOp, self.prob_q, p_ub)
        p_out = k2.name(k2.call(A.DeQueOp, self.prob_q, result=self.l_t), "probs_out")
        k2.call(A.DataCopyOp, self.p_ws, p_out, k2.binop(arith.MuliOp, nq, self.t.block_k))
        k2.call(A.FreeTensorOp, self.prob_q, p_out)
        k2.call(A.PipeBarrierOp, pipe="PIPE_ALL")  # P in GM before the cube reads it

    def emit(self, k3: KB, i: SSAValue) -> None:
        """O / l, narrowed, one row at a time."""
        t, g, l_t, eb = self.t, self.g, self.l_t, self.plan.eb
        o_row = k3.name(k3.call(A.AtOp, self.acc, k3.binop(arith.MuliOp, i, t.value_pitch), result=self.f32_t), "o_row")
        inv = k3.name(k3.add(arith.DivfOp(k3.f(1.0), k3.call(A.GetValueOp, self.state[1], self.lane0(k3, i), result=f32))), "inv_sum")
        out = k3.name(k3.call(A.AllocTensorOp, self.out_q, result=l_t), "o_ub")
        if self.plan.ty == "float":
            k3.call(A.VecScalarOp, out, o_row, inv, t.value_dim, fn="Muls")
        else:
            k3.call(A.VecScalarOp, o_row, o_row, inv, t.value_dim, fn="Muls")
            k3.barrier()
            k3.call(A.CastOp, out, o_row, t.value_dim, round="rint")
        k3.barrier()
        k3.call(A.EnQueOp, self.out_q, out)
        y = k3.name(k3.call(A.DeQueOp, self.out_q, result=l_t), "o_out")
        dst = k3.call(A.AtOp, g["o"], k3.binop(arith.AddiOp, self.base["o"], k3.binop(
            arith.MuliOp, k3.binop(arith.AddiOp, self.q0, i), self.rows["o"])), result=g["o"].type)
        copy_tile(k3, k3.aligned(t.value_dim, eb), dst, y, t.value_dim, self.soc, eb)
        k3.call(A.FreeTensorOp, self.out_q, y)

    def add_mask(self, kb: KB, m_base: SSAValue, qi: SSAValue, k0: SSAValue, n: SSAValue, s_row: SSAValue) -> None:
        """s_row[0, n) += the mask row (i1: 0 where true, -1e30 where false)."""
        mask_ty, g = self.plan.mask_ty, self.g
        assert mask_ty is not None
        m_l = A.LocalType(StringAttr(mask_ty))
        mb = A.ctype_bytes(mask_ty)
        src = kb.call(A.AtOp, g["m"], kb.binop(arith.AddiOp, kb.binop(arith.AddiOp, m_base,
                                                                       kb.binop(arith.MuliOp, qi, self.rows["m"])), k0),
                      result=g["m"].type)
        t_in = kb.name(kb.call(A.AllocTensorOp, self.mask_q, result=m_l), "mask_in")
        copy_tile(kb, kb.aligned(n, mb), t_in, src, n, self.soc, mb)
        kb.call(A.EnQueOp, self.mask_q, t_in)
        m_ub = kb.name(kb.call(A.DeQueOp, self.mask_q, result=m_l), "mask_ub")
        mf = kb.name(kb.call(A.BufGetOp, self.maskf_buf, result=self.f32_t), "mask_f32")
        if mask_ty == "int8_t":  # int8 -> half -> float (no direct int8 -> float cast)
            mh = kb.name(kb.call(A.BufGetOp, self.maskh_buf, result=A.LocalType(StringAttr("half"))), "mask_f16")
            kb.call(A.CastOp, mh, m_ub, n, round="none")
            kb.barrier()
            kb.call(A.CastOp, mf, mh, n, round="none")
            kb.barrier()
            kb.call(A.VecScalarOp, mf, mf, kb.f(-1.0), n, fn="Adds")
            kb.barrier()
            kb.call(A.VecScalarOp, mf, mf, kb.f(-MASKED), n, fn="Muls")
        elif mask_ty == "half":
            kb.call(A.CastOp, mf, m_ub, n, round="none")
        else:
            kb.call(A.VecScalarOp, mf, m_ub, kb.f(0.0), n, fn="Adds")
        kb.barrier()
        kb.call(A.FreeTensorOp, self.mask_q, m_ub)
        kb.call(A.VecBinaryOp, s_row, s_row, mf, n, fn="Add")
        kb.barrier()
