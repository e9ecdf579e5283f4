"""ONNX -> the ``onnx`` import dialect.

One ``onnx.<OpType>`` op per node (``onnx.<domain>.<OpType>`` outside the default domain), made
on demand with ``framework_op.op_class``. Operands are named after the operator schema's inputs
at the model's opset (``onnx.Conv(X=%x, W=%w, B=%b)``; an omitted optional input is absent, a
variadic input repeats its name); attributes keep their ONNX names, with the schema's defaults
filled in. Each op's location is the node name, around the innermost ``file:line`` of the
exporter's stack trace when there is one: ``loc("node_conv2d"("unet_2d_condition.py":1081:0))``.

The model's opset is the module attribute ``onnx.opset`` (``onnx.opset.<domain>`` for other
domains); ``normalize-onnx`` picks each operator's semantics from it. The function ``@main``
takes the graph inputs (their ONNX names in ``{cir.name}`` argument attributes, which
``cir.interpret`` uses) and returns the graph outputs, named after them (``/`` becomes ``_``).

Before building IR the model is checked and typed: external data locations are checked (one
that leaves the model's directory is refused; the data is memory-mapped as weights are read),
the graph is put in dependency order (a missing input or a cycle is reported with the node),
model-local functions are inlined, the ONNX checker runs, and ``onnx.shape_inference`` gives
every value a static type. Graph inputs with symbolic dimensions need ``input_shapes``.

Constants. Initializers and ``Constant`` nodes become ``cir.weight`` ops named after the value
(their data goes to the module's WeightStore, never into IR text). With ``fold_constants``,
a node whose inputs are all constants, and ``Shape``/``Size`` of any (static) tensor, is
computed at import by ``onnx.reference`` and kept as a weight too; shape inference then runs
again, as folding can make more shapes static (``Shape -> Gather -> Concat -> Reshape``).

Inputs that ONNX passes as tensors but that are really parameters (``axes``, ``shape``,
``pads``, ``starts``, ``min``, ...) stay operands, and when such an input is a constant its
value is also recorded as the attribute ``<input>_value``::

    %r = onnx.ReduceMean(data=%x, axes=%w) {keepdims = 1, axes_value = [2, 3]} : ...

so that a mapping table can read it (``dims(axes_value)``). Recorded are the constant inputs
the operator schema marks non-differentiable (parameters, not data) with rank <= 1 and at most
64 elements, and any one-element constant (``Mul(x, 0.5)`` records ``B_value = 0.5``); weights
are never copied into attributes.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, cast

import numpy as np
from cir.dialects.framework_op import op_class
from xdsl.dialects.builtin import (
    AnyDenseElement,
    ArrayAttr,
    BytesAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    FileLineColLoc,
    IntAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    NameLoc,
    NoneAttr,
    Signedness,
    StringAttr,
    TensorType,
    UnknownLoc,
    bf16,
    f16,
    f32,
    f64,
    i64,
)
from xdsl.ir import Attribute, SSAValue

from cir.build import FunctionBuilder, build_function, name_attrs
from cir.errors import CircError
from cir.model_files import check_text_fields, proto_messages, read_model_file, static_shape
from cir.ops import WeightOp
from cir.weights import WeightStore, attach

OPSET_ATTR = "onnx.opset"
RECORD_MAX_ELEMENTS = 64  # constant parameter inputs up to this size are recorded as attributes
FOLD_MAX_ELEMENTS = 1 << 22
FOLD_ROUNDS = 16
OMITTED = ".omitted_output_"  # names given to omitted optional outputs (name_omitted_outputs)
# operators whose result size comes from an input's values, not its shape
VALUE_SIZED = ("ConstantOfShape", "Expand", "Tile", "Range", "Resize", "Upsample", "Pad",
               "OneHot", "CenterCropPad", "Col2Im", "MaxUnpool")
NOT_FOLDED = ("RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike",
              "Bernoulli", "Multinomial")


@cache
def _ir_types() -> dict[int, Attribute]:
    from onnx import TensorProto as T

    return {
        T.FLOAT: f32, T.FLOAT16: f16, T.BFLOAT16: bf16, T.DOUBLE: f64,
        T.INT64: i64, T.INT32: IntegerType(32), T.INT16: IntegerType(16), T.INT8: IntegerType(8),
        T.UINT64: IntegerType(64, Signedness.UNSIGNED),
        T.UINT32: IntegerType(32, Signedness.UNSIGNED),
        T.UINT16: IntegerType(16, Signedness.UNSIGNED),
        T.UINT8: IntegerType(8, Signedness.UNSIGNED),
        T.BOOL: IntegerType(1),
    }  # fmt: skip


def _dtype_name(elem_type: int) -> str:
    import onnx

    try:
        return onnx.TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"#{elem_type}"


def element_type(elem_type: int, what: str) -> Attribute:
    t = _ir_types().get(elem_type)
    if t is None:
        raise CircError(f"{what}: tensors of type {_dtype_name(elem_type)} are not supported")
    return t


def describe_node(node: Any, index: int | None = None) -> str:
    """``node 'node_conv2d' (Conv)``, or ``node #3 (Conv)`` for an unnamed node."""
    who = f"'{node.name}'" if node.name else f"#{index}" if index is not None else "(unnamed)"
    return f"node {who} ({node.op_type})"


