"""Tests of the independent verifier (src/dialplan/verify.py).

For every rule a tiny portfolio is written into tmp_path with a hand-built plan that keeps the
rule and one that breaks it; verify must name the rule for the second and stay silent for the
first. Dates include the US DST switches 2026-03-08 and 2026-11-01, zones include
America/Phoenix (no DST) and contacts abroad.

Expected recoveries in the helper are computed by hand from the fixture (no curves, so
p = rpc_rate, q = p for a debtor and third_party.weight * p for a third party), never by the
verifier itself.
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import json
import math
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialplan.errors import PlanError
from dialplan.verify import RULES, contact_zones, phone_zones, verify_plan

NY_PHONE = "+12125550101"
NY_PHONE2 = "+12125550102"
PHX_PHONE = "+16025550101"
LA_PHONE = "+13105550101"
TOKYO_PHONE = "+81312345678"
PARIS_PHONE = "+33612345678"
TOLL_FREE = "+18002345678"  # libphonenumber: zones of many countries -> ignored
UK_MOBILE = "+447911123456"  # London, Guernsey, Jersey, Isle of Man: four zone.tab countries


# --- fixture builders -------------------------------------------------------------------------


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(v)


def to_toml(data: dict, prefix: str = "") -> str:
    """A minimal TOML writer for policy dicts (tables, arrays of tables, scalars, lists)."""
    scalars, tables, arrays = [], [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            arrays.append((key, value))
        else:
            scalars.append(f"{key} = {_toml_value(value)}")
    out = "\n".join(scalars) + ("\n" if scalars else "")
    for key, value in tables:
        name = f"{prefix}{key}"
        out += f"\n[{name}]\n" + to_toml(value, f"{name}.")
    for key, items in arrays:
        for item in items:
            out += f"\n[[{prefix}{key}]]\n" + to_toml(item, f"{prefix}{key}.")
    return out


def base_policy() -> dict:
    """A US-style test policy with every cap off; tests switch on what they check."""
    off = {"per_day": 0, "rolling": {"minutes": 0, "max": 0}, "min_gap_minutes": 0}
    return {
        "name": "test-us",
        "timezone": "America/New_York",
        "country": "US",
        "slot_minutes": 15,
        "never_call_statuses": ["paused", "closed"],
        "default_attempts_per_hour": 20,
        "window": {"start": "08:00", "end": "21:00", "holidays": "call"},
        "caps": {
            "debtor": dict(off, rolling=dict(off["rolling"])),
            "third_party": dict(off, rolling=dict(off["rolling"])),
            "account": {"per_day": 0, "per_7_days": 0, "cooldown_after_conversation_days": 0},
        },
        "complaint": {"scope": "contact"},
        "third_party": {"allowed_statuses": ["lost_contact"], "weight": 0.5},
        "defaults": {"rpc_rate": {"debtor": 0.1, "third_party": 0.2}},
        "seats": {"continuity": False},
    }


def _write_csv(path: Path, rows: list[dict]) -> None:
    cols: list[str] = []
    for row in rows:
        for k in row:
            if k not in cols:
                cols.append(k)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for row in rows:
            w.writerow(row)


class World:
    """A tiny portfolio plus plan builder. Defaults: policy zone New York, seat S1 in New York
    08:00-21:00 at 20 attempts an hour, account A1 (contactable, balance 1000, propensity 0.2)
    with debtor C1 on a New York number (rpc 0.1)."""

    def __init__(self, tmp_path: Path, date: str = "2026-03-08"):
        self.root = tmp_path / "portfolio"
        self.plan_dir = tmp_path / "plan"
        self.date = date
        self.policy = base_policy()
        self.accounts = {"A1": {"balance": "1000", "status": "contactable", "pay_propensity": "0.2"}}
        self.contacts = {"C1": {"account_id": "A1", "phone": NY_PHONE, "role": "debtor", "rpc_rate": "0.1"}}
        self.seats = {"S1": {"shift_start": "08:00", "shift_end": "21:00", "timezone": "America/New_York", "attempts_per_hour": "20"}}
        self.history: list[dict] = []
        self.callbacks: list[dict] = []
        self.curves: list[dict] = []

    def account(self, aid, **kw):
        base = {"balance": "1000", "status": "contactable", "pay_propensity": "0.2"}
        self.accounts[aid] = {**base, **{k: str(v) for k, v in kw.items()}}

    def contact(self, cid, aid, phone, role="debtor", **kw):
        self.contacts[cid] = {"account_id": aid, "phone": phone, "role": role, "rpc_rate": "0.1", **{k: str(v) for k, v in kw.items()}}

    def seat(self, sid, start="08:00", end="21:00", zone="America/New_York", **kw):
        self.seats[sid] = {"shift_start": start, "shift_end": end, "timezone": zone, "attempts_per_hour": "20", **{k: str(v) for k, v in kw.items()}}

    def hist(self, cid, at, outcome="no_answer"):
        self.history.append({"account_id": self.contacts[cid]["account_id"], "contact_id": cid, "called_at": at, "outcome": outcome})

    def write_portfolio(self):
        self.root.mkdir(exist_ok=True)
        (self.root / "policy.toml").write_text(to_toml(self.policy), encoding="utf-8")
        _write_csv(self.root / "accounts.csv", [{"account_id": k, **v} for k, v in self.accounts.items()])
        _write_csv(self.root / "contacts.csv", [{"contact_id": k, **v} for k, v in self.contacts.items()])
        _write_csv(self.root / "seats.csv", [{"seat_id": k, **v} for k, v in self.seats.items()])
        if self.history:
            _write_csv(self.root / "history.csv", self.history)
        if self.callbacks:
            _write_csv(self.root / "callbacks.csv", self.callbacks)
        if self.curves:
            _write_csv(self.root / "curves.csv", self.curves)

    # --- plan ---------------------------------------------------------------------------------
    def q(self, cid) -> float:
        c = self.contacts[cid]
        p = float(c["rpc_rate"])
        return p if c["role"] == "debtor" else self.policy["third_party"]["weight"] * p

    def att(self, seat, cid, start, minutes=15, **kw) -> dict:
        """One plan row; ``start`` is ISO 8601 with offset; the end keeps the start's offset."""
        s = dt.datetime.fromisoformat(start)
        c = self.contacts[cid]
        row = {
            "seat_id": seat,
            "seq": None,
            "slot_start": s.isoformat(),
            "slot_end": (s + dt.timedelta(minutes=minutes)).isoformat(),
            "account_id": c["account_id"],
            "contact_id": cid,
            "phone": c["phone"],
            "role": c["role"],
            "p_contact": repr(self.q(cid)),
            "reason": "value",
        }
        row.update({k: str(v) for k, v in kw.items()})
        return row

    def hand_er(self, rows) -> float:
        miss: dict[str, float] = {}
        for r in rows:
            aid = self.contacts[r["contact_id"]]["account_id"]
            miss[aid] = miss.get(aid, 1.0) * (1.0 - self.q(r["contact_id"]))
        return sum(float(self.accounts[a]["balance"]) * float(self.accounts[a]["pay_propensity"]) * (1 - m) for a, m in miss.items())

    def write_plan(self, rows, obligations=(0, 0, 0), er=None, **summary):
        self.plan_dir.mkdir(exist_ok=True)
        rows = [dict(r) for r in rows]
        if any(r["seq"] is None for r in rows):
            order = sorted(range(len(rows)), key=lambda i: (rows[i]["seat_id"], dt.datetime.fromisoformat(rows[i]["slot_start"]), i))
            count: dict[str, int] = {}
            for i in order:
                count[rows[i]["seat_id"]] = count.get(rows[i]["seat_id"], 0) + 1
                if rows[i]["seq"] is None:
                    rows[i]["seq"] = count[rows[i]["seat_id"]]
        cols = ["seat_id", "seq", "slot_start", "slot_end", "account_id", "contact_id", "phone", "role", "p_contact", "reason"]
        with (self.plan_dir / "plan.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for r in rows:
                w.writerow({k: r[k] for k in cols})
        er = self.hand_er(rows) if er is None else er
        data = {
            "date": self.date,
            "expected_recovery": er,
            "upper_bound": er + 1.0,
            "attempts": len(rows),
            "obligations": {"due": obligations[0], "met": obligations[1], "unmet": obligations[2]},
        }
        data.update(summary)
        (self.plan_dir / "summary.json").write_text(json.dumps(data), encoding="utf-8")

    def verify(self, rows, **kw):
        self.write_portfolio()
        self.write_plan(rows, **kw)
        return verify_plan(self.root, self.plan_dir)


def only(report, rule):
    """Assert the report's violations are exactly of ``rule`` (at least one)."""
    assert report.counts[rule] > 0, report.render()
    others = {r: n for r, n in report.counts.items() if n and r != rule}
    assert not others, report.render()


def clean(report):
    """Assert the report has no violation at all."""
    assert report.ok, report.render()


# --- API and basics ----------------------------------------------------------------------------


def test_compliant_plan_is_ok_and_counts_every_rule(tmp_path):
    """A one-attempt legal plan is ok; counts list every rule with zero."""
    w = World(tmp_path)
    rep = w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00")])
    clean(rep)
    assert set(rep.counts) == set(RULES)
    assert all(n == 0 for n in rep.counts.values())
    assert rep.obligations == {"due": 0, "met": 0, "unmet": 0}
    assert math.isclose(rep.expected_recovery, 1000 * 0.2 * 0.1, rel_tol=1e-12)


def test_empty_plan_is_ok(tmp_path):
    """A header-only plan.csv is a valid (empty) plan with expected recovery 0."""
    w = World(tmp_path)
    rep = w.verify([], er=0.0)
    clean(rep)
    assert rep.expected_recovery == 0.0
    assert rep.attempts == 0


def test_to_dict_and_render(tmp_path):
    """to_dict is JSON-serialisable; render names each broken rule with examples; details
    never carry a phone number or a balance."""
    w = World(tmp_path)
    w.account("A1", balance="98765.43", pay_propensity="0.2")
    w.contacts["C1"]["do_not_call"] = "true"
    rep = w.verify([w.att("S1", "C1", "2026-03-08T06:00:00-05:00")])
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["ok"] is False and d["counts"]["do_not_call"] == 1 and d["counts"]["window"] == 1
    text = rep.render()
    assert "do_not_call" in text and "window" in text and "FAILED" in text
    blob = text + json.dumps(d["violations"])
    assert NY_PHONE not in blob and NY_PHONE[1:] not in blob
    assert "98765" not in blob


def test_verifier_imports_nothing_from_the_solver_side():
    """verify.py must not import dialplan.solve, dialplan.rules, dialplan.candidates or dialplan.plan."""
    src = Path(__file__).resolve().parents[1] / "src" / "dialplan" / "verify.py"
    tree = ast.parse(src.read_text(encoding="utf-8"))
    banned = ("solve", "rules", "candidates", "plan")
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            parts = mod.split(".")
            if node.level:
                assert not (parts and parts[0] in banned), mod
                assert not (not mod and any(a.name in banned for a in node.names)), ast.dump(node)
            else:
                assert not (parts[0] == "dialplan" and len(parts) > 1 and parts[1] in banned), mod
        if isinstance(node, ast.Import):
            for a in node.names:
                p = a.name.split(".")
                assert not (p[0] == "dialplan" and len(p) > 1 and p[1] in banned), a.name


# --- plan file ----------------------------------------------------------------------------------


def test_plan_row_references(tmp_path):
    """Unknown account, unknown contact, a contact of another case, a wrong phone, a wrong
    role, an unknown seat and a bad reason are each a plan_row violation."""
    w = World(tmp_path)
    w.account("A2")
    w.contact("C2", "A2", NY_PHONE2)
    good = w.att("S1", "C1", "2026-03-08T09:00:00-04:00")
    clean(w.verify([good]))
    bad = [
        dict(good, account_id="A9"),
        dict(good, contact_id="C9", slot_start="2026-03-08T10:00:00-04:00", slot_end="2026-03-08T10:15:00-04:00"),
        dict(w.att("S1", "C2", "2026-03-08T11:00:00-04:00"), account_id="A1"),
        dict(w.att("S1", "C2", "2026-03-08T12:00:00-04:00"), phone=NY_PHONE),
        dict(w.att("S1", "C2", "2026-03-08T13:00:00-04:00"), role="third_party"),
        dict(w.att("S1", "C2", "2026-03-08T14:00:00-04:00"), seat_id="S9"),
        dict(w.att("S1", "C2", "2026-03-08T15:00:00-04:00"), reason="because"),
    ]
    for r in bad:
        r["seq"] = None
    rep = w.verify(bad, er=0.0)
    v = rep.violations
    assert rep.counts["plan_row"] == 7, rep.render()
    details = " ".join(v["detail"])
    for word in ("account_id", "contact_id", "another account", "phone", "role", "seat_id", "reason"):
        assert word in details


def test_slot_grid_length_alignment_and_offset(tmp_path):
    """A 20-minute slot, a slot at 09:05 and a slot written with the wrong UTC offset (EST on
    the first EDT day) break slot_grid; a 15-minute aligned EDT slot keeps it."""
    w = World(tmp_path)
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:15:00-04:00")]))
    only(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00", minutes=20)]), "slot_grid")
    only(w.verify([w.att("S1", "C1", "2026-03-08T09:05:00-04:00")]), "slot_grid")
    # 10:00-05:00 is 11:00 EDT: same instant grid-wise, but not the policy zone's offset
    only(w.verify([w.att("S1", "C1", "2026-03-08T10:00:00-05:00")]), "slot_grid")


def test_slot_grid_half_hour_policy_zone(tmp_path):
    """With policy zone Asia/Kolkata (+05:30) the grid is aligned to Kolkata's hour: 09:30+05:30
    is on it, 09:40+05:30 (aligned in UTC only) is not."""
    w = World(tmp_path, date="2026-11-02")
    w.policy["timezone"] = "Asia/Kolkata"
    w.policy["country"] = "IN"
    w.contacts["C1"]["timezone"] = "Asia/Kolkata"
    w.seat("S1", zone="Asia/Kolkata")
    clean(w.verify([w.att("S1", "C1", "2026-11-02T09:30:00+05:30")]))
    only(w.verify([w.att("S1", "C1", "2026-11-02T09:40:00+05:30")]), "slot_grid")


def test_seq_order(tmp_path):
    """seq must run 1..n per seat in time order: swapped, repeated or gapped seq break it."""
    w = World(tmp_path)
    a = w.att("S1", "C1", "2026-03-08T09:00:00-04:00")
    b = w.att("S1", "C1", "2026-03-08T12:00:00-04:00")
    clean(w.verify([dict(a, seq=1), dict(b, seq=2)]))
    only(w.verify([dict(a, seq=2), dict(b, seq=1)]), "seq")
    only(w.verify([dict(a, seq=1), dict(b, seq=1)]), "seq")
    only(w.verify([dict(a, seq=1), dict(b, seq=3)]), "seq")


# --- never call ------------------------------------------------------------------------------------


def test_stop_contact(tmp_path):
    """An attempt on a case with stop_contact breaks stop_contact."""
    w = World(tmp_path)
    rows = [w.att("S1", "C1", "2026-03-08T09:00:00-04:00")]
    w.accounts["A1"]["stop_contact"] = "false"
    clean(w.verify(rows))
    w.accounts["A1"]["stop_contact"] = "yes"
    only(w.verify(rows), "stop_contact")


def test_status_never_call(tmp_path):
    """A case whose status is in never_call_statuses breaks status."""
    w = World(tmp_path)
    rows = [w.att("S1", "C1", "2026-03-08T09:00:00-04:00")]
    w.accounts["A1"]["status"] = "ptp"
    clean(w.verify(rows))
    w.accounts["A1"]["status"] = "paused"
    only(w.verify(rows), "status")


def test_do_not_call(tmp_path):
    """A do_not_call contact breaks do_not_call."""
    w = World(tmp_path)
    rows = [w.att("S1", "C1", "2026-03-08T09:00:00-04:00")]
    w.contacts["C1"]["do_not_call"] = "0"
    clean(w.verify(rows))
    w.contacts["C1"]["do_not_call"] = "TRUE"
    only(w.verify(rows), "do_not_call")


def test_invalid_number(tmp_path):
    """A contact with an invalid_number outcome breaks invalid_number; another contact of the
    same case does not."""
    w = World(tmp_path)
    w.contact("C2", "A1", NY_PHONE2)
    w.hist("C2", "2026-03-01T10:00:00-05:00", "invalid_number")
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00")]))
    only(w.verify([w.att("S1", "C2", "2026-03-08T09:00:00-04:00")]), "invalid_number")


def test_complaint_contact_and_account_scope(tmp_path):
    """A complaint blocks its contact; with complaint.scope = account it blocks the whole case."""
    w = World(tmp_path)
    w.contact("C2", "A1", NY_PHONE2)
    w.hist("C2", "2026-03-01T10:00:00-05:00", "complaint")
    rows_c1 = [w.att("S1", "C1", "2026-03-08T09:00:00-04:00")]
    clean(w.verify(rows_c1))
    only(w.verify([w.att("S1", "C2", "2026-03-08T09:00:00-04:00")]), "complaint")
    w.policy["complaint"]["scope"] = "account"
    only(w.verify(rows_c1), "complaint")


def test_third_party_status(tmp_path):
    """A third party may be called only when the case status is in third_party.allowed_statuses."""
    w = World(tmp_path)
    w.contact("T1", "A1", NY_PHONE2, role="third_party")
    rows = [w.att("S1", "T1", "2026-03-08T09:00:00-04:00")]
    only(w.verify(rows), "third_party")  # A1 is contactable
    w.accounts["A1"]["status"] = "lost_contact"
    clean(w.verify(rows))


# --- windows, zones and holidays -------------------------------------------------------------------


def test_window_edges_new_york_dst_start(tmp_path):
    """On 2026-03-08 (EDT from 02:00) a New York debtor may be called 08:00-21:00 EDT: 08:00
    and 20:45 slots keep the window, 07:45 and 21:00 break it."""
    w = World(tmp_path)
    clean(w.verify([w.att("S1", "C1", "2026-03-08T08:00:00-04:00"), w.att("S1", "C1", "2026-03-08T20:45:00-04:00")]))
    w.seat("S1", start="07:00", end="22:00")
    only(w.verify([w.att("S1", "C1", "2026-03-08T07:45:00-04:00")]), "window")
    only(w.verify([w.att("S1", "C1", "2026-03-08T21:00:00-04:00")]), "window")


def test_window_phoenix_phone_plus_account_zone(tmp_path):
    """A Phoenix number of a case located in New York resolves to both zones; on the DST date
    10:45 EDT is 07:45 MST in Phoenix (window broken), 11:00 EDT is 08:00 MST (kept)."""
    w = World(tmp_path)
    w.accounts["A1"]["timezone"] = "America/New_York"
    w.contacts["C1"]["phone"] = PHX_PHONE
    assert contact_zones("", PHX_PHONE, "America/New_York", "America/New_York") == ("America/Phoenix", "America/New_York")
    clean(w.verify([w.att("S1", "C1", "2026-03-08T11:00:00-04:00")]))
    rep = w.verify([w.att("S1", "C1", "2026-03-08T10:45:00-04:00")])
    only(rep, "window")
    assert "America/Phoenix" in rep.violations["detail"].iloc[0]
    # the late end in New York: 20:45 EDT is 17:45 MST, fine in both
    clean(w.verify([w.att("S1", "C1", "2026-03-08T20:45:00-04:00")]))


def test_window_dst_end_day(tmp_path):
    """On 2026-11-01 (EST from 02:00 EDT) 08:00 EST is 13:00 UTC: legal for New York, 06:00 in
    Phoenix; a Los Angeles number must wait for 11:00 EST (08:00 PST)."""
    w = World(tmp_path, date="2026-11-01")
    w.contact("C2", "A1", PHX_PHONE)
    w.account("A3")
    w.contact("C3", "A3", LA_PHONE)
    clean(w.verify([w.att("S1", "C1", "2026-11-01T08:00:00-05:00")]))
    only(w.verify([w.att("S1", "C2", "2026-11-01T08:00:00-05:00")]), "window")
    only(w.verify([w.att("S1", "C3", "2026-11-01T10:45:00-05:00")]), "window")
    clean(w.verify([w.att("S1", "C3", "2026-11-01T11:00:00-05:00")]))
    # Phoenix 20:45 EST = 18:45 MST: fine; New York 21:00 EST: too late
    w.seat("S1", start="07:00", end="22:00")
    clean(w.verify([w.att("S1", "C2", "2026-11-01T20:45:00-05:00")]))
    only(w.verify([w.att("S1", "C1", "2026-11-01T21:00:00-05:00")]), "window")


def test_window_contact_abroad_by_phone(tmp_path):
    """A Paris number (CET, +1 on 2026-03-08) of a US case: 14:45-15:00 EDT is 19:45-20:00 in
    Paris (kept); 16:00 EDT is 21:00 in Paris (broken)."""
    w = World(tmp_path)
    w.contacts["C1"]["phone"] = PARIS_PHONE
    clean(w.verify([w.att("S1", "C1", "2026-03-08T14:45:00-04:00")]))
    rep = w.verify([w.att("S1", "C1", "2026-03-08T16:00:00-04:00")])
    only(rep, "window")
    assert "Europe/Paris" in rep.violations["detail"].iloc[0]


def test_window_contact_timezone_column_is_authoritative(tmp_path):
    """A contact timezone column (| separated) beats the phone: a New York number marked
    Asia/Tokyo|America/New_York is legal only when both windows hold (never on this day at
    09:00 EDT, which is 22:00 JST)."""
    w = World(tmp_path)
    w.contacts["C1"]["timezone"] = "Asia/Tokyo|America/New_York"
    rep = w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00")])
    only(rep, "window")
    assert "Asia/Tokyo" in rep.violations["detail"].iloc[0]
    w.contacts["C1"]["timezone"] = "America/Chicago"
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00")]))
    only(w.verify([w.att("S1", "C1", "2026-03-08T08:45:00-04:00")]), "window")  # 07:45 CDT


def test_window_multi_country_phone_falls_back_to_account_zone(tmp_path):
    """A toll-free +1 800 number maps to zones of many countries, so it adds none: only the
    account's Los Angeles zone applies (12:00 EDT = 09:00 PDT legal; Honolulu would not be)."""
    assert phone_zones(TOLL_FREE) == ()
    w = World(tmp_path)
    w.accounts["A1"]["timezone"] = "America/Los_Angeles"
    w.contacts["C1"]["phone"] = TOLL_FREE
    clean(w.verify([w.att("S1", "C1", "2026-03-08T12:00:00-04:00")]))
    only(w.verify([w.att("S1", "C1", "2026-03-08T10:45:00-04:00")]), "window")


def test_zone_resolution_fallbacks():
    """Zone resolution order: contact column; else phone zones + account zone; else policy."""
    assert contact_zones("Asia/Tokyo", NY_PHONE, "Europe/Paris", "UTC") == ("Asia/Tokyo",)
    assert contact_zones("", NY_PHONE, "", "UTC") == ("America/New_York",)
    assert contact_zones("", TOLL_FREE, "", "Asia/Shanghai") == ("Asia/Shanghai",)
    assert contact_zones("", TOLL_FREE, "Europe/Paris", "Asia/Shanghai") == ("Europe/Paris",)
    assert contact_zones("", NY_PHONE, "America/New_York", "UTC") == ("America/New_York",)
    assert phone_zones("+19075550101") == ("America/Adak", "America/Anchorage")  # one country
    # zone.tab gives London, Guernsey, Jersey and Isle of Man four country codes
    assert phone_zones(UK_MOBILE) == ()


def test_window_weekday_none_and_third_party_table(tmp_path):
    """A weekday marked none has no window (2026-03-08 is a Sunday); the third-party table
    narrows the window for third parties only."""
    w = World(tmp_path)
    rows = [w.att("S1", "C1", "2026-03-08T12:00:00-04:00")]
    w.policy["window"]["sun"] = "none"
    only(w.verify(rows), "window")
    del w.policy["window"]["sun"]
    w.policy["window"]["third_party"] = {"start": "10:00", "end": "18:00"}
    w.accounts["A1"]["status"] = "lost_contact"
    w.contact("T1", "A1", NY_PHONE2, role="third_party")
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "T1", "2026-03-08T10:00:00-04:00")]))
    only(w.verify([w.att("S1", "T1", "2026-03-08T09:45:00-04:00")]), "window")
    only(w.verify([w.att("S1", "T1", "2026-03-08T18:00:00-04:00")]), "window")


