"""The ``ascendc`` dialect: the AscendC C++ API subset circ emits, one op per API call.

A kernel is an ``ascendc.kernel`` op with a body region; its block arguments are the GM
pointers (inputs, outputs, then ``workspace`` and ``tiling``). Scalar control flow uses
``scf.for`` / ``scf.if`` and ``arith``; tensors are ``!ascendc.global<T>`` / ``!ascendc.local<T>``;
queues and buffers are ``!ascendc.que<POS, DEPTH>`` / ``!ascendc.buf``. The C++ printer
(``cpp.py``) writes each op as the API call it mirrors, so the IR reads like the C++.
API names are pinned to CANN 8.x in ``api.toml``.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from xdsl.dialects.builtin import (
    ArrayAttr,
    IntAttr,
    StringAttr,
)
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    param_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import IsolatedFromAbove, NoTerminator

API = Path(__file__).parent / "api.toml"


@cache
def api() -> dict:
    """CANN 8.x AscendC names: the only place a name of the C++ API is spelled."""
    return tomllib.loads(API.read_text())


def ctype_bytes(ty: str) -> int:
    """The byte width of a C++ element type of api.toml's [types] ("half" -> 2)."""
    from cir.types import dtype_named

    by_ctype = {c: name for name, c in api()["types"].items()}
    return 1 if ty == "uint8_t" else dtype_named(by_ctype[ty]).itemsize


# --- types ---------------------------------------------------------------------------------


@irdl_attr_definition
class GlobalType(ParametrizedAttribute, TypeAttribute):
    """``!ascendc.global<f32>``: a GlobalTensor<T> over GM."""

    name = "ascendc.global"
    elem: StringAttr = param_def(StringAttr)  # C++ element type: float, half, int32_t, ...


@irdl_attr_definition
class LocalType(ParametrizedAttribute, TypeAttribute):
    """``!ascendc.local<f32>``: a LocalTensor<T> in UB."""

    name = "ascendc.local"
    elem: StringAttr = param_def(StringAttr)


@irdl_attr_definition
class GmPtrType(ParametrizedAttribute, TypeAttribute):
    """``GM_ADDR``: a kernel argument."""

    name = "ascendc.gm_addr"


@irdl_attr_definition
class QueType(ParametrizedAttribute, TypeAttribute):
    """``TQue<TPosition::POS, DEPTH>``."""

    name = "ascendc.que"
    position: StringAttr = param_def(StringAttr)
    depth: IntAttr = param_def(IntAttr)


@irdl_attr_definition
class BufType(ParametrizedAttribute, TypeAttribute):
    """``TBuf<TPosition::VECCALC>``."""

    name = "ascendc.buf"


@irdl_attr_definition
class PipeType(ParametrizedAttribute, TypeAttribute):
    name = "ascendc.pipe"


@irdl_attr_definition
class MatmulType(ParametrizedAttribute, TypeAttribute):
    """A ``matmul::Matmul<A, B, C, Bias>`` object."""

    name = "ascendc.matmul_obj"
    elem: StringAttr = param_def(StringAttr)


@irdl_attr_definition
class CubeTilingType(ParametrizedAttribute, TypeAttribute):
    """A ``TCubeTiling`` struct (the Matmul object's tiling), filled in the kernel."""

    name = "ascendc.cube_tiling"


# --- ops -----------------------------------------------------------------------------------


@irdl_op_definition
class KernelOp(IRDLOperation):
    """``extern "C" __global__ __aicore__ void NAME(GM_ADDR args..., GM_ADDR workspace,
    GM_ADDR tiling)``; ``tiling`` lists the POD tiling struct's fields (name -> C++ type)."""

    name = "ascendc.kernel"
    sym_name = prop_def(StringAttr)
    arg_names = prop_def(ArrayAttr)
    tiling_fields = prop_def(ArrayAttr)  # [[name, ctype], ...]
    comment = opt_prop_def(StringAttr)
    body = region_def("single_block")
    traits = traits_def(IsolatedFromAbove(), NoTerminator())


