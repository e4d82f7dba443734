"""Synthetic portfolios: realistic, deterministic input directories for tests and benchmarks.

``synth_portfolio`` writes a portfolio directory exactly as the data contract (section 1)
describes it: ``accounts``, ``contacts``, ``seats``, ``history``, ``curves`` and ``callbacks``
(as ``.csv`` or ``.parquet``) plus a ``policy.toml`` copied from a built-in pack
(``cn-collection-2015`` for flavor ``cn``, ``us-regf`` for flavor ``us``).

What the data looks like (what a collections operations team would expect to see):

* accounts: lognormal balances (median about 8,000 CNY / 1,500 USD), the status mix of a
  working book (``STATUS_MIX``), ``pay_propensity`` for about 70 % of the cases drawn from a
  beta distribution around the pack's default for the status, teams, a few cases that need
  an English (cn) or Spanish (us) speaking agent, about 1 % owned by one agent, debtor time
  zones (cn: mostly Asia/Shanghai, a few abroad; us: the zone of the state), a segment
  (cn: client bank; us: state, MA and WA included) and ``stop_contact`` for about 0.5 %.
* contacts: 1-3 debtor numbers and 0-3 third parties per case, valid E.164 numbers
  (cn: mobiles 13x/15x/17x/18x/19x and landlines of Beijing, Shanghai, Guangzhou, ...;
  us: real area codes of the debtor's state, about 10 % from a state in another zone:
  people keep their number when they move), unique phone numbers, ``rpc_rate`` for about
  half of the numbers, ``do_not_call`` for about 1 %.
* seats: an early and a late shift with breaks, a few explicit capacities, skills and time
  zones, about 2 % inactive. Every team of the accounts has at least one active seat.
* history: attempts of the 31 days D-31..D-1, about 2-6 a case (fewer for lost contact),
  timestamps in the contact's local time (its first resolved zone, as in contract 2.1) with
  the UTC offset. Outcomes are drawn from KNOWN hourly curves (``true_curves``, the same
  weights written to ``curves.csv``): an attempt at local hour h on contact k reaches the
  right party with ``p = min(1, rpc_k * weight[phone_type_k][h])`` where rpc_k is the
  contact's ``rpc_rate`` or, when that is empty, the pack's default for its role, so a fitting
  step can recover the curves. Numbers that went dead answer ``invalid_number`` once and are
  not called again; nothing is called after a ``complaint`` (per contact or per case, as the
  pack's ``complaint.scope`` says); with a pack cooldown after a conversation (us-regf: 7 days)
  the history keeps it, as a compliant agency's dialer would.
* callbacks: about 1.5 % of the promised-to-pay and negotiating cases (at least one when
  there is such a case) have an appointment on D at 09:00-20:00 local, legal in every zone the
  number resolves to whenever that is possible; half of them name the agent who promised.

Everything is vectorised with numpy / pyarrow (1M accounts in well under two minutes) and
deterministic: the same arguments give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

__all__ = [
    "FLAVORS",
    "STATUS_MIX",
    "OUTCOMES",
    "PHONE_TYPES",
    "TABLES",
    "synth_portfolio",
    "true_curves",
]

FLAVORS = ("cn", "us")
TABLES = ("accounts", "contacts", "seats", "history", "curves", "callbacks")
PACK_FOR_FLAVOR = {"cn": "cn-collection-2015", "us": "us-regf"}

# Intended status mix of the book (shares sum to 1).
STATUS_MIX = {
    "new": 0.10,
    "contactable": 0.35,
    "ptp": 0.08,
    "negotiating": 0.07,
    "evasive": 0.10,
    "lost_contact": 0.22,
    "paused": 0.05,
    "closed": 0.03,
}
STATUSES = tuple(STATUS_MIX)
_ST = {s: i for i, s in enumerate(STATUSES)}

OUTCOMES = (
    "rpc",
    "third_party",
    "no_answer",
    "busy",
    "voicemail",
    "invalid_number",
    "refused",
    "complaint",
)
_OC = {o: i for i, o in enumerate(OUTCOMES)}

PHONE_TYPES = ("mobile", "home", "work")
RELATIONS_TP = ("spouse", "parent", "sibling", "colleague", "friend")
HISTORY_DAYS = 31

# pay_propensity defaults for statuses a pack does not name (it never calls them anyway)
_EXTRA_PROPENSITY = {"paused": 0.05, "closed": 0.02}
# a debtor number's rpc_rate relative to the role default, by case status
_RPC_STATUS_FACTOR = {
    "new": 1.0,
    "contactable": 1.3,
    "ptp": 1.5,
    "negotiating": 1.4,
    "evasive": 0.6,
    "lost_contact": 0.25,
    "paused": 1.0,
    "closed": 0.8,
}
# mean attempts a case in the 31-day history, by status (overall about 3.7)
_ATTEMPTS_MEAN = {
    "new": 0.8,  # only the last 7 days: the case arrived recently
    "contactable": 5.0,
    "ptp": 4.0,
    "negotiating": 5.0,
    "evasive": 6.0,
    "lost_contact": 2.5,
    "paused": 1.0,
    "closed": 0.5,
}
_NEW_CASE_DAYS = 7

# --- hourly contact-rate curves (hour 0..23, contact-local) ---------------------------------
# Multipliers of a number's rpc_rate; about 1 on average over the calling hours.
_CURVES = {
    "cn": {
        "mobile": [0.05, 0.03, 0.02, 0.02, 0.02, 0.05, 0.15, 0.40, 0.70, 0.85, 0.90, 1.10,
                   1.45, 1.25, 0.85, 0.85, 0.90, 1.05, 1.35, 1.60, 1.55, 1.20, 0.60, 0.20],
        "home": [0.02, 0.01, 0.01, 0.01, 0.01, 0.03, 0.10, 0.45, 0.75, 0.80, 0.70, 0.75,
                 1.00, 0.70, 0.55, 0.55, 0.65, 0.95, 1.40, 1.75, 1.70, 1.30, 0.50, 0.15],
        "work": [0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.05, 0.20, 0.80, 1.50, 1.70, 1.50,
                 0.60, 0.90, 1.50, 1.60, 1.40, 0.90, 0.40, 0.20, 0.15, 0.10, 0.05, 0.02],
    },
    "us": {
        "mobile": [0.05, 0.03, 0.02, 0.02, 0.02, 0.05, 0.20, 0.45, 0.75, 0.85, 0.90, 1.00,
                   1.25, 1.15, 0.90, 0.90, 1.00, 1.25, 1.50, 1.50, 1.30, 1.00, 0.50, 0.15],
        "home": [0.02, 0.01, 0.01, 0.01, 0.01, 0.03, 0.12, 0.50, 0.80, 0.85, 0.75, 0.75,
                 0.90, 0.70, 0.60, 0.60, 0.75, 1.10, 1.60, 1.70, 1.50, 1.10, 0.40, 0.10],
        "work": [0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.08, 0.35, 1.00, 1.55, 1.60, 1.40,
                 0.70, 1.10, 1.50, 1.50, 1.20, 0.70, 0.30, 0.15, 0.10, 0.08, 0.04, 0.02],
    },
}

# How the agency's dialer spreads attempts over the contact-local hours (history).
_DIAL_HOURS = {
    "cn": {7: 0.004, 8: 0.8, 9: 1.1, 10: 1.2, 11: 1.1, 12: 0.6, 13: 0.8, 14: 1.1, 15: 1.1,
           16: 1.1, 17: 1.0, 18: 0.8, 19: 0.9, 20: 0.8, 21: 0.5, 22: 0.004},
    "us": {7: 0.004, 8: 0.8, 9: 1.1, 10: 1.2, 11: 1.1, 12: 0.7, 13: 0.9, 14: 1.1, 15: 1.1,
           16: 1.1, 17: 1.0, 18: 0.9, 19: 0.9, 20: 0.6, 21: 0.004},
}
# weekday weights of history days (Mon..Sun)
_DAY_WEIGHTS = {"cn": [1, 1, 1, 1, 1, 0.8, 0.4], "us": [1, 1, 1, 1, 1, 0.6, 0.2]}

# --- flavor data ----------------------------------------------------------------------------
_CN_MOBILE_PREFIXES = (
    [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158,
     159, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 173, 175, 176, 177, 178, 198, 199]
)
# (area code, share): 8-digit local numbers starting with 5 or 6 (all valid per libphonenumber)
_CN_LANDLINE = [("10", 0.30), ("21", 0.30), ("20", 0.15), ("755", 0.10), ("571", 0.08), ("28", 0.07)]
_CN_ABROAD = [
    ("Europe/London", 0.30),
    ("America/Los_Angeles", 0.20),
    ("Asia/Tokyo", 0.15),
    ("Asia/Singapore", 0.15),
    ("Australia/Sydney", 0.10),
    ("America/New_York", 0.10),
]
_CN_BANKS = [("icbc", 0.22), ("cmb", 0.20), ("citic", 0.15), ("ccb", 0.13), ("boc", 0.10),
             ("spdb", 0.08), ("pingan", 0.07), ("cgb", 0.05)]

# state: (zone, population share, area codes), area codes chosen so that libphonenumber
# maps every exchange of them to one zone (907 maps to Adak|Anchorage or Juneau: real Alaska).
_US_STATES = {
    "CA": ("America/Los_Angeles", 11.8, [213, 310, 415, 619, 714, 818, 916, 510, 408, 909]),
    "TX": ("America/Chicago", 9.0, [214, 512, 713, 210, 817, 469, 281, 972]),
    "FL": ("America/New_York", 6.8, [305, 407, 813, 904, 561, 954, 727]),
    "NY": ("America/New_York", 5.9, [212, 718, 917, 516, 585, 716, 646, 347]),
    "PA": ("America/New_York", 3.9, [215, 412, 717, 610, 267]),
    "IL": ("America/Chicago", 3.8, [312, 773, 630, 847, 217, 708]),
    "OH": ("America/New_York", 3.5, [216, 614, 513, 330, 419]),
    "GA": ("America/New_York", 3.3, [404, 770, 678, 912]),
    "NC": ("America/New_York", 3.2, [704, 919, 336, 910]),
    "MI": ("America/New_York", 3.0, [313, 248, 616, 734, 517]),
    "NJ": ("America/New_York", 2.8, [201, 732, 973, 908]),
    "VA": ("America/New_York", 2.6, [703, 757, 804, 540]),
    "WA": ("America/Los_Angeles", 2.3, [206, 253, 425, 360]),
    "AZ": ("America/Phoenix", 2.2, [602, 480, 520, 623]),
    "MA": ("America/New_York", 2.1, [617, 508, 781, 413, 978]),
    "TN": ("America/Chicago", 2.1, [615, 901, 731, 629]),
    "IN": ("America/New_York", 2.0, [317, 765, 260]),
    "MO": ("America/Chicago", 1.8, [314, 816, 417, 573]),
    "MD": ("America/New_York", 1.8, [410, 301, 443, 240]),
    "WI": ("America/Chicago", 1.8, [414, 608, 920, 262]),
    "CO": ("America/Denver", 1.8, [303, 720, 719, 970]),
    "MN": ("America/Chicago", 1.7, [612, 651, 952, 763]),
    "OR": ("America/Los_Angeles", 1.3, [503, 971]),
    "UT": ("America/Denver", 1.0, [801, 385, 435]),
    "NV": ("America/Los_Angeles", 1.0, [702]),
    "NM": ("America/Denver", 0.6, [505, 575]),
    "HI": ("Pacific/Honolulu", 0.45, [808]),
    "AK": ("America/Anchorage", 0.25, [907]),
}
# US exchange codes: 200-999 without N11 service codes and 555 (directory / fictional)
_US_EXCHANGES = np.array([x for x in range(200, 1000) if x % 100 != 11 and x != 555], dtype=np.int64)

_FLAVOR = {
    "cn": {
        "teams": (("A", 0.34), ("B", 0.33), ("C", 0.30), ("EN", 0.03)),
        "skill": "english",
        "skill_team": "EN",  # every case and seat of this team speaks the skill's language
        "skill_share": 0.01,  # other cases needing it
        "seat_skill_share": 0.06,
        "balance_median": 8000.0,
        "balance_sigma": 1.0,
        "abroad_share": 0.04,
        "shifts": (("08:00", "16:30"), ("13:30", "22:00")),
        "breaks": (
            ("12:00-12:30", "12:00-12:30", "11:30-12:00", "10:00-10:15;12:00-12:30", "12:30-13:00"),
            ("17:30-18:00;19:30-19:45", "17:30-18:00", "18:00-18:30;20:00-20:15"),
        ),
        "seat_zones": (("Asia/Shanghai", 0.03),),
        "voicemail": 0.05,  # share of unanswered attempts that reach a mailbox
        "contact_tz_share": 0.0,
        "callback_rate": 0.015,
    },
    "us": {
        "teams": (("A", 0.40), ("B", 0.35), ("C", 0.25)),
        "skill": "spanish",
        "skill_team": None,
        "skill_share": 0.04,
        "seat_skill_share": 0.20,
        "balance_median": 1500.0,
        "balance_sigma": 1.1,
        "abroad_share": 0.0,
        "shifts": (("08:00", "16:30"), ("12:30", "21:00")),
        "breaks": (
            ("12:00-12:30", "11:30-12:00", "10:00-10:15;12:00-12:30", "12:30-13:00"),
            ("16:30-17:00", "17:00-17:30;19:00-19:15", "17:30-18:00;19:30-19:45"),
        ),
        "seat_zones": (("America/Chicago", 0.15), ("America/Denver", 0.04)),
        "voicemail": 0.30,
        "contact_tz_share": 0.025,  # numbers whose location the agency confirmed
        "callback_rate": 0.015,
    },
}


def _zone_names() -> list[str]:
    names = ["Asia/Shanghai"]
    names += [z for z, _ in _CN_ABROAD]
    names += [v[0] for v in _US_STATES.values()]
    names += ["America/Adak", "America/Juneau", "America/Chicago", "America/Denver"]
    out: list[str] = []
    for z in names:
        if z not in out:
            out.append(z)
    return out


ZONES = _zone_names()
_ZI = {z: i for i, z in enumerate(ZONES)}


# =============================================================================================
# public helpers
# =============================================================================================
def true_curves(flavor: str) -> pd.DataFrame:
    """The hourly contact-rate weights the history outcomes are drawn from.

    Columns ``phone_type, hour, weight`` (hours 0..23 for mobile, home and work), exactly the
    rows written to ``curves.csv``. ``other`` has no rows (weight 1 by contract).
    """
    _check_flavor(flavor)
    rows = [
        (ptype, hour, float(w))
        for ptype in PHONE_TYPES
        for hour, w in enumerate(_CURVES[flavor][ptype])
    ]
    return pd.DataFrame(rows, columns=["phone_type", "hour", "weight"])


def synth_portfolio(
    out: Path,
    accounts: int,
    seats: int,
    flavor: str,
    date: dt.date,
    seed: int,
    fmt: str = "csv",
) -> dict:
    """Write a synthetic portfolio for plan date ``date`` into ``out``; return rows per file.

    ``flavor`` is ``cn`` (Chinese agency, policy cn-collection-2015) or ``us`` (US agency,
    policy us-regf); ``fmt`` is ``csv`` or ``parquet`` (same columns; numbers and booleans
    typed in parquet). The same arguments give byte-identical files. Files of the other format
    with the same table names are removed from ``out`` so that a reader never sees two
    versions of one table. The result maps each written file name to its data row count.
    """
    _check_flavor(flavor)
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    if int(accounts) < 1 or int(seats) < 1:
        raise ValueError("accounts and seats must be >= 1")
    if isinstance(date, dt.datetime):
        date = date.date()
    accounts, seats = int(accounts), int(seats)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    pack_text = _pack_text(PACK_FOR_FLAVOR[flavor])
    pack = tomllib.loads(pack_text)
    cfg = _FLAVOR[flavor]
    rng_seats, rng_acc, rng_con, rng_hist, rng_cb = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(5)
    )

    st = _make_seats(rng_seats, seats, flavor, cfg)
    ac = _make_accounts(rng_acc, accounts, flavor, cfg, pack, st)
    co = _make_contacts(rng_con, ac, flavor, cfg, pack)
    hi = _make_history(rng_hist, ac, co, flavor, pack, date)
    cb = _make_callbacks(rng_cb, ac, co, st, hi, flavor, cfg, date)

    tables = {
        "accounts": _accounts_table(ac, fmt),
        "contacts": _contacts_table(co, ac, fmt),
        "seats": _seats_table(st, fmt),
        "history": _history_table(hi, ac, co),
        "curves": _curves_table(flavor, fmt),
        "callbacks": _callbacks_table(cb, ac, co, st),
    }
    other = "parquet" if fmt == "csv" else "csv"
    counts: dict[str, int] = {}
    for name, table in tables.items():
        stale = out / f"{name}.{other}"
        if stale.exists():
            stale.unlink()
        path = out / f"{name}.{fmt}"
        _write(table, path, fmt)
        counts[path.name] = table.num_rows
    (out / "policy.toml").write_text(pack_text, encoding="utf-8")
    return counts


# =============================================================================================
# generation
# =============================================================================================
def _check_flavor(flavor: str) -> None:
    if flavor not in FLAVORS:
        raise ValueError(f"flavor must be one of {FLAVORS}, not {flavor!r}")


def _pack_text(name: str) -> str:
    return resources.files("dialplan.policy").joinpath("packs", f"{name}.toml").read_text(encoding="utf-8")


def _shares(pairs):
    names = [a for a, _ in pairs]
    w = np.array([b for _, b in pairs], dtype=float)
    return names, w / w.sum()


def _pick_within(rng, counts_per_row: np.ndarray) -> np.ndarray:
    """A uniform index in 0..count-1 for every row (count >= 1)."""
    return np.minimum((rng.random(counts_per_row.shape[0]) * counts_per_row).astype(np.int64), counts_per_row - 1)


def _beta_thousandths(rng, mean: np.ndarray, conc: float) -> np.ndarray:
    """Beta draws around ``mean`` as integers in 1..999 (thousandths)."""
    mean = np.clip(mean, 0.005, 0.95)
    x = rng.beta(mean * conc, (1.0 - mean) * conc)
    return np.clip(np.rint(x * 1000), 1, 999).astype(np.int64)


def _hhmm(s: str) -> int:
    h, m = s.split(":")
    return int(h) * 60 + int(m)


# --- seats ------------------------------------------------------------------------------------
def _make_seats(rng, n: int, flavor: str, cfg: dict) -> dict:
    teams, shares = _shares(cfg["teams"])
    k = len(teams)
    team = rng.choice(k, size=n, p=shares)
    team[: min(n, k)] = np.arange(min(n, k))  # every team gets a seat when there are enough
    team = team[rng.permutation(n)]
    active = rng.random(n) >= 0.02
    for t in range(k):  # the first seat of each team is always active
        idx = np.flatnonzero(team == t)
        if idx.size:
            active[idx[0]] = True
    late = rng.random(n) < 0.45
    brk_early, brk_late = cfg["breaks"]
    brk_pick_e = rng.integers(0, len(brk_early), n)
    brk_pick_l = rng.integers(0, len(brk_late), n)
    no_break = rng.random(n) < 0.05
    breaks = np.where(late, np.array(brk_late, dtype=object)[brk_pick_l], np.array(brk_early, dtype=object)[brk_pick_e])
    breaks = np.where(no_break, None, breaks)
    aph_present = rng.random(n) < 0.35
    aph = rng.integers(15, 26, n)
    skill_team = cfg["skill_team"]
    has_skill = rng.random(n) < cfg["seat_skill_share"]
    if skill_team is not None and skill_team in teams:
        has_skill |= team == teams.index(skill_team)
    senior = rng.random(n) < 0.10
    zone_u = rng.random(n)
    zone = np.full(n, None, dtype=object)
    lo = 0.0
    for z, share in cfg["seat_zones"]:
        zone[(zone_u >= lo) & (zone_u < lo + share)] = z
        lo += share
    width = max(4, len(str(n)))
    ids = [f"S{i:0{width}d}" for i in range(1, n + 1)]  # seats are few: a list is fine
    shifts = cfg["shifts"]
    return {
        "n": n,
        "ids": ids,
        "teams": teams,
        "team": team,
        "active": active,
        "late": late,
        "shift_start": [shifts[int(x)][0] for x in late],
        "shift_end": [shifts[int(x)][1] for x in late],
        "breaks": breaks,
        "aph": np.where(aph_present, aph, -1),
        "has_skill": has_skill,
        "senior": senior,
        "zone": zone,
        "skill": cfg["skill"],
    }


def _eligible_seats(st: dict, team_code: int, needs_skill: bool) -> np.ndarray:
    ok = st["active"].copy()
    if team_code >= 0:
        ok &= st["team"] == team_code
    if needs_skill:
        ok &= st["has_skill"]
    return np.flatnonzero(ok)


def _pick_seat(rng, st: dict, team: np.ndarray, needs: np.ndarray) -> np.ndarray:
    """An eligible active seat for each row (team and skill respected), -1 when none."""
    res = np.full(team.shape[0], -1, dtype=np.int64)
    for t in range(-1, len(st["teams"])):
        for s in (False, True):
            rows = np.flatnonzero((team == t) & (needs == s))
            if rows.size == 0:
                continue
            elig = _eligible_seats(st, t, s)
            if elig.size == 0:
                continue
            res[rows] = elig[rng.integers(0, elig.size, rows.size)]
    return res


# --- accounts ---------------------------------------------------------------------------------
def _make_accounts(rng, n: int, flavor: str, cfg: dict, pack: dict, st: dict) -> dict:
    status = rng.choice(len(STATUSES), size=n, p=np.array(list(STATUS_MIX.values())))
    status = status.astype(np.int8)

    mu = np.log(cfg["balance_median"])
    cents = np.rint(rng.lognormal(mu, cfg["balance_sigma"], n) * 100).astype(np.int64)
    cents = np.maximum(cents, 100)
    paid_off = (status == _ST["closed"]) & (rng.random(n) < 0.6)
    cents[paid_off] = 0

    defaults = dict(_EXTRA_PROPENSITY)
    defaults.update(pack.get("defaults", {}).get("pay_propensity", {}))
    prop_mean = np.array([defaults.get(s, 0.1) for s in STATUSES])[status]
    prop = _beta_thousandths(rng, prop_mean, 20.0)
    prop_present = rng.random(n) < 0.70

    # teams: only teams that have an active seat
    teams, shares = _shares(cfg["teams"])
    staffed = np.array([np.any(st["active"] & (st["team"] == t)) for t in range(len(teams))])
    shares = np.where(staffed, shares, 0.0)
    shares = shares / shares.sum()
    team = rng.choice(len(teams), size=n, p=shares).astype(np.int64)
    team[rng.random(n) < 0.02] = -1  # shared pool: any team may call

    # required skill
    needs = rng.random(n) < cfg["skill_share"]
    if cfg["skill_team"] is not None and cfg["skill_team"] in teams:
        needs |= team == teams.index(cfg["skill_team"])
    for t in range(-1, len(teams)):  # only where an active seat has the skill
        if _eligible_seats(st, t, True).size == 0:
            needs[team == t] = False

    # owner seat (about 1 %): an active seat of the case's team with the skill it needs
    owned = rng.random(n) < 0.01
    owner = np.full(n, -1, dtype=np.int64)
    oi = np.flatnonzero(owned)
    owner[oi] = _pick_seat(rng, st, team[oi], needs[oi])

    # location and segment
    if flavor == "cn":
        abroad_names, abroad_p = _shares(_CN_ABROAD)
        zone = np.full(n, _ZI["Asia/Shanghai"], dtype=np.int16)
        abroad = rng.random(n) < cfg["abroad_share"]
        ab_i = np.flatnonzero(abroad)
        abroad_codes = np.array([_ZI[z] for z in abroad_names], dtype=np.int16)
        zone[ab_i] = abroad_codes[rng.choice(len(abroad_names), ab_i.size, p=abroad_p)]
        banks, bank_p = _shares(_CN_BANKS)
        seg_names = banks
        seg = rng.choice(len(banks), size=n, p=bank_p)
        state = None
    else:
        states = list(_US_STATES)
        sp = np.array([_US_STATES[s][1] for s in states])
        state = rng.choice(len(states), size=n, p=sp / sp.sum())
        zone = np.array([_ZI[_US_STATES[s][0]] for s in states], dtype=np.int16)[state]
        seg_names = states
        seg = state
        abroad = np.zeros(n, dtype=bool)
    zone_missing = rng.random(n) < 0.01  # address unknown
    stop = rng.random(n) < 0.005

    width = max(6, len(str(n)))
    return {
        "n": n,
        "ids": _ids("A", n, width),
        "status": status,
        "cents": cents,
        "prop": prop,
        "prop_present": prop_present,
        "teams": teams,
        "team": team,
        "needs": needs,
        "owner": owner,
        "owner_ids": st["ids"],
        "skill": cfg["skill"],
        "zone": zone,  # int index into ZONES (the debtor's location, also when not written)
        "zone_missing": zone_missing,
        "abroad": abroad,
        "seg_names": seg_names,
        "seg": seg,
        "state": state,
        "stop": stop,
    }


# --- contacts ---------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _us_phone_tables():
    """Area-code tables: flat code list, per-state offsets/counts, and the first libphonenumber
    zone of every (area code, exchange) (index into ZONES; -1 when it names a zone we lack)."""
    import phonenumbers
    from phonenumbers import timezone as pntz

    states = list(_US_STATES)
    codes: list[int] = []
    off, cnt = [], []
    for s in states:
        c = _US_STATES[s][2]
        off.append(len(codes))
        cnt.append(len(c))
        codes.extend(c)
    try:  # which area codes have exchange-level zone data (most map to one zone as a whole)
        from phonenumbers.tzdata import TIMEZONE_DATA

        split = {int(key[1:4]) for key in TIMEZONE_DATA if key.startswith("1") and len(key) > 4}
    except Exception:  # pragma: no cover - layout of the data module changed: ask per exchange
        split = set(codes)
    first_zone = np.full((len(codes), 1000), -1, dtype=np.int16)
    for ci, npa in enumerate(codes):
        for nxx in _US_EXCHANGES if npa in split else _US_EXCHANGES[:1]:
            num = phonenumbers.PhoneNumber(country_code=1, national_number=npa * 10**7 + int(nxx) * 10**4 + 4567)
            zs = pntz.time_zones_for_geographical_number(num)
            first_zone[ci, nxx] = _ZI.get(zs[0], -1) if zs else -1
        if npa not in split:
            first_zone[ci, :] = first_zone[ci, _US_EXCHANGES[0]]
    return (
        np.array(codes, dtype=np.int64),
        np.array(off, dtype=np.int64),
        np.array(cnt, dtype=np.int64),
        first_zone,
    )


def _make_contacts(rng, ac: dict, flavor: str, cfg: dict, pack: dict) -> dict:
    n = ac["n"]
    status = ac["status"]
    lost = status == _ST["lost_contact"]
    nd = rng.choice(np.array([1, 2, 3]), size=n, p=[0.50, 0.35, 0.15])
    nt = np.where(
        lost,
        rng.choice(np.array([0, 1, 2, 3]), size=n, p=[0.10, 0.30, 0.35, 0.25]),
        rng.choice(np.array([0, 1, 2, 3]), size=n, p=[0.35, 0.35, 0.20, 0.10]),
    )
    cnt = nd + nt
    m = int(cnt.sum())
    acc = np.repeat(np.arange(n, dtype=np.int64), cnt)
    start = np.cumsum(cnt) - cnt
    rank = np.arange(m, dtype=np.int64) - start[acc]
    debtor = rank < nd[acc]
    tp = ~debtor

    # relation (0 = self, 1.. = RELATIONS_TP)
    relation = np.zeros(m, dtype=np.int8)
    relation[tp] = 1 + rng.choice(len(RELATIONS_TP), size=int(tp.sum()), p=[0.25, 0.30, 0.20, 0.15, 0.10])
    colleague = relation == 1 + RELATIONS_TP.index("colleague")

    # phone type (index into PHONE_TYPES)
    ptype = np.zeros(m, dtype=np.int8)
    groups = [
        (debtor & (rank == 0), [0.92, 0.05, 0.03]),
        (debtor & (rank > 0), [0.55, 0.25, 0.20]),
        (tp & colleague, [0.30, 0.00, 0.70]),
        (tp & ~colleague, [0.80, 0.20, 0.00]),
    ]
    for mask, p in groups:
        idx = np.flatnonzero(mask)
        ptype[idx] = rng.choice(3, size=idx.size, p=p)

    # phone numbers (as integers: country code and national number), then uniqueness
    if flavor == "cn":
        prefixes = np.array(_CN_MOBILE_PREFIXES, dtype=np.int64)
        land_codes, land_p = _shares(_CN_LANDLINE)
        landline = (ptype > 0) & (rng.random(m) < np.where(ptype == 2, 0.85, 0.80))
        pre = prefixes[rng.integers(0, prefixes.size, m)]
        area_i = rng.choice(len(land_codes), size=m, p=land_p)
        area_val = np.array([int(a) for a in land_codes], dtype=np.int64)[area_i]
        area_len = np.array([len(a) for a in land_codes], dtype=np.int64)[area_i]
        mobile_head = 86 * 10**11 + pre * 10**8
        land_head = 86 * 10 ** (area_len + 8) + area_val * 10**8

        def tail(k):
            return rng.integers(0, 10**8, k)

        def land_tail(k):
            return rng.integers(5 * 10**7, 7 * 10**7, k)  # local numbers 5xxxxxxx / 6xxxxxxx

        head = np.where(landline, land_head, mobile_head)
        t = np.where(landline, land_tail(m), tail(m))
        phone = head + t
        for _ in range(100):
            dup = np.flatnonzero(pd.Series(phone).duplicated().to_numpy())
            if dup.size == 0:
                break
            phone[dup] = head[dup] + np.where(landline[dup], land_tail(dup.size), tail(dup.size))
        phone_zone = np.full(m, _ZI["Asia/Shanghai"], dtype=np.int16)
    else:
        codes, off, cntc, first_zone = _us_phone_tables()
        states = list(_US_STATES)
        state_zone = np.array([_ZI[_US_STATES[s][0]] for s in states], dtype=np.int16)
        sp = np.array([_US_STATES[s][1] for s in states])
        sp = sp / sp.sum()
        home_state = ac["state"][acc]
        num_state = home_state.copy()
        moved = np.flatnonzero(rng.random(m) < 0.10)  # number from a state in another zone
        pending = moved
        for _ in range(200):
            if pending.size == 0:
                break
            num_state[pending] = rng.choice(len(states), size=pending.size, p=sp)
            pending = pending[state_zone[num_state[pending]] == state_zone[home_state[pending]]]
        num_state[pending] = home_state[pending]  # (degenerate: cannot happen with 7 zones)
        code_i = off[num_state] + _pick_within(rng, cntc[num_state])
        npa = codes[code_i]
        nxx = _US_EXCHANGES[rng.integers(0, _US_EXCHANGES.size, m)]
        head = 10**10 + npa * 10**7 + nxx * 10**4
        phone = head + rng.integers(0, 10**4, m)
        for it in range(200):
            dup = np.flatnonzero(pd.Series(phone).duplicated().to_numpy())
            if dup.size == 0:
                break
            if it >= 50:  # a crowded exchange: move to another exchange of the same area code
                nxx[dup] = _US_EXCHANGES[rng.integers(0, _US_EXCHANGES.size, dup.size)]
                head[dup] = 10**10 + npa[dup] * 10**7 + nxx[dup] * 10**4
            phone[dup] = head[dup] + rng.integers(0, 10**4, dup.size)
        phone_zone = first_zone[code_i, nxx]
        phone_zone = np.where(phone_zone >= 0, phone_zone, state_zone[num_state]).astype(np.int16)

    # contact time zone column: mostly empty
    tz1 = np.full(m, -1, dtype=np.int16)  # first (or only) zone of the column
    tz2 = np.full(m, -1, dtype=np.int16)  # second zone ("a|b"), rare
    acc_zone = ac["zone"][acc]
    if flavor == "cn":
        ab = debtor & ac["abroad"][acc] & (rng.random(m) < 0.6)
        tz1[ab] = acc_zone[ab]
        names, p = _shares(_CN_ABROAD)
        tp_ab = np.flatnonzero(tp & (rng.random(m) < 0.005))  # a relative living abroad
        tz1[tp_ab] = np.array([_ZI[z] for z in names], dtype=np.int16)[rng.choice(len(names), tp_ab.size, p=p)]
    else:
        u = rng.random(m)
        known = ~ac["zone_missing"][acc]
        conf = known & (u < cfg["contact_tz_share"])
        tz1[conf] = acc_zone[conf]
        two = known & (u >= cfg["contact_tz_share"]) & (u < cfg["contact_tz_share"] + 0.002) & (phone_zone != acc_zone)
        tz1[two] = acc_zone[two]
        tz2[two] = phone_zone[two]

    # rpc_rate (present for about half), do_not_call, latent dead numbers
    rpc_def = pack.get("defaults", {}).get("rpc_rate", {})
    d_def, t_def = float(rpc_def.get("debtor", 0.15)), float(rpc_def.get("third_party", 0.25))
    factor = np.array([_RPC_STATUS_FACTOR[s] for s in STATUSES])[status[acc]]
    mean = np.where(debtor, d_def * factor, t_def)
    rpc = _beta_thousandths(rng, mean, 15.0)
    rpc_present = rng.random(m) < 0.5
    dnc = rng.random(m) < 0.01
    dead = rng.random(m) < np.where(debtor & lost[acc], 0.15, 0.015)

    # base rate the history uses: the column when present, else the role default (contract)
    base = np.where(rpc_present, rpc / 1000.0, np.where(debtor, d_def, t_def))
    first_zone_k = np.where(tz1 >= 0, tz1, phone_zone).astype(np.int16)

    total = int(m)
    width = max(7, len(str(total)))
    return {
        "m": m,
        "ids": _ids("C", m, width),
        "acc": acc,
        "start": start,
        "nd": nd,
        "nt": nt,
        "debtor": debtor,
        "relation": relation,
        "ptype": ptype,
        "phone": phone,
        "phone_zone": phone_zone,
        "tz1": tz1,
        "tz2": tz2,
        "rpc": rpc,
        "rpc_present": rpc_present,
        "dnc": dnc,
        "dead": dead,
        "base": base,
        "first_zone": first_zone_k,
    }


# --- time helpers -----------------------------------------------------------------------------
def _offset_table(first_day: dt.date, days: int) -> np.ndarray:
    """UTC offset in minutes of every zone at noon local of each day (zones x days)."""
    res = np.zeros((len(ZONES), days), dtype=np.int64)
    for zi, z in enumerate(ZONES):
        for d in range(days):
            res[zi, d] = _noon_offset(first_day + dt.timedelta(days=d), z)
    return res


def _noon_offset(day: dt.date, zone: str) -> int:
    """UTC offset (minutes) of ``zone`` at noon local of ``day`` (right for 03:00-24:00)."""
    noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(zone))
    return int(noon.utcoffset().total_seconds() // 60)


def _offset_str(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    a = abs(int(minutes))
    return f"{sign}{a // 60:02d}:{a % 60:02d}"


def _timestamps(first_day: dt.date, day: np.ndarray, sec: np.ndarray, zone: np.ndarray, offs: np.ndarray) -> pa.Array:
    """ISO 8601 local timestamps with UTC offset, built from small lookup tables."""
    ndays = offs.shape[1]
    day_str = pa.array([(first_day + dt.timedelta(days=d)).isoformat() + "T" for d in range(ndays)])
    off_str = pa.array([_offset_str(o) for o in offs.reshape(-1)])
    hm = pa.array([f"{h:02d}:{mi:02d}:" for h in range(24) for mi in range(60)])
    ss = pa.array([f"{s:02d}" for s in range(60)])
    a = day_str.take(pa.array(day, type=pa.int32()))
    b = hm.take(pa.array(sec // 60, type=pa.int32()))
    c = ss.take(pa.array(sec % 60, type=pa.int32()))
    d = off_str.take(pa.array(zone.astype(np.int64) * ndays + day, type=pa.int32()))
    return pc.binary_join_element_wise(a, b, c, d, "")


def _group_starts(key_sorted: np.ndarray) -> np.ndarray:
    """For rows sorted by key: index of the first row of each row's group."""
    k = key_sorted.shape[0]
    first = np.ones(k, dtype=bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(k), 0))


