"""CPU latency of circ's runtime vs onnxruntime vs PyTorch eager on common models (issue 15).

    .venv/bin/python benchmarks/bench_vs_ort.py [--models resnet18,mobilenet_v3_small] [--runs 10]
        [--big] [--work DIR] [--recompile]

Models: torchvision resnet50, resnet18, mobilenet_v3_small (1x3x224x224, random weights), a
BERT-base-size encoder (transformers BertModel, random weights, 12 layers, hidden 768, seq 128)
and the tiny diffusers UNet (examples/diffusers_models.py TINY_UNET); --big adds the SD1.5-size
UNet (64x64 latents; slow: minutes to compile and load).

Each model runs in its own process (memory stays per model). In it: torch eager with
torch.set_num_threads(2); onnxruntime on the ONNX export (torch.onnx.export, dynamo=False) with
intra_op_num_threads=2, inter_op_num_threads=1; circ's CPU runtime on the package of
cir.compile(..., soc="Ascend910B1") (fusion preset "transformer" for BERT), its kernels on the AscendC CPU layer's own block threads
(CIRC_ASCENDC_THREADS=2, OPENBLAS_NUM_THREADS=2). Latency is the best of --runs warm runs (after
one warm-up) -- the machine has 2 cores and may be shared, and the minimum is the least noisy
statistic there. circ's output is checked against torch's (max abs error / max |torch|).
--work keeps the ONNX files and packages between invocations (then only the runtime is timed
again: kernels recompile when the CPU layer's headers change; --recompile re-runs cir.compile,
needed after a change to the lowering).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
THREADS = 2
SOC = "Ascend910B1"
MODELS = ["resnet50", "resnet18", "mobilenet_v3_small", "bert_base", "tiny_unet"]
BIG = ["sd15_unet"]
# the fusion preset a user picks for the model (README: transformer encoders take "transformer")
FUSION = {"bert_base": "transformer"}


def model_and_inputs(name: str):  # type: ignore[no-untyped-def]
    """(eval model, example args tuple, input names)."""
    from tests.torchvision_compat import import_torchvision

    import_torchvision()  # before torchvision / transformers / diffusers
    import torch

    torch.manual_seed(0)
    if name in ("resnet50", "resnet18", "mobilenet_v3_small"):
        import torchvision

        model = getattr(torchvision.models, name)(weights=None).eval()
        return model, (torch.randn(1, 3, 224, 224),), ["x"]
    if name == "bert_base":
        from transformers import BertConfig, BertModel

        cfg = BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                         intermediate_size=3072, attn_implementation="eager")
        bert = BertModel(cfg, add_pooling_layer=False).eval()

        class Encoder(torch.nn.Module):  # input ids -> last hidden state
            def __init__(self) -> None:
                super().__init__()
                self.bert = bert

            def forward(self, input_ids):  # type: ignore[no-untyped-def]
                return self.bert(input_ids=input_ids, return_dict=False)[0]

        return Encoder().eval(), (torch.randint(0, cfg.vocab_size, (1, 128)),), ["input_ids"]
    if name in ("tiny_unet", "sd15_unet"):
        from examples.diffusers_models import unet_with_inputs

        return unet_with_inputs(name)
    raise SystemExit(f"unknown model {name}; known: {', '.join(MODELS + BIG)}")


def best_ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, (time.perf_counter() - t) * 1e3)
    return best


def child(name: str, runs: int, work: Path, recompile: bool) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np
    import torch

    torch.set_num_threads(THREADS)
    model, args, names = model_and_inputs(name)
    feeds = {n: a.numpy() for n, a in zip(names, args)}
    out: dict = {}
    with torch.no_grad():
        ref = model(*args).numpy()
        out["torch_ms"] = best_ms(lambda: model(*args), runs)

    import onnxruntime as ort

    onnx_path = work / f"{name}.onnx"
    if not onnx_path.exists():
        torch.onnx.export(model, args, str(onnx_path), input_names=names, dynamo=False)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    osess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    out["ort_ms"] = best_ms(lambda: osess.run(None, feeds), runs)

    import cir

    pkg = work / f"{name}.circ"
    if recompile or not pkg.exists():
        t = time.perf_counter()
        cir.compile(model, pkg, example_inputs=args, soc=SOC, fusion=FUSION.get(name, "sd_optimized"))
        out["compile_s"] = time.perf_counter() - t
    t = time.perf_counter()
    sess = cir.load(pkg, device="cpu")
    out["load_s"] = time.perf_counter() - t
    got = next(iter(sess.run(feeds).values()))
    out["rel_err"] = float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))
    out["circ_ms"] = best_ms(lambda: sess.run(feeds), runs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--big", action="store_true", help="add the SD1.5-size UNet")
    ap.add_argument("--runs", type=int, default=10, help="warm runs; the best is reported")
    ap.add_argument("--work", help="directory for ONNX files and packages (kept)")
    ap.add_argument("--recompile", action="store_true", help="re-run cir.compile even if a package exists")
    ap.add_argument("--child")
    a = ap.parse_args()
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="circ-vs-ort-"))
    work.mkdir(parents=True, exist_ok=True)
    if a.child:
        print(json.dumps(child(a.child, a.runs, work, a.recompile)))
        return
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "OPENBLAS_NUM_THREADS": str(THREADS),
           "CIRC_ASCENDC_THREADS": str(THREADS), "PYTHONWARNINGS": "ignore"}
    models = a.models.split(",") + (BIG if a.big else [])
    print(f"{THREADS} threads each; kernels for {SOC}; best of {a.runs} warm runs; work dir {work}")
    print("| model | circ ms | onnxruntime ms | torch eager ms | circ / ort | circ rel err |")
    print("|---|---|---|---|---|---|")
    for name in models:
        runs = min(a.runs, 2) if name in BIG else a.runs
        cmd = [sys.executable, __file__, "--child", name, "--runs", str(runs), "--work", str(work)]
        if a.recompile:
            cmd.append("--recompile")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            err = proc.stderr.strip().splitlines()
            print(f"| {name} | failed: {err[-1] if err else proc.returncode} | | | | |", flush=True)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"| {name} | {r['circ_ms']:.1f} | {r['ort_ms']:.1f} | {r['torch_ms']:.1f} | "
              f"{r['circ_ms'] / r['ort_ms']:.2f} | {r['rel_err']:.1e} |", flush=True)


if __name__ == "__main__":
    main()
