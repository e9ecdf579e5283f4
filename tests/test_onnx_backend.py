"""ONNX backend conformance: ONNX's own node test cases, run through circ.

The circ backend prepares a model by importing and normalising it (``cir.import_model``) and
runs it with the reference interpreter (``cir.interpret``). ONNX's runner
(``onnx.backend.test.BackendTest``) generates one test per node case in memory; the ones on
the allow-list (``onnx_backend_allowlist.txt``, as onnx-mlir keeps one) are collected here and
must pass with ONNX's tolerances (rtol 1e-3, atol 1e-7; bf16: rtol 2^-6).

``test_node_conformance`` runs every node case once more and prints the pass rate per op type
and overall. A case either passes, or is refused with a clean CircError (an operator, a data
type or a variant CIR cannot express, a shape only known at run time); it must never crash
circ, and it may give other numbers than ONNX only where KNOWN_DIFFERENCES says why.
Regenerate the allow-list after widening the mapping:
``python tests/test_onnx_backend.py --update-allowlist``.

The rate that must not regress (``EXPRESSED_RATE_MIN``) is over the cases CIR expresses
(``expressed``): every node's op type is one circ maps (``normalize_onnx.expressed_op_types``:
the keys of ``tables/onnx.toml``, the ops its patterns rewrite, ``Constant``, and the operators
ONNX defines by a function body), with every variant of its attributes and inputs, and every
tensor of the graph has an element type CIR has (``cir.types.DTYPES``: no f64, unsigned,
int16, float8, strings, sequences). The test also prints the rate over op types alone and the
failing cases grouped by reason.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.backend.base
import onnx.backend.test
from cir.passes.normalize_onnx import expressed_op_types
from onnx import numpy_helper

import cir
from cir.errors import CircError
from cir.types import DTYPES

ALLOWLIST = Path(__file__).with_name("onnx_backend_allowlist.txt")
EXPRESSED_RATE_MIN = 0.90  # the pass rate over the cases CIR expresses (see `expressed`)

# Cases where circ computes something defensible that is not what ONNX's reference gives.
KNOWN_DIFFERENCES = {
    "test_attention_23_boolmask_fullymasked_row_nan_robustness":
        "a fully masked attention row: ONNX 23 gives 0, cir.attention NaN (softmax of -inf)",
    "test_attention_causal_boolmask_nan_robustness":
        "a fully masked attention row: NaN in different places",
    "test_attention_4d_causal_fp16_expanded":
        "f16: the expanded graph becomes one cir.attention computed in f32; ONNX rounds every "
        "intermediate to f16 (difference 5e-4, rtol is 1e-3)",
}


def allowed() -> list[str]:
    lines = ALLOWLIST.read_text().splitlines() if ALLOWLIST.is_file() else []
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


# --- the backend ---------------------------------------------------------------------------


class CircRep(onnx.backend.base.BackendRep):
    def __init__(self, module: Any, input_names: list[str]):
        self.module = module
        self.input_names = input_names

    def run(self, inputs: Any, **kwargs: Any) -> tuple[np.ndarray, ...]:
        arrays = [inputs[n] for n in self.input_names] if isinstance(inputs, dict) else inputs
        outs = cir.interpret(self.module, dict(zip(self.input_names, arrays)))
        return tuple(outs.values())


class CircBackend(onnx.backend.base.Backend):
    """prepare = import + normalise to CIR; run = the reference interpreter."""

    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> CircRep:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = cir.import_model(model)
        inits = {t.name for t in model.graph.initializer}
        return CircRep(module, [i.name for i in model.graph.input if i.name not in inits])

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"


# ONNX's runner: only the allow-listed node cases are collected.
with warnings.catch_warnings(), np.errstate(all="ignore"):  # ONNX's case generators are noisy
    warnings.simplefilter("ignore")
    _backend_test = onnx.backend.test.BackendTest(CircBackend, __name__)
OnnxBackendNodeModelTest = _backend_test.test_cases["OnnxBackendNodeModelTest"]
_keep = {f"{name}_cpu" for name in allowed()}
for _name in [n for n in vars(OnnxBackendNodeModelTest) if n.startswith("test_")]:
    if _name not in _keep:
        delattr(OnnxBackendNodeModelTest, _name)


# --- the pass rate -------------------------------------------------------------------------


@cache
def _op_types() -> list[str]:
    names = {s.name for s in onnx.defs.get_all_schemas_with_history()}
    return sorted(names, key=len, reverse=True)


def op_type(case: Any) -> str:
    """The operator a node case tests: its only node, else the longest op name its test name
    starts with (``test_layer_normalization_2d_expanded`` -> LayerNormalization)."""
    nodes = case.model.graph.node
    if len(nodes) == 1:
        return nodes[0].op_type
    key = case.name.removeprefix("test_").replace("_", "").lower()
    for op in _op_types():
        if key.startswith(op.lower()):
            return op
    return nodes[-1].op_type if nodes else "?"


def _array(x: Any) -> np.ndarray:
    return numpy_helper.to_array(x) if hasattr(x, "HasField") else np.asarray(x)


def run_case(case: Any) -> tuple[str, str]:
    """("passed" | "refused" | "differs" | "crash", detail) for one node case."""
    try:
        rep = CircBackend.prepare(case.model)
        for inputs, refs in case.data_sets:
            outs = rep.run([_array(x) for x in inputs])
            onnx.backend.test.runner.Runner.assert_similar_outputs(
                [_array(r) for r in refs], list(outs), rtol=case.rtol, atol=case.atol)
    except CircError as e:  # the first lines: the unmapped operators are on the second
        return "refused", " ".join(ln.strip() for ln in str(e).splitlines()[:2])
    except AssertionError as e:
        return "differs", " ".join(str(e).split())[:300]
    except Exception as e:  # noqa: BLE001 - circ crashed: a bug
        return "crash", f"{type(e).__name__}: {e}"
    return "passed", ""


# --- which cases CIR expresses -------------------------------------------------------------


@cache
def cir_elem_types() -> frozenset[int]:
    """The ONNX element types of CIR's dtypes."""
    return frozenset(onnx.helper.np_dtype_to_tensor_dtype(d.np) for d in DTYPES)


