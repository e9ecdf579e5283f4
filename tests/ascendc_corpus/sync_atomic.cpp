// Corpus: cross-core reduction as BLAS-style op kernels (sasum, snrm2) write it: every core sums
// its slice (ReduceSum), adds its partial into GM with SetAtomicAdd, then SyncAll waits for all
// cores before core 0 reads the total back and writes its square root.
#include "kernel_operator.h"

using namespace AscendC;

extern "C" __global__ __aicore__ void norm_sync(GM_ADDR x, GM_ADDR acc, GM_ADDR y, uint32_t perCore)
{
    TPipe pipe;
    TBuf<TPosition::VECCALC> xb, work, part;
    pipe.InitBuffer(xb, perCore * sizeof(float));
    pipe.InitBuffer(work, perCore * sizeof(float));
    pipe.InitBuffer(part, 32);
    GlobalTensor<float> xg, accg, yg;
    xg.SetGlobalBuffer((__gm__ float*)x + GetBlockIdx() * perCore, perCore);
    accg.SetGlobalBuffer((__gm__ float*)acc, 8);
    yg.SetGlobalBuffer((__gm__ float*)y, 8);
    LocalTensor<float> xl = xb.Get<float>(), wl = work.Get<float>(), pl = part.Get<float>();
    DataCopy(xl, xg, perCore);
    SetFlag<HardEvent::MTE2_V>(EVENT_ID0);
    WaitFlag<HardEvent::MTE2_V>(EVENT_ID0);
    Mul(wl, xl, xl, perCore);
    PipeBarrier<PIPE_V>();
    Duplicate(pl, 0.0f, 8);
    PipeBarrier<PIPE_V>();
    ReduceSum(pl, wl, xl, perCore);
    SetFlag<HardEvent::V_MTE3>(EVENT_ID0);
    WaitFlag<HardEvent::V_MTE3>(EVENT_ID0);
    SetAtomicAdd<float>();
    DataCopy(accg, pl, 8);
    SetAtomicNone();
    SyncAll();
    if (GetBlockIdx() == 0) {
        DataCopy(pl, accg, 8);
        SetFlag<HardEvent::MTE2_V>(EVENT_ID1);
        WaitFlag<HardEvent::MTE2_V>(EVENT_ID1);
        Sqrt(pl, pl, 8);
        SetFlag<HardEvent::V_MTE3>(EVENT_ID1);
        WaitFlag<HardEvent::V_MTE3>(EVENT_ID1);
        DataCopy(yg, pl, 8);
    }
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    const uint32_t perCore = a.v[0], blockDim = a.v[1];
    float* x = corpus::Load<float>("x", perCore * blockDim);
    float* acc = corpus::Alloc<float>(8);
    for (int i = 0; i < 8; ++i) acc[i] = 0.0f;
    float* y = corpus::Alloc<float>(8);
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    if (a.which == "threads") AscendC::cpu::SetThreads(static_cast<int>(blockDim));
    ICPU_RUN_KF(norm_sync, blockDim, (GM_ADDR)x, (GM_ADDR)acc, (GM_ADDR)y, perCore);
    corpus::Save("acc", acc, 8);
    corpus::Save("y", y, 8);
    return 0;
}
