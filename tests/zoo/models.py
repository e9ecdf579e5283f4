"""The model zoo: real architectures from transformers, diffusers, torchvision,
keras.applications, mindcv and dynamo-exported ONNX, taken as their libraries define them, with
small configurations and seeded random weights (nothing is downloaded).

Each entry is data: a name, the library, a builder and a `slow` flag. A builder takes a working
directory (for exported files) and returns a `Built`: what `cir.compile` takes (a model object
or a file), the example inputs as numpy arrays (fed to the package in the order of its inputs)
and a `reference()` that returns the framework's own outputs on those inputs, flattened in
order (the package's outputs come in the same order). Thin wrappers only call a library model
the way its pipeline calls it (diffusers' `vae.decode(z).sample`, `return_dict=False`, ...).

`BLOCKERS` is the one place that says which models circ cannot handle yet, and why (the first
line of circ's error). The tests mark those `xfail(strict=True)`: when a blocker is fixed the
test passes, fails as XPASS(strict), and the entry here is to be removed.

`compile_and_compare` is the one procedure the tests and `benchmarks/bench_zoo.py` share.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tests.torchvision_compat import import_torchvision

TOLERANCE = 1e-4  # fp32: max|circ - ref| <= TOLERANCE * max|ref|, per output


@dataclass(frozen=True)
class Built:
    model: Any  # what cir.compile takes: a framework object or a model file
    inputs: tuple[np.ndarray, ...]  # fed to the package, in the order of its inputs
    reference: Callable[[], list[np.ndarray]]  # the framework's outputs on `inputs`
    example_inputs: Any = None  # cir.compile's example_inputs (default: `inputs`)
    framework: str | None = None  # cir.compile's framework (default: detected)


@dataclass(frozen=True)
class ZooModel:
    name: str
    library: str
    build: Callable[[Path], Built]
    slow: bool = False


@dataclass(frozen=True)
class Blocker:
    """Why circ cannot handle a model yet. `stage`: "compile" or "run" (a CircError is
    expected) or "match" (the outputs differ: an AssertionError is expected)."""

    stage: str
    reason: str


# ---------------------------------------------------------------------------------------------
# helpers


def _rng(seed: int = 1) -> np.random.Generator:
    return np.random.default_rng(seed)


def _flatten(out: Any) -> list[np.ndarray]:
    """A framework's output (tensor, tuple/list, ModelOutput / BaseOutput dict) as arrays, in
    the order torch.export flattens it."""
    import torch

    if isinstance(out, torch.Tensor):
        return [out.detach().numpy()]
    if isinstance(out, dict):
        return [a for v in out.values() if v is not None for a in _flatten(v)]
    if isinstance(out, tuple | list):
        return [a for v in out if v is not None for a in _flatten(v)]
    return [np.asarray(out)]


def _torch_random_statistics(model: Any, seed: int = 0) -> None:
    """BatchNorm running statistics that are not the identity (fresh ones are mean 0, var 1)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)


def _no_zero_weights(model: Any, seed: int = 0) -> None:
    """Random values for weight matrices and kernels a library initialises to zero (ControlNet's
    zero convolutions, ...): a zero output would compare equal to anything."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2 and not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)


def _torch(model: Any, args: Sequence[Any]) -> Built:
    import torch

    model = model.eval()
    _torch_random_statistics(model)
    _no_zero_weights(model)
    args = tuple(args)

    def reference() -> list[np.ndarray]:
        with torch.no_grad():
            return _flatten(model(*args))

    return Built(model, tuple(a.numpy() for a in args), reference, example_inputs=args)


def _module(forward: Callable[..., Any]) -> Any:
    """An nn.Module class holding a library model as `m`, whose forward is `forward(self, ...)`
    (named parameters: they become the package's input names)."""
    import torch

    def init(self: Any, m: Any) -> None:
        torch.nn.Module.__init__(self)
        self.m = m

    return type("Call", (torch.nn.Module,), {"__init__": init, "forward": forward})


def _ids(n: int = 12, vocab: int = 100, seed: int = 1) -> Any:
    import torch

    return torch.from_numpy(_rng(seed).integers(3, vocab, (1, n)).astype(np.int64))


def _image(shape: Sequence[int], seed: int = 1) -> Any:
    import torch

    return torch.from_numpy(_rng(seed).standard_normal(tuple(shape)).astype(np.float32))


# ---------------------------------------------------------------------------------------------
# transformers


def _bert(_: Path) -> Built:
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64)
    return _torch(BertModel(cfg), (_ids(),))


