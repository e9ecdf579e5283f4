// circ's AscendC CPU layer — the Matmul high-level API (IterateAll to GM), computed by OpenBLAS
// sgemm (the scipy-openblas32 wheel): half / bfloat16_t inputs are widened to float and
// accumulated in float, as the cube unit accumulates fp16 products in fp32.
//
// Link with `circ ascendc-cpu --libs` (OpenBLAS "as needed": only programs that instantiate
// Matmul load it; the thread-count functions are weak references).
#pragma once

#include "datacopy.h"

extern "C" {
// scipy_openblas32 cblas (blasint = int32); order 101 = row major, trans 111 = no, 112 = yes.
__attribute__((visibility("default"))) void scipy_cblas_sgemm(int order, int transA, int transB, int m, int n, int k,
                                                              float alpha, const float* a, int lda, const float* b,
                                                              int ldb, float beta, float* c, int ldc);
__attribute__((weak, visibility("default"))) void scipy_openblas_set_num_threads(int n);
__attribute__((weak, visibility("default"))) int scipy_openblas_get_num_threads(void);
}

namespace AscendC {
namespace tiling {

// The Matmul tiling produced by the host (field order of CANN's TCubeTiling; all int32).
struct TCubeTiling {
    int32_t usedCoreNum;
    int32_t M;
    int32_t N;
    int32_t Ka;
    int32_t Kb;
    int32_t singleCoreM;
    int32_t singleCoreN;
    int32_t singleCoreK;
    int32_t baseM;
    int32_t baseN;
    int32_t baseK;
    int32_t depthA1;
    int32_t depthB1;
    int32_t stepM;
    int32_t stepN;
    int32_t isBias;
    int32_t transLength;
    int32_t iterateOrder;
    int32_t shareMode;
    int32_t shareL1Size;
    int32_t shareL0CSize;
    int32_t shareUbSize;
    int32_t batchM;
    int32_t batchN;
    int32_t singleBatchM;
    int32_t singleBatchN;
    int32_t stepKa;
    int32_t stepKb;
    int32_t depthAL1CacheUB;
    int32_t depthBL1CacheUB;
    int32_t dbL0A;
    int32_t dbL0B;
    int32_t dbL0C;
    int32_t ALayoutInfoB;
    int32_t ALayoutInfoS;
    int32_t ALayoutInfoN;
    int32_t ALayoutInfoG;
    int32_t ALayoutInfoD;
    int32_t BLayoutInfoB;
    int32_t BLayoutInfoS;
    int32_t BLayoutInfoN;
    int32_t BLayoutInfoG;
    int32_t BLayoutInfoD;
    int32_t CLayoutInfoB;
    int32_t CLayoutInfoS1;
    int32_t CLayoutInfoN;
    int32_t CLayoutInfoG;
    int32_t CLayoutInfoS2;
    int32_t BatchNum;
    int32_t mxTypePara;
};

}  // namespace tiling

using tiling::TCubeTiling;

struct MatmulConfig {
    bool doNorm;
    bool doMultiDataLoad;
};
inline constexpr MatmulConfig CFG_NORM = {true, false};
inline constexpr MatmulConfig CFG_MDL = {false, true};

template <TPosition POSITION, CubeFormat FORMAT, typename TYPE, bool ISTRANS = false, LayoutMode LAYOUT = LayoutMode::NONE,
          bool IBSHARE = false, TPosition SRCPOS = TPosition::GM>
struct MatmulType {
    constexpr static TPosition pos = POSITION;
    constexpr static CubeFormat format = FORMAT;
    using T = TYPE;
    constexpr static bool isTrans = ISTRANS;
    constexpr static LayoutMode layout = LAYOUT;
    constexpr static bool ibShare = IBSHARE;
    constexpr static TPosition srcPos = SRCPOS;
};

namespace cpu {

// OpenBLAS runs single-threaded once a kernel has used Matmul: every simulated core is a
// worker thread already. (Only circ's CPU layer uses this OpenBLAS build in the process.)
CIRC_HIDDEN inline std::atomic<bool>& BlasPinned() {
    static std::atomic<bool> pinned{false};
    return pinned;
}
CIRC_HIDDEN inline void PinBlasThreads() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (scipy_openblas_set_num_threads != nullptr) scipy_openblas_set_num_threads(1);
        BlasPinned().store(true);
    });
}