def test_window_slot_ending_at_midnight_counts_as_24_00(tmp_path):
    """With a window to 24:00 a slot ending at local midnight keeps it (the end is 24:00 of the
    slot's date): 23:45-00:00 EDT in New York, 14:15-14:30 EDT = 23:45-00:00 IST in Kolkata.
    With 60-minute slots, 14:00-15:00 EDT is 23:30-00:30 IST: it crosses local midnight."""
    w = World(tmp_path)
    w.policy["window"] = {"start": "00:00", "end": "24:00", "holidays": "call"}
    w.seat("S1", start="00:00", end="24:00")
    clean(w.verify([w.att("S1", "C1", "2026-03-08T23:45:00-04:00")]))
    w.contacts["C1"]["timezone"] = "Asia/Kolkata"
    clean(w.verify([w.att("S1", "C1", "2026-03-08T14:15:00-04:00")]))
    w.policy["slot_minutes"] = 60
    rep = w.verify([w.att("S1", "C1", "2026-03-08T14:00:00-04:00", minutes=60)])
    only(rep, "window")
    assert "midnight" in rep.violations["detail"].iloc[0]


def test_holiday_on_local_date_of_contact_abroad(tmp_path):
    """With holidays = no_call, 20:00 EST on 2026-12-31 is New Year's Day 10:00 in Tokyo: a US
    holiday on the contact's local date breaks holiday; the New York contact is fine."""
    w = World(tmp_path, date="2026-12-31")
    w.policy["window"]["holidays"] = "no_call"
    w.account("A2")
    w.contact("C2", "A2", TOKYO_PHONE)
    clean(w.verify([w.att("S1", "C1", "2026-12-31T20:00:00-05:00")]))
    rep = w.verify([w.att("S1", "C2", "2026-12-31T20:00:00-05:00")])
    only(rep, "holiday")
    assert "2027-01-01" in rep.violations["detail"].iloc[0]
    w.policy["window"]["holidays"] = "call"
    clean(w.verify([w.att("S1", "C2", "2026-12-31T20:00:00-05:00")]))


