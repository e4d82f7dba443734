"""The portfolio reader (contract section 1, docs/rules.md "Input decisions").

Fatal problems are checked through the CLI (exit 2, one exact ``Error:`` line, no plan
directory written); row rejections through ``read_portfolio`` (file, 1-based row, id, column
and reason of every rejected row, the other rows kept, defaults filled in).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from dialplan.cli import cli
from dialplan.errors import InputError
from dialplan.io.portfolio import read_portfolio

DATE = "2026-11-30"

COLUMNS = {
    "accounts": ["account_id", "balance", "status", "pay_propensity", "team", "owner_seat", "required_skill", "timezone", "segment", "stop_contact"],
    "contacts": ["contact_id", "account_id", "phone", "role", "relation", "phone_type", "timezone", "rpc_rate", "do_not_call"],
    "seats": ["seat_id", "team", "shift_start", "shift_end", "timezone", "breaks", "attempts_per_hour", "skills", "active"],
    "history": ["account_id", "contact_id", "called_at", "outcome"],
    "callbacks": ["account_id", "contact_id", "at", "seat_id"],
    "curves": ["phone_type", "hour", "weight"],
}
ID_COLUMN = {
    "accounts": "account_id",
    "contacts": "contact_id",
    "seats": "seat_id",
    "history": "contact_id",
    "callbacks": "account_id",
    "curves": "phone_type",
}
PHONES = ["+8613800138000", "+8613900139000", "+8613700137000", "+8613600136000", "+8618900189000"]


def default_tables() -> dict[str, list[dict]]:
    """A tiny valid portfolio: 4 cases, 5 numbers, 2 seats on 09:00-12:00, some history.

    A4 (row 4) has one contact (C5, row 5) and no history or callback, so rejecting it
    cascades to exactly one contact row.
    """
    return {
        "accounts": [
            {"account_id": "A1", "balance": "10000", "status": "contactable", "pay_propensity": "0.2"},
            {"account_id": "A2", "balance": "5000", "status": "ptp"},
            {"account_id": "A3", "balance": "20000", "status": "lost_contact"},
            {"account_id": "A4", "balance": "800", "status": "new"},
        ],
        "contacts": [
            {"contact_id": "C1", "account_id": "A1", "phone": PHONES[0], "role": "debtor", "relation": "self"},
            {"contact_id": "C2", "account_id": "A2", "phone": PHONES[1], "role": "debtor", "relation": "self"},
            {"contact_id": "C3", "account_id": "A3", "phone": PHONES[2], "role": "debtor", "relation": "self"},
            {"contact_id": "C4", "account_id": "A3", "phone": PHONES[3], "role": "third_party", "relation": "spouse"},
            {"contact_id": "C5", "account_id": "A4", "phone": PHONES[4], "role": "debtor", "relation": "self"},
        ],
        "seats": [
            {"seat_id": "S1", "shift_start": "09:00", "shift_end": "12:00", "attempts_per_hour": "8"},
            {"seat_id": "S2", "shift_start": "09:00", "shift_end": "12:00", "breaks": "10:00-10:15"},
        ],
        "history": [
            {"account_id": "A1", "contact_id": "C1", "called_at": "2026-11-24T10:00:00+08:00", "outcome": "no_answer"},
            {"account_id": "A3", "contact_id": "C3", "called_at": "2026-11-10T10:00:00+08:00", "outcome": "busy"},
        ],
        "callbacks": [
            {"account_id": "A2", "contact_id": "C2", "at": "2026-11-30T10:00:00+08:00", "seat_id": "S1"},
            {"account_id": "A1", "contact_id": "C1", "at": "2026-11-30T11:00:00+08:00"},
        ],
        "curves": [
            {"phone_type": "mobile", "hour": "10", "weight": "1.5"},
            {"phone_type": "home", "hour": "19", "weight": "2"},
        ],
    }


def write_portfolio(root: Path, tables: dict | None = None, fmt: str = "csv", drop: dict | None = None,
                    policy: str | None = None) -> Path:
    """Write ``tables`` (default: ``default_tables()``) under ``root`` as CSV or Parquet.

    Every column of the contract is written (empty when a row lacks it) unless ``drop`` names
    it; keys that are not contract columns are appended as extra columns. A table mapped to
    None is not written.
    """
    tables = default_tables() if tables is None else tables
    drop = drop or {}
    root.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        if rows is None:
            continue
        extra = [k for r in rows for k in r if k not in COLUMNS[name]]
        cols = [c for c in COLUMNS[name] if c not in drop.get(name, ())] + list(dict.fromkeys(extra))
        records = [[r.get(c, "") for c in cols] for r in rows]
        if fmt == "csv":
            with (root / f"{name}.csv").open("w", encoding="utf-8", newline="") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(cols)
                writer.writerows(records)
        else:
            pd.DataFrame(records, columns=cols, dtype=str).to_parquet(root / f"{name}.parquet", index=False)
    if policy is not None:
        (root / "policy.toml").write_text(policy, encoding="utf-8")
    return root


def invoke_plan(book: Path, out: Path, *extra: str):
    """Run ``dialplan plan`` on ``book`` with the fast greedy solver."""
    args = ["plan", str(book), "--date", DATE, "--out", str(out), "--solver", "greedy", "--no-verify", *extra]
    return CliRunner().invoke(cli, args)


def rejected_set(portfolio) -> set[tuple]:
    """The rejected rows as a set of ``(file, row, id, column, reason)``."""
    return {tuple(r) for r in portfolio.rejected[["file", "row", "id", "column", "reason"]].itertuples(index=False)}


def assert_fatal(tmp_path: Path, book: Path, message: str, *extra: str) -> None:
    """The plan command fails with exit 2, exactly ``Error: message``, and writes nothing."""
    out = tmp_path / "plan"
    result = invoke_plan(book, out, *extra)
    assert result.exit_code == 2, result.output
    assert result.output == f"Error: {message}\n"
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [book.name], "no temporary plan directory left behind"


def test_default_portfolio_is_valid(tmp_path):
    """The helper's portfolio reads with no rejection and the documented column types."""
    pf = read_portfolio(write_portfolio(tmp_path / "book"))
    assert len(pf.rejected) == 0
    for table, rows in default_tables().items():
        frame = getattr(pf, table)
        assert frame["row"].tolist() == list(range(1, len(rows) + 1)), table
    assert pf.accounts["balance"].tolist() == [10000.0, 5000.0, 20000.0, 800.0]
    assert str(pf.history["called_at"].dt.tz) == "UTC"
    assert pf.callbacks["at"].tolist()[0] == pd.Timestamp("2026-11-30T02:00:00Z")
    assert pf.curves["hour"].dtype == "int64" and pf.curves["weight"].dtype == "float64"
    assert pf.policy.name == "cn-collection-2015"


