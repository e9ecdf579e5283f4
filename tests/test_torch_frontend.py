"""The PyTorch frontend end to end: real models through torch.export -> torch dialect ->
normalize-torch -> CIR -> the reference interpreter, compared with torch eager.

Tolerance: fp32, 1e-4 relative to the output's largest magnitude (plus 1e-5 absolute). The
interpreter and torch evaluate the same ops in fp32; they differ only in summation order inside
convolutions, matmuls and norms, which stays well below that on these model sizes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cir
from cir.errors import CircError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from examples.diffusers_models import TINY_UNET
from examples.sd_block.torch_block import example_inputs, make_model

BIN = Path(sys.executable).parent


def assert_matches(outs: dict[str, np.ndarray], ref: torch.Tensor) -> None:
    got = next(iter(outs.values()))
    want = ref.detach().numpy()
    assert got.shape == want.shape
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale + 1e-5)


def run_both(model: nn.Module, args: tuple, names: list[str]):
    module = cir.import_model(model, args)
    outs = cir.interpret(module, {n: a.numpy() for n, a in zip(names, args)})
    with torch.no_grad():
        ref = model(*args)
    return module, outs, ref


def test_sd_block_matches_torch():
    model, args = make_model(), example_inputs()
    module, outs, ref = run_both(model, args, ["sample", "temb", "context"])
    assert_matches(outs, ref)
    names = {op.name for op in module.walk()}
    assert {"cir.group_norm", "cir.silu", "cir.attention", "cir.gelu", "cir.layer_norm",
            "cir.upsample", "cir.conv2d", "cir.linear"} <= names
    assert not any(n.startswith("torch.") for n in names)


def test_tiny_unet_matches_torch():
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        **TINY_UNET).eval()
    args = (torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 7, 32))
    _, outs, ref = run_both(unet, args, ["sample", "timestep", "encoder_hidden_states"])
    assert list(outs) == ["sample"]  # named after the UNet2DConditionOutput field
    assert_matches(outs, ref.sample)


def test_vae_decoder_matches_torch():
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(32, 64),
        latent_channels=4, norm_num_groups=16, sample_size=16,
    ).eval()

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.vae = vae

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return self.vae.decode(z).sample

    _, outs, ref = run_both(Decoder().eval(), (torch.randn(1, 4, 8, 8),), ["z"])
    assert_matches(outs, ref)


def test_bert_and_gpt2_match_torch():
    from transformers import BertConfig, BertModel, GPT2Config, GPT2Model

    torch.manual_seed(0)
    ids = torch.randint(0, 100, (1, 12))
    bert = BertModel(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=64,
                                max_position_embeddings=64)).eval()
    _module, outs, ref = run_both(bert, (ids,), ["input_ids"])
    assert list(outs) == ["last_hidden_state", "pooler_output"]
    assert_matches(outs, ref.last_hidden_state)
    gpt2 = GPT2Model(GPT2Config(vocab_size=100, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                                use_cache=False, bos_token_id=0, eos_token_id=0)).eval()
    _, outs, ref = run_both(gpt2, (ids,), ["input_ids"])
    assert_matches(outs, ref.last_hidden_state)


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.norm = nn.GroupNorm(2, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.norm(self.conv(x)))


def test_locations_name_module_path_and_source_line():
    module = cir.import_model(Small().eval(), (torch.randn(1, 4, 8, 8),), stage="import")
    text = cir.to_text(module, debuginfo=True)
    this = Path(__file__).name
    conv_line = next(ln for ln in text.splitlines() if "torch.aten.convolution.default" in ln)
    assert 'loc("conv"(' in conv_line and this in conv_line
    silu_line = next(ln for ln in text.splitlines() if "torch.aten.silu.default" in ln)
    src_line = next(i for i, ln in enumerate(Path(__file__).read_text().splitlines(), 1)
                    if "return F.silu(self.norm(self.conv(x)))" in ln)
    assert f'{this}":{src_line}:0' in silu_line


def test_import_stage_is_faithful_aten():
    module = cir.import_model(Small().eval(), (torch.randn(1, 4, 8, 8),), stage="import")
    ops = [op.name for op in module.walk() if op.name.startswith("torch.")]
    assert ops == ["torch.aten.convolution.default", "torch.aten.group_norm.default",
                   "torch.aten.silu.default"]
    conv = next(op for op in module.walk() if op.name == "torch.aten.convolution.default")
    assert conv.operand_names == ["input", "weight", "bias"]
    assert conv.arg("padding") == [1, 1] and conv.arg("transposed") is False


def tool(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "circ"), *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_pt2_through_the_command_line(tmp_path):
    model, args = make_model(), example_inputs()
    torch.export.save(torch.export.export(model, args), tmp_path / "block.pt2")
    proc = tool("import", tmp_path / "block.pt2", "--stage", "cir", "-o", tmp_path / "block.cir.mlir")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "block.cir.safetensors").is_file()
    for name, a in zip(["sample", "temb", "context"], args):
        np.save(tmp_path / f"{name}.npy", a.numpy())
    proc = tool("run", tmp_path / "block.cir.mlir", "--output-dir", tmp_path / "out",
                *[x for n in ["sample", "temb", "context"] for x in ("--input", f"{n}={tmp_path / n}.npy")])
    assert proc.returncode == 0, proc.stderr
    got = np.load(tmp_path / "out" / "output_0.npy")
    assert_matches({"y": got}, model(*args))


def test_bad_model_files(tmp_path):
    torch.save(Small(), tmp_path / "model.pt")
    proc = tool("import", tmp_path / "model.pt", "-o", tmp_path / "m.mlir")
    assert proc.returncode == 1
    assert "full pickle" in proc.stderr and "torch.export.save" in proc.stderr
    ep = torch.export.export(Small().eval(), (torch.randn(1, 4, 8, 8),))
    torch.export.save(ep, tmp_path / "ok.pt2")
    (tmp_path / "bad.pt2").write_bytes((tmp_path / "ok.pt2").read_bytes()[:2000])
    proc = tool("import", tmp_path / "bad.pt2", "-o", tmp_path / "m.mlir")
    assert proc.returncode == 1 and "corrupt or truncated" in proc.stderr
    assert not (tmp_path / "m.mlir").exists() and not (tmp_path / "m.safetensors").exists()


class UsesCumprod(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cumprod(x, 0) + torch.cumprod(x * 2, 1)


def test_unmapped_ops_are_listed_with_count_and_location():
    with pytest.raises(CircError) as e:
        cir.import_model(UsesCumprod(), (torch.randn(3, 4),))
    msg = str(e.value)
    assert "1 pytorch operator(s) have no CIR mapping" in msg
    assert "aten.cumprod.default x2" in msg and Path(__file__).name in msg


# --- custom op mapping ----------------------------------------------------------------------

@torch.library.custom_op("circtest::gn_silu", mutates_args=())
def gn_silu(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, groups: int,
            eps: float) -> torch.Tensor:
    return F.silu(F.group_norm(x, groups, weight, bias, eps))


@gn_silu.register_fake
def _(x, weight, bias, groups, eps):
    return torch.empty_like(x)


class WithCustomOp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.weight = nn.Parameter(torch.randn(8))
        self.bias = nn.Parameter(torch.randn(8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gn_silu(self.conv(x), self.weight, self.bias, 4, 1e-5)


CUSTOM_OP_MAP = """
[ops."circtest.gn_silu.default"]
steps = [
  { cir = "cir.group_norm", operands = ["x", "weight", "bias"], attrs = { num_groups = "groups", epsilon = "eps" }, as = "n" },
  { cir = "cir.silu", operands = ["%n"] },
]
"""


def test_custom_torch_library_op(tmp_path):
    model, x = WithCustomOp().eval(), torch.randn(1, 4, 8, 8)
    with pytest.raises(CircError, match="circtest.gn_silu.default x1"):
        cir.import_model(model, (x,))
    (tmp_path / "map.toml").write_text(CUSTOM_OP_MAP)
    module = cir.import_model(model, (x,), custom_ops=tmp_path / "map.toml")
    assert_matches(cir.interpret(module, {"x": x.numpy()}), model(x))


class GroupNormSD(nn.Module):
    """A hand-written GroupNorm (as SD codebases have), built from primitive ops."""

    def __init__(self, groups: int, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.num_groups, self.eps = groups, eps
        self.weight = nn.Parameter(torch.randn(channels))
        self.bias = nn.Parameter(torch.randn(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = x.view(b, self.num_groups, -1)
        var, mean = torch.var_mean(g, dim=-1, keepdim=True, correction=0)
        g = (g - mean) / torch.sqrt(var + self.eps)
        return g.view(b, c, h, w) * self.weight[:, None, None] + self.bias[:, None, None]


class WithModuleClass(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.norm = GroupNormSD(2, 8)
        self.norm2 = GroupNormSD(4, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm2(F.silu(self.norm(self.conv(x))))


MODULE_MAP = """
[modules.GroupNormSD]
cir = "cir.group_norm"
operands = ["input0", "weight", "bias"]
attrs = { num_groups = "num_groups", epsilon = "eps" }
"""


def test_module_class_mapping(tmp_path):
    model, x = WithModuleClass().eval(), torch.randn(1, 4, 8, 8)
    (tmp_path / "map.toml").write_text(MODULE_MAP)
    module = cir.import_model(model, (x,), custom_ops=tmp_path / "map.toml", stage="import")
    assert [op.name for op in module.walk() if op.name.startswith("torch.module")] == [
        "torch.module.GroupNormSD"] * 2
    module = cir.import_model(model, (x,), custom_ops=tmp_path / "map.toml")
    norms = [op for op in module.walk() if op.name == "cir.group_norm"]
    assert [n.p["num_groups"] for n in norms] == [2, 4]
    assert_matches(cir.interpret(module, {"x": x.numpy()}), model(x))


def test_mapping_file_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[modules.GroupNormSD]\ncir = "cir.group_norm_fancy"\n')
    with pytest.raises(CircError, match=r"bad.toml: entry 'module.GroupNormSD': unknown CIR op 'cir.group_norm_fancy'"):
        cir.import_model(WithModuleClass(), (torch.randn(1, 4, 8, 8),), custom_ops=bad)
    bad.write_text('[ops."x.y"]\ncir = "cir.relu"\nattrs = { axis = "1" }\n')
    with pytest.raises(CircError, match="cir.relu has no property 'axis'"):
        cir.import_model(Small(), (torch.randn(1, 4, 8, 8),), custom_ops=bad)
    bad.write_text("[ops\n")
    with pytest.raises(CircError, match="bad.toml: not valid TOML"):
        cir.import_model(Small(), (torch.randn(1, 4, 8, 8),), custom_ops=bad)
    proc = tool("ops", "--custom-ops", bad)
    assert proc.returncode == 1 and "not valid TOML" in proc.stderr


def test_circ_ops_lists_the_table():
    proc = tool("ops", "--framework", "pytorch")
    assert proc.returncode == 0
    assert "aten.convolution.default" in proc.stdout and "cir.conv_transpose2d" in proc.stdout
    assert "pytorch operators mapped" in proc.stdout


# --- integers, booleans and advanced indexing (issue #13) ---------------------------------


class Indexing(nn.Module):
    """x[i], x[:, i, j] (adjacent: in place), x[i, :, j] (apart: in front), x[ids.argmax()]."""

    def forward(self, x, i, j):
        a = x[i]
        b = x[:, i, j]
        c = x[j, :, i]
        d = x[torch.arange(x.shape[0]), x.sum(-1).argmax(-1)]
        return torch.cat([a.flatten(), b.flatten(), c.flatten(), d.flatten()])


class IndexPut(nn.Module):
    def forward(self, x, i, v):
        y = x.index_put((i,), v, accumulate=True)  # repeats in i add up
        y = y.clone()
        y[:, i[:2]] = -1.0  # x[:, idx] = scalar: index_put with a None slot
        z = torch.zeros_like(x).scatter_add(1, i[None, :2].expand(x.shape[0], 2), x[:, :2])
        return y + z.scatter(0, i[:1, None].expand(1, x.shape[1]) % x.shape[0], 5.0)


class MaskedPut(nn.Module):
    """x[mask] = v with one v for every selected position: no data-dependent shape."""

    def forward(self, x, m):
        y = x.clone()
        y[m] = -2.0
        y[:, m[0]] = torch.arange(4.0)
        return y.index_put((m,), torch.tensor(1.5), accumulate=True)


class Cumulative(nn.Module):
    def forward(self, x, n):
        return torch.cumsum(x, 1) * torch.cumsum(n, 0).float() + torch.cumsum(n > 1, 1)


class MaskedAttention(nn.Module):
    """A bool attention mask: padding & causal, combined with bitwise ops, as HF models do."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("causal", torch.tril(torch.ones(6, 6, dtype=torch.bool)))
        self.qkv = nn.Linear(8, 24)

    def forward(self, x, ids):
        q, k, v = self.qkv(x).chunk(3, -1)
        keep = (ids != 0)[:, None, :] & self.causal
        keep = keep | ~(ids > 0)[:, :, None] ^ torch.logical_not(torch.ones_like(keep))
        scores = (q @ k.transpose(1, 2)).masked_fill(~keep, -1e9)
        return scores.softmax(-1) @ v


