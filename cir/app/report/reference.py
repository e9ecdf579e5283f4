"""Run the source framework's model on the report's inputs, keeping its intermediates.

One function per framework, each returning a `Reference`: the model outputs in order and a map
*framework op name* -> array, where the name is what the importer wrote into CIR locations:

- PyTorch: forward hooks on every named submodule; the key is the module path (``res.conv1``).
- ONNX: onnxruntime with every node output added as a graph output; the key is the node name.
- TensorFlow / Keras: a Keras model with every layer's output as an extra output; the key is
  the layer name. SavedModel directories and frozen graphs give the final outputs only.
- MindSpore: MINDIR files run through ``GraphCell``: the final outputs only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cir.errors import CircError
from cir.frameworks import framework as lookup


@dataclass
class Reference:
    framework: str
    outputs: list[np.ndarray]
    intermediates: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what could not be captured, and why


def _flatten(value: Any) -> list[Any]:
    """Tensors of a (nested) framework output, in order: tuples, lists, dicts, ModelOutputs."""
    if isinstance(value, list | tuple):
        return [t for v in value for t in _flatten(v)]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _flatten(v)]
    if hasattr(value, "to_tuple"):  # transformers / diffusers ModelOutput
        return _flatten(value.to_tuple())
    return [value]


def _numpy(t: Any) -> np.ndarray | None:
    if hasattr(t, "detach"):
        return t.detach().cpu().numpy()
    if hasattr(t, "asnumpy"):  # MindSpore Tensor
        return t.asnumpy()
    if hasattr(t, "numpy"):
        return np.asarray(t.numpy())
    if isinstance(t, np.ndarray):
        return t
    return None


def run_reference(framework: str, model: Any, feeds: Mapping[str, np.ndarray],
                  input_names: Sequence[str]) -> Reference:
    """Run `model` on `feeds` (given positionally, in `input_names` order)."""
    run = lookup(framework).load("reference")
    args = [feeds[n] for n in input_names]
    try:
        return run(model, args, list(input_names))
    except CircError:
        raise
    except Exception as e:  # noqa: BLE001 - any framework failure: the reference does not fit the package
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CircError(f"the {framework} reference model cannot run on the package's inputs "
                        f"({', '.join(f'{n}{list(a.shape)}' for n, a in zip(input_names, args))}): "
                        f"{type(e).__name__}: {msg[:300]}") from None


# --- PyTorch ---------------------------------------------------------------------------


def _torch_module(model: Any) -> Any:
    import torch

    if isinstance(model, str | os.PathLike):
        p = Path(model)
        if p.suffix != ".pt2":
            raise CircError(f"{p}: a PyTorch reference must be a .pt2 file from torch.export.save "
                            "(pickled modules are never loaded)")
        model = torch.export.load(str(p))
    if isinstance(model, torch.export.ExportedProgram):
        # unflatten restores the nn.Module hierarchy, so hooks see the same module paths
        return torch.export.unflatten(model)
    if not isinstance(model, torch.nn.Module):
        raise CircError(f"a PyTorch reference must be an nn.Module, an ExportedProgram or a .pt2 "
                        f"file, got {type(model).__name__}")
    return model


def torch_reference(model: Any, args: list[np.ndarray], names: list[str]) -> Reference:
    import torch

    module = _torch_module(model)
    seen: dict[str, np.ndarray] = {}
    calls: dict[str, int] = {}
    notes: list[str] = []

    def hook(path: str):
        def record(mod: Any, inputs: Any, output: Any) -> None:
            tensors = [t for t in _flatten(output) if isinstance(t, torch.Tensor)]
            if tensors:
                seen[path] = tensors[0].detach().cpu().numpy().copy()
                calls[path] = calls.get(path, 0) + 1
        return record

    handles = [m.register_forward_hook(hook(p)) for p, m in module.named_modules() if p]
    try:
        with torch.no_grad():
            out = module(*[torch.from_numpy(np.ascontiguousarray(a)) for a in args])
    finally:
        for h in handles:
            h.remove()
    notes += [f"{p}: called {n} times, the last call is compared" for p, n in calls.items() if n > 1]
    outs = [_numpy(t) for t in _flatten(out)]
    return Reference("pytorch", [o for o in outs if o is not None], seen, notes)


# --- ONNX ------------------------------------------------------------------------------


def onnx_reference(model: Any, args: list[np.ndarray], names: list[str]) -> Reference:
    import onnx
    import onnxruntime as ort

    proto = onnx.load(str(model)) if isinstance(model, str | os.PathLike) else model
    proto = type(proto).FromString(proto.SerializeToString())  # never modify the caller's model
    outputs = [o.name for o in proto.graph.output]
    producer: dict[str, str] = {}
    for node in proto.graph.node:
        for o in node.output[:1]:
            if o and o not in outputs:
                proto.graph.output.append(onnx.ValueInfoProto(name=o))
            if o:
                producer[o] = node.name or o
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    graph_inputs = [i.name for i in sess.get_inputs()]
    feed = dict(zip(graph_inputs, args)) if set(graph_inputs) != set(names) else dict(zip(names, args))
    values = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feed)))
    inter = {producer[k]: np.asarray(v) for k, v in values.items() if k in producer}
    return Reference("onnx", [np.asarray(values[o]) for o in outputs], inter)


# --- TensorFlow / Keras ------------------------------------------------------------------


def tensorflow_reference(model: Any, args: list[np.ndarray], names: list[str]) -> Reference:
    import keras

    notes: list[str] = []
    if isinstance(model, str | os.PathLike):
        p = Path(model)
        if p.suffix in (".keras", ".h5"):
            model = keras.models.load_model(str(p), safe_mode=True, compile=False)
        else:
            return _tf_saved_model(p, args, names)
    layers = [layer for layer in getattr(model, "layers", [])
              if type(layer).__name__ != "InputLayer"]
    inter: dict[str, np.ndarray] = {}
    try:
        probe = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in layers])
        values = probe(args if len(args) > 1 else args[0], training=False)
        values = values if isinstance(values, list | tuple) else [values]
        inter = {layer.name: np.asarray(v) for layer, v in zip(layers, values)}
    except (AttributeError, ValueError, TypeError) as e:
        notes.append(f"layer outputs not available ({type(e).__name__}); final outputs only")
    out = model(args if len(args) > 1 else args[0], training=False)
    outs = [_numpy(t) for t in _flatten(out)]
    return Reference("tensorflow", [o for o in outs if o is not None], inter, notes)


def _tf_saved_model(path: Path, args: list[np.ndarray], names: list[str]) -> Reference:
    import tensorflow as tf

    if not path.is_dir():
        raise CircError(f"{path}: only SavedModel directories and .keras files can be run as a "
                        "TensorFlow reference (a frozen .pb has no runnable signature)")
    fn = tf.saved_model.load(str(path)).signatures["serving_default"]
    out = fn(**{n: tf.constant(a) for n, a in zip(names, args)})
    outs = [np.asarray(out[k]) for k in sorted(out)]
    return Reference("tensorflow", outs, {}, ["SavedModel: final outputs only (no per-layer values)"])


# --- MindSpore ---------------------------------------------------------------------------


def mindspore_reference(model: Any, args: list[np.ndarray], names: list[str]) -> Reference:
    import mindspore as ms
    from mindspore import nn

    if isinstance(model, str | os.PathLike):
        model = nn.GraphCell(ms.load(str(model)))
    out = model(*[ms.Tensor(a) for a in args])
    outs = [_numpy(t) for t in _flatten(out)]
    return Reference("mindspore", [o for o in outs if o is not None], {},
                     ["MindSpore: final outputs only (intermediate scopes are not captured)"])
