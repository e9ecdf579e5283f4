// circ's AscendC CPU layer: `#include "register/tilingdata_base.h"` of op projects' host tiling
// headers (BEGIN_TILING_DATA_DEF, TILING_DATA_FIELD_DEF, REGISTER_TILING_DATA_CLASS, ...).
#pragma once

#include "../kernel_operator.h"
