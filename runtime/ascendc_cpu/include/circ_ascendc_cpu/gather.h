// circ's AscendC CPU layer — Gather: dst[i] = the element of src at byte offset
// srcBaseAddr + srcOffset[i] (offsets in bytes, relative to src's start).
#pragma once

#include "vector.h"

#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
#include <immintrin.h>
#endif

namespace AscendC {
namespace cpu {

template <typename T>
inline T GatherOne(const LocalTensor<T>& src, const T* ps, uint32_t base, uint32_t offset, uint64_t i, const Loc& loc,
                   const char* api) {
    uint64_t byte = static_cast<uint64_t>(base) + offset;
    if (byte % sizeof(T) != 0) {
        Fail(loc, api, "srcOffset[%llu] = %u (+ srcBaseAddr %u) is not a multiple of sizeof(%s)", (unsigned long long)i,
             offset, base, TypeName<T>::Get());
    }
    if (byte + sizeof(T) > src.desc_.len) {
        Fail(loc, api, "srcOffset[%llu] = %u (+ srcBaseAddr %u) reads byte %llu of src, which has %u bytes",
             (unsigned long long)i, offset, base, (unsigned long long)byte, src.desc_.len);
    }
    T v;
    std::memcpy(&v, reinterpret_cast<const uint8_t*>(ps) + byte, sizeof(T));
    return v;
}

// Gather's count form, 8 elements at a time: where the 8 offsets are all equal (a broadcast,
// e.g. a per-row scalar spread over the row), the element is checked and read once (again only
// when the offset changes) and stored 8 times; other chunks and the tail go element by element.
// Each element of dst is the one GatherOne gives, and the first offset out of range or misaligned
// fails at its index, as element by element.
#define CIRC_GATHER_BODY(SAME8, SAME32)                                                          \
    uint32_t i = 0, off = 0;                                                                    \
    bool have = false;                                                                          \
    T pat[8];                                                                                   \
    while (i + 8 <= count) {                                                                    \
        const uint32_t o = po[i];                                                               \
        if (!SAME8(po + i, o)) {                                                                \
            for (uint32_t k = i; k < i + 8; ++k) pd[k] = GatherOne(src, ps, base, po[k], k, loc, api); \
            i += 8;                                                                             \
            continue;                                                                           \
        }                                                                                       \
        if (!have || o != off) {                                                                \
            const T v = GatherOne(src, ps, base, o, i, loc, api);                               \
            for (int k = 0; k < 8; ++k) pat[k] = v;                                             \
            off = o;                                                                            \
            have = true;                                                                        \
        }                                                                                       \
        std::memcpy(pd + i, pat, sizeof(pat));                                                  \
        i += 8;                                                                                 \
        for (; i + 32 <= count && SAME32(po + i, o); i += 32) /* the run goes on */             \
            for (int k = 0; k < 32; k += 8) std::memcpy(pd + i + k, pat, sizeof(pat));          \
    }                                                                                           \
    for (; i < count; ++i) pd[i] = GatherOne(src, ps, base, po[i], i, loc, api);

template <int N>
inline bool SameN(const uint32_t* p, uint32_t o) {
    uint32_t d = 0;
    for (int k = 0; k < N; ++k) d |= p[k] ^ o;
    return d == 0;
}

template <typename T>
inline void GatherCount(T* pd, const LocalTensor<T>& src, const T* ps, const uint32_t* po, uint32_t base,
                        uint32_t count, const Loc& loc, const char* api) {
    CIRC_GATHER_BODY(SameN<8>, SameN<32>)
}

#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
__attribute__((target("avx2"), always_inline)) inline bool Same8Avx2(const uint32_t* p, uint32_t o) {
    const __m256i x = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)), _mm256_set1_epi32(o));
    return _mm256_testz_si256(x, x) != 0;
}

