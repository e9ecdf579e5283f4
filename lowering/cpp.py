"""Print an ``ascendc.kernel`` as AscendC C++: one kernel per file, a POD tiling struct, an
``extern "C" __global__ __aicore__`` entry with ``workspace, tiling`` last, and a comment
naming the CIR op(s) and their source location. Every API name comes from ``api.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from io import StringIO
from typing import Any

import numpy as np
from cir.lowering import ascendc as A
from xdsl.dialects import arith, scf
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import (
    ArrayAttr,
    Float32Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
)
from xdsl.ir import Attribute, Operation, SSAValue

_BINOPS = {
    arith.AddiOp: "+", arith.SubiOp: "-", arith.MuliOp: "*", arith.DivSIOp: "/",
    arith.RemSIOp: "%", arith.AddfOp: "+", arith.SubfOp: "-", arith.MulfOp: "*",
    arith.DivfOp: "/",
}  # fmt: skip
_CMP = {"slt": "<", "sle": "<=", "sgt": ">", "sge": ">=", "eq": "==", "ne": "!="}
_CMPF = {"ogt": ">", "oge": ">=", "olt": "<", "ole": "<=", "oeq": "==", "one": "!="}
_MIN_MAX = {arith.MinSIOp: ("<", "int64_t"), arith.MaxSIOp: (">", "int64_t"),
            arith.MaximumfOp: (">", "float"), arith.MinimumfOp: ("<", "float")}
_TAKE = {A.AllocTensorOp: "alloc_tensor", A.DeQueOp: "deque", A.BufGetOp: "buf_get"}
_GIVE = {A.EnQueOp: "enque", A.FreeTensorOp: "free_tensor"}


def _s(attr: Attribute) -> str:
    assert isinstance(attr, StringAttr)
    return attr.data


class KernelPrinter:
    def __init__(self, kernel: A.KernelOp):
        self.kernel = kernel
        self.names: dict[SSAValue, str] = {}
        self.used: set[str] = set()
        self.out = StringIO()
        self.depth = 0
        self.calls = A.api()["calls"]
        self.vector = A.api()["vector"]

    # --- names and types ---------------------------------------------------------------

    def fresh(self, v: SSAValue, hint: str | None = None) -> str:
        base = re.sub(r"\W", "_", hint or v.name_hint or "v") or "v"
        if base[0].isdigit():
            base = "v" + base
        name, i = base, 0
        while name in self.used:
            i += 1
            name = f"{base}{i}"
        self.used.add(name)
        self.names[v] = name
        return name

    def ctype(self, t: Attribute) -> str:
        if isinstance(t, IndexType) or isinstance(t, IntegerType) and t.width.data == 64:
            return "int64_t"
        if isinstance(t, IntegerType):
            return {1: "bool", 8: "int8_t", 16: "int16_t", 32: "int32_t"}[t.width.data]
        if isinstance(t, Float32Type):
            return "float"
        if isinstance(t, A.LocalType):
            return f"AscendC::LocalTensor<{t.elem.data}>"
        if isinstance(t, A.GlobalType):
            return f"AscendC::GlobalTensor<{t.elem.data}>"
        if isinstance(t, A.QueType):
            return f"AscendC::TQue<AscendC::TPosition::{t.position.data}, {t.depth.data}>"
        if isinstance(t, A.BufType):
            return "AscendC::TBuf<AscendC::TPosition::VECCALC>"
        if isinstance(t, A.PipeType):
            return "AscendC::TPipe"
        raise ValueError(f"no C++ type for {t}")

    def elem(self, v: SSAValue) -> str:
        t = v.type
        assert isinstance(t, A.LocalType | A.GlobalType)
        return t.elem.data

    def expr(self, v: SSAValue) -> str:
        return self.names[v]

    def let(self, v: SSAValue, ctype: str, expr: str) -> None:
        """A named scalar: generated code reads like code a person writes."""
        self.line(f"const {ctype} {self.fresh(v)} = {expr};")

    def line(self, text: str) -> None:
        self.out.write("    " * self.depth + text + "\n")

    # --- the kernel ----------------------------------------------------------------------

    def print(self) -> str:
        k = self.kernel
        name = _s(k.sym_name)
        struct = f"{name}_tiling"
        if k.comment is not None:
            for ln in k.comment.data.splitlines():
                self.out.write(f"// {ln}\n")
        self.out.write(f'#include "{A.api()["header"]}"\n')
        if any(isinstance(o, A.MatmulObjOp) for o in k.walk()):
            self.out.write(f'#include "{A.api()["matmul"]["header"]}"\n')
        self.out.write("\n")
        self.out.write(f"struct {struct} {{\n")
        for pair in k.tiling_fields.data:
            assert isinstance(pair, ArrayAttr)
            fname, ftype = (_s(x) for x in pair.data)
            self.out.write(f"    {ftype} {fname};\n")
        self.out.write("};\n\n")
        args = [_s(a) for a in k.arg_names.data]
        for a, v in zip(args, k.body.block.args):
            self.used.add(a)
            self.names[v] = a
        params = ", ".join(f"GM_ADDR {a}" for a in args)
        self.out.write(f'extern "C" __global__ __aicore__ void {name}({params})\n{{\n')
        self.depth = 1
        self.used.add("t")
        self.line(f"{self.calls['tiling_macro']}({struct}, t, tiling);")
        for op in k.body.block.ops:
            self.op(op)
        self.out.write("}\n")
        return self.out.getvalue()

    def op(self, op: Operation) -> None:
        render = RENDER.get(type(op))
        if render is None:
            raise ValueError(f"the C++ printer does not know {op.name}")
        render(self, op)

    def block(self, ops: Iterable[Operation]) -> None:
        """The ops of a nested block, one level deeper."""
        self.depth += 1
        for inner in ops:
            self.op(inner)
        self.depth -= 1


# --- the table: op class -> how it prints ---------------------------------------------------

Render = Callable[[KernelPrinter, Any], None]
RENDER: dict[type[Operation], Render] = {}


def renders(*classes: type[Operation]) -> Callable[[Render], Render]:
    def register(fn: Render) -> Render:
        for cls in classes:
            RENDER[cls] = fn
        return fn

    return register


def call_line(p: KernelPrinter, name: str, *args: SSAValue) -> None:
    """``name(a, b, ...);``"""
    p.line(f"{name}({', '.join(p.expr(v) for v in args)});")


@renders(arith.ConstantOp)
def _constant(p: KernelPrinter, op: arith.ConstantOp) -> None:
    v = op.value
    if isinstance(v, IntegerAttr):
        p.names[op.result] = str(v.value.data)
    elif isinstance(v, FloatAttr):  # shortest text that is the same f32
        p.names[op.result] = f"{float(str(np.float32(v.value.data)))!r}f"


@renders(arith.CmpiOp)
def _cmpi(p: KernelPrinter, op: arith.CmpiOp) -> None:
    pred = arith.CMPI_COMPARISON_OPERATIONS[op.predicate.value.data]
    p.let(op.result, "bool", f"{p.expr(op.lhs)} {_CMP[pred]} {p.expr(op.rhs)}")


@renders(arith.CmpfOp)
def _cmpf(p: KernelPrinter, op: arith.CmpfOp) -> None:
    pred = _CMPF[arith.CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]]
    p.let(op.result, "bool", f"{p.expr(op.lhs)} {pred} {p.expr(op.rhs)}")


@renders(arith.MinSIOp, arith.MaxSIOp, arith.MaximumfOp, arith.MinimumfOp)
def _min_max(p: KernelPrinter, op: Operation) -> None:
    """Ternaries: integer min / max, the running max / min of the reductions."""
    a, b = p.expr(op.operands[0]), p.expr(op.operands[1])
    cmp, ty = _MIN_MAX[type(op)]
    p.let(op.results[0], ty, f"{a} {cmp} {b} ? {a} : {b}")


@renders(arith.SelectOp)
def _select(p: KernelPrinter, op: arith.SelectOp) -> None:
    p.let(op.result, p.ctype(op.result.type), f"{p.expr(op.cond)} ? {p.expr(op.lhs)} : {p.expr(op.rhs)}")


@renders(arith.AndIOp)
def _and(p: KernelPrinter, op: arith.AndIOp) -> None:
    p.let(op.result, p.ctype(op.result.type), f"{p.expr(op.lhs)} && {p.expr(op.rhs)}")


@renders(*_BINOPS)
def _binop(p: KernelPrinter, op: Operation) -> None:
    a, b = p.expr(op.operands[0]), p.expr(op.operands[1])
    p.let(op.results[0], p.ctype(op.results[0].type), f"{a} {_BINOPS[type(op)]} {b}")


@renders(arith.IndexCastOp)
def _index_cast(p: KernelPrinter, op: arith.IndexCastOp) -> None:
    p.names[op.result] = p.expr(op.input)


@renders(arith.SIToFPOp)
def _si_to_fp(p: KernelPrinter, op: arith.SIToFPOp) -> None:
    p.names[op.result] = f"static_cast<float>({p.expr(op.input)})"


@renders(xmath.SqrtOp)
def _sqrt(p: KernelPrinter, op: xmath.SqrtOp) -> None:
    p.let(op.result, "float", f"sqrtf({p.expr(op.operand)})")


@renders(scf.ForOp)
def _for(p: KernelPrinter, op: scf.ForOp) -> None:
    if op.iter_args:
        _carried_for(p, op)
        return
    iv = op.body.block.args[0]
    i = p.fresh(iv, iv.name_hint or "i")  # a named induction variable keeps its name
    p.line(f"for (int64_t {i} = {p.expr(op.lb)}; {i} < {p.expr(op.ub)}; {i} += {p.expr(op.step)}) {{")
    p.block(op.body.block.ops)
    p.line("}")


def _carried_for(p: KernelPrinter, op: scf.ForOp) -> None:
    """Loop-carried values: mutable variables updated by the body's yield."""
    accs = []
    for res, init, arg in zip(op.results, op.iter_args, op.body.block.args[1:]):
        acc = p.fresh(res, "acc")
        p.line(f"{p.ctype(res.type)} {acc} = {p.expr(init)};")
        p.names[arg] = acc
        accs.append(acc)
    iv = p.fresh(op.body.block.args[0], "off")
    p.line(f"for (int64_t {iv} = {p.expr(op.lb)}; {iv} < {p.expr(op.ub)}; {iv} += {p.expr(op.step)}) {{")
    p.depth += 1
    for inner in op.body.block.ops:
        if isinstance(inner, scf.YieldOp) and len(accs) == 1:
            p.line(f"{accs[0]} = {p.expr(inner.operands[0])};")
        elif isinstance(inner, scf.YieldOp):  # all new values first, then the update
            nxt = [p.expr(v) for v in inner.operands]
            tmps = []
            for acc, res, e in zip(accs, op.results, nxt):
                tmps.append(f"{acc}_next")
                p.line(f"{p.ctype(res.type)} {acc}_next = {e};")
            for acc, tmp in zip(accs, tmps):
                p.line(f"{acc} = {tmp};")
        else:
            p.op(inner)
    p.depth -= 1
    p.line("}")


