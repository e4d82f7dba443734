"""The solver's parts on books built to expose them: obligations by min-cost flow, the
obligation repair, and the column-generation bound against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dialplan.candidates import build_candidates
from dialplan.io.portfolio import read_portfolio
from dialplan.plan import expected_recovery
from dialplan.solve.book import Book
from dialplan.solve.bound import PricedModel, upper_bound
from dialplan.solve.heuristics import flow_obligations, greedy, obligations_met, repair_obligations, value_swaps

from .helpers import CN_PHONES, write_portfolio
from .test_solve import D, brute_force, tiny_book


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


def test_flow_attempts_are_the_flows_own_plan_of_a_sample(tmp_path):
    """A sample's first plan without a book (``flow_attempts``): the crafted book's flow
    gives every case what it owes in the one slot each can share (as the book's flow does),
    only for the cases of the mask, each attempt legal and on the case's best number there,
    and never more attempts in a slot than the capacity given."""
    from dialplan.solve.heuristics import flow_attempts

    c = crafted(tmp_path)
    cap = c.groups.capacity.astype(np.int64)
    atts = flow_attempts(c, np.ones(c.n_accounts, dtype=bool), cap)
    slots = {int(a): sorted(atts["slot"][atts["account"] == a].tolist()) for a in range(3)}
    assert slots[0] == [0] and slots[1] == [1] and len(slots[2]) == 1
    assert c.legal[atts["cand"], atts["slot"]].all()
    assert (c.contact_account[atts["cand"]] == atts["account"]).all()
    for a, k, t in zip(atts["account"], atts["cand"], atts["slot"]):
        assert c.q[k, t] == c.q[c.contact_account == a, t].max()
    # case 1 only: it takes its favourite slot, and no other case gets anything
    only = np.array([False, True, False])
    atts = flow_attempts(c, only, cap)
    assert atts["account"].tolist() == [1] and atts["slot"].tolist() == [0]
    # no capacity in slots 0 and 1: case 0 and case 1 cannot be served, case 2 still is
    cap[:, :2] = 0
    atts = flow_attempts(c, np.ones(c.n_accounts, dtype=bool), cap)
    assert atts["account"].tolist() == [2] and np.bincount(atts["slot"], minlength=cap.shape[1])[:2].sum() == 0


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


def test_repair_never_takes_an_attempt_of_a_case_still_owing(tmp_path):
    """Case 1 owes two attempts and holds one (slot 0, the only slot case 0 can use): it is
    not a victim for case 0, though it does not meet its obligation yet."""
    c = crafted(tmp_path)
    c.due[:] = [1, 2, 0]
    c.contact_max[:] = 4
    c.legal[np.flatnonzero(c.contact_account == 1)] = False  # case 1 can get no second attempt
    book = Book(c)
    k1 = int(np.flatnonzero(c.contact_account == 1)[0])
    book.add(1, k1, 0, int(book.class_seats[c.account_class[1]][0]), "frequency")
    assert repair_obligations(c, book) == 0
    assert [t for _k, t, _s, _r in book.case_attempts[1]] == [0]
    assert 0 not in book.case_attempts


def test_flow_sends_obligations_to_cheap_slots(tmp_path):
    """With slot prices the flow puts an obligation where value less price is highest: case
    2 (slots 1-3, the same likelihood in each) lands in the one slot left unpriced, whichever
    it is; the count of obligations met is the same."""
    c = crafted(tmp_path)
    cls = int(c.account_class[2])
    for cheap in (2, 3):
        mu = np.zeros((c.class_groups.shape[0], c.grid.n))
        mu[cls, [t for t in (1, 2, 3) if t != cheap]] = 50.0  # above the case's value x q (2)
        book = Book(c)
        flow_obligations(c, book, mu=mu)
        assert obligations_met(c, book) == 3
        assert [t for _k, t, _s, _r in book.case_attempts[2]] == [cheap]


def test_value_swaps_move_an_obligation_for_a_richer_case(tmp_path):
    """One seat, one attempt a slot, every slot full: the rich case 1 (slot 0) can have a
    second attempt only in slot 1, where case 2 meets its obligation; case 2 may also use
    slots 2-3, held by case 0's value attempts. The swaps move case 2 to slot 2 or 3 (bumping
    a value attempt of case 0) and give case 1 slot 1: more value, the same obligations."""
    c = crafted(tmp_path)
    c.due[:] = [0, 1, 1]
    c.contact_max[:] = 4
    c.account_max[:] = 4
    c.gap_slots[:] = 1
    c.roll_max[:] = 4
    slots = {0: [2, 3], 1: [0, 1], 2: [1, 2, 3]}
    for k in range(len(c.contact_account)):
        a = int(c.contact_account[k])
        c.legal[k] = False
        c.legal[k, slots[a]] = True
        c.q[k] = np.where(c.legal[k], c.q[k].max(), 0.0)
    book = Book(c)
    first = {a: int(np.flatnonzero(c.contact_account == a)[0]) for a in range(3)}
    seat = int(book.class_seats[c.account_class[1]][0])
    for a, t, why in ((1, 0, "frequency"), (2, 1, "frequency"), (0, 2, "value"), (0, 3, "value")):
        assert book.can_add(a, first[a], t) and book.seat_rem[seat, t] > 0
        book.add(a, first[a], t, seat, why)
    assert not book.seat_rem.any()

    def value(b):
        arr = b.attempts()
        return expected_recovery(c, arr["account"], arr["cand"], arr["slot"])

    met, before = obligations_met(c, book), value(book)
    assert value_swaps(c, book) >= 1
    assert sorted(t for _k, t, _s, _r in book.case_attempts[1]) == [0, 1]
    assert [t for _k, t, _s, _r in book.case_attempts[2]][0] in (2, 3)
    assert obligations_met(c, book) == met
    assert value(book) > before


def _post_then_return(x, post, inbox):
    import time

    post(x + 1)
    waited = time.monotonic() + 60
    while inbox() is None and time.monotonic() < waited:
        time.sleep(0.01)
    return x + 2, inbox()


def _return_only(x, post, inbox):
    return x + 2


def test_beside_passes_partial_results_both_ways():
    """The child posts a value on the way, the caller takes it and tells the child a value
    back, which the child finds in its inbox before it returns."""
    from dialplan.solve.beside import Beside

    job = Beside(_post_then_return, 40, partial=True)
    assert job.partial() == 41
    job.tell(7)
    assert job.result() == (42, 7)
    # a function that posts nothing: no partial result, the result all the same
    job = Beside(_return_only, 40, partial=True)
    assert job.partial() is None
    assert job.result() == 42


def test_large_book_priced_plan_on_the_example(tmp_path, monkeypatch, caplog):
    """The unsharded path of large books on the example (thresholds lowered): the sample's
    prices guide a plan of their own (the priced plan) while the second process finishes the
    bound; the published plan verifies, meets at least the hopper's obligations and recovers
    more than the hopper's plan."""
    import datetime as dt
    import logging
    from pathlib import Path

    import dialplan.solve.cpsat as cpsat
    import dialplan.solve.shards as shards
    from dialplan.pipeline import run_plan

    example = Path(__file__).resolve().parents[1] / "examples" / "portfolio"
    day = dt.date(2026, 11, 30)
    monkeypatch.setattr(cpsat, "LARGE_BOOK", 500)
    monkeypatch.setattr(shards, "SHARD_CASES", 10**9)
    with caplog.at_level(logging.INFO, logger="dialplan"):
        res = run_plan(example, day, tmp_path / "plan", solver="cpsat", time_limit=40)
    assert any("priced plan:" in r.getMessage() for r in caplog.records)
    assert sum(res.verify_report.counts.values()) == 0
    hop = run_plan(example, day, tmp_path / "hopper", solver="hopper", time_limit=40)
    s, h = res.summary, hop.summary
    assert s["upper_bound"] >= s["expected_recovery"] > h["expected_recovery"]
    assert s["obligations"]["met"] >= h["obligations"]["met"]


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_raised_master_keeps_valid_bounds(tmp_path, seed):
    """Raising the master's obligation count shifts the best bound by exactly its obligation
    price per obligation, and every bound kept (each for its own count) still bounds the
    brute-force optimum once moved back to a count of zero at its own prices."""
    from dialplan.solve.colgen import ColumnGeneration

    c = tiny_book(tmp_path, seed, n_accounts=5)
    optimum = brute_force(c)
    model = PricedModel(c)
    plan = greedy(c)
    met = obligations_met(c, plan)
    cg = ColumnGeneration(model, met, plan.attempts())
    cg.start()
    cg.run(30, tolerance=0.0)
    cg.finish()
    assert cg.best[0] + cg.best[2] * met >= optimum - 1e-9
    # any prices are valid: a positive obligation price (with its own bound) makes the shift show
    nu = max(cg.best[2], 1.0)
    cg.best[:] = [model.evaluate(cg.best[1], nu, met)[0], cg.best[1], nu]
    before = cg.best[0]
    cg.raise_met(met + 2)
    assert cg.met == met + 2 and cg.best[0] == pytest.approx(before - 2 * nu, rel=1e-12, abs=1e-9)
    cg.run(10, tolerance=0.0)
    cg.finish()
    assert len(cg.history) == 2 and cg.history[-1][3] == met + 2
    for b, _lam, nu_h, m in cg.history:
        assert b + nu_h * m >= optimum - 1e-6


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


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_sample_prices_give_a_valid_bound(tmp_path, seed):
    """A large book's path on a tiny one: prices from a sample of two of the five cases, the
    whole book evaluated chunk by chunk (two cases a chunk). The bound is never below the
    brute-force optimum and equals one evaluation of the whole book at its prices; the
    obligation term moves the chunked evaluation exactly with the obligation count."""
    from dialplan.solve.bound import ChunkedModel
    from dialplan.solve.colgen import price_by_sample, sample_cases

    c = tiny_book(tmp_path, seed, n_accounts=5)
    optimum = brute_force(c)
    mask, frac = sample_cases(c, 2)
    assert 1 <= mask.sum() <= 3 and 0 < frac < 1
    plan = greedy(c)
    arr = plan.attempts()
    met = 0  # the bound for every plan (the brute force ignores obligations)
    bound, lam, nu, _evals, _met = price_by_sample(c, met, arr, n_sample=2)
    assert bound >= optimum - 1e-9 >= expected_recovery(c, arr["account"], arr["cand"], arr["slot"]) - 1e-9
    # the search's last evaluation has more tangent points: never above the plain one
    whole = PricedModel(c).evaluate(lam, nu, met)[0]
    fine = PricedModel(c).evaluate(lam, nu, met, fine=True)[0]
    assert fine <= whole + 1e-9
    assert bound == pytest.approx(fine, rel=1e-9)
    chunked = ChunkedModel(c, chunk_cases=2)
    assert len(chunked.parts) >= 2
    assert chunked.evaluate(lam, nu, met) == pytest.approx(whole, rel=1e-9)
    assert chunked.evaluate(lam, nu, met, fine=True) == pytest.approx(fine, rel=1e-9)
    assert chunked.evaluate(lam, nu, met + 3) == pytest.approx(whole - 3 * nu, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_prices_fitted_on_a_sample_still_bound_the_whole_book(tmp_path, seed, monkeypatch):
    """A book larger than FIT_CASES (lowered to 3 of 5 cases) fits its prices on a sample of
    it: the bound reported is still the whole book's at those prices, with its best
    obligation price, never below the brute-force optimum, and it moves to another
    obligation count exactly."""
    import dialplan.solve.colgen as colgen
    from dialplan.solve.bound import ChunkedModel, best_nu

    c = tiny_book(tmp_path, seed, n_accounts=5)
    c.due[:] = 1
    c.done_today[:] = 0
    optimum = brute_force(c)
    arr = greedy(c).attempts()
    monkeypatch.setattr(colgen, "FIT_CASES", 3)
    built = []  # the cases each model is built over: the fit's sample, then the whole book
    real_init = ChunkedModel.__init__

    def spy(self, c_, *args, **kwargs):
        real_init(self, c_, *args, **kwargs)
        built.append(self.n_cases)

    monkeypatch.setattr(ChunkedModel, "__init__", spy)
    met = 1
    bound, lam, nu, _evals, m_b, (kept, nu_max) = colgen.price_by_sample(c, met, arr, n_sample=2, split_out=True)
    monkeypatch.setattr(ChunkedModel, "__init__", real_init)
    assert built[-2:] == [3, 5]
    assert m_b == met and len(kept) == 1
    whole = ChunkedModel(c)
    assert whole.n_cases == 5
    assert bound == pytest.approx(whole.evaluate(lam, nu, met, fine=True), rel=1e-9)
    assert whole.evaluate_best_nu(lam, met, nu_max, fine=True)[:2] == pytest.approx((bound, nu), rel=1e-9)
    # met = 1 lets the best plan meet any number of obligations: at least the optimum's value
    assert bound >= optimum - 1e-9
    split, lam_k = kept[0]
    assert np.array_equal(lam_k, lam)
    moved, nu2 = best_nu(*split, 2, nu_max)
    assert moved == pytest.approx(whole.evaluate(lam, nu2, 2, fine=True), rel=1e-9)


def test_large_book_path_on_the_example(tmp_path, monkeypatch):
    """The path of large books (seat prices from a sample in a second process, the book in
    shards two at a time) on the shipped example with the thresholds lowered: shards hold
    disjoint seats, each case's shard has seats it may use, every attempt sits on a seat of
    its case's shard, and the verifier finds no violation in the published plan."""
    import datetime as dt
    from pathlib import Path

    import dialplan.solve.cpsat as cpsat
    import dialplan.solve.shards as shards
    from dialplan.candidates import build_candidates
    from dialplan.io.portfolio import read_portfolio
    from dialplan.pipeline import run_plan

    example = Path(__file__).resolve().parents[1] / "examples" / "portfolio"
    day = dt.date(2026, 11, 30)
    c = build_candidates(read_portfolio(example), day)
    seat_shard, case_shard = shards.make_shards(c, 3)
    in_group = c.groups.seat_group >= 0
    assert set(np.unique(seat_shard[in_group])) == {0, 1, 2} and (seat_shard[~in_group] == -1).all()
    ok = Book(c).seat_ok_for_class
    live = np.unique(c.contact_account[c.legal.any(axis=1)])
    has_seat = ok[c.account_class[live]].any(axis=1)
    assert all(ok[c.account_class[a]][seat_shard == case_shard[a]].any() for a in live[has_seat])

    monkeypatch.setattr(cpsat, "LARGE_BOOK", 500)
    monkeypatch.setattr(shards, "SHARD_CASES", 600)
    assert shards.n_shards(len(live)) >= 2
    n = shards.n_shards(len(live))
    seat_shard, case_shard = shards.make_shards(c, n)
    book = shards.merged(c, shards.shard_plans(c, seat_shard, case_shard, list(range(n))))
    arr = book.attempts()
    assert len(arr) and (seat_shard[arr["seat"]] == case_shard[arr["account"]]).all()
    res = run_plan(example, day, tmp_path / "plan", solver="cpsat", time_limit=30)
    assert sum(res.verify_report.counts.values()) == 0
    s = res.summary
    assert s["upper_bound"] >= s["expected_recovery"] > 0


def test_pruned_flow_slots_are_each_blocks_best_and_the_top_ones():
    """A large book's obligation flow offers each case its best slot of every block and its
    FLOW_TOP best slots, ties (whole hours tie) broken by the slot's place in its block
    rotated by the case: checked against a plain sort per case, with a grid that does not
    end on a block's edge."""
    from dialplan.solve.heuristics import FLOW_BLOCK, FLOW_TOP, _pruned_slots

    rng = np.random.default_rng(5)
    n_c, n_s = 60, 30
    best_q = np.repeat(rng.choice([0.0, 0.1, 0.2, 0.3], size=(n_c, 8)), FLOW_BLOCK, axis=1)[:, :n_s]
    noisy = rng.random((n_c, n_s)) < 0.3
    best_q = np.where(noisy, rng.random((n_c, n_s)) * 0.3, best_q)
    value = rng.choice([1.0, 2.0, 5.0], size=n_c)
    keep = _pruned_slots(best_q, value)
    for i in range(n_c):
        def key(t, i=i):
            return (-best_q[i, t] * value[i], (t + i) % FLOW_BLOCK, t)
        slots = [t for t in range(n_s) if best_q[i, t] > 0]
        want = set(sorted(slots, key=key)[:FLOW_TOP])
        for b0 in range(0, n_s, FLOW_BLOCK):
            block = [t for t in slots if b0 <= t < b0 + FLOW_BLOCK]
            if block:
                want.add(min(block, key=key))
        assert set(np.flatnonzero(keep[i]).tolist()) == want


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_best_obligation_price_is_the_least_bound(tmp_path, seed):
    """At fixed seat prices the bound is convex in the obligation price, and ``best_nu``
    finds its least value from one evaluation: it equals the plain evaluation at the price
    found, no price on a grid gives less, and the same evaluation moves exactly to another
    obligation count."""
    from dialplan.solve.bound import ChunkedModel, best_nu

    c = tiny_book(tmp_path, seed, n_accounts=6)
    rng = np.random.default_rng(seed)
    c.due[:] = rng.integers(1, 3, size=len(c.due))
    c.done_today[:] = 0
    model = ChunkedModel(c, chunk_cases=2)
    lam = rng.uniform(0.0, 400.0, size=model.cap.shape)
    nu_max = 1e5
    bound, nu, split = model.evaluate_best_nu(lam, 2, nu_max)
    for met in (1, 2, 3):
        b, n = best_nu(*split, met, nu_max)
        if met == 2:
            assert (b, n) == (bound, nu)
        assert b == pytest.approx(model.evaluate(lam, n, met), rel=1e-9)
        grid = np.concatenate([np.linspace(0.0, 3 * max(n, 100.0), 61), [n * 0.999, n * 1.001]])
        assert min(model.evaluate(lam, x, met) for x in grid) >= b - 1e-6


SMALL_SETS_POLICY = """
name = "test-small-sets"
timezone = "Asia/Shanghai"
country = "CN"
[caps.debtor]
per_day = 3
rolling = { minutes = 30, max = 2 }
[caps.third_party]
per_day = 1
[caps.account]
per_day = 3
"""


def case_lagrangian(c, model, lam, nu) -> np.ndarray:
    """Each case's best priced choice by enumerating every set of its legal attempts that the
    rules between a case's own attempts allow (day caps, gaps, rolling caps, one attempt at a
    time, the account's cap): value less the seats' prices, plus ``nu`` when it meets the
    case's frequency obligation and ``nu`` when it makes the case's callback."""
    price = model.class_prices(lam)
    callback = {int(a): (int(k), int(t)) for a, k, t in zip(c.callbacks["acc"], c.callbacks["cand"], c.callbacks["slot"])}
    best = np.zeros(len(model.cases))
    for i, a in enumerate(model.cases):
        ks = np.flatnonzero((c.contact_account == a) & c.legal.any(axis=1))
        items = [(int(k), int(t)) for k in ks for t in np.flatnonzero(c.legal[k])]
        for n in range(1, int(c.account_max[a]) + 1):
            for sub in itertools.combinations(items, n):
                slots = [t for _k, t in sub]
                if len(set(slots)) < n:
                    continue  # one attempt of a case at a time
                ok = True
                for k in ks:
                    ts = sorted(t for kk, t in sub if kk == k)
                    ok &= len(ts) <= c.contact_max[k]
                    ok &= all(y - x >= c.gap_slots[k] for x, y in zip(ts, ts[1:]))
                    ok &= all(sum(1 for y in ts if x <= y < x + c.roll_window[k]) <= c.roll_max[k] for x in ts)
                if not ok:
                    continue
                p = sum(price[c.account_class[a], t] for t in slots)
                if not np.isfinite(p):
                    continue
                value = c.value[a] * (1 - np.prod([1 - c.q[k, t] for k, t in sub]))
                meets = model.need[i] > 0 and n >= model.need[i]
                made = callback.get(int(a)) in sub
                best[i] = max(best[i], value - p + nu * (int(meets) + int(made)))
    return best


@pytest.mark.parametrize("seed", [31, 32, 33, 34])
def test_bound_is_exact_for_cases_of_three_attempts(tmp_path, seed):
    """With at most three attempts a case and few legal items (every pair and triple is
    enumerated), each case's relaxed choice is its exact best choice at the prices: the bound
    is the seats' term plus each case's relaxed best, which equals the brute-force best of the
    case (rules between its own attempts checked, a callback credited only when made; a
    callback case's rest of the day does not see the callback's rolling window, so there only
    above it); with more items per case every case stays above it. The split by obligation
    credit that fits the obligation price (large books) is never below either."""
    from dialplan.solve.bound import best_nu

    rng = np.random.default_rng(seed)
    accounts, contacts = [], []
    for i in range(6):
        accounts.append({"account_id": f"A{i}", "balance": int(rng.integers(1000, 9000)),
                         "status": "contactable",
                         "pay_propensity": round(float(rng.uniform(0.3, 0.9)), 2)})
        for j in range(int(rng.integers(1, 3))):
            contacts.append({"contact_id": f"C{i}{j}", "account_id": f"A{i}", "phone": CN_PHONES[8 * i + j],
                             "role": "debtor", "phone_type": ["mobile", "work"][j],
                             "rpc_rate": round(float(rng.uniform(0.2, 0.7)), 3)})
    no_rolling = SMALL_SETS_POLICY.replace("rolling = { minutes = 30, max = 2 }", "")
    for shift_end, policy, exact in (("10:00", SMALL_SETS_POLICY, True), ("10:00", no_rolling, True),
                                     ("11:00", SMALL_SETS_POLICY, False)):
        seats = [{"seat_id": "S1", "shift_start": "09:00", "shift_end": shift_end, "attempts_per_hour": 8}]
        callbacks = [{"account_id": "A1", "contact_id": "C10", "at": "2026-11-30T09:20:00+08:00", "seat_id": ""},
                     {"account_id": "A3", "contact_id": "C30", "at": "2026-11-30T09:35:00+08:00", "seat_id": ""}]
        root = write_portfolio(tmp_path / f"b{seed}{len(policy)}{exact}", accounts, contacts, seats,
                               callbacks=callbacks, policy=policy)
        c = build_candidates(read_portfolio(root), D)
        c.due[:] = np.arange(len(c.due)) % 4  # obligations of one to three attempts
        c.done_today[:] = 0
        model = PricedModel(c)
        assert model.R == 3 and set(model.need) == {0, 1, 2, 3}
        assert len(model.cb_case) == 2 and model.free_credits == 0  # both callbacks credited only when made
        for _ in range(3):
            lam = rng.uniform(0, 0.3 * c.value.max(), size=model.cap.shape)
            nu = float(rng.uniform(0, 0.2 * c.value.max()))
            best = case_lagrangian(c, model, lam, nu)
            const = float(np.sum(lam * model.cap)) - nu * 2
            bound = model.evaluate(lam, nu, 2)[0]
            assert bound == pytest.approx(const + model.last_case_best.sum(), rel=1e-9)
            assert np.all(model.last_case_best >= best - 1e-9)
            if exact:
                tight = np.ones(len(best), bool) if policy == no_rolling else ~np.isin(np.arange(len(best)), model.cb_case)
                assert model.last_case_best[tight] == pytest.approx(best[tight], rel=1e-6, abs=1e-6 * c.value.max())
            split = model.evaluate(lam, 0.0, 0, split_nu=2 * nu)
            assert split[0] + nu * (0 - 2) + np.maximum(split[1], split[2] + nu).sum() >= bound - 1e-6
            fitted, nu_fit = best_nu(*split, 0.0, 2, 2 * nu)
            assert fitted >= float(np.sum(lam * model.cap)) - nu_fit * 2 + case_lagrangian(c, model, lam, nu_fit).sum() - 1e-6
