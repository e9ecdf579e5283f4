// circ's AscendC CPU layer — comparison and selection: Compare / CompareScalar (Compares) write
// one bit per element (bit i of a bit-mask tensor is bit i % 8 of byte i / 8, little-endian), the
// register form of Compare fills the CMPMASK register (SetCmpMask / GetCmpMask), and Select picks
// each element from src0 (bit 1) or src1 / a scalar (bit 0).
//
// Behaviour on arch 220 (Atlas A2), as its documentation describes it:
// - the count forms of Compare / CompareScalar compare whole 256-byte repeats: count elements
//   must fill a multiple of 256 bytes (the hardware drops a partial tail repeat; here it is an
//   error);
// - their repeat forms take a mask argument that has no effect: every lane of every repeat is
//   compared; the source strides apply, the bits of repeat r are written contiguously at byte
//   r * lanes / 8 of dst;
// - Select mode 0 (VSEL_CMPMASK_SPR) uses the first 256 / sizeof(T) bits of selMask for every
//   repeat (lane e of any repeat reads bit e); modes 1 (VSEL_TENSOR_SCALAR_MODE, src1 a scalar)
//   and 2 (VSEL_TENSOR_TENSOR_MODE) consume selMask continuously (lane e of repeat r reads bit
//   r * lanes + e); the repeat forms' mask picks the lanes written, the others keep dst.
#pragma once

#include "vector.h"