# --- fatal problems, through the CLI --------------------------------------------------------


@pytest.mark.parametrize("table", ["accounts", "contacts", "seats"])
def test_missing_required_file_is_fatal(tmp_path, table):
    """A missing accounts/contacts/seats file stops the run with one line naming the file."""
    tables = default_tables()
    tables[table] = None
    book = write_portfolio(tmp_path / "book", tables)
    assert_fatal(tmp_path, book, f"{table}.csv: required file missing in {book}")


def test_optional_files_may_be_missing(tmp_path):
    """history, callbacks and curves are optional: without them the portfolio reads, empty tables."""
    tables = default_tables()
    tables["history"] = tables["callbacks"] = tables["curves"] = None
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables))
    assert (len(pf.history), len(pf.callbacks), len(pf.curves)) == (0, 0, 0)
    assert list(pf.history.columns) == ["account_id", "contact_id", "called_at", "outcome", "row"]
    assert len(pf.rejected) == 0


REQUIRED_COLUMNS = [
    ("accounts", "account_id"), ("accounts", "balance"), ("accounts", "status"),
    ("contacts", "contact_id"), ("contacts", "account_id"), ("contacts", "phone"), ("contacts", "role"),
    ("seats", "seat_id"), ("seats", "shift_start"), ("seats", "shift_end"),
    ("history", "account_id"), ("history", "contact_id"), ("history", "called_at"), ("history", "outcome"),
    ("callbacks", "account_id"), ("callbacks", "contact_id"), ("callbacks", "at"),
    ("curves", "phone_type"), ("curves", "hour"), ("curves", "weight"),
]


@pytest.mark.parametrize(("table", "column"), REQUIRED_COLUMNS)
def test_missing_required_column_is_fatal(tmp_path, table, column):
    """A required column absent from the header is fatal, naming the file and the column."""
    book = write_portfolio(tmp_path / "book", drop={table: [column]})
    assert_fatal(tmp_path, book, f"{table}.csv: missing required column '{column}'")


def test_missing_optional_columns_are_not_fatal(tmp_path):
    """Every optional column may be absent from the header: nothing is rejected, all rows kept."""
    required = {}
    for table, column in REQUIRED_COLUMNS:
        required.setdefault(table, set()).add(column)
    drop = {t: [c for c in cols if c not in required[t]] for t, cols in COLUMNS.items()}
    assert sum(map(len, drop.values())) == 19
    pf = read_portfolio(write_portfolio(tmp_path / "book", drop=drop))
    assert len(pf.rejected) == 0
    for table, rows in default_tables().items():
        assert len(getattr(pf, table)) == len(rows), table
    assert pf.accounts["stop_contact"].tolist() == [False] * 4
    assert pf.callbacks["seat_id"].tolist() == ["", ""]


def test_non_utf8_header_is_fatal(tmp_path):
    """A header that is not UTF-8 (e.g. a GBK export) is fatal at row 0."""
    book = write_portfolio(tmp_path / "book")
    path = book / "seats.csv"
    path.write_bytes(path.read_bytes().replace(b"skills", "技能".encode("gbk")))
    assert_fatal(tmp_path, book, "seats.csv: not UTF-8 text (row 0, header)")


def test_non_utf8_data_row_is_fatal(tmp_path):
    """A data row that is not UTF-8 is fatal, naming the offset of the first bad byte."""
    tables = default_tables()
    tables["contacts"][1]["relation"] = "RELATION"
    book = write_portfolio(tmp_path / "book", tables)
    path = book / "contacts.csv"
    data = path.read_bytes().replace(b"RELATION", "本人".encode("gbk"))
    path.write_bytes(data)
    offset = data.index("本人".encode("gbk"))
    assert_fatal(tmp_path, book, f"contacts.csv: not UTF-8 text near byte {offset}")


def test_non_utf8_offset_in_large_file(tmp_path):
    """In a 2 MB file the reported offset is still the file offset of the first bad byte."""
    lines = ["contact_id,account_id,phone,role,relation"]
    lines += [f"K{i},A1,{PHONES[0]},debtor,self" for i in range(60000)]
    data = ("\n".join(lines) + "\n").encode() + f"X1,A1,{PHONES[0]},debtor,".encode() + "本人".encode("gbk") + b"\n"
    book = write_portfolio(tmp_path / "book")
    (book / "contacts.csv").write_bytes(data)
    offset = data.index("本人".encode("gbk"))
    with pytest.raises(InputError) as info:
        read_portfolio(book)
    assert str(info.value) == f"contacts.csv: not UTF-8 text near byte {offset}"


def test_unreadable_file_is_fatal(tmp_path):
    """A required file that cannot be read (here a directory) is fatal with the OS reason."""
    book = write_portfolio(tmp_path / "book")
    (book / "seats.csv").unlink()
    (book / "seats.csv").mkdir()
    assert_fatal(tmp_path, book, "seats.csv: cannot read file (Is a directory)")


