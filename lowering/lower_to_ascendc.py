"""``lower-to-ascendc{soc=...}``: a kernel (``ascendc.kernel``) for every CIR op.

Each CIR op in ``@main`` gets the kernels it launches at module level (``ascendc.kernel``), and
an attribute ``cir.launches``: one dictionary per launch, in order, with ``kernel`` (its name),
``block_dim``, ``tiling`` (the tiling struct's values, in field order), ``args`` (what each GM
argument before ``workspace, tiling`` is: ``operand:i``, ``result:i`` or ``weight:NAME``) and
``workspace`` (GM scratch bytes). The launch graph and the runtime read only that. Views
(``cir.reshape`` of an ND tensor) launch nothing. Ops whose kernels print the same C++ up to
the kernel's name share one kernel. Kernel families:

- elementwise (``recipes.toml``): the work is split over ``blockDim`` cores in 32-byte-aligned
  slices; each core streams its slice through UB in tiles sized for the SoC's UB, with
  double-buffered VECIN/VECOUT queues and DataCopyPad for the unaligned tail.

Ops without a kernel family yet stop the pass with the list of them (``partial=true`` lowers
what it can, for tests and inspection).
"""

from __future__ import annotations

import math
import tomllib

import numpy as np
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint

from cir import ops as cir_ops
from cir.errors import CircError, describe_location
from cir.lowering import ascendc as A
from cir.lowering.soc import Soc
from cir.lowering.soc import soc as lookup_soc
from cir.types import dtype_of, numel
from cir.weights import WeightStore, attach, weights_of

RECIPES = Path(__file__).parent / "recipes.toml"
ALIGN = 32


@cache
def recipes() -> dict[str, list[list[Any]]]:
    return tomllib.loads(RECIPES.read_text())


def ctype(t: TensorType) -> str:
    return A.api()["types"][dtype_of(t).name]


class KB:
    """Builds one kernel body: scalar helpers over arith/scf, API calls over ascendc ops."""

    def __init__(self, block: Block):
        self.b = Builder(InsertPoint.at_end(block))

    def add(self, op: Operation) -> Any:
        self.b.insert(op)
        return op.results[0] if op.results else op

    def c(self, v: int) -> SSAValue:
        return self.add(arith.ConstantOp(IntegerAttr(v, i64)))

    def f(self, v: float) -> SSAValue:
        return self.add(arith.ConstantOp(FloatAttr(v, f32)))

    def field(self, name: str) -> SSAValue:
        return self.add(A.TilingFieldOp.build(result_types=[i64], properties={"field": StringAttr(name)}))

    def binop(self, cls: type[Operation], a: SSAValue, b: SSAValue) -> SSAValue:
        return self.add(cls(a, b))

    def loop(self, lb: SSAValue, ub: SSAValue, step: SSAValue, body: Callable[[KB, SSAValue], None]) -> None:
        block = Block(arg_types=[i64])
        inner = KB(block)
        body(inner, block.args[0])
        inner.add(scf.YieldOp())
        self.b.insert(scf.ForOp(lb, ub, step, [], Region(block)))

    def when(self, cond: SSAValue, then: Callable[[KB], None],
             otherwise: Callable[[KB], None] | None = None) -> None:
        regions = []
        for body in (then, otherwise):
            block = Block()
            if body is not None:
                body(KB(block))
            block.add_op(scf.YieldOp())
            regions.append(Region(block))
        self.b.insert(scf.IfOp(cond, [], regions[0], regions[1]))

    def name(self, v: Any, hint: str) -> Any:
        v.name_hint = hint
        return v

    def call(self, cls: type[Operation], *operands: SSAValue, result: Any = None, **props: Any) -> Any:
        properties = {k: StringAttr(v) if isinstance(v, str) else IntegerAttr(v, i64) for k, v in props.items()}
        return self.add(cls.build(operands=list(operands), result_types=[result] if result else [],
                                  properties=properties))


@dataclass
class Launch:
    kernel: A.KernelOp
    block_dim: int
    tiling: dict[str, int]
    # what each GM argument (before workspace, tiling) is: "operand:i", "result:i", "weight:name";
    # None: the op's operands then its results
    args: list[str] | None = None
    weights: dict[str, np.ndarray] | None = None  # compile-time tables the kernel reads
    workspace: int = 0  # GM scratch bytes the kernel needs (all blocks together)


def _split(total: int, elem_bytes: int, soc: Soc, min_per_block: int = 4096) -> tuple[int, int]:
    """(blockDim, elements per block): aligned slices, not more cores than the work wants."""
    align = ALIGN // elem_bytes
    blocks = max(1, min(soc.vector_cores, math.ceil(total / min_per_block)))
    per_block = math.ceil(math.ceil(total / blocks) / align) * align
    return math.ceil(total / per_block), per_block


