"""A proven upper bound on the best achievable expected recovery (contract 2.4).

Why it is an upper bound
------------------------
Write a case's value as ``V * f(L)`` with ``V = balance * pay_propensity``,
``L = sum(-log(1 - q))`` over its attempts and ``f(L) = 1 - exp(-L)``, which is exactly
``V * (1 - prod(1 - q))``. Then relax, each step only enlarging the feasible set or the value:

1. Seat capacity per (seat group, slot) is priced with multipliers ``lam >= 0`` (Lagrangian
   relaxation): the bound is ``sum(lam * capacity)`` plus each case's best priced value.
   Continuity is dropped and an attempt may use the cheapest eligible group of its slot.
2. ``f`` is concave, so for any tangent point ``l0`` it lies below its tangent:
   ``f(L) <= f(l0) + f'(l0) (L - l0)``; the case's value is then linear in its attempts.
   Every tangent gives a valid bound; the case takes the smallest over a grid of ``l0``
   (``l0 = inf`` is the constant ``V``).
3. Of the rules between a case's own attempts only counts remain: at most ``n_k`` attempts on
   contact k (its day cap, and what its gap and rolling windows allow in the whole grid) and
   at most the account's cap over all; for linear values, the best such set is the top
   positive items per contact, then the top overall.

4. Obligations come first: the best plan meets at least as many obligations as ours (``M``).
   That constraint is priced too (``nu >= 0``): every case gains ``nu`` when its relaxed
   choice meets its frequency obligation (at least ``need`` attempts) and the bound pays
   ``nu * M`` back. Callbacks are credited ``nu`` each without cost (an over-estimate).

Any ``lam >= 0`` and ``nu >= 0`` give a valid bound; the search only makes it tighter.
"""

from __future__ import annotations

import numpy as np

from ..candidates import BIG, Candidates