def _distilbert(_: Path) -> Built:
    import torch
    from transformers import DistilBertConfig, DistilBertModel

    torch.manual_seed(0)
    cfg = DistilBertConfig(vocab_size=100, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                           max_position_embeddings=64)
    return _torch(DistilBertModel(cfg), (_ids(),))


def _roberta(_: Path) -> Built:
    import torch
    from transformers import RobertaConfig, RobertaModel

    torch.manual_seed(0)
    cfg = RobertaConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64)
    return _torch(RobertaModel(cfg), (_ids(),))


def _gpt2(_: Path) -> Built:
    import torch
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=100, n_embd=32, n_layer=2, n_head=4, n_positions=64, use_cache=False)
    return _torch(GPT2Model(cfg), (_ids(),))


def _t5_encoder(_: Path) -> Built:
    import torch
    from transformers import T5Config, T5EncoderModel

    torch.manual_seed(0)
    cfg = T5Config(vocab_size=100, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                   relative_attention_num_buckets=8, relative_attention_max_distance=16)
    return _torch(T5EncoderModel(cfg), (_ids(),))


def _llama(_: Path) -> Built:
    import torch
    from transformers import LlamaConfig, LlamaModel

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      use_cache=False)
    return _torch(LlamaModel(cfg), (_ids(),))


def _qwen2(_: Path) -> Built:
    import torch
    from transformers import Qwen2Config, Qwen2Model

    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      use_cache=False)
    return _torch(Qwen2Model(cfg), (_ids(),))


def _vit(_: Path) -> Built:
    import torch
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(0)
    cfg = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                    num_attention_heads=4, intermediate_size=64)
    return _torch(ViTModel(cfg), (_image((1, 3, 32, 32)),))


def _swin(_: Path) -> Built:
    import torch
    from transformers import SwinConfig, SwinModel

    torch.manual_seed(0)
    cfg = SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[1, 1], num_heads=[2, 2],
                     window_size=4)
    return _torch(SwinModel(cfg), (_image((1, 3, 32, 32)),))


def _whisper_encoder(_: Path) -> Built:
    import torch
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    torch.manual_seed(0)
    cfg = WhisperConfig(d_model=32, encoder_layers=2, encoder_attention_heads=4, encoder_ffn_dim=64,
                        num_mel_bins=16, max_source_positions=16)
    # (batch, mel bins, frames): Conv1d, then a stride-2 Conv1d down to max_source_positions
    return _torch(WhisperEncoder(cfg), (_image((1, 16, 32)),))


def _clip_text(_: Path) -> Built:
    """As Stable Diffusion calls it: last_hidden_state and the pooled output (the hidden state
    at the end-of-text token)."""
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    cfg = CLIPTextConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=16, eos_token_id=2)
    ids = _ids(12)
    ids[0, 9] = 2  # the end-of-text token, then padding
    ids[0, 10:] = 2
    return _torch(CLIPTextModel(cfg), (ids,))


def _albert(_: Path) -> Built:
    import torch
    from transformers import AlbertConfig, AlbertModel

    torch.manual_seed(0)
    cfg = AlbertConfig(vocab_size=100, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                       num_attention_heads=4, intermediate_size=64, max_position_embeddings=64)
    return _torch(AlbertModel(cfg), (_ids(),))


def _deberta_v2(_: Path) -> Built:
    import torch
    from transformers import DebertaV2Config, DebertaV2Model

    torch.manual_seed(0)
    cfg = DebertaV2Config(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                          intermediate_size=64, max_position_embeddings=64, position_buckets=16,
                          max_relative_positions=32)
    return _torch(DebertaV2Model(cfg), (_ids(),))


