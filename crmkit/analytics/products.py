"""The product catalogue in numbers: revenue and margin, top products per segment, cross-sell, low stock.

The order side is aggregated with SQL on a DuckDB relation (:mod:`crmkit.orderstore`),
so the same functions run on the Orders sheet, on an order store in Parquet
or on a warehouse; only the small results (one row per product, per
customer and product, per pair) are joined with the Products sheet in pandas.
``orders`` is a pandas frame (``ws["orders"]``) or a DuckDB relation
(``orderstore.workspace_orders(ws)``).

>>> from crmkit.analytics import products as pa
>>> pa.product_revenue(ws["orders"], ws["products"], as_of=ws.as_of())
>>> pa.category_revenue(ws["orders"], ws["products"], lang="zh")
>>> pa.cross_sell(ws["orders"], bought="P0001", never="P0002", customers=ws["customers"])

Which orders count, and returns
-------------------------------
The order rule of :mod:`crmkit.rfm` (:func:`crmkit.orderstore.counted_orders`):
orders without customer or date, and orders dated after ``as_of``, are left
out; a blank amount counts as 0.  A negative amount is a return: it lowers
the product's revenue (``returns`` shows how much) and is not a purchase (it
does not count in ``orders`` or ``customers``).  The units of a return line
are subtracted whatever sign its quantity was typed with.

Revenue and margin
------------------
* ``revenue``: the sum of the order amounts of the product (returns included);
* ``units``: the sum of the quantities (returns subtracted); blank quantities add nothing;
* ``cost``: ``units x unit_cost`` of the product (Products sheet);
* ``margin``: revenue minus cost, over the lines that carry a quantity
  (``lines_without_quantity`` counts the others: their cost is unknown, so
  they are in ``revenue`` but not in ``margin``); ``margin_pct`` = margin /
  that revenue.  NaN where the product has no unit cost.
* Orders without a product ID are one row "no product" (未指定产品), so the
  product rows add up to all revenue; an ID not in the Products sheet keeps
  its own row, without name or category (validation warns about it).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from .. import orderstore
from ..i18n import t
from .common import ratio

__all__ = ["product_revenue", "category_revenue", "top_products_by_segment", "cross_sell", "product_pairs",
           "low_stock", "low_stock_mask"]

#: as_of when none is given: every dated order counts.
_ALL = "9999-12-31"
PRODUCT_COLUMNS = ["product_id", "name", "category", "orders", "customers", "units", "revenue", "returns",
                   "cost", "margin", "margin_pct", "lines_without_quantity"]


# --------------------------------------------------------------------------- the order lines

def _lines(orders, as_of) -> duckdb.DuckDBPyRelation:
    """Counted order lines: customer_id, day, amount, purchase, product_id (trimmed text, NULL when blank), units."""
    rel = orderstore.as_relation(orders)
    cols = set(rel.columns)
    if "product_id" not in cols or "quantity" not in cols:
        rel = rel.project("*" + ("" if "product_id" in cols else ", CAST(NULL AS VARCHAR) AS product_id")
                          + ("" if "quantity" in cols else ", CAST(NULL AS DOUBLE) AS quantity"))
    counted = orderstore.counted_orders(rel, _ALL if as_of is None else as_of, extra=("product_id", "quantity"))
    return counted.project(
        "customer_id, day, amount, purchase, "
        "nullif(trim(CAST(product_id AS VARCHAR)), '') AS product_id, "
        "CASE WHEN amount < 0 THEN -abs(CAST(quantity AS DOUBLE)) ELSE CAST(quantity AS DOUBLE) END AS units")


def _catalogue(products: pd.DataFrame | None) -> pd.DataFrame:
    """product_id, name, category, unit_cost of the Products sheet (one row per ID, the first wins)."""
    cols = ["product_id", "name", "category", "unit_cost"]
    if products is None or "product_id" not in products.columns:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c == "unit_cost" else "object") for c in cols})
    p = products.reindex(columns=cols).copy()
    p["product_id"] = p["product_id"].astype("string").str.strip()
    p = p[p["product_id"].notna()].drop_duplicates("product_id")
    p["unit_cost"] = pd.to_numeric(p["unit_cost"], errors="coerce")
    return p.reset_index(drop=True)


def _sql_text(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _item_sql(products: pd.DataFrame | None, level: str) -> tuple[str, str]:
    """(FROM clause over the lines ``o`` with an ``item`` column, item label) for a product or category level."""
    if level == "product":
        return "(SELECT *, product_id AS item FROM o WHERE product_id IS NOT NULL)", "product_id"
    if level != "category":
        raise ValueError(f"level must be 'product' or 'category', not {level!r}")
    cat = _catalogue(products)
    cat = cat[cat["category"].notna() & (cat["category"].astype("string").str.strip() != "")]
    if cat.empty:
        return "(SELECT *, CAST(NULL AS VARCHAR) AS item FROM o WHERE false)", "category"
    values = ", ".join(f"({_sql_text(p)}, {_sql_text(str(c).strip())})"
                       for p, c in zip(cat["product_id"], cat["category"]))
    return (f"(SELECT o.*, m.category AS item FROM o JOIN (VALUES {values}) AS m(pid, category) "
            f"ON o.product_id = m.pid)"), "category"


# --------------------------------------------------------------------------- revenue and margin

def product_revenue(orders, products: pd.DataFrame | None = None, *, as_of=None, lang: str = "en") -> pd.DataFrame:
    """Revenue, units, cost and margin per product (columns: :data:`PRODUCT_COLUMNS`), highest revenue first.

    The definitions are in the module docstring.  ``products`` is the Products
    sheet (for name, category and unit cost); without it only the order side
    is filled.  The "no product" row (orders without a product ID) comes last.

    >>> orders = pd.DataFrame({"customer_id": ["C1", "C2", "C1"], "product_id": ["P1", "P1", None],
    ...     "order_date": pd.to_datetime(["2026-01-02"] * 3), "amount": [20.0, 10.0, 5.0],
    ...     "quantity": [2, 1, None]})
    >>> cat = pd.DataFrame({"product_id": ["P1"], "name": ["Tea"], "category": ["Drinks"], "unit_cost": [4.0]})
    >>> product_revenue(orders, cat)[["product_id", "units", "revenue", "cost", "margin"]].values.tolist()
    [['P1', 3.0, 30.0, 12.0, 18.0], [nan, 0.0, 5.0, nan, nan]]
    """
    lines = _lines(orders, as_of)
    agg = lines.aggregate(
        "product_id, count_if(purchase) AS orders, count(DISTINCT customer_id) FILTER (WHERE purchase) AS customers, "
        "coalesce(sum(units), 0) AS units, sum(amount) AS revenue, "
        "coalesce(-sum(amount) FILTER (WHERE NOT purchase), 0) AS returns, "
        "coalesce(sum(amount) FILTER (WHERE units IS NOT NULL), 0) AS revenue_q, "
        "count(*) FILTER (WHERE units IS NULL) AS lines_without_quantity", "product_id").df()
    cat = _catalogue(products)
    out = agg.merge(cat, on="product_id", how="left")
    out["cost"] = out["units"] * out["unit_cost"]
    out["margin"] = out["revenue_q"] - out["cost"]
    out["margin_pct"] = ratio(out["margin"], out["revenue_q"].where(out["cost"].notna(), 0))
    none = out["product_id"].isna()
    out["name"] = out["name"].astype("object")
    out["category"] = out["category"].astype("object")
    out.loc[none, "name"] = t("no_product", lang)
    for c in ("orders", "customers", "lines_without_quantity"):
        out[c] = out[c].astype("int64")
    for c in ("units", "revenue", "returns", "cost", "margin", "margin_pct"):
        out[c] = out[c].astype("float64")
    out = out.assign(_none=none).sort_values(["_none", "revenue", "product_id"], ascending=[True, False, True],
                                             kind="stable")
    return out[PRODUCT_COLUMNS].reset_index(drop=True)


def category_revenue(orders, products: pd.DataFrame | None = None, *, as_of=None, lang: str = "en",
                     by_product: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`product_revenue` summed per category: category, products, orders, units, revenue, returns, cost, margin, margin_pct.

    Products without a category (and IDs not in the Products sheet) are
    "no category" (未分类); orders without a product are "no product".
    ``customers`` is not summed (a customer buys in several categories): it is
    counted again per category.  ``by_product`` reuses a :func:`product_revenue` result.

    >>> orders = pd.DataFrame({"customer_id": ["C1", "C1"], "product_id": ["P1", "P2"],
    ...     "order_date": pd.to_datetime(["2026-01-02"] * 2), "amount": [20.0, 10.0], "quantity": [1, 1]})
    >>> cat = pd.DataFrame({"product_id": ["P1", "P2"], "category": ["Tea", "Tea"], "unit_cost": [5.0, 5.0]})
    >>> category_revenue(orders, cat)[["category", "customers", "revenue", "margin"]].values.tolist()
    [['Tea', 1, 30.0, 20.0]]
    """
    per = by_product if by_product is not None else product_revenue(orders, products, as_of=as_of, lang=lang)
    none = per["product_id"].isna()
    label = per["category"].astype("object").where(per["category"].notna()
                                                   & (per["category"].astype("string").str.strip() != ""), None)
    label = label.where(label.notna(), t("no_category", lang)).where(~none, t("no_product", lang))
    buyers = _category_buyers(_lines(orders, as_of), products, lang)
    g = per.assign(category=label, margin_q=per["margin"], revenue_q=np.where(per["cost"].notna(),
                                                                            per["margin"] + per["cost"], 0.0))
    out = g.groupby("category", sort=False).agg(
        products=("product_id", "count"), orders=("orders", "sum"), units=("units", "sum"),
        revenue=("revenue", "sum"), returns=("returns", "sum"), cost=("cost", lambda s: s.sum(min_count=1)),
        margin=("margin_q", lambda s: s.sum(min_count=1)), revenue_q=("revenue_q", "sum")).reset_index()
    out["customers"] = out["category"].map(buyers).fillna(0).astype("int64")
    out["margin_pct"] = ratio(out["margin"], out["revenue_q"])
    last = out["category"].isin([t("no_category", lang), t("no_product", lang)])
    out = out.assign(_last=last).sort_values(["_last", "revenue"], ascending=[True, False], kind="stable")
    return out[["category", "products", "orders", "customers", "units", "revenue", "returns", "cost", "margin",
                "margin_pct"]].reset_index(drop=True)