__attribute__((target("avx2"), always_inline)) inline bool Same32Avx2(const uint32_t* p, uint32_t o) {
    const __m256i v = _mm256_set1_epi32(o);
    const __m256i* q = reinterpret_cast<const __m256i*>(p);
    const __m256i x = _mm256_or_si256(
        _mm256_or_si256(_mm256_xor_si256(_mm256_loadu_si256(q), v), _mm256_xor_si256(_mm256_loadu_si256(q + 1), v)),
        _mm256_or_si256(_mm256_xor_si256(_mm256_loadu_si256(q + 2), v), _mm256_xor_si256(_mm256_loadu_si256(q + 3), v)));
    return _mm256_testz_si256(x, x) != 0;
}

template <typename T>
__attribute__((target("avx2"))) void GatherCountAvx2(T* pd, const LocalTensor<T>& src, const T* ps, const uint32_t* po,
                                                     uint32_t base, uint32_t count, const Loc& loc, const char* api) {
    CIRC_GATHER_BODY(Same8Avx2, Same32Avx2)
}
#endif
#undef CIRC_GATHER_BODY

#define CIRC_TYPES_GATHER(T_)                                                                                       \
    static_assert(::AscendC::cpu::OneOf<T_, int16_t, uint16_t, int32_t, uint32_t, half, bfloat16_t, float>::value,                \
                  "Gather: T must be int16_t, uint16_t, int32_t, uint32_t, half, bfloat16_t or float")

template <bool isSetMask, typename T>
inline void GatherRep(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<uint32_t>& srcOffset,
                      uint32_t srcBaseAddr, const MaskArg& mask, int64_t repeatTimes, uint16_t dstRepStride,
                      const Loc& loc) {
    const char* api = "Gather";
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    Stride sd{1, dstRepStride};
    T* pd = RepOperand(dst, sd, ln, "dst", loc, api);
    const T* ps = VecOperand(src, 0, "src", loc, api);
    const uint32_t* po = VecOperand(srcOffset, 0, "srcOffset", loc, api);
    int idx[L];
    T vd[L];
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        for (int k = 0; k < n; ++k) {
            uint64_t i = static_cast<uint64_t>(r) * L + idx[k];
            if (i >= srcOffset.GetSize()) {
                Fail(loc, api, "repeat %lld lane %d needs srcOffset[%llu], but srcOffset holds %u elements",
                     (long long)r, idx[k], (unsigned long long)i, srcOffset.GetSize());
            }
            vd[k] = GatherOne(src, ps, srcBaseAddr, po[i], i, loc, api);
        }
        for (int k = 0; k < n; ++k) LaneAt(pd, sd, r, idx[k]) = vd[k];
    }
}

}  // namespace cpu

template <typename T>
inline void Gather(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<uint32_t>& srcOffset,
                   const uint32_t srcBaseAddr, const uint32_t count, CIRC_LOC) {
    CIRC_TYPES_GATHER(T);
    const char* api = "Gather";
    if (!cpu::CountOk(count, circLoc, api)) return;
    T* pd = cpu::VecOperand(dst, count, "dst", circLoc, api);
    const T* ps = cpu::VecOperand(src, 0, "src", circLoc, api);
    const uint32_t* po = cpu::VecOperand(srcOffset, count, "srcOffset", circLoc, api);
    if (reinterpret_cast<const uint8_t*>(pd) < reinterpret_cast<const uint8_t*>(ps) + src.desc_.len &&
        reinterpret_cast<const uint8_t*>(ps) < reinterpret_cast<const uint8_t*>(pd + count)) {
        cpu::Fail(circLoc, api, "dst and src overlap: Gather needs disjoint operands");
    }
#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
    if (cpu::HasAvx2()) return cpu::GatherCountAvx2(pd, src, ps, po, srcBaseAddr, count, circLoc, api);
#endif
    cpu::GatherCount(pd, src, ps, po, srcBaseAddr, count, circLoc, api);
}

