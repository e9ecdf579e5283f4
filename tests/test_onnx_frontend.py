"""The ONNX frontend end to end: ONNX models -> onnx import dialect -> normalize-onnx -> CIR ->
the reference interpreter, compared with onnxruntime; and every kind of bad input refused with
one clean error.

Tolerance: fp32, 1e-4 relative to the output's largest magnitude (plus 1e-5 absolute), as for
the PyTorch frontend: circ and onnxruntime differ only in summation order.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper
from torch import nn

import cir
from cir.errors import CircError
from examples.diffusers_models import TINY_UNET

BIN = Path(sys.executable).parent
TINY_UNET = dict(
    **TINY_UNET,
)  # fmt: skip


def assert_matches(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale + 1e-5)


def onnxruntime(path_or_model, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    model = path_or_model.SerializeToString() if isinstance(path_or_model, onnx.ModelProto) \
        else str(path_or_model)
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)


def export(model: nn.Module, args: tuple, path: Path) -> Path:
    """torch.onnx.export(..., dynamo=True), quietly."""
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(model.eval(), args, path, dynamo=True, verbose=False)
    return path


def perturb(model: nn.Module) -> nn.Module:
    """Random weights everywhere, so norms' affine parameters are not all ones and zeros."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


class ConvGnSilu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)
        self.norm = nn.GroupNorm(2, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.norm(self.conv(x)))


@pytest.fixture(scope="module")
def unet_onnx(tmp_path_factory) -> tuple[Path, nn.Module, tuple]:
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    unet = perturb(UNet2DConditionModel(**TINY_UNET)).eval()
    args = (torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 7, 32))
    return export(unet, args, tmp_path_factory.mktemp("unet") / "unet.onnx"), unet, args


UNET_INPUTS = ("sample", "timestep", "encoder_hidden_states")


# --- real models ---------------------------------------------------------------------------


def test_tiny_unet_matches_onnxruntime(unet_onnx):
    path, unet, args = unet_onnx
    feeds = {n: a.numpy() for n, a in zip(UNET_INPUTS, args)}
    module = cir.import_model(path)
    assert not [op.name for op in module.walk() if op.name.startswith("onnx.")]
    outs = cir.interpret(module, feeds)
    (ref,) = onnxruntime(path, feeds)
    assert_matches(next(iter(outs.values())), ref)
    # the ops fusion and kernels look for are the ones the PyTorch frontend gives
    got = Counter(op.name for op in module.walk())
    want = Counter(op.name for op in cir.import_model(unet, args).walk())
    for name in ("cir.group_norm", "cir.attention", "cir.layer_norm", "cir.gelu", "cir.conv2d",
                 "cir.upsample"):
        assert got[name] == want[name] > 0, name
    assert got["cir.silu"] > 0


def test_group_norm_export_becomes_cir_group_norm():
    model, x = perturb(ConvGnSilu()), torch.randn(1, 4, 8, 8)
    proto = torch.onnx.export(model.eval(), (x,), dynamo=True, verbose=False).model_proto
    imported = cir.import_model(proto, stage="import")
    assert "onnx.InstanceNormalization" in {op.name for op in imported.walk()}
    module = cir.import_model(proto)
    compute = [op.name for op in module.walk()
               if op.name.startswith("cir.") and op.name not in ("cir.weight", "cir.reshape")]
    assert compute == ["cir.conv2d", "cir.group_norm", "cir.silu"]  # as normalize-torch gives
    gn = next(op for op in module.walk() if op.name == "cir.group_norm")
    assert gn.p["num_groups"] == 2 and len(gn.operands) == 3
    (ref,) = onnxruntime(proto, {"x": x.numpy()})
    assert_matches(cir.interpret(module, {"x": x.numpy()})["silu"], ref)


# --- the import dialect --------------------------------------------------------------------


