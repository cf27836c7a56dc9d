"""Small helpers the analytics modules share: safe rates and typed columns of possibly empty frames."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..schema import ENTITIES


def ratio(num, den):
    """num / den with NaN where den is 0 (works on scalars and arrays)."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return out if out.ndim else float(out)


def col_of(df: pd.DataFrame, key: str, entity: str) -> pd.Series:
    """Column ``key`` of ``df``, or an all-blank column of the schema type."""
    if key in df.columns:
        return df[key]
    return pd.Series([None] * len(df), index=df.index, dtype=ENTITIES[entity].field(key).dtype)


def ordered(index: pd.Index, codes: Iterable[str]) -> list:
    """Labels of ``index`` in enumeration order, then unknown ones sorted, then NA (blank) last."""
    labels = [x for x in index if not pd.isna(x)]
    codes = list(codes)
    known = [c for c in codes if c in labels]
    others = sorted(str(x) for x in labels if x not in codes)
    blank = [x for x in index if pd.isna(x)][:1]
    return known + others + blank


def dt_column(df: pd.DataFrame, key: str, entity: str) -> pd.Series:
    return pd.to_datetime(col_of(df, key, entity), errors="coerce")
