"""The nightly run, end to end: read -> candidates -> solve -> plan -> verify -> publish."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from .candidates import build_candidates
from .errors import DialplanError
from .figures import plan_figures
from .io.portfolio import read_portfolio
from .io.writers import discard, publish, stage_plan_dir
from .plan import Plan

log = logging.getLogger("dialplan")


class VerificationFailed(DialplanError):
    """The planner's own result broke a rule; nothing was published."""

    exit_code = 4


@dataclass
class RunResult:
    plan: Plan
    summary: dict
    out: Path
    verify_report: object | None = None


def plan_tables(plan: Plan) -> tuple[dict, dict]:
    """Files of the plan directory (contract 4) as frames."""
    rows = plan.rows()
    portfolio = plan.cands.portfolio
    tables = {
        "plan.csv": rows,
        "dispositions.csv": plan.dispositions(),
        "obligations.csv": plan.obligations(),
        "rejected.csv": portfolio.rejected.sort_values(["file", "row"], kind="stable").reset_index(drop=True),
    }
    seats = portfolio.seats.loc[portfolio.seats["active"], "seat_id"]
    grouped = dict(tuple(rows.groupby("seat_id", sort=True)))
    queues = {seat: grouped.get(seat, rows.iloc[0:0]).reset_index(drop=True) for seat in seats}
    return tables, queues


def run_plan(
    portfolio_dir: str | Path,
    date: dt.date,
    out: str | Path,
    policy: str | None = None,
    solver: str = "cpsat",
    time_limit: float = 60.0,
    seed: int = 0,
    max_reject: float = 0.01,
    verify: bool = True,
    progress=None,
    fit: bool = False,
    fit_out: str | Path | None = None,
) -> RunResult:
    """Plan ``date`` for the portfolio and publish the plan directory ``out``.

    With ``fit``, the history is fitted first (``dialplan.fit.fit_to_dir``: rpc_rate and
    curves) into the fitted portfolio ``fit_out`` (default ``<portfolio>-fitted``), and that
    portfolio is planned and verified; summary.json then has a ``fit`` entry."""
    from .solve import solve

    started = time.perf_counter()
    fit_summary = None
    if fit:
        from .fit import fit_to_dir

        fitted = fit_to_dir(portfolio_dir, fit_out, policy=policy, max_reject=max_reject)
        fit_summary = {"portfolio": str(fitted.out), "holdout": fitted.report["holdout"].get("models")}
        portfolio_dir = fitted.out
    portfolio = read_portfolio(portfolio_dir, policy=policy, max_reject=max_reject)
    log.info("read %d accounts, %d contacts, %d seats; %d rows rejected", len(portfolio.accounts), len(portfolio.contacts), len(portfolio.seats), len(portfolio.rejected))
    cands = build_candidates(portfolio, date)
    log.info("candidates: %d callable contacts, %d legal (contact, slot) pairs", cands.n_contacts, int(cands.legal.sum()))
    # --time-limit bounds the whole run: the solver's share is a fixed part of it (so the same
    # input gives the same plan whatever the machine's load), its wall clock is capped by what
    # reading left, and the rest is kept for verifying and writing
    left = time_limit - (time.perf_counter() - started)
    plan = solve(cands, solver=solver, time_limit=max(0.8 * time_limit, 1.0), seed=seed, progress=progress,
                 wall_limit=max(0.9 * left, 1.0))
    summary = plan.summary(date, portfolio.inputs, len(portfolio.rejected))
    if fit_summary is not None:
        summary["fit"] = fit_summary
    tables, queues = plan_tables(plan)
    extra_tables, extra_summary = plan_figures(plan)  # capacity.csv, contact_zones.csv (report, export)
    tables.update(extra_tables)
    summary.update(extra_summary)
    out = Path(out)
    tmp = stage_plan_dir(out, tables, queues, summary)
    report = None
    if verify:
        from .verify import verify_plan

        report = verify_plan(portfolio_dir, tmp, date=date, policy=policy)
        if not report.ok:
            discard(tmp)
            counts = {k: v for k, v in report.counts.items() if v}
            raise VerificationFailed(f"{out}: the plan broke rules {counts}; nothing published")
    publish(tmp, out)
    return RunResult(plan, summary, out, report)
