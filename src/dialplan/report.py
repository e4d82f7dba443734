"""One self-contained HTML report of a plan (or of several side by side).

Charts are inline SVG drawn here; the page carries a small inline script of its own (hover
read-outs, a render check) and loads nothing from anywhere. Phone numbers are masked; no
balance of a case appears.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import PlanError
from .plandir import PlanDir, mask_phone, read_plan_dir

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

# (label, key in kpis(), format, higher is better)
KPI_ROWS = [
    ("expected recovery", "expected_recovery", "{:,.2f}"),
    ("upper bound", "upper_bound", "{:,.2f}"),
    ("gap", "gap", "{:.3%}"),
    ("attempts", "attempts", "{:,.0f}"),
    ("capacity", "capacity", "{:,.0f}"),
    ("utilisation", "utilization", "{:.1%}"),
    ("obligations due", "obligations_due", "{:,.0f}"),
    ("obligations met", "obligations_met", "{:,.0f}"),
    ("cases planned", "cases_planned", "{:,.0f}"),
]


def kpis(summary: dict) -> dict:
    """The figures a comparison shows, from a summary.json."""
    ob = summary.get("obligations", {})
    acc = summary.get("accounts", {})
    return {
        "expected_recovery": summary.get("expected_recovery"),
        "upper_bound": summary.get("upper_bound"),
        "gap": summary.get("gap"),
        "attempts": summary.get("attempts"),
        "capacity": summary.get("capacity"),
        "utilization": summary.get("utilization"),
        "obligations_due": ob.get("due"),
        "obligations_met": ob.get("met"),
        "cases_planned": acc.get("planned"),
    }


def fmt(value, pattern: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return pattern.format(value)


def change(value, base) -> tuple[float | None, float | None]:
    """(absolute, relative) change of ``value`` against ``base``; None where undefined."""
    if value is None or base is None:
        return None, None
    diff = float(value) - float(base)
    return diff, (diff / float(base) if float(base) else None)


# --- SVG -----------------------------------------------------------------------------------------

def _e(text) -> str:
    return html.escape(str(text), quote=True)


def bar_chart(categories: list[str], series: dict[str, list[float]], title: str, line: list[float] | None = None,
              line_label: str = "", width: int = 900, height: int = 260, horizontal: bool = False) -> str:
    """Stacked bars (one stack per category, one colour per series) and an optional line."""
    n = len(categories)
    if horizontal:
        height = max(60, 22 * n + 40)
    left, right, top, bottom = (140 if horizontal else 60), 20, 28, (30 if horizontal else 50)
    pw, ph = width - left - right, height - top - bottom
    values = np.zeros(n) if not series else np.sum([np.asarray(v, dtype=float) for v in series.values()], axis=0)
    peak = max(float(values.max()) if n else 0.0, max(line) if line else 0.0, 1e-9)
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" xmlns="http://www.w3.org/2000/svg">',
           f'<title>{_e(title)}</title>']
    if n == 0:
        out.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text></svg>')
        return "".join(out)
    band = (ph if horizontal else pw) / n
    for frac in (0, 0.25, 0.5, 0.75, 1.0):
        v = peak * frac
        if horizontal:
            x = left + pw * frac
            out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" class="grid"/>'
                       f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle" class="tick">{_e(_short(v))}</text>')
        else:
            y = top + ph - ph * frac
            out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" class="grid"/>'
                       f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_e(_short(v))}</text>')
    base = np.zeros(n)
    for s, (name, vals) in enumerate(series.items()):
        colour = PALETTE[s % len(PALETTE)]
        for i, v in enumerate(np.asarray(vals, dtype=float)):
            if v <= 0:
                continue
            tip = _e(f"{categories[i]} · {name}: {_short(v, exact=True)}")
            if horizontal:
                x0, w = left + pw * base[i] / peak, pw * v / peak
                out.append(f'<rect x="{x0:.1f}" y="{top + i * band + 2:.1f}" width="{w:.1f}" height="{band - 4:.1f}" fill="{colour}" data-tip="{tip}"/>')
            else:
                h = ph * v / peak
                y0 = top + ph - ph * (base[i] + v) / peak
                out.append(f'<rect x="{left + i * band + 1:.1f}" y="{y0:.1f}" width="{max(band - 2, 1):.1f}" height="{h:.1f}" fill="{colour}" data-tip="{tip}"/>')
        base += np.asarray(vals, dtype=float)
    if line is not None and not horizontal:
        pts = " ".join(f"{left + (i + 0.5) * band:.1f},{top + ph - ph * v / peak:.1f}" for i, v in enumerate(line))
        out.append(f'<polyline points="{pts}" fill="none" stroke="#222" stroke-width="1.5" stroke-dasharray="4 2"/>')
    step = max(1, int(np.ceil(n / (ph / 18 if horizontal else pw / 42))))
    for i in range(0, n, step):
        if horizontal:
            out.append(f'<text x="{left - 6}" y="{top + (i + 0.5) * band + 4:.1f}" text-anchor="end" class="tick">{_e(categories[i])}</text>')
        else:
            out.append(f'<text x="{left + (i + 0.5) * band:.1f}" y="{top + ph + 16}" text-anchor="middle" class="tick">{_e(categories[i])}</text>')
    legend = list(series) + ([line_label] if line is not None and line_label else [])
    x = left
    for s, name in enumerate(legend):
        colour = "#222" if (line is not None and s == len(legend) - 1 and line_label) else PALETTE[s % len(PALETTE)]
        out.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{colour}"/><text x="{x + 14}" y="17" class="tick">{_e(name)}</text>')
        x += 24 + 7 * len(str(name))
    out.append("</svg>")
    return "".join(out)


def _short(v: float, exact: bool = False) -> str:
    if exact:
        return f"{v:,.2f}" if v != int(v) else f"{int(v):,}"
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.1f}{suffix}"
    return f"{v:.0f}" if v == int(v) or v >= 10 else f"{v:.2f}"


# --- sections ------------------------------------------------------------------------------------

def _slot_labels(starts: pd.Series) -> list[str]:
    return [s[11:16] for s in starts]


def _attempts_vs_capacity(p: PlanDir) -> str:
    plan = p.plan
    if p.capacity is not None and len(p.capacity):
        cap = p.capacity
        slots = sorted(cap["slot_start"].unique())
        team_of = cap.drop_duplicates("seat_id").set_index("seat_id")["team"].replace("", "(no team)")
    else:
        slots = sorted(plan["slot_start"].unique())
        team_of = pd.Series(dtype=object)
        cap = None
    teams = plan["seat_id"].map(team_of).fillna("(no team)") if len(team_of) else pd.Series("all", index=plan.index)
    counts = pd.crosstab(plan["slot_start"], teams).reindex(index=slots, fill_value=0) if len(plan) else pd.DataFrame(index=slots)
    labels = _slot_labels(pd.Series(slots, dtype=object))
    parts = []
    total_cap = cap.groupby("slot_start")["capacity"].sum().reindex(slots, fill_value=0).tolist() if cap is not None else None
    parts.append(bar_chart(labels, {t: counts[t].tolist() for t in counts.columns}, "Planned attempts by slot and team",
                           line=total_cap, line_label="seat capacity (all teams)"))
    if cap is not None:
        cap = cap.assign(team=cap["team"].replace("", "(no team)"))
        for team in sorted(cap["team"].unique()):
            tcap = cap[cap["team"] == team].groupby("slot_start")["capacity"].sum().reindex(slots, fill_value=0).tolist()
            att = counts[team].tolist() if team in counts.columns else [0] * len(slots)
            parts.append(f"<h3>team {_e(team)}</h3>" + bar_chart(labels, {"attempts": att}, f"team {team}", line=tcap,
                                                                  line_label="capacity", height=180))
    return "".join(parts)


def _recovery_by_hour(p: PlanDir) -> str:
    hours = p.summary.get("recovery_by_hour")
    if hours is None:
        return "<p>This plan directory predates per-hour figures (no <code>recovery_by_hour</code> in summary.json).</p>"
    keys = sorted(hours)
    return bar_chart([f"{k}:00" for k in keys], {"expected recovery": [hours[k] for k in keys]}, "Expected recovery by hour")


def _obligations(p: PlanDir) -> str:
    ob = p.obligations
    if not len(ob):
        return "<p>No obligation was due.</p>"
    met = ob["met"].str.lower().isin(["true", "1"])
    kinds = sorted(ob["kind"].unique())
    chart = bar_chart(kinds, {"met": [int((met & (ob["kind"] == k)).sum()) for k in kinds],
                              "unmet": [int((~met & (ob["kind"] == k)).sum()) for k in kinds]},
                      "Obligations met and unmet", horizontal=True)
    unmet = ob[~met]
    if len(unmet):
        by = unmet.groupby(["kind", "reason"]).size().sort_values(ascending=False)
        cats = [f"{k}: {r or '?'}" for k, r in by.index]
        chart += bar_chart(cats, {"unmet": by.tolist()}, "Unmet obligations by reason", horizontal=True)
    return chart


def _seat_load(p: PlanDir) -> str:
    seats = list(p.seats)
    att = p.plan.groupby("seat_id").size().reindex(seats, fill_value=0)
    if p.capacity is not None:
        cap = p.capacity.groupby("seat_id")["capacity"].sum().reindex(seats, fill_value=0)
        spare = (cap - att).clip(lower=0)
        return bar_chart(seats, {"planned": att.tolist(), "spare capacity": spare.tolist()}, "Seat load", horizontal=True)
    return bar_chart(seats, {"planned": att.tolist()}, "Seat load", horizontal=True)


def _dispositions(p: PlanDir) -> str:
    d = p.dispositions
    if not len(d):
        return "<p>No case.</p>"
    label = np.where(d["disposition"] == "planned", "planned", "unplanned: " + d["reason"].replace("", "?"))
    counts = pd.Series(label).value_counts()
    return bar_chart(counts.index.tolist(), {"cases": counts.tolist()}, "Dispositions of all cases", horizontal=True)


def _queue_sample(p: PlanDir, n: int = 12) -> str:
    plan = p.plan.sort_values(["slot_start", "seat_id", "seq"], kind="stable").head(n)
    rows = "".join(
        f"<tr><td>{_e(r.seat_id)}</td><td>{r.seq}</td><td>{_e(r.slot_start[11:16])}</td><td>{_e(r.account_id)}</td>"
        f"<td>{_e(r.contact_id)}</td><td>{_e(mask_phone(r.phone))}</td><td>{_e(r.role)}</td><td>{_e(r.reason)}</td></tr>"
        for r in plan.itertuples()
    )
    return ("<table class='data'><thead><tr><th>seat</th><th>seq</th><th>slot</th><th>account</th><th>contact</th>"
            f"<th>phone (masked)</th><th>role</th><th>reason</th></tr></thead><tbody>{rows}</tbody></table>")


def kpi_table(names: list[str], summaries: list[dict]) -> str:
    """KPIs side by side; columns after the first also show the change against the first."""
    figures = [kpis(s) for s in summaries]
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    body = []
    for label, key, pattern in KPI_ROWS:
        cells = []
        for j, f in enumerate(figures):
            text = fmt(f[key], pattern)
            if j:
                diff, rel = change(f[key], figures[0][key])
                if diff is not None:
                    sign = "+" if diff >= 0 else ""
                    dtext = pattern.format(diff) if "%" not in pattern else f"{diff * 100:+.3f} pp"
                    text += f" <span class='delta'>({sign if '%' not in pattern else ''}{dtext}" + (f", {rel:+.1%}" if rel is not None else "") + ")</span>"
            cells.append(f"<td>{text}</td>")
        body.append(f"<tr><th>{_e(label)}</th>{''.join(cells)}</tr>")
    return f"<table class='kpi'><thead><tr><th></th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:22px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:14px;margin:12px 0 0}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
thead th{background:#f4f4f4}table.data td{text-align:left}.delta{color:#666;font-size:12px}
svg.chart{display:block;margin:6px 0}svg .grid{stroke:#eee}svg .tick{font-size:11px;fill:#555}
svg rect[data-tip]:hover{opacity:.75}#tip{position:fixed;pointer-events:none;background:#222;color:#fff;padding:2px 6px;
border-radius:3px;font-size:12px;display:none}
"""

