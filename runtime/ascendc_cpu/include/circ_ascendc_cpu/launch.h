// circ's AscendC CPU layer — running a kernel on blockDim simulated AI cores (ICPU_RUN_KF).
//
// Blocks run on worker threads (CIRC_ASCENDC_THREADS, default: the machine's cores): the
// calling thread and helpers of a pool that lives as long as the process. Each worker owns
// one core's local memories and takes block indices from a shared counter. The
// first error any block reports stops the run: the other blocks stop at their next API call,
// and once every worker has returned the program exits with status 1 (or, after
// SetExitOnError(false), ICPU_RUN_KF returns 1 and LastError() holds the message).
#pragma once

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <thread>

#include "matmul.h"

namespace AscendC {
namespace cpu {

// SyncAll: a barrier across the blocks of a launch. Every participating block must run at the
// same time, so it needs as many worker threads as blocks.
struct CoreBarrier {
    std::mutex mu;
    std::condition_variable cv;
    int64_t arrived = 0;
    uint64_t generation = 0;
    int workers = 0;
};
CIRC_HIDDEN inline CoreBarrier& Barrier() {
    static CoreBarrier* b = new CoreBarrier();
    return *b;
}

inline void SyncBlocks(int64_t parties, const Loc& loc) {
    Tick();
    BlockState& b = Block();
    if (!b.inLaunch || parties <= 1) return;
    CoreBarrier& br = Barrier();
    if (br.workers < parties) {
        Fail(loc, "SyncAll",
             "SyncAll needs its %lld blocks to run at once, but the layer runs blocks on %d worker thread(s): set "
             "CIRC_ASCENDC_THREADS=%lld (or AscendC::cpu::SetThreads)",
             (long long)parties, br.workers, (long long)parties);
    }
    std::unique_lock<std::mutex> lk(br.mu);
    uint64_t gen = br.generation;
    if (++br.arrived == parties) {
        br.arrived = 0;
        ++br.generation;
        br.cv.notify_all();
        return;
    }
    while (br.generation == gen) {
        br.cv.wait_for(lk, std::chrono::milliseconds(20));
        if (Run().abort.load()) throw Cancelled{};  // another block failed: it never arrives
    }
}

inline int WorkerCount(int64_t blockDim) {
    int n = Cfg().threads;
    if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
    return static_cast<int>(std::min<int64_t>(n, blockDim));
}

// Helper threads, started on demand and kept (the pool is never destroyed: a thread may still
// be waking up when the process exits). A forked child starts with a fresh pool.
// Launches come back to back (a runtime runs a model's launch graph in one loop), so a helper
// that finished a job, and the caller waiting for the helpers, spin for a moment before they
// sleep on the condition variable: a wake-up through the kernel costs more than a small kernel.
struct Pool {
    std::mutex mu;
    std::condition_variable wake, idle;
    std::function<void(BlockState&)>* job = nullptr;
    std::atomic<uint64_t> epoch{0};
    int wanted = 0;                // helpers taking part in the current job
    std::atomic<int> running{0};  // helpers still busy with it
    int size = 0;                  // helpers started
};

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// Spin (pause instructions) while done() is false, for at most ~30 us; true if done() came true.
template <class Done>
inline bool SpinUntil(Done done) {
    constexpr auto kSpin = std::chrono::microseconds(30);
    auto until = std::chrono::steady_clock::now() + kSpin;
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (done()) return true;
            CpuRelax();
        }
        if (std::chrono::steady_clock::now() > until) return done();
    }
}

CIRC_HIDDEN inline Pool*& PoolPtr() {
    static Pool* p = [] {
        pthread_atfork(nullptr, nullptr, [] { PoolPtr() = new Pool(); });
        return new Pool();
    }();
    return p;
}

