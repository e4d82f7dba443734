"""dialplan export: VICIdial lead files and a Genesys Cloud contact list, read back."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pandas as pd
import phonenumbers
import pytest
from click.testing import CliRunner

from dialplan.cli import cli
from dialplan.export import GENESYS_MAX_COLUMNS, VICIDIAL_COLUMNS, read_vicidial
from dialplan.pipeline import run_plan
from dialplan.synth import synth_portfolio

DATE = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    synth_portfolio(root / "book", accounts=150, seats=4, flavor="us", date=DATE, seed=5)
    run_plan(root / "book", DATE, root / "plan", solver="greedy", time_limit=20)
    return root / "plan"


def planned(plan_dir) -> pd.DataFrame:
    return pd.read_csv(plan_dir / "plan.csv", dtype=str, keep_default_na=False)


def test_vicidial_round_trip(plan_dir, tmp_path):
    """Every planned attempt is one line of its seat's file, with the fields mapped as documented."""
    out = tmp_path / "vici"
    result = CliRunner().invoke(cli, ["export", str(plan_dir), "--format", "vicidial", "--out", str(out), "--list-id", "4242"])
    assert result.exit_code == 0, result.output
    plan = planned(plan_dir)
    assert len(plan) > 50
    back = read_vicidial(out)
    assert list(back.columns[:-1]) == VICIDIAL_COLUMNS and len(VICIDIAL_COLUMNS) == 28
    assert VICIDIAL_COLUMNS[-2:] == ["rank", "owner"]
    queues = sorted(p.stem for p in (plan_dir / "queues").glob("*.csv"))
    assert sorted(p.stem for p in out.glob("*.txt")) == queues, "one file per seat"
    assert (back["file"] == back["owner"] + ".txt").all()
    assert len(back) == len(plan)
    key_back = back["owner"] + "#" + back["rank"]
    key_plan = plan["seat_id"] + "#" + plan["seq"]
    assert key_back.is_unique and set(key_back) == set(key_plan), "every attempt exactly once"
    merged = back.assign(key=key_back).merge(plan.assign(key=key_plan), on="key", validate="one_to_one")
    assert (merged["vendor_lead_code"] == merged["account_id"]).all()
    assert (merged["source_id"] == merged["contact_id"]).all()
    assert ("+" + merged["phone_code"] + merged["phone_number"] == merged["phone"]).all()
    assert (merged["list_id"] == "4242").all() and (merged["status"] == "NEW").all()
    # within one file, lines are in dialling order
    for _seat, frame in back.groupby("owner"):
        assert frame["rank"].astype(int).tolist() == sorted(frame["rank"].astype(int))


def test_genesys_round_trip(plan_dir, tmp_path):
    """The contact list holds every attempt once, E.164 numbers, IANA zones, and its JSON agrees."""
    out = tmp_path / "gen"
    result = CliRunner().invoke(cli, ["export", str(plan_dir), "--format", "genesys", "--out", str(out)])
    assert result.exit_code == 0, result.output
    raw = (out / "contacts.csv").read_bytes()
    raw.decode("utf-8")
    header = raw.split(b"\n", 1)[0].decode().split(",")
    assert len(header) == len(set(header)) <= GENESYS_MAX_COLUMNS
    back = pd.read_csv(out / "contacts.csv", dtype=str, keep_default_na=False)
    plan = planned(plan_dir)
    assert len(back) == len(plan) and back["attempt_id"].is_unique
    assert set(back["seat_id"] + "#" + back["seq"]) == set(plan["seat_id"] + "#" + plan["seq"])
    for phone in back["phone"].unique():
        number = phonenumbers.parse(phone, None)
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == phone
    for zone in back["phone_timezone"].unique():
        ZoneInfo(zone)
    zones = pd.read_csv(plan_dir / "contact_zones.csv", dtype=str).set_index("contact_id")["timezones"].str.split("|").str[0]
    assert (back["phone_timezone"] == back["contact_id"].map(zones)).all()
    desc = json.loads((out / "contact_list.json").read_text("utf-8"))
    assert desc["columnNames"] == header
    for col in desc["phoneColumns"]:
        assert col["columnName"] in header and col["callableTimeColumn"] in header


def test_bad_plan_dir_is_one_line_exit_2(tmp_path):
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "nope"), "--format", "genesys", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "not a plan directory" in result.output
    assert not (tmp_path / "o").exists()


def test_unknown_format_is_usage_error(plan_dir, tmp_path):
    result = CliRunner().invoke(cli, ["export", str(plan_dir), "--format", "csv", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "Traceback" not in result.output
