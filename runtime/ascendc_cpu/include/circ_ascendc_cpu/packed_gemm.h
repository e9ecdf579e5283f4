// circ's AscendC CPU layer — prepacked GEMM operands for the Matmul API.
//
// A host that knows which GM buffers never change while it runs (a runtime's weights) registers
// them as constant; a float Matmul whose B (a linear layer's weight) or A (a conv's weight)
// lies in such a buffer then multiplies with that operand packed once, on first use, by a BLAS
// with a packed-operand API (MKL's cblas_sgemm_pack / cblas_sgemm_compute, as shipped in the
// PyTorch wheel's libtorch_cpu.so), instead of packing it again in every sgemm call — what
// onnxruntime's MLAS does with constant weights at session start. Without a packed BLAS, or
// for any other operand, Matmul stays on OpenBLAS sgemm.
//
// The packed copies belong to their constant range: unregistering it (before the host frees
// or reuses the memory) drops them. Packing is keyed by the operand's place in its range and
// the whole call shape (MKL's packed layout depends on m, n and k).
#pragma once

#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "core.h"

namespace AscendC {
namespace cpu {

struct PackedBlas {
    using GetSize = size_t (*)(int, int, int, int);
    using Pack = void (*)(int, int, int, int, int, int, float, const float*, int, float*);
    using Compute = void (*)(int, int, int, int, int, int, const float*, int, const float*, int, float, float*, int);
    using Threads = int (*)(int);
    GetSize getSize = nullptr;
    Pack pack = nullptr;
    Compute compute = nullptr;
    Threads threadsLocal = nullptr;
    std::atomic<long long> calls{0};  // products computed with a packed operand (for tests)
};
CIRC_HIDDEN inline PackedBlas& Packed() {
    static PackedBlas p;
    return p;
}

// Load the packed-operand BLAS from `path`; false (and OpenBLAS stays) when it is not there.
inline bool UsePackedBlas(const char* path) {
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    PackedBlas& p = Packed();
    if (p.compute != nullptr) return true;
    void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) return false;
    auto getSize = reinterpret_cast<PackedBlas::GetSize>(dlsym(h, "cblas_sgemm_pack_get_size"));
    auto pack = reinterpret_cast<PackedBlas::Pack>(dlsym(h, "cblas_sgemm_pack"));
    auto compute = reinterpret_cast<PackedBlas::Compute>(dlsym(h, "cblas_sgemm_compute"));
    auto threads = reinterpret_cast<PackedBlas::Threads>(dlsym(h, "MKL_Set_Num_Threads_Local"));
    if (getSize == nullptr || pack == nullptr || compute == nullptr || threads == nullptr) {
        dlclose(h);
        return false;
    }
    p.getSize = getSize;
    p.pack = pack;
    p.threadsLocal = threads;
    p.compute = compute;  // last: its being set means the others are
    return true;
}

struct ConstRange {
    size_t bytes;
    int refs;
    // (which operand, offset in the range, transposed, leading dim, m, n, k) -> packed copy
    std::map<std::tuple<int, uint64_t, int, int64_t, int64_t, int64_t, int64_t>, std::shared_ptr<float[]>>
        packed;
};
struct ConstRegistry {
    std::mutex mu;
    std::map<uintptr_t, ConstRange> ranges;  // start -> range
};
CIRC_HIDDEN inline ConstRegistry& Consts() {
    static ConstRegistry r;
    return r;
}

inline void RegisterConst(const void* p, size_t bytes) {
    ConstRegistry& r = Consts();
    std::lock_guard<std::mutex> lock(r.mu);
    auto [it, fresh] = r.ranges.try_emplace(reinterpret_cast<uintptr_t>(p), ConstRange{bytes, 0, {}});
    if (!fresh && it->second.bytes != bytes) it->second = ConstRange{bytes, 0, {}};  // a different buffer now
    ++it->second.refs;
}

inline void UnregisterConst(const void* p) {
    ConstRegistry& r = Consts();
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.ranges.find(reinterpret_cast<uintptr_t>(p));
    if (it != r.ranges.end() && --it->second.refs <= 0) r.ranges.erase(it);
}

// The packed copy of `op` (CblasAMatrix 161 / CblasBMatrix 162) when it lies in a registered
// constant range, packing it on first use; null otherwise.
inline std::shared_ptr<float[]> PackedOperand(int which, const float* op, int trans, int64_t ld,
                                                         int64_t span, int64_t m, int64_t n, int64_t k) {
    ConstRegistry& r = Consts();
    std::lock_guard<std::mutex> lock(r.mu);
    if (r.ranges.empty()) return nullptr;
    uintptr_t a = reinterpret_cast<uintptr_t>(op);
    auto it = r.ranges.upper_bound(a);
    if (it == r.ranges.begin()) return nullptr;
    --it;
    if (a + static_cast<uint64_t>(span) * sizeof(float) > it->first + it->second.bytes) return nullptr;
    auto key = std::make_tuple(which, static_cast<uint64_t>(a - it->first), trans, ld, m, n, k);
    auto& slot = it->second.packed[key];
    if (!slot) {  // first use: pack under the lock (the other blocks need the same copy)
        PackedBlas& p = Packed();
        size_t bytes = p.getSize(which, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k));
        // not zero-filled: MKL's size is a bound (~7.5 MiB more than it writes), and the pages
        // it does not write are never touched
        std::shared_ptr<float[]> buf(new float[bytes / sizeof(float) + 16]);
        p.pack(101, which, trans ? 112 : 111, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, op,
               static_cast<int>(ld), buf.get());
        slot = buf;
    }
    return slot;
}

