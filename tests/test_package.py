"""cir.compile -> model.circ package -> cir.load / Session and the `circ compile` / `circ run`
command lines, against PyTorch eager on the same inputs.

Tolerance: fp32 1e-4 x max|ref| (the kernels and torch sum in different orders; a norm divides
by a standard deviation computed from ~100 values); fp16 PSNR >= 40 dB against the fp32 model
(fp16 has a 2^-11 relative step: ~66 dB is the ideal for one rounding, a chain of norms and
activations loses some).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cir
from cir.errors import CircError

SOC = "Ascend910B1"


class Block(nn.Module):
    """GroupNorm+SiLU, a broadcast time embedding, LayerNorm over the width, concat."""

    def __init__(self) -> None:
        super().__init__()
        self.gn = nn.GroupNorm(4, 16)
        self.ln = nn.LayerNorm(7)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.silu(self.gn(x)) + t[:, :, None, None]
        return self.ln(h * 0.5 + x), torch.cat([x, h], 1)


def make_block() -> tuple[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    torch.manual_seed(0)
    return Block().eval(), (torch.randn(2, 16, 5, 7), torch.randn(2, 16))


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    model, args = make_block()
    return cir.compile(model, tmp_path_factory.mktemp("pkg") / "block.circ", example_inputs=args, soc=SOC)


def feeds(args) -> dict[str, np.ndarray]:
    return {"x": args[0].numpy(), "t": args[1].numpy()}


def close(got: np.ndarray, want: np.ndarray, tol: float = 1e-4) -> None:
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * max(float(np.abs(want).max()), 1.0))


def test_package_contents(package):
    m = json.loads((package / "manifest.json").read_text())
    assert m["format_version"] == 3 and m["host_ops"] == [] and m["soc"] == SOC and m["precision"] == "fp32"
    assert m["source"]["framework"] == "pytorch"
    assert [(t["name"], t["shape"], t["dtype"]) for t in m["inputs"]] == [
        ("x", [2, 16, 5, 7], "f32"), ("t", [2, 16], "f32")]
    assert len(m["outputs"]) == 2
    import hashlib

    for k in m["kernels"]:
        text = (package / k["file"]).read_bytes()
        assert hashlib.sha256(text).hexdigest() == k["sha256"]
        assert b'extern "C" __global__ __aicore__ void ' + k["name"].encode() in text
    cmake = (package / "kernels" / "CMakeLists.txt").read_text()
    assert all(k["file"].removeprefix("kernels/") in cmake for k in m["kernels"])
    graph = json.loads((package / "graph" / "launch.json").read_text())
    assert graph["arena_bytes"] == m["memory"]["arena_bytes"] > 0
    assert {n["kernel"] for n in graph["nodes"]} == {k["name"] for k in m["kernels"]}
    import onnx

    proto = onnx.load(str(package / "model.onnx"), load_external_data=False)
    weights = [t for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    assert weights and all(e.value == "weights.safetensors" for t in weights for e in t.external_data
                           if e.key == "location")  # the package's weights, not a copy
    full = onnx.load(str(package / "model.onnx"))  # reads them from inside weights.safetensors
    onnx.checker.check_model(full, full_check=True)
    import onnxruntime as ort
    from cir.lowering.graph import expand_npu_nodes

    model, args = make_block()
    got = ort.InferenceSession(expand_npu_nodes(full).SerializeToString()).run(None, feeds(args))
    with torch.no_grad():
        close(got[0], model(*args)[0].numpy())
    assert (package / "graph" / "model.ge.pb").stat().st_size > 0
    assert "cir.launches" in (package / "model.mlir").read_text()
    assert not [p for p in package.parent.iterdir() if p.name.startswith(".")]  # no temp dirs left


def test_session_matches_torch(package):
    model, args = make_block()
    with torch.no_grad():
        want = [r.numpy() for r in model(*args)]
    sess = cir.load(package)
    assert [t.name for t in sess.inputs] == ["x", "t"]
    assert [t.shape for t in sess.outputs] == [(2, 16, 5, 7), (2, 32, 5, 7)]
    got = sess.run(feeds(args))
    for g, w in zip(got.values(), want):
        close(g, w)
    # several requests in flight, from several threads, on one session
    xs = [(torch.randn(2, 16, 5, 7), torch.randn(2, 16)) for _ in range(6)]
    futures = [sess.run_async(feeds(a)) for a in xs]
    results: list[dict] = [{} for _ in xs]

    def worker(i: int) -> None:
        results[i] = sess.run(feeds(xs[i]))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(xs))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for a, fut, res in zip(xs, futures, results):
        with torch.no_grad():
            ref = model(*a)[0].numpy()
        close(fut.result()["output_0"], ref)
        close(res["output_0"], ref)
    sess.close()


def test_cpu_layer_runs_its_own_tiling(tmp_path):
    """Conv kernels carry a second tiling for the CPU layer's cores (few, large tiles); the
    Session runs it, the SoC's stays the one the NPU (and the kernel tests) run."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(16, 96, 3, padding=1), nn.ReLU(), nn.Conv2d(96, 64, 1),
                          nn.Conv2d(64, 64, 3, stride=2, padding=1)).eval()
    x = torch.randn(1, 16, 14, 14)
    pkg = cir.compile(model, tmp_path / "convs.circ", example_inputs=(x,), soc=SOC)
    graph = json.loads((pkg / "graph" / "launch.json").read_text())
    convs = [n for n in graph["nodes"] if n["op"] in ("cir.conv2d", "cir.conv2d_act")]  # conv + relu fuse
    assert len(convs) == 3 and all("cpu" in n for n in convs)
    for n in convs:
        cpu = n["cpu"]
        assert cpu["block_dim"] <= 4 < n["block_dim"]
        assert len(cpu["tiling_hex"]) == len(n["tiling_hex"]) and cpu["tiling_hex"] != n["tiling_hex"]
        assert cpu["tiling"][n["tiling_fields"].index("units")] <= 4
    with torch.no_grad():
        want = model(x).numpy()
    got = cir.load(pkg).run({"input": x.numpy()})["output_0"]
    close(got, want)


