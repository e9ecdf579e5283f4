"""Model files are untrusted input (issue 14): every importer answers a corrupt, truncated,
hostile or mistyped model with one CircError that names the problem and where it is, and
never runs anything from the file (no pickles, no code).

The bad files are made here from small valid models (also the seeds of
``tests/fuzz/test_fuzz_import.py``).
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cir
from cir.errors import CircError

# --- small valid models ----------------------------------------------------------------------


def onnx_model():
    """x * w -> Relu -> Transpose, with the initializer w."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.linspace(-1, 1, 12, dtype=np.float32).reshape(1, 3, 2, 2), "w")
    nodes = [helper.make_node("Mul", ["x", "w"], ["m"], name="mul"),
             helper.make_node("Relu", ["m"], ["r"], name="relu"),
             helper.make_node("Transpose", ["r"], ["y"], name="transpose", perm=[0, 1, 3, 2])]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 2, 2])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def save_onnx(path: Path, external: bool = False) -> Path:
    """The tiny ONNX model at `path`; with `external`, its initializer in ``<stem>.data``."""
    import onnx

    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(onnx_model(), path, save_as_external_data=external,
                    location=f"{path.stem}.data", size_threshold=0)
    return path


def save_pt2(path: Path) -> Path:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()
    torch.export.save(torch.export.export(model, (torch.randn(2, 4),)), path)
    return path


def keras_model():
    import keras

    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu")])


def save_keras(path: Path) -> Path:
    keras_model().save(path)
    return path


def save_saved_model(path: Path) -> Path:
    keras_model().export(path, verbose=False)
    return path


def save_mindir(path: Path) -> Path:
    """A Dense + ReLU cell exported to ``<path>`` (which must end in .mindir)."""
    import mindspore as ms
    from mindspore import nn

    cell = nn.SequentialCell([nn.Dense(4, 3), nn.ReLU()])
    cell.set_train(False)
    ms.export(cell, ms.Tensor(np.ones((2, 4), np.float32)), file_name=str(path.with_suffix("")),
              file_format="MINDIR")
    return path


