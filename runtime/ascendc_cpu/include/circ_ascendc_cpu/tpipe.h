// circ's AscendC CPU layer — TPipe, TQue, TBuf: the per-core local memory and its queues.
#pragma once

#include "tensor.h"

namespace AscendC {

class TPipe;

namespace cpu {

// The queue/TBuf bookkeeping that does not depend on the template arguments.
struct QueCore {
    uint64_t pipe = 0;     // generation of the TPipe that initialised it (0: not initialised)
    int32_t slotBase = -1;
    int32_t num = 0;
    uint32_t addr = 0;     // byte offset of buffer 0 in the arena
    uint32_t bufLen = 0;   // bytes per buffer (rounded up to the memory's alignment)
    Hw hw = Hw::UB;
    uint8_t pos = 0;
    int32_t depth = 0;
    int32_t nextAlloc = 0;
    // FIFO of enqueued tensors
    TensorDesc fifo[16];
    int32_t head = 0;
    int32_t count = 0;
    char name[48] = "";
    const char* initFile = "";
    int initLine = 0;

    void Check(const Loc& loc, const char* api) const {
        Tick();
        BlockState& b = Block();
        if (pipe == 0) Fail(loc, api, "%s is not initialised: call TPipe::InitBuffer on it first", name);
        if (pipe != b.livePipe) {
            Fail(loc, api, "%s belongs to a TPipe that was destroyed (Destroy/Reset or end of scope)", name);
        }
    }
    bool Owns(const TensorDesc& d) const { return d.slot >= slotBase && d.slot < slotBase + num; }

    void Poison(uint32_t a, uint32_t bytes) {
        if (Cfg().poison) std::memset(Block().Arena(hw) + a, 0xFF, bytes);
    }

    TensorDesc Alloc(const Loc& loc, const char* api) {
        Check(loc, api);
        BlockState& b = Block();
        for (int32_t k = 0; k < num; ++k) {
            int32_t i = (nextAlloc + k) % num;
            Slot& s = b.slots[slotBase + i];
            if (s.state != kFree) continue;
            s.state = kAlloc;
            s.gen = b.nextGen++;
            nextAlloc = (i + 1) % num;
            TensorDesc d;
            d.base = b.Arena(hw);
            d.addr = addr + static_cast<uint32_t>(i) * bufLen;
            d.len = bufLen;
            d.pos = pos;
            d.slot = slotBase + i;
            d.gen = s.gen;
            Poison(d.addr, bufLen);  // fresh buffers hold garbage on the NPU: here 0xFF (NaN)
            return d;
        }
        Fail(loc, api,
             "all %d buffers of %s (InitBuffer at %s:%d) are in use: FreeTensor one before the next "
             "AllocTensor (on the NPU this waits forever)",
             num, name, Basename(initFile), initLine);
    }

    void EnQue(const TensorDesc& d, const Loc& loc, const char* api) {
        Check(loc, api);
        if (d.base == nullptr) Fail(loc, api, "EnQue of an empty LocalTensor");
        if (!Owns(d)) {
            Fail(loc, api, "EnQue of a tensor that was not allocated from %s (AllocTensor of this queue)", name);
        }
        Slot& s = Block().slots[d.slot];
        if (s.gen != d.gen || s.state == kFree) Fail(loc, api, "EnQue of a tensor already released with FreeTensor");
        if (s.state == kQueued) Fail(loc, api, "EnQue of a tensor that is already in %s", name);
        if (count >= depth) {
            Fail(loc, api, "EnQue beyond the depth of %s: it already holds %d tensor(s); DeQue before enqueuing more",
                 name, count);
        }
        fifo[(head + count) % 16] = d;
        ++count;
        s.state = kQueued;
    }

    TensorDesc DeQue(const Loc& loc, const char* api) {
        Check(loc, api);
        if (count == 0) {
            Fail(loc, api, "DeQue of an empty queue: %s holds no tensor (EnQue first; on the NPU this waits forever)",
                 name);
        }
        TensorDesc d = fifo[head];
        head = (head + 1) % 16;
        --count;
        Slot& s = Block().slots[d.slot];
        s.state = kDequeued;
        d.gen = s.gen;
        return d;
    }

