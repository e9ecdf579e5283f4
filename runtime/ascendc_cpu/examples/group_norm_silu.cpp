// group_norm_silu: y = silu(group_norm(x) * gamma + beta) for float NCHW x — the fused
// GroupNormSilu of Stable-Diffusion blocks, written by hand against the AscendC API.
//
// Each core takes groups (n, g) round robin. When a group fits in the UB beside the output
// tiles ("resident", chosen by the host), it is copied in once: ReduceSum gives sum(x), tiles of
// x^2 give sum(x^2), and pass 2 reads the UB copy channel by channel: y = x * scale_c +
// shift_c, then y / (1 + exp(-y)), out through a double-buffered VECOUT queue. Otherwise pass
// 1 streams the group's Cg*HW contiguous elements through a double-buffered VECIN queue and
// pass 2 streams it again. Tails that are not 32-byte multiples move with DataCopyPad.
//
// A shared-library build (-DCIRC_NO_MAIN, as the benchmark and tests do) exports
// run_group_norm_silu for ctypes.
#include "kernel_operator.h"

using namespace AscendC;

struct GnSiluTiling {
    uint32_t N, C, HW, G;
    uint32_t tile;      // elements per tile, a multiple of 8
    uint32_t resident;  // 1: a whole group sits in the UB (HW a multiple of 8)
    float eps;
};

class KernelGroupNormSilu {
public:
    __aicore__ inline void Init(GM_ADDR x, GM_ADDR gamma, GM_ADDR beta, GM_ADDR y, const GnSiluTiling& t)
    {
        t_ = t;
        const uint64_t total = (uint64_t)t.N * t.C * t.HW;
        xGm_.SetGlobalBuffer((__gm__ float*)x, total);
        yGm_.SetGlobalBuffer((__gm__ float*)y, total);
        gammaGm_.SetGlobalBuffer((__gm__ float*)gamma, t.C);
        betaGm_.SetGlobalBuffer((__gm__ float*)beta, t.C);
        if (t.resident) {
            pipe_.InitBuffer(group_, t.C / t.G * t.HW * sizeof(float));
        } else {
            pipe_.InitBuffer(inQueue_, 2, t.tile * sizeof(float));
        }
        pipe_.InitBuffer(outQueue_, 2, t.tile * sizeof(float));
        pipe_.InitBuffer(tmp_, t.tile * sizeof(float));
        pipe_.InitBuffer(scalar_, 64);
    }

    __aicore__ inline void Process()
    {
        const uint32_t groups = t_.N * t_.G;
        for (uint32_t grp = GetBlockIdx(); grp < groups; grp += GetBlockNum()) {
            const uint32_t n = grp / t_.G, g = grp % t_.G;
            const uint32_t cg = t_.C / t_.G;
            const uint64_t base = ((uint64_t)n * t_.C + (uint64_t)g * cg) * t_.HW;
            const uint64_t count = (uint64_t)cg * t_.HW;

            if (t_.resident) {
                ProcessResident(base, count, g, cg);
                continue;
            }
            // pass 1: mean and variance of the group
            float sum = 0.0f, sumsq = 0.0f;
            for (uint64_t off = 0; off < count; off += t_.tile) {
                const uint32_t len = count - off < t_.tile ? (uint32_t)(count - off) : t_.tile;
                CopyIn(base + off, len);
                LocalTensor<float> x = inQueue_.DeQue<float>();
                LocalTensor<float> sq = tmp_.Get<float>();
                LocalTensor<float> s = scalar_.Get<float>();
                ReduceSum(s, x, sq, len);  // s[0] = sum(x)
                Mul(sq, x, x, len);
                PipeBarrier<PIPE_V>();
                ReduceSum(s[8], sq, sq, len);  // s[8] = sum(x^2); src doubles as the work space
                SetFlag<HardEvent::V_S>(EVENT_ID0);
                WaitFlag<HardEvent::V_S>(EVENT_ID0);
                sum += s.GetValue(0);
                sumsq += s.GetValue(8);
                inQueue_.FreeTensor(x);
            }
            const float mean = sum / (float)count;
            float var = sumsq / (float)count - mean * mean;
            var = var > 0.0f ? var : 0.0f;
            const float rstd = 1.0f / std::sqrt(var + t_.eps);

            // pass 2: normalise, scale and shift per channel, SiLU
            for (uint32_t c = 0; c < cg; ++c) {
                const uint32_t ch = g * cg + c;
                const float scale = gammaGm_.GetValue(ch) * rstd;
                const float shift = betaGm_.GetValue(ch) - mean * scale;
                const uint64_t cbase = base + (uint64_t)c * t_.HW;
                for (uint32_t off = 0; off < t_.HW; off += t_.tile) {
                    const uint32_t len = t_.HW - off < t_.tile ? t_.HW - off : t_.tile;
                    CopyIn(cbase + off, len);
                    Compute(scale, shift, len);
                    CopyOut(cbase + off, len);
                }
            }
        }
    }

private:
    __aicore__ inline void ProcessResident(uint64_t base, uint64_t count, uint32_t g, uint32_t cg)
    {
        LocalTensor<float> x = group_.Get<float>();
        LocalTensor<float> sq = tmp_.Get<float>();
        LocalTensor<float> s = scalar_.Get<float>();
        if (count % 8 == 0) {
            DataCopy(x, xGm_[base], count);
        } else {
            DataCopyPad(x, xGm_[base], DataCopyExtParams{1, (uint32_t)(count * 4), 0, 0, 0},
                        DataCopyPadExtParams<float>{false, 0, 0, 0.0f});
        }
        SetFlag<HardEvent::MTE2_V>(EVENT_ID0);
        WaitFlag<HardEvent::MTE2_V>(EVENT_ID0);
        ReduceSum(s, x, sq, count);  // s[0] = sum(x)
        float sumsq = 0.0f;
        for (uint64_t off = 0; off < count; off += t_.tile) {
            const uint32_t len = count - off < t_.tile ? (uint32_t)(count - off) : t_.tile;
            Mul(sq, x[off], x[off], len);
            PipeBarrier<PIPE_V>();
            ReduceSum(s[8], sq, sq, len);
            SetFlag<HardEvent::V_S>(EVENT_ID0);
            WaitFlag<HardEvent::V_S>(EVENT_ID0);
            sumsq += s.GetValue(8);
        }
        const float mean = s.GetValue(0) / (float)count;
        float var = sumsq / (float)count - mean * mean;
        var = var > 0.0f ? var : 0.0f;
        const float rstd = 1.0f / std::sqrt(var + t_.eps);
        for (uint32_t c = 0; c < cg; ++c) {
            const uint32_t ch = g * cg + c;
            const float scale = gammaGm_.GetValue(ch) * rstd;
            const float shift = betaGm_.GetValue(ch) - mean * scale;
            for (uint32_t off = 0; off < t_.HW; off += t_.tile) {
                const uint32_t len = t_.HW - off < t_.tile ? t_.HW - off : t_.tile;
                LocalTensor<float> y = outQueue_.AllocTensor<float>();
                Normalize(y, x[c * t_.HW + off], scale, shift, len);
                outQueue_.EnQue(y);
                CopyOut(base + (uint64_t)c * t_.HW + off, len);
            }
        }
        SetFlag<HardEvent::V_MTE2>(EVENT_ID0);  // the next group's copy waits for these reads
        WaitFlag<HardEvent::V_MTE2>(EVENT_ID0);
    }

