// matmul_custom: C[M, N] = A[M, K] * B[K, N] (+ bias[N]) with the Matmul high-level API. The
// cores split M; each computes singleCoreM rows (the last one a tail set with SetTail).
//
//   kind f16:    A, B half, bias float, C float
//   kind f32:    A, B float, no bias, C float
//   kind f32bt:  A float, B stored transposed (N, K) (MatmulType ISTRANS=true), bias float
//
//      ./matmul_custom f16|f32|f32bt M N K blockDim DIR   (DIR/a.bin b.bin [bias.bin] -> c.bin)
// A shared-library build (-DCIRC_NO_MAIN) exports run_matmul_custom for ctypes.
#include "kernel_operator.h"
#include "lib/matmul_intf.h"

using namespace AscendC;

struct MatmulCustomTiling {
    TCubeTiling cube;
};

template <typename AT, bool TRANS_B>
__aicore__ inline void MatmulKernel(GM_ADDR a, GM_ADDR b, GM_ADDR bias, GM_ADDR c, GM_ADDR tilingGm)
{
    GET_TILING_DATA_WITH_STRUCT(MatmulCustomTiling, td, tilingGm);
    const TCubeTiling& tiling = td.cube;
    const int32_t mOffset = GetBlockIdx() * tiling.singleCoreM;
    if (mOffset >= tiling.M) return;
    const int32_t tailM = tiling.M - mOffset < tiling.singleCoreM ? tiling.M - mOffset : tiling.singleCoreM;

    GlobalTensor<AT> aGm, bGm;
    GlobalTensor<float> biasGm, cGm;
    aGm.SetGlobalBuffer((__gm__ AT*)a, (uint64_t)tiling.M * tiling.Ka);
    bGm.SetGlobalBuffer((__gm__ AT*)b, (uint64_t)tiling.Kb * tiling.N);
    cGm.SetGlobalBuffer((__gm__ float*)c, (uint64_t)tiling.M * tiling.N);
    if (tiling.isBias) biasGm.SetGlobalBuffer((__gm__ float*)bias, tiling.N);

    TPipe pipe;
    matmul::Matmul<matmul::MatmulType<TPosition::GM, CubeFormat::ND, AT>,
                   matmul::MatmulType<TPosition::GM, CubeFormat::ND, AT, TRANS_B>,
                   matmul::MatmulType<TPosition::GM, CubeFormat::ND, float>,
                   matmul::MatmulType<TPosition::GM, CubeFormat::ND, float>>
        mm;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &tiling);
    mm.SetTensorA(aGm[(uint64_t)mOffset * tiling.Ka]);
    mm.SetTensorB(bGm, TRANS_B);
    if (tiling.isBias) mm.SetBias(biasGm);
    mm.SetTail(tailM, tiling.N, tiling.Ka);
    mm.IterateAll(cGm[(uint64_t)mOffset * tiling.N]);
    mm.End();
}

extern "C" __global__ __aicore__ void matmul_custom_f16(GM_ADDR a, GM_ADDR b, GM_ADDR bias, GM_ADDR c, GM_ADDR workspace,
                                                        GM_ADDR tiling)
{
    MatmulKernel<half, false>(a, b, bias, c, tiling);
}

extern "C" __global__ __aicore__ void matmul_custom_f32(GM_ADDR a, GM_ADDR b, GM_ADDR bias, GM_ADDR c, GM_ADDR workspace,
                                                        GM_ADDR tiling)
{
    MatmulKernel<float, false>(a, b, bias, c, tiling);
}

extern "C" __global__ __aicore__ void matmul_custom_f32bt(GM_ADDR a, GM_ADDR b, GM_ADDR bias, GM_ADDR c,
                                                          GM_ADDR workspace, GM_ADDR tiling)
{
    MatmulKernel<float, true>(a, b, bias, c, tiling);
}

#include "tikicpulib.h"

// The host side of the tiling: M split over the cores in multiples of 16 rows.
static MatmulCustomTiling MakeTiling(int32_t M, int32_t N, int32_t K, int32_t blockDim, bool bias)
{
    MatmulCustomTiling t;
    std::memset(&t, 0, sizeof(t));
    TCubeTiling& c = t.cube;
    c.usedCoreNum = blockDim;
    c.M = M;
    c.N = N;
    c.Ka = K;
    c.Kb = K;
    c.singleCoreM = ((M + blockDim - 1) / blockDim + 15) / 16 * 16;
    c.singleCoreN = N;
    c.singleCoreK = K;
    c.baseM = 128;
    c.baseN = 256;
    c.baseK = 64;
    c.depthA1 = c.depthB1 = 2;
    c.stepM = c.stepN = c.stepKa = c.stepKb = 1;
    c.dbL0A = c.dbL0B = 2;
    c.dbL0C = 1;
    c.isBias = bias ? 1 : 0;
    return t;
}