def new_kernel(name: str, args: list[str], fields: list[tuple[str, str]],
               comment: str) -> tuple[A.KernelOp, dict[str, SSAValue], KB]:
    """An empty ``ascendc.kernel`` with GM arguments `args` (``workspace, tiling`` last) and
    tiling struct `fields`; returns it, its arguments by name, and a builder for its body."""
    kernel = A.KernelOp.build(
        properties={
            "sym_name": StringAttr(name),
            "arg_names": ArrayAttr([StringAttr(a) for a in args]),
            "tiling_fields": A.attr_list(fields),
            "comment": StringAttr(comment),
        },
        regions=[Region(Block(arg_types=[A.GmPtrType()] * len(args)))],
    )
    return kernel, dict(zip(args, kernel.body.block.args)), KB(kernel.body.block)


def block_slice(k: KB, total: SSAValue, per_block: SSAValue) -> tuple[SSAValue, SSAValue]:
    """This core's slice [begin, begin + length) of `total` elements; idle cores return."""
    block = k.call(A.BlockIdxOp, result=i64)
    begin = k.name(k.binop(arith.MuliOp, block, per_block), "begin")
    rest = k.name(k.binop(arith.SubiOp, total, begin), "rest")
    length = k.name(k.add(arith.MinSIOp(per_block, rest)), "length")
    k.when(k.name(k.add(arith.CmpiOp(length, k.c(0), "sle")), "idle"),
           lambda kb: kb.add(A.ReturnOp.build()))
    return begin, length


def elementwise_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    out_t = op.results[0].type
    assert isinstance(out_t, TensorType)
    total = numel(out_t.get_shape())
    scalar_idx = [i for i, v in enumerate(op.operands)
                  if numel(v.type.get_shape()) == 1 and total > 1]  # type: ignore[attr-defined]
    key = op.name
    if op.name == "cir.gelu":
        key = "cir.gelu.tanh" if op.p["approximate"] == "tanh" else "cir.gelu"  # type: ignore[attr-defined]
    if scalar_idx and len(op.operands) == 2:
        key += ".scalar"
    recipe = recipes().get(key)
    if recipe is None:
        raise NotImplementedError(key)
    if any(v.type.get_shape() != out_t.get_shape() for i, v in enumerate(op.operands)  # type: ignore[attr-defined]
           if i not in scalar_idx):
        raise NotImplementedError(f"{op.name} with broadcasting")
    if scalar_idx and scalar_idx[0] == 0 and op.name in ("cir.sub", "cir.div"):
        raise NotImplementedError(f"{op.name} with a scalar first operand")
    ty = ctype(out_t)
    elem_bytes = dtype_of(out_t).itemsize
    tensors = [i for i in range(len(op.operands)) if i not in scalar_idx]
    temps = sorted({a for step in recipe for a in step[1:] if isinstance(a, str) and a.startswith("t")})
    n_buffers = 2 * (len(tensors) + 1) + len(temps)  # double-buffered queues + scratch
    tile = (soc.ub_bytes // n_buffers) // ALIGN * ALIGN // elem_bytes
    tile = max(ALIGN // elem_bytes, min(tile, 16384))
    block_dim, per_block = _split(total, elem_bytes, soc)
    args = [f"x{i}" for i in range(len(op.operands))] + ["y", "workspace", "tiling"]
    kernel, gm, k = new_kernel(
        name, args, [("total", "int64_t"), ("per_block", "int64_t"), ("tile", "int64_t")], comment)
    g_t, l_t = A.GlobalType(StringAttr(ty)), A.LocalType(StringAttr(ty))
    total_v, per_block_v, tile_v = k.field("total"), k.field("per_block"), k.field("tile")
    zero = k.c(0)
    begin, length = block_slice(k, total_v, per_block_v)
    globals_ = {i: k.name(k.call(A.GlobalTensorOp, gm[f"x{i}"], begin, length, result=g_t), f"x{i}_gm")
                for i in tensors}
    out_g = k.name(k.call(A.GlobalTensorOp, gm["y"], begin, length, result=g_t), "y_gm")
    scalars = {}
    for i in scalar_idx:  # a single value: read it once from GM
        sg = k.name(k.call(A.GlobalTensorOp, gm[f"x{i}"], zero, k.c(1), result=g_t), f"x{i}_gm")
        scalars[f"s{len(scalars)}"] = k.name(k.call(A.GetValueOp, sg, zero, result=f32), f"s{len(scalars)}")
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    que_in = {i: k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), f"in_que{i}")
              for i in tensors}
    que_out = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
    tile_bytes = k.name(k.binop(arith.MuliOp, tile_v, k.c(elem_bytes)), "tile_bytes")
    for q in (*que_in.values(), que_out):
        k.call(A.InitBufferOp, pipe, q, tile_bytes, num=2)
    bufs = {t: k.name(k.call(A.BufOp, result=A.BufType()), f"{t}_buf") for t in temps}
    for b in bufs.values():
        k.call(A.InitBufferOp, pipe, b, tile_bytes, num=1)
    block_bytes = k.c(ALIGN)

    def tile_body(kb: KB, off: SSAValue) -> None:
        left = kb.name(kb.binop(arith.SubiOp, length, off), "left")
        n = kb.name(kb.add(arith.MinSIOp(tile_v, left)), "n")
        nbytes = kb.name(kb.binop(arith.MuliOp, n, kb.c(elem_bytes)), "n_bytes")
        tail = kb.name(kb.binop(arith.RemSIOp, nbytes, block_bytes), "tail_bytes")
        aligned = kb.name(kb.add(arith.CmpiOp(tail, kb.c(0), "eq")), "aligned")
        locals_: dict[str, SSAValue] = {}
        for j, i in enumerate(tensors):  # CopyIn
            t = kb.name(kb.call(A.AllocTensorOp, que_in[i], result=l_t), f"x{i}_in")
            src = kb.call(A.AtOp, globals_[i], off, result=g_t)
            _copy(kb, aligned, t, src, n, soc, elem_bytes)
            kb.call(A.EnQueOp, que_in[i], t)
        for j, i in enumerate(tensors):  # Compute
            locals_[f"x{i}"] = kb.name(kb.call(A.DeQueOp, que_in[i], result=l_t), f"x{i}_ub")
        locals_["y"] = kb.name(kb.call(A.AllocTensorOp, que_out, result=l_t), "y_ub")
        for t, b in bufs.items():
            locals_[t] = kb.name(kb.call(A.BufGetOp, b, result=l_t), t)
        for step in recipe:
            _emit_step(kb, step, locals_, scalars, n)
        kb.call(A.EnQueOp, que_out, locals_["y"])
        for i in tensors:
            kb.call(A.FreeTensorOp, que_in[i], locals_[f"x{i}"])
        y = kb.name(kb.call(A.DeQueOp, que_out, result=l_t), "y_out")  # CopyOut
        dst = kb.call(A.AtOp, out_g, off, result=g_t)
        _copy(kb, aligned, dst, y, n, soc, elem_bytes)
        kb.call(A.FreeTensorOp, que_out, y)

    k.loop(zero, length, tile_v, tile_body)
    return Launch(kernel, block_dim, {"total": total, "per_block": per_block, "tile": tile})


