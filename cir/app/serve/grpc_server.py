"""TensorFlow Serving's gRPC API on grpc.aio: ``PredictionService.Predict``,
``PredictionService.GetModelMetadata`` and ``ModelService.GetModelStatus``, with the service
descriptors of ``tensorflow_serving.apis`` (so the official client works unchanged).
Classify, Regress, MultiInference and HandleReloadConfigRequest answer UNIMPLEMENTED.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import json_format

from cir.app.serve.config import ServerConfig
from cir.app.serve.core import INVALID_ARGUMENT, SIGNATURE, VERSION, Registry, ServeError, clip
from cir.app.serve.protos import pb
from cir.app.serve.tensors import from_ndarray, to_ndarray
from cir.errors import CircError


def _version(spec: Any) -> tuple[int | None, str | None]:
    version = spec.version.value if spec.HasField("version") else None
    label = spec.version_label if spec.WhichOneof("version_choice") == "version_label" else None
    return version, label


_Method = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Any]]


def _statuses(method: _Method) -> _Method:
    """A servicer method whose ServeErrors become their gRPC status, and whose other
    exceptions (bugs) become INTERNAL with one line on stderr, never UNKNOWN."""
    @functools.wraps(method)
    async def answer(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except ServeError as e:
            await context.abort(getattr(grpc.StatusCode, e.grpc_code), e.message)
        except grpc.aio.AbortError:
            raise
        except Exception as e:  # noqa: BLE001 - a bug: one INTERNAL status, the server goes on
            what = f"internal error in {method.__name__}: {type(e).__name__}: {e}"
            print(f"circ serve: {what}", file=sys.stderr, flush=True)
            await context.abort(grpc.StatusCode.INTERNAL, clip(what))
    return answer


def make_servicers(registry: Registry, max_request_bytes: int) -> tuple[Any, Any]:
    """The PredictionService and ModelService servicers; `max_request_bytes` also bounds
    the tensors a few values fill (TensorFlow's rule for the typed value fields)."""
    p = pb()
    psg, msg = p.prediction_service_pb2_grpc, p.model_service_pb2_grpc

    class Prediction(psg.PredictionServiceServicer):  # type: ignore[name-defined,misc]
        @_statuses
        async def Predict(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
            model = registry.get(request.model_spec.name, *_version(request.model_spec))
            model.check_signature(request.model_spec.signature_name)
            try:
                feeds = {k: to_ndarray(v, f"input '{k}'", max_request_bytes)
                         for k, v in request.inputs.items()}
            except CircError as e:
                raise ServeError(INVALID_ARGUMENT, str(e)) from None
            wanted = list(request.output_filter)
            bad = [n for n in wanted if n not in {t.name for t in model.outputs}]
            if bad:
                raise ServeError(INVALID_ARGUMENT, f"output_filter names unknown output(s) "
                                 f"{', '.join(bad)} (the model has "
                                 f"{', '.join(t.name for t in model.outputs)})")
            outputs = await model.predict(feeds, exact=True)
            resp = p.predict_pb2.PredictResponse()
            resp.model_spec.name = model.name
            resp.model_spec.version.value = VERSION
            resp.model_spec.signature_name = SIGNATURE
            for name, arr in outputs.items():
                if not wanted or name in wanted:
                    from_ndarray(arr, resp.outputs[name])
            return resp

        @_statuses
        async def GetModelMetadata(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
            model = registry.get(request.model_spec.name, *_version(request.model_spec))
            fields = list(request.metadata_field)
            if not fields:
                raise ServeError(INVALID_ARGUMENT, "GetModelMetadataRequest must specify at "
                                 "least one metadata_field")
            for f in fields:
                if f != "signature_def":
                    raise ServeError(INVALID_ARGUMENT, f"Metadata field {f} is not supported")
            resp = p.get_model_metadata_pb2.GetModelMetadataResponse()
            resp.model_spec.name = model.name
            resp.model_spec.version.value = VERSION
            sigs = p.get_model_metadata_pb2.SignatureDefMap()
            json_format.ParseDict(model.metadata["metadata"]["signature_def"], sigs)
            resp.metadata["signature_def"].Pack(sigs)
            return resp

    class Models(msg.ModelServiceServicer):  # type: ignore[name-defined,misc]
        @_statuses
        async def GetModelStatus(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
            registry.get(request.model_spec.name, *_version(request.model_spec))
            resp = p.get_model_status_pb2.GetModelStatusResponse()
            st = resp.model_version_status.add()
            st.version = VERSION
            st.state = p.get_model_status_pb2.ModelVersionStatus.AVAILABLE
            st.status.error_code = 0
            st.status.error_message = ""
            return resp

    return Prediction(), Models()


async def start_grpc(registry: Registry, cfg: ServerConfig) -> tuple[grpc.aio.Server, int]:
    """Start the gRPC server; returns it and its port."""
    p = pb()
    limit = cfg.max_request_bytes
    server = grpc.aio.server(options=[
        ("grpc.max_receive_message_length", limit),
        ("grpc.max_send_message_length", max(limit, 256 << 20)),
        ("grpc.so_reuseport", 0),
    ])
    prediction, models = make_servicers(registry, limit)
    p.prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(prediction, server)
    p.model_service_pb2_grpc.add_ModelServiceServicer_to_server(models, server)
    host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    try:
        port = server.add_insecure_port(f"{host}:{cfg.grpc_port}")
    except RuntimeError as e:
        raise CircError(f"gRPC: cannot listen on {host}:{cfg.grpc_port} ({e})") from None
    if port == 0:
        raise CircError(f"gRPC: cannot listen on {host}:{cfg.grpc_port} (in use?)")
    await server.start()
    return server, port