def test_holiday_in_policy_zone(tmp_path):
    """Thanksgiving 2026-11-26 with holidays = no_call: any attempt breaks holiday."""
    w = World(tmp_path, date="2026-11-26")
    w.policy["window"]["holidays"] = "no_call"
    only(w.verify([w.att("S1", "C1", "2026-11-26T10:00:00-05:00")]), "holiday")


# --- contact caps ---------------------------------------------------------------------------------


def test_cap_contact_day_with_history_on_local_date(tmp_path):
    """Debtor per_day = 2: one history attempt on the contact's local date plus two planned
    breaks the cap; history of the day before does not count. A Phoenix contact's local date
    decides: 01:30 MST on 03-08 is 2026-03-08 08:30 UTC and counts."""
    w = World(tmp_path)
    w.policy["caps"]["debtor"]["per_day"] = 2
    w.contacts["C1"]["phone"] = PHX_PHONE
    rows = [w.att("S1", "C1", "2026-03-08T12:00:00-04:00"), w.att("S1", "C1", "2026-03-08T14:00:00-04:00")]
    w.hist("C1", "2026-03-07T23:30:00-07:00")  # Phoenix 03-07
    clean(w.verify(rows))
    w.hist("C1", "2026-03-08T01:30:00-07:00")  # Phoenix 03-08
    rep = w.verify(rows)
    only(rep, "cap_contact_day")
    assert rep.counts["cap_contact_day"] == 1
    assert rep.violations["slot_start"].iloc[0].startswith("2026-03-08T14:00")