def _after_terminal(key_sorted: np.ndarray, terminal_sorted: np.ndarray) -> np.ndarray:
    """Rows that come after a terminal row of their group (rows sorted by key, then time)."""
    t = terminal_sorted.astype(np.int64)
    excl = np.cumsum(t) - t
    return (excl - excl[_group_starts(key_sorted)]) > 0


# --- history ----------------------------------------------------------------------------------
def _make_history(rng, ac: dict, co: dict, flavor: str, pack: dict, date: dt.date) -> dict:
    n = ac["n"]
    status = ac["status"]
    means = np.array([_ATTEMPTS_MEAN[s] for s in STATUSES])
    att = rng.poisson(means[status])
    h = int(att.sum())
    hacc = np.repeat(np.arange(n, dtype=np.int64), att)
    hst = status[hacc]

    # which contact: third parties only where the pack allows them (lost contact)
    tp_ok_status = np.zeros(len(STATUSES), dtype=bool)
    for s in pack.get("third_party", {}).get("allowed_statuses", ["lost_contact"]):
        if s in _ST:
            tp_ok_status[_ST[s]] = True
    nd, nt = co["nd"][hacc], co["nt"][hacc]
    use_tp = tp_ok_status[hst] & (nt > 0) & (rng.random(h) < 0.5)
    primary = rng.random(h) < 0.6
    di = np.where(primary, 0, _pick_within(rng, nd))
    ti = nd + _pick_within(rng, np.maximum(nt, 1))
    k = co["start"][hacc] + np.where(use_tp, ti, di)

    # local day (0 = D-31 .. 30 = D-1) and local second of the day
    first_day = date - dt.timedelta(days=HISTORY_DAYS)
    wd = np.array(_DAY_WEIGHTS[flavor], dtype=float)
    day_w = np.array([wd[(first_day + dt.timedelta(days=d)).weekday()] for d in range(HISTORY_DAYS)])
    day = rng.choice(HISTORY_DAYS, size=h, p=day_w / day_w.sum())
    new_rows = np.flatnonzero(hst == _ST["new"])
    recent_w = day_w[-_NEW_CASE_DAYS:]
    recent = rng.choice(_NEW_CASE_DAYS, size=new_rows.size, p=recent_w / recent_w.sum())
    day[new_rows] = HISTORY_DAYS - _NEW_CASE_DAYS + recent
    hours = np.array(list(_DIAL_HOURS[flavor]), dtype=np.int64)
    hw = np.array(list(_DIAL_HOURS[flavor].values()), dtype=float)
    hour = hours[rng.choice(hours.size, size=h, p=hw / hw.sum())]
    sec = hour * 3600 + rng.integers(0, 3600, h)

    # outcomes from the known curves
    curves = np.array([_CURVES[flavor][p] for p in PHONE_TYPES])  # 3 x 24
    ptype = co["ptype"][k]
    debtor = co["debtor"][k]
    p = np.minimum(1.0, co["base"][k] * curves[ptype, hour])
    evasive = hst == _ST["evasive"]
    p_tp_pick = np.where(debtor, np.where(ptype == 1, 0.15, 0.05) * p, 0.0)  # someone else answers
    p_rpc = np.where(debtor, p, 0.03 * p)  # third-party numbers: the debtor happens to answer
    p_third = np.where(debtor, p_tp_pick, p)
    p_ref = np.where(debtor, np.where(evasive, 0.35, 0.08), 0.10) * p
    p_cmp = 0.004 * p
    extra = p_third + p_ref + p_cmp
    room = np.maximum(0.0, 1.0 - p_rpc)
    scale = np.where(extra > room, room / np.maximum(extra, 1e-12), 1.0)
    p_third, p_ref, p_cmp = p_third * scale, p_ref * scale, p_cmp * scale
    rest = np.maximum(0.0, 1.0 - p_rpc - p_third - p_ref - p_cmp)
    vm = _FLAVOR[flavor]["voicemail"] * np.where(ptype == 2, 1.2, 1.0)
    busy = np.where(ptype == 2, 0.20, 0.12)
    p_vm, p_busy = rest * vm, rest * busy
    u = rng.random(h)
    c1 = p_rpc
    c2 = c1 + p_third
    c3 = c2 + p_ref
    c4 = c3 + p_cmp
    c5 = c4 + p_busy
    c6 = c5 + p_vm
    outcome = np.full(h, _OC["no_answer"], dtype=np.int8)
    outcome[u < c6] = _OC["voicemail"]
    outcome[u < c5] = _OC["busy"]
    outcome[u < c4] = _OC["complaint"]
    outcome[u < c3] = _OC["refused"]
    outcome[u < c2] = _OC["third_party"]
    outcome[u < c1] = _OC["rpc"]
    outcome[co["dead"][k]] = _OC["invalid_number"]  # the network says so; never called again

    zone = co["first_zone"][k]
    offs = _offset_table(first_day, HISTORY_DAYS + 1)
    utc = day * 86400 + sec - offs[zone, day] * 60 + 86400  # seconds since D-32 00:00 UTC, > 0
    span = int(utc.max()) + 1 if h else 1

    def by(group: np.ndarray) -> np.ndarray:  # row order by (group, time)
        return np.argsort(group.astype(np.int64) * span + utc, kind="stable")

    # a dead number is dialled once; nothing after a complaint (contact or case scope)
    keep = np.ones(h, dtype=bool)
    order = by(k)
    keep[order[_after_terminal(k[order], outcome[order] == _OC["invalid_number"])]] = False
    scope = pack.get("complaint", {}).get("scope", "contact")
    if scope == "account":
        order = by(hacc)
    key = hacc if scope == "account" else k
    keep[order[_after_terminal(key[order], outcome[order] == _OC["complaint"])]] = False

    # cooldown after a conversation (rpc), the conversation day counting as day 1
    cd = int(pack.get("caps", {}).get("account", {}).get("cooldown_after_conversation_days", 0) or 0)
    if cd > 0:
        if scope != "account":
            order = by(hacc)
        g, dd, rp = hacc[order], day[order].astype(np.int64), outcome[order] == _OC["rpc"]
        kp0 = keep[order]
        kp = kp0
        big = 1000
        for _ in range(50):  # fixed point: only kept conversations start a cooldown
            run = np.maximum.accumulate(np.where(rp & kp, dd, -1) + g * big)
            prev = np.empty_like(run)
            prev[0] = -1
            prev[1:] = run[:-1]
            last = prev - g * big  # last kept conversation day before the row; < 0: none
            new_kp = kp0 & ~((last >= 0) & (dd - last < cd))
            if np.array_equal(new_kp, kp):
                break
            kp = new_kp
        keep[order] = kp

    idx = np.flatnonzero(keep)
    order = idx[np.argsort(utc[idx] * np.int64(co["m"]) + k[idx], kind="stable")]
    return {
        "h": order.size,
        "acc": hacc[order],
        "k": k[order],
        "day": day[order],
        "sec": sec[order],
        "zone": zone[order],
        "outcome": outcome[order],
        "first_day": first_day,
        "offs": offs,
    }


