"""Plans without a model: the hopper (what a dialer does today) and the marginal-gain greedy.

Both propose attempts to a ``Book``, which refuses anything that would break a rule, so both
always give a compliant plan.
"""

from __future__ import annotations

import heapq
import logging
import math
import time

import numpy as np

from ..candidates import Candidates
from .book import Book

log = logging.getLogger("dialplan")


def obligation_need(c: Candidates) -> np.ndarray:
    """Frequency attempts each case still needs today (history of today counted)."""
    return np.maximum(c.due - c.done_today, 0)


def case_contacts(c: Candidates, cases: np.ndarray | None = None) -> dict[int, np.ndarray]:
    """Callable contacts (candidate rows) of each account that have a legal slot (of the
    accounts in the mask ``cases`` only, when given)."""
    live = np.flatnonzero(c.legal.any(axis=1))
    if cases is not None:
        live = live[cases[c.contact_account[live]]]
    live = live[np.argsort(c.contact_account[live], kind="stable")]
    acc, first = np.unique(c.contact_account[live], return_index=True)
    return dict(zip(acc.tolist(), np.split(live, first[1:])))


def place_callbacks(c: Candidates, book: Book, cases: np.ndarray | None = None) -> None:
    """Callbacks first: the promised contact in the promised slot, by the promising seat when
    it is working then (of the accounts in the mask ``cases`` only, when given)."""
    cbs = c.callbacks
    if cbs.empty:
        return
    order = np.argsort(cbs["slot"].to_numpy(), kind="stable")
    for i in order:
        a, k, t = int(cbs["acc"].iat[i]), int(cbs["cand"].iat[i]), int(cbs["slot"].iat[i])
        if a < 0 or k < 0 or t < 0 or (cases is not None and not cases[a]):
            continue
        named = int(cbs["seat_req"].iat[i])
        if named >= 0:
            # the promising seat works then: only that seat keeps the promise
            if book.can_add(a, k, t) and book.seat_rem[named, t] > 0 and (
                not c.continuity[a] or book.case_seat.get(a, named) == named
            ):
                book.add(a, k, t, named, "callback")
        else:
            book.try_add(a, k, t, "callback")


def hopper(c: Candidates, passes: int = 5) -> Book:
    """A dialer without a planner: cases in priority order (obligations first, then balance x
    propensity), each given its earliest legal slot on its best number with free capacity;
    the list is recycled while capacity remains."""
    book = Book(c, reseat=False)
    place_callbacks(c, book)
    need = obligation_need(c)
    contacts = case_contacts(c)
    rate = c.portfolio.contacts["rpc_rate"].to_numpy()[c.contact_row]
    accounts = np.array(sorted(contacts), dtype=np.int64)
    if len(accounts) == 0:
        return book
    priority = np.lexsort((-c.value[accounts], -(need[accounts] > 0).astype(np.int64)))
    order = accounts[priority]
    ranked = {a: contacts[a][np.argsort(-rate[contacts[a]], kind="stable")] for a in order}
    for p in range(passes):
        added = 0
        for a in order:
            if not book.free.any():
                break  # every seat is full
            want = max(1, int(need[a])) if p == 0 else 1
            got = len(book.case_attempts.get(a, [])) if p == 0 else 0
            while got < want:
                placed = False
                for k in ranked[a]:
                    for t in np.flatnonzero(c.legal[k] & (book.free > 0)):
                        if book.try_add(a, int(k), int(t), "frequency" if need[a] > 0 and p == 0 else "value"):
                            placed = True
                            break
                    if placed:
                        break
                if not placed:
                    break
                got += 1
                added += 1
        if added == 0:
            break
    return book


NEAR = (-1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6, 6)  # slot offsets the flow's placement may try
OWE_TRIES = 100  # refused options (in slots with a free seat) before a case's obligation is given up in this pass


class CaseOptions:
    """Each case's legal (contact, slot) options in the greedy's order, built for all cases
    at once as columns and turned into Python tuples only for the cases the greedy visits
    (on large books most cases are never reached once the seats are full).

    Order: by ``q`` (or, with slot prices ``mu``, by priced gain ``value * q - mu``),
    descending; ties in contact, then slot order."""

    def __init__(self, c: Candidates, mu: np.ndarray | None = None, cases: np.ndarray | None = None):
        live = np.flatnonzero(c.legal.any(axis=1))
        if cases is not None:
            live = live[cases[c.contact_account[live]]]
        live = live[np.argsort(c.contact_account[live], kind="stable")]
        r, t = np.nonzero(c.legal[live])
        k = live[r]
        a = c.contact_account[k]
        q = c.q[k, t]
        score = q if mu is None else c.value[a] * q - mu[c.account_class[a], t]
        order = np.lexsort((-score, a))
        del score
        self.k, self.t, self.q, a = k[order].astype(np.int32), t[order].astype(np.int16), q[order], a[order]
        self.cases, self.start = np.unique(a, return_index=True)
        self.end = np.append(self.start[1:], len(a))
        self.pos = {int(x): i for i, x in enumerate(self.cases.tolist())}
        self._cache: dict[int, list] = {}

    def first_q(self) -> np.ndarray:
        return self.q[self.start]

    def __contains__(self, a: int) -> bool:
        return a in self.pos

    def __iter__(self):
        return iter(self.pos)

    def __getitem__(self, a: int) -> list:
        got = self._cache.get(a)
        if got is None:
            i = self.pos[a]
            s, e = self.start[i], self.end[i]
            got = list(zip(self.q[s:e].tolist(), self.k[s:e].tolist(), self.t[s:e].tolist()))
            self._cache[a] = got
        return got