def test_session_rejects_bad_inputs(package):
    sess = cir.load(package)
    x, t = np.zeros((2, 16, 5, 7), np.float32), np.zeros((2, 16), np.float32)
    for bad, msg in [({"x": x}, "missing input(s) 't'"),
                     ({"x": x, "t": t, "z": t}, "unknown input(s) 'z'"),
                     ({"x": t, "t": t}, "input 'x' has shape (2, 16), expected (2, 16, 5, 7)"),
                     ({"x": x.astype(np.int32), "t": t}, "input 'x' has dtype int32, expected float32")]:
        with pytest.raises(CircError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            sess.run(bad)
        with pytest.raises(CircError):
            sess.run_async(bad)


def test_npu_device_without_acl(package):
    with pytest.warns(RuntimeWarning, match="running on the CPU"):
        sess = cir.load(package, device="npu:0")
    assert sess.device == "cpu"
    with pytest.raises(CircError, match="not available.*fallback=True"):
        cir.load(package, device="npu:0", fallback=False)
    with pytest.raises(CircError, match="unknown device 'gpu'"):
        cir.load(package, device="gpu")


def test_release_and_debug_modes(package):
    """Sessions run the CPU layer in release mode (fresh UB not NaN-filled) unless debug=True;
    $CIRC_ASCENDC_POISON overrides both (these tests run with it set to 1). Same numbers."""
    code = (f"import sys, numpy as np, cir\n"
            f"rng = np.random.default_rng(0)\n"
            f"s = cir.load({str(package)!r}, debug=sys.argv[1] == 'debug')\n"
            f"feeds = {{t.name: rng.standard_normal(t.shape).astype(t.np_dtype) for t in s.inputs}}\n"
            f"print(s.debug, float(np.abs(s.run(feeds)['output_0']).sum()))\n")
    env = {k: v for k, v in os.environ.items() if k != "CIRC_ASCENDC_POISON"}
    runs = {}
    for mode, extra in (("release", {}), ("debug", {}), ("release", {"CIRC_ASCENDC_POISON": "1"})):
        proc = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True,
                              env={**env, **extra}, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr
        runs[mode, bool(extra)] = proc.stdout.split()
    assert runs["release", False][0] == "False"
    assert runs["debug", False][0] == "True" and runs["release", True][0] == "True"
    assert len({r[1] for r in runs.values()}) == 1  # bit-identical outputs in every mode
    with pytest.raises(CircError, match="debug must be True or False"):
        cir.load(package, debug="yes")


def test_tampered_and_corrupt_packages(package, tmp_path):
    import shutil

    bad = tmp_path / "bad.circ"
    shutil.copytree(package, bad)
    kernel = next((bad / "kernels").glob("*.cpp"))
    kernel.write_text(kernel.read_text() + "\n// edited\n")
    with pytest.raises(CircError, match="does not match the manifest's sha256"):
        cir.load(bad)
    shutil.rmtree(bad)
    shutil.copytree(package, bad)
    w = bad / "weights.safetensors"
    w.write_bytes(w.read_bytes()[:40])
    with pytest.raises(CircError, match="weights.safetensors"):
        cir.load(bad)
    (bad / "manifest.json").write_text("{not json")
    with pytest.raises(CircError, match="not valid JSON"):
        cir.load(bad)
    with pytest.raises(CircError, match="not a circ package"):
        cir.load(tmp_path)


def test_fp16_package(tmp_path):
    model, args = make_block()
    pkg = cir.compile(model, tmp_path / "fp16.circ", example_inputs=args, soc=SOC, precision="fp16")
    sess = cir.load(pkg)
    assert [t.dtype for t in sess.inputs] == ["f32", "f32"]  # the interface stays fp32
    got = sess.run(feeds(args))
    with torch.no_grad():
        want = [r.numpy() for r in model(*args)]
    for g, w in zip(got.values(), want):
        assert g.dtype == np.float32
        mse = float(np.mean((g.astype(np.float64) - w) ** 2))
        psnr = 10 * np.log10(float(np.abs(w).max()) ** 2 / mse)
        assert psnr > 40, psnr


def test_failed_compile_keeps_the_old_package(package, tmp_path):
    import shutil

    dest = tmp_path / "keep.circ"
    shutil.copytree(package, dest)
    before = (dest / "manifest.json").read_text()

    class Unsupported(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cumprod(x, 0)  # no CIR mapping

    with pytest.raises(CircError, match="no CIR mapping"):
        cir.compile(Unsupported(), dest, example_inputs=(torch.randn(3, 4),), soc=SOC)
    assert (dest / "manifest.json").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    plain = tmp_path / "not_a_package"
    plain.mkdir()
    (plain / "mine.txt").write_text("user data")
    model, args = make_block()
    with pytest.raises(CircError, match="is not a circ package: not replacing it"):
        cir.compile(model, plain, example_inputs=args, soc=SOC)
    assert (plain / "mine.txt").exists()


def circ(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("circ")
    return subprocess.run([str(exe), *argv], capture_output=True, text=True, cwd=cwd, check=False,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_compile_and_run_command_lines(tmp_path):
    model, args = make_block()
    onnx_path = tmp_path / "block.onnx"
    torch.onnx.export(model, args, str(onnx_path), input_names=["x", "t"], output_names=["y", "cat"],
                      dynamo=False)
    out = tmp_path / "block.circ"
    # ATC's spelling of the flags
    r = circ("compile", f"--model={onnx_path}", "--framework=5", f"--output={out}",
             f"--soc_version={SOC}", "--input_shape=x:2,16,5,7;t:2,16")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "kernels for Ascend910B1" in r.stdout
    np.save(tmp_path / "x.npy", args[0].numpy())
    np.save(tmp_path / "t.npy", args[1].numpy())
    trace = tmp_path / "prof" / "trace.json"
    r = circ("run", str(out), "--input", f"x={tmp_path / 'x.npy'}", "--input", f"t={tmp_path / 't.npy'}",
             "--output-dir", str(tmp_path / "o"), "--profile", str(trace))
    assert r.returncode == 0, r.stderr
    with torch.no_grad():
        want = model(*args)
    close(np.load(tmp_path / "o" / "y.npy"), want[0].numpy())
    close(np.load(tmp_path / "o" / "cat.npy"), want[1].numpy())
    events = json.loads(trace.read_text())["traceEvents"]
    slices = [e for e in events if e["ph"] == "X"]
    assert slices and {e["cat"] for e in slices} >= {"cir.group_norm_silu", "cir.concat"}
    assert len({e["tid"] for e in slices}) > 1  # one track per core
    summary = (trace.parent / "op_summary.csv").read_text().splitlines()
    assert summary[0].startswith("Op Name,OP Type,Block Dim,Task Start Time(us),Task Duration(us)")
    assert len(summary) == 1 + len(json.loads((out / "graph" / "launch.json").read_text())["nodes"])

    # user mistakes: one message, non-zero exit, nothing half-written
    r = circ("run", str(out), "--input", f"x={tmp_path / 't.npy'}", "--input", f"t={tmp_path / 't.npy'}",
             "--output-dir", str(tmp_path / "o2"))
    assert r.returncode == 1 and "input 'x' has shape (2, 16), expected (2, 16, 5, 7)" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "o2" / "y.npy").exists()
    for argv, msg in [
        (("compile", str(onnx_path), "-o", str(tmp_path / "x.circ"), "--soc-version", "Ascend999"),
         "invalid choice: 'Ascend999'"),
        (("compile", str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "x.circ")), "no such file"),
        (("compile", str(onnx_path), "-o", str(tmp_path / "x.circ"), "--input-shape", "x:2,a"),
         "'a' is not a dimension"),
        (("compile", str(onnx_path), "-o", str(tmp_path / "x.circ"), "--framework=0"), "Caffe"),
        (("compile", str(onnx_path), "-o", str(tmp_path / "x.circ"), "--fusion", "turbo"),
         "unknown fusion preset 'turbo'"),
        (("run", str(out), "--output-dir", str(tmp_path / "o3"), "--device", "tpu"), "unknown device 'tpu'"),
    ]:
        r = circ(*argv)
        assert r.returncode != 0 and msg in r.stderr, (argv, r.stderr)
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "x.circ").exists()
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07garbage")
    r = circ("compile", str(corrupt), "-o", str(tmp_path / "c.circ"))
    assert r.returncode == 1 and "Traceback" not in r.stderr and not (tmp_path / "c.circ").exists()


def test_weights_file_is_aligned_and_hashed(package):
    import hashlib

    from cir.weights import safetensors_index

    m = json.loads((package / "manifest.json").read_text())
    w = package / "weights.safetensors"
    assert hashlib.sha256(w.read_bytes()).hexdigest() == m["weights"]["sha256"]
    index = safetensors_index(w)
    assert index and all(begin % 64 == 0 for _, _, begin, _ in index.values())
    from safetensors.numpy import load_file  # any safetensors reader reads it

    assert set(index) <= set(load_file(str(w)))
