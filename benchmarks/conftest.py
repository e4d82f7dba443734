"""Shared fixtures of the benchmarks.

* ``portfolio``: synthetic portfolios (``dialplan.synth``), built once per session into a
  session temporary directory and reused by every benchmark of the same size and flavor.
* ``measure``: runs one measurement in a fresh Python process (``python -c``) and returns
  its figures. A fresh process per measurement makes the peak RSS honest (the child's own
  ``ru_maxrss``, not the pytest process's, which only grows) and keeps one run's caches and
  memory from helping or hurting the next. The child also times its own work, so process
  start and imports are not in ``wall_s``; the pytest-benchmark time of a test does include
  them.

Run: ``python -m pytest benchmarks/ -o addopts="" --benchmark-enable --benchmark-json=b.json``;
the 1M-case / 100k-case runs need ``DIALPLAN_SLOW=1``. ``benchmarks/make_results.py`` turns
the JSON into ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

DATE = dt.date(2026, 11, 30)
SEED = 42
SLOW = os.environ.get("DIALPLAN_SLOW") == "1"
slow = pytest.mark.skipif(not SLOW, reason="set DIALPLAN_SLOW=1 to run the large benchmarks")

# The measured work, run by a fresh interpreter: argv[1] is a JSON object of arguments, the
# last line of stdout is a JSON object of figures.
CHILD = r"""
import ast, datetime as dt, json, os, resource, sys, threading, time
args = json.loads(sys.argv[1])
day = dt.date.fromisoformat(args["date"])
out = {}


# this process's and its children's proportional set size, summed (MB): pages a fork
# shares are split between the processes sharing them, so the sum is the tree's memory
def tree_pss_mb():
    pids, total = [os.getpid()], 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                pids.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            if pid == os.getpid():
                return None
    return total / 1024.0


peak_pss = [tree_pss_mb()]


def sample_pss():
    while True:
        now = tree_pss_mb()
        if now is None or peak_pss[0] is None:
            return
        peak_pss[0] = max(peak_pss[0], now)
        time.sleep(0.25)


threading.Thread(target=sample_pss, daemon=True).start()
start = time.perf_counter()
cpu0 = time.process_time()
if args["kind"] == "candidates":
    from dialplan.io.portfolio import read_portfolio
    from dialplan.candidates import build_candidates
    pf = read_portfolio(args["portfolio"])
    out["read_s"] = time.perf_counter() - start
    t = time.perf_counter()
    cands = build_candidates(pf, day)
    out["candidates_s"] = time.perf_counter() - t
    out["accounts"] = int(len(pf.accounts))
    out["contacts"] = int(len(pf.contacts))
    out["callable_contacts"] = int(cands.n_contacts)
    out["legal_pairs"] = int(cands.legal.sum())
    out["slots"] = int(cands.grid.n)
elif args["kind"] == "plan":
    import logging
    from dialplan.pipeline import VerificationFailed, run_plan
    # the planner's log (phases with their times, both processes: a fork inherits the
    # handler and appends to the same file), kept with the figures
    log_path = args["out"] + ".log"
    handler = logging.FileHandler(log_path, mode="w")
    wall0 = time.time()

    class Since(logging.Formatter):
        def format(self, record):
            return f"{record.created - wall0:7.1f} s  {record.getMessage()}"

    handler.setFormatter(Since())
    logging.getLogger("dialplan").addHandler(handler)
    logging.getLogger("dialplan").setLevel(logging.INFO)
    try:
        res = run_plan(args["portfolio"], day, args["out"], solver=args["solver"],
                       time_limit=args["time_limit"], seed=0, verify=True)
    except VerificationFailed as exc:  # the plan broke rules: count them from the message
        text = str(exc)
        counts = ast.literal_eval(text[text.index("{"):text.rindex("}") + 1])
        out["violations"] = int(sum(counts.values()))
        out["violation_counts"] = counts
        out["error"] = text[:500]
    else:
        s = res.summary
        out["expected_recovery"] = s["expected_recovery"]
        out["upper_bound"] = s["upper_bound"]
        out["gap"] = s["gap"]
        out["attempts"] = s["attempts"]
        out["capacity"] = s["capacity"]
        out["utilization"] = s["utilization"]
        out["obligations"] = s["obligations"]
        out["accounts_planned"] = s["accounts"]["planned"]
        out["solver_status"] = s["solver"].get("status")
        out["solver_seconds"] = s["solver"].get("seconds")
        counts = res.verify_report.counts
        out["violations"] = int(sum(counts.values()))
        out["verify_expected_recovery"] = float(res.verify_report.expected_recovery)
    handler.close()
    with open(log_path) as f:
        out["log"] = f.read().splitlines()[-60:]
