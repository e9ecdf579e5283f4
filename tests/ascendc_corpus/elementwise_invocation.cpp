// Corpus: the kernel-invocation sample style (Ascend samples, operator/ascendc/0_introduction):
// a kernel class with double-buffered VECIN/VECOUT queues, every core taking a slice, tails
// moved with DataCopyPad, and the LocalTensor operators (`z = x + y`, `w = x * y`) followed by
// LeakyRelu; launched with the kernel function and with a lambda.
// Checks: LocalTensor operators, LeakyRelu count form, ASSERT/likely/unlikely, GetUserWorkspace,
// __CCE_AICORE__, ICPU_RUN_KF(lambda).
#include "kernel_operator.h"

using namespace AscendC;

constexpr int32_t BUFFER_NUM = 2;

template <typename T>
class KernelElementwise {
public:
    __aicore__ inline KernelElementwise() {}
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, GM_ADDR z, GM_ADDR w, uint32_t total, uint32_t tile, float alpha)
    {
        ASSERT(tile * sizeof(T) % 32 == 0);
        const uint32_t per = (total + GetBlockNum() - 1) / GetBlockNum();
        const uint32_t aligned = (per + 32 / sizeof(T) - 1) / (32 / sizeof(T)) * (32 / sizeof(T));
        const uint32_t start = aligned * GetBlockIdx();
        length_ = start >= total ? 0 : (total - start < aligned ? total - start : aligned);
        tile_ = tile;
        alpha_ = static_cast<T>(alpha);
        xGm_.SetGlobalBuffer((__gm__ T*)x + start, length_);
        yGm_.SetGlobalBuffer((__gm__ T*)y + start, length_);
        zGm_.SetGlobalBuffer((__gm__ T*)z + start, length_);
        wGm_.SetGlobalBuffer((__gm__ T*)w + start, length_);
        pipe_.InitBuffer(inX_, BUFFER_NUM, tile_ * sizeof(T));
        pipe_.InitBuffer(inY_, BUFFER_NUM, tile_ * sizeof(T));
        pipe_.InitBuffer(outZ_, BUFFER_NUM, tile_ * sizeof(T));
        pipe_.InitBuffer(outW_, BUFFER_NUM, tile_ * sizeof(T));
    }
    __aicore__ inline void Process()
    {
        for (uint32_t off = 0; off < length_; off += tile_) {
            const uint32_t n = length_ - off < tile_ ? length_ - off : tile_;
            CopyIn(off, n);
            Compute();
            CopyOut(off, n);
        }
    }

private:
    __aicore__ inline void CopyIn(uint32_t off, uint32_t n)
    {
        LocalTensor<T> x = inX_.AllocTensor<T>();
        LocalTensor<T> y = inY_.AllocTensor<T>();
        DataCopyExtParams params{1, static_cast<uint32_t>(n * sizeof(T)), 0, 0, 0};
        DataCopyPadExtParams<T> pad{true, 0, static_cast<uint8_t>((tile_ - n) % (32 / sizeof(T))), T(0)};
        if (likely(n == tile_)) {
            DataCopy(x, xGm_[off], n);
            DataCopy(y, yGm_[off], n);
        } else {
            DataCopyPad(x, xGm_[off], params, pad);
            DataCopyPad(y, yGm_[off], params, pad);
        }
        inX_.EnQue(x);
        inY_.EnQue(y);
    }
    __aicore__ inline void Compute()
    {
        LocalTensor<T> x = inX_.DeQue<T>();
        LocalTensor<T> y = inY_.DeQue<T>();
        LocalTensor<T> z = outZ_.AllocTensor<T>();
        LocalTensor<T> w = outW_.AllocTensor<T>();
        z = x + y;  // the whole tile
        w = x * y;
        LeakyRelu(w, w, alpha_, static_cast<int32_t>(tile_));
        outZ_.EnQue(z);
        outW_.EnQue(w);
        inX_.FreeTensor(x);
        inY_.FreeTensor(y);
    }
    __aicore__ inline void CopyOut(uint32_t off, uint32_t n)
    {
        LocalTensor<T> z = outZ_.DeQue<T>();
        LocalTensor<T> w = outW_.DeQue<T>();
        DataCopyExtParams params{1, static_cast<uint32_t>(n * sizeof(T)), 0, 0, 0};
        if (unlikely(n != tile_)) {
            DataCopyPad(zGm_[off], z, params);
            DataCopyPad(wGm_[off], w, params);
        } else {
            DataCopy(zGm_[off], z, n);
            DataCopy(wGm_[off], w, n);
        }
        outZ_.FreeTensor(z);
        outW_.FreeTensor(w);
    }

    TPipe pipe_;
    TQue<QuePosition::VECIN, BUFFER_NUM> inX_, inY_;
    TQue<QuePosition::VECOUT, BUFFER_NUM> outZ_, outW_;
    GlobalTensor<T> xGm_, yGm_, zGm_, wGm_;
    uint32_t length_ = 0, tile_ = 0;
    T alpha_;
};

struct ElementwiseTiling {
    uint32_t total;
    uint32_t tile;
    float alpha;
};

extern "C" __global__ __aicore__ void elementwise_f32(GM_ADDR x, GM_ADDR y, GM_ADDR z, GM_ADDR w, GM_ADDR workspace,
                                                      GM_ADDR tiling)
{
    GET_TILING_DATA_WITH_STRUCT(ElementwiseTiling, t, tiling);
    GM_ADDR user = GetUserWorkspace(workspace);
    ASSERT(user != nullptr);
    KernelElementwise<float> op;
    op.Init(x, y, z, w, t.total, t.tile, t.alpha);
    op.Process();
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    const uint32_t n = a.v[0], blockDim = a.v[1], tile = a.v[2];
    float* x = corpus::Load<float>("x", n);
    float* y = corpus::Load<float>("y", n);
    float* z = corpus::Alloc<float>(n);
    float* w = corpus::Alloc<float>(n);
    auto* tiling = corpus::Alloc<ElementwiseTiling>(1);
    *tiling = ElementwiseTiling{n, tile, 0.125f};
    uint8_t* workspace = corpus::Alloc<uint8_t>(64);
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    if (a.which == "function") {
        ICPU_RUN_KF(elementwise_f32, blockDim, (GM_ADDR)x, (GM_ADDR)y, (GM_ADDR)z, (GM_ADDR)w, workspace,
                    (GM_ADDR)tiling);
    } else {  // "lambda": the same kernel through a callable, as hosts with captured state write it
        auto kernel = [&](GM_ADDR ws) { elementwise_f32((GM_ADDR)x, (GM_ADDR)y, (GM_ADDR)z, (GM_ADDR)w, ws, (GM_ADDR)tiling); };
        ICPU_RUN_KF(kernel, blockDim, workspace);
    }
    corpus::Save("z", z, n);
    corpus::Save("w", w, n);
    int32_t arch = __CCE_AICORE__;
    corpus::Save("arch", &arch, 1);
    return 0;
}
