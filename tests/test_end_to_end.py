"""Real models, compiled to packages, run through their generated AscendC kernels on the CPU
runtime, against the framework they came from (and the reference interpreter).

Tolerances: fp32 1e-4 x max|output| against the framework (kernels, BLAS and the frameworks
sum convolutions, matmuls and norms in different orders over up to a few thousand terms per
output; everything else is exact fp32 arithmetic); fp16 packages are judged by PSNR against
the fp32 framework output (>= 30 dB: fp16 keeps ~3 significant digits per op and a model chains
dozens of norms, matmuls and activations; the fp16 interface casts once at each end).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import cir

SOC = "Ascend910B1"


def psnr(got: np.ndarray, want: np.ndarray) -> float:
    mse = float(np.mean((got.astype(np.float64) - want.astype(np.float64)) ** 2))
    return 10 * np.log10(float(np.abs(want).max()) ** 2 / max(mse, 1e-30))


def close(got: np.ndarray, want: np.ndarray, tol: float = 1e-4) -> None:
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * float(np.abs(want).max()))


def compile_and_run(model, example, feeds, tmp_path, name, **kw):  # type: ignore[no-untyped-def]
    pkg = cir.compile(model, tmp_path / f"{name}.circ", example_inputs=example, soc=kw.pop("soc", SOC), **kw)
    with cir.load(pkg) as sess:
        return sess.run(feeds), pkg


def test_tiny_unet_fp32_and_fp16(tmp_path):
    from diffusers import UNet2DConditionModel

    from examples.diffusers_models import TINY_UNET

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**TINY_UNET).eval()
    args = (torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 7, 32))
    feeds = dict(zip(["sample", "timestep", "encoder_hidden_states"], (a.numpy() for a in args)))
    with torch.no_grad():
        ref = unet(*args).sample.numpy()
    outs, pkg = compile_and_run(unet, args, feeds, tmp_path, "unet")
    close(outs["sample"], ref)
    # the interpreter on the package's own lowered IR agrees too
    module = cir.parse_file(pkg / "model.mlir")
    close(outs["sample"], cir.interpret(module, feeds)["sample"], 1e-5)
    outs16, _ = compile_and_run(unet, args, feeds, tmp_path, "unet16", precision="fp16")
    assert outs16["sample"].dtype == np.float32 and psnr(outs16["sample"], ref) > 30


def test_tiny_unet_with_an_int64_timestep(tmp_path):
    """As diffusers' schedulers call the UNet: the timestep is an int64 tensor (cast to float
    inside the model: an int64 -> float Cast kernel on arch 220)."""
    from diffusers import UNet2DConditionModel

    from examples.diffusers_models import TINY_UNET

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**TINY_UNET).eval()
    args = (torch.randn(1, 4, 8, 8), torch.tensor([981]), torch.randn(1, 7, 32))
    feeds = dict(zip(["sample", "timestep", "encoder_hidden_states"], (a.numpy() for a in args)))
    with torch.no_grad():
        ref = unet(*args).sample.numpy()
    outs, pkg = compile_and_run(unet, args, feeds, tmp_path, "unet_i64")
    inputs = json.loads((pkg / "manifest.json").read_text())["inputs"]
    assert [t["dtype"] for t in inputs] == ["f32", "i64", "f32"]
    close(outs["sample"], ref)


def test_vae_decoder(tmp_path):
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(32, 64),
        latent_channels=4, norm_num_groups=16, sample_size=16,
    ).eval()

    class Decoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vae = vae

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.vae.decode(z).sample

    z = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        ref = Decoder().eval()(z).numpy()
    outs, _ = compile_and_run(Decoder().eval(), (z,), {"z": z.numpy()}, tmp_path, "vae")
    close(next(iter(outs.values())), ref)
    outs16, _ = compile_and_run(Decoder().eval(), (z,), {"z": z.numpy()}, tmp_path, "vae16", precision="fp16")
    assert psnr(next(iter(outs16.values())), ref) > 30


def test_bert_tiny(tmp_path):
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    ids = torch.randint(0, 100, (1, 12))
    bert = BertModel(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=64, max_position_embeddings=64)).eval()
    with torch.no_grad():
        ref = bert(ids)
    outs, _ = compile_and_run(bert, (ids,), {"input_ids": ids.numpy()}, tmp_path, "bert", fusion="transformer")
    close(outs["last_hidden_state"], ref.last_hidden_state.numpy())
    close(outs["pooler_output"], ref.pooler_output.numpy())
    outs16, _ = compile_and_run(bert, (ids,), {"input_ids": ids.numpy()}, tmp_path, "bert16",
                                fusion="transformer", precision="fp16")
    assert psnr(outs16["last_hidden_state"], ref.last_hidden_state.numpy()) > 30


def test_keras_resnet50(tmp_path):
    keras = pytest.importorskip("keras")
    from tests.test_tf_frontend import random_statistics

    keras.utils.set_random_seed(0)
    model = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classifier_activation=None)
    random_statistics(model)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    ref = np.asarray(model(x, training=False))
    pkg = cir.compile(model, tmp_path / "resnet50.circ", example_inputs=(x,), soc=SOC, framework="tensorflow")
    with cir.load(pkg) as sess:
        (name,) = [t.name for t in sess.inputs]
        close(next(iter(sess.run({name: x}).values())), ref)


def test_mindcv_resnet18(tmp_path):
    mindcv = pytest.importorskip("mindcv")
    from tests.test_ms_frontend import export, random_statistics, reference

    net = mindcv.models.create_model("resnet18", pretrained=False, num_classes=10)
    random_statistics(net)
    x = np.random.default_rng(1).standard_normal((1, 3, 64, 64)).astype(np.float32)
    mindir = export(net, [x], tmp_path / "resnet18")
    outs, _ = compile_and_run(str(mindir), None, {"x": x}, tmp_path, "resnet18", framework="mindspore")
    close(outs["output_0"], reference(mindir, [x]))
