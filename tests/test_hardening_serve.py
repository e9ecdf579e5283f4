"""``circ serve`` on bad input (issue 14): every REST error is TF Serving's JSON
``{"error": ...}`` with its status, including what aiohttp's HTTP parser rejects; nothing
waits forever on a broken body; gRPC says INVALID_ARGUMENT / NOT_FOUND, never UNKNOWN or
INTERNAL; the server logs no traceback and no internal error, and keeps serving.

The raw HTTP client here (``exchange``) is shared with tests/fuzz/test_fuzz_serve.py.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("aiohttp")

from test_serve import Server, Tiny

import cir

ROW = [0.25] * 16
PREDICT = json.dumps({"instances": [ROW]}).encode()


# --- a raw HTTP/1.1 client ------------------------------------------------------------------


@dataclass
class Reply:
    status: int | None  # None: the server closed the connection without an answer
    headers: dict[str, str]
    body: bytes

    def error(self) -> str:
        """The message of a TF Serving JSON error answer (asserting that it is one)."""
        assert self.headers.get("content-type", "").startswith("application/json"), self
        doc = json.loads(self.body)
        assert isinstance(doc, dict) and isinstance(doc.get("error"), str) and doc["error"], self
        return doc["error"]


class Hang(AssertionError):
    pass


def exchange(port: int, data: bytes, *, patience: float = 0.5, timeout: float = 20.0) -> Reply:
    """Send `data` on a new connection and read one HTTP response.

    A server may wait for the rest of a request (also after a "100 Continue"): without a
    final answer starting within `patience` seconds the client half-closes, after which the
    server must answer or close within `timeout`; else ``Hang``. A reset counts as a close;
    a malformed answer fails."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (and closed) before reading it all
        for _ in range(3):  # interim (1xx) answers before the final one
            if not _readable(sock, patience):
                _half_close(sock)
                if not _readable(sock, timeout):
                    raise Hang(f"no answer and no close {timeout} s after the request was sent")
            if not _skip_interim(sock):
                break
        return _read_reply(sock, timeout, head=is_head(data))


def is_head(data: bytes) -> bool:
    """A HEAD request, whose answer has a Content-Length but no body."""
    return data.lstrip(b"\r\n").startswith(b"HEAD ")


def _readable(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def _skip_interim(sock: socket.socket) -> bool:
    """Consume a whole "HTTP/1.x 1xx" answer if one is next; False if not."""
    try:
        head = sock.recv(4096, socket.MSG_PEEK)
    except (ConnectionResetError, TimeoutError):
        return False
    end = head.find(b"\r\n\r\n")
    if not (head[:9] in (b"HTTP/1.1 ", b"HTTP/1.0 ") and head[9:10] == b"1" and end > 0):
        return False
    sock.recv(end + 4)
    return True


def _half_close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def _read_reply(sock: socket.socket, timeout: float, head: bool = False) -> Reply:
    sock.settimeout(timeout)
    resp = http.client.HTTPResponse(sock, method="HEAD" if head else None)
    try:
        resp.begin()
        body = resp.read()
    except (http.client.RemoteDisconnected, ConnectionResetError):
        return Reply(None, {}, b"")
    except TimeoutError:
        raise Hang(f"an answer started but did not finish within {timeout} s") from None
    return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)


def request(method: str, path: str, body: bytes = b"",
            headers: dict[str, str | None] | None = None) -> bytes:
    """A well-formed HTTP/1.1 request (Host, Content-Length, Connection: close); `headers`
    add to or replace those (None: drop one)."""
    head = {"Host": "127.0.0.1", "Content-Length": str(len(body)), "Connection": "close",
            **(headers or {})}
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in head.items() if v is not None),
             "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def predict_ok(port: int) -> None:
    """The server still serves: a valid predict answers 200."""
    r = exchange(port, request("POST", "/v1/models/tiny:predict", PREDICT), patience=20)
    assert r.status == 200, r
    assert len(json.loads(r.body)["predictions"][0]) == 8


def clean_log(lines: list[str]) -> None:
    text = "".join(lines)
    assert "Traceback" not in text and "internal error" not in text, text[-5000:]


# --- the server -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    return cir.compile(Tiny().eval(), tmp_path_factory.mktemp("serve") / "tiny.circ",
                       example_inputs=(torch.randn(4, 16),), soc="Ascend910B1")


@pytest.fixture(scope="module")
def server(package: Path) -> Iterator[Server]:
    s = Server(["tiny.circ", "--body-timeout-ms", "1000"], package.parent)
    yield s
    assert s.stop() == 0
    clean_log(s.lines)


# --- REST: what aiohttp answers itself, or lets through -------------------------------------

