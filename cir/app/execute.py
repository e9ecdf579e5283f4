"""A lowered module, made executable: ``run_lowered`` runs its ``@main`` through its kernels.

The kernel tests run modules straight after ``lower-to-ascendc``: no package, no memory plan.
``run_lowered`` makes from such a module what the runtime executes — the kernel sources
(``cir.lowering.cpp``) compiled into a `KernelLibrary`, a memory plan in which no two values
share bytes (`unshared_plan`), the launch graph (``cir.lowering.graph.to_launch_graph``) — and
runs it on the runtime's executor core (``cir.runtime.executor``, the Session's). Every kernel
output starts poisoned (NaN; for integer types what NaN casts to), so a kernel that leaves an
output unwritten fails its test.

>>> outs = run_lowered(module, {"x": x}, Path("build/kernels"))
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DictionaryAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue

from cir import ops
from cir.errors import CircError
from cir.formats import physical_bytes, physical_shape
from cir.lowering.cpp import kernel_arities, kernel_sources
from cir.lowering.graph import to_launch_graph
from cir.runtime.executor import Context, Executor, np_dtype
from cir.runtime.kernels import KernelLibrary
from cir.signature import check_inputs, entry_function
from cir.types import dtype_of, format_of
from cir.weights import weights_of

ALIGN = 32  # plan-memory's alignment of arena buffers


@dataclass(frozen=True)
class LaunchSpec:
    """One kernel launch of an op (the ``cir.launches`` entries, as Python values)."""

    kernel: str
    block_dim: int
    tiling: tuple[int, ...]
    args: tuple[str, ...]
    workspace: int

    @staticmethod
    def of(op: Operation, cpu_layer: bool = False) -> list[LaunchSpec]:
        """The op's launches; `cpu_layer`: with the tiling for the CPU layer's cores where the
        launch has one (what a Session runs on the CPU), else the SoC's."""
        attr = op.attributes.get("cir.launches")
        if not isinstance(attr, ArrayAttr):
            raise CircError(f"{op.name} has no kernels: run lower-to-ascendc first")
        out = []
        for d in attr.data:
            assert isinstance(d, DictionaryAttr)
            f: dict[str, Any] = dict(d.data)
            if cpu_layer and isinstance(f.get("cpu"), DictionaryAttr):
                f |= dict(f["cpu"].data)
            out.append(LaunchSpec(
                kernel=f["kernel"].data,
                block_dim=f["block_dim"].value.data,
                tiling=tuple(v.value.data for v in f["tiling"].data.values()),
                args=tuple(a.data for a in f["args"].data),
                workspace=f["workspace"].value.data,
            ))
        return out


def build_module_library(module: ModuleOp, workdir: Path) -> KernelLibrary:
    """Every kernel of a lowered module, compiled (cached) into one library under `workdir`."""
    soc = module.attributes.get("cir.soc")
    if not isinstance(soc, StringAttr):
        raise CircError("the module has no kernels: run lower-to-ascendc first")
    return KernelLibrary.build(kernel_sources(module), kernel_arities(module), soc.data, workdir)


def layout_shape(shape: tuple[int, ...], fmt: str, itemsize: int) -> tuple[int, ...]:
    """The shape of a buffer in data format `fmt`: its physical layout (C0 / fractal padding
    included); the logical shape for ND and NCHW."""
    return tuple(shape) if fmt in ("ND", "NCHW") else tuple(physical_shape(shape, fmt, itemsize))


def _launches(op: Operation) -> ArrayAttr | None:
    attr = op.attributes.get("cir.launches")
    return attr if isinstance(attr, ArrayAttr) else None