def test_damaged_parquet_is_fatal(tmp_path):
    """A Parquet file that pyarrow cannot read is fatal, naming the file, not its content."""
    tables = default_tables()
    tables["accounts"] = None
    book = write_portfolio(tmp_path / "book", tables)
    (book / "accounts.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    assert_fatal(tmp_path, book, "accounts.parquet: cannot read Parquet file (ArrowInvalid)")


@pytest.mark.parametrize("content", ["", "\n", "  \n"])
@pytest.mark.parametrize("table", ["accounts", "history"])
def test_empty_file_is_fatal(tmp_path, table, content):
    """A file without even a header row is fatal, for required and optional tables alike."""
    book = write_portfolio(tmp_path / "book")
    (book / f"{table}.csv").write_text(content, encoding="utf-8")
    assert_fatal(tmp_path, book, f"{table}.csv: empty file (no header row)")


def test_header_only_file_is_not_fatal(tmp_path):
    """A header with no data rows is an empty table, not an error."""
    tables = default_tables()
    tables["history"] = []
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables))
    assert len(pf.history) == 0 and len(pf.rejected) == 0


def test_duplicate_header_is_fatal(tmp_path):
    """A column named twice in the header is fatal (which copy is meant cannot be known)."""
    book = write_portfolio(tmp_path / "book")
    (book / "seats.csv").write_text("seat_id,shift_start,shift_end,shift_end\nS1,09:00,12:00,12:00\n", encoding="utf-8")
    assert_fatal(tmp_path, book, "seats.csv: duplicate column 'shift_end' in header")


@pytest.mark.parametrize("table", ["seats", "history"])
def test_csv_and_parquet_both_present_is_fatal(tmp_path, table):
    """X.csv next to X.parquet is ambiguous input, fatal for required and optional tables."""
    book = write_portfolio(tmp_path / "book")
    pd.read_csv(book / f"{table}.csv", dtype=str).to_parquet(book / f"{table}.parquet")
    assert_fatal(tmp_path, book, f"{table}.csv: both {table}.csv and {table}.parquet present; keep one")


def test_malformed_csv_is_fatal(tmp_path):
    """A row with more fields than the header is fatal, naming its 1-based data row."""
    book = write_portfolio(tmp_path / "book")
    with (book / "seats.csv").open("a", encoding="utf-8") as fh:
        fh.write("S3,,09:00,12:00,,,,,,EXTRA,MORE\n")
    assert_fatal(tmp_path, book, "seats.csv: malformed CSV at row 3 (wrong number of fields)")


def test_portfolio_not_a_directory_is_fatal(tmp_path):
    """A portfolio path that is not a directory is fatal."""
    book = tmp_path / "book"
    book.write_text("x", encoding="utf-8")
    assert_fatal(tmp_path, book, f"{book}: not a portfolio directory")


def test_too_many_rejected_rows_is_fatal(tmp_path):
    """More than --max-reject of a file's rows rejected is fatal (default 1%), naming the first bad row."""
    tables = default_tables()
    tables["accounts"][3]["balance"] = "-800"
    book = write_portfolio(tmp_path / "book", tables)
    assert_fatal(
        tmp_path, book,
        "accounts.csv: 1 of 4 rows rejected (25.0%), above --max-reject 1.0%; "
        "first: row 4 column 'balance': balance must be a number >= 0",
    )


def test_max_reject_in_contacts_is_fatal(tmp_path):
    """The share is per file: 1 bad number of 5 contacts is over --max-reject 0.1."""
    tables = default_tables()
    tables["contacts"][4]["phone"] = "13800138000"
    book = write_portfolio(tmp_path / "book", tables)
    assert_fatal(
        tmp_path, book,
        "contacts.csv: 1 of 5 rows rejected (20.0%), above --max-reject 10.0%; "
        "first: row 5 column 'phone': not a valid E.164 phone number",
        "--max-reject", "0.1",
    )


def test_max_reject_boundary_is_inclusive(tmp_path):
    """Exactly --max-reject of a file rejected is still allowed (1 of 4 accounts with 0.25)."""
    tables = default_tables()
    tables["accounts"][3]["status"] = "bogus"
    book = write_portfolio(tmp_path / "book", tables)
    assert len(read_portfolio(book, max_reject=0.25).accounts) == 3
    with pytest.raises(InputError, match=r"^accounts\.csv: 1 of 4 rows rejected"):
        read_portfolio(book, max_reject=0.24)


def test_max_reject_message_names_the_lowest_row(tmp_path):
    """With rows 1 (bad balance) and 4 (no account_id) rejected, 'first' is row 1."""
    tables = default_tables()
    tables["accounts"][0]["balance"] = "abc"
    tables["accounts"][3]["account_id"] = ""
    book = write_portfolio(tmp_path / "book", tables)
    with pytest.raises(InputError) as info:
        read_portfolio(book)
    assert "first: row 1 column 'balance'" in str(info.value)


def test_negative_max_reject_is_a_usage_error(tmp_path):
    """--max-reject -1 is refused as a usage error (exit 2), not a traceback."""
    book = write_portfolio(tmp_path / "book")
    result = invoke_plan(book, tmp_path / "plan", "--max-reject", "-1")
    assert result.exit_code == 2, repr(result.exception)
    assert not (tmp_path / "plan").exists()


