"""``circ report`` / ``cir.report``: the validation report of a compiled package.

    >>> cir.report("unet.circ", unet, output="report.html")   # also writes report.csv beside it

Runs the framework model and the package on the same inputs (seeded random inputs of the
manifest's shapes unless given), compares them op by op (`compare.py`), and writes a CSV and a
self-contained HTML page (`html.py`) with the op mapping, accuracy along the graph, the fusion
summary, the memory plan and a per-SoC cost estimate (`costmodel.py`). Both files are written
to temporary names and renamed into place, so a failed report leaves nothing half written.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cir.app.report.compare import (
    CSV_COLUMNS,
    compare_package,
    csv_rows,
    fusion_summary,
    memory_plan,
)
from cir.app.report.costmodel import estimate
from cir.app.report.html import render
from cir.errors import CircError
from cir.outputs import check_destination, make_parents


def _write_atomic(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return Path(tmp)
    except BaseException:
        os.unlink(tmp)
        raise


def report(package: str | os.PathLike[str], reference_model: Any,
           inputs: Mapping[str, np.ndarray] | None = None, output: str | os.PathLike[str] = "report.html",
           framework: str | None = None, seed: int = 0) -> Any:
    """Compare `package` with `reference_model` and write `output` (HTML) and its .csv;
    returns the `Comparison` (rows, outputs' PSNR, verdict, first divergent op)."""
    out = check_destination(output, "report output")
    if out.suffix.lower() not in (".html", ".htm"):
        raise CircError(f"the report is an HTML file: '{out}' should end in .html")
    if not Path(package).is_dir():
        raise CircError(f"{package}: no such package (a model.circ directory written by `circ compile`)")
    c = compare_package(package, reference_model, inputs, framework, seed)
    costs, totals = estimate(c.package)
    page = render(c, fusion_summary(c.package), memory_plan(c.package), costs, totals)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
    w.writeheader()
    w.writerows(csv_rows(c))
    csv_path = out.with_suffix(".csv")
    make_parents(out, "report output")
    tmp_csv = _write_atomic(csv_path, buf.getvalue())
    try:
        tmp_html = _write_atomic(out, page)
    except BaseException:
        os.unlink(tmp_csv)
        raise
    os.replace(tmp_csv, csv_path)
    os.replace(tmp_html, out)
    return c

