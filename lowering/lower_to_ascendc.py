"""``lower-to-ascendc{soc=...}``: a kernel (``ascendc.kernel``) for every CIR op.

Each CIR op in ``@main`` gets the kernels it launches at module level (``ascendc.kernel``), and
an attribute ``cir.launches``: one dictionary per launch, in order, with ``kernel`` (its name),
``block_dim``, ``tiling`` (the tiling struct's values, in field order), ``args`` (what each GM
argument before ``workspace, tiling`` is: ``operand:i``, ``result:i`` or ``weight:NAME``) and
``workspace`` (GM scratch bytes), and ``cpu`` where circ's CPU layer runs the same kernel with
another tiling: ``{block_dim, tiling, workspace}`` of the kernel generated for ``cpu_cores``
cores (default `cir.soc.CPU_LAYER_CORES`) -- the tiling a host tiling function gives for the
platform it runs on; the NPU runs the SoC's. The launch graph and the runtime read only that. Views
(``cir.reshape`` of an ND tensor) launch nothing. Ops whose kernels print the same C++ up to
the kernel's name share one kernel, named after the op and a hash of its C++
(``silu_3fa9c2e1``): the same kernel gets the same name, and object file, in every model.
The kernel families are ``lowering/kernels/<family>.py`` (``KERNELS``: op name -> generator),
built on ``lowering/builder.py``.

An op no kernel family covers yet runs on the **host fallback** (``host_fallback=true``, the
default), as ATC places operators AI Core cannot run on the AI CPU: its ``cir.launches`` is one
entry ``{engine = "host", kernel = "host", reason}`` and the runtime evaluates it on the host CPU
with the reference interpreter's kernel, on the same buffers a kernel would use. Drivers list
these ops (``host_ops``); with ``host_fallback=false`` they stop the pass with the list of them
(``partial=true`` lowers what it can, for tests and inspection).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from cir.lowering import ascendc as A
from cir.lowering.builder import Launch, ascii_text
from cir.lowering.cpp import print_kernel
from cir.lowering.decompose import decompose
from cir.lowering.kernels import KERNELS
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    i64,
)
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from cir import ops as cir_ops
from cir.errors import CircError, describe_location, describe_op
from cir.interpreter import KERNELS as REFERENCE_KERNELS
from cir.soc import CPU_LAYER_CORES, for_cpu_layer
from cir.soc import soc as lookup_soc
from cir.types import format_of
from cir.weights import WeightStore, attach, weights_of

VIEWS = ("cir.reshape",)  # same bytes, new shape: no kernel
SKIP = (cir_ops.WeightOp, cir_ops.ConstantOp, func.ReturnOp)


def _comment(op: Operation) -> str:
    where = describe_location(op.location)
    return f"circ kernel for {op.name}" + (f" at {where}" if where else "")


def _body_key(kernel: A.KernelOp) -> str:
    """The kernel's C++ with its name and comment left out: equal keys, interchangeable kernels."""
    text = print_kernel(kernel)
    name = kernel.sym_name.data
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("// "))
    return body.replace(name, "@K")


def launches_attr(launches: Sequence[Launch], op: Operation) -> ArrayAttr:
    out = []
    for ln in launches:
        binding = ln.args or ([f"operand:{j}" for j in range(len(op.operands))]
                              + [f"result:{j}" for j in range(len(op.results))])
        entry = {
            "kernel": StringAttr(ln.kernel.sym_name.data),
            "block_dim": IntegerAttr(ln.block_dim, i64),
            "tiling": _tiling_attr(ln.tiling),
            "args": ArrayAttr([StringAttr(a) for a in binding]),
            "workspace": IntegerAttr(ln.workspace, i64),
        }
        if ln.cpu is not None:
            block_dim, tiling, workspace = ln.cpu
            entry["cpu"] = DictionaryAttr({"block_dim": IntegerAttr(block_dim, i64), "tiling": _tiling_attr(tiling),
                                           "workspace": IntegerAttr(workspace, i64)})
        out.append(DictionaryAttr(entry))
    return ArrayAttr(out)


def _tiling_attr(tiling: dict[str, int]) -> DictionaryAttr:
    return DictionaryAttr({k: IntegerAttr(v, i64) for k, v in tiling.items()})


