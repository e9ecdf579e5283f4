// circ's AscendC CPU layer: `#include "tiling/tiling_api.h"` of op projects' host tiling headers.
// Only the tiling data types exist here (TCubeTiling, SoftMaxTiling, LayerNormTiling, and the
// BEGIN_TILING_DATA_DEF macros), so a host tiling header can be included on the kernel side;
// the host tiling library (matmul_tiling::MultiCoreMatmulTiling, SoftMaxTilingFunc, ...) is
// not part of the CPU layer: hosts fill the structs themselves.
#pragma once

#include "../kernel_operator.h"
