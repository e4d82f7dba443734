"""Small portfolio builders shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ACCOUNT_COLS = ["account_id", "balance", "status", "pay_propensity", "team", "owner_seat", "required_skill", "timezone", "segment", "stop_contact"]
CONTACT_COLS = ["contact_id", "account_id", "phone", "role", "relation", "phone_type", "timezone", "rpc_rate", "do_not_call"]
SEAT_COLS = ["seat_id", "team", "shift_start", "shift_end", "timezone", "breaks", "attempts_per_hour", "skills", "active"]
CN_PHONES = [f"+86138{n:08d}" for n in range(10000000, 10000100)]


def write_portfolio(root: Path, accounts: list[dict], contacts: list[dict], seats: list[dict], history: list[dict] | None = None,
                    callbacks: list[dict] | None = None, curves: list[dict] | None = None, policy: str | None = None) -> Path:
    """Write a portfolio directory from row dicts (missing columns left empty)."""
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(accounts).reindex(columns=ACCOUNT_COLS).astype(object).fillna("").to_csv(root / "accounts.csv", index=False)
    pd.DataFrame(contacts).reindex(columns=CONTACT_COLS).astype(object).fillna("").to_csv(root / "contacts.csv", index=False)
    pd.DataFrame(seats).reindex(columns=SEAT_COLS).astype(object).fillna("").to_csv(root / "seats.csv", index=False)
    if history:
        pd.DataFrame(history).to_csv(root / "history.csv", index=False)
    if callbacks:
        pd.DataFrame(callbacks).to_csv(root / "callbacks.csv", index=False)
    if curves:
        pd.DataFrame(curves).to_csv(root / "curves.csv", index=False)
    if policy:
        (root / "policy.toml").write_text(policy, encoding="utf-8")
    return root
