"""Elementwise kernel families: the flat elementwise kernel (``recipes.toml``), broadcasting
row kernels, GeGLU and Cast.

**Flat elementwise.** The work is split over ``blockDim`` cores in 32-byte-aligned slices; each
core streams its slice through UB in tiles sized for the SoC's UB, with double-buffered
VECIN/VECOUT queues and DataCopyPad (arch 220) or DataCopy + element tails (arch 200) for the
unaligned tail. Each op is its recipe: count-form vector calls over the tile.

**Row kernels.** The output is viewed as ``[rows, inner]``: ``inner`` is the longest run of
trailing dimensions over which every operand is either contiguous or constant, ``rows`` the
product of the others (kept as up to a few row dimensions). Each operand reads, for a row with
multi-index ``(i_0, ..., i_k)``, from ``offset + sum(i_j * stride_j)`` (stride 0 where it is
broadcast) and, along ``inner``, either a contiguous run (DataCopy into UB) or one value
(GetValue, Duplicate). Rows are split over ``blockDim`` cores; each row streams through UB in
tiles with double-buffered queues, and the op's recipe computes the tile. Shape numbers (rows,
dimension sizes, strides, offsets) are tiling fields, so one kernel serves every shape with the
same structure.

**Cast** converts through UB with the hardware's Cast pairs (``casts.toml``, per arch), or two
Casts through a UB tile of an intermediate type where the table has no direct pair.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cir.lowering import ascendc as A
from cir.lowering.builder import (
    ALIGN,
    KB,
    Launch,
    SliceTiling,
    block_rows,
    block_slice,
    copy_tile,
    ctype,
    emit_step,
    kernel,
    new_kernel,
    props,
    split_elements,
    split_rows,
    tensor_type,
)
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntAttr, StringAttr, TensorType, f32
from xdsl.ir import Attribute, Operation, SSAValue

from cir.ops import ACTIVATION_OPS
from cir.soc import Soc
from cir.types import dtype_of, is_bool, numel

RECIPES = Path(__file__).parent.parent / "recipes.toml"
CASTS = Path(__file__).parent.parent / "casts.toml"
MAX_ROW_DIMS = 4
BINARY_OPS = ("cir.add", "cir.sub", "cir.mul", "cir.div", "cir.pow", "cir.maximum", "cir.minimum")


@cache
def recipes() -> dict[str, list[list[Any]]]:
    return tomllib.loads(RECIPES.read_text())


def activation_recipe(activation: str) -> list[list[Any]]:
    """The steps of a fused epilogue's activation (ops.ACTIVATIONS; "none": none): x0 -> y,
    the recipe of the elementwise op ops.ACTIVATION_OPS names."""
    if activation == "none":
        return []
    return recipes()[_key(*ACTIVATION_OPS[activation])]


def recipe_temps(recipe: list[list[Any]]) -> list[str]:
    """The temporaries (t0, t1, ...) a recipe writes and reads."""
    return sorted({a for step in recipe for a in step[1:] if isinstance(a, str) and a.startswith("t")})


FLAT_OPS = tuple(n for n in dict.fromkeys(".".join(r.split(".")[:2]) for r in recipes()) if n not in BINARY_OPS)


@kernel(*FLAT_OPS)
def elementwise_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    out_t = op.results[0].type
    assert isinstance(out_t, TensorType)
    total = numel(out_t.get_shape())
    scalar_idx = [i for i, v in enumerate(op.operands)
                  if numel(tensor_type(v).get_shape()) == 1 and total > 1]
    key = recipe_key(op)
    if scalar_idx and len(op.operands) == 2:
        key += ".scalar"
    recipe = recipes().get(key)
    if recipe is None:
        raise NotImplementedError(key)
    if any(tensor_type(v).get_shape() != out_t.get_shape() for i, v in enumerate(op.operands)
           if i not in scalar_idx):
        raise NotImplementedError(f"{op.name} with broadcasting")
    if scalar_idx and scalar_idx[0] == 0 and op.name in ("cir.sub", "cir.div"):
        raise NotImplementedError(f"{op.name} with a scalar first operand")
    ty = ctype(out_t)
    check_recipe_types(recipe, ty, op.name)
    elem_bytes = dtype_of(out_t).itemsize
    tensors = [i for i in range(len(op.operands)) if i not in scalar_idx]
    temps = sorted({a for step in recipe for a in step[1:] if isinstance(a, str) and a.startswith("t")})
    n_buffers = 2 * (len(tensors) + 1) + len(temps)  # double-buffered queues + scratch
    tile = (soc.ub_bytes // n_buffers) // ALIGN * ALIGN // elem_bytes
    tile = max(ALIGN // elem_bytes, min(tile, 16384))
    block_dim, per_block = split_elements(total, elem_bytes, soc)
    args = [f"x{i}" for i in range(len(op.operands))] + ["y", "workspace", "tiling"]
    kernel, gm, k = new_kernel(name, args, SliceTiling, comment)
    g_t, l_t = A.GlobalType(StringAttr(ty)), A.LocalType(StringAttr(ty))
    f = k.fields(SliceTiling)
    total_v, per_block_v, tile_v = f.total, f.per_block, f.tile
    zero = k.c(0)
    begin, length = block_slice(k, total_v, per_block_v)
    globals_ = {i: k.name(k.call(A.GlobalTensorOp, gm[f"x{i}"], begin, length, result=g_t), f"x{i}_gm")
                for i in tensors}
    out_g = k.name(k.call(A.GlobalTensorOp, gm["y"], begin, length, result=g_t), "y_gm")
    scalars = prop_scalars(k, op)
    for i in scalar_idx:  # a single value: read it once from GM
        sg = k.name(k.call(A.GlobalTensorOp, gm[f"x{i}"], zero, k.c(1), result=g_t), f"x{i}_gm")
        scalars["s0"] = k.name(k.call(A.GetValueOp, sg, zero, result=f32), "s0")
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
        for i in tensors:  # CopyIn
            t = kb.name(kb.call(A.AllocTensorOp, que_in[i], result=l_t), f"x{i}_in")
            src = kb.call(A.AtOp, globals_[i], off, result=g_t)
            copy_tile(kb, aligned, t, src, n, soc, elem_bytes)
            kb.call(A.EnQueOp, que_in[i], t)
        compute_tile(kb, tensors, que_in, que_out, bufs, recipe, scalars, n, l_t)
        copy_out_tile(kb, que_out, l_t, lambda kb: kb.call(A.AtOp, out_g, off, result=g_t),
                      aligned, n, soc, elem_bytes)

    k.loop(zero, length, tile_v, tile_body)
    return Launch(kernel, block_dim, SliceTiling(total=total, per_block=per_block, tile=tile).values())


def compute_tile(kb: KB, ins: Sequence[int], que_in: Mapping[int, SSAValue] | Sequence[SSAValue],
                 que_out: SSAValue,
                 bufs: Mapping[str, SSAValue], recipe: Sequence[Sequence[Any]],
                 scalars: dict[str, SSAValue], n: SSAValue, l_t: Attribute) -> None:
    """The Compute stage of a queued tile: take inputs `ins` from their queues, run the recipe
    into a y tile (with the scratch `bufs`), queue y, free the inputs."""
    locals_: dict[str, SSAValue] = {}
    for i in ins:
        locals_[f"x{i}"] = kb.name(kb.call(A.DeQueOp, que_in[i], result=l_t), f"x{i}_ub")
    locals_["y"] = kb.name(kb.call(A.AllocTensorOp, que_out, result=l_t), "y_ub")
    for t, b in bufs.items():
        locals_[t] = kb.name(kb.call(A.BufGetOp, b, result=l_t), t)
    for step in recipe:
        emit_step(kb, step, locals_, scalars, n)
    kb.call(A.EnQueOp, que_out, locals_["y"])
    for i in ins:
        kb.call(A.FreeTensorOp, que_in[i], locals_[f"x{i}"])


def copy_out_tile(kb: KB, que_out: SSAValue, l_t: Attribute, dst: Callable[[KB], SSAValue],
                  aligned: SSAValue, n: SSAValue, soc: Soc, elem_bytes: int) -> None:
    """The CopyOut stage: take y from its queue and copy its `n` elements to `dst(kb)` in GM."""
    y = kb.name(kb.call(A.DeQueOp, que_out, result=l_t), "y_out")
    copy_tile(kb, aligned, dst(kb), y, n, soc, elem_bytes)
    kb.call(A.FreeTensorOp, que_out, y)


def check_recipe_types(recipe: Sequence[Sequence[Any]], ty: str, what: str) -> None:
    """NotImplementedError (the host fallback) unless every call of `recipe` takes `ty`."""
    table = A.api()["vector_types"]
    for fn, *_ in recipe:
        if ty not in table.get(fn, table["default"]):
            raise NotImplementedError(f"{what} on {ty} ({fn} takes {', '.join(table.get(fn, table['default']))})")


def recipe_key(op: Operation) -> str:
    """The recipes.toml entry for an elementwise op (variants by attribute)."""
    return _key(op.name, props(op))


def _key(name: str, p: Mapping[str, Any]) -> str:
    if name == "cir.gelu" and p.get("approximate") == "tanh":
        return "cir.gelu.tanh"
    if name == "cir.clamp" and (p["min"] is None) != (p["max"] is None):
        return "cir.clamp.min" if p["max"] is None else "cir.clamp.max"
    return name


def prop_scalars(k: KB, op: Operation) -> dict[str, SSAValue]:
    """`p:NAME` recipe operands: the op's float properties as kernel constants."""
    out = {}
    for step in recipes().get(recipe_key(op), []):
        for a in step[2:]:
            if isinstance(a, str) and a.startswith("p:"):
                out[a] = k.name(k.f(float(props(op)[a[2:]])), a[2:])
    return out