def _copy(kb: KB, aligned: SSAValue, dst: SSAValue, src: SSAValue, n: SSAValue,
          soc: Soc, elem_bytes: int) -> None:
    """DataCopy when the byte count is a multiple of 32; otherwise DataCopyPad where the SoC
    has it (arch 220), else DataCopy of the 32-byte-aligned part and the tail element by
    element (arch 200 has no DataCopyPad)."""
    if soc.arch >= 220:
        kb.when(aligned, lambda k: k.call(A.DataCopyOp, dst, src, n),
                lambda k: k.call(A.DataCopyPadOp, dst, src, n))
        return

    def split(k: KB) -> None:
        per_block = k.c(ALIGN // elem_bytes)
        body = k.name(k.binop(arith.SubiOp, n, k.binop(arith.RemSIOp, n, per_block)), "n_aligned")
        k.when(k.add(arith.CmpiOp(body, k.c(0), "sgt")), lambda k2: k2.call(A.DataCopyOp, dst, src, body))

        def tail(k2: KB, j: SSAValue) -> None:
            k2.call(A.SetValueOp, dst, j, k2.name(k2.call(A.GetValueOp, src, j, result=f32), "e"))

        k.loop(body, n, k.c(1), tail)

    kb.when(aligned, lambda k: k.call(A.DataCopyOp, dst, src, n), split)


_BINARY = {"Add", "Sub", "Mul", "Div", "Max", "Min"}
_SCALAR = {"Adds", "Muls", "Maxs", "Mins"}


def _emit_step(kb: KB, step: Sequence[Any], bufs: dict[str, SSAValue],
               scalars: dict[str, SSAValue], n: SSAValue) -> None:
    fn, dst, *srcs = step
    if fn in _BINARY:
        kb.call(A.VecBinaryOp, bufs[dst], bufs[srcs[0]], bufs[srcs[1]], n, fn=fn)
    elif fn in _SCALAR:
        sc = scalars[srcs[1]] if isinstance(srcs[1], str) else kb.f(float(srcs[1]))
        kb.call(A.VecScalarOp, bufs[dst], bufs[srcs[0]], sc, n, fn=fn)
    else:
        kb.call(A.VecUnaryOp, bufs[dst], bufs[srcs[0]], n, fn=fn)
    kb.call(A.PipeBarrierOp, pipe="PIPE_V")


# --- data movement: one gather kernel driven by a compile-time index map ------------------
#
# The op's own reference kernel, run on an array of element indices instead of data, says for
# every output element which input element it copies (-1: padding). The kernel streams that
# map and gathers; one kernel covers transpose, slice, broadcast, tile, pad, nearest upsample
# and split, and is exactly as correct as the reference interpreter.

GATHER_OPS = ("cir.transpose", "cir.slice", "cir.broadcast_to", "cir.tile", "cir.pad",
              "cir.upsample")


def index_maps(op: Operation) -> list[np.ndarray]:
    from cir.interpreter import _PAD_MODES, KERNELS

    x = op.operands[0].type
    assert isinstance(x, TensorType)
    idx = np.arange(numel(x.get_shape()), dtype=np.float64).reshape(x.get_shape())
    if op.name == "cir.upsample" and op.p["mode"] != "nearest":  # type: ignore[attr-defined]
        raise NotImplementedError("cir.upsample bilinear")
    if op.name == "cir.pad":
        p = op.p  # type: ignore[attr-defined]
        widths = list(zip(p["low"], p["high"]))
        out = (np.pad(idx, widths, constant_values=-1) if p["mode"] == "constant"
               else np.pad(idx, widths, mode=_PAD_MODES[p["mode"]]))
        return [out.astype(np.int32)]
    outs = KERNELS[type(op)](op, idx)
    outs = outs if isinstance(outs, tuple) else (outs,)
    return [np.asarray(o).astype(np.int32) for o in outs]


def gather_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    if len(op.results) != 1:
        raise NotImplementedError(f"{op.name} with several results")
    out_t = op.results[0].type
    assert isinstance(out_t, TensorType)
    (imap,) = index_maps(op)
    ty = ctype(out_t)
    total = numel(out_t.get_shape())
    block_dim, per_block = _split(total, 4, soc)
    pad = float(op.p["value"]) if op.name == "cir.pad" else 0.0  # type: ignore[attr-defined]
    args = ["x0", "map", "y", "workspace", "tiling"]
    kernel, gm, k = new_kernel(
        name, args, [("total", "int64_t"), ("per_block", "int64_t"), ("in_total", "int64_t")],
        comment + "\n(gather through a compile-time index map)")
    g_t = A.GlobalType(StringAttr(ty))
    m_t = A.GlobalType(StringAttr("int32_t"))
    total_v, per_block_v, in_total = k.field("total"), k.field("per_block"), k.field("in_total")
    zero = k.c(0)
    begin, length = block_slice(k, total_v, per_block_v)
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, in_total, result=g_t), "x_gm")
    m_g = k.name(k.call(A.GlobalTensorOp, gm["map"], begin, length, result=m_t), "map_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], begin, length, result=g_t), "y_gm")
    pad_v = k.name(k.f(pad), "pad_value")

    def body(kb: KB, i: SSAValue) -> None:
        src = kb.name(kb.call(A.GetValueOp, m_g, i, result=i64), "src")
        inside = kb.name(kb.add(arith.CmpiOp(src, kb.c(0), "sge")), "inside")
        kb.when(inside,
                lambda k2: k2.call(A.SetValueOp, y_g, i, k2.name(k2.call(A.GetValueOp, x_g, src, result=f32), "v")),
                lambda k2: k2.call(A.SetValueOp, y_g, i, pad_v))

    k.loop(zero, length, k.c(1), body)
    in_t = op.operands[0].type
    return Launch(kernel, block_dim,
                  {"total": total, "per_block": per_block, "in_total": numel(in_t.get_shape())},  # type: ignore[attr-defined]
                  args=["operand:0", f"weight:_map.{name}", "result:0"],
                  weights={f"_map.{name}": imap.reshape(-1)})


# --- norms: two-pass (mean, variance) then normalise, fp32 accumulation ------------------
#
# A "row" is what one normalisation covers: the trailing dims from `axis` (layer/rms norm) or
# one group of channels (group norm). Each core takes whole rows; a row streams through UB in
# tiles three times: sum (mean), sum of squared deviations (variance), normalise + affine
# (+ SiLU). fp16 tiles are widened to fp32 for every reduction and the arithmetic.

NORM_OPS = ("cir.layer_norm", "cir.rms_norm", "cir.group_norm", "cir.group_norm_silu")


def norm_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    x_t = op.operands[0].type
    assert isinstance(x_t, TensorType)
    kind = op.name.removeprefix("cir.")
    if kind == "group_norm_silu" and not op.p["activate_silu"]:  # type: ignore[attr-defined]
        kind = "group_norm"
    return norm_launch(name, kind, x_t, op.p, len(op.operands) > 1, len(op.operands) > 2,  # type: ignore[attr-defined]
                       soc, comment)


def norm_launch(name: str, kind: str, x_t: TensorType, p: dict[str, Any], has_w: bool,
                has_b: bool, soc: Soc, comment: str) -> Launch:
    """A norm kernel: `kind` is layer_norm, rms_norm, group_norm or group_norm_silu; `p` holds
    axis or num_groups, and epsilon. GM arguments: x0, (x1 gamma, (x2 beta)), y."""
    from xdsl.dialects import math as xmath

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
    silu = kind == "group_norm_silu"
    centred = kind != "rms_norm"
    ty = ctype(x_t)
    elem_bytes = dtype_of(x_t).itemsize
    wide = ty != "float"
    f32_t, l_t = A.LocalType(StringAttr("float")), A.LocalType(StringAttr(ty))
    g_t = A.GlobalType(StringAttr(ty))
    # UB: input queue x2, output queue x2 (native type), 3 fp32 scratch tiles (+ gamma tile)
    per_elem = 4 * elem_bytes + 4 * (3 + (has_w and not grouped) + (has_b and not grouped))
    tile = max(ALIGN // elem_bytes, (soc.ub_bytes - 4 * ALIGN) // per_elem // 16 * 16)
    tile = min(tile, 8192)
    blocks = max(1, min(soc.vector_cores, rows))
    rows_per_block = math.ceil(rows / blocks)
    block_dim = math.ceil(rows / rows_per_block)
    args = ["x0"] + ["x1"] * has_w + ["x2"] * has_b + ["y", "workspace", "tiling"]
    fields = [("rows", "int64_t"), ("rows_per_block", "int64_t"), ("row_len", "int64_t"),
              ("tile", "int64_t"), ("hw", "int64_t"), ("ch_per_group", "int64_t"),
              ("groups", "int64_t")]
    kernel, gm, k = new_kernel(name, args, fields, comment + "\n(two-pass norm, fp32 accumulation)")
    rows_v, rpb, row_len_v, tile_v, hw_v, cpg, groups_v = (k.field(f) for f, _ in fields)
    zero, one = k.c(0), k.c(1)
    block = k.call(A.BlockIdxOp, result=i64)
    first = k.name(k.binop(arith.MuliOp, block, rpb), "first_row")
    last = k.name(k.add(arith.MinSIOp(k.binop(arith.AddiOp, first, rpb), rows_v)), "end_row")
    total = k.name(k.binop(arith.MuliOp, rows_v, row_len_v), "total")
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], zero, total, result=g_t), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, total, result=g_t), "y_gm")
    w_len = k.binop(arith.MuliOp, groups_v, cpg) if grouped else row_len_v
    w_g = k.name(k.call(A.GlobalTensorOp, gm["x1"], zero, w_len, result=g_t), "gamma_gm") if has_w else None
    b_g = k.name(k.call(A.GlobalTensorOp, gm["x2"], zero, w_len, result=g_t), "beta_gm") if has_b else None
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    qin = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), "in_que")
    qout = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
    native_bytes = k.name(k.binop(arith.MuliOp, tile_v, k.c(elem_bytes)), "tile_bytes")
    f32_bytes = k.name(k.binop(arith.MuliOp, tile_v, k.c(4)), "tile_f32_bytes")
    k.call(A.InitBufferOp, pipe, qin, native_bytes, num=2)
    k.call(A.InitBufferOp, pipe, qout, native_bytes, num=2)
    scratch = {}
    for nm in ["xf", "tmp", "work"] + (["wf"] if has_w and not grouped else []) + (["bf"] if has_b and not grouped else []):
        b = k.name(k.call(A.BufOp, result=A.BufType()), f"{nm}_buf")
        k.call(A.InitBufferOp, pipe, b, f32_bytes, num=1)
        scratch[nm] = b
    inv_len = k.name(k.add(arith.DivfOp(k.f(1.0), k.add(arith.SIToFPOp(row_len_v, f32)))), "inv_len")
    eps = k.name(k.f(float(p["epsilon"])), "eps")

    def load(kb: KB, src_g: Any, off: SSAValue, n: SSAValue, dst_f32: SSAValue) -> None:
        """GM tile -> fp32 UB tile (through the input queue)."""
        t = kb.name(kb.call(A.AllocTensorOp, qin, result=l_t), "x_in")
        aligned = kb.add(arith.CmpiOp(kb.binop(arith.RemSIOp, kb.binop(arith.MuliOp, n, kb.c(elem_bytes)), kb.c(ALIGN)), kb.c(0), "eq"))
        _copy(kb, aligned, t, kb.call(A.AtOp, src_g, off, result=g_t), n, soc, elem_bytes)
        kb.call(A.EnQueOp, qin, t)
        u = kb.name(kb.call(A.DeQueOp, qin, result=l_t), "x_ub")
        if wide:
            kb.call(A.CastOp, dst_f32, u, n, round="none")
        else:  # a count-form vector copy: DataCopy would need a 32-byte multiple
            kb.call(A.VecScalarOp, dst_f32, u, kb.f(0.0), n, fn="Adds")
        kb.call(A.PipeBarrierOp, pipe="PIPE_V")
        kb.call(A.FreeTensorOp, qin, u)

    def reduce_sum(kb: KB, src: SSAValue, n: SSAValue) -> SSAValue:
        work = kb.name(kb.call(A.BufGetOp, scratch["work"], result=f32_t), "work")
        kb.call(A.ReduceOp, work, src, work, n, fn="ReduceSum")
        kb.call(A.PipeBarrierOp, pipe="PIPE_V")
        return kb.name(kb.call(A.GetValueOp, work, kb.c(0), result=f32), "part")

    def row_body(kb: KB, row: SSAValue) -> None:
        base = kb.name(kb.binop(arith.MuliOp, row, row_len_v), "base")
        xf = kb.name(kb.call(A.BufGetOp, scratch["xf"], result=f32_t), "xf")
        tmp = kb.name(kb.call(A.BufGetOp, scratch["tmp"], result=f32_t), "tmp")
        # pass 1: mean (rms norm: no centring)
        mean = kb.f(0.0)
        if centred:
            acc = _accumulate(kb, row_len_v, tile_v, lambda k2, off, n: (
                load(k2, x_g, k2.binop(arith.AddiOp, base, off), n, xf), reduce_sum(k2, xf, n))[1])
            mean = kb.name(kb.add(arith.MulfOp(acc, inv_len)), "mean")
        neg_mean = kb.name(kb.add(arith.SubfOp(kb.f(0.0), mean)), "neg_mean")

        def sq(k2: KB, off: SSAValue, n: SSAValue) -> SSAValue:
            load(k2, x_g, k2.binop(arith.AddiOp, base, off), n, xf)
            k2.call(A.VecScalarOp, tmp, xf, neg_mean, n, fn="Adds")
            k2.call(A.PipeBarrierOp, pipe="PIPE_V")
            k2.call(A.VecBinaryOp, tmp, tmp, tmp, n, fn="Mul")
            k2.call(A.PipeBarrierOp, pipe="PIPE_V")
            return reduce_sum(k2, tmp, n)

        var = kb.name(kb.add(arith.MulfOp(_accumulate(kb, row_len_v, tile_v, sq), inv_len)), "var")
        rstd = kb.name(kb.add(arith.DivfOp(kb.f(1.0), kb.add(xmath.SqrtOp(kb.add(arith.AddfOp(var, eps)))))), "rstd")
        shift = kb.name(kb.add(arith.MulfOp(neg_mean, rstd)), "shift")

        def normalise(k2: KB, off: SSAValue, n: SSAValue, scale: SSAValue | None, bias: SSAValue | None,
                      woff: SSAValue | None) -> None:
            load(k2, x_g, k2.binop(arith.AddiOp, base, off), n, xf)
            k2.call(A.VecScalarOp, xf, xf, rstd, n, fn="Muls")
            k2.call(A.PipeBarrierOp, pipe="PIPE_V")
            k2.call(A.VecScalarOp, xf, xf, shift, n, fn="Adds")
            k2.call(A.PipeBarrierOp, pipe="PIPE_V")
            if scale is not None:
                k2.call(A.VecScalarOp, xf, xf, scale, n, fn="Muls")
                k2.call(A.PipeBarrierOp, pipe="PIPE_V")
            if bias is not None:
                k2.call(A.VecScalarOp, xf, xf, bias, n, fn="Adds")
                k2.call(A.PipeBarrierOp, pipe="PIPE_V")
            if woff is not None:  # per-element affine (layer / rms norm)
                for key, g in (("wf", w_g), ("bf", b_g)):
                    if g is None:
                        continue
                    buf = k2.name(k2.call(A.BufGetOp, scratch[key], result=f32_t), key)
                    load(k2, g, k2.binop(arith.AddiOp, woff, off), n, buf)
                    k2.call(A.VecBinaryOp, xf, xf, buf, n, fn="Mul" if key == "wf" else "Add")
                    k2.call(A.PipeBarrierOp, pipe="PIPE_V")
            if silu:
                k2.call(A.VecScalarOp, tmp, xf, k2.f(-1.0), n, fn="Muls")
                k2.call(A.PipeBarrierOp, pipe="PIPE_V")
                k2.call(A.VecUnaryOp, tmp, tmp, n, fn="Exp")
                k2.call(A.PipeBarrierOp, pipe="PIPE_V")
                k2.call(A.VecScalarOp, tmp, tmp, k2.f(1.0), n, fn="Adds")
                k2.call(A.PipeBarrierOp, pipe="PIPE_V")
                k2.call(A.VecBinaryOp, xf, xf, tmp, n, fn="Div")
                k2.call(A.PipeBarrierOp, pipe="PIPE_V")
            out = k2.name(k2.call(A.AllocTensorOp, qout, result=l_t), "y_ub")
            if wide:
                k2.call(A.CastOp, out, xf, n, round="rint")
            else:
                k2.call(A.VecScalarOp, out, xf, k2.f(0.0), n, fn="Adds")
            k2.call(A.PipeBarrierOp, pipe="PIPE_V")
            k2.call(A.EnQueOp, qout, out)
            y = k2.name(k2.call(A.DeQueOp, qout, result=l_t), "y_out")
            aligned = k2.add(arith.CmpiOp(k2.binop(arith.RemSIOp, k2.binop(arith.MuliOp, n, k2.c(elem_bytes)), k2.c(ALIGN)), k2.c(0), "eq"))
            _copy(k2, aligned, k2.call(A.AtOp, y_g, k2.binop(arith.AddiOp, base, off), result=g_t), y, n, soc, elem_bytes)
            k2.call(A.FreeTensorOp, qout, y)

        if grouped:  # per-channel affine: walk the group's channels, each a run of hw elements
            group = kb.name(kb.binop(arith.RemSIOp, row, groups_v), "group")

            def channel(k2: KB, ci: SSAValue) -> None:
                ch = k2.name(k2.binop(arith.AddiOp, k2.binop(arith.MuliOp, group, cpg), ci), "channel")
                scale = (k2.name(k2.call(A.GetValueOp, w_g, ch, result=f32), "gamma")
                         if w_g is not None else None)
                bias = (k2.name(k2.call(A.GetValueOp, b_g, ch, result=f32), "beta")
                        if b_g is not None else None)
                start = k2.name(k2.binop(arith.MuliOp, ci, hw_v), "start")

                def tile_fn(k3: KB, t0: SSAValue) -> None:
                    n = k3.name(k3.add(arith.MinSIOp(tile_v, k3.binop(arith.SubiOp, hw_v, t0))), "n")
                    normalise(k3, k3.binop(arith.AddiOp, start, t0), n, scale, bias, None)

                k2.loop(k2.c(0), hw_v, tile_v, tile_fn)

            kb.loop(kb.c(0), cpg, one, channel)
        else:
            def tile_fn(k3: KB, t0: SSAValue) -> None:
                n = k3.name(k3.add(arith.MinSIOp(tile_v, k3.binop(arith.SubiOp, row_len_v, t0))), "n")
                normalise(k3, t0, n, None, None, k3.c(0))

            kb.loop(kb.c(0), row_len_v, tile_v, tile_fn)

    k.loop(first, last, one, row_body)
    return Launch(kernel, block_dim, {"rows": rows, "rows_per_block": rows_per_block,
                                      "row_len": row_len, "tile": tile, "hw": hw,
                                      "ch_per_group": ch_per_group, "groups": groups})


