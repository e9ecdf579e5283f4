// circ's AscendC CPU layer — DataCopy / DataCopyPad (the MTE2 / MTE3 moves between GM and the
// local memories) with the hardware's alignment rules.
#pragma once

#include "tpipe.h"

namespace AscendC {

constexpr uint16_t DEFAULT_DATA_COPY_NBURST = 1;
constexpr uint16_t DEFAULT_DATA_COPY_STRIDE = 0;

struct DataCopyParams {
    DataCopyParams() {}
    DataCopyParams(const uint16_t count, const uint16_t len, const uint16_t srcStrideIn, const uint16_t dstStrideIn)
        : blockCount(count), blockLen(len), srcStride(srcStrideIn), dstStride(dstStrideIn) {}
    uint16_t blockCount = DEFAULT_DATA_COPY_NBURST;
    uint16_t blockLen = 0;  // DataCopy: in 32-byte DataBlocks; DataCopyPad: in bytes
    uint16_t srcStride = 0;
    uint16_t dstStride = 0;
};

struct DataCopyExtParams {
    DataCopyExtParams() {}
    DataCopyExtParams(const uint16_t count, const uint32_t len, const uint32_t srcStrideIn, const uint32_t dstStrideIn,
                      const uint32_t rsvIn)
        : blockCount(count), blockLen(len), srcStride(srcStrideIn), dstStride(dstStrideIn), rsv(rsvIn) {}
    uint16_t blockCount = DEFAULT_DATA_COPY_NBURST;
    uint32_t blockLen = 0;   // bytes
    uint32_t srcStride = 0;  // GM side: bytes; UB side: 32-byte DataBlocks
    uint32_t dstStride = 0;
    uint32_t rsv = 0;
};

struct DataCopyPadParams {
    DataCopyPadParams() {}
    DataCopyPadParams(const bool isPadValue, const uint8_t leftPadValue, const uint8_t rightPadValue, const uint64_t padValue)
        : isPad(isPadValue), leftPadding(leftPadValue), rightPadding(rightPadValue), paddingValue(padValue) {}
    bool isPad = false;
    uint8_t leftPadding = 0;
    uint8_t rightPadding = 0;
    uint64_t paddingValue = 0;
};

template <typename T>
struct DataCopyPadExtParams {
    DataCopyPadExtParams() {}
    DataCopyPadExtParams(const bool isPadValue, const uint8_t leftPadValue, const uint8_t rightPadValue, T padValue)
        : isPad(isPadValue), leftPadding(leftPadValue), rightPadding(rightPadValue), paddingValue(padValue) {}
    bool isPad = false;
    uint8_t leftPadding = 0;
    uint8_t rightPadding = 0;
    T paddingValue = T(0);
};

namespace cpu {

// A LocalTensor operand of a move: live, in the expected memory, 32-byte aligned, big enough.
template <typename T>
inline uint8_t* MoveLocal(const LocalTensor<T>& t, uint64_t bytes, const char* role, const Loc& loc, const char* api) {
    CheckLive(t.desc_, role, loc, api);
    Hw hw = DescHw(t.desc_);
    uint32_t align = HwAlign(hw);
    if (t.desc_.addr % align != 0) {
        Fail(loc, api, "%s (TPosition::%s) starts at %s byte %u, which is not %u-byte aligned", role,
             PosName(static_cast<TPosition>(t.desc_.pos)), HwName(hw), t.desc_.addr, align);
    }
    if (bytes > t.desc_.len) {
        Fail(loc, api, "the move touches %llu bytes of %s, but the LocalTensor has only %u bytes (%u x %s)",
             (unsigned long long)bytes, role, t.desc_.len, t.GetSize(), TypeName<T>::Get());
    }
    return reinterpret_cast<uint8_t*>(t.desc_.base + t.desc_.addr);
}

template <typename T>
inline uint8_t* MoveGlobal(const GlobalTensor<T>& g, uint64_t bytes, const Loc& loc, const char* api) {
    if (g.address_ == nullptr) Fail(loc, api, "the GlobalTensor has no buffer (call SetGlobalBuffer first)");
    g.CheckView(loc, api);
    if (reinterpret_cast<uintptr_t>(g.address_) % sizeof(T) != 0) {
        Fail(loc, api, "the GM address %p is not aligned to sizeof(%s)", static_cast<const void*>(g.address_),
             TypeName<T>::Get());
    }
    if (g.sized_ && bytes > g.bufferSize_ * sizeof(T)) {
        Fail(loc, api,
             "the move touches %llu bytes of the GlobalTensor, but its SetGlobalBuffer size is %llu elements (%llu "
             "bytes)",
             (unsigned long long)bytes, (unsigned long long)g.bufferSize_,
             (unsigned long long)(g.bufferSize_ * sizeof(T)));
    }
    GmCheck(g.address_, bytes, loc, api, "the move");
    return reinterpret_cast<uint8_t*>(g.address_);
}

// count * sizeof(T) must be a multiple of 32: strict mode reports it, lenient mode rounds down
// as the hardware silently does.
template <typename T>
inline uint64_t CountBytes(uint32_t count, const Loc& loc, const char* api) {
    uint64_t bytes = static_cast<uint64_t>(count) * sizeof(T);
    if (bytes % 32 == 0) return bytes;
    if (Cfg().lenient) return bytes / 32 * 32;
    Fail(loc, api,
         "%u elements of %s = %llu bytes is not a multiple of 32 bytes: the NPU would silently copy only %llu "
         "bytes. Copy the tail with DataCopyPad (or set CIRC_ASCENDC_LENIENT=1 to round down like the hardware)",
         count, TypeName<T>::Get(), (unsigned long long)bytes, (unsigned long long)(bytes / 32 * 32));
}

inline void CheckOverlap(const uint8_t* a, uint64_t na, const uint8_t* b, uint64_t nb, const Loc& loc, const char* api,
                         const char* what) {
    if (na == 0 || nb == 0) return;
    if (a < b + nb && b < a + na && a != b) {
        Fail(loc, api, "%s partially overlap (only identical start addresses may overlap)", what);
    }
}

inline bool IsUbOrL1(Hw h) { return h == Hw::UB || h == Hw::L1; }

CIRC_HIDDEN inline std::mutex& AtomicMutex() {
    static std::mutex m;
    return m;
}

// A store to GM: plain, or combined with what is there under SetAtomicAdd / Max / Min (the
// cores' atomic stores are serialised).
template <typename T>
inline void StoreGm(uint8_t* d, const uint8_t* s, uint64_t bytes, const Loc& loc, const char* api) {
    BlockState& b = Block();
    if (b.atomicOp == 0) {
        std::memcpy(d, s, bytes);
        return;
    }
    if (std::strcmp(b.atomicType, TypeName<T>::Get()) != 0) {
        Fail(loc, api, "the atomic mode was set for %s, but this copy moves %s", b.atomicType, TypeName<T>::Get());
    }
    std::lock_guard<std::mutex> g(AtomicMutex());
    for (uint64_t i = 0; i + sizeof(T) <= bytes; i += sizeof(T)) {
        T x, y, out;
        std::memcpy(&x, d + i, sizeof(T));
        std::memcpy(&y, s + i, sizeof(T));
        if constexpr (std::is_integral<T>::value) {
            int64_t a = x, c = y;
            out = static_cast<T>(b.atomicOp == 1 ? a + c : (b.atomicOp == 2 ? std::max(a, c) : std::min(a, c)));
        } else {  // float types: in float, rounded once
            float a = static_cast<float>(x), c = static_cast<float>(y);
            out = T(b.atomicOp == 1 ? a + c : (b.atomicOp == 2 ? std::max(a, c) : std::min(a, c)));
        }
        std::memcpy(d + i, &out, sizeof(T));
    }
}

template <typename T>
inline void SetAtomic(uint8_t op) {
    static_assert(OneOf<T, float, half, bfloat16_t, int8_t, int16_t, int32_t>::value,
                  "SetAtomicAdd/Max/Min: T must be float, half, bfloat16_t, int8_t, int16_t or int32_t");
    Tick();
    Block().atomicOp = op;
    Block().atomicType = TypeName<T>::Get();
}

}  // namespace cpu

// Stores to GM (DataCopy / DataCopyPad out of the UB) combine with GM's contents until
// SetAtomicNone.
template <typename T>
inline void SetAtomicAdd() { cpu::SetAtomic<T>(1); }
template <typename T>
inline void SetAtomicMax() { cpu::SetAtomic<T>(2); }
template <typename T>
inline void SetAtomicMin() { cpu::SetAtomic<T>(3); }
inline void SetAtomicNone() { cpu::Block().atomicOp = 0; }

// ---- DataCopy: contiguous (count elements) ----------------------------------------------------
template <typename T>
inline void DataCopy(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const uint32_t count, CIRC_LOC) {
    const char* api = "DataCopy(GM->local)";
    cpu::Tick();
    uint64_t bytes = cpu::CountBytes<T>(count, circLoc, api);
    cpu::CheckLive(dst.desc_, "dst", circLoc, api);
    if (!cpu::IsUbOrL1(cpu::DescHw(dst.desc_))) {
        cpu::Fail(circLoc, api, "dst is at TPosition::%s: GM can be copied to the UB or L1 only",
                  cpu::PosName(static_cast<TPosition>(dst.desc_.pos)));
    }
    uint8_t* d = cpu::MoveLocal(dst, bytes, "dst", circLoc, api);
    uint8_t* s = cpu::MoveGlobal(src, bytes, circLoc, api);
    std::memcpy(d, s, bytes);
}

template <typename T>
inline void DataCopy(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const uint32_t count, CIRC_LOC) {
    const char* api = "DataCopy(local->GM)";
    cpu::Tick();
    uint64_t bytes = cpu::CountBytes<T>(count, circLoc, api);
    cpu::CheckLive(src.desc_, "src", circLoc, api);
    if (!cpu::IsUbOrL1(cpu::DescHw(src.desc_))) {
        cpu::Fail(circLoc, api, "src is at TPosition::%s: only the UB or L1 can be copied out to GM",
                  cpu::PosName(static_cast<TPosition>(src.desc_.pos)));
    }
    uint8_t* s = cpu::MoveLocal(src, bytes, "src", circLoc, api);
    uint8_t* d = cpu::MoveGlobal(dst, bytes, circLoc, api);
    cpu::StoreGm<T>(d, s, bytes, circLoc, api);
}

template <typename T>
inline void DataCopy(const LocalTensor<T>& dst, const LocalTensor<T>& src, const uint32_t count, CIRC_LOC) {
    const char* api = "DataCopy(local->local)";
    cpu::Tick();
    uint64_t bytes = cpu::CountBytes<T>(count, circLoc, api);
    cpu::CheckLive(src.desc_, "src", circLoc, api);
    cpu::CheckLive(dst.desc_, "dst", circLoc, api);
    cpu::Hw hs = cpu::DescHw(src.desc_), hd = cpu::DescHw(dst.desc_);
    if (!(hs == cpu::Hw::UB && cpu::IsUbOrL1(hd))) {
        cpu::Fail(circLoc, api, "no data path from TPosition::%s to TPosition::%s (UB->UB and UB->L1 only)",
                  cpu::PosName(static_cast<TPosition>(src.desc_.pos)), cpu::PosName(static_cast<TPosition>(dst.desc_.pos)));
    }
    uint8_t* s = cpu::MoveLocal(src, bytes, "src", circLoc, api);
    uint8_t* d = cpu::MoveLocal(dst, bytes, "dst", circLoc, api);
    if (s == d) return;
    cpu::CheckOverlap(d, bytes, s, bytes, circLoc, api, "dst and src");
    std::memcpy(d, s, bytes);
}

// ---- DataCopy: blocks (DataCopyParams; lengths and strides in 32-byte DataBlocks) -------------
namespace cpu {
inline void BlocksOk(const DataCopyParams& p, const Loc& loc, const char* api) {
    if (p.blockCount > 4095) Fail(loc, api, "blockCount %u is out of range [0, 4095]", p.blockCount);
}
}  // namespace cpu

template <typename T>
inline void DataCopy(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const DataCopyParams& repeatParams, CIRC_LOC) {
    const char* api = "DataCopy(GM->local, DataCopyParams)";
    cpu::Tick();
    const DataCopyParams& p = repeatParams;
    cpu::BlocksOk(p, circLoc, api);
    if (p.blockCount == 0 || p.blockLen == 0) return;
    uint64_t blk = p.blockLen * 32ull;
    uint64_t srcSpan = (p.blockCount - 1) * (blk + p.srcStride * 32ull) + blk;
    uint64_t dstSpan = (p.blockCount - 1) * (blk + p.dstStride * 32ull) + blk;
    uint8_t* d = cpu::MoveLocal(dst, dstSpan, "dst", circLoc, api);
    uint8_t* s = cpu::MoveGlobal(src, srcSpan, circLoc, api);
    for (uint32_t i = 0; i < p.blockCount; ++i)
        std::memcpy(d + i * (blk + p.dstStride * 32ull), s + i * (blk + p.srcStride * 32ull), blk);
}

template <typename T>
inline void DataCopy(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyParams& repeatParams, CIRC_LOC) {
    const char* api = "DataCopy(local->GM, DataCopyParams)";
    cpu::Tick();
    const DataCopyParams& p = repeatParams;
    cpu::BlocksOk(p, circLoc, api);
    if (p.blockCount == 0 || p.blockLen == 0) return;
    uint64_t blk = p.blockLen * 32ull;
    uint64_t srcSpan = (p.blockCount - 1) * (blk + p.srcStride * 32ull) + blk;
    uint64_t dstSpan = (p.blockCount - 1) * (blk + p.dstStride * 32ull) + blk;
    uint8_t* s = cpu::MoveLocal(src, srcSpan, "src", circLoc, api);
    uint8_t* d = cpu::MoveGlobal(dst, dstSpan, circLoc, api);
    for (uint32_t i = 0; i < p.blockCount; ++i)
        cpu::StoreGm<T>(d + i * (blk + p.dstStride * 32ull), s + i * (blk + p.srcStride * 32ull), blk, circLoc, api);
}

template <typename T>
inline void DataCopy(const LocalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyParams& repeatParams, CIRC_LOC) {
    const char* api = "DataCopy(local->local, DataCopyParams)";
    cpu::Tick();
    const DataCopyParams& p = repeatParams;
    cpu::BlocksOk(p, circLoc, api);
    if (p.blockCount == 0 || p.blockLen == 0) return;
    uint64_t blk = p.blockLen * 32ull;
    uint64_t srcSpan = (p.blockCount - 1) * (blk + p.srcStride * 32ull) + blk;
    uint64_t dstSpan = (p.blockCount - 1) * (blk + p.dstStride * 32ull) + blk;
    uint8_t* s = cpu::MoveLocal(src, srcSpan, "src", circLoc, api);
    uint8_t* d = cpu::MoveLocal(dst, dstSpan, "dst", circLoc, api);
    cpu::CheckOverlap(d, dstSpan, s, srcSpan, circLoc, api, "dst and src");
    for (uint32_t i = 0; i < p.blockCount; ++i)
        std::memmove(d + i * (blk + p.dstStride * 32ull), s + i * (blk + p.srcStride * 32ull), blk);
}

// ---- DataCopyPad: any byte length; GM side strides in bytes, UB side in DataBlocks ----------------
namespace cpu {

inline void PadArchCheck(const Loc& loc, const char* api) {
    if (Cfg().arch == 200) {
        Fail(loc, api,
             "DataCopyPad does not exist on arch 200 (Ascend310P, Atlas inference AI Core): copy 32-byte "
             "multiples with DataCopy there");
    }
}

template <typename T>
inline void PadIn(const LocalTensor<T>& dst, const GlobalTensor<T>& src, uint32_t blockCount, uint32_t blockLen,
                  uint64_t srcGap, uint64_t dstGapBlocks, bool isPad, uint32_t left, uint32_t right, const T& value,
                  const Loc& loc, const char* api) {
    Tick();
    PadArchCheck(loc, api);
    if (blockCount > 4095) Fail(loc, api, "blockCount %u is out of range [0, 4095]", blockCount);
    if (blockLen > 2097151) Fail(loc, api, "blockLen %u bytes is out of range [0, 2097151]", blockLen);
    if (blockCount == 0 || blockLen == 0) return;
    if (blockLen % sizeof(T) != 0) {
        Fail(loc, api, "blockLen %u bytes is not a multiple of sizeof(%s)", blockLen, TypeName<T>::Get());
    }
    if (left * sizeof(T) > 32 || right * sizeof(T) > 32) {
        Fail(loc, api, "leftPadding %u / rightPadding %u elements of %s: each must fit in 32 bytes", left, right,
             TypeName<T>::Get());
    }
    if (DescHw(dst.desc_) != Hw::UB) {
        Fail(loc, api, "dst is at TPosition::%s: DataCopyPad moves GM to VECIN/VECOUT only",
             PosName(static_cast<TPosition>(dst.desc_.pos)));
    }
    uint64_t row = left * sizeof(T) + blockLen + right * sizeof(T);
    uint64_t rowUb = RoundUp(row, 32);
    uint64_t dstSpan = (blockCount - 1) * (rowUb + dstGapBlocks * 32) + rowUb;
    uint64_t srcSpan = (blockCount - 1) * (blockLen + srcGap) + blockLen;
    uint8_t* d = MoveLocal(dst, dstSpan, "dst", loc, api);
    uint8_t* s = MoveGlobal(src, srcSpan, loc, api);
    if (blockLen == sizeof(T) && left == 0 && right == 0) {  // one element a block (a strided gather)
        constexpr uint32_t per = 32 / sizeof(T);
        const uint64_t step = blockLen + srcGap, rowStep = 32 + dstGapBlocks * 32;
        for (uint32_t i = 0; i < blockCount; ++i) {
            T v;
            std::memcpy(&v, s + i * step, sizeof(T));
            T* row = reinterpret_cast<T*>(d + i * rowStep);
            for (uint32_t k = 0; k < per; ++k) row[k] = v;  // the dummy lanes repeat the element
        }
        return;
    }
    for (uint32_t i = 0; i < blockCount; ++i) {
        uint8_t* rowD = d + i * (rowUb + dstGapBlocks * 32);
        const uint8_t* rowS = s + i * (blockLen + srcGap);
        uint8_t* data = rowD + left * sizeof(T);
        std::memcpy(data, rowS, blockLen);
        // left / right padding: paddingValue when isPad, else undefined (here 0xFF).
        for (uint32_t k = 0; k < left; ++k) {
            if (isPad) std::memcpy(rowD + k * sizeof(T), &value, sizeof(T));
            else std::memset(rowD + k * sizeof(T), 0xFF, sizeof(T));
        }
        uint8_t* r = data + blockLen;
        for (uint32_t k = 0; k < right; ++k) {
            if (isPad) std::memcpy(r + k * sizeof(T), &value, sizeof(T));
            else std::memset(r + k * sizeof(T), 0xFF, sizeof(T));
        }
        // The dummy bytes up to the 32-byte boundary: without padding the hardware repeats the
        // block's first element; with padding they are paddingValue (isPad) or undefined.
        uint8_t* dummy = rowD + row;
        uint64_t nd = rowUb - row;
        if (nd == 0) continue;
        if ((left == 0 && right == 0) || isPad) {
            T fill;
            std::memcpy(&fill, left == 0 && right == 0 ? static_cast<const void*>(rowS) : &value, sizeof(T));
            for (uint64_t k = 0; k + sizeof(T) <= nd; k += sizeof(T)) std::memcpy(dummy + k, &fill, sizeof(T));
        } else {
            std::memset(dummy, 0xFF, nd);
        }
    }
}

template <typename T>
inline void PadOut(const GlobalTensor<T>& dst, const LocalTensor<T>& src, uint32_t blockCount, uint32_t blockLen,
                   uint64_t srcGapBlocks, uint64_t dstGap, const Loc& loc, const char* api) {
    Tick();
    PadArchCheck(loc, api);
    if (blockCount > 4095) Fail(loc, api, "blockCount %u is out of range [0, 4095]", blockCount);
    if (blockLen > 2097151) Fail(loc, api, "blockLen %u bytes is out of range [0, 2097151]", blockLen);
    if (blockCount == 0 || blockLen == 0) return;
    if (blockLen % sizeof(T) != 0) {
        Fail(loc, api, "blockLen %u bytes is not a multiple of sizeof(%s)", blockLen, TypeName<T>::Get());
    }
    if (DescHw(src.desc_) != Hw::UB) {
        Fail(loc, api, "src is at TPosition::%s: DataCopyPad moves VECIN/VECOUT to GM only",
             PosName(static_cast<TPosition>(src.desc_.pos)));
    }
    uint64_t rowUb = RoundUp(blockLen, 32);
    uint64_t srcSpan = (blockCount - 1) * (rowUb + srcGapBlocks * 32) + blockLen;
    uint64_t dstSpan = (blockCount - 1) * (blockLen + dstGap) + blockLen;
    uint8_t* s = MoveLocal(src, srcSpan, "src", loc, api);
    uint8_t* d = MoveGlobal(dst, dstSpan, loc, api);
    if (blockLen == sizeof(T) && Block().atomicOp == 0) {  // one element a block (a strided scatter)
        const uint64_t step = blockLen + dstGap, rowStep = rowUb + srcGapBlocks * 32;
        for (uint32_t i = 0; i < blockCount; ++i) std::memcpy(d + i * step, s + i * rowStep, sizeof(T));
        return;
    }
    for (uint32_t i = 0; i < blockCount; ++i)
        StoreGm<T>(d + i * (blockLen + dstGap), s + i * (rowUb + srcGapBlocks * 32), blockLen, loc, api);
}

}  // namespace cpu

template <typename T>
inline void DataCopyPad(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const DataCopyExtParams& dataCopyParams,
                        const DataCopyPadExtParams<T>& padParams, CIRC_LOC) {
    const DataCopyExtParams& p = dataCopyParams;
    cpu::PadIn(dst, src, p.blockCount, p.blockLen, p.srcStride, p.dstStride, padParams.isPad, padParams.leftPadding,
               padParams.rightPadding, padParams.paddingValue, circLoc, "DataCopyPad(GM->UB)");
}

template <typename T>
inline void DataCopyPad(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyExtParams& dataCopyParams,
                        CIRC_LOC) {
    const DataCopyExtParams& p = dataCopyParams;
    cpu::PadOut(dst, src, p.blockCount, p.blockLen, p.srcStride, p.dstStride, circLoc, "DataCopyPad(UB->GM)");
}

// The older DataCopyParams form (blockLen in bytes here).
template <typename T>
inline void DataCopyPad(const LocalTensor<T>& dst, const GlobalTensor<T>& src, const DataCopyParams& dataCopyParams,
                        const DataCopyPadParams& padParams, CIRC_LOC) {
    const DataCopyParams& p = dataCopyParams;
    T value;
    std::memcpy(&value, &padParams.paddingValue, sizeof(T) <= 8 ? sizeof(T) : 8);
    cpu::PadIn(dst, src, p.blockCount, p.blockLen, p.srcStride, p.dstStride, padParams.isPad, padParams.leftPadding,
               padParams.rightPadding, value, circLoc, "DataCopyPad(GM->UB)");
}

template <typename T>
inline void DataCopyPad(const GlobalTensor<T>& dst, const LocalTensor<T>& src, const DataCopyParams& dataCopyParams,
                        CIRC_LOC) {
    const DataCopyParams& p = dataCopyParams;
    cpu::PadOut(dst, src, p.blockCount, p.blockLen, p.srcStride, p.dstStride, circLoc, "DataCopyPad(UB->GM)");
}

}  // namespace AscendC