// Products smaller than this (multiply-adds) stay on sgemm: packing saves little there, and
// each packed copy reserves MKL's fixed bound (~7.5 MiB of address space).
constexpr int64_t kMinPackedWork = int64_t(1) << 20;

// C = op(A) op(B) + beta C (row major) with a constant operand prepacked; false when neither
// operand is constant or no packed BLAS is loaded (the caller runs sgemm).
inline bool PackedGemm(bool transA, bool transB, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                       const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    PackedBlas& p = Packed();
    if (p.compute == nullptr || m * n * k < kMinPackedWork) return false;
    thread_local bool single = false;
    if (!single) {  // every simulated core is a thread already
        p.threadsLocal(1);
        single = true;
    }
    int64_t spanB = transB ? (n - 1) * ldb + k : (k - 1) * ldb + n;
    if (auto pb = PackedOperand(162, b, transB, ldb, spanB, m, n, k)) {
        p.compute(101, transA ? 112 : 111, 151, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), a,
                  static_cast<int>(lda), pb.get(), static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
        p.calls.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    int64_t spanA = transA ? (k - 1) * lda + m : (m - 1) * lda + k;
    if (auto pa = PackedOperand(161, a, transA, lda, spanA, m, n, k)) {
        p.compute(101, 151, transB ? 112 : 111, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                  pa.get(), static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
        p.calls.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    return false;
}

}  // namespace cpu
}  // namespace AscendC

#define CIRC_C_API extern "C" inline __attribute__((used, visibility("default")))
CIRC_C_API int circ_ascendc_cpu_use_packed_blas(const char* path) { return AscendC::cpu::UsePackedBlas(path) ? 1 : 0; }
CIRC_C_API void circ_ascendc_cpu_register_const(const void* p, size_t bytes) { AscendC::cpu::RegisterConst(p, bytes); }
CIRC_C_API void circ_ascendc_cpu_unregister_const(const void* p) { AscendC::cpu::UnregisterConst(p); }
CIRC_C_API long long circ_ascendc_cpu_packed_calls() { return AscendC::cpu::Packed().calls.load(); }
#undef CIRC_C_API
