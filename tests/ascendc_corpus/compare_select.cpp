// Corpus: comparison, selection and whole-buffer reductions in the styles of the ops repositories
// (is_finite / not_equal / clamp-like kernels, isamax / sasum style reductions): Compare /
// CompareScalar into bit masks (count and repeat forms, the register form with GetCmpMask /
// SetCmpMask, `dst = a < b`), Select in its three modes (count and repeat forms, the register
// form), the mask forms of ReduceSum / ReduceMax / ReduceMin, GetReduceMaxMinCount after
// WholeReduceMax in Counter mode, PairReduceSum and Copy.
#include "kernel_operator.h"

using namespace AscendC;

constexpr uint32_t BLOCK = 4096;
constexpr int CASES = 20;

class KernelCompareSelect {
public:
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, GM_ADDR xh, GM_ADDR yh, GM_ADDR sel, GM_ADDR out)
    {
        xGm_.SetGlobalBuffer((__gm__ float*)x, 1024);
        yGm_.SetGlobalBuffer((__gm__ float*)y, 1024);
        xhGm_.SetGlobalBuffer((__gm__ half*)xh, 2048);
        yhGm_.SetGlobalBuffer((__gm__ half*)yh, 2048);
        selGm_.SetGlobalBuffer((__gm__ uint8_t*)sel, 256);
        outGm_.SetGlobalBuffer((__gm__ uint8_t*)out, BLOCK * CASES);
        pipe_.InitBuffer(x_, BLOCK);
        pipe_.InitBuffer(y_, BLOCK);
        pipe_.InitBuffer(xh_, BLOCK);
        pipe_.InitBuffer(yh_, BLOCK);
        pipe_.InitBuffer(sel_, 256);
        pipe_.InitBuffer(work_, 1024);
        pipe_.InitBuffer(outQueue_, 2, BLOCK);
    }
    __aicore__ inline void Process()
    {
        LocalTensor<float> x = x_.Get<float>();
        LocalTensor<float> y = y_.Get<float>();
        LocalTensor<half> xh = xh_.Get<half>();
        LocalTensor<half> yh = yh_.Get<half>();
        LocalTensor<uint8_t> sel = sel_.Get<uint8_t>();
        LocalTensor<float> work = work_.Get<float>();
        DataCopy(x, xGm_, 1024);
        DataCopy(y, yGm_, 1024);
        DataCopy(xh, xhGm_, 2048);
        DataCopy(yh, yhGm_, 2048);
        DataCopy(sel, selGm_, 256);
        PipeBarrier<PIPE_ALL>();

        Case<uint8_t>(0, [&](const LocalTensor<uint8_t>& o) { Compare(o, x, y, CMPMODE::LT, 320); });
        Case<int8_t>(1, [&](const LocalTensor<int8_t>& o) { Compare(o, xh, yh, CMPMODE::GE, 384); });
        Case<uint8_t>(2, [&](const LocalTensor<uint8_t>& o) {
            Compare(o, x.ReinterpretCast<int32_t>(), y.ReinterpretCast<int32_t>(), CMPMODE::EQ, 128);
        });
        Case<uint8_t>(3, [&](const LocalTensor<uint8_t>& o) { CompareScalar(o, x, 0.25f, CMPMODE::GT, 192); });
        Case<uint8_t>(4, [&](const LocalTensor<uint8_t>& o) {  // src0: every other repeat; mask 10 has no effect
            Compare(o, x, y, CMPMODE::NE, 10, 2, {1, 1, 1, 8, 16, 8});
        });
        Case<float>(5, [&](const LocalTensor<float>& o) {
            Select(o, sel, x, y, SELMODE::VSEL_TENSOR_TENSOR_MODE, 300);
        });
        Case<half>(6, [&](const LocalTensor<half>& o) {
            Select(o, sel, xh, static_cast<half>(2.5f), SELMODE::VSEL_TENSOR_SCALAR_MODE, 200);
        });
        Case<float>(7, [&](const LocalTensor<float>& o) { Select(o, sel, x, y, SELMODE::VSEL_CMPMASK_SPR, 200); });
        Case<float>(8, [&](const LocalTensor<float>& o) {
            Select(o, sel, x, y, SELMODE::VSEL_TENSOR_TENSOR_MODE, 40, 3, {1, 1, 1, 8, 8, 8});
        });
        Case<half>(9, [&](const LocalTensor<half>& o) {
            uint64_t mask[2] = {0xFFFF0000FFFF0000ull, 0x00000000FFFFFFFFull};
            Select(o, sel, xh, yh, SELMODE::VSEL_CMPMASK_SPR, mask, 2, {1, 1, 1, 8, 8, 8});
        });
        Case<uint8_t>(10, [&](const LocalTensor<uint8_t>& o) {
            Compare(x, y, CMPMODE::LT, 48, {1, 1, 1, 8, 8, 8});
            GetCmpMask(o);
        });
        Case<float>(11, [&](const LocalTensor<float>& o) {
            SetCmpMask(sel);
            SetVectorMask<float>(0, 0xFFFFFFFFFFFFFFFFull);
            Select<float, SELMODE::VSEL_CMPMASK_SPR>(o, x, y, 2, {1, 1, 1, 8, 8, 8});
            ResetMask();
        });
        Case<uint8_t>(12, [&](const LocalTensor<uint8_t>& o) {
            LocalTensor<uint8_t> bits = o;
            bits = x <= y;
        });
        Case<float>(13, [&](const LocalTensor<float>& o) { ReduceSum<float>(o, x, work, 50, 13, 8); });
        Case<half>(14, [&](const LocalTensor<half>& o) {
            uint64_t mask[2] = {~0ull, 0x0000000FFFFFFFFFull};  // 100 lanes
            ReduceSum<half>(o, xh, work.ReinterpretCast<half>(), mask, 16, 8);
        });
        Case<float>(15, [&](const LocalTensor<float>& o) {
            ReduceMax<float>(o, x, work, 37, 9, 8, true);
            float v = 0, i = 0;
            GetReduceMaxMinCount<float>(v, i);
            o.SetValue(8, v);
            o.SetValue(9, i);
        });
        Case<half>(16, [&](const LocalTensor<half>& o) {
            uint64_t mask[2] = {0x00FF00FF00FF00FFull, 0xFFFF000000000000ull};
            ReduceMin<half>(o, xh, work.ReinterpretCast<half>(), mask, 5, 16, true);
        });
        Case<float>(17, [&](const LocalTensor<float>& o) {  // isamax style: Counter mode over 300 floats
            SetMaskCount();
            SetVectorMask<float, MaskMode::COUNTER>(0, 300);
            WholeReduceMax<float, false>(o[64], x, MASK_PLACEHOLDER, 1, 1, 1, 8);
            SetMaskNorm();
            ResetMask();
            float v = 0, i = 0;
            GetReduceMaxMinCount<float>(v, i);
            o.SetValue(0, v);
            o.SetValue(1, i);
        });
        Case<float>(18, [&](const LocalTensor<float>& o) { PairReduceSum<float>(o, x, 3, 64, 1, 1, 8); });
        Case<float>(19, [&](const LocalTensor<float>& o) {
            Copy(o, x, 40, 2, {1, 2, 8, 16});
            Copy(o[512], y, 100);
        });
    }

