"""dialplan whatif: scenario files, scenario portfolios, and the comparison's monotonic bounds."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from dialplan.cli import cli
from dialplan.io.portfolio import read_portfolio
from dialplan.policy import load_policy
from dialplan.synth import synth_portfolio
from dialplan.whatif import build_scenario_portfolio, read_scenario, to_toml

DATE = dt.date(2026, 11, 30)
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "portfolio"
SCENARIOS = sorted((ROOT / "examples" / "scenarios").glob("*.toml"))


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("whatif") / "book"
    synth_portfolio(root, accounts=160, seats=4, flavor="cn", date=DATE, seed=21)
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_scenarios_build_on_the_example(tmp_path):
    """At least three example scenarios; each reads and builds a portfolio the reader accepts."""
    assert len(SCENARIOS) >= 3
    base_policy = load_policy(EXAMPLE / "policy.toml")
    base = read_portfolio(EXAMPLE)
    for path in SCENARIOS:
        sc = read_scenario(path)
        built = build_scenario_portfolio(EXAMPLE, base_policy, sc, tmp_path / sc.name)
        p = read_portfolio(built)
        assert len(p.rejected) == len(base.rejected), sc.name
        if sc.name == "evening-seats":
            assert len(p.seats) == len(base.seats) + 10
            assert (p.seats["seat_id"].str.startswith("EV")).sum() == 10
        if sc.name == "window-21":
            assert p.policy.window("debtor", 0) == (8 * 60, 21 * 60)
        if sc.name == "third-party-once":
            assert p.policy.contact_caps("third_party")["per_day"] == 1
        if sc.name == "cmb-only":
            assert set(p.accounts["segment"]) == {"cmb"}
            assert set(p.contacts["account_id"]) <= set(p.accounts["account_id"])
            assert p.policy.for_segment("cmb").account_caps["per_day"] == 2
            assert (p.seats.loc[p.seats["team"] == "B", "attempts_per_hour"] == 24).all()


def test_policy_toml_writer_round_trips():
    import tomllib

    for name in ("cn-collection-2015", "us-regf", "cn-cba-2026"):
        data = load_policy(name).data
        assert tomllib.loads(to_toml(data)) == data


def test_seat_changes_remove_and_add(book, tmp_path):
    sc = read_scenario(write(tmp_path / "s.toml", """
