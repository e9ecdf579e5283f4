"""AIGC fusion: the rule language, the strategy database, and numerics on real models.

Every pass must keep numerics: the reference interpreter runs the model before and after and
the outputs must agree to 1e-5 relative to the largest magnitude (fused kernels compute the
same formulas in the same fp32 order, up to the summation order of norms).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from cir.passes.fusion.aigc_fusion import fuse, resolve
from cir.passes.fusion.rules import parse_rules

import cir
from cir.errors import CircError
from cir.io import verify

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from examples.diffusers_models import TINY_UNET
from examples.sd_block.torch_block import example_inputs, make_model

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "text,message",
    [
        ("rule r:\n  %y = cir.silu(%x)\n  => %y = \n", "r.rules:3:"),
        ("rule r:\n  %y = cir.silu(%x) {\n", "r.rules:2:"),
        ("rule r:\n  %y = cir.swish(%x)\n  => %y = cir.silu(%x)\n", "unknown CIR op 'cir.swish'"),
        ("rule r:\n  %y = cir.silu(%x) {alpha = 1}\n  => %y = cir.relu(%x)\n",
         "cir.silu has no property 'alpha'"),
        ("rule r:\n  %y = cir.silu(%x)\n  => %z = cir.relu(%x)\n",
         "replaces %z, which the pattern does not define"),
        ("rule r:\n  %y = cir.silu(%x)\n  where x[0 ==\n  => %y = cir.relu(%x)\n",
         "bad table expression"),
    ],
)
def test_rule_file_errors_name_the_place(text, message):
    with pytest.raises(CircError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_rules(text, "r.rules")


def test_parse_errors_point_at_line_and_column():
    with pytest.raises(CircError) as e:
        parse_rules("rule ok:\n  %y = cir.silu(%x)\n  => %y = cir.relu(%x)\nrule bad\n", "r.rules")
    assert str(e.value).startswith("r.rules:4:")


def test_unknown_preset_and_rule():
    with pytest.raises(CircError, match="unknown fusion preset 'fast'"):
        resolve("fast")


USER_RULES = """
rule silu_as_sigmoid_mul:
    %s = cir.sigmoid(%x)
    %y = cir.mul(%x, %s)
    => %y = cir.silu(%x)
