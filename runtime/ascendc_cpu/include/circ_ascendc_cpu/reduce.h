// circ's AscendC CPU layer — reductions: ReduceSum / ReduceMax / ReduceMin (count form, result
// in dst[0]) and the per-repeat WholeReduceSum / WholeReduceMax / WholeReduceMin.
#pragma once

#include "vector.h"

namespace AscendC {
// ---- reductions (count form; result in dst[0]) -----------------------------------------------------
namespace cpu {

// Sum of one 256-byte repeat by a binary tree (as the vector unit adds within a repeat).
inline float TreeSum(const float* v, int64_t m) {
    float buf[128];
    int64_t w = 1;
    while (w < m) w <<= 1;
    for (int64_t k = 0; k < w; ++k) buf[k] = k < m ? v[k] : 0.0f;
    while (w > 1) {
        w >>= 1;
        for (int64_t k = 0; k < w; ++k) buf[k] += buf[k + w];
    }
    return buf[0];
}

// The same tree for a full float repeat (64 elements), four or eight lanes at a time (the
// additions and their order are those of TreeSum).
inline float TreeSum64Sse(const float* p) {
    V4f v[16];
    for (int k = 0; k < 16; ++k) LdV(v[k], p + 4 * k);
    for (int k = 0; k < 8; ++k) v[k] += v[k + 8];
    for (int k = 0; k < 4; ++k) v[k] += v[k + 4];
    for (int k = 0; k < 2; ++k) v[k] += v[k + 2];
    V4f w = v[0] + v[1];
    return (w[0] + w[2]) + (w[1] + w[3]);
}
#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
// Sums of consecutive full repeats; out[r] = tree sum of p[64 r, 64 r + 64).
__attribute__((target("avx2,fma"))) inline void TreeSum64Avx2(const float* p, int64_t reps, float* out) {
    typedef int32_t V8i __attribute__((vector_size(32)));
    for (int64_t r = 0; r < reps; ++r) {
        const float* q = p + 64 * r;
        V8f v0, v1, v2, v3, v4, v5, v6, v7;
        LdV(v0, q);
        LdV(v1, q + 8);
        LdV(v2, q + 16);
        LdV(v3, q + 24);
        LdV(v4, q + 32);
        LdV(v5, q + 40);
        LdV(v6, q + 48);
        LdV(v7, q + 56);
        v0 += v4;
        v1 += v5;
        v2 += v6;
        v3 += v7;
        v0 += v2;
        v1 += v3;
        V8f w = v0 + v1;
        // lanes: (w0+w4, w1+w5, ..), then ((w0+w4)+(w2+w6), (w1+w5)+(w3+w7)), then their sum
        V8f a = w + __builtin_shuffle(w, V8i{4, 5, 6, 7, 4, 5, 6, 7});
        V8f b = a + __builtin_shuffle(a, V8i{2, 3, 2, 3, 2, 3, 2, 3});
        V8f c = b + __builtin_shuffle(b, V8i{1, 1, 1, 1, 1, 1, 1, 1});
        out[r] = c[0];
    }
}
#endif
inline void TreeSum64Many(const float* p, int64_t reps, float* out) {
#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
    if (HasAvx2()) return TreeSum64Avx2(p, reps, out);
#endif
    for (int64_t r = 0; r < reps; ++r) out[r] = TreeSum64Sse(p + 64 * r);
}

template <typename T>
inline void ReduceCheck(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& work, int64_t count,
                        int64_t dstCount, bool needWork, const Loc& loc, const char* api, T*& pd, const T*& ps,
                        T*& pw) {
    ps = VecOperand(src, count, "src", loc, api);
    pd = VecOperand(dst, dstCount, "dst", loc, api, sizeof(T));
    pw = nullptr;
    if (!needWork) return;
    CheckLive(work.desc_, "sharedTmpBuffer", loc, api);
    const uint8_t* wb = work.desc_.base + work.desc_.addr;
    const uint8_t* sb = reinterpret_cast<const uint8_t*>(ps);
    if (wb >= sb && wb < sb + count * sizeof(T)) {  // reusing src's space: always big enough
        pw = const_cast<T*>(reinterpret_cast<const T*>(wb));
        return;
    }
    pw = VecOperand(work, 0, "sharedTmpBuffer", loc, api);
    (void)dst;
}

// Elements the documentation asks sharedTmpBuffer to hold (ReduceMax/ReduceMin count form).
template <typename T>
inline int64_t MaxWorkNeedReps(int64_t first, bool calIndex) {
    int64_t perBlock = 32 / sizeof(T), perRepeat = 256 / sizeof(T);
    int64_t out1 = first * 2;
    int64_t end1 = DivCeil(out1, perBlock) * perBlock;
    if (!calIndex) return end1;
    int64_t start2 = end1;
    int64_t out2 = DivCeil(out1, perRepeat) * 2;
    int64_t end2 = DivCeil(out2, perBlock) * perBlock;
    int64_t need = start2 + end2;
    if (out2 > 2) {
        int64_t out3 = DivCeil(out2, perRepeat) * 2;
        int64_t end3 = DivCeil(out3, perBlock) * perBlock;
        need = start2 + end2 + end3;
    }
    return need;
}
template <typename T>
inline int64_t MaxWorkNeed(int64_t count, bool calIndex) {
    return MaxWorkNeedReps<T>(std::max<int64_t>(1, count / (256 / sizeof(T))), calIndex);
}

// The register GetReduceMaxMinCount reads: the extreme of the last ReduceMax / ReduceMin /
// WholeReduceMax / WholeReduceMin and its index over the whole run (repeat * lanes + lane).
inline void SetMaxMinReg(float v, uint64_t idx) {
    BlockState& b = Block();
    b.maxMinValue = v;
    b.maxMinIndex = static_cast<uint32_t>(idx);
    b.maxMinSet = true;
}

template <typename T>
inline void StoreIndex(T* slot, uint32_t idx) {
    if constexpr (sizeof(T) == 2) {
        uint16_t v = static_cast<uint16_t>(idx);
        std::memcpy(slot, &v, 2);
    } else {
        std::memcpy(slot, &idx, 4);
    }
}

template <typename T, bool kMax>
inline void ReduceExtreme(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& work,
                          int64_t count, bool calIndex, const Loc& loc, const char* api) {
    static_assert(OneOf<T, half, float>::value, "ReduceMax/ReduceMin: T must be half or float");
    if (!CountOk(count, loc, api)) return;
    T *pd, *pw;
    const T* ps;
    ReduceCheck(dst, src, work, count, calIndex ? 2 : 1, true, loc, api, pd, ps, pw);
    int64_t need = MaxWorkNeed<T>(count, calIndex);
    const uint8_t* wb = work.desc_.base + work.desc_.addr;
    const uint8_t* sb = reinterpret_cast<const uint8_t*>(ps);
    bool inSrc = wb >= sb && wb < sb + count * sizeof(T);
    if (!inSrc && work.GetSize() < need) {
        Fail(loc, api, "sharedTmpBuffer holds %u elements, but %s of %lld elements%s needs %lld", work.GetSize(), api,
             (long long)count, calIndex ? " with calIndex" : "", (long long)need);
    }
    int64_t perRepeat = 256 / sizeof(T);
    int64_t best = 0;
    float bv = AsF(ps[0]);
    // first round: per-repeat (value, index) pairs, as the hardware leaves them in the work space
    int64_t reps = DivCeil(count, perRepeat);
    static thread_local std::vector<std::pair<float, int64_t>> round1;  // reused: no allocation a call
    round1.resize(static_cast<size_t>(reps));
    for (int64_t r = 0; r < reps; ++r) {
        int64_t lo = r * perRepeat, hi = std::min(count, lo + perRepeat);
        // the repeat's extreme (the first element wins over NaNs and ties, as below), then its
        // first position: two branch-free passes instead of one that tracks the index
        float v = AsF(ps[lo]);
        if (v == v) {
            float acc[4] = {v, v, v, v};
            int64_t i = lo + 1;
            for (; i + 4 <= hi; i += 4)
                for (int j = 0; j < 4; ++j) {
                    float x = AsF(ps[i + j]);
                    acc[j] = (kMax ? (x > acc[j]) : (x < acc[j])) ? x : acc[j];
                }
            for (; i < hi; ++i) {
                float x = AsF(ps[i]);
                acc[0] = (kMax ? (x > acc[0]) : (x < acc[0])) ? x : acc[0];
            }
            v = acc[0];
            for (int j = 1; j < 4; ++j) v = (kMax ? (acc[j] > v) : (acc[j] < v)) ? acc[j] : v;
        }
        int64_t bi = lo;
        if (v == v) {
            while (AsF(ps[bi]) != v) ++bi;
            v = AsF(ps[bi]);  // the first of the equal values (+0 / -0)
        }
        round1[r] = {v, bi};
        if (r == 0 || (kMax ? (v > bv) : (v < bv))) {
            bv = v;
            best = bi;
        }
    }
    if (!inSrc) {  // the intermediate values land in sharedTmpBuffer (do not rely on its content)
        int64_t n = std::min<int64_t>(reps, work.GetSize() / 2);
        for (int64_t r = 0; r < n; ++r) {
            pw[2 * r] = T(round1[r].first);
            StoreIndex(pw + 2 * r + 1, static_cast<uint32_t>(round1[r].second - r * perRepeat));
        }
    }
    pd[0] = T(bv);
    if (calIndex) StoreIndex(pd + 1, static_cast<uint32_t>(best));
    SetMaxMinReg(bv, best);
}

}  // namespace cpu

template <typename T, bool isSetMask = true>
inline void ReduceSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& sharedTmpBuffer,
                      const int32_t count, CIRC_LOC) {
    static_assert(cpu::OneOf<T, half, float>::value, "ReduceSum: T must be half or float");
    const char* api = "ReduceSum";
    if (!cpu::CountOk(count, circLoc, api)) return;
    // arch 220 (A2) sums the count form repeat by repeat and needs no sharedTmpBuffer; arch 200
    // keeps the per-repeat sums in it (DivCeil(count / perRepeat, perBlock) blocks).
    bool a2 = cpu::Cfg().arch == 220;
    T *pd, *pw;
    const T* ps;
    cpu::ReduceCheck(dst, src, sharedTmpBuffer, count, 1, !a2, circLoc, api, pd, ps, pw);
    int64_t perRepeat = 256 / sizeof(T), perBlock = 32 / sizeof(T);
    int64_t reps = cpu::DivCeil(count, perRepeat);
    if (!a2) {
        int64_t need = cpu::DivCeil(std::max<int64_t>(1, count / perRepeat), perBlock) * perBlock;
        if (sharedTmpBuffer.GetSize() < need && pw != ps) {
            cpu::Fail(circLoc, api, "sharedTmpBuffer holds %u elements, but ReduceSum of %d elements needs %lld",
                      sharedTmpBuffer.GetSize(), count, (long long)need);
        }
    }
    float total = 0.0f;
    float tmp[128];
    float parts[64];
    for (int64_t r = 0; r < reps; ++r) {
        int64_t lo = r * perRepeat, m = std::min<int64_t>(perRepeat, count - lo);
        float part;
        if constexpr (std::is_same<T, float>::value) {
            if (m == 64) {
                if (r % 64 == 0) cpu::TreeSum64Many(ps + lo, std::min<int64_t>(64, count / 64 - r), parts);
                part = parts[r % 64];
            } else {
                part = cpu::TreeSum(ps + lo, m);
            }
        } else {
            for (int64_t k = 0; k < m; ++k) tmp[k] = cpu::AsF(ps[lo + k]);
            part = cpu::TreeSum(tmp, m);
        }
        if (!a2 && pw != nullptr && r < static_cast<int64_t>(sharedTmpBuffer.GetSize())) pw[r] = T(part);
        total += part;
    }
    pd[0] = T(total);
}

