// Corpus: the conversions of the arch-220 Cast table that quantisation and index kernels use:
// float <-> int64_t, int64_t <-> int32_t, int32_t -> half through SetDeqScale, uint8_t <-> half,
// with their round modes (saturating where the result is an integer).
#include "kernel_operator.h"

using namespace AscendC;

constexpr uint32_t BLOCK = 4096;
constexpr int CASES = 10;
constexpr int32_t N = 200;

class KernelCastPairs {
public:
    __aicore__ inline void Init(GM_ADDR f, GM_ADDR i64, GM_ADDR i32, GM_ADDR u8, GM_ADDR h, GM_ADDR out)
    {
        fGm_.SetGlobalBuffer((__gm__ float*)f, 256);
        i64Gm_.SetGlobalBuffer((__gm__ int64_t*)i64, 256);
        i32Gm_.SetGlobalBuffer((__gm__ int32_t*)i32, 256);
        u8Gm_.SetGlobalBuffer((__gm__ uint8_t*)u8, 256);
        hGm_.SetGlobalBuffer((__gm__ half*)h, 256);
        outGm_.SetGlobalBuffer((__gm__ uint8_t*)out, BLOCK * CASES);
        pipe_.InitBuffer(in_, 5 * 2048);
        pipe_.InitBuffer(outQueue_, 1, BLOCK);
    }
    __aicore__ inline void Process()
    {
        LocalTensor<uint8_t> in = in_.Get<uint8_t>();
        LocalTensor<float> f = in.ReinterpretCast<float>();
        LocalTensor<int64_t> i64 = in[2048].ReinterpretCast<int64_t>();
        LocalTensor<int32_t> i32 = in[4096].ReinterpretCast<int32_t>();
        LocalTensor<uint8_t> u8 = in[6144];
        LocalTensor<half> h = in[8192].ReinterpretCast<half>();
        DataCopy(f, fGm_, 256);
        DataCopy(i64, i64Gm_, 256);
        DataCopy(i32, i32Gm_, 256);
        DataCopy(u8, u8Gm_, 256);
        DataCopy(h, hGm_, 256);
        SetFlag<HardEvent::MTE2_V>(EVENT_ID1);
        WaitFlag<HardEvent::MTE2_V>(EVENT_ID1);

        Case<int64_t>(0, [&](const LocalTensor<int64_t>& o) { Cast(o, f, RoundMode::CAST_RINT, N); });
        Case<int64_t>(1, [&](const LocalTensor<int64_t>& o) { Cast(o, f, RoundMode::CAST_FLOOR, N); });
        Case<float>(2, [&](const LocalTensor<float>& o) { Cast(o, i64, RoundMode::CAST_RINT, N); });
        Case<float>(3, [&](const LocalTensor<float>& o) { Cast(o, i64, RoundMode::CAST_TRUNC, N); });
        Case<int64_t>(4, [&](const LocalTensor<int64_t>& o) { Cast(o, i32, RoundMode::CAST_NONE, N); });
        Case<int32_t>(5, [&](const LocalTensor<int32_t>& o) { Cast(o, i64, RoundMode::CAST_NONE, N); });
        Case<half>(6, [&](const LocalTensor<half>& o) {
            SetDeqScale(half(0.5f));
            Cast(o, i32, RoundMode::CAST_NONE, 64, 3, {1, 1, 4, 8});  // repeat form: 64 lanes (int32_t wide)
        });
        Case<half>(7, [&](const LocalTensor<half>& o) { Cast(o, u8, RoundMode::CAST_NONE, N); });
        Case<uint8_t>(8, [&](const LocalTensor<uint8_t>& o) { Cast(o, h, RoundMode::CAST_RINT, N); });
        Case<uint8_t>(9, [&](const LocalTensor<uint8_t>& o) { Cast(o, h, RoundMode::CAST_CEIL, N); });
    }

private:
    template <typename T, class F>
    __aicore__ inline void Case(int c, F op)
    {
        LocalTensor<T> o = outQueue_.AllocTensor<T>();
        op(o);
        outQueue_.EnQue(o);
        o = outQueue_.DeQue<T>();
        DataCopy(outGm_[c * BLOCK], o.template ReinterpretCast<uint8_t>(), BLOCK);
        outQueue_.FreeTensor(o);
    }

    TPipe pipe_;
    TBuf<TPosition::VECCALC> in_;
    TQue<TPosition::VECOUT, 1> outQueue_;
    GlobalTensor<float> fGm_;
    GlobalTensor<int64_t> i64Gm_;
    GlobalTensor<int32_t> i32Gm_;
    GlobalTensor<uint8_t> u8Gm_, outGm_;
    GlobalTensor<half> hGm_;
};

extern "C" __global__ __aicore__ void cast_pairs(GM_ADDR f, GM_ADDR i64, GM_ADDR i32, GM_ADDR u8, GM_ADDR h, GM_ADDR out)
{
    KernelCastPairs op;
    op.Init(f, i64, i32, u8, h, out);
    op.Process();
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    float* f = corpus::Load<float>("f", 256);
    int64_t* i64 = corpus::Load<int64_t>("i64", 256);
    int32_t* i32 = corpus::Load<int32_t>("i32", 256);
    uint8_t* u8 = corpus::Load<uint8_t>("u8", 256);
    half* h = corpus::Load<half>("h", 256);
    uint8_t* out = corpus::Alloc<uint8_t>(BLOCK * CASES);
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    ICPU_RUN_KF(cast_pairs, 1, (GM_ADDR)f, (GM_ADDR)i64, (GM_ADDR)i32, u8, (GM_ADDR)h, out);
    corpus::Save("out", out, BLOCK * CASES);
    return 0;
}
