"""The reader's fast paths give exactly what the slow ones gave (issue 3, 1M cases in 60 s).

* ``_read_csv_fast`` (pyarrow's CSV parser) against pandas' ``read_csv`` on the same bytes:
  hypothesis writes small files from an alphabet of the troublesome characters (commas,
  quotes, CR, LF, spaces, a no-break space, NUL, a BOM, bytes that are not UTF-8) and the
  two readers must give equal frames, or the fast one must decline (and pandas read it).
* ``columns.indexer`` (ids packed into uint64 words) against ``pyarrow.compute.index_in``,
  duplicate keys, non-ASCII, empty and long ids included.
* ``columns.factorize_rows`` against ``pd.MultiIndex.factorize``, ``columns.group_indices``
  against ``DataFrame.groupby(...).indices``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialplan.columns import _text, factorize_rows, group_indices, indexer
from dialplan.errors import InputError
from dialplan.io import portfolio as P

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _both(path, monkeypatch):
    """(fast result, pandas result) of ``_read_table``: a frame or the InputError's text."""
    def run():
        try:
            return P._read_table(path, "accounts")
        except InputError as exc:
            return str(exc)

    fast = run()
    with monkeypatch.context() as m:
        m.setattr(P, "_read_csv_fast", lambda path, header: None)
        slow = run()
    return fast, slow


PLAIN = st.text(alphabet=st.sampled_from(list("ab1 \t") + ["\u00a0", "é", "\u2028", "\x0c"]), max_size=6)
NASTY = st.text(alphabet=st.sampled_from(list("ab1 ,\"\r\n\t") + ["\u00a0", "é", "\x00"]), max_size=6)


@st.composite
def csv_bytes(draw):
    """Half the files plain (what the fast path takes), half with anything in their fields."""
    field = PLAIN if draw(st.booleans()) else NASTY
    n_cols = draw(st.sampled_from([1, 2, 2, 3, 4]))
    if draw(st.integers(0, 4)):
        header = draw(st.permutations(["a", " b ", "c\u00a0", "é", "e", "f"]))[:n_cols]
    else:
        header = [draw(st.sampled_from(["a", "b", " c ", "", "é"])) for _ in range(n_cols)]
    ragged = st.sampled_from([0, 0, -1, 1]) if draw(st.integers(0, 3)) == 0 else st.just(0)
    rows = [[draw(field) for _ in range(n_cols + draw(ragged))] for _ in range(draw(st.integers(0, 5)))]
    eol = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    text = eol.join(",".join(r) for r in [header] + rows) + draw(st.sampled_from(["", eol, eol + eol]))
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 9)) == 0:
        data = data + b"\xff,x"
    return data


@SETTINGS
@given(data=csv_bytes())
def test_fast_csv_reader_agrees_with_pandas(tmp_path_factory, monkeypatch, data):
    path = tmp_path_factory.mktemp("csv") / "accounts.csv"
    path.write_bytes(data)
    fast, slow = _both(path, monkeypatch)
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow
    else:
        pd.testing.assert_frame_equal(fast, slow)


def test_fast_csv_reader_takes_plain_files(tmp_path, monkeypatch):
    """A plain file (CRLF, BOM, blank lines, padded values) is read by pyarrow, and alike."""
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "account_id , balance,status\r\nA1, 10 ,new\r\n\r\nA2,,\u00a0x\u00a0\r\n".encode())
    header = ["account_id", "balance", "status"]
    fast = P._read_csv_fast(path, header)
    assert fast is not None
    assert fast["balance"].tolist() == ["10", ""] and fast["status"].tolist() == ["new", "x"]
    fast2, slow = _both(path, monkeypatch)
    pd.testing.assert_frame_equal(fast2, slow)


@pytest.mark.parametrize(
    "data",
    [b'a,b\n"x",y\n', b"a,b\nx\ry,z\n", b"a,b\nx,y,z\n", b"a,b\nx\n", b"a,\nx,y\n", b"a,b\nx\x00,y\n", b"a,b\n\xff,y\n"],
)
def test_fast_csv_reader_declines_what_it_cannot_match(tmp_path, data):
    path = tmp_path / "accounts.csv"
    path.write_bytes(data)
    header = [h.strip() for h in data.split(b"\n")[0].decode().split(",")]
    assert P._read_csv_fast(path, header) is None


IDS = st.text(alphabet=st.sampled_from(["A", "0", "1", "é", "\u4e2d", " ", "\x00"]), max_size=12)


@SETTINGS
@given(keys=st.lists(IDS, max_size=30), values=st.lists(IDS, max_size=30), long=st.booleans(), cut=st.integers(0, 2))
def test_indexer_agrees_with_index_in(keys, values, long, cut):
    if long:
        keys = [k * 5 for k in keys]  # past the packed path's 32 bytes for some ids
    values = values + keys[::2]
    ks, vs = pd.Series(keys, dtype="str").iloc[cut:], pd.Series(values, dtype="str").iloc[cut:]
    expected = pc.index_in(_text(vs), value_set=_text(ks)).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    assert np.array_equal(indexer(ks, vs), expected)
    assert np.array_equal(indexer(np.array(list(ks), dtype=object), np.array(list(vs), dtype=object)), expected)


