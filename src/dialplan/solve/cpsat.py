"""The plan of record: CP-SAT over blocks of cases, seeded with the greedy plan.

Model of one block (docs/solver.md):

- ``x[k, t, g]``: an attempt on contact k in slot t by seat group g (only legal slots that
  survive pruning by priced value, plus every slot the seed plan uses);
- ``y[a, g]``: case a is served by group g (continuity: at most one group per case);
- per contact: day cap, gap windows, rolling-cap windows; per case: one attempt per slot and
  the account cap; per (group, slot): the block's share of capacity;
- obligations: ``m`` for each callback (its attempt) and each frequency obligation (enough
  attempts), weighted above all value so no obligation is traded for value;
- value: with ``L_a = sum(-log(1 - q))`` the case's value is exactly ``V (1 - exp(-L_a))``;
  ``v_a`` is held below tangents of that concave curve (an over-estimate whose error is
  checked), and the plan's reported value is always recomputed exactly.

Blocks share capacity by allocation: each block gets what its cases use in the seed plan plus
a share of the spare, so block plans combine into a feasible day.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from ortools.sat.python import cp_model

from ..candidates import Candidates
from .book import Book
from .bound import LARGE_BOOK, PricedModel, callable_cases
from .heuristics import greedy, obligation_need
from .shards import n_shards

ELL_SCALE = 1_000
log = logging.getLogger("dialplan")


def _tangent_points(lo: float, hi: float) -> np.ndarray:
    pts = [lo]
    while pts[-1] < hi:
        pts.append(pts[-1] * 1.12 + 1e-4)
    return np.array(pts)


class BlockModel:
    """CP-SAT model of one block of cases."""

    def __init__(self, c: Candidates, cases: np.ndarray, capacity: np.ndarray, mu: np.ndarray, seed_book: Book,
                 keep_slots: int = 8, keep_groups: int = 2):
        self.c = c
        self.m = cp_model.CpModel()
        self.cases = cases
        m = self.m
        n_s = c.grid.n
        seat_group = c.groups.seat_group
        need = obligation_need(c)
        in_block = np.zeros(c.n_accounts, dtype=bool)
        in_block[cases] = True
        ks = np.flatnonzero(in_block[c.contact_account] & c.legal.any(axis=1))
        hint = {}
        for a in cases:
            for k, t, seat, _r in seed_book.case_attempts.get(int(a), []):
                hint[(k, t)] = int(seat_group[seat])
        cb_slots = {}
        cb_group = {}
        cb_k, cb_t, cb_req = (c.callbacks[x].to_numpy(dtype=np.int64) for x in ("cand", "slot", "seat_req"))
        mine = (cb_k >= 0) & (cb_t >= 0)
        mine[mine] = in_block[c.contact_account[cb_k[mine]]]  # (the block's callbacks only)
        for k, t, req in zip(cb_k[mine].tolist(), cb_t[mine].tolist(), cb_req[mine].tolist()):
            cb_slots.setdefault(k, set()).add(t)
            if req >= 0:
                cb_group[(k, t)] = int(seat_group[req])
        self.x: dict = {}
        by_case: dict = {}
        by_contact: dict = {}
        cap_terms: dict = {}
        usable = c.groups.capacity > 0
        hint_groups: dict = {}
        for (k, t), g in hint.items():
            hint_groups.setdefault(int(c.contact_account[k]), set()).add(g)
        case_groups: dict = {}
        for k in ks:
            a = int(c.contact_account[k])
            if a not in case_groups:
                # the seed plan's group plus the groups with most room in the case's best slots
                eligible = np.flatnonzero(c.class_groups[c.account_class[a]])
                room = capacity[eligible][:, c.legal[ks[c.contact_account[ks] == a]].any(axis=0)].sum(axis=1)
                best = eligible[np.argsort(-room, kind="stable")[:keep_groups]]
                case_groups[a] = sorted(set(best.tolist()) | hint_groups.get(a, set()))
            groups = case_groups[a]
            slots = np.flatnonzero(c.legal[k])
            score = c.value[a] * c.q[k, slots] - mu[c.account_class[a], slots]
            keep = set(slots[np.argsort(-score, kind="stable")[:keep_slots]].tolist())
            keep |= {t for (kk, t) in hint if kk == k}
            keep |= cb_slots.get(int(k), set())
            for t in sorted(keep):
                for g in groups:
                    if not usable[g, t] or capacity[g, t] <= 0:
                        continue
                    v = m.NewBoolVar("")
                    self.x[(int(k), t, int(g))] = v
                    by_case.setdefault(a, []).append((int(k), t, int(g), v))
                    by_contact.setdefault(int(k), []).append((t, v))
                    cap_terms.setdefault((int(g), t), []).append(v)
        for (g, t), vs in cap_terms.items():
            if len(vs) > capacity[g, t]:
                m.Add(sum(vs) <= int(capacity[g, t]))
        for k, items in by_contact.items():
            slots = np.array([t for t, _ in items])
            cap = int(min(c.contact_max[k], len(items)))
            if cap < len(items):
                m.Add(sum(v for _, v in items) <= cap)
            for width, limit in ((int(c.gap_slots[k]), 1), (int(c.roll_window[k]), int(min(c.roll_max[k], 10**6)))):
                if width <= 1 and limit >= 1:
                    continue
                for lo in np.unique(slots):
                    inside = [v for t, v in items if lo <= t < lo + width]
                    if len(inside) > limit:
                        m.Add(sum(inside) <= limit)
        total_v = max(float(c.value[cases].sum()), 1e-9)
        self.unit = total_v / 1e6  # value units: the whole block is worth 1e6
        self.v: dict = {}
        self.ob_terms = []
        self.y: dict = {}
        ell = -np.log1p(-np.minimum(c.q, 1 - 1e-12))
        for a, items in by_case.items():
            per_slot: dict = {}
            for k, t, g, v in items:
                per_slot.setdefault(t, []).append(v)
            for t, vs in per_slot.items():
                if len(vs) > 1:
                    m.AddAtMostOne(vs)
            amax = int(min(c.account_max[a], n_s))
            if amax < len(per_slot):
                m.Add(sum(v for *_r, v in items) <= amax)
            groups = sorted({g for _k, _t, g, _v in items})
            if c.continuity[a] and len(groups) > 1:
                ys = {g: m.NewBoolVar("") for g in groups}
                m.AddAtMostOne(ys.values())
                for k, t, g, v in items:
                    m.AddImplication(v, ys[g])
                self.y[a] = ys
            on = [1 if hint.get((k, t)) == g else 0 for k, t, g, _v in items]
            # obligations (before value: a case worth nothing may still be owed a call)
            owed = int(need[a])
            if owed > 0:
                met = m.NewBoolVar("")
                m.Add(sum(v for *_r, v in items) >= owed).OnlyEnforceIf(met)
                self.ob_terms.append(met)
                m.AddHint(met, 1 if sum(on) >= owed else 0)
            # value of the case
            V = c.value[a] / self.unit
            if V <= 0:
                continue
            ells = np.array([ell[k, t] for k, t, _g, _v in items])
            lint = [int(math.ceil(e * ELL_SCALE)) for e in ells]
            top = float(np.sort(ells)[::-1][: max(1, min(amax, len(ells)))].sum())
            # L_a = sum of ceil(ELL_SCALE * -log(1 - q)) over the attempts (rounded up: the
            # tangents below then over-estimate, never under-estimate, the case's value)
            L = m.NewIntVar(0, int(sum(lint)), "")
            m.Add(L == sum(li * v for li, (_k, _t, _g, v) in zip(lint, items)))
            va = m.NewIntVar(0, int(math.ceil(V)), "")
            l_hint = sum(li * o for li, o in zip(lint, on))
            v_hint = int(math.ceil(V))
            for l0 in _tangent_points(max(float(ells.min()) / 2, 1e-4), max(top, 1e-3)):
                c0 = 1 - math.exp(-l0) * (1 + l0)
                c1 = math.exp(-l0)
                # ELL_SCALE * v <= ELL_SCALE * V * (c0 + c1 * L / ELL_SCALE)
                const = int(math.ceil(ELL_SCALE * V * c0))
                slope = int(math.ceil(V * c1))
                m.Add(ELL_SCALE * va <= const + slope * L)
                v_hint = min(v_hint, (const + slope * l_hint) // ELL_SCALE)
            m.AddHint(L, l_hint)
            m.AddHint(va, max(v_hint, 0))
            self.v[a] = va
        at_slot: dict = {}
        for (k, t, g), var in self.x.items():
            if cb_group.get((k, t), g) == g:
                at_slot.setdefault((k, t), []).append(var)
        for k, slots_ in cb_slots.items():
            for t in slots_:
                vs = at_slot.get((k, t), [])
                if vs:
                    met = m.NewBoolVar("")
                    m.Add(sum(vs) >= 1).OnlyEnforceIf(met)
                    self.ob_terms.append(met)
                    m.AddHint(met, 1 if (k, t) in hint else 0)
        weight = int(sum(math.ceil(c.value[a] / self.unit) for a in self.v) + 1)
        m.Maximize(weight * sum(self.ob_terms) + sum(self.v.values()))
        # hint: the seed plan
        for (k, t, g), var in self.x.items():
            m.AddHint(var, 1 if hint.get((k, t)) == g else 0)
        for a, ys in self.y.items():
            used = {hint[(k, t)] for k, t, *_ in by_case[a] if (k, t) in hint}
            for g, var in ys.items():
                m.AddHint(var, 1 if g in used else 0)

    def solve(self, time_limit: float, seed: int, workers: int = 1, wall: float | None = None):
        """Solve within ``time_limit`` deterministic seconds (CP-SAT's work units, so the same
        input gives the same plan on any machine load); wall time is capped at ``wall`` seconds
        (default three times ``time_limit``) as a safety net."""
        solver = cp_model.CpSolver()
        solver.parameters.max_deterministic_time = max(time_limit, 0.1)
        solver.parameters.max_time_in_seconds = max(3 * time_limit, 1.0) if wall is None else max(wall, 0.5)
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed
        status = solver.Solve(self.m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, solver.StatusName(status)
        chosen = [(key, solver.Value(v)) for key, v in self.x.items()]
        return [key for key, val in chosen if val], solver.StatusName(status)


def _split_to_seats(c: Candidates, book: Book, attempts_by_case: dict, order: list) -> list:
    """Give each case's group attempts to one seat of the group (continuity); return the cases
    that did not fit. A case owed a callback by a named seat goes to that seat first."""
    failed = []
    members = c.groups.members
    prefer = {}
    for a_, req in zip(c.callbacks["acc"], c.callbacks["seat_req"]) if len(c.callbacks) else ():
        if req >= 0:
            prefer[int(a_)] = int(req)
    order = sorted(order, key=lambda a: (a not in prefer,))
    for a in order:
        atts = attempts_by_case[a]
        groups = {g for _k, _t, g in atts}
        placed = False
        if c.continuity[a] and len(groups) == 1:
            g = groups.pop()
            cand_seats = sorted(members[g], key=lambda s: (s != prefer.get(a), -book.seat_day[s]))
            for s in cand_seats:
                if all(book.seat_rem[s, t] > 0 for _k, t, _g in atts) and all(book.can_add(a, k, t) for k, t, _g in atts):
                    ok = True
                    for k, t, _g in sorted(atts, key=lambda x: x[1]):
                        if not book.can_add(a, k, t):
                            ok = False
                            break
                        book.add(a, k, t, s, "value")
                    if ok:
                        placed = True
                        break
                    book.remove_case(a)
        else:
            ok = True
            for k, t, g in sorted(atts, key=lambda x: x[1]):
                seats = [s for s in members[g] if book.seat_rem[s, t] > 0]
                if not seats or not book.can_add(a, k, t):
                    ok = False
                    break
                book.add(a, k, t, max(seats, key=lambda s: book.seat_day[s]), "value")
            placed = ok
            if not ok:
                book.remove_case(a)
        if not placed:
            failed.append(a)
    return failed


def _case_value(c: Candidates, book: Book, cases) -> float:
    total = 0.0
    for a in cases:
        atts = book.case_attempts.get(int(a))
        if atts:
            total += c.value[a] * (1.0 - float(np.prod([1.0 - c.q[k, t] for k, t, _s, _r in atts])))
    return total


def _case_obligations(c: Candidates, book: Book, cases, need: np.ndarray, callbacks: dict) -> int:
    met = 0
    for a in cases:
        atts = book.case_attempts.get(int(a), [])
        if need[a] > 0 and len(atts) >= need[a]:
            met += 1
        for k, t, req in callbacks.get(int(a), ()):
            met += any(kk == k and tt == t and (req < 0 or s_ == req) for kk, tt, s_, _r in atts)
    return met


def lns(c: Candidates, book: Book, mu: np.ndarray, seconds: float, deadline: float, seed: int = 0, block_size: int = 150, progress=None) -> list:
    """Improve ``book`` in place, block by block: free a block's attempts, let CP-SAT
    re-plan the block in the capacity that frees, and keep the result only if it meets no
    fewer obligations and recovers more."""
    live = np.unique(c.contact_account[c.legal.any(axis=1)])
    statuses = []
    if len(live) == 0:
        return statuses
    need = obligation_need(c)
    callbacks: dict = {}
    for i in range(len(c.callbacks)):
        a, k, t, req = (int(c.callbacks[x].iat[i]) for x in ("acc", "cand", "slot", "seat_req"))
        if a >= 0 and k >= 0 and t >= 0:
            callbacks.setdefault(a, []).append((k, t, req))
    rng = np.random.default_rng(seed)
    # neighbourhoods: cases that compete for the same seats (same eligibility class), mixed
    # across values so a block can trade capacity between rich and poor cases
    order = live[np.lexsort((rng.random(len(live)), c.account_class[live]))]
    blocks = [order[i : i + block_size] for i in range(0, len(order), block_size)]
    # at most one block per second of the budget (a block's model is built in Python and its
    # deterministic search time runs slower than the wall clock): a random sample of blocks
    blocks = blocks[: max(1, int(seconds))]
    budget = max(seconds / max(len(blocks), 1), 0.2)
    for b, cases in enumerate(blocks):
        if time.perf_counter() > deadline + budget:
            break  # safety net only: the block budgets are deterministic
        before_value = _case_value(c, book, cases)
        before_ob = _case_obligations(c, book, cases, need, callbacks)
        old = {int(a): book.remove_case(int(a)) for a in cases}
        hint_book = Book(c, seat_rem=book.seat_rem)
        for a, atts in old.items():
            for k, t, s_, r in atts:
                hint_book.add(a, k, t, s_, r)
        capacity = np.zeros(c.groups.capacity.shape, dtype=np.int64)
        for g, members in enumerate(c.groups.members):
            capacity[g] = book.seat_rem[members].sum(axis=0)
        model = BlockModel(c, cases, capacity, mu, hint_book)
        # the wall clock caps a block only at the run's own deadline: a block's deterministic
        # budget can take several times as long in wall time on a loaded machine, and a
        # tighter wall cap would make the plan depend on the load
        result, status = model.solve(budget, seed, wall=deadline - time.perf_counter())
        statuses.append(status)
        by_case: dict = {}
        for k, t, g in result or []:
            by_case.setdefault(int(c.contact_account[k]), []).append((k, t, g))
        failed = _split_to_seats(c, book, by_case, sorted(by_case, key=lambda a: -len(by_case[a])))
        after_value = _case_value(c, book, cases)
        after_ob = _case_obligations(c, book, cases, need, callbacks)
        if result is None or failed or after_ob < before_ob or (after_ob == before_ob and after_value <= before_value + 1e-9):
            for a in cases:
                book.remove_case(int(a))
            for a, atts in old.items():
                for k, t, s_, r in atts:
                    book.add(a, k, t, s_, r)
        if progress:
            progress(f"CP-SAT block {b + 1}/{len(blocks)} ({status.lower()})")
    return statuses


def improve(c: Candidates, time_limit: float = 60.0, seed: int = 0, progress=None, wall_limit: float | None = None):
    """Seed plans, capacity prices and the bound by column generation, an LP-guided plan,
    then CP-SAT over blocks of cases (books over LARGE_BOOK cases: ``_improve_large``).
    Returns (book, status, found): ``found`` lists (bound, lam, nu, met), each the bound at
    prices ``(lam, nu)`` for plans meeting at least ``met`` obligations."""
    from ..plan import expected_recovery
    from .colgen import ColumnGeneration
    from .heuristics import flow_obligations, hopper, obligations_met, place_callbacks, repair_obligations, value_swaps

    started = time.perf_counter()
    wall = time_limit if wall_limit is None else wall_limit

    values: dict = {}

    def value_of(book: Book) -> tuple[int, float]:
        """(obligations met, expected recovery), computed once per state of the book."""
        key = (id(book), book.version)
        if key not in values:
            arr = book.attempts()
            values[key] = (obligations_met(c, book), expected_recovery(c, arr["account"], arr["cand"], arr["slot"]))
        return values[key]

    def note(text: str) -> None:
        log.info("%.1f s: %s", time.perf_counter() - started, text)
        if progress:
            progress(text)

    skipped: list[str] = []

    def left(phase: str) -> bool:
        """Whether there is wall-clock budget left for ``phase``. The phases end by their own
        deterministic rules, so the same input gives the same plan; this is only the safety
        net for a book too large for its budget or an overloaded machine, and it says so."""
        if time.perf_counter() < started + wall:
            return True
        skipped.append(phase)
        log.warning("time limit reached: skipping %s (the plan so far stands)", phase)
        return False

    # books of more than LARGE_BOOK cases take their own path (a rule on size, not on the
    # clock): a pruned obligation flow, or shards, and seat prices from a sample
    n_cases = callable_cases(c)
    large = n_cases > LARGE_BOOK
    if large:
        if n_shards(n_cases) > 1:
            # a very large book: shards planned two at a time, at a sample's seat prices
            note(f"planning {n_shards(n_cases)} shards of the book")
        return _improve_large(c, started, wall, time_limit, seed, value_of, note, left, skipped, progress,
                              n_shards(n_cases))
    flowed = Book(c)
    place_callbacks(c, flowed)
    flow_obligations(c, flowed)
    candidates = [greedy(c, flowed)]
    # the dialer's own plan is a seed too (cheap): the plan of record never meets fewer
    # obligations than the hopper baseline
    candidates.append(hopper(c))
    if left("the plain greedy seed"):
        candidates.append(greedy(c))
    seed_book = max(candidates, key=value_of)
    # the seed meeting most obligations gets more by bumping attempts that only add value
    # (each owing case tries every seat it may use: 16 left the cn 10k book about ten short of
    # what the rules and the seats allow)
    if left("the obligation repair"):
        repair_obligations(c, seed_book, max_seats=None, deadline=started + wall)
    seed_met, seed_value = value_of(seed_book)
    note(f"seed plan: {seed_met:,} obligations, {seed_value:,.0f} expected; bound by column generation")
    model = PricedModel(c)
    cg = ColumnGeneration(model, seed_met, seed_book.attempts())
    # deadlines are safety nets; the rounds and the tolerance end column generation sooner
    # the start's own cap (30% of the time to its deadline) is only a safety net here: with
    # the column generation's deadline it cut the us 10k book's start (37 evaluations, about
    # 10 s) at a different evaluation from run to run, and the plan followed
    cg.start(deadline=started + wall)
    cg.run(60, tolerance=0.005, deadline=started + 0.6 * wall)
    cg.finish(started + 0.6 * wall)
    note(f"bound {cg.best[0]:,.0f} after {cg.evals} evaluations")
    # LP-guided plans: the master's columns, then the obligation flow, the greedy fill and the
    # repair. Meeting obligations first makes the last ones dear (cn 10k: the master's price
    # of one more is about 16,000 of expected recovery), and the master's choice of which to
    # meet is cheaper than the repair's. So the master is raised: to the count of a plan that
    # meets more than it was asked for, else to one more than the best plan so far, and the
    # next plan is guided by that (at most four raises; none once the master's columns
    # cannot meet the count asked for).
    for raised in range(5):
        if not left("the LP-guided seed"):
            break
        note(f"LP-guided plan for {cg.met:,} obligations")
        rounded = Book(c)
        place_callbacks(c, rounded)
        cg.master.rounded(rounded)
        flow_obligations(c, rounded)
        rounded = greedy(c, rounded)
        repair_obligations(c, rounded, max_seats=None, deadline=started + wall)
        candidates.append(rounded)
        got = value_of(rounded)[0]
        log.debug("LP-guided plan: %d obligations, %.0f expected", *value_of(rounded))
        if raised == 4:
            break
        if time.perf_counter() > started + 0.7 * wall:
            skipped.append("raising the master's obligations")
            log.warning("time limit near: the master's obligations stay at %d", cg.met)
            break
        top = max(candidates, key=value_of)
        cg.raise_met(got if got > cg.met else max(value_of(top)[0], cg.met) + 1, top.attempts())
        cg.run(20, tolerance=0.005, deadline=started + 0.7 * wall)
        cg.finish(started + 0.7 * wall)
        if cg.short():
            note(f"no mix of the master's columns meets {cg.met:,} obligations: no more raises")
            break
        note(f"master raised to {cg.met:,} obligations: bound {cg.best[0]:,.0f}")
    # the priced greedy plan: each attempt's value less its seats' prices (the prices of the
    # bound tightest for the most obligations a plan meets so far)
    top_met = max(value_of(x)[0] for x in candidates)
    _b, lam, _nu, _m = min(cg.history, key=lambda h: h[0] + h[2] * (h[3] - top_met))
    mu = model.class_prices(lam)
    mu = np.where(np.isfinite(mu), mu, 0.0)
    if left("the priced greedy seed"):
        # the best plan's obligation attempts kept, its value attempts chosen again by
        # value less price
        top = max(candidates, key=value_of)
        priced = Book(c)
        for a, atts in top.case_attempts.items():
            for k, t, s_, r in atts:
                if r != "value":
                    priced.add(a, k, t, s_, r)
        priced = greedy(c, priced, mu=mu)
        candidates.append(priced)
        log.debug("priced greedy plan: %d obligations, %.0f expected", *value_of(priced))
    book = max(candidates, key=value_of)
    if left("the value swaps"):
        # more attempts for the cases worth most, the same obligations
        value_swaps(c, book, deadline=started + wall)
    if left("the last obligation repair"):
        # obligations first: whatever the swaps and the priced plan left room for, then the
        # swaps again around what the repair bumped
        if repair_obligations(c, book, max_seats=None, deadline=started + wall) and left("the value swaps"):
            value_swaps(c, book, deadline=started + wall)
    chosen_met, chosen_value = value_of(book)
    note(f"best seed: {chosen_met:,} obligations, {chosen_value:,.0f} expected")
    if chosen_met != cg.met and left("the bound for the plan's obligations"):
        # the bound for exactly the plan's count (the last repair usually meets more than the
        # master was raised to, or the raises asked for more than any plan met; moving an
        # earlier bound there at its obligation price is valid but looser): the master moved
        # to that count once more and solved closer to its LP value
        cg.raise_met(chosen_met, book.attempts(), lower=True)
        cg.run(20, tolerance=0.001, deadline=started + 0.85 * wall)
        cg.finish(started + 0.85 * wall)
        note(f"master moved to the plan's {cg.met:,} obligations: bound {cg.best[0]:,.0f}")
    return _finish(c, book, mu, time_limit, started, wall, seed, value_of, note, left, skipped, progress,
                   cg.history)


def _finish(c, book, mu, time_limit, started, wall, seed, value_of, note, left, skipped, progress, found,
            fill: bool = True):
    """CP-SAT over blocks of cases, then (``fill``) the greedy fill of whatever capacity is
    left."""
    statuses = []
    if left("CP-SAT"):
        note("CP-SAT over blocks of cases")
        statuses = lns(c, book, mu, 0.05 * time_limit, started + wall, seed=seed, progress=progress)
    # fill whatever capacity is left (none in a full book). Not on large books: their plans
    # end with their own fill, and the fill's options for every case took the 1M books'
    # main process from about 6 GB to 12 GB (seat slots the blocks freed, if any, stay free)
    if fill and book.free.any() and left("the final fill"):
        greedy(c, book, mu=mu)
    final_met, final_value = value_of(book)
    note(f"after CP-SAT and the fill: {final_met:,} obligations, {final_value:,.0f} expected")
    status = "cpsat " + (",".join(sorted({s.lower() for s in statuses})) if statuses else "not run")
    if skipped:
        status += "; time limit: skipped " + ", ".join(skipped)
    return book, status, found


def _improve_large(c, started, wall, time_limit, seed, value_of, note, left, skipped, progress, shards: int = 1):
    """A book of more than LARGE_BOOK cases: the seats are priced from a sample of the cases
    in a second process (``colgen.price_by_sample``: the bound and the prices) while this
    one builds the hopper seed; the sample's prices then guide this process's plan
    (``heuristics.priced_plan``) while the second one scales them to the whole book's bound.
    On a book planned whole the sample starts at once from its own obligation flow (no plan
    of the book is needed first); the plan's count is told to the bound's search as soon as
    its obligations are in, and again at the end.

    A book of ``shards`` > 1 shards: a sample of the whole book (from its own plan, as on a
    book planned whole) prices the seats first, in this process; every shard is then planned
    at those prices, two at a time; then the second process fits the same prices to the
    whole book's bound (no second sample) while this process builds the hopper seed.

    Either way CP-SAT's blocks run on the chosen plan (at the sample's slot prices) while the
    bound is still being fitted; the plan never depends on the bound."""
    from .beside import Beside
    from .bound import best_nu, capacity_rows, class_prices
    from .colgen import price_by_sample
    from .heuristics import hopper, obligations_met, priced_plan
    from .shards import make_shards, merged, shard_plans

    A, cap = capacity_rows(c)

    def slot_prices(lam):
        mu_ = class_prices(A, cap, lam)
        return np.where(np.isfinite(mu_), mu_, 0.0)

    candidates = []
    sample_prices = None
    if shards > 1:
        seat_shard, case_shard = make_shards(c, shards)
        # the seats priced first, from a sample of the whole book starting from its own plan
        # (no plan of the book is needed), then every shard planned at those prices
        _b, lam0, nu0, _e, _m = price_by_sample(c, None, None, started + 0.2 * wall, whole=False)
        sample_prices = (lam0, nu0)
        note("sample's seat prices found; planning the shards at them, two at a time")
        plans = shard_plans(c, seat_shard, case_shard, list(range(shards)), deadline=started + 0.6 * wall,
                            note=note, mu=slot_prices(lam0))
        flowed = merged(c, plans)
        candidates.append(flowed)
        note("shards at the sample's prices: {:,} obligations, {:,.0f} expected".format(*value_of(flowed)))
    # the prices must be back when this process has done its own work (the hopper seed, the
    # priced plan, CP-SAT's blocks): 90% of the time; 95% on a sharded book, where this
    # process has only the hopper seed and the blocks left (cn 1M: about 110 s after the
    # shards) and the bound's search is short of evaluations. A book planned whole has no
    # plan yet: the sample makes its own and estimates the count
    m0 = obligations_met(c, flowed) if shards > 1 else None
    pricing = Beside(price_by_sample, c, m0, flowed.attempts() if shards > 1 else None,
                     started + (0.95 if shards > 1 else 0.9) * wall,
                     partial=True, split_out=True, prices=sample_prices)
    note(f"all shards: {m0:,} obligations; the sample's prices fitted to the whole book (second process)"
         if shards > 1 else "pricing the seats from a sample of cases (second process)")
    # the dialer's own plan is a seed: the plan of record never meets fewer obligations
    # (a sharded book: when there is time left for it)
    if shards == 1 or left("the hopper seed"):
        candidates.append(hopper(c))
    priced = None
    if shards == 1:
        # the sample's seat prices as they come, before the whole book's search scales them
        # (in this process when there is no second one: then the final prices)
        sample_lam = pricing.partial()
        priced = pricing.result() if sample_lam is None else None
        if left("the priced plan"):

            def repaired(book: Book) -> None:
                pricing.tell(obligations_met(c, book))  # the bound's search moves to this count now
                note("priced plan's obligations: {:,}, {:,.0f} expected".format(*value_of(book)))

            # the obligations take the quiet slots, the busy ones stay for the attempts worth most
            candidates.append(priced_plan(c, slot_prices(priced[1] if sample_lam is None else sample_lam),
                                          prune=True, deadline=started + wall, repaired=repaired))
            note("priced plan: {:,} obligations, {:,.0f} expected".format(*value_of(candidates[-1])))
    book = max(candidates, key=value_of)
    chosen_met, chosen_value = value_of(book)
    pricing.tell(chosen_met)  # the bound's last searches are for this count
    note(f"best plan: {chosen_met:,} obligations, {chosen_value:,.0f} expected")
    # CP-SAT over blocks while the second process fits the bound (the blocks' slot prices:
    # the sample's, which planned the book), so the plan does not wait for the bound
    plan_lam = sample_prices[0] if shards > 1 else (priced[1] if sample_lam is None else sample_lam)
    book, status, _found = _finish(c, book, slot_prices(plan_lam), time_limit, started, wall, seed, value_of, note,
                                   left, skipped, progress, None, fill=False)
    chosen_met, chosen_value = value_of(book)
    pricing.tell(chosen_met)
    note("waiting for the bound")
    # the bound for plans meeting m_b obligations (m0, or the count told meanwhile), moved
    # to the plan's count exactly with its best obligation price
    bound, lam, nu, evals, m_b, (kept, nu_max) = pricing.result() if priced is None else priced
    if m_b != chosen_met:
        for split, lam_ in kept:
            if split is not None:
                moved, nu_ = best_nu(*split, chosen_met, nu_max)
                if m_b != chosen_met or moved < bound:
                    bound, lam, nu, m_b = moved, lam_, nu_, chosen_met
    note(f"bound {bound + nu * (m_b - chosen_met):,.0f} after {evals} evaluations")
    return book, status, [(bound, lam, nu, m_b)]