def rewrite_zip(src: Path, dst: Path, replace: dict[str, bytes]) -> Path:
    """A copy of the zip `src` with some entries' contents replaced (by name suffix)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            new = next((v for k, v in replace.items() if info.filename.endswith(k)), None)
            zout.writestr(info, zin.read(info) if new is None else new)
    return dst


def zip_json(path: Path, suffix: str) -> object:
    """The JSON entry of a zip whose name ends in `suffix`."""
    with zipfile.ZipFile(path) as z:
        return json.loads(next(z.read(n) for n in z.namelist() if n.endswith(suffix)))


def refused(match: str, model: object, *args: object, **kw: object) -> str:
    """Import `model`: it must fail with a one-line CircError matching `match`."""
    with pytest.raises(CircError, match=match) as e:
        cir.import_model(model, *args, **kw)
    assert "\n" not in str(e.value)
    return str(e.value)


# --- ONNX ------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["initializer", "input", "output"])
def test_onnx_unknown_element_type(tmp_path, where):
    model = onnx_model()
    if where == "initializer":
        model.graph.initializer[0].data_type = 99
    else:
        getattr(model.graph, where)[0].type.tensor_type.elem_type = 99
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    name = {"initializer": "w", "input": "x", "output": "y"}[where]
    msg = refused("unknown element type 99", path)
    assert str(path) in msg and f"{where}[0]('{name}')" in msg


def test_onnx_nul_in_external_data_location(tmp_path):
    import onnx

    path = save_onnx(tmp_path / "m.onnx", external=True)
    model = onnx.load(path, load_external_data=False)
    model.graph.initializer[0].external_data[0].value = "m.d\0ata"
    path.write_bytes(model.SerializeToString())
    refused(r"tensor 'w' keeps its data at 'm.d\\x00ata'.*NUL byte", path)


@pytest.mark.parametrize("field", ["node name", "attribute name", "attribute string", "doc string"])
def test_onnx_strings_that_are_not_utf8(tmp_path, field):
    from onnx import helper

    model = onnx_model()
    node = model.graph.node[2]
    marker = "MARKER"
    if field == "node name":
        node.name = marker
    elif field == "attribute name":
        node.attribute[0].name = marker
    elif field == "attribute string":
        node.attribute.append(helper.make_attribute("note", marker))
    else:
        node.doc_string = marker
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString().replace(marker.encode(), b"\xff\xfe" * 3))
    if field == "attribute string":  # a bytes field in ONNX: Transpose has no such attribute
        refused("the ONNX checker rejects the model: Unrecognized attribute: note", path)
    else:
        # protobuf either hands the bad string over as bytes (circ names its field) or, in
        # some processes (depending on what imported protobuf first), refuses it while parsing
        msg = refused(r"is not UTF-8 text|can't decode byte 0xff", path)
        assert str(path) in msg and ("model.graph.node[2]" in msg or "onnx.NodeProto" in msg
                                     or "onnx.AttributeProto" in msg)


@pytest.mark.parametrize("suffix", [".onnx", ".pt2", ".mindir", ".keras", ".pb"])
def test_a_directory_named_like_a_model(tmp_path, suffix):
    path = tmp_path / f"x{suffix}"
    path.mkdir()
    refused(f"{path}: is a directory", path)


def test_onnx_input_shapes_of_the_wrong_kind(tmp_path):
    path = save_onnx(tmp_path / "m.onnx")
    refused("input shapes for an ONNX model are a dict", path, 5)
    refused("input 'x': a shape is an array or a list of sizes", path, {"x": ["a", 2]})
    refused("input 'x': a shape is an array or a list of sizes", path, [[1, -3, 2, 2]])


# --- PyTorch .pt2 ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pt2(tmp_path_factory) -> Path:
    return save_pt2(tmp_path_factory.mktemp("pt2") / "m.pt2")


def test_pt2_seed_imports(pt2):
    assert cir.import_model(pt2, stage="import") is not None


@pytest.mark.parametrize("keep", [0.5, -30, -1])
def test_truncated_pt2_is_corrupt_not_a_pickle(pt2, tmp_path, keep):
    data = pt2.read_bytes()
    cut = tmp_path / "cut.pt2"
    cut.write_bytes(data[: int(len(data) * keep) if keep > 0 else keep])
    msg = refused("corrupt or truncated", cut)
    assert "pickle" not in msg


def test_corrupt_pt2_central_directory(pt2, tmp_path):
    data = pt2.read_bytes()
    bad = tmp_path / "bad.pt2"
    at = data.rindex(b"PK\x01\x02")  # the outer archive's last directory entry
    bad.write_bytes(data[:at] + b"PK\x01\x03" + data[at + 4:])
    refused(f"{bad}: corrupt or truncated .pt2 archive", bad)


def test_full_pickles_are_refused_with_advice(tmp_path):
    import torch

    for name, kw in [("zip.pt", {}), ("legacy.pt", {"_use_new_zipfile_serialization": False})]:
        torch.save(torch.nn.Linear(4, 3), tmp_path / name, **kw)
        refused(r"pickle \(torch.save\), which circ never loads.*torch.export.save",
                tmp_path / name)


class _Touch:
    """Unpickling this creates a file: proof that something was unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_pt2_pickles_are_never_loaded(pt2, tmp_path):
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_Touch(marker))
    # the example inputs are a pickle torch.export.load would load (retrying weights_only=False)
    sample = rewrite_zip(pt2, tmp_path / "sample.pt2", {"data/sample_inputs/model.pt": payload})
    assert cir.import_model(sample, stage="import") is not None
    # weights marked use_pickle
    config = zip_json(pt2, "weights_config.json")
    entry = next(iter(config["config"].values()))
    entry["use_pickle"] = True
    pickled = rewrite_zip(pt2, tmp_path / "pickled.pt2", {
        "weights_config.json": json.dumps(config).encode(), entry["path_name"]: payload})
    refused("stored as a pickled object, which circ never loads", pickled)
    assert not marker.exists()


def _with_program(pt2: Path, dst: Path, edit) -> Path:
    program = zip_json(pt2, "models/model.json")
    edit(program)
    return rewrite_zip(pt2, dst, {"models/model.json": json.dumps(program).encode()})


