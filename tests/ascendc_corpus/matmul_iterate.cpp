// Corpus: the Matmul high-level API block by block, as the matmul_leakyrelu samples use it: C in
// VECIN, Iterate / GetTensorC one baseM x baseN block at a time, LeakyRelu on the block in the
// UB and DataCopyPad of the (possibly partial) block to its place in C; the cores split N and
// the last one sets a tail. A second kernel keeps C in GM and takes the blocks N-first
// (iterateOrder 1) with GetTensorC(GlobalTensor); with "async" it computes every block at once
// (Iterate<false> into a SetWorkspace cache) and takes them with GetTensorC<false>.
#include "kernel_operator.h"
#include "lib/matmul_intf.h"

using namespace matmul;

template <typename aType, typename bType, typename cType, typename biasType>
class MatmulLeakyKernel {
public:
    __aicore__ inline void Init(GM_ADDR a, GM_ADDR b, GM_ADDR bias, GM_ADDR c, const TCubeTiling& tiling,
                                AscendC::TPipe* pipe)
    {
        tiling_ = tiling;
        const int32_t n0 = AscendC::GetBlockIdx() * tiling.singleCoreN;
        coreN_ = tiling.N - n0 < tiling.singleCoreN ? tiling.N - n0 : tiling.singleCoreN;
        aGlobal_.SetGlobalBuffer(reinterpret_cast<__gm__ aType*>(a), tiling.M * tiling.Ka);
        bGlobal_.SetGlobalBuffer(reinterpret_cast<__gm__ bType*>(b), tiling.Kb * tiling.N);
        cGlobal_.SetGlobalBuffer(reinterpret_cast<__gm__ cType*>(c), tiling.M * tiling.N);
        biasGlobal_.SetGlobalBuffer(reinterpret_cast<__gm__ biasType*>(bias), tiling.N);
        bGlobal_ = bGlobal_[n0];
        cGlobal_ = cGlobal_[n0];
        biasGlobal_ = biasGlobal_[n0];
        pipe->InitBuffer(reluOutQueue_, 1, tiling.baseM * tiling.baseN * sizeof(cType));
    }
    __aicore__ inline void Process()
    {
        matmulObj.SetTensorA(aGlobal_);
        matmulObj.SetTensorB(bGlobal_);
        matmulObj.SetBias(biasGlobal_);
        if (coreN_ < tiling_.singleCoreN) matmulObj.SetTail(tiling_.singleCoreM, coreN_, tiling_.singleCoreK);
        const uint32_t roundM = AscendC::DivCeil<uint32_t>(tiling_.singleCoreM, tiling_.baseM);
        uint32_t round = 0;
        while (matmulObj.template Iterate<true>()) {
            AscendC::LocalTensor<cType> out = reluOutQueue_.AllocTensor<cType>();
            matmulObj.template GetTensorC<true>(out, false, true);
            AscendC::LeakyRelu(out, out, (cType)0.001, tiling_.baseM * tiling_.baseN);
            reluOutQueue_.EnQue(out);
            CopyOut(round % roundM, round / roundM);
            ++round;
        }
        matmulObj.End();
    }

    Matmul<MatmulType<AscendC::TPosition::GM, CubeFormat::ND, aType>, MatmulType<AscendC::TPosition::GM, CubeFormat::ND, bType>,
           MatmulType<AscendC::TPosition::VECIN, CubeFormat::ND, cType>, MatmulType<AscendC::TPosition::GM, CubeFormat::ND, biasType>>
        matmulObj;
    TCubeTiling tiling_;

private:
    __aicore__ inline void CopyOut(uint32_t mi, uint32_t ni)
    {
        AscendC::LocalTensor<cType> out = reluOutQueue_.DeQue<cType>();
        const uint32_t m0 = mi * tiling_.baseM, n0 = ni * tiling_.baseN;
        const uint32_t rows = tiling_.singleCoreM - m0 < (uint32_t)tiling_.baseM ? tiling_.singleCoreM - m0 : tiling_.baseM;
        const uint32_t cols = coreN_ - n0 < (uint32_t)tiling_.baseN ? coreN_ - n0 : tiling_.baseN;
        const uint32_t rowBytes = cols * sizeof(cType);
        const uint32_t gapBlocks = (tiling_.baseN * sizeof(cType) - (rowBytes + 31) / 32 * 32) / AscendC::DEFAULT_C0_SIZE;
        AscendC::DataCopyExtParams params{(uint16_t)rows, rowBytes, gapBlocks, (uint32_t)((tiling_.N - cols) * sizeof(cType)), 0};
        AscendC::DataCopyPad(cGlobal_[m0 * tiling_.N + n0], out, params);
        reluOutQueue_.FreeTensor(out);
    }

    AscendC::GlobalTensor<aType> aGlobal_;
    AscendC::GlobalTensor<bType> bGlobal_;
    AscendC::GlobalTensor<cType> cGlobal_;
    AscendC::GlobalTensor<biasType> biasGlobal_;
    AscendC::TQue<AscendC::TPosition::VECOUT, 1> reluOutQueue_;
    int32_t coreN_ = 0;
};

