"""The per-customer summary the lifetime-value models read: frequency, recency, T, mean repeat spend.

Written as DuckDB relation operations over :func:`crmkit.orderstore.as_relation`
and :func:`crmkit.orderstore.counted_orders` (the shared order rule), so the
same query runs on the Orders sheet, on Parquet files of ten million orders or
on a warehouse; only the per-customer result becomes a pandas frame.

What is counted
---------------
* **Purchase days, not orders.**  All orders of a customer on one calendar day
  are one transaction: their amounts are summed (the papers count CDNOW
  purchases per day the same way).  ``frequency`` is the number of *repeat*
  purchase days: distinct purchase days minus one (the first purchase
  makes a customer, it is not a repeat).
* **Returns** follow the shared order rule: a negative amount is a return, not
  a purchase, so it never makes a purchase day.  On a day that has a purchase
  its amount is summed into the day's value (a purchase of 100 and a return of
  30 on the same day is one transaction of 70; a day whose net value is
  negative is worth 0).  A return on a day without purchase is not a
  transaction and does not change ``monetary_value`` (the spend model describes
  the value of transactions; the net amount incl. such returns is RFM's
  ``monetary``).  Blank amounts are purchases of 0.
* **Orders after as-of** are ignored (they have not happened yet).
* ``recency``: first to last purchase day; ``T``: first purchase day to the
  as-of day; both in units of ``unit_days`` days (1 = days, 7 = weeks).
* ``monetary_value``: mean value of the repeat purchase days (the first day is
  left out, as in the Gamma-Gamma papers); 0 for a customer without repeats.
* A customer without purchase (listed in ``customers`` but without orders, or
  with returns only) gets ``frequency`` 0, ``recency`` 0, ``monetary_value`` 0
  and a blank ``T``: the models know nothing of them and predict nothing.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ..exceptions import ValidationError
from ..i18n import msg
from ..orderstore import as_relation, counted_orders, customer_index

__all__ = ["SUMMARY_COLUMNS", "summary", "calibration_and_holdout"]

#: Columns of :func:`summary`, in order.
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _check_columns(rel: duckdb.DuckDBPyRelation) -> None:
    have = {c.lower() for c in rel.columns}
    for col in ("customer_id", "order_date", "amount"):
        if col not in have:
            raise ValidationError(msg("e_rfm_orders_column"), sheet="Orders", column=col)


def _days(rel: duckdb.DuckDBPyRelation, as_of: object) -> duckdb.DuckDBPyRelation:
    """One row per customer and purchase day: ``customer_id, day, value`` (orders summed, floored at 0)."""
    _check_columns(rel)
    return (counted_orders(rel, as_of)
            .aggregate("customer_id, day, bool_or(purchase) AS bought, sum(amount) AS net", "customer_id, day")
            .filter("bought")
            .project("customer_id, day, greatest(net, 0.0) AS value"))


def _per_customer(days: duckdb.DuckDBPyRelation, as_of_day: str, unit_days: float) -> duckdb.DuckDBPyRelation:
    u = float(unit_days)
    return days.aggregate(
        "customer_id, "
        "count(*) - 1 AS frequency, "
        f"date_diff('day', min(day), max(day)) / {u!r} AS recency, "
        f"date_diff('day', min(day), DATE '{as_of_day}') / {u!r} AS T, "
        "CASE WHEN count(*) > 1 THEN (sum(value) - arg_min(value, day)) / (count(*) - 1) ELSE 0.0 END "
        "AS monetary_value",
        "customer_id")



def _to_frame(rel: duckdb.DuckDBPyRelation, customers: object, columns: tuple[str, ...]) -> pd.DataFrame:
    df = rel.df()
    out = pd.DataFrame({
        "frequency": df["frequency"].to_numpy(dtype="int64"),
        "recency": df["recency"].to_numpy(dtype="float64"),
        "T": df["T"].to_numpy(dtype="float64"),
        "monetary_value": df["monetary_value"].to_numpy(dtype="float64"),
        **{c: df[c].to_numpy() for c in columns[4:]},
    }, index=pd.Index(df["customer_id"].astype("string").array, dtype="string", name="customer_id"))
    out = out.sort_index()
    ids = customer_index(customers)
    if ids is not None:
        out = out.reindex(ids)
        missing = out["T"].isna()
        for col in out.columns:
            if col != "T":
                out.loc[missing, col] = 0
        out["frequency"] = out["frequency"].astype("int64")
    return out


def summary(orders: pd.DataFrame | duckdb.DuckDBPyRelation, as_of: object, *, customers: object = None,
            unit_days: float = 1) -> pd.DataFrame:
    """Frequency, recency, T and mean repeat spend per customer as of ``as_of`` (rules: module docstring).

    ``orders`` is a frame or a DuckDB relation with ``customer_id``,
    ``order_date`` and ``amount``; ``customers`` (a frame with
    ``customer_id``, or ids) lists every customer to return, in that order;
    without it the customers are those with a purchase, sorted by id.
    Returns a frame indexed by ``customer_id`` with :data:`SUMMARY_COLUMNS`;
    ``attrs`` hold ``as_of`` and ``unit_days``.

    >>> orders = pd.DataFrame({"customer_id": ["C1", "C1", "C1", "C2"],
    ...     "order_date": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-15", "2026-01-10"]),
    ...     "amount": [10.0, 5.0, 30.0, 8.0]})
    >>> summary(orders, "2026-01-29", unit_days=7)
                 frequency  recency         T  monetary_value
    customer_id
    C1                   1      2.0  4.000000            30.0
    C2                   0      0.0  2.714286             0.0
    """
    if unit_days <= 0:
        raise ValueError("unit_days must be positive")
    stamp = pd.Timestamp(as_of)
    rel = as_relation(orders)
    per = _per_customer(_days(rel, stamp), stamp.strftime("%Y-%m-%d"), unit_days)
    out = _to_frame(per, customers, SUMMARY_COLUMNS)
    out.attrs.update(as_of=stamp, unit_days=unit_days)
    return out


def calibration_and_holdout(orders: pd.DataFrame | duckdb.DuckDBPyRelation, calibration_end: object,
                            observation_end: object, *, customers: object = None,
                            unit_days: float = 1) -> pd.DataFrame:
    """The :func:`summary` as of ``calibration_end`` plus what each customer did up to ``observation_end``.

    The customers are those who bought by ``calibration_end``.  Added
    columns: ``frequency_holdout`` (purchase days after ``calibration_end``
    up to ``observation_end``), ``monetary_value_holdout`` (their mean value,
    0 without any) and ``duration_holdout`` (the holdout length in units).
    This is how a model is checked: fit on the calibration columns, predict
    ``duration_holdout`` ahead and compare with ``frequency_holdout``.

    >>> orders = pd.DataFrame({"customer_id": ["C1", "C1", "C1"],
    ...     "order_date": pd.to_datetime(["2026-01-01", "2026-01-15", "2026-02-20"]),
    ...     "amount": [10.0, 30.0, 20.0]})
    >>> calibration_and_holdout(orders, "2026-01-31", "2026-03-31")[["frequency", "frequency_holdout"]]
                 frequency  frequency_holdout
    customer_id
    C1                   1                  1
    """
    if unit_days <= 0:
        raise ValueError("unit_days must be positive")
    cal, end = pd.Timestamp(calibration_end), pd.Timestamp(observation_end)
    if end <= cal:
        raise ValueError("observation_end must be after calibration_end")
    rel = as_relation(orders)
    cal_sql = cal.isoformat(sep=" ")
    cal_per = _per_customer(_days(rel, cal), cal.strftime("%Y-%m-%d"), unit_days)   # checks the columns
    hold = (counted_orders(rel, end)
            .filter(f"order_date > TIMESTAMP '{cal_sql}'")
            .aggregate("customer_id, day, bool_or(purchase) AS bought, sum(amount) AS net", "customer_id, day")
            .filter("bought")
            .aggregate("customer_id AS hid, count(*) AS frequency_holdout, "
                       "avg(greatest(net, 0.0)) AS monetary_value_holdout", "customer_id"))
    joined = cal_per.set_alias("cal").join(hold.set_alias("hold"), "customer_id = hid", how="left").project(
        "customer_id, frequency, recency, T, monetary_value, "
        "coalesce(frequency_holdout, 0) AS frequency_holdout, "
        "coalesce(monetary_value_holdout, 0.0) AS monetary_value_holdout")
    columns = SUMMARY_COLUMNS + ("frequency_holdout", "monetary_value_holdout")
    out = _to_frame(joined, customers, columns)
    out["frequency_holdout"] = out["frequency_holdout"].astype("int64")
    out["monetary_value_holdout"] = out["monetary_value_holdout"].astype("float64")
    out["duration_holdout"] = np.float64((end.normalize() - cal.normalize()).days / unit_days)
    out.attrs.update(as_of=cal, unit_days=unit_days, observation_end=end)
    return out