def test_pt2_node_targets_must_be_operators(pt2, tmp_path):
    def target(name):
        def edit(program):
            program["graph_module"]["graph"]["nodes"][0]["target"] = name
        return _with_program(pt2, tmp_path / "t.pt2", edit)

    refused("calls 'torch.ops.load_library', which is not an operator",
            target("torch.ops.load_library"))
    refused("calls 'torch.os.system', which is not an operator", target("torch.os.system"))
    refused("operator 'torch.ops.nolib.nop.default', which is not registered",
            target("torch.ops.nolib.nop.default"))


def test_pt2_symbolic_sizes_are_not_evaluated(pt2, tmp_path):
    marker = tmp_path / "evaluated"

    def edit(program):
        meta = next(iter(program["graph_module"]["graph"]["tensor_values"].values()))
        code = f"__import__('pathlib').Path('{marker}').touch() or s0"
        meta["sizes"][0] = {"as_expr": {"expr_str": code, "hint": {"as_int": 2}}}

    refused("a symbolic size circ does not read", _with_program(pt2, tmp_path / "e.pt2", edit))
    assert not marker.exists()


def test_pt2_weights_must_match_the_graph(pt2, tmp_path):
    config = zip_json(pt2, "weights_config.json")
    meta = next(iter(config["config"].values()))["tensor_meta"]
    meta["sizes"] = [{"as_int": 1 << 40}, {"as_int": 1}]
    bad = rewrite_zip(pt2, tmp_path / "w.pt2", {"weights_config.json": json.dumps(config).encode()})
    refused(r"weight '0.weight' is malformed \(.*\); corrupt", bad)


# --- the Python API --------------------------------------------------------------------------


def test_python_api_arguments_of_the_wrong_kind(tmp_path):
    import torch

    onnx_path = save_onnx(tmp_path / "m.onnx")
    refused("cannot import a int", 123)
    refused("needs example_inputs \\(a tuple or a dict\\), not a int", torch.nn.Linear(4, 3), 5)
    refused("needs example_inputs .*not None", torch.nn.Linear(4, 3))
    refused("framework must be a name", onnx_path, framework=["onnx"])
    refused("signature must be a name", onnx_path, signature=1)
    refused("custom_ops must be a file path or a mapping", onnx_path, custom_ops=1)
    refused("stage must be 'import' or 'cir'", onnx_path, stage=None)
    refused("not a valid file path .*NUL", "m\0.onnx")


@pytest.mark.parametrize("name", ["m.onnx", "m.pt2", "m.keras", "m.pb", "m.mindir", "m.xyz", "dir"])
def test_missing_files(tmp_path, name):
    refused(f"{tmp_path / name}: no such file", tmp_path / name)


# --- TensorFlow / Keras ----------------------------------------------------------------------


