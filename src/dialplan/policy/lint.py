"""Lint a policy: contradictions between its keys that make a rule impossible to keep."""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import Policy
from .schema import WEEKDAYS


@dataclass(frozen=True)
class Finding:
    level: str  # "error" (a rule can never be kept) or "warning"
    where: str  # "base" or "segment NAME"
    message: str


def _week_capacity(policy: Policy) -> tuple[int | None, str]:
    """Most attempts one case can get in 7 consecutive days, and which key limits it."""
    caps = policy.account_caps
    days = sum(policy.window("debtor", d) is not None for d in range(7))
    limits = []
    if caps["per_7_days"]:
        limits.append((caps["per_7_days"], f"caps.account.per_7_days = {caps['per_7_days']}"))
    if caps["per_day"]:
        limits.append((caps["per_day"] * days, f"caps.account.per_day = {caps['per_day']} on {days} callable weekdays"))
    if not limits:
        return None, ""
    return min(limits)


def _lint_one(policy: Policy, where: str) -> list[Finding]:
    out: list[Finding] = []
    if all(policy.window("debtor", d) is None for d in range(7)):
        out.append(Finding("error", where, "no weekday has a debtor calling window"))
    for d in range(7):
        w = policy.window("debtor", d)
        if w is not None and w[1] - w[0] < policy.slot_minutes:
            out.append(Finding("warning", where, f"window on {WEEKDAYS[d]} is shorter than one slot"))
    week_cap, limiter = _week_capacity(policy)
    cooldown = policy.account_caps["cooldown_after_conversation_days"]
    never = policy.never_call_statuses
    known = set(policy.statuses)
    for i, rule in enumerate(policy.frequency, start=1):
        label = f"frequency rule {i} ({', '.join(rule['statuses'])})"
        for status in rule["statuses"]:
            if status in never:
                out.append(Finding("warning", where, f"{label}: status '{status}' is never called, so it can never be met"))
            if status not in known:
                out.append(Finding("warning", where, f"{label}: unknown status '{status}'"))
        if "every_days" in rule:
            n = rule["every_days"]
            need_week = math.ceil(7 / n)
            if week_cap is not None and need_week > week_cap:
                out.append(Finding("error", where, f"{label}: one attempt every {n} days needs {need_week} in 7 days but {limiter} allows {week_cap}"))
            if cooldown and n < cooldown:
                out.append(Finding("warning", where, f"{label}: every {n} days is impossible for {cooldown} days after a conversation (cooldown)"))
            continue
        m = rule["min_attempts"]
        if rule["period"] == "week":
            if week_cap is not None and m > week_cap:
                out.append(Finding("error", where, f"{label}: needs {m} a week but {limiter} allows {week_cap}"))
        else:
            if week_cap is not None and m > 4 * week_cap:
                out.append(Finding("error", where, f"{label}: needs {m} a month but {limiter} allows {4 * week_cap} in a 28-day month"))
    for status in policy.third_party_statuses:
        if status in never:
            out.append(Finding("warning", where, f"third_party.allowed_statuses: '{status}' is never called"))
    for role in ("debtor", "third_party"):
        caps = policy.contact_caps(role)
        if caps["per_day"] and caps["rolling"]["minutes"] and caps["rolling"]["max"] > caps["per_day"]:
            out.append(Finding("warning", where, f"caps.{role}.rolling.max exceeds caps.{role}.per_day (the rolling cap never binds)"))
    return out


def lint(policy: Policy) -> list[Finding]:
    """Findings for the base policy and every segment override."""
    findings = _lint_one(policy, "base")
    for segment in policy.segment_names:
        findings += _lint_one(policy.for_segment(segment), f"segment {segment}")
    return findings
