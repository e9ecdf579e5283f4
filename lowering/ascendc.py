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
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import IsolatedFromAbove, NoTerminator

from cir.types import dtype_named

API = Path(__file__).parent / "api.toml"


@cache
def api() -> dict:
    """CANN 8.x AscendC names: the only place a name of the C++ API is spelled."""
    return tomllib.loads(API.read_text())


def ctype_bytes(ty: str) -> int:
    """The byte width of a C++ element type of api.toml's [types] ("half" -> 2)."""
    by_ctype = {c: name for name, c in api()["types"].items()}
    return 1 if ty == "uint8_t" else dtype_named(by_ctype[ty]).itemsize


# --- types ---------------------------------------------------------------------------------


@irdl_attr_definition
class GlobalType(ParametrizedAttribute, TypeAttribute):
    """``!ascendc.global<f32>``: a GlobalTensor<T> over GM."""

    name = "ascendc.global"
    elem: StringAttr  # C++ element type: float, half, int32_t, ...


@irdl_attr_definition
class LocalType(ParametrizedAttribute, TypeAttribute):
    """``!ascendc.local<f32>``: a LocalTensor<T> in UB."""

    name = "ascendc.local"
    elem: StringAttr


@irdl_attr_definition
class GmPtrType(ParametrizedAttribute, TypeAttribute):
    """``GM_ADDR``: a kernel argument."""

    name = "ascendc.gm_addr"


@irdl_attr_definition
class QueType(ParametrizedAttribute, TypeAttribute):
    """``TQue<TPosition::POS, DEPTH>``."""

    name = "ascendc.que"
    position: StringAttr
    depth: IntAttr


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
    elem: StringAttr


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


@irdl_op_definition
class TilingFieldOp(IRDLOperation):
    """t.FIELD: a field of the kernel's tiling struct"""

    name = "ascendc.tiling_field"
    res = result_def()
    field = prop_def(Attribute)


@irdl_op_definition
class BlockIdxOp(IRDLOperation):
    """AscendC::GetBlockIdx()"""

    name = "ascendc.block_idx"
    res = result_def()


@irdl_op_definition
class BlockNumOp(IRDLOperation):
    """AscendC::GetBlockNum()"""

    name = "ascendc.block_num"
    res = result_def()


@irdl_op_definition
class GlobalTensorOp(IRDLOperation):
    """GlobalTensor<T> g; g.SetGlobalBuffer((__gm__ T*)ptr + offset, size)"""

    name = "ascendc.global_tensor"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    res = result_def()


@irdl_op_definition
class PipeOp(IRDLOperation):
    """AscendC::TPipe pipe"""

    name = "ascendc.pipe"
    res = result_def()


@irdl_op_definition
class QueOp(IRDLOperation):
    """TQue<POS, DEPTH> q"""

    name = "ascendc.que"
    res = result_def()


@irdl_op_definition
class BufOp(IRDLOperation):
    """TBuf<TPosition::VECCALC> b"""

    name = "ascendc.buf"
    res = result_def()


@irdl_op_definition
class InitBufferOp(IRDLOperation):
    """pipe.InitBuffer(que_or_buf, num, bytes)"""

    name = "ascendc.init_buffer"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    num = prop_def(Attribute)


@irdl_op_definition
class AllocTensorOp(IRDLOperation):
    """q.AllocTensor<T>()"""

    name = "ascendc.alloc_tensor"
    a0 = operand_def()
    res = result_def()


@irdl_op_definition
class EnQueOp(IRDLOperation):
    """q.EnQue(t)"""

    name = "ascendc.enque"
    a0 = operand_def()
    a1 = operand_def()


@irdl_op_definition
class DeQueOp(IRDLOperation):
    """q.DeQue<T>()"""

    name = "ascendc.deque"
    a0 = operand_def()
    res = result_def()


@irdl_op_definition
class FreeTensorOp(IRDLOperation):
    """q.FreeTensor(t)"""

    name = "ascendc.free_tensor"
    a0 = operand_def()
    a1 = operand_def()


@irdl_op_definition
class BufGetOp(IRDLOperation):
    """b.Get<T>()"""

    name = "ascendc.buf_get"
    a0 = operand_def()
    res = result_def()


@irdl_op_definition
class AtOp(IRDLOperation):
    """t[offset]: a view at an element offset"""

    name = "ascendc.at"
    a0 = operand_def()
    a1 = operand_def()
    res = result_def()


@irdl_op_definition
class DataCopyOp(IRDLOperation):
    """DataCopy(dst, src, count)"""

    name = "ascendc.data_copy"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()


