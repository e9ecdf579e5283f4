"""CPU latency of compiled packages vs PyTorch eager and onnxruntime, compile time by phase,
first-run / cached load times and peak memory.

    .venv/bin/python benchmarks/bench_runtime.py [--models tiny_unet,sd_block,sd15_unet] [--runs 3]

Every measurement runs in its own process (so peak RSS is that runner's alone: the circ runner
reads the inputs and torch's output from a file instead of building the torch model), with the same
thread count for everyone (torch.set_num_threads, onnxruntime intra_op_num_threads, OpenBLAS
and the AscendC CPU layer's pool: CIRC_ASCENDC_THREADS / OPENBLAS_NUM_THREADS). Latency is the median
of --runs warm runs. Kernels are compiled for Ascend910B1.

Targets (issue 8): latency at or below onnxruntime's; SD1.5-size UNet compile (export
excluded) <= 15 s, first run with kernel compilation <= 60 s, cached loads <= 2 s, peak RSS
no higher than torch eager's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
THREADS = 2
SOC = "Ascend910B1"


def model_and_inputs(name: str):  # type: ignore[no-untyped-def]
    import torch

    torch.manual_seed(0)
    if name == "sd_block":
        from examples.sd_block import torch_block

        return torch_block.make_model(), torch_block.example_inputs(), list(torch_block_names())
    from examples.diffusers_models import unet_with_inputs

    return unet_with_inputs(name)


def torch_block_names() -> tuple[str, ...]:
    return ("sample", "temb", "context")


def median_ms(fn, runs: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return sorted(times)[len(times) // 2]


def child(kind: str, name: str, runs: int, work: Path) -> dict:
    import numpy as np

    out: dict = {}
    if kind == "circ":  # no framework model in this process: its memory is circ's alone
        import cir

        data = np.load(work / f"{name}.io.npz")
        feeds = {k.removeprefix("in_"): data[k] for k in data.files if k.startswith("in_")}
        t = time.perf_counter()
        sess = cir.load(work / f"{name}.circ")
        out["load_s"] = time.perf_counter() - t
        t = time.perf_counter()
        got = sess.run(feeds)
        out["first_run_s"] = time.perf_counter() - t
        out["latency_ms"] = median_ms(lambda: sess.run(feeds), runs)
        ref = data["ref"]
        g = next(iter(got.values()))
        out["rel_err"] = float(np.abs(g - ref).max() / np.abs(ref).max())
        out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return out
    import torch

    torch.set_num_threads(THREADS)
    model, args, names = model_and_inputs(name)
    feeds = {n: a.numpy() for n, a in zip(names, args)}
    if kind == "torch":
        with torch.no_grad():
            out["latency_ms"] = median_ms(lambda: model(*args), runs)
            ref = model(*args)
        np.savez(work / f"{name}.io.npz", ref=ref.numpy(), **{f"in_{k}": v for k, v in feeds.items()})
    elif kind == "ort":
        import onnxruntime as ort

        path = work / f"{name}.onnx"
        if not path.exists():
            torch.onnx.export(model, args, str(path), input_names=names, dynamo=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = THREADS
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        out["latency_ms"] = median_ms(lambda: sess.run(None, feeds), runs)
    elif kind == "compile":
        import cir

        t = time.perf_counter()
        pkg = cir.compile(model, work / f"{name}.circ", example_inputs=args, soc=SOC)
        out["compile_s"] = time.perf_counter() - t
        m = json.loads((pkg / "manifest.json").read_text())
        out["phases"] = m["compile_seconds"]
        out["kernels"] = len(m["kernels"])
        out["arena_mib"] = m["memory"]["arena_bytes"] / 2**20
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def run_child(kind: str, name: str, runs: int, work: Path, env: dict) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, "--models", name, "--runs", str(runs),
                           "--work", str(work)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="sd_block,tiny_unet,sd15_unet")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--child")
    ap.add_argument("--work")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.models, a.runs, Path(a.work))))
        return
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "OPENBLAS_NUM_THREADS": str(THREADS),
           "CIRC_ASCENDC_THREADS": str(THREADS), "PYTHONWARNINGS": "ignore"}
    work = Path(tempfile.mkdtemp(prefix="circ-bench-"))
    print(f"{THREADS} threads everywhere; kernels for {SOC}; work dir {work}")
    for name in a.models.split(","):
        runs = 1 if name == "sd15_unet" else a.runs
        cold_env = {**env, "CIRC_CACHE_DIR": str(work / f"cache-{name}")}  # no compiled kernels yet
        r = {k: run_child(k, name, runs, work, env) for k in ("torch", "ort", "compile")}
        r["cold"] = run_child("circ", name, 1, work, cold_env)
        r["circ"] = run_child("circ", name, runs, work, cold_env)
        print(f"\n== {name}")
        c = r["compile"]
        if "error" in c:
            print(f"  compile failed: {c['error']}")
            continue
        print(f"  compile {c['compile_s']:.1f} s (phases: {', '.join(f'{k} {v:.2f}s' for k, v in c['phases'].items())}), "
              f"{c['kernels']} kernels, arena {c['arena_mib']:.1f} MiB")
        z = r["circ"]
        if "error" in z:
            print(f"  run failed: {z['error']}")
            continue
        cold = r["cold"]
        if "load_s" in cold:
            print(f"  circ first load with kernel compilation {cold['load_s']:.1f} s + first run "
                  f"{cold['first_run_s']:.2f} s")
        print(f"  circ: cached load {z['load_s']:.2f} s, first run {z['first_run_s']:.2f} s, latency "
              f"{z['latency_ms']:.1f} ms, rel err vs torch {z['rel_err']:.1e}")
        for k in ("torch", "ort"):
            if "error" in r[k]:
                print(f"  {k}: {r[k]['error']}")
        t, o = r["torch"].get("latency_ms"), r["ort"].get("latency_ms")
        line = f"  latency ms: circ {z['latency_ms']:.1f}"
        line += f", torch eager {t:.1f}" if t else ""
        line += f", onnxruntime {o:.1f}" if o else ""
        if o:
            line += f"  (circ / ort = {z['latency_ms'] / o:.2f})"
        print(line)
        print(f"  peak RSS MiB: circ run {z['peak_rss_mib']:.0f}, torch eager {r['torch'].get('peak_rss_mib', 0):.0f}, "
              f"onnxruntime {r['ort'].get('peak_rss_mib', 0):.0f}, compile {c['peak_rss_mib']:.0f}")


if __name__ == "__main__":
    main()
