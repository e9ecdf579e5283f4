"""PyTorch -> the ``torch`` import dialect, via ``torch.export``.

One ``torch.aten.<op>.<overload>`` op per ATen call in the exported graph, with the schema's
argument names; parameters, buffers and lifted constants become ``cir.weight`` ops named by
their state-dict key (their values go to the module's WeightStore, never into IR text). Every op
carries a location: the nn.Module path from ``nn_module_stack`` around the innermost user
``file:line`` of ``stack_trace``.

Inputs accepted: an ``nn.Module`` with example inputs, an ``ExportedProgram``, or a ``.pt2``
file (``torch.export.save``). Full pickles (``torch.save`` of a module) are refused.
"""

from __future__ import annotations

import math
import operator
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from cir.dialects.framework_op import op_class
from cir.dialects.torch.pt2 import load_pt2
from xdsl.dialects.builtin import (
    FileLineColLoc,
    IntAttr,
    LocationAttr,
    ModuleOp,
    NameLoc,
    StringAttr,
    TensorType,
    UnknownLoc,
)
from xdsl.ir import Attribute, SSAValue

from cir.build import FunctionBuilder, build_function, name_attrs
from cir.errors import CircError
from cir.model_files import CONTROL_CHARACTERS, static_shape
from cir.ops import WeightOp
from cir.weights import WeightStore, attach

FOLD_MAX_ELEMENTS = 1 << 22  # constant folding computes results up to this size

# ATen ops kept whole instead of decomposed: fusion and kernels want them (see DESIGN.md).
KEEP_WHOLE = (
    "aten.group_norm.default",
    "aten.layer_norm.default",
    "aten.silu.default",
    "aten.gelu.default",
    "aten.hardswish.default",
    "aten.linear.default",
    "aten.scaled_dot_product_attention.default",
    "aten.upsample_nearest2d.vec",
    "aten.upsample_nearest2d.default",
    "aten.upsample_bilinear2d.vec",
    "aten.upsample_bilinear2d.default",
)

_TORCH_DTYPES = {
    "float32": "f32", "float16": "f16", "bfloat16": "bf16", "float64": "f64",
    "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "ui8", "bool": "i1",
}  # fmt: skip


def _ir_dtype(dtype: Any) -> Attribute:
    from xdsl.dialects.builtin import (
        IntegerType,
        Signedness,
        bf16,
        f16,
        f32,
        f64,
    )

    name = _TORCH_DTYPES.get(str(dtype).removeprefix("torch."))
    table = {
        "f32": f32, "f16": f16, "bf16": bf16, "f64": f64, "i64": IntegerType(64),
        "i32": IntegerType(32), "i16": IntegerType(16), "i8": IntegerType(8),
        "ui8": IntegerType(8, Signedness.UNSIGNED), "i1": IntegerType(1),
    }  # fmt: skip
    if name is None:
        raise CircError(f"tensors of dtype {dtype} are not supported")
    return table[name]


def tensor_type(val: Any, what: str = "a value of the exported graph") -> TensorType:
    try:
        dims = [int(d) for d in val.shape]
    except (TypeError, ValueError, RuntimeError):  # torch's data-dependent guards: RuntimeError
        raise CircError(f"{what} has a data-dependent shape {tuple(val.shape)} (a boolean mask "
                        "index, nonzero, ...); circ needs static shapes") from None
    return TensorType(_ir_dtype(val.dtype), static_shape(dims, what))


# --- loading -------------------------------------------------------------------------------


def decomposition_table() -> dict[Any, Any]:
    import torch

    table = torch.export.default_decompositions()
    for name in KEEP_WHOLE:
        ns, op, overload = name.split(".")
        table.pop(getattr(getattr(getattr(torch.ops, ns), op), overload), None)
    return table


