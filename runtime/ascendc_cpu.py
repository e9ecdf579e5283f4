"""circ's AscendC CPU layer: compile AscendC kernels with g++ and run them on the CPU.

circ emits AscendC C++ for Huawei Ascend NPUs. With no NPU at hand, the very same source is
compiled against circ's own C++17 implementation of the AscendC API subset circ emits (the
headers under ``runtime/ascendc_cpu/include``), the way CANN's "CPU twin debug" mode does:

    g++ -std=c++17 -O2 -Wall -Werror -DASCENDC_CPU_DEBUG=1 -D__CCE_KT_TEST__=1 -I<include>
        -D__CCE_AICORE__=220 ...

``include_dir()``, ``cflags(soc)`` and ``libs()`` say what g++ needs (``circ ascendc-cpu
--cflags`` / ``--libs`` print them); ``compile_shared`` / ``compile_executable`` build with
those flags through a content-addressed cache (``$CIRC_CACHE_DIR`` or ``~/.cache/circ``).

The API (CANN 8.x names and signatures; kernel side ``kernel_operator.h``, host side
``tikicpulib.h``). What circ emits is listed here; the wider surface public op kernels use
(repeat / mask forms, bit ops, Gather, WholeReduce, the op-project tiling macros, SoftMax,
LayerNorm, Broadcast, Matmul Iterate / GetTensorC, static tensors, atomics, SyncAll) is in the
table of ``runtime/ascendc_cpu/README.md``:

- qualifiers ``__global__ __aicore__ __gm__ __ubuf__ __vector__ __cube__`` (empty),
  ``GM_ADDR``; ``half`` (IEEE binary16) and ``bfloat16_t`` with float conversions;
  ``AscendC::TPosition``/``QuePosition``, ``AscendC::HardEvent``, ``pipe_t`` (PIPE_V, PIPE_MTE2,
  PIPE_MTE3, PIPE_ALL, ...), ``event_t`` (EVENT_ID0..7), ``AscendC::RoundMode``, ``KernelMode``,
  ``CubeFormat``.
- ``GetBlockIdx()``, ``GetBlockNum()``, ``GET_TILING_DATA_WITH_STRUCT(S, var, tiling)``,
  ``GET_TILING_DATA_PTR_WITH_STRUCT(S, ptr, tiling)``.
- ``GlobalTensor<T>``: SetGlobalBuffer(ptr[, size]), operator[], GetValue, SetValue,
  operator(), GetSize, GetPhyAddr, ReinterpretCast, ``address_``.
  ``LocalTensor<T>``: operator[], GetValue, SetValue, operator(), GetSize, GetLength, SetSize,
  GetPhyAddr, GetPosition, ReinterpretCast<U>().
- ``TPipe`` (InitBuffer(TQue&, num, len), InitBuffer(TBuf&, len), Destroy, Reset,
  AllocEventID/ReleaseEventID/FetchEventID), ``GetTPipePtr()``; ``TQue<pos, depth>``
  (AllocTensor<T>, EnQue, DeQue<T>, FreeTensor, VacantInQue, HasTensorInQue, ...);
  ``TBuf<pos>`` (Get<T>(), Get<T>(len), GetWithOffset<T>(size, offset)).
- ``DataCopy(dst, src, count)`` GM->UB/L1, UB->GM, UB->UB; ``DataCopy(dst, src,
  DataCopyParams)``; ``DataCopyPad`` with ``DataCopyExtParams`` + ``DataCopyPadExtParams<T>``
  (GM->UB) and ``DataCopyPad(GlobalTensor, LocalTensor, DataCopyExtParams)`` (UB->GM).
- count-form vector ops: Add Sub Mul Max Min (half/float/int16/int32), Div (half/float);
  Adds Muls Maxs Mins; Exp Ln Abs Sqrt Rsqrt Reciprocal (half/float), Relu (half/float/int32);
  Duplicate; Cast(dst, src, RoundMode, count) with the arch-220 conversion table; ReduceSum /
  ReduceMax / ReduceMin(dst, src, work, count[, calIndex]) with the result in dst[0].
- ``PipeBarrier<pipe>()``, ``SetFlag<event>(id)``, ``WaitFlag<event>(id)``.
- Matmul: ``MatmulType<pos, CubeFormat::ND, T[, ISTRANS]>``, ``Matmul<A, B, C[, Bias]>``
  (also as ``matmul::``), ``REGIST_MATMUL_OBJ(&pipe, workspace, mm, &tiling)``, Init,
  SetOrgShape, SetTensorA/B(gm, isTranspose), SetBias, SetTail, IterateAll(gm[, enAtomic]),
  End; ``TCubeTiling`` (CANN's field order) — computed by OpenBLAS sgemm (scipy-openblas32),
  half/bfloat16 inputs widened to float, fp32 accumulation.
- host: ``AscendC::GmAlloc``, ``GmFree``, ``SetKernelMode``, ``ICPU_RUN_KF(kernel, blockDim,
  args...)``: blocks run in parallel on worker threads, each with its own block index and its
  own UB (and L1/L0) arena.

Strictness — what makes a passing CPU run evidence for the NPU. A violation prints one line
``ascendc-cpu: error: block i/n: file:line: API: what`` and the program exits with status 1
(the other blocks stop at their next API call):

- local memory capacity of the SoC: ``-DCIRC_SOC_UB_BYTES`` (default 196608, Ascend910B1),
  ``CIRC_SOC_{L1,L0A,L0B,L0C}_BYTES``, or ``AscendC::cpu::SetSocUbBytes`` at run time;
  ``InitBuffer`` rounds lengths up to 32 bytes (512 for L0A/L0B) and an overflow names the
  buffer, its bytes, the SoC's size and the buffers already placed;
- 32-byte aligned local operands; ``DataCopy`` byte counts must be multiples of 32
  (``CIRC_ASCENDC_LENIENT=1``: round down silently, as the hardware does);
- queue discipline: AllocTensor with every buffer in use, EnQue beyond depth, DeQue of an
  empty queue, FreeTensor of a foreign / freed / still-queued tensor, using a tensor after
  FreeTensor or while it sits in a queue, a second live TPipe;
- vector operands: in the UB, count within every operand, no partial overlap; type and
  RoundMode combinations the hardware lacks; WaitFlag with no SetFlag (would hang);
  GlobalTensor / GmAlloc bounds; DataCopyPad on arch 200 (310P has none);
- fresh UB (InitBuffer, every AllocTensor) and GmAlloc memory hold 0xFF bytes: NaN for
  float types, -1 for integers, so reading what was never written shows.

A kernel library loaded with ctypes calls ``circ_ascendc_cpu_set_exit_on_error(0)`` first:
ICPU_RUN_KF then returns 1 on a kernel error and ``circ_ascendc_cpu_last_error()`` has the
message. Each program or library keeps its own copy of the layer's state, so libraries built
for different SoCs can share a process. Examples: ``runtime/ascendc_cpu/examples``; the
README section: ``runtime/ascendc_cpu/README.md``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from cir.errors import CircError
from cir.soc import soc as lookup_soc

ROOT = Path(__file__).parent / "ascendc_cpu"
EXAMPLES = ROOT / "examples"

BASE_FLAGS = [
    "-std=c++17",
    "-O2",
    "-Wall",
    "-Werror",
    "-DASCENDC_CPU_DEBUG=1",
    "-D__CCE_KT_TEST__=1",
]


def include_dir() -> Path:
    """The directory holding ``kernel_operator.h`` and ``tikicpulib.h``."""
    return ROOT / "include"


def openblas_dirs() -> tuple[Path, Path, str]:
    """(include dir, lib dir, library name) of the scipy-openblas32 wheel."""
    try:
        import scipy_openblas32 as ob  # type: ignore[import-not-found]
    except ImportError:
        raise CircError(
            "the AscendC CPU layer's Matmul needs OpenBLAS: pip install scipy-openblas32"
        ) from None
    return Path(ob.get_include_dir()), Path(ob.get_lib_dir()), ob.get_library()


def soc_defines(soc: str | None) -> list[str]:
    """-D flags for a SoC of ``cir/socs.toml`` (None: the Ascend910B1 defaults)."""
    if soc is None:
        return []
    s = lookup_soc(soc)
    return [
        f"-D__CCE_AICORE__={s.arch}",
        f"-DCIRC_SOC_UB_BYTES={s.ub_bytes}",
        f"-DCIRC_SOC_L1_BYTES={s.l1_bytes}",
        f"-DCIRC_SOC_L0A_BYTES={s.l0a_bytes}",
        f"-DCIRC_SOC_L0B_BYTES={s.l0b_bytes}",
        f"-DCIRC_SOC_L0C_BYTES={s.l0c_bytes}",
    ]


DEFAULT_ARCH = 220  # __CCE_AICORE__ of the default SoC (Ascend910B1)


def _with_arch(flags: Sequence[str]) -> list[str]:
    """The base flags plus ``flags``, with ``-D__CCE_AICORE__=220`` unless ``flags`` set it."""
    base = [*BASE_FLAGS, f"-I{include_dir()}", "-pthread"]
    if not any(f.startswith("-D__CCE_AICORE__") for f in flags):
        base.append(f"-D__CCE_AICORE__={DEFAULT_ARCH}")
    return [*base, *flags]


def cflags(soc: str | None = None) -> list[str]:
    """What g++ needs to compile a kernel (and its host code) against the CPU layer.

    ``__CCE_AICORE__`` is the arch the layer behaves as: 220 (Ascend910B) by default, the
    SoC's arch with ``soc`` (``cflags("Ascend310P3")`` has ``-D__CCE_AICORE__=200``)."""
    return _with_arch(soc_defines(soc))