# --- callbacks --------------------------------------------------------------------------------
def _make_callbacks(rng, ac: dict, co: dict, st: dict, hi: dict, flavor: str, cfg: dict, date: dt.date) -> dict:
    import phonenumbers
    from phonenumbers import timezone as pntz

    n = ac["n"]
    status = ac["status"]
    first_debtor = co["start"]  # debtor numbers come first
    bad_contact = co["dnc"] | co["dead"]
    complained = np.zeros(n, dtype=bool)
    complained[hi["acc"][hi["outcome"] == _OC["complaint"]]] = True
    elig = np.flatnonzero(
        np.isin(status, [_ST["ptp"], _ST["negotiating"]]) & ~ac["stop"] & ~bad_contact[first_debtor] & ~complained
    )
    if elig.size == 0:
        empty = np.zeros(0, np.int64)
        return {"n": 0, "acc": empty, "k": empty, "at": [], "seat": empty}
    count = max(1, int(round(cfg["callback_rate"] * elig.size)))
    chosen = np.sort(rng.choice(elig, size=count, replace=False))
    k = first_debtor[chosen]
    slot5 = rng.random(count)  # position in the feasible interval, in 5-minute steps
    with_seat = rng.random(count) < 0.5
    seat_u = rng.random(count)

    # resolved zones of each callback's number (contract 2.1), the appointment legal in all
    ats: list[str] = []
    minutes_utc = np.zeros(count, dtype=np.int64)
    for i in range(count):
        kk = int(k[i])
        zones: list[str] = []
        if co["tz1"][kk] >= 0:
            zones.append(ZONES[co["tz1"][kk]])
            if co["tz2"][kk] >= 0:
                zones.append(ZONES[co["tz2"][kk]])
        else:
            num = phonenumbers.parse("+" + str(int(co["phone"][kk])))
            zones.extend(z for z in pntz.time_zones_for_number(num) if z != "Etc/Unknown")
            a = int(chosen[i])
            if not ac["zone_missing"][a]:
                zones.append(ZONES[ac["zone"][a]])
        zones = list(dict.fromkeys(zones)) or ["Asia/Shanghai" if flavor == "cn" else "America/New_York"]
        offs = [_noon_offset(date, z) for z in zones]
        lo = max(9 * 60 - o for o in offs)
        hi_ = min(20 * 60 - o for o in offs)
        o0 = offs[0]
        if hi_ - lo < 5:  # no common daytime: the debtor's own time (the first zone)
            lo, hi_ = 9 * 60 - o0, 20 * 60 - o0
        steps = (hi_ - lo) // 5
        utc_min = lo + 5 * min(int(slot5[i] * steps), steps - 1)
        minutes_utc[i] = utc_min
        local = dt.datetime(date.year, date.month, date.day) + dt.timedelta(minutes=utc_min + o0)
        ats.append(local.strftime("%Y-%m-%dT%H:%M:00") + _offset_str(o0))

    # the agent who promised: the owner when the case has one, else an eligible active seat,
    # preferably one whose shift holds the appointment
    seat = np.full(count, -1, dtype=np.int64)
    policy_zone = "Asia/Shanghai" if flavor == "cn" else "America/New_York"
    zone_off = {}
    for z in set(st["zone"].tolist()) | {None}:
        zone_off[z] = _noon_offset(date, z or policy_zone)
    seat_off = np.array([zone_off[z] for z in st["zone"]], dtype=np.int64)
    shift_lo = np.array([_hhmm(x) for x in st["shift_start"]], dtype=np.int64) - seat_off  # UTC minutes
    shift_hi = np.array([_hhmm(x) for x in st["shift_end"]], dtype=np.int64) - seat_off
    seat_groups: dict = {}
    for i in range(count):
        if not with_seat[i]:
            continue
        a = int(chosen[i])
        if ac["owner"][a] >= 0:
            seat[i] = ac["owner"][a]
            continue
        key = (int(ac["team"][a]), bool(ac["needs"][a]))
        if key not in seat_groups:
            seat_groups[key] = _eligible_seats(st, *key)
        cand = seat_groups[key]
        if cand.size == 0:
            continue
        on_shift = cand[(shift_lo[cand] <= minutes_utc[i]) & (minutes_utc[i] < shift_hi[cand])]
        pool = on_shift if on_shift.size else cand
        seat[i] = pool[min(int(seat_u[i] * pool.size), pool.size - 1)]
    return {"n": count, "acc": chosen, "k": k, "at": ats, "seat": seat}


