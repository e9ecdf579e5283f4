"""Host-fallback nodes: CIR ops no AscendC kernel covers yet, evaluated on the host CPU.

ATC places the operators AI Core cannot run on the AI CPU; circ does the same for the ops its
kernel library does not cover yet (``lower-to-ascendc{host_fallback=true}``, the default). Such
a node of the launch graph (``"engine": "host"``) carries its op as CIR text (``ir``: the op
alone in ``func.func @host``) and the same argument bindings a kernel launch has (operands
then results). The runtime parses that text with circ's hardened parser, checks it against the
bindings, and evaluates it with the reference interpreter's kernel for the op
(``cir.interpreter.evaluate_op``), reading and writing the buffers a kernel would. Compilers
list these ops (``host_ops`` in the manifest, a note from ``circ compile``, a column of the
report): nothing runs on the host silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation

from cir.errors import CircError
from cir.interpreter import KERNELS, evaluate_op
from cir.io import parse_text
from cir.types import dtype_of

MAX_IR_CHARS = 1 << 16  # one op's text; a constant table belongs in weights, not here


class HostNode:
    """One host-fallback node, parsed and checked (see the module docstring)."""

    def __init__(self, node: Mapping[str, Any], where: str):
        text = node.get("ir")
        if not isinstance(text, str) or not text or len(text) > MAX_IR_CHARS:
            raise CircError(f"{where}: a host node needs its op as CIR text of at most {MAX_IR_CHARS} characters")
        module = parse_text(text, f"{where}.ir")
        fns = [o for o in module.ops if isinstance(o, func.FuncOp)]
        body = list(fns[0].body.block.ops) if len(fns) == 1 and len(list(module.ops)) == 1 else []
        if len(body) != 2 or not isinstance(body[1], func.ReturnOp) or body[0].dialect_name() != "cir" \
                or tuple(body[1].operands) != tuple(body[0].results):
            raise CircError(f"{where}: a host node's IR must be one CIR op in func.func @host, returning its results")
        self.op: Operation = body[0]
        if type(self.op) not in KERNELS:
            raise CircError(f"{where}: {self.op.name} has no host kernel")
        values = [*self.op.operands, *self.op.results]
        args = node.get("args", [])
        if len(args) != len(values):
            raise CircError(f"{where}: {self.op.name} has {len(values)} operands and results, "
                            f"the node binds {len(args)} buffers")
        self.types: list[tuple[tuple[int, ...], np.dtype]] = []
        for i, (v, a) in enumerate(zip(values, args, strict=True)):
            t = v.type
            assert isinstance(t, TensorType)
            shape, dtype = tuple(t.get_shape()), np.dtype(dtype_of(t).np)
            if list(a.get("shape", [])) != list(shape) or int(a.get("nbytes", -1)) != int(np.prod(shape)) * dtype.itemsize:
                raise CircError(f"{where}: argument {i} of {self.op.name} is bound to a buffer of another "
                                f"shape or size than its type {t}")
            self.types.append((shape, dtype))
        self.n_in = len(self.op.operands)
        self.name = self.op.name

    def __call__(self, view: Callable[[int], np.ndarray]) -> None:
        """Evaluate: `view(i)` is argument i's buffer as bytes (inputs, then outputs)."""
        ins = [view(i).view(dt).reshape(shape) for i, (shape, dt) in enumerate(self.types[:self.n_in])]
        outs = evaluate_op(self.op, ins)
        for j, out in enumerate(outs):
            shape, dt = self.types[self.n_in + j]
            view(self.n_in + j).view(dt).reshape(shape)[...] = out


def host_nodes(nodes: Sequence[Mapping[str, Any]], where: str) -> dict[int, HostNode]:
    """The launch graph's host nodes by index, parsed and checked."""
    return {i: HostNode(n, f"{where}: node {i}") for i, n in enumerate(nodes) if n.get("engine") == "host"}