    void Free(const TensorDesc& d, const Loc& loc, const char* api) {
        Check(loc, api);
        if (d.base == nullptr) Fail(loc, api, "FreeTensor of an empty LocalTensor");
        if (!Owns(d)) Fail(loc, api, "FreeTensor of a tensor that was not allocated from %s", name);
        BlockState& b = Block();
        Slot& s = b.slots[d.slot];
        if (s.gen != d.gen || s.state == kFree) Fail(loc, api, "FreeTensor of a tensor that was already freed");
        if (s.state == kQueued) Fail(loc, api, "FreeTensor of a tensor still in %s (DeQue it first)", name);
        s.state = kFree;
        s.gen = b.nextGen++;
    }
};

template <TPosition pos>
inline void PosCheck(const Loc& loc, const char* api, const char* what) {
    if (PosToHw(pos) == Hw::GM) Fail(loc, api, "%s at TPosition::%s: that position is not a local memory", what, PosName(pos));
}

}  // namespace cpu

// ---- TQue --------------------------------------------------------------------------------------
template <TPosition pos, int32_t depth, auto mask = 0>
class TQue {
    static_assert(depth >= 1 && depth <= 16, "TQue depth must be in [1, 16]");

public:
    static constexpr bool kIsTQue = true;
    static constexpr TPosition kPos = pos;
    static constexpr int32_t kDepth = depth;

    TQue() {
        core_.depth = depth;
        core_.pos = static_cast<uint8_t>(pos);
        std::snprintf(core_.name, sizeof(core_.name), "TQue<%s, %d>", cpu::PosName(pos), depth);
    }

    template <typename T>
    LocalTensor<T> AllocTensor(CIRC_LOC) {
        LocalTensor<T> t;
        t.desc_ = core_.Alloc(circLoc, "TQue::AllocTensor");
        return t;
    }
    template <typename T>
    void AllocTensor(LocalTensor<T>& tensor, CIRC_LOC) {
        tensor.desc_ = core_.Alloc(circLoc, "TQue::AllocTensor");
    }
    template <typename T>
    bool EnQue(const LocalTensor<T>& tensor, CIRC_LOC) {
        core_.EnQue(tensor.desc_, circLoc, "TQue::EnQue");
        return true;
    }
    template <typename T>
    LocalTensor<T> DeQue(CIRC_LOC) {
        LocalTensor<T> t;
        t.desc_ = core_.DeQue(circLoc, "TQue::DeQue");
        return t;
    }
    template <typename T>
    void DeQue(LocalTensor<T>& tensor, CIRC_LOC) {
        tensor.desc_ = core_.DeQue(circLoc, "TQue::DeQue");
    }
    template <typename T>
    void FreeTensor(LocalTensor<T>& tensor, CIRC_LOC) {
        core_.Free(tensor.desc_, circLoc, "TQue::FreeTensor");
    }
    bool VacantInQue() const { return core_.count < depth; }
    bool HasTensorInQue() const { return core_.count > 0; }
    int32_t GetTensorCountInQue() const { return core_.count; }
    bool HasIdleBuffer() const {
        if (core_.pipe == 0) return false;
        cpu::BlockState& b = cpu::Block();
        for (int32_t i = 0; i < core_.num; ++i)
            if (b.slots[core_.slotBase + i].state == cpu::kFree) return true;
        return false;
    }

    cpu::QueCore core_;
};

// ---- TBuf ----------------------------------------------------------------------------------------
template <TPosition pos = TPosition::LCM>
class TBuf {
public:
    static constexpr bool kIsTBuf = true;
    static constexpr TPosition kPos = pos;

    TBuf() {
        core_.depth = 0;
        core_.pos = static_cast<uint8_t>(pos);
        std::snprintf(core_.name, sizeof(core_.name), "TBuf<%s>", cpu::PosName(pos));
    }

    template <typename T>
    LocalTensor<T> Get(CIRC_LOC) {
        return Make<T>(core_.bufLen, 0, circLoc, "TBuf::Get");
    }
    template <typename T>
    LocalTensor<T> Get(uint32_t len, CIRC_LOC) {
        uint64_t bytes = static_cast<uint64_t>(len) * sizeof(T);
        core_.Check(circLoc, "TBuf::Get");
        if (bytes > core_.bufLen) {
            cpu::Fail(circLoc, "TBuf::Get", "%u elements of %s (%llu bytes) exceed %s of %u bytes", len,
                      cpu::TypeName<T>::Get(), (unsigned long long)bytes, core_.name, core_.bufLen);
        }
        return Make<T>(static_cast<uint32_t>(bytes), 0, circLoc, "TBuf::Get");
    }
    template <typename T>
    LocalTensor<T> GetWithOffset(uint32_t size, uint32_t bufOffset, CIRC_LOC) {
        uint64_t bytes = static_cast<uint64_t>(size) * sizeof(T);
        core_.Check(circLoc, "TBuf::GetWithOffset");
        if (bufOffset % 32 != 0) {
            cpu::Fail(circLoc, "TBuf::GetWithOffset", "bufOffset %u is not a multiple of 32 bytes", bufOffset);
        }
        if (bufOffset + bytes > core_.bufLen) {
            cpu::Fail(circLoc, "TBuf::GetWithOffset", "bytes [%u, %llu) exceed %s of %u bytes", bufOffset,
                      (unsigned long long)(bufOffset + bytes), core_.name, core_.bufLen);
        }
        return Make<T>(static_cast<uint32_t>(bytes), bufOffset, circLoc, "TBuf::GetWithOffset");
    }
    uint32_t GetBufLen() const { return core_.bufLen; }

