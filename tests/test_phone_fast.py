"""The column-wide phone fast path gives exactly what phonenumbers gives, value by value.

The reference is the per-value path: NFKC, junk and extension stripped, then
``phonenumbers.parse`` + ``is_valid_number`` + ``format_number(E164)``.  The
numbers come from phonenumbers' own example numbers (every region, every
type), variants of them (other last digits, national / international /
00 / full-width / bracketed / extension forms) and hypothesis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from crmkit import normalize as nz
from crmkit import phones

TYPES = [PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE,
         PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.VOIP,
         PhoneNumberType.PERSONAL_NUMBER, PhoneNumberType.PAGER, PhoneNumberType.UAN, PhoneNumberType.VOICEMAIL]
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
#: default regions the comparison runs under: China, the US, shared codes, national prefixes with transform rules
DEFAULT_REGIONS = ["CN", "US", "CA", "GB", "DE", "FR", "IT", "RU", "KZ", "IN", "JP", "BR", "AU", "MG", "AR", "MX",
                   "HK", "TW", "SG", "AG", "XX"]
FULL_WIDTH = str.maketrans("0123456789+", "０１２３４５６７８９＋")


def reference(values, region):
    """The per-value path: what to_phone returned before the fast path existed."""
    text = nz.nfkc(pd.Series(values, dtype=object))
    region = (str(region).strip().upper() if region else "CN") or "CN"
    junkless = text.str.replace(phones._PHONE_JUNK, "", regex=True)
    compact = junkless.str.replace(phones._PHONE_EXT, "", regex=True)
    ext = junkless.str.extract(phones._PHONE_EXT_DIGITS, expand=False)
    parsed = [None if pd.isna(c) else phones._parse_phone.__wrapped__(c, phones.phone_region_code(region)) for c in compact]
    # an extension is kept after the E.164 number (issue 14: it used to be dropped)
    out = pd.Series([p if p is None or pd.isna(x) else f"{p} ext. {x}" for p, x in zip(parsed, ext)],
                    index=text.index, dtype="string")
    bad = out.isna() & text.notna()
    return out.where(~bad, text), bad


def assert_same_as_phonenumbers(values, region):
    out, bad = phones.to_phone(pd.Series(values, dtype=object), region)
    want, want_bad = reference(values, region)
    diff = (out.fillna("<NA>") != want.fillna("<NA>")) | (bad != want_bad)
    assert not diff.any(), pd.DataFrame({"value": values, "fast": out, "phonenumbers": want})[diff].head(20)


def example_numbers():
    nums = []
    for r in REGIONS:
        for t in TYPES:
            n = phonenumbers.example_number_for_type(r, t)
            if n is not None:
                nums.append(n)
    for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        n = phonenumbers.example_number_for_non_geo_entity(cc)
        if n is not None:
            nums.append(n)
    return nums


EXAMPLES = example_numbers()


def variant(num, rng):
    """The same number with random last digits (often still valid, sometimes not)."""
    nsn = phonenumbers.national_significant_number(num)
    k = min(4, len(nsn) - 1)
    tail = "".join(rng.choice(list("0123456789"), size=k))
    other = phonenumbers.PhoneNumber(country_code=num.country_code, national_number=int(nsn[:-k] + tail))
    if nsn.startswith("0"):
        other.italian_leading_zero = True
        zeros = len(nsn) - len(nsn.lstrip("0"))
        if zeros > 1:
            other.number_of_leading_zeros = zeros
    return other


def international_forms(num):
    """E.164, international, 00, full-width, dashes, extension, one digit short or long, code without +."""
    e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
    intl = phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL)
    return [e164, intl, "00" + e164[1:], e164.translate(FULL_WIDTH), intl.replace(" ", "-"), e164 + " ext 12",
            e164[:-1], e164 + "9", e164[1:]]


def national_forms(num):
    """National (with its prefix), bare national number, a national prefix added, brackets, extension."""
    national = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
    nsn = phonenumbers.national_significant_number(num)
    return [national, nsn, "0" + nsn, f"({nsn[:3]}) {nsn[3:]}", national + "转123", nsn[:-1]]


@pytest.fixture(scope="module")
def numbers():
    rng = np.random.default_rng(7)
    return EXAMPLES + [variant(n, rng) for n in EXAMPLES]


ODD = [None, "", "call me", "12345", "+86 999", "138001380001234", "15400000000", "1800FLOWERS",
       "tel:+1-650-253-0000", "+0086 138 0013 8000", "++86 138 0013 8000", "0", "+", "00", "011 44 7911 123456"]


@pytest.mark.parametrize("region", ["CN", "US"])
def test_fast_path_equals_phonenumbers_on_every_region_and_type_written_internationally(numbers, region):
    assert_same_as_phonenumbers([f for n in numbers for f in international_forms(n)] + ODD, region)


def test_fast_path_equals_phonenumbers_on_every_region_and_type_written_nationally(numbers):
    by_region = {}
    for n in numbers:
        by_region.setdefault(phonenumbers.region_code_for_country_code(n.country_code), []).extend(national_forms(n))
    for region, values in by_region.items():
        assert_same_as_phonenumbers(values + ODD, region)


def test_fast_path_accepts_only_numbers_phonenumbers_accepts_and_writes_them_the_same(numbers):
    values = [f for n in numbers for f in international_forms(n)[:4]]
    text = nz.nfkc(pd.Series(values, dtype=object))
    compact = text.str.replace(phones._PHONE_JUNK, "", regex=True).str.replace(phones._PHONE_EXT, "", regex=True)
    fast = phones.phone_fast_path(compact, "CN")
    took = fast.notna()
    assert took.mean() > 0.5                  # the fast path does the bulk of the work
    slow = compact[took].map(lambda v: phones._parse_phone.__wrapped__(v, "CN"))
    assert fast[took].tolist() == slow.tolist()


def test_us_numbers_in_e164_and_chinese_mobiles_never_reach_the_per_value_parser():
    us = pd.Series(["+16028113927", "+13036003815", "+17134949261", "(650) 253-0000", "650-253-0000"])
    cn = pd.Series(["13800138000", "+8613900139000", "008618612345678", "010-12345678", "(021) 6123 4567"])
    compact = lambda s: s.str.replace(phones._PHONE_JUNK, "", regex=True)  # noqa: E731
    assert phones.phone_fast_path(compact(us), "US").notna().all()
    assert phones.phone_fast_path(compact(cn), "CN").notna().all()


def test_unallocated_chinese_mobile_prefix_is_flagged_as_phonenumbers_says():
    out, bad = phones.to_phone(pd.Series(["15400000000", "15500000000"]), "CN")
    assert bad.tolist() == [True, False]
    assert out.tolist() == ["15400000000", "+8615500000000"]


def test_fast_path_keeps_the_index_even_when_labels_repeat():
    s = pd.Series(["+16502530000", "bad", "+16502530000"], index=[5, 5, 9])
    out, bad = phones.to_phone(s, "US")
    assert out.index.tolist() == [5, 5, 9]
    assert out.tolist() == ["+16502530000", "bad", "+16502530000"]
    assert bad.tolist() == [False, True, False]


CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
digits = st.text(alphabet="0123456789", min_size=1, max_size=14)
near_example = st.builds(lambda num, k, tail: phonenumbers.format_number(num, PhoneNumberFormat.E164)[:-k] + tail[:k],
                         st.sampled_from(EXAMPLES), st.integers(1, 5), st.text(alphabet="0123456789", min_size=5,
                                                                               max_size=5))
typed = st.one_of(
    digits,
    st.builds(lambda d: "+" + d, digits),
    st.builds(lambda d: "00" + d, digits),
    st.builds(lambda d: "0" + d, digits),
    st.builds(lambda cc, d: f"+{cc}{d}", st.sampled_from(CODES), digits),
    st.builds(lambda cc, d: f"+{cc} ({d[:3]}) {d[3:]}", st.sampled_from(CODES), digits),
    near_example,
    st.builds(lambda v: v[1:], near_example),                 # without the +: national or code-first
    st.builds(lambda v: "0" + v[3:], near_example),
    st.builds(lambda v: v.translate(FULL_WIDTH), near_example),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(typed, min_size=1, max_size=80), region=st.sampled_from(DEFAULT_REGIONS))
def test_fast_path_equals_phonenumbers_on_generated_numbers(values, region):
    assert_same_as_phonenumbers(values, region)


def test_a_number_type_matches_only_at_its_possible_lengths():
    desc = phones._Desc(frozenset({4}), "[0-9]+")
    nsn = pd.Series(["1234", "12345"], dtype="string")
    assert phones._matches(nsn, desc, nsn.str.len()).tolist() == [True, False]
    anything = phones._Desc(frozenset(), "[0-9]+")
    assert phones._matches(nsn, anything, nsn.str.len()).tolist() == [True, True]


def test_national_prefix_is_stripped_only_where_parse_would_keep_the_stripped_number():
    nsn = pd.Series(["0123456", "012", "123456"], dtype="string")
    plan = phones._PrefixPlan("0", False, frozenset({6}))
    num, sure = phones._strip_national_prefix(nsn, plan)
    assert num.tolist() == ["123456", "12", "123456"] and sure.tolist() == [True, False, True]
    transformed = phones._PrefixPlan("0", True, frozenset({6}))
    num, sure = phones._strip_national_prefix(nsn, transformed)
    assert num.tolist() == nsn.tolist() and sure.tolist() == [False, False, True]
    lengthless = phones._PrefixPlan("0", False, frozenset())
    assert phones._strip_national_prefix(nsn, lengthless)[1].tolist() == [False, False, True]
