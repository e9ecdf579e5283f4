"""The CIR dialect from Python: builders infer result types, the verifier agrees with them,
every op is covered by the round-trip, negative and interpreter tests, and the Python API
(apply_pipeline, interpret) fails with clear messages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import cir
from cir import ops
from cir.build import build_module
from cir.errors import CircError
from cir.interpreter import KERNELS
from cir.types import FormatAttr, tensor

ROOT = Path(__file__).resolve().parent.parent
FILECHECK = ROOT / "tests" / "filecheck"


def test_builders_infer_result_types():
    def body(b, x, w):
        c = b.add(ops.Conv2dOp(x, w, strides=[2, 2], pads=[1, 1, 1, 1]))
        assert c.type == tensor((1, 8, 4, 4), "f32")
        s = b.add(ops.SplitOp(c, axis=1, sizes=[3, 5]))
        assert [r.type.get_shape() for r in s.results] == [(1, 3, 4, 4), (1, 5, 4, 4)]
        r = b.add(ops.ReduceMeanOp(s.results[1], axes=[2, 3], keepdims=True))
        assert r.type.get_shape() == (1, 5, 1, 1)
        a = b.add(ops.ArgmaxOp(r, axis=1))
        assert a.type == tensor((1, 1, 1), "i64")
        return [r]

    build_module("main", {"x": tensor((1, 4, 8, 8), "f32"), "w": tensor((8, 4, 3, 3), "f32")}, body)


def test_properties_as_python_values():
    def body(b, x):
        op = ops.GroupNormOp(x, num_groups=4)
        assert op.p == {"num_groups": 4, "epsilon": 1e-5}
        b.add(op)
        pool = ops.MaxPool2dOp(x, kernel=[2, 2], strides=(2, 2), ceil_mode=True)
        assert pool.p["kernel"] == (2, 2) and pool.p["ceil_mode"] is True
        assert pool.p["dilations"] == (1, 1)
        b.add(pool)
        return [op.results[0]]

    build_module("main", {"x": tensor((1, 8, 4, 4), "f32")}, body)


def test_builder_rejects_inconsistent_operands():
    from xdsl.utils.exceptions import VerifyException

    def body(b, x, y):
        b.add(ops.AddOp(x, y))
        return []

    with pytest.raises(VerifyException, match=r"shapes \(2, 3\) and \(4,\) are not broadcastable"):
        build_module("main", {"x": tensor((2, 3), "f32"), "y": tensor((4,), "f32")}, body)


def test_format_attr():
    t = tensor((1, 16, 4, 4), "f16", fmt="NC1HWC0")
    assert isinstance(t.encoding, FormatAttr)
    assert str(t) == "tensor<1x16x4x4xf16, #cir.format<NC1HWC0>>"
    assert tensor((2,), "f16", fmt="ND") == tensor((2,), "f16")


ALL_OPS = sorted(op.name for op in ops.CIR.operations)


def test_op_set_is_the_one_the_issues_name():
    named = (
        "constant weight neg abs exp log sqrt rsqrt reciprocal erf tanh sigmoid relu clamp silu "
        "gelu hardswish sin cos floor add sub mul div pow maximum minimum eq ne lt le gt ge where "
        "cast reduce_sum reduce_mean reduce_max reduce_min argmax reshape transpose concat split "
        "slice gather gather_elements broadcast_to pad tile conv2d conv_transpose2d matmul linear softmax "
        "log_softmax layer_norm group_norm batch_norm rms_norm max_pool2d avg_pool2d upsample "
        "attention "
        # integer, boolean and indexing ops (issue #13)
        "floor_div mod logical_and logical_or logical_xor logical_not cumsum gather_nd scatter_nd "
        "scatter_elements"
    ).split()
    fused = ("group_norm_silu add_group_norm conv_gn_silu flash_attention geglu add_layer_norm "
             "linear_act conv2d_act trans_data").split()
    assert sorted(f"cir.{n}" for n in named + fused) == ALL_OPS


@pytest.mark.parametrize("name", ALL_OPS)
def test_every_op_round_trips_and_has_a_kernel(name):
    text = "".join(p.read_text() for p in (FILECHECK / "dialects" / "cir").glob("*.mlir"))
    assert re.search(rf"CHECK.*= {re.escape(name)} ", text), f"{name} has no round-trip test"
    op_cls = next(o for o in ops.CIR.operations if o.name == name)
    assert op_cls in KERNELS or name in ("cir.constant", "cir.weight")


def _verifier_messages() -> list[str]:
    """The literal start of every `raise VerifyException(...)` message in the dialect code."""
    found = []
    for src in ("cir/ops.py", "cir/shapes.py", "cir/opbase.py", "cir/types.py"):
        tree = ast.parse((ROOT / src).read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                    and getattr(node.exc.func, "id", "") == "VerifyException" and node.exc.args):
                arg = node.exc.args[0]
                if isinstance(arg, ast.JoinedStr):
                    lit = next((v.value for v in arg.values if isinstance(v, ast.Constant)), "")
                    prefix = lit.split("{")[0]
                else:
                    prefix = arg.value if isinstance(arg, ast.Constant) else ""
                if prefix.strip() and "unreachable" not in prefix:
                    found.append(prefix.strip())
    return found


@pytest.mark.parametrize("message", _verifier_messages())
def test_every_verifier_rule_has_a_negative_test(message):
    checks = (FILECHECK / "dialects" / "cir" / "invalid.mlir").read_text()
    assert message in checks, f"no negative test for verifier message '{message}'"


MODULE = """
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = cir.exp %x : tensor<2x3xf32>
  %b = cir.exp %x : tensor<2x3xf32>
  %c = cir.add %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %c : tensor<2x3xf32>
}
"""


def test_apply_pipeline_and_interpret():
    m = cir.parse_text(MODULE)
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    before = cir.interpret(m, {"x": x})["output_0"]
    m = cir.apply_pipeline(m, "cse,dce")
    assert cir.to_text(m).count("cir.exp") == 1
    after = cir.interpret(m, {"x": x})["output_0"]
    np.testing.assert_array_equal(before, after)
    np.testing.assert_allclose(after, 2 * np.exp(x), rtol=1e-6)


@pytest.mark.parametrize("spec", ["cse{", "frob", "cse{x=1}"])
def test_apply_pipeline_bad_spec(spec):
    with pytest.raises(CircError, match="bad pass pipeline"):
        cir.apply_pipeline(cir.parse_text(MODULE), spec)


def test_interpret_input_errors():
    m = cir.parse_text(MODULE)
    with pytest.raises(CircError, match=r"missing input\(s\) 'x'"):
        cir.interpret(m, {})
    with pytest.raises(CircError, match=r"has shape \(3, 2\), expected \(2, 3\)"):
        cir.interpret(m, {"x": np.zeros((3, 2), np.float32)})
    with pytest.raises(CircError, match="has dtype int64, expected f32"):
        cir.interpret(m, {"x": np.zeros((2, 3), np.int64)})
    # numpy's default float64 is accepted for float inputs
    cir.interpret(m, {"x": np.zeros((2, 3))})


def test_missing_weight_is_named():
    m = cir.parse_text(
        'func.func @main() -> tensor<2xf32> {\n  %w = cir.weight "enc.w" : tensor<2xf32>\n'
        "  func.return %w : tensor<2xf32>\n}\n", "w.mlir"
    )
    with pytest.raises(CircError, match=r"'cir.weight' at w.mlir:2:3: weight 'enc.w' is not in"):
        cir.interpret(m, {})
    with pytest.raises(CircError, match=r"weight 'enc.w' has shape \(3,\), IR says"):
        cir.interpret(m, {}, weights={"enc.w": np.zeros(3, np.float32)})


def test_entry_function_choice():
    two = MODULE.replace("@main", "@a") + MODULE.replace("@main", "@b")
    with pytest.raises(CircError, match="several public functions"):
        cir.interpret(cir.parse_text(two), {"x": np.zeros((2, 3), np.float32)})
    private = MODULE.replace("@main", "@a") + MODULE.replace("func.func @main", "func.func private @b")
    out = cir.interpret(cir.parse_text(private), {"x": np.zeros((2, 3), np.float32)})
    assert list(out) == ["output_0"]


def test_weights_round_trip_through_safetensors(tmp_path):
    store = cir.WeightStore({"a": np.arange(4, dtype=np.float32), "b": np.ones((2, 2), np.float16)})
    store.save(tmp_path / "w.safetensors")
    loaded = cir.WeightStore.open(tmp_path / "w.safetensors")
    assert sorted(loaded) == ["a", "b"]
    np.testing.assert_array_equal(loaded["a"], store["a"])
    (tmp_path / "bad.safetensors").write_bytes(b"\x00\x01not safetensors")
    with pytest.raises(CircError, match="not a readable safetensors file"):
        cir.WeightStore.open(tmp_path / "bad.safetensors")
