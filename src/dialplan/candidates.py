"""Legal (contact, slot) candidates with their success probability, as dense columns.

For every callable contact a row of ``legal`` over the slot grid says where a single attempt
would keep every rule of docs/rules.md on its own (window in every zone, holidays, never-call,
caps and gaps against history, cooldown, a seat that may take it). Rules between planned
attempts (gaps, rolling caps, day caps, one attempt of a case at a time, seat capacity) are
left to the solver, which gets them here as small per-contact and per-account numbers.

Nothing here loops over (contact, slot) pairs in Python: masks are computed once per group
of contacts that share zones, role and segment, then broadcast.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import reasons as R
from .io.portfolio import Portfolio
from .rules.obligations import account_zone, callbacks_due, frequency_due, history_account_dates
from .rules.time import SlotGrid, build_grid, local_clock, wall_to_epoch
from .rules.zones import resolve_contact_zones

BIG = 10**6  # "no cap"


@dataclass
class SeatGroups:
    """Identical seats merged: same team, skills, zone, shift, breaks and rate. A seat that is
    some case's owner stays a group of its own."""

    seat_group: np.ndarray  # group of each active seat (index into seats frame), -1 inactive
    seat_capacity: np.ndarray  # [n_seats, n_slots] attempts a seat can take per slot
    capacity: np.ndarray  # [n_groups, n_slots]
    team: list
    skills: list  # frozenset per group
    owner: list  # seat_id when the group is one owner seat, else ""
    members: list  # seat row indices per group
    seat_on: np.ndarray  # [n_seats, n_slots] the seat is working (active, in shift, not on break)

    @property
    def n(self) -> int:
        return len(self.team)


@dataclass
class Candidates:
    """Everything the solver needs, aligned with the portfolio frames."""

    grid: SlotGrid
    portfolio: Portfolio
    groups: SeatGroups
    # accounts (rows of portfolio.accounts)
    value: np.ndarray  # balance * pay_propensity
    account_reason: np.ndarray  # "" when some contact is callable, else the reason
    account_max: np.ndarray  # most attempts the account may still take today (caps)
    account_class: np.ndarray  # eligibility class of the account
    class_groups: np.ndarray  # [n_classes, n_groups] bool: groups that may call the class
    continuity: np.ndarray  # bool per account
    due: np.ndarray  # frequency attempts due today (before today's history)
    done_today: np.ndarray  # history attempts dated D
    callbacks: pd.DataFrame  # callbacks on D: account_id, contact_id, seat_id, slot, acc, cand, seat_req
    # callable contacts (k = 0..n_k-1)
    contact_row: np.ndarray  # row in portfolio.contacts
    contact_account: np.ndarray  # account row
    contact_role: np.ndarray  # 0 debtor, 1 third party
    contact_max: np.ndarray  # most planned attempts on the contact today (day cap)
    gap_slots: np.ndarray  # two attempts on the contact must be >= this many slots apart
    roll_window: np.ndarray  # at most roll_max attempts in any roll_window consecutive slots
    roll_max: np.ndarray
    legal: np.ndarray  # [n_k, n_slots] bool
    q: np.ndarray  # [n_k, n_slots] float64, 0 where not legal
    contact_reason: np.ndarray  # per portfolio contact: "" callable, else reason
    zones: pd.Series  # resolved zones per portfolio contact

    @property
    def n_accounts(self) -> int:
        return len(self.value)

    @property
    def n_contacts(self) -> int:
        return len(self.contact_row)


