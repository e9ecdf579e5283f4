// Corpus: the host tiling header of an op project (msOpGen layout: op_host/<op>_tiling.h),
// declared with the tiling-template macros; the kernel side reads it with GET_TILING_DATA.
#ifndef SCALE_ADD_CUSTOM_TILING_H
#define SCALE_ADD_CUSTOM_TILING_H
#include "register/tilingdata_base.h"

namespace optiling {
BEGIN_TILING_DATA_DEF(ScaleAddCustomTilingData)
TILING_DATA_FIELD_DEF(uint32_t, totalLength);
TILING_DATA_FIELD_DEF(uint32_t, tileLength);
TILING_DATA_FIELD_DEF(float, scale);
TILING_DATA_FIELD_DEF_ARR(uint32_t, 8, coreOffset);
END_TILING_DATA_DEF;

REGISTER_TILING_DATA_CLASS(ScaleAddCustom, ScaleAddCustomTilingData)
}  // namespace optiling
#endif
