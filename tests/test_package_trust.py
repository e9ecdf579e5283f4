"""Packages are untrusted input (issue 14): the trust model and each hostile-package finding.

Every test works on a copy of one small compiled package; CIRC_HOME points at a per-test key
store so signatures and trusted keys are the test's own.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cir.runtime import trust
from test_package import SOC, circ, make_block

import cir
from cir.errors import CircError

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("circ-home")


@pytest.fixture(scope="module")
def package(tmp_path_factory, home) -> Path:
    old = os.environ.get("CIRC_HOME")
    os.environ["CIRC_HOME"] = str(home)
    try:
        model, args = make_block()
        return cir.compile(model, tmp_path_factory.mktemp("pkg") / "block.circ", example_inputs=args, soc=SOC)
    finally:
        if old is None:
            del os.environ["CIRC_HOME"]
        else:
            os.environ["CIRC_HOME"] = old


@pytest.fixture
def pkg(package, home, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CIRC_HOME", str(home))
    copy = tmp_path / "copy.circ"
    shutil.copytree(package, copy)
    return copy


def feeds() -> dict[str, np.ndarray]:
    _, (x, t) = make_block()
    return {"x": x.numpy(), "t": t.numpy()}


def edit_json(pkg: Path, rel: str, change, *, rehash: bool = True, resign: bool = True) -> None:
    """Edit a JSON file of the package; then (as a careful attacker would) fix the manifest's
    sha256 of it and, when `resign`, sign the manifest with the test user's own key."""
    path = pkg / rel
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    if rel != "manifest.json" and rehash:
        m = json.loads((pkg / "manifest.json").read_text())
        for f in m["files"]:
            if f["file"] == rel:
                f["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        (pkg / "manifest.json").write_text(json.dumps(m))
    if resign:
        trust.sign(pkg)


def test_compiled_packages_are_signed_and_run(pkg):
    sig = json.loads((pkg / "signature.json").read_text())
    assert sig["algorithm"] == "ed25519" and len(bytes.fromhex(sig["signature"])) == 64
    sess = cir.load(pkg)
    assert sess.signer == sig["key_id"]
    assert set(sess.run(feeds())) == {"output_0", "output_1"}


def test_unsigned_or_foreign_packages_are_refused(pkg, tmp_path, monkeypatch):
    (pkg / "signature.json").unlink()
    with pytest.raises(CircError, match="the package is not signed; .*circ trust"):
        cir.load(pkg)
    trust.sign(pkg)
    cir.load(pkg).close()
    # another user (another key store) does not trust it until told to
    monkeypatch.setenv("CIRC_HOME", str(tmp_path / "other-user"))
    with pytest.raises(CircError, match=r"signed by key [0-9a-f]{16}, which is not trusted here"):
        cir.load(pkg)
    kid = cir.trust(pkg)  # after review: signed with the other user's key
    assert cir.load(pkg).signer == kid


def test_signer_key_exported_and_added(pkg, tmp_path, home):
    def trust_cli(*argv: str, home_dir: Path) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV_BIN / "circ"), "trust", *argv], check=False, capture_output=True,
                              text=True, env={**os.environ, "CIRC_HOME": str(home_dir)})

    pub = tmp_path / "build.pem"
    r = trust_cli("--export-key", str(pub), home_dir=home)
    assert r.returncode == 0 and pub.is_file(), r.stderr
    deploy = tmp_path / "deploy"
    r = trust_cli("--check", str(pkg), home_dir=deploy)
    assert r.returncode == 0 and "not trusted" in r.stdout
    r = trust_cli("--add-key", str(pub), "--list", home_dir=deploy)
    assert r.returncode == 0 and "trusting packages signed by key" in r.stdout, r.stderr
    r = trust_cli("--check", str(pkg), home_dir=deploy)
    assert "trusted: signed by key" in r.stdout and "not trusted" not in r.stdout
    (tmp_path / "junk.pem").write_text("not a key")
    r = trust_cli("--add-key", str(tmp_path / "junk.pem"), home_dir=deploy)
    assert r.returncode == 1 and "not a public key" in r.stderr and "Traceback" not in r.stderr