def _bart(_: Path) -> Built:
    """The whole encoder-decoder, as a seq2seq model is called for a step of teacher forcing."""
    import torch
    from transformers import BartConfig, BartModel

    torch.manual_seed(0)
    cfg = BartConfig(vocab_size=100, d_model=32, encoder_layers=1, decoder_layers=1,
                     encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
                     decoder_ffn_dim=64, max_position_embeddings=64, use_cache=False)

    def forward(self, input_ids, decoder_input_ids):  # type: ignore[no-untyped-def]
        return self.m(input_ids=input_ids, decoder_input_ids=decoder_input_ids, use_cache=False,
                      return_dict=False)

    return _torch(_module(forward)(BartModel(cfg)), (_ids(), _ids(6, seed=2)))


def _gemma(_: Path) -> Built:
    import torch
    from transformers import GemmaConfig, GemmaModel

    torch.manual_seed(0)
    cfg = GemmaConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=1, head_dim=8,
                      max_position_embeddings=64, use_cache=False)
    return _torch(GemmaModel(cfg), (_ids(),))


def _mobilevit(_: Path) -> Built:
    import torch
    from transformers import MobileViTConfig, MobileViTModel

    torch.manual_seed(0)
    cfg = MobileViTConfig(image_size=64, hidden_sizes=[16, 24, 32], neck_hidden_sizes=[8, 8, 16, 16, 24, 32, 64],
                          num_attention_heads=2, mlp_ratio=2.0, patch_size=2)
    return _torch(MobileViTModel(cfg), (_image((1, 3, 64, 64)),))


# ---------------------------------------------------------------------------------------------
# diffusers


def _unet(_: Path) -> Built:
    """As the SD pipeline calls it: an int64 timestep tensor, `return_dict=False`."""
    import torch
    from diffusers import UNet2DConditionModel

    from examples.diffusers_models import TINY_UNET  # the tests' shared tiny SD UNet

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**TINY_UNET)
    def forward(self, sample, timestep, encoder_hidden_states):  # type: ignore[no-untyped-def]
        return self.m(sample, timestep, encoder_hidden_states, return_dict=False)[0]

    wrapper = _module(forward)(unet)
    args = (_image((1, 4, 8, 8)), torch.tensor([981], dtype=torch.int64), _image((1, 7, 32), seed=2))
    return _torch(wrapper, args)


def _vae_decoder(_: Path) -> Built:
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(32, 64),
                        latent_channels=4, norm_num_groups=16, sample_size=16)
    def forward(self, latents):  # type: ignore[no-untyped-def]
        return self.m.decode(latents).sample

    decode = _module(forward)(vae)
    return _torch(decode, (_image((1, 4, 8, 8)),))


def _dit(_: Path) -> Built:
    import torch
    from diffusers import DiTTransformer2DModel

    torch.manual_seed(0)
    dit = DiTTransformer2DModel(num_attention_heads=2, attention_head_dim=16, in_channels=4,
                                out_channels=8, num_layers=2, sample_size=8, patch_size=2,
                                num_embeds_ada_norm=1000)
    def forward(self, latents, timestep, class_labels):  # type: ignore[no-untyped-def]
        return self.m(latents, timestep=timestep, class_labels=class_labels, return_dict=False)[0]

    call = _module(forward)(dit)
    args = (_image((1, 4, 8, 8)), torch.tensor([500], dtype=torch.int64), torch.tensor([7], dtype=torch.int64))
    return _torch(call, args)


def _controlnet(_: Path) -> Built:
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(0)
    net = ControlNetModel(
        in_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), cross_attention_dim=32,
        attention_head_dim=8, norm_num_groups=16, conditioning_embedding_out_channels=(8, 16, 16, 32),
    )  # fmt: skip
    def forward(self, sample, timestep, encoder_hidden_states, controlnet_cond):  # type: ignore[no-untyped-def]
        return self.m(sample, timestep, encoder_hidden_states, controlnet_cond, return_dict=False)

    call = _module(forward)(net)
    args = (_image((1, 4, 8, 8)), torch.tensor([981], dtype=torch.int64), _image((1, 7, 32), seed=2),
            _image((1, 3, 64, 64), seed=3))
    return _torch(call, args)


