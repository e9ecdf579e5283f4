// Corpus: each rule the CPU layer added for the API surface of public kernels, broken once
// (`misuse_api CASE DIR`): the program must stop with one `ascendc-cpu: error:` line naming
// this file, its line and the rule.
#include <cstring>
#include <string>

#include "kernel_operator.h"
#include "lib/matmul_intf.h"
#include "tikicpulib.h"

using namespace AscendC;

namespace {

struct Ub {  // a TPipe with two 512-byte float buffers
    TPipe pipe;
    TBuf<TPosition::VECCALC> a, b;
    Ub()
    {
        pipe.InitBuffer(a, 512);
        pipe.InitBuffer(b, 512);
    }
};

void MaskRange()
{
    Ub u;
    LocalTensor<float> t = u.a.Get<float>();
    Add(t, t, t, 65, 1, {1, 1, 1, 8, 8, 8});
}

void MaskHighBits()
{
    Ub u;
    LocalTensor<float> t = u.a.Get<float>();
    uint64_t mask[2] = {~0ull, 1};
    Mul(t, t, t, mask, 1, {1, 1, 1, 8, 8, 8});
}

void RepeatPastEnd()
{
    Ub u;
    LocalTensor<float> t = u.a.Get<float>();
    LocalTensor<float> s = u.b.Get<float>();
    Exp(t, s, 64, 3, {1, 1, 8, 8});  // 3 x 64 floats, the tensors hold 128
}

void RepeatTimesRange()
{
    Ub u;
    LocalTensor<float> t = u.a.Get<float>();
    WholeReduceSum<float>(t, u.b.Get<float>(), 64, 300, 1, 1, 8);
}

void ShiftRange()
{
    Ub u;
    LocalTensor<int16_t> t = u.a.Get<int16_t>();
    ShiftRight(t, t, int16_t(17), 32);
}

void GatherOffset(uint32_t offset)
{
    Ub u;
    LocalTensor<float> src = u.a.Get<float>();
    LocalTensor<uint32_t> off = u.b.Get<uint32_t>();
    Duplicate(off, offset, 64);
    LocalTensor<float> dst = u.b.Get<float>()[64];
    Gather(dst, src, off, 0u, 8u);
}

void DeqScale()
{
    Ub u;
    Cast(u.a.Get<half>(), u.b.Get<int32_t>(), RoundMode::CAST_NONE, 64);
}

void CastModeNew()
{
    Ub u;
    Cast(u.a.Get<float>(), u.b.Get<int64_t>(), RoundMode::CAST_NONE, 32);
}

void CounterRequired()
{
    Ub u;
    LocalTensor<float> t = u.a.Get<float>();
    Add<float, false>(t, t, t, 64);
}

void StaticOverflow()
{
    LocalMemAllocator<Hardware::UB> ub;
    ub.Alloc<TPosition::VECCALC, float>(40000);
    LocalTensor<float> b = ub.Alloc<TPosition::VECCALC, float>(16000);
    Duplicate(b, 1.0f, 64);
}

void StaticWithPipe()
{
    Ub u;
    LocalMemAllocator<> ub;
    ub.Alloc<float, 64>();
}

void PipeAfterStatic()
{
    LocalMemAllocator<> ub;
    ub.Alloc<float>(64);
    TPipe pipe;
}

void AssertFails(uint32_t n) { ASSERT(n > 100); }

void AscendcAssertMessage(uint32_t n) { ascendc_assert(n % 2 == 0, "n = %u is odd", n); }

using Mm = matmul::Matmul<matmul::MatmulType<TPosition::GM, CubeFormat::ND, float>,
                          matmul::MatmulType<TPosition::GM, CubeFormat::ND, float>,
                          matmul::MatmulType<TPosition::VECIN, CubeFormat::ND, float>>;

void MatmulBlock(bool iterate, uint32_t cElems)
{
    TPipe pipe;
    TQue<TPosition::VECIN, 1> q;
    pipe.InitBuffer(q, 1, cElems * sizeof(float));
    static float a[16 * 16], b[16 * 16];
    TCubeTiling t{};
    t.M = t.N = t.Ka = t.Kb = t.singleCoreM = t.singleCoreN = t.singleCoreK = 16;
    t.baseM = t.baseN = t.baseK = 16;
    Mm mm;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &t);
    GlobalTensor<float> ga, gb;
    ga.SetGlobalBuffer(a, 256);
    gb.SetGlobalBuffer(b, 256);
    mm.SetTensorA(ga);
    mm.SetTensorB(gb);
    if (iterate) mm.Iterate();
    LocalTensor<float> c = q.AllocTensor<float>();
    mm.GetTensorC(c);
}