[seats]
remove_teams = ["C"]
[[seats.add]]
like = "S0001"
count = 2
shift_start = "09:00"
[[seats.change]]
seats = ["S0003"]
breaks = ""
attempts_per_hour = 30
"""))
    built = build_scenario_portfolio(book, load_policy(book / "policy.toml") if (book / "policy.toml").exists() else load_policy(None), sc, tmp_path / "b")
    seats = read_portfolio(built).seats.set_index("seat_id")
    base = read_portfolio(book).seats.set_index("seat_id")
    added = seats.loc[seats.index.str.startswith("S0001-W1-")]
    kept = seats.loc[~seats.index.str.startswith("S0001-W1-")]
    assert set(kept.index) == set(base.index[base["team"] != "C"]), "removal applies to the base seats; adds come after"
    assert len(added) == 2 and (added["shift_start"] == "09:00").all()
    assert (added["team"] == base.loc["S0001", "team"]).all()
    assert seats.loc["S0003", "attempts_per_hour"] == 30 and seats.loc["S0003", "breaks"] == ""


@pytest.mark.parametrize(("text", "message"), [
    ("colour = 1\n", "unknown key 'colour'"),
    ("[policy]\nwindow.end = '25:00'\n", "key 'window.end'"),
    ("[policy]\ncaps.debtor.per_dy = 2\n", "unknown key 'caps.debtor.per_dy'"),
    ("[[seats.add]]\ncount = 2\n", "missing key 'like'"),
    ("[[seats.add]]\nlike = 'S9999'\n", "no seat 'S9999'"),
    ("[cases]\nsegments = ['no-such-bank']\n", "no case matches"),
    ("[seats]\nremove_teams = ['ZZ']\n", "no team 'ZZ'"),
    ("name = 'base'\n", "key 'name'"),
    ("[policy\n", "not valid TOML"),
    ("fit = 'yes'\n", "key 'fit'"),
])
def test_bad_scenario_is_one_line_exit_2(book, tmp_path, text, message):
    path = write(tmp_path / "bad.toml", text)
    result = CliRunner().invoke(cli, ["whatif", str(book), "--date", "2026-11-30", "--scenario", str(path),
                                      "--solver", "greedy", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert message in result.output and "bad.toml" in result.output
    assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output
    assert not (tmp_path / "out" / "comparison.csv").exists()


def test_whatif_bounds_move_the_right_way(book, tmp_path):
    """More seats never lower the upper bound; a narrower window never raises it. The
    comparison's changes agree with the plans' own summaries."""
    files = [
        write(tmp_path / "more1.toml", "[[seats.add]]\nlike = 'S0001'\n"),
        write(tmp_path / "more3.toml", "[[seats.add]]\nlike = 'S0002'\ncount = 3\n[[seats.add]]\nlike = 'S0004'\n"),
        write(tmp_path / "end21.toml", "[policy]\nwindow.end = '21:00'\n"),
        write(tmp_path / "ten-to-eight.toml", "[policy]\nwindow.start = '10:00'\nwindow.end = '20:00'\n"),
    ]
    out = tmp_path / "out"
    args = ["whatif", str(book), "--date", "2026-11-30", "--solver", "greedy", "--time-limit", "20", "--out", str(out), "--jobs", "2"]
    for f in files:
        args += ["--scenario", str(f)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "expected recovery" in result.output and "upper bound" in result.output
    table = pd.read_csv(out / "comparison.csv").set_index("scenario")
    assert list(table.index) == ["base", "more1", "more3", "end21", "ten-to-eight"]
    ub = table["upper_bound"]
    assert ub["more1"] >= ub["base"] - 1e-6 and ub["more3"] >= ub["more1"] - 1e-6
    assert ub["end21"] <= ub["base"] + 1e-6 and ub["ten-to-eight"] <= ub["end21"] + 1e-6
    assert table.loc["more3", "capacity"] > table.loc["base", "capacity"]
    for name in table.index:
        summary = json.loads((out / "plans" / name / "summary.json").read_text())
        assert summary["solver"]["name"] == "greedy"
        assert table.loc[name, "expected_recovery"] == pytest.approx(summary["expected_recovery"], rel=1e-9)
        assert table.loc[name, "attempts"] == summary["attempts"]
        diff = summary["expected_recovery"] - table.loc["base", "expected_recovery"]
        assert table.loc[name, "expected_recovery_change"] == pytest.approx(diff, abs=1e-4)
        assert table.loc[name, "expected_recovery_change_pct"] == pytest.approx(100 * diff / table.loc["base", "expected_recovery"], abs=1e-4)
    html = (out / "report.html").read_text("utf-8")
    assert all(f"<th>{n}</th>" in html for n in table.index)


def test_whatif_compares_default_and_fitted_rates(book, tmp_path):
    """A scenario with ``fit = true`` plans with rates fitted from history (its summary says
    so); the base keeps the portfolio's rates."""
    sc = write(tmp_path / "fitted.toml", "name = 'fitted'\nfit = true\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["whatif", str(book), "--date", "2026-11-30", "--scenario", str(sc),
                                      "--solver", "hopper", "--time-limit", "20", "--out", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    base = json.loads((out / "plans" / "base" / "summary.json").read_text())
    fitted = json.loads((out / "plans" / "fitted" / "summary.json").read_text())
    assert "fit" not in base and "fit" in fitted
    table = pd.read_csv(out / "comparison.csv").set_index("scenario")
    assert list(table.index) == ["base", "fitted"]
