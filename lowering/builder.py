"""The kernel-builder API every kernel family (``lowering/kernels/<family>.py``) uses.

A family's generator takes ``(name, op, soc, comment)`` and returns one `Launch` (or a list):
the ``ascendc.kernel`` it built and how to launch it. The pieces:

- `new_kernel` makes an empty kernel (GM arguments, the tiling struct) and a `KB` for its body;
  `KB` emits scalar arithmetic (arith / scf) and API calls (``ascendc`` ops), loops (`KB.loop`),
  branches (`KB.when`) and loops carrying values (`carried_loop`, `fold_tiles`, `fold`);
- a tiling struct is a `Tiling` dataclass: its fields, in order, are the struct's int64 fields
  (``tiling_fields``), `KB.fields` reads them in the kernel by name and `Tiling.values` gives
  the launch its values; per-dimension fields a dataclass cannot name are `Tiling.extra`;
- work splits: `split_elements` (32-byte aligned slices of a flat range), `split_rows` (whole
  rows), with `block_slice` / `block_rows` reading this core's part in the kernel;
- data movement: `copy_tile` (DataCopy, or the SoC's path for an unaligned tail), `copy_run`
  (a contiguous run GM -> UB -> GM), `staging_queue`;
- vector steps: `emit_step` emits one recipe step (``recipes.toml``: ``[fn, dst, src...]``).

Example, a kernel over a flat range (its launch: ``SliceTiling(total=..., per_block=...,
tile=...).values()`` with ``split_elements``)::

    kernel, gm, k = new_kernel(name, ["x0", "y", "workspace", "tiling"], SliceTiling, comment)
    f = k.fields(SliceTiling)
    begin, length = block_slice(k, f.total, f.per_block)
    k.loop(k.c(0), length, f.tile, body)   # body(kb, off): one tile
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from cir.lowering import ascendc as A
from xdsl.builder import Builder
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import (
    ArrayAttr,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.irdl import IRDLOperation
from xdsl.rewriter import InsertPoint

from cir.opbase import CirOp
from cir.soc import Soc
from cir.types import dtype_of

ALIGN = 32  # bytes: DataCopy moves whole 32-byte blocks; UB buffers start 32-byte aligned
FLT_MAX = 3.4028234663852886e38
REPEAT = 256  # bytes: one vector repeat (GatherMask and the repeat-form APIs work in whole ones)
# stride -> GatherMask's built-in pattern keeping column phase 0 of a row (phase p: pattern + p);
# 1: no split (the whole row is phase 0)
PHASE_PATTERNS = {1: 0, 2: 1, 4: 3}


def ctype(t: TensorType) -> str:
    """The C++ element type of a tensor type (``float``, ``half``, ``int32_t``, ...)."""
    return A.api()["types"][dtype_of(t).name]


def tensor_type(v: SSAValue) -> TensorType:
    """The tensor type of an operand or result (kernels are generated for tensors only)."""
    assert isinstance(v.type, TensorType)
    return v.type


def props(op: Operation) -> Mapping[str, Any]:
    """A CIR op's properties as Python values (``op.p``)."""
    assert isinstance(op, CirOp)
    return op.p


def round_up(n: int, m: int) -> int:
    return -(-n // m) * m


# --- tiling -------------------------------------------------------------------------------


@dataclass
class Tiling:
    """A kernel's tiling struct: subclasses are dataclasses whose int fields, in order, are the
    struct's int64 fields; `extra` holds further fields by name (per-dimension ones, e.g.
    ``dim0, dim1``), which come after them."""

    extra: dict[str, int] = field(default_factory=dict, kw_only=True)

    def values(self) -> dict[str, int]:
        """Field name -> value, in struct order."""
        named = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        return named | self.extra

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name != "extra"]


@dataclass
class SliceTiling(Tiling):
    """A flat range split over cores (`split_elements`, `block_slice`), streamed in tiles."""

    total: int
    per_block: int
    tile: int


def tiling_fields(names: Sequence[str]) -> list[tuple[str, str]]:
    """The struct fields ``(name, "int64_t")`` for field names."""
    return [(n, "int64_t") for n in names]


