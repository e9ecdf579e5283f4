"""``lower-to-graph``: the model graph for ACL/GE, in three forms.

- ``to_onnx(module)``: an ONNX model (opset 18) with standard ops for plain CIR ops and
  ``npu``-domain nodes for the fused operators CANN's ONNX plugins map (``atc --framework=5``);
  ``expand_npu_nodes(model)`` replaces those by standard ONNX so onnxruntime can run it.
- ``to_ge(module)`` / ``ge_text(module)``: GE's own protobuf graph (``ge_ir.proto``: ModelDef
  -> GraphDef -> OpDef with tensor descriptors carrying the data formats).
- ``to_launch_graph(module)``: what circ's runtime executes after ``lower-to-ascendc`` and
  ``plan-memory``: one node per kernel launch with resolved arguments.

What each CIR op becomes is data (``graph_ops.toml``, its format documented at its top); this
module only interprets it. The ONNX and GE forms need the CIR graph only; the launch graph
needs the kernels and the memory plan too.

>>> model = to_onnx(module); onnx.checker.check_model(model, full_check=True)
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import struct
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from cir.passes.table_expr import EXTRA_HELPERS, evaluate
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DictionaryAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.irdl import IRDLOperation, OptionalDef, VariadicDef

from cir import __version__
from cir import ops as cir_ops
from cir.errors import CircError, describe_location, describe_op
from cir.formats import physical_bytes, physical_shape, unpack
from cir.graph_ops import TABLE
from cir.interpreter import constant_array
from cir.io import to_text
from cir.opbase import CirOp
from cir.signature import entry_function, input_names, output_names
from cir.types import DTYPES, dtype_named, dtype_of, format_of
from cir.weights import safetensors_index, weights_of

PROTO = Path(__file__).parent / "ge_ir.proto"
ONNX_OPSET = 18  # ATC reads ONNX opsets 11-18
NPU_DOMAIN = "npu"
LAUNCH_GRAPH_VERSION = 2  # 2: nodes may run on the host fallback (engine "host", op in "ir")


@cache
def table() -> dict[str, Any]:
    return tomllib.loads(TABLE.read_text())


# --- helpers the table's expressions may call --------------------------------------------

_ONNX_DTYPES = {"f32": 1, "f16": 10, "bf16": 16, "i64": 7, "i32": 6, "i8": 3, "i1": 9}
_GE_PROTO_DTYPES = {"f32": 1, "f16": 2, "bf16": 27, "i64": 8, "i32": 7, "i8": 3, "i1": 11}
_GE_CPP_DTYPES = {"f32": 0, "f16": 1, "bf16": 27, "i64": 9, "i32": 3, "i8": 2, "i1": 12}  # ge::DataType


def _causal_bias(q_len: int, k_len: int) -> list[list[float]]:
    keep = np.tril(np.ones((q_len, k_len), dtype=bool))
    return np.where(keep, 0.0, -1e30).tolist()


_HELPERS = {
    "full": lambda shape, v: np.full([int(d) for d in shape], v).tolist(),
    "causal_bias": _causal_bias,
    "onnx_dtype": lambda name: _ONNX_DTYPES[name],
    "ge_dtype": lambda name: _GE_CPP_DTYPES[name],
    "pairs": lambda lo, hi: [[a, b] for a, b in zip(lo, hi)],
    "heads": lambda bsh, n: [bsh[0], n, bsh[1], bsh[2] // n],  # (B, S, H) -> (B, N, S, H/N)
}
for _name, _fn in _HELPERS.items():
    EXTRA_HELPERS.setdefault(_name, lambda env, fn=_fn: fn)


# --- the template interpreter --------------------------------------------------------------


@dataclass
class Tensor:
    """A value as a template sees it: its name in the graph, logical shape, CIR dtype name."""

    name: str
    shape: list[int] | None
    dtype: str
    fmt: str = "ND"


@dataclass
class Node:
    type: str
    domain: str
    name: str
    inputs: list[Tensor | None]
    outputs: list[Tensor]
    attrs: dict[str, Any]


@dataclass
class Emitter:
    """Collects the rendered nodes and constants of one graph."""

    nodes: list[Node] = field(default_factory=list)
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    ge_mode: bool = False

    def const(self, prefix: str, arr: np.ndarray) -> Tensor:
        name = f"{prefix}/c{len(self.consts)}"
        self.consts[name] = arr
        dt = _dtype_name(arr.dtype)
        return Tensor(name, list(arr.shape), dt)


def _dtype_name(dt: np.dtype) -> str:
    for d in DTYPES:
        if d.np == dt:
            return d.name
    raise CircError(f"no CIR element type for numpy dtype {dt}")


def _env(attrs: Mapping[str, Any], ins: Sequence[Tensor | None],
         outs: Sequence[Tensor]) -> dict[str, Any]:
    xs = [list(t.shape) if t is not None and t.shape is not None else None for t in ins]
    first = xs[0] if xs else None
    pad: list[None] = [None] * 8  # an operand a template names but the node lacks is absent
    return {**attrs, "xs": xs + pad, "ys": [list(t.shape) if t.shape is not None else None for t in outs],
            "xdt": [t.dtype if t is not None else None for t in ins] + pad,
            "ydt": [t.dtype for t in outs], "rank": len(first) if first else 0,
            "in_shape": first or []}


def render(nodes: Sequence[Sequence[Any]], ins: Sequence[Tensor | None], outs: Sequence[Tensor],
           attrs: Mapping[str, Any], prefix: str, em: Emitter, where: str) -> None:
    """Expand one table entry (a node list) with operands `ins` and results `outs`."""
    env = _env(attrs, ins, outs)
    temps: dict[str, Tensor] = {}
    elem = ins[0].dtype if ins and ins[0] is not None else outs[0].dtype

    def ev(expr: Any) -> Any:
        return evaluate(expr, env) if isinstance(expr, str) else expr

    def operand(tok: str) -> list[Tensor | None]:
        if tok == "":
            return [None]
        if tok == "x*":
            return list(ins)
        if tok == "y*":
            return list(outs)
        if ":" in tok:  # a constant
            dt, expr = tok.split(":", 1)
            value = ev(expr)
            if value is None:
                return [None]
            npdt = dtype_named(elem if dt == "T" else dt).np
            return [em.const(prefix, np.asarray(value, dtype=np.float64 if npdt.kind == "f" else None)
                             .astype(npdt))]
        kind, idx = tok[0], tok[1:]
        if kind == "x":
            i = int(idx)
            return [ins[i] if i < len(ins) else None]
        if kind == "y":
            return [outs[int(idx)]]
        if tok in temps:
            return [temps[tok]]
        raise CircError(f"graph_ops.toml ({where}): '{tok}' is used before it is defined")

    def result(tok: str, k: int) -> list[Tensor]:
        name, _, shape_expr = tok.partition("@")
        if name == "y*":
            return list(outs)
        if name.startswith("y"):
            return [outs[int(name[1:])]]
        shape = ev(shape_expr) if shape_expr else (outs[0].shape if outs else None)
        t = Tensor(f"{prefix}/{name}{'' if name != '_' else k}", shape, elem)
        if name != "_":
            temps[name] = t
        return [t]

    for k, spec in enumerate(nodes):
        op_type, in_toks, out_toks = spec[0], spec[1], spec[2]
        node_attrs = dict(spec[3]) if len(spec) > 3 else {}
        cond = node_attrs.pop("if", True)
        if not ev(cond):
            continue
        node_ins = [t for tok in in_toks for t in operand(tok)]
        node_outs = [t for j, tok in enumerate(out_toks) for t in result(tok, k * 8 + j)]
        values = {name: ev(v) for name, v in node_attrs.items()}
        if op_type.startswith("@"):
            macro = table()["macro"].get(op_type[1:])
            if macro is None:
                raise CircError(f"graph_ops.toml ({where}): unknown macro '{op_type}'")
            render(macro, node_ins, node_outs, values, f"{prefix}/{op_type[1:]}{k}", em,
                   f"macro {op_type[1:]}")
            continue
        domain, _, typ = op_type.rpartition("::")
        em.nodes.append(Node(typ, domain, prefix if k == 0 else f"{prefix}/{k}", node_ins, node_outs,
                             {a: v for a, v in values.items() if v is not None}))


# --- the CIR graph as templates see it ------------------------------------------------------


@dataclass
class Graph:
    """@main's values named once, shared by the three graph forms."""

    f: func.FuncOp
    names: dict[SSAValue, str]
    inputs: list[Tensor]
    outputs: list[Tensor]
    output_values: list[SSAValue]
    ops: list[Operation]


