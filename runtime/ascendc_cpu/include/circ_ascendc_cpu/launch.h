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

#include <condition_variable>
#include <functional>
#include <thread>

#include "matmul.h"

namespace AscendC {
namespace cpu {

inline int WorkerCount(int64_t blockDim) {
    int n = Cfg().threads;
    if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
    return static_cast<int>(std::min<int64_t>(n, blockDim));
}

// Helper threads, started on demand and kept (the pool is never destroyed: a thread may still
// be waking up when the process exits). A forked child starts with a fresh pool.
struct Pool {
    std::mutex mu;
    std::condition_variable wake, idle;
    std::function<void(BlockState&)>* job = nullptr;
    uint64_t epoch = 0;
    int wanted = 0;   // helpers taking part in the current job
    int running = 0;  // helpers still busy with it
    int size = 0;     // helpers started
};

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
        std::function<void(BlockState&)>* job;
        {
            std::unique_lock<std::mutex> lk(p->mu);
            p->wake.wait(lk, [&] { return p->epoch != seen; });
            seen = p->epoch;
            if (index >= p->wanted) continue;
            job = p->job;
        }
        (*job)(st);
        std::lock_guard<std::mutex> g(p->mu);
        if (--p->running == 0) p->idle.notify_all();
    }
}

// Run job on `helpers` pool threads and on the calling thread; return when all are done.
CIRC_HIDDEN inline void RunOnPool(int helpers, std::function<void(BlockState&)>& job) {
    Pool* p = PoolPtr();
    {
        std::lock_guard<std::mutex> g(p->mu);
        while (p->size < helpers) {
            std::thread(Helper, p, p->size, p->epoch).detach();
            ++p->size;
        }
        p->job = &job;
        p->wanted = helpers;
        p->running = helpers;
        ++p->epoch;
    }
    p->wake.notify_all();
    static thread_local BlockState callerState;
    BlockState* before = tlsBlock;
    job(callerState);
    tlsBlock = before;
    std::unique_lock<std::mutex> lk(p->mu);
    p->idle.wait(lk, [&] { return p->running == 0; });
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

}  // namespace cpu
}  // namespace AscendC

// ---- a C ABI for hosts that load a kernel library with dlopen / ctypes --------------------
#define CIRC_C_API extern "C" inline __attribute__((used, visibility("default")))
CIRC_C_API void circ_ascendc_cpu_set_exit_on_error(int on) { AscendC::cpu::SetExitOnError(on != 0); }
CIRC_C_API void circ_ascendc_cpu_set_threads(int n) { AscendC::cpu::SetThreads(n); }
CIRC_C_API void circ_ascendc_cpu_set_ub_bytes(unsigned n) { AscendC::cpu::SetSocUbBytes(n); }
CIRC_C_API void circ_ascendc_cpu_register_gm(void* p, size_t bytes) { AscendC::cpu::GmRegister(p, bytes); }
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