template <typename T>
inline void ReduceMax(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& sharedTmpBuffer,
                      const int32_t count, bool calIndex = 0, CIRC_LOC) {
    cpu::ReduceExtreme<T, true>(dst, src, sharedTmpBuffer, count, calIndex, circLoc, "ReduceMax");
}

template <typename T>
inline void ReduceMin(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& sharedTmpBuffer,
                      const int32_t count, bool calIndex = 0, CIRC_LOC) {
    cpu::ReduceExtreme<T, false>(dst, src, sharedTmpBuffer, count, calIndex, circLoc, "ReduceMin");
}


// ---- per-repeat reductions (repeat form): one result per repeat ---------------------------------------
enum class ReduceOrder : uint8_t { ORDER_VALUE_INDEX = 0, ORDER_INDEX_VALUE, ORDER_ONLY_VALUE, ORDER_ONLY_INDEX };

namespace cpu {

// WholeReduceMax / WholeReduceMin: the extreme of each repeat's active lanes and its lane
// number (the first one on ties); dstRepStride counts results (a value/index pair is two
// elements of T; ORDER_ONLY_INDEX writes uint32_t indices).
template <bool isSetMask, bool kMax, typename T>
inline void WholeExtreme(const LocalTensor<T>& dst, const LocalTensor<T>& src, const MaskArg& mask, int64_t repeatTimes,
                         int32_t dstRepStride, int32_t srcBlkStride, int32_t srcRepStride, ReduceOrder order,
                         const Loc& loc, const char* api) {
    static_assert(OneOf<T, half, float>::value, "WholeReduceMax/WholeReduceMin: T must be half or float");
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    if (dstRepStride < 0 || srcBlkStride < 0 || srcRepStride < 0) Fail(loc, api, "strides must not be negative");
    Stride ss{static_cast<uint32_t>(srcBlkStride), static_cast<uint32_t>(srcRepStride)};
    T* ps = RepOperand(src, ss, ln, "src", loc, api);
    bool pair = order == ReduceOrder::ORDER_VALUE_INDEX || order == ReduceOrder::ORDER_INDEX_VALUE;
    bool onlyIndex = order == ReduceOrder::ORDER_ONLY_INDEX;
    uint32_t unit = pair ? 2 * sizeof(T) : (onlyIndex ? 4 : sizeof(T));  // bytes of one result
    uint64_t need = ln.repeats == 0 ? 0 : (ln.repeats - 1) * static_cast<uint64_t>(dstRepStride) * unit + unit;
    uint8_t* pd = reinterpret_cast<uint8_t*>(VecOperand(dst, 0, "dst", loc, api, pair ? 2 * sizeof(T) : sizeof(T)));
    if (need > dst.desc_.len) {
        Fail(loc, api, "dst holds %u bytes, but %lld repeats with dstRepStride %d write %llu", dst.desc_.len,
             (long long)ln.repeats, dstRepStride, (unsigned long long)need);
    }
    int idx[L];
    bool any = false;
    float allBest = 0.0f;
    uint64_t allIdx = 0;
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        if (n == 0) continue;
        int best = idx[0];
        float bv = AsF(LaneAt(ps, ss, r, idx[0]));
        for (int k = 1; k < n; ++k) {
            float v = AsF(LaneAt(ps, ss, r, idx[k]));
            if (kMax ? v > bv : v < bv) {
                bv = v;
                best = idx[k];
            }
        }
        if (!any || (kMax ? bv > allBest : bv < allBest)) {
            any = true;
            allBest = bv;
            allIdx = static_cast<uint64_t>(r) * L + best;
        }
        uint8_t* out = pd + r * static_cast<uint64_t>(dstRepStride) * unit;
        T value = T(bv);
        if (onlyIndex) {
            uint32_t i32 = static_cast<uint32_t>(best);
            std::memcpy(out, &i32, 4);
        } else if (!pair) {
            std::memcpy(out, &value, sizeof(T));
        } else {
            bool valueFirst = order == ReduceOrder::ORDER_VALUE_INDEX;
            std::memcpy(out + (valueFirst ? 0 : sizeof(T)), &value, sizeof(T));
            StoreIndex(reinterpret_cast<T*>(out + (valueFirst ? sizeof(T) : 0)), static_cast<uint32_t>(best));
        }
    }
    if (any) SetMaxMinReg(static_cast<float>(T(allBest)), allIdx);
}

