// circ's AscendC CPU layer — the SoftMax high-level API (ND format) and its tiling struct.
//
// For each of the m rows of k elements (k·sizeof(T) a multiple of 32): max, e = exp(x - max),
// sum, dst = e / sum, computed in float (half rounds once at the end) with the vector unit's
// Exp and a per-repeat tree sum; sumTensor / maxTensor get each row's value repeated over one
// 32-byte block. Padding columns (oriSrcK < srcK) take part in the row, as the documentation
// warns: pad them with the row's minimum (or -inf) on the way in.
#pragma once

#include "reduce.h"

namespace AscendC {
namespace tiling {
struct SoftMaxTiling {
    uint32_t srcM = 0;
    uint32_t srcK = 0;
    uint32_t srcSize = 0;
    uint32_t outMaxM = 0;
    uint32_t outMaxK = 0;
    uint32_t outMaxSize = 0;
    uint32_t splitM = 0;
    uint32_t splitK = 0;
    uint32_t splitSize = 0;
    uint32_t reduceM = 0;
    uint32_t reduceK = 0;
    uint32_t reduceSize = 0;
    uint32_t rangeM = 0;
    uint32_t tailM = 0;
    uint32_t tailSplitSize = 0;
    uint32_t tailReduceSize = 0;
};
}  // namespace tiling
using tiling::SoftMaxTiling;

struct SoftMaxShapeInfo {
    uint32_t srcM = 0;
    uint32_t srcK = 0;
    uint32_t oriSrcM = 0;
    uint32_t oriSrcK = 0;
};

struct SoftmaxConfig {
    bool isCheckTiling = true;
    uint32_t oriSrcM = 0;
    uint32_t oriSrcK = 0;
};
inline constexpr SoftmaxConfig SOFTMAX_DEFAULT_CFG = {true, 0, 0};

namespace cpu {

// Sum of n floats as the vector unit adds them: a tree within each 64-lane repeat, repeats in order.
inline float RepeatSum(const float* v, int64_t n) {
    float sums[16];
    float total = 0.0f;
    int64_t i = 0;
    for (; n - i >= 64 * 16; i += 64 * 16) {  // full repeats through the vector tree, 16 at a time
        TreeSum64Many(v + i, 16, sums);
        for (float x : sums) total += x;
    }
    if (int64_t full = (n - i) / 64) {
        TreeSum64Many(v + i, full, sums);
        for (int64_t r = 0; r < full; ++r) total += sums[r];
        i += 64 * full;
    }
    if (i < n) total += TreeSum(v + i, n - i);
    return total;
}

// The m x k tile a SoftMax-family call works on: SoftMaxShapeInfo's, else the tiling's; rows
// of a whole number of 32-byte blocks.
template <typename T>
inline void SoftMaxShape(const SoftMaxTiling& tiling, const SoftMaxShapeInfo& shape, const Loc& loc, const char* api,
                         int64_t& m, int64_t& k) {
    m = shape.srcM != 0 ? shape.srcM : tiling.srcM;
    k = shape.srcK != 0 ? shape.srcK : tiling.srcK;
    if (m <= 0 || k <= 0) Fail(loc, api, "the shape is %lld x %lld: set SoftMaxShapeInfo or the tiling's srcM/srcK",
                               (long long)m, (long long)k);
    if ((k * sizeof(T)) % 32 != 0) {
        Fail(loc, api, "srcK %lld x sizeof(%s) is not a multiple of 32 bytes", (long long)k, TypeName<T>::Get());
    }
}

template <typename T, typename S>
inline void SoftMaxRows(const LocalTensor<T>& dst, const LocalTensor<S>* sum, const LocalTensor<S>* max,
                        const LocalTensor<T>& src, const LocalTensor<uint8_t>* tmp, const SoftMaxTiling& tiling,
                        const SoftMaxShapeInfo& shape, const Loc& loc) {
    static_assert(OneOf<T, half, float>::value && OneOf<S, half, float>::value, "SoftMax: T must be half or float");
    const char* api = "SoftMax";
    VectorEntry(loc, api);
    int64_t m, k;
    SoftMaxShape<T>(tiling, shape, loc, api, m, k);
    const T* ps = VecOperand(src, m * k, "srcTensor", loc, api);
    T* pd = VecOperand(dst, m * k, "dstTensor", loc, api);
    NoPartialOverlap(pd, m * k, ps, m * k, "srcTensor", loc, api);
    constexpr int64_t blk = 32 / sizeof(S);
    S* psum = sum ? VecOperand(*sum, m * blk, "sumTensor", loc, api) : nullptr;
    S* pmax = max ? VecOperand(*max, m * blk, "maxTensor", loc, api) : nullptr;
    if (tmp != nullptr) {
        CheckLive(tmp->desc_, "sharedTmpBuffer", loc, api);
        const uint8_t* t = tmp->desc_.base + tmp->desc_.addr;
        for (const uint8_t* o : {reinterpret_cast<const uint8_t*>(ps), reinterpret_cast<const uint8_t*>(pd)}) {
            if (t < o + m * k * sizeof(T) && o < t + tmp->desc_.len) {
                Fail(loc, api, "sharedTmpBuffer overlaps srcTensor or dstTensor");
            }
        }
    }
    std::vector<float> row(static_cast<size_t>(k)), e(static_cast<size_t>(k));
    for (int64_t r = 0; r < m; ++r) {
        float mx = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < k; ++j) {
            row[j] = AsF(ps[r * k + j]);
            mx = row[j] > mx ? row[j] : mx;
        }
        for (int64_t j = 0; j < k; ++j) row[j] -= mx;
        Map1F(e.data(), row.data(), k, ExpOp());
        float s = RepeatSum(e.data(), k);
        for (int64_t j = 0; j < k; ++j) pd[r * k + j] = T(e[j] / s);
        for (int64_t j = 0; j < blk; ++j) {
            if (psum) psum[r * blk + j] = S(s);
            if (pmax) pmax[r * blk + j] = S(mx);
        }
    }
}

// e^(x - c), the vector unit's Exp after a Sub of the row's max.
struct ExpShiftOp {
    float c;
    __attribute__((always_inline)) void operator()(V4f& o, const V4f& a) const { ExpT(o, a - c); }
#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
    __attribute__((target("avx2,fma"), always_inline)) void operator()(V8f& o, const V8f& a) const {
        ExpFma(o, a - c);
    }
#endif
};

// SoftmaxFlashV2 (FlashAttention-2's online softmax) over m rows of k elements, in float:
// M = max(inMax, rowmax(x)) (update) or rowmax(x); dst = e^(x - M); S = e^(inMax - M) * inSum +
// rowsum(dst) (update) or rowsum(dst); expMax = e^(inMax - M) (update only). The statistics
// are [m, 32 / sizeof(T)]: each row's value repeated over one 32-byte block (inputs read from
// the block's first element). dst may be src itself; every other operand must be disjoint.
template <typename T, bool isUpdate>
inline void SoftmaxFlashV2Rows(const LocalTensor<T>& dst, const LocalTensor<T>& expSum, const LocalTensor<T>& max,
                               const LocalTensor<T>& src, const LocalTensor<T>& expMax,
                               const LocalTensor<T>& inExpSum, const LocalTensor<T>& inMax,
                               const SoftMaxTiling& tiling, const SoftMaxShapeInfo& shape, const Loc& loc) {
    static_assert(OneOf<T, half, float>::value, "SoftmaxFlashV2: T must be half or float");
    const char* api = "SoftmaxFlashV2";
    VectorEntry(loc, api);
    int64_t m, k;
    SoftMaxShape<T>(tiling, shape, loc, api, m, k);
    if (shape.oriSrcK != 0 && shape.oriSrcK != k) {
        Fail(loc, api, "oriSrcK %u differs from srcK %lld: padded columns are not implemented by circ's CPU layer",
             shape.oriSrcK, (long long)k);
    }
    constexpr int64_t blk = 32 / sizeof(T);
    const T* ps = VecOperand(src, m * k, "srcTensor", loc, api);
    T* pd = VecOperand(dst, m * k, "dstTensor", loc, api);
    NoPartialOverlap(pd, m * k, ps, m * k, "srcTensor", loc, api);
    T* psum = VecOperand(expSum, m * blk, "expSumTensor", loc, api);
    T* pmax = VecOperand(max, m * blk, "maxTensor", loc, api);
    T* pem = isUpdate ? VecOperand(expMax, m * blk, "expMaxTensor", loc, api) : nullptr;
    const T* pis = isUpdate ? VecOperand(inExpSum, m * blk, "inExpSumTensor", loc, api) : nullptr;
    const T* pim = isUpdate ? VecOperand(inMax, m * blk, "inMaxTensor", loc, api) : nullptr;
    struct Span {
        const void* p;
        int64_t bytes;
        const char* name;
    };
    const Span spans[] = {{pd, m * k * (int64_t)sizeof(T), "dstTensor"}, {psum, m * blk * (int64_t)sizeof(T), "expSumTensor"},
                          {pmax, m * blk * (int64_t)sizeof(T), "maxTensor"},
                          {pem, pem ? m * blk * (int64_t)sizeof(T) : 0, "expMaxTensor"},
                          {pis, pis ? m * blk * (int64_t)sizeof(T) : 0, "inExpSumTensor"},
                          {pim, pim ? m * blk * (int64_t)sizeof(T) : 0, "inMaxTensor"}};
    for (size_t a = 0; a < 6; ++a)
        for (size_t b = a + 1; b < 6; ++b) {
            auto* x = static_cast<const uint8_t*>(spans[a].p);
            auto* y = static_cast<const uint8_t*>(spans[b].p);
            if (x && y && x < y + spans[b].bytes && y < x + spans[a].bytes) {
                Fail(loc, api, "%s and %s overlap: they must be disjoint", spans[a].name, spans[b].name);
            }
        }
    static thread_local std::vector<float> rowBuf;  // reused: no allocation a call
    rowBuf.resize(static_cast<size_t>(k));
    float* row = rowBuf.data();
    for (int64_t r = 0; r < m; ++r) {
        const T* x = ps + r * k;
        float acc[4] = {AsF(x[0]), AsF(x[0]), AsF(x[0]), AsF(x[0])};
        for (int64_t j = 0; j < k; j += 4)  // k is a multiple of 8 (32 bytes)
            for (int q = 0; q < 4; ++q) {
                float v = AsF(x[j + q]);
                acc[q] = v > acc[q] ? v : acc[q];
            }
        float mx = acc[0];
        for (int q = 1; q < 4; ++q) mx = acc[q] > mx ? acc[q] : mx;
        float alpha = 0.0f, base = 0.0f;
        if constexpr (isUpdate) {
            float old = AsF(pim[r * blk]);
            mx = old > mx ? old : mx;
            V4f d = V4f{} + (old - mx), e;  // the vector unit's Exp, as the rows get
            ExpT(e, d);
            alpha = e[0];
            base = alpha * AsF(pis[r * blk]);
        }
        float s;
        if constexpr (std::is_same<T, float>::value) {
            Map1F(pd + r * k, x, k, ExpShiftOp{mx});
            s = RepeatSum(pd + r * k, k);
        } else {
            for (int64_t j = 0; j < k; ++j) row[j] = AsF(x[j]);
            Map1F(row, row, k, ExpShiftOp{mx});
            for (int64_t j = 0; j < k; ++j) {
                pd[r * k + j] = T(row[j]);
                row[j] = AsF(pd[r * k + j]);
            }
            s = RepeatSum(row, k);
        }
        for (int64_t j = 0; j < blk; ++j) {
            pmax[r * blk + j] = T(mx);
            psum[r * blk + j] = T(base + s);
            if constexpr (isUpdate) pem[r * blk + j] = T(alpha);
        }
    }
}

}  // namespace cpu

