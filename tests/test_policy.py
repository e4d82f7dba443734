"""Policies (contract section 3): the packs, segment overrides, windows, holidays, errors, lint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialplan.cli import cli
from dialplan.errors import PolicyError
from dialplan.policy import DEFAULT_PACK, Policy, load_policy, pack_names
from dialplan.policy.lint import Finding, lint

PACKS = ["cn-cba-2026", "cn-collection-2015", "us-regf"]


def get(data: dict, dotted: str):
    """The value at a dotted key path of a policy's data."""
    for part in dotted.split("."):
        data = data[part]
    return data


def write_policy(tmp_path: Path, text: str, name: str = "policy.toml") -> Path:
    """Write a policy.toml and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def hm(text: str) -> int:
    """Minutes after midnight of HH:MM."""
    h, m = text.split(":")
    return int(h) * 60 + int(m)


# --- the packs ------------------------------------------------------------------------------


def test_pack_names():
    """Exactly the three documented packs are built in; the default is the 2015 seed pack."""
    assert pack_names() == PACKS
    assert DEFAULT_PACK == "cn-collection-2015"
    assert load_policy(None).name == "cn-collection-2015"


COMMON_CN = {
    "timezone": "Asia/Shanghai",
    "country": "CN",
    "slot_minutes": 15,
    "never_call_statuses": ["paused", "closed"],
    "default_attempts_per_hour": 20.0,
    "window.start": "08:00",
    "window.end": "22:00",
    "window.holidays": "call",
    "third_party.allowed_statuses": ["lost_contact"],
    "seats.continuity": True,
    "caps.account": {"per_day": 0, "per_7_days": 0, "cooldown_after_conversation_days": 0},
    "defaults.rpc_rate": {"debtor": 0.15, "third_party": 0.25},
    "defaults.pay_propensity": {"new": 0.10, "contactable": 0.15, "ptp": 0.6, "negotiating": 0.4, "evasive": 0.1, "lost_contact": 0.05},
    "frequency": [
        {"statuses": ["contactable"], "min_attempts": 3, "period": "week"},
        {"statuses": ["lost_contact"], "min_attempts": 4, "period": "month"},
        {"statuses": ["ptp", "negotiating", "evasive"], "every_days": 2},
    ],
    "segments": {},
}
PACK_VALUES = {
    "cn-collection-2015": {
        **COMMON_CN,
        "name": "cn-collection-2015",
        "caps.debtor": {"per_day": 3, "rolling": {"minutes": 60, "max": 2}, "min_gap_minutes": 0},
        # 第十一条: third parties at most 6 a day and 2 in any hour
        "caps.third_party": {"per_day": 6, "rolling": {"minutes": 60, "max": 2}, "min_gap_minutes": 0},
        "complaint.scope": "contact",
        "third_party.weight": 0.3,
    },
    "cn-cba-2026": {
        **COMMON_CN,
        "name": "cn-cba-2026",
        "caps.debtor": {"per_day": 6, "rolling": {"minutes": 60, "max": 2}, "min_gap_minutes": 15},
        "caps.third_party": {"per_day": 1, "rolling": {"minutes": 60, "max": 1}, "min_gap_minutes": 0},
        "complaint.scope": "account",
        "third_party.weight": 0.2,
    },
    "us-regf": {
        "name": "us-regf",
        "timezone": "America/New_York",
        "country": "US",
        "slot_minutes": 15,
        "never_call_statuses": ["paused", "closed"],
        "default_attempts_per_hour": 15.0,
        "window.start": "08:00",
        "window.end": "21:00",
        "window.holidays": "call",
        "caps.debtor": {"per_day": 3, "rolling": {"minutes": 60, "max": 1}, "min_gap_minutes": 60},
        "caps.third_party": {"per_day": 1, "rolling": {"minutes": 60, "max": 1}, "min_gap_minutes": 0},
        # 1006.14(b)(2): 7 in 7 days, 7 days after a conversation
        "caps.account": {"per_day": 3, "per_7_days": 7, "cooldown_after_conversation_days": 7},
        "complaint.scope": "account",
        "third_party.allowed_statuses": ["lost_contact"],
        "third_party.weight": 0.2,
        "defaults.rpc_rate": {"debtor": 0.12, "third_party": 0.2},
        "frequency": [
            {"statuses": ["contactable"], "min_attempts": 2, "period": "week"},
            {"statuses": ["lost_contact"], "min_attempts": 2, "period": "month"},
            {"statuses": ["ptp", "negotiating"], "every_days": 3},
        ],
        "seats.continuity": True,
        "segments.MA.caps.account": {"per_7_days": 2, "per_day": 1},
        "segments.WA.caps.account": {"per_7_days": 3},
    },
}


@pytest.mark.parametrize("pack", PACKS)
def test_pack_key_values(pack):
    """Each pack holds the values its header comment and the docs claim."""
    policy = load_policy(pack)
    assert policy.source == f"pack {pack}"
    for key, value in PACK_VALUES[pack].items():
        assert get(policy.data, key) == value, key


@pytest.mark.parametrize(("pack", "start", "end"), [("cn-collection-2015", "08:00", "22:00"),
                                                    ("cn-cba-2026", "08:00", "22:00"),
                                                    ("us-regf", "08:00", "21:00")])
def test_pack_windows_every_weekday(pack, start, end):
    """The packs call every weekday, debtors and third parties alike, within start..end."""
    policy = load_policy(pack)
    for role in ("debtor", "third_party"):
        assert [policy.window(role, d) for d in range(7)] == [(hm(start), hm(end))] * 7


def test_pack_accessors():
    """The Policy accessors read the resolved keys (us-regf)."""
    policy = load_policy("us-regf")
    assert policy.timezone == "America/New_York" and policy.slot_minutes == 15
    assert policy.never_call_statuses == frozenset({"paused", "closed"})
    assert policy.third_party_statuses == frozenset({"lost_contact"})
    assert policy.third_party_weight == 0.2
    assert policy.default_pay_propensity("ptp") == 0.55
    assert policy.default_pay_propensity("paused") == 0.0
    assert policy.default_rpc_rate("third_party") == 0.2
    assert policy.contact_caps("debtor")["min_gap_minutes"] == 60
    assert policy.complaint_scope == "account"
    assert policy.continuity is True
    assert policy.default_attempts_per_hour == 15.0
    assert policy.holidays_no_call is False
    assert policy.segment_names == ["MA", "WA"]


def test_us_regf_segments_merge():
    """MA and WA override only the keys they name; everything else comes from the base."""
    base = load_policy("us-regf")
    ma, wa = base.for_segment("MA"), base.for_segment("WA")
    assert ma.account_caps == {"per_day": 1, "per_7_days": 2, "cooldown_after_conversation_days": 7}
    assert wa.account_caps == {"per_day": 3, "per_7_days": 3, "cooldown_after_conversation_days": 7}
    assert [r.get("every_days") for r in ma.frequency] == [None, None, 4], "MA replaces the frequency list"
    assert wa.frequency == base.frequency, "WA keeps the base frequency list"
    assert ma.contact_caps("debtor") == base.contact_caps("debtor")
    assert ma.window("debtor", 0) == (hm("08:00"), hm("21:00"))
    assert ma.source == "pack us-regf [segments.MA]"
    assert ma.segment_names == []
    assert base.account_caps["per_7_days"] == 7, "the base is not changed by a segment"


def test_for_segment_without_override_is_base():
    """An empty or unknown segment gets the base policy itself."""
    base = load_policy("us-regf")
    assert base.for_segment("") is base
    assert base.for_segment(None) is base
    assert base.for_segment("TX") is base
    assert base.for_segment("MA") is base.for_segment("MA")


def test_segment_overrides_deep_merge(tmp_path):
    """A segment override merges table by table; pay_propensity merges status by status."""
    path = write_policy(tmp_path, """