def test_cap_contact_day_by_role(tmp_path):
    """Third-party per_day = 1: a second planned third-party attempt breaks it; debtors uncapped."""
    w = World(tmp_path)
    w.policy["caps"]["third_party"]["per_day"] = 1
    w.accounts["A1"]["status"] = "lost_contact"
    w.contact("T1", "A1", NY_PHONE2, role="third_party")
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "C1", "2026-03-08T11:00:00-04:00"), w.att("S1", "T1", "2026-03-08T13:00:00-04:00")]))
    only(w.verify([w.att("S1", "T1", "2026-03-08T09:00:00-04:00"), w.att("S1", "T1", "2026-03-08T13:00:00-04:00")]), "cap_contact_day")


def test_cap_contact_rolling_planned_and_history(tmp_path):
    """Rolling 60 minutes, max 1: slots 09:00 and 10:15 keep it (10:15 - 09:15 = 60), 09:00 and
    10:00 break it (45); a history point at 08:15 and a 09:15 slot are exactly 60 apart (kept),
    at 08:20 they are 55 apart (broken)."""
    w = World(tmp_path)
    w.policy["caps"]["debtor"]["rolling"] = {"minutes": 60, "max": 1}
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "C1", "2026-03-08T10:15:00-04:00")]))
    only(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "C1", "2026-03-08T10:00:00-04:00")]), "cap_contact_rolling")
    w.hist("C1", "2026-03-08T08:15:00-04:00")
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:15:00-04:00")]))
    w.history[0]["called_at"] = "2026-03-08T08:20:00-04:00"
    only(w.verify([w.att("S1", "C1", "2026-03-08T09:15:00-04:00")]), "cap_contact_rolling")


