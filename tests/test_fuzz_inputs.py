"""Fuzzed inputs (issue 8, point 1): malformed CSV, Parquet and policy TOML.

Hypothesis drives ``read_portfolio`` and ``load_policy`` (plus the linter behind ``dialplan
policy check``) with wrong types, empty files, byte-order marks, huge fields, duplicate and
odd headers, mixed line endings (``\\n``, ``\\r\\n``, ``\\r``), timestamps without offsets and
non-UTF-8 bytes. The property: each call either returns (and then every row of every file is
either kept or in ``rejected`` exactly once) or raises a ``DialplanError`` whose message is a
single line; never another exception, never a hang (a SIGALRM watchdog turns a hang into a
failure). The CLI turns a ``DialplanError`` into ``Error: ...`` and its exit code (2), which
``test_cli_turns_a_fuzz_failure_into_one_line`` checks once end to end.

Examples tried per test (``python -m pytest tests/test_fuzz_inputs.py
--hypothesis-show-statistics``; numbers in docs/reliability.md): every test runs
``EXAMPLES`` = 200 examples with ``deadline=None``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import signal
import string
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from dialplan.cli import cli
from dialplan.errors import DialplanError
from dialplan.io.portfolio import TABLES, read_portfolio
from dialplan.policy import load_policy
from dialplan.policy.lint import lint

from .helpers import write_portfolio

EXAMPLES = 200
# FUZZ_NO_SHRINK=1 skips shrinking (while developing: shrinking a failure can take minutes)
_PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + ([] if os.environ.get("FUZZ_NO_SHRINK") else [Phase.shrink])
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, phases=_PHASES,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
WATCHDOG_SECONDS = 30

ACCOUNTS = [
    {"account_id": "A1", "balance": "10000", "status": "contactable"},
    {"account_id": "A2", "balance": "5000", "status": "lost_contact"},
]
CONTACTS = [
    {"contact_id": "C1", "account_id": "A1", "phone": "+8613800138000", "role": "debtor"},
    {"contact_id": "C2", "account_id": "A2", "phone": "+8613900139000", "role": "debtor"},
    {"contact_id": "C3", "account_id": "A2", "phone": "+8613700137000", "role": "third_party"},
]
SEATS = [{"seat_id": "S1", "shift_start": "09:00", "shift_end": "12:00"}]
HISTORY = [{"account_id": "A1", "contact_id": "C1", "called_at": "2026-11-27T10:00:00+08:00", "outcome": "no_answer"}]
CALLBACKS = [{"account_id": "A1", "contact_id": "C1", "at": "2026-11-30T10:00:00+08:00", "seat_id": "S1"}]
CURVES = [{"phone_type": "mobile", "hour": "10", "weight": "1.2"}]


@contextmanager
def watchdog(seconds: int = WATCHDOG_SECONDS):
    """Fail instead of hanging: SIGALRM after ``seconds``."""

    def boom(_signum, _frame):
        raise TimeoutError(f"no answer within {seconds} s (a hang)")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def base_book(root: Path) -> Path:
    if root.exists():
        for p in root.iterdir():
            p.unlink()
    return write_portfolio(root, ACCOUNTS, CONTACTS, SEATS, history=HISTORY, callbacks=CALLBACKS, curves=CURVES)


def check_read(root: Path, max_reject: float = 1.0, policy=None) -> str:
    """Read ``root``; assert the property. Returns "ok" or "error" (for statistics)."""
    with watchdog():
        try:
            pf = read_portfolio(root, policy=policy, max_reject=max_reject)
        except DialplanError as exc:
            message = str(exc)
            assert message and "\n" not in message and "\r" not in message, repr(message)
            _event("error: " + re.sub(r"'[^']*'|\d+", "_", message.split(": ", 1)[-1])[:48])
            return "error"
    # accounting: every data row of every file is kept or rejected, exactly once
    frames = {"accounts": pf.accounts, "contacts": pf.contacts, "seats": pf.seats, "history": pf.history,
              "curves": pf.curves, "callbacks": pf.callbacks}
    for name, info in pf.inputs.items():
        table = name.split(".")[0]
        kept = frames[table]["row"].to_numpy()
        rejected = pf.rejected.loc[pf.rejected["file"] == name, "row"].to_numpy()
        assert len(set(kept)) == len(kept) and len(set(rejected)) == len(rejected)
        assert not set(kept) & set(rejected), name
        assert sorted([*kept, *rejected]) == list(range(1, info["rows"] + 1)), name
    _event("read" + (" with rejected rows" if len(pf.rejected) else ""))
    return "ok"


def _event(text: str) -> None:
    """Count an outcome in the Hypothesis statistics (a no-op outside a Hypothesis test)."""
    if currently_in_test_context():
        event(text)


# --- strategies ---------------------------------------------------------------------------

NASTY = [
    "", " ", "nan", "NaN", "inf", "-inf", "-1", "1e400", "0x10", "1_000", "１２３", "true", "TRUE", "maybe",
    "2026-11-30T10:00:00", "2026-11-30 10:00", "2026-11-30T10:00:00+08:00", "2026-11-30T10:00:00Z",
    "2026-02-30T10:00:00+08:00", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00",
    "2026-11-30T10:00:00+99:99", "2026-11-30T25:61:00+08:00", "24:00", "23:59", "25:00", "9:00",
    "09:00-10:00;10:30-11:00", "10:00-09:00", "Asia/Shanghai", "Etc/Unknown", "../../etc/passwd", "Asia/Shanghai|America/New_York",
    "+8613800138000", "+10000000000", "+999", "13800138000", "+86 138 0013 8000", "A1", "C1", "S1", "A2",
    "debtor", "third_party", "mobile", "rpc", "complaint", "contactable", "closed", '"', '""', "a,b", "\ufeff", "\x00",
    "\u2028", "é", "🙂", "12" * 40, "9" * 400,
]
FIELD = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.datetimes().map(lambda d: d.isoformat()),  # no offset
    st.just("x" * 200_000),  # a huge field
)
HEADER_NAMES = st.one_of(
    st.sampled_from(sorted({c for spec in TABLES.values() for c in spec} | {"row", "", " account_id", '"account_id"', "Account_ID", "\ufeffaccount_id"})),
    st.text(max_size=8),
)
EOL = st.sampled_from(["\n", "\r\n", "\r"])
TOML_EOL = st.sampled_from(["\n"] * 5 + ["\r\n"] * 4 + ["\r"])  # a bare CR is not TOML: rare


def rare(one_in: int):
    """True about once in ``one_in`` draws (st.integers(...) == 0 would be far likelier:
    Hypothesis favours boundary values)."""
    return st.sampled_from([False] * (one_in - 1) + [True])
FILES = st.sampled_from(sorted(TABLES))


@st.composite
def csv_bytes(draw, table: str) -> bytes:
    """A CSV file for ``table``: mostly the right header (perhaps duplicated, reordered, with
    extra or missing columns), rows of nasty fields, mixed line endings, maybe a BOM or bytes
    that are not UTF-8, maybe not even well-formed CSV."""
    columns = list(TABLES[table])
    header = columns if not draw(rare(2)) else draw(st.one_of(
        st.permutations(columns),
        st.lists(HEADER_NAMES, max_size=8),
        st.lists(st.sampled_from(columns), min_size=1, max_size=len(columns) + 2),  # duplicates likely
    ))
    width = len(header)
    row = st.one_of(st.lists(FIELD, min_size=width, max_size=width), st.lists(FIELD, max_size=width + 2))
    rows = draw(st.lists(row, max_size=6))
    quote = draw(st.booleans())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="")
    lines = []
    for fields in [header, *rows]:
        if quote:
            out.seek(0)
            out.truncate()
            writer.writerow(fields)
            lines.append(out.getvalue())
        else:
            lines.append(",".join(fields))
    text = "".join(line + draw(EOL) for line in lines)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(rare(6)):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x80\x80", b"\xfe\xff", b"\x00"])) + data[at:]
    if draw(rare(12)):
        data = draw(st.sampled_from([b"", b"\n", b"\r\n", b"\xef\xbb\xbf", b" \n\n", b",\n", b"\xff\xfe"]))
    return data


# --- CSV ----------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_fuzzed_csv_file_gives_rows_or_one_line_error(tmp_path_factory, data):
    """One file of an otherwise valid portfolio replaced by a fuzzed CSV."""
    root = base_book(_scratch(tmp_path_factory))
    table = data.draw(FILES, label="table")
    (root / f"{table}.csv").write_bytes(data.draw(csv_bytes(table), label="bytes"))
    check_read(root)
    check_read(root, max_reject=0.01)


@FUZZ
@given(table=FILES, blob=st.binary(max_size=400))
def test_random_bytes_give_rows_or_one_line_error(tmp_path_factory, table, blob):
    """Arbitrary bytes in place of one CSV file."""
    root = base_book(_scratch(tmp_path_factory))
    (root / f"{table}.csv").write_bytes(blob)
    check_read(root)


# --- Parquet ------------------------------------------------------------------------------

PARQUET_COLUMN = st.one_of(
    st.lists(st.one_of(st.none(), st.text(max_size=10), st.sampled_from(NASTY[:40])), min_size=0, max_size=5).map(lambda v: pa.array(v, type=pa.string())),
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=5).map(lambda v: pa.array(v, type=pa.int64())),
    st.lists(st.one_of(st.none(), st.floats()), max_size=5).map(lambda v: pa.array(v, type=pa.float64())),
    st.lists(st.one_of(st.none(), st.booleans()), max_size=5).map(lambda v: pa.array(v, type=pa.bool_())),
    st.lists(st.one_of(st.none(), st.datetimes()), max_size=5).map(lambda v: pa.array(v, type=pa.timestamp("us"))),
    st.lists(st.one_of(st.none(), st.datetimes()), max_size=5).map(lambda v: pa.array(v, type=pa.timestamp("us", tz="Asia/Shanghai"))),
    st.lists(st.one_of(st.none(), st.binary(max_size=6)), max_size=5).map(lambda v: pa.array(v, type=pa.binary())),
    st.lists(st.one_of(st.none(), st.lists(st.integers(0, 9), max_size=3)), max_size=5).map(lambda v: pa.array(v, type=pa.list_(pa.int64()))),
)


@st.composite
def parquet_table(draw, table: str) -> pa.Table:
    columns = list(TABLES[table])
    names = draw(st.one_of(st.just(columns), st.lists(st.one_of(st.sampled_from(columns), HEADER_NAMES), max_size=8)))
    arrays = [draw(PARQUET_COLUMN) for _ in names]
    n = min((len(a) for a in arrays), default=0)
    return pa.Table.from_arrays([a.slice(0, n) for a in arrays], names=names)


@FUZZ
@given(data=st.data())
def test_fuzzed_parquet_file_gives_rows_or_one_line_error(tmp_path_factory, data):
    """One file as Parquet with wrong types, nulls, naive and aware timestamps, binary and list
    columns, duplicate or missing column names; sometimes a damaged file."""
    root = base_book(_scratch(tmp_path_factory))
    table = data.draw(FILES, label="table")
    (root / f"{table}.csv").unlink(missing_ok=True)
    path = root / f"{table}.parquet"
    pq.write_table(data.draw(parquet_table(table), label="table"), path)
    if data.draw(rare(5), label="damage"):
        blob = path.read_bytes()
        path.write_bytes(blob[: data.draw(st.integers(0, len(blob)))])
    check_read(root)


# --- policy TOML --------------------------------------------------------------------------

KEYS = [
    "name", "description", "timezone", "country", "slot_minutes", "never_call_statuses", "custom_statuses",
    "default_attempts_per_hour", "window.start", "window.end", "window.holidays", "window.sat", "window.sun",
    "window.third_party.start", "window.third_party.end", "caps.debtor.per_day", "caps.debtor.rolling.minutes",
    "caps.debtor.rolling.max", "caps.debtor.min_gap_minutes", "caps.third_party.per_day", "caps.account.per_day",
    "caps.account.per_7_days", "caps.account.cooldown_after_conversation_days", "complaint.scope",
    "third_party.allowed_statuses", "third_party.weight", "defaults.rpc_rate.debtor", "defaults.pay_propensity.ptp",
    "defaults.pay_propensity", "seats.continuity", "segments.x.caps.account.per_7_days", "segments.x.window.start",
    "segments.x.timezone", "segments.x", "segments", "window", "caps", "frequency", "unknown", '"a\\nb"', '"\\u2028"',
]
TOML_VALUES = st.one_of(
    st.sampled_from([
        '"08:00"', '"24:00"', '"25:00"', '"8:00"', '"22:00"', '"none"', '["09:00", "20:00"]', '["20:00", "09:00"]',
        '"Asia/Shanghai"', '"Etc/Unknown"', '"../x"', '""', '"CN"', '"XX"', '"US"', '"call"', '"no_call"', "true",
        "false", "0", "1", "-1", "15", "7", "60", "9223372036854775807", "nan", "inf", "-inf", "0.5", "1.5", "1e308",
        '["paused"]', '[""]', "[1, 2]", "[]", "{}", '{ minutes = 60, max = 0 }', '{ debtor = 0.1, third_party = 2 }',
        '[{ statuses = ["contactable"], min_attempts = 3, period = "week" }]',
        '[{ statuses = ["new"], every_days = 0 }]', '[{ statuses = ["new"], every_days = 2, period = "week" }]',
        '[1]', '[{ statuses = "x" }]', "1979-05-27T07:32:00Z", "07:32:00", '"\\u0000"', '"a\\nb"',
    ]),
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats().map(lambda f: "nan" if f != f else ("inf" if f == float("inf") else ("-inf" if f == float("-inf") else repr(f)))),
    st.text(max_size=10).map(lambda s: json.dumps(s, ensure_ascii=False)),  # a TOML basic string
)


@st.composite
def policy_bytes(draw) -> bytes:
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=6, unique=True))
    lines = [f"{key} = {draw(TOML_VALUES)}" for key in keys]
    if draw(st.booleans()):
        lines = ['name = "fuzz"', *lines]
    if draw(rare(6)):
        lines.append(draw(st.sampled_from(["[window", "[[frequency]]", "[segments.x]", "= 1", "a = ", "[caps.debtor]\nper_day = 1"])))
    text = "".join(line + draw(TOML_EOL) for line in lines)
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(rare(8)):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\xff\xfe" + data[at:]
    return data


@FUZZ
@given(blob=policy_bytes())
def test_fuzzed_policy_gives_policy_or_one_line_error(tmp_path_factory, blob):
    """A fuzzed policy.toml: load_policy returns a Policy that the linter can read, or a
    one-line PolicyError; the portfolio reader given that policy does the same."""
    root = base_book(_scratch(tmp_path_factory))
    path = root / "policy.toml"
    path.write_bytes(blob)
    with watchdog():
        try:
            pol = load_policy(path)
        except DialplanError as exc:
            assert "\n" not in str(exc) and "\r" not in str(exc), repr(str(exc))
            pol = None
        if pol is not None:
            for finding in lint(pol):
                assert "\n" not in finding.message
    check_read(root)


@FUZZ
@given(text=st.text(max_size=300))
def test_random_text_policy_gives_policy_or_one_line_error(tmp_path_factory, text):
    """Arbitrary text as policy.toml (mostly not TOML at all)."""
    path = _scratch(tmp_path_factory) / "policy.toml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    with watchdog():
        try:
            lint(load_policy(path))
        except DialplanError as exc:
            assert "\n" not in str(exc) and "\r" not in str(exc), repr(str(exc))


# --- named cases (each a bug found by the fuzzing, or one of the classes) ---------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bom", b"\xef\xbb\xbfaccount_id,balance,status\nA1,10,contactable\nA2,5,lost_contact\n"),
        ("crlf and cr", b"account_id,balance,status\r\nA1,10,contactable\rA2,5,lost_contact\n"),
        # found by the fuzzing: the header check read a CR-only file as one line and saw
        # the repeated 10 as a duplicate column
        ("cr only", b"account_id,balance,status\rA1,10,contactable\rA2,10,lost_contact\r"),
        ("quoted header", b'"account_id","balance","status","a,b"\nA1,10,contactable,x\n'),
        ("short row", b"account_id,balance,status\nA1,10\nA2,5,lost_contact\n"),
        ("not utf-8", b"account_id,balance,status\nA1,10,contactable\nA2,5,lost\xff\n"),
        ("duplicate header", b"account_id,balance,status,balance\nA1,10,contactable,3\n"),
        ("header only", b"account_id,balance,status\n"),
        ("empty", b""),
        ("huge field", b"account_id,balance,status\nA1,10," + b"x" * 3_000_000 + b"\nA2,5,lost_contact\n"),
    ],
)
def test_named_malformed_accounts(tmp_path, name, data):
    """The issue's classes of malformed input, one each, through the reader."""
    root = base_book(tmp_path / "book")
    (root / "accounts.csv").write_bytes(data)
    outcome = check_read(root)
    if name in ("bom", "crlf and cr", "cr only", "quoted header", "short row", "huge field"):
        assert outcome == "ok", name  # these are readable: rows kept or rejected, no fatal error


