"""The TensorFlow / Keras frontend end to end: Keras models, SavedModels, frozen GraphDefs,
.keras files and tf.functions -> tf import dialect -> normalize-tf -> CIR -> the reference
interpreter, compared with TensorFlow.

Tolerance: 1e-4 of the output's largest magnitude (+1e-5), as for the PyTorch frontend.
keras.applications models run at 64x64 with weights=None, random BatchNorm statistics (so the
recomposed batch norms are exercised) and no final softmax (whose output is uniform for random
weights, and would hide errors).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import tensorflow as tf

import cir
from cir.errors import CircError

BIN = Path(sys.executable).parent


def close(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    scale = float(np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale + 1e-5)


def random_statistics(model: keras.Model, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for w in model.weights:
        if "moving_variance" in w.path:
            w.assign(rng.uniform(0.5, 1.5, w.shape).astype("float32"))
        elif "moving_mean" in w.path:
            w.assign(rng.normal(0, 0.1, w.shape).astype("float32"))


def op_names(module) -> list[str]:
    return [op.name for op in module.walk()]


@pytest.mark.parametrize("name", ["ResNet50", "MobileNetV2"])
def test_keras_applications_match_keras(name):
    keras.utils.set_random_seed(0)
    model = getattr(keras.applications, name)(weights=None, input_shape=(64, 64, 3),
                                              classifier_activation=None)
    random_statistics(model)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 64, 64, 3)).astype("float32")
    module = cir.import_model(model, (x,))
    outs = cir.interpret(module, {module.body.block.first_op.args[0].name_hint: x})
    close(next(iter(outs.values())), np.asarray(model(x, training=False)))
    names = op_names(module)
    assert not any(n.startswith("tf.") for n in names)
    # Keras' decomposed BatchNorm is whole again and every NHWC <-> NCHW pair cancelled: one
    # transpose is left, on the NHWC input
    assert names.count("cir.batch_norm") == names.count("cir.conv2d")
    assert names.count("cir.transpose") == 1


class Grouped(keras.Model):
    """A grouped conv (a StatefulPartitionedCall with its body in the function library) and
    swish (Sigmoid * Mul inside IdentityN)."""

    def __init__(self):
        super().__init__()
        self.conv = keras.layers.Conv2D(8, 3, padding="same", groups=2, name="conv")
        self.dense = keras.layers.Dense(4, name="head")

    def call(self, x):
        h = keras.activations.silu(self.conv(x))
        return self.dense(keras.ops.mean(h, axis=(1, 2)))


def test_import_dialect_is_faithful():
    keras.utils.set_random_seed(0)
    model = Grouped()
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 4)).astype("float32")
    module = cir.import_model(model, (x,), stage="import")
    names = op_names(module)
    assert "tf.Conv2D" in names and "tf.Sigmoid" in names and "tf.BiasAdd" in names
    for gone in ("tf.StatefulPartitionedCall", "tf.PartitionedCall", "tf.IdentityN",
                 "tf.Identity", "tf.NoOp", "tf.Const", "tf.Placeholder"):
        assert gone not in names
    conv = next(op for op in module.walk() if op.name == "tf.Conv2D")
    assert conv.operand_names == ["input", "filter"]
    assert conv.arg("data_format") == "NHWC" and conv.arg("padding") == "SAME"
    assert conv.operands[1].type.get_shape() == (3, 3, 2, 8)  # HWIO, as TensorFlow keeps it
    text = cir.to_text(module, debuginfo=True)
    conv_line = next(ln for ln in text.splitlines() if "tf.Conv2D" in ln)
    assert 'loc("' in conv_line and "conv" in conv_line  # the node name, inside the call
    weights = [op.sym_name.data for op in module.walk() if op.name == "cir.weight"]
    assert {"grouped/conv/kernel", "grouped/head/bias"} <= set(weights)  # Keras variable paths
    cir_module = cir.import_model(model, (x,))
    arg = cir_module.body.block.first_op.args[0].name_hint
    close(next(iter(cir.interpret(cir_module, {arg: x}).values())), np.asarray(model(x)))
    assert "cir.silu" in op_names(cir_module)


def tool(*args) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "circ"), *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def small_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3), batch_size=1, name="image")
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1")(inp)
    h = keras.layers.BatchNormalization(name="bn")(h)
    out = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    model = keras.Model(inp, out)
    random_statistics(model)
    return model


def test_savedmodel_pb_keras_file_and_function(tmp_path):
    model = small_model()
    x = np.random.default_rng(0).uniform(size=(1, 8, 8, 3)).astype("float32")
    want = np.asarray(model(x, training=False))
    # SavedModel, through the command line, then run
    model.export(tmp_path / "sm", verbose=False)
    proc = tool("import", tmp_path / "sm", "--stage", "cir", "-o", tmp_path / "sm.mlir")
    assert proc.returncode == 0, proc.stderr
    np.save(tmp_path / "image.npy", x)
    proc = tool("run", tmp_path / "sm.mlir", "--input", f"image={tmp_path / 'image.npy'}",
                "--output-dir", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    outs = list((tmp_path / "out").glob("*.npy"))
    close(np.load(outs[0]), want)
    # a .keras file (loaded with safe_mode=True)
    model.save(tmp_path / "m.keras")
    m = cir.import_model(tmp_path / "m.keras")
    close(next(iter(cir.interpret(m, {"image": x}).values())), want)
    # a frozen GraphDef
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    fn = tf.function(lambda a: model(a, training=False),
                     input_signature=[tf.TensorSpec((1, 8, 8, 3), name="image")])
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
    tf.io.write_graph(frozen.graph.as_graph_def(), str(tmp_path), "frozen.pb", as_text=False)
    m = cir.import_model(tmp_path / "frozen.pb")
    close(next(iter(cir.interpret(m, {"image": x}).values())), want)

    # a tf.function with an input signature
    @tf.function(input_signature=[tf.TensorSpec((2, 3), tf.float32, name="a")])
    def f(a):
        return tf.nn.relu6(a * 4.0) + tf.reduce_sum(a, axis=1, keepdims=True)

    a = np.random.default_rng(1).standard_normal((2, 3)).astype("float32")
    m = cir.import_model(f)
    close(cir.interpret(m, {"a": a})["output_0"], f(a).numpy())


def test_bad_inputs(tmp_path):
    model = small_model()
    model.export(tmp_path / "sm", verbose=False)
    with pytest.raises(CircError, match=r"no signature 'predict' \(it has: serve, serving_default\)"):
        cir.import_model(tmp_path / "sm", signature="predict")
    proc = tool("import", tmp_path / "sm", "--signature", "predict", "-o", tmp_path / "x.mlir")
    assert proc.returncode == 1 and "no signature 'predict'" in proc.stderr
    with pytest.raises(CircError, match="import its directory"):
        cir.import_model(tmp_path / "sm" / "saved_model.pb")
    (tmp_path / "bad.pb").write_bytes(b"\x0a\x05hello\x12")
    proc = tool("import", tmp_path / "bad.pb", "-o", tmp_path / "m.mlir")
    assert proc.returncode == 1 and "corrupt or truncated" in proc.stderr
    assert not (tmp_path / "m.mlir").exists()
    model.save(tmp_path / "m.keras")
    (tmp_path / "cut.keras").write_bytes((tmp_path / "m.keras").read_bytes()[:500])
    with pytest.raises(CircError, match="cut.keras: not a .keras archive"):
        cir.import_model(tmp_path / "cut.keras")


def test_unmapped_ops_are_listed_with_count_and_location():
    @tf.function
    def f(a):
        return tf.math.cumsum(a, axis=0) + tf.math.cumsum(a * 2.0, axis=1)

    with pytest.raises(CircError) as e:
        cir.import_model(f, (np.ones((3, 4), np.float32),))
    msg = str(e.value)
    assert "1 tensorflow operator(s) have no CIR mapping" in msg
    assert "Cumsum x2, first at Cumsum" in msg


def test_circ_ops_lists_the_table():
    proc = tool("ops", "--framework", "tensorflow")
    assert proc.returncode == 0
    assert "Conv2D" in proc.stdout and "NHWC, HWIO filter" in proc.stdout
    assert "tensorflow operators mapped" in proc.stdout