private:
    template <typename T, class F>
    __aicore__ inline void Case(int c, F op)
    {
        LocalTensor<T> o = outQueue_.AllocTensor<T>();
        LocalTensor<int16_t> fill = o.template ReinterpretCast<int16_t>();
        Duplicate(fill, int16_t(-7), static_cast<int32_t>(BLOCK / 2));  // bytes 0xF9 0xFF
        PipeBarrier<PIPE_V>();
        op(o);
        outQueue_.EnQue(o);
        o = outQueue_.DeQue<T>();
        DataCopy(outGm_[c * BLOCK], o.template ReinterpretCast<uint8_t>(), BLOCK);
        outQueue_.FreeTensor(o);
    }

    TPipe pipe_;
    TBuf<TPosition::VECCALC> x_, y_, xh_, yh_, sel_, work_;
    TQue<TPosition::VECOUT, 2> outQueue_;
    GlobalTensor<float> xGm_, yGm_;
    GlobalTensor<half> xhGm_, yhGm_;
    GlobalTensor<uint8_t> selGm_;
    GlobalTensor<uint8_t> outGm_;
};

extern "C" __global__ __aicore__ void compare_select(GM_ADDR x, GM_ADDR y, GM_ADDR xh, GM_ADDR yh, GM_ADDR sel,
                                                     GM_ADDR out)
{
    KernelCompareSelect op;
    op.Init(x, y, xh, yh, sel, out);
    op.Process();
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    float* x = corpus::Load<float>("x", 1024);
    float* y = corpus::Load<float>("y", 1024);
    half* xh = corpus::Load<half>("xh", 2048);
    half* yh = corpus::Load<half>("yh", 2048);
    uint8_t* sel = corpus::Load<uint8_t>("sel", 256);
    uint8_t* out = corpus::Alloc<uint8_t>(BLOCK * CASES);
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    ICPU_RUN_KF(compare_select, 1, (GM_ADDR)x, (GM_ADDR)y, (GM_ADDR)xh, (GM_ADDR)yh, (GM_ADDR)sel, out);
    corpus::Save("out", out, BLOCK * CASES);
    return 0;
}
