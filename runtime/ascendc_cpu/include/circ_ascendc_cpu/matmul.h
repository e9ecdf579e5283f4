// circ's AscendC CPU layer — the Matmul high-level API (IterateAll to GM), computed by OpenBLAS
// sgemm (the scipy-openblas32 wheel), or with a constant operand prepacked (packed_gemm.h): half / bfloat16_t inputs are widened to float and
// accumulated in float, as the cube unit accumulates fp16 products in fp32.
//
// Link with `circ ascendc-cpu --libs` (OpenBLAS "as needed": only programs that instantiate
// Matmul load it; the thread-count functions are weak references).
#pragma once

#include "datacopy.h"
#include "packed_gemm.h"

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
    static_assert(A_TYPE::pos == TPosition::GM && B_TYPE::pos == TPosition::GM,
                  "Matmul on circ's CPU layer: A and B must be in TPosition::GM");
    static constexpr bool kCInUb = C_TYPE::pos == TPosition::VECIN || C_TYPE::pos == TPosition::VECCALC ||
                                   C_TYPE::pos == TPosition::VECOUT;
    static_assert(C_TYPE::pos == TPosition::GM || kCInUb,
                  "Matmul on circ's CPU layer: C must be in TPosition::GM or in the UB (VECIN/VECCALC/VECOUT)");

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
    // The GM space where the asynchronous Iterate<false> caches C blocks (needed before it).
    template <class T>
    void SetWorkspace(GlobalTensor<T>& workspace) {
        workspaceBytes_ = workspace.sized_ ? workspace.bufferSize_ * sizeof(T) : UINT64_MAX;
    }
    template <class T>
    void SetWorkspace(__gm__ const T*, int size) {
        workspaceBytes_ = static_cast<uint64_t>(size);
    }
    void SetLocalWorkspace(const LocalTensor<uint8_t>&) {}

    // C[singleCoreM x singleCoreN] (+)= A[singleCoreM x singleCoreK] * B[singleCoreK x singleCoreN] (+ bias)
    template <bool sync = true>
    void IterateAll(const GlobalTensor<DstT>& gm, uint8_t enAtomic = 0, bool enSequentialWrite = false,
                    bool waitIterateAll = false, bool fakeMsg = false, CIRC_LOC) {
        (void)waitIterateAll;
        static_assert(C_TYPE::pos == TPosition::GM, "Matmul::IterateAll(GlobalTensor) needs C in TPosition::GM");
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
        bool packed = false;  // a constant operand (a runtime's weight): multiplied prepacked
        if constexpr (std::is_same<SrcAT, float>::value) {
            packed = cpu::PackedGemm(transA_, transB_, m, n, k, pa, la, pb, lb, beta, pc, lc);
        }
        if (!packed) {
            scipy_cblas_sgemm(101, transA_ ? 112 : 111, transB_ ? 112 : 111, static_cast<int>(m), static_cast<int>(n),
                              static_cast<int>(k), 1.0f, pa, static_cast<int>(la), pb, static_cast<int>(lb), beta, pc,
                              static_cast<int>(lc));
        }
        if constexpr (!std::is_same<DstT, float>::value) {
            for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j) gm.address_[i * ldc + j] = DstT(pc[i * n + j]);
        }
    }

    // ---- one baseM x baseN block at a time -----------------------------------------------------
    // Iterate computes the next block of this core's C (M first, then N; N first with tiling
    // iterateOrder 1; tails at the end of each axis are smaller) and returns false when all
    // blocks are done; GetTensorC hands the block out.
    // Iterate<false> (asynchronous) computes every block of the core at once into the workspace
    // (SetWorkspace first); each GetTensorC<false> then takes the next block in iteration order.
    template <bool sync = true>
    bool Iterate(bool enPartialSum = false, CIRC_LOC) {
        const char* api = "Matmul::Iterate";
        cpu::Tick();
        if constexpr (!sync) {
            if (async_) {
                async_ = false;
                iter_ = -1;
                return false;
            }
            Start(circLoc, api);
            uint64_t need = static_cast<uint64_t>(tailM_) * tailN_ * sizeof(DstT);
            if (workspaceBytes_ < need) {
                cpu::Fail(circLoc, api,
                          workspaceBytes_ == 0
                              ? "Iterate<false> caches C in a workspace: call SetWorkspace before it"
                              : "the workspace has %llu bytes, but Iterate<false> caches %llu bytes of C",
                          (unsigned long long)workspaceBytes_, (unsigned long long)need);
            }
            async_ = true;
            asyncBlocks_.clear();
            while (Next(enPartialSum)) asyncBlocks_.push_back(Block{blkM0_, blkN0_, blkM_, blkN_, blk_});
            asyncNext_ = 0;
            haveBlock_ = false;
            return true;
        }
        if (iter_ < 0) Start(circLoc, api);
        return Next(enPartialSum);
    }

