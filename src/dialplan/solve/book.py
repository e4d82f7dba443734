"""A day's book of planned attempts that only accepts an attempt if every rule still holds.

Used by the hopper, the greedy and the seat split: each of them proposes attempts in its own
order; the book says yes or no. The rules are the candidate limits of ``Candidates`` (legal
slot, gaps and rolling caps in slot units, day caps, one attempt of a case at a time, seat
capacity, eligibility and continuity).
"""

from __future__ import annotations

import numpy as np

from ..candidates import Candidates


class Book:
    """Planned attempts per case with incremental rule checks."""

    def __init__(self, cands: Candidates, seat_rem: np.ndarray | None = None, reseat: bool = True,
                 seats: np.ndarray | None = None):
        """``seats``: a mask of the seats this book may use (a shard's); default all."""
        self.c = cands
        self.reseat = reseat
        self.seat_rem = (cands.groups.seat_capacity.copy() if seat_rem is None else seat_rem.copy())
        self.free = self.seat_rem.sum(axis=0)  # spare attempts per slot over all seats
        self.seat_day = self.seat_rem.sum(axis=1)  # spare attempts per seat over the day
        self.case_slots: dict[int, set] = {}
        self.case_seat: dict[int, int] = {}
        self.contact_slots: dict[int, list] = {}
        self.case_attempts: dict[int, list] = {}  # a -> [(k, t, seat, reason)]
        self.version = 0  # changes whenever an attempt is added or removed
        self._room_key, self._room, self._room_slots = None, None, None  # _reseat's cache
        seat_rows = cands.portfolio.seats
        cbs = cands.callbacks
        # cases owing a callback promised by a named seat: once that callback is planned the
        # case must stay on that seat
        self.named_callback = set(cbs["acc"][cbs["seat_req"] >= 0].tolist()) if len(cbs) else set()
        self.seat_ok_for_class = cands.class_groups[:, np.clip(cands.groups.seat_group, 0, None)] & (
            cands.groups.seat_group >= 0
        )[None, :] if len(seat_rows) else np.zeros((cands.class_groups.shape[0], 0), bool)
        if seats is not None and len(seats):
            self.seat_ok_for_class &= seats[None, :]
        # each class's seats as indices: the checks per attempt cost the class's seats, not all
        self.class_seats = [np.flatnonzero(row) for row in self.seat_ok_for_class]

    # --- checks ------------------------------------------------------------------------
    def contact_ok(self, k: int, t: int) -> bool:
        """Legal slot, day cap, gap and rolling cap of contact k with an attempt in t."""
        c = self.c
        if not c.legal[k, t]:
            return False
        used = self.contact_slots.get(k, [])
        if len(used) >= c.contact_max[k]:
            return False
        gap = c.gap_slots[k]
        for u in used:
            if abs(u - t) < gap:
                return False
        if c.roll_max[k] < len(used) + 1:
            w = c.roll_window[k]
            near = [u for u in used if abs(u - t) < w]
            if len(near) >= c.roll_max[k]:
                # check every window of w consecutive slots holding t
                pts = sorted(near + [t])
                for lo in range(t - w + 1, t + 1):
                    if sum(1 for u in pts if lo <= u < lo + w) > c.roll_max[k]:
                        return False
        return True

    def case_ok(self, a: int, t: int) -> bool:
        slots = self.case_slots.get(a)
        if slots is None:
            return self.c.account_max[a] > 0
        return t not in slots and len(slots) < self.c.account_max[a]

    def seats_for(self, a: int, t: int) -> np.ndarray:
        """Seats that may take case a's attempt in slot t now (continuity respected)."""
        if self.c.continuity[a] and a in self.case_seat:
            s = self.case_seat[a]
            return np.array([s]) if self.seat_rem[s, t] > 0 else np.zeros(0, dtype=np.int64)
        s = self.class_seats[self.c.account_class[a]]
        return s[self.seat_rem[s, t] > 0]

    def can_add(self, a: int, k: int, t: int) -> bool:
        return self.case_ok(a, t) and self.contact_ok(k, t)

    # --- changes -----------------------------------------------------------------------
    def add(self, a: int, k: int, t: int, seat: int, reason: str = "value") -> None:
        self.version += 1
        self.seat_rem[seat, t] -= 1
        self.seat_day[seat] -= 1
        self.free[t] -= 1
        self.case_slots.setdefault(a, set()).add(t)
        self.contact_slots.setdefault(k, []).append(t)
        self.case_attempts.setdefault(a, []).append((k, t, seat, reason))
        if self.c.continuity[a]:
            self.case_seat[a] = seat

    def remove_case(self, a: int) -> list:
        self.version += 1
        attempts = self.case_attempts.pop(a, [])
        for k, t, seat, _ in attempts:
            self.seat_rem[seat, t] += 1
            self.seat_day[seat] += 1
            self.free[t] += 1
            self.contact_slots[k].remove(t)
        self.case_slots.pop(a, None)
        self.case_seat.pop(a, None)
        return attempts

    def remove_attempt(self, a: int, k: int, t: int) -> tuple:
        """Take one planned attempt out (the case keeps its seat while it has others)."""
        self.version += 1
        atts = self.case_attempts[a]
        i = next(j for j, x in enumerate(atts) if x[0] == k and x[1] == t)
        k, t, seat, reason = atts.pop(i)
        self.seat_rem[seat, t] += 1
        self.seat_day[seat] += 1
        self.free[t] += 1
        self.contact_slots[k].remove(t)
        self.case_slots[a].discard(t)
        if not atts:
            self.case_attempts.pop(a)
            self.case_slots.pop(a, None)
            self.case_seat.pop(a, None)
        return k, t, seat, reason

    def _reseat(self, a: int, t: int) -> bool:
        """Move case a, whose seat is full in slot t, to a seat that has room in t and in every
        slot the case already uses (continuity kept)."""
        if a in self.named_callback and any(r == "callback" for *_x, r in self.case_attempts[a]):
            return False
        key = (a, self.version)
        if self._room_key != key:
            # seats the case could move to with all its slots: unchanged until the book
            # changes, so a run of refused options costs one check each
            slots = sorted(self.case_slots.get(a, ()))
            room = self.class_seats[self.c.account_class[a]]
            if slots:
                room = room[(self.seat_rem[np.ix_(room, slots)] > 0).all(axis=1)]
            room = room[room != self.case_seat[a]]
            self._room_key, self._room = key, room
            self._room_slots = (self.seat_rem[room] > 0).any(axis=0)  # slots where one has room
        if not self._room_slots[t]:
            return False
        seats = self._room[self.seat_rem[self._room, t] > 0]
        if len(seats) == 0:
            return False
        seat = int(seats[np.argmax(self.seat_day[seats])])
        for k, tt, _s, r in self.remove_case(a):
            self.add(a, k, tt, seat, r)
        return True

    def try_add(self, a: int, k: int, t: int, reason: str = "value", prefer_seat: int | None = None) -> bool:
        """Add the attempt on the best seat if every rule allows it (moving the case to
        another seat when its own is full in that slot)."""
        if self.free[t] <= 0 or not self.can_add(a, k, t):
            return False
        seats = self.seats_for(a, t)
        if len(seats) == 0 and self.reseat and self.c.continuity[a] and a in self.case_seat and self._reseat(a, t):
            seats = self.seats_for(a, t)
        if len(seats) == 0:
            return False
        if prefer_seat is not None and prefer_seat in set(seats.tolist()):
            seat = prefer_seat
        else:
            # the seat with most spare capacity over the day keeps room for continuity later
            seat = int(seats[np.argmax(self.seat_day[seats])])
        self.add(a, k, t, seat, reason)
        return True

    # --- results -----------------------------------------------------------------------
    def attempts(self) -> np.ndarray:
        """Planned attempts as a structured array (account, cand, slot, seat, reason)."""
        rows = [(a, k, t, s, r) for a, lst in self.case_attempts.items() for (k, t, s, r) in lst]
        dtype = [("account", np.int64), ("cand", np.int64), ("slot", np.int64), ("seat", np.int64), ("reason", object)]
        return np.array(rows, dtype=dtype) if rows else np.zeros(0, dtype=dtype)
