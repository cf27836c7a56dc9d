"""The Products view of the Overview dashboard: revenue and margin, low stock, top products per segment.

Every number comes from :mod:`crmkit.analytics.products` (over the orders the
page's filters chose, from :func:`crmkit.orderstore.orders_of`) and
:func:`crmkit.rfm.workspace_scores`; this module only
lays them out as a chart and HTML tables with headers in the page's language.

>>> view = product_view(ws, orderstore.orders_of(scope), ws.as_of(), "zh")
>>> view.category_figure, view.products_html, view.low_stock_html
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..analytics import category_revenue, low_stock, product_revenue, top_products_by_segment
from ..rfm import workspace_scores
from ..schema import RFM_SEGMENT
from . import formatting as fmt
from .charts import EmptyChart, grouped_bar_figure

_t = fmt.t

PRODUCT_COLUMNS = ["product_id", "name", "category", "orders", "customers", "units", "revenue", "cost", "margin",
                   "margin_pct"]
CATEGORY_COLUMNS = ["category", "products", "orders", "customers", "units", "revenue", "cost", "margin", "margin_pct"]
LOW_STOCK_COLUMNS = ["product_id", "name", "spec", "category", "stock", "reorder_level", "short_by", "owner"]
TOP_COLUMNS = ["rfm_segment", "rank", "product_id", "name", "customers", "units", "revenue", "share"]


@dataclass
class ProductView:
    note: str                  # HTML: why the tables are empty, or ""
    category_figure: object    # revenue and margin per category (plotly figure or EmptyChart)
    categories_html: str
    products_html: str
    low_stock_html: str
    top_html: str


def _formats(lang: str) -> dict[str, str]:
    money = {k: "money" for k in ("revenue", "cost", "margin")}
    out = {fmt.column_label(k, lang, "products"): v for k, v in money.items()}
    out[fmt.column_label("margin_pct", lang)] = "pct"
    out[fmt.column_label("share", lang)] = "pct"
    return out


def category_chart(by_category: pd.DataFrame, lang: str):
    """Revenue and margin per category (grouped bars), or an empty chart when nothing was sold."""
    title = _t("dash_products_by_category", lang)
    if by_category.empty or not by_category["revenue"].abs().sum():
        return EmptyChart(title, lang)
    series = {_t("col_revenue", lang): by_category["revenue"], _t("col_margin", lang): by_category["margin"]}
    return grouped_bar_figure(by_category["category"].tolist(), series, title)


def product_view(ws, orders, as_of, lang: str, *, top: int = 3) -> ProductView:
    """The view for ``orders`` (a frame or DuckDB relation, e.g. the Overview's scoped orders) of workspace ``ws``.

    Top products per segment use the RFM segments of the whole workspace
    (scores do not change with the page's filters; the filters choose the orders), read through
    :mod:`crmkit.orderstore` like every other order figure.
    """
    products = ws["products"]
    by_product = product_revenue(orders, products, as_of=as_of, lang=lang)
    by_category = category_revenue(orders, products, as_of=as_of, lang=lang, by_product=by_product)
    has = bool(by_product["product_id"].notna().any())
    note = "" if has else f'<div class="crmkit-note" id="crmkit-no-products">{fmt.esc(_t("dash_no_products", lang))}</div>'
    formats = _formats(lang)
    products_html = fmt.table_html(
        fmt.display_frame(by_product, lang, entity="products", columns=PRODUCT_COLUMNS), formats=formats,
        flags=(by_product["margin"] < 0).fillna(False), table_id="crmkit-products", lang=lang)
    categories_html = fmt.table_html(
        fmt.display_frame(by_category, lang, entity="products", columns=CATEGORY_COLUMNS), formats=formats,
        flags=(by_category["margin"] < 0).fillna(False), table_id="crmkit-product-categories", lang=lang)
    low = low_stock(products)
    low_stock_html = fmt.table_html(
        fmt.display_frame(low, lang, entity="products", columns=LOW_STOCK_COLUMNS),
        empty=_t("dash_low_stock_none", lang), flags=[True] * len(low), table_id="crmkit-low-stock", lang=lang)
    scores = workspace_scores(ws, as_of)       # the Orders sheet or the order source Settings name
    best = top_products_by_segment(orders, scores, products, n=top, as_of=as_of).rename(
        columns={"group": "rfm_segment"})
    order = {code: i for i, code in enumerate(RFM_SEGMENT.codes)}      # segments in their usual order
    best = best.assign(_o=best["rfm_segment"].map(order)).sort_values(["_o", "rank"], kind="stable")
    top_html = fmt.table_html(fmt.display_frame(best, lang, entity="products", columns=TOP_COLUMNS),
                              formats=formats, table_id="crmkit-top-products", lang=lang)
    return ProductView(note, category_chart(by_category, lang), categories_html, products_html, low_stock_html,
                       top_html)
