// circ's AscendC CPU layer — GlobalTensor and LocalTensor.
#pragma once

#include "core.h"
#include "fp16.h"

namespace AscendC {

template <typename T> class LocalTensor;
template <typename T> class GlobalTensor;

namespace cpu {

// What a LocalTensor points at: a byte range of one block's local memory, and which queue
// buffer ("slot") it came from, so stale or misused tensors can be reported.
struct TensorDesc {
    uint8_t* base = nullptr;  // start of the block's arena for this memory
    uint32_t addr = 0;        // byte offset in the arena ("physical address")
    uint32_t len = 0;         // bytes this tensor covers
    uint8_t pos = static_cast<uint8_t>(TPosition::VECCALC);
    int32_t slot = -1;        // queue/TBuf buffer it belongs to (-1: none)
    uint64_t gen = 0;         // the slot's generation when this tensor was handed out
    int32_t tag = 0;          // SetUserTag / GetUserTag
    int64_t oobOffset = -1;   // operator[] went past the end: reported at the next use
    uint32_t oobSize = 0;
};

inline Hw DescHw(const TensorDesc& d) { return PosToHw(static_cast<TPosition>(d.pos)); }

template <typename T> struct TypeName { static const char* Get() { return "T"; } };
#define CIRC_TYPE_NAME(T_)                                  \
    template <> struct TypeName<T_> {                       \
        static const char* Get() { return #T_; }            \
    };
CIRC_TYPE_NAME(float)
CIRC_TYPE_NAME(double)
CIRC_TYPE_NAME(half)
CIRC_TYPE_NAME(bfloat16_t)
CIRC_TYPE_NAME(int8_t)
CIRC_TYPE_NAME(uint8_t)
CIRC_TYPE_NAME(int16_t)
CIRC_TYPE_NAME(uint16_t)
CIRC_TYPE_NAME(int32_t)
CIRC_TYPE_NAME(uint32_t)
CIRC_TYPE_NAME(int64_t)
CIRC_TYPE_NAME(uint64_t)
CIRC_TYPE_NAME(bool)
#undef CIRC_TYPE_NAME

// Is this tensor still usable? (its buffer not freed, its TPipe alive, not sitting in a queue)
inline void CheckLive(const TensorDesc& d, const char* role, const Loc& loc, const char* api) {
    if (d.base == nullptr) {
        Fail(loc, api, "%s is an empty LocalTensor: it was not obtained from AllocTensor, DeQue or TBuf::Get", role);
    }
    if (d.oobOffset >= 0) {
        Fail(loc, api, "%s is a view t[%lld] past the end of a LocalTensor of %u elements", role, (long long)d.oobOffset,
             d.oobSize);
    }
    // release mode (poisoning off: a runtime's tested kernels) skips the buffer-state checks
    // below; they guard the pipeline protocol, not memory (the slot's bytes stay in the arena)
    if (d.slot < 0 || !Cfg().poison) return;
    BlockState& b = Block();
    if (static_cast<size_t>(d.slot) >= b.slots.size()) {
        Fail(loc, api, "%s is a LocalTensor from another kernel run", role);
    }
    const Slot& s = b.slots[d.slot];
    if (s.gen != d.gen || s.state == kFree || s.state == kDead) {
        Fail(loc, api,
             "%s is a stale LocalTensor: its buffer was released (FreeTensor, or its TPipe was destroyed) "
             "before this use",
             role);
    }
    if (s.state == kQueued) {
        Fail(loc, api,
             "%s is used while it sits in a queue (EnQue'd and not DeQue'd yet); on the NPU this races "
             "with the pipe that owns it",
             role);
    }
}

// A LocalTensor placed by address (static-tensor programming): inside the SoC's memory, no queue.
inline void StaticTensor(TensorDesc& d, TPosition pos, uint32_t addr, uint64_t bytes, const Loc& loc) {
    Hw hw = PosToHw(pos);
    if (hw == Hw::GM) Fail(loc, "LocalTensor", "TPosition::%s is not a local memory", PosName(pos));
    uint32_t cap = Cfg().bytes[static_cast<int>(hw)];
    if (addr % HwAlign(hw) != 0) {
        Fail(loc, "LocalTensor", "address %u in the %s is not %u-byte aligned", addr, HwName(hw), HwAlign(hw));
    }
    if (addr + bytes > cap) {
        Fail(loc, "LocalTensor", "bytes [%u, %llu) exceed the %s of the SoC (%u bytes)", addr,
             (unsigned long long)(addr + bytes), HwName(hw), cap);
    }
    d.base = Block().Arena(hw);
    d.addr = addr;
    d.len = static_cast<uint32_t>(bytes);
    d.pos = static_cast<uint8_t>(pos);
    d.slot = -1;
}

inline void ScalarIndexFail(const Loc& loc, const char* api, uint64_t i, uint64_t size) {
    Fail(loc, api, "index %llu is out of bounds for a tensor of %llu elements", (unsigned long long)i,
         (unsigned long long)size);
}

}  // namespace cpu

// ---- LocalTensor ------------------------------------------------------------------------------
template <typename T>
class LocalTensor {
public:
    using PrimType = T;