def test_edited_kernel_with_updated_hash_is_refused(pkg):
    """Finding: an edited kernel .cpp ran once the manifest's sha256 was updated."""
    k = next((pkg / "kernels").glob("*.cpp"))
    k.write_text(k.read_text() + '\n#include <cstdlib>\nstatic int pwn = std::system("true");\n')
    m = json.loads((pkg / "manifest.json").read_text())
    for e in m["kernels"]:
        if e["file"] == f"kernels/{k.name}":
            e["sha256"] = hashlib.sha256(k.read_bytes()).hexdigest()
    (pkg / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(CircError, match="the signature does not match manifest.json"):
        cir.load(pkg)


@pytest.mark.parametrize("bad, message", [
    ("/etc/passwd", "is not a path inside the package"),
    ("../../../../etc/passwd", "is not a path inside the package"),
    ("kernels/../../outside.cpp", "is not a path inside the package"),
    ("kernels\\x.cpp", "is not a path inside the package"),
    ("kernels/\u0000.cpp", "is not a path inside the package"),
    ("kernels/nope.cpp", "is missing from the package"),
    ("kernels", "is not a regular file"),
    ("link.cpp", "leads outside the package"),
])
def test_manifest_paths_stay_inside_the_package(pkg, tmp_path, bad, message):
    """Finding: manifest paths could be absolute or ../ and were read, compiled and run."""
    outside = tmp_path / "outside.cpp"
    outside.write_text("int x;\n")
    (pkg / "link.cpp").symlink_to(outside)
    edit_json(pkg, "manifest.json", lambda m: m["kernels"][0].__setitem__("file", bad))
    with pytest.raises(CircError, match=message):
        cir.load(pkg)


def test_weights_and_graph_paths_stay_inside(pkg):
    edit_json(pkg, "manifest.json", lambda m: m["weights"].__setitem__("file", "/dev/zero"))
    with pytest.raises(CircError, match="weights.file: '/dev/zero' is not a path inside the package"):
        cir.load(pkg)
    edit_json(pkg, "manifest.json", lambda m: m["graphs"].__setitem__("launch", "../launch.json"))
    with pytest.raises(CircError, match="graphs.launch: '../launch.json' is not a path inside"):
        cir.load(pkg)


def _first_arena_arg(g):
    return next(a for n in g["nodes"] for a in n["args"] if a["kind"] == "arena")


@pytest.mark.parametrize("change, message", [
    # Finding: arena offsets of 2^40 in launch.json segfaulted the process.
    (lambda g: _first_arena_arg(g).__setitem__("offset", 2 ** 40), r"nodes\[\d+\]\.args\[\d+\]\.offset: .* out of range"),
    (lambda g: _first_arena_arg(g).__setitem__("offset", g["arena_bytes"] - 4),
     "overrun the arena buffer"),
    (lambda g: _first_arena_arg(g).__setitem__("offset", -64), "out of range"),
    (lambda g: _first_arena_arg(g).__setitem__("offset", "0"), "expected an integer"),
    (lambda g: g.__setitem__("arena_bytes", 2 ** 60), r"arena_bytes: .* out of range"),
    (lambda g: g["nodes"][0].__setitem__("workspace", 2 ** 60), r"workspace: .* out of range"),
    (lambda g: g["nodes"][0].__setitem__("block_dim", 0), r"block_dim: 0 is out of range"),
    (lambda g: g["nodes"][0].__setitem__("block_dim", 100000), "block_dim: 100000 is out of range"),
    (lambda g: g["nodes"][0].__setitem__("kernel", 'x, 0); system("id"); //'), "expected a kernel name"),
    (lambda g: g["nodes"][0].__setitem__("kernel", "not_in_package"), "is not in the package"),
    (lambda g: g["nodes"][0]["args"].pop(), "takes 6 arguments, the launch passes 3"),
    (lambda g: [n["args"].pop() for n in g["nodes"] if n["kernel"] == g["nodes"][1]["kernel"]],
     "the launch passes"),
    (lambda g: g["nodes"][0]["args"][0].__setitem__("kind", "host"), "unknown argument kind 'host'"),
    (lambda g: g["nodes"][0]["args"][0].update(kind="input", name="x", nbytes=10 ** 6), "overrun the input buffer"),
    (lambda g: g["nodes"][0]["args"][1].update(kind="weight", name="gn.weight", nbytes=4096), "overrun the weight buffer"),
    (lambda g: g["nodes"][0]["args"][1].update(kind="weight", name="nope"), "weight 'nope' is not in the weights file"),
    (lambda g: g["nodes"][0].__setitem__("tiling_hex", "zz"), "expected hex bytes"),
    # the CPU layer's tiling of a kernel: checked like the SoC's, the same struct size
    (lambda g: g["nodes"][0].__setitem__("cpu", {"block_dim": 0, "workspace": 0,
                                                 "tiling_hex": g["nodes"][0]["tiling_hex"]}),
     r"nodes\[0\]\.cpu\.block_dim: 0 is out of range"),
    (lambda g: g["nodes"][0].__setitem__("cpu", {"block_dim": 1, "workspace": 0, "tiling_hex": "00"}),
     r"cpu\.tiling_hex: a tiling of 1 bytes for a kernel whose tiling has \d+"),
    (lambda g: g["nodes"][0].__setitem__("cpu", {"block_dim": 1}), r"cpu: missing 'workspace'"),
    (lambda g: g["constants"][0].__setitem__("hex", "00"), "1 bytes of data for shape"),
    (lambda g: g["outputs"][0].update(offset=g["arena_bytes"]), "overrun the arena buffer"),
    (lambda g: g["outputs"][0].__setitem__("shape", [2, 16, 5, 8]), "differs from the manifest"),
    (lambda g: g.__setitem__("nodes", {"a": 1}), "nodes: expected a list"),
    (lambda g: g.clear(), "missing 'arena_bytes'"),
])
def test_launch_graph_is_checked_before_native_code(pkg, change, message):
    edit_json(pkg, "graph/launch.json", change)
    with pytest.raises(CircError, match=message):
        cir.load(pkg)


def test_launch_graph_hash_and_depth(pkg):
    launch = pkg / "graph" / "launch.json"
    launch.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(CircError, match="launch.json does not match the manifest's sha256"):
        cir.load(pkg)
    edit_json(pkg, "manifest.json", lambda m: [f.__setitem__("sha256", hashlib.sha256(
        launch.read_bytes()).hexdigest()) for f in m["files"] if f["file"] == "graph/launch.json"])
    with pytest.raises(CircError, match="launch.json: not valid JSON"):
        cir.load(pkg)


def _rewrite_weights(pkg: Path, mutate) -> None:
    w = pkg / "weights.safetensors"
    data = bytearray(w.read_bytes())
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    body = mutate(header, data[8 + n:])
    text = json.dumps(header).encode()
    w.write_bytes(len(text).to_bytes(8, "little") + text + body)
    edit_json(pkg, "manifest.json",
              lambda m: m["weights"].__setitem__("sha256", hashlib.sha256(w.read_bytes()).hexdigest()))


@pytest.mark.parametrize("mutate, message", [
    (lambda h, b: (h["gn.weight"].__setitem__("data_offsets", [0, 1 << 40]), b)[1], "lies outside the file"),
    (lambda h, b: (h["gn.weight"].__setitem__("shape", [1 << 20]), b)[1], "has 64 bytes for shape"),
    (lambda h, b: (h["gn.weight"].__setitem__("shape", "16"), b)[1], "malformed shape"),
    (lambda h, b: (h["gn.weight"].__setitem__("data_offsets", None), b)[1], "malformed data_offsets"),
    (lambda h, b: (h["gn.weight"].__setitem__("dtype", "F128"), b)[1], "unsupported dtype"),
    (lambda h, b: (h.pop("gn.weight"), b)[1], "weight 'gn.weight' is not in the weights file"),
])
def test_weights_header_is_checked(pkg, mutate, message):
    _rewrite_weights(pkg, mutate)
    with pytest.raises(CircError, match=message):
        cir.load(pkg)


def test_weights_edited_in_place_are_caught(pkg):
    cir.load(pkg).close()  # hashed once, remembered by file identity
    w = pkg / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))  # same size; ctime moves
    with pytest.raises(CircError, match="weights.safetensors: does not match the manifest's sha256"):
        cir.load(pkg)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.__setitem__("format_version", 1), "unsupported package format version 1"),
    (lambda m: m.__setitem__("soc", "Ascend999"), "Ascend999"),
    (lambda m: m["inputs"][0].__setitem__("dtype", "f128"), "unknown dtype 'f128'"),
    (lambda m: m["inputs"][0].__setitem__("shape", [-1]), "out of range"),
    (lambda m: m["inputs"].append(dict(m["inputs"][0])), "input 'x' appears twice"),
    (lambda m: m["kernels"][0].__setitem__("name", "a;b"), "expected a C identifier"),
    (lambda m: m["kernels"][0].__setitem__("sha256", "x"), "expected a sha256"),
    (lambda m: m.pop("files"), "missing 'files'"),
    (lambda m: m.__setitem__("inputs", "x"), "inputs: expected a list"),
])
def test_manifest_fields_are_checked(pkg, change, message):
    edit_json(pkg, "manifest.json", change)
    with pytest.raises(CircError, match=message):
        cir.load(pkg)