template <typename S>
inline void Widen(float* dst, const S* src, int64_t rows, int64_t cols, int64_t ld) {
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = static_cast<float>(src[r * ld + c]);
}

}  // namespace cpu

template <class A_TYPE, class B_TYPE, class C_TYPE, class BIAS_TYPE = C_TYPE, const auto& MM_CFG = CFG_NORM,
          class MM_CB = void>
class Matmul {
    using SrcAT = typename A_TYPE::T;
    using SrcBT = typename B_TYPE::T;
    using DstT = typename C_TYPE::T;
    using BiasT = typename BIAS_TYPE::T;
    static_assert(std::is_same<SrcAT, SrcBT>::value, "Matmul: A and B must have the same element type");
    static_assert(cpu::OneOf<SrcAT, half, bfloat16_t, float>::value,
                  "Matmul on circ's CPU layer: A/B must be half, bfloat16_t or float");
    static_assert(cpu::OneOf<DstT, half, bfloat16_t, float>::value, "Matmul: C must be half, bfloat16_t or float");
    static_assert(cpu::OneOf<BiasT, half, bfloat16_t, float>::value, "Matmul: bias must be half, bfloat16_t or float");
    static_assert(A_TYPE::format == CubeFormat::ND && B_TYPE::format == CubeFormat::ND && C_TYPE::format == CubeFormat::ND,
                  "Matmul on circ's CPU layer: only CubeFormat::ND operands are implemented");
    static_assert(A_TYPE::pos == TPosition::GM && B_TYPE::pos == TPosition::GM && C_TYPE::pos == TPosition::GM,
                  "Matmul on circ's CPU layer: A, B and C must be in TPosition::GM");

public:
    Matmul() = default;

    void Init(const TCubeTiling* __restrict cubeTiling, TPipe* tpipe = nullptr, CIRC_LOC) {
        (void)tpipe;
        cpu::Tick();
        if (cubeTiling == nullptr) cpu::Fail(circLoc, "Matmul::Init", "the TCubeTiling pointer is null");
        const TCubeTiling& t = *cubeTiling;
        if (t.M <= 0 || t.N <= 0 || t.Ka <= 0 || t.Kb <= 0) {
            cpu::Fail(circLoc, "Matmul::Init", "TCubeTiling M=%d N=%d Ka=%d Kb=%d: all must be positive", t.M, t.N, t.Ka,
                      t.Kb);
        }
        if (t.Ka != t.Kb) cpu::Fail(circLoc, "Matmul::Init", "TCubeTiling Ka=%d differs from Kb=%d", t.Ka, t.Kb);
        if (t.singleCoreM <= 0 || t.singleCoreN <= 0 || t.singleCoreK <= 0) {
            cpu::Fail(circLoc, "Matmul::Init", "TCubeTiling singleCoreM=%d singleCoreN=%d singleCoreK=%d must be positive",
                      t.singleCoreM, t.singleCoreN, t.singleCoreK);
        }
        if (t.baseM % 16 != 0 || t.baseN % 16 != 0 || t.baseM <= 0 || t.baseN <= 0 || t.baseK <= 0) {
            cpu::Fail(circLoc, "Matmul::Init", "TCubeTiling baseM=%d baseN=%d baseK=%d: baseM and baseN must be positive "
                      "multiples of 16, baseK positive", t.baseM, t.baseN, t.baseK);
        }
        tiling_ = t;
        orgM_ = t.M;
        orgN_ = t.N;
        orgKa_ = t.Ka;
        orgKb_ = t.Kb;
        orgKc_ = 0;
        tailM_ = t.singleCoreM;
        tailN_ = t.singleCoreN;
        tailK_ = t.singleCoreK;
        hasBias_ = t.isBias != 0;
        inited_ = true;
    }

    void SetOrgShape(int orgM, int orgN, int orgK) { SetOrgShape(orgM, orgN, orgK, orgK, 0); }
    void SetOrgShape(int orgM, int orgN, int orgKa, int orgKb, int orgKc = 0) {
        orgM_ = orgM;
        orgN_ = orgN;
        orgKa_ = orgKa;
        orgKb_ = orgKb;
        orgKc_ = orgKc;
    }
    void SetSingleShape(int singleM, int singleN, int singleK) { SetTail(singleM, singleN, singleK); }
    void SetTail(int tailM = -1, int tailN = -1, int tailK = -1) {
        if (tailM > 0) tailM_ = tailM;
        if (tailN > 0) tailN_ = tailN;
        if (tailK > 0) tailK_ = tailK;
    }