@irdl_op_definition
class DataCopyPadOp(IRDLOperation):
    """DataCopyPad(dst, src, {1, count * sizeof(T), 0, 0, 0}[, pad])"""

    name = "ascendc.data_copy_pad"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()


@irdl_op_definition
class VecBinaryOp(IRDLOperation):
    """Add/Sub/Mul/Div/Max/Min(dst, a, b, count)"""

    name = "ascendc.vbinary"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    a3 = operand_def()
    fn = prop_def(Attribute)


@irdl_op_definition
class VecScalarOp(IRDLOperation):
    """Adds/Muls/Maxs/Mins(dst, src, scalar, count)"""

    name = "ascendc.vscalar"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    a3 = operand_def()
    fn = prop_def(Attribute)


@irdl_op_definition
class VecUnaryOp(IRDLOperation):
    """Exp/Ln/Abs/Relu/Sqrt/Rsqrt/Reciprocal(dst, src, count)"""

    name = "ascendc.vunary"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    fn = prop_def(Attribute)


@irdl_op_definition
class DuplicateOp(IRDLOperation):
    """Duplicate(dst, scalar, count)"""

    name = "ascendc.duplicate"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()


@irdl_op_definition
class CastOp(IRDLOperation):
    """Cast(dst, src, RoundMode, count)"""

    name = "ascendc.cast"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    round = prop_def(Attribute)


@irdl_op_definition
class ReduceOp(IRDLOperation):
    """ReduceSum/Max/Min(dst, src, work, count)"""

    name = "ascendc.reduce"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    a3 = operand_def()
    fn = prop_def(Attribute)


@irdl_op_definition
class ReduceIndexOp(IRDLOperation):
    """ReduceMax/Min(dst, src, work, count, true): the value in dst[0], its index's bits in dst[1]"""

    name = "ascendc.reduce_index"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    a3 = operand_def()
    fn = prop_def(Attribute)


@irdl_op_definition
class CompareOp(IRDLOperation):
    """Compare(dst bit-mask, src0, src1, CMPMODE::mode, count): count fills whole 256-byte repeats"""

    name = "ascendc.compare"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    a3 = operand_def()
    mode = prop_def(Attribute)


@irdl_op_definition
class CompareScalarOp(IRDLOperation):
    """CompareScalar(dst bit-mask, src0, scalar, CMPMODE::mode, count)"""

    name = "ascendc.compare_scalar"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    a3 = operand_def()
    mode = prop_def(Attribute)


@irdl_op_definition
class SelectOp(IRDLOperation):
    """Select(dst, selMask, src0, src1, VSEL_TENSOR_TENSOR_MODE, count): src0 where the bit is 1"""

    name = "ascendc.select"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    a3 = operand_def()
    a4 = operand_def()


@irdl_op_definition
class PipeBarrierOp(IRDLOperation):
    """PipeBarrier<PIPE_V>()"""

    name = "ascendc.pipe_barrier"
    pipe = prop_def(Attribute)


@irdl_op_definition
class GetValueOp(IRDLOperation):
    """t.GetValue(index)"""

    name = "ascendc.get_value"
    a0 = operand_def()
    a1 = operand_def()
    res = result_def()


@irdl_op_definition
class SetValueOp(IRDLOperation):
    """t.SetValue(index, value)"""

    name = "ascendc.set_value"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()


@irdl_op_definition
class ReinterpretOp(IRDLOperation):
    """t.ReinterpretCast<U>(): the same bytes as U"""

    name = "ascendc.reinterpret"
    a0 = operand_def()
    res = result_def()


@irdl_op_definition
class MatmulOp(IRDLOperation):
    """matmul::Matmul object: SetTensorA/B(, SetBias), SetTail, IterateAll, End; operands mm, a, b, [bias], c, tailM, tailN, tailK; atomic=1: C += A B"""

    name = "ascendc.matmul"
    args = var_operand_def()
    trans_a = prop_def(Attribute)
    trans_b = prop_def(Attribute)
    has_bias = prop_def(Attribute)
    atomic = prop_def(Attribute)


@irdl_op_definition
class ReturnOp(IRDLOperation):
    """return from the kernel"""

    name = "ascendc.return"


# cube (Matmul high-level API): see kernels/cube.py
@irdl_op_definition
class CubeTilingOp(IRDLOperation):
    """TCubeTiling cube_tiling{}; cube_tiling.FIELD = value; ... (fields: comma list)"""

    name = "ascendc.cube_tiling"
    args = var_operand_def()
    res = result_def()
    fields = prop_def(Attribute)


