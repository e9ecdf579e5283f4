"""circ's AscendC CPU layer: hand-written AscendC kernels compiled with the strict flags and run
through ICPU_RUN_KF, checked against numpy; the rules the layer enforces, each shown failing
with its message; the Python helpers and `circ ascendc-cpu`."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cir.runtime import ascendc_cpu as acpu

from cir.errors import CircError

EX = acpu.EXAMPLES
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """build(example, shared=False, flags=()) -> path, through the compile cache."""
    out_dir = tmp_path_factory.mktemp("ascendc_cpu")
    made: dict[tuple, Path] = {}

    def _build(name: str, shared: bool = False, flags: tuple[str, ...] = ()) -> Path:
        key = (name, shared, flags)
        if key not in made:
            src = EX / f"{name}.cpp"
            tag = str(abs(hash(flags)))
            if shared:
                made[key] = acpu.compile_shared([src], out_dir / f"{name}-{tag}.so", flags)
            else:
                made[key] = acpu.compile_executable([src], out_dir / f"{name}-{tag}", flags)
        return made[key]

    return _build


def run(exe: Path, *args, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = dict(os.environ)
    full_env.pop("CIRC_ASCENDC_LENIENT", None)
    full_env.update(env or {})
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=60,
                          env=full_env, check=False)


# --- the classic add_custom kernel ----------------------------------------------------------


@pytest.fixture(scope="module")
def add_exe(tmp_path_factory) -> Path:
    """Built with exactly the documented command line (no extra flags, no cache)."""
    exe = tmp_path_factory.mktemp("add") / "add_custom"
    cmd = ["g++", "-std=c++17", "-O2", "-Wall", "-Werror", "-DASCENDC_CPU_DEBUG=1",
           "-D__CCE_KT_TEST__=1", f"-I{acpu.include_dir()}", str(EX / "add_custom.cpp"),
           "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return exe


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("n", [8037, 37])
def test_add_custom(add_exe: Path, tmp_path: Path, dtype, n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    x.tofile(tmp_path / "x.bin")
    y.tofile(tmp_path / "y.bin")
    name = "fp16" if dtype == np.float16 else "fp32"
    proc = run(add_exe, name, n, 8, 512, tmp_path)
    assert proc.returncode == 0, proc.stderr
    z = np.fromfile(tmp_path / "z.bin", dtype)
    np.testing.assert_array_equal(z, x + y)  # every element written, rounded as numpy rounds


# --- softmax: ReduceMax / ReduceSum with TBuf scratch ------------------------------------------


def test_softmax(build, tmp_path: Path) -> None:
    exe = build("softmax_custom")
    rows, cols = 37, 999  # 3996-byte rows: DataCopyPad in and out
    x = (np.random.default_rng(1).standard_normal((rows, cols)) * 4).astype(np.float32)
    x.tofile(tmp_path / "x.bin")
    proc = run(exe, rows, cols, 8, tmp_path)
    assert proc.returncode == 0, proc.stderr
    y = np.fromfile(tmp_path / "y.bin", np.float32).reshape(rows, cols)
    e = np.exp(x.astype(np.float64) - x.max(1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-7)


# --- Matmul high-level API -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["f16", "f32", "f32bt"])
def test_matmul(build, tmp_path: Path, kind: str) -> None:
    exe = build("matmul_custom")
    M, N, K = 203, 77, 45
    rng = np.random.default_rng(2)
    dt = np.float16 if kind == "f16" else np.float32
    a = rng.standard_normal((M, K)).astype(dt)
    b = rng.standard_normal((K, N)).astype(dt)
    bias = rng.standard_normal(N).astype(np.float32)
    a.tofile(tmp_path / "a.bin")
    (b.T.copy() if kind == "f32bt" else b).tofile(tmp_path / "b.bin")
    bias.tofile(tmp_path / "bias.bin")
    proc = run(exe, kind, M, N, K, 4, tmp_path)
    assert proc.returncode == 0, proc.stderr
    c = np.fromfile(tmp_path / "c.bin", np.float32).reshape(M, N)
    ref = a.astype(np.float64) @ b.astype(np.float64) + (0 if kind == "f32" else bias)
    np.testing.assert_allclose(c, ref, rtol=1e-5, atol=1e-4)


# --- every vector op, Cast and reduction against numpy ----------------------------------------


def _table(dtype) -> np.ndarray:
    """Every finite value of a 16-bit float type, ascending (for directed rounding)."""
    with np.errstate(invalid="ignore"):
        vals = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(dtype).astype(np.float64)
    return np.unique(vals[np.isfinite(vals)])


def _round(x: np.ndarray, dtype, mode: str) -> np.ndarray:
    """x (float32) rounded to a 16-bit float type under a RoundMode, from the table of values."""
    if mode in ("none", "rint"):
        return x.astype(dtype).astype(np.float64)
    t = _table(dtype)
    xd = x.astype(np.float64)
    lo = t[np.searchsorted(t, xd, side="right") - 1]
    hi = t[np.searchsorted(t, xd, side="left")]
    exact = lo == xd
    if mode == "floor":
        r = lo
    elif mode == "ceil":
        r = hi
    elif mode == "trunc":
        r = np.where(xd > 0, lo, hi)
    elif mode == "round":
        tie = (xd - lo) == (hi - xd)
        r = np.where(tie, np.where(xd > 0, hi, lo), x.astype(dtype).astype(np.float64))
    else:  # odd: the neighbour whose last mantissa bit is 1
        lo_odd = (np.asarray(lo).astype(dtype).view(np.uint16) & 1) == 1
        r = np.where(lo_odd, lo, hi)
    return np.where(exact, xd, r)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf in double (math.erf), elementwise."""
    import math

    return np.array([math.erf(float(v)) for v in np.ravel(x)]).reshape(np.shape(x))