def test_cap_contact_rolling_max_two(tmp_path):
    """Rolling 60 minutes, max 2: three attempts at 09:00, 09:30, 10:15 keep it (10:15 - 09:15
    = 60); at 09:00, 09:30, 10:00 they break it; history alone never counts against the plan."""
    w = World(tmp_path)
    w.policy["caps"]["debtor"]["rolling"] = {"minutes": 60, "max": 2}
    t = lambda hm: w.att("S1", "C1", f"2026-03-08T{hm}:00-04:00")  # noqa: E731
    clean(w.verify([t("09:00"), t("09:30"), t("10:15")]))
    rep = w.verify([t("09:00"), t("09:30"), t("10:00")])
    only(rep, "cap_contact_rolling")
    assert rep.counts["cap_contact_rolling"] == 1
    for hm in ("06:00", "06:10", "06:20"):
        w.hist("C1", f"2026-03-08T{hm}:00-04:00")
    clean(w.verify([t("12:00")]))


def test_min_gap(tmp_path):
    """min_gap_minutes = 60: history at 08:00 and a 09:00 slot keep it; an 08:45 slot breaks
    it; two planned slots 09:00 and 10:15 keep it (10:15 - 09:15 = 60), 09:00 and 10:00 break it."""
    w = World(tmp_path)
    w.policy["caps"]["debtor"]["min_gap_minutes"] = 60
    w.hist("C1", "2026-03-08T08:00:00-04:00")
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "C1", "2026-03-08T10:15:00-04:00")]))
    only(w.verify([w.att("S1", "C1", "2026-03-08T08:45:00-04:00")]), "min_gap")
    only(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "C1", "2026-03-08T10:00:00-04:00")]), "min_gap")


def test_min_gap_zero_forbids_overlap_on_one_number(tmp_path):
    """With gap 0, two seats dialling the same number in the same slot break min_gap, as does
    a history call inside a planned slot; back-to-back slots keep it."""
    w = World(tmp_path)
    w.seat("S2")
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "C1", "2026-03-08T09:15:00-04:00")]))
    rep = w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S2", "C1", "2026-03-08T09:00:00-04:00")])
    assert rep.counts["min_gap"] == 1 and rep.counts["overlap"] == 1, rep.render()
    w.hist("C1", "2026-03-08T09:05:00-04:00")
    only(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00")]), "min_gap")


# --- account caps ------------------------------------------------------------------------------------


def test_cap_account_day_in_account_zone(tmp_path):
    """Account per_day = 2 over all numbers of the case, counted on the account's date: a
    Honolulu case with a history call at 20:00 HST on 03-07 (06:00 UTC 03-08, i.e. 01:00 EST
    on 03-08) counts on 03-07 and does not, one at 08:00 HST on 03-08 does."""
    w = World(tmp_path)
    w.policy["caps"]["account"]["per_day"] = 2
    w.accounts["A1"]["timezone"] = "Pacific/Honolulu"
    w.contacts["C1"]["timezone"] = "America/New_York"
    w.contact("C2", "A1", NY_PHONE2, timezone="America/New_York")
    rows = [w.att("S1", "C1", "2026-03-08T15:00:00-04:00"), w.att("S1", "C2", "2026-03-08T16:00:00-04:00")]
    w.hist("C1", "2026-03-07T20:00:00-10:00")
    clean(w.verify(rows))
    w.hist("C2", "2026-03-08T08:00:00-10:00")
    rep = w.verify(rows)
    only(rep, "cap_account_day")
    assert rep.violations["contact_id"].iloc[0] == "C2"


def test_cap_account_7d(tmp_path):
    """per_7_days = 3: history on D-6 and D-1 plus one planned is fine; plus two planned
    breaks it; history on D-7 is outside the seven days."""
    w = World(tmp_path)
    w.policy["caps"]["account"]["per_7_days"] = 3
    w.hist("C1", "2026-03-01T10:00:00-05:00")  # D-7
    w.hist("C1", "2026-03-02T10:00:00-05:00")  # D-6
    w.hist("C1", "2026-03-07T10:00:00-05:00")  # D-1
    clean(w.verify([w.att("S1", "C1", "2026-03-08T10:00:00-04:00")]))
    rep = w.verify([w.att("S1", "C1", "2026-03-08T10:00:00-04:00"), w.att("S1", "C1", "2026-03-08T12:00:00-04:00")])
    only(rep, "cap_account_7d")
    assert rep.violations["slot_start"].iloc[0].startswith("2026-03-08T12:00")


def test_cooldown_after_conversation(tmp_path):
    """cooldown 7 days: an rpc on D-6 blocks D (conversation day is day 1); one on D-7 does
    not; an rpc earlier on D blocks the rest of D."""
    w = World(tmp_path)
    w.policy["caps"]["account"]["cooldown_after_conversation_days"] = 7
    rows = [w.att("S1", "C1", "2026-03-08T15:00:00-04:00")]
    w.hist("C1", "2026-03-01T10:00:00-05:00", "rpc")
    clean(w.verify(rows))
    w.history[0]["called_at"] = "2026-03-02T10:00:00-05:00"
    only(w.verify(rows), "cooldown")
    w.history[0]["called_at"] = "2026-03-08T09:00:00-04:00"
    only(w.verify(rows), "cooldown")
    w.history[0]["outcome"] = "no_answer"
    clean(w.verify(rows))


def test_overlap_one_attempt_per_case_at_a_time(tmp_path):
    """Two numbers of one case in the same slot on two seats break overlap; consecutive
    slots do not."""
    w = World(tmp_path)
    w.seat("S2")
    w.contact("C2", "A1", NY_PHONE2)
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S2", "C2", "2026-03-08T09:15:00-04:00")]))
    only(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S2", "C2", "2026-03-08T09:00:00-04:00")]), "overlap")


def test_segment_policy_applies_per_account(tmp_path):
    """A segment override (per_day = 1 for MA) applies to MA cases only."""
    w = World(tmp_path)
    w.policy["segments"] = {"MA": {"caps": {"account": {"per_day": 1}}}}
    w.account("A2", segment="MA")
    w.contact("C2", "A2", NY_PHONE2)
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "C1", "2026-03-08T10:00:00-04:00")]))
    only(w.verify([w.att("S1", "C2", "2026-03-08T09:00:00-04:00"), w.att("S1", "C2", "2026-03-08T10:00:00-04:00")]), "cap_account_day")