    LocalTensor() = default;

    // Static-tensor programming: a tensor at byte `addr` of the memory of `pos`, `tileSize`
    // elements long (see LocalMemAllocator).
    LocalTensor(TPosition pos, uint32_t addr, uint32_t tileSize, CIRC_LOC) {
        cpu::StaticTensor(desc_, pos, addr, static_cast<uint64_t>(tileSize) * sizeof(T), circLoc);
    }

    // `dst = src0 + src1` (tensor_ops.h): the whole of dst.
    template <class E, typename std::enable_if<E::kIsTensorExpr, int>::type = 0>
    LocalTensor& operator=(const E& e) {
        e.EvalInto(*this, cpu::Loc());
        return *this;
    }

    PrimType GetValue(const uint32_t index, CIRC_LOC) const {
        cpu::Tick();
        cpu::CheckLive(desc_, "the tensor", circLoc, "LocalTensor::GetValue");
        if (index >= GetSize()) cpu::ScalarIndexFail(circLoc, "LocalTensor::GetValue", index, GetSize());
        PrimType v;
        std::memcpy(&v, Ptr() + index, sizeof(T));
        return v;
    }

    template <typename S>
    void SetValue(const uint32_t index, const S value, CIRC_LOC) const {
        cpu::Tick();
        cpu::CheckLive(desc_, "the tensor", circLoc, "LocalTensor::SetValue");
        if (index >= GetSize()) cpu::ScalarIndexFail(circLoc, "LocalTensor::SetValue", index, GetSize());
        PrimType v = static_cast<PrimType>(value);
        std::memcpy(Ptr() + index, &v, sizeof(T));
    }

    PrimType& operator()(const uint32_t offset) const {
        cpu::CheckLive(desc_, "the tensor", cpu::Loc(), "LocalTensor::operator()");
        if (offset >= GetSize()) cpu::ScalarIndexFail(cpu::Loc(), "LocalTensor::operator()", offset, GetSize());
        return Ptr()[offset];
    }

    // A view starting `offset` elements in (the rest of the buffer). A view past the end is
    // reported where it is used.
    LocalTensor operator[](const uint32_t offset) const {
        LocalTensor r = *this;
        if (desc_.base != nullptr && static_cast<uint64_t>(offset) * sizeof(T) > desc_.len) {
            if (r.desc_.oobOffset < 0) {
                r.desc_.oobOffset = offset;
                r.desc_.oobSize = GetSize();
            }
            r.desc_.len = 0;
            return r;
        }
        r.desc_.addr += offset * static_cast<uint32_t>(sizeof(T));
        r.desc_.len -= offset * static_cast<uint32_t>(sizeof(T));
        return r;
    }

    template <typename U>
    LocalTensor<U> ReinterpretCast() const {
        LocalTensor<U> r;
        r.desc_ = desc_;
        return r;
    }

    uint32_t GetSize() const { return desc_.len / static_cast<uint32_t>(sizeof(T)); }
    uint32_t GetLength() const { return desc_.len; }
    void SetSize(const uint32_t size) {
        if (static_cast<uint64_t>(size) * sizeof(T) > desc_.len && desc_.slot >= 0) {
            cpu::Fail(cpu::Loc(), "LocalTensor::SetSize", "size %u elements is larger than the buffer (%u bytes)", size,
                      desc_.len);
        }
        desc_.len = size * static_cast<uint32_t>(sizeof(T));
    }
    void SetBufferLen(uint32_t dataLen) { desc_.len = dataLen; }
    T* GetPhyAddr() const { return Ptr(); }
    T* GetPhyAddr(const uint32_t offset) const { return Ptr() + offset; }
    int32_t GetPosition() const { return desc_.pos; }
    void SetUserTag(const int32_t tag) { desc_.tag = tag; }
    int32_t GetUserTag() const { return desc_.tag; }

