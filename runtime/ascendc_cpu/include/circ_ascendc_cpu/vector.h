// circ's AscendC CPU layer — the vector unit: count-form elementwise ops, Duplicate, Cast and
// the reductions, with the operand rules of the hardware (UB only, 32-byte aligned starts, no
// partial overlap, count within every operand).
#pragma once

#include "datacopy.h"

namespace AscendC {
namespace cpu {

template <typename T, typename... Ts> struct OneOf : std::false_type {};
template <typename T, typename U, typename... Ts>
struct OneOf<T, U, Ts...> : std::integral_constant<bool, std::is_same<T, U>::value || OneOf<T, Ts...>::value> {};

// The vector unit's arithmetic runs on GCC vector types: 4 lanes (SSE2 on x86-64, NEON or
// generic code elsewhere) and, on x86-64 CPUs that have it, 8 lanes with AVX2 chosen at run
// time (with FMA). Both paths do the same IEEE operations lane by lane, except Exp, whose
// multiply-adds are fused on the 8-lane path (its results may differ in the last bit).
// Vectors travel by reference (8-lane values passed by value would change the ABI of
// functions compiled without AVX).
typedef float V4f __attribute__((vector_size(16)));
typedef int32_t V4i __attribute__((vector_size(16)));
typedef float V8f __attribute__((vector_size(32)));

template <class V>
__attribute__((always_inline)) inline void LdV(V& v, const float* p) {
    std::memcpy(&v, p, sizeof(V));
}
template <class V>
__attribute__((always_inline)) inline void StV(float* p, const V& v) {
    std::memcpy(p, &v, sizeof(V));
}

// e^x in float: range reduction x = n ln2 + r, |r| <= ln2/2, degree-7 Taylor polynomial
// (truncation error < 1e-8 relative), scaled by 2^n. Results below 2^-126 flush to zero.
template <class V>
__attribute__((always_inline)) inline void ExpT(V& out, const V& x) {
    using VI = decltype(x > x);
    const V hiLimit = V{} + 88.72283935546875f;
    const V loLimit = V{} - 87.33654022216797f;
    const V& xc = x;  // out-of-range lanes are replaced by the selects at the end
    const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    V t = xc * 1.44269504088896341f + magic;
    V n = t - magic;
    V r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    V p = V{} + (1.0f / 5040.0f);
    p = p * r + (1.0f / 720.0f);
    p = p * r + (1.0f / 120.0f);
    p = p * r + (1.0f / 24.0f);
    p = p * r + (1.0f / 6.0f);
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    VI e = (__builtin_convertvector(n, VI) + 127) << 23;
    V scale;
    std::memcpy(&scale, &e, sizeof(V));
    V res = p * scale;
    const V inf = V{} + std::numeric_limits<float>::infinity();
    res = x > hiLimit ? inf : res;
    out = x < loLimit ? V{} : res;  // (a NaN x stays NaN through the arithmetic)
}

// Apply f(out, a) to n floats, V at a time, four vectors in flight; the tail is padded into one
// vector so every element gets the same arithmetic. (A macro: the 8-lane copy must be compiled
// inside a function with the AVX2 target, so that f's AVX2 code can be inlined into it.)
#define CIRC_MAP1_BODY(V)                                  \
    constexpr int64_t L = sizeof(V) / sizeof(float);       \
    int64_t i = 0;                                          \
    V x0, x1, x2, x3, r0, r1, r2, r3;                       \
    for (; i + 4 * L <= n; i += 4 * L) {                    \
        LdV(x0, a + i);                                     \
        LdV(x1, a + i + L);                                 \
        LdV(x2, a + i + 2 * L);                             \
        LdV(x3, a + i + 3 * L);                             \
        f(r0, x0);                                          \
        f(r1, x1);                                          \
        f(r2, x2);                                          \
        f(r3, x3);                                          \
        StV(d + i, r0);                                     \
        StV(d + i + L, r1);                                 \
        StV(d + i + 2 * L, r2);                             \
        StV(d + i + 3 * L, r3);                             \
    }                                                       \
    for (; i < n; i += L) {                                 \
        float ta[L] = {}, td[L];                            \
        int64_t m = std::min<int64_t>(L, n - i);            \
        std::memcpy(ta, a + i, m * 4);                      \
        LdV(x0, ta);                                        \
        f(r0, x0);                                          \
        StV(td, r0);                                        \
        std::memcpy(d + i, td, m * 4);                      \
    }

#define CIRC_MAP2_BODY(V)                                                  \
    constexpr int64_t L = sizeof(V) / sizeof(float);                       \
    int64_t i = 0;                                                          \
    V x0, x1, x2, x3, y0, y1, y2, y3, r0, r1, r2, r3;                       \
    for (; i + 4 * L <= n; i += 4 * L) {                                    \
        LdV(x0, a + i);                                                     \
        LdV(x1, a + i + L);                                                 \
        LdV(x2, a + i + 2 * L);                                             \
        LdV(x3, a + i + 3 * L);                                             \
        LdV(y0, b + i);                                                     \
        LdV(y1, b + i + L);                                                 \
        LdV(y2, b + i + 2 * L);                                             \
        LdV(y3, b + i + 3 * L);                                             \
        f(r0, x0, y0);                                                      \
        f(r1, x1, y1);                                                      \
        f(r2, x2, y2);                                                      \
        f(r3, x3, y3);                                                      \
        StV(d + i, r0);                                                     \
        StV(d + i + L, r1);                                                 \
        StV(d + i + 2 * L, r2);                                             \
        StV(d + i + 3 * L, r3);                                             \
    }                                                                       \
    for (; i < n; i += L) {                                                 \
        float ta[L], tb[L], td[L];                                          \
        for (int64_t k = 0; k < L; ++k) ta[k] = tb[k] = 1.0f;               \
        int64_t m = std::min<int64_t>(L, n - i);                            \
        std::memcpy(ta, a + i, m * 4);                                      \
        std::memcpy(tb, b + i, m * 4);                                      \
        LdV(x0, ta);                                                        \
        LdV(y0, tb);                                                        \
        f(r0, x0, y0);                                                      \
        StV(td, r0);                                                        \
        std::memcpy(d + i, td, m * 4);                                      \
    }

template <class F>
inline void Map1Sse(float* d, const float* a, int64_t n, F& f) {
    CIRC_MAP1_BODY(V4f)
}
template <class F>
inline void Map2Sse(float* d, const float* a, const float* b, int64_t n, F& f) {
    CIRC_MAP2_BODY(V4f)
}

#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
// 8 lanes need AVX2 and FMA (every AVX2 CPU has FMA; Exp uses it on this path).
CIRC_HIDDEN inline bool HasAvx2() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return yes;
}
template <class F>
__attribute__((target("avx2,fma"))) void Map1Avx2(float* d, const float* a, int64_t n, F& f) {
    CIRC_MAP1_BODY(V8f)
}
template <class F>
__attribute__((target("avx2,fma"))) void Map2Avx2(float* d, const float* a, const float* b, int64_t n, F& f) {
    CIRC_MAP2_BODY(V8f)
}

// e^x on 8 lanes with fused multiply-adds: the same algorithm as ExpT, each a * b + c rounded
// once (results may differ from the 4-lane path in the last bit).
__attribute__((target("avx2,fma"), always_inline)) inline void ExpFma(V8f& out, const V8f& x) {
    typedef int32_t V8i __attribute__((vector_size(32)));
    const V8f hiLimit = V8f{} + 88.72283935546875f;
    const V8f loLimit = V8f{} - 87.33654022216797f;
    const V8f magic = V8f{} + 12582912.0f;
    V8f t = __builtin_ia32_vfmaddps256(x, V8f{} + 1.44269504088896341f, magic);
    V8f n = t - magic;
    V8f r = __builtin_ia32_vfmaddps256(n, V8f{} - 0.693359375f, x);
    r = __builtin_ia32_vfmaddps256(n, V8f{} + 2.12194440e-4f, r);
    V8f p = V8f{} + (1.0f / 5040.0f);
    p = __builtin_ia32_vfmaddps256(p, r, V8f{} + (1.0f / 720.0f));
    p = __builtin_ia32_vfmaddps256(p, r, V8f{} + (1.0f / 120.0f));
    p = __builtin_ia32_vfmaddps256(p, r, V8f{} + (1.0f / 24.0f));
    p = __builtin_ia32_vfmaddps256(p, r, V8f{} + (1.0f / 6.0f));
    p = __builtin_ia32_vfmaddps256(p, r, V8f{} + 0.5f);
    p = __builtin_ia32_vfmaddps256(p, r, V8f{} + 1.0f);
    p = __builtin_ia32_vfmaddps256(p, r, V8f{} + 1.0f);
    V8i e = (__builtin_convertvector(n, V8i) + 127) << 23;
    V8f scale;
    std::memcpy(&scale, &e, sizeof(V8f));
    V8f res = p * scale;
    res = x > hiLimit ? V8f{} + std::numeric_limits<float>::infinity() : res;
    out = x < loLimit ? V8f{} : res;
}
#endif

// The Exp functor: ExpT on 4 lanes, ExpFma on 8.
struct ExpOp {
    __attribute__((always_inline)) void operator()(V4f& o, const V4f& a) const { ExpT(o, a); }
#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
    __attribute__((target("avx2,fma"), always_inline)) void operator()(V8f& o, const V8f& a) const { ExpFma(o, a); }
#endif
};

template <class F>
inline void Map1F(float* d, const float* a, int64_t n, F f) {
#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
    if (HasAvx2()) return Map1Avx2(d, a, n, f);
#endif
    Map1Sse(d, a, n, f);
}

template <class F>
inline void Map2F(float* d, const float* a, const float* b, int64_t n, F f) {
#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
    if (HasAvx2()) return Map2Avx2(d, a, b, n, f);
#endif
    Map2Sse(d, a, b, n, f);
}

// half / bfloat16_t: through float in chunks, rounded once to nearest even.
constexpr int64_t kChunk = 256;

template <typename T, class F>
inline void Map1H(T* d, const T* a, int64_t n, F f) {
    float fa[kChunk], fd[kChunk];
    for (int64_t i = 0; i < n; i += kChunk) {
        int64_t m = std::min(kChunk, n - i);
        for (int64_t k = 0; k < m; ++k) fa[k] = float(a[i + k]);
        Map1F(fd, fa, m, f);
        for (int64_t k = 0; k < m; ++k) d[i + k] = T(fd[k]);
    }
}

template <typename T, class F>
inline void Map2H(T* d, const T* a, const T* b, int64_t n, F f) {
    float fa[kChunk], fb[kChunk], fd[kChunk];
    for (int64_t i = 0; i < n; i += kChunk) {
        int64_t m = std::min(kChunk, n - i);
        for (int64_t k = 0; k < m; ++k) {
            fa[k] = float(a[i + k]);
            fb[k] = float(b[i + k]);
        }
        Map2F(fd, fa, fb, m, f);
        for (int64_t k = 0; k < m; ++k) d[i + k] = T(fd[k]);
    }
}

// A vector operand: live, in the UB, 32-byte aligned, holding at least `count` elements.
template <typename T>
inline T* VecOperand(const LocalTensor<T>& t, int64_t count, const char* role, const Loc& loc, const char* api,
                     uint32_t align = 32) {
    CheckLive(t.desc_, role, loc, api);
    if (DescHw(t.desc_) != Hw::UB) {
        Fail(loc, api, "%s is at TPosition::%s: vector instructions work on the Unified Buffer only", role,
             PosName(static_cast<TPosition>(t.desc_.pos)));
    }
    if (t.desc_.addr % align != 0) {
        Fail(loc, api, "%s starts at UB byte %u, which is not %u-byte aligned", role, t.desc_.addr, align);
    }
    if (static_cast<uint64_t>(count) > t.GetSize()) {
        Fail(loc, api, "count %lld exceeds %s, which holds %u elements of %s", (long long)count, role, t.GetSize(),
             TypeName<T>::Get());
    }
    return t.Ptr();
}

inline bool CountOk(int64_t count, const Loc& loc, const char* api) {
    Tick();
    if (count < 0) Fail(loc, api, "count %lld is negative", (long long)count);
    if (Cfg().mode == KernelMode::AIC_MODE && Cfg().arch == 220) {
        Fail(loc, api, "vector instruction in KernelMode::AIC_MODE: cube cores of arch 220 have no vector unit");
    }
    return count > 0;
}

template <typename T, typename U>
inline void NoPartialOverlap(const T* d, int64_t nd, const U* s, int64_t ns, const char* sname, const Loc& loc,
                             const char* api) {
    const uint8_t* a = reinterpret_cast<const uint8_t*>(d);
    const uint8_t* b = reinterpret_cast<const uint8_t*>(s);
    uint64_t na = nd * sizeof(T), nb = ns * sizeof(U);
    if (a < b + nb && b < a + na && (a != b || sizeof(T) != sizeof(U))) {
        Fail(loc, api, "dst and %s overlap partially: operands must be disjoint or start at the same address", sname);
    }
}

template <typename T> inline float AsF(T v) { return static_cast<float>(v); }

// Elementwise binary op on T = half / float / int16_t / int32_t.
template <typename T, class FV, class FI>
inline void Binary(const LocalTensor<T>& dst, const LocalTensor<T>& a, const LocalTensor<T>& b, int64_t n,
                   const Loc& loc, const char* api, FV fv, FI fi) {
    if (!CountOk(n, loc, api)) return;
    T* pd = VecOperand(dst, n, "dst", loc, api);
    const T* pa = VecOperand(a, n, "src0", loc, api);
    const T* pb = VecOperand(b, n, "src1", loc, api);
    NoPartialOverlap(pd, n, pa, n, "src0", loc, api);
    NoPartialOverlap(pd, n, pb, n, "src1", loc, api);
    if constexpr (std::is_same<T, float>::value) {
        Map2F(pd, pa, pb, n, fv);
    } else if constexpr (Is16Float<T>::value) {
        Map2H(pd, pa, pb, n, fv);
    } else {
        for (int64_t i = 0; i < n; ++i) pd[i] = static_cast<T>(fi(static_cast<int64_t>(pa[i]), static_cast<int64_t>(pb[i])));
    }
}

template <typename T, class FV, class FI>
inline void Unary(const LocalTensor<T>& dst, const LocalTensor<T>& a, int64_t n, const Loc& loc, const char* api,
                  FV fv, FI fi) {
    if (!CountOk(n, loc, api)) return;
    T* pd = VecOperand(dst, n, "dst", loc, api);
    const T* pa = VecOperand(a, n, "src", loc, api);
    NoPartialOverlap(pd, n, pa, n, "src", loc, api);
    if constexpr (std::is_same<T, float>::value) {
        Map1F(pd, pa, n, fv);
    } else if constexpr (Is16Float<T>::value) {
        Map1H(pd, pa, n, fv);
    } else {
        for (int64_t i = 0; i < n; ++i) pd[i] = static_cast<T>(fi(static_cast<int64_t>(pa[i])));
    }
}

// Per-lane scalar function for ops GCC has no vector form of (sqrt, log).
template <float (*F)(float), class V>
inline void Lanes(V& out, const V& x) {
    for (int k = 0; k < static_cast<int>(sizeof(V) / sizeof(float)); ++k) out[k] = F(x[k]);
}
inline float SqrtF(float x) { return std::sqrt(x); }
inline float LnF(float x) { return std::log(x); }
inline float RsqrtF(float x) { return 1.0f / std::sqrt(x); }
inline float TanhF(float x) { return std::tanh(x); }
inline float SinF(float x) { return std::sin(x); }
inline float CosF(float x) { return std::cos(x); }
inline float ErfF(float x) { return std::erf(x); }
inline float FloorF(float x) { return std::floor(x); }
template <class V>
inline void PowLanes(V& out, const V& x, const V& y) {
    for (int k = 0; k < static_cast<int>(sizeof(V) / sizeof(float)); ++k) out[k] = std::pow(x[k], y[k]);
}

struct NoInt {
    int64_t operator()(int64_t a) const { return a; }
    int64_t operator()(int64_t a, int64_t) const { return a; }
};

}  // namespace cpu

