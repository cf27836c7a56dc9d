"""Value segments, value tiers, revenue by channel and the weekly or monthly trend."""

from __future__ import annotations

import pandas as pd

from .common import col_of, dt_column, ordered
from .periods import in_period


def segments(scores: pd.DataFrame) -> pd.DataFrame:
    """RFM segment sizes and revenue: :func:`crmkit.rfm.segment_summary`."""
    from ..rfm import segment_summary

    return segment_summary(scores)


def value_tiers(scores: pd.DataFrame) -> pd.DataFrame:
    """Value tier sizes and revenue: :func:`crmkit.rfm.tier_summary`."""
    from ..rfm import tier_summary

    return tier_summary(scores)


def revenue_by_channel(orders: pd.DataFrame, bounds: tuple[pd.Timestamp, pd.Timestamp] | None = None) -> pd.DataFrame:
    """Orders and revenue per sales channel (``channel``, ``orders``, ``revenue``).

    ``orders``: rows with amount >= 0 (returns are not orders); ``revenue``:
    net sum of amounts, returns included.  With ``bounds`` (see
    :func:`period_bounds`) only orders dated in that period.  Blank channel as NA.
    ``orders`` may be a DuckDB relation (:func:`crmkit.orderstore.orders_of`):
    then DuckDB sums them and only one row per channel comes back.
    """
    from ..orderstore import between, is_relation
    from ..schema import ORDER_CHANNEL

    if is_relation(orders):          # an order source outside the workbook: aggregated by DuckDB
        rel = between(orders, *(bounds or (None, None)), closed=getattr(bounds, "closed", "right"))
        g = rel.aggregate("CAST(channel AS VARCHAR) AS channel, count_if(coalesce(amount, 0) >= 0) AS orders, "
                          "coalesce(sum(coalesce(amount, 0.0)), 0.0) AS revenue", "channel").df()
        g = g.set_index(pd.Index(g["channel"].astype("string"), name=None))[["orders", "revenue"]]
    else:
        date = dt_column(orders, "order_date", "orders")
        sel = date.notna() if bounds is None else in_period(date, bounds)
        o = orders[sel]
        amount = pd.to_numeric(col_of(o, "amount", "orders"), errors="coerce").fillna(0.0)
        ch = col_of(o, "channel", "orders").astype("string")
        g = pd.DataFrame({"orders": (amount >= 0).astype("int64"), "revenue": amount}).groupby(ch, dropna=False).sum()
    g = g.reindex(ordered(g.index, ORDER_CHANNEL.codes))
    out = g.reset_index(names="channel")
    out["channel"] = out["channel"].astype("string")
    return out.astype({"orders": "int64", "revenue": "float64"})


def trend(customers: pd.DataFrame, orders: pd.DataFrame, as_of: object, freq: str = "W",
          periods: int = 12) -> pd.DataFrame:
    """New customers, orders and revenue per period, for the ``periods`` periods up to ``as_of``.

    ``freq`` is a pandas frequency (``W`` weeks ending Sunday, ``MS``/``M``
    months, ``D`` days).  Columns: ``period`` (start of the period),
    ``new_customers`` (created_at in it), ``orders`` (amount >= 0),
    ``revenue`` (net amount).  Dates after ``as_of`` are ignored.
    """
    as_of = pd.Timestamp(as_of)
    f = {"M": "MS", "W": "W-MON"}.get(freq, freq)
    end = as_of.normalize()
    idx = pd.period_range(end=end, periods=periods, freq={"MS": "M", "W-MON": "W-SUN"}.get(f, f))
    start = idx[0].start_time
    created = dt_column(customers, "created_at", "customers")
    c_ok = created.notna() & (created >= start) & (created <= as_of)
    pfreq = idx.freq
    nc = created[c_ok].dt.to_period(pfreq).value_counts().reindex(idx, fill_value=0)
    from ..orderstore import between, is_relation

    if is_relation(orders):          # DuckDB sums the orders per day; the days are put into periods here
        days = between(orders, start, as_of, closed="both").aggregate(
            "CAST(order_date AS DATE) AS day, count_if(coalesce(amount, 0) >= 0) AS orders, "
            "sum(coalesce(amount, 0.0)) AS revenue", "day").df()
        op = pd.to_datetime(days["day"]).dt.to_period(pfreq)
        no = days["orders"].groupby(op).sum().reindex(idx, fill_value=0)
        rv = days["revenue"].astype("float64").groupby(op).sum().reindex(idx, fill_value=0.0)
    else:
        odate = dt_column(orders, "order_date", "orders")
        amount = pd.to_numeric(col_of(orders, "amount", "orders"), errors="coerce").fillna(0.0)
        o_ok = odate.notna() & (odate >= start) & (odate <= as_of)
        op = odate[o_ok].dt.to_period(pfreq)
        no = (amount[o_ok] >= 0).groupby(op).sum().reindex(idx, fill_value=0)
        rv = amount[o_ok].groupby(op).sum().reindex(idx, fill_value=0.0)
    return pd.DataFrame({
        "period": idx.start_time,
        "new_customers": nc.to_numpy().astype("int64"),
        "orders": no.to_numpy().astype("int64"),
        "revenue": rv.to_numpy().astype("float64"),
    })