def test_session_inputs_are_strict(pkg):
    """Finding: Session.run silently accepted float16/float64 arrays for f32 inputs."""
    sess = cir.load(pkg)
    good = feeds()
    for dtype in (np.float16, np.float64, np.int32):
        with pytest.raises(CircError, match=f"input 'x' has dtype {np.dtype(dtype)}, expected float32"):
            sess.run({**good, "x": good["x"].astype(dtype)})
    lists = sess.run({"x": good["x"].tolist(), "t": good["t"].tolist()})  # plain Python numbers: converted
    np.testing.assert_array_equal(lists["output_1"], sess.run(good)["output_1"])
    for bad, message in [([[1, 2], [3]], "not a rectangular array"), ("abc", "holds str"),
                         (None, "holds object"), ({"a": 1}, "holds object")]:
        with pytest.raises(CircError, match=message):
            sess.run({**good, "x": bad})


@pytest.mark.parametrize("args, message", [
    ((None,), "must be a path"), ((b"x.circ",), "must be a path"), (("x\0.circ",), "holds a NUL byte"),
    (("x.circ",), "no such package"), ((".", 5), "device must be"),
])
def test_load_arguments(args, message):
    with pytest.raises(CircError, match=message):
        cir.load(*args)
    with pytest.raises(CircError, match="max_in_flight must be a positive integer"):
        cir.load("x.circ", max_in_flight="2")