def retile_for_cpu(launches: Sequence[Launch], made: Launch | list[Launch]) -> None:
    """Give each of `launches` the tiling of `made` (the same op's kernels generated for the CPU
    layer's cores) as its ``cpu`` tiling, where the kernel is the same: the same C++ (up to name
    and comment), arguments, tiling fields and compile-time tables. A kernel whose code depends on
    the core count keeps the SoC's tiling on the CPU layer too."""
    alt = made if isinstance(made, list) else [made]
    if len(alt) != len(launches):
        return
    for ln, a in zip(launches, alt, strict=True):
        if a.args != ln.args or list(a.tiling) != list(ln.tiling) or _body_key(a.kernel) != _body_key(ln.kernel):
            continue
        if set(a.weights or {}) != set(ln.weights or {}) or not all(
                np.array_equal(w, (a.weights or {})[k]) for k, w in (ln.weights or {}).items()):
            continue
        if (a.block_dim, a.tiling, a.workspace) != (ln.block_dim, ln.tiling, ln.workspace):
            ln.cpu = (a.block_dim, dict(a.tiling), a.workspace)


def _check_static_shapes(f: func.FuncOp) -> None:
    """Kernels are tiled for static, non-empty shapes: refuse the others at their op."""
    values = [(a, None) for a in f.body.block.args] + \
        [(r, o) for o in f.body.block.ops for r in o.results]
    for v, owner in values:
        t = v.type
        if not isinstance(t, TensorType):
            continue
        where = describe_op(owner) if owner is not None else f"@{f.sym_name.data}'s arguments"
        shape = t.get_shape()
        if any(d < 0 for d in shape):
            raise CircError(f"lower-to-ascendc: {where}: {t} has a dynamic dimension; kernels need "
                            "static shapes (give the shapes at import, e.g. --input-shape)")
        if 0 in shape:
            raise CircError(f"lower-to-ascendc: {where}: {t} is empty (a zero dimension); kernels "
                            "need at least one element")


@dataclass(frozen=True)
class LowerToAscendCPass(ModulePass):
    """Generate the AscendC kernels of every CIR op of ``@main`` (see the module docstring)."""

    name = "lower-to-ascendc"

    soc: str = "Ascend910B1"
    partial: bool = False
    host_fallback: bool = True
    # the cores of circ's CPU layer each launch is also tiled for (``cpu`` in cir.launches); 0: none
    cpu_cores: int = CPU_LAYER_CORES

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        chip = lookup_soc(self.soc)
        if self.cpu_cores < 0:
            raise CircError(f"lower-to-ascendc: cpu_cores must be 0 (no CPU-layer tiling) or more, "
                            f"got {self.cpu_cores}")
        cpu_chip = for_cpu_layer(chip, self.cpu_cores) if self.cpu_cores else None
        try:
            store = weights_of(op)
            attach(op, store)
        except CircError:
            store = WeightStore()
        fns = [f for f in op.ops if isinstance(f, func.FuncOp)]
        for f in fns:
            _check_static_shapes(f)
            decompose(f, store, chip)
        missing: dict[str, list[Operation]] = {}
        kernels: dict[str, A.KernelOp] = {}  # body key -> the kernel ops share
        # ops alike in kind, types and properties get the same launches: generated once (models
        # repeat blocks); launches with per-op tables (index maps) are always generated anew
        made_for: dict[tuple[str, ...], list[Launch]] = {}
        for f in fns:
            for i, cop in enumerate(list(f.body.block.ops)):
                if isinstance(cop, SKIP):
                    continue
                if cop.name in VIEWS and _is_view(cop):
                    cop.attributes["cir.launches"] = ArrayAttr([])
                    continue
                name = f"{cop.name.removeprefix('cir.')}_{i}"
                gen = KERNELS.get(cop.name)
                alike = _signature(cop)
                if alike in made_for:
                    launches = made_for[alike]
                    for ln in launches:
                        _note_user(ln.kernel, cop)
                    cop.attributes["cir.launches"] = launches_attr(launches, cop)
                    continue
                try:
                    if gen is None:
                        raise NotImplementedError(cop.name)
                    made = gen(name, cop, chip, _comment(cop))
                except NotImplementedError as e:
                    missing.setdefault(str(e), []).append(cop)
                    continue
                launches = made if isinstance(made, list) else [made]
                if cpu_chip is not None:
                    try:
                        retile_for_cpu(launches, gen(name, cop, cpu_chip, ""))
                    except NotImplementedError:  # not tileable for those cores: the SoC's tiling
                        pass
                if not any(ln.weights for ln in launches):
                    made_for[alike] = launches
                for ln in launches:
                    key = _body_key(ln.kernel)
                    if key not in kernels:  # named by content: one object file per distinct kernel
                        base = re.sub(r"_\d+", "", ln.kernel.sym_name.data)
                        digest = hashlib.sha256(key.encode()).hexdigest()[:8]
                        ln.kernel.properties["sym_name"] = StringAttr(f"{base}_{digest}")
                    shared = kernels.setdefault(key, ln.kernel)
                    if shared is not ln.kernel:
                        ln.kernel = shared
                        _note_user(shared, cop)
                    for wname, arr in (ln.weights or {}).items():
                        store[wname] = arr
                cop.attributes["cir.launches"] = launches_attr(launches, cop)
        if missing and self.host_fallback:
            missing = _to_host(missing)
        if missing and not self.partial:
            lines = [f"lower-to-ascendc: no kernel yet for {len(missing)} kind(s) of op:"]
            lines += [f"  {k} x{len(v)}, first at {describe_location(v[0].location) or '?'}"
                      for k, v in missing.items()]
            raise CircError("\n".join(lines))
        for kop in kernels.values():
            op.body.block.add_op(kop)
        op.attributes["cir.soc"] = StringAttr(chip.name)


