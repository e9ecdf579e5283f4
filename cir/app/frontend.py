"""``cir.import_model``: any supported model -> its import dialect -> CIR.

The framework is detected from the object or the file; each framework has an importer (its
import dialect) and a normalisation pass (its mapping table).
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import ModuleOp, StringAttr

from cir.errors import CircError
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


# --- model files: what every importer checks before a framework reads one --------------------


def model_path(source: str | os.PathLike[str]) -> Path:
    """`source` as a Path; a path the OS cannot take (a NUL byte inside) is a CircError."""
    try:
        path = Path(source)
        os.fsencode(path)
    except (TypeError, UnicodeEncodeError):
        raise CircError(f"{source!r}: not a valid file path") from None
    if "\0" in str(path):
        raise CircError(f"{str(path)!r}: not a valid file path (it contains a NUL byte)")
    return path


def model_file(source: str | os.PathLike[str], what: str) -> Path:
    """The path of an existing regular file holding `what` ("an ONNX model"); a missing file,
    a directory or a device (which could block or never end) is a CircError."""
    path = model_path(source)
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise CircError(f"{path}: no such file") from None
    except OSError as e:
        raise CircError(f"{path}: cannot read ({e.strerror})") from None
    if stat.S_ISDIR(mode):
        raise CircError(f"{path}: is a directory, not {what}")
    if not stat.S_ISREG(mode):
        raise CircError(f"{path}: not a regular file; expected {what}")
    return path


def read_model_file(source: str | os.PathLike[str], what: str) -> bytes:
    """The bytes of a model file (see `model_file`)."""
    path = model_file(source, what)
    try:
        return path.read_bytes()
    except OSError as e:
        raise CircError(f"{path}: cannot read ({e.strerror})") from None
    except MemoryError:
        raise CircError(f"{path}: too large to read into memory") from None


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


def proto_messages(msg: Any, where: str) -> Iterator[tuple[str, Any]]:
    """A protobuf message and every message inside it, each with its place in the model:
    ``model.graph.node[2]('conv').attribute[0]('pads')``."""
    yield where, msg
    for field in msg.DESCRIPTOR.fields:
        if field.type != field.TYPE_MESSAGE:
            continue
        if _is_map(field):
            if field.message_type.fields_by_name["value"].type == field.TYPE_MESSAGE:
                for key, m in getattr(msg, field.name).items():
                    yield from proto_messages(m, f"{where}.{field.name}[{key!r:.60}]")
        elif field.is_repeated:
            for i, m in enumerate(getattr(msg, field.name)):
                yield from proto_messages(m, f"{where}.{field.name}[{i}]{_proto_label(m)}")
        elif msg.HasField(field.name):
            yield from proto_messages(getattr(msg, field.name), f"{where}.{field.name}")


def _is_map(field: Any) -> bool:
    return field.type == field.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _proto_label(msg: Any) -> str:
    """``('conv')`` for a message with a readable name."""
    name = getattr(msg, "name", None) if "name" in msg.DESCRIPTOR.fields_by_name else None
    return f"({name[:60]!r})" if isinstance(name, str) and name else ""


# protobuf fields that name things (nodes, values, attributes, operators): they end up in
# error messages and IR locations, so they must be one printable line
NAME_FIELDS = frozenset({"name", "op_type", "op", "domain", "input", "output"})
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def check_text_fields(msg: Any, where: str, origin: str) -> None:
    """Every string field of `msg` is UTF-8 (protobuf hands over one that is not as bytes,
    which the frameworks' C++ code then fails to decode), and names (NAME_FIELDS) have no
    control characters."""
    for field in msg.DESCRIPTOR.fields:
        for text in _texts(msg, field):
            if isinstance(text, bytes):
                raise CircError(f"{origin}: {where}.{field.name} is not UTF-8 text")
            if field.name in NAME_FIELDS and CONTROL_CHARACTERS.search(text):
                raise CircError(f"{origin}: {where}.{field.name} {text[:80]!r} has control "
                                "characters")


def _texts(msg: Any, field: Any) -> list[str | bytes]:
    """The strings a field holds (a map's string keys and values too)."""
    if _is_map(field):
        entry = field.message_type.fields_by_name
        items = getattr(msg, field.name).items()
        return [*(k for k, _ in items if entry["key"].type == field.TYPE_STRING),
                *(v for _, v in items if entry["value"].type == field.TYPE_STRING)]
    if field.type != field.TYPE_STRING:
        return []
    value = getattr(msg, field.name)
    return list(value) if field.is_repeated else [value]


def check_proto_text(msg: Any, root: str, origin: str) -> None:
    """`check_text_fields` for `msg` and every message inside it."""
    for where, m in proto_messages(msg, root):
        check_text_fields(m, where, origin)


MAX_ELEMENTS = 1 << 40  # more than any device holds: a file asking for more is corrupt


def static_shape(dims: Iterable[int], what: str) -> list[int]:
    """Tensor dimensions a model file gives, checked: none negative, and the non-zero ones
    multiplying to at most MAX_ELEMENTS (so that sizes and byte counts fit in 64 bits)."""
    dims = [int(d) for d in dims]
    if any(d < 0 for d in dims):
        raise CircError(f"{what} has a negative dimension: {dims}")
    if math.prod(d for d in dims if d) > MAX_ELEMENTS:
        raise CircError(f"{what} has shape {dims}: more than 2**40 elements; corrupt?")
    return dims


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