@renders(scf.IfOp)
def _if(p: KernelPrinter, op: scf.IfOp) -> None:
    p.line(f"if ({p.expr(op.cond)}) {{")
    p.block(op.true_region.block.ops)
    if op.false_region.blocks and any(not isinstance(o, scf.YieldOp) for o in op.false_region.block.ops):
        p.line("} else {")
        p.block(op.false_region.block.ops)
    p.line("}")


@renders(scf.YieldOp)
def _yield(p: KernelPrinter, op: scf.YieldOp) -> None:
    pass


@renders(A.ReturnOp)
def _return(p: KernelPrinter, op: A.ReturnOp) -> None:
    p.line("return;")


@renders(A.TilingFieldOp)
def _tiling_field(p: KernelPrinter, op: A.TilingFieldOp) -> None:
    p.names[op.res] = f"t.{_s(op.field)}"


@renders(A.BlockIdxOp)
def _block_idx(p: KernelPrinter, op: A.BlockIdxOp) -> None:
    p.line(f"const int64_t {p.fresh(op.res, 'block')} = {p.calls['block_idx']};")


@renders(A.BlockNumOp)
def _block_num(p: KernelPrinter, op: A.BlockNumOp) -> None:
    p.line(f"int64_t {p.fresh(op.res, 'blocks')} = {p.calls['block_num']};")