"""
USER_DB = """
[presets.mine]
description = "swish written out -> silu, then GN+SiLU"
rules = ["silu_as_sigmoid_mul", "group_norm_silu"]
"""
MODULE = """
func.func @main(%x: tensor<1x8x4x4xf32>, %c: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %n = cir.group_norm %x, %c, %c {num_groups = 2} : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %s = cir.sigmoid %n : tensor<1x8x4x4xf32>
  %y = cir.mul %s, %n : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  func.return %y : tensor<1x8x4x4xf32>
}
"""


def test_users_extend_rules_and_presets_without_python(tmp_path):
    (tmp_path / "mine.rules").write_text(USER_RULES)
    (tmp_path / "db.toml").write_text(USER_DB)
    (tmp_path / "m.mlir").write_text(MODULE)
    spec = f'aigc-fusion{{preset=mine rules="{tmp_path / "mine.rules"}" strategies="{tmp_path / "db.toml"}"}}'
    proc = subprocess.run([str(BIN / "circ-opt"), str(tmp_path / "m.mlir"), "-p", spec,
                           "--fusion-report"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "cir.group_norm_silu %x, %c, %c" in proc.stdout  # commuted mul matched, then GN+SiLU
    assert "silu_as_sigmoid_mul" in proc.stderr and "group_norm_silu" in proc.stderr
    (tmp_path / "bad.rules").write_text("rule broken\n")
    pipeline = (f'aigc-fusion{{preset=mine rules="{tmp_path / "bad.rules"}" '
                f'strategies="{tmp_path / "db.toml"}"}}')
    proc = subprocess.run([str(BIN / "circ-opt"), str(tmp_path / "m.mlir"), "-p", pipeline],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "bad.rules:1:6: syntax error" in proc.stderr
    assert "Traceback" not in proc.stderr


def _compare(module, inputs, preset):
    before = cir.interpret(module, inputs)
    cir.apply_pipeline(module, "canonicalize")
    counts = fuse(module, resolve(preset))
    verify(module)
    after = cir.interpret(module, inputs)
    for k in before:
        scale = max(float(np.abs(before[k]).max()), 1.0)
        np.testing.assert_allclose(after[k], before[k], rtol=0, atol=1e-5 * scale)
    return counts


def test_sd_block_fusion_keeps_numerics():
    model, args = make_model(), example_inputs()
    module = cir.import_model(model, args)
    inputs = dict(zip(["sample", "temb", "context"], (a.numpy() for a in args)))
    counts = _compare(module, inputs, "sd_optimized")
    assert counts["flash_attention_from_sdpa"] == 2 and counts["geglu"] == 1
    assert counts["add_group_norm"] + counts["group_norm_silu"] + counts["add_group_norm_silu"] >= 3


def test_tiny_unet_fusion_keeps_numerics():
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        **TINY_UNET).eval()
    args = (torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 7, 32))
    module = cir.import_model(unet, args)
    inputs = {"sample": args[0].numpy(), "timestep": args[1].numpy(),
              "encoder_hidden_states": args[2].numpy()}
    counts = _compare(module, inputs, "sd_optimized")
    assert counts["conv_gn_silu"] >= 1
    assert counts["flash_attention_from_sdpa"] == 8 and counts["geglu"] == 4
    # 8 residual adds + LayerNorm, and 4 proj_in bias adds (canonicalize made proj_in a matmul
    # + bias add) + the first LayerNorm
    assert counts["add_layer_norm"] == 12


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_bert_transformer_preset_keeps_numerics(attn):
    """HF BERT either way it attends: sdpa (cir.attention with its bool mask) or eager (bmm over
    flattened heads, K^T, scale, additive mask, softmax). canonicalize undoes the flattening and
    lets Q K^T read K transposed; each layer's attention becomes one flash attention on the
    (B, S, H) projections, mask kept, and no transpose or softmax is left."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    bert = BertModel(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                num_attention_heads=4, intermediate_size=64,
                                max_position_embeddings=64, attn_implementation=attn)).eval()
    ids = torch.randint(0, 100, (1, 12))
    module = cir.import_model(bert, (ids,))
    counts = _compare(module, {"input_ids": ids.numpy()}, "transformer")
    assert counts["linear_gelu"] == 2 and counts["add_layer_norm"] >= 4
    rule = "flash_attention_from_sdpa" if attn == "sdpa" else "flash_attention_from_matmuls_masked_tb"
    assert counts[rule] == 2 and counts["flash_attention_bsh"] == 2
    fused = [op for op in module.walk() if op.name == "cir.flash_attention"]
    assert len(fused) == 2 and all(len(op.operands) == 4 for op in fused)  # the mask
    assert not any(op.name in ("cir.transpose", "cir.softmax", "cir.attention") for op in module.walk())


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_cnn_conv_epilogues_keep_numerics(name):
    """torchvision CNNs (random weights): after canonicalize folds each BatchNorm into its conv,
    every conv + [skip add +] activation the model has becomes one conv2d_act."""
    from tests.torchvision_compat import import_torchvision

    import_torchvision()
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(1, 3, 64, 64)
    module = cir.import_model(model, (x,))
    counts = _compare(module, {"x": x.numpy()}, "cnn")
    fused = sum(op.name == "cir.conv2d_act" for op in module.walk())
    if name == "resnet18":  # 8 blocks: conv-bn-relu, then conv-bn + skip + relu; the stem conv
        assert counts["conv_add_relu"] == 8 and counts["conv_relu"] == 9 and fused == 17
    else:  # relu / hardswish after the convs, the inverted residuals' projection + skip
        assert counts["conv_hardswish"] >= 10 and counts["conv_relu"] >= 5 and counts["conv_add"] == 6