def _tensor(v: SSAValue, name: str) -> Tensor:
    t = v.type
    if not isinstance(t, TensorType):
        raise CircError(f"value '{name}' is not a tensor ({t})")
    return Tensor(name, list(t.get_shape()), dtype_of(t).name, format_of(t))


def graph_of(module: ModuleOp) -> Graph:
    if not isinstance(module, ModuleOp):
        raise CircError(f"expected a CIR module, got {type(module).__name__}")
    f = entry_function(module)
    names: dict[SSAValue, str] = {}
    used: set[str] = set()

    def unique(base: str) -> str:
        name, n = base, 1
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        return name

    inputs = []
    for arg, name in zip(f.body.block.args, input_names(f), strict=True):
        names[arg] = unique(name)
        inputs.append(_tensor(arg, names[arg]))
    body = list(f.body.block.ops)
    ops = []
    for i, op in enumerate(body):
        if isinstance(op, func.ReturnOp):
            continue
        if op.dialect_name() != "cir":
            raise CircError(f"{describe_op(op)} is not a CIR op: graphs are made from CIR only")
        ops.append(op)
        if isinstance(op, cir_ops.WeightOp):
            names[op.result] = unique(op.sym_name.data)
            continue
        base = f"{op.name.removeprefix('cir.')}_{i}"
        for k, r in enumerate(op.results):
            names[r] = unique(base if len(op.results) == 1 else f"{base}_{k}")
    ret = body[-1]
    assert isinstance(ret, func.ReturnOp)
    out_values = list(ret.arguments)
    outputs = [_tensor(v, n) for v, n in zip(out_values, output_names(f), strict=True)]
    return Graph(f, names, inputs, outputs, out_values, ops)


