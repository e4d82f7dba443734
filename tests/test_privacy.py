"""Privacy (issue 8, point 5): no phone number or balance of the input in logs, progress,
errors or reports.

Runs the real command line (subprocesses, so ``--log-level debug`` really configures logging)
for ``plan`` (cpsat, greedy, a solver fault with the hopper fallback, a refused plan),
``verify`` (text and JSON, compliant and not), ``policy check``, and failing inputs (too many
bad phones, bad balances, a non-UTF-8 phone, a plan that breaks rules), captures stdout and
stderr and every written file except plan.csv and queues/ (the dialer's files, which must
hold the numbers), and greps them for every phone number of the input (E.164, without the
plus, national significant number, national format) and every balance (as written in the
file and formatted with thousands separators).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import phonenumbers
import pytest

from dialplan.synth import synth_portfolio

DATE = "2026-11-30"
EXEMPT = {"plan.csv"}  # and everything under queues/

FAULTS = textwrap.dedent(
    """
    # dialplan with a broken solver: FAULT=raise (cpsat raises), FAULT=double (every attempt twice)
    import os, sys
    import pandas as pd
    import dialplan.solve as s
    real = s.solve
    def solve(cands, solver="cpsat", **kw):
        if os.environ["FAULT"] == "raise" and solver != "hopper":
            raise MemoryError("budget")
        plan = real(cands, solver="hopper", **kw)
        if os.environ["FAULT"] == "double":
            bad = pd.concat([plan.attempts, plan.attempts], ignore_index=True)[["account", "cand", "slot", "seat"]]
            plan = type(plan)(cands, bad, solver=dict(plan.solver), upper_bound=plan.upper_bound)
        return plan
    s.solve = solve
    from dialplan.cli import main
    sys.argv = ["dialplan", *sys.argv[1:]]
    main()
    """
)


def secrets(book: Path) -> list[tuple[str, re.Pattern, int]]:
    """(what, pattern, how many forms) for the phone forms and the balances of the book."""
    con = pd.read_csv(book / "contacts.csv", dtype=str, keep_default_na=False)
    acc = pd.read_csv(book / "accounts.csv", dtype=str, keep_default_na=False)
    forms: set[str] = set()
    for phone in con["phone"]:
        if not phone:
            continue
        forms.add(phone)
        digits = re.sub(r"\D", "", phone)
        if len(digits) >= 7:
            forms.add(digits)
        try:
            number = phonenumbers.parse(phone, None)
        except phonenumbers.NumberParseException:
            continue
        forms.add(str(number.national_number))
        forms.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
        forms.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))
    phones = sorted((f for f in forms if len(re.sub(r"\D", "", f)) >= 7), key=len, reverse=True)
    balances = set()
    for balance in acc["balance"]:
        try:
            value = float(balance)
        except ValueError:
            continue
        if len(balance) < 5:  # "10", "800": too short to tell from a count
            continue
        balances |= {balance, f"{value:,.2f}", f"{value:.2f}", repr(value)}
    balances = sorted(balances, key=len, reverse=True)
    # one alternation per kind (longest first), so the grep is one pass per text
    return [
        ("phone", re.compile(r"(?<!\d)(?:" + "|".join(map(re.escape, phones)) + r")(?!\d)"), len(phones)),
        ("balance", re.compile(r"(?<![\d.,])(?:" + "|".join(map(re.escape, balances)) + r")(?!\d)"), len(balances)),
    ]


def run(*args: str, fault: str | None = None, cwd: Path) -> str:
    """stdout + stderr of one dialplan command."""
    if fault:
        script = cwd / "faults.py"
        script.write_text(FAULTS, encoding="utf-8")
        cmd = [sys.executable, str(script), *args]
    else:
        cmd = [sys.executable, "-m", "dialplan.cli", *args]
    env = {"FAULT": fault or "", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    return f"$ {' '.join(args)} -> {proc.returncode}\n{proc.stdout}{proc.stderr}"


def written(root: Path) -> dict[str, str]:
    """Every written file under ``root`` except the dialer's (plan.csv, queues/)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or path.name in EXEMPT or "queues" in rel.parts:
            continue
        out[str(rel)] = path.read_text(encoding="utf-8", errors="replace")
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """Every command of the nightly run, good and failing, on one small book."""
    root = tmp_path_factory.mktemp("privacy")
    book = root / "book"
    synth_portfolio(book, accounts=150, seats=3, flavor="cn", date=dt.date(2026, 11, 30), seed=11, fmt="csv")
    # a few bad rows that are rejected (rejected.csv must not quote them either)
    con = pd.read_csv(book / "contacts.csv", dtype=str, keep_default_na=False)
    con.loc[0, "phone"] = con.loc[0, "phone"][:-3]
    con.loc[1, "phone"] = con.loc[1, "phone"].replace("+", "00")
    con.to_csv(book / "contacts.csv", index=False)
    logs: dict[str, str] = {}
    debug = ["--log-level", "debug"]
    out = root / "out"
    logs["plan cpsat"] = run(*debug, "plan", str(book), "--date", DATE, "--out", str(out / "cpsat"), "--solver", "cpsat",
                             "--time-limit", "5", "--max-reject", "0.1", cwd=root)
    logs["plan greedy"] = run(*debug, "plan", str(book), "--date", DATE, "--out", str(out / "greedy"), "--solver", "greedy",
                              "--max-reject", "0.1", cwd=root)
    logs["plan fallback"] = run(*debug, "plan", str(book), "--date", DATE, "--out", str(out / "fallback"), "--solver", "greedy",
                                "--max-reject", "0.1", fault="raise", cwd=root)
    logs["plan refused"] = run(*debug, "plan", str(book), "--date", DATE, "--out", str(out / "refused"), "--solver", "greedy",
                               "--max-reject", "0.1", fault="double", cwd=root)
    logs["plan no-verify"] = run(*debug, "plan", str(book), "--date", DATE, "--out", str(out / "bad"), "--solver", "greedy",
                                 "--max-reject", "0.1", "--no-verify", fault="double", cwd=root)
    for name in ("cpsat", "bad"):
        logs[f"verify {name}"] = run(*debug, "verify", str(book), str(out / name), cwd=root)
        logs[f"verify {name} json"] = run(*debug, "verify", str(book), str(out / name), "--json", cwd=root)
    logs["policy check"] = run(*debug, "policy", "check", str(book / "policy.toml"), cwd=root)
    logs["policy check pack"] = run(*debug, "policy", "check", "us-regf", cwd=root)
    # failing inputs
    for name, mutate in {
        "bad phones": lambda c, a: c.assign(phone=c["phone"].str[:-4]),
        "bad balances": lambda c, a: a.assign(balance=a["balance"] + "x"),
        "balances negative": lambda c, a: a.assign(balance="-" + a["balance"]),
    }.items():
        bad = root / name.replace(" ", "_")
        shutil.copytree(book, bad)
        c = pd.read_csv(bad / "contacts.csv", dtype=str, keep_default_na=False)
        a = pd.read_csv(bad / "accounts.csv", dtype=str, keep_default_na=False)
        if name == "bad phones":
            mutate(c, a).to_csv(bad / "contacts.csv", index=False)
        else:
            mutate(c, a).to_csv(bad / "accounts.csv", index=False)
        logs[f"plan {name}"] = run(*debug, "plan", str(bad), "--date", DATE, "--out", str(out / "never"), "--solver", "hopper", cwd=root)
        logs[f"plan {name} max-reject 1"] = run(*debug, "plan", str(bad), "--date", DATE, "--out", str(out / name.replace(" ", "_")),
                                               "--solver", "hopper", "--max-reject", "1", cwd=root)
    bad = root / "not_utf8"
    shutil.copytree(book, bad)
    data = (bad / "contacts.csv").read_bytes()
    (bad / "contacts.csv").write_bytes(data.replace(b"+86", b"+86\xff", 1))
    logs["plan not utf-8"] = run(*debug, "plan", str(bad), "--date", DATE, "--out", str(out / "never"), cwd=root)
    files = {f"file {k}": v for k, v in written(out).items()}
    return book, {**logs, **files}