def test_killed_compile_leaves_nothing_behind(tmp_path):
    """Finding: kill -9 during compile left the temporary package folder behind; a kill between
    the two renames of a recompile could lose the old package."""
    script = tmp_path / "slow_compile.py"
    script.write_text(f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).parent)!r})
import cir.app.package as P
from test_package import make_block, SOC
real = P._replace_dir
def slow(new, dest):
    print("writing", flush=True)
    time.sleep(60)
P._replace_dir = slow
m, a = make_block()
P.compile(m, {str(tmp_path / 'm.circ')!r}, example_inputs=a, soc=SOC)
""")
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "writing"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert [x.name for x in tmp_path.glob(".m.circ.tmp-*")]  # what the kill left
    # a previous package moved aside by a killed recompile
    old = tmp_path / f".m.circ.old-{2 ** 22 + 7}-abc"
    old.mkdir()
    (old / "manifest.json").write_text("{}")
    from cir.app.package import recover_interrupted

    recover_interrupted(tmp_path / "m.circ")
    assert not list(tmp_path.glob(".m.circ.*")) and (tmp_path / "m.circ" / "manifest.json").is_file()



def test_run_command_line_mistakes(pkg, tmp_path):
    """Findings: --output-dir naming a file, malformed .npy headers, --profile naming a
    directory (which also left a temporary file behind) ended in internal errors."""
    x, t = tmp_path / "x.npy", tmp_path / "t.npy"
    np.save(x, feeds()["x"])
    np.save(t, feeds()["t"])
    ins = ["--input", f"x={x}", "--input", f"t={t}"]
    afile = tmp_path / "afile"
    afile.write_text("")
    adir = tmp_path / "adir"
    adir.mkdir()
    header = x.read_bytes()
    bad_npy = {
        "tokens.npy": header[:10] + b"{'descr': <f4".ljust(len(header[10:128]) - 1) + b"\n" + header[128:],
        "object.npy": header.replace(b"'<f4'", b"'|O' "),
        "struct.npy": header.replace(b"'<f4'", b"[('a','<f4')]"),
        "short.npy": header[:-8],
        "neg.npy": header.replace(b"(2, 16, 5, 7)", b"(-2, 16, 5, 7)"),
    }
    for name, data in bad_npy.items():
        (tmp_path / name).write_bytes(data)
    cases = [
        (["--output-dir", str(afile), *ins], "--output-dir .*afile: is a file, not a directory"),
        (["--output-dir", str(afile / "sub"), *ins], "afile is a file, not a directory"),
        (["--output-dir", str(tmp_path / "o"), "--profile", str(adir), *ins], "--profile .*adir: is a directory"),
        (["--output-dir", str(tmp_path / "o"), "--input", f"x={adir}", "--input", f"t={t}"], "is a directory"),
        *[(["--output-dir", str(tmp_path / "o"), "--input", f"x={tmp_path / n}", "--input", f"t={t}"],
           f"input 'x': .*{n}: ") for n in bad_npy],
    ]
    for argv, message in cases:
        r = circ("run", str(pkg), *argv)
        assert r.returncode == 1 and "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and __import__("re").search(message, lines[0]), (argv, r.stderr)
    assert not (tmp_path / "o").exists() and not list(adir.iterdir())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
