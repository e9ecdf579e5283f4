// circ's AscendC CPU layer: the kernel-side header, `#include "kernel_operator.h"` as on the NPU.
//
// Compile kernels with `circ ascendc-cpu --cflags` (g++ -std=c++17 -O2 -Wall -Werror
// -DASCENDC_CPU_DEBUG=1 -D__CCE_KT_TEST__=1 -D__CCE_AICORE__=220 -I<this directory>). What it
// implements, and how strictly, is described in runtime/ascendc_cpu/README.md.
//
// The layer's state (SoC configuration, launcher, GM registry, ...) has hidden visibility:
// every program or shared library gets its own, even when several kernel libraries built for
// different SoCs share one process.
#pragma once

#include "circ_ascendc_cpu/system.h"

#include "circ_ascendc_cpu/core.h"
#include "circ_ascendc_cpu/misc.h"
#include "circ_ascendc_cpu/fp16.h"
#include "circ_ascendc_cpu/tensor.h"
#include "circ_ascendc_cpu/tpipe.h"
#include "circ_ascendc_cpu/static_alloc.h"
#include "circ_ascendc_cpu/datacopy.h"
#include "circ_ascendc_cpu/mask.h"
#include "circ_ascendc_cpu/vector.h"
#include "circ_ascendc_cpu/tensor_ops.h"
#include "circ_ascendc_cpu/cast.h"
#include "circ_ascendc_cpu/reduce.h"
#include "circ_ascendc_cpu/cmpsel.h"
#include "circ_ascendc_cpu/gather.h"
#include "circ_ascendc_cpu/sync.h"
#include "circ_ascendc_cpu/tiling.h"
#include "circ_ascendc_cpu/adv_softmax.h"
#include "circ_ascendc_cpu/adv_norm.h"
#include "circ_ascendc_cpu/adv_broadcast.h"
#include "circ_ascendc_cpu/matmul.h"
#include "circ_ascendc_cpu/launch.h"
