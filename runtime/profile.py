"""``circ run --profile trace.json``: a Chrome-trace / Perfetto file and an msprof-style
op_summary.csv from one profiled run.

The trace has one track per AI core (block index): every kernel launch is a slice on each of
the cores its blockDim uses (the CPU layer runs the blocks of a launch concurrently on its
thread pool; the slice spans the launch), named after the kernel, with the CIR op, source
location and tiling in its args. op_summary.csv has one row per launch: the columns of msprof's
op_summary that apply (Op Name, OP Type, Block Dim, Task Start Time(us), Task Duration(us),
Input Shapes, Output Shapes) plus the source location.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cir.errors import CircError
from cir.outputs import write_atomic


def _shapes(node: dict[str, Any], role: str) -> str:
    return ";".join(",".join(map(str, a.get("shape", []))) for a in node["args"] if a.get("role") == role)


def write_trace(graph: dict[str, Any], events: Sequence[tuple[int, int, int]], path: Path,
                title: str = "circ") -> tuple[Path, Path]:
    """Write `path` (Chrome trace JSON) and op_summary.csv beside it; returns both paths."""
    t0 = min((e[1] for e in events), default=0)
    trace: list[dict[str, Any]] = [{"ph": "M", "name": "process_name", "pid": 0, "args": {"name": title}}]
    cores = max((graph["nodes"][i]["block_dim"] for i, _, _ in events), default=1)
    for c in range(cores):
        trace.append({"ph": "M", "name": "thread_name", "pid": 0, "tid": c, "args": {"name": f"AI core {c}"}})
    rows = []
    for i, start, end in events:
        node = graph["nodes"][i]
        ts, dur = (start - t0) / 1e3, (end - start) / 1e3
        args = {"op": node["op"], "loc": node.get("loc"), "block_dim": node["block_dim"],
                "tiling": dict(zip(node.get("tiling_fields", []), node["tiling"]))}
        for c in range(node["block_dim"]):
            trace.append({"ph": "X", "name": node["kernel"], "cat": node["op"], "pid": 0, "tid": c,
                          "ts": ts, "dur": dur, "args": args})
        rows.append({"Op Name": node["kernel"], "OP Type": node["op"], "Block Dim": node["block_dim"],
                     "Task Start Time(us)": f"{ts:.3f}", "Task Duration(us)": f"{dur:.3f}",
                     "Input Shapes": _shapes(node, "in"), "Output Shapes": _shapes(node, "out"),
                     "Source": node.get("loc") or ""})
    path = Path(path)
    summary = path.with_name("op_summary.csv")
    fields = ["Op Name", "OP Type", "Block Dim", "Task Start Time(us)", "Task Duration(us)",
              "Input Shapes", "Output Shapes", "Source"]

    def write_csv(f: Any) -> None:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: f.write(json.dumps({"traceEvents": trace, "displayTimeUnit": "ms"})))
        write_atomic(summary, write_csv)
    except OSError as e:
        raise CircError(f"--profile {path}: cannot write ({e.strerror}: {e.filename})") from None
    return path, summary
