"""The unattended nightly run (issue 8): accounting identity, atomic and repeatable outputs,
the lock, solver faults, verify in the loop.

Fast solvers (hopper, greedy) on small synthetic books keep this module to well under a minute.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import dialplan.solve as solve_pkg
from dialplan.cli import cli
from dialplan.io.writers import plan_lock, versions_dir
from dialplan.synth import synth_portfolio

DATE = "2026-11-30"
D = dt.date(2026, 11, 30)


def synth(root: Path, accounts: int = 200, seats: int = 4, flavor: str = "cn", seed: int = 1) -> Path:
    synth_portfolio(root, accounts=accounts, seats=seats, flavor=flavor, date=D, seed=seed, fmt="csv")
    return root


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    return synth(tmp_path_factory.mktemp("nightly") / "book")


def plan(book: Path, out: Path, *extra: str, solver: str = "hopper"):
    return CliRunner().invoke(cli, ["plan", str(book), "--date", DATE, "--out", str(out), "--solver", solver, "--quiet", *extra])


def tree(out: Path) -> dict[str, str]:
    """sha256 of every file under ``out`` (the link followed); summary.json without the
    solver's wall-clock seconds, the one figure that differs between identical runs."""
    found = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if path.name == "summary.json":
                summary = json.loads(data)
                summary["solver"].pop("seconds", None)
                data = json.dumps(summary, sort_keys=True).encode()
            found[str(path.relative_to(out))] = hashlib.sha256(data).hexdigest()
    return found


# --- 2. accounting identity ---------------------------------------------------------------


def inject_bad_rows(root: Path) -> dict[str, int]:
    """Append bad rows to a synth book: a negative balance, a duplicated id, a contact of an
    unknown case, a bad phone, contacts of a rejected case (cascade), a bad seat."""
    acc = pd.read_csv(root / "accounts.csv", dtype=str, keep_default_na=False)
    con = pd.read_csv(root / "contacts.csv", dtype=str, keep_default_na=False)
    sea = pd.read_csv(root / "seats.csv", dtype=str, keep_default_na=False)
    bad_acc = acc.iloc[[0, 1, 2]].copy()
    bad_acc["account_id"] = ["BAD1", "BAD2", acc["account_id"].iat[5]]  # BAD1 negative, 3rd duplicates an id
    bad_acc["balance"] = ["-5", "abc", "10"]
    bad_con = con.iloc[[0, 1, 2, 3]].copy()
    bad_con["contact_id"] = ["XC1", "XC2", "XC3", "XC4"]
    bad_con["account_id"] = ["NOPE", acc["account_id"].iat[7], "BAD1", "BAD2"]
    bad_con["phone"] = [bad_con["phone"].iat[0], "+123", bad_con["phone"].iat[2], bad_con["phone"].iat[3]]
    bad_sea = sea.iloc[[0]].copy()
    bad_sea["seat_id"] = ["SBAD"]
    bad_sea["shift_start"] = ["18:00"]
    bad_sea["shift_end"] = ["09:00"]
    pd.concat([acc, bad_acc]).to_csv(root / "accounts.csv", index=False)
    pd.concat([con, bad_con]).to_csv(root / "contacts.csv", index=False)
    pd.concat([sea, bad_sea]).to_csv(root / "seats.csv", index=False)
    return {"accounts": len(acc) + 3, "contacts": len(con) + 4}


@pytest.mark.parametrize(("flavor", "solver"), [("cn", "greedy"), ("us", "hopper")])
def test_every_account_and_contact_is_accounted_for_exactly_once(tmp_path, flavor, solver):
    """Each input accounts row is exactly once: planned or unplanned-with-reason in
    dispositions.csv, or rejected in rejected.csv; each contacts row likewise in
    contact_dispositions.csv or rejected.csv; planned means "appears in plan.csv"."""
    root = synth(tmp_path / "book", accounts=300, seats=5, flavor=flavor, seed=3)
    rows = inject_bad_rows(root)
    out = tmp_path / "plan"
    result = plan(root, out, "--max-reject", "0.5", solver=solver)
    assert result.exit_code == 0, result.output
    rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
    plan_rows = pd.read_csv(out / "plan.csv", dtype=str, keep_default_na=False)
    for table, disp_file, id_col in (("accounts", "dispositions.csv", "account_id"),
                                     ("contacts", "contact_dispositions.csv", "contact_id")):
        inp = pd.read_csv(root / f"{table}.csv", dtype=str, keep_default_na=False)
        inp["row"] = range(1, len(inp) + 1)
        assert len(inp) == rows[table]
        disp = pd.read_csv(out / disp_file, dtype=str, keep_default_na=False)
        rej_rows = set(rejected.loc[rejected["file"] == f"{table}.csv", "row"].astype(int))
        assert rej_rows, f"the injected bad {table} rows are rejected"
        assert disp[id_col].is_unique
        accepted = inp[~inp["row"].isin(rej_rows)]
        # exactly once: the accepted rows are exactly the disposition rows, the rest rejected
        assert sorted(accepted[id_col]) == sorted(disp[id_col])
        assert len(accepted) + len(rej_rows) == len(inp)
        assert set(disp["disposition"]) <= {"planned", "unplanned"}
        planned_ids = set(plan_rows[id_col])
        is_planned = disp["disposition"] == "planned"
        assert set(disp.loc[is_planned, id_col]) == planned_ids
        assert (disp.loc[is_planned, "attempts"].astype(int) > 0).all()
        assert (disp.loc[~is_planned, "reason"] != "").all(), "every unplanned row has a reason"
        assert (disp.loc[~is_planned, "attempts"] == "0").all()
        counts = plan_rows[id_col].value_counts()
        assert (disp.loc[is_planned].set_index(id_col)["attempts"].astype(int) == counts.reindex(disp.loc[is_planned, id_col])).all()
    # the cascade: contacts of a rejected case are rejected with their own reason
    assert {"account rejected", "unknown account_id"} <= set(rejected.loc[rejected["file"] == "contacts.csv", "reason"])


