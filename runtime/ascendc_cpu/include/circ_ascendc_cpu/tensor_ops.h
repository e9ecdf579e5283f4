// circ's AscendC CPU layer — LocalTensor operators: `dst = src0 + src1` computes over the whole
// of dst (dst.GetSize() elements; each source must hold as many), as Add/Sub/Mul/Div/And/Or in
// their count form.
#pragma once

#include "vector.h"

namespace AscendC {
namespace cpu {

template <class Op, typename T>
struct TensorExpr {
    static constexpr bool kIsTensorExpr = true;
    const LocalTensor<T>& a;
    const LocalTensor<T>& b;
    void EvalInto(const LocalTensor<T>& dst, const Loc& loc) const {
        Op::Run(dst, a, b, static_cast<int32_t>(dst.GetSize()), loc);
    }
};

#define CIRC_TENSOR_OPERATOR(SYM, NAME)                                                                      \
    struct NAME##Expr {                                                                                      \
        template <typename T>                                                                                \
        static void Run(const LocalTensor<T>& d, const LocalTensor<T>& a, const LocalTensor<T>& b, int32_t n, \
                        const Loc& loc) {                                                                    \
            NAME(d, a, b, n, loc);                                                                           \
        }                                                                                                    \
    };                                                                                                       \
    }                                                                                                        \
    template <typename T>                                                                                    \
    inline cpu::TensorExpr<cpu::NAME##Expr, T> operator SYM(const LocalTensor<T>& a, const LocalTensor<T>& b) { \
        return cpu::TensorExpr<cpu::NAME##Expr, T>{a, b};                                                    \
    }                                                                                                        \
    namespace cpu {
CIRC_TENSOR_OPERATOR(+, Add)
CIRC_TENSOR_OPERATOR(-, Sub)
CIRC_TENSOR_OPERATOR(*, Mul)
CIRC_TENSOR_OPERATOR(/, Div)
CIRC_TENSOR_OPERATOR(&, And)
CIRC_TENSOR_OPERATOR(|, Or)
#undef CIRC_TENSOR_OPERATOR

}  // namespace cpu
}  // namespace AscendC
