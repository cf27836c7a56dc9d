"""The log sheets (RuleLog, History in log.xlsx) in the workspace's language.

crmkit works with codes (``queue_message``, ``customers``, ``stage``,
``lead``); a person reading log.xlsx sees labels in the workspace language
(发送消息, 客户, 阶段, 线索).  :func:`to_labels` turns the code columns into
labels when a log sheet is written; :func:`to_codes` turns them back when it
is read, accepting codes, English and Chinese labels alike (so logs written
before labels, or in the other language, read the same).  Values that are
neither stay as they are.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .schema import ACTION, ENTITIES, Enum, entity, norm_token

LOG_ENTITIES = ("rule_log", "history")


def _entity_code(v: str) -> str:
    try:
        return entity(v).key
    except KeyError:
        return v


def _map(col: pd.Series, fn) -> pd.Series:
    """Apply ``fn`` to each distinct non-blank text value of ``col`` (few distinct values: vectorised by map)."""
    codes, distinct = col.factorize()
    if len(distinct) == 0:
        return col
    table = pd.array([fn(str(v)) for v in distinct] + [None], dtype="string")   # code -1 (blank) -> None
    return pd.Series(table.take(np.where(codes < 0, len(distinct), codes)), index=col.index)


def _enum_of(ent_code: str, field_code: str) -> Enum | None:
    ent = ENTITIES.get(ent_code)
    if ent is None or not ent.has(field_code):
        return None
    f = ent.field(field_code)
    return f.enum if f.type == "enum" else None


def _by_pairs(df: pd.DataFrame, column: str, fn) -> pd.Series:
    """``fn(entity, field, value)`` for each distinct (entity, field, value) of the History frame,
    spread over the rows by their factorised codes (the distinct triples are few)."""
    parts = [df[c].factorize() for c in ("entity", "field", column)]
    (ce, ue), (cf, uf), (cv, uv) = parts
    nf, nv = len(uf) + 1, len(uv) + 1
    key = (ce.astype(np.int64) + 1) * nf * nv + (cf + 1) * nv + (cv + 1)
    distinct, inverse = np.unique(key, return_inverse=True)

    def one(k: int):
        e, rest = divmod(int(k), nf * nv)
        f, v = divmod(rest, nv)
        if v == 0:
            return None
        return fn("" if e == 0 else str(ue[e - 1]), "" if f == 0 else str(uf[f - 1]), str(uv[v - 1]))

    table = pd.array([one(k) for k in distinct], dtype="string")
    return pd.Series(table.take(inverse.ravel()), index=df.index)


def to_labels(key: str, df: pd.DataFrame | None, lang: str) -> pd.DataFrame | None:
    """A copy of log sheet ``key`` with action, entity, field (and enumeration values) as labels in ``lang``."""
    if df is None or key not in LOG_ENTITIES or df.empty:
        return df
    out = df.copy()
    if "entity" in out.columns:
        ents = out["entity"]
    if key == "rule_log" and "action" in out.columns:
        out["action"] = _map(out["action"], lambda v: ACTION.label(v, lang))
    if key == "history" and {"entity", "field"} <= set(out.columns):
        def enum_label(e, f, v):
            en = _enum_of(_entity_code(e), f)
            return en.label(v, lang) if en is not None else v

        for column in ("old", "new"):
            if column in out.columns:
                out[column] = _by_pairs(out, column, enum_label)

        def field_label(e, f, _v):
            ent = ENTITIES.get(_entity_code(e))
            return ent.field(f).header(lang) if ent is not None and ent.has(f) else f

        keys = pd.DataFrame({"entity": out["entity"], "field": out["field"], "v": out["field"]})
        out["field"] = _by_pairs(keys, "v", field_label)
    if "entity" in out.columns:
        out["entity"] = _map(ents, lambda v: ENTITIES[v].sheet_name(lang) if v in ENTITIES else v)
    return out


def to_codes(key: str, df: pd.DataFrame) -> pd.DataFrame:
    """Log sheet ``key`` as read (codes or labels in either language) with codes, in place; returns it."""
    if key not in LOG_ENTITIES or df.empty:
        return df
    if "entity" in df.columns:
        df["entity"] = _map(df["entity"], _entity_code)
    if key == "rule_log" and "action" in df.columns:
        look = ACTION.lookup
        df["action"] = _map(df["action"], lambda v: look.get(norm_token(v), v))
    if key == "history" and {"entity", "field"} <= set(df.columns):
        def field_code(e, f, _v):
            ent = ENTITIES.get(e)
            return ent.header_lookup.get(norm_token(f), f) if ent is not None else f

        keys = pd.DataFrame({"entity": df["entity"], "field": df["field"], "v": df["field"]})
        df["field"] = _by_pairs(keys, "v", field_code)

        def enum_code(e, f, v):
            en = _enum_of(e, f)
            return en.lookup.get(norm_token(v), v) if en is not None else v

        for column in ("old", "new"):
            if column in df.columns:
                df[column] = _by_pairs(df, column, enum_code)
    return df


def frames_with_labels(frames: Mapping[str, pd.DataFrame | None], lang: str) -> dict[str, pd.DataFrame | None]:
    """``frames`` with its log sheets (if any) turned to labels for writing."""
    if not any(k in LOG_ENTITIES for k in frames):
        return dict(frames)
    return {k: to_labels(k, df, lang) for k, df in frames.items()}
