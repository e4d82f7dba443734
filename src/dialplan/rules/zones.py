"""Time-zone resolution of contacts (contract 2.1, docs/rules.md)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import timezone as phone_timezone


@lru_cache(maxsize=1)
def zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country code, from the tzdata package's zone.tab."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            out[parts[2]] = parts[0]
    return out


def _zones_of_number(number: str) -> str:
    """Zones libphonenumber places ``number`` in, "|"-joined; "" when it cannot place it in
    one country."""
    try:
        zones = phone_timezone.time_zones_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return ""
    zones = [z for z in zones if z != "Etc/Unknown"]
    countries = zone_countries()
    if len({countries.get(z, z) for z in zones}) != 1:
        return ""
    return "|".join(zones)


def phone_zones(phones: pd.Series) -> pd.Series:
    """Zones of each phone number ("|"-joined, "" when none), computed once per number."""
    uniq = pd.unique(phones)
    table = {number: _zones_of_number(number) for number in uniq}
    return phones.map(table)


def resolve_contact_zones(contacts: pd.DataFrame, accounts: pd.DataFrame, policy_zone: str) -> pd.Series:
    """The resolved zones of each contact as a "|"-joined string, the first zone first.

    The contact's own column wins; else the phone's zones then the account's zone (duplicates
    dropped, order kept); else the policy zone.
    """
    own = contacts["timezone"].to_numpy(dtype=object)
    account_zone = contacts["account_id"].map(accounts.set_index("account_id")["timezone"]).fillna("")
    need = own == ""
    phone = pd.Series("", index=contacts.index, dtype=object)
    if need.any():
        phone[need] = phone_zones(contacts.loc[need, "phone"]).to_numpy()
    combo = pd.DataFrame({"p": phone.to_numpy(), "a": account_zone.to_numpy()})
    joined = {}
    for p, a in combo.drop_duplicates().itertuples(index=False):
        parts = [z for z in p.split("|") if z] + ([a] if a else [])
        joined[(p, a)] = "|".join(dict.fromkeys(parts)) or policy_zone
    derived = np.array([joined[(p, a)] for p, a in zip(combo["p"], combo["a"])], dtype=object) if len(combo) else np.zeros(0, dtype=object)
    return pd.Series(np.where(need, derived, own), index=contacts.index, dtype=object)
