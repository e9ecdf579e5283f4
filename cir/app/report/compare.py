"""Op-by-op comparison of a compiled package with its source framework model (like msit compare).

The package runs with ``capture`` (every value a kernel writes), the framework model runs with
its intermediates kept (`reference.py`), and the two are matched through CIR source locations:
a framework op (a torch module path, an ONNX node, a Keras layer) is compared with the result
of the *last* CIR op, in execution order, whose location names it. Each CIR op's captured
value is also compared with the CIR interpreter (the golden model) on the same inputs.

    >>> rep = compare_package("m.circ", torch_model)
    >>> rep.first_divergent            # None, or the first row over the thresholds
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FusedLoc,
    NameLoc,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Operation

from cir.app.frontend import detect_framework
from cir.app.report.reference import run_reference
from cir.errors import CircError, describe_location
from cir.interpreter import KERNELS, CirFunctions, evaluate_op
from cir.io import parse_text
from cir.lowering.graph import graph_of
from cir.lowering.lower_to_ascendc import host_launch
from cir.passes.fusion.aigc_fusion import builtin_rules
from cir.runtime.package_check import Fields, open_package, read_checked
from cir.runtime.session import load
from cir.signature import check_inputs, entry_function
from cir.types import dtype_named
from cir.weights import set_base_dir, weights_of

# An op diverges when cosine < min_cosine or max rel error > max_rel_err (per precision).
THRESHOLDS: dict[str, dict[str, float]] = {
    "fp32": {"min_cosine": 0.999, "max_rel_err": 1e-3},
    "fp16": {"min_cosine": 0.99, "max_rel_err": 1e-2},
}


# --- metrics -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    cosine: float
    max_abs_err: float
    max_rel_err: float  # max |a - b| / max |ref|

    def diverges(self, precision: str) -> bool:
        t = THRESHOLDS.get(precision, THRESHOLDS["fp32"])
        return (not self.cosine >= t["min_cosine"]) or (not self.max_rel_err <= t["max_rel_err"])


def metrics(got: np.ndarray, ref: np.ndarray) -> Metrics:
    a = np.asarray(got, np.float64).reshape(-1)
    b = np.asarray(ref, np.float64).reshape(-1)
    if a.size == 0:
        return Metrics(1.0, 0.0, 0.0)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 and nb == 0:
        cos = 1.0
    elif na == 0 or nb == 0:
        cos = 0.0
    else:
        cos = float(np.dot(a, b) / (na * nb))
    err = float(np.max(np.abs(a - b)))
    peak = float(np.max(np.abs(b)))
    return Metrics(cos, err, err / peak if peak > 0 else err)


def psnr(got: np.ndarray, ref: np.ndarray) -> float:
    """20·log10(max|ref| / RMSE) in dB; inf when identical."""
    a = np.asarray(got, np.float64)
    b = np.asarray(ref, np.float64)
    mse = float(np.mean((a - b) ** 2)) if a.size else 0.0
    peak = float(np.max(np.abs(b))) if b.size else 0.0
    if mse == 0:
        return math.inf
    if peak == 0:
        return -math.inf
    return 20 * math.log10(peak / math.sqrt(mse))


# --- the package ---------------------------------------------------------------------------


HOST_LABEL = "host-fallback"  # the kernels column of an op that runs on the host CPU


@dataclass
class CirOp:
    """One CIR op of the entry function that runs (launches kernels or is a view)."""
    index: int
    name: str
    values: list[str]  # launch-graph names of its results
    shapes: list[tuple[int, ...]]
    location: str
    names: list[str]  # the named locations (module paths, node or layer names), fused: root first
    kernels: list[str]
    op: Operation = field(repr=False)

    @property
    def fused(self) -> bool:
        return isinstance(self.op.location, FusedLoc)


def _loc_name(loc: Attribute) -> str:
    desc = loc.desc if isinstance(loc, NameLoc) else None
    return desc.data if isinstance(desc, StringAttr) else ""


def _loc_names(loc: Attribute | None) -> list[str]:
    """The name of each location (one entry per part of a FusedLoc, "" where unnamed)."""
    if isinstance(loc, FusedLoc):
        parts = loc.locations
        return [_loc_name(x) for x in parts.data] if isinstance(parts, ArrayAttr) else []
    return [_loc_name(loc)] if isinstance(loc, NameLoc) else []


@dataclass
class Package:
    path: Path
    manifest: dict[str, Any]
    graph: dict[str, Any]
    module: Any
    ops: list[CirOp]

    @property
    def precision(self) -> str:
        return str(self.manifest.get("precision", "fp32"))

    @property
    def reduced(self) -> bool:
        """Whether some ops compute in a reduced float type (fp16, a mixed mode)."""
        return bool(self.manifest.get("reduced_to")) or self.precision == "fp16"

    @property
    def thresholds_key(self) -> str:
        return "fp16" if self.reduced else "fp32"


def _kernel_names(op: Operation) -> list[str]:
    """The kernels lower-to-ascendc gave `op` (its ``cir.launches``), in launch order."""
    launches = op.attributes.get("cir.launches")
    if not isinstance(launches, ArrayAttr):
        return []
    names = []
    for d in launches.data:
        kernel = d.data.get("kernel") if isinstance(d, DictionaryAttr) else None
        if not isinstance(kernel, StringAttr):
            raise CircError(f"{op.name}: a launch without a kernel name in cir.launches")
        names.append(kernel.data)
    return names


def _shape(t: Attribute) -> tuple[int, ...]:
    if not isinstance(t, TensorType):
        raise CircError(f"a value of type {t} is not a tensor")
    return tuple(t.get_shape())


def load_package(path: str | os.PathLike[str]) -> Package:
    """Read a package's manifest, launch graph and lowered CIR (model.mlir)."""
    p = Path(path)
    checked, _ = open_package(p, require_signature=False)  # the Session checks the signature
    manifest, graph = checked.manifest, checked.graph
    mlir = next((f for f in Fields("manifest.json", manifest).get("files").items()
                 if f.get("file").value == "model.mlir"), None)
    if mlir is None:
        raise CircError(f"{p}: the package has no model.mlir (the lowered CIR the report maps ops with)")
    text = read_checked(p, mlir.get("file"), mlir.get("sha256"))
    module = parse_text(text.decode("utf-8", errors="replace"), str(p / "model.mlir"))
    set_base_dir(module, p)
    g = graph_of(module)
    ops: list[CirOp] = []
    for op in g.ops:
        if op.name in ("cir.weight", "cir.constant"):
            continue
        kernels = [HOST_LABEL] if host_launch(op) is not None else _kernel_names(op)
        ops.append(CirOp(len(ops), op.name, [g.names[r] for r in op.results],
                         [_shape(r.type) for r in op.results],
                         describe_location(op.location), _loc_names(op.location), kernels, op))
    return Package(p, manifest, graph, module, ops)