# =============================================================================================
# tables and writing
# =============================================================================================
def _ids(prefix: str, n: int, width: int) -> pa.Array:
    nums = pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(nums, width=width, padding="0"), "")


def _categorical(names, codes: np.ndarray, missing: np.ndarray | None = None) -> pa.Array:
    """String column from small-integer codes; ``missing`` rows (or code < 0) become null."""
    codes = np.asarray(codes).astype(np.int64)
    mask = codes < 0
    if missing is not None:
        mask = mask | missing
    return pa.array(list(names), type=pa.string()).take(pa.array(np.where(mask, 0, codes), mask=mask))


def _decimal(ints: np.ndarray, digits: int, fmt: str, missing: np.ndarray | None = None) -> pa.Array:
    """Fixed-point numbers ``ints / 10**digits``: text with exactly ``digits`` decimals for csv,
    float64 for parquet; ``missing`` rows empty / null."""
    ints = np.asarray(ints, dtype=np.int64)
    if fmt == "parquet":
        return pa.array(ints / 10**digits, mask=missing)
    q = 10**digits
    whole = pc.cast(pa.array(ints // q), pa.string())
    frac = pc.utf8_lpad(pc.cast(pa.array(ints % q), pa.string()), width=digits, padding="0")
    text = pc.binary_join_element_wise(whole, frac, ".")
    if missing is not None:
        text = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)
    return text


def _bool(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=bool))


