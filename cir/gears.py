"""Dynamic shapes as ATC means them, compiled as gears: a set of static input shapes.

ATC marks the dimensions that vary with ``-1`` in ``--input_shape`` and gives their values with
one of ``--dynamic_batch_size "1,2,4"`` (every -1 is the batch), ``--dynamic_image_size
"64,64;96,96"`` (each input's two -1 dims are H, W), ``--dynamic_dims "1,64;2,128"`` (with
``--input_format=ND``: the -1 dims of all inputs, in order), or with a range ``lo~hi`` in place
of a dimension (``-1`` alone is unbounded). circ compiles every gear (each value of a range is
one) with static shapes: the kernels are shared, their tiling is computed per gear, and one
package serves all of them; the runtime picks the gear from the shapes of a request. A shape
outside the set is an error that names the set.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence

from cir.errors import CircError, UsageError

Shape = tuple[int, ...]
Gear = dict[str, Shape]
MAX_GEARS = 32  # each gear is compiled; ATC allows up to 100 batch gears, circ keeps compile time sane
DIM = re.compile(r"\s*(-1|\d+|\d+~\d+)\s*")


def parse_shapes(text: str, flag: str = "--input_shape") -> dict[str, list[str]]:
    """``"x:-1,3,8~16;t:1"`` -> {"x": ["-1", "3", "8~16"], "t": ["1"]} (checked, not expanded)."""
    shapes: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, dims = part.rpartition(":")
        if not sep or not name:
            raise UsageError(f"{flag} expects NAME:D1,D2,...;NAME:... got '{part}'")
        if name in shapes:
            raise UsageError(f"{flag}: input '{name}' is given twice")
        toks = [d for d in dims.split(",")] if dims.strip() else []
        for d in toks:
            m = DIM.fullmatch(d)
            if m is None:
                raise UsageError(f"{flag}: '{d.strip()}' is not a dimension (an integer >= 0, -1, or "
                                 f"a range LO~HI) in '{part}'")
            if "~" in d:
                lo, hi = (int(x) for x in d.split("~"))
                if not 0 < lo <= hi:
                    raise UsageError(f"{flag}: range '{d.strip()}' must have 0 < LO <= HI (in '{part}')")
        shapes[name] = [d.strip() for d in toks]
    return shapes


def _ints(text: str, flag: str) -> list[list[int]]:
    gears = []
    for g in filter(None, (p.strip() for p in text.split(";"))):
        try:
            vals = [int(v) for v in g.split(",") if v.strip()]
        except ValueError:
            raise UsageError(f"{flag}: '{g}' is not a list of integers") from None
        if not vals or any(v <= 0 for v in vals):
            raise UsageError(f"{flag}: gear '{g}' needs positive integers")
        gears.append(vals)
    if not gears:
        raise UsageError(f"{flag}: no gears given")
    if len({tuple(g) for g in gears}) != len(gears):
        raise UsageError(f"{flag}: a gear is given twice")
    return gears


def expand(shapes: Mapping[str, Sequence[str]], *, batch: str | None = None, image: str | None = None,
           dims: str | None = None, input_format: str | None = None) -> list[Gear]:
    """The gears (one static shape per input each) of ``--input_shape`` and the gear flags."""
    given = [f for f, v in (("--dynamic_batch_size", batch), ("--dynamic_image_size", image),
                            ("--dynamic_dims", dims)) if v is not None]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} cannot be combined: give one kind of gears")
    unknown = [(n, i) for n, s in shapes.items() for i, d in enumerate(s) if d == "-1"]
    ranged = [(n, i) for n, s in shapes.items() for i, d in enumerate(s) if "~" in d]
    if given and ranged:
        raise UsageError(f"{given[0]} and ranges (LO~HI) in --input_shape cannot be combined")
    if given and not unknown:
        raise UsageError(f"{given[0]} needs -1 in --input_shape for the dimensions that vary")
    values: list[list[int]] = []  # per gear, the values of `unknown` in order
    if batch is not None:  # "1,2,4": one batch size per gear
        values = [[g[0]] * len(unknown) for g in _ints(batch.replace(",", ";"), "--dynamic_batch_size")]
    elif image is not None:
        per_input = {n: sum(1 for m, _ in unknown if m == n) for n in shapes}
        if any(c not in (0, 2) for c in per_input.values()):
            raise UsageError("--dynamic_image_size: each input with -1 needs exactly two (H and W)")
        sizes = _ints(image, "--dynamic_image_size")
        if any(len(g) != 2 for g in sizes):
            raise UsageError("--dynamic_image_size: H,W per gear")
        values = [g * (len(unknown) // 2) for g in sizes]
    elif dims is not None:
        if input_format not in (None, "ND"):
            raise UsageError("--dynamic_dims needs --input_format=ND")
        values = _ints(dims, "--dynamic_dims")
        for g in values:
            if len(g) != len(unknown):
                raise UsageError(f"--dynamic_dims: gear {','.join(map(str, g))} has {len(g)} values for "
                                 f"{len(unknown)} -1 dimension(s) of --input_shape")
    elif unknown:
        n, i = unknown[0]
        raise UsageError(f"--input_shape: dimension {i} of '{n}' is -1 with no values: give "
                         "--dynamic_batch_size, --dynamic_image_size, --dynamic_dims or a range LO~HI")
    else:  # ranges: every combination of their values
        spans = [range(int(shapes[n][i].split("~")[0]), int(shapes[n][i].split("~")[1]) + 1) for n, i in ranged]
        total = 1
        for s in spans:
            total *= len(s)
        if total > MAX_GEARS:
            raise UsageError(f"--input_shape: the ranges give {total} shapes; circ compiles each range "
                             f"value as a gear, at most {MAX_GEARS}")
        values = [list(v) for v in itertools.product(*spans)]
        unknown = ranged
    if len(values) > MAX_GEARS:
        raise UsageError(f"{len(values)} gears: at most {MAX_GEARS}")
    gears: list[Gear] = []
    for vals in values or [[]]:
        fill = dict(zip(unknown, vals, strict=True))
        gears.append({n: tuple(fill.get((n, i), 0) if d in ("-1",) or "~" in d else int(d)
                               for i, d in enumerate(s)) for n, s in shapes.items()})
    return gears


def dynamic_shape(shapes: Sequence[Sequence[int]]) -> list[int]:
    """One shape for a tensor over gears: a dimension that differs between gears is -1."""
    first = list(shapes[0])
    return [d if all(s[i] == d for s in shapes) else -1 for i, d in enumerate(first)]


def describe(gears: Sequence[Mapping[str, Sequence[int]]]) -> str:
    """The allowed shapes, for messages: ``x:1x4x8x8, t:1 | x:2x4x8x8, t:2``."""
    return " | ".join(", ".join(f"{n}:{'x'.join(map(str, s)) or 'scalar'}" for n, s in g.items()) for g in gears)


def pick(gears: Sequence[Mapping[str, Sequence[int]]], shapes: Mapping[str, Sequence[int]]) -> int:
    """The index of the gear with exactly these input shapes; a clear error otherwise."""
    for i, g in enumerate(gears):
        if all(tuple(g[n]) == tuple(shapes[n]) for n in g):
            return i
    given = ", ".join(f"{n}:{'x'.join(map(str, s))}" for n, s in shapes.items())
    raise CircError(f"input shapes {given} are not among the shapes this package was compiled for: "
                    f"{describe(gears)}")