// WholeReduceSum: the sum of each repeat's active lanes, a binary tree over the repeat's lanes
// (inactive lanes add 0); half sums in float and rounds once.
template <bool isSetMask, typename T>
inline void WholeSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, const MaskArg& mask, int64_t repeatTimes,
                     int32_t dstRepStride, int32_t srcBlkStride, int32_t srcRepStride, const Loc& loc) {
    static_assert(OneOf<T, half, float>::value, "WholeReduceSum: T must be half or float");
    const char* api = "WholeReduceSum";
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    if (dstRepStride < 0 || srcBlkStride < 0 || srcRepStride < 0) Fail(loc, api, "strides must not be negative");
    Stride ss{static_cast<uint32_t>(srcBlkStride), static_cast<uint32_t>(srcRepStride)};
    T* ps = RepOperand(src, ss, ln, "src", loc, api);
    int64_t need = ln.repeats == 0 ? 0 : (ln.repeats - 1) * static_cast<int64_t>(dstRepStride) + 1;
    T* pd = VecOperand(dst, need, "dst", loc, api, sizeof(T));
    int idx[L];
    float lanes[L];
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        for (int e = 0; e < L; ++e) lanes[e] = 0.0f;
        for (int k = 0; k < n; ++k) lanes[idx[k]] = AsF(LaneAt(ps, ss, r, idx[k]));
        pd[r * static_cast<int64_t>(dstRepStride)] = T(TreeSum(lanes, L));
    }
}

}  // namespace cpu

