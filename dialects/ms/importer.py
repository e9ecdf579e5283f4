"""MindSpore -> the ``ms`` import dialect, from a MINDIR protobuf.

A ``.mindir`` file is parsed with the schema MindSpore ships (``mind_ir_pb2.ModelProto``); the
file is data and is never executed. An in-memory ``nn.Cell`` is first exported to MINDIR on the
CPU with its example inputs (``ms.export``), then parsed the same way.

One ``ms.<Primitive>`` op per graph node: ``REF::Conv2D:12`` is resolved through the model's
primitive table to ``ms.Conv2D``. Operands are named as MindSpore names the primitive's inputs
(the primitive's ``input_names``, else its Python signature: call arguments, then the
constructor arguments that new-style primitives pass as inputs); every other value is an
attribute, read both from the primitive (legacy ops: ``pad_list``, ``kernel_size`` ...) and from
``Constant`` inputs (new-style ops: GroupNorm's ``num_groups`` and ``eps``, ReduceMean's
``axis``). Each op's location is its cell scope (``node.domain``, e.g.
``loc("Default/res-ResBlock/norm1-GroupNorm/GroupNorm-op0")``).

The monad plumbing MindSpore threads through its graphs is dropped: ``Load`` is the parameter
it loads, ``Depend`` / ``UpdateState`` pass their first input on, ``MakeTuple`` /
``TupleGetItem`` group and pick values. Parameters become ``cir.weight`` ops named by their
parameter name (``res.conv1.weight``).
"""

from __future__ import annotations

import inspect
import os
import re
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from cir.dialects.framework_op import op_class
from xdsl.dialects.builtin import (
    IntegerType,
    ModuleOp,
    NameLoc,
    Signedness,
    StringAttr,
    TensorType,
    UnknownLoc,
    bf16,
    f16,
    f32,
    f64,
)
from xdsl.ir import Attribute, SSAValue

from cir.build import FunctionBuilder, build_function, name_attrs
from cir.errors import CircError
from cir.model_files import check_proto_text, read_model_file, static_shape
from cir.ops import WeightOp
from cir.weights import WeightStore, attach

# mind_ir TensorProto.DataType -> (IR element type, numpy dtype)
_DTYPES: dict[int, tuple[Attribute, Any]] = {
    1: (f32, np.float32), 10: (f16, np.float16), 11: (f64, np.float64), 17: (f64, np.float64),
    7: (IntegerType(64), np.int64), 6: (IntegerType(32), np.int32), 5: (IntegerType(16), np.int16),
    3: (IntegerType(8), np.int8), 2: (IntegerType(8, Signedness.UNSIGNED), np.uint8),
    9: (IntegerType(1), np.bool_),
}  # fmt: skip
_BF16 = 16

# Monad plumbing: value-wise these are their first input.
PASS_FIRST = ("Load", "Depend", "UpdateState")
# Primitives whose Python signature does not say how their inputs are named.
ARG_NAMES: dict[str, tuple[str, ...]] = {
    "BatchNorm": ("input_x", "scale", "bias", "mean", "variance", "is_training", "epsilon",
                  "momentum", "data_format"),
}
# Primitive attributes that are MindSpore's bookkeeping, not semantics.
_SKIP_PRIM_ATTRS = {"input_names", "output_names", "side_effect_propagate", "primitive_target",
                    "side_effect_mem", "side_effect_io", "is_load", "cust_aicpu"}


class _Monad:
    """The value of a Constant U/IO monad: ordering only, never data."""


MONAD = _Monad()


def _scope_name(name: str) -> str:
    """``178_1___main___Net_construct_61:conv.weight`` -> ``conv.weight``."""
    return name.rsplit(":", 1)[-1] if ":" in name else name


