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
    float total = 0.0f;
    for (int64_t i = 0; i < n; i += 64) total += TreeSum(v + i, std::min<int64_t>(64, n - i));
    return total;
}

template <typename T, typename S>
inline void SoftMaxRows(const LocalTensor<T>& dst, const LocalTensor<S>* sum, const LocalTensor<S>* max,
                        const LocalTensor<T>& src, const LocalTensor<uint8_t>* tmp, const SoftMaxTiling& tiling,
                        const SoftMaxShapeInfo& shape, const Loc& loc) {
    static_assert(OneOf<T, half, float>::value && OneOf<S, half, float>::value, "SoftMax: T must be half or float");
    const char* api = "SoftMax";
    VectorEntry(loc, api);
    int64_t m = shape.srcM != 0 ? shape.srcM : tiling.srcM;
    int64_t k = shape.srcK != 0 ? shape.srcK : tiling.srcK;
    if (m <= 0 || k <= 0) Fail(loc, api, "the shape is %lld x %lld: set SoftMaxShapeInfo or the tiling's srcM/srcK",
                               (long long)m, (long long)k);
    if ((k * sizeof(T)) % 32 != 0) {
        Fail(loc, api, "srcK %lld x sizeof(%s) is not a multiple of 32 bytes", (long long)k, TypeName<T>::Get());
    }
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

}  // namespace cpu

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