def _minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def build_seat_groups(portfolio: Portfolio, grid: SlotGrid) -> SeatGroups:
    seats = portfolio.seats
    owners = set(portfolio.accounts["owner_seat"]) - {""}
    # a skill no case requires does not tell seats apart
    wanted = set(portfolio.accounts["required_skill"]) - {""}
    n_s = grid.n
    seat_cap = np.zeros((len(seats), n_s), dtype=np.int64)
    seat_on = np.zeros((len(seats), n_s), dtype=bool)
    for (zone, start, end, breaks, aph), idx in seats.groupby(
        ["timezone", "shift_start", "shift_end", "breaks", "attempts_per_hour"], sort=True
    ).indices.items():
        # shift and breaks as instants of the seat's local date D (as the grid and verify read
        # them), so DST nights cannot shift a boundary by an hour
        ok = (grid.starts >= wall_to_epoch(grid.date, _minutes(start), zone)) & (
            grid.ends <= wall_to_epoch(grid.date, _minutes(end), zone)
        )
        for part in filter(None, breaks.split(";")):
            b0, b1 = (wall_to_epoch(grid.date, _minutes(x), zone) for x in part.split("-"))
            ok &= (grid.ends <= b0) | (grid.starts >= b1)
        per_slot = int(np.floor(aph * grid.minutes / 60 + 1e-9))
        seat_on[idx] = ok
        seat_cap[idx] = np.where(ok, per_slot, 0)
    inactive = ~seats["active"].to_numpy()
    seat_cap[inactive] = 0
    seat_on[inactive] = False
    key = seats.apply(
        lambda r: (
            r["team"],
            ";".join(sorted(set(filter(None, r["skills"].split(";"))) & wanted)),
            r["timezone"],
            r["shift_start"],
            r["shift_end"],
            r["breaks"],
            r["attempts_per_hour"],
            r["seat_id"] if r["seat_id"] in owners else "",
        ),
        axis=1,
    ) if len(seats) else pd.Series(dtype=object)
    seat_group = np.full(len(seats), -1, dtype=np.int64)
    team, skills, owner, members, caps = [], [], [], [], []
    index: dict = {}
    for i, k in enumerate(key):
        if not seats["active"].iat[i]:
            continue
        if k not in index:
            index[k] = len(team)
            team.append(k[0])
            skills.append(frozenset(filter(None, k[1].split(";"))))
            owner.append(k[7])
            members.append([])
        g = index[k]
        seat_group[i] = g
        members[g].append(i)
    capacity = np.zeros((len(team), n_s), dtype=np.int64)
    for g, rows in enumerate(members):
        capacity[g] = seat_cap[rows].sum(axis=0)
    return SeatGroups(seat_group, seat_cap, capacity, team, skills, owner, members, seat_on)


def _eligibility(accounts: pd.DataFrame, groups: SeatGroups) -> tuple[np.ndarray, np.ndarray]:
    """Eligibility class per account and the groups each class may use."""
    keys = accounts[["team", "owner_seat", "required_skill"]]
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
    class_groups = np.zeros((len(uniques), groups.n), dtype=bool)
    for c, (team, owner, skill) in enumerate(uniques):
        for g in range(groups.n):
            ok = True
            if team and groups.team[g] != team:
                ok = False
            if owner and groups.owner[g] != owner:
                ok = False
            if skill and skill not in groups.skills[g]:
                ok = False
            class_groups[c, g] = ok
    return codes.astype(np.int64), class_groups


def _window_mask(zones: str, role: str, policy, grid: SlotGrid) -> tuple[np.ndarray, np.ndarray]:
    """(slots inside the role's window in every zone, slots also clear of no-call holidays)."""
    inside = np.ones(grid.n, dtype=bool)
    clear = np.ones(grid.n, dtype=bool)
    for zone in zones.split("|"):
        day, start = local_clock(zone, grid.starts)
        end_day, end = local_clock(zone, grid.ends, is_end=True)
        ok = day == end_day
        for ordinal in np.unique(day):
            date = dt.date.fromordinal(int(ordinal))
            on = day == ordinal
            window = policy.window(role, date.weekday())
            if window is None:
                ok &= ~on
            else:
                ok &= ~on | ((start >= window[0]) & (end <= window[1]))
            if policy.holidays_no_call and policy.is_holiday(date):
                clear &= ~on
        inside &= ok
    return inside, inside & clear


def _slot_bounds(grid: SlotGrid) -> tuple[np.ndarray, np.ndarray]:
    return grid.starts, grid.ends


