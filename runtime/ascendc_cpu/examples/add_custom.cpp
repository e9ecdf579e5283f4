// add_custom: z = x + y in the classic AscendC style — a kernel class, double-buffered VECIN /
// VECOUT queues, blockDim cores each taking a contiguous slice, tiles, and an unaligned tail
// moved with DataCopyPad. Runs unchanged on the NPU and on circ's CPU layer.
//
// CPU: g++ $(circ ascendc-cpu --cflags) add_custom.cpp -o add_custom $(circ ascendc-cpu --libs)
//      ./add_custom fp32|fp16 N blockDim tile DIR   (reads DIR/x.bin DIR/y.bin, writes DIR/z.bin)
#include "kernel_operator.h"

using namespace AscendC;

struct AddCustomTiling {
    uint32_t totalLength;  // elements
    uint32_t tileLength;   // elements per tile (a multiple of 32 bytes)
};

constexpr int32_t BUFFER_NUM = 2;  // double buffering

template <typename T>
class KernelAdd {
public:
    __aicore__ inline KernelAdd() {}
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR y, GM_ADDR z, const AddCustomTiling& t)
    {
        // Every core takes a slice that starts on a 32-byte boundary; the last one takes the rest.
        const uint32_t align = 32 / sizeof(T);
        const uint32_t blocks = GetBlockNum();
        uint32_t per = (t.totalLength + blocks - 1) / blocks;
        per = (per + align - 1) / align * align;
        const uint32_t start = per * GetBlockIdx();
        length_ = start >= t.totalLength ? 0 : (t.totalLength - start < per ? t.totalLength - start : per);
        tile_ = t.tileLength;
        xGm_.SetGlobalBuffer((__gm__ T*)x + start, length_);
        yGm_.SetGlobalBuffer((__gm__ T*)y + start, length_);
        zGm_.SetGlobalBuffer((__gm__ T*)z + start, length_);
        pipe_.InitBuffer(inQueueX_, BUFFER_NUM, tile_ * sizeof(T));
        pipe_.InitBuffer(inQueueY_, BUFFER_NUM, tile_ * sizeof(T));
        pipe_.InitBuffer(outQueueZ_, BUFFER_NUM, tile_ * sizeof(T));
    }
    __aicore__ inline void Process()
    {
        const uint32_t tiles = (length_ + tile_ - 1) / tile_;
        for (uint32_t i = 0; i < tiles; i++) {
            const uint32_t n = (i + 1) * tile_ <= length_ ? tile_ : length_ - i * tile_;
            CopyIn(i, n);
            Compute(n);
            CopyOut(i, n);
        }
    }

private:
    __aicore__ inline void CopyIn(uint32_t i, uint32_t n)
    {
        LocalTensor<T> xLocal = inQueueX_.AllocTensor<T>();
        LocalTensor<T> yLocal = inQueueY_.AllocTensor<T>();
        if (n * sizeof(T) % 32 == 0) {
            DataCopy(xLocal, xGm_[i * tile_], n);
            DataCopy(yLocal, yGm_[i * tile_], n);
        } else {  // the unaligned tail
            DataCopyExtParams params{1, static_cast<uint32_t>(n * sizeof(T)), 0, 0, 0};
            DataCopyPadExtParams<T> pad{false, 0, 0, 0};
            DataCopyPad(xLocal, xGm_[i * tile_], params, pad);
            DataCopyPad(yLocal, yGm_[i * tile_], params, pad);
        }
        inQueueX_.EnQue(xLocal);
        inQueueY_.EnQue(yLocal);
    }
    __aicore__ inline void Compute(uint32_t n)
    {
        LocalTensor<T> xLocal = inQueueX_.DeQue<T>();
        LocalTensor<T> yLocal = inQueueY_.DeQue<T>();
        LocalTensor<T> zLocal = outQueueZ_.AllocTensor<T>();
        Add(zLocal, xLocal, yLocal, n);
        outQueueZ_.EnQue<T>(zLocal);
        inQueueX_.FreeTensor(xLocal);
        inQueueY_.FreeTensor(yLocal);
    }
    __aicore__ inline void CopyOut(uint32_t i, uint32_t n)
    {
        LocalTensor<T> zLocal = outQueueZ_.DeQue<T>();
        if (n * sizeof(T) % 32 == 0) {
            DataCopy(zGm_[i * tile_], zLocal, n);
        } else {
            DataCopyPad(zGm_[i * tile_], zLocal, DataCopyExtParams{1, static_cast<uint32_t>(n * sizeof(T)), 0, 0, 0});
        }
        outQueueZ_.FreeTensor(zLocal);
    }

    TPipe pipe_;
    TQue<QuePosition::VECIN, BUFFER_NUM> inQueueX_, inQueueY_;
    TQue<QuePosition::VECOUT, BUFFER_NUM> outQueueZ_;
    GlobalTensor<T> xGm_, yGm_, zGm_;
    uint32_t length_ = 0;
    uint32_t tile_ = 0;
};

