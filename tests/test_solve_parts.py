"""The solver's parts on books built to expose them: obligations by min-cost flow, the
obligation repair, and the column-generation bound against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dialplan.plan import expected_recovery
from dialplan.solve.book import Book
from dialplan.solve.bound import PricedModel, upper_bound
from dialplan.solve.heuristics import flow_obligations, greedy, obligations_met, repair_obligations

from .test_solve import brute_force, tiny_book


def crafted(tmp_path, seed=11):
    """Three cases each owing one attempt; one seat taking one attempt per slot (4 slots).
    Case 0 can only be called in slot 0; case 1 is the richest and likes slot 0 best but can
    also be called in slot 1; case 2 can use slots 1-3."""
    c = tiny_book(tmp_path, seed, n_accounts=3)
    c.due[:] = 1
    c.done_today[:] = 0
    legal = np.zeros_like(c.legal)
    q = np.zeros_like(c.q)
    for k in range(len(c.contact_account)):
        a = int(c.contact_account[k])
        slots = {0: [0], 1: [0, 1], 2: [1, 2, 3]}[a]
        legal[k, slots] = True
        q[k, slots] = 0.2
        if a == 1:
            q[k, 0] = 0.5
    c.legal[:] = legal
    c.q[:] = q
    c.value = np.array([10.0, 1000.0, 10.0])
    return c


def test_flow_meets_every_obligation_the_seats_allow(tmp_path):
    c = crafted(tmp_path)
    assert int(c.groups.seat_capacity.sum()) == 4
    plain = greedy(c)
    flowed = Book(c)
    flow_obligations(c, flowed)
    # the greedy serves the rich case in its favourite slot, the only one case 0 could use
    assert obligations_met(c, plain) == 2
    assert obligations_met(c, flowed) == 3
    slots = {a: [t for _k, t, _s, _r in atts] for a, atts in flowed.case_attempts.items()}
    assert slots[0] == [0] and slots[1] == [1]


def test_repair_bumps_a_value_attempt_for_an_obligation(tmp_path):
    c = crafted(tmp_path)
    c.due[:] = [1, 0, 0]  # only case 0 owes an attempt
    book = Book(c)
    k1 = int(np.flatnonzero(c.contact_account == 1)[0])
    assert book.try_add(1, k1, 0, "value")  # the rich case holds the only slot case 0 can use
    before = obligations_met(c, book)
    gained = repair_obligations(c, book)
    assert gained == 1 and obligations_met(c, book) == before + 1
    assert [t for _k, t, _s, _r in book.case_attempts[0]] == [0]
    assert 1 not in book.case_attempts  # its only attempt gave its seat up


def test_repair_never_takes_an_attempt_an_obligation_needs(tmp_path):
    c = crafted(tmp_path)
    c.due[:] = [1, 1, 0]
    book = Book(c)
    k1 = int(np.flatnonzero(c.contact_account == 1)[0])
    assert book.try_add(1, k1, 0, "frequency")
    assert repair_obligations(c, book) == 0
    assert [t for _k, t, _s, _r in book.case_attempts[1]] == [0]


@pytest.mark.parametrize("seed", [21, 22, 23, 24])
def test_column_generation_bound_holds_and_beats_uniform_prices(tmp_path, seed):
    """The bound is never below the brute-force optimum, and column generation finds prices
    at least as good as the best single price for every seat and slot (a coarse grid)."""
    c = tiny_book(tmp_path, seed, n_accounts=4)
    optimum = brute_force(c)
    plan = greedy(c)
    arr = plan.attempts()
    value = expected_recovery(c, arr["account"], arr["cand"], arr["slot"])
    bound, lam, nu = upper_bound(c, met=0, plan_attempts=arr)
    assert bound >= optimum - 1e-9 >= value - 1e-9
    model = PricedModel(c)
    grid = [model.evaluate(np.full(model.cap.shape, p), 0.0, 0)[0] for p in np.linspace(0, c.value.max(), 41)]
    assert bound <= min(grid) + 1e-6 * max(1.0, min(grid))
    # any prices give a valid bound: the evaluated point agrees with what was reported
    assert PricedModel(c).evaluate(lam, nu, 0)[0] == pytest.approx(bound, rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_spaced_best_matches_enumeration(seed):
    """The dynamic programme for spaced contacts gives, for every j, the best sum of exactly
    j slots at least ``space`` apart (checked against enumerating every subset), and its
    increments fall (so merging them across a case's contacts is exact)."""
    from dialplan.solve.bound import PricedModel

    rng = np.random.default_rng(seed)
    T, J = 9, 4
    W = rng.normal(size=(5, T))
    W[rng.random(W.shape) < 0.2] = -np.inf  # illegal slots
    space = rng.integers(1, 4, size=5)
    h, take = PricedModel._spaced_best(W, space, J)
    for r in range(5):
        for j in range(J + 1):
            best = -np.inf
            for sub in itertools.combinations(range(T), j):
                if all(b - a >= space[r] for a, b in zip(sub, sub[1:])):
                    best = max(best, sum(W[r, list(sub)]) if sub else 0.0)
            assert h[r, j] == pytest.approx(best) if np.isfinite(best) else h[r, j] == -np.inf
        finite = h[r][np.isfinite(h[r])]
        inc = np.diff(finite)
        assert np.all(inc[1:] <= inc[:-1] + 1e-9)