def test_indexer_first_copy_of_a_duplicated_key():
    assert indexer(pd.Series(["b", "a", "b", "a"], dtype="str"), pd.Series(["a", "b", "c"], dtype="str")).tolist() == [1, 0, -1]
    assert indexer(pd.Series(["x", "y"], dtype="str"), pd.Series(["y", "x", "y"], dtype="str")).tolist() == [1, 0, 1]


@SETTINGS
@given(rows=st.lists(st.tuples(st.sampled_from(["", "a", "b", "é"]), st.sampled_from(["", "x", "y"]), st.sampled_from(["p", "q"])), max_size=40), width=st.integers(1, 3))
def test_factorize_rows_agrees_with_multiindex(rows, width):
    cols = [pd.Series([r[i] for r in rows], dtype="str") for i in range(width)]
    codes, uniques = factorize_rows(cols)
    ref_codes, ref_uniques = pd.MultiIndex.from_arrays([c.to_numpy(dtype=object) for c in cols]).factorize()
    assert np.array_equal(codes, ref_codes.astype(np.int64))
    assert uniques == list(ref_uniques)


@SETTINGS
@given(rows=st.lists(st.tuples(st.sampled_from(["", "a", "B", "b", "é", "\u4e2d", "a b"]), st.sampled_from(["", "x", "y"]), st.sampled_from(["p", "q", "P"])), max_size=40), width=st.integers(2, 3))
def test_group_indices_agrees_with_groupby(rows, width):
    cols = [np.array([r[i] for r in rows], dtype=object) for i in range(width)]
    ref = pd.DataFrame({str(i): c for i, c in enumerate(cols)}).groupby([str(i) for i in range(width)]).indices
    # plain columns, and the same columns factorized beforehand (uniques in another order)
    factorized = []
    for c in cols:
        u = np.array(sorted(set(c)) + ["unused"], dtype=object)[::-1]
        factorized.append((np.array([list(u).index(v) for v in c], dtype=np.int64), u))
    for got in (group_indices(cols), group_indices(factorized)):
        assert list(got) == list(ref)
        for a, b in zip(got.values(), ref.values()):
            assert np.array_equal(a, b) and a.dtype == b.dtype


NUMBER_TEXT = st.one_of(
    st.integers(-(2**64), 2**64).map(str),
    st.sampled_from(["", "-0", "+0", "0", "007", "-0.0", "1.5", "1e3", "9007199254740993", "18446744073709551617", "abc", "inf"]),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
)


@SETTINGS
@given(texts=st.lists(NUMBER_TEXT, max_size=12), keep_bits=st.lists(st.booleans(), min_size=12, max_size=12), optional=st.booleans())
def test_numbers_parsed_once_equal_to_parsing_the_kept_rows(texts, keep_bits, optional):
    """The reader's finishing step takes the checks' parsed numbers only when they are exactly
    what ``to_numeric`` of the kept rows gives (int64 vs float readings, -0)."""
    values = pd.Series(texts, dtype="str")
    got: dict = {}
    bad, _ = P._bad_mask("nonneg" if optional else "amount", values, None, got)
    keep = ~bad & np.array(keep_bits[: len(texts)], dtype=bool) & ((values != "").to_numpy() | optional)
    kept = values[keep].reset_index(drop=True)
    new = P._numbers(kept, P._kept_values(got["value"], keep), optional=optional).astype("float64").to_numpy()
    old = (pd.to_numeric(kept.where(kept != "", None), errors="coerce") if optional else pd.to_numeric(kept)).astype("float64").to_numpy()
    assert np.array_equal(new, old, equal_nan=True) and np.array_equal(np.signbit(new), np.signbit(old))


def test_timestamps_parsed_once_equal_to_parsing_the_kept_rows():
    values = pd.Series(["2026-11-30T08:00:00+08:00", "bad", "2026-11-30T09:00:00.5Z", "2026-11-30T10:00:00.123456789+00:00"], dtype="str")
    for keep in ([True, False, True, False], [True, False, True, True]):
        keep = np.array(keep)
        got: dict = {}
        P._bad_mask("timestamp", values, None, got)
        kept = values[keep].reset_index(drop=True)
        new = P._timestamps(kept, P._kept_values(got["value"], keep))
        pd.testing.assert_series_equal(new, pd.to_datetime(kept, utc=True, format="ISO8601", cache=False))


@SETTINGS
@given(ids=st.lists(IDS, max_size=30), long=st.booleans())
def test_duplicated_all_agrees_with_pandas(ids, long):
    from dialplan.columns import duplicated_all

    values = pd.Series([i * 5 for i in ids] if long else ids, dtype="str")
    assert np.array_equal(duplicated_all(values), values.duplicated(keep=False).to_numpy())