__aicore__ inline void CopyTiling(TCubeTiling* tiling, GM_ADDR tilingGM)
{
    uint32_t* ptr = reinterpret_cast<uint32_t*>(tiling);
    auto tiling32 = reinterpret_cast<__gm__ uint32_t*>(tilingGM);
    for (uint32_t i = 0; i < sizeof(TCubeTiling) / sizeof(uint32_t); i++, ptr++) *ptr = *(tiling32 + i);
}

extern "C" __global__ __aicore__ void matmul_leakyrelu(GM_ADDR a, GM_ADDR b, GM_ADDR bias, GM_ADDR c, GM_ADDR workspace,
                                                       GM_ADDR tilingGm)
{
    AscendC::TPipe pipe;
    TCubeTiling tiling;
    CopyTiling(&tiling, tilingGm);
    MatmulLeakyKernel<half, half, float, float> kernel;
    kernel.Init(a, b, bias, c, tiling, &pipe);
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), kernel.matmulObj, &kernel.tiling_);
    kernel.Process();
}

extern "C" __global__ __aicore__ void matmul_blocks_gm(GM_ADDR a, GM_ADDR b, GM_ADDR c, GM_ADDR workspace, GM_ADDR tilingGm)
{
    AscendC::TPipe pipe;
    TCubeTiling tiling;
    CopyTiling(&tiling, tilingGm);
    Matmul<MatmulType<AscendC::TPosition::GM, CubeFormat::ND, half>, MatmulType<AscendC::TPosition::GM, CubeFormat::ND, half>,
           MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>>
        mm;
    REGIST_MATMUL_OBJ(&pipe, GetSysWorkSpacePtr(), mm, &tiling);
    AscendC::GlobalTensor<half> aG, bG;
    AscendC::GlobalTensor<float> cG;
    aG.SetGlobalBuffer((__gm__ half*)a, tiling.M * tiling.Ka);
    bG.SetGlobalBuffer((__gm__ half*)b, tiling.Ka * tiling.N);
    cG.SetGlobalBuffer((__gm__ float*)c, tiling.M * tiling.N);
    mm.SetTensorA(aG);
    mm.SetTensorB(bG);
    if (tiling.shareMode == 1) {  // the host's flag for the asynchronous variant
        AscendC::GlobalTensor<float> ws;
        ws.SetGlobalBuffer((__gm__ float*)workspace, tiling.M * tiling.N);
        mm.SetWorkspace(ws);
        mm.template Iterate<false>();
        const int32_t blocks = AscendC::DivCeil(tiling.M, tiling.baseM) * AscendC::DivCeil(tiling.N, tiling.baseN);
        for (int32_t i = 0; i < blocks; ++i) mm.template GetTensorC<false>(cG);
    } else {
        while (mm.Iterate()) mm.GetTensorC(cG);
    }
    mm.End();
}

#include "host_io.h"

int main(int argc, char** argv)
{
    corpus::Args a(argc, argv);
    const int32_t M = a.v[0], N = a.v[1], K = a.v[2], blockDim = a.v[3];
    half* pa = corpus::Load<half>("a", M * K);
    half* pb = corpus::Load<half>("b", K * N);
    float* bias = corpus::Load<float>("bias", N);
    float* c = corpus::Alloc<float>(M * N);
    uint8_t* workspace = corpus::Alloc<uint8_t>(M * N * sizeof(float));
    auto* tiling = corpus::Alloc<TCubeTiling>(1);
    std::memset(tiling, 0, sizeof(TCubeTiling));
    tiling->usedCoreNum = blockDim;
    tiling->M = M;
    tiling->N = N;
    tiling->Ka = tiling->Kb = K;
    tiling->singleCoreM = M;
    tiling->singleCoreN = a.which == "leakyrelu" ? (N + blockDim - 1) / blockDim : N;
    tiling->singleCoreK = K;
    tiling->baseM = 32;
    tiling->baseN = 32;
    tiling->baseK = 32;
    tiling->isBias = a.which == "leakyrelu" ? 1 : 0;
    tiling->iterateOrder = a.which == "leakyrelu" ? 0 : 1;
    tiling->shareMode = a.which == "async" ? 1 : 0;
    AscendC::SetKernelMode(KernelMode::MIX_MODE);
    if (a.which == "leakyrelu") {
        ICPU_RUN_KF(matmul_leakyrelu, blockDim, (GM_ADDR)pa, (GM_ADDR)pb, (GM_ADDR)bias, (GM_ADDR)c, workspace,
                    (GM_ADDR)tiling);
    } else {
        ICPU_RUN_KF(matmul_blocks_gm, 1, (GM_ADDR)pa, (GM_ADDR)pb, (GM_ADDR)c, workspace, (GM_ADDR)tiling);
    }
    corpus::Save("c", c, M * N);
    return 0;
}
