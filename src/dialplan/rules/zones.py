"""Time-zone resolution of contacts (contract 2.1, docs/rules.md), and the phone facts the
reader and the candidate builder need: libphonenumber's validity and time zones of a number.

Phone facts at scale
--------------------
``phonenumbers.parse`` + ``is_valid_number`` and ``parse`` + ``time_zones_for_number`` cost
about 70-80 us a number; a book of 1M cases has about 3M numbers. ``phone_validity`` and
``phone_zones`` return exactly what those per-number calls return, but call libphonenumber
once per *class* of numbers that provably share the answer:

A class is ``(D, q)``: every string ``+d1..dD`` (ASCII digits, E.164 shape) whose first ``j``
digits are ``q``. For such strings libphonenumber's answer is a function of the digits only
(the generic parsing steps -- extension, RFC 3966 and punctuation handling -- see no
difference between digit strings of one length), and every digit-dependent step is one of:

* the country calling code: the shortest of the first 1-3 digits in
  ``COUNTRY_CODE_TO_REGION_CODE`` (fixed by ``q`` once ``q`` holds it, or holds 3 digits
  and none is a code: then every member fails to parse);
* national-prefix stripping with the main region's ``national_prefix_for_parsing``
  (prefix match): we require that it matches no member (checked on a superset language
  where anchors are ignored); then the national significant number is the rest of the digits;
* region choice among the regions of the code (``leading_digits`` prefix matches, or a full
  type check) and the type of the number (``_number_type_helper``: possible lengths -- fixed,
  since the class fixes the length -- and full matches of the desc patterns);
* for geographic types, the longest key of the time-zone table that prefixes the number: it
  is fixed by ``q`` when no key extends ``q`` (or ``q`` already holds the longest key length).

Each pattern is compiled (from its ``re`` parse tree: literals, classes, alternation, bounded
and unbounded repeats, groups) into a lazily built DFA over 0-9, and for a class we ask
whether *all* or *none* of the continuations of ``q`` are accepted. We follow libphonenumber's
own control flow with these three-valued answers; only when every test on the path is
all-or-none is the class decided, and then the real library is called on one member (and, as a
cheap safety net, on the class's smallest and largest members, which must agree).
Anything the analysis does not understand counts as "mixed", so the walk goes one digit
deeper; at full length a class is one number. Strings that are not ``+`` and 7-15 ASCII
digits take the per-number path. The per-class answers stay memoised in the process (up to
2M classes) so the candidate builder reuses what the reader found. ``FAST_PATH = False``
restores the per-number calls. The analysis mirrors phonenumbers 9.0's control flow;
``tests/test_phone_speed.py`` compares the two paths on random and synthetic numbers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from re import _parser as _re_parser

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers import timezone as phone_timezone
from phonenumbers.phonenumberutil import (
    COUNTRY_CODE_TO_REGION_CODE,
    is_number_type_geographical,
    region_code_for_country_code,
)

from ..columns import indexer


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
    one country. (The reference, per-number path.)"""
    try:
        zones = phone_timezone.time_zones_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return ""
    zones = [z for z in zones if z != "Etc/Unknown"]
    countries = zone_countries()
    if len({countries.get(z, z) for z in zones}) != 1:
        return ""
    return "|".join(zones)


def _valid_of_number(number: str) -> bool:
    """libphonenumber validity of ``number`` (the reference, per-number path)."""
    try:
        return bool(phonenumbers.is_valid_number(phonenumbers.parse(number, None)))
    except phonenumbers.NumberParseException:
        return False


# ---------------------------------------------------------------------------------------------
# patterns as DFAs over the digits
# ---------------------------------------------------------------------------------------------
_ALL_DIGITS = (1 << 10) - 1
_ACCEPT, _REJECT = 1, 2  # bits of "some continuation is accepted / rejected"
_C = _re_parser  # opcode names live on the parser module's namespace


class _Unsupported(Exception):
    pass


