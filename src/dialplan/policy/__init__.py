"""Policies: the rules a plan must keep, as data (contract section 3).

``load_policy`` takes a pack name (``cn-collection-2015``, ``cn-cba-2026``, ``us-regf``) or a
path to a ``policy.toml``. The result is a ``Policy``: the fully resolved key tree plus small
accessors that every consumer (candidates, solver, verifier) reads the rules through.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from ..errors import PolicyError
from .schema import (
    DEFAULTS,
    ROLES,
    STANDARD_STATUSES,
    WEEKDAYS,
    check_consistency,
    deep_merge,
    hhmm_to_minutes,
    validate,
)

DEFAULT_PACK = "cn-collection-2015"


def pack_names() -> list[str]:
    """Names of the built-in policy packs."""
    root = resources.files(__package__).joinpath("packs")
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml"))


@dataclass(frozen=True)
class Policy:
    """A resolved policy. ``data`` holds every key of the schema; ``source`` names where it came from."""

    data: dict
    source: str
    _segments: dict = field(default_factory=dict, repr=False, compare=False)

    # --- identity -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.data["name"]

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the canonical JSON of the resolved policy (segments included)."""
        text = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def timezone(self) -> str:
        return self.data["timezone"]

    @property
    def slot_minutes(self) -> int:
        return self.data["slot_minutes"]

    # --- segments -------------------------------------------------------------------------
    @property
    def segment_names(self) -> list[str]:
        return sorted(self.data.get("segments", {}))

    def for_segment(self, segment: str | None) -> "Policy":
        """The policy that applies to accounts of ``segment`` (the base when it has no override)."""
        overrides = self.data.get("segments", {})
        if not segment or segment not in overrides:
            return self
        if segment not in self._segments:
            merged = deep_merge({k: v for k, v in self.data.items() if k != "segments"}, overrides[segment])
            merged["segments"] = {}
            check_consistency(merged, f"{self.source} [segments.{segment}]")
            self._segments[segment] = Policy(merged, f"{self.source} [segments.{segment}]")
        return self._segments[segment]

    # --- statuses -------------------------------------------------------------------------
    @property
    def statuses(self) -> tuple[str, ...]:
        """Every status label this policy accepts."""
        return STANDARD_STATUSES + tuple(s for s in self.data["custom_statuses"] if s not in STANDARD_STATUSES)

    @property
    def never_call_statuses(self) -> frozenset[str]:
        return frozenset(self.data["never_call_statuses"])

    @property
    def third_party_statuses(self) -> frozenset[str]:
        return frozenset(self.data["third_party"]["allowed_statuses"])

    @property
    def third_party_weight(self) -> float:
        return self.data["third_party"]["weight"]

    def default_pay_propensity(self, status: str) -> float:
        return self.data["defaults"]["pay_propensity"].get(status, 0.0)

    def default_rpc_rate(self, role: str) -> float:
        return self.data["defaults"]["rpc_rate"][role]

    # --- windows --------------------------------------------------------------------------
    def window(self, role: str, weekday: int) -> tuple[int, int] | None:
        """Calling window ``(start, end)`` in minutes of the local day for ``role`` on ``weekday``
        (0 = Monday), or None when calls are not allowed that day. The third-party table
        narrows the general one key by key; a weekday entry beats start/end."""
        tables = [self.data["window"]]
        if role == "third_party":
            tables.append(self.data["window"].get("third_party", {}))
        day = WEEKDAYS[weekday]
        start, end = 0, 24 * 60
        for table in tables:
            entry = table.get(day)
            if entry == "none":
                return None
            if entry is not None:
                s, e = hhmm_to_minutes(entry[0]), hhmm_to_minutes(entry[1])
            else:
                s = hhmm_to_minutes(table["start"]) if "start" in table else 0
                e = hhmm_to_minutes(table["end"]) if "end" in table else 24 * 60
            start, end = max(start, s), min(end, e)
        return (start, end) if start < end else None

    @property
    def holidays_no_call(self) -> bool:
        return self.data["window"]["holidays"] == "no_call"

    def is_holiday(self, day: dt.date, country: str | None = None) -> bool:
        """Whether ``day`` is a public holiday of ``country`` (default: the policy's)."""
        return day in _holiday_calendar(country or self.data["country"], day.year)

    def is_callable_day(self, day: dt.date, role: str = "debtor", country: str | None = None) -> bool:
        """A day is callable unless its weekday window is none or it is a no-call holiday."""
        if self.window(role, day.weekday()) is None:
            return False
        return not (self.holidays_no_call and self.is_holiday(day, country))

    # --- caps -----------------------------------------------------------------------------
    def contact_caps(self, role: str) -> dict:
        """``{"per_day", "rolling": {"minutes", "max"}, "min_gap_minutes"}`` for ``role``."""
        return self.data["caps"][role]

    @property
    def account_caps(self) -> dict:
        return self.data["caps"]["account"]

    @property
    def complaint_scope(self) -> str:
        return self.data["complaint"]["scope"]

    @property
    def frequency(self) -> list[dict]:
        return self.data["frequency"]

    @property
    def continuity(self) -> bool:
        return self.data["seats"]["continuity"]

    @property
    def default_attempts_per_hour(self) -> float:
        return self.data["default_attempts_per_hour"]


_HOLIDAY_CACHE: dict = {}


def _holiday_calendar(country: str, year: int):
    key = (country, year)
    if key not in _HOLIDAY_CACHE:
        import holidays

        try:
            _HOLIDAY_CACHE[key] = holidays.country_holidays(country, years=[year])
        except NotImplementedError:
            raise PolicyError(f"policy: no holiday calendar for country {country!r}") from None
    return _HOLIDAY_CACHE[key]


def parse_policy(data: dict, source: str) -> Policy:
    """Validate a policy dict (as read from TOML) and resolve it over the defaults."""
    clean = validate(data, source)
    resolved = deep_merge(DEFAULTS, clean)
    if "frequency" in clean:
        resolved["frequency"] = clean["frequency"]
    check_consistency(resolved, source)
    try:
        _holiday_calendar(resolved["country"], 2026)  # fail early on an unknown country
    except PolicyError:
        raise PolicyError(f"{source}: key 'country' {resolved['country']!r} has no holiday calendar") from None
    policy = Policy(resolved, source)
    for segment in policy.segment_names:
        policy.for_segment(segment)
    return policy


def load_policy(name_or_path: str | Path | None) -> Policy:
    """Load a built-in pack by name or a policy.toml by path; None gives the default pack."""
    if name_or_path is None:
        name_or_path = DEFAULT_PACK
    path = Path(name_or_path)
    if str(name_or_path) in pack_names():
        text = resources.files(__package__).joinpath("packs", f"{name_or_path}.toml").read_text("utf-8")
        source = f"pack {name_or_path}"
    elif path.is_file():
        try:
            text = path.read_bytes().decode("utf-8-sig")  # a byte-order mark is not an error
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{path}: cannot read policy ({exc.__class__.__name__})") from None
        source = str(path)
    else:
        raise PolicyError(
            f"{name_or_path}: no such policy file or pack (packs: {', '.join(pack_names())})"
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML ({exc})") from None
    return parse_policy(data, source)


__all__ = ["Policy", "load_policy", "parse_policy", "pack_names", "ROLES", "WEEKDAYS", "DEFAULT_PACK"]