# --- loading -------------------------------------------------------------------------------


def load_model(source: Any) -> tuple[Any, Path | None]:
    """A ModelProto (external data not loaded yet) and the directory its data is relative to.
    The model is checked before any ONNX code sees it (see `check_proto`)."""
    import onnx
    from google.protobuf.message import DecodeError

    if isinstance(source, onnx.ModelProto):
        check_proto(source, "the ONNX model")
        return source, None
    if isinstance(source, bytes | bytearray):
        data, origin, base = bytes(source), "the ONNX model", None
    elif isinstance(source, str | os.PathLike):
        data, path = read_model_file(source, "an ONNX model"), Path(source)
        origin, base = str(path), path.resolve().parent
    else:
        raise CircError(f"cannot import a {type(source).__name__} as an ONNX model")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise CircError(f"{origin}: not an ONNX model, or corrupt or truncated ({e})") from None
    if not model.HasField("graph") or not (model.graph.node or model.graph.output):
        raise CircError(f"{origin}: not an ONNX model, or corrupt or truncated (no graph)")
    check_proto(model, origin)
    return model, base


def check_proto(model: Any, origin: str) -> None:
    """What a hostile file could slip past protobuf into ONNX's C++ code, which answers with
    exceptions of every kind, or never: strings that are not UTF-8, element types ONNX does
    not define, Einsum equations its shape inference loops forever on. Reported with the
    field's place in the model."""
    from onnx import NodeProto, TensorProto, TypeProto

    known = set(TensorProto.DataType.values())
    for where, msg in proto_messages(model, "model"):
        check_text_fields(msg, where, origin)
        if isinstance(msg, TensorProto) and msg.data_type not in known:
            raise CircError(f"{origin}: {where} has an unknown element type {msg.data_type}")
        if isinstance(msg, TypeProto.Tensor | TypeProto.SparseTensor) and msg.elem_type not in known:
            raise CircError(f"{origin}: {where} has an unknown element type {msg.elem_type}")
        if isinstance(msg, NodeProto) and msg.op_type == "Einsum":
            for a in msg.attribute:
                if a.name == "equation" and not _EINSUM.fullmatch(a.s.replace(b" ", b"")):
                    raise CircError(f"{origin}: {where}: Einsum equation {a.s[:80]!r} is "
                                    "malformed")


# term(,term)*(->term)?, a term being letters with at most one "..." (spaces aside)
_EINSUM_TERM = rb"[A-Za-z]*+(?:\.\.\.)?+[A-Za-z]*+"  # possessive: no backtracking
_EINSUM = re.compile(rb"%b(?:,%b)*(?:->%b)?" % (_EINSUM_TERM, _EINSUM_TERM, _EINSUM_TERM))


def _all_tensors(graph: Any) -> list[Any]:
    """Initializers and tensor-valued attributes, subgraphs included."""
    from onnx import AttributeProto

    found = list(graph.initializer)
    for node in graph.node:
        for a in node.attribute:
            if a.type == AttributeProto.TENSOR:
                found.append(a.t)
            elif a.type == AttributeProto.TENSORS:
                found.extend(a.tensors)
            elif a.type == AttributeProto.GRAPH:
                found.extend(_all_tensors(a.g))
            elif a.type == AttributeProto.GRAPHS:
                for g in a.graphs:
                    found.extend(_all_tensors(g))
    return found


def check_external_data(model: Any, base: Path | None) -> str:
    """The directory external tensor data is read from (``""`` if there is none); a location
    outside the model's directory is refused. The data itself is read as each weight is."""
    from onnx.external_data_helper import uses_external_data

    external = [t for t in _all_tensors(model.graph) if uses_external_data(t)]
    if not external:
        return ""
    if base is None:
        raise CircError("the ONNX model keeps tensor data in external files; import it from its "
                        "file path so that the data can be found beside it")
    root = base.resolve()
    for t in external:
        location = next((e.value for e in t.external_data if e.key == "location"), "")
        if "\0" in location:
            raise CircError(f"tensor '{t.name}' keeps its data at {location!r}, which is not a "
                            "valid file name (it contains a NUL byte)")
        target = (root / location).resolve()
        if not location or Path(location).is_absolute() or not target.is_relative_to(root):
            raise CircError(f"tensor '{t.name}' keeps its data at {location!r}, outside the "
                            f"model's directory {root}; refusing to read it")
        if not target.is_file():
            raise CircError(f"tensor '{t.name}': external data file {location!r} does not exist "
                            f"in {root}")
    return str(root)


