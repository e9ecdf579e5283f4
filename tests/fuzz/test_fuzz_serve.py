"""Fuzzing ``circ serve`` (issue 14): one real server (a ``circ serve`` subprocess on a free
127.0.0.1 port, a tiny compiled package) for the module, stopped at the end.

- REST, raw bytes over a socket: mutated valid requests, random request lines and headers
  (wrong Content-Length, chunked garbage, Expect, encodings), structure-aware ``:predict``
  bodies (wrong shapes and types, NaN/Infinity, huge and deep numbers, b64 objects, strings
  where numbers go). Every case must get a well-formed HTTP answer, status < 500 (or 503),
  errors as ``{"error": ...}`` JSON, or a clean close; never a hang (socket timeouts).
- gRPC ``Predict`` through the official tensorflow-serving-api stubs with random TensorProtos
  (dtypes, shapes against contents, huge dims, missing and unknown inputs): OK or
  INVALID_ARGUMENT / NOT_FOUND / RESOURCE_EXHAUSTED, never UNKNOWN or INTERNAL.

After every case a valid predict must still work and the server must have logged no
traceback and no internal error.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from harness import mutated
from hypothesis import event, given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("aiohttp")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from test_hardening_serve import (
    PREDICT,
    ROW,
    Reply,
    clean_log,
    exchange,
    is_head,
    predict_ok,
    request,
)
from test_serve import Server, Tiny

import cir

MAX_REQUEST_BYTES = 1 << 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    torch.manual_seed(0)
    pkg = cir.compile(Tiny().eval(), tmp_path_factory.mktemp("fuzz-serve") / "tiny.circ",
                      example_inputs=(torch.randn(4, 16),), soc="Ascend910B1")
    s = Server(["tiny.circ", "--max-request-bytes", str(MAX_REQUEST_BYTES),
                "--body-timeout-ms", "3000"], pkg.parent)
    yield s
    assert s.stop() == 0
    clean_log(s.lines)


def check(server: Server, raw: bytes) -> Reply:
    """The rule: one well-formed answer (< 500 or 503, errors in JSON) or a clean close; the
    server still serves and has logged nothing alarming."""
    before = len(server.lines)
    r = exchange(server.port, raw, patience=0.3)
    event(f"status {r.status}")
    if r.status is not None:
        assert r.status < 500 or r.status in (503, 505), r  # overloaded; not HTTP/1.x
        if r.status >= 400 and not is_head(raw):
            r.error()
    predict_ok(server.port)
    clean_log(server.lines[before:])
    return r


# --- REST: mutated valid requests -----------------------------------------------------------


def chunked(body: bytes, size: int = 7) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def _seeds() -> list[bytes]:
    columnar = json.dumps({"signature_name": "serving_default", "inputs": [ROW, ROW]}).encode()
    te: dict[str, str | None] = {"Transfer-Encoding": "chunked", "Content-Length": None}
    keep = {"Connection": "keep-alive"}
    return [
        request("GET", "/v1/models/tiny"),
        request("GET", "/v1/models/tiny/versions/1/metadata"),
        request("POST", "/v1/models/tiny:predict", PREDICT),
        request("POST", "/v1/models/tiny/versions/1:predict", columnar),
        request("POST", "/v1/models/tiny:predict", chunked(PREDICT), te),
        request("POST", "/v1/models/tiny:predict", gzip.compress(PREDICT),
                {"Content-Encoding": "gzip"}),
        request("POST", "/v1/models/tiny:predict", PREDICT, {"Expect": "100-continue"}),
        request("GET", "/v1/models/tiny", headers=keep)
        + request("POST", "/v1/models/tiny:predict", PREDICT),
    ]


SEEDS = _seeds()


@given(st.data())
def test_mutated_requests(server: Server, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS))
    check(server, data.draw(mutated(seed, max_edits=6)))


# --- REST: random request lines, headers and bodies -----------------------------------------


def mostly(usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` three times in four (so that most cases get past the first check)."""
    return st.integers(0, 3).flatmap(lambda i: usual if i else rare)


METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT", "get",
           "PRI", "FOO", ""]