inline void Helper(Pool* p, int index, uint64_t seen) {
    BlockState st;  // this thread's core: its arenas live as long as the thread
    for (;;) {
        SpinUntil([&] { return p->epoch.load(std::memory_order_acquire) != seen; });
        std::function<void(BlockState&)>* job;
        {
            std::unique_lock<std::mutex> lk(p->mu);
            p->wake.wait(lk, [&] { return p->epoch.load() != seen; });
            seen = p->epoch.load();
            if (index >= p->wanted) continue;
            job = p->job;
        }
        (*job)(st);
        if (p->running.fetch_sub(1) == 1) {
            std::lock_guard<std::mutex> g(p->mu);
            p->idle.notify_all();
        }
    }
}

// Run job on `helpers` pool threads and on the calling thread; return when all are done.
CIRC_HIDDEN inline void RunOnPool(int helpers, std::function<void(BlockState&)>& job) {
    Pool* p = PoolPtr();
    {
        std::lock_guard<std::mutex> g(p->mu);
        while (p->size < helpers) {
            std::thread(Helper, p, p->size, p->epoch.load()).detach();
            ++p->size;
        }
        p->job = &job;
        p->wanted = helpers;
        p->running.store(helpers);
        p->epoch.fetch_add(1, std::memory_order_release);
    }
    p->wake.notify_all();
    static thread_local BlockState callerState;
    BlockState* before = tlsBlock;
    job(callerState);
    tlsBlock = before;
    if (SpinUntil([&] { return p->running.load(std::memory_order_acquire) == 0; })) return;
    std::unique_lock<std::mutex> lk(p->mu);
    p->idle.wait(lk, [&] { return p->running.load() == 0; });
}

template <typename Fn>
inline int RunBlocks(const char* name, int64_t blockDim, Fn&& body) {
    RunState& r = Run();
    if (blockDim < 1 || blockDim > 65535) {
        std::fflush(stdout);
        std::fprintf(stderr, "ascendc-cpu: error: ICPU_RUN_KF(%s): blockDim %lld is out of range [1, 65535]\n", name,
                     (long long)blockDim);
        {
            std::lock_guard<std::mutex> g(r.mu);
            r.lastError = Format("ICPU_RUN_KF(%s): blockDim %lld is out of range [1, 65535]", name, (long long)blockDim);
        }
        if (Cfg().exitOnError) std::exit(1);
        return 1;
    }
    if (r.launches.fetch_add(1) != 0) {
        r.launches.fetch_sub(1);
        std::fprintf(stderr, "ascendc-cpu: error: ICPU_RUN_KF(%s): another kernel is already running\n", name);
        if (Cfg().exitOnError) std::exit(1);
        return 1;
    }
    r.abort.store(false);
    {
        std::lock_guard<std::mutex> g(r.mu);
        r.firstError.clear();
    }
    // One BLAS thread per simulated core: the cores are the parallelism (see PinBlasThreads).
    if (BlasPinned().load() && scipy_openblas_get_num_threads != nullptr && scipy_openblas_get_num_threads() != 1) {
        scipy_openblas_set_num_threads(1);
    }
    std::atomic<int64_t> next{0};
    std::function<void(BlockState&)> worker = [&](BlockState& st) {
        st.inLaunch = true;
        tlsBlock = &st;
        while (!r.abort.load()) {
            int64_t b = next.fetch_add(1);
            if (b >= blockDim) break;
            st.Reset(b, blockDim);
            try {
                body();
            } catch (const KernelAbort&) {
            } catch (const Cancelled&) {
            } catch (const std::exception& e) {
                try {
                    Fail(Loc(), name, "the kernel threw %s", e.what());
                } catch (const KernelAbort&) {
                }
            } catch (...) {
                try {
                    Fail(Loc(), name, "the kernel threw an exception");
                } catch (const KernelAbort&) {
                }
            }
        }
        st.inLaunch = false;
        st.Reset(0, 1);
        tlsBlock = nullptr;
    };
    {
        CoreBarrier& br = Barrier();
        std::lock_guard<std::mutex> g(br.mu);
        br.arrived = 0;
        br.workers = WorkerCount(blockDim);
    }
    RunOnPool(WorkerCount(blockDim) - 1, worker);
    r.launches.fetch_sub(1);
    if (r.abort.load()) {
        if (Cfg().exitOnError) {
            std::fflush(nullptr);
            std::exit(1);
        }
        return 1;
    }
    return 0;
}