#define CIRC_WHOLE_EXTREME(NAME, KMAX)                                                                             \
    template <typename T, bool isSetMask = true>                                                                   \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const uint64_t mask[],                  \
                     const int32_t repeatTimes, const int32_t dstRepStride, const int32_t srcBlkStride,            \
                     const int32_t srcRepStride, ReduceOrder order = ReduceOrder::ORDER_VALUE_INDEX, CIRC_LOC) {   \
        cpu::WholeExtreme<isSetMask, KMAX>(dst, src, cpu::MaskOf(mask), repeatTimes, dstRepStride, srcBlkStride,   \
                                           srcRepStride, order, circLoc, #NAME);                                   \
    }                                                                                                              \
    template <typename T, bool isSetMask = true>                                                                   \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t mask,                     \
                     const int32_t repeatTimes, const int32_t dstRepStride, const int32_t srcBlkStride,            \
                     const int32_t srcRepStride, ReduceOrder order = ReduceOrder::ORDER_VALUE_INDEX, CIRC_LOC) {   \
        cpu::WholeExtreme<isSetMask, KMAX>(dst, src, cpu::MaskOf(static_cast<uint64_t>(mask)), repeatTimes,        \
                                           dstRepStride, srcBlkStride, srcRepStride, order, circLoc, #NAME);       \
    }
CIRC_WHOLE_EXTREME(WholeReduceMax, true)
CIRC_WHOLE_EXTREME(WholeReduceMin, false)
#undef CIRC_WHOLE_EXTREME

template <typename T, bool isSetMask = true>
inline void WholeReduceSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, const uint64_t mask[],
                           const int32_t repeatTimes, const int32_t dstRepStride, const int32_t srcBlkStride,
                           const int32_t srcRepStride, CIRC_LOC) {
    cpu::WholeSum<isSetMask>(dst, src, cpu::MaskOf(mask), repeatTimes, dstRepStride, srcBlkStride, srcRepStride, circLoc);
}
template <typename T, bool isSetMask = true>
inline void WholeReduceSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t mask,
                           const int32_t repeatTimes, const int32_t dstRepStride, const int32_t srcBlkStride,
                           const int32_t srcRepStride, CIRC_LOC) {
    cpu::WholeSum<isSetMask>(dst, src, cpu::MaskOf(static_cast<uint64_t>(mask)), repeatTimes, dstRepStride,
                             srcBlkStride, srcRepStride, circLoc);
}

