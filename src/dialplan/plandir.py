"""Read a published plan directory (contract 4) back, for reports and exports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import PlanError

REQUIRED = ("plan.csv", "dispositions.csv", "obligations.csv", "summary.json")


@dataclass
class PlanDir:
    path: Path
    summary: dict
    plan: pd.DataFrame
    dispositions: pd.DataFrame
    obligations: pd.DataFrame
    capacity: pd.DataFrame | None  # capacity.csv (absent in plans written before it existed)
    zones: pd.DataFrame | None  # contact_zones.csv
    seats: list  # seat ids with a queue file (every active seat)


def _csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PlanError(f"{path}: cannot read plan file ({exc.__class__.__name__})") from None


def read_plan_dir(path: str | Path) -> PlanDir:
    """Read the plan directory ``path``; PlanError (one line) when it is not one."""
    path = Path(path)
    if not path.is_dir():
        raise PlanError(f"{path}: not a plan directory")
    for name in REQUIRED:
        if not (path / name).is_file():
            raise PlanError(f"{path / name}: required plan file missing")
    try:
        summary = json.loads((path / "summary.json").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"{path / 'summary.json'}: cannot read ({exc.__class__.__name__})") from None
    if not isinstance(summary, dict) or "date" not in summary:
        raise PlanError(f"{path / 'summary.json'}: no 'date' key")
    plan = _csv(path / "plan.csv")
    missing = [c for c in ("seat_id", "seq", "slot_start", "slot_end", "account_id", "contact_id", "phone", "role", "p_contact", "reason") if c not in plan.columns]
    if missing:
        raise PlanError(f"{path / 'plan.csv'}: missing column '{missing[0]}'")
    plan["seq"] = pd.to_numeric(plan["seq"]).astype("int64")
    plan["p_contact"] = pd.to_numeric(plan["p_contact"]).astype("float64")
    capacity = _csv(path / "capacity.csv") if (path / "capacity.csv").is_file() else None
    if capacity is not None:
        capacity["capacity"] = pd.to_numeric(capacity["capacity"]).astype("int64")
    zones = _csv(path / "contact_zones.csv") if (path / "contact_zones.csv").is_file() else None
    queues = path / "queues"
    seats = sorted(p.name[:-4] for p in queues.iterdir() if p.suffix == ".csv") if queues.is_dir() else sorted(set(plan["seat_id"]))
    return PlanDir(path, summary, plan, _csv(path / "dispositions.csv"), _csv(path / "obligations.csv"), capacity, zones, seats)


def mask_phone(phone: str) -> str:
    """``+8613800138000`` -> ``+86 *********00``: country code and last two digits only."""
    import phonenumbers

    text = str(phone)
    try:
        code = str(phonenumbers.parse(text, None).country_code)
    except phonenumbers.NumberParseException:
        code = ""
    digits = text.lstrip("+")
    rest = digits[len(code):] if code and digits.startswith(code) else digits
    return (f"+{code} " if code else "") + "*" * max(len(rest) - 2, 0) + rest[-2:]
