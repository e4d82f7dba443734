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

import math
import time

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from ..candidates import Candidates
from .book import Book
from .bound import BoundModel, upper_bound
from .heuristics import greedy, hopper, obligation_need

ELL_SCALE = 1_000


def _tangent_points(lo: float, hi: float) -> np.ndarray:
    pts = [lo]
    while pts[-1] < hi:
        pts.append(pts[-1] * 1.12 + 1e-4)
    return np.array(pts)


class BlockModel:
    """CP-SAT model of one block of cases."""

    def __init__(self, c: Candidates, cases: np.ndarray, capacity: np.ndarray, mu: np.ndarray, seed_book: Book, keep_slots: int = 10):
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
        for i in range(len(c.callbacks)):
            k, t = int(c.callbacks["cand"].iat[i]), int(c.callbacks["slot"].iat[i])
            if k >= 0 and t >= 0 and in_block[c.contact_account[k]]:
                cb_slots.setdefault(k, set()).add(t)
        self.x: dict = {}
        by_case: dict = {}
        by_contact: dict = {}
        cap_terms: dict = {}
        usable = c.groups.capacity > 0
        for k in ks:
            a = int(c.contact_account[k])
            groups = np.flatnonzero(c.class_groups[c.account_class[a]])
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
        for (k, t, _g), var in self.x.items():
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

    def solve(self, time_limit: float, seed: int, workers: int = 1):
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(time_limit, 0.1)
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = seed
        status = solver.Solve(self.m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, solver.StatusName(status)
        chosen = [(key, solver.Value(v)) for key, v in self.x.items()]
        return [key for key, val in chosen if val], solver.StatusName(status)


def _split_to_seats(c: Candidates, book: Book, attempts_by_case: dict, order: list) -> list:
    """Give each case's group attempts to one seat of the group (continuity); return the cases
    that did not fit."""
    failed = []
    members = c.groups.members
    for a in order:
        atts = attempts_by_case[a]
        groups = {g for _k, _t, g in atts}
        placed = False
        if c.continuity[a] and len(groups) == 1:
            g = groups.pop()
            cand_seats = sorted(members[g], key=lambda s: -book.seat_rem[s].sum())
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
                book.add(a, k, t, max(seats, key=lambda s: book.seat_rem[s].sum()), "value")
            placed = ok
            if not ok:
                book.remove_case(a)
        if not placed:
            failed.append(a)
    return failed


def improve(c: Candidates, time_limit: float = 60.0, seed: int = 0, progress=None, block_size: int = 2500):
    """Greedy seed, prices, then CP-SAT block by block; returns (book, status)."""
    started = time.perf_counter()
    seed_book = greedy(c)
    base = hopper(c)
    from ..plan import expected_recovery

    def value_of(book: Book) -> float:
        arr = book.attempts()
        return expected_recovery(c, arr["account"], arr["cand"], arr["slot"])

    seed_value = value_of(seed_book)
    if value_of(base) > seed_value:
        seed_book, seed_value = base, value_of(base)
    from .heuristics import obligations_met

    _bound, lam = upper_bound(c, lower=seed_value, met=obligations_met(c, seed_book), iterations=25)
    mu = BoundModel(c).prices(lam)[0] if c.groups.n else np.zeros((len(c.class_groups), c.grid.n))
    mu = np.where(np.isfinite(mu), mu, 0.0)
    live = np.unique(c.contact_account[c.legal.any(axis=1)])
    if len(live) == 0:
        return seed_book, "empty"
    # blocks: cases ordered by eligibility class then value, cut into block_size pieces
    order = live[np.lexsort((-c.value[live], c.account_class[live]))]
    blocks = [order[i : i + block_size] for i in range(0, len(order), block_size)]
    # capacity allocation: each block keeps what its cases use in the seed plan, plus an
    # equal share of the spare
    seat_group = c.groups.seat_group
    used = np.zeros((len(blocks),) + c.groups.capacity.shape, dtype=np.int64)
    block_of = np.full(c.n_accounts, -1)
    for b, cases in enumerate(blocks):
        block_of[cases] = b
    for a, atts in seed_book.case_attempts.items():
        for _k, t, s, _r in atts:
            if block_of[a] >= 0:
                used[block_of[a], seat_group[s], t] += 1
    spare = c.groups.capacity - used.sum(axis=0)
    share = spare // len(blocks)
    alloc = used + share[None]
    alloc[0] += spare - share * len(blocks)
    remaining = time_limit - (time.perf_counter() - started)
    final = Book(c)
    statuses = []
    for b, cases in enumerate(blocks):
        budget = max(remaining * 0.8 / (len(blocks) - b), 0.5)
        t0 = time.perf_counter()
        model = BlockModel(c, cases, alloc[b], mu, seed_book)
        result, status = model.solve(budget, seed)
        statuses.append(status)
        remaining -= time.perf_counter() - t0
        by_case: dict = {}
        if result is not None:
            for k, t, g in result:
                by_case.setdefault(int(c.contact_account[k]), []).append((k, t, g))
        # cases the model dropped or that do not split onto seats keep their seed attempts
        order_cases = sorted(by_case, key=lambda a: -len(by_case[a]))
        failed = _split_to_seats(c, final, by_case, order_cases)
        for a in failed + [int(a) for a in cases if int(a) not in by_case]:
            for k, t, s, r in seed_book.case_attempts.get(int(a), []):
                if final.can_add(int(a), k, t) and final.seat_rem[s, t] > 0 and (
                    not c.continuity[a] or final.case_seat.get(int(a), s) == s
                ):
                    final.add(int(a), k, t, s, r)
        if progress:
            progress(f"block {b + 1}/{len(blocks)}: {status}")
    greedy(c, final)  # fill whatever capacity is left
    final_value = value_of(final)
    if final_value + 1e-9 < seed_value:
        return seed_book, "seed"
    # the model prices pruned candidates, so even OPTIMAL is optimal for the pruned model only
    status = "cpsat " + ",".join(sorted(set(s.lower() for s in statuses)))
    return final, status
