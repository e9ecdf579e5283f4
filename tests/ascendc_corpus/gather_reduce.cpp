// Corpus: the data-movement and per-repeat reductions of row-wise kernels (reduce_custom,
// whole_reduce_sum_custom, broadcast_custom samples): Gather by byte offsets (count and mask
// forms), WholeReduceSum / WholeReduceMax / WholeReduceMin with their result orders,
// BlockReduceSum, the Broadcast high-level API in one and two dimensions, GatherMask (built-in
// and tensor patterns) and Axpy.
#include "kernel_operator.h"

using namespace AscendC;

constexpr uint32_t BLOCK = 4096;
constexpr int CASES = 12;

class KernelGatherReduce {
public:
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR xh, GM_ADDR offsets, GM_ADDR out)
    {
        xGm_.SetGlobalBuffer((__gm__ float*)x, 1024);
        xhGm_.SetGlobalBuffer((__gm__ half*)xh, 2048);
        offGm_.SetGlobalBuffer((__gm__ uint32_t*)offsets, 512);
        outGm_.SetGlobalBuffer((__gm__ uint8_t*)out, BLOCK * CASES);
        pipe_.InitBuffer(x_, BLOCK);
        pipe_.InitBuffer(xh_, BLOCK);
        pipe_.InitBuffer(off_, 2048);
        pipe_.InitBuffer(tmp_, 1024);
        pipe_.InitBuffer(outQueue_, 2, BLOCK);
    }
    __aicore__ inline void Process()
    {
        LocalTensor<float> x = x_.Get<float>();
        LocalTensor<half> xh = xh_.Get<half>();
        LocalTensor<uint32_t> off = off_.Get<uint32_t>();
        DataCopy(x, xGm_, 1024);
        DataCopy(xh, xhGm_, 2048);
        DataCopy(off, offGm_, 512);
        PipeBarrier<PIPE_ALL>();

        Case<float>(0, [&](const LocalTensor<float>& o) { Gather(o, x, off, 0u, 300u); });
        Case<half>(1, [&](const LocalTensor<half>& o) { Gather(o, xh, off, 0u, (uint64_t)100, 2, 8); });
        Case<float>(2, [&](const LocalTensor<float>& o) { WholeReduceSum<float>(o, x, 50, 13, 1, 1, 8); });
        Case<half>(3, [&](const LocalTensor<half>& o) { WholeReduceMax<half>(o, xh, 128, 5, 1, 1, 8); });
        Case<float>(4, [&](const LocalTensor<float>& o) {
            WholeReduceMin<float>(o, x, 37, 4, 1, 1, 8, ReduceOrder::ORDER_INDEX_VALUE);
        });
        Case<float>(5, [&](const LocalTensor<float>& o) { BlockReduceSum<float>(o, x, 4, 64, 1, 1, 8); });
        Case<half>(6, [&](const LocalTensor<half>& o) {
            const uint32_t dstShape[1] = {100}, srcShape[1] = {1};
            BroadCast<half, 1, 0>(o, xh, dstShape, srcShape);
        });
        Case<float>(7, [&](const LocalTensor<float>& o) {
            const uint32_t dstShape[2] = {16, 24}, srcShape[2] = {16, 1};
            LocalTensor<uint8_t> tmp = tmp_.Get<uint8_t>();
            Broadcast<float, 2, 1>(o, x, dstShape, srcShape, tmp);
        });
        Case<half>(8, [&](const LocalTensor<half>& o) {
            const uint32_t dstShape[2] = {10, 48}, srcShape[2] = {1, 48};
            BroadCast<half, 2, 0>(o, xh, dstShape, srcShape);
        });
        Case<float>(9, [&](const LocalTensor<float>& o) {  // odd lanes of 3 repeats; the count last
            uint64_t kept = 0;
            GatherMask(o, x, 2, false, 0, {1, 3, 8, 0}, kept);
            o.SetValue(1000, static_cast<float>(kept));
        });
        Case<half>(10, [&](const LocalTensor<half>& o) {  // lanes whose offset bit is set, 2 repeats
            uint64_t kept = 0;
            GatherMask(o, xh, off.ReinterpretCast<uint16_t>(), false, 0, {1, 2, 8, 1}, kept);
            o.SetValue(2000, static_cast<half>(static_cast<float>(kept)));
        });
        Case<float>(11, [&](const LocalTensor<float>& o) {  // o = x[64:] * 0.5 + x[:...]
            DataCopy(o, x, 512);
            PipeBarrier<PIPE_V>();
            Axpy(o, x[64], 0.5f, 300);
        });
    }

private:
    template <typename T, class F>
    __aicore__ inline void Case(int c, F op)
    {
        LocalTensor<T> o = outQueue_.AllocTensor<T>();
        Duplicate(o, T(-7.0f), static_cast<int32_t>(BLOCK / sizeof(T)));
        PipeBarrier<PIPE_V>();
        op(o);
        outQueue_.EnQue(o);
        o = outQueue_.DeQue<T>();
        DataCopy(outGm_[c * BLOCK], o.template ReinterpretCast<uint8_t>(), BLOCK);
        outQueue_.FreeTensor(o);
    }

    TPipe pipe_;
    TBuf<TPosition::VECCALC> x_, xh_, off_, tmp_;
    TQue<TPosition::VECOUT, 2> outQueue_;
    GlobalTensor<float> xGm_;
    GlobalTensor<half> xhGm_;
    GlobalTensor<uint32_t> offGm_;
    GlobalTensor<uint8_t> outGm_;
};

extern "C" __global__ __aicore__ void gather_reduce(GM_ADDR x, GM_ADDR xh, GM_ADDR offsets, GM_ADDR out)
{
    KernelGatherReduce op;
    op.Init(x, xh, offsets, out);
    op.Process();
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    float* x = corpus::Load<float>("x", 1024);
    half* xh = corpus::Load<half>("xh", 2048);
    uint32_t* off = corpus::Load<uint32_t>("off", 512);
    uint8_t* out = corpus::Alloc<uint8_t>(BLOCK * CASES);
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    ICPU_RUN_KF(gather_reduce, 1, (GM_ADDR)x, (GM_ADDR)xh, (GM_ADDR)off, out);
    corpus::Save("out", out, BLOCK * CASES);
    return 0;
}