def _simple(name: str, operands: int = 0, results: bool = False, props: tuple[str, ...] = (),
            variadic: bool = False, doc: str = "") -> type[IRDLOperation]:
    """Ops that are one API call: operands in call order, optional result, string props."""
    fields: dict = {"name": name, "__doc__": doc}
    if variadic:
        fields["args"] = var_operand_def()
    else:
        for i in range(operands):
            fields[f"a{i}"] = operand_def()
    if results:
        fields["res"] = result_def()
    for p in props:
        fields[p] = prop_def(Attribute)
    cls_name = "".join(w.capitalize() for w in name.split(".")[1].split("_")) + "Op"
    return irdl_op_definition(type(cls_name, (IRDLOperation,), fields))


TilingFieldOp = _simple("ascendc.tiling_field", results=True, props=("field",),
                        doc="t.FIELD: a field of the kernel's tiling struct")
BlockIdxOp = _simple("ascendc.block_idx", results=True, doc="AscendC::GetBlockIdx()")
BlockNumOp = _simple("ascendc.block_num", results=True, doc="AscendC::GetBlockNum()")
GlobalTensorOp = _simple("ascendc.global_tensor", 3, True,
                         doc="GlobalTensor<T> g; g.SetGlobalBuffer((__gm__ T*)ptr + offset, size)")
PipeOp = _simple("ascendc.pipe", results=True, doc="AscendC::TPipe pipe")
QueOp = _simple("ascendc.que", results=True, doc="TQue<POS, DEPTH> q")
BufOp = _simple("ascendc.buf", results=True, doc="TBuf<TPosition::VECCALC> b")
InitBufferOp = _simple("ascendc.init_buffer", 3, props=("num",),
                       doc="pipe.InitBuffer(que_or_buf, num, bytes)")
AllocTensorOp = _simple("ascendc.alloc_tensor", 1, True, doc="q.AllocTensor<T>()")
EnQueOp = _simple("ascendc.enque", 2, doc="q.EnQue(t)")
DeQueOp = _simple("ascendc.deque", 1, True, doc="q.DeQue<T>()")
FreeTensorOp = _simple("ascendc.free_tensor", 2, doc="q.FreeTensor(t)")
BufGetOp = _simple("ascendc.buf_get", 1, True, doc="b.Get<T>()")
AtOp = _simple("ascendc.at", 2, True, doc="t[offset]: a view at an element offset")
DataCopyOp = _simple("ascendc.data_copy", 3, doc="DataCopy(dst, src, count)")
DataCopyPadOp = _simple("ascendc.data_copy_pad", 3,
                        doc="DataCopyPad(dst, src, {1, count * sizeof(T), 0, 0, 0}[, pad])")
VecBinaryOp = _simple("ascendc.vbinary", 4, props=("fn",), doc="Add/Sub/Mul/Div/Max/Min(dst, a, b, count)")
VecScalarOp = _simple("ascendc.vscalar", 4, props=("fn",), doc="Adds/Muls/Maxs/Mins(dst, src, scalar, count)")
VecUnaryOp = _simple("ascendc.vunary", 3, props=("fn",), doc="Exp/Ln/Abs/Relu/Sqrt/Rsqrt/Reciprocal(dst, src, count)")
DuplicateOp = _simple("ascendc.duplicate", 3, doc="Duplicate(dst, scalar, count)")
CastOp = _simple("ascendc.cast", 3, props=("round",), doc="Cast(dst, src, RoundMode, count)")
ReduceOp = _simple("ascendc.reduce", 4, props=("fn",), doc="ReduceSum/Max/Min(dst, src, work, count)")
ReduceIndexOp = _simple("ascendc.reduce_index", 4, props=("fn",),
                        doc="ReduceMax/Min(dst, src, work, count, true): the value in dst[0], its index's "
                            "bits in dst[1]")
