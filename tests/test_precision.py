"""ATC's precision modes and command-line flags in `circ compile` (issue 16, precision part).

Tolerances: reduced-precision packages are judged by PSNR against the fp32 framework output
(> 30 dB, as the fp16 packages of test_end_to_end.py: fp16 keeps ~3 significant digits per
op); the mixed modes keep norms, softmax and exp-like ops in fp32, so they must do at least as
well as that bound.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from test_end_to_end import psnr
from test_package import SOC, circ, make_block
from torch import nn

import cir
from cir.errors import CircError


def ops_by_type(pkg: Path) -> dict[str, set[str]]:
    """CIR op name -> the float element types of its results, from the package's lowered IR."""
    out: dict[str, set[str]] = {}
    for line in (pkg / "model.mlir").read_text().splitlines():
        m = re.search(r"= (cir\.[a-z_0-9]+) .*-> .*tensor<[0-9x]*(f16|f32)", line) or \
            re.search(r"= (cir\.[a-z_0-9]+) [^(]*: tensor<[0-9x]*(f16|f32)", line)
        if m:
            out.setdefault(m.group(1), set()).add(m.group(2))
    return out


@pytest.fixture(scope="module")
def tiny_unet():
    from diffusers import UNet2DConditionModel

    from examples.diffusers_models import TINY_UNET

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**TINY_UNET).eval()
    args = (torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 7, 32))
    with torch.no_grad():
        ref = unet(*args).sample.numpy()
    return unet, args, ref


@pytest.mark.parametrize("mode", ["mixed_float16", "allow_fp32_to_fp16"])
def test_tiny_unet_in_reduced_modes(tiny_unet, tmp_path, mode):
    unet, args, ref = tiny_unet
    pkg = cir.compile(unet, tmp_path / f"{mode}.circ", example_inputs=args, soc=SOC, precision=mode)
    feeds = dict(zip(["sample", "timestep", "encoder_hidden_states"], (a.numpy() for a in args)))
    with cir.load(pkg) as sess:
        out = sess.run(feeds)["sample"]
    assert out.dtype == np.float32 and psnr(out, ref) > 30
    types = ops_by_type(pkg)
    assert "f16" in set().union(*types.values()) and "f32" in set().union(*types.values())
    assert types["cir.conv2d"] == {"f16"}  # a cube op: reduced in both modes
    norms = {k: v for k, v in types.items() if "norm" in k}
    assert norms and all(v == {"f32"} for v in norms.values())  # black (mixed) / vector (cube mode)
    m = json.loads((pkg / "manifest.json").read_text())
    assert m["precision"] == mode and m["reduced_to"] == "f16"


def test_keep_dtype_and_modify_mixlist(tiny_unet, tmp_path):
    unet, args, _ = tiny_unet
    keep = tmp_path / "keep.txt"
    keep.write_text("# keep every convolution in fp32\nOpType::Conv2D\n")
    pkg = cir.compile(unet, tmp_path / "keep.circ", example_inputs=args, soc=SOC,
                      precision="allow_fp32_to_fp16", keep_dtype=keep)
    assert ops_by_type(pkg)["cir.conv2d"] == {"f32"}
    mixlist = tmp_path / "mix.json"
    mixlist.write_text(json.dumps({"black-list": {"to-add": ["Conv2D"]},
                                   "white-list": {"to-add": ["GroupNorm", "GroupNormSilu"]}}))
    pkg = cir.compile(unet, tmp_path / "mix.circ", example_inputs=args, soc=SOC,
                      precision="mixed_float16", mixlist=mixlist)
    types = ops_by_type(pkg)
    assert types["cir.conv2d"] == {"f32"} and types["cir.group_norm_silu"] == {"f16"}


def test_bad_precision_options(tmp_path):
    model, args = make_block()
    for kw, message in [
        ({"precision": "fp8"}, "precision must be fp32, fp16 or an ATC precision mode"),
        ({"precision": "mixed_bfloat16"}, "no bf16 forms yet"),
        ({"precision": "fp16", "mixlist": tmp_path / "m.json"}, "no such file"),
        ({"precision": "fp32", "keep_dtype": __file__}, "have no effect with precision 'fp32'"),
    ]:
        with pytest.raises(CircError, match=message):
            cir.compile(model, tmp_path / "x.circ", example_inputs=args, soc=SOC, **kw)
    (tmp_path / "m.json").write_text('{"white-list": {"to-remove": ["Conv2D"]}}')
    with pytest.raises(CircError, match="applies to the mixed precision modes, not to 'force_fp16'"):
        cir.compile(model, tmp_path / "x.circ", example_inputs=args, soc=SOC, precision="force_fp16",
                    mixlist=tmp_path / "m.json")
    assert not (tmp_path / "x.circ").exists()