# --- seats ----------------------------------------------------------------------------------------------


def test_seat_shift_in_seat_zone_on_dst_day(tmp_path):
    """A Phoenix seat working 06:00-12:00 MST on 2026-03-08 covers 09:00-15:00 EDT: 14:45 is
    inside, 15:00 and 08:45 are not."""
    w = World(tmp_path)
    w.seat("S2", start="06:00", end="12:00", zone="America/Phoenix")
    clean(w.verify([w.att("S2", "C1", "2026-03-08T14:45:00-04:00"), w.att("S2", "C1", "2026-03-08T09:00:00-04:00")]))
    only(w.verify([w.att("S2", "C1", "2026-03-08T15:00:00-04:00")]), "seat_shift")
    only(w.verify([w.att("S2", "C1", "2026-03-08T08:45:00-04:00")]), "seat_shift")


def test_seat_shift_breaks_and_inactive(tmp_path):
    """A slot touching a break (12:00-12:30) or on an inactive seat breaks seat_shift."""
    w = World(tmp_path)
    w.seats["S1"]["breaks"] = "12:00-12:30;15:00-15:10"
    clean(w.verify([w.att("S1", "C1", "2026-03-08T11:45:00-04:00"), w.att("S1", "C1", "2026-03-08T12:30:00-04:00")]))
    only(w.verify([w.att("S1", "C1", "2026-03-08T12:15:00-04:00")]), "seat_shift")
    only(w.verify([w.att("S1", "C1", "2026-03-08T15:00:00-04:00")]), "seat_shift")
    w.seats["S1"]["active"] = "no"
    only(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00")]), "seat_shift")


def test_seat_capacity(tmp_path):
    """attempts_per_hour 6 gives floor(6 * 15 / 60) = 1 per slot: two different cases in one
    (seat, slot) break seat_capacity; 8 per hour gives 2 and keeps it."""
    w = World(tmp_path)
    w.account("A2")
    w.contact("C2", "A2", NY_PHONE2)
    rows = [w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "C2", "2026-03-08T09:00:00-04:00")]
    w.seats["S1"]["attempts_per_hour"] = "8"
    clean(w.verify(rows))
    w.seats["S1"]["attempts_per_hour"] = "6"
    rep = w.verify(rows)
    only(rep, "seat_capacity")
    assert rep.counts["seat_capacity"] == 1


def test_seat_eligibility_team_owner_skill(tmp_path):
    """team, owner_seat and required_skill restrict the seats that may call a case."""
    w = World(tmp_path)
    w.seat("S2", team="north", skills="legal; spanish")
    w.seats["S1"]["team"] = "south"
    rows_s2 = [w.att("S2", "C1", "2026-03-08T09:00:00-04:00")]
    rows_s1 = [w.att("S1", "C1", "2026-03-08T09:00:00-04:00")]
    w.accounts["A1"].update(team="north", owner_seat="S2", required_skill="spanish")
    clean(w.verify(rows_s2))
    rep = w.verify(rows_s1)
    only(rep, "seat_eligibility")
    assert rep.counts["seat_eligibility"] == 3
    w.accounts["A1"].update(team="", owner_seat="", required_skill="french")
    only(w.verify(rows_s2), "seat_eligibility")


def test_continuity(tmp_path):
    """With seats.continuity = true a case's attempts go to one seat; a segment may turn it off."""
    w = World(tmp_path)
    w.seat("S2")
    w.policy["seats"]["continuity"] = True
    rows = [w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S2", "C1", "2026-03-08T11:00:00-04:00")]
    rep = w.verify(rows)
    only(rep, "continuity")
    assert rep.violations["seat_id"].iloc[0] == "S2"
    clean(w.verify([w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "C1", "2026-03-08T11:00:00-04:00")]))
    w.policy["segments"] = {"free": {"seats": {"continuity": False}}}
    w.accounts["A1"]["segment"] = "free"
    clean(w.verify(rows))


# --- figures -----------------------------------------------------------------------------------------------


def test_p_contact(tmp_path):
    """p_contact must equal the recomputed q within 1e-6 (third party: weight * rpc)."""
    w = World(tmp_path)
    w.accounts["A1"]["status"] = "lost_contact"
    w.contact("T1", "A1", NY_PHONE2, role="third_party", rpc_rate="0.3")
    rows = [w.att("S1", "T1", "2026-03-08T09:00:00-04:00")]
    assert rows[0]["p_contact"] == repr(0.15)
    clean(w.verify(rows))
    clean(w.verify([dict(rows[0], p_contact="0.1500005")]))
    only(w.verify([dict(rows[0], p_contact="0.3")]), "p_contact")