@dataclass
class RowOperand:
    """How a kernel input reads the ``[rows, inner]`` iteration space."""

    arg: str  # its binding: "operand:i"
    strides: list[int]  # element stride per row dimension (0: broadcast)
    contiguous: bool  # True: a run along inner; False: one value per row
    offset: int = 0


def _row_plan(out_shape: Sequence[int], in_shapes: Sequence[Sequence[int]]
              ) -> tuple[list[int], int, list[list[int]], list[bool]]:
    """(row dims, inner, per-operand row strides, per-operand inner contiguity) for numpy
    broadcasting of `in_shapes` to `out_shape`."""
    rank = len(out_shape)
    padded = [[1] * (rank - len(s)) + list(s) for s in in_shapes]
    dims = [(d, [int(s[i] == d and d != 1) for s in padded]) for i, d in enumerate(out_shape) if d != 1]
    if not dims:
        return [], 1, [[] for _ in in_shapes], [True] * len(in_shapes)
    merged: list[tuple[int, list[int]]] = [dims[0]]
    for d, status in dims[1:]:
        if status == merged[-1][1]:
            merged[-1] = (merged[-1][0] * d, status)
        else:
            merged.append((d, status))
    *row, (inner, inner_status) = merged
    strides = []
    for k in range(len(in_shapes)):
        run = inner if inner_status[k] else 1
        st = []
        for d, status in reversed(row):
            st.append(run if status[k] else 0)
            run *= d if status[k] else 1
        strides.append(st[::-1])
    return [d for d, _ in row], inner, strides, [bool(s) for s in inner_status]



