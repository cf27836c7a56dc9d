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

__all__ = ["ORDER_COLUMNS", "connect", "as_relation", "workspace_orders"]

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