GET = "GET /v1/models/tiny HTTP/1.1\r\nHost: x\r\n"
REJECTIONS = {
    "long URL": (f"GET /v1/models/{'a' * 20000} HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URL is longer"),
    "long header": (f"{GET}X-Big: {'a' * 9000}\r\n\r\n", 431, "header is longer"),
    "many headers": (GET + "".join(f"X-{i}: y\r\n" for i in range(200)) + "\r\n", 431,
                     "more than 128 headers"),
    "bad request line": ("GARBAGE\r\n\r\n", 400, "malformed HTTP request"),
    "bad method": ("FO(O /v1/models/tiny HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed HTTP"),
    "bad Content-Length": (("POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\n"
                            "Content-Length: abc\r\n\r\n{}"), 400, "Content-Length"),
    "no Host": ("GET /v1/models/tiny HTTP/1.1\r\n\r\n", 400, "Host"),
    "bad chunk size": (("POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\n"
                        "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"), 400,
                       "chunk size"),
    "unknown Expect": (f"{GET}Expect: teapot\r\nConnection: close\r\n\r\n", 417, "Unknown Expect"),
    "unknown Expect, unknown URL": (("GET /else HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n"
                                     "Connection: close\r\n\r\n"), 417, "Unknown Expect"),
    "Expect not UTF-8": (f"{GET}Expect: \x80\r\nConnection: close\r\n\r\n", 417, "Unknown Expect"),
    "HTTP/2.0": ("GET /v1/models/tiny HTTP/2.0\r\n\r\n", 505, "HTTP/2.0 is not supported"),
    "HTTP/0.9": ("GET /v1/models/tiny HTTP/0.9\r\n\r\n", 505, "HTTP/0.9 is not supported"),
}


@pytest.mark.parametrize("case", REJECTIONS)
def test_http_rejections_are_json(server: Server, case: str) -> None:
    raw, status, text = REJECTIONS[case]
    r = exchange(server.port, raw.encode("latin-1"))
    assert r.status == status, r
    assert text in r.error()
    predict_ok(server.port)


def test_method_not_allowed_is_json(server: Server) -> None:
    r = exchange(server.port, request("PUT", "/v1/models/tiny"))
    assert r.status == 405 and "PUT /v1/models/tiny" in r.error()
    assert r.headers["allow"] == "GET,POST"


