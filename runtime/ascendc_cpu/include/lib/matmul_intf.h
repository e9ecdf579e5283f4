// circ's AscendC CPU layer: the Matmul high-level API lives in kernel_operator.h; this header
// exists so that `#include "lib/matmul_intf.h"` works as on the NPU.
#pragma once

#include "../kernel_operator.h"