    // TBuf inherits FreeTensor from TQueBind on the NPU; a TBuf's tensors need no release, so
    // it only checks that the tensor is this TBuf's.
    template <typename T>
    void FreeTensor(LocalTensor<T>& tensor, CIRC_LOC) {
        core_.Check(circLoc, "TBuf::FreeTensor");
        if (tensor.desc_.slot != core_.slotBase) {
            cpu::Fail(circLoc, "TBuf::FreeTensor", "the tensor was not obtained from this %s (TBuf::Get)", core_.name);
        }
    }

    cpu::QueCore core_;

private:
    template <typename T>
    LocalTensor<T> Make(uint32_t bytes, uint32_t offset, const cpu::Loc& loc, const char* api) {
        core_.Check(loc, api);
        cpu::BlockState& b = cpu::Block();
        LocalTensor<T> t;
        t.desc_.base = b.Arena(core_.hw);
        t.desc_.addr = core_.addr + offset;
        t.desc_.len = bytes;
        t.desc_.pos = core_.pos;
        t.desc_.slot = core_.slotBase;
        t.desc_.gen = b.slots[core_.slotBase].gen;
        return t;
    }
};

// ---- TPipe ---------------------------------------------------------------------------------------
class TPipe;
CIRC_HIDDEN inline TPipe*& CurrentPipe() {
    static thread_local TPipe* p = nullptr;
    return p;
}

class TPipe {
public:
    TPipe(CIRC_LOC) { Open(circLoc); }
    ~TPipe() {
        if (gen_ != 0 && cpu::Block().livePipe == gen_) Release();
    }
    TPipe(const TPipe&) = delete;
    TPipe& operator=(const TPipe&) = delete;

    void Init() {}

    // num buffers of len bytes each (len rounded up to 32 bytes) for a TQue.
    template <class T>
    bool InitBuffer(T& que, uint8_t num, uint32_t len, CIRC_LOC) {
        static_assert(T::kIsTQue, "TPipe::InitBuffer(que, num, len) takes a TQue");
        cpu::PosCheck<T::kPos>(circLoc, "TPipe::InitBuffer", que.core_.name);
        if (num < 1) cpu::Fail(circLoc, "TPipe::InitBuffer", "%s: num must be at least 1", que.core_.name);
        Setup(que.core_, num, len, circLoc, cpu::kFree);
        return true;
    }

    // One buffer of len bytes (rounded up to 32 bytes) for a TBuf.
    template <TPosition pos>
    bool InitBuffer(TBuf<pos>& buf, uint32_t len, CIRC_LOC) {
        cpu::PosCheck<pos>(circLoc, "TPipe::InitBuffer", buf.core_.name);
        Setup(buf.core_, 1, len, circLoc, cpu::kTBuf);
        return true;
    }

    // Release every buffer; queues and tensors of this pipe become unusable.
    void Destroy() {
        if (gen_ != 0 && cpu::Block().livePipe == gen_) Release();
    }
    // Release every buffer and start again with an empty local memory.
    void Reset() {
        Destroy();
        Open(cpu::Loc());
    }

    template <HardEvent evt>
    TEventID AllocEventID() {
        for (int i = 0; i < 8; ++i) {
            if (!(eventsUsed_[static_cast<int>(evt)] & (1u << i))) {
                eventsUsed_[static_cast<int>(evt)] |= 1u << i;
                return static_cast<TEventID>(i);
            }
        }
        cpu::Fail(cpu::Loc(), "TPipe::AllocEventID", "all 8 event IDs of this HardEvent are allocated");
    }
    template <HardEvent evt>
    void ReleaseEventID(TEventID id) {
        eventsUsed_[static_cast<int>(evt)] &= ~(1u << (id & 7));
    }
    template <HardEvent evt>
    TEventID FetchEventID() {
        return 0;
    }
    TEventID FetchEventID(HardEvent) { return 0; }

    // circ: bytes of each local memory this pipe has handed out.
    uint32_t UsedBytes(TPosition pos) const { return used_[static_cast<int>(cpu::PosToHw(pos))]; }

private:
    struct Entry {
        std::string name;
        const char* file;
        int line;
        uint32_t offset;
        uint32_t bytes;
        cpu::Hw hw;
    };

