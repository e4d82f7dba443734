"""dialplan report: one self-contained HTML file, rendered in headless Chromium without errors."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pandas as pd
import pytest
from click.testing import CliRunner

from dialplan.cli import cli
from dialplan.pipeline import run_plan
from dialplan.synth import synth_portfolio

DATE = dt.date(2026, 11, 30)
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (.ci/run installs Debian's chromium; it could not here)")


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    synth_portfolio(root / "book", accounts=150, seats=4, flavor="cn", date=DATE, seed=11)
    run_plan(root / "book", DATE, root / "greedy", solver="greedy", time_limit=20)
    run_plan(root / "book", DATE, root / "hopper", solver="hopper", time_limit=20)
    return root


def render(path) -> tuple[str, list[str]]:
    """(DOM after scripts ran, console lines) of ``path`` in headless Chromium."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--enable-logging=stderr", "--v=0",
         "--dump-dom", path.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


def test_report_is_self_contained_and_masks_phones(plans, tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", str(plans / "greedy"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text("utf-8")
    # nothing is fetched: no external src/href, no @import or url()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "@import" not in text and "url(" not in text
    phones = pd.read_csv(plans / "greedy" / "plan.csv", dtype=str)["phone"].unique()
    assert len(phones) > 10
    assert not [p for p in phones if p in text or p.lstrip("+") in text], "a full phone number is in the report"
    assert "phone (masked)" in text and "*****" in text
    for heading in ("Planned attempts against seat capacity", "Expected recovery by hour", "Obligations", "Seat load", "Dispositions"):
        assert heading in text


@needs_chromium
def test_report_renders_in_chromium_without_console_errors(plans, tmp_path):
    out = tmp_path / "cmp.html"
    result = CliRunner().invoke(cli, ["report", str(plans / "greedy"), "--compare", str(plans / "hopper"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    dom, console = render(out)
    assert console == [], console
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert 'data-rendered="ok"' in body and "data-errors" not in body
    charts = int(re.search(r'data-charts="(\d+)"', body).group(1))
    assert charts >= 2 * 5, "each plan gets its charts"
    assert "<th>greedy</th>" in dom and "<th>hopper</th>" in dom


@needs_chromium
def test_the_chromium_check_sees_a_broken_page(tmp_path):
    """The check above can fail: a page whose script throws shows a console error."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><html><body><script>null.x()</script></body></html>", encoding="utf-8")
    _dom, console = render(bad)
    assert console and "Uncaught" in console[0]


def test_report_of_a_non_plan_is_one_line_exit_2(tmp_path):
    (tmp_path / "p").mkdir()
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "p"), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "required plan file missing" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


def test_recovery_by_hour_adds_up(plans):
    import json

    summary = json.loads((plans / "greedy" / "summary.json").read_text())
    assert sum(summary["recovery_by_hour"].values()) == pytest.approx(summary["expected_recovery"], rel=1e-9)
    cap = pd.read_csv(plans / "greedy" / "capacity.csv")
    assert cap["capacity"].sum() == summary["capacity"]
    att = pd.read_csv(plans / "greedy" / "plan.csv").groupby(["seat_id", "slot_start"]).size()
    joined = cap.set_index(["seat_id", "slot_start"])["capacity"].reindex(att.index)
    assert (att <= joined).all(), "no slot of a seat over its capacity"