def test_the_runs_did_what_they_should(runs):
    """The commands ran (so the grep below is over real output): plans written, errors raised."""
    _book, logs = runs
    assert logs["plan cpsat"].startswith("$ --log-level debug plan") and " -> 0\n" in logs["plan cpsat"]
    assert " -> 0\n" in logs["plan fallback"] and "Warning: solver greedy failed (MemoryError)" in logs["plan fallback"]
    assert " -> 4\n" in logs["plan refused"]
    assert " -> 1\n" in logs["verify bad"]
    assert " -> 2\n" in logs["plan bad phones"] and " -> 2\n" in logs["plan bad balances"] and " -> 2\n" in logs["plan not utf-8"]
    assert "DEBUG" in logs["plan greedy"] or "INFO" in logs["plan greedy"]
    assert any("cpsat" in k and k.endswith("/rejected.csv") for k in logs)
    assert any(k.endswith("contact_dispositions.csv") for k in logs)


def test_no_phone_number_or_balance_in_any_output(runs):
    """No output but plan.csv and queues/ holds a phone number or a balance of the input."""
    book, logs = runs
    pats = secrets(book)
    assert pats[0][2] > 300 and pats[1][2] > 150
    leaks = []
    for where, text in logs.items():
        for what, pat, _n in pats:
            m = pat.search(text)
            if m:
                leaks.append(f"{where}: {what} {m.group()!r} in …{text[max(0, m.start() - 60):m.end() + 20]!r}")
    assert not leaks, "\n".join(leaks[:20])


def test_the_grep_finds_a_planted_leak(runs):
    """The check can fail: plan.csv (exempt, it must hold the numbers) is caught by the grep."""
    book, _logs = runs
    plan_csv = next(p for p in book.parent.joinpath("out", "cpsat").glob("plan.csv"))
    text = plan_csv.read_text(encoding="utf-8")
    phones, balances = secrets(book)
    assert phones[1].search(text)
    assert balances[1].search("balance 12,345.67 of " + pd.read_csv(book / "accounts.csv", dtype=str)["balance"].iat[3])