@renders(A.GlobalTensorOp)
def _global_tensor(p: KernelPrinter, op: A.GlobalTensorOp) -> None:
    ptr, off, size = (p.expr(v) for v in op.operands)
    t = op.res.type
    n = p.fresh(op.res)
    p.line(f"{p.ctype(t)} {n};")
    p.line(f"{n}.{p.calls['set_global_buffer']}((__gm__ {p.elem(op.res)}*){ptr} + {off}, {size});")


@renders(A.PipeOp, A.QueOp, A.BufOp)
def _declare(p: KernelPrinter, op: Operation) -> None:
    p.line(f"{p.ctype(op.results[0].type)} {p.fresh(op.results[0])};")


@renders(A.InitBufferOp)
def _init_buffer(p: KernelPrinter, op: A.InitBufferOp) -> None:
    pipe, buf, size = (p.expr(v) for v in op.operands)
    num = op.num
    assert isinstance(num, IntegerAttr)
    if isinstance(op.operands[1].type, A.BufType):
        p.line(f"{pipe}.{p.calls['init_buffer']}({buf}, {size});")
    else:
        p.line(f"{pipe}.{p.calls['init_buffer']}({buf}, {num.value.data}, {size});")


@renders(A.AllocTensorOp, A.DeQueOp, A.BufGetOp)
def _take_tensor(p: KernelPrinter, op: Operation) -> None:
    """``LocalTensor<T> x = que.AllocTensor<T>();`` (DeQue, TBuf Get alike)."""
    res = op.results[0]
    call = p.calls[_TAKE[type(op)]]
    p.line(f"{p.ctype(res.type)} {p.fresh(res)} = {p.expr(op.operands[0])}.{call}<{p.elem(res)}>();")