def greedy(c: Candidates, book: Book | None = None, mu: np.ndarray | None = None,
           cases: np.ndarray | None = None, retry: bool = True) -> Book:
    """Callbacks, then obligations, then value, one attempt at a time.

    Obligations are met cheapest first (fewest attempts owed, then the most valuable case),
    all or nothing: a case that cannot get every attempt it owes gets none in this phase, so
    no capacity is spent on an obligation that stays unmet. Then the attempt that adds the
    most expected recovery goes next (1 - prod(1 - q) is concave, so each case's gains fall
    as it gets attempts).

    With slot prices ``mu`` (per eligibility class and slot, e.g. the bound's capacity
    prices) each case tries its slots in order of priced gain ``value * q - mu``, so cheap
    obligations take quiet slots and leave the busy ones to the cases worth most there; a
    case whose obligation does not fit that way tries again in order of likelihood (unless
    ``retry`` is off). ``cases``: only the accounts of this mask (a shard of a large book)."""
    if book is None:
        book = Book(c)
        place_callbacks(c, book, cases)
    need = obligation_need(c)
    options = CaseOptions(c, mu, cases)
    # phase 1: obligations, cheapest first, all or nothing
    owed = [a for a in options if need[a] > len(book.case_attempts.get(a, []))]
    owed.sort(key=lambda a: (need[a] - len(book.case_attempts.get(a, [])), -c.value[a], a))
    def owe(a: int, opts: list) -> bool:
        before = {(k, t) for k, t, _s, _r in book.case_attempts.get(a, [])}
        got = len(before)
        misses = 0
        for _q, k, t in opts:
            if got >= need[a] or misses > OWE_TRIES:
                break
            if book.free[t] <= 0:
                continue  # every seat is full then: a cheap refusal
            if book.try_add(a, k, t, "frequency"):
                got += 1
            else:
                misses += 1
        if got < need[a]:
            kept = [x for x in book.remove_case(a) if (x[0], x[1]) in before]
            for k, t, s_, r in kept:
                book.add(a, k, t, s_, r)
            return False
        return True

    # priced slots first (cheap obligations take quiet slots); a case that does not fit
    # that way tries again in order of likelihood, where seats are freer for it
    failed = [a for a in owed if book.free.any() and not owe(a, options[a])]
    if retry and failed and mu is not None and book.free.any():
        by_q = CaseOptions(c, None, cases)
        for a in failed:
            if book.free.any():
                owe(a, by_q[a])
    # phase 2: value
    heap: list = []
    first_q = options.first_q()
    for a, q0 in zip(options.cases.tolist(), first_q.tolist()):
        atts = book.case_attempts.get(a)
        survival = float(np.prod([1 - c.q[k, t] for k, t, _s, _r in atts])) if atts else 1.0
        heap.append((-c.value[a] * survival * q0, a, 0))
    heapq.heapify(heap)
    while heap:
        if not book.free.any():
            break  # every seat is full
        _gain, a, i = heapq.heappop(heap)
        opts = options[a]
        while i < len(opts):
            _q, k, t = opts[i]
            i += 1
            if book.try_add(a, k, t, "value"):
                break
        else:
            continue
        survival = float(np.prod([1 - c.q[kk, tt] for kk, tt, _s, _r in book.case_attempts[a]]))
        # the next option's gain is an upper estimate; it is rechecked when popped
        while i < len(opts) and not book.can_add(a, opts[i][1], opts[i][2]):
            i += 1
        if i < len(opts):
            heapq.heappush(heap, (-c.value[a] * survival * opts[i][0], a, i))
    return book


def obligations_met(c: Candidates, book: Book) -> int:
    """Obligations a book meets: frequency (history of today plus planned reach due) and
    callbacks (the promised contact in the promised slot)."""
    made = np.zeros(c.n_accounts, dtype=np.int64)
    for a, atts in book.case_attempts.items():
        made[a] = len(atts)
    met = int(((c.due > 0) & (c.done_today + made >= c.due)).sum())
    met += sum(callbacks_met(c, book))
    return met


def callbacks_met(c: Candidates, book: Book) -> list[bool]:
    """Whether each due callback is kept: its contact, in its slot, by the right seat."""
    required = c.callbacks["seat_req"].to_numpy() if len(c.callbacks) else np.zeros(0, np.int64)
    out = []
    for i in range(len(c.callbacks)):
        a, k, t = (int(c.callbacks[x].iat[i]) for x in ("acc", "cand", "slot"))
        hit = any(kk == k and tt == t and (required[i] < 0 or s == required[i]) for kk, tt, s, _r in book.case_attempts.get(a, []))
        out.append(hit)
    return out


FLOW_BLOCK = 4  # slots per block of the pruned obligation flow (an hour of 15-minute slots)
FLOW_TOP = 4