// ---- per-DataBlock reductions: BlockReduceSum / BlockReduceMax / BlockReduceMin -----------------------
// Each repeat reduces its 8 DataBlocks to 8 consecutive results (dstRepStride counts repeats'
// results, 8 elements); a block with no active lane writes nothing.
namespace cpu {
enum class BlockReduceKind { kSum, kMax, kMin };

template <bool isSetMask, BlockReduceKind kKind, typename T>
inline void BlockReduce(const LocalTensor<T>& dst, const LocalTensor<T>& src, int64_t repeatTimes, const MaskArg& mask,
                        int32_t dstRepStride, int32_t srcBlkStride, int32_t srcRepStride, const Loc& loc,
                        const char* api) {
    static_assert(OneOf<T, half, float>::value, "BlockReduceSum/Max/Min: T must be half or float");
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T)), perBlock = 32 / sizeof(T);
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    if (dstRepStride < 0 || srcBlkStride < 0 || srcRepStride < 0) Fail(loc, api, "strides must not be negative");
    Stride ss{static_cast<uint32_t>(srcBlkStride), static_cast<uint32_t>(srcRepStride)};
    T* ps = RepOperand(src, ss, ln, "src", loc, api);
    int64_t need = ln.repeats == 0 ? 0 : (ln.repeats - 1) * static_cast<int64_t>(dstRepStride) * 8 + 8;
    T* pd = VecOperand(dst, 0, "dst", loc, api, sizeof(T));
    int idx[L];
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        float vals[8][perBlock];
        int count[8] = {};
        for (int k = 0; k < n; ++k) {
            int b = idx[k] / perBlock;
            vals[b][count[b]++] = AsF(LaneAt(ps, ss, r, idx[k]));
        }
        for (int b = 0; b < 8; ++b) {
            if (count[b] == 0) continue;
            int64_t at = r * static_cast<int64_t>(dstRepStride) * 8 + b;
            if (at >= static_cast<int64_t>(dst.GetSize())) {
                Fail(loc, api, "dst holds %u elements, but repeat %lld writes element %lld (%lld needed in all)",
                     dst.GetSize(), (long long)r, (long long)at, (long long)need);
            }
            float v = vals[b][0];
            if (kKind == BlockReduceKind::kSum) {
                v = TreeSum(vals[b], count[b]);
            } else {
                for (int k = 1; k < count[b]; ++k)
                    v = (kKind == BlockReduceKind::kMax) ? (vals[b][k] > v ? vals[b][k] : v) : (vals[b][k] < v ? vals[b][k] : v);
            }
            pd[at] = T(v);
        }
    }
}
}  // namespace cpu