[window]
end = "21:00"
[segments.bankX]
window.start = "09:00"
caps.debtor.per_day = 1
defaults.pay_propensity = { new = 0.5 }
third_party.allowed_statuses = ["lost_contact", "evasive"]
""")
    base = load_policy(path)
    seg = base.for_segment("bankX")
    assert seg.window("debtor", 2) == (hm("09:00"), hm("21:00"))
    assert seg.contact_caps("debtor") == {"per_day": 1, "rolling": {"minutes": 60, "max": 2}, "min_gap_minutes": 0}
    assert seg.data["defaults"]["pay_propensity"] == {
        "new": 0.5, "contactable": 0.15, "ptp": 0.6, "negotiating": 0.4, "evasive": 0.1, "lost_contact": 0.05,
    }
    assert seg.third_party_statuses == frozenset({"lost_contact", "evasive"})
    assert base.window("debtor", 2) == (hm("08:00"), hm("21:00"))
    assert base.default_pay_propensity("new") == 0.10
    assert seg.content_hash != base.content_hash


def test_user_file_resolves_over_defaults(tmp_path):
    """A policy.toml states only what differs; every other key takes the schema default."""
    policy = load_policy(write_policy(tmp_path, 'name = "tiny"\n[caps.debtor]\nper_day = 2\n'))
    assert policy.name == "tiny" and policy.source == str(tmp_path / "policy.toml")
    assert policy.contact_caps("debtor") == {"per_day": 2, "rolling": {"minutes": 60, "max": 2}, "min_gap_minutes": 0}
    assert policy.contact_caps("third_party")["per_day"] == 6
    assert policy.account_caps == {"per_day": 0, "per_7_days": 0, "cooldown_after_conversation_days": 0}
    assert policy.timezone == "Asia/Shanghai" and policy.slot_minutes == 15
    assert policy.frequency == []
    assert policy.window("debtor", 6) == (hm("08:00"), hm("22:00"))


def test_content_hash_tracks_content(tmp_path):
    """The content hash is the same for the same rules and changes when one value changes."""
    a = load_policy(write_policy(tmp_path, "[caps.debtor]\nper_day = 2\n", "a.toml"))
    b = load_policy(write_policy(tmp_path, "[caps.debtor]\nper_day = 2\n", "b.toml"))
    c = load_policy(write_policy(tmp_path, "[caps.debtor]\nper_day = 3\n", "c.toml"))
    assert a.content_hash == b.content_hash
    assert a.content_hash != c.content_hash
    assert len(a.content_hash) == 64


# --- windows --------------------------------------------------------------------------------

WEEKDAY_POLICY = """
[window]
start = "08:00"
end = "22:00"
sat = ["09:00", "20:00"]
sun = "none"
holidays = "no_call"
[window.third_party]
start = "07:00"
end = "20:00"
fri = "none"
sat = ["10:00", "18:00"]
"""


def test_per_weekday_windows(tmp_path):
    """A weekday entry replaces start/end on that day; "none" closes the day."""
    policy = load_policy(write_policy(tmp_path, WEEKDAY_POLICY))
    assert [policy.window("debtor", d) for d in range(7)] == [(hm("08:00"), hm("22:00"))] * 5 + [
        (hm("09:00"), hm("20:00")), None,
    ]


def test_third_party_window_narrows(tmp_path):
    """The third-party table narrows the general window key by key, never widens it."""
    policy = load_policy(write_policy(tmp_path, WEEKDAY_POLICY))
    got = [policy.window("third_party", d) for d in range(7)]
    # start 07:00 cannot open before the general 08:00; end 20:00 narrows 22:00
    assert got[:4] == [(hm("08:00"), hm("20:00"))] * 4
    assert got[4] is None, "third_party fri = none closes Friday for third parties only"
    assert got[5] == (hm("10:00"), hm("18:00"))
    assert got[6] is None, "the general sun = none also closes it for third parties"
    assert policy.window("debtor", 4) == (hm("08:00"), hm("22:00"))


def test_window_end_of_day(tmp_path):
    """24:00 is a valid window end (the whole evening)."""
    policy = load_policy(write_policy(tmp_path, '[window]\nstart = "00:00"\nend = "24:00"\n'))
    assert policy.window("debtor", 0) == (0, 24 * 60)


def test_disjoint_third_party_window_is_closed(tmp_path):
    """A third-party window that does not overlap the general one leaves no window."""
    policy = load_policy(write_policy(tmp_path, '[window]\nend = "12:00"\n[window.third_party]\nstart = "13:00"\n'))
    assert policy.window("third_party", 0) is None
    assert policy.window("debtor", 0) == (hm("08:00"), hm("12:00"))


# --- holidays -------------------------------------------------------------------------------


def test_is_holiday_by_country():
    """Public holidays come from the policy's country, or the one asked for."""
    cn, us = load_policy("cn-collection-2015"), load_policy("us-regf")
    assert cn.is_holiday(dt.date(2026, 10, 1))            # National Day
    assert cn.is_holiday(dt.date(2026, 2, 17))            # Spring Festival
    assert not cn.is_holiday(dt.date(2026, 11, 30))
    assert not cn.is_holiday(dt.date(2026, 11, 26))
    assert us.is_holiday(dt.date(2026, 11, 26))           # Thanksgiving
    assert not us.is_holiday(dt.date(2026, 10, 1))
    assert cn.is_holiday(dt.date(2026, 11, 26), country="US")
    assert cn.is_holiday(dt.date(2027, 10, 1)), "any year, not just 2026"


