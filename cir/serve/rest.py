"""TensorFlow Serving's REST API on aiohttp.

    GET  /v1/models/NAME[/versions/1]            model status
    GET  /v1/models/NAME[/versions/1]/metadata   signature_def (inputs, outputs, dtypes, shapes)
    POST /v1/models/NAME[/versions/1]:predict    {"instances": [...]} or {"inputs": ...}

Errors are ``{"error": "..."}`` with 400 (bad JSON, names, shapes, dtypes), 404 (unknown
model, version or URL), 405, 413 (body over --max-request-bytes), 503 (queue full, shutting
down) or 500.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any

from aiohttp import web

from cir.serve.config import ServerConfig
from cir.serve.core import (
    INVALID_ARGUMENT,
    NOT_FOUND,
    Registry,
    ServeError,
    decode_predict_json,
    encode_predict_json,
    status_json,
)

_URL = re.compile(r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
                  r"(?P<tail>/metadata|:predict|:classify|:regress)?$")
_OFFLOAD = 256 << 10  # bodies larger than this are (de)coded off the event loop


def _json(obj: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(obj, separators=(",", ":")).encode(), status=status,
                        content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ServeError as e:
        return _error(e.http_status, e.message)
    except web.HTTPRequestEntityTooLarge as e:
        return _error(413, f"the request body is larger than the limit ({e.text})")
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return _error(e.status, f"{e.reason}: {request.method} {request.path}")
    except Exception as e:  # noqa: BLE001 - a bug: one JSON 500, the server goes on
        print(f"circ serve: internal error on {request.method} {request.path}: "
              f"{type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return _error(500, f"internal error: {type(e).__name__}: {e}")


def make_app(registry: Registry, cfg: ServerConfig) -> web.Application:
    limit = cfg.max_request_bytes
    app = web.Application(client_max_size=limit, middlewares=[_errors])

    async def models(request: web.Request) -> web.StreamResponse:
        m = _URL.match(request.match_info["tail"])
        if not m:
            raise ServeError(NOT_FOUND, f"Malformed request: {request.method} {request.path}")
        model = registry.get(m["name"], m["version"], m["label"])
        tail = m["tail"] or ""
        if request.method == "GET":
            if tail == "":
                return _json(status_json())
            if tail == "/metadata":
                return _json(model.metadata)
        elif request.method == "POST" and tail == ":predict":
            return await _predict(request, model, limit)
        elif request.method == "POST" and tail in (":classify", ":regress"):
            raise ServeError(INVALID_ARGUMENT, f"{tail[1:]} needs tf.Example inputs; circ serves "
                             "':predict' only")
        raise ServeError(NOT_FOUND, f"Malformed request: {request.method} {request.path}")

    app.router.add_route("GET", "/v1/models/{tail:.*}", models)
    app.router.add_route("POST", "/v1/models/{tail:.*}", models)
    return app


async def _predict(request: web.Request, model: Any, limit: int) -> web.Response:
    if request.content_length is not None and request.content_length > limit:
        return _error(413, f"the request body has {request.content_length} bytes, over the limit of "
                      f"{limit} (--max-request-bytes)")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, f"the request body is over the limit of {limit} bytes (--max-request-bytes)")
    big = len(body) > _OFFLOAD
    if big:
        feeds, fmt = await asyncio.to_thread(decode_predict_json, body, model)
    else:
        feeds, fmt = decode_predict_json(body, model)
    outputs = await model.predict(feeds)
    if big or sum(a.nbytes for a in outputs.values()) > _OFFLOAD // 4:
        text = await asyncio.to_thread(lambda: json.dumps(encode_predict_json(outputs, fmt),
                                                          separators=(",", ":")).encode())
        return web.Response(body=text, content_type="application/json")
    return _json(encode_predict_json(outputs, fmt))