template <typename T, bool isUpdate = false, bool isReuseSource = false, bool isBasicBlock = false,
          bool isDataFormatNZ = false, const SoftmaxConfig& config = SOFTMAX_DEFAULT_CFG>
inline void SoftmaxFlashV2(const LocalTensor<T>& dstTensor, const LocalTensor<T>& expSumTensor,
                           const LocalTensor<T>& maxTensor, const LocalTensor<T>& srcTensor,
                           const LocalTensor<T>& expMaxTensor, const LocalTensor<T>& inExpSumTensor,
                           const LocalTensor<T>& inMaxTensor, const SoftMaxTiling& tiling,
                           const SoftMaxShapeInfo& softmaxShapeInfo = {}, CIRC_LOC) {
    static_assert(!isDataFormatNZ, "SoftmaxFlashV2 on circ's CPU layer: only the ND format is implemented");
    cpu::SoftmaxFlashV2Rows<T, isUpdate>(dstTensor, expSumTensor, maxTensor, srcTensor, expMaxTensor, inExpSumTensor,
                                         inMaxTensor, tiling, softmaxShapeInfo, circLoc);
}

#define CIRC_SOFTMAX_TEMPLATE                                                                          \
    template <typename T, bool isReuseSource = false, bool isBasicBlock = false, bool isDataFormatNZ = false, \
              const SoftmaxConfig& config = SOFTMAX_DEFAULT_CFG>