class Fields:
    """The tiling struct's fields inside a kernel, by name: ``f.rows`` or ``f["dim0"]``."""

    def __init__(self, values: dict[str, SSAValue]):
        self._values = values

    def __getattr__(self, name: str) -> SSAValue:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> SSAValue:
        return self._values[name]

    def __setitem__(self, name: str, value: SSAValue) -> None:
        self._values[name] = value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)


# --- the kernel body builder ------------------------------------------------------------------


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

    def fields(self, names: type[Tiling] | Sequence[str]) -> Fields:
        """The tiling struct's fields (a `Tiling` class's, or these names) as kernel values."""
        listed = names.names() if isinstance(names, type) else names
        return Fields({n: self.field(n) for n in listed})

    def binop(self, cls: Callable[[SSAValue, SSAValue], Operation], a: SSAValue, b: SSAValue) -> SSAValue:
        return self.add(cls(a, b))

    def loop(self, lb: SSAValue, ub: SSAValue, step: SSAValue, body: Callable[[KB, SSAValue], None],
             iv_name: str | None = None) -> None:
        """``for (iv = lb; iv < ub; iv += step) body(iv)``; `iv_name` names the induction variable."""
        block = Block(arg_types=[i64])
        inner = KB(block)
        if iv_name is not None:
            block.args[0].name_hint = iv_name
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

    def call(self, cls: type[IRDLOperation], *operands: SSAValue | Sequence[SSAValue], result: Any = None,
             **props: Any) -> Any:
        """An ascendc op: `operands` in call order (a list: a variadic group), `props` as string
        or integer properties; returns its result (or the op)."""
        properties = {k: StringAttr(v) if isinstance(v, str) else IntegerAttr(v, i64) for k, v in props.items()}
        return self.add(cls.build(operands=list(operands), result_types=[result] if result else [],
                                  properties=properties))

    def barrier(self) -> None:
        """PipeBarrier<PIPE_V>: the vector unit's previous call is done."""
        self.call(A.PipeBarrierOp, pipe="PIPE_V")

    def tile_count(self, tile: SSAValue, length: SSAValue, off: SSAValue) -> SSAValue:
        """``n = min(tile, length - off)``: the elements of the tile at `off`."""
        return self.name(self.add(arith.MinSIOp(tile, self.binop(arith.SubiOp, length, off))), "n")

    def aligned(self, n: SSAValue, elem_bytes: int, hint: str | None = "aligned") -> SSAValue:
        """``n * elem_bytes % 32 == 0``: whether a copy of `n` elements is whole 32-byte blocks."""
        nbytes = self.binop(arith.MuliOp, n, self.c(elem_bytes))
        v = self.add(arith.CmpiOp(self.binop(arith.RemSIOp, nbytes, self.c(ALIGN)), self.c(0), "eq"))
        return self.name(v, hint) if hint else v


class IntOps:
    """Integer arithmetic of a kernel's index math over a `KB`: each method adds one arith op
    (named `hint` when given)."""

    def __init__(self, k: KB):
        self.k = k

    def _op(self, cls: Any, a: SSAValue, b: SSAValue, hint: str | None) -> SSAValue:
        v = self.k.add(cls(a, b))
        return self.k.name(v, hint) if hint else v

    def add(self, a: SSAValue, b: SSAValue, hint: str | None = None) -> SSAValue:
        return self._op(arith.AddiOp, a, b, hint)

    def sub(self, a: SSAValue, b: SSAValue, hint: str | None = None) -> SSAValue:
        return self._op(arith.SubiOp, a, b, hint)

    def mul(self, a: SSAValue, b: SSAValue, hint: str | None = None) -> SSAValue:
        return self._op(arith.MuliOp, a, b, hint)

    def div(self, a: SSAValue, b: SSAValue, hint: str | None = None) -> SSAValue:
        return self._op(arith.DivSIOp, a, b, hint)

    def rem(self, a: SSAValue, b: SSAValue, hint: str | None = None) -> SSAValue:
        return self._op(arith.RemSIOp, a, b, hint)

    def min(self, a: SSAValue, b: SSAValue, hint: str | None = None) -> SSAValue:
        return self._op(arith.MinSIOp, a, b, hint)

    def max(self, a: SSAValue, b: SSAValue, hint: str | None = None) -> SSAValue:
        return self._op(arith.MaxSIOp, a, b, hint)

    def cmp(self, a: SSAValue, b: SSAValue, pred: str, hint: str | None = None) -> SSAValue:
        v = self.k.add(arith.CmpiOp(a, b, pred))
        return self.k.name(v, hint) if hint else v

    def both(self, a: SSAValue, b: SSAValue, hint: str | None = None) -> SSAValue:
        v = self.k.add(arith.AndIOp(a, b))
        return self.k.name(v, hint) if hint else v