#define CIRC_BLOCK_REDUCE(NAME, KIND)                                                                              \
    template <typename T, bool isSetMask = true>                                                                   \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t repeatTimes,              \
                     const uint64_t mask[], const int32_t dstRepStride, const int32_t srcBlkStride,                \
                     const int32_t srcRepStride, CIRC_LOC) {                                                       \
        cpu::BlockReduce<isSetMask, KIND>(dst, src, repeatTimes, cpu::MaskOf(mask), dstRepStride, srcBlkStride,    \
                                          srcRepStride, circLoc, #NAME);                                           \
    }                                                                                                              \
    template <typename T, bool isSetMask = true>                                                                   \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t repeatTimes,              \
                     const int32_t mask, const int32_t dstRepStride, const int32_t srcBlkStride,                   \
                     const int32_t srcRepStride, CIRC_LOC) {                                                       \
        cpu::BlockReduce<isSetMask, KIND>(dst, src, repeatTimes, cpu::MaskOf(static_cast<uint64_t>(mask)),         \
                                          dstRepStride, srcBlkStride, srcRepStride, circLoc, #NAME);               \
    }
CIRC_BLOCK_REDUCE(BlockReduceSum, cpu::BlockReduceKind::kSum)
CIRC_BLOCK_REDUCE(BlockReduceMax, cpu::BlockReduceKind::kMax)
CIRC_BLOCK_REDUCE(BlockReduceMin, cpu::BlockReduceKind::kMin)
#undef CIRC_BLOCK_REDUCE


// ---- ReduceSum / ReduceMax / ReduceMin, mask forms (mask + repeatTime + srcRepStride) -------------------
// The first round reduces each repeat's active lanes (blocks of a repeat contiguous, repeats
// srcRepStride blocks apart; repeatTime may exceed 255); later rounds reduce the per-repeat
// results 256 bytes at a time until one is left, each round's results stored as T in
// sharedTmpBuffer. ReduceSum adds by a binary tree within each repeat and within each later
// round (inactive lanes add 0); ReduceMax / ReduceMin report the index repeat * (256 / sizeof(T))
// + lane of the first extreme.
namespace cpu {

// The lanes of a reduction with a repeat count beyond 255 (the rest as CurrentLanes).
inline LaneSet ReduceLanes(int lanes, int64_t repeatTimes, const Loc& loc, const char* api) {
    if (repeatTimes < 0) Fail(loc, api, "repeatTime %lld is negative", (long long)repeatTimes);
    LaneSet l = CurrentLanes(lanes, 1, loc, api);
    if (!l.counter && l.repeats != 0) l.repeats = repeatTimes;
    return l;
}

template <typename T>
inline T* ReduceWork(const LocalTensor<T>& work, int64_t need, const Loc& loc, const char* api, const char* what) {
    T* pw = VecOperand(work, 0, "sharedTmpBuffer", loc, api);
    if (static_cast<int64_t>(work.GetSize()) < need) {
        Fail(loc, api, "sharedTmpBuffer holds %u elements, but %s needs %lld", work.GetSize(), what, (long long)need);
    }
    return pw;
}

template <bool isSetMask, typename T>
inline void ReduceSumMask(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& work,
                          const MaskArg& mask, int64_t repeatTimes, int32_t srcRepStride, const Loc& loc) {
    static_assert(OneOf<T, half, float>::value, "ReduceSum: T must be half or float");
    const char* api = "ReduceSum";
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T)), perBlock = 32 / sizeof(T);
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = ReduceLanes(L, repeatTimes, loc, api);
    if (srcRepStride < 0) Fail(loc, api, "srcRepStride %d is negative", srcRepStride);
    Stride ss{1, static_cast<uint32_t>(srcRepStride)};
    T* ps = RepOperand(src, ss, ln, "src", loc, api);
    T* pd = VecOperand(dst, 1, "dst", loc, api, sizeof(T));
    int64_t reps = ln.repeats;
    char what[96];
    std::snprintf(what, sizeof(what), "ReduceSum of %lld repeats", (long long)reps);
    T* pw = ReduceWork(work, ::AscendC::DivCeil<int64_t>(std::max<int64_t>(reps, 1), perBlock) * perBlock, loc, api, what);
    if (reps == 0) return;
    std::vector<float> cur(static_cast<size_t>(reps));
    int idx[L];
    float lanes[L];
    for (int64_t r = 0; r < reps; ++r) {
        int n = ln.Active(r, idx);
        for (int e = 0; e < L; ++e) lanes[e] = 0.0f;
        for (int k = 0; k < n; ++k) lanes[idx[k]] = AsF(LaneAt(ps, ss, r, idx[k]));
        cur[r] = AsF(T(TreeSum(lanes, L)));
        if (r < static_cast<int64_t>(work.GetSize())) pw[r] = T(cur[r]);  // round 1 lands in sharedTmpBuffer
    }
    while (cur.size() > 1) {
        std::vector<float> next(::AscendC::DivCeil<size_t>(cur.size(), L));
        for (size_t g = 0; g < next.size(); ++g) {
            for (int e = 0; e < L; ++e) lanes[e] = g * L + e < cur.size() ? cur[g * L + e] : 0.0f;
            next[g] = AsF(T(TreeSum(lanes, L)));
        }
        cur.swap(next);
    }
    pd[0] = T(cur[0]);
}

