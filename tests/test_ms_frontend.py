"""The MindSpore frontend end to end: nn.Cells (exported to MINDIR on the CPU) and .mindir
files -> ms import dialect -> normalize-ms -> CIR -> the reference interpreter, compared with
MindSpore (``nn.GraphCell(ms.load(path))`` on the CPU).

The mint ``*Ext`` ops (Conv2DExt, LayerNormExt, GeluExt, BatchMatMulExt, Dense...) only run on
Ascend: their reference is the PyTorch twin of the same model, with the same weights.
Tolerance: 1e-4 of the output's largest magnitude (+1e-5), as for the PyTorch frontend.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as F
from mindspore import mint, nn, ops

import cir
from cir.errors import CircError

BIN = Path(sys.executable).parent


def close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale + 1e-5)


def export(cell: nn.Cell, inputs: list[np.ndarray], path: Path) -> Path:
    cell.set_train(False)
    ms.export(cell, *[ms.Tensor(a) for a in inputs], file_name=str(path), file_format="MINDIR")
    return path.with_suffix(".mindir")


def reference(mindir: Path, inputs: list[np.ndarray]) -> np.ndarray:
    return nn.GraphCell(ms.load(str(mindir)))(*[ms.Tensor(a) for a in inputs]).asnumpy()


def random_statistics(cell: nn.Cell, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for p in cell.get_parameters():
        if "moving_variance" in p.name or "running_var" in p.name:
            p.set_data(ms.Tensor(rng.uniform(0.5, 1.5, p.shape).astype(np.float32)))
        elif "moving_mean" in p.name or "running_mean" in p.name:
            p.set_data(ms.Tensor(rng.normal(0, 0.1, p.shape).astype(np.float32)))


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2_100"])
def test_mindcv_models_match_mindspore(name, tmp_path):
    mindcv = pytest.importorskip("mindcv")
    net = mindcv.models.create_model(name, pretrained=False, num_classes=10)
    random_statistics(net)
    x = np.random.default_rng(1).standard_normal((1, 3, 64, 64)).astype(np.float32)
    mindir = export(net, [x], tmp_path / name)
    module = cir.import_model(mindir)
    close(cir.interpret(module, {"x": x})["output_0"], reference(mindir, [x]))
    names = [op.name for op in module.walk()]
    assert not any(n.startswith("ms.") for n in names)
    assert names.count("cir.batch_norm") == names.count("cir.conv2d")


class Small(nn.Cell):
    def __init__(self):
        super().__init__()
        self.norm = nn.GroupNorm(2, 8, eps=1e-6)
        self.conv = nn.Conv2d(8, 8, 3, pad_mode="pad", padding=1, has_bias=True)
        self.head = nn.Dense(8, 4)

    def construct(self, x):
        h = self.conv(ops.silu(self.norm(x)))
        return self.head(h.mean(axis=(2, 3)))


def test_import_dialect_is_faithful(tmp_path):
    x = np.random.default_rng(0).standard_normal((1, 8, 6, 6)).astype(np.float32)
    module = cir.import_model(Small(), (x,), stage="import")
    names = [op.name for op in module.walk()]
    assert {"ms.GroupNorm", "ms.SiLU", "ms.Conv2D", "ms.BiasAdd", "ms.MatMul"} <= set(names)
    for plumbing in ("Load", "UpdateState", "Depend", "MakeTuple", "TupleGetItem", "Constant"):
        assert f"ms.{plumbing}" not in names
    gn = next(op for op in module.walk() if op.name == "ms.GroupNorm")
    assert gn.operand_names == ["input", "weight", "bias"]
    assert gn.arg("num_groups") == 2 and gn.arg("eps") == 1e-6  # from Constant inputs
    conv = next(op for op in module.walk() if op.name == "ms.Conv2D")
    assert conv.arg("pad_list") == [1, 1, 1, 1] and conv.arg("pad_mode") == "pad"  # primitive
    weights = {op.sym_name.data for op in module.walk() if op.name == "cir.weight"}
    assert {"norm.gamma", "conv.weight", "head.bias"} <= weights
    text = cir.to_text(module, debuginfo=True)
    line = next(ln for ln in text.splitlines() if "ms.GroupNorm" in ln)
    assert 'loc("Default/norm-GroupNorm/GroupNorm-op0"' in line  # the cell scope


class MintNet(nn.Cell):
    """mint ops, which MindSpore runs on Ascend only."""

    def __init__(self):
        super().__init__()
        self.conv = mint.nn.Conv2d(8, 8, 3, padding=1)
        self.gn = mint.nn.GroupNorm(2, 8)
        self.ln = mint.nn.LayerNorm((8,))
        self.lin = mint.nn.Linear(8, 16)
        self.gelu = mint.nn.GELU()

    def construct(self, x):
        h = self.gn(self.conv(x))
        t = h.reshape(1, 8, 16).transpose(0, 2, 1)
        t = self.gelu(self.lin(self.ln(t)))
        s = mint.softmax(mint.bmm(t, mint.transpose(t, 1, 2)) * 0.25, dim=-1)
        u = mint.nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
        return mint.bmm(s, t) + mint.mean(u, dim=(2, 3)).reshape(1, 1, 8).tile((1, 1, 2))


class TorchTwin(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(8, 8, 3, padding=1)
        self.gn = tnn.GroupNorm(2, 8)
        self.ln = tnn.LayerNorm(8)
        self.lin = tnn.Linear(8, 16)

    def forward(self, x):
        h = self.gn(self.conv(x))
        t = h.reshape(1, 8, 16).transpose(1, 2)
        t = F.gelu(self.lin(self.ln(t)))
        s = torch.softmax(torch.bmm(t, t.transpose(1, 2)) * 0.25, dim=-1)
        u = F.interpolate(h, scale_factor=2.0, mode="nearest")
        return torch.bmm(s, t) + u.mean(dim=(2, 3)).reshape(1, 1, 8).repeat(1, 1, 2)


def test_mint_ops_match_the_pytorch_twin(tmp_path):
    torch.manual_seed(0)
    twin = TorchTwin().eval()
    net = MintNet()
    state = twin.state_dict()
    for name, p in net.parameters_and_names():
        p.set_data(ms.Tensor(state[name].numpy()))
    x = np.random.default_rng(0).standard_normal((1, 8, 4, 4)).astype(np.float32)
    mindir = export(net, [x], tmp_path / "mint")
    imported = cir.import_model(mindir, stage="import")
    kinds = {op.name for op in imported.walk()}
    assert {"ms.Conv2DExt", "ms.LayerNormExt", "ms.Dense", "ms.GeluExt", "ms.BatchMatMulExt",
            "ms.UpsampleNearest2D", "ms.MeanExt"} <= kinds
    module = cir.import_model(mindir)
    with torch.no_grad():
        want = twin(torch.from_numpy(x)).numpy()
    close(cir.interpret(module, {"x": x})["output_0"], want)


def tool(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "circ"), *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_mindir_through_the_command_line(tmp_path):
    x = np.random.default_rng(0).standard_normal((1, 8, 6, 6)).astype(np.float32)
    mindir = export(Small(), [x], tmp_path / "small")
    proc = tool("import", mindir, "--stage", "cir", "-o", tmp_path / "small.mlir")
    assert proc.returncode == 0, proc.stderr
    np.save(tmp_path / "x.npy", x)
    proc = tool("run", tmp_path / "small.mlir", "--input", f"x={tmp_path / 'x.npy'}",
                "--output-dir", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    close(np.load(tmp_path / "out" / "output_0.npy"), reference(mindir, [x]))
    proc = tool("ops", "--framework", "mindspore")
    assert proc.returncode == 0 and "GroupNorm" in proc.stdout and "Conv2DExt" in proc.stdout
    assert "mindspore operators mapped" in proc.stdout


class UsesCumprod(nn.Cell):
    def construct(self, x):
        return ops.cumprod(x, 0) + ops.cumprod(x * 2, 1)


def test_bad_inputs(tmp_path):
    x = np.random.default_rng(0).standard_normal((1, 8, 6, 6)).astype(np.float32)
    mindir = export(Small(), [x], tmp_path / "small")
    data = mindir.read_bytes()
    (tmp_path / "cut.mindir").write_bytes(data[: len(data) // 3])
    proc = tool("import", tmp_path / "cut.mindir", "-o", tmp_path / "m.mlir")
    assert proc.returncode == 1 and "corrupt or truncated" in proc.stderr
    assert not (tmp_path / "m.mlir").exists()
    (tmp_path / "junk.mindir").write_bytes(b"not a model at all")
    with pytest.raises(CircError, match="junk.mindir: not a MINDIR model"):
        cir.import_model(tmp_path / "junk.mindir")
    with pytest.raises(CircError, match="needs example_inputs"):
        cir.import_model(Small())
    with pytest.raises(CircError) as e:
        cir.import_model(UsesCumprod(), (np.ones((3, 4), np.float32),))
    msg = str(e.value)
    assert "1 mindspore operator(s) have no CIR mapping" in msg
    assert "CumProd x2, first at Default/CumProd-op0" in msg


class IntegersAndIndexing(nn.Cell):
    def __init__(self):
        super().__init__()
        self.h = nn.HSigmoid()

    def construct(self, x, i, j, m, idx, upd):
        return (self.h(x), ops.cumsum(x, 1), ops.logical_and(m, m), ops.floor_div(i, j),
                ops.logical_or(m, x < 1), ops.logical_not(m), ops.floor_mod(i, j),
                ops.gather_nd(x, idx), ops.tensor_scatter_add(x, idx, upd),
                ops.tensor_scatter_update(x, idx[1:], upd[1:]), ops.logical_xor(m, x > -1))


def test_integer_bool_and_indexing_primitives_match_mindspore(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6)).astype(np.float32) * 4
    i = np.array([[1, -5, 7], [3, 4, -2]], np.int32)
    j = np.array([[2, 2, -3], [2, 3, 3]], np.int32)
    idx = np.array([[0, 1], [1, 5], [0, 1]], np.int32)  # a repeated index adds up
    args = [x, i, j, x > 0, idx, rng.standard_normal(3).astype(np.float32)]
    mindir = export(IntegersAndIndexing(), args, tmp_path / "ints")
    outs = cir.interpret(cir.import_model(mindir), dict(zip(["x", "i", "j", "m", "idx", "upd"], args)))
    want = nn.GraphCell(ms.load(str(mindir)))(*[ms.Tensor(a) for a in args])
    for got, ref in zip(outs.values(), want, strict=True):
        assert got.dtype == ref.asnumpy().dtype
        close(got.astype(np.float32), ref.asnumpy().astype(np.float32))