def _slots(op: Operation, g: Graph) -> list[Tensor | None]:
    """Operands in declaration order, None for an absent optional one, variadics flattened."""
    out: list[Tensor | None] = []
    assert isinstance(op, IRDLOperation)
    for name, d in type(op).get_irdl_definition().operands:
        v = getattr(op, name)
        if isinstance(d, VariadicDef) and not isinstance(d, OptionalDef):
            out.extend(_tensor(x, g.names[x]) for x in v)
        elif v is None:
            out.append(None)
        else:
            out.append(_tensor(v, g.names[v]))
    return out


def _render_op(op: Operation, g: Graph, form: str, em: Emitter) -> None:
    entry = table()[form].get(op.name)
    if entry is None:
        raise CircError(f"{describe_op(op)}: no {form.upper()} mapping in graph_ops.toml")
    outs = [_tensor(r, g.names[r]) for r in op.results]
    try:
        assert isinstance(op, CirOp)
        render(entry, _slots(op, g), outs, dict(op.p), g.names[op.results[0]], em,
               f"{form} {op.name}")
    except CircError as e:
        raise CircError(f"{describe_op(op)}: {e}") from None
    made = {t.name for n in em.nodes for t in n.outputs}
    missing = [t.name for t in outs if t.name not in made]
    if missing:
        raise CircError(f"{describe_op(op)}: graph_ops.toml ({form}) computes no {', '.join(missing)}")


def _weight_array(op: cir_ops.WeightOp, store: Mapping[str, np.ndarray]) -> np.ndarray:
    name = op.sym_name.data
    if name not in store:
        raise CircError(f"{describe_op(op)}: weight '{name}' is not in the module's weights")
    t = op.result.type
    assert isinstance(t, TensorType)
    arr = np.asarray(store[name])
    fmt = format_of(t)
    if fmt != "ND" and tuple(arr.shape) != t.get_shape():  # pre-packed: back to logical
        arr = unpack(arr, fmt, t.get_shape())
    return arr.astype(dtype_of(t).np, copy=False).reshape(t.get_shape())


# --- (a) ONNX ----------------------------------------------------------------------------


@cache
def _register_npu_schemas() -> None:
    """Declare the npu-domain ops to onnx so the checker's strict shape inference accepts them."""
    from onnx import defs

    T = ("T", ["tensor(float)", "tensor(float16)", "tensor(bfloat16)"], "float tensors")
    P = defs.OpSchema.FormalParameter
    Opt = defs.OpSchema.FormalParameterOption.Optional
    A = defs.OpSchema.AttrType
    specs = {
        "NPUGroupNormSilu": (["x", "gamma", "beta"], ["y", "mean", "rstd"],
                             {"group": A.INT, "eps": A.FLOAT}),
        "NPUGeGlu": (["x"], ["y", "gelu"], {"dim": A.INT, "approximate": A.INT, "activate_left": A.INT}),
        "NPURmsNorm": (["x", "gamma"], ["y", "rstd"], {"epsilon": A.FLOAT}),
        "NPUPromptFlashAttention": (
            ["query", "key", "value", "pse_shift?", "atten_mask?", "actual_seq_lengths?"], ["y"],
            {"num_heads": A.INT, "scale_value": A.FLOAT, "pre_tokens": A.INT, "next_tokens": A.INT,
             "input_layout": A.STRING, "num_key_value_heads": A.INT}),
    }
    for name, (ins, outs, attrs) in specs.items():
        try:
            defs.get_schema(name, 1, NPU_DOMAIN)
            continue
        except defs.SchemaError:
            pass
        schema = defs.OpSchema(
            name, NPU_DOMAIN, 1, doc=f"CANN fused operator {name} (circ's declaration)",
            inputs=[P(i.rstrip("?"), "T" if i != "actual_seq_lengths?" and i != "atten_mask?" else
                      "M", "", param_option=Opt if i.endswith("?") else
                      defs.OpSchema.FormalParameterOption.Single) for i in ins],
            outputs=[P(o, "T", "", param_option=Opt if k else
                       defs.OpSchema.FormalParameterOption.Single) for k, o in enumerate(outs)],
            type_constraints=[T, ("M", ["tensor(bool)", "tensor(int64)", "tensor(float)",
                                        "tensor(float16)"], "masks and lengths")],
            attributes=[defs.OpSchema.Attribute(a, t, "") for a, t in attrs.items()],
        )
        defs.register_schema(schema)


def _onnx_attr_value(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, tuple):
        return [_onnx_attr_value(x) for x in v]
    return v


def _value_info(t: Tensor) -> Any:
    from onnx import helper

    return helper.make_tensor_value_info(t.name, _ONNX_DTYPES[t.dtype], t.shape)