template <bool isSetMask, bool kMax, typename T>
inline void ReduceExtremeMask(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& work,
                              const MaskArg& mask, int64_t repeatTimes, int32_t srcRepStride, bool calIndex,
                              const Loc& loc, const char* api) {
    static_assert(OneOf<T, half, float>::value, "ReduceMax/ReduceMin: T must be half or float");
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = ReduceLanes(L, repeatTimes, loc, api);
    if (srcRepStride < 0) Fail(loc, api, "srcRepStride %d is negative", srcRepStride);
    Stride ss{1, static_cast<uint32_t>(srcRepStride)};
    T* ps = RepOperand(src, ss, ln, "src", loc, api);
    T* pd = VecOperand(dst, calIndex ? 2 : 1, "dst", loc, api, 2 * sizeof(T));
    int64_t reps = ln.repeats;
    char what[112];
    std::snprintf(what, sizeof(what), "%s of %lld repeats%s", api, (long long)reps, calIndex ? " with calIndex" : "");
    T* pw = ReduceWork(work, MaxWorkNeedReps<T>(std::max<int64_t>(reps, 1), calIndex), loc, api, what);
    bool any = false;
    float bv = 0.0f;
    uint64_t best = 0;
    int idx[L];
    for (int64_t r = 0; r < reps; ++r) {
        int n = ln.Active(r, idx);
        float rv = 0.0f;
        int re = -1;
        for (int k = 0; k < n; ++k) {
            float v = AsF(LaneAt(ps, ss, r, idx[k]));
            if (re < 0 || (kMax ? v > rv : v < rv)) {
                rv = v;
                re = idx[k];
            }
        }
        if (re < 0) continue;
        if (2 * r + 1 < static_cast<int64_t>(work.GetSize())) {  // round 1's (value, index) pairs
            pw[2 * r] = T(rv);
            StoreIndex(pw + 2 * r + 1, static_cast<uint32_t>(re));
        }
        if (!any || (kMax ? rv > bv : rv < bv)) {
            any = true;
            bv = rv;
            best = static_cast<uint64_t>(r) * L + re;
        }
    }
    if (!any) return;
    pd[0] = T(bv);
    if (calIndex) StoreIndex(pd + 1, static_cast<uint32_t>(best));
    SetMaxMinReg(bv, best);
}

}  // namespace cpu