void SoftmaxUnaligned()
{
    Ub u;
    SoftMaxTiling t{};
    t.srcM = 2;
    t.srcK = 12;  // 48 bytes
    LocalTensor<float> x = u.a.Get<float>();
    LocalTensor<float> y = u.b.Get<float>();
    SoftMax<float>(y, x, t);
}

void BroadcastShape()
{
    Ub u;
    const uint32_t dst[2] = {4, 8}, src[2] = {4, 2};
    Broadcast<float, 2, 1>(u.a.Get<float>(), u.b.Get<float>(), dst, src);
}

void TBufFreeForeign()
{
    Ub u;
    LocalTensor<float> t = u.b.Get<float>();
    u.a.FreeTensor(t);
}

void WholeReduceDst()
{
    Ub u;
    LocalTensor<float> dst = u.a.Get<float>(4);
    WholeReduceMax<float>(dst, u.b.Get<float>(), 64, 2, 4, 1, 8);
}

void StaticTensorOutside() { LocalTensor<float> t(TPosition::VECCALC, 196352, 128); }

void AtomicTypeMismatch()
{
    Ub u;
    static float gm[128];
    GlobalTensor<float> g;
    g.SetGlobalBuffer(gm, 128);
    SetAtomicAdd<half>();
    DataCopy(g, u.a.Get<float>(), 64);
}

void SyncAllThreads() { SyncAll(); }  // two blocks, one worker thread

void AsyncWithoutWorkspace()
{
    TPipe pipe;
    static float a[16 * 16], b[16 * 16];
    TCubeTiling t{};
    t.M = t.N = t.Ka = t.Kb = t.singleCoreM = t.singleCoreN = t.singleCoreK = 16;
    t.baseM = t.baseN = t.baseK = 16;
    Mm mm;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &t);
    GlobalTensor<float> ga, gb;
    ga.SetGlobalBuffer(a, 256);
    gb.SetGlobalBuffer(b, 256);
    mm.SetTensorA(ga);
    mm.SetTensorB(gb);
    mm.template Iterate<false>();
}

void GatherMaskCounter()
{
    Ub u;
    uint64_t kept = 0;
    GatherMask(u.a.Get<float>(), u.b.Get<float>(), 1, true, 64, {1, 1, 8, 0}, kept);
}

void CompareCount256()
{
    Ub u;
    Compare(u.b.Get<uint8_t>(), u.a.Get<float>(), u.a.Get<float>(), CMPMODE::LT, 100);
}

void CompareInt32Mode()
{
    Ub u;
    LocalTensor<int32_t> t = u.a.Get<int32_t>();
    Compare(u.b.Get<uint8_t>(), t, t, CMPMODE::LT, 64);
}

void GetCmpMaskSmall()
{
    Ub u;
    GetCmpMask(u.b.Get<uint8_t>()[448]);  // 64 bytes
}

void SelectScalarMode()
{
    Ub u;
    LocalTensor<float> t = u.a.Get<float>();
    Select(t, u.b.Get<uint8_t>(), t, t, SELMODE::VSEL_TENSOR_SCALAR_MODE, 64);
}