#define CIRC_TYPES_ARITH(T_, api_) \
    static_assert(cpu::OneOf<T_, half, float, int16_t, int32_t>::value, api_ ": T must be half, float, int16_t or int32_t")
#define CIRC_TYPES_FLOAT(T_, api_) static_assert(cpu::OneOf<T_, half, float>::value, api_ ": T must be half or float")

// ---- binary: dst = src0 (op) src1 ----------------------------------------------------------------
template <typename T, bool isSetMask = true>
inline void Add(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, const int32_t& count,
                CIRC_LOC) {
    CIRC_TYPES_ARITH(T, "Add");
    cpu::Binary(dst, src0, src1, count, circLoc, "Add", [](auto& o, const auto& a, const auto& b) { o = a + b; },
                [](int64_t a, int64_t b) { return a + b; });
}
template <typename T, bool isSetMask = true>
inline void Sub(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, const int32_t& count,
                CIRC_LOC) {
    CIRC_TYPES_ARITH(T, "Sub");
    cpu::Binary(dst, src0, src1, count, circLoc, "Sub", [](auto& o, const auto& a, const auto& b) { o = a - b; },
                [](int64_t a, int64_t b) { return a - b; });
}
template <typename T, bool isSetMask = true>
inline void Mul(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, const int32_t& count,
                CIRC_LOC) {
    CIRC_TYPES_ARITH(T, "Mul");
    cpu::Binary(dst, src0, src1, count, circLoc, "Mul", [](auto& o, const auto& a, const auto& b) { o = a * b; },
                [](int64_t a, int64_t b) { return a * b; });
}
template <typename T, bool isSetMask = true>
inline void Div(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, const int32_t& count,
                CIRC_LOC) {
    CIRC_TYPES_FLOAT(T, "Div");
    cpu::Binary(dst, src0, src1, count, circLoc, "Div", [](auto& o, const auto& a, const auto& b) { o = a / b; }, cpu::NoInt());
}
template <typename T, bool isSetMask = true>
inline void Max(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, const int32_t& count,
                CIRC_LOC) {
    CIRC_TYPES_ARITH(T, "Max");
    cpu::Binary(dst, src0, src1, count, circLoc, "Max", [](auto& o, const auto& a, const auto& b) { o = a > b ? a : b; },
                [](int64_t a, int64_t b) { return a > b ? a : b; });
}
template <typename T, bool isSetMask = true>
inline void Min(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1, const int32_t& count,
                CIRC_LOC) {
    CIRC_TYPES_ARITH(T, "Min");
    cpu::Binary(dst, src0, src1, count, circLoc, "Min", [](auto& o, const auto& a, const auto& b) { o = a < b ? a : b; },
                [](int64_t a, int64_t b) { return a < b ? a : b; });
}

