"""Typing a sheet read as text: each column converted to its field's type by the schema.

:func:`convert` turns a text frame (every cell as text, index = Excel row
number) into a frame keyed by canonical field keys, each column in its
field's dtype (:mod:`crmkit.normalize` does the parsing).  Values that do not
convert are listed as :class:`Problem` in ``df.attrs["problems"]``; unknown
columns are kept under their own header.  :func:`coerce_frame` and
:func:`empty_frame` give frames built by code the same shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from .. import normalize as nz
from ..logsheets import to_codes
from ..schema import DATE_TYPES, Entity, Enum, Field, match_header, norm_token


@dataclass
class Problem:
    """A value that could not be converted to its field's type."""

    file: str
    sheet: str
    row: int
    column: str
    value: object
    reason: str


def map_columns(columns: Iterable[object], ent: Entity) -> dict[object, str]:
    """Source column -> canonical key for the columns that match a field (first match wins)."""
    out: dict[object, str] = {}
    taken: set[str] = set()
    for c in columns:
        key = match_header(ent, c)
        if key and key not in taken:
            out[c] = key
            taken.add(key)
    return out


def convert(raw: pd.DataFrame, ent: Entity, *, file: str = "", sheet: str = "",
            dayfirst: bool = False, fields: Mapping[str, Field] | None = None) -> pd.DataFrame:
    """Convert a text frame to canonical keys and schema types; record problems."""
    mapping = map_columns(raw.columns, ent)
    problems: list[Problem] = []
    data: dict[str, pd.Series] = {}
    fields = fields or {f.key: f for f in ent.fields}
    for src, key in mapping.items():
        f = fields.get(key) or ent.field(key)
        series, bad = convert_column(raw[src], f, dayfirst=dayfirst)
        data[key] = series
        if bad.any():
            for row, val in raw[src][bad].items():
                problems.append(Problem(file, sheet, int(row), str(src), val, _reason(f)))
    for f in fields.values():
        if f.key not in data:
            data[f.key] = blank_column(f, raw.index)
    extra = [c for c in raw.columns if c not in mapping]
    for c in extra:
        name = str(c)
        if name.startswith("__UNNAMED__"):
            if raw[c].isna().all():
                continue
        data[name] = raw[c]
    df = pd.DataFrame(data, index=raw.index)
    ordered = [f.key for f in fields.values()] + [str(c) for c in extra if str(c) in df.columns]
    df = to_codes(ent.key, df[ordered])
    df.attrs["problems"] = problems
    df.attrs["extra_columns"] = [str(c) for c in extra if str(c) in df.columns]
    df.attrs["sheet"] = sheet
    df.attrs["file"] = file
    # every schema column holds its normal form (IDs and text trimmed, blanks as NA, codes):
    # validation checks such a frame without converting it again
    df.attrs[NORMAL_FORM] = True
    return df


#: ``attrs`` key set on a frame as :func:`convert` typed it (dropped when the frame is replaced)
NORMAL_FORM = "normal_form"


def _reason(f: Field) -> str:
    if f.enum is not None:
        return f"not one of the allowed values ({', '.join(f.enum.codes)})"
    if f.type in DATE_TYPES:
        return "not a date"
    if f.type == "multi":
        return "no option given, only separators"
    return f"not a {f.type}"


def _dtype(f: Field) -> str:
    return f.dtype


def blank_column(f: Field, index) -> pd.Series:
    """An all-blank column of ``f``'s dtype."""
    if f.dtype == "object":
        return pd.Series([None] * len(index), index=index, dtype=object)
    return pd.Series(index=index, dtype=f.dtype)  # all NA, without a Python list of len(index)


def convert_column(s: pd.Series, f: Field, *, dayfirst: bool = False) -> tuple[pd.Series, pd.Series]:
    """One column to its field's type: (values, mask of values that did not convert)."""
    none = pd.Series(False, index=s.index)
    if f.type in DATE_TYPES:
        out, bad = nz.to_datetime(s, dayfirst=dayfirst)
        if f.type == "date":
            out = out.dt.normalize()
        return out, bad
    if f.type in ("int", "rating"):
        num, bad = nz.to_number(s)
        frac = num.notna() & ((num != num.round()) | (num.abs() > 2**53))   # fractions, inf, beyond int64
        if f.type == "rating":
            frac |= num.notna() & ((num < 1) | (num > 5))
        num = num.mask(frac)
        return num.round().astype("Int64"), bad | frac
    if f.type in ("number", "money"):
        return nz.to_number(s)
    if f.type == "bool":
        return nz.to_bool(s, f.enum)
    if f.type == "enum":
        return nz.to_enum(s, f.enum)
    if f.type == "multi":
        if f.enum is not None:       # a multiple choice custom field: options to codes
            out, bad = to_multi_codes(s, f.enum)
        else:
            out, bad = nz.to_multi(s), none
        # separators only (";") hold no option: flagged, not blanked in silence
        lost = out.isna() & s.notna()
        if lost.any():
            bad = bad | (lost & nz.nfkc(s).notna())
        return out, bad
    if f.type == "id":
        return nz.to_id(s), none
    if f.type in ("phone", "email"):
        return nz.nfkc(s), none
    # free text is the user's own: trim only, keep full-width punctuation as typed
    s = s.astype("string").str.strip()
    return s.mask(s == ""), none


def to_multi_codes(s: pd.Series, enum: Enum) -> tuple[pd.Series, pd.Series]:
    """``技术支持; price sensitive`` -> ``technical_support;price_sensitive`` for a multiple choice field.

    Each option may be typed as its code or a label in either language;
    options that match nothing are kept as typed and the value is flagged.
    """
    text = nz.to_multi(s)
    parts = text.dropna().str.split(";").explode()
    parts = parts[parts.notna() & (parts != "")]
    lookup = enum.lookup
    mapping = {u: lookup.get(norm_token(u)) for u in parts.unique()}
    codes = parts.map(mapping)
    bad_part = codes.isna()
    joined = codes.where(~bad_part, parts).groupby(level=0).agg(";".join)
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    out.loc[joined.index] = joined.astype("string")
    bad = pd.Series(False, index=s.index)
    if bad_part.any():
        bad.loc[bad_part[bad_part].index.unique()] = True
    return out, bad


def empty_frame(ent: Entity, fields: Iterable[Field] | None = None) -> pd.DataFrame:
    """An empty DataFrame with every field of ``ent`` in its dtype."""
    fs = list(fields) if fields is not None else list(ent.fields)
    df = pd.DataFrame({f.key: pd.Series(dtype=_dtype(f)) for f in fs})
    df.index.name = "_row"
    df.attrs["problems"] = []
    df.attrs["extra_columns"] = []
    return df


def coerce_frame(df: pd.DataFrame, ent: Entity) -> pd.DataFrame:
    """Give an in-memory frame (e.g. built by code) every schema column in its dtype."""
    out = df.copy()
    for f in ent.fields:
        if f.key not in out.columns:
            out[f.key] = blank_column(f, out.index)
        else:
            want = _dtype(f)
            if str(out[f.key].dtype) != want:
                try:
                    if want.startswith("datetime"):
                        out[f.key] = pd.to_datetime(out[f.key], errors="coerce").astype("datetime64[ns]")
                    elif want == "string":
                        out[f.key] = out[f.key].astype("string")
                    else:
                        out[f.key] = out[f.key].astype(want)
                except (TypeError, ValueError):
                    pass
    cols = [f.key for f in ent.fields] + [c for c in out.columns if not ent.has(c)]
    return out[cols]

