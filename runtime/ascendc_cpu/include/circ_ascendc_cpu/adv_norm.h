// circ's AscendC CPU layer — the LayerNorm high-level API for [B, S, H] inputs and its tiling.
//
// Per row of H: mean = sum(x / h), variance = sum((x - mean)^2 / h) over the first
// originalHLength elements (h; hLength when 0), computed in float with the vector unit's
// per-repeat tree sums; y = (x - mean) / sqrt(variance + epsilon) * gamma + beta over all
// hLength columns. outputMean / outputVariance hold B * S values.
#pragma once

#include "adv_softmax.h"

namespace AscendC {
namespace tiling {
struct LayerNormTiling {
    uint32_t bLength = 0;
    uint32_t sLength = 0;
    uint32_t hLength = 0;
    uint32_t originalHLength = 0;
    uint32_t inputXSize = 0;
    uint32_t meanVarSize = 0;
    uint32_t numberOfTmpBuf = 0;
    uint32_t meanTmpTensorPos = 0;
    uint32_t meanTmpTensorSize = 0;
    uint32_t varianceTmpTensorPos = 0;
    uint32_t varianceTmpTensorSize = 0;
    uint32_t tmpBufSize = 0;
    uint32_t oneTmpSize = 0;
    uint32_t firstTmpStartPos = 0;
    uint32_t secondTmpStartPos = 0;
    uint32_t thirdTmpStartPos = 0;
    uint32_t loopRound = 0;
    uint32_t inputRoundSize = 0;
    uint32_t inputTailSize = 0;
    uint32_t inputTailPos = 0;
    uint32_t meanVarRoundSize = 0;
    uint32_t meanVarTailSize = 0;
    uint32_t meanVarTailPos = 0;
    uint32_t bshCurLength = 0;
    uint32_t bsCurLength = 0;
    float lastDimValueBack = 0.0f;
};
}  // namespace tiling
using tiling::LayerNormTiling;

namespace cpu {
template <typename T>
inline void LayerNormRows(const LocalTensor<T>& out, const LocalTensor<T>& mean, const LocalTensor<T>& var,
                          const LocalTensor<T>& x, const LocalTensor<T>& gamma, const LocalTensor<T>& beta,
                          const LocalTensor<uint8_t>* tmp, float eps, const LayerNormTiling& t, const Loc& loc) {
    static_assert(OneOf<T, half, float>::value, "LayerNorm: T must be half or float");
    const char* api = "LayerNorm";
    VectorEntry(loc, api);
    int64_t rows = static_cast<int64_t>(t.bLength) * t.sLength, hp = t.hLength;
    int64_t h = t.originalHLength != 0 ? t.originalHLength : t.hLength;
    if (rows <= 0 || hp <= 0 || h > hp) {
        Fail(loc, api, "tiling bLength=%u sLength=%u hLength=%u originalHLength=%u: B, S, H must be positive and "
             "originalHLength <= hLength", t.bLength, t.sLength, t.hLength, t.originalHLength);
    }
    if ((hp * sizeof(T)) % 32 != 0) Fail(loc, api, "hLength %lld x sizeof(%s) is not a multiple of 32 bytes", (long long)hp, TypeName<T>::Get());
    const T* px = VecOperand(x, rows * hp, "inputX", loc, api);
    const T* pg = VecOperand(gamma, hp, "gamma", loc, api);
    const T* pb = VecOperand(beta, hp, "beta", loc, api);
    T* po = VecOperand(out, rows * hp, "output", loc, api);
    T* pm = VecOperand(mean, rows, "outputMean", loc, api);
    T* pv = VecOperand(var, rows, "outputVariance", loc, api);
    NoPartialOverlap(po, rows * hp, px, rows * hp, "inputX", loc, api);
    if (tmp != nullptr) CheckLive(tmp->desc_, "sharedTmpBuffer", loc, api);
    std::vector<float> v(static_cast<size_t>(hp));
    float inv = 1.0f / static_cast<float>(h);
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t j = 0; j < h; ++j) v[j] = AsF(px[r * hp + j]) * inv;
        float mu = RepeatSum(v.data(), h);
        for (int64_t j = 0; j < h; ++j) {
            float d = AsF(px[r * hp + j]) - mu;
            v[j] = d * d * inv;
        }
        float va = RepeatSum(v.data(), h);
        float rs = 1.0f / std::sqrt(va + eps);
        for (int64_t j = 0; j < hp; ++j) po[r * hp + j] = T((AsF(px[r * hp + j]) - mu) * rs * AsF(pg[j]) + AsF(pb[j]));
        pm[r] = T(mu);
        pv[r] = T(va);
    }
}
}  // namespace cpu

template <typename T, bool isReuseSource = false>
inline void LayerNorm(const LocalTensor<T>& output, const LocalTensor<T>& outputMean, const LocalTensor<T>& outputVariance,
                      const LocalTensor<T>& inputX, const LocalTensor<T>& gamma, const LocalTensor<T>& beta,
                      const LocalTensor<uint8_t>& sharedTmpBuffer, const T epsilon, LayerNormTiling& tiling, CIRC_LOC) {
    cpu::LayerNormRows(output, outputMean, outputVariance, inputX, gamma, beta, &sharedTmpBuffer, cpu::AsF(epsilon),
                       tiling, circLoc);
}
template <typename T, bool isReuseSource = false>
inline void LayerNorm(const LocalTensor<T>& output, const LocalTensor<T>& outputMean, const LocalTensor<T>& outputVariance,
                      const LocalTensor<T>& inputX, const LocalTensor<T>& gamma, const LocalTensor<T>& beta,
                      const T epsilon, LayerNormTiling& tiling, CIRC_LOC) {
    cpu::LayerNormRows(output, outputMean, outputVariance, inputX, gamma, beta, nullptr, cpu::AsF(epsilon), tiling,
                       circLoc);
}

}  // namespace AscendC

using AscendC::tiling::LayerNormTiling;
