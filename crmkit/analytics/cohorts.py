"""Cohorts and retention: who came back, month by month, and how soon customers buy again.

Both functions read orders through :mod:`crmkit.orderstore` (a pandas frame
or a DuckDB relation, e.g. :func:`crmkit.orderstore.workspace_orders`), so
the same numbers come out whether the orders sit in the Orders sheet or in an
order store outside the workbook.  Which orders count is the order rule of
:func:`crmkit.orderstore.counted_orders` (the one RFM uses): orders without
customer or date and orders after ``as_of`` are left out, and a negative
amount is a return, not a purchase.

Definitions
-----------
* **Purchase**: an order with an amount >= 0 (a blank amount counts as 0).
* **Cohort**: the period (month by default) of a customer's first purchase.
* **Period index** ``period``: whole periods from the cohort's period to the
  period of a later purchase (0 = the cohort's own period).
* **Active**: a customer with at least one purchase in that period.
* **Retention** ``share``: active customers / customers in the cohort.
  Period 0 is always 1.0.  Only periods that have begun by ``as_of`` are
  listed; the period holding ``as_of`` is still running, so its share can
  only grow.
* **n-th purchase** (repeat-purchase curve): the n-th distinct day with a
  purchase (several orders on one day are one purchase occasion, as the
  CLV summary counts them).

>>> from crmkit import analytics as an
>>> table = an.cohort_retention(ws["orders"], ws.as_of())
>>> an.retention_matrix(table)                     # cohorts x months since first purchase
>>> an.repeat_purchase_curve(ws["orders"], ws.as_of(), purchases=(2, 3))
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ..exceptions import UsageError
from ..i18n import msg
from ..orderstore import as_relation, counted_orders

__all__ = ["COHORT_PERIODS", "cohort_retention", "retention_matrix", "repeat_purchase_curve"]

#: The cohort periods :func:`cohort_retention` accepts.
COHORT_PERIODS = ("month", "quarter", "week")

_COHORT_COLUMNS = ["cohort", "period", "customers", "active", "share"]


def _counted(orders, as_of, con) -> tuple[duckdb.DuckDBPyRelation, pd.Timestamp]:
    """The orders that count as of ``as_of`` (None: as of the latest order date), and that date."""
    rel = as_relation(orders, con)
    if as_of is None:
        latest = rel.aggregate("max(CAST(order_date AS TIMESTAMP))").fetchall()[0][0]
        as_of = pd.Timestamp(latest) if latest is not None else pd.Timestamp("1970-01-01")
    as_of = pd.Timestamp(as_of)
    return counted_orders(rel, as_of), as_of


def cohort_retention(orders: pd.DataFrame | duckdb.DuckDBPyRelation, as_of: object = None, *,
                     period: str = "month", con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """The cohort retention table: per first-purchase cohort, the share buying again in each later period.

    ``orders``: a frame with ``customer_id``, ``order_date`` and ``amount``
    (the Orders sheet) or a DuckDB relation with those columns.  ``as_of``:
    orders after it are ignored (None: the latest order date).  ``period``:
    ``"month"`` (default), ``"quarter"`` or ``"week"`` (ISO weeks, from Monday).

    One row per cohort and period index, in cohort then period order (the
    module docstring defines each column):

    * ``cohort``: first day of the cohort's period (a timestamp);
    * ``period``: periods since the cohort's period (0, 1, 2 ...);
    * ``customers``: customers in the cohort;
    * ``active``: of them, customers with a purchase in that period;
    * ``share``: ``active / customers``.

    Every period from 0 to the one holding ``as_of`` has a row, with
    ``active = 0`` when nobody bought.  :func:`retention_matrix` turns the
    table into a cohorts x periods grid.

    >>> orders = pd.DataFrame({"customer_id": ["A", "A", "B", "B", "C"], "amount": [10.0, 5, 8, 9, 7],
    ...     "order_date": pd.to_datetime(["2026-01-05", "2026-03-02", "2026-01-20", "2026-02-11", "2026-02-03"])})
    >>> cohort_retention(orders, "2026-03-31")[["cohort", "period", "customers", "active", "share"]]
          cohort  period  customers  active  share
    0 2026-01-01       0          2       2    1.0
    1 2026-01-01       1          2       1    0.5
    2 2026-01-01       2          2       1    0.5
    3 2026-02-01       0          1       1    1.0
    4 2026-02-01       1          1       0    0.0
    """
    if period not in COHORT_PERIODS:
        raise UsageError(msg("e_cohort_period", period=repr(period)))
    rel, as_of = _counted(orders, as_of, con)
    counts = rel.query("counted", f"""
        WITH bought AS (SELECT DISTINCT customer_id, date_trunc('{period}', day) AS p FROM counted WHERE purchase),
             first AS (SELECT customer_id, min(p) AS cohort FROM bought GROUP BY customer_id)
        SELECT f.cohort, date_diff('{period}', f.cohort, b.p) AS period, count(*) AS active
        FROM bought b JOIN first f USING (customer_id)
        GROUP BY ALL""").df()
    if counts.empty:
        return pd.DataFrame({"cohort": pd.Series(dtype="datetime64[ns]"), "period": pd.Series(dtype="int64"),
                             "customers": pd.Series(dtype="int64"), "active": pd.Series(dtype="int64"),
                             "share": pd.Series(dtype="float64")})
    counts["cohort"] = pd.to_datetime(counts["cohort"]).astype("datetime64[ns]")
    sizes = counts[counts["period"] == 0].set_index("cohort")["active"]
    last = _period_start(as_of, period)
    rows = []
    for cohort, size in sizes.items():
        n = _periods_between(cohort, last, period)
        rows.append(pd.DataFrame({"cohort": cohort, "period": np.arange(n + 1), "customers": int(size)}))
    grid = pd.concat(rows, ignore_index=True)
    out = grid.merge(counts, on=["cohort", "period"], how="left")
    out["active"] = out["active"].fillna(0).astype("int64")
    out["period"] = out["period"].astype("int64")
    out["customers"] = out["customers"].astype("int64")
    out["share"] = out["active"] / out["customers"]
    return out.sort_values(["cohort", "period"], ignore_index=True)[_COHORT_COLUMNS]


def _period_start(ts: pd.Timestamp, period: str) -> pd.Timestamp:
    ts = pd.Timestamp(ts).normalize()
    if period == "week":
        return ts - pd.Timedelta(days=ts.weekday())
    if period == "quarter":
        return pd.Timestamp(ts.year, 3 * ((ts.month - 1) // 3) + 1, 1)
    return pd.Timestamp(ts.year, ts.month, 1)


def _periods_between(start: pd.Timestamp, end: pd.Timestamp, period: str) -> int:
    if period == "week":
        return int((end - start).days // 7)
    months = (end.year - start.year) * 12 + end.month - start.month
    return months // 3 if period == "quarter" else months


def retention_matrix(table: pd.DataFrame, value: str = "share") -> pd.DataFrame:
    """A :func:`cohort_retention` table as a grid: one row per cohort, one column per period index.

    ``value``: ``"share"`` (default), ``"active"`` or ``"customers"``.  Cells
    of periods that have not begun yet are NaN.  The index is the cohort's
    first day, the columns are 0, 1, 2 ...

    >>> orders = pd.DataFrame({"customer_id": ["A", "A", "B"], "amount": [10.0, 5, 8],
    ...     "order_date": pd.to_datetime(["2026-01-05", "2026-02-02", "2026-02-20"])})
    >>> retention_matrix(cohort_retention(orders, "2026-02-28"))
    period        0    1
    cohort
    2026-01-01  1.0  1.0
    2026-02-01  1.0  NaN
    """
    return table.pivot(index="cohort", columns="period", values=value)


def repeat_purchase_curve(orders: pd.DataFrame | duckdb.DuckDBPyRelation, as_of: object = None, *,
                          purchases: tuple[int, ...] = (2, 3, 4), max_days: int = 365, step: int = 7,
                          con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """The repeat-purchase curve: share of customers with an n-th purchase within d days of their first.

    For each ``n`` in ``purchases`` and each ``days`` in 0, ``step``, 2
    ``step`` ... up to ``max_days``:

    * ``customers``: customers whose first purchase was at least ``days``
      days before ``as_of`` (they have been watched for ``days`` days; the
      newer ones are left out so that they do not pull the curve down);
    * ``reached``: of them, customers whose n-th purchase (n-th distinct
      purchase day) came at most ``days`` days after the first;
    * ``share``: ``reached / customers`` (NaN when no customer is that old).

    Days are calendar days between purchase dates.  ``as_of``: orders after
    it are ignored (None: the latest order date).

    >>> orders = pd.DataFrame({"customer_id": ["A", "A", "A", "B", "B", "C"], "amount": [1.0] * 6,
    ...     "order_date": pd.to_datetime(["2026-01-01", "2026-01-08", "2026-01-31", "2026-01-01",
    ...                                   "2026-01-20", "2026-01-01"])})
    >>> repeat_purchase_curve(orders, "2026-03-01", purchases=(2,), max_days=21, step=7)
       purchase  days  customers  reached     share
    0         2     0          3        0  0.000000
    1         2     7          3        1  0.333333
    2         2    14          3        1  0.333333
    3         2    21          3        2  0.666667
    """
    ns = sorted({int(n) for n in purchases})
    if step < 1 or max_days < 0 or not ns or ns[0] < 2:
        raise UsageError(msg("e_repeat_curve"))
    rel, as_of = _counted(orders, as_of, con)
    found = rel.query("counted", f"""
        WITH days AS (SELECT DISTINCT customer_id, day FROM counted WHERE purchase),
             numbered AS (SELECT customer_id, day, row_number() OVER (PARTITION BY customer_id ORDER BY day) AS n,
                                 min(day) OVER (PARTITION BY customer_id) AS first FROM days)
        SELECT customer_id, date_diff('day', first, CAST(DATE '{as_of.date().isoformat()}' AS DATE)) AS watched,
               n, date_diff('day', first, day) AS gap
        FROM numbered WHERE n = 1 OR n IN ({", ".join(map(str, ns))})""").df()
    firsts = found[found["n"] == 1]
    watched = np.sort(firsts["watched"].to_numpy(dtype="int64"))
    grid = np.arange(0, max_days + 1, step, dtype="int64")
    # customers watched for at least d days: those with watched >= d
    eligible = len(watched) - np.searchsorted(watched, grid, side="left")
    rows = []
    for n in ns:
        nth = found[found["n"] == n]
        w = nth["watched"].to_numpy(dtype="int64")
        g = nth["gap"].to_numpy(dtype="int64")
        reached = np.array([int(np.count_nonzero((w >= d) & (g <= d))) for d in grid], dtype="int64")
        rows.append(pd.DataFrame({"purchase": n, "days": grid, "customers": eligible.astype("int64"),
                                  "reached": reached}))
    out = pd.concat(rows, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(out["customers"] > 0, out["reached"] / out["customers"].where(out["customers"] > 0, 1),
                                np.nan)
    out["purchase"] = out["purchase"].astype("int64")
    return out