    void SetTensorA(const GlobalTensor<SrcAT>& gm, bool isTransposeA = false, CIRC_LOC) {
        if (isTransposeA && !A_TYPE::isTrans) {
            cpu::Fail(circLoc, "Matmul::SetTensorA",
                      "isTransposeA=true needs MatmulType<..., ISTRANS=true> for A (the NPU computes wrong results "
                      "otherwise)");
        }
        a_ = gm;
        transA_ = isTransposeA;
        hasA_ = true;
    }
    void SetTensorB(const GlobalTensor<SrcBT>& gm, bool isTransposeB = false, CIRC_LOC) {
        if (isTransposeB && !B_TYPE::isTrans) {
            cpu::Fail(circLoc, "Matmul::SetTensorB",
                      "isTransposeB=true needs MatmulType<..., ISTRANS=true> for B (the NPU computes wrong results "
                      "otherwise)");
        }
        b_ = gm;
        transB_ = isTransposeB;
        hasB_ = true;
    }
    void SetBias(const GlobalTensor<BiasT>& biasGlobal) {
        bias_ = biasGlobal;
        hasBias_ = true;
        biasSet_ = true;
    }
    void ClearBias() { hasBias_ = false; }
    void DisableBias() { hasBias_ = false; }
    template <class T>
    void SetWorkspace(GlobalTensor<T>&) {}
    template <class T>
    void SetWorkspace(__gm__ const T*, int) {}
    void SetLocalWorkspace(const LocalTensor<uint8_t>&) {}

