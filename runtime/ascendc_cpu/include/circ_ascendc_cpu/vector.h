// circ's AscendC CPU layer — the vector unit: the lane arithmetic every vector API shares, and
// the elementwise ops (binary, unary, tensor-scalar, Duplicate) in their count form and their
// repeat forms (mask + repeatTimes + Binary/UnaryRepeatParams), with the operand rules of the
// hardware (UB only, 32-byte aligned starts, count or every active lane within each operand,
// no partial overlap in the count form). Cast is in cast.h, reductions in reduce.h.
#pragma once

#include "datacopy.h"
#include "mask.h"

namespace AscendC {
namespace cpu {


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

// erf(x) in float, branch-free so that it vectorises: |x| < 1: x P(x^2) (degree 6); 1 <= |x| <
// 4: 1 - e^(-x^2) Q(|x| - 2.5) (degree 9); |x| >= 4: 1 (erf(4) rounds to 1 in float); the sign
// of x copied on. P and Q were fitted in double on Chebyshev nodes; evaluated in float, the
// result is within 2.6 ulp of erf over [-6, 6] (e^(-x^2) through ExpT on both lane widths).
template <class V>
__attribute__((always_inline)) inline void ErfT(V& out, const V& x) {
    using VI = decltype(x > x);
    VI bits, sign;
    std::memcpy(&bits, &x, sizeof(V));
    sign = bits & static_cast<int32_t>(0x80000000u);
    bits &= 0x7fffffff;
    V a;
    std::memcpy(&a, &bits, sizeof(V));
    const V t = a * a;
    V p = V{} + 7.933493809e-05f;
    p = p * t + -8.034846623e-04f;
    p = p * t + 5.191218374e-03f;
    p = p * t + -2.685539945e-02f;
    p = p * t + 1.128362573e-01f;
    p = p * t + -3.761262988e-01f;
    p = p * t + 1.128379167e+00f;
    const V small = a * p;
    const V s = a - 2.5f;
    V q = V{} + -6.386085704e-06f;
    q = q * s + 2.375754761e-05f;
    q = q * s + -5.358580906e-05f;
    q = q * s + 1.944581815e-04f;
    q = q * s + -7.389975677e-04f;
    q = q * s + 2.480859598e-03f;
    q = q * s + -7.999345595e-03f;
    q = q * s + 2.493401951e-02f;
    q = q * s + -7.434760093e-02f;
    q = q * s + 2.108065458e-01f;
    V e;
    ExpT(e, -t);
    V large = 1.0f - e * q;
    large = a >= 4.0f ? V{} + 1.0f : large;  // (a NaN |x| fails every test: NaN from `large`)
    V r = a < 1.0f ? small : large;
    VI rb;
    std::memcpy(&rb, &r, sizeof(V));
    rb |= sign;
    std::memcpy(&out, &rb, sizeof(V));
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
inline float FloorF(float x) { return std::floor(x); }
template <class V>
inline void PowLanes(V& out, const V& x, const V& y) {
    for (int k = 0; k < static_cast<int>(sizeof(V) / sizeof(float)); ++k) out[k] = std::pow(x[k], y[k]);
}


// d = f(a, b) on n contiguous elements: float lane by lane, half/bfloat16_t through float
// (rounded once), integer types through int64_t (wrapped to T). One functor gives both forms:
// f(V& out, const V& a, const V& b) for float vectors, f(int64_t, int64_t) for integers.
template <typename T, class F>
inline void Compute2(T* d, const T* a, const T* b, int64_t n, const F& f) {
    if constexpr (std::is_same<T, float>::value) {
        Map2F(d, a, b, n, f);
    } else if constexpr (Is16Float<T>::value) {
        Map2H(d, a, b, n, f);
    } else {
        for (int64_t i = 0; i < n; ++i) d[i] = static_cast<T>(f(static_cast<int64_t>(a[i]), static_cast<int64_t>(b[i])));
    }
}

template <typename T, class F>
inline void Compute1(T* d, const T* a, int64_t n, const F& f) {
    if constexpr (std::is_same<T, float>::value) {
        Map1F(d, a, n, f);
    } else if constexpr (Is16Float<T>::value) {
        Map1H(d, a, n, f);
    } else {
        for (int64_t i = 0; i < n; ++i) d[i] = static_cast<T>(f(static_cast<int64_t>(a[i])));
    }
}

// ---- count form: the first `count` elements ---------------------------------------------------------
template <bool isSetMask, typename T, class F>
inline void BinaryCount(const LocalTensor<T>& dst, const LocalTensor<T>& a, const LocalTensor<T>& b, int64_t count,
                        const Loc& loc, const char* api, const F& f) {
    int64_t n = CountFormCount<isSetMask>(count, loc, api);
    if (!CountOk(n, loc, api)) return CountFormDone<isSetMask>();
    T* pd = VecOperand(dst, n, "dst", loc, api);
    const T* pa = VecOperand(a, n, "src0", loc, api);
    const T* pb = VecOperand(b, n, "src1", loc, api);
    NoPartialOverlap(pd, n, pa, n, "src0", loc, api);
    NoPartialOverlap(pd, n, pb, n, "src1", loc, api);
    Compute2(pd, pa, pb, n, f);
    CountFormDone<isSetMask>();
}

template <bool isSetMask, typename T, class F>
inline void UnaryCount(const LocalTensor<T>& dst, const LocalTensor<T>& a, int64_t count, const Loc& loc,
                       const char* api, const F& f) {
    int64_t n = CountFormCount<isSetMask>(count, loc, api);
    if (!CountOk(n, loc, api)) return CountFormDone<isSetMask>();
    T* pd = VecOperand(dst, n, "dst", loc, api);
    const T* pa = VecOperand(a, n, "src", loc, api);
    NoPartialOverlap(pd, n, pa, n, "src", loc, api);
    Compute1(pd, pa, n, f);
    CountFormDone<isSetMask>();
}

// ---- repeat form: mask + repeatTimes + strides ---------------------------------------------------------
// Repeats run in order, each reading all its lanes before writing any (so in-place operands
// and repeats that read what an earlier repeat wrote behave as on the NPU).
inline bool VectorEntry(const Loc& loc, const char* api) { return CountOk(1, loc, api); }

template <bool isSetMask, typename T, class F>
inline void BinaryRep(const LocalTensor<T>& dst, const LocalTensor<T>& a, const LocalTensor<T>& b, const MaskArg& mask,
                      int64_t repeatTimes, const BinaryRepeatParams& p, const Loc& loc, const char* api, const F& f) {
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    Stride sd{p.dstBlkStride, p.dstRepStride}, sa{p.src0BlkStride, p.src0RepStride}, sb{p.src1BlkStride, p.src1RepStride};
    T* pd = RepOperand(dst, sd, ln, "dst", loc, api);
    T* pa = RepOperand(a, sa, ln, "src0", loc, api);
    T* pb = RepOperand(b, sb, ln, "src1", loc, api);
    int idx[L];
    T va[L], vb[L], vd[L];
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        for (int k = 0; k < n; ++k) {
            va[k] = LaneAt(pa, sa, r, idx[k]);
            vb[k] = LaneAt(pb, sb, r, idx[k]);
        }
        Compute2(vd, va, vb, n, f);
        for (int k = 0; k < n; ++k) LaneAt(pd, sd, r, idx[k]) = vd[k];
    }
}

template <bool isSetMask, typename T, class F>
inline void UnaryRep(const LocalTensor<T>& dst, const LocalTensor<T>& a, const MaskArg& mask, int64_t repeatTimes,
                     const UnaryRepeatParams& p, const Loc& loc, const char* api, const F& f) {
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    Stride sd{p.dstBlkStride, p.dstRepStride}, sa{p.srcBlkStride, p.srcRepStride};
    T* pd = RepOperand(dst, sd, ln, "dst", loc, api);
    T* pa = RepOperand(a, sa, ln, "src", loc, api);
    int idx[L];
    T va[L], vd[L];
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        for (int k = 0; k < n; ++k) va[k] = LaneAt(pa, sa, r, idx[k]);
        Compute1(vd, va, n, f);
        for (int k = 0; k < n; ++k) LaneAt(pd, sd, r, idx[k]) = vd[k];
    }
}

// ---- the lane functors -----------------------------------------------------------------------------
#define CIRC_LANE_BINARY(NAME, VEXPR, IEXPR)                                                     \
    struct NAME {                                                                                \
        template <class V>                                                                       \
        __attribute__((always_inline)) void operator()(V& o, const V& a, const V& b) const {     \
            VEXPR;                                                                               \
        }                                                                                        \
        int64_t operator()(int64_t a, int64_t b) const { return IEXPR; }                         \
    };
CIRC_LANE_BINARY(AddOp, o = a + b, a + b)
CIRC_LANE_BINARY(SubOp, o = a - b, a - b)
CIRC_LANE_BINARY(MulOp, o = a * b, a * b)
CIRC_LANE_BINARY(DivOp, o = a / b, b == 0 ? 0 : a / b)
CIRC_LANE_BINARY(MaxOp, o = a > b ? a : b, a > b ? a : b)
CIRC_LANE_BINARY(MinOp, o = a < b ? a : b, a < b ? a : b)
CIRC_LANE_BINARY(AndOp, o = a, a & b)
CIRC_LANE_BINARY(OrOp, o = a, a | b)
CIRC_LANE_BINARY(PowOp, PowLanes(o, a, b), a)
#undef CIRC_LANE_BINARY

#define CIRC_LANE_UNARY(NAME, VEXPR, IEXPR)                                                      \
    struct NAME {                                                                                \
        template <class V>                                                                       \
        __attribute__((always_inline)) void operator()(V& o, const V& a) const {                 \
            VEXPR;                                                                               \
        }                                                                                        \
        int64_t operator()(int64_t a) const { return IEXPR; }                                    \
    };
CIRC_LANE_UNARY(LnOp, Lanes<LnF>(o, a), a)
CIRC_LANE_UNARY(SqrtOp, Lanes<SqrtF>(o, a), a)
CIRC_LANE_UNARY(RsqrtOp, Lanes<RsqrtF>(o, a), a)
CIRC_LANE_UNARY(ReciprocalOp, o = 1.0f / a, a)
CIRC_LANE_UNARY(ReluOp, o = a > 0.0f ? a : std::decay_t<decltype(a)>{}, a > 0 ? a : 0)
CIRC_LANE_UNARY(NotOp, o = a, ~a)
CIRC_LANE_UNARY(TanhOp, Lanes<TanhF>(o, a), a)
CIRC_LANE_UNARY(SinOp, Lanes<SinF>(o, a), a)
CIRC_LANE_UNARY(CosOp, Lanes<CosF>(o, a), a)
CIRC_LANE_UNARY(ErfOp, ErfT(o, a), a)
CIRC_LANE_UNARY(FloorOp, Lanes<FloorF>(o, a), a)
CIRC_LANE_UNARY(AbsOp, decltype(a > a) i; std::memcpy(&i, &a, sizeof(a)); i &= 0x7fffffff; std::memcpy(&o, &i, sizeof(a)), a < 0 ? -a : a)
#undef CIRC_LANE_UNARY

// tensor (op) scalar: the scalar as float for the float path, as int64_t for integers.
#define CIRC_LANE_SCALAR(NAME, VEXPR, IEXPR)                                                     \
    struct NAME {                                                                                \
        float s;                                                                                 \
        int64_t si;                                                                              \
        bool round = false;                                                                      \
        template <class V>                                                                       \
        __attribute__((always_inline)) void operator()(V& o, const V& a) const {                 \
            using VS = std::decay_t<decltype(a)>;                                                \
            const VS v = VS{} + s;                                                               \
            (void)v;                                                                             \
            VEXPR;                                                                               \
        }                                                                                        \
        int64_t operator()(int64_t a) const { return IEXPR; }                                    \
    };
CIRC_LANE_SCALAR(AddsOp, o = a + v, a + si)
CIRC_LANE_SCALAR(MulsOp, o = a * v, a * si)
CIRC_LANE_SCALAR(MaxsOp, o = a > v ? a : v, a > si ? a : si)
CIRC_LANE_SCALAR(MinsOp, o = a < v ? a : v, a < si ? a : si)
CIRC_LANE_SCALAR(LeakyReluOp, o = a < VS{} ? a * v : a, a)
CIRC_LANE_SCALAR(ShiftLeftOp, o = a, a << si)
CIRC_LANE_SCALAR(ShiftRightOp, o = a, (round && si > 0) ? ((a + (int64_t(1) << (si - 1))) >> si) : (a >> si))
#undef CIRC_LANE_SCALAR

template <class Op, typename T>
inline Op ScalarOp(const T& scalar) {
    Op op;
    op.s = AsF(scalar);
    if constexpr (std::is_integral<T>::value) op.si = static_cast<int64_t>(scalar);
    else op.si = static_cast<int64_t>(op.s);
    return op;
}

// Shift amounts of the arch-220 vector unit: [0, 16] for 16-bit and [0, 32] for 32-bit types.
template <typename T>
inline void ShiftCheck(const T& s, const Loc& loc, const char* api) {
    int64_t v = static_cast<int64_t>(s);
    if (v < 0 || v > static_cast<int64_t>(8 * sizeof(T))) {
        Fail(loc, api, "shift %lld is out of range [0, %d] for %s", (long long)v, int(8 * sizeof(T)), TypeName<T>::Get());
    }
}

}  // namespace cpu