def _onnx_nodes(em: Emitter) -> list[Any]:
    from onnx import helper

    return [helper.make_node(n.type, [t.name if t is not None else "" for t in n.inputs],
                             [t.name for t in n.outputs], name=n.name, domain=n.domain or None,
                             **{k: _onnx_attr_value(v) for k, v in n.attrs.items()})
            for n in em.nodes]


def _initializer(name: str, arr: np.ndarray) -> Any:
    from onnx import numpy_helper

    if arr.dtype.name == "bfloat16":
        from onnx import helper

        raw = np.asarray(arr).view(np.uint16).tobytes()
        return helper.make_tensor(name, _ONNX_DTYPES["bf16"], list(arr.shape), raw, raw=True)
    return numpy_helper.from_array(np.ascontiguousarray(arr), name)


def _external_initializer(name: str, dtype: np.dtype, shape: Sequence[int], location: str,
                          begin: int, end: int) -> Any:
    """An initializer whose bytes stay in another file (ONNX external data)."""
    from onnx import TensorProto, helper

    t = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(dtype), dims=list(shape))
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(begin)), ("length", str(end - begin))):
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    return t


def to_onnx(module: ModuleOp, weights_file: Path | None = None) -> Any:
    """The module's ``@main`` as an ONNX ModelProto (opset 18 + the ``npu`` domain).

    Weights become initializers, every CIR value gets a value_info; fused ops become npu
    nodes where CANN's ONNX plugins define one. Needs only the CIR graph (no kernels).
    `weights_file`: a safetensors file holding the weights (in the IR's element types), to be
    saved beside the ONNX file; initializers then point into it (ONNX external data), so a
    model of any size is written without copying its weights (protobuf stops at 2 GB).

    >>> onnx.save(to_onnx(module), "m.onnx")   # atc --model=m.onnx --framework=5 ...
    """
    from onnx import helper

    _register_npu_schemas()
    g = graph_of(module)
    store = weights_of(module)
    index = safetensors_index(weights_file) if weights_file is not None else {}
    em = Emitter()
    inits: dict[str, np.ndarray] = {}
    external = []
    for op in g.ops:
        if isinstance(op, cir_ops.WeightOp):
            entry = index.get(op.sym_name.data)
            t = op.result.type
            if entry is not None and weights_file is not None and format_of(t) == "ND" \
                    and entry[1] == t.get_shape() and entry[0] == dtype_of(t).np:
                external.append(_external_initializer(g.names[op.result], entry[0], entry[1],
                                                      weights_file.name, entry[2], entry[3]))
                continue
            inits[g.names[op.result]] = _weight_array(op, store)
        elif isinstance(op, cir_ops.ConstantOp):
            inits[g.names[op.result]] = constant_array(op)
        else:
            _render_op(op, g, "onnx", em)
    for v, out in zip(g.output_values, g.outputs, strict=True):  # outputs under their own names
        em.nodes.append(Node("Identity", "", f"output/{out.name}", [_tensor(v, g.names[v])], [out], {}))
    inits.update(em.consts)
    outputs = {t.name for t in g.outputs}
    inner = [_tensor(r, g.names[r]) for op in g.ops if not isinstance(op, cir_ops.WeightOp | cir_ops.ConstantOp)
             for r in op.results]
    graph = helper.make_graph(
        _onnx_nodes(em), g.f.sym_name.data,
        [_value_info(t) for t in g.inputs], [_value_info(t) for t in g.outputs],
        initializer=[*external, *(_initializer(n, a) for n, a in inits.items())],
        value_info=[_value_info(t) for t in inner if t.name not in outputs],
    )
    model = helper.make_model(
        graph, producer_name="circ", producer_version=_version(),
        opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid(NPU_DOMAIN, 1)],
    )
    model.ir_version = 8  # the newest IR version that opset 18 runtimes all read
    return model


def _version() -> str:
    return __version__


def expand_npu_nodes(model: Any) -> Any:
    """A copy of `model` with every npu-domain node replaced by standard ONNX ops.

    The decompositions are ``[npu.*]`` in graph_ops.toml; onnxruntime runs the result.
    """
    from onnx import ModelProto, helper, numpy_helper

    out = ModelProto()
    out.CopyFrom(model)
    gr = out.graph
    shapes: dict[str, Tensor] = {}
    elem_of = {v: k for k, v in _ONNX_DTYPES.items()}
    for vi in (*gr.input, *gr.output, *gr.value_info):
        tt = vi.type.tensor_type
        shapes[vi.name] = Tensor(vi.name, [d.dim_value for d in tt.shape.dim], elem_of[tt.elem_type])
    for init in gr.initializer:
        shapes[init.name] = Tensor(init.name, list(init.dims), elem_of[init.data_type])
    em = Emitter()
    new_nodes = []
    for node in gr.node:
        if node.domain != NPU_DOMAIN:
            new_nodes.append(node)
            continue
        entry = table()["npu"].get(node.op_type)
        if entry is None:
            raise CircError(f"no standard-ONNX expansion for npu::{node.op_type} in graph_ops.toml")
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()}
        ins = [shapes.get(n) if n else None for n in node.input]
        if any(n and n not in shapes for n in node.input):
            raise CircError(f"npu::{node.op_type} node '{node.name}': an input has no shape")
        outs = [shapes.get(n, Tensor(n, None, ins[0].dtype if ins[0] else "f32")) for n in node.output]
        start = len(em.nodes)
        render(entry, ins, outs, attrs, node.name or node.output[0], em, f"npu {node.op_type}")
        new_nodes.extend(_onnx_nodes(Emitter(em.nodes[start:])))
    del gr.node[:]
    gr.node.extend(new_nodes)
    gr.initializer.extend(numpy_helper.from_array(a, n) for n, a in em.consts.items())
    del out.opset_import[:]
    out.opset_import.extend([helper.make_opsetid("", ONNX_OPSET)])
    return out