def _vector_rows(x: np.ndarray, y: np.ndarray) -> list[tuple[str, np.ndarray, float]]:
    """(name, expected row, relative tolerance) in the row order of vector_ops.cpp."""
    import ml_dtypes

    f16 = np.float16
    rows = []
    for dt, tol in ((np.float32, 0.0), (f16, 0.0)):
        a, b = x.astype(dt), y.astype(dt)
        f32 = np.float32

        def r(v, dt=dt):
            return np.asarray(v, dtype=np.float32).astype(dt)

        af, bf = a.astype(f32), b.astype(f32)
        rows += [("add", r(af + bf), tol), ("sub", r(af - bf), tol), ("mul", r(af * bf), tol),
                 ("div", r(af / bf), tol), ("max", np.maximum(a, b), tol),
                 ("min", np.minimum(a, b), tol), ("adds", r(af + f32(dt(0.5))), tol),
                 ("muls", r(af * f32(dt(-1.5))), tol), ("maxs", np.maximum(a, dt(0.25)), tol),
                 ("mins", np.minimum(a, dt(0.25)), tol),
                 ("exp", r(np.exp(af.astype(np.float64))), 2e-7 if dt == np.float32 else 1e-3),
                 ("ln", r(np.log(np.abs(af).astype(np.float64))),
                  2e-7 if dt == np.float32 else 1e-3),
                 ("abs", np.abs(a), tol), ("relu", np.maximum(a, dt(0)), tol),
                 ("sqrt", r(np.sqrt(np.abs(af))), tol),
                 ("rsqrt", r(f32(1) / np.sqrt(np.abs(af))), tol),
                 ("reciprocal", r(f32(1) / af), tol),
                 ("erf", r(_erf(af)), 3e-7 if dt == np.float32 else 1e-3)]
    for mode in ("none", "rint", "floor", "ceil", "round", "trunc", "odd"):
        rows.append((f"float->half {mode}", _round(x, f16, mode), 0.0))
    x3 = (x * np.float32(3)).astype(np.float64)

    def away(v):  # CAST_ROUND: halves away from zero
        return np.sign(v) * np.floor(np.abs(v) + 0.5)

    for mode, fn in (("rint", np.rint), ("floor", np.floor), ("ceil", np.ceil),
                     ("round", away), ("trunc", np.trunc)):
        rows.append((f"float->int32 {mode}", fn(x3), 0.0))
    for mode in ("rint", "floor", "ceil", "round", "trunc"):
        rows.append((f"float->bf16 {mode}", _round(x, ml_dtypes.bfloat16, mode), 0.0))
    h50 = (x * np.float32(50)).astype(f16).astype(np.float64)
    rows.append(("half->int8 rint (saturating)", np.clip(np.rint(h50), -128, 127), 0.0))
    h3 = (x * np.float32(3)).astype(f16).astype(np.float64)
    rows.append(("half->int32 trunc", np.trunc(h3), 0.0))
    xh = x.astype(f16)
    red = np.zeros_like(x, dtype=np.float64)
    red[:8] = [x.astype(np.float64).sum(), x.max(), x.argmax(), x.min(), x.argmin(),
               xh.astype(np.float64).sum(), xh.max(), xh.argmax()]
    rows.append(("reductions", red, 1e-3))
    return rows