def _row_tiling(rows: int, rows_per_block: int, inner: int, tile: int, row_dims: list[int],
                operands: list[RowOperand], sizes: dict[str, int]) -> tuple[list[str], dict[str, int], list[str]]:
    """The row kernel's tiling (field names, values) and its distinct GM operands: operands
    bound to the same tensor share one."""
    n_dims = max(len(row_dims), 1)
    dims = (row_dims or [1])
    tiling: dict[str, int] = {"rows": rows, "rows_per_block": rows_per_block, "inner": inner, "tile": tile}
    tiling |= {f"dim{j}": d for j, d in enumerate(dims)}
    for i, o in enumerate(operands):
        tiling[f"x{i}_offset"] = o.offset
        for j in range(n_dims):
            tiling[f"x{i}_stride{j}"] = (o.strides or [0])[j]
    bindings = list(dict.fromkeys(o.arg for o in operands))
    for j, b in enumerate(bindings):  # GM sizes, so the CPU layer checks every access
        tiling[f"x{j}_size"] = sizes[b]
    return list(tiling), tiling, bindings


def row_kernel(name: str, comment: str, soc: Soc, out_t: TensorType, recipe: list[list[Any]],
               operands: list[RowOperand], row_dims: list[int], inner: int,
               sizes: dict[str, int], scalars_of: Operation | None = None) -> Launch:
    """Apply `recipe` (inputs x0.., output y) over ``[rows, inner]`` (see the module docstring)."""
    if len(row_dims) > MAX_ROW_DIMS:
        raise NotImplementedError(f"broadcasting over more than {MAX_ROW_DIMS} row dimensions")
    ty = ctype(out_t)
    check_recipe_types(recipe, ty, scalars_of.name if scalars_of is not None else name)
    elem_bytes = dtype_of(out_t).itemsize
    rows = math.prod(row_dims)
    temps = sorted({a for step in recipe for a in step[1:] if isinstance(a, str) and a.startswith("t")})
    n_buffers = 2 * (len(operands) + 1) + len(temps)
    tile = (soc.ub_bytes // n_buffers) // ALIGN * ALIGN // elem_bytes
    tile = max(ALIGN // elem_bytes, min(tile, 16384, -(-inner // (ALIGN // elem_bytes)) * (ALIGN // elem_bytes)))
    block_dim, rows_per_block = split_rows(rows, soc, math.ceil(rows * inner / 4096))
    fields, tiling, bindings = _row_tiling(rows, rows_per_block, inner, tile, row_dims, operands, sizes)
    n_dims = max(len(row_dims), 1)
    args = [f"x{bindings.index(o.arg)}" for o in operands]
    gm_names = [f"x{j}" for j in range(len(bindings))]
    kernel, gm, k = new_kernel(name, gm_names + ["y", "workspace", "tiling"], fields, comment)
    f = k.fields(fields)
    g_t, l_t = A.GlobalType(StringAttr(ty)), A.LocalType(StringAttr(ty))
    zero, one = k.c(0), k.c(1)
    srcs = {a: k.name(k.call(A.GlobalTensorOp, gm[a], zero, f[f"{a}_size"], result=g_t), f"{a}_gm")
            for a in dict.fromkeys(args)}
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], zero, k.binop(arith.MuliOp, f["rows"], f["inner"]),
                        result=g_t), "y_gm")
    scalars = prop_scalars(k, scalars_of) if scalars_of is not None else {}
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    que_in = [k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), f"in_que{i}")
              for i in range(len(operands))]
    que_out = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
    tile_bytes = k.name(k.binop(arith.MuliOp, f["tile"], k.c(elem_bytes)), "tile_bytes")
    for q in (*que_in, que_out):
        k.call(A.InitBufferOp, pipe, q, tile_bytes, num=2)
    bufs = {t: k.name(k.call(A.BufOp, result=A.BufType()), f"{t}_buf") for t in temps}
    for b in bufs.values():
        k.call(A.InitBufferOp, pipe, b, tile_bytes, num=1)
    first, last = block_rows(k, f["rows"], f["rows_per_block"])

    def row_body(kb: KB, row: SSAValue) -> None:
        # the row's multi-index, innermost row dimension first
        idx: list[SSAValue] = [zero] * n_dims
        rest = row
        for j in reversed(range(n_dims)):
            idx[j] = kb.name(kb.binop(arith.RemSIOp, rest, f[f"dim{j}"]), f"i{j}")
            if j:
                rest = kb.binop(arith.DivSIOp, rest, f[f"dim{j}"])
        bases = []
        for i in range(len(operands)):
            base = f[f"x{i}_offset"]
            for j in range(n_dims):
                base = kb.binop(arith.AddiOp, base, kb.binop(arith.MuliOp, idx[j], f[f"x{i}_stride{j}"]))
            bases.append(kb.name(base, f"x{i}_base"))
        out_base = kb.name(kb.binop(arith.MuliOp, row, f["inner"]), "y_base")

        def tile_body(k2: KB, off: SSAValue) -> None:
            n = k2.name(k2.add(arith.MinSIOp(f["tile"], k2.binop(arith.SubiOp, f["inner"], off))), "n")
            nbytes = k2.binop(arith.MuliOp, n, k2.c(elem_bytes))
            aligned = k2.name(k2.add(arith.CmpiOp(k2.binop(arith.RemSIOp, nbytes, k2.c(ALIGN)), k2.c(0), "eq")),
                              "aligned")
            for i, o in enumerate(operands):  # CopyIn
                t = k2.name(k2.call(A.AllocTensorOp, que_in[i], result=l_t), f"x{i}_in")
                if o.contiguous:
                    src = k2.call(A.AtOp, srcs[args[i]], k2.binop(arith.AddiOp, bases[i], off), result=g_t)
                    copy_tile(k2, aligned, t, src, n, soc, elem_bytes)
                else:
                    v = k2.name(k2.call(A.GetValueOp, srcs[args[i]], bases[i], result=f32), f"x{i}_value")
                    k2.call(A.DuplicateOp, t, v, n)
                k2.call(A.EnQueOp, que_in[i], t)
            compute_tile(k2, range(len(operands)), que_in, que_out, bufs, recipe, scalars, n, l_t)
            copy_out_tile(k2, que_out, l_t,
                          lambda kb: kb.call(A.AtOp, y_g, kb.binop(arith.AddiOp, out_base, off), result=g_t),
                          aligned, n, soc, elem_bytes)

        kb.loop(zero, f["inner"], f["tile"], tile_body)

    k.loop(first, last, one, row_body)
    return Launch(kernel, block_dim, tiling, args=bindings + ["result:0"])


