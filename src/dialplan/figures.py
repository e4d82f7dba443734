"""Extra figures of a plan for reports and exports (additive to contract 4).

``plan_figures`` gives two more files of the plan directory and one more summary key:
- ``capacity.csv``: ``seat_id, team, slot_start, slot_end, capacity`` for every active seat
  and slot of the grid (attempts the seat can take in the slot, contract 2.2 rule 8);
- ``contact_zones.csv``: ``contact_id, timezones`` (resolved zones, ``|``-separated, first =
  the zone of the objective) for every contact in plan.csv;
- summary ``recovery_by_hour``: expected recovery attributed to the hour (policy zone) of each
  attempt's slot. A case's E_a is shared among its attempts in proportion to -log(1 - q), so
  the hours add up to ``expected_recovery``.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

CAPACITY_COLUMNS = ["seat_id", "team", "slot_start", "slot_end", "capacity"]
ZONE_COLUMNS = ["contact_id", "timezones"]


def _hours(grid) -> np.ndarray:
    zone = ZoneInfo(grid.zone)
    return np.array([dt.datetime.fromtimestamp(int(t), zone).hour for t in grid.starts], dtype=np.int64)


def plan_figures(plan) -> tuple[dict[str, pd.DataFrame], dict]:
    """(extra tables, extra summary keys) of ``plan``."""
    c = plan.cands
    seats = c.portfolio.seats
    active = np.flatnonzero(seats["active"].to_numpy())
    n_slots = c.grid.n
    cap = c.groups.seat_capacity[active] if n_slots else np.zeros((len(active), 0), dtype=np.int64)
    starts = c.grid.iso(c.grid.starts) if n_slots else np.zeros(0, dtype=object)
    ends = c.grid.iso(c.grid.ends) if n_slots else np.zeros(0, dtype=object)
    capacity = pd.DataFrame(
        {
            "seat_id": np.repeat(seats["seat_id"].to_numpy()[active], n_slots),
            "team": np.repeat(seats["team"].to_numpy()[active], n_slots),
            "slot_start": np.tile(starts, len(active)),
            "slot_end": np.tile(ends, len(active)),
            "capacity": cap.reshape(-1).astype(np.int64),
        }
    )[CAPACITY_COLUMNS]

    a = plan.attempts
    con = c.portfolio.contacts
    rows = np.unique(c.contact_row[a["cand"].to_numpy()]) if len(a) else np.zeros(0, dtype=np.int64)
    zones = pd.DataFrame(
        {"contact_id": con["contact_id"].to_numpy()[rows], "timezones": c.zones.to_numpy()[rows]}
    ).sort_values("contact_id", kind="stable").reset_index(drop=True)[ZONE_COLUMNS]

    by_hour = np.zeros(24)
    if len(a):
        acc, cand, slot = a["account"].to_numpy(), a["cand"].to_numpy(), a["slot"].to_numpy()
        w = -np.log1p(-np.minimum(c.q[cand, slot], 1 - 1e-15))
        total_w = np.bincount(acc, weights=w, minlength=c.n_accounts)
        per_case = c.value * -np.expm1(-total_w)
        share = np.divide(w, total_w[acc], out=np.zeros_like(w), where=total_w[acc] > 0) * per_case[acc]
        np.add.at(by_hour, _hours(c.grid)[slot], share)
    recovery = {f"{h:02d}": round(float(v), 6) for h, v in enumerate(by_hour) if v > 0}
    return {"capacity.csv": capacity, "contact_zones.csv": zones}, {"recovery_by_hour": recovery}
