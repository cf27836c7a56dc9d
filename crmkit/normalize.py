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

import numpy as np
import pandas as pd

from .schema import Enum, norm_token

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_BLANKS = {"", "nan", "none", "null", "n/a", "na", "-", "—", "/", "无"}


def nfkc(s: pd.Series) -> pd.Series:
    """NFKC-normalise (full-width -> half-width) and trim text; blanks become NA."""
    s = s.astype("string")
    # NFKC only where needed: non-ASCII values are the minority in most columns
    mask = (~s.str.isascii()).fillna(False).astype(bool)
    if mask.any():
        s = s.copy()
        s[mask] = s[mask].map(lambda v: unicodedata.normalize("NFKC", v))
    s = s.str.strip()
    return s.mask(s.str.lower().isin(_BLANKS))


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
    out = _in_ns_range(pd.to_datetime(text, format="ISO8601", errors="coerce"))
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


def mask_contact(values: pd.Series) -> pd.Series:
    """Mask phone numbers and e-mails for display: 138****5678, ab***@x.com."""
    s = values.astype("string")
    digits = s.str.replace(r"^\+86", "", regex=True)
    phone = digits.str.fullmatch(r"\+?\d{7,15}", na=False)
    out = s.copy()
    out[phone] = digits[phone].str.replace(r"^(\+?\d{3})\d+(\d{4})$", r"\1****\2", regex=True)
    mail = s.str.contains("@", na=False)
    out[mail] = s[mail].str.replace(r"^(.{1,2})[^@]*(@.*)$", r"\1***\2", regex=True)
    return out


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
_PHONE_EXT = r"(?i)(?:转|分机|ext\.?|x|#)[0-9]{1,6}$"
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_CN_MOBILE_INTL = re.compile(r"(?:\+|00)?86(1[3-9][0-9]{9})")


def to_phone(s: pd.Series, region: str | None = "CN") -> tuple[pd.Series, pd.Series]:
    """Phone numbers in E.164 (``+8613800138000``); bad values are kept as typed and flagged.

    Full-width digits, spaces, hyphens and brackets are accepted; an extension
    (``转 123``, ``ext 123``) is dropped.  Plain Chinese mobiles and ``+86``
    mobiles take a regex fast path; other values are parsed once per distinct
    value with ``phonenumbers`` (default ``region`` for numbers without +code).
    """
    text = nfkc(s)
    region = (str(region).strip().upper() if region else "CN") or "CN"
    compact = text.str.replace(_PHONE_JUNK, "", regex=True).str.replace(_PHONE_EXT, "", regex=True)
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    if region == "CN":
        mob = compact.str.fullmatch(_CN_MOBILE.pattern, na=False)
        out[mob] = "+86" + compact[mob]
        intl = ~mob & compact.str.fullmatch(_CN_MOBILE_INTL.pattern, na=False)
        if intl.any():
            out[intl] = "+86" + compact[intl].str.extract(_CN_MOBILE_INTL, expand=False)
        done = mob | intl
    else:
        done = pd.Series(False, index=s.index)
    rest = compact[~done & compact.notna()]
    if len(rest):
        mapping = {v: _parse_phone(v, region) for v in rest.unique()}
        out[rest.index] = rest.map(mapping).astype("string")
    bad = out.isna() & text.notna()
    return out.where(~bad, text), bad


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
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    if simple.any():
        out[simple] = text[simple]
        upper = simple & text.str.contains(r"@.*[A-Z]", regex=True, na=False)
        if upper.any():
            parts = text[upper].str.rpartition("@")
            out[upper] = parts[0] + "@" + parts[2].str.lower()
    rest = text[~simple & text.notna()]
    if len(rest):
        mapping = {v: _check_email(v) for v in rest.unique()}
        out[rest.index] = rest.map(mapping).astype("string")
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