def _elem_types(model: onnx.ModelProto) -> set[int] | None:
    """Every element type of the graph's values after shape inference (None: a value is not
    a tensor, or has no type)."""
    try:
        g = onnx.shape_inference.infer_shapes(model).graph
    except Exception:  # noqa: BLE001 - inference refuses some cases; judge what is declared
        g = model.graph
    found: set[int] = set()
    for vi in [*g.input, *g.output, *g.value_info]:
        if not vi.type.HasField("tensor_type"):
            return None
        found.add(vi.type.tensor_type.elem_type)
    found.update(t.data_type for t in g.initializer)
    for node in g.node:
        found.update(a.t.data_type for a in node.attribute if a.HasField("t"))
    return found


def expressed(model: onnx.ModelProto) -> tuple[bool, bool]:
    """(op types, op types and element types): whether every node of the graph is an op
    type circ maps (any attributes, any inputs), and whether its tensors also all have an
    element type CIR has. Decided from the model alone, never from the outcome."""
    ops = expressed_op_types()
    by_op = all(n.domain in ("", "ai.onnx") and n.op_type in ops for n in model.graph.node)
    types = _elem_types(model) if by_op else None
    return by_op, types is not None and types <= cir_elem_types()


def reason(detail: str) -> str:
    """A refusal or difference with its specifics (names, numbers) blanked, for grouping."""
    text = re.sub(r"'[^']*'", "'…'", detail)
    text = re.sub(r"(?<![\w.])#?\d+(\.\d+)?(e-?\d+)?", "N", text)
    return text[:200]


