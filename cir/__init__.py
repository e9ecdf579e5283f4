"""circ: a compiler from PyTorch, TensorFlow, MindSpore and ONNX models to Huawei Ascend NPUs.

The public Python API::

    import cir
    module = cir.import_model(torch_module, example_inputs)  # PyTorch -> CIR (+ weights)
    module = cir.parse_file("block.mlir")                 # CIR text -> verified module
    module = cir.apply_pipeline(module, "canonicalize,cse")
    outs = cir.interpret(module, {"x": x})                # numpy reference interpreter
    cir.compile(torch_module, "m.circ", example_inputs=args, soc="Ascend310P3")  # -> package

Names are loaded lazily so that ``import cir`` (and the command-line tools) start fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "CircError": "cir.errors",
    "parse_text": "cir.io",
    "parse_file": "cir.io",
    "to_text": "cir.io",
    "verify": "cir.io",
    "apply_pipeline": "cir.app.pipeline",
    "interpret": "cir.interpreter",
    "import_model": "cir.app.frontend",
    "save_module": "cir.app.frontend",
    "compile": "cir.app.package",
    "load": "cir.runtime.session",
    "trust": "cir.runtime.trust",
    "report": "cir.app.report",
    "WeightStore": "cir.weights",
    "attach_weights": "cir.weights",
    "weights_of": "cir.weights",
}

__all__ = ["__version__", *_API]  # noqa: PLE0604  # pyright: ignore[reportUnsupportedDunderAll]


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module 'cir' has no attribute '{name}'")
    module = importlib.import_module(_API[name])
    value = getattr(module, "attach" if name == "attach_weights" else name)
    globals()[name] = value
    return value
