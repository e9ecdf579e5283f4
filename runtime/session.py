"""Run a ``model.circ`` package: ``sess = cir.load("unet.circ"); sess.run({"sample": x})``.

A Session reads the package's manifest and kernel-launch graph (``graph/launch.json``) and
executes it on a backend:

- ``cpu``: the package's AscendC kernels compiled against circ's AscendC CPU layer (in
  parallel, cached by source hash and flags; each kernel file is first checked against the
  manifest's sha256), one arena per concurrent request allocated once from the memory plan,
  weights memory-mapped from ``weights.safetensors``. Each node of the launch graph is one
  ``ICPU_RUN_KF`` of a kernel with its blockDim, tiling bytes and argument addresses, all
  resolved when the session loads. Release mode by default: fresh UB is not filled with NaN
  (``debug=True`` or ``$CIRC_ASCENDC_POISON=1`` fill it, so a kernel reading memory it never
  wrote shows as NaN, as the tests run).
- ``npu:N``: ACL through pyACL (``cir.runtime.acl``) when it is importable; otherwise the CPU
  with a warning (``fallback=True``) or a clear error (``fallback=False``).

``run`` validates the inputs (names, shapes, dtypes) and returns named outputs;
``run_async`` returns a future, several requests may be in flight. A Session is safe to share
between threads: requests take an execution context (arena, workspace, input buffers) from a
pool, and kernel launches on one library are serialised (the CPU layer's blocks already use
every core).
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from cir.runtime import acl
from cir.runtime.acl import AclExecutor
from cir.runtime.ascendc_cpu import cache_dir
from cir.runtime.executor import Context, Executor, for_cpu_layer, kernel_arities
from cir.runtime.host import HostNode
from cir.runtime.kernels import KernelLibrary
from cir.runtime.package_check import open_package

from cir.errors import CircError, name_mismatch
from cir.gears import pick
from cir.types import dtype_named


@dataclass(frozen=True)
class TensorInfo:
    """An input or output of a compiled model."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # CIR element type name: f32, f16, i64, ...
    format: str = "ND"

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(dtype_named(self.dtype).np)


class _Gear:
    """One launch graph of a package (the only one without gears) and what runs it: an
    Executor with a pool of contexts on the CPU, an AclExecutor on npu devices."""

    def __init__(self, graph: dict[str, Any], hosts: Mapping[int, HostNode]):
        self.graph, self.hosts = graph, hosts
        self.pool: queue.SimpleQueue[Context] = queue.SimpleQueue()
        self.executor: Executor | None = None
        self.acl: AclExecutor | None = None