def test_callable_day_with_holidays_no_call(tmp_path):
    """With holidays = "no_call" a holiday is not callable; with "call" (all packs) it is."""
    no_call = load_policy(write_policy(tmp_path, '[window]\nholidays = "no_call"\n'))
    assert no_call.holidays_no_call
    assert not no_call.is_callable_day(dt.date(2026, 10, 1))
    assert not no_call.is_callable_day(dt.date(2026, 10, 1), role="third_party")
    assert no_call.is_callable_day(dt.date(2026, 10, 9))
    assert no_call.is_callable_day(dt.date(2026, 11, 26)), "a US holiday is callable under a CN policy"
    assert not no_call.is_callable_day(dt.date(2026, 11, 26), country="US")
    for pack in PACKS:
        assert load_policy(pack).is_callable_day(dt.date(2026, 10, 1))


def test_callable_day_weekday_none(tmp_path):
    """A weekday whose window is "none" is not callable; per role for the third-party table."""
    policy = load_policy(write_policy(tmp_path, WEEKDAY_POLICY))
    sunday, friday, monday = dt.date(2026, 11, 29), dt.date(2026, 11, 27), dt.date(2026, 11, 30)
    assert not policy.is_callable_day(sunday)
    assert policy.is_callable_day(friday)
    assert not policy.is_callable_day(friday, role="third_party")
    assert policy.is_callable_day(monday)
    assert not policy.is_callable_day(dt.date(2026, 10, 1)), "no_call holiday (a Thursday)"


