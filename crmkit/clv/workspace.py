"""Lifetime value for a workspace: its orders in, the CLV columns of Customers out.

>>> result = workspace_clv(ws)                   # nothing written
>>> result.model.bgnbd, result.table.head()
>>> apply_clv(ws)                                # writes p_alive, expected_purchases, expected_spend, clv

The orders come from :func:`crmkit.orderstore.workspace_orders` (the Orders
sheet, or the order source Settings name), times are in days, the horizon and
discount rate come from Settings (``clv_horizon_days``, default 365;
``clv_discount_rate``, default 10 % a year) unless given.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pandas as pd

from ..exceptions import ValidationError
from ..orderstore import source_path, workspace_orders
from ..schema import ENTITIES, workbook_file
from .predict import PREDICTION_COLUMNS, CLVModel, call_list, fit, predict
from .purchases import SUMMARY_COLUMNS, summary

__all__ = ["CUSTOMER_COLUMNS", "WorkspaceCLV", "workspace_clv", "apply_clv", "merge_clv", "clv_payload", "clv_text"]

#: The derived Customers columns :func:`apply_clv` writes (crmkit.schema ``_CLV_FIELDS``).
CUSTOMER_COLUMNS = PREDICTION_COLUMNS

#: Decimals kept in the workbook per column.
_DECIMALS = {"p_alive": 4, "expected_purchases": 3, "expected_spend": 2, "clv": 2}


@dataclass(frozen=True)
class WorkspaceCLV:
    """A workspace's lifetime-value result: the fitted model and one row per customer.

    ``table`` is indexed by ``customer_id`` (every customer of the Customers
    sheet, in its order) with the summary columns (in days) and the
    prediction columns.
    """

    model: CLVModel
    table: pd.DataFrame
    as_of: pd.Timestamp
    horizon_days: int
    discount_rate: float

    def call_list(self, n: int = 20) -> pd.DataFrame:
        """:func:`crmkit.clv.call_list` for this workspace (who to call this week)."""
        return call_list(self.model, self.table, self.table, n=n)


def workspace_clv(ws, as_of: object = None, *, horizon_days: int | None = None,
                  discount_rate: float | None = None) -> WorkspaceCLV:
    """Summary, fit and predictions for a workspace's customers as of ``ws.as_of(as_of)``; nothing written.

    Raises :class:`~crmkit.exceptions.ValidationError` (Orders sheet, the
    reason) when the orders cannot be fitted: no purchases, too few repeat
    buyers, every amount the same, no convergence.

    >>> result = workspace_clv(ws, horizon_days=180)             # doctest: +SKIP
    >>> result.table.sort_values("clv", ascending=False).head()  # doctest: +SKIP
    """
    when = ws.as_of(as_of)
    horizon = int(ws.settings.get("clv_horizon_days", 365) if horizon_days is None else horizon_days)
    rate = float(ws.settings.get("clv_discount_rate", 0.10) if discount_rate is None else discount_rate)
    try:
        s = summary(workspace_orders(ws), when, customers=ws["customers"], unit_days=1)
        model = fit(s)
    except ValidationError as exc:       # say where the orders are: the Orders sheet (in the workbook's
        source = source_path(ws)         # language) or the order source Settings name
        exc.file = str(source) if source is not None else workbook_file(ENTITIES["orders"].workbook)
        exc.sheet = None if source is not None else ENTITIES["orders"].sheet_name(ws.lang)
        raise
    pred = predict(model, s, horizon_days=horizon, discount_rate=rate)
    table = pd.concat([s[list(SUMMARY_COLUMNS)], pred], axis=1)
    return WorkspaceCLV(model, table, when, horizon, rate)


def merge_clv(customers: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``customers`` with the CLV columns replaced by those of ``table`` (by customer_id), rounded."""
    out = customers.copy()
    ids = out["customer_id"].astype("string").to_numpy()
    for col in CUSTOMER_COLUMNS:
        mapped = table[col].reindex(ids).round(_DECIMALS[col])
        mapped.index = out.index
        out[col] = mapped.astype("float64")
    return out


def apply_clv(ws, as_of: object = None, *, horizon_days: int | None = None, discount_rate: float | None = None,
              save: bool = True, lock: bool = True) -> WorkspaceCLV:
    """Compute :func:`workspace_clv` and write p_alive, expected_purchases, expected_spend, clv into Customers.

    Like :func:`crmkit.rfm.apply_rfm`: derived columns (grey, with a comment
    in the workbook), written with ``save`` through the safe write path while
    holding the workspace lock (``lock=False`` when the caller holds it).
    When the data cannot be fitted the error is raised before anything is
    written.

    >>> apply_clv(ws).model.as_dict()["bgnbd"]["r"]    # doctest: +SKIP
    """
    from ..io.journal import workspace_lock

    guard = workspace_lock(ws.path) if (save and lock) else contextlib.nullcontext()
    with guard:
        result = workspace_clv(ws, as_of, horizon_days=horizon_days, discount_rate=discount_rate)
        ws.replace("customers", merge_clv(ws["customers"], result.table))
        if save:
            ws.save(["customers"])
    return result