def test_expected_recovery_by_hand_with_curves(tmp_path):
    """Expected recovery recomputed to 1e-9 relative with curves, a third party, a capped p and
    a phone_type without curve rows:
    A1 (1000, 0.3): debtor mobile rpc 0.2 at 09:00 NY, curve mobile/9 = 1.2 -> q = 0.24;
       third party rpc 0.4 on a Los Angeles number at 10:00 EDT = 07:00 PDT, no curve row for
       home/7 -> p = 0.4, q = 0.5 * 0.4 = 0.2. E = 300 * (1 - 0.76 * 0.8) = 117.6
    A2 (500, 0.5): debtor mobile rpc 0.9 at 09:00, 0.9 * 1.2 capped at 1 -> E = 250
    A3 (200, 0.1): debtor work rpc 0.5 on a Tokyo number; 01:00 EST (before the switch) is
       15:00 JST, curve work/15 = 0 -> q = 0; 14:00 EDT is 03:00 JST, no curve row -> q = 0.5;
       E = 20 * (1 - 1 * 0.5) = 10.
    Total 377.6."""
    w = World(tmp_path)
    w.policy["window"] = {"start": "00:00", "end": "24:00", "holidays": "call"}
    w.seat("S1", start="00:00", end="24:00")
    w.account("A1", balance="1000", pay_propensity="0.3", status="lost_contact")
    w.contacts["C1"].update(rpc_rate="0.2", phone_type="mobile")
    w.contact("T1", "A1", LA_PHONE, role="third_party", rpc_rate="0.4", phone_type="home")
    w.account("A2", balance="500", pay_propensity="0.5")
    w.contact("C2", "A2", NY_PHONE2, rpc_rate="0.9")
    w.account("A3", balance="200", pay_propensity="0.1")
    w.contact("C3", "A3", TOKYO_PHONE, rpc_rate="0.5", phone_type="work")
    w.curves = [
        {"phone_type": "mobile", "hour": "9", "weight": "1.2"},
        {"phone_type": "work", "hour": "15", "weight": "0"},
        {"phone_type": "home", "hour": "10", "weight": "5"},
    ]
    rows = [
        w.att("S1", "C1", "2026-03-08T09:00:00-04:00", p_contact="0.24"),
        w.att("S1", "T1", "2026-03-08T10:00:00-04:00", p_contact="0.2"),
        w.att("S1", "C2", "2026-03-08T09:00:00-04:00", p_contact="1"),
        w.att("S1", "C3", "2026-03-08T01:00:00-05:00", p_contact="0"),
        w.att("S1", "C3", "2026-03-08T14:00:00-04:00", p_contact="0.5"),
    ]
    expected = 1000 * 0.3 * (1 - (1 - 0.24) * (1 - 0.2)) + 500 * 0.5 * 1.0 + 200 * 0.1 * (1 - 1.0 * 0.5)
    assert math.isclose(expected, 377.6, rel_tol=1e-12)
    rep = w.verify(rows, er=377.6)
    clean(rep)
    assert math.isclose(rep.expected_recovery, 377.6, rel_tol=1e-9)
    assert rep.summary_expected_recovery == 377.6


def test_summary_expected_recovery_attempts_and_bound(tmp_path):
    """summary.json must match the recomputation: expected_recovery (relative 1e-6), attempts,
    and an upper_bound not below the expected recovery."""
    w = World(tmp_path)
    rows = [w.att("S1", "C1", "2026-03-08T09:00:00-04:00")]  # E = 20
    clean(w.verify(rows, er=20.0 * (1 + 5e-7)))
    rep = w.verify(rows, er=20.1)
    only(rep, "summary")
    assert "expected_recovery" in rep.violations["detail"].iloc[0]
    only(w.verify(rows, attempts=2), "summary")
    only(w.verify(rows, upper_bound=19.0), "summary")
    w.write_plan(rows)
    data = json.loads((w.plan_dir / "summary.json").read_text())
    del data["expected_recovery"]
    (w.plan_dir / "summary.json").write_text(json.dumps(data))
    rep = verify_plan(w.root, w.plan_dir)
    only(rep, "summary")
    assert rep.summary_expected_recovery is None


# --- obligations ------------------------------------------------------------------------------------------


def test_obligations_week_rule_with_callable_days(tmp_path):
    """min_attempts 5 a week on Wednesday 2026-11-04 with one attempt on Monday: need 4 over
    Wed..Sun (5 callable days) -> due 1; with sat/sun none only 3 days -> due 2."""
    w = World(tmp_path, date="2026-11-04")
    w.policy["frequency"] = [{"statuses": ["contactable"], "min_attempts": 5, "period": "week"}]
    w.hist("C1", "2026-11-02T10:00:00-05:00")
    w.hist("C1", "2026-10-31T10:00:00-04:00")  # previous week
    one = [w.att("S1", "C1", "2026-11-04T09:00:00-05:00", reason="frequency")]
    rep = w.verify(one, obligations=(1, 1, 0))
    clean(rep)
    assert rep.obligations == {"due": 1, "met": 1, "unmet": 0}
    w.policy["window"]["sat"] = "none"
    w.policy["window"]["sun"] = "none"
    rep = w.verify(one, obligations=(1, 0, 1))
    clean(rep)
    two = one + [w.att("S1", "C1", "2026-11-04T11:00:00-05:00", reason="frequency")]
    rep = w.verify(two, obligations=(1, 1, 0))
    clean(rep)


def test_obligations_month_every_days_and_history_today(tmp_path):
    """On 2026-11-30 (last day of the month): lost_contact 4 a month with one November attempt
    -> due 3; ptp every 2 days with an attempt on D-1 -> not due, on D-2 only -> due 1, met by
    a history attempt made earlier on D. Mismatched summary obligations break summary."""
    w = World(tmp_path, date="2026-11-30")
    w.policy["frequency"] = [
        {"statuses": ["lost_contact"], "min_attempts": 4, "period": "month"},
        {"statuses": ["ptp"], "every_days": 2},
    ]
    w.accounts["A1"]["status"] = "lost_contact"
    w.hist("C1", "2026-11-10T10:00:00-05:00")
    w.hist("C1", "2026-10-30T10:00:00-04:00")
    w.account("A2", status="ptp")
    w.contact("C2", "A2", NY_PHONE2)
    w.hist("C2", "2026-11-29T10:00:00-05:00")
    w.account("A3", status="ptp")
    w.contact("C3", "A3", LA_PHONE)
    w.hist("C3", "2026-11-28T10:00:00-05:00")
    w.hist("C3", "2026-11-30T07:00:00-05:00")  # earlier today (history dated D)
    t = lambda hm: w.att("S1", "C1", f"2026-11-30T{hm}:00-05:00", reason="frequency")  # noqa: E731
    rep = w.verify([t("09:00"), t("11:00"), t("13:00")], obligations=(2, 2, 0))
    clean(rep)
    rep = w.verify([t("09:00"), t("11:00")], obligations=(2, 1, 1))
    clean(rep)
    rep = w.verify([t("09:00"), t("11:00")], obligations=(2, 2, 0))
    only(rep, "summary")
    assert rep.obligations == {"due": 2, "met": 1, "unmet": 1}


def test_obligations_callbacks(tmp_path):
    """A callback at 10:07 on D is met by an attempt on that contact in the 10:00 slot by the
    named seat while it works; by another seat only when the named one is on break."""
    w = World(tmp_path)
    w.seat("S2")
    w.callbacks = [{"account_id": "A1", "contact_id": "C1", "at": "2026-03-08T10:07:00-04:00", "seat_id": "S1"}]
    by_s1 = [w.att("S1", "C1", "2026-03-08T10:00:00-04:00", reason="callback")]
    by_s2 = [w.att("S2", "C1", "2026-03-08T10:00:00-04:00", reason="callback")]
    wrong_slot = [w.att("S1", "C1", "2026-03-08T10:15:00-04:00", reason="callback")]
    clean(w.verify(by_s1, obligations=(1, 1, 0)))
    clean(w.verify(by_s2, obligations=(1, 0, 1)))
    clean(w.verify(wrong_slot, obligations=(1, 0, 1)))
    w.seats["S1"]["breaks"] = "10:00-10:30"
    clean(w.verify(by_s2, obligations=(1, 1, 0)))
    # a callback on another date is no obligation today
    w.callbacks[0]["at"] = "2026-03-09T10:07:00-04:00"
    clean(w.verify(by_s2, obligations=(0, 0, 0)))


# --- reading errors and options ------------------------------------------------------------------------------


