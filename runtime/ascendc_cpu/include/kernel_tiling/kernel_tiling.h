// circ's AscendC CPU layer: TCubeTiling (AscendC::tiling::TCubeTiling, also global).
#pragma once

#include "../kernel_operator.h"