@renders(A.EnQueOp, A.FreeTensorOp)
def _give_tensor(p: KernelPrinter, op: Operation) -> None:
    que, t = op.operands
    p.line(f"{p.expr(que)}.{p.calls[_GIVE[type(op)]]}({p.expr(t)});")


@renders(A.AtOp)
def _at(p: KernelPrinter, op: A.AtOp) -> None:
    p.names[op.res] = f"{p.expr(op.a0)}[{p.expr(op.a1)}]"


@renders(A.DataCopyOp)
def _data_copy(p: KernelPrinter, op: A.DataCopyOp) -> None:
    call_line(p, p.calls["data_copy"], *op.operands)


@renders(A.DataCopyPadOp)
def _data_copy_pad(p: KernelPrinter, op: A.DataCopyPadOp) -> None:
    dst, src, n = op.a0, op.a1, op.a2
    ty = p.elem(dst)
    params = f"AscendC::DataCopyExtParams{{1, static_cast<uint32_t>({p.expr(n)} * sizeof({ty})), 0, 0, 0}}"
    if isinstance(dst.type, A.LocalType):
        p.line(f"{p.calls['data_copy_pad']}({p.expr(dst)}, {p.expr(src)}, {params}, "
               f"AscendC::DataCopyPadExtParams<{ty}>{{false, 0, 0, 0}});")
    else:
        p.line(f"{p.calls['data_copy_pad']}({p.expr(dst)}, {p.expr(src)}, {params});")


@renders(A.VecBinaryOp, A.VecUnaryOp, A.ReduceOp)
def _vector(p: KernelPrinter, op: Operation) -> None:
    call_line(p, p.vector[_prop(op, "fn")], *op.operands)


@renders(A.ReduceIndexOp)
def _reduce_index(p: KernelPrinter, op: A.ReduceIndexOp) -> None:
    p.line(f"{p.vector[_prop(op, 'fn')]}({', '.join(p.expr(v) for v in op.operands)}, true);")


@renders(A.VecScalarOp)
def _vec_scalar(p: KernelPrinter, op: A.VecScalarOp) -> None:
    dst, src, sc, n = op.operands
    p.line(f"{p.vector[_prop(op, 'fn')]}({p.expr(dst)}, {p.expr(src)}, "
           f"static_cast<{p.elem(dst)}>({p.expr(sc)}), {p.expr(n)});")


@renders(A.DuplicateOp)
def _duplicate(p: KernelPrinter, op: A.DuplicateOp) -> None:
    dst, sc, n = op.operands
    p.line(f"{p.calls['duplicate']}({p.expr(dst)}, static_cast<{p.elem(dst)}>({p.expr(sc)}), {p.expr(n)});")


@renders(A.GatherMaskOp)
def _gather_mask(p: KernelPrinter, op: A.GatherMaskOp) -> None:
    dst, src, pattern, repeats = (p.expr(v) for v in op.operands)
    p.line("{")
    p.line(f"    uint64_t kept = 0;  // {p.calls['gather_mask']} reports how many it kept")
    p.line(f"    {p.calls['gather_mask']}({dst}, {src}, static_cast<uint8_t>({pattern}), false, 0, "
           f"{p.calls['gather_mask_params']}{{1, static_cast<uint16_t>({repeats}), 8, 0}}, kept);")
    p.line("}")


