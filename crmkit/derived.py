"""Derived customer fields, computed (never typed) before rules and segments run.

:func:`add_derived` returns the customers frame with these columns added
(or refreshed), as of a given time; records dated after ``as_of`` are ignored:

* ``last_interaction_at``: the latest Interactions ``at``;
* ``days_since_interaction``: calendar days since then, or since the
  customer was created when there has been no interaction yet (so a
  never-contacted customer is as "quiet" as its age);
* ``last_feedback``: the customer_feedback of the latest interaction that
  has one;
* ``last_order_at``, ``orders_30d``, ``amount_30d``: from Orders, the last 30
  days counting ``as_of``'s day;
* ``completeness``: the share of :data:`COMPLETENESS_FIELDS` that are filled;
* RFM fields (``recency_days`` ... ``value_tier``) from :mod:`crmkit.rfm`
  when that module is available, otherwise as found in the sheet.
"""

from __future__ import annotations

import pandas as pd

#: Fields counted by ``completeness`` (the profile a team is expected to keep).
COMPLETENESS_FIELDS: tuple[str, ...] = (
    "name", "contact_name", "title", "phone", "email", "industry", "size", "region",
    "customer_type", "source", "intent_level", "stage", "owner", "preferred_channel",
)

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
    ords = orders if orders is not None else (ws["orders"] if ws is not None else None)
    ids = cust["customer_id"]
    today = as_of.normalize()

    # interactions
    last_at = pd.Series(pd.NaT, index=cust.index, dtype="datetime64[ns]")
    last_fb = pd.Series(pd.NA, index=cust.index, dtype="string")
    if inter is not None and len(inter):
        it = inter[inter["at"].notna() & (inter["at"] <= as_of) & inter["customer_id"].notna()]
        if len(it):
            latest = it.groupby("customer_id", observed=True)["at"].max()
            last_at = _onto(latest, ids).astype("datetime64[ns]")
            fb = it[it["customer_feedback"].notna()] if "customer_feedback" in it else it.iloc[:0]
            if len(fb):
                fb = fb.sort_values("at", kind="stable")
                lastfb = fb.drop_duplicates("customer_id", keep="last").set_index("customer_id")["customer_feedback"]
                last_fb = _onto(lastfb, ids).astype("string")
    cust["last_interaction_at"] = last_at
    since = last_at.fillna(cust["created_at"]) if "created_at" in cust else last_at
    cust["days_since_interaction"] = (today - since.dt.normalize()).dt.days.astype("Int64")
    cust["last_feedback"] = last_fb

    # orders
    last_order = pd.Series(pd.NaT, index=cust.index, dtype="datetime64[ns]")
    n30 = pd.Series(0, index=cust.index, dtype="Int64")
    a30 = pd.Series(0.0, index=cust.index, dtype="float64")
    if ords is not None and len(ords):
        od = ords[ords["order_date"].notna() & (ords["order_date"] <= as_of) & ords["customer_id"].notna()]
        if len(od):
            last_order = _onto(od.groupby("customer_id", observed=True)["order_date"].max(), ids) \
                .astype("datetime64[ns]")
            recent = od[od["order_date"] > today - pd.Timedelta(days=30)]
            if len(recent):
                g = recent.groupby("customer_id", observed=True)
                n30 = _onto(g.size(), ids).fillna(0).astype("Int64")
                a30 = _onto(g["amount"].sum(), ids).fillna(0.0).astype("float64")
    cust["last_order_at"] = last_order
    cust["orders_30d"] = n30
    cust["amount_30d"] = a30

    # completeness
    present = [c for c in COMPLETENESS_FIELDS if c in cust.columns]
    if present:
        filled = pd.DataFrame({c: _filled(cust[c]) for c in present}, index=cust.index)
        cust["completeness"] = filled.sum(axis=1) / len(present)
    else:
        cust["completeness"] = 0.0

    if rfm and ords is not None:
        _add_rfm(cust, ords, as_of, ws)
    return cust


def _onto(values: pd.Series, ids: pd.Series) -> pd.Series:
    out = values.reindex(ids.to_numpy())
    out.index = ids.index
    return out


def _filled(s: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
        t = s.astype("string").str.strip()
        return (t.notna() & (t != "")).astype(bool)
    return s.notna()


def _add_rfm(cust: pd.DataFrame, orders: pd.DataFrame, as_of: pd.Timestamp, ws) -> None:
    try:
        from .rfm import rfm_scores
    except ImportError:
        return
    kwargs = {"customers": cust}
    thresholds = ws.settings.get("rfm_thresholds") if ws is not None else None
    if thresholds:
        kwargs["thresholds"] = thresholds
    scores = rfm_scores(orders, as_of, **kwargs)
    for col in RFM_COLUMNS:
        if col in scores.columns:
            vals = _onto(scores[col], cust["customer_id"])
            if col in cust.columns:
                vals = vals.astype(cust[col].dtype) if str(cust[col].dtype) != "object" else vals
            cust[col] = vals