def opsets(model: Any) -> dict[str, int]:
    """domain -> opset version; the default domain is ``""``."""
    import onnx

    found: dict[str, int] = {}
    for o in model.opset_import:
        found["" if o.domain == "ai.onnx" else o.domain] = int(o.version)
    newest = onnx.defs.onnx_opset_version()
    default = found.get("")
    if default is not None and not 1 <= default <= newest:
        raise CircError(f"the model uses ONNX opset {default}; onnx {onnx.__version__} knows "
                        f"opsets 1 to {newest}")
    uses_default = any(n.domain in ("", "ai.onnx") for n in model.graph.node)
    if uses_default and default is None:
        raise CircError("the model imports no opset for the default ONNX domain")
    return found


def set_input_shapes(model: Any, shapes: Mapping[str, Any] | Sequence[Any]) -> None:
    """Fix graph input shapes (by name, or in input order); arrays give their shape."""
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if isinstance(shapes, list | tuple):
        shapes = {i.name: s for i, s in zip(inputs, shapes)}
    elif not isinstance(shapes, Mapping):
        raise CircError("input shapes for an ONNX model are a dict (input name -> shape or "
                        f"array) or a list in input order, not a {type(shapes).__name__}")
    by_name = {i.name: i for i in inputs}
    for name, shape in shapes.items():
        if name not in by_name:
            raise CircError(f"input_shapes names '{name}', which is not a model input "
                            f"(inputs: {', '.join(by_name)})")
        dims = _shape_of(shape, name)
        t = by_name[name].type.tensor_type
        if t.HasField("shape") and len(t.shape.dim) != len(dims):
            raise CircError(f"input '{name}' has rank {len(t.shape.dim)}, input_shapes gives "
                            f"{tuple(dims)}")
        t.shape.ClearField("dim")
        for d in dims:
            t.shape.dim.add().dim_value = d


def _shape_of(shape: Any, name: str) -> list[int]:
    """An input shape given as an array (its shape) or a sequence of sizes."""
    dims = list(np.shape(shape)) if hasattr(shape, "shape") else shape
    if not isinstance(dims, list | tuple) or not all(
            isinstance(d, int | np.integer) and 0 <= d < 1 << 62 for d in dims):
        raise CircError(f"input '{name}': a shape is an array or a list of sizes, got {shape!r:.80}")
    return [int(d) for d in dims]


def dependency_order(graph: Any) -> list[Any]:
    """The nodes in an order where every input is defined first (ONNX requires one; tolerate
    any). A missing input, a value defined twice, or a cycle is reported with its node."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    producer: dict[str, int] = {}
    for i, node in enumerate(graph.node):
        for out in node.output:
            if not out:
                continue
            if out in producer or out in defined:
                first = (describe_node(graph.node[producer[out]], producer[out])
                         if out in producer else "a graph input or initializer")
                raise CircError(f"{describe_node(node, i)}: value '{out}' is already defined by "
                                f"{first}")
            producer[out] = i
    deps: list[set[int]] = []
    for i, node in enumerate(graph.node):
        needs = set()
        for name in node.input:
            if name in defined:
                continue
            if name not in producer:
                raise CircError(f"{describe_node(node, i)}: input '{name}' is not produced by "
                                "any node, initializer or graph input")
            needs.add(producer[name])
        deps.append(needs)
    for out in graph.output:
        if out.name not in defined and out.name not in producer:
            raise CircError(f"graph output '{out.name}' is not produced by any node")
    users: list[list[int]] = [[] for _ in graph.node]
    for i, needs in enumerate(deps):
        for j in needs:
            users[j].append(i)
    waiting = [len(d) for d in deps]
    import heapq

    ready = [i for i, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)  # the original order wherever it is valid
        order.append(i)
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                heapq.heappush(ready, u)
    if len(order) < len(graph.node):
        cycle = _find_cycle(deps, set(range(len(graph.node))) - set(order))
        path = " -> ".join(describe_node(graph.node[i], i) for i in cycle)
        raise CircError(f"the graph has a cycle: {path}")
    return [graph.node[i] for i in order]


def _find_cycle(deps: list[set[int]], left: set[int]) -> list[int]:
    """One cycle among the nodes `left` (each of which waits on another in `left`)."""
    start = min(left)
    seen: dict[int, int] = {}
    path: list[int] = []
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = min(d for d in deps[node] if d in left)
    loop = path[seen[node]:]
    loop.reverse()  # producer first
    first = loop.index(min(loop))  # start at the earliest node
    loop = loop[first:] + loop[:first]
    return [*loop, loop[0]]


def _array(t: Any, base_dir: str = "") -> np.ndarray:
    """A tensor's value; external data is memory-mapped (read-only) where its layout allows,
    so a multi-GB model is not read into memory at import."""
    from onnx import helper, numpy_helper
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    if base_dir and uses_external_data(t):
        try:
            info = ExternalDataInfo(t)
            dtype = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).newbyteorder("<")
            shape = tuple(int(d) for d in t.dims)
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            path = Path(base_dir) / info.location
            offset = int(info.offset or 0)
            if (info.length is None or int(info.length) == size) and size > 0 and \
                    offset + size <= path.stat().st_size and dtype.kind in "biuf" + "V":
                return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
        except (ValueError, TypeError, KeyError, OSError):
            pass  # read it the ordinary way below
    try:
        return numpy_helper.to_array(t, base_dir)
    except Exception as e:  # noqa: BLE001 - malformed tensor data, short external files
        raise CircError(f"tensor '{t.name}' cannot be read: {_short(e)}") from None


def _evaluate(model: Any, node: Any, feeds: list[np.ndarray],
              elem_types: list[int] | None = None) -> list[np.ndarray] | None:
    """Run one node with onnx.reference at the model's opset; None if it cannot be run."""
    import onnx
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    names = [n for n in node.input if n]
    try:
        types = elem_types or [helper.np_dtype_to_tensor_dtype(a.dtype) for a in feeds]
        graph = helper.make_graph(
            [node], "fold",
            [helper.make_tensor_value_info(n, t, None) for n, t in zip(names, types)],
            [helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None)
             for n in node.output if n],
        )
        m = helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)
        outs = [np.asarray(o) for o in ReferenceEvaluator(m).run(None, dict(zip(names, feeds)))]
    except Exception:  # noqa: BLE001 - the reference raises anything; the node is imported
        return None
    if any(o.dtype.kind not in "iubf" and o.dtype.name != "bfloat16" for o in outs):
        return None
    return outs


