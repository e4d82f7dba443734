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
    (as ``pd.Index(keys).get_indexer(values)``)."""
    v, k = _text(values), _text(keys)
    if v is None or k is None:
        return pd.Index(keys).get_indexer(values).astype(np.int64)
    pos = pc.index_in(v, value_set=k).fill_null(-1)
    return pos.to_numpy(zero_copy_only=False).astype(np.int64)


def map_unique(values, func: Callable, dtype=object) -> np.ndarray:
    """``func`` of every element of ``values``, called once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values)
    out = np.empty(len(uniques), dtype=dtype)
    for i, u in enumerate(np.asarray(uniques, dtype=object)):
        out[i] = func(u)
    if len(codes) and (codes < 0).any():
        raise ValueError("map_unique: missing values")
    return out[codes] if len(codes) else np.empty(0, dtype=dtype)