CompareOp = _simple("ascendc.compare", 4, props=("mode",),
                    doc="Compare(dst bit-mask, src0, src1, CMPMODE::mode, count): count fills whole 256-byte repeats")
CompareScalarOp = _simple("ascendc.compare_scalar", 4, props=("mode",),
                          doc="CompareScalar(dst bit-mask, src0, scalar, CMPMODE::mode, count)")
SelectOp = _simple("ascendc.select", 5,
                   doc="Select(dst, selMask, src0, src1, VSEL_TENSOR_TENSOR_MODE, count): src0 where the bit is 1")
PipeBarrierOp = _simple("ascendc.pipe_barrier", props=("pipe",), doc="PipeBarrier<PIPE_V>()")
GetValueOp = _simple("ascendc.get_value", 2, True, doc="t.GetValue(index)")
SetValueOp = _simple("ascendc.set_value", 3, doc="t.SetValue(index, value)")
ReinterpretOp = _simple("ascendc.reinterpret", 1, True, doc="t.ReinterpretCast<U>(): the same bytes as U")
MatmulOp = _simple("ascendc.matmul", variadic=True, props=("trans_a", "trans_b", "has_bias", "atomic"),
                   doc="matmul::Matmul object: SetTensorA/B(, SetBias), SetTail, IterateAll, End; "
                       "operands mm, a, b, [bias], c, tailM, tailN, tailK; atomic=1: C += A B")
ReturnOp = _simple("ascendc.return", doc="return from the kernel")
# cube (Matmul high-level API): see cube.py
CubeTilingOp = _simple("ascendc.cube_tiling", variadic=True, results=True, props=("fields",),
                       doc="TCubeTiling cube_tiling{}; cube_tiling.FIELD = value; ... (fields: comma list)")
MatmulObjOp = _simple("ascendc.matmul_obj", 2, True, props=("a", "b", "c", "bias"),
                      doc="matmul::Matmul<MatmulType<GM, ND, T[, trans]> A, B, C, Bias> mm; "
                          "REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &cube_tiling) (operands: "
                          "pipe, cube tiling; props: element type, ',trans' when transposable)")
MatmulOrgShapeOp = _simple("ascendc.matmul_org_shape", variadic=True,
                           doc="mm.SetOrgShape(orgM, orgN, orgKa, orgKb, orgKc)")
DataCopyPad2dOp = _simple("ascendc.data_copy_pad_2d", 8,
                          doc="DataCopyPad(dst, src, {blockCount, blockLen * sizeof(T), srcStride, "
                              "dstStride, 0}[, {true, leftPad, rightPad, 0}]): operands dst, src, "
                              "blockCount, blockLen (elements), srcStride, dstStride (API units: "
                              "bytes on the GM side, 32-byte blocks on the UB side), leftPad, rightPad")


def attr_list(fields: list[tuple[str, str]]) -> ArrayAttr:
    return ArrayAttr([ArrayAttr([StringAttr(a), StringAttr(b)]) for a, b in fields])


ASCENDC = Dialect(
    "ascendc",
    [
        KernelOp, TilingFieldOp, BlockIdxOp, BlockNumOp, GlobalTensorOp, PipeOp, QueOp, BufOp,
        InitBufferOp, AllocTensorOp, EnQueOp, DeQueOp, FreeTensorOp, BufGetOp, AtOp, DataCopyOp,
        DataCopyPadOp, VecBinaryOp, VecScalarOp, VecUnaryOp, DuplicateOp, CastOp, ReduceOp,
        PipeBarrierOp, GetValueOp, SetValueOp, ReinterpretOp, ReduceIndexOp, MatmulOp, ReturnOp,
        CubeTilingOp, MatmulObjOp, MatmulOrgShapeOp, DataCopyPad2dOp, CompareOp, CompareScalarOp, SelectOp,
    ],  # fmt: skip
    [GlobalType, LocalType, GmPtrType, QueType, BufType, PipeType, MatmulType, CubeTilingType],
)


