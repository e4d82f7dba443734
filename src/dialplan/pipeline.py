"""The nightly run, end to end: read -> candidates -> solve -> plan -> verify -> publish."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .candidates import build_candidates

if TYPE_CHECKING:
    import pandas as pd
from . import reasons as R
from .errors import DialplanError, PlanningFailed, one_line
from .figures import plan_figures
from .io.portfolio import read_portfolio
from .io.writers import discard, plan_lock, publish, stage_plan_dir
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


CONTACT_DISPOSITION_COLUMNS = ["contact_id", "account_id", "disposition", "reason", "attempts"]


def contact_dispositions(plan: Plan, account_dispositions) -> "pd.DataFrame":
    """One row per accepted contact: ``planned`` (attempts > 0) or ``unplanned`` with the
    reason: the contact's own (do_not_call, window, ...), else its case's when the case got
    no attempt, else ``lower_value`` (another number of the case was dialled instead)."""
    import numpy as np
    import pandas as pd

    c = plan.cands
    con = c.portfolio.contacts
    a = plan.attempts
    made = np.zeros(len(con), dtype=np.int64)
    if len(a):
        np.add.at(made, c.contact_row[a["cand"].to_numpy()], 1)
    own = np.asarray(c.contact_reason, dtype=object)
    acc_reason = con["account_id"].map(account_dispositions.set_index("account_id")["reason"]).fillna("").to_numpy(dtype=object)
    reason = np.where(own != "", own, np.where(acc_reason != "", acc_reason, R.LOWER_VALUE))
    return pd.DataFrame(
        {
            "contact_id": con["contact_id"].to_numpy(),
            "account_id": con["account_id"].to_numpy(),
            "disposition": np.where(made > 0, "planned", "unplanned"),
            "reason": np.where(made > 0, "", reason),
            "attempts": made,
        }
    )[CONTACT_DISPOSITION_COLUMNS]


def plan_tables(plan: Plan) -> tuple[dict, dict]:
    """Files of the plan directory (contract 4) as frames."""
    rows = plan.rows()
    portfolio = plan.cands.portfolio
    tables = {
        "plan.csv": rows,
        "dispositions.csv": (dispositions := plan.dispositions()),
        "contact_dispositions.csv": contact_dispositions(plan, dispositions),
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
    out = Path(out)
    with plan_lock(out):
        return _run_locked(portfolio_dir, date, out, policy, solver, time_limit, seed, max_reject, verify, progress,
                           fit, fit_out)


def _solve_with_fallback(cands, solver, time_limit, seed, progress, wall_limit):
    """``solve`` with the chosen solver; if it raises (a bug, a solver fault, MemoryError: out
    of memory budget), plan with the hopper instead and say why in ``solver.fallback``.
    Raises PlanningFailed (exit 3) when the hopper fails as well."""
    from . import solve as solve_pkg

    try:
        return solve_pkg.solve(cands, solver=solver, time_limit=time_limit, seed=seed, progress=progress,
                               wall_limit=wall_limit)
    except (Exception, MemoryError) as exc:  # noqa: BLE001 - any solver fault falls back
        if solver == "hopper":
            raise PlanningFailed(f"solver hopper failed ({exc.__class__.__name__}); nothing planned, nothing published") from None
        # the exception's class only: its message might quote a number or a balance
        reason = one_line(exc.__class__.__name__)
    log.warning("solver %s failed (%s); falling back to the hopper plan", solver, reason)
    try:
        plan = solve_pkg.solve(cands, solver="hopper", time_limit=time_limit, seed=seed, wall_limit=wall_limit)
    except (Exception, MemoryError) as exc:  # noqa: BLE001
        raise PlanningFailed(
            f"solver {solver} failed ({reason}) and the hopper fallback failed "
            f"({exc.__class__.__name__}); nothing planned, nothing published"
        ) from None
    plan.solver["fallback"] = {"from": solver, "reason": reason}
    return plan


def _run_locked(portfolio_dir, date, out, policy, solver, time_limit, seed, max_reject, verify, progress, fit=False,
                fit_out=None) -> RunResult:
    started = time.perf_counter()

    def note(text: str) -> None:
        log.info("%.1f s: %s", time.perf_counter() - started, text)
        if progress:
            progress(text)

    fit_summary = None
    if fit:
        note("fitting contact rates")
        from .fit import fit_to_dir

        fitted = fit_to_dir(portfolio_dir, fit_out, policy=policy, max_reject=max_reject)
        fit_summary = {"portfolio": str(fitted.out), "holdout": fitted.report["holdout"].get("models")}
        portfolio_dir = fitted.out
    note("reading the portfolio")
    portfolio = read_portfolio(portfolio_dir, policy=policy, max_reject=max_reject)
    log.info("read %d accounts, %d contacts, %d seats; %d rows rejected", len(portfolio.accounts), len(portfolio.contacts), len(portfolio.seats), len(portfolio.rejected))
    note("legal slots of every number")
    cands = build_candidates(portfolio, date)
    log.info("candidates: %d callable contacts, %d legal (contact, slot) pairs", cands.n_contacts, int(cands.legal.sum()))
    # --time-limit bounds the whole run: the solver's share is a fixed part of it (so the same
    # input gives the same plan whatever the machine's load), its wall clock is capped by what
    # reading left, and the rest is kept for verifying and writing
    left = time_limit - (time.perf_counter() - started)
    # kept for building the plan's tables, verifying and writing: a tenth of what is left,
    # or 0.2 ms a case on large books (measured at 100k: about 14 s after the solver)
    reserve = max(0.1 * left, 2e-4 * len(portfolio.accounts))
    plan = _solve_with_fallback(cands, solver, max(0.8 * time_limit, 1.0), seed, progress, max(left - reserve, 1.0))
    fallback = plan.solver.get("fallback")
    if fallback:
        print(f"Warning: solver {fallback['from']} failed ({fallback['reason']}); published the hopper plan instead",
              file=sys.stderr)
    summary = plan.summary(date, portfolio.inputs, len(portfolio.rejected))
    if fit_summary is not None:
        summary["fit"] = fit_summary
    note(f"solver done ({plan.solver.get('seconds', 0):.1f} s); writing the plan")
    tables, queues = plan_tables(plan)
    extra_tables, extra_summary = plan_figures(plan)  # capacity.csv, contact_zones.csv (report, export)
    tables.update(extra_tables)
    summary.update(extra_summary)
    tmp = stage_plan_dir(out, tables, queues, summary)
    report = None
    if verify:
        from .verify import verify_plan

        note("verifying every rule")
        try:
            report = verify_plan(portfolio_dir, tmp, date=date, policy=policy)
        except BaseException:
            discard(tmp)
            raise
        if not report.ok:
            discard(tmp)
            counts = {k: v for k, v in report.counts.items() if v}
            raise VerificationFailed(f"{out}: the plan broke rules {counts}; nothing published")
    publish(tmp, out)
    note("published")
    return RunResult(plan, summary, out, report)
