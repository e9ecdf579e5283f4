"""The host fallback: an op CIR expresses but no AscendC kernel covers yet still compiles, runs
on the host CPU inside the launch graph, and is listed as such (never silently) by
cir.compile (a HostFallbackWarning), `circ compile` (a note), the manifest (`host_ops`) and
the report. With host_fallback=False / --no-host-fallback it is an error naming the ops.

cir.scatter_elements (torch.scatter) is the op used: it has no kernel family yet. The model mixes it with kernel ops so
host nodes read and write the same arena buffers as kernels. Tolerance: 1e-5 x max|ref| (the
host node is the reference interpreter's kernel; the kernels around it are elementwise).
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import cir
from cir.errors import CircError, HostFallbackWarning
from tests.test_package import circ
from tests.test_package_trust import edit_json

SOC = "Ascend910B1"


IDX = torch.tensor([[[0], [2], [1], [5], [3], [3]]])


class CumModel(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(torch.scatter(x * 2.0, 1, IDX.expand(2, 6, 40), x)) + x


def make() -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    return CumModel().eval(), torch.randn(2, 6, 40)


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    model, x = make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pkg = cir.compile(model, tmp_path_factory.mktemp("host") / "cum.circ", example_inputs=(x,), soc=SOC)
    notes = [str(w.message) for w in caught if issubclass(w.category, HostFallbackWarning)]
    assert len(notes) == 1 and "cir.scatter_elements x1" in notes[0] and "test_host_fallback.py" in notes[0], notes
    return pkg


def test_listed_and_run_on_the_host(package):
    m = json.loads((package / "manifest.json").read_text())
    assert [(h["op"], h["count"]) for h in m["host_ops"]] == [("cir.scatter_elements", 1)]
    assert "no AscendC kernel yet" in m["host_ops"][0]["reason"]
    graph = json.loads((package / "graph" / "launch.json").read_text())
    engines = [(n.get("engine", "aicore"), n["op"]) for n in graph["nodes"]]
    assert ("host", "cir.scatter_elements") in engines and any(e == "aicore" for e, _ in engines)
    assert not any(k["name"].startswith("scatter_elements") for k in m["kernels"])  # no AscendC source for it

    model, x = make()
    sess = cir.load(package)
    profile: list = []
    capture: dict = {}
    got = sess.run({"x": x.numpy()}, profile=profile, capture=capture)["output_0"]
    want = model(x).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * float(np.abs(want).max()))
    assert len(profile) == len(graph["nodes"])  # the host node is timed like a launch
    host_value = next(a["value"] for n in graph["nodes"] if n.get("engine") == "host"
                      for a in n["args"] if a["role"] == "out")
    np.testing.assert_allclose(capture[host_value], torch.scatter(x * 2.0, 1, IDX.expand(2, 6, 40), x).numpy(), rtol=1e-5, atol=1e-5)
    # several requests at once: each context has its own arena for the host node to use
    futures = [sess.run_async({"x": (x * k).numpy()}) for k in (1.0, -1.0, 0.5)]
    for k, fut in zip((1.0, -1.0, 0.5), futures, strict=True):
        np.testing.assert_allclose(fut.result()["output_0"], model(x * k).detach().numpy(), rtol=0, atol=1e-4)


def test_refused_when_disabled(tmp_path):
    model, x = make()
    with pytest.raises(CircError, match=r"no kernel yet for 1 kind\(s\) of op:\n  cir.scatter_elements x1, first at .*test_host_fallback.py"):
        cir.compile(model, tmp_path / "no.circ", example_inputs=(x,), soc=SOC, host_fallback=False)
    assert not (tmp_path / "no.circ").exists()


def test_command_line_note_and_flag(tmp_path):
    model, x = make()
    prog = torch.export.export(model, (x,))
    torch.export.save(prog, tmp_path / "cum.pt2")
    r = circ("compile", str(tmp_path / "cum.pt2"), "-o", str(tmp_path / "cum.circ"), "--soc-version", SOC)
    assert r.returncode == 0, r.stderr
    assert "note: 1 op(s) run on the host fallback (no AscendC kernel yet): cir.scatter_elements x1" in r.stdout
    r = circ("compile", str(tmp_path / "cum.pt2"), "-o", str(tmp_path / "strict.circ"), "--soc-version", SOC,
             "--no-host-fallback")
    assert r.returncode == 1 and "error: lower-to-ascendc: no kernel yet" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "strict.circ").exists()


def test_report_names_host_ops(package, tmp_path):
    model, _ = make()
    page = tmp_path / "report.html"
    c = cir.report(package, model, output=page)
    assert c.verdict == "PASS"
    html = page.read_text()
    assert "host fallback" in html and "cir.scatter_elements x1" in html and "host-fallback" in html
    assert any(r.kernels == "host-fallback" and r.cir_op == "cir.scatter_elements" for r in c.rows)


@pytest.mark.parametrize("edit, message", [
    (lambda n: n.__setitem__("ir", "builtin.module {"), r"node \d+\.ir:1:\d+"),
    (lambda n: n.__setitem__("ir", n["ir"].replace("cir.scatter_elements", "func.call @host")),
     r"must be one CIR op|@host"),
    (lambda n: n.__setitem__("ir", n["ir"].replace("2x6x40x", "2x6x41x")), r"bound to a buffer of another shape"),
    (lambda n: n.__setitem__("args", n["args"][:1]), r"binds 1 buffers"),
    (lambda n: n.__setitem__("ir", "x" * 70000), r"at most 65536 characters"),
    (lambda n: n.__setitem__("engine", "aicpu"), r'unknown engine "aicpu"'),
])
def test_edited_host_nodes_are_refused(package, tmp_path, edit, message):
    pkg = tmp_path / "edited.circ"
    shutil.copytree(package, pkg)
    # re-hashed and re-signed by a trusted key: the runtime must still check the node itself
    edit_json(pkg, "graph/launch.json", lambda g: edit(next(n for n in g["nodes"] if n.get("engine") == "host")))
    with pytest.raises(CircError, match=message):
        cir.load(pkg)
