"""The Plan: planned attempts as rows, per-seat queues, dispositions and figures (contract 4)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import reasons as R
from .candidates import Candidates

PLAN_COLUMNS = ["seat_id", "seq", "slot_start", "slot_end", "account_id", "contact_id", "phone", "role", "p_contact", "reason"]
DISPOSITION_COLUMNS = ["account_id", "disposition", "reason", "attempts"]
OBLIGATION_COLUMNS = ["account_id", "kind", "contact_id", "slot_start", "due", "made", "met", "reason"]


def expected_recovery(c: Candidates, account: np.ndarray, cand: np.ndarray, slot: np.ndarray) -> float:
    """Contract 2.4 exactly: sum over cases of value * (1 - prod(1 - q))."""
    if len(account) == 0:
        return 0.0
    log_survival = np.log1p(-np.minimum(c.q[cand, slot], 1 - 1e-15))
    per_case = np.bincount(account, weights=log_survival, minlength=c.n_accounts)
    touched = np.bincount(account, minlength=c.n_accounts) > 0
    return float(np.sum(c.value[touched] * -np.expm1(per_case[touched])))


@dataclass
class Plan:
    """A complete, compliant plan of date D and its figures."""

    cands: Candidates
    attempts: pd.DataFrame  # account, cand, slot, seat (ints), reason
    solver: dict
    upper_bound: float | None = None
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.attempts = self._label(self.attempts)

    # --- derived tables ------------------------------------------------------------------
    def _label(self, att: pd.DataFrame) -> pd.DataFrame:
        """Give each attempt the obligation it serves: callback, frequency or value."""
        c = self.cands
        att = att.sort_values(["account", "slot", "cand"], kind="stable").reset_index(drop=True)
        reason = np.full(len(att), "value", dtype=object)
        cbs = c.callbacks
        if len(cbs) and len(att):
            key = pd.MultiIndex.from_arrays([cbs["cand"].to_numpy(), cbs["slot"].to_numpy()])
            hit = pd.MultiIndex.from_arrays([att["cand"].to_numpy(), att["slot"].to_numpy()]).isin(key)
            reason[hit] = "callback"
        need = np.maximum(c.due - c.done_today, 0)
        if len(att):
            rank = att.groupby("account").cumcount().to_numpy()
            freq = (reason == "value") & (rank < need[att["account"].to_numpy()])
            reason[freq] = "frequency"
        att["reason"] = reason
        return att

    @property
    def expected_recovery(self) -> float:
        a = self.attempts
        return expected_recovery(self.cands, a["account"].to_numpy(), a["cand"].to_numpy(), a["slot"].to_numpy())

    def rows(self) -> pd.DataFrame:
        """plan.csv rows, ordered by seat then dialling order (seq)."""
        c = self.cands
        a = self.attempts
        con = c.portfolio.contacts
        rows = c.contact_row[a["cand"].to_numpy()]
        seats = c.portfolio.seats["seat_id"].to_numpy()
        frame = pd.DataFrame(
            {
                "seat_id": seats[a["seat"].to_numpy()] if len(a) else np.zeros(0, dtype=object),
                "slot": a["slot"].to_numpy(),
                "priority": a["reason"].map({"callback": 0, "frequency": 1, "value": 2}).to_numpy(),
                "value": c.value[a["account"].to_numpy()],
                "account_id": c.portfolio.accounts["account_id"].to_numpy()[a["account"].to_numpy()],
                "contact_id": con["contact_id"].to_numpy()[rows],
                "phone": con["phone"].to_numpy()[rows],
                "role": con["role"].to_numpy()[rows],
                "p_contact": c.q[a["cand"].to_numpy(), a["slot"].to_numpy()],
                "reason": a["reason"].to_numpy(),
            }
        )
        frame = frame.sort_values(
            ["seat_id", "slot", "priority", "value", "account_id", "contact_id"],
            ascending=[True, True, True, False, True, True],
            kind="stable",
        ).reset_index(drop=True)
        frame["seq"] = frame.groupby("seat_id").cumcount() + 1
        slot = frame["slot"].to_numpy()
        frame["slot_start"] = c.grid.iso(c.grid.starts[slot]) if len(frame) else np.zeros(0, dtype=object)
        frame["slot_end"] = c.grid.iso(c.grid.ends[slot]) if len(frame) else np.zeros(0, dtype=object)
        frame["p_contact"] = frame["p_contact"].round(12)
        return frame[PLAN_COLUMNS]

    def obligations(self) -> pd.DataFrame:
        """Every obligation due on D, met or not, with the reason when not."""
        c = self.cands
        acc = c.portfolio.accounts
        a = self.attempts
        made = np.bincount(a["account"].to_numpy(), minlength=c.n_accounts) if len(a) else np.zeros(c.n_accounts, int)
        due_idx = np.flatnonzero(c.due > 0)
        total = c.done_today[due_idx] + made[due_idx]
        met = total >= c.due[due_idx]
        why = np.where(met, "", np.where(c.account_reason[due_idx] != "", c.account_reason[due_idx], R.CAPACITY))
        freq = pd.DataFrame(
            {
                "account_id": acc["account_id"].to_numpy()[due_idx],
                "kind": "frequency",
                "contact_id": "",
                "slot_start": "",
                "due": c.due[due_idx],
                "made": total,
                "met": met,
                "reason": why,
            }
        )
        cbs = c.callbacks
        parts = [freq]
        if len(cbs):
            required = cbs["seat_req"].to_numpy()
            planned = {}
            for cand, slot, seat in zip(a["cand"], a["slot"], a["seat"]):
                planned[(int(cand), int(slot))] = int(seat)
            met_cb, why_cb, starts = [], [], []
            for i in range(len(cbs)):
                k, t = int(cbs["cand"].iat[i]), int(cbs["slot"].iat[i])
                starts.append(c.grid.iso(c.grid.starts[[t]])[0] if t >= 0 else "")
                hit = (k, t) in planned and (required[i] < 0 or planned[(k, t)] == required[i])
                met_cb.append(hit)
                if hit:
                    why_cb.append("")
                elif t < 0 or k < 0 or not c.legal[k, t]:
                    row = c.portfolio.contacts.index[c.portfolio.contacts["contact_id"] == cbs["contact_id"].iat[i]]
                    base = c.contact_reason[row[0]] if len(row) else ""
                    why_cb.append(base or R.CALLBACK_SLOT)
                else:
                    why_cb.append(R.CAPACITY)
            parts.append(
                pd.DataFrame(
                    {
                        "account_id": cbs["account_id"].to_numpy(),
                        "kind": "callback",
                        "contact_id": cbs["contact_id"].to_numpy(),
                        "slot_start": starts,
                        "due": 1,
                        "made": np.array(met_cb, dtype=int),
                        "met": met_cb,
                        "reason": why_cb,
                    }
                )
            )
        out = pd.concat(parts, ignore_index=True)
        return out.sort_values(["account_id", "kind", "contact_id"], kind="stable").reset_index(drop=True)[OBLIGATION_COLUMNS]

    def dispositions(self) -> pd.DataFrame:
        """One row per accepted account: planned, or unplanned with the reason."""
        c = self.cands
        acc = c.portfolio.accounts
        a = self.attempts
        made = np.bincount(a["account"].to_numpy(), minlength=c.n_accounts) if len(a) else np.zeros(c.n_accounts, int)
        reason = c.account_reason.copy()
        open_ = (made == 0) & (reason == "")
        if open_.any():
            used = np.zeros(c.groups.capacity.shape, dtype=np.int64)
            seat_used = c.groups.seat_capacity.copy()
            if len(a):
                np.subtract.at(seat_used, (a["seat"].to_numpy(), a["slot"].to_numpy()), 1)
            group_free = np.zeros_like(used)
            for g, members in enumerate(c.groups.members):
                group_free[g] = seat_used[members].sum(axis=0)
            free = (c.class_groups.astype(np.int64) @ (group_free > 0).astype(np.int64)) > 0
            ks = np.flatnonzero(open_[c.contact_account])
            has_free = np.zeros(c.n_accounts, dtype=bool)
            if len(ks):
                hit = (c.legal[ks] & free[c.account_class[c.contact_account[ks]]]).any(axis=1)
                has_free[c.contact_account[ks[hit]]] = True
            reason[open_] = np.where(has_free[open_], R.LOWER_VALUE, R.CAPACITY)
        disp = pd.DataFrame(
            {
                "account_id": acc["account_id"].to_numpy(),
                "disposition": np.where(made > 0, "planned", "unplanned"),
                "reason": np.where(made > 0, "", reason),
                "attempts": made,
            }
        )
        return disp

    def summary(self, date, inputs: dict, rejected: int) -> dict:
        c = self.cands
        obligations = self.obligations()
        er = self.expected_recovery
        capacity = int(c.groups.seat_capacity.sum())
        ub = self.upper_bound
        out = {
            "date": date.isoformat(),
            "policy": {"name": c.portfolio.policy.name, "sha256": c.portfolio.policy.content_hash},
            "timezone": c.grid.zone,
            "slot_minutes": c.grid.minutes,
            "slots": int(c.grid.n),
            "inputs": inputs,
            "expected_recovery": round(er, 6),
            "upper_bound": None if ub is None else round(ub, 6),
            "gap": None if ub is None else (round(1 - er / ub, 8) if ub > 0 else 0.0),
            "attempts": int(len(self.attempts)),
            "accounts": {
                "input": int(c.n_accounts + (rejected_accounts := int((c.portfolio.rejected["file"].str.startswith("accounts")).sum()))),
                "planned": int((np.bincount(self.attempts["account"].to_numpy(), minlength=c.n_accounts) > 0).sum()) if len(self.attempts) else 0,
                "rejected": rejected_accounts,
            },
            "obligations": {
                "due": int(len(obligations)),
                "met": int(obligations["met"].sum()),
                "unmet": int((~obligations["met"].astype(bool)).sum()),
            },
            "capacity": capacity,
            "utilization": round(len(self.attempts) / capacity, 6) if capacity else 0.0,
            "solver": self.solver,
            "rejected": int(rejected),
        }
        out.update(self.extra)
        return out
