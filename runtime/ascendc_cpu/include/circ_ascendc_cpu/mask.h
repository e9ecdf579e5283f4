// circ's AscendC CPU layer — the vector unit's mask register and the repeat ("high-dimension
// split") addressing of vector instructions.
//
// A vector instruction runs `repeatTimes` repeats; each repeat reads up to 256 bytes: 8
// DataBlocks of 32 bytes. Lane e of repeat r of an operand sits at byte
//     (r * repStride + (e / perBlock) * blkStride) * 32 + (e % perBlock) * sizeof(T)
// (strides in 32-byte blocks). The mask register says which lanes run: in Normal mode a
// 128-bit lane mask applied to every repeat (set as a count of leading lanes, or as bits
// mask[1]:mask[0]); in Counter mode the low 64 bits are the total number of elements and the
// repeats follow from it. APIs with isSetMask = true load the register from their mask
// argument; with isSetMask = false they use what SetVectorMask left there.
#pragma once

#include "misc.h"
#include "tensor.h"

namespace AscendC {

enum class MaskMode : uint8_t { NORMAL = 0, COUNTER };
constexpr uint64_t MASK_PLACEHOLDER = 0;
constexpr uint64_t MASK_PLACEHOLDER_LIST[2] = {0, 0};

struct BinaryRepeatParams {
    BinaryRepeatParams() {}
    BinaryRepeatParams(const uint8_t dstBlkStrideIn, const uint8_t src0BlkStrideIn, const uint8_t src1BlkStrideIn,
                       const uint8_t dstRepStrideIn, const uint8_t src0RepStrideIn, const uint8_t src1RepStrideIn)
        : dstBlkStride(dstBlkStrideIn), src0BlkStride(src0BlkStrideIn), src1BlkStride(src1BlkStrideIn),
          dstRepStride(dstRepStrideIn), src0RepStride(src0RepStrideIn), src1RepStride(src1RepStrideIn) {}
    uint32_t blockNumber = DEFAULT_BLK_NUM;
    uint8_t dstBlkStride = DEFAULT_BLK_STRIDE;
    uint8_t src0BlkStride = DEFAULT_BLK_STRIDE;
    uint8_t src1BlkStride = DEFAULT_BLK_STRIDE;
    uint8_t dstRepStride = DEFAULT_REPEAT_STRIDE;
    uint8_t src0RepStride = DEFAULT_REPEAT_STRIDE;
    uint8_t src1RepStride = DEFAULT_REPEAT_STRIDE;
    bool repeatStrideMode = false;
    bool strideSizeMode = false;
};

struct UnaryRepeatParams {
    UnaryRepeatParams() {}
    UnaryRepeatParams(const uint16_t dstBlkStrideIn, const uint16_t srcBlkStrideIn, const uint8_t dstRepStrideIn,
                      const uint8_t srcRepStrideIn)
        : dstBlkStride(dstBlkStrideIn), srcBlkStride(srcBlkStrideIn), dstRepStride(dstRepStrideIn),
          srcRepStride(srcRepStrideIn) {}
    uint32_t blockNumber = DEFAULT_BLK_NUM;
    uint16_t dstBlkStride = DEFAULT_BLK_STRIDE;
    uint16_t srcBlkStride = DEFAULT_BLK_STRIDE;
    uint8_t dstRepStride = DEFAULT_REPEAT_STRIDE;
    uint8_t srcRepStride = DEFAULT_REPEAT_STRIDE;
    bool repeatStrideMode = false;
    bool strideSizeMode = false;
    bool halfBlock = false;
};

// ---- the mask register ------------------------------------------------------------------------
inline void SetMaskCount() { cpu::Block().maskCounter = true; }
inline void SetMaskNorm() { cpu::Block().maskCounter = false; }
inline void ResetMask() { cpu::Block().maskLo = cpu::Block().maskHi = ~0ull; }
// Clears what a previous kernel may have left in the core's global state (mask mode and
// register). TPipe's constructor does the same.
inline void InitSocState() { cpu::Block().ResetSoc(); }

namespace cpu {

// Lanes of one repeat for an element of `bytes` bytes (16-bit: 128, 32-bit: 64).
constexpr int LanesFor(size_t bytes) { return static_cast<int>(256 / bytes); }

inline void LoadMaskLen(int64_t len, int lanes, const Loc& loc, const char* api) {
    BlockState& b = Block();
    if (b.maskCounter) {
        if (len < 0) Fail(loc, api, "Counter-mode mask %lld is negative", (long long)len);
        b.maskLo = static_cast<uint64_t>(len);
        b.maskHi = 0;
        return;
    }
    if (len < 0 || len > lanes) {
        Fail(loc, api, "mask %lld is out of range [0, %d] for this data type (one repeat has %d lanes)", (long long)len,
             lanes, lanes);
    }
    b.maskLo = len >= 64 ? ~0ull : ((1ull << len) - 1);
    b.maskHi = len <= 64 ? 0 : (len >= 128 ? ~0ull : ((1ull << (len - 64)) - 1));
}

inline void LoadMaskBits(uint64_t hi, uint64_t lo, int lanes, const Loc& loc, const char* api) {
    BlockState& b = Block();
    if (!b.maskCounter && lanes <= 64) {
        if (hi != 0) {
            Fail(loc, api, "mask[1] = %#llx must be 0 for a %d-lane data type (only mask[0] selects lanes)",
                 (unsigned long long)hi, lanes);
        }
        if (lanes < 64 && (lo >> lanes) != 0) {
            Fail(loc, api, "mask[0] = %#llx selects lanes beyond the %d of one repeat", (unsigned long long)lo, lanes);
        }
    }
    b.maskLo = lo;
    b.maskHi = b.maskCounter ? 0 : hi;
}

// The active lanes of each repeat, from the mask register and mode.
struct LaneSet {
    int lanes = 0;          // lanes in one repeat
    int64_t repeats = 0;    // repeats that run
    bool counter = false;
    uint64_t lo = 0, hi = 0;
    uint64_t total = 0;     // Counter mode: elements in all