def load_program(source: Any, example_inputs: Sequence[Any] | Mapping[str, Any] | None = None):
    """An ExportedProgram, decomposed to core ATen except the ops in KEEP_WHOLE."""
    import torch

    if isinstance(source, str | os.PathLike):
        ep = load_pt2(source)
    elif isinstance(source, torch.export.ExportedProgram):
        ep = source
    elif isinstance(source, torch.nn.Module):
        if not isinstance(example_inputs, list | tuple | Mapping):
            raise CircError("importing an nn.Module needs example_inputs (a tuple or a dict), "
                            f"not {'None' if example_inputs is None else 'a ' + type(example_inputs).__name__}")
        args, kwargs = (
            ((), dict(example_inputs)) if isinstance(example_inputs, Mapping)
            else (tuple(example_inputs), {})
        )
        try:
            ep = torch.export.export(source.eval(), args, kwargs)
        except Exception as e:  # noqa: BLE001 - torch raises many kinds; the user needs its message
            raise CircError(f"torch.export failed: {type(e).__name__}: {_short(e)}") from None
    else:
        raise CircError(f"cannot import a {type(source).__name__} as a PyTorch model")
    try:
        return ep.run_decompositions(decomposition_table())
    except Exception as e:  # noqa: BLE001 - torch raises many kinds while decomposing
        raise CircError(f"decomposing the exported program failed: {_short(e)}") from None


