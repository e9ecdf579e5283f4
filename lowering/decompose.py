"""CIR ops the lowering computes as other CIR ops, which have kernels.

``cir.batch_norm`` that canonicalize could not fold into a convolution (DenseNet puts it
before its convs) becomes ``x * s + t`` with per-channel ``s = scale / sqrt(var + eps)`` and
``t = bias - mean * s`` computed at compile time (weights of shape ``(C, 1, ...)`` that
broadcast over the spatial dimensions): two broadcasting elementwise kernels.
"""

from __future__ import annotations

import numpy as np
from cir.passes.canonicalize import materialise, value_of
from xdsl.dialects import func
from xdsl.dialects.builtin import TensorType
from xdsl.rewriter import Rewriter

from cir import ops
from cir.weights import WeightStore


def decompose(f: func.FuncOp, store: WeightStore) -> None:
    for op in list(f.body.block.ops):
        if isinstance(op, ops.BatchNormOp):
            _batch_norm(op, store)


def _batch_norm(op: ops.BatchNormOp, store: WeightStore) -> None:
    params = [value_of(v, store) for v in (op.scale, op.bias, op.mean, op.var)]
    if any(p is None for p in params):
        return  # parameters only known at run time: no kernel (reported as such)
    scale, bias, mean, var = (np.asarray(p, np.float64) for p in params)
    s = scale / np.sqrt(var + op.p["epsilon"])
    t = bias - mean * s
    xt = op.x.type
    assert isinstance(xt, TensorType)
    shape = [xt.get_shape()[1]] + [1] * (len(xt.get_shape()) - 2)
    pt = TensorType(xt.element_type, shape)
    s_op = materialise(s.reshape(shape), pt, store, "bn_scale")
    t_op = materialise(t.reshape(shape), pt, store, "bn_shift")
    hint = op.result.name_hint or "bn"
    s_op.results[0].name_hint, t_op.results[0].name_hint = f"{hint}_scale", f"{hint}_shift"
    mul = ops.MulOp(op.x, s_op.results[0])
    add = ops.AddOp(mul.results[0], t_op.results[0])
    for new in (mul, add):
        new.location = op.location
    mul.results[0].name_hint, add.results[0].name_hint = f"{hint}_scaled", op.result.name_hint
    old_params = [v.owner for v in op.operands[1:]]
    Rewriter.replace_op(op, [s_op, t_op, mul, add])
    for p in old_params:  # the BN's own parameters, when nothing else reads them
        if isinstance(p, ops.WeightOp | ops.ConstantOp) and not p.results[0].uses:
            Rewriter.erase_op(p)
