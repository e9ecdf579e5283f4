// Corpus: static-tensor programming (the CANN 8.x "lower-level" style): no TPipe, the kernel
// calls InitSocState and places its tensors with LocalMemAllocator, synchronises with
// SetFlag / WaitFlag, and takes scalar arguments after the GM pointers (`__global__ __vector__`
// single-source style). y = relu(x * scale + bias) on 256-element tiles with the repeat form.
#include "kernel_operator.h"

using namespace AscendC;

constexpr uint32_t TILE = 256;

extern "C" __global__ __vector__ void scale_bias_relu(GM_ADDR x, GM_ADDR y, uint32_t n, float scale, float bias)
{
    InitSocState();
    LocalMemAllocator<Hardware::UB> ub;
    LocalTensor<float> xl = ub.Alloc<TPosition::VECIN, float, TILE>();
    LocalTensor<float> yl = ub.Alloc<TPosition::VECOUT, float>(TILE);
    GlobalTensor<float> xg, yg;
    const uint32_t per = n / GetBlockNum(), start = per * GetBlockIdx();
    xg.SetGlobalBuffer((__gm__ float*)x + start, per);
    yg.SetGlobalBuffer((__gm__ float*)y + start, per);
    for (uint32_t off = 0; off < per; off += TILE) {
        DataCopy(xl, xg[off], TILE);
        SetFlag<HardEvent::MTE2_V>(EVENT_ID0);
        WaitFlag<HardEvent::MTE2_V>(EVENT_ID0);
        Muls(yl, xl, scale, 64, TILE / 64, {1, 1, 8, 8});
        PipeBarrier<PIPE_V>();
        Adds(yl, yl, bias, 64, TILE / 64, {1, 1, 8, 8});
        PipeBarrier<PIPE_V>();
        Relu(yl, yl, 64, TILE / 64, {1, 1, 8, 8});
        SetFlag<HardEvent::V_MTE3>(EVENT_ID0);
        WaitFlag<HardEvent::V_MTE3>(EVENT_ID0);
        DataCopy(yg[off], yl, TILE);
        SetFlag<HardEvent::MTE3_MTE2>(EVENT_ID0);
        WaitFlag<HardEvent::MTE3_MTE2>(EVENT_ID0);
    }
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    const uint32_t n = a.v[0], blockDim = a.v[1];
    float* x = corpus::Load<float>("x", n);
    float* y = corpus::Alloc<float>(n);
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    ICPU_RUN_KF(scale_bias_relu, blockDim, (GM_ADDR)x, (GM_ADDR)y, n, 1.5f, -0.25f);
    corpus::Save("y", y, n);
    return 0;
}
