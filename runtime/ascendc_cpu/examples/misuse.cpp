// misuse: small kernels that break the hardware's rules, one per case, to show what circ's CPU
// layer reports. Each is what a code generator could get wrong.
//
//      ./misuse CASE DIR   (writes DIR/y.bin: 64 floats, when the kernel completes)
#include <string>

#include "kernel_operator.h"
#include "tikicpulib.h"

using namespace AscendC;

constexpr int32_t N = 64;

struct MisuseTiling {
    int32_t which;
};

enum Case {
    UB_OVERFLOW,
    UNALIGNED_COPY,
    DEQUE_EMPTY,
    ENQUE_DEPTH,
    FREE_FOREIGN,
    USE_AFTER_FREE,
    UNINIT_READ,
    WAIT_WITHOUT_SET,
    ONE_BLOCK_FAILS,
    VECTOR_COUNT,
    UNALIGNED_OPERAND,
    ALLOC_EXHAUSTED,
    GM_OUT_OF_BOUNDS,
    CAST_MODE,
    VIEW_PAST_END,
    SECOND_PIPE,
    SOFTMAX_FLASH_OVERLAP,
    CASE_COUNT,
};

static const char* kNames[CASE_COUNT] = {
    "ub_overflow",   "unaligned_copy",  "deque_empty",       "enque_depth",    "free_foreign",
    "use_after_free", "uninit_read",    "wait_without_set",  "one_block_fails", "vector_count",
    "unaligned_operand", "alloc_exhausted", "gm_out_of_bounds", "cast_mode", "view_past_end", "second_pipe",
    "softmax_flash_overlap",
};