def libs() -> list[str]:
    """What the link needs: threads, and OpenBLAS for Matmul (linked only when a kernel uses it,
    found at run time via rpath)."""
    _, libdir, name = openblas_dirs()
    return [
        "-pthread",
        f"-L{libdir}",
        f"-Wl,-rpath,{libdir}",
        "-Wl,--push-state,--as-needed",
        f"-l{name}",
        "-Wl,--pop-state",
    ]


def compiler() -> str:
    return os.environ.get("CXX", "g++")


def cache_dir() -> Path:
    base = os.environ.get("CIRC_CACHE_DIR")
    root = Path(base) if base else Path.home() / ".cache" / "circ"
    return root / "ascendc-cpu"


@functools.cache
def _compiler_id(cxx: str) -> str:
    try:
        out = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise CircError(f"no working C++ compiler '{cxx}' ({e}); set CXX or install g++") from None
    return out.stdout.splitlines()[0] if out.stdout else cxx


def _layer_digest() -> str:
    h = hashlib.sha256()
    for p in sorted(include_dir().rglob("*.h")):
        h.update(str(p.relative_to(include_dir())).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _build(
    sources: Sequence[Path], out: Path | None, flags: list[str], depends: Iterable[Path], kind: str
) -> Path:
    sources = [Path(s) for s in sources]
    if not sources:
        raise CircError("nothing to compile: no sources given")
    for s in [*sources, *map(Path, depends)]:
        if not s.is_file():
            raise CircError(f"{s}: no such file")
    cxx = compiler()
    cmd_flags = _with_arch(flags)
    link = [] if kind == "object" else libs()
    key = hashlib.sha256()
    for part in (kind, _compiler_id(cxx), _layer_digest(), *cmd_flags, *link):
        key.update(part.encode() + b"\0")
    for s in [*sources, *map(Path, depends)]:
        key.update(s.name.encode() + b"\0" + s.read_bytes() + b"\0")
    digest = key.hexdigest()[:24]
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    suffix = {"shared": ".so", "object": ".o"}.get(kind, "")
    cached = cache / f"{sources[0].stem}-{digest}{suffix}"
    if not cached.exists():
        fd, tmp = tempfile.mkstemp(prefix=".build-", suffix=suffix, dir=cache)
        os.close(fd)
        cmd = [cxx, *cmd_flags, *map(str, sources), "-o", tmp, *link]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if proc.returncode != 0:
            os.unlink(tmp)
            msg = proc.stderr.strip()
            lines = msg.splitlines()
            if len(lines) > 60:
                msg = "\n".join(lines[:60] + [f"... ({len(lines) - 60} more lines)"])
            raise CircError(f"g++ failed on {', '.join(s.name for s in sources)}:\n{msg}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, cached)  # atomic: concurrent builds of the same key are harmless
    if out is None:
        return cached
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.resolve() != cached.resolve():
        tmp_out = out.with_name(f".{out.name}.tmp{os.getpid()}")
        shutil.copy2(cached, tmp_out)
        os.replace(tmp_out, out)
    return out


def compile_shared(
    sources: Sequence[Path],
    out: Path,
    extra_flags: Sequence[str] = (),
    depends: Iterable[Path] = (),
) -> Path:
    """Build a shared library (-shared -fPIC) from AscendC sources with the strict flags.

    Cached by the content of the sources, ``depends`` (headers they include), the layer's
    headers, the flags and the compiler; ``out`` receives a copy. A compile error raises
    CircError with g++'s messages.
    """
    return _build(sources, out, ["-shared", "-fPIC", *extra_flags], depends, "shared")


def compile_object(source: Path, extra_flags: Sequence[str] = (),
                   depends: Iterable[Path] = ()) -> Path:
    """Compile one source to a position-independent object in the cache; returns its path
    (kernels compile separately, in parallel, and are linked by link_shared)."""
    source = Path(source)
    return _build([source], None, ["-c", "-fPIC", *extra_flags], depends, "object")


def link_shared(objects: Sequence[Path], out: Path) -> Path:
    """Link cached objects into one shared library (cached by the objects' content)."""
    return _build(objects, out, ["-shared"], (), "shared")


def compile_executable(
    sources: Sequence[Path],
    out: Path,
    extra_flags: Sequence[str] = (),
    depends: Iterable[Path] = (),
) -> Path:
    """Build an executable (kernel + host ``main``) with the strict flags, through the cache."""
    return _build(sources, out, list(extra_flags), depends, "exe")


def command_line(flags: Sequence[str]) -> str:
    return " ".join(shlex.quote(f) for f in flags)


# --- `circ ascendc-cpu` -----------------------------------------------------------------------


def add_cli_arguments(sub) -> None:  # argparse.ArgumentParser
    what = sub.add_mutually_exclusive_group(required=True)
    what.add_argument("--cflags", action="store_true", help="compile flags (g++ ... -c kernel.cpp)")
    what.add_argument("--libs", action="store_true", help="link flags (threads, OpenBLAS)")
    what.add_argument("--include-dir", action="store_true",
                      help="the directory of kernel_operator.h")
    sub.add_argument("--soc", help="add the -D flags of this SoC (from cir/socs.toml)")


def cli_main(args) -> None:  # argparse.Namespace
    if args.cflags:
        print(command_line(cflags(args.soc)))
    elif args.libs:
        print(command_line(libs()))
    else:
        print(include_dir())
