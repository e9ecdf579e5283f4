"""Compiled kernels of a lowered module, and an op-by-op executor over them.

``KernelLibrary.build`` prints every ``ascendc.kernel`` of a module with its host launcher,
compiles each to an object through the CPU layer's cache (in parallel; a kernel compiled once
is never compiled again, whatever model it came from) and links them into one shared library.
``run_lowered`` executes ``@main`` by launching each op's kernels on numpy buffers: the
reference for the runtime's arena-based executor and what the kernel tests use.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from cir.runtime import ascendc_cpu
from xdsl.dialects.builtin import ModuleOp, TensorType

from cir.errors import CircError


@dataclass(frozen=True)
class LaunchSpec:
    """One kernel launch of an op (the ``cir.launches`` entries, as Python values)."""

    kernel: str
    block_dim: int
    tiling: tuple[int, ...]
    args: tuple[str, ...]
    workspace: int

    @staticmethod
    def of(op: Any) -> list[LaunchSpec]:
        attr = op.attributes.get("cir.launches")
        if attr is None:
            raise CircError(f"{op.name} has no kernels: run lower-to-ascendc first")
        out = []
        for d in attr.data:
            f = d.data
            out.append(LaunchSpec(
                kernel=f["kernel"].data,
                block_dim=f["block_dim"].value.data,
                tiling=tuple(v.value.data for v in f["tiling"].data.values()),
                args=tuple(a.data for a in f["args"].data),
                workspace=f["workspace"].value.data,
            ))
        return out


class KernelLibrary:
    """One shared library holding a set of kernels, each callable as ``launch(name, ...)``."""

    def __init__(self, path: Path, names: Sequence[str]):
        self.path = path
        self._lib = ctypes.CDLL(str(path))
        self._fns = {}
        for n in names:
            fn = getattr(self._lib, f"circ_launch_{n}")
            fn.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
            fn.restype = ctypes.c_int
            self._fns[n] = fn

    @classmethod
    def build(cls, sources: Mapping[str, str], arities: Mapping[str, int], soc: str,
              workdir: Path, jobs: int | None = None) -> KernelLibrary:
        """Write, compile (cached, in parallel) and link `sources` (kernel name -> C++)."""
        from cir.lowering.launcher import launcher_text

        workdir.mkdir(parents=True, exist_ok=True)
        flags = ascendc_cpu.soc_defines(soc)
        launchers = []
        for name, text in sources.items():
            src = workdir / f"{name}.cpp"
            if not src.exists() or src.read_text() != text:
                src.write_text(text)
            ln = workdir / f"{name}_launch.cpp"
            lt = launcher_text(name, arities[name], src.name)
            if not ln.exists() or ln.read_text() != lt:
                ln.write_text(lt)
            launchers.append((ln, src))
        jobs = jobs or os.cpu_count() or 2
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            objects = list(pool.map(
                lambda pair: ascendc_cpu.compile_object(pair[0], flags, depends=[pair[1]]), launchers))
        digest = hashlib.sha256(b"".join(o.name.encode() for o in objects)).hexdigest()[:16]
        lib = ascendc_cpu.link_shared(objects, workdir / f"kernels-{digest}.so")  # dlopen caches by path
        return cls(lib, list(sources))

    def launch(self, name: str, buffers: Sequence[int], block_dim: int) -> None:
        self.launch_ptrs(name, (ctypes.c_void_p * len(buffers))(*buffers), block_dim)

    def launch_ptrs(self, name: str, ptrs: Any, block_dim: int) -> None:
        """Launch with a prepared ``(c_void_p * n)`` argument array."""
        if self._fns[name](ptrs, block_dim) != 0:
            raise CircError(f"kernel {name} stopped (the AscendC CPU layer's message is above)")


def build_module_library(module: ModuleOp, workdir: Path) -> KernelLibrary:
    soc = module.attributes.get("cir.soc")
    if soc is None:
        raise CircError("the module has no kernels: run lower-to-ascendc first")
    from cir.lowering.cpp import kernel_arities, kernel_sources

    return KernelLibrary.build(kernel_sources(module), kernel_arities(module), soc.data, workdir)


def buffer_shape(t: TensorType) -> tuple[int, ...]:
    """The shape of a tensor's buffer: its physical layout (C0 / fractal padding included)."""
    from cir.formats import physical_shape
    from cir.types import dtype_of, format_of

    fmt = format_of(t)
    return t.get_shape() if fmt in ("ND", "NCHW") else physical_shape(t.get_shape(), fmt, dtype_of(t).itemsize)


def run_lowered(module: ModuleOp, inputs: Mapping[str, np.ndarray], workdir: Path,
                library: KernelLibrary | None = None) -> dict[str, np.ndarray]:
    """Execute a lowered module's ``@main`` op by op through its kernels on numpy buffers."""
    from cir.lowering.lower_to_ascendc import host_launch

    from cir.interpreter import CirFunctions, constant_array, evaluate_op
    from cir.signature import check_inputs, entry_function, output_names
    from cir.types import dtype_of
    from cir.weights import weights_of

    lib = library or build_module_library(module, workdir)
    store = weights_of(module)
    f = entry_function(module)
    args = check_inputs(f, inputs)
    env: dict[int, np.ndarray] = {id(a): np.ascontiguousarray(x) for a, x in zip(f.body.block.args, args)}
    weights = CirFunctions(store)  # type: ignore[call-arg]
    for op in f.body.block.ops:
        if op.name == "func.return":
            return dict(zip(output_names(f), (env[id(v)] for v in op.operands)))
        if op.name == "cir.weight":
            env[id(op.results[0])] = np.ascontiguousarray(weights.run_weight(None, op, ()).values[0])
            continue
        if op.name == "cir.constant":
            env[id(op.results[0])] = np.ascontiguousarray(constant_array(op))
            continue
        if host_launch(op) is not None:  # the host fallback: the reference kernel, as the runtime runs it

            for r, x in zip(op.results, evaluate_op(op, [env[id(v)] for v in op.operands]), strict=True):
                env[id(r)] = x
            continue
        specs = LaunchSpec.of(op)
        if not specs:  # a view
            t = op.results[0].type
            assert isinstance(t, TensorType)
            env[id(op.results[0])] = env[id(op.operands[0])].reshape(t.get_shape())
            continue
        for r in op.results:
            t = r.type
            assert isinstance(t, TensorType)
            env[id(r)] = np.full(buffer_shape(t), np.nan, dtype=dtype_of(t).np)
        for spec in specs:
            buffers: list[np.ndarray] = []
            for binding in spec.args:
                kind, _, what = binding.partition(":")
                if kind == "operand":
                    buffers.append(env[id(op.operands[int(what)])])
                elif kind == "result":
                    buffers.append(env[id(op.results[int(what)])])
                else:
                    buffers.append(np.ascontiguousarray(store[what]))
            buffers.append(np.zeros(max(spec.workspace, 64), np.uint8))
            buffers.append(np.array(spec.tiling, np.int64))
            lib.launch(spec.kernel, [b.ctypes.data for b in buffers], spec.block_dim)
    raise CircError("@main has no return")