extern "C" __global__ __aicore__ void misuse_kernel(GM_ADDR x, GM_ADDR y, GM_ADDR tilingGm)
{
    GET_TILING_DATA_WITH_STRUCT(MisuseTiling, t, tilingGm);
    GlobalTensor<float> xGm, yGm;
    xGm.SetGlobalBuffer((__gm__ float*)x, N);
    yGm.SetGlobalBuffer((__gm__ float*)y, N);
    TPipe pipe;
    TQue<TPosition::VECIN, 1> inQ;
    TQue<TPosition::VECOUT, 1> outQ;
    TBuf<TPosition::VECCALC> buf;

    switch (t.which) {
        case UB_OVERFLOW: {
            pipe.InitBuffer(inQ, 1, 64 * 1024);
            pipe.InitBuffer(buf, 32 * 1024);
            pipe.InitBuffer(outQ, 2, 50000);  // 2 x 50016 bytes more: 198688 > 196608
            break;
        }
        case UNALIGNED_COPY: {  // 10 floats = 40 bytes: not a multiple of 32
            pipe.InitBuffer(inQ, 1, N * sizeof(float));
            LocalTensor<float> a = inQ.AllocTensor<float>();
            DataCopy(a, xGm, 10);
            inQ.EnQue(a);
            a = inQ.DeQue<float>();
            DataCopyPad(yGm, a, DataCopyExtParams{1, 10 * sizeof(float), 0, 0, 0});
            inQ.FreeTensor(a);
            break;
        }
        case DEQUE_EMPTY: {
            pipe.InitBuffer(inQ, 1, N * sizeof(float));
            LocalTensor<float> a = inQ.DeQue<float>();
            inQ.FreeTensor(a);
            break;
        }
        case ENQUE_DEPTH: {  // depth 1, two buffers: the second EnQue has no room
            pipe.InitBuffer(inQ, 2, N * sizeof(float));
            LocalTensor<float> a = inQ.AllocTensor<float>();
            LocalTensor<float> b = inQ.AllocTensor<float>();
            inQ.EnQue(a);
            inQ.EnQue(b);
            break;
        }
        case FREE_FOREIGN: {
            pipe.InitBuffer(inQ, 1, N * sizeof(float));
            pipe.InitBuffer(outQ, 1, N * sizeof(float));
            LocalTensor<float> a = inQ.AllocTensor<float>();
            outQ.FreeTensor(a);
            break;
        }
        case USE_AFTER_FREE: {
            pipe.InitBuffer(inQ, 1, N * sizeof(float));
            LocalTensor<float> a = inQ.AllocTensor<float>();
            DataCopy(a, xGm, N);
            inQ.FreeTensor(a);
            Adds(a, a, 1.0f, N);
            break;
        }
        case UNINIT_READ: {  // a fresh buffer copied out without being written: NaN
            pipe.InitBuffer(outQ, 1, N * sizeof(float));
            LocalTensor<float> a = outQ.AllocTensor<float>();
            outQ.EnQue(a);
            a = outQ.DeQue<float>();
            DataCopy(yGm, a, N);
            outQ.FreeTensor(a);
            break;
        }
        case WAIT_WITHOUT_SET: {
            WaitFlag<HardEvent::MTE2_V>(EVENT_ID1);
            break;
        }
        case ONE_BLOCK_FAILS: {  // block 5 of 8 copies 12 bytes
            pipe.InitBuffer(inQ, 1, N * sizeof(float));
            LocalTensor<float> a = inQ.AllocTensor<float>();
            DataCopy(a, xGm, GetBlockIdx() == 5 ? 3 : N);
            inQ.FreeTensor(a);
            break;
        }
        case VECTOR_COUNT: {
            pipe.InitBuffer(buf, N * sizeof(float));
            LocalTensor<float> a = buf.Get<float>();
            Duplicate(a, 0.0f, N);
            Add(a, a, a, 2 * N);
            break;
        }
        case UNALIGNED_OPERAND: {  // a[3] starts 12 bytes in
            pipe.InitBuffer(buf, N * sizeof(float));
            LocalTensor<float> a = buf.Get<float>();
            Duplicate(a, 1.0f, N);
            Muls(a[3], a[3], 2.0f, 8);
            break;
        }
        case ALLOC_EXHAUSTED: {
            pipe.InitBuffer(inQ, 1, N * sizeof(float));
            LocalTensor<float> a = inQ.AllocTensor<float>();
            LocalTensor<float> b = inQ.AllocTensor<float>();
            inQ.FreeTensor(a);
            inQ.FreeTensor(b);
            break;
        }
        case GM_OUT_OF_BOUNDS: {  // 128 floats from a 64-float GlobalTensor
            pipe.InitBuffer(inQ, 1, 2 * N * sizeof(float));
            LocalTensor<float> a = inQ.AllocTensor<float>();
            DataCopy(a, xGm, 2 * N);
            inQ.FreeTensor(a);
            break;
        }
        case CAST_MODE: {  // float -> int32 has no CAST_NONE on arch 220
            pipe.InitBuffer(buf, 2 * N * sizeof(float));
            LocalTensor<float> a = buf.Get<float>();
            Duplicate(a, 1.5f, N);
            Cast(a[N].ReinterpretCast<int32_t>(), a, RoundMode::CAST_NONE, N);
            break;
        }
        case VIEW_PAST_END: {  // a[72] of a 64-element tensor
            pipe.InitBuffer(buf, N * sizeof(float));
            LocalTensor<float> a = buf.Get<float>();
            LocalTensor<float> b = a[72];
            Duplicate(b, 0.0f, 8);
            break;
        }
        case SECOND_PIPE: {
            TPipe other;
            break;
        }
        case SOFTMAX_FLASH_OVERLAP: {  // 2 rows of 16: the new max written over the old one
            pipe.InitBuffer(buf, 2 * N * sizeof(float));
            LocalTensor<float> a = buf.Get<float>();
            Duplicate(a, 0.0f, 2 * N);
            SoftMaxTiling tiling{};
            SoftmaxFlashV2<float, true>(a, a[32], a[48], a, a[64], a[80], a[48], tiling, SoftMaxShapeInfo{2, 16, 2, 16});
            break;
        }
        default:
            break;
    }
}

int32_t main(int32_t argc, char* argv[])
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s CASE DIR\n", argv[0]);
        return 2;
    }
    int which = -1;
    for (int i = 0; i < CASE_COUNT; ++i)
        if (std::string(argv[1]) == kNames[i]) which = i;
    if (which < 0) {
        std::fprintf(stderr, "unknown case %s\n", argv[1]);
        return 2;
    }
    float* x = (float*)AscendC::GmAlloc(N * sizeof(float));
    float* y = (float*)AscendC::GmAlloc(N * sizeof(float));
    for (int i = 0; i < N; ++i) x[i] = float(i);
    MisuseTiling t{which};
    uint8_t* tiling = (uint8_t*)AscendC::GmAlloc(sizeof(t));
    std::memcpy(tiling, &t, sizeof(t));
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    ICPU_RUN_KF(misuse_kernel, which == ONE_BLOCK_FAILS ? 8 : 1, (uint8_t*)x, (uint8_t*)y, tiling);
    FILE* f = std::fopen((std::string(argv[2]) + "/y.bin").c_str(), "wb");
    if (f == nullptr || std::fwrite(y, 1, N * sizeof(float), f) != N * sizeof(float)) return 2;
    std::fclose(f);
    AscendC::GmFree(x);
    AscendC::GmFree(y);
    AscendC::GmFree(tiling);
    std::printf("ok\n");
    return 0;
}
