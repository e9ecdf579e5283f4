"""Fuzzing the model importers (issue 14): a model file is untrusted input.

- byte mutations of small valid models (made once per module): an ONNX model, one with its
  initializer in an external data file (the model and the data mutated), a .pt2, a .keras, a
  SavedModel (its saved_model.pb, its variables) and a .mindir; each imported with
  ``cir.import_model(path, stage="cir")``, which must succeed or raise one clean CircError
  (``expect_clean``);
- zip entries of the .pt2 and .keras mutated and re-zipped (valid CRCs), and the .pt2's JSON
  (program, weights configuration) edited as JSON: what reaches the framework's reader;
- structure-aware ONNX models made with onnx.helper: random operators, attribute values and
  kinds, input counts, element types and dimensions;
- custom op mappings (``custom_ops=``) of random structure.

Budgets: most cases take milliseconds and run the profile's ``max_examples``. TensorFlow and
Keras imports take ~25 ms once TensorFlow is warm (2 s for the first), and run half of it
(``SLOW``: 100 in the ``ci`` profile), which keeps this file under a minute there.
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from harness import expect_clean, mutated
from hypothesis import event, given, settings
from hypothesis import strategies as st

import cir
from cir.errors import CircError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from test_hardening_import import (
    onnx_model,
    save_keras,
    save_mindir,
    save_onnx,
    save_pt2,
    save_saved_model,
)

SLOW = settings(max_examples=max(10, settings.default.max_examples // 2))


class Seed:
    """A valid model made in ``<root>/seed`` and copied to ``<root>/work``, where each example
    overwrites one of its files."""

    def __init__(self, root: Path, name: str, make: Callable[[Path], Path], file: str = ""):
        (root / "seed").mkdir(parents=True)
        make(root / "seed" / name)
        shutil.copytree(root / "seed", root / "work")
        self.root = root
        self.model = root / "work" / name  # what is imported
        self.file = file or name  # the file mutated by default, relative to the folder

    def original(self, file: str = "") -> bytes:
        return (self.root / "seed" / (file or self.file)).read_bytes()

    @contextmanager
    def mutant(self, data: bytes, file: str = "") -> Iterator[Path]:
        """The model with `file` (by default the seed's) holding `data`, restored after."""
        target = self.root / "work" / (file or self.file)
        target.write_bytes(data)
        try:
            yield self.model
        finally:
            target.write_bytes(self.original(file))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> dict[str, Seed]:
    root = tmp_path_factory.mktemp("fuzz-import")

    def onnx_external(path: Path) -> Path:
        return save_onnx(path, external=True)

    return {
        "onnx": Seed(root / "onnx", "m.onnx", save_onnx),
        "onnx-external": Seed(root / "onnx-external", "m.onnx", onnx_external),
        "pt2": Seed(root / "pt2", "m.pt2", save_pt2),
        "keras": Seed(root / "keras", "m.keras", save_keras),
        "saved-model": Seed(root / "saved-model", "sm", save_saved_model, "sm/saved_model.pb"),
        "mindir": Seed(root / "mindir", "m.mindir", save_mindir),
    }


def import_clean(path: Path) -> object:
    result = expect_clean(cir.import_model, path, stage="cir", timeout=60)
    event("refused" if isinstance(result, CircError) else "imported")
    return result


def fuzz_bytes(seed: Seed, data: st.DataObject, file: str = "") -> None:
    mutant = data.draw(mutated(seed.original(file)), label=f"mutated {file or seed.file}")
    with seed.mutant(mutant, file) as model:
        import_clean(model)


# --- byte mutations --------------------------------------------------------------------------


@given(st.data())
def test_mutated_onnx(seeds, data):
    fuzz_bytes(seeds["onnx"], data)


@given(st.data())
def test_mutated_onnx_with_external_data(seeds, data):
    fuzz_bytes(seeds["onnx-external"], data)


@given(st.data())
def test_mutated_onnx_external_data_file(seeds, data):
    fuzz_bytes(seeds["onnx-external"], data, "m.data")


@given(st.data())
def test_mutated_pt2(seeds, data):
    fuzz_bytes(seeds["pt2"], data)


@given(st.data())
def test_mutated_mindir(seeds, data):
    fuzz_bytes(seeds["mindir"], data)


@SLOW
@given(st.data())
def test_mutated_keras(seeds, data):
    fuzz_bytes(seeds["keras"], data)


@SLOW
@given(st.data())
def test_mutated_saved_model(seeds, data):
    fuzz_bytes(seeds["saved-model"], data)


@SLOW
@given(st.data())
def test_mutated_saved_model_variables(seeds, data):
    file = data.draw(st.sampled_from(["sm/variables/variables.index",
                                      "sm/variables/variables.data-00000-of-00001"]))
    fuzz_bytes(seeds["saved-model"], data, file)


@st.composite
def zip_with_mutated_entry(draw: st.DrawFn, seed: Seed) -> bytes:
    """The seed zip with one entry's contents mutated and the archive rewritten (valid CRCs,
    so the mutation reaches the entry's reader)."""
    with zipfile.ZipFile(io.BytesIO(seed.original())) as z:
        infos = z.infolist()
        target = draw(st.sampled_from([i.filename for i in infos]), label="entry")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as w:
            for info in infos:
                data = z.read(info)
                w.writestr(info, draw(mutated(data)) if info.filename == target else data)
    return out.getvalue()


@given(st.data())
def test_pt2_with_a_mutated_entry(seeds, data):
    seed = seeds["pt2"]
    with seed.mutant(data.draw(zip_with_mutated_entry(seed))) as model:
        import_clean(model)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 64), 1 << 64) | st.floats()
    | st.text(max_size=12) | st.sampled_from(["torch.ops.aten.add.Tensor", "s0", "as_int"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6)


@st.composite
def mutated_json(draw: st.DrawFn, tree: object, max_edits: int = 4) -> object:
    """`tree` (parsed JSON) with a few values replaced, deleted or duplicated."""
    holder = [json.loads(json.dumps(tree))]  # so that the whole tree can be replaced too
    for _ in range(draw(st.integers(1, max_edits))):
        paths = _json_paths(holder)
        parent, key = draw(st.sampled_from(paths))
        kind = draw(st.sampled_from(["replace", "delete", "copy"]))
        if kind == "replace":
            parent[key] = draw(JSON_VALUES)
        elif kind == "delete" and isinstance(parent, dict):
            del parent[key]
        elif kind == "copy":
            source, at = draw(st.sampled_from(paths))
            parent[key] = json.loads(json.dumps(source[at]))
    return holder[0]


def _json_paths(tree: object) -> list[tuple[object, object]]:
    """(container, key) of every value in a JSON tree."""
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) \
            if isinstance(node, list) else []
        for k, v in items:
            out.append((node, k))
            stack.append(v)
    return out