def small_model(opset: int = 18) -> onnx.ModelProto:
    """Conv -> Relu -> ReduceMean(axes constant) with named nodes and initializers."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((8, 4, 3, 3)).astype(np.float32), "conv.w")
    b = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "conv.b")
    axes = helper.make_node("Constant", [], ["axes"], name="axes",
                            value=numpy_helper.from_array(np.array([2, 3], np.int64)))
    nodes = [
        helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        axes,
        helper.make_node("ReduceMean", ["r", "axes"], ["y"], name="mean", keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_import_stage_is_faithful():
    module = cir.import_model(small_model(18), stage="import")
    text = cir.to_text(module, debuginfo=True)
    assert module.attributes["onnx.opset"].value.data == 18
    ops = {op.name: op for op in module.walk() if op.name.startswith("onnx.")}
    assert list(ops) == ["onnx.Conv", "onnx.Relu", "onnx.ReduceMean"]
    conv = ops["onnx.Conv"]
    assert conv.operand_names == ["X", "W", "B"]  # the schema's input names
    assert conv.arg("kernel_shape") == [3, 3] and conv.arg("group") == 1  # defaults filled in
    assert conv.arg("auto_pad") == "NOTSET"
    mean = ops["onnx.ReduceMean"]
    assert mean.operand_names == ["data", "axes"] and mean.arg("axes_value") == [2, 3]
    assert 'loc("conv")' in text and 'loc("mean")' in text  # node names
    weights = [op.sym_name.data for op in module.walk() if op.name == "cir.weight"]
    assert weights == ["conv.w", "conv.b", "axes"]
    assert "dense<" not in text  # weights never go into IR text
    assert cir.weights_of(module)["conv.w"].shape == (8, 4, 3, 3)


def test_model_in_memory_bytes_and_file(tmp_path):
    model = small_model()
    x = np.random.default_rng(1).standard_normal((1, 4, 8, 8)).astype(np.float32)
    (ref,) = onnxruntime(model, {"x": x})
    onnx.save(model, tmp_path / "small.onnx")
    for source in (model, model.SerializeToString(), tmp_path / "small.onnx",
                   str(tmp_path / "small.onnx")):
        module = cir.import_model(source, framework="onnx" if isinstance(source, bytes) else None)
        assert_matches(cir.interpret(module, {"x": x})["y"], ref)


def test_opset_picks_semantics():
    """Softmax over axis 1 of a 3-D tensor: opset 11 flattens to 2-D, opset 13 does not."""
    x = np.random.default_rng(2).standard_normal((2, 3, 4)).astype(np.float32)
    for opset, expect_reshape in ((11, True), (13, False)):
        graph = helper.make_graph(
            [helper.make_node("Softmax", ["x"], ["y"], axis=1)], "sm",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3, 4])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        module = cir.import_model(model)
        names = [op.name for op in module.walk() if op.name.startswith("cir.")]
        assert ("cir.reshape" in names) == expect_reshape
        (ref,) = onnxruntime(model, {"x": x})
        assert_matches(cir.interpret(module, {"x": x})["y"], ref)


def test_symbolic_dims_need_input_shapes():
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], "dyn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(CircError, match="input 'x'.*dynamic dimension 0 'batch'.*input_shapes"):
        cir.import_model(model)
    module = cir.import_model(model, {"x": (3, 4)})
    x = np.arange(-6, 6, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(cir.interpret(module, {"x": x})["y"], np.maximum(x, 0))


# --- external data -------------------------------------------------------------------------


def test_external_data_is_read_beside_the_model(tmp_path):
    model, x = small_model(), np.ones((1, 4, 8, 8), np.float32)
    (ref,) = onnxruntime(model, {"x": x})
    onnx.save_model(model, tmp_path / "ext.onnx", save_as_external_data=True,
                    all_tensors_to_one_file=True, location="ext.weights", size_threshold=0)
    assert (tmp_path / "ext.weights").is_file()
    assert_matches(cir.interpret(cir.import_model(tmp_path / "ext.onnx"), {"x": x})["y"], ref)


@pytest.mark.parametrize("location", ["../outside.weights", "/etc/passwd", "sub/../../x.bin"])
def test_external_data_outside_the_model_directory_is_refused(tmp_path, location):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (tmp_path / "outside.weights").write_bytes(b"\0" * 4096)
    onnx.save_model(small_model(), model_dir / "m.onnx", save_as_external_data=True,
                    all_tensors_to_one_file=True, location="m.weights", size_threshold=0)
    proto = onnx.load(model_dir / "m.onnx", load_external_data=False)
    for t in proto.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = location
    onnx.save(proto, model_dir / "m.onnx")
    with pytest.raises(CircError, match="outside the model's directory"):
        cir.import_model(model_dir / "m.onnx")


def test_external_data_needs_a_file_path(tmp_path):
    onnx.save_model(small_model(), tmp_path / "m.onnx", save_as_external_data=True,
                    location="m.weights", size_threshold=0)
    proto = onnx.load(tmp_path / "m.onnx", load_external_data=False)
    with pytest.raises(CircError, match="external files; import it from its file path"):
        cir.import_model(proto)


# --- bad input -----------------------------------------------------------------------------


def graph_model(nodes, inputs=("x",), outputs=("y",), opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_truncated_file(tmp_path):
    data = small_model().SerializeToString()
    for n in (10, len(data) // 2, len(data) - 3):
        (tmp_path / "t.onnx").write_bytes(data[:n])
        with pytest.raises(CircError, match=r"t.onnx: not an ONNX model, or corrupt or truncated"):
            cir.import_model(tmp_path / "t.onnx")


def test_unknown_opset():
    model = graph_model([helper.make_node("Relu", ["x"], ["y"])], opset=99)
    newest = onnx.defs.onnx_opset_version()
    with pytest.raises(CircError, match=f"uses ONNX opset 99; onnx .* knows opsets 1 to {newest}"):
        cir.import_model(model)


def test_node_with_a_missing_input():
    model = graph_model([helper.make_node("Add", ["x", "ghost"], ["y"], name="add1")])
    with pytest.raises(CircError, match=r"node 'add1' \(Add\): input 'ghost' is not produced"):
        cir.import_model(model)


def test_graph_cycle():
    model = graph_model([
        helper.make_node("Add", ["x", "b"], ["a"], name="first"),
        helper.make_node("Relu", ["a"], ["b"], name="second"),
        helper.make_node("Neg", ["a"], ["y"], name="out"),
    ])
    with pytest.raises(CircError, match=r"the graph has a cycle: node 'first' \(Add\) -> "
                                        r"node 'second' \(Relu\) -> node 'first' \(Add\)"):
        cir.import_model(model)


def test_nodes_out_of_order_are_accepted():
    model = graph_model([helper.make_node("Neg", ["a"], ["y"], name="late"),
                         helper.make_node("Relu", ["x"], ["a"], name="early")])
    x = np.array([[1, -2, 3], [-4, 5, -6]], np.float32)
    np.testing.assert_array_equal(cir.interpret(cir.import_model(model), {"x": x})["y"],
                                  -np.maximum(x, 0))


def test_unsupported_input_and_unmapped_ops():
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [2])],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(CircError, match="normalize-onnx: Relu: element type f64 is not supported"):
        cir.import_model(model)
    model = graph_model([helper.make_node("Acos", ["x"], ["c"], name="c1"),
                         helper.make_node("Acos", ["c"], ["y"], name="c2")])
    with pytest.raises(CircError) as e:
        cir.import_model(model)
    assert "1 onnx operator(s) have no CIR mapping" in str(e.value)
    assert "Acos x2, first at c1" in str(e.value)


def test_control_flow_is_refused():
    body = helper.make_graph([helper.make_node("Identity", ["x"], ["o"])], "b", [],
                             [helper.make_tensor_value_info("o", TensorProto.FLOAT, [2, 3])])
    model = graph_model([helper.make_node("If", ["c"], ["y"], name="branch", then_branch=body,
                                          else_branch=body)], inputs=("x",))
    model.graph.input.append(helper.make_tensor_value_info("c", TensorProto.BOOL, []))
    with pytest.raises(CircError, match=r"node 'branch' \(If\): control flow"):
        cir.import_model(model)


# --- the command line ----------------------------------------------------------------------


def tool(*args, cwd=None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / args[0]), *map(str, args[1:])], capture_output=True,
                          text=True, timeout=300, cwd=cwd, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_command_line(tmp_path, unet_onnx):
    path, _, args = unet_onnx
    feeds = {n: a.numpy() for n, a in zip(UNET_INPUTS, args)}
    for name, a in feeds.items():
        np.save(tmp_path / f"{name}.npy", a)
    flags = [x for n in UNET_INPUTS for x in ("--input", f"{n}={tmp_path / n}.npy")]
    (ref,) = onnxruntime(path, feeds)
    # circ import --stage cir, then circ run
    proc = tool("circ", "import", path, "--stage", "cir", "-o", tmp_path / "unet.cir.mlir")
    assert proc.returncode == 0, proc.stderr
    proc = tool("circ", "run", tmp_path / "unet.cir.mlir", "--output-dir", tmp_path / "a", *flags)
    assert proc.returncode == 0, proc.stderr
    assert_matches(np.load(tmp_path / "a" / "conv2d_32.npy"), ref)
    # circ import (the onnx dialect, with locations), then circ-opt -p normalize-onnx
    proc = tool("circ", "import", path, "-o", tmp_path / "unet.onnx.mlir")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "unet.onnx.mlir").read_text()
    assert "onnx.InstanceNormalization(input=" in text and 'loc("node_conv2d"(' in text
    proc = tool("circ-opt", "unet.onnx.mlir", "-p", "normalize-onnx", "-o", "unet.norm.mlir",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "cir.group_norm" in (tmp_path / "unet.norm.mlir").read_text()
    proc = tool("circ", "run", tmp_path / "unet.norm.mlir", "--output-dir", tmp_path / "b",
                "--weights", tmp_path / "unet.onnx.safetensors", *flags)
    assert proc.returncode == 0, proc.stderr
    assert_matches(np.load(tmp_path / "b" / "conv2d_32.npy"), ref)


def test_command_line_errors(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(small_model().SerializeToString()[:100])
    proc = tool("circ", "import", tmp_path / "bad.onnx", "-o", tmp_path / "m.mlir")
    assert proc.returncode == 1 and "corrupt or truncated" in proc.stderr
    assert not (tmp_path / "m.mlir").exists() and not (tmp_path / "m.safetensors").exists()
    proc = tool("circ", "ops", "--framework", "onnx")
    assert proc.returncode == 0
    assert "LayerNormalization" in proc.stdout and "cir.layer_norm" in proc.stdout
    assert "when opset < 13" in proc.stdout and "onnx operators mapped" in proc.stdout


def test_custom_domain_op_with_a_custom_mapping():
    """An operator outside the default domain imports as onnx.<domain>.<op> (inputs input0,
    input1, ...) and maps with a --custom-ops entry named <domain>.<op>."""
    graph = helper.make_graph(
        [helper.make_node("GnSilu", ["x", "s", "b"], ["y"], domain="com.example", name="gs",
                          groups=2, eps=1e-5)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 2, 2]),
         helper.make_tensor_value_info("s", TensorProto.FLOAT, [4]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 2, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                    helper.make_opsetid("com.example", 1)])
    imported = cir.import_model(model, stage="import")
    assert imported.attributes["onnx.opset.com.example"].value.data == 1
    with pytest.raises(CircError, match="com.example.GnSilu x1, first at gs"):
        cir.import_model(model)
    mapping = {"ops": {"com.example.GnSilu": {"steps": [
        {"cir": "cir.group_norm", "operands": ["input0", "input1", "input2"],
         "attrs": {"num_groups": "groups", "epsilon": "eps"}, "as": "n"},
        {"cir": "cir.silu", "operands": ["%n"]}]}}}
    module = cir.import_model(model, custom_ops=mapping)
    rng = np.random.default_rng(3)
    x, s, b = (rng.standard_normal(shape).astype(np.float32) for shape in ((1, 4, 2, 2), 4, 4))
    g = x.reshape(1, 2, -1)
    n = (g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)
    n = n.reshape(x.shape)
    n = n * s.reshape(1, 4, 1, 1) + b.reshape(1, 4, 1, 1)
    assert_matches(cir.interpret(module, {"x": x, "s": s, "b": b})["y"], n / (1 + np.exp(-n)))


@pytest.mark.parametrize("mode, transform, nearest, scales, shape", [
    ("nearest", "asymmetric", "floor", [1, 1, 2, 2], (1, 2, 3, 4)),       # torch's export
    ("nearest", "half_pixel", "round_prefer_floor", [1, 1, 2, 3], (1, 2, 3, 4)),  # ONNX default
    ("nearest", "half_pixel", "round_prefer_ceil", [1, 1, 3, 2], (1, 1, 2, 5)),
    ("linear", "half_pixel", "floor", [1, 1, 2, 2], (1, 2, 3, 4)),
    ("linear", "half_pixel", "floor", [1, 1, 0.5, 0.5], (1, 2, 4, 6)),
    ("linear", "align_corners", "floor", [1, 1, 2, 3], (1, 2, 3, 4)),
])
def test_resize_with_constant_scales(mode, transform, nearest, scales, shape):
    """Resize variants that are cir.upsample (ONNX's node tests give scales at run time)."""
    out = [int(d * s) for d, s in zip(shape, scales)]
    graph = helper.make_graph(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode=mode, nearest_mode=nearest,
                          coordinate_transformation_mode=transform)], "r",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out)],
        [numpy_helper.from_array(np.array(scales, np.float32), "scales")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    module = cir.import_model(model)
    assert [op.name for op in module.walk() if op.name.startswith("cir.")] == ["cir.upsample"]
    (ref,) = onnxruntime(model, {"x": x})
    assert_matches(cir.interpret(module, {"x": x})["y"], ref)


def _single_node(node, inputs, outputs, inits=(), opset=19) -> onnx.ModelProto:
    """A one-node model: inputs and outputs are (name, shape) pairs, all float32."""
    graph = helper.make_graph(
        [node], "n", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _cir_ops(module) -> list[str]:
    return [op.name for op in module.walk() if op.name.startswith("cir.")]


@pytest.mark.parametrize("case", ["resize_cubic", "resize_antialias", "maxpool_3d",
                                  "avgpool_dilated_ceil", "layer_norm_stats"])
def test_variants_the_table_does_not_map(case):
    """Resize in any mode (matrices), N-D and dilated pooling, and ops by their ONNX function
    body (LayerNormalization's Mean and InvStdDev) match onnxruntime."""
    const = numpy_helper.from_array
    shape = (1, 2, 5, 6) if case != "maxpool_3d" else (1, 2, 5, 6, 4)
    if case == "resize_cubic":
        model = _single_node(
            helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="cubic",
                             coordinate_transformation_mode="align_corners"),
            [("x", shape)], [("y", [1, 2, 10, 3])],
            [const(np.array([1, 1, 2, 0.5], np.float32), "scales")])
    elif case == "resize_antialias":
        model = _single_node(
            helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear", antialias=1),
            [("x", shape)], [("y", [1, 2, 3, 4])],
            [const(np.array([1, 2, 3, 4], np.int64), "sizes")])
    elif case == "maxpool_3d":
        model = _single_node(
            helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 2, 2], strides=[2, 1, 2],
                             pads=[1, 0, 1, 1, 1, 0], ceil_mode=1),
            [("x", shape)], [("y", [1, 2, 3, 6, 3])])
    elif case == "avgpool_dilated_ceil":
        model = _single_node(
            helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 3], strides=[2, 2],
                             dilations=[2, 1], pads=[1, 2, 0, 2], ceil_mode=1,
                             count_include_pad=0),
            [("x", shape)], [("y", [1, 2, 3, 4])])
    else:
        model = _single_node(
            helper.make_node("LayerNormalization", ["x", "w", "b"], ["y", "mean", "inv"], axis=2),
            [("x", shape), ("w", shape[2:]), ("b", shape[2:])],
            [("y", shape), ("mean", [1, 2, 1, 1]), ("inv", [1, 2, 1, 1])])
    rng = np.random.default_rng(5)
    feeds = {i.name: rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim])
             .astype(np.float32) for i in model.graph.input}
    module = cir.import_model(model)
    assert not [op.name for op in module.walk() if op.name.startswith("onnx.")]
    got = cir.interpret(module, feeds)
    for g, want in zip(got.values(), onnxruntime(model, feeds)):
        assert_matches(g, want)
    if case == "layer_norm_stats":
        assert "cir.reduce_mean" in _cir_ops(module)


def test_parameters_known_at_run_time():
    """A parameter input the static result shape implies works (the axes of a reduction
    with keepdims, Split's sizes); one it does not is refused, with the reason."""
    model = _single_node(helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=1),
                         [("x", [3, 4, 5])], [("y", [3, 1, 1])])
    model.graph.input.append(helper.make_tensor_value_info("axes", TensorProto.INT64, [2]))
    x = np.random.default_rng(6).standard_normal((3, 4, 5)).astype(np.float32)
    axes = np.array([2, -2], np.int64)
    module = cir.import_model(model)
    assert _cir_ops(module) == ["cir.reduce_sum"]
    assert_matches(cir.interpret(module, {"x": x, "axes": axes})["y"],
                   onnxruntime(model, {"x": x, "axes": axes})[0])
    model = _single_node(helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=0),
                         [("x", [3, 4, 4])], [("y", [3, 4])])
    model.graph.input.append(helper.make_tensor_value_info("axes", TensorProto.INT64, [1]))
    with pytest.raises(CircError, match=r"ReduceSum: the reduced axes are given at run time, "
                                        r"and reducing \[3, 4, 4\] to \[3, 4\] does not say"):
        cir.import_model(model)
