// Corpus: the SoftMax and LayerNorm high-level APIs as the documentation's samples use them: the
// tiling struct of an op project carries SoftMaxTiling / LayerNormTiling
// (TILING_DATA_FIELD_DEF_STRUCT) and the kernel reads it with GET_TILING_DATA. SoftMax on float
// rows with sum/max outputs, on half rows with float sum/max (SoftMaxShapeInfo), and without
// sum/max through a sharedTmpBuffer; LayerNorm over [B, S, H] with a padded H.
#include "kernel_operator.h"

namespace optiling {
BEGIN_TILING_DATA_DEF(SoftmaxLayerNormTiling)
TILING_DATA_FIELD_DEF(uint32_t, rowsF);
TILING_DATA_FIELD_DEF(uint32_t, colsF);
TILING_DATA_FIELD_DEF(uint32_t, rowsH);
TILING_DATA_FIELD_DEF(uint32_t, colsH);
TILING_DATA_FIELD_DEF(float, epsilon);
TILING_DATA_FIELD_DEF_STRUCT(SoftMaxTiling, softmaxTilingData);
TILING_DATA_FIELD_DEF_STRUCT(LayerNormTiling, layernormTilingData);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(SoftmaxLayerNorm, SoftmaxLayerNormTiling)
}  // namespace optiling

using namespace AscendC;

class KernelSoftmaxLayerNorm {
public:
    __aicore__ inline void Init(GM_ADDR gm, const optiling::SoftmaxLayerNormTiling& t)
    {
        t_ = t;
        gm_.SetGlobalBuffer(gm, 64 * 1024);
        pipe_.InitBuffer(in_, 16384);
        pipe_.InitBuffer(out_, 16384);
        pipe_.InitBuffer(tmp_, 4096);
    }
    // GM layout: [0, 16K) inputs, [16K, 32K) softmax outputs, [32K, 48K) layernorm outputs
    __aicore__ inline void Process()
    {
        LocalTensor<uint8_t> in = in_.Get<uint8_t>();
        LocalTensor<uint8_t> out = out_.Get<uint8_t>();
        DataCopy(in, gm_, 16384);
        PipeBarrier<PIPE_ALL>();
        const uint32_t mf = t_.rowsF, kf = t_.colsF, mh = t_.rowsH, kh = t_.colsH;
        LocalTensor<float> xf = in.ReinterpretCast<float>();
        LocalTensor<half> xh = in[4096].ReinterpretCast<half>();
        LocalTensor<float> yf = out.ReinterpretCast<float>();
        LocalTensor<float> sumf = out[4096].ReinterpretCast<float>();
        LocalTensor<float> maxf = out[5120].ReinterpretCast<float>();
        LocalTensor<half> yh = out[6144].ReinterpretCast<half>();
        LocalTensor<float> sumh = out[8192].ReinterpretCast<float>();
        LocalTensor<float> maxh = out[9216].ReinterpretCast<float>();
        LocalTensor<float> yplain = out[10240].ReinterpretCast<float>();
        SoftMax<float>(yf, sumf, maxf, xf, t_.softmaxTilingData);
        SoftMaxShapeInfo shapeH{mh, kh, mh, kh};
        SoftMax<half>(yh, sumh, maxh, xh, t_.softmaxTilingData, shapeH);
        LocalTensor<uint8_t> tmp = tmp_.Get<uint8_t>();
        SoftMax<float>(yplain, xf, tmp, t_.softmaxTilingData, SoftMaxShapeInfo{mf, kf, mf, kf});
        PipeBarrier<PIPE_ALL>();
        DataCopy(gm_[16384], out, 16384);
        PipeBarrier<PIPE_ALL>();

        // LayerNorm: x [B, S, H] at input byte 8192, gamma and beta after it
        LayerNormTiling& ln = t_.layernormTilingData;
        const uint32_t rows = ln.bLength * ln.sLength, h = ln.hLength;
        LocalTensor<float> x = in[8192].ReinterpretCast<float>();
        LocalTensor<float> gamma = x[rows * h];
        LocalTensor<float> beta = gamma[h];
        LocalTensor<float> y = out.ReinterpretCast<float>();
        LocalTensor<float> mean = out[8192].ReinterpretCast<float>();
        LocalTensor<float> var = out[9216].ReinterpretCast<float>();
        LayerNorm<float>(y, mean, var, x, gamma, beta, tmp, t_.epsilon, ln);
        PipeBarrier<PIPE_ALL>();
        DataCopy(gm_[32768], out, 16384);
    }

private:
    optiling::SoftmaxLayerNormTiling t_;
    TPipe pipe_;
    TBuf<TPosition::VECCALC> in_, out_, tmp_;
    GlobalTensor<uint8_t> gm_;
};

extern "C" __global__ __aicore__ void softmax_layernorm(GM_ADDR gm, GM_ADDR workspace, GM_ADDR tiling)
{
    GET_TILING_DATA(tilingData, tiling);
    KernelSoftmaxLayerNorm op;
    op.Init(gm, tilingData);
    op.Process();
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    uint8_t* gm = corpus::Alloc<uint8_t>(64 * 1024);
    uint8_t* in = corpus::Load<uint8_t>("in", 16384);
    std::memcpy(gm, in, 16384);
    optiling::SoftmaxLayerNormTiling t;
    t.set_rowsF(a.v[0]);
    t.set_colsF(a.v[1]);
    t.set_rowsH(a.v[2]);
    t.set_colsH(a.v[3]);
    t.set_epsilon(1e-5f);
    t.softmaxTilingData.srcM = a.v[0];
    t.softmaxTilingData.srcK = a.v[1];
    t.layernormTilingData.bLength = a.v[4];
    t.layernormTilingData.sLength = a.v[5];
    t.layernormTilingData.hLength = a.v[6];
    t.layernormTilingData.originalHLength = a.v[7];
    uint8_t* tiling = corpus::Alloc<uint8_t>(t.GetDataSize());
    t.SaveToBuffer(tiling, t.GetDataSize());
    uint8_t* workspace = corpus::Alloc<uint8_t>(32);
    AscendC::SetKernelMode(KernelMode::AIV_MODE);
    ICPU_RUN_KF(softmax_layernorm, 1, gm, workspace, tiling);
    corpus::Save("out", gm + 16384, 32768);
    return 0;
}
