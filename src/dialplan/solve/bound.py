"""A proven upper bound on the best achievable expected recovery (contract 2.4).

Why it is an upper bound
------------------------
Write a case's value as ``V * f(L)`` with ``V = balance * pay_propensity``,
``L = sum(-log(1 - q))`` over its attempts and ``f(L) = 1 - exp(-L)``, which is exactly
``V * (1 - prod(1 - q))``. Then relax, each step only enlarging the feasible set or the value:

1. Seat capacity per (seat group, slot) is priced with multipliers ``lam >= 0`` (Lagrangian
   relaxation): the bound is ``sum(lam * capacity)`` plus each case's best priced value.
   Continuity is dropped and an attempt may use the cheapest eligible group of its slot.
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

import numpy as np

from ..candidates import BIG, Candidates

TANGENTS = np.array([0.01, 0.02, 0.035, 0.05, 0.07, 0.1, 0.14, 0.2, 0.27, 0.35, 0.45, 0.6, 0.8, 1.1, 1.5, 2.2, 3.5])
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
        self.cap = c.groups.capacity
        self.need = np.maximum(c.due - c.done_today, 0)
        cb = c.callbacks["acc"].to_numpy() if len(c.callbacks) else np.zeros(0, np.int64)
        self.n_callbacks = np.bincount(cb[cb >= 0], minlength=c.n_accounts).astype(np.float64)
        # an obligation met by today's history is met whatever the plan does
        self.auto_met = ((c.due > 0) & (self.need == 0)).astype(np.float64)
        self.n_obligations = (c.due > 0).astype(np.float64) + self.n_callbacks
        self.usable = (c.class_groups[:, :, None] & (self.cap > 0)[None, :, :]) if c.groups.n else np.zeros((len(c.class_groups), 0, c.grid.n), bool)
        # long format of each contact's top items, ordered by case: filled per tangent
        rows = np.repeat(np.arange(len(live)), self.width)
        cols = np.tile(np.arange(self.width), len(live))
        keep = cols < self.cap_k[rows]
        self.long_rows, self.long_cols = rows[keep], cols[keep]
        self.long_acc = self.acc[self.long_rows]
        self.last_met = 0.0

    def prices(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cheapest usable group price per (class, slot) and which group it is (-1 none)."""
        if self.c.groups.n == 0:
            shape = (len(self.c.class_groups), self.c.grid.n)
            return np.full(shape, np.inf), np.full(shape, -1)
        priced = np.where(self.usable, lam[None, :, :], np.inf)
        g = np.argmin(priced, axis=1)
        mu = np.take_along_axis(priced, g[:, None, :], axis=1)[:, 0, :]
        return mu, np.where(np.isfinite(mu), g, -1)

    def _top_n(self, r: np.ndarray):
        """For each case, the best total of exactly n items (n = 1..N) under the count caps,
        and the items in order: returns (totals [n_a, N], order of long entries, rank)."""
        n_a = self.c.n_accounts
        order = np.argsort(-r, axis=1, kind="stable")[:, : self.width]
        top = np.take_along_axis(r, order, axis=1)
        vals = top[self.long_rows, self.long_cols]
        srt = np.lexsort((-vals, self.long_acc))
        a_s, v_s = self.long_acc[srt], vals[srt]
        first = np.searchsorted(a_s, a_s, side="left")
        rank = np.arange(len(a_s)) - first
        ok = (rank < self.N) & np.isfinite(v_s)
        totals = np.full((n_a, self.N + 1), -np.inf)
        totals[:, 0] = 0.0
        # cumulative sums within each case, written at their rank
        csum = np.cumsum(np.where(np.isfinite(v_s), v_s, 0.0))
        base = np.where(first > 0, csum[first - 1], 0.0)
        totals[a_s[ok], rank[ok] + 1] = (csum - base)[ok]
        return totals, order, srt, rank

    def evaluate(self, lam: np.ndarray, want_usage: bool = False, nu: float = 0.0, met: int = 0):
        """Bound value at ``(lam, nu)`` (and the capacity use of the relaxed optimum)."""
        c = self.c
        n_a = c.n_accounts
        mu, g_of = self.prices(lam)
        mu_k = mu[self.cls]
        N = self.N
        best = np.full((n_a, N + 1), np.inf)
        arg = np.zeros((n_a, N + 1), dtype=np.int64)
        for j, l0 in enumerate(TANGENTS):
            c0 = 1 - np.exp(-l0) * (1 + l0)
            c1 = np.exp(-l0)
            r = np.where(self.legal, self.V[:, None] * c1 * self.ell - mu_k, -np.inf)
            totals, *_ = self._top_n(r)
            val = c.value[:, None] * c0 + totals
            val[:, 0] = 0.0
            better = val < best
            best = np.where(better, val, best)
            arg = np.where(better, j, arg)
        # f <= 1: n attempts are never worth more than V minus their cheapest prices; the
        # tangent grid's last point already is close, the cap keeps the bound finite
        n_idx = np.arange(N + 1)[None, :]
        feasible = (n_idx <= self.n_max[:, None]) & np.isfinite(best)
        credit = nu * ((n_idx >= np.maximum(self.need, 1)[:, None]) & (self.need[:, None] > 0))
        score = np.where(feasible, best + credit, -np.inf)
        n_star = np.argmax(score, axis=1)
        per_case = score[np.arange(n_a), n_star] + nu * (self.auto_met + self.n_callbacks)
        self.last_met = float(((n_star >= self.need) & (self.need > 0)).sum() + self.auto_met.sum() + self.n_callbacks.sum())
        bound = float(np.sum(lam * self.cap) + per_case.sum() - nu * met)
        if not want_usage:
            return bound, None
        usage = np.zeros_like(self.cap, dtype=np.float64)
        j_star = arg[np.arange(n_a), n_star]
        for j, l0 in enumerate(TANGENTS):
            cases = (j_star == j) & (n_star > 0)
            if not cases.any():
                continue
            c1 = np.exp(-l0)
            r = np.where(self.legal, self.V[:, None] * c1 * self.ell - mu_k, -np.inf)
            _t, order, srt, rank = self._top_n(r)
            a_s = self.long_acc[srt]
            take = cases[a_s] & (rank < n_star[a_s])
            rows = self.long_rows[srt][take]
            cols = self.long_cols[srt][take]
            tt = order[rows, cols]
            groups = g_of[self.cls[rows], tt]
            ok = groups >= 0
            np.add.at(usage, (groups[ok], tt[ok]), 1.0)
        return bound, usage


def upper_bound(c: Candidates, lower: float | None = None, met: int = 0, iterations: int = 60) -> tuple[float, np.ndarray]:
    """The tightest bound found (and its capacity prices): subgradient descent on the
    capacity prices ``lam`` and the obligation price ``nu``. ``met`` is the number of
    obligations our plan meets (the best plan meets at least as many)."""
    model = BoundModel(c)
    lam = np.zeros(model.cap.shape)
    if model.N == 0:
        return 0.0, lam
    target = lower if lower is not None else 0.0
    best, best_lam = np.inf, lam
    nu = float(np.quantile(c.value[c.value > 0], 0.5)) if met and (c.value > 0).any() else 0.0
    theta, stall = 1.0, 0
    for _ in range(iterations):
        value, usage = model.evaluate(lam, want_usage=True, nu=nu, met=met)
        if value < best - 1e-9:
            best, best_lam, stall = value, lam.copy(), 0
        else:
            stall += 1
            if stall >= 5:
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
    return float(best), best_lam
