"""Export a plan directory to dialer import formats: VICIdial lead files and a Genesys Cloud
contact list.

- ``vicidial``: VICIdial's standard lead-load layout, pipe-delimited, no header row, with the
  two trailing columns of the "standard with rank and owner" variant. One file per seat
  (``<seat_id>.txt``), one line per planned attempt in dialling order.
- ``genesys``: ``contacts.csv`` (UTF-8, header row, unique headers, E.164 phone column with an
  IANA time-zone column for it) and ``contact_list.json`` describing the list the way the
  Genesys Cloud contact-list API does (``columnNames``, ``phoneColumns`` with
  ``callableTimeColumn``).

The output directory is written next to its final place and moved in only when complete.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import PlanError
from .io.writers import new_stage, publish
from .plandir import PlanDir, read_plan_dir

VICIDIAL_COLUMNS = [
    "vendor_lead_code", "source_id", "list_id", "phone_code", "phone_number", "title", "first_name", "middle",
    "last_name", "address1", "address2", "address3", "city", "state", "province", "postal_code", "country", "gender",
    "date_of_birth", "alt_phone", "email", "security_phrase", "comments", "called_count", "status", "entry_date",
    "rank", "owner",
]
GENESYS_COLUMNS = [
    "attempt_id", "account_id", "contact_id", "seat_id", "seq", "slot_start", "slot_end", "role", "reason",
    "phone", "phone_timezone",
]
GENESYS_MAX_COLUMNS = 50
FORMATS = ("vicidial", "genesys")


def _split_numbers(phones: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(country calling code, national significant number, ISO region) per E.164 number;
    parsed once per distinct number."""
    import phonenumbers

    uniq, inverse = np.unique(phones.to_numpy(dtype=object).astype(str), return_inverse=True)
    codes, nationals, regions = [], [], []
    for i, text in enumerate(uniq):
        try:
            number = phonenumbers.parse(text, None)
        except phonenumbers.NumberParseException:
            raise PlanError(f"plan.csv: phone of row {int(np.flatnonzero(inverse == i)[0]) + 1} is not an E.164 number") from None
        codes.append(str(number.country_code))
        nationals.append(phonenumbers.national_significant_number(number))
        regions.append(phonenumbers.region_code_for_number(number) or "")
    return (np.array(codes, dtype=object)[inverse], np.array(nationals, dtype=object)[inverse],
            np.array(regions, dtype=object)[inverse])


def _first_zones(pd_: PlanDir) -> np.ndarray:
    """The IANA zone of each planned attempt's contact: the first resolved zone from
    contact_zones.csv; for plans without it, the number's own zone when libphonenumber
    places it in one zone, else the policy zone."""
    plan = pd_.plan
    fallback = pd_.summary.get("timezone") or "UTC"
    if pd_.zones is not None and len(pd_.zones):
        first = pd_.zones.set_index("contact_id")["timezones"].str.split("|").str[0]
        zones = plan["contact_id"].map(first)
    else:
        zones = pd.Series(np.nan, index=plan.index, dtype=object)
    missing = zones.isna() | (zones == "")
    if missing.any():
        import phonenumbers
        from phonenumbers import timezone as ptz

        def one(text):
            try:
                found = [z for z in ptz.time_zones_for_number(phonenumbers.parse(text, None)) if z != "Etc/Unknown"]
            except phonenumbers.NumberParseException:
                found = []
            return found[0] if len(found) == 1 else fallback

        uniq = {p: one(p) for p in plan.loc[missing, "phone"].unique()}
        zones[missing] = plan.loc[missing, "phone"].map(uniq)
    return zones.to_numpy(dtype=object)


def _check_text(plan: pd.DataFrame, columns, forbidden: str, fmt: str) -> None:
    for col in columns:
        bad = plan[col].astype(str).str.contains(forbidden, regex=True)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise PlanError(f"plan.csv: row {row} column '{col}' holds a character the {fmt} format cannot carry")


