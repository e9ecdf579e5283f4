"""The report as one self-contained HTML page: inline CSS, inline SVG charts, a few lines of
inline JS (table filter); nothing is loaded from the network."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from cir.app.report.compare import Comparison, Row
from cir.app.report.costmodel import OpCost

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12.5px;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.diverges td{background:#fde2e2}tr.skipped td{color:#888}tr.cir-only td{color:#555}
.pass{color:#0a7c2f;font-weight:bold}.fail{color:#b3261e;font-weight:bold}
svg{background:#fff;border:1px solid #ddd;margin:6px 0}svg text{font:11px sans-serif}
.note{color:#666;font-size:12.5px}code{background:#f4f4f4;padding:0 3px}
"""

JS = """
(function(){
  var box=document.getElementById('filter');
  var rows=document.querySelectorAll('#ops tbody tr');
  box.addEventListener('input',function(){
    var q=box.value.toLowerCase();
    rows.forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':'';});
  });
  document.body.setAttribute('data-ready','1');
})();
"""

e = html.escape


def _fmt(x: float | None, spec: str = ".6f") -> str:
    if x is None:
        return ""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return format(x, spec)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], id_: str = "",
           classes: Sequence[str] | None = None) -> str:
    out = [f'<table{f" id={chr(34)}{id_}{chr(34)}" if id_ else ""}><thead><tr>']
    out += [f"<th>{e(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for i, r in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(f'<td class="num">{e(str(c))}</td>' if isinstance(c, int | float) or _numeric(c)
                        else f"<td>{e(str(c))}</td>" for c in r)
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _numeric(c: Any) -> bool:
    try:
        float(c)
        return True
    except (TypeError, ValueError):
        return False


# --- SVG charts ------------------------------------------------------------------------------


