"""Dynamic shapes as gears (cir.gears): ATC's -1 / LO~HI in --input_shape with
--dynamic_batch_size / --dynamic_image_size / --dynamic_dims, one package serving every gear.

Evidence, each gear against its framework (fp32: 1e-4 x max|ref|, as tests/test_end_to_end.py):
the tiny diffusers UNet at batch 1 and 2 and two image sizes, a BERT-style encoder at three
sequence lengths, an ONNX model from the command line, a Keras SavedModel with a None batch.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

import cir
from cir.errors import CircError, UsageError
from cir.gears import expand, parse_shapes
from tests.test_package import circ
from tests.test_package_trust import edit_json

SOC = "Ascend910B1"


def close(got: np.ndarray, want: np.ndarray, tol: float = 1e-4) -> None:
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * float(np.abs(want).max()))


# --- the flags, as ATC means them --------------------------------------------------------


def test_gear_flags_expand_as_atc_means_them():
    s = parse_shapes("x:-1,4,8,8;t:-1")
    assert expand(s, batch="1, 2,4") == [{"x": (b, 4, 8, 8), "t": (b,)} for b in (1, 2, 4)]
    s = parse_shapes("x:1,4,-1,-1;t:1")
    assert expand(s, image="8,8;12,16") == [{"x": (1, 4, 8, 8), "t": (1,)}, {"x": (1, 4, 12, 16), "t": (1,)}]
    s = parse_shapes("ids:-1,-1;mask:1,-1")
    assert expand(s, dims="1,8,8;1,16,16", input_format="ND") == [
        {"ids": (1, 8), "mask": (1, 8)}, {"ids": (1, 16), "mask": (1, 16)}]
    assert expand(parse_shapes("x:1~3,5")) == [{"x": (b, 5)} for b in (1, 2, 3)]
    assert expand(parse_shapes("x:2,5")) == [{"x": (2, 5)}]


@pytest.mark.parametrize("shapes, flags, message", [
    ("x:-1,5", {}, r"dimension 0 of 'x' is -1 with no values"),
    ("x:2,5", {"batch": "1,2"}, r"needs -1 in --input_shape"),
    ("x:-1,5", {"batch": "1,2", "dims": "1;2"}, r"cannot be combined"),
    ("x:1~2,-1", {"batch": "1,2"}, r"ranges .* cannot be combined"),
    ("x:-1,5", {"batch": "1,0"}, r"positive integers"),
    ("x:-1,5", {"batch": "2,2"}, r"a gear is given twice"),
    ("x:-1,-1", {"image": "8"}, r"H,W per gear"),
    ("x:-1,5,5", {"image": "8,8"}, r"exactly two \(H and W\)"),
    ("x:-1,-1", {"dims": "1"}, r"has 1 values for 2 -1 dimension"),
    ("x:-1", {"dims": "1", "input_format": "NCHW"}, r"--dynamic_dims needs --input_format=ND"),
    ("x:1~40,1~2", {}, r"the ranges give 80 shapes"),
])
def test_bad_gear_flags(shapes, flags, message):
    with pytest.raises(UsageError, match=message):
        expand(parse_shapes(shapes), **flags)


@pytest.mark.parametrize("text, message", [
    ("x:a,2", r"'a' is not a dimension"), ("x:3~1", r"0 < LO <= HI"), ("x:-2", r"'-2' is not a dimension"),
    ("2,3", r"expects NAME:D1"), ("x:1;x:2", r"given twice"),
])
def test_bad_input_shapes(text, message):
    with pytest.raises(UsageError, match=message):
        parse_shapes(text)


# --- packages -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def unet_package(tmp_path_factory):
    """The tiny diffusers UNet at batch 1 and 2 (classifier-free guidance) and two sizes."""
    from diffusers import UNet2DConditionModel

    from examples.diffusers_models import TINY_UNET

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**TINY_UNET).eval()
    gears = [(torch.randn(b, 4, hw, hw), torch.full((b,), 10.0), torch.randn(b, 7, 32))
             for b, hw in ((1, 8), (2, 8), (1, 16), (2, 16))]
    pkg = cir.compile(unet, tmp_path_factory.mktemp("gears") / "unet.circ", gears=gears, soc=SOC)
    return unet, gears, pkg


def test_one_unet_package_serves_every_gear(unet_package):
    unet, gears, pkg = unet_package
    m = json.loads((pkg / "manifest.json").read_text())
    assert [t["shape"] for t in m["inputs"]] == [[-1, 4, -1, -1], [-1], [-1, 7, 32]]
    assert [g["inputs"]["sample"] for g in m["gears"]] == [[1, 4, 8, 8], [2, 4, 8, 8], [1, 4, 16, 16], [2, 4, 16, 16]]
    graphs = [json.loads((pkg / g["launch"]).read_text()) for g in m["gears"]]
    used = [set(g["kernels"]) for g in graphs]
    # kernels keep one source, the tiling is per gear: almost all are shared (a transpose whose
    # dims merge differently at batch 1 is another kernel)
    assert len(used[0] & used[1]) >= 0.9 * len(used[0]) and len(used[0] & used[2]) >= 0.9 * len(used[0])
    assert len(m["kernels"]) < 1.3 * len(used[0])
    assert graphs[3]["arena_bytes"] > graphs[0]["arena_bytes"] and m["memory"]["arena_bytes"] == max(
        g["arena_bytes"] for g in graphs)
    with cir.load(pkg) as sess:
        assert sess.gears is not None and len(sess.gears) == 4
        for args in gears:
            feeds = dict(zip(["sample", "timestep", "encoder_hidden_states"], (a.numpy() for a in args)))
            with torch.no_grad():
                ref = unet(*args).sample.numpy()
            close(sess.run(feeds)["sample"], ref)
        bad = {"sample": np.zeros((3, 4, 8, 8), np.float32), "timestep": np.zeros(3, np.float32),
               "encoder_hidden_states": np.zeros((3, 7, 32), np.float32)}
        with pytest.raises(CircError, match=r"sample:3x4x8x8.* are not among the shapes .*sample:1x4x8x8"):
            sess.run(bad)


def test_bert_encoder_at_three_sequence_lengths(tmp_path):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    bert = BertModel(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=64, max_position_embeddings=64)).eval()
    gears = [(torch.randint(0, 100, (1, n)),) for n in (8, 16, 24)]
    pkg = cir.compile(bert, tmp_path / "bert.circ", gears=gears, soc=SOC, fusion="transformer")
    with cir.load(pkg) as sess:
        assert [t.shape for t in sess.inputs] == [(1, -1)]
        for (ids,) in gears:
            with torch.no_grad():
                ref = bert(ids).last_hidden_state.numpy()
            close(sess.run({"input_ids": ids.numpy()})["last_hidden_state"], ref)


def test_gear_api_mistakes(tmp_path):
    model = torch.nn.Linear(4, 2)
    x = torch.randn(1, 4)
    with pytest.raises(CircError, match="either as example_inputs or as gears"):
        cir.compile(model, tmp_path / "a.circ", example_inputs=(x,), gears=[(x,)])
    with pytest.raises(CircError, match="non-empty list"):
        cir.compile(model, tmp_path / "a.circ", gears=[])
    with pytest.raises(CircError, match="gears 0 and 1 have the same input shapes"):
        cir.compile(model, tmp_path / "a.circ", gears=[(x,), (x * 2,)])
    assert not (tmp_path / "a.circ").exists()


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    from torch import nn

    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(16, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.fc(x), -1) * x[..., :1]

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    torch.onnx.export(M().eval(), (torch.randn(2, 5, 16),), str(path), input_names=["x"],
                      dynamic_axes={"x": {0: "batch", 1: "seq"}}, dynamo=False)
    return path


def test_atc_command_lines_with_gears(onnx_model, tmp_path):
    import onnxruntime as ort

    ref = ort.InferenceSession(str(onnx_model), providers=["CPUExecutionProvider"])
    runs = {
        "batch": (["--input_shape=x:-1,5,16", "--dynamic_batch_size=1,3"], [(1, 5, 16), (3, 5, 16)]),
        "dims": (["--input_shape=x:-1,-1,16", "--dynamic_dims=1,4;2,9", "--input_format=ND"],
                 [(1, 4, 16), (2, 9, 16)]),
        "range": (["--input_shape=x:2,3~5,16"], [(2, 3, 16), (2, 4, 16), (2, 5, 16)]),
    }
    for name, (flags, shapes) in runs.items():
        out = tmp_path / f"{name}.circ"
        r = circ("compile", f"--model={onnx_model}", "--framework=5", f"--output={out}", f"--soc_version={SOC}", *flags)
        assert r.returncode == 0, r.stderr
        assert f"serves {len(shapes)} input shapes (gears)" in r.stdout
        with cir.load(out) as sess:
            for shape in shapes:
                x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
                close(next(iter(sess.run({"x": x}).values())), ref.run(None, {"x": x})[0])
    r = circ("compile", str(onnx_model), "-o", str(tmp_path / "bad.circ"), "--input_shape=x:-1,5,16")
    assert r.returncode == 2 and "is -1 with no values" in r.stderr and "Traceback" not in r.stderr
    r = circ("compile", str(onnx_model), "-o", str(tmp_path / "bad.circ"), "--dynamic_batch_size=1,2")
    assert r.returncode == 2 and "needs --input_shape" in r.stderr
    assert not (tmp_path / "bad.circ").exists()


def test_keras_savedmodel_with_a_none_batch(tmp_path):
    import tensorflow as tf

    tf.random.set_seed(0)
    inp = tf.keras.Input((6,), name="features")
    model = tf.keras.Model(inp, tf.keras.layers.Dense(3, activation="gelu")(tf.keras.layers.Dense(8)(inp)))
    saved = tmp_path / "saved"
    model.export(str(saved))
    out = tmp_path / "keras.circ"
    r = circ("compile", str(saved), "-o", str(out), f"--soc_version={SOC}", "--input_shape=features:-1,6",
             "--dynamic_batch_size=1,4")
    assert r.returncode == 0, r.stderr
    with cir.load(out) as sess:
        for b in (1, 4):
            x = np.random.default_rng(b).standard_normal((b, 6)).astype(np.float32)
            got = next(iter(sess.run({sess.inputs[0].name: x}).values()))
            close(got, model(x).numpy())


def test_edited_gears_are_refused(onnx_model, tmp_path):
    out = tmp_path / "g.circ"
    assert circ("compile", str(onnx_model), "-o", str(out), f"--soc_version={SOC}", "--input_shape=x:-1,5,16",
                "--dynamic_batch_size=1,2").returncode == 0
    for edit, message in [
        (lambda m: m["gears"][1]["inputs"].__setitem__("x", [2, 6, 16]), r"does not fit the manifest's \[-1, 5, 16\]"),
        (lambda m: m["gears"].__setitem__(1, m["gears"][0]), r"two gears have the same input shapes|must be"),
        (lambda m: m["gears"][1].__setitem__("launch", "graph/../../x.json"), r"not a path inside the package"),
        (lambda m: m["gears"][1]["inputs"].pop("x"), r"must give a shape for each"),
    ]:
        pkg = tmp_path / "edited.circ"
        shutil.rmtree(pkg, ignore_errors=True)
        shutil.copytree(out, pkg)
        edit_json(pkg, "manifest.json", edit)  # re-signed by a trusted key
        with pytest.raises(CircError, match=message):
            cir.load(pkg)


def test_serve_batches_requests_into_gears(tmp_path):
    """circ serve: a batch-gear package takes any number of rows, each run in the smallest gear
    that holds them; a package with other gears takes any of its exact shapes, and a shape
    outside them is a 400 naming the allowed ones."""
    from tests.test_serve import Server, Tiny, http

    torch.manual_seed(0)
    model = Tiny().eval()
    cir.compile(model, tmp_path / "rows.circ", gears=[(torch.randn(b, 16),) for b in (1, 2, 4)], soc=SOC)
    cir.compile(model, tmp_path / "seq.circ", gears=[(torch.randn(1, n, 16),) for n in (3, 5)], soc=SOC)
    (tmp_path / "models.toml").write_text('[[model]]\nname = "rows"\npath = "rows.circ"\n\n'
                                          '[[model]]\nname = "seq"\npath = "seq.circ"\n')
    server = Server(["--model-config", "models.toml"], tmp_path)
    try:
        text = "".join(server.lines)
        assert "run in batches of 1/2/4" in text and "the shapes x:1x3x16 | x:1x5x16" in text, text
        rng = np.random.default_rng(0)
        for n in (1, 3, 6):
            x = rng.standard_normal((n, 16)).astype(np.float32)
            status, body = http("POST", f"{server.url}/rows:predict", {"instances": x.tolist()})
            assert status == 200, body
            close(np.array(body["predictions"], np.float32), model(torch.from_numpy(x)).detach().numpy(), 1e-5)
        for n in (3, 5):
            x = rng.standard_normal((1, n, 16)).astype(np.float32)
            status, body = http("POST", f"{server.url}/seq:predict", {"inputs": x.tolist()})
            assert status == 200, body
            close(np.array(body["outputs"], np.float32), model(torch.from_numpy(x)).detach().numpy(), 1e-5)
        status, body = http("POST", f"{server.url}/seq:predict", {"inputs": np.zeros((1, 4, 16)).tolist()})
        assert status == 400 and "not among the shapes" in body["error"] and "x:1x5x16" in body["error"]
    finally:
        assert server.stop() == 0
    assert "Traceback" not in "".join(server.lines)