// ---- tensor (op) scalar ----------------------------------------------------------------------------
template <typename T, bool isSetMask = true>
inline void Adds(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const int32_t& count,
                 CIRC_LOC) {
    CIRC_TYPES_ARITH(T, "Adds");
    float s = cpu::AsF(scalarValue);
    int64_t si = static_cast<int64_t>(cpu::AsF(scalarValue));
    cpu::Unary(dst, src, count, circLoc, "Adds", [s](auto& o, const auto& a) { o = a + s; }, [si](int64_t a) { return a + si; });
}
template <typename T, bool isSetMask = true>
inline void Muls(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const int32_t& count,
                 CIRC_LOC) {
    CIRC_TYPES_ARITH(T, "Muls");
    float s = cpu::AsF(scalarValue);
    int64_t si = static_cast<int64_t>(cpu::AsF(scalarValue));
    cpu::Unary(dst, src, count, circLoc, "Muls", [s](auto& o, const auto& a) { o = a * s; }, [si](int64_t a) { return a * si; });
}
template <typename T, bool isSetMask = true>
inline void Maxs(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const int32_t& count,
                 CIRC_LOC) {
    CIRC_TYPES_ARITH(T, "Maxs");
    float s = cpu::AsF(scalarValue);
    int64_t si = static_cast<int64_t>(cpu::AsF(scalarValue));
    cpu::Unary(dst, src, count, circLoc, "Maxs", [s](auto& o, const auto& a) {
                   std::decay_t<decltype(a)> v = std::decay_t<decltype(a)>{} + s;
                   o = a > v ? a : v;
               },
               [si](int64_t a) { return a > si ? a : si; });
}
template <typename T, bool isSetMask = true>
inline void Mins(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const int32_t& count,
                 CIRC_LOC) {
    CIRC_TYPES_ARITH(T, "Mins");
    float s = cpu::AsF(scalarValue);
    int64_t si = static_cast<int64_t>(cpu::AsF(scalarValue));
    cpu::Unary(dst, src, count, circLoc, "Mins", [s](auto& o, const auto& a) {
                   std::decay_t<decltype(a)> v = std::decay_t<decltype(a)>{} + s;
                   o = a < v ? a : v;
               },
               [si](int64_t a) { return a < si ? a : si; });
}

