"""The kernel families, one module each; importing this package registers every family's
generators in `KERNELS` (CIR op name -> generator, see `cir.lowering.builder.kernel`):

- ``elementwise``: flat elementwise ops (``recipes.toml``), broadcasting row kernels, GeGLU, Cast;
- ``movement``: the index-map gather (slice, pad, broadcast, tile, upsample, TransData),
  transposes, concat / split, embedding gathers;
- ``norm``: layer / RMS / group norm, GroupNorm+SiLU, the fused add + norm;
- ``reduce``: softmax / log-softmax, reductions, argmax;
- ``pool``: 2-D max / avg pooling (vector bands of rows, scalar fallback);
- ``cube``: matmul, linear (+ activation), conv2d, Conv+GroupNorm+SiLU, transposed conv;
- ``attention``: FlashAttention-2;
- ``mask``: comparisons, ``where``, logical ops (``masks.toml``);
- ``index``: gather_elements, gather_nd, scatter_nd, cumsum.
"""

from cir.lowering.builder import KERNELS
from cir.lowering.kernels import (
    attention,
    cube,
    elementwise,
    index,
    mask,
    movement,
    norm,
    pool,
    reduce,
)

FAMILIES = (elementwise, movement, norm, reduce, pool, cube, attention, mask, index)

__all__ = ["FAMILIES", "KERNELS"]