def carried_loop(kb: KB, lb: SSAValue, ub: SSAValue, step: SSAValue, init: Sequence[SSAValue],
                 body: Callable[[KB, SSAValue, list[SSAValue]], Sequence[SSAValue]],
                 iv_name: str | None = None) -> list[SSAValue]:
    """A loop carrying values: ``carried = body(iv, carried)`` for iv in [lb, ub) by step;
    returns the final values."""
    block = Block(arg_types=[i64] + [v.type for v in init])
    inner = KB(block)
    iv, *carried = block.args
    if iv_name is not None:
        iv.name_hint = iv_name
    inner.add(scf.YieldOp(*body(inner, iv, list(carried))))
    loop = scf.ForOp(lb, ub, step, list(init), Region(block))
    kb.b.insert(loop)
    return list(loop.results)


def fold(kb: KB, lb: SSAValue, ub: SSAValue, step: SSAValue, init: SSAValue,
         body: Callable[[KB, SSAValue, SSAValue], SSAValue], iv_name: str | None = None) -> SSAValue:
    """A loop carrying one value: ``acc = body(i, acc)`` for i in [lb, ub)."""
    return carried_loop(kb, lb, ub, step, [init], lambda k, i, acc: [body(k, i, acc[0])], iv_name)[0]


def fold_tiles(kb: KB, length: SSAValue, tile: SSAValue, init: Sequence[SSAValue],
               part: Callable[[KB, SSAValue, SSAValue, list[SSAValue]], Sequence[SSAValue]]) -> list[SSAValue]:
    """Fold part(off, n, carried) over the tiles of [0, length): loop-carried values."""
    def body(k: KB, off: SSAValue, carried: list[SSAValue]) -> Sequence[SSAValue]:
        return part(k, off, k.tile_count(tile, length, off), carried)

    return carried_loop(kb, kb.c(0), length, tile, init, body, "off")


# --- launches and work splits ------------------------------------------------------------------


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
    # the same kernel tiled for the CPU layer's cores: (block_dim, tiling, workspace), or None when
    # the CPU layer runs the SoC's tiling (see lower_to_ascendc.retile_for_cpu)
    cpu: tuple[int, dict[str, int], int] | None = None


def split_elements(total: int, elem_bytes: int, soc: Soc, min_per_block: int = 4096) -> tuple[int, int]:
    """(blockDim, elements per block): aligned slices, not more cores than the work wants."""
    align = ALIGN // elem_bytes
    blocks = max(1, min(soc.vector_cores, math.ceil(total / min_per_block)))
    per_block = math.ceil(math.ceil(total / blocks) / align) * align
    return math.ceil(total / per_block), per_block


def split_rows(rows: int, soc: Soc, max_blocks: int | None = None) -> tuple[int, int]:
    """(blockDim, rows per block): whole rows over at most `max_blocks` (default: one a row) of
    the SoC's vector cores."""
    blocks = max(1, min(soc.vector_cores, rows, rows if max_blocks is None else max_blocks))
    per = max(1, math.ceil(rows / blocks))
    return math.ceil(rows / per), per