def _to_host(missing: dict[str, list[Operation]]) -> dict[str, list[Operation]]:
    """Give the ops without a kernel a host-fallback launch; returns those that cannot have one
    (no reference kernel, or a tensor in a physical layout the host kernel does not read)."""
    left: dict[str, list[Operation]] = {}
    for reason, ops_ in missing.items():
        for cop in ops_:
            values = (*cop.operands, *cop.results)
            if type(cop) not in REFERENCE_KERNELS or not all(
                    isinstance(v.type, TensorType) and format_of(v.type) == "ND" for v in values):
                left.setdefault(reason, []).append(cop)
                continue
            cop.attributes["cir.launches"] = ArrayAttr([DictionaryAttr({
                "engine": StringAttr("host"), "kernel": StringAttr("host"),
                "reason": StringAttr(f"no AscendC kernel yet: {reason}"),
                "block_dim": IntegerAttr(0, i64), "tiling": DictionaryAttr({}),
                "args": ArrayAttr([StringAttr(f"operand:{j}") for j in range(len(cop.operands))]
                                  + [StringAttr(f"result:{j}") for j in range(len(cop.results))]),
                "workspace": IntegerAttr(0, i64),
            })])
    return left


def host_launch(op: Operation) -> DictionaryAttr | None:
    """The host-fallback launch lower-to-ascendc gave `op`, if it gave one."""
    launches = op.attributes.get("cir.launches")
    if not isinstance(launches, ArrayAttr):
        return None
    return next((d for d in launches.data if isinstance(d, DictionaryAttr)
                 and d.data.get("engine") == StringAttr("host")), None)


def host_ops(module: ModuleOp) -> list[dict[str, Any]]:
    """The ops of a lowered module that run on the host fallback, by kind: ``{op, count,
    first (location), reason}`` in order of first appearance."""
    out: dict[str, dict[str, Any]] = {}
    for o in module.walk():
        d = host_launch(o)
        if d is None:
            continue
        reason = d.data.get("reason")
        entry = out.setdefault(o.name, {"op": o.name, "count": 0, "first": describe_location(o.location) or "?",
                                        "reason": reason.data if isinstance(reason, StringAttr) else ""})
        entry["count"] += 1
    return list(out.values())


def describe_host_ops(ops_: Sequence[dict[str, Any]]) -> str:
    """One line for drivers: which ops run on the host fallback."""
    n = sum(e["count"] for e in ops_)
    kinds = ", ".join(f"{e['op']} x{e['count']} (first at {e['first']})" for e in ops_)
    return f"{n} op(s) run on the host fallback (no AscendC kernel yet): {kinds}"


def _signature(op: Operation) -> tuple[str, ...]:
    """What a kernel generator reads of an op: its kind, operand/result types and properties."""
    return (op.name, *(str(v.type) for v in (*op.operands, *op.results)),
            *(f"{k}={v}" for k, v in sorted(op.properties.items())))


def _note_user(kernel: A.KernelOp, op: Operation) -> None:
    """Name a further op that launches `kernel` in its comment (the first few)."""
    note = f"also for {op.name} at {describe_location(op.location) or '?'}"
    note = ascii_text(note)  # see new_kernel
    old = kernel.comment.data if kernel.comment else ""
    if old.count("\nalso for ") < 3 and note not in old:
        kernel.properties["comment"] = StringAttr(old + "\n" + note)


def _is_view(op: Operation) -> bool:
    return all(isinstance(v.type, TensorType) and format_of(v.type) == "ND" for v in (*op.operands, *op.results))