private:
    bool Next(bool enPartialSum) {
        if (iter_ >= iterCount_) {
            iter_ = -1;  // the next Iterate starts over
            return false;
        }
        int64_t mBlocks = cpu::DivCeil(tailM_, tiling_.baseM), nBlocks = cpu::DivCeil(tailN_, tiling_.baseN);
        bool nFirst = tiling_.iterateOrder == 1;
        int64_t mi = nFirst ? iter_ / nBlocks : iter_ % mBlocks;
        int64_t ni = nFirst ? iter_ % nBlocks : iter_ / mBlocks;
        ++iter_;
        blkM0_ = mi * tiling_.baseM;
        blkN0_ = ni * tiling_.baseN;
        blkM_ = std::min<int64_t>(tiling_.baseM, tailM_ - blkM0_);
        blkN_ = std::min<int64_t>(tiling_.baseN, tailN_ - blkN0_);
        std::vector<float> fresh(static_cast<size_t>(blkM_ * blkN_));
        Product(blkM0_, blkN0_, blkM_, blkN_, fresh.data());
        if (enPartialSum && blk_.size() == fresh.size()) {
            for (size_t i = 0; i < fresh.size(); ++i) blk_[i] += fresh[i];
        } else {
            blk_.swap(fresh);
        }
        haveBlock_ = true;
        return true;
    }

