// Corpus: the repeat ("high-dimension split") forms of the vector API as op kernels write them
// for strided and partial tiles: bit masks and lane-count masks, data-block and repeat strides
// (BinaryRepeatParams / UnaryRepeatParams), Counter mode with SetMaskCount + SetVectorMask and
// isSetMask = false, and Cast with its own strides. Each case fills a 4 KB output block with
// -7 first, so lanes the mask leaves alone are checked too.
#include "kernel_operator.h"

using namespace AscendC;

constexpr uint32_t BLOCK = 4096;  // bytes per case
constexpr int CASES = 12;

class KernelRepeatForms {
public:
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, GM_ADDR xh, GM_ADDR out)
    {
        xGm_.SetGlobalBuffer((__gm__ float*)x, 1024);
        yGm_.SetGlobalBuffer((__gm__ float*)y, 1024);
        xhGm_.SetGlobalBuffer((__gm__ half*)xh, 2048);
        outGm_.SetGlobalBuffer((__gm__ uint8_t*)out, BLOCK * CASES);
        pipe_.InitBuffer(bufX_, BLOCK);
        pipe_.InitBuffer(bufY_, BLOCK);
        pipe_.InitBuffer(bufXh_, BLOCK);
        pipe_.InitBuffer(bufOut_, BLOCK);
    }
    __aicore__ inline void Process()
    {
        LocalTensor<float> x = bufX_.Get<float>();
        LocalTensor<float> y = bufY_.Get<float>();
        LocalTensor<half> xh = bufXh_.Get<half>();
        DataCopy(x, xGm_, 1024);
        DataCopy(y, yGm_, 1024);
        DataCopy(xh, xhGm_, 2048);
        SetFlag<HardEvent::MTE2_V>(EVENT_ID0);
        WaitFlag<HardEvent::MTE2_V>(EVENT_ID0);
        LocalTensor<float> of = bufOut_.Get<float>();
        LocalTensor<half> oh = bufOut_.Get<half>();

        // 0: Add, 37 leading lanes of 3 repeats
        Begin(of);
        Add(of, x, y, 37, 3, {1, 1, 1, 8, 8, 8});
        End(0);
        // 1: Mul, bit mask, dst blocks 2 apart, src1 the same 64 floats every repeat
        Begin(of);
        uint64_t bits1[2] = {0x5555AAAA0F0F00FFull, 0};
        Mul(of, x, y, bits1, 2, {2, 1, 1, 16, 8, 0});
        End(1);
        // 2: Max on half, 128-bit mask, src0 blocks 2 apart
        Begin(oh);
        uint64_t bits2[2] = {~0ull, 0x00FF00FF00FF00FFull};
        Max(oh, xh, xh[128], bits2, 2, {1, 2, 1, 8, 16, 8});
        End(2);
        // 3: Adds, full repeats
        Begin(of);
        Adds(of, x, 1.5f, 64, 4, {1, 1, 8, 8});
        End(3);
        // 4: Exp, 20 lanes, dst blocks 2 apart
        Begin(of);
        Exp(of, x, 20, 2, {2, 1, 16, 8});
        End(4);
        // 5: Duplicate half, 100 lanes of 2 repeats
        Begin(oh);
        Duplicate(oh, half(3.0f), 100, 2, 1, 8);
        End(5);
        // 6: Counter mode, mask set outside: 150 elements of Sub
        Begin(of);
        SetMaskCount();
        SetVectorMask<float, MaskMode::COUNTER>(150);
        Sub<float, false>(of, x, y, MASK_PLACEHOLDER, 1, {1, 1, 1, 8, 8, 8});
        SetMaskNorm();
        ResetMask();
        End(6);
        // 7: Counter mode, mask through the API: 130 halves with data blocks 2 apart
        Begin(oh);
        SetMaskCount();
        uint64_t count7[2] = {130, 0};
        Adds<half, true>(oh, xh, half(1.0f), count7, 1, {2, 2, 16, 16});
        SetMaskNorm();
        ResetMask();
        End(7);
        // 8: Cast float -> half, 64 lanes per repeat, dst repeats 4 blocks apart
        Begin(oh);
        Cast(oh, x, RoundMode::CAST_NONE, 64, 3, {1, 1, 4, 8});
        End(8);
        // 9: Normal-mode mask set outside (bits), isSetMask = false
        Begin(of);
        SetVectorMask<float>(0, 0xFFFF);
        Muls<float, false>(of, x, 2.0f, MASK_PLACEHOLDER, 2, {1, 1, 8, 8});
        ResetMask();
        End(9);
        // 10: the count form with isSetMask = false takes the Counter-mode mask
        Begin(of);
        SetMaskCount();
        SetVectorMask<float, MaskMode::COUNTER>(77);
        Add<float, false>(of, x, y, 1);
        SetMaskNorm();
        ResetMask();
        End(10);
        // 11: Div on the upper 32 lanes (bits), then Relu in place on all 64
        Begin(of);
        uint64_t bits11[2] = {0xFFFFFFFF00000000ull, 0};
        Div(of, x, y, bits11, 1, {1, 1, 1, 8, 8, 8});
        PipeBarrier<PIPE_V>();
        Relu(of, of, 64, 1, {1, 1, 8, 8});
        End(11);
    }

private:
    template <typename T>
    __aicore__ inline void Begin(const LocalTensor<T>& o)
    {
        Duplicate(o, T(-7.0f), static_cast<int32_t>(BLOCK / sizeof(T)));
        PipeBarrier<PIPE_V>();
    }
    __aicore__ inline void End(int c)
    {
        SetFlag<HardEvent::V_MTE3>(EVENT_ID0);
        WaitFlag<HardEvent::V_MTE3>(EVENT_ID0);
        DataCopy(outGm_[c * BLOCK], bufOut_.Get<uint8_t>(), BLOCK);
        SetFlag<HardEvent::MTE3_V>(EVENT_ID0);
        WaitFlag<HardEvent::MTE3_V>(EVENT_ID0);
    }

    TPipe pipe_;
    TBuf<TPosition::VECCALC> bufX_, bufY_, bufXh_, bufOut_;
    GlobalTensor<float> xGm_, yGm_;
    GlobalTensor<half> xhGm_;
    GlobalTensor<uint8_t> outGm_;
};

extern "C" __global__ __aicore__ void repeat_forms(GM_ADDR x, GM_ADDR y, GM_ADDR xh, GM_ADDR out)
{
    KernelRepeatForms op;
    op.Init(x, y, xh, out);
    op.Process();
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    float* x = corpus::Load<float>("x", 1024);
    float* y = corpus::Load<float>("y", 1024);
    half* xh = corpus::Load<half>("xh", 2048);
    uint8_t* out = corpus::Alloc<uint8_t>(BLOCK * CASES);
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    ICPU_RUN_KF(repeat_forms, 1, (GM_ADDR)x, (GM_ADDR)y, (GM_ADDR)xh, out);
    corpus::Save("out", out, BLOCK * CASES);
    return 0;
}
