"""Exception classes. The library raises these; only the CLI turns them into exit codes."""


class DialplanError(Exception):
    """Base class: a one-line, user-facing message; exit code 2 unless a subclass says otherwise."""

    exit_code = 2


class InputError(DialplanError):
    """A portfolio file is missing, unreadable, lacks a required column or has too many bad rows."""


class PolicyError(DialplanError):
    """A policy file or pack is unknown, unreadable or invalid (names the key and the file)."""


class PlanError(DialplanError):
    """A plan directory cannot be read or written."""