# --- 3. atomic, locked and repeatable outputs ---------------------------------------------

WRAPPER = textwrap.dedent(
    """
    # dialplan plan with slowed-down file writing, so that a kill lands inside it often
    import sys, time
    import dialplan.io.writers as w
    original_write, original_stage = w._write_csv, w.stage_plan_dir
    def slow_write(frame, path):
        original_write(frame, path)
        time.sleep(0.03)
    def stage(*args, **kwargs):
        print("STAGING", file=sys.stderr, flush=True)
        return original_stage(*args, **kwargs)
    w._write_csv = slow_write
    w.stage_plan_dir = stage
    import dialplan.pipeline as p
    p.stage_plan_dir = stage
    from dialplan.cli import main
    sys.argv = ["dialplan", *sys.argv[1:]]
    main()
    """
)


def test_sigkill_leaves_previous_or_new_complete_plan(tmp_path, book):
    """SIGKILL ``dialplan plan`` at random moments (uniformly over the run, and inside the
    write/verify/publish phase); after each kill the plan directory is exactly the previous
    complete plan or the new complete plan, file for file (sha256), never a mix; the next
    run succeeds (no stale lock) and cleans up what the kill left."""
    script = tmp_path / "slow_plan.py"
    script.write_text(WRAPPER, encoding="utf-8")
    runs = {"A": ["--solver", "hopper"], "B": ["--solver", "greedy"]}

    def command(which, out):
        return [sys.executable, str(script), "plan", str(book), "--date", DATE, "--out", str(out), "--quiet", *runs[which]]

    # the two complete plans, for reference, and how long a run takes here
    ref, took = {}, []
    for which in runs:
        started = time.monotonic()
        subprocess.run(command(which, tmp_path / f"ref{which}"), check=True, capture_output=True)
        took.append(time.monotonic() - started)
        ref[which] = tree(tmp_path / f"ref{which}")
    assert ref["A"] != ref["B"]
    out = tmp_path / "plan"
    subprocess.run(command("A", out), check=True, capture_output=True)
    assert tree(out) == ref["A"]
    rng = random.Random(8)
    outcomes = {"killed": 0, "completed": 0, "killed while writing": 0}
    state = "A"
    for trial in range(6):
        which = "B" if state == "A" else "A"
        proc = subprocess.Popen(command(which, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if trial % 2 == 0:
            time.sleep(rng.uniform(0.0, 1.1 * max(took)))  # anywhere in the run (imports, read, solve, write)
        else:
            proc.stderr.readline()  # STAGING: files are about to be written
            time.sleep(rng.uniform(0.0, 0.4))  # inside the ~0.3 s of slowed writing, or just after
            outcomes["killed while writing"] += proc.poll() is None
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            outcomes["killed"] += 1
        else:
            outcomes["completed"] += 1
        proc.wait()
        proc.stderr.close()
        now = tree(out)
        assert now in (ref["A"], ref["B"]), f"trial {trial}: a mix of plans"
        state = "A" if now == ref["A"] else "B"
    assert outcomes["killed while writing"] >= 2, outcomes
    # the next run is not blocked by a lock of a killed run, and cleans up
    subprocess.run(command("A", out), check=True, capture_output=True)
    assert tree(out) == ref["A"]
    left = sorted(p.name for p in versions_dir(out).iterdir())
    assert len(left) <= 2 and not any(name.startswith(".tmp") for name in left), left
    assert not list(tmp_path.glob(".plan.link-*")) and not (tmp_path / ".plan.lock").exists()


def test_publish_replaces_a_plain_directory_and_keeps_one_previous_version(tmp_path, book):
    """A plan directory of an older release (a real directory) is replaced by the link; at
    most the current and the previous version stay on disk."""
    out = tmp_path / "plan"
    out.mkdir()
    (out / "plan.csv").write_text("old\n")
    for _ in range(3):
        assert plan(book, out).exit_code == 0
    assert out.is_symlink() and (out / "plan.csv").read_text() != "old\n"
    assert len(list(versions_dir(out).iterdir())) == 2


def test_second_run_on_a_locked_plan_directory_fails_with_one_line(tmp_path, book):
    """While a run holds the lock, another run on the same plan directory exits 2 at once with
    one line and changes nothing; another plan directory next to it is not blocked."""
    out = tmp_path / "plan"
    assert plan(book, out).exit_code == 0
    before = tree(out)
    with plan_lock(out):
        result = plan(book, out, solver="greedy")
        other = plan(book, tmp_path / "other")
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"Error: {out}: another dialplan run is writing this plan directory (pid {os.getpid()})")
    assert tree(out) == before
    assert other.exit_code == 0, other.output
    assert plan(book, out, solver="greedy").exit_code == 0, "the lock is released"


def test_same_input_date_policy_seed_give_byte_identical_files(tmp_path, book):
    """Two runs (into a new and into an existing plan directory) give byte-identical files;
    in summary.json only solver.seconds (wall clock) may differ."""
    first, second = tmp_path / "one", tmp_path / "two"
    for out in (first, second, second):
        assert plan(book, out, "--seed", "5", solver="greedy").exit_code == 0
    names = sorted(str(p.relative_to(first)) for p in first.rglob("*") if p.is_file())
    assert "plan.csv" in names and "contact_dispositions.csv" in names
    for name in names:
        a, b = (first / name).read_bytes(), (second / name).read_bytes()
        if name == "summary.json":
            a, b = json.loads(a), json.loads(b)
            assert a["solver"].pop("seconds") >= 0 and b["solver"].pop("seconds") >= 0
        assert a == b, name


# --- 4. solver faults ---------------------------------------------------------------------


def test_solver_fault_falls_back_to_the_hopper(tmp_path, book, monkeypatch):
    """The chosen solver raises: the hopper plan is published, summary.json says so,
    stderr warns, exit 0, and the plan passes verify."""
    real = solve_pkg.solve

    def broken(cands, solver="cpsat", **kwargs):
        if solver != "hopper":
            raise MemoryError()
        return real(cands, solver=solver, **kwargs)

    monkeypatch.setattr(solve_pkg, "solve", broken)
    out = tmp_path / "plan"
    result = CliRunner().invoke(cli, ["plan", str(book), "--date", DATE, "--out", str(out), "--solver", "cpsat"])
    assert result.exit_code == 0, result.output
    assert "Warning: solver cpsat failed (MemoryError); published the hopper plan instead" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["solver"]["name"] == "hopper"
    assert summary["solver"]["fallback"] == {"from": "cpsat", "reason": "MemoryError"}
    assert summary["attempts"] > 0
    verify = CliRunner().invoke(cli, ["verify", str(book), str(out)])
    assert verify.exit_code == 0, verify.output


def test_no_plan_at_all_is_exit_3_and_nothing_published(tmp_path, book, monkeypatch):
    """The solver and the hopper fallback both fail: exit 3, one line, the previous plan stays."""
    out = tmp_path / "plan"
    assert plan(book, out).exit_code == 0
    before = tree(out)

    def broken(cands, solver="cpsat", **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(solve_pkg, "solve", broken)
    result = CliRunner().invoke(cli, ["plan", str(book), "--date", DATE, "--out", str(out), "--solver", "greedy"])
    assert result.exit_code == 3, result.output
    assert result.stdout == ""
    assert result.stderr.endswith(
        "Error: solver greedy failed (RuntimeError) and the hopper fallback failed (RuntimeError); nothing planned, nothing published\n")
    assert tree(out) == before


# --- 6. verify in the loop ----------------------------------------------------------------


def test_a_violating_plan_is_refused_unless_no_verify(tmp_path, book, monkeypatch):
    """A solver whose plan breaks a rule (each attempt doubled in its slot): `dialplan plan`
    exits 4 and keeps the previous plan; with --no-verify it publishes what it got."""
    out = tmp_path / "plan"
    assert plan(book, out).exit_code == 0
    before = tree(out)
    real = solve_pkg.solve

    def doubling(cands, solver="cpsat", **kwargs):
        good = real(cands, solver="hopper", **kwargs)
        bad = pd.concat([good.attempts, good.attempts], ignore_index=True)[["account", "cand", "slot", "seat"]]
        return type(good)(cands, bad, solver=dict(good.solver), upper_bound=good.upper_bound)

    monkeypatch.setattr(solve_pkg, "solve", doubling)
    result = CliRunner().invoke(cli, ["plan", str(book), "--date", DATE, "--out", str(out), "--solver", "greedy"])
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"Error: {out}: the plan broke rules {{") and result.stderr.endswith("nothing published\n")
    assert tree(out) == before
    assert not [p for p in versions_dir(out).iterdir() if p.name.startswith(".tmp")]
    unchecked = CliRunner().invoke(cli, ["plan", str(book), "--date", DATE, "--out", str(out), "--solver", "greedy", "--no-verify"])
    assert unchecked.exit_code == 0, unchecked.output
    assert tree(out) != before
    assert CliRunner().invoke(cli, ["verify", str(book), str(out)]).exit_code == 1
