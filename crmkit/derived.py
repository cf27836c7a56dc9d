"""Derived customer fields, computed (never typed) before rules and segments run.

:func:`add_derived` returns the customers frame with these columns added
(or refreshed), as of a given time; records dated after ``as_of`` are ignored:

* ``last_interaction_at``: the latest Interactions ``at``;
* ``days_since_interaction``: calendar days since then, or since the
  customer was created when there has been no interaction yet (so a
  never-contacted customer is as "quiet" as its age);
* ``last_feedback``: the customer_feedback of the latest interaction that
  has one;
* ``last_order_at``, ``orders_30d``, ``amount_30d``: from Orders (or the
  order source of Settings, summed per customer by DuckDB); "30d" means
  orders placed at most 30 calendar days before ``as_of``'s day
  (``days_since(order_date) <= 30``);
* ``last_activity_at``: the later of ``last_interaction_at`` and
  ``last_order_at`` (activity is any interaction or order: a customer who
  ordered 3 days ago is not "quiet", even without a logged call);
* ``days_since_activity``: calendar days since ``last_activity_at``, or since
  the customer was created when there has been no activity yet.  The default
  rules about dormancy and follow-up cadence (R02, R12) use this one;
* ``completeness``: the share of the profile fields that are filled (the
  entity's ``completeness_fields`` in the schema);
* RFM fields (``recency_days`` ... ``value_tier``) from :mod:`crmkit.rfm`
  (skipped with ``rfm=False`` or without orders: then as found in the sheet).

Completeness is computed here and nowhere else: :func:`filled` says which
values are there and :func:`completeness_scores` gives the share per record
and per field that validation, the dashboards and the rules all use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .orderstore import is_relation
from .rfm import rfm_scores
from .schema import ENTITIES

RFM_COLUMNS = ("recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_segment",
               "value_tier")


def add_derived(ws, as_of=None, *, customers: pd.DataFrame | None = None,
                interactions: pd.DataFrame | None = None, orders: pd.DataFrame | None = None,
                rfm: bool = True) -> pd.DataFrame:
    """The customers frame of ``ws`` plus derived fields as of ``as_of`` (a copy).

    ``ws`` may be None when the frames are given directly.
    """
    as_of = pd.Timestamp(ws.as_of(as_of) if ws is not None else (as_of or pd.Timestamp.now()))
    cust = (customers if customers is not None else ws["customers"]).copy()
    inter = interactions if interactions is not None else (ws["interactions"] if ws is not None else None)
    if orders is None and ws is not None:    # the Orders sheet, or a relation over the order source
        from .orderstore import orders_of

        ords = orders_of(ws)
    else:
        ords = orders
    ids = cust["customer_id"]
    today = as_of.normalize()
    index, first = unique_ids(ids)
    n = len(cust)

    # interactions
    last_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    last_fb = pd.Series(pd.NA, index=cust.index, dtype="string")
    if inter is not None and len(inter):
        it = inter[(inter["at"].notna() & (inter["at"] <= as_of) & inter["customer_id"].notna()).to_numpy()]
        if len(it):
            pos = _rows_of(index, first, it["customer_id"])
            ok = pos >= 0
            at = it["at"].to_numpy(dtype="datetime64[ns]")
            g = pd.Series(at[ok]).groupby(pos[ok]).max()
            last_at[g.index.to_numpy()] = g.to_numpy(dtype="datetime64[ns]")
            if "customer_feedback" in it:
                fbok = ok & it["customer_feedback"].notna().to_numpy()
                if fbok.any():
                    fb = pd.DataFrame({"pos": pos[fbok], "at": at[fbok],
                                       "fb": it["customer_feedback"].to_numpy()[fbok]})
                    fb = fb.sort_values("at", kind="stable").drop_duplicates("pos", keep="last")
                    vals = np.full(n, None, dtype=object)
                    vals[fb["pos"].to_numpy()] = fb["fb"].to_numpy()
                    last_fb = pd.Series(vals, index=cust.index, dtype="string")
    last_at = pd.Series(last_at, index=cust.index)
    cust["last_interaction_at"] = last_at
    since = last_at.fillna(cust["created_at"]) if "created_at" in cust else last_at
    cust["days_since_interaction"] = (today - since.dt.normalize()).dt.days.astype("Int64")
    cust["last_feedback"] = last_fb

    # orders
    last_order = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    n30 = np.zeros(n, dtype=np.int64)
    a30 = np.zeros(n, dtype="float64")
    if is_relation(ords):       # an order source outside the workbook: DuckDB sums per customer
        facts = _order_facts(ords, as_of, today)
        pos = _rows_of(index, first, facts["customer_id"])
        ok = pos >= 0
        last_order[pos[ok]] = facts["last_order_at"].to_numpy(dtype="datetime64[ns]")[ok]
        n30[pos[ok]] = facts["orders_30d"].to_numpy(dtype="int64")[ok]
        a30[pos[ok]] = facts["amount_30d"].to_numpy(dtype="float64")[ok]
    elif ords is not None and len(ords):
        od = ords[(ords["order_date"].notna() & (ords["order_date"] <= as_of) & ords["customer_id"].notna()).to_numpy()]
        if len(od):
            pos = _rows_of(index, first, od["customer_id"])
            ok = pos >= 0
            d = od["order_date"].to_numpy(dtype="datetime64[ns]")
            g = pd.Series(d[ok]).groupby(pos[ok]).max()
            last_order[g.index.to_numpy()] = g.to_numpy(dtype="datetime64[ns]")
            recent = ok & (d >= np.datetime64(today - pd.Timedelta(days=30), "ns"))   # days_since <= 30
            n30 = np.bincount(pos[recent], minlength=n)[:n]
            amt = pd.to_numeric(od["amount"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            a30 = np.bincount(pos[recent], weights=np.nan_to_num(amt[recent]), minlength=n)[:n]
    cust["last_order_at"] = pd.Series(last_order, index=cust.index)
    cust["orders_30d"] = pd.Series(n30, index=cust.index).astype("Int64")
    cust["amount_30d"] = pd.Series(a30, index=cust.index, dtype="float64")

    # activity: any interaction or order
    activity = pd.Series(np.fmax(last_at.to_numpy(dtype="datetime64[ns]"), last_order.astype("datetime64[ns]")),
                         index=cust.index)
    cust["last_activity_at"] = activity
    since = activity.fillna(cust["created_at"]) if "created_at" in cust else activity
    cust["days_since_activity"] = (today - since.dt.normalize()).dt.days.astype("Int64")

    # completeness
    cust["completeness"] = completeness_scores(cust, "customers")[0]

    if rfm and ords is not None:
        _add_rfm(cust, ords, as_of, ws)
    return cust


def _order_facts(rel, as_of: pd.Timestamp, today: pd.Timestamp) -> pd.DataFrame:
    """``customer_id, last_order_at, orders_30d, amount_30d`` per customer, summed by DuckDB over the
    order relation ``rel`` (the same rule as for the Orders sheet above)."""
    from .orderstore import between, timestamp_text

    since = timestamp_text(today - pd.Timedelta(days=30))
    return (between(rel, None, as_of).filter("customer_id IS NOT NULL")
            .aggregate("CAST(customer_id AS VARCHAR) AS customer_id, max(order_date) AS last_order_at, "
                       f"count(*) FILTER (WHERE order_date >= TIMESTAMP '{since}') AS orders_30d, "
                       f"coalesce(sum(amount) FILTER (WHERE order_date >= TIMESTAMP '{since}'), 0.0) AS amount_30d",
                       "customer_id").df())


def unique_ids(ids: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Unique customer ids (as text) and the row position of each one's first occurrence."""
    txt = ids.astype("string")
    keep = (txt.notna() & ~txt.duplicated()).to_numpy()
    return txt[keep].reset_index(drop=True), np.flatnonzero(keep)