template <typename T, bool isSetMask = true>
inline void Gather(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<uint32_t>& srcOffset,
                   const uint32_t srcBaseAddr, const uint64_t mask[], const uint8_t repeatTimes,
                   const uint16_t dstRepStride, CIRC_LOC) {
    CIRC_TYPES_GATHER(T);
    cpu::GatherRep<isSetMask>(dst, src, srcOffset, srcBaseAddr, cpu::MaskOf(mask), repeatTimes, dstRepStride, circLoc);
}

template <typename T, bool isSetMask = true>
inline void Gather(const LocalTensor<T>& dst, const LocalTensor<T>& src, const LocalTensor<uint32_t>& srcOffset,
                   const uint32_t srcBaseAddr, const uint64_t mask, const uint8_t repeatTimes,
                   const uint16_t dstRepStride, CIRC_LOC) {
    CIRC_TYPES_GATHER(T);
    cpu::GatherRep<isSetMask>(dst, src, srcOffset, srcBaseAddr, cpu::MaskOf(mask), repeatTimes, dstRepStride, circLoc);
}

#undef CIRC_TYPES_GATHER

// ---- GatherMask: keep the lanes a bit pattern selects, packed at the start of dst ----------------
// Normal mode (reduceMode = false): repeatTimes repeats of 256 bytes of src0; the pattern is
// built in (1: even lanes, 2: odd, 3-6: lane % 4 == 0..3, 7: all) or a tensor whose bits are
// consumed lane by lane within a repeat, src1RepeatStride blocks apart between repeats.
enum class GatherMaskMode : uint8_t { VERSION_V1 = 0, VERSION_V2 = 1 };
constexpr GatherMaskMode defaultGatherMaskMode = GatherMaskMode::VERSION_V1;

struct GatherMaskParams {
    GatherMaskParams() {}
    GatherMaskParams(const uint8_t src0BlockStrideIn, const uint16_t repeatTimesIn, const uint16_t src0RepeatStrideIn,
                     const uint8_t src1RepeatStrideIn)
        : src0BlockStride(src0BlockStrideIn), repeatTimes(repeatTimesIn), src0RepeatStride(src0RepeatStrideIn),
          src1RepeatStride(src1RepeatStrideIn) {}
    uint8_t src0BlockStride = DEFAULT_BLK_STRIDE;
    uint16_t repeatTimes = 0;
    uint16_t src0RepeatStride = DEFAULT_REPEAT_STRIDE;
    uint8_t src1RepeatStride = DEFAULT_REPEAT_STRIDE;
};

namespace cpu {
// `every` > 0: the selection is lanes e % every == first of every repeat (a built-in pattern),
// which over contiguous repeats is a strided copy.
template <typename T, class Selects>
inline void GatherMaskRun(const LocalTensor<T>& dst, const LocalTensor<T>& src0, bool reduceMode,
                          const GatherMaskParams& p, uint64_t& rsvdCnt, const Loc& loc, Selects selects,
                          int every = 0, int first = 0) {
    const char* api = "GatherMask";
    static_assert(OneOf<T, int16_t, uint16_t, half, bfloat16_t, int32_t, uint32_t, float>::value,
                  "GatherMask: T must be a 16- or 32-bit type");
    VectorEntry(loc, api);
    if (reduceMode) {
        Fail(loc, api, "reduceMode = true (Counter mode) is not implemented by circ's CPU layer; use reduceMode = false");
    }
    constexpr int L = LanesFor(sizeof(T));
    LaneSet ln;
    ln.lanes = L;
    ln.lo = ln.hi = ~0ull;
    ln.repeats = p.repeatTimes;
    if (p.repeatTimes > 255) Fail(loc, api, "repeatTimes %u is out of range [0, 255]", p.repeatTimes);
    Stride ss{p.src0BlockStride, p.src0RepeatStride};
    T* ps = RepOperand(src0, ss, ln, "src0", loc, api);
    if (every > 0 && p.src0BlockStride == 1 && p.src0RepeatStride == 8) {  // contiguous repeats
        int64_t count = ln.repeats * L / every;
        T* pd = VecOperand(dst, count, "dst", loc, api);
        if (pd + count <= ps || ps + ln.repeats * L <= pd) {  // disjoint: copy straight
            for (int64_t k = 0; k < count; ++k) pd[k] = ps[first + k * every];
            rsvdCnt = static_cast<uint64_t>(count);
            return;
        }
    }
    std::vector<T> kept;
    kept.reserve(static_cast<size_t>(ln.repeats * L));
    for (int64_t r = 0; r < ln.repeats; ++r)
        for (int e = 0; e < L; ++e)
            if (selects(r, e)) kept.push_back(LaneAt(ps, ss, r, e));
    T* pd = VecOperand(dst, static_cast<int64_t>(kept.size()), "dst", loc, api);
    if (!kept.empty()) std::memcpy(pd, kept.data(), kept.size() * sizeof(T));
    rsvdCnt = kept.size();
}
}  // namespace cpu

