"""The real console scripts, run in a subprocess: results, exit codes, messages, no tracebacks,
no partial outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

BIN = Path(sys.executable).parent

BLOCK = """\
func.func @main(%x: tensor<1x4x6x6xf32>, %w: tensor<8x4x3x3xf32>, %b: tensor<8xf32>)
    -> (tensor<1x8x6x6xf32> {cir.name = "y"}, tensor<1x8x6x6xf32>) {
  %c = cir.conv2d %x, %w, %b {pads = [1, 1, 1, 1]} : (tensor<1x4x6x6xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x6x6xf32>
  %g = cir.group_norm %c {num_groups = 2} : tensor<1x8x6x6xf32>
  %s = cir.silu %g : tensor<1x8x6x6xf32>
  func.return %s, %c : tensor<1x8x6x6xf32>, tensor<1x8x6x6xf32>
}
"""


def tool(name: str, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    # a hang guard, not a timing: the demo compiles three packages' kernels on a cold cache
    proc = subprocess.run(
        [str(BIN / name), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def block(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(7)
    files = {"model": tmp_path / "block.mlir"}
    files["model"].write_text(BLOCK)
    for name, shape in {"x": (1, 4, 6, 6), "w": (8, 4, 3, 3), "b": (8,)}.items():
        files[name] = tmp_path / f"{name}.npy"
        np.save(files[name], rng.standard_normal(shape).astype(np.float32))
    return files


def run_args(f: dict[str, Path], out: Path) -> list[str | Path]:
    return ["run", f["model"], "--input", f"x={f['x']}", "--input", f"w={f['w']}",
            "--input", f"b={f['b']}", "--output-dir", out]


def test_version():
    proc = tool("circ", "--version")
    assert proc.returncode == 0 and proc.stdout.startswith("circ 0.")
    proc = tool("circ-opt", "--version")
    assert proc.returncode == 0 and "circ-opt" in proc.stdout


def test_run_matches_torch(block, tmp_path):
    out = tmp_path / "out"
    proc = tool("circ", *run_args(block, out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["output_1.npy", "y.npy"]
    x, w, b = (torch.from_numpy(np.load(block[k])) for k in "xwb")
    conv = F.conv2d(x, w, b, padding=1)
    want = F.silu(F.group_norm(conv, 2)).numpy()
    np.testing.assert_allclose(np.load(out / "y.npy"), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.load(out / "output_1.npy"), conv.numpy(), rtol=1e-4, atol=1e-4)


def _assert_clean_failure(proc, *fragments: str, code: int = 1) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    err = proc.stderr.strip()
    for frag in fragments:
        assert frag in err, err


@pytest.mark.parametrize(
    "mutate,fragments",
    [
        (lambda f: f["x"].unlink(), ["input 'x'", "no such file"]),
        (lambda f: np.save(f["x"], np.zeros((1, 4, 6, 5), np.float32)),
         ["input 'x' has shape (1, 4, 6, 5), expected (1, 4, 6, 6)"]),
        (lambda f: np.save(f["x"], np.zeros((1, 4, 6, 6), np.int32)),
         ["input 'x' has dtype int32, expected f32"]),
        (lambda f: np.save(f["x"], np.array([{"evil": 1}], dtype=object)),
         ["input 'x'", "holds object values; circ takes plain numeric arrays"]),
        (lambda f: f["x"].write_bytes(b"garbage"), ["input 'x'", "not a .npy file"]),
        (lambda f: f["model"].write_text(BLOCK.replace("cir.silu", "cir.swish")),
         ["block.mlir:5:", "cir.swish is not registered"]),
        (lambda f: f["model"].write_text(BLOCK.replace("num_groups = 2", "num_groups = 3")),
         ["'cir.group_norm' at ", "block.mlir:4:3", "channels 8 are not divisible by num_groups 3"]),
        (lambda f: f["model"].write_text(BLOCK.replace("%x, %w, %b {", "%x, %w, %b, {")),
         ["block.mlir:3:"]),
    ],
    ids=["missing-file", "bad-shape", "bad-dtype", "pickle", "corrupt-npy", "unknown-op",
         "verifier", "malformed"],
)
def test_run_bad_input(block, tmp_path, mutate, fragments):
    mutate(block)
    out = tmp_path / "out"
    proc = tool("circ", *run_args(block, out))
    _assert_clean_failure(proc, "circ: error:", *fragments)
    assert not out.exists() or not any(out.iterdir()), "no partial output on failure"


def test_run_missing_and_unknown_inputs(block, tmp_path):
    out = tmp_path / "out"
    args = run_args(block, out)
    args[args.index(f"x={block['x']}")] = f"sample={block['x']}"
    proc = tool("circ", *args)
    _assert_clean_failure(proc, "missing input(s) 'x'", "unknown input(s) 'sample'")
    assert not out.exists() or not any(out.iterdir())


def test_run_weights_from_safetensors(tmp_path):
    from safetensors.numpy import save_file

    (tmp_path / "m.mlir").write_text(
        'builtin.module attributes {cir.weights = "m.safetensors"} {\n'
        "func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {\n"
        '  %w = cir.weight "bias" : tensor<3xf32>\n'
        "  %y = cir.add %x, %w : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>\n"
        "  func.return %y : tensor<3xf32>\n}\n}\n"
    )
    np.save(tmp_path / "x.npy", np.array([1, 2, 3], np.float32))
    out = tmp_path / "out"
    proc = tool("circ", "run", tmp_path / "m.mlir", "--input", f"x={tmp_path / 'x.npy'}",
                "--output-dir", out)
    _assert_clean_failure(proc, "m.safetensors' does not exist")
    save_file({"bias": np.array([10, 20, 30], np.float32)}, str(tmp_path / "m.safetensors"))
    proc = tool("circ", "run", "m.mlir", "--input", "x=x.npy", "--output-dir", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(out / "output_0.npy"), [11, 22, 33])


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["run"], "the following arguments are required"),
        (["run", "m.mlir", "--output-dir", "o", "--input", "x"], "--input expects NAME=FILE.npy"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["run", "m.mlir", "--output-dir", "o", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_usage_errors_exit_2(args, fragment):
    _assert_clean_failure(tool("circ", *args), fragment, code=2)


def test_circ_opt_pipeline_and_print_ir_after_all(block):
    proc = tool("circ-opt", block["model"], "-p", "cse,dce", "--print-ir-after-all")
    assert proc.returncode == 0, proc.stderr
    assert "// -----// IR Dump After cse //----- //" in proc.stderr
    assert "// -----// IR Dump After dce //----- //" in proc.stderr
    assert "cir.group_norm %c {num_groups = 2}" in proc.stdout


@pytest.mark.parametrize(
    "pipeline,fragment",
    [
        ("cse{", "bad pass pipeline 'cse{'"),
        ("cse,nonsense", "Unrecognized passes: ['nonsense'] (available: "),
        ("cse{bogus=1}", "bad pass pipeline 'cse{bogus=1}'"),
        ("cse,,dce", "bad pass pipeline"),
    ],
)
def test_circ_opt_bad_pipeline(block, tmp_path, pipeline, fragment):
    out = tmp_path / "o.mlir"
    proc = tool("circ-opt", block["model"], "-p", pipeline, "-o", out)
    _assert_clean_failure(proc, "circ-opt: error:", fragment)
    assert not out.exists()


def test_circ_opt_failure_leaves_existing_output_untouched(block, tmp_path):
    out = tmp_path / "o.mlir"
    out.write_text("previous")
    block["model"].write_text(BLOCK.replace("num_groups = 2", "num_groups = 3"))
    proc = tool("circ-opt", block["model"], "-o", out)
    _assert_clean_failure(proc, "'cir.group_norm' at ", "not divisible by num_groups 3")
    assert out.read_text() == "previous"
    block["model"].write_text(BLOCK)
    assert tool("circ-opt", block["model"], "-o", out).returncode == 0
    assert "cir.silu" in out.read_text()


def test_circ_opt_missing_file():
    _assert_clean_failure(tool("circ-opt", "/nonexistent/m.mlir"), "no such file")


def test_demo(tmp_path):
    """`make demo`: the SD block from all three frameworks compiled, run and compared."""
    proc = tool("circ", "demo", "--output-dir", tmp_path / "demo")
    assert proc.returncode == 0, proc.stderr
    assert "demo: OK" in proc.stdout
    for fw in ("pytorch", "tensorflow", "mindspore"):
        assert f"vs {fw}: max relative error" in proc.stdout
        assert (tmp_path / "demo" / f"sd_block_{fw}.circ" / "manifest.json").is_file()
    assert (tmp_path / "demo" / "report.html").is_file()
    bad = tool("circ", "demo", "--framework", "caffe")
    _assert_clean_failure(bad, "invalid choice: 'caffe'", code=2)