def _short(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# --- reading the protobuf --------------------------------------------------------------------


def parse_mindir(data: bytes, origin: str) -> Any:
    from google.protobuf.message import DecodeError
    from mindspore.train import mind_ir_pb2

    pb: Any = mind_ir_pb2  # protobuf-generated: no type information
    model = pb.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as e:
        raise CircError(f"{origin}: not a MINDIR model; corrupt or truncated ({_short(e)})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise CircError(f"{origin}: not a MINDIR model (no graph); corrupt or truncated")
    check_proto_text(model, "model", origin)
    return model


def tensor_value(t: Any, origin: str) -> np.ndarray:
    """A TensorProto's data as a numpy array."""
    if t.data_type == _BF16:
        import ml_dtypes

        np_dtype: Any = ml_dtypes.bfloat16
    elif t.data_type in _DTYPES:
        np_dtype = _DTYPES[t.data_type][1]
    else:
        raise CircError(f"{origin}: tensor '{t.name}' has unsupported data type {t.data_type}")
    shape = [int(d) for d in t.dims]
    if t.raw_data:
        arr = np.frombuffer(t.raw_data, dtype=np_dtype)
    elif t.float_data:
        arr = np.array(t.float_data, dtype=np_dtype)
    elif t.int64_data:
        arr = np.array(t.int64_data, dtype=np_dtype)
    elif t.int32_data:
        arr = np.array(t.int32_data, dtype=np_dtype)
    elif t.double_data:
        arr = np.array(t.double_data, dtype=np_dtype)
    elif t.external_data.location if t.HasField("external_data") else False:
        raise CircError(f"{origin}: tensor '{_scope_name(t.name)}' keeps its data in an external "
                        "file, which circ does not read")
    else:
        arr = np.zeros(0, dtype=np_dtype)
    if arr.size != int(np.prod(shape)):
        raise CircError(f"{origin}: tensor '{_scope_name(t.name)}' has {arr.size} values for "
                        f"shape {shape}; the file is corrupt or truncated")
    return arr.reshape(shape).copy()


def tensor_type(t: Any) -> TensorType:
    if t.data_type == _BF16:
        elem: Attribute = bf16
    elif t.data_type in _DTYPES:
        elem = _DTYPES[t.data_type][0]
    else:
        raise CircError(f"tensors of MindSpore data type {t.data_type} are not supported")
    return TensorType(elem, static_shape(t.dims, f"tensor '{_scope_name(t.name)}'"))


def attr_value(a: Any, origin: str) -> Any:
    """An AttributeProto as a Python value (numbers, strings, lists, arrays)."""
    from mindspore.train import mind_ir_pb2

    pb: Any = mind_ir_pb2  # protobuf-generated: no type information
    T = pb.AttributeProto
    kind = a.type
    if kind in (T.UMONAD, T.IOMONAD):
        return MONAD
    if kind == T.NONE:
        return None
    if kind == T.BOOL:
        return bool(a.i)
    # inside a tuple, a number sits in the one-element repeated field (ints: 3), not in i / f
    if kind in (T.INT8, T.INT16, T.INT32, T.INT64, T.UINT8, T.UINT16, T.UINT32, T.UINT64):
        return _one([int(x) for x in a.ints]) if a.ints else int(a.i)
    if kind == T.FLOAT:  # the shortest decimal: 1e-05, not 9.999999747378752e-06
        return _one([float(str(np.float32(x))) for x in a.floats]) if a.floats else float(
            str(np.float32(a.f)))
    if kind == T.DOUBLE:
        return _one([float(x) for x in a.doubles]) if a.doubles else float(a.d)
    if kind == T.STRING:
        if a.strings:
            return _one([_text(x) for x in a.strings])
        return _text(a.s)
    if kind in (T.TUPLE, T.LIST):
        return [attr_value(v, origin) for v in a.values]
    if kind == T.TENSORS:
        if len(a.tensors) == 1 and (a.tensors[0].raw_data or a.tensors[0].int64_data
                                    or a.tensors[0].float_data or not a.tensors[0].dims):
            return tensor_value(a.tensors[0], origin)
        return None
    if kind == T.TENSOR and a.HasField("t"):
        return tensor_value(a.t, origin)
    if kind == T.SCALAR and a.values:
        return attr_value(a.values[0], origin)
    return None


def _one(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def _text(v: bytes | str) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def _node_types(node: Any) -> list[TensorType]:
    """Result types from the node's inferred ``shape`` attribute (one per tuple element)."""
    from mindspore.train import mind_ir_pb2

    pb: Any = mind_ir_pb2  # protobuf-generated: no type information
    T = pb.AttributeProto
    for a in node.attribute:
        if a.name != "shape":
            continue
        if a.type == T.TENSORS:
            return [tensor_type(t) for t in a.tensors]
        if a.type == T.TUPLE:
            out = []
            for v in a.values:
                if v.type != T.TENSORS:
                    raise CircError(f"node '{node.domain or node.name}' returns a nested or "
                                    "non-tensor tuple, which circ does not support")
                out.extend(tensor_type(t) for t in v.tensors)
            return out
    return []


@cache
def argument_names(op_type: str) -> tuple[str, ...] | None:
    """How MindSpore names a primitive's inputs: call arguments, then constructor arguments."""
    if op_type in ARG_NAMES:
        return ARG_NAMES[op_type]
    try:
        from mindspore.ops import auto_generate, operations
    except ImportError:  # pragma: no cover - mindspore is installed with the frameworks
        return None
    cls = getattr(auto_generate, op_type, None) or getattr(operations, op_type, None)
    if cls is None or not isinstance(cls, type):
        return None
    names: list[str] = []
    for fn in (cls.__call__, cls.__init__):
        try:
            params = list(inspect.signature(fn).parameters.values())[1:]
        except (TypeError, ValueError):
            return None
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            if fn is cls.__call__:
                return None
            continue
        names.extend(p.name for p in params)
    return tuple(names)


# --- loading ---------------------------------------------------------------------------------


def export_cell(cell: Any, example_inputs: Any) -> bytes:
    """Export an nn.Cell with example inputs to MINDIR (on the CPU) and return the bytes."""
    import mindspore as ms

    if example_inputs is None:
        raise CircError("importing an nn.Cell needs example_inputs (a tuple of arrays)")
    items = list(example_inputs) if isinstance(example_inputs, list | tuple) else [example_inputs]
    args = [a if isinstance(a, ms.Tensor) else ms.Tensor(np.asarray(a)) for a in items]
    cell.set_train(False)
    with tempfile.TemporaryDirectory(prefix="circ-ms-") as tmp:
        base = os.path.join(tmp, "model")
        try:
            ms.export(cell, *args, file_name=base, file_format="MINDIR")
        except Exception as e:  # noqa: BLE001 - MindSpore raises many kinds
            raise CircError(f"ms.export failed: {type(e).__name__}: {_short(e)}") from None
        path = Path(base + ".mindir")
        if not path.is_file():
            raise CircError("ms.export wrote no .mindir file")
        return path.read_bytes()


def load_source(source: Any, example_inputs: Any = None) -> tuple[Any, str]:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if path.suffix != ".mindir":
            raise CircError(f"{path}: not a MindSpore model (a .mindir file)")
        return parse_mindir(read_model_file(path, "a MINDIR model"), str(path)), str(path)
    if isinstance(source, bytes):
        return parse_mindir(source, "<mindir>"), "<mindir>"
    try:
        from mindspore import nn
    except ImportError:  # pragma: no cover
        raise CircError("MindSpore is not installed") from None
    if isinstance(source, nn.Cell):
        name = type(source).__name__
        return parse_mindir(export_cell(source, example_inputs), name), name
    raise CircError(f"cannot import a {type(source).__name__} as a MindSpore model")


# --- the importer ----------------------------------------------------------------------------


class _Importer:
    b: FunctionBuilder  # the builder of the function being imported (set by build)

    def __init__(self, model: Any, origin: str):
        self.model = model
        self.origin = origin
        self.graph = model.graph
        self.prims = {p.name: p for p in model.primitives}
        self.values: dict[str, Any] = {}  # output name -> SSAValue | tuple | constant | MONAD
        self.params: dict[str, Any] = {p.name: p for p in self.graph.parameter}
        self.weights = WeightStore()
        self.weight_values: dict[str, SSAValue] = {}

    def fail(self, msg: str) -> CircError:
        return CircError(f"{self.origin}: {msg}")

    def build(self) -> ModuleOp:
        if len(self.model.functions):
            used = {n.op_type for n in self.graph.node}
            calls = [f.name for f in self.model.functions if any(f.name in u for u in used)]
            if calls:
                raise self.fail(f"the graph calls sub-graphs ({', '.join(calls[:3])}): control "
                                "flow is not supported")
        inputs: dict[str, TensorType] = {}
        for i in self.graph.input:
            if not i.tensor:
                raise self.fail(f"input '{_scope_name(i.name)}' is not a tensor")
            t = i.tensor[0]
            if any(d < 0 for d in t.dims):
                raise self.fail(f"input '{_scope_name(i.name)}' has a dynamic shape "
                                f"{list(t.dims)}; export with static example inputs")
            inputs[_scope_name(i.name)] = tensor_type(t)
        n_out: list[int] = []

        def body(b: FunctionBuilder, *args: SSAValue) -> list[SSAValue]:
            self.b = b
            for i, a in zip(self.graph.input, args, strict=True):
                self.values[i.name] = a
            for node in self.graph.node:
                self._node(b, node)
            b.location = None
            outs: list[SSAValue] = []
            for o in self.graph.output:
                outs.extend(self._flatten(self._get(o.name), o.name))
            n_out.append(len(outs))
            return outs

        fn = build_function("main", inputs, body)
        fn.res_attrs = name_attrs([f"output_{i}" for i in range(n_out[0])])
        module = ModuleOp([fn])
        attach(module, self.weights)
        return module

    def _flatten(self, v: Any, name: str) -> list[SSAValue]:
        if isinstance(v, SSAValue):
            return [v]
        if isinstance(v, tuple):
            return [x for item in v for x in self._flatten(item, name)]
        raise self.fail(f"graph output '{_scope_name(name)}' is not a tensor")

    def _get(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.params:
            return self._weight(name)
        raise self.fail(f"value '{_scope_name(name)}' is used before it is defined; the file "
                        "is corrupt or truncated")

    def _weight(self, name: str) -> SSAValue:
        if name not in self.weight_values:
            p = self.params[name]
            key = _scope_name(name)
            self.weights[key] = tensor_value(p, self.origin)
            op = WeightOp(key, tensor_type(p))
            self.b.block.add_op(op)  # no location: a weight belongs to no one node
            self.weight_values[name] = op.results[0]
        return self.weight_values[name]

    def _node(self, b: FunctionBuilder, node: Any) -> None:
        out = node.output[0] if node.output else node.name
        if node.op_type == "Constant":
            attr = next((a for a in node.attribute if a.name == "value"), None)
            self.values[out] = attr_value(attr, self.origin) if attr is not None else None
            return
        if not node.op_type.startswith("REF::"):
            raise self.fail(f"node '{node.name}' has op type '{node.op_type}', which is not a "
                            "primitive reference (sub-graph calls are not supported)")
        prim = self.prims.get(node.op_type.removeprefix("REF::"))
        if prim is None:
            raise self.fail(f"node '{node.name}' refers to primitive '{node.op_type}', which the "
                            "model does not define; the file is corrupt or truncated")
        kind = prim.op_type
        if kind in PASS_FIRST:
            self.values[out] = self._get(node.input[0])
            return
        if kind == "MakeTuple":
            self.values[out] = tuple(self._get(i) for i in node.input)
            return
        if kind == "TupleGetItem":
            tup, idx = self._get(node.input[0]), self._get(node.input[1])
            if not isinstance(tup, tuple) or not isinstance(idx, int) or not -len(tup) <= idx < len(tup):
                raise self.fail(f"TupleGetItem at '{node.domain}' does not pick from a tuple")
            self.values[out] = tup[idx]
            return
        b.location = NameLoc(StringAttr(node.domain or node.name), UnknownLoc())
        self._primitive(b, node, prim, out)

    def _primitive(self, b: FunctionBuilder, node: Any, prim: Any, out: str) -> None:
        args = [a for a in (self._get(i) for i in node.input) if a is not MONAD]
        names = self._input_names(prim, len(args))
        operands: list[tuple[str, SSAValue]] = []
        attrs: dict[str, Any] = {}
        for name, a in zip(names, args):
            if isinstance(a, SSAValue):
                operands.append((name, a))
            elif isinstance(a, tuple) and all(isinstance(x, SSAValue) for x in a):
                operands.extend((name, x) for x in a)
            elif isinstance(a, np.ndarray):
                if a.dtype.kind in "iub" and a.size <= 1024 or a.size <= 1:
                    attrs[name] = a.item() if a.ndim == 0 else [x.item() for x in a.reshape(-1)]
                else:
                    operands.append((name, self._const_weight(node, name, a)))
            elif a is not None:
                attrs[name] = a
        for pa in prim.attribute:
            if pa.name in _SKIP_PRIM_ATTRS or pa.name in attrs:
                continue
            value = attr_value(pa, self.origin)
            if value is not None and value is not MONAD:
                attrs[pa.name] = value
        types = _node_types(node)
        if not types:
            raise self.fail(f"node '{node.domain or node.name}' ({prim.op_type}) has no inferred "
                            "output type")
        try:
            op = op_class(f"ms.{prim.op_type}")(operands, attrs, types)
        except TypeError as e:
            raise self.fail(f"node '{node.domain}' ({prim.op_type}): {e}") from None
        b.add(op)
        self.values[out] = op.results[0] if len(op.results) == 1 else tuple(op.results)

    def _const_weight(self, node: Any, name: str, value: np.ndarray) -> SSAValue:
        key = re.sub(r"[^A-Za-z0-9_./-]+", "_", f"{node.domain or node.name}.{name}")
        self.weights[key] = value
        t = TensorType(_np_elem(value.dtype), list(value.shape))
        op = WeightOp(key, t)
        self.b.block.add_op(op)
        return op.results[0]

    def _input_names(self, prim: Any, n: int) -> list[str]:
        """The Python signature first (some primitives record placeholder ``input_names``
        such as ``input0``), then the primitive's ``input_names``, else ``input<i>``."""
        names: Sequence[str] | None = None
        found = argument_names(prim.op_type)
        if found is not None and len(found) >= n:
            names = found
        for pa in prim.attribute:
            if names is None and pa.name == "input_names":
                given = attr_value(pa, self.origin)
                given = [given] if isinstance(given, str) else given
                if isinstance(given, list) and len(given) >= n:
                    names = [str(x) for x in given]
        names = list(names or [])
        return names[:n] + [f"input{i}" for i in range(len(names), n)]


def _np_elem(dtype: Any) -> Attribute:
    for elem, np_dtype in _DTYPES.values():
        if np.dtype(np_dtype) == dtype:
            return elem
    raise CircError(f"constants of dtype {dtype} are not supported")


def import_ms(source: Any, example_inputs: Any = None) -> ModuleOp:
    """A MindSpore model (``.mindir`` file or nn.Cell) -> a module in the ``ms`` import dialect."""
    model, origin = load_source(source, example_inputs)
    return _Importer(model, origin).build()