def _accumulate(kb: KB, length: SSAValue, tile: SSAValue,
                part: Callable[[KB, SSAValue, SSAValue], SSAValue]) -> SSAValue:
    """Sum part(off, n) over the tiles of [0, length): a loop-carried fp32 accumulator."""
    block = Block(arg_types=[i64, f32])
    inner = KB(block)
    off, acc = block.args
    n = inner.name(inner.add(arith.MinSIOp(tile, inner.binop(arith.SubiOp, length, off))), "n")
    total = inner.add(arith.AddfOp(acc, part(inner, off, n)))
    inner.add(scf.YieldOp(total))
    loop = scf.ForOp(kb.c(0), length, tile, [kb.f(0.0)], Region(block))
    kb.b.insert(loop)
    return loop.results[0]


Generator = Callable[[str, Operation, Soc, str], "Launch | list[Launch]"]
FAMILIES: dict[str, Generator] = {
    name.split(".scalar")[0].replace(".tanh", ""): elementwise_kernel for name in recipes()
} | {name: gather_kernel for name in GATHER_OPS} | {name: norm_kernel for name in NORM_OPS}
VIEWS = ("cir.reshape",)  # same bytes, new shape: no kernel
SKIP = (cir_ops.WeightOp, cir_ops.ConstantOp, func.ReturnOp)