def test_rejected_rows_with_max_reject_1_the_run_goes_on(tmp_path):
    """With --max-reject 1 bad rows are listed in rejected.csv and the plan is still written."""
    tables = default_tables()
    tables["accounts"][3]["balance"] = "-800"
    tables["seats"][1]["shift_start"] = "9:00"
    book = write_portfolio(tmp_path / "book", tables)
    out = tmp_path / "plan"
    result = invoke_plan(book, out, "--max-reject", "1")
    assert result.exit_code == 0, result.output
    rejected = pd.read_csv(out / "rejected.csv", dtype=str, keep_default_na=False)
    assert list(rejected.columns) == ["file", "row", "id", "column", "reason"]
    assert rejected.values.tolist() == [
        ["accounts.csv", "4", "A4", "balance", "balance must be a number >= 0"],
        ["contacts.csv", "5", "C5", "account_id", "account rejected"],
        ["seats.csv", "2", "S2", "shift_start", "not a HH:MM time"],
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rejected"] == 3
    assert (out / "plan.csv").exists()
    assert not (out / "queues" / "S2.csv").exists()


# --- row rejections, through read_portfolio -------------------------------------------------

# (table, column, bad value, reason)
ROW_CASES = [
    ("accounts", "account_id", "", "required value missing"),
    ("accounts", "balance", "-1", "balance must be a number >= 0"),
    ("accounts", "balance", "-0.01", "balance must be a number >= 0"),
    ("accounts", "balance", "abc", "balance must be a number >= 0"),
    ("accounts", "balance", "1,000", "balance must be a number >= 0"),
    ("accounts", "balance", "nan", "balance must be a number >= 0"),
    ("accounts", "balance", "inf", "balance must be a number >= 0"),
    ("accounts", "balance", "", "required value missing"),
    ("accounts", "status", "bogus", "unknown status"),
    ("accounts", "status", "New", "unknown status"),
    ("accounts", "status", "", "required value missing"),
    ("accounts", "pay_propensity", "1.5", "must be a probability in 0..1"),
    ("accounts", "pay_propensity", "-0.1", "must be a probability in 0..1"),
    ("accounts", "pay_propensity", "high", "must be a probability in 0..1"),
    ("accounts", "timezone", "Asia/Beijing", "unknown IANA time zone"),
    ("accounts", "stop_contact", "maybe", "must be true/false/1/0/yes/no"),
    ("accounts", "owner_seat", "S9", "unknown owner_seat"),
    ("contacts", "contact_id", "", "required value missing"),
    ("contacts", "account_id", "A9", "unknown account_id"),
    ("contacts", "account_id", "", "required value missing"),
    ("contacts", "phone", "13800138000", "not a valid E.164 phone number"),
    ("contacts", "phone", "+86 138 0013 8000", "not a valid E.164 phone number"),
    ("contacts", "phone", "+861380013800", "not a valid E.164 phone number"),
    ("contacts", "phone", "+8612345678901", "not a valid E.164 phone number"),
    ("contacts", "phone", "+0013800138000", "not a valid E.164 phone number"),
    ("contacts", "phone", "", "required value missing"),
    ("contacts", "role", "spouse", "role must be debtor or third_party"),
    ("contacts", "role", "Debtor", "role must be debtor or third_party"),
    ("contacts", "phone_type", "fax", "phone_type must be mobile, home, work or other"),
    ("contacts", "timezone", "Mars/Olympus", "unknown IANA time zone"),
    ("contacts", "timezone", "Asia/Shanghai|Mars/Olympus", "unknown IANA time zone"),
    ("contacts", "rpc_rate", "2", "must be a probability in 0..1"),
    ("contacts", "do_not_call", "Y", "must be true/false/1/0/yes/no"),
    ("seats", "seat_id", "", "required value missing"),
    ("seats", "shift_start", "9:00", "not a HH:MM time"),
    ("seats", "shift_start", "09:60", "not a HH:MM time"),
    ("seats", "shift_start", "0900", "not a HH:MM time"),
    ("seats", "shift_end", "25:00", "not a HH:MM time"),
    ("seats", "shift_end", "12:00:00", "not a HH:MM time"),
    ("seats", "shift_end", "", "required value missing"),
    ("seats", "shift_end", "09:00", "shift_end must be after shift_start (no overnight shifts)"),
    ("seats", "shift_end", "08:00", "shift_end must be after shift_start (no overnight shifts)"),
    ("seats", "timezone", "Asia/Peking", "unknown IANA time zone"),
    ("seats", "breaks", "10:00", "breaks must be HH:MM-HH:MM;..."),
    ("seats", "breaks", "10:15-10:00", "breaks must be HH:MM-HH:MM;..."),
    ("seats", "breaks", "10:00-10:15;", "breaks must be HH:MM-HH:MM;..."),
    ("seats", "breaks", "10:00-10:15,11:00-11:15", "breaks must be HH:MM-HH:MM;..."),
    ("seats", "breaks", "10-11", "breaks must be HH:MM-HH:MM;..."),
    ("seats", "attempts_per_hour", "0", "must be a number > 0"),
    ("seats", "attempts_per_hour", "-4", "must be a number > 0"),
    ("seats", "attempts_per_hour", "fast", "must be a number > 0"),
    ("seats", "attempts_per_hour", "1e300", "must be <= 3600"),  # overflowed the capacities (found by fuzzing)
    ("accounts", "balance", "1e308", "balance must be <= 1e+15"),  # overflowed the expected values
    ("seats", "active", "on", "must be true/false/1/0/yes/no"),
    ("history", "called_at", "2026-11-10T10:00:00", "not an ISO 8601 timestamp with UTC offset"),
    ("history", "called_at", "2026-11-10 10:00", "not an ISO 8601 timestamp with UTC offset"),
    ("history", "called_at", "2026-11-10", "not an ISO 8601 timestamp with UTC offset"),
    ("history", "called_at", "2026-13-10T10:00:00+08:00", "not an ISO 8601 timestamp with UTC offset"),
    ("history", "called_at", "10/11/2026 10:00+08:00", "not an ISO 8601 timestamp with UTC offset"),
    ("history", "called_at", "", "required value missing"),
    ("history", "outcome", "hung_up", "unknown outcome"),
    ("history", "outcome", "RPC", "unknown outcome"),
    ("history", "account_id", "A9", "unknown or rejected account_id"),
    ("history", "contact_id", "C9", "unknown or rejected contact_id"),
    ("history", "contact_id", "C1", "contact belongs to another account"),
    ("callbacks", "at", "2026-11-30T11:00:00", "not an ISO 8601 timestamp with UTC offset"),
    ("callbacks", "account_id", "A9", "unknown or rejected account_id"),
    ("callbacks", "contact_id", "C9", "unknown or rejected contact_id"),
    ("callbacks", "contact_id", "C3", "contact belongs to another account"),
    ("callbacks", "seat_id", "S9", "unknown seat_id"),
    ("curves", "hour", "24", "hour must be an integer 0..23"),
    ("curves", "hour", "9.5", "hour must be an integer 0..23"),
    ("curves", "hour", "-1", "hour must be an integer 0..23"),
    ("curves", "weight", "-1", "must be a number >= 0"),
    ("curves", "phone_type", "pager", "phone_type must be mobile, home, work or other"),
]


# A valid row of each table; each case appends a copy of it carrying one bad value.
TEMPLATES = {
    "accounts": lambda i: {"account_id": f"X{i}", "balance": "800", "status": "new"},
    "contacts": lambda i: {"contact_id": f"K{i}", "account_id": "A4", "phone": PHONES[4], "role": "debtor"},
    "seats": lambda i: {"seat_id": f"T{i}", "shift_start": "09:00", "shift_end": "12:00"},
    "history": lambda i: {"account_id": "A3", "contact_id": "C3", "called_at": "2026-11-10T10:00:00+08:00", "outcome": "busy"},
    "callbacks": lambda i: {"account_id": "A1", "contact_id": "C1", "at": "2026-11-30T11:00:00+08:00"},
    "curves": lambda i: {"phone_type": "work", "hour": str(i), "weight": "1"},
}


@pytest.mark.parametrize("table", list(TEMPLATES))
def test_bad_value_rejects_the_row(tmp_path, table):
    """Each bad value rejects its row with file, 1-based row, id, column and reason; the valid
    rows are kept. (One read per table: every case is its own appended row.)

    A mismatch between a history/callback row's contact and account is reported on column
    account_id; the id of a history row is its contact_id, of a callback its account_id.
    """
    tables = default_tables()
    n_valid = len(tables[table])
    expected = set()
    for i, (_table, column, value, reason) in enumerate(c for c in ROW_CASES if c[0] == table):
        row = {**TEMPLATES[table](i), column: value}
        tables[table].append(row)
        reported = "account_id" if reason == "contact belongs to another account" else column
        expected.add((f"{table}.csv", n_valid + i + 1, row.get(ID_COLUMN[table], ""), reported, reason))
    assert len(expected) > 3
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert sorted(rejected_set(pf)) == sorted(expected)
    assert getattr(pf, table)["row"].tolist() == list(range(1, n_valid + 1))


def test_rejected_frame_has_contract_columns(tmp_path):
    """Portfolio.rejected has exactly file, row, id, column, reason; row is an integer."""
    tables = default_tables()
    tables["seats"][1]["active"] = "on"
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert list(pf.rejected.columns) == ["file", "row", "id", "column", "reason"]
    assert pd.api.types.is_integer_dtype(pf.rejected["row"])
    empty = read_portfolio(write_portfolio(tmp_path / "book2")).rejected
    assert list(empty.columns) == ["file", "row", "id", "column", "reason"] and len(empty) == 0


def test_first_reason_of_a_row_wins(tmp_path):
    """A row with several bad values is listed once, for the first checked column."""
    tables = default_tables()
    tables["seats"][1].update(shift_start="9", breaks="x", active="on")
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert rejected_set(pf) == {("seats.csv", 2, "S2", "shift_start", "not a HH:MM time")}


def test_duplicate_account_id_rejects_every_copy(tmp_path):
    """All rows sharing an account_id are rejected; their contacts, history and callbacks follow."""
    tables = default_tables()
    tables["accounts"].append({"account_id": "A1", "balance": "10", "status": "new"})
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert rejected_set(pf) == {
        ("accounts.csv", 1, "A1", "account_id", "duplicate id"),
        ("accounts.csv", 5, "A1", "account_id", "duplicate id"),
        ("contacts.csv", 1, "C1", "account_id", "account rejected"),
        ("history.csv", 1, "C1", "account_id", "unknown or rejected account_id"),
        ("callbacks.csv", 2, "A1", "account_id", "unknown or rejected account_id"),
    }
    assert pf.accounts["account_id"].tolist() == ["A2", "A3", "A4"]


def test_duplicate_id_with_one_bad_copy_rejects_both(tmp_path):
    """When one copy of a duplicated id is also invalid, the other copy is still rejected."""
    tables = default_tables()
    tables["contacts"].append({"contact_id": "C5", "account_id": "A4", "phone": "123", "role": "debtor"})
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert rejected_set(pf) == {
        ("contacts.csv", 5, "C5", "contact_id", "duplicate id"),
        ("contacts.csv", 6, "C5", "phone", "not a valid E.164 phone number"),
    }
    assert "C5" not in set(pf.contacts["contact_id"])


def test_duplicate_seat_id_rejects_every_copy(tmp_path):
    """Both rows of a duplicated seat_id are rejected; the callback naming it and owners follow."""
    tables = default_tables()
    tables["seats"].append({"seat_id": "S1", "shift_start": "13:00", "shift_end": "18:00"})
    tables["accounts"][1]["owner_seat"] = "S1"
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert rejected_set(pf) == {
        ("seats.csv", 1, "S1", "seat_id", "duplicate id"),
        ("seats.csv", 3, "S1", "seat_id", "duplicate id"),
        ("accounts.csv", 2, "A2", "owner_seat", "unknown owner_seat"),
        ("contacts.csv", 2, "C2", "account_id", "account rejected"),
        ("callbacks.csv", 1, "A2", "account_id", "unknown or rejected account_id"),
    }
    assert pf.seats["seat_id"].tolist() == ["S2"]


def test_duplicate_curve_point_rejects_both(tmp_path):
    """Two curve rows for the same (phone_type, hour) are both rejected."""
    tables = default_tables()
    tables["curves"].append({"phone_type": "mobile", "hour": "10", "weight": "3"})
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert rejected_set(pf) == {
        ("curves.csv", 1, "mobile", "hour", "duplicate (phone_type, hour)"),
        ("curves.csv", 3, "mobile", "hour", "duplicate (phone_type, hour)"),
    }


def test_account_rejected_cascades_to_contacts_history_callbacks(tmp_path):
    """A rejected account rejects all its contacts ("account rejected"), then their history."""
    tables = default_tables()
    tables["accounts"][2]["status"] = "archived"  # A3: contacts C3, C4; history row 2
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert rejected_set(pf) == {
        ("accounts.csv", 3, "A3", "status", "unknown status"),
        ("contacts.csv", 3, "C3", "account_id", "account rejected"),
        ("contacts.csv", 4, "C4", "account_id", "account rejected"),
        ("history.csv", 2, "C3", "account_id", "unknown or rejected account_id"),
    }
    assert pf.contacts["contact_id"].tolist() == ["C1", "C2", "C5"]


def test_contact_rejected_cascades_to_history_and_callbacks(tmp_path):
    """History and callbacks of a rejected contact are rejected on contact_id."""
    tables = default_tables()
    tables["contacts"][0]["phone"] = "+86 138"
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert rejected_set(pf) == {
        ("contacts.csv", 1, "C1", "phone", "not a valid E.164 phone number"),
        ("history.csv", 1, "C1", "contact_id", "unknown or rejected contact_id"),
        ("callbacks.csv", 2, "A1", "contact_id", "unknown or rejected contact_id"),
    }
    assert pf.accounts["account_id"].tolist() == ["A1", "A2", "A3", "A4"], "the account itself stays"


def test_owner_seat_of_rejected_seat_rejects_account(tmp_path):
    """An owner_seat naming a seat that was itself rejected leaves the case uncallable: rejected."""
    tables = default_tables()
    tables["seats"][1]["shift_end"] = "08:00"
    tables["accounts"][3]["owner_seat"] = "S2"
    tables["accounts"][0]["owner_seat"] = "S1"
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert rejected_set(pf) == {
        ("seats.csv", 2, "S2", "shift_end", "shift_end must be after shift_start (no overnight shifts)"),
        ("accounts.csv", 4, "A4", "owner_seat", "unknown owner_seat"),
        ("contacts.csv", 5, "C5", "account_id", "account rejected"),
    }
    assert pf.accounts.set_index("account_id").loc["A1", "owner_seat"] == "S1"


def test_valid_edge_values_are_accepted(tmp_path):
    """Boundary values are valid: balance 0, probabilities 0 and 1, 24:00 shift end, hour 0 and 23."""
    tables = default_tables()
    tables["accounts"][0].update(balance="0", pay_propensity="1")
    tables["accounts"][1].update(pay_propensity="0", timezone="Asia/Urumqi")
    tables["contacts"][0].update(rpc_rate="0", timezone="Asia/Shanghai|Asia/Urumqi")
    tables["contacts"][1].update(rpc_rate="1", phone="+862161234567", phone_type="home")
    tables["seats"][1].update(shift_end="24:00", breaks="10:00-10:15;12:00-12:30", timezone="Asia/Shanghai")
    tables["history"][0]["called_at"] = "2026-11-24T02:00:00Z"
    tables["history"][1]["called_at"] = "2026-11-10 10:00:00.5+0800"
    tables["curves"] = [{"phone_type": "mobile", "hour": "0", "weight": "0"}, {"phone_type": "mobile", "hour": "23", "weight": "4"}]
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables))
    assert len(pf.rejected) == 0
    assert pf.history["called_at"].tolist() == [
        pd.Timestamp("2026-11-24T02:00:00Z"), pd.Timestamp("2026-11-10T02:00:00.5Z"),
    ]


