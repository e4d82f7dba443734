"""The class-cached phone path (rules.zones.phone_facts) equals the per-number libphonenumber
calls: validity (``is_valid_number(parse(n))``) and time zones (``_zones_of_number``)."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from phonenumbers import PhoneNumberType, phonenumberutil as pnu
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers.tzdata import TIMEZONE_DATA

import dialplan.rules.zones as Z
from dialplan.io.portfolio import _valid_phones
from dialplan.synth import synth_portfolio

TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
]


def _reference(numbers) -> tuple[np.ndarray, np.ndarray]:
    valid = np.array([Z._valid_of_number(n) for n in numbers], dtype=bool)
    zones = np.array([Z._zones_of_number(n) for n in numbers], dtype=object)
    return valid, zones


def _fresh():
    Z._class_of.clear()
    Z._results.clear()


def _assert_same(numbers):
    failures = Z.SPOT_CHECK_FAILURES
    ref_valid, ref_zones = _reference(numbers)
    for attempt in range(2):  # cold memo, then warm memo in another order
        if attempt == 0:
            _fresh()
            order = np.arange(len(numbers))
        else:
            order = np.random.default_rng(5).permutation(len(numbers))
        valid, zones = Z.phone_facts(pd.Series([numbers[i] for i in order], dtype=object))
        bad = np.flatnonzero((valid != ref_valid[order]) | (zones != ref_zones[order]))
        assert not len(bad), [(numbers[order[i]], valid[i], ref_valid[order[i]], zones[i], ref_zones[order[i]]) for i in bad[:10]]
    # a text (Arrow) column, repeats included, takes the path without the per-value factorize
    _fresh()
    order = np.r_[np.arange(len(numbers)), np.arange(0, len(numbers), 3)]
    valid, zones = Z.phone_facts(pd.Series([numbers[i] for i in order], dtype="str"))
    bad = np.flatnonzero((valid != ref_valid[order]) | (zones != ref_zones[order]))
    assert not len(bad), [(numbers[order[i]], valid[i], ref_valid[order[i]], zones[i], ref_zones[order[i]]) for i in bad[:10]]
    assert Z.SPOT_CHECK_FAILURES == failures  # the analysis never needed the safety net


def _random_digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _random_e164(seed: int = 11, per_code: int = 12) -> list[str]:
    """Numbers of every calling code: example numbers of each type with a random tail, random
    digit strings of every length, time-zone table prefixes with random tails, leading zeros,
    unknown calling codes and strings that take the per-number path."""
    rng = random.Random(seed)
    out: list[str] = []
    for cc, regions in sorted(COUNTRY_CODE_TO_REGION_CODE.items()):
        for region in regions:
            for kind in TYPES:
                ex = (
                    phonenumbers.example_number_for_non_geo_entity(cc)
                    if region == "001"
                    else phonenumbers.example_number_for_type(region, kind)
                )
                if ex is None:
                    continue
                e164 = phonenumbers.format_number(ex, phonenumbers.PhoneNumberFormat.E164)
                for keep in (len(e164) - 2, len(e164) - 4, len(e164) - 6):
                    out.append(e164[:keep] + _random_digits(rng, len(e164) - keep))
        for _ in range(per_code):
            total = rng.randint(7, 15)
            rest = total - len(str(cc))
            if rest > 0:
                out.append("+" + str(cc) + _random_digits(rng, rest))
        out.append("+" + str(cc) + "0" * rng.randint(4, 10) + _random_digits(rng, 2))
    keys = sorted(TIMEZONE_DATA)
    for key in rng.sample(keys, 600):
        total = max(len(key) + 1, rng.randint(7, 15))
        if total <= 15:
            out.append("+" + key + _random_digits(rng, total - len(key)))
    for _ in range(300):  # anything E.164-shaped, unknown codes included
        out.append("+" + rng.choice("123456789") + _random_digits(rng, rng.randint(6, 14)))
    # per-number path: not "+" and 7-15 ASCII digits
    out += ["+8613812345678\n", "+86１３８12345678", "+861381234", "8613812345678", "", "+0123456789", "+1 212 555 0100"]
    return out


def _synth_numbers(tmp_path, flavor: str, accounts: int = 1500) -> list[str]:
    root = tmp_path / flavor
    synth_portfolio(root, accounts, 20, flavor, dt.date(2026, 11, 30), 3)
    return pd.read_csv(root / "contacts.csv", dtype=str, keep_default_na=False)["phone"].tolist()


@pytest.mark.parametrize("flavor", ["cn", "us"])
def test_synth_numbers_same_as_per_number_calls(tmp_path, flavor):
    numbers = _synth_numbers(tmp_path, flavor)
    rng = random.Random(7)
    # neighbours of real numbers: same prefix, random tails (valid and invalid)
    numbers += [n[: rng.randint(4, len(n) - 1)] for n in rng.sample(numbers, 200)]
    numbers += [n[:-4] + _random_digits(rng, 4) for n in rng.sample(numbers, 500)]
    numbers += [n[:5] + _random_digits(rng, len(n) - 5) for n in rng.sample(numbers, 500)]
    assert len(numbers) > 3000
    _assert_same(numbers)


def test_random_e164_of_every_country_same_as_per_number_calls():
    numbers = _random_e164()
    assert len(numbers) > 3000
    _assert_same(numbers)


def test_decided_classes_hold_for_random_members():
    """Every decided class (prefix shorter than the number) really is one answer: random
    members of it get the class's answer from the per-number calls."""
    _fresh()
    Z.phone_facts(pd.Series(_random_e164(seed=3, per_code=4), dtype=object))
    rng = random.Random(9)
    classes = [(k, v) for k, v in Z._class_of.items() if v >= 0 and k[1] < k[0]]
    assert len(classes) > 200
    for (length, j, prefix), index in rng.sample(classes, min(400, len(classes))):
        want = Z._results[index]
        for _ in range(5):
            number = "+" + str(prefix) + _random_digits(rng, length - j)
            assert (Z._valid_of_number(number), Z._zones_of_number(number)) == want, (number, length, j, prefix)