def _accounts_table(ac: dict, fmt: str) -> pa.Table:
    zone_codes = np.where(ac["zone_missing"], -1, ac["zone"])
    return pa.table(
        {
            "account_id": ac["ids"],
            "balance": _decimal(ac["cents"], 2, fmt),
            "status": _categorical(STATUSES, ac["status"]),
            "pay_propensity": _decimal(ac["prop"], 3, fmt, ~ac["prop_present"]),
            "team": _categorical(ac["teams"], ac["team"]),
            "owner_seat": _categorical(ac["owner_ids"], ac["owner"]),
            "required_skill": _categorical([ac["skill"]], np.where(ac["needs"], 0, -1)),
            "timezone": _categorical(ZONES, zone_codes),
            "segment": _categorical(ac["seg_names"], ac["seg"]),
            "stop_contact": _bool(ac["stop"]),
        }
    )


def _contacts_table(co: dict, ac: dict, fmt: str) -> pa.Table:
    phone = pc.binary_join_element_wise("+", pc.cast(pa.array(co["phone"]), pa.string()), "")
    tz = _categorical(ZONES, co["tz1"])
    two = co["tz2"] >= 0
    if two.any():
        tz = pc.if_else(
            pa.array(two),
            pc.binary_join_element_wise(tz, _categorical(ZONES, np.where(two, co["tz2"], 0)), "|"),
            tz,
        )
    return pa.table(
        {
            "contact_id": co["ids"],
            "account_id": ac["ids"].take(pa.array(co["acc"])),
            "phone": phone,
            "role": _categorical(("third_party", "debtor"), co["debtor"].astype(np.int64)),
            "relation": _categorical(("self",) + RELATIONS_TP, co["relation"]),
            "phone_type": _categorical(PHONE_TYPES, co["ptype"]),
            "timezone": tz,
            "rpc_rate": _decimal(co["rpc"], 3, fmt, ~co["rpc_present"]),
            "do_not_call": _bool(co["dnc"]),
        }
    )