def onnx_text(module: ModuleOp) -> str:
    """The ONNX graph in onnx's readable text form (for people and FileCheck)."""
    import onnx.printer

    return onnx.printer.to_text(to_onnx(module).graph)


# --- (b) GE IR ---------------------------------------------------------------------------


def _cache_dir() -> Path:
    base = os.environ.get("CIRC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "circ")
    return Path(base)


@cache
def ge_ir() -> ModuleType:
    """The Python classes of ``ge_ir.proto``, generated by protoc (grpcio-tools) into a cache
    folder keyed by the .proto's hash, and imported from there."""
    text = PROTO.read_bytes()
    folder = _cache_dir() / "ge_ir" / hashlib.sha256(text).hexdigest()[:16]
    target = folder / "ge_ir_pb2.py"
    if not target.exists():
        import importlib.util as iu
        import shutil
        import subprocess
        import tempfile

        spec_gt = iu.find_spec("grpc_tools")
        if spec_gt is None or spec_gt.origin is None:
            raise CircError("GE graphs need protoc: install grpcio-tools (pip install grpcio-tools)")
        folder.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
            shutil.copy(PROTO, Path(tmp) / "ge_ir.proto")
            include = Path(spec_gt.origin).parent / "_proto"
            # protoc in its own process: run inside a process that has loaded other protobuf
            # users (TensorFlow, onnx), grpc_tools' in-process protoc can crash
            proc = subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{tmp}", f"-I{include}",
                                   f"--python_out={tmp}", str(Path(tmp) / "ge_ir.proto")],
                                  check=False, capture_output=True, text=True)
            if proc.returncode != 0:
                raise CircError(f"protoc failed on {PROTO} (exit {proc.returncode}): {proc.stderr.strip()}")
            try:
                os.replace(Path(tmp) / "ge_ir_pb2.py", Path(tmp) / "ready.py")
                folder.mkdir(exist_ok=True)
                os.replace(Path(tmp) / "ready.py", target)
            except OSError:
                if not target.exists():
                    raise
    spec = importlib.util.spec_from_file_location("circ_ge_ir_pb2", target)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("circ_ge_ir_pb2", mod)
    spec.loader.exec_module(mod)
    return mod


def _ge_attr(pb: ModuleType, v: Any) -> Any:
    a = pb.AttrDef()
    LV = pb.AttrDef.ListValue
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, bool):
        a.b = v
    elif isinstance(v, int):
        a.i = v
    elif isinstance(v, float):
        a.f = v
    elif isinstance(v, str):
        a.s = v.encode()
    elif isinstance(v, pb.TensorDef):
        a.t.CopyFrom(v)
    elif isinstance(v, list | tuple):
        items = list(v)
        if items and all(isinstance(x, list | tuple) for x in items):
            for row in items:
                a.list_list_int.list_list_i.add().list_i.extend(int(x) for x in row)
        elif all(isinstance(x, bool) for x in items) and items:
            a.list.b.extend(items)
            a.list.val_type = LV.VT_LIST_BOOL
        elif all(isinstance(x, int) for x in items):
            a.list.i.extend(items)
            a.list.val_type = LV.VT_LIST_INT
        elif all(isinstance(x, int | float) for x in items):
            a.list.f.extend(float(x) for x in items)
            a.list.val_type = LV.VT_LIST_FLOAT
        else:
            a.list.s.extend(str(x).encode() for x in items)
            a.list.val_type = LV.VT_LIST_STRING
    else:
        raise CircError(f"cannot write attribute value {v!r} into a GE graph")
    return a


def _ge_desc(pb: ModuleType, t: Tensor) -> Any:
    d = pb.TensorDescriptor()
    d.name = t.name
    d.dtype = _GE_PROTO_DTYPES[t.dtype]
    shape = t.shape or []
    item = dtype_named(t.dtype).itemsize
    d.shape.dim.extend(physical_shape(shape, t.fmt, item) if t.fmt != "ND" else shape)
    d.layout = t.fmt
    d.real_dim_cnt = len(d.shape.dim)
    d.size = physical_bytes(shape, t.fmt, item)
    origin = "NCHW" if t.fmt in ("NC1HWC0", "FRACTAL_Z", "NHWC") else (
        "ND" if t.fmt == "FRACTAL_NZ" else t.fmt)
    d.attr["origin_format"].CopyFrom(_ge_attr(pb, origin))
    d.attr["origin_shape"].CopyFrom(_ge_attr(pb, list(shape)))
    return d