// ---- the element types each op takes on arch 220 ---------------------------------------------------
#define CIRC_TYPES_ARITH(T_, api_) \
    static_assert(cpu::OneOf<T_, half, float, int16_t, int32_t>::value, api_ ": T must be half, float, int16_t or int32_t")
#define CIRC_TYPES_FLOAT(T_, api_) static_assert(cpu::OneOf<T_, half, float>::value, api_ ": T must be half or float")
#define CIRC_TYPES_BITS(T_, api_) static_assert(cpu::OneOf<T_, int16_t, uint16_t>::value, api_ ": T must be int16_t or uint16_t")
#define CIRC_TYPES_SHIFT(T_, api_)                                                      \
    static_assert(cpu::OneOf<T_, int16_t, uint16_t, int32_t, uint32_t>::value, api_ \
                  ": T must be int16_t, uint16_t, int32_t or uint32_t")
#define CIRC_TYPES_RELU(T_, api_) static_assert(cpu::OneOf<T_, half, float, int32_t>::value, api_ ": T must be half, float or int32_t")

// ---- binary: dst = src0 (op) src1 -------------------------------------------------------------------
// Each op: the count form (dst, src0, src1, count) and the repeat forms with a bit mask or a
// lane count (dst, src0, src1, mask, repeatTimes, BinaryRepeatParams).
#define CIRC_BINARY_API(NAME, TYPES, OP)                                                                            \
    template <typename T, bool isSetMask = true>                                                                    \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1,             \
                     const int32_t& count, CIRC_LOC) {                                                              \
        TYPES(T, #NAME);                                                                                            \
        cpu::BinaryCount<isSetMask>(dst, src0, src1, count, circLoc, #NAME, OP{});                                  \
    }                                                                                                               \
    template <typename T, bool isSetMask = true>                                                                    \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1,             \
                     const uint64_t mask[], const uint8_t repeatTimes, const BinaryRepeatParams& repeatParams,      \
                     CIRC_LOC) {                                                                                    \
        TYPES(T, #NAME);                                                                                            \
        cpu::BinaryRep<isSetMask>(dst, src0, src1, cpu::MaskOf(mask), repeatTimes, repeatParams, circLoc, #NAME,    \
                                  OP{});                                                                            \
    }                                                                                                               \
    template <typename T, bool isSetMask = true>                                                                    \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src0, const LocalTensor<T>& src1,             \
                     uint64_t mask, const uint8_t repeatTimes, const BinaryRepeatParams& repeatParams, CIRC_LOC) {  \
        TYPES(T, #NAME);                                                                                            \
        cpu::BinaryRep<isSetMask>(dst, src0, src1, cpu::MaskOf(mask), repeatTimes, repeatParams, circLoc, #NAME,    \
                                  OP{});                                                                            \
    }
CIRC_BINARY_API(Add, CIRC_TYPES_ARITH, cpu::AddOp)
CIRC_BINARY_API(Sub, CIRC_TYPES_ARITH, cpu::SubOp)
CIRC_BINARY_API(Mul, CIRC_TYPES_ARITH, cpu::MulOp)
CIRC_BINARY_API(Div, CIRC_TYPES_FLOAT, cpu::DivOp)
CIRC_BINARY_API(Max, CIRC_TYPES_ARITH, cpu::MaxOp)
CIRC_BINARY_API(Min, CIRC_TYPES_ARITH, cpu::MinOp)
CIRC_BINARY_API(And, CIRC_TYPES_BITS, cpu::AndOp)
CIRC_BINARY_API(Or, CIRC_TYPES_BITS, cpu::OrOp)
#undef CIRC_BINARY_API

// ---- unary: dst = op(src) ---------------------------------------------------------------------------
#define CIRC_UNARY_API(NAME, TYPES, OP)                                                                             \
    template <typename T, bool isSetMask = true>                                                                    \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const int32_t& count, CIRC_LOC) {        \
        TYPES(T, #NAME);                                                                                            \
        cpu::UnaryCount<isSetMask>(dst, src, count, circLoc, #NAME, OP{});                                          \
    }                                                                                                               \
    template <typename T, bool isSetMask = true>                                                                    \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const uint64_t mask[],                   \
                     const uint8_t repeatTimes, const UnaryRepeatParams& repeatParams, CIRC_LOC) {                  \
        TYPES(T, #NAME);                                                                                            \
        cpu::UnaryRep<isSetMask>(dst, src, cpu::MaskOf(mask), repeatTimes, repeatParams, circLoc, #NAME, OP{});     \
    }                                                                                                               \
    template <typename T, bool isSetMask = true>                                                                    \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, uint64_t mask, const uint8_t repeatTimes, \
                     const UnaryRepeatParams& repeatParams, CIRC_LOC) {                                             \
        TYPES(T, #NAME);                                                                                            \
        cpu::UnaryRep<isSetMask>(dst, src, cpu::MaskOf(mask), repeatTimes, repeatParams, circLoc, #NAME, OP{});     \
    }
CIRC_UNARY_API(Exp, CIRC_TYPES_FLOAT, cpu::ExpOp)
CIRC_UNARY_API(Ln, CIRC_TYPES_FLOAT, cpu::LnOp)
CIRC_UNARY_API(Sqrt, CIRC_TYPES_FLOAT, cpu::SqrtOp)
CIRC_UNARY_API(Rsqrt, CIRC_TYPES_FLOAT, cpu::RsqrtOp)
CIRC_UNARY_API(Reciprocal, CIRC_TYPES_FLOAT, cpu::ReciprocalOp)
CIRC_UNARY_API(Abs, CIRC_TYPES_FLOAT, cpu::AbsOp)
CIRC_UNARY_API(Relu, CIRC_TYPES_RELU, cpu::ReluOp)
CIRC_UNARY_API(Not, CIRC_TYPES_BITS, cpu::NotOp)
#undef CIRC_UNARY_API

// ---- tensor (op) scalar -----------------------------------------------------------------------------
#define CIRC_SCALAR_API(NAME, TYPES, OP, CHECK)                                                                     \
    template <typename T, bool isSetMask = true>                                                                    \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const int32_t& count, \
                     CIRC_LOC) {                                                                                    \
        TYPES(T, #NAME);                                                                                            \
        CHECK;                                                                                                      \
        cpu::UnaryCount<isSetMask>(dst, src, count, circLoc, #NAME, cpu::ScalarOp<OP>(scalarValue));                \
    }                                                                                                               \
    template <typename T, bool isSetMask = true>                                                                    \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const uint64_t mask[], \
                     const uint8_t repeatTimes, const UnaryRepeatParams& repeatParams, CIRC_LOC) {                  \
        TYPES(T, #NAME);                                                                                            \
        CHECK;                                                                                                      \
        cpu::UnaryRep<isSetMask>(dst, src, cpu::MaskOf(mask), repeatTimes, repeatParams, circLoc, #NAME,           \
                                 cpu::ScalarOp<OP>(scalarValue));                                                   \
    }                                                                                                               \
    template <typename T, bool isSetMask = true>                                                                    \
    inline void NAME(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, uint64_t mask,     \
                     const uint8_t repeatTimes, const UnaryRepeatParams& repeatParams, CIRC_LOC) {                  \
        TYPES(T, #NAME);                                                                                            \
        CHECK;                                                                                                      \
        cpu::UnaryRep<isSetMask>(dst, src, cpu::MaskOf(mask), repeatTimes, repeatParams, circLoc, #NAME,           \
                                 cpu::ScalarOp<OP>(scalarValue));                                                   \
    }
CIRC_SCALAR_API(Adds, CIRC_TYPES_ARITH, cpu::AddsOp, (void)0)
CIRC_SCALAR_API(Muls, CIRC_TYPES_ARITH, cpu::MulsOp, (void)0)
CIRC_SCALAR_API(Maxs, CIRC_TYPES_ARITH, cpu::MaxsOp, (void)0)
CIRC_SCALAR_API(Mins, CIRC_TYPES_ARITH, cpu::MinsOp, (void)0)
CIRC_SCALAR_API(LeakyRelu, CIRC_TYPES_FLOAT, cpu::LeakyReluOp, (void)0)
CIRC_SCALAR_API(ShiftLeft, CIRC_TYPES_SHIFT, cpu::ShiftLeftOp, cpu::ShiftCheck(scalarValue, circLoc, "ShiftLeft"))
#undef CIRC_SCALAR_API

// ShiftRight: arithmetic for signed, logical for unsigned types; the repeat forms can round
// (roundEn: add 2^(shift-1) before shifting).
template <typename T, bool isSetMask = true>
inline void ShiftRight(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const int32_t& count,
                       CIRC_LOC) {
    CIRC_TYPES_SHIFT(T, "ShiftRight");
    cpu::ShiftCheck(scalarValue, circLoc, "ShiftRight");
    cpu::UnaryCount<isSetMask>(dst, src, count, circLoc, "ShiftRight", cpu::ScalarOp<cpu::ShiftRightOp>(scalarValue));
}
template <typename T, bool isSetMask = true>
inline void ShiftRight(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, const uint64_t mask[],
                       const uint8_t repeatTimes, const UnaryRepeatParams& repeatParams, bool roundEn = false, CIRC_LOC) {
    CIRC_TYPES_SHIFT(T, "ShiftRight");
    cpu::ShiftCheck(scalarValue, circLoc, "ShiftRight");
    cpu::ShiftRightOp op = cpu::ScalarOp<cpu::ShiftRightOp>(scalarValue);
    op.round = roundEn;
    cpu::UnaryRep<isSetMask>(dst, src, cpu::MaskOf(mask), repeatTimes, repeatParams, circLoc, "ShiftRight", op);
}
template <typename T, bool isSetMask = true>
inline void ShiftRight(const LocalTensor<T>& dst, const LocalTensor<T>& src, const T& scalarValue, uint64_t mask,
                       const uint8_t repeatTimes, const UnaryRepeatParams& repeatParams, bool roundEn = false, CIRC_LOC) {
    CIRC_TYPES_SHIFT(T, "ShiftRight");
    cpu::ShiftCheck(scalarValue, circLoc, "ShiftRight");
    cpu::ShiftRightOp op = cpu::ScalarOp<cpu::ShiftRightOp>(scalarValue);
    op.round = roundEn;
    cpu::UnaryRep<isSetMask>(dst, src, cpu::MaskOf(mask), repeatTimes, repeatParams, circLoc, "ShiftRight", op);
}

// ---- Axpy: dst = src * scalar + dst (count form; half / float, or a float dst with half src) ----
namespace cpu {
struct AxpyOp {
    float s;
    template <class V>
    __attribute__((always_inline)) void operator()(V& o, const V& src, const V& acc) const {
        o = src * s + acc;
    }
};
}  // namespace cpu
template <typename T, typename U, bool isSetMask = true>
inline void Axpy(const LocalTensor<T>& dst, const LocalTensor<U>& src, const U scalarValue, const int32_t& count,
                 CIRC_LOC) {
    static_assert((std::is_same<T, U>::value && cpu::OneOf<T, half, float>::value) ||
                      (std::is_same<T, float>::value && std::is_same<U, half>::value),
                  "Axpy: T/U must be half/half, float/float or float/half");
    const char* api = "Axpy";
    int64_t n = cpu::CountFormCount<isSetMask>(count, circLoc, api);
    if (!cpu::CountOk(n, circLoc, api)) return cpu::CountFormDone<isSetMask>();
    T* pd = cpu::VecOperand(dst, n, "dst", circLoc, api);
    const U* ps = cpu::VecOperand(src, n, "src", circLoc, api);
    cpu::NoPartialOverlap(pd, n, ps, n, "src", circLoc, api);
    cpu::AxpyOp op{static_cast<float>(scalarValue)};
    if constexpr (std::is_same<T, U>::value) {
        cpu::Compute2(pd, ps, pd, n, op);
    } else {  // float dst, half src: widen src first
        std::vector<float> wide(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) wide[i] = static_cast<float>(ps[i]);
        cpu::Map2F(pd, wide.data(), pd, n, op);
    }
    cpu::CountFormDone<isSetMask>();
}

// ---- Advanced math API (lib/math in CANN: Tanh, Sin, Cos, Erf, Floor, Power), count form; the
// NPU versions take an optional sharedTmpBuffer, which the CPU layer does not need.
#define CIRC_ADV_UNARY(NAME, OP)                                                                                \
    template <typename T, bool isReuseSource = false>                                                           \
    inline void NAME(const LocalTensor<T>& dstTensor, const LocalTensor<T>& srcTensor, const uint32_t calCount, \
                     CIRC_LOC) {                                                                                \
        CIRC_TYPES_FLOAT(T, #NAME);                                                                             \
        cpu::UnaryCount<true>(dstTensor, srcTensor, calCount, circLoc, #NAME, OP{});                            \
    }
CIRC_ADV_UNARY(Tanh, cpu::TanhOp)
CIRC_ADV_UNARY(Sin, cpu::SinOp)
CIRC_ADV_UNARY(Cos, cpu::CosOp)
CIRC_ADV_UNARY(Erf, cpu::ErfOp)
CIRC_ADV_UNARY(Floor, cpu::FloorOp)
#undef CIRC_ADV_UNARY
template <typename T, bool isReuseSource = false>
inline void Power(const LocalTensor<T>& dstTensor, const LocalTensor<T>& src0Tensor, const LocalTensor<T>& src1Tensor,
                  const uint32_t calCount, CIRC_LOC) {
    CIRC_TYPES_FLOAT(T, "Power");
    cpu::BinaryCount<true>(dstTensor, src0Tensor, src1Tensor, calCount, circLoc, "Power", cpu::PowOp{});
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
    cpu::UnaryCount<true>(dstLocal, srcLocal, dataSize, circLoc, "Silu", cpu::SiluOp());
}

// ---- Duplicate: dst = scalar -------------------------------------------------------------------------
#define CIRC_TYPES_DUP(T_)                                                                              \
    static_assert(cpu::OneOf<T_, half, bfloat16_t, float, int16_t, uint16_t, int32_t, uint32_t>::value, \
                  "Duplicate: T must be a 16- or 32-bit type")
template <typename T, bool isSetMask = true>
inline void Duplicate(const LocalTensor<T>& dst, const T& scalarValue, const int32_t& count, CIRC_LOC) {
    CIRC_TYPES_DUP(T);
    int64_t n = cpu::CountFormCount<isSetMask>(count, circLoc, "Duplicate");
    if (!cpu::CountOk(n, circLoc, "Duplicate")) return cpu::CountFormDone<isSetMask>();
    T* d = cpu::VecOperand(dst, n, "dst", circLoc, "Duplicate");
    for (int64_t i = 0; i < n; ++i) d[i] = scalarValue;
    cpu::CountFormDone<isSetMask>();
}

namespace cpu {
template <bool isSetMask, typename T>
inline void DuplicateRep(const LocalTensor<T>& dst, const T& value, const MaskArg& mask, int64_t repeatTimes,
                         uint16_t dstBlockStride, uint8_t dstRepeatStride, const Loc& loc) {
    const char* api = "Duplicate";
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    Stride sd{dstBlockStride, dstRepeatStride};
    T* pd = RepOperand(dst, sd, ln, "dst", loc, api);
    int idx[L];
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        for (int k = 0; k < n; ++k) LaneAt(pd, sd, r, idx[k]) = value;
    }
}
}  // namespace cpu

template <typename T, bool isSetMask = true>
inline void Duplicate(const LocalTensor<T>& dst, const T& scalarValue, const uint64_t mask[], const uint8_t repeatTimes,
                      const uint16_t dstBlockStride, const uint8_t dstRepeatStride, CIRC_LOC) {
    CIRC_TYPES_DUP(T);
    cpu::DuplicateRep<isSetMask>(dst, scalarValue, cpu::MaskOf(mask), repeatTimes, dstBlockStride, dstRepeatStride,
                                 circLoc);
}
template <typename T, bool isSetMask = true>
inline void Duplicate(const LocalTensor<T>& dst, const T& scalarValue, uint64_t mask, const uint8_t repeatTimes,
                      const uint16_t dstBlockStride, const uint8_t dstRepeatStride, CIRC_LOC) {
    CIRC_TYPES_DUP(T);
    cpu::DuplicateRep<isSetMask>(dst, scalarValue, cpu::MaskOf(mask), repeatTimes, dstBlockStride, dstRepeatStride,
                                 circLoc);
}
#undef CIRC_TYPES_DUP

// ---- Copy: UB -> UB through the vector unit (count form, and repeat forms with CopyRepeatParams) ----
struct CopyRepeatParams {
    CopyRepeatParams() {}
    CopyRepeatParams(const uint16_t dstStrideIn, const uint16_t srcStrideIn, uint16_t dstRepeatSizeIn,
                     uint16_t srcRepeatSizeIn)
        : dstStride(dstStrideIn), srcStride(srcStrideIn), dstRepeatSize(dstRepeatSizeIn),
          srcRepeatSize(srcRepeatSizeIn) {}
    uint16_t dstStride = DEFAULT_BLK_STRIDE;
    uint16_t srcStride = DEFAULT_BLK_STRIDE;
    uint16_t dstRepeatSize = DEFAULT_REPEAT_STRIDE;
    uint16_t srcRepeatSize = DEFAULT_REPEAT_STRIDE;
};
#define CIRC_TYPES_COPY(T_)                                                                             \
    static_assert(cpu::OneOf<T_, half, bfloat16_t, float, int16_t, uint16_t, int32_t, uint32_t>::value, \
                  "Copy: T must be a 16- or 32-bit type")
template <typename T, bool isSetMask = true>
inline void Copy(const LocalTensor<T>& dst, const LocalTensor<T>& src, const uint32_t count, CIRC_LOC) {
    CIRC_TYPES_COPY(T);
    int64_t n = cpu::CountFormCount<isSetMask>(count, circLoc, "Copy");
    if (!cpu::CountOk(n, circLoc, "Copy")) return cpu::CountFormDone<isSetMask>();
    T* pd = cpu::VecOperand(dst, n, "dst", circLoc, "Copy");
    const T* ps = cpu::VecOperand(src, n, "src", circLoc, "Copy");
    cpu::NoPartialOverlap(pd, n, ps, n, "src", circLoc, "Copy");
    std::memmove(pd, ps, n * sizeof(T));
    cpu::CountFormDone<isSetMask>();
}
namespace cpu {
template <bool isSetMask, typename T>
inline void CopyRep(const LocalTensor<T>& dst, const LocalTensor<T>& src, const MaskArg& mask, int64_t repeatTimes,
                    const CopyRepeatParams& p, const Loc& loc) {
    const char* api = "Copy";
    VectorEntry(loc, api);
    constexpr int L = LanesFor(sizeof(T));
    ApplyMask<isSetMask>(mask, L, loc, api);
    LaneSet ln = CurrentLanes(L, repeatTimes, loc, api);
    if (p.dstRepeatSize > 4095 || p.srcRepeatSize > 4095) {
        Fail(loc, api, "dstRepeatSize %u / srcRepeatSize %u must be within [0, 4095]", p.dstRepeatSize, p.srcRepeatSize);
    }
    Stride sd{p.dstStride, p.dstRepeatSize}, ss{p.srcStride, p.srcRepeatSize};
    T* pd = RepOperand(dst, sd, ln, "dst", loc, api);
    T* ps = RepOperand(src, ss, ln, "src", loc, api);
    int idx[L];
    T v[L];
    for (int64_t r = 0; r < ln.repeats; ++r) {
        int n = ln.Active(r, idx);
        for (int k = 0; k < n; ++k) v[k] = LaneAt(ps, ss, r, idx[k]);
        for (int k = 0; k < n; ++k) LaneAt(pd, sd, r, idx[k]) = v[k];
    }
}
}  // namespace cpu
template <typename T, bool isSetMask = true>
inline void Copy(const LocalTensor<T>& dst, const LocalTensor<T>& src, const uint64_t mask[], const uint8_t repeatTime,
                 const CopyRepeatParams& repeatParams, CIRC_LOC) {
    CIRC_TYPES_COPY(T);
    cpu::CopyRep<isSetMask>(dst, src, cpu::MaskOf(mask), repeatTime, repeatParams, circLoc);
}
template <typename T, bool isSetMask = true>
inline void Copy(const LocalTensor<T>& dst, const LocalTensor<T>& src, const uint64_t mask, const uint8_t repeatTime,
                 const CopyRepeatParams& repeatParams, CIRC_LOC) {
    CIRC_TYPES_COPY(T);
    cpu::CopyRep<isSetMask>(dst, src, cpu::MaskOf(mask), repeatTime, repeatParams, circLoc);
}
#undef CIRC_TYPES_COPY

}  // namespace AscendC

#undef CIRC_TYPES_ARITH
#undef CIRC_TYPES_FLOAT
#undef CIRC_TYPES_BITS
#undef CIRC_TYPES_SHIFT
#undef CIRC_TYPES_RELU
#undef CIRC_MAP1_BODY
#undef CIRC_MAP2_BODY