class _Lang:
    """The set of digit strings a libphonenumber pattern accepts.

    ``prefix``: the pattern is used with ``re.match`` (some prefix of the string matches),
    else with ``fullmatch``. ``relax``: anchors (``$``, ``^``) are ignored, which can only add
    strings -- allowed where we only need "matches nothing". A pattern with a construct we
    do not model is ``opaque``: every question about it answers "mixed".
    """

    def __init__(self, pattern: str, prefix: bool = False, relax: bool = False):
        self.relax = relax
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[int, int]]] = []
        self.opaque = False
        try:
            start = self._state()
            end = self._seq(_re_parser.parse(pattern), start)
        except (_Unsupported, re.error, RecursionError):
            self.opaque = True
            return
        accept = {end}
        if prefix:  # once the pattern matched, any further digits are fine
            sticky = self._state()
            self.eps[end].append(sticky)
            self.edges[sticky].append((_ALL_DIGITS, sticky))
            accept.add(sticky)
        self.accepting = frozenset(accept)
        self.ids: dict[frozenset, int] = {}
        self.sets: list[frozenset] = []
        self.nexts: list[list[int] | None] = []
        self.acc: list[bool] = []
        self.memo: dict[tuple[int, int], int] = {}
        self.runs: dict[str, int] = {}
        self.start = self._intern(self._closure({start}))

    # --- Thompson construction ---------------------------------------------------------------
    def _state(self) -> int:
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def _edge(self, a: int, mask: int) -> int:
        b = self._state()
        if mask:
            self.edges[a].append((mask, b))
        return b

    def _seq(self, items, cur: int) -> int:
        for op, av in items:
            cur = self._item(op, av, cur)
        return cur

    def _item(self, op, av, cur: int) -> int:
        if op is _C.LITERAL:
            return self._edge(cur, 1 << (av - 48) if 48 <= av <= 57 else 0)
        if op is _C.ANY:
            return self._edge(cur, _ALL_DIGITS)
        if op is _C.IN:
            return self._edge(cur, _class_mask(av))
        if op is _C.BRANCH:
            end = self._state()
            for alt in av[1]:
                a = self._state()
                self.eps[cur].append(a)
                self.eps[self._seq(alt, a)].append(end)
            return end
        if op is _C.SUBPATTERN:
            return self._seq(av[-1], cur)
        if op is _C.MAX_REPEAT or op is _C.MIN_REPEAT:  # greedy or lazy: same language
            lo, hi, body = av
            for _ in range(lo):
                cur = self._seq(body, cur)
            if hi is _C.MAXREPEAT:
                loop = self._state()
                self.eps[cur].append(loop)
                self.eps[self._seq(body, loop)].append(loop)
                return loop
            for _ in range(hi - lo):
                nxt = self._seq(body, cur)
                join = self._state()
                self.eps[cur].append(join)
                self.eps[nxt].append(join)
                cur = join
            return cur
        if op is _C.AT and self.relax:
            return cur
        raise _Unsupported(str(op))

    def _closure(self, states) -> frozenset:
        seen = set(states)
        todo = list(states)
        while todo:
            for t in self.eps[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return frozenset(seen)

    # --- DFA, built on demand -----------------------------------------------------------------
    def _intern(self, states: frozenset) -> int:
        sid = self.ids.get(states)
        if sid is None:
            sid = len(self.sets)
            self.ids[states] = sid
            self.sets.append(states)
            self.nexts.append(None)
            self.acc.append(bool(states & self.accepting))
        return sid

    def step(self, sid: int, digit: int) -> int:
        row = self.nexts[sid]
        if row is None:
            row = []
            for d in range(10):
                bit = 1 << d
                target = {b for s in self.sets[sid] for mask, b in self.edges[s] if mask & bit}
                row.append(self._intern(self._closure(target)))
            self.nexts[sid] = row
        return row[digit]

    def run(self, digits: str) -> int:
        sid = self.runs.get(digits)
        if sid is None:
            sid = self.start if not digits else self.step(self.run(digits[:-1]), ord(digits[-1]) - 48)
            self.runs[digits] = sid
        return sid

    def outcomes(self, sid: int, rest: int) -> int:
        """_ACCEPT | _REJECT bits over all continuations of exactly ``rest`` digits."""
        if rest == 0:
            return _ACCEPT if self.acc[sid] else _REJECT
        key = (sid, rest)
        bits = self.memo.get(key)
        if bits is None:
            if not self.sets[sid]:
                bits = _REJECT
            else:
                bits = 0
                for d in range(10):
                    bits |= self.outcomes(self.step(sid, d), rest - 1)
                    if bits == _ACCEPT | _REJECT:
                        break
            self.memo[key] = bits
        return bits

    def tri(self, digits: str, rest: int) -> bool | None:
        """True: every ``digits`` + (``rest`` more digits) is accepted; False: none; None: mixed."""
        if self.opaque:
            return None
        bits = self.outcomes(self.run(digits), rest)
        return None if bits == _ACCEPT | _REJECT else bits == _ACCEPT


def _class_mask(items) -> int:
    mask, negate = 0, False
    for op, av in items:
        if op is _C.NEGATE:
            negate = True
        elif op is _C.LITERAL:
            if 48 <= av <= 57:
                mask |= 1 << (av - 48)
        elif op is _C.RANGE:
            for ch in range(max(av[0], 48), min(av[1], 57) + 1):
                mask |= 1 << (ch - 48)
        elif op is _C.CATEGORY and av in (_C.CATEGORY_DIGIT, _C.CATEGORY_UNI_DIGIT):
            mask = _ALL_DIGITS
        else:
            raise _Unsupported(str(op))
    return (~mask & _ALL_DIGITS) if negate else mask


@lru_cache(maxsize=None)
def _lang(pattern: str, prefix: bool = False, relax: bool = False) -> _Lang:
    return _Lang(pattern, prefix, relax)


# ---------------------------------------------------------------------------------------------
# libphonenumber's control flow with three-valued answers (None = mixed)
# ---------------------------------------------------------------------------------------------
_MIXED = object()
_TYPE_ORDER = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


def _desc_tri(desc, nsn: str, rest: int) -> bool | None:
    """phonenumberutil._is_number_matching_desc over the class."""
    if desc is None:
        return False
    possible = desc.possible_length
    if len(possible) > 0 and len(nsn) + rest not in possible:
        return False
    pattern = desc.national_number_pattern
    if pattern is None or len(pattern) == 0:
        return False
    return _lang(pattern).tri(nsn, rest)


def _type_tri(md, nsn: str, rest: int):
    """phonenumberutil._number_type_helper over the class (a type, or _MIXED)."""
    t = _desc_tri(md.general_desc, nsn, rest)
    if t is None:
        return _MIXED
    if not t:
        return PhoneNumberType.UNKNOWN
    for attr, kind in _TYPE_ORDER:
        t = _desc_tri(getattr(md, attr), nsn, rest)
        if t is None:
            return _MIXED
        if t:
            return kind
    fixed = _desc_tri(md.fixed_line, nsn, rest)
    if fixed is None:
        return _MIXED
    if fixed:
        if md.same_mobile_and_fixed_line_pattern:
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        mobile = _desc_tri(md.mobile, nsn, rest)
        if mobile is None:
            return _MIXED
        return PhoneNumberType.FIXED_LINE_OR_MOBILE if mobile else PhoneNumberType.FIXED_LINE
    if not md.same_mobile_and_fixed_line_pattern:
        mobile = _desc_tri(md.mobile, nsn, rest)
        if mobile is None:
            return _MIXED
        if mobile:
            return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


def _region_tri(cc: int, nsn: str, rest: int):
    """phonenumberutil.region_code_for_number over the class (a region, None, or _MIXED)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(cc, None)
    if regions is None:
        return None
    if len(regions) == 1:
        return regions[0]
    for region in regions:
        md = PhoneMetadata.metadata_for_region(region.upper(), None)
        if md is None:
            continue
        if md.leading_digits is not None:
            t = _lang(md.leading_digits, prefix=True).tri(nsn, rest)
            if t is None:
                return _MIXED
            if t:
                return region
        else:
            kind = _type_tri(md, nsn, rest)
            if kind is _MIXED:
                return _MIXED
            if kind != PhoneNumberType.UNKNOWN:
                return region
    return None


@lru_cache(maxsize=1)
def _tz_inner_prefixes() -> tuple[frozenset, int]:
    """Proper prefixes of the time-zone table's keys, and its longest key length."""
    from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

    inner = frozenset(k[:i] for k in TIMEZONE_DATA for i in range(1, len(k)))
    return inner, TIMEZONE_LONGEST_PREFIX


def _decided(length: int, q: str) -> bool:
    """Whether every ``+`` + ``length`` ASCII digits starting with ``q`` provably gets the same
    validity and time zones from libphonenumber."""
    j = len(q)
    if j >= length:
        return True
    cc = 0
    for width in range(1, min(length, 3) + 1):  # phonenumberutil._extract_country_code
        if width > j:
            return False
        if int(q[:width]) in COUNTRY_CODE_TO_REGION_CODE:
            cc = int(q[:width])
            break
    if cc == 0:
        return True  # no calling code: every member fails to parse
    nsn, rest = q[len(str(cc)):], length - j
    main = PhoneMetadata.metadata_for_region_or_calling_code(cc, region_code_for_country_code(cc))
    if main is None:
        return False
    npfp = main.national_prefix_for_parsing
    if npfp is not None and len(npfp) > 0 and _lang(npfp, prefix=True, relax=True).tri(nsn, rest) is not False:
        return False  # a national prefix might be stripped from some member
    region = _region_tri(cc, nsn, rest)
    if region is _MIXED:
        return False
    if region is None:
        return True
    md = PhoneMetadata.metadata_for_region_or_calling_code(cc, region.upper())
    if md is None:
        return True
    kind = _type_tri(md, nsn, rest)
    if kind is _MIXED:
        return False
    if kind != PhoneNumberType.UNKNOWN and is_number_type_geographical(kind, cc):
        inner, longest = _tz_inner_prefixes()
        return j >= min(longest, length) or q not in inner
    return True


# ---------------------------------------------------------------------------------------------
# the class walk
# ---------------------------------------------------------------------------------------------
_FAST_RE = r"\+[1-9][0-9]{6,14}"
_MEMO_LIMIT = 2_000_000
_class_of: dict[tuple[int, int, int], int] = {}  # (length, j, prefix) -> result index, -1 undecided
_results: list[tuple[bool, str]] = []  # (valid, zones) of a decided class
FAST_PATH = True  # False: per-number libphonenumber calls (the reference; for tests and timing)
SPOT_CHECK_FAILURES = 0  # decided classes whose smallest or largest member disagreed (expected 0)


def _facts_of(number: str) -> tuple[bool, str]:
    return _valid_of_number(number), _zones_of_number(number)


def _class_index(length: int, j: int, prefix: int, member: int) -> int:
    key = (length, j, prefix)
    got = _class_of.get(key)
    if got is None:
        got = -1
        if _decided(length, str(prefix)):
            facts = _facts_of("+" + str(member))
            rest = length - j
            # belt and braces: the class's smallest and largest members must agree too; if
            # not (the analysis missed something), the class is split one digit deeper
            if rest == 0 or facts == _facts_of("+" + str(prefix * 10**rest)) == _facts_of("+" + str((prefix + 1) * 10**rest - 1)):
                got = len(_results)
                _results.append(facts)
            else:
                global SPOT_CHECK_FAILURES
                SPOT_CHECK_FAILURES += 1
        _class_of[key] = got
    return got


def _walk(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Result index of each number (digits as int64, ``lengths`` digits each)."""
    out = np.full(len(values), -1, dtype=np.int64)
    for length in np.unique(lengths):
        length = int(length)
        idx = np.flatnonzero(lengths == length)
        idx = idx[np.argsort(values[idx], kind="stable")]
        vals = values[idx]
        pending = np.arange(len(idx))
        for j in range(1, length + 1):
            prefix = vals[pending] // (10 ** (length - j))  # sorted, so equal prefixes are runs
            starts = np.flatnonzero(np.r_[True, prefix[1:] != prefix[:-1]])
            ids = np.array(
                [_class_index(length, j, int(prefix[s]), int(vals[pending[s]])) for s in starts], dtype=np.int64
            )
            got = np.repeat(ids, np.diff(np.r_[starts, len(prefix)]))
            done = got >= 0
            out[idx[pending[done]]] = got[done]
            pending = pending[~done]
            if not len(pending):
                break
    return out


def _class_facts(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(validity, zones) of E.164-shaped strings (``+`` and 7-15 ASCII digits) by their class."""
    if len(_class_of) > _MEMO_LIMIT:
        _class_of.clear()
        _results.clear()
    digits = pc.utf8_slice_codeunits(strings, 1)
    values = pc.cast(digits, pa.int64()).to_numpy()
    lengths = pc.utf8_length(digits).to_numpy().astype(np.int64)
    index = _walk(values, lengths)
    table_valid = np.array([r[0] for r in _results], dtype=bool)
    table_zones = np.array([r[1] for r in _results], dtype=object)
    return table_valid[index], table_zones[index]


def phone_facts(phones) -> tuple[np.ndarray, np.ndarray]:
    """(validity, zones) of each phone string: exactly ``_valid_of_number`` and
    ``_zones_of_number`` of every element, computed once per provably-equal class of numbers
    (see the module docstring)."""
    series = pd.Series(phones, copy=False) if not isinstance(phones, pd.Series) else phones
    if FAST_PATH and isinstance(series.dtype, pd.StringDtype) and len(series) and not series.hasnans:
        # a text column: the class walk takes the E.164-shaped strings as they are (repeats
        # cost nothing there), the others go through the per-value path below
        text = pa.array(series.array)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        shaped = pc.match_substring_regex(text, "^" + _FAST_RE + "$").to_numpy(zero_copy_only=False)
        valid = np.zeros(len(series), dtype=bool)
        zones = np.empty(len(series), dtype=object)
        fast = np.flatnonzero(shaped)
        if len(fast):
            valid[fast], zones[fast] = _class_facts(text.filter(pa.array(shaped)))
        rest = np.flatnonzero(~shaped)
        if len(rest):
            valid[rest], zones[rest] = _facts_by_value(series.iloc[rest].to_numpy(dtype=object), fast_path=False)
        return valid, zones
    return _facts_by_value(series, fast_path=FAST_PATH)


def _facts_by_value(phones, fast_path: bool) -> tuple[np.ndarray, np.ndarray]:
    """phone_facts once per distinct value (values of any type: non-strings are invalid)."""
    series = pd.Series(phones, copy=False) if not isinstance(phones, pd.Series) else phones
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    uniques = np.asarray(uniques, dtype=object)
    valid = np.zeros(len(uniques), dtype=bool)
    zones = np.empty(len(uniques), dtype=object)
    fast = np.zeros(len(uniques), dtype=bool)
    if fast_path and len(uniques):
        is_str = np.fromiter((type(v) is str for v in uniques), dtype=bool, count=len(uniques))
        if is_str.any():  # RE2: "$" is the end of the text only
            shaped = pc.match_substring_regex(pa.array(uniques[is_str], type=pa.string()), "^" + _FAST_RE + "$")
            fast[is_str] = shaped.to_numpy(zero_copy_only=False)
    slow = np.flatnonzero(~fast)
    for i in slow:
        valid[i] = _valid_of_number(uniques[i])
        zones[i] = _zones_of_number(uniques[i])
    quick = np.flatnonzero(fast)
    if len(quick):
        valid[quick], zones[quick] = _class_facts(pa.array(uniques[quick], type=pa.string()))
    return valid[codes], zones[codes]


def phone_validity(phones) -> np.ndarray:
    """libphonenumber validity of each phone string (``_valid_of_number`` of every element)."""
    return phone_facts(phones)[0]


def phone_zones(phones: pd.Series) -> pd.Series:
    """Zones of each phone number ("|"-joined, "" when none), exactly ``_zones_of_number`` of
    every element."""
    return pd.Series(phone_facts(phones)[1], index=phones.index, dtype=object)


def resolve_contact_zones(contacts: pd.DataFrame, accounts: pd.DataFrame, policy_zone: str, con_acc: np.ndarray | None = None) -> pd.Series:
    """The resolved zones of each contact as a "|"-joined string, the first zone first.

    The contact's own column wins; else the phone's zones then the account's zone (duplicates
    dropped, order kept); else the policy zone. ``con_acc``: the account row of each contact
    (-1 unknown), when the caller has it already.
    """
    own = contacts["timezone"].to_numpy(dtype=object)
    pos = indexer(accounts["account_id"], contacts["account_id"]) if con_acc is None else con_acc
    account_zone = pd.Series(np.where(pos >= 0, accounts["timezone"].to_numpy(dtype=object)[pos] if len(accounts) else "", ""), dtype=object)
    need = own == ""
    phone = pd.Series("", index=contacts.index, dtype=object)
    if need.any():
        phone[need] = phone_zones(contacts.loc[need, "phone"]).to_numpy()
    # join once per distinct (phone zones, account zone) pair of the rows that need it
    rows = np.flatnonzero(need)
    p_codes, p_uniq = pd.factorize(phone.to_numpy()[rows])
    a_codes, a_uniq = pd.factorize(account_zone.to_numpy(dtype=object)[rows])
    pair_codes, pairs = pd.factorize(p_codes.astype(np.int64) * (len(a_uniq) + 1) + a_codes)
    joined = np.empty(len(pairs), dtype=object)
    for i, pair in enumerate(pairs):
        p, a = p_uniq[pair // (len(a_uniq) + 1)], a_uniq[pair % (len(a_uniq) + 1)]
        parts = [z for z in p.split("|") if z] + ([a] if a else [])
        joined[i] = "|".join(dict.fromkeys(parts)) or policy_zone
    out = own.copy()
    out[rows] = joined[pair_codes]
    return pd.Series(out, index=contacts.index, dtype=object)