# --- errors ---------------------------------------------------------------------------------

# (policy.toml text, message after "<file>: ")
ERROR_CASES = {
    "unknown-key": ('name = "x"\nbogus = 1\n', "unknown key 'bogus'"),
    "unknown-nested-key": ('[window]\nlunch = "12:00"\n', "unknown key 'window.lunch'"),
    "unknown-caps-key": ("[caps.debtor]\nper_week = 3\n", "unknown key 'caps.debtor.per_week'"),
    "wrong-type-int": ('slot_minutes = "15"\n', "key 'slot_minutes' must be an integer"),
    "wrong-type-float": ("[caps.debtor]\nper_day = 1.5\n", "key 'caps.debtor.per_day' must be an integer"),
    "wrong-type-bool": ('[seats]\ncontinuity = "yes"\n', "key 'seats.continuity' must be true or false"),
    "wrong-type-list": ('never_call_statuses = "paused"\n', "key 'never_call_statuses' must be a list of strings"),
    "wrong-type-table": ('window = "08:00"\n', "window: must be a table"),
    "wrong-type-probability": ("[third_party]\nweight = 1.5\n", "key 'third_party.weight' must be <= 1.0"),
    "negative-cap": ("[caps.account]\nper_7_days = -1\n", "key 'caps.account.per_7_days' must be >= 0"),
    "bad-hhmm": ('[window]\nstart = "8:00"\n', "key 'window.start' not a HH:MM time: '8:00'"),
    "bad-hhmm-weekday": ('[window]\nsat = ["09:00", "25:00"]\n', "key 'window.sat' not a HH:MM time: '25:00'"),
    "bad-hhmm-third-party": ('[window.third_party]\nend = "21:60"\n', "key 'window.third_party.end' not a HH:MM time: '21:60'"),
    "weekday-inverted": ('[window]\nsat = ["20:00", "09:00"]\n', "key 'window.sat' start must be before end (windows do not cross midnight)"),
    "window-inverted": ('[window]\nstart = "22:00"\nend = "08:00"\n', "key 'window.end' must be after 'window.start'"),
    "slot-7": ("slot_minutes = 7\n", "key 'slot_minutes' must divide 60 (5, 10, 15, 20, 30 or 60)"),
    "slot-45": ("slot_minutes = 45\n", "key 'slot_minutes' must divide 60 (5, 10, 15, 20, 30 or 60)"),
    "slot-0": ("slot_minutes = 0\n", "key 'slot_minutes' must be >= 1"),
    "unknown-zone": ('timezone = "Mars/Olympus"\n', "key 'timezone' unknown IANA time zone 'Mars/Olympus'"),
    "holidays-choice": ('[window]\nholidays = "skip"\n', "key 'window.holidays' must be one of call, no_call"),
    "frequency-period": ('[[frequency]]\nstatuses = ["new"]\nmin_attempts = 1\nperiod = "day"\n', "key 'frequency' must be one of week, month"),
    "frequency-incomplete": ('[[frequency]]\nstatuses = ["new"]\nperiod = "week"\n', "key 'frequency' rule 1: needs min_attempts and period, or every_days"),
    "segment-bad-value": ("[segments.MA]\ncaps.account.per_7_days = -1\n", "key 'segments.MA.caps.account.per_7_days' must be >= 0"),
    "segment-unknown-key": ("[segments.MA]\nbogus = 1\n", "unknown key 'segments.MA.bogus'"),
    "segment-forbidden-key": ('[segments.MA]\ntimezone = "UTC"\n', "key 'segments.MA.timezone' cannot be set per segment"),
    "not-toml": ("name = \n", "not valid TOML (Invalid value (at line 1, column 8))"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_policy_error_names_key_and_file(tmp_path, case):
    """An invalid policy raises PolicyError: one line naming the file and the key."""
    text, message = ERROR_CASES[case]
    path = write_policy(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value) == f"{path}: {message}"
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("case", ["unknown-key", "wrong-type-int", "bad-hhmm", "slot-7", "unknown-zone", "segment-bad-value"])
def test_policy_check_cli_error(tmp_path, case):
    """`dialplan policy check FILE` on an invalid policy exits 2 with one `Error:` line."""
    text, message = ERROR_CASES[case]
    path = write_policy(tmp_path, text)
    result = CliRunner().invoke(cli, ["policy", "check", str(path)])
    assert result.exit_code == 2
    assert result.output == f"Error: {path}: {message}\n"


def test_segment_inconsistency_names_the_segment(tmp_path):
    """A segment whose merged window is inverted fails at load, naming the file and segment."""
    path = write_policy(tmp_path, '[segments.MA]\nwindow.start = "22:00"\n')
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value) == f"{path} [segments.MA]: key 'window.end' must be after 'window.start'"


def test_unknown_pack_or_file(tmp_path):
    """A name that is neither a pack nor a file is a PolicyError listing the packs (CLI exit 2)."""
    missing = tmp_path / "nope.toml"
    with pytest.raises(PolicyError) as info:
        load_policy(missing)
    assert str(info.value) == f"{missing}: no such policy file or pack (packs: cn-cba-2026, cn-collection-2015, us-regf)"
    result = CliRunner().invoke(cli, ["policy", "check", "cn-2099"])
    assert result.exit_code == 2
    assert result.output == "Error: cn-2099: no such policy file or pack (packs: cn-cba-2026, cn-collection-2015, us-regf)\n"


def test_non_utf8_policy_file(tmp_path):
    """A policy file that is not UTF-8 is a PolicyError naming the file."""
    path = tmp_path / "policy.toml"
    path.write_bytes('name = "催收"\n'.encode("gbk"))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value) == f"{path}: cannot read policy (UnicodeDecodeError)"