else:
    raise SystemExit("unknown kind " + args["kind"])
out["wall_s"] = time.perf_counter() - start
out["cpu_s"] = time.process_time() - cpu0
# the planner may fork a second process (large books): the peak is reported as this
# process's peak plus the largest child's, an over-estimate (pages they share count twice)
out["peak_rss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
out["peak_rss_children_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
out["peak_rss_mb"] = out["peak_rss_self_mb"] + out["peak_rss_children_mb"]
# the process tree's peak proportional set size, sampled every 0.25 s (None where the
# kernel has no smaps_rollup): the honest figure when a fork shares pages
out["peak_pss_mb"] = peak_pss[0]
out["load_after"] = list(os.getloadavg())
print(json.dumps(out))
"""


def run_child(args: dict, timeout: float | None = None) -> dict:
    """Run ``CHILD`` with ``args`` in a fresh interpreter; its figures plus the load before."""
    code = machine(versions=False)  # the tree may change between runs: note it per run
    load_before = list(os.getloadavg())
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"measurement {args} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["load_before"] = load_before
    figures["process_s"] = time.perf_counter() - started
    figures["commit"] = code.get("commit")
    figures["dirty_src"] = code.get("dirty_src")
    return figures


def machine(versions: bool = True) -> dict:
    """Cores, RAM, package versions and the git state of the code measured (other engineers
    may be changing it while the benchmarks run)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    info = {"cores": os.cpu_count(), "python": platform.python_version()}
    for pkg in ("dialplan", "ortools", "pandas", "numpy", "phonenumbers") if versions else ():
        try:
            info[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["ram_gb"] = round(pages * size / 2**30, 1)
    except (ValueError, OSError):
        pass
    root = Path(__file__).resolve().parents[1]
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=root, capture_output=True, text=True).stdout
        info["dirty_src"] = sorted(line[3:] for line in dirty.splitlines())
    except OSError:
        pass
    return info


class _Portfolios:
    def __init__(self, base: Path):
        self.base = base
        self.built: dict[tuple, Path] = {}

    def __call__(self, accounts: int, seats: int, flavor: str) -> Path:
        key = (accounts, seats, flavor)
        if key not in self.built:
            from dialplan.synth import synth_portfolio

            root = self.base / f"{flavor}_{accounts}_{seats}"
            synth_portfolio(root, accounts, seats, flavor, DATE, SEED)
            self.built[key] = root
        return self.built[key]


@pytest.fixture(scope="session")
def portfolio(tmp_path_factory):
    """``portfolio(accounts, seats, flavor)`` -> directory of a synthetic portfolio (built once)."""
    return _Portfolios(tmp_path_factory.mktemp("portfolios"))


class _Measure:
    def __init__(self, out: Path):
        self.out = out
        self.cache: dict[tuple, dict] = {}

    def __call__(self, kind: str, root: Path, fresh: bool = True, **kw) -> dict:
        """Run now (``fresh``, what a benchmark times) or reuse this session's earlier run."""
        key = (kind, str(root), tuple(sorted(kw.items())))
        if fresh or key not in self.cache:
            args = {"kind": kind, "portfolio": str(root), "date": DATE.isoformat(), **kw}
            if kind == "plan":
                args["out"] = str(self.out / f"{root.name}_{kw['solver']}")
            self.cache[key] = run_child(args)
        return self.cache[key]


@pytest.fixture(scope="session")
def measure(tmp_path_factory):
    """``measure(kind, portfolio_dir, fresh=True, **args)`` -> figures of one fresh-process run;
    runs are kept per arguments for the session, and ``fresh=False`` reuses one (so a solver's
    ratio to hopper reuses the hopper run)."""
    return _Measure(tmp_path_factory.mktemp("plans"))


@pytest.fixture(scope="session")
def machine_info():
    return machine()
