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

import numpy as np
from cir.lowering import ascendc as A
from cir.lowering.lower_to_ascendc import ALIGN, KB, Launch, _copy, ctype, new_kernel, register
from cir.lowering.reduce import FLT_MAX, _aligned, _bytes, _decode, _digits, barrier
from cir.soc import Soc
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntAttr, StringAttr, TensorType, f32, i64
from xdsl.ir import Operation, SSAValue

from cir.types import is_bool

MASKED = -1.0e30
BASE_K = 64


def _strides(shape: tuple[int, ...], batch: tuple[int, ...]) -> list[int]:
    """Element strides of `shape`'s leading dims over the broadcast `batch` dims (0: broadcast)."""
    full = (1,) * (len(batch) + 2 - len(shape)) + tuple(shape)
    contiguous = [int(np.prod(full[i + 1:])) for i in range(len(full))]
    return [0 if full[i] == 1 and batch[i] != 1 else contiguous[i] for i in range(len(batch))]


def attention_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    q_t, k_t, v_t = (op.operands[i].type for i in range(3))
    o_t = op.results[0].type
    assert all(isinstance(t, TensorType) for t in (q_t, k_t, v_t, o_t))
    ty = ctype(q_t)  # type: ignore[arg-type]
    if ty not in ("float", "half"):
        raise NotImplementedError(f"{op.name} with {ty}")
    p = op.p  # type: ignore[attr-defined]
    qs, ks, vs = q_t.get_shape(), k_t.get_shape(), v_t.get_shape()  # type: ignore[union-attr]
    # (batch dims, L, S, D, Dv) and, per tensor, (batch strides, row stride)
    if op.name == "cir.flash_attention" and p["input_layout"] == "BSH":
        n = p["head_num"]
        (b, length, h), (_, keys, hk), (_, _, hv) = qs, ks, vs
        d, dv = h // n, hv // n
        batch = (b, n)
        layout = {"q": ([length * h, d], h), "k": ([keys * hk, d], hk), "v": ([keys * hv, dv], hv),
                  "o": ([length * n * dv, dv], n * dv)}
    else:
        batch = tuple(o_t.get_shape()[:-2])  # type: ignore[union-attr]
        length, d, keys, dv = qs[-2], qs[-1], ks[-2], vs[-1]
        layout = {"q": (_strides(qs, batch), d), "k": (_strides(ks, batch), d),
                  "v": (_strides(vs, batch), dv), "o": (_strides(o_t.get_shape(), batch), dv)}  # type: ignore[union-attr]
    scale = p["scale"] if p["scale"] is not None else 1 / math.sqrt(d)
    has_mask = len(op.operands) > 3
    mask_ty = None
    if has_mask:
        m_t = op.operands[3].type
        assert isinstance(m_t, TensorType)
        ms = m_t.get_shape()
        mask_ty = "int8_t" if is_bool(m_t) else ty
        if not ms or ms[-1] != keys:
            raise NotImplementedError(f"{op.name} with a mask broadcast along the keys")
        full = (1,) * (len(batch) + 2 - len(ms)) + tuple(ms)
        m_strides = _strides(ms, batch)
        m_row = 0 if full[-2] == 1 and length != 1 else keys
        layout["m"] = (m_strides, m_row)
    eb = _bytes(ty)
    block_k = min(128, math.ceil(keys / 16) * 16)
    dv_pad = math.ceil(dv / 8) * 8  # fp32 rows of O, 32-byte aligned
    mask_bytes = block_k * (4 + 2 + 2 * (_bytes(mask_ty) if mask_ty else 0))
    def ub_bytes(block_q: int) -> int:
        return (block_q * block_k * (4 + eb)  # S block, P block
                + 2 * block_q * dv_pad * 4  # O accumulator, O block
                + dv_pad * eb + 5 * (block_q + 8) * 4 + block_k * 4 + mask_bytes + 16 * ALIGN)

    fits = [bq for bq in (128, 64, 32, 16) if ub_bytes(bq) <= soc.ub_bytes]
    if not fits:
        raise NotImplementedError(f"{op.name} with value rows of {dv} elements (UB)")
    block_q = next((bq for bq in fits if bq <= math.ceil(length / 16) * 16), fits[-1])
    heads = int(np.prod(batch)) if batch else 1
    q_blocks = math.ceil(length / block_q)
    tasks = heads * q_blocks
    blocks = max(1, min(soc.ai_cores, tasks))
    per = math.ceil(tasks / blocks)
    block_dim = math.ceil(tasks / per)
    ws_block = block_q * block_k * (4 + eb) + block_q * dv_pad * 4  # S, P, O block per core
    dims = list(batch) or [1]
    digit_fields, digit_vals = [], {}
    for t, (strides, _) in layout.items():
        f, v = _digits(list(zip(dims, strides or [0])), t)
        digit_fields += f
        digit_vals |= v
    fields = [("tasks", "int64_t"), ("tasks_per_block", "int64_t"), ("q_blocks", "int64_t"),
              ("length", "int64_t"), ("keys", "int64_t"), ("head_dim", "int64_t"), ("value_dim", "int64_t"),
              ("block_q", "int64_t"), ("block_k", "int64_t"), ("value_pitch", "int64_t"),
              ("ws_block", "int64_t")] + [(f"{t}_row", "int64_t") for t in layout] + [
              ("q_total", "int64_t"), ("k_total", "int64_t"), ("v_total", "int64_t"),
              ("o_total", "int64_t")] + ([("m_total", "int64_t")] if has_mask else []) + digit_fields
    causal = bool(p["causal"])
    what = ("FlashAttention-2: Q*K^T and P*V on the cube (Matmul), online softmax on the vector unit"
            + (", causal" if causal else "") + (", i1 mask" if mask_ty == "int8_t" else ", additive mask" if has_mask else ""))
    args = ["q", "k", "v"] + ["mask"] * has_mask + ["out", "workspace", "tiling"]
    kernel, gm, k = new_kernel(name, args, fields, comment + f"\n({what})")
    t = {f: k.field(f) for f, _ in fields[:11]}
    rows = {x: k.field(f"{x}_row") for x in layout}
    g = {x: k.name(k.call(A.GlobalTensorOp, gm[arg], k.c(0), k.field(f"{x}_total"),
                          result=A.GlobalType(StringAttr(mask_ty if x == "m" else ty))), f"{arg}_gm")
         for x, arg in (("q", "q"), ("k", "k"), ("v", "v"), ("o", "out"), ("m", "mask")) if x in layout}
    f32_t, l_t = A.LocalType(StringAttr("float")), A.LocalType(StringAttr(ty))
    zero, one = k.c(0), k.c(1)
    bq, bk, dvp = t["block_q"], t["block_k"], t["value_pitch"]

    # this core's workspace: S (fp32), P (input type), O block (fp32)
    block = k.call(A.BlockIdxOp, result=i64)
    ws_base = k.name(k.binop(arith.MuliOp, block, t["ws_block"]), "ws_base")
    s_elems = k.name(k.binop(arith.MuliOp, bq, bk), "score_elems")
    o_elems = k.name(k.binop(arith.MuliOp, bq, dvp), "out_elems")
    s_ws = k.name(k.call(A.GlobalTensorOp, gm["workspace"], k.binop(arith.DivSIOp, ws_base, k.c(4)), s_elems,
                         result=A.GlobalType(StringAttr("float"))), "score_ws")
    p_off = k.binop(arith.AddiOp, ws_base, k.binop(arith.MuliOp, s_elems, k.c(4)))
    p_ws = k.name(k.call(A.GlobalTensorOp, gm["workspace"], k.binop(arith.DivSIOp, p_off, k.c(eb)), s_elems,
                         result=A.GlobalType(StringAttr(ty))), "prob_ws")
    ob_off = k.binop(arith.AddiOp, p_off, k.binop(arith.MuliOp, s_elems, k.c(eb)))
    ob_ws = k.name(k.call(A.GlobalTensorOp, gm["workspace"], k.binop(arith.DivSIOp, ob_off, k.c(4)), o_elems,
                          result=A.GlobalType(StringAttr("float"))), "out_block_ws")

    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")

    def que(pos: str, hint: str, nbytes: SSAValue) -> SSAValue:
        q = k.name(k.call(A.QueOp, result=A.QueType(StringAttr(pos), IntAttr(1))), hint)
        k.call(A.InitBufferOp, pipe, q, nbytes, num=1)
        return q

    def buf(hint: str, nbytes: SSAValue) -> SSAValue:
        b = k.name(k.call(A.BufOp, result=A.BufType()), f"{hint}_buf")
        k.call(A.InitBufferOp, pipe, b, nbytes, num=1)
        return b

    score_q = que("VECIN", "score_que", k.binop(arith.MuliOp, s_elems, k.c(4)))
    prob_q = que("VECOUT", "prob_que", k.binop(arith.MuliOp, s_elems, k.c(eb)))
    oblk_q = que("VECIN", "out_block_que", k.binop(arith.MuliOp, o_elems, k.c(4)))
    out_q = que("VECOUT", "out_que", k.binop(arith.MuliOp, dvp, k.c(eb)))
    if has_mask:
        mask_q = que("VECIN", "mask_que", k.binop(arith.MuliOp, bk, k.c(_bytes(mask_ty))))
    row_bytes = k.binop(arith.MuliOp, k.binop(arith.AddiOp, bq, k.c(8)), k.c(4))
    bufs = {nm: buf(nm, row_bytes) for nm in ("row_max", "row_sum", "new_max", "block_sum", "alpha")}
    acc_buf = buf("acc", k.binop(arith.MuliOp, o_elems, k.c(4)))
    work_buf = buf("work", k.binop(arith.MuliOp, bk, k.c(4)))
    if has_mask:
        maskf_buf = buf("mask_f32", k.binop(arith.MuliOp, bk, k.c(4)))
        if mask_ty == "int8_t":
            maskh_buf = buf("mask_f16", k.binop(arith.MuliOp, bk, k.c(2)))

    cube = k.call(A.CubeTilingOp, [one, bq, k.binop(arith.AddiOp, bk, dvp), k.binop(arith.AddiOp, bk, t["head_dim"]),
                                   k.binop(arith.AddiOp, bk, t["head_dim"]), bq, k.binop(arith.AddiOp, bk, dvp),
                                   k.binop(arith.AddiOp, bk, t["head_dim"]), bq, k.c(128), k.c(BASE_K), one, one,
                                   one, one, one, one],
                  result=A.CubeTilingType(),
                  fields="usedCoreNum,M,N,Ka,Kb,singleCoreM,singleCoreN,singleCoreK,baseM,baseN,baseK,"
                         "depthA1,depthB1,stepM,stepN,stepKa,stepKb")
    # one Matmul object for both products: B may be transposed (K) or not (V)
    mm = k.name(k.call(A.MatmulObjOp, pipe, cube, result=A.MatmulType(StringAttr(ty)),
                       a=ty, b=ty + ",trans", c="float", bias="float"), "mm")
    scale_v = k.name(k.f(scale), "scale")
    first = k.name(k.binop(arith.MuliOp, block, t["tasks_per_block"]), "first_task")
    last = k.name(k.add(arith.MinSIOp(k.binop(arith.AddiOp, first, t["tasks_per_block"]), t["tasks"])), "end_task")

    def get(kb: KB, b: SSAValue, hint: str) -> SSAValue:
        return kb.name(kb.call(A.BufGetOp, b, result=f32_t), hint)

    def task(kb: KB, it: SSAValue) -> None:
        head = kb.name(kb.binop(arith.DivSIOp, it, t["q_blocks"]), "head")
        q0 = kb.name(kb.binop(arith.MuliOp, kb.binop(arith.RemSIOp, it, t["q_blocks"]), bq), "q0")
        nq = kb.name(kb.add(arith.MinSIOp(bq, kb.binop(arith.SubiOp, t["length"], q0))), "nq")
        base = {x: kb.name(_decode(kb, head, x, len(dims)), f"{x}_base") for x in layout}
        row_max, row_sum, new_max, block_sum, alpha = (get(kb, bufs[nm], nm) for nm in bufs)
        acc = get(kb, acc_buf, "acc")
        kb.call(A.DuplicateOp, row_max, kb.f(-FLT_MAX), nq)
        kb.call(A.DuplicateOp, row_sum, kb.f(0.0), nq)
        kb.call(A.DuplicateOp, acc, kb.f(0.0), kb.binop(arith.MuliOp, nq, dvp))
        barrier(kb)
        q_at = kb.call(A.AtOp, g["q"], kb.binop(arith.AddiOp, base["q"], kb.binop(arith.MuliOp, q0, rows["q"])), result=g["q"].type)
        key_end = t["keys"]
        if causal:  # keys after the block's last query are masked for every row
            key_end = kb.name(kb.add(arith.MinSIOp(t["keys"], kb.binop(arith.AddiOp, q0, nq))), "key_end")

        def key_block(k2: KB, k0: SSAValue) -> None:
            nk = k2.name(k2.add(arith.MinSIOp(bk, k2.binop(arith.SubiOp, t["keys"], k0))), "nk")
            # 1. S = Q Kᵀ (fp32, rows of block_k)
            k2.call(A.MatmulOrgShapeOp, [mm, bq, bk, rows["q"], rows["k"], bk])
            k_at = k2.call(A.AtOp, g["k"], k2.binop(arith.AddiOp, base["k"], k2.binop(arith.MuliOp, k0, rows["k"])),
                           result=g["k"].type)
            k2.call(A.MatmulOp, [mm, q_at, k_at, s_ws, nq, nk, t["head_dim"]], trans_a=0, trans_b=1, has_bias=0,
                    atomic=0)
            # 2. online softmax of the block, row by row
            s_in = k2.name(k2.call(A.AllocTensorOp, score_q, result=f32_t), "score_in")
            k2.call(A.DataCopyOp, s_in, s_ws, k2.binop(arith.MuliOp, nq, bk))
            k2.call(A.EnQueOp, score_q, s_in)
            s_ub = k2.name(k2.call(A.DeQueOp, score_q, result=f32_t), "scores")
            p_ub = k2.name(k2.call(A.AllocTensorOp, prob_q, result=l_t), "probs")

            def row(k3: KB, i: SSAValue) -> None:
                s_row = k3.name(k3.call(A.AtOp, s_ub, k3.binop(arith.MuliOp, i, bk), result=f32_t), "s_row")
                p_row = k3.name(k3.call(A.AtOp, p_ub, k3.binop(arith.MuliOp, i, bk), result=l_t), "p_row")
                n = nk
                if causal:  # query q0 + i sees keys [0, q0 + i]
                    seen = k3.binop(arith.SubiOp, k3.binop(arith.AddiOp, k3.binop(arith.AddiOp, q0, i), one), k0)
                    n = k3.name(k3.add(arith.MaxSIOp(k3.add(arith.MinSIOp(seen, nk)), zero)), "n")
                k3.call(A.DuplicateOp, p_row, k3.f(0.0), bk)
                m_old = k3.name(k3.call(A.GetValueOp, row_max, i, result=f32), "m_old")

                def live(k4: KB) -> None:
                    k4.call(A.VecScalarOp, s_row, s_row, scale_v, n, fn="Muls")
                    barrier(k4)
                    if has_mask:
                        add_mask(k4, base["m"], k4.binop(arith.AddiOp, q0, i), k0, n, s_row)
                    work = k4.name(k4.call(A.BufGetOp, work_buf, result=f32_t), "work")
                    k4.call(A.ReduceOp, work, s_row, work, n, fn="ReduceMax")
                    barrier(k4)
                    top = k4.name(k4.call(A.GetValueOp, work, k4.c(0), result=f32), "block_max")
                    m_new = k4.name(k4.add(arith.MaximumfOp(m_old, top)), "m_new")
                    k4.call(A.VecScalarOp, s_row, s_row, k4.name(k4.add(arith.SubfOp(k4.f(0.0), m_new)), "neg_max"),
                            n, fn="Adds")
                    barrier(k4)
                    k4.call(A.VecUnaryOp, s_row, s_row, n, fn="Exp")
                    barrier(k4)
                    k4.call(A.ReduceOp, work, s_row, work, n, fn="ReduceSum")
                    barrier(k4)
                    k4.call(A.SetValueOp, block_sum, i, k4.name(k4.call(A.GetValueOp, work, k4.c(0), result=f32), "s"))
                    k4.call(A.SetValueOp, new_max, i, m_new)
                    if ty == "float":
                        k4.call(A.VecScalarOp, p_row, s_row, k4.f(0.0), n, fn="Adds")
                    else:
                        k4.call(A.CastOp, p_row, s_row, n, round="rint")

                def dead(k4: KB) -> None:  # no visible key in this block
                    k4.call(A.SetValueOp, block_sum, i, k4.f(0.0))
                    k4.call(A.SetValueOp, new_max, i, m_old)

                if causal:
                    k3.when(k3.add(arith.CmpiOp(n, zero, "sgt")), live, dead)
                else:
                    live(k3)

            k2.loop(zero, nq, one, row)
            barrier(k2)
            k2.call(A.FreeTensorOp, score_q, s_ub)
            # 3. alpha = exp(m - m_new); l = l alpha + rowsum; m = m_new (all rows at once)
            k2.call(A.VecBinaryOp, alpha, row_max, new_max, nq, fn="Sub")
            barrier(k2)
            k2.call(A.VecUnaryOp, alpha, alpha, nq, fn="Exp")
            barrier(k2)
            k2.call(A.VecBinaryOp, row_sum, row_sum, alpha, nq, fn="Mul")
            barrier(k2)
            k2.call(A.VecBinaryOp, row_sum, row_sum, block_sum, nq, fn="Add")
            k2.call(A.VecScalarOp, row_max, new_max, k2.f(0.0), nq, fn="Adds")
            barrier(k2)
            k2.call(A.EnQueOp, prob_q, p_ub)
            p_out = k2.name(k2.call(A.DeQueOp, prob_q, result=l_t), "probs_out")
            k2.call(A.DataCopyOp, p_ws, p_out, k2.binop(arith.MuliOp, nq, bk))
            k2.call(A.FreeTensorOp, prob_q, p_out)
            k2.call(A.PipeBarrierOp, pipe="PIPE_ALL")  # P in GM before the cube reads it
            # 4. O_blk = P V; O = O alpha + O_blk
            k2.call(A.MatmulOrgShapeOp, [mm, bq, rows["v"], bk, bk, dvp])
            v_at = k2.call(A.AtOp, g["v"], k2.binop(arith.AddiOp, base["v"], k2.binop(arith.MuliOp, k0, rows["v"])),
                           result=g["v"].type)
            k2.call(A.MatmulOp, [mm, p_ws, v_at, ob_ws, nq, t["value_dim"], nk], trans_a=0, trans_b=0, has_bias=0,
                    atomic=0)
            ob_in = k2.name(k2.call(A.AllocTensorOp, oblk_q, result=f32_t), "out_block_in")
            k2.call(A.DataCopyOp, ob_in, ob_ws, k2.binop(arith.MuliOp, nq, dvp))
            k2.call(A.EnQueOp, oblk_q, ob_in)
            ob = k2.name(k2.call(A.DeQueOp, oblk_q, result=f32_t), "out_block")

            def rescale(k3: KB, i: SSAValue) -> None:
                off = k3.binop(arith.MuliOp, i, dvp)
                o_row = k3.name(k3.call(A.AtOp, acc, off, result=f32_t), "o_row")
                a = k3.name(k3.call(A.GetValueOp, alpha, i, result=f32), "a")
                k3.call(A.VecScalarOp, o_row, o_row, a, t["value_dim"], fn="Muls")
                barrier(k3)
                k3.call(A.VecBinaryOp, o_row, o_row, k3.call(A.AtOp, ob, off, result=f32_t), t["value_dim"], fn="Add")

            k2.loop(zero, nq, one, rescale)
            barrier(k2)
            k2.call(A.FreeTensorOp, oblk_q, ob)

        kb.loop(zero, key_end, bk, key_block)

        def emit(k3: KB, i: SSAValue) -> None:  # O / l, narrowed, one row at a time
            o_row = k3.name(k3.call(A.AtOp, acc, k3.binop(arith.MuliOp, i, dvp), result=f32_t), "o_row")
            inv = k3.name(k3.add(arith.DivfOp(k3.f(1.0), k3.call(A.GetValueOp, row_sum, i, result=f32))), "inv_sum")
            out = k3.name(k3.call(A.AllocTensorOp, out_q, result=l_t), "o_ub")
            if ty == "float":
                k3.call(A.VecScalarOp, out, o_row, inv, t["value_dim"], fn="Muls")
            else:
                k3.call(A.VecScalarOp, o_row, o_row, inv, t["value_dim"], fn="Muls")
                barrier(k3)
                k3.call(A.CastOp, out, o_row, t["value_dim"], round="rint")
            barrier(k3)
            k3.call(A.EnQueOp, out_q, out)
            y = k3.name(k3.call(A.DeQueOp, out_q, result=l_t), "o_out")
            dst = k3.call(A.AtOp, g["o"], k3.binop(arith.AddiOp, base["o"], k3.binop(
                arith.MuliOp, k3.binop(arith.AddiOp, q0, i), rows["o"])), result=g["o"].type)
            _copy(k3, _aligned(k3, t["value_dim"], eb), dst, y, t["value_dim"], soc, eb)
            k3.call(A.FreeTensorOp, out_q, y)

        kb.loop(zero, nq, one, emit)

    def add_mask(kb: KB, m_base: SSAValue, qi: SSAValue, k0: SSAValue, n: SSAValue, s_row: SSAValue) -> None:
        """s_row[0, n) += the mask row (i1: 0 where true, -1e30 where false)."""
        m_l = A.LocalType(StringAttr(mask_ty))
        mb = _bytes(mask_ty)
        src = kb.call(A.AtOp, g["m"], kb.binop(arith.AddiOp, kb.binop(arith.AddiOp, m_base,
                                                                       kb.binop(arith.MuliOp, qi, rows["m"])), k0),
                      result=g["m"].type)
        t_in = kb.name(kb.call(A.AllocTensorOp, mask_q, result=m_l), "mask_in")
        _copy(kb, _aligned(kb, n, mb), t_in, src, n, soc, mb)
        kb.call(A.EnQueOp, mask_q, t_in)
        m_ub = kb.name(kb.call(A.DeQueOp, mask_q, result=m_l), "mask_ub")
        mf = kb.name(kb.call(A.BufGetOp, maskf_buf, result=f32_t), "mask_f32")
        if mask_ty == "int8_t":  # int8 -> half -> float (no direct int8 -> float cast)
            mh = kb.name(kb.call(A.BufGetOp, maskh_buf, result=A.LocalType(StringAttr("half"))), "mask_f16")
            kb.call(A.CastOp, mh, m_ub, n, round="none")
            barrier(kb)
            kb.call(A.CastOp, mf, mh, n, round="none")
            barrier(kb)
            kb.call(A.VecScalarOp, mf, mf, kb.f(-1.0), n, fn="Adds")
            barrier(kb)
            kb.call(A.VecScalarOp, mf, mf, kb.f(-MASKED), n, fn="Muls")
        elif mask_ty == "half":
            kb.call(A.CastOp, mf, m_ub, n, round="none")
        else:
            kb.call(A.VecScalarOp, mf, m_ub, kb.f(0.0), n, fn="Adds")
        barrier(kb)
        kb.call(A.FreeTensorOp, mask_q, m_ub)
        kb.call(A.VecBinaryOp, s_row, s_row, mf, n, fn="Add")
        barrier(kb)

    k.loop(first, last, one, task)
    totals = {"q_total": int(np.prod(qs)), "k_total": int(np.prod(ks)), "v_total": int(np.prod(vs)),
              "o_total": int(np.prod(o_t.get_shape()))}  # type: ignore[union-attr]
    if has_mask:
        totals["m_total"] = int(np.prod(op.operands[3].type.get_shape()))  # type: ignore[attr-defined]
    tiling = {"tasks": tasks, "tasks_per_block": per, "q_blocks": q_blocks, "length": length, "keys": keys,
              "head_dim": d, "value_dim": dv, "block_q": block_q, "block_k": block_k, "value_pitch": dv_pad,
              "ws_block": ws_block} | {f"{x}_row": r for x, (_, r) in layout.items()} | totals | digit_vals
    return Launch(kernel, block_dim, tiling, workspace=block_dim * ws_block)


register(("cir.attention", "cir.flash_attention"), attention_kernel)