def _seats_table(st: dict, fmt: str) -> pa.Table:
    skill_names = ("", st["skill"], "senior", f"{st['skill']};senior")
    skill_code = st["has_skill"].astype(np.int64) + 2 * st["senior"].astype(np.int64)
    aph = st["aph"]
    if fmt == "parquet":
        aph_col = pa.array(aph, mask=aph < 0, type=pa.int64())
    else:
        aph_col = pc.cast(pa.array(aph, mask=aph < 0, type=pa.int64()), pa.string())
    return pa.table(
        {
            "seat_id": pa.array(st["ids"], type=pa.string()),
            "team": _categorical(st["teams"], st["team"]),
            "shift_start": pa.array(st["shift_start"], type=pa.string()),
            "shift_end": pa.array(st["shift_end"], type=pa.string()),
            "timezone": pa.array(list(st["zone"]), type=pa.string()),
            "breaks": pa.array(list(st["breaks"]), type=pa.string()),
            "attempts_per_hour": aph_col,
            "skills": _categorical(skill_names, np.where(skill_code == 0, -1, skill_code)),
            "active": _bool(st["active"]),
        }
    )


def _history_table(hi: dict, ac: dict, co: dict) -> pa.Table:
    return pa.table(
        {
            "account_id": ac["ids"].take(pa.array(hi["acc"])),
            "contact_id": co["ids"].take(pa.array(hi["k"])),
            "called_at": _timestamps(hi["first_day"], hi["day"], hi["sec"], hi["zone"], hi["offs"]),
            "outcome": _categorical(OUTCOMES, hi["outcome"]),
        }
    )


def _curves_table(flavor: str, fmt: str) -> pa.Table:
    df = true_curves(flavor)
    weight = pa.array(df["weight"].to_numpy()) if fmt == "parquet" else pa.array([f"{w:.2f}" for w in df["weight"]])
    return pa.table(
        {
            "phone_type": pa.array(df["phone_type"].tolist(), type=pa.string()),
            "hour": pa.array(df["hour"].to_numpy(dtype=np.int64)),
            "weight": weight,
        }
    )


def _callbacks_table(cb: dict, ac: dict, co: dict, st: dict) -> pa.Table:
    seat = cb["seat"]
    return pa.table(
        {
            "account_id": ac["ids"].take(pa.array(cb["acc"], type=pa.int64())),
            "contact_id": co["ids"].take(pa.array(cb["k"], type=pa.int64())),
            "at": pa.array(cb["at"], type=pa.string()),
            "seat_id": _categorical(st["ids"], seat) if len(st["ids"]) else pa.nulls(cb["n"], pa.string()),
        }
    )


def _write(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
        return
    # header unquoted; values never hold a comma, quote or newline, so no quoting at all
    with open(path, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
        if table.num_rows:
            pacsv.write_csv(
                table,
                fh,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
            )
