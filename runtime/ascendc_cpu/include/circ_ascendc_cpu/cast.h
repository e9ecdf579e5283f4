// circ's AscendC CPU layer — Cast: the conversions of the arch-220 vector unit (the table of
// CANN's Cast documentation), count and repeat forms.
#pragma once

#include "vector.h"

namespace AscendC {
// ---- Cast ------------------------------------------------------------------------------------------
namespace cpu {

inline const char* RoundName(RoundMode m) {
    switch (m) {
        case RoundMode::CAST_NONE: return "CAST_NONE";
        case RoundMode::CAST_RINT: return "CAST_RINT";
        case RoundMode::CAST_FLOOR: return "CAST_FLOOR";
        case RoundMode::CAST_CEIL: return "CAST_CEIL";
        case RoundMode::CAST_ROUND: return "CAST_ROUND";
        case RoundMode::CAST_TRUNC: return "CAST_TRUNC";
        case RoundMode::CAST_ODD: return "CAST_ODD";
        default: return "UNKNOWN";
    }
}

// Round a float to an integral value under m (CAST_NONE/CAST_RINT: to nearest even).
inline double RoundIntegral(double v, RoundMode m) {
    switch (m) {
        case RoundMode::CAST_FLOOR: return std::floor(v);
        case RoundMode::CAST_CEIL: return std::ceil(v);
        case RoundMode::CAST_ROUND: return std::round(v);
        case RoundMode::CAST_TRUNC: return std::trunc(v);
        default: return std::nearbyint(v);
    }
}

template <typename I>
inline I SaturateInt(double v, RoundMode m) {
    if (std::isnan(v)) return 0;
    double r = RoundIntegral(v, m);
    if (r <= static_cast<double>(std::numeric_limits<I>::min())) return std::numeric_limits<I>::min();
    if (r >= static_cast<double>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
    return static_cast<I>(r);
}

// integer -> float under m: the float neighbours of the exact value, picked by the mode (long
// double holds every int64_t exactly).
template <typename I>
inline float IntToFloat(I v, RoundMode m) {
    using LD = long double;
    float n = static_cast<float>(v);  // nearest even
    if (static_cast<LD>(n) == static_cast<LD>(v)) return n;
    float lo = static_cast<LD>(n) < static_cast<LD>(v) ? n : std::nextafter(n, -INFINITY);
    float hi = static_cast<LD>(n) > static_cast<LD>(v) ? n : std::nextafter(n, INFINITY);
    switch (m) {
        case RoundMode::CAST_FLOOR: return lo;
        case RoundMode::CAST_CEIL: return hi;
        case RoundMode::CAST_TRUNC: return v > 0 ? lo : hi;
        case RoundMode::CAST_ROUND: {
            LD dl = static_cast<LD>(v) - lo, dh = static_cast<LD>(hi) - static_cast<LD>(v);
            if (dl == dh) return v > 0 ? hi : lo;
            return n;
        }
        default: return n;
    }
}

// Which (dst, src, round mode) conversions the A2 vector unit (arch 220) has: the table of
// CANN's Cast documentation. CastRule<dst, src>.
enum CastKind {
    kCastNone,            // CAST_NONE only
    kCastDirected,        // CAST_RINT / FLOOR / CEIL / ROUND / TRUNC
    kCastDirectedOrNone,  // those and CAST_NONE (= CAST_RINT where the conversion is inexact)
    kCastF2H,             // every mode, CAST_ODD included (float -> half)
    kCastDeq,             // any mode (it has no effect): int32_t * SetDeqScale's scale -> half
};
template <typename D, typename S> struct CastRule { static constexpr int kind = -1; };
#define CIRC_CAST_RULE(SRC, DST, KIND) \
    template <> struct CastRule<DST, SRC> { static constexpr int kind = KIND; };
CIRC_CAST_RULE(int8_t, half, kCastNone)
CIRC_CAST_RULE(uint8_t, half, kCastNone)
CIRC_CAST_RULE(int16_t, half, kCastDirectedOrNone)
CIRC_CAST_RULE(int16_t, float, kCastNone)
CIRC_CAST_RULE(half, int8_t, kCastDirectedOrNone)
CIRC_CAST_RULE(half, uint8_t, kCastDirectedOrNone)
CIRC_CAST_RULE(half, int16_t, kCastDirected)
CIRC_CAST_RULE(half, int32_t, kCastDirected)
CIRC_CAST_RULE(half, float, kCastNone)
CIRC_CAST_RULE(bfloat16_t, int32_t, kCastDirected)
CIRC_CAST_RULE(bfloat16_t, float, kCastNone)
CIRC_CAST_RULE(int32_t, int16_t, kCastNone)
CIRC_CAST_RULE(int32_t, half, kCastDeq)
CIRC_CAST_RULE(int32_t, float, kCastDirectedOrNone)
CIRC_CAST_RULE(int32_t, int64_t, kCastNone)
CIRC_CAST_RULE(float, int16_t, kCastDirected)
CIRC_CAST_RULE(float, half, kCastF2H)
CIRC_CAST_RULE(float, bfloat16_t, kCastDirected)
CIRC_CAST_RULE(float, int32_t, kCastDirected)
CIRC_CAST_RULE(float, float, kCastDirected)
CIRC_CAST_RULE(float, int64_t, kCastDirected)
CIRC_CAST_RULE(int64_t, int32_t, kCastNone)
CIRC_CAST_RULE(int64_t, float, kCastDirected)
#undef CIRC_CAST_RULE

template <typename D, typename S>
inline D CastOne(S s, RoundMode m) {
    if constexpr (std::is_same<D, half>::value || std::is_same<D, bfloat16_t>::value) {
        return D::FromBits(RoundTo16<D>(static_cast<float>(s), static_cast<int>(m)));
    } else if constexpr (std::is_same<D, float>::value) {
        if constexpr (std::is_same<S, float>::value) return static_cast<float>(RoundIntegral(s, m));
        else if constexpr (std::is_integral<S>::value) return IntToFloat(s, m);
        else return static_cast<float>(s);
    } else if constexpr (std::is_integral<S>::value) {
        return SaturateInt<D>(static_cast<double>(s), m);
    } else {
        return SaturateInt<D>(static_cast<double>(static_cast<float>(s)), m);
    }
}

// The RoundMode must be one the (dst, src) pair has.
template <typename T, typename U>
inline void CastModeCheck(RoundMode roundMode, const Loc& loc, const char* api) {
    constexpr int kind = CastRule<T, U>::kind;
    bool none = roundMode == RoundMode::CAST_NONE;
    bool odd = roundMode == RoundMode::CAST_ODD;
    bool known = static_cast<uint8_t>(roundMode) <= static_cast<uint8_t>(RoundMode::CAST_ODD);
    bool ok = known && ((kind == kCastNone && none) || (kind == kCastDirected && !none && !odd) ||
                        (kind == kCastDirectedOrNone && !odd) || kind == kCastF2H || kind == kCastDeq);
    if (!ok) {
        Fail(loc, api, "%s -> %s does not support RoundMode::%s (allowed: %s)", TypeName<U>::Get(), TypeName<T>::Get(),
             RoundName(roundMode),
             kind == kCastNone       ? "CAST_NONE"
             : kind == kCastDirected ? "CAST_RINT/FLOOR/CEIL/ROUND/TRUNC"
             : kind == kCastF2H      ? "CAST_NONE/RINT/FLOOR/CEIL/ROUND/TRUNC/ODD"
                                     : "CAST_NONE/RINT/FLOOR/CEIL/ROUND/TRUNC");
    }
    if constexpr (kind == kCastDeq) {
        if (std::isnan(Block().deqScale)) {
            Fail(loc, api, "int32_t -> half multiplies by the DEQSCALE register: call SetDeqScale(half scale) first");
        }
    }
}

// One converted element (the int32_t -> half path scales first, in float, rounding once).
template <typename T, typename U>
inline T CastElem(U s, RoundMode m) {
    if constexpr (CastRule<T, U>::kind == kCastDeq) {
        return T(static_cast<float>(s) * Block().deqScale);
    } else {
        return CastOne<T, U>(s, m);
    }
}

template <typename T, typename U>
inline void CastTypeCheck() {
    static_assert(CastRule<T, U>::kind >= 0,
                  "Cast: this (dst, src) type pair has no vector conversion on arch 220 (see the Cast table of "
                  "runtime/ascendc_cpu/README.md: half<->float/int8_t/uint8_t/int16_t, half->int32_t, int32_t->half "
                  "(SetDeqScale), float<->int16_t/int32_t/int64_t/bfloat16_t, bfloat16_t->int32_t, int32_t<->int64_t, "
                  "int32_t->int16_t, float->float)");
}

}  // namespace cpu

template <typename T, typename U>
inline void Cast(const LocalTensor<T>& dst, const LocalTensor<U>& src, const RoundMode& roundMode,
                 const uint32_t count, CIRC_LOC) {
    cpu::CastTypeCheck<T, U>();
    const char* api = "Cast";
    if (!cpu::CountOk(count, circLoc, api)) return;
    cpu::CastModeCheck<T, U>(roundMode, circLoc, api);
    T* d = cpu::VecOperand(dst, count, "dst", circLoc, api);
    const U* s = cpu::VecOperand(src, count, "src", circLoc, api);
    cpu::NoPartialOverlap(d, count, s, count, "src", circLoc, api);
    if constexpr (std::is_same<T, half>::value && std::is_same<U, float>::value) {
        if (roundMode == RoundMode::CAST_NONE || roundMode == RoundMode::CAST_RINT) {
            for (uint32_t i = 0; i < count; ++i) d[i].val = cpu::F32ToF16(s[i]);
            return;
        }
    }
    for (uint32_t i = 0; i < count; ++i) d[i] = cpu::CastElem<T, U>(s[i], roundMode);
}

// Repeat forms: one repeat converts 256 bytes of the wider type (64 lanes for float <-> half);
// each operand walks its own 32-byte blocks (UnaryRepeatParams: dst*, src* strides).
namespace cpu {
template <bool isSetMask, typename T, typename U>
inline void CastRep(const LocalTensor<T>& dst, const LocalTensor<U>& src, RoundMode roundMode, const MaskArg& mask,
                    int64_t repeatTimes, const UnaryRepeatParams& p, const Loc& loc) {
    const char* api = "Cast";
    VectorEntry(loc, api);
    CastModeCheck<T, U>(roundMode, loc, api);
    constexpr int L = LanesFor(sizeof(T) > sizeof(U) ? sizeof(T) : sizeof(U));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    Stride sd{p.dstBlkStride, p.dstRepStride}, ss{p.srcBlkStride, p.srcRepStride};
    T* pd = RepOperand(dst, sd, ln, "dst", loc, api);
    U* ps = RepOperand(src, ss, ln, "src", loc, api);
    int idx[L];
    T vd[L];
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        for (int k = 0; k < n; ++k) vd[k] = CastElem<T, U>(LaneAt(ps, ss, r, idx[k]), roundMode);
        for (int k = 0; k < n; ++k) LaneAt(pd, sd, r, idx[k]) = vd[k];
    }
}
}  // namespace cpu

template <typename T, typename U, bool isSetMask = true>
inline void Cast(const LocalTensor<T>& dst, const LocalTensor<U>& src, const RoundMode& roundMode,
                 const uint64_t mask[], const uint8_t repeatTimes, const UnaryRepeatParams& repeatParams, CIRC_LOC) {
    cpu::CastTypeCheck<T, U>();
    cpu::CastRep<isSetMask>(dst, src, roundMode, cpu::MaskOf(mask), repeatTimes, repeatParams, circLoc);
}

template <typename T, typename U, bool isSetMask = true>
inline void Cast(const LocalTensor<T>& dst, const LocalTensor<U>& src, const RoundMode& roundMode, const uint64_t mask,
                 const uint8_t repeatTimes, const UnaryRepeatParams& repeatParams, CIRC_LOC) {
    cpu::CastTypeCheck<T, U>();
    cpu::CastRep<isSetMask>(dst, src, roundMode, cpu::MaskOf(mask), repeatTimes, repeatParams, circLoc);
}

}  // namespace AscendC
