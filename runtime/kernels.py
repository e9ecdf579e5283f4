"""Compiled kernels: one shared library of AscendC kernels for the CPU layer.

``KernelLibrary.build`` writes each kernel's C++ (kernel name -> source, as a package's
``kernels/`` holds them) with its host launcher (`cir.runtime.launcher`), compiles each to an
object through the CPU layer's cache (in parallel; a kernel compiled once is never compiled
again, whatever model it came from) and links them into one shared library, whose kernels
`cir.runtime.executor` launches.
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

from cir.runtime import ascendc_cpu
from cir.runtime.launcher import launcher_text

from cir.errors import CircError


@dataclass(frozen=True)
class LaunchBatch:
    """Consecutive kernel launches prepared for `KernelLibrary.run_batch`: their launchers,
    argument arrays and blockDims as C arrays (`keep` holds the argument arrays alive)."""

    names: list[str]
    fns: Any
    args: Any
    dims: Any
    keep: list[Any]


class KernelLibrary:
    """One shared library holding a set of kernels, each callable as ``launch(name, ...)``."""

    def __init__(self, path: Path, names: Sequence[str], *, poison: bool = True):
        self.path = path
        self._lib = ctypes.CDLL(str(path))
        # Debug mode fills fresh UB with 0xFF (NaN), so a kernel reading what it never wrote
        # shows; release mode skips the fill (~10% of a CNN's time). $CIRC_ASCENDC_POISON wins
        # (the tests set it to 1). The mode belongs to the library: sessions sharing one share it.
        if "CIRC_ASCENDC_POISON" not in os.environ:
            self._lib.circ_ascendc_cpu_set_poison(int(poison))
        self._packed = False
        self._run = self._lib.circ_ascendc_cpu_run_launches
        self._run.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self._run.restype = ctypes.c_int
        self._fns = {}
        for n in names:
            fn = getattr(self._lib, f"circ_launch_{n}")
            fn.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
            fn.restype = ctypes.c_int
            self._fns[n] = fn

    @classmethod
    def build(cls, sources: Mapping[str, str], arities: Mapping[str, int], soc: str,
              workdir: Path, jobs: int | None = None, *, poison: bool = True) -> KernelLibrary:
        """Write, compile (cached, in parallel) and link `sources` (kernel name -> C++)."""
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
        return cls(lib, list(sources), poison=poison)

    @property
    def packs_constants(self) -> bool:
        """Do this library's Matmuls multiply constant operands prepacked (see `use_packed_blas`)?"""
        return self._packed

    def use_packed_blas(self) -> bool:
        """Load a BLAS with a packed-operand API for the Matmuls whose weight lies in a registered
        constant buffer: MKL's cblas_sgemm_pack / cblas_sgemm_compute, which the PyTorch wheel's
        libtorch_cpu.so exports (found without importing torch). ``$CIRC_CPU_GEMM=openblas`` keeps
        every Matmul on OpenBLAS. True when it is in use."""
        choice = os.environ.get("CIRC_CPU_GEMM", "auto")
        if choice not in ("auto", "openblas"):
            raise CircError(f"CIRC_CPU_GEMM={choice!r}: expected 'auto' or 'openblas'")
        if choice == "openblas" or not hasattr(self._lib, "circ_ascendc_cpu_use_packed_blas"):
            return False
        path = _torch_cpu_library()
        if path is None:
            return False
        use = self._lib.circ_ascendc_cpu_use_packed_blas
        use.argtypes, use.restype = [ctypes.c_char_p], ctypes.c_int
        self._packed = bool(use(str(path).encode()))
        if self._packed:
            self._lib.circ_ascendc_cpu_register_const.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
            self._lib.circ_ascendc_cpu_unregister_const.argtypes = [ctypes.c_void_p]
        return self._packed

    def register_constant(self, address: int, nbytes: int) -> None:
        """[address, address + nbytes) never changes until `unregister_constant`: a Matmul may
        keep its operand from there packed."""
        if self._packed:
            self._lib.circ_ascendc_cpu_register_const(address, nbytes)

    def unregister_constant(self, address: int) -> None:
        """Before the buffer at `address` is freed or changed: its packed copies go."""
        if self._packed:
            self._lib.circ_ascendc_cpu_unregister_const(address)

    def packed_calls(self) -> int:
        """Matmul products computed with a prepacked constant operand so far (in this process)."""
        if not hasattr(self._lib, "circ_ascendc_cpu_packed_calls"):
            return 0
        f = self._lib.circ_ascendc_cpu_packed_calls
        f.restype = ctypes.c_longlong
        return int(f())

    @property
    def poisons(self) -> bool:
        """Does this library fill fresh UB with 0xFF (debug mode)?"""
        return bool(self._lib.circ_ascendc_cpu_poison())

    def launch(self, name: str, buffers: Sequence[int], block_dim: int) -> None:
        self.launch_ptrs(name, (ctypes.c_void_p * len(buffers))(*buffers), block_dim)

    def batch(self, calls: Sequence[tuple[str, Any, int]]) -> LaunchBatch:
        """`calls` ((kernel, prepared argument array, blockDim) each) as one C-side loop."""
        fns = (ctypes.c_void_p * len(calls))(*(ctypes.cast(self._fns[k], ctypes.c_void_p).value for k, _, _ in calls))
        args = (ctypes.c_void_p * len(calls))(*(ctypes.addressof(p) for _, p, _ in calls))
        dims = (ctypes.c_uint32 * len(calls))(*(d for _, _, d in calls))
        return LaunchBatch([k for k, _, _ in calls], fns, args, dims, [p for _, p, _ in calls])

    def run_batch(self, b: LaunchBatch) -> None:
        """The batch's launches in order, without returning to Python between them."""
        failed = self._run(len(b.names), b.fns, b.args, b.dims)
        if failed:
            raise CircError(f"kernel {b.names[failed - 1]} stopped (the AscendC CPU layer's message is above)")

    def launch_ptrs(self, name: str, ptrs: Any, block_dim: int) -> None:
        """Launch with a prepared ``(c_void_p * n)`` argument array."""
        if self._fns[name](ptrs, block_dim) != 0:
            raise CircError(f"kernel {name} stopped (the AscendC CPU layer's message is above)")


def _torch_cpu_library() -> Path | None:
    """The PyTorch wheel's libtorch_cpu.so (MKL inside), without importing torch."""
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        lib = Path(root) / "lib" / "libtorch_cpu.so"
        if lib.exists():
            return lib
    return None
