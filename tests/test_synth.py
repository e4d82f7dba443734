"""Tests of the synthetic portfolio generator (dialplan.synth) against the data contract, section 1."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst
from phonenumbers import timezone as pntz

from dialplan.synth import STATUS_MIX, synth_portfolio, true_curves

DATE = dt.date(2026, 11, 21)  # a Saturday
N_ACCOUNTS = 2000
N_SEATS = 40
FLAVORS = ("cn", "us")

COLUMNS = {
    "accounts": ["account_id", "balance", "status", "pay_propensity", "team", "owner_seat",
                 "required_skill", "timezone", "segment", "stop_contact"],
    "contacts": ["contact_id", "account_id", "phone", "role", "relation", "phone_type", "timezone",
                 "rpc_rate", "do_not_call"],
    "seats": ["seat_id", "team", "shift_start", "shift_end", "timezone", "breaks",
              "attempts_per_hour", "skills", "active"],
    "history": ["account_id", "contact_id", "called_at", "outcome"],
    "curves": ["phone_type", "hour", "weight"],
    "callbacks": ["account_id", "contact_id", "at", "seat_id"],
}
TABLES = tuple(COLUMNS)
PACKS = {"cn": "cn-collection-2015", "us": "us-regf"}
WINDOW_END = {"cn": 22, "us": 21}
OUTCOMES = {"rpc", "third_party", "no_answer", "busy", "voicemail", "invalid_number", "refused", "complaint"}
BOOL_TEXT = {"true", "false"}
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
BREAKS_RE = re.compile(r"^(([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)(;([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d)*$")


def read(folder: Path, table: str) -> pd.DataFrame:
    """A CSV table as text, empty cells as empty strings."""
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def portfolios(tmp_path_factory) -> dict:
    """One csv portfolio per flavor: {flavor: (folder, counts, {table: DataFrame})}."""
    res = {}
    for flavor in FLAVORS:
        folder = tmp_path_factory.mktemp(f"synth_{flavor}")
        counts = synth_portfolio(folder, N_ACCOUNTS, N_SEATS, flavor, DATE, seed=11)
        res[flavor] = (folder, counts, {t: read(folder, t) for t in TABLES})
    return res


def first_zone(contact_tz: str, phone: str, account_tz: str, default: str) -> str:
    """Contract 2.1: the zone that gives the local hour (contact column, phone, account, policy)."""
    if contact_tz:
        return contact_tz.split("|")[0]
    zones = [z for z in pntz.time_zones_for_number(phonenumbers.parse(phone)) if z != "Etc/Unknown"]
    if zones:
        return zones[0]
    return account_tz or default


# --- files and schema -------------------------------------------------------------------------
@pytest.mark.parametrize("flavor", FLAVORS)
def test_writes_every_file_and_returns_row_counts(portfolios, flavor):
    """Every table and policy.toml is written; the returned counts are the files' data rows."""
    _, counts, data = portfolios[flavor]
    assert set(counts) == {f"{t}.csv" for t in TABLES}
    for t in TABLES:
        assert counts[f"{t}.csv"] == len(data[t]), t
    assert counts["accounts.csv"] == N_ACCOUNTS
    assert counts["seats.csv"] == N_SEATS
    assert counts["curves.csv"] == 72