def _cast_like(model: Any, node: Any, arr: np.ndarray, target: Any) -> list[np.ndarray] | None:
    """CastLike of a constant: only the element type of its second input matters."""
    from onnx import helper

    if target is None or not target.HasField("tensor_type"):
        return None
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    cast = helper.make_node("Cast", node.input[:1], node.output[:1],
                            to=target.tensor_type.elem_type, **attrs)
    return _evaluate(model, cast, [arr])


def _static_shape(tp: Any) -> list[int] | None:
    if tp is None or not tp.HasField("tensor_type") or not tp.tensor_type.HasField("shape"):
        return None
    dims = tp.tensor_type.shape.dim
    if not all(d.HasField("dim_value") for d in dims):
        return None
    return [int(d.dim_value) for d in dims]


def _shape_or_size(node: Any, shape: list[int] | None) -> list[np.ndarray] | None:
    """``Shape`` (with its start/end) or ``Size`` of a value of static `shape`."""
    if shape is None or any(d < 0 for d in shape) or math.prod(shape) >= 1 << 63:
        return None
    if node.op_type == "Size":
        return [np.array(math.prod(shape), np.int64)]
    ends = {a.name: a.i for a in node.attribute if a.name in ("start", "end")}
    return [np.array(shape[ends.get("start", 0):ends.get("end", len(shape))], np.int64)]


def _small_results(node: Any, types: Mapping[str, Any]) -> bool:
    """Whether folding `node` makes at most FOLD_MAX_ELEMENTS values, judged before it is
    computed: by the results' inferred shapes, and for operators whose result size comes
    from an input's values (a file can ask for any size) only when those are known."""
    found = [_static_shape(types.get(o)) for o in node.output if o]
    sizes = [s for s in found if s is not None]
    if len(sizes) != len(found):
        return node.op_type not in VALUE_SIZED
    return sum(int(np.prod(s, dtype=object)) for s in sizes) <= FOLD_MAX_ELEMENTS


