"""Regenerate ``benchmarks/RESULTS.md`` from pytest-benchmark JSON.

    python benchmarks/make_results.py bench.json [more.json ...]   # read earlier runs
    python benchmarks/make_results.py --run [--slow]                # run the benchmarks first

``--run`` runs ``benchmarks/test_bench_candidates.py`` and ``benchmarks/test_bench_plan.py``
with ``--benchmark-enable --benchmark-json`` (``--slow`` sets ``DIALPLAN_SLOW=1``: adds the
1M-case candidates and 100k-case plan runs) and keeps the JSON next to RESULTS.md as
``results-<time>.json`` unless ``--json`` names a file. Several JSON files are merged (a later
file's run of the same benchmark wins), so slow and quick runs made apart end up in one
report. ``--notes FILE`` appends a markdown file verbatim (e.g. measurements made by hand).

RESULTS.md has: the machine (cores, RAM, load while measuring, code version), one table per
benchmark (size, flavor, solver, wall s, peak RSS MB, expected recovery, upper bound, gap,
ratio to hopper, violations, ...) and the cost curve (time and memory against size).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DASH = "–"


def run_benchmarks(json_path: Path, slow: bool, extra: list[str]) -> int:
    env = dict(os.environ)
    if slow:
        env["DIALPLAN_SLOW"] = "1"
    cmd = [
        sys.executable, "-m", "pytest",
        str(HERE / "test_bench_candidates.py"), str(HERE / "test_bench_plan.py"),
        "-o", "addopts=", "-q", "--benchmark-enable", f"--benchmark-json={json_path}", *extra,
    ]
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def load(paths: list[Path]) -> tuple[list[dict], list[dict]]:
    """(benchmark records, the files' headers); a later file's record of a test wins."""
    records: dict[str, dict] = {}
    headers = []
    for path in paths:
        data = json.loads(Path(path).read_text())
        headers.append({"file": str(path), "datetime": data.get("datetime"), "machine_info": data.get("machine_info", {})})
        for b in data.get("benchmarks", []):
            info = dict(b.get("extra_info") or {})
            if "bench" not in info:
                continue
            info["_name"] = b.get("name")
            info["_bench_s"] = (b.get("stats") or {}).get("max")
            info["_datetime"] = data.get("datetime")
            records[b.get("fullname") or b.get("name")] = info
    return list(records.values()), headers


def fmt(x, digits: int = 1) -> str:
    if x is None:
        return DASH
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if math.isnan(x):
            return DASH
        return f"{x:,.{digits}f}"
    return str(x)


def money(x) -> str:
    return DASH if x is None else f"{x:,.0f}"


def load_text(r: dict) -> str:
    lb, la = r.get("load_before"), r.get("load_after")
    if not lb or not la:
        return DASH
    return f"{lb[0]:.1f}→{la[0]:.1f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def with_ratios(records: list[dict]) -> None:
    """ratio_to_hopper where a run lacks it but hopper ran on the same size and flavor."""
    hopper = {(r["size"], r["flavor"]): r.get("expected_recovery") for r in records if r.get("bench") == "plan" and r.get("solver") == "hopper"}
    for r in records:
        if r.get("bench") == "plan" and r.get("ratio_to_hopper") is None:
            base = hopper.get((r["size"], r["flavor"]))
            if base and r.get("expected_recovery") is not None:
                r["ratio_to_hopper"] = r["expected_recovery"] / base


def order(r: dict):
    solver_rank = {"hopper": 0, "greedy": 1, "cpsat": 2}
    return (r.get("size", 0), r.get("flavor", ""), solver_rank.get(r.get("solver", ""), 9))


def machine_section(records: list[dict], headers: list[dict]) -> list[str]:
    m = next((r["machine"] for r in records if r.get("machine")), {})
    mi = next((h["machine_info"] for h in headers if h.get("machine_info")), {})
    cpu = mi.get("cpu", {}) if isinstance(mi, dict) else {}
    loads = [x for r in records for x in (r.get("load_before") or [None])[:1] + (r.get("load_after") or [None])[:1] if x is not None]
    dates = sorted(h["datetime"] for h in headers if h.get("datetime"))
    lines = [
        f"- cores: {m.get('cores', cpu.get('count', DASH))}; RAM: {m.get('ram_gb', DASH)} GB; CPU: {cpu.get('brand_raw', DASH)}",
        f"- benchmark sessions ended: {', '.join(d[:19].replace('T', ' ') for d in dates) or DASH} (UTC); report written {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- 1-minute load average seen around the runs: {min(loads):.1f} … {max(loads):.1f} (2 cores shared with other engineers' jobs: wall times are noisy, up to about 2× at load 4)" if loads else "- load: not recorded",
        *(code_lines(records) or [f"- code: commit {m.get('commit', DASH)}; uncommitted changes in: {', '.join(m.get('dirty_src') or []) or 'none'}"]),
        f"- python {m.get('python', DASH)}, dialplan {m.get('dialplan', DASH)}, ortools {m.get('ortools', DASH)}, pandas {m.get('pandas', DASH)}, numpy {m.get('numpy', DASH)}, phonenumbers {m.get('phonenumbers', DASH)}",
        "- every figure is one run in a fresh process: wall s = the measured work inside that process (imports and process start excluded), peak RSS = that process's `ru_maxrss` plus its largest child's (the planner forks a second process on books over 30,000 cases; pages the fork shares count twice, so on those rows it is an over-estimate); peak PSS = the largest sum of the proportional set sizes of that process and its children, sampled every 0.25 s (shared pages split between the processes sharing them: the process tree's real memory; runs before it was recorded show a dash)",
    ]
    return lines


def code_lines(records: list[dict]) -> list[str]:
    """Which code each run measured, when that changed during the session(s)."""
    seen = {}
    for r in sorted(records, key=order):
        if r.get("commit"):
            label = r["commit"] + (" + uncommitted " + ", ".join(r["dirty_src"]) if r.get("dirty_src") else "")
            seen.setdefault(label, []).append(f"{r['bench']} {r['flavor']} {r.get('solver') or ''} {r['size']:,}".replace("  ", " "))
    if len(seen) <= 1:
        return [f"- code: every run measured commit {next(iter(seen))}"] if seen else []
    return ["- code: it changed between runs (other engineers were committing); commit measured by each run:"] + [
        f"  - {label}: {'; '.join(runs)}" for label, runs in seen.items()
    ]


def candidates_section(rows: list[dict]) -> list[str]:
    if not rows:
        return ["No candidates benchmark in the input."]
    header = ["size", "flavor", "solver", "seats", "wall s", "read s", "build_candidates s", "peak RSS MB", "contacts", "callable contacts",
              "legal (contact, slot) pairs", "expected recovery", "upper bound", "gap", "ratio to hopper", "violations", "load"]
    body = [
        [fmt(r["size"]), r["flavor"], DASH, fmt(r.get("seats")), fmt(r.get("wall_s")), fmt(r.get("read_s")), fmt(r.get("candidates_s")),
         fmt(r.get("peak_rss_mb"), 0), fmt(r.get("contacts")), fmt(r.get("callable_contacts")), fmt(r.get("legal_pairs")),
         DASH, DASH, DASH, DASH, DASH, load_text(r)]
        for r in sorted(rows, key=order)
    ]
    return ["read_portfolio + build_candidates (no solver: the recovery columns do not apply).", ""] + table(header, body)


def plan_section(rows: list[dict]) -> list[str]:
    if not rows:
        return ["No plan benchmark in the input."]
    header = ["size", "flavor", "solver", "seats", "wall s", "peak RSS MB", "peak PSS MB", "expected recovery", "upper bound", "gap",
              "ratio to hopper", "violations", "attempts", "obligations met", "solver s", "status", "load"]
    body = []
    for r in sorted(rows, key=order):
        o = r.get("obligations") if isinstance(r.get("obligations"), dict) else None
        ob = DASH if o is None else f"{o['met']:,} of {o['due']:,}"
        body.append([
            fmt(r["size"]), r["flavor"], r["solver"], fmt(r.get("seats")), fmt(r.get("wall_s")), fmt(r.get("peak_rss_mb"), 0),
            fmt(r.get("peak_pss_mb"), 0), money(r.get("expected_recovery")), money(r.get("upper_bound")),
            DASH if r.get("gap") is None else f"{100 * r['gap']:.1f} %",
            DASH if r.get("ratio_to_hopper") is None else f"{r['ratio_to_hopper']:.3f}",
            fmt(r.get("violations")) + (" (FAILED: " + r["error"][:120] + ")" if r.get("error") else ""),
            fmt(r.get("attempts")), ob, fmt(r.get("solver_seconds")), r.get("solver_status") or DASH, load_text(r),
        ])
    return [
        "`run_plan` end to end (read, candidates, solve, upper bound, write, verify with `verify=True`); "
        "time limit " + ", ".join(f"{fmt(t, 0)} s at {fmt(n, 0)} cases" for n, t in sorted({(r.get('size'), r.get('time_limit')) for r in rows if r.get('time_limit')})) + "; gap = 1 − expected recovery / upper bound; "
        "ratio to hopper = expected recovery / hopper's on the same portfolio; money in the book's currency (cn: CNY, us: USD).",
        "",
    ] + table(header, body)


def curve_section(records: list[dict]) -> list[str]:
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault((r["bench"], r["flavor"], r.get("solver") or ""), []).append(r)
    header = ["benchmark", "flavor", "solver", "size", "wall s", "µs per case", "peak RSS MB", "KB per case", "time exponent", "memory exponent"]
    body = []
    for (bench, flavor, solver), rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["size"])
        prev = None
        for r in rs:
            n, t, m = r["size"], r.get("wall_s"), r.get("peak_rss_mb")
            te = me = DASH
            if prev is not None and t and prev.get("wall_s") and m and prev.get("peak_rss_mb") and n != prev["size"]:
                te = f"{math.log(t / prev['wall_s']) / math.log(n / prev['size']):.2f}"
                me = f"{math.log(m / prev['peak_rss_mb']) / math.log(n / prev['size']):.2f}"
            body.append([
                bench, flavor, solver or DASH, fmt(n), fmt(t), DASH if not t else f"{1e6 * t / n:,.0f}",
                fmt(m, 0), DASH if not m else f"{1024 * m / n:,.1f}", te, me,
            ])
            prev = r
    lines = [
        "Time and peak memory against the number of cases. The exponent b fits cost ∝ size^b between "
        "consecutive sizes (1 = linear); it needs two sizes of one benchmark (the slow runs give the second).",
        "",
    ] + table(header, body)
    # a small text chart of wall time per benchmark and size
    tmax = max((r.get("wall_s") or 0) for r in records) or 1
    lines += ["", "```", "wall s (bar: relative to the longest run)"]
    for (bench, flavor, solver), rs in sorted(groups.items()):
        for r in sorted(rs, key=lambda r: r["size"]):
            t = r.get("wall_s") or 0
            label = f"{bench:10s} {flavor:2s} {solver or '-':6s} {r['size']:>9,}"
            lines.append(f"{label} {'#' * max(1, round(40 * t / tmax)):40s} {t:8.1f} s  {r.get('peak_rss_mb') or 0:7.0f} MB")
    lines.append("```")
    return lines


def render(records: list[dict], headers: list[dict], notes: str | None = None) -> str:
    with_ratios(records)
    cands = [r for r in records if r.get("bench") == "candidates"]
    plans = [r for r in records if r.get("bench") == "plan"]
    failed = [r for r in plans if r.get("violations") or r.get("error")]
    lines = [
        "# Benchmark results",
        "",
        "Generated by `python benchmarks/make_results.py` from pytest-benchmark JSON "
        f"({', '.join(Path(h['file']).name for h in headers)}). Do not edit by hand; rerun the script.",
        "",
        "## Machine",
        "",
        *machine_section(records, headers),
        "",
        "## Candidates: read + build_candidates",
        "",
        *candidates_section(cands),
        "",
        "## Plan: run_plan",
        "",
        *plan_section(plans),
        "",
    ]
    if failed:
        lines += [f"**{len(failed)} plan run(s) broke rules or failed** — see the violations column.", ""]
    lines += ["## Cost curve", "", *curve_section(records), ""]
    if notes:
        lines += [notes.rstrip(), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="*", type=Path, help="pytest-benchmark JSON files (merged in order)")
    ap.add_argument("--run", action="store_true", help="run the benchmarks first")
    ap.add_argument("--slow", action="store_true", help="with --run: DIALPLAN_SLOW=1 (1M candidates, 100k plans)")
    ap.add_argument("--json", dest="json_out", type=Path, help="with --run: where to write the JSON")
    ap.add_argument("--pytest-args", default="", help="with --run: extra pytest arguments, e.g. \"-k 10k\"")
    ap.add_argument("--notes", type=Path, help="markdown file appended to RESULTS.md")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = ap.parse_args(argv)
    paths = list(args.json)
    if args.run:
        out = args.json_out or HERE / f"results-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
        code = run_benchmarks(out, args.slow, args.pytest_args.split())
        if not out.exists():
            print(f"benchmarks wrote no JSON (pytest exit {code})", file=sys.stderr)
            return 1
        paths.append(out)
    if not paths:
        ap.error("give pytest-benchmark JSON files or --run")
    records, headers = load(paths)
    if not records:
        print("no dialplan benchmark records in the input", file=sys.stderr)
        return 1
    notes = args.notes.read_text(encoding="utf-8") if args.notes else None
    args.out.write_text(render(records, headers, notes), encoding="utf-8")
    print(f"wrote {args.out} ({len(records)} benchmarks)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
