"""The independent verifier: checks a plan directory against a portfolio and its policy.

``verify_plan`` is the judge the solver is held to. It re-reads the portfolio, re-derives every
rule of docs/rules.md on its own (it imports nothing from the solver side:
``dialplan.solve``, ``dialplan.rules``, ``dialplan.candidates``, ``dialplan.plan``) and lists
every planned attempt that breaks one. All checks are columnar (numpy / pandas over the
attempts); Python loops run only per distinct zone, phone, seat, segment or date.

Rule names in ``VerifyReport.counts`` and ``violations.rule``:

plan file
    ``plan_row``        account/contact/seat unknown, contact of another account, phone or role
                        not the contact's, reason not callback/frequency/value
    ``slot_grid``       slot length != slot_minutes, start not on the policy zone's slot grid,
                        timestamp offset not the policy zone's offset at that instant
    ``seq``             a seat's seq is not 1..n, or not in time order
never call (docs "Never call")
    ``stop_contact``, ``status``, ``do_not_call``, ``invalid_number``, ``complaint``, ``third_party``
time
    ``window``          [s, e] outside the role's weekday window in some resolved zone (or the
                        local s and e on different dates)
    ``holiday``         a no-call holiday of the policy country on a local date of the slot
caps (history included, history attempts are points)
    ``cap_contact_day``, ``cap_contact_rolling``, ``min_gap``,
    ``cap_account_day``, ``cap_account_7d``, ``cooldown``
    ``overlap``         two attempts of one case in overlapping slots
seats
    ``seat_shift``      seat inactive, slot outside the shift (seat zone, seat-local date D) or
                        touching a break
    ``seat_capacity``   more than floor(attempts_per_hour * slot_minutes / 60) in a (seat, slot)
    ``seat_eligibility`` team / owner_seat / required_skill not respected
    ``continuity``      a case's attempts on more than one seat while its policy wants continuity
figures
    ``p_contact``       p_contact differs from the recomputed q by more than 1e-6
    ``summary``         summary.json disagrees with the recomputation (expected_recovery at
                        relative 1e-6, attempts, obligations due/met/unmet, upper_bound below
                        expected_recovery) or lacks one of these keys

A row that names an unknown account or contact (or a contact of another case) only gets
``plan_row`` and the seat checks; every other rule needs the case and the number.
Violation details never hold a phone number or a balance.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import timezone as pn_timezone

from . import reasons as R
from .errors import PlanError
from .io.portfolio import Portfolio, read_portfolio

PLAN_ROW = "plan_row"
SLOT_GRID = "slot_grid"
SEQ = "seq"
P_CONTACT = "p_contact"
SUMMARY = "summary"

RULES: tuple[str, ...] = (
    PLAN_ROW,
    SLOT_GRID,
    SEQ,
    R.STOP_CONTACT,
    R.STATUS,
    R.DO_NOT_CALL,
    R.INVALID_NUMBER,
    R.COMPLAINT,
    R.THIRD_PARTY,
    R.WINDOW,
    R.HOLIDAY,
    R.CAP_CONTACT_DAY,
    R.CAP_CONTACT_ROLLING,
    R.MIN_GAP,
    R.CAP_ACCOUNT_DAY,
    R.CAP_ACCOUNT_7D,
    R.COOLDOWN,
    R.OVERLAP,
    R.SEAT_SHIFT,
    R.SEAT_CAPACITY,
    R.SEAT_ELIGIBILITY,
    R.CONTINUITY,
    P_CONTACT,
    SUMMARY,
)
PLAN_COLUMNS = ["seat_id", "seq", "slot_start", "slot_end", "account_id", "contact_id", "phone", "role", "p_contact", "reason"]
VIOLATION_COLUMNS = ["rule", "seat_id", "account_id", "contact_id", "slot_start", "detail"]
PLAN_REASONS = ("callback", "frequency", "value")
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

NS_MIN = 60 * 10**9
NS_HOUR = 60 * NS_MIN
NS_DAY = 24 * NS_HOUR
P_TOL = 1e-6
ER_REL_TOL = 1e-6
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_EPOCH_ORD = dt.date(1970, 1, 1).toordinal()
_DAY_OFF = 1 << 20  # keeps day numbers positive inside packed (code, day) keys
_DAY_SPAN = 1 << 22
_TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


# --- report -------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """What verify found. ``violations`` has one row per broken rule instance (columns
    rule, seat_id, account_id, contact_id, slot_start, detail); ``counts`` has every rule
    checked, zeros included; ``obligations`` the recomputed due/met/unmet."""

    violations: pd.DataFrame
    counts: dict
    obligations: dict
    expected_recovery: float
    summary_expected_recovery: float | None
    date: dt.date | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return len(self.violations) == 0

    def examples(self, rule: str, n: int = 3) -> pd.DataFrame:
        v = self.violations
        return v[v["rule"] == rule].head(n)

    def to_dict(self, limit: int | None = None) -> dict:
        """A JSON-ready dict; ``limit`` caps the violations listed per rule (None: all)."""
        v = self.violations
        if limit is not None:
            v = v.groupby("rule", sort=False).head(limit)
        return {
            "ok": self.ok,
            "date": self.date.isoformat() if self.date else None,
            "attempts": int(self.attempts),
            "expected_recovery": float(self.expected_recovery),
            "summary_expected_recovery": (
                None if self.summary_expected_recovery is None else float(self.summary_expected_recovery)
            ),
            "obligations": {k: int(x) for k, x in self.obligations.items()},
            "counts": {k: int(x) for k, x in self.counts.items()},
            "violations": [
                dict(zip(VIOLATION_COLUMNS, map(str, values)))
                for values in zip(*(v[c].to_numpy(dtype=object) for c in VIOLATION_COLUMNS))
            ],
        }

    def render(self) -> str:
        """A text report: one line per rule with its count, then up to 3 examples per broken rule."""
        lines = []
        day = self.date.isoformat() if self.date else "?"
        ser = "missing" if self.summary_expected_recovery is None else f"{self.summary_expected_recovery:.6f}"
        lines.append(
            f"verify {day}: {self.attempts} attempts, expected recovery {self.expected_recovery:.6f} (summary {ser})"
        )
        ob = self.obligations
        lines.append(f"obligations: due {ob.get('due', 0)}, met {ob.get('met', 0)}, unmet {ob.get('unmet', 0)}")
        width = max(len(r) for r in self.counts) if self.counts else 10
        lines.append(f"{'rule'.ljust(width)}  violations")
        for rule, n in self.counts.items():
            lines.append(f"{rule.ljust(width)}  {n}")
        for rule, n in self.counts.items():
            if not n:
                continue
            lines.append("")
            lines.append(f"{rule}: {n} violation{'s' if n != 1 else ''}, first {min(n, 3)}:")
            for row in self.examples(rule).itertuples(index=False):
                where = " ".join(
                    f"{k}={v}"
                    for k, v in (
                        ("seat", row.seat_id),
                        ("account", row.account_id),
                        ("contact", row.contact_id),
                        ("slot", row.slot_start),
                    )
                    if v
                )
                lines.append(f"  {where}: {row.detail}" if where else f"  {row.detail}")
        lines.append("")
        lines.append("OK" if self.ok else f"FAILED: {len(self.violations)} violations")
        return "\n".join(lines)


# --- small time helpers ---------------------------------------------------------------------


def _day_number(day: dt.date) -> int:
    return day.toordinal() - _EPOCH_ORD


def _date_of(day_number: int) -> dt.date:
    return dt.date.fromordinal(int(day_number) + _EPOCH_ORD)


def _local_ns(utc_ns: np.ndarray, zone: str) -> np.ndarray:
    """Wall-clock time in ``zone`` as nanoseconds of a naive epoch (so // NS_DAY is the local day)."""
    if len(utc_ns) == 0:
        return np.zeros(0, dtype=np.int64)
    idx = pd.DatetimeIndex(np.asarray(utc_ns, dtype=np.int64).astype("datetime64[ns]"))
    local = idx.tz_localize("UTC").tz_convert(zone).tz_localize(None)
    return np.asarray(local.to_numpy().astype("datetime64[ns]").view(np.int64))


def _groups(codes: np.ndarray, n: int):
    """(group number, positions) for each group of ``codes`` (ints 0..n-1)."""
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n + 1))
    for k in range(n):
        if bounds[k] < bounds[k + 1]:
            yield k, order[bounds[k] : bounds[k + 1]]


