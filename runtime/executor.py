"""The executor core: a kernel-launch graph run over a `KernelLibrary` on the host.

A launch graph (the format of a package's ``graph/launch.json``) lists nodes in execution
order. A kernel node launches ``kernel`` with its blockDim and its arguments' addresses, then
the workspace and the tiling struct; a host node (``"engine": "host"``) evaluates one CIR op on
the host CPU (`cir.runtime.host`) over the buffers a kernel would use. Values live in one arena
(at the memory plan's offsets), in per-request input buffers, in the weights and in the graph's
constants (`Placement` says where each argument kind lives).

`Executor` binds a graph to its library, weights and host nodes; a `Context` is what one request
needs (arena, workspace, input buffers, every argument resolved to an address once), so `run` is
a loop of launches. The Session's CPU device runs here, and through it the report's op-by-op
capture; so does ``run_lowered`` (``cir.app.execute``: a lowered module made into a launch graph,
for the kernel tests). The ACL backend (`cir.runtime.acl`) walks the same `steps` with device
addresses.
"""

from __future__ import annotations

import ctypes
import functools
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from cir.runtime.host import HostNode, host_nodes
from cir.runtime.kernels import KernelLibrary, LaunchBatch
from cir.runtime.package_check import ALIGN, aligned_empty

from cir.errors import CircError
from cir.types import dtype_named

Arg = Mapping[str, Any]  # one argument binding of a node: {"kind", "offset" | "name", "nbytes", ...}


def np_dtype(name: str) -> np.dtype:
    """The numpy dtype of a CIR element type name (f32, f16, i64, ...)."""
    return np.dtype(dtype_named(name).np)


def tiling_bytes(node: Arg) -> bytes:
    """A kernel node's tiling struct (8 zero bytes for a kernel without tiling fields)."""
    return bytes.fromhex(node["tiling_hex"]) or b"\0" * 8


def for_cpu_layer(graph: Mapping[str, Any]) -> dict[str, Any]:
    """`graph` as circ's CPU layer runs it: each kernel node that carries a ``cpu`` tiling (the
    same kernel tiled for the CPU layer's cores, see lower_to_ascendc) takes its blockDim, tiling
    and workspace; the NPU (ACL) runs the SoC's."""
    nodes = [{**n, **n["cpu"]} if n.get("cpu") else n for n in graph["nodes"]]
    return {**graph, "nodes": nodes}


def workspace_bytes(graph: Mapping[str, Any]) -> int:
    """The workspace every launch of `graph` shares: the largest any node asks for."""
    return max([int(n["workspace"]) for n in graph["nodes"]] + [0])


def kernel_arities(graph: Mapping[str, Any]) -> dict[str, int]:
    """Kernel name -> its number of GM arguments (the node's, then workspace and tiling)."""
    return {n["kernel"]: len(n["args"]) + 2 for n in graph["nodes"] if n.get("engine") != "host"}


def aligned_copy(a: np.ndarray) -> np.ndarray:
    """`a` in a new buffer aligned like the arena's."""
    out = aligned_empty(max(a.nbytes, 1)).view(np.uint8)[:a.nbytes].view(a.dtype)
    out[...] = a
    return out


