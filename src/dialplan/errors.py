"""Exception classes. The library raises these; only the CLI turns them into exit codes."""

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with every line break and control character escaped, so an error message that
    quotes a key or a value from a file can never spill over several lines."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))


class DialplanError(Exception):
    """Base class: a one-line, user-facing message; exit code 2 unless a subclass says otherwise."""

    exit_code = 2

    def __str__(self) -> str:
        return one_line(super().__str__())


class InputError(DialplanError):
    """A portfolio file is missing, unreadable, lacks a required column or has too many bad rows."""


class PolicyError(DialplanError):
    """A policy file or pack is unknown, unreadable or invalid (names the key and the file)."""


class PlanError(DialplanError):
    """A plan directory cannot be read or written."""


class LockError(PlanError):
    """Another run holds the lock of the plan directory."""


class PlanningFailed(DialplanError):
    """Neither the chosen solver nor the hopper fallback produced a plan; nothing published."""

    exit_code = 3
