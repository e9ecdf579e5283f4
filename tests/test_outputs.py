"""Output destinations are checked before any work (issue 14): a file where a folder goes, a
folder where a file goes, an unwritable place — one clean line, nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from test_package import SOC, circ, make_block

import cir
from cir.errors import CircError


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory) -> Path:
    model, args = make_block()
    path = tmp_path_factory.mktemp("m") / "block.onnx"
    torch.onnx.export(model, args, str(path), input_names=["x", "t"], dynamo=False)
    return path



def test_bad_destinations_on_the_command_line(onnx_model, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    adir = tmp_path / "adir"
    adir.mkdir()
    cases = [
        (("compile", str(onnx_model), "-o", str(afile / "x.circ")), "afile is a file, not a directory"),
        (("compile", str(onnx_model), "-o", str(afile)), "afile: is a file, not a directory"),
        (("compile", str(onnx_model), "-o", str(adir)), "exists and is not a circ package"),
        (("compile", str(onnx_model), "-o", "/proc/x.circ"), "cannot write in /proc"),
        (("import", str(onnx_model), "-o", str(afile / "x.mlir")), "afile is a file, not a directory"),
        (("import", str(onnx_model), "-o", str(adir)), "is a directory; name the file to write"),
    ]
    for argv, message in cases:
        r = circ(*argv)
        assert r.returncode == 1 and "Traceback" not in r.stderr, (argv, r.stderr)
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("circ: error:")]
        assert len(errors) == 1 and message in errors[0], (argv, r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile"]
    assert not list(adir.iterdir())


def test_bad_destinations_in_python(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("")
    model, args = make_block()
    with pytest.raises(CircError, match="afile is a file, not a directory"):
        cir.compile(model, afile / "m.circ", example_inputs=args, soc=SOC)
    with pytest.raises(CircError, match="expected a path, got int"):
        cir.compile(model, 3, example_inputs=args, soc=SOC)  # type: ignore[arg-type]
    m = cir.parse_text('func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {\n'
                       '  %y = cir.relu %x : tensor<2xf32>\n  func.return %y : tensor<2xf32>\n}\n')
    with pytest.raises(CircError, match="is a directory"):
        cir.save_module(m, tmp_path)
