"""Set membership, lookups and per-value functions on text columns, at millions of rows.

pandas' ``Series.isin``, ``Index.get_indexer`` and ``Series.map`` on pyarrow-backed strings
(the default ``str`` dtype of pandas >= 3) convert the value set, or every row, to Python
objects one at a time: about 2 s per 370k rows for one ``isin``. These helpers give the
same answers with pyarrow compute kernels (``is_in``, ``index_in``) on the whole column, and
fall back to pandas when a column is not plain text (nulls, numbers, mixed objects).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _text(values) -> pa.Array | None:
    """``values`` as one pyarrow string array without nulls, or None when they are not that."""
    if isinstance(values, (set, frozenset, dict)):
        values = list(values)
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.array
    try:
        if hasattr(values, "__arrow_array__"):
            arr = pa.array(values)
        else:
            obj = np.asarray(values, dtype=object)
            if obj.ndim != 1:
                return None
            arr = pa.array(obj, type=pa.large_string()) if len(obj) else pa.array([], type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) or arr.null_count:
        return None
    return arr.cast(pa.large_string()) if pa.types.is_string(arr.type) else arr


def isin(values, known) -> np.ndarray:
    """Bool array: each element of ``values`` is in ``known`` (as ``Series.isin``)."""
    v, k = _text(values), _text(known)
    if v is None or k is None:
        keys = list(known) if isinstance(known, (set, frozenset, dict)) else known
        return pd.Series(np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else values).isin(keys).to_numpy(dtype=bool)
    return pc.is_in(v, value_set=k).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def indexer(keys, values) -> np.ndarray:
    """int64 array: position of each element of ``values`` in ``keys`` (unique), -1 when absent
    (as ``pd.Index(keys).get_indexer(values)``; a key given twice answers its first position,
    as ``pyarrow.compute.index_in``)."""
    v, k = _text(values), _text(keys)
    if v is None or k is None:
        return pd.Index(keys).get_indexer(values).astype(np.int64)
    words = _words(k, v)
    if words is not None:
        return _indexer_words(words, len(k))
    pos = pc.index_in(v, value_set=k).fill_null(-1)
    return pos.to_numpy(zero_copy_only=False).astype(np.int64)


_MAX_WORDS = 4  # ids up to 32 bytes take the packed path; longer ones pyarrow's index_in


def _words(*arrays: pa.Array) -> list[np.ndarray] | None:
    """The strings of ``arrays`` (one after the other) as ``w`` uint64 columns: the UTF-8 bytes
    zero-padded to 8*w bytes. Two strings get equal columns exactly when they are equal, given
    that no string holds a NUL byte (then None, as when one is longer than 32 bytes)."""
    offs, datas = [], []
    for arr in arrays:  # large_string: int64 offsets, then the bytes
        _, off_buf, data_buf = arr.buffers()
        off = np.frombuffer(off_buf, dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
        if len(off) and off[-1] > off[0] and not data[off[0]:off[-1]].all():
            return None  # a NUL byte: padding could make two strings equal
        offs.append(off)
        datas.append(data)
    lengths = np.concatenate([np.diff(o) for o in offs]) if offs else np.zeros(0, np.int64)
    if not len(lengths):
        return [np.zeros(0, np.uint64)]
    width = int(lengths.max()) if len(lengths) else 0
    n_words = max(1, -(-width // 8))
    if n_words > _MAX_WORDS:
        return None
    padded = np.zeros((len(lengths), n_words * 8), dtype=np.uint8)
    row = 0
    for off, data in zip(offs, datas):
        n = len(off) - 1
        if n <= 0:
            continue
        length = np.diff(off)
        same = int(length[0])
        if (length == same).all():  # ids of one width: the bytes are already a matrix
            padded[row:row + n, :same] = data[off[0]:off[0] + n * same].reshape(n, same)
        else:
            for j in range(int(length.max())):  # byte j of every string long enough
                has = length > j
                padded[row:row + n][has, j] = data[off[:-1][has] + j]
        row += n
    out = []
    for w in range(n_words):
        x = np.ascontiguousarray(padded[:, 8 * w:8 * w + 8]).view(np.uint64).ravel()
        # a bijective mix of the bits (equal exactly when the words are): ids differ in few
        # bytes, and the hash table of ``pd.factorize`` is slow on such keys
        x *= np.uint64(0x9E3779B97F4A7C15)
        x ^= x >> np.uint64(29)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(32)
        out.append(x)
    return out


def _indexer_words(words: list[np.ndarray], n_keys: int) -> np.ndarray:
    """Positions in the first ``n_keys`` rows of each later row, from the packed words."""
    if len(words) == 1:
        keys = pd.Index(words[0][:n_keys])
        if keys.is_unique:  # one hash table of the keys, then lookups (the usual case)
            return keys.get_indexer(words[0][n_keys:]).astype(np.int64)
    codes = None
    for w in words:  # one code per distinct string: the words combined one at a time
        c, u = pd.factorize(w)
        if codes is None:
            codes = c.astype(np.int64)
        else:
            codes, _ = pd.factorize(codes * len(u) + c)
            codes = codes.astype(np.int64)
    key_codes, value_codes = codes[:n_keys], codes[n_keys:]
    # codes are numbered in order of first appearance and the keys come first: a key's code is
    # new exactly where it exceeds every earlier key's code, and those places are its first copy
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    first = np.full(n_codes + 1, -1, dtype=np.int64)
    if n_keys:
        earlier = np.concatenate([[-1], np.maximum.accumulate(key_codes)[:-1]])
        new = np.flatnonzero(key_codes > earlier)
        first[key_codes[new]] = new
    return first[value_codes]


def map_unique(values, func: Callable, dtype=object) -> np.ndarray:
    """``func`` of every element of ``values``, called once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values)
    out = np.empty(len(uniques), dtype=dtype)
    for i, u in enumerate(np.asarray(uniques, dtype=object)):
        out[i] = func(u)
    if len(codes) and (codes < 0).any():
        raise ValueError("map_unique: missing values")
    return out[codes] if len(codes) else np.empty(0, dtype=dtype)