# --------------------------------------------------------------------------- output

def clv_payload(result: WorkspaceCLV, top: int = 10) -> dict:
    """The ``crmkit clv --json`` object.

    ``{as_of, horizon_days, discount_rate, model: {unit_days, bgnbd: {r, alpha, a, b, ...},
    gamma_gamma: {p, q, gamma, ...}}, customers, customers_with_purchases, repeat_buyers,
    totals: {clv, expected_purchases, mean_p_alive}, top: [{customer_id, clv, p_alive,
    expected_purchases, expected_spend}], call: [{customer_id, value_at_risk, p_alive, clv}]}``
    """
    table = result.table
    known = table["T"].notna()
    top_rows = table[known].sort_values("clv", ascending=False, kind="stable").head(top)
    calls = result.call_list(top)
    return {
        "as_of": pd.Timestamp(result.as_of).isoformat(sep=" "),
        "horizon_days": int(result.horizon_days),
        "discount_rate": float(result.discount_rate),
        "model": result.model.as_dict(),
        "customers": int(len(table)),
        "customers_with_purchases": int(known.sum()),
        "repeat_buyers": int((table["frequency"] > 0).sum()),
        "totals": {"clv": round(float(table["clv"].sum()), 2),
                   "expected_purchases": round(float(table["expected_purchases"].sum()), 3),
                   "mean_p_alive": round(float(table.loc[known, "p_alive"].mean()), 4) if known.any() else None},
        "top": [{"customer_id": str(cid), "clv": round(float(r.clv), 2), "p_alive": round(float(r.p_alive), 4),
                 "expected_purchases": round(float(r.expected_purchases), 3),
                 "expected_spend": round(float(r.expected_spend), 2)} for cid, r in top_rows.iterrows()],
        "call": [{"customer_id": str(cid), "value_at_risk": round(float(r.value_at_risk), 2),
                  "p_alive": round(float(r.p_alive), 4), "clv": round(float(r.clv), 2)}
                 for cid, r in calls.iterrows()],
    }


def clv_text(result: WorkspaceCLV, lang: str = "en", *, names: pd.Series | None = None, top: int = 10) -> str:
    """Parameters, totals, the top customers and the call list as text, in ``lang``."""
    from ..i18n import t

    p = clv_payload(result, top)
    b, g = p["model"]["bgnbd"], p["model"]["gamma_gamma"]
    lines = [
        f"{t('clv_title', lang)} ({t('clv_as_of', lang)} {pd.Timestamp(result.as_of):%Y-%m-%d %H:%M}; "
        + t("clv_horizon", lang).format(days=p["horizon_days"], rate=f"{p['discount_rate']:.1%}") + ")",
        "",
        f"{t('clv_purchases_model', lang)}: r = {b['r']:.4g}, alpha = {b['alpha']:.4g}, a = {b['a']:.4g}, "
        f"b = {b['b']:.4g}  ({b['customers']:,} {t('clv_customers_fitted', lang)})",
        f"{t('clv_spend_model', lang)}: p = {g['p']:.4g}, q = {g['q']:.4g}, gamma = {g['gamma']:.4g}  "
        f"({g['customers']:,} {t('clv_repeat_buyers', lang)})",
        f"{t('clv_total', lang)}: {p['totals']['clv']:,.2f}   {t('clv_total_purchases', lang)}: "
        f"{p['totals']['expected_purchases']:,.1f}   {t('clv_mean_p_alive', lang)}: "
        f"{(p['totals']['mean_p_alive'] or 0):.1%}",
    ]

    def name(cid: str) -> str:
        if names is None or cid not in names.index or pd.isna(names.get(cid)):
            return cid
        return f"{cid} {names[cid]}"

    def table(title: str, heads: list[str], rows: list[list[str]]) -> list[str]:
        def w(s: str) -> int:
            return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

        widths = [max(w(x) for x in col) for col in zip(heads, *rows)]

        def line(cells: list[str]) -> str:
            return "  ".join(c + " " * (wd - w(c)) if i == 0 else " " * (wd - w(c)) + c
                             for i, (c, wd) in enumerate(zip(cells, widths))).rstrip()

        return ["", title, line(heads), *(line(r) for r in rows)]

    lines += table(t("clv_top", lang),
                   [t("col_customer", lang), t("col_clv", lang), t("col_p_alive", lang),
                    t("col_expected_purchases", lang), t("col_expected_spend", lang)],
                   [[name(r["customer_id"]), f"{r['clv']:,.2f}", f"{r['p_alive']:.1%}",
                     f"{r['expected_purchases']:.2f}", f"{r['expected_spend']:,.2f}"] for r in p["top"]])
    if p["call"]:
        lines += table(t("clv_call", lang),
                       [t("col_customer", lang), t("col_value_at_risk", lang), t("col_p_alive", lang),
                        t("col_clv", lang)],
                       [[name(r["customer_id"]), f"{r['value_at_risk']:,.2f}", f"{r['p_alive']:.1%}",
                         f"{r['clv']:,.2f}"] for r in p["call"]])
    return "\n".join(lines)
