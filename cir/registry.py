"""Registries: dialect and pass names -> lazy factories, so drivers start fast and a new pass
is one entry. ``circ-opt`` and ``cir.apply_pipeline`` use the same tables."""

from __future__ import annotations

from collections.abc import Callable

from xdsl.context import Context
from xdsl.ir import Dialect
from xdsl.passes import ModulePass
from xdsl.universe import Universe


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    def builtin() -> Dialect:
        from xdsl.dialects.builtin import Builtin

        return Builtin

    def func() -> Dialect:
        from xdsl.dialects.func import Func

        return Func

    def cir() -> Dialect:
        from cir.ops import CIR

        return CIR

    def arith() -> Dialect:
        from xdsl.dialects.arith import Arith

        return Arith

    def scf() -> Dialect:
        from xdsl.dialects.scf import Scf

        return Scf

    def math() -> Dialect:
        from xdsl.dialects.math import Math

        return Math

    def ascendc() -> Dialect:
        from cir.lowering.ascendc import ASCENDC

        return ASCENDC

    return {"builtin": builtin, "func": func, "cir": cir, "arith": arith, "scf": scf,
            "math": math, "ascendc": ascendc}


def get_circ_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """circ's own passes (the importers' normalisers, fusion, layout, planning, lowering)."""

    def canonicalize() -> type[ModulePass]:
        from cir.passes.canonicalize import CanonicalizePass

        return CanonicalizePass

    def aigc_fusion() -> type[ModulePass]:
        from cir.passes.fusion.aigc_fusion import AIGCFusionPass

        return AIGCFusionPass

    def layout() -> type[ModulePass]:
        from cir.passes.layout import LayoutPass

        return LayoutPass

    def plan_memory() -> type[ModulePass]:
        from cir.passes.plan_memory import PlanMemoryPass

        return PlanMemoryPass

    def lower_to_ascendc() -> type[ModulePass]:
        from cir.lowering.lower_to_ascendc import LowerToAscendCPass

        return LowerToAscendCPass

    def normalize_torch() -> type[ModulePass]:
        from cir.passes.normalize_torch import NormalizeTorchPass

        return NormalizeTorchPass

    def normalize_onnx() -> type[ModulePass]:
        from cir.passes.normalize_onnx import NormalizeOnnxPass

        return NormalizeOnnxPass

    def normalize_tf() -> type[ModulePass]:
        from cir.passes.normalize_tf import NormalizeTfPass

        return NormalizeTfPass

    def normalize_ms() -> type[ModulePass]:
        from cir.passes.normalize_ms import NormalizeMsPass

        return NormalizeMsPass

    def recompose() -> type[ModulePass]:
        from cir.passes.recompose import RecomposePass

        return RecomposePass

    def cancel_transposes() -> type[ModulePass]:
        from cir.passes.cancel_transposes import CancelTransposesPass

        return CancelTransposesPass

    def convert_precision() -> type[ModulePass]:
        from cir.passes.precision import ConvertPrecisionPass

        return ConvertPrecisionPass

    def select_outputs() -> type[ModulePass]:
        from cir.passes.select_outputs import SelectOutputsPass

        return SelectOutputsPass

    return {"canonicalize": canonicalize, "aigc-fusion": aigc_fusion, "layout": layout,
            "convert-precision": convert_precision, "select-outputs": select_outputs,
            "plan-memory": plan_memory, "lower-to-ascendc": lower_to_ascendc,
            "normalize-torch": normalize_torch,
            "normalize-onnx": normalize_onnx, "normalize-tf": normalize_tf,
            "normalize-ms": normalize_ms, "recompose": recompose,
            "cancel-transposes": cancel_transposes}


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """The passes circ-opt offers: xDSL's generic cleanups plus circ's own."""

    def cse() -> type[ModulePass]:
        from xdsl.transforms.common_subexpression_elimination import (
            CommonSubexpressionElimination,
        )

        return CommonSubexpressionElimination

    def dce() -> type[ModulePass]:
        from xdsl.transforms.dead_code_elimination import DeadCodeElimination

        return DeadCodeElimination

    return {"cse": cse, "dce": dce, **get_circ_passes()}


# Import dialects whose ops are made on demand, one class per framework operator name.
FRAMEWORK_DIALECTS = ("torch", "tf", "ms", "onnx")


class CircContext(Context):
    """A Context that also knows every framework operator (``torch.aten.add.Tensor``, …)."""

    def get_optional_op(self, name: str, *, dialect_stack=()):  # type: ignore[override]
        found = super().get_optional_op(name, dialect_stack=dialect_stack)
        if found is not None:
            return found
        if name.split(".", 1)[0] in FRAMEWORK_DIALECTS and "." in name:
            from cir.dialects.framework_op import op_class

            op = op_class(name)
            self.load_op(op)
            return op
        return None


def make_context() -> Context:
    """A context with every dialect circ knows, loaded lazily."""
    ctx = CircContext()
    for name, factory in get_all_dialects().items():
        ctx.register_dialect(name, factory)
    return ctx


# Lets stock `xdsl-opt` load cir too (entry point `xdsl.universe`). Only names xDSL does not
# already define may appear here.
CIR_UNIVERSE = Universe(
    all_dialects={"cir": get_all_dialects()["cir"]},
    all_passes={k: v for k, v in get_circ_passes().items() if k != "canonicalize"},
)