class Spiky(nn.Module):
    """exp of a linear layer's output: fine in fp32, past fp16's 65504 when forced."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(16, 16)
        self.ln = nn.LayerNorm(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(torch.exp(self.fc(x) * 12.0))


def test_report_names_the_first_fp16_overflow(tmp_path):
    model = Spiky().eval()
    x = torch.randn(4, 16)
    feeds = {"x": x.numpy()}
    forced = cir.compile(model, tmp_path / "forced.circ", example_inputs=(x,), soc=SOC, precision="force_fp16")
    c = cir.report(forced, model, inputs=feeds, output=tmp_path / "forced.html")
    assert c.overflow is not None and c.overflow.op.name == "cir.exp" and c.overflow.dtype == "fp16"
    assert "fp16 overflow first in cir.exp" in c.verdict and c.verdict.startswith("FAIL")
    page = (tmp_path / "forced.html").read_text()
    assert "fp16/bf16 overflow" in page and "overflow first in cir.exp" in page
    # mixed precision keeps exp (black) and the norm in fp32: no overflow
    mixed = cir.compile(model, tmp_path / "mixed.circ", example_inputs=(x,), soc=SOC, precision="mixed_float16")
    c = cir.report(mixed, model, inputs=feeds, output=tmp_path / "mixed.html")
    assert c.overflow is None and "overflow" not in c.verdict



def test_atc_command_lines(tmp_path):
    """A deployment guide's ATC command line compiles as written; unsupported flags get one
    line; --mode 1 shows a package; --out_nodes picks an inner node's output."""
    model, args = make_block()
    onnx_path = tmp_path / "block.onnx"
    torch.onnx.export(model, args, str(onnx_path), input_names=["x", "t"], dynamo=False)
    out = tmp_path / "block.circ"
    r = circ("compile", f"--model={onnx_path}", "--framework=5", f"--output={out}", "--input_format=NCHW",
             "--input_shape=x:2,16,5,7;t:2,16", f"--soc_version={SOC}", "--log=error",
             "--precision_mode=force_fp16", "--op_select_implmode=high_performance",
             "--optypelist_for_implmode=Sigmoid")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == "", r.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["precision"] == "force_fp16" and m["op_select_implmode"] == "high_performance"
    assert [t["format"] for t in m["inputs"]] == ["NCHW", "ND"]  # 4-D inputs take the format
    # ATC's other spellings: single dash, dashes inside, value as the next word
    r = circ("compile", "-model", str(onnx_path), "-framework=5", "-output", str(tmp_path / "v2.circ"),
             "--precision-mode-v2", "mixed_float16", "--out-nodes=/Concat:0", "-log=null")
    assert r.returncode == 0, r.stderr
    with cir.load(tmp_path / "v2.circ") as sess:
        assert [t.name for t in sess.outputs] == ["/Concat:0"]
        got = sess.run({"x": args[0].numpy(), "t": args[1].numpy()})["/Concat:0"]
    with torch.no_grad():
        np.testing.assert_allclose(got, model(*args)[1].numpy(), rtol=0, atol=1e-5)
    for argv, message in [
        (("--input_shape_range=[1~8,3]",), "circ compile does not take --input_shape_range: deprecated in ATC"),
        (("--dynamic_batch_size=1,2,4",), "--dynamic_batch_size needs --input_shape with -1"),
        (("-insert_op_conf", "aipp.cfg"), "circ compile does not take --insert_op_conf: AIPP"),
        (("--enable-small-channel=1",), "circ compile does not take --enable_small_channel"),
        (("--no_such_flag=1",), "unrecognized arguments: --no_such_flag=1"),
        (("--precision=fp16", "--precision_mode=force_fp16"), "cannot be given together"),
        (("--log=loud",), "invalid choice: 'loud'"),
        (("--out_nodes=nope:0",), "no op carries the node name 'nope'"),
    ]:
        r = circ("compile", str(onnx_path), "-o", str(tmp_path / "bad.circ"), *argv)
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("circ: error:")]
        assert r.returncode in (1, 2) and len(errors) == 1 and message in errors[0], (argv, r.stderr)
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "bad.circ").exists()
    r = circ("compile", "--mode=1", f"--om={out}", f"--json={tmp_path / 'block.json'}")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "block.json").read_text())
    assert doc["manifest"]["soc"] == SOC and doc["signed_by"]
    assert {n["op"] for n in doc["graph"]["launches"]} >= {"cir.group_norm_silu", "cir.concat"}
    r = circ("compile", "--mode=1", f"--om={out}")
    assert r.returncode == 2 and "--mode 1 needs --om PACKAGE and --json OUT.json" in r.stderr