def new_kernel(name: str, args: list[str], fields: type[Tiling] | Sequence[str] | Sequence[tuple[str, str]],
               comment: str) -> tuple[A.KernelOp, dict[str, SSAValue], KB]:
    """An empty ``ascendc.kernel`` with GM arguments `args` (``workspace, tiling`` last) and a
    tiling struct (a `Tiling` class, field names, or ``(name, C++ type)`` pairs); returns it,
    its arguments by name, and a builder for its body."""
    if isinstance(fields, type):
        pairs = tiling_fields(fields.names())
    else:
        pairs = [(f, "int64_t") if isinstance(f, str) else f for f in fields]
    kernel = A.KernelOp.build(
        properties={
            "sym_name": StringAttr(name),
            "arg_names": ArrayAttr([StringAttr(a) for a in args]),
            "tiling_fields": A.attr_list(pairs),
            # ASCII only: the IR printer escapes other bytes, which do not parse back as a string
            "comment": StringAttr(ascii_text(comment)),
        },
        regions=[Region(Block(arg_types=[A.GmPtrType()] * len(args)))],
    )
    return kernel, dict(zip(args, kernel.body.block.args)), KB(kernel.body.block)


def ascii_text(text: str) -> str:
    """`text` with non-ASCII characters escaped (kernel comments)."""
    return text.encode("ascii", "backslashreplace").decode()


def block_slice(k: KB, total: SSAValue, per_block: SSAValue) -> tuple[SSAValue, SSAValue]:
    """This core's slice [begin, begin + length) of `total` elements; idle cores return."""
    block = k.call(A.BlockIdxOp, result=i64)
    begin = k.name(k.binop(arith.MuliOp, block, per_block), "begin")
    rest = k.name(k.binop(arith.SubiOp, total, begin), "rest")
    length = k.name(k.add(arith.MinSIOp(per_block, rest)), "length")
    k.when(k.name(k.add(arith.CmpiOp(length, k.c(0), "sle")), "idle"),
           lambda kb: kb.add(A.ReturnOp.build()))
    return begin, length


def block_rows(k: KB, rows: SSAValue, per: SSAValue) -> tuple[SSAValue, SSAValue]:
    """This core's rows [first_row, end_row) of `rows`, `per` rows a core."""
    block = k.call(A.BlockIdxOp, result=i64)
    first = k.name(k.binop(arith.MuliOp, block, per), "first_row")
    last = k.name(k.add(arith.MinSIOp(k.binop(arith.AddiOp, first, per), rows)), "end_row")
    return first, last


# --- data movement ------------------------------------------------------------------------------