def unshared_plan(module: ModuleOp) -> tuple[dict[Operation, list[int]], int]:
    """A memory plan for ``@main`` in which every value a kernel writes has bytes of its own:
    (arena offsets per op, as plan-memory's ``cir.mem``; arena bytes). A view (an op that
    launches nothing) is its operand's bytes, or outside the arena (-1) when that operand is."""
    offsets: dict[SSAValue, int] = {}
    plan: dict[Operation, list[int]] = {}
    top = 0
    for op in entry_function(module).body.block.ops:
        if isinstance(op, ops.WeightOp | ops.ConstantOp) or not op.results:
            continue
        launches = _launches(op)
        if launches is not None and not launches.data and op.operands:
            offsets[op.results[0]] = offsets.get(op.operands[0], -1)
            plan[op] = [offsets[op.results[0]]]
            continue
        row = []
        for r in op.results:
            t = r.type
            assert isinstance(t, TensorType)
            offsets[r] = top
            row.append(top)
            top += -(-physical_bytes(t.get_shape(), format_of(t), dtype_of(t).itemsize) // ALIGN) * ALIGN
        plan[op] = row
    return plan, top


@contextmanager
def _planned(module: ModuleOp) -> Iterator[None]:
    """`module` carrying the unshared plan (``cir.mem``, ``cir.arena_bytes``), then as it was."""
    plan, arena = unshared_plan(module)
    saved: list[tuple[Operation, Attribute | None]] = [(op, op.attributes.get("cir.mem")) for op in plan]
    saved_arena = module.attributes.get("cir.arena_bytes")
    try:
        for op, row in plan.items():
            op.attributes["cir.mem"] = DenseArrayBase.from_list(i64, row)
        module.attributes["cir.arena_bytes"] = IntegerAttr(arena, i64)
        yield
    finally:
        for op, old in saved:
            if old is None:
                op.attributes.pop("cir.mem", None)
            else:
                op.attributes["cir.mem"] = old
        if saved_arena is None:
            module.attributes.pop("cir.arena_bytes", None)
        else:
            module.attributes["cir.arena_bytes"] = saved_arena


def unshared_launch_graph(module: ModuleOp) -> dict[str, Any]:
    """The launch graph of a lowered module under `unshared_plan` (the module is left as it is)."""
    with _planned(module):
        return to_launch_graph(module)


def graph_weights(module: ModuleOp, graph: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The weights `graph` reads, as a package stores them: a ``cir.weight`` in the IR's element
    type, a table a kernel reads by name as it is."""
    store = weights_of(module)
    out = {w["name"]: np.ascontiguousarray(np.asarray(store[w["name"]]).astype(np_dtype(w["dtype"]), copy=False))
           for w in graph["weights"]}
    for n in graph["nodes"]:
        for a in n["args"]:
            if a["kind"] == "weight" and a["name"] not in out:
                out[a["name"]] = np.ascontiguousarray(store[a["name"]])
    return out


def poison(ex: Executor, ctx: Context) -> None:
    """Fill every value a kernel writes with NaN (what NaN casts to for integer types)."""
    for s in ex.steps:
        if s.host is not None:
            continue
        for a in s.node["args"]:
            if a.get("role") == "out" and a["kind"] == "arena":
                buf = ctx.buffer(a).view(np_dtype(a["dtype"]))
                with np.errstate(invalid="ignore"):
                    buf[...] = np.full(buf.shape, np.nan, dtype=buf.dtype)


def run_lowered(module: ModuleOp, inputs: Mapping[str, np.ndarray], workdir: Path,
                library: KernelLibrary | None = None) -> dict[str, np.ndarray]:
    """Execute a lowered module's ``@main`` through its kernels on the runtime's executor.
    Outputs are in their buffers' layout (`layout_shape`: physical for 5HD / fractal types)."""
    if not isinstance(module.attributes.get("cir.soc"), StringAttr):
        raise CircError("the module has no kernels: run lower-to-ascendc first")
    args = check_inputs(entry_function(module), inputs)
    graph = unshared_launch_graph(module)
    lib = library or build_module_library(module, workdir)
    ex = Executor(graph, lib, graph_weights(module, graph))
    ctx = ex.context()
    for t, a in zip(graph["inputs"], args, strict=True):
        ctx.set_input(t["name"], np.ascontiguousarray(a))
    poison(ex, ctx)
    ex.run(ctx)
    out = {}
    for o in graph["outputs"]:
        if o["kind"] != "arena":
            out[o["name"]] = ex.output(ctx, o)
            continue
        dtype = np_dtype(o["dtype"])
        raw = ctx.buffer(o).view(dtype)
        out[o["name"]] = raw.reshape(layout_shape(tuple(o["shape"]), o["format"], dtype.itemsize)).copy()
    return out


__all__ = ["LaunchSpec", "build_module_library", "run_lowered", "unshared_launch_graph"]
