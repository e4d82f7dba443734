"""Shards of a very large book: independent parts planned one by one, two at a time.

Cases interact only through seat capacity. A shard is a share of every seat group's seats
(dealt round-robin, so every team is in every shard it can be) and the cases that will use
them: each class's cases are spread over the shards holding its eligible seats in proportion
to the capacity it has there (interleaved by value, so every shard gets rich and poor cases
alike); a case owed a callback by a named seat goes where that seat is. Each shard's plan
uses only its own seats and cases, so the shards' plans together are a plan of the whole
book: every rule holds (per-case rules stay inside a shard, seats are never shared). What
sharding gives up is the freedom to move a case to a seat of another shard; the bound is
computed for the whole book (``colgen.price_by_sample``), so the gap shows the cost.
"""

from __future__ import annotations

import numpy as np

from ..candidates import Candidates
from .book import Book

SHARD_CASES = 100_000  # callable cases per shard (books above 1.5 times this are sharded)


def n_shards(n_cases: int) -> int:
    return 1 if n_cases <= 1.5 * SHARD_CASES else int(np.ceil(n_cases / SHARD_CASES))


def make_shards(c: Candidates, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(shard of each seat [-1: in no group], shard of each account)."""
    seat_group = c.groups.seat_group
    seat_shard = np.full(len(seat_group), -1, dtype=np.int64)
    for g, members in enumerate(c.groups.members):
        m = np.sort(np.asarray(members, dtype=np.int64))
        seat_shard[m] = (g + np.arange(len(m))) % n  # rotated by group: one-seat groups spread
    in_group = seat_group >= 0
    ok = c.class_groups[:, np.clip(seat_group, 0, None)] & in_group[None, :]  # [classes, seats]
    day_cap = c.groups.seat_capacity.sum(axis=1).astype(float)
    onehot = np.zeros((len(seat_group), n))
    onehot[np.flatnonzero(in_group), seat_shard[in_group]] = 1.0
    cap = (ok * day_cap[None, :]) @ onehot  # [classes, shards]: a class's capacity in each shard
    case_shard = np.zeros(c.n_accounts, dtype=np.int64)
    live = np.unique(c.contact_account[c.legal.any(axis=1)])
    cls = c.account_class[live]
    # within each class, by value (descending): the r-th case lands at the point r * phi
    # (mod 1) of the class's capacity shares, so each shard gets an even mix of values
    order = np.lexsort((-c.value[live], cls))
    live, cls = live[order], cls[order]
    rank = np.arange(len(live)) - np.searchsorted(cls, cls)
    share = cap / np.maximum(cap.sum(axis=1, keepdims=True), 1e-12)
    share[cap.sum(axis=1) <= 0] = 1.0 / n
    cum = np.cumsum(share, axis=1)
    u = np.mod(rank * 0.6180339887498949 + 0.5, 1.0)
    pick = (cum[cls] <= u[:, None]).sum(axis=1)
    case_shard[live] = np.minimum(pick, n - 1)
    cbs = c.callbacks
    if len(cbs):
        named = cbs["seat_req"].to_numpy()
        acc = cbs["acc"].to_numpy()
        sel = (named >= 0) & (acc >= 0)
        case_shard[acc[sel]] = np.maximum(seat_shard[named[sel]], 0)
    return seat_shard, case_shard


def shard_seed(c: Candidates, seat_mask: np.ndarray, cases: np.ndarray, prune: bool, deadline: float | None,
               mu: np.ndarray | None = None) -> np.ndarray:
    """One shard's plan (``heuristics.priced_plan`` on the shard's seats and cases only, with
    slot prices ``mu`` when given). Returns the book's attempts."""
    from .heuristics import priced_plan

    book = Book(c, seat_rem=c.groups.seat_capacity * seat_mask[:, None], seats=seat_mask)
    # the repair over 8 seats per owing case, not the 32 of a large book planned whole: on the cn 1M
    # benchmark (2b381f2) 16 made each pair of shards about 12 s slower, the last ones ran
    # into the shards' deadline and their value swaps were cut (584.9M against 592.1M by hand
    # with 8)
    return priced_plan(c, mu, prune=prune, max_seats=8, deadline=deadline, cases=cases, book=book).attempts()


def _seed_list(c: Candidates, seat_shard, case_shard, ids, prune, deadline, mu) -> list:
    return [shard_seed(c, seat_shard == i, case_shard == i, prune, deadline, mu) for i in ids]


def shard_plans(c: Candidates, seat_shard: np.ndarray, case_shard: np.ndarray, ids: list, prune: bool = True,
                deadline: float | None = None, note=None, mu: np.ndarray | None = None) -> list:
    """The plans (attempt arrays) of the shards ``ids``, every other one in a second process."""
    from .beside import Beside

    other = Beside(_seed_list, c, seat_shard, case_shard, ids[1::2], prune, deadline, mu)
    mine = []
    for i in ids[::2]:
        mine.append(shard_seed(c, seat_shard == i, case_shard == i, prune, deadline, mu))
        if note:
            note(f"shard {i + 1} of {int(seat_shard.max()) + 1} planned")
    return mine + other.result()


def merged(c: Candidates, plans: list, book: Book | None = None) -> Book:
    """One book of the shards' plans (disjoint seats and cases), added to ``book`` when given."""
    book = Book(c) if book is None else book
    for atts in plans:
        for a, k, t, s, r in zip(atts["account"].tolist(), atts["cand"].tolist(), atts["slot"].tolist(),
                                 atts["seat"].tolist(), atts["reason"].tolist()):
            book.add(a, k, t, s, r)
    return book
