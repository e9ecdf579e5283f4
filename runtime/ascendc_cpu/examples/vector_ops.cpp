// vector_ops: every count-form vector op, Cast and reduction of circ's subset, on float and
// half, written as rows of a float matrix for a numpy comparison (tests/test_ascendc_cpu.py
// keeps the same row order).
//
//      ./vector_ops N DIR   (reads DIR/x.bin DIR/y.bin: N floats; writes DIR/out.bin: ROWS x N)
#include <string>

#include "kernel_operator.h"
#include "tikicpulib.h"

using namespace AscendC;

constexpr int32_t ROWS = 56;

struct VecTiling {
    int32_t n;
};

class KernelVec {
public:
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, GM_ADDR out, int32_t n)
    {
        n_ = n;
        np_ = (n + 31) / 32 * 32;
        xGm_.SetGlobalBuffer((__gm__ float*)x, n);
        yGm_.SetGlobalBuffer((__gm__ float*)y, n);
        outGm_.SetGlobalBuffer((__gm__ float*)out, (uint64_t)ROWS * n);
        pipe_.InitBuffer(xf_, np_ * 4);
        pipe_.InitBuffer(yf_, np_ * 4);
        pipe_.InitBuffer(xh_, np_ * 2);
        pipe_.InitBuffer(yh_, np_ * 2);
        pipe_.InitBuffer(rf_, np_ * 4);
        pipe_.InitBuffer(rh_, np_ * 2);
        pipe_.InitBuffer(r32_, np_ * 4);
        pipe_.InitBuffer(r8_, np_);
        pipe_.InitBuffer(work_, np_ * 4);
        pipe_.InitBuffer(sc_, 32);
    }

    __aicore__ inline void Process()
    {
        LocalTensor<float> x = xf_.Get<float>(), y = yf_.Get<float>(), r = rf_.Get<float>();
        LocalTensor<half> xh = xh_.Get<half>(), yh = yh_.Get<half>(), rh = rh_.Get<half>();
        DataCopyPad(x, xGm_, DataCopyExtParams{1, (uint32_t)n_ * 4, 0, 0, 0}, DataCopyPadExtParams<float>{false, 0, 0, 0.0f});
        DataCopyPad(y, yGm_, DataCopyExtParams{1, (uint32_t)n_ * 4, 0, 0, 0}, DataCopyPadExtParams<float>{false, 0, 0, 0.0f});
        SetFlag<HardEvent::MTE2_V>(EVENT_ID0);
        WaitFlag<HardEvent::MTE2_V>(EVENT_ID0);
        Cast(xh, x, RoundMode::CAST_NONE, n_);
        Cast(yh, y, RoundMode::CAST_NONE, n_);

        int32_t row = 0;
        row = Ops<float>(x, y, r, row);             // rows 0-16
        row = Ops<half>(xh, yh, rh, row);           // rows 17-33

        const RoundMode modes[7] = {RoundMode::CAST_NONE,  RoundMode::CAST_RINT,  RoundMode::CAST_FLOOR,
                                    RoundMode::CAST_CEIL,  RoundMode::CAST_ROUND, RoundMode::CAST_TRUNC,
                                    RoundMode::CAST_ODD};
        for (int k = 0; k < 7; ++k) {               // rows 34-40: float -> half
            Cast(rh, x, modes[k], n_);
            Cast(r, rh, RoundMode::CAST_NONE, n_);
            Out(r, row++);
        }
        LocalTensor<int32_t> ri = r32_.Get<int32_t>();
        LocalTensor<float> x3 = work_.Get<float>();
        Muls(x3, x, 3.0f, n_);
        for (int k = 1; k < 6; ++k) {               // rows 41-45: 3x float -> int32
            Cast(ri, x3, modes[k], n_);
            Cast(r, ri, RoundMode::CAST_NONE, n_);
            Out(r, row++);
        }
        LocalTensor<bfloat16_t> rb = rh.ReinterpretCast<bfloat16_t>();
        for (int k = 1; k < 6; ++k) {               // rows 46-50: float -> bfloat16
            Cast(rb, x, modes[k], n_);
            Cast(r, rb, RoundMode::CAST_NONE, n_);
            Out(r, row++);
        }
        LocalTensor<int8_t> r8 = r8_.Get<int8_t>();
        Muls(x3, x, 50.0f, n_);                     // row 51: half(50x) -> int8 (saturating)
        Cast(rh, x3, RoundMode::CAST_NONE, n_);
        Cast(r8, rh, RoundMode::CAST_RINT, n_);
        Cast(rh, r8, RoundMode::CAST_NONE, n_);
        Cast(r, rh, RoundMode::CAST_NONE, n_);
        Out(r, row++);
        Muls(x3, x, 3.0f, n_);                      // row 52: half(3x) -> int32, truncated
        Cast(rh, x3, RoundMode::CAST_NONE, n_);
        Cast(ri, rh, RoundMode::CAST_TRUNC, n_);
        Cast(r, ri, RoundMode::CAST_NONE, n_);
        Out(r, row++);

        // row 53: the reductions
        LocalTensor<float> w = work_.Get<float>();
        Duplicate(r, 0.0f, n_);
        LocalTensor<float> s = sc_.Get<float>();
        ReduceSum(s, x, w, n_);
        float v0 = s.GetValue(0);
        ReduceMax(s, x, w, n_, true);
        float v1 = s.GetValue(0), i1 = (float)s.ReinterpretCast<uint32_t>().GetValue(1);
        ReduceMin(s, x, w, n_, true);
        float v2 = s.GetValue(0), i2 = (float)s.ReinterpretCast<uint32_t>().GetValue(1);
        LocalTensor<half> sh = sc_.Get<half>();
        LocalTensor<half> wh = work_.Get<half>();
        ReduceSum(sh, xh, wh, n_);
        float v3 = sh.GetValue(0);
        ReduceMax(sh, xh, wh, n_, true);
        float v4 = sh.GetValue(0), i4 = (float)sh.ReinterpretCast<uint16_t>().GetValue(1);
        Duplicate(r, 0.0f, n_);
        const float vals[8] = {v0, v1, i1, v2, i2, v3, v4, i4};
        for (int k = 0; k < 8; ++k) r.SetValue(k, vals[k]);
        Out(r, row++);
    }