template <typename T, bool isSetMask = true>
inline void ReduceSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& sharedTmpBuffer,
                      const uint64_t mask[], const int32_t repeatTime, const int32_t srcRepStride, CIRC_LOC) {
    cpu::ReduceSumMask<isSetMask>(dst, src, sharedTmpBuffer, cpu::MaskOf(mask), repeatTime, srcRepStride, circLoc);
}
template <typename T, bool isSetMask = true>
inline void ReduceSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& sharedTmpBuffer,
                      const int32_t mask, const int32_t repeatTime, const int32_t srcRepStride, CIRC_LOC) {
    cpu::ReduceSumMask<isSetMask>(dst, src, sharedTmpBuffer, cpu::MaskOf(static_cast<uint64_t>(mask)), repeatTime,
                                  srcRepStride, circLoc);
}
#define CIRC_REDUCE_EXTREME_MASK(NAME, KMAX)                                                                      \
    template <typename T, bool isSetMask = true>                                                                  \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& sharedTmpBuffer, \
                     const uint64_t mask[], const int32_t repeatTime, const int32_t srcRepStride,                 \
                     bool calIndex = 0, CIRC_LOC) {                                                               \
        cpu::ReduceExtremeMask<isSetMask, KMAX>(dst, src, sharedTmpBuffer, cpu::MaskOf(mask), repeatTime,         \
                                                srcRepStride, calIndex, circLoc, #NAME);                          \
    }                                                                                                             \
    template <typename T, bool isSetMask = true>                                                                  \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<T>& sharedTmpBuffer, \
                     const int32_t mask, const int32_t repeatTime, const int32_t srcRepStride, bool calIndex = 0, \
                     CIRC_LOC) {                                                                                  \
        cpu::ReduceExtremeMask<isSetMask, KMAX>(dst, src, sharedTmpBuffer,                                        \
                                                cpu::MaskOf(static_cast<uint64_t>(mask)), repeatTime,             \
                                                srcRepStride, calIndex, circLoc, #NAME);                          \
    }
CIRC_REDUCE_EXTREME_MASK(ReduceMax, true)
CIRC_REDUCE_EXTREME_MASK(ReduceMin, false)
#undef CIRC_REDUCE_EXTREME_MASK

// GetReduceMaxMinCount(value, index): the extreme and its index that the last ReduceMax /
// ReduceMin / WholeReduceMax / WholeReduceMin left in the register; the index is stored in the
// bits of T (read it through an integer of sizeof(T) bytes). Arch 220 has only this prototype.
template <typename T>
inline void GetReduceMaxMinCount(T& maxMinValue, T& maxMinIndex, CIRC_LOC) {
    static_assert(cpu::OneOf<T, half, float>::value, "GetReduceMaxMinCount: T must be half or float");
    cpu::Tick();
    cpu::BlockState& b = cpu::Block();
    if (!b.maxMinSet) {
        cpu::Fail(circLoc, "GetReduceMaxMinCount",
                  "no ReduceMax / ReduceMin / WholeReduceMax / WholeReduceMin has run on this core yet");
    }
    maxMinValue = T(b.maxMinValue);
    cpu::StoreIndex(&maxMinIndex, b.maxMinIndex);
}
template <typename T, typename U = void>
inline void GetReduceMaxMinCount(T& maxMinValue, CIRC_LOC) {
    static_assert(!std::is_same<U, void>::value,
                  "GetReduceMaxMinCount(value) does not exist on arch 220: use GetReduceMaxMinCount(value, index)");
    (void)maxMinValue;
    (void)circLoc;
}

// ---- PairReduceSum: dst[k] = src[2k] + src[2k + 1] within each repeat -------------------------------------
// A repeat's (L / 2) sums land at dst + r * dstRepStride * 128 bytes; an inactive lane adds 0, a
// pair with no active lane is not written.
namespace cpu {
template <bool isSetMask, typename T>
inline void PairSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, int64_t repeatTimes, const MaskArg& mask,
                    int32_t dstRepStride, int32_t srcBlkStride, int32_t srcRepStride, const Loc& loc) {
    static_assert(OneOf<T, half, float>::value, "PairReduceSum: T must be half or float");
    const char* api = "PairReduceSum";
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    if (dstRepStride < 0 || srcBlkStride < 0 || srcRepStride < 0) Fail(loc, api, "strides must not be negative");
    Stride ss{static_cast<uint32_t>(srcBlkStride), static_cast<uint32_t>(srcRepStride)};
    T* ps = RepOperand(src, ss, ln, "src", loc, api);
    T* pd = VecOperand(dst, 0, "dst", loc, api);
    int idx[L];
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        float sums[L / 2];
        bool on[L / 2] = {};
        for (int k = 0; k < L / 2; ++k) sums[k] = 0.0f;
        for (int k = 0; k < n; ++k) {
            sums[idx[k] / 2] += AsF(LaneAt(ps, ss, r, idx[k]));
            on[idx[k] / 2] = true;
        }
        for (int k = 0; k < L / 2; ++k) {
            if (!on[k]) continue;
            int64_t at = r * static_cast<int64_t>(dstRepStride) * (L / 2) + k;
            if (at >= static_cast<int64_t>(dst.GetSize())) {
                Fail(loc, api, "dst holds %u elements, but repeat %lld writes element %lld", dst.GetSize(),
                     (long long)r, (long long)at);
            }
            pd[at] = T(sums[k]);
        }
    }
}
}  // namespace cpu

template <typename T, bool isSetMask = true>
inline void PairReduceSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t repeatTime,
                          const uint64_t mask[], const int32_t dstRepStride, const int32_t srcBlkStride,
                          const int32_t srcRepStride, CIRC_LOC) {
    cpu::PairSum<isSetMask>(dst, src, repeatTime, cpu::MaskOf(mask), dstRepStride, srcBlkStride, srcRepStride, circLoc);
}
template <typename T, bool isSetMask = true>
inline void PairReduceSum(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t repeatTime,
                          const int32_t mask, const int32_t dstRepStride, const int32_t srcBlkStride,
                          const int32_t srcRepStride, CIRC_LOC) {
    cpu::PairSum<isSetMask>(dst, src, repeatTime, cpu::MaskOf(static_cast<uint64_t>(mask)), dstRepStride, srcBlkStride,
                            srcRepStride, circLoc);
}

}  // namespace AscendC