def copy_tile(kb: KB, aligned: SSAValue, dst: SSAValue, src: SSAValue, n: SSAValue,
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


def staging_queue(k: KB, tile: SSAValue, elem_bytes: int) -> SSAValue:
    """A double-buffered VECIN queue of `tile` elements for copies staged through UB."""
    pipe = k.name(k.call(A.PipeOp, result=A.PipeType()), "pipe")
    que = k.name(k.call(A.QueOp, result=A.QueType(StringAttr("VECIN"), IntAttr(2))), "que")
    k.call(A.InitBufferOp, pipe, que, k.name(k.binop(arith.MuliOp, tile, k.c(elem_bytes)), "tile_bytes"), num=2)
    return que


def copy_run(kb: KB, que: SSAValue, src: tuple[SSAValue, SSAValue], dst: tuple[SSAValue, SSAValue],
             length: SSAValue, tile: SSAValue, soc: Soc, elem_bytes: int) -> None:
    """Copy `length` contiguous elements from (GlobalTensor, offset) `src` to `dst` through UB,
    `tile` at a time (DataCopy, or the unaligned-tail path of `copy_tile`)."""
    (x_g, x_off), (y_g, y_off) = src, dst
    g_t = x_g.type
    assert isinstance(g_t, A.GlobalType)
    l_t = A.LocalType(g_t.elem)

    def tile_body(k2: KB, off: SSAValue) -> None:
        n = k2.tile_count(tile, length, off)
        aligned = k2.name(k2.add(arith.CmpiOp(
            k2.binop(arith.RemSIOp, k2.binop(arith.MuliOp, n, k2.c(elem_bytes)), k2.c(ALIGN)), k2.c(0), "eq")),
            "aligned")
        t = k2.name(k2.call(A.AllocTensorOp, que, result=l_t), "buf")
        copy_tile(k2, aligned, t, k2.call(A.AtOp, x_g, k2.binop(arith.AddiOp, x_off, off), result=g_t), n, soc,
                  elem_bytes)
        k2.call(A.EnQueOp, que, t)
        u = k2.name(k2.call(A.DeQueOp, que, result=l_t), "buf_in")
        copy_tile(k2, aligned, k2.call(A.AtOp, y_g, k2.binop(arith.AddiOp, y_off, off), result=g_t), u, n, soc,
                  elem_bytes)
        k2.call(A.FreeTensorOp, que, u)

    kb.loop(kb.c(0), length, tile, tile_body)


# --- vector steps and index arithmetic ---------------------------------------------------------

BINARY = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Power"}
SCALAR = {"Adds", "Muls", "Maxs", "Mins"}


def emit_step(kb: KB, step: Sequence[Any], bufs: dict[str, SSAValue],
              scalars: dict[str, SSAValue], n: SSAValue) -> None:
    """One recipe step ``[fn, dst, src...]`` over `n` elements of the UB tiles `bufs`."""
    fn, dst, *srcs = step
    if fn in BINARY:
        kb.call(A.VecBinaryOp, bufs[dst], bufs[srcs[0]], bufs[srcs[1]], n, fn=fn)
    elif fn in SCALAR:
        sc = scalars[srcs[1]] if isinstance(srcs[1], str) else kb.f(float(srcs[1]))
        kb.call(A.VecScalarOp, bufs[dst], bufs[srcs[0]], sc, n, fn=fn)
    else:
        kb.call(A.VecUnaryOp, bufs[dst], bufs[srcs[0]], n, fn=fn)
    kb.barrier()


def decode_offset(kb: KB, flat: SSAValue, prefix: str, count: int) -> SSAValue:
    """GM offset of the flat index over `count` dims: sum((flat / div_i) % size_i * stride_i),
    from the tiling fields `digit_fields` made."""
    off = None
    for i in range(count):
        q = kb.binop(arith.DivSIOp, flat, kb.field(f"{prefix}{i}_div"))
        if i:  # the outermost digit needs no wrap-around
            q = kb.binop(arith.RemSIOp, q, kb.field(f"{prefix}{i}_size"))
        term = kb.binop(arith.MuliOp, q, kb.field(f"{prefix}{i}_stride"))
        off = term if off is None else kb.binop(arith.AddiOp, off, term)
    return kb.c(0) if off is None else kb.name(off, f"{prefix}_off")


def digit_fields(dims: list[tuple[int, int]], prefix: str) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """Tiling fields for `decode_offset` over (size, GM stride) dims, outermost first."""
    fields, vals = [], {}
    for i, (size, stride) in enumerate(dims):  # (values in field order: the tiling struct's)
        vals |= {f"{prefix}{i}_size": size, f"{prefix}{i}_div": math.prod([d for d, _ in dims[i + 1:]]),
                 f"{prefix}{i}_stride": stride}
        fields += [(f"{prefix}{i}_{w}", "int64_t") for w in ("size", "div", "stride")]
    return fields, vals


# --- the registry of kernel families -------------------------------------------------------------

Generator = Callable[[str, Operation, Soc, str], "Launch | list[Launch]"]
KERNELS: dict[str, Generator] = {}  # CIR op name -> its kernel generator (lowering/kernels/*.py)
G = TypeVar("G", bound=Generator)


def kernel(*names: str) -> Callable[[G], G]:
    """Register a generator for the CIR ops `names`::

        @kernel("cir.cumsum")
        def cumsum_kernel(name: str, op: Operation, soc: Soc, comment: str) -> Launch: ...
    """
    def register(gen: G) -> G:
        for n in names:
            if n in KERNELS:
                raise ValueError(f"two kernel generators for {n}")
            KERNELS[n] = gen
        return gen

    return register