    __aicore__ inline void Normalize(const LocalTensor<float>& y, const LocalTensor<float>& x, float scale, float shift,
                                     uint32_t len)
    {
        LocalTensor<float> t = tmp_.Get<float>();
        Muls(y, x, scale, len);
        PipeBarrier<PIPE_V>();
        Adds(y, y, shift, len);
        PipeBarrier<PIPE_V>();
        Muls(t, y, -1.0f, len);
        PipeBarrier<PIPE_V>();
        Exp(t, t, len);
        PipeBarrier<PIPE_V>();
        Adds(t, t, 1.0f, len);
        PipeBarrier<PIPE_V>();
        Div(y, y, t, len);
    }

    __aicore__ inline void CopyIn(uint64_t off, uint32_t len)
    {
        LocalTensor<float> x = inQueue_.AllocTensor<float>();
        if (len % 8 == 0) {
            DataCopy(x, xGm_[off], len);
        } else {
            DataCopyPad(x, xGm_[off], DataCopyExtParams{1, len * 4, 0, 0, 0}, DataCopyPadExtParams<float>{false, 0, 0, 0.0f});
        }
        inQueue_.EnQue(x);
    }

    __aicore__ inline void Compute(float scale, float shift, uint32_t len)
    {
        LocalTensor<float> x = inQueue_.DeQue<float>();
        LocalTensor<float> y = outQueue_.AllocTensor<float>();
        Normalize(y, x, scale, shift, len);
        outQueue_.EnQue(y);
        inQueue_.FreeTensor(x);
    }

    __aicore__ inline void CopyOut(uint64_t off, uint32_t len)
    {
        LocalTensor<float> y = outQueue_.DeQue<float>();
        if (len % 8 == 0) {
            DataCopy(yGm_[off], y, len);
        } else {
            DataCopyPad(yGm_[off], y, DataCopyExtParams{1, len * 4, 0, 0, 0});
        }
        outQueue_.FreeTensor(y);
    }

    TPipe pipe_;
    TQue<TPosition::VECIN, 2> inQueue_;
    TQue<TPosition::VECOUT, 2> outQueue_;
    TBuf<TPosition::VECCALC> group_, tmp_, scalar_;
    GlobalTensor<float> xGm_, yGm_, gammaGm_, betaGm_;
    GnSiluTiling t_{};
};

extern "C" __global__ __aicore__ void group_norm_silu(GM_ADDR x, GM_ADDR gamma, GM_ADDR beta, GM_ADDR y,
                                                      GM_ADDR workspace, GM_ADDR tiling)
{
    GET_TILING_DATA_WITH_STRUCT(GnSiluTiling, t, tiling);
    KernelGroupNormSilu op;
    op.Init(x, gamma, beta, y, t);
    op.Process();
}

#include "tikicpulib.h"

// The host side of the tiling: a resident group when it fits in the UB with 2 output tiles, a
// scratch tile and the scalars (tile = 0: choose; ubBytes: the SoC's UB).
extern "C" int run_group_norm_silu(float* x, float* gamma, float* beta, float* y, int N, int C, int HW, int G, float eps,
                                   int blockDim, int tile, int ubBytes)
{
    const uint64_t groupBytes = (uint64_t)(C / G) * HW * 4;
    uint32_t resident = 0;
    if (tile <= 0) {
        tile = 2048;
        if (HW % 8 == 0 && groupBytes + 3ull * tile * 4 + 64 <= (uint64_t)ubBytes) resident = 1;
        else tile = (ubBytes - 64) / 5 / 4 / 8 * 8;  // 2 in + 2 out + scratch
    }
    GnSiluTiling t{(uint32_t)N, (uint32_t)C, (uint32_t)HW, (uint32_t)G, (uint32_t)tile, resident, eps};
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    return ICPU_RUN_KF(group_norm_silu, blockDim, (uint8_t*)x, (uint8_t*)gamma, (uint8_t*)beta, (uint8_t*)y, nullptr,
                       (uint8_t*)&t);
}