public:
    // The block to the UB (row stride baseN; the tensor must hold baseM * baseN elements).
    template <bool sync = true, bool doPad = false>
    void GetTensorC(const LocalTensor<DstT>& c, uint8_t enAtomic = 0, bool enSequentialWrite = false,
                    uint32_t height = 0, uint32_t width = 0, uint32_t srcGap = 0, uint32_t dstGap = 0, CIRC_LOC) {
        static_assert(kCInUb, "Matmul::GetTensorC(LocalTensor) needs C in TPosition::VECIN/VECCALC/VECOUT");
        (void)enSequentialWrite, (void)height, (void)width, (void)srcGap, (void)dstGap;
        const char* api = "Matmul::GetTensorC";
        if constexpr (!sync) TakeAsync(circLoc, api);
        BlockCheck(enAtomic, circLoc, api);
        uint64_t need = static_cast<uint64_t>(tiling_.baseM) * tiling_.baseN;
        cpu::CheckLive(c.desc_, "the C tensor", circLoc, api);
        if (cpu::DescHw(c.desc_) != cpu::Hw::UB) {
            cpu::Fail(circLoc, api, "the C tensor is at TPosition::%s, not in the UB",
                      cpu::PosName(static_cast<TPosition>(c.desc_.pos)));
        }
        if (c.desc_.addr % 32 != 0) cpu::Fail(circLoc, api, "the C tensor starts at UB byte %u, not 32-byte aligned", c.desc_.addr);
        if (c.GetSize() < need) {
            cpu::Fail(circLoc, api, "the C tensor holds %u elements, less than baseM * baseN = %llu", c.GetSize(),
                      (unsigned long long)need);
        }
        WriteBlock(c.Ptr(), tiling_.baseN, enAtomic);
    }

    // The block to GM: at its place in C (row stride N), or with enSequentialWrite packed at
    // the start of gm (row stride baseN).
    template <bool sync = true>
    void GetTensorC(const GlobalTensor<DstT>& gm, uint8_t enAtomic = 0, bool enSequentialWrite = false, CIRC_LOC) {
        static_assert(C_TYPE::pos == TPosition::GM, "Matmul::GetTensorC(GlobalTensor) needs C in TPosition::GM");
        const char* api = "Matmul::GetTensorC";
        if constexpr (!sync) TakeAsync(circLoc, api);
        BlockCheck(enAtomic, circLoc, api);
        int64_t ld = enSequentialWrite ? tiling_.baseN : (orgKc_ > 0 ? orgKc_ : orgN_);
        int64_t off = enSequentialWrite ? 0 : blkM0_ * ld + blkN0_;
        gm.Check(off, (blkM_ - 1) * ld + blkN_, circLoc, api);
        WriteBlock(gm.address_ + off, ld, enAtomic);
    }

    void End() {
        iter_ = -1;
        async_ = false;
    }

    // circ internals
    TCubeTiling tiling_{};

    void TakeAsync(const cpu::Loc& loc, const char* api) {
        if (!async_) cpu::Fail(loc, api, "GetTensorC<false> needs the asynchronous Iterate<false> first");
        if (asyncNext_ >= asyncBlocks_.size()) {
            cpu::Fail(loc, api, "all %zu blocks of C were taken already", asyncBlocks_.size());
        }
        Block& b = asyncBlocks_[asyncNext_++];
        blkM0_ = b.m0;
        blkN0_ = b.n0;
        blkM_ = b.m;
        blkN_ = b.n;
        blk_ = b.data;
        haveBlock_ = true;
    }

    void Start(const cpu::Loc& loc, const char* api) {
        if (!inited_) cpu::Fail(loc, api, "the Matmul object has no tiling: REGIST_MATMUL_OBJ(..., &tiling) or Init");
        if (cpu::Cfg().mode == KernelMode::AIV_MODE) {
            cpu::Fail(loc, api, "Matmul needs a cube core, but the kernel runs in KernelMode::AIV_MODE");
        }
        if (!hasA_ || !hasB_) cpu::Fail(loc, api, "SetTensorA and SetTensorB must come before Iterate");
        if (hasBias_ && !biasSet_) cpu::Fail(loc, api, "the tiling has isBias=1 but SetBias was not called");
        if (tailM_ > orgM_ || tailN_ > orgN_ || tailK_ > orgKa_) {
            cpu::Fail(loc, api, "single-core shape %dx%dx%d exceeds the original shape M=%d N=%d K=%d", tailM_, tailN_,
                      tailK_, orgM_, orgN_, orgKa_);
        }
        int64_t lda = transA_ ? orgM_ : orgKa_, ldb = transB_ ? orgKb_ : orgN_;
        a_.Check(0, transA_ ? (tailK_ - 1) * lda + tailM_ : (tailM_ - 1) * lda + tailK_, loc, "Matmul::Iterate (A)");
        b_.Check(0, transB_ ? (tailN_ - 1) * ldb + tailK_ : (tailK_ - 1) * ldb + tailN_, loc, "Matmul::Iterate (B)");
        if (hasBias_) bias_.Check(0, tailN_, loc, "Matmul::Iterate (bias)");
        cpu::PinBlasThreads();
        iterCount_ = cpu::DivCeil(tailM_, tiling_.baseM) * cpu::DivCeil(tailN_, tiling_.baseN);
        iter_ = 0;
        haveBlock_ = false;
    }

    // out[mm x nn] = A[m0.., :k] * B[:k, n0..] (+ bias[n0..]), in float.
    void Product(int64_t m0, int64_t n0, int64_t mm, int64_t nn, float* out) {
        int64_t k = tailK_;
        int64_t lda = transA_ ? orgM_ : orgKa_, ldb = transB_ ? orgKb_ : orgN_;
        std::vector<float> wa(static_cast<size_t>(mm * k)), wb(static_cast<size_t>(k * nn));
        for (int64_t i = 0; i < mm; ++i)
            for (int64_t kk = 0; kk < k; ++kk)
                wa[i * k + kk] = static_cast<float>(transA_ ? a_.address_[kk * lda + m0 + i] : a_.address_[(m0 + i) * lda + kk]);
        for (int64_t kk = 0; kk < k; ++kk)
            for (int64_t j = 0; j < nn; ++j)
                wb[kk * nn + j] = static_cast<float>(transB_ ? b_.address_[(n0 + j) * ldb + kk] : b_.address_[kk * ldb + n0 + j]);
        float beta = 0.0f;
        if (hasBias_) {
            for (int64_t i = 0; i < mm; ++i)
                for (int64_t j = 0; j < nn; ++j) out[i * nn + j] = static_cast<float>(bias_.address_[n0 + j]);
            beta = 1.0f;
        }
        scipy_cblas_sgemm(101, 111, 111, static_cast<int>(mm), static_cast<int>(nn), static_cast<int>(k), 1.0f,
                          wa.data(), static_cast<int>(k), wb.data(), static_cast<int>(nn), beta, out, static_cast<int>(nn));
    }

    void BlockCheck(uint8_t enAtomic, const cpu::Loc& loc, const char* api) const {
        cpu::Tick();
        if (!haveBlock_) cpu::Fail(loc, api, "no block to get: call Iterate first (and only while it returns true)");
        if (enAtomic > 1) cpu::Fail(loc, api, "enAtomic=%u: only 0 (write) and 1 (add) are implemented", enAtomic);
    }

    void WriteBlock(DstT* p, int64_t ld, uint8_t enAtomic) const {
        for (int64_t i = 0; i < blkM_; ++i)
            for (int64_t j = 0; j < blkN_; ++j) {
                float v = blk_[i * blkN_ + j];
                if (enAtomic == 1) v += static_cast<float>(p[i * ld + j]);
                p[i * ld + j] = DstT(v);
            }
    }

    struct Block {
        int64_t m0, n0, m, n;
        std::vector<float> data;
    };
    bool async_ = false;
    size_t asyncNext_ = 0;
    std::vector<Block> asyncBlocks_;
    uint64_t workspaceBytes_ = 0;
    int64_t iter_ = -1, iterCount_ = 0;
    int64_t blkM0_ = 0, blkN0_ = 0, blkM_ = 0, blkN_ = 0;
    bool haveBlock_ = false;
    std::vector<float> blk_;
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
