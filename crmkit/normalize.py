"""Vectorised value normalisers: text, numbers, dates, yes/no, enumerations.

Each takes a pandas Series of strings (as the reader loads every cell) and
returns the converted Series plus a boolean mask of the values it could not
convert, so callers can report them with their row and column instead of
dropping them.  None of these functions raises on bad values.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

import numpy as np
import pandas as pd

from .schema import Enum, norm_token

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_BLANKS = {"", "nan", "none", "null", "n/a", "na", "-", "—", "/", "无"}


def nfkc(s: pd.Series) -> pd.Series:
    """NFKC-normalise (full-width -> half-width) and trim text; blanks become NA.

    Done in pyarrow, a handful of passes in C over the column: every
    converter starts here, and pandas' per-call overhead was most of the
    cost of typing a small column.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = arrow_strings(s)
    if arr.null_count < len(arr) and not pc.all(pc.string_is_ascii(arr)).as_py():
        arr = pc.utf8_normalize(arr, form="NFKC")
    arr = pc.utf8_trim_whitespace(arr)
    blank = pc.is_in(pc.utf8_lower(arr), value_set=_blank_values(arr.type))
    arr = pc.if_else(blank, pa.scalar(None, type=arr.type), arr)
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=s.index, name=s.name)


def arrow_strings(s: pd.Series):
    """``s`` as text in one pyarrow array (no copy when it is already pyarrow-backed text)."""
    import pyarrow as pa

    arr = pa.array(s.astype("string").array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


@functools.cache
def _blank_values(arrow_type):
    import pyarrow as pa

    return pa.array(sorted(_BLANKS), type=arrow_type)


def _by_value(s: pd.Series, convert, *, min_rows: int = 1000, max_share: float = 0.5):
    """``convert`` applied once per distinct value of ``s``, spread back to every row.

    Columns read from Excel repeat a few values over and over (enumerations,
    yes/no, dates, the customer ids of orders).  Every converter here works
    value by value, so converting the distinct values only gives the same
    result, much faster.  ``convert`` maps a Series to ``(values, bad mask)``
    (the mask may be None).  Returns None when ``s`` is short or has too many
    distinct values for this to pay off; the caller then converts ``s`` itself.
    """
    if len(s) < min_rows:
        return None
    # a look at the first rows first: ID columns and timestamps barely repeat, and hashing a whole
    # column only to find that out cost as much as converting it
    head = s.iloc[:min_rows]
    if head.nunique(dropna=True) > len(head) * max_share:
        return None
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) > len(s) * max_share:
        return None
    # one extra slot at the end holds the blank value (factorize's sentinel -1)
    u = pd.Series(uniques).reindex(range(len(uniques) + 1))
    codes = np.where(codes < 0, len(uniques), codes)
    out_u, bad_u = convert(u)
    out = out_u.take(codes)
    out.index, out.name = s.index, s.name
    if bad_u is None:
        return out, None
    bad = pd.Series(bad_u.to_numpy(dtype=bool, na_value=False)[codes], index=s.index)
    return out, bad


def is_blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype("string").str.strip().fillna("") == "")