def build_candidates(portfolio: Portfolio, day: dt.date) -> Candidates:
    """The legal single attempts of every contact on ``day``, and the per-case limits."""
    policy = portfolio.policy
    acc, con, hist = portfolio.accounts, portfolio.contacts, portfolio.history
    grid = build_grid(day, policy, portfolio.seats)
    groups = build_seat_groups(portfolio, grid)
    n_a, n_s = len(acc), grid.n
    d = day.toordinal()
    acc_index = pd.Index(acc["account_id"])
    con_index = pd.Index(con["contact_id"])
    seg_policy = {s: policy.for_segment(s) for s in pd.unique(acc["segment"])}

    # ---- account level -----------------------------------------------------------------
    value = (acc["balance"] * acc["pay_propensity"]).to_numpy(dtype=np.float64)
    reason = np.full(n_a, "", dtype=object)
    statuses, segments = acc["status"].to_numpy(dtype=object), acc["segment"].to_numpy(dtype=object)
    status_never = np.array([st in seg_policy[sg].never_call_statuses for st, sg in zip(statuses, segments)], dtype=bool) if n_a else np.zeros(0, bool)
    reason[acc["stop_contact"].to_numpy()] = R.STOP_CONTACT
    reason[(reason == "") & status_never] = R.STATUS

    hist_acc = acc_index.get_indexer(hist["account_id"])
    hist_con = con_index.get_indexer(hist["contact_id"])
    hist_epoch = hist["called_at"].astype("datetime64[s, UTC]").astype("int64").to_numpy() if len(hist) else np.zeros(0, np.int64)
    hist_acc_date = history_account_dates(hist, acc, policy.timezone)

    # account dates of the grid's slots (an account abroad may see two local dates)
    azone = account_zone(acc, policy.timezone).to_numpy()
    acc_slot_ok = np.ones((n_a, n_s), dtype=bool)
    account_max = np.full(n_a, BIG, dtype=np.int64)
    acc_block_reason = np.full(n_a, "", dtype=object)
    rpc = hist["outcome"].to_numpy() == "rpc"
    for (zone, segment), idx in pd.DataFrame({"z": azone, "s": acc["segment"].to_numpy()}).groupby(["z", "s"]).indices.items():
        caps = seg_policy[segment].account_caps
        slot_day = local_clock(zone, grid.starts)[0]
        in_group = np.zeros(n_a, dtype=bool)
        in_group[idx] = True
        hmask = in_group[hist_acc] if len(hist_acc) else np.zeros(0, bool)
        pools = []
        for ordinal in np.unique(slot_day):
            on = slot_day == ordinal
            rem = np.full(len(idx), BIG, dtype=np.int64)
            why = np.full(len(idx), "", dtype=object)
            if caps["cooldown_after_conversation_days"] > 0:
                lo = ordinal - caps["cooldown_after_conversation_days"] + 1
                sel = hmask & rpc & (hist_acc_date >= lo) & (hist_acc_date <= ordinal)
                cool = np.bincount(hist_acc[sel], minlength=n_a)[idx] > 0
                rem[cool] = 0
                why[cool] = R.COOLDOWN
            if caps["per_day"] > 0:
                sel = hmask & (hist_acc_date == ordinal)
                r = caps["per_day"] - np.bincount(hist_acc[sel], minlength=n_a)[idx]
                why[(why == "") & (r <= 0)] = R.CAP_ACCOUNT_DAY
                rem = np.minimum(rem, r)
            if caps["per_7_days"] > 0:
                sel = hmask & (hist_acc_date >= ordinal - 6) & (hist_acc_date <= ordinal)
                r = caps["per_7_days"] - np.bincount(hist_acc[sel], minlength=n_a)[idx]
                why[(why == "") & (r <= 0)] = R.CAP_ACCOUNT_7D
                rem = np.minimum(rem, r)
            blocked = rem <= 0
            acc_slot_ok[np.ix_(idx[blocked], np.flatnonzero(on))] = False
            pools.append(np.where(blocked, BIG, rem))
            first = acc_block_reason[idx]
            acc_block_reason[idx] = np.where(first == "", why, first)
        account_max[idx] = np.minimum.reduce(pools) if pools else BIG
    account_max = np.where(account_max >= BIG, BIG, np.maximum(account_max, 0))

    account_class, class_groups = _eligibility(acc, groups)
    class_slot_ok = (class_groups.astype(np.int64) @ (groups.capacity > 0).astype(np.int64)) > 0 if groups.n else np.zeros((class_groups.shape[0], n_s), bool)
    continuity = np.array([seg_policy[s].continuity for s in acc["segment"]], dtype=bool) if n_a else np.zeros(0, bool)

    # ---- contact level -----------------------------------------------------------------
    n_c = len(con)
    con_acc = acc_index.get_indexer(con["account_id"])
    role = con["role"].to_numpy()
    is_tp = role == "third_party"
    creason = np.full(n_c, "", dtype=object)
    outcome = hist["outcome"].to_numpy()
    invalid = np.zeros(n_c, dtype=bool)
    invalid[hist_con[outcome == "invalid_number"]] = True
    complaint_con = np.zeros(n_c, dtype=bool)
    complaint_con[hist_con[outcome == "complaint"]] = True
    complaint_acc = np.zeros(n_a, dtype=bool)
    complaint_acc[hist_acc[outcome == "complaint"]] = True
    scope_account = np.array([seg_policy[s].complaint_scope == "account" for s in acc["segment"]], dtype=bool) if n_a else np.zeros(0, bool)
    tp_allowed = np.array(
        [st in seg_policy[sg].third_party_statuses for st, sg in zip(statuses, segments)], dtype=bool
    ) if n_a else np.zeros(0, bool)
    creason[con["do_not_call"].to_numpy()] = R.DO_NOT_CALL
    creason[(creason == "") & invalid] = R.INVALID_NUMBER
    creason[(creason == "") & (complaint_con | (complaint_acc[con_acc] & scope_account[con_acc]))] = R.COMPLAINT
    creason[(creason == "") & is_tp & ~tp_allowed[con_acc]] = R.THIRD_PARTY
    acc_dead = reason[con_acc] != ""
    creason[(creason == "") & acc_dead] = reason[con_acc][(creason == "") & acc_dead]

    zones = resolve_contact_zones(con, acc, policy.timezone)
    first_zone = zones.str.split("|").str[0] if n_c else pd.Series(dtype=object)
    callable_ = creason == ""
    k_rows = np.flatnonzero(callable_)
    n_k = len(k_rows)
    legal = np.zeros((n_k, n_s), dtype=bool)
    q = np.zeros((n_k, n_s), dtype=np.float64)
    contact_max = np.full(n_k, BIG, dtype=np.int64)
    gap_slots = np.ones(n_k, dtype=np.int64)
    roll_window = np.ones(n_k, dtype=np.int64)
    roll_max = np.full(n_k, BIG, dtype=np.int64)
    stage_reason = np.full(n_k, "", dtype=object)
    day_capped = np.zeros(n_k, dtype=bool)  # a day cap used up by history removed some slots

    curves = portfolio.curves
    weight = {}
    for ptype in pd.unique(con["phone_type"]):
        w = np.ones(24)
        sel = curves[curves["phone_type"] == ptype]
        w[sel["hour"].to_numpy()] = sel["weight"].to_numpy()
        weight[ptype] = w

    k_acc = con_acc[k_rows]
    k_seg = acc["segment"].to_numpy()[k_acc]
    key = pd.DataFrame(
        {
            "z": zones.to_numpy()[k_rows],
            "r": role[k_rows],
            "s": k_seg,
            "f": first_zone.to_numpy()[k_rows],
            "t": con["phone_type"].to_numpy()[k_rows],
        }
    )
    k_hist = np.full(n_c, -1, dtype=np.int64)
    k_hist[k_rows] = np.arange(n_k)
    hk = k_hist[hist_con] if len(hist_con) else np.zeros(0, np.int64)
    rpc_rate = con["rpc_rate"].to_numpy(dtype=np.float64)[k_rows]
    window_reason = np.full(n_k, "", dtype=object)
    mask_cache: dict = {}
    for (zset, rl, seg, fz, ptype), idx in key.groupby(["z", "r", "s", "f", "t"], sort=True).indices.items():
        pol = seg_policy[seg]
        mk = (zset, rl, seg)
        if mk not in mask_cache:
            mask_cache[mk] = _window_mask(zset, rl, pol, grid)
        inside, clear = mask_cache[mk]
        caps = pol.contact_caps(rl)
        gap_slots[idx] = 1 + -(-caps["min_gap_minutes"] // grid.minutes)
        if caps["rolling"]["minutes"] > 0:
            # s(i+M) - e(i) < W breaks; slots i and i+k clash when (k-1)*L < W, i.e. when
            # k <= ceil(W/L): no more than M attempts in any ceil(W/L)+1 consecutive slots
            roll_window[idx] = -(-caps["rolling"]["minutes"] // grid.minutes) + 1
            roll_max[idx] = caps["rolling"]["max"]
        slot_day, slot_min = local_clock(fz, grid.starts)
        hours = slot_min // 60
        base = np.minimum(1.0, rpc_rate[idx, None] * weight[ptype][hours][None, :])
        q[idx] = base * (pol.third_party_weight if rl == "third_party" else 1.0)
        row_ok = np.broadcast_to(clear, (len(idx), n_s)).copy()
        window_reason[idx] = np.where(inside.any(), np.where(clear.any(), "", R.HOLIDAY), R.WINDOW)
        # contact day cap, per local date of the first zone
        if caps["per_day"] > 0:
            in_group = np.zeros(n_k, dtype=bool)
            in_group[idx] = True
            hsel = (hk >= 0)
            hsel[hsel] = in_group[hk[hsel]]
            hday = local_clock(fz, hist_epoch[hsel])[0] if hsel.any() else np.zeros(0, np.int64)
            pool = np.full(len(idx), BIG, dtype=np.int64)
            for ordinal in np.unique(slot_day):
                on = slot_day == ordinal
                used = np.bincount(hk[hsel][hday == ordinal], minlength=n_k)[idx]
                rem = caps["per_day"] - used
                day_capped[idx[(rem <= 0) & (row_ok[:, on].any(axis=1))]] = True
                row_ok[np.ix_(rem <= 0, on)] = False
                has_slots = (row_ok[:, on]).any(axis=1)
                pool = np.where(has_slots, np.minimum(pool, rem), pool)
            contact_max[idx] = np.maximum(pool, 0)
        legal[idx] = row_ok

    # history close to the grid: gaps and rolling caps against those points
    if len(hist_epoch) and n_s and n_k:
        reach = int(max(gap_slots.max(), roll_window.max()) * grid.seconds + grid.seconds)
        near = (hk >= 0) & (hist_epoch >= grid.starts[0] - reach) & (hist_epoch <= grid.ends[-1] + reach)
        starts, ends = _slot_bounds(grid)
        for k in np.unique(hk[near]):
            points = np.sort(hist_epoch[near & (hk == k)])
            pol = seg_policy[k_seg[k]]
            caps = pol.contact_caps(role[k_rows[k]])
            g = caps["min_gap_minutes"] * 60
            ok = np.ones(n_s, dtype=bool)
            for p in points:
                # a point before the slot needs s - p >= g; after it, p - e >= g; never inside
                ok &= (starts - p >= g) | (p - ends >= g)
            gap_bad = legal[k] & ~ok
            if caps["rolling"]["minutes"] > 0:
                w, m = caps["rolling"]["minutes"] * 60, caps["rolling"]["max"]
                for t in np.flatnonzero(legal[k] & ok):
                    s_all = np.append(points, starts[t])
                    e_all = np.append(points, ends[t])
                    order = np.argsort(s_all, kind="stable")
                    s_all, e_all = s_all[order], e_all[order]
                    p = int(np.flatnonzero(order == len(points))[0])  # the planned attempt
                    # windows of m+1 consecutive attempts that hold the planned one
                    for i in range(max(0, p - m), min(p, len(s_all) - 1 - m) + 1):
                        if s_all[i + m] - e_all[i] < w:
                            ok[t] = False
                            break
            if gap_bad.any() and not (legal[k] & ok).any():
                stage_reason[k] = R.MIN_GAP
            elif not (legal[k] & ok).any() and legal[k].any():
                stage_reason[k] = R.CAP_CONTACT_ROLLING
            legal[k] &= ok

    # accounts' own blocks and seats that may take the case
    before_acc = legal.any(axis=1)
    legal &= acc_slot_ok[k_acc]
    lost_acc = before_acc & ~legal.any(axis=1)
    before_seat = legal.any(axis=1)
    legal &= class_slot_ok[account_class[k_acc]] if n_k else legal
    lost_seat = before_seat & ~legal.any(axis=1)
    q[~legal] = 0.0

    # reasons for contacts that ended with no legal slot
    kreason = np.where(window_reason != "", window_reason, "")
    no_day = (kreason == "") & ~legal.any(axis=1) & ((contact_max == 0) | (day_capped & ~lost_acc & ~lost_seat))
    kreason = np.where(no_day, R.CAP_CONTACT_DAY, kreason)
    kreason = np.where((kreason == "") & (stage_reason != ""), stage_reason, kreason)
    kreason = np.where((kreason == "") & lost_acc, acc_block_reason[k_acc], kreason)
    kreason = np.where((kreason == "") & lost_seat, R.NO_SEAT, kreason)
    kreason = np.where((kreason == "") & ~legal.any(axis=1), R.WINDOW, kreason)
    kreason = np.where(legal.any(axis=1), "", kreason)
    creason[k_rows] = kreason

    # account reason: first reason of its contacts when none is callable
    live = np.zeros(n_a, dtype=bool)
    live[k_acc[legal.any(axis=1)]] = True
    has_contact = np.zeros(n_a, dtype=bool)
    has_contact[con_acc] = True
    reason[(reason == "") & ~has_contact] = R.NO_CONTACT
    need = (reason == "") & ~live
    if need.any():
        first = pd.Series(creason).groupby(con_acc).first() if n_c else pd.Series(dtype=object)
        fill = first.reindex(np.flatnonzero(need)).fillna(R.NO_CONTACT).to_numpy()
        reason[need] = fill

    due, done_today = frequency_due(acc, hist, policy, day)
    cbs = callbacks_due(portfolio.callbacks, grid, day, policy.timezone)
    cbs["acc"] = acc_index.get_indexer(cbs["account_id"])
    cbs["cand"] = k_hist[con_index.get_indexer(cbs["contact_id"])] if len(cbs) else pd.Series(dtype="int64")
    # the promising seat must make the callback when it works in that slot; else any seat may
    seat_pos = pd.Index(portfolio.seats["seat_id"]).get_indexer(cbs["seat_id"]) if len(cbs) else np.zeros(0, np.int64)
    slot = cbs["slot"].to_numpy() if len(cbs) else np.zeros(0, np.int64)
    works = (seat_pos >= 0) & (slot >= 0)
    works[works] = groups.seat_on[seat_pos[works], slot[works]]
    cbs["seat_req"] = np.where(works, seat_pos, -1)

    return Candidates(
        grid=grid,
        portfolio=portfolio,
        groups=groups,
        value=value,
        account_reason=reason,
        account_max=account_max,
        account_class=account_class,
        class_groups=class_groups,
        continuity=continuity,
        due=due,
        done_today=done_today,
        callbacks=cbs,
        contact_row=k_rows,
        contact_account=k_acc,
        contact_role=is_tp[k_rows].astype(np.int8),
        contact_max=contact_max,
        gap_slots=gap_slots,
        roll_window=roll_window,
        roll_max=roll_max,
        legal=legal,
        q=q,
        contact_reason=creason,
        zones=zones,
    )
