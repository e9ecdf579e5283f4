// circ's AscendC CPU layer — pipe synchronisation and kernel tiling.
//
// On the CPU every instruction of a block runs in program order, so barriers and flags order
// nothing; they are recorded so that a WaitFlag with no SetFlag before it (a kernel that would
// hang on the NPU) is reported.
#pragma once

#include "tensor.h"

namespace AscendC {

namespace cpu {
inline const char* EventName(HardEvent e) {
    static const char* names[] = {"MTE2_MTE1", "MTE1_MTE2", "MTE1_M",   "M_MTE1",    "MTE2_V",    "V_MTE2",
                                  "MTE3_V",    "V_MTE3",    "M_V",      "V_M",       "V_V",       "MTE3_MTE1",
                                  "MTE1_MTE3", "MTE1_V",    "MTE2_M",   "M_MTE2",    "V_MTE1",    "M_FIX",
                                  "FIX_M",     "MTE3_MTE2", "MTE2_MTE3", "S_V",      "V_S",       "S_MTE2",
                                  "MTE2_S",    "S_MTE3",    "MTE3_S",   "MTE2_FIX",  "FIX_MTE2",  "FIX_S",
                                  "M_S",       "FIX_MTE3",  "MTE1_FIX", "FIX_MTE1",  "FIX_FIX"};
    int i = static_cast<int>(e);
    return i < static_cast<int>(sizeof(names) / sizeof(names[0])) ? names[i] : "?";
}
}  // namespace cpu

template <pipe_t pipe>
inline void PipeBarrier() {
    cpu::Tick();
}

template <HardEvent event>
inline void SetFlag(int32_t eventID, CIRC_LOC) {
    cpu::Tick();
    if (eventID < 0 || eventID > 7) {
        cpu::Fail(circLoc, "SetFlag", "event ID %d of HardEvent::%s is out of range [0, 7]", eventID,
                  cpu::EventName(event));
    }
    ++cpu::Block().flags[static_cast<int>(event)][eventID];
}

template <HardEvent event>
inline void WaitFlag(int32_t eventID, CIRC_LOC) {
    cpu::Tick();
    if (eventID < 0 || eventID > 7) {
        cpu::Fail(circLoc, "WaitFlag", "event ID %d of HardEvent::%s is out of range [0, 7]", eventID,
                  cpu::EventName(event));
    }
    int32_t& f = cpu::Block().flags[static_cast<int>(event)][eventID];
    if (f == 0) {
        if (cpu::Cfg().lenient) return;
        cpu::Fail(circLoc, "WaitFlag",
                  "WaitFlag<HardEvent::%s>(%d) with no SetFlag<HardEvent::%s>(%d) before it: on the NPU this "
                  "waits forever",
                  cpu::EventName(event), eventID, cpu::EventName(event), eventID);
    }
    --f;
}

namespace cpu {

// GET_TILING_DATA_WITH_STRUCT: copy the POD tiling struct out of GM (bounds-checked when the
// pointer is a GmAlloc buffer).
template <typename S>
inline void CopyTiling(S* out, const void* tiling, const char* name, const Loc& loc) {
    static_assert(std::is_trivially_copyable<S>::value, "a tiling struct must be trivially copyable (POD)");
    Tick();
    if (tiling == nullptr) Fail(loc, "GET_TILING_DATA_WITH_STRUCT", "the tiling pointer for %s is null", name);
    GmCheck(tiling, sizeof(S), loc, "GET_TILING_DATA_WITH_STRUCT", name);
    std::memcpy(static_cast<void*>(out), tiling, sizeof(S));
}

template <typename S>
inline const S* TilingPtr(const void* tiling, const char* name, const Loc& loc) {
    static_assert(std::is_trivially_copyable<S>::value, "a tiling struct must be trivially copyable (POD)");
    if (tiling == nullptr) Fail(loc, "GET_TILING_DATA_PTR_WITH_STRUCT", "the tiling pointer for %s is null", name);
    GmCheck(tiling, sizeof(S), loc, "GET_TILING_DATA_PTR_WITH_STRUCT", name);
    return static_cast<const S*>(tiling);
}

inline void CopyTilingMember(void* out, const void* tiling, size_t offset, size_t bytes, const char* name, const Loc& loc) {
    Tick();
    if (tiling == nullptr) Fail(loc, "GET_TILING_DATA_MEMBER", "the tiling pointer for %s is null", name);
    const uint8_t* p = static_cast<const uint8_t*>(tiling) + offset;
    GmCheck(p, bytes, loc, "GET_TILING_DATA_MEMBER", name);
    std::memcpy(out, p, bytes);
}

}  // namespace cpu
// ---- the scalar unit's data cache -------------------------------------------------------------------
// On the NPU, scalar GetValue / SetValue on GM go through a per-core data cache that
// DataCacheCleanAndInvalid writes back and invalidates. The CPU layer's scalar accesses go to
// memory directly, so the calls order nothing; they are accepted with CANN's signatures.
enum class CacheLine : uint8_t { SINGLE_CACHE_LINE = 0, ENTIRE_DATA_CACHE };
enum class DcciDst : uint8_t { CACHELINE_ALL = 0, CACHELINE_UB, CACHELINE_OUT, CACHELINE_ATOMIC };

template <typename T, CacheLine entireType, DcciDst dcciDst>
inline void DataCacheCleanAndInvalid(const GlobalTensor<T>& dst) {
    (void)dst;
    cpu::Tick();
}
template <typename T, CacheLine entireType, DcciDst dcciDst>
inline void DataCacheCleanAndInvalid(const LocalTensor<T>& dst) {
    (void)dst;
    cpu::Tick();
}
template <typename T, CacheLine entireType>
inline void DataCacheCleanAndInvalid(const GlobalTensor<T>& dst) {
    (void)dst;
    cpu::Tick();
}

}  // namespace AscendC

#define GET_TILING_DATA_WITH_STRUCT(struct_name, tiling_data, tiling_arg) \
    struct_name tiling_data;                                              \
    ::AscendC::cpu::CopyTiling<struct_name>(&tiling_data, (tiling_arg), #struct_name, ::AscendC::cpu::Loc())

#define GET_TILING_DATA_PTR_WITH_STRUCT(struct_name, tiling_ptr, tiling_arg) \
    const struct_name* tiling_ptr = ::AscendC::cpu::TilingPtr<struct_name>((tiling_arg), #struct_name, ::AscendC::cpu::Loc())
