"""Tests of the candidate generator (src/dialplan/candidates.py, src/dialplan/rules/).

Three parts:

1. Property tests (hypothesis): random small portfolios under the built-in packs and variants
   of them (weekday windows, no-call holidays, a narrower third-party window), with contacts
   and seats in several zones, history near the plan date and DST dates. The independent
   verifier (src/dialplan/verify.py) is the judge: every pair that ``legal`` allows, planned
   alone on a seat that candidates says can take it, must pass verify (every rule but
   ``summary``); every pair verify accepts alone must be ``legal``.
2. Unit tests of the rules modules: the slot grid across DST, local clocks at midnight, zone
   resolution, frequency obligations and callbacks.
3. Reason codes of contacts and accounts that end with nothing to call.

Plans for verify are written by hand (plan.csv + summary.json, contract section 4). The
summary's figures are not what these tests are about, so the ``summary`` rule is ignored.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dialplan.verify as verify_mod
from dialplan import reasons as R
from dialplan.candidates import build_candidates
from dialplan.io.portfolio import read_portfolio
from dialplan.rules.obligations import callbacks_due, frequency_due
from dialplan.rules.time import build_grid, local_clock, local_midnight
from dialplan.rules.zones import resolve_contact_zones
from dialplan.verify import contact_zones, verify_plan

from .helpers import write_portfolio

# --- fixtures shared by all parts ---------------------------------------------------------------

PACKS = ("cn-collection-2015", "cn-cba-2026", "us-regf")
ZONES = ("Asia/Shanghai", "America/New_York", "America/Phoenix", "Europe/London", "Asia/Kolkata", "America/St_Johns")
# numbers libphonenumber places (or deliberately cannot place in one country)
PHONES = {
    "cn": ["+8613800138000", "+8613912345678", "+861012345678"],
    "ny": ["+12125550101", "+12125550102"],
    "phx": ["+16025550101"],
    "nl": ["+17095550101"],  # Halifax and St_Johns: two zones of one country
    "in": ["+919876543210"],  # Asia/Calcutta
    "lon": ["+442079460000"],
    "tollfree": ["+18002345678"],  # zones of many countries: adds none
    "ukmobile": ["+447911123456"],  # London, Guernsey, Jersey, Isle of Man: adds none
}
ALL_PHONES = [p for group in PHONES.values() for p in group]
PLAN_COLS = ["seat_id", "seq", "slot_start", "slot_end", "account_id", "contact_id", "phone", "role", "p_contact", "reason"]
IGNORED = {"summary"}


def pack_text(name: str) -> str:
    """The TOML text of a built-in pack."""
    return resources.files("dialplan.policy").joinpath("packs", f"{name}.toml").read_text("utf-8")


def policy_variant(pack: str, no_call_holidays: bool = False, weekend: str = "", tp_window: bool = False) -> str:
    """A pack's text with window changes: no-call holidays, a weekend rule (``sat``: a short
    Saturday window, ``sun``: no calls on Sunday, ``both``) and a narrower third-party window."""
    text = pack_text(pack)
    block = f'holidays = "{"no_call" if no_call_holidays else "call"}"\n'
    if weekend in ("sat", "both"):
        block += 'sat = ["09:00", "18:00"]\n'
    if weekend in ("sun", "both"):
        block += 'sun = "none"\n'
    if tp_window:
        block += '[window.third_party]\nstart = "10:00"\nend = "19:00"\n'
    assert 'holidays = "call"\n' in text
    return text.replace('holidays = "call"\n', block, 1)


def write_single_plan(plan_dir: Path, date: dt.date, seat_id: str, start_iso: str, end_iso: str, contact: dict, p: float) -> Path:
    """A one-attempt plan (plan.csv + summary.json) for verify; the summary figures are
    placeholders (the ``summary`` rule is not what is checked)."""
    plan_dir.mkdir(parents=True, exist_ok=True)
    row = {
        "seat_id": seat_id,
        "seq": 1,
        "slot_start": start_iso,
        "slot_end": end_iso,
        "account_id": contact["account_id"],
        "contact_id": contact["contact_id"],
        "phone": contact["phone"],
        "role": contact["role"],
        "p_contact": repr(float(p)),
        "reason": "value",
    }
    pd.DataFrame([row], columns=PLAN_COLS).to_csv(plan_dir / "plan.csv", index=False)
    summary = {
        "date": date.isoformat(),
        "expected_recovery": 0.0,
        "upper_bound": 1e12,
        "attempts": 1,
        "obligations": {"due": 0, "met": 0, "unmet": 0},
    }
    (plan_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return plan_dir


@contextmanager
def verifier_reading(portfolio):
    """verify_plan with its portfolio read once (a separate read from the one candidates got):
    read_portfolio is the slow part of a verify call and the files do not change."""
    with mock.patch.object(verify_mod, "read_portfolio", lambda *a, **k: portfolio):
        yield


def broken(report, ignore=IGNORED) -> dict:
    """Rules with violations, minus the ignored ones."""
    return {r: n for r, n in report.counts.items() if n and r not in ignore}


def seat_may_take(portfolio, seat_row: int, account_row: int) -> bool:
    """Seat attributes against the case: active, team, owner_seat, required_skill."""
    seat = portfolio.seats.iloc[seat_row]
    acc = portfolio.accounts.iloc[account_row]
    if not seat["active"]:
        return False
    if acc["team"] and seat["team"] != acc["team"]:
        return False
    if acc["owner_seat"] and seat["seat_id"] != acc["owner_seat"]:
        return False
    if acc["required_skill"] and acc["required_skill"] not in set(filter(None, seat["skills"].split(";"))):
        return False
    return True


def never_call_mask(portfolio) -> np.ndarray:
    """Per portfolio contact, whether a never-call rule (docs "Never call") stops it, computed
    here by hand: do_not_call, stop_contact, never-call status, invalid_number, complaint
    (contact or, with complaint.scope = "account", case), third party of a case whose status
    does not allow third parties."""
    con, acc, hist = portfolio.contacts, portfolio.accounts.set_index("account_id"), portfolio.history
    out = np.zeros(len(con), dtype=bool)
    for i, c in enumerate(con.to_dict("records")):
        a = acc.loc[c["account_id"]]
        pol = portfolio.policy.for_segment(a["segment"])
        mine = hist[hist["contact_id"] == c["contact_id"]]["outcome"]
        case = hist[hist["account_id"] == c["account_id"]]["outcome"]
        out[i] = (
            c["do_not_call"]
            or a["stop_contact"]
            or a["status"] in pol.never_call_statuses
            or (mine == "invalid_number").any()
            or (mine == "complaint").any()
            or (pol.complaint_scope == "account" and (case == "complaint").any())
            or (c["role"] == "third_party" and a["status"] not in pol.third_party_statuses)
        )
    return out


# --- part 1: property tests ------------------------------------------------------------------------

DATES = ("2026-03-09", "2026-03-08", "2026-11-01", "2026-10-01", "2026-07-03", "2026-01-02", "2026-06-19")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def rare(*values, common=""):
    """A strategy that mostly gives ``common`` and sometimes one of ``values``."""
    return st.sampled_from([common] * (2 * len(values) + 3) + list(values))


@st.composite
def portfolios(draw):
    """A random small portfolio: (date, policy text, accounts, contacts, seats, history, curves,
    seed of the pair sampling).

    Hostile features (never-call flags, other zones, night shifts, team restrictions, blocking
    outcomes) are drawn with low weights so that most examples keep some legal pairs; night
    shifts give seat boundaries in the small hours of the DST dates."""
    date = dt.date.fromisoformat(draw(st.sampled_from(DATES)))
    pack = draw(st.sampled_from(PACKS))
    policy = policy_variant(
        pack,
        no_call_holidays=draw(st.booleans()),
        weekend=draw(st.sampled_from(["", "", "sat", "sun", "both"])),
        tp_window=draw(st.booleans()),
    )
    us = pack == "us-regf"
    policy_zone = "America/New_York" if us else "Asia/Shanghai"
    segments = ["", "", "MA", "WA"] if us else [""]
    home_phones = PHONES["ny"] + PHONES["phx"] if us else PHONES["cn"]

    seats = []
    for j in range(draw(st.integers(1, 3))):
        # seat S0 is an active day seat of the policy zone open to every team and skill, so
        # that most examples keep legal pairs; the others are drawn freely
        zone = policy_zone if j == 0 else draw(rare(*ZONES, common=policy_zone))
        kind = "day" if j == 0 else draw(st.sampled_from(["day", "day", "day", "any", "night"]))
        if kind == "day":
            start = draw(st.integers(6 * 4, 10 * 4)) * 15
        elif kind == "night":  # boundaries in the small hours, where DST switches happen
            start = draw(st.integers(0, 3 * 4)) * 15
        else:  # any time of day, sometimes off the slot grid
            start = draw(st.integers(0, 22 * 4)) * 15 + draw(st.sampled_from([0, 0, 0, 10]))
        length = draw(st.sampled_from([36, 48, 24, 56, 16, 8, 2])) * 15
        end = min(24 * 60, start + length)
        breaks = ""
        if draw(st.booleans()) and end - start >= 120:
            b0 = start + draw(st.integers(1, (end - start) // 15 - 2)) * 15
            b1 = min(end, b0 + draw(st.sampled_from([15, 30, 60])))
            breaks = f"{_hhmm(b0)}-{_hhmm(b1)}"
        seats.append(
            {
                "seat_id": f"S{j}",
                "team": "" if j == 0 else draw(st.sampled_from(["", "T1", "T2"])),
                "shift_start": _hhmm(start),
                "shift_end": _hhmm(end),
                "timezone": zone,
                "breaks": breaks,
                "attempts_per_hour": draw(rare(2, 4, 10, common=20)),
                "skills": "s1;s2" if j == 0 else draw(st.sampled_from(["", "s1", "s1;s2"])),
                "active": "true" if j == 0 else draw(rare("false", common="true")),
            }
        )
    seat_ids = [s["seat_id"] for s in seats]

    accounts, contacts, history, curves = [], [], [], []
    used: set = set()
    origin = dt.datetime.combine(date, dt.time(0), ZoneInfo(policy_zone))
    for i in range(draw(st.integers(1, 3))):
        aid = f"A{i}"
        accounts.append(
            {
                "account_id": aid,
                "balance": draw(st.sampled_from([500, 1000, 5000])),
                "status": draw(st.sampled_from(["contactable", "lost_contact", "lost_contact", "ptp", "new", "paused"])),
                "team": draw(st.sampled_from([""] * 12 + ["T1", "T2", "TX"])),
                "owner_seat": draw(st.sampled_from([""] * 12 + seat_ids)),
                "required_skill": draw(st.sampled_from([""] * 12 + ["s1", "s2"])),
                "timezone": draw(rare(*ZONES)),
                "segment": draw(st.sampled_from(segments)),
                "stop_contact": draw(rare("true")),
            }
        )
        for j in range(draw(st.integers(1, 3))):
            cid = f"C{i}{j}"
            pool = [p for p in (home_phones if draw(st.integers(0, 2)) else ALL_PHONES) if p not in used] or [p for p in ALL_PHONES if p not in used]
            phone = draw(st.sampled_from(pool))
            used.add(phone)
            contacts.append(
                {
                    "contact_id": cid,
                    "account_id": aid,
                    "phone": phone,
                    "role": draw(st.sampled_from(["debtor", "debtor", "third_party"])),
                    "phone_type": draw(st.sampled_from(["", "mobile", "home", "work"])),
                    "timezone": draw(rare(*ZONES, "America/New_York|America/Phoenix", "Asia/Kolkata|Europe/London")),
                    "rpc_rate": draw(st.sampled_from(["", "0.1", "0.35", "0.8"])),
                    "do_not_call": draw(rare("true")),
                }
            )
            for _ in range(draw(st.integers(0, 4))):
                # on D itself (during the day) or in the days around it
                minutes = draw(st.one_of(st.integers(-8 * 1440, 1440), st.integers(6 * 60, 23 * 60), st.integers(-8 * 1440, 1440)))
                at = origin + dt.timedelta(minutes=minutes)
                history.append(
                    {
                        "account_id": aid,
                        "contact_id": cid,
                        "called_at": at.astimezone(ZoneInfo(draw(st.sampled_from(ZONES)))).isoformat(),
                        "outcome": draw(rare("rpc", "third_party", "busy", "refused", "invalid_number", "complaint", common="no_answer")),
                    }
                )
    if draw(st.booleans()):
        for ptype in ("mobile", "work"):
            for hour in draw(st.sets(st.integers(0, 23), max_size=4)):
                curves.append({"phone_type": ptype, "hour": hour, "weight": draw(st.sampled_from([0.0, 0.5, 1.5, 3.0]))})
    return date, policy, accounts, contacts, seats, history, curves, draw(st.integers(0, 2**32 - 1))


def _pairs_to_check(cands, rnd, n_legal=8, n_other=10):
    """(legal pairs, other pairs) as (contact row, slot) lists: boundary slots first, then a
    random sample."""
    legal = cands.legal
    n_con, n_s = len(cands.portfolio.contacts), cands.grid.n
    yes = [(int(cands.contact_row[k]), int(t)) for k, t in zip(*np.nonzero(legal))]
    edge_yes, edge_no = [], []
    for k in range(len(legal)):
        row = legal[k]
        change = np.flatnonzero(row[1:] != row[:-1])
        for t in change:
            pair = [(int(cands.contact_row[k]), int(t)), (int(cands.contact_row[k]), int(t) + 1)]
            for c, s in pair:
                (edge_yes if legal[k, s] else edge_no).append((c, s))
    k_of = {int(c): k for k, c in enumerate(cands.contact_row)}
    no = [(c, t) for c in range(n_con) for t in range(n_s) if c not in k_of or not legal[k_of[c], t]]

    def pick(first, rest, n):
        first = list(dict.fromkeys(first))
        rnd.shuffle(first)
        out = first[: n // 2]
        pool = [p for p in rest if p not in set(out)]
        out += rnd.sample(pool, min(len(pool), n - len(out)))
        return out

    return pick(edge_yes, yes, n_legal), pick(edge_no, no, n_other)


@contextmanager
def _example(spec):
    """Write the example's portfolio into a temporary directory and build its candidates; yield
    (tmp dir, portfolio dir, portfolio, candidates) with verify reading its own copy of the
    portfolio."""
    date, policy, accounts, contacts, seats, history, curves, _ = spec
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = write_portfolio(tmp / "pf", accounts, contacts, seats, history=history, curves=curves, policy=policy)
        pf = read_portfolio(root, max_reject=1.0)
        cands = build_candidates(pf, date)
        with verifier_reading(read_portfolio(root, max_reject=1.0)):
            yield tmp, root, pf, cands


PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@PROPERTY
@given(spec=portfolios())
def test_every_legal_pair_passes_verify(spec):
    """(a) Every legal (k, t) (boundary slots first, then a sample), planned alone on a seat
    that may take the case (active, team, owner, skill) and has capacity in t by candidates'
    own seat table, with p_contact = q[k, t], passes verify: no violation of any rule but
    ``summary`` (so q agrees with verify's p_contact too). Also: the contacts a never-call
    rule stops (computed here by hand) are exactly those with a never-call reason code, and
    none of them is a candidate."""
    date, rnd = spec[0], random.Random(spec[-1])
    with _example(spec) as (tmp, root, pf, cands):
        grid = cands.grid
        starts, ends = grid.iso(grid.starts), grid.iso(grid.ends)
        con = pf.contacts.to_dict("records")
        acc_row = pd.Index(pf.accounts["account_id"]).get_indexer(pf.contacts["account_id"])
        k_of = {int(c): k for k, c in enumerate(cands.contact_row)}
        never = never_call_mask(pf)
        codes = {R.DO_NOT_CALL, R.STOP_CONTACT, R.STATUS, R.INVALID_NUMBER, R.COMPLAINT, R.THIRD_PARTY}
        assert [bool(x) for x in never] == [r in codes for r in cands.contact_reason], list(cands.contact_reason)
        assert not any(never[int(c)] for c in cands.contact_row)
        legal_pairs, _ = _pairs_to_check(cands, rnd, n_legal=12, n_other=0)
        for n, (c, t) in enumerate(legal_pairs):
            k = k_of[c]
            seats_ok = [j for j in range(len(pf.seats)) if seat_may_take(pf, j, acc_row[c]) and cands.groups.seat_capacity[j, t] > 0]
            assert seats_ok, f"legal pair ({con[c]['contact_id']}, {starts[t]}) but no seat with capacity may take it"
            seat = pf.seats["seat_id"].iat[rnd.choice(seats_ok)]
            plan = write_single_plan(tmp / f"plan{n}", date, seat, starts[t], ends[t], con[c], cands.q[k, t])
            rep = verify_plan(root, plan, date=date)
            assert not broken(rep), f"legal pair rejected by verify:\n{rep.render()}"


@PROPERTY
@given(spec=portfolios())
def test_every_pair_verify_accepts_is_legal(spec):
    """(b) Conversely, for a sample of the (contact, slot) pairs that are not legal (all
    portfolio contacts, callable or not; slots next to a legal one first), verify rejects the
    pair planned alone on every seat whose attributes allow the case (or on the first seat
    when none does): some rule other than ``summary`` and ``p_contact`` (q is 0 off the legal
    set) is broken. So every pair verify accepts is legal."""
    date, rnd = spec[0], random.Random(spec[-1])
    with _example(spec) as (tmp, root, pf, cands):
        grid = cands.grid
        starts, ends = grid.iso(grid.starts), grid.iso(grid.ends)
        con = pf.contacts.to_dict("records")
        acc_row = pd.Index(pf.accounts["account_id"]).get_indexer(pf.contacts["account_id"])
        _, other_pairs = _pairs_to_check(cands, rnd, n_legal=0, n_other=12)
        n = 0
        for c, t in other_pairs:
            for j in [j for j in range(len(pf.seats)) if seat_may_take(pf, j, acc_row[c])] or [0]:
                n += 1
                plan = write_single_plan(tmp / f"plan{n}", date, pf.seats["seat_id"].iat[j], starts[t], ends[t], con[c], 0.0)
                rep = verify_plan(root, plan, date=date)
                assert broken(rep, IGNORED | {"p_contact"}), (
                    f"verify accepts ({con[c]['contact_id']}, {starts[t]}) on seat {pf.seats['seat_id'].iat[j]} "
                    f"but candidates says not legal (contact reason {cands.contact_reason[c]!r})\n{rep.render()}"
                )


# --- part 2: unit tests of the rules modules ---------------------------------------------------------

NY = "America/New_York"
SH = "Asia/Shanghai"
PHX = "America/Phoenix"


def _portfolio(tmp_path: Path, accounts, contacts, seats, policy="cn-collection-2015", **kw):
    """Write and read a portfolio; ``policy`` is a pack name or TOML text."""
    text = pack_text(policy) if policy in PACKS else policy
    root = write_portfolio(tmp_path / "pf", accounts, contacts, seats, policy=text, **kw)
    return read_portfolio(root, max_reject=0.0)


def _grid(tmp_path, seats, date, policy="us-regf"):
    pf = _portfolio(tmp_path, [{"account_id": "A1", "balance": 100, "status": "contactable"}],
                    [{"contact_id": "C1", "account_id": "A1", "phone": PHONES["ny"][0], "role": "debtor"}], seats, policy)
    return build_grid(dt.date.fromisoformat(date), pf.policy, pf.seats)


@pytest.mark.parametrize(
    "date, n, first, last",
    [
        ("2026-03-08", 20, "2026-03-08T00:00:00-05:00", "2026-03-08T05:45:00-04:00"),  # 23-hour day: 5 real hours
        ("2026-11-01", 28, "2026-11-01T00:00:00-04:00", "2026-11-01T05:45:00-05:00"),  # 25-hour day: 7 real hours
        ("2026-03-09", 24, "2026-03-09T00:00:00-04:00", "2026-03-09T05:45:00-04:00"),
    ],
)
def test_grid_across_dst_in_new_york(tmp_path, date, n, first, last):
    """A New York seat working 00:00-06:00 (wall clock) on the DST days gets 5 and 7 real hours
    of 15-minute slots, consecutive in real time, written with the offset of each instant."""
    grid = _grid(tmp_path, [{"seat_id": "S1", "shift_start": "00:00", "shift_end": "06:00", "timezone": NY}], date)
    iso = list(grid.iso(grid.starts))
    assert grid.n == n
    assert (iso[0], iso[-1]) == (first, last)
    assert np.all(np.diff(grid.starts) == 900)
    assert np.all(grid.ends - grid.starts == 900)
    if date == "2026-03-08":
        assert not any("T02:" in x for x in iso)  # 02:00-03:00 does not exist
    if date == "2026-11-01":
        assert "2026-11-01T01:00:00-04:00" in iso and "2026-11-01T01:00:00-05:00" in iso  # 01:xx twice


@pytest.mark.parametrize("date, offset", [("2026-03-08", "-04:00"), ("2026-11-01", "-05:00")])
def test_grid_day_shift_on_dst_days(tmp_path, date, offset):
    """A 08:00-21:00 New York shift on a DST day is 13 hours = 52 slots from 08:00 local."""
    grid = _grid(tmp_path, [{"seat_id": "S1", "shift_start": "08:00", "shift_end": "21:00", "timezone": NY}], date)
    assert grid.n == 52
    assert grid.iso(grid.starts[:1])[0] == f"{date}T08:00:00{offset}"
    assert grid.iso(grid.ends[-1:])[0] == f"{date}T21:00:00{offset}"


def test_grid_phoenix_seat_has_no_dst(tmp_path):
    """A Phoenix seat (no DST) under the New York policy: 08:00-17:00 Phoenix is 15:00 UTC on
    both sides of the 2026-03-08 switch, i.e. 10:00 EST before it and 11:00 EDT after it."""
    seats = [{"seat_id": "S1", "shift_start": "08:00", "shift_end": "17:00", "timezone": PHX}]
    before = _grid(tmp_path / "a", seats, "2026-03-07")
    after = _grid(tmp_path / "b", seats, "2026-03-08")
    assert before.n == after.n == 36
    assert before.iso(before.starts[:1])[0] == "2026-03-07T10:00:00-05:00"
    assert after.iso(after.starts[:1])[0] == "2026-03-08T11:00:00-04:00"
    assert (int(after.starts[0]) - int(before.starts[0])) == 86400  # same UTC time of day


def test_grid_covers_all_active_shifts_rounded_out(tmp_path):
    """The grid runs from the earliest active shift start to the latest end, rounded out to
    whole slots of the policy zone; an inactive seat does not stretch it."""
    seats = [
        {"seat_id": "S1", "shift_start": "08:10", "shift_end": "12:00", "timezone": NY},
        {"seat_id": "S2", "shift_start": "09:00", "shift_end": "15:05", "timezone": PHX},  # 12:00-18:05 New York (EDT)
        {"seat_id": "S3", "shift_start": "05:00", "shift_end": "23:00", "timezone": NY, "active": "false"},
    ]
    grid = _grid(tmp_path, seats, "2026-06-02")
    assert grid.iso(grid.starts[:1])[0] == "2026-06-02T08:00:00-04:00"
    assert grid.iso(grid.ends[-1:])[0] == "2026-06-02T18:15:00-04:00"
    assert grid.n == (18 * 60 + 15 - 8 * 60) // 15


def test_grid_index_of():
    """index_of maps an instant to the slot holding it; the grid's end and anything before its
    start are outside (-1)."""
    from dialplan.rules.time import SlotGrid

    start = local_midnight(dt.date(2026, 3, 10), SH) + 9 * 3600
    grid = SlotGrid(dt.date(2026, 3, 10), SH, 15, np.arange(start, start + 4 * 900, 900, dtype=np.int64))
    got = grid.index_of(np.array([start, start + 899, start + 900, start + 3599, start + 3600, start - 1]))
    assert list(got) == [0, 0, 1, 3, -1, -1]


@pytest.mark.parametrize("zone, date", [(NY, "2026-03-09"), (NY, "2026-11-02"), (NY, "2026-03-08"), (SH, "2026-01-01"), (PHX, "2026-03-09")])
def test_local_clock_at_midnight(zone, date):
    """An instant at local midnight is minute 0 of its date; read as a slot end (is_end) it is
    minute 1440 of the previous date. A minute before midnight is the same in both modes."""
    day = dt.date.fromisoformat(date)
    midnight = local_midnight(day, zone)
    d, m = local_clock(zone, np.array([midnight, midnight - 60]))
    assert list(d) == [day.toordinal(), day.toordinal() - 1]
    assert list(m) == [0, 1439]
    d, m = local_clock(zone, np.array([midnight, midnight - 60]), is_end=True)
    assert list(d) == [day.toordinal() - 1, day.toordinal() - 1]
    assert list(m) == [1440, 1439]


def test_local_clock_on_dst_days():
    """Wall clocks across the New York switches: 01:59 EST is followed by 03:00 EDT; on
    2026-11-01 01:30 occurs twice; Phoenix does not move."""
    spring = int(dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.timezone.utc).timestamp())  # 02:00 EST = 03:00 EDT
    _, m = local_clock(NY, np.array([spring - 60, spring]))
    assert list(m) == [1 * 60 + 59, 3 * 60]
    fall = int(dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.timezone.utc).timestamp())  # 01:30 EDT
    d, m = local_clock(NY, np.array([fall, fall + 3600]))
    assert list(m) == [90, 90] and d[0] == d[1] == dt.date(2026, 11, 1).toordinal()
    _, m = local_clock(PHX, np.array([spring - 60, spring]))
    assert list(m) == [23 * 60 + 59, 0]


ZONE_CASES = [
    # (contact timezone, phone, account timezone, expected)
    ("Asia/Kolkata", PHONES["ny"][0], "Europe/London", "Asia/Kolkata"),  # the column wins
    ("America/New_York|America/Phoenix", PHONES["cn"][0], "", "America/New_York|America/Phoenix"),
    ("", PHONES["ny"][0], "Europe/London", "America/New_York|Europe/London"),  # phone, then account
    ("", PHONES["ny"][0], NY, NY),  # duplicates dropped
    ("", PHONES["phx"][0], "", PHX),
    ("", PHONES["nl"][0], "", "America/Halifax|America/St_Johns"),  # two zones of one country
    ("", PHONES["in"][0], "", "Asia/Calcutta"),  # libphonenumber's name, kept
    ("", PHONES["tollfree"][0], SH, SH),  # zones of many countries add none
    ("", PHONES["ukmobile"][0], "", SH),  # GB, GG, JE, IM: none; no account zone: policy zone
    ("", PHONES["tollfree"][0], "", SH),
]


def test_zone_resolution_matches_the_rules_and_verify():
    """resolve_contact_zones: the contact column wins; else phone zones (none when they belong
    to several countries) then the account zone; else the policy zone. verify's
    contact_zones resolves every case the same way."""
    contacts = pd.DataFrame(
        {
            "contact_id": [f"C{i}" for i in range(len(ZONE_CASES))],
            "account_id": [f"A{i}" for i in range(len(ZONE_CASES))],
            "phone": [c[1] for c in ZONE_CASES],
            "timezone": [c[0] for c in ZONE_CASES],
        }
    )
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(len(ZONE_CASES))], "timezone": [c[2] for c in ZONE_CASES]})
    got = resolve_contact_zones(contacts, accounts, SH)
    assert list(got) == [c[3] for c in ZONE_CASES]
    for tz, phone, acc_tz, want in ZONE_CASES:
        assert "|".join(contact_zones(tz, phone, acc_tz, SH)) == want


def test_first_zone_sets_the_hour_of_q(tmp_path):
    """q = min(1, rpc_rate * weight[local hour of s in the first zone]): a contact with zones
    New York|Shanghai takes New York's hour (19 then 20 for 08:00-10:00 Shanghai in January),
    a Shanghai number takes Shanghai's (8 then 9); both are legal in every slot."""
    curves = [{"phone_type": "mobile", "hour": 20, "weight": 2.0}, {"phone_type": "mobile", "hour": 8, "weight": 0.5}]
    pf = _portfolio(
        tmp_path,
        [{"account_id": "A1", "balance": 100, "status": "contactable"}],
        [
            {"contact_id": "C1", "account_id": "A1", "phone": PHONES["ny"][0], "role": "debtor", "rpc_rate": 0.2, "timezone": f"{NY}|{SH}"},
            {"contact_id": "C2", "account_id": "A1", "phone": PHONES["cn"][0], "role": "debtor", "rpc_rate": 0.2},
        ],
        [{"seat_id": "S1", "shift_start": "08:00", "shift_end": "10:00"}],
        curves=curves,
    )
    c = build_candidates(pf, dt.date(2026, 1, 15))
    assert c.grid.n == 8 and c.legal.all()
    k1, k2 = list(c.contact_row).index(0), list(c.contact_row).index(1)
    assert np.allclose(c.q[k1], [0.2] * 4 + [0.4] * 4)
    assert np.allclose(c.q[k2], [0.1] * 4 + [0.2] * 4)


def _empty_plan_obligations(root: Path, plan_dir: Path, date: dt.date) -> dict:
    """verify's recomputed obligations for an empty plan of ``date``."""
    plan_dir.mkdir(parents=True)
    pd.DataFrame(columns=PLAN_COLS).to_csv(plan_dir / "plan.csv", index=False)
    summary = {"date": date.isoformat(), "expected_recovery": 0.0, "upper_bound": 0.0, "attempts": 0, "obligations": {"due": 0, "met": 0, "unmet": 0}}
    (plan_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return verify_plan(root, plan_dir, date=date).obligations


def _acc(aid, status, **kw):
    return {"account_id": aid, "balance": 1000, "status": status, **kw}


def _hist(aid, at, outcome="no_answer", cid=None):
    return {"account_id": aid, "contact_id": cid or f"C{aid}", "called_at": at, "outcome": outcome}


def test_frequency_week_and_every_days(tmp_path):
    """cn-collection-2015 on Saturday 2026-03-14: contactable needs 3 a week (need / 2 days
    left, ceil), ptp every 2 days; last week's attempts do not count, attempts dated D are
    reported apart (done_today) and count toward meeting the obligation, and an account in
    New York counts days in its own zone. verify derives the same obligations."""
    D = dt.date(2026, 3, 14)
    plan = {  # account: (status, account zone, history timestamps, due, done today)
        "W1": ("contactable", "", [], 2, 0),
        "W2": ("contactable", "", ["2026-03-09T10:00:00+08:00"], 1, 0),
        "W3": ("contactable", "", ["2026-03-09T10:00:00+08:00", "2026-03-10T10:00:00+08:00", "2026-03-12T10:00:00+08:00"], 0, 0),
        "W4": ("contactable", "", ["2026-03-08T10:00:00+08:00"] * 3, 2, 0),  # Sunday of the week before
        "W5": ("contactable", "", ["2026-03-14T07:00:00+08:00"], 2, 1),
        "W6": ("contactable", "", ["2026-03-09T10:00:00+08:00", "2026-03-10T10:00:00+08:00", "2026-03-14T07:30:00+08:00"], 1, 1),
        "E1": ("ptp", "", ["2026-03-13T10:00:00+08:00"], 0, 0),
        "E2": ("ptp", "", ["2026-03-12T10:00:00+08:00"], 1, 0),
        "E3": ("negotiating", "", [], 1, 0),
        "Z1": ("ptp", NY, ["2026-03-13T10:00:00+08:00"], 1, 0),  # 2026-03-12 22:00 in New York
        "N1": ("new", "", [], 0, 0),  # no rule for "new" in this pack
    }
    accounts = [_acc(a, st_, timezone=tz) for a, (st_, tz, _, _, _) in plan.items()]
    contacts = [{"contact_id": f"C{a}", "account_id": a, "phone": PHONES["cn"][0], "role": "debtor"} for a in plan]
    history = [_hist(a, at) for a, (_, _, times, _, _) in plan.items() for at in times]
    pf = _portfolio(tmp_path, accounts, contacts, [{"seat_id": "S1", "shift_start": "09:00", "shift_end": "18:00"}], history=history)
    due, today = frequency_due(pf.accounts, pf.history, pf.policy, D)
    got = {a: (int(d), int(t)) for a, d, t in zip(pf.accounts["account_id"], due, today)}
    assert got == {a: (v[3], v[4]) for a, v in plan.items()}
    ob = _empty_plan_obligations(pf.root, tmp_path / "plan", D)
    assert ob["due"] == sum(v[3] > 0 for v in plan.values())
    assert ob["met"] == sum(v[3] > 0 and v[4] >= v[3] for v in plan.values()) == 1  # W6


@pytest.mark.parametrize(
    "date, weekend, no_call, status, history, due",
    [
        ("2026-03-30", "", False, "lost_contact", [], 2),  # 4 a month, 2 days left
        ("2026-03-30", "", False, "lost_contact", ["2026-03-02T10:00:00+08:00", "2026-03-10T10:00:00+08:00", "2026-03-20T10:00:00+08:00"] + ["2026-02-20T10:00:00+08:00"] * 5, 1),
        ("2026-03-14", "sun", False, "contactable", [], 3),  # Sunday has no window: 1 callable day left
        ("2026-03-14", "sat", False, "contactable", [], 2),  # a short Saturday is still callable
        ("2026-10-01", "", True, "contactable", [], 3),  # 10-01..10-03 no-call holidays: only Sunday 10-04 left
        ("2026-10-01", "", False, "contactable", [], 1),  # holidays callable: 4 days left
        ("2026-10-03", "both", True, "contactable", [], 0),  # no callable day left this week: nothing due
    ],
)
def test_frequency_period_days(tmp_path, date, weekend, no_call, status, history, due):
    """Period rules: due = ceil(need / callable days from D to the period's end), where a day
    is callable unless its weekday window is none or it is a no-call holiday; verify agrees."""
    D = dt.date.fromisoformat(date)
    policy = policy_variant("cn-collection-2015", no_call_holidays=no_call, weekend=weekend)
    pf = _portfolio(
        tmp_path,
        [_acc("A1", status)],
        [{"contact_id": "CA1", "account_id": "A1", "phone": PHONES["cn"][0], "role": "debtor"}],
        [{"seat_id": "S1", "shift_start": "09:00", "shift_end": "18:00"}],
        policy=policy,
        history=[_hist("A1", at) for at in history],
    )
    got, _ = frequency_due(pf.accounts, pf.history, pf.policy, D)
    assert int(got[0]) == due
    assert _empty_plan_obligations(pf.root, tmp_path / "plan", D)["due"] == int(due > 0)


def test_callbacks_due_slot_mapping(tmp_path):
    """callbacks_due keeps callbacks whose ``at`` falls on D in the policy zone (whatever offset
    it is written with) and maps each to the slot holding it (-1 outside the grid); the
    named seat is required when it works then (active, in shift, not on break), else any seat."""
    D = dt.date(2026, 3, 10)
    cbs = [  # at, seat, expected slot (None: not on D), expected required seat row
        ("2026-03-10T10:07:00+08:00", "S1", 4, 0),
        ("2026-03-10T02:15:00Z", "S1", 5, 0),  # 10:15 Shanghai: first instant of slot 5
        ("2026-03-10T12:30:00+08:00", "S1", 14, -1),  # S1 on break
        ("2026-03-09T23:30:00-05:00", "", 14, -1),  # 12:30 on D in Shanghai
        ("2026-03-10T17:59:59+08:00", "S2", 35, 1),
        ("2026-03-10T18:00:00+08:00", "S1", -1, -1),  # the grid's end
        ("2026-03-10T08:59:00+08:00", "S2", -1, -1),  # before the grid
        ("2026-03-09T10:00:00+08:00", "S1", None, None),  # D-1
        ("2026-03-10T20:00:00-05:00", "S1", None, None),  # 2026-03-11 09:00 in Shanghai
    ]
    pf = _portfolio(
        tmp_path,
        [_acc("A1", "new")],
        [{"contact_id": "C1", "account_id": "A1", "phone": PHONES["cn"][0], "role": "debtor"}],
        [
            {"seat_id": "S1", "shift_start": "09:00", "shift_end": "18:00", "breaks": "12:00-13:00"},
            {"seat_id": "S2", "shift_start": "09:00", "shift_end": "18:00"},
        ],
        callbacks=[{"account_id": "A1", "contact_id": "C1", "at": at, "seat_id": seat} for at, seat, _, _ in cbs],
    )
    c = build_candidates(pf, D)
    due = callbacks_due(pf.callbacks, c.grid, D, pf.policy.timezone)
    kept = [x for x in cbs if x[2] is not None]
    assert list(due["slot"]) == [x[2] for x in kept]
    assert list(c.callbacks["slot"]) == [x[2] for x in kept]
    assert list(c.callbacks["seat_req"]) == [x[3] for x in kept]
    assert _empty_plan_obligations(pf.root, tmp_path / "plan", D)["due"] == len(kept)


# --- part 3: reason codes -----------------------------------------------------------------------------


def _reasons(tmp_path, accounts, contacts, seats=None, history=None, policy="cn-collection-2015", date="2026-03-10"):
    """(contact reasons, account reasons) by id, and the candidates."""
    seats = seats or [{"seat_id": "S1", "shift_start": "09:00", "shift_end": "18:00"}]
    pf = _portfolio(tmp_path, accounts, contacts, seats, policy, history=history)
    c = build_candidates(pf, dt.date.fromisoformat(date))
    assert set(c.contact_reason) | set(c.account_reason) <= set(R.ALL) | {""}
    return dict(zip(pf.contacts["contact_id"], c.contact_reason)), dict(zip(pf.accounts["account_id"], c.account_reason)), c


def _con(cid, aid, role="debtor", phone=None, **kw):
    return {"contact_id": cid, "account_id": aid, "phone": phone or PHONES["cn"][int(cid[-1]) % 3], "role": role, **kw}


def test_reason_never_call_flags(tmp_path):
    """do_not_call, stop_contact and a never-call status give their own codes to the contacts
    and, when no contact is left, to the case; the control case stays callable."""
    con, acc, _ = _reasons(
        tmp_path,
        [_acc("A1", "contactable"), _acc("A2", "contactable", stop_contact="true"), _acc("A3", "paused"), _acc("A4", "contactable")],
        [_con("C1", "A1", do_not_call="true"), _con("C2", "A2"), _con("C3", "A3"), _con("C4", "A4"), _con("C5", "A4", do_not_call="yes")],
    )
    assert con == {"C1": R.DO_NOT_CALL, "C2": R.STOP_CONTACT, "C3": R.STATUS, "C4": "", "C5": R.DO_NOT_CALL}
    assert acc == {"A1": R.DO_NOT_CALL, "A2": R.STOP_CONTACT, "A3": R.STATUS, "A4": ""}


def test_reason_invalid_number(tmp_path):
    """A contact with an invalid_number outcome is not callable (invalid_number); the case's
    other number still is."""
    con, acc, _ = _reasons(
        tmp_path,
        [_acc("A1", "contactable"), _acc("A2", "contactable")],
        [_con("C1", "A1"), _con("C2", "A2"), _con("C3", "A2")],
        history=[_hist("A1", "2026-03-01T10:00:00+08:00", "invalid_number", "C1"), _hist("A2", "2026-03-01T10:00:00+08:00", "invalid_number", "C2")],
    )
    assert con == {"C1": R.INVALID_NUMBER, "C2": R.INVALID_NUMBER, "C3": ""}
    assert acc == {"A1": R.INVALID_NUMBER, "A2": ""}


@pytest.mark.parametrize("policy, scope", [("cn-collection-2015", "contact"), ("cn-cba-2026", "account"), ("us-regf", "account")])
def test_reason_complaint_scope(tmp_path, policy, scope):
    """A complaint stops that contact; with complaint.scope = "account" (cn-cba-2026, us-regf)
    every contact of the case, and the case ends with reason complaint."""
    us = policy == "us-regf"
    phones = PHONES["ny"] if us else PHONES["cn"]
    seats = [{"seat_id": "S1", "shift_start": "09:00", "shift_end": "18:00"}]
    con, acc, _ = _reasons(
        tmp_path,
        [_acc("A1", "contactable"), _acc("A2", "contactable")],
        [_con("C1", "A1", phone=phones[0]), _con("C2", "A1", phone=phones[1]), _con("C3", "A2", phone=PHONES["phx"][0] if us else PHONES["cn"][2])],
        seats=seats,
        history=[_hist("A1", "2026-02-20T10:00:00+08:00", "complaint", "C1")],
        policy=policy,
    )
    if scope == "contact":
        assert con == {"C1": R.COMPLAINT, "C2": "", "C3": ""} and acc == {"A1": "", "A2": ""}
    else:
        assert con == {"C1": R.COMPLAINT, "C2": R.COMPLAINT, "C3": ""} and acc == {"A1": R.COMPLAINT, "A2": ""}


def test_reason_third_party(tmp_path):
    """Third parties are callable only for cases whose status is in third_party.allowed_statuses
    (lost_contact in the packs)."""
    con, acc, _ = _reasons(
        tmp_path,
        [_acc("A1", "contactable"), _acc("A2", "lost_contact"), _acc("A3", "ptp")],
        [_con("C1", "A1", "third_party"), _con("C2", "A2", "third_party"), _con("C3", "A3", "third_party"), _con("C4", "A3")],
    )
    assert con == {"C1": R.THIRD_PARTY, "C2": "", "C3": R.THIRD_PARTY, "C4": ""}
    assert acc == {"A1": R.THIRD_PARTY, "A2": "", "A3": ""}


def test_reason_window_for_a_contact_abroad(tmp_path):
    """A debtor in New York whose window (08:00-22:00 local) never meets the Shanghai seats'
    11:00-18:00 (22:00-05:00 in New York in January) ends with reason window; the Shanghai
    number of another case is callable."""
    con, acc, c = _reasons(
        tmp_path,
        [_acc("A1", "contactable"), _acc("A2", "contactable")],
        [_con("C1", "A1", phone=PHONES["ny"][0]), _con("C2", "A2")],
        seats=[{"seat_id": "S1", "shift_start": "11:00", "shift_end": "18:00"}],
        date="2026-01-15",
    )
    assert con == {"C1": R.WINDOW, "C2": ""}
    assert acc == {"A1": R.WINDOW, "A2": ""}
    # one slot earlier (10:45-11:00 Shanghai = 21:45-22:00 New York) would have been legal
    con, acc, c = _reasons(
        tmp_path / "x",
        [_acc("A1", "contactable")],
        [_con("C1", "A1", phone=PHONES["ny"][0])],
        seats=[{"seat_id": "S1", "shift_start": "10:45", "shift_end": "18:00"}],
        date="2026-01-15",
    )
    assert con == {"C1": ""} and c.legal[0].tolist() == [True] + [False] * (c.grid.n - 1)


def test_reason_holiday(tmp_path):
    """With window.holidays = "no_call", National Day (2026-10-01) leaves no legal slot:
    reason holiday; the same portfolio under holidays = "call" is callable."""
    args = ([_acc("A1", "contactable")], [_con("C1", "A1")])
    con, acc, _ = _reasons(tmp_path / "a", *args, policy=policy_variant("cn-collection-2015", no_call_holidays=True), date="2026-10-01")
    assert con == {"C1": R.HOLIDAY} and acc == {"A1": R.HOLIDAY}
    con, acc, _ = _reasons(tmp_path / "b", *args, policy=policy_variant("cn-collection-2015"), date="2026-10-01")
    assert con == {"C1": ""} and acc == {"A1": ""}


def test_reason_cooldown(tmp_path):
    """us-regf: no attempt within 7 days after an rpc (the conversation day is day 1). An rpc
    3 days ago blocks the case (cooldown); one 7 days ago (day 8 today) does not."""
    con, acc, _ = _reasons(
        tmp_path,
        [_acc("A1", "contactable"), _acc("A2", "contactable")],
        [_con("C1", "A1", phone=PHONES["ny"][0]), _con("C2", "A2", phone=PHONES["ny"][1])],
        seats=[{"seat_id": "S1", "shift_start": "09:00", "shift_end": "18:00"}],
        history=[_hist("A1", "2026-03-07T11:00:00-05:00", "rpc", "C1"), _hist("A2", "2026-03-03T11:00:00-05:00", "rpc", "C2")],
        policy="us-regf",
    )
    assert con == {"C1": R.COOLDOWN, "C2": ""}
    assert acc == {"A1": R.COOLDOWN, "A2": ""}


def test_reason_account_caps(tmp_path):
    """us-regf: 7 attempts in the 6 days before D fill the 7-day cap (cap_account_7d); the MA
    segment's cap is 2; WA's is 3 (2 attempts leave room); 3 attempts today on three numbers
    fill the day cap of 3 (cap_account_day)."""
    days = [f"2026-03-0{d}T1{d % 3}:00:00-05:00" for d in (4, 5, 5, 6, 7, 8, 9)]
    ny = ["+12125550111", "+12125550112", "+12125550113"]
    accounts = [_acc("A7", "contactable"), _acc("MA", "contactable", segment="MA"), _acc("WA", "contactable", segment="WA"), _acc("AD", "contactable")]
    contacts = [
        _con("C7", "A7", phone=PHONES["ny"][0]),
        _con("CM", "MA", phone=PHONES["ny"][1]),
        _con("CW", "WA", phone=PHONES["phx"][0]),
        *[_con(f"D{i}", "AD", phone=p) for i, p in enumerate(ny)],
    ]
    history = (
        [_hist("A7", t, cid="C7") for t in days]
        + [_hist("MA", t, cid="CM") for t in days[-2:]]
        + [_hist("WA", t, cid="CW") for t in days[-2:]]
        + [_hist("AD", f"2026-03-10T0{i + 1}:00:00-04:00", cid=f"D{i}") for i in range(3)]
    )
    con, acc, _ = _reasons(tmp_path, accounts, contacts, history=history, policy="us-regf",
                           seats=[{"seat_id": "S1", "shift_start": "09:00", "shift_end": "18:00"}])
    assert acc == {"A7": R.CAP_ACCOUNT_7D, "MA": R.CAP_ACCOUNT_7D, "WA": "", "AD": R.CAP_ACCOUNT_DAY}
    assert con["C7"] == con["CM"] == R.CAP_ACCOUNT_7D and con["CW"] == ""
    assert {con[f"D{i}"] for i in range(3)} == {R.CAP_ACCOUNT_DAY}


def _day_cap_case(tmp_path):
    """cn-collection-2015 on 2026-03-10: debtor C1 already had 3 attempts that day (its day
    cap), at 01:00, 03:00 and 05:00 so that no rolling cap or gap is involved; C2 is fresh."""
    return _reasons(
        tmp_path,
        [_acc("A1", "contactable"), _acc("A2", "contactable")],
        [_con("C1", "A1"), _con("C2", "A1"), _con("C3", "A2")],
        history=[_hist("A1", f"2026-03-10T0{h}:00:00+08:00", cid="C1") for h in (1, 3, 5)]
        + [_hist("A2", f"2026-03-10T0{h}:00:00+08:00", cid="C3") for h in (1, 3)],
    )


def test_contact_day_cap_blocks_the_contact(tmp_path):
    """A number whose day cap is used up by today's history has no legal slot; the case's
    other number, and a number with 2 of 3 used, keep every slot of the shift."""
    con, acc, c = _day_cap_case(tmp_path)
    rows = {cid: k for k, cid in enumerate(c.portfolio.contacts["contact_id"].to_numpy()[c.contact_row])}
    assert not c.legal[rows["C1"]].any()
    assert c.legal[rows["C2"]].all() and c.legal[rows["C3"]].all()
    assert acc == {"A1": "", "A2": ""}


def test_reason_contact_day_cap(tmp_path):
    """The contact whose day cap is used up ends with reason cap_contact_day (docs' reason
    vocabulary), not window."""
    con, _, _ = _day_cap_case(tmp_path)
    assert con["C1"] == R.CAP_CONTACT_DAY


def test_reason_no_seat_and_no_contact(tmp_path):
    """A case of a team no seat has, or owned by an inactive seat, or needing a skill no seat
    lists, ends with no_seat; a case without any number with no_contact."""
    seats = [
        {"seat_id": "S1", "team": "T1", "shift_start": "09:00", "shift_end": "18:00", "skills": "legal"},
        {"seat_id": "S2", "team": "T1", "shift_start": "09:00", "shift_end": "18:00", "active": "false"},
    ]
    con, acc, c = _reasons(
        tmp_path,
        [_acc("A1", "contactable", team="TX"), _acc("A2", "contactable", owner_seat="S2"), _acc("A3", "contactable", required_skill="vip"),
         _acc("A4", "contactable", team="T1", required_skill="legal"), _acc("A5", "contactable")],
        [_con("C1", "A1"), _con("C2", "A2"), _con("C3", "A3"), _con("C4", "A4")],
        seats=seats,
    )
    assert con == {"C1": R.NO_SEAT, "C2": R.NO_SEAT, "C3": R.NO_SEAT, "C4": ""}
    assert acc == {"A1": R.NO_SEAT, "A2": R.NO_SEAT, "A3": R.NO_SEAT, "A4": "", "A5": R.NO_CONTACT}


# --- candidates against verify on hand-built cases ------------------------------------------------------


def _agreement(tmp_path, pf_root: Path, date: dt.date, seat_id: str):
    """For one portfolio, every slot of the grid for every portfolio contact planned alone on
    ``seat_id``: (legal pairs verify rejects, pairs verify accepts that are not legal), as
    lists of (contact_id, slot start) with verify's broken rules."""
    pf = read_portfolio(pf_root)
    cands = build_candidates(pf, date)
    grid = cands.grid
    starts, ends = grid.iso(grid.starts), grid.iso(grid.ends)
    k_of = {int(c): k for k, c in enumerate(cands.contact_row)}
    rejected, accepted = [], []
    n = 0
    with verifier_reading(read_portfolio(pf_root)):
        for c, contact in enumerate(pf.contacts.to_dict("records")):
            k = k_of.get(c)
            for t in range(grid.n):
                n += 1
                legal = k is not None and bool(cands.legal[k, t])
                plan = write_single_plan(tmp_path / f"plan{n}", date, seat_id, starts[t], ends[t], contact, cands.q[k, t] if legal else 0.0)
                rep = verify_plan(pf_root, plan, date=date)
                if legal and broken(rep):
                    rejected.append((contact["contact_id"], starts[t], broken(rep)))
                if not legal and not broken(rep, IGNORED | {"p_contact"}):
                    accepted.append((contact["contact_id"], starts[t]))
    return rejected, accepted


def test_night_shift_across_dst_agrees_with_verify(tmp_path):
    """us-regf (New York) on 2026-03-08 and 2026-11-01 with a New York seat working
    00:00-06:00 (boundaries away from the switch) and a Shanghai debtor (15:00 there is
    03:00 EDT): candidates and verify agree on every slot."""
    for date in ("2026-03-08", "2026-11-01"):
        root = write_portfolio(
            tmp_path / date,
            [_acc("A1", "contactable")],
            [_con("C1", "A1", phone=PHONES["cn"][0])],
            [{"seat_id": "S1", "shift_start": "00:00", "shift_end": "06:00", "timezone": NY, "breaks": "04:00-04:30"}],
            policy=pack_text("us-regf"),
        )
        D = dt.date.fromisoformat(date)
        assert build_candidates(read_portfolio(root), D).legal.any()
        assert _agreement(tmp_path / f"p{date}", root, D, "S1") == ([], [])


def test_no_callable_contact_with_history_does_not_crash(tmp_path):
    """A portfolio whose only case is paused, with one history row, gives no candidates and
    reason status, instead of crashing in the history-near-the-grid step."""
    con, acc, c = _reasons(
        tmp_path,
        [_acc("A1", "paused")],
        [_con("C1", "A1")],
        history=[_hist("A1", "2026-03-09T10:00:00+08:00", cid="C1")],
    )
    assert c.n_contacts == 0 and con == {"C1": R.STATUS} and acc == {"A1": R.STATUS}


def test_rolling_cap_ignores_a_burst_in_history_alone(tmp_path):
    """us-regf, D = 2026-03-09: a New York debtor called at 07:10 and 07:20 today. An attempt
    at 15:00 keeps the rolling cap (no 60 minutes hold it and another attempt) and the 60-minute
    gap: verify accepts it alone, so it must be legal (and the contact callable)."""
    D = dt.date(2026, 3, 9)
    root = write_portfolio(
        tmp_path / "pf",
        [_acc("A1", "contactable")],
        [_con("C1", "A1", phone=PHONES["ny"][0], rpc_rate=0.1)],
        [{"seat_id": "S1", "shift_start": "08:00", "shift_end": "21:00", "timezone": NY}],
        history=[_hist("A1", "2026-03-09T07:10:00-04:00", cid="C1"), _hist("A1", "2026-03-09T07:20:00-04:00", cid="C1")],
        policy=pack_text("us-regf"),
    )
    pf = read_portfolio(root)
    c = build_candidates(pf, D)
    t = int(c.grid.index_of(np.array([int(dt.datetime(2026, 3, 9, 15, tzinfo=ZoneInfo(NY)).timestamp())]))[0])
    plan = write_single_plan(tmp_path / "plan", D, "S1", c.grid.iso(c.grid.starts)[t], c.grid.iso(c.grid.ends)[t], pf.contacts.iloc[0].to_dict(), 0.1)
    assert not broken(verify_plan(root, plan, date=D))
    assert c.contact_reason[0] == ""
    assert c.legal[0, t]


def _iso_range(first: str, n: int, zone: str = NY) -> list[str]:
    """``n`` consecutive 15-minute slot starts from ``first`` (ISO with offset), written with
    ``zone``'s offset at each instant."""
    t0 = dt.datetime.fromisoformat(first)
    return [(t0 + dt.timedelta(minutes=15 * i)).astimezone(ZoneInfo(zone)).isoformat() for i in range(n)]


DST_SEATS = {
    # case: (date, seat SA's shift and breaks, SA's usable slots). A skipped or repeated wall time
    # is read as an instant with fold=0, as build_grid and verify read it.
    # spring forward: 02:30 does not exist; fold=0 reads it with the offset before the switch,
    # 02:30 EST = 03:30 EDT
    "spring-start-0230": ("2026-03-08", {"shift_start": "02:30", "shift_end": "05:00"}, _iso_range("2026-03-08T03:30:00-04:00", 6)),
    # fall back: the shift ends at the first 01:30 (EDT), not after the repeated hour
    "fall-end-0130": ("2026-11-01", {"shift_start": "00:00", "shift_end": "01:30"}, _iso_range("2026-11-01T00:00:00-04:00", 6)),
    # fall back: the break is the first 01:00-01:30 (EDT) only; the repeated hour is worked
    "fall-break-0100": (
        "2026-11-01",
        {"shift_start": "00:00", "shift_end": "04:00", "breaks": "01:00-01:30"},
        _iso_range("2026-11-01T00:00:00-04:00", 4) + _iso_range("2026-11-01T01:30:00-04:00", 14),
    ),
    # spring forward: the break 02:00 (= 03:00 EDT) - 03:15 takes only the 03:00 EDT slot; the
    # slot 01:45 EST ends at 03:00 EDT, the instant the break starts
    "spring-break-0200": (
        "2026-03-08",
        {"shift_start": "00:00", "shift_end": "04:00", "breaks": "02:00-03:15"},
        _iso_range("2026-03-08T00:00:00-05:00", 8) + _iso_range("2026-03-08T03:15:00-04:00", 3),
    ),
}


@pytest.mark.parametrize("case", sorted(DST_SEATS))
def test_seat_shift_and_breaks_on_dst_nights(tmp_path, case):
    """us-regf, a Shanghai debtor (legal there at night in New York) whose case only seat SA
    (team TA) may take; SA's shift or break has a boundary at a skipped or repeated time of a
    DST switch night, and seat SB (team TB) stretches the grid over 00:00-06:00. SA's usable
    slots are one reading of the boundaries as instants, and candidates and verify agree on
    every slot: every legal pair passes verify alone on SA and every pair verify accepts on SA
    is legal."""
    date, seat, usable = DST_SEATS[case]
    D = dt.date.fromisoformat(date)
    root = write_portfolio(
        tmp_path / "pf",
        [_acc("A1", "contactable", team="TA")],
        [_con("C1", "A1", phone=PHONES["cn"][0])],
        [
            {"seat_id": "SA", "team": "TA", "timezone": NY, **seat},
            {"seat_id": "SB", "team": "TB", "timezone": NY, "shift_start": "00:00", "shift_end": "06:00"},
        ],
        policy=pack_text("us-regf"),
    )
    c = build_candidates(read_portfolio(root), D)
    assert list(c.grid.iso(c.grid.starts[c.groups.seat_capacity[0] > 0])) == usable
    assert list(c.grid.iso(c.grid.starts[c.legal[0]])) == usable
    assert _agreement(tmp_path, root, D, "SA") == ([], [])


def test_callback_named_seat_working_without_capacity(tmp_path):
    """The named seat S1 is active and in shift at the callback's time but takes 0 attempts a
    slot: candidates must still require S1 (seat_req) as verify does; a plan making the
    callback on S2 does not meet it in verify's count."""
    D = dt.date(2026, 3, 10)
    root = write_portfolio(
        tmp_path / "pf",
        [_acc("A1", "new")],
        [_con("C1", "A1")],
        [
            {"seat_id": "S1", "shift_start": "09:00", "shift_end": "18:00", "attempts_per_hour": 2},
            {"seat_id": "S2", "shift_start": "09:00", "shift_end": "18:00"},
        ],
        callbacks=[{"account_id": "A1", "contact_id": "C1", "at": "2026-03-10T10:05:00+08:00", "seat_id": "S1"}],
        policy=pack_text("cn-collection-2015"),
    )
    pf = read_portfolio(root)
    c = build_candidates(pf, D)
    t = int(c.callbacks["slot"].iat[0])
    plan = write_single_plan(tmp_path / "plan", D, "S2", c.grid.iso(c.grid.starts)[t], c.grid.iso(c.grid.ends)[t], pf.contacts.iloc[0].to_dict(), c.q[0, t])
    rep = verify_plan(root, plan, date=D)
    assert not broken(rep) and rep.obligations["met"] == 0  # verify: S1 was working, so S2 does not meet it
    assert int(c.callbacks["seat_req"].iat[0]) == 0


def test_rolling_cap_two_planned_with_history_between(tmp_path):
    """cn-collection-2015 (at most 2 attempts in any 60 minutes), D = 2026-03-09 with an
    attempt at 09:00 today in history. 08:30 and 09:15 are each legal with that history (two
    in an hour), but both together make three within 45 minutes: verify rejects that plan, so
    the contact may take only one attempt today and the book refuses the second."""
    from dialplan.solve.book import Book

    D = dt.date(2026, 3, 9)
    root = write_portfolio(
        tmp_path / "pf",
        [_acc("A1", "contactable")],
        [_con("C1", "A1", rpc_rate=0.2)],
        [{"seat_id": "S1", "shift_start": "08:00", "shift_end": "21:00", "timezone": "Asia/Shanghai"}],
        history=[_hist("A1", "2026-03-09T09:00:00+08:00", cid="C1")],
        policy=pack_text("cn-collection-2015"),
    )
    pf = read_portfolio(root)
    c = build_candidates(pf, D)
    at = lambda h, m: int(c.grid.index_of(np.array([int(dt.datetime(2026, 3, 9, h, m, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp())]))[0])
    t1, t2 = at(8, 30), at(9, 15)
    assert c.legal[0, t1] and c.legal[0, t2]
    # the two attempts together break the rule (verify is the judge)
    contact = pf.contacts.iloc[0].to_dict()
    plan = write_single_plan(tmp_path / "plan", D, "S1", c.grid.iso(c.grid.starts)[t1], c.grid.iso(c.grid.ends)[t1], contact, 0.2)
    rows = pd.read_csv(plan / "plan.csv", dtype=str)
    second = rows.iloc[0].copy()
    second["seq"], second["slot_start"], second["slot_end"] = "2", c.grid.iso(c.grid.starts)[t2], c.grid.iso(c.grid.ends)[t2]
    pd.concat([rows, second.to_frame().T]).to_csv(plan / "plan.csv", index=False)
    assert broken(verify_plan(root, plan, date=D)).get(R.CAP_CONTACT_ROLLING)
    assert c.contact_max[0] == 1
    book = Book(c)
    a = int(c.contact_account[0])
    assert book.try_add(a, 0, t1)
    assert not book.try_add(a, 0, t2)