// ---- unary -----------------------------------------------------------------------------------------
template <typename T, bool isSetMask = true>
inline void Exp(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t& count, CIRC_LOC) {
    CIRC_TYPES_FLOAT(T, "Exp");
    cpu::Unary(dst, src, count, circLoc, "Exp", cpu::ExpOp(),
               cpu::NoInt());
}
template <typename T, bool isSetMask = true>
inline void Ln(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t& count, CIRC_LOC) {
    CIRC_TYPES_FLOAT(T, "Ln");
    cpu::Unary(dst, src, count, circLoc, "Ln", [](auto& o, const auto& a) { cpu::Lanes<cpu::LnF>(o, a); }, cpu::NoInt());
}
template <typename T, bool isSetMask = true>
inline void Sqrt(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t& count, CIRC_LOC) {
    CIRC_TYPES_FLOAT(T, "Sqrt");
    cpu::Unary(dst, src, count, circLoc, "Sqrt", [](auto& o, const auto& a) { cpu::Lanes<cpu::SqrtF>(o, a); }, cpu::NoInt());
}
template <typename T, bool isSetMask = true>
inline void Rsqrt(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t& count, CIRC_LOC) {
    CIRC_TYPES_FLOAT(T, "Rsqrt");
    cpu::Unary(dst, src, count, circLoc, "Rsqrt", [](auto& o, const auto& a) { cpu::Lanes<cpu::RsqrtF>(o, a); }, cpu::NoInt());
}
template <typename T, bool isSetMask = true>
inline void Reciprocal(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t& count, CIRC_LOC) {
    CIRC_TYPES_FLOAT(T, "Reciprocal");
    cpu::Unary(dst, src, count, circLoc, "Reciprocal", [](auto& o, const auto& a) { o = 1.0f / a; }, cpu::NoInt());
}
// Advanced math API (lib/math in CANN: Tanh, Sin, Cos, Erf, Floor, Power), count form; the
// NPU versions take an optional sharedTmpBuffer, which the CPU layer does not need.
#define CIRC_ADV_UNARY(NAME, FN)                                                                         \
    template <typename T, bool isReuseSource = false>                                                    \
    inline void NAME(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor, const uint32_t calCount, \
                     CIRC_LOC) {                                                                         \
        CIRC_TYPES_FLOAT(T, #NAME);                                                                      \
        cpu::Unary(dstTensor, srcTensor, calCount, circLoc, #NAME,                                      \
                   [](auto& o, const auto& a) { cpu::Lanes<cpu::FN>(o, a); }, cpu::NoInt());            \
    }
CIRC_ADV_UNARY(Tanh, TanhF)
CIRC_ADV_UNARY(Sin, SinF)
CIRC_ADV_UNARY(Cos, CosF)
CIRC_ADV_UNARY(Erf, ErfF)
CIRC_ADV_UNARY(Floor, FloorF)
#undef CIRC_ADV_UNARY
template <typename T, bool isReuseSource = false>
inline void Power(const LocalTensor<T>& dstTensor, const LocalTensor<T>& src0Tensor, const LocalTensor<T>& src1Tensor,
                  const uint32_t calCount, CIRC_LOC) {
    CIRC_TYPES_FLOAT(T, "Power");
    cpu::Binary(dstTensor, src0Tensor, src1Tensor, calCount, circLoc, "Power",
                [](auto& o, const auto& a, const auto& b) { cpu::PowLanes(o, a, b); }, cpu::NoInt());
}
// Activation API (lib/activation in CANN): Silu(dst, src, dataSize) = x / (1 + e^-x), in one
// sweep (the Exp of the vector unit, then one division); src and dst must not overlap at all.
namespace cpu {
struct SiluOp {
    __attribute__((always_inline)) void operator()(V4f& o, const V4f& a) const {
        V4f e;
        ExpT(e, -a);
        o = a / ((V4f{} + 1.0f) + e);
    }
#if defined(__x86_64__) && !defined(CIRC_ASCENDC_NO_AVX2)
    __attribute__((target("avx2,fma"), always_inline)) void operator()(V8f& o, const V8f& a) const {
        V8f e;
        ExpFma(e, -a);
        o = a / ((V8f{} + 1.0f) + e);
    }
#endif
};
}  // namespace cpu
template <typename T, bool isReuseSource = false>
inline void Silu(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const uint32_t dataSize, CIRC_LOC) {
    CIRC_TYPES_FLOAT(T, "Silu");
    if (!cpu::CountOk(dataSize, circLoc, "Silu")) return;
    const T* pd = cpu::VecOperand(dstLocal, dataSize, "dst", circLoc, "Silu");
    const T* ps = cpu::VecOperand(srcLocal, dataSize, "src", circLoc, "Silu");
    if (pd < ps + dataSize && ps < pd + dataSize) {
        cpu::Fail(circLoc, "Silu", "dst and src overlap: Silu needs disjoint operands");
    }
    cpu::Unary(dstLocal, srcLocal, dataSize, circLoc, "Silu", cpu::SiluOp(), cpu::NoInt());
}
template <typename T, bool isSetMask = true>
inline void Abs(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t& count, CIRC_LOC) {
    CIRC_TYPES_FLOAT(T, "Abs");
    cpu::Unary(dst, src, count, circLoc, "Abs",
               [](auto& o, const auto& a) {
                   decltype(a > a) i;
                   std::memcpy(&i, &a, sizeof(a));
                   i &= 0x7fffffff;
                   std::memcpy(&o, &i, sizeof(a));
               },
               cpu::NoInt());
}
template <typename T, bool isSetMask = true>
inline void Relu(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t& count, CIRC_LOC) {
    static_assert(cpu::OneOf<T, half, float, int32_t>::value, "Relu: T must be half, float or int32_t");
    cpu::Unary(dst, src, count, circLoc, "Relu", [](auto& o, const auto& a) { o = a > 0.0f ? a : std::decay_t<decltype(a)>{}; },
               [](int64_t a) { return a > 0 ? a : int64_t(0); });
}

// ---- Duplicate -------------------------------------------------------------------------------------
template <typename T>
inline void Duplicate(const LocalTensor<T>& dst, const T& scalarValue, const int32_t& count, CIRC_LOC) {
    static_assert(cpu::OneOf<T, half, bfloat16_t, float, int16_t, uint16_t, int32_t, uint32_t>::value,
                  "Duplicate: T must be a 16- or 32-bit type");
    if (!cpu::CountOk(count, circLoc, "Duplicate")) return;
    T* d = cpu::VecOperand(dst, count, "dst", circLoc, "Duplicate");
    for (int64_t i = 0; i < count; ++i) d[i] = scalarValue;
}

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

// int32 -> float under m: the float neighbours of the exact value, picked by the mode.
inline float IntToFloat(int32_t v, RoundMode m) {
    float n = static_cast<float>(v);  // nearest even
    if (static_cast<double>(n) == static_cast<double>(v)) return n;
    float lo = static_cast<double>(n) < v ? n : std::nextafter(n, -INFINITY);
    float hi = static_cast<double>(n) > v ? n : std::nextafter(n, INFINITY);
    switch (m) {
        case RoundMode::CAST_FLOOR: return lo;
        case RoundMode::CAST_CEIL: return hi;
        case RoundMode::CAST_TRUNC: return v > 0 ? lo : hi;
        case RoundMode::CAST_ROUND: {
            double dl = static_cast<double>(v) - lo, dh = static_cast<double>(hi) - v;
            if (dl == dh) return v > 0 ? hi : lo;
            return n;
        }
        default: return n;
    }
}

// Which (dst, src, round mode) conversions the A2 vector unit (arch 220) has.
enum CastKind { kCastNone, kCastDirected, kCastDirectedOrNone, kCastF2H };
template <typename D, typename S> struct CastRule { static constexpr int kind = -1; };
template <> struct CastRule<float, half> { static constexpr int kind = kCastNone; };
template <> struct CastRule<half, float> { static constexpr int kind = kCastF2H; };
template <> struct CastRule<bfloat16_t, float> { static constexpr int kind = kCastDirected; };
template <> struct CastRule<float, bfloat16_t> { static constexpr int kind = kCastNone; };
template <> struct CastRule<int32_t, float> { static constexpr int kind = kCastDirected; };
template <> struct CastRule<float, int32_t> { static constexpr int kind = kCastDirectedOrNone; };
template <> struct CastRule<int32_t, half> { static constexpr int kind = kCastDirected; };
template <> struct CastRule<int32_t, bfloat16_t> { static constexpr int kind = kCastDirected; };
template <> struct CastRule<int8_t, half> { static constexpr int kind = kCastDirectedOrNone; };
template <> struct CastRule<half, int8_t> { static constexpr int kind = kCastNone; };
template <> struct CastRule<float, float> { static constexpr int kind = kCastDirected; };
template <> struct CastRule<int16_t, float> { static constexpr int kind = kCastDirected; };
template <> struct CastRule<float, int16_t> { static constexpr int kind = kCastNone; };
template <> struct CastRule<int16_t, half> { static constexpr int kind = kCastDirected; };
template <> struct CastRule<half, int16_t> { static constexpr int kind = kCastDirectedOrNone; };
template <> struct CastRule<int16_t, int32_t> { static constexpr int kind = kCastNone; };

template <typename D, typename S>
inline D CastOne(S s, RoundMode m) {
    if constexpr (std::is_same<D, half>::value || std::is_same<D, bfloat16_t>::value) {
        return D::FromBits(RoundTo16<D>(static_cast<float>(s), static_cast<int>(m)));
    } else if constexpr (std::is_same<D, float>::value) {
        if constexpr (std::is_same<S, float>::value) return static_cast<float>(RoundIntegral(s, m));
        else if constexpr (std::is_same<S, int32_t>::value) return IntToFloat(s, m);
        else return static_cast<float>(s);
    } else if constexpr (std::is_integral<S>::value) {
        return SaturateInt<D>(static_cast<double>(s), m);
    } else {
        return SaturateInt<D>(static_cast<double>(static_cast<float>(s)), m);
    }
}

}  // namespace cpu