def test_corrupt_keras_files(tmp_path):
    good = save_keras(tmp_path / "m.keras")
    data = good.read_bytes()
    (tmp_path / "cut.keras").write_bytes(data[: len(data) // 2])
    refused("cut.keras: not a .keras archive; corrupt or truncated", tmp_path / "cut.keras")
    flipped = bytearray(data)
    flipped[data.index(b"config.json") + 40] ^= 0xFF  # inside config.json's data: a bad CRC
    (tmp_path / "crc.keras").write_bytes(flipped)
    refused("crc.keras: cannot load the Keras model", tmp_path / "crc.keras")
    rewrite_zip(good, tmp_path / "json.keras", {"config.json": b"{not json"})
    refused("json.keras: cannot load the Keras model", tmp_path / "json.keras")


def test_corrupt_saved_models_and_graph_defs(tmp_path):
    sm = save_saved_model(tmp_path / "sm")
    pb = (sm / "saved_model.pb").read_bytes()
    (sm / "saved_model.pb").write_bytes(pb[: len(pb) // 2])
    refused(f"{sm}/saved_model.pb: not a SavedModel; corrupt or truncated", sm)
    (sm / "saved_model.pb").write_bytes(pb)
    data = next((sm / "variables").glob("variables.data-*"))
    data.write_bytes(data.read_bytes()[:10])
    refused(f"{sm}: cannot load the SavedModel", sm)
    (tmp_path / "g.pb").write_bytes(b"\x0a\xff\xff\xff\xff\x0f garbage")
    refused("g.pb: not a frozen GraphDef", tmp_path / "g.pb")


# --- MindSpore -------------------------------------------------------------------------------


def test_corrupt_mindir_files(tmp_path):
    good = save_mindir(tmp_path / "m.mindir")
    data = good.read_bytes()
    (tmp_path / "cut.mindir").write_bytes(data[: len(data) // 2])
    refused("cut.mindir: not a MINDIR model; corrupt or truncated", tmp_path / "cut.mindir")
    name = next(n for n in (b"Default/", b"construct") if n in data)
    (tmp_path / "text.mindir").write_bytes(data.replace(name, b"\xff" * len(name), 1))
    refused(r"text.mindir: (model.* is not UTF-8 text|not a MINDIR model; .*can't decode byte 0xff)",
            tmp_path / "text.mindir")



@pytest.mark.parametrize("op", ["ConstantOfShape", "Expand"])
def test_onnx_folding_never_computes_large_results(op):
    """A constant-folded node's result size is judged before computing it: a file asking for
    64 MiB (or 64 GiB) of constant gets an op, not an allocation."""
    import tracemalloc

    from onnx import TensorProto, helper, numpy_helper

    shape = numpy_helper.from_array(np.array([4096, 4096], dtype=np.int64), "shape")
    inputs = ["shape"] if op == "ConstantOfShape" else ["one", "shape"]
    one = numpy_helper.from_array(np.ones((1, 1), np.float32), "one")
    graph = helper.make_graph(
        [helper.make_node(op, inputs, ["big"], name="big"),
         helper.make_node("Add", ["x", "big"], ["y"], name="add")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4096, 4096])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4096, 4096])], [shape, one])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    tracemalloc.start()
    try:
        module = cir.import_model(model.SerializeToString(), framework="onnx", stage="import")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak >> 20} MiB allocated"
    assert any(o.name == f"onnx.{op}" for o in module.walk())


def test_onnx_names_with_control_characters(tmp_path):
    model = onnx_model()
    model.graph.node[0].output[0] = model.graph.node[1].input[0] = "m\nnext line"
    msg = refused(r"model.graph.node\[0\]\('mul'\).output 'm\\nnext line' has control characters",
                  model)
    assert msg.startswith("the ONNX model: ")


def test_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    refused(f"{fifo}: not a regular file; expected an ONNX model", fifo)


def test_dynamic_shapes_pass_the_expression_check(tmp_path):
    """PyTorch writes symbolic sizes as ``Mul(Integer(2), Symbol('s77', positive=True, ...))``:
    such a program is read."""
    import torch

    class Flat(torch.nn.Module):
        def forward(self, x):
            return torch.relu(x.reshape(-1) * 2)

    batch = torch.export.Dim("batch", min=2, max=64)
    ep = torch.export.export(Flat(), (torch.randn(4, 3),), dynamic_shapes=({0: batch},))
    torch.export.save(ep, tmp_path / "dyn.pt2")
    assert cir.import_model(tmp_path / "dyn.pt2", stage="import") is not None


def test_custom_op_mappings_of_the_wrong_kind(tmp_path):
    pt2_path = save_pt2(tmp_path / "m.pt2")
    (tmp_path / "latin1.toml").write_bytes(b'[ops."a.b"]\ncir = "cir.relu" # \xe9\n')
    refused("latin1.toml: not valid TOML: not UTF-8 text", pt2_path,
            custom_ops=tmp_path / "latin1.toml")
    (tmp_path / "list.json").write_text("[1, 2]")
    refused("list.json: a custom op mapping is a table, not a list", pt2_path,
            custom_ops=tmp_path / "list.json")
    refused(r"\[ops\] must be a table of named entries", pt2_path, custom_ops={"ops": 5})
    refused("malformed entry \\(TypeError", pt2_path,
            custom_ops={"ops": {"a.b": {"steps": 3}}})


def test_tensorflow_graphs_that_touch_files_are_refused(tmp_path):
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    marker = tmp_path / "written"
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 4], name="x")
        tf.io.write_file(str(marker), tf.strings.as_string(tf.reduce_sum(x)), name="leak")
        tf.nn.relu(x, name="y")
    (tmp_path / "g.pb").write_bytes(graph.as_graph_def().SerializeToString())
    refused("g.pb: node 'leak' is a WriteFile, which reads or writes files", tmp_path / "g.pb")
    sm = save_saved_model(tmp_path / "sm")
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((sm / "saved_model.pb").read_bytes())
    function = proto.meta_graphs[0].graph_def.library.function[0]
    function.node_def.add(name="leak", op="ReadFile", input=["filename"])
    (sm / "saved_model.pb").write_bytes(proto.SerializeToString())
    refused("saved_model.pb: node 'leak' is a ReadFile", sm)
    assert not marker.exists()


