"""The solvers: optimal on tiny books (brute force), bound above the optimum, obligations first."""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest

from dialplan.candidates import build_candidates
from dialplan.io.portfolio import read_portfolio
from dialplan.plan import expected_recovery
from dialplan.solve import solve
from dialplan.solve.book import Book

from .helpers import CN_PHONES, write_portfolio

D = dt.date(2026, 11, 30)  # a Monday
FLAT_POLICY = """
name = "test-flat"
timezone = "Asia/Shanghai"
country = "CN"
frequency = []
[caps.debtor]
per_day = 2
rolling = { minutes = 30, max = 1 }
[caps.third_party]
per_day = 1
rolling = { minutes = 0, max = 1 }
"""


def tiny_book(tmp_path, seed: int, n_accounts: int = 3, policy: str = FLAT_POLICY):
    """A random book small enough for brute force: one seat, 4 slots, capacity 1 a slot."""
    rng = np.random.default_rng(seed)
    accounts, contacts = [], []
    phones = iter(CN_PHONES)
    for i in range(n_accounts):
        accounts.append({"account_id": f"A{i}", "balance": int(rng.integers(1000, 9000)), "status": "contactable", "pay_propensity": 0.5})
        for j in range(int(rng.integers(1, 3))):
            contacts.append({"contact_id": f"C{i}{j}", "account_id": f"A{i}", "phone": next(phones), "role": "debtor",
                             "rpc_rate": round(float(rng.uniform(0.1, 0.6)), 3),
                             "phone_type": "mobile" if j == 0 else "work"})
    seats = [{"seat_id": "S1", "shift_start": "09:00", "shift_end": "10:00", "attempts_per_hour": 4}]
    curves = [{"phone_type": "work", "hour": 9, "weight": 1.3}]
    root = write_portfolio(tmp_path / f"book{seed}", accounts, contacts, seats, curves=curves, policy=policy)
    return build_candidates(read_portfolio(root), D)


def brute_force(c) -> float:
    """Best expected recovery over every set of legal (contact, slot) attempts the rules allow."""
    pairs = [(int(k), int(t)) for k, t in zip(*np.nonzero(c.legal))]
    best = 0.0
    most = int(c.groups.seat_capacity.sum())  # no plan has more attempts than seat capacity
    for r in range(min(len(pairs), most) + 1):
        for subset in itertools.combinations(pairs, r):
            book = Book(c)
            if all(book.try_add(int(c.contact_account[k]), k, t) for k, t in sorted(subset, key=lambda p: p[1])):
                arr = book.attempts()
                best = max(best, expected_recovery(c, arr["account"], arr["cand"], arr["slot"]))
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cpsat_is_optimal_and_bound_holds_on_tiny_books(tmp_path, seed):
    """On books small enough to enumerate, CP-SAT finds the optimum and the bound is above it."""
    c = tiny_book(tmp_path, seed)
    optimum = brute_force(c)
    plan = solve(c, "cpsat", time_limit=10)
    assert plan.expected_recovery == pytest.approx(optimum, rel=1e-9)
    assert plan.upper_bound >= optimum - 1e-9


@pytest.mark.parametrize("seed", [4, 5])
def test_heuristics_never_beat_the_optimum(tmp_path, seed):
    """Hopper and greedy are feasible plans, so never above the brute-force optimum; cpsat is
    at least as good as both."""
    c = tiny_book(tmp_path, seed)
    optimum = brute_force(c)
    values = {s: solve(c, s).expected_recovery for s in ("hopper", "greedy", "cpsat")}
    assert values["hopper"] <= optimum + 1e-9
    assert values["greedy"] <= optimum + 1e-9
    assert values["cpsat"] >= max(values["hopper"], values["greedy"]) - 1e-9


def test_obligation_beats_value(tmp_path):
    """With room for one attempt, a small callback case is called, not the rich case."""
    accounts = [
        {"account_id": "RICH", "balance": 1_000_000, "status": "contactable", "pay_propensity": 0.9},
        {"account_id": "CB", "balance": 10, "status": "contactable", "pay_propensity": 0.1},
    ]
    contacts = [
        {"contact_id": "K1", "account_id": "RICH", "phone": CN_PHONES[0], "role": "debtor"},
        {"contact_id": "K2", "account_id": "CB", "phone": CN_PHONES[1], "role": "debtor"},
    ]
    seats = [{"seat_id": "S1", "shift_start": "09:00", "shift_end": "09:15", "attempts_per_hour": 4}]
    callbacks = [{"account_id": "CB", "contact_id": "K2", "at": "2026-11-30T09:05:00+08:00", "seat_id": "S1"}]
    root = write_portfolio(tmp_path / "ob", accounts, contacts, seats, callbacks=callbacks, policy=FLAT_POLICY)
    c = build_candidates(read_portfolio(root), D)
    for solver in ("hopper", "greedy", "cpsat"):
        plan = solve(c, solver)
        rows = plan.rows()
        assert list(rows["account_id"]) == ["CB"], solver
        assert list(rows["reason"]) == ["callback"], solver
        ob = plan.obligations()
        assert ob["met"].all(), solver


def test_same_input_same_plan(tmp_path):
    """Two runs with the same input and seed give identical plan rows."""
    c = tiny_book(tmp_path, 7, n_accounts=5)
    a = solve(c, "cpsat", seed=3).rows()
    b = solve(c, "cpsat", seed=3).rows()
    assert a.equals(b)