def fold(model: Any, fold_constants: bool, base_dir: str = "") -> bool:
    """Turn ``Constant`` nodes into initializers, and with `fold_constants` every node whose
    inputs are all constants (computed by onnx.reference when the result is known to be
    small), and ``Shape``/``Size`` of statically shaped values. True when the graph
    changed."""
    from onnx import AttributeProto as A
    from onnx import numpy_helper

    g = model.graph
    types = {vi.name: vi.type for vi in [*g.input, *g.value_info, *g.output]}
    arrays: dict[str, np.ndarray] = {}
    inits = {t.name: t for t in g.initializer}
    known = set(inits)

    def value(name: str) -> np.ndarray:
        if name not in arrays:
            arrays[name] = _array(inits[name], base_dir)
        return arrays[name]

    keep, new = [], []
    for node in g.node:
        outs = None
        ins = [n for n in node.input if n]
        default = node.domain in ("", "ai.onnx")
        if default and node.op_type == "Constant":
            outs = _evaluate(model, node, [])
        elif (fold_constants and default and node.op_type not in NOT_FOLDED
              and not any(a.type in (A.GRAPH, A.GRAPHS) for a in node.attribute)):
            if node.op_type in ("Shape", "Size") and ins:
                shape = list(inits[ins[0]].dims) if ins[0] in inits else \
                    _static_shape(types.get(ins[0]))
                outs = _shape_or_size(node, shape)
            elif ins and all(n in known for n in ins) and _small_results(node, types):
                outs = _evaluate(model, node, [value(n) for n in ins])
            elif node.op_type == "CastLike" and len(ins) == 2 and ins[0] in known \
                    and _small_results(node, types):
                outs = _cast_like(model, node, value(ins[0]), types.get(ins[1]))
        if outs is None or sum(o.size for o in outs) > FOLD_MAX_ELEMENTS:
            keep.append(node)
            continue
        for name, arr in zip(node.output, outs):
            if name:
                arrays[name] = arr
                known.add(name)
                new.append(numpy_helper.from_array(arr, name))
    if not new:
        return False
    del g.node[:]
    g.node.extend(keep)
    g.initializer.extend(new)
    return True


def infer_types(model: Any) -> Any:
    """The model with every value typed by ONNX shape inference. Strict inference first; if
    it fails somewhere (some operators' function bodies do), what it could type is kept and
    an untyped value is reported with its node when the graph is built.

    Without ONNX's data propagation: it makes a protobuf dimension per element of a 1-D
    tensor (20 GB for a float input of 2**27 elements), and the folding in `prepare` makes
    shape computations static anyway."""
    import onnx

    errors = (onnx.shape_inference.InferenceError, RuntimeError, ValueError, MemoryError)
    try:
        return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except errors as strict:
        try:
            return onnx.shape_inference.infer_shapes(model, check_type=True)
        except errors:
            raise CircError(f"ONNX shape inference failed: {_short(strict)}") from None


def prepare(model: Any, base: Path | None, input_shapes: Any = None,
            fold_constants: bool = True) -> tuple[Any, str]:
    """A checked, typed, dependency-ordered copy of `model` and the directory of its external
    data. External data is read only as weights are (checker and shape inference see the
    small model), so models over protobuf's 2 GB work."""
    import onnx
    import onnx.inliner

    model_ = onnx.ModelProto()
    model_.CopyFrom(model)
    model = model_
    opsets(model)
    base_dir = check_external_data(model, base)
    if input_shapes is not None:
        set_input_shapes(model, input_shapes)
    if model.functions:
        try:
            model = onnx.inliner.inline_local_functions(model)
        except Exception as e:  # noqa: BLE001 - onnx raises several kinds
            raise CircError(f"cannot inline the model's local functions: {_short(e)}") from None
    order = dependency_order(model.graph)
    if [id(n) for n in order] != [id(n) for n in model.graph.node]:
        nodes = [_copy(n) for n in order]
        del model.graph.node[:]
        model.graph.node.extend(nodes)
    name_omitted_outputs(model.graph)
    try:
        onnx.checker.check_model(_checkable(model) if base_dir else model)
    except (onnx.checker.ValidationError, ValueError, RuntimeError) as e:  # ValueError: C++ checks
        raise CircError(f"the ONNX checker rejects the model: {_short(e)}") from None
    model = infer_types(model)
    for _ in range(FOLD_ROUNDS):  # folding makes more shapes static, which folds more
        changed = fold(model, fold_constants, base_dir)
        if shapes_from_results(model.graph):
            changed = True
        if not changed:
            break
        model = infer_types(model)
    return model, base_dir


# operators whose first input has the shape of their result
SHAPE_PRESERVING = frozenset((
    "Identity", "Cast", "CastLike", "Abs", "Neg", "Sqrt", "Exp", "Log", "Reciprocal", "Relu",
    "Sigmoid", "Tanh", "Erf", "Sin", "Cos", "Floor", "Ceil", "Round", "Sign", "Not",
    "Softplus", "Softsign", "IsNaN", "IsInf",
))


def shapes_from_results(graph: Any) -> bool:
    """Give a value ONNX inference left without a static shape the shape of the result of
    an elementwise unary op it feeds (``ReduceSum(x, axes) -> Sqrt -> output``, the axes
    known only at run time: the declared output says the reduction's shape). True when a
    shape was added."""
    from onnx import helper

    types = {vi.name: vi for vi in [*graph.input, *graph.value_info, *graph.output]}
    added = False
    for node in reversed(graph.node):
        if node.op_type not in SHAPE_PRESERVING or node.domain not in ("", "ai.onnx"):
            continue
        if not node.input or not node.output:
            continue
        src, dst = types.get(node.input[0]), types.get(node.output[0])
        shape = _static_shape(dst.type) if dst is not None else None
        if shape is None or (src is not None and _static_shape(src.type) is not None):
            continue
        if src is not None and not src.type.HasField("tensor_type"):
            continue
        elem = src.type.tensor_type.elem_type if src is not None else 0
        if not elem:
            continue
        vi = helper.make_tensor_value_info(node.input[0], elem, shape)
        for i, old in enumerate(graph.value_info):
            if old.name == vi.name:
                del graph.value_info[i]
                break
        else:
            if any(v.name == vi.name for v in [*graph.input, *graph.output]):
                continue
        graph.value_info.append(vi)
        types[vi.name] = vi
        added = True
    return added


