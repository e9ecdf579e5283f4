"""The model zoo's coverage table: every model of `tests/zoo/models.py` built from its library
(random weights), compiled with cir.compile (default SoC, fp32), run on the CPU runtime and
compared with its framework on the same inputs (fp32: max|circ - ref| <= 1e-4 * max|ref|).

    .venv/bin/python benchmarks/bench_zoo.py [--only bert,sd_unet,...] [--runs 10]
                                              [--timeout 1200] [--json zoo.json] [--list]

Each model runs in its own process (a crash or a hang in one is a row of the table, not the end
of it); rows are printed as they finish, then the table and the totals. Latencies are the
best of --runs warm runs (on a shared machine a median measures the neighbours) of the
package (cir.load(..., device="cpu").run) and of the framework's own call (torch eager, Keras,
MindSpore's GraphCell, onnxruntime), 2 threads each.
A model's first run compiles its kernels (cached under ~/.cache/circ): the first table on a
cold cache takes much longer than later ones.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
THREADS = 2
MARK = "ZOO-RESULT "


def child(name: str, workdir: Path, runs: int) -> None:
    """Run one model and print its result as one JSON line."""
    from tests.zoo.models import BY_NAME, compile_and_compare

    try:
        import torch

        torch.set_num_threads(THREADS)
    except ImportError:
        pass
    res = compile_and_compare(BY_NAME[name], workdir, timing_runs=runs, raise_errors=False)
    out = dict(vars(res))
    out["matches"] = res.matches
    print(MARK + json.dumps(out), flush=True)


def run_one(name: str, library: str, runs: int, timeout: float) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), OPENBLAS_NUM_THREADS=str(THREADS),
               CIRC_ASCENDC_THREADS=str(THREADS), TF_CPP_MIN_LOG_LEVEL="3", GLOG_v="3")
    blank = {"name": name, "library": library, "compiled": False, "ran": False, "matches": False,
             "max_rel_error": None, "circ_ms": None, "framework_ms": None, "stage": "process",
             "host_ops": [], "times": {}}
    with tempfile.TemporaryDirectory(prefix=f"zoo-{name}-") as tmp:
        t = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, __file__, "--child", name, "--workdir", tmp,
                                   "--runs", str(runs)], capture_output=True, text=True, check=False,
                                  timeout=timeout, env=env, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return blank | {"error": f"timeout: no result after {timeout:.0f} s"}
        wall = time.perf_counter() - t
    for line in proc.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):]) | {"wall_s": wall}
    tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1:] or ["(no output)"]
    return blank | {"error": f"process exited {proc.returncode}: {tail[0][:200]}", "wall_s": wall}


def fmt_ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f} ms" if v < 100 else f"{v:.0f} ms"


def row(r: dict) -> list[str]:
    err = r.get("max_rel_error")
    match = "-" if err is None else ("yes" if r["matches"] else "NO") + f" ({err:.1e})"
    ratio = (f"{r['circ_ms'] / r['framework_ms']:.2f}x"
             if r.get("circ_ms") and r.get("framework_ms") else "-")
    blocker = re.sub(r"\S*/site-packages/", "", r.get("error") or "")
    if blocker and r.get("stage"):
        blocker = f"[{r['stage']}] {blocker}"
    host = ", ".join(h.removeprefix("cir.") for h in r.get("host_ops") or []) or "-"
    return [r["name"], r["library"], "yes" if r["compiled"] else "no", "yes" if r["ran"] else "no",
            match, fmt_ms(r.get("circ_ms")), fmt_ms(r.get("framework_ms")), ratio, host,
            blocker[:240]]


HEAD = ["model", "library", "compiles", "runs", "matches (max rel err)", "circ", "framework",
        "ratio", "host-fallback ops", "blocker"]


def table(results: list[dict]) -> str:
    rows = [HEAD] + [row(r) for r in results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEAD) - 1)]
    lines = []
    for i, r in enumerate(rows):
        cells = [c.ljust(w) for c, w in zip(r[:-1], widths)] + [r[-1]]
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|---|")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--runs", type=int, default=10, help="timed runs per model (the best is kept)")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds per model")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--list", action="store_true", help="list the models and exit")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, Path(args.workdir), args.runs)
        return

    from tests.zoo.models import BLOCKERS, BY_NAME, MODELS

    if args.list:
        for m in MODELS:
            b = BLOCKERS.get(m.name)
            print(f"{m.name:28} {m.library:13} {'slow' if m.slow else '':5} {b.reason if b else ''}")
        return
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else [m.name for m in MODELS]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)} (see --list)")
    results = []
    t0 = time.perf_counter()
    for n in names:
        r = run_one(n, BY_NAME[n].library, args.runs, args.timeout)
        results.append(r)
        print(f"[{len(results)}/{len(names)} {time.perf_counter() - t0:6.0f}s] "
              + " | ".join(row(r)), flush=True)
    print()
    print(table(results))
    n = len(results)
    print(f"\ntotal {n}: {sum(r['compiled'] for r in results)} compile / "
          f"{sum(r['ran'] for r in results)} run / {sum(bool(r['matches']) for r in results)} match; "
          f"{sum(bool(r.get('host_ops')) for r in results)} with ops on the host fallback "
          f"({time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