def _pruned_slots(best_q: np.ndarray, value: np.ndarray) -> np.ndarray:
    """The slots a large book's obligation flow offers each case [cases, slots]: its best
    slot in every block of FLOW_BLOCK slots, plus its FLOW_TOP best slots overall (the
    network and the solver's time shrink; the blocks keep the quiet hours the obligations
    need). Best: the highest value ``best_q * value``; ties (hourly rates make whole hours
    tie) go to the slot whose place in its block, rotated by the case's index, comes first,
    so cases spread over the slots of an hour instead of all taking its first."""
    n_c, n_s = best_q.shape
    ok = best_q > 0
    v = np.where(ok, best_q * value[:, None], -np.inf)
    t = np.arange(n_s)[None, :]
    # the tie order: the rotated place in the block, then the slot
    tie = ((t + np.arange(n_c)[:, None]) % FLOW_BLOCK) * n_s + t
    n_b = -(-n_s // FLOW_BLOCK)
    pad = n_b * FLOW_BLOCK - n_s
    vb = np.pad(v, ((0, 0), (0, pad)), constant_values=-np.inf).reshape(n_c, n_b, FLOW_BLOCK)
    tb = np.pad(tie, ((0, 0), (0, pad)), constant_values=np.iinfo(np.int64).max).reshape(n_c, n_b, FLOW_BLOCK)
    first = np.where(vb == vb.max(axis=2, keepdims=True), tb, np.iinfo(np.int64).max).argmin(axis=2)
    keep = np.zeros((n_c, n_b * FLOW_BLOCK), dtype=bool)
    keep[np.arange(n_c)[:, None], np.arange(n_b)[None, :] * FLOW_BLOCK + first] = True
    keep = keep[:, :n_s]
    by_tie = np.argsort(tie, axis=1)
    ranked = np.take_along_axis(by_tie, np.argsort(-np.take_along_axis(v, by_tie, axis=1), axis=1, kind="stable"), axis=1)
    keep[np.arange(n_c)[:, None], ranked[:, :FLOW_TOP]] = True
    return keep & ok


def _flow_round(c: Candidates, rows: np.ndarray, owe: np.ndarray, group_rem: np.ndarray, prune: bool,
                mu: np.ndarray | None):
    """One round of the obligation flow (``flow_obligations``'s network) over the contacts
    ``rows`` of cases owing ``owe`` attempts, in the groups' spare capacity ``group_rem``
    [groups, slots]. Returns None when the solver fails, else a dict of arrays: the rows
    sorted by case (``rows``, ``seg``: each case's first row), ``cases``, ``cls``, ``owed``,
    the case arcs ``ci``, ``ti`` with their ``flow`` and the (class, group, slot) arcs
    ``cg_c``, ``cg_g``, ``cg_t`` with their ``cg_flow``."""
    from ortools.graph.python import min_cost_flow

    n_s = c.grid.n
    rows = rows[np.argsort(c.contact_account[rows], kind="stable")]
    acc = c.contact_account[rows]
    cases, seg = np.unique(acc, return_index=True)
    q = np.where(c.legal[rows], c.q[rows], -1.0)
    best_q = np.maximum.reduceat(q, seg, axis=0)
    if prune:
        ci, ti = np.nonzero(_pruned_slots(best_q, c.value[cases]))
    else:
        ci, ti = np.nonzero(best_q > 0)
    n_cls = c.class_groups.shape[0]
    cls = c.account_class[cases]
    # nodes: 0 source, 1 sink, cases, (class, slot), (group, slot)
    base_case, base_cls = 2, 2 + len(cases)
    base_grp = base_cls + n_cls * n_s
    owed = owe[cases]
    credit = (10**9 // np.maximum(owed, 1)).astype(np.int64)
    gain = c.value[cases[ci]] * best_q[ci, ti]
    if mu is not None:
        gain = gain - mu[cls[ci], ti]
    vmax = float(max(np.max(np.abs(gain)) if len(gain) else 0.0, 1e-9))
    val = np.round(gain / vmax * 10**6).astype(np.int64)
    cg_c, cg_g = np.nonzero(c.class_groups)
    cg_t = np.repeat(np.arange(n_s)[None, :], len(cg_c), axis=0).reshape(-1)
    cg_c, cg_g = np.repeat(cg_c, n_s), np.repeat(cg_g, n_s)
    ok = group_rem[cg_g, cg_t] > 0
    cg_c, cg_g, cg_t = cg_c[ok], cg_g[ok], cg_t[ok]
    g_idx, g_t = np.nonzero(group_rem > 0)
    total = int(owed.sum())
    tails = np.concatenate([[0], np.zeros(len(cases), np.int64), base_case + ci, base_cls + cg_c * n_s + cg_t,
                            base_grp + g_idx * n_s + g_t]).astype(np.int64)
    heads = np.concatenate([[1], base_case + np.arange(len(cases)), base_cls + cls[ci] * n_s + ti,
                            base_grp + cg_g * n_s + cg_t, np.ones(len(g_idx), np.int64)]).astype(np.int64)
    caps = np.concatenate([[total], owed, np.ones(len(ci), np.int64), np.full(len(cg_c), total),
                           group_rem[g_idx, g_t]]).astype(np.int64)
    costs = np.concatenate([[0], -credit, -val, np.zeros(len(cg_c), np.int64), np.zeros(len(g_idx), np.int64)]).astype(np.int64)
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    supplies = np.zeros(base_grp + c.groups.n * n_s, dtype=np.int64)
    supplies[0], supplies[1] = total, -total
    mcf.set_nodes_supplies(np.arange(len(supplies)), supplies)
    if mcf.solve() != mcf.OPTIMAL:
        return None
    flow = mcf.flows(np.arange(1 + len(cases), 1 + len(cases) + len(ci)))
    first_cg = 1 + len(cases) + len(ci)
    cg_flow = mcf.flows(np.arange(first_cg, first_cg + len(cg_c)))
    return dict(rows=rows, seg=seg, cases=cases, cls=cls, owed=owed, ci=ci, ti=ti, flow=flow, cg_c=cg_c, cg_g=cg_g,
                cg_t=cg_t, cg_flow=cg_flow)


def flow_attempts(c: Candidates, cases: np.ndarray, group_cap: np.ndarray, prune: bool = True) -> np.ndarray:
    """The obligation flow's own attempts (account, cand, slot) for the accounts of the mask
    ``cases`` in the capacity ``group_cap`` [groups, slots], without a book: each case whose
    flow covers all it owes, on its best number in each slot the flow gives it (the rules
    between a case's own attempts are not checked). A sample's first plan for its column
    generation (``colgen.price_by_sample``), made before any plan of the book."""
    dtype = [("account", np.int64), ("cand", np.int64), ("slot", np.int64)]
    live = np.flatnonzero(c.legal.any(axis=1))
    owe = obligation_need(c)
    rows = live[cases[c.contact_account[live]] & (owe[c.contact_account[live]] > 0)]
    got = _flow_round(c, rows, owe, group_cap, prune, None) if len(rows) else None
    if got is None:
        return np.zeros(0, dtype=dtype)
    used = got["flow"] > 0
    ci, ti = got["ci"][used], got["ti"][used]
    whole = np.bincount(ci, minlength=len(got["cases"])) >= got["owed"]
    ci, ti = ci[whole[ci]], ti[whole[ci]]
    # each (case, slot) against the case's contacts (rows sorted by case): the first with the
    # best q there
    rows, seg = got["rows"], got["seg"]
    n_rows = np.diff(np.append(seg, len(rows)))[ci]
    pair = np.repeat(np.arange(len(ci)), n_rows)
    r = rows[np.repeat(seg[ci] - (np.cumsum(n_rows) - n_rows), n_rows) + np.arange(len(pair))]
    qv = np.where(c.legal[r, ti[pair]], c.q[r, ti[pair]], -1.0)
    order = np.lexsort((-qv, pair))  # stable: among ties the first contact
    first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]] if len(order) else order
    out = np.zeros(len(ci), dtype=dtype)
    out["account"], out["cand"], out["slot"] = got["cases"][ci], r[first], ti
    return out