    void Open(const cpu::Loc& loc) {
        cpu::BlockState& b = cpu::Block();
        if (b.livePipe != 0) {
            cpu::Fail(loc, "TPipe::TPipe",
                      "a second TPipe while another one is alive: a kernel owns one TPipe at a time "
                      "(Destroy the first one before creating another)");
        }
        if (b.staticAlloc) {
            cpu::Fail(loc, "TPipe::TPipe",
                      "a TPipe in a kernel that placed tensors with LocalMemAllocator: the two cannot be mixed");
        }
        b.ResetSoc();  // a TPipe initialises the core's global state (as InitSocState does)
        gen_ = ++b.pipeCounter;
        b.livePipe = gen_;
        std::memset(used_, 0, sizeof(used_));
        std::memset(eventsUsed_, 0, sizeof(eventsUsed_));
        entries_.clear();
        CurrentPipe() = this;
    }

    void Release() {
        cpu::BlockState& b = cpu::Block();
        for (auto& s : b.slots) {
            if (s.state != cpu::kDead) {
                s.state = cpu::kDead;
                s.gen = b.nextGen++;
            }
        }
        b.livePipe = 0;
        if (CurrentPipe() == this) CurrentPipe() = nullptr;
    }

    void Setup(cpu::QueCore& q, int num, uint32_t len, const cpu::Loc& loc, uint8_t state) {
        cpu::Tick();
        cpu::BlockState& b = cpu::Block();
        const char* api = "TPipe::InitBuffer";
        if (b.livePipe != gen_) cpu::Fail(loc, api, "this TPipe was destroyed");
        if (q.pipe == gen_) {
            cpu::Fail(loc, api, "%s was already initialised (InitBuffer at %s:%d)", q.name, cpu::Basename(q.initFile),
                      q.initLine);
        }
        cpu::Hw hw = cpu::PosToHw(static_cast<TPosition>(q.pos));
        int h = static_cast<int>(hw);
        if (hw == cpu::Hw::UB && cpu::Cfg().arch == 220 && cpu::Cfg().mode == KernelMode::AIC_MODE) {
            cpu::Fail(loc, api,
                      "%s is in the Unified Buffer, but the kernel runs in KernelMode::AIC_MODE and cube cores "
                      "of arch 220 have no UB",
                      q.name);
        }
        uint32_t align = cpu::HwAlign(hw);
        uint64_t bufLen = cpu::RoundUp(len, align);
        uint64_t need = bufLen * static_cast<uint64_t>(num);
        uint32_t capacity = cpu::Cfg().bytes[h];
        if (used_[h] + need > capacity) {
            std::string before;
            for (const Entry& e : entries_) {
                if (e.hw != hw) continue;
                before += cpu::Format("\n    %s at %s:%d: %u bytes at offset %u", e.name.c_str(), cpu::Basename(e.file),
                                      e.line, e.bytes, e.offset);
            }
            if (before.empty()) before = " none";
            cpu::Fail(loc, api,
                      "%s overflow: %s (num=%d, len=%u -> %d x %llu bytes) needs %llu bytes at offset %u, ending at "
                      "byte %llu, but the %s of the SoC has %u bytes (%s); buffers already in %s:%s",
                      cpu::HwName(hw), q.name, num, len, num, (unsigned long long)bufLen, (unsigned long long)need,
                      used_[h], (unsigned long long)(used_[h] + need), cpu::HwName(hw), capacity,
                      hw == cpu::Hw::UB ? "CIRC_SOC_UB_BYTES" : "CIRC_SOC_<L1|L0A|L0B|L0C>_BYTES", cpu::HwName(hw),
                      before.c_str());
        }
        q.pipe = gen_;
        q.slotBase = static_cast<int32_t>(b.slots.size());
        q.num = num;
        q.addr = used_[h];
        q.bufLen = static_cast<uint32_t>(bufLen);
        q.hw = hw;
        q.nextAlloc = 0;
        q.head = 0;
        q.count = 0;
        q.initFile = loc.file;
        q.initLine = loc.line;
        for (int i = 0; i < num; ++i) b.slots.push_back(cpu::Slot{b.nextGen++, state});
        if (state == cpu::kTBuf) q.Poison(q.addr, static_cast<uint32_t>(need));  // TQue buffers: at AllocTensor
        entries_.push_back(Entry{q.name, loc.file, loc.line, used_[h], static_cast<uint32_t>(need), hw});
        used_[h] += static_cast<uint32_t>(need);
    }

    uint64_t gen_ = 0;
    uint32_t used_[cpu::kHwCount] = {};
    uint32_t eventsUsed_[static_cast<int>(HardEvent::MAX)] = {};
    std::vector<Entry> entries_;
};

inline TPipe* GetTPipePtr() { return CurrentPipe(); }

}  // namespace AscendC