@renders(A.GatherOp)
def _gather(p: KernelPrinter, op: A.GatherOp) -> None:
    dst, src, offsets, base, n = (p.expr(v) for v in op.operands)
    p.line(f"{p.calls['gather']}({dst}, {src}, {offsets}, static_cast<uint32_t>({base}), "
           f"static_cast<uint32_t>({n}));")


@renders(A.CastOp)
def _cast(p: KernelPrinter, op: A.CastOp) -> None:
    dst, src, n = op.operands
    mode = A.api()["round_modes"][_prop(op, "round")]
    p.line(f"{p.calls['cast']}({p.expr(dst)}, {p.expr(src)}, {mode}, {p.expr(n)});")


@renders(A.CompareOp)
def _compare(p: KernelPrinter, op: A.CompareOp) -> None:
    c = p.calls
    dst, a, b, n = (p.expr(v) for v in op.operands)
    p.line(f"{c['compare']}({dst}, {a}, {b}, {c['cmp_mode']}::{_prop(op, 'mode')}, {n});")


@renders(A.CompareScalarOp)
def _compare_scalar(p: KernelPrinter, op: A.CompareScalarOp) -> None:
    c = p.calls
    dst, a, sc, n = op.operands
    p.line(f"{c['compare_scalar']}({p.expr(dst)}, {p.expr(a)}, static_cast<{p.elem(a)}>"
           f"({p.expr(sc)}), {c['cmp_mode']}::{_prop(op, 'mode')}, {p.expr(n)});")


@renders(A.SelectOp)
def _vec_select(p: KernelPrinter, op: A.SelectOp) -> None:
    dst, m, a, b, n = (p.expr(v) for v in op.operands)
    p.line(f"{p.calls['select']}({dst}, {m}, {a}, {b}, {p.calls['select_tensors']}, {n});")


@renders(A.PipeBarrierOp)
def _pipe_barrier(p: KernelPrinter, op: A.PipeBarrierOp) -> None:
    p.line(f"{p.calls['pipe_barrier']}<{_prop(op, 'pipe')}>();")


@renders(A.GetValueOp)
def _get_value(p: KernelPrinter, op: A.GetValueOp) -> None:
    p.line(f"{p.elem(op.a0)} {p.fresh(op.res)} = {p.expr(op.a0)}.{p.calls['get_value']}({p.expr(op.a1)});")


@renders(A.SetValueOp)
def _set_value(p: KernelPrinter, op: A.SetValueOp) -> None:
    p.line(f"{p.expr(op.a0)}.{p.calls['set_value']}({p.expr(op.a1)}, {p.expr(op.a2)});")


@renders(A.ReinterpretOp)
def _reinterpret(p: KernelPrinter, op: A.ReinterpretOp) -> None:
    p.names[op.res] = f"{p.expr(op.a0)}.{p.calls['reinterpret_cast']}<{p.elem(op.res)}>()"


# --- the cube kernels: the Matmul high-level API and the strided DataCopyPad ------------------


@renders(A.CubeTilingOp)
def _cube_tiling(p: KernelPrinter, op: A.CubeTilingOp) -> None:
    n = p.fresh(op.res, "cube_tiling")
    p.line(f"{A.api()['matmul']['tiling']} {n}{{}};")
    for field, v in zip(_prop(op, "fields").split(","), op.operands):
        p.line(f"{n}.{field} = static_cast<int32_t>({p.expr(v)});")


@renders(A.MatmulObjOp)
def _matmul_object(p: KernelPrinter, op: A.MatmulObjOp) -> None:
    mm = A.api()["matmul"]

    def mt(prop: str) -> str:
        ty, *trans = _prop(op, prop).split(",")
        return f"{mm['type']}<{mm['position']}, {mm['format']}, {ty}{', true' if trans else ''}>"

    e = [p.expr(v) for v in op.operands]
    n = p.fresh(op.res, "mm")
    p.line(f"{mm['object']}<{mt('a')}, {mt('b')}, {mt('c')}, {mt('bias')}> {n};")
    p.line(f"{mm['regist']}(&{e[0]}, {mm['sys_workspace']}, {n}, &{e[1]});")


@renders(A.MatmulOrgShapeOp)
def _matmul_org_shape(p: KernelPrinter, op: A.MatmulOrgShapeOp) -> None:
    obj, *shape = (p.expr(v) for v in op.operands)
    p.line(f"{obj}.{A.api()['matmul']['set_org_shape']}({', '.join(shape)});")