def make_inputs(manifest: Mapping[str, Any], seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random inputs of the manifest's shapes and dtypes."""
    rng = np.random.default_rng(seed)
    out = {}
    first_gear = manifest["gears"][0]["inputs"] if "gears" in manifest else {}  # the report's gear
    for t in manifest["inputs"]:
        dt = np.dtype(dtype_named(t["dtype"]).np)
        shape = tuple(first_gear.get(t["name"], t["shape"]))
        if dt.kind == "f":
            out[t["name"]] = rng.standard_normal(shape).astype(dt)
        elif dt.kind == "b":
            out[t["name"]] = rng.random(shape) > 0.5
        else:
            out[t["name"]] = rng.integers(0, 8, shape).astype(dt)
    return out


def interpret_values(pkg: Package, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every value of the entry function, by launch-graph name, from the CIR interpreter."""
    g = graph_of(pkg.module)
    f = entry_function(pkg.module)
    env: dict[Any, np.ndarray] = dict(zip(f.body.block.args, check_inputs(f, feeds)))
    funcs = CirFunctions(weights_of(pkg.module, base_dir=pkg.path))  # type: ignore[call-arg]
    for op in g.ops:
        if op.name in ("cir.weight", "cir.constant"):
            res = getattr(funcs, f"run_{op.name[4:]}")(None, op, ())
            while isinstance(res[0], tuple):  # xDSL's impl wrapper nests the result tuple
                res = res[0]
        elif type(op) in KERNELS:
            res = evaluate_op(op, [env[v] for v in op.operands])
        else:
            raise CircError(f"{op.name} cannot be interpreted (no reference kernel)")
        env.update(zip(op.results, res))
    return {g.names[v]: a for v, a in env.items() if v in g.names}


def run_package(pkg: Package, feeds: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(outputs, every captured value incl. views) of the package on the CPU."""
    sess = load(pkg.path)
    try:
        captured: dict[str, np.ndarray] = {}
        outputs = sess.run(feeds, capture=captured)
    finally:
        sess.close()
    captured.update({k: np.asarray(v) for k, v in feeds.items()})
    for a in pkg.graph.get("aliases", []):  # views launch nothing: their bytes are their source's
        src = captured.get(a["of"])
        if src is not None and src.size == int(np.prod(a["shape"])):
            captured[a["value"]] = src.reshape(a["shape"])
    for o in pkg.graph["outputs"]:
        captured.setdefault(o.get("source", o["name"]), outputs[o["name"]])
    return outputs, captured


# --- reduced-precision overflow ----------------------------------------------------------------


@dataclass(frozen=True)
class Overflow:
    """Where a reduced-precision value (fp16 / bf16) overflowed or saturated first."""
    op: CirOp
    value: str
    dtype: str
    nonfinite: int  # inf / nan elements
    saturated: int  # elements at the type's largest finite magnitude

    def describe(self) -> str:
        what = ", ".join(x for x in (f"{self.nonfinite} inf/nan" if self.nonfinite else "",
                                     f"{self.saturated} saturated" if self.saturated else "") if x)
        where = f" at {self.op.location}" if self.op.location else ""
        return f"{self.dtype} overflow first in {self.op.name} ({self.value}){where}: {what}"


def find_overflow(pkg: Package, captured: Mapping[str, np.ndarray]) -> Overflow | None:
    """The first op in execution order whose fp16/bf16 result holds inf/nan or values at the
    type's largest finite magnitude (fp16: 65504), where the same op's fp32 values would not
    be: the mark of a model that needs its range kept (mixed precision, --keep_dtype)."""
    for op in pkg.ops:
        for value in op.values:
            a = captured.get(value)
            if a is None or a.dtype.name not in ("float16", "bfloat16"):
                continue
            big = float(np.finfo(np.float16).max) if a.dtype.name == "float16" else 3.3895e38
            wide = a.astype(np.float32)
            nonfinite = int(np.count_nonzero(~np.isfinite(wide)))
            saturated = int(np.count_nonzero(np.abs(wide) >= big))
            if nonfinite or saturated:
                return Overflow(op, value, "fp16" if a.dtype.name == "float16" else "bf16", nonfinite, saturated)
    return None


# --- mapping framework ops to CIR ops ------------------------------------------------------


def _names_matcher(framework: str):
    """Does a CIR location name `loc` belong to framework op `key`?"""
    if framework == "pytorch":  # a module's output is the last op inside its subtree
        return lambda key, loc: loc == key or loc.startswith(key + ".")
    if framework == "tensorflow":  # TF node names are layer/…/Op
        return lambda key, loc: key in loc.split("/")
    if framework == "mindspore":
        return lambda key, loc: loc == key or loc.startswith(key + "/")
    return lambda key, loc: loc == key


def _rule_order(rule: Any) -> list[Any]:
    """The rule's statements in the order the matcher visits them (root first, operands in
    order) — the order of the fused op's FusedLoc before duplicates are dropped."""
    defs = {r: s for s in rule.stmts for r in s.results}
    order: list[Any] = []

    def visit(s: Any) -> None:
        if s in order:
            return
        order.append(s)
        for v in s.operands:
            if v.rstrip("?") in defs:
                visit(defs[v.rstrip("?")])

    visit(rule.root)
    return order


def _fused_result(op: CirOp, name_index: int) -> tuple[int | None, str]:
    """Which result of fused `op` holds the value of its `name_index`-th named location."""
    if name_index == 0:
        return 0, ""

    answers = set()
    for rule in builtin_rules().values():
        if rule.replacement.op != op.name:
            continue
        order = _rule_order(rule)
        if len(order) != len(op.names):
            continue
        stmt = order[name_index]
        hit = [k for k, v in enumerate(rule.replacement.results) if v in stmt.results]
        answers.add(hit[0] if hit else None)
    if len(answers) == 1:
        k = answers.pop()
        if k is not None:
            return k, ""
        return None, f"fused into {op.name}: this intermediate is not materialised"
    return None, f"fused into {op.name}: cannot tell which part of it this is"


@dataclass
class Row:
    """One line of the report: a framework op compared with a CIR value (or a CIR-only op)."""
    framework_op: str
    cir_index: int | None
    cir_op: str
    cir_value: str
    kernels: str
    location: str
    shape: str
    status: str  # compared | skipped | cir-only
    note: str = ""
    vs_framework: Metrics | None = None
    vs_interpreter: Metrics | None = None
    diverges: bool = False


def _shape_str(shape: Any) -> str:
    return "x".join(str(d) for d in shape) if shape is not None else ""


def map_and_compare(pkg: Package, framework: str, intermediates: Mapping[str, np.ndarray],
                    captured: Mapping[str, np.ndarray], golden: Mapping[str, np.ndarray],
                    precision: str) -> list[Row]:
    """Rows for every framework op (matched, or skipped with a note) and every CIR op no
    framework op maps to, in CIR execution order."""
    owns = _names_matcher(framework)
    rows: list[Row] = []
    mapped: set[tuple[int, int]] = set()

    def cir_row(key: str, op: CirOp, k: int) -> Row:
        value = op.values[k]
        return Row(key, op.index, op.name, value, " ".join(op.kernels), op.location,
                   _shape_str(op.shapes[k]), "compared")

    for key, ref in intermediates.items():
        last: tuple[CirOp, int] | None = None
        for op in pkg.ops:
            for i, n in enumerate(op.names):
                if n and owns(key, n):
                    last = (op, i)
        if last is None:
            rows.append(Row(key, None, "", "", "", "", _shape_str(np.shape(ref)), "skipped",
                            "no CIR op carries this name (folded or removed by the compiler)"))
            continue
        op, i = last
        k: int | None = 0
        note = ""
        if op.fused and len(op.names) > 1:
            # the names before i are later stages of the fused chain; the module's last stage
            # is its first name in the FusedLoc
            first = next(j for j, n in enumerate(op.names) if n and owns(key, n))
            k, note = _fused_result(op, first)
        if k is None:
            row = cir_row(key, op, 0)
            row.status, row.note, row.shape, row.cir_value = "skipped", note, _shape_str(np.shape(ref)), ""
            rows.append(row)
            continue
        row = cir_row(key, op, k)
        got = captured.get(op.values[k])
        if tuple(np.shape(ref)) != op.shapes[k]:
            row.status = "skipped"
            row.note = f"shape differs: framework {_shape_str(np.shape(ref))}, CIR {row.shape}"
        elif got is None or got.shape != op.shapes[k]:
            row.status = "skipped"
            row.note = "the package does not expose this value in a logical layout"
        else:
            row.vs_framework = metrics(got, ref)
            row.diverges = row.vs_framework.diverges(precision)
            mapped.add((op.index, k))
        row.note = "; ".join(x for x in (note, row.note) if x)
        rows.append(row)

    for op in pkg.ops:  # every CIR value is also checked against the interpreter
        for k, value in enumerate(op.values):
            got, want = captured.get(value), golden.get(value)
            m = metrics(got, want) if got is not None and want is not None and got.shape == want.shape else None
            targets = [r for r in rows if r.cir_index == op.index and r.cir_value == value]
            for r in targets:
                r.vs_interpreter = m
            if not targets and (op.index, k) not in mapped:
                r = cir_row("", op, k)
                r.status, r.vs_interpreter = "cir-only", m
                if m is None:
                    r.note = "not captured (a view or a packed layout)"
                rows.append(r)
    rows.sort(key=lambda r: (r.cir_index if r.cir_index is not None else 1 << 30,
                             r.status == "cir-only"))
    return rows


# --- the whole comparison --------------------------------------------------------------------


@dataclass
class OutputCheck:
    name: str
    shape: tuple[int, ...]
    psnr: float
    metrics: Metrics
    diverges: bool


@dataclass
class Comparison:
    package: Package
    framework: str
    reference_name: str
    inputs: dict[str, np.ndarray]
    rows: list[Row]
    outputs: list[OutputCheck]
    notes: list[str]
    overflow: Overflow | None = None

    @property
    def thresholds(self) -> dict[str, float]:
        return THRESHOLDS[self.package.thresholds_key]

    @property
    def first_divergent(self) -> Row | None:
        return next((r for r in self.rows if r.status == "compared" and r.diverges), None)

    @property
    def verdict(self) -> str:
        bad = [o.name for o in self.outputs if o.diverges]
        first = self.first_divergent
        if not bad and first is None and self.overflow is None:
            return "PASS"
        parts = []
        if self.overflow is not None:
            parts.append(self.overflow.describe())
        if first is not None:
            parts.append(f"first divergent op: {first.framework_op} ({first.cir_op})")
        if bad:
            parts.append("outputs over the thresholds: " + ", ".join(bad))
        return "FAIL — " + "; ".join(parts)


def compare_package(package: str | os.PathLike[str], reference: Any, inputs: Mapping[str, np.ndarray] | None = None,
                    framework: str | None = None, seed: int = 0) -> Comparison:
    """Run `package` and the framework model `reference` on the same inputs and compare them."""
    pkg = load_package(package)
    fw = framework or detect_framework(reference)
    source_fw = pkg.manifest.get("source", {}).get("framework")
    notes: list[str] = []
    if source_fw and source_fw != fw:
        notes.append(f"the package was compiled from a {source_fw} model; the reference is {fw}")
    names = [t["name"] for t in pkg.manifest["inputs"]]
    feeds = dict(inputs) if inputs is not None else make_inputs(pkg.manifest, seed)
    unknown = [n for n in feeds if n not in names]
    missing = [n for n in names if n not in feeds]
    if unknown or missing:
        raise CircError("inputs do not match the package: " + "; ".join(
            x for x in (f"unknown {', '.join(unknown)}" if unknown else "",
                        f"missing {', '.join(missing)}" if missing else "") if x)
            + f" (the package takes {', '.join(names)})")
    outputs, captured = run_package(pkg, feeds)
    feeds = {n: np.asarray(feeds[n]) for n in names}
    ref = run_reference(fw, reference, feeds, names)
    notes += ref.notes
    want = pkg.manifest["outputs"]
    if len(ref.outputs) != len(want):
        raise CircError(f"the reference model does not match the package: it returns "
                        f"{len(ref.outputs)} output(s), the package {len(want)}")
    checks = []
    for o, r in zip(want, ref.outputs):
        got = outputs[o["name"]]
        if tuple(r.shape) != tuple(got.shape):
            raise CircError(f"the reference model does not match the package: output '{o['name']}' "
                            f"has shape {list(r.shape)} in the reference, {list(got.shape)} in the package")
        m = metrics(got, r)
        checks.append(OutputCheck(o["name"], tuple(got.shape), psnr(got, r), m, m.diverges(pkg.thresholds_key)))
    try:
        golden = interpret_values(pkg, feeds)
    except CircError as e:
        golden = {}
        notes.append(f"no interpreter comparison: {e}")
    rows = map_and_compare(pkg, fw, ref.intermediates, captured, golden, pkg.thresholds_key)
    if not ref.intermediates:
        notes.append("the reference gave no intermediate values: only the outputs are compared "
                     "with the framework (CIR values are compared with the interpreter)")
    ref_name = str(reference) if isinstance(reference, str | Path) else \
        f"{type(reference).__module__}.{type(reference).__qualname__}"
    overflow = find_overflow(pkg, captured)
    for r in rows:
        if overflow is not None and r.cir_value == overflow.value:
            r.note = "; ".join(x for x in (r.note, overflow.describe()) if x)
    return Comparison(pkg, fw, ref_name, feeds, rows, checks, notes, overflow)


CSV_COLUMNS = ["framework_op", "cir_index", "cir_op", "cir_value", "kernels", "shape", "status",
               "cosine", "max_abs_err", "max_rel_err", "diverges", "interp_cosine",
               "interp_max_rel_err", "location", "note"]


def csv_rows(c: Comparison) -> list[dict[str, Any]]:
    out = []
    for r in c.rows:
        f, g = r.vs_framework, r.vs_interpreter
        out.append({
            "framework_op": r.framework_op, "cir_index": "" if r.cir_index is None else r.cir_index,
            "cir_op": r.cir_op, "cir_value": r.cir_value, "kernels": r.kernels, "shape": r.shape,
            "status": r.status,
            "cosine": f"{f.cosine:.8f}" if f else "", "max_abs_err": f"{f.max_abs_err:.6g}" if f else "",
            "max_rel_err": f"{f.max_rel_err:.6g}" if f else "",
            "diverges": "yes" if r.diverges else "no",
            "interp_cosine": f"{g.cosine:.8f}" if g else "",
            "interp_max_rel_err": f"{g.max_rel_err:.6g}" if g else "",
            "location": r.location, "note": r.note,
        })
    return out


def fusion_summary(pkg: Package) -> dict[str, int]:
    """Fused ops in model.mlir by kind (ops a fusion rule produces)."""
    kinds = {r.replacement.op for r in builtin_rules().values()}
    counts: dict[str, int] = {}
    for op in pkg.ops:
        if op.name in kinds or op.fused:
            counts[op.name] = counts.get(op.name, 0) + 1
    return dict(sorted(counts.items()))


def memory_plan(pkg: Package) -> list[dict[str, Any]]:
    """Arena buffers with their offset, size and first/last launch that touches them."""
    bufs: dict[str, dict[str, Any]] = {}
    nodes = pkg.graph["nodes"]
    for i, n in enumerate(nodes):
        for a in n["args"]:
            if a["kind"] != "arena":
                continue
            b = bufs.setdefault(a["value"], {"value": a["value"], "offset": int(a["offset"]),
                                             "nbytes": int(a["nbytes"]), "first": i, "last": i})
            b["last"] = i
    for o in pkg.graph["outputs"]:  # outputs live until the end of the run
        src = o.get("source", o["name"])
        if src in bufs:
            bufs[src]["last"] = len(nodes) - 1
            bufs[src]["output"] = True
    return sorted(bufs.values(), key=lambda b: (b["first"], b["offset"]))

