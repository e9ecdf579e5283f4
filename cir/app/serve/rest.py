"""TensorFlow Serving's REST API on aiohttp.

    GET  /v1/models/NAME[/versions/1]            model status
    GET  /v1/models/NAME[/versions/1]/metadata   signature_def (inputs, outputs, dtypes, shapes)
    POST /v1/models/NAME[/versions/1]:predict    {"instances": [...]} or {"inputs": ...}

Every error answer is ``{"error": "..."}``: 400 (bad JSON, names, shapes, dtypes; a malformed
request line, header, Content-Length or chunked body), 404 (unknown model, version or URL),
405, 408 (the body did not arrive within ``body_timeout_ms``), 413 (body over
``--max-request-bytes``), 414 (URL over ``max_url_bytes``), 417 (unknown ``Expect``), 431 (a
header over ``max_header_bytes``, more than ``max_headers`` headers), 503 (queue full, shutting
down), 505 (HTTP/0.9 or HTTP/2.0: HTTP/1.x only) or 500 (a bug). That includes what aiohttp
answers itself, before any handler runs: ``RestRunner`` gives its connections a JSON
``handle_error`` and wraps the application so that routing and ``Expect`` failures are JSON
too. A connection idle for ``idle_timeout_s`` (also one stuck in unfinished headers) closes
without an answer. Limits: see ``ServerConfig``.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import HttpVersion11, web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import _ErrInfo

from cir.app.serve.config import ServerConfig
from cir.app.serve.core import (
    INVALID_ARGUMENT,
    NOT_FOUND,
    REQUEST_TIMEOUT,
    TOO_LARGE,
    Registry,
    ServedModel,
    ServeError,
    clip,
    decode_predict_json,
    encode_predict_json,
    status_json,
)

_URL = re.compile(r"^(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
                  r"(?P<tail>/metadata|:predict|:classify|:regress)?$")
_OFFLOAD = 256 << 10  # bodies larger than this are (de)coded off the event loop

_Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
_CLIENT_FAULTS = (HttpProcessingError, web.RequestPayloadError, ConnectionError)
_ASKED_VERSION = "circ.http_version"  # set by _http1_requests


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=json.dumps(obj, separators=(",", ":")).encode(), status=status,
                        content_type="application/json", headers=headers)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return _json({"error": message}, status, headers)


def _internal(where: str, e: BaseException) -> web.Response:
    """A bug: one line on stderr and one JSON 500; the server goes on."""
    what = f"{type(e).__name__}: {e}"
    print(f"circ serve: internal error on {where}: {what}", file=sys.stderr, flush=True)
    return _error(500, clip(f"internal error: {what}"))


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0].rstrip(":")


def _refusal(request: web.BaseRequest) -> web.Response | None:
    """What is refused before the application runs: HTTP versions other than 1.x (505), and
    an ``Expect`` other than 100-continue (417, as aiohttp's own check, whose answer fails
    on a header that is not UTF-8)."""
    asked = request.get(_ASKED_VERSION)
    if asked is not None:
        resp = _error(505, f"HTTP/{asked.major}.{asked.minor} is not supported (HTTP/1.x only)")
        resp.force_close()
        return resp
    expect = request.headers.get("Expect")
    if expect and request.version == HttpVersion11 and expect.lower() != "100-continue":
        return _error(417, f"Expectation Failed: {request.method} {request.path} "
                      f"(Unknown Expect: {expect})")
    return None


def _answer_errors(handler: _Handler) -> _Handler:
    """`handler` with every exception it raises answered in JSON (the application's handlers,
    its router's 404/405 and its ``Expect`` handler's 417 all run inside it)."""
    async def answer(request: web.BaseRequest) -> web.StreamResponse:
        refused = _refusal(request)
        if refused is not None:
            return refused
        try:
            return await handler(request)
        except ServeError as e:
            return _error(e.http_status, e.message)
        except web.HTTPException as e:
            if e.status < 400:
                raise
            detail = "" if e.text == f"{e.status}: {e.reason}" else f" ({e.text})"
            allow = {"Allow": e.headers["Allow"]} if "Allow" in e.headers else None
            return _error(e.status, f"{e.reason}: {request.method} {request.path}{detail}", allow)
        except Exception as e:  # noqa: BLE001 - see _internal
            return _internal(f"{request.method} {request.path}", e)
    return answer


class _Connection(web.RequestHandler):
    """aiohttp's per-connection protocol, whose own answers are JSON too: to requests its HTTP
    parser rejects before any handler runs, and to exceptions a handler let through."""

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if request.writer.output_size > 0:  # as aiohttp: the answer has begun, nothing to add
            raise ConnectionError("the response has started; cannot send an error instead")
        if isinstance(exc, HttpProcessingError):
            resp = _error(*self._parser_error(exc))
        elif exc is not None:
            resp = _internal("a request", exc)
        else:
            resp = _error(status, HTTPStatus(status).phrase)
        resp.force_close()
        return resp

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # aiohttp's C parser (3.14) drops the body it was filling when the chunked framing
        # breaks, queueing the error as the next "request" behind the one that waits for the
        # rest of its body, forever: fail that body instead (400 from _read_body). This reads
        # aiohttp internals; tests/test_hardening_serve.py notices if they change.
        request, queued = self._current_request, self._messages
        if request is not None and queued and isinstance(queued[-1][0], _ErrInfo) \
                and not request.content.is_eof():
            err = queued[-1][0]
            request.content.set_exception(web.RequestPayloadError(err.message), err.exc)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """aiohttp's own error log (e.g. a body that fails again while the rest of it is
        drained after the answer): one line on stderr, none for what a client did wrong."""
        exc = kw.get("exc_info")
        if isinstance(exc, _CLIENT_FAULTS):
            return
        what = f": {type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else ""
        text = args[0] % args[1:] if args else "error"
        print(f"circ serve: aiohttp: {text}{what}", file=sys.stderr, flush=True)

    def _parser_error(self, exc: HttpProcessingError) -> tuple[int, str]:
        if isinstance(exc, LineTooLong):
            if exc.args[1] == self.max_line_size:
                return 414, f"the URL is longer than {self.max_line_size} bytes"
            return 431, f"a header is longer than {self.max_field_size} bytes (name and value)"
        text = _first_line(exc.message)
        if text.startswith("Too many headers"):
            return 431, f"the request has more than {self.max_headers} headers"
        return 400, f"malformed HTTP request: {text}"


def _http1_requests(factory: Any) -> Any:
    """aiohttp's request factory, but requests its parser accepted as HTTP/0.9 or HTTP/2.0
    (answered in kind, "HTTP/2.0 200 OK" in HTTP/1 framing) become HTTP/1.1 ones that
    remember the version asked for, for ``_answer_errors`` to refuse with 505."""
    def make(message: Any, *args: Any) -> web.BaseRequest:
        if message.version.major == 1:
            return factory(message, *args)
        request = factory(message._replace(version=HttpVersion11), *args)
        request[_ASKED_VERSION] = message.version
        return request
    return make


class _Server(web.Server):
    """aiohttp's server, making `_Connection`s with `options` (RequestHandler arguments)."""

    def __init__(self, handler: _Handler, request_factory: Any, options: dict[str, Any]):
        super().__init__(handler, request_factory=_http1_requests(request_factory), **options)
        self._options = options

    def __call__(self) -> web.RequestHandler:
        return _Connection(self, loop=asyncio.get_running_loop(), **self._options)