TARGETS = ["/v1/models/tiny", "/v1/models/tiny:predict", "/v1/models/tiny/metadata",
           "/v1/models/tiny/versions/1:predict", "/v1/models/tiny/versions/2",
           "/v1/models/tiny:classify", "/v1/models/tiny/labels/stable:predict",
           "/v1/models/nope:predict", "/v1/models/", "/v1/models/:predict", "/v1/models//metadata",
           "/v1/models/tiny?x=1#f", "/v1/models/t%00iny", "/v1/models/%ff%fe",
           "/v1/models/../../etc/passwd", "/", "*", "//x",
           "http://127.0.0.1/v1/models/tiny", "127.0.0.1:80", "/v1/models/" + "a" * 17000]
VERSIONS = ["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.1x", "HTTP/1", "HTTPS/1.1", ""]
LENGTHS = ["0", "-1", "1", "5", "99", "1000000", str(MAX_REQUEST_BYTES + 1), str(2 ** 64), "abc",
           " 10", "10 ", "+10", "0x10", "", "10, 10"]
SPECIAL_HEADERS = st.sampled_from([
    ("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "gzip, chunked"),
    ("Transfer-Encoding", "identity"), ("Transfer-Encoding", "chunked, chunked"),
    ("Content-Encoding", "gzip"), ("Content-Encoding", "deflate"), ("Content-Encoding", "br"),
    ("Content-Encoding", "zstd"), ("Content-Encoding", "x-nonsense"),
    ("Expect", "100-continue"), ("Expect", "teapot"), ("Connection", "keep-alive"),
    ("Connection", "upgrade"), ("Upgrade", "websocket"), ("Upgrade", "h2c"), ("Host", ""),
    ("Host", "a" * 9000), ("Content-Type", "application/json; charset=utf-16"),
    ("Accept-Encoding", "gzip"), ("X-\x00", "v"), ("X-A", "v\x00w"), ("X-A", "v\rw"), ("X A", "v"),
])
HEADER_TEXT = st.text(st.characters(codec="latin-1"), max_size=30)


@st.composite
def header_lists(draw: st.DrawFn) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if draw(st.integers(0, 4)):
        out.append(("Host", "127.0.0.1"))
    for _ in range(draw(st.integers(0, 4))):
        out.append(draw(st.one_of(SPECIAL_HEADERS, st.tuples(HEADER_TEXT, HEADER_TEXT),
                                  st.tuples(st.just("Content-Length"), st.sampled_from(LENGTHS)))))
    if draw(st.integers(0, 20)) == 0:
        out += [(f"X-{i}", "v") for i in range(draw(st.sampled_from([127, 129, 500])))]
    return out


@st.composite
def random_requests(draw: st.DrawFn) -> bytes:
    method = draw(mostly(st.sampled_from(METHODS[:3]), st.one_of(
        st.sampled_from(METHODS), st.text(st.characters(codec="ascii"), max_size=8))))
    target = draw(mostly(st.sampled_from(TARGETS), st.text(max_size=40)))
    version = draw(mostly(st.just("HTTP/1.1"), st.sampled_from(VERSIONS)))
    body = draw(st.one_of(st.just(PREDICT), st.binary(max_size=64), predict_bodies()))
    framing = draw(st.sampled_from(["length", "length", "chunked", "chunked-garbage", "none"]))
    headers = draw(header_lists())
    if framing == "length":
        headers.append(("Content-Length", str(len(body))))
    elif framing == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
        body = chunked(body, draw(st.integers(1, 64)))
    elif framing == "chunked-garbage":
        headers.append(("Transfer-Encoding", "chunked"))
        body = draw(mutated(chunked(body, draw(st.integers(1, 64))), max_edits=3))
    if draw(st.booleans()):
        headers.append(("Connection", "close"))
    head = f"{method} {target} {version}".rstrip() + "\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("utf-8", "surrogatepass") + body


@given(random_requests())
def test_random_requests(server: Server, raw: bytes) -> None:
    check(server, raw)


# --- REST: :predict bodies ------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """JSON text written as is (numbers Python's json would not write)."""
    text: str


NUMBER_TEXT = ["1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity", "1" * 400,
               "9" * 5000, "0." + "0" * 400 + "1", "-0", "1E+2", "18446744073709551616",
               "-9223372036854775809", "3.4028236e38", "65504.1"]
LEAVES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.booleans(), st.none(),
    st.text(max_size=8), st.builds(lambda s: {"b64": s}, st.text(max_size=8)),
    st.integers(0, len(NUMBER_TEXT) - 1).map(lambda i: Raw(NUMBER_TEXT[i])),  # a short repr
)


