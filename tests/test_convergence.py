"""One model from three frameworks converges on one CIR graph.

The Stable-Diffusion-style block of examples/sd_block exists in PyTorch, Keras 3 (NHWC inside)
and MindSpore, all three with the same weights (the torch state dict, copied). After import ->
normalise -> ``canonicalize,cse`` the three modules must be the same graph (cir.compare: same
ops in the same canonical order with the same attributes, wiring and weight values; value
names, locations and weight names aside), and each must match its own framework's output.

Tolerance: 1e-4 of the output's largest magnitude (+1e-5), as for the PyTorch frontend: the
interpreter and the frameworks differ only in summation order inside convs, matmuls and norms.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import cir
from cir.compare import graph_diff, walk
from cir.errors import CircError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from examples.sd_block import keras_block, ms_block, torch_block

NAMES = ["sample", "temb", "context"]
PIPELINE = "canonicalize,cse"


def close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale + 1e-5)


@pytest.fixture(scope="module")
def blocks(tmp_path_factory):
    """The three blocks (one set of weights), their CIR modules and their own outputs."""
    import mindspore as ms
    from mindspore import nn

    tm, args = torch_block.make_model(), torch_block.example_inputs()
    arrays = [a.numpy() for a in args]
    with torch.no_grad():
        ref = {"pytorch": tm(*args).numpy()}
    km = keras_block.from_torch(tm)
    ref["tensorflow"] = np.asarray(km(arrays, training=False))
    mm = ms_block.from_torch(tm)
    path = tmp_path_factory.mktemp("ms") / "sd_block"
    ms.export(mm, *[ms.Tensor(a) for a in arrays], file_name=str(path), file_format="MINDIR")
    mindir = path.with_suffix(".mindir")
    ref["mindspore"] = nn.GraphCell(ms.load(str(mindir)))(*[ms.Tensor(a) for a in arrays]).asnumpy()
    modules = {
        "pytorch": cir.import_model(tm, args),
        "tensorflow": cir.import_model(km),  # input shapes from the Keras model
        "mindspore": cir.import_model(mindir),
    }
    for m in modules.values():
        cir.apply_pipeline(m, PIPELINE)
    return modules, ref, dict(zip(NAMES, arrays))


@pytest.mark.parametrize("fw", ["pytorch", "tensorflow", "mindspore"])
def test_each_matches_its_framework(blocks, fw):
    modules, ref, feeds = blocks
    outs = cir.interpret(modules[fw], feeds)
    close(next(iter(outs.values())), ref[fw])
    # and the frameworks agree with each other on the shared weights
    close(ref[fw], ref["pytorch"])


def test_three_frameworks_give_one_graph(blocks):
    modules, _, _ = blocks
    for fw in ("tensorflow", "mindspore"):
        assert graph_diff(modules["pytorch"], modules[fw]) == [], fw
    _, nodes = walk(modules["pytorch"])
    kinds = [n.name for n in nodes]
    assert kinds.count("cir.group_norm") == 3 and kinds.count("cir.attention") == 2
    assert kinds.count("cir.conv2d") == 6 and kinds.count("cir.silu") == 3
    assert {"cir.layer_norm", "cir.gelu", "cir.upsample", "cir.linear"} <= set(kinds)
    # NHWC Keras leaves no layout change the PyTorch graph does not have
    transposes = {fw: sum(1 for op in m.walk() if op.name == "cir.transpose")
                  for fw, m in modules.items()}
    assert transposes["tensorflow"] == transposes["mindspore"] == transposes["pytorch"]
    for m in modules.values():
        assert not any(op.name.split(".")[0] in ("torch", "tf", "ms") for op in m.walk())


def test_graph_diff_reports_differences(blocks):
    modules, _, _ = blocks
    assert graph_diff(modules["pytorch"], modules["pytorch"]) == []
    # another block with other weights: the same ops, different weight values
    other = cir.apply_pipeline(cir.import_model(torch_block.make_model(seed=1),
                                                torch_block.example_inputs()), PIPELINE)
    diff = graph_diff(modules["pytorch"], other)
    assert diff and "cir.weight" in diff[0] and "value" in diff[0]


def test_unknown_model_object():
    with pytest.raises(CircError, match="not a model circ knows"):
        cir.import_model(object())
