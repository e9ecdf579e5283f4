"""TensorFlow / Keras -> the ``tf`` import dialect, via a frozen GraphDef.

One ``tf.<OpType>`` op per GraphDef node (``tf.Conv2D``, ``tf.BiasAdd``, ...), operands named as
the op's ``OpDef`` names its inputs (``input``, ``filter``), the node's attributes recorded as
they are (``data_format = "NHWC"``, ``padding = "SAME"``, ``strides = [1, 2, 2, 1]``) and its
location the node name, i.e. the name scope (``loc("resnet50/conv1_conv/convolution")``).

What the importer does before recording nodes, none of which changes semantics:

- variables are frozen (``convert_variables_to_constants_v2``);
- ``StatefulPartitionedCall`` / ``PartitionedCall`` bodies are inlined from the graph's function
  library (recursively), their nodes named ``<call node>/<inner node>``;
- ``Identity`` / ``IdentityN`` are pass-through, control edges and ``NoOp`` are dropped, and nodes
  that no output depends on are left out;
- shapes are made static: TensorFlow's own shape inference runs on the graph with the inputs'
  shapes fixed (an unknown batch dimension is taken as 1);
- small integer / scalar subgraphs that depend on nothing but constants and static shapes
  (``Shape -> StridedSlice -> Pack`` and the like) are computed by TensorFlow at import and
  recorded as the value they produce.

A constant that reaches an op as an integer or as a scalar becomes an attribute named after the
input (``tf.Reshape(tensor=%x) {shape = [1, 256, 32]}``); any other constant (kernels, biases,
moving statistics) becomes a ``cir.weight`` named by its variable, its value in the module's
WeightStore and never in IR text.

Accepted sources: a SavedModel directory (signature ``serving_default`` unless told otherwise),
a frozen GraphDef ``.pb``, a ``.keras`` file (loaded with ``safe_mode=True``), an in-memory Keras
model, a ``tf.function`` with an input signature or example inputs, or a ConcreteFunction.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
from cir.model_files import (
    check_proto_text,
    model_file,
    model_path,
    read_model_file,
    static_shape,
)
from cir.ops import WeightOp
from cir.weights import WeightStore, attach

_IR_DTYPES: dict[str, Attribute] = {
    "float32": f32, "float16": f16, "bfloat16": bf16, "float64": f64,
    "int64": IntegerType(64), "int32": IntegerType(32), "int16": IntegerType(16),
    "int8": IntegerType(8), "uint8": IntegerType(8, Signedness.UNSIGNED), "bool": IntegerType(1),
}  # fmt: skip

# Node attributes that only say which dtypes the kernel was instantiated for, or that are
# TensorFlow bookkeeping: not part of what the op computes.
_SKIP_ATTRS = re.compile(r"^(_.*|T|dtype|Tidx|Tshape|Tperm|Tpaddings|Tmultiples|Tindices|Tparams"
                         r"|Taxis|Tdim|Tlen|Tsplits|SrcT|DstT|Index|Tin|Tout|out_type"
                         r"|Truncate|use_cudnn_on_gpu|output_type|Targmax|TI|Tcomplex)$")
PASS_THROUGH = ("Identity", "IdentityN")
CALLS = ("StatefulPartitionedCall", "PartitionedCall")
# Integer / scalar values up to this many elements are recorded as attributes.
MAX_ATTR_ELEMENTS = 1024


def _tf() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def _short(e: BaseException) -> str:
    """The line of a TensorFlow error that says what is wrong: the first, or the last after a
    traced stack (``in user code: ... ValueError: ...``)."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    return lines[-1] if lines[0].startswith("in user code") else lines[0]


# --- what a source becomes: a flat GraphDef with named inputs and outputs --------------------


@dataclass
class FrozenGraph:
    """A GraphDef whose variables are constants, with what the importer needs around it."""

    graph_def: Any
    inputs: dict[str, str]  # placeholder node -> argument name
    input_shapes: dict[str, list[int | None]]  # placeholder node -> shape (None: unknown)
    outputs: list[tuple[str, str]]  # (tensor "node:index", output name)
    weight_names: dict[str, str] = field(default_factory=dict)  # const node -> variable name