def name_omitted_outputs(graph: Any) -> None:
    """Give an omitted optional output that has a later output a fresh name (Attention's
    ``Y, "", "", qk_matmul_output``), so every result of an op has a type; nothing uses it.
    An operator's results do not depend on which outputs are asked for."""
    taken = {v for n in graph.node for v in [*n.input, *n.output]}
    taken.update(v.name for v in [*graph.input, *graph.output, *graph.initializer])
    for index, node in enumerate(graph.node):
        outs = list(node.output)
        while outs and not outs[-1]:
            outs.pop()
        for i, name in enumerate(outs):
            if not name:
                fresh = f"{node.name or node.op_type}{OMITTED}{i}"
                while fresh in taken:
                    fresh = f"{fresh}_{index}"
                taken.add(fresh)
                node.output[i] = fresh


def _checkable(model: Any) -> Any:
    """A copy the checker can judge without the model's directory: external initializers
    become graph inputs of the same type (their data is checked as it is read)."""
    import onnx
    from onnx import helper
    from onnx.external_data_helper import uses_external_data

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    external = [t for t in copy.graph.initializer if uses_external_data(t)]
    keep = [t for t in copy.graph.initializer if not uses_external_data(t)]
    del copy.graph.initializer[:]
    copy.graph.initializer.extend(keep)
    copy.graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                            for t in external)
    return copy


def _copy(node: Any) -> Any:
    import onnx

    n = onnx.NodeProto()
    n.CopyFrom(node)
    return n


