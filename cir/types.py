"""Tensor element types and data formats of CIR.

CIR tensors are builtin ranked tensors with static shapes, e.g. ``tensor<1x4x64x64xf16>``.
The optional encoding slot of the tensor type carries the data format chosen by the layout
pass (``tensor<1x16x64x64xf16, #cir.format<NC1HWC0>>``: the shape stays logical, see
cir/formats.py); no encoding means ND.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    Float32Type,
    IntegerType,
    NoneAttr,
    StringAttr,
    TensorType,
    bf16,
    f16,
    f32,
    i1,
    i8,
    i32,
    i64,
)
from xdsl.ir import Attribute, ParametrizedAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException


@dataclass(frozen=True)
class DType:
    """One CIR element type: its IR type, numpy dtype and byte width."""

    name: str
    ir: Attribute
    np: np.dtype
    is_float: bool

    @property
    def itemsize(self) -> int:
        return self.np.itemsize


# The element types CIR accepts; everything else is rejected by the verifier.
DTYPES: tuple[DType, ...] = (
    DType("f32", f32, np.dtype(np.float32), True),
    DType("f16", f16, np.dtype(np.float16), True),
    DType("bf16", bf16, np.dtype(ml_dtypes.bfloat16), True),
    DType("i64", i64, np.dtype(np.int64), False),
    DType("i32", i32, np.dtype(np.int32), False),
    DType("i8", i8, np.dtype(np.int8), False),
    DType("i1", i1, np.dtype(np.bool_), False),
)
_BY_IR = {d.ir: d for d in DTYPES}
_BY_NP = {d.np: d for d in DTYPES}
_BY_NAME = {d.name: d for d in DTYPES}


def dtype_of(t: Attribute) -> DType:
    """The DType of an element type or of a tensor type."""
    if isinstance(t, TensorType):
        t = t.element_type
    try:
        return _BY_IR[t]
    except KeyError:
        raise VerifyException(f"element type {t} is not supported by CIR") from None


def dtype_from_numpy(dt: np.dtype | type) -> DType:
    dt = np.dtype(dt)
    if dt == np.float64:  # numpy's default float: CIR computes in f32
        dt = np.dtype(np.float32)
    try:
        return _BY_NP[dt]
    except KeyError:
        raise ValueError(f"numpy dtype {dt} has no CIR element type") from None


def dtype_named(name: str) -> DType:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(
            f"unknown dtype '{name}' (expected one of {', '.join(_BY_NAME)})"
        ) from None


def is_float(t: Attribute) -> bool:
    return isinstance(
        t.element_type if isinstance(t, TensorType) else t,
        Float32Type | Float16Type | BFloat16Type,
    )


def is_bool(t: Attribute) -> bool:
    e = t.element_type if isinstance(t, TensorType) else t
    return isinstance(e, IntegerType) and e.width.data == 1


# GE data formats with their GE enum values; ND is the default (no encoding).
FORMATS: dict[str, int] = {
    "NCHW": 0,
    "NHWC": 1,
    "ND": 2,
    "NC1HWC0": 3,
    "FRACTAL_Z": 4,
    "FRACTAL_NZ": 29,
}


@irdl_attr_definition
class FormatAttr(ParametrizedAttribute):
    """The physical data format of a tensor: ``#cir.format<NC1HWC0>``."""

    name = "cir.format"
    format: StringAttr

    def __init__(self, format: str | StringAttr):
        super().__init__(StringAttr(format) if isinstance(format, str) else format)

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            pos = parser.pos
            ident = parser.parse_identifier()
            if ident not in FORMATS:
                parser.raise_error(
                    f"unknown data format '{ident}' (expected one of {', '.join(FORMATS)})",
                    pos,
                    parser.pos,
                )
        return (StringAttr(ident),)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{self.format.data}>")

    def verify(self) -> None:
        if self.format.data not in FORMATS:
            raise VerifyException(f"unknown data format '{self.format.data}'")


def tensor(shape: Sequence[int], dtype: DType | Attribute | str, fmt: str | None = None) -> TensorType:
    """Build a CIR tensor type: ``tensor([1, 4], "f32")``."""
    if isinstance(dtype, str):
        dtype = dtype_named(dtype)
    elem = dtype.ir if isinstance(dtype, DType) else dtype
    enc: Attribute = FormatAttr(fmt) if fmt and fmt != "ND" else NoneAttr()
    return TensorType(elem, [int(d) for d in shape], enc)


def shape_of(t: Attribute) -> tuple[int, ...]:
    assert isinstance(t, TensorType)
    return t.get_shape()


def format_of(t: TensorType) -> str:
    return t.encoding.format.data if isinstance(t.encoding, FormatAttr) else "ND"


def numel(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
