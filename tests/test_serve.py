"""``circ serve``: the real server (a `circ serve` subprocess) on tiny compiled packages,
through REST (aiohttp client) and gRPC (the official tensorflow-serving-api stubs)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
aiohttp = pytest.importorskip("aiohttp")

import cir
from cir.app.serve.config import load_config_file
from cir.app.tools.circ import main as circ_main

ROOT = Path(__file__).resolve().parent.parent


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(16, 8)
        self.ln = torch.nn.LayerNorm(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.gelu(self.ln(self.lin(x)))


class Two(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(8, 8)
        self.ln = torch.nn.LayerNorm(8)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.nn.functional.gelu(self.lin(a)) + b, self.ln(b)


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("serve")
    torch.manual_seed(0)
    tiny = cir.compile(Tiny().eval(), d / "tiny.circ", example_inputs=(torch.randn(4, 16),),
                       soc="Ascend910B1")
    two = cir.compile(Two().eval(), d / "two.circ",
                      example_inputs=(torch.randn(2, 8), torch.randn(2, 8)), soc="Ascend910B1")
    cfg = d / "models.toml"
    cfg.write_text('[[model]]\nname = "pair"\npath = "two.circ"\n\n'
                   '[[model]]\nname = "exact"\npath = "tiny.circ"\nrow_batching = false\n')
    return {"tiny": tiny, "two": two, "config": cfg, "dir": d}


@pytest.fixture(scope="session")
def sessions(packages: dict[str, Path]) -> dict[str, object]:
    return {"tiny": cir.load(packages["tiny"]), "two": cir.load(packages["two"])}


class Server:
    def __init__(self, args: list[str], cwd: Path):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "cir.app.tools.circ", "serve", *args,
                                      "--port", "0", "--grpc-port", "0"], cwd=cwd, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            self.lines.append(line)
            if "ready" in line:
                break
        text = "".join(self.lines)
        assert "ready" in text, f"circ serve did not start:\n{text}"
        self.port = int(re.search(r"REST on http://127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
        self.grpc_port = int(re.search(r"gRPC on 127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self.port}/v1/models"
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        self._drain.join(timeout=5)
        return rc


@pytest.fixture(scope="module")
def server(packages: dict[str, Path]):
    s = Server(["tiny.circ", "--model-config", "models.toml", "--max-batch", "4",
                "--batch-timeout-ms", "5", "--max-request-bytes", "200000"], packages["dir"])
    yield s
    assert s.stop() == 0
    assert "stopped" in "".join(s.lines)
    assert "Traceback" not in "".join(s.lines)


def http(method: str, url: str, body: object = None, raw: bytes | None = None) -> tuple[int, dict]:
    async def go() -> tuple[int, dict]:
        async with aiohttp.ClientSession() as s:
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            async with s.request(method, url, data=data) as r:
                return r.status, await r.json(content_type=None)

    return asyncio.run(go())


def ref_rows(sess, x: np.ndarray, batch: int) -> np.ndarray:
    """The model on n rows, padded to the compiled batch (rows are independent)."""
    out = []
    for s in range(0, len(x), batch):
        chunk = x[s:s + batch]
        pad = np.concatenate([chunk, np.zeros((batch - len(chunk),) + x.shape[1:], x.dtype)])
        out.append(sess.run({"x": pad})["output_0"][:len(chunk)])
    return np.concatenate(out)


# --- REST -----------------------------------------------------------------------------------


def test_rest_status_and_metadata(server: Server) -> None:
    want = {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                      "status": {"error_code": "OK", "error_message": ""}}]}
    assert http("GET", f"{server.url}/tiny") == (200, want)
    assert http("GET", f"{server.url}/tiny/versions/1") == (200, want)
    status, body = http("GET", f"{server.url}/tiny/versions/2")
    assert status == 404 and "Specific(tiny, 2)" in body["error"]

    status, meta = http("GET", f"{server.url}/tiny/metadata")
    assert status == 200
    assert meta["model_spec"] == {"name": "tiny", "signature_name": "", "version": "1"}
    sig = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert sig["method_name"] == "tensorflow/serving/predict"
    assert sig["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in sig["inputs"]["x"]["tensor_shape"]["dim"]] == ["-1", "16"]
    assert [d["size"] for d in sig["outputs"]["output_0"]["tensor_shape"]["dim"]] == ["-1", "8"]
    assert http("GET", f"{server.url}/tiny/versions/1/metadata")[1] == meta
    # a model with row batching off shows its exact shape
    sig = http("GET", f"{server.url}/exact/metadata")[1]["metadata"]["signature_def"]["signature_def"]
    assert [d["size"] for d in sig["serving_default"]["inputs"]["x"]["tensor_shape"]["dim"]] == ["4", "16"]


def test_rest_predict_row_and_columnar(server: Server, sessions: dict) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 16)).astype(np.float32)
    ref = sessions["tiny"].run({"x": x})["output_0"]
    status, body = http("POST", f"{server.url}/tiny:predict", {"instances": x.tolist()})
    assert status == 200
    np.testing.assert_allclose(np.array(body["predictions"], np.float32), ref, rtol=1e-6, atol=1e-6)
    status, body = http("POST", f"{server.url}/tiny/versions/1:predict",
                        {"signature_name": "serving_default", "inputs": x.tolist()})
    assert status == 200
    np.testing.assert_allclose(np.array(body["outputs"], np.float32), ref, rtol=1e-6, atol=1e-6)
    # any number of rows: padded to / split into runs of the compiled batch of 4
    for n in (1, 3, 6):
        xn = rng.standard_normal((n, 16)).astype(np.float32)
        status, body = http("POST", f"{server.url}/tiny:predict", {"instances": xn.tolist()})
        assert status == 200, body
        np.testing.assert_allclose(np.array(body["predictions"], np.float32),
                                   ref_rows(sessions["tiny"], xn, 4), rtol=1e-6, atol=1e-6)
    # the exact-shape model takes exactly [4, 16]
    status, body = http("POST", f"{server.url}/exact:predict", {"inputs": x.tolist()})
    assert status == 200
    np.testing.assert_allclose(np.array(body["outputs"], np.float32), ref, rtol=1e-6, atol=1e-6)
    status, body = http("POST", f"{server.url}/exact:predict", {"instances": x[:1].tolist()})
    assert status == 400 and "expected [4, 16]" in body["error"]


def test_rest_two_inputs_two_outputs(server: Server, sessions: dict) -> None:
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal((2, 8)).astype(np.float32) for _ in range(2))
    ref = sessions["two"].run({"a": a, "b": b})
    inst = [{"a": a[i].tolist(), "b": b[i].tolist()} for i in range(2)]
    status, body = http("POST", f"{server.url}/pair:predict", {"instances": inst})
    assert status == 200, body
    for i, row in enumerate(body["predictions"]):
        for k in ("output_0", "output_1"):
            np.testing.assert_allclose(np.array(row[k], np.float32), ref[k][i], rtol=1e-6, atol=1e-6)
    status, body = http("POST", f"{server.url}/pair:predict",
                        {"inputs": {"a": a.tolist(), "b": b.tolist()}})
    assert status == 200
    for k in ("output_0", "output_1"):
        np.testing.assert_allclose(np.array(body["outputs"][k], np.float32), ref[k], rtol=1e-6, atol=1e-6)
    status, body = http("POST", f"{server.url}/pair:predict", {"instances": a.tolist()})
    assert status == 400 and "each instance must be an object" in body["error"]


def test_rest_errors(server: Server) -> None:
    url = f"{server.url}/tiny:predict"
    status, body = http("POST", url, raw=b'{"instances": [[1, 2')
    assert status == 400 and "JSON" in body["error"]
    status, body = http("POST", url, {"instances": [[1.0] * 15]})
    assert status == 400 and "shape [1, 15]" in body["error"]
    status, body = http("POST", url, {"instances": [[1.0] * 16, [1.0] * 15]})
    assert status == 400 and "rectangular" in body["error"]
    status, body = http("POST", url, {"instances": [["a"] * 16]})
    assert status == 400 and "expected numbers" in body["error"]
    status, body = http("POST", url, {"inputs": {"y": [[1.0] * 16]}})
    assert status == 400 and "missing input(s) 'x'" in body["error"] and "unknown input(s) 'y'" in body["error"]
    status, body = http("POST", url, {"rows": []})
    assert status == 400 and "instances" in body["error"]
    status, body = http("POST", url, {"signature_name": "other", "instances": [[1.0] * 16]})
    assert status == 400 and "signature" in body["error"]
    status, body = http("POST", f"{server.url}/nope:predict", {"instances": [[1.0] * 16]})
    assert status == 404 and "nope" in body["error"]
    status, body = http("GET", f"{server.url}/nope/metadata")
    assert status == 404
    status, body = http("GET", f"http://127.0.0.1:{server.port}/v2/else")
    assert status == 404 and "error" in body
    big = {"instances": np.full((3000, 16), 0.123456789).tolist()}  # ~ 600 KB > 200000
    status, body = http("POST", url, big)
    assert status == 413 and "limit" in body["error"]
    # still serving
    assert http("POST", url, {"instances": [[0.5] * 16]})[0] == 200


def test_rest_concurrent_batched(server: Server, sessions: dict) -> None:
    """40 concurrent one-row requests (batched 4 at a time): each gets its own row back."""
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((40, 16)).astype(np.float32)

    async def go() -> list[tuple[int, dict]]:
        async with aiohttp.ClientSession() as s:
            async def one(i: int) -> tuple[int, dict]:
                async with s.post(f"{server.url}/tiny:predict",
                                  data=json.dumps({"instances": [xs[i].tolist()]})) as r:
                    return r.status, await r.json()
            return await asyncio.gather(*(one(i) for i in range(len(xs))))

    results = asyncio.run(go())
    ref = ref_rows(sessions["tiny"], xs, 4)
    for i, (status, body) in enumerate(results):
        assert status == 200, body
        np.testing.assert_allclose(np.array(body["predictions"][0], np.float32), ref[i],
                                   rtol=1e-6, atol=1e-6)


# --- gRPC (the official tensorflow-serving-api client) --------------------------------------


@pytest.fixture(scope="module")
def grpc_client(server: Server):
    grpc = pytest.importorskip("grpc")
    tf = pytest.importorskip("tensorflow")
    apis = pytest.importorskip("tensorflow_serving.apis")
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        get_model_status_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    ch = grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}")
    ns = {"grpc": grpc, "tf": tf, "apis": apis, "predict_pb2": predict_pb2,
          "get_model_metadata_pb2": get_model_metadata_pb2,
          "get_model_status_pb2": get_model_status_pb2,
          "prediction": prediction_service_pb2_grpc.PredictionServiceStub(ch),
          "models": model_service_pb2_grpc.ModelServiceStub(ch)}
    yield type("G", (), ns)
    ch.close()


def test_grpc_predict(grpc_client, sessions: dict) -> None:
    g = grpc_client
    tf = g.tf
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 16)).astype(np.float32)
    req = g.predict_pb2.PredictRequest()
    req.model_spec.name = "tiny"
    req.model_spec.signature_name = "serving_default"
    req.inputs["x"].CopyFrom(tf.make_tensor_proto(x))
    resp = g.prediction.Predict(req, timeout=30)
    assert resp.model_spec.name == "tiny" and resp.model_spec.version.value == 1
    np.testing.assert_allclose(tf.make_ndarray(resp.outputs["output_0"]),
                               sessions["tiny"].run({"x": x})["output_0"], rtol=1e-6, atol=1e-6)
    # float_val instead of tensor_content, one row, version 1
    req = g.predict_pb2.PredictRequest()
    req.model_spec.name = "tiny"
    req.model_spec.version.value = 1
    t = req.inputs["x"]
    t.dtype = tf.float32.as_datatype_enum
    t.tensor_shape.dim.add().size = 1
    t.tensor_shape.dim.add().size = 16
    t.float_val.extend(x[0].tolist())
    out = tf.make_ndarray(g.prediction.Predict(req, timeout=30).outputs["output_0"])
    np.testing.assert_allclose(out, ref_rows(sessions["tiny"], x[:1], 4), rtol=1e-6, atol=1e-6)
    # two inputs, output_filter
    a, b = (rng.standard_normal((2, 8)).astype(np.float32) for _ in range(2))
    req = g.predict_pb2.PredictRequest()
    req.model_spec.name = "pair"
    req.inputs["a"].CopyFrom(tf.make_tensor_proto(a))
    req.inputs["b"].CopyFrom(tf.make_tensor_proto(b))
    req.output_filter.append("output_1")
    resp = g.prediction.Predict(req, timeout=30)
    assert list(resp.outputs) == ["output_1"]
    np.testing.assert_allclose(tf.make_ndarray(resp.outputs["output_1"]),
                               sessions["two"].run({"a": a, "b": b})["output_1"], rtol=1e-6, atol=1e-6)


def test_grpc_metadata_and_status(grpc_client) -> None:
    g = grpc_client
    req = g.get_model_metadata_pb2.GetModelMetadataRequest()
    req.model_spec.name = "pair"
    req.metadata_field.append("signature_def")
    resp = g.prediction.GetModelMetadata(req, timeout=30)
    sigs = g.get_model_metadata_pb2.SignatureDefMap()
    assert resp.metadata["signature_def"].Unpack(sigs)
    sig = sigs.signature_def["serving_default"]
    assert sorted(sig.inputs) == ["a", "b"] and sorted(sig.outputs) == ["output_0", "output_1"]
    assert sig.inputs["a"].dtype == g.tf.float32.as_datatype_enum
    assert [d.size for d in sig.inputs["a"].tensor_shape.dim] == [-1, 8]
    assert sig.method_name == "tensorflow/serving/predict"

    sreq = g.get_model_status_pb2.GetModelStatusRequest()
    sreq.model_spec.name = "tiny"
    st = g.models.GetModelStatus(sreq, timeout=30).model_version_status
    assert len(st) == 1 and st[0].version == 1
    assert st[0].state == g.get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert st[0].status.error_code == 0


def test_grpc_errors(grpc_client) -> None:
    g = grpc_client
    tf = g.tf
    code = g.grpc.StatusCode

    def fails(call, req) -> object:
        with pytest.raises(g.grpc.RpcError) as e:
            call(req, timeout=30)
        return e.value

    req = g.predict_pb2.PredictRequest()
    req.model_spec.name = "nope"
    req.inputs["x"].CopyFrom(tf.make_tensor_proto(np.zeros((4, 16), np.float32)))
    assert fails(g.prediction.Predict, req).code() == code.NOT_FOUND
    req.model_spec.name = "tiny"
    req.inputs["x"].CopyFrom(tf.make_tensor_proto(np.zeros((4, 15), np.float32)))
    e = fails(g.prediction.Predict, req)
    assert e.code() == code.INVALID_ARGUMENT and "shape [4, 15]" in e.details()
    req.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array([["a"] * 16])))
    assert fails(g.prediction.Predict, req).code() == code.INVALID_ARGUMENT
    req.inputs["x"].CopyFrom(tf.make_tensor_proto(np.zeros((4000, 16), np.float32)))  # 256 KB
    assert fails(g.prediction.Predict, req).code() == code.RESOURCE_EXHAUSTED
    mreq = g.get_model_metadata_pb2.GetModelMetadataRequest()
    mreq.model_spec.name = "tiny"
    assert fails(g.prediction.GetModelMetadata, mreq).code() == code.INVALID_ARGUMENT
    sreq = g.get_model_status_pb2.GetModelStatusRequest()
    sreq.model_spec.name = "tiny"
    sreq.model_spec.version.value = 7
    assert fails(g.models.GetModelStatus, sreq).code() == code.NOT_FOUND


# --- overload, shutdown, configuration, command line ----------------------------------------


def test_overload_then_keeps_serving(packages: dict[str, Path], sessions: dict) -> None:
    s = Server(["tiny.circ", "--max-queue", "1", "--workers", "1"], packages["dir"])
    try:
        xs = np.random.default_rng(5).standard_normal((60, 4, 16)).astype(np.float32)

        async def go() -> list[tuple[int, dict]]:
            async with aiohttp.ClientSession() as c:
                async def one(i: int) -> tuple[int, dict]:
                    async with c.post(f"{s.url}/tiny:predict",
                                      data=json.dumps({"inputs": xs[i].tolist()})) as r:
                        return r.status, await r.json()
                return await asyncio.gather(*(one(i) for i in range(len(xs))))

        results = asyncio.run(go())
        statuses = [st for st, _ in results]
        assert set(statuses) <= {200, 503}, statuses
        assert statuses.count(503) > 0 and statuses.count(200) > 0
        for i, (st, body) in enumerate(results):
            if st == 503:
                assert "overloaded" in body["error"]
            else:
                np.testing.assert_allclose(np.array(body["outputs"], np.float32),
                                           sessions["tiny"].run({"x": xs[i]})["output_0"],
                                           rtol=1e-6, atol=1e-6)
        assert http("POST", f"{s.url}/tiny:predict", {"inputs": xs[0].tolist()})[0] == 200
        assert s.proc.poll() is None
    finally:
        rc = s.stop()
    assert rc == 0, "".join(s.lines)
    assert "Traceback" not in "".join(s.lines)


def test_config_formats(tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text(
        'model_config_list {\n  config { name: "unet" base_path: "pkgs/unet.circ" '
        'model_platform: "tensorflow" }\n  config { name: "vae" base_path: "/abs/vae.circ" }\n}\n')
    ms = load_config_file(tmp_path / "m.txt")
    assert [(m.name, m.path) for m in ms] == [("unet", tmp_path / "pkgs/unet.circ"),
                                             ("vae", Path("/abs/vae.circ"))]
    (tmp_path / "m.toml").write_text('[[model]]\npath = "a/unet.circ"\nmax_batch = 8\n')
    (m,) = load_config_file(tmp_path / "m.toml")
    assert m.name == "unet" and m.max_batch == 8 and m.path == tmp_path / "a/unet.circ"


@pytest.mark.parametrize("argv, text, rc", [
    (["serve"], "nothing to serve", 2),
    (["serve", "missing.circ"], "missing.circ: no such package", 1),
    (["serve", "--model", "=x.circ"], "--model expects NAME=PATH", 2),
    (["serve", "--model-config", "nope.toml"], "cannot read", 1),
    (["serve", "--model-config", "bad.toml"], "unknown key(s) colour", 1),
    (["serve", "--model-config", "bad.txt"], "not a valid model_config_list", 1),
    (["serve", "tiny.circ", "--model", "tiny=tiny.circ"], "given twice", 2),
    (["serve", "tiny.circ", "--max-queue", "0"], "--max-queue must be >= 1", 2),
    (["serve", "tiny.circ", "--port", "70000"], "--port must be", 2),
])
def test_cli_errors(argv: list[str], text: str, rc: int, packages: dict[str, Path],
                    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    d = packages["dir"]
    (d / "bad.toml").write_text('[[model]]\npath = "tiny.circ"\ncolour = "red"\n')
    (d / "bad.txt").write_text("model_config_list { config { name: 'x' basepath: 'y' } }\n")
    monkeypatch.chdir(d)
    assert circ_main(argv) == rc
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


def test_cli_port_in_use(packages: dict[str, Path], server: Server) -> None:
    r = subprocess.run([sys.executable, "-m", "cir.app.tools.circ", "serve", "tiny.circ", "--port",
                        str(server.port), "--grpc-port", "-1"], check=False, cwd=packages["dir"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "cannot listen" in r.stderr and "Traceback" not in r.stderr


def test_tensor_proto_roundtrip() -> None:
    """circ's own numpy <-> TensorProto converter against TensorFlow's."""
    tf = pytest.importorskip("tensorflow")
    import ml_dtypes

    from cir.app.serve.tensors import from_ndarray, to_ndarray

    for dt in (np.float32, np.float16, ml_dtypes.bfloat16, np.int64, np.int32, np.int8, np.bool_):
        a = (np.arange(12).reshape(3, 4) % 3).astype(dt)
        b = to_ndarray(tf.make_tensor_proto(a))
        assert b.dtype == a.dtype and np.array_equal(b, a)
        c = tf.make_ndarray(from_ndarray(a, tf.make_tensor_proto(0.0).__class__()))
        assert c.dtype == a.dtype and np.array_equal(c, a)
    np.testing.assert_array_equal(to_ndarray(tf.make_tensor_proto(3.0, shape=[2, 2])), np.full((2, 2), 3.0))
    huge = tf.make_tensor_proto(1.0)
    huge.tensor_shape.dim.add().size = 10**10
    with pytest.raises(cir.errors.CircError, match="too large"):
        to_ndarray(huge)