private:
    template <typename T>
    __aicore__ inline int32_t Ops(const LocalTensor<T>& x, const LocalTensor<T>& y, const LocalTensor<T>& r, int32_t row)
    {
        LocalTensor<float> rf = rf_.Get<float>();
        LocalTensor<T> a = work_.Get<T>();
        const int32_t n = n_;
        Add(r, x, y, n), Emit(r, rf, row++);
        Sub(r, x, y, n), Emit(r, rf, row++);
        Mul(r, x, y, n), Emit(r, rf, row++);
        Div(r, x, y, n), Emit(r, rf, row++);
        Max(r, x, y, n), Emit(r, rf, row++);
        Min(r, x, y, n), Emit(r, rf, row++);
        Adds(r, x, T(0.5f), n), Emit(r, rf, row++);
        Muls(r, x, T(-1.5f), n), Emit(r, rf, row++);
        Maxs(r, x, T(0.25f), n), Emit(r, rf, row++);
        Mins(r, x, T(0.25f), n), Emit(r, rf, row++);
        Exp(r, x, n), Emit(r, rf, row++);
        Abs(a, x, n);
        Ln(r, a, n), Emit(r, rf, row++);
        Abs(r, x, n), Emit(r, rf, row++);
        Relu(r, x, n), Emit(r, rf, row++);
        Sqrt(r, a, n), Emit(r, rf, row++);
        Rsqrt(r, a, n), Emit(r, rf, row++);
        Reciprocal(r, x, n), Emit(r, rf, row++);
        Erf(r, x, n), Emit(r, rf, row++);
        return row;
    }
    template <typename T>
    __aicore__ inline void Emit(const LocalTensor<T>& r, const LocalTensor<float>& rf, int32_t row)
    {
        if constexpr (std::is_same<T, float>::value) {
            Out(r, row);
        } else {
            Cast(rf, r, RoundMode::CAST_NONE, n_);
            Out(rf, row);
        }
    }
    __aicore__ inline void Out(const LocalTensor<float>& r, int32_t row)
    {
        SetFlag<HardEvent::V_MTE3>(EVENT_ID0);
        WaitFlag<HardEvent::V_MTE3>(EVENT_ID0);
        DataCopyPad(outGm_[(uint64_t)row * n_], r, DataCopyExtParams{1, (uint32_t)n_ * 4, 0, 0, 0});
        SetFlag<HardEvent::MTE3_V>(EVENT_ID0);
        WaitFlag<HardEvent::MTE3_V>(EVENT_ID0);
    }

    TPipe pipe_;
    TBuf<TPosition::VECCALC> xf_, yf_, xh_, yh_, rf_, rh_, r32_, r8_, work_, sc_;
    GlobalTensor<float> xGm_, yGm_, outGm_;
    int32_t n_ = 0, np_ = 0;
};

extern "C" __global__ __aicore__ void vector_ops(GM_ADDR x, GM_ADDR y, GM_ADDR out, GM_ADDR tiling)
{
    GET_TILING_DATA_WITH_STRUCT(VecTiling, t, tiling);
    KernelVec op;
    op.Init(x, y, out, t.n);
    op.Process();
}

int32_t main(int32_t argc, char* argv[])
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s N DIR\n", argv[0]);
        return 2;
    }
    const int32_t n = std::stoi(argv[1]);
    const std::string dir = argv[2];
    uint8_t* x = (uint8_t*)AscendC::GmAlloc(n * 4);
    uint8_t* y = (uint8_t*)AscendC::GmAlloc(n * 4);
    uint8_t* out = (uint8_t*)AscendC::GmAlloc((size_t)ROWS * n * 4);
    uint8_t* tiling = (uint8_t*)AscendC::GmAlloc(sizeof(VecTiling));
    FILE* f = std::fopen((dir + "/x.bin").c_str(), "rb");
    if (f == nullptr || std::fread(x, 4, n, f) != (size_t)n) return 2;
    std::fclose(f);
    f = std::fopen((dir + "/y.bin").c_str(), "rb");
    if (f == nullptr || std::fread(y, 4, n, f) != (size_t)n) return 2;
    std::fclose(f);
    VecTiling t{n};
    std::memcpy(tiling, &t, sizeof(t));
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    ICPU_RUN_KF(vector_ops, 1, x, y, out, tiling);
    f = std::fopen((dir + "/out.bin").c_str(), "wb");
    if (f == nullptr || std::fwrite(out, 4, (size_t)ROWS * n, f) != (size_t)ROWS * n) return 2;
    std::fclose(f);
    AscendC::GmFree(x);
    AscendC::GmFree(y);
    AscendC::GmFree(out);
    AscendC::GmFree(tiling);
    return 0;
}