template <typename T, GatherMaskMode mode = defaultGatherMaskMode>
inline void GatherMask(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const uint8_t src1Pattern,
                       const bool reduceMode, const uint32_t mask, const GatherMaskParams& gatherMaskParams,
                       uint64_t& rsvdCnt, CIRC_LOC) {
    (void)mask;
    if (src1Pattern < 1 || src1Pattern > 7) {
        cpu::Fail(circLoc, "GatherMask", "built-in pattern %u is out of range [1, 7]", src1Pattern);
    }
    int every = src1Pattern <= 2 ? 2 : (src1Pattern == 7 ? 1 : 4);
    int first = src1Pattern <= 2 ? src1Pattern - 1 : (src1Pattern == 7 ? 0 : src1Pattern - 3);
    cpu::GatherMaskRun(
        dst, src0, reduceMode, gatherMaskParams, rsvdCnt, circLoc,
        [every, first](int64_t, int e) { return e % every == first; }, every, first);
}

template <typename T, typename U, GatherMaskMode mode = defaultGatherMaskMode>
inline void GatherMask(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<U>& src1Pattern,
                       const bool reduceMode, const uint32_t mask, const GatherMaskParams& gatherMaskParams,
                       uint64_t& rsvdCnt, CIRC_LOC) {
    static_assert(sizeof(U) == sizeof(T) && std::is_unsigned<U>::value,
                  "GatherMask: the pattern is uint16_t for 16-bit and uint32_t for 32-bit data");
    (void)mask;
    constexpr int L = cpu::LanesFor(sizeof(T)), bits = 8 * sizeof(U);
    cpu::LaneSet ln;
    ln.lanes = L;
    ln.lo = ln.hi = ~0ull;
    ln.repeats = reduceMode ? 0 : gatherMaskParams.repeatTimes;
    // the pattern of repeat r: L bits from src1 + r * src1RepeatStride blocks
    uint64_t need = ln.repeats == 0 ? 0 : (ln.repeats - 1) * gatherMaskParams.src1RepeatStride * 32ull + L / 8;
    const uint8_t* pat = reinterpret_cast<const uint8_t*>(cpu::VecOperand(src1Pattern, 0, "src1Pattern", circLoc, "GatherMask"));
    if (need > src1Pattern.desc_.len) {
        cpu::Fail(circLoc, "GatherMask", "src1Pattern holds %u bytes, but %lld repeats read %llu", src1Pattern.desc_.len,
                  (long long)ln.repeats, (unsigned long long)need);
    }
    uint8_t stride = gatherMaskParams.src1RepeatStride;
    cpu::GatherMaskRun(dst, src0, reduceMode, gatherMaskParams, rsvdCnt, circLoc, [pat, stride](int64_t r, int e) {
        U word;
        std::memcpy(&word, pat + r * stride * 32ull + (e / bits) * sizeof(U), sizeof(U));
        return ((word >> (e % bits)) & 1u) != 0;
    });
}

}  // namespace AscendC
