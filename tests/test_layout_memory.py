"""Layout and memory planning on real models.

- layout keeps numerics: the interpreter packs/unpacks every trans_data and pre-packed weight,
  and the outputs must equal the un-laid-out module's exactly (packing only moves bytes);
- the memory plan is valid: buffers alive at the same time never overlap, offsets are 32-byte
  aligned, and running the model *through the arena* (every intermediate written to and read
  back from its planned offset) gives the same outputs as the plain interpreter.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from cir.passes.layout import layout
from cir.passes.plan_memory import ALIGN, VIEW_OPS, plan_memory

import cir
from cir import ops
from cir.interpreter import CirFunctions, constant_array, evaluate_op
from cir.io import verify
from cir.signature import check_inputs, entry_function, output_names
from cir.types import dtype_of
from cir.weights import weights_of

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from examples.diffusers_models import TINY_UNET
from examples.sd_block.torch_block import example_inputs, make_model

PIPELINE = "canonicalize,aigc-fusion{preset=sd_optimized}"  # then layout{soc=Ascend310P3}, plan-memory


def tiny_unet():
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        **TINY_UNET).eval()
    args = (torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 7, 32))
    return unet, args, ["sample", "timestep", "encoder_hidden_states"]


def sd_block():
    return make_model(), example_inputs(), ["sample", "temb", "context"]


def run_through_arena(module, inputs) -> dict[str, np.ndarray]:
    """Execute `main` op by op with every intermediate stored at its planned arena offset."""
    f = entry_function(module)
    arena = np.zeros(module.attributes["cir.arena_bytes"].value.data + 64, np.uint8)
    store = weights_of(module)
    env: dict[int, np.ndarray] = {
        id(a): v for a, v in zip(f.body.block.args, check_inputs(f, inputs))
    }

    def read(v):
        if id(v) in env:
            return env[id(v)]
        offset, t = placed[id(v)]
        dt = dtype_of(t).np
        n = int(np.prod(t.get_shape())) * dt.itemsize
        return arena[offset:offset + n].view(dt).reshape(t.get_shape()).copy()

    placed: dict[int, tuple[int, object]] = {}
    outputs = []
    for op in f.body.block.ops:
        if op.name == "func.return":
            outputs = [read(v) for v in op.operands]
            break
        if isinstance(op, ops.ConstantOp):
            env[id(op.result)] = constant_array(op)
            continue
        if isinstance(op, ops.WeightOp):
            env[id(op.result)] = CirFunctions(store).run_weight(None, op, ()).values[0]  # type: ignore[call-arg]
            continue
        results = evaluate_op(op, [read(v) for v in op.operands])
        for res, val, off in zip(op.results, results, op.attributes["cir.mem"].get_values()):
            if off < 0:  # a view of an input or a weight lives where they do
                assert op.name in VIEW_OPS and id(op.operands[0]) in env
                env[id(res)] = val
                continue
            assert off % ALIGN == 0
            raw = np.ascontiguousarray(val).view(np.uint8).reshape(-1)
            arena[off:off + raw.size] = raw
            placed[id(res)] = (off, res.type)
    return dict(zip(output_names(f), outputs))


@pytest.mark.parametrize("make", [sd_block, tiny_unet], ids=["sd_block", "tiny_unet"])
def test_layout_and_plan_keep_numerics(make):
    model, args, names = make()
    module = cir.import_model(model, args)
    inputs = {n: a.numpy() for n, a in zip(names, args)}
    before = cir.interpret(module, inputs)
    cir.apply_pipeline(module, PIPELINE)
    assert layout(module, "Ascend310P3").packed_weights > 0
    plans = plan_memory(module)
    verify(module)
    assert any(isinstance(op, ops.TransDataOp) for op in module.walk())
    after = cir.interpret(module, inputs)
    for k in before:
        scale = max(float(np.abs(before[k]).max()), 1.0)
        np.testing.assert_allclose(after[k], before[k], rtol=0, atol=1e-5 * scale)

    plan = plans["main"]
    assert plan.lower_bound <= plan.arena_bytes <= plan.naive_bytes
    for i, a in enumerate(plan.buffers):
        assert a.offset % ALIGN == 0
        for b in plan.buffers[i + 1:]:
            if a.start <= b.end and b.start <= a.end:  # alive together
                assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset

    through_arena = run_through_arena(module, inputs)
    for k in after:
        np.testing.assert_array_equal(through_arena[k], after[k])