#define CIRC_SOFTMAX_ND static_assert(!isDataFormatNZ, "SoftMax on circ's CPU layer: only the ND format is implemented")

CIRC_SOFTMAX_TEMPLATE
inline void SoftMax(const LocalTensor<T>& dstTensor, const LocalTensor<T>& sumTensor, const LocalTensor<T>& maxTensor,
                    const LocalTensor<T>& srcTensor, const SoftMaxTiling& tiling,
                    const SoftMaxShapeInfo& softmaxShapeInfo = {}, CIRC_LOC) {
    CIRC_SOFTMAX_ND;
    cpu::SoftMaxRows<T, T>(dstTensor, &sumTensor, &maxTensor, srcTensor, nullptr, tiling, softmaxShapeInfo, circLoc);
}
CIRC_SOFTMAX_TEMPLATE
inline void SoftMax(const LocalTensor<half>& dstTensor, const LocalTensor<float>& sumTensor,
                    const LocalTensor<float>& maxTensor, const LocalTensor<half>& srcTensor, const SoftMaxTiling& tiling,
                    const SoftMaxShapeInfo& softmaxShapeInfo = {}, CIRC_LOC) {
    CIRC_SOFTMAX_ND;
    cpu::SoftMaxRows<half, float>(dstTensor, &sumTensor, &maxTensor, srcTensor, nullptr, tiling, softmaxShapeInfo,
                                  circLoc);
}
CIRC_SOFTMAX_TEMPLATE
inline void SoftMax(const LocalTensor<T>& dstTensor, const LocalTensor<T>& sumTensor, const LocalTensor<T>& maxTensor,
                    const LocalTensor<T>& srcTensor, const LocalTensor<uint8_t>& sharedTmpBuffer,
                    const SoftMaxTiling& tiling, const SoftMaxShapeInfo& softmaxShapeInfo = {}, CIRC_LOC) {
    CIRC_SOFTMAX_ND;
    cpu::SoftMaxRows<T, T>(dstTensor, &sumTensor, &maxTensor, srcTensor, &sharedTmpBuffer, tiling, softmaxShapeInfo,
                           circLoc);
}
CIRC_SOFTMAX_TEMPLATE
inline void SoftMax(const LocalTensor<half>& dstTensor, const LocalTensor<float>& sumTensor,
                    const LocalTensor<float>& maxTensor, const LocalTensor<half>& srcTensor,
                    const LocalTensor<uint8_t>& sharedTmpBuffer, const SoftMaxTiling& tiling,
                    const SoftMaxShapeInfo& softmaxShapeInfo = {}, CIRC_LOC) {
    CIRC_SOFTMAX_ND;
    cpu::SoftMaxRows<half, float>(dstTensor, &sumTensor, &maxTensor, srcTensor, &sharedTmpBuffer, tiling,
                                  softmaxShapeInfo, circLoc);
}
// Without sumTensor / maxTensor.
CIRC_SOFTMAX_TEMPLATE
inline void SoftMax(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor, const SoftMaxTiling& tiling,
                    const SoftMaxShapeInfo& softmaxShapeInfo = {}, CIRC_LOC) {
    CIRC_SOFTMAX_ND;
    cpu::SoftMaxRows<T, T>(dstTensor, nullptr, nullptr, srcTensor, nullptr, tiling, softmaxShapeInfo, circLoc);
}
CIRC_SOFTMAX_TEMPLATE
inline void SoftMax(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor,
                    const LocalTensor<uint8_t>& sharedTmpBuffer, const SoftMaxTiling& tiling,
                    const SoftMaxShapeInfo& softmaxShapeInfo = {}, CIRC_LOC) {
    CIRC_SOFTMAX_ND;
    cpu::SoftMaxRows<T, T>(dstTensor, nullptr, nullptr, srcTensor, &sharedTmpBuffer, tiling, softmaxShapeInfo, circLoc);
}
#undef CIRC_SOFTMAX_TEMPLATE
#undef CIRC_SOFTMAX_ND

}  // namespace AscendC

using AscendC::tiling::SoftMaxTiling;
