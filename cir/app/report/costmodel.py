"""A roofline estimate of a package on every Ascend SoC of ``cir/socs.toml``.

Per CIR op (all its kernel launches together)::

    time = max(bytes moved / hbm_gbps, flops / peak)

with bytes the sum of the launch arguments' ``nbytes`` (inputs, weights and outputs), peak
``cube_fp16_tflops`` for cube ops (matmul, conv, attention) and ``vector_fp32_tflops`` for the
rest, and flops from `FLOPS` (one formula per op kind). It is a lower bound for comparing SoCs,
not a prediction: launch overhead, L2 reuse and pipelining are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cir.soc import socs

Shape = Sequence[int]


def _n(shape: Shape) -> int:
    return math.prod(shape) if shape else 1


def _conv(ins: list[Shape], outs: list[Shape], attrs: dict[str, Any]) -> float:
    w = ins[1]  # (Cout, Cin/groups, KH, KW)
    return 2.0 * _n(outs[0]) * _n(w[1:])


def _conv_transpose(ins: list[Shape], outs: list[Shape], attrs: dict[str, Any]) -> float:
    w = ins[1]  # (Cin, Cout/groups, KH, KW): each input pixel scatters into Cout·KH·KW outputs
    return 2.0 * _n(ins[0]) * _n(w[1:])


def _contract(ins: list[Shape], outs: list[Shape], attrs: dict[str, Any]) -> float:
    k = ins[0][-2 if attrs.get("transpose_a") else -1] if ins[0] else 1  # K: the input's last dim (unless transposed)
    return 2.0 * _n(outs[0]) * k


def _attention(ins: list[Shape], outs: list[Shape], attrs: dict[str, Any]) -> float:
    q, k = ins[0], ins[1]  # QK^T and PV: 2 matmuls of Sq x Sk x D per (batch, head)
    return 4.0 * _n(q) * k[-2] + 5.0 * _n(q[:-1]) * k[-2]  # + softmax on the score matrix


def _per_elem(c: float) -> Callable[[list[Shape], list[Shape], dict[str, Any]], float]:
    return lambda ins, outs, attrs: c * _n(outs[0]) if outs else 0.0


# FLOPs per op kind: (formula, runs on the cube unit). Kinds not listed: one flop per output
# element on the vector unit; data movement is listed with 0.
FLOPS: dict[str, tuple[Callable[[list[Shape], list[Shape], dict[str, Any]], float], bool]] = {
    "cir.conv2d": (_conv, True),
    "cir.conv_gn_silu": (lambda i, o, a: _conv(i, o, a) + 12.0 * _n(o[0]), True),
    "cir.conv2d_act": (lambda i, o, a: _conv(i, o, a) + 5.0 * _n(o[0]), True),
    "cir.conv_transpose2d": (_conv_transpose, True),
    "cir.linear": (_contract, True),
    "cir.linear_act": (lambda i, o, a: _contract(i, o, a) + 8.0 * _n(o[0]), True),
    "cir.matmul": (_contract, True),
    "cir.attention": (_attention, True),
    "cir.flash_attention": (_attention, True),
    "cir.group_norm": (_per_elem(8), False),
    "cir.group_norm_silu": (_per_elem(12), False),
    "cir.add_group_norm": (_per_elem(13), False),
    "cir.layer_norm": (_per_elem(8), False),
    "cir.add_layer_norm": (_per_elem(9), False),
    "cir.rms_norm": (_per_elem(6), False),
    "cir.batch_norm": (_per_elem(4), False),
    "cir.softmax": (_per_elem(5), False),
    "cir.log_softmax": (_per_elem(6), False),
    "cir.silu": (_per_elem(4), False),
    "cir.gelu": (_per_elem(8), False),
    "cir.geglu": (_per_elem(10), False),
    "cir.sigmoid": (_per_elem(4), False),
    "cir.tanh": (_per_elem(6), False),
    "cir.exp": (_per_elem(2), False),
    **{k: (_per_elem(0), False) for k in (
        "cir.reshape", "cir.transpose", "cir.concat", "cir.split", "cir.slice", "cir.gather",
        "cir.broadcast_to", "cir.pad", "cir.tile", "cir.trans_data", "cir.cast")},
}


@dataclass(frozen=True)
class OpCost:
    index: int
    op: str
    kernels: str
    nbytes: int
    flops: float
    cube: bool
    seconds: dict[str, float]  # SoC -> estimated time
    bound: dict[str, str]      # SoC -> "memory" | "compute"


def op_flops(op: Any) -> tuple[float, bool]:
    """(FLOPs, runs on cube) of a CIR op from its operand/result shapes."""
    ins: list[Shape] = [tuple(v.type.get_shape()) for v in op.operands if hasattr(v.type, "get_shape")]
    outs: list[Shape] = [tuple(r.type.get_shape()) for r in op.results if hasattr(r.type, "get_shape")]
    fn, cube = FLOPS.get(op.name, (_per_elem(1), False))
    return float(fn(ins, outs, {})), cube


def estimate(pkg: Any) -> tuple[list[OpCost], dict[str, float]]:
    """Per-op costs and the total per SoC (seconds)."""
    table = socs()
    bytes_of: dict[int, int] = {}
    ops_by_kernel_run = {op.index: op for op in pkg.ops}
    # launch-graph nodes follow the CIR ops in order; each op owns len(op.kernels) nodes
    i = 0
    nodes = pkg.graph["nodes"]
    for op in pkg.ops:
        total = 0
        for n in nodes[i:i + len(op.kernels)]:
            total += sum(int(a["nbytes"]) for a in n["args"])
        i += len(op.kernels)
        bytes_of[op.index] = total
    costs: list[OpCost] = []
    totals = {name: 0.0 for name in table}
    for idx, op in ops_by_kernel_run.items():
        if not op.kernels:
            continue
        flops, cube = op_flops(op.op)
        secs, bound = {}, {}
        for name, s in table.items():
            peak = (_get(s, "cube_fp16_tflops") if cube else _get(s, "vector_fp32_tflops")) * 1e12
            t_mem = bytes_of[idx] / (_get(s, "hbm_gbps") * 1e9)
            t_cmp = flops / peak if peak > 0 else 0.0
            secs[name] = max(t_mem, t_cmp)
            bound[name] = "compute" if t_cmp > t_mem else "memory"
            totals[name] += secs[name]
        costs.append(OpCost(idx, op.name, " ".join(op.kernels), bytes_of[idx], flops, cube, secs, bound))
    return costs, totals


def _get(soc: Any, key: str) -> float:
    return float(soc[key] if isinstance(soc, dict) else getattr(soc, key))
