// circ's AscendC CPU layer: the host-side header of CPU twin debugging.
//
//     uint8_t* x = (uint8_t*)AscendC::GmAlloc(bytes);
//     AscendC::SetKernelMode(KernelMode::AIV_MODE);
//     ICPU_RUN_KF(add_custom, blockDim, x, y, z);
//     AscendC::GmFree(x);
#pragma once

#include "kernel_operator.h"

// Run `func` on blockDim simulated cores with the given arguments. Evaluates to 0, or to 1
// after a kernel error when AscendC::cpu::SetExitOnError(false) (else the program exits(1)).
#define ICPU_RUN_KF(func, ...) ::AscendC::cpu::Launch(#func, (func), __VA_ARGS__)
#define ICPU_SET_TILING_KEY(key) (::AscendC::cpu::TilingKey() = static_cast<uint64_t>(key))
