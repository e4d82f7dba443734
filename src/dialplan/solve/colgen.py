"""Capacity prices by column generation: the bound's dual solved as a linear program.

The Lagrangian bound of ``bound.py`` is the value of a linear program over the cases' own
choices ("columns": a set of attempts of one case with its relaxed value, the capacity
rows it uses and whether it meets the case's obligation): at most one column per case,
capacity per row and slot, at least ``M`` obligations. The master LP over the columns found
so far gives prices (its duals); at those prices the per-case oracle of ``bound.py`` both
evaluates a valid bound and returns each case's best column, which joins the master when it
is worth more than the case's current dual. This converges in far fewer evaluations than
price-only methods, because the master remembers every case's alternatives.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from .bound import PricedModel

log = logging.getLogger("dialplan")


def _quiet_highs(highspy):
    """A HiGHS instance without its start-up banner on stdout (the CLI's output is ours)."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


GOLD = (np.sqrt(5) - 1) / 2


def golden_section(f, lo: float, hi: float, steps: int, stop=lambda: False, fallback: float | None = None) -> float:
    """Golden-section search of ``f`` (convex) over [lo, hi] on a log scale, one evaluation a
    step; returns the best point seen. ``stop()`` is asked before the first two evaluations
    (if true: ``fallback``, by default the first probe point, unevaluated) and before each
    step."""
    a, b = np.log(lo), np.log(hi)
    x1, x2 = b - GOLD * (b - a), a + GOLD * (b - a)
    if stop():
        return float(np.exp(x1)) if fallback is None else fallback
    f1, f2 = f(np.exp(x1)), f(np.exp(x2))
    for _ in range(steps):
        if stop():
            break
        if f1 <= f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - GOLD * (b - a)
            f1 = f(np.exp(x1))
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + GOLD * (b - a)
            f2 = f(np.exp(x2))
    return float(np.exp(x1 if f1 <= f2 else x2))


class Master:
    """The restricted master LP (HiGHS), grown column by column."""

    def __init__(self, model: PricedModel, need_met: float):
        import highspy

        self.model = model
        self.T = model.c.grid.n
        self.n_cap = model.cap.size
        self.n_case = len(model.cases)
        self.h = _quiet_highs(highspy)
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("threads", 1)
        self.h.setOptionValue("presolve", "off")  # keeps the basis between rounds (warm start)
        # primal simplex: new columns keep the basis primal feasible (cn 10k: 9.6 s of master
        # solves against 22.5 s with the dual)
        self.h.setOptionValue("simplex_strategy", 4)
        inf = self.inf = highspy.kHighsInf
        cap = model.cap.reshape(-1)
        # rows: capacity (row, slot) | obligations | one column per case
        lower = np.concatenate([np.full(self.n_cap, -inf), [need_met], np.full(self.n_case, -inf)])
        upper = np.concatenate([cap, [inf], np.ones(self.n_case)])
        self.h.addRows(len(lower), lower, upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        self.obl_row = self.n_cap
        self.case_row0 = self.n_cap + 1
        # an expensive slack keeps the obligation row feasible before real columns exist
        big = float(model.V.sum() + 1.0)
        self.h.addCols(1, np.array([big]), np.array([0.0]), np.array([inf]), 1,
                       np.array([0], np.int32), np.array([self.obl_row], np.int32), np.array([1.0]))
        self.n_cols = 1
        self.col_case, self.col_credit, self.col_value = [np.array([-1])], [np.array([False])], [np.array([-big])]
        self.item_col, self.item_k, self.item_t = [], [], []

    def add(self, case: np.ndarray, items_case: np.ndarray, items_t: np.ndarray, value: np.ndarray, credit: np.ndarray,
            items_k: np.ndarray):
        """Add one column per entry of ``case`` (cases index model.cases); items_case says
        which column each item (slot items_t) belongs to, as positions 0..len(case)-1."""
        if len(case) == 0:
            return
        m = self.model
        order = np.argsort(items_case, kind="stable")
        items_case, items_t, items_k = items_case[order], items_t[order], items_k[order]
        self.col_case.append(case)
        self.col_credit.append(credit)
        self.col_value.append(value)
        self.item_col.append(self.n_cols + items_case)
        self.item_k.append(items_k)
        self.item_t.append(items_t)
        cls = m.cls_case[case[items_case]]
        # each item uses every capacity row of its class, in its slot
        r_cls, r_row = np.nonzero(m.A)
        per_cls = [r_row[r_cls == k] for k in range(m.A.shape[0])]
        idx_parts, col_parts = [], []
        for k in np.unique(cls):
            sel = np.flatnonzero(cls == k)
            for r in per_cls[k]:
                idx_parts.append(r * self.T + items_t[sel])
                col_parts.append(items_case[sel])
        cap_idx = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int64)
        cap_col = np.concatenate(col_parts) if col_parts else np.zeros(0, np.int64)
        n = len(case)
        # a column's obligation credits (a callback case's choice can meet two): one entry each,
        # summed below
        credit = np.asarray(credit, dtype=np.int64)
        rows = np.concatenate([cap_idx, np.full(int(credit.sum()), self.obl_row), self.case_row0 + case])
        cols = np.concatenate([cap_col, np.repeat(np.arange(n), credit), np.arange(n)])
        vals = np.ones(len(rows))
        # merge duplicates (two items of a column in one slot and row) by summing
        key = cols.astype(np.int64) * (self.case_row0 + self.n_case) + rows
        uk, inv = np.unique(key, return_inverse=True)
        vals = np.bincount(inv, weights=vals)
        cols, rows = uk // (self.case_row0 + self.n_case), uk % (self.case_row0 + self.n_case)
        starts = np.searchsorted(cols, np.arange(n)).astype(np.int32)
        inf = 1e30
        self.h.addCols(n, -value.astype(np.float64), np.zeros(n), np.full(n, inf), len(rows),
                       starts, rows.astype(np.int32), vals.astype(np.float64))
        self.n_cols += n

    def solve(self, seconds: float | None = None):
        """Prices (capacity [rows, slots], obligation) and each case's dual (from the last
        basis when ``seconds`` run out: still prices, so any bound evaluated at them holds)."""
        if seconds is not None:
            # HiGHS measures its time limit on a clock that runs across all solves of the
            # instance: the limit is what has run so far plus this solve's share
            self.h.setOptionValue("time_limit", self.h.getRunTime() + max(float(seconds), 0.1))
        self.h.run()
        sol = self.h.getSolution()
        dual = np.asarray(sol.row_dual)
        lam = np.maximum(-dual[: self.n_cap], 0.0).reshape(self.model.cap.shape)
        nu = max(float(dual[self.obl_row]), 0.0)
        u = np.maximum(-dual[self.case_row0:], 0.0)
        self.x = np.asarray(sol.col_value)
        return lam, nu, u, -float(self.h.getInfo().objective_function_value)

    def rounded(self, book, which: str = "all") -> None:
        """LP-guided plan: the master's columns go into the book (every rule checked there),
        heaviest LP weight first; among equals, obligations first, then columns of more
        attempts (their single seat is the hardest to find), then value. An attempt the book
        refuses (a window, a rolling cap or one attempt at a time, which the LP does not
        see) is tried on the case's other numbers in that slot, then in the slots around
        it. A column meeting an obligation is kept only whole."""
        m = self.model
        c = m.c
        case = np.concatenate(self.col_case)
        credit = np.concatenate(self.col_credit) > 0
        value = np.concatenate(self.col_value)
        icol = np.concatenate(self.item_col)
        ik = np.concatenate(self.item_k)
        it = np.concatenate(self.item_t)
        order_items = np.argsort(icol, kind="stable")
        icol, ik, it = icol[order_items], ik[order_items], it[order_items]
        start = np.searchsorted(icol, np.arange(len(case) + 1))
        size = np.diff(start)
        x = self.x[: len(case)]
        cols = np.flatnonzero((x > 1e-6) & (case >= 0) & {"all": True, "credit": credit, "value": ~credit}[which])
        # seats: a class that may use few seats goes first, and every case takes the seat
        # fewest classes may use (the broad seats stay free for the broad classes)
        n_seats_of_class = (c.class_groups[:, np.clip(c.groups.seat_group, 0, None)] & (c.groups.seat_group >= 0)[None, :]).sum(axis=1)
        narrow = n_seats_of_class[c.account_class[m.cases[case[cols]]]]
        cols = cols[np.lexsort((cols, -value[cols], -size[cols], narrow, ~credit[cols], -np.round(x[cols], 2)))]
        seg_end = np.append(m.seg[1:], len(m.k))
        ok_seat = book.seat_ok_for_class
        breadth = ok_seat.sum(axis=0)
        n_s = c.grid.n
        for j in cols:
            cse = int(case[j])
            a = int(m.cases[cse])
            if a in book.case_attempts:
                continue
            items = list(zip(ik[start[j]:start[j + 1]].tolist(), it[start[j]:start[j + 1]].tolist()))
            slots = sorted({t for _k, t in items})
            seats = np.flatnonzero(ok_seat[c.account_class[a]] & (book.seat_rem[:, slots] > 0).all(axis=1))
            if len(seats):
                seat = int(seats[np.lexsort((-book.seat_day[seats], breadth[seats]))[0]])
            else:
                seat = None
            reason = "frequency" if credit[j] else "value"
            own = m.k[m.seg[cse]:seg_end[cse]]
            placed = 0
            for k, t in items:
                if book.try_add(a, k, t, reason, prefer_seat=seat):
                    placed += 1
                    continue
                alts = [(int(kk), t) for kk in own if kk != k and c.legal[kk, t]]
                alts += [(k, t + d) for d in (-1, 1, -2, 2, -3, 3) if 0 <= t + d < n_s and c.legal[k, t + d]]
                alts.sort(key=lambda x_: -c.q[x_[0], x_[1]])
                if any(book.try_add(a, kk, tt, reason, prefer_seat=seat) for kk, tt in alts):
                    placed += 1
            if credit[j] and placed < len(items):
                book.remove_case(a)


def columns_of_choice(model: PricedModel, nu: float):
    """The last evaluation's chosen columns: (case, items' column position, items' slot,
    exact value of the items, meets obligation)."""
    cc, rr, tt = model.last_items
    case = np.unique(cc)
    pos = np.searchsorted(case, cc)
    q = np.minimum(model.c.q[model.k[rr], tt], 1 - 1e-12)
    logs = np.bincount(pos, weights=np.log1p(-q), minlength=len(case))
    value = model.V[case] * (1.0 - np.exp(logs))
    credit = model.last_credit[case]
    return case, pos, tt, value, credit, model.k[rr]


def plan_columns(model: PricedModel, attempts) -> tuple:
    """Columns of a plan's own choices (exact values): attempts with account, cand, slot."""
    c = model.c
    acc = np.asarray(attempts["account"], dtype=np.int64)
    k = np.asarray(attempts["cand"], dtype=np.int64)
    t = np.asarray(attempts["slot"], dtype=np.int64)
    keep = np.isin(acc, model.cases)
    acc, k, t = acc[keep], k[keep], t[keep]
    case_idx = np.searchsorted(model.cases, acc)
    case = np.unique(case_idx)
    pos = np.searchsorted(case, case_idx)
    logs = np.bincount(pos, weights=np.log1p(-np.minimum(c.q[k, t], 1 - 1e-12)), minlength=len(case))
    value = model.V[case] * (1.0 - np.exp(logs))
    n = np.bincount(pos, minlength=len(case))
    need = model.need[case]
    credit = ((need > 0) & (n >= need)).astype(np.int64)
    if len(model.cb_case):
        # a callback the relaxation credits only when made (``bound.callback_items``)
        at = np.minimum(np.searchsorted(model.cb_case, case_idx), len(model.cb_case) - 1)
        made = (model.cb_case[at] == case_idx) & (model.cb_t[at] == t) & (model.k[model.cb_row[at]] == k)
        credit += np.bincount(pos[made], minlength=len(case)) > 0
    return case, pos, t, value, credit, k


class ColumnGeneration:
    """Column generation that can be resumed, and raised to more obligations on the way.

    Start (``start``): a golden-section search for the best single price of every seat and
    slot (the bound is convex in it); the choices at that price seed the master. Rounds
    (``run``): the master's duals are smoothed towards the best prices so far (a master LP is
    degenerate and its duals jump; ``smoothing`` is the weight of the best point), the oracle
    is evaluated there and its columns that would improve the master (positive reduced cost at
    the master's own duals, exact values) join it. ``raise_met`` asks for more obligations
    (a plan found meanwhile meets more): the bound of every price pair found so far falls by
    its obligation price for each (the bound is linear in the count), and the master's
    obligation row is raised in place, so the next rounds start from its last basis."""

    def __init__(self, model: PricedModel, met: float, plan_attempts=None, max_new: int = 3000,
                 smoothing: float = 0.5):
        self.model = model
        self.met = met
        self.master = Master(model, float(met - model.free_credits))
        self.best = [np.inf, np.zeros(model.cap.shape), 0.0]
        self.evals = 0
        self.history = []  # (bound, lam, nu, met) at each finish: any of them bounds any count
        self.max_new = max_new
        self.smoothing = smoothing
        if plan_attempts is not None:
            self.master.add(*plan_columns(model, plan_attempts))

    def probe(self, lam: np.ndarray, nu: float, full: bool = True) -> float:
        """The bound at ``(lam, nu)``; ``full``: with the relaxed choice (its columns; the
        start's line searches need only the value)."""
        value, _usage = self.model.evaluate(lam, nu, self.met, want_usage=full)
        self.evals += 1
        if value < self.best[0]:
            self.best[:] = [value, lam.copy(), nu]
        return value

    def start(self, deadline: float | None = None) -> None:
        """The single-price start (on a large book it keeps to 30% of the time to
        ``deadline``, with at least two evaluations so there is always a bound)."""
        model = self.model
        # the search range: twice the single-attempt value of the marginal case when every
        # seat slot goes to a different case (the price that clears capacity lies below it)
        case_best = np.maximum.reduceat(np.where(np.isfinite(model.qv), model.qv, 0.0).max(axis=1), model.seg)
        slots = int(model.c.groups.capacity.sum())
        ranked = np.sort(case_best)[::-1]
        marginal = float(ranked[min(slots, len(ranked)) - 1]) if len(ranked) and slots > 0 else 0.0
        top = float(ranked[0]) if len(ranked) else 1.0
        started = time.perf_counter()

        def prices(x: float) -> np.ndarray:
            lam = np.zeros(model.cap.shape)
            lam[: max(model.n_comp, 1)] = x  # one price for every seat slot
            return lam

        def out_of_time() -> bool:
            return deadline is not None and self.evals >= 2 and time.perf_counter() > started + 0.3 * max(deadline - started, 0.0)

        def golden(f, lo: float, hi: float, steps: int) -> float:
            return golden_section(f, lo, hi, steps, out_of_time)

        # one price for every seat slot, then the obligation price, then each again (golden
        # sections on log scales; the bound is convex in each)
        lo_lam = max(marginal / 10.0, 1e-9 * max(top, 1.0), 1e-12)
        x = golden(lambda v: self.probe(prices(v), 0.0, False), lo_lam, max(top, 10 * lo_lam), 8)
        owed = max(float(model.need.max()) if len(model.need) else 1.0, 1.0)
        y = golden(lambda v: self.probe(prices(x), v, False), x / 10.0, 10.0 * owed * max(top, x), 8)
        x = golden(lambda v: self.probe(prices(v), y, False), x / 10.0, max(top, 10.0 * x), 6)
        golden(lambda v: self.probe(prices(x), v, False), y / 10.0, 10.0 * y, 6)
        if self.evals:
            # the master starts from the choices at the best single price
            self.probe(self.best[1], self.best[2])
            self.master.add(*columns_of_choice(model, self.best[2]))

    def run(self, rounds: int, tolerance: float = 0.02, deadline: float | None = None) -> None:
        """Up to ``rounds`` rounds; stops sooner when no column would improve the master, when
        the best bound is within ``tolerance`` of the master's value, or at ``deadline``."""
        model, master, best = self.model, self.master, self.best
        for _ in range(rounds):
            if deadline is not None and time.perf_counter() > deadline:
                break
            _t0 = time.perf_counter()
            lam_lp, nu_lp, u, lp = master.solve(None if deadline is None else deadline - time.perf_counter())
            _t1 = time.perf_counter()
            lam = self.smoothing * best[1] + (1 - self.smoothing) * lam_lp
            nu = self.smoothing * best[2] + (1 - self.smoothing) * nu_lp
            value = self.probe(lam, nu)
            log.debug("column generation: master %.0f (%.2f s), bound %.0f (best %.0f), %d columns", lp, _t1 - _t0, value,
                      best[0], master.n_cols)
            if best[0] - lp <= tolerance * abs(best[0]):
                break  # the bound is within tolerance of the master's value: little left to gain
            case, pos, tt, val, credit, kk = columns_of_choice(model, nu)
            # reduced cost at the master's own duals (exact values): only these improve it
            paid = np.bincount(pos, weights=(model.A @ lam_lp)[model.cls_case[case[pos]], tt], minlength=len(case))
            gain = val - paid + nu_lp * credit - u[case]
            good = gain > 1e-9 * max(1.0, abs(best[0]))
            if not good.any():
                if self.smoothing > 0:
                    self.smoothing = 0.0  # mis-priced: the smoothed point found nothing; use the LP's
                    continue
                break
            if good.sum() > self.max_new:
                # the columns that gain most (a smaller master solves faster)
                cut = np.sort(gain[good])[-self.max_new]
                good &= gain >= cut
            keep_pos = np.flatnonzero(good)
            sel = np.isin(pos, keep_pos)
            master.add(case[good], np.searchsorted(keep_pos, pos[sel]), tt[sel], val[good], credit[good], kk[sel])

    def raise_met(self, met: float, plan_attempts=None, lower: bool = False) -> None:
        """Bound plans meeting at least ``met`` obligations from now on (``plan_attempts``: a
        plan that does, whose columns keep the master feasible); ``lower``: also when that is
        fewer than now (the plan of record meets fewer than the master was raised to)."""
        if met == self.met or (met < self.met and not lower):
            return
        self.best[0] -= self.best[2] * (met - self.met)
        self.met = met
        self.master.h.changeRowBounds(self.master.obl_row, float(met - self.model.free_credits), self.master.inf)
        if plan_attempts is not None:
            self.master.add(*plan_columns(self.model, plan_attempts))
        self.smoothing = max(self.smoothing, 0.5)

    def short(self) -> bool:
        """Whether the master's last solution falls short of the obligations asked for (its
        slack column is used: no mix of the columns found meets them)."""
        return bool(len(self.master.x) and self.master.x[0] > 1e-7)

    def finish(self, deadline: float | None = None) -> None:
        """The bound at the best prices with more tangent points (``PricedModel.evaluate``'s
        ``fine``: tighter, too slow for every round), and the master's last solve (its
        columns' weights guide a plan: ``Master.rounded``)."""
        fine, _usage = self.model.evaluate(self.best[1], self.best[2], self.met, fine=True)
        self.evals += 1
        self.best[0] = min(self.best[0], fine)
        self.history.append((self.best[0], self.best[1].copy(), self.best[2], self.met))
        self.master.solve(None if deadline is None else max(deadline - time.perf_counter(), 1.0))


def price_by_columns(model: PricedModel, met: int, plan_attempts=None, rounds: int = 30,
                     deadline: float | None = None, max_new: int = 3000, tolerance: float = 0.02,
                     smoothing: float = 0.5):
    """Best bound found and its prices by column generation (``ColumnGeneration``): (bound,
    lam, nu, evaluations, master). Stops after ``rounds``, when no column would improve the
    master, or when the best bound is within ``tolerance`` of the master's value."""
    cg = ColumnGeneration(model, met, plan_attempts, max_new=max_new, smoothing=smoothing)
    cg.start(deadline)
    cg.run(rounds, tolerance, deadline)
    cg.finish(deadline)
    return cg.best[0], cg.best[1], cg.best[2], cg.evals, cg.master


SAMPLE_CASES = 3_000  # cases in the sample whose column generation prices a large book's seats
FIT_CASES = 100_000  # cases of a larger book the whole book's fit evaluates (a sample)
GUESS_MORE = 0.01  # the plan's obligations over the first flow's, guessed while the plan is made


def sample_cases(c, n_target: int = SAMPLE_CASES, seed: int = 0, within: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """A random sample of the callable cases, the same share of every eligibility class
    (rounded at random, so each class's expected count is exact): (account mask, share of
    the book's capacity the sample gets). ``within``: drawn from the accounts of this mask
    only (the first shards of a book too large to plan at once: they stand for the book,
    so the sample's share is its size against the whole book's)."""
    live = np.unique(c.contact_account[c.legal.any(axis=1)])
    n_live = len(live)
    if within is not None:
        live = live[within[live]]
    mask = np.zeros(c.n_accounts, dtype=bool)
    if len(live) == 0:
        return mask, 1.0
    frac = min(1.0, n_target / len(live))
    rng = np.random.default_rng(seed)
    cls = c.account_class[live]
    order = np.lexsort((rng.random(len(live)), cls))
    live, cls = live[order], cls[order]
    rank = np.arange(len(live)) - np.searchsorted(cls, cls)
    per_class = np.bincount(cls, minlength=c.class_groups.shape[0])
    quota = np.floor(frac * per_class + rng.random(len(per_class)))
    mask[live[rank < quota[cls]]] = True
    return mask, frac * len(live) / n_live


def _sample_prices(c, met: float | None, plan_attempts, deadline: float | None, n_sample: int,
                   within: np.ndarray | None) -> tuple:
    """Column generation on a sample of the book (``price_by_sample``): ``(lam, nu,
    evaluations, met)``, ``met`` the book's count (estimated from the sample's own plan when
    None is given)."""
    from .bound import free_credits

    started = time.perf_counter()
    mask, frac = sample_cases(c, n_sample, within=within)
    full_free = free_credits(c)
    sm = PricedModel(c, cases=mask, scale=frac, sample=True)
    own = met is None
    if own:
        # no plan of the book yet: the sample's own, by the obligation flow in its share of
        # every group's capacity (rounded at random), and the book's count estimated from it
        from .heuristics import flow_attempts

        share = c.groups.capacity * frac
        share = np.floor(share + np.random.default_rng(0).random(share.shape)).astype(np.int64)
        plan_attempts, met = flow_attempts(c, mask, share), full_free
    met_s = sm.free_credits + frac * (met - full_free)
    att = None
    if plan_attempts is not None and len(plan_attempts):
        att = plan_attempts[mask[np.asarray(plan_attempts["account"], dtype=np.int64)]]
        # the plan's own columns start the sample's master feasible: each capacity at least
        # what the sampled cases use in the plan, and as many obligations as they meet there
        case, _pos, t, _v, credit, _k = plan_columns(sm, att)
        per_class = np.zeros((sm.A.shape[0], c.grid.n))
        np.add.at(per_class, (sm.cls_case[case[_pos]], t), 1.0)
        sm.cap = np.maximum(sm.cap, sm.A.T @ per_class)
        met_s = sm.free_credits + float(credit.sum())
        if own:
            met = full_free + float(credit.sum()) / frac
    _b, lam, nu, evals, _master = price_by_columns(sm, met_s, att, rounds=60, tolerance=0.005, deadline=deadline)
    del _master
    if sm.rows_kept is not None:
        # the rows no sampled case uses are priced 0
        full_lam = np.zeros((sm.n_rows_all, lam.shape[1]))
        full_lam[sm.rows_kept] = lam
        lam = full_lam
    log.info("sample of %d cases (%.1f%%): bound %.0f after %d evaluations, %.1f s", len(sm.cases), 100 * frac, _b, evals,
             time.perf_counter() - started)
    return lam, nu, evals, met


def price_by_sample(c, met: float | None, plan_attempts=None, deadline: float | None = None,
                    n_sample: int = SAMPLE_CASES, post=None, within: np.ndarray | None = None, inbox=None,
                    whole: bool = True, split_out: bool = False, prices: tuple | None = None):
    """Prices for a large book from a sample of it, and the whole book's bound at them:
    ``(bound, lam, nu, evaluations, met)``, the bound for plans meeting ``met`` obligations.

    Column generation runs on a random sample of ``n_sample`` cases (the same share of every
    class) with that share of every seat's capacity and of the obligations to meet; its
    seat prices are then fitted to the whole book (golden sections on log scales over their
    level and their swing about each row's mean), each evaluation of the whole book with its
    best obligation price (``bound.best_nu``). The bound is valid whatever the prices: the
    sample only has to find good ones, and a sample of a few thousand cases prices seats
    about as well as the whole book does (docs/solver.md). ``met`` None: no plan of the book
    yet (``plan_attempts`` None too): the sample starts from its own plan, and the count is
    estimated from it. ``post``: called with the sample's
    seat prices as soon as they are found (the planner's priced plan starts from them).
    ``within``: the sample is drawn from these accounts only (``sample_cases``). ``inbox``:
    called before each evaluation of the whole book; a count it returns (the plan's own, once
    known) replaces ``met`` for the rest of the search (the returned ``met`` says which).
    ``whole=False``: the sample's prices only (no bound of the whole book: it is None).
    ``prices``: ``(lam, nu)`` a sample found before (a sharded book's): the fit starts from
    them, without a sample of its own.
    ``split_out``: a sixth item, ``(kept, nu_max)``, moves the bound to another count
    exactly: for each ``(split, lam)`` in ``kept``, ``bound.best_nu(*split, count, nu_max)``
    gives ``(bound, nu)`` at seat prices ``lam``; the least of them is the bound."""
    from .bound import ChunkedModel, best_nu, callable_cases, free_credits

    started = time.perf_counter()
    end = np.inf if deadline is None else deadline
    full_free = free_credits(c)
    if prices is None:
        # the sample gets 60% of the time; the whole book's evaluations the rest
        lam, nu, evals, met = _sample_prices(c, met, plan_attempts, started + 0.6 * (end - started) if deadline else None,
                                             n_sample, within)
        if post is not None:
            post(lam)  # the seats' prices, before the whole book's search scales them (a plan can use them)
        if not whole:
            return None, lam, nu, evals, met
    else:
        (lam, nu), evals = prices, 0
    # the search's evaluations: the whole book, or on a book of more than FIT_CASES cases a
    # sample of that many (its share of the capacity and of the obligations beyond the free
    # ones: the prices have only a few dimensions left to fit); the bound is the whole book's,
    # evaluated once at the end (at 1M about 13 s against 1.5 s for the sample)
    t0 = time.perf_counter()
    if callable_cases(c) > FIT_CASES:
        fit_mask, fit_frac = sample_cases(c, FIT_CASES, seed=1)
        fit = ChunkedModel(c, cases=fit_mask, scale=fit_frac)
    else:
        fit, fit_frac = ChunkedModel(c), 1.0
    built = time.perf_counter() - t0

    def fit_count(m: float) -> float:
        return fit.free_credits + fit_frac * (m - full_free)

    # the obligation price is not searched: at each seat price the best one comes exactly
    # from the same evaluation (``bound.best_nu``), up to this cap
    nu_max = max(8.0 * nu, 8.0 * float(lam.max(initial=0.0)), 1.0)
    best = [np.inf, lam, nu, None]  # bound (of ``fit``), seat prices, obligation price, best_nu's split
    kept = []  # (split, seat prices): the best of each count searched before; any moves to any count

    def rebase() -> None:
        """The best bound for the count ``met`` over every kept evaluation."""
        best[0] = np.inf
        for split, lam_ in kept:
            value, nu_ = best_nu(*split, fit_count(met), nu_max)
            if value < best[0]:
                best[:] = [value, lam_, nu_, split]

    def listen() -> bool:
        """True when the plan's own count has come (and the best bound moved to it)."""
        nonlocal met
        told = inbox() if inbox is not None else None
        if told is None or told == met:
            return False
        if best[3] is not None:
            kept.append((best[3], best[1]))
        met = told
        rebase()
        return True

    def probe(lam_, fine: bool = False):
        nonlocal evals
        listen()
        evals += 1
        value, nu_, split = fit.evaluate_best_nu(lam_, fit_count(met), nu_max, fine=fine)
        if value < best[0]:
            best[:] = [value, lam_, nu_, split]
        return value

    t0 = time.perf_counter()
    probe(lam)
    one = time.perf_counter() - t0
    # time kept for building and evaluating the whole book's model at the end
    whole_one = one / fit_frac
    end_fit = end if fit_frac == 1.0 else end - 1.2 * (whole_one + built / fit_frac)

    def golden(f, lo: float, hi: float, steps: int) -> float:
        return golden_section(f, lo, hi, steps, lambda: time.perf_counter() + one > end_fit, fallback=1.0)

    live = fit.cap > 0

    def level(lo: float, hi: float, steps: int) -> None:
        lam1 = best[1]
        golden(lambda z: probe(lam1 * z), lo, hi, steps)

    def fit_swing_and_level(rounds: int) -> None:
        """By turns the seat prices' swing about each row's mean and their level."""
        for _round in range(rounds):
            before = best[0]
            lam1 = best[1]
            mean = (lam1 * live).sum(axis=1, keepdims=True) / np.maximum(live.sum(axis=1, keepdims=True), 1)
            golden(lambda k: probe(np.where(live, np.maximum(mean + k * (lam1 - mean), 0.0), lam1)), 0.3, 1.5, 6)
            level(0.8, 1.25, 5)
            if best[0] > before * (1 - 1e-3) or time.perf_counter() + one > end_fit:
                break

    # the sample's prices are about right in shape but not in level, and their swing from
    # slot to slot is too wide (a few dozen cases per slot): the level, then the swing and
    # the level by turns (docs/solver.md, "The whole book's fit")
    lam0 = lam
    # the level first, in at least eight evaluations of the sample even past the search's
    # time (on the 1M books the whole book's model leaves it none; the level is most of the
    # gain: cn 100k 64.9M -> 63.1M)
    level_end = max(end_fit, time.perf_counter() + 8 * one) if fit_frac < 1.0 else end_fit
    golden_section(lambda x: probe(lam0 * x), 0.5, 4.0, 6, lambda: time.perf_counter() + one > level_end, fallback=1.0)
    fit_swing_and_level(3)
    searched = {met}
    waiting = getattr(inbox, "live", False)  # the plan's count may still come
    if waiting and fit_frac == 1.0 and time.perf_counter() + 10 * one <= end:
        # the plan's count is not known yet: its obligations usually exceed the first flow's
        # by about 1% (the repair's), and the best prices depend on the count (the seats'
        # level follows the obligation price); the best for that count too, then either
        # moves to the plan's count exactly
        kept.append((best[3], best[1]))
        met = float(np.ceil(met * (1 + GUESS_MORE)))
        searched.add(met)
        rebase()
        level(0.8, 1.6, 4)
        fit_swing_and_level(2)
    while waiting and time.perf_counter() + 4 * one <= end_fit:
        # waiting for the plan's count; the level refitted for it when there is time
        if listen():
            if met not in searched:
                level(0.8, 1.6, 4)
            break
        time.sleep(0.1)
    listen()
    if fit_frac == 1.0:
        if time.perf_counter() + 2.5 * one <= end:
            # the last evaluation with more tangent points (about twice the time): tighter
            probe(best[1], fine=True)
    else:
        # the whole book at the fitted prices (always: the bound is the whole book's); with
        # more tangent points when there is time
        del fit  # (a tenth of the whole book's model at 1M)
        full = ChunkedModel(c)
        fine = time.perf_counter() + 2.5 * whole_one <= end
        evals += 1
        value, nu_, split = full.evaluate_best_nu(best[1], met, nu_max, fine=fine)
        best[:] = [value, best[1], nu_, split]
        kept = []
    log.info("whole book at the sample's prices: bound %.0f for %.0f obligations after %d evaluations, %.1f s",
             best[0], met, evals, time.perf_counter() - started)
    if split_out:
        return best[0], best[1], best[2], evals, met, (kept + [(best[3], best[1])], nu_max)
    return best[0], best[1], best[2], evals, met
