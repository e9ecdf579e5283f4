"""Fusion on the diffusers tiny UNet: circ's aigc-fusion{preset=sd_optimized} beside ONNX
Runtime's transformer optimizer (model_type="unet") on the same model exported to ONNX.

Prints fused-op counts per kind, side by side. The anchor: circ should fuse everything ORT
fuses there, plus Conv+GroupNorm+SiLU.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the bundled examples

from examples.diffusers_models import TINY_UNET  # noqa: E402

import collections
import logging
import os
import tempfile
import warnings

import torch

import cir
from cir.passes.fusion.aigc_fusion import fuse, resolve

# kind -> (ORT fused op types, circ fused CIR ops)
KINDS = {
    "GroupNorm (+SiLU)": (("GroupNorm",), ("cir.group_norm_silu",)),
    "skip-add + GroupNorm": (("SkipGroupNorm",), ("cir.add_group_norm",)),
    "Conv + GroupNorm + SiLU": ((), ("cir.conv_gn_silu",)),
    "attention": (("Attention", "MultiHeadAttention"), ("cir.flash_attention",)),
    "GEGLU / BiasSplitGelu": (("BiasSplitGelu",), ("cir.geglu",)),
    "Gelu (from erf form)": (("Gelu", "FastGelu", "BiasGelu"), ("cir.gelu", "cir.geglu", "cir.linear_act")),
    "skip-add + LayerNorm": (("SkipLayerNormalization",), ("cir.add_layer_norm",)),
    "LayerNorm (from primitives)": (("LayerNormalization",), ("cir.layer_norm", "cir.add_layer_norm")),
}
# not a fusion: ORT's NhwcConv and circ's NC1HWC0 convs are layout choices, printed for context
LAYOUT_ROW = ("conv in a hardware layout", ("NhwcConv",), ("5HD conv",))


def tiny_unet():
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        **TINY_UNET).eval()
    return unet, (torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 7, 32))


def ort_counts(model, args) -> collections.Counter:
    import onnx
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    path = os.path.join(tempfile.mkdtemp(), "unet.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, args, path, dynamo=True,
                          input_names=["sample", "timestep", "encoder_hidden_states"])
    logging.disable(logging.WARNING)
    opt = optimize_model(path, model_type="unet", num_heads=0, hidden_size=0, opt_level=0,
                         use_gpu=True, optimization_options=FusionOptions("unet"))
    before = collections.Counter(n.op_type for n in onnx.load(path).graph.node)
    after = collections.Counter(n.op_type for n in opt.model.graph.node)
    return collections.Counter({k: v for k, v in after.items() if v > before.get(k, 0)})


def circ_counts(model, args) -> collections.Counter:
    module = cir.import_model(model, args)
    cir.apply_pipeline(module, "canonicalize")
    fired = fuse(module, resolve("sd_optimized"))
    counts = collections.Counter(op.name for op in module.walk())
    cir.apply_pipeline(module, "layout{soc=Ascend910B1}")
    counts["5HD conv"] = sum(
        1 for op in module.walk()
        if op.name in ("cir.conv2d", "cir.conv_gn_silu") and "NC1HWC0" in str(op.operands[0].type)
    )
    counts["_rules"] = sum(fired.values())
    return counts


def main() -> None:
    model, args = tiny_unet()
    ort = ort_counts(model, args)
    ours = circ_counts(model, args)
    print(f"{'fusion kind':<30} {'ORT (unet)':>10} {'circ':>6}   circ op(s)")
    ok = True
    for kind, (ort_ops, circ_ops) in KINDS.items():
        o = sum(ort[t] for t in ort_ops)
        c = sum(ours[t] for t in circ_ops)
        ok &= c >= o
        print(f"{kind:<30} {o:>10} {c:>6}   {', '.join(circ_ops)}")
    name, ort_ops, circ_ops = LAYOUT_ROW
    print(f"{name:<30} {sum(ort[t] for t in ort_ops):>10} {sum(ours[t] for t in circ_ops):>6}"
          "   NHWC (ORT) / NC1HWC0 (circ; convs fused with an unaligned GroupNorm stay ND)")
    print(f"ORT fused op types: {dict(ort)}")
    print(f"circ rules fired: {ours['_rules']}; circ covers every ORT fusion: {ok}")


if __name__ == "__main__":
    main()
