"""CIR ops the lowering computes as other CIR ops, which have kernels.

``cir.conv2d_act`` and ``cir.linear_act`` on arch 200 (no DataCopyPad for the epilogue's
strided moves in place) become the conv / linear, the residual add and the activation's op.

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
from xdsl.ir import Operation
from xdsl.rewriter import Rewriter

from cir import ops
from cir.soc import Soc
from cir.weights import WeightStore


def decompose(f: func.FuncOp, store: WeightStore, soc: Soc) -> None:
    for op in list(f.body.block.ops):
        if isinstance(op, ops.BatchNormOp):
            _batch_norm(op, store)
        elif isinstance(op, ops.Conv2dActOp | ops.LinearActOp) and soc.arch < 220:
            _unfuse(op)


def _unfuse(op: ops.Conv2dActOp | ops.LinearActOp) -> None:
    p = op.p
    if isinstance(op, ops.Conv2dActOp):
        first: Operation = ops.Conv2dOp(op.x, op.weight, op.bias, strides=p["strides"], pads=p["pads"],
                                        dilations=p["dilations"], groups=p["groups"])
    else:
        first = ops.LinearOp(op.x, op.weight, op.bias)
    chain: list[Operation] = [first]
    if isinstance(op, ops.Conv2dActOp) and op.residual is not None:
        chain.append(ops.AddOp(chain[-1].results[0], op.residual))
    if p["activation"] != "none":
        name, props = ops.ACTIVATION_OPS[p["activation"]]
        cls = next(c for c in ops.CIR.operations if c.name == name)
        chain.append(cls(chain[-1].results[0], **props))  # type: ignore[call-arg]
    hint = op.results[0].name_hint
    for new in chain:
        new.location = op.location
    for new in chain[:-1]:
        new.results[0].name_hint = f"{hint}_pre" if hint else None
    chain[-1].results[0].name_hint = hint
    Rewriter.replace_op(op, chain)


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
