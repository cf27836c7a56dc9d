"""What crmkit writes into a cell: values as Excel shows them, header texts and colours.

Shared by the sheet writer (:mod:`crmkit.io.writer`), the bulk writer
(:mod:`crmkit.io.bulk`) and the in-place update (:mod:`crmkit.io.preserve`),
so the three write the same cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import normalize as nz
from ..i18n import t
from ..schema import Field

#: fill of the header row; derived (read-only) columns get the grey one
HEADER_COLOR = "#1F4E78"
DERIVED_COLOR = "#7F7F7F"
#: ends the header of a required field
REQUIRED_MARK = " *"


def header_text(f: Field, lang: str) -> str:
    """The header of ``f``'s column in ``lang``, marked `` *`` when the field is required."""
    return f.header(lang) + (REQUIRED_MARK if f.required else "")


def excel_value(v, f: Field | None, lang: str):
    """``v`` as crmkit writes it into ``f``'s cell: labels for codes, yes/no, datetimes; None for a blank."""
    v = nz.none_if_nan(v)
    if v is None:
        return None
    if f is None:
        return v
    if f.type == "bool":
        return t("yes" if v else "no", lang) if isinstance(v, bool) else str(v)
    if f.type == "enum" and f.enum is not None:
        return f.enum.label(str(v), lang)
    if f.type == "multi" and f.enum is not None:
        return ";".join(f.enum.label(x, lang) for x in str(v).split(";"))
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    return v


def excel_values(col: pd.Series, f: Field | None, lang: str) -> list:
    """:func:`excel_value` of every value of ``col``, worked out once per distinct value.

    Columns repeat a few values (enumerations, yes/no, owners, dates), so a
    long column is factorised and only its distinct values are converted.
    Object columns (possibly mixed types, where 1 == 1.0 == True would merge)
    take the value-by-value path.
    """
    n = len(col)
    if n >= 1000 and col.dtype != object:
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        if len(uniques) <= n // 2:
            lookup = np.empty(len(uniques) + 1, dtype=object)
            lookup[:-1] = [excel_value(v, f, lang) for v in uniques.tolist()]
            lookup[-1] = None  # factorize's -1: blank
            return lookup[codes].tolist()
    return [excel_value(v, f, lang) for v in col.tolist()]

