"""`circ report` / `cir.report`: a package compared op by op with its PyTorch model; the page
is checked in headless Chromium (Debian's `chromium`, installed by `make setup`)."""

from __future__ import annotations

import copy
import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import cir
from cir.errors import CircError

BIN = Path(sys.executable).parent
SOC = "Ascend910B1"


class ConvBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, 3, padding=1)
        self.norm = nn.GroupNorm(2, 8)
        self.act = nn.SiLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.act(self.norm(self.conv1(x))))


class MlpBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.ln = nn.LayerNorm(32)
        self.fc2 = nn.Linear(32, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.nn.functional.gelu(self.ln(self.fc1(x))))


MODELS = {"conv": (ConvBlock, (1, 4, 8, 8)), "mlp": (MlpBlock, (2, 16))}


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[nn.Module, Path]]:
    root = tmp_path_factory.mktemp("report")
    out = {}
    for name, (cls, shape) in MODELS.items():
        torch.manual_seed(0)
        model = cls().eval()
        pkg = cir.compile(model, root / f"{name}.circ", example_inputs=(torch.randn(shape),), soc=SOC)
        out[name] = (model, pkg)
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("name", list(MODELS))
def test_report_matches_torch(packages, tmp_path, name):
    model, pkg = packages[name]
    c = cir.report(pkg, model, output=tmp_path / "report.html")
    rows = read_csv(tmp_path / "report.csv")
    compared = [r for r in rows if r["status"] == "compared"]
    assert compared, rows
    assert all(float(r["cosine"]) > 0.9999 for r in compared), compared
    assert not any(r["diverges"] == "yes" for r in rows)
    assert all(float(r["interp_cosine"]) > 0.9999 for r in rows if r["interp_cosine"])
    assert c.first_divergent is None and c.verdict == "PASS"
    assert all(o.psnr > 80 for o in c.outputs)
    if name == "conv":  # conv1 and act are the fused op's two results; norm is inside it
        by_op = {r["framework_op"]: r for r in rows}
        assert by_op["conv1"]["cir_op"] == by_op["act"]["cir_op"] == "cir.conv_gn_silu"
        assert by_op["conv1"]["cir_value"] != by_op["act"]["cir_value"]
        assert by_op["norm"]["status"] == "skipped" and "not materialised" in by_op["norm"]["note"]
        assert {"conv1", "act", "conv2"} <= {r["framework_op"] for r in compared}
    else:
        assert {r["framework_op"] for r in compared} == {"fc1", "ln", "fc2"}
        assert any(r["status"] == "cir-only" and r["cir_op"] == "cir.gelu" for r in rows)


def test_report_names_the_first_divergent_op(packages, tmp_path):
    model, pkg = packages["conv"]
    wrong = copy.deepcopy(model)
    with torch.no_grad():
        wrong.conv2.weight.add_(0.05)
    c = cir.report(pkg, wrong, output=tmp_path / "report.html")
    assert c.first_divergent is not None and c.first_divergent.framework_op == "conv2"
    assert c.verdict.startswith("FAIL") and "conv2" in c.verdict
    rows = {r["framework_op"]: r for r in read_csv(tmp_path / "report.csv")}
    assert rows["conv1"]["diverges"] == "no" and rows["conv2"]["diverges"] == "yes"
    assert "conv2" in (tmp_path / "report.html").read_text()


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium is not installed (make setup installs it as root)")
    return exe


def render_in_chromium(page: Path, tmp_path: Path) -> tuple[str, str]:
    """(DOM after scripts ran, Chromium's log with console messages)."""
    proc = subprocess.run(
        [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
         f"--user-data-dir={tmp_path / 'chrome-profile'}", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=2000", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def test_report_page_renders_in_chromium(packages, tmp_path):
    model, pkg = packages["conv"]
    page = tmp_path / "report.html"
    cir.report(pkg, model, output=page)
    text = page.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), "the page loads something"
    dom, log = render_in_chromium(page, tmp_path)
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert not console, console
    assert "<title>circ report: test_report.ConvBlock</title>" in dom
    assert 'data-ready="1"' in dom  # the inline script ran to the end
    body = dom.split('id="ops"', 1)[1].split("</table>", 1)[0]
    assert len(re.findall(r"<tr[ >]", body)) >= 4 + 1  # header + conv1, norm, act, conv2
    charts = re.findall(r'<svg class="chart".*?</svg>', dom, re.DOTALL)
    assert len(charts) == 4, len(charts)  # cosine, error, memory plan, cost per SoC
    assert all(len(re.findall(r'<circle class="pt"', s)) >= 3 for s in charts[:2])
    assert len(re.findall(r'<rect class="buf"', charts[2])) == 3
    from cir.soc import socs

    assert len(re.findall(r'<rect class="bar"', charts[3])) == len(socs())  # every SoC of socs.toml
    assert 'id="verdict">PASS<' in dom and "cir.conv_gn_silu" in dom.split('id="fusion"')[1]


def tool(*args: str | Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "circ"), *map(str, args)], capture_output=True, text=True, timeout=300, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_circ_report_cli(packages, tmp_path):
    model, pkg = packages["mlp"]
    pt2 = tmp_path / "mlp.pt2"
    torch.export.save(torch.export.export(model, (torch.randn(2, 16),)), pt2)
    x = tmp_path / "x.npy"
    np.save(x, np.random.default_rng(3).standard_normal((2, 16)).astype(np.float32))
    out = tmp_path / "r" / "mlp.html"
    proc = tool("report", pkg, "--reference", pt2, "--input", f"x={x}", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "verdict: PASS" in proc.stdout and out.is_file() and out.with_suffix(".csv").is_file()
    assert {r["framework_op"] for r in read_csv(out.with_suffix(".csv")) if r["status"] == "compared"} == \
        {"fc1", "ln", "fc2"}


def test_circ_report_bad_input(packages, tmp_path):
    _, pkg = packages["mlp"]
    out = tmp_path / "bad.html"
    proc = tool("report", tmp_path, "--reference", tmp_path, "-o", out)  # not a package
    assert proc.returncode == 1 and proc.stderr.count("error:") == 1 and "not a circ package" in proc.stderr
    pt2 = tmp_path / "other.pt2"
    other = nn.Linear(16, 8).eval()
    torch.export.save(torch.export.export(other, (torch.randn(2, 16),)), pt2)
    proc = tool("report", pkg, "--reference", pt2, "-o", out)  # a reference that does not fit
    assert proc.returncode == 1 and "does not match the package" in proc.stderr, proc.stderr
    proc = tool("report", pkg, "--reference", pt2, "--input", "y=nothing.npy", "-o", out)
    assert proc.returncode == 1 and "nothing.npy" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.pt2"]  # nothing half written
    with pytest.raises(CircError, match="cannot run on the package's inputs"):
        cir.report(pkg, nn.Linear(8, 8), output=tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "x.csv").exists()