def test_timestamp_with_hour_only_offset(tmp_path):
    """'2026-11-10 10:00:00+08' is an ISO 8601 timestamp with a UTC offset: accepted."""
    tables = default_tables()
    tables["history"][1]["called_at"] = "2026-11-10 10:00:00+08"
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables), max_reject=1.0)
    assert len(pf.rejected) == 0
    assert pf.history["called_at"].tolist()[1] == pd.Timestamp("2026-11-10T02:00:00Z")


def test_unknown_extra_columns_are_kept_and_ignored(tmp_path):
    """A column the contract does not know is neither an error nor a reason to reject."""
    tables = default_tables()
    for r in tables["accounts"]:
        r["collector_note"] = "call after lunch"
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables))
    assert len(pf.rejected) == 0
    assert pf.accounts["collector_note"].tolist() == ["call after lunch"] * 4


def test_utf8_bom_header_is_read(tmp_path):
    """A UTF-8 file with a byte-order mark (Excel export) reads its first column by name."""
    book = write_portfolio(tmp_path / "book")
    path = book / "accounts.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    pf = read_portfolio(book)
    assert pf.accounts["account_id"].tolist() == ["A1", "A2", "A3", "A4"]


def test_custom_status_named_by_policy_is_accepted(tmp_path):
    """A status label the policy names in custom_statuses is valid; others are not."""
    tables = default_tables()
    tables["accounts"][3]["status"] = "legal_review"
    tables["accounts"][2]["status"] = "skip_trace"
    policy = 'custom_statuses = ["legal_review"]\n'
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables, policy=policy), max_reject=1.0)
    assert rejected_set(pf) == {
        ("accounts.csv", 3, "A3", "status", "unknown status"),
        ("contacts.csv", 3, "C3", "account_id", "account rejected"),
        ("contacts.csv", 4, "C4", "account_id", "account rejected"),
        ("history.csv", 2, "C3", "account_id", "unknown or rejected account_id"),
    }
    assert pf.accounts.set_index("account_id").loc["A4", "status"] == "legal_review"