def register(names: Sequence[str], gen: Generator) -> None:
    """Add a kernel family (lowering modules call this for the ops they cover)."""
    for n in names:
        FAMILIES[n] = gen


def _comment(op: Operation) -> str:
    where = describe_location(op.location)
    return f"circ kernel for {op.name}" + (f" at {where}" if where else "")


def _body_key(kernel: A.KernelOp) -> str:
    """The kernel's C++ with its name and comment left out: equal keys, interchangeable kernels."""
    from cir.lowering.cpp import print_kernel

    text = print_kernel(kernel)
    name = kernel.sym_name.data
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("// "))
    return body.replace(name, "@K")


def launches_attr(launches: Sequence[Launch], op: Operation) -> ArrayAttr:
    out = []
    for ln in launches:
        binding = ln.args or ([f"operand:{j}" for j in range(len(op.operands))]
                              + [f"result:{j}" for j in range(len(op.results))])
        out.append(DictionaryAttr({
            "kernel": StringAttr(ln.kernel.sym_name.data),
            "block_dim": IntegerAttr(ln.block_dim, i64),
            "tiling": DictionaryAttr({k: IntegerAttr(v, i64) for k, v in ln.tiling.items()}),
            "args": ArrayAttr([StringAttr(a) for a in binding]),
            "workspace": IntegerAttr(ln.workspace, i64),
        }))
    return ArrayAttr(out)