@given(st.data())
def test_pt2_with_a_mutated_program(seeds, data):
    """The .pt2's program or weights configuration edited as JSON, re-zipped: what reaches
    PyTorch's deserializer."""
    seed = seeds["pt2"]
    with zipfile.ZipFile(io.BytesIO(seed.original())) as z:
        infos = z.infolist()
        names = [i.filename for i in infos if i.filename.endswith(".json")]
        target = data.draw(st.sampled_from(names), label="entry")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as w:
            for info in infos:
                raw = z.read(info)
                if info.filename == target:
                    raw = json.dumps(data.draw(mutated_json(json.loads(raw)))).encode()
                w.writestr(info, raw)
    with seed.mutant(out.getvalue()) as model:
        import_clean(model)


@SLOW
@given(st.data())
def test_keras_with_a_mutated_entry(seeds, data):
    seed = seeds["keras"]
    with seed.mutant(data.draw(zip_with_mutated_entry(seed))) as model:
        import_clean(model)


# --- structure-aware ONNX --------------------------------------------------------------------

# operators with their usual input counts; drawn input counts go one either side
OPS = {"Relu": 1, "Add": 2, "MatMul": 2, "Conv": 2, "Reshape": 2, "Transpose": 1,
       "Softmax": 1, "Concat": 2, "Gather": 2, "Slice": 3, "ReduceMean": 1, "Resize": 3,
       "Pad": 2, "Expand": 2, "Cast": 1, "Gemm": 3, "Split": 1, "Unsqueeze": 2,
       "ConstantOfShape": 1, "Tile": 2, "Range": 3, "Where": 3, "LayerNormalization": 2,
       "MaxPool": 1, "Flatten": 1, "Shape": 1, "Squeeze": 1, "TopK": 2, "Constant": 0,
       "GroupNormalization": 3, "Einsum": 2, "CumSum": 2, "Upsample": 2}  # fmt: skip