def test_tensorflow_example_inputs_of_the_wrong_kind(tmp_path):
    sm = save_saved_model(tmp_path / "sm")
    refused("example input 0 .*: ", sm, [np.zeros(2, dtype="V8")])
    refused("does not take the example inputs", sm, [(1, 2, 3)])
    refused("example input 0 is a str", save_keras(tmp_path / "m.keras"), ["x"])


def test_pt2_entry_names_that_are_not_utf8(pt2, tmp_path):
    """zipfile decodes names flagged UTF-8 strictly."""
    data = pt2.read_bytes()
    at = data.rindex(b"m/byteorder")  # in the central directory, whose entries are flagged UTF-8
    bad = tmp_path / "names.pt2"
    bad.write_bytes(data[:at] + b"\xff" + data[at + 1:])
    refused("names.pt2: corrupt or truncated .pt2 archive", bad)


def test_command_line_reports_one_error_line(tmp_path):
    import subprocess
    import sys

    (tmp_path / "x.onnx").mkdir()
    circ = str(Path(sys.executable).parent / "circ")
    args = [circ, "import", str(tmp_path / "x.onnx"), "-o", str(tmp_path / "m.mlir")]
    proc = subprocess.run(args, check=False, capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"circ: error: {tmp_path / 'x.onnx'}: is a directory" in proc.stderr


def test_onnx_shape_of_a_huge_input_is_folded_without_memory():
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Shape", ["x"], ["s"], name="shape"),
         helper.make_node("Cast", ["s"], ["y"], name="cast", to=TensorProto.FLOAT)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1 << 38, 4])],  # 4 TiB
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    module = cir.import_model(model.SerializeToString(), framework="onnx", stage="import")
    assert not any(o.name == "onnx.Shape" for o in module.walk())


@pytest.mark.parametrize("equation", ["a1", "ab,b.->a", "Ño×"])
def test_onnx_einsum_equations_that_hang_shape_inference(tmp_path, equation):
    """onnx's Einsum shape inference loops forever (in C++, which no signal interrupts) on
    these: refused before it runs; checked in a child process so that a regression fails
    instead of hanging the tests."""
    import subprocess
    import sys

    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Einsum", ["a", "b"], ["c"], name="einsum", equation=equation)], "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in "ab"],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [2])])
    path = tmp_path / "einsum.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
                     .SerializeToString())
    code = ("import sys, cir\ntry:\n    cir.import_model(sys.argv[1])\n"
            "except cir.CircError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "model.graph.node[0]('einsum'): Einsum equation" in proc.stdout
    assert "is malformed" in proc.stdout


def test_onnx_large_1d_inputs_cost_no_memory(tmp_path):
    """ONNX's data propagation makes a protobuf dimension per element of a 1-D tensor (20 GB
    for 2**27 floats): circ's shape inference runs without it. Measured in a child process
    (its peak RSS)."""
    import subprocess
    import sys

    from onnx import TensorProto, helper

    n = 1 << 22  # 700 MB with data propagation
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "x"], ["y"], name="add")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])])
    path = tmp_path / "wide.onnx"
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
                     .SerializeToString())
    code = ("import resource, sys, cir\n"
            "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "before = peak()\n"
            "cir.import_model(sys.argv[1], stage='import')\n"
            "print((peak() - before) >> 10)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.split()[-1]) < 200, f"the import grew the peak RSS by {proc.stdout} MiB"


@pytest.mark.parametrize("dims", [[1 << 40, 1 << 40], [1 << 40] * 3, [2, -3]])
def test_onnx_absurd_shapes(dims):
    """A shape of more than 2**40 elements (no device holds it; its byte size overflows) or
    with a negative size is refused where it is read."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    refused(r"graph input 'x': value 'x' has (shape .*more than 2\*\*40 elements|a negative dim)",
            model.SerializeToString(), framework="onnx")