def test_custom_status_of_a_segment_is_accepted(tmp_path):
    """A status named in the account's segment's custom_statuses is valid for that segment."""
    tables = default_tables()
    tables["accounts"][3].update(status="legal_review", segment="bankX")
    policy = '[segments.bankX]\ncustom_statuses = ["legal_review"]\n'
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables, policy=policy), max_reject=1.0)
    assert len(pf.rejected) == 0


# --- defaults for optional columns ----------------------------------------------------------


@pytest.mark.parametrize("absent", [False, True], ids=["empty", "column-absent"])
def test_pay_propensity_defaults_by_status(tmp_path, absent):
    """An empty or absent pay_propensity takes the policy default for the case's status."""
    drop = {"accounts": ["pay_propensity"]} if absent else None
    tables = default_tables()
    tables["accounts"].append({"account_id": "A5", "balance": "1", "status": "evasive"})
    tables["accounts"].append({"account_id": "A6", "balance": "1", "status": "negotiating"})
    tables["accounts"].append({"account_id": "A7", "balance": "1", "status": "paused"})
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables, drop=drop))
    got = dict(zip(pf.accounts["account_id"], pf.accounts["pay_propensity"]))
    assert got == {"A1": 0.15 if absent else 0.2, "A2": 0.6, "A3": 0.05, "A4": 0.10, "A5": 0.1, "A6": 0.4, "A7": 0.0}
    assert pf.accounts["pay_propensity"].dtype == "float64"


