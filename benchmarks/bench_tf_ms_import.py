"""Import + normalise time and op counts for TensorFlow / Keras and MindSpore models.

TensorFlow: keras.applications ResNet50 and MobileNetV2 (weights=None, 224x224) and the Keras
SD block; "import" includes freezing the variables (convert_variables_to_constants_v2),
inlining function calls, TensorFlow's shape inference and folding. MindSpore: the MindSpore SD
block and, when mindcv is installed, resnet18 / mobilenet_v2 (pretrained=False, 224x224), each
exported to MINDIR first (not counted); "import" parses the protobuf. Prints one line per model.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cir.app.frontend import normalize_module  # noqa: E402


def report(name: str, fw: str, load: Callable[[], Any], prefix: str, note: str = "") -> None:
    t0 = time.perf_counter()
    module = load()
    t1 = time.perf_counter()
    n_import = sum(1 for op in module.walk() if op.name.startswith(prefix))
    normalize_module(module, fw)
    t2 = time.perf_counter()
    counts = Counter(op.name for op in module.walk() if op.name.startswith("cir."))
    print(f"{name}: import {t1 - t0:.2f} s ({n_import} {fw} ops) | normalise {t2 - t1:.2f} s "
          f"({sum(counts.values()) - counts['cir.weight']} CIR ops + {counts['cir.weight']} "
          f"weights, {counts['cir.transpose']} transposes) | import+normalise {t2 - t0:.2f} s"
          + (f" | {note}" if note else ""))


def tensorflow_models() -> None:
    import keras

    from cir.dialects.tf.importer import import_tf
    from examples.sd_block import keras_block, torch_block

    for ctor in (keras.applications.ResNet50, keras.applications.MobileNetV2):
        model = ctor(weights=None)
        report(f"Keras {ctor.__name__} 224x224", "tensorflow", lambda: import_tf(model), "tf.")
    block = keras_block.from_torch(torch_block.make_model())
    report("Keras SD block", "tensorflow", lambda: import_tf(block), "tf.")


def mindspore_models() -> None:
    import mindspore as ms

    from cir.dialects.ms.importer import import_ms
    from examples.sd_block import ms_block, torch_block

    nets: dict[str, tuple[Any, list[np.ndarray]]] = {
        "MindSpore SD block": (ms_block.from_torch(torch_block.make_model()),
                               [a.numpy() for a in torch_block.example_inputs()]),
    }
    try:
        from mindcv.models import create_model

        x = np.zeros((1, 3, 224, 224), np.float32)
        for name in ("resnet18", "mobilenet_v2_100"):
            nets[f"mindcv {name} 224x224"] = (create_model(name, pretrained=False), [x])
    except ImportError:
        print("mindcv is not installed: its models are skipped")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (net, inputs) in nets.items():
            net.set_train(False)
            path = os.path.join(tmp, "model")
            t0 = time.perf_counter()
            ms.export(net, *[ms.Tensor(a) for a in inputs], file_name=path, file_format="MINDIR")
            export = time.perf_counter() - t0
            report(name, "mindspore", lambda: import_ms(path + ".mindir"), "ms.",
                   f"ms.export {export:.2f} s (not counted)")


if __name__ == "__main__":
    tensorflow_models()
    mindspore_models()