def test_unknown_country_names_key_and_file(tmp_path):
    """country = "XX" (no holiday calendar) is a PolicyError naming the file and key 'country'."""
    path = write_policy(tmp_path, 'country = "XX"\n')
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(info.value).startswith(f"{path}: key 'country'")


def test_segment_not_a_table_is_policy_error(tmp_path):
    """`[segments] MA = 3` is a PolicyError naming the segment key, and the CLI exits 2."""
    path = write_policy(tmp_path, "[segments]\nMA = 3\n")
    result = CliRunner().invoke(cli, ["policy", "check", str(path)])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {path}: ")
    assert "segments.MA" in result.output


# --- lint -----------------------------------------------------------------------------------

CONTRADICTION = """
[[frequency]]
statuses = ["contactable"]
min_attempts = 3
period = "week"

[segments.MA]
caps.account.per_7_days = 2
"""


def test_lint_finds_segment_contradiction(tmp_path):
    """>= 3 attempts a week for contactable cases cannot be kept with MA's 2 per 7 days."""
    findings = lint(load_policy(write_policy(tmp_path, CONTRADICTION)))
    assert findings == [Finding(
        "error", "segment MA",
        "frequency rule 1 (contactable): needs 3 a week but caps.account.per_7_days = 2 allows 2",
    )]