def flow_obligations(c: Candidates, book: Book, rounds: int = 3, prune: bool = False,
                     cases: np.ndarray | None = None, mu: np.ndarray | None = None) -> None:
    """Frequency obligations by min-cost flow: the most obligations the seats can carry, and
    among those the most expected value.

    Network: source -> case (capacity: attempts it still owes, each unit credited
    ``BIG / owed`` so a case owing one attempt is worth the same per unit of capacity as
    one owing two, and a met obligation outweighs any value) -> (eligibility class, slot)
    (one unit per slot: one attempt of a case at a time; cost: minus the value of the case's
    best number in that slot, less the slot's price ``mu`` of the case's class when given)
    -> (seat group, slot) -> sink (the group's spare capacity), and
    a free source -> sink arc so no flow is forced. A case whose units do not cover all it
    owes gets none (all or nothing); freed capacity goes to the next round. The book then
    checks every rule (contact caps, gaps, continuity) and keeps a case only when all its
    attempts fit. ``cases``: only the accounts of this mask (a shard of a large book)."""
    need = obligation_need(c)
    n_s = c.grid.n
    live = np.flatnonzero(c.legal.any(axis=1))
    if cases is not None:
        live = live[cases[c.contact_account[live]]]
    tried: set = set()
    for _round in range(rounds):
        have = np.zeros(c.n_accounts, dtype=np.int64)
        for a, atts in book.case_attempts.items():
            have[a] = len(atts)
        owe = np.maximum(need - have, 0)
        rows = live[(owe[c.contact_account[live]] > 0) & ~np.isin(c.contact_account[live], list(tried))]
        if len(rows) == 0:
            break
        group_rem = np.zeros((c.groups.n, n_s), dtype=np.int64)
        for g, members in enumerate(c.groups.members):
            group_rem[g] = book.seat_rem[members].sum(axis=0)
        got = _flow_round(c, rows, owe, group_rem, prune, mu)
        if got is None:
            break
        rows, seg, cases, cls, owed = got["rows"], got["seg"], got["cases"], got["cls"], got["owed"]
        ci, ti, flow = got["ci"], got["ti"], got["flow"]
        cg_c, cg_g, cg_t, cg_flow = got["cg_c"], got["cg_g"], got["cg_t"], got["cg_flow"]
        # the flow's seat groups per (class, slot): a case without a seat yet is seated in
        # one of them, so it does not take a seat the flow kept for a narrower class
        quota: dict = {}
        pos = np.flatnonzero(cg_flow > 0)  # (millions of arcs on a large book, few with flow)
        for cc, g, t, f in zip(cg_c[pos].tolist(), cg_g[pos].tolist(), cg_t[pos].tolist(), cg_flow[pos].tolist()):
            quota.setdefault((cc, t), {})[g] = f

        def quota_seat(i: int, t: int):
            for g, f in quota.get((int(cls[i]), t), {}).items():
                if f > 0:
                    free = [s_ for s_ in c.groups.members[g] if book.seat_rem[s_, t] > 0]
                    if free:
                        return int(max(free, key=lambda s_: book.seat_day[s_]))
            return None
        used = flow > 0
        slots_of: dict[int, list] = {}
        for i, t in zip(ci[used].tolist(), ti[used].tolist()):
            slots_of.setdefault(i, []).append(t)
        added = 0
        seg_end = np.append(seg[1:], len(rows))
        # cases owing fewest first (the flow credits them most per unit), those with fewest
        # seats to choose from first (they are placed before others take their seats), then
        # by value
        n_groups = c.class_groups.sum(axis=1)
        for i in sorted(slots_of, key=lambda i: (owed[i], n_groups[cls[i]], -c.value[cases[i]], i)):
            a = int(cases[i])
            tried.add(a)
            ts = sorted(slots_of[i])
            if len(ts) < owed[i]:
                continue
            before = list(book.case_attempts.get(a, []))
            ok_all = True
            for t in ts:
                # the case's best number in that slot, else its others (gaps and rolling
                # caps between the case's own attempts are not in the flow)
                ks = rows[seg[i]:seg_end[i]]
                ks = ks[np.argsort(-c.q[ks, t], kind="stable")]
                seat = None if a in book.case_seat else quota_seat(i, t)
                if any(c.legal[k, t] and book.try_add(a, int(k), int(t), "frequency", prefer_seat=seat) for k in ks):
                    continue
                # the slots around it (a gap or a rolling cap between the case's own attempts
                # may rule the flow's slot out), nearest first
                near = [(int(k), t + d) for d in NEAR for k in ks if 0 <= t + d < n_s and c.legal[k, t + d]]
                if not any(book.try_add(a, k, tt, "frequency") for k, tt in near):
                    ok_all = False
                    break
            if not ok_all:
                book.remove_case(a)
                for k, t, s_, r in before:
                    book.add(a, k, t, s_, r)
            else:
                added += 1
                for _k, t, s_, _r in book.case_attempts[a][len(before):]:
                    left = quota.get((int(cls[i]), t), {})
                    g = int(c.groups.seat_group[s_])
                    if left.get(g, 0) > 0:
                        left[g] -= 1
        if added == 0:
            break
    return book


