"""numpy <-> ``tensorflow.TensorProto`` (what TF Serving's gRPC API carries), and the
``DT_*`` names of CIR's element types, without TensorFlow.

Decoding reads ``tensor_content`` (raw little-endian bytes) or the typed repeated fields
(``float_val``, ``int_val``, ``half_val``, ...) as TensorFlow does: a single value fills the
whole shape, no values means zeros. Encoding always writes ``tensor_content``.
"""

from __future__ import annotations

import math
from typing import Any

import ml_dtypes
import numpy as np

from cir.errors import CircError

# DataType enum values (tensorflow/core/framework/types.proto)
DT = {
    "DT_FLOAT": 1, "DT_DOUBLE": 2, "DT_INT32": 3, "DT_UINT8": 4, "DT_INT16": 5, "DT_INT8": 6,
    "DT_STRING": 7, "DT_INT64": 9, "DT_BOOL": 10, "DT_BFLOAT16": 14, "DT_UINT16": 17,
    "DT_HALF": 19, "DT_UINT32": 22, "DT_UINT64": 23,
}
DT_NAME = {v: k for k, v in DT.items()}

_NP_OF_DT = {
    1: np.dtype(np.float32), 2: np.dtype(np.float64), 3: np.dtype(np.int32), 4: np.dtype(np.uint8),
    5: np.dtype(np.int16), 6: np.dtype(np.int8), 9: np.dtype(np.int64), 10: np.dtype(np.bool_),
    14: np.dtype(ml_dtypes.bfloat16), 17: np.dtype(np.uint16), 19: np.dtype(np.float16),
    22: np.dtype(np.uint32), 23: np.dtype(np.uint64),
}
_DT_OF_NP = {v: k for k, v in _NP_OF_DT.items()}
MAX_FILL_BYTES = 1 << 30  # a few values may fill a shape (TensorFlow's rule), up to this size
MAX_RANK = 32  # more dims (TensorProto), deeper nesting (JSON): refused
MAX_ELEMENTS = 1 << 40  # nor more elements, zero dims aside (numpy refuses such shapes)

# which repeated field holds the values of each dtype when tensor_content is empty
_VAL_FIELD = {1: "float_val", 2: "double_val", 3: "int_val", 4: "int_val", 5: "int_val",
              6: "int_val", 9: "int64_val", 10: "bool_val", 14: "half_val", 17: "int_val",
              19: "half_val", 22: "uint32_val", 23: "uint64_val"}


def dt_of(np_dtype: np.dtype) -> int:
    try:
        return _DT_OF_NP[np.dtype(np_dtype)]
    except KeyError:
        raise CircError(f"dtype {np_dtype} has no TensorFlow DataType") from None


def dt_name(np_dtype: np.dtype) -> str:
    return DT_NAME[dt_of(np_dtype)]


def to_ndarray(proto: Any, what: str = "tensor",
               max_fill_bytes: int = MAX_FILL_BYTES) -> np.ndarray:
    """A TensorProto -> a numpy array (a copy; raises CircError for what cannot be read).

    `max_fill_bytes`: the largest array that fewer values than the shape holds may fill."""
    dtype = _NP_OF_DT.get(proto.dtype)
    if dtype is None:
        name = DT_NAME.get(proto.dtype, f"DataType {proto.dtype}")
        raise CircError(f"{what}: {name} tensors are not supported")
    shape = _shape(proto, what)
    n = math.prod(shape)
    if proto.tensor_content:
        if len(proto.tensor_content) != n * dtype.itemsize:
            raise CircError(f"{what}: tensor_content has {len(proto.tensor_content)} bytes, "
                            f"shape {list(shape)} of {DT_NAME[proto.dtype]} needs {n * dtype.itemsize}")
        return np.frombuffer(proto.tensor_content, dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    flat = _values(proto, dtype, what)
    if flat.size == n:
        return flat.reshape(shape)
    if flat.size > n:
        raise CircError(f"{what}: {flat.size} values for shape {list(shape)}")
    if n * dtype.itemsize > max_fill_bytes:
        raise CircError(f"{what}: shape {list(shape)} is too large to fill from {flat.size} "
                        f"value(s) (limit {max_fill_bytes} bytes)")
    if flat.size == 0:
        return np.zeros(shape, dtype)
    # TensorFlow repeats the last value
    return np.concatenate([flat, np.full(n - flat.size, flat[-1], dtype)]).reshape(shape)


def _shape(proto: Any, what: str) -> tuple[int, ...]:
    if proto.tensor_shape.unknown_rank:
        raise CircError(f"{what}: the tensor shape has unknown rank")
    shape = tuple(int(d.size) for d in proto.tensor_shape.dim)
    if len(shape) > MAX_RANK:
        raise CircError(f"{what}: rank {len(shape)} is over the limit of {MAX_RANK}")
    if any(d < 0 for d in shape):
        raise CircError(f"{what}: negative dimension in shape {list(shape)}")
    if math.prod(d for d in shape if d) > MAX_ELEMENTS:
        raise CircError(f"{what}: shape {list(shape)} is too large")
    return shape


def _values(proto: Any, dtype: np.dtype, what: str) -> np.ndarray:
    """The typed repeated field's values (``int_val`` for int8 ... : range-checked)."""
    field = _VAL_FIELD[proto.dtype]
    vals = getattr(proto, field)
    if proto.dtype in (14, 19):  # half_val holds the 16-bit patterns
        return _in_range(vals, np.dtype(np.uint16), what, field).view(dtype)
    if field == "int_val" and dtype != np.int32:
        return _in_range(vals, dtype, what, field)
    return np.asarray(vals, dtype)


def _in_range(vals: Any, dtype: np.dtype, what: str, field: str) -> np.ndarray:
    wide = np.asarray(vals, np.int64)
    info = np.iinfo(dtype)
    if wide.size and (wide.min() < info.min or wide.max() > info.max):
        raise CircError(f"{what}: {field} holds values out of the range of {dtype}")
    return wide.astype(dtype)


def from_ndarray(arr: np.ndarray, proto: Any) -> Any:
    """Fill `proto` (a TensorProto) from `arr`; returns it."""
    arr = np.asarray(arr)
    proto.dtype = dt_of(arr.dtype)
    for d in arr.shape:
        proto.tensor_shape.dim.add().size = int(d)
    proto.tensor_content = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
    return proto