def test_pay_propensity_default_follows_policy_and_segment(tmp_path):
    """Defaults come from the given policy (us-regf) and from the account's segment override."""
    book = write_portfolio(tmp_path / "book")
    pf = read_portfolio(book, policy="us-regf")
    assert pf.accounts["pay_propensity"].tolist() == [0.2, 0.55, 0.04, 0.08]
    tables = default_tables()
    tables["accounts"][3]["segment"] = "bankX"
    tables["accounts"][1]["segment"] = "bankX"
    policy = "[segments.bankX]\ndefaults.pay_propensity = { new = 0.5 }\ndefaults.rpc_rate = { debtor = 0.3 }\n"
    pf = read_portfolio(write_portfolio(tmp_path / "book2", tables, policy=policy))
    assert pf.accounts["pay_propensity"].tolist() == [0.2, 0.6, 0.05, 0.5]
    assert dict(zip(pf.contacts["contact_id"], pf.contacts["rpc_rate"])) == {
        "C1": 0.15, "C2": 0.3, "C3": 0.15, "C4": 0.25, "C5": 0.3,
    }


@pytest.mark.parametrize("absent", [False, True], ids=["empty", "column-absent"])
def test_rpc_rate_and_phone_type_defaults(tmp_path, absent):
    """Empty rpc_rate takes the policy default by role; phone_type defaults to mobile."""
    tables = default_tables()
    tables["contacts"][1]["rpc_rate"] = "0.4"
    tables["contacts"][2]["phone_type"] = "work"
    drop = {"contacts": ["rpc_rate", "phone_type"]} if absent else None
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables, drop=drop))
    rates = dict(zip(pf.contacts["contact_id"], pf.contacts["rpc_rate"]))
    types = dict(zip(pf.contacts["contact_id"], pf.contacts["phone_type"]))
    if absent:
        assert rates == {"C1": 0.15, "C2": 0.15, "C3": 0.15, "C4": 0.25, "C5": 0.15}
        assert set(types.values()) == {"mobile"}
    else:
        assert rates == {"C1": 0.15, "C2": 0.4, "C3": 0.15, "C4": 0.25, "C5": 0.15}
        assert types == {"C1": "mobile", "C2": "mobile", "C3": "work", "C4": "mobile", "C5": "mobile"}


def test_seat_defaults_timezone_and_attempts_per_hour(tmp_path):
    """A seat without timezone gets the policy zone; without attempts_per_hour the policy default."""
    tables = default_tables()
    tables["seats"][0]["timezone"] = "Asia/Urumqi"
    book = write_portfolio(tmp_path / "book", tables)
    pf = read_portfolio(book)
    assert pf.seats["timezone"].tolist() == ["Asia/Urumqi", "Asia/Shanghai"]
    assert pf.seats["attempts_per_hour"].tolist() == [8.0, 20.0]
    pf = read_portfolio(book, policy="us-regf")
    assert pf.seats["timezone"].tolist() == ["Asia/Urumqi", "America/New_York"]
    assert pf.seats["attempts_per_hour"].tolist() == [8.0, 15.0]


def test_seat_defaults_with_columns_absent(tmp_path):
    """Seats without timezone/attempts_per_hour/active columns: policy zone, default rate, active."""
    book = write_portfolio(tmp_path / "book", drop={"seats": ["timezone", "attempts_per_hour", "active"]})
    pf = read_portfolio(book)
    assert pf.seats["timezone"].tolist() == ["Asia/Shanghai", "Asia/Shanghai"]
    assert pf.seats["attempts_per_hour"].tolist() == [20.0, 20.0]
    assert pf.seats["active"].tolist() == [True, True]


BOOL_CASES = [
    ("true", True), ("TRUE", True), ("True", True), ("1", True), ("yes", True), ("YES", True), ("Yes", True),
    ("false", False), ("FALSE", False), ("False", False), ("0", False), ("no", False), ("NO", False), ("No", False),
]


def test_booleans_any_case(tmp_path):
    """stop_contact, do_not_call and active read true/false/1/0/yes/no in any case; empty
    means false for stop_contact and do_not_call, true for active."""
    tables = default_tables()
    cases = BOOL_CASES + [("", None)]
    for i, (text, _value) in enumerate(cases):
        tables["accounts"].append({"account_id": f"B{i}", "balance": "1", "status": "new", "stop_contact": text})
        tables["contacts"].append({"contact_id": f"D{i}", "account_id": "A4", "phone": PHONES[4], "role": "debtor", "do_not_call": text})
        tables["seats"].append({"seat_id": f"T{i}", "shift_start": "09:00", "shift_end": "12:00", "active": text})
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables))
    assert len(pf.rejected) == 0
    values = [v for _t, v in BOOL_CASES]
    assert pf.accounts["stop_contact"].tolist() == [False] * 4 + values + [False]
    assert pf.contacts["do_not_call"].tolist() == [False] * 5 + values + [False]
    assert pf.seats["active"].tolist() == [True] * 2 + values + [True]
    assert pf.accounts["stop_contact"].dtype == bool and pf.seats["active"].dtype == bool


# --- Parquet --------------------------------------------------------------------------------


def _frames(pf) -> dict[str, pd.DataFrame]:
    """The six validated tables of a portfolio by name."""
    return {t: getattr(pf, t) for t in ("accounts", "contacts", "seats", "history", "callbacks", "curves")}


