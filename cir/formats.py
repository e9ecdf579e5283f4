"""Ascend data formats: how a logical tensor is laid out in memory.

A CIR tensor type always holds the *logical* shape (NCHW for activations, OIHW for conv
weights, (..., M, N) for matrices); the encoding ``#cir.format<...>`` says how it is stored.
Verifiers and shape inference therefore never change with the layout; what a format changes is
the physical shape (channels padded to C0, 16x16 fractals) and so the bytes a kernel moves.

- NC1HWC0: NCHW -> pad C to a multiple of C0, reshape [N, C1, C0, H, W], transpose to
  [N, C1, H, W, C0]. C0 = 16 for 2- and 4-byte dtypes, 32 for 1-byte dtypes.
- FRACTAL_Z (conv weights, OIHW): [C1*KH*KW, N1, N0=16, C0] with O padded to N1*16 and I to C1*C0.
- FRACTAL_NZ (matmul operands, (..., M, N)): [..., N1, M1, M0=16, N0=16].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FRACTAL = 16


def c0_for(itemsize: int) -> int:
    return 32 if itemsize == 1 else 16


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def valid_rank(fmt: str, rank: int) -> bool:
    return {"NCHW": rank == 4, "NHWC": rank == 4, "NC1HWC0": rank == 4, "FRACTAL_Z": rank == 4,
            "FRACTAL_NZ": rank >= 2}.get(fmt, True)


def physical_shape(shape: Sequence[int], fmt: str, itemsize: int) -> tuple[int, ...]:
    """The stored shape of a logical tensor in `fmt`."""
    c0 = c0_for(itemsize)
    if fmt == "NC1HWC0":
        n, c, h, w = shape
        return (n, _ceil(c, c0), h, w, c0)
    if fmt == "FRACTAL_Z":
        o, i, kh, kw = shape
        return (_ceil(i, c0) * kh * kw, _ceil(o, FRACTAL), FRACTAL, c0)
    if fmt == "FRACTAL_NZ":
        *batch, m, n = shape
        return (*batch, _ceil(n, FRACTAL), _ceil(m, FRACTAL), FRACTAL, FRACTAL)
    if fmt == "NHWC":
        n, c, h, w = shape
        return (n, h, w, c)
    return tuple(shape)


def physical_bytes(shape: Sequence[int], fmt: str, itemsize: int) -> int:
    n = 1
    for d in physical_shape(shape, fmt, itemsize):
        n *= d
    return n * itemsize


def pack(a: np.ndarray, fmt: str, itemsize: int | None = None) -> np.ndarray:
    """Logical array -> its stored layout in `fmt` (padding with zeros); `itemsize` sets C0 when
    `a` stands for a tensor of another element type (index maps)."""
    c0 = c0_for(itemsize or a.dtype.itemsize)
    if fmt == "NC1HWC0":
        n, c, h, w = a.shape
        c1 = _ceil(c, c0)
        p = np.zeros((n, c1 * c0, h, w), a.dtype)
        p[:, :c] = a
        return np.ascontiguousarray(p.reshape(n, c1, c0, h, w).transpose(0, 1, 3, 4, 2))
    if fmt == "FRACTAL_Z":
        o, i, kh, kw = a.shape
        c1, n1 = _ceil(i, c0), _ceil(o, FRACTAL)
        p = np.zeros((n1 * FRACTAL, c1 * c0, kh, kw), a.dtype)
        p[:o, :i] = a
        # [N1, N0, C1, C0, KH, KW] -> [C1, KH, KW, N1, N0, C0]
        p = p.reshape(n1, FRACTAL, c1, c0, kh, kw).transpose(2, 4, 5, 0, 1, 3)
        return np.ascontiguousarray(p.reshape(c1 * kh * kw, n1, FRACTAL, c0))
    if fmt == "FRACTAL_NZ":
        *batch, m, n = a.shape
        m1, n1 = _ceil(m, FRACTAL), _ceil(n, FRACTAL)
        p = np.zeros((*batch, m1 * FRACTAL, n1 * FRACTAL), a.dtype)
        p[..., :m, :n] = a
        p = p.reshape(*batch, m1, FRACTAL, n1, FRACTAL)
        nb = len(batch)
        perm = [*range(nb), nb + 2, nb, nb + 1, nb + 3]  # [..., N1, M1, M0, N0]
        return np.ascontiguousarray(p.transpose(perm))
    if fmt == "NHWC":
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1))
    return a


def unpack(p: np.ndarray, fmt: str, shape: Sequence[int]) -> np.ndarray:
    """Stored layout -> the logical array of `shape` (dropping padding)."""
    if fmt == "NC1HWC0":
        n, c, h, w = shape
        _, c1, _, _, c0 = p.shape
        return np.ascontiguousarray(p.transpose(0, 1, 4, 2, 3).reshape(n, c1 * c0, h, w)[:, :c])
    if fmt == "FRACTAL_Z":
        o, i, kh, kw = shape
        _, n1, n0, c0 = p.shape
        c1 = p.shape[0] // (kh * kw)
        q = p.reshape(c1, kh, kw, n1, n0, c0).transpose(3, 4, 0, 5, 1, 2)
        return np.ascontiguousarray(q.reshape(n1 * n0, c1 * c0, kh, kw)[:o, :i])
    if fmt == "FRACTAL_NZ":
        *batch, m, n = shape
        nb = len(batch)
        n1, m1, m0, n0 = p.shape[nb:]
        perm = [*range(nb), nb + 1, nb + 2, nb, nb + 3]  # -> [..., M1, M0, N1, N0]
        q = p.transpose(perm).reshape(*batch, m1 * m0, n1 * n0)
        return np.ascontiguousarray(q[..., :m, :n])
    if fmt == "NHWC":
        return np.ascontiguousarray(p.transpose(0, 3, 1, 2))
    return p