def test_chunked_body_breaking_mid_request(server: Server) -> None:
    """aiohttp's parser drops a chunked body whose framing breaks after the handler started
    reading it: the request used to wait for the rest of it forever."""
    head = ("POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "\r\n5\r\n{\"ins\r\n")
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(head.encode())
        time.sleep(0.3)  # the handler is reading the body
        t0 = time.monotonic()
        sock.sendall(b"zz\r\n\r\n")
        r = _read_reply(sock, 20)
    assert r.status == 400 and "chunk size" in r.error()
    assert time.monotonic() - t0 < 0.9  # an answer, not the body timeout
    predict_ok(server.port)


def test_undecodable_body(server: Server) -> None:
    raw = request("POST", "/v1/models/tiny:predict", b"not gzip", {"Content-Encoding": "gzip"})
    r = exchange(server.port, raw)
    assert r.status == 400 and "content-encoding" in r.error()
    predict_ok(server.port)


def test_body_timeout(server: Server) -> None:
    """A body that does not come within --body-timeout-ms: 408, and the connection closes."""
    raw = request("POST", "/v1/models/tiny:predict", b"{}", {"Content-Length": "100"})
    t0 = time.monotonic()
    r = exchange(server.port, raw, patience=10)
    assert r.status == 408 and "--body-timeout-ms" in r.error()
    assert 0.9 < time.monotonic() - t0 < 5
    assert r.headers.get("connection") == "close"


def test_client_leaving_mid_body(server: Server) -> None:
    """A client that closes before its body is complete is not an internal error."""
    before = len(server.lines)
    raw = request("POST", "/v1/models/tiny:predict", b'{"instances": [', {"Content-Length": "500"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(raw)
        time.sleep(0.2)
    predict_ok(server.port)
    time.sleep(0.2)
    clean_log(server.lines[before:])


# --- REST: JSON numbers ---------------------------------------------------------------------


def post_predict(server: Server, body: bytes) -> Reply:
    return exchange(server.port, request("POST", "/v1/models/tiny:predict", body), patience=20)


@pytest.mark.parametrize("value, text", [
    ("1e39", "out of the range of f32"),
    ('"0.5"', "expected numbers"),
    ("null", "expected numbers, got null"),
    ("true", "mixes true/false values and numbers"),
    ("1" + "0" * 400, "beyond the range of float64"),
    ('{"b64": "AAAA"}', "binary"),
])
def test_json_values_that_are_not_f32(server: Server, value: str, text: str) -> None:
    row = ", ".join([value] + ["0.5"] * 15)
    r = post_predict(server, f'{{"instances": [[{row}]]}}'.encode())
    assert r.status == 400 and text in r.error(), r


def test_json_nan_and_infinity_are_numbers(server: Server) -> None:
    """As TF Serving: NaN and Infinity are accepted (and come back as NaN in the outputs)."""
    row = ", ".join(["NaN", "Infinity", "-Infinity"] + ["0.5"] * 13)
    r = post_predict(server, f'{{"instances": [[{row}]]}}'.encode())
    assert r.status == 200, r
    assert np.isnan(np.array(json.loads(r.body)["predictions"], np.float32)).any()


def test_json_strings_are_not_made_into_a_string_array(server: Server) -> None:
    """One long string among many numbers used to become a numpy string array of (count ×
    longest string) characters: terabytes here (a MemoryError, or worse)."""
    body = json.dumps({"instances": ["a" * 1_000_000] + [1] * 300_000}).encode()
    t0 = time.monotonic()
    r = post_predict(server, body)
    assert r.status == 400 and "expected numbers, got strings" in r.error()
    assert time.monotonic() - t0 < 10


# --- gRPC -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grpc_stub(server: Server) -> Iterator[Any]:
    grpc = pytest.importorskip("grpc")
    from cir.app.serve.protos import pb

    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        yield pb().prediction_service_pb2_grpc.PredictionServiceStub(channel)


def predict_request(dtype: int, dims: list[int], name: str = "tiny", **values: Any) -> Any:
    """A PredictRequest for input 'x' with the given TensorProto dtype, dims and value fields."""
    from cir.app.serve.protos import pb

    req = pb().predict_pb2.PredictRequest()
    req.model_spec.name = name
    t = req.inputs["x"]
    t.dtype = dtype
    for d in dims:
        t.tensor_shape.dim.add().size = d
    for field, vals in values.items():
        if field == "tensor_content":
            t.tensor_content = vals
        else:
            getattr(t, field).extend(vals)
    return req


def grpc_code(stub: Any, req: Any) -> tuple[str, str]:
    import grpc

    try:
        stub.Predict(req, timeout=30)
    except grpc.RpcError as e:
        return e.code().name, e.details()
    return "OK", ""


DT_FLOAT, DT_DOUBLE, DT_INT32, DT_INT8, DT_HALF = 1, 2, 3, 6, 19
BAD = "INVALID_ARGUMENT"


@pytest.mark.parametrize("args, values, code, text", [
    ((DT_INT8, [1, 16]), {"int_val": [300] * 16}, BAD, "out of the range of int8"),
    ((DT_HALF, [1, 16]), {"half_val": [70000] * 16}, BAD, "half_val"),
    ((DT_FLOAT, [1] * 70), {"float_val": [1.0]}, BAD, "rank 70"),  # numpy: 64 at most
    ((DT_FLOAT, [2 ** 30, 16]), {"float_val": [1.0]}, BAD, "too large to fill"),
    ((DT_FLOAT, [2 ** 62, 2 ** 62]), {"float_val": [1.0]}, BAD, "is too large"),
    ((DT_FLOAT, [2 ** 62, 0, 2 ** 62]), {}, BAD, "too large"),  # no values: numpy's limit
    ((DT_FLOAT, [2 ** 63 - 1, 2, 0]), {"tensor_content": b""}, BAD, "too large"),
    ((DT_DOUBLE, [1, 16]), {"double_val": [0.1] * 16}, BAD, "cannot represent exactly"),
    ((DT_INT32, [1, 16]), {"int_val": [2 ** 31 - 1] * 16}, BAD, "cannot represent exactly"),
    ((DT_DOUBLE, [1, 16]), {"double_val": [0.5] * 16}, "OK", ""),  # exact: converted to f32
    ((DT_INT32, [1, 16]), {"int_val": [3] * 16}, "OK", ""),
    ((DT_FLOAT, [1, 16], "m" * 1_000_000), {}, "NOT_FOUND", "Servable not found"),
])
def test_grpc_bad_tensors(grpc_stub: Any, args: tuple, values: dict, code: str, text: str) -> None:
    got, details = grpc_code(grpc_stub, predict_request(*args, **values))
    assert got == code and text in details, (got, details)
    assert len(details) < 2100  # a 1 MB model name is not echoed whole


# --- the conversion rules -------------------------------------------------------------------


@pytest.mark.parametrize("dtype, values, exact, result", [
    ("i8", np.array([-128, 127]), True, [-128, 127]),
    ("i8", np.array([128]), True, "out of the range of i8"),
    ("i32", np.array([1.0]), False, "holds floats"),
    ("i64", np.array([2 ** 63], np.uint64), True, "out of the range of i64"),
    ("f32", np.array([True]), False, "holds true/false values"),
    ("i1", np.array([1]), False, "holds integers"),
    ("f32", np.array([0.1]), False, [np.float32(0.1)]),  # JSON numbers round
    ("f32", np.array([0.1]), True, "cannot represent exactly"),  # TensorProtos do not
    ("f32", np.array([0.5, np.nan, np.inf]), True, [0.5, np.nan, np.inf]),
    ("f16", np.array([70000.0]), False, "out of the range of f16"),
    ("f16", np.array([2049], np.int64), True, "cannot represent exactly"),
    ("bf16", np.array([1.5], np.float32), True, [1.5]),
])
def test_conform(dtype: str, values: np.ndarray, exact: bool, result: Any) -> None:
    from cir.runtime.session import TensorInfo

    from cir.app.serve.core import ServeError, conform

    t = TensorInfo("x", values.shape, dtype)
    if isinstance(result, str):
        with pytest.raises(ServeError, match=result):
            conform(values, t, exact=exact)
    else:
        out = conform(values, t, exact=exact)
        assert out.dtype == t.np_dtype
        np.testing.assert_array_equal(out.astype(np.float64), np.array(result, np.float64))
