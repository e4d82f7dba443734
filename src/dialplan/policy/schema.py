"""The policy schema: every key a policy.toml may hold, its type and its default.

A policy is a nested dict validated against ``SCHEMA``. Packs and user files only state what
differs from the defaults; ``resolve`` fills the rest in, so every consumer sees every key.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import PolicyError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ROLES = ("debtor", "third_party")
STANDARD_STATUSES = (
    "new",
    "contactable",
    "ptp",
    "negotiating",
    "evasive",
    "lost_contact",
    "paused",
    "closed",
)
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def hhmm_to_minutes(text: str) -> int:
    """Minutes after midnight of an ``HH:MM`` string (``24:00`` allowed as end of day)."""
    if not isinstance(text, str) or not _HHMM.match(text):
        raise ValueError(f"not a HH:MM time: {text!r}")
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


# --- leaf validators: each returns the cleaned value or raises ValueError(reason) ---------


def _int(minimum: int = 0):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be an integer")
        if value < minimum:
            raise ValueError(f"must be >= {minimum}")
        return value

    return check


def _number(minimum: float = 0.0, maximum: float | None = None, strict_min: bool = False):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("must be a number")
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if value < minimum or (strict_min and value == minimum):
            raise ValueError(f"must be {'>' if strict_min else '>='} {minimum}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be <= {maximum}")
        return float(value)

    return check


def _bool(value):
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _str(value):
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _choice(*options):
    def check(value):
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return check


def _str_list(value):
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("must be a list of strings")
    return list(value)


def _hhmm(value):
    try:
        hhmm_to_minutes(value)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return value


def _zone(value):
    if not isinstance(value, str):
        raise ValueError("must be an IANA time-zone name")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


def _slot_minutes(value):
    _int(1)(value)
    if 60 % value:
        raise ValueError("must divide 60 (5, 10, 15, 20, 30 or 60)")
    return value


def _day_window(value):
    """A weekday window: ``"none"`` or ``["HH:MM", "HH:MM"]`` with start < end."""
    if value == "none":
        return value
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError('must be "none" or ["HH:MM", "HH:MM"]')
    start, end = (hhmm_to_minutes(_hhmm(v)) for v in value)
    if start >= end:
        raise ValueError("start must be before end (windows do not cross midnight)")
    return list(value)


def _probability(value):
    return _number(0.0, 1.0)(value)


def _prob_map(value):
    if not isinstance(value, dict):
        raise ValueError("must be a table of status = probability")
    return {str(k): _probability(v) for k, v in value.items()}


def _frequency(value):
    if not isinstance(value, list):
        raise ValueError("must be an array of tables")
    rules = []
    for i, rule in enumerate(value):
        if not isinstance(rule, dict):
            raise ValueError(f"rule {i + 1} must be a table")
        unknown = set(rule) - {"statuses", "min_attempts", "period", "every_days"}
        if unknown:
            raise ValueError(f"rule {i + 1}: unknown key {sorted(unknown)[0]!r}")
        if "statuses" not in rule:
            raise ValueError(f"rule {i + 1}: missing 'statuses'")
        clean = {"statuses": _str_list(rule["statuses"])}
        if "every_days" in rule:
            if "min_attempts" in rule or "period" in rule:
                raise ValueError(f"rule {i + 1}: every_days excludes min_attempts/period")
            clean["every_days"] = _int(1)(rule["every_days"])
        else:
            if "min_attempts" not in rule or "period" not in rule:
                raise ValueError(f"rule {i + 1}: needs min_attempts and period, or every_days")
            clean["min_attempts"] = _int(1)(rule["min_attempts"])
            clean["period"] = _choice("week", "month")(rule["period"])
        rules.append(clean)
    return rules


# --- the schema --------------------------------------------------------------------------

_WINDOW_KEYS: dict[str, Any] = {"start": _hhmm, "end": _hhmm, **{d: _day_window for d in WEEKDAYS}}
_CAPS_CONTACT = {
    "per_day": _int(0),
    "rolling": {"minutes": _int(0), "max": _int(0)},
    "min_gap_minutes": _int(0),
}

SCHEMA: dict[str, Any] = {
    "name": _str,
    "description": _str,
    "timezone": _zone,
    "country": _str,
    "slot_minutes": _slot_minutes,
    "never_call_statuses": _str_list,
    "custom_statuses": _str_list,
    "default_attempts_per_hour": _number(0.0, maximum=3600.0, strict_min=True),
    "window": {**_WINDOW_KEYS, "holidays": _choice("call", "no_call"), "third_party": dict(_WINDOW_KEYS)},
    "caps": {
        "debtor": dict(_CAPS_CONTACT),
        "third_party": dict(_CAPS_CONTACT),
        "account": {"per_day": _int(0), "per_7_days": _int(0), "cooldown_after_conversation_days": _int(0)},
    },
    "complaint": {"scope": _choice("contact", "account")},
    "third_party": {"allowed_statuses": _str_list, "weight": _probability},
    "defaults": {
        "rpc_rate": {"debtor": _probability, "third_party": _probability},
        "pay_propensity": _prob_map,
    },
    "frequency": _frequency,
    "seats": {"continuity": _bool},
    "segments": None,  # validated separately: each segment is a partial policy
}

DEFAULTS: dict[str, Any] = {
    "name": "custom",
    "description": "",
    "timezone": "Asia/Shanghai",
    "country": "CN",
    "slot_minutes": 15,
    "never_call_statuses": ["paused", "closed"],
    "custom_statuses": [],
    "default_attempts_per_hour": 20.0,
    "window": {"start": "08:00", "end": "22:00", "holidays": "call", "third_party": {}},
    "caps": {
        "debtor": {"per_day": 3, "rolling": {"minutes": 60, "max": 2}, "min_gap_minutes": 0},
        "third_party": {"per_day": 6, "rolling": {"minutes": 60, "max": 2}, "min_gap_minutes": 0},
        "account": {"per_day": 0, "per_7_days": 0, "cooldown_after_conversation_days": 0},
    },
    "complaint": {"scope": "contact"},
    "third_party": {"allowed_statuses": ["lost_contact"], "weight": 0.3},
    "defaults": {
        "rpc_rate": {"debtor": 0.15, "third_party": 0.25},
        "pay_propensity": {
            "new": 0.10,
            "contactable": 0.15,
            "ptp": 0.6,
            "negotiating": 0.4,
            "evasive": 0.1,
            "lost_contact": 0.05,
        },
    },
    "frequency": [],
    "seats": {"continuity": True},
    "segments": {},
}


def validate(data: dict, source: str, schema: dict = SCHEMA, prefix: str = "") -> dict:
    """Check ``data`` against ``schema``; return a cleaned copy. Raises PolicyError naming key and file."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: {prefix.rstrip('.') or 'policy'}: must be a table")
    clean: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in schema:
            raise PolicyError(f"{source}: unknown key '{path}'")
        rule = schema[key]
        if key == "segments" and not prefix:
            clean[key] = _validate_segments(value, source)
        elif isinstance(rule, dict):
            clean[key] = validate(value, source, rule, f"{path}.")
        else:
            try:
                clean[key] = rule(value)
            except ValueError as exc:
                raise PolicyError(f"{source}: key '{path}' {exc}") from None
    return clean


