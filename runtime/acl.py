"""The ACL backend: run a package's launch graph on an Ascend NPU through pyACL.

Untested here (circ's machines have no NPU and no CANN); kept thin, with the whole call
sequence in `AclExecutor`: ``acl.init`` -> ``acl.rt.set_device`` -> ``create_context`` /
``create_stream`` -> one device buffer each for the arena, workspace, weights, constants and
inputs (``acl.rt.malloc``, weights copied once with ``acl.rt.memcpy``) -> per run: copy inputs
host->device, call each kernel's ``aclrtlaunch_<kernel>(blockDim, stream, args...,
workspace, tiling)`` stub (from the library built by the package's ``kernels/CMakeLists.txt``),
``acl.rt.synchronize_stream``, copy outputs device->host -> teardown in reverse order.
A host-fallback node (``cir.runtime.host``) synchronises the stream, copies its operands to the
host, evaluates the op there and copies its results back.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from cir.runtime.host import HostNode

from cir.errors import CircError

MEMCPY_HOST_TO_DEVICE, MEMCPY_DEVICE_TO_HOST = 1, 2
MALLOC_HUGE_FIRST = 0
LIBRARY = "kernels/out/lib/libcirc_kernels.so"


def unavailable_reason() -> str | None:
    """None when pyACL can be imported; otherwise why not."""
    try:
        import acl  # type: ignore[import-not-found]  # noqa: F401
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
        import acl  # type: ignore[import-not-found]

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
        self.buffers: dict[str, int] = {}
        self.arena = self._malloc(max(int(graph["arena_bytes"]), 32))
        self.workspace = self._malloc(max([n["workspace"] for n in graph["nodes"]] + [32]))
        for name, arr in weights.items():
            self.buffers[f"weight:{name}"] = self._upload(np.ascontiguousarray(arr))
        for t in graph["inputs"]:
            self.buffers[f"input:{t['name']}"] = self._malloc(max(int(t["nbytes"]), 32))
        self.tilings = [self._upload(np.frombuffer(bytes.fromhex(n["tiling_hex"]), np.uint8))
                        for n in graph["nodes"]]

    def _malloc(self, nbytes: int) -> int:
        ptr, ret = self.acl.rt.malloc(nbytes, MALLOC_HUGE_FIRST)
        _check(ret, f"malloc({nbytes})")
        return ptr

    def _upload(self, arr: np.ndarray) -> int:
        ptr = self._malloc(max(arr.nbytes, 32))
        _check(self.acl.rt.memcpy(ptr, arr.nbytes, arr.ctypes.data, arr.nbytes, MEMCPY_HOST_TO_DEVICE), "memcpy")
        return ptr

    def _address(self, arg: dict[str, Any]) -> int:
        if arg["kind"] == "arena":
            return self.arena + int(arg["offset"])
        return self.buffers[f"{arg['kind']}:{arg['name']}"]

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        acl = self.acl
        for name, a in inputs.items():
            _check(acl.rt.memcpy(self.buffers[f"input:{name}"], a.nbytes, a.ctypes.data, a.nbytes,
                                 MEMCPY_HOST_TO_DEVICE), f"memcpy input {name}")
        for i, (node, tiling) in enumerate(zip(self.graph["nodes"], self.tilings)):
            if i in self.hosts:
                self._run_host(self.hosts[i], node)
                continue
            fn = getattr(self.lib, f"aclrtlaunch_{node['kernel']}")
            ptrs = [ctypes.c_void_p(self._address(a)) for a in node["args"]]
            _check(fn(ctypes.c_uint32(node["block_dim"]), ctypes.c_void_p(self.stream), *ptrs,
                      ctypes.c_void_p(self.workspace), ctypes.c_void_p(tiling)), f"launch {node['kernel']}")
        _check(acl.rt.synchronize_stream(self.stream), "synchronize_stream")
        outs = {}
        for o in self.graph["outputs"]:
            host = np.empty(o["shape"], dtype=o["dtype"] if o["dtype"] != "f32" else np.float32)
            _check(acl.rt.memcpy(host.ctypes.data, host.nbytes, self._address(o), host.nbytes,
                                 MEMCPY_DEVICE_TO_HOST), f"memcpy output {o['name']}")
            outs[o["name"]] = host
        return outs

    def _run_host(self, host: HostNode, node: Mapping[str, Any]) -> None:
        acl = self.acl
        _check(acl.rt.synchronize_stream(self.stream), "synchronize_stream")
        bufs = [np.empty(int(a["nbytes"]), np.uint8) for a in node["args"]]
        for a, b in zip(node["args"][:host.n_in], bufs, strict=False):
            _check(acl.rt.memcpy(b.ctypes.data, b.nbytes, self._address(a), b.nbytes, MEMCPY_DEVICE_TO_HOST),
                   f"memcpy to host for {host.name}")
        host(bufs.__getitem__)
        for a, b in zip(node["args"][host.n_in:], bufs[host.n_in:], strict=True):
            _check(acl.rt.memcpy(self._address(a), b.nbytes, b.ctypes.data, b.nbytes, MEMCPY_HOST_TO_DEVICE),
                   f"memcpy from host for {host.name}")

    def close(self) -> None:
        acl = self.acl
        for ptr in [self.arena, self.workspace, *self.buffers.values(), *self.tilings]:
            acl.rt.free(ptr)
        acl.rt.destroy_stream(self.stream)
        acl.rt.destroy_context(self.context)
        acl.rt.reset_device(self.device_id)
        acl.finalize()
