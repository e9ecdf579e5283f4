// circ's AscendC CPU layer — the Broadcast high-level API (dim 1 or 2, one broadcast axis):
// srcShape[axis] == 1 is repeated dstShape[axis] times; the other dimension must match. dst is
// row-major [dstShape[0], dstShape[1]], contiguous.
#pragma once

#include "vector.h"

namespace AscendC {
namespace cpu {
template <typename T, int32_t dim, int32_t axis>
inline void BroadcastRun(const LocalTensor<T>& dst, const LocalTensor<T>& src, const uint32_t* dstShape,
                         const uint32_t* srcShape, const LocalTensor<uint8_t>* tmp, const Loc& loc) {
    static_assert(dim == 1 || dim == 2, "Broadcast: dim must be 1 or 2");
    static_assert(axis >= 0 && axis < dim, "Broadcast: axis must be 0 or 1, below dim");
    static_assert(OneOf<T, int8_t, uint8_t, half, float>::value, "Broadcast: T must be int8_t, uint8_t, half or float");
    const char* api = "Broadcast";
    VectorEntry(loc, api);
    if (srcShape[axis] != 1) Fail(loc, api, "srcShape[%d] = %u: the broadcast axis must have length 1", axis, srcShape[axis]);
    if (dim == 2 && srcShape[1 - axis] != dstShape[1 - axis]) {
        Fail(loc, api, "srcShape[%d] = %u differs from dstShape[%d] = %u", 1 - axis, srcShape[1 - axis], 1 - axis,
             dstShape[1 - axis]);
    }
    int64_t rows = dim == 1 ? 1 : dstShape[0], cols = dim == 1 ? dstShape[0] : dstShape[1];
    int64_t nsrc = dim == 1 ? 1 : static_cast<int64_t>(srcShape[0]) * srcShape[1];
    const T* ps = VecOperand(src, nsrc, "srcLocal", loc, api);
    T* pd = VecOperand(dst, rows * cols, "dstLocal", loc, api);
    NoPartialOverlap(pd, rows * cols, ps, nsrc, "srcLocal", loc, api);
    if (tmp != nullptr) CheckLive(tmp->desc_, "sharedTmpBuffer", loc, api);
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) pd[i * cols + j] = (dim == 1) ? ps[0] : (axis == 0 ? ps[j] : ps[i]);
}
}  // namespace cpu

template <typename T, int32_t dim, int32_t axis, bool isReuseSource = false>
inline void Broadcast(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const uint32_t dstShape[dim],
                      const uint32_t srcShape[dim], const LocalTensor<uint8_t>& sharedTmpBuffer, CIRC_LOC) {
    cpu::BroadcastRun<T, dim, axis>(dstLocal, srcLocal, dstShape, srcShape, &sharedTmpBuffer, circLoc);
}
template <typename T, int32_t dim, int32_t axis, bool isReuseSource = false>
inline void Broadcast(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const uint32_t dstShape[dim],
                      const uint32_t srcShape[dim], CIRC_LOC) {
    cpu::BroadcastRun<T, dim, axis>(dstLocal, srcLocal, dstShape, srcShape, nullptr, circLoc);
}
// The CANN 8.0 spelling.
template <typename T, int32_t dim, int32_t axis, bool isReuseSource = false>
inline void BroadCast(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const uint32_t dstShape[dim],
                      const uint32_t srcShape[dim], const LocalTensor<uint8_t>& sharedTmpBuffer, CIRC_LOC) {
    cpu::BroadcastRun<T, dim, axis>(dstLocal, srcLocal, dstShape, srcShape, &sharedTmpBuffer, circLoc);
}
template <typename T, int32_t dim, int32_t axis, bool isReuseSource = false>
inline void BroadCast(const LocalTensor<T>& dstLocal, const LocalTensor<T>& srcLocal, const uint32_t dstShape[dim],
                      const uint32_t srcShape[dim], CIRC_LOC) {
    cpu::BroadcastRun<T, dim, axis>(dstLocal, srcLocal, dstShape, srcShape, nullptr, circLoc);
}

}  // namespace AscendC
