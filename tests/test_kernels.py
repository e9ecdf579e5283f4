"""Generated AscendC kernels, compiled with -Wall -Werror against circ's CPU layer and run
through ICPU_RUN_KF, against the reference interpreter on random inputs (odd sizes and
unaligned tails included, fp32 and fp16).

Tolerances: fp32 1e-5 relative (the kernels evaluate the interpreter's formulas with the same
fp32 operations, in another order for composed activations); fp16 2e-3 (the kernels compute in
fp16 where the interpreter computes in fp32 and rounds once).
"""

from __future__ import annotations

import ctypes
import hashlib
from pathlib import Path

import numpy as np
import pytest

import cir
from cir import ops
from cir.build import build_module
from cir.lowering.ascendc import KernelOp
from cir.lowering.cpp import print_kernel
from cir.lowering.launcher import launcher_source
from cir.runtime import ascendc_cpu
from cir.types import dtype_from_numpy, tensor
from cir.weights import weights_of

RNG = np.random.default_rng(7)
SOC = "Ascend310P3"


def run_kernels(module, inputs: dict[str, np.ndarray], tmp: Path) -> dict[str, np.ndarray]:
    """Execute @main op by op: every CIR op through its generated kernel."""
    from cir.interpreter import entry_function, output_names

    cir.apply_pipeline(module, f"lower-to-ascendc{{soc={SOC}}}")
    kernels = {op.sym_name.data: op for op in module.ops if isinstance(op, KernelOp)}
    store = weights_of(module)
    f = entry_function(module)
    env = {id(a): np.ascontiguousarray(inputs[a.name_hint]) for a in f.body.block.args}
    for op in f.body.block.ops:
        if op.name == "func.return":
            return dict(zip(output_names(f), (env[id(v)] for v in op.operands)))
        name = op.attributes["cir.kernel"].data
        k = kernels[name]
        src = tmp / f"{name}.cpp"
        src.write_text(print_kernel(k))
        launch = tmp / f"{name}_launch.cpp"
        launch.write_text(launcher_source(k, src.name))
        digest = hashlib.sha256(src.read_bytes()).hexdigest()[:12]  # dlopen caches by path
        lib = ascendc_cpu.compile_shared([launch], tmp / f"{name}-{digest}.so",
                                         ascendc_cpu.soc_defines(SOC), depends=[src])
        buffers = []
        for binding in (a.data for a in op.attributes["cir.kernel_args"].data):
            kind, _, what = binding.partition(":")
            if kind == "operand":
                buffers.append(env[id(op.operands[int(what)])])
            elif kind == "weight":
                buffers.append(np.ascontiguousarray(store[what]))
            else:
                t = op.results[int(what)].type
                out = np.full(t.get_shape(), np.nan, dtype=cir.types.dtype_of(t).np)
                env[id(op.results[int(what)])] = out
                buffers.append(out)
        tiling = np.array([v.value.data for v in op.attributes["cir.tiling"].data.values()], np.int64)
        workspace = np.zeros(64, np.uint8)
        buffers += [workspace, tiling]
        ptrs = (ctypes.c_void_p * len(buffers))(*[b.ctypes.data for b in buffers])
        so = ctypes.CDLL(str(lib))
        fn = getattr(so, f"circ_launch_{name}")
        fn.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        assert fn(ptrs, op.attributes["cir.block_dim"].value.data) == 0
    raise AssertionError("no return")


def check(make, *arrays: np.ndarray, tmp: Path, tol: float) -> None:
    names = [f"a{i}" for i in range(len(arrays))]
    types = {n: tensor(a.shape, dtype_from_numpy(a.dtype)) for n, a in zip(names, arrays)}

    def body(b, *args):
        return [b.add(make(*args))]

    inputs = dict(zip(names, arrays))
    want = cir.interpret(build_module("main", types, body), inputs)
    got = run_kernels(build_module("main", types, body), inputs, tmp)
    for k in want:
        w, g = want[k].astype(np.float64), got[k].astype(np.float64)
        scale = max(float(np.abs(w).max()), 1.0)
        np.testing.assert_allclose(g, w, rtol=0, atol=tol * scale)