def _validate_segments(value, source: str) -> dict:
    if not isinstance(value, dict):
        raise PolicyError(f"{source}: key 'segments' must be a table of segment tables")
    out = {}
    for name, override in value.items():
        if not isinstance(override, dict):
            raise PolicyError(f"{source}: key 'segments.{name}' must be a table of overrides")
        body = dict(override)
        for forbidden in ("segments", "timezone", "slot_minutes", "name", "country"):
            if forbidden in body:
                raise PolicyError(f"{source}: key 'segments.{name}.{forbidden}' cannot be set per segment")
        out[name] = validate(body, source, SCHEMA, f"segments.{name}.")
    return out


def deep_merge(base: dict, override: dict) -> dict:
    """A copy of ``base`` with ``override`` laid over it; tables merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "pay_propensity":
            out[key] = deep_merge(out[key], value)
        elif key == "pay_propensity" and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = copy.deepcopy(value)
    return out


def check_consistency(data: dict, source: str) -> None:
    """Cross-key checks that a single key's validator cannot make."""
    window = data["window"]
    for scope, table in (("window", window), ("window.third_party", window.get("third_party", {}))):
        start, end = table.get("start"), table.get("end")
        if start is not None and end is not None and hhmm_to_minutes(start) >= hhmm_to_minutes(end):
            raise PolicyError(f"{source}: key '{scope}.end' must be after '{scope}.start'")
    for role in ROLES:
        rolling = data["caps"][role]["rolling"]
        if rolling["minutes"] > 0 and rolling["max"] == 0:
            raise PolicyError(f"{source}: key 'caps.{role}.rolling.max' must be >= 1 when minutes > 0")