def id_positions(unique: pd.Series, ids: pd.Series) -> np.ndarray:
    """Position of each of ``ids`` in the unique ids ``unique`` (-1 when absent), hashed by Arrow when it can."""
    u = unique.astype("string")
    v = ids.astype("string")
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        res = pc.index_in(pa.array(v.array), value_set=pa.array(u.array))
        return res.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    except (ImportError, TypeError, ValueError, AttributeError, NotImplementedError):
        index = pd.Index(u.to_numpy(dtype=object))
        return index.get_indexer(v.to_numpy(dtype=object, na_value=None))


def _rows_of(unique: pd.Series, first: np.ndarray, other: pd.Series) -> np.ndarray:
    """Row positions in the customers frame of each id in ``other`` (-1 when unknown)."""
    pos = id_positions(unique, other)
    return np.where(pos >= 0, first[np.where(pos >= 0, pos, 0)] if len(first) else -1, -1)


def filled(s: pd.Series) -> pd.Series:
    """Values that are there: not blank, and for text not only spaces (a date or a number is never blank text)."""
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        t = s.astype("string").str.strip()
        return pd.Series((t.notna() & (t != "")).to_numpy(dtype=bool, na_value=False), index=s.index)
    return s.notna()


def filled_frame(df: pd.DataFrame, fields: Iterable[str]) -> pd.DataFrame:
    """:func:`filled` of each of ``fields`` (columns in that order); a field ``df`` lacks is blank throughout."""
    keys = list(fields)
    cols = [filled(df[k]).to_numpy(dtype=bool) if k in df.columns else np.zeros(len(df), dtype=bool) for k in keys]
    data = np.column_stack(cols) if cols else np.zeros((len(df), 0), dtype=bool)
    return pd.DataFrame(data, index=df.index, columns=keys)


def completeness_scores(df: pd.DataFrame, entity_key: str = "customers",
                        fields: Iterable[str] | None = None) -> tuple[pd.Series, pd.Series]:
    """Share of filled fields per record and per field.

    ``fields`` defaults to the entity's ``completeness_fields`` (schema).  A
    record with no fields to count is complete (1.0); per field, an empty
    frame scores 0.
    """
    keys = list(fields) if fields is not None else list(ENTITIES[entity_key].completeness_fields)
    if not keys:
        return pd.Series(1.0, index=df.index), pd.Series(dtype="float64")
    got = filled_frame(df, keys)
    per_record = got.mean(axis=1).astype("float64")
    per_field = got.mean(axis=0).astype("float64") if len(df) else pd.Series(0.0, index=keys)
    return per_record, per_field


def _add_rfm(cust: pd.DataFrame, orders: pd.DataFrame, as_of: pd.Timestamp, ws) -> None:
    kwargs = {"customers": cust}
    thresholds = ws.settings.get("rfm_thresholds") if ws is not None else None
    if thresholds:
        kwargs["thresholds"] = thresholds
    scores = rfm_scores(orders, as_of, **kwargs)
    pos = id_positions(pd.Series(scores.index, dtype="string"), cust["customer_id"])
    take = np.where(pos >= 0, pos, -1)
    for col in RFM_COLUMNS:
        if col in scores.columns:
            vals = pd.Series(scores[col].array.take(take, allow_fill=True), index=cust.index)
            if col in cust.columns and str(cust[col].dtype) != "object":
                with contextlib.suppress(TypeError, ValueError):
                    vals = vals.astype(cust[col].dtype)
            cust[col] = vals
