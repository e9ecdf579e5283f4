// circ's AscendC CPU layer — static-tensor programming: LocalMemAllocator hands out LocalTensors
// from one local memory, front to back, without TPipe or queues (it cannot be mixed with a
// TPipe in the same kernel).
#pragma once

#include "mask.h"

namespace AscendC {

enum class Hardware : uint8_t { GM, UB, L1, L0A, L0B, L0C, BIAS, FIXBUF, MAX };

namespace cpu {
template <Hardware hard> struct HardwareInfo;
template <> struct HardwareInfo<Hardware::UB> { static constexpr TPosition pos = TPosition::VECCALC; };
template <> struct HardwareInfo<Hardware::L1> { static constexpr TPosition pos = TPosition::A1; };
template <> struct HardwareInfo<Hardware::L0A> { static constexpr TPosition pos = TPosition::A2; };
template <> struct HardwareInfo<Hardware::L0B> { static constexpr TPosition pos = TPosition::B2; };
template <> struct HardwareInfo<Hardware::L0C> { static constexpr TPosition pos = TPosition::CO1; };
template <> struct HardwareInfo<Hardware::BIAS> { static constexpr TPosition pos = TPosition::C2; };
}  // namespace cpu

template <Hardware hard = Hardware::UB>
class LocalMemAllocator {
    static constexpr TPosition kDefaultPos = cpu::HardwareInfo<hard>::pos;

public:
    LocalMemAllocator() = default;

    uint32_t GetCurAddr() const { return head_; }

    template <TPosition pos, class DataType, uint32_t tileSize>
    LocalTensor<DataType> Alloc(CIRC_LOC) {
        return Take<DataType>(pos, tileSize, circLoc);
    }
    template <TPosition pos, class DataType>
    LocalTensor<DataType> Alloc(uint32_t tileSize, CIRC_LOC) {
        return Take<DataType>(pos, tileSize, circLoc);
    }
    template <class DataType, uint32_t tileSize>
    LocalTensor<DataType> Alloc(CIRC_LOC) {
        return Take<DataType>(kDefaultPos, tileSize, circLoc);
    }
    template <class DataType>
    LocalTensor<DataType> Alloc(uint32_t tileSize, CIRC_LOC) {
        return Take<DataType>(kDefaultPos, tileSize, circLoc);
    }

private:
    template <class DataType>
    LocalTensor<DataType> Take(TPosition pos, uint32_t tileSize, const cpu::Loc& loc) {
        const char* api = "LocalMemAllocator::Alloc";
        cpu::Tick();
        cpu::BlockState& b = cpu::Block();
        if (b.livePipe != 0) {
            cpu::Fail(loc, api, "LocalMemAllocator cannot be mixed with a TPipe: this kernel has a live TPipe");
        }
        cpu::Hw hw = cpu::PosToHw(pos);
        if (hw != cpu::PosToHw(kDefaultPos)) {
            cpu::Fail(loc, api, "TPosition::%s is not in the memory of this allocator (%s)", cpu::PosName(pos),
                      cpu::HwName(cpu::PosToHw(kDefaultPos)));
        }
        b.staticAlloc = true;
        uint64_t bytes = cpu::RoundUp(static_cast<uint64_t>(tileSize) * sizeof(DataType), cpu::HwAlign(hw));
        uint32_t cap = cpu::Cfg().bytes[static_cast<int>(hw)];
        if (head_ + bytes > cap) {
            cpu::Fail(loc, api, "%s overflow: %u x %s (%llu bytes) at offset %u end at byte %llu, but the %s of the SoC "
                      "has %u bytes", cpu::HwName(hw), tileSize, cpu::TypeName<DataType>::Get(),
                      (unsigned long long)bytes, head_, (unsigned long long)(head_ + bytes), cpu::HwName(hw), cap);
        }
        LocalTensor<DataType> t(pos, head_, tileSize, loc);
        if (cpu::Cfg().poison) std::memset(t.desc_.base + head_, 0xFF, bytes);
        head_ += static_cast<uint32_t>(bytes);
        return t;
    }

    uint32_t head_ = 0;
};

}  // namespace AscendC