def to_ge_model(module: ModuleOp, weights: str = "embed") -> Any:
    """The module as a GE ``ModelDef`` message (see to_ge). `weights`: "embed" puts each
    weight's bytes in its Const op; "reference" leaves them out and names the weight instead
    (attribute ``circ_weight``), for models whose weights live beside the graph."""
    if weights not in ("embed", "reference"):
        raise CircError(f"weights must be 'embed' or 'reference', got '{weights}'")
    pb = ge_ir()
    g = graph_of(module)
    store = weights_of(module)
    em = Emitter(ge_mode=True)
    producer: dict[str, tuple[str, int]] = {}  # tensor name -> (op name, output index)
    descs: dict[str, Tensor] = {}
    model = pb.ModelDef(name=g.f.sym_name.data, version=1, custom_version=f"circ {_version()}")
    soc = module.attributes.get("cir.soc")
    if isinstance(soc, StringAttr):
        model.attr["soc_version"].CopyFrom(_ge_attr(pb, soc.data))
    graph = model.graph.add(name=g.f.sym_name.data)

    def add_op(name: str, typ: str, ins: Sequence[Tensor | None], outs: Sequence[Tensor],
               attrs: Mapping[str, Any]) -> Any:
        op = graph.op.add(name=name, type=typ, id=len(graph.op))
        for t in ins:
            if t is None:
                op.input.append("")
                op.input_desc.add()
                continue
            src = producer.get(t.name)
            if src is None:
                raise CircError(f"GE graph: '{t.name}' is read by {name} before it is produced")
            op.input.append(f"{src[0]}:{src[1]}")
            op.input_desc.add().CopyFrom(_ge_desc(pb, descs[t.name]))
        for k, t in enumerate(outs):
            producer[t.name] = (name, k)
            descs[t.name] = t
            op.output_desc.add().CopyFrom(_ge_desc(pb, t))
        for key, v in attrs.items():
            op.attr[key].CopyFrom(_ge_attr(pb, v))
        return op

    def const_op(name: str, t: Tensor, arr: np.ndarray | None, weight: str | None = None) -> None:
        value = pb.TensorDef()
        value.desc.CopyFrom(_ge_desc(pb, t))
        attrs: dict[str, Any] = {}
        if arr is not None:
            value.data = np.ascontiguousarray(arr).tobytes()
        if weight is not None:
            attrs["circ_weight"] = weight
        attrs["value"] = value
        add_op(name, "Const", [], [t], attrs)

    for i, t in enumerate(g.inputs):
        add_op(t.name, "Data", [], [t], {"index": i})
        graph.input.append(f"{t.name}:0")
    for op in g.ops:
        if isinstance(op, cir_ops.WeightOp):
            t = _tensor(op.result, g.names[op.result])
            t.fmt = "ND"  # the weights file holds the logical array
            arr = _weight_array(op, store) if weights == "embed" else None
            const_op(t.name, t, arr, op.sym_name.data)
            continue
        if isinstance(op, cir_ops.ConstantOp):
            const_op(g.names[op.result], _tensor(op.result, g.names[op.result]), constant_array(op))
            continue
        start, nconst = len(em.nodes), len(em.consts)
        _render_op(op, g, "ge", em)
        for cname, arr in list(em.consts.items())[nconst:]:
            const_op(cname, Tensor(cname, list(arr.shape), _dtype_name(arr.dtype)), arr)
        for n in em.nodes[start:]:
            add_op(n.name, n.type, n.inputs, n.outputs, n.attrs)
    outs = [descs[g.names[v]] if g.names[v] in descs else _tensor(v, g.names[v]) for v in g.output_values]
    net = add_op("NetOutput", "NetOutput", outs, [], {})
    for k, t in enumerate(g.outputs):
        net.input_name.append(t.name)
        graph.output.append(f"{producer[outs[k].name][0]}:{producer[outs[k].name][1]}")
    return model


def to_ge(module: ModuleOp, weights: str = "embed") -> bytes:
    """The module as a serialized GE IR ``ModelDef`` (one GraphDef: Data ops for the inputs,
    Const ops for weights, one OpDef per GE op with "producer:index" inputs, attributes and
    input/output tensor descriptors with dtype, shape and format, and a NetOutput).

    >>> Path("m.ge").write_bytes(to_ge(module))
    """
    return to_ge_model(module, weights).SerializeToString()


def ge_text(module: ModuleOp) -> str:
    """The GE graph in protobuf text format, weights left out (for people and FileCheck)."""
    from google.protobuf import text_format

    return text_format.MessageToString(to_ge_model(module, weights="reference"))


# --- (c) the kernel-launch graph -----------------------------------------------------------