def test_timestamps_without_offset_are_rejected_rows(tmp_path):
    """A history timestamp without a UTC offset is a rejected row, not a guess."""
    root = write_portfolio(tmp_path / "book", ACCOUNTS, CONTACTS, SEATS, history=[
        {"account_id": "A1", "contact_id": "C1", "called_at": "2026-11-27T10:00:00", "outcome": "no_answer"},
        {"account_id": "A1", "contact_id": "C1", "called_at": "2026-11-27T11:00:00+08:00", "outcome": "no_answer"},
    ])
    pf = read_portfolio(root, max_reject=1.0)
    assert len(pf.history) == 1
    assert pf.rejected[["file", "row", "column"]].values.tolist() == [["history.csv", 1, "called_at"]]


def test_cli_turns_a_fuzz_failure_into_one_line(tmp_path):
    """A non-UTF-8 header through the CLI: exit 2, exactly one `Error:` line, no traceback."""
    root = base_book(tmp_path / "book")
    (root / "seats.csv").write_bytes(b"seat_id,shift_start,shift_\xffend\nS1,09:00,12:00\n")
    result = CliRunner().invoke(cli, ["plan", str(root), "--date", "2026-11-30", "--out", str(tmp_path / "plan"), "--solver", "hopper"])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("Error: seats.csv: ")
    assert not (tmp_path / "plan").exists()