def line_chart(series: Sequence[tuple[str, str, Sequence[float | None]]], labels: Sequence[str],
               title: str, y_label: str, width: int = 1100, height: int = 260,
               hline: float | None = None) -> str:
    """A line chart; `series` is (name, colour, values) with None for a gap."""
    pad_l, pad_r, pad_t, pad_b = 70, 20, 28, 40
    vals = [v for _, _, vs in series for v in vs if v is not None and math.isfinite(v)]
    if hline is not None:
        vals.append(hline)
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    n = max(len(labels), 1)
    w, h = width - pad_l - pad_r, height - pad_t - pad_b

    def x(i: int) -> float:
        return pad_l + (w * (i + 0.5) / n)

    def y(v: float) -> float:
        return pad_t + h * (1 - (v - lo) / (hi - lo))

    out = [(f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{e(title)}"><text x="{pad_l}" y="16" font-weight="bold">{e(title)}</text>')]
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        out.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>'
                   f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.4g}</text>')
    out.append(f'<text x="14" y="{pad_t + h / 2}" transform="rotate(-90 14 {pad_t + h / 2})" '
               f'text-anchor="middle">{e(y_label)}</text>')
    if hline is not None:
        out.append(f'<line class="threshold" x1="{pad_l}" x2="{width - pad_r}" y1="{y(hline):.1f}" '
                   f'y2="{y(hline):.1f}" stroke="#b3261e" stroke-dasharray="4 3"/>')
    step = max(1, n // 25)
    for i, lab in enumerate(labels):
        if i % step == 0:
            out.append(f'<text x="{x(i):.1f}" y="{height - pad_b + 14}" text-anchor="middle">{i}</text>')
    out.append(f'<text x="{pad_l + w / 2}" y="{height - 6}" text-anchor="middle">op # in execution order</text>')
    for li, (name, colour, vs) in enumerate(series):
        pts = [(x(i), y(v), i, v) for i, v in enumerate(vs) if v is not None and math.isfinite(v)]
        if len(pts) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in pts)
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        for px, py, i, v in pts:
            out.append(f'<circle class="pt" cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}">'
                       f"<title>#{i} {e(labels[i])}: {name} = {v:.6g}</title></circle>")
        out.append(f'<rect x="{width - pad_r - 190}" y="{6 + 14 * li}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{width - pad_r - 176}" y="{15 + 14 * li}">{e(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def memory_chart(buffers: Sequence[dict[str, Any]], n_launches: int, arena: int,
                 width: int = 1100, height: int = 320) -> str:
    """Each arena buffer as a bar from its first to its last launch, at its offset."""
    pad_l, pad_r, pad_t, pad_b = 80, 20, 28, 40
    w, h = width - pad_l - pad_r, height - pad_t - pad_b
    top = max([arena] + [b["offset"] + b["nbytes"] for b in buffers] + [1])
    n = max(n_launches, 1)

    def x(i: float) -> float:
        return pad_l + w * i / n

    def y(off: float) -> float:
        return pad_t + h * (1 - off / top)

    out = [(f'<svg class="chart" id="memory" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="memory plan"><text x="{pad_l}" y="16" font-weight="bold">'
           f"arena: {arena} bytes, {len(buffers)} buffers</text>")]
    for k in range(5):
        off = top * k / 4
        out.append(f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(off):.1f}" y2="{y(off):.1f}" stroke="#eee"/>'
                   f'<text x="{pad_l - 6}" y="{y(off) + 4:.1f}" text-anchor="end">{int(off)}</text>')
    palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"]
    for i, b in enumerate(buffers):
        x0, x1 = x(b["first"]), x(b["last"] + 1)
        y0, y1 = y(b["offset"] + b["nbytes"]), y(b["offset"])
        out.append(f'<rect class="buf" x="{x0:.1f}" y="{y0:.1f}" width="{max(x1 - x0, 1):.1f}" '
                   f'height="{max(y1 - y0, 1):.1f}" fill="{palette[i % len(palette)]}" fill-opacity="0.75" '
                   f'stroke="#333" stroke-width="0.5"><title>{e(b["value"])}: offset {b["offset"]}, '
                   f'{b["nbytes"]} bytes, launches {b["first"]}..{b["last"]}</title></rect>')
    for i in range(n + 1):
        if i % max(1, n // 20) == 0:
            out.append(f'<text x="{x(i):.1f}" y="{height - pad_b + 14}" text-anchor="middle">{i}</text>')
    out.append(f'<text x="{pad_l + w / 2}" y="{height - 6}" text-anchor="middle">kernel launch #</text>'
               f'<text x="14" y="{pad_t + h / 2}" transform="rotate(-90 14 {pad_t + h / 2})" '
               f'text-anchor="middle">arena offset (bytes)</text></svg>')
    return "".join(out)


def bar_chart(values: dict[str, float], title: str, unit: str, width: int = 700) -> str:
    """Horizontal bars, one per key."""
    row, pad_l = 26, 130
    height = 34 + row * len(values)
    top = max(list(values.values()) + [1e-30])
    out = [(f'<svg class="chart" id="cost" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{e(title)}"><text x="8" y="16" font-weight="bold">{e(title)}</text>')]
    for i, (k, v) in enumerate(values.items()):
        y = 26 + i * row
        bw = (width - pad_l - 120) * v / top
        out.append(f'<text x="{pad_l - 8}" y="{y + 15}" text-anchor="end">{e(k)}</text>'
                   f'<rect class="bar" x="{pad_l}" y="{y}" width="{max(bw, 1):.1f}" height="{row - 6}" fill="#4e79a7">'
                   f"<title>{e(k)}: {v:.4g} {unit}</title></rect>"
                   f'<text x="{pad_l + bw + 6:.1f}" y="{y + 15}">{v:.4g} {e(unit)}</text>')
    out.append("</svg>")
    return "".join(out)


# --- the page --------------------------------------------------------------------------------


def _row_cells(r: Row) -> list[Any]:
    f, g = r.vs_framework, r.vs_interpreter
    return [r.cir_index if r.cir_index is not None else "", r.framework_op or "—", r.cir_op, r.cir_value,
            r.kernels, r.shape, r.status,
            _fmt(f.cosine) if f else "", _fmt(f.max_abs_err, ".3e") if f else "",
            _fmt(f.max_rel_err, ".3e") if f else "", _fmt(g.cosine) if g else "",
            _fmt(g.max_rel_err, ".3e") if g else "", r.location, r.note]


def render(c: Comparison, fusion: dict[str, int], buffers: list[dict[str, Any]],
           costs: list[OpCost], totals: dict[str, float]) -> str:
    pkg = c.package
    m = pkg.manifest
    t = c.thresholds
    model = m.get("source", {}).get("model", "?")
    verdict_cls = "pass" if c.verdict == "PASS" else "fail"
    first = c.first_divergent
    parts = [(f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
              f"<title>circ report: {e(str(model))}</title><style>{CSS}</style></head><body>"),
             f"<h1>circ validation report: {e(str(model))}</h1>"]

    summary = [
        ("package", str(pkg.path)), ("source model", f"{model} ({m.get('source', {}).get('framework', '?')})"),
        ("reference", f"{c.reference_name} ({c.framework})"), ("SoC", m.get("soc", "?")),
        ("precision", pkg.precision), ("fusion preset", m.get("fusion", "")),
        ("inputs", ", ".join(f"{k}{list(v.shape)}:{v.dtype}" for k, v in c.inputs.items())),
        ("thresholds", (f"an op diverges when cosine < {t['min_cosine']} or max relative error "
                        f"(max|a-b| / max|ref|) > {t['max_rel_err']:g} ({pkg.thresholds_key})")),
        ("first divergent op", f"{first.framework_op} → {first.cir_op} ({first.cir_value})" if first else "none"),
    ]
    if pkg.reduced:
        summary.append(("fp16/bf16 overflow", c.overflow.describe() if c.overflow else "none"))
    host = m.get("host_ops") or []
    summary.append(("host fallback", ", ".join(f"{h['op']} x{h['count']} (first at {h['first']})" for h in host)
                    + " (no AscendC kernel yet: these run on the host CPU)" if host else "none"))
    parts.append("<h2>Summary</h2><table id=\"summary\"><tbody>")
    parts += [f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in summary]
    parts.append(f'<tr><th>verdict</th><td class="{verdict_cls}" id="verdict">{e(c.verdict)}</td></tr>'
                 "</tbody></table>")
    parts.append(_table(["output", "shape", "PSNR (dB)", "cosine", "max abs err", "max rel err", "diverges"],
                        [[o.name, "x".join(map(str, o.shape)), _fmt(o.psnr, ".2f"), _fmt(o.metrics.cosine),
                          _fmt(o.metrics.max_abs_err, ".3e"), _fmt(o.metrics.max_rel_err, ".3e"),
                          "yes" if o.diverges else "no"] for o in c.outputs], id_="outputs"))
    parts += [f'<p class="note">{e(n)}</p>' for n in c.notes]

    compared = [r for r in c.rows if r.status != "skipped"]
    labels = [r.framework_op or r.cir_value for r in compared]
    parts.append("<h2>Accuracy along the graph</h2>")
    parts.append(line_chart([("cosine vs framework", "#4e79a7",
                              [r.vs_framework.cosine if r.vs_framework else None for r in compared]),
                             ("cosine vs CIR interpreter", "#59a14f",
                              [r.vs_interpreter.cosine if r.vs_interpreter else None for r in compared])],
                            labels, "cosine similarity per op", "cosine", hline=t["min_cosine"]))

    def lg(x: float) -> float:
        return math.log10(max(x, 1e-12))

    parts.append(line_chart([("log10 rel err vs framework", "#e15759",
                              [lg(r.vs_framework.max_rel_err) if r.vs_framework else None for r in compared]),
                             ("log10 rel err vs interpreter", "#f28e2b",
                              [lg(r.vs_interpreter.max_rel_err) if r.vs_interpreter else None for r in compared])],
                            labels, "max relative error per op (log10)", "log10 error",
                            hline=math.log10(t["max_rel_err"])))

    parts.append("<h2>Op mapping</h2><p class=\"note\">framework op → CIR op (with its kernels), in CIR "
                 "execution order. <em>cir-only</em>: a CIR value no framework op maps to, checked "
                 "against the CIR interpreter only.</p>"
                 '<input id="filter" placeholder="filter rows" aria-label="filter rows">')
    parts.append(_table(["#", "framework op", "CIR op", "value", "kernels", "shape", "status", "cosine",
                         "max abs err", "max rel err", "interp cosine", "interp rel err", "location", "note"],
                        [_row_cells(r) for r in c.rows], id_="ops",
                        classes=["diverges" if r.diverges else r.status for r in c.rows]))

    parts.append("<h2>Fusion</h2>")
    parts.append(_table(["fused op", "count"], list(fusion.items()) or [["(none)", 0]], id_="fusion"))

    parts.append(f"<h2>Memory plan</h2><p class=\"note\">arena {m.get('memory', {}).get('arena_bytes', 0)} "
                 "bytes; each bar is one buffer from the launch that writes it first to the last that "
                 "touches it (outputs live to the end).</p>")
    parts.append(memory_chart(buffers, len(pkg.graph["nodes"]), int(pkg.graph.get("arena_bytes", 0))))

    socs = list(totals)
    parts.append("<h2>Ascend cost model</h2><p class=\"note\">per op: max(bytes / hbm_gbps, FLOPs / peak), "
                 "peak = cube_fp16_tflops for matmul/conv/attention, vector_fp32_tflops otherwise "
                 "(cir/socs.toml). A roofline lower bound, not a measurement.</p>")
    parts.append(bar_chart({k: v * 1e6 for k, v in totals.items()}, "estimated total per SoC", "µs"))
    parts.append(_table(["#", "CIR op", "kernels", "bytes", "MFLOP", "unit", *[f"{s} (µs)" for s in socs]],
                        [[x.index, x.op, x.kernels, x.nbytes, f"{x.flops / 1e6:.4f}", "cube" if x.cube else "vector",
                          *[f"{x.seconds[s] * 1e6:.4f} ({x.bound[s][0]})" for s in socs]] for x in costs]
                        + [["", "total", "", sum(x.nbytes for x in costs),
                            f"{sum(x.flops for x in costs) / 1e6:.4f}", "", *[f"{totals[s] * 1e6:.4f}" for s in socs]]],
                        id_="costs"))
    parts.append(f"<script>{JS}</script></body></html>")
    return "".join(parts)