OPSET = 18


def _attribute_value(kind: int) -> st.SearchStrategy[object]:
    """A value of the attribute kind the schema gives (`kind`), or now and then of any kind."""
    from onnx import AttributeProto as A

    ints = st.integers(-3, 8) | st.integers(-(1 << 62), 1 << 62)
    floats = st.floats(width=32)
    texts = st.sampled_from(["NOTSET", "SAME_UPPER", "VALID", "nearest", "linear", "constant",
                             "reflect", "ij,jk->ik", "..."]) | st.text(max_size=6)
    tensors = st.lists(ints, max_size=4).map(lambda v: np.array(v, dtype=np.int64))
    by_kind = {A.INT: ints, A.INTS: st.lists(ints, max_size=6), A.FLOAT: floats,
               A.FLOATS: st.lists(floats, max_size=4), A.STRING: texts,
               A.STRINGS: st.lists(texts, max_size=3), A.TENSOR: tensors}
    return by_kind.get(kind, ints) if kind in by_kind and kind != A.TENSOR else \
        st.one_of(*by_kind.values())


@st.composite
def onnx_nodes(draw: st.DrawFn, values: list[str], index: int):
    """One node: a random operator over earlier values, with a few of its schema's attributes
    (plus a bogus one now and then), each given a random value."""
    import onnx
    from onnx import helper, numpy_helper

    op = draw(st.sampled_from(sorted(OPS)))
    schema = onnx.defs.get_schema(op, OPSET)
    n_in = max(0, OPS[op] + draw(st.sampled_from([0, 0, 0, -1, 1])))
    inputs = [draw(st.sampled_from([*values] * 4 + [""])) for _ in range(n_in)]
    kinds = {name: a.type for name, a in schema.attributes.items()}
    kinds = kinds | {"bogus": 0} if draw(st.integers(0, 9)) == 0 else kinds or {"bogus": 0}
    attrs = {}
    for name in draw(st.lists(st.sampled_from(sorted(kinds)), max_size=3, unique=True)):
        value = draw(_attribute_value(kinds[name]))
        attrs[name] = numpy_helper.from_array(value) if isinstance(value, np.ndarray) else value
    try:
        return helper.make_node(op, inputs, [f"v{index}"], name=f"n{index}", **attrs)
    except (ValueError, TypeError):  # onnx.helper refuses the value: keep the node plain
        return helper.make_node(op, inputs, [f"v{index}"], name=f"n{index}")


