"""Phone numbers: the ``phone_region`` setting, E.164 normalisation and its vectorised fast path.

:func:`to_phone` turns what people type (``138 0013 8000``, ``(510) 863-7227 x152``,
``+86 10 8888 8888``) into E.164 (``+8613800138000``, ``+15108637227 ext. 152``), keeping a value
it cannot read as typed and flagging it, like every converter of :mod:`crmkit.normalize`.  Most
numbers take :func:`phone_fast_path`, whole-column checks built from phonenumbers' own metadata;
the rest go through ``phonenumbers`` one distinct value at a time.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import pandas as pd

from .normalize import EXT_SEP, nfkc

# plain pattern strings (not compiled, no \s or \d) keep pandas on its fast pyarrow (RE2) path
_PHONE_JUNK = r"[ \t\r\n\-().·/]"
_PHONE_EXT = r"(?i)(?:转|分机号?|extension|extn|ext=?|x|#|,)[0-9]{1,6}$"
_PHONE_EXT_DIGITS = r"(?i)(?:转|分机号?|extension|extn|ext=?|x|#|,)([0-9]{1,6})$"
#: Settings ``phone_region`` values that mean "no default country": only numbers with +code are read
NO_REGION = frozenset({"NONE", "ZZ", "-", "无", "INTL", "INTERNATIONAL", "国际"})


def phone_region_code(region: object) -> str:
    """The phonenumbers region code for a ``phone_region`` setting: ``US``; ``ZZ`` (none) for ``none``.

    ``None`` and blank mean CN (the default of the Python API).  With ``ZZ``
    a number is read only when it carries its country code (``+1 ...``,
    ``00 1 ...``); anything else is kept as typed and flagged.
    """
    text = str(region).strip().upper() if region is not None else ""
    if not text:
        return "CN"
    return "ZZ" if text in NO_REGION else text


def to_phone(s: pd.Series, region: str | None = "CN") -> tuple[pd.Series, pd.Series]:
    """Phone numbers in E.164 (``+8613800138000``); bad values are kept as typed and flagged.

    Full-width digits, spaces, hyphens and brackets are accepted.  An
    extension (``x152``, ``ext. 152``, ``转 123``, ``分机 123``, ``#123``) is
    kept after the number as ``+15108637227 ext. 152`` (:data:`EXT_SEP`);
    this form reads back to itself, so dedupe keys, masking and validation
    all see one value.  Numbers written as ``+<code>...``, ``00<code>...`` or
    in the national form of ``region`` (with or without the national prefix,
    e.g. ``010 ...`` in China) are checked over the whole column at once
    against ``phonenumbers``' own metadata (:func:`phone_fast_path`); every
    other value, and every value the fast path does not accept, is parsed
    once per distinct value with ``phonenumbers`` itself, so a number is
    flagged bad only when ``phonenumbers`` says so.  ``region`` ``none``
    (``ZZ``) reads only numbers that carry their country code.
    """
    text = nfkc(s)
    region = phone_region_code(region)
    junkless = text.str.replace(_PHONE_JUNK, "", regex=True)
    compact = junkless.str.replace(_PHONE_EXT, "", regex=True)
    has_ext = (compact.str.len() != junkless.str.len()).to_numpy(dtype=bool, na_value=False)
    ext = None
    if has_ext.any():       # the few numbers with an extension: the digits cut off are kept
        ext = junkless[has_ext].str.extract(_PHONE_EXT_DIGITS, expand=False).astype("string")
    out = phone_fast_path(compact, region)
    todo = (out.isna() & compact.notna()).to_numpy(dtype=bool)
    if todo.any():
        rest = compact[todo]
        mapping = {v: _parse_phone(v, region) for v in rest.unique()}
        out[todo] = rest.map(mapping).astype("string").to_numpy()
    if ext is not None:
        pos = np.flatnonzero(has_ext)
        main = out.iloc[pos].to_numpy(dtype=object, na_value=None)
        ok = pd.notna(main) & ext.notna().to_numpy(dtype=bool)
        if ok.any():
            digits = ext.to_numpy(dtype=object, na_value=None)
            out.iloc[pos[ok]] = [f"{m}{EXT_SEP}{d}" for m, d in zip(main[ok], digits[ok])]
    bad = out.isna() & text.notna()
    return out.where(~bad, text), bad


def phone_warnings(values: pd.Series, region: str | None = "CN") -> pd.Series:
    """Which of ``values`` (phones :func:`to_phone` flagged) are kept as typed with a warning, not an error.

    Two cases: a number that is not valid in ``region`` but is valid with a
    leading ``+`` (``14152933313`` read in China: a US number without its +),
    and, with no default region (``none``), any number without a country
    code.  Both are kept exactly as typed: crmkit never guesses the country.
    """
    region = phone_region_code(region)
    text = nfkc(values)
    compact = text.str.replace(_PHONE_JUNK, "", regex=True).str.replace(_PHONE_EXT, "", regex=True)
    national = compact.str.fullmatch("[0-9]{4,17}", na=False)
    if region == "ZZ":
        return national.astype(bool)
    out = pd.Series(False, index=values.index)
    if national.any():
        out[national] = compact[national].map(lambda v: _parse_phone("+" + v, "ZZ") is not None).astype(bool)
    return out


@functools.lru_cache(maxsize=262_144)  # validation and both de-duplication passes parse the same numbers
def _parse_phone(v: str, region: str) -> str | None:
    import phonenumbers

    if v.startswith("00"):
        v = "+" + v[2:]
    try:
        num = phonenumbers.parse(v, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


# The fast path mirrors, over whole columns, what phonenumbers.parse + is_valid_number + format_number(E164)
# do to a string of digits: take the country calling code (after + or 00), strip the national prefix
# (national_prefix_for_parsing, when it has no transform rule), pick the region of a shared calling code
# (leading_digits, else the first region whose number types match), check the national number against
# the general description and the type descriptions (possible lengths + national_number_pattern).  The
# metadata patterns are RE2-compatible (checked on first use), so pyarrow runs them; any case the fast path
# is not certain about is left to phonenumbers itself.

_PHONE_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
                "voicemail", "fixed_line", "mobile")
_MIN_NSN, _MAX_NSN = 2, 17          # phonenumbers' _MIN_LENGTH_FOR_NSN and _MAX_LENGTH_FOR_NSN


class _Desc(NamedTuple):
    lengths: frozenset          # possible national number lengths; empty: any length
    pattern: str                # national_number_pattern (unanchored)


class _RegionPlan(NamedTuple):
    leading: str | None         # leading_digits of a region sharing its calling code
    general: _Desc
    types: tuple                # _Desc of every number type the region has


class _PrefixPlan(NamedTuple):
    pattern: str | None         # national_prefix_for_parsing
    transform: bool             # a national_prefix_transform_rule exists (left to phonenumbers)
    lengths: frozenset          # lengths for which parse keeps the number with its prefix stripped


class _CodePlan(NamedTuple):
    code: str                   # the calling code, as digits
    regions: tuple              # _RegionPlan (or None: no metadata) per region, in phonenumbers' order
    prefix: _PrefixPlan         # national prefix rules of the code's main region


def _re2_ok(pattern: str) -> bool:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array(["0"]), f"^(?:{pattern})$")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _desc(d) -> _Desc | None:
    if d is None or not d.national_number_pattern:
        return None
    return _Desc(frozenset(d.possible_length or ()), d.national_number_pattern)


def _region_plan(md, leading: bool) -> _RegionPlan | None:
    """Validity rules of one region's metadata; None when some pattern is beyond RE2 (never seen)."""
    general = _desc(md.general_desc)
    if general is None:
        return None
    names = [t for t in _PHONE_TYPES if not (t == "mobile" and md.same_mobile_and_fixed_line_pattern)]
    types = tuple(d for d in (_desc(getattr(md, t, None)) for t in names) if d is not None)
    lead = md.leading_digits if leading else None
    if not all(_re2_ok(p) for p in [general.pattern, *(d.pattern for d in types), *([lead] if lead else [])]):
        return None
    return _RegionPlan(lead, general, types)


def _prefix_plan(md) -> _PrefixPlan | None:
    from phonenumbers import phonenumberutil as pu

    pattern = md.national_prefix_for_parsing or None
    if pattern is not None and not _re2_ok(pattern):
        return None
    keep = {pu.ValidationResult.TOO_SHORT, pu.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
            pu.ValidationResult.INVALID_LENGTH}
    try:   # the outcome of parse's length test depends on the length only
        lengths = frozenset(n for n in range(_MIN_NSN, _MAX_NSN + 1) if pu._test_number_length("0" * n, md) not in keep)
    except Exception:  # noqa: BLE001 - metadata without lengths: never strip on the fast path
        lengths = frozenset()
    return _PrefixPlan(pattern, bool(md.national_prefix_transform_rule), lengths)


@functools.cache
def _code_plan(code: int) -> _CodePlan | None:
    import phonenumbers
    from phonenumbers import PhoneMetadata

    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not regions:
        return None
    if regions[0] == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        mds = [PhoneMetadata.metadata_for_nongeo_region(code, None)]
    else:
        mds = [PhoneMetadata.metadata_for_region(r, None) for r in regions]
    if mds[0] is None:
        return None
    prefix = _prefix_plan(mds[0])
    plans = tuple(None if md is None else _region_plan(md, leading=len(mds) > 1) for md in mds)
    if prefix is None or any(p is None and md is not None for p, md in zip(plans, mds)):
        return None
    return _CodePlan(str(code), plans, prefix)


@functools.cache
def _national_plan(region: str):
    """(calling code, IDD pattern, prefix plan) of a default region, or None (unknown region)."""
    import phonenumbers
    from phonenumbers import PhoneMetadata

    if region not in phonenumbers.SUPPORTED_REGIONS:
        return None
    md = PhoneMetadata.metadata_for_region(region, None)
    if md is None or _code_plan(md.country_code) is None:
        return None
    idd = md.international_prefix or None
    prefix = _prefix_plan(md)
    if prefix is None or (idd is not None and not _re2_ok(idd)):
        return None
    return md.country_code, idd, prefix


def _lengths_in(lengths: pd.Series, allowed: frozenset) -> np.ndarray:
    return lengths.isin(list(allowed)).to_numpy(dtype=bool) if allowed else np.ones(len(lengths), dtype=bool)


def _matches(nsn: pd.Series, d: _Desc, lengths: pd.Series) -> np.ndarray:
    """phonenumbers' _is_number_matching_desc over a column: length allowed and the whole number matches."""
    ok = _lengths_in(lengths, d.lengths)
    if ok.any():
        ok[ok] = nsn[ok].str.fullmatch(f"(?:{d.pattern})").to_numpy(dtype=bool, na_value=False)
    return ok


def _has_type(nsn: pd.Series, rp: _RegionPlan) -> np.ndarray:
    """phonenumbers' _number_type_helper(...) != UNKNOWN over a column of national numbers."""
    lengths = nsn.str.len()
    ok = _matches(nsn, rp.general, lengths)
    typed = np.zeros(len(nsn), dtype=bool)
    for d in rp.types:
        todo = ok & ~typed
        if not todo.any():
            break
        typed[todo] = _matches(nsn[todo], d, lengths[todo])
    return ok & typed


def _valid_for_code(nsn: pd.Series, plan: _CodePlan) -> np.ndarray:
    """phonenumbers.is_valid_number for national numbers of one calling code (region picked as it does)."""
    valid = np.zeros(len(nsn), dtype=bool)
    undecided = np.ones(len(nsn), dtype=bool)
    for rp in plan.regions:
        if rp is None:
            continue
        if not undecided.any():
            break
        pos = np.flatnonzero(undecided)
        sub = nsn.iloc[pos]
        if rp.leading is not None:
            chosen = sub.str.match(f"(?:{rp.leading})").to_numpy(dtype=bool, na_value=False)
            valid[pos[chosen]] = _has_type(sub[chosen], rp)
        else:
            chosen = _has_type(sub, rp)
            valid[pos[chosen]] = True
        undecided[pos[chosen]] = False
    return valid


def _strip_national_prefix(nsn: pd.Series, prefix: _PrefixPlan) -> tuple[pd.Series, np.ndarray]:
    """National numbers after parse's national-prefix step, and where the fast path can vouch for it.

    A number the prefix pattern matches is stripped (no transform rule); the
    stripped number is kept only when the fast path later finds it valid,
    which is exactly when parse would keep it too.  With a transform rule a
    matching number is left to phonenumbers.
    """
    sure = np.ones(len(nsn), dtype=bool)
    if prefix.pattern is None or not len(nsn):
        return nsn, sure
    hit = nsn.str.match(f"(?:{prefix.pattern})").to_numpy(dtype=bool, na_value=False)
    if not hit.any():
        return nsn, sure
    if prefix.transform:
        return nsn, ~hit
    out = nsn.copy()
    stripped = nsn[hit].str.replace(f"^(?:{prefix.pattern})", "", n=1, regex=True)
    out[hit] = stripped
    sure[hit] = _lengths_in(stripped.str.len(), prefix.lengths) if prefix.lengths else False
    return out, sure


def _accept(nsn: pd.Series, prefix: _PrefixPlan, plan: _CodePlan) -> pd.Series:
    """E.164 for the national numbers ``nsn`` (of ``plan``'s calling code) the fast path is sure of; NA otherwise.

    ``prefix`` holds the national prefix rules of the region parse uses: the
    default region for a national number, the code's main region after +code.
    """
    out = pd.Series(pd.NA, index=nsn.index, dtype="string")
    sure = (nsn.str.len() >= _MIN_NSN).to_numpy(dtype=bool)
    num, ok = _strip_national_prefix(nsn, prefix)
    sure &= ok
    n = num.str.len()
    sure &= ((n >= _MIN_NSN) & (n <= _MAX_NSN)).to_numpy(dtype=bool)
    if sure.any():
        sure[sure] = _valid_for_code(num[sure], plan)
        out[sure] = "+" + plan.code + num[sure]
    return out


def phone_fast_path(compact: pd.Series, region: str = "CN") -> pd.Series:
    """E.164 for the numbers of a column that are certainly valid, NA for the rest (to be parsed one by one).

    ``compact`` holds numbers without spaces, dashes, brackets or extension
    (as :func:`to_phone` prepares them).  Accepted: ``+<code><number>``,
    ``00<code><number>`` and the national form of ``region`` (with its simple
    national prefix), all digits; the result equals
    ``phonenumbers.format_number(parse(v, region), E164)`` of a value that
    ``phonenumbers.is_valid_number`` accepts.  Everything else (letters,
    other prefixes, numbers phonenumbers might read differently) is NA.
    """
    import phonenumbers

    res = np.full(len(compact), None, dtype=object)
    text = compact.astype("string").reset_index(drop=True)        # labels are positions: any index will do
    digits = text.str.fullmatch("[+]?[0-9]+").to_numpy(dtype=bool, na_value=False)
    if not digits.any():
        return pd.Series(res, index=compact.index, dtype="string")
    text = text[digits]
    intl = text.str.match("[+]|00").to_numpy(dtype=bool, na_value=False)
    parts = []
    if intl.any():
        d = text[intl].str.replace("^(?:[+]|00)", "", n=1, regex=True)
        d = d[(d.str.len() > _MIN_NSN) & ~d.str.startswith("0")]       # parse: too short after IDD / no code
        code = pd.Series(0, index=d.index, dtype="int64")
        for k in (1, 2, 3):                                              # phonenumbers' _extract_country_code
            head = d.str.slice(0, k)
            free = (code == 0) & (d.str.len() >= k)
            hit = free & head.isin([str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if len(str(c)) == k])
            code[hit] = head[hit].astype("int64")
        for c in code[code > 0].unique().tolist():
            plan = _code_plan(int(c))
            if plan is None:
                continue
            nsn = d[code == c].str.slice(len(str(c)))
            parts.append(_accept(nsn, plan.prefix, plan))
    national = _national_plan(region)
    if national is not None and (~intl).any():
        cc, idd, prefix = national
        nsn = text[~intl]
        keep = ~nsn.str.startswith(str(cc)).to_numpy(dtype=bool)      # parse may read those as +<code>
        if idd is not None:
            keep &= ~nsn.str.match(f"(?:{idd})").to_numpy(dtype=bool, na_value=False)
        if keep.any():
            parts.append(_accept(nsn[keep], prefix, _code_plan(cc)))
    for p in parts:
        p = p.dropna()
        res[p.index.to_numpy()] = p.to_numpy(dtype=object)
    return pd.Series(res, index=compact.index, dtype="string")
