"""The AscendC API surface of public op kernels on circ's CPU layer: a corpus of kernels written
in the styles of the public repositories (tests/ascendc_corpus: kernel invocation samples, an op
project with tiling keys, Matmul block by block with C in VECIN, SoftMax / LayerNorm, repeat and
mask forms, bit operations, Gather, per-repeat reductions, Broadcast, the Cast table, static
tensors, Compare / Select and the mask-form reductions), compiled with -Wall -Werror and compared with numpy on random inputs; every rule the
layer added, broken once."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from cir.runtime import ascendc_cpu as acpu

CORPUS = Path(__file__).parent / "ascendc_corpus"
OP_HOST = CORPUS / "op_project" / "op_host" / "scale_add_custom_tiling.h"

# name -> (source, extra g++ flags, headers it depends on)
PROGRAMS: dict[str, tuple[str, tuple[str, ...], tuple[Path, ...]]] = {
    "elementwise_invocation": ("elementwise_invocation.cpp", (), ()),
    "scale_add_custom": ("op_project/op_kernel/scale_add_custom.cpp",
                         ("-DDTYPE_X=float", "-DDTYPE_Y=float", "-include", str(OP_HOST)), (OP_HOST,)),
    "repeat_forms": ("repeat_forms.cpp", (), ()),
    "bit_ops": ("bit_ops.cpp", (), ()),
    "gather_reduce": ("gather_reduce.cpp", (), ()),
    "cast_pairs": ("cast_pairs.cpp", (), ()),
    "matmul_iterate": ("matmul_iterate.cpp", (), ()),
    "softmax_layernorm": ("softmax_layernorm.cpp", (), ()),
    "static_tensor": ("static_tensor.cpp", (), ()),
    "sync_atomic": ("sync_atomic.cpp", (), ()),
    "compare_select": ("compare_select.cpp", (), ()),
    "misuse_api": ("misuse_api.cpp", (), ()),
}
BLOCK = 4096  # bytes of one case's output in the multi-case kernels


@pytest.fixture(scope="module")
def exe(tmp_path_factory) -> dict[str, Path]:
    """Every corpus program, built through the compile cache (two at a time)."""
    out = tmp_path_factory.mktemp("corpus")

    def build(name: str) -> tuple[str, Path]:
        src, flags, deps = PROGRAMS[name]
        return name, acpu.compile_executable([CORPUS / src], out / name, [f"-I{CORPUS}", *flags],
                                             depends=[CORPUS / "host_io.h", *deps])

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(build, PROGRAMS))


def run(path: Path, case: str, d: Path, *nums: int) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(path), case, str(d), *map(str, nums)], capture_output=True, text=True,
                          timeout=60, check=False)
    return proc


def ok(path: Path, case: str, d: Path, *nums: int) -> None:
    proc = run(path, case, d, *nums)
    assert proc.returncode == 0, proc.stderr


def save(d: Path, **arrays: np.ndarray) -> None:
    for name, a in arrays.items():
        np.ascontiguousarray(a).tofile(d / f"{name}.bin")


def blocks(d: Path, name: str = "out") -> list[bytes]:
    raw = (d / f"{name}.bin").read_bytes()
    return [raw[i:i + BLOCK] for i in range(0, len(raw), BLOCK)]


def view(block: bytes, dtype) -> np.ndarray:
    return np.frombuffer(block, dtype=dtype).copy()


# --- a model of the repeat addressing, written from the documentation -----------------------------


def lanes_of(mask, lane_count: int) -> list[int]:
    """Active lanes of one repeat: an int = that many leading lanes; [lo, hi] = bit mask."""
    if isinstance(mask, int):
        return list(range(mask))
    lo, hi = mask
    return [e for e in range(lane_count) if ((lo if e < 64 else hi) >> (e % 64)) & 1]


def element(r: int, e: int, itemsize: int, blk: int, rep: int) -> int:
    """Element index of lane e of repeat r (strides in 32-byte blocks)."""
    per = 32 // itemsize
    return ((r * rep + (e // per) * blk) * 32 + (e % per) * itemsize) // itemsize


def repeat_apply(dst: np.ndarray, dst_stride, srcs, lanes_per_repeat: list[list[int]], fn) -> None:
    """dst[lane] = fn(*src[lane]) for every active lane of every repeat."""
    for r, lanes in enumerate(lanes_per_repeat):
        for e in lanes:
            args = [s[element(r, e, s.itemsize, *st)] for s, st in srcs]
            dst[element(r, e, dst.itemsize, *dst_stride)] = fn(*args)


def counter_lanes(total: int, lane_count: int) -> list[list[int]]:
    return [list(range(min(lane_count, total - r))) for r in range(0, total, lane_count)]


# --- kernel invocation style ----------------------------------------------------------------------


@pytest.mark.parametrize("launch", ["function", "lambda"])
@pytest.mark.parametrize("n,block_dim,tile", [(1003, 4, 64), (4096, 8, 256), (37, 3, 32)])
def test_elementwise_invocation(exe, tmp_path: Path, launch: str, n: int, block_dim: int,
                                tile: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    save(tmp_path, x=x, y=y)
    ok(exe["elementwise_invocation"], launch, tmp_path, n, block_dim, tile)
    np.testing.assert_array_equal(np.fromfile(tmp_path / "z.bin", np.float32), x + y)
    p = x * y
    np.testing.assert_array_equal(np.fromfile(tmp_path / "w.bin", np.float32),
                                  np.where(p < 0, p * np.float32(0.125), p))
    assert np.fromfile(tmp_path / "arch.bin", np.int32)[0] == 220  # __CCE_AICORE__ by default


# --- op project: tiling macros, tiling keys -------------------------------------------------------


@pytest.mark.parametrize("case", ["key1", "key2", "plain"])
def test_op_project_tiling(exe, tmp_path: Path, case: str) -> None:
    n, block_dim, tile = 3 * 512 + 256, 3, 128
    rng = np.random.default_rng(7)
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    save(tmp_path, x=x, y=y)
    ok(exe["scale_add_custom"], case, tmp_path, n, block_dim, tile)
    z = np.fromfile(tmp_path / "z.bin", np.float32)
    s = np.float32(0.75)
    np.testing.assert_array_equal(z, (x - y) * s if case == "key2" else x + y * s)


# --- repeat / mask forms --------------------------------------------------------------------------


def test_repeat_forms(exe, tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    x = rng.standard_normal(1024).astype(np.float32)
    y = (rng.standard_normal(1024) + 3).astype(np.float32)
    xh = rng.standard_normal(2048).astype(np.float16)
    save(tmp_path, x=x, y=y, xh=xh)
    ok(exe["repeat_forms"], "run", tmp_path)
    out = blocks(tmp_path)
    f32, f16 = np.float32, np.float16

    def fresh(dtype):
        return np.full(BLOCK // np.dtype(dtype).itemsize, -7, dtype)

    u1 = (1, 8)
    want = []
    e = fresh(f32)  # 0
    repeat_apply(e, u1, [(x, u1), (y, u1)], [lanes_of(37, 64)] * 3, lambda a, b: a + b)
    want.append(e)
    e = fresh(f32)  # 1
    repeat_apply(e, (2, 16), [(x, u1), (y, (1, 0))], [lanes_of([0x5555AAAA0F0F00FF, 0], 64)] * 2,
                 lambda a, b: a * b)
    want.append(e)
    e = fresh(f16)  # 2
    repeat_apply(e, u1, [(xh, (2, 16)), (xh[128:], u1)],
                 [lanes_of([2**64 - 1, 0x00FF00FF00FF00FF], 128)] * 2, max)
    want.append(e)
    e = fresh(f32)  # 3
    repeat_apply(e, u1, [(x, u1)], [lanes_of(64, 64)] * 4, lambda a: a + f32(1.5))
    want.append(e)
    e = fresh(f32)  # 4
    repeat_apply(e, (2, 16), [(x, u1)], [lanes_of(20, 64)] * 2, lambda a: f32(np.exp(np.float64(a))))
    want.append(e)
    e = fresh(f16)  # 5
    repeat_apply(e, u1, [], [lanes_of(100, 128)] * 2, lambda: f16(3))
    want.append(e)
    e = fresh(f32)  # 6: Counter mode, 150 elements
    repeat_apply(e, u1, [(x, u1), (y, u1)], counter_lanes(150, 64), lambda a, b: a - b)
    want.append(e)
    e = fresh(f16)  # 7: Counter mode through the API: 130 halves, blocks 2 apart
    repeat_apply(e, (2, 16), [(xh, (2, 16))], counter_lanes(130, 128),
                 lambda a: f16(f32(a) + f32(1)))
    want.append(e)
    e = fresh(f16)  # 8: Cast float -> half
    repeat_apply(e, (1, 4), [(x, u1)], [lanes_of(64, 64)] * 3, f16)
    want.append(e)
    e = fresh(f32)  # 9: Normal-mode mask set outside
    repeat_apply(e, u1, [(x, u1)], [lanes_of([0xFFFF, 0], 64)] * 2, lambda a: a * f32(2))
    want.append(e)
    e = fresh(f32)  # 10: count form, Counter-mode mask
    e[:77] = x[:77] + y[:77]
    want.append(e)
    e = fresh(f32)  # 11: Div on lanes 32..63, then Relu on all 64
    e[32:64] = x[32:64] / y[32:64]
    e[:64] = np.maximum(e[:64], 0)
    want.append(e)
    for k, w in enumerate(want):
        got = view(out[k], w.dtype)
        if k == 4:
            np.testing.assert_allclose(got, w, rtol=2e-7, err_msg=f"case {k}")
        else:
            np.testing.assert_array_equal(got, w, err_msg=f"case {k}")


# --- bit operations -------------------------------------------------------------------------------


def test_bit_ops(exe, tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    a = rng.integers(0, 256, BLOCK).astype(np.uint8)
    b = rng.integers(0, 256, BLOCK).astype(np.uint8)
    save(tmp_path, a=a, b=b)
    n16, n32 = 1001, 499
    ok(exe["bit_ops"], "run", tmp_path, n16, n32)
    out = blocks(tmp_path)
    a16, b16 = a.view(np.int16), b.view(np.int16)
    ua16, ub16 = a.view(np.uint16), b.view(np.uint16)
    a32, ua32 = a.view(np.int32), a.view(np.uint32)

    def case(k, dtype, n, values):
        want = np.full(BLOCK // np.dtype(dtype).itemsize, 0x55, dtype)
        want[:n] = values[:n]
        np.testing.assert_array_equal(view(out[k], dtype), want, err_msg=f"case {k}")

    case(0, np.int16, n16, a16 & b16)
    case(1, np.uint16, n16, ua16 | ub16)
    case(2, np.int16, n16, ~a16)
    case(3, np.int16, n16, (a16.astype(np.int64) << 3).astype(np.int16))
    case(4, np.int16, n16, a16 >> 5)  # arithmetic
    case(5, np.uint16, n16, ua16 >> 5)  # logical
    case(6, np.int32, n32, a32 >> 7)
    case(7, np.uint32, n32, (ua32.astype(np.uint64) << 9).astype(np.uint32))
    w = np.full(BLOCK // 2, 0x55, np.int16)  # 8: And, 100 lanes of 2 repeats
    repeat_apply(w, (1, 8), [(a16, (1, 8)), (b16, (1, 8))], [lanes_of(100, 128)] * 2,
                 lambda p, q: p & q)
    np.testing.assert_array_equal(view(out[8], np.int16), w)
    w = np.full(BLOCK // 4, 0x55, np.int32)  # 9: rounding right shift on masked lanes
    repeat_apply(w, (1, 8), [(a32, (1, 8))], [lanes_of([0xF0F0F0F0F0F0F0F0, 0], 64)] * 3,
                 lambda p: (int(p) + 8) >> 4)
    np.testing.assert_array_equal(view(out[9], np.int32), w)


# --- Gather, per-repeat reductions, Broadcast -----------------------------------------------------


def tree_sum(v: np.ndarray) -> np.float32:
    """The vector unit's sum of one repeat: pairs of halves, in float32."""
    v = v.astype(np.float32)
    width = 1
    while width < len(v):
        width *= 2
    v = np.concatenate([v, np.zeros(width - len(v), np.float32)])
    while len(v) > 1:
        v = v[: len(v) // 2] + v[len(v) // 2:]
    return v[0]


def test_gather_reduce_broadcast(exe, tmp_path: Path) -> None:
    rng = np.random.default_rng(17)
    x = rng.standard_normal(1024).astype(np.float32)
    xh = rng.standard_normal(2048).astype(np.float16)
    off = (rng.integers(0, 1024, 512) * 4).astype(np.uint32)
    save(tmp_path, x=x, xh=xh, off=off)
    ok(exe["gather_reduce"], "run", tmp_path)
    out = blocks(tmp_path)

    got = view(out[0], np.float32)
    np.testing.assert_array_equal(got[:300], x[off[:300] // 4])
    assert (got[300:] == -7).all()
    got = view(out[1], np.float16)  # mask form: 100 lanes of 2 repeats, repeats 8 blocks apart
    for r in range(2):
        np.testing.assert_array_equal(got[r * 128: r * 128 + 100], xh[off[r * 128: r * 128 + 100] // 2])
        assert (got[r * 128 + 100: r * 128 + 128] == -7).all()
    got = view(out[2], np.float32)
    want = [tree_sum(np.concatenate([x[r * 64: r * 64 + 50], np.zeros(14, np.float32)]))
            for r in range(13)]
    np.testing.assert_array_equal(got[:13], want)
    got = view(out[3], np.float16).reshape(-1, 2)[:5]
    rows = xh[:5 * 128].reshape(5, 128)
    np.testing.assert_array_equal(got[:, 0], rows.max(1))
    np.testing.assert_array_equal(got[:, 1].view(np.uint16), rows.argmax(1))
    got = view(out[4], np.float32)[:8]
    rows = x[:4 * 64].reshape(4, 64)[:, :37]
    np.testing.assert_array_equal(got[0::2].view(np.uint32), rows.argmin(1))  # ORDER_INDEX_VALUE
    np.testing.assert_array_equal(got[1::2], rows.min(1))
    got = view(out[5], np.float32)[:32]
    np.testing.assert_array_equal(got, [tree_sum(x[b * 8:(b + 1) * 8]) for b in range(32)])
    got = view(out[6], np.float16)
    np.testing.assert_array_equal(got[:100], np.full(100, xh[0]))
    assert (got[100:] == -7).all()
    got = view(out[7], np.float32)[:16 * 24].reshape(16, 24)
    np.testing.assert_array_equal(got, np.repeat(x[:16, None], 24, 1))
    got = view(out[8], np.float16)[:480].reshape(10, 48)
    np.testing.assert_array_equal(got, np.tile(xh[:48], (10, 1)))
    got = view(out[9], np.float32)  # GatherMask pattern 2: odd lanes of 3 repeats
    np.testing.assert_array_equal(got[:96], x[1:192:2])
    assert got[1000] == 96
    got = view(out[10], np.float16)  # GatherMask with a uint16_t pattern tensor, 1 block apart
    words = off.view(np.uint16)
    keep = [r * 128 + e for r in range(2) for e in range(128)
            if (words[r * 16 + e // 16] >> (e % 16)) & 1]
    np.testing.assert_array_equal(got[:len(keep)], xh[keep])
    assert got[2000] == len(keep)
    got = view(out[11], np.float32)  # Axpy
    np.testing.assert_array_equal(got[:300], x[64:364] * np.float32(0.5) + x[:300])
    np.testing.assert_array_equal(got[300:512], x[300:512])


# --- Compare / Select, mask-form reductions --------------------------------------------------------


def bits_of(block: bytes, n: int) -> np.ndarray:
    """The first n bits of a bit-mask output (bit i = bit i % 8 of byte i / 8)."""
    return np.unpackbits(np.frombuffer(block, np.uint8), bitorder="little")[:n].astype(bool)


FILL = np.full(BLOCK // 2, -7, np.int16).tobytes()  # what each case's output starts as


def test_compare_select(exe, tmp_path: Path) -> None:
    rng = np.random.default_rng(43)
    x = rng.standard_normal(1024).astype(np.float32)
    y = rng.standard_normal(1024).astype(np.float32)
    y[::5] = x[::5]  # equal lanes for EQ / NE / LE / GE
    xh = rng.standard_normal(2048).astype(np.float16)
    yh = rng.standard_normal(2048).astype(np.float16)
    yh[::7] = xh[::7]
    sel = rng.integers(0, 256, 256).astype(np.uint8)
    save(tmp_path, x=x, y=y, xh=xh, yh=yh, sel=sel)
    ok(exe["compare_select"], "run", tmp_path)
    out = blocks(tmp_path)

    def rest(block: bytes, start: int) -> None:  # bytes past the result keep the fill
        assert block[start:] == FILL[start:]

    np.testing.assert_array_equal(bits_of(out[0], 320), x[:320] < y[:320])
    rest(out[0], 40)
    np.testing.assert_array_equal(bits_of(out[1], 384), xh[:384] >= yh[:384])
    rest(out[1], 48)
    np.testing.assert_array_equal(bits_of(out[2], 128), x[:128].view(np.int32) == y[:128].view(np.int32))
    np.testing.assert_array_equal(bits_of(out[3], 192), x[:192] > np.float32(0.25))
    # repeat form: all 64 lanes of 2 repeats, src0 repeats 16 blocks (128 floats) apart
    src0 = np.concatenate([x[0:64], x[128:192]])
    np.testing.assert_array_equal(bits_of(out[4], 128), src0 != y[:128])
    rest(out[4], 16)
    sbits = np.unpackbits(sel, bitorder="little").astype(bool)
    got = view(out[5], np.float32)
    np.testing.assert_array_equal(got[:300], np.where(sbits[:300], x[:300], y[:300]))
    rest(out[5], 1200)
    got = view(out[6], np.float16)
    np.testing.assert_array_equal(got[:200], np.where(sbits[:200], xh[:200], np.float16(2.5)))
    got = view(out[7], np.float32)  # mode 0: the first 64 bits for every repeat
    idx = np.arange(200)
    np.testing.assert_array_equal(got[:200], np.where(sbits[idx % 64], x[:200], y[:200]))
    got = view(out[8], np.float32)  # mode 2 repeat form: 40 lanes of 3 repeats, bits consumed 64 per repeat
    want = view(FILL, np.float32)
    for r in range(3):
        e = np.arange(40)
        i = r * 64 + e
        want[i] = np.where(sbits[r * 64 + e], x[i], y[i])
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    got = view(out[9], np.float16)  # mode 0 repeat form, half: lanes by bit mask, bits 0..127 every repeat
    lane_on = lanes_of([0xFFFF0000FFFF0000, 0x00000000FFFFFFFF], 128)
    want = view(FILL, np.float16)
    for r in range(2):
        for e in lane_on:
            want[r * 128 + e] = xh[r * 128 + e] if sbits[e] else yh[r * 128 + e]
    np.testing.assert_array_equal(got.view(np.uint16), want.view(np.uint16))
    reg = bits_of(out[10], 128)  # register form: 48 lanes compared, the rest 0
    np.testing.assert_array_equal(reg[:48], x[:48] < y[:48])
    assert not reg[48:].any()
    rest(out[10], 128)
    got = view(out[11], np.float32)  # Select mode 0 from SetCmpMask(sel): bits 0..63 for both repeats
    np.testing.assert_array_equal(got[:128], np.where(sbits[np.arange(128) % 64], x[:128], y[:128]))
    np.testing.assert_array_equal(bits_of(out[12], 1024), x <= y)
    rest(out[12], 128)
    # ReduceSum, mask form: per-repeat trees, then a tree over the 13 repeat sums
    sums = [tree_sum(np.concatenate([x[r * 64: r * 64 + 50], np.zeros(14, np.float32)])) for r in range(13)]
    assert view(out[13], np.float32)[0] == tree_sum(np.array(sums, np.float32))
    lanes = lanes_of([2**64 - 1, 0x0000000FFFFFFFFF], 128)
    sums_h = []
    for r in range(16):
        v = np.zeros(128, np.float32)
        v[lanes] = xh[r * 128 + np.array(lanes)]
        sums_h.append(np.float16(tree_sum(v)))
    assert view(out[14], np.float16)[0] == np.float16(tree_sum(np.array(sums_h, np.float32)))
    got = view(out[15], np.float32)
    vals = np.concatenate([x[r * 64: r * 64 + 37] for r in range(9)])
    pos = np.concatenate([r * 64 + np.arange(37) for r in range(9)])
    k = int(np.argmax(vals))
    assert got[0] == vals[k] and got[1:2].view(np.uint32)[0] == pos[k]
    assert got[8] == vals[k] and got[9:10].view(np.uint32)[0] == pos[k]  # GetReduceMaxMinCount
    got = view(out[16], np.float16)
    lanes = lanes_of([0x00FF00FF00FF00FF, 0xFFFF000000000000], 128)
    vals = np.concatenate([xh[r * 256 + np.array(lanes)] for r in range(5)])
    pos = np.concatenate([r * 128 + np.array(lanes) for r in range(5)])
    k = int(np.argmin(vals))
    assert got[0] == vals[k] and got[1:2].view(np.uint16)[0] == pos[k]
    got = view(out[17], np.float32)
    assert got[0] == x[:300].max() and got[1:2].view(np.uint32)[0] == int(np.argmax(x[:300]))
    got = view(out[18], np.float32)
    np.testing.assert_array_equal(got[:96], x[:192:2] + x[1:192:2])
    got = view(out[19], np.float32)
    want = view(FILL, np.float32)
    for r in range(2):
        for e in range(40):
            want[r * 64 + e] = x[r * 128 + (e // 8) * 16 + e % 8]
    want[512:612] = y[:100]
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


# --- the Cast table ---------------------------------------------------------------------------------


def test_cast_pairs(exe, tmp_path: Path) -> None:
    rng = np.random.default_rng(19)
    f = (rng.standard_normal(256) * 1e3).astype(np.float32)
    f[:4] = [2.5, -2.5, 3.5, -0.5]  # ties
    i64 = rng.integers(-2**40, 2**40, 256).astype(np.int64)
    i64[:2] = [2**24 + 1, -(2**24 + 3)]  # between floats
    i32 = rng.integers(-2**16, 2**16, 256).astype(np.int32)
    u8 = rng.integers(0, 256, 256).astype(np.uint8)
    h = (rng.standard_normal(256) * 150).astype(np.float16)
    h[:3] = [0.5, 1.5, 254.5]
    save(tmp_path, f=f, i64=i64, i32=i32, u8=u8, h=h)
    ok(exe["cast_pairs"], "run", tmp_path)
    out = blocks(tmp_path)
    n = 200
    np.testing.assert_array_equal(view(out[0], np.int64)[:n], np.rint(f[:n]).astype(np.int64))
    np.testing.assert_array_equal(view(out[1], np.int64)[:n], np.floor(f[:n]).astype(np.int64))
    np.testing.assert_array_equal(view(out[2], np.float32)[:n], i64[:n].astype(np.float32))  # RNE
    trunc = i64[:n].astype(np.float32)
    over = np.abs(trunc.astype(np.float64)) > np.abs(i64[:n].astype(np.float64))
    trunc[over] = np.nextafter(trunc[over], np.float32(0))
    np.testing.assert_array_equal(view(out[3], np.float32)[:n], trunc)
    assert over.any()  # the data has inexact values
    np.testing.assert_array_equal(view(out[4], np.int64)[:n], i32[:n].astype(np.int64))
    # out[5] (int64_t -> int32_t) is checked on in-range values below
    np.testing.assert_array_equal(view(out[6], np.float16)[:192],
                                  (i32[:192].astype(np.float32) * np.float32(0.5)).astype(np.float16))
    np.testing.assert_array_equal(view(out[7], np.float16)[:n], u8[:n].astype(np.float16))
    hf = h[:n].astype(np.float64)
    np.testing.assert_array_equal(view(out[8], np.uint8)[:n], np.clip(np.rint(hf), 0, 255))
    np.testing.assert_array_equal(view(out[9], np.uint8)[:n], np.clip(np.ceil(hf), 0, 255))


def test_cast_int64_to_int32_in_range(exe, tmp_path: Path) -> None:
    rng = np.random.default_rng(23)
    i64 = rng.integers(-2**31, 2**31, 256).astype(np.int64)
    save(tmp_path, f=np.zeros(256, np.float32), i64=i64, i32=np.zeros(256, np.int32),
         u8=np.zeros(256, np.uint8), h=np.zeros(256, np.float16))
    ok(exe["cast_pairs"], "run", tmp_path)
    np.testing.assert_array_equal(view(blocks(tmp_path)[5], np.int32)[:200], i64[:200])


# --- Matmul block by block ----------------------------------------------------------------------


@pytest.mark.parametrize("case", ["leakyrelu", "gm", "async"])
def test_matmul_iterate(exe, tmp_path: Path, case: str) -> None:
    m, n, k = 100, 72, 40  # tails on M (4 rows) and N (8 and 4 columns)
    rng = np.random.default_rng(29)
    a = rng.standard_normal((m, k)).astype(np.float16)
    b = rng.standard_normal((k, n)).astype(np.float16)
    bias = rng.standard_normal(n).astype(np.float32)
    save(tmp_path, a=a, b=b, bias=bias)
    ok(exe["matmul_iterate"], case, tmp_path, m, n, k, 2)  # (gm, async: one core, N first)
    c = np.fromfile(tmp_path / "c.bin", np.float32).reshape(m, n)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    if case == "leakyrelu":
        ref = ref + bias
        ref = np.where(ref < 0, ref * np.float32(0.001), ref)
    np.testing.assert_allclose(c, ref, rtol=1e-5, atol=1e-5)


# --- SoftMax and LayerNorm ------------------------------------------------------------------------


def test_softmax_layernorm(exe, tmp_path: Path) -> None:
    mf, kf, mh, kh = 13, 72, 9, 48
    bl, sl, hl, horig = 2, 5, 40, 37
    rng = np.random.default_rng(31)
    inp = np.zeros(16384, np.uint8)
    xf = (rng.standard_normal((mf, kf)) * 3).astype(np.float32)
    xh = (rng.standard_normal((mh, kh)) * 3).astype(np.float16)
    x = rng.standard_normal((bl * sl, hl)).astype(np.float32) * 2 + 1
    gamma = rng.standard_normal(hl).astype(np.float32)
    beta = rng.standard_normal(hl).astype(np.float32)
    inp[:xf.nbytes] = xf.view(np.uint8).ravel()
    inp[4096:4096 + xh.nbytes] = xh.view(np.uint8).ravel()
    ln_in = np.concatenate([x.ravel(), gamma, beta])
    inp[8192:8192 + ln_in.nbytes] = ln_in.view(np.uint8)
    save(tmp_path, **{"in": inp})
    ok(exe["softmax_layernorm"], "run", tmp_path, mf, kf, mh, kh, bl, sl, hl, horig)
    out = np.fromfile(tmp_path / "out.bin", np.uint8)
    sm, ln = out[:16384], out[16384:]

    def softmax(v):
        v = v.astype(np.float64)
        e = np.exp(v - v.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True), v.max(1), e.sum(1)

    want, _mx, sm_sum = softmax(xf)
    np.testing.assert_allclose(sm[:xf.nbytes].view(np.float32).reshape(mf, kf), want, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(sm[4096:4096 + mf * 32].view(np.float32).reshape(mf, 8),
                               np.repeat(sm_sum[:, None], 8, 1), rtol=2e-6)
    np.testing.assert_array_equal(sm[5120:5120 + mf * 32].view(np.float32).reshape(mf, 8),
                                  np.repeat(xf.max(1)[:, None], 8, 1))
    want_h, mx_h, sum_h = softmax(xh)
    np.testing.assert_allclose(sm[6144:6144 + xh.nbytes].view(np.float16).reshape(mh, kh), want_h,
                               rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(sm[8192:8192 + mh * 32].view(np.float32).reshape(mh, 8)[:, 0], sum_h,
                               rtol=2e-6)
    np.testing.assert_array_equal(sm[9216:9216 + mh * 32].view(np.float32).reshape(mh, 8)[:, 0], mx_h)
    np.testing.assert_allclose(sm[10240:10240 + xf.nbytes].view(np.float32).reshape(mf, kf), want,
                               rtol=2e-6, atol=1e-7)
    # LayerNorm: statistics over the first 37 of 40 columns
    xr = x[:, :horig].astype(np.float64)
    mean, var = xr.mean(1), xr.var(1)
    y = (x.astype(np.float64) - mean[:, None]) / np.sqrt(var[:, None] + 1e-5) * gamma + beta
    np.testing.assert_allclose(ln[:x.nbytes].view(np.float32).reshape(bl * sl, hl)[:, :horig],
                               y[:, :horig], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ln[8192:8192 + 40].view(np.float32), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ln[9216:9216 + 40].view(np.float32), var, rtol=1e-5)


# --- static tensors -----------------------------------------------------------------------------


def test_static_tensor(exe, tmp_path: Path) -> None:
    n = 4 * 768
    x = np.random.default_rng(37).standard_normal(n).astype(np.float32)
    save(tmp_path, x=x)
    ok(exe["static_tensor"], "run", tmp_path, n, 4)
    np.testing.assert_array_equal(np.fromfile(tmp_path / "y.bin", np.float32),
                                  np.maximum(x * np.float32(1.5) + np.float32(-0.25), 0))


# --- cross-core: SetAtomicAdd and SyncAll --------------------------------------------------------


def test_atomic_add_and_sync_all(exe, tmp_path: Path) -> None:
    per_core, cores = 256, 4
    x = np.random.default_rng(41).standard_normal(per_core * cores).astype(np.float32)
    save(tmp_path, x=x)
    ok(exe["sync_atomic"], "threads", tmp_path, per_core, cores)  # as many workers as blocks
    total = (x.astype(np.float64) ** 2).sum()
    acc = np.fromfile(tmp_path / "acc.bin", np.float32)
    np.testing.assert_allclose(acc[0], total, rtol=1e-5)
    assert (acc[1:] == 0).all()
    np.testing.assert_allclose(np.fromfile(tmp_path / "y.bin", np.float32)[0], np.sqrt(acc[0]), rtol=1e-6)


def test_sync_all_needs_a_worker_per_block(exe, tmp_path: Path) -> None:
    save(tmp_path, x=np.zeros(4 * 256, np.float32))
    proc = subprocess.run([str(exe["sync_atomic"]), "default", str(tmp_path), "256", "4"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CIRC_ASCENDC_THREADS": "2"}, check=False)
    assert proc.returncode == 1
    assert "SyncAll needs its 4 blocks to run at once" in proc.stderr
    assert sum(line.startswith("ascendc-cpu: error:") for line in proc.stderr.splitlines()) == 1


# --- the rules added with this API surface, each broken once ----------------------------------------

MISUSE = {
    "mask_range": "Add: mask 65 is out of range [0, 64]",
    "mask_high_bits": "Mul: mask[1] = 0x1 must be 0 for a 64-lane data type",
    "repeat_past_end": "Exp: dst: repeat 2, lane 63 (blkStride 1, repStride 8) is at bytes [764, 768), past the end",
    "repeat_times": "WholeReduceSum: repeatTimes 300 is out of range [0, 255]",
    "shift_range": "ShiftRight: shift 17 is out of range [0, 16] for int16_t",
    "gather_offset": "Gather: srcOffset[0] = 4096 (+ srcBaseAddr 0) reads byte 4096 of src, which has 512 bytes",
    "gather_unaligned": "is not a multiple of sizeof(float)",
    "deq_scale": "call SetDeqScale(half scale) first",
    "cast_mode": "Cast: int64_t -> float does not support RoundMode::CAST_NONE",
    "counter_required": "the count form with isSetMask = false takes its element count from the mask register",
    "static_overflow": "LocalMemAllocator::Alloc: UB overflow: 16000 x float (64000 bytes) at offset 160000",
    "static_with_pipe": "LocalMemAllocator cannot be mixed with a TPipe",
    "pipe_after_static": "a TPipe in a kernel that placed tensors with LocalMemAllocator",
    "assert": "assert: assertion `n > 100` failed",
    "ascendc_assert": "assertion `n % 2 == 0` failed: n = 7 is odd",
    "get_before_iterate": "Matmul::GetTensorC: no block to get: call Iterate first",
    "get_small_c": "the C tensor holds 128 elements, less than baseM * baseN = 256",
    "softmax_unaligned": "SoftMax: srcK 12 x sizeof(float) is not a multiple of 32 bytes",
    "broadcast_shape": "Broadcast: srcShape[1] = 2: the broadcast axis must have length 1",
    "tbuf_free_foreign": "TBuf::FreeTensor: the tensor was not obtained from this TBuf<VECCALC>",
    "whole_reduce_dst": "WholeReduceMax: dst holds 16 bytes, but 2 repeats with dstRepStride 4 write 40",
    "static_tensor_outside": "LocalTensor: bytes [196352, 196864) exceed the UB of the SoC (196608 bytes)",
    "atomic_type": "DataCopy(local->GM): the atomic mode was set for half, but this copy moves float",
    "sync_all_threads": "SyncAll: SyncAll needs its 2 blocks to run at once",
    "async_no_workspace": "Iterate<false> caches C in a workspace: call SetWorkspace before it",
    "gathermask_counter": "GatherMask: reduceMode = true (Counter mode) is not implemented",
    "compare_count_256": "Compare: count 100 x sizeof(float) = 400 bytes is not a multiple of 256",
    "compare_int32_mode": "Compare: int32_t operands support CMPMODE::EQ only (got CMPMODE::LT)",
    "get_cmp_mask_small": "GetCmpMask: dst holds 64 bytes, but 128 bytes of bits are needed",
    "select_scalar_mode": "Select: SELMODE::VSEL_TENSOR_SCALAR_MODE selects between a tensor and a scalar",
    "select_selmask_small": "Select: selMask holds 16 bytes, but 32 bytes of bits are needed",
    "reduce_mask_work": "ReduceMax: sharedTmpBuffer holds 8 elements, but ReduceMax of 9 repeats with calIndex needs 32",
    "max_min_unset": "GetReduceMaxMinCount: no ReduceMax / ReduceMin / WholeReduceMax / WholeReduceMin has run",
}


@pytest.mark.parametrize("case", sorted(MISUSE))
def test_misuse_is_reported(exe, tmp_path: Path, case: str) -> None:
    proc = run(exe["misuse_api"], case, tmp_path)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert sum(line.startswith("ascendc-cpu: error:") for line in lines) == 1, proc.stderr
    assert lines[0].startswith("ascendc-cpu: error: block "), proc.stderr
    assert "misuse_api.cpp:" in lines[0]
    assert MISUSE[case] in proc.stderr, proc.stderr
    assert "ok" not in proc.stdout


# --- compile-time rules ---------------------------------------------------------------------------

COMPILE_ERRORS = {
    "GET_TILING_DATA without a registered struct":
        ("extern \"C\" __global__ __aicore__ void k(GM_ADDR t) { GET_TILING_DATA(d, t); (void)d; }",
         "no tiling struct is registered"),
    "Cast pair missing from the arch-220 table":
        (("void f(AscendC::LocalTensor<int8_t> d, AscendC::LocalTensor<float> s) "
         "{ AscendC::Cast(d, s, AscendC::RoundMode::CAST_RINT, 64); }"),
         "has no vector conversion on arch 220"),
    "And on float":
        ("void f(AscendC::LocalTensor<float> d) { AscendC::And(d, d, d, 64); }",
         "And: T must be int16_t or uint16_t"),
    "GetTensorC(LocalTensor) with C in GM":
        (("using M = AscendC::Matmul<AscendC::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>, "
         "AscendC::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>, "
         "AscendC::MatmulType<AscendC::TPosition::GM, CubeFormat::ND, float>>;\n"
         "void f(M& m, AscendC::LocalTensor<float> c) { m.GetTensorC(c); }"),
         "needs C in TPosition::VECIN/VECCALC/VECOUT"),
    "Compare into a float dst":
        ("void f(AscendC::LocalTensor<float> d) { AscendC::Compare(d, d, d, AscendC::CMPMODE::LT, 64); }",
         "the bit-mask dst must be int8_t or uint8_t"),
    "Select on int32_t":
        (("void f(AscendC::LocalTensor<int32_t> d, AscendC::LocalTensor<uint8_t> m) "
         "{ AscendC::Select(d, m, d, d, AscendC::SELMODE::VSEL_TENSOR_TENSOR_MODE, 64); }"),
         "Select: T must be half or float"),
    "GetReduceMaxMinCount without the index on arch 220":
        ("void f(float& v) { AscendC::GetReduceMaxMinCount<float>(v); }",
         "GetReduceMaxMinCount(value) does not exist on arch 220"),
}


def test_compile_time_rules(tmp_path: Path) -> None:
    """Misuse the type system can see does not compile (one g++ run per case, in parallel)."""
    def compile_one(item):
        label, (body, message) = item
        src = tmp_path / f"case{abs(hash(label))}.cpp"
        src.write_text('#include "kernel_operator.h"\n' + body + "\n")
        proc = subprocess.run([acpu.compiler(), *acpu.cflags(), "-fsyntax-only", str(src)],
                              capture_output=True, text=True, check=False)
        return label, proc, message

    with ThreadPoolExecutor(max_workers=2) as pool:
        for label, proc, message in pool.map(compile_one, COMPILE_ERRORS.items()):
            assert proc.returncode != 0, label
            assert message in proc.stderr, (label, proc.stderr[-2000:])
