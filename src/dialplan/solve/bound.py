"""A proven upper bound on the best achievable expected recovery (contract 2.4).

Why it is an upper bound
------------------------
Write a case's value as ``V * f(L)`` with ``V = balance * pay_propensity``,
``L = sum(-log(1 - q))`` over its attempts and ``f(L) = 1 - exp(-L)``, which is exactly
``V * (1 - prod(1 - q))``. Then relax, each step only enlarging the feasible set or the value:

1. Seats of the same team, skills and shift are pooled (breaks and ownership dropped) and the
   pool's capacity per slot is priced with multipliers ``lam >= 0`` (Lagrangian relaxation):
   the bound is ``sum(lam * capacity)`` plus each case's best priced value. Continuity is
   kept at pool level: a case picks one pool it may use and only that pool's slots.
2. Split each case's choice by its number of attempts n. For a fixed n, ``f`` lies below
   each of its tangents, ``f(L) <= f(l0) + f'(l0) (L - l0)``, so the case's best priced value
   with n attempts is at most ``min over l0`` of the best linear value with n attempts. The
   case's bound is the largest over n (n = 0 is worth 0). Keeping n outside the minimum
   stops the relaxation from mixing "no call" with "a call" into a half call, which a single
   tangent bound over all n would allow.
3. Of the rules between a case's own attempts only counts remain: at most ``n_k`` attempts on
   contact k (its day cap, and what its gap and rolling windows allow in the whole grid) and
   at most the account's cap over all; for linear values the best n items under those caps
   are each contact's top items merged, the top n overall.

4. Obligations come first: the best plan meets at least as many obligations as ours (``M``).
   That constraint is priced too (``nu >= 0``): every case gains ``nu`` when its relaxed
   choice meets its frequency obligation (at least ``need`` attempts) and the bound pays
   ``nu * M`` back. Callbacks are credited ``nu`` each without cost (an over-estimate).

Any ``lam >= 0`` and ``nu >= 0`` give a valid bound; the search only makes it tighter.
"""

from __future__ import annotations

import time

import numpy as np

from ..candidates import BIG, Candidates

TANGENTS = np.array([0.03, 0.08, 0.16, 0.28, 0.45, 0.75, 1.3, 2.5])
MAX_ATTEMPTS = 12  # counts above this share one bound (the value is concave, so rarely reached)