def factorize_rows(columns) -> tuple[np.ndarray, list[tuple]]:
    """(code of each row, distinct rows as tuples in order of first appearance) of the rows of
    equal-length ``columns``: ``pd.MultiIndex.from_arrays(columns).factorize()`` without
    building a tuple per row. A column may come factorized already, as a tuple (codes,
    distinct values): then ``values[codes]`` is the column."""
    codes, per_column = None, []
    for col in columns:
        if isinstance(col, tuple):
            c, u = col
        else:
            c, u = pd.factorize(pd.Series(col, copy=False) if not isinstance(col, pd.Series) else col, use_na_sentinel=False)
        c = np.asarray(c).astype(np.int64, copy=False)
        per_column.append((c, np.asarray(u, dtype=object)))
        codes = c if codes is None else pd.factorize(codes * len(u) + c)[0].astype(np.int64)
    if codes is None or not len(codes):
        return np.zeros(0, dtype=np.int64), []
    # codes are numbered in order of first appearance: a row starts a new code exactly where
    # its code exceeds every earlier row's
    earlier = np.concatenate([[-1], np.maximum.accumulate(codes)[:-1]])
    first = np.flatnonzero(codes > earlier)
    return codes, list(zip(*(u[c[first]].tolist() for c, u in per_column)))


def group_indices(columns) -> dict[tuple, np.ndarray]:
    """``pd.DataFrame(dict(enumerate(columns))).groupby(list, sort=True).indices`` for two or
    more equal-length text columns without missing values: distinct rows (tuples) in sorted
    order -> the ascending positions of their rows, without a str column per array. Columns
    may come factorized, as in ``factorize_rows`` (their distinct values must be distinct)."""
    codes, uniques = factorize_rows(columns)
    if not len(codes):
        return {}
    order = np.argsort(codes, kind="stable")
    parts = np.split(order, np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1])
    return {uniques[g]: parts[g] for g in sorted(range(len(uniques)), key=uniques.__getitem__)}


def duplicated_all(values) -> np.ndarray:
    """Bool array: the value occurs more than once (``Series.duplicated(keep=False)``)."""
    v = _text(values)
    words = _words(v) if v is not None else None
    if words is None:
        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        return series.duplicated(keep=False).to_numpy(dtype=bool)
    codes = None
    for w in words:
        c, u = pd.factorize(w)
        codes = c.astype(np.int64) if codes is None else pd.factorize(codes * len(u) + c)[0].astype(np.int64)
    if not len(codes):
        return np.zeros(0, dtype=bool)
    return np.bincount(codes)[codes] > 1
