"""``cir.import_model``: any supported model -> its import dialect -> CIR.

The framework is detected from the object or the file; each framework has an importer (its
import dialect) and a normalisation pass (its mapping table).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import ModuleOp, StringAttr

from cir.errors import CircError
from cir.model_files import model_path
from cir.weights import WEIGHTS_ATTR, attach, weights_of


@dataclass(frozen=True)
class Framework:
    name: str
    normalize_pass: str
    suffixes: tuple[str, ...]


FRAMEWORKS = {
    "pytorch": Framework("pytorch", "normalize-torch", (".pt2",)),
    "onnx": Framework("onnx", "normalize-onnx", (".onnx",)),
    "tensorflow": Framework("tensorflow", "normalize-tf", (".pb", ".keras")),  # + SavedModel dirs
    "mindspore": Framework("mindspore", "normalize-ms", (".mindir",)),
}
_PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")


def detect_framework(model: Any) -> str:
    if isinstance(model, str | os.PathLike):
        path = model_path(model)
        if path.is_dir():
            if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
                return "tensorflow"
            if not any(path.suffix in fw.suffixes for fw in FRAMEWORKS.values()):
                raise CircError(f"{path}: is a directory, not a model (a TensorFlow SavedModel "
                                "directory has a saved_model.pb)")
        elif not path.exists():
            raise CircError(f"{path}: no such file or directory")
        for fw in FRAMEWORKS.values():
            if path.suffix in fw.suffixes:
                return fw.name
        if path.suffix in _PICKLE_SUFFIXES:
            return "pytorch"  # its loader refuses pickles with a message on how to export
        raise CircError(f"{path}: cannot tell which framework made this file "
                        f"(known: {', '.join(s for f in FRAMEWORKS.values() for s in f.suffixes)})")
    mod = type(model).__module__
    if mod.startswith("onnx"):  # a ModelProto
        return "onnx"
    if mod.startswith("torch") or _is_torch_module(model):
        return "pytorch"
    bases = {c.__module__.split(".")[0] for c in type(model).__mro__}  # user subclasses too
    if bases & {"keras", "tensorflow", "tf_keras"}:
        return "tensorflow"
    if "mindspore" in bases:
        return "mindspore"
    raise CircError(f"cannot import a {type(model).__name__}: not a model circ knows")


def _is_torch_module(model: Any) -> bool:
    try:
        import torch
    except ImportError:
        return False
    return isinstance(model, torch.nn.Module | torch.export.ExportedProgram)


def import_model(
    model: Any,
    example_inputs: Any = None,
    *,
    stage: str = "cir",
    framework: str | None = None,
    custom_ops: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    signature: str = "serving_default",
) -> ModuleOp:
    """Import a model; returns verified CIR with its weights attached (``stage="import"``
    gives the framework's import dialect). `signature` picks a TensorFlow SavedModel's.

    >>> m = cir.import_model(unet, (sample, timestep, context))
    >>> outs = cir.interpret(m, {"sample": x, ...})
    """
    _check_arguments(stage, framework, custom_ops, signature)
    fw = framework or detect_framework(model)
    if fw not in FRAMEWORKS:
        raise CircError(f"unknown framework '{fw}' (known: {', '.join(FRAMEWORKS)})")
    from cir.app.custom_ops import CustomOps

    custom = CustomOps.load(custom_ops) if custom_ops is not None else None
    if fw == "pytorch":
        from cir.dialects.torch.importer import import_torch

        module = import_torch(model, example_inputs, custom=custom)
    elif fw == "onnx":  # example_inputs: input shapes (or arrays) for symbolic dimensions
        from cir.dialects.onnx.importer import import_onnx

        module = import_onnx(model, example_inputs)
    elif fw == "tensorflow":  # example_inputs: arrays / TensorSpecs / shapes for the inputs
        from cir.dialects.tf.importer import import_tf

        module = import_tf(model, example_inputs, signature)
    elif fw == "mindspore":  # example_inputs: arrays, to export an nn.Cell
        from cir.dialects.ms.importer import import_ms

        module = import_ms(model, example_inputs)
    else:  # pragma: no cover - other frameworks arrive with their issues
        raise CircError(f"the {fw} frontend is not available yet")
    if stage == "cir":
        normalize_module(module, fw, custom)
    return module


def _check_arguments(stage: Any, framework: Any, custom_ops: Any, signature: Any) -> None:
    """The keyword arguments of `import_model` are what they must be (the model and its
    example inputs are checked by each framework's importer)."""
    if stage not in ("import", "cir"):
        raise CircError(f"stage must be 'import' or 'cir', got {stage!r}")
    if framework is not None and not isinstance(framework, str):
        raise CircError(f"framework must be a name ({', '.join(FRAMEWORKS)}), got a "
                        f"{type(framework).__name__}")
    if custom_ops is not None and not isinstance(custom_ops, str | os.PathLike | Mapping):
        raise CircError(f"custom_ops must be a file path or a mapping, got a "
                        f"{type(custom_ops).__name__}")
    if not isinstance(signature, str):
        raise CircError(f"signature must be a name, got a {type(signature).__name__}")


def normalize_module(module: ModuleOp, framework: str, custom: Any = None) -> ModuleOp:
    """Run the framework's normalisation (with any custom mappings) and verify."""
    from cir.io import verify
    from cir.passes.normalize import normalize
    from cir.passes.normalize_ms import ms_table, normalize_ms
    from cir.passes.normalize_onnx import normalize_onnx, onnx_table
    from cir.passes.normalize_tf import normalize_tf, tf_table
    from cir.passes.normalize_torch import torch_table

    weights = weights_of(module)
    run, make_table = {"onnx": (normalize_onnx, onnx_table), "tensorflow": (normalize_tf, tf_table),
                       "mindspore": (normalize_ms, ms_table)}.get(framework, (normalize, torch_table))
    table = make_table()
    if custom is not None:
        table = custom.extend(table)
    run(module, table, FRAMEWORKS[framework].normalize_pass)
    verify(module)
    attach(module, weights)
    return module


def save_weights(module: ModuleOp, path: str | os.PathLike[str]) -> Path:
    """Write the weights `module` uses to `path` (atomically) and point ``cir.weights`` at it."""
    import numpy as np
    from safetensors.numpy import save_file

    wpath = Path(path)
    store = weights_of(module)
    used = sorted({op.sym_name.data for op in module.walk() if op.name == "cir.weight"})  # type: ignore[attr-defined]
    missing = [k for k in used if k not in store]
    if missing:
        raise CircError(f"cannot save weights: {', '.join(missing[:5])} not available")
    tmp = Path(f"{wpath}.tmp{os.getpid()}")
    try:
        save_file({k: np.require(store[k], requirements="C") for k in used}, str(tmp))
        os.replace(tmp, wpath)
    finally:
        tmp.unlink(missing_ok=True)
    module.attributes[WEIGHTS_ATTR] = StringAttr(wpath.name)
    return wpath


def save_module(module: ModuleOp, path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write IR text (with locations) and its weights beside it.

    ``unet.cir.mlir`` gets ``unet.cir.safetensors``, referenced by the module attribute
    ``cir.weights``. The IR is written last, so a failure leaves no IR pointing at nothing.
    """
    from cir.io import to_text
    from cir.outputs import check_destination, make_parents

    out = check_destination(path, "output")
    check_destination(out.with_suffix(".safetensors"), "output weights")
    make_parents(out, "output")
    wpath = save_weights(module, out.with_suffix(".safetensors"))
    tmp_ir = Path(f"{out}.tmp{os.getpid()}")
    try:
        tmp_ir.write_text(to_text(module, debuginfo=True))
        os.replace(tmp_ir, out)
    finally:
        tmp_ir.unlink(missing_ok=True)
    return out, wpath