def _contact_count_cap(c: Candidates) -> np.ndarray:
    n_s = c.grid.n
    by_gap = -(-n_s // np.maximum(c.gap_slots, 1))
    by_roll = np.where(c.roll_max >= BIG, BIG, c.roll_max * -(-n_s // np.maximum(c.roll_window, 1)))
    return np.minimum.reduce([c.contact_max, by_gap, by_roll, np.full(len(c.contact_max), n_s)])


class BoundModel:
    """Dense per-contact arrays for fast evaluation of the Lagrangian bound."""

    def __init__(self, c: Candidates):
        self.c = c
        live = np.flatnonzero(c.legal.any(axis=1))
        self.k = live
        self.acc = c.contact_account[live]
        self.cls = c.account_class[self.acc]
        self.V = c.value[self.acc]
        q = np.minimum(c.q[live], 1 - 1e-12)
        self.ell = np.where(c.legal[live], -np.log1p(-q), 0.0)
        self.legal = c.legal[live]
        self.cap_k = np.minimum(_contact_count_cap(c)[live], MAX_ATTEMPTS)
        self.width = int(self.cap_k.max()) if len(live) else 0
        count = np.bincount(self.acc, weights=self.cap_k, minlength=c.n_accounts)
        self.n_max = np.minimum(np.minimum(count, c.account_max), MAX_ATTEMPTS).astype(np.int64)
        self.N = int(self.n_max.max()) if len(live) else 0
        # pools: seat groups that differ only in breaks or rate
        keys = {}
        pool_of = np.zeros(c.groups.n, dtype=np.int64)
        for g in range(c.groups.n):
            members = c.groups.members[g]
            seat = c.portfolio.seats.iloc[members[0]]
            # owners are pooled with their like (a relaxation: an owner's cases may use the pool)
            key = (c.groups.team[g], c.groups.skills[g], seat["timezone"], seat["shift_start"], seat["shift_end"])
            pool_of[g] = keys.setdefault(key, len(keys))
        self.n_pools = len(keys)
        self.cap = np.zeros((self.n_pools, c.grid.n), dtype=np.float64)
        np.add.at(self.cap, pool_of, c.groups.capacity)
        self.class_pools = np.zeros((len(c.class_groups), self.n_pools), dtype=bool)
        for g in range(c.groups.n):
            self.class_pools[:, pool_of[g]] |= c.class_groups[:, g]
        self.pool_usable = self.cap > 0
        self.need = np.maximum(c.due - c.done_today, 0)
        cb = c.callbacks["acc"].to_numpy() if len(c.callbacks) else np.zeros(0, np.int64)
        self.n_callbacks = np.bincount(cb[cb >= 0], minlength=c.n_accounts).astype(np.float64)
        # an obligation met by today's history is met whatever the plan does
        self.auto_met = ((c.due > 0) & (self.need == 0)).astype(np.float64)
        self.n_obligations = (c.due > 0).astype(np.float64) + self.n_callbacks
        # long format of each contact's top items, ordered by case: filled per tangent
        rows = np.repeat(np.arange(len(live)), self.width)
        cols = np.tile(np.arange(self.width), len(live))
        keep = cols < self.cap_k[rows]
        self.long_rows, self.long_cols = rows[keep], cols[keep]
        self.long_acc = self.acc[self.long_rows]
        self.last_met = 0.0
        self._rows_cache: dict = {}
        self._sel_cache: dict = {}

    def prices(self, lam: np.ndarray) -> np.ndarray:
        """Slot price per (class, slot): the cheapest pool the class may use (inf: none)."""
        if self.n_pools == 0:
            return np.full((len(self.c.class_groups), self.c.grid.n), np.inf)
        priced = np.where(self.class_pools[:, :, None] & self.pool_usable[None, :, :], lam[None, :, :], np.inf)
        return priced.min(axis=1)

    def _top_n(self, r: np.ndarray, rows: np.ndarray):
        """For each case, the best total of exactly n items (n = 0..N) among contacts ``rows``
        under the count caps; also the item order for recovering the choice."""
        n_a = self.c.n_accounts
        w = self.width
        if w < r.shape[1]:
            part = np.argpartition(-r, w - 1, axis=1)[:, :w]
            sub = np.take_along_axis(r, part, axis=1)
            order = np.take_along_axis(part, np.argsort(-sub, axis=1, kind="stable"), axis=1)
        else:
            order = np.argsort(-r, axis=1, kind="stable")
        top = np.take_along_axis(r, order, axis=1)
        sel = self._long_sel(rows)
        lr, lc = self.long_rows[sel], self.long_cols[sel]
        local = np.searchsorted(rows, lr)
        vals = top[local, lc]
        acc = self.acc[lr]
        srt = np.lexsort((-vals, acc))
        a_s, v_s = acc[srt], vals[srt]
        first = np.searchsorted(a_s, a_s, side="left")
        rank = np.arange(len(a_s)) - first
        finite = np.isfinite(v_s)
        ok = (rank < self.N) & finite
        totals = np.full((n_a, self.N + 1), -np.inf)
        totals[:, 0] = 0.0
        csum = np.cumsum(np.where(finite, v_s, 0.0))
        base = np.where(first > 0, csum[np.maximum(first - 1, 0)], 0.0)
        totals[a_s[ok], rank[ok] + 1] = (csum - base)[ok]
        return totals, (order, local, lr, lc, srt, rank)

    def _pool_rows(self, b: int) -> np.ndarray:
        if b not in self._rows_cache:
            self._rows_cache[b] = np.flatnonzero(self.class_pools[self.cls, b] & (self.legal & self.pool_usable[b][None, :]).any(axis=1))
        return self._rows_cache[b]

    def _long_sel(self, rows: np.ndarray) -> np.ndarray:
        key = (len(rows), int(rows[0]) if len(rows) else -1, int(rows[-1]) if len(rows) else -1)
        if key not in self._sel_cache:
            self._sel_cache[key] = np.isin(self.long_rows, rows)
        return self._sel_cache[key]

    def evaluate(self, lam: np.ndarray, want_usage: bool = False, nu: float = 0.0, met: int = 0):
        """Bound value at ``(lam, nu)`` (and the capacity use of the relaxed optimum)."""
        c = self.c
        n_a = c.n_accounts
        N = self.N
        n_idx = np.arange(N + 1)[None, :]
        credit = nu * ((n_idx >= np.maximum(self.need, 1)[:, None]) & (self.need[:, None] > 0))
        feasible_n = n_idx <= self.n_max[:, None]
        case_best = np.zeros(n_a)  # n = 0 on any pool: worth 0
        case_n = np.zeros(n_a, dtype=np.int64)
        case_pool = np.full(n_a, -1)
        case_j = np.zeros(n_a, dtype=np.int64)
        for b in range(self.n_pools):
            rows = self._pool_rows(b)
            if len(rows) == 0:
                continue
            legal = self.legal[rows] & self.pool_usable[b][None, :]
            price = lam[b][None, :]
            best = np.full((n_a, N + 1), np.inf)
            arg = np.zeros((n_a, N + 1), dtype=np.int64)
            for j, l0 in enumerate(TANGENTS):
                c0 = 1 - np.exp(-l0) * (1 + l0)
                c1 = np.exp(-l0)
                r = np.where(legal, self.V[rows, None] * c1 * self.ell[rows] - price, -np.inf)
                totals, _ = self._top_n(r, rows)
                val = c.value[:, None] * c0 + totals
                val[:, 0] = 0.0
                better = val < best
                best = np.where(better, val, best)
                arg = np.where(better, j, arg)
            score = np.where(feasible_n & np.isfinite(best), best + credit, -np.inf)
            n_b = np.argmax(score, axis=1)
            s_b = score[np.arange(n_a), n_b]
            win = s_b > case_best
            case_best = np.where(win, s_b, case_best)
            case_n = np.where(win, n_b, case_n)
            case_pool = np.where(win, b, case_pool)
            case_j = np.where(win, arg[np.arange(n_a), n_b], case_j)
        # a case with no pool or no item still owns its callbacks and auto-met obligations
        zero_credit = credit[:, 0]
        case_best = np.maximum(case_best, zero_credit)
        per_case = case_best + nu * (self.auto_met + self.n_callbacks)
        self.last_met = float(((case_n >= self.need) & (self.need > 0)).sum() + self.auto_met.sum() + self.n_callbacks.sum())
        bound = float(np.sum(lam * self.cap) + per_case.sum() - nu * met)
        if not want_usage:
            return bound, None
        usage = np.zeros_like(self.cap)
        for b in range(self.n_pools):
            chosen = (case_pool == b) & (case_n > 0)
            if not chosen.any():
                continue
            rows = self._pool_rows(b)
            legal = self.legal[rows] & self.pool_usable[b][None, :]
            for j in np.unique(case_j[chosen]):
                l0 = TANGENTS[j]
                c1 = np.exp(-l0)
                r = np.where(legal, self.V[rows, None] * c1 * self.ell[rows] - lam[b][None, :], -np.inf)
                _t, (order, local, lr, lc, srt, rank) = self._top_n(r, rows)
                a_s = self.acc[lr][srt]
                take = chosen[a_s] & (case_j[a_s] == j) & (rank < case_n[a_s])
                tt = order[local[srt][take], lc[srt][take]]
                np.add.at(usage[b], tt, 1.0)
        return bound, usage


def upper_bound(c: Candidates, lower: float | None = None, met: int = 0, iterations: int = 40,
                lam: np.ndarray | None = None, nu: float | None = None, deadline: float | None = None) -> tuple[float, np.ndarray, float]:
    """The tightest bound found (and its capacity prices): subgradient descent on the
    capacity prices ``lam`` and the obligation price ``nu``. ``met`` is the number of
    obligations our plan meets (the best plan meets at least as many)."""
    model = BoundModel(c)
    warm = lam is not None and bool(np.any(lam))
    lam = np.zeros(model.cap.shape) if lam is None else lam.copy()
    if model.N == 0:
        return 0.0, lam, 0.0
    target = lower if lower is not None else 0.0
    best, best_lam, best_nu = np.inf, lam, 0.0
    if not warm:
        # start from the best uniform prices on a coarse grid: subgradient steps from zero
        # take many iterations to reach the right level
        ref = float(np.quantile(c.value[c.value > 0] * 0.15, 0.5)) if (c.value > 0).any() else 1.0
        best_start = (np.inf, 0.0, 0.0)
        for p_ in (0.1, 0.5, 2.0):
            for n_ in ((0.0,) if not met else (0.5, 3.0)):
                value, _ = model.evaluate(np.full(model.cap.shape, p_ * ref), nu=n_ * ref, met=met)
                if value < best_start[0]:
                    best_start = (value, p_ * ref, n_ * ref)
        lam = np.full(model.cap.shape, best_start[1])
        nu = best_start[2]
    elif nu is None:
        nu = 0.0
    theta, stall = (0.25 if warm else 1.0), 0
    for i in range(iterations):
        if deadline is not None and i > 0 and time.perf_counter() > deadline:
            break  # safety net: a fixed iteration count keeps the bound repeatable
        value, usage = model.evaluate(lam, want_usage=True, nu=nu, met=met)
        if value < best - 1e-9:
            best, best_lam, best_nu, stall = value, lam.copy(), nu, 0
        else:
            stall += 1
            if stall >= 3:
                theta, stall = theta / 2, 0
        grad = model.cap - usage  # d bound / d lam
        grad_nu = model.last_met - met  # d bound / d nu
        norm = float(np.sum(grad**2) + grad_nu**2)
        if norm == 0 or theta < 1e-4:
            break
        gap = max(value - target, 1e-9 * max(value, 1.0))
        step = theta * gap / norm
        lam = np.maximum(0.0, lam - step * grad)
        nu = max(0.0, nu - step * grad_nu) if met else 0.0
    return float(best), best_lam, best_nu