    // C[singleCoreM x singleCoreN] (+)= A[singleCoreM x singleCoreK] * B[singleCoreK x singleCoreN] (+ bias)
    template <bool sync = true>
    void IterateAll(const GlobalTensor<DstT>& gm, uint8_t enAtomic = 0, bool enSequentialWrite = false,
                    bool waitIterateAll = false, bool fakeMsg = false, CIRC_LOC) {
        (void)waitIterateAll;
        const char* api = "Matmul::IterateAll";
        cpu::Tick();
        if (fakeMsg) return;
        if (!inited_) cpu::Fail(circLoc, api, "the Matmul object has no tiling: REGIST_MATMUL_OBJ(..., &tiling) or Init");
        if (cpu::Cfg().mode == KernelMode::AIV_MODE) {
            cpu::Fail(circLoc, api, "Matmul needs a cube core, but the kernel runs in KernelMode::AIV_MODE");
        }
        if (!hasA_ || !hasB_) cpu::Fail(circLoc, api, "SetTensorA and SetTensorB must come before IterateAll");
        if (hasBias_ && !biasSet_) cpu::Fail(circLoc, api, "the tiling has isBias=1 but SetBias was not called");
        if (enAtomic > 1) cpu::Fail(circLoc, api, "enAtomic=%u: only 0 (write) and 1 (add) are implemented", enAtomic);
        if (enSequentialWrite) cpu::Fail(circLoc, api, "enSequentialWrite is not implemented by circ's CPU layer");
        cpu::PinBlasThreads();
        int64_t m = tailM_, n = tailN_, k = tailK_;
        if (m > orgM_ || n > orgN_ || k > orgKa_) {
            cpu::Fail(circLoc, api, "single-core shape %lldx%lldx%lld exceeds the original shape M=%d N=%d K=%d",
                      (long long)m, (long long)n, (long long)k, orgM_, orgN_, orgKa_);
        }
        int64_t lda = transA_ ? orgM_ : orgKa_;
        int64_t ldb = transB_ ? orgKb_ : orgN_;
        int64_t ldc = orgKc_ > 0 ? orgKc_ : orgN_;
        // extent of each operand in GM (elements), checked against its GlobalTensor
        int64_t spanA = transA_ ? (k - 1) * lda + m : (m - 1) * lda + k;
        int64_t spanB = transB_ ? (n - 1) * ldb + k : (k - 1) * ldb + n;
        int64_t spanC = (m - 1) * ldc + n;
        a_.Check(0, spanA, circLoc, "Matmul::IterateAll (A)");
        b_.Check(0, spanB, circLoc, "Matmul::IterateAll (B)");
        gm.Check(0, spanC, circLoc, "Matmul::IterateAll (C)");
        if (hasBias_) bias_.Check(0, n, circLoc, "Matmul::IterateAll (bias)");

        const float* pa;
        const float* pb;
        int64_t la = lda, lb = ldb;
        std::vector<float> wa, wb, wc;
        if constexpr (std::is_same<SrcAT, float>::value) {
            pa = a_.address_;
            pb = b_.address_;
        } else {
            int64_t ar = transA_ ? k : m, ac = transA_ ? m : k;
            int64_t br = transB_ ? n : k, bc = transB_ ? k : n;
            wa.resize(ar * ac);
            wb.resize(br * bc);
            cpu::Widen(wa.data(), a_.address_, ar, ac, lda);
            cpu::Widen(wb.data(), b_.address_, br, bc, ldb);
            pa = wa.data();
            pb = wb.data();
            la = ac;
            lb = bc;
        }
        float* pc;
        int64_t lc;
        float beta = 0.0f;
        if constexpr (std::is_same<DstT, float>::value) {
            pc = gm.address_;
            lc = ldc;
            if (enAtomic == 1) beta = 1.0f;
        } else {
            wc.resize(m * n);
            pc = wc.data();
            lc = n;
            if (enAtomic == 1) {
                for (int64_t i = 0; i < m; ++i)
                    for (int64_t j = 0; j < n; ++j) pc[i * n + j] = static_cast<float>(gm.address_[i * ldc + j]);
                beta = 1.0f;
            }
        }
        if (hasBias_) {  // C (+)= bias broadcast over rows, then the product accumulates on top
            for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j) {
                    float bv = static_cast<float>(bias_.address_[j]);
                    pc[i * lc + j] = beta != 0.0f ? pc[i * lc + j] + bv : bv;
                }
            beta = 1.0f;
        }
        scipy_cblas_sgemm(101, transA_ ? 112 : 111, transB_ ? 112 : 111, static_cast<int>(m), static_cast<int>(n),
                          static_cast<int>(k), 1.0f, pa, static_cast<int>(la), pb, static_cast<int>(lb), beta, pc,
                          static_cast<int>(lc));
        if constexpr (!std::is_same<DstT, float>::value) {
            for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j) gm.address_[i * ldc + j] = DstT(pc[i * n + j]);
        }
    }

    void End() {}

    // circ internals
    TCubeTiling tiling_{};

private:
    bool inited_ = false, hasA_ = false, hasB_ = false, hasBias_ = false, biasSet_ = false;
    bool transA_ = false, transB_ = false;
    int orgM_ = 0, orgN_ = 0, orgKa_ = 0, orgKb_ = 0, orgKc_ = 0;
    int tailM_ = 0, tailN_ = 0, tailK_ = 0;
    GlobalTensor<SrcAT> a_;
    GlobalTensor<SrcBT> b_;
    GlobalTensor<BiasT> bias_;
};

namespace cpu {
template <class MM>
inline void RegistMatmul(TPipe* pipe, const void* workspace, MM& mm) {
    (void)pipe;
    (void)workspace;
    (void)mm;
}
template <class MM, class... Rest>
inline void RegistMatmul(TPipe* pipe, const void* workspace, MM& mm, const TCubeTiling* tiling, Rest&&... rest) {
    if (tiling != nullptr) mm.Init(tiling, pipe);
    if constexpr (sizeof...(Rest) > 0) RegistMatmul(pipe, workspace, rest...);
}
}  // namespace cpu

}  // namespace AscendC

namespace matmul = AscendC;

using AscendC::tiling::TCubeTiling;

// REGIST_MATMUL_OBJ(&pipe, workspace, mm1, &tiling1[, mm2, &tiling2 ...]): bind tilings.
#define REGIST_MATMUL_OBJ(tpipe, workspace, ...) ::AscendC::cpu::RegistMatmul((tpipe), (workspace), __VA_ARGS__)
#define REGIST_CUBE_OBJ REGIST_MATMUL_OBJ
