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
"""

from __future__ import annotations

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
from onnx import numpy_helper

import cir
from cir.errors import CircError

ALLOWLIST = Path(__file__).with_name("onnx_backend_allowlist.txt")

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
    except CircError as e:
        return "refused", str(e).splitlines()[0]
    except AssertionError as e:
        return "differs", " ".join(str(e).split())[:300]
    except Exception as e:  # circ crashed: a bug
        return "crash", f"{type(e).__name__}: {e}"
    return "passed", ""


def run_all() -> dict[str, tuple[str, str, str]]:
    """test name -> (op type, outcome, detail) for every node case."""
    from onnx.backend.test.loader import load_model_tests

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return {c.name: (op_type(c), *run_case(c)) for c in load_model_tests(kind="node")}


def test_node_conformance(capsys):
    results = run_all()
    per_op: dict[str, Counter] = defaultdict(Counter)
    for op, outcome, _ in results.values():
        per_op[op][outcome] += 1
    total = Counter(outcome for _, outcome, _ in results.values())
    n = len(results)
    with capsys.disabled():
        print(f"\nONNX backend node conformance (onnx {onnx.__version__}, opsets up to "
              f"{onnx.defs.onnx_opset_version()}): cases passed per op type")
        for op in sorted(per_op):
            c = per_op[op]
            cases = sum(c.values())
            extra = f", {c['differs']} known difference(s)" if c["differs"] else ""
            print(f"  {op:<32} {c['passed']:>3}/{cases:<3}{extra}")
        ops_passing = sum(1 for c in per_op.values() if c["passed"])
        print(f"  overall: {total['passed']}/{n} cases pass ({100 * total['passed'] / n:.1f}%), "
              f"{total['refused']} refused cleanly, {total['differs']} known differences; "
              f"{ops_passing} of {len(per_op)} op types pass at least one case")
    crashes = [f"{k}: {d}" for k, (_, o, d) in results.items() if o == "crash"]
    assert not crashes, "\n".join(crashes[:20])
    differs = [f"{k}: {d}" for k, (_, o, d) in results.items()
               if o == "differs" and k not in KNOWN_DIFFERENCES]
    assert not differs, "\n".join(differs[:20])
    listed = set(allowed())
    failing = sorted(k for k in listed if results.get(k, ("", ""))[1] != "passed")
    assert not failing, f"allow-listed cases that do not pass: {failing[:20]}"
    assert total["passed"] >= len(listed)


def update_allowlist() -> None:
    passed = sorted(k for k, (_, o, _) in run_all().items() if o == "passed")
    header = ("# ONNX node test cases circ passes (tests/test_onnx_backend.py); one per line.\n"
              "# Regenerate: python tests/test_onnx_backend.py --update-allowlist\n")
    ALLOWLIST.write_text(header + "\n".join(passed) + "\n")
    print(f"{len(passed)} cases written to {ALLOWLIST}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update-allowlist"]:
        update_allowlist()
    else:
        print(__doc__)
