"""What-if scenarios: plan the same day under changed policy, seats or case selection and
compare the figures with the base plan.

A scenario is a TOML file:

    name = "evening-seats"              # optional; default: the file name without .toml
    description = "ten more seats in the evening"

    [policy]                            # any contract section 3 key, laid over the base policy
    window.end = "21:00"                # segment overrides too: segments.cmb.caps.account.per_day = 2

    [seats]
    remove = ["S0003"]                  # seat ids
    remove_teams = ["C"]

    [[seats.add]]                       # N seats like an existing one (any field may be changed)
    like = "S0001"
    count = 10
    shift_start = "17:00"

    [[seats.change]]                    # change seats of some teams / ids (all seats when neither)
    teams = ["A"]
    attempts_per_hour = 24

    [cases]                             # keep only the cases that match every filter given
    segments = ["cmb"]

Each scenario's portfolio is written to a temporary directory (changed tables as CSV, the
others copied, the merged policy as policy.toml) and planned by ``run_plan`` with the base's
solver, time limit and seed, in parallel processes.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import multiprocessing
import os
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import DialplanError, InputError
from .io.portfolio import _breaks_ok, _find
from .policy import Policy, load_policy, parse_policy
from .policy.schema import deep_merge, hhmm_to_minutes, validate
from .report import KPI_ROWS, change, fmt, kpis

SCENARIO_KEYS = {"name", "description", "fit", "policy", "seats", "cases"}
SEAT_KEYS = {"remove", "remove_teams", "add", "change"}
SEAT_FIELDS = {"team", "shift_start", "shift_end", "timezone", "breaks", "attempts_per_hour", "skills", "active"}
CASE_KEYS = {"segments", "statuses", "teams"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
COMPARISON_METRICS = [key for _label, key, _fmt in KPI_ROWS]


class ScenarioError(InputError):
    """A scenario file is unreadable or names an unknown key or a bad value."""


@dataclass
class Scenario:
    name: str
    source: str
    description: str = ""
    policy: dict = field(default_factory=dict)
    remove: list = field(default_factory=list)
    remove_teams: list = field(default_factory=list)
    add: list = field(default_factory=list)
    change: list = field(default_factory=list)
    cases: dict = field(default_factory=dict)
    fit: bool = False  # fit contact rates and hourly curves from history first (dialplan fit)


# --- reading scenario files ---------------------------------------------------------------------

def _str_list(value, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ScenarioError(f"{where} must be a list of strings")
    return list(value)


def _seat_fields(table: dict, where: str, allowed: set[str]) -> dict:
    out = {}
    for key, value in table.items():
        if key not in allowed:
            raise ScenarioError(f"{where}: unknown key '{key}'")
        if key in ("shift_start", "shift_end"):
            try:
                hhmm_to_minutes(value)
            except ValueError:
                raise ScenarioError(f"{where}: key '{key}' must be HH:MM") from None
            out[key] = value
        elif key == "breaks":
            if not isinstance(value, str) or (value and not _breaks_ok(value)):
                raise ScenarioError(f"{where}: key 'breaks' must be 'HH:MM-HH:MM;...' or \"\"")
            out[key] = value
        elif key == "attempts_per_hour":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ScenarioError(f"{where}: key 'attempts_per_hour' must be a number > 0")
            out[key] = f"{value:g}"
        elif key == "active":
            if not isinstance(value, bool):
                raise ScenarioError(f"{where}: key 'active' must be true or false")
            out[key] = "true" if value else "false"
        elif key in ("like", "prefix", "team", "timezone", "skills"):
            if not isinstance(value, str):
                raise ScenarioError(f"{where}: key '{key}' must be a string")
            out[key] = value
        elif key == "count":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10000:
                raise ScenarioError(f"{where}: key 'count' must be an integer from 1 to 10000")
            out[key] = value
        elif key in ("seats", "teams"):
            out[key] = _str_list(value, f"{where}: key '{key}'")
    return out


def _table(data: dict, key: str, allowed: set, path) -> dict:
    """The scenario's table ``key`` (empty when absent), checked to hold only ``allowed`` keys."""
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ScenarioError(f"{path}: key '{key}' must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ScenarioError(f"{path}: unknown key '{key}.{unknown[0]}' (keys: {', '.join(sorted(allowed))})")
    return table


def read_scenario(path: str | Path) -> Scenario:
    """Read and check one scenario file; ScenarioError (one line, naming file and key) if bad."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario ({exc.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(data) - SCENARIO_KEYS)
    if unknown:
        raise ScenarioError(f"{path}: unknown key '{unknown[0]}' (keys: {', '.join(sorted(SCENARIO_KEYS))})")
    name = data.get("name", path.stem.removesuffix(".toml"))
    if not isinstance(name, str) or not _NAME.match(name) or name == "base":
        raise ScenarioError(f"{path}: key 'name' must be letters, digits, '.', '_' or '-' (and not 'base')")
    sc = Scenario(name=name, source=str(path), description=str(data.get("description", "")))
    if not isinstance(data.get("fit", False), bool):
        raise ScenarioError(f"{path}: key 'fit' must be true or false")
    sc.fit = data.get("fit", False)
    policy = data.get("policy", {})
    if not isinstance(policy, dict):
        raise ScenarioError(f"{path}: key 'policy' must be a table")
    sc.policy = validate(policy, f"{path} [policy]")
    seats = _table(data, "seats", SEAT_KEYS, path)
    sc.remove = _str_list(seats.get("remove", []), f"{path}: key 'seats.remove'")
    sc.remove_teams = _str_list(seats.get("remove_teams", []), f"{path}: key 'seats.remove_teams'")
    for kind, allowed in (("add", SEAT_FIELDS | {"like", "count", "prefix"}), ("change", SEAT_FIELDS - {"team"} | {"seats", "teams"})):
        tables = seats.get(kind, [])
        if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
            raise ScenarioError(f"{path}: key 'seats.{kind}' must be an array of tables ([[seats.{kind}]])")
        clean = [_seat_fields(t, f"{path}: seats.{kind}[{i + 1}]", allowed) for i, t in enumerate(tables)]
        if kind == "add":
            for i, t in enumerate(clean):
                if "like" not in t:
                    raise ScenarioError(f"{path}: seats.add[{i + 1}]: missing key 'like' (the seat to copy)")
                if "prefix" in t and not _NAME.match(t["prefix"]):
                    raise ScenarioError(f"{path}: seats.add[{i + 1}]: key 'prefix' must be letters, digits, '.', '_' or '-'")
        setattr(sc, kind, clean)
    cases = _table(data, "cases", CASE_KEYS, path)
    sc.cases = {k: _str_list(v, f"{path}: key 'cases.{k}'") for k, v in cases.items()}
    return sc


# --- building a scenario's portfolio ------------------------------------------------------------

def toml_value(value) -> str:
    """A value in TOML syntax (tables inline)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("non-finite number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise ValueError(f"cannot write {type(value).__name__} as TOML")


def to_toml(data: dict) -> str:
    return "".join(f"{json.dumps(str(k))} = {toml_value(v)}\n" for k, v in data.items())


def scenario_policy(base: Policy, sc: Scenario) -> Policy:
    """The base policy with the scenario's [policy] keys laid over it (validated)."""
    data = {k: v for k, v in base.data.items() if not (k == "description" and not v)}
    merged = deep_merge(data, sc.policy)
    if "frequency" in sc.policy:
        merged["frequency"] = sc.policy["frequency"]
    return parse_policy(merged, f"{sc.source} [policy]")


def _read_raw(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        return frame.astype(object).where(frame.notna(), "").astype(str)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")


def build_scenario_portfolio(base_dir: Path, base_policy: Policy, sc: Scenario, out: Path) -> Path:
    """Write the scenario's portfolio into directory ``out`` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    policy = scenario_policy(base_policy, sc)
    (out / "policy.toml").write_text(f"# what-if scenario {sc.name} over {base_policy.source}\n" + to_toml(policy.data), encoding="utf-8")
    paths = {t: _find(base_dir, t) for t in ("accounts", "contacts", "seats", "history", "curves", "callbacks")}
    for t in ("accounts", "contacts", "seats"):
        if paths[t] is None:
            raise InputError(f"{t}.csv: required file missing in {base_dir}")
    changed: dict[str, pd.DataFrame] = {}

    seats = _read_raw(paths["seats"])
    if sc.remove or sc.remove_teams or sc.add or sc.change:
        for col in ("team", "breaks", "attempts_per_hour", "active", "timezone", "skills"):
            if col not in seats.columns:
                seats[col] = ""
        unknown = sorted(set(sc.remove) - set(seats["seat_id"]))
        if unknown:
            raise ScenarioError(f"{sc.source}: seats.remove: no seat '{unknown[0]}' in {paths['seats'].name}")
        unknown = sorted(set(sc.remove_teams) - set(seats["team"]))
        if unknown:
            raise ScenarioError(f"{sc.source}: seats.remove_teams: no team '{unknown[0]}' in {paths['seats'].name}")
        for i, ch in enumerate(sc.change):
            pick = pd.Series(True, index=seats.index)
            if "seats" in ch:
                pick &= seats["seat_id"].isin(ch["seats"])
            if "teams" in ch:
                pick &= seats["team"].isin(ch["teams"])
            if not pick.any():
                raise ScenarioError(f"{sc.source}: seats.change[{i + 1}] matches no seat")
            for key, value in ch.items():
                if key not in ("seats", "teams"):
                    seats.loc[pick, key] = value
        added = []
        for i, ad in enumerate(sc.add):
            like = seats.loc[seats["seat_id"] == ad["like"]]
            if like.empty:
                raise ScenarioError(f"{sc.source}: seats.add[{i + 1}]: no seat '{ad['like']}' to copy")
            prefix = ad.get("prefix", f"{ad['like']}-W{i + 1}-")
            rows = pd.concat([like] * ad.get("count", 1), ignore_index=True)
            rows["seat_id"] = [f"{prefix}{k + 1:03d}" for k in range(len(rows))]
            for key, value in ad.items():
                if key not in ("like", "count", "prefix"):
                    rows[key] = value
            added.append(rows)
        removed = seats["seat_id"].isin(sc.remove) | seats["team"].isin(sc.remove_teams)
        gone = set(seats.loc[removed, "seat_id"])
        seats = pd.concat([seats.loc[~removed], *added], ignore_index=True)
        clash = seats["seat_id"][seats["seat_id"].duplicated()]
        if len(clash):
            raise ScenarioError(f"{sc.source}: seats.add: seat id '{clash.iloc[0]}' already exists (set 'prefix')")
        if seats.empty:
            raise ScenarioError(f"{sc.source}: the scenario removes every seat")
        changed["seats"] = seats
    else:
        gone = set()

    accounts = _read_raw(paths["accounts"])
    keep_ids = None
    if sc.cases:
        pick = pd.Series(True, index=accounts.index)
        for key, column in (("segments", "segment"), ("statuses", "status"), ("teams", "team")):
            if key in sc.cases:
                values = accounts[column] if column in accounts.columns else pd.Series("", index=accounts.index)
                pick &= values.isin(sc.cases[key])
        if not pick.any():
            raise ScenarioError(f"{sc.source}: cases: no case matches the filters")
        accounts = accounts.loc[pick]
        keep_ids = set(accounts["account_id"])
        changed["accounts"] = accounts
    if gone and "owner_seat" in accounts.columns and accounts["owner_seat"].isin(gone).any():
        # a case owned by a removed seat loses its owner: any allowed seat may call it
        accounts = accounts.copy()
        accounts.loc[accounts["owner_seat"].isin(gone), "owner_seat"] = ""
        changed["accounts"] = accounts
    for table in ("contacts", "history", "callbacks"):
        path = paths[table]
        if path is None:
            continue
        frame = None
        if keep_ids is not None:
            frame = _read_raw(path)
            frame = frame.loc[frame["account_id"].isin(keep_ids)] if "account_id" in frame.columns else frame
        if table == "callbacks" and gone:
            frame = _read_raw(path) if frame is None else frame
            if "seat_id" in frame.columns and frame["seat_id"].isin(gone).any():
                frame = frame.copy()
                frame.loc[frame["seat_id"].isin(gone), "seat_id"] = ""  # the promising seat is gone: any seat
        if frame is not None:
            changed[table] = frame
    for table, path in paths.items():
        if path is None:
            continue
        if table in changed:
            changed[table].to_csv(out / f"{table}.csv", index=False, lineterminator="\n")
        else:
            shutil.copyfile(path, out / path.name)
    return out


# --- running ------------------------------------------------------------------------------------

def _plan_one(args):
    name, portfolio, date, out, policy, solver, time_limit, seed, max_reject, fit = args
    from .pipeline import run_plan

    fit_out = Path(out).parent / f".{name}-fitted" if fit else None
    result = run_plan(portfolio, date, out, policy=policy, solver=solver, time_limit=time_limit, seed=seed,
                      max_reject=max_reject, fit=fit, fit_out=fit_out)
    return name, result.summary


@dataclass
class WhatIfResult:
    names: list[str]
    summaries: list[dict]
    table: pd.DataFrame  # comparison, one row per run (base first)
    out: Path
    csv: Path
    report: Path


def comparison_table(names: list[str], summaries: list[dict]) -> pd.DataFrame:
    """One row per run: each metric, its change against the base (first row), and that in %."""
    figures = [kpis(s) for s in summaries]
    rows = []
    for name, f in zip(names, figures):
        row = {"scenario": name}
        for key in COMPARISON_METRICS:
            diff, rel = change(f[key], figures[0][key])
            row[key] = f[key]
            row[f"{key}_change"] = None if diff is None else round(diff, 8)
            row[f"{key}_change_pct"] = None if rel is None else round(100 * rel, 6)
        rows.append(row)
    return pd.DataFrame(rows)


def render_comparison(names: list[str], summaries: list[dict]) -> str:
    """The comparison as a text table for the terminal: metrics down, runs across."""
    figures = [kpis(s) for s in summaries]
    lines = [["", *names]]
    for label, key, pattern in KPI_ROWS:
        row = [label]
        for j, f in enumerate(figures):
            text = fmt(f[key], pattern)
            if j:
                diff, rel = change(f[key], figures[0][key])
                if diff is not None:
                    dtext = f"{diff * 100:+.2f} pp" if "%" in pattern else ("+" if diff >= 0 else "") + pattern.format(diff)
                    text += f" ({dtext}" + (f", {rel:+.1%})" if rel is not None else ")")
            row.append(text)
        lines.append(row)
    widths = [max(len(r[i]) for r in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths))).rstrip() for r in lines)


def run_whatif(portfolio, date, scenario_files, out, policy=None, solver="cpsat", time_limit=60.0, seed=0,
               max_reject=0.01, jobs: int | None = None, progress=None) -> WhatIfResult:
    """Plan the base and every scenario, write OUT/plans/<name>/, OUT/comparison.csv and
    OUT/report.html, and return the comparison."""
    from .report import write_report

    portfolio = Path(portfolio)
    if not portfolio.is_dir():
        raise InputError(f"{portfolio}: not a portfolio directory")
    scenarios = [read_scenario(f) for f in scenario_files]
    if not scenarios:
        raise ScenarioError("whatif: give at least one --scenario FILE")
    names = ["base"] + [s.name for s in scenarios]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"whatif: two scenarios are named '{dup[0]}' (set 'name' in one of them)")
    if policy is not None:
        base_policy = load_policy(policy)
    elif (portfolio / "policy.toml").is_file():
        base_policy = load_policy(portfolio / "policy.toml")
    else:
        base_policy = load_policy(None)
    out = Path(out)
    plans = out / "plans"
    with tempfile.TemporaryDirectory(prefix="dialplan-whatif-") as tmp:
        tasks = [("base", portfolio, date, plans / "base", policy, solver, time_limit, seed, max_reject, False)]
        for sc in scenarios:
            built = build_scenario_portfolio(portfolio, base_policy, sc, Path(tmp) / sc.name)
            tasks.append((sc.name, built, date, plans / sc.name, None, solver, time_limit, seed, max_reject, sc.fit))
        workers = max(1, min(len(tasks), jobs or os.cpu_count() or 1))
        summaries: dict[str, dict] = {}
        if workers == 1:
            for task in tasks:
                name, summary = _plan_one(task)
                summaries[name] = summary
                if progress:
                    progress(name)
        else:
            ctx = multiprocessing.get_context("spawn")
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = [pool.submit(_plan_one, t) for t in tasks]
                try:
                    for fut in cf.as_completed(futures):
                        name, summary = fut.result()
                        summaries[name] = summary
                        if progress:
                            progress(name)
                except DialplanError as exc:
                    for f in futures:
                        f.cancel()
                    which = next((t[0] for t, f in zip(tasks, futures) if f.done() and f.exception() is exc), "a scenario")
                    raise type(exc)(f"whatif {which}: {exc}") from None
    ordered = [summaries[n] for n in names]
    table = comparison_table(names, ordered)
    csv = out / "comparison.csv"
    table.to_csv(csv, index=False, lineterminator="\n", float_format="%.12g")
    report = write_report(plans / "base", out / "report.html", compare=[plans / n for n in names[1:]], names=names,
                          title=f"dialplan what-if {date.isoformat()}")
    return WhatIfResult(names, ordered, table, out, csv, report)