def priced_plan(c: Candidates, mu: np.ndarray | None, prune: bool = False, max_seats: int = 32,
                deadline: float | None = None, cases: np.ndarray | None = None, book: Book | None = None,
                repaired=None) -> Book:
    """A plan guided by slot prices ``mu`` (per eligibility class and slot; None: unpriced):
    callbacks, the obligation flow with each arc's value less its slot's price (obligations
    take the quiet slots), the obligation repair and the priced greedy fill. The busy slots
    stay for the attempts worth most there: in the planner (the sample's prices as posted),
    the us 100k book 49,235 obligations and 7,941,112 expected against the unpriced flow,
    repair and fill's 49,216 and 6,525,144; the cn 100k book 68,167 and 54,990,049 against
    68,154 and 54,904,948 (both before ``value_swaps`` was added at the end). ``cases`` and
    ``book`` (an empty book on a shard's seats): a shard of a large book. ``repaired``: called
    with the book once its obligations are in (the fill adds few)."""
    book = Book(c) if book is None else book
    place_callbacks(c, book, cases)
    flow_obligations(c, book, prune=prune, cases=cases, mu=mu)
    # the repair before the fill (obligations first: the fill would take the seats the
    # repair needs)
    repair_obligations(c, book, max_seats=max_seats, deadline=deadline, cases=cases)
    if repaired is not None:
        repaired(book)
    # no second try in order of likelihood for the cases still owing: the repair has tried
    # them (cn 100k after the same flow and repair: 68,215 obligations in 10 s, against
    # 68,222 in 14 s)
    book = greedy(c, book, mu=mu, cases=cases, retry=False)
    # the full seats' value attempts to the cases worth most (cn 100k at a sample's prices:
    # 54,894,130 -> 58,815,345 in 8 s, the same 68,215 obligations)
    value_swaps(c, book, deadline=deadline, cases=cases)
    return book


def bump_loss(c: Candidates, book: Book, need: np.ndarray, b: int, k: int, t: int) -> float:
    """Expected recovery lost by taking case b's attempt (k, t) out of the book; inf when that
    would unmeet its obligation (met, or still owed) or the attempt is a callback."""
    atts = book.case_attempts[b]
    if need[b] > 0 and len(atts) <= need[b]:
        return math.inf
    rest = 1.0
    for kk, tt, _s, r in atts:
        if kk == k and tt == t:
            if r == "callback":
                return math.inf
        else:
            rest *= 1.0 - c.q[kk, tt]
    return float(c.value[b] * rest * c.q[k, t])