_COUNTER = iter(range(10**9))


def _scratch(factory) -> Path:
    """A fresh directory per example (function-scoped tmp_path is shared by all examples)."""
    path = factory.getbasetemp() / "fuzz" / f"ex{next(_COUNTER)}"
    path.mkdir(parents=True)
    return path


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("key", ["third_party.weight", "default_attempts_per_hour", "defaults.rpc_rate.debtor"])
def test_policy_numbers_must_be_finite(tmp_path, key, value):
    """TOML allows nan and inf; a policy number that is not finite is a one-line PolicyError
    naming the key (before the fix, nan passed every range check and reached the solver)."""
    path = tmp_path / "policy.toml"
    path.write_text(f"{key} = {value}\n", encoding="utf-8")
    with pytest.raises(DialplanError, match=f"key '{key}' must be a finite number"):
        load_policy(path)


def test_policy_with_bom_and_crlf_loads(tmp_path):
    """A policy.toml saved by a Windows editor (byte-order mark, CRLF) loads like the plain one."""
    path = tmp_path / "policy.toml"
    path.write_bytes(b"\xef\xbb\xbfname = \"bom\"\r\n[caps.debtor]\r\nper_day = 2\r\n")
    pol = load_policy(path)
    assert pol.name == "bom" and pol.contact_caps("debtor")["per_day"] == 2


