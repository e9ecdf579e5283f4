"""``cir.import_model``: any supported model -> its import dialect -> CIR.

The framework is detected from the object or the file; each framework has an importer (its
import dialect) and a normalisation pass (its mapping table).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import ModuleOp, StringAttr

from cir.app.custom_ops import CustomOps
from cir.errors import CircError
from cir.frameworks import framework as lookup
from cir.frameworks import frameworks
from cir.io import to_text, verify
from cir.model_files import model_path
from cir.outputs import check_destination, make_parents
from cir.weights import WEIGHTS_ATTR, attach, weights_of


def detect_framework(model: Any) -> str:
    """The framework of a model file, SavedModel-style folder or in-memory model object."""
    table = frameworks()
    if not isinstance(model, str | os.PathLike):
        for fw in table.values():
            if fw.owns(model):
                return fw.name
        raise CircError(f"cannot import a {type(model).__name__}: not a model circ knows")
    path = model_path(model)
    if path.is_dir():
        for fw in table.values():
            if any((path / marker).is_file() for marker in fw.model_dirs):
                return fw.name
        if not any(path.suffix in fw.suffixes for fw in table.values()):
            markers = [f"{fw.name}: {' or '.join(fw.model_dirs)}" for fw in table.values() if fw.model_dirs]
            raise CircError(f"{path}: is a directory, not a model (a model folder holds "
                            f"{'; '.join(markers)})")
    elif not path.exists():
        raise CircError(f"{path}: no such file or directory")
    for fw in table.values():
        if path.suffix in fw.suffixes or path.suffix in fw.refused:
            return fw.name  # a refused file: its loader says why and how to export instead
    raise CircError(f"{path}: cannot tell which framework made this file "
                    f"(known: {', '.join(s for f in table.values() for s in f.suffixes)})")


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
    fw = lookup(framework or detect_framework(model))
    custom = CustomOps.load(custom_ops) if custom_ops is not None else None
    given = {"custom": custom, "signature": signature}
    module = fw.load("importer")(model, example_inputs, **{k: given[k] for k in fw.options})
    if stage == "cir":
        normalize_module(module, fw.name, custom)
    return module


def _check_arguments(stage: Any, framework: Any, custom_ops: Any, signature: Any) -> None:
    """The keyword arguments of `import_model` are what they must be (the model and its
    example inputs are checked by each framework's importer)."""
    if stage not in ("import", "cir"):
        raise CircError(f"stage must be 'import' or 'cir', got {stage!r}")
    if framework is not None and not isinstance(framework, str):
        raise CircError(f"framework must be a name ({', '.join(frameworks())}), got a "
                        f"{type(framework).__name__}")
    if custom_ops is not None and not isinstance(custom_ops, str | os.PathLike | Mapping):
        raise CircError(f"custom_ops must be a file path or a mapping, got a "
                        f"{type(custom_ops).__name__}")
    if not isinstance(signature, str):
        raise CircError(f"signature must be a name, got a {type(signature).__name__}")


def normalize_module(module: ModuleOp, framework: str, custom: Any = None) -> ModuleOp:
    """Run the framework's normalisation (with any custom mappings) and verify."""
    fw = lookup(framework)
    weights = weights_of(module)
    table = fw.load("table")()
    if custom is not None:
        table = custom.extend(table)
    fw.load("normalize")(module, table, fw.normalize_pass)
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