@pytest.mark.parametrize("flags", [(), ("-DCIRC_ASCENDC_NO_AVX2",)], ids=["dispatch", "4-lane"])
def test_vector_ops_match_numpy(build, tmp_path: Path, flags) -> None:
    n = 300
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(n) * 2).astype(np.float32)
    x[x == 0] = 0.5
    # ties, where CAST_ROUND (away from zero) and CAST_RINT (to even) differ: 3x = -4.5, 4.5;
    # halfway between two halves; halfway between two bfloat16s
    x[:6] = [0.0999, -1.5, 1.5, 1 + 2**-11, -(1 + 2**-11), 1 + 2**-8]
    y = (rng.standard_normal(n) + np.sign(rng.standard_normal(n))).astype(np.float32)
    y[y == 0] = 1.0
    x.tofile(tmp_path / "x.bin")
    y.tofile(tmp_path / "y.bin")
    proc = run(build("vector_ops", flags=flags), n, tmp_path)  # AVX2 where the CPU has it, or not
    assert proc.returncode == 0, proc.stderr
    rows = _vector_rows(x, y)
    by_name = {name: want for name, want, _ in rows}
    for a, b in (("float->int32 rint", "float->int32 round"),
                 ("float->half rint", "float->half round"),
                 ("float->bf16 rint", "float->bf16 round"),
                 ("float->half floor", "float->half ceil")):
        assert (by_name[a] != by_name[b]).any()  # the data tells the modes apart
    out = np.fromfile(tmp_path / "out.bin", np.float32).reshape(len(rows), n)
    for k, (name, want, rtol) in enumerate(rows):
        got = out[k].astype(np.float64)
        want = np.asarray(want, dtype=np.float64)
        if name == "reductions":
            np.testing.assert_allclose(got[:8], want[:8], rtol=rtol, err_msg=name)
        else:
            np.testing.assert_allclose(got, want, rtol=rtol, atol=0, err_msg=f"row {k}: {name}")