def test_policy_not_utf8_is_one_line_error(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_bytes(b'name = "x\xff"\n')
    with pytest.raises(DialplanError, match=r"policy.toml: cannot read policy \(UnicodeDecodeError\)$"):
        load_policy(path)


def test_parquet_bugs_found_by_the_fuzzing(tmp_path):
    """Two crashes the fuzzing found in the Parquet reader, now fixed: an empty timestamp
    column (AttributeError: .str on datetime64) and a binary column with non-UTF-8 bytes
    (UnicodeDecodeError). Now: rows read (naive timestamps rejected) and a one-line error."""
    root = base_book(tmp_path / "book")
    (root / "callbacks.csv").unlink()
    empty = pa.table({"account_id": pa.array([], pa.string()), "contact_id": pa.array([], pa.string()),
                      "at": pa.array([], pa.timestamp("us")), "seat_id": pa.array([], pa.string())})
    pq.write_table(empty, root / "callbacks.parquet")
    assert check_read(root) == "ok"
    naive = pa.table({"account_id": ["A1", "A1"], "contact_id": ["C1", "C1"],
                      "at": pa.array([dt.datetime(2026, 11, 30, 10), dt.datetime(2026, 11, 30, 2)], pa.timestamp("us")),
                      "seat_id": ["S1", ""]})
    aware = naive.set_column(2, "at", pa.array([dt.datetime(2026, 11, 30, 2), None], pa.timestamp("us", tz="UTC")))
    pq.write_table(naive, root / "callbacks.parquet")
    pf = read_portfolio(root, max_reject=1.0)
    assert len(pf.callbacks) == 0 and set(pf.rejected["reason"]) == {"not an ISO 8601 timestamp with UTC offset"}
    pq.write_table(aware, root / "callbacks.parquet")
    pf = read_portfolio(root, max_reject=1.0)
    assert pf.callbacks["at"].tolist() == [pd.Timestamp("2026-11-30T02:00:00Z")]
    assert pf.rejected[["row", "column", "reason"]].values.tolist() == [[2, "at", "required value missing"]]
    binary = pa.table({"seat_id": pa.array([b"S1", b"\xff"], pa.binary()), "shift_start": ["09:00", "09:00"],
                       "shift_end": ["12:00", "12:00"]})
    (root / "seats.csv").unlink()
    pq.write_table(binary, root / "seats.parquet")
    with pytest.raises(DialplanError, match=r"^seats.parquet: column 'seat_id' cannot be read as text \(binary values that are not UTF-8\)$"):
        read_portfolio(root, max_reject=1.0)
    pq.write_table(binary.set_column(0, "seat_id", pa.array([b"S1", b"S2"], pa.binary())), root / "seats.parquet")
    assert read_portfolio(root, max_reject=1.0).seats["seat_id"].tolist() == ["S1", "S2"]


# --- accepted but extreme values, through the whole plan ----------------------------------

EXTREME = {
    "balance": st.sampled_from(["0", "0.0000001", "1e300", "1.7976931348623157e308", "123456789012345678901234567890"]),
    "pay_propensity": st.sampled_from(["", "0", "1", "1e-300"]),
    "rpc_rate": st.sampled_from(["", "0", "1", "5e-324"]),
    "attempts_per_hour": st.sampled_from(["", "1e-300", "0.001", "1e300", "1e18", "3600"]),
    "shift": st.sampled_from([("00:00", "24:00"), ("09:00", "09:15"), ("23:45", "24:00"), ("09:00", "12:00")]),
    "breaks": st.sampled_from(["", "00:00-24:00", "09:00-09:15", "10:00-10:01;10:02-10:03"]),
    "timezone": st.sampled_from(["", "Pacific/Kiritimati", "Etc/GMT+12", "America/St_Johns", "Asia/Kathmandu", "UTC", "Factory"]),
    "zones": st.sampled_from(["", "Pacific/Kiritimati|Etc/GMT+12", "Asia/Shanghai", "Factory"]),
}


@settings(max_examples=40, deadline=None, derandomize=True, phases=_PHASES,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_extreme_accepted_values_plan_or_fail_in_one_line(tmp_path_factory, data):
    """Values the reader accepts but that sit at the edges (huge balances, tiny or huge seat
    rates, 24-hour shifts, breaks covering the shift, odd zones) go through the whole run
    (hopper, verify on): a published plan or a one-line DialplanError, nothing else."""
    from dialplan.pipeline import run_plan

    root = _scratch(tmp_path_factory)
    d = {k: data.draw(v, label=k) for k, v in EXTREME.items()}
    accounts = [{**a, "balance": d["balance"], "pay_propensity": d["pay_propensity"], "timezone": d["timezone"]} for a in ACCOUNTS]
    contacts = [{**c, "rpc_rate": d["rpc_rate"], "timezone": d["zones"]} for c in CONTACTS]
    seats = [{**SEATS[0], "shift_start": d["shift"][0], "shift_end": d["shift"][1], "breaks": d["breaks"],
              "attempts_per_hour": d["attempts_per_hour"], "timezone": d["timezone"]}]
    book = write_portfolio(root / "book", accounts, contacts, seats, history=HISTORY, callbacks=CALLBACKS, curves=CURVES)
    with watchdog(60):
        try:
            run_plan(book, dt.date(2026, 11, 30), root / "plan", solver="hopper", max_reject=1.0)
        except DialplanError as exc:
            assert "\n" not in str(exc)
            _event("error: " + str(exc)[:40])
            return
    _event("planned")
    assert (root / "plan" / "plan.csv").is_file()