def _unet2d(_: Path) -> Built:
    """The unconditional DDPM UNet (attention blocks without text), int64 timestep."""
    import torch
    from diffusers import UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=16, in_channels=3, out_channels=3, layers_per_block=1,
                       block_out_channels=(16, 32), down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                       up_block_types=("AttnUpBlock2D", "UpBlock2D"), attention_head_dim=8,
                       norm_num_groups=8)

    def forward(self, sample, timestep):  # type: ignore[no-untyped-def]
        return self.m(sample, timestep, return_dict=False)[0]

    return _torch(_module(forward)(unet), (_image((1, 3, 16, 16)), torch.tensor([50], dtype=torch.int64)))


def _vae_encoder(_: Path) -> Built:
    """AutoencoderKL.encode: the latent distribution's mean and log-variance (img2img samples
    from them with its own generator)."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(32, 64),
                        latent_channels=4, norm_num_groups=16, sample_size=16)

    def forward(self, image):  # type: ignore[no-untyped-def]
        dist = self.m.encode(image).latent_dist
        return dist.mean, dist.logvar

    return _torch(_module(forward)(vae), (_image((1, 3, 16, 16)),))


def _sd3_transformer(_: Path) -> Built:
    """Stable Diffusion 3's MMDiT: joint text/image attention, pooled projections, int64 timestep."""
    import torch
    from diffusers import SD3Transformer2DModel

    torch.manual_seed(0)
    net = SD3Transformer2DModel(sample_size=8, patch_size=2, in_channels=4, num_layers=2,
                                attention_head_dim=8, num_attention_heads=2, joint_attention_dim=16,
                                caption_projection_dim=16, pooled_projection_dim=16, out_channels=4,
                                pos_embed_max_size=8)

    def forward(self, latents, encoder_hidden_states, pooled_projections, timestep):  # type: ignore[no-untyped-def]
        return self.m(latents, encoder_hidden_states=encoder_hidden_states,
                      pooled_projections=pooled_projections, timestep=timestep, return_dict=False)[0]

    args = (_image((1, 4, 8, 8)), _image((1, 6, 16), seed=2), _image((1, 16), seed=3),
            torch.tensor([500], dtype=torch.int64))
    return _torch(_module(forward)(net), args)


# ---------------------------------------------------------------------------------------------
# torchvision

# before anything imports transformers or diffusers (they import torchvision when it is there)
TORCHVISION = import_torchvision()


def _torchvision() -> Any:
    if TORCHVISION is None:
        import pytest

        pytest.skip("torchvision is not installed")
    return TORCHVISION


def _tv(name: str, size: int = 32, **kw: Any) -> Callable[[Path], Built]:
    def build(_: Path) -> Built:
        import torch

        tv = _torchvision()
        torch.manual_seed(0)
        model = getattr(tv.models, name)(weights=None, num_classes=10, **kw)
        return _torch(model, (_image((1, 3, size, size)),))

    build.__name__ = f"_tv_{name}"
    return build


# ---------------------------------------------------------------------------------------------
# keras.applications


def _keras(name: str, size: int = 32) -> Callable[[Path], Built]:
    def build(_: Path) -> Built:
        import keras

        keras.utils.set_random_seed(0)
        model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3),
                                                  classes=10, classifier_activation=None)
        rng = _rng(0)
        for w in model.weights:  # BatchNorm statistics that are not the identity
            if "moving_variance" in w.path:
                w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
            elif "moving_mean" in w.path:
                w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))
        x = _rng(1).uniform(-1, 1, (1, size, size, 3)).astype("float32")

        def reference() -> list[np.ndarray]:
            return [np.asarray(model(x, training=False))]

        return Built(model, (x,), reference, framework="tensorflow")

    build.__name__ = f"_keras_{name}"
    return build


# ---------------------------------------------------------------------------------------------
# mindcv (exported to MINDIR on the CPU; the reference is MindSpore's GraphCell of that file)