def _short(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


# --- locations -----------------------------------------------------------------------------

_FRAME = re.compile(r'File "([^"\x00-\x1f]+)", line (\d+)')  # one line: it is a location


def _torch_dir() -> str:
    import torch

    return os.path.dirname(torch.__file__)


def node_location(node: Any) -> LocationAttr:
    """``loc("down_blocks.0.attn1"("model.py":12:0))`` from the node's metadata."""
    file_loc: LocationAttr = UnknownLoc()
    frames = _FRAME.findall(node.meta.get("stack_trace") or "")
    user = [f for f in frames if not f[0].startswith(_torch_dir())]
    if user or frames:
        file, line = (user or frames)[-1]
        file_loc = FileLineColLoc(StringAttr(file), IntAttr(int(line)), IntAttr(0))
    stack = node.meta.get("nn_module_stack") or {}
    path = _clean_path(list(stack.values())[-1][0]) if stack else ""
    if path:
        return NameLoc(StringAttr(path), file_loc)
    return file_loc


def _clean_path(path: str) -> str:
    path = CONTROL_CHARACTERS.sub("", re.sub(r"^L__self__[._]?", "", path)).replace("L['self'].", "")
    return re.sub(r"\._modules\['([^']+)'\]", r".\1", path).lstrip(".")


def module_classes(node: Any) -> list[tuple[str, str]]:
    """(path, class name) of every nn.Module the node was called in, outermost first."""
    stack = node.meta.get("nn_module_stack") or {}
    return [(str(p), str(c)) for p, c in stack.values()]


# --- the graph -----------------------------------------------------------------------------


def _schema_args(node: Any) -> list[tuple[str, Any, bool]]:
    """(schema name, value, is-tensor-like) for every argument, defaults filled in."""
    schema = node.target._schema
    out = []
    for i, arg in enumerate(schema.arguments):
        if i < len(node.args):
            value = node.args[i]
        elif arg.name in node.kwargs:
            value = node.kwargs[arg.name]
        elif arg.has_default_value():
            value = arg.default_value
        else:
            continue
        out.append((arg.name, value, "Tensor" in str(arg.type)))
    return out


def _result_elements(val: Any) -> int | None:
    """How many elements a node's result (its ``meta["val"]``) has; None when not all static
    tensors."""
    vals = list(val) if isinstance(val, list | tuple) else [val]
    if not all(hasattr(v, "shape") for v in vals):
        return None
    try:
        return sum(math.prod(int(d) for d in v.shape) for v in vals)
    except (TypeError, ValueError, RuntimeError):  # a symbolic size (data-dependent: RuntimeError)
        return None


def _check_weight(key: str, tensor: Any, val: Any) -> None:
    """A parameter, buffer or constant has the value the graph was traced with (a file could
    say otherwise, and folding computes with the real tensors)."""
    if not hasattr(val, "shape"):
        return
    if not hasattr(tensor, "shape"):
        raise CircError(f"the exported program has no tensor for '{key}'")
    if tuple(tensor.shape) != tuple(val.shape) or tensor.dtype != val.dtype:
        raise CircError(f"'{key}' is a {tensor.dtype} tensor of shape {tuple(tensor.shape)}; the "
                        f"graph uses it as {val.dtype} {tuple(val.shape)}")


def _python_value(value: Any) -> Any:
    import torch

    if isinstance(value, torch.dtype | torch.device | torch.layout | torch.memory_format):
        return str(value).removeprefix("torch.")
    if isinstance(value, list | tuple):
        return [_python_value(v) for v in value]
    return value


class _GraphImporter:
    def __init__(self, ep: Any, fold_constants: bool = True, custom: Any = None,
                 root: Any = None):
        self.ep = ep
        self.custom = custom
        self.root = root  # the nn.Module, when imported in memory (module attributes)
        self.fold_constants = fold_constants
        self.values: dict[str, SSAValue | tuple[SSAValue, ...]] = {}
        # node -> (weight name, tensor(s), foldable): materialised as cir.weight on first use
        self.known: dict[str, tuple[str, Any, bool]] = {}
        self.weights = WeightStore()
        self.b: FunctionBuilder | None = None

    def weight_sources(self) -> dict[str, tuple[str, Any, bool]]:
        """placeholder -> (state-dict key, tensor, foldable) for params, buffers, constants.

        Buffers and lifted constants are fixed at inference time, so what is computed from
        them alone can be folded at import; parameters stay weights.
        """
        from torch.export.graph_signature import InputKind

        placeholders = {n.name: n for n in self.ep.graph.nodes if n.op == "placeholder"}
        found = {}
        for spec in self.ep.graph_signature.input_specs:
            if spec.kind == InputKind.USER_INPUT:
                continue
            tensor = self.ep.state_dict.get(spec.target, self.ep.constants.get(spec.target))
            if tensor is None:
                tensor = self.ep.constants.get(spec.target)
            node = placeholders.get(spec.arg.name)
            _check_weight(spec.target, tensor, node.meta.get("val") if node else None)
            found[spec.arg.name] = (spec.target, tensor, spec.kind != InputKind.PARAMETER)
        return found

    def user_inputs(self) -> dict[str, TensorType]:
        from torch.export.graph_signature import InputKind

        names = [s.arg.name for s in self.ep.graph_signature.input_specs
                 if s.kind == InputKind.USER_INPUT]
        nodes = {n.name: n for n in self.ep.graph.nodes if n.op == "placeholder"}
        out = {}
        for name in names:
            val = nodes[name].meta.get("val")
            if not hasattr(val, "shape"):
                raise CircError(f"input '{name}' is not a tensor ({type(val).__name__}); "
                                "circ models take tensors only")
            out[name] = tensor_type(val)
        return out

    def output_names(self, n: int) -> list[str]:
        """Names from the output pytree: dict keys / dataclass fields, else output_<i>."""

        def walk(spec: Any, prefix: list[str]) -> list[str]:
            if spec.is_leaf():
                return [".".join(prefix)]
            ctx = spec.context
            keys = (list(ctx) if isinstance(ctx, list | tuple) and len(ctx) == spec.num_children
                    and all(isinstance(k, str) for k in ctx)
                    else [str(i) for i in range(spec.num_children)])
            children = [spec.child(i) for i in range(spec.num_children)]
            return [name for k, child in zip(keys, children)
                    for name in walk(child, [*prefix, k])]

        try:
            names = walk(self.ep.call_spec.out_spec, [])
        except Exception:  # noqa: BLE001 - no output spec: default output names
            names = []
        names = [re.sub(r"[^A-Za-z0-9_.]+", "_", s).strip("_.") for s in names]
        names = [f"output_{i}" if not s else f"output_{s}" if s[0].isdigit() else s
                 for i, s in enumerate(names)]
        if len(names) != n or len(set(names)) != n:
            return [f"output_{i}" for i in range(n)]
        return names

    def build(self) -> ModuleOp:
        weight_sources = self.weight_sources()
        inputs = self.user_inputs()

        groups = self.module_groups()
        last_of = {nodes[-1].name: path for path, (_, nodes) in groups.items()}
        grouped = {n.name for _, nodes in groups.values() for n in nodes}

        def body(b: FunctionBuilder, *args: SSAValue) -> list[SSAValue]:
            self.b = b
            for name, arg in zip(inputs, args, strict=True):
                self.values[name] = arg
            for node in self.ep.graph.nodes:
                b.location = node_location(node) if node.op == "call_function" else None
                if node.op == "placeholder" and node.name in weight_sources:
                    self.known[node.name] = weight_sources[node.name]
                elif node.name in last_of:
                    self._module_op(last_of[node.name], *groups[last_of[node.name]])
                elif node.name in grouped or (
                        node.op == "call_function" and self._try_fold(node)):
                    continue
                elif node.op == "call_function":
                    self._call(b, node)
                elif node.op == "output":
                    return self._outputs(node)
            raise CircError("the exported graph has no output")

        fn = build_function("main", inputs, body)
        fn.res_attrs = name_attrs(self.output_names(len(fn.function_type.outputs.data)))
        module = ModuleOp([fn])
        attach(module, self.weights)
        return module

    # --- user-mapped nn.Module classes: one op per instance --------------------------------

    def module_groups(self) -> dict[str, tuple[str, list[Any]]]:
        """module path -> (class, its nodes in order) for instances of mapped classes."""
        groups: dict[str, tuple[str, list[Any]]] = {}
        if self.custom is None or not self.custom.modules:
            return groups
        for node in self.ep.graph.nodes:
            if node.op != "call_function":
                continue
            hit = self.custom.module_class(module_classes(node))
            if hit:
                path = _clean_path(hit[0])
                groups.setdefault(path, (hit[1], []))[1].append(node)
        return groups

    def _module_op(self, path: str, cls_name: str, nodes: list[Any]) -> None:
        inside = {n.name for n in nodes}
        operands: list[tuple[str, SSAValue]] = []
        seen: set[str] = set()
        n_inputs = 0
        for node in nodes:
            for a in node.all_input_nodes:
                if a.name in inside or a.name in seen:
                    continue
                seen.add(a.name)
                key = self.known.get(a.name, ("",))[0]
                if key.startswith(path + "."):
                    name = key[len(path) + 1 :]
                else:
                    name, n_inputs = f"input{n_inputs}", n_inputs + 1
                operands.append((name, self._lookup(a)))
        outs = [n for n in nodes if any(u.name not in inside for u in n.users)]
        for n in outs:
            if not hasattr(n.meta.get("val"), "shape"):
                raise CircError(f"module '{path}' ({cls_name}) returns a non-tensor from "
                                f"node '{n.name}'; map its parts instead")
        attrs: dict[str, Any] = {}
        if self.root is not None:
            inst = self.root.get_submodule(path) if path else self.root
            attrs = {k: v for k, v in vars(inst).items()
                     if not k.startswith("_") and k != "training"
                     and isinstance(v, bool | int | float | str)}
        op = op_class(f"torch.module.{cls_name}")(
            operands, attrs, [tensor_type(n.meta["val"]) for n in outs]
        )
        assert self.b is not None
        loc = node_location(nodes[0])
        op.location = NameLoc(StringAttr(path), loc.location) if isinstance(loc, NameLoc) else loc
        self.b.block.add_op(op)
        for n, r in zip(outs, op.results, strict=True):
            self.values[n.name] = r

    def _try_fold(self, node: Any) -> bool:
        """Compute a node whose inputs are all fixed (buffers, constants, folded nodes)."""
        import torch
        import torch.fx

        if not self.fold_constants or not hasattr(node.target, "_schema"):
            return False
        if node.target._schema.is_mutable or "rand" in str(node.target):
            return False
        size = _result_elements(node.meta.get("val"))
        if size is None or size > FOLD_MAX_ELEMENTS:  # known before it is computed
            return False
        inputs = [a for a in node.all_input_nodes]
        if not all(a.name in self.known and self.known[a.name][2] for a in inputs):
            return False

        def real(v: Any) -> Any:
            if isinstance(v, torch.fx.Node):
                return self.known[v.name][1]
            if isinstance(v, list | tuple):
                return type(v)(real(x) for x in v)
            return v

        try:
            with torch.no_grad():
                out = node.target(*real(node.args), **real(node.kwargs))
        except Exception:  # noqa: BLE001 - an op that cannot run at import is not folded
            return False
        outs = out if isinstance(out, list | tuple) else [out]
        if not all(isinstance(o, torch.Tensor) for o in outs):
            return False
        self.known[node.name] = (f"_folded.{node.name}", out, True)
        return True

    def _materialise(self, name: str, index: int | None = None) -> SSAValue:
        key, tensor, _ = self.known[name]
        if index is not None:
            key, tensor = f"{key}.{index}", tensor[index]
        cache_key = f"{name}#{index}"
        if cache_key not in self.values:
            assert self.b is not None
            saved, self.b.location = self.b.location, None
            self.values[cache_key] = self._weight(self.b, key, tensor)
            self.b.location = saved
        return self.values[cache_key]  # type: ignore[return-value]

    def _weight(self, b: FunctionBuilder, key: str, tensor: Any) -> SSAValue:
        import torch

        t = tensor.detach().contiguous()
        if t.dtype == torch.bfloat16:
            import ml_dtypes

            arr = t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
        else:
            arr = t.numpy()
        self.weights[key] = np.require(arr, requirements="C")
        return b.add(WeightOp(key, tensor_type(t)))

    def _lookup(self, v: Any) -> Any:
        import torch.fx

        if isinstance(v, torch.fx.Node):
            if v.name in self.values:
                return self.values[v.name]
            return self._materialise(v.name)
        return v

    def _call(self, b: FunctionBuilder, node: Any) -> None:
        if node.target is operator.getitem:
            src, idx = node.args
            if src.name in self.known:  # an item of a folded multi-output node
                key, tensors, foldable = self.known[src.name]
                self.known[node.name] = (f"{key}.{idx}", tensors[idx], foldable)
            else:
                self.values[node.name] = self.values[src.name][idx]  # type: ignore[index]
            return
        if not hasattr(node.target, "_schema"):
            raise CircError(f"unsupported call to {node.target} in the exported graph "
                            f"(node '{node.name}')")
        val = node.meta.get("val")
        vals = list(val) if isinstance(val, list | tuple) else [val]
        if not any(hasattr(v, "shape") for v in vals):
            if not node.users:  # a runtime check (e.g. _assert_tensor_metadata): nothing to compute
                return
            raise CircError(f"node '{node.name}' ({node.target}) produces {type(val).__name__}, "
                            "not tensors; circ needs static shapes and tensor values")
        operands: list[tuple[str, SSAValue]] = []
        attrs: dict[str, Any] = {}
        import torch.fx

        for name, value, is_tensor in _schema_args(node):
            if isinstance(value, torch.fx.Node) or (
                is_tensor and isinstance(value, list | tuple)
                and any(isinstance(v, torch.fx.Node) for v in value)
            ):
                items = list(value) if isinstance(value, list | tuple) else [value]
                slots = [k for k, v in enumerate(items) if v is not None]
                for k in slots:
                    operands.append((name, self._lookup(items[k])))
                if len(slots) != len(items):  # x[:, i]: which list entries the operands fill
                    attrs[f"{name}_slots"] = slots
            elif value is not None:
                attrs[name] = _python_value(value)
        result_types = [tensor_type(v) for v in vals if hasattr(v, "shape")]
        target = str(node.target).replace("::", ".")
        if target == "aten.as_strided.default":  # strides address the input's storage
            src = node.args[0].meta.get("val")
            attrs["self_contiguous"] = bool(
                hasattr(src, "is_contiguous") and src.is_contiguous() and src.storage_offset() == 0
            )
        op = op_class(f"torch.{target}")(operands, attrs, result_types)
        b.add(op)
        self.values[node.name] = (
            tuple(op.results) if isinstance(val, list | tuple) else op.results[0]
        )

    def _outputs(self, node: Any) -> list[SSAValue]:
        out = node.args[0]
        flat = list(out) if isinstance(out, list | tuple) else [out]
        results = []
        for v in flat:
            got = self._lookup(v)
            if not isinstance(got, SSAValue):
                raise CircError(f"model output {v!r} is not a tensor")
            results.append(got)
        return results


def import_torch(source: Any, example_inputs: Any = None, fold_constants: bool = True,
                 custom: Any = None) -> ModuleOp:
    """A PyTorch model -> a module in the ``torch`` import dialect, weights attached.

    With `fold_constants`, what depends only on buffers and constants (masks built from
    ``arange``, position ids, ...) is computed by PyTorch at import and kept as a weight.
    """
    import torch

    root = source if isinstance(source, torch.nn.Module) else None
    ep = load_program(source, example_inputs)
    return _GraphImporter(ep, fold_constants, custom, root).build()