@pytest.mark.parametrize("flavor", FLAVORS)
def test_policy_toml_is_the_flavor_pack(portfolios, flavor):
    """policy.toml is the text of the flavor's built-in pack and loads as a policy."""
    from dialplan.policy import load_policy

    folder = portfolios[flavor][0]
    text = (folder / "policy.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["name"] == PACKS[flavor]
    assert load_policy(folder / "policy.toml").name == PACKS[flavor]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("table", TABLES)
def test_every_contract_column_present(portfolios, flavor, table):
    """Each file has exactly the contract's columns, in the contract's order, plain header."""
    folder, _, data = portfolios[flavor]
    assert list(data[table].columns) == COLUMNS[table]
    header = (folder / f"{table}.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(COLUMNS[table])


@pytest.mark.parametrize("flavor", FLAVORS)
def test_ids_unique_and_references_resolve(portfolios, flavor):
    """Ids are unique, contacts/history/callbacks point at existing accounts and contacts of that account."""
    _, _, d = portfolios[flavor]
    acc, con, seats = d["accounts"], d["contacts"], d["seats"]
    assert acc.account_id.is_unique and con.contact_id.is_unique and seats.seat_id.is_unique
    assert (acc.account_id != "").all() and (con.contact_id != "").all()
    assert con.account_id.isin(acc.account_id).all()
    owner = dict(zip(con.contact_id, con.account_id))
    for t in ("history", "callbacks"):
        df = d[t]
        assert df.contact_id.map(owner).eq(df.account_id).all(), t
    assert set(acc.owner_seat[acc.owner_seat != ""]) <= set(seats.seat_id)
    assert set(d["callbacks"].seat_id[d["callbacks"].seat_id != ""]) <= set(seats.seat_id)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_phones_are_valid_unique_e164(portfolios, flavor):
    """Phones are E.164, valid for libphonenumber (sample), of the flavor's country, and unique."""
    con = portfolios[flavor][2]["contacts"]
    assert con.phone.str.fullmatch(r"\+[1-9]\d{6,14}").all()
    assert con.phone.is_unique
    region = {"cn": "CN", "us": "US"}[flavor]
    sample = con.sample(600, random_state=1)
    for phone, ptype in zip(sample.phone, sample.phone_type):
        num = phonenumbers.parse(phone)
        assert phonenumbers.is_valid_number(num), phone
        assert phonenumbers.region_code_for_number(num) == region, phone
        assert phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164) == phone
        if flavor == "cn" and ptype == "mobile":
            assert phonenumbers.number_type(num) == phonenumbers.PhoneNumberType.MOBILE, phone


def test_cn_landlines_present_for_home_and_work(portfolios):
    """cn home/work numbers are mostly landlines (Beijing 10, Shanghai 21, ...), mobiles are 1xx."""
    con = portfolios["cn"][2]["contacts"]
    mobile = con[con.phone_type == "mobile"]
    assert mobile.phone.str.fullmatch(r"\+861[3-9]\d{9}").all()
    fixed = con[con.phone_type.isin(["home", "work"])]
    landline_share = (~fixed.phone.str.fullmatch(r"\+861[3-9]\d{9}")).mean()
    assert 0.6 < landline_share < 0.95
    assert fixed.phone.str.startswith("+8610").any() and fixed.phone.str.startswith("+8621").any()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_timezones_are_iana(portfolios, flavor):
    """Every time zone written (accounts, contacts with '|' lists, seats) is a valid IANA name."""
    _, _, d = portfolios[flavor]
    names = set(d["accounts"].timezone) | set(d["seats"].timezone)
    for value in set(d["contacts"].timezone):
        names |= set(value.split("|")) if value else set()
    names.discard("")
    assert names
    for name in names:
        ZoneInfo(name)  # raises for an unknown zone


@pytest.mark.parametrize("flavor", FLAVORS)
def test_timestamps_iso_with_offset(portfolios, flavor):
    """history.called_at and callbacks.at are ISO 8601 with a UTC offset and parse."""
    _, _, d = portfolios[flavor]
    for col in (d["history"].called_at, d["callbacks"]["at"]):
        assert col.str.match(TS_RE).all()
        for v in col.iloc[:200]:
            assert dt.datetime.fromisoformat(v).utcoffset() is not None


@pytest.mark.parametrize("flavor", FLAVORS)
def test_seat_times_and_numbers_parse(portfolios, flavor):
    """Shifts are HH:MM with start < end, breaks 'HH:MM-HH:MM;...' inside the shift, capacities 15-25."""
    seats = portfolios[flavor][2]["seats"]
    assert seats.shift_start.str.match(HHMM_RE).all() and seats.shift_end.str.match(HHMM_RE).all()
    assert (seats.shift_start < seats.shift_end).all()
    br = seats.breaks[seats.breaks != ""]
    assert len(br) > 0 and br.str.match(BREAKS_RE).all()
    for row in seats[seats.breaks != ""].itertuples():
        for part in row.breaks.split(";"):
            a, b = part.split("-")
            assert row.shift_start <= a < b <= row.shift_end, (row.seat_id, part)
    aph = seats.attempts_per_hour[seats.attempts_per_hour != ""].astype(int)
    assert len(aph) > 0 and aph.between(15, 25).all()
    assert set(seats.active) <= BOOL_TEXT


@pytest.mark.parametrize("flavor", FLAVORS)
def test_numbers_probabilities_and_booleans(portfolios, flavor):
    """Balances are >= 0 with two decimals; probabilities lie in 0..1; booleans are true/false."""
    _, _, d = portfolios[flavor]
    acc, con = d["accounts"], d["contacts"]
    assert acc.balance.str.fullmatch(r"\d+\.\d{2}").all()
    assert (acc.balance.astype(float) >= 0).all()
    for col in (acc.pay_propensity, con.rpc_rate):
        v = col[col != ""].astype(float)
        assert len(v) > 0 and v.between(0, 1).all()
    assert set(acc.stop_contact) <= BOOL_TEXT and set(con.do_not_call) <= BOOL_TEXT
    assert set(acc.status) <= set(STATUS_MIX)
    assert set(con.role) == {"debtor", "third_party"}
    assert set(con.phone_type) <= {"mobile", "home", "work", "other"}
    assert set(d["history"].outcome) <= OUTCOMES
    w = d["curves"].weight.astype(float)
    assert (w >= 0).all()


# --- determinism --------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_same_seed_gives_byte_identical_files(tmp_path, fmt):
    """Two runs with the same arguments write byte-identical files."""
    for flavor in FLAVORS:
        a, b = tmp_path / f"a_{flavor}", tmp_path / f"b_{flavor}"
        synth_portfolio(a, 700, 12, flavor, DATE, seed=5, fmt=fmt)
        synth_portfolio(b, 700, 12, flavor, DATE, seed=5, fmt=fmt)
        names = sorted(p.name for p in a.iterdir())
        assert names == sorted(p.name for p in b.iterdir())
        assert len(names) == 7
        for name in names:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_different_seed_gives_different_data(tmp_path):
    """A different seed changes every random table."""
    synth_portfolio(tmp_path / "a", 700, 12, "cn", DATE, seed=5)
    synth_portfolio(tmp_path / "b", 700, 12, "cn", DATE, seed=6)
    for t in ("accounts", "contacts", "seats", "history"):
        assert (tmp_path / "a" / f"{t}.csv").read_bytes() != (tmp_path / "b" / f"{t}.csv").read_bytes(), t


# --- realism ------------------------------------------------------------------------------------
@pytest.mark.parametrize("flavor", FLAVORS)
def test_status_mix_within_tolerance(portfolios, flavor):
    """Status shares are within 3 points of the intended book mix."""
    acc = portfolios[flavor][2]["accounts"]
    shares = acc.status.value_counts(normalize=True)
    for status, share in STATUS_MIX.items():
        assert abs(shares.get(status, 0.0) - share) < 0.03, (status, shares.get(status, 0.0))


@pytest.mark.parametrize("flavor,median", [("cn", 8000.0), ("us", 1500.0)])
def test_balances_lognormal_around_median(portfolios, flavor, median):
    """Balances have the flavor's median (within 15 %) and a long right tail."""
    bal = portfolios[flavor][2]["accounts"].balance.astype(float)
    open_bal = bal[bal > 0]
    assert abs(open_bal.median() / median - 1) < 0.15
    assert open_bal.mean() > 1.3 * open_bal.median()  # right skew
    assert open_bal.quantile(0.99) > 5 * median


@pytest.mark.parametrize("flavor", FLAVORS)
def test_optional_column_shares(portfolios, flavor):
    """pay_propensity ~70 %, rpc_rate ~50 %, do_not_call ~1 %, stop_contact, owner_seat and required_skill rare."""
    _, _, d = portfolios[flavor]
    acc, con = d["accounts"], d["contacts"]
    assert 0.65 < (acc.pay_propensity != "").mean() < 0.75
    assert 0.45 < (con.rpc_rate != "").mean() < 0.55
    assert 0.003 < (con.do_not_call == "true").mean() < 0.025
    assert (acc.stop_contact == "true").mean() < 0.02
    assert 0.002 < (acc.owner_seat != "").mean() < 0.025
    assert 0.01 < (acc.required_skill != "").mean() < 0.08
    assert set(acc.required_skill) - {""} == {"english" if flavor == "cn" else "spanish"}
    ct = con.timezone != ""
    assert 0.002 < ct.mean() < 0.08  # mostly empty, set for a few % of numbers


@pytest.mark.parametrize("flavor", FLAVORS)
def test_pay_propensity_around_status_default(portfolios, flavor):
    """Mean pay_propensity per status is near the pack's default for that status."""
    folder, _, d = portfolios[flavor]
    defaults = tomllib.loads((folder / "policy.toml").read_text())["defaults"]["pay_propensity"]
    acc = d["accounts"][d["accounts"].pay_propensity != ""]
    means = acc.assign(p=acc.pay_propensity.astype(float)).groupby("status").p.mean()
    for status, default in defaults.items():
        assert abs(means[status] - default) < 0.05 + 0.15 * default, (status, means[status])
    assert means["ptp"] > means["contactable"] > means["lost_contact"]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_contacts_per_case(portfolios, flavor):
    """Each case has 1-3 debtor numbers (relation self) and 0-3 third parties with family/other relations."""
    _, _, d = portfolios[flavor]
    con = d["contacts"]
    deb = con[con.role == "debtor"].groupby("account_id").size().reindex(d["accounts"].account_id, fill_value=0)
    tp = con[con.role == "third_party"].groupby("account_id").size().reindex(d["accounts"].account_id, fill_value=0)
    assert deb.between(1, 3).all() and set(deb) == {1, 2, 3}
    assert tp.between(0, 3).all() and set(tp) == {0, 1, 2, 3}
    assert (con.relation[con.role == "debtor"] == "self").all()
    assert set(con.relation[con.role == "third_party"]) == {"spouse", "parent", "sibling", "colleague", "friend"}
    assert 0.6 < (con.phone_type == "mobile").mean() < 0.9


def test_teams_segments_and_zones_cn(portfolios):
    """cn: teams A/B/C plus a small EN team needing English, bank segments, mostly Asia/Shanghai."""
    acc = portfolios["cn"][2]["accounts"]
    teams = acc.team.value_counts(normalize=True)
    assert {"A", "B", "C", "EN"} <= set(teams.index)
    assert teams["EN"] < 0.08
    assert (acc.required_skill[acc.team == "EN"] == "english").all()
    assert {"icbc", "cmb", "citic"} <= set(acc.segment)
    tz = acc.timezone.value_counts(normalize=True)
    assert tz["Asia/Shanghai"] > 0.9
    abroad = acc.timezone[(acc.timezone != "") & (acc.timezone != "Asia/Shanghai")]
    assert 0.01 < len(abroad) / len(acc) < 0.08
    assert {"Europe/London", "America/Los_Angeles", "Asia/Tokyo"} <= set(abroad)


def test_teams_segments_and_zones_us(portfolios):
    """us: state segments (MA and WA included) and the zone of the state as the debtor's zone."""
    acc = portfolios["us"][2]["accounts"]
    assert {"A", "B", "C"} <= set(acc.team)
    assert {"MA", "WA", "NY", "CA", "TX"} <= set(acc.segment)
    assert acc.segment.str.fullmatch(r"[A-Z]{2}").all()
    expected = {"NY": "America/New_York", "MA": "America/New_York", "CA": "America/Los_Angeles",
                "WA": "America/Los_Angeles", "TX": "America/Chicago", "IL": "America/Chicago",
                "CO": "America/Denver", "AZ": "America/Phoenix", "HI": "Pacific/Honolulu",
                "AK": "America/Anchorage"}
    known = acc[acc.timezone != ""]
    for state, zone in expected.items():
        zones = set(known.timezone[known.segment == state])
        assert zones <= {zone}, (state, zones)
    assert known.timezone.nunique() >= 5


def test_us_numbers_mostly_from_the_debtors_zone(portfolios):
    """us: about 90 % of numbers carry an area code of the debtor's zone, ~10 % one of another zone."""
    _, _, d = portfolios["us"]
    con = d["contacts"].merge(d["accounts"][["account_id", "timezone"]], on="account_id", suffixes=("", "_acc"))
    con = con[con.timezone_acc != ""].sample(1500, random_state=2)
    zone = con.phone.map(lambda p: pntz.time_zones_for_number(phonenumbers.parse(p)))
    other = [acc_tz not in zs for zs, acc_tz in zip(zone, con.timezone_acc)]
    share = float(np.mean(other))
    assert 0.05 < share < 0.17, share


@pytest.mark.parametrize("flavor", FLAVORS)
def test_owner_seat_team_and_skill_match(portfolios, flavor):
    """An owner seat exists, is active, belongs to the case's team and has the skill the case needs."""
    _, _, d = portfolios[flavor]
    seats = d["seats"].set_index("seat_id")
    owned = d["accounts"][d["accounts"].owner_seat != ""]
    assert len(owned) > 0
    for row in owned.itertuples():
        seat = seats.loc[row.owner_seat]
        assert seat.active == "true"
        if row.team:
            assert seat.team == row.team
        if row.required_skill:
            assert row.required_skill in seat.skills.split(";")


@pytest.mark.parametrize("flavor", FLAVORS)
def test_seats_shape(portfolios, flavor):
    """Seats S0001.., teams covering the accounts' teams, early and late shifts, ~2 % inactive, skills."""
    _, _, d = portfolios[flavor]
    seats, acc = d["seats"], d["accounts"]
    assert seats.seat_id.str.fullmatch(r"S\d{4}").all()
    assert set(acc.team) - {""} <= set(seats.team[seats.active == "true"])
    early, late = {"cn": (("08:00", "16:30"), ("13:30", "22:00")), "us": (("08:00", "16:30"), ("12:30", "21:00"))}[flavor]
    shifts = set(zip(seats.shift_start, seats.shift_end))
    assert shifts == {early, late}
    assert (seats.active == "false").mean() < 0.1
    assert (seats.timezone == "").mean() > 0.6
    skill = "english" if flavor == "cn" else "spanish"
    assert seats.skills.str.split(";").map(lambda s: skill in s).any()
    for t in set(acc.team[acc.required_skill != ""]) - {""}:
        ok = seats[(seats.team == t) & (seats.active == "true")].skills.str.split(";").map(lambda s: skill in s)
        assert ok.any(), t


@pytest.mark.parametrize("flavor", FLAVORS)
def test_history_covers_31_days_with_outcome_mix(portfolios, flavor):
    """History has attempts on each local day D-31..D-1 (none on or after D) and a realistic outcome mix."""
    h = portfolios[flavor][2]["history"]
    days = set(h.called_at.str[:10])
    expected = {(DATE - dt.timedelta(days=i)).isoformat() for i in range(1, 32)}
    assert days == expected
    mix = h.outcome.value_counts(normalize=True)
    assert {"rpc", "third_party", "no_answer", "busy", "voicemail", "invalid_number", "refused"} <= set(mix.index)
    assert mix["no_answer"] > 0.3
    assert 0.05 < mix["rpc"] < 0.3
    assert mix["invalid_number"] < 0.05
    assert mix.get("complaint", 0.0) < 0.005


@pytest.mark.parametrize("flavor", FLAVORS)
def test_history_attempts_per_case(portfolios, flavor):
    """About 2-6 attempts a case in the month on average, fewer for lost-contact than for contactable cases."""
    _, _, d = portfolios[flavor]
    acc = d["accounts"]
    n = d["history"].groupby("account_id").size().reindex(acc.account_id, fill_value=0).to_numpy()
    per = pd.Series(n, index=acc.status.to_numpy()).groupby(level=0).mean()
    assert 2 <= n.mean() <= 6
    assert per["lost_contact"] < per["contactable"]
    assert per["closed"] < per["contactable"]


@pytest.mark.parametrize("flavor", FLAVORS)
def test_history_times_local_to_first_zone(portfolios, flavor):
    """called_at is written in the contact's first resolved zone (contract 2.1), mostly inside the window."""
    _, _, d = portfolios[flavor]
    acc_tz = dict(zip(d["accounts"].account_id, d["accounts"].timezone))
    con = d["contacts"].set_index("contact_id")
    default = {"cn": "Asia/Shanghai", "us": "America/New_York"}[flavor]
    h = d["history"]
    for row in h.sample(400, random_state=3).itertuples():
        c = con.loc[row.contact_id]
        zone = first_zone(c.timezone, c.phone, acc_tz[row.account_id], default)
        ts = dt.datetime.fromisoformat(row.called_at)
        assert ts.astimezone(ZoneInfo(zone)).replace(tzinfo=None) == ts.replace(tzinfo=None), (row, zone)
    hour = h.called_at.str[11:13].astype(int)
    assert hour.between(8, WINDOW_END[flavor] - 1).mean() > 0.99


@pytest.mark.parametrize("flavor", FLAVORS)
def test_history_stops_after_terminal_outcomes(portfolios, flavor):
    """No attempt on a number after its invalid_number, nor after a complaint (contact or case, per pack)."""
    folder, _, d = portfolios[flavor]
    scope = tomllib.loads((folder / "policy.toml").read_text()).get("complaint", {}).get("scope", "contact")
    h = d["history"].assign(utc=lambda x: pd.to_datetime(x.called_at, utc=True, format="ISO8601"))
    inv = h[h.outcome == "invalid_number"][["contact_id", "utc"]].rename(columns={"utc": "t0"})
    m = h.merge(inv, on="contact_id")
    assert not (m.utc > m.t0).any()
    key = "account_id" if scope == "account" else "contact_id"
    cmp_ = h[h.outcome == "complaint"][[key, "utc"]].rename(columns={"utc": "t0"})
    m = h.merge(cmp_, on=key)
    assert not (m.utc > m.t0).any()


def test_us_history_keeps_cooldown_after_conversation(portfolios):
    """us-regf: no attempt on a case within 7 days after a conversation (day of the rpc = day 1)."""
    h = portfolios["us"][2]["history"]
    h = h.assign(utc=pd.to_datetime(h.called_at, utc=True, format="ISO8601"), day=pd.to_datetime(h.called_at.str[:10]))
    rpc = h[h.outcome == "rpc"][["account_id", "utc", "day"]].rename(columns={"utc": "t0", "day": "d0"})
    m = h.merge(rpc, on="account_id")
    m = m[m.utc > m.t0]
    assert len(m) > 0
    assert ((m.day - m.d0).dt.days >= 7).all()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_curves_file_is_true_curves(portfolios, flavor):
    """curves.csv equals true_curves(flavor): 24 hours per type, mobile lunch/evening, work office, home evening."""
    cur = portfolios[flavor][2]["curves"]
    true = true_curves(flavor)
    assert list(true.columns) == ["phone_type", "hour", "weight"]
    assert (cur.phone_type.tolist(), cur.hour.astype(int).tolist()) == (true.phone_type.tolist(), true.hour.tolist())
    assert np.allclose(cur.weight.astype(float), true.weight)
    w = true.pivot(index="hour", columns="phone_type", values="weight")
    assert sorted(w.index) == list(range(24))
    assert w["mobile"].idxmax() in (18, 19, 20) and w["mobile"][12] > w["mobile"][10] and w["mobile"][12] > w["mobile"][15]
    assert 9 <= w["work"].idxmax() <= 16 and w["work"][20] < 0.5
    assert 18 <= w["home"].idxmax() <= 21 and w["home"][14] < w["home"][19]
    assert (w.loc[[1, 2, 3, 4]] < 0.1).all().all()


@pytest.mark.parametrize("flavor", FLAVORS)
def test_history_outcomes_follow_true_curves(tmp_path, flavor):
    """Right-party contact rate per local hour, normalised by each number's base rate, recovers the mobile curve."""
    folder = tmp_path / flavor
    synth_portfolio(folder, 20000, 50, flavor, DATE, seed=3)
    h, con = read(folder, "history"), read(folder, "contacts")
    default = tomllib.loads((folder / "policy.toml").read_text())["defaults"]["rpc_rate"]["debtor"]
    d = h.merge(con, on=["contact_id", "account_id"])
    d = d[(d.role == "debtor") & (d.phone_type == "mobile") & (d.outcome != "invalid_number")]
    base = np.where(d.rpc_rate == "", default, pd.to_numeric(d.rpc_rate, errors="coerce"))
    d = d.assign(base=base, hour=d.called_at.str[11:13].astype(int), y=(d.outcome == "rpc").astype(float))
    g = d[d.hour.between(8, WINDOW_END[flavor] - 1)].groupby("hour").agg(y=("y", "sum"), b=("base", "sum"))
    est = g.y / g.b
    true = true_curves(flavor).query("phone_type == 'mobile'").set_index("hour").weight.loc[est.index]
    assert np.corrcoef(est, true)[0, 1] > 0.85
    assert abs(float((est / true).median()) - 1) < 0.1


@pytest.mark.parametrize("flavor", FLAVORS)
def test_callbacks(portfolios, flavor):
    """Callbacks: ptp/negotiating cases, a debtor number, on D at 09:00-20:00 local, about half with an eligible active seat."""
    _, _, d = portfolios[flavor]
    cb, acc, con, seats = d["callbacks"], d["accounts"], d["contacts"], d["seats"]
    eligible = acc.status.isin(["ptp", "negotiating"]).sum()
    assert 1 <= len(cb) <= max(1, 0.03 * eligible)
    assert cb.account_id.map(dict(zip(acc.account_id, acc.status))).isin(["ptp", "negotiating"]).all()
    assert cb.contact_id.map(dict(zip(con.contact_id, con.role))).eq("debtor").all()
    assert (cb["at"].str[:10] == DATE.isoformat()).all()
    assert cb["at"].str[11:16].between("09:00", "19:59").all()
    seat_rows = cb[cb.seat_id != ""]
    st = seats.set_index("seat_id")
    a = acc.set_index("account_id")
    for row in seat_rows.itertuples():
        s, case = st.loc[row.seat_id], a.loc[row.account_id]
        assert s.active == "true"
        if case.team:
            assert s.team == case.team
        if case.owner_seat:
            assert row.seat_id == case.owner_seat


def test_callbacks_share_and_seat_half(tmp_path):
    """At scale: ~1-2 % of ptp/negotiating cases have a callback; about half name a seat."""
    synth_portfolio(tmp_path, 30000, 60, "cn", DATE, seed=4)
    acc, cb = read(tmp_path, "accounts"), read(tmp_path, "callbacks")
    eligible = acc.status.isin(["ptp", "negotiating"]).sum()
    assert 0.01 <= len(cb) / eligible <= 0.02
    assert 0.35 < (cb.seat_id != "").mean() < 0.65


# --- parquet ------------------------------------------------------------------------------------
@pytest.mark.parametrize("flavor", FLAVORS)
def test_parquet_has_same_columns_and_values(tmp_path, flavor):
    """fmt='parquet' writes .parquet tables with the same columns and the same data as the csv run."""
    c, p = tmp_path / "c", tmp_path / "p"
    counts_c = synth_portfolio(c, 600, 10, flavor, DATE, seed=9)
    counts_p = synth_portfolio(p, 600, 10, flavor, DATE, seed=9, fmt="parquet")
    assert set(counts_p) == {f"{t}.parquet" for t in TABLES}
    assert (p / "policy.toml").read_bytes() == (c / "policy.toml").read_bytes()
    for t in TABLES:
        assert counts_p[f"{t}.parquet"] == counts_c[f"{t}.csv"]
        pdf = pd.read_parquet(p / f"{t}.parquet")
        cdf = read(c, t)
        assert list(pdf.columns) == COLUMNS[t]
        for col in COLUMNS[t]:
            pv, cv = pdf[col], cdf[col]
            if pd.api.types.is_bool_dtype(pv):
                assert (pv.map({True: "true", False: "false"}) == cv).all(), (t, col)
            elif pd.api.types.is_numeric_dtype(pv):
                cnum = pd.to_numeric(cv.replace("", np.nan))
                assert np.allclose(pv.to_numpy(float), cnum.to_numpy(float), equal_nan=True), (t, col)
            else:
                assert (pv.fillna("") == cv).all(), (t, col)


def test_other_format_files_are_replaced(tmp_path):
    """Writing parquet over a csv portfolio removes the csv tables (one version of each table)."""
    synth_portfolio(tmp_path, 100, 3, "us", DATE, seed=1)
    synth_portfolio(tmp_path, 100, 3, "us", DATE, seed=1, fmt="parquet")
    assert not list(tmp_path.glob("*.csv"))
    assert len(list(tmp_path.glob("*.parquet"))) == len(TABLES)


# --- arguments and small inputs -----------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [{"flavor": "uk"}, {"fmt": "xlsx"}, {"accounts": 0}, {"seats": 0}],
)
def test_bad_arguments_raise(tmp_path, kwargs):
    """Unknown flavor or format, or no accounts/seats, is a ValueError."""
    args = {"out": tmp_path, "accounts": 10, "seats": 2, "flavor": "cn", "date": DATE, "seed": 1, "fmt": "csv"}
    args.update(kwargs)
    with pytest.raises(ValueError):
        synth_portfolio(**args)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    accounts=hst.integers(1, 60),
    seats=hst.integers(1, 6),
    flavor=hst.sampled_from(FLAVORS),
    seed=hst.integers(0, 2**32 - 1),
    date=hst.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)),
)
def test_small_portfolios_are_consistent(tmp_path_factory, accounts, seats, flavor, seed, date):
    """Any small size, seed and date: counts match, references resolve, teams of cases are staffed, history dated D-31..D-1."""
    folder = tmp_path_factory.mktemp("small")
    counts = synth_portfolio(folder, accounts, seats, flavor, date, seed)
    d = {t: read(folder, t) for t in TABLES}
    assert counts["accounts.csv"] == accounts == len(d["accounts"])
    assert counts["seats.csv"] == seats == len(d["seats"])
    assert d["contacts"].account_id.isin(d["accounts"].account_id).all()
    assert d["history"].contact_id.isin(d["contacts"].contact_id).all()
    active_teams = set(d["seats"].team[d["seats"].active == "true"])
    assert set(d["accounts"].team) - {""} <= active_teams
    if len(d["history"]):
        days = d["history"].called_at.str[:10]
        assert days.min() >= (date - dt.timedelta(days=31)).isoformat()
        assert days.max() <= (date - dt.timedelta(days=1)).isoformat()
    assert (d["callbacks"]["at"].str[:10] == date.isoformat()).all()
