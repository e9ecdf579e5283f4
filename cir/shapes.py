"""Shape arithmetic shared by CIR shape inference (and by importers that resolve shapes).

Every function raises ``VerifyException`` with a message that names the inconsistency.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.utils.exceptions import VerifyException

Shape = tuple[int, ...]


def broadcast(*shapes: Sequence[int]) -> Shape:
    """numpy broadcasting of static shapes."""
    rank = max((len(s) for s in shapes), default=0)
    out: list[int] = []
    for i in range(rank):
        dim = 1
        for s in shapes:
            d = s[i - rank + len(s)] if i >= rank - len(s) else 1
            if d == 1:
                continue
            if dim not in (1, d):
                shown = " and ".join(str(tuple(x)) for x in shapes)
                raise VerifyException(f"shapes {shown} are not broadcastable")
            dim = d
        out.append(dim)
    return tuple(out)


def norm_axis(axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < max(rank, 1):
        raise VerifyException(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


def norm_axes(axes: Sequence[int], rank: int) -> tuple[int, ...]:
    if not axes:
        raise VerifyException("axes must not be empty")
    out = tuple(norm_axis(a, rank) for a in axes)
    if len(set(out)) != len(out):
        raise VerifyException(f"axes {tuple(axes)} repeat a dimension")
    return out


def expect_len(name: str, values: Sequence[int], n: int) -> None:
    if len(values) != n:
        raise VerifyException(f"{name} must have {n} elements, got {len(values)}")


def expect_rank(what: str, shape: Sequence[int], rank: int) -> None:
    if len(shape) != rank:
        raise VerifyException(f"{what} must have rank {rank}, got shape {tuple(shape)}")


def conv_out(size: int, k: int, stride: int, pad: int, dilation: int) -> int:
    """Output size of a convolution window sliding over `size` with `pad` total padding."""
    span = size + pad - dilation * (k - 1) - 1
    if span < 0:
        raise VerifyException(
            f"kernel of size {k} (dilation {dilation}) does not fit input size {size} "
            f"with padding {pad}"
        )
    return span // stride + 1


def pool_out(size: int, k: int, stride: int, pad_lo: int, pad_hi: int, dilation: int, ceil: bool) -> int:
    span = size + pad_lo + pad_hi - dilation * (k - 1) - 1
    if span < 0:
        raise VerifyException(f"pooling window {k} does not fit input size {size}")
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + pad_lo:
        out -= 1
    return out