SCRIPT = """
(function(){
  var errors=[];
  window.addEventListener('error',function(e){errors.push(String(e.message));document.body.setAttribute('data-errors',errors.join('; '));});
  var tip=document.getElementById('tip');
  document.querySelectorAll('rect[data-tip]').forEach(function(r){
    r.addEventListener('mousemove',function(e){tip.textContent=r.getAttribute('data-tip');tip.style.display='block';
      tip.style.left=(e.clientX+12)+'px';tip.style.top=(e.clientY+12)+'px';});
    r.addEventListener('mouseleave',function(){tip.style.display='none';});
  });
  var charts=document.querySelectorAll('svg.chart').length;
  document.body.setAttribute('data-rendered','ok');
  document.body.setAttribute('data-charts',String(charts));
})();
"""


def render_report(plans: list[PlanDir], names: list[str] | None = None, title: str | None = None) -> str:
    """The HTML text of the report of ``plans`` (the first is the one charted in full and the
    base of the comparison)."""
    if not plans:
        raise PlanError("report: no plan given")
    names = names or [p.path.name or str(p.path) for p in plans]
    main = plans[0]
    s = main.summary
    title = title or f"dialplan report {s.get('date', '')}"
    solver = s.get("solver", {})
    policy = s.get("policy", {})
    sections = [
        f"<h1>{_e(title)}</h1>",
        f"<p>Plan <b>{_e(names[0])}</b> for {_e(s.get('date', ''))} ({_e(s.get('timezone', ''))}), policy "
        f"{_e(policy.get('name', ''))}, solver {_e(solver.get('name', ''))} ({_e(solver.get('status', ''))}). "
        f"Generated {_e(dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))}.</p>",
        "<h2>Key figures</h2>", kpi_table(names, [p.summary for p in plans]),
    ]
    for p, name in zip(plans, names):
        head = f" — {_e(name)}" if len(plans) > 1 else ""
        sections += [
            f"<section class='plan' data-plan='{_e(name)}'>",
            f"<h2>Planned attempts against seat capacity{head}</h2>", _attempts_vs_capacity(p),
            f"<h2>Expected recovery by hour{head}</h2>", _recovery_by_hour(p),
            f"<h2>Obligations{head}</h2>", _obligations(p),
            f"<h2>Seat load{head}</h2>", _seat_load(p),
            f"<h2>Dispositions{head}</h2>", _dispositions(p),
            f"<h2>First attempts of the day{head}</h2>", _queue_sample(p),
            "</section>",
        ]
    meta = json.dumps({"plans": names, "date": s.get("date")})
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{_e(title)}</title>"
        f"<style>{CSS}</style><script type='application/json' id='meta'>{_e(meta)}</script></head><body>"
        + "".join(sections)
        + f"<div id='tip'></div><script>{SCRIPT}</script></body></html>\n"
    )


def write_report(plan_dir, out, compare=(), names: list[str] | None = None, title: str | None = None) -> Path:
    """Read the plan directories, write the report to ``out`` (atomically) and return its path."""
    import os

    plans = [read_plan_dir(plan_dir)] + [read_plan_dir(c) for c in compare]
    text = render_report(plans, names, title)
    out = Path(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PlanError(f"{out}: cannot write report ({exc.strerror or exc.__class__.__name__})") from None
    return out
