// circ's AscendC CPU layer — kernel-side odds and ends: assertions, branch hints, the constants
// op kernels use, the user workspace.
#pragma once

#include "core.h"

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

namespace AscendC {

constexpr uint32_t DEFAULT_C0_SIZE = 32;  // bytes of one C0 block (the 32-byte DataBlock)
constexpr uint32_t BLOCK_CUBE = 16;       // rows / columns of a cube fractal
constexpr uint32_t MAX_REPEAT_TIMES = 255;
constexpr int32_t DEFAULT_BLK_STRIDE = 1;
constexpr uint8_t DEFAULT_REPEAT_STRIDE = 8;

namespace cpu {

[[noreturn]] inline void AssertFail(const Loc& loc, const char* expr) {
    Fail(loc, "assert", "assertion `%s` failed", expr);
}

[[noreturn]] inline void AssertFail(const Loc& loc, const char* expr, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
[[noreturn]] inline void AssertFail(const Loc& loc, const char* expr, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string msg = Vformat(fmt, ap);
    va_end(ap);
    Fail(loc, "assert", "assertion `%s` failed: %s", expr, msg.c_str());
}

}  // namespace cpu

// Integer ceiling division (the scalar helper of kernel code).
template <typename T>
constexpr T DivCeil(T a, T b) {
    return (a + b - 1) / b;
}

// The user's part of the workspace. The Matmul API of the CPU layer needs no system
// workspace, so it starts at the workspace itself (a kernel that sized its workspace as
// user + system bytes stays in bounds).
inline GM_ADDR GetUserWorkspace(GM_ADDR workspace) { return workspace; }

// A cycle counter for timing a stretch of kernel code: here the host's steady clock in ns.
inline int64_t GetSystemCycle() {
    return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now().time_since_epoch())
                                    .count());
}

}  // namespace AscendC

// ASSERT(cond) and ascendc_assert(cond[, fmt, args...]): a failed assertion is a kernel error
// (the error line names the condition and the message).
#define ascendc_assert(cond, ...) \
    ((cond) ? (void)0 : ::AscendC::cpu::AssertFail(::AscendC::cpu::Loc(), #cond, ##__VA_ARGS__))
#ifndef ASSERT
#define ASSERT(cond) ascendc_assert(cond)
#endif
