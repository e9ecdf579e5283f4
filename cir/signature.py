"""The signature of a CIR module: its entry function, the names of its inputs and outputs, and
the check that named arrays fit them. Shared by the interpreter, the runtime and the tools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType

from cir.errors import CircError, name_mismatch
from cir.types import dtype_of


def entry_function(module: ModuleOp) -> func.FuncOp:
    """``@main``, or the module's only public function."""
    funcs = [o for o in module.ops if isinstance(o, func.FuncOp)]
    for f in funcs:
        if f.sym_name.data == "main":
            return f
    public = [f for f in funcs if f.sym_visibility is None or f.sym_visibility.data == "public"]
    if len(public) == 1:
        return public[0]
    if not public:
        raise CircError("the module has no function to run")
    names = ", ".join("@" + f.sym_name.data for f in public)
    raise CircError(f"the module has several public functions ({names}) and no @main")


def _attr_name(attrs: Any, i: int) -> str | None:
    if attrs is None:
        return None
    d = attrs.data[i].data
    name = d.get("cir.name")
    return name.data if isinstance(name, StringAttr) else None


def input_names(f: func.FuncOp) -> list[str]:
    """Argument names: ``{cir.name = ...}`` arg attributes, else the SSA names as written;
    a repeated name gets ``_1``, ``_2``... (``forward(*args)``: args, args_1), as printed."""
    names: list[str] = []
    for i, arg in enumerate(f.body.block.args):
        name = _attr_name(f.arg_attrs, i) or arg.name_hint or f"input_{i}"
        base, k = name, 0
        while name in names:
            k += 1
            name = f"{base}_{k}"
        names.append(name)
    return names


def output_names(f: func.FuncOp) -> list[str]:
    """Result names: ``{cir.name = ...}`` result attributes where the model gave them."""
    n = len(f.function_type.outputs.data)
    return [_attr_name(f.res_attrs, i) or f"output_{i}" for i in range(n)]


def check_inputs(f: func.FuncOp, inputs: Mapping[str, Any]) -> list[np.ndarray]:
    """Match named arrays to the entry's arguments; fail with one clear message."""
    names = input_names(f)
    problem = name_mismatch(inputs, names)
    if problem:
        raise CircError(f"{problem} (@{f.sym_name.data} takes {', '.join(names)})")
    arrays = []
    for name, arg in zip(names, f.body.block.args, strict=True):
        t = arg.type
        assert isinstance(t, TensorType)
        a = np.asarray(inputs[name])
        want = dtype_of(t).np
        if a.dtype != want and not (a.dtype == np.float64 and want.kind == "f" or
                                    a.dtype.name == "bfloat16" == want.name):
            raise CircError(f"input '{name}' has dtype {a.dtype}, expected {dtype_of(t).name} ({t})")
        if tuple(a.shape) != t.get_shape():
            raise CircError(f"input '{name}' has shape {tuple(a.shape)}, expected {t.get_shape()}")
        arrays.append(a.astype(want, copy=False))
    return arrays
