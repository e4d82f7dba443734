"""Obligations due on the plan date: frequency minimums and callbacks (contract 2.3)."""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pandas as pd

from ..columns import indexer
from .time import SlotGrid, local_clock


def account_zone(accounts: pd.DataFrame, policy_zone: str) -> pd.Series:
    """The zone that counts an account's days: its own, else the policy zone."""
    return accounts["timezone"].where(accounts["timezone"] != "", policy_zone)


def history_account_dates(history: pd.DataFrame, accounts: pd.DataFrame, policy_zone: str, hist_acc: np.ndarray | None = None) -> np.ndarray:
    """Local date (ordinal) of every history attempt in its account's zone. ``hist_acc``: the
    account row of each history row (-1 unknown), when the caller has it already."""
    epochs = history["called_at"].astype("datetime64[s, UTC]").astype("int64").to_numpy() if len(history) else np.zeros(0, np.int64)
    out = np.zeros(len(history), dtype=np.int64)
    if not len(history):
        return out
    # zone code of each history row's account (rows of unknown accounts get none and keep 0)
    zone_codes, zone_names = pd.factorize(account_zone(accounts, policy_zone).to_numpy(dtype=object))
    pos = indexer(accounts["account_id"], history["account_id"]) if hist_acc is None else hist_acc
    codes = np.where(pos >= 0, zone_codes[pos] if len(zone_codes) else -1, -1)
    for z in np.unique(codes[codes >= 0]):
        idx = np.flatnonzero(codes == z)
        out[idx] = local_clock(zone_names[z], epochs[idx])[0]
    return out


def _period(day: dt.date, period: str) -> tuple[dt.date, dt.date]:
    if period == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6)
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def frequency_due(
    accounts: pd.DataFrame, history: pd.DataFrame, policy, day: dt.date,
    hist_acc: np.ndarray | None = None, dates: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per account: attempts due today by the frequency rules (largest over matching rules)
    and attempts already made today (history dated D). ``hist_acc`` (account row of each
    history row) and ``dates`` (``history_account_dates``) may be passed when known."""
    n = len(accounts)
    due = np.zeros(n, dtype=np.int64)
    if hist_acc is None:
        hist_acc = indexer(accounts["account_id"], history["account_id"]) if len(history) else np.zeros(0, np.int64)
    if dates is None:
        dates = history_account_dates(history, accounts, policy.timezone, hist_acc)
    d = day.toordinal()
    today = np.bincount(hist_acc[dates == d], minlength=n).astype(np.int64)
    for (segment, status), idx in accounts.groupby(["segment", "status"], sort=True).indices.items():
        pol = policy.for_segment(segment)
        for rule in pol.frequency:
            if status not in rule["statuses"]:
                continue
            members = np.zeros(n, dtype=bool)
            members[idx] = True
            in_group = members[hist_acc] if len(hist_acc) else np.zeros(0, bool)
            if "every_days" in rule:
                lo = d - rule["every_days"] + 1
                recent = in_group & (dates >= lo) & (dates <= d - 1)
                had = np.bincount(hist_acc[recent], minlength=n)[idx] > 0
                need_today = np.where(had, 0, 1)
            else:
                start, end = _period(day, rule["period"])
                before = in_group & (dates >= start.toordinal()) & (dates <= d - 1)
                made = np.bincount(hist_acc[before], minlength=n)[idx]
                need = rule["min_attempts"] - made
                days = sum(
                    pol.is_callable_day(day + dt.timedelta(days=k)) for k in range((end - day).days + 1)
                )
                need_today = np.where((need > 0) & (days > 0), -(-need // max(days, 1)), 0)
            due[idx] = np.maximum(due[idx], need_today)
    return due, today


def callbacks_due(callbacks: pd.DataFrame, grid: SlotGrid, day: dt.date, zone: str) -> pd.DataFrame:
    """Callbacks whose ``at`` falls on the plan date (policy zone), with their slot index
    (-1 when the grid does not hold it)."""
    if callbacks.empty:
        return callbacks.assign(slot=pd.Series(dtype="int64"))
    epochs = callbacks["at"].astype("datetime64[s, UTC]").astype("int64").to_numpy()
    local_day, _ = local_clock(zone, epochs)
    on_day = callbacks[local_day == day.toordinal()].copy()
    on_day["slot"] = grid.index_of(epochs[local_day == day.toordinal()])
    return on_day.reset_index(drop=True)
