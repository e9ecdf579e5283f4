"""Print an ``ascendc.kernel`` as AscendC C++: one kernel per file, a POD tiling struct, an
``extern "C" __global__ __aicore__`` entry with ``workspace, tiling`` last, and a comment
naming the CIR op(s) and their source location. Every API name comes from ``api.toml``.
"""

from __future__ import annotations

import re
from io import StringIO

import numpy as np
from cir.lowering import ascendc as A
from xdsl.dialects import arith, scf
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import (
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
        for pair in k.tiling_fields.data:  # type: ignore[attr-defined]
            fname, ftype = (_s(x) for x in pair.data)
            self.out.write(f"    {ftype} {fname};\n")
        self.out.write("};\n\n")
        args = [_s(a) for a in k.arg_names.data]  # type: ignore[attr-defined]
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
        c = self.calls
        match op:
            case arith.ConstantOp():
                v = op.value
                if isinstance(v, IntegerAttr):
                    self.names[op.result] = str(v.value.data)
                elif isinstance(v, FloatAttr):  # shortest text that is the same f32
                    self.names[op.result] = f"{float(str(np.float32(v.value.data)))!r}f"
            case arith.CmpiOp():
                pred = arith.CMPI_COMPARISON_OPERATIONS[op.predicate.value.data]
                self.let(op.result, "bool", f"{self.expr(op.lhs)} {_CMP[pred]} {self.expr(op.rhs)}")
            case arith.MinSIOp():
                a, b = self.expr(op.lhs), self.expr(op.rhs)
                self.let(op.result, "int64_t", f"{a} < {b} ? {a} : {b}")
            case arith.MaxSIOp():
                a, b = self.expr(op.lhs), self.expr(op.rhs)
                self.let(op.result, "int64_t", f"{a} > {b} ? {a} : {b}")
            case arith.SelectOp():
                self.let(op.result, self.ctype(op.result.type),
                         f"{self.expr(op.cond)} ? {self.expr(op.lhs)} : {self.expr(op.rhs)}")
            case arith.MaximumfOp() | arith.MinimumfOp():  # (reductions: the running max / min)
                a, b = self.expr(op.lhs), self.expr(op.rhs)
                cmp = ">" if isinstance(op, arith.MaximumfOp) else "<"
                self.let(op.result, "float", f"{a} {cmp} {b} ? {a} : {b}")
            case arith.CmpfOp():
                pred = {"ogt": ">", "oge": ">=", "olt": "<", "ole": "<=", "oeq": "==", "one": "!="}[
                    arith.CMPF_COMPARISON_OPERATIONS[op.predicate.value.data]]
                self.let(op.result, "bool", f"{self.expr(op.lhs)} {pred} {self.expr(op.rhs)}")
            case arith.AndIOp():
                self.let(op.result, self.ctype(op.result.type), f"{self.expr(op.lhs)} && {self.expr(op.rhs)}")
            case _ if type(op) in _BINOPS:
                a, b = self.expr(op.operands[0]), self.expr(op.operands[1])
                self.let(op.results[0], self.ctype(op.results[0].type), f"{a} {_BINOPS[type(op)]} {b}")
            case arith.IndexCastOp():
                self.names[op.result] = self.expr(op.input)
            case arith.SIToFPOp():
                self.names[op.result] = f"static_cast<float>({self.expr(op.input)})"
            case xmath.SqrtOp():
                self.let(op.result, "float", f"sqrtf({self.expr(op.operand)})")
            case scf.ForOp() if op.iter_args:
                # loop-carried values: mutable variables updated by the body's yield
                accs = []
                for res, init, arg in zip(op.results, op.iter_args, op.body.block.args[1:]):
                    acc = self.fresh(res, "acc")
                    self.line(f"{self.ctype(res.type)} {acc} = {self.expr(init)};")
                    self.names[arg] = acc
                    accs.append(acc)
                iv = self.fresh(op.body.block.args[0], "off")
                self.line(f"for (int64_t {iv} = {self.expr(op.lb)}; {iv} < {self.expr(op.ub)}; "
                          f"{iv} += {self.expr(op.step)}) {{")
                self.depth += 1
                for inner in op.body.block.ops:
                    if isinstance(inner, scf.YieldOp) and len(accs) == 1:
                        self.line(f"{accs[0]} = {self.expr(inner.operands[0])};")
                    elif isinstance(inner, scf.YieldOp):  # all new values first, then the update
                        nxt = [self.expr(v) for v in inner.operands]
                        tmps = []
                        for acc, res, e in zip(accs, op.results, nxt):
                            tmps.append(f"{acc}_next")
                            self.line(f"{self.ctype(res.type)} {acc}_next = {e};")
                        for acc, tmp in zip(accs, tmps):
                            self.line(f"{acc} = {tmp};")
                    else:
                        self.op(inner)
                self.depth -= 1
                self.line("}")
            case scf.ForOp():
                iv = op.body.block.args[0]
                i = self.fresh(iv, iv.name_hint or "i")  # a named induction variable keeps its name
                self.line(f"for (int64_t {i} = {self.expr(op.lb)}; {i} < {self.expr(op.ub)}; "
                          f"{i} += {self.expr(op.step)}) {{")
                self.depth += 1
                for inner in op.body.block.ops:
                    self.op(inner)
                self.depth -= 1
                self.line("}")
            case scf.IfOp():
                self.line(f"if ({self.expr(op.cond)}) {{")
                self.depth += 1
                for inner in op.true_region.block.ops:
                    self.op(inner)
                self.depth -= 1
                if op.false_region.blocks and any(
                    not isinstance(o, scf.YieldOp) for o in op.false_region.block.ops
                ):
                    self.line("} else {")
                    self.depth += 1
                    for inner in op.false_region.block.ops:
                        self.op(inner)
                    self.depth -= 1
                self.line("}")
            case scf.YieldOp():
                pass
            case A.ReturnOp():
                self.line("return;")
            case A.TilingFieldOp():
                self.names[op.res] = f"t.{_s(op.field)}"
            case A.BlockIdxOp():
                self.line(f"const int64_t {self.fresh(op.res, 'block')} = {c['block_idx']};")
            case A.BlockNumOp():
                self.line(f"int64_t {self.fresh(op.res, 'blocks')} = {c['block_num']};")
            case A.GlobalTensorOp():
                ptr, off, size = (self.expr(v) for v in op.operands)
                t = op.res.type
                n = self.fresh(op.res)
                self.line(f"{self.ctype(t)} {n};")
                self.line(f"{n}.{c['set_global_buffer']}((__gm__ {t.elem.data}*){ptr} + {off}, {size});")  # type: ignore[attr-defined]
            case A.PipeOp() | A.QueOp() | A.BufOp():
                self.line(f"{self.ctype(op.res.type)} {self.fresh(op.res)};")
            case A.InitBufferOp():
                pipe, buf, size = (self.expr(v) for v in op.operands)
                num = op.num.value.data  # type: ignore[attr-defined]
                if isinstance(op.operands[1].type, A.BufType):
                    self.line(f"{pipe}.{c['init_buffer']}({buf}, {size});")
                else:
                    self.line(f"{pipe}.{c['init_buffer']}({buf}, {num}, {size});")
            case A.AllocTensorOp():
                t = op.res.type
                self.line(f"{self.ctype(t)} {self.fresh(op.res)} = "
                          f"{self.expr(op.a0)}.{c['alloc_tensor']}<{t.elem.data}>();")  # type: ignore[attr-defined]
            case A.DeQueOp():
                t = op.res.type
                self.line(f"{self.ctype(t)} {self.fresh(op.res)} = "
                          f"{self.expr(op.a0)}.{c['deque']}<{t.elem.data}>();")  # type: ignore[attr-defined]
            case A.BufGetOp():
                t = op.res.type
                self.line(f"{self.ctype(t)} {self.fresh(op.res)} = "
                          f"{self.expr(op.a0)}.{c['buf_get']}<{t.elem.data}>();")  # type: ignore[attr-defined]
            case A.EnQueOp():
                self.line(f"{self.expr(op.a0)}.{c['enque']}({self.expr(op.a1)});")
            case A.FreeTensorOp():
                self.line(f"{self.expr(op.a0)}.{c['free_tensor']}({self.expr(op.a1)});")
            case A.AtOp():
                self.names[op.res] = f"{self.expr(op.a0)}[{self.expr(op.a1)}]"
            case A.DataCopyOp():
                self.line(f"{c['data_copy']}({self.expr(op.a0)}, {self.expr(op.a1)}, {self.expr(op.a2)});")
            case A.DataCopyPadOp():
                dst, src, n = op.a0, op.a1, op.a2
                ty = self.elem(dst)
                params = f"AscendC::DataCopyExtParams{{1, static_cast<uint32_t>({self.expr(n)} * sizeof({ty})), 0, 0, 0}}"
                if isinstance(dst.type, A.LocalType):
                    self.line(f"{c['data_copy_pad']}({self.expr(dst)}, {self.expr(src)}, {params}, "
                              f"AscendC::DataCopyPadExtParams<{ty}>{{false, 0, 0, 0}});")
                else:
                    self.line(f"{c['data_copy_pad']}({self.expr(dst)}, {self.expr(src)}, {params});")
            case A.VecBinaryOp() | A.VecUnaryOp() | A.ReduceOp():
                fn = self.vector[_s(op.fn)]  # type: ignore[attr-defined]
                self.line(f"{fn}({', '.join(self.expr(v) for v in op.operands)});")
            case A.ReduceIndexOp():
                fn = self.vector[_s(op.fn)]  # type: ignore[attr-defined]
                self.line(f"{fn}({', '.join(self.expr(v) for v in op.operands)}, true);")
            case A.VecScalarOp():
                fn = self.vector[_s(op.fn)]  # type: ignore[attr-defined]
                dst, src, sc, n = op.operands
                self.line(f"{fn}({self.expr(dst)}, {self.expr(src)}, "
                          f"static_cast<{self.elem(dst)}>({self.expr(sc)}), {self.expr(n)});")
            case A.DuplicateOp():
                dst, sc, n = op.operands
                self.line(f"{c['duplicate']}({self.expr(dst)}, static_cast<{self.elem(dst)}>({self.expr(sc)}), {self.expr(n)});")
            case A.CastOp():
                dst, src, n = op.operands
                mode = A.api()["round_modes"][_s(op.round)]  # type: ignore[attr-defined]
                self.line(f"{c['cast']}({self.expr(dst)}, {self.expr(src)}, {mode}, {self.expr(n)});")
            case A.CompareOp():
                dst, a, b, n = (self.expr(v) for v in op.operands)
                self.line(f"{c['compare']}({dst}, {a}, {b}, {c['cmp_mode']}::{_s(op.mode)}, {n});")  # type: ignore[attr-defined]
            case A.CompareScalarOp():
                dst, a, sc, n = op.operands
                self.line(f"{c['compare_scalar']}({self.expr(dst)}, {self.expr(a)}, static_cast<{self.elem(a)}>"
                          f"({self.expr(sc)}), {c['cmp_mode']}::{_s(op.mode)}, {self.expr(n)});")  # type: ignore[attr-defined]
            case A.SelectOp():
                dst, m, a, b, n = (self.expr(v) for v in op.operands)
                self.line(f"{c['select']}({dst}, {m}, {a}, {b}, {c['select_tensors']}, {n});")
            case A.PipeBarrierOp():
                self.line(f"{c['pipe_barrier']}<{_s(op.pipe)}>();")  # type: ignore[attr-defined]
            case A.GetValueOp():
                self.line(f"{self.elem(op.a0)} {self.fresh(op.res)} = "
                          f"{self.expr(op.a0)}.{c['get_value']}({self.expr(op.a1)});")
            case A.SetValueOp():
                self.line(f"{self.expr(op.a0)}.{c['set_value']}({self.expr(op.a1)}, {self.expr(op.a2)});")
            case A.ReinterpretOp():
                self.names[op.res] = f"{self.expr(op.a0)}.{c['reinterpret_cast']}<{op.res.type.elem.data}>()"  # type: ignore[attr-defined]
            case A.CubeTilingOp() | A.MatmulObjOp() | A.MatmulOrgShapeOp() | A.MatmulOp() | A.DataCopyPad2dOp():
                self.cube(op)
            case _:
                raise ValueError(f"the C++ printer does not know {op.name}")

    def cube(self, op: Operation) -> None:
        """The Matmul high-level API and the strided DataCopyPad of the cube kernels."""
        mm = A.api()["matmul"]
        e = [self.expr(v) for v in op.operands]
        match op:
            case A.CubeTilingOp():
                n = self.fresh(op.res, "cube_tiling")
                self.line(f"{mm['tiling']} {n}{{}};")
                for field, v in zip(_s(op.fields).split(","), e):  # type: ignore[attr-defined]
                    self.line(f"{n}.{field} = static_cast<int32_t>({v});")
            case A.MatmulObjOp():
                def mt(prop: str) -> str:
                    ty, *trans = _s(getattr(op, prop)).split(",")
                    return f"{mm['type']}<{mm['position']}, {mm['format']}, {ty}{', true' if trans else ''}>"

                n = self.fresh(op.res, "mm")
                self.line(f"{mm['object']}<{mt('a')}, {mt('b')}, {mt('c')}, {mt('bias')}> {n};")
                self.line(f"{mm['regist']}(&{e[0]}, {mm['sys_workspace']}, {n}, &{e[1]});")
            case A.MatmulOrgShapeOp():
                self.line(f"{e[0]}.{mm['set_org_shape']}({', '.join(e[1:])});")
            case A.MatmulOp():
                def flag(prop: str) -> bool:
                    return isinstance(a := getattr(op, prop), IntegerAttr) and a.value.data != 0

                obj, a, b, *rest = e
                bias = rest.pop(0) if flag("has_bias") else None
                c, m, n, k = rest
                self.line(f"{obj}.{mm['set_tensor_a']}({a}{', true' if flag('trans_a') else ''});")
                self.line(f"{obj}.{mm['set_tensor_b']}({b}{', true' if flag('trans_b') else ''});")
                if bias is not None:
                    self.line(f"{obj}.{mm['set_bias']}({bias});")
                self.line(f"{obj}.{mm['set_tail']}({m}, {n}, {k});")
                self.line(f"{obj}.{mm['iterate_all']}({c}{', 1' if flag('atomic') else ''});")
                self.line(f"{obj}.{mm['end']}();")
            case A.DataCopyPad2dOp():
                dst, src, count, length, sstride, dstride, left, right = e
                ty = self.elem(op.operands[0])
                params = (f"AscendC::DataCopyExtParams{{static_cast<uint16_t>({count}), "
                          f"static_cast<uint32_t>({length} * sizeof({ty})), static_cast<uint32_t>({sstride}), "
                          f"static_cast<uint32_t>({dstride}), 0}}")
                call = self.calls["data_copy_pad"]
                if isinstance(op.operands[0].type, A.LocalType):
                    self.line(f"{call}({dst}, {src}, {params}, AscendC::DataCopyPadExtParams<{ty}>{{true, "
                              f"static_cast<uint8_t>({left}), static_cast<uint8_t>({right}), 0}});")
                else:
                    self.line(f"{call}({dst}, {src}, {params});")


def print_kernel(kernel: A.KernelOp) -> str:
    return KernelPrinter(kernel).print()


def kernel_sources(module: ModuleOp) -> dict[str, str]:
    """Kernel name -> its AscendC C++ (one file per kernel)."""
    return {k.sym_name.data: print_kernel(k) for k in module.ops if isinstance(k, A.KernelOp)}


def kernel_arities(module: ModuleOp) -> dict[str, int]:
    return {k.sym_name.data: len(k.arg_names.data) for k in module.ops if isinstance(k, A.KernelOp)}
