"""Structural comparison of two CIR modules: are they the same graph?

Two modules are the same graph when, walked from their results depth-first (operands in order,
each op once), they have the same ops in the same order, with the same properties, operand
wiring and result types, the same function signature, and weights with the same values.
Value names, locations and weight *names* do not count: the same model imported from PyTorch,
TensorFlow and MindSpore names its weights three ways (``res.conv1.weight``,
``res.conv1/kernel``) but must hold the same numbers.

    >>> diff = graph_diff(torch_cir, keras_cir)   # [] when they are the same graph
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import FloatAttr, ModuleOp
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue

from cir.weights import WeightStore, weights_of


@dataclass(frozen=True)
class Node:
    """One op of the walk: what it is and what it is wired to (``("arg", i)`` or
    ``(node index, result index)``)."""

    name: str
    props: tuple[tuple[str, str], ...]
    operands: tuple[tuple[Any, int], ...]
    results: tuple[str, ...]

    def __str__(self) -> str:
        props = ", ".join(f"{k} = {v}" for k, v in self.props)
        ins = ", ".join(f"%arg{i}" if n == "arg" else f"%{n}#{i}" for n, i in self.operands)
        return f"{self.name}({ins})" + (f" {{{props}}}" if props else "") + f" -> {', '.join(self.results)}"


def _entry(module: ModuleOp) -> func.FuncOp:
    fns = [op for op in module.ops if isinstance(op, func.FuncOp)]
    main = [f for f in fns if f.sym_name.data == "main"]
    if not (main or fns):
        raise ValueError("the module has no function")
    return (main or fns)[0]


def _attr_text(a: Attribute) -> str:
    if isinstance(a, FloatAttr):
        return f"{a.value.data:.6g}"  # frameworks keep eps in f32 or f64
    return str(a)


def _weight_key(op: Operation, store: WeightStore) -> str:
    name = op.properties["name"].data  # type: ignore[attr-defined]
    if name not in store:
        return f"<missing weight {name}>"
    arr = np.ascontiguousarray(store[name])
    digest = hashlib.sha1(arr.tobytes()).hexdigest()[:16]
    return f"{arr.dtype}{list(arr.shape)}:{digest}"


def walk(module: ModuleOp, store: WeightStore | None = None) -> tuple[list[str], list[Node]]:
    """The function signature and the ops of `module` in canonical order."""
    store = weights_of(module) if store is None else store
    fn = _entry(module)
    ret = fn.body.block.last_op
    assert ret is not None
    index: dict[Operation, int] = {}
    nodes: list[Node] = []

    def ref(v: SSAValue) -> tuple[Any, int]:
        if isinstance(v, BlockArgument):
            return ("arg", v.index)
        return (index[v.owner], v.index)  # type: ignore[index,attr-defined]

    def visit(root: Operation) -> None:
        stack: list[tuple[Operation, int]] = [(root, 0)]
        while stack:
            op, i = stack.pop()
            if op in index:
                continue
            if i < len(op.operands):
                stack.append((op, i + 1))
                owner = op.operands[i].owner
                if isinstance(owner, Operation) and owner not in index:
                    stack.append((owner, 0))
                continue
            props = sorted((k, _attr_text(v)) for k, v in op.properties.items()
                           if not (op.name == "cir.weight" and k == "name"))
            if op.name == "cir.weight":
                props.append(("value", _weight_key(op, store)))
            index[op] = len(nodes)
            nodes.append(Node(op.name, tuple(props), tuple(ref(v) for v in op.operands),
                              tuple(str(r.type) for r in op.results)))

    for v in ret.operands:
        if isinstance(v.owner, Operation):
            visit(v.owner)
    signature = [str(t) for t in fn.function_type.inputs.data] + ["->"] + [
        str(t) for t in fn.function_type.outputs.data] + [f"return {ref(v)}" for v in ret.operands]
    return signature, nodes


def graph_diff(a: ModuleOp, b: ModuleOp, limit: int = 5) -> list[str]:
    """Where `a` and `b` differ as graphs (at most `limit` differences); [] if they do not."""
    sig_a, nodes_a = walk(a)
    sig_b, nodes_b = walk(b)
    out = []
    if sig_a != sig_b:
        out.append(f"signatures differ: {' '.join(sig_a)}  vs  {' '.join(sig_b)}")
    for i, (x, y) in enumerate(zip(nodes_a, nodes_b)):
        if x != y:
            out.append(f"op {i}: {x}\n   vs: {y}")
            if len(out) >= limit:
                return out
    if len(nodes_a) != len(nodes_b):
        out.append(f"{len(nodes_a)} ops vs {len(nodes_b)} ops")
    return out