def repair_obligations(c: Candidates, book: Book, max_seats: int | None = 8, deadline: float | None = None,
                       cases: np.ndarray | None = None) -> int:
    """Meet obligations the book leaves unmet by bumping attempts that only add value.

    For each case still owing attempts (fewest owed first, then most valuable) and each seat
    it may use (its own seat when continuity already binds it; else the ``max_seats`` eligible
    seats with most room in its legal slots, None: every one), the owed attempts are placed cheapest first: a
    free seat slot costs nothing, a full one costs the expected recovery lost by bumping the
    attempt there that loses least (never a callback, never an attempt of a case with an
    obligation it meets or still owes). The seat where all it owes fits at least cost wins. Returns obligations
    gained. ``cases``: only the accounts of this mask (a shard of a large book)."""
    need = obligation_need(c)
    contacts = case_contacts(c, cases)
    victims: dict[tuple, set] = {}  # (seat, slot) -> {(case, contact)} that could give way
    for b, atts in book.case_attempts.items():
        for kk, tt, s_, r in atts:
            if r != "callback":
                victims.setdefault((s_, tt), set()).add((b, kk))

    def owing(a: int) -> int:
        return int(need[a]) - len(book.case_attempts.get(a, []))

    def loss(b: int, k: int, t: int) -> float:
        return bump_loss(c, book, need, b, k, t)

    # each (seat, slot)'s cheapest victim, kept until an attempt there or of that victim's
    # case changes (the repair asks for the same cells many times)
    cells: dict[tuple, tuple] = {}
    cell_cost = np.full(book.seat_rem.shape, np.nan)  # the cells' costs as an array (nan: not known)

    def cell(s_: int, t: int) -> tuple:
        got = cells.get((s_, t))
        if got is None:
            got = (math.inf, None)
            for b, kk in victims.get((s_, t), ()):
                cost = loss(b, kk, t)
                if cost < got[0]:
                    got = (cost, (b, kk))
            cells[(s_, t)] = got
            cell_cost[s_, t] = got[0]
        return got

    def touched(b: int) -> None:
        """Case b's attempts change: every cell holding one of them is priced again."""
        for _kk, tt, s2, _r in book.case_attempts.get(b, ()):
            cells.pop((s2, tt), None)
            cell_cost[s2, tt] = np.nan

    def slot_costs(seats: list, ts: np.ndarray) -> np.ndarray:
        """``cheapest``'s cost in each slot of ``ts``, for all of them at once."""
        if len(seats) == 1:  # the usual case (continuity): one row
            rem, cost = book.seat_rem[seats[0]][ts], cell_cost[seats[0]][ts]
            for j in np.flatnonzero(np.isnan(cost) & (rem <= 0)).tolist():
                cost[j] = cell(seats[0], int(ts[j]))[0]
            return np.where(rem > 0, 0.0, cost)
        rem = book.seat_rem[np.ix_(seats, ts)]
        cost = cell_cost[np.ix_(seats, ts)]
        for i, j in zip(*np.nonzero(np.isnan(cost) & (rem <= 0))):
            cost[i, j] = cell(seats[i], int(ts[j]))[0]
        return np.where(rem > 0, 0.0, cost).min(axis=0)

    def cheapest(a: int, seats: list, t: int):
        """(cost, victim, seat) of giving case a one of ``seats`` in slot t (an owing case's
        own attempts are never victims: their loss is infinite)."""
        best = (math.inf, None, None)
        for s_ in seats:
            if book.seat_rem[s_, t] > 0:
                return 0.0, None, s_
            cost, victim = cell(s_, t)
            if cost < best[0]:
                best = (cost, victim, s_)
        return best

    def place(a: int, seats: list, opts: tuple, commit: bool):
        """Place what case a owes on ``seats``; returns (cost, bumped) or None. Undone unless
        ``commit``. ``opts``: the case's legal (minus q, contact, slot) as arrays, and its
        slots (unique, and each option's index into them): tried cheapest first."""
        nq, ks, ts, slots, at = opts
        cost = slot_costs(seats, slots)[at]  # the case's numbers share a slot's cost
        fin = np.flatnonzero(np.isfinite(cost))
        priced = fin[np.lexsort((ts[fin], ks[fin], nq[fin], cost[fin]))]
        before = list(book.case_attempts.get(a, []))
        bumped, total = [], 0.0
        for k, t in zip(ks[priced].tolist(), ts[priced].tolist()):
            if owing(a) <= 0:
                break
            if not book.can_add(a, k, t):
                continue
            if c.continuity[a] and a in book.case_seat:
                seats = [book.case_seat[a]]
            cost, victim, s_ = cheapest(a, seats, t)  # again: earlier steps change it
            if s_ is None:
                continue
            if victim is not None:
                b, kk = victim
                touched(b)
                bumped.append((b, book.remove_attempt(b, kk, t)))
                victims[(s_, t)].discard((b, kk))
            book.add(a, k, t, s_, "frequency")
            total += cost
        ok = owing(a) <= 0
        if ok and commit:
            for k, t, s2, _r in book.case_attempts[a][len(before):]:
                victims.setdefault((s2, t), set()).add((a, k))
            touched(a)
            return total, bumped
        book.remove_case(a)
        for k, t, s2, r in before:
            book.add(a, k, t, s2, r)
        for b, (k, t, s2, r) in reversed(bumped):
            book.add(b, k, t, s2, r)
            victims.setdefault((s2, t), set()).add((b, k))
            touched(b)
        return (total, bumped) if ok else None

    gained, spent = 0, 0.0
    todo = [a for a in contacts if need[a] > 0 and owing(a) > 0]
    todo.sort(key=lambda a: (owing(a), -c.value[a], a))
    for a in todo:
        if deadline is not None and time.perf_counter() > deadline:
            break
        ks = contacts[a]
        rows, ts = np.nonzero(c.legal[ks])
        slots, at = np.unique(ts, return_inverse=True)
        opts = (-c.q[ks[rows], ts], ks[rows], ts, slots, at)
        if c.continuity[a] and a in book.case_seat:
            choices = [[book.case_seat[a]]]
        else:
            ok = book.class_seats[c.account_class[a]]
            room = book.seat_rem[ok][:, np.unique(ts)].clip(0, None).sum(axis=1)
            seats = ok[np.argsort(-room, kind="stable")[:max_seats]].tolist()
            # continuity: one seat for the whole day, each tried; else any of them per slot
            choices = [[s_] for s_ in seats] if c.continuity[a] else [seats]
        best = None
        for seats in choices:
            got = place(a, seats, opts, commit=False)
            if got is not None and (best is None or got[0] < best[0]):
                best = (got[0], seats)
        if best is not None:
            got = place(a, best[1], opts, commit=True)
            if got is not None:
                gained += 1
                spent += got[0]
    log.debug("obligation repair: %d obligations gained, bumping attempts worth %.0f", gained, spent)
    return gained