def _launches(op: Operation) -> list[dict[str, Any]]:
    attr = op.attributes.get("cir.launches")
    if not isinstance(attr, ArrayAttr):
        raise CircError(f"{describe_op(op)} has no kernel yet (no cir.launches): "
                        f"the launch graph needs every op lowered by lower-to-ascendc")
    out = []
    for d in attr.data:
        assert isinstance(d, DictionaryAttr)
        entry = d.data

        def ival(key: str, entry: Mapping[str, Any] = entry) -> int:
            v = entry.get(key)
            return v.value.data if isinstance(v, IntegerAttr) else 0

        fields = _tiling_fields(entry.get("tiling"))
        cpu = entry.get("cpu")
        args = entry.get("args")
        kernel = entry.get("kernel")
        engine, reason = entry.get("engine"), entry.get("reason")
        out.append({
            "engine": engine.data if isinstance(engine, StringAttr) else "aicore",
            "reason": reason.data if isinstance(reason, StringAttr) else "",
            "kernel": kernel.data if isinstance(kernel, StringAttr) else "",
            "block_dim": ival("block_dim"),
            "tiling_fields": fields,
            "args": [a.data for a in args.data] if isinstance(args, ArrayAttr) else [],
            "workspace": ival("workspace"),
            "cpu": ({"block_dim": ival("block_dim", cpu.data), "tiling_fields": _tiling_fields(cpu.data.get("tiling")),
                     "workspace": ival("workspace", cpu.data)} if isinstance(cpu, DictionaryAttr) else None),
        })
    return out


def _tiling_fields(tiling: Any) -> list[tuple[str, int]]:
    return ([(k, v.value.data) for k, v in tiling.data.items() if isinstance(v, IntegerAttr)]
            if isinstance(tiling, DictionaryAttr) else [])


def _tiling_hex(fields: list[tuple[str, int]]) -> str:
    vals = [v for _, v in fields]
    return struct.pack(f"<{len(vals)}q", *vals).hex()


def _mem(op: Operation) -> list[int]:
    attr = op.attributes.get("cir.mem")
    if not isinstance(attr, DenseArrayBase):
        raise CircError(f"{describe_op(op)} has no arena offsets (no cir.mem): run plan-memory first")
    return [int(x) for x in attr.get_values()]


def _launch_arg(g: Graph, op: Operation, ln: dict[str, Any], a: str, where: dict[SSAValue, dict[str, Any]],
                store: Any) -> dict[str, Any]:
    """One GM argument of a launch node: ``operand:i``, ``result:i`` or ``weight:NAME``."""
    kind, _, ref = a.partition(":")
    if kind == "weight":
        if ref not in store:
            raise CircError(f"{describe_op(op)}: kernel {ln['kernel']} reads weight "
                            f"'{ref}', which is not in the module's weights")
        return {"kind": "weight", "name": ref, "nbytes": int(np.asarray(store[ref]).nbytes), "role": "in"}
    values = op.operands if kind == "operand" else op.results
    if kind not in ("operand", "result") or not ref.isdigit() or int(ref) >= len(values):
        raise CircError(f"{describe_op(op)}: kernel {ln['kernel']} has a bad argument '{a}'")
    v = values[int(ref)]
    t = v.type
    assert isinstance(t, TensorType)
    return {**where[v], "nbytes": _nbytes(v), "value": g.names[v], "role": "in" if kind == "operand" else "out",
            "shape": list(t.get_shape()), "dtype": dtype_of(t).name}


def _nbytes(v: SSAValue) -> int:
    t = v.type
    assert isinstance(t, TensorType)
    return physical_bytes(t.get_shape(), format_of(t), dtype_of(t).itemsize)