def test_unreadable_plan_raises_plan_error(tmp_path):
    """A missing column, a timestamp without offset, a non-integer seq, a missing summary or a
    summary without date raise PlanError naming the file and column."""
    w = World(tmp_path)
    w.write_portfolio()
    row = w.att("S1", "C1", "2026-03-08T09:00:00-04:00")
    w.write_plan([row])
    text = (w.plan_dir / "plan.csv").read_text()
    (w.plan_dir / "plan.csv").write_text(text.replace(",p_contact", ",p"))
    with pytest.raises(PlanError, match=r"plan\.csv.*p_contact"):
        verify_plan(w.root, w.plan_dir)
    w.write_plan([dict(row, slot_start="2026-03-08T09:00:00")])
    with pytest.raises(PlanError, match=r"plan\.csv.*slot_start"):
        verify_plan(w.root, w.plan_dir)
    w.write_plan([dict(row, seq="first")])
    with pytest.raises(PlanError, match=r"plan\.csv.*seq"):
        verify_plan(w.root, w.plan_dir)
    w.write_plan([row])
    (w.plan_dir / "summary.json").write_text(json.dumps({"expected_recovery": 2.0}))
    with pytest.raises(PlanError, match=r"summary\.json.*date"):
        verify_plan(w.root, w.plan_dir)
    (w.plan_dir / "summary.json").unlink()
    with pytest.raises(PlanError, match=r"summary\.json"):
        verify_plan(w.root, w.plan_dir)


def test_date_and_policy_overrides(tmp_path):
    """``date`` overrides summary.json's date (shifts are read on that date) and ``policy``
    overrides policy.toml (the us-regf pack caps the debtor at one call an hour)."""
    w = World(tmp_path)
    w.seat("S2", start="06:00", end="12:00", zone="America/Phoenix")
    rows = [w.att("S2", "C1", "2026-03-08T14:45:00-04:00")]
    w.write_portfolio()
    w.write_plan(rows)
    assert verify_plan(w.root, w.plan_dir).ok
    # read on 2026-03-07 the Phoenix shift is a day earlier, so 14:45 EDT on 03-08 is outside it
    rep = verify_plan(w.root, w.plan_dir, date=dt.date(2026, 3, 7))
    assert rep.counts["seat_shift"] == 1, rep.render()
    two = [w.att("S1", "C1", "2026-03-08T09:00:00-04:00"), w.att("S1", "C1", "2026-03-08T09:30:00-04:00")]
    w.write_plan(two, er=1000 * 0.2 * (1 - 0.9 * 0.9))
    assert verify_plan(w.root, w.plan_dir).ok
    rep = verify_plan(w.root, w.plan_dir, policy="us-regf")
    assert rep.counts["cap_contact_rolling"] == 1 and rep.counts["min_gap"] == 1, rep.render()


# --- cross-check of the columnar cap checks against brute force -----------------------------------------

_NY = ZoneInfo("America/New_York")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    max_=st.integers(1, 2),
    minutes=st.sampled_from([0, 30, 60, 90]),
    gap=st.sampled_from([0, 15, 30, 60]),
    per_day=st.integers(0, 3),
    per_7=st.sampled_from([0, 2, 4]),
    history=st.lists(st.tuples(st.sampled_from(["C1", "C2"]), st.integers(-8 * 1440, 1440)), max_size=8),
    planned=st.lists(st.tuples(st.sampled_from(["C1", "C2"]), st.integers(32, 83)), max_size=8),
)
def test_caps_match_brute_force(tmp_path_factory, max_, minutes, gap, per_day, per_7, history, planned):
    """Random histories and plans on two numbers of one case (date 2026-03-08, the DST switch):
    the rows verify flags for cap_contact_rolling, min_gap, cap_contact_day and cap_account_7d
    are exactly those a brute-force loop over the docs' definitions flags."""
    tmp = tmp_path_factory.mktemp("bf")
    w = World(tmp)
    w.contact("C2", "A1", NY_PHONE2)
    caps = w.policy["caps"]
    caps["debtor"].update(per_day=per_day, rolling={"minutes": minutes, "max": max_}, min_gap_minutes=gap)
    caps["account"]["per_7_days"] = per_7
    base = dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.timezone.utc)  # 00:00 EST
    events = []  # (contact, start, end, row) with row -1 for history
    for cid, m in history:
        at = base + dt.timedelta(minutes=m)
        w.hist(cid, at.isoformat())
        events.append((cid, at, at, -1))
    rows = []
    for k, (cid, slot) in enumerate(planned):
        sid = f"S{k}"
        w.seat(sid)
        start = dt.datetime(2026, 3, 8, slot * 15 // 60, slot * 15 % 60, tzinfo=_NY)  # EDT wall clock
        rows.append(w.att(sid, cid, start.isoformat(), seq=1))
        events.append((cid, start, start + dt.timedelta(minutes=15), k))
    rep = w.verify(rows)
    got = {rule: set(rep.violations.loc[rep.violations["rule"] == rule, "seat_id"]) for rule in RULES}

    def sid(k):
        return f"S{k}"

    want = {r: set() for r in ("cap_contact_rolling", "min_gap", "cap_contact_day", "cap_account_7d")}
    for cid in ("C1", "C2"):
        ev = sorted((e for e in events if e[0] == cid), key=lambda e: (e[1], e[2], e[3]))
        W = dt.timedelta(minutes=minutes)
        if minutes:
            for i in range(len(ev) - max_):
                j = i + max_
                plan_idx = [x for x in range(i, j + 1) if ev[x][3] >= 0]
                if plan_idx and ev[j][1] - ev[i][2] < W:
                    want["cap_contact_rolling"].add(sid(ev[plan_idx[-1]][3]))
        G = dt.timedelta(minutes=gap)
        for i in range(len(ev)):
            for j in range(i + 1, len(ev)):
                if ev[j][1] - ev[i][2] < G:
                    if ev[j][3] >= 0:
                        want["min_gap"].add(sid(ev[j][3]))
                    elif ev[i][3] >= 0:
                        want["min_gap"].add(sid(ev[i][3]))
        if per_day:
            for k, (c2, slot) in enumerate(planned):
                if c2 != cid:
                    continue
                start = next(e[1] for e in ev if e[3] == k)
                day = start.astimezone(_NY).date()
                hist_n = sum(1 for e in ev if e[3] < 0 and e[1].astimezone(_NY).date() == day)
                before = sum(1 for e in ev if e[3] >= 0 and e[1].astimezone(_NY).date() == day and (e[1], e[3]) < (start, k))
                if hist_n + before + 1 > per_day:
                    want["cap_contact_day"].add(sid(k))
    if per_7:
        for k, e in enumerate(e for e in events if e[3] >= 0):
            day = e[1].astimezone(_NY).date()
            lo = day - dt.timedelta(days=6)
            n = sum(1 for x in events if x[3] < 0 and lo <= x[1].astimezone(_NY).date() <= day)
            n += sum(1 for x in events if x[3] >= 0 and lo <= x[1].astimezone(_NY).date() <= day and (x[1], x[3]) <= (e[1], e[3]))
            if n > per_7:
                want["cap_account_7d"].add(sid(e[3]))
    for rule, expected in want.items():
        assert got[rule] == expected, (rule, rep.render())