@dataclass(frozen=True)
class LowerToAscendCPass(ModulePass):
    """Generate the AscendC kernels of every CIR op of ``@main`` (see the module docstring)."""

    name = "lower-to-ascendc"

    soc: str = "Ascend910B1"
    partial: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        _load_families()
        chip = lookup_soc(self.soc)
        try:
            store = weights_of(op)
            attach(op, store)
        except CircError:
            store = WeightStore()
        fns = [f for f in op.ops if isinstance(f, func.FuncOp)]
        missing: dict[str, list[Operation]] = {}
        kernels: dict[str, A.KernelOp] = {}  # body key -> the kernel ops share
        for f in fns:
            for i, cop in enumerate(list(f.body.block.ops)):
                if isinstance(cop, SKIP):
                    continue
                if cop.name in VIEWS and _is_view(cop):
                    cop.attributes["cir.launches"] = ArrayAttr([])
                    continue
                name = f"{cop.name.removeprefix('cir.')}_{i}"
                gen = FAMILIES.get(cop.name)
                try:
                    if gen is None:
                        raise NotImplementedError(cop.name)
                    made = gen(name, cop, chip, _comment(cop))
                except NotImplementedError as e:
                    missing.setdefault(str(e), []).append(cop)
                    continue
                launches = made if isinstance(made, list) else [made]
                for ln in launches:
                    key = _body_key(ln.kernel)
                    shared = kernels.setdefault(key, ln.kernel)
                    if shared is not ln.kernel:
                        ln.kernel = shared
                        note = f"also for {cop.name} at {describe_location(cop.location) or '?'}"
                        old = shared.comment.data if shared.comment else ""
                        if old.count("\nalso for ") < 3:
                            shared.properties["comment"] = StringAttr(old + "\n" + note)
                    for wname, arr in (ln.weights or {}).items():
                        store[wname] = arr
                cop.attributes["cir.launches"] = launches_attr(launches, cop)
        if missing and not self.partial:
            lines = [f"lower-to-ascendc: no kernel yet for {len(missing)} kind(s) of op:"]
            lines += [f"  {k} x{len(v)}, first at {describe_location(v[0].location) or '?'}"
                      for k, v in missing.items()]
            raise CircError("\n".join(lines))
        for kop in kernels.values():
            op.body.block.add_op(kop)
        op.attributes["cir.soc"] = StringAttr(chip.name)


def _is_view(op: Operation) -> bool:
    from cir.types import format_of

    return all(format_of(v.type) == "ND" for v in (*op.operands, *op.results))


@cache
def _load_families() -> None:
    """Import the modules that register further kernel families."""
    import importlib

    for mod in FAMILY_MODULES:
        importlib.import_module(mod)


# modules that call register(): cube (matmul/conv), attention/softmax/reductions, misc ops
FAMILY_MODULES: tuple[str, ...] = ()