def vicidial_frames(pd_: PlanDir, list_id: str = "1000") -> dict[str, pd.DataFrame]:
    """seat_id -> its lead file as a frame with VICIDIAL_COLUMNS, rows in dialling order."""
    plan = pd_.plan.sort_values(["seat_id", "seq"], kind="stable").reset_index(drop=True)
    _check_text(plan, ["account_id", "contact_id", "seat_id", "reason"], r"[|\r\n\t]", "vicidial")
    code, national, _region = _split_numbers(plan["phone"])
    date = pd_.summary["date"]
    start = plan["slot_start"].str.slice(11, 16)
    end = plan["slot_end"].str.slice(11, 16)
    frame = pd.DataFrame({c: "" for c in VICIDIAL_COLUMNS}, index=plan.index)
    frame["vendor_lead_code"] = plan["account_id"]
    frame["source_id"] = plan["contact_id"]
    frame["list_id"] = str(list_id)
    frame["phone_code"] = code
    frame["phone_number"] = national
    frame["comments"] = "slot " + start + "-" + end + " " + plan["role"] + " " + plan["reason"]
    frame["called_count"] = "0"
    frame["status"] = "NEW"
    frame["entry_date"] = f"{date} 00:00:00"
    frame["rank"] = plan["seq"].astype(str)
    frame["owner"] = plan["seat_id"]
    groups = dict(tuple(frame.groupby(plan["seat_id"], sort=True)))
    return {seat: groups.get(seat, frame.iloc[0:0])[VICIDIAL_COLUMNS].reset_index(drop=True) for seat in sorted(set(pd_.seats) | set(groups))}


def genesys_frame(pd_: PlanDir) -> tuple[pd.DataFrame, dict]:
    """(contact list rows, contact list description) for Genesys Cloud."""
    plan = pd_.plan.sort_values(["seat_id", "seq"], kind="stable").reset_index(drop=True)
    _split_numbers(plan["phone"])  # every number must parse as E.164
    frame = pd.DataFrame(
        {
            "attempt_id": plan["seat_id"] + "-" + plan["seq"].map("{:05d}".format),
            "account_id": plan["account_id"],
            "contact_id": plan["contact_id"],
            "seat_id": plan["seat_id"],
            "seq": plan["seq"].astype(str),
            "slot_start": plan["slot_start"],
            "slot_end": plan["slot_end"],
            "role": plan["role"],
            "reason": plan["reason"],
            "phone": plan["phone"],
            "phone_timezone": _first_zones(pd_),
        }
    )[GENESYS_COLUMNS]
    assert len(set(GENESYS_COLUMNS)) == len(GENESYS_COLUMNS) <= GENESYS_MAX_COLUMNS
    description = {
        "name": f"dialplan {pd_.summary['date']}",
        "columnNames": list(GENESYS_COLUMNS),
        "phoneColumns": [{"columnName": "phone", "type": "cell", "callableTimeColumn": "phone_timezone"}],
    }
    return frame, description


def _write(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def export_plan(plan_dir, fmt: str, out, list_id: str = "1000") -> dict:
    """Write the export of ``plan_dir`` in ``fmt`` to directory ``out``; returns counts."""
    if fmt not in FORMATS:
        raise PlanError(f"unknown export format {fmt!r} (use {' or '.join(FORMATS)})")
    pd_ = read_plan_dir(plan_dir)
    out = Path(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    try:
        tmp = new_stage(out)
        if fmt == "vicidial":
            frames = vicidial_frames(pd_, list_id)
            for seat, frame in frames.items():
                lines = frame.to_numpy(dtype=str)
                _write(tmp / f"{seat}.txt", "".join("|".join(row) + "\n" for row in lines))
            counts = {"files": len(frames), "rows": int(sum(len(f) for f in frames.values()))}
        else:
            frame, description = genesys_frame(pd_)
            _write(tmp / "contacts.csv", frame.to_csv(index=False, lineterminator="\n"))
            _write(tmp / "contact_list.json", json.dumps(description, indent=2) + "\n")
            counts = {"files": 2, "rows": int(len(frame))}
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PlanError(f"{out}: cannot write export ({exc.strerror or exc.__class__.__name__})") from None
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    publish(tmp, out)
    return counts


def read_vicidial(directory) -> pd.DataFrame:
    """Read back a VICIdial export directory: every line of every ``*.txt`` file."""
    frames = []
    for path in sorted(Path(directory).glob("*.txt")):
        text = path.read_text("utf-8")
        rows = [line.split("|") for line in text.splitlines() if line]
        for i, row in enumerate(rows):
            if len(row) != len(VICIDIAL_COLUMNS):
                raise PlanError(f"{path}: line {i + 1} has {len(row)} fields, expected {len(VICIDIAL_COLUMNS)}")
        frame = pd.DataFrame(rows, columns=VICIDIAL_COLUMNS, dtype=object)
        frame["file"] = path.name
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*VICIDIAL_COLUMNS, "file"])
