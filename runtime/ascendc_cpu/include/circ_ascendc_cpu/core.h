// circ's AscendC CPU layer — core: qualifiers, enums, configuration, errors, per-block state.
//
// Written for circ from the public AscendC API documentation (CANN 8.x names and signatures);
// no CANN code is used. Everything outside namespace AscendC::cpu is official API; AscendC::cpu
// holds circ's own machinery (configuration, checks, the block launcher).
#pragma once

#if !defined(ASCENDC_CPU_DEBUG) || ASCENDC_CPU_DEBUG != 1
#error "circ's AscendC CPU layer needs -DASCENDC_CPU_DEBUG=1 (see `circ ascendc-cpu --cflags`)"
#endif

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

// ---- qualifiers: meaningful only to the NPU compiler -------------------------------------
#ifndef __global__
#define __global__
#endif
#ifndef __aicore__
#define __aicore__
#endif
#ifndef __gm__
#define __gm__
#endif
#ifndef __ubuf__
#define __ubuf__
#endif
#ifndef __vector__
#define __vector__
#endif
#ifndef __cube__
#define __cube__
#endif
#ifndef __inout_pipe__
#define __inout_pipe__(pipe)
#endif
#ifndef __sync_alias__
#define __sync_alias__
#endif
#ifndef __sync_noalias__
#define __sync_noalias__
#endif
#ifndef GM_ADDR
#define GM_ADDR __gm__ uint8_t*
#endif

// ---- SoC parameters (circ's cir/socs.toml passes them; defaults: Ascend910B1) -------
#ifndef CIRC_SOC_UB_BYTES
#define CIRC_SOC_UB_BYTES 196608
#endif
#ifndef CIRC_SOC_L1_BYTES
#define CIRC_SOC_L1_BYTES 524288
#endif
#ifndef CIRC_SOC_L0A_BYTES
#define CIRC_SOC_L0A_BYTES 65536
#endif
#ifndef CIRC_SOC_L0B_BYTES
#define CIRC_SOC_L0B_BYTES 65536
#endif
#ifndef CIRC_SOC_L0C_BYTES
#define CIRC_SOC_L0C_BYTES 131072
#endif
// The layer behaves as the 910B (arch 220) unless told otherwise; kernels test __CCE_AICORE__
// (`#if __CCE_AICORE__ == 220`), so it is defined whenever the layer is included.
#ifndef __CCE_AICORE__
#define __CCE_AICORE__ 220
#endif
#define CIRC_SOC_ARCH __CCE_AICORE__

// ---- global enums of the official API ------------------------------------------------------
enum pipe_t : uint8_t {
    PIPE_S = 0,
    PIPE_V,
    PIPE_M,
    PIPE_MTE1,
    PIPE_MTE2,
    PIPE_MTE3,
    PIPE_ALL,
    PIPE_MTE4,
    PIPE_MTE5,
    PIPE_V2,
    PIPE_FIX,
};

enum event_t : int32_t {
    EVENT_ID0 = 0,
    EVENT_ID1,
    EVENT_ID2,
    EVENT_ID3,
    EVENT_ID4,
    EVENT_ID5,
    EVENT_ID6,
    EVENT_ID7,
};

enum class KernelMode { MIX_MODE = 0, AIC_MODE, AIV_MODE };

enum class CubeFormat { ND = 0, NZ, ZN, ZZ, NN, ND_ALIGN, SCALAR, VECTOR, ROW_MAJOR = ND, COLUMN_MAJOR = 8 };

enum class LayoutMode { NONE = 0, BSNGD, SBNGD, BNGS1S2, NORMAL };