@pytest.mark.parametrize("flags", [(), ("-DCIRC_ASCENDC_NO_AVX2",)], ids=["dispatch", "4-lane"])
def test_erf_is_within_3_ulp(build, tmp_path: Path, flags) -> None:
    """Erf is a polynomial pair (|x| < 1, 1 <= |x| < 4) on a grid over [-6, 6] that is dense
    around the seams, +-0 and +-tiny: within 3 ulp of erf in double, odd, exactly +-1 from 4 on."""
    n = 3000
    seams = np.concatenate([v + np.linspace(-1e-3, 1e-3, 101) for v in (-4.0, -1.0, 1.0, 4.0)])
    specials = np.array([0.0, -0.0, 1e-30, -1e-30, 1e-6, 3.9, 6.0, -6.0])
    grid = np.linspace(-6, 6, n - len(seams) - len(specials))
    x = np.concatenate([specials, seams, grid]).astype(np.float32)
    x.tofile(tmp_path / "x.bin")
    np.ones(n, np.float32).tofile(tmp_path / "y.bin")
    proc = run(build("vector_ops", flags=flags), n, tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = [name for name, _, _ in _vector_rows(x[:8], np.ones(8, np.float32))]
    got = np.fromfile(tmp_path / "out.bin", np.float32).reshape(len(names), n)[names.index("erf")]
    want = _erf(x.astype(np.float64))
    ulp = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    assert (np.abs(got - want) <= 3 * ulp).all(), np.max(np.abs(got - want) / ulp)
    assert np.signbit(got[1]) and got[0] == 0.0 and got[1] == 0.0
    assert (got[np.abs(x) >= 4] == np.sign(x[np.abs(x) >= 4])).all()
    pos = x > 0
    mirror = {float(v): float(g) for v, g in zip(x, got)}
    assert all(mirror.get(-float(v), -float(g)) == -float(g) for v, g in zip(x[pos], got[pos]))


# --- the rules, each broken once ------------------------------------------------------------------

MISUSE = {
    "ub_overflow": ["TPipe::InitBuffer: UB overflow", "TQue<VECOUT, 1>", "198336", "196608",
                    "TBuf<VECCALC> at misuse.cpp"],
    "unaligned_copy": ["DataCopy(GM->local)", "40 bytes is not a multiple of 32", "DataCopyPad"],
    "deque_empty": ["TQue::DeQue: DeQue of an empty queue"],
    "enque_depth": ["EnQue beyond the depth of TQue<VECIN, 1>"],
    "free_foreign": ["FreeTensor of a tensor that was not allocated from TQue<VECOUT, 1>"],
    "use_after_free": ["Adds: dst is a stale LocalTensor"],
    "wait_without_set": ["WaitFlag<HardEvent::MTE2_V>(1) with no SetFlag"],
    "one_block_fails": ["block 5/8:", "12 bytes is not a multiple of 32"],
    "vector_count": ["Add: count 128 exceeds dst, which holds 64 elements"],
    "unaligned_operand": ["Muls: dst starts at UB byte 12, which is not 32-byte aligned"],
    "alloc_exhausted": ["TQue::AllocTensor: all 1 buffers of TQue<VECIN, 1>", "are in use"],
    "gm_out_of_bounds": ["touches 512 bytes of the GlobalTensor", "SetGlobalBuffer size is 64"],
    "cast_mode": ["Cast: float -> int32_t does not support RoundMode::CAST_NONE"],
    "view_past_end": ["Duplicate: dst is a view t[72] past the end of a LocalTensor of 64"],
    "second_pipe": ["a second TPipe while another one is alive"],
    "softmax_flash_overlap": ["SoftmaxFlashV2: maxTensor and inMaxTensor overlap"],
}


@pytest.mark.parametrize("case", sorted(MISUSE))
def test_misuse_is_reported(build, tmp_path: Path, case: str) -> None:
    proc = run(build("misuse"), case, tmp_path)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("ascendc-cpu: error: block "), proc.stderr
    assert "misuse.cpp:" in lines[0]
    assert sum(line.startswith("ascendc-cpu: error:") for line in lines) == 1  # one clean message
    for text in MISUSE[case]:
        assert text in proc.stderr, proc.stderr
    assert "ok" not in proc.stdout  # the host stopped: nothing after ICPU_RUN_KF ran
    assert not (tmp_path / "y.bin").exists()


def test_release_mode_skips_buffer_state_checks(build, tmp_path: Path) -> None:
    """Release mode (CIRC_ASCENDC_POISON=0, what a runtime's tested kernels run in) leaves out
    the pipeline-protocol checks of LocalTensor use; memory checks stay."""
    stale = run(build("misuse"), "use_after_free", tmp_path, env={"CIRC_ASCENDC_POISON": "0"})
    assert stale.returncode == 0 and "stale" not in stale.stderr, stale.stderr
    oob = run(build("misuse"), "view_past_end", tmp_path, env={"CIRC_ASCENDC_POISON": "0"})
    assert oob.returncode == 1 and "past the end of a LocalTensor" in oob.stderr, oob.stderr


def test_uninitialised_ub_reads_nan(build, tmp_path: Path) -> None:
    proc = run(build("misuse"), "uninit_read", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert np.isnan(np.fromfile(tmp_path / "y.bin", np.float32)).all()


def test_lenient_rounds_down_like_the_hardware(build, tmp_path: Path) -> None:
    proc = run(build("misuse"), "unaligned_copy", tmp_path, env={"CIRC_ASCENDC_LENIENT": "1"})
    assert proc.returncode == 0, proc.stderr
    y = np.fromfile(tmp_path / "y.bin", np.float32)
    np.testing.assert_array_equal(y[:8], np.arange(8, dtype=np.float32))  # 32 of 40 bytes moved
    assert np.isnan(y[8:10]).all()  # the rest of the UB buffer was never written


def test_soc_selects_ub_size_and_arch(build, tmp_path: Path) -> None:
    """Ascend310P3: a 256 KB UB holds what overflows 192 KB; arch 200 has no DataCopyPad."""
    exe = build("misuse", flags=tuple(acpu.soc_defines("Ascend310P3")))
    proc = run(exe, "ub_overflow", tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run(exe, "unaligned_copy", tmp_path, env={"CIRC_ASCENDC_LENIENT": "1"})
    assert proc.returncode == 1
    assert "DataCopyPad does not exist on arch 200" in proc.stderr


# --- a kernel library loaded with ctypes (compile_shared) ----------------------------------------


def _gn_reference(x, gamma, beta, groups, eps):
    n, _c = x.shape[:2]
    xr = x.reshape(n, groups, -1).astype(np.float64)
    z = (xr - xr.mean(-1, keepdims=True)) / np.sqrt(xr.var(-1, keepdims=True) + eps)
    z = z.reshape(x.shape) * gamma[None, :, None, None] + beta[None, :, None, None]
    return z / (1 + np.exp(-z))


@pytest.fixture(scope="module")
def gn_lib(build):
    lib = ctypes.CDLL(str(build("group_norm_silu", shared=True, flags=("-DCIRC_NO_MAIN",))))
    p, i = ctypes.c_void_p, ctypes.c_int
    lib.run_group_norm_silu.argtypes = [p, p, p, p, i, i, i, i, ctypes.c_float, i, i, i]
    lib.circ_ascendc_cpu_last_error.restype = ctypes.c_char_p
    lib.circ_ascendc_cpu_set_exit_on_error(0)
    return lib


@pytest.mark.parametrize("shape,groups,tile", [((2, 64, 8, 8), 8, 0),  # group resident in UB
                                               ((1, 32, 7, 9), 4, 24)])  # streamed, ragged tails
def test_group_norm_silu_shared_library(gn_lib, shape, groups, tile) -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    gamma = rng.standard_normal(shape[1]).astype(np.float32)
    beta = rng.standard_normal(shape[1]).astype(np.float32)
    y = np.full_like(x, np.nan)
    n, c, h, w = shape
    rc = gn_lib.run_group_norm_silu(x.ctypes.data, gamma.ctypes.data, beta.ctypes.data,
                                    y.ctypes.data, n, c, h * w, groups, 1e-5, 6, tile, 196608)
    assert rc == 0, gn_lib.circ_ascendc_cpu_last_error()
    np.testing.assert_allclose(y, _gn_reference(x, gamma, beta, groups, 1e-5), rtol=1e-4, atol=1e-5)


def test_libraries_for_different_socs_share_a_process(build, gn_lib) -> None:
    """Each kernel library keeps its own SoC configuration (the layer's state is hidden)."""
    small = ctypes.CDLL(str(build("group_norm_silu", shared=True,
                                  flags=("-DCIRC_NO_MAIN", "-DCIRC_SOC_UB_BYTES=65536"))))
    p, i = ctypes.c_void_p, ctypes.c_int
    small.run_group_norm_silu.argtypes = [p, p, p, p, i, i, i, i, ctypes.c_float, i, i, i]
    small.circ_ascendc_cpu_last_error.restype = ctypes.c_char_p
    small.circ_ascendc_cpu_set_exit_on_error(0)
    x = np.random.default_rng(4).standard_normal((1, 32, 32, 32)).astype(np.float32)
    g = np.ones(32, np.float32)
    y = np.empty_like(x)
    args = (x.ctypes.data, g.ctypes.data, g.ctypes.data, y.ctypes.data,
            1, 32, 1024, 2, 1e-5, 2, 0, 196608)  # the host plans a 64 KB group + 24 KB of tiles
    assert small.run_group_norm_silu(*args) == 1
    assert b"the UB of the SoC has 65536 bytes" in small.circ_ascendc_cpu_last_error()
    assert gn_lib.run_group_norm_silu(*args) == 0, gn_lib.circ_ascendc_cpu_last_error()


def test_library_mode_returns_the_error(gn_lib) -> None:
    x = np.zeros((1, 8, 8, 8), np.float32)
    g = np.ones(8, np.float32)
    y = np.zeros_like(x)
    rc = gn_lib.run_group_norm_silu(x.ctypes.data, g.ctypes.data, g.ctypes.data, y.ctypes.data,
                                    1, 8, 64, 2, 1e-5, 2, 65536, 196608)  # 5 x 256 KB tiles
    assert rc == 1
    assert b"UB overflow" in gn_lib.circ_ascendc_cpu_last_error()


# --- the Python helpers and the command line ----------------------------------------------------


def test_flags() -> None:
    flags = acpu.cflags()
    for f in ["-std=c++17", "-O2", "-Wall", "-Werror", "-DASCENDC_CPU_DEBUG=1",
              "-D__CCE_KT_TEST__=1", f"-I{acpu.include_dir()}"]:
        assert f in flags
    assert (acpu.include_dir() / "kernel_operator.h").is_file()
    assert (acpu.include_dir() / "tikicpulib.h").is_file()
    assert "-DCIRC_SOC_UB_BYTES=262144" in acpu.cflags("Ascend310P3")
    # __CCE_AICORE__: 220 (the 910B the layer behaves as) unless the SoC says otherwise, once
    assert "-D__CCE_AICORE__=220" in flags
    p3 = acpu.cflags("Ascend310P3")
    assert "-D__CCE_AICORE__=200" in p3
    assert sum(f.startswith("-D__CCE_AICORE__") for f in p3) == 1
    libs = acpu.libs()
    assert "-lscipy_openblas" in libs and any(f.startswith("-Wl,-rpath,") for f in libs)


def test_cli_prints_flags() -> None:
    out = subprocess.run([str(BIN / "circ"), "ascendc-cpu", "--cflags"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == acpu.command_line(acpu.cflags())
    out = subprocess.run([str(BIN / "circ"), "ascendc-cpu", "--libs"], capture_output=True,
                         text=True, timeout=60, check=False)
    assert out.stdout.strip() == acpu.command_line(acpu.libs())


def test_compile_error_is_a_circ_error(tmp_path: Path) -> None:
    src = tmp_path / "bad.cpp"
    src.write_text('#include "kernel_operator.h"\nvoid f() { int unused; }\n')
    with pytest.raises(CircError, match="(?s)g\\+\\+ failed on bad.cpp:.*unused variable"):
        acpu.compile_shared([src], tmp_path / "bad.so")
    assert not (tmp_path / "bad.so").exists()
