// Corpus: the bit operations of integer kernels (hashing, quantisation, masks): And / Or / Not
// on int16_t and uint16_t, ShiftLeft / ShiftRight on int16_t, uint16_t, int32_t and uint32_t
// (arithmetic right shift for signed types), count form and repeat form (ShiftRight with
// rounding), one case per 4 KB output block.
#include "kernel_operator.h"

using namespace AscendC;

constexpr uint32_t BLOCK = 4096;
constexpr int CASES = 10;

class KernelBitOps {
public:
    __aicore__ inline void Init(GM_ADDR a, GM_ADDR b, GM_ADDR out, uint32_t n16, uint32_t n32)
    {
        n16_ = n16;
        n32_ = n32;
        aGm_.SetGlobalBuffer(a, BLOCK);
        bGm_.SetGlobalBuffer(b, BLOCK);
        outGm_.SetGlobalBuffer(out, BLOCK * CASES);
        pipe_.InitBuffer(inQueue_, 1, 2 * BLOCK);
        pipe_.InitBuffer(outQueue_, 2, BLOCK);
    }
    __aicore__ inline void Process()
    {
        LocalTensor<uint8_t> in = inQueue_.AllocTensor<uint8_t>();
        DataCopy(in, aGm_, BLOCK);
        DataCopy(in[BLOCK], bGm_, BLOCK);
        inQueue_.EnQue(in);
        in = inQueue_.DeQue<uint8_t>();
        LocalTensor<int16_t> a16 = in.ReinterpretCast<int16_t>();
        LocalTensor<int16_t> b16 = in[BLOCK].ReinterpretCast<int16_t>();
        LocalTensor<uint16_t> ua16 = in.ReinterpretCast<uint16_t>();
        LocalTensor<uint16_t> ub16 = in[BLOCK].ReinterpretCast<uint16_t>();
        LocalTensor<int32_t> a32 = in.ReinterpretCast<int32_t>();
        LocalTensor<uint32_t> ua32 = in.ReinterpretCast<uint32_t>();

        Case<int16_t>(0, [&](const LocalTensor<int16_t>& o) { And(o, a16, b16, n16_); });
        Case<uint16_t>(1, [&](const LocalTensor<uint16_t>& o) { Or(o, ua16, ub16, n16_); });
        Case<int16_t>(2, [&](const LocalTensor<int16_t>& o) { Not(o, a16, n16_); });
        Case<int16_t>(3, [&](const LocalTensor<int16_t>& o) { ShiftLeft(o, a16, int16_t(3), n16_); });
        Case<int16_t>(4, [&](const LocalTensor<int16_t>& o) { ShiftRight(o, a16, int16_t(5), n16_); });
        Case<uint16_t>(5, [&](const LocalTensor<uint16_t>& o) { ShiftRight(o, ua16, uint16_t(5), n16_); });
        Case<int32_t>(6, [&](const LocalTensor<int32_t>& o) { ShiftRight(o, a32, int32_t(7), n32_); });
        Case<uint32_t>(7, [&](const LocalTensor<uint32_t>& o) { ShiftLeft(o, ua32, uint32_t(9), n32_); });
        // repeat forms: And on 100 lanes of 2 repeats; ShiftRight with rounding on bit-masked lanes
        Case<int16_t>(8, [&](const LocalTensor<int16_t>& o) { And(o, a16, b16, 100, 2, {1, 1, 1, 8, 8, 8}); });
        Case<int32_t>(9, [&](const LocalTensor<int32_t>& o) {
            uint64_t bits[2] = {0xF0F0F0F0F0F0F0F0ull, 0};
            ShiftRight(o, a32, int32_t(4), bits, 3, {1, 1, 8, 8}, true);
        });
        inQueue_.FreeTensor(in);
    }

private:
    template <typename T, class F>
    __aicore__ inline void Case(int c, F op)
    {
        LocalTensor<T> o = outQueue_.AllocTensor<T>();
        Duplicate(o, T(0x55), static_cast<int32_t>(BLOCK / sizeof(T)));
        PipeBarrier<PIPE_V>();
        op(o);
        outQueue_.EnQue(o);
        o = outQueue_.DeQue<T>();
        DataCopy(outGm_[c * BLOCK], o.template ReinterpretCast<uint8_t>(), BLOCK);
        outQueue_.FreeTensor(o);
    }

    TPipe pipe_;
    TQue<TPosition::VECIN, 1> inQueue_;
    TQue<TPosition::VECOUT, 2> outQueue_;
    GlobalTensor<uint8_t> aGm_, bGm_, outGm_;
    uint32_t n16_ = 0, n32_ = 0;
};

extern "C" __global__ __aicore__ void bit_ops(GM_ADDR a, GM_ADDR b, GM_ADDR out, uint32_t n16, uint32_t n32)
{
    KernelBitOps op;
    op.Init(a, b, out, n16, n32);
    op.Process();
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    uint8_t* x = corpus::Load<uint8_t>("a", BLOCK);
    uint8_t* y = corpus::Load<uint8_t>("b", BLOCK);
    uint8_t* out = corpus::Alloc<uint8_t>(BLOCK * CASES);
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    ICPU_RUN_KF(bit_ops, 1, x, y, out, static_cast<uint32_t>(a.v[0]), static_cast<uint32_t>(a.v[1]));
    corpus::Save("out", out, BLOCK * CASES);
    return 0;
}
