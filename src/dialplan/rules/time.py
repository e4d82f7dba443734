"""The slot grid of the plan date and local clocks of slot instants in any zone (docs/rules.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ..policy.schema import hhmm_to_minutes

UTC = dt.timezone.utc


def local_midnight(day: dt.date, zone: str) -> int:
    """Epoch seconds of 00:00 of ``day`` in ``zone``."""
    return int(dt.datetime.combine(day, dt.time(0), ZoneInfo(zone)).timestamp())


def wall_to_epoch(day: dt.date, minutes: int, zone: str) -> int:
    """Epoch seconds of wall-clock ``minutes`` after midnight on ``day`` in ``zone``
    (``24:00`` is the next midnight)."""
    extra, minutes = divmod(minutes, 24 * 60)
    base = dt.datetime.combine(day + dt.timedelta(days=extra), dt.time(minutes // 60, minutes % 60), ZoneInfo(zone))
    return int(base.timestamp())


@dataclass(frozen=True)
class SlotGrid:
    """Slots [starts[i], starts[i] + seconds) of plan date ``date``, epoch seconds, aligned
    to the hour of the policy zone."""

    date: dt.date
    zone: str
    minutes: int
    starts: np.ndarray

    @property
    def n(self) -> int:
        return len(self.starts)

    @property
    def seconds(self) -> int:
        return self.minutes * 60

    @property
    def ends(self) -> np.ndarray:
        return self.starts + self.seconds

    def iso(self, epochs: np.ndarray) -> np.ndarray:
        """ISO 8601 strings with the policy zone's offset, one per distinct instant."""
        zone = ZoneInfo(self.zone)
        uniq, inverse = np.unique(np.asarray(epochs, dtype=np.int64), return_inverse=True)
        text = np.array([dt.datetime.fromtimestamp(int(t), zone).isoformat() for t in uniq], dtype=object)
        return text[inverse]

    def index_of(self, epochs: np.ndarray) -> np.ndarray:
        """Index of the slot holding each instant, -1 when outside the grid."""
        epochs = np.asarray(epochs, dtype=np.int64)
        if self.n == 0:
            return np.full(len(epochs), -1, dtype=np.int64)
        idx = (epochs - int(self.starts[0])) // self.seconds
        return np.where((idx >= 0) & (idx < self.n), idx, -1)


def build_grid(day: dt.date, policy, seats: pd.DataFrame) -> SlotGrid:
    """Slots covering every active seat's shift (seat-local date ``day``)."""
    step = policy.slot_minutes * 60
    active = seats[seats["active"]]
    if active.empty:
        return SlotGrid(day, policy.timezone, policy.slot_minutes, np.zeros(0, dtype=np.int64))
    starts, ends = [], []
    for (zone, s, e), _ in active.groupby(["timezone", "shift_start", "shift_end"], sort=True):
        starts.append(wall_to_epoch(day, hhmm_to_minutes(s), zone))
        ends.append(wall_to_epoch(day, hhmm_to_minutes(e), zone))
    origin = local_midnight(day, policy.timezone)
    first = origin + ((min(starts) - origin) // step) * step
    last = origin + -((origin - max(ends)) // step) * step
    return SlotGrid(day, policy.timezone, policy.slot_minutes, np.arange(first, last, step, dtype=np.int64))


def local_clock(zone: str, epochs: np.ndarray, is_end: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Local date (proleptic ordinal) and wall-clock minute of day of each instant in ``zone``.

    With ``is_end`` an instant exactly at local midnight reads as minute 1440 of the previous
    date, so that a slot ending at midnight lies on the same date as its start.
    """
    epochs = np.asarray(epochs, dtype=np.int64)
    stamps = pd.DatetimeIndex(epochs.astype("datetime64[s]")).tz_localize("UTC").tz_convert(zone)
    naive = stamps.tz_localize(None).as_unit("s").asi8  # local wall clock as seconds since epoch
    days, secs = np.divmod(naive, 86400)
    minutes = secs // 60
    if is_end:
        midnight = secs == 0
        days = np.where(midnight, days - 1, days)
        minutes = np.where(midnight, 24 * 60, minutes)
    return (days + _EPOCH_ORDINAL).astype(np.int64), minutes.astype(np.int64)


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
