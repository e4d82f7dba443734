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
from .columns import factorize_rows, group_indices, indexer
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
    owners = set(pd.unique(portfolio.accounts["owner_seat"])) - {""}
    # a skill no case requires does not tell seats apart
    wanted = set(pd.unique(portfolio.accounts["required_skill"])) - {""}
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
    team, skills, owner, members = [], [], [], []
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
    codes, uniques = factorize_rows([keys[c] for c in keys.columns])
    class_groups = np.zeros((len(uniques), groups.n), dtype=bool)
    g_team = np.array(groups.team + [None], dtype=object)[:-1]  # (the None keeps it 1-d)
    g_owner = np.array(groups.owner + [None], dtype=object)[:-1]
    has_skill: dict = {}
    for c, (team, owner, skill) in enumerate(uniques):
        ok = np.ones(groups.n, dtype=bool)
        if team:
            ok &= g_team == team
        if owner:
            ok &= g_owner == owner
        if skill:
            if skill not in has_skill:
                has_skill[skill] = np.array([skill in sk for sk in groups.skills], dtype=bool)
            ok &= has_skill[skill]
        class_groups[c] = ok
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
    seg_policy = {s: policy.for_segment(s) for s in pd.unique(acc["segment"])}

    # ---- account level -----------------------------------------------------------------
    value = (acc["balance"] * acc["pay_propensity"]).to_numpy(dtype=np.float64)
    reason = np.full(n_a, "", dtype=object)
    # per-account policy facts, computed once per distinct (segment, status)
    ss_codes, ss_uniq = factorize_rows([acc["segment"], acc["status"]])

    def per_account(fact) -> np.ndarray:
        table = np.array([bool(fact(seg_policy[sg], st)) for sg, st in ss_uniq], dtype=bool)
        return table[ss_codes] if n_a else np.zeros(0, bool)

    status_never = per_account(lambda pol, st: st in pol.never_call_statuses)
    reason[acc["stop_contact"].to_numpy()] = R.STOP_CONTACT
    reason[(reason == "") & status_never] = R.STATUS

    hist_acc = indexer(acc["account_id"], hist["account_id"])
    hist_con = indexer(con["contact_id"], hist["contact_id"])
    hist_epoch = hist["called_at"].astype("datetime64[s, UTC]").astype("int64").to_numpy() if len(hist) else np.zeros(0, np.int64)
    hist_acc_date = history_account_dates(hist, acc, policy.timezone, hist_acc)

    # account dates of the grid's slots (an account abroad may see two local dates)
    tz_codes, tz_uniq = pd.factorize(acc["timezone"])  # account zone: its own, else the policy's
    azone = account_zone(pd.DataFrame({"timezone": np.asarray(tz_uniq, dtype=object)}), policy.timezone).to_numpy(dtype=object)
    az_codes, az_uniq = pd.factorize(azone)
    acc_slot_ok = np.ones((n_a, n_s), dtype=bool)
    account_max = np.full(n_a, BIG, dtype=np.int64)
    acc_block_reason = np.full(n_a, "", dtype=object)
    rpc = (hist["outcome"] == "rpc").to_numpy(dtype=bool)
    seg_codes, seg_uniq = pd.factorize(acc["segment"])
    seg_uniq = np.asarray(seg_uniq, dtype=object)
    acc_groups = group_indices([(az_codes[tz_codes], np.asarray(az_uniq, dtype=object)), (seg_codes, seg_uniq)])
    # history rows sorted by their account's group, and each account's place in its group, so
    # that a group's counts cost the group's rows, not the whole book's
    a_gid = np.full(n_a, -1, dtype=np.int64)
    a_pos = np.zeros(n_a, dtype=np.int64)
    for g, idx in enumerate(acc_groups.values()):
        a_gid[idx] = g
        a_pos[idx] = np.arange(len(idx))
    h_gid = a_gid[hist_acc] if len(hist_acc) else np.zeros(0, np.int64)
    h_order = np.argsort(h_gid, kind="stable")
    h_bounds = np.searchsorted(h_gid[h_order], np.arange(len(acc_groups) + 1))
    for g, ((zone, segment), idx) in enumerate(acc_groups.items()):
        caps = seg_policy[segment].account_caps
        slot_day = local_clock(zone, grid.starts)[0]
        hs = h_order[h_bounds[g]:h_bounds[g + 1]]  # the group's history rows
        h_pos, h_date, h_rpc = a_pos[hist_acc[hs]], hist_acc_date[hs], rpc[hs]
        pools = []
        for ordinal in np.unique(slot_day):
            on = slot_day == ordinal
            rem = np.full(len(idx), BIG, dtype=np.int64)
            why = np.full(len(idx), "", dtype=object)
            if caps["cooldown_after_conversation_days"] > 0:
                lo = ordinal - caps["cooldown_after_conversation_days"] + 1
                sel = h_rpc & (h_date >= lo) & (h_date <= ordinal)
                cool = np.bincount(h_pos[sel], minlength=len(idx)) > 0
                rem[cool] = 0
                why[cool] = R.COOLDOWN
            if caps["per_day"] > 0:
                sel = h_date == ordinal
                r = caps["per_day"] - np.bincount(h_pos[sel], minlength=len(idx))
                why[(why == "") & (r <= 0)] = R.CAP_ACCOUNT_DAY
                rem = np.minimum(rem, r)
            if caps["per_7_days"] > 0:
                sel = (h_date >= ordinal - 6) & (h_date <= ordinal)
                r = caps["per_7_days"] - np.bincount(h_pos[sel], minlength=len(idx))
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
    continuity = per_account(lambda pol, st: pol.continuity)

    # ---- contact level -----------------------------------------------------------------
    n_c = len(con)
    con_acc = indexer(acc["account_id"], con["account_id"])
    is_tp = (con["role"] == "third_party").to_numpy(dtype=bool)
    # the reader keeps only the two roles
    role = np.full(n_c, "debtor", dtype=object)
    role[is_tp] = "third_party"
    creason = np.full(n_c, "", dtype=object)
    invalid = np.zeros(n_c, dtype=bool)
    invalid[hist_con[(hist["outcome"] == "invalid_number").to_numpy(dtype=bool)]] = True
    complained = (hist["outcome"] == "complaint").to_numpy(dtype=bool)
    complaint_con = np.zeros(n_c, dtype=bool)
    complaint_con[hist_con[complained]] = True
    complaint_acc = np.zeros(n_a, dtype=bool)
    complaint_acc[hist_acc[complained]] = True
    scope_account = per_account(lambda pol, st: pol.complaint_scope == "account")
    tp_allowed = per_account(lambda pol, st: st in pol.third_party_statuses)
    creason[con["do_not_call"].to_numpy()] = R.DO_NOT_CALL
    creason[(creason == "") & invalid] = R.INVALID_NUMBER
    creason[(creason == "") & (complaint_con | (complaint_acc[con_acc] & scope_account[con_acc]))] = R.COMPLAINT
    creason[(creason == "") & is_tp & ~tp_allowed[con_acc]] = R.THIRD_PARTY
    acc_dead = reason[con_acc] != ""
    creason[(creason == "") & acc_dead] = reason[con_acc][(creason == "") & acc_dead]

    zones = resolve_contact_zones(con, acc, policy.timezone, con_acc)
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
    k_seg = seg_uniq[seg_codes[k_acc]]
    z_codes, z_uniq = pd.factorize(zones.to_numpy(dtype=object)[k_rows])
    z_uniq = np.asarray(z_uniq, dtype=object)
    f_of_z, f_uniq = pd.factorize(np.array([z.split("|")[0] for z in z_uniq], dtype=object))
    pt_codes, pt_uniq = pd.factorize(con["phone_type"])
    key = [
        (z_codes, z_uniq),
        (is_tp[k_rows].astype(np.int64), np.array(["debtor", "third_party"], dtype=object)),
        (seg_codes[k_acc], seg_uniq),
        (f_of_z[z_codes], np.asarray(f_uniq, dtype=object)),
        (pt_codes[k_rows], np.asarray(pt_uniq, dtype=object)),
    ]
    k_hist = np.full(n_c, -1, dtype=np.int64)
    k_hist[k_rows] = np.arange(n_k)
    hk = k_hist[hist_con] if len(hist_con) else np.zeros(0, np.int64)
    rpc_rate = con["rpc_rate"].to_numpy(dtype=np.float64)[k_rows]
    window_reason = np.full(n_k, "", dtype=object)
    mask_cache: dict = {}
    k_groups = group_indices(key)
    # history rows of callable contacts sorted by the contact's group, and each contact's place
    # in its group: a group's day-cap counts cost the group's rows, not the whole book's
    k_gid = np.full(n_k, -1, dtype=np.int64)
    k_pos = np.zeros(n_k, dtype=np.int64)
    for g, idx in enumerate(k_groups.values()):
        k_gid[idx] = g
        k_pos[idx] = np.arange(len(idx))
    h_rows = np.flatnonzero(hk >= 0)
    h_gid = k_gid[hk[h_rows]]
    h_order = h_rows[np.argsort(h_gid, kind="stable")]
    h_bounds = np.searchsorted(np.sort(h_gid, kind="stable"), np.arange(len(k_groups) + 1))
    # per group: the weight of each slot, the third-party factor and the slots clear of windows
    # and holidays; q and legal are filled from them afterwards, in contiguous blocks of rows
    g_weight = np.zeros((len(k_groups), n_s), dtype=np.float64)
    g_tp = np.ones(len(k_groups), dtype=np.float64)
    g_clear = np.zeros((len(k_groups), n_s), dtype=bool)
    capped_parts = []  # (contacts, slots of one local date) closed by a day cap used up by history
    for g, ((zset, rl, seg, fz, ptype), idx) in enumerate(k_groups.items()):
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
        g_weight[g] = weight[ptype][hours]
        g_tp[g] = pol.third_party_weight if rl == "third_party" else 1.0
        g_clear[g] = clear
        window_reason[idx] = np.where(inside.any(), np.where(clear.any(), "", R.HOLIDAY), R.WINDOW)
        # contact day cap, per local date of the first zone (the dates' slots are disjoint, so
        # before a date's cap a contact has a slot that date exactly when the group has one)
        if caps["per_day"] > 0:
            hs = h_order[h_bounds[g]:h_bounds[g + 1]]  # the group's history rows
            h_pos = k_pos[hk[hs]]
            hday = local_clock(fz, hist_epoch[hs])[0] if len(hs) else np.zeros(0, np.int64)
            pool = np.full(len(idx), BIG, dtype=np.int64)
            for ordinal in np.unique(slot_day):
                on = slot_day == ordinal
                used = np.bincount(h_pos[hday == ordinal], minlength=len(idx))
                rem = caps["per_day"] - used
                capped = rem <= 0
                open_that_day = bool(clear[on].any())
                if open_that_day:
                    day_capped[idx[capped]] = True
                if capped.any():
                    capped_parts.append((idx[capped], np.flatnonzero(on)))
                has_slots = open_that_day & ~capped
                pool = np.where(has_slots, np.minimum(pool, rem), pool)
            contact_max[idx] = np.maximum(pool, 0)
    chunk = max(1, (1 << 22) // max(n_s, 1))  # rows of q computed at once (32 MB float64 blocks)
    for c0 in range(0, n_k, chunk):  # q = min(1, rpc_rate * weight) * tp_w, in blocks
        gid = k_gid[c0:c0 + chunk]
        legal[c0:c0 + chunk] = g_clear[gid]
        block = q[c0:c0 + chunk]
        np.multiply(rpc_rate[c0:c0 + chunk, None], g_weight[gid], out=block)
        np.minimum(1.0, block, out=block)
        block *= g_tp[gid][:, None]
    for rows, slots in capped_parts:
        legal[np.ix_(rows, slots)] = False

    # history close to the grid: gaps and rolling caps against those points
    if len(hist_epoch) and n_s and n_k:
        reach = int(max(gap_slots.max(), roll_window.max()) * grid.seconds + grid.seconds)
        near = (hk >= 0) & (hist_epoch >= grid.starts[0] - reach) & (hist_epoch <= grid.ends[-1] + reach)
        starts, ends = _slot_bounds(grid)
        near_rows = np.flatnonzero(near)
        near_rows = near_rows[np.argsort(hk[near_rows], kind="stable")]
        near_k = hk[near_rows]
        cuts = np.flatnonzero(np.diff(near_k)) + 1
        for rows in np.split(near_rows, cuts) if len(near_rows) else []:
            k = hk[rows[0]]
            points = np.sort(hist_epoch[rows])
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
                if m >= 2:
                    # the check above holds one planned attempt with the history; two planned
                    # ones that each pass it may still, with a history point, make m + 1 in
                    # one window. Such a contact (history within a window of its slots, which
                    # only same-day history or a night grid gives) gets one attempt today.
                    near_t = ((starts[None, :] - points[:, None] < w) & (points[:, None] - ends[None, :] < w)).any(axis=0)
                    if (legal[k] & ok & near_t).any():
                        contact_max[k] = min(contact_max[k], 1)
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

    due, done_today = frequency_due(acc, hist, policy, day, hist_acc, hist_acc_date)
    cbs = callbacks_due(portfolio.callbacks, grid, day, policy.timezone)
    cbs["acc"] = indexer(acc["account_id"], cbs["account_id"])
    cbs["cand"] = k_hist[indexer(con["contact_id"], cbs["contact_id"])] if len(cbs) else pd.Series(dtype="int64")
    # the promising seat must make the callback when it works in that slot; else any seat may
    seat_pos = indexer(portfolio.seats["seat_id"], cbs["seat_id"]) if len(cbs) else np.zeros(0, np.int64)
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