# a case's best slots where a one-attempt obligation may be moved out of its way (cn 100k at
# one sample's prices, after the priced plan's fill: 8 slots 59,029,157 in 6.7 s, 16 slots
# 59,181,621 in 10.5 s before relocations were kept per case and version, 6.8 s after; us
# 100k 8,502,223 -> 8,515,911)
MOVE_TRIES = 16


def value_swaps(c: Candidates, book: Book, n_top: int | None = None, deadline: float | None = None,
                cases: np.ndarray | None = None) -> int:
    """More attempts for the cases worth most, in a book whose seats are full, never losing
    an obligation. Returns the attempts added.

    Why: a plan that meets obligations first fills the seats with them, and whatever value
    attempts fit go where room is left, to cases worth little; a valuable case bound to its
    seat (continuity) finds that seat full. The LP over the whole 100k cn book spends the same
    capacity on second and third attempts of the most valuable 1% of cases (measured: the
    LP's 60.1M against the plan's 54.9M at the same obligations; the top 1,000 cases get 1,816
    attempts there, 1,108 in the plan). Here the cases are taken in order of what one more
    attempt adds (``value * survival * best q``; the ``n_top`` most valuable, default 2% of
    the cases and at least 2,000), each trying its legal slots best first on its own seat
    (any seat of its class while it has none) by the cheapest of: a free seat slot; bumping
    an attempt whose case keeps its obligation without it (its loss: the expected recovery
    it adds); moving a case whose one attempt meets its obligation to another seat slot of
    its class (free, or bumping such an attempt there), costing the bumped attempt's loss
    plus what the move loses (only in the case's ``MOVE_TRIES`` best slots). The move with
    the largest gain less cost is made when positive; the case then goes back in line for
    one more. Callbacks are never touched. ``cases``: only the accounts of this mask (a
    shard of a large book)."""
    need = obligation_need(c)
    contacts = case_contacts(c, cases)
    if not contacts:
        return 0
    V = c.value
    n_slots = c.grid.n
    inf = math.inf

    def loss(b: int, k: int, t: int) -> float:
        return bump_loss(c, book, need, b, k, t)

    # the attempts of every (seat, slot), and each cell's cheapest one to bump
    cells: dict[tuple, set] = {}
    for b, atts in book.case_attempts.items():
        for kk, tt, s_, _r in atts:
            cells.setdefault((s_, tt), set()).add((b, kk))
    # what a place in each seat slot costs: nothing when free, else its cheapest bump (kept
    # up to date by price_cell, which runs after every change of the cell)
    cell_cost = np.where(book.seat_rem > 0, 0.0, inf)
    victim_at: dict[tuple, tuple | None] = {}

    def price_cell(s_: int, t: int) -> None:
        best, arg = inf, None
        for b, kk in cells.get((s_, t), ()):
            cost = loss(b, kk, t)
            if cost < best:
                best, arg = cost, (b, kk)
        victim_at[(s_, t)] = arg
        cell_cost[s_, t] = 0.0 if book.seat_rem[s_, t] > 0 else best

    for s_, t in list(cells):
        price_cell(s_, t)

    def case_changed(b: int) -> None:
        for _k, tt, s_, _r in book.case_attempts.get(b, ()):
            price_cell(s_, tt)

    def take(b: int, k: int, t: int, s_: int) -> tuple:
        got = book.remove_attempt(b, k, t)
        cells[(s_, t)].discard((b, k))
        price_cell(s_, t)
        case_changed(b)
        return (b,) + got

    def put(a: int, k: int, t: int, s_: int, reason: str) -> None:
        book.add(a, k, t, s_, reason)
        cells.setdefault((s_, t), set()).add((a, k))
        price_cell(s_, t)
        case_changed(a)

    def fits(a: int, k: int, t: int, s_: int) -> bool:
        return bool(book.seat_rem[s_, t] > 0) and book.can_add(a, k, t)

    best_of: dict = {}

    def best_contacts(a: int) -> tuple[np.ndarray, np.ndarray]:
        """Per slot: the case's contact with the best q there and that q (-1: none legal)."""
        if a not in best_of:
            ks = contacts[a]
            q = np.where(c.legal[ks], c.q[ks], -1.0)
            j = q.argmax(axis=0)
            best_of[a] = (ks[j], q[j, np.arange(n_slots)])
        return best_of[a]

    moves: dict = {}  # case -> its cheapest relocation, while the book is unchanged
    moves_at = [-1]

    def relocation(b: int, kb: int, t_b: int, away: tuple, a: int) -> tuple[float, tuple | None]:
        """Cheapest new place for case b's one attempt (kb, t_b), not the cell ``away`` (the
        attempt's own) and not bumping case a's attempt: (cost, (seat, slot, contact, bumped
        attempt or None)). The same for every ``a`` until the book changes, so kept till then."""
        if moves_at[0] != book.version:
            moves.clear()
            moves_at[0] = book.version
        if b not in moves:
            ks, qb = best_contacts(b)
            seats = book.class_seats[c.account_class[b]]
            here = cell_cost[seats]
            here[seats == away[0], away[1]] = inf
            per_slot = here.argmin(axis=0)
            cost = here[per_slot, np.arange(n_slots)] + V[b] * (c.q[kb, t_b] - qb)
            cost[qb < 0] = inf
            ti = int(np.argmin(cost))
            si = int(per_slot[ti])
            if not np.isfinite(cost[ti]):
                moves[b] = (inf, None)
            else:
                s2 = int(seats[si])
                bumped = None if book.seat_rem[s2, ti] > 0 else victim_at.get((s2, ti))
                moves[b] = (float(cost[ti]), (s2, ti, int(ks[ti]), bumped))
        cost_b, where = moves[b]
        if where is not None and where[3] is not None and where[3][0] in (a, b):
            return inf, None
        return cost_b, where

    def survival(a: int) -> float:
        return math.prod(1.0 - c.q[kk, tt] for kk, tt, _s, _r in book.case_attempts.get(a, ()))

    accs = np.fromiter(contacts.keys(), dtype=np.int64, count=len(contacts))
    rows = np.concatenate([contacts[a] for a in accs.tolist()])
    q_best = np.zeros(c.n_accounts)
    np.maximum.at(q_best, c.contact_account[rows], np.where(c.legal[rows], c.q[rows], 0.0).max(axis=1))
    n_top = max(2000, len(accs) // 50) if n_top is None else n_top
    top = accs[np.lexsort((accs, -V[accs] * q_best[accs]))][:n_top]
    line = [(-V[a] * q_best[a] * survival(a), a) for a in top.tolist()]
    heapq.heapify(line)
    added, gained = 0, 0.0
    while line:
        if deadline is not None and time.perf_counter() > deadline:
            break
        est, a = heapq.heappop(line)
        s_a = survival(a)
        now = V[a] * q_best[a] * s_a
        if -est > now * (1 + 1e-9) + 1e-9:
            heapq.heappush(line, (-now, a))  # it has attempts since: back in line at its gain
            continue
        own = book.case_seat.get(a) if c.continuity[a] else None
        seats = np.array([own]) if own is not None else book.class_seats[c.account_class[a]]
        options = sorted(((V[a] * s_a * c.q[k, t], int(k), t) for k in contacts[a].tolist()
                          for t in np.flatnonzero(c.legal[k]).tolist() if book.can_add(a, k, t)), reverse=True)
        best, how = 0.0, None
        for i, (gain, k, t) in enumerate(options):
            if gain <= best:
                break
            here = cell_cost[seats, t]
            j = int(np.argmin(here))
            if gain - here[j] > best:
                s_ = int(seats[j])
                best, how = gain - here[j], (k, t, s_, None if book.seat_rem[s_, t] > 0 else victim_at[(s_, t)], None)
            if len(seats) != 1 or i >= MOVE_TRIES:
                continue
            s_ = int(seats[0])
            for b, kb in list(cells.get((s_, t), ())):
                atts = book.case_attempts[b]
                if (b == a or need[b] == 0 or len(atts) != 1 or atts[0][3] != "frequency"
                        or b in book.named_callback):
                    continue
                cost, where = relocation(b, kb, t, (s_, t), a)
                if where is not None and gain - cost > best:
                    best, how = gain - cost, (k, t, s_, (b, kb), where)
        if how is None:
            continue
        k, t, s_, out, where = how
        taken, placed = [], []
        if out is not None:
            taken.append(take(out[0], out[1], t, s_))
            if where is not None:  # the one-attempt obligation moves to another seat slot
                s2, t2, k2, bumped = where
                if bumped is not None:
                    taken.append(take(bumped[0], bumped[1], t2, s2))
                if fits(out[0], k2, t2, s2):
                    put(out[0], k2, t2, s2, "frequency")
                    placed.append((out[0], k2, t2))
        if not placed and where is not None or not fits(a, k, t, s_):
            # not expected (the checks above are the book's own): everything back as it was
            for b, kb, tb in placed:
                take(b, kb, tb, book.case_attempts[b][-1][2])
            for b, kb, tb, sb, rb in reversed(taken):
                put(b, kb, tb, sb, rb)
            continue
        put(a, k, t, s_, "value" if len(book.case_attempts.get(a, ())) >= need[a] else "frequency")
        added += 1
        gained += best
        heapq.heappush(line, (-V[a] * q_best[a] * survival(a), a))
    log.debug("value swaps: %d attempts added, about %.0f more expected", added, gained)
    return added