def run_all() -> dict[str, tuple[str, str, str, bool, bool]]:
    """test name -> (op type, outcome, detail, op types expressed, op and element types
    expressed) for every node case."""
    from onnx.backend.test.loader import load_model_tests

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return {c.name: (op_type(c), *run_case(c), *expressed(c.model))
                for c in load_model_tests(kind="node")}


def _rate(results: dict[str, tuple[str, str, str, bool, bool]], keep: Any) -> tuple[int, int]:
    chosen = [r for r in results.values() if keep(r)]
    return sum(1 for r in chosen if r[1] == "passed"), len(chosen)


def test_node_conformance(capsys):
    results = run_all()
    per_op: dict[str, Counter] = defaultdict(Counter)
    for op, outcome, *_ in results.values():
        per_op[op][outcome] += 1
    total = Counter(outcome for _, outcome, *_ in results.values())
    n = len(results)
    passed_ops, n_ops = _rate(results, lambda r: r[3])
    passed_expr, n_expr = _rate(results, lambda r: r[4])
    rate = passed_expr / max(n_expr, 1)
    failing: dict[str, list[str]] = defaultdict(list)
    for name, (op, outcome, detail, _, expr) in results.items():
        if expr and outcome != "passed":
            failing[f"{op}: {outcome}: {reason(detail)}"].append(name)
    with capsys.disabled():
        print(f"\nONNX backend node conformance (onnx {onnx.__version__}, opsets up to "
              f"{onnx.defs.onnx_opset_version()}): cases passed per op type")
        for op in sorted(per_op):
            c = per_op[op]
            cases = sum(c.values())
            extra = f", {c['differs']} known difference(s)" if c["differs"] else ""
            print(f"  {op:<32} {c['passed']:>3}/{cases:<3}{extra}")
        ops_passing = sum(1 for c in per_op.values() if c["passed"])
        print(f"  (a) overall: {total['passed']}/{n} cases pass "
              f"({100 * total['passed'] / n:.1f}%), {total['refused']} refused cleanly, "
              f"{total['differs']} known differences; "
              f"{ops_passing} of {len(per_op)} op types pass at least one case")
        print(f"  (b) cases CIR expresses (op types circ maps, element types CIR has): "
              f"{passed_expr}/{n_expr} pass ({100 * rate:.1f}%; must be >= "
              f"{100 * EXPRESSED_RATE_MIN:.0f}%); by op types alone: {passed_ops}/{n_ops} "
              f"({100 * passed_ops / max(n_ops, 1):.1f}%)")
        print(f"  failing cases CIR expresses, by reason ({n_expr - passed_expr}):")
        for why, names in sorted(failing.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            print(f"    {len(names):>3}  {why}")
            print(f"         {', '.join(names)}")
    crashes = [f"{k}: {d}" for k, (_, o, d, *_) in results.items() if o == "crash"]
    assert not crashes, "\n".join(crashes[:20])
    differs = [f"{k}: {d}" for k, (_, o, d, *_) in results.items()
               if o == "differs" and k not in KNOWN_DIFFERENCES]
    assert not differs, "\n".join(differs[:20])
    listed = set(allowed())
    regressed = sorted(k for k in listed if results.get(k, ("", ""))[1] != "passed")
    assert not regressed, f"allow-listed cases that do not pass: {regressed[:20]}"
    assert total["passed"] >= len(listed)
    assert rate >= EXPRESSED_RATE_MIN, (
        f"{passed_expr}/{n_expr} ({rate:.3f}) of the cases CIR expresses pass; at least "
        f"{EXPRESSED_RATE_MIN} must")


def update_allowlist() -> None:
    passed = sorted(k for k, (_, o, *_) in run_all().items() if o == "passed")
    header = ("# ONNX node test cases circ passes (tests/test_onnx_backend.py); one per line.\n"
              "# Regenerate: python tests/test_onnx_backend.py --update-allowlist\n")
    ALLOWLIST.write_text(header + "\n".join(passed) + "\n")
    print(f"{len(passed)} cases written to {ALLOWLIST}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update-allowlist"]:
        update_allowlist()
    else:
        print(__doc__)