namespace AscendC {

enum class CMPMODE : uint8_t { LT = 0, GT, EQ, LE, GE, NE };
enum class SELMODE : uint8_t { VSEL_CMPMASK_SPR = 0, VSEL_TENSOR_SCALAR_MODE, VSEL_TENSOR_TENSOR_MODE };

namespace cpu {

template <typename T> struct Identity { using type = T; };  // a non-deduced parameter

inline const char* CmpName(CMPMODE m) {
    switch (m) {
        case CMPMODE::LT: return "LT";
        case CMPMODE::GT: return "GT";
        case CMPMODE::EQ: return "EQ";
        case CMPMODE::LE: return "LE";
        case CMPMODE::GE: return "GE";
        case CMPMODE::NE: return "NE";
    }
    return "?";
}

template <typename T>
inline bool CmpLanes(T a, T b, CMPMODE m) {
    if constexpr (std::is_integral<T>::value) {
        switch (m) {
            case CMPMODE::LT: return a < b;
            case CMPMODE::GT: return a > b;
            case CMPMODE::EQ: return a == b;
            case CMPMODE::LE: return a <= b;
            case CMPMODE::GE: return a >= b;
            case CMPMODE::NE: return a != b;
        }
        return false;
    } else {
        float x = static_cast<float>(a), y = static_cast<float>(b);  // NaN compares false (NE: true)
        switch (m) {
            case CMPMODE::LT: return x < y;
            case CMPMODE::GT: return x > y;
            case CMPMODE::EQ: return x == y;
            case CMPMODE::LE: return x <= y;
            case CMPMODE::GE: return x >= y;
            case CMPMODE::NE: return !(x == y);
        }
        return false;
    }
}

template <typename T>
inline void CmpModeCheck(CMPMODE m, const Loc& loc, const char* api) {
    if (static_cast<uint8_t>(m) > static_cast<uint8_t>(CMPMODE::NE)) {
        Fail(loc, api, "cmpMode %d is not a CMPMODE", static_cast<int>(m));
    }
    if (std::is_same<T, int32_t>::value && m != CMPMODE::EQ) {
        Fail(loc, api, "int32_t operands support CMPMODE::EQ only (got CMPMODE::%s)", CmpName(m));
    }
}

inline void SetBit(uint8_t* bits, uint64_t i, bool v) {
    uint8_t b = static_cast<uint8_t>(1u << (i % 8));
    if (v) bits[i / 8] |= b;
    else bits[i / 8] &= static_cast<uint8_t>(~b);
}
inline bool GetBit(const uint8_t* bits, uint64_t i) { return (bits[i / 8] >> (i % 8)) & 1u; }

// A bit-mask operand (uint8_t / int8_t / wider integer tensor) that must hold `bytes` bytes.
template <typename U>
inline uint8_t* BitOperand(const LocalTensor<U>& t, uint64_t bytes, const char* role, const Loc& loc, const char* api) {
    CheckLive(t.desc_, role, loc, api);
    if (DescHw(t.desc_) != Hw::UB) {
        Fail(loc, api, "%s is at TPosition::%s: vector instructions work on the Unified Buffer only", role,
             PosName(static_cast<TPosition>(t.desc_.pos)));
    }
    if (t.desc_.addr % 32 != 0) {
        Fail(loc, api, "%s starts at UB byte %u, which is not 32-byte aligned", role, t.desc_.addr);
    }
    if (bytes > t.desc_.len) {
        Fail(loc, api, "%s holds %u bytes, but %llu bytes of bits are needed (one bit per element)", role,
             t.desc_.len, (unsigned long long)bytes);
    }
    return reinterpret_cast<uint8_t*>(t.Ptr());
}

// The count forms' 256-byte rule.
template <typename T>
inline void CmpCountRule(int64_t count, const Loc& loc, const char* api) {
    if ((count * static_cast<int64_t>(sizeof(T))) % 256 != 0) {
        Fail(loc, api,
             "count %lld x sizeof(%s) = %lld bytes is not a multiple of 256: the count form compares whole 256-byte "
             "repeats (round count up to a multiple of %d and size the operands for it)",
             (long long)count, TypeName<T>::Get(), (long long)(count * sizeof(T)), int(256 / sizeof(T)));
    }
}

// Compare, count form: src1 is a tensor (src1p) or a scalar.
template <typename T, typename U>
inline void CompareCount(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const LocalTensor<T>* src1, T scalar,
                         CMPMODE m, int64_t count, const Loc& loc, const char* api) {
    static_assert(OneOf<T, half, float, int32_t>::value, "Compare: T must be half, float or int32_t");
    static_assert(OneOf<U, int8_t, uint8_t>::value, "Compare: the bit-mask dst must be int8_t or uint8_t");
    if (!CountOk(count, loc, api)) return;
    CmpModeCheck<T>(m, loc, api);
    CmpCountRule<T>(count, loc, api);
    const T* pa = VecOperand(src0, count, "src0", loc, api);
    const T* pb = src1 ? VecOperand(*src1, count, "src1", loc, api) : nullptr;
    uint8_t* pd = BitOperand(dst, static_cast<uint64_t>(count) / 8, "dst", loc, api);
    std::vector<uint8_t> out(static_cast<size_t>(count / 8), 0);  // read everything before writing
    for (int64_t i = 0; i < count; ++i) SetBit(out.data(), i, CmpLanes<T>(pa[i], pb ? pb[i] : scalar, m));
    std::memcpy(pd, out.data(), out.size());
}

// Compare, repeat form: every lane of each repeat (the mask has no effect on arch 220).
template <typename T, typename U>
inline void CompareRep(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const LocalTensor<T>* src1, T scalar,
                       CMPMODE m, int64_t repeatTimes, Stride s0, Stride s1, const Loc& loc, const char* api) {
    static_assert(OneOf<T, half, float, int32_t>::value, "Compare: T must be half, float or int32_t");
    static_assert(OneOf<U, int8_t, uint8_t>::value, "Compare: the bit-mask dst must be int8_t or uint8_t");
    VectorEntry(loc, api);
    CmpModeCheck<T>(m, loc, api);
    if (repeatTimes < 0 || repeatTimes > 255) {
        Fail(loc, api, "repeatTimes %lld is out of range [0, 255]", (long long)repeatTimes);
    }
    constexpr int L = LanesFor(sizeof(T));
    LaneSet ln;
    ln.lanes = L;
    ln.repeats = repeatTimes;
    ln.lo = ~0ull;
    ln.hi = L > 64 ? ~0ull : 0;
    T* pa = RepOperand(src0, s0, ln, "src0", loc, api);
    T* pb = src1 ? RepOperand(*src1, s1, ln, "src1", loc, api) : nullptr;
    uint8_t* pd = BitOperand(dst, static_cast<uint64_t>(repeatTimes) * L / 8, "dst", loc, api);
    uint8_t bits[L / 8];
    for (int64_t r = 0; r < repeatTimes; ++r) {
        for (int e = 0; e < L; ++e) {
            T b = pb ? LaneAt(pb, s1, r, e) : scalar;
            SetBit(bits, e, CmpLanes<T>(LaneAt(pa, s0, r, e), b, m));
        }
        std::memcpy(pd + r * (L / 8), bits, L / 8);
    }
}

}  // namespace cpu

#define CIRC_CMP_LOC_API(name) circLoc, name

// ---- Compare: dst bits = src0 (cmpMode) src1 ------------------------------------------------------
template <typename T, typename U>
inline void Compare(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, CMPMODE cmpMode,
                    uint32_t count, CIRC_LOC) {
    cpu::CompareCount(dst, src0, &src1, T(), cmpMode, count, CIRC_CMP_LOC_API("Compare"));
}
template <typename T, typename U, bool isSetMask = true>
inline void Compare(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, CMPMODE cmpMode,
                    const uint64_t mask[], uint8_t repeatTime, const BinaryRepeatParams& repeatParams, CIRC_LOC) {
    (void)mask;
    cpu::CompareRep(dst, src0, &src1, T(), cmpMode, repeatTime, cpu::Stride{repeatParams.src0BlkStride, repeatParams.src0RepStride},
                    cpu::Stride{repeatParams.src1BlkStride, repeatParams.src1RepStride}, CIRC_CMP_LOC_API("Compare"));
}
template <typename T, typename U, bool isSetMask = true>
inline void Compare(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, CMPMODE cmpMode,
                    const uint64_t mask, uint8_t repeatTime, const BinaryRepeatParams& repeatParams, CIRC_LOC) {
    (void)mask;
    cpu::CompareRep(dst, src0, &src1, T(), cmpMode, repeatTime, cpu::Stride{repeatParams.src0BlkStride, repeatParams.src0RepStride},
                    cpu::Stride{repeatParams.src1BlkStride, repeatParams.src1RepStride}, CIRC_CMP_LOC_API("Compare"));
}

// ---- CompareScalar / Compares: dst bits = src0 (cmpMode) scalar ----------------------------------------
#define CIRC_CMP_SCALAR(NAME)                                                                                     \
    template <typename T, typename U>                                                                             \
    inline void NAME(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const T src1Scalar, CMPMODE cmpMode,  \
                     uint32_t count, CIRC_LOC) {                                                                  \
        cpu::CompareCount<T, U>(dst, src0, nullptr, src1Scalar, cmpMode, count, CIRC_CMP_LOC_API(#NAME));         \
    }                                                                                                             \
    template <typename T, typename U, bool isSetMask = true>                                                      \
    inline void NAME(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const T src1Scalar, CMPMODE cmpMode,  \
                     const uint64_t mask[], uint8_t repeatTime, const UnaryRepeatParams& repeatParams, CIRC_LOC) { \
        (void)mask;                                                                                               \
        cpu::CompareRep<T, U>(dst, src0, nullptr, src1Scalar, cmpMode, repeatTime,                                \
                              cpu::Stride{repeatParams.srcBlkStride, repeatParams.srcRepStride}, cpu::Stride{0, 0}, \
                              CIRC_CMP_LOC_API(#NAME));                                                           \
    }                                                                                                             \
    template <typename T, typename U, bool isSetMask = true>                                                      \
    inline void NAME(const LocalTensor<U>& dst, const LocalTensor<T>& src0, const T src1Scalar, CMPMODE cmpMode,  \
                     const uint64_t mask, uint8_t repeatTime, const UnaryRepeatParams& repeatParams, CIRC_LOC) {  \
        (void)mask;                                                                                               \
        cpu::CompareRep<T, U>(dst, src0, nullptr, src1Scalar, cmpMode, repeatTime,                                \
                              cpu::Stride{repeatParams.srcBlkStride, repeatParams.srcRepStride}, cpu::Stride{0, 0}, \
                              CIRC_CMP_LOC_API(#NAME));                                                           \
    }
CIRC_CMP_SCALAR(CompareScalar)
CIRC_CMP_SCALAR(Compares)
#undef CIRC_CMP_SCALAR

// ---- Compare, register form: one repeat, the masked lanes' bits go to the CMPMASK register ---------------
namespace cpu {
template <bool isSetMask, typename T>
inline void CompareToReg(const LocalTensor<T>& src0, const LocalTensor<T>& src1, CMPMODE m, const MaskArg& mask,
                         const BinaryRepeatParams& p, const Loc& loc) {
    static_assert(OneOf<T, half, float, int32_t>::value, "Compare: T must be half, float or int32_t");
    const char* api = "Compare";
    VectorEntry(loc, api);
    CmpModeCheck<T>(m, loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, 1, loc, api);
    if (ln.repeats > 1) ln.repeats = 1;
    Stride s0{p.src0BlkStride, p.src0RepStride}, s1{p.src1BlkStride, p.src1RepStride};
    T* pa = RepOperand(src0, s0, ln, "src0", loc, api);
    T* pb = RepOperand(src1, s1, ln, "src1", loc, api);
    uint8_t* reg = Block().cmpMask;
    std::memset(reg, 0, 16);
    int idx[L];
    int n = ln.repeats ? ln.Active(0, idx) : 0;
    for (int k = 0; k < n; ++k) SetBit(reg, idx[k], CmpLanes<T>(LaneAt(pa, s0, 0, idx[k]), LaneAt(pb, s1, 0, idx[k]), m));
}
}  // namespace cpu

template <typename T, bool isSetMask = true>
inline void Compare(const LocalTensor<T>& src0, const LocalTensor<T>& src1, CMPMODE cmpMode, const uint64_t mask[],
                    const BinaryRepeatParams& repeatParams, CIRC_LOC) {
    cpu::CompareToReg<isSetMask>(src0, src1, cmpMode, cpu::MaskOf(mask), repeatParams, circLoc);
}
template <typename T, bool isSetMask = true>
inline void Compare(const LocalTensor<T>& src0, const LocalTensor<T>& src1, CMPMODE cmpMode, const uint64_t mask,
                    const BinaryRepeatParams& repeatParams, CIRC_LOC) {
    cpu::CompareToReg<isSetMask>(src0, src1, cmpMode, cpu::MaskOf(mask), repeatParams, circLoc);
}

// GetCmpMask: the 128 bits of CMPMASK into dst (which must hold at least 128 bytes, as documented);
// SetCmpMask: load CMPMASK from the first 16 bytes of src.
template <typename T>
inline void GetCmpMask(const LocalTensor<T>& dst, CIRC_LOC) {
    cpu::Tick();
    uint8_t* p = cpu::BitOperand(dst, 128, "dst", circLoc, "GetCmpMask");
    std::memcpy(p, cpu::Block().cmpMask, 16);
}
template <typename T>
inline void SetCmpMask(const LocalTensor<T>& src, CIRC_LOC) {
    cpu::Tick();
    const uint8_t* p = cpu::BitOperand(src, 16, "src", circLoc, "SetCmpMask");
    std::memcpy(cpu::Block().cmpMask, p, 16);
}

// ---- Select ---------------------------------------------------------------------------------------------
namespace cpu {

template <typename T, typename U>
inline void SelectTypes() {
    static_assert(OneOf<T, half, float>::value, "Select: T must be half or float");
    static_assert(std::is_integral<U>::value && sizeof(U) <= 8, "Select: selMask must be an integer (bit-mask) tensor");
}

inline void SelModeCheck(SELMODE m, bool scalar, const Loc& loc, const char* api) {
    if (static_cast<uint8_t>(m) > static_cast<uint8_t>(SELMODE::VSEL_TENSOR_TENSOR_MODE)) {
        Fail(loc, api, "selMode %d is not a SELMODE", static_cast<int>(m));
    }
    if (scalar && m != SELMODE::VSEL_TENSOR_SCALAR_MODE) {
        Fail(loc, api, "a scalar src1 needs SELMODE::VSEL_TENSOR_SCALAR_MODE (mode 1)");
    }
    if (!scalar && m == SELMODE::VSEL_TENSOR_SCALAR_MODE) {
        Fail(loc, api, "SELMODE::VSEL_TENSOR_SCALAR_MODE selects between a tensor and a scalar: pass src1 as a scalar");
    }
}

// Count form: `count` elements; mode 0 reads bit i % lanes, modes 1 and 2 bit i.
template <typename T, typename U>
inline void SelectCount(const LocalTensor<T>& dst, const LocalTensor<U>& sel, const LocalTensor<T>& src0,
                        const LocalTensor<T>* src1, T scalar, SELMODE m, int64_t count, const Loc& loc) {
    SelectTypes<T, U>();
    const char* api = "Select";
    if (!CountOk(count, loc, api)) return;
    SelModeCheck(m, src1 == nullptr, loc, api);
    constexpr int L = LanesFor(sizeof(T));
    bool spr = m == SELMODE::VSEL_CMPMASK_SPR;
    uint64_t bitsNeeded = spr ? static_cast<uint64_t>(std::min<int64_t>(count, L)) : static_cast<uint64_t>(count);
    const uint8_t* ps = BitOperand(sel, ::AscendC::DivCeil<uint64_t>(bitsNeeded, 8), "selMask", loc, api);
    T* pd = VecOperand(dst, count, "dst", loc, api);
    const T* pa = VecOperand(src0, count, "src0", loc, api);
    const T* pb = src1 ? VecOperand(*src1, count, "src1", loc, api) : nullptr;
    NoPartialOverlap(pd, count, pa, count, "src0", loc, api);
    if (pb) NoPartialOverlap(pd, count, pb, count, "src1", loc, api);
    std::vector<T> out(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        bool b = GetBit(ps, spr ? static_cast<uint64_t>(i % L) : static_cast<uint64_t>(i));
        out[i] = b ? pa[i] : (pb ? pb[i] : scalar);
    }
    std::memcpy(pd, out.data(), count * sizeof(T));
    BlockState& bs = Block();  // the count form runs in Counter mode and leaves Normal mode, full mask
    bs.maskCounter = false;
    bs.maskLo = bs.maskHi = ~0ull;
}

// Repeat form: the mask picks the lanes written. sel == nullptr: mode 0 from the CMPMASK register
// (SetCmpMask), or mode 1 with the scalar in the register's first element.
template <bool isSetMask, typename T, typename U>
inline void SelectRep(const LocalTensor<T>& dst, const LocalTensor<U>* sel, const LocalTensor<T>& src0,
                      const LocalTensor<T>* src1, const T* scalar, SELMODE m, const MaskArg& mask, int64_t repeatTimes,
                      const BinaryRepeatParams& p, const Loc& loc) {
    SelectTypes<T, U>();
    const char* api = "Select";
    VectorEntry(loc, api);
    SelModeCheck(m, src1 == nullptr, loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    Stride sd{p.dstBlkStride, p.dstRepStride}, sa{p.src0BlkStride, p.src0RepStride}, sb{p.src1BlkStride, p.src1RepStride};
    T* pd = RepOperand(dst, sd, ln, "dst", loc, api);
    T* pa = RepOperand(src0, sa, ln, "src0", loc, api);
    T* pb = src1 ? RepOperand(*src1, sb, ln, "src1", loc, api) : nullptr;
    bool spr = m == SELMODE::VSEL_CMPMASK_SPR;
    uint8_t reg[16];
    std::memcpy(reg, Block().cmpMask, 16);
    const uint8_t* ps = reg;
    T s = T();
    if (scalar) s = *scalar;
    else if (!pb) std::memcpy(&s, reg, sizeof(T));  // mode 1 without arguments: the scalar SetCmpMask loaded
    if (sel != nullptr) {
        uint64_t bits = spr ? L : static_cast<uint64_t>(ln.repeats) * L;
        if (ln.counter) bits = spr ? L : ln.total;
        ps = BitOperand(*sel, ::AscendC::DivCeil<uint64_t>(bits, 8), "selMask", loc, api);
    } else if (m == SELMODE::VSEL_TENSOR_TENSOR_MODE) {
        Fail(loc, api, "mode 2 (VSEL_TENSOR_TENSOR_MODE) without a selMask tensor is not implemented");
    } else if (!spr) {
        Fail(loc, api, "mode 1 without a selMask tensor is not a Select form");
    }
    int idx[L];
    T out[L];
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        for (int k = 0; k < n; ++k) {
            int e = idx[k];
            uint64_t bit = spr ? static_cast<uint64_t>(e) : static_cast<uint64_t>(r) * L + e;
            out[k] = GetBit(ps, bit) ? LaneAt(pa, sa, r, e) : (pb ? LaneAt(pb, sb, r, e) : s);
        }
        for (int k = 0; k < n; ++k) LaneAt(pd, sd, r, idx[k]) = out[k];
    }
}

}  // namespace cpu

// modes 0 and 2, count form / repeat forms
template <typename T, typename U>
inline void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
                   const LocalTensor<T>& src1, SELMODE selMode, uint32_t count, CIRC_LOC) {
    cpu::SelectCount(dst, selMask, src0, &src1, T(), selMode, count, circLoc);
}
template <typename T, typename U, bool isSetMask = true>
inline void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
                   const LocalTensor<T>& src1, SELMODE selMode, const uint64_t mask[], uint8_t repeatTime,
                   const BinaryRepeatParams& repeatParams, CIRC_LOC) {
    cpu::SelectRep<isSetMask>(dst, &selMask, src0, &src1, static_cast<const T*>(nullptr), selMode, cpu::MaskOf(mask),
                              repeatTime, repeatParams, circLoc);
}
template <typename T, typename U, bool isSetMask = true>
inline void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
                   const LocalTensor<T>& src1, SELMODE selMode, uint64_t mask, uint8_t repeatTime,
                   const BinaryRepeatParams& repeatParams, CIRC_LOC) {
    cpu::SelectRep<isSetMask>(dst, &selMask, src0, &src1, static_cast<const T*>(nullptr), selMode, cpu::MaskOf(mask),
                              repeatTime, repeatParams, circLoc);
}
// mode 1 (src1 a scalar), count form / repeat forms
template <typename T, typename U>
inline void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
                   typename cpu::Identity<T>::type src1, SELMODE selMode, uint32_t count, CIRC_LOC) {
    cpu::SelectCount(dst, selMask, src0, static_cast<const LocalTensor<T>*>(nullptr), T(src1), selMode, count, circLoc);
}
template <typename T, typename U, bool isSetMask = true>
inline void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
                   typename cpu::Identity<T>::type src1, SELMODE selMode, const uint64_t mask[], uint8_t repeatTime,
                   const BinaryRepeatParams& repeatParams, CIRC_LOC) {
    T s = T(src1);
    cpu::SelectRep<isSetMask>(dst, &selMask, src0, static_cast<const LocalTensor<T>*>(nullptr), &s, selMode,
                              cpu::MaskOf(mask), repeatTime, repeatParams, circLoc);
}
template <typename T, typename U, bool isSetMask = true>
inline void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
                   typename cpu::Identity<T>::type src1, SELMODE selMode, uint64_t mask, uint8_t repeatTime,
                   const BinaryRepeatParams& repeatParams, CIRC_LOC) {
    T s = T(src1);
    cpu::SelectRep<isSetMask>(dst, &selMask, src0, static_cast<const LocalTensor<T>*>(nullptr), &s, selMode,
                              cpu::MaskOf(mask), repeatTime, repeatParams, circLoc);
}
// The register forms (mask from SetVectorMask, selection bits / scalar from SetCmpMask):
// Select<T, SELMODE::VSEL_CMPMASK_SPR>(dst, src0, src1, repeat, params) and the mode-1
// Select<T, U>(dst, selMask, src0, repeat, params) with the scalar in CMPMASK.
template <typename T, SELMODE selMode = SELMODE::VSEL_CMPMASK_SPR>
inline void Select(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1,
                   uint8_t repeatTime, const BinaryRepeatParams& repeatParams, CIRC_LOC) {
    cpu::SelectRep<false>(dst, static_cast<const LocalTensor<uint8_t>*>(nullptr), src0, &src1,
                          static_cast<const T*>(nullptr), selMode, cpu::MaskOf(uint64_t(0)), repeatTime, repeatParams,
                          circLoc);
}
template <typename T, typename U>
inline void Select(const LocalTensor<T>& dst, const LocalTensor<U>& selMask, const LocalTensor<T>& src0,
                   uint8_t repeatTime, const BinaryRepeatParams& repeatParams, CIRC_LOC) {
    cpu::SelectRep<false>(dst, &selMask, src0, static_cast<const LocalTensor<T>*>(nullptr),
                          static_cast<const T*>(nullptr), SELMODE::VSEL_TENSOR_SCALAR_MODE, cpu::MaskOf(uint64_t(0)),
                          repeatTime, repeatParams, circLoc);
}

// ---- `dst = src0 < src1` (the whole tensors: src0's size, a multiple of 256 bytes) ---------------------
namespace cpu {
template <typename T>
struct CmpExpr {
    static constexpr bool kIsTensorExpr = true;
    const LocalTensor<T>& a;
    const LocalTensor<T>& b;
    CMPMODE m;
    template <typename U>
    void EvalInto(const LocalTensor<U>& dst, const Loc& loc) const {
        CompareCount(dst, a, &b, T(), m, a.GetSize(), loc, "Compare");
    }
};
}  // namespace cpu
#define CIRC_CMP_OPERATOR(SYM, MODE)                                                                              \
    template <typename T>                                                                                         \
    inline cpu::CmpExpr<T> operator SYM(const LocalTensor<T>& a, const LocalTensor<T>& b) {                       \
        return cpu::CmpExpr<T>{a, b, CMPMODE::MODE};                                                              \
    }
CIRC_CMP_OPERATOR(<, LT)
CIRC_CMP_OPERATOR(>, GT)
CIRC_CMP_OPERATOR(<=, LE)
CIRC_CMP_OPERATOR(>=, GE)
CIRC_CMP_OPERATOR(==, EQ)
CIRC_CMP_OPERATOR(!=, NE)
#undef CIRC_CMP_OPERATOR
#undef CIRC_CMP_LOC_API

}  // namespace AscendC
