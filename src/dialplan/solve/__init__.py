"""Solvers: ``hopper`` (the dialer baseline), ``greedy`` and ``cpsat`` (the plan of record)."""

from __future__ import annotations

import time

import pandas as pd

from ..candidates import Candidates
from ..plan import Plan
from .book import Book
from .heuristics import greedy, hopper

SOLVERS = ("cpsat", "greedy", "hopper")


def book_frame(book: Book) -> pd.DataFrame:
    arr = book.attempts()
    return pd.DataFrame({name: arr[name] for name in arr.dtype.names})


def solve(cands: Candidates, solver: str = "cpsat", time_limit: float = 60.0, seed: int = 0, progress=None,
          wall_limit: float | None = None) -> Plan:
    """Plan the day with ``solver``; the result is always complete and compliant.

    ``time_limit`` sets the work budgets (deterministic: same input, same plan);
    ``wall_limit`` (default: the same) is the wall-clock safety net under machine load."""
    started = time.perf_counter()
    wall = time_limit if wall_limit is None else wall_limit
    found = None
    if solver == "hopper":
        book, status = hopper(cands), "heuristic"
    elif solver == "greedy":
        book, status = greedy(cands), "heuristic"
    elif solver == "cpsat":
        from .cpsat import improve

        book, status, found = improve(cands, time_limit=time_limit, seed=seed, progress=progress, wall_limit=wall)
    else:
        raise ValueError(f"unknown solver {solver!r}")
    plan = Plan(cands, book_frame(book), solver={"name": solver, "status": status, "seed": seed})
    from .bound import upper_bound
    from .heuristics import obligations_met

    met = obligations_met(cands, book)
    if progress:
        progress(f"plan: {met:,} obligations, {plan.expected_recovery:,.0f} expected; upper bound")
    if found:
        # the search's bounds, each at prices (lam, nu) for plans meeting m obligations; the
        # bound at the same prices for plans meeting as many as ours differs only in the
        # obligation term nu * (free credits - met), so it is exact without evaluating again
        bound = min(b + nu * (m - met) for b, _lam, nu, m in found)
    else:
        bound, _lam, _nu = upper_bound(cands, met=met, plan_attempts=book.attempts(), rounds=40,
                                       deadline=started + 0.95 * wall)
    plan.upper_bound = bound
    plan.solver["seconds"] = round(time.perf_counter() - started, 3)
    return plan
