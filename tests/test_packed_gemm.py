"""Prepacked constant weights on the CPU layer (runtime/ascendc_cpu/.../packed_gemm.h): a
session registers its weights as constant, and the Matmuls whose weight lies there multiply it
packed once by MKL's packed GEMM from the PyTorch wheel (libtorch_cpu.so); products under 2^20
multiply-adds stay on OpenBLAS, so the models here are that big.

Tolerance: outputs are compared with torch (and with OpenBLAS) within 1e-5 of the output's
largest magnitude: both are fp32 GEMMs, only the order of the additions differs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cir
from cir import ops
from cir.app.execute import LaunchSpec, build_module_library
from cir.build import build_module
from cir.types import tensor

SOC = "Ascend910B1"


def close(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * float(np.abs(want).max()))


class ConvLinear(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(32, 64, 3, padding=1)
        self.fc = torch.nn.Linear(64 * 16 * 16, 128)

    def forward(self, x):  # type: ignore[no-untyped-def]
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def test_session_multiplies_its_weights_prepacked(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model, x = ConvLinear().eval(), torch.randn(2, 32, 16, 16)
    with torch.no_grad():
        ref = model(x).numpy()
    pkg = cir.compile(model, tmp_path / "m.circ", example_inputs=(x,), soc=SOC)
    with cir.load(pkg) as sess:
        got = next(iter(sess.run({"x": x.numpy()}).values()))
        packed = sess.packed_matmuls
    assert packed is not None and packed > 0  # the conv's and the linear's weights
    close(got, ref)
    monkeypatch.setenv("CIRC_CPU_GEMM", "openblas")
    with cir.load(pkg) as sess:
        plain = next(iter(sess.run({"x": x.numpy()}).values()))
        assert sess.packed_matmuls is None
    close(plain, got)
    monkeypatch.setenv("CIRC_CPU_GEMM", "mkl")  # not a choice: one clear error, no session
    with pytest.raises(cir.CircError, match="CIRC_CPU_GEMM='mkl': expected 'auto' or 'openblas'"):
        cir.load(pkg)


def test_unregistered_weights_are_packed_again(tmp_path):
    """A buffer's packed copies go with its registration: new weights at the same address (as
    when a session's memory is reused) are multiplied, not the stale packed ones."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 256)).astype(np.float32)
    w = rng.standard_normal((192, 256)).astype(np.float32)
    b = np.zeros(192, np.float32)
    types = {"x": tensor(x.shape, "f32"), "w": tensor(w.shape, "f32"), "b": tensor(b.shape, "f32")}
    module = build_module("main", types, lambda bb, *v: [bb.add(ops.LinearOp(*v))])
    cir.apply_pipeline(module, f"lower-to-ascendc{{soc={SOC}}}")
    lib = build_module_library(module, tmp_path)
    if not lib.use_packed_blas():
        pytest.skip("no packed-GEMM BLAS (the PyTorch wheel's libtorch_cpu.so) in this environment")
    op = next(o for o in next(iter(module.body.block.ops)).body.block.ops if o.name.startswith("cir."))
    (spec,) = LaunchSpec.of(op, cpu_layer=True)
    y = np.empty((128, 192), np.float32)
    ws = np.zeros(max(spec.workspace, 64), np.uint8)
    tiling = np.array(spec.tiling, np.int64)
    bufs = [x, w, b, y, ws, tiling]

    def run() -> np.ndarray:
        lib.launch(spec.kernel, [a.ctypes.data for a in bufs], spec.block_dim)
        return y.copy()

    before = lib.packed_calls()
    lib.register_constant(w.ctypes.data, w.nbytes)
    close(run(), x @ w.T)
    assert lib.packed_calls() > before
    lib.unregister_constant(w.ctypes.data)
    w[:] = rng.standard_normal(w.shape).astype(np.float32)  # new weights, same buffer
    lib.register_constant(w.ctypes.data, w.nbytes)
    close(run(), x @ w.T)
    lib.unregister_constant(w.ctypes.data)
    w *= 2.0  # not registered: OpenBLAS reads the buffer as it is
    calls = lib.packed_calls()
    close(run(), x @ w.T)
    assert lib.packed_calls() == calls