def _specs_from_examples(example_inputs: Any, names: Sequence[str] | None = None) -> list[Any]:
    """TensorSpecs from arrays, tensors, TensorSpecs or shape tuples."""
    tf = _tf()
    items = list(example_inputs.values()) if isinstance(example_inputs, Mapping) else (
        list(example_inputs) if isinstance(example_inputs, list | tuple) else [example_inputs])
    keys = list(example_inputs) if isinstance(example_inputs, Mapping) else list(names or [])
    specs = []
    for i, item in enumerate(items):
        name = str(keys[i]) if i < len(keys) else f"input_{i}"
        try:
            spec = _spec(tf, item, name)
        except (TypeError, ValueError) as e:  # a dtype or shape TensorFlow cannot take
            raise CircError(f"example input {i} ('{name}'): {_short(e)}") from None
        if spec is None:
            raise CircError(f"example input {i} is a {type(item).__name__}; give arrays, "
                            "tf.TensorSpec or shape tuples")
        specs.append(spec)
    return specs


def _spec(tf: Any, item: Any, name: str) -> Any:
    """A TensorSpec for one example input; None for a kind of value that gives none."""
    if isinstance(item, tf.TensorSpec):
        return tf.TensorSpec(item.shape, item.dtype, name=name)
    if isinstance(item, tuple):  # a shape
        if all(isinstance(d, int) for d in item):
            return tf.TensorSpec(item, tf.float32, name=name)
        return None
    if hasattr(item, "shape") and hasattr(item, "dtype"):  # numpy, tf, torch arrays
        dtype = item.dtype if isinstance(item.dtype, tf.DType) else np.asarray(item).dtype
        return tf.TensorSpec([int(d) for d in item.shape], tf.as_dtype(dtype), name=name)
    return None


def _freeze(fn: Any, input_names: Sequence[str] | None = None,
            output_names: Sequence[str] | None = None,
            variable_names: dict[int, str] | None = None) -> FrozenGraph:
    """Freeze a ConcreteFunction's variables into constants. `variable_names` (id of a
    variable's handle -> name) overrides TensorFlow's names, e.g. with Keras paths."""
    tf = _tf()
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    variable_names = _variable_names(fn) | (variable_names or {})
    try:
        frozen = convert_variables_to_constants_v2(fn)
    except Exception as e:  # noqa: BLE001 - TF raises many kinds
        raise CircError(f"freezing the TensorFlow function failed: {_short(e)}") from None
    gd = frozen.graph.as_graph_def()
    placeholders = [t for t in frozen.inputs if t.dtype != tf.resource]
    names = list(input_names or [])
    inputs, shapes = {}, {}
    for i, t in enumerate(placeholders):
        node = t.op.name
        inputs[node] = names[i] if i < len(names) else _clean_name(node)
        shapes[node] = t.shape.as_list() if t.shape.rank is not None else None
    outs = [t.name for t in frozen.outputs]
    onames = list(output_names or []) or _structured_names(frozen.structured_outputs, len(outs))
    if len(onames) != len(outs) or len(set(onames)) != len(onames):
        onames = [f"output_{i}" for i in range(len(outs))]
    # frozen variables are Const nodes named after the captured placeholders
    captured = {internal.op.name: variable_names.get(id(external))
                for external, internal in fn.graph.captures}
    weight_names = {k: _clean_name(v) for k, v in captured.items() if v}
    return FrozenGraph(gd, inputs, shapes, list(zip(outs, onames)), weight_names)


def _variable_names(fn: Any) -> dict[int, str]:
    names = {}
    for v in getattr(fn, "variables", ()):
        try:
            names[id(v.handle)] = v.name
        except Exception:  # noqa: BLE001, S112 - a variable without a handle has no name to give
            continue
    return names


def _clean_name(name: str) -> str:
    name = re.sub(r":\d+$", "", name)
    return re.sub(r"[^A-Za-z0-9_./-]+", "_", name).strip("_") or "x"


def _structured_names(structured: Any, n: int) -> list[str]:
    if isinstance(structured, Mapping):
        names = [str(k) for k in structured]
        if len(names) == n:
            return names
    return [f"output_{i}" for i in range(n)]


FILE_SUFFIXES = (".keras", ".pb", ".graphdef")