UNARY = [ops.ReluOp, ops.AbsOp, ops.ExpOp, ops.SqrtOp, ops.RsqrtOp, ops.ReciprocalOp,
         ops.NegOp, ops.SigmoidOp, ops.SiluOp, ops.HardswishOp, ops.LogOp]
POSITIVE = (ops.SqrtOp, ops.RsqrtOp, ops.ReciprocalOp, ops.LogOp)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float16, 2e-3)])
@pytest.mark.parametrize("shape", [(3, 1001), (64, 257)], ids=["tail", "multi-block"])
def test_elementwise_kernels(tmp_path, dtype, tol, shape):
    for cls in UNARY:
        x = RNG.standard_normal(shape).astype(dtype)
        if cls in POSITIVE:
            x = np.abs(x) + np.asarray(0.5, dtype)
        check(cls, x, tmp=tmp_path, tol=tol)
    a, b = RNG.standard_normal(shape).astype(dtype), RNG.standard_normal(shape).astype(dtype)
    for cls in (ops.AddOp, ops.SubOp, ops.MulOp, ops.MaximumOp, ops.MinimumOp):
        check(cls, a, b, tmp=tmp_path, tol=tol)
    check(lambda x: ops.GeluOp(x, approximate="tanh"), a, tmp=tmp_path, tol=max(tol, 1e-5))


def test_scalar_operand_and_gather_kernels(tmp_path):
    x = RNG.standard_normal((5, 37)).astype(np.float32)
    s = np.array([1.5], np.float32)
    check(ops.MulOp, x, s, tmp=tmp_path, tol=1e-6)
    check(ops.AddOp, x, s, tmp=tmp_path, tol=1e-6)
    y = RNG.standard_normal((2, 3, 5, 7)).astype(np.float32)
    check(lambda v: ops.TransposeOp(v, perm=[0, 2, 3, 1]), y, tmp=tmp_path, tol=0)
    check(lambda v: ops.SliceOp(v, starts=[0, 1, 0, 2], ends=[2, 3, 5, 7], steps=[1, 1, 2, 2]),
          y, tmp=tmp_path, tol=0)
    check(lambda v: ops.PadOp(v, low=[0, 0, 1, 2], high=[0, 0, 2, 1], value=-3.0), y,
          tmp=tmp_path, tol=0)
    check(lambda v: ops.PadOp(v, low=[0, 0, 1, 2], high=[0, 0, 2, 1], mode="reflect"), y,
          tmp=tmp_path, tol=0)
    check(lambda v: ops.UpsampleOp(v, size=[10, 14]), y, tmp=tmp_path, tol=0)
    check(lambda v: ops.BroadcastToOp(v, shape=[4, 2, 3, 5, 7]), y, tmp=tmp_path, tol=0)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float16, 4e-3)])
def test_norm_kernels(tmp_path, dtype, tol):
    x = RNG.standard_normal((2, 16, 9, 11)).astype(dtype)
    g, b = (RNG.standard_normal(16).astype(dtype) for _ in range(2))
    check(lambda *a: ops.GroupNormSiluOp(*a, num_groups=4, epsilon=1e-5), x, g, b, tmp=tmp_path, tol=tol)
    check(lambda *a: ops.GroupNormOp(*a, num_groups=8), x, g, b, tmp=tmp_path, tol=tol)
    t = RNG.standard_normal((3, 7, 40)).astype(dtype)
    w, c = (RNG.standard_normal(40).astype(dtype) for _ in range(2))
    check(lambda *a: ops.LayerNormOp(*a), t, w, c, tmp=tmp_path, tol=tol)
    check(lambda *a: ops.RmsNormOp(*a, epsilon=1e-6), t, w, tmp=tmp_path, tol=tol)
