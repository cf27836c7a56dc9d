"""Where a workspace's orders live, and one DuckDB relation over them.

RFM, CLV and the order analytics aggregate orders with SQL on a DuckDB
relation (embedded DuckDB, no server), whatever the orders come from: the
Orders sheet (a pandas frame registered with DuckDB) or, when Settings name
one, an order source outside the workbook.  One query therefore gives the same
numbers for the same orders wherever they are stored, and a team that
outgrows one machine can run the same SQL on its warehouse.

>>> from crmkit import orderstore
>>> rel = orderstore.workspace_orders(ws)           # a duckdb relation
>>> rel.aggregate("customer_id, count(*) AS orders", "customer_id").df()
>>> orderstore.as_relation(ws["orders"]).filter("amount < 0").df()   # any frame works too
"""

from __future__ import annotations

import duckdb
import pandas as pd

__all__ = ["ORDER_COLUMNS", "connect", "as_relation", "workspace_orders", "counted_orders"]

#: The canonical order columns a relation carries (those of the Orders sheet).
ORDER_COLUMNS = ("order_id", "customer_id", "order_date", "amount", "product", "channel",
                 "product_id", "quantity", "unit_price")


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB connection (one per computation, so callers never share state)."""
    return duckdb.connect(":memory:")


def as_relation(orders: pd.DataFrame | duckdb.DuckDBPyRelation,
                con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
    """``orders`` as a DuckDB relation: a relation is returned as it is, a frame is registered.

    >>> rel = as_relation(pd.DataFrame({"customer_id": ["C1"], "order_date": [pd.Timestamp("2026-01-02")],
    ...                                 "amount": [10.0]}))
    >>> rel.aggregate("sum(amount)").fetchall()
    [(10.0,)]
    """
    if isinstance(orders, duckdb.DuckDBPyRelation):
        return orders
    con = con or connect()
    return con.from_df(orders)


def workspace_orders(ws, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
    """The workspace's orders as a DuckDB relation with the columns of :data:`ORDER_COLUMNS` it has."""
    return as_relation(ws["orders"], con)


def counted_orders(rel: duckdb.DuckDBPyRelation, as_of: object,
                   extra: tuple[str, ...] = ()) -> duckdb.DuckDBPyRelation:
    """The orders that count as of ``as_of``: the order rule of :mod:`crmkit.rfm`, in one place.

    Rows without customer or date, and rows dated after ``as_of`` (they have
    not happened yet), are left out.  Each kept row has ``customer_id``,
    ``order_date`` (a timestamp), ``day`` (its calendar date), ``amount`` (a
    blank amount counts as 0) and ``purchase`` (true unless the amount is
    negative: a negative amount is a return, which lowers spend but is not a
    purchase).  ``extra`` names more columns of ``rel`` to keep as they are
    (e.g. ``("product_id", "quantity")`` for the product analytics).

    >>> rel = as_relation(pd.DataFrame({"customer_id": ["C1", "C1", None], "amount": [5.0, -2.0, 1.0],
    ...     "order_date": pd.to_datetime(["2026-01-02", "2026-01-03", "2026-01-04"])}))
    >>> counted_orders(rel, "2026-12-31").aggregate("count(*), sum(amount), count_if(purchase)").fetchall()
    [(2, 3.0, 1)]
    """
    stamp = pd.Timestamp(as_of).isoformat(sep=" ")
    return rel.filter(f"customer_id IS NOT NULL AND order_date IS NOT NULL "
                      f"AND CAST(order_date AS TIMESTAMP) <= TIMESTAMP '{stamp}'").project(
        "CAST(customer_id AS VARCHAR) AS customer_id, CAST(order_date AS TIMESTAMP) AS order_date, "
        "CAST(order_date AS DATE) AS day, coalesce(CAST(amount AS DOUBLE), 0.0) AS amount, "
        "coalesce(CAST(amount AS DOUBLE), 0.0) >= 0 AS purchase" + "".join(f", {c}" for c in extra))