def _is_saved_model(path: Path) -> bool:
    return (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()


# ops that touch the file system or call back into Python: no exported inference model has
# them, and TensorFlow runs a SavedModel's restore and initializer functions as it loads it
UNSAFE_OPS = frozenset({"WriteFile", "ReadFile", "MatchingFiles", "ImmutableConst", "PyFunc",
                        "PyFuncStateless", "EagerPyFunc"})


def check_graph_ops(graph_def: Any, origin: str) -> None:
    """Refuse a graph (or its function library) that uses one of UNSAFE_OPS."""
    nodes = [*graph_def.node, *(n for f in graph_def.library.function for n in f.node_def)]
    for n in nodes:
        if n.op in UNSAFE_OPS:
            raise CircError(f"{origin}: node '{n.name}' is a {n.op}, which reads or writes files "
                            "or runs Python; circ does not load such a graph")


def check_saved_model(path: Path) -> None:
    """saved_model.pb read by circ before TensorFlow loads (and runs parts of) it: text that
    is not UTF-8 and UNSAFE_OPS are refused."""
    from google.protobuf import text_format
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    sm = saved_model_pb2.SavedModel()
    binary = path / "saved_model.pb"
    origin = str(binary if binary.is_file() else path / "saved_model.pbtxt")
    data = read_model_file(origin, "a SavedModel's saved_model.pb")
    try:
        if binary.is_file():
            sm.ParseFromString(data)
        else:
            text_format.Parse(data.decode("utf-8"), sm)
    except (DecodeError, text_format.ParseError, UnicodeDecodeError, ValueError, RuntimeError):
        raise CircError(f"{origin}: not a SavedModel; corrupt or truncated") from None
    check_proto_text(sm, "saved_model", origin)
    for meta_graph in sm.meta_graphs:
        check_graph_ops(meta_graph.graph_def, origin)


def load_saved_model(path: Path, signature: str, example_inputs: Any = None) -> FrozenGraph:
    tf = _tf()
    if not _is_saved_model(path):
        raise CircError(f"{path}: not a SavedModel directory (no saved_model.pb)")
    check_saved_model(path)
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as e:  # noqa: BLE001 - TF raises many kinds on a bad SavedModel
        raise CircError(f"{path}: cannot load the SavedModel ({_short(e)}); corrupt or truncated?") from None
    sigs = dict(getattr(loaded, "signatures", {}) or {})
    if signature not in sigs:
        known = ", ".join(sorted(sigs)) or "none"
        raise CircError(f"{path}: the SavedModel has no signature '{signature}' (it has: {known})")
    fn = sigs[signature]
    kwargs = fn.structured_input_signature[1] if fn.structured_input_signature else {}
    names = list(kwargs)
    if example_inputs is not None:
        # fix the inputs' shapes by tracing the signature again with the example shapes
        specs = _specs_from_examples(example_inputs, names)
        traced = tf.function(lambda *a: sigs[signature](**dict(zip(names, a))))
        try:
            fn = traced.get_concrete_function(*specs)
        except Exception as e:  # noqa: BLE001 - TF raises many kinds
            raise CircError(f"{path}: signature '{signature}' does not take the example inputs "
                            f"({_short(e)})") from None
        return _freeze(fn, names, list(sigs[signature].structured_outputs))
    return _freeze(fn, names, list(fn.structured_outputs))


def load_graph_def(path: Path) -> FrozenGraph:
    tf = _tf()
    from tensorflow.core.protobuf import saved_model_pb2

    data = read_model_file(path, "a frozen GraphDef")
    if path.name == "saved_model.pb" or (path.parent / "variables").is_dir():
        sm = saved_model_pb2.SavedModel()
        try:
            sm.ParseFromString(data)
        except Exception:  # noqa: BLE001 - not a SavedModel: read it as a GraphDef below
            sm.Clear()
        if sm.meta_graphs:
            raise CircError(f"{path}: this is a SavedModel's saved_model.pb; import its "
                            f"directory ({path.parent}) instead")
    gd = tf.compat.v1.GraphDef()
    try:
        gd.ParseFromString(data)
    except Exception:  # noqa: BLE001 - protobuf raises several kinds on bad bytes
        raise CircError(f"{path}: not a frozen GraphDef (.pb); corrupt or truncated") from None
    if not gd.node:
        raise CircError(f"{path}: not a frozen GraphDef (.pb): it has no nodes; corrupt or truncated")
    check_proto_text(gd, "graph", str(path))
    check_graph_ops(gd, str(path))
    inputs, shapes = {}, {}
    consumed: set[str] = set()
    for n in gd.node:
        for i in n.input:
            consumed.add(i.lstrip("^").split(":")[0])
        if n.op == "Placeholder":
            inputs[n.name] = _clean_name(n.name)
            shape = n.attr["shape"].shape
            shapes[n.name] = None if shape.unknown_rank else [
                d.size if d.size >= 0 else None for d in shape.dim]
    skip = ("Const", "NoOp", "Placeholder", "Assert", "SaveV2", "RestoreV2")
    sinks = [n.name for n in gd.node if n.name not in consumed and n.op not in skip]
    if not sinks:
        raise CircError(f"{path}: the GraphDef has no output nodes")
    outputs = [(f"{s}:0", _clean_name(s)) for s in sinks]
    return FrozenGraph(gd, inputs, shapes, outputs)


def load_keras(model: Any, example_inputs: Any = None) -> FrozenGraph:
    tf = _tf()
    names = [_clean_name(getattr(t, "name", f"input_{i}")) for i, t in
             enumerate(getattr(model, "inputs", None) or [])]
    if example_inputs is not None:
        specs = _specs_from_examples(example_inputs, names)
    elif getattr(model, "inputs", None):
        specs = []
        for t, name in zip(model.inputs, names):
            shape = list(t.shape)
            if shape and shape[0] is None:
                shape[0] = 1
            specs.append(tf.TensorSpec(shape, t.dtype, name=name))
    else:
        raise CircError("importing a Keras model that was never built needs example_inputs")
    names = [s.name for s in specs]

    def call(*args: Any) -> Any:
        inputs = list(args)
        return model(inputs if len(inputs) > 1 else inputs[0], training=False)

    try:
        fn = tf.function(call, input_signature=specs).get_concrete_function()
    except Exception as e:  # noqa: BLE001 - Keras raises many kinds while tracing
        raise CircError(f"tracing the Keras model failed: {type(e).__name__}: {_short(e)}") from None
    out_names = None
    try:
        out_names = [_clean_name(n) for n in model.output_names]
    except Exception:  # noqa: BLE001, S110 - the output names are optional: defaults otherwise
        pass
    paths = {}  # Keras 3 variable paths ("conv/kernel") name the weights
    for w in getattr(model, "weights", []):
        try:
            paths[id(w.value.handle)] = w.path
        except Exception:  # noqa: BLE001, S112 - a weight without a handle keeps its TF name
            continue
    return _freeze(fn, names, out_names, paths)


def load_function(fn: Any, example_inputs: Any = None) -> FrozenGraph:
    """A tf.function (with an input signature or example inputs) or a ConcreteFunction."""
    if hasattr(fn, "get_concrete_function"):
        try:
            if example_inputs is not None:
                specs = _specs_from_examples(example_inputs)
                fn = fn.get_concrete_function(*specs)
            else:
                fn = fn.get_concrete_function()
        except Exception as e:  # noqa: BLE001 - TF raises many kinds while tracing
            raise CircError(f"tracing the tf.function failed ({_short(e)}); give an "
                            "input_signature or example_inputs") from None
    args = fn.structured_input_signature[0] if fn.structured_input_signature else ()
    names = [getattr(s, "name", None) or f"input_{i}" for i, s in enumerate(args)]
    return _freeze(fn, names)


def load_source(source: Any, example_inputs: Any = None,
                signature: str = "serving_default") -> FrozenGraph:
    if isinstance(source, str | os.PathLike):
        path = model_path(source)
        if path.is_dir() and (path.suffix not in FILE_SUFFIXES or _is_saved_model(path)):
            return load_saved_model(path, signature, example_inputs)
        model_file(path, "a TensorFlow model file")
        if path.suffix == ".keras":
            return load_keras(_load_keras_file(path), example_inputs)
        if path.suffix in (".pb", ".graphdef"):
            return load_graph_def(path)
        raise CircError(f"{path}: not a TensorFlow model (a SavedModel directory, a frozen "
                        "GraphDef .pb or a .keras file)")
    tf = _tf()
    import keras

    if isinstance(source, keras.Layer):
        return load_keras(source, example_inputs)
    if hasattr(source, "get_concrete_function") or hasattr(source, "structured_input_signature"):
        return load_function(source, example_inputs)
    if isinstance(source, tf.compat.v1.GraphDef):
        raise CircError("pass a GraphDef as a .pb file path")
    raise CircError(f"cannot import a {type(source).__name__} as a TensorFlow model")


def _load_keras_file(path: Path) -> Any:
    import zipfile

    import keras

    if not zipfile.is_zipfile(path):
        raise CircError(f"{path}: not a .keras archive; corrupt or truncated")
    try:
        return keras.saving.load_model(str(path), safe_mode=True, compile=False)
    except Exception as e:  # noqa: BLE001 - Keras raises many kinds on a bad archive
        raise CircError(f"{path}: cannot load the Keras model ({type(e).__name__}: {_short(e)})") from None


# --- inlining function calls -----------------------------------------------------------------


def _output_offsets(node: Any) -> dict[str, int]:
    """Flat output index of each output argument of a node (list arguments take several)."""
    from tensorflow.python.framework import op_def_registry

    op_def = op_def_registry.get(node.op)
    offsets, k = {}, 0
    if op_def is None:
        return offsets
    for arg in op_def.output_arg:
        offsets[arg.name] = k
        if arg.number_attr:
            k += node.attr[arg.number_attr].i
        elif arg.type_list_attr:
            k += len(node.attr[arg.type_list_attr].list.type)
        else:
            k += 1
    return offsets


def inline_functions(graph_def: Any) -> tuple[list[Any], dict[str, str]]:
    """The graph's nodes with every function call replaced by the function's body, and what
    each call's results became (``"call:0"`` -> ``"call/inner:0"``)."""
    tf = _tf()
    library = {f.signature.name: f for f in graph_def.library.function}
    out: list[Any] = []
    # value renames: "call:i" -> the inner tensor that produces it
    renames: dict[str, str] = {}

    def tensor_ref(ref: str) -> str:
        name, _, idx = ref.partition(":")
        return f"{name}:{idx or 0}"

    def expand(nodes: Sequence[Any], prefix: str, arg_map: dict[str, str], depth: int) -> None:
        if depth > 32:
            raise CircError("function calls nest more than 32 deep")
        inner_offsets: dict[str, dict[str, int]] = {}
        local = {n.name for n in nodes}

        def resolve(ref: str) -> str:
            if ref.startswith("^"):
                return ref
            if not prefix:
                return renames.get(tensor_ref(ref), tensor_ref(ref))
            parts = ref.split(":")
            if parts[0] in arg_map and len(parts) == 1:
                return arg_map[parts[0]]
            if parts[0] not in local:
                raise CircError(f"function body refers to unknown value '{ref}'")
            if len(parts) == 1:
                key = f"{prefix}/{parts[0]}:0"
            else:
                offs = inner_offsets.get(parts[0], {})
                key = f"{prefix}/{parts[0]}:{offs.get(parts[1], 0) + int(parts[2] if len(parts) > 2 else 0)}"
            return renames.get(key, key)

        for n in nodes:
            if prefix:
                inner_offsets[n.name] = _output_offsets(n)
        for n in nodes:
            name = f"{prefix}/{n.name}" if prefix else n.name
            inputs = [resolve(i) for i in n.input if not i.startswith("^")]
            if n.op in CALLS or n.op in library:
                fname = n.attr["f"].func.name if n.op in CALLS else n.op
                if fname not in library:
                    raise CircError(f"node '{name}' calls function '{fname}', which the graph "
                                    "does not define")
                f = library[fname]
                args = {a.name: v for a, v in zip(f.signature.input_arg, inputs)}
                expand(list(f.node_def), name, args, depth + 1)
                offs = {n2.name: _output_offsets(n2) for n2 in f.node_def}
                for i, a in enumerate(f.signature.output_arg):
                    ret = f.ret[a.name]
                    parts = ret.split(":")
                    if parts[0] in args and len(parts) == 1:
                        target = args[parts[0]]
                    else:
                        idx = offs.get(parts[0], {}).get(parts[1], 0) + int(parts[2]) if len(parts) > 2 else 0
                        target = f"{name}/{parts[0]}:{idx}"
                    renames[f"{name}:{i}"] = renames.get(target, target)
                continue
            new = tf.compat.v1.NodeDef()
            new.CopyFrom(n)
            new.name = name
            del new.input[:]
            new.input.extend(inputs)
            out.append(new)

    expand(list(graph_def.node), "", {}, 0)
    # inputs that referred to call results defined later in node order
    for n in out:
        for i, ref in enumerate(n.input):
            n.input[i] = renames.get(ref, ref)
    return out, renames


# --- the importer ------------------------------------------------------------------------------


class _Importer:
    b: FunctionBuilder  # the builder of the function being imported (set by build)

    def __init__(self, frozen: FrozenGraph):
        self.frozen = frozen
        self.values: dict[str, SSAValue] = {}
        self.known: dict[str, np.ndarray] = {}  # tensor -> value, for constants and folds
        self.weights = WeightStore()
        self.weight_values: dict[str, SSAValue] = {}

    def build(self) -> ModuleOp:
        nodes, renames = inline_functions(self.frozen.graph_def)
        by_name = {n.name: n for n in nodes}
        self.by_name = by_name
        outputs = [(renames.get(_ref(t), _ref(t)), name) for t, name in self.frozen.outputs]
        outputs = [(self._through(o, by_name), name) for o, name in outputs]
        live = self._live([o for o, _ in outputs], by_name)
        nodes = [n for n in _toposort(nodes, by_name) if n.name in live]
        for node, shape in self.frozen.input_shapes.items():
            if node not in by_name:
                continue
            if shape is None:
                raise CircError(f"input '{self.frozen.inputs[node]}' has an unknown rank; give "
                                "example_inputs with its shape")
            if any(d is None for d in shape[1:]):
                raise CircError(f"input '{self.frozen.inputs[node]}' has unknown dimensions "
                                f"{_fmt_shape(shape)}; give example_inputs with its shape")
        self.graph = self._static_graph(nodes)
        self._fold(nodes)

        used = [node for node in self.frozen.inputs if node in live]
        inputs = {self.frozen.inputs[node]: self._type(f"{node}:0") for node in used}

        def body(b: FunctionBuilder, *args: SSAValue) -> list[SSAValue]:
            self.b = b
            for node, a in zip(used, args, strict=True):
                self.values[f"{node}:0"] = a
            for n in nodes:
                if n.op == "Placeholder" or all(f"{n.name}:{i}" in self.known
                                                for i in range(self._n_outputs(n))):
                    continue
                if n.op in PASS_THROUGH:
                    for i, ref in enumerate(n.input):
                        self._alias(f"{n.name}:{i}", ref)
                    continue
                b.location = NameLoc(StringAttr(n.name), UnknownLoc())
                self._node(b, n)
            b.location = None
            return [self._value(o) for o, _ in outputs]

        fn = build_function("main", inputs, body)
        fn.res_attrs = name_attrs([name for _, name in outputs])
        module = ModuleOp([fn])
        attach(module, self.weights)
        return module

    # -- graph analysis ---------------------------------------------------------------------

    @staticmethod
    def _through(ref: str, by_name: Mapping[str, Any]) -> str:
        """Follow Identity / IdentityN to the tensor they pass on."""
        seen = 0
        while True:
            name, idx = ref.rsplit(":", 1)
            n = by_name.get(name)
            if n is None or n.op not in PASS_THROUGH or seen > 1000:
                return ref
            ref = _ref(n.input[int(idx)])
            seen += 1

    @staticmethod
    def _live(outputs: Sequence[str], by_name: Mapping[str, Any]) -> set[str]:
        live: set[str] = set()
        stack = [o.rsplit(":", 1)[0] for o in outputs]
        while stack:
            name = stack.pop()
            if name in live:
                continue
            if name not in by_name:
                raise CircError(f"the graph refers to node '{name}', which it does not define")
            live.add(name)
            stack.extend(i.split(":")[0] for i in by_name[name].input if not i.startswith("^"))
        return live

    def _static_graph(self, nodes: Sequence[Any]) -> Any:
        """The graph in TensorFlow with static input shapes: TF infers every other shape."""
        tf = _tf()
        gd = tf.compat.v1.GraphDef()
        gd.versions.CopyFrom(self.frozen.graph_def.versions)
        for n in nodes:
            new = gd.node.add()
            new.CopyFrom(n)
            if n.op == "Placeholder":
                shape = [1 if d is None else d for d in self.frozen.input_shapes.get(n.name) or []]
                new.attr["shape"].shape.CopyFrom(tf.TensorShape(shape).as_proto())
        g = tf.Graph()
        try:
            with g.as_default():
                tf.graph_util.import_graph_def(gd, name="")
        except Exception as e:  # noqa: BLE001 - TF raises many kinds on a bad graph
            raise CircError(f"TensorFlow rejects the graph: {_short(e)}") from None
        return g

    def _n_outputs(self, n: Any) -> int:
        return len(self.graph.get_operation_by_name(n.name).outputs)

    def _fold(self, nodes: Sequence[Any]) -> None:
        """Compute what depends only on constants and static shapes, when it is small."""
        tf = _tf()
        g = self.graph
        feeds: dict[Any, np.ndarray] = {}
        foldable: set[str] = set()
        wanted: list[Any] = []
        for n in nodes:
            op = g.get_operation_by_name(n.name)
            if n.op == "Const":
                value = tf.make_ndarray(n.attr["value"].tensor)
                self.known[f"{n.name}:0"] = value
                if _is_literal(value):
                    foldable.add(n.name)
                continue
            if n.op in ("Shape", "Size", "Rank") and op.inputs[0].shape.is_fully_defined():
                shape = op.inputs[0].shape.as_list()
                value = {"Shape": np.array(shape), "Size": np.array(int(np.prod(shape))),
                         "Rank": np.array(len(shape))}[n.op].astype(op.outputs[0].dtype.as_numpy_dtype)
                self.known[f"{n.name}:0"] = value
                feeds[op.outputs[0]] = value
                foldable.add(n.name)
                continue
            if n.op in PASS_THROUGH:
                for i, t in enumerate(op.inputs):
                    src = f"{t.op.name}:{t.value_index}"
                    if src in self.known:
                        self.known[f"{n.name}:{i}"] = self.known[src]
                if all(t.op.name in foldable for t in op.inputs):
                    foldable.add(n.name)
                continue
            if op.op_def.is_stateful or not op.outputs or n.op == "Placeholder":
                continue
            if not all(t.op.name in foldable for t in op.inputs):
                continue
            if not all(t.shape.is_fully_defined() and
                       (t.shape.num_elements() <= 1 or t.dtype.is_integer or t.dtype.is_bool)
                       and t.shape.num_elements() <= MAX_ATTR_ELEMENTS for t in op.outputs):
                continue
            foldable.add(n.name)
            wanted.extend(op.outputs)
        if not wanted:
            return
        try:
            with tf.compat.v1.Session(graph=g) as sess:
                results = sess.run(wanted, feed_dict=feeds)
        except Exception as e:  # noqa: BLE001 - TF raises many kinds while running the graph
            raise CircError(f"computing the graph's constant parts failed: {_short(e)}") from None
        for t, v in zip(wanted, results):
            self.known[f"{t.op.name}:{t.value_index}"] = np.asarray(v)

    def _type(self, ref: str) -> TensorType:
        t = self.graph.get_tensor_by_name(ref)
        name = t.dtype.name
        if name not in _IR_DTYPES:
            raise CircError(f"node '{t.op.name}' produces {name} tensors, which circ does not support")
        if not t.shape.is_fully_defined():
            raise CircError(f"node '{t.op.name}' ({t.op.type}) has a dynamic shape "
                            f"{t.shape}; circ needs static shapes")
        dims = static_shape(t.shape.as_list(), f"node '{t.op.name}'")
        return TensorType(_IR_DTYPES[name], dims)

    # -- building ops -------------------------------------------------------------------------

    def _alias(self, dst: str, src: str) -> None:
        src = _ref(src)
        if src in self.values:
            self.values[dst] = self.values[src]
        elif src in self.known:
            self.known[dst] = self.known[src]

    def _value(self, ref: str) -> SSAValue:
        ref = _ref(ref)
        if ref in self.values:
            return self.values[ref]
        if ref in self.known:
            return self._weight(ref)
        raise CircError(f"value '{ref}' is used before it is defined")

    def _weight(self, ref: str) -> SSAValue:
        if ref not in self.weight_values:
            source = self._through(ref, self.by_name)
            node = source.rsplit(":", 1)[0]
            key = self.frozen.weight_names.get(node) or _weight_key(source)
            while key in self.weights and not np.array_equal(self.weights[key], self.known[ref]):
                key += "_"
            value = np.ascontiguousarray(self.known[ref])
            if value.dtype == np.float64:
                value = value.astype(np.float32)
            self.weights[key] = value
            op = WeightOp(key, self._type(ref))
            self.b.block.add_op(op)  # no location: a weight belongs to no one node
            self.weight_values[ref] = op.results[0]
        return self.weight_values[ref]

    def _node(self, b: FunctionBuilder, n: Any) -> None:
        op = self.graph.get_operation_by_name(n.name)
        operands: list[tuple[str, SSAValue]] = []
        attrs: dict[str, Any] = {}
        names = _input_names(op)
        groups: dict[str, list[str]] = {}
        for name, t in zip(names, op.inputs):
            groups.setdefault(name, []).append(f"{t.op.name}:{t.value_index}")
        for name, refs in groups.items():
            values = [self.known.get(r) for r in refs]
            literals = [v for v in values if v is not None and _is_literal(v)]
            if len(literals) == len(values):
                py = [_py(v) for v in literals]
                attrs[name] = py[0] if len(py) == 1 else py
                continue
            for r in refs:
                operands.append((name, self._value(r)))
        for key, value in sorted(n.attr.items()):
            if _SKIP_ATTRS.match(key):
                continue
            py = _attr_value(value)
            if py is not None:
                attrs[key] = py
        results = [self._type(f"{n.name}:{i}") for i in range(len(op.outputs))]
        new = op_class(f"tf.{n.op}")(operands, attrs, results)
        b.add(new)
        for i, r in enumerate(new.results):
            self.values[f"{n.name}:{i}"] = r


def _input_names(op: Any) -> list[str]:
    """The OpDef name of each of the op's inputs (list arguments repeat their name)."""
    names: list[str] = []
    for arg in op.op_def.input_arg:
        if arg.number_attr:
            k = op.get_attr(arg.number_attr)
        elif arg.type_list_attr:
            k = len(op.get_attr(arg.type_list_attr))
        else:
            k = 1
        names.extend([arg.name] * k)
    names.extend(f"input{i}" for i in range(len(names), len(op.inputs)))
    return names


def _is_literal(value: np.ndarray) -> bool:
    """Recorded as an attribute: a scalar, or a small integer / bool array (shapes, axes)."""
    v = np.asarray(value)
    if v.dtype.kind in "SUO":
        return False
    return v.size <= 1 and v.ndim <= 1 or (v.dtype.kind in "iub" and v.size <= MAX_ATTR_ELEMENTS)


def _py(value: np.ndarray) -> Any:
    """A constant as Python values; f32 / f16 numbers as their shortest decimal (1e-06, not
    9.999999974752427e-07), so the attribute reads as the model's author wrote it."""
    v = np.asarray(value)

    def item(x: Any) -> Any:
        if v.dtype in (np.float32, np.float16):
            return float(str(x))
        return x.item()

    if v.ndim == 0:
        return item(v[()])
    return [item(x) for x in v.reshape(-1)]


def _attr_value(a: Any) -> Any:
    which = a.WhichOneof("value")
    if which == "s":
        return a.s.decode("utf-8", "replace")
    if which == "i":
        return int(a.i)
    if which == "f":
        return float(a.f)
    if which == "b":
        return bool(a.b)
    if which == "list":
        if a.list.i:
            return [int(x) for x in a.list.i]
        if a.list.f:
            return [float(x) for x in a.list.f]
        if a.list.s:
            return [x.decode("utf-8", "replace") for x in a.list.s]
        if a.list.b:
            return [bool(x) for x in a.list.b]
        if not (a.list.type or a.list.shape or a.list.func or a.list.tensor):
            return []
    return None  # types, shapes, functions: not part of what an inference op computes


def _ref(ref: str) -> str:
    ref = ref.lstrip("^")
    return ref if ":" in ref else f"{ref}:0"


def _weight_key(ref: str) -> str:
    name = ref.rsplit(":", 1)[0]
    name = re.sub(r"/(ReadVariableOp|resource|read)(?=/|$)", "", name)
    return _clean_name(name)


def _fmt_shape(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _toposort(nodes: Sequence[Any], by_name: Mapping[str, Any]) -> list[Any]:
    """Nodes in an order where inputs come first, keeping the given order where it can."""
    order: list[Any] = []
    state: dict[str, int] = {}
    for root in nodes:
        if root.name in state:
            continue
        stack = [(root, 0)]
        while stack:
            n, i = stack.pop()
            if i == 0:
                if state.get(n.name) == 2:
                    continue
                state[n.name] = 1
            deps = [d.split(":")[0] for d in n.input if not d.startswith("^")]
            if i < len(deps):
                stack.append((n, i + 1))
                d = by_name.get(deps[i])
                if d is not None and d.name not in state:
                    stack.append((d, 0))
                elif d is not None and state[d.name] == 1:
                    raise CircError(f"the graph has a cycle through node '{d.name}' (control flow "
                                    "loops are not supported)")
                continue
            state[n.name] = 2
            order.append(n)
    return order


def import_tf(source: Any, example_inputs: Any = None,
              signature: str = "serving_default") -> ModuleOp:
    """A TensorFlow / Keras model -> a module in the ``tf`` import dialect, weights attached."""
    frozen = load_source(source, example_inputs, signature)
    return _Importer(frozen).build()