def _mindcv(name: str, size: int = 32) -> Callable[[Path], Built]:
    def build(workdir: Path) -> Built:
        import mindcv
        import mindspore as ms
        from mindspore import nn

        ms.set_seed(0)
        net = mindcv.models.create_model(name, pretrained=False, num_classes=10)
        rng = _rng(0)
        for p in net.get_parameters():  # BatchNorm statistics that are not the identity
            if "moving_variance" in p.name or "running_var" in p.name:
                p.set_data(ms.Tensor(rng.uniform(0.5, 1.5, p.shape).astype(np.float32)))
            elif "moving_mean" in p.name or "running_mean" in p.name:
                p.set_data(ms.Tensor(rng.normal(0, 0.1, p.shape).astype(np.float32)))
        net.set_train(False)
        x = _rng(1).standard_normal((1, 3, size, size)).astype(np.float32)
        path = workdir / name
        ms.export(net, ms.Tensor(x), file_name=str(path), file_format="MINDIR")
        mindir = path.with_suffix(".mindir")
        cell = nn.GraphCell(ms.load(str(mindir)))

        def reference() -> list[np.ndarray]:
            out = cell(ms.Tensor(x))
            return [o.asnumpy() for o in (out if isinstance(out, tuple | list) else (out,))]

        return Built(str(mindir), (x,), reference, framework="mindspore")

    build.__name__ = f"_mindcv_{name}"
    return build


# ---------------------------------------------------------------------------------------------
# ONNX: torch.onnx.export(dynamo=True) of torch models above; the reference is onnxruntime