template <typename... P, typename... A>
inline int Launch(const char* name, void (*fn)(P...), int64_t blockDim, A&&... args) {
    static_assert(sizeof...(P) == sizeof...(A), "ICPU_RUN_KF: pass exactly the kernel's arguments after blockDim");
    return RunBlocks(name, blockDim, [&]() { fn(args...); });
}

// A lambda or other callable as the kernel (every block calls it with the arguments).
template <typename F, typename... A,
          typename std::enable_if<!std::is_function<typename std::remove_reference<F>::type>::value, int>::type = 0>
inline int Launch(const char* name, F&& fn, int64_t blockDim, A&&... args) {
    return RunBlocks(name, blockDim, [&]() { fn(args...); });
}

}  // namespace cpu

// Wait until every block of the kernel (or the first usedCores blocks) got here.
template <bool isAIVOnly = true>
inline void SyncAll(CIRC_LOC) {
    cpu::SyncBlocks(GetBlockNum(), circLoc);
}
template <bool isAIVOnly = true>
inline void SyncAll(const GlobalTensor<int32_t>& gmWorkspace, const LocalTensor<int32_t>& ubWorkspace,
                    const int32_t usedCores = 0, CIRC_LOC) {
    (void)gmWorkspace;
    cpu::CheckLive(ubWorkspace.desc_, "ubWorkspace", circLoc, "SyncAll");
    int64_t parties = usedCores > 0 ? usedCores : GetBlockNum();
    if (parties > GetBlockNum()) {
        cpu::Fail(circLoc, "SyncAll", "usedCores %d exceeds the %lld blocks of the launch", usedCores,
                  (long long)GetBlockNum());
    }
    if (GetBlockIdx() < parties) cpu::SyncBlocks(parties, circLoc);
}

}  // namespace AscendC

// ---- a C ABI for hosts that load a kernel library with dlopen / ctypes --------------------
#define CIRC_C_API extern "C" inline __attribute__((used, visibility("default")))
CIRC_C_API void circ_ascendc_cpu_set_exit_on_error(int on) { AscendC::cpu::SetExitOnError(on != 0); }
CIRC_C_API void circ_ascendc_cpu_set_threads(int n) { AscendC::cpu::SetThreads(n); }
CIRC_C_API void circ_ascendc_cpu_set_poison(int on) { AscendC::cpu::SetPoison(on != 0); }
CIRC_C_API int circ_ascendc_cpu_poison() { return AscendC::cpu::Cfg().poison ? 1 : 0; }
CIRC_C_API void circ_ascendc_cpu_set_ub_bytes(unsigned n) { AscendC::cpu::SetSocUbBytes(n); }
CIRC_C_API void circ_ascendc_cpu_register_gm(void* p, size_t bytes) { AscendC::cpu::GmRegister(p, bytes); }
// Run n launches in order (a runtime's launch graph without a host call per launch): launch i
// calls fns[i](args[i], dims[i]), a kernel library's circ_launch_<name>. Returns 0, or i + 1
// for the first launch that failed (the later ones do not run).
typedef int (*circ_launch_fn)(uint8_t** args, uint32_t block_dim);
CIRC_C_API int circ_ascendc_cpu_run_launches(int n, const circ_launch_fn* fns, uint8_t** const* args,
                                             const uint32_t* dims) {
    for (int i = 0; i < n; ++i)
        if (fns[i](args[i], dims[i]) != 0) return i + 1;
    return 0;
}
CIRC_C_API void circ_ascendc_cpu_unregister_gm(void* p) { AscendC::cpu::GmUnregister(p); }
namespace AscendC {
namespace cpu {
CIRC_HIDDEN inline std::string& LastErrorBuffer() {
    static thread_local std::string s;
    return s;
}
}  // namespace cpu
}  // namespace AscendC
CIRC_C_API const char* circ_ascendc_cpu_last_error() {
    std::string& s = AscendC::cpu::LastErrorBuffer();
    s = AscendC::cpu::LastError();
    return s.c_str();
}
#undef CIRC_C_API