@renders(A.MatmulOp)
def _matmul(p: KernelPrinter, op: A.MatmulOp) -> None:
    mm = A.api()["matmul"]

    def flag(prop: str) -> bool:
        return isinstance(a := getattr(op, prop), IntegerAttr) and a.value.data != 0

    obj, a, b, *rest = (p.expr(v) for v in op.operands)
    bias = rest.pop(0) if flag("has_bias") else None
    c, m, n, k = rest
    p.line(f"{obj}.{mm['set_tensor_a']}({a}{', true' if flag('trans_a') else ''});")
    p.line(f"{obj}.{mm['set_tensor_b']}({b}{', true' if flag('trans_b') else ''});")
    if bias is not None:
        p.line(f"{obj}.{mm['set_bias']}({bias});")
    p.line(f"{obj}.{mm['set_tail']}({m}, {n}, {k});")
    p.line(f"{obj}.{mm['iterate_all']}({c}{', 1' if flag('atomic') else ''});")
    p.line(f"{obj}.{mm['end']}();")


@renders(A.DataCopyPad2dOp)
def _data_copy_pad_2d(p: KernelPrinter, op: A.DataCopyPad2dOp) -> None:
    dst, src, count, length, sstride, dstride, left, right = (p.expr(v) for v in op.operands)
    ty = p.elem(op.operands[0])
    params = (f"AscendC::DataCopyExtParams{{static_cast<uint16_t>({count}), "
              f"static_cast<uint32_t>({length} * sizeof({ty})), static_cast<uint32_t>({sstride}), "
              f"static_cast<uint32_t>({dstride}), 0}}")
    call = p.calls["data_copy_pad"]
    value = op.properties.get("value")
    pad = f"static_cast<{ty}>({float(str(np.float32(value.value.data)))!r}f)" if isinstance(value, FloatAttr) else "0"
    if isinstance(op.operands[0].type, A.LocalType):
        p.line(f"{call}({dst}, {src}, {params}, AscendC::DataCopyPadExtParams<{ty}>{{true, "
               f"static_cast<uint8_t>({left}), static_cast<uint8_t>({right}), {pad}}});")
    else:
        p.line(f"{call}({dst}, {src}, {params});")


@renders(A.SoftmaxFlashV2Op)
def _softmax_flash_v2(p: KernelPrinter, op: A.SoftmaxFlashV2Op) -> None:
    sm = A.api()["softmax"]
    *tensors, m, k = (p.expr(v) for v in op.operands)
    update = isinstance(op.update, IntegerAttr) and op.update.value.data != 0
    p.line("{")
    p.line(f"    {sm['tiling']} sm_tiling{{}};  // one split: the whole {m} x {k} tile at once")
    for f, v in (("srcM", m), ("srcK", k), ("srcSize", f"{m} * {k}"), ("outMaxM", m), ("outMaxK", "8"),
                 ("outMaxSize", f"{m} * 8"), ("splitM", m), ("splitK", k), ("splitSize", f"{m} * {k}"),
                 ("reduceM", m), ("reduceK", "8"), ("reduceSize", f"{m} * 8"), ("rangeM", "1")):
        p.line(f"    sm_tiling.{f} = static_cast<uint32_t>({v});")
    p.line(f"    {sm['flash_v2']}<{p.elem(op.operands[0])}, {'true' if update else 'false'}>({', '.join(tensors)}, "
           f"sm_tiling, {sm['shape_info']}{{static_cast<uint32_t>({m}), static_cast<uint32_t>({k}), "
           f"static_cast<uint32_t>({m}), static_cast<uint32_t>({k})}});")
    p.line("}")


def _prop(op: Operation, name: str) -> str:
    """A string property of an ascendc op."""
    return _s(op.properties[name])


def print_kernel(kernel: A.KernelOp) -> str:
    return KernelPrinter(kernel).print()


def kernel_sources(module: ModuleOp) -> dict[str, str]:
    """Kernel name -> its AscendC C++ (one file per kernel)."""
    return {k.sym_name.data: print_kernel(k) for k in module.ops if isinstance(k, A.KernelOp)}


def kernel_arities(module: ModuleOp) -> dict[str, int]:
    return {k.sym_name.data: len(k.arg_names.data) for k in module.ops if isinstance(k, A.KernelOp)}