namespace AscendC {

enum class TPosition : uint8_t {
    GM,
    A1,
    A2,
    B1,
    B2,
    C1,
    C2,
    CO1,
    CO2,
    VECIN,
    VECOUT,
    VECCALC,
    LCM = VECCALC,
    SPM,
    SHM = SPM,
    TSCM,
    C2PIPE2GM,
    C2PIPE2LOCAL,
    MAX,
};
using QuePosition = TPosition;

enum class HardEvent : uint8_t {
    MTE2_MTE1,
    MTE1_MTE2,
    MTE1_M,
    M_MTE1,
    MTE2_V,
    V_MTE2,
    MTE3_V,
    V_MTE3,
    M_V,
    V_M,
    V_V,
    MTE3_MTE1,
    MTE1_MTE3,
    MTE1_V,
    MTE2_M,
    M_MTE2,
    V_MTE1,
    M_FIX,
    FIX_M,
    MTE3_MTE2,
    MTE2_MTE3,
    S_V,
    V_S,
    S_MTE2,
    MTE2_S,
    S_MTE3,
    MTE3_S,
    MTE2_FIX,
    FIX_MTE2,
    FIX_S,
    M_S,
    FIX_MTE3,
    MTE1_FIX,
    FIX_MTE1,
    FIX_FIX,
    MAX,
};

enum class RoundMode : uint8_t {
    CAST_NONE = 0,
    CAST_RINT,
    CAST_FLOOR,
    CAST_CEIL,
    CAST_ROUND,
    CAST_TRUNC,
    CAST_ODD,
    UNKNOWN = 0xFF,
};

using TEventID = int8_t;
using ::KernelMode;

constexpr uint32_t ONE_BLK_SIZE = 32;          // bytes in a DataBlock
constexpr uint32_t ONE_REPEAT_BYTE_SIZE = 256;  // bytes one vector repeat reads
constexpr uint32_t DEFAULT_BLK_NUM = 8;         // DataBlocks in a repeat

namespace cpu {

// Functions and variables holding the layer's state are hidden: GCC would otherwise bind their
// static locals process-wide (STB_GNU_UNIQUE) across kernel libraries built with other flags.
#define CIRC_HIDDEN __attribute__((visibility("hidden")))

// ---- where an API was called from (filled in by default arguments) -----------------------
struct LocTag {};
struct Loc {
    const char* file;
    int line;
    // The tag keeps integers from converting to a Loc; the builtins take the caller's position.
    Loc(LocTag = LocTag(), const char* f = __builtin_FILE(), int l = __builtin_LINE()) : file(f), line(l) {}
};
#define CIRC_LOC ::AscendC::cpu::Loc circLoc = ::AscendC::cpu::Loc()

// ---- hardware buffers ----------------------------------------------------------------------
enum class Hw : uint8_t { UB = 0, L1, L0A, L0B, L0C, BT, GM, COUNT };
constexpr int kHwCount = static_cast<int>(Hw::COUNT);

inline const char* HwName(Hw h) {
    switch (h) {
        case Hw::UB: return "UB";
        case Hw::L1: return "L1";
        case Hw::L0A: return "L0A";
        case Hw::L0B: return "L0B";
        case Hw::L0C: return "L0C";
        case Hw::BT: return "BiasTable";
        default: return "GM";
    }
}

inline Hw PosToHw(TPosition p) {
    switch (p) {
        case TPosition::VECIN:
        case TPosition::VECOUT:
        case TPosition::VECCALC:
        case TPosition::CO2:  // UB on arch 200; circ's CPU layer keeps it in UB everywhere
            return Hw::UB;
        case TPosition::A1:
        case TPosition::B1:
        case TPosition::C1:
        case TPosition::TSCM:
            return Hw::L1;
        case TPosition::A2: return Hw::L0A;
        case TPosition::B2: return Hw::L0B;
        case TPosition::CO1: return Hw::L0C;
        case TPosition::C2: return Hw::BT;
        default: return Hw::GM;
    }
}

inline uint32_t HwAlign(Hw h) {
    switch (h) {
        case Hw::L0A:
        case Hw::L0B: return 512;
        case Hw::L0C:
        case Hw::BT: return 64;
        default: return 32;
    }
}

inline const char* PosName(TPosition p) {
    switch (p) {
        case TPosition::GM: return "GM";
        case TPosition::A1: return "A1";
        case TPosition::A2: return "A2";
        case TPosition::B1: return "B1";
        case TPosition::B2: return "B2";
        case TPosition::C1: return "C1";
        case TPosition::C2: return "C2";
        case TPosition::CO1: return "CO1";
        case TPosition::CO2: return "CO2";
        case TPosition::VECIN: return "VECIN";
        case TPosition::VECOUT: return "VECOUT";
        case TPosition::VECCALC: return "VECCALC";
        case TPosition::SPM: return "SPM";
        case TPosition::TSCM: return "TSCM";
        default: return "?";
    }
}

// ---- configuration -------------------------------------------------------------------------
struct Config {
    uint32_t bytes[kHwCount] = {CIRC_SOC_UB_BYTES, CIRC_SOC_L1_BYTES, CIRC_SOC_L0A_BYTES,
                                CIRC_SOC_L0B_BYTES, CIRC_SOC_L0C_BYTES, 1024, 0};
    int arch = CIRC_SOC_ARCH;
    bool lenient = false;     // CIRC_ASCENDC_LENIENT=1: round DataCopy down like the hardware
    bool poison = true;       // debug mode: fill fresh UB with 0xFF bytes (NaN for float types) and check
                              // every LocalTensor's buffer state (freed, queued) on use
    bool exitOnError = true;  // ICPU_RUN_KF exits(1) after a kernel error; else it returns 1
    int threads = 0;          // worker threads; 0 = CIRC_ASCENDC_THREADS or the core count
    KernelMode mode = KernelMode::MIX_MODE;
};

inline bool EnvFlag(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

CIRC_HIDDEN inline Config& Cfg() {
    static Config c = [] {
        Config k;
        k.lenient = EnvFlag("CIRC_ASCENDC_LENIENT");
        if (const char* p = std::getenv("CIRC_ASCENDC_POISON")) k.poison = std::strcmp(p, "0") != 0;
        if (const char* t = std::getenv("CIRC_ASCENDC_THREADS")) k.threads = std::atoi(t);
        return k;
    }();
    return c;
}

inline const char* Basename(const char* path) {
    const char* s = std::strrchr(path, '/');
    return s ? s + 1 : path;
}

template <typename T, typename... Ts> struct OneOf : std::false_type {};
template <typename T, typename U, typename... Ts>
struct OneOf<T, U, Ts...> : std::integral_constant<bool, std::is_same<T, U>::value || OneOf<T, Ts...>::value> {};

inline uint64_t RoundUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
inline uint64_t DivCeil(uint64_t v, uint64_t a) { return (v + a - 1) / a; }

// ---- errors --------------------------------------------------------------------------------
struct KernelAbort {};  // unwinds a block after its error was recorded
struct Cancelled {};    // unwinds a block because another block failed

struct RunState {
    std::atomic<bool> abort{false};
    std::atomic<int> launches{0};
    std::mutex mu;
    std::string firstError;
    std::string lastError;
};
CIRC_HIDDEN inline RunState& Run() {
    static RunState r;
    return r;
}

struct Slot {
    uint64_t gen;
    uint8_t state;
};
enum SlotState : uint8_t { kFree = 0, kAlloc, kQueued, kDequeued, kTBuf, kDead };

// Local-memory arenas are recycled between launches (fresh pages would cost page faults).
struct ArenaPool {
    std::mutex mu;
    std::vector<std::pair<uint8_t*, uint32_t>> free;
};
CIRC_HIDDEN inline ArenaPool& Arenas() {
    static ArenaPool* p = new ArenaPool();  // never destroyed: worker threads may outlive statics
    return *p;
}
inline uint8_t* ArenaTake(uint32_t bytes) {
    {
        std::lock_guard<std::mutex> g(Arenas().mu);
        auto& f = Arenas().free;
        for (size_t i = 0; i < f.size(); ++i) {
            if (f[i].second == bytes) {
                uint8_t* p = f[i].first;
                f.erase(f.begin() + static_cast<long>(i));
                return p;
            }
        }
    }
    void* p = std::aligned_alloc(4096, RoundUp(bytes ? bytes : 4096, 4096));
    if (p == nullptr) {
        std::fprintf(stderr, "ascendc-cpu: error: cannot allocate a %u-byte local memory arena\n", bytes);
        std::exit(1);
    }
    return static_cast<uint8_t*>(p);
}
inline void ArenaRelease(uint8_t* p, uint32_t bytes) {
    if (p == nullptr) return;
    std::lock_guard<std::mutex> g(Arenas().mu);
    if (Arenas().free.size() < 64) Arenas().free.emplace_back(p, bytes);
    else std::free(p);
}

// Everything one AI core owns while it runs a block: its index, its local memories (UB, L1,
// L0A/B/C), the state of every queue buffer, its sync flags.
struct BlockState {
    int64_t idx = 0;
    int64_t num = 1;
    bool inLaunch = false;
    uint8_t* arena[kHwCount] = {};
    uint32_t arenaBytes[kHwCount] = {};
    std::vector<Slot> slots;
    uint64_t nextGen = 1;
    uint64_t pipeCounter = 0;
    uint64_t livePipe = 0;  // generation of the TPipe alive now (0: none)
    int32_t flags[static_cast<int>(HardEvent::MAX)][8] = {};
    uint8_t* sysWorkspace = nullptr;
    // The vector unit's mask register and mode (SetMaskCount / SetVectorMask / ResetMask).
    bool maskCounter = false;
    uint64_t maskLo = ~0ull;
    uint64_t maskHi = ~0ull;
    // SetDeqScale (int32_t -> half Cast); NaN until set.
    float deqScale = std::numeric_limits<float>::quiet_NaN();
    uint8_t atomicOp = 0;      // SetAtomicAdd/Max/Min: 1/2/3 (0: plain stores to GM)
    const char* atomicType = "";  // the element type the atomic mode was set for
    // The CMPMASK register (Compare's register form, SetCmpMask / GetCmpMask, Select mode 0).
    uint8_t cmpMask[16] = {};
    // The register ReduceMax / ReduceMin / WholeReduceMax / WholeReduceMin leave their last
    // extreme and its index in (GetReduceMaxMinCount).
    float maxMinValue = 0.0f;
    uint32_t maxMinIndex = 0;
    bool maxMinSet = false;
    bool staticAlloc = false;  // LocalMemAllocator in use (static-tensor programming, no TPipe)
    uint32_t staticTop[kHwCount] = {};

    // The state InitSocState (and every TPipe) establishes: Normal mask mode, full mask.
    void ResetSoc() {
        maskCounter = false;
        maskLo = maskHi = ~0ull;
        atomicOp = 0;
    }

    BlockState() = default;
    BlockState(const BlockState&) = delete;
    BlockState& operator=(const BlockState&) = delete;
    ~BlockState() {
        for (int k = 0; k < kHwCount; ++k) ArenaRelease(arena[k], arenaBytes[k]);
    }
    void Reset(int64_t i, int64_t n) {
        idx = i;
        num = n;
        slots.clear();
        livePipe = 0;
        std::memset(flags, 0, sizeof(flags));
        sysWorkspace = nullptr;
        ResetSoc();
        deqScale = std::numeric_limits<float>::quiet_NaN();
        staticAlloc = false;
        std::memset(staticTop, 0, sizeof(staticTop));
        std::memset(cmpMask, 0, sizeof(cmpMask));
        maxMinValue = 0.0f;
        maxMinIndex = 0;
        maxMinSet = false;
    }
    uint8_t* Arena(Hw h) {
        int k = static_cast<int>(h);
        uint32_t want = Cfg().bytes[k];
        if (arena[k] == nullptr || arenaBytes[k] < want) {
            ArenaRelease(arena[k], arenaBytes[k]);
            arena[k] = ArenaTake(want);
            arenaBytes[k] = want;
        }
        return arena[k];
    }
};

CIRC_HIDDEN inline thread_local BlockState* tlsBlock = nullptr;

CIRC_HIDDEN inline BlockState& Block() {
    if (tlsBlock == nullptr) {  // a kernel called directly, outside ICPU_RUN_KF: block 0 of 1
        static thread_local BlockState standalone;
        tlsBlock = &standalone;
    }
    return *tlsBlock;
}

inline std::string Vformat(const char* fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = std::vsnprintf(nullptr, 0, fmt, ap2);
    va_end(ap2);
    std::string s(n > 0 ? static_cast<size_t>(n) : 0, '\0');
    if (n > 0) std::vsnprintf(&s[0], s.size() + 1, fmt, ap);
    return s;
}

inline std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline std::string Format(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = Vformat(fmt, ap);
    va_end(ap);
    return s;
}

// Report a kernel error: `ascendc-cpu: error: block i/n: file:line: API: message`. Inside a
// launch the first error is printed at once, the other blocks are cancelled at their next API
// call and ICPU_RUN_KF exits(1) once every worker has stopped; outside a launch it exits(1).
[[noreturn]] inline void FailV(const Loc& loc, const char* api, const char* fmt, va_list ap) {
    std::string msg = "ascendc-cpu: error: ";
    BlockState* b = tlsBlock;
    if (b != nullptr && b->inLaunch) msg += Format("block %lld/%lld: ", (long long)b->idx, (long long)b->num);
    msg += Format("%s:%d: %s: ", Basename(loc.file), loc.line, api);
    msg += Vformat(fmt, ap);
    RunState& r = Run();
    {
        std::lock_guard<std::mutex> g(r.mu);
        if (r.firstError.empty() || b == nullptr || !b->inLaunch) {
            r.firstError = msg;
            r.lastError = msg;
            std::fflush(stdout);
            std::fprintf(stderr, "%s\n", msg.c_str());
            std::fflush(stderr);
        }
    }
    if (b != nullptr && b->inLaunch) {
        r.abort.store(true);
        throw KernelAbort{};
    }
    std::fflush(nullptr);
    std::exit(1);
}

[[noreturn]] inline void Fail(const Loc& loc, const char* api, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
[[noreturn]] inline void Fail(const Loc& loc, const char* api, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    FailV(loc, api, fmt, ap);
}

inline void Warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
inline void Warn(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string s = Vformat(fmt, ap);
    va_end(ap);
    std::lock_guard<std::mutex> g(Run().mu);
    std::fprintf(stderr, "ascendc-cpu: warning: %s\n", s.c_str());
}

// Every API entry calls this: a block stops at its next API call once another block failed.
inline void Tick() {
    if (Run().abort.load(std::memory_order_relaxed)) {
        BlockState* b = tlsBlock;
        if (b != nullptr && b->inLaunch) throw Cancelled{};
    }
}

// ---- global memory: GmAlloc'd (or registered) ranges, for bounds checks -----------------
struct GmRegistry {
    std::mutex mu;
    std::map<uintptr_t, size_t> ranges;  // start -> bytes
    std::map<uintptr_t, size_t> owned;   // what GmAlloc allocated (GmFree frees these)
    // Written under mu by every change of `ranges` (GmChanged); read without it by GmFind, so
    // the bounds check of every GM access does not take (and, across blocks, contend for) mu.
    std::atomic<size_t> count{0};      // ranges.size()
    std::atomic<uint64_t> version{1};  // bumped by every change: invalidates the lookup caches
};
CIRC_HIDDEN inline GmRegistry& Gm() {
    static GmRegistry g;
    return g;
}

// Call with Gm().mu held after changing Gm().ranges.
inline void GmChanged() {
    GmRegistry& g = Gm();
    g.count.store(g.ranges.size(), std::memory_order_release);
    g.version.fetch_add(1, std::memory_order_acq_rel);
}

// A thread's last few lookups: [start, limit) maps to the range (start, bytes), where limit is
// min(start + bytes, the next range's start), so every address in it has that answer.
struct GmCacheEntry {
    uint64_t version;
    uintptr_t start, limit;
    size_t bytes;
};
struct GmCache {
    GmCacheEntry e[4] = {};
    unsigned next = 0;
};
CIRC_HIDDEN inline thread_local GmCache tlsGmCache;

// The registered range holding p: returns false when p is in no registered range.
inline bool GmFind(const void* p, uintptr_t& start, size_t& bytes) {
    GmRegistry& g = Gm();
    if (g.count.load(std::memory_order_acquire) == 0) return false;
    uintptr_t a = reinterpret_cast<uintptr_t>(p);
    uint64_t v = g.version.load(std::memory_order_acquire);
    GmCache& c = tlsGmCache;
    for (const GmCacheEntry& e : c.e) {
        if (e.version == v && a >= e.start && a < e.limit) {
            start = e.start;
            bytes = e.bytes;
            return true;
        }
    }
    std::lock_guard<std::mutex> lock(g.mu);
    if (g.ranges.empty()) return false;
    auto it = g.ranges.upper_bound(a);
    if (it == g.ranges.begin()) return false;
    auto nxt = it;
    --it;
    if (a >= it->first + it->second && !(it->second == 0 && a == it->first)) return false;
    start = it->first;
    bytes = it->second;
    if (bytes != 0) {
        uintptr_t limit = it->first + it->second;
        if (nxt != g.ranges.end() && nxt->first < limit) limit = nxt->first;
        c.e[c.next] = GmCacheEntry{g.version.load(std::memory_order_relaxed), start, limit, bytes};
        c.next = (c.next + 1) % 4;
    }
    return true;
}

// [p, p + bytes) must lie inside the GmAlloc'd buffer that holds p (unknown pointers pass).
inline void GmCheck(const void* p, uint64_t bytes, const Loc& loc, const char* api, const char* what) {
    uintptr_t start = 0;
    size_t size = 0;
    if (!GmFind(p, start, size)) return;
    uintptr_t a = reinterpret_cast<uintptr_t>(p);
    if (a + bytes > start + size) {
        Fail(loc, api,
             "%s reads/writes global memory out of bounds: bytes [%llu, %llu) of a %zu-byte GmAlloc buffer",
             what, (unsigned long long)(a - start), (unsigned long long)(a - start + bytes), size);
    }
}

inline void GmRegister(const void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(Gm().mu);
    Gm().ranges[reinterpret_cast<uintptr_t>(p)] = bytes;
    GmChanged();
}

inline void GmUnregister(const void* p) {
    std::lock_guard<std::mutex> lock(Gm().mu);
    Gm().ranges.erase(reinterpret_cast<uintptr_t>(p));
    GmChanged();
}

// ---- knobs a host program may turn (circ's own API, not CANN's) --------------------------
inline void SetSocBufferBytes(TPosition pos, uint32_t bytes) { Cfg().bytes[static_cast<int>(PosToHw(pos))] = bytes; }
inline void SetSocUbBytes(uint32_t bytes) { Cfg().bytes[static_cast<int>(Hw::UB)] = bytes; }
inline uint32_t GetSocUbBytes() { return Cfg().bytes[static_cast<int>(Hw::UB)]; }
inline void SetSocArch(int arch) { Cfg().arch = arch; }
inline void SetLenient(bool on) { Cfg().lenient = on; }
inline void SetPoison(bool on) { Cfg().poison = on; }
inline void SetThreads(int n) { Cfg().threads = n; }
inline void SetExitOnError(bool on) { Cfg().exitOnError = on; }
inline std::string LastError() {
    std::lock_guard<std::mutex> g(Run().mu);
    return Run().lastError;
}

}  // namespace cpu

// ---- block index / count ---------------------------------------------------------------------
inline int64_t GetBlockIdx() { return cpu::Block().idx; }
inline int64_t GetBlockNum() { return cpu::Block().num; }

// ---- GM allocation (host side of CPU twin debugging) ---------------------------------------
// Memory is 512-byte aligned and filled with 0xFF bytes (NaN for float types), so an output a
// kernel never writes shows up as NaN.
inline void* GmAlloc(size_t size) {
    size_t bytes = static_cast<size_t>(cpu::RoundUp(size ? size : 1, 512));
    void* p = std::aligned_alloc(512, bytes);
    if (p == nullptr) {
        std::fprintf(stderr, "ascendc-cpu: error: GmAlloc(%zu): out of memory\n", size);
        std::exit(1);
    }
    std::memset(p, 0xFF, bytes);
    std::lock_guard<std::mutex> lock(cpu::Gm().mu);
    cpu::Gm().ranges[reinterpret_cast<uintptr_t>(p)] = size;
    cpu::Gm().owned[reinterpret_cast<uintptr_t>(p)] = size;
    cpu::GmChanged();
    return p;
}

inline void GmFree(void* ptr) {
    if (ptr == nullptr) return;
    {
        std::lock_guard<std::mutex> lock(cpu::Gm().mu);
        auto it = cpu::Gm().owned.find(reinterpret_cast<uintptr_t>(ptr));
        if (it != cpu::Gm().owned.end()) {
            cpu::Gm().owned.erase(it);
            cpu::Gm().ranges.erase(reinterpret_cast<uintptr_t>(ptr));
            cpu::GmChanged();
            std::free(ptr);
            return;
        }
    }
    std::fflush(stdout);
    std::fprintf(stderr, "ascendc-cpu: error: GmFree(%p): not a pointer returned by GmAlloc (or freed twice)\n", ptr);
    std::exit(1);
}

inline void SetKernelMode(KernelMode mode) { cpu::Cfg().mode = mode; }

// System workspace (the Matmul API needs none on the CPU; kept for source compatibility).
inline void SetSysWorkspace(GM_ADDR workspace) { cpu::Block().sysWorkspace = workspace; }
CIRC_HIDDEN inline GM_ADDR GetSysWorkSpacePtr() {
    static thread_local uint8_t dummy[64];
    uint8_t* w = cpu::Block().sysWorkspace;
    return w != nullptr ? w : dummy;
}

namespace cpu {
inline KernelMode Mode() { return Cfg().mode; }
CIRC_HIDDEN inline uint64_t& TilingKey() {
    static uint64_t key = 0;
    return key;
}
}  // namespace cpu

}  // namespace AscendC

#define ASCEND_IS_AIV (::AscendC::cpu::Mode() != ::KernelMode::AIC_MODE)
#define ASCEND_IS_AIC (::AscendC::cpu::Mode() != ::KernelMode::AIV_MODE)
#define ASCEND_IS_NOT_AIV (!ASCEND_IS_AIV)
#define ASCEND_IS_NOT_AIC (!ASCEND_IS_AIC)
#define KERNEL_TASK_TYPE_DEFAULT(type)
#define TILING_KEY_IS(key) (::AscendC::cpu::TilingKey() == static_cast<uint64_t>(key))