extern "C" __global__ __aicore__ void add_custom_fp32(GM_ADDR x, GM_ADDR y, GM_ADDR z, GM_ADDR workspace, GM_ADDR tiling)
{
    GET_TILING_DATA_WITH_STRUCT(AddCustomTiling, t, tiling);
    KernelAdd<float> op;
    op.Init(x, y, z, t);
    op.Process();
}

extern "C" __global__ __aicore__ void add_custom_fp16(GM_ADDR x, GM_ADDR y, GM_ADDR z, GM_ADDR workspace, GM_ADDR tiling)
{
    GET_TILING_DATA_WITH_STRUCT(AddCustomTiling, t, tiling);
    KernelAdd<half> op;
    op.Init(x, y, z, t);
    op.Process();
}

#ifndef CIRC_NO_MAIN
#include <string>

#include "tikicpulib.h"

static bool ReadFile(const std::string& path, void* buf, size_t bytes)
{
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    size_t got = std::fread(buf, 1, bytes, f);
    std::fclose(f);
    return got == bytes;
}

static bool WriteFile(const std::string& path, const void* buf, size_t bytes)
{
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return false;
    size_t put = std::fwrite(buf, 1, bytes, f);
    std::fclose(f);
    return put == bytes;
}

int32_t main(int32_t argc, char* argv[])
{
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s fp32|fp16 N blockDim tile DIR\n", argv[0]);
        return 2;
    }
    const std::string dtype = argv[1];
    const uint32_t n = std::stoul(argv[2]);
    const uint32_t blockDim = std::stoul(argv[3]);
    const uint32_t tile = std::stoul(argv[4]);
    const std::string dir = argv[5];
    const size_t elem = dtype == "fp16" ? 2 : 4;
    const size_t bytes = n * elem;

    uint8_t* x = (uint8_t*)AscendC::GmAlloc(bytes);
    uint8_t* y = (uint8_t*)AscendC::GmAlloc(bytes);
    uint8_t* z = (uint8_t*)AscendC::GmAlloc(bytes);
    uint8_t* tiling = (uint8_t*)AscendC::GmAlloc(sizeof(AddCustomTiling));
    uint8_t* workspace = (uint8_t*)AscendC::GmAlloc(32);
    if (!ReadFile(dir + "/x.bin", x, bytes) || !ReadFile(dir + "/y.bin", y, bytes)) {
        std::fprintf(stderr, "cannot read %s/x.bin or y.bin\n", dir.c_str());
        return 2;
    }
    AddCustomTiling t{n, tile};
    std::memcpy(tiling, &t, sizeof(t));

    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    if (dtype == "fp16") {
        ICPU_RUN_KF(add_custom_fp16, blockDim, x, y, z, workspace, tiling);
    } else {
        ICPU_RUN_KF(add_custom_fp32, blockDim, x, y, z, workspace, tiling);
    }
    if (!WriteFile(dir + "/z.bin", z, bytes)) return 2;

    AscendC::GmFree(x);
    AscendC::GmFree(y);
    AscendC::GmFree(z);
    AscendC::GmFree(tiling);
    AscendC::GmFree(workspace);
    return 0;
}
#endif