void SelectSelMaskSmall()
{
    Ub u;
    LocalTensor<half> t = u.a.Get<half>();
    Select(t, u.b.Get<uint8_t>(16), t, t, SELMODE::VSEL_TENSOR_TENSOR_MODE, 256);
}

void ReduceMaskWork()
{
    Ub u;
    LocalTensor<float> t = u.a.Get<float>();
    ReduceMax<float>(t, t, u.b.Get<float>(8), 64, 9, 0, true);  // 9 repeats of the same 64 floats
}

void MaxMinUnset()
{
    float v = 0, i = 0;
    GetReduceMaxMinCount<float>(v, i);
}

}  // namespace

extern "C" __global__ __aicore__ void misuse_api(int32_t which)
{
    switch (which) {
        case 0: MaskRange(); break;
        case 1: MaskHighBits(); break;
        case 2: RepeatPastEnd(); break;
        case 3: RepeatTimesRange(); break;
        case 4: ShiftRange(); break;
        case 5: GatherOffset(4096); break;
        case 6: GatherOffset(2); break;
        case 7: DeqScale(); break;
        case 8: CastModeNew(); break;
        case 9: CounterRequired(); break;
        case 10: StaticOverflow(); break;
        case 11: StaticWithPipe(); break;
        case 12: PipeAfterStatic(); break;
        case 13: AssertFails(7); break;
        case 14: AscendcAssertMessage(7); break;
        case 15: MatmulBlock(false, 256); break;
        case 16: MatmulBlock(true, 128); break;
        case 17: SoftmaxUnaligned(); break;
        case 18: BroadcastShape(); break;
        case 19: TBufFreeForeign(); break;
        case 20: WholeReduceDst(); break;
        case 21: StaticTensorOutside(); break;
        case 22: AtomicTypeMismatch(); break;
        case 23: SyncAllThreads(); break;
        case 24: AsyncWithoutWorkspace(); break;
        case 25: GatherMaskCounter(); break;
        case 26: CompareCount256(); break;
        case 27: CompareInt32Mode(); break;
        case 28: GetCmpMaskSmall(); break;
        case 29: SelectScalarMode(); break;
        case 30: SelectSelMaskSmall(); break;
        case 31: ReduceMaskWork(); break;
        case 32: MaxMinUnset(); break;
        default: break;
    }
}

static const char* const kCases[] = {"mask_range",       "mask_high_bits",   "repeat_past_end",  "repeat_times",
                                     "shift_range",      "gather_offset",    "gather_unaligned", "deq_scale",
                                     "cast_mode",        "counter_required", "static_overflow",  "static_with_pipe",
                                     "pipe_after_static", "assert",          "ascendc_assert",   "get_before_iterate",
                                     "get_small_c",      "softmax_unaligned", "broadcast_shape", "tbuf_free_foreign",
                                     "whole_reduce_dst", "static_tensor_outside", "atomic_type", "sync_all_threads",
                                     "async_no_workspace", "gathermask_counter", "compare_count_256", "compare_int32_mode",
                                     "get_cmp_mask_small", "select_scalar_mode", "select_selmask_small",
                                     "reduce_mask_work", "max_min_unset"};

int main(int argc, char** argv)
{
    if (argc < 2) return 2;
    int32_t which = -1;
    for (int32_t i = 0; i < static_cast<int32_t>(sizeof(kCases) / sizeof(kCases[0])); ++i)
        if (std::string(argv[1]) == kCases[i]) which = i;
    if (which < 0) return 2;
    AscendC::SetKernelMode(which == 15 || which == 16 || which == 24 ? KernelMode::MIX_MODE : KernelMode::AIV_MODE);
    if (which == 23) AscendC::cpu::SetThreads(1);
    ICPU_RUN_KF(misuse_api, 2, which);
    std::printf("ok\n");
    return 0;
}
