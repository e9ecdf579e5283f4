// circ's AscendC CPU layer — `half` (IEEE binary16) and `bfloat16_t`, with float conversions
// (round to nearest even) and the directed roundings Cast needs.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace AscendC {
enum class RoundMode : uint8_t;
namespace cpu {

inline uint32_t F32Bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
inline float BitsF32(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// float -> binary16, round to nearest, ties to even; NaN stays NaN (quiet), overflow -> inf.
inline uint16_t F32ToF16(float f) {
    uint32_t x = F32Bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t a = x & 0x7fffffffu;
    if (a >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u | ((a >> 13) & 0x3ffu) : 0u));
    if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
    if (a < 0x38800000u) {  // below 2^-14: a binary16 subnormal (or zero)
        // Adding 0.5f puts the 2^-24 unit in the last mantissa bit; the FPU rounds to even.
        float s = BitsF32(a) + 0.5f;
        return static_cast<uint16_t>(sign | (F32Bits(s) - 0x3f000000u));
    }
    uint32_t odd = (a >> 13) & 1u;
    a += 0xc8000fffu + odd;  // rebias the exponent (127 -> 15) and round
    return static_cast<uint16_t>(sign | (a >> 13));
}

inline float F16ToF32(uint16_t h) {
    uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu;
    uint32_t m = h & 0x3ffu;
    if (e == 0) {
        float v = static_cast<float>(m) * 5.9604644775390625e-8f;  // m * 2^-24, exact
        return BitsF32(F32Bits(v) | sign);
    }
    if (e == 31) return BitsF32(sign | 0x7f800000u | (m << 13));
    return BitsF32(sign | ((e + 112u) << 23) | (m << 13));
}

inline uint16_t F32ToBf16(float f) {
    uint32_t x = F32Bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    x += 0x7fffu + ((x >> 16) & 1u);
    return static_cast<uint16_t>(x >> 16);
}

inline float Bf16ToF32(uint16_t b) { return BitsF32(static_cast<uint32_t>(b) << 16); }

}  // namespace cpu
}  // namespace AscendC

struct bfloat16_t;

// binary16. Arithmetic goes through float (exact for + - * / and sqrt, then rounded once).
struct half {
    uint16_t val;

    half() = default;
    template <typename U, typename std::enable_if<std::is_arithmetic<U>::value, int>::type = 0>
    half(U v) : val(AscendC::cpu::F32ToF16(static_cast<float>(v))) {}
    inline explicit half(const bfloat16_t& b);
    operator float() const { return AscendC::cpu::F16ToF32(val); }

    static half FromBits(uint16_t bits) {
        half h;
        h.val = bits;
        return h;
    }
    uint16_t ToBits() const { return val; }

    half& operator+=(float o) { return *this = half(float(*this) + o); }
    half& operator-=(float o) { return *this = half(float(*this) - o); }
    half& operator*=(float o) { return *this = half(float(*this) * o); }
    half& operator/=(float o) { return *this = half(float(*this) / o); }
};

struct bfloat16_t {
    uint16_t val;

    bfloat16_t() = default;
    template <typename U, typename std::enable_if<std::is_arithmetic<U>::value, int>::type = 0>
    bfloat16_t(U v) : val(AscendC::cpu::F32ToBf16(static_cast<float>(v))) {}
    explicit bfloat16_t(const half& h) : val(AscendC::cpu::F32ToBf16(float(h))) {}
    operator float() const { return AscendC::cpu::Bf16ToF32(val); }

    static bfloat16_t FromBits(uint16_t bits) {
        bfloat16_t b;
        b.val = bits;
        return b;
    }
    uint16_t ToBits() const { return val; }

    bfloat16_t& operator+=(float o) { return *this = bfloat16_t(float(*this) + o); }
    bfloat16_t& operator-=(float o) { return *this = bfloat16_t(float(*this) - o); }
    bfloat16_t& operator*=(float o) { return *this = bfloat16_t(float(*this) * o); }
    bfloat16_t& operator/=(float o) { return *this = bfloat16_t(float(*this) / o); }
};

inline half::half(const bfloat16_t& b) : val(AscendC::cpu::F32ToF16(float(b))) {}

static_assert(sizeof(half) == 2 && std::is_trivially_copyable<half>::value, "half must be 2 trivially copyable bytes");
static_assert(sizeof(bfloat16_t) == 2 && std::is_trivially_copyable<bfloat16_t>::value, "bfloat16_t must be 2 bytes");

namespace AscendC {
using ::bfloat16_t;
using ::half;
namespace cpu {

template <typename T> struct Is16Float : std::false_type {};
template <> struct Is16Float<half> : std::true_type {};
template <> struct Is16Float<bfloat16_t> : std::true_type {};

template <typename T> inline uint16_t To16(float f);
template <> inline uint16_t To16<half>(float f) { return F32ToF16(f); }
template <> inline uint16_t To16<bfloat16_t>(float f) { return F32ToBf16(f); }
template <typename T> inline float From16(uint16_t b);
template <> inline float From16<half>(uint16_t b) { return F16ToF32(b); }
template <> inline float From16<bfloat16_t>(uint16_t b) { return Bf16ToF32(b); }

// The next representable value up / down in a sign-magnitude 16-bit float encoding.
inline uint16_t NextUp16(uint16_t h) {
    if (h == 0x8000u) return 0x0001u;
    return (h & 0x8000u) ? static_cast<uint16_t>(h - 1) : static_cast<uint16_t>(h + 1);
}
inline uint16_t NextDown16(uint16_t h) {
    if (h == 0x0000u) return 0x8001u;
    return (h & 0x8000u) ? static_cast<uint16_t>(h + 1) : static_cast<uint16_t>(h - 1);
}

// float -> half / bfloat16_t under a RoundMode (CAST_NONE/CAST_RINT: nearest even; CAST_ROUND:
// nearest, ties away from zero; CAST_ODD: von Neumann rounding to the odd neighbour).
template <typename T>
inline uint16_t RoundTo16(float f, int mode) {
    uint16_t n = To16<T>(f);
    if (mode <= 1 || std::isnan(f)) return n;
    float v = From16<T>(n);
    if (v == f) return n;
    uint16_t lo, hi;
    if (v < f) {
        lo = n;
        hi = NextUp16(n);
    } else {
        hi = n;
        lo = NextDown16(n);
    }
    switch (mode) {
        case 2: return lo;                   // CAST_FLOOR
        case 3: return hi;                   // CAST_CEIL
        case 5: return f > 0.0f ? lo : hi;   // CAST_TRUNC
        case 6: return (lo & 1u) ? lo : hi;  // CAST_ODD
        case 4: {                            // CAST_ROUND
            double dl = static_cast<double>(f) - From16<T>(lo);
            double dh = static_cast<double>(From16<T>(hi)) - f;
            if (dl == dh) return f > 0.0f ? hi : lo;
            return n;
        }
        default: return n;
    }
}

}  // namespace cpu
}  // namespace AscendC