@irdl_op_definition
class MatmulObjOp(IRDLOperation):
    """matmul::Matmul<MatmulType<GM, ND, T[, trans]> A, B, C, Bias> mm; REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &cube_tiling) (operands: pipe, cube tiling; props: element type, ',trans' when transposable)"""

    name = "ascendc.matmul_obj"
    a0 = operand_def()
    a1 = operand_def()
    res = result_def()
    a = prop_def(Attribute)
    b = prop_def(Attribute)
    c = prop_def(Attribute)
    bias = prop_def(Attribute)


@irdl_op_definition
class MatmulOrgShapeOp(IRDLOperation):
    """mm.SetOrgShape(orgM, orgN, orgKa, orgKb, orgKc)"""

    name = "ascendc.matmul_org_shape"
    args = var_operand_def()


@irdl_op_definition
class DataCopyPad2dOp(IRDLOperation):
    """DataCopyPad(dst, src, {blockCount, blockLen * sizeof(T), srcStride, dstStride, 0}[, {true, leftPad, rightPad, 0}]): operands dst, src, blockCount, blockLen (elements), srcStride, dstStride (API units: bytes on the GM side, 32-byte blocks on the UB side), leftPad, rightPad; `value` (a float, optional): the paddingValue of GM -> UB moves (0 without it)"""

    name = "ascendc.data_copy_pad_2d"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    a3 = operand_def()
    a4 = operand_def()
    a5 = operand_def()
    a6 = operand_def()
    a7 = operand_def()
    value = opt_prop_def(Attribute)


def attr_list(fields: list[tuple[str, str]]) -> ArrayAttr:
    return ArrayAttr([ArrayAttr([StringAttr(a), StringAttr(b)]) for a, b in fields])


@irdl_op_definition
class GatherMaskOp(IRDLOperation):
    """GatherMask(dst, src, pattern, false, 0, {1, repeats, 8, 0}, rsvdCnt): the lanes a built-in
    pattern keeps (1: even, 2: odd, 3-6: lane % 4 == 0..3) of `repeats` contiguous 256-byte
    repeats of src, packed at the start of dst; operands dst, src, pattern, repeats"""

    name = "ascendc.gather_mask"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    a3 = operand_def()


@irdl_op_definition
class GatherOp(IRDLOperation):
    """Gather(dst, src, srcOffset, srcBaseAddr, count): dst[i] = the element of src at byte
    srcBaseAddr + srcOffset[i] (srcOffset: a uint32_t tensor of byte offsets from src's start);
    operands dst, src, srcOffset, srcBaseAddr, count"""

    name = "ascendc.gather"
    a0 = operand_def()
    a1 = operand_def()
    a2 = operand_def()
    a3 = operand_def()
    a4 = operand_def()


@irdl_op_definition
class SoftmaxFlashV2Op(IRDLOperation):
    """SoftmaxFlashV2<T, update>(dst, expSum, max, src, expMax, inExpSum, inMax, tiling, {m, k, m, k})
    on m rows of k elements (FlashAttention-2's online softmax; statistics [m, 32 bytes]); its
    SoftMaxTiling is the one-split tiling of an m x k tile (srcM/K/Size = reduce/split = m, k).
    Operands dst, exp_sum, max, src, exp_max, in_exp_sum, in_max, m, k; prop update (0 / 1)"""

    name = "ascendc.softmax_flash_v2"
    args = var_operand_def()
    update = prop_def(Attribute)


ASCENDC = Dialect(
    "ascendc",
    [
        KernelOp, TilingFieldOp, BlockIdxOp, BlockNumOp, GlobalTensorOp, PipeOp, QueOp, BufOp,
        InitBufferOp, AllocTensorOp, EnQueOp, DeQueOp, FreeTensorOp, BufGetOp, AtOp, DataCopyOp,
        DataCopyPadOp, VecBinaryOp, VecScalarOp, VecUnaryOp, DuplicateOp, CastOp, ReduceOp,
        PipeBarrierOp, GetValueOp, SetValueOp, ReinterpretOp, ReduceIndexOp, MatmulOp, ReturnOp,
        CubeTilingOp, MatmulObjOp, MatmulOrgShapeOp, DataCopyPad2dOp, CompareOp, CompareScalarOp, SelectOp,
        GatherMaskOp, GatherOp, SoftmaxFlashV2Op,
    ],
    [GlobalType, LocalType, GmPtrType, QueType, BufType, PipeType, MatmulType, CubeTilingType],
)