def _category_buyers(lines: duckdb.DuckDBPyRelation, products: pd.DataFrame | None, lang: str) -> pd.Series:
    """Distinct buyers per category label (counted in SQL: a customer buying twice in a category counts once)."""
    cat = _catalogue(products)
    cat = cat[cat["category"].notna() & (cat["category"].astype("string").str.strip() != "")]
    values = ", ".join(f"({_sql_text(p)}, {_sql_text(str(c).strip())})" for p, c in zip(cat["product_id"],
                                                                                       cat["category"]))
    mapping = f"(VALUES {values})" if values else "(SELECT NULL::VARCHAR, NULL::VARCHAR WHERE false)"
    got = lines.query("o", (
        f"SELECT CASE WHEN o.product_id IS NULL THEN 0 WHEN m.category IS NULL THEN 1 ELSE 2 END AS kind, "
        f"m.category AS category, count(DISTINCT o.customer_id) AS buyers "
        f"FROM o LEFT JOIN {mapping} AS m(pid, category) ON o.product_id = m.pid WHERE o.purchase "
        f"GROUP BY ALL")).df()
    label = got["category"].astype("object").where(got["kind"] == 2, None)
    label = label.where(got["kind"] != 1, t("no_category", lang)).where(got["kind"] != 0, t("no_product", lang))
    return got.groupby(label.to_numpy())["buyers"].sum()