@st.composite
def onnx_models(draw: st.DrawFn) -> bytes:
    """A graph of a few random nodes over one input and one initializer, with random
    attributes, element types and dimensions; often invalid, that is the point."""
    from onnx import TensorProto as T
    from onnx import helper, numpy_helper

    dtypes = st.sampled_from([T.FLOAT] * 8 + [T.INT64] * 2 + [
        T.FLOAT16, T.BOOL, T.STRING, T.DOUBLE, T.UINT8, T.UNDEFINED])
    dims = st.lists(st.integers(1, 4), min_size=1, max_size=4) | st.lists(
        st.integers(-1, 5) | st.sampled_from([1 << 40]) | st.none(), max_size=5)
    w = draw(st.lists(st.integers(-4, 8), min_size=1, max_size=4))
    init = numpy_helper.from_array(np.array(w, dtype=np.int64), "w")
    values = ["x", "w"]
    nodes = []
    for i in range(draw(st.integers(1, 4))):
        nodes.append(draw(onnx_nodes(values, i)))
        values.append(f"v{i}")
    x = helper.make_tensor_value_info("x", draw(dtypes), draw(dims))
    y = helper.make_tensor_value_info(values[-1], draw(dtypes), draw(dims))
    graph = helper.make_graph(nodes, "fuzz", [x], [y], [init])
    opset = draw(st.sampled_from([OPSET] * 4 + [7, 11, 13, 21]))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return model.SerializeToString()


@given(onnx_models())
def test_structured_onnx(tmp_path_factory, model):
    result = expect_clean(cir.import_model, model, stage="cir", framework="onnx", timeout=60)
    event("refused" if isinstance(result, CircError) else "imported")


@given(st.data())
def test_onnx_seed_with_random_attributes_and_shapes(data):
    """The valid seed with one field changed: an attribute, a dim, an element type, an
    input."""
    from onnx import helper

    model = onnx_model()
    choice = data.draw(st.sampled_from(["attribute", "dim", "elem_type", "input"]))
    node = model.graph.node[data.draw(st.integers(0, 2))]
    vi = data.draw(st.sampled_from([model.graph.input[0], model.graph.output[0]]))
    if choice == "attribute":
        value = data.draw(_attribute_value(-1))
        try:
            node.attribute.append(helper.make_attribute(data.draw(st.sampled_from(
                ["perm", "axis", "bogus"])), value))
        except (ValueError, TypeError):
            return
    elif choice == "dim":
        vi.type.tensor_type.shape.dim[data.draw(st.integers(0, 3))].dim_value = data.draw(
            st.integers(-2, 1 << 62))
    elif choice == "elem_type":
        vi.type.tensor_type.elem_type = data.draw(st.integers(0, 30))
    else:
        node.input.append(data.draw(st.sampled_from(["x", "w", "m", "", "nope"])))
    result = expect_clean(cir.import_model, model.SerializeToString(), stage="cir",
                          framework="onnx", timeout=60)
    event(f"{choice}: " + ("refused" if isinstance(result, CircError) else "imported"))


# --- custom op mappings ----------------------------------------------------------------------


@st.composite
def mapping_entries(draw: st.DrawFn, depth: int = 0) -> object:
    """A custom op mapping entry: mostly the right keys, with values of any kind."""
    ops = st.sampled_from(["cir.relu", "cir.group_norm", "cir.nope", "relu", ""])
    names = st.sampled_from(["x", "weight", "%n", "input0", "%", ""]) | st.text(max_size=4)
    fields = {"cir": ops | JSON_VALUES, "operands": st.lists(names, max_size=3) | JSON_VALUES,
              "attrs": st.dictionaries(st.sampled_from(["num_groups", "epsilon", "x"]),
                                       names | JSON_VALUES, max_size=2) | JSON_VALUES,
              "as": names, "when": st.sampled_from(["rank(x) == 4", "((", "x >"]) | JSON_VALUES}
    entry = {k: draw(v) for k, v in fields.items() if draw(st.booleans())}
    if depth == 0 and draw(st.booleans()):
        entry["steps"] = draw(st.lists(mapping_entries(depth + 1), max_size=2) | JSON_VALUES)
    return entry if draw(st.integers(0, 9)) else draw(JSON_VALUES)


@given(st.dictionaries(st.sampled_from(["ops", "modules", "other"]),
                       st.dictionaries(st.text(max_size=20), mapping_entries(), max_size=2)
                       | JSON_VALUES, max_size=2))
def test_custom_op_mappings(mapping):
    from cir.app.custom_ops import CustomOps

    result = expect_clean(CustomOps.load, mapping)
    event("refused" if isinstance(result, CircError) else "loaded")