// kind 0: f16 (+bias), 1: f32, 2: f32 with B transposed (+bias). Returns 0 or 1 (kernel error).
extern "C" int run_matmul_custom(int kind, void* a, void* b, void* bias, float* c, int M, int N, int K, int blockDim)
{
    MatmulCustomTiling t = MakeTiling(M, N, K, blockDim, kind != 1);
    AscendC::SetKernelMode(KernelMode::AIC_MODE);
    uint8_t* ta = (uint8_t*)&t;
    if (kind == 0) return ICPU_RUN_KF(matmul_custom_f16, blockDim, (uint8_t*)a, (uint8_t*)b, (uint8_t*)bias, (uint8_t*)c, nullptr, ta);
    if (kind == 1) return ICPU_RUN_KF(matmul_custom_f32, blockDim, (uint8_t*)a, (uint8_t*)b, (uint8_t*)bias, (uint8_t*)c, nullptr, ta);
    return ICPU_RUN_KF(matmul_custom_f32bt, blockDim, (uint8_t*)a, (uint8_t*)b, (uint8_t*)bias, (uint8_t*)c, nullptr, ta);
}

#ifndef CIRC_NO_MAIN
#include <string>

static bool ReadInto(const std::string& path, void* buf, size_t bytes)
{
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    bool ok = std::fread(buf, 1, bytes, f) == bytes;
    std::fclose(f);
    return ok;
}

int32_t main(int32_t argc, char* argv[])
{
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s f16|f32|f32bt M N K blockDim DIR\n", argv[0]);
        return 2;
    }
    const std::string kindName = argv[1];
    const int kind = kindName == "f16" ? 0 : kindName == "f32" ? 1 : 2;
    const int M = std::stoi(argv[2]), N = std::stoi(argv[3]), K = std::stoi(argv[4]), blockDim = std::stoi(argv[5]);
    const std::string dir = argv[6];
    const size_t in = kind == 0 ? 2 : 4;
    uint8_t* a = (uint8_t*)AscendC::GmAlloc(size_t(M) * K * in);
    uint8_t* b = (uint8_t*)AscendC::GmAlloc(size_t(K) * N * in);
    uint8_t* bias = (uint8_t*)AscendC::GmAlloc(size_t(N) * 4);
    uint8_t* c = (uint8_t*)AscendC::GmAlloc(size_t(M) * N * 4);
    if (!ReadInto(dir + "/a.bin", a, size_t(M) * K * in) || !ReadInto(dir + "/b.bin", b, size_t(K) * N * in)) return 2;
    if (kind != 1 && !ReadInto(dir + "/bias.bin", bias, size_t(N) * 4)) return 2;
    // the tiling goes through GM like on the device
    MatmulCustomTiling t = MakeTiling(M, N, K, blockDim, kind != 1);
    uint8_t* tiling = (uint8_t*)AscendC::GmAlloc(sizeof(t));
    std::memcpy(tiling, &t, sizeof(t));
    AscendC::SetKernelMode(KernelMode::AIC_MODE);
    if (kind == 0) ICPU_RUN_KF(matmul_custom_f16, blockDim, a, b, bias, c, nullptr, tiling);
    else if (kind == 1) ICPU_RUN_KF(matmul_custom_f32, blockDim, a, b, bias, c, nullptr, tiling);
    else ICPU_RUN_KF(matmul_custom_f32bt, blockDim, a, b, bias, c, nullptr, tiling);
    FILE* f = std::fopen((dir + "/c.bin").c_str(), "wb");
    if (f == nullptr || std::fwrite(c, 1, size_t(M) * N * 4, f) != size_t(M) * N * 4) return 2;
    std::fclose(f);
    AscendC::GmFree(a);
    AscendC::GmFree(b);
    AscendC::GmFree(bias);
    AscendC::GmFree(c);
    AscendC::GmFree(tiling);
    return 0;
}
#endif
