"""``circ demo`` / ``make demo``: the bundled Stable-Diffusion-style block, end to end.

The block of ``examples/sd_block`` exists in PyTorch, Keras (TensorFlow) and MindSpore with one
set of weights. For each framework the demo compiles it (import -> CIR -> fusion -> AscendC
kernels -> package), runs the package on the CPU runtime (the same AscendC source compiled
against circ's CPU layer) and compares the result with the framework's own output; then it
writes the validation report for the PyTorch package.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cir.errors import CircError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FRAMEWORKS = ("pytorch", "tensorflow", "mindspore")
SOC = "Ascend310P3"
NAMES = ("sample", "temb", "context")
# fp32 end to end: kernels and frameworks sum convolutions and norms in different orders
TOLERANCE = 1e-4


def _blocks(frameworks: Sequence[str], out_dir: Path) -> dict[str, tuple[Any, Any, np.ndarray]]:
    """framework -> (model to compile, example inputs for the importer, its own output)."""
    import torch

    if not (EXAMPLES / "sd_block").is_dir():
        raise CircError(f"the bundled example is missing: {EXAMPLES / 'sd_block'} (run from a circ checkout)")
    if str(EXAMPLES.parent) not in sys.path:
        sys.path.insert(0, str(EXAMPLES.parent))
    from examples.sd_block import torch_block

    tm, args = torch_block.make_model(), torch_block.example_inputs()
    arrays = [a.numpy() for a in args]
    out: dict[str, tuple[Any, Any, np.ndarray]] = {}
    if "pytorch" in frameworks:
        with torch.no_grad():
            out["pytorch"] = (tm, args, tm(*args).numpy())
    if "tensorflow" in frameworks:
        from examples.sd_block import keras_block

        km = keras_block.from_torch(tm)
        out["tensorflow"] = (km, None, np.asarray(km(arrays, training=False)))
    if "mindspore" in frameworks:
        import mindspore as ms
        from mindspore import nn

        from examples.sd_block import ms_block

        mm = ms_block.from_torch(tm)
        path = out_dir / "sd_block_ms"
        ms.export(mm, *[ms.Tensor(a) for a in arrays], file_name=str(path), file_format="MINDIR")
        mindir = path.with_suffix(".mindir")
        result = nn.GraphCell(ms.load(str(mindir)))(*[ms.Tensor(a) for a in arrays])
        if result is None:
            raise CircError(f"{mindir}: the exported MindSpore block returned nothing")
        ref = result.asnumpy()
        out["mindspore"] = (str(mindir), None, ref)
    return out


def run_demo(out_dir: Path, frameworks: Sequence[str] = FRAMEWORKS, report: bool = True) -> None:
    from cir.app.package import compile as compile_model
    from cir.runtime.session import load

    unknown = [f for f in frameworks if f not in FRAMEWORKS]
    if unknown:
        raise CircError(f"unknown framework '{unknown[0]}' (the demo has {', '.join(FRAMEWORKS)})")
    out_dir.mkdir(parents=True, exist_ok=True)
    import torch

    torch.manual_seed(0)
    blocks = _blocks(frameworks, out_dir)
    from examples.sd_block import torch_block

    feeds: dict[str, np.ndarray] = dict(zip(NAMES, (a.numpy() for a in torch_block.example_inputs())))
    failures = []
    for fw, (model, example, ref) in blocks.items():
        t0 = time.perf_counter()
        pkg = compile_model(model, out_dir / f"sd_block_{fw}.circ", example_inputs=example, soc=SOC,
                            framework=fw)
        t1 = time.perf_counter()
        sess = load(pkg)
        t2 = time.perf_counter()
        sess.run(feeds)  # warm
        t3 = time.perf_counter()
        got = next(iter(sess.run(feeds).values()))
        t4 = time.perf_counter()
        rel = float(np.abs(got - ref).max()) / float(np.abs(ref).max())
        ok = rel <= TOLERANCE
        print(f"{fw:<10} compiled {pkg.name} in {t1 - t0:.1f} s ({len(sess.manifest['kernels'])} kernels for "
              f"{SOC}), loaded in {t2 - t1:.1f} s, ran in {(t4 - t3) * 1e3:.1f} ms; "
              f"vs {fw}: max relative error {rel:.2e} {'OK' if ok else 'FAILED'}")
        if not ok:
            failures.append(fw)
        sess.close()
    if report and "pytorch" in blocks:
        try:
            from cir.app.report import report as make_report
        except ImportError:  # pragma: no cover - the report arrives with its issue
            make_report = None
        if make_report is not None:
            result = make_report(out_dir / "sd_block_pytorch.circ", blocks["pytorch"][0], inputs=feeds,
                                 output=out_dir / "report.html")
            compared = sum(1 for r in result.rows if r.status == "compared")
            psnrs = ", ".join(f"{o.name} {o.psnr:.1f} dB" for o in result.outputs)
            print(f"report: {compared} ops compared with PyTorch op by op: {result.verdict} (PSNR {psnrs})")
            print(f"wrote {out_dir / 'report.html'} and {out_dir / 'report.csv'}")
    if failures:
        raise CircError(f"the demo's result differs from {', '.join(failures)} by more than {TOLERANCE:.0e}")
    print("demo: OK")