# --- elementwise ops with general broadcasting -------------------------------------------

def _single(v: SSAValue) -> bool:
    return numel(tensor_type(v).get_shape()) == 1


@kernel(*BINARY_OPS)
def elementwise_any(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    """Same-shape operands (or a single-value second operand with a scalar recipe): the flat
    elementwise kernel. Anything else numpy broadcasting allows: a row kernel."""
    out_t = op.results[0].type
    assert isinstance(out_t, TensorType)
    shape = out_t.get_shape()
    same = all(tensor_type(v).get_shape() == shape for v in op.operands)
    scalar_ok = (len(op.operands) == 2 and _single(op.operands[1]) and not _single(op.operands[0])
                 and recipe_key(op) + ".scalar" in recipes())
    if same or scalar_ok:
        return elementwise_kernel(name, op, soc, comment)
    recipe = recipes().get(recipe_key(op))
    if recipe is None:
        raise NotImplementedError(op.name)
    row_dims, inner, strides, contiguous = _row_plan(shape, [tensor_type(v).get_shape() for v in op.operands])
    operands = [RowOperand(f"operand:{i}", strides[i], contiguous[i]) for i in range(len(op.operands))]
    sizes = {f"operand:{i}": numel(tensor_type(v).get_shape()) for i, v in enumerate(op.operands)}
    return row_kernel(name, comment + "\n(broadcasting rows)", soc, out_t, recipe, operands, row_dims, inner,
                      sizes, op)


# --- GeGLU: left * gelu(right) over the halves of the last dimension ---------------------

@kernel("cir.geglu")
def geglu_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    p = props(op)
    x_t = op.operands[0].type
    out_t = op.results[0].type
    assert isinstance(x_t, TensorType) and isinstance(out_t, TensorType)
    shape = x_t.get_shape()
    if p["dim"] % len(shape) != len(shape) - 1:
        raise NotImplementedError("cir.geglu over a dimension other than the last")
    half = shape[-1] // 2
    rows = numel(shape[:-1])
    gelu = recipes()["cir.gelu.tanh" if p["approximate"] == "tanh" else "cir.gelu"]
    # gelu of the activated half into t1 (x0 -> x1 renamed), then the product
    act, other = ("x0", "x1") if p["activate_left"] else ("x1", "x0")
    steps = [[s[0], "t1" if s[1] == "y" else s[1], *(act if a == "x0" else a for a in s[2:])] for s in gelu]
    steps.append(["Mul", "y", other, "t1"])
    operands = [RowOperand("operand:0", [2 * half], True, 0), RowOperand("operand:0", [2 * half], True, half)]
    return row_kernel(name, comment + "\n(GeGLU: the halves of each row)", soc, out_t, steps, operands,
                      [rows], half, {"operand:0": numel(shape)})


# --- cast: element type conversion through UB --------------------------------------------

@cache
def cast_plan(arch: int, src: str, dst: str) -> list[tuple[str, str]]:
    """[(C++ type, RoundMode)] of the Casts that take `src` to `dst` on `arch` (lowering/casts.toml)."""
    entry = tomllib.loads(CASTS.read_text()).get(f"arch{arch}", {}).get(f"{src}->{dst}")
    if entry is None:
        raise NotImplementedError(f"cir.cast {src} -> {dst} (no Cast pair on arch {arch})")
    if isinstance(entry, str):
        return [(dst, entry)]
    via, first, second = entry
    return [(via, first), (dst, second)]


@kernel("cir.cast")
def cast_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch:
    src_t, dst_t = op.operands[0].type, op.results[0].type
    assert isinstance(src_t, TensorType) and isinstance(dst_t, TensorType)
    if is_bool(dst_t):  # x != 0, not a numeric conversion: the host fallback for now
        raise NotImplementedError(f"cir.cast {dtype_of(src_t).name} -> i1")
    sty, dty = ctype(src_t), ctype(dst_t)
    steps = cast_plan(soc.arch, sty, dty)
    total = numel(dst_t.get_shape())
    sb, db = dtype_of(src_t).itemsize, dtype_of(dst_t).itemsize
    vb = A.ctype_bytes(steps[0][0]) if len(steps) > 1 else 0  # the intermediate tile's element bytes
    widest = max(sb, db, vb)
    tile = max(ALIGN // min(sb, db), (soc.ub_bytes // (2 * (sb + db) + vb)) // ALIGN * ALIGN // widest)
    tile = min(tile, 16384)
    block_dim, per_block = split_elements(total, min(sb, db), soc)
    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], SliceTiling, comment)
    f = k.fields(SliceTiling)
    total_v, per_block_v, tile_v = f.total, f.per_block, f.tile
    gs, gd = A.GlobalType(StringAttr(sty)), A.GlobalType(StringAttr(dty))
    ls, ld = A.LocalType(StringAttr(sty)), A.LocalType(StringAttr(dty))
    begin, length = block_slice(k, total_v, per_block_v)
    x_g = k.name(k.call(A.GlobalTensorOp, gm["x0"], begin, length, result=gs), "x_gm")
    y_g = k.name(k.call(A.GlobalTensorOp, gm["y"], begin, length, result=gd), "y_gm")
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    qi = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), "in_que")
    qo = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECOUT"), IntAttr(2))), "out_que")
    k.call(A.InitBufferOp, pipe, qi, k.binop(arith.MuliOp, tile_v, k.c(sb)), num=2)
    k.call(A.InitBufferOp, pipe, qo, k.binop(arith.MuliOp, tile_v, k.c(db)), num=2)
    mid = None
    if len(steps) > 1:  # a UB tile of the intermediate type between the two Casts
        mid_buf = k.name(k.call(A.BufOp, result=A.BufType()), "mid_buf")
        k.call(A.InitBufferOp, pipe, mid_buf, k.binop(arith.MuliOp, tile_v, k.c(vb)), num=1)
        mid = k.name(k.call(A.BufGetOp, mid_buf, result=A.LocalType(StringAttr(steps[0][0]))), "mid")

    def body(kb: KB, off: SSAValue) -> None:
        n = kb.name(kb.add(arith.MinSIOp(tile_v, kb.binop(arith.SubiOp, length, off))), "n")

        def aligned(bytes_per: int) -> SSAValue:
            return kb.add(arith.CmpiOp(kb.binop(arith.RemSIOp, kb.binop(arith.MuliOp, n, kb.c(bytes_per)),
                                                kb.c(ALIGN)), kb.c(0), "eq"))

        t = kb.name(kb.call(A.AllocTensorOp, qi, result=ls), "x_in")
        copy_tile(kb, aligned(sb), t, kb.call(A.AtOp, x_g, off, result=gs), n, soc, sb)
        kb.call(A.EnQueOp, qi, t)
        x = kb.name(kb.call(A.DeQueOp, qi, result=ls), "x_ub")
        y = kb.name(kb.call(A.AllocTensorOp, qo, result=ld), "y_ub")
        src = x
        for (_, mode), dst in zip(steps, [mid, y] if mid is not None else [y]):
            kb.call(A.CastOp, dst, src, n, round=mode)
            kb.call(A.PipeBarrierOp, pipe="PIPE_V")
            src = dst
        kb.call(A.EnQueOp, qo, y)
        kb.call(A.FreeTensorOp, qi, x)
        out = kb.name(kb.call(A.DeQueOp, qo, result=ld), "y_out")
        copy_tile(kb, aligned(db), kb.call(A.AtOp, y_g, off, result=gd), out, n, soc, db)
        kb.call(A.FreeTensorOp, qo, out)

    k.loop(k.c(0), length, tile_v, body)
    return Launch(kernel, block_dim, SliceTiling(total=total, per_block=per_block, tile=tile).values())