def constants_of(graph: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The graph's constants (stored inline as hex), decoded into aligned buffers."""
    return {c["name"]: aligned_copy(np.frombuffer(bytes.fromhex(c["hex"]), np_dtype(c["dtype"])))
            for c in graph.get("constants", [])}


@dataclass(frozen=True)
class Step:
    """One node of a launch graph, as an executor walks it."""

    index: int
    node: Arg
    host: HostNode | None  # set for a host-fallback node
    tiling: bytes  # a kernel node's tiling struct (empty for a host node)


def steps(graph: Mapping[str, Any], hosts: Mapping[int, HostNode]) -> list[Step]:
    """The nodes of `graph` in execution order; `hosts`: its host nodes by index (`host_nodes`)."""
    return [Step(i, n, hosts[i], b"") if i in hosts else Step(i, n, None, tiling_bytes(n))
            for i, n in enumerate(graph["nodes"])]


class Placement:
    """Where each argument kind lives: the arena's base address and, for the kinds bound by
    name (input, weight, constant), each name's address."""

    def __init__(self, arena: int, named: Mapping[str, Mapping[str, int]]):
        self.arena, self.named = arena, named

    def address(self, arg: Arg) -> int:
        kind = arg["kind"]
        if kind == "arena":
            return self.arena + int(arg["offset"])
        table = self.named.get(kind)
        if table is None:
            raise CircError(f"launch graph: unknown argument kind '{kind}'")
        return table[arg["name"]]


class Context:
    """What one request needs: the arena, workspace, input buffers and every launch's arguments
    resolved (``calls``: (kernel, argument pointers, blockDim), or (None, thunk, 0) for a host
    node)."""

    def __init__(self, ex: Executor):
        graph = ex.graph
        self.arena = aligned_empty(max(int(graph["arena_bytes"]), ALIGN))
        self.workspace = aligned_empty(max(workspace_bytes(graph), ALIGN))
        self.workspace[:] = 0
        self.inputs = {t["name"]: aligned_empty(max(int(np.prod(t["shape"])) * np_dtype(t["dtype"]).itemsize,
                                                    int(t.get("nbytes", 0)), ALIGN))
                       for t in graph["inputs"]}
        self._weights, self._constants = ex.weights, ex.constants
        self.placement = Placement(self.arena.ctypes.data, {
            "input": {n: b.ctypes.data for n, b in self.inputs.items()},
            "weight": ex.weight_addresses,
            "constant": {n: c.ctypes.data for n, c in ex.constants.items()},
        })
        self.calls: list[tuple[str | None, Any, int]] = []
        self._tilings = []  # kept alive: the pointer arrays hold their addresses
        for s in ex.steps:
            if s.host is not None:
                bufs = [self.buffer(a) for a in s.node["args"]]
                self.calls.append((None, functools.partial(s.host, bufs.__getitem__), 0))
                continue
            tiling = np.frombuffer(s.tiling, np.uint8).copy()
            self._tilings.append(tiling)
            ptrs = [self.placement.address(a) for a in s.node["args"]]
            ptrs += [self.workspace.ctypes.data, tiling.ctypes.data]
            self.calls.append((s.node["kernel"], (ctypes.c_void_p * len(ptrs))(*ptrs), int(s.node["block_dim"])))
        # what `run` walks: host thunks and, between them, runs of kernel launches as one C loop
        self.segments: list[Any] = []
        if ex.library is not None:
            run: list[tuple[str, Any, int]] = []
            for kernel, ptrs, block_dim in self.calls:
                if kernel is not None:
                    run.append((kernel, ptrs, block_dim))
                    continue
                if run:
                    self.segments.append(ex.library.batch(run))
                    run = []
                self.segments.append(ptrs)
            if run:
                self.segments.append(ex.library.batch(run))

    def buffer(self, arg: Arg) -> np.ndarray:
        """An argument's bytes (a view, not a copy)."""
        kind, n = arg["kind"], int(arg["nbytes"])
        if kind == "arena":
            return self.arena[int(arg["offset"]):int(arg["offset"]) + n]
        if kind == "input":
            return self.inputs[arg["name"]][:n]
        if kind in ("weight", "constant"):
            src = self._weights[arg["name"]] if kind == "weight" else self._constants[arg["name"]]
            return src.reshape(-1).view(np.uint8)[:n]
        raise CircError(f"launch graph: unknown argument kind '{kind}'")

    def set_input(self, name: str, a: np.ndarray) -> None:
        """Copy `a` (C-contiguous) into input `name`'s buffer."""
        self.inputs[name][:a.nbytes] = a.reshape(-1).view(np.uint8)

    def read(self, arg: Arg) -> np.ndarray:
        """An arena argument's value (a copy) in its logical shape, or flat where its bytes hold a
        physical layout (5HD, fractal)."""
        raw = self.arena[int(arg["offset"]):int(arg["offset"]) + int(arg["nbytes"])]
        dtype = np_dtype(arg["dtype"])
        if int(np.prod(arg["shape"])) * dtype.itemsize != int(arg["nbytes"]):
            return raw.view(dtype).copy()
        return raw.view(dtype).reshape(arg["shape"]).copy()


class Executor:
    """One launch graph bound to what runs it: `library` (None when every node runs on the
    host), the `weights` by name and the host nodes (parsed from the graph when not given)."""

    def __init__(self, graph: Mapping[str, Any], library: KernelLibrary | None,
                 weights: Mapping[str, np.ndarray], hosts: Mapping[int, HostNode] | None = None,
                 where: str = "launch graph"):
        self.graph, self.library, self.weights = graph, library, weights
        self.hosts = dict(hosts) if hosts is not None else host_nodes(graph["nodes"], where)
        self.constants = constants_of(graph)
        self.weight_addresses = {n: w.ctypes.data for n, w in weights.items()}
        if library is not None and library.use_packed_blas():
            # the weights never change while this executor lives: Matmuls may keep them packed
            for n, w in weights.items():
                library.register_constant(self.weight_addresses[n], w.nbytes)
            weakref.finalize(self, _unregister, library, list(self.weight_addresses.values()))
        self.steps = steps(graph, self.hosts)
        if library is None and any(s.host is None for s in self.steps):
            raise CircError(f"{where}: kernel nodes need a kernel library")

    def context(self) -> Context:
        """A new execution context (allocate once, reuse for many runs, one run at a time)."""
        return Context(self)

    def run(self, ctx: Context, profile: list[tuple[int, int, int]] | None = None,
            capture: dict[str, np.ndarray] | None = None) -> None:
        """Every node once, in order. `profile` receives ``(node index, start ns, end ns)`` per
        node; `capture` every arena value a node writes (value name -> array)."""
        launch = self.library.launch_ptrs if self.library is not None else _no_library
        if profile is None and capture is None:
            if self.library is None:  # every node on the host
                for _, thunk, _ in ctx.calls:
                    thunk()
                return
            run_batch = self.library.run_batch
            for seg in ctx.segments:
                if isinstance(seg, LaunchBatch):
                    run_batch(seg)  # consecutive kernels: one call, the loop in C
                else:
                    seg()  # a host-fallback node
            return
        clock = time.perf_counter_ns
        nodes = self.graph["nodes"]
        for i, (kernel, ptrs, block_dim) in enumerate(ctx.calls):
            t0 = clock()
            if kernel is None:
                ptrs()
            else:
                launch(kernel, ptrs, block_dim)
            if profile is not None:
                profile.append((i, t0, clock()))
            if capture is not None:
                for a in nodes[i]["args"]:
                    if a.get("role") == "out" and a["kind"] == "arena":
                        capture[a["value"]] = ctx.read(a)

    def output(self, ctx: Context, o: Arg) -> np.ndarray:
        """Output `o` of the graph (a new array in its shape)."""
        dtype = np_dtype(o["dtype"])
        kind = o["kind"]
        if kind == "arena":
            raw = ctx.arena[int(o["offset"]):int(o["offset"]) + int(o["nbytes"])]
        elif kind == "input":
            raw = ctx.inputs[o["source"]][:int(o["nbytes"])]
        elif kind == "weight":
            return np.array(self.weights[o["source"]]).reshape(o["shape"])
        else:
            return self.constants[o["source"]].copy().reshape(o["shape"])
        return raw.view(dtype).reshape(o["shape"]).copy()

    def outputs(self, ctx: Context) -> dict[str, np.ndarray]:
        return {o["name"]: self.output(ctx, o) for o in self.graph["outputs"]}


def _unregister(library: KernelLibrary, addresses: list[int]) -> None:
    for a in addresses:
        library.unregister_constant(a)


def _no_library(name: str, ptrs: Any, block_dim: int) -> None:
    raise CircError(f"kernel {name}: the executor has no kernel library")


__all__ = [
    "Context",
    "Executor",
    "Placement",
    "Step",
    "aligned_copy",
    "constants_of",
    "for_cpu_layer",
    "kernel_arities",
    "np_dtype",
    "steps",
    "tiling_bytes",
    "workspace_bytes",
]