template <typename T, typename U>
inline void Cast(const LocalTensor<T>& dst, const LocalTensor<U>& src, const RoundMode& roundMode,
                 const uint32_t count, CIRC_LOC) {
    constexpr int kind = cpu::CastRule<T, U>::kind;
    static_assert(kind >= 0,
                  "Cast: this (dst, src) type pair has no vector conversion on arch 220 (supported: half<->float, "
                  "float->bfloat16_t, bfloat16_t->float, float<->int32_t, half->int32_t, bfloat16_t->int32_t, "
                  "half<->int8_t, half<->int16_t, int16_t<->float, float->float, int32_t->int16_t)");
    const char* api = "Cast";
    if (!cpu::CountOk(count, circLoc, api)) return;
    bool none = roundMode == RoundMode::CAST_NONE;
    bool odd = roundMode == RoundMode::CAST_ODD;
    bool known = static_cast<uint8_t>(roundMode) <= static_cast<uint8_t>(RoundMode::CAST_ODD);
    bool ok = known && ((kind == cpu::kCastNone && none) || (kind == cpu::kCastDirected && !none && !odd) ||
                        (kind == cpu::kCastDirectedOrNone && !odd) || kind == cpu::kCastF2H);
    if (!ok) {
        cpu::Fail(circLoc, api, "%s -> %s does not support RoundMode::%s (allowed: %s)", cpu::TypeName<U>::Get(),
                  cpu::TypeName<T>::Get(), cpu::RoundName(roundMode),
                  kind == cpu::kCastNone       ? "CAST_NONE"
                  : kind == cpu::kCastDirected ? "CAST_RINT/FLOOR/CEIL/ROUND/TRUNC"
                  : kind == cpu::kCastF2H      ? "CAST_NONE/RINT/FLOOR/CEIL/ROUND/TRUNC/ODD"
                                               : "CAST_NONE/RINT/FLOOR/CEIL/ROUND/TRUNC");
    }
    T* d = cpu::VecOperand(dst, count, "dst", circLoc, api);
    const U* s = cpu::VecOperand(src, count, "src", circLoc, api);
    cpu::NoPartialOverlap(d, count, s, count, "src", circLoc, api);
    if constexpr (std::is_same<T, half>::value && std::is_same<U, float>::value) {
        if (roundMode == RoundMode::CAST_NONE || roundMode == RoundMode::CAST_RINT) {
            for (uint32_t i = 0; i < count; ++i) d[i].val = cpu::F32ToF16(s[i]);
            return;
        }
    }
    for (uint32_t i = 0; i < count; ++i) d[i] = cpu::CastOne<T, U>(s[i], roundMode);
}

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
inline int64_t MaxWorkNeed(int64_t count, bool calIndex) {
    int64_t perBlock = 32 / sizeof(T), perRepeat = 256 / sizeof(T);
    int64_t first = std::max<int64_t>(1, count / perRepeat);
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
    std::vector<std::pair<float, int64_t>> round1(reps);
    for (int64_t r = 0; r < reps; ++r) {
        int64_t lo = r * perRepeat, hi = std::min(count, lo + perRepeat);
        int64_t bi = lo;
        float v = AsF(ps[lo]);
        for (int64_t i = lo + 1; i < hi; ++i) {
            float x = AsF(ps[i]);
            if (kMax ? (x > v) : (x < v)) {
                v = x;
                bi = i;
            }
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

#undef CIRC_TYPES_ARITH
#undef CIRC_TYPES_FLOAT
#undef CIRC_MAP1_BODY
#undef CIRC_MAP2_BODY

}  // namespace AscendC
