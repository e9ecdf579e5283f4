"""Cube kernels: ``cir.matmul``, ``cir.linear``, ``cir.linear_act``, ``cir.conv2d`` and
``cir.conv_gn_silu``, all through the Matmul high-level API (``matmul::Matmul`` over GM, ND).

GEMM kernels (matmul, linear, linear_act). The output is cut into work units: batch x M-tiles
x N-tiles (``tile_m`` x ``tile_n``, halving the larger side until there are about as many units
as AI cores, never below 64). Block ``b`` takes units ``b, b + blockDim, ...``; a unit is one
``IterateAll`` with ``SetTail(m, n, K)`` on views of A, B and C. Batch dims broadcast: the
output batch index is split over up to four dims and each operand's batch offset uses its own
strides (0 on a broadcast dim), all tiling fields. ``cir.linear`` multiplies by the (out, in)
weight transposed (``MatmulType<..., true>`` + ``SetTensorB(w, true)``) and adds its bias with
``SetBias``; a ``cir.matmul`` with ``transpose_a`` / ``transpose_b`` reads that operand the
same way. ``cir.linear_act`` (and ``cir.conv2d_act``, below) then run the `Epilogue` (a
residual add, the activation's elementwise recipe) over the C tile in UB, in chunks that fit,
strided DataCopyPad in and out.

Convolution as implicit GEMM, per image and group: ``y[o, p] = W[o, (c, ki, kj)] @ cols[(c, ki,
kj), p]`` where W is the OIHW weight as it is (Cout/g x Cin/g*kh*kw, row-major) and C is the
NCHW output (ldc = OH*OW). A unit is ``tile_rows`` output rows of one image. For each group the
block (1) copies the input band the tile needs into its GM workspace, zero-padded (DataCopyPad
with left/right padding, zero rows for the top/bottom padding), then (2) builds the im2col tile
``cols`` (K x tile_rows*OW, row-major) in its workspace: for stride 1 one strided DataCopyPad per
(c, ki, kj) moves all rows of the tile through UB; for stride > 1 a DataCopyPad with one element
per block and a GM gap of (stride - 1) elements gathers each output row; then (3) one
``IterateAll`` with ``SetOrgShape(M, N_tile, K, K, OH*OW)``. A bias is written into C first
(Duplicate + DataCopyPad per channel) and the product accumulated on top (``IterateAll(c, 1)``).
1x1 stride-1 unpadded convs multiply the input directly (no im2col, no workspace). fp16 operands
accumulate in fp32 (the cube unit's L0C; the CPU layer's sgemm). Every shape number is a tiling
field, so convs of any shape share one kernel per (dtype, bias, direct) variant.

Arch 200 (Ascend310P3) has no DataCopyPad: the band and the im2col tile are built with DataCopy
of whole 32-byte blocks, each write starting where its part starts and the writes issued in
increasing GM order, so what one spills past its part is rewritten by the next (the workspace
keeps slack after the band and the tile); input rows whose rounded-up read would pass the end of
x take the aligned part plus the tail element by element; stride > 1 rows are compacted in UB
element by element; the bias rows are written as the aligned part plus an element-wise tail.

``cir.conv_transpose2d`` is the stride-1 convolution of the kernel flipped in h and w over the
zero-stuffed input (element (i, j) at (i * stride_h, j * stride_w)) padded by dilation * (k - 1)
- pads (+ output_padding at the bottom / right): the band rows are built in UB (Duplicate 0, the
input elements one by one) and the im2col reads the taps mirrored (tiling field ``flip``). The
IOHW weight gives, per input channel c, an (out/g x kh*kw) row-major block, so the product is one
``IterateAll`` per input channel with K = kh*kw, accumulated on top of the bias (or zeros).

``cir.conv_gn_silu`` is two launches: the conv writing result 1 (conv_out), then the GroupNorm
(+ SiLU) kernel of ``norm_launch`` reading it and writing result 0.

Not implemented (NotImplementedError, listed by the pass): integer operands, more than four
batch dims, padding wider than 32 bytes per side on arch 220 (DataCopyPad's limit), rows too wide
for UB, and transposed convolutions whose padding exceeds dilation * (kernel - 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cir.lowering import ascendc as A
from cir.lowering.builder import (
    ALIGN,
    KB,
    PHASE_PATTERNS,
    REPEAT,
    Fields,
    IntOps,
    Launch,
    Tiling,
    ctype,
    emit_step,
    kernel,
    new_kernel,
    props,
    round_up,
    tensor_type,
)
from cir.lowering.kernels.depthwise import depthwise_launch, depthwise_plan
from cir.lowering.kernels.elementwise import activation_recipe, recipe_temps
from cir.lowering.kernels.norm import norm_launch
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntAttr, StringAttr, TensorType, f32, i64
from xdsl.ir import Operation, SSAValue

from cir.soc import Soc
from cir.types import dtype_of, numel

DTYPES = ("float", "half")
MIN_TILE = 64
MOVE_COST = 25  # a conv's staging moves, per element, in multiply-adds (see _conv_tiles)
MAX_BATCH_DIMS = 4
# Matmul base block (L0 tile) sizes: hardware choices, the same for every shape
BASE_M, BASE_N, BASE_K = 128, 128, 64


def _ty(op: Operation, t: Any) -> tuple[str, int]:
    assert isinstance(t, TensorType)
    ty = ctype(t)
    if ty not in DTYPES:
        raise NotImplementedError(f"{op.name} with {dtype_of(t).name} operands")
    return ty, dtype_of(t).itemsize


def _matmul_object(k: KB, ty: str, pipe: SSAValue, blocks: SSAValue, shape: dict[str, SSAValue],
                   trans_b: bool, trans_a: bool = False) -> SSAValue:
    """TCubeTiling filled from the tiling struct (shape) and the base block sizes, and the
    Matmul object registered with it."""
    c = k.c
    fields = {"usedCoreNum": blocks, **shape,
              "baseM": c(BASE_M), "baseN": c(BASE_N), "baseK": c(BASE_K), "depthA1": c(1),
              "depthB1": c(1), "stepM": c(1), "stepN": c(1), "stepKa": c(1), "stepKb": c(1)}
    cube = k.call(A.CubeTilingOp, list(fields.values()), result=A.CubeTilingType(),
                  fields=",".join(fields))
    return k.name(k.call(A.MatmulObjOp, pipe, cube, result=A.MatmulType(StringAttr(ty)),
                         a=ty + (",trans" if trans_a else ""), b=ty + (",trans" if trans_b else ""), c=ty,
                         bias=ty), "mm")


def _gm(k: KB, ptr: SSAValue, size: SSAValue, ty: str, hint: str) -> SSAValue:
    return k.name(k.call(A.GlobalTensorOp, ptr, k.c(0), size, result=A.GlobalType(StringAttr(ty))), hint)


def _at(k: KB, g: SSAValue, off: SSAValue) -> SSAValue:
    return k.call(A.AtOp, g, off, result=g.type)


def _pad2d(k: KB, dst: SSAValue, src: SSAValue, count: SSAValue, length: SSAValue,
           src_stride: SSAValue, dst_stride: SSAValue, left: SSAValue | None = None,
           right: SSAValue | None = None) -> None:
    zero = k.c(0)
    k.call(A.DataCopyPad2dOp, dst, src, count, length, src_stride, dst_stride, left or zero, right or zero)


def _que(k: KB, pipe: SSAValue, pos: str, bytes_: SSAValue, hint: str, depth: int = 2) -> SSAValue:
    q = k.name(k.call(A.QueOp, result=A.QueType(StringAttr(pos), IntAttr(depth))), hint)
    k.call(A.InitBufferOp, pipe, q, bytes_, num=depth)
    return q


def _via_ub(k: KB, que: SSAValue, l_t: Any, copy_in: Callable[[KB, SSAValue], None],
            copy_out: Callable[[KB, SSAValue], None], hint: str = "stage") -> None:
    """GM -> UB -> GM through a queue (the queue orders the two moves)."""
    t = k.name(k.call(A.AllocTensorOp, que, result=l_t), hint)
    copy_in(k, t)
    k.call(A.EnQueOp, que, t)
    u = k.name(k.call(A.DeQueOp, que, result=l_t), hint + "_ub")
    copy_out(k, u)
    k.call(A.FreeTensorOp, que, u)


# --- GEMM: matmul, linear, linear_act ---------------------------------------------------------


def _gemm_tiles(batch: int, m: int, n: int, soc: Soc, max_n: int | None = None) -> tuple[int, int]:
    tile_m, tile_n = m, n if max_n is None else min(n, max_n)
    while batch * math.ceil(m / tile_m) * math.ceil(n / tile_n) < soc.ai_cores:
        if tile_m >= tile_n and tile_m >= 2 * MIN_TILE:
            tile_m = round_up(math.ceil(tile_m / 2), 16)
        elif tile_n >= 2 * MIN_TILE:
            tile_n = round_up(math.ceil(tile_n / 2), 16)
        else:
            break
    return tile_m, tile_n


@dataclass
class GemmTiling(Tiling):
    """The GEMM struct; `extra`: batched matmul's ``batch*``, ``a_stride*``, ``b_stride*`` and
    ``a_size, b_size, c_size``, and ``epi_rows`` with an activation epilogue."""

    m: int
    n: int
    k: int
    tile_m: int
    tile_n: int
    m_tiles: int
    n_tiles: int
    units: int


def _gemm_shape(op: Operation) -> tuple[int, int, int, dict[str, int]]:
    """(m, k, n, the batch tiling fields of a matmul: batch dims, A / B strides (0: broadcast)
    and sizes; none for linear)."""
    sa, sb = (tensor_type(v).get_shape() for v in op.operands[:2])
    out_shape = tensor_type(op.results[0]).get_shape()
    if op.name != "cir.matmul":
        return numel(sa[:-1]), sa[-1], sb[0], {}
    p = props(op)
    m, k_ = (sa[-1], sa[-2]) if p["transpose_a"] else (sa[-2], sa[-1])
    n = sb[-2] if p["transpose_b"] else sb[-1]
    bshape = list(out_shape[:-2])
    if len(bshape) > MAX_BATCH_DIMS:
        raise NotImplementedError(f"cir.matmul with more than {MAX_BATCH_DIMS} batch dims")

    def strides(shape: tuple[int, ...], mat: int) -> list[int]:
        full = [1] * (len(bshape) - len(shape[:-2])) + list(shape[:-2])
        out, acc = [], mat
        for d, full_d in zip(reversed(full), reversed(bshape)):
            out.append(acc if d == full_d and d != 1 else 0)
            acc *= d
        return [0] * (MAX_BATCH_DIMS - len(bshape)) + out[::-1]

    dims = [1] * (MAX_BATCH_DIMS - len(bshape)) + bshape
    extra = {f"batch{i}": d for i, d in enumerate(dims)}
    extra |= {f"a_stride{i}": s for i, s in enumerate(strides(sa, m * k_))}
    extra |= {f"b_stride{i}": s for i, s in enumerate(strides(sb, k_ * n))}
    return m, k_, n, extra | {"a_size": numel(sa), "b_size": numel(sb), "c_size": numel(out_shape)}


@kernel("cir.matmul", "cir.linear", "cir.linear_act")
def gemm_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    ty, es = _ty(op, op.operands[0].type)
    linear = op.name != "cir.matmul"
    act = props(op)["activation"] if op.name == "cir.linear_act" else "none"
    # B is read transposed by linear (its (out, in) weight) and by a matmul that says so, A only by such a matmul
    trans_a = not linear and props(op)["transpose_a"]
    trans_b = linear or props(op)["transpose_b"]
    has_bias = linear and len(op.operands) > 2
    m, k_, n, batch_fields = _gemm_shape(op)
    batch = numel([d for f, d in batch_fields.items() if f.startswith("batch")])
    epilogue = Epilogue.of(act)
    tile_m, tile_n = _gemm_tiles(batch, m, n, soc, 2048 if epilogue else None)
    m_tiles, n_tiles = math.ceil(m / tile_m), math.ceil(n / tile_n)
    units = batch * m_tiles * n_tiles
    block_dim = min(soc.ai_cores, units)
    row_ub = round_up(tile_n * es, ALIGN)  # one C row in UB
    epi_rows = max(1, min(tile_m, (soc.ub_bytes // epilogue.buffers) // row_ub)) if epilogue else 1
    epi = {"epi_rows": epi_rows, "epi_bytes": epi_rows * row_ub} if epilogue else {}
    tiling = GemmTiling(m=m, n=n, k=k_, tile_m=tile_m, tile_n=tile_n, m_tiles=m_tiles, n_tiles=n_tiles, units=units,
                        extra=batch_fields | epi)

    args = ["a", "b"] + ["bias"] * has_bias + ["c", "workspace", "tiling"]
    what = {"cir.matmul": "batched A @ B", "cir.linear": "x @ W^T + bias",
            "cir.linear_act": f"{act}(x @ W^T + bias)"}[op.name]
    kernel_op, gm, k = new_kernel(name, args, list(tiling.values()),
                                  comment + f"\n({what}: Matmul API, one IterateAll per output tile)")
    t = k.fields(list(tiling.values()))
    o = IntOps(k)
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    blocks = k.name(k.call(A.BlockNumOp, result=i64), "blocks")
    cube_shape = {"M": t["m"], "N": t["n"], "Ka": t["k"], "Kb": t["k"], "singleCoreM": t["tile_m"],
                  "singleCoreN": t["tile_n"], "singleCoreK": t["k"], "isBias": k.c(int(has_bias))}
    mm = _matmul_object(k, ty, pipe, blocks, cube_shape, trans_b=trans_b, trans_a=trans_a)
    if linear:
        a_g = _gm(k, gm["a"], o.mul(t["m"], t["k"]), ty, "a_gm")
        b_g = _gm(k, gm["b"], o.mul(t["n"], t["k"]), ty, "b_gm")
        c_g = _gm(k, gm["c"], o.mul(t["m"], t["n"]), ty, "c_gm")
        bias_g = _gm(k, gm["bias"], t["n"], ty, "bias_gm") if has_bias else None
    else:
        a_g = _gm(k, gm["a"], t["a_size"], ty, "a_gm")
        b_g = _gm(k, gm["b"], t["b_size"], ty, "b_gm")
        c_g = _gm(k, gm["c"], t["c_size"], ty, "c_gm")
        bias_g = None
    l_t = A.LocalType(StringAttr(ty))
    # (epi_bytes is a tiling field: the tile width depends on the core count)
    epi_ques = epilogue.setup(k, pipe, t["epi_bytes"]) if epilogue else {}
    block = k.call(A.BlockIdxOp, result=i64)
    tiles = o.mul(t["m_tiles"], t["n_tiles"], "tiles_per_matrix")

    def unit(kb: KB, u: SSAValue) -> None:
        q = IntOps(kb)
        rest = q.rem(u, tiles, "tile")
        m0 = q.mul(q.div(rest, t["n_tiles"]), t["tile_m"], "m0")
        n0 = q.mul(q.rem(rest, t["n_tiles"]), t["tile_n"], "n0")
        rows = q.min(t["tile_m"], q.sub(t["m"], m0), "rows")
        cols = q.min(t["tile_n"], q.sub(t["n"], n0), "cols")
        a_off, b_off, c_off = _gemm_offsets(kb, t, u, tiles, m0, n0, linear, trans_a, trans_b)
        c_tile = _at(kb, c_g, c_off)
        operands = [mm, _at(kb, a_g, a_off), _at(kb, b_g, b_off)]
        if bias_g is not None:
            operands.append(_at(kb, bias_g, n0))
        operands += [c_tile, rows, cols, t["k"]]
        kb.call(A.MatmulOp, [*operands], trans_a=int(trans_a), trans_b=int(trans_b), has_bias=int(has_bias), atomic=0)
        if epilogue:
            kb.call(A.PipeBarrierOp, pipe="PIPE_ALL")
            epilogue.emit(kb, epi_ques, c_g, c_off, rows, cols, t["n"], t["epi_rows"], None, l_t, es)

    k.loop(block, t["units"], blocks, unit, iv_name="unit")
    return Launch(kernel_op, block_dim, tiling.values())


def _gemm_offsets(kb: KB, t: Fields, u: SSAValue, tiles: SSAValue, m0: SSAValue, n0: SSAValue,
                  linear: bool, trans_a: bool = False, trans_b: bool = False) -> tuple[SSAValue, SSAValue, SSAValue]:
    """The GM offsets of work unit u's A rows, B columns and C tile (a transposed A: its
    columns; a transposed B: its rows)."""
    q = IntOps(kb)
    if linear:
        a_off = q.mul(m0, t["k"], "a_off")
        b_off = q.mul(n0, t["k"], "b_off")
        return a_off, b_off, q.add(q.mul(m0, t["n"]), n0, "c_off")
    bi = q.div(u, tiles, "batch")
    a_off = m0 if trans_a else q.mul(m0, t["k"])
    b_off = q.mul(n0, t["k"]) if trans_b else n0
    idx = bi
    for i in reversed(range(MAX_BATCH_DIMS)):
        d = t[f"batch{i}"]
        pos = q.rem(idx, d) if i else idx
        a_off = q.add(a_off, q.mul(pos, t[f"a_stride{i}"]))
        b_off = q.add(b_off, q.mul(pos, t[f"b_stride{i}"]))
        if i:
            idx = q.div(idx, d)
    kb.name(a_off, "a_off")
    kb.name(b_off, "b_off")
    return a_off, b_off, q.add(q.mul(bi, q.mul(t["m"], t["n"])), q.add(q.mul(m0, t["n"]), n0), "c_off")


@dataclass
class Epilogue:
    """An elementwise epilogue over a C tile already in GM, in place: `steps` (recipe steps over
    the UB tiles x0 -> y, temporaries t*, the residual r) run on chunks of `rows` rows x `cols`
    columns (None: whole rows); queues and temporaries are set up by `setup`."""

    steps: list
    temps: list[str]
    residual: bool

    @staticmethod
    def of(activation: str, residual: bool = False) -> Epilogue | None:
        """act(C [+ r]) with the elementwise recipe of the activation; None when there is nothing to do."""
        recipe = activation_recipe(activation)
        if residual:
            recipe = [["Add", "x0" if recipe else "y", "x0", "r"], *recipe]
        return Epilogue(recipe, recipe_temps(recipe), residual) if recipe else None

    @property
    def buffers(self) -> int:
        """UB buffers of one chunk's size it takes: in and out double-buffered (the residual's
        too), one a temporary."""
        return 4 + 2 * self.residual + len(self.temps)

    def setup(self, k: KB, pipe: SSAValue, chunk_bytes: SSAValue) -> dict[str, SSAValue]:
        ques = {"in": _que(k, pipe, "VECIN", chunk_bytes, "in_que"),
                "out": _que(k, pipe, "VECOUT", chunk_bytes, "out_que")}
        if self.residual:
            ques["r"] = _que(k, pipe, "VECIN", chunk_bytes, "r_que")
        for tmp in self.temps:
            ques[tmp] = k.name(k.call(A.BufOp, result=A.BufType()), f"{tmp}_buf")
            k.call(A.InitBufferOp, pipe, ques[tmp], chunk_bytes, num=1)
        return ques

    def emit(self, kb: KB, ques: dict[str, SSAValue], c_g: SSAValue, c_off: SSAValue, rows: SSAValue,
             cols: SSAValue, ld: SSAValue, chunk_rows: SSAValue, chunk_cols: SSAValue | None, l_t: Any, es: int,
             r_g: SSAValue | None = None) -> None:
        """The C tile (rows x cols at c_off, row stride ld) through UB; rows padded to 32 bytes there."""
        per_block = kb.c(ALIGN // es)
        zero = kb.c(0)

        def chunk(k2: KB, r0: SSAValue, c0: SSAValue, width: SSAValue) -> None:
            p = IntOps(k2)
            n_rows = p.min(chunk_rows, p.sub(rows, r0), "n_rows")
            row_ub = p.mul(p.div(p.add(width, k2.c(ALIGN // es - 1)), per_block), per_block, "row_ub")
            count = p.mul(n_rows, row_ub, "count")
            gap = p.mul(p.sub(ld, width), k2.c(es), "row_gap_bytes")
            off = p.add(c_off, p.add(p.mul(r0, ld), c0), "chunk_off")
            src = _at(k2, c_g, off)
            x = k2.name(k2.call(A.AllocTensorOp, ques["in"], result=l_t), "x_in")
            _pad2d(k2, x, src, n_rows, width, gap, zero)
            k2.call(A.EnQueOp, ques["in"], x)
            local = {"x0": k2.name(k2.call(A.DeQueOp, ques["in"], result=l_t), "x_ub")}
            if r_g is not None:
                r = k2.name(k2.call(A.AllocTensorOp, ques["r"], result=l_t), "r_in")
                _pad2d(k2, r, _at(k2, r_g, off), n_rows, width, gap, zero)
                k2.call(A.EnQueOp, ques["r"], r)
                local["r"] = k2.name(k2.call(A.DeQueOp, ques["r"], result=l_t), "r_ub")
            local["y"] = k2.name(k2.call(A.AllocTensorOp, ques["out"], result=l_t), "y_ub")
            for tmp in self.temps:
                local[tmp] = k2.name(k2.call(A.BufGetOp, ques[tmp], result=l_t), tmp)
            for step in self.steps:
                emit_step(k2, step, local, {}, count)
            k2.call(A.EnQueOp, ques["out"], local["y"])
            k2.call(A.FreeTensorOp, ques["in"], local["x0"])
            if r_g is not None:
                k2.call(A.FreeTensorOp, ques["r"], local["r"])
            y = k2.name(k2.call(A.DeQueOp, ques["out"], result=l_t), "y_out")
            _pad2d(k2, src, y, n_rows, width, zero, gap)
            k2.call(A.FreeTensorOp, ques["out"], y)

        if chunk_cols is None:
            kb.loop(zero, rows, chunk_rows, lambda k2, r0: chunk(k2, r0, zero, cols), iv_name="r0")
            return

        def col_chunk(k2: KB, c0: SSAValue) -> None:
            p = IntOps(k2)
            width = p.min(chunk_cols, p.sub(cols, c0), "width")
            k2.loop(zero, rows, chunk_rows, lambda k3, r0: chunk(k3, r0, c0, width), iv_name="r0")

        kb.loop(zero, cols, chunk_cols, col_chunk, iv_name="c0")


# --- convolution: implicit GEMM ---------------------------------------------------------------


def _conv_plan(op: Operation, soc: Soc, epilogue: Epilogue | None = None) -> dict[str, Any]:
    p = props(op)
    x_t, w_t = tensor_type(op.operands[0]), tensor_type(op.operands[1])
    ty, es = _ty(op, x_t)
    n, cin, h, w = x_t.get_shape()
    oh, ow = tensor_type(op.results[0]).get_shape()[2:]
    (sh, sw), (pt, pl, pb, pr), (dh, dw) = p["strides"], p["pads"], p["dilations"]
    groups = p["groups"]
    transposed = op.name == "cir.conv_transpose2d"
    in_h, in_w, up_h, up_w = h, w, 1, 1
    if transposed:  # a stride-1 conv of the flipped kernel over the zero-stuffed, re-padded input
        _, og, kh, kw = w_t.get_shape()
        cout, cg = og * groups, cin // groups
        oph, opw = p["output_padding"]
        up_h, up_w = sh, sw
        h, w = (h - 1) * sh + 1, (w - 1) * sw + 1
        pt, pl = dh * (kh - 1) - pt, dw * (kw - 1) - pl
        pb, pr = dh * (kh - 1) - pb + oph, dw * (kw - 1) - pr + opw
        if min(pt, pl, pb, pr) < 0:
            raise NotImplementedError(f"{op.name} with padding beyond dilation * (kernel - 1)")
        sh = sw = 1
    else:
        cout, cg, kh, kw = w_t.get_shape()
    direct = not transposed and (kh, kw, sh, sw, pt, pl, pb, pr) == (1, 1, 1, 1, 0, 0, 0, 0)
    pad_copy = soc.arch >= 220  # DataCopyPad (arch 220); arch 200: aligned DataCopy only
    if pad_copy and not transposed and max(pl, pr) * es > ALIGN:
        raise NotImplementedError(f"{op.name} with padding wider than {ALIGN // es} elements")
    wp = w + pl + pr
    blk = ALIGN // es  # elements per 32-byte block
    # stride_w 2 or 4 (arch 220): the band keeps each row as its column phases (GatherMask's
    # built-in patterns), rows `wrow` apart, so every im2col tap reads contiguous runs
    phased = pad_copy and not transposed and not direct and sw in PHASE_PATTERNS and sw > 1
    wrow = round_up(wp, sw * blk) if phased else wp
    # staging queue x2, bias queue x2, zero rows (and the phase queue)
    # an epilogue keeps a quarter of the UB for its chunks
    ub = soc.ub_bytes * 3 // 4 if epilogue else soc.ub_bytes
    stage = ub // (6 if phased else 5) // ALIGN * ALIGN
    def band_rows(r: int) -> int:
        return (r - 1) * sh + (kh - 1) * dh + 1

    def fits(r: int) -> bool:
        pix = round_up(r * ow * es, ALIGN)
        if direct:
            return pix <= stage
        if phased:  # a padded row, in whole 256-byte repeats of GatherMask
            return max(pix, round_up(wrow * es, REPEAT), round_up(w * es, ALIGN)) <= stage
        if pad_copy:
            gather = ow * ALIGN if sw > 1 else 0  # stride > 1: one element per 32-byte block
        else:
            gather = round_up(((ow - 1) * sw + 1) * es, ALIGN)  # the span of one gathered row
        return max(pix, gather, round_up(wp * es, ALIGN), round_up(w * es, ALIGN)) <= stage

    cpg = cout // groups
    tile_rows, cout_tile = _conv_tiles(n, oh, ow, cpg, groups, soc.ai_cores, fits)
    if not fits(tile_rows):
        raise NotImplementedError(f"{op.name} with output rows of {ow} elements (too wide for UB)")
    kg = cg * kh * kw
    tile_pix = tile_rows * ow
    row_tiles = math.ceil(oh / tile_rows)
    cout_tiles = math.ceil(cpg / cout_tile)
    chan_chunk = max(1, min(cg, 4095, (stage // REPEAT * REPEAT) // (wrow * es) if phased
                            else stage // round_up(wp * es, ALIGN)))
    if pad_copy and not transposed:
        # The staging / bias / zero-row buffers need only what one move of this conv holds (a
        # tile of bias values, a gathered row, chan_chunk padded rows), not a fifth of the UB:
        # the same moves, but a depthwise conv's many small ones no longer each take (and, on
        # the CPU layer, poison) a buffer of tens of KiB. chan_chunk stays as above.
        pix = round_up(tile_pix * es, ALIGN)
        if phased:
            need = max(pix, round_up(chan_chunk * wrow * es, REPEAT), round_up(w * es, ALIGN))
        else:
            need = pix if direct else max(pix, ow * ALIGN if sw > 1 else 0, chan_chunk * round_up(wp * es, ALIGN),
                                          round_up(w * es, ALIGN))
        stage = min(stage, need)
    band = cg * band_rows(tile_rows) * wrow
    # arch 200 writes whole 32-byte blocks: 64 elements of slack after the band and the tile
    slack = 0 if pad_copy else 64 + round_up(max(pl, pr), 64)
    ws_block = 0 if direct else round_up(band, 64) + slack + round_up(kg * tile_pix, 64) + slack
    units = n * row_tiles * cout_tiles
    block_dim = min(soc.ai_cores, units)
    tiling = {"cin": cin, "h": h, "w": w, "cout": cout, "oh": oh, "ow": ow, "kh": kh, "kw": kw,
              "stride_h": sh, "stride_w": sw, "pad_top": pt, "pad_left": pl, "pad_right": pr,
              "dilation_h": dh, "dilation_w": dw, "groups": groups, "cin_per_group": cg,
              "cout_per_group": cpg, "k": kg, "padded_w": wrow,
              "band_rows": band_rows(tile_rows), "tile_rows": tile_rows, "tile_pix": tile_pix,
              "row_tiles": row_tiles, "cout_tile": cout_tile, "cout_tiles": cout_tiles,
              "units": units, "batch": n, "ws_block": ws_block,
              "stage_bytes": stage, "chan_chunk": chan_chunk,
              "flip": int(transposed), "taps": kh * kw}
    if transposed:
        tiling |= {"in_h": in_h, "in_w": in_w, "up_h": up_h, "up_w": up_w}
    if phased:  # phases gathered (those the taps read), their width, the UB row gap in blocks
        tiling |= {"phase_w": wrow // sw, "phases": min(sw, (kw - 1) * dw + 1),
                   "ub_row_gap": (wrow * es - round_up(wp * es, ALIGN)) // ALIGN,
                   "pattern_base": PHASE_PATTERNS[sw]}
    if epilogue:  # what the conv's buffers leave, in chunks of rows x columns of the C tile
        has_bias = len(op.operands) > 2
        used = stage * (3 * (not direct) + 2 * (has_bias or transposed) + phased)
        chunk = (soc.ub_bytes - used) // epilogue.buffers // ALIGN * ALIGN
        cols = min(round_up(tile_pix, blk), chunk // es // blk * blk)
        if cols < blk:
            raise NotImplementedError(f"{op.name}: no UB left for the epilogue")
        rows = max(1, min(cout_tile, chunk // (cols * es)))
        tiling |= {"epi_rows": rows, "epi_cols": cols, "epi_bytes": rows * cols * es}
    if not pad_copy:  # aligned counts of the arch-200 moves
        tiling |= {"in_size": n * cin * h * w, "w_aligned": round_up(w, blk), "padded_w_aligned": round_up(wp, blk),
                   "pad_zeros": round_up(max(pl, pr, 1), blk), "ow_aligned": round_up(ow, blk),
                   "gather_span": round_up((ow - 1) * sw + 1, blk)}
    return {"ty": ty, "es": es, "direct": direct, "pad_copy": pad_copy, "transposed": transposed, "phased": phased,
            "tiling": tiling, "block_dim": block_dim,
            "workspace": block_dim * ws_block * es}


def _conv_tiles(n: int, oh: int, ow: int, cpg: int, groups: int, cores: int,
                fits: Callable[[int], bool]) -> tuple[int, int]:
    """(output rows, output channels) of a conv's unit of work: the split of each image over its
    share of the cores (cores / n units) that the cost model below finishes first.

    A unit stages the im2col tile of its rows (K x pixels, moved twice: band, then columns) and
    multiplies a channel tile of the weight (m x K, read once per unit) with it; per element of
    K, a unit costs 2 * m * pixels for the product plus MOVE_COST * (2 * pixels + m) for the
    moves. Row tiles repeat the weight reads, channel tiles the staging; thin tiles waste both.
    Grouped convs keep whole groups."""
    per_image = max(1, math.ceil(cores / n))
    best: tuple[int, int, int, int] | None = None  # (time, units, rows, channels)
    for r in range(1, min(oh, per_image) + 1):
        rows = math.ceil(oh / r)
        if not fits(rows):
            continue
        for c in range(1, (1 if groups > 1 else min(per_image // r, max(1, cpg // 16))) + 1):
            m = min(cpg, round_up(math.ceil(cpg / c), 16))
            units = math.ceil(oh / rows) * math.ceil(cpg / m)
            pix = rows * ow
            rounds = math.ceil(units * n / cores)  # units a core runs, one after another
            option = (rounds * (2 * m * pix + MOVE_COST * (2 * pix + m)), units, rows, m)
            best = option if best is None else min(best, option)
    if best is None:  # no tile fits the UB by rows of the cores' share: the largest one that does
        rows = oh
        while rows > 1 and not fits(rows):
            rows -= 1
        return rows, cpg
    return best[2], best[3]


def conv_launch(name: str, op: Operation, soc: Soc, comment: str, has_bias: bool,
                epilogue: Epilogue | None = None) -> Launch:
    plan = _conv_plan(op, soc, epilogue)
    ty, es, direct, pad_copy, phased = plan["ty"], plan["es"], plan["direct"], plan["pad_copy"], plan["phased"]
    transposed = plan["transposed"]
    fields = list(plan["tiling"])
    residual = epilogue is not None and epilogue.residual
    args = ["x", "weight"] + ["bias"] * has_bias + ["residual"] * residual + ["y", "workspace", "tiling"]
    how = ("1x1 conv: Matmul of the weight with the input itself" if direct else
           "im2col of a tile of output rows into GM workspace, then Matmul with the weight")
    if transposed:
        how = ("transposed: im2col of the zero-stuffed input with the kernel flipped, then one Matmul "
               "per input channel with its (out, kh*kw) weight slice")
    kernel, gm, k = new_kernel(name, args, [(f, "int64_t") for f in fields],
                               comment + f"\n(implicit GEMM, {how})")
    t = k.fields(fields)
    o = IntOps(k)
    g_t, l_t = A.GlobalType(StringAttr(ty)), A.LocalType(StringAttr(ty))
    zero, one = k.c(0), k.c(1)
    es_v = k.c(es)
    hw = o.mul(t["in_h"], t["in_w"], "in_plane") if transposed else o.mul(t["h"], t["w"], "in_plane")
    ohw = o.mul(t["oh"], t["ow"], "out_plane")
    x_g = _gm(k, gm["x"], o.mul(o.mul(t["batch"], t["cin"]), hw, "x_size"), ty, "x_gm")
    w_size = (o.mul(o.mul(t["cin"], t["cout_per_group"]), t["taps"], "weight_size") if transposed
              else o.mul(t["cout"], t["k"], "weight_size"))
    w_g = _gm(k, gm["weight"], w_size, ty, "weight_gm")
    y_size = o.mul(o.mul(t["batch"], t["cout"]), ohw, "y_size")
    y_g = _gm(k, gm["y"], y_size, ty, "y_gm")
    b_g = _gm(k, gm["bias"], t["cout"], ty, "bias_gm") if has_bias else None
    r_g = _gm(k, gm["residual"], y_size, ty, "residual_gm") if residual else None  # the result's shape
    block = k.call(A.BlockIdxOp, result=i64)
    blocks = k.name(k.call(A.BlockNumOp, result=i64), "blocks")
    if not direct:  # this block's workspace: the padded input band, then the im2col tile
        ws = k.name(k.call(A.GlobalTensorOp, gm["workspace"], o.mul(block, t["ws_block"], "ws_off"), t["ws_block"],
                           result=g_t), "ws_gm")
        band_size = o.mul(o.mul(t["cin_per_group"], t["band_rows"]), t["padded_w"], "band_size")
        band_g = ws
        cols_off = o.mul(o.div(o.add(band_size, k.c(63)), k.c(64)), k.c(64))
        slack = 64 + round_up(max(plan["tiling"]["pad_left"], plan["tiling"]["pad_right"]), 64)
        cols_off = k.name(cols_off if pad_copy else o.add(cols_off, k.c(slack)), "cols_off")
        cols_g = k.name(k.call(A.GlobalTensorOp, gm["workspace"], o.add(o.mul(block, t["ws_block"]), cols_off),
                               o.sub(t["ws_block"], cols_off), result=g_t), "cols_gm")
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    stage_q = _que(k, pipe, "VECIN", t["stage_bytes"], "stage_que") if not direct else None
    bias_q = _que(k, pipe, "VECOUT", t["stage_bytes"], "bias_que") if has_bias or transposed else None
    phase_q = _que(k, pipe, "VECOUT", t["stage_bytes"], "phase_que", depth=1) if phased else None
    if not direct:
        zero_buf = k.name(k.call(A.BufOp, result=A.BufType()), "zero_buf")
        k.call(A.InitBufferOp, pipe, zero_buf, t["stage_bytes"], num=1)
        zero_row = k.name(k.call(A.BufGetOp, zero_buf, result=l_t), "zero_rows")
        k.call(A.DuplicateOp, zero_row, k.f(0.0), o.div(t["stage_bytes"], es_v))
        k.call(A.PipeBarrierOp, pipe="PIPE_ALL")
    ld_b = ohw if direct else t["tile_pix"]
    mk = t["taps"] if transposed else t["k"]  # the K of one Matmul
    cube_shape = {"M": t["cout_per_group"], "N": ld_b, "Ka": mk, "Kb": mk,
                  "singleCoreM": t["cout_tile"], "singleCoreN": t["tile_pix"], "singleCoreK": mk,
                  "isBias": zero}
    mm = _matmul_object(k, ty, pipe, blocks, cube_shape, trans_b=False)
    k.call(A.MatmulOrgShapeOp, [mm, t["cout_per_group"], ld_b, mk, mk, ohw])
    epi_ques = epilogue.setup(k, pipe, t["epi_bytes"]) if epilogue else {}

    def unit(kb: KB, u: SSAValue) -> None:
        q = IntOps(kb)
        ct = q.rem(u, t["cout_tiles"], "cout_tile_index")
        rt = q.div(u, t["cout_tiles"], "row_tile_index")
        img = q.div(rt, t["row_tiles"], "image")
        oh0 = q.mul(q.rem(rt, t["row_tiles"]), t["tile_rows"], "oh0")
        oc_in = q.mul(ct, t["cout_tile"], "oc_in")  # the channel tile, within the group
        m = q.min(t["cout_tile"], q.sub(t["cout_per_group"], oc_in), "m")
        rows = q.min(t["tile_rows"], q.sub(t["oh"], oh0), "rows")
        npix = q.mul(rows, t["ow"], "npix")
        p0 = q.mul(oh0, t["ow"], "p0")
        ih0 = None if direct else q.sub(q.mul(oh0, t["stride_h"]), t["pad_top"], "ih0")

        def group(k2: KB, g: SSAValue) -> None:
            p = IntOps(k2)
            ch0 = p.mul(g, t["cin_per_group"], "ch0")
            oc0 = p.add(p.mul(g, t["cout_per_group"]), oc_in, "oc0")
            y_off = p.add(p.mul(p.add(p.mul(img, t["cout"]), oc0), ohw), p0, "y_off")
            y_tile = _at(k2, y_g, y_off)
            if direct:
                b_tile = _at(k2, x_g, p.add(p.mul(p.add(p.mul(img, t["cin"]), ch0), hw), p0, "x_off"))
            else:
                assert stage_q is not None and ih0 is not None
                _stage_cols(k2, t, x_g, band_g, cols_g, zero_row, stage_q, l_t, img, ch0, ih0, hw, rows, es,
                            transposed, pad_copy, phase_q)
                b_tile = cols_g
            if bias_q is not None:  # C = bias (or 0), then C += W cols
                _fill_bias(k2, t, b_g, bias_q, l_t, y_tile, oc0, m, npix, ohw, pad_copy, es, zero, one)
            if transposed:  # y += Wt[c] (out x kh*kw) @ cols rows of c, for each input channel c
                def per_channel(k3: KB, c: SSAValue) -> None:
                    r = IntOps(k3)
                    a = _at(k3, w_g, r.mul(r.add(r.mul(r.add(ch0, c), t["cout_per_group"]), oc_in), t["taps"],
                                           "weight_off"))
                    b = _at(k3, cols_g, r.mul(r.mul(c, t["taps"]), t["tile_pix"], "cols_row"))
                    k3.call(A.MatmulOp, [mm, a, b, y_tile, m, npix, t["taps"]],
                            trans_a=0, trans_b=0, has_bias=0, atomic=1)

                k2.loop(zero, t["cin_per_group"], one, per_channel, iv_name="c")
                return
            k2.call(A.MatmulOp, [mm, _at(k2, w_g, p.mul(oc0, t["k"], "weight_off")), b_tile, y_tile, m,
                                 npix, t["k"]], trans_a=0, trans_b=0, has_bias=0, atomic=int(has_bias))
            if epilogue:  # act(C [+ residual]) over the tile while it is warm
                k2.call(A.PipeBarrierOp, pipe="PIPE_ALL")
                epilogue.emit(k2, epi_ques, y_g, y_off, m, npix, ohw, t["epi_rows"], t["epi_cols"], l_t, es, r_g)

        kb.loop(zero, t["groups"], one, group, iv_name="g")

    k.loop(block, t["units"], blocks, unit, iv_name="unit")
    return Launch(kernel, plan["block_dim"], plan["tiling"],
                  args=["operand:0", "operand:1"] + ["operand:2"] * has_bias + ["operand:3"] * residual + ["result:0"],
                  workspace=plan["workspace"])


def _fill_bias(k2: KB, t: Fields, b_g: SSAValue | None, bias_q: SSAValue, l_t: Any, y_tile: SSAValue,
               oc0: SSAValue, m: SSAValue, npix: SSAValue, ohw: SSAValue, pad_copy: bool, es: int, zero: SSAValue,
               one: SSAValue) -> None:
    """The rows of the tile's `m` output channels := their bias (or 0), before the Matmul adds to them."""
    def fill(k3: KB, oc: SSAValue) -> None:
        r = IntOps(k3)
        if b_g is not None:
            value = k3.name(k3.call(A.GetValueOp, b_g, r.add(oc0, oc, "channel"), result=f32),
                            "bias_value")
        else:
            value = k3.f(0.0)
        row = k3.name(k3.call(A.AllocTensorOp, bias_q, result=l_t), "bias_row")
        k3.call(A.DuplicateOp, row, value, npix)
        k3.call(A.EnQueOp, bias_q, row)
        out = k3.name(k3.call(A.DeQueOp, bias_q, result=l_t), "bias_out")
        dst = _at(k3, y_tile, r.mul(oc, ohw))
        if pad_copy:
            _pad2d(k3, dst, out, one, npix, zero, zero)
        else:  # the 32-byte-aligned part, then the tail element by element
            body = r.sub(npix, r.rem(npix, k3.c(ALIGN // es)), "n_aligned")
            k3.when(k3.add(arith.CmpiOp(body, zero, "sgt")),
                    lambda k4: k4.call(A.DataCopyOp, dst, out, body))
            k3.loop(body, npix, one, lambda k4, j: k4.call(A.SetValueOp, dst, j, value), iv_name="j")
        k3.call(A.FreeTensorOp, bias_q, out)

    k2.loop(zero, m, one, fill, iv_name="oc")
    k2.call(A.PipeBarrierOp, pipe="PIPE_ALL")


def _stage_cols(k2: KB, t: Fields, x_g: SSAValue, band_g: SSAValue, cols_g: SSAValue, zero_row: SSAValue,
                stage_q: SSAValue, l_t: Any, img: SSAValue, ch0: SSAValue, ih0: SSAValue, hw: SSAValue,
                rows: SSAValue, es: int, transposed: bool, pad_copy: bool, phase_q: SSAValue | None) -> None:
    """The group's input band into the workspace, then its im2col tile (cols_g)."""
    if transposed:
        _band_stuffed(k2, t, x_g, band_g, stage_q, l_t, img, ch0, ih0, hw, pad_copy)
        k2.call(A.PipeBarrierOp, pipe="PIPE_ALL")
        if pad_copy:
            _im2col(k2, t, band_g, cols_g, stage_q, l_t, rows, es)
        else:
            _im2col_aligned(k2, t, band_g, cols_g, stage_q, l_t, rows)
    elif phase_q is not None:
        _band_phased(k2, t, x_g, band_g, zero_row, stage_q, phase_q, l_t, img, ch0, ih0, hw, es)
        k2.call(A.PipeBarrierOp, pipe="PIPE_ALL")
        _im2col(k2, t, band_g, cols_g, stage_q, l_t, rows, es, phased=True)
    elif pad_copy:
        _band(k2, t, x_g, band_g, zero_row, stage_q, l_t, img, ch0, ih0, hw, es)
        k2.call(A.PipeBarrierOp, pipe="PIPE_ALL")
        _im2col(k2, t, band_g, cols_g, stage_q, l_t, rows, es)
    else:
        _band_aligned(k2, t, x_g, band_g, zero_row, stage_q, l_t, img, ch0, ih0, hw, es)
        k2.call(A.PipeBarrierOp, pipe="PIPE_ALL")
        _im2col_aligned(k2, t, band_g, cols_g, stage_q, l_t, rows)
    k2.call(A.PipeBarrierOp, pipe="PIPE_ALL")


def _band(kb: KB, t: Fields, x_g: SSAValue, band_g: SSAValue, zero_rows: SSAValue,
          que: SSAValue, l_t: Any, img: SSAValue, ch0: SSAValue, ih0: SSAValue, hw: SSAValue, es: int) -> None:
    """The input rows [ih0, ih0 + band_rows) of the group's channels, zero-padded, into band_g
    (channel-major, rows of padded_w). One strided move per band row and chunk of channels."""
    q = IntOps(kb)
    zero, es_v = kb.c(0), kb.c(es)
    band_plane = q.mul(t["band_rows"], t["padded_w"], "band_plane")
    src_gap = q.mul(q.sub(hw, t["w"]), es_v, "channel_gap_bytes")
    dst_gap = q.mul(q.sub(band_plane, t["padded_w"]), es_v, "band_gap_bytes")

    def row(k2: KB, j: SSAValue) -> None:
        p = IntOps(k2)
        ih = p.add(ih0, j, "ih")
        inside = k2.name(k2.add(arith.CmpiOp(p.min(ih, p.sub(p.sub(t["h"], k2.c(1)), ih)), zero, "sge")), "inside")

        def chunk(k3: KB, c0: SSAValue) -> None:
            r = IntOps(k3)
            n = r.min(t["chan_chunk"], r.sub(t["cin_per_group"], c0), "n_channels")
            dst = _at(k3, band_g, r.add(r.mul(c0, band_plane), r.mul(j, t["padded_w"]), "band_off"))

            def copy(k4: KB) -> None:
                s_ = IntOps(k4)
                src = s_.add(s_.mul(s_.add(s_.mul(img, t["cin"]), s_.add(ch0, c0)), hw), s_.mul(ih, t["w"]), "x_off")
                _via_ub(k4, que, l_t,
                        lambda k5, ub: _pad2d(k5, ub, _at(k5, x_g, src), n, t["w"], src_gap, zero,
                                              t["pad_left"], t["pad_right"]),
                        lambda k5, ub: _pad2d(k5, dst, ub, n, t["padded_w"], zero, dst_gap), "band")

            k3.when(inside, copy, lambda k4: _pad2d(k4, dst, zero_rows, n, t["padded_w"], zero, dst_gap))

        k2.loop(zero, t["cin_per_group"], t["chan_chunk"], chunk, iv_name="c0")

    kb.loop(zero, t["band_rows"], kb.c(1), row, iv_name="j")


def _band_phased(kb: KB, t: Fields, x_g: SSAValue, band_g: SSAValue, zero_rows: SSAValue, que: SSAValue,
                 phase_q: SSAValue, l_t: Any, img: SSAValue, ch0: SSAValue, ih0: SSAValue, hw: SSAValue,
                 es: int) -> None:
    """`_band` for stride_w 2 or 4: each band row (padded_w apart) holds its column phases, phase p
    the columns p, p + stride_w, ... (phase_w of them). A chunk of channel rows comes into the UB
    zero-padded, rows padded_w apart; per phase, GatherMask keeps its lanes and one strided move
    writes them out."""
    q = IntOps(kb)
    zero, one, es_v = kb.c(0), kb.c(1), kb.c(es)
    lanes = kb.c(REPEAT // es)
    band_plane = q.mul(t["band_rows"], t["padded_w"], "band_plane")
    src_gap = q.mul(q.sub(hw, t["w"]), es_v, "channel_gap_bytes")
    dst_gap = q.mul(q.sub(band_plane, t["padded_w"]), es_v, "band_gap_bytes")
    phase_gap = q.mul(q.sub(band_plane, t["phase_w"]), es_v, "phase_gap_bytes")

    def row(k2: KB, j: SSAValue) -> None:
        p = IntOps(k2)
        ih = p.add(ih0, j, "ih")
        inside = k2.name(k2.add(arith.CmpiOp(p.min(ih, p.sub(p.sub(t["h"], k2.c(1)), ih)), zero, "sge")), "inside")

        def chunk(k3: KB, c0: SSAValue) -> None:
            r = IntOps(k3)
            n = r.min(t["chan_chunk"], r.sub(t["cin_per_group"], c0), "n_channels")
            dst = r.add(r.mul(c0, band_plane), r.mul(j, t["padded_w"]), "band_off")

            def copy(k4: KB) -> None:
                s_ = IntOps(k4)
                src = s_.add(s_.mul(s_.add(s_.mul(img, t["cin"]), s_.add(ch0, c0)), hw), s_.mul(ih, t["w"]), "x_off")
                ub = k4.name(k4.call(A.AllocTensorOp, que, result=l_t), "band")
                _pad2d(k4, ub, _at(k4, x_g, src), n, t["w"], src_gap, t["ub_row_gap"], t["pad_left"], t["pad_right"])
                k4.call(A.EnQueOp, que, ub)
                rows_ub = k4.name(k4.call(A.DeQueOp, que, result=l_t), "band_ub")
                repeats = s_.div(s_.add(s_.mul(n, t["padded_w"]), s_.sub(lanes, one)), lanes, "repeats")

                def phase(k5: KB, ph: SSAValue) -> None:
                    v = IntOps(k5)
                    kept = k5.name(k5.call(A.AllocTensorOp, phase_q, result=l_t), "phase")
                    k5.call(A.GatherMaskOp, kept, rows_ub, v.add(t["pattern_base"], ph, "pattern"), repeats)
                    k5.call(A.EnQueOp, phase_q, kept)
                    out = k5.name(k5.call(A.DeQueOp, phase_q, result=l_t), "phase_ub")
                    _pad2d(k5, _at(k5, band_g, v.add(dst, v.mul(ph, t["phase_w"]), "phase_off")), out, n, t["phase_w"],
                           zero, phase_gap)
                    k5.call(A.FreeTensorOp, phase_q, out)

                k4.loop(zero, t["phases"], one, phase, iv_name="ph")
                k4.call(A.FreeTensorOp, que, rows_ub)

            k3.when(inside, copy, lambda k4: _pad2d(k4, _at(k4, band_g, dst), zero_rows, n, t["padded_w"], zero,
                                                    dst_gap))

        k2.loop(zero, t["cin_per_group"], t["chan_chunk"], chunk, iv_name="c0")

    kb.loop(zero, t["band_rows"], kb.c(1), row, iv_name="j")


def _im2col(kb: KB, t: Fields, band_g: SSAValue, cols_g: SSAValue, que: SSAValue, l_t: Any,
            rows: SSAValue, es: int, phased: bool = False) -> None:
    """cols[(c, ki, kj), r * ow + j] = band[c, r * stride_h + ki * dilation_h, j * stride_w + kj * dilation_w].

    Stride 1, or a band of column phases (`phased`: column x of a row is element x % stride_w *
    phase_w + x / stride_w): for each tap (ki, kj) and output row r, one strided move per chunk
    of channels; other strides: for each (c, ki, kj) and row, a gather of one element per block."""
    q = IntOps(kb)
    zero, one, es_v = kb.c(0), kb.c(1), kb.c(es)
    row_step = q.mul(t["stride_h"], t["padded_w"], "row_step")
    band_plane = q.mul(t["band_rows"], t["padded_w"], "band_plane")
    taps = q.mul(t["kh"], t["kw"], "taps")

    def by_channel_chunks(k2: KB) -> None:
        p = IntOps(k2)
        src_gap = p.mul(p.sub(band_plane, t["ow"]), es_v, "src_gap_bytes")
        dst_gap = p.mul(p.sub(p.mul(taps, t["tile_pix"]), t["ow"]), es_v, "dst_gap_bytes")

        def tap(k3: KB, kk: SSAValue) -> None:
            r_ = IntOps(k3)
            ki, kj = _flipped(r_, t, r_.div(kk, t["kw"]), r_.rem(kk, t["kw"]))
            col = r_.mul(kj, t["dilation_w"], "tap_col")
            if phased:  # the tap's first column: in phase col % stride_w, at col / stride_w
                col = r_.add(r_.mul(r_.rem(col, t["stride_w"]), t["phase_w"]), r_.div(col, t["stride_w"]), "tap_col")
            tap_src = r_.add(r_.mul(r_.mul(ki, t["dilation_h"]), t["padded_w"]), col, "tap_src")

            def row(k4: KB, r: SSAValue) -> None:

                def chunk(k5: KB, c0: SSAValue) -> None:
                    u = IntOps(k5)
                    n = u.min(t["chan_chunk"], u.sub(t["cin_per_group"], c0), "n_channels")
                    src = u.add(u.add(u.mul(c0, band_plane), tap_src), u.mul(r, row_step), "src")
                    dst = u.add(u.mul(u.add(u.mul(c0, taps), kk), t["tile_pix"]), u.mul(r, t["ow"]), "dst")
                    _via_ub(k5, que, l_t,
                            lambda k6, ub: _pad2d(k6, ub, _at(k6, band_g, src), n, t["ow"], src_gap, zero),
                            lambda k6, ub: _pad2d(k6, _at(k6, cols_g, dst), ub, n, t["ow"], zero, dst_gap), "taps")

                k4.loop(zero, t["cin_per_group"], t["chan_chunk"], chunk, iv_name="c0")

            k3.loop(zero, rows, one, row, iv_name="r")

        k2.loop(zero, taps, one, tap, iv_name="kk")

    def by_element(k2: KB) -> None:
        p = IntOps(k2)
        col_gap = p.mul(p.sub(t["stride_w"], one), es_v, "col_gap_bytes")

        def tap(k3: KB, kk: SSAValue) -> None:  # kk = (c, ki, kj) flattened: one row of cols
            src, dst = _tap_offsets(IntOps(k3), t, kk, taps)

            def row(k4: KB, r: SSAValue) -> None:
                s_ = IntOps(k4)
                _via_ub(k4, que, l_t,
                        lambda k5, ub: _pad2d(k5, ub, _at(k5, band_g, s_.add(src, s_.mul(r, row_step))), t["ow"],
                                              one, col_gap, zero),
                        lambda k5, ub: _pad2d(k5, _at(k5, cols_g, s_.add(dst, s_.mul(r, t["ow"]))), ub, t["ow"],
                                              one, zero, zero), "taps")

            k3.loop(zero, rows, one, row, iv_name="r")

        k2.loop(zero, t["k"], one, tap, iv_name="kk")

    if phased:
        by_channel_chunks(kb)
    else:
        kb.when(kb.name(kb.add(arith.CmpiOp(t["stride_w"], one, "eq")), "unit_stride"), by_channel_chunks, by_element)


def _tap_offsets(p: IntOps, t: Fields, kk: SSAValue, taps: SSAValue) -> tuple[SSAValue, SSAValue]:
    """For im2col row kk = (channel, ki, kj): where its band row starts and where its cols row goes."""
    c = p.div(kk, taps, "channel")
    ki, kj = _flipped(p, t, p.div(p.rem(kk, taps), t["kw"]), p.rem(kk, t["kw"]))
    src = p.add(p.mul(p.add(p.mul(c, t["band_rows"]), p.mul(ki, t["dilation_h"])), t["padded_w"]),
                p.mul(kj, t["dilation_w"]), "src")
    return src, p.mul(kk, t["tile_pix"], "dst")


def _flipped(q: IntOps, t: Fields, ki: SSAValue, kj: SSAValue) -> tuple[SSAValue, SSAValue]:
    """The kernel tap (ki, kj), or (kh-1-ki, kw-1-kj) when t.flip (transposed convolution)."""
    one = q.k.c(1)
    ki = q.add(ki, q.mul(t["flip"], q.sub(q.sub(t["kh"], one), q.add(ki, ki))), "ki")
    kj = q.add(kj, q.mul(t["flip"], q.sub(q.sub(t["kw"], one), q.add(kj, kj))), "kj")
    return ki, kj


def _band_stuffed(kb: KB, t: Fields, x_g: SSAValue, band_g: SSAValue, que: SSAValue, l_t: Any,
                  img: SSAValue, ch0: SSAValue, ih0: SSAValue, hw: SSAValue, pad_copy: bool) -> None:
    """Transposed convolution: the band of the zero-stuffed input (input element (i, j) at
    (i * up_h, j * up_w), zeros between, pad_* zeros around). Each padded row is built in UB
    (Duplicate 0, then the row's input elements one by one) and written whole: DataCopyPad on
    arch 220; on arch 200 whole blocks in increasing GM order (each spill is rewritten by the
    next row; the last lands in the slack after the band)."""
    q = IntOps(kb)
    zero, one = kb.c(0), kb.c(1)
    band_plane = q.mul(t["band_rows"], t["padded_w"], "band_plane")

    def channel(k2: KB, c: SSAValue) -> None:
        p = IntOps(k2)
        x_ch = p.mul(p.add(p.mul(img, t["cin"]), p.add(ch0, c)), hw, "x_channel")
        band_ch = p.mul(c, band_plane, "band_channel")

        def row(k3: KB, j: SSAValue) -> None:
            r = IntOps(k3)
            rr = r.add(ih0, j, "stuffed_row")
            inside = k3.add(arith.CmpiOp(r.min(rr, r.sub(r.sub(t["h"], one), rr)), zero, "sge"))
            on_grid = k3.add(arith.CmpiOp(r.rem(r.max(rr, zero), t["up_h"]), zero, "eq"))
            has_data = k3.name(k3.add(arith.AndIOp(inside, on_grid)), "has_data")
            ub = k3.name(k3.call(A.AllocTensorOp, que, result=l_t), "stuffed")
            k3.call(A.DuplicateOp, ub, k3.f(0.0), t["padded_w"])
            k3.call(A.PipeBarrierOp, pipe="PIPE_ALL")

            def fill(k4: KB) -> None:
                s_ = IntOps(k4)
                src = _at(k4, x_g, s_.add(x_ch, s_.mul(s_.div(rr, t["up_h"]), t["in_w"]), "x_off"))

                def elem(k5: KB, e: SSAValue) -> None:
                    u = IntOps(k5)
                    val = k5.name(k5.call(A.GetValueOp, src, e, result=f32), "v")
                    k5.call(A.SetValueOp, ub, u.add(t["pad_left"], u.mul(e, t["up_w"])), val)

                k4.loop(zero, t["in_w"], one, elem, iv_name="e")

            k3.when(has_data, fill)
            k3.call(A.EnQueOp, que, ub)
            out = k3.name(k3.call(A.DeQueOp, que, result=l_t), "stuffed_ub")
            dst = _at(k3, band_g, r.add(band_ch, r.mul(j, t["padded_w"]), "band_off"))
            if pad_copy:
                _pad2d(k3, dst, out, one, t["padded_w"], zero, zero)
            else:
                _aligned_copy(k3, dst, out, t["padded_w_aligned"])
            k3.call(A.FreeTensorOp, que, out)

        k2.loop(zero, t["band_rows"], one, row, iv_name="j")

    kb.loop(zero, t["cin_per_group"], one, channel, iv_name="c")


def _aligned_copy(k: KB, dst: SSAValue, src: SSAValue, count: SSAValue) -> None:
    k.call(A.DataCopyOp, dst, src, count)


def _band_aligned(kb: KB, t: Fields, x_g: SSAValue, band_g: SSAValue, zero_rows: SSAValue,
                  que: SSAValue, l_t: Any, img: SSAValue, ch0: SSAValue, ih0: SSAValue, hw: SSAValue,
                  es: int) -> None:
    """Arch 200 (no DataCopyPad): the band of `_band` with DataCopy of whole 32-byte blocks only.

    Each write starts where the part it is meant for starts (left padding, the input row, right
    padding; a zero row above or below the image) and may run up to a block past that part's
    end. The writes go in increasing GM order (channel, row, part), so what one write spills is
    rewritten by the next; the last spills into the slack the workspace keeps after the band.
    Input rows are read with one DataCopy of the rounded-up length, except where that would
    read past the end of x: there the aligned part, then the tail element by element."""
    q = IntOps(kb)
    zero, one = kb.c(0), kb.c(1)
    band_plane = q.mul(t["band_rows"], t["padded_w"], "band_plane")
    w_body = q.sub(t["w"], q.rem(t["w"], kb.c(ALIGN // es)), "w_body")
    has_left = kb.name(kb.add(arith.CmpiOp(t["pad_left"], zero, "sgt")), "has_left")
    has_right = kb.name(kb.add(arith.CmpiOp(t["pad_right"], zero, "sgt")), "has_right")

    def channel(k2: KB, c: SSAValue) -> None:
        p = IntOps(k2)
        x_ch = p.mul(p.add(p.mul(img, t["cin"]), p.add(ch0, c)), hw, "x_channel")
        band_ch = p.mul(c, band_plane, "band_channel")

        def row(k3: KB, j: SSAValue) -> None:
            r = IntOps(k3)
            ih = r.add(ih0, j, "ih")
            inside = k3.name(k3.add(arith.CmpiOp(r.min(ih, r.sub(r.sub(t["h"], one), ih)), zero, "sge")), "inside")
            base = r.add(band_ch, r.mul(j, t["padded_w"]), "band_off")

            def copy(k4: KB) -> None:
                s_ = IntOps(k4)
                src = s_.add(x_ch, s_.mul(ih, t["w"]), "x_off")
                x_row = _at(k4, x_g, src)
                k4.when(has_left, lambda k5: _aligned_copy(k5, _at(k5, band_g, base), zero_rows, t["pad_zeros"]))

                def load(k5: KB, ub: SSAValue) -> None:
                    whole = k5.add(arith.CmpiOp(k5.binop(arith.AddiOp, src, t["w_aligned"]), t["in_size"], "sle"))

                    def split(k6: KB) -> None:
                        k6.when(k6.add(arith.CmpiOp(w_body, zero, "sgt")),
                                lambda k7: _aligned_copy(k7, ub, x_row, w_body))

                        def tail(k7: KB, e: SSAValue) -> None:
                            k7.call(A.SetValueOp, ub, e, k7.name(k7.call(A.GetValueOp, x_row, e, result=f32), "e"))

                        k6.loop(w_body, t["w"], one, tail, iv_name="e")

                    k5.when(whole, lambda k6: _aligned_copy(k6, ub, x_row, t["w_aligned"]), split)

                data = _at(k4, band_g, s_.add(base, t["pad_left"]))
                _via_ub(k4, que, l_t, load, lambda k5, ub: _aligned_copy(k5, data, ub, t["w_aligned"]), "band")
                right = s_.add(s_.add(base, t["pad_left"]), t["w"], "right_off")
                k4.when(has_right, lambda k5: _aligned_copy(k5, _at(k5, band_g, right), zero_rows, t["pad_zeros"]))

            k3.when(inside, copy,
                    lambda k4: _aligned_copy(k4, _at(k4, band_g, base), zero_rows, t["padded_w_aligned"]))

        k2.loop(zero, t["band_rows"], one, row, iv_name="j")

    kb.loop(zero, t["cin_per_group"], one, channel, iv_name="c")


def _im2col_aligned(kb: KB, t: Fields, band_g: SSAValue, cols_g: SSAValue, que: SSAValue,
                    l_t: Any, rows: SSAValue) -> None:
    """Arch 200: the cols tile of `_im2col` with DataCopy of whole blocks. One move in and one
    out per (c, ki, kj) and output row; the writes go in increasing GM order and each may spill
    up to a block into the next (then rewritten; the last into the slack after the tile).
    Stride > 1: the row's span comes in whole and is compacted in UB element by element."""
    q = IntOps(kb)
    zero, one = kb.c(0), kb.c(1)
    row_step = q.mul(t["stride_h"], t["padded_w"], "row_step")
    taps = q.mul(t["kh"], t["kw"], "taps")
    unit_stride = kb.name(kb.add(arith.CmpiOp(t["stride_w"], one, "eq")), "unit_stride")
    strided = kb.name(kb.add(arith.CmpiOp(t["stride_w"], one, "sgt")), "strided")

    def tap(k2: KB, kk: SSAValue) -> None:  # kk = (c, ki, kj) flattened: one row of cols
        src, dst = _tap_offsets(IntOps(k2), t, kk, taps)

        def row(k3: KB, r: SSAValue) -> None:
            r_ = IntOps(k3)
            band_row = _at(k3, band_g, r_.add(src, r_.mul(r, row_step)))
            cols_row = _at(k3, cols_g, r_.add(dst, r_.mul(r, t["ow"])))

            def load(k4: KB, ub: SSAValue) -> None:
                k4.when(unit_stride, lambda k5: _aligned_copy(k5, ub, band_row, t["ow_aligned"]),
                        lambda k5: _aligned_copy(k5, ub, band_row, t["gather_span"]))

            def store(k4: KB, ub: SSAValue) -> None:
                def compact(k5: KB) -> None:  # ub[e] = ub[e * stride_w], in place, e ascending
                    k5.call(A.PipeBarrierOp, pipe="PIPE_ALL")

                    def elem(k6: KB, e: SSAValue) -> None:
                        v = k6.name(k6.call(A.GetValueOp, ub, k6.binop(arith.MuliOp, e, t["stride_w"]),
                                            result=f32), "v")
                        k6.call(A.SetValueOp, ub, e, v)

                    k5.loop(one, t["ow"], one, elem, iv_name="e")
                    k5.call(A.PipeBarrierOp, pipe="PIPE_ALL")

                k4.when(strided, compact)
                _aligned_copy(k4, cols_row, ub, t["ow_aligned"])

            _via_ub(k3, que, l_t, load, store, "taps")

        k2.loop(zero, rows, one, row, iv_name="r")

    kb.loop(zero, t["k"], one, tap, iv_name="kk")


@kernel("cir.conv2d")
def conv2d_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    dw = depthwise_plan(op, soc)  # depthwise convs it takes run on the vector unit instead
    if dw is not None:
        return depthwise_launch(name, op, soc, comment, dw)
    return conv_launch(name, op, soc, comment, has_bias=len(op.operands) > 2)


@kernel("cir.conv2d_act")
def conv2d_act_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    p = props(op)
    residual = len(op.operands) > 3
    dw = None if residual else depthwise_plan(op, soc)
    if dw is not None:
        return depthwise_launch(name, op, soc, comment, dw)
    return conv_launch(name, op, soc, comment, has_bias=True, epilogue=Epilogue.of(p["activation"], residual))


@kernel("cir.conv_gn_silu")
def conv_gn_silu_kernel(name: str, op: Operation, soc: Soc, comment: str) -> list[Launch]:
    conv = conv_launch(name, op, soc, comment + "\n(the convolution: result 1)", has_bias=True)
    conv.args = ["operand:0", "operand:1", "operand:2", "result:1"]
    p = props(op)
    kind = "group_norm_silu" if p["activate_silu"] else "group_norm"
    gn = norm_launch(f"{name}_gn", kind, tensor_type(op.results[1]),
                     {"num_groups": p["num_groups"], "epsilon": p["epsilon"]}, True, True, soc,
                     comment + "\n(GroupNorm + SiLU of the convolution: result 0)")
    gn.args = ["result:1", "operand:3", "operand:4", "result:0"]
    return [conv, gn]


@kernel("cir.conv_transpose2d")
def conv_transpose_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    return conv_launch(name, op, soc, comment, has_bias=len(op.operands) > 2)