class Session:
    """A loaded package (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], device: str = "cpu", fallback: bool = True,
                 max_in_flight: int = 4, jobs: int | None = None, debug: bool = False):
        _check_arguments(path, device, max_in_flight, jobs, debug)
        self.path = Path(path)
        t0 = time.perf_counter()
        self.device = _pick_device(device, fallback)
        checked, self._weights = open_package(self.path)  # every path, hash, size; the signature
        self.manifest, self.graph, self.signer = checked.manifest, checked.graph, checked.signer
        m = self.manifest
        # (shapes with -1 where gears differ: cir.gears)
        self.inputs = [TensorInfo(t["name"], tuple(t["shape"]), t["dtype"], t.get("format", "ND"))
                       for t in m["inputs"]]
        self.outputs = [TensorInfo(t["name"], tuple(t["shape"]), t["dtype"], t.get("format", "ND"))
                        for t in m["outputs"]]
        #: the input shapes the package serves, one dict per gear (None: only `inputs`' shapes)
        self.gears: list[dict[str, tuple[int, ...]]] | None = (
            [{n: tuple(s) for n, s in g["inputs"].items()} for g in m["gears"]] if "gears" in m else None)
        self._gears = [_Gear(graph, hosts) for graph, hosts in zip(checked.graphs, checked.gear_hosts, strict=True)]
        self._sources = checked.kernel_sources
        self._library = None
        if self.device.startswith("npu"):
            for g in self._gears:
                g.acl = AclExecutor(self.path, g.graph, self._weights, _device_id(self.device), g.hosts)
        else:
            self._library = self._load_kernels(jobs, debug)
            for g in self._gears:
                g.graph = for_cpu_layer(g.graph)  # the kernels' tilings for the CPU layer's cores
                g.executor = Executor(g.graph, self._library, self._weights, g.hosts, str(self.path))
        self._lock = threading.Lock()
        self._contexts = 0
        self._max = max(1, max_in_flight)
        self._ctx_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=self._max, thread_name_prefix="circ-session")
        self.load_seconds = time.perf_counter() - t0

    # --- loading -----------------------------------------------------------------------

    def _load_kernels(self, jobs: int | None, debug: bool) -> KernelLibrary | None:
        sources = self._sources  # checked against the signed manifest
        arities: dict[str, int] = {}
        for g in self._gears:
            arities.update(kernel_arities(g.graph))
        unknown = sorted(set(arities) - set(sources))
        if unknown:
            raise CircError(f"{self.path}: the launch graph uses kernels the package lacks: {', '.join(unknown[:5])}")
        digest = hashlib.sha256("".join(sorted(k["sha256"] for k in self.manifest["kernels"])).encode()).hexdigest()[:16]
        workdir = cache_dir() / "packages" / digest
        if not arities:  # every op on the host fallback
            return None
        return KernelLibrary.build({k: sources[k] for k in arities}, arities, self.manifest["soc"], workdir,
                                   jobs, poison=debug)

    # --- running -----------------------------------------------------------------------

    def _context(self, gear: _Gear, executor: Executor) -> Context:
        try:
            return gear.pool.get_nowait()
        except queue.Empty:
            return executor.context()

    def _gear(self, arrays: Mapping[str, np.ndarray]) -> _Gear:
        if self.gears is None:
            return self._gears[0]
        return self._gears[pick(self.gears, {n: a.shape for n, a in arrays.items()})]

    def _check(self, feeds: Mapping[str, Any]) -> dict[str, np.ndarray]:
        if not isinstance(feeds, Mapping):
            raise CircError("inputs must be a mapping of input name -> array")
        names = [t.name for t in self.inputs]
        problem = name_mismatch(feeds, names)
        if problem:
            raise CircError(f"{problem} (the model takes {', '.join(names)})")
        out = {}
        for t in self.inputs:
            a = as_input_array(t, feeds[t.name])
            if self.gears is None and tuple(a.shape) != t.shape:
                raise CircError(f"input '{t.name}' has shape {tuple(a.shape)}, expected {t.shape}")
            out[t.name] = np.ascontiguousarray(a)
        self._gear(out)  # shapes outside the gears fail here, naming the allowed ones
        return out

    def run(self, feeds: Mapping[str, Any], *, profile: list[tuple[int, int, int]] | None = None,
            capture: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Run the model on named arrays; returns named outputs (new arrays).

        `profile`: a list that receives ``(node index, start ns, end ns)`` per kernel launch.
        `capture`: a dict that receives every value a kernel writes (launch-graph value name ->
        array), for op-by-op comparison.
        """
        return self._run_checked(self._check(feeds), profile, capture)

    def _run_checked(self, arrays: dict[str, np.ndarray], profile: list[tuple[int, int, int]] | None = None,
                     capture: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        gear = self._gear(arrays)
        if gear.acl is not None:
            with self._lock:
                return gear.acl.run(arrays)
        executor = gear.executor
        assert executor is not None  # a CPU session
        ctx = self._context(gear, executor)
        try:
            for name, a in arrays.items():
                ctx.set_input(name, a)
            with self._lock:
                executor.run(ctx, profile, capture)
            return executor.outputs(ctx)
        finally:
            gear.pool.put(ctx)

    def run_async(self, feeds: Mapping[str, Any]) -> Future[dict[str, np.ndarray]]:
        """Start a run; the future holds the outputs (or the error)."""
        arrays = self._check(feeds)  # bad input fails here, not inside the future
        return self._executor.submit(self._run_checked, arrays)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        for g in self._gears:
            if g.acl is not None:
                g.acl.close()

    def __enter__(self) -> Session:  # noqa: PYI034 - Session is not subclassed
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def debug(self) -> bool:
        """Is the CPU layer in debug mode (fresh UB filled with NaN) for this session's kernels?"""
        return self._library is not None and self._library.poisons

    @property
    def packed_matmuls(self) -> int | None:
        """How many Matmul products so far multiplied a prepacked weight (the CPU layer with
        MKL's packed GEMM from the PyTorch wheel); None when the weights are not kept packed
        (no such BLAS, ``$CIRC_CPU_GEMM=openblas``, or not on the CPU)."""
        if self._library is None or not self._library.packs_constants:
            return None
        return self._library.packed_calls()

    def __repr__(self) -> str:
        ins = ", ".join(f"{t.name}{list(t.shape)}:{t.dtype}" for t in self.inputs)
        return f"<circ Session {self.path.name} on {self.device}: ({ins})>"


def as_input_array(t: TensorInfo, x: Any) -> np.ndarray:
    """`x` as the array input `t` takes. An array must have exactly the input's dtype (a float64
    or float16 array for an f32 input is a mistake worth hearing about, not a silent cast);
    Python numbers and (nested) lists are converted when that loses nothing but float rounding."""
    want = t.np_dtype
    if hasattr(x, "dtype"):  # numpy arrays and scalars, framework tensors
        try:
            a = np.asarray(x)
        except (TypeError, ValueError, RuntimeError) as e:
            raise CircError(f"input '{t.name}' cannot be read as an array ({e})") from None
        if a.dtype != want:
            raise CircError(f"input '{t.name}' has dtype {a.dtype}, expected {want} ({t.dtype}); "
                            f"cast it first, e.g. x.astype(np.{want})")
        return a
    try:
        a = np.asarray(x)
    except (TypeError, ValueError, OverflowError) as e:
        raise CircError(f"input '{t.name}' is not a rectangular array of numbers ({e})") from None
    if a.dtype.kind not in "biuf":
        raise CircError(f"input '{t.name}' holds {a.dtype.name} values, expected {t.dtype} numbers")
    if a.dtype.kind == "f" and want.kind != "f":
        raise CircError(f"input '{t.name}' holds floats, expected {t.dtype} integers")
    with np.errstate(all="ignore"):
        converted = a.astype(want)
    if want.kind != "f" and not np.array_equal(converted.astype(a.dtype), a):
        raise CircError(f"input '{t.name}' has values out of the range of {t.dtype}")
    return converted


def _check_arguments(path: Any, device: Any, max_in_flight: Any, jobs: Any, debug: Any) -> None:
    """The Python API's own argument checks: a wrong type is a CircError, not a TypeError."""
    if not isinstance(path, str | os.PathLike) or not isinstance(os.fspath(path), str):
        raise CircError(f"load: the package must be a path (str or os.PathLike), got {type(path).__name__}")
    if "\0" in os.fspath(path):
        raise CircError(f"load: the package path {os.fspath(path)!r} holds a NUL byte")
    if not isinstance(device, str):
        raise CircError(f"load: device must be 'cpu' or 'npu:N', got {device!r}")
    for name, v in (("max_in_flight", max_in_flight), ("jobs", jobs)):
        if v is not None and (type(v) is not int or v < 1):
            raise CircError(f"load: {name} must be a positive integer, got {v!r}")
    if not isinstance(debug, bool):
        raise CircError(f"load: debug must be True or False, got {debug!r}")


def _pick_device(device: str, fallback: bool) -> str:
    if device == "cpu":
        return "cpu"
    if not device.startswith("npu"):
        raise CircError(f"unknown device '{device}' (use 'cpu' or 'npu:N')")
    _device_id(device)
    reason = acl.unavailable_reason()
    if reason is None:
        return device
    if not fallback:
        raise CircError(f"device '{device}' is not available: {reason} (pass fallback=True to run on the CPU)")
    warnings.warn(f"device '{device}' is not available ({reason}); running on the CPU", RuntimeWarning, stacklevel=3)
    return "cpu"


def _device_id(device: str) -> int:
    _, _, n = device.partition(":")
    if not n.isdigit():
        raise CircError(f"bad device '{device}': use 'npu:N' with N the device number")
    return int(n)


def load(path: str | os.PathLike[str], device: str = "cpu", fallback: bool = True, **kw: Any) -> Session:
    """Load a package for running. ``device``: "cpu" or "npu:N" (ACL; falls back to the CPU with a
    warning when ACL is not available and ``fallback`` is true)."""
    return Session(path, device, fallback, **kw)
