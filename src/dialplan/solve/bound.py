"""A proven upper bound on the best achievable expected recovery (contract 2.4), and the
capacity prices that come with it.

Why it is an upper bound
------------------------
Write a case's value as ``V * f(L)`` with ``V = balance * pay_propensity``,
``L = sum(-log(1 - q))`` over its attempts and ``f(L) = 1 - exp(-L)``, which is exactly
``V * (1 - prod(1 - q))``. Then relax, each step only enlarging the feasible set or the value:

1. Seats are pooled (``capacity_rows``): one capacity row per component of seat groups that
   classes share, and one per class that may use only part of its component, counting
   every class whose seats lie inside its seats (breaks, owners and continuity are dropped
   beyond that). Each row and slot is priced with a multiplier ``lam >= 0`` (Lagrangian
   relaxation): the bound is ``sum(lam * capacity)`` plus each case's best priced choice,
   where an attempt of a case costs the sum of the prices of its class's rows in its slot.
2. Each case's choice is split by its number of attempts: none (worth 0), exactly one (worth
   exactly ``V q - price``, no approximation), exactly two, exactly three, four and more (and,
   for an obligation of five and more, at least ``need``). Each family of two and more is
   worth at most the least of these upper bounds of its best choice:

   - tangents: ``f`` lies below any of its tangents, ``f(L) <= f(l0) + f'(l0) (L - l0)`` for
     every ``l0``, so the priced value is at most ``V (f(l0) - f'(l0) l0) + sum(V f'(l0) ell -
     price)`` over the chosen items; the best such sum of j items is a sort. Each case uses
     the smallest over its tangents (fixed points and one that follows the case's last
     choice; the last evaluation of a search adds six fixed points and two around the case's
     last choice), any of which alone would be valid;
   - exactly two and three attempts (``_small_sets``): every pair (triple) of the case's
     PAIR_ITEMS (TRIPLE_ITEMS) best items by single value is valued exactly; a choice with an
     item outside those is worth at most the sum of its items' single values, since
     ``1 - prod(1 - q) <= sum(q)``;
   - ``V - j * (the case's cheapest price)``, since ``f <= 1``.
3. Of the rules between a case's own attempts: a contact whose attempts must be slots apart
   (a gap, or a rolling cap of one) keeps that spacing exactly (dynamic programming over the
   slots); otherwise only counts remain: at most ``cap_k`` attempts on contact k (its day cap,
   and what its gap and rolling windows allow in the whole grid) and at most the account's
   cap over all; one attempt of a case at a time is dropped. The enumerated pairs and triples
   keep them all exactly (a rolling cap of two: no three attempts on a contact inside its
   window; one attempt of the case in a slot).
4. Obligations come first: the best plan meets at least as many obligations as ours (``M``).
   That constraint is priced too (``nu >= 0``): every case gains ``nu`` when its relaxed
   choice meets its frequency obligation (at least ``need`` attempts) and the bound pays
   ``nu * M`` back. Callbacks and obligations met by today's history are credited ``nu``
   each without cost (an over-estimate).

Any ``lam >= 0`` and ``nu >= 0`` give a valid bound; the search (column generation,
``colgen.py``) only makes it tighter.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..candidates import BIG, Candidates

MAX_ATTEMPTS = 12  # more attempts than this on one case share the last count's bound
PAIR_ITEMS = 12  # a case's best items whose every pair the bound values exactly
TRIPLE_ITEMS = 8  # ... and whose every triple
LARGE_BOOK = 30_000  # callable cases above which the planner keeps to its cheaper paths


def callable_cases(c: Candidates) -> int:
    """Cases with at least one legal attempt today."""
    return int(len(np.unique(c.contact_account[c.legal.any(axis=1)])))


def contact_count_cap(c: Candidates) -> np.ndarray:
    """Most attempts each contact can take today: day cap, and what gaps and rolling windows
    allow over the whole grid."""
    n_s = c.grid.n
    by_gap = -(-n_s // np.maximum(c.gap_slots, 1))
    by_roll = np.where(c.roll_max >= BIG, BIG, c.roll_max * -(-n_s // np.maximum(c.roll_window, 1)))
    return np.minimum.reduce([c.contact_max, by_gap, by_roll, np.full(len(c.contact_max), n_s)])


def capacity_rows(c: Candidates) -> tuple[np.ndarray, np.ndarray]:
    """Capacity constraints kept by the relaxation: (A [classes, rows] 0/1, cap [rows, slots]).

    Seat groups that some class may use together are merged into components (a class may use
    every group of its component: a relaxation), one row per component; a class that may use
    only part of its component (owner's cases, a required skill) gets a row of its own: its
    attempts in a slot, with those of every class whose groups all lie among its groups, are
    at most the capacity of its groups (no assignment of seats can do better)."""
    n_cls, n_g = c.class_groups.shape
    if n_g == 0:
        return np.zeros((n_cls, 0)), np.zeros((0, c.grid.n))
    parent = list(range(n_g))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k in range(n_cls):
        gs = np.flatnonzero(c.class_groups[k])
        for g in gs[1:]:
            parent[find(int(g))] = find(int(gs[0]))
    roots = np.array([find(g) for g in range(n_g)])
    _u, comp = np.unique(roots, return_inverse=True)
    n_comp = int(comp.max()) + 1
    cap_comp = np.zeros((n_comp, c.grid.n))
    np.add.at(cap_comp, comp, c.groups.capacity)
    extra_caps = []
    A = np.zeros((n_cls, n_comp))
    for k in range(n_cls):
        gs = np.flatnonzero(c.class_groups[k])
        if len(gs) == 0:
            continue
        A[k, comp[gs[0]]] = 1.0
        own = c.groups.capacity[gs].sum(axis=0)
        if np.any(own < cap_comp[comp[gs[0]]]):
            extra_caps.append((k, own))
    if extra_caps:
        # every class whose seats all lie inside class k's seats is counted in k's row too
        # (Hall's condition: together they can use no more than those seats)
        ks = np.array([k for k, _own in extra_caps])
        B = np.zeros((n_cls, len(extra_caps)))
        for k2 in range(n_cls):
            gs = np.flatnonzero(c.class_groups[k2])
            if len(gs):
                B[k2] = c.class_groups[np.ix_(ks, gs)].all(axis=1)
        A = np.concatenate([A, B], axis=1)
        cap_comp = np.concatenate([cap_comp, np.stack([own for _k, own in extra_caps])], axis=0)
    return A, cap_comp


def callback_items(c: Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Callbacks the relaxation credits only to a choice that makes them (account, cand, slot):
    a legal callback, one per case (its first). Every other callback is credited without
    cost (``free_credits``)."""
    cb = c.callbacks
    if not len(cb):
        return (np.zeros(0, np.int64),) * 3
    a, k, t = (cb[x].to_numpy(dtype=np.int64) for x in ("acc", "cand", "slot"))
    ok = (a >= 0) & (k >= 0) & (t >= 0)
    a, k, t = a[ok], k[ok], t[ok]
    ok = c.legal[k, t]
    a, k, t = a[ok], k[ok], t[ok]
    order = np.lexsort((t, k, a))
    a, k, t = a[order], k[order], t[order]
    first = np.flatnonzero(np.diff(np.concatenate([[-1], a])) != 0)
    return a[first], k[first], t[first]


def free_credits(c: Candidates, cases: np.ndarray | None = None) -> float:
    """Obligations credited without cost (of the accounts in the mask ``cases``, if given):
    callbacks other than ``callback_items``, and frequency obligations met by today's
    history."""
    cb = c.callbacks["acc"].to_numpy() if len(c.callbacks) else np.zeros(0, np.int64)
    free = np.bincount(cb[cb >= 0], minlength=c.n_accounts) + ((c.due > 0) & (c.done_today >= c.due))
    free = free - np.bincount(callback_items(c)[0], minlength=c.n_accounts)
    if cases is not None:
        free = free * cases
    return float(free.sum())


def _up32(x: np.ndarray) -> np.ndarray:
    """``x`` in single precision, each value rounded up (never below the double)."""
    y = x.astype(np.float32)
    return np.where(y < x, np.nextafter(y, np.float32(np.inf)), y)


def class_prices(A: np.ndarray, cap: np.ndarray, lam: np.ndarray, usable: np.ndarray | None = None) -> np.ndarray:
    """Price per (class, slot) of capacity rows ``A`` [classes, rows] with capacities ``cap``
    at row prices ``lam``: the sum of its rows' prices (inf where the class has no capacity).
    ``usable``: ``(A @ (cap > 0)) >= A.sum(axis=1)`` when already computed."""
    price = A @ lam
    if usable is None:
        usable = (A @ (cap > 0)) >= A.sum(axis=1, keepdims=True)
    return np.where(usable & (A.sum(axis=1, keepdims=True) > 0), price, np.inf)


class PricedModel:
    """Per-case priced choices, vectorised over all cases (rows: callable contacts grouped by
    case)."""

    def __init__(self, c: Candidates, cases: np.ndarray | None = None, scale: float = 1.0, rows=None,
                 sample: bool = False, callbacks: bool = True):
        """Over all cases, or over ``cases`` (a boolean mask of accounts) with every capacity
        multiplied by ``scale``. ``rows``: ``capacity_rows(c)`` when already built. ``sample``:
        the cases are a sample of the book that prices its seats (``colgen.price_by_sample``):
        only the capacity rows their classes use are kept (``rows_kept``). ``callbacks``: with
        the callback cases' second model (``_callback_model``)."""
        self.c = c
        live = np.flatnonzero(c.legal.any(axis=1))
        if cases is not None:
            live = live[cases[c.contact_account[live]]]
        live = live[np.argsort(c.contact_account[live], kind="stable")]
        self.k = live
        self.acc = c.contact_account[live]
        self.cases, self.seg = np.unique(self.acc, return_index=True)
        n_c = len(self.cases)
        self.case_of_row = np.repeat(np.arange(n_c), np.diff(np.append(self.seg, len(live))))
        self.cls_row = c.account_class[self.acc]
        self.cls_case = c.account_class[self.cases]
        self.V = c.value[self.cases]
        q = np.minimum(c.q[live], 1 - 1e-12)
        self.legal = c.legal[live]
        # stored in single precision, rounded up: every value the bound uses can only grow,
        # so it stays an upper bound (half the memory of double precision on a large book)
        self.qv = _up32(np.where(self.legal, c.value[self.acc, None] * q, -np.inf))
        self.ell = _up32(np.where(self.legal, -np.log1p(-q), 0.0))
        self.cap_k = np.minimum(contact_count_cap(c)[live], MAX_ATTEMPTS)
        # slots two attempts on a contact must be apart: its gap, or its rolling window when
        # the rolling cap is one attempt
        self.space = np.maximum(c.gap_slots[live], np.where(c.roll_max[live] == 1, c.roll_window[live], 1)).astype(np.int64)
        self.width = int(self.cap_k.max()) if len(live) else 0
        per_case = np.add.reduceat(self.cap_k, self.seg) if n_c else np.zeros(0, np.int64)
        self.n_max = np.minimum(np.minimum(per_case, c.account_max[self.cases]), MAX_ATTEMPTS).astype(np.int64)
        self.R = int(self.n_max.max()) if n_c else 0
        self.A, self.cap = capacity_rows(c) if rows is None else rows
        self.cap = self.cap * scale
        self.n_rows_all = self.cap.shape[0]
        self.rows_kept = None
        if sample and len(live) and self.A.size:
            # a sample: only the capacity rows its cases' classes use (on a book of thousands
            # of owners most owners' rows have no sampled case); the others are priced 0
            used = np.flatnonzero(self.A[np.unique(c.account_class[c.contact_account[live]])].any(axis=0))
            if len(used) < self.A.shape[1]:
                self.rows_kept = used
                self.A, self.cap = self.A[:, used], self.cap[used]
        self.usable = (self.A @ (self.cap > 0)) >= self.A.sum(axis=1, keepdims=True)
        # the component rows (the first ones: every class of a component pays them)
        self.n_comp = int(len(np.unique(self.A.argmax(axis=1)[self.A.any(axis=1)]))) if self.A.size else 0
        self.n_pools = self.cap.shape[0]
        need = np.maximum(c.due - c.done_today, 0)
        self.need = need[self.cases]
        self.free_credits = free_credits(c, cases)
        # tangent points: each case's two and three best ell (any l0 is valid; these are
        # near where the relaxed optimum with two or three attempts lies)
        top, _r, _t = self._case_top(np.where(self.legal, self.ell, -np.inf))
        top = np.where(np.isfinite(top), top, 0.0)
        l2 = top[:, :2].sum(axis=1) if self.R else np.zeros(n_c)
        l3 = top[:, :3].sum(axis=1) if self.R else np.zeros(n_c)
        l2 = np.maximum(l2, 1e-6)
        l3 = np.maximum(l3, l2 + 1e-6)
        self.l0 = [l2, l3, 2 * l3, np.full(n_c, np.inf)]
        # a fifth tangent per case, moved to where the case's last relaxed choice of two or
        # more attempts lies (its L): any point is valid, and there the tangent is exact
        self.l0_adapt = l3.copy()
        # with ``fine`` evaluations: six more fixed points and two either side of the moving
        # one (cn 10k at the same prices: 5,884,059 -> 5,859,228, for twice the time, more
        # on a book whose contacts need spacing: the search's last evaluation only)
        self.l0_fine = [np.full(n_c, x) for x in np.geomspace(0.1, 6.0, 6)]
        self.last_met = 0.0
        self.cb_case = np.zeros(0, np.int64)
        self.cb_model = None
        if callbacks:
            self._callback_model()

    def _callback_model(self) -> None:
        """A case with a callback of ``callback_items`` is credited for it only by a choice
        that makes the callback attempt x: such a choice is worth ``V q_x - price_x`` plus the
        best choice of the other attempts for a case worth ``V (1 - q_x)`` (exactly: ``1 -
        (1 - q_x) prod(1 - q) = q_x + (1 - q_x) (1 - prod(1 - q))``), with one attempt fewer
        on the account and on x's contact, none in x's slot. Those cases, so changed, are a
        second model over the same capacity rows (``cb_model``); its best choice per case is
        one more option of the case. Its obligation credits: the callback's, the frequency
        obligation's when the callback alone meets it (one attempt owed), and the second
        model's for the rest (one attempt fewer owed)."""
        c = self.c
        a, k, t = callback_items(c)
        pos = np.searchsorted(self.cases, a)
        mine = (pos < len(self.cases)) & (self.cases[np.minimum(pos, len(self.cases) - 1)] == a) if len(self.cases) else pos < 0
        a, k, t, pos = a[mine], k[mine], t[mine], pos[mine]
        if not len(a):
            return
        rows_of = np.full(len(c.contact_account), -1, np.int64)
        rows_of[self.k] = np.arange(len(self.k))
        self.cb_case, self.cb_row, self.cb_t = pos, rows_of[k], t
        mask = np.zeros(c.n_accounts, dtype=bool)
        mask[a] = True
        m = PricedModel(c, cases=mask, rows=(self.A, self.cap), callbacks=False)
        assert np.array_equal(m.cases, a)
        q_x = np.minimum(c.q[k, t], 1 - 1e-12)
        m.V = m.V * (1.0 - q_x)
        own = m.case_of_row
        m.legal = m.legal.copy()
        m.legal[np.arange(len(m.k)), t[own]] = False  # one attempt of the case in x's slot
        q = np.minimum(c.q[m.k], 1 - 1e-12)
        m.qv = _up32(np.where(m.legal, m.V[own, None] * q, -np.inf))
        m.ell = _up32(np.where(m.legal, -np.log1p(-q), 0.0))
        m.cap_k = np.where(m.k == k[own], np.maximum(m.cap_k - 1, 0), m.cap_k)
        m.n_max = np.maximum(m.n_max - 1, 0)
        self.cb_credit = 1 + (m.need == 1)  # the callback's credit, and the obligation's when it alone meets it
        m.need = np.maximum(m.need - 1, 0)
        m.free_credits = 0.0
        self.cb_model = m
        self.cb_rows = rows_of[m.k]  # each row of the second model as a row of this one

    # --- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _spaced_best(W: np.ndarray, space: np.ndarray, J: int):
        """Best sum of exactly j items of each row of W, any two at least ``space`` slots
        apart (j = 0..J), by dynamic programming over the slots: (h [rows, J+1], take
        [J, rows, slots]) where take[j-1, r, t] says the best j-set up to slot t uses t."""
        m, T = W.shape
        h = np.full((m, J + 1), -np.inf)
        h[:, 0] = 0.0
        take_t = np.zeros((J, T, m), dtype=bool)  # slot-major: each step reads one slot's row
        WT = np.ascontiguousarray(W.T)
        for sp in np.unique(space):
            rows = np.flatnonzero(space == sp)
            Ws = WT[:, rows]
            f_prev = np.zeros((T + 1, len(rows)))  # f[p]: best j-set among slots < p
            take_s = np.zeros((J, T, len(rows)), dtype=bool)
            for j in range(1, J + 1):
                f = np.full((T + 1, len(rows)), -np.inf)
                for t in range(T):
                    cand = f_prev[max(t - int(sp) + 1, 0)] + Ws[t]
                    better = cand > f[t]
                    np.copyto(f[t + 1], np.where(better, cand, f[t]))
                    take_s[j - 1, t] = better
                h[rows, j] = f[T]
                f_prev = f
            take_t[:, :, rows] = take_s
        take = take_t.transpose(0, 2, 1)
        return h, take

    def _case_top(self, W: np.ndarray, case_of_row=None, cap_k=None, n_max=None, space=None):
        """Each case's items in descending value under the contact count caps, padded to
        ``R`` columns with -inf: (values, row, slot), each [cases, R]. By default over all
        rows; else over the rows given (W's rows, their local case, caps, spacing).

        A contact whose attempts must be ``space`` > 1 slots apart (a gap, or a rolling
        cap of one) gets items worth the increments of its best 1, 2, ... spaced attempts
        (exact for the contact: a best spaced j-set is a min-cost flow, so its value is
        concave in j and the increments fall), and its items' slots are a best spaced set."""
        if case_of_row is None:
            case_of_row, cap_k, n_max, space = self.case_of_row, self.cap_k, self.n_max, self.space
        n_c, R = len(n_max), self.R
        vals = np.full((n_c, R), -np.inf)
        rows = np.zeros((n_c, R), dtype=np.int64)
        slots = np.zeros((n_c, R), dtype=np.int64)
        if n_c == 0 or R == 0:
            return vals, rows, slots
        w = min(self.width, W.shape[1])
        if w < W.shape[1]:
            part = np.argpartition(-W, w - 1, axis=1)[:, :w]
        else:
            part = np.broadcast_to(np.arange(W.shape[1]), W.shape).copy()
        v = np.take_along_axis(W, part, axis=1)
        srt = np.argsort(-v, axis=1, kind="stable")
        part = np.take_along_axis(part, srt, axis=1)[:, :w]
        v = np.take_along_axis(v, srt, axis=1)[:, :w]
        v = np.where(np.arange(v.shape[1])[None, :] < cap_k[:, None], v, -np.inf)
        sp = np.flatnonzero(space > 1) if space is not None else np.zeros(0, np.int64)
        if len(sp):
            J = int(min(w, cap_k[sp].max()))
            h, take = self._spaced_best(W[sp], space[sp], J)
            with np.errstate(invalid="ignore"):
                inc = np.where(np.isfinite(h[:, 1:]), h[:, 1:] - h[:, :-1], -np.inf)
            inc = np.where(np.arange(J)[None, :] < cap_k[sp][:, None], inc, -np.inf)
            inc = -np.sort(-inc, axis=1)  # falling already; sorted, the sum only grows
            v[sp] = -np.inf
            v[sp, :J] = inc
        flat_v = v.reshape(-1)
        flat_r = np.repeat(np.arange(len(W)), v.shape[1])
        flat_t = part.reshape(-1)
        case = case_of_row[flat_r]
        keep = np.isfinite(flat_v)
        flat_v, flat_r, flat_t, case = flat_v[keep], flat_r[keep], flat_t[keep], case[keep]
        order = np.lexsort((-flat_v, case))
        case = case[order]
        first = np.searchsorted(case, np.arange(n_c))
        rank = np.arange(len(case)) - first[case]
        ok = rank < n_max[case]
        vals[case[ok], rank[ok]] = flat_v[order][ok]
        rows[case[ok], rank[ok]] = flat_r[order][ok]
        slots[case[ok], rank[ok]] = flat_t[order][ok]
        if len(sp):
            # slots of a spaced contact: a best spaced set of as many attempts as it got
            is_sp = np.zeros(len(W), dtype=bool)
            is_sp[sp] = True
            got = np.isfinite(vals) & is_sp[rows]
            n_got = np.bincount(rows[got], minlength=len(W))[sp]
            pos_in_sp = np.full(len(W), -1)
            pos_in_sp[sp] = np.arange(len(sp))
            jcur = n_got.copy()
            t = np.full(len(sp), W.shape[1] - 1)
            pr, pt = [], []
            for _ in range(W.shape[1]):
                live = (jcur > 0) & (t >= 0)
                if not live.any():
                    break
                li = np.flatnonzero(live)
                pick = take[jcur[li] - 1, li, t[li]]
                pr.append(li[pick])
                pt.append(t[li[pick]])
                jcur[li[pick]] -= 1
                t[li] = np.where(pick, t[li] - space[sp][li], t[li] - 1)
            if pr:
                pr, pt = np.concatenate(pr), np.concatenate(pt)
                o = np.lexsort((-W[sp[pr], pt], pr))
                ci, ri = np.nonzero(got)
                o2 = np.lexsort((ri, pos_in_sp[rows[ci, ri]]))
                if len(o) == len(o2):
                    slots[ci[o2], ri[o2]] = pt[o]
        return vals, rows, slots

    def _small_sets(self, sel: np.ndarray, local: np.ndarray, n_act: int, P_sel: np.ndarray, chunk: int = 20_000):
        """Upper bounds of each case's best choice of exactly two and of exactly three attempts
        (the cases ``local`` numbers 0..n_act-1; their rows ``sel``, priced ``P_sel``).

        Every pair of a case's PAIR_ITEMS best items by single value (``V q - price``), and
        every triple of its TRIPLE_ITEMS best, is valued exactly, ``V (1 - prod(1 - q))`` less
        its prices, and dropped when it breaks a rule between its own attempts (two in one
        slot, a contact's day cap or spacing, a rolling cap of two). A choice with an item
        outside those is worth at most the sum of its items' single values (``1 - prod(1 - q)
        <= sum(q)``), so at most the best one (two) items' plus the next item's after them.
        Returns (values [2, n_act], rows (-1: no enumerated set) and slots of the best
        enumerated pair [n_act, 2] and triple [n_act, 3])."""
        c = self.c
        M = max(PAIR_ITEMS, TRIPLE_ITEMS) + 1
        T = P_sel.shape[1]
        values = np.full((2, n_act), -np.inf)
        rows = [np.full((n_act, 2), -1, np.int64), np.full((n_act, 3), -1, np.int64)]
        slots = [np.zeros((n_act, 2), np.int64), np.zeros((n_act, 3), np.int64)]
        i2, j2 = np.triu_indices(PAIR_ITEMS, 1)
        a3, b3, c3 = (np.array(x) for x in zip(*itertools.combinations(range(TRIPLE_ITEMS), 3)))
        pair_of = np.zeros((PAIR_ITEMS, PAIR_ITEMS), np.int64)
        pair_of[i2, j2] = np.arange(len(i2))
        starts = np.searchsorted(local, np.arange(0, n_act + chunk, chunk))
        for n0, (lo, hi) in enumerate(zip(starts[:-1], starts[1:])):
            if lo == hi:
                continue
            c0 = n0 * chunk
            n = min(chunk, n_act - c0)
            r = self.qv[sel[lo:hi]] - P_sel[lo:hi]  # -inf where not legal or no seat
            w = min(M, T)
            part = np.argpartition(-r, w - 1, axis=1)[:, :w] if w < T else np.broadcast_to(np.arange(T), r.shape)
            v = np.take_along_axis(r, part, axis=1).reshape(-1)
            fr = np.repeat(np.arange(lo, hi), w)
            ft = part.reshape(-1)
            keep = np.isfinite(v)
            v, fr, ft = v[keep], fr[keep], ft[keep]
            case = local[fr] - c0
            order = np.lexsort((-v, case))
            case, v, fr, ft = case[order], v[order], fr[order], ft[order]
            rank = np.arange(len(case)) - np.searchsorted(case, np.arange(n))[case]
            ok = rank < M
            Rv = np.full((n, M), -np.inf)
            Rr = np.full((n, M), -1, np.int64)
            Rt = np.zeros((n, M), np.int64)
            Rv[case[ok], rank[ok]] = v[ok]
            Rr[case[ok], rank[ok]] = sel[fr[ok]]
            Rt[case[ok], rank[ok]] = ft[ok]
            has = Rr >= 0
            kk = self.k[np.maximum(Rr, 0)]
            Q = np.where(has, np.minimum(c.q[kk, Rt], 1 - 1e-12), 0.0)
            cap = np.where(has, self.cap_k[np.maximum(Rr, 0)], 0)
            space = self.space[np.maximum(Rr, 0)]
            first_row = sel[lo:hi][np.searchsorted(local[lo:hi], np.arange(c0, c0 + n))]
            V = self.V[self.case_of_row[first_row]]

            # every pair of the first PAIR_ITEMS items: may both be planned (another slot;
            # on one contact its day cap and spacing allow two), and the product of their q
            same = Rr[:, i2] == Rr[:, j2]
            ok2 = (Rt[:, i2] != Rt[:, j2]) & (~same | ((cap[:, i2] >= 2) & (np.abs(Rt[:, i2] - Rt[:, j2]) >= space[:, i2])))
            qq = Q[:, i2] * Q[:, j2]
            val = Rv[:, i2] + Rv[:, j2] - (1 - 1e-12) * V[:, None] * qq
            val = np.where(ok2 & np.isfinite(val), val, -np.inf)
            b = val.argmax(axis=1)
            best = val[np.arange(n), b]
            found = np.isfinite(best)
            values[0, c0:c0 + n] = np.maximum(best, Rv[:, 0] + Rv[:, PAIR_ITEMS])
            rows[0][c0:c0 + n] = np.where(found[:, None], np.stack([Rr[np.arange(n), i2[b]], Rr[np.arange(n), j2[b]]], axis=1), -1)
            slots[0][c0:c0 + n] = np.stack([Rt[np.arange(n), i2[b]], Rt[np.arange(n), j2[b]]], axis=1)
            # triples: their three pairs' tests and products, and a contact's day cap and a
            # rolling cap of two when all three are on it
            ab, ac, bc = pair_of[a3, b3], pair_of[a3, c3], pair_of[b3, c3]
            val = (Rv[:, a3] + Rv[:, b3] + Rv[:, c3]
                   - (1 - 1e-12) * V[:, None] * (qq[:, ab] + qq[:, ac] + qq[:, bc] - qq[:, ab] * Q[:, c3]))
            one_row = same[:, ab] & same[:, bc]
            kr = kk[:, a3]
            span = Rt[:, a3] - Rt[:, c3]
            span = np.maximum(np.abs(span), np.maximum(np.abs(Rt[:, a3] - Rt[:, b3]), np.abs(Rt[:, b3] - Rt[:, c3])))
            three_ok = ~one_row | ((cap[:, a3] >= 3) & ((c.roll_max[kr] > 2) | (span >= c.roll_window[kr])))
            ok3 = ok2[:, ab] & ok2[:, ac] & ok2[:, bc] & three_ok & np.isfinite(val)
            val = np.where(ok3, val, -np.inf)
            b = val.argmax(axis=1)
            best = val[np.arange(n), b]
            found = np.isfinite(best)
            values[1, c0:c0 + n] = np.maximum(best, Rv[:, 0] + Rv[:, 1] + Rv[:, TRIPLE_ITEMS])
            ar = np.arange(n)
            rows[1][c0:c0 + n] = np.where(found[:, None], np.stack([Rr[ar, a3[b]], Rr[ar, b3[b]], Rr[ar, c3[b]]], axis=1), -1)
            slots[1][c0:c0 + n] = np.stack([Rt[ar, a3[b]], Rt[ar, b3[b]], Rt[ar, c3[b]]], axis=1)
        return values, rows, slots

    def class_prices(self, lam: np.ndarray) -> np.ndarray:
        """Price per (class, slot): the sum of the prices of its capacity rows (inf where the
        class has no capacity)."""
        return class_prices(self.A, self.cap, lam, self.usable)

    # --- the relaxation ----------------------------------------------------------------------
    def evaluate(self, lam: np.ndarray, nu: float = 0.0, met: int = 0, want_usage: bool = False,
                 fine: bool = False, split_nu: float | None = None):
        """Bound at ``(lam, nu)``; with ``want_usage`` also the relaxed optimum's capacity use
        [pools, slots] and its choice per case (option 0/1/2+, chosen items). ``fine``: with
        more tangent points (tighter, about twice the time). ``split_nu``: instead, each case's
        best choice that does not meet its obligation and best that does, at obligation price 0
        but searched as for any price up to ``split_nu`` (``best_nu`` finds the best price from
        them): ``(sum(lam * capacity), without, with)``."""
        if split_nu is not None:
            nu = 0.0
        n_c = len(self.cases)
        price = self.class_prices(lam)
        P = price[self.cls_row]
        const = float(np.sum(lam * self.cap)) + nu * (self.free_credits - met)
        if n_c == 0:
            self.last_met = self.free_credits
            self.last_case_best = np.zeros(0)
            if split_nu is not None:
                return float(np.sum(lam * self.cap)), np.zeros(0), np.zeros(0)
            return const, (np.zeros_like(self.cap) if want_usage else None)
        need = self.need
        # exactly one attempt: exact value
        r1 = self.qv - P
        row_t = r1.argmax(axis=1)
        row_best = r1[np.arange(len(r1)), row_t]
        best1 = np.where(self.n_max >= 1, np.maximum.reduceat(row_best, self.seg), -np.inf)
        idx = np.arange(n_c)
        need_c = np.clip(need, 0, self.R)
        min_p = np.minimum.reduceat(np.where(self.legal, P, np.inf).min(axis=1), self.seg)
        # a case skips the passes for two and more attempts when no such choice can beat its
        # other ones: j attempts are worth at most V - j * (the case's cheapest price), plus
        # the obligation's price (the test only widens as the obligation price grows)
        nu_p = nu if split_nu is None else split_nu
        floor = np.maximum(0.0, best1 + nu_p * (need == 1))
        act = np.flatnonzero((self.n_max >= 2) & (self.V - 2 * min_p + nu_p * ((need >= 1) & (need <= self.n_max)) > floor))
        # families of choices by their number of attempts j: exactly 2, exactly 3, 4 and more,
        # and (an obligation of five and more) at least ``need``; each family's value is the
        # least of several upper bounds of its best choice
        fam = np.full((4, n_c), -np.inf)
        picks = [None] * 4  # per family, the chosen items: (rows into self.k, slots) [act, j]
        if len(act):
            sel = np.flatnonzero(np.isin(self.case_of_row, act))
            local = np.searchsorted(act, self.case_of_row[sel])
            V_act, need_act = self.V[act], need[act]
            nc_act = need_c[act]
            n_act = len(act)
            li = np.arange(n_act)
            P_sel = P[sel]
            ell_w = np.where(np.isfinite(P_sel), self.ell[sel], 0.0)
            legal_sel = self.legal[sel]
            can_b = (need_act >= 5) & (need_act <= self.n_max[act])
            tang = np.full((4, n_act), np.inf)
            tang_pick = [None] * 4
            tangents = self.l0 + [self.l0_adapt]
            if fine:
                tangents = tangents + self.l0_fine + [self.l0_adapt * 0.7, self.l0_adapt * 1.4]
            for l0_all in tangents:
                l0 = l0_all[act]
                c1 = np.exp(-l0)
                c0 = np.where(np.isfinite(l0), 1.0 - c1 * (1.0 + np.where(np.isfinite(l0), l0, 0.0)), 1.0)
                W = np.where(legal_sel, (V_act * c1)[local, None] * ell_w - P_sel, -np.inf)
                vals, rows, slots = self._case_top(W, local, self.cap_k[sel], self.n_max[act], self.space[sel])
                # f lies below its tangent at l0: a choice is worth at most the tangent's
                # constant plus its items' linear values, at most the best such j items
                base = V_act * c0
                pre = np.cumsum(vals, axis=1)  # -inf once an item is missing
                pos = np.maximum(vals, 0.0)
                suf = np.concatenate([np.cumsum(pos[:, ::-1], axis=1)[:, ::-1], np.zeros((n_act, 1))], axis=1)
                none = np.full(n_act, -np.inf)
                t = np.stack([
                    base + pre[:, 1] if self.R >= 2 else none,
                    base + pre[:, 2] if self.R >= 3 else none,
                    base + pre[:, 3] + suf[:, 4] if self.R >= 4 else none,
                    np.where(can_b, base + pre[li, np.maximum(nc_act - 1, 0)] + suf[li, nc_act], -np.inf),
                ])
                better = t < tang
                tang = np.where(better, t, tang)
                if want_usage:
                    got = (vals, slots, sel[rows])
                    for f in range(4):
                        tang_pick[f] = got if tang_pick[f] is None else tuple(
                            np.where(better[f][:, None], x, y) for x, y in zip(got, tang_pick[f]))
            tang = np.where(np.isfinite(tang), tang, -np.inf)
            # exactly two and exactly three attempts: enumerated over each case's best items
            exact, ex_rows, ex_slots = self._small_sets(sel, local, n_act, P_sel)
            cap_j = V_act[None, :] - np.array([2, 3, 4])[:, None] * min_p[act][None, :]
            vals4 = np.minimum(np.minimum(tang[:3], cap_j), np.stack([exact[0], exact[1], np.full(n_act, np.inf)]))
            fam[:3, act] = np.where(self.n_max[act][None, :] >= np.array([2, 3, 4])[:, None], vals4, -np.inf)
            fam[3, act] = np.where(can_b, np.minimum(tang[3], V_act - need_act * min_p[act]), -np.inf)
            if want_usage:
                for f in range(4):
                    vals, slots, grow = tang_pick[f]
                    j = np.array([2, 3, 4])[f] if f < 3 else nc_act
                    rank = np.arange(self.R)[None, :]
                    take = np.isfinite(vals) & ((rank < np.broadcast_to(j, (n_act,))[:, None]) | ((vals > 0) & (f >= 2)))
                    picks[f] = (take, slots, grow)
                for f in range(2):
                    # an enumerated set, where there is one, is the family's choice
                    has = ex_rows[f][:, 0] >= 0
                    take, slots, grow = picks[f]
                    take = take.copy()
                    slots, grow = slots.copy(), grow.copy()
                    take[has] = False
                    take[has, : f + 2] = True
                    slots[has, : f + 2] = ex_slots[f][has]
                    grow[has, : f + 2] = ex_rows[f][has]
                    picks[f] = (take, slots, grow)
        credit = np.stack([np.zeros(n_c, bool), need == 1, (need >= 1) & (need <= 2), (need >= 1) & (need <= 3),
                           (need >= 1) & (need <= 4), np.ones(n_c, bool)], axis=1).astype(np.int64)
        opts = np.concatenate([np.zeros((n_c, 1)), best1[:, None], fam.T], axis=1)
        if self.cb_model is not None:
            # a callback case's choices that make its callback: the callback attempt's own
            # value and the second model's best choice of the rest, without and with its
            # obligation (credits: the callback's own, and the rest's)
            own = self.qv[self.cb_row, self.cb_t] - P[self.cb_row, self.cb_t]
            if split_nu is None:
                self.cb_model.evaluate(lam, nu, 0, want_usage=want_usage, fine=fine)
                rest_credit = self.cb_model.last_credit
                made = [(self.cb_model.last_case_best - nu * rest_credit, self.cb_credit + rest_credit)]
            else:
                _s, without, with_ = self.cb_model.evaluate(lam, 0.0, 0, fine=fine, split_nu=split_nu)
                made = [(without, self.cb_credit), (with_, self.cb_credit + 1)]
            for value, cred in made:
                col = np.full(n_c, -np.inf)
                col[self.cb_case] = own + value
                cr = np.zeros(n_c, np.int64)
                cr[self.cb_case] = cred
                opts = np.concatenate([opts, col[:, None]], axis=1)
                credit = np.concatenate([credit, cr[:, None]], axis=1)
        if split_nu is not None:
            # each case's best choice with no obligation credit (A), with one (B) and with
            # two (C, a callback case): max(A, B + nu, C + 2 nu) is at most
            # A + max(0, B' - A + nu) + max(0, C - B' + nu) with B' = max(B, (A + C) / 2)
            # (equal when B' - A >= C - B', which B' makes so): one entry (A, B') per case,
            # and one (0, C - B') more per case that can earn two
            best_c = [np.where(credit == j, opts, -np.inf).max(axis=1) for j in range(3)]
            A, C = best_c[0], best_c[2]
            with np.errstate(invalid="ignore"):
                B = np.maximum(best_c[1], np.where(np.isfinite(C), (A + C) / 2, -np.inf))
            two = np.flatnonzero(np.isfinite(C))
            return (float(np.sum(lam * self.cap)), np.concatenate([A, np.zeros(len(two))]),
                    np.concatenate([B, C[two] - B[two]]))
        opts = opts + nu * credit
        choice = opts.argmax(axis=1)
        best = opts[idx, choice]
        self.last_case_best = best
        self.last_credit = credit[idx, choice]
        self.last_met = float(self.free_credits + self.last_credit.sum())
        bound = const + float(best.sum())
        if not want_usage:
            return bound, None
        usage = np.zeros_like(self.cap)
        items_c, items_t, items_r = [], [], []
        one = choice == 1
        if one.any():
            # the case's best row for one attempt
            rb = np.flatnonzero(row_best == best1[self.case_of_row])
            _u, first = np.unique(self.case_of_row[rb], return_index=True)
            rb = rb[first]
            sel = one[self.case_of_row[rb]]
            items_c.append(self.case_of_row[rb[sel]])
            items_t.append(row_t[rb[sel]])
            items_r.append(rb[sel])
        for f in range(4):
            if picks[f] is None or not (choice == f + 2).any():
                continue
            take, slots, grow = picks[f]  # rows: the cases in act
            take = (choice[act] == f + 2)[:, None] & take
            items_c.append(np.broadcast_to(act[:, None], take.shape)[take])
            items_t.append(slots[take])
            items_r.append(grow[take])
        if self.cb_model is not None and (choice == 6).any():
            # the callback attempt and the second model's choice of the rest
            chose = choice[self.cb_case] == 6
            items_c.append(self.cb_case[chose])
            items_t.append(self.cb_t[chose])
            items_r.append(self.cb_row[chose])
            vc, vr, vt = self.cb_model.last_items
            keep = chose[vc]
            items_c.append(self.cb_case[vc[keep]])
            items_t.append(vt[keep])
            items_r.append(self.cb_rows[vr[keep]])
        if items_c:
            cc = np.concatenate(items_c)
            t = np.concatenate(items_t)
            per_class = np.zeros((self.A.shape[0], self.c.grid.n))
            np.add.at(per_class, (self.cls_case[cc], t), 1.0)
            usage = self.A.T @ per_class
            # the relaxed choice: (case index into self.cases, row into self.k, slot)
            self.last_items = (cc, np.concatenate(items_r), t)
            L = np.bincount(cc, weights=self.ell[self.last_items[1], t], minlength=n_c)
            multi_choice = (choice >= 2) & (L > 0)
            self.l0_adapt = np.where(multi_choice, L, self.l0_adapt)
        else:
            self.last_items = (np.zeros(0, np.int64),) * 3
        return bound, usage


class ChunkedModel:
    """The bound over all cases, evaluated chunk by chunk of cases (each a ``PricedModel``):
    the same value as one model, with working arrays the size of a chunk (a large book)."""

    def __init__(self, c: Candidates, chunk_cases: int = 200_000, cases: np.ndarray | None = None,
                 scale: float = 1.0):
        """``cases`` and ``scale``: only the accounts of this mask, with every capacity times
        ``scale`` (``PricedModel``'s)."""
        rows = capacity_rows(c)
        self.cap = rows[1] * scale
        n = c.n_accounts
        bounds = list(range(0, n, max(chunk_cases, 1))) + [n]
        self.parts = []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            mask = np.zeros(n, dtype=bool)
            mask[lo:hi] = True
            if cases is not None:
                mask &= cases
            self.parts.append(PricedModel(c, cases=mask, rows=rows, scale=scale))
        self.n_cases = sum(len(part.cases) for part in self.parts)
        self.free_credits = float(sum(part.free_credits for part in self.parts))

    def evaluate(self, lam: np.ndarray, nu: float = 0.0, met: float = 0.0, fine: bool = False) -> float:
        """The bound at ``(lam, nu)`` for plans meeting at least ``met`` obligations: each
        chunk's value counts the seats' and the obligations' terms once more, taken off here.
        ``fine``: ``PricedModel.evaluate``'s."""
        total = sum(part.evaluate(lam, nu, 0.0, fine=fine)[0] for part in self.parts)
        return total - (len(self.parts) - 1) * float(np.sum(lam * self.cap)) - nu * met

    def evaluate_best_nu(self, lam: np.ndarray, met: float, nu_max: float, fine: bool = False):
        """The bound at seat prices ``lam`` and the best obligation price up to ``nu_max``:
        ``(bound, nu, split)`` (``best_nu``), one evaluation's work; ``split`` is ``best_nu``'s
        input less the count, to move the bound to another count exactly:
        ``best_nu(*split, met, nu_max)``."""
        parts = [part.evaluate(lam, 0.0, 0.0, fine=fine, split_nu=nu_max) for part in self.parts]
        split = (parts[0][0], np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
                 self.free_credits)
        return (*best_nu(*split, met, nu_max), split)


def best_nu(seats: float, without: np.ndarray, with_: np.ndarray, free: float, met: float,
            nu_max: float) -> tuple[float, float]:
    """The obligation price that minimises the bound at fixed seat prices, and that bound:
    ``(bound, nu)``. The bound at ``nu`` is ``seats + nu * (free - met) + sum(max(without,
    with_ + nu))`` (``PricedModel.evaluate`` with ``split_nu``), convex and piecewise linear in
    ``nu``; its slope is the number of cases whose obligation is worth meeting at ``nu``
    (``without - with_ < nu``) less the ``met - free`` the plan meets beyond the free ones, so
    the best ``nu`` is that many-th smallest difference (0 if enough cases meet it for free;
    ``nu_max`` at most: the split is exact only up to there)."""
    gap = without - with_  # +inf where the case cannot meet its obligation
    need = int(np.ceil(met - free - 1e-9))
    if need <= 0:
        nu = 0.0
    else:
        finite = np.sort(gap[np.isfinite(gap)])
        nu = float(finite[need - 1]) if need <= len(finite) else nu_max
        nu = min(max(nu, 0.0), nu_max)
    return seats + nu * (free - met) + float(np.maximum(without, with_ + nu).sum()), nu


def upper_bound(c: Candidates, met: int = 0, plan_attempts=None, rounds: int = 40,
                deadline: float | None = None):
    """The tightest bound found, with its capacity prices and obligation price:
    ``(bound, lam, nu)``. ``met`` is the number of obligations our plan meets (the best plan
    meets at least as many); ``plan_attempts`` (the plan's attempts) seed the search. The
    prices come from column generation (``colgen.py``; on a book of more than LARGE_BOOK
    cases, column generation over a sample of it); every bound is evaluated here."""
    from .colgen import price_by_columns, price_by_sample

    if callable_cases(c) > LARGE_BOOK:
        bound, lam, nu, _evals, _met = price_by_sample(c, met, plan_attempts, deadline=deadline)
        return bound, lam, nu
    model = PricedModel(c)
    if len(model.cases) == 0 or model.n_pools == 0:
        value, _ = model.evaluate(np.zeros(model.cap.shape), 0.0, met)
        return value, np.zeros(model.cap.shape), 0.0
    bound, lam, nu, _evals, _master = price_by_columns(model, met, plan_attempts, rounds=rounds, deadline=deadline)
    return bound, lam, nu