def _short(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    text = " ".join(lines[:3]) if lines else type(e).__name__
    return text if len(text) < 600 else text[:600] + "..."


# --- locations -----------------------------------------------------------------------------

_FRAME = re.compile(r'File "([^"\x00-\x1f]+)", line (\d+)')  # one line: it is a location


def node_location(node: Any) -> Attribute:
    """``loc("name"("file.py":12:0))`` from the node name and the exporter's stack trace;
    ``loc("name")`` without a trace."""
    inner: Attribute = NoneAttr()
    for prop in node.metadata_props:
        if prop.key.endswith("stack_trace"):
            frames = _FRAME.findall(prop.value)
            if frames:
                file, line = frames[-1]
                inner = FileLineColLoc(StringAttr(file), IntAttr(int(line)), IntAttr(0))
    if node.name:
        return NameLoc(StringAttr(node.name), inner)
    return inner if isinstance(inner, FileLineColLoc) else UnknownLoc()


# --- values --------------------------------------------------------------------------------


def _value_name(name: str) -> str:
    """A readable SSA name hint from an ONNX value name, when one can be made."""
    hint = re.sub(r"[^\w$.-]", "_", name)
    if not hint or hint[0].isdigit():
        hint = "v" + hint
    return hint


def _dense(arr: np.ndarray, t: TensorType) -> DenseIntOrFPElementsAttr:
    typed = cast(TensorType[AnyDenseElement], t)  # CIR element types are dense elements
    return DenseIntOrFPElementsAttr(typed, BytesAttr(np.require(arr, requirements="C").tobytes()))


def _recordable(arr: np.ndarray, parameter: bool) -> bool:
    """A constant input whose value is recorded as ``<input>_value``: one element, or a small
    integer or float vector that the schema marks non-differentiable (a parameter, not data)."""
    if arr.dtype.kind not in ("i", "u", "b", "f") and arr.dtype.name != "bfloat16":
        return False
    if arr.size == 1:
        return True
    return parameter and arr.ndim <= 1 and arr.size <= RECORD_MAX_ELEMENTS


def _python(arr: np.ndarray) -> Any:
    if arr.dtype.name == "bfloat16" or arr.dtype.kind == "f":
        arr = arr.astype(np.float64)
    return arr.tolist()


class _GraphImporter:
    def __init__(self, model: Any, base_dir: str = ""):
        import onnx

        self.model = model
        self.graph = model.graph
        self.opsets = opsets(model)
        self.types: dict[str, Any] = {}
        for vi in [*self.graph.input, *self.graph.value_info, *self.graph.output]:
            self.types[vi.name] = vi.type
        self.known: dict[str, np.ndarray] = {
            t.name: _array(t, base_dir) for t in self.graph.initializer}
        self.values: dict[str, SSAValue] = {}
        self.weights = WeightStore()
        self.b: FunctionBuilder | None = None
        self._onnx = onnx

    # -- types --------------------------------------------------------------------------

    def tensor_type(self, name: str, what: str) -> TensorType:
        tp = self.types.get(name)
        if tp is None or not tp.HasField("tensor_type"):
            kind = tp.WhichOneof("value") if tp is not None else None
            if kind:
                raise CircError(f"{what}: value '{name}' is a {kind.removesuffix('_type')}, "
                                "not a tensor; circ supports tensors only")
            raise CircError(f"{what}: value '{name}' has no type after ONNX shape inference")
        tt = tp.tensor_type
        elem = element_type(tt.elem_type, f"{what}: value '{name}'")
        if not tt.HasField("shape"):
            raise CircError(f"{what}: value '{name}' has an unknown rank after ONNX shape "
                            "inference; circ needs static shapes")
        dims = []
        for i, d in enumerate(tt.shape.dim):
            if not d.HasField("dim_value"):
                sym = f" '{d.dim_param}'" if d.dim_param else ""
                raise CircError(f"{what}: value '{name}' has a dynamic dimension {i}{sym}; "
                                "circ needs static shapes (give input_shapes for the inputs)")
            dims.append(int(d.dim_value))
        return TensorType(elem, static_shape(dims, f"{what}: value '{name}'"))

    def result_type(self, name: str, what: str) -> TensorType:
        """A node result's type; an omitted output ONNX could not type (nothing uses it)
        gets an empty f32 tensor."""
        try:
            return self.tensor_type(name, what)
        except CircError:
            if OMITTED not in name:
                raise
            return TensorType(f32, [0])

    # -- constants ----------------------------------------------------------------------

    def constant(self, name: str) -> SSAValue:
        """The cir.weight for a known constant, made at its first use."""
        if name not in self.values:
            arr = self.known[name]
            assert self.b is not None
            t = TensorType(element_type(_elem_of(arr), f"constant '{name}'"), list(arr.shape))
            self.weights[name] = np.require(arr, requirements="C")
            saved, self.b.location = self.b.location, None
            v = self.b.add(WeightOp(name, t))
            self.b.location = saved
            v.name_hint = _value_name(name)
            self.values[name] = v
        return self.values[name]

    def lookup(self, name: str) -> SSAValue:
        if name in self.values:
            return self.values[name]
        return self.constant(name)

    # -- nodes --------------------------------------------------------------------------

    def operand_names(self, node: Any, index: int) -> list[tuple[str, bool] | None]:
        """Per input position: (schema name, is a parameter), or None for an empty optional
        input. Parameters are the inputs the schema marks non-differentiable."""
        domain = "" if node.domain == "ai.onnx" else node.domain
        version = self.opsets.get(domain)
        what = describe_node(node, index)
        schema = None
        if version is not None:
            try:
                schema = self._onnx.defs.get_schema(node.op_type, version, domain)
            except self._onnx.defs.SchemaError:
                schema = None
        if schema is None:
            if domain == "":
                raise CircError(f"{what}: ONNX opset {version} has no operator '{node.op_type}'")
            return [(f"input{i}", False) if n else None for i, n in enumerate(node.input)]
        formal = list(schema.inputs)
        variadic = formal and formal[-1].option == schema.FormalParameterOption.Variadic
        if len(node.input) > len(formal) and not variadic:
            raise CircError(f"{what}: {len(node.input)} inputs given, the operator takes at "
                            f"most {len(formal)}")
        nondiff = schema.DifferentiationCategory.NonDifferentiable
        names: list[tuple[str, bool] | None] = []
        for i, value in enumerate(node.input):
            p = formal[min(i, len(formal) - 1)]
            names.append((p.name, p.differentiation_category == nondiff) if value else None)
        return names

    def attributes(self, node: Any, index: int) -> dict[str, Any]:
        from onnx import AttributeProto as A
        from onnx import helper

        what = describe_node(node, index)
        attrs: dict[str, Any] = {}
        domain = "" if node.domain == "ai.onnx" else node.domain
        given = list(node.attribute)
        try:
            schema = self._onnx.defs.get_schema(node.op_type, self.opsets.get(domain, 1), domain)
            defaults = [a.default_value for a in schema.attributes.values()
                        if a.default_value.name and a.default_value.type != A.UNDEFINED]
        except self._onnx.defs.SchemaError:
            defaults = []
        names = {a.name for a in given}
        for a in given + [d for d in defaults if d.name not in names]:
            if a.type in (A.GRAPH, A.GRAPHS):
                raise CircError(f"{what}: control flow with subgraphs is not supported; circ "
                                "needs a static dataflow graph")
            if a.type in (A.SPARSE_TENSOR, A.SPARSE_TENSORS, A.TYPE_PROTO, A.TYPE_PROTOS):
                raise CircError(f"{what}: attribute '{a.name}' of kind "
                                f"{A.AttributeType.Name(a.type)} is not supported")
            if a.ref_attr_name:
                raise CircError(f"{what}: attribute '{a.name}' refers to a function attribute")
            if a.type == A.TENSOR:
                arr = _array(a.t)
                t = TensorType(element_type(a.t.data_type, f"{what}: attribute '{a.name}'"),
                               list(arr.shape))
                attrs[a.name] = _dense(arr, t)
            elif a.type == A.TENSORS:
                raise CircError(f"{what}: tensor-list attribute '{a.name}' is not supported")
            else:
                value = helper.get_attribute_value(a)
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                elif isinstance(value, list):
                    value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                             for v in value]
                attrs[a.name] = value
        return attrs

    def node(self, node: Any, index: int) -> None:
        assert self.b is not None
        what = describe_node(node, index)
        operands: list[tuple[str, SSAValue]] = []
        attrs = self.attributes(node, index)
        names = self.operand_names(node, index)
        counts: dict[str, int] = {}
        for n in names:
            if n is not None:
                counts[n[0]] = counts.get(n[0], 0) + 1
        for formal, value in zip(names, node.input):
            if formal is None:
                continue
            schema_name, parameter = formal
            operands.append((schema_name, self.lookup(value)))
            if value in self.known and counts[schema_name] == 1:
                arr = self.known[value]
                if _recordable(arr, parameter):
                    key = f"{schema_name}_value"
                    if key in attrs:
                        raise CircError(f"{what}: attribute '{key}' clashes with the value "
                                        f"circ records for input '{schema_name}'")
                    attrs[key] = _python(arr)
        outputs = list(node.output)
        while outputs and not outputs[-1]:
            outputs.pop()
        result_types = [self.result_type(o, what) for o in outputs]
        domain = "" if node.domain == "ai.onnx" else node.domain
        name = f"onnx.{node.op_type}" if not domain else f"onnx.{domain}.{node.op_type}"
        try:
            op = op_class(name)(operands, attrs, result_types)
        except TypeError as e:
            raise CircError(f"{what}: {e}") from None
        self.b.add(op)
        for out, res in zip(outputs, op.results):
            res.name_hint = _value_name(out)
            self.values[out] = res

    # -- the graph ----------------------------------------------------------------------

    def build(self) -> ModuleOp:
        g = self.graph
        names: list[str] = []  # the ONNX names, kept as {cir.name} argument attributes
        inputs: dict[str, TensorType] = {}  # keyed by SSA name hints
        for vi in g.input:
            if vi.name in self.known:  # an initializer listed as input (IR < 4): a constant
                continue
            hint = base = _value_name(vi.name)
            while hint in inputs:
                hint = f"{base}_{len(inputs)}"
            inputs[hint] = self.tensor_type(vi.name, f"graph input '{vi.name}'")
            names.append(vi.name)

        def body(b: FunctionBuilder, *args: SSAValue) -> list[SSAValue]:
            self.b = b
            for name, arg in zip(names, args, strict=True):
                self.values[name] = arg
            for i, node in enumerate(g.node):
                b.location = node_location(node)
                self.node(node, i)
            b.location = None
            return [self.lookup(o.name) for o in g.output]

        fn = build_function("main", inputs, body)
        fn.arg_attrs = ArrayAttr([DictionaryAttr({"cir.name": StringAttr(n)}) for n in names])
        # outputs become file names (`circ run` writes <name>.npy): no path separators
        fn.res_attrs = name_attrs([re.sub(r"[/\\]", "_", o.name) for o in g.output])
        module = ModuleOp([fn])
        for domain, version in sorted(self.opsets.items()):
            key = OPSET_ATTR if not domain else f"{OPSET_ATTR}.{domain}"
            module.attributes[key] = IntegerAttr(version, i64)
        attach(module, self.weights)
        return module


def _elem_of(arr: np.ndarray) -> int:
    from onnx import helper

    try:
        return helper.np_dtype_to_tensor_dtype(arr.dtype)
    except (KeyError, ValueError, TypeError):
        return 0


def import_onnx(source: Any, input_shapes: Mapping[str, Any] | Sequence[Any] | None = None,
                fold_constants: bool = True) -> ModuleOp:
    """An ONNX model (a ``.onnx`` path, its bytes, or a ModelProto) -> a module in the
    ``onnx`` import dialect, weights attached.

    >>> m = import_onnx("unet.onnx")
    >>> m = import_onnx(model_proto, input_shapes={"sample": (1, 4, 64, 64)})
    """
    model, base = load_model(source)
    model, base_dir = prepare(model, base, input_shapes, fold_constants)
    return _GraphImporter(model, base_dir).build()
