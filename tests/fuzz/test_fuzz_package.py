"""Fuzzing the package loader and Session.run (issue 14): a package is untrusted input.

- byte mutations of every file of a signed package, not re-signed (an attacker without the
  key): every one must be refused with a CircError, none loaded;
- structure-aware mutations of manifest.json and graph/launch.json, re-hashed and re-signed
  with the trusted key (a careless or hostile trusted signer): the checks of
  runtime/package_check.py must refuse or accept each one cleanly before native code runs;
- random feeds to Session.run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cir.runtime import trust
from harness import expect_clean, mutated
from hypothesis import event, given
from hypothesis import strategies as st

import cir
from cir.errors import CircError

FILES = ["manifest.json", "graph/launch.json", "signature.json", "weights.safetensors"]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("CIRC_HOME", str(home))
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from test_package import SOC, make_block

    model, args = make_block()
    pkg = cir.compile(model, tmp_path_factory.mktemp("pkg") / "block.circ", example_inputs=args, soc=SOC)
    cir.load(pkg).close()  # kernels compiled and cached once
    yield pkg
    mp.undo()


class Copy:
    """A scratch copy of the package for one example."""

    def __init__(self, pkg: Path):
        self.dir = Path(tempfile.mkdtemp(prefix="fuzz-pkg-"))
        self.path = self.dir / "m.circ"
        shutil.copytree(pkg, self.path)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def load_clean(path: Path) -> Any:
    result = expect_clean(cir.load, path)
    if isinstance(result, CircError):
        event("refused: " + str(result).split(": ")[-1][:40])
    else:
        event("loaded")
        result.close()
    return result


@given(st.data())
def test_mutated_unsigned_packages_are_refused(env, data):
    rel = data.draw(st.sampled_from(FILES + ["kernel"]))
    with Copy(env) as pkg:
        path = next((pkg / "kernels").glob("*.cpp")) if rel == "kernel" else pkg / rel
        original = path.read_bytes()
        if rel == "weights.safetensors":  # mutate the header and the first tensors, not 1 MB of zeros
            head = original[:4096]
            new = data.draw(mutated(head)) + original[4096:]
        else:
            new = data.draw(mutated(original))
        path.write_bytes(new)
        result = load_clean(pkg)
        if new != original and rel != "signature.json":
            assert isinstance(result, CircError), f"a modified {rel} was loaded"


# --- structure-aware, re-signed ---------------------------------------------------------

HOSTILE = st.one_of(
    st.sampled_from([0, -1, 1, 7, 2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 62, 2 ** 63, -(2 ** 63), 10 ** 30,
                     0.5, float("nan"), float("inf"), True, None, "", "0", "../x", "/etc/passwd",
                     "a\u0000b", "x" * 5000, "f32", "i64", "ND", "arena", "input", "weight", "constant",
                     [], {}, [1, 2], {"a": 1}]),
    st.integers(), st.text(max_size=20),
    st.lists(st.integers(-5, 1 << 20), max_size=5),
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:6]):
            out += paths(v, (*prefix, i))
    return out


@st.composite
def json_edit(draw: st.DrawFn, doc: Any) -> Any:
    """`doc` with one to three edits at random places: a value replaced by a hostile one, a key
    deleted, a list item duplicated or dropped."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from([p for p in paths(doc) if p]))
        parent = doc
        for k in where[:-1]:
            parent = parent[k]
        key = where[-1]
        action = draw(st.sampled_from(["set", "set", "set", "delete", "dup"]))
        if action == "set":
            parent[key] = draw(HOSTILE)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, list):
            parent.insert(key, parent[key])
        else:
            parent[key] = draw(HOSTILE)
        if not isinstance(doc, dict):
            break
    return doc


def resign(pkg: Path, rel: str) -> None:
    m = json.loads((pkg / "manifest.json").read_text())
    for f in m.get("files", []) if isinstance(m, dict) and isinstance(m.get("files"), list) else []:
        if isinstance(f, dict) and f.get("file") == rel:
            f["sha256"] = hashlib.sha256((pkg / rel).read_bytes()).hexdigest()
    (pkg / "manifest.json").write_text(json.dumps(m))
    trust.sign(pkg)


@given(st.data())
def test_resigned_launch_graph_edits(env, data):
    graph = json.loads((env / "graph" / "launch.json").read_text())
    edited = data.draw(json_edit(graph))
    with Copy(env) as pkg:
        (pkg / "graph" / "launch.json").write_text(json.dumps(edited))
        resign(pkg, "graph/launch.json")
        load_clean(pkg)


@given(st.data())
def test_resigned_manifest_edits(env, data):
    manifest = json.loads((env / "manifest.json").read_text())
    edited = data.draw(json_edit(manifest))
    with Copy(env) as pkg:
        (pkg / "manifest.json").write_text(json.dumps(edited))
        trust.sign(pkg)
        load_clean(pkg)


# --- Session.run --------------------------------------------------------------------------

DTYPES = [np.float32, np.float16, np.float64, np.int64, np.int32, np.int8, np.uint8, np.bool_, np.complex64]


@st.composite
def feed_value(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["array", "array", "list", "scalar", "junk"]))
    if kind == "array":
        shape = draw(st.sampled_from([(2, 16, 5, 7), (2, 16), (), (0,), (1, 2, 3), (2, 16, 5, 8)]))
        return np.zeros(shape, draw(st.sampled_from(DTYPES)))
    if kind == "list":
        return draw(st.recursive(st.one_of(st.integers(-(2 ** 70), 2 ** 70), st.floats(), st.booleans()),
                                 lambda c: st.lists(c, max_size=4), max_leaves=20))
    if kind == "scalar":
        return draw(st.one_of(st.integers(), st.floats(), st.complex_numbers()))
    return draw(st.sampled_from([None, "x", b"\x00", object(), {"a": 1}, [[1], [1, 2]]]))


@given(st.dictionaries(st.sampled_from(["x", "t", "y", ""]), feed_value(), max_size=3))
def test_session_run_random_feeds(env, feeds):
    sess = getattr(test_session_run_random_feeds, "sess", None)
    if sess is None:
        sess = test_session_run_random_feeds.sess = cir.load(env)
    expect_clean(sess.run, feeds)