def _onnx(torch_builder: Callable[[Path], Built], name: str) -> Callable[[Path], Built]:
    def build(workdir: Path) -> Built:
        import onnxruntime as ort
        import torch

        built = torch_builder(workdir)
        path = workdir / f"{name}.onnx"
        torch.onnx.export(built.model, built.example_inputs, str(path), dynamo=True,
                          external_data=False, verbose=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        feeds = {i.name: a for i, a in zip(sess.get_inputs(), built.inputs, strict=True)}

        def reference() -> list[np.ndarray]:
            return list(sess.run(None, feeds))

        return Built(str(path), built.inputs, reference, framework="onnx")

    build.__name__ = f"_onnx_{name}"
    return build


def _tv_resnet18_onnx(workdir: Path) -> Built:
    return _onnx(_tv("resnet18"), "resnet18")(workdir)


# ---------------------------------------------------------------------------------------------
# the corpus

MODELS: list[ZooModel] = [
    # transformers
    ZooModel("bert", "transformers", _bert),
    ZooModel("distilbert", "transformers", _distilbert, slow=True),
    ZooModel("roberta", "transformers", _roberta),
    ZooModel("gpt2", "transformers", _gpt2, slow=True),
    ZooModel("t5_encoder", "transformers", _t5_encoder, slow=True),
    ZooModel("llama", "transformers", _llama, slow=True),
    ZooModel("qwen2", "transformers", _qwen2, slow=True),
    ZooModel("vit", "transformers", _vit, slow=True),
    ZooModel("swin", "transformers", _swin, slow=True),
    ZooModel("whisper_encoder", "transformers", _whisper_encoder, slow=True),
    ZooModel("clip_text", "transformers", _clip_text),
    ZooModel("albert", "transformers", _albert, slow=True),
    ZooModel("deberta_v2", "transformers", _deberta_v2, slow=True),
    ZooModel("bart", "transformers", _bart, slow=True),
    ZooModel("gemma", "transformers", _gemma, slow=True),
    ZooModel("mobilevit", "transformers", _mobilevit, slow=True),
    # diffusers (the Stable Diffusion parts as the pipeline calls them, DiT, ControlNet)
    ZooModel("sd_unet", "diffusers", _unet),
    ZooModel("sd_vae_decoder", "diffusers", _vae_decoder),
    ZooModel("dit", "diffusers", _dit, slow=True),
    ZooModel("controlnet", "diffusers", _controlnet, slow=True),
    ZooModel("ddpm_unet2d", "diffusers", _unet2d),
    ZooModel("sd_vae_encoder", "diffusers", _vae_encoder, slow=True),
    ZooModel("sd3_transformer", "diffusers", _sd3_transformer, slow=True),
    # torchvision
    ZooModel("tv_resnet18", "torchvision", _tv("resnet18")),
    ZooModel("tv_mobilenet_v2", "torchvision", _tv("mobilenet_v2", width_mult=0.5), slow=True),
    ZooModel("tv_mobilenet_v3_small", "torchvision", _tv("mobilenet_v3_small"), slow=True),
    ZooModel("tv_efficientnet_b0", "torchvision", _tv("efficientnet_b0"), slow=True),
    ZooModel("tv_densenet121", "torchvision", _tv("densenet121"), slow=True),
    ZooModel("tv_convnext_tiny", "torchvision", _tv("convnext_tiny"), slow=True),
    ZooModel("tv_squeezenet1_1", "torchvision", _tv("squeezenet1_1", size=64), slow=True),
    ZooModel("tv_shufflenet_v2", "torchvision", _tv("shufflenet_v2_x0_5"), slow=True),
    ZooModel("tv_regnet_y_400mf", "torchvision", _tv("regnet_y_400mf"), slow=True),
    ZooModel("tv_vgg11", "torchvision", _tv("vgg11")),
    ZooModel("tv_inception_v3", "torchvision", _tv("inception_v3", size=75, aux_logits=False,
                                                    init_weights=True), slow=True),
    # keras.applications
    ZooModel("keras_resnet50", "keras", _keras("ResNet50"), slow=True),
    ZooModel("keras_mobilenet_v2", "keras", _keras("MobileNetV2")),
    ZooModel("keras_efficientnet_b0", "keras", _keras("EfficientNetB0"), slow=True),
    ZooModel("keras_densenet121", "keras", _keras("DenseNet121"), slow=True),
    ZooModel("keras_convnext_tiny", "keras", _keras("ConvNeXtTiny"), slow=True),
    ZooModel("keras_mobilenet_v3_small", "keras", _keras("MobileNetV3Small"), slow=True),
    # mindcv
    ZooModel("ms_resnet18", "mindcv", _mindcv("resnet18")),
    ZooModel("ms_mobilenet_v2", "mindcv", _mindcv("mobilenet_v2_100"), slow=True),
    ZooModel("ms_mobilenet_v3_small", "mindcv", _mindcv("mobilenet_v3_small_100"), slow=True),
    ZooModel("ms_densenet121", "mindcv", _mindcv("densenet121")),
    ZooModel("ms_shufflenet_v2", "mindcv", _mindcv("shufflenet_v2_x0_5"), slow=True),
    ZooModel("ms_squeezenet1_0", "mindcv", _mindcv("squeezenet1_0", size=64), slow=True),
    ZooModel("ms_efficientnet_b0", "mindcv", _mindcv("efficientnet_b0"), slow=True),
    # ONNX (torch.onnx.export(dynamo=True))
    ZooModel("onnx_bert", "onnx", _onnx(_bert, "bert")),
    ZooModel("onnx_gpt2", "onnx", _onnx(_gpt2, "gpt2"), slow=True),
    ZooModel("onnx_vit", "onnx", _onnx(_vit, "vit"), slow=True),
    ZooModel("onnx_sd_unet", "onnx", _onnx(_unet, "sd_unet"), slow=True),
    ZooModel("onnx_sd_vae_decoder", "onnx", _onnx(_vae_decoder, "sd_vae_decoder"), slow=True),
    ZooModel("onnx_clip_text", "onnx", _onnx(_clip_text, "clip_text"), slow=True),
    ZooModel("onnx_whisper_encoder", "onnx", _onnx(_whisper_encoder, "whisper_encoder"), slow=True),
    ZooModel("onnx_llama", "onnx", _onnx(_llama, "llama"), slow=True),
    ZooModel("onnx_tv_resnet18", "onnx", _tv_resnet18_onnx, slow=True),
]

BY_NAME = {m.name: m for m in MODELS}

# What stops each model today (stage "compile" or "run": a CircError from cir.compile or
# cir.load/run; "match": the outputs differ). Remove an entry when its test XPASSes.
BLOCKERS: dict[str, Blocker] = {}  # every model of the corpus compiles, runs and matches


# ---------------------------------------------------------------------------------------------
# compile, run, compare


@dataclass
class Result:
    name: str
    library: str
    compiled: bool = False
    ran: bool = False
    max_rel_error: float | None = None  # max over outputs of max|circ - ref| / max|ref|
    circ_ms: float | None = None
    framework_ms: float | None = None
    host_ops: list[str] = field(default_factory=list)  # ops on the host fallback: "cir.cast x1"
    error: str | None = None  # the first line of the error that stopped it
    stage: str | None = None  # build / compile / load / run / compare
    times: dict[str, float] = field(default_factory=dict)

    @property
    def matches(self) -> bool:
        return self.max_rel_error is not None and self.max_rel_error <= TOLERANCE


def compare(got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> float:
    """The largest max|got - want| / max|want| over the outputs (shapes must agree)."""
    if len(got) != len(want):
        raise AssertionError(f"{len(got)} outputs from circ, {len(want)} from the framework")
    worst = 0.0
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape:
            raise AssertionError(f"output {i}: shape {g.shape} from circ, {w.shape} from the framework")
        scale = float(np.abs(w.astype(np.float64)).max()) if w.size else 0.0
        err = float(np.abs(g.astype(np.float64) - w.astype(np.float64)).max()) if w.size else 0.0
        if not np.isfinite(err):
            return float("inf")
        if not scale:
            raise AssertionError(f"output {i}: the framework's output is all zeros")
        worst = max(worst, err / scale)
    return worst


def _best_ms(fn: Callable[[], Any], runs: int) -> float:
    """The fastest of `runs` warm calls: on a shared machine the others measure the neighbours
    (a multi-threaded framework waiting for a descheduled thread is 100x slower now and then)."""
    fn()  # warm-up
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1e3)
    return min(ts)


def compile_and_compare(entry: ZooModel, workdir: Path, *, timing_runs: int = 0,
                        raise_errors: bool = True) -> Result:
    """Build `entry`, `cir.compile` it (default SoC, fp32), run the package on the CPU runtime
    and compare with the framework. With `raise_errors`, the first error propagates (tests);
    otherwise it is recorded in the result (the benchmark). `timing_runs` > 0 also measures the
    latency of both (the best of that many warm runs)."""
    import cir

    res = Result(entry.name, entry.library)
    stage = "build"
    try:
        t = time.perf_counter()
        built = entry.build(workdir)
        want = built.reference()
        res.times["build"] = time.perf_counter() - t
        stage = "compile"
        t = time.perf_counter()
        example = built.example_inputs if built.example_inputs is not None else built.inputs
        with warnings.catch_warnings():  # the host ops are in the result (from the manifest)
            warnings.filterwarnings("ignore", message=r".*run on the host fallback")
            pkg = cir.compile(built.model, workdir / f"{entry.name}.circ", example_inputs=example,
                              framework=built.framework)
        res.times["compile"] = time.perf_counter() - t
        res.compiled = True
        manifest = json.loads((pkg / "manifest.json").read_text())
        res.host_ops = [f"{e['op']} x{e['count']}" for e in manifest.get("host_ops", [])]
        stage = "load"
        t = time.perf_counter()
        with cir.load(pkg, device="cpu") as sess:
            res.times["load"] = time.perf_counter() - t
            stage = "run"
            names = [i.name for i in sess.inputs]
            if len(names) != len(built.inputs):
                raise AssertionError(f"the package takes {len(names)} inputs ({', '.join(names)}), "
                                     f"the model {len(built.inputs)}")
            feeds = dict(zip(names, built.inputs, strict=True))
            t = time.perf_counter()
            outs = sess.run(feeds)
            res.times["run"] = time.perf_counter() - t
            res.ran = True
            stage = "compare"
            got = [outs[o.name] for o in sess.outputs]
            res.max_rel_error = compare(got, want)
            if timing_runs:
                res.circ_ms = _best_ms(lambda: sess.run(feeds), timing_runs)
                res.framework_ms = _best_ms(built.reference, timing_runs)
        if not res.matches:
            raise AssertionError(f"max|circ - ref| / max|ref| = {res.max_rel_error:.3g} > {TOLERANCE:g}")
    except BaseException as e:  # recorded for the table, or re-raised
        if raise_errors or isinstance(e, KeyboardInterrupt):
            raise
        res.stage = stage
        res.error = f"{type(e).__name__}: {first_line(str(e))}"
    return res


def first_line(message: str) -> str:
    """The first line of an error; when it ends with a colon (a list or a compiler's output
    follows), with the first compiler `error:` line or else the first item of that list."""
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    if lines[0].endswith(":") and len(lines) > 1:
        errors = [ln for ln in lines[1:] if "error:" in ln]
        detail = errors[0].split("error:", 1)[1].strip() if errors else lines[1]
        return f"{lines[0]} {detail}"
    return lines[0]
