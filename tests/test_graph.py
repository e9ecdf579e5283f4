"""lower-to-graph: the ONNX, GE IR and launch-graph forms of a CIR module (lowering/graph.py).

ONNX models are checked with onnx.checker (full_check) and, after expand_npu_nodes, run in
onnxruntime against the reference interpreter. Tolerance: 1e-4 x max|ref| in fp32 — the two
compute the same formulas but in different orders (onnxruntime's InstanceNormalization,
LayerNormalization and MatMul accumulate differently from numpy), so the results differ by a
few fp32 ulps of the largest value, never by a formula error, which shows up as O(1).
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from cir.lowering.cmake import cmakelists
from cir.lowering.graph import (
    expand_npu_nodes,
    ge_ir,
    ge_text,
    to_ge,
    to_launch_graph,
    to_onnx,
)

import cir
from cir.errors import CircError

FUSED = """
func.func @main(%x: tensor<1x8x4x4xf32>, %t: tensor<1x6x16xf32>, %m: tensor<1x1x6x6xi1>) -> (tensor<1x8x4x4xf32>, tensor<1x6x16xf32>, tensor<1x8x4x4xf32>, tensor<1x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x6x16xf32>, tensor<1x8x4x4xf32>) {
  %g = cir.weight "g" : tensor<8xf32>
  %b = cir.weight "b" : tensor<8xf32>
  %w = cir.weight "w" : tensor<8x8x3x3xf32>
  %wb = cir.weight "wb" : tensor<8xf32>
  %lw = cir.weight "lw" : tensor<32x16xf32>
  %lb = cir.weight "lb" : tensor<32xf32>
  %ln = cir.weight "ln" : tensor<16xf32>
  %y = cir.group_norm_silu %x, %g, %b {num_groups = 2} : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %c, %co = cir.conv_gn_silu %y, %w, %wb, %g, %b {pads = [1, 1, 1, 1], num_groups = 4} : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>)
  %a, %s = cir.add_group_norm %c, %co, %g, %b {num_groups = 2, activate_silu = true} : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>)
  %fa = cir.flash_attention %t, %t, %t {head_num = 4, input_layout = "BSH", scale = 0.5} : (tensor<1x6x16xf32>, tensor<1x6x16xf32>, tensor<1x6x16xf32>) -> tensor<1x6x16xf32>
  %l = cir.linear_act %fa, %lw, %lb {activation = "gelu"} : (tensor<1x6x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<1x6x32xf32>
  %gg = cir.geglu %l : tensor<1x6x32xf32> -> tensor<1x6x16xf32>
  %q = cir.reshape %gg {shape = [1, 6, 2, 8]} : tensor<1x6x16xf32> -> tensor<1x6x2x8xf32>
  %qt = cir.transpose %q {perm = [0, 2, 1, 3]} : tensor<1x6x2x8xf32> -> tensor<1x2x6x8xf32>
  %at = cir.flash_attention %qt, %qt, %qt, %m {head_num = 2, scale = 0.25} : (tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x1x6x6xi1>) -> tensor<1x2x6x8xf32>
  %y2, %s2 = cir.add_layer_norm %gg, %t, %ln, %ln : (tensor<1x6x16xf32>, tensor<1x6x16xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<1x6x16xf32>, tensor<1x6x16xf32>)
  %rm = cir.rms_norm %y2, %ln : (tensor<1x6x16xf32>, tensor<16xf32>) -> tensor<1x6x16xf32>
  %sl = cir.slice %rm {starts = [0, 0, 0], ends = [1, 6, 8], steps = [1, 1, 1]} : tensor<1x6x16xf32> -> tensor<1x6x8xf32>
  %ca = cir.conv2d_act %x, %w, %wb, %s {pads = [1, 1, 1, 1], activation = "relu"} : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %cb = cir.conv2d_act %ca, %w, %wb {pads = [1, 1, 1, 1], activation = "hardswish"} : (tensor<1x8x4x4xf32>, tensor<8x8x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  func.return %a, %fa, %s, %sl, %at, %rm, %cb : tensor<1x8x4x4xf32>, tensor<1x6x16xf32>, tensor<1x8x4x4xf32>, tensor<1x6x8xf32>, tensor<1x2x6x8xf32>, tensor<1x6x16xf32>, tensor<1x8x4x4xf32>
}
"""


def _fused_module() -> tuple[object, dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    m = cir.parse_text(FUSED)
    shapes = {"g": (8,), "b": (8,), "w": (8, 8, 3, 3), "wb": (8,), "lw": (32, 16), "lb": (32,),
              "ln": (16,)}
    cir.attach_weights(m, {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()})
    inputs = {"x": rng.standard_normal((1, 8, 4, 4)).astype(np.float32),
              "t": rng.standard_normal((1, 6, 16)).astype(np.float32),
              "m": rng.random((1, 1, 6, 6)) > 0.3}
    inputs["m"][..., 0] = True  # every query sees at least one key
    return m, inputs


def _run_onnx(model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, inputs)))


def _check_against_interpreter(module, inputs: dict[str, np.ndarray]) -> onnx.ModelProto:
    model = to_onnx(module)
    onnx.checker.check_model(model, full_check=True)
    expanded = expand_npu_nodes(model)
    onnx.checker.check_model(expanded, full_check=True)
    assert not any(n.domain for n in expanded.graph.node)
    ref = cir.interpret(module, inputs)
    got = _run_onnx(expanded, inputs)
    assert list(got) == list(ref)
    for name, r in ref.items():
        scale = max(float(np.abs(r).max()), 1.0)
        np.testing.assert_allclose(got[name], r, rtol=0, atol=1e-4 * scale, err_msg=name)
    return model


def test_fused_module_onnx_matches_interpreter():
    module, inputs = _fused_module()
    model = _check_against_interpreter(module, inputs)
    npu = {n.op_type for n in model.graph.node if n.domain == "npu"}
    assert npu == {"NPUGroupNormSilu", "NPUGeGlu", "NPURmsNorm", "NPUPromptFlashAttention"}
    assert {o.domain: o.version for o in model.opset_import} == {"": 18, "npu": 1}
    assert {i.name for i in model.graph.initializer} >= {"g", "b", "w", "wb", "lw", "lb", "ln"}
    assert [i.name for i in model.graph.input] == ["x", "t", "m"]
    dims = [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim]
    assert dims == [1, 8, 4, 4]
    assert any(v.name == "group_norm_silu_7" for v in model.graph.value_info)
    # conv2d_act: Conv, the residual Add, the activation
    assert {"Conv", "Add", "Relu", "HardSwish"} <= {n.op_type for n in model.graph.node}
    md = ge_ir().ModelDef()
    md.ParseFromString(to_ge(module))
    types = [o.type for o in md.graph[0].op]
    assert {"Conv2D", "Add", "Relu", "HardSwish"} <= set(types) and types.count("Conv2D") == 3


def test_transposed_matmul_onnx_and_ge():
    """cir.matmul's transpose flags: Transpose nodes in ONNX (run in onnxruntime), BatchMatMulV2's
    adj_x1 / adj_x2 in GE."""
    text = """
func.func @main(%a: tensor<2x8x5xf32>, %b: tensor<6x8xf32>) -> (tensor<2x5x6xf32>, tensor<2x6x5xf32>) {
  %p = cir.matmul %a, %b {transpose_a = true, transpose_b = true} : (tensor<2x8x5xf32>, tensor<6x8xf32>) -> tensor<2x5x6xf32>
  %q = cir.matmul %b, %a : (tensor<6x8xf32>, tensor<2x8x5xf32>) -> tensor<2x6x5xf32>
  func.return %p, %q : tensor<2x5x6xf32>, tensor<2x6x5xf32>
}
"""
    rng = np.random.default_rng(3)
    module = cir.parse_text(text)
    inputs = {"a": rng.standard_normal((2, 8, 5)).astype(np.float32),
              "b": rng.standard_normal((6, 8)).astype(np.float32)}
    got = cir.interpret(module, inputs)
    np.testing.assert_allclose(next(iter(got.values())), np.swapaxes(inputs["a"], 1, 2) @ inputs["b"].T, rtol=1e-5)
    _check_against_interpreter(module, inputs)
    md = ge_ir().ModelDef()
    md.ParseFromString(to_ge(module))
    mms = [o for o in md.graph[0].op if o.type == "BatchMatMulV2"]
    assert [(o.attr["adj_x1"].b, o.attr["adj_x2"].b) for o in mms] == [(True, True), (False, False)]


def test_sd_block_onnx_matches_interpreter():
    from examples.sd_block.torch_block import example_inputs, make_model

    args = example_inputs()
    module = cir.import_model(make_model(), args)
    module = cir.apply_pipeline(module, "canonicalize,aigc-fusion,canonicalize")
    inputs = dict(zip(["sample", "temb", "context"], (a.numpy() for a in args)))
    model = _check_against_interpreter(module, inputs)
    npu = {n.op_type for n in model.graph.node if n.domain == "npu"}
    assert {"NPUGroupNormSilu", "NPUGeGlu", "NPUPromptFlashAttention"} <= npu
    # GE form of the same model: every op typed, inputs wired to producers
    md = ge_ir().ModelDef()
    md.ParseFromString(to_ge(module))
    types = {o.type for o in md.graph[0].op}
    assert {"Data", "Const", "NetOutput", "Conv2D", "GroupNormSilu", "PromptFlashAttention",
            "GeGluV2", "AddLayerNorm"} <= types


def test_ge_graph_parses_back_with_types_inputs_and_formats():
    text = """
func.func @main(%x: tensor<1x16x4x4xf16>) -> tensor<1x16x4x4xf16> {
  %w = cir.constant dense<1.0> : tensor<16x16x1x1xf16>
  %a = cir.trans_data %x {src_format = "ND", dst_format = "NC1HWC0"} : tensor<1x16x4x4xf16> -> tensor<1x16x4x4xf16, #cir.format<NC1HWC0>>
  %b = cir.relu %a : tensor<1x16x4x4xf16, #cir.format<NC1HWC0>>
  %c = cir.trans_data %b {src_format = "NC1HWC0", dst_format = "ND"} : tensor<1x16x4x4xf16, #cir.format<NC1HWC0>> -> tensor<1x16x4x4xf16>
  %d = cir.conv2d %c, %w {pads = [0, 0, 0, 0]} : (tensor<1x16x4x4xf16>, tensor<16x16x1x1xf16>) -> tensor<1x16x4x4xf16>
  func.return %d : tensor<1x16x4x4xf16>
}
"""
    module = cir.parse_text(text)
    md = ge_ir().ModelDef()
    md.ParseFromString(to_ge(module))
    ops = {o.name: o for o in md.graph[0].op}
    assert [o.type for o in md.graph[0].op] == ["Data", "Const", "TransData", "Relu", "TransData",
                                                "Conv2D", "NetOutput"]
    relu = ops["relu_2"]
    assert list(relu.input) == ["trans_data_1:0"]
    out = relu.output_desc[0]
    assert out.layout == "NC1HWC0" and list(out.shape.dim) == [1, 1, 4, 4, 16]
    assert out.dtype == ge_ir().DT_FLOAT16
    assert out.attr["origin_format"].s == b"NCHW"
    assert list(out.attr["origin_shape"].list.i) == [1, 16, 4, 4]
    td = ops["trans_data_1"]
    assert td.attr["dst_format"].s == b"NC1HWC0" and td.input_desc[0].layout == "ND"
    conv = ops["conv2d_4"]
    assert list(conv.input) == ["trans_data_3:0", "constant_0:0", ""]
    assert list(conv.attr["strides"].list.i) == [1, 1, 1, 1]
    assert list(md.graph[0].output) == ["conv2d_4:0"] and list(md.graph[0].input) == ["x:0"]
    assert "type: \"TransData\"" in ge_text(module)


LOWERABLE = """
func.func @main(%x: tensor<2x4x8x8xf32>, %y: tensor<2x4x8x8xf32>) -> (tensor<2x256xf32>, tensor<2x4x8x8xf32>) {
  %g = cir.weight "g" : tensor<4xf32>
  %b = cir.weight "b" : tensor<4xf32>
  %s = cir.silu %x : tensor<2x4x8x8xf32>
  %a = cir.add %s, %y : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %n = cir.group_norm_silu %a, %g, %b {num_groups = 2} : (tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x8x8xf32>
  %r = cir.reshape %n {shape = [2, 256]} : tensor<2x4x8x8xf32> -> tensor<2x256xf32>
  func.return %r, %a : tensor<2x256xf32>, tensor<2x4x8x8xf32>
}
"""


def _lowered():
    rng = np.random.default_rng(1)
    module = cir.parse_text(LOWERABLE)
    cir.attach_weights(module, {"g": rng.standard_normal(4).astype(np.float32),
                                "b": rng.standard_normal(4).astype(np.float32)})
    return module, cir.apply_pipeline(module, "lower-to-ascendc{soc=Ascend910B1},plan-memory")


def test_launch_graph_matches_launches_and_memory_plan():
    _module, lowered = _lowered()
    lg = to_launch_graph(lowered)
    json.dumps(lg)  # JSON-able
    assert lg["soc"] == "Ascend910B1" and lg["arena_bytes"] == lowered.attributes["cir.arena_bytes"].value.data
    from cir.signature import entry_function

    ops = [o for o in entry_function(lowered).body.block.ops if "cir.launches" in o.attributes]
    launches = [(o, d) for o in ops for d in o.attributes["cir.launches"].data]
    assert [n["kernel"] for n in lg["nodes"]] == [d.data["kernel"].data for _, d in launches]
    for node, (op, d) in zip(lg["nodes"], launches):
        assert node["op"] == op.name and node["block_dim"] == d.data["block_dim"].value.data
        tiling = [v.value.data for v in d.data["tiling"].data.values()]
        assert node["tiling"] == tiling
        assert bytes.fromhex(node["tiling_hex"]) == np.array(tiling, "<i8").tobytes()
        mem = list(op.attributes["cir.mem"].get_values())
        for arg, spec in zip(node["args"], [a.data for a in d.data["args"].data]):
            kind, _, i = spec.partition(":")
            if kind == "result":
                assert (arg["kind"], arg["offset"], arg["role"]) == ("arena", mem[int(i)], "out")
                assert arg["shape"] == list(op.results[int(i)].type.get_shape())
            if kind == "operand":
                assert arg["role"] == "in"
            if kind == "weight":
                assert arg["kind"] == "weight" and arg["role"] == "in"
    first = lg["nodes"][0]
    assert first["args"][0] == {"kind": "input", "name": "x", "nbytes": 2 * 4 * 64 * 4, "value": "x",
                                "role": "in", "shape": [2, 4, 8, 8], "dtype": "f32"}
    assert first["loc"].endswith(":5:3")
    gn = next(n for n in lg["nodes"] if n["op"] == "cir.group_norm_silu")
    assert {"kind": "weight", "name": "g", "nbytes": 16, "role": "in"} in [
        {k: v for k, v in a.items() if k in ("kind", "name", "nbytes", "role")} for a in gn["args"]]
    assert lg["aliases"][0]["of"] == "group_norm_silu_4" and lg["aliases"][0]["value"] == "reshape_5"
    assert [o["name"] for o in lg["outputs"]] == ["output_0", "output_1"]
    assert all(o["kind"] == "arena" for o in lg["outputs"])
    assert {w["name"] for w in lg["weights"]} == {"g", "b"}
    for i in lg["inputs"]:
        assert i["kind"] == "input" and i["dtype"] == "f32"
    # the graph forms need only the CIR graph: they work on the lowered module too
    onnx.checker.check_model(to_onnx(lowered), full_check=True)


def test_launch_graph_needs_a_lowered_module():
    _module, _ = _lowered()
    with pytest.raises(CircError, match="not lowered: run 'lower-to-ascendc"):
        to_launch_graph(cir.parse_text(LOWERABLE))


def test_launch_graph_names_the_op_without_a_kernel():
    # an op whose kernel family is not written yet has no cir.launches (lower-to-ascendc
    # with partial=true): simulated here so the test does not depend on which families exist
    from cir.signature import entry_function

    _, lowered = _lowered()
    gn = next(o for o in entry_function(lowered).body.block.ops if o.name == "cir.group_norm_silu")
    del gn.attributes["cir.launches"]
    with pytest.raises(CircError, match=r"'cir\.group_norm_silu' at .*:7:3 has no kernel yet"):
        to_launch_graph(lowered)
    onnx.checker.check_model(to_onnx(lowered), full_check=True)  # the graphs still work
    assert to_ge(lowered)


def test_graph_errors_are_clear():
    with pytest.raises(CircError, match="expected a CIR module"):
        to_onnx("not a module")  # type: ignore[arg-type]
    module = cir.parse_text(LOWERABLE)  # weights not attached
    with pytest.raises(CircError, match="weight 'g' is not in the module's weights"):
        to_onnx(module)


def test_cmakelists_structure():
    text = cmakelists(["silu_0", "add_1", "silu_0"], "Ascend310P3")
    assert 'set(SOC_VERSION "Ascend310P3"' in text
    assert "include(${ASCENDC_CMAKE_DIR}/ascendc.cmake)" in text
    assert "ASCEND_CANN_PACKAGE_PATH" in text
    assert "ascendc_library(circ_kernels SHARED ${KERNEL_FILES})" in text
    assert text.count("kernels/silu_0.cpp") == 1 and "kernels/add_1.cpp" in text
    assert text.index("include(${ASCENDC_CMAKE_DIR}") < text.index("ascendc_library(")
    with pytest.raises(CircError, match="unknown SoC"):
        cmakelists(["k"], "Ascend999")
    with pytest.raises(CircError, match="C identifiers"):
        cmakelists(["bad name"], "Ascend910B1")