def test_parquet_input_reads_like_csv(tmp_path):
    """The same tables written as Parquet give the same validated frames as CSV."""
    from_csv = read_portfolio(write_portfolio(tmp_path / "csv"))
    from_parquet = read_portfolio(write_portfolio(tmp_path / "pq", fmt="parquet"))
    for table, frame in _frames(from_csv).items():
        pd.testing.assert_frame_equal(_frames(from_parquet)[table], frame, obj=table)
    assert sorted(from_parquet.inputs) == sorted(f"{t}.parquet" for t in COLUMNS)


def test_parquet_rejections_name_the_parquet_file(tmp_path):
    """Rejected Parquet rows are reported like CSV rows, under the .parquet file name."""
    tables = default_tables()
    tables["accounts"][3]["balance"] = "-1"
    tables["history"][1]["called_at"] = "2026-11-10T10:00:00"
    pf = read_portfolio(write_portfolio(tmp_path / "book", tables, fmt="parquet"), max_reject=1.0)
    assert rejected_set(pf) == {
        ("accounts.parquet", 4, "A4", "balance", "balance must be a number >= 0"),
        ("contacts.parquet", 5, "C5", "account_id", "account rejected"),
        ("history.parquet", 2, "C3", "called_at", "not an ISO 8601 timestamp with UTC offset"),
    }


def test_parquet_native_types(tmp_path):
    """Parquet columns with native types (float, bool, int, tz-aware timestamps, nulls) are read."""
    book = write_portfolio(tmp_path / "book")
    pd.DataFrame({
        "account_id": ["A1", "A2", "A3", "A4"],
        "balance": [10000.5, 5000.0, 20000.0, 800.0],
        "status": ["contactable", "ptp", "lost_contact", "new"],
        "pay_propensity": [0.2, None, None, None],
        "stop_contact": pd.array([True, False, None, False], dtype="boolean"),
    }).to_parquet(book / "accounts.parquet")
    (book / "accounts.csv").unlink()
    pd.DataFrame({
        "account_id": ["A1"], "contact_id": ["C1"],
        "called_at": pd.to_datetime(["2026-11-24T10:00:00+08:00"]), "outcome": ["no_answer"],
    }).to_parquet(book / "history.parquet")
    (book / "history.csv").unlink()
    pd.DataFrame({"phone_type": ["mobile"], "hour": [10], "weight": [1.5]}).to_parquet(book / "curves.parquet")
    (book / "curves.csv").unlink()
    pf = read_portfolio(book)
    assert len(pf.rejected) == 0
    assert pf.accounts["balance"].tolist() == [10000.5, 5000.0, 20000.0, 800.0]
    assert pf.accounts["pay_propensity"].tolist() == [0.2, 0.6, 0.05, 0.10]
    assert pf.accounts["stop_contact"].tolist() == [True, False, False, False]
    assert pf.history["called_at"].tolist() == [pd.Timestamp("2026-11-24T02:00:00Z")]
    assert pf.curves[["hour", "weight"]].values.tolist() == [[10, 1.5]]


def test_parquet_portfolio_plans_through_cli(tmp_path):
    """A portfolio given entirely as Parquet plans through the CLI like its CSV twin."""
    book = write_portfolio(tmp_path / "book", fmt="parquet")
    out = tmp_path / "plan"
    result = invoke_plan(book, out)
    assert result.exit_code == 0, result.output
    assert (out / "plan.csv").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rejected"] == 0


# --- privacy --------------------------------------------------------------------------------


def test_messages_never_contain_phone_or_balance(tmp_path):
    """Rejection reasons, rejected.csv and fatal messages never echo a phone number or balance."""
    tables = default_tables()
    tables["accounts"][3]["balance"] = "-98765.43"
    tables["accounts"][2]["balance"] = "12345.67 CNY"
    tables["contacts"][0]["phone"] = "+8613800138"           # too short
    tables["contacts"][1]["phone"] = "8613900139000"          # no plus
    tables["contacts"][4]["role"] = "friend"                 # valid phone on a rejected row
    secrets = ["98765", "12345.67", "13800138", "13900139000", "8618900189000", "13700137000"]
    book = write_portfolio(tmp_path / "book", tables)
    pf = read_portfolio(book, max_reject=1.0)
    assert len(pf.rejected) >= 5
    text = pf.rejected.astype(str).to_csv(index=False)
    for secret in secrets:
        assert secret not in text
    with pytest.raises(InputError) as info:
        read_portfolio(book, max_reject=0.0)
    assert all(secret not in str(info.value) for secret in secrets)
    out = tmp_path / "plan"
    result = invoke_plan(book, out)
    assert result.exit_code == 2
    assert all(secret not in result.output for secret in secrets)
    result = invoke_plan(book, out, "--max-reject", "1")
    assert result.exit_code == 0, result.output
    written = (out / "rejected.csv").read_text(encoding="utf-8")
    assert all(secret not in written for secret in secrets)


def test_fatal_message_is_one_line_without_traceback(tmp_path):
    """A fatal input error prints exactly one line on the CLI, never a Python traceback."""
    book = write_portfolio(tmp_path / "book", drop={"contacts": ["phone"]})
    result = invoke_plan(book, tmp_path / "plan")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (AttributeError, KeyError, TypeError, ValueError))


def test_reading_leaves_files_unchanged_and_hashes_inputs(tmp_path):
    """Reading a portfolio does not modify its files (hashes in inputs match the bytes on disk)."""
    import hashlib

    book = write_portfolio(tmp_path / "book")
    before = {p.name: p.read_bytes() for p in book.iterdir()}
    pf = read_portfolio(book)
    assert {p.name: p.read_bytes() for p in book.iterdir()} == before
    for name, info in pf.inputs.items():
        assert info["sha256"] == hashlib.sha256(before[name]).hexdigest()
    assert pf.inputs["accounts.csv"]["rows"] == 4
    assert os.path.samefile(pf.root, book)