    bool On(int e) const { return e < 64 ? ((lo >> e) & 1u) : ((hi >> (e - 64)) & 1u); }
    // Fill idx with the active lanes of repeat r; return how many.
    int Active(int64_t r, int* idx) const {
        int n = 0;
        if (counter) {
            uint64_t first = static_cast<uint64_t>(r) * lanes;
            int m = static_cast<int>(std::min<uint64_t>(lanes, total - first));
            for (int e = 0; e < m; ++e) idx[n++] = e;
            return n;
        }
        for (int e = 0; e < lanes; ++e)
            if (On(e)) idx[n++] = e;
        return n;
    }
    int Highest(int64_t r) const {
        if (counter) return static_cast<int>(std::min<uint64_t>(lanes, total - static_cast<uint64_t>(r) * lanes)) - 1;
        for (int e = lanes - 1; e >= 0; --e)
            if (On(e)) return e;
        return -1;
    }
};

inline LaneSet CurrentLanes(int lanes, int64_t repeatTimes, const Loc& loc, const char* api) {
    BlockState& b = Block();
    LaneSet l;
    l.lanes = lanes;
    l.counter = b.maskCounter;
    if (l.counter) {
        l.total = b.maskLo;
        l.repeats = static_cast<int64_t>(DivCeil(l.total, lanes));
        return l;
    }
    if (repeatTimes < 0 || repeatTimes > 255) {
        Fail(loc, api, "repeatTimes %lld is out of range [0, 255]", (long long)repeatTimes);
    }
    l.lo = b.maskLo;
    l.hi = lanes > 64 ? b.maskHi : 0;
    if (lanes < 64) l.lo &= (1ull << lanes) - 1;
    l.repeats = (l.lo == 0 && l.hi == 0) ? 0 : repeatTimes;  // mask 0: no operation
    return l;
}

// How a repeat walks one operand: strides in 32-byte blocks.
struct Stride {
    uint32_t blk;
    uint32_t rep;
};

template <typename T>
inline uint64_t LaneByte(const Stride& s, int64_t r, int e) {
    constexpr int perBlock = 32 / sizeof(T);
    return (static_cast<uint64_t>(r) * s.rep + static_cast<uint64_t>(e / perBlock) * s.blk) * 32 +
           static_cast<uint64_t>(e % perBlock) * sizeof(T);
}

// Check a repeat-form operand (live, in the UB, 32-byte aligned, every active lane inside the
// tensor) and return its first element.
template <typename T>
inline T* RepOperand(const LocalTensor<T>& t, const Stride& s, const LaneSet& l, const char* role, const Loc& loc,
                     const char* api) {
    CheckLive(t.desc_, role, loc, api);
    if (DescHw(t.desc_) != Hw::UB) {
        Fail(loc, api, "%s is at TPosition::%s: vector instructions work on the Unified Buffer only", role,
             PosName(static_cast<TPosition>(t.desc_.pos)));
    }
    if (t.desc_.addr % 32 != 0) {
        Fail(loc, api, "%s starts at UB byte %u, which is not 32-byte aligned", role, t.desc_.addr);
    }
    for (int64_t r = 0; r < l.repeats; ++r) {
        int e = l.Highest(r);
        if (e < 0) continue;
        uint64_t end = LaneByte<T>(s, r, e) + sizeof(T);
        if (end > t.desc_.len) {
            Fail(loc, api,
                 "%s: repeat %lld, lane %d (blkStride %u, repStride %u) is at bytes [%llu, %llu), past the end of the "
                 "%u-byte LocalTensor (%u x %s)",
                 role, (long long)r, e, s.blk, s.rep, (unsigned long long)(end - sizeof(T)), (unsigned long long)end,
                 t.desc_.len, t.GetSize(), TypeName<T>::Get());
        }
    }
    return t.Ptr();
}

template <typename T>
inline T& LaneAt(T* base, const Stride& s, int64_t r, int e) {
    return *reinterpret_cast<T*>(reinterpret_cast<uint8_t*>(base) + LaneByte<T>(s, r, e));
}

// The mask argument of a repeat-form API: a lane count, or the bits mask[1]:mask[0].
struct MaskArg {
    const uint64_t* bits;
    uint64_t len;
};
inline MaskArg MaskOf(const uint64_t mask[]) { return MaskArg{mask, 0}; }
inline MaskArg MaskOf(uint64_t len) { return MaskArg{nullptr, len}; }

// isSetMask = true: load the mask register from the API's argument.
template <bool isSetMask>
inline void ApplyMask(const MaskArg& m, int lanes, const Loc& loc, const char* api) {
    if constexpr (isSetMask) {
        if (m.bits == nullptr) {
            LoadMaskLen(static_cast<int64_t>(m.len), lanes, loc, api);
        } else if (Block().maskCounter) {
            LoadMaskLen(static_cast<int64_t>(m.bits[0]), lanes, loc, api);
        } else {
            LoadMaskBits(m.bits[1], m.bits[0], lanes, loc, api);
        }
    } else {
        (void)m;
        (void)lanes;
        (void)loc;
        (void)api;
    }
}

// Elements a count-form API processes: `count`, or with isSetMask = false the Counter-mode
// mask register (the count argument does not count then).
template <bool isSetMask>
inline int64_t CountFormCount(int64_t count, const Loc& loc, const char* api) {
    if constexpr (isSetMask) {
        return count;
    } else {
        (void)count;
        BlockState& b = Block();
        if (!b.maskCounter) {
            Fail(loc, api,
                 "the count form with isSetMask = false takes its element count from the mask register in Counter "
                 "mode: call SetMaskCount() and SetVectorMask<T, MaskMode::COUNTER>(n) first");
        }
        return static_cast<int64_t>(b.maskLo);
    }
}

// A count-form API with isSetMask = true runs in Counter mode and leaves the core in Normal
// mode with a full mask (as the NPU's implementation does).
template <bool isSetMask>
inline void CountFormDone() {
    if constexpr (isSetMask) Block().ResetSoc();
}

}  // namespace cpu

template <typename T, MaskMode mode = MaskMode::NORMAL>
inline void SetVectorMask(const uint64_t maskHigh, const uint64_t maskLow, CIRC_LOC) {
    cpu::Tick();
    if constexpr (mode == MaskMode::COUNTER) {
        (void)maskHigh;
        cpu::Block().maskLo = maskLow;
        cpu::Block().maskHi = 0;
    } else {
        constexpr int lanes = cpu::LanesFor(sizeof(T));
        bool counter = cpu::Block().maskCounter;
        cpu::Block().maskCounter = false;  // validate as Normal-mode bits
        cpu::LoadMaskBits(maskHigh, maskLow, lanes, circLoc, "SetVectorMask");
        cpu::Block().maskCounter = counter;
    }
}

template <typename T, MaskMode mode = MaskMode::NORMAL>
inline void SetVectorMask(int32_t len, CIRC_LOC) {
    cpu::Tick();
    if constexpr (mode == MaskMode::COUNTER) {
        if (len < 0) cpu::Fail(circLoc, "SetVectorMask", "Counter-mode mask %d is negative", len);
        cpu::Block().maskLo = static_cast<uint64_t>(len);
        cpu::Block().maskHi = 0;
    } else {
        bool counter = cpu::Block().maskCounter;
        cpu::Block().maskCounter = false;
        cpu::LoadMaskLen(len, cpu::LanesFor(sizeof(T)), circLoc, "SetVectorMask");
        cpu::Block().maskCounter = counter;
    }
}

// int32_t -> half Cast multiplies by this scale (the DEQSCALE register).
inline void SetDeqScale(half scale) { cpu::Block().deqScale = static_cast<float>(scale); }

}  // namespace AscendC
