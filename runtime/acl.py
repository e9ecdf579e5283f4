"""The ACL backend: run a package's launch graph on an Ascend NPU through pyACL.

Untested here (circ's machines have no NPU and no CANN); kept thin, with the whole call
sequence in `AclExecutor`: ``acl.init`` -> ``acl.rt.set_device`` -> ``create_context`` /
``create_stream`` -> one device buffer each for the arena, workspace, weights, constants and
inputs (``acl.rt.malloc``, weights copied once with ``acl.rt.memcpy``) -> per run: copy inputs
host->device, call each kernel's ``aclrtlaunch_<kernel>(blockDim, stream, args...,
workspace, tiling)`` stub (from the library built by the package's ``kernels/CMakeLists.txt``),
``acl.rt.synchronize_stream``, copy outputs device->host -> teardown in reverse order.
The walk (`cir.runtime.executor.steps`) and where each argument lives (`Placement`, here with
device addresses) are the executor core's. A host-fallback node (``cir.runtime.host``)
synchronises the stream, copies its operands to the host, evaluates the op there and copies its
results back.
"""

from __future__ import annotations

import ctypes
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from cir.runtime.executor import Placement, Step, constants_of, np_dtype, steps, workspace_bytes
from cir.runtime.host import HostNode

from cir.errors import CircError

MEMCPY_HOST_TO_DEVICE, MEMCPY_DEVICE_TO_HOST = 1, 2
MALLOC_HUGE_FIRST = 0
LIBRARY = "kernels/out/lib/libcirc_kernels.so"


def unavailable_reason() -> str | None:
    """None when pyACL can be imported; otherwise why not."""
    try:
        importlib.import_module("acl")
    except ImportError:
        return "pyACL (the CANN toolkit's 'acl' module) is not installed"
    return None


def _check(ret: int, what: str) -> None:
    if ret != 0:
        raise CircError(f"ACL: {what} failed with error {ret}")


class AclExecutor:
    """Executes one package's launch graph on device `device_id`."""

    def __init__(self, package: Path, graph: dict[str, Any], weights: Mapping[str, np.ndarray],
                 device_id: int = 0, hosts: Mapping[int, HostNode] | None = None):
        acl: Any = importlib.import_module("acl")  # pyACL (by name: this file is acl.py too)
        self.acl, self.graph, self.hosts = acl, graph, dict(hosts or {})
        lib = package / LIBRARY
        if not lib.is_file():
            raise CircError(f"{lib}: build the kernels for the NPU first "
                            f"(cmake -S {package / 'kernels'} -B {package / 'kernels/build'} && cmake --build ...)")
        self.lib = ctypes.CDLL(str(lib))
        _check(acl.init(), "acl.init")
        self.device_id = device_id
        _check(acl.rt.set_device(device_id), f"set_device({device_id})")
        self.context, ret = acl.rt.create_context(device_id)
        _check(ret, "create_context")
        self.stream, ret = acl.rt.create_stream()
        _check(ret, "create_stream")
        self.allocations: list[int] = []
        self.arena = self._malloc(max(int(graph["arena_bytes"]), 32))
        self.workspace = self._malloc(max(workspace_bytes(graph), 32))
        named: dict[str, dict[str, int]] = {"input": {}, "weight": {}, "constant": {}}
        for name, arr in weights.items():
            named["weight"][name] = self._upload(np.ascontiguousarray(arr))
        for name, arr in constants_of(graph).items():
            named["constant"][name] = self._upload(arr)
        for t in graph["inputs"]:
            named["input"][t["name"]] = self._malloc(max(int(t["nbytes"]), 32))
        self.placement = Placement(self.arena, named)
        self.steps = steps(graph, self.hosts)
        self.tilings = [self._upload(np.frombuffer(s.tiling, np.uint8)) for s in self.steps]

    def _malloc(self, nbytes: int) -> int:
        ptr, ret = self.acl.rt.malloc(nbytes, MALLOC_HUGE_FIRST)
        _check(ret, f"malloc({nbytes})")
        self.allocations.append(ptr)
        return ptr

    def _upload(self, arr: np.ndarray) -> int:
        ptr = self._malloc(max(arr.nbytes, 32))
        _check(self.acl.rt.memcpy(ptr, arr.nbytes, arr.ctypes.data, arr.nbytes, MEMCPY_HOST_TO_DEVICE), "memcpy")
        return ptr

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        acl = self.acl
        for name, a in inputs.items():
            _check(acl.rt.memcpy(self.placement.named["input"][name], a.nbytes, a.ctypes.data, a.nbytes,
                                 MEMCPY_HOST_TO_DEVICE), f"memcpy input {name}")
        for step, tiling in zip(self.steps, self.tilings, strict=True):
            node = step.node
            if step.host is not None:
                self._run_host(step)
                continue
            fn = getattr(self.lib, f"aclrtlaunch_{node['kernel']}")
            ptrs = [ctypes.c_void_p(self.placement.address(a)) for a in node["args"]]
            _check(fn(ctypes.c_uint32(node["block_dim"]), ctypes.c_void_p(self.stream), *ptrs,
                      ctypes.c_void_p(self.workspace), ctypes.c_void_p(tiling)), f"launch {node['kernel']}")
        _check(acl.rt.synchronize_stream(self.stream), "synchronize_stream")
        outs = {}
        for o in self.graph["outputs"]:
            host = np.empty(o["shape"], dtype=np_dtype(o["dtype"]))
            where = self.placement.address({**o, "name": o.get("source", o["name"])})
            _check(acl.rt.memcpy(host.ctypes.data, host.nbytes, where, host.nbytes, MEMCPY_DEVICE_TO_HOST),
                   f"memcpy output {o['name']}")
            outs[o["name"]] = host
        return outs

    def _run_host(self, step: Step) -> None:
        acl, host, node = self.acl, step.host, step.node
        assert host is not None
        _check(acl.rt.synchronize_stream(self.stream), "synchronize_stream")
        bufs = [np.empty(int(a["nbytes"]), np.uint8) for a in node["args"]]
        for a, b in zip(node["args"][:host.n_in], bufs, strict=False):
            _check(acl.rt.memcpy(b.ctypes.data, b.nbytes, self.placement.address(a), b.nbytes, MEMCPY_DEVICE_TO_HOST),
                   f"memcpy to host for {host.name}")
        host(bufs.__getitem__)
        for a, b in zip(node["args"][host.n_in:], bufs[host.n_in:], strict=True):
            _check(acl.rt.memcpy(self.placement.address(a), b.nbytes, b.ctypes.data, b.nbytes, MEMCPY_HOST_TO_DEVICE),
                   f"memcpy from host for {host.name}")

    def close(self) -> None:
        acl = self.acl
        for ptr in self.allocations:
            acl.rt.free(ptr)
        acl.rt.destroy_stream(self.stream)
        acl.rt.destroy_context(self.context)
        acl.rt.reset_device(self.device_id)
        acl.finalize()