def _local_by_zone(utc_ns: np.ndarray, zones) -> np.ndarray:
    out = np.zeros(len(utc_ns), dtype=np.int64)
    codes, uniq = pd.factorize(np.asarray(zones, dtype=object))
    for k, pos in _groups(codes, len(uniq)):
        out[pos] = _local_ns(utc_ns[pos], uniq[k])
    return out


def _utc_ns_of_local(day: dt.date, minutes: int, zone: str) -> int:
    """UTC nanoseconds of local wall time ``minutes`` after midnight of ``day`` in ``zone``."""
    naive = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minutes)
    aware = naive.replace(tzinfo=ZoneInfo(zone))
    return ((aware - _EPOCH) // dt.timedelta(microseconds=1)) * 1000


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 60 + int(m)


def _fmt_local(local_ns: int) -> str:
    return str(np.datetime64(int(local_ns), "ns").astype("datetime64[m]")).replace("T", " ")


class _DayIndex:
    """Counts of events per (code, day), queried for day ranges, by binary search."""

    def __init__(self, codes: np.ndarray, days: np.ndarray, weights: np.ndarray | None = None):
        keys = _pack(codes, days)
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        w = np.ones(len(keys), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)[order]
        self.cum = np.concatenate([[0], np.cumsum(w)])

    def count(self, codes: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Events with the same code and day in [lo, hi] (0 where lo > hi)."""
        lo = np.broadcast_to(np.asarray(lo, dtype=np.int64), np.shape(codes))
        hi = np.broadcast_to(np.asarray(hi, dtype=np.int64), np.shape(codes))
        a = np.searchsorted(self.keys, _pack(codes, lo), "left")
        b = np.searchsorted(self.keys, _pack(codes, hi), "right")
        return np.where(hi >= lo, self.cum[np.maximum(b, a)] - self.cum[a], 0)


def _pack(codes, days) -> np.ndarray:
    return np.asarray(codes, dtype=np.int64) * _DAY_SPAN + (np.asarray(days, dtype=np.int64) + _DAY_OFF)


def _rank(groups: tuple, order: tuple) -> np.ndarray:
    """1-based rank of each element within its group (all ``groups`` keys equal), ordered by ``order``."""
    n = len(groups[0])
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.lexsort(tuple(reversed(tuple(groups) + tuple(order))))
    start = np.zeros(n, dtype=bool)
    start[0] = True
    for key in groups:
        k = np.asarray(key)[idx]
        start[1:] |= k[1:] != k[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[idx] = np.arange(n) - first + 1
    return rank


# --- zones ------------------------------------------------------------------------------------

_ZONE_COUNTRY: dict[str, str] | None = None
_KNOWN_ZONES: frozenset[str] | None = None


def _zone_country(zone: str) -> str:
    """ISO country of a zone from tzdata's zone.tab (zone1970.tab when only that lists it).
    A zone listed nowhere counts as a country of its own."""
    global _ZONE_COUNTRY
    if _ZONE_COUNTRY is None:
        table: dict[str, str] = {}
        base = resources.files("tzdata").joinpath("zoneinfo")
        for name in ("zone.tab", "zone1970.tab"):
            try:
                text = base.joinpath(name).read_text("utf-8")
            except (FileNotFoundError, OSError):
                continue
            for line in text.splitlines():
                if not line or line.startswith("#"):
                    continue
                parts = line.split("\t")
                if len(parts) >= 3 and parts[2] not in table:
                    codes = parts[0].split(",")
                    table[parts[2]] = parts[0] if len(codes) == 1 else "+".join(codes)
        _ZONE_COUNTRY = table
    return _ZONE_COUNTRY.get(zone, zone)


def _known_zones() -> frozenset[str]:
    global _KNOWN_ZONES
    if _KNOWN_ZONES is None:
        _KNOWN_ZONES = frozenset(available_timezones())
    return _KNOWN_ZONES


def phone_zones(phone: str) -> tuple[str, ...]:
    """Zones libphonenumber places ``phone`` in; none for an unplaceable number, ``Etc/Unknown``,
    or zones of more than one country."""
    try:
        number = phonenumbers.parse(phone, None)
        zones = pn_timezone.time_zones_for_number(number)
    except phonenumbers.NumberParseException:
        return ()
    zones = tuple(z for z in zones if z != "Etc/Unknown" and z in _known_zones())
    if len({_zone_country(z) for z in zones}) > 1:
        return ()
    return zones


def contact_zones(tz_column: str, phone: str, account_zone: str, policy_zone: str, _cache: dict | None = None) -> tuple[str, ...]:
    """Resolved zones of a contact, first zone first (contract 2.1, docs/rules.md)."""
    if tz_column:
        zones = [z.strip() for z in tz_column.split("|") if z.strip()]
        if zones:
            return tuple(dict.fromkeys(zones))
    if _cache is not None and phone in _cache:
        from_phone = _cache[phone]
    else:
        from_phone = phone_zones(phone)
        if _cache is not None:
            _cache[phone] = from_phone
    zones = list(from_phone)
    if account_zone:
        zones.append(account_zone)
    zones = list(dict.fromkeys(zones))
    return tuple(zones) if zones else (policy_zone,)


# --- reading the plan ----------------------------------------------------------------------------


def _parse_stamps(values: pd.Series, name: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(UTC ns, written offset in seconds) of ISO 8601 timestamps with offset; PlanError otherwise."""
    codes, uniq = pd.factorize(values)
    ns = np.empty(len(uniq), dtype=np.int64)
    off = np.empty(len(uniq), dtype=np.int64)
    for k, text in enumerate(uniq):
        stamp = None
        if isinstance(text, str) and _TS_RE.match(text):
            try:
                stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                stamp = None
        if stamp is None or stamp.tzinfo is None:
            row = int(np.flatnonzero(codes == k)[0]) + 1
            raise PlanError(f"{name}: row {row} column '{column}': not an ISO 8601 timestamp with UTC offset")
        ns[k] = ((stamp - _EPOCH) // dt.timedelta(microseconds=1)) * 1000
        off[k] = int(stamp.utcoffset().total_seconds())
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0]) + 1
        raise PlanError(f"{name}: row {row} column '{column}': empty timestamp")
    return ns[codes], off[codes]


def read_plan(plan_dir: str | Path) -> pd.DataFrame:
    """plan.csv as a frame: the text columns plus seq (int), p_contact (float), s/e (UTC ns) and
    s_off/e_off (written offsets, seconds). Raises PlanError naming file and column."""
    path = Path(plan_dir) / "plan.csv"
    name = "plan.csv"
    if not path.is_file():
        raise PlanError(f"{name}: missing in {plan_dir}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise PlanError(f"{name}: not UTF-8 text") from None
    except pd.errors.EmptyDataError:
        raise PlanError(f"{name}: empty file (no header row, column 'seat_id' missing)") from None
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f"row {int(match.group(1)) - 1}" if match else "a row"
        raise PlanError(f"{name}: malformed CSV at {where} (wrong number of fields)") from None
    except (OSError, ValueError) as exc:
        raise PlanError(f"{name}: cannot read file ({exc.__class__.__name__})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    for col in PLAN_COLUMNS:
        if col not in frame.columns:
            raise PlanError(f"{name}: missing column '{col}'")
    out = pd.DataFrame({c: frame[c].astype(object).str.strip() for c in PLAN_COLUMNS})
    seq = pd.to_numeric(out["seq"], errors="coerce")
    bad = ~(np.isfinite(seq.to_numpy(dtype=float)) & (seq.to_numpy(dtype=float) == np.floor(seq.to_numpy(dtype=float))))
    if bad.any():
        raise PlanError(f"{name}: row {int(np.flatnonzero(bad)[0]) + 1} column 'seq': not an integer")
    out["seq"] = seq.to_numpy(dtype=float).astype(np.int64)
    p = pd.to_numeric(out["p_contact"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(p)
    if bad.any():
        raise PlanError(f"{name}: row {int(np.flatnonzero(bad)[0]) + 1} column 'p_contact': not a number")
    out["p_contact"] = p
    out["s"], out["s_off"] = _parse_stamps(out["slot_start"], name, "slot_start")
    out["e"], out["e_off"] = _parse_stamps(out["slot_end"], name, "slot_end")
    return out.reset_index(drop=True)


def read_summary(plan_dir: str | Path) -> dict:
    path = Path(plan_dir) / "summary.json"
    if not path.is_file():
        raise PlanError(f"summary.json: missing in {plan_dir}")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"summary.json: not readable JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise PlanError("summary.json: not a JSON object")
    return data


# --- the verifier ------------------------------------------------------------------------------


def verify_plan(
    portfolio_dir,
    plan_dir,
    date: dt.date | None = None,
    policy: str | None = None,
    *,
    max_reject: float = 1.0,
) -> VerifyReport:
    """Check the plan in ``plan_dir`` against the portfolio in ``portfolio_dir``.

    D is ``date`` or summary.json ``date``. ``policy`` (pack name or file) overrides the
    portfolio's policy.toml. ``max_reject`` is passed to ``read_portfolio``; verify accepts any
    share of rejected input rows by default (the solver already decided to run), and judges
    the plan against the accepted rows.
    """
    portfolio = read_portfolio(portfolio_dir, policy=policy, max_reject=max_reject)
    plan = read_plan(plan_dir)
    summary = read_summary(plan_dir)
    if date is None:
        text = summary.get("date")
        try:
            date = dt.date.fromisoformat(str(text))
        except (TypeError, ValueError):
            raise PlanError("summary.json: key 'date' missing or not YYYY-MM-DD (give --date)") from None
    elif isinstance(date, dt.datetime):
        date = date.date()
    elif isinstance(date, str):
        date = dt.date.fromisoformat(date)
    return _Verifier(portfolio, plan, date, summary).run()


class _Verifier:
    def __init__(self, pf: Portfolio, plan: pd.DataFrame, day: dt.date, summary: dict):
        self.pf = pf
        self.plan = plan
        self.day = day
        self.D = _day_number(day)
        self.summary = summary
        self.policy = pf.policy
        self.slot = int(self.policy.slot_minutes)
        self.parts: list[pd.DataFrame] = []
        self._prepare()

    # ---- bookkeeping ------------------------------------------------------------------------
    def _add(self, rule: str, rows: np.ndarray, detail) -> None:
        """Violations of ``rule`` for plan rows ``rows`` (positions in self.plan)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows) == 0:
            return
        p = self.plan
        if isinstance(detail, str):
            detail = [detail] * len(rows)
        self.parts.append(
            pd.DataFrame(
                {
                    "rule": rule,
                    "seat_id": p["seat_id"].to_numpy()[rows],
                    "account_id": p["account_id"].to_numpy()[rows],
                    "contact_id": p["contact_id"].to_numpy()[rows],
                    "slot_start": p["slot_start"].to_numpy()[rows],
                    "detail": list(detail),
                    "_row": rows,
                }
            )
        )

    def _add_free(self, rule: str, detail: str, seat="", account="", contact="", slot="") -> None:
        self.parts.append(
            pd.DataFrame(
                {
                    "rule": [rule],
                    "seat_id": [seat],
                    "account_id": [account],
                    "contact_id": [contact],
                    "slot_start": [slot],
                    "detail": [detail],
                    "_row": [-1],
                }
            )
        )

    # ---- shared arrays -------------------------------------------------------------------------
    def _prepare(self) -> None:
        pf, pol, plan = self.pf, self.policy, self.plan
        acc, con, seats = pf.accounts, pf.contacts, pf.seats
        self.n_acc, self.n_con = len(acc), len(con)
        # segments: one resolved policy per distinct segment
        seg_codes, seg_names = pd.factorize(acc["segment"].astype(object).to_numpy())
        self.seg_pols = [pol.for_segment(s) for s in seg_names]
        if not self.seg_pols:
            self.seg_pols = [pol]
        self.acc_seg = seg_codes.astype(np.int64)
        self.acc_zone = np.where(acc["timezone"].to_numpy(dtype=object) != "", acc["timezone"].to_numpy(dtype=object), pol.timezone)
        self.acc_index = pd.Index(acc["account_id"].astype(object))
        self.con_index = pd.Index(con["contact_id"].astype(object))
        self.seat_index = pd.Index(seats["seat_id"].astype(object))
        self.con_acc = self.acc_index.get_indexer(con["account_id"].astype(object))
        self.con_role = (con["role"].to_numpy(dtype=object) == "third_party").astype(np.int64)

        a = self.acc_index.get_indexer(plan["account_id"])
        c = self.con_index.get_indexer(plan["contact_id"])
        s = self.seat_index.get_indexer(plan["seat_id"])
        self.row_acc, self.row_con, self.row_seat = a, c, s
        belongs = (c >= 0) & (a >= 0) & (np.r_[self.con_acc, -2][c] == a)  # c = -1 reads the -2 sentinel
        self.valid = belongs
        self.vi = np.flatnonzero(belongs)  # plan rows every case/number rule is checked on

        # per-segment parameter tables
        nseg = len(self.seg_pols)
        self.win_lo = np.zeros((nseg, 2, 7), dtype=np.int64)
        self.win_hi = np.zeros((nseg, 2, 7), dtype=np.int64)
        self.win_has = np.zeros((nseg, 2, 7), dtype=bool)
        self.cap_day = np.zeros((nseg, 2), dtype=np.int64)
        self.roll_w = np.zeros((nseg, 2), dtype=np.int64)
        self.roll_m = np.zeros((nseg, 2), dtype=np.int64)
        self.gap = np.zeros((nseg, 2), dtype=np.int64)
        self.tp_weight = np.zeros(nseg)
        for k, sp in enumerate(self.seg_pols):
            for r, role in enumerate(("debtor", "third_party")):
                for wd in range(7):
                    win = sp.window(role, wd)
                    if win is not None:
                        self.win_has[k, r, wd] = True
                        self.win_lo[k, r, wd] = win[0] * NS_MIN
                        self.win_hi[k, r, wd] = win[1] * NS_MIN
                caps = sp.contact_caps(role)
                self.cap_day[k, r] = caps["per_day"]
                self.roll_w[k, r] = caps["rolling"]["minutes"]
                self.roll_m[k, r] = caps["rolling"]["max"]
                self.gap[k, r] = caps["min_gap_minutes"]
            self.tp_weight[k] = sp.third_party_weight

        # history, with account-zone days for every row
        hist = pf.history
        self.h_acc = self.acc_index.get_indexer(hist["account_id"].astype(object))
        self.h_con = self.con_index.get_indexer(hist["contact_id"].astype(object))
        self.h_ns = _series_ns(hist["called_at"])
        self.h_outcome = hist["outcome"].to_numpy(dtype=object)
        ok = (self.h_acc >= 0) & (self.h_con >= 0)
        self.h_acc, self.h_con, self.h_ns, self.h_outcome = self.h_acc[ok], self.h_con[ok], self.h_ns[ok], self.h_outcome[ok]
        self.h_acc_day = _local_by_zone(self.h_ns, self.acc_zone[self.h_acc]) // NS_DAY
        self.hist_acc_days = _DayIndex(self.h_acc, self.h_acc_day)

        # zones of the planned contacts and local times of the valid rows
        self._resolve_zones()

    def _resolve_zones(self) -> None:
        pol, con = self.policy, self.pf.contacts
        vi = self.vi
        planned = np.unique(self.row_con[vi])
        tzcol = con["timezone"].to_numpy(dtype=object)[planned]
        phone = con["phone"].to_numpy(dtype=object)[planned]
        acc_tz = self.pf.accounts["timezone"].to_numpy(dtype=object)[self.con_acc[planned]]
        own = tzcol != ""
        # libphonenumber once per distinct number, then one resolution per distinct combination
        by_phone = {number: "|".join(phone_zones(number)) for number in pd.unique(phone[~own])}
        from_phone = np.array([by_phone.get(x, "") for x in phone], dtype=object)
        key = np.where(own, "=" + tzcol.astype(str), from_phone + "#" + acc_tz.astype(str))
        codes, uniq = pd.factorize(key)
        combo_zones = []
        for k in uniq:
            if k.startswith("="):
                combo_zones.append(contact_zones(k[1:], "", "", pol.timezone))
            else:
                from_phone, account_zone = k.rsplit("#", 1)
                zones = [z for z in from_phone.split("|") if z] + ([account_zone] if account_zone else [])
                combo_zones.append(tuple(dict.fromkeys(zones)) or (pol.timezone,))
        self.con_first_zone = np.full(self.n_con, pol.timezone, dtype=object)
        self.con_first_zone[planned] = np.array([z[0] for z in combo_zones], dtype=object)[codes] if len(planned) else []
        cz_combo = [k for k, zones in enumerate(combo_zones) for _ in zones]
        cz_zone = [z for zones in combo_zones for z in zones]
        cz_pos = [j for zones in combo_zones for j in range(len(zones))]
        combo_of = pd.DataFrame({"c": planned.astype(np.int64), "combo": codes.astype(np.int64)})
        cz = combo_of.merge(
            pd.DataFrame({"combo": np.asarray(cz_combo, dtype=np.int64), "zone": np.asarray(cz_zone, dtype=object), "zpos": np.asarray(cz_pos, dtype=np.int64)}),
            on="combo",
        )[["c", "zone", "zpos"]]
        rows = pd.DataFrame({"row": vi, "c": self.row_con[vi]})
        ex = rows.merge(cz, on="c", how="inner", sort=False)
        self.ex_row = ex["row"].to_numpy(dtype=np.int64)
        self.ex_zone = ex["zone"].to_numpy(dtype=object)
        self.ex_zpos = ex["zpos"].to_numpy(dtype=np.int64)
        s = self.plan["s"].to_numpy()[self.ex_row]
        e = self.plan["e"].to_numpy()[self.ex_row]
        self.ex_ls = _local_by_zone(s, self.ex_zone)
        self.ex_le = _local_by_zone(e, self.ex_zone)
        # first zone: local day and hour of s for every valid row
        n = len(self.plan)
        self.first_day = np.zeros(n, dtype=np.int64)
        self.first_hour = np.zeros(n, dtype=np.int64)
        f = self.ex_zpos == 0
        fd = self.ex_ls[f] // NS_DAY
        self.first_day[self.ex_row[f]] = fd
        self.first_hour[self.ex_row[f]] = (self.ex_ls[f] - fd * NS_DAY) // NS_HOUR
        # account-zone day of s
        self.acc_day = np.zeros(n, dtype=np.int64)
        if len(vi):
            self.acc_day[vi] = _local_by_zone(self.plan["s"].to_numpy()[vi], self.acc_zone[self.row_acc[vi]]) // NS_DAY

    # ---- run ---------------------------------------------------------------------------------------
    def run(self) -> VerifyReport:
        self.check_plan_rows()
        self.check_slot_grid()
        self.check_seq()
        self.check_never_call()
        self.check_window_holiday()
        self.check_contact_caps()
        self.check_rolling_gap()
        self.check_account_caps()
        self.check_overlap()
        self.check_seats()
        er = self.check_recovery()
        obligations = self.compute_obligations()
        summary_er = self.check_summary(er, obligations)
        if self.parts:
            v = pd.concat(self.parts, ignore_index=True)
            order = {r: i for i, r in enumerate(RULES)}
            v["_rule"] = v["rule"].map(order)
            v = v.sort_values(["_rule", "_row"], kind="stable")
            v = v[VIOLATION_COLUMNS].reset_index(drop=True)
        else:
            v = pd.DataFrame({c: pd.Series(dtype=object) for c in VIOLATION_COLUMNS})
        counts = {r: 0 for r in RULES}
        for rule, n in v["rule"].value_counts().items():
            counts[rule] = int(n)
        return VerifyReport(v, counts, obligations, er, summary_er, self.day, len(self.plan))

    # ---- plan file ---------------------------------------------------------------------------------
    def check_plan_rows(self) -> None:
        p, con = self.plan, self.pf.contacts
        a, c, s = self.row_acc, self.row_con, self.row_seat
        self._add(PLAN_ROW, np.flatnonzero(a < 0), "account_id not among the portfolio's accepted accounts")
        self._add(PLAN_ROW, np.flatnonzero(c < 0), "contact_id not among the portfolio's accepted contacts")
        other = (a >= 0) & (c >= 0) & ~self.valid
        self._add(PLAN_ROW, np.flatnonzero(other), "contact belongs to another account")
        known = np.flatnonzero(c >= 0)
        phone = con["phone"].to_numpy(dtype=object)[c[known]]
        bad = known[p["phone"].to_numpy(dtype=object)[known] != phone]
        self._add(PLAN_ROW, bad, "phone is not the contact's number")
        role = con["role"].to_numpy(dtype=object)[c[known]]
        prole = p["role"].to_numpy(dtype=object)[known]
        bad = known[prole != role]
        self._add(
            PLAN_ROW,
            bad,
            [
                f"role '{x}' is not the contact's role '{y}'" if x in ("debtor", "third_party") else f"role is not the contact's role '{y}'"
                for x, y in zip(prole[prole != role], role[prole != role])
            ],
        )
        self._add(PLAN_ROW, np.flatnonzero(s < 0), "seat_id not among the portfolio's accepted seats")
        reason = p["reason"].to_numpy(dtype=object)
        bad = np.flatnonzero(~np.isin(reason, PLAN_REASONS))
        self._add(PLAN_ROW, bad, "reason is not callback, frequency or value")

    def check_slot_grid(self) -> None:
        p = self.plan
        s, e = p["s"].to_numpy(), p["e"].to_numpy()
        slot_ns = self.slot * NS_MIN
        bad = np.flatnonzero(e - s != slot_ns)
        self._add(SLOT_GRID, bad, [f"slot lasts {(x) / NS_MIN:g} min, not {self.slot}" for x in (e - s)[bad]])
        ls = _local_ns(s, self.policy.timezone)
        le = _local_ns(e, self.policy.timezone)
        bad = np.flatnonzero(ls % slot_ns != 0)
        self._add(SLOT_GRID, bad, f"slot start not on the {self.slot}-minute grid of {self.policy.timezone}")
        for col, local, utc, off in (("slot_start", ls, s, p["s_off"].to_numpy()), ("slot_end", le, e, p["e_off"].to_numpy())):
            want = (local - utc) // 10**9
            bad = np.flatnonzero(off != want)
            self._add(
                SLOT_GRID,
                bad,
                [f"{col} offset {_fmt_off(o)} is not {self.policy.timezone}'s {_fmt_off(w)}" for o, w in zip(off[bad], want[bad])],
            )

    def check_seq(self) -> None:
        p = self.plan
        if not len(p):
            return
        seat = pd.factorize(p["seat_id"])[0]
        seq = p["seq"].to_numpy()
        s = p["s"].to_numpy()
        idx = np.arange(len(p))
        order = np.lexsort((idx, seq, seat))
        g, q, t = seat[order], seq[order], s[order]
        start = np.r_[True, g[1:] != g[:-1]]
        first = np.maximum.accumulate(np.where(start, np.arange(len(g)), 0))
        expect = np.arange(len(g)) - first + 1
        bad = q != expect
        self._add(SEQ, order[bad], [f"seq {x} where {y} expected (seq must run 1..n per seat)" for x, y in zip(q[bad], expect[bad])])
        back = np.r_[False, (~start[1:]) & (t[1:] < t[:-1])]
        self._add(SEQ, order[back], "seq not in time order (slot earlier than the previous seq)")

    # ---- never call -------------------------------------------------------------------------------
    def check_never_call(self) -> None:
        acc, con = self.pf.accounts, self.pf.contacts
        vi = self.vi
        a, c = self.row_acc[vi], self.row_con[vi]
        seg = self.acc_seg[a]
        self._add(R.STOP_CONTACT, vi[acc["stop_contact"].to_numpy(dtype=bool)[a]], "case has stop_contact")
        status = acc["status"].to_numpy(dtype=object)
        never = np.zeros(self.n_acc, dtype=bool)
        tp_ok = np.zeros(self.n_acc, dtype=bool)
        scope_acc = np.zeros(len(self.seg_pols), dtype=bool)
        for k, sp in enumerate(self.seg_pols):
            m = self.acc_seg == k
            never[m] = np.isin(status[m], list(sp.never_call_statuses))
            tp_ok[m] = np.isin(status[m], list(sp.third_party_statuses))
            scope_acc[k] = sp.complaint_scope == "account"
        bad = never[a]
        self._add(R.STATUS, vi[bad], [f"status '{x}' is never called" for x in status[a[bad]]])
        self._add(R.DO_NOT_CALL, vi[con["do_not_call"].to_numpy(dtype=bool)[c]], "contact is do_not_call")
        invalid = np.zeros(self.n_con, dtype=bool)
        invalid[self.h_con[self.h_outcome == "invalid_number"]] = True
        self._add(R.INVALID_NUMBER, vi[invalid[c]], "contact has an invalid_number outcome in history")
        comp_con = np.zeros(self.n_con, dtype=bool)
        comp_acc = np.zeros(self.n_acc, dtype=bool)
        m = self.h_outcome == "complaint"
        comp_con[self.h_con[m]] = True
        comp_acc[self.h_acc[m]] = True
        own = comp_con[c]
        case = ~own & comp_acc[a] & scope_acc[seg]
        self._add(R.COMPLAINT, vi[own], "contact has a complaint outcome in history")
        self._add(R.COMPLAINT, vi[case], "case has a complaint outcome in history (complaint scope account)")
        bad = (self.con_role[c] == 1) & ~tp_ok[a]
        self._add(R.THIRD_PARTY, vi[bad], [f"third party of a case with status '{x}'" for x in status[a[bad]]])

    # ---- windows and holidays ------------------------------------------------------------------
    def check_window_holiday(self) -> None:
        if not len(self.ex_row):
            return
        rows, ls, le = self.ex_row, self.ex_ls, self.ex_le
        a = self.row_acc[rows]
        seg = self.acc_seg[a]
        role = self.con_role[self.row_con[rows]]
        day_s = ls // NS_DAY
        day_e = (le - 1) // NS_DAY  # an end at local midnight is 24:00 of the day before
        tod_s = ls - day_s * NS_DAY
        tod_e = le - day_e * NS_DAY
        wd = (day_s + 3) % 7  # 1970-01-01 was a Thursday
        has = self.win_has[seg, role, wd]
        lo, hi = self.win_lo[seg, role, wd], self.win_hi[seg, role, wd]
        ok = (day_s == day_e) & has & (tod_s >= lo) & (tod_e <= hi)
        self._report_per_row(R.WINDOW, ~ok, rows, lambda j: self._window_detail(j, day_s, day_e, tod_s, tod_e, wd, has, lo, hi))
        # holidays: the policy country's public holidays on any local date of the slot
        no_call = np.array([sp.holidays_no_call for sp in self.seg_pols])
        country = np.array([sp.data["country"] for sp in self.seg_pols], dtype=object)
        hol = np.zeros(len(rows), dtype=bool)
        check = no_call[seg]
        if check.any():
            cache: dict = {}
            for days in (day_s, day_e):
                keys = pd.factorize(pd.Series(list(zip(country[seg[check]], days[check]))))
                flags = np.array([self._is_holiday(cache, k[0], k[1]) for k in keys[1]], dtype=bool)
                hol[check] |= flags[keys[0]]
        self._report_per_row(
            R.HOLIDAY,
            hol,
            rows,
            lambda j: f"local date {_date_of(day_s[j])} in {self.ex_zone[j]} is a no-call holiday ({country[seg[j]]})",
        )

    def _is_holiday(self, cache, country, day) -> bool:
        key = (country, int(day))
        if key not in cache:
            cache[key] = self.policy.is_holiday(_date_of(day), country)
        return cache[key]

    def _window_detail(self, j, day_s, day_e, tod_s, tod_e, wd, has, lo, hi) -> str:
        zone = self.ex_zone[j]
        local = f"{_hhmm(int(tod_s[j] // NS_MIN))}-{_hhmm(int(tod_e[j] // NS_MIN))} {WEEKDAY_NAMES[wd[j]]} in {zone}"
        if day_s[j] != day_e[j]:
            return f"local {local} crosses midnight"
        if not has[j]:
            return f"local {local}: no calling window that day"
        return f"local {local} outside window {_hhmm(int(lo[j] // NS_MIN))}-{_hhmm(int(hi[j] // NS_MIN))}"

    def _report_per_row(self, rule: str, bad: np.ndarray, rows: np.ndarray, detail) -> None:
        """One violation per plan row among exploded (row, zone) entries, first failing zone."""
        where = np.flatnonzero(bad)
        if not len(where):
            return
        _, first = np.unique(rows[where], return_index=True)
        picks = where[first]
        self._add(rule, rows[picks], [detail(j) for j in picks])

    # ---- per-contact caps -----------------------------------------------------------------------
    def check_contact_caps(self) -> None:
        vi = self.vi
        if not len(vi):
            return
        c = self.row_con[vi]
        seg = self.acc_seg[self.row_acc[vi]]
        role = self.con_role[c]
        cap = self.cap_day[seg, role]
        day = self.first_day[vi]
        # history of the planned contacts, on their first zone's local date
        planned = np.zeros(self.n_con, dtype=bool)
        planned[c] = True
        hm = planned[self.h_con]
        hc = self.h_con[hm]
        hday = _local_by_zone(self.h_ns[hm], self.con_first_zone[hc]) // NS_DAY
        hist = _DayIndex(hc, hday).count(c, day, day)
        rank = _rank((c, day), (self.plan["s"].to_numpy()[vi], vi))
        bad = (cap > 0) & (hist + rank > cap)
        self._add(
            R.CAP_CONTACT_DAY,
            vi[bad],
            [
                f"attempt {h + r} on local {_date_of(d)} ({h} in history), cap {k}"
                for h, r, d, k in zip(hist[bad], rank[bad], day[bad], cap[bad])
            ],
        )

    def check_rolling_gap(self) -> None:
        vi = self.vi
        if not len(vi):
            return
        p = self.plan
        c = self.row_con[vi]
        planned = np.zeros(self.n_con, dtype=bool)
        planned[c] = True
        hm = planned[self.h_con]
        code = np.r_[c, self.h_con[hm]]
        start = np.r_[p["s"].to_numpy()[vi], self.h_ns[hm]]
        end = np.r_[p["e"].to_numpy()[vi], self.h_ns[hm]]
        row = np.r_[vi, np.full(int(hm.sum()), -1, dtype=np.int64)]
        order = np.lexsort((row, end, start, code))
        code, start, end, row = code[order], start[order], end[order], row[order]
        n = len(code)
        seg = self.acc_seg[self.con_acc[code]]
        role = self.con_role[code]
        is_plan = row >= 0
        pos = np.arange(n)
        # rolling: s(i+M) - e(i) < W with a planned attempt among i..i+M
        W = self.roll_w[seg, role] * NS_MIN
        M = self.roll_m[seg, role]
        j = pos + M
        inside = (W > 0) & (M > 0) & (j < n)
        jj = np.minimum(j, n - 1)
        inside &= code[jj] == code
        last_plan = np.maximum.accumulate(np.where(is_plan, pos, -1))
        lp = last_plan[jj]
        hit = inside & (start[jj] - end < W) & (lp >= pos)
        if hit.any():
            i = np.flatnonzero(hit)
            tgt = row[lp[i]]
            tgt, first = np.unique(tgt, return_index=True)
            i = i[first]
            self._add(
                R.CAP_CONTACT_ROLLING,
                tgt,
                [
                    f"{M[k] + 1} attempts within {(start[jj[k]] - end[k]) / NS_MIN:g} min (at most {M[k]} in any {W[k] // NS_MIN} min)"
                    for k in i
                ],
            )
        # minimum gap: s(j) - e(i) >= g for every pair i before j (sorted by start), which for
        # consecutive pairs is the docs' test and flags the same plans; each broken pair is
        # charged to its later attempt when planned, else to the earlier (planned) one
        if n > 1:
            g = self.gap[seg, role] * NS_MIN
            same = np.r_[False, code[1:] == code[:-1]]
            run_max = pd.Series(end).groupby(code, sort=False).cummax().to_numpy()
            prev_end = np.r_[np.iinfo(np.int64).min // 2, run_max[:-1]]
            diff_later = start - prev_end
            later = is_plan & same & (diff_later < g)
            # a planned attempt followed by a history attempt: the first history event after it
            nxt = np.minimum.accumulate(np.where(~is_plan, pos, n)[::-1])[::-1]
            nh = np.r_[nxt[1:], n]
            nhc = np.minimum(nh, n - 1)
            diff_hist = start[nhc] - end
            earlier = is_plan & ~later & (nh < n) & (code[nhc] == code) & (diff_hist < g)
            k = np.flatnonzero(later | earlier)

            def text(x):
                d = diff_later[x] if later[x] else diff_hist[x]
                what = "an earlier attempt" if later[x] else "a later history attempt"
                if d < 0:
                    return f"overlaps {what} on the same number"
                return f"{d / NS_MIN:g} min between it and {what} on the same number, gap {g[x] // NS_MIN} min"

            self._add(R.MIN_GAP, row[k], [text(x) for x in k])

    # ---- per-account caps ------------------------------------------------------------------------
    def check_account_caps(self) -> None:
        vi = self.vi
        if not len(vi):
            return
        a = self.row_acc[vi]
        seg = self.acc_seg[a]
        day = self.acc_day[vi]
        s = self.plan["s"].to_numpy()[vi]
        per_day = np.array([sp.account_caps["per_day"] for sp in self.seg_pols], dtype=np.int64)[seg]
        per_7 = np.array([sp.account_caps["per_7_days"] for sp in self.seg_pols], dtype=np.int64)[seg]
        cool = np.array([sp.account_caps["cooldown_after_conversation_days"] for sp in self.seg_pols], dtype=np.int64)[seg]
        rank = _rank((a, day), (s, vi))
        hist_day = self.hist_acc_days.count(a, day, day)
        bad = (per_day > 0) & (hist_day + rank > per_day)
        self._add(
            R.CAP_ACCOUNT_DAY,
            vi[bad],
            [f"case attempt {h + r} on account date {_date_of(d)} ({h} in history), cap {k}" for h, r, d, k in zip(hist_day[bad], rank[bad], day[bad], per_day[bad])],
        )
        planned_days = _DayIndex(a, day)
        hist7 = self.hist_acc_days.count(a, day - 6, day)
        plan_before = planned_days.count(a, day - 6, day - 1)
        total = hist7 + plan_before + rank
        bad = (per_7 > 0) & (total > per_7)
        self._add(
            R.CAP_ACCOUNT_7D,
            vi[bad],
            [f"case attempt {t} in the 7 days to {_date_of(d)} ({h} in history), cap {k}" for t, h, d, k in zip(total[bad], hist7[bad], day[bad], per_7[bad])],
        )
        rpc = self.h_outcome == "rpc"
        rpc_days = _DayIndex(self.h_acc[rpc], self.h_acc_day[rpc])
        n_rpc = rpc_days.count(a, day - cool + 1, day)
        bad = (cool > 0) & (n_rpc > 0)
        self._add(
            R.COOLDOWN,
            vi[bad],
            [f"conversation within the {k} cooldown days to account date {_date_of(d)}" for k, d in zip(cool[bad], day[bad])],
        )

    def check_overlap(self) -> None:
        vi = self.vi
        if len(vi) < 2:
            return
        p = self.plan
        a = self.row_acc[vi]
        s, e = p["s"].to_numpy()[vi], p["e"].to_numpy()[vi]
        order = np.lexsort((vi, e, s, a))
        a, s, e, rows = a[order], s[order], e[order], vi[order]
        frame = pd.DataFrame({"a": a, "e": e})
        run_max = frame.groupby("a", sort=False)["e"].cummax().to_numpy()
        prev = np.r_[np.iinfo(np.int64).min, run_max[:-1]]
        same = np.r_[False, a[1:] == a[:-1]]
        bad = same & (s < prev)
        self._add(R.OVERLAP, rows[bad], "case already has an attempt in an overlapping slot")

    # ---- seats --------------------------------------------------------------------------------------
    def _seat_tables(self):
        if hasattr(self, "_seat_cache"):
            return self._seat_cache
        seats = self.pf.seats
        n = len(seats)
        lo = np.zeros(n, dtype=np.int64)
        hi = np.zeros(n, dtype=np.int64)
        b_seat, b_lo, b_hi, b_txt = [], [], [], []
        zone = seats["timezone"].to_numpy(dtype=object)
        for k in range(n):
            z = zone[k]
            lo[k] = _utc_ns_of_local(self.day, _minutes(seats["shift_start"].iat[k]), z)
            hi[k] = _utc_ns_of_local(self.day, _minutes(seats["shift_end"].iat[k]), z)
            breaks = seats["breaks"].iat[k]
            if breaks:
                for part in breaks.split(";"):
                    x, y = part.split("-")
                    b_seat.append(k)
                    b_lo.append(_utc_ns_of_local(self.day, _minutes(x), z))
                    b_hi.append(_utc_ns_of_local(self.day, _minutes(y), z))
                    b_txt.append(part)
        breaks = pd.DataFrame({"seat": np.asarray(b_seat, dtype=np.int64), "blo": np.asarray(b_lo, dtype=np.int64), "bhi": np.asarray(b_hi, dtype=np.int64), "btxt": np.asarray(b_txt, dtype=object)})
        self._seat_cache = (lo, hi, breaks)
        return self._seat_cache

    def _seat_usable(self, seat: np.ndarray, s: np.ndarray, e: np.ndarray):
        """(inactive, outside shift, break text or '') for each (seat, s, e); seat >= 0."""
        lo, hi, breaks = self._seat_tables()
        active = self.pf.seats["active"].to_numpy(dtype=bool)
        inactive = ~active[seat]
        outside = (s < lo[seat]) | (e > hi[seat])
        brk = np.full(len(seat), "", dtype=object)
        if len(breaks) and len(seat):
            q = pd.DataFrame({"seat": seat, "s": s, "e": e, "q": np.arange(len(seat))})
            m = q.merge(breaks, on="seat", how="inner")
            m = m[(m["s"] < m["bhi"]) & (m["blo"] < m["e"])]
            m = m.drop_duplicates("q")
            brk[m["q"].to_numpy(dtype=np.int64)] = m["btxt"].to_numpy(dtype=object)
        return inactive, outside, brk

    def check_seats(self) -> None:
        p = self.plan
        seats = self.pf.seats
        known = np.flatnonzero(self.row_seat >= 0)
        if len(known):
            seat = self.row_seat[known]
            s, e = p["s"].to_numpy()[known], p["e"].to_numpy()[known]
            trip = pd.DataFrame({"seat": seat, "s": s, "e": e})
            codes = trip.groupby(["seat", "s", "e"], sort=False).ngroup().to_numpy()
            u = trip.drop_duplicates().reset_index(drop=True)
            inactive, outside, brk = self._seat_usable(u["seat"].to_numpy(dtype=np.int64), u["s"].to_numpy(dtype=np.int64), u["e"].to_numpy(dtype=np.int64))
            zone = seats["timezone"].to_numpy(dtype=object)
            ss, se = seats["shift_start"].to_numpy(dtype=object), seats["shift_end"].to_numpy(dtype=object)
            self._add(R.SEAT_SHIFT, known[inactive[codes]], "seat is not active")
            bad = outside[codes] & ~inactive[codes]
            self._add(R.SEAT_SHIFT, known[bad], [f"slot outside shift {ss[k]}-{se[k]} ({zone[k]}) on {self.day}" for k in seat[bad]])
            b = brk[codes]
            bad = (b != "") & ~inactive[codes] & ~outside[codes]
            self._add(R.SEAT_SHIFT, known[bad], [f"slot overlaps break {x} ({zone[k]})" for x, k in zip(b[bad], seat[bad])])
            # capacity per (seat, slot start)
            aph = seats["attempts_per_hour"].to_numpy(dtype=float)
            cap = np.floor(aph * self.slot / 60.0 + 1e-9).astype(np.int64)[seat]
            rank = _rank((seat, s), (p["seq"].to_numpy()[known], known))
            bad = rank > cap
            self._add(R.SEAT_CAPACITY, known[bad], [f"attempt {r} in this seat's slot, capacity {k}" for r, k in zip(rank[bad], cap[bad])])
        # eligibility and continuity need the case
        vi = self.vi[self.row_seat[self.vi] >= 0]
        if not len(vi):
            return
        acc = self.pf.accounts
        a, seat = self.row_acc[vi], self.row_seat[vi]
        team = acc["team"].to_numpy(dtype=object)[a]
        seat_team = seats["team"].to_numpy(dtype=object)[seat]
        bad = (team != "") & (team != seat_team)
        self._add(R.SEAT_ELIGIBILITY, vi[bad], [f"case team '{t}' but seat team '{x}'" for t, x in zip(team[bad], seat_team[bad])])
        owner = acc["owner_seat"].to_numpy(dtype=object)[a]
        sid = seats["seat_id"].to_numpy(dtype=object)[seat]
        bad = (owner != "") & (owner != sid)
        self._add(R.SEAT_ELIGIBILITY, vi[bad], [f"case owned by seat '{o}'" for o in owner[bad]])
        skill = acc["required_skill"].to_numpy(dtype=object)[a]
        need = skill != ""
        if need.any():
            skill_sets = [frozenset(x.strip() for x in str(v).split(";") if x.strip()) for v in seats["skills"].to_numpy(dtype=object)]
            pairs = pd.factorize(pd.Series(list(zip(skill[need], seat[need]))))
            has = np.array([sk in skill_sets[st] for sk, st in pairs[1]], dtype=bool)
            lack = np.zeros(len(vi), dtype=bool)
            lack[need] = ~has[pairs[0]]
            self._add(R.SEAT_ELIGIBILITY, vi[lack], [f"seat lacks required skill '{x}'" for x in skill[lack]])
        cont = np.array([sp.continuity for sp in self.seg_pols], dtype=bool)[self.acc_seg[a]]
        if cont.any():
            rows, a2, st = vi[cont], a[cont], seat[cont]
            s = p["s"].to_numpy()[rows]
            order = np.lexsort((rows, p["seq"].to_numpy()[rows], s, a2))
            a2o, sto = a2[order], st[order]
            start = np.r_[True, a2o[1:] != a2o[:-1]]
            first = np.maximum.accumulate(np.where(start, np.arange(len(a2o)), 0))
            bad = sto != sto[first]
            sid = seats["seat_id"].to_numpy(dtype=object)
            self._add(R.CONTINUITY, rows[order][bad], [f"case's first attempt is on seat '{x}'" for x in sid[sto[first][bad]]])

    # ---- expected recovery -------------------------------------------------------------------------
    def check_recovery(self) -> float:
        vi = self.vi
        if not len(vi):
            return 0.0
        con, acc = self.pf.contacts, self.pf.accounts
        c, a = self.row_con[vi], self.row_acc[vi]
        types = ("mobile", "home", "work", "other")
        weight = np.ones((len(types), 24))
        cur = self.pf.curves
        for pt, hr, w in zip(cur["phone_type"].to_numpy(dtype=object), cur["hour"].to_numpy(), cur["weight"].to_numpy(dtype=float)):
            if pt in types:
                weight[types.index(pt), int(hr)] = w
        pt_code = pd.Categorical(con["phone_type"].to_numpy(dtype=object), categories=list(types)).codes.astype(np.int64)
        pt = pt_code[c]
        w = np.where(pt >= 0, weight[np.maximum(pt, 0), self.first_hour[vi]], 1.0)
        p = np.minimum(1.0, con["rpc_rate"].to_numpy(dtype=float)[c] * w)
        q = np.where(self.con_role[c] == 1, self.tp_weight[self.acc_seg[a]] * p, p)
        self.q = q
        given = self.plan["p_contact"].to_numpy(dtype=float)[vi]
        bad = np.abs(given - q) > P_TOL
        self._add(P_CONTACT, vi[bad], [f"p_contact {x:.9g} but recomputed q is {y:.9g}" for x, y in zip(given[bad], q[bad])])
        miss = pd.Series(1.0 - q).groupby(a).prod()
        ids = miss.index.to_numpy(dtype=np.int64)
        value = acc["balance"].to_numpy(dtype=float)[ids] * acc["pay_propensity"].to_numpy(dtype=float)[ids] * (1.0 - miss.to_numpy())
        return float(math.fsum(value))

    # ---- obligations ------------------------------------------------------------------------------
    def compute_obligations(self) -> dict:
        acc = self.pf.accounts
        D = self.D
        status = acc["status"].to_numpy(dtype=object)
        due = np.zeros(self.n_acc, dtype=np.int64)
        codes = np.arange(self.n_acc)
        d = self.day
        week_lo = D - d.weekday()
        month_lo = _day_number(d.replace(day=1))
        nxt = (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        month_hi = _day_number(nxt) - 1
        for k, sp in enumerate(self.seg_pols):
            m_seg = self.acc_seg == k
            for rule in sp.frequency:
                m = m_seg & np.isin(status, rule["statuses"])
                if not m.any():
                    continue
                idx = codes[m]
                if "every_days" in rule:
                    n = rule["every_days"]
                    had = self.hist_acc_days.count(idx, np.full(len(idx), D - n + 1), np.full(len(idx), D - 1))
                    rule_due = (had == 0).astype(np.int64)
                else:
                    lo, hi = (week_lo, week_lo + 6) if rule["period"] == "week" else (month_lo, month_hi)
                    before = self.hist_acc_days.count(idx, np.full(len(idx), lo), np.full(len(idx), D - 1))
                    need = rule["min_attempts"] - before
                    days = sum(1 for x in range(D, hi + 1) if sp.is_callable_day(_date_of(x), "debtor"))
                    rule_due = np.where((need > 0) & (days > 0), -(-need // max(days, 1)), 0)
                due[idx] = np.maximum(due[idx], rule_due)
        today = self.hist_acc_days.count(codes, np.full(self.n_acc, D), np.full(self.n_acc, D))
        planned = np.bincount(self.row_acc[self.vi], minlength=self.n_acc) if self.n_acc else np.zeros(0, dtype=np.int64)
        f_due = due > 0
        f_met = f_due & (today + planned >= due)
        cb_due, cb_met = self._callbacks()
        total_due = int(f_due.sum()) + cb_due
        total_met = int(f_met.sum()) + cb_met
        return {"due": total_due, "met": total_met, "unmet": total_due - total_met}

    def _callbacks(self) -> tuple[int, int]:
        cb = self.pf.callbacks
        if not len(cb):
            return 0, 0
        at = _series_ns(cb["at"])
        local = _local_ns(at, self.policy.timezone)
        on_d = (local // NS_DAY) == self.D
        if not on_d.any():
            return 0, 0
        at, local = at[on_d], local[on_d]
        slot_ns = self.slot * NS_MIN
        s0 = at - (local % slot_ns)
        e0 = s0 + slot_ns
        con = self.con_index.get_indexer(cb["contact_id"].to_numpy(dtype=object)[on_d])
        named = self.seat_index.get_indexer(cb["seat_id"].astype(object).to_numpy()[on_d])
        named = np.where(cb["seat_id"].to_numpy(dtype=object)[on_d] == "", -1, named)
        working = np.zeros(len(at), dtype=bool)
        hasn = named >= 0
        if hasn.any():
            inactive, outside, brk = self._seat_usable(named[hasn], s0[hasn], e0[hasn])
            working[hasn] = ~inactive & ~outside & (brk == "")
        n = len(at)
        vi = self.vi
        rows = pd.DataFrame({"c": self.row_con[vi], "s": self.plan["s"].to_numpy()[vi], "e": self.plan["e"].to_numpy()[vi], "seat": self.row_seat[vi]})
        q = pd.DataFrame({"c": con, "at": at, "named": named, "working": working, "k": np.arange(n)})
        m = q.merge(rows, on="c", how="inner")
        m = m[(m["s"] <= m["at"]) & (m["at"] < m["e"]) & (~m["working"] | (m["seat"] == m["named"]))]
        met = int(m["k"].nunique())
        return n, met

    # ---- summary ------------------------------------------------------------------------------------
    def check_summary(self, er: float, obligations: dict) -> float | None:
        sm = self.summary
        value = sm.get("expected_recovery")
        summary_er = None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            summary_er = float(value)
            if not math.isclose(summary_er, er, rel_tol=ER_REL_TOL, abs_tol=1e-9):
                self._add_free(SUMMARY, f"expected_recovery {summary_er:.9g} but recomputed {er:.9g}")
        else:
            self._add_free(SUMMARY, "expected_recovery missing or not a number")
        attempts = sm.get("attempts")
        if not isinstance(attempts, int) or isinstance(attempts, bool):
            self._add_free(SUMMARY, "attempts missing or not an integer")
        elif attempts != len(self.plan):
            self._add_free(SUMMARY, f"attempts {attempts} but plan.csv has {len(self.plan)} rows")
        ob = sm.get("obligations")
        if not isinstance(ob, dict):
            self._add_free(SUMMARY, "obligations missing or not an object")
        else:
            for key in ("due", "met", "unmet"):
                if ob.get(key) != obligations[key]:
                    self._add_free(SUMMARY, f"obligations.{key} {ob.get(key)} but recomputed {obligations[key]}")
        ub = sm.get("upper_bound")
        if not isinstance(ub, (int, float)) or isinstance(ub, bool) or not math.isfinite(ub):
            self._add_free(SUMMARY, "upper_bound missing or not a number")
        else:
            for name, x in (("recomputed expected_recovery", er), ("summary expected_recovery", summary_er)):
                if x is not None and ub < x - max(1e-9, ER_REL_TOL * abs(x)):
                    self._add_free(SUMMARY, f"upper_bound {ub:.9g} below {name} {x:.9g}")
        return summary_er


def _series_ns(series: pd.Series) -> np.ndarray:
    """UTC nanoseconds of a tz-aware datetime Series."""
    if len(series) == 0:
        return np.zeros(0, dtype=np.int64)
    values = series.dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(values.to_numpy().astype("datetime64[ns]").view(np.int64))


def _fmt_off(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    seconds = abs(int(seconds))
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


__all__ = ["VerifyReport", "verify_plan", "read_plan", "read_summary", "contact_zones", "phone_zones", "RULES"]