class Integers(nn.Module):
    def forward(self, a, b, x):
        q = torch.div(a, b, rounding_mode="floor") + a // b - torch.div(a, b, rounding_mode="trunc")
        r = a % b + torch.fmod(a, b) + torch.remainder(a, 3)
        f = torch.div(x, 0.7, rounding_mode="trunc") + torch.fmod(x, 0.5) + x % 0.3
        return (q * r).float().sum() + f + F.normalize(x, dim=-1)


class Conv1dPools(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 3, padding=2, dilation=2, stride=2)
        self.up = nn.ConvTranspose1d(6, 4, 4, stride=2, padding=1)

    def forward(self, x):
        h = self.up(F.relu(self.conv(x)))
        pooled = F.max_pool1d(h, 2) + F.avg_pool1d(h, 2) + F.adaptive_avg_pool1d(h, h.shape[-1] // 2)
        return torch.cat([pooled, F.adaptive_max_pool1d(h, h.shape[-1] // 2)], 1)


class Windows(nn.Module):
    """Sliding windows as views: Tensor.unfold and an as_strided window over a contiguous x."""

    def forward(self, x):
        w = x.unfold(2, 3, 2)  # (N, C, n, 3)
        s = x.contiguous().as_strided((2, 4, 3, 3), (40, 10, 2, 1))
        return w.sum(-1)[:, :, :3] + s.mean(-1) + F.adaptive_avg_pool2d(x[:, :, None], (1, 5))[:, :, 0, :3]


RNG = np.random.default_rng(13)
IDX = torch.tensor([3, 0, 3, 1])
CASES = {
    "indexing": (Indexing(), (torch.randn(4, 5, 6), IDX, torch.tensor([3, 1, 0, 2]))),
    "index_put": (IndexPut(), (torch.randn(4, 5), IDX, torch.randn(4, 5))),
    "masked_put": (MaskedPut(), (torch.randn(3, 5, 4), torch.randn(3, 5) > 0)),
    "cumsum": (Cumulative(), (torch.randn(4, 5), torch.randint(-3, 4, (4, 5)))),
    "bool_mask_attention": (MaskedAttention(), (torch.randn(2, 6, 8), torch.tensor([[5, 3, 1, 0, 0, 0], [2, 2, 2, 2, 2, 0]]))),
    "integers": (Integers(), (torch.randint(-20, 20, (3, 4)), torch.tensor([3, -2, 5, -7]), torch.randn(3, 4) * 3)),
    "conv1d_pools": (Conv1dPools(), (torch.randn(2, 4, 16),)),
    "windows": (Windows(), (torch.randn(2, 4, 10),)),
}


@pytest.mark.parametrize("name", CASES)
def test_integer_bool_and_indexing_modules_match_torch(name):
    model, args = CASES[name]
    names = list(model.forward.__code__.co_varnames[1 : len(args) + 1])
    module, outs, ref = run_both(model.eval(), args, names)
    assert_matches(outs, ref)
    assert not any(op.name.startswith("torch.") for op in module.walk())


def test_clip_text_pooled_output_uses_argmax_indexing():
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    cfg = CLIPTextConfig(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=16, bos_token_id=1,
                         eos_token_id=2, pad_token_id=0)
    ids = torch.randint(3, 100, (2, 10))
    ids[0, 6], ids[1, 9] = 2, 2  # the pooled output is taken at the first eos token
    module, outs, ref = run_both(CLIPTextModel(cfg).eval(), (ids,), ["input_ids"])
    assert_matches({"p": outs["pooler_output"]}, ref.pooler_output)
    assert_matches(outs, ref.last_hidden_state)
    assert "cir.gather_nd" in {op.name for op in module.walk()}


def test_swin_relative_position_bias_gathers_from_the_index_buffer():
    from transformers import SwinConfig, SwinModel

    torch.manual_seed(0)
    model = SwinModel(SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[2, 2],
                                 num_heads=[2, 4], window_size=4)).eval()
    module, outs, ref = run_both(model, (torch.randn(1, 3, 32, 32),), ["pixel_values"])
    assert_matches(outs, ref.last_hidden_state)
    assert "cir.gather" in {op.name for op in module.walk()}


def test_data_dependent_shapes_are_one_clean_error():
    class MaskSelect(nn.Module):
        def forward(self, x):
            return x[x > 0]

    with pytest.raises(CircError, match="data-dependent shape"):
        cir.import_model(MaskSelect(), (torch.randn(3, 4),))


@pytest.mark.parametrize("shape, size", [((1, 3, 1, 1), (7, 7)), ((2, 4, 10, 9), (3, 4)), ((1, 2, 6, 6), (3, 2))])
def test_adaptive_avg_pool_any_size(shape, size):
    """VGG's adaptive pool to 7x7 (from 1x1 at a small input) and sizes that do not divide the
    input: constant averaging matrices on both sides, PyTorch's windows exactly."""

    class Pool(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.adaptive_avg_pool2d(x, size)

    _, outs, ref = run_both(Pool(), (torch.randn(*shape),), ["x"])
    np.testing.assert_allclose(next(iter(outs.values())), ref.numpy(), rtol=0, atol=1e-6)


def test_varargs_forward_gets_distinct_input_names(tmp_path):
    """forward(*args): the inputs are args, args_1 (they were both 'args', and the package
    refused to load)."""

    class Sum(nn.Module):
        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return args[0] + 2 * args[1]

    a, b = torch.randn(2, 3), torch.randn(2, 3)
    pkg = cir.compile(Sum(), tmp_path / "va.circ", example_inputs=(a, b), soc="Ascend910B1")
    with cir.load(pkg) as sess:
        assert [t.name for t in sess.inputs] == ["args", "args_1"]
        out = sess.run({"args": a.numpy(), "args_1": b.numpy()})
    np.testing.assert_allclose(next(iter(out.values())), (a + 2 * b).numpy(), rtol=1e-6, atol=1e-6)