def test_lint_without_contradiction_is_clean(tmp_path):
    """The same rules with 3 per 7 days in MA lint clean (the finding above is not noise)."""
    text = CONTRADICTION.replace("per_7_days = 2", "per_7_days = 3")
    assert lint(load_policy(write_policy(tmp_path, text))) == []


def test_lint_per_day_cap_on_callable_days(tmp_path):
    """An account per-day cap over the callable weekdays also bounds the week."""
    text = """
[window]
sat = "none"
sun = "none"
[caps.account]
per_day = 1
[[frequency]]
statuses = ["new"]
every_days = 1
"""
    findings = lint(load_policy(write_policy(tmp_path, text)))
    assert [(f.level, f.where) for f in findings] == [("error", "base")]
    assert "caps.account.per_day = 1 on 5 callable weekdays allows 5" in findings[0].message


def test_policy_check_cli_reports_contradiction(tmp_path):
    """`dialplan policy check FILE` exits 1 and prints the error naming segment and key."""
    path = write_policy(tmp_path, CONTRADICTION)
    result = CliRunner().invoke(cli, ["policy", "check", str(path)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{path}: policy 'custom' sha256 ")
    assert lines[1:] == [
        "  error: segment MA: frequency rule 1 (contactable): needs 3 a week but caps.account.per_7_days = 2 allows 2",
        "1 errors, 0 warnings",
    ]


@pytest.mark.parametrize("pack", PACKS)
def test_packs_lint_without_errors(pack):
    """Every pack lints with 0 errors (warnings allowed), via lint() and the CLI (exit 0)."""
    policy = load_policy(pack)
    assert [f for f in lint(policy) if f.level == "error"] == []
    result = CliRunner().invoke(cli, ["policy", "check", pack])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"pack {pack}: policy '{pack}' sha256 {policy.content_hash[:12]}"
    assert result.output.splitlines()[-1].startswith("0 errors, ")


def test_policy_list_cli():
    """`dialplan policy list` prints every pack with its description."""
    result = CliRunner().invoke(cli, ["policy", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split("\t")[0] for line in lines] == PACKS
    assert lines[2] == "us-regf\tFDCPA / Regulation F with MA and WA segments"


def test_policy_is_immutable_value():
    """A Policy is a frozen dataclass: its fields cannot be reassigned."""
    policy = load_policy("cn-cba-2026")
    assert isinstance(policy, Policy)
    with pytest.raises(AttributeError):
        policy.source = "elsewhere"