TANGENTS = np.array([0.01, 0.02, 0.04, 0.07, 0.1, 0.14, 0.2, 0.27, 0.35, 0.45, 0.6, 0.8, 1.1, 1.5, 2.2, 3.5])


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
        self.cap_k = _contact_count_cap(c)[live]
        self.cap_a = c.account_max
        self.width = int(min(self.cap_k.max(), c.grid.n)) if len(live) else 0
        cap = c.groups.capacity
        self.cap = cap
        self.need = np.maximum(c.due - c.done_today, 0)
        self.n_callbacks = np.bincount(c.callbacks["acc"].to_numpy()[c.callbacks["acc"].to_numpy() >= 0], minlength=c.n_accounts) if len(c.callbacks) else np.zeros(c.n_accounts)
        # an obligation met by today's history is met whatever the plan does
        self.auto_met = ((c.due > 0) & (self.need == 0)).astype(np.float64)
        self.n_obligations = (c.due > 0).astype(np.int64) + self.n_callbacks
        self.dead = np.ones(c.n_accounts, dtype=bool)
        self.dead[self.acc] = False
        self.usable = (c.class_groups[:, :, None] & (cap > 0)[None, :, :]) if c.groups.n else np.zeros((len(c.class_groups), 0, c.grid.n), bool)

    def prices(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cheapest usable group price per (class, slot) and which group it is (-1 none)."""
        if self.c.groups.n == 0:
            shape = (len(self.c.class_groups), self.c.grid.n)
            return np.full(shape, np.inf), np.full(shape, -1)
        priced = np.where(self.usable, lam[None, :, :], np.inf)
        g = np.argmin(priced, axis=1)
        mu = np.take_along_axis(priced, g[:, None, :], axis=1)[:, 0, :]
        return mu, np.where(np.isfinite(mu), g, -1)

    def evaluate(self, lam: np.ndarray, want_usage: bool = False, nu: float = 0.0, met: int = 0):
        """Bound value at ``(lam, nu)`` (and the capacity use of the relaxed optimum)."""
        c = self.c
        mu, g_of = self.prices(lam)
        n_a = c.n_accounts
        best = c.value + nu * self.n_obligations  # tangent at infinity: V, every obligation credited
        best_choice = np.full(n_a, -1)
        best_forced = np.zeros(n_a, dtype=bool)
        best_met = self.n_obligations.astype(np.float64)
        mu_k = mu[self.cls]  # [n_k, n_s]
        for j, l0 in enumerate(TANGENTS):
            c0 = 1 - np.exp(-l0) * (1 + l0)
            c1 = np.exp(-l0)
            r = np.where(self.legal, self.V[:, None] * c1 * self.ell - mu_k, -np.inf)
            free, count = self._select(r, with_count=True)
            val = c.value * c0 + free + nu * (self.n_callbacks + self.auto_met)
            forced = np.zeros(n_a, dtype=bool)
            has = self.need > 0
            reached = has & (count >= self.need)
            met_here = self.n_callbacks + self.auto_met + reached
            if nu > 0:
                val = val + nu * reached
                alt = self._forced(r) + nu  # at least `need` attempts, the best of them
                alt_val = c.value * c0 + alt + nu * (self.n_callbacks + self.auto_met)
                take = has & ~reached & (alt_val > val)
                val = np.where(take, alt_val, val)
                forced = take
                met_here = met_here + take
            better = val < best
            best = np.where(better, val, best)
            best_choice = np.where(better, j, best_choice)
            best_forced = np.where(better, forced, best_forced)
            best_met = np.where(better, met_here, best_met)
        best = np.where(self.dead, nu * self.auto_met, best)
        best_met = np.where(self.dead, self.auto_met, best_met)
        self.last_met = float(best_met.sum())  # no candidate: no value, no new obligation
        bound = float(np.sum(lam * self.cap) + best.sum() - nu * met)
        if not want_usage:
            return bound, None
        usage = np.zeros_like(self.cap, dtype=np.float64)
        for j, l0 in enumerate(TANGENTS):
            cases = best_choice == j
            rows = cases[self.acc]
            if not rows.any():
                continue
            c1 = np.exp(-l0)
            r = np.where(self.legal[rows], self.V[rows, None] * c1 * self.ell[rows] - mu_k[rows], -np.inf)
            chosen = self._select(r, rows=np.flatnonzero(rows), return_mask=True)
            # a forced case takes (at least) its single best item
            frows = best_forced[self.acc[rows]]
            if frows.any():
                pick = np.argmax(r[frows], axis=1)
                chosen[np.flatnonzero(frows), pick] = True
            kk, tt = np.nonzero(chosen)
            groups = g_of[self.cls[rows][kk], tt]
            ok = groups >= 0
            np.add.at(usage, (groups[ok], tt[ok]), 1.0)
        return bound, usage

    def _forced(self, r: np.ndarray) -> np.ndarray:
        """Per case: the best total of at least ``need`` items (top ``need`` items, negatives
        included, plus any further positive ones); -inf when fewer items exist."""
        n_a = self.c.n_accounts
        order = np.argsort(-r, axis=1, kind="stable")
        top = np.take_along_axis(r, order, axis=1)
        avail = np.arange(r.shape[1])[None, :] < self.cap_k[:, None]
        top = np.where(avail & np.isfinite(top), top, -np.inf)
        width = int(max(1, min(self.need.max(initial=1), r.shape[1])))
        # candidates per case: each contact's top `width` items, merged per case
        vals = top[:, :width]
        rows, cols = np.nonzero(np.isfinite(vals))
        v = vals[rows, cols]
        a = self.acc[rows]
        srt = np.lexsort((-v, a))
        a_s, v_s = a[srt], v[srt]
        first = np.searchsorted(a_s, a_s, side="left")
        rank = np.arange(len(a_s)) - first
        need = self.need[a_s]
        cap = self.cap_a[a_s]
        inside = (rank < need) & (rank < cap)
        extra = (rank >= need) & (rank < cap) & (v_s > 0)
        total = np.bincount(a_s, weights=np.where(inside | extra, v_s, 0.0), minlength=n_a)
        count = np.bincount(a_s, weights=inside, minlength=n_a)
        return np.where(count >= np.maximum(self.need, 1), total, -np.inf)

    def _select(self, r: np.ndarray, rows: np.ndarray | None = None, return_mask: bool = False, with_count: bool = False):
        """Best value per case of the relaxed selection (top positive items per contact, then
        top over the case), or the chosen-item mask."""
        cap_k = self.cap_k if rows is None else self.cap_k[rows]
        acc = self.acc if rows is None else self.acc[rows]
        n_s = r.shape[1]
        order = np.argsort(-r, axis=1, kind="stable")
        top = np.take_along_axis(r, order, axis=1)
        keep = (np.arange(n_s)[None, :] < cap_k[:, None]) & (top > 0)
        vals = np.where(keep, top, 0.0)
        n_a = self.c.n_accounts
        count = np.bincount(acc, weights=keep.sum(axis=1), minlength=n_a)
        over = np.flatnonzero(count > self.cap_a)
        if len(over) == 0:
            if return_mask:
                mask = np.zeros_like(keep)
                np.put_along_axis(mask, order, keep, axis=1)
                return mask
            total = np.bincount(acc, weights=vals.sum(axis=1), minlength=n_a)
            return (total, count) if with_count else total
        # cases whose account cap binds: keep their top items over all contacts
        in_over = np.isin(acc, over)
        ri, ci = np.nonzero(keep & in_over[:, None])
        v = top[ri, ci]
        a = acc[ri]
        srt = np.lexsort((-v, a))
        a_s = a[srt]
        first = np.searchsorted(a_s, a_s, side="left")
        rank = np.arange(len(a_s)) - first
        drop = rank >= self.cap_a[a_s]
        keep2 = keep.copy()
        keep2[ri[srt[drop]], ci[srt[drop]]] = False
        if return_mask:
            mask = np.zeros_like(keep2)
            np.put_along_axis(mask, order, keep2, axis=1)
            return mask
        total = np.bincount(acc, weights=np.where(keep2, top, 0.0).sum(axis=1), minlength=n_a)
        return (total, np.bincount(acc, weights=keep2.sum(axis=1), minlength=n_a)) if with_count else total


def upper_bound(c: Candidates, lower: float | None = None, met: int = 0, iterations: int = 60) -> tuple[float, np.ndarray]:
    """The tightest bound found (and its capacity prices): a search over the obligation price
    ``nu`` and subgradient descent on the capacity prices ``lam``. ``met`` is the number of
    obligations our plan meets (the best plan meets at least as many)."""
    model = BoundModel(c)
    lam = np.zeros(model.cap.shape)
    if model.width == 0:
        return float(c.value[model.n_obligations > 0].sum() * 0), lam
    target = lower if lower is not None else 0.0
    best, best_lam, best_nu = np.inf, lam, 0.0
    nu = float(np.quantile(c.value[c.value > 0], 0.5)) if met and (c.value > 0).any() else 0.0
    theta, stall = 1.0, 0
    for _ in range(iterations):
        value, usage = model.evaluate(lam, want_usage=True, nu=nu, met=met)
        if value < best - 1e-9:
            best, best_lam, best_nu, stall = value, lam.copy(), nu, 0
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