class RestRunner(web.AppRunner):
    """The REST application with the limits of `cfg` made explicit, answering in JSON
    whatever fails (see the module's docstring)."""

    def __init__(self, registry: Registry, cfg: ServerConfig, shutdown_timeout: float):
        self._options: dict[str, Any] = {
            "max_line_size": cfg.max_url_bytes, "max_field_size": cfg.max_header_bytes,
            "max_headers": cfg.max_headers, "keepalive_timeout": cfg.idle_timeout_s,
            "access_log": None}
        super().__init__(make_app(registry, cfg), handle_signals=False,
                         shutdown_timeout=shutdown_timeout, **self._options)

    async def _make_server(self) -> web.Server:
        app_server = await super()._make_server()  # starts and freezes the application
        return _Server(_answer_errors(app_server.request_handler), app_server.request_factory,
                       self._options)


def make_app(registry: Registry, cfg: ServerConfig) -> web.Application:
    """The routes (errors are raised; ``RestRunner`` answers them)."""
    app = web.Application(client_max_size=cfg.max_request_bytes)

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
            return await _predict(request, model, cfg)
        elif request.method == "POST" and tail in (":classify", ":regress"):
            raise ServeError(INVALID_ARGUMENT, f"{tail[1:]} needs tf.Example inputs; circ serves "
                             "':predict' only")
        raise ServeError(NOT_FOUND, f"Malformed request: {request.method} {request.path}")

    app.router.add_route("GET", "/v1/models/{tail:.*}", models)
    app.router.add_route("POST", "/v1/models/{tail:.*}", models)
    return app


async def _read_body(request: web.Request, limit: int, timeout_ms: float) -> bytes:
    """The whole body, within `limit` bytes and `timeout_ms`."""
    too_large = f"over the limit of {limit} bytes (--max-request-bytes)"
    if request.content_length is not None and request.content_length > limit:
        raise ServeError(TOO_LARGE, f"the request body has {request.content_length} bytes, "
                         f"{too_large}")
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ServeError(TOO_LARGE, f"the request body is {too_large}") from None
    except TimeoutError:
        request.protocol.close()  # the rest of the body may never come: no keep-alive
        raise ServeError(REQUEST_TIMEOUT, f"the request body did not arrive within "
                         f"{timeout_ms:g} ms (--body-timeout-ms)") from None
    except web.RequestPayloadError as e:
        cause = e.__cause__ if isinstance(e.__cause__, HttpProcessingError) else None
        text = _first_line(cause.message if cause else str(e))
        raise ServeError(INVALID_ARGUMENT, f"malformed request body: {text}") from None
    except ConnectionError:  # the client left: this answer goes nowhere
        raise ServeError(INVALID_ARGUMENT, "the connection closed before the body was "
                         "complete") from None


async def _predict(request: web.Request, model: ServedModel, cfg: ServerConfig) -> web.Response:
    body = await _read_body(request, cfg.max_request_bytes, cfg.body_timeout_ms)
    big = len(body) > _OFFLOAD
    if big:
        feeds, fmt = await asyncio.to_thread(decode_predict_json, body, model)
    else:
        feeds, fmt = decode_predict_json(body, model)
    outputs = await model.predict(feeds, exact=False)
    if big or sum(a.nbytes for a in outputs.values()) > _OFFLOAD // 4:
        text = await asyncio.to_thread(lambda: json.dumps(encode_predict_json(outputs, fmt),
                                                          separators=(",", ":")).encode())
        return web.Response(body=text, content_type="application/json")
    return _json(encode_predict_json(outputs, fmt))