@st.composite
def rows(draw: st.DrawFn) -> list[Any]:
    """Rows of 16 numbers, or near-valid ones: a leaf or two replaced, a length off."""
    n = draw(mostly(st.just(16), st.sampled_from([15, 17, 0, 1])))
    row: list[Any] = [draw(st.floats(-10, 10)) for _ in range(n)]
    for _ in range(draw(mostly(st.just(0), st.integers(1, 2)))):
        if row:
            row[draw(st.integers(0, len(row) - 1))] = draw(LEAVES)
    return row


VALUES = st.one_of(
    st.lists(rows(), min_size=0, max_size=9),
    rows(),
    st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["x", "y", "b64", ""]), inner, max_size=3), max_leaves=30),
    st.sampled_from([33, 64, 65, 900, 5000, 100000]).map(lambda n: Raw("[" * n + "1" + "]" * n)),
)
SIGNATURES = mostly(st.sampled_from(["", "serving_default"]), st.one_of(st.text(max_size=5), LEAVES))


@st.composite
def predict_docs(draw: st.DrawFn) -> Any:
    """Mostly one of 'instances' (rows, or objects of rows) and 'inputs', near-valid values."""
    keys = draw(mostly(st.sampled_from([["instances"], ["inputs"]]), st.lists(
        st.sampled_from(["instances", "inputs", "other"]), max_size=3, unique=True)))
    doc: dict[str, Any] = {k: draw(mostly(VALUES, LEAVES)) for k in keys}
    if "instances" in doc and draw(st.booleans()):
        doc["instances"] = [{"x": r} for r in draw(st.lists(rows(), min_size=1, max_size=4))]
    if draw(st.booleans()):
        doc["signature_name"] = draw(SIGNATURES)
    if draw(st.integers(0, 9)) == 0:
        return draw(st.one_of(VALUES, LEAVES))  # not an object at all
    return doc


def to_json(v: Any) -> str:
    """json.dumps, with Raw values written verbatim."""
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, list):
        return "[" + ",".join(to_json(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{to_json(x)}" for k, x in v.items()) + "}"
    return json.dumps(v)


def predict_bodies() -> st.SearchStrategy[bytes]:
    return predict_docs().map(lambda d: to_json(d).encode("utf-8", "surrogatepass"))


@given(predict_bodies(), st.sampled_from(["/v1/models/tiny:predict",
                                          "/v1/models/tiny/versions/1:predict"]))
def test_predict_bodies(server: Server, body: bytes, path: str) -> None:
    r = check(server, request("POST", path, body))
    assert r.status is not None and r.status in (200, 400, 413), r


# --- gRPC -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grpc_api(server: Server) -> Iterator[tuple[Any, Any]]:
    grpc = pytest.importorskip("grpc")
    from cir.app.serve.protos import pb

    options = [("grpc.max_receive_message_length", -1)]
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}", options=options) as channel:
        yield pb(), pb().prediction_service_pb2_grpc.PredictionServiceStub(channel)


DTYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 17, 19, 22, 23, 101, 2 ** 31 - 1]
DT_SIZE = {1: 4, 2: 8, 3: 4, 4: 1, 5: 2, 6: 1, 9: 8, 10: 1, 14: 2, 17: 2, 19: 2, 22: 4, 23: 8}
DIMS = st.sampled_from([0, 1, 2, 4, 15, 16, 17, -1, 2 ** 31, 2 ** 62, 2 ** 63 - 1])
ROWS = st.tuples(st.sampled_from([0, 1, 3, 4, 5]), st.sampled_from([16, 16, 15, 17])).map(list)
SHAPES = mostly(ROWS, st.one_of(st.lists(DIMS, max_size=5), st.just([1] * 40)))
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "float_val": st.floats(width=32), "double_val": st.floats(),
    "int_val": st.integers(-(2 ** 31), 2 ** 31 - 1),
    "half_val": st.integers(-(2 ** 31), 2 ** 31 - 1),
    "int64_val": st.integers(-(2 ** 63), 2 ** 63 - 1), "bool_val": st.booleans(),
    "uint32_val": st.integers(0, 2 ** 32 - 1), "uint64_val": st.integers(0, 2 ** 64 - 1),
    "string_val": st.binary(max_size=8),
}


@st.composite
def tensors(draw: st.DrawFn, pb: Any) -> Any:
    t = pb.tensor_pb2.TensorProto()
    t.dtype = draw(mostly(st.sampled_from([1, 1, 2, 3, 19, 14]), st.sampled_from(DTYPES)))
    dims = draw(SHAPES)
    for d in dims:
        t.tensor_shape.dim.add().size = d
    t.tensor_shape.unknown_rank = draw(st.integers(0, 30)) == 0
    size = math.prod(dims) * DT_SIZE.get(t.dtype, 4)
    if draw(st.booleans()):  # raw bytes, mostly as many as the shape needs
        exact = 0 <= size <= 4096
        anything = st.binary(max_size=200)
        t.tensor_content = draw(mostly(st.binary(min_size=size, max_size=size), anything)
                                if exact else anything)
    else:
        for field in draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=2, unique=True)):
            getattr(t, field).extend(draw(st.lists(FIELD_VALUES[field], max_size=20)))
    return t


@st.composite
def predict_requests(draw: st.DrawFn, pb: Any) -> Any:
    req = pb.predict_pb2.PredictRequest()
    req.model_spec.name = draw(mostly(st.just("tiny"), st.sampled_from(["", "nope", "x" * 5000])))
    version = draw(mostly(st.sampled_from(["none", "1"]), st.sampled_from(["other", "label"])))
    if version == "1":
        req.model_spec.version.value = 1
    elif version == "other":
        req.model_spec.version.value = draw(st.integers(-(2 ** 63), 2 ** 63 - 1))
    elif version == "label":
        req.model_spec.version_label = draw(st.text(max_size=10))
    req.model_spec.signature_name = draw(mostly(st.sampled_from(["", "serving_default"]),
                                                st.sampled_from(["predict", "\x00"])))
    names = draw(mostly(st.just(["x"]), st.lists(st.sampled_from(["x", "y", "", "x" * 3000]),
                                                 max_size=3, unique=True)))
    for name in names:
        req.inputs[name].CopyFrom(draw(tensors(pb)))
    req.output_filter.extend(draw(st.lists(st.sampled_from(["output_0", "nope", ""]), max_size=2)))
    return req


VALID_GRPC_CODES = {"OK", "INVALID_ARGUMENT", "NOT_FOUND", "RESOURCE_EXHAUSTED"}


def grpc_predict(stub: Any, req: Any) -> str:
    import grpc

    try:
        stub.Predict(req, timeout=30)
    except grpc.RpcError as e:
        assert e.code().name in VALID_GRPC_CODES, (e.code(), e.details())
        return e.code().name
    return "OK"


@given(st.data())
def test_grpc_predict(server: Server, grpc_api: tuple[Any, Any], data: st.DataObject) -> None:
    pb, stub = grpc_api
    before = len(server.lines)
    event(grpc_predict(stub, data.draw(predict_requests(pb))))
    valid = pb.predict_pb2.PredictRequest()
    valid.model_spec.name = "tiny"
    valid.inputs["x"].dtype = 1
    valid.inputs["x"].tensor_shape.dim.add().size = 16
    valid.inputs["x"].tensor_shape.dim.add().size = 16
    valid.inputs["x"].float_val.append(0.5)
    assert grpc_predict(stub, valid) == "OK"
    clean_log(server.lines[before:])