# --------------------------------------------------------------------------- segments

def _segments(segments: pd.DataFrame | pd.Series, by: str) -> pd.Series:
    """customer_id -> group, from a customers frame, an RFM scores frame (indexed by customer_id) or a Series."""
    if isinstance(segments, pd.Series):
        s = segments
    else:
        frame = segments if "customer_id" in segments.columns else segments.reset_index()
        s = frame.set_index(frame["customer_id"].astype("string"))[by]
    s = s[~s.index.duplicated()]
    s.index = s.index.astype("string")
    return s


def top_products_by_segment(orders, segments: pd.DataFrame | pd.Series, products: pd.DataFrame | None = None, *,
                            n: int = 5, by: str = "rfm_segment", as_of=None, lang: str = "en") -> pd.DataFrame:
    """The ``n`` products with the most revenue among each group's customers.

    ``segments`` says each customer's group: a customers frame (after
    :func:`crmkit.derived.add_derived`), :func:`crmkit.rfm.rfm_scores` output,
    or a Series indexed by customer_id; ``by`` is the column (``rfm_segment``,
    ``value_tier`` or any other).  Columns: group, rank (1 = most revenue),
    product_id, name, category, customers (buyers in the group), units,
    revenue, share (of the group's revenue on products).  Orders without a
    product and customers without a group are left out.

    >>> orders = pd.DataFrame({"customer_id": ["C1", "C2", "C2"], "product_id": ["P1", "P1", "P2"],
    ...     "order_date": pd.to_datetime(["2026-01-02"] * 3), "amount": [10.0, 30.0, 5.0], "quantity": [1, 3, 1]})
    >>> seg = pd.Series({"C1": "new", "C2": "champions"})
    >>> top_products_by_segment(orders, seg, n=1)[["group", "product_id", "revenue"]].values.tolist()
    [['champions', 'P1', 30.0], ['new', 'P1', 10.0]]
    """
    per = _lines(orders, as_of).filter("product_id IS NOT NULL").aggregate(
        "customer_id, product_id, sum(amount) AS revenue, coalesce(sum(units), 0) AS units, "
        "bool_or(purchase) AS bought", "customer_id, product_id").df()
    group = _segments(segments, by)
    per["group"] = per["customer_id"].astype("string").map(group)
    per = per[per["group"].notna()]
    cols = ["group", "rank", "product_id", "name", "category", "customers", "units", "revenue", "share"]
    if per.empty:
        return pd.DataFrame(columns=cols)
    g = per.groupby(["group", "product_id"]).agg(
        customers=("bought", "sum"), units=("units", "sum"), revenue=("revenue", "sum")).reset_index()
    total = g.groupby("group")["revenue"].transform("sum")
    g["share"] = ratio(g["revenue"], total)
    g = g.sort_values(["group", "revenue", "product_id"], ascending=[True, False, True], kind="stable")
    g["rank"] = g.groupby("group").cumcount() + 1
    g = g[g["rank"] <= n].merge(_catalogue(products)[["product_id", "name", "category"]], on="product_id",
                                how="left")
    g["customers"] = g["customers"].astype("int64")
    return g[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- cross-sell

def _items(values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [str(v).strip() for v in values if str(v).strip()]


def cross_sell(orders, bought, never, *, products: pd.DataFrame | None = None, level: str = "product",
               customers: pd.DataFrame | None = None, as_of=None) -> pd.DataFrame:
    """Customers who bought A and never B: the call list for a cross-sell campaign.

    ``bought`` and ``never`` are a product ID or a list of them (``level="product"``),
    or category names (``level="category"``, which needs ``products``).  A
    customer qualifies with at least one purchase of A and no purchase of B
    (a return is not a purchase).  Columns: customer_id, orders_of_a,
    spent_on_a, last_order (the day of the last purchase of A), then, when
    ``customers`` is given, name, owner, phone, email, rfm_segment and
    value_tier where present.  Most spent first.

    >>> orders = pd.DataFrame({"customer_id": ["C1", "C2", "C2"], "product_id": ["P1", "P1", "P2"],
    ...     "order_date": pd.to_datetime(["2026-01-02"] * 3), "amount": [10.0, 30.0, 5.0]})
    >>> cross_sell(orders, bought="P1", never="P2")["customer_id"].tolist()
    ['C1']
    """
    a, b = _items(bought), _items(never)
    if not a:
        raise ValueError("cross_sell needs at least one product or category in 'bought'")
    source, _ = _item_sql(products, level)
    in_a = ", ".join(_sql_text(x) for x in a)
    in_b = ", ".join(_sql_text(x) for x in b) or "NULL"
    sql = (f"WITH l AS {source} "
           f"SELECT customer_id, count(*) AS orders_of_a, sum(amount) AS spent_on_a, max(day) AS last_order "
           f"FROM l WHERE purchase AND item IN ({in_a}) AND customer_id NOT IN "
           f"(SELECT customer_id FROM l WHERE purchase AND item IN ({in_b})) "
           f"GROUP BY customer_id ORDER BY spent_on_a DESC, customer_id")
    out = _lines(orders, as_of).query("o", sql).df()
    out["orders_of_a"] = out["orders_of_a"].astype("int64")
    out["last_order"] = pd.to_datetime(out["last_order"])
    if customers is not None and "customer_id" in customers.columns:
        keep = [c for c in ("name", "owner", "phone", "email", "rfm_segment", "value_tier") if c in customers.columns]
        info = customers.drop_duplicates("customer_id").assign(
            customer_id=customers["customer_id"].astype("string"))[["customer_id", *keep]]
        out = out.assign(customer_id=out["customer_id"].astype("string")).merge(info, on="customer_id", how="left")
    return out.reset_index(drop=True)


def product_pairs(orders, products: pd.DataFrame | None = None, *, level: str = "product", min_customers: int = 3,
                  top: int = 20, as_of=None) -> pd.DataFrame:
    """The strongest "bought together" pairs: which A and B the same customers buy.

    Counted over customers (not baskets): ``customers`` bought both; ``a_customers``,
    ``b_customers`` bought each; ``confidence`` = customers / a_customers (the
    share of A's buyers who also bought B; ``confidence_ba`` the other way);
    ``lift`` = confidence / (b_customers / all buyers): above 1 the pair goes
    together more than chance.  Pairs with fewer than ``min_customers`` common
    buyers are left out; the ``top`` by customers, then lift.  Feed a pair to
    :func:`cross_sell` to list A's buyers who lack B.

    >>> orders = pd.DataFrame({"customer_id": ["C1", "C1", "C2", "C2", "C3"],
    ...     "product_id": ["P1", "P2", "P1", "P2", "P3"], "amount": [1.0] * 5,
    ...     "order_date": pd.to_datetime(["2026-01-02"] * 5)})
    >>> product_pairs(orders, min_customers=2)[["a", "b", "customers", "lift"]].values.tolist()
    [['P1', 'P2', 2, 1.5]]
    """
    source, _ = _item_sql(products, level)
    sql = (f"WITH l AS (SELECT DISTINCT customer_id, item FROM {source} WHERE purchase), "
           f"n AS (SELECT count(DISTINCT customer_id) AS buyers FROM l), "
           f"c AS (SELECT item, count(*) AS k FROM l GROUP BY item) "
           f"SELECT x.item AS a, y.item AS b, count(*) AS customers, ca.k AS a_customers, cb.k AS b_customers, "
           f"count(*) / ca.k AS confidence, count(*) / cb.k AS confidence_ba, "
           f"(count(*) * any_value(n.buyers)) / (ca.k * cb.k) AS lift "
           f"FROM l x JOIN l y ON x.customer_id = y.customer_id AND x.item < y.item "
           f"JOIN c ca ON ca.item = x.item JOIN c cb ON cb.item = y.item CROSS JOIN n "
           f"GROUP BY x.item, y.item, ca.k, cb.k HAVING count(*) >= {int(min_customers)} "
           f"ORDER BY customers DESC, lift DESC, a, b LIMIT {int(top)}")
    out = _lines(orders, as_of).query("o", sql).df()
    for c in ("customers", "a_customers", "b_customers"):
        out[c] = out[c].astype("int64")
    if level == "product" and products is not None:
        names = _catalogue(products).set_index("product_id")["name"]
        out.insert(2, "a_name", out["a"].map(names))
        out.insert(3, "b_name", out["b"].map(names))
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- stock

def low_stock_mask(products: pd.DataFrame) -> pd.Series:
    """True for products on sale whose stock is at or below their reorder level.

    A blank stock or reorder level is never low (nothing to compare), and a
    discontinued product is not restocked.  The rules' ``low_stock()`` and the
    dashboard use this one test.

    >>> low_stock_mask(pd.DataFrame({"stock": [0, 5, None, 1], "reorder_level": [0, 2, 3, 5],
    ...     "status": ["active", "active", "active", "discontinued"]})).tolist()
    [True, False, False, False]
    """
    if "stock" not in products.columns or "reorder_level" not in products.columns:
        return pd.Series(False, index=products.index)
    stock = pd.to_numeric(products["stock"], errors="coerce")
    level = pd.to_numeric(products["reorder_level"], errors="coerce")
    low = (stock <= level).fillna(False).astype(bool)
    if "status" in products.columns:
        low &= ~(products["status"].astype("string") == "discontinued").fillna(False).astype(bool)
    return low


def low_stock(products: pd.DataFrame) -> pd.DataFrame:
    """The products of :func:`low_stock_mask`, with ``short_by`` (reorder level - stock), most short first.

    Columns: product_id, name, spec, category, stock, reorder_level, short_by, owner.

    >>> low_stock(pd.DataFrame({"product_id": ["P1", "P2"], "stock": [1, 9], "reorder_level": [4, 2]}))[
    ...     ["product_id", "short_by"]].values.tolist()
    [['P1', 3.0]]
    """
    cols = ["product_id", "name", "spec", "category", "stock", "reorder_level", "short_by", "owner"]
    sub = products[low_stock_mask(products)].reindex(columns=[c for c in cols if c != "short_by"])
    sub["short_by"] = (pd.to_numeric(sub["reorder_level"], errors="coerce")
                       - pd.to_numeric(sub["stock"], errors="coerce")).astype("float64")
    return sub.sort_values(["short_by", "product_id"], ascending=[False, True], kind="stable")[cols].reset_index(
        drop=True)

