// softmax_custom: row-wise softmax of a (rows, cols) float matrix. Each core takes a range of
// rows; a row is moved with DataCopyPad (cols need not be a multiple of 8), reduced with
// ReduceMax / ReduceSum into a TBuf, shifted, exponentiated and scaled.
//
//      ./softmax_custom ROWS COLS blockDim DIR   (reads DIR/x.bin, writes DIR/y.bin)
#include "kernel_operator.h"

using namespace AscendC;

struct SoftmaxTiling {
    uint32_t rows;
    uint32_t cols;
    uint32_t colsAligned;  // cols rounded up to 8 floats (32 bytes)
};

class KernelSoftmax {
public:
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, const SoftmaxTiling& t)
    {
        t_ = t;
        const uint32_t blocks = GetBlockNum();
        const uint32_t per = (t.rows + blocks - 1) / blocks;
        row0_ = per * GetBlockIdx();
        rows_ = row0_ >= t.rows ? 0 : (t.rows - row0_ < per ? t.rows - row0_ : per);
        xGm_.SetGlobalBuffer((__gm__ float*)x + row0_ * t.cols, rows_ * t.cols);
        yGm_.SetGlobalBuffer((__gm__ float*)y + row0_ * t.cols, rows_ * t.cols);
        pipe_.InitBuffer(inQueue_, 2, t.colsAligned * sizeof(float));
        pipe_.InitBuffer(outQueue_, 2, t.colsAligned * sizeof(float));
        pipe_.InitBuffer(work_, t.colsAligned * sizeof(float));  // ReduceMax's sharedTmpBuffer
        pipe_.InitBuffer(scalar_, 32);                           // reduction results
    }
    __aicore__ inline void Process()
    {
        for (uint32_t r = 0; r < rows_; r++) {
            CopyIn(r);
            Compute();
            CopyOut(r);
        }
    }

private:
    __aicore__ inline void CopyIn(uint32_t r)
    {
        LocalTensor<float> x = inQueue_.AllocTensor<float>();
        DataCopyPad(x, xGm_[r * t_.cols], DataCopyExtParams{1, t_.cols * 4, 0, 0, 0},
                    DataCopyPadExtParams<float>{false, 0, 0, 0.0f});
        inQueue_.EnQue(x);
    }
    __aicore__ inline void Compute()
    {
        LocalTensor<float> x = inQueue_.DeQue<float>();
        LocalTensor<float> y = outQueue_.AllocTensor<float>();
        LocalTensor<float> work = work_.Get<float>();
        LocalTensor<float> s = scalar_.Get<float>();
        const int32_t n = t_.cols;

        ReduceMax(s, x, work, n);
        SetFlag<HardEvent::V_S>(EVENT_ID0);
        WaitFlag<HardEvent::V_S>(EVENT_ID0);
        const float maxv = s.GetValue(0);
        Adds(y, x, -maxv, n);
        PipeBarrier<PIPE_V>();
        Exp(y, y, n);
        PipeBarrier<PIPE_V>();
        ReduceSum(s, y, work, n);
        SetFlag<HardEvent::V_S>(EVENT_ID0);
        WaitFlag<HardEvent::V_S>(EVENT_ID0);
        const float sum = s.GetValue(0);
        Muls(y, y, 1.0f / sum, n);

        outQueue_.EnQue(y);
        inQueue_.FreeTensor(x);
    }
    __aicore__ inline void CopyOut(uint32_t r)
    {
        LocalTensor<float> y = outQueue_.DeQue<float>();
        DataCopyPad(yGm_[r * t_.cols], y, DataCopyExtParams{1, t_.cols * 4, 0, 0, 0});
        outQueue_.FreeTensor(y);
    }

    TPipe pipe_;
    TQue<TPosition::VECIN, 2> inQueue_;
    TQue<TPosition::VECOUT, 2> outQueue_;
    TBuf<TPosition::VECCALC> work_, scalar_;
    GlobalTensor<float> xGm_, yGm_;
    SoftmaxTiling t_{};
    uint32_t row0_ = 0, rows_ = 0;
};

extern "C" __global__ __aicore__ void softmax_custom(GM_ADDR x, GM_ADDR y, GM_ADDR workspace, GM_ADDR tiling)
{
    GET_TILING_DATA_WITH_STRUCT(SoftmaxTiling, t, tiling);
    KernelSoftmax op;
    op.Init(x, y, t);
    op.Process();
}

#ifndef CIRC_NO_MAIN
#include <string>

#include "tikicpulib.h"

int32_t main(int32_t argc, char* argv[])
{
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s ROWS COLS blockDim DIR\n", argv[0]);
        return 2;
    }
    const uint32_t rows = std::stoul(argv[1]), cols = std::stoul(argv[2]), blockDim = std::stoul(argv[3]);
    const std::string dir = argv[4];
    const size_t bytes = size_t(rows) * cols * sizeof(float);
    uint8_t* x = (uint8_t*)AscendC::GmAlloc(bytes);
    uint8_t* y = (uint8_t*)AscendC::GmAlloc(bytes);
    uint8_t* tiling = (uint8_t*)AscendC::GmAlloc(sizeof(SoftmaxTiling));
    FILE* f = std::fopen((dir + "/x.bin").c_str(), "rb");
    if (f == nullptr || std::fread(x, 1, bytes, f) != bytes) return 2;
    std::fclose(f);
    SoftmaxTiling t{rows, cols, (cols + 7) / 8 * 8};
    std::memcpy(tiling, &t, sizeof(t));
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    ICPU_RUN_KF(softmax_custom, blockDim, x, y, nullptr, tiling);
    f = std::fopen((dir + "/y.bin").c_str(), "wb");
    if (f == nullptr || std::fwrite(y, 1, bytes, f) != bytes) return 2;
    std::fclose(f);
    AscendC::GmFree(x);
    AscendC::GmFree(y);
    AscendC::GmFree(tiling);
    return 0;
}
#endif
