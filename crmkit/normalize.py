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
#: how an extension is stored after the E.164 number: ``+15108637227 ext. 152``
EXT_SEP = " ext. "
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
