"""Read and validate a portfolio directory (contract section 1).

Every table is read as text, then checked column by column with vectorised masks. A bad row
is not fatal: it goes to ``Portfolio.rejected`` with file, 1-based row number, id, column and
reason, and the run goes on without it. Fatal problems (a missing required file or column,
an unreadable file, too many rejected rows) raise ``InputError`` with one line naming the
file and column. Error messages never contain a phone number or a balance.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from ..columns import duplicated_all, indexer, isin, map_unique
from ..errors import InputError
from ..policy import Policy, load_policy

ROLES = ("debtor", "third_party")
OUTCOMES = ("rpc", "third_party", "no_answer", "busy", "voicemail", "invalid_number", "refused", "complaint")
PHONE_TYPES = ("mobile", "home", "work", "other")
REJECTED_COLUMNS = ["file", "row", "id", "column", "reason"]

# column -> (required, kind). Kinds are validated by _check_column.
TABLES: dict[str, dict[str, tuple[bool, str]]] = {
    "accounts": {
        "account_id": (True, "id"),
        "balance": (True, "amount"),
        "status": (True, "status"),
        "pay_propensity": (False, "probability"),
        "team": (False, "text"),
        "owner_seat": (False, "text"),
        "required_skill": (False, "text"),
        "timezone": (False, "zone"),
        "segment": (False, "text"),
        "stop_contact": (False, "bool"),
    },
    "contacts": {
        "contact_id": (True, "id"),
        "account_id": (True, "ref_account"),
        "phone": (True, "phone"),
        "role": (True, "role"),
        "relation": (False, "text"),
        "phone_type": (False, "phone_type"),
        "timezone": (False, "zones"),
        "rpc_rate": (False, "probability"),
        "do_not_call": (False, "bool"),
    },
    "seats": {
        "seat_id": (True, "id"),
        "team": (False, "text"),
        "shift_start": (True, "hhmm"),
        "shift_end": (True, "hhmm"),
        "timezone": (False, "zone"),
        "breaks": (False, "breaks"),
        "attempts_per_hour": (False, "positive"),
        "skills": (False, "text"),
        "active": (False, "bool"),
    },
    "history": {
        "account_id": (True, "ref_account"),
        "contact_id": (True, "ref_contact"),
        "called_at": (True, "timestamp"),
        "outcome": (True, "outcome"),
    },
    "curves": {
        "phone_type": (True, "phone_type"),
        "hour": (True, "hour"),
        "weight": (True, "nonneg"),
    },
    "callbacks": {
        "account_id": (True, "ref_account"),
        "contact_id": (True, "ref_contact"),
        "at": (True, "timestamp"),
        "seat_id": (False, "ref_seat"),
    },
}
REQUIRED_FILES = ("accounts", "contacts", "seats")
ID_COLUMN = {
    "accounts": "account_id",
    "contacts": "contact_id",
    "seats": "seat_id",
    "history": "contact_id",
    "callbacks": "account_id",
    "curves": "phone_type",
}
MAX_BALANCE = 1e15  # a quadrillion in any currency: more is a data error (and overflows the sums)
MAX_ATTEMPTS_PER_HOUR = 3600  # one attempt a second: more is a data error, and would overflow capacities
BOOL_TRUE = frozenset({"true", "1", "yes"})
BOOL_FALSE = frozenset({"false", "0", "no"})
_HHMM = r"(?:[01]\d|2[0-3]):[0-5]\d|24:00"
_HHMM_RE = re.compile(rf"^(?:{_HHMM})$")
_BREAKS_RE = re.compile(rf"^(?:{_HHMM})-(?:{_HHMM})(?:;(?:{_HHMM})-(?:{_HHMM}))*$")
_TS_RE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_E164_RE = r"^\+[1-9]\d{6,14}$"


@dataclass
class Portfolio:
    """A validated portfolio: one DataFrame per table, only accepted rows, defaults filled in.

    Column types after reading:
    - accounts: account_id, status, team, owner_seat, required_skill, timezone, segment (str,
      "" when absent); balance, pay_propensity (float64, propensity defaulted from the
      account's segment policy by status); stop_contact (bool).
    - contacts: contact_id, account_id, phone, role, relation, phone_type (default "mobile"),
      timezone ("|"-separated zones or ""); rpc_rate (float64, defaulted by role from the
      account's segment policy); do_not_call (bool).
    - seats: seat_id, team, shift_start, shift_end, timezone (default policy zone), breaks,
      skills (str); attempts_per_hour (float64, default from policy); active (bool).
    - history: account_id, contact_id, outcome (str); called_at (datetime64, UTC).
    - curves: phone_type (str), hour (int64), weight (float64).
    - callbacks: account_id, contact_id, seat_id (str); at (datetime64, UTC).
    Each frame also keeps ``row``: the 1-based data row of the input file.
    """

    root: Path
    policy: Policy
    accounts: pd.DataFrame
    contacts: pd.DataFrame
    seats: pd.DataFrame
    history: pd.DataFrame
    curves: pd.DataFrame
    callbacks: pd.DataFrame
    rejected: pd.DataFrame
    inputs: dict = field(default_factory=dict)  # file -> {"rows", "sha256"}

    @property
    def rejected_accounts(self) -> pd.Series:
        """account_id of every rejected accounts row (for dispositions)."""
        r = self.rejected
        return r.loc[r["file"].str.startswith("accounts"), "id"]


def _find(root: Path, table: str) -> Path | None:
    csv, parquet = root / f"{table}.csv", root / f"{table}.parquet"
    if csv.exists() and parquet.exists():
        raise InputError(f"{table}.csv: both {table}.csv and {table}.parquet present; keep one")
    if csv.exists():
        return csv
    if parquet.exists():
        return parquet
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _parquet_text(series: pd.Series) -> pd.Series:
    """A Parquet column as text (object dtype, "" for nulls), as if it had been read from CSV.

    Timestamps with a zone keep their offset; naive ones get none (so they are rejected as
    timestamps, like a CSV timestamp without an offset). Binary values must be UTF-8 (else
    ValueError). An empty column is a text column too, so the string checks work on it."""
    missing = series.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(series):
        fmt = "%Y-%m-%dT%H:%M:%S.%f%z" if getattr(series.dt, "tz", None) is not None else "%Y-%m-%dT%H:%M:%S.%f"
        text = series.dt.strftime(fmt).astype(object)
    elif series.dtype == object and len(series) and series.map(lambda v: isinstance(v, (bytes, bytearray))).any():
        def decode(v):
            if isinstance(v, (bytes, bytearray)):
                try:
                    return bytes(v).decode("utf-8")
                except UnicodeDecodeError:
                    raise ValueError("binary values that are not UTF-8") from None
            return str(v)

        text = series.map(decode).astype(object)
    else:
        text = series.astype(str).astype(object)
    text = text.where(~missing, "")
    # the dtype read_csv(dtype=str) gives (object, or pandas' str dtype): CSV and Parquet read alike
    return pd.Series(text.to_numpy(dtype=object), index=series.index, dtype=object).astype(str)


def _read_table(path: Path, table: str) -> pd.DataFrame:
    """Read one file as text columns; a fatal problem raises InputError naming the file."""
    name = path.name
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a damaged file
            raise InputError(f"{name}: cannot read Parquet file ({exc.__class__.__name__})") from None
        if len(set(frame.columns)) != len(frame.columns):
            raise InputError(f"{name}: duplicate column names in header")
        out = pd.DataFrame(index=frame.index)
        for col in frame.columns:
            try:
                out[str(col)] = _parquet_text(frame[col])
            except ValueError as exc:
                raise InputError(f"{name}: column '{col}' cannot be read as text ({exc})") from None
        return out.reset_index(drop=True)
    try:
        with path.open("rb") as fh:
            head = fh.readline()
        # the header as the CSV parser will see it: up to the first line break of any kind
        # (a file with bare CR line endings is one "line" to readline), quoted fields unquoted
        lines = head.decode("utf-8-sig").splitlines()
        header = next(csv.reader([lines[0]])) if lines else []
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text (row 0, header)") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read file ({exc.strerror or exc.__class__.__name__})") from None
    if not head.strip():
        raise InputError(f"{name}: empty file (no header row)")
    header = [h.strip() for h in header]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise InputError(f"{name}: duplicate column '{duplicated[0]}' in header")
    frame = _read_csv_fast(path, header)
    if frame is not None:
        return frame
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
            skipinitialspace=False,
        )
    except UnicodeDecodeError:
        try:
            path.read_bytes().decode("utf-8")
            where = "a row"
        except UnicodeDecodeError as exc:  # the parser's offset is within its chunk; find the file's
            where = f"byte {exc.start}"
        raise InputError(f"{name}: not UTF-8 text near {where}") from None
    except pd.errors.ParserError as exc:
        match = re.search(r"line (\d+)", str(exc))
        where = f"row {int(match.group(1)) - 1}" if match else "a row"
        raise InputError(f"{name}: malformed CSV at {where} (wrong number of fields)") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{name}: cannot read file ({exc.__class__.__name__})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    for col in frame.columns:
        frame[col] = frame[col].str.strip()
    return frame


def _read_csv_fast(path: Path, header: list[str]) -> pd.DataFrame | None:
    """The frame ``pd.read_csv`` gives below (text columns, values stripped), read by pyarrow's
    multithreaded CSV parser; None when the file is not one of the plain files on which the
    two parsers provably agree, or pyarrow refuses it (then pandas reads it, and names the
    problem). Plain: at least two named columns, no quote character, no NUL byte, no CR other
    than in CRLF line ends, UTF-8; every row with the header's number of fields (pyarrow
    refuses others; pandas pads short rows, or takes a longer first row's extra field as an
    index). Blank lines are skipped by both."""
    if len(header) < 2 or any(h == "" for h in header):
        return None  # pandas names an empty header "Unnamed: i"; one column: blank-line rules
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data.startswith(b"\xef\xbb\xbf"):  # utf-8-sig: a byte-order mark at the start only
        data = data[3:]
    if b'"' in data or b"\x00" in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return None
    first = data[: data.find(b"\n")] if b"\n" in data else data
    try:
        raw = first.rstrip(b"\r").decode("utf-8").split(",")
    except UnicodeDecodeError:
        return None
    if [h.strip() for h in raw] != header:  # the header as pandas reads it, or pandas reads it all
        return None
    import pyarrow as pa
    import pyarrow.csv as pcsv

    auto = [f"f{i}" for i in range(len(header))]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(data),
            read_options=pcsv.ReadOptions(use_threads=True, block_size=1 << 24, skip_rows=1, column_names=auto),
            parse_options=pcsv.ParseOptions(
                delimiter=",", quote_char=False, double_quote=False, escape_char=False,
                newlines_in_values=False, ignore_empty_lines=True,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in auto},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
                check_utf8=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError, OSError):
        return None
    # an ASCII file without whitespace bytes (other than line ends) has no value to strip
    plain = data.isascii() and not any(c in data for c in _ASCII_SPACE)
    del data
    if table.num_columns != len(header):
        return None
    if plain:  # nothing to strip: no value holds a whitespace character
        return table.rename_columns(header).to_pandas()
    stripped = pa.table([pc.utf8_trim_whitespace(c) for c in table.columns], names=header)
    return stripped.to_pandas()


# the ASCII characters str.strip and Arrow's utf8_trim_whitespace remove, but LF and CR (line ends)
_ASCII_SPACE = tuple(bytes([c]) for c in (9, 11, 12, 28, 29, 30, 31, 32))


class _Rejects:
    """Collects rejected rows; the first reason found for a row wins."""

    def __init__(self):
        self.parts: list[pd.DataFrame] = []

    def add(self, file: str, frame: pd.DataFrame, mask: np.ndarray, column: str, reason: str | pd.Series):
        if not mask.any():
            return
        id_col = ID_COLUMN[file.split(".")[0]]
        ids = frame.loc[mask, id_col] if id_col in frame else pd.Series("", index=frame.index[mask])
        part = pd.DataFrame(
            {
                "file": file,
                "row": frame.loc[mask, "row"].to_numpy(),
                "id": ids.to_numpy(),
                "column": column,
                "reason": reason[mask].to_numpy() if isinstance(reason, pd.Series) else reason,
            }
        )
        self.parts.append(part)

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "object") for c in REJECTED_COLUMNS})
        out = pd.concat(self.parts, ignore_index=True)
        return out.drop_duplicates(["file", "row"], keep="first").reset_index(drop=True)


_ZONES = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def _valid_phones(values: pd.Series) -> np.ndarray:
    """E.164 shape and libphonenumber validity (``phonenumbers.is_valid_number`` of the parsed
    number, False when it does not parse). Validity comes from ``rules.zones.phone_validity``:
    the same answer as the per-number call, computed once per class of numbers that provably
    share it (the per-class answers, time zones included, stay memoised for the candidate
    builder's ``phone_zones``)."""
    from ..rules.zones import phone_validity

    shape = values.str.match(_E164_RE).to_numpy()
    result = np.zeros(len(values), dtype=bool)
    if shape.any():
        result[shape] = phone_validity(values[shape])
    return result


def _bad_mask(kind: str, values: pd.Series, policy: Policy, parsed: dict | None = None) -> tuple[np.ndarray, str]:
    """(rows whose non-empty value is invalid for ``kind``, reason). Numbers and timestamps
    parsed on the way are left in ``parsed["value"]`` (NaN / NaT where empty or invalid)."""
    present = (values != "").to_numpy()
    if kind in ("text", "id", "ref_account", "ref_contact", "ref_seat"):
        return np.zeros(len(values), dtype=bool), ""
    if kind in ("amount", "probability", "positive", "nonneg", "hour"):
        number = pd.to_numeric(values.where(values != "", None), errors="coerce").to_numpy(dtype=float)
        if parsed is not None:
            parsed["value"] = number
        notnum = present & ~np.isfinite(number)
        if kind == "amount":  # beyond MAX_BALANCE the expected values overflow to inf
            too_big = present & ~notnum & (number > MAX_BALANCE)
            reason = pd.Series(np.where(too_big, f"balance must be <= {MAX_BALANCE:.0e}", "balance must be a number >= 0"), index=values.index)
            return notnum | (present & (number < 0)) | too_big, reason
        if kind == "probability":
            return notnum | (present & ((number < 0) | (number > 1))), "must be a probability in 0..1"
        if kind == "positive":  # attempts_per_hour: a huge rate would overflow the seat capacities
            too_big = present & ~notnum & (number > MAX_ATTEMPTS_PER_HOUR)
            reason = pd.Series(np.where(too_big, f"must be <= {MAX_ATTEMPTS_PER_HOUR}", "must be a number > 0"), index=values.index)
            return notnum | (present & (number <= 0)) | too_big, reason
        if kind == "nonneg":
            return notnum | (present & (number < 0)), "must be a number >= 0"
        whole = np.isfinite(number) & (np.floor(number) == number)
        return present & ~(whole & (number >= 0) & (number <= 23)), "hour must be an integer 0..23"
    if kind == "bool":
        low = values.str.lower()
        return present & ~isin(low, BOOL_TRUE | BOOL_FALSE), "must be true/false/1/0/yes/no"
    if kind == "zone":
        return present & ~isin(values, _zones()), "unknown IANA time zone"
    if kind == "zones":
        good = map_unique(values, lambda v: not v or all(z.strip() in _zones() for z in v.split("|")), dtype=bool)
        return present & ~good, "unknown IANA time zone"
    if kind == "hhmm":
        return present & ~values.str.match(_HHMM_RE.pattern).to_numpy(), "not a HH:MM time"
    if kind == "breaks":
        good = map_unique(values, lambda v: not v or _breaks_ok(v), dtype=bool)
        return present & ~good, "breaks must be HH:MM-HH:MM;..."
    if kind == "timestamp":
        shape = values.str.match(_TS_RE).to_numpy()
        stamps = pd.to_datetime(values.where(shape, None), utc=True, errors="coerce", format="ISO8601", cache=False)
        if parsed is not None:
            parsed["value"] = stamps
        return present & ~(shape & stamps.notna().to_numpy()), "not an ISO 8601 timestamp with UTC offset"
    if kind == "role":
        return present & ~isin(values, ROLES), "role must be debtor or third_party"
    if kind == "outcome":
        return present & ~isin(values, OUTCOMES), "unknown outcome"
    if kind == "phone_type":
        return present & ~isin(values, PHONE_TYPES), "phone_type must be mobile, home, work or other"
    if kind == "phone":
        return present & ~_valid_phones(values), "not a valid E.164 phone number"
    raise AssertionError(kind)


def _breaks_ok(text: str) -> bool:
    if not _BREAKS_RE.match(text):
        return False
    for part in text.split(";"):
        start, end = part.split("-")
        if start >= end:
            return False
    return True


def _validate_table(table: str, name: str, frame: pd.DataFrame, policy: Policy, rejects: _Rejects, parsed: dict | None = None) -> np.ndarray:
    """Row-level checks of one table; returns the mask of rows kept so far. ``parsed``, when
    given, receives the numbers and timestamps parsed by the checks: column -> values."""
    spec = TABLES[table]
    keep = np.ones(len(frame), dtype=bool)
    for column, (required, kind) in spec.items():
        values = frame[column]
        empty = (values == "").to_numpy()
        if required:
            miss = keep & empty
            rejects.add(name, frame, miss, column, "required value missing")
            keep &= ~miss
        if kind == "status":
            # a segment may name custom statuses of its own
            bad = np.zeros(len(frame), dtype=bool)
            for segment, idx in frame.groupby("segment", sort=False).indices.items():
                bad[idx] = ~isin(values.iloc[idx], policy.for_segment(segment).statuses)
            bad &= (values != "").to_numpy()
            reason = "unknown status"
        else:
            got: dict = {}
            bad, reason = _bad_mask(kind, values, policy, got)
            if parsed is not None and "value" in got:
                parsed[column] = got["value"]
        bad &= keep
        rejects.add(name, frame, bad, column, reason)
        keep &= ~bad
    return keep


def _reject_duplicates(name: str, frame: pd.DataFrame, column: str, keep: np.ndarray, rejects: _Rejects) -> np.ndarray:
    """Every row of a duplicated id is rejected: which copy is right cannot be known."""
    dup = duplicated_all(frame[column]) & keep & (frame[column] != "").to_numpy()
    rejects.add(name, frame, dup, column, "duplicate id")
    return keep & ~dup


def _reject_unknown(name, frame, column, known: pd.Index | set, keep, rejects, reason) -> np.ndarray:
    values = frame[column]
    bad = keep & (values != "").to_numpy() & ~isin(values, known)
    rejects.add(name, frame, bad, column, reason)
    return keep & ~bad


def read_portfolio(root: str | Path, policy: Policy | str | None = None, max_reject: float = 0.01) -> Portfolio:
    """Read and validate the portfolio directory ``root``.

    ``policy`` overrides the directory's policy.toml (a Policy, a pack name or a path); with
    neither, the default pack applies. Raises InputError (one line, naming file and column)
    for fatal problems, including more than ``max_reject`` of any file's rows rejected.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a portfolio directory")
    if isinstance(policy, Policy):
        pol = policy
    elif policy is not None:
        pol = load_policy(policy)
    elif (root / "policy.toml").is_file():
        pol = load_policy(root / "policy.toml")
    else:
        pol = load_policy(None)

    raw: dict[str, pd.DataFrame] = {}
    names: dict[str, str] = {}
    inputs: dict[str, dict] = {}
    for table, spec in TABLES.items():
        path = _find(root, table)
        if path is None:
            if table in REQUIRED_FILES:
                raise InputError(f"{table}.csv: required file missing in {root}")
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in spec})
            name = f"{table}.csv"
        else:
            name = path.name
            frame = _read_table(path, table)
            for column, (required, _kind) in spec.items():
                if column not in frame.columns:
                    if required:
                        raise InputError(f"{name}: missing required column '{column}'")
                    frame[column] = ""
            inputs[name] = {"rows": int(len(frame)), "sha256": _sha256(path)}
        frame["row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
        raw[table], names[table] = frame, name

    rejects = _Rejects()
    parsed: dict[str, dict] = {t: {} for t in TABLES}  # numbers and timestamps, parsed once
    keep = {t: _validate_table(t, names[t], raw[t], pol, rejects, parsed[t]) for t in TABLES}

    acc, con, sea = raw["accounts"], raw["contacts"], raw["seats"]
    keep["accounts"] = _reject_duplicates(names["accounts"], acc, "account_id", keep["accounts"], rejects)
    keep["seats"] = _reject_duplicates(names["seats"], sea, "seat_id", keep["seats"], rejects)
    inverted = keep["seats"] & (sea["shift_start"] >= sea["shift_end"]).to_numpy()
    rejects.add(names["seats"], sea, inverted, "shift_end", "shift_end must be after shift_start (no overnight shifts)")
    keep["seats"] &= ~inverted
    keep["contacts"] = _reject_duplicates(names["contacts"], con, "contact_id", keep["contacts"], rejects)
    seat_ids = sea.loc[keep["seats"], "seat_id"]
    # an owner seat that does not exist would leave the case callable by nobody: reject it
    keep["accounts"] = _reject_unknown(
        names["accounts"], acc, "owner_seat", seat_ids, keep["accounts"], rejects, "unknown owner_seat"
    )
    # each reference column is looked up once: the position of its id in the accounts (contacts)
    # file, first copy; an id that survives validation has one copy (duplicates are rejected)
    con_acc_pos = indexer(acc["account_id"], con["account_id"])
    acc_kept = np.append(keep["accounts"], False)  # position -1 (absent) reads False
    # contacts: unknown account vs account rejected are different reasons
    unknown = keep["contacts"] & (con_acc_pos < 0)
    rejects.add(names["contacts"], con, unknown, "account_id", "unknown account_id")
    keep["contacts"] &= ~unknown
    cascade = keep["contacts"] & ~acc_kept[con_acc_pos]
    rejects.add(names["contacts"], con, cascade, "account_id", "account rejected")
    keep["contacts"] &= ~cascade
    con_kept = np.append(keep["contacts"], False)
    for table in ("history", "callbacks"):
        frame = raw[table]
        a_pos = indexer(acc["account_id"], frame["account_id"])
        c_pos = indexer(con["contact_id"], frame["contact_id"])
        k = keep[table]
        bad = k & (frame["account_id"] != "").to_numpy() & ~acc_kept[a_pos]
        rejects.add(names[table], frame, bad, "account_id", "unknown or rejected account_id")
        k = k & ~bad
        bad = k & (frame["contact_id"] != "").to_numpy() & ~con_kept[c_pos]
        rejects.add(names[table], frame, bad, "contact_id", "unknown or rejected contact_id")
        k = k & ~bad
        # (contact_id, account_id) must be a kept contact's pair
        mismatch = k & (np.append(con_acc_pos, -1)[c_pos] != a_pos)
        rejects.add(names[table], frame, mismatch, "account_id", "contact belongs to another account")
        keep[table] = k & ~mismatch
    keep["callbacks"] = _reject_unknown(
        names["callbacks"], raw["callbacks"], "seat_id", seat_ids, keep["callbacks"], rejects, "unknown seat_id"
    )
    cur = raw["curves"]
    dup_curve = keep["curves"] & cur.duplicated(["phone_type", "hour"], keep=False).to_numpy()
    rejects.add(names["curves"], cur, dup_curve, "hour", "duplicate (phone_type, hour)")
    keep["curves"] &= ~dup_curve

    rejected = rejects.frame().sort_values(["file", "row"], kind="stable").reset_index(drop=True)
    for table in TABLES:
        total = len(raw[table])
        bad = int((~keep[table]).sum())
        if total and bad / total > max_reject:
            raise InputError(
                f"{names[table]}: {bad} of {total} rows rejected ({bad / total:.1%}), above --max-reject "
                f"{max_reject:.1%}; first: row {int(rejected.loc[rejected['file'] == names[table], 'row'].iloc[0])} "
                f"column '{rejected.loc[rejected['file'] == names[table], 'column'].iloc[0]}': "
                f"{rejected.loc[rejected['file'] == names[table], 'reason'].iloc[0]}"
            )

    kept = {t: {c: _kept_values(v, keep[t]) for c, v in parsed[t].items()} for t in TABLES}
    accounts = _finish_accounts(acc[keep["accounts"]].reset_index(drop=True), pol, kept["accounts"])
    contacts = _finish_contacts(con[keep["contacts"]].reset_index(drop=True), accounts, pol, kept["contacts"])
    seats = _finish_seats(sea[keep["seats"]].reset_index(drop=True), pol, kept["seats"])
    history = raw["history"][keep["history"]].reset_index(drop=True)
    history["called_at"] = _timestamps(history["called_at"], kept["history"].get("called_at"))
    history = history[["account_id", "contact_id", "called_at", "outcome", "row"]]
    curves = raw["curves"][keep["curves"]].reset_index(drop=True)
    curves = pd.DataFrame(
        {
            "phone_type": curves["phone_type"],
            "hour": _numbers(curves["hour"], kept["curves"].get("hour")).astype("int64"),
            "weight": _numbers(curves["weight"], kept["curves"].get("weight")).astype("float64"),
            "row": curves["row"],
        }
    )
    callbacks = raw["callbacks"][keep["callbacks"]].reset_index(drop=True)
    callbacks["at"] = _timestamps(callbacks["at"], kept["callbacks"].get("at"))
    callbacks = callbacks[["account_id", "contact_id", "at", "seat_id", "row"]]
    return Portfolio(root, pol, accounts, contacts, seats, history, curves, callbacks, rejected, inputs)


def _kept_values(values, keep: np.ndarray):
    """The parsed values of the kept rows (a numpy array or a datetime Series, renumbered)."""
    if isinstance(values, pd.Series):
        return values[keep].reset_index(drop=True)
    return values[keep]


def _numbers(values: pd.Series, parsed: np.ndarray | None, optional: bool = False) -> pd.Series:
    """``pd.to_numeric`` of the kept, valid ``values`` (empty -> NaN when ``optional``), taken
    from what the checks parsed when that is provably the same: ``to_numeric`` reads a column
    of integers as int64 but one with any other value as floats, and the two readings can
    differ only from 2**53 on (below it both are exact) and in the sign of a zero ("-0")."""
    if parsed is not None and len(parsed) == len(values):
        finite = parsed[np.isfinite(parsed)]
        if not len(finite) or (np.abs(finite).max() < 2.0**53 and not np.signbit(finite[finite == 0]).any()):
            return pd.Series(parsed, index=values.index, dtype="float64")
    if optional:
        return pd.to_numeric(values.where(values != "", None), errors="coerce")
    return pd.to_numeric(values)


def _timestamps(values: pd.Series, parsed: pd.Series | None) -> pd.Series:
    """``pd.to_datetime`` of the kept, valid timestamps, taken from what the checks parsed when
    its resolution is microseconds (then the kept rows alone need no finer one either)."""
    if parsed is not None and len(parsed) == len(values) and str(parsed.dtype) == "datetime64[us, UTC]":
        return pd.Series(parsed.array, index=values.index)
    return pd.to_datetime(values, utc=True, format="ISO8601", cache=False)


def _to_bool(values: pd.Series, default: bool) -> np.ndarray:
    low = values.str.lower()
    out = isin(low, BOOL_TRUE).copy()
    if default:
        out |= (low == "").to_numpy()
    return out


def _finish_accounts(frame: pd.DataFrame, policy: Policy, parsed: dict | None = None) -> pd.DataFrame:
    parsed = parsed or {}
    out = frame.copy()
    out["balance"] = _numbers(out["balance"], parsed.get("balance")).astype("float64")
    prop = _numbers(out["pay_propensity"], parsed.get("pay_propensity"), optional=True)
    default = np.empty(len(out), dtype=float)
    for (segment, status), idx in out.groupby(["segment", "status"], sort=False).indices.items():
        default[idx] = policy.for_segment(segment).default_pay_propensity(status)
    out["pay_propensity"] = prop.fillna(pd.Series(default, index=out.index)).astype("float64")
    out["stop_contact"] = _to_bool(out["stop_contact"], False)
    return out


def _finish_contacts(frame: pd.DataFrame, accounts: pd.DataFrame, policy: Policy, parsed: dict | None = None) -> pd.DataFrame:
    parsed = parsed or {}
    out = frame.copy()
    out["phone_type"] = out["phone_type"].where(out["phone_type"] != "", "mobile")
    out["timezone"] = pd.Series(
        map_unique(out["timezone"], lambda v: "|".join(z.strip() for z in v.split("|")) if v else v), index=out.index
    ).astype(out["timezone"].dtype)
    rate = _numbers(out["rpc_rate"], parsed.get("rpc_rate"), optional=True)
    pos = indexer(accounts["account_id"], out["account_id"])
    segment = np.where(pos >= 0, accounts["segment"].to_numpy(dtype=object)[pos], "")
    default = np.empty(len(out), dtype=float)
    for (seg, role), idx in pd.DataFrame({"s": segment, "r": out["role"]}).groupby(["s", "r"], sort=False).indices.items():
        default[idx] = policy.for_segment(seg).default_rpc_rate(role)
    out["rpc_rate"] = rate.fillna(pd.Series(default, index=out.index)).astype("float64")
    out["do_not_call"] = _to_bool(out["do_not_call"], False)
    return out


def _finish_seats(frame: pd.DataFrame, policy: Policy, parsed: dict | None = None) -> pd.DataFrame:
    parsed = parsed or {}
    out = frame.copy()
    out["timezone"] = out["timezone"].where(out["timezone"] != "", policy.timezone)
    aph = _numbers(out["attempts_per_hour"], parsed.get("attempts_per_hour"), optional=True)
    out["attempts_per_hour"] = aph.fillna(policy.default_attempts_per_hour).astype("float64")
    out["active"] = _to_bool(out["active"], True)
    return out
