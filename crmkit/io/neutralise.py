"""Defusing formula injection in CSV exports.

Text that a spreadsheet would run as a formula when a CSV export is opened
(``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``) gets a ``'`` in front:
:func:`neutralise_csv_cell` for one column, :func:`neutralise_csv` for a
frame and its header.  In .xlsx crmkit writes such values as text cells,
which is safe, so this is for CSV only.
"""

from __future__ import annotations

import re

import pandas as pd

#: Characters that make a spreadsheet treat a typed cell as a formula
#: (=, +, -, @; tab and carriage return start a formula in some programs too).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")
#: a phone number as crmkit writes it, masked or not: +8613700137000, +86 137 0013 7000, +120****0123,
#: +15108637227 ext. 152.  Only digits, spaces and stars after the +: no name, call or reference can start.
_PHONE_CELL = re.compile(r"^\+[0-9][0-9 *]*(?: ext\. [0-9]{1,6})?$")


def looks_like_formula(value: object) -> bool:
    """True for text a spreadsheet would run as a formula.

    ``= + - @`` (or a tab / carriage return) first, except a plain number
    (``-5``, ``+8613800000000``, ``1e3``) or a phone number as crmkit
    writes it (``+86 137 0013 7000``, ``+120****0123``, ``+15108637227 ext. 152``).
    ``=1+1``, ``+cmd|' /C calc'!A0``, ``-2+3``, ``@SUM(A1)`` and ``\t=1`` are formulas.
    """
    if not isinstance(value, str) or not value:
        return False
    if not value.startswith(FORMULA_START):
        return False
    return not (_PLAIN_NUMBER.match(value.strip()) or _PHONE_CELL.match(value))


def neutralise_text(value: object) -> object:
    """``value`` with a ``'`` in front when it :func:`looks_like_formula` (anything else as it is)."""
    return "'" + value if looks_like_formula(value) else value


def neutralise_csv_cell(series: pd.Series) -> pd.Series:
    """Defuse formula injection in one column of a CSV export.

    Text that :func:`looks_like_formula` gets a single quote ``'`` in front,
    so Excel, LibreOffice and Google Sheets show it as text instead of
    running it (``=HYPERLINK(...)`` becomes ``'=HYPERLINK(...)``).  Plain
    numbers (``-5``, ``+8613800000000``) and phone numbers (``+86 138 0013
    8000``, masked ``+120****0123``) are left as they are, so no visible
    ``'`` appears where no formula could start; non-text values are
    untouched.  Use it only for CSV: in .xlsx crmkit writes such values as
    text cells, which is safe.  Returns a new Series (object dtype kept as
    is; string dtype stays string).
    """
    if series.empty:
        return series.copy()
    if not (pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)):
        return series.copy()
    text = series.astype("string")
    starts = text.str.slice(0, 1).isin(list(FORMULA_START)).fillna(False).astype(bool)
    isstr = series.map(lambda v: isinstance(v, str)).astype(bool) if series.dtype == object else starts
    mask = starts & isstr
    if mask.any():
        safe = (text[mask].str.strip().str.fullmatch(_PLAIN_NUMBER.pattern[1:-1]).fillna(False).astype(bool)
                | text[mask].str.fullmatch(_PHONE_CELL.pattern[1:-1]).fillna(False).astype(bool))
        mask.loc[safe[safe].index] = False
    if not mask.any():
        return series.copy()
    out = series.copy()
    out.loc[mask] = "'" + text[mask]
    return out


def neutralise_csv(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`neutralise_csv_cell` applied to every text column of ``df``, and to the header cells (a copy)."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
            out[c] = neutralise_csv_cell(col)
    out.columns = [neutralise_text(c) for c in out.columns]
    return out