    // circ internals -------------------------------------------------------------------------
    T* Ptr() const { return reinterpret_cast<T*>(desc_.base + desc_.addr); }
    cpu::TensorDesc desc_;
};

// ---- GlobalTensor -----------------------------------------------------------------------------
template <typename T>
class GlobalTensor {
public:
    using PrimType = T;

    GlobalTensor() = default;

    void SetGlobalBuffer(__gm__ PrimType* buffer, uint64_t bufferSize) {
        address_ = buffer;
        bufferSize_ = bufferSize;
        sized_ = true;
    }
    void SetGlobalBuffer(__gm__ PrimType* buffer) {
        address_ = buffer;
        bufferSize_ = 0;
        sized_ = false;
    }
    const __gm__ PrimType* GetPhyAddr() const { return address_; }
    __gm__ PrimType* GetPhyAddr(const uint64_t offset) const { return address_ + offset; }

    PrimType GetValue(const uint64_t offset, CIRC_LOC) const {
        cpu::Tick();
        Check(offset, 1, circLoc, "GlobalTensor::GetValue");
        PrimType v;
        std::memcpy(&v, address_ + offset, sizeof(T));
        return v;
    }
    __gm__ PrimType& operator()(const uint64_t offset) const {
        Check(offset, 1, cpu::Loc(), "GlobalTensor::operator()");
        return address_[offset];
    }
    void SetValue(const uint64_t offset, PrimType value, CIRC_LOC) {
        cpu::Tick();
        Check(offset, 1, circLoc, "GlobalTensor::SetValue");
        std::memcpy(address_ + offset, &value, sizeof(T));
    }
    uint64_t GetSize() const { return bufferSize_; }

    GlobalTensor operator[](const uint64_t offset) const {
        GlobalTensor r = *this;
        r.address_ = address_ + offset;
        if (sized_) {
            if (offset > bufferSize_) {  // reported where the view is used
                if (r.oobOffset_ < 0) {
                    r.oobOffset_ = static_cast<int64_t>(offset);
                    r.oobSize_ = bufferSize_;
                }
                r.bufferSize_ = 0;
            } else {
                r.bufferSize_ = bufferSize_ - offset;
            }
        }
        return r;
    }

    template <typename U>
    GlobalTensor<U> ReinterpretCast() const {
        GlobalTensor<U> r;
        r.address_ = reinterpret_cast<__gm__ U*>(address_);
        r.sized_ = sized_;
        r.bufferSize_ = bufferSize_ * sizeof(T) / sizeof(U);
        r.oobOffset_ = oobOffset_;
        r.oobSize_ = oobSize_;
        return r;
    }

    // [offset, offset + count) must be inside the buffer (its SetGlobalBuffer size, and the
    // GmAlloc allocation that holds it).
    void Check(uint64_t offset, uint64_t count, const cpu::Loc& loc, const char* api) const {
        if (address_ == nullptr) cpu::Fail(loc, api, "the GlobalTensor has no buffer (call SetGlobalBuffer first)");
        CheckView(loc, api);
        if (sized_ && offset + count > bufferSize_) {
            cpu::Fail(loc, api,
                      "elements [%llu, %llu) are out of bounds of the GlobalTensor (SetGlobalBuffer size %llu)",
                      (unsigned long long)offset, (unsigned long long)(offset + count),
                      (unsigned long long)bufferSize_);
        }
        cpu::GmCheck(address_ + offset, count * sizeof(T), loc, api, "the GlobalTensor");
    }

    void CheckView(const cpu::Loc& loc, const char* api) const {
        if (oobOffset_ >= 0) {
            cpu::Fail(loc, api, "the GlobalTensor is a view g[%lld] past the end of a GlobalTensor of %llu elements",
                      (long long)oobOffset_, (unsigned long long)oobSize_);
        }
    }

    __gm__ PrimType* address_ = nullptr;
    uint64_t bufferSize_ = 0;
    bool sized_ = false;
    int64_t oobOffset_ = -1;
    uint64_t oobSize_ = 0;
};

}  // namespace AscendC
