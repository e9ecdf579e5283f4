// Corpus: an op-project kernel (op_kernel/<op>.cpp): DTYPE_X / DTYPE_Y come from the build,
// the tiling struct from op_host/<op>_tiling.h through GET_TILING_DATA, and the tiling key
// picks the variant (TILING_KEY_IS). Key 1: z = x + y * scale; key 2: z = (x - y) * scale.
// A second kernel reads a plain C++ tiling struct with REGISTER_TILING_DEFAULT (the newer
// ops-nn style) and one member with GET_TILING_DATA_MEMBER.
#include "kernel_operator.h"

constexpr int32_t BUFFER_NUM = 2;

class KernelScaleAdd {
public:
    __aicore__ inline KernelScaleAdd() {}
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, GM_ADDR z, uint32_t length, uint32_t offset, uint32_t tile,
                                float scale)
    {
        length_ = length;
        tile_ = tile;
        scale_ = static_cast<DTYPE_X>(scale);
        xGm_.SetGlobalBuffer((__gm__ DTYPE_X*)x + offset, length);
        yGm_.SetGlobalBuffer((__gm__ DTYPE_Y*)y + offset, length);
        zGm_.SetGlobalBuffer((__gm__ DTYPE_X*)z + offset, length);
        pipe_.InitBuffer(inQueueX_, BUFFER_NUM, tile * sizeof(DTYPE_X));
        pipe_.InitBuffer(inQueueY_, BUFFER_NUM, tile * sizeof(DTYPE_Y));
        pipe_.InitBuffer(outQueueZ_, BUFFER_NUM, tile * sizeof(DTYPE_X));
    }
    template <int key>
    __aicore__ inline void Process()
    {
        for (uint32_t off = 0; off < length_; off += tile_) {
            uint32_t n = length_ - off < tile_ ? length_ - off : tile_;
            AscendC::LocalTensor<DTYPE_X> x = inQueueX_.AllocTensor<DTYPE_X>();
            AscendC::LocalTensor<DTYPE_Y> y = inQueueY_.AllocTensor<DTYPE_Y>();
            AscendC::DataCopy(x, xGm_[off], n);
            AscendC::DataCopy(y, yGm_[off], n);
            inQueueX_.EnQue(x);
            inQueueY_.EnQue(y);
            x = inQueueX_.DeQue<DTYPE_X>();
            y = inQueueY_.DeQue<DTYPE_Y>();
            AscendC::LocalTensor<DTYPE_X> z = outQueueZ_.AllocTensor<DTYPE_X>();
            if constexpr (key == 1) {
                AscendC::Muls(z, y, scale_, n);
                AscendC::PipeBarrier<PIPE_V>();
                AscendC::Add(z, x, z, n);
            } else {
                AscendC::Sub(z, x, y, n);
                AscendC::PipeBarrier<PIPE_V>();
                AscendC::Muls(z, z, scale_, n);
            }
            outQueueZ_.EnQue(z);
            inQueueX_.FreeTensor(x);
            inQueueY_.FreeTensor(y);
            z = outQueueZ_.DeQue<DTYPE_X>();
            AscendC::DataCopy(zGm_[off], z, n);
            outQueueZ_.FreeTensor(z);
        }
    }

private:
    AscendC::TPipe pipe_;
    AscendC::TQue<AscendC::TPosition::VECIN, BUFFER_NUM> inQueueX_, inQueueY_;
    AscendC::TQue<AscendC::TPosition::VECOUT, BUFFER_NUM> outQueueZ_;
    AscendC::GlobalTensor<DTYPE_X> xGm_, zGm_;
    AscendC::GlobalTensor<DTYPE_Y> yGm_;
    uint32_t length_ = 0, tile_ = 0;
    DTYPE_X scale_;
};

extern "C" __global__ __aicore__ void scale_add_custom(GM_ADDR x, GM_ADDR y, GM_ADDR z, GM_ADDR workspace, GM_ADDR tiling)
{
    GET_TILING_DATA(tilingData, tiling);
    const uint32_t idx = AscendC::GetBlockIdx();
    const uint32_t begin = tilingData.coreOffset[idx];
    const uint32_t end = idx + 1 < AscendC::GetBlockNum() ? tilingData.coreOffset[idx + 1] : tilingData.totalLength;
    KernelScaleAdd op;
    op.Init(x, y, z, end - begin, begin, tilingData.tileLength, tilingData.scale);
    if (TILING_KEY_IS(1)) {
        op.Process<1>();
    } else if (TILING_KEY_IS(2)) {
        op.Process<2>();
    }
}

// The ops-nn style: a standard C++ tiling struct named in the kernel.
struct ScaleAddPlainTiling {
    uint32_t totalLength;
    uint32_t tileLength;
    float scale;
};

extern "C" __global__ __aicore__ void scale_add_plain(GM_ADDR x, GM_ADDR y, GM_ADDR z, GM_ADDR workspace, GM_ADDR tiling)
{
    REGISTER_TILING_DEFAULT(ScaleAddPlainTiling);
    GET_TILING_DATA(t, tiling);
    GET_TILING_DATA_MEMBER(ScaleAddPlainTiling, scale, scaleOnly, tiling);
    ascendc_assert(scaleOnly == t.scale, "member %f differs from struct %f", scaleOnly, t.scale);
    KernelScaleAdd op;
    op.Init(x, y, z, t.totalLength, 0, t.tileLength, t.scale);
    op.Process<1>();
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    const uint32_t n = a.v[0], blockDim = a.v[1], tile = a.v[2];
    DTYPE_X* x = corpus::Load<DTYPE_X>("x", n);
    DTYPE_Y* y = corpus::Load<DTYPE_Y>("y", n);
    DTYPE_X* z = corpus::Alloc<DTYPE_X>(n);
    uint8_t* workspace = corpus::Alloc<uint8_t>(32);
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    if (a.which == "plain") {
        auto* t = corpus::Alloc<ScaleAddPlainTiling>(1);
        *t = ScaleAddPlainTiling{n, tile, 0.75f};
        ICPU_RUN_KF(scale_add_plain, 1, (GM_ADDR)x, (GM_ADDR)y, (GM_ADDR)z, workspace, (GM_ADDR)t);
    } else {
        // Host tiling, as TilingFunc writes it: set_ fields, SaveToBuffer, the tiling key.
        optiling::ScaleAddCustomTilingData td;
        td.set_totalLength(n);
        td.set_tileLength(tile);
        td.set_scale(0.75f);
        uint32_t offsets[8] = {};
        const uint32_t per = (n / blockDim) / tile * tile;
        for (uint32_t i = 0; i < blockDim; ++i) offsets[i] = i * per;
        td.set_coreOffset(offsets);
        uint8_t* tiling = corpus::Alloc<uint8_t>(td.GetDataSize());
        td.SaveToBuffer(tiling, td.GetDataSize());
        ICPU_SET_TILING_KEY(a.which == "key1" ? 1 : 2);
        ICPU_RUN_KF(scale_add_custom, blockDim, (GM_ADDR)x, (GM_ADDR)y, (GM_ADDR)z, workspace, tiling);
    }
    corpus::Save("z", z, n);
    return 0;
}
