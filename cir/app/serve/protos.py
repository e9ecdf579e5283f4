"""TensorFlow Serving's protobuf modules, imported without importing TensorFlow.

``tensorflow_serving.apis.*_pb2`` import ``tensorflow.core.framework.*_pb2``; importing those
normally runs ``tensorflow/__init__.py`` (seconds, hundreds of MB). The ``_pb2`` modules need
nothing from it, so while they load, ``tensorflow`` is a bare package object over the real
directory; it is removed afterwards, so a later ``import tensorflow`` works as usual (and
reuses the same ``_pb2`` modules).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

from cir.errors import CircError

_MODULES = {
    "predict_pb2": "tensorflow_serving.apis.predict_pb2",
    "get_model_metadata_pb2": "tensorflow_serving.apis.get_model_metadata_pb2",
    "get_model_status_pb2": "tensorflow_serving.apis.get_model_status_pb2",
    "model_pb2": "tensorflow_serving.apis.model_pb2",
    "prediction_service_pb2_grpc": "tensorflow_serving.apis.prediction_service_pb2_grpc",
    "model_service_pb2_grpc": "tensorflow_serving.apis.model_service_pb2_grpc",
    "model_server_config_pb2": "tensorflow_serving.config.model_server_config_pb2",
    "tensor_pb2": "tensorflow.core.framework.tensor_pb2",
    "types_pb2": "tensorflow.core.framework.types_pb2",
    "meta_graph_pb2": "tensorflow.core.protobuf.meta_graph_pb2",
    "error_codes_pb2": "tensorflow.core.protobuf.error_codes_pb2",
}

_loaded: types.SimpleNamespace | None = None


def pb() -> Any:
    """A namespace with the modules above (``pb().predict_pb2``, ...)."""
    global _loaded
    if _loaded is not None:
        return _loaded
    stub = None
    if "tensorflow" not in sys.modules:
        spec = importlib.util.find_spec("tensorflow")
        if spec is None or not spec.submodule_search_locations:
            raise CircError("circ serve's gRPC API needs the 'tensorflow-serving-api' package "
                            "(pip install tensorflow-serving-api)")
        stub = types.ModuleType("tensorflow")
        stub.__path__ = list(spec.submodule_search_locations)
        sys.modules["tensorflow"] = stub
    try:
        mods = {k: importlib.import_module(v) for k, v in _MODULES.items()}
    except ImportError as e:
        raise CircError(f"circ serve's gRPC API needs the 'tensorflow-serving-api' package ({e})") from None
    finally:
        if stub is not None and sys.modules.get("tensorflow") is stub:
            del sys.modules["tensorflow"]
    _loaded = types.SimpleNamespace(**mods)
    return _loaded