def to_number(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers from text: thousands separators, currency signs, %, 万 (x10,000)."""
    plain = _plain_numbers(s)
    if plain is not None:
        return plain, pd.Series(False, index=s.index)
    fast = _by_value(s, to_number)
    if fast is not None:
        return fast
    text = nfkc(s)
    out = _float(pd.to_numeric(text, errors="coerce"))
    bad = out.isna() & text.notna()
    if bad.any():
        t = text[bad].str.replace(r"[,\s¥￥$€元]|RMB|CNY", "", regex=True)
        factor = pd.Series(1.0, index=t.index)
        pct = t.str.endswith("%", na=False)
        wan = t.str.endswith("万", na=False)
        t = t.str.rstrip("%万")
        factor[pct] = 0.01
        factor[wan] = 10000.0
        fixed = _float(pd.to_numeric(t, errors="coerce")) * factor
        out[bad] = fixed
        bad = out.isna() & text.notna()
    return out, bad


def _plain_numbers(s: pd.Series) -> pd.Series | None:
    """``s`` as float64 when every value is a plain number (``12``, ``-3.5``, ``1e3``), else None.

    Numbers a workbook holds as numbers read back in this form: one pyarrow
    cast converts them all, where the general path costs 30 times more.
    """
    import pyarrow as pa

    try:
        out = arrow_strings(s).cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pd.Series(out.to_numpy(zero_copy_only=False), index=s.index, name=s.name)


def _float(s: pd.Series) -> pd.Series:
    """Any numeric Series (nullable or not) as plain float64 with NaN for blanks."""
    return pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index)


_ZH_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?\s*(.*)$")
_YMD = re.compile(r"^\s*(\d{4})[./-](\d{1,2})[./-](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")
_DMY = re.compile(r"^\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


def to_datetime(s: pd.Series, *, dayfirst: bool = False) -> tuple[pd.Series, pd.Series]:
    """Dates from ISO text, Excel serial numbers and common typed forms.

    Accepted: ``2024-05-01``, ``2024-05-01 13:30:00``, ``2024/5/1``,
    ``2024.5.1``, ``2024年5月1日``, ``20240501``, Excel serial numbers
    (``45413``), and ``1/5/2024`` read as day-first or month-first by setting.
    """
    fast = _by_value(s, lambda u: to_datetime(u, dayfirst=dayfirst))
    if fast is not None:
        return fast
    text = nfkc(s)
    # utc=True: values with an offset (2024-08-01T02:50:46.854Z, exports of web CRMs) are read as UTC
    # wall time; values without one keep theirs (mixed offsets would otherwise fail the whole column)
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    out = _in_ns_range(parsed.dt.tz_localize(None))
    bad = out.isna() & text.notna()
    if not bad.any():
        return out.astype("datetime64[ns]"), bad
    out = out.astype("datetime64[ns]")
    rest = text[bad]
    num = pd.to_numeric(rest, errors="coerce")
    # Excel serial numbers (up to the year 2192, the limit of a timedelta64[ns] offset)
    serial = num.notna() & (num > 0) & (num < 106_750) & ~rest.str.fullmatch(r"\d{8}", na=False)
    if serial.any():
        out.loc[serial[serial].index] = (EXCEL_EPOCH + pd.to_timedelta(num[serial], unit="D")).dt.round("s")
    rest = rest[~serial]
    if len(rest):
        out.loc[rest.index] = rest.map(lambda v: _parse_one(v, dayfirst)).astype("datetime64[ns]")
    bad = out.isna() & text.notna()
    return out, bad


def _parse_one(v: str, dayfirst: bool):
    m = _ZH_DATE.match(v)
    if m:
        y, mo, d, tail = m.groups()
        hh = mm = ss = 0
        t = re.match(r"^(\d{1,2})[:：时点](\d{1,2})?(?:[:：分](\d{1,2}))?", tail.strip()) if tail else None
        if t:
            hh, mm, ss = int(t.group(1)), int(t.group(2) or 0), int(t.group(3) or 0)
        return _ts(int(y), int(mo), int(d), hh, mm, ss)
    m = _YMD.match(v)
    if m:
        y, mo, d, hh, mm, ss = m.groups()
        return _ts(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    m = _DMY.match(v)
    if m:
        a, b, y, hh, mm, ss = m.groups()
        d, mo = (int(a), int(b)) if dayfirst else (int(b), int(a))
        return _ts(int(y), mo, d, int(hh or 0), int(mm or 0), int(ss or 0))
    m = _COMPACT.match(v)
    if m:
        return _ts(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return pd.NaT


def _in_ns_range(out: pd.Series) -> pd.Series:
    """Dates a datetime64[ns] column can hold (years 1678-2261); others (e.g. '-1.5') become NaT, flagged bad."""
    if out.notna().any():
        years = out.dt.year
        out = out.mask((years < 1678) | (years > 2261))
    return out


def _ts(y, mo, d, hh=0, mm=0, ss=0):
    if not 1678 <= y <= 2261:
        return pd.NaT
    try:
        return pd.Timestamp(year=y, month=mo, day=d, hour=hh, minute=mm, second=ss)
    except (ValueError, OverflowError):
        return pd.NaT


def to_enum(s: pd.Series, enum: Enum) -> tuple[pd.Series, pd.Series]:
    """Canonical codes from codes, English or Chinese labels and synonyms.

    Values that match nothing are kept as typed (so nothing is lost) and
    flagged in the mask.
    """
    fast = _by_value(s, lambda u: to_enum(u, enum))
    if fast is not None:
        return fast
    text = nfkc(s)
    lookup = enum.lookup
    uniques = text.dropna().unique()
    mapping = {u: lookup.get(norm_token(u)) for u in uniques}
    codes = text.map(mapping).astype("object")   # all-unknown values would map to a null-typed array
    bad = codes.isna() & text.notna()
    out = codes.where(~bad, text).astype("string")
    return out, bad


def to_bool(s: pd.Series, enum: Enum) -> tuple[pd.Series, pd.Series]:
    """yes/no (either language, true/false, 1/0) -> pandas boolean."""
    codes, bad = to_enum(s, enum)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[codes == "yes"] = True
    out[codes == "no"] = False
    return out, bad


def to_multi(s: pd.Series) -> pd.Series:
    """``a; b ,c`` (ASCII or full-width separators) -> ``a;b;c``."""
    fast = _by_value(s, lambda u: (to_multi(u), None))
    if fast is not None:
        return fast[0]
    text = nfkc(s)
    return text.str.replace(r"\s*[;,，；、|]\s*", ";", regex=True).str.strip(";").replace("", pd.NA)


def to_id(s: pd.Series) -> pd.Series:
    """IDs are trimmed strings; a number read as ``12.0`` becomes ``12``."""
    fast = _by_value(s, lambda u: (to_id(u), None))
    if fast is not None:
        return fast[0]
    text = nfkc(s)
    floats = text.str.endswith(".0", na=False)
    if floats.any():
        text = text.copy()
        text[floats] = text[floats].str.replace(r"^(\d+)\.0$", r"\1", regex=True)
    return text


def split_tags(s: pd.Series) -> pd.Series:
    """A Series of lists of tags."""
    return s.fillna("").astype(str).map(lambda v: [t for t in v.split(";") if t])


_MASK_EXT = r"(?i)[ ]*(?:ext[.=]?|extension|extn|x|#|转|分机号?)[ ]*([0-9]{1,6})$"
_MASK_PHONE = r"[+]?[0-9 ()./·\-]+"
_DIGIT_RUN = re.compile(r"[+＋]?[0-9０-９](?:[0-9０-９ ()./·\-]*[0-9０-９])?")


def mask_contact(values: pd.Series) -> pd.Series:
    """Mask phone numbers and e-mails for display: ``138****5678``, ``+165****0000 ext. 12``, ``ab***@x.com``.

    The one masking function of crmkit (exports, dashboards, forms, dedupe
    reports).  A phone is masked by its digits, however it was typed
    (``186 1234 5678``, ``0755-8888 6666``, ``+86-137-0013-7000``, full-width
    digits): a Chinese ``+86``/``0086`` is dropped, then the last four digits
    and (for long numbers) the first three stay and the middle becomes
    ``****``; at least four digits are always hidden.  An extension is kept
    after the masked number.  Any other text has each run of seven or more
    digits masked the same way (``call 13812345678`` -> ``call 138****5678``).
    """
    s = values.astype("string")
    out = s.copy()
    mail = s.str.contains("@", regex=False, na=False)
    if mail.any():
        out[mail] = s[mail].str.replace(r"^(.{1,2})[^@]*(@.*)$", r"\1***\2", regex=True)
    # the common case first: numbers as crmkit stores them (E.164) or typed as bare digits
    plain = s.str.fullmatch("[+]?[0-9]{7,17}").to_numpy(dtype=bool, na_value=False)
    if plain.any():
        d = s[plain]
        for prefix in ("+86", "0086"):
            cn = d.str.startswith(prefix).to_numpy(dtype=bool, na_value=False)
            if cn.any():
                d = d.copy()
                d[cn] = d[cn].str.slice(len(prefix))
        out.iloc[np.flatnonzero(plain)] = _mask_digits(d, d.str.len() - d.str.startswith("+").astype(int)).to_numpy()
    rest = (~mail.to_numpy(dtype=bool) & ~plain & s.notna().to_numpy(dtype=bool))
    if not rest.any():
        return out
    text = nfkc(s[rest]).fillna("")
    main = text.str.replace(_MASK_EXT, "", regex=True)
    ext = pd.Series(pd.NA, index=text.index, dtype="string")
    cut = (main.str.len() != text.str.len()).to_numpy(dtype=bool)      # an extension was cut off
    if cut.any():
        ext[cut] = text[cut].str.extract(_MASK_EXT, expand=False).astype("string")
    digits = main.str.replace("[^0-9+]", "", regex=True).str.replace("^(?:[+]|00)86", "", regex=True)
    n = digits.str.replace("+", "", regex=False).str.len()
    phone = (main.str.fullmatch(_MASK_PHONE) & (n >= 7)).to_numpy(dtype=bool, na_value=False)
    masked = pd.Series(pd.NA, index=text.index, dtype="string")
    if phone.any():
        masked[phone] = _mask_digits(digits[phone], n[phone])
        has_ext = phone & ext.notna().to_numpy(dtype=bool)
        masked[has_ext] = masked[has_ext] + EXT_SEP + ext[has_ext]
    # other text: mask each long run of digits inside it (rare; value by value)
    other = ~phone
    if other.any():
        other[other] = text[other].str.replace("[^0-9]", "", regex=True).str.len().ge(7).to_numpy(
            dtype=bool, na_value=False)
    if other.any():
        orig = s[rest][other]
        mapping = {v: _DIGIT_RUN.sub(_mask_run, v) for v in orig.unique()}
        masked[other] = orig.map(mapping).astype("string").to_numpy()
    done = masked.notna().to_numpy(dtype=bool)
    pos = np.flatnonzero(rest)[done]
    out.iloc[pos] = masked[done].to_numpy()
    return out


def _mask_digits(digits: pd.Series, n: pd.Series) -> pd.Series:
    """``+?ddd****dddd``: the last 4 digits, up to 3 first ones (never more than n - 8), a leading + kept."""
    plus = digits.str.startswith("+").map({True: "+", False: ""}).astype("string")
    d = digits.str.replace("+", "", regex=False)
    out = pd.Series(pd.NA, index=digits.index, dtype="string")
    n = pd.Series(np.asarray(n, dtype="int64"), index=digits.index)
    for length in n.unique().tolist():
        sel = (n == length).to_numpy(dtype=bool)
        head = max(0, min(3, int(length) - 8))
        out[sel] = plus[sel] + d[sel].str.slice(0, head) + "****" + d[sel].str.slice(-4)
    return out


def _mask_run(m: re.Match) -> str:
    run = m.group(0)
    if len(re.sub(r"\D", "", unicodedata.normalize("NFKC", run))) < 7:
        return run
    d = pd.Series([unicodedata.normalize("NFKC", run)], dtype="string").str.replace("[^0-9+]", "", regex=True)
    d = d.str.replace("^(?:[+]|00)86", "", regex=True)
    return str(_mask_digits(d, d.str.replace("+", "", regex=False).str.len()).iloc[0])


def none_if_nan(v):
    """A scalar for writing: NaN/NaT/NA -> None."""
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(v, np.generic):
        return v.item()
    return v


# --------------------------------------------------------------------------- phone and e-mail

# plain pattern strings (not compiled, no \s or \d) keep pandas on its fast pyarrow (RE2) path
_PHONE_JUNK = r"[ \t\r\n\-().·/]"
_PHONE_EXT = r"(?i)(?:转|分机号?|extension|extn|ext=?|x|#|,)[0-9]{1,6}$"
_PHONE_EXT_DIGITS = r"(?i)(?:转|分机号?|extension|extn|ext=?|x|#|,)([0-9]{1,6})$"
#: how an extension is stored after the E.164 number: ``+15108637227 ext. 152``
EXT_SEP = " ext. "
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


_SIMPLE_EMAIL = re.compile(
    r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}")


def to_email(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """E-mail addresses checked for syntax only (offline), domain in lower case.

    Common ASCII addresses take a regex fast path; the rest are checked once
    per distinct value by ``email-validator`` (``check_deliverability=False``).
    A full-width ``＠`` is accepted (NFKC).  Bad values are kept as typed and flagged.
    """
    text = nfkc(s)
    text = text.str.replace(r"(?i)^mailto:", "", regex=True)
    simple = text.str.fullmatch(_SIMPLE_EMAIL.pattern, na=False)
    out = text.where(simple)
    if simple.any():
        upper = simple & text.str.contains(r"@.*[A-Z]", regex=True, na=False)
        if upper.any():
            parts = text[upper].str.rpartition("@")
            out[upper] = parts[0] + "@" + parts[2].str.lower()
    todo = (~simple & text.notna()).to_numpy(dtype=bool)
    if todo.any():
        rest = text[todo]
        mapping = {v: _check_email(v) for v in rest.unique()}
        out[todo] = rest.map(mapping).astype("string").to_numpy()
    bad = out.isna() & text.notna()
    return out.where(~bad, text), bad


def _check_email(v: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(v, check_deliverability=False).normalized
    except (EmailNotValidError, UnicodeError, ValueError):
        return None


def email_key(s: pd.Series) -> pd.Series:
    """A matching key for e-mail addresses: lower case, blanks NA."""
    return s.astype("string").str.strip().str.lower().replace("", pd.NA)