def to_launch_graph(module: ModuleOp) -> dict[str, Any]:
    """The launch graph circ's runtime executes (JSON-able).

    Needs ``lower-to-ascendc`` and ``plan-memory`` to have run. Layout:
    ``version, soc, arena_bytes, inputs, outputs, weights, constants, nodes, aliases`` where
    each node is one kernel launch in execution order: ``kernel, block_dim, tiling`` (the
    struct's int64 values in field order, their names, and the struct's bytes as hex),
    ``args`` (each GM argument before ``workspace, tiling``: ``{"kind": "arena", "offset",
    "nbytes"}``, ``{"kind": "input"|"output"|"weight"|"constant", "name", "nbytes"}``),
    ``workspace`` (bytes), the CIR ``op`` and its source ``loc``, and ``cpu``
    (``block_dim, tiling, tiling_hex, workspace``) where circ's CPU layer runs the kernel with the
    tiling for its own cores (`cir.runtime.executor.for_cpu_layer`). A view (a reshape that
    launches nothing) is recorded in ``aliases``: same bytes under another shape.
    """
    g = graph_of(module)
    soc = module.attributes.get("cir.soc")
    arena = module.attributes.get("cir.arena_bytes")
    if not isinstance(soc, StringAttr) or not isinstance(arena, IntegerAttr):
        raise CircError("the module is not lowered: run 'lower-to-ascendc{soc=...},plan-memory' "
                        "before making a launch graph (no cir.soc / cir.arena_bytes)")
    store = weights_of(module)
    where: dict[SSAValue, dict[str, Any]] = {}
    for arg, t in zip(g.f.body.block.args, g.inputs, strict=True):
        where[arg] = {"kind": "input", "name": t.name}
    weights, constants = [], []
    for op in g.ops:
        if isinstance(op, cir_ops.WeightOp):
            name = op.sym_name.data
            if name not in store:
                raise CircError(f"{describe_op(op)}: weight '{name}' is not in the module's weights")
            arr = np.asarray(store[name])
            dt = dtype_of(op.result.type)  # the package stores weights in the IR's element type
            where[op.result] = {"kind": "weight", "name": name}
            weights.append({"name": name, "shape": list(arr.shape), "dtype": dt.name,
                            "format": format_of(op.result.type), "nbytes": int(arr.size * dt.itemsize)})
        elif isinstance(op, cir_ops.ConstantOp):
            arr = constant_array(op)
            name = g.names[op.result]
            where[op.result] = {"kind": "constant", "name": name}
            constants.append({"name": name, "shape": list(arr.shape), "dtype": _dtype_name(arr.dtype),
                              "nbytes": int(arr.nbytes), "hex": np.ascontiguousarray(arr).tobytes().hex()})
        elif not _launches(op) and op.operands and _mem(op)[0] < 0:
            where[op.results[0]] = where[op.operands[0]]  # a view of an input or a weight
        else:
            for r, off in zip(op.results, _mem(op), strict=True):
                if off < 0:
                    raise CircError(f"{describe_op(op)}: result '{g.names[r]}' has no place in the arena")
                where[r] = {"kind": "arena", "offset": off}

    def desc(v: SSAValue, name: str) -> dict[str, Any]:
        t = _tensor(v, name)
        return {"name": name, "shape": t.shape, "dtype": t.dtype, "format": t.fmt, "nbytes": _nbytes(v)}

    nodes, aliases = [], []
    for op in g.ops:
        if isinstance(op, cir_ops.WeightOp | cir_ops.ConstantOp):
            continue
        launches = _launches(op)
        loc = describe_location(op.location)
        if not launches:
            src = op.operands[0]
            aliases.append({"value": g.names[op.results[0]], "of": g.names[src], "op": op.name,
                            "loc": loc, **desc(op.results[0], g.names[op.results[0]])})
            continue
        for ln in launches:
            args = [_launch_arg(g, op, ln, a, where, store) for a in ln["args"]]
            if ln["engine"] == "host":
                nodes.append({"engine": "host", "kernel": "", "block_dim": 0, "tiling": [],
                              "tiling_fields": [], "tiling_hex": "", "args": args, "workspace": 0,
                              "op": op.name, "loc": loc, "reason": ln["reason"], "ir": host_ir(op)})
                continue
            node = {
                "kernel": ln["kernel"], "block_dim": ln["block_dim"],
                "tiling": [v for _, v in ln["tiling_fields"]], "tiling_fields": [k for k, _ in ln["tiling_fields"]],
                "tiling_hex": _tiling_hex(ln["tiling_fields"]),
                "args": args, "workspace": ln["workspace"], "op": op.name, "loc": loc,
            }
            cpu = ln["cpu"]
            if cpu is not None:  # the same kernel's tiling on circ's CPU layer
                node["cpu"] = {"block_dim": cpu["block_dim"], "tiling": [v for _, v in cpu["tiling_fields"]],
                               "tiling_hex": _tiling_hex(cpu["tiling_fields"]), "workspace": cpu["workspace"]}
            nodes.append(node)
    inputs = [{**desc(a, t.name), "kind": "input"} for a, t in zip(g.f.body.block.args, g.inputs, strict=True)]
    outputs = [{**desc(v, t.name), **{k: x for k, x in where[v].items() if k != "name"},
                "source": where[v].get("name", g.names[v])}
               for v, t in zip(g.output_values, g.outputs, strict=True)]
    return {
        "version": LAUNCH_GRAPH_VERSION, "soc": soc.data, "arena_bytes": arena.value.data,
        "inputs": inputs, "outputs": outputs, "weights": weights, "constants": constants,
        "nodes": nodes, "aliases": aliases, "kernels": sorted({n["kernel"] for n in nodes if n.get("engine") != "host"}),
    }


def host_ir(op: Operation) -> str:
    """`op` alone in ``func.func @host`` (its operands the arguments, its results returned), as
    CIR text: what a host-fallback node of the launch graph evaluates."""
    block = Block(arg_types=[v.type for v in op.operands])
    clone = op.clone(value_mapper=dict(zip(op.operands, block.args, strict=True)))
    clone.attributes.clear()
    block.add_ops([clone, func.ReturnOp(*clone.results)])
    fn = func.FuncOp("host", ([v.type for v in op.operands], [r.type for r in op.results]), Region(block))
    return to_text(ModuleOp([fn]))


def launch_json(module: ModuleOp) -> str:
    """The launch graph as JSON, one key per line, lists of scalars kept on one line."""
    text = json.dumps(to_launch_graph(module), indent=1)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)


__all__ = [
    "expand_npu_nodes",
    "ge_ir",
    "ge_text",
    "graph_of",
    "launch_json",
    "onnx_text",
    "to_ge",
    "to_ge_model",
    "to_launch_graph",
    "to_onnx",
]