def test_generic_parsing_steps_ignore_which_digits():
    """The class argument assumes libphonenumber's string-level steps treat every string of
    "+" and n ASCII digits alike (no extension, no RFC 3966 context, viable)."""
    rng = random.Random(1)
    for _ in range(2000):
        s = "+" + rng.choice("123456789") + _random_digits(rng, rng.randint(6, 14))
        assert pnu._build_national_number_for_parsing(s) == s
        assert pnu._is_viable_phone_number(s)
        assert pnu._maybe_strip_extension(s) == ("", s)


def test_reader_validity_and_candidate_zones_unchanged():
    values = pd.Series(_random_e164(seed=21, per_code=3) + ["not a phone", "+86 138 1234 5678"], dtype=object)
    shape = values.str.match(r"^\+[1-9]\d{6,14}$").to_numpy(dtype=bool)
    want = np.zeros(len(values), dtype=bool)
    want[shape] = [Z._valid_of_number(n) for n in values[shape]]
    _fresh()
    assert (_valid_phones(values) == want).all()
    zones = Z.phone_zones(values)
    assert list(zones.index) == list(values.index)
    assert zones.tolist() == [Z._zones_of_number(n) for n in values]


@pytest.mark.parametrize("flavor", ["cn", "us"])
def test_few_library_calls_for_a_book(tmp_path, flavor):
    """The point of the class walk: a book's numbers need far fewer libphonenumber calls than
    numbers (counted, not timed: timings on a shared machine are noise). us numbers fall into
    about 1,000-1,500 classes (mostly area code and the exchange's first digit), cn into a few dozen."""
    numbers = _synth_numbers(tmp_path, flavor, accounts=6000)
    _fresh()
    Z.phone_facts(pd.Series(numbers, dtype=object))
    assert len(Z._results) * 5 < len(numbers), (len(Z._results), len(numbers))
