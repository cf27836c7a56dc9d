"""The manager KPIs of a period against their targets, and a workspace seen through filters."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .campaigns import campaign_kpis, campaign_totals
from .common import col_of, dt_column, ratio
from .periods import in_period, period_bounds
from .pipeline import cadence_compliance, stage_counts
from .quality import completeness, duplicates
from .work import tasks_by_owner, ticket_sla

#: KPI code -> (kind, settings key of its target or None, higher_is_better)
KPIS: dict[str, tuple[str, str | None, bool]] = {
    "revenue": ("money", "target_revenue_month", True),
    "orders": ("count", None, True),
    "new_customers": ("count", None, True),
    "won_customers": ("count", None, True),
    "lead_conversion": ("rate", "target_lead_conversion", True),
    "follow_up_compliance": ("rate", "target_follow_up_compliance", True),
    "overdue_tasks": ("count", None, False),
    "sla_compliance": ("rate", "target_sla_compliance", True),
    "satisfaction": ("score", "target_satisfaction", True),
    "reach": ("rate", "target_reach", True),
    "open_rate": ("rate", "target_open", True),
    "conversion": ("rate", "target_conversion", True),
    "campaign_roi": ("rate", None, True),
    "completeness": ("rate", "completeness_target", True),
    "duplicate_groups": ("count", None, False),
}


def period_tables(ws, as_of: object, period: str = "month", *, previous: bool = False,
                  bounds: tuple | None = None) -> dict[str, pd.DataFrame]:
    """The period-scoped slices of a workspace: orders, customers created, tickets created,
    messages queued and their campaigns, within :func:`period_bounds` (or the ``bounds`` given,
    e.g. a :class:`CalendarPeriod`)."""
    from ..orderstore import between, is_relation, orders_of

    bounds = bounds if bounds is not None else period_bounds(as_of, period, previous=previous)
    orders = orders_of(ws)
    customers = ws["customers"]
    tickets = ws["tickets"]
    messages = ws["messages"]
    return {
        "bounds": bounds,
        "orders": (between(orders, *bounds, closed=getattr(bounds, "closed", "right")) if is_relation(orders)
                   else orders[in_period(dt_column(orders, "order_date", "orders"), bounds)]),
        "customers": customers[in_period(dt_column(customers, "created_at", "customers"), bounds)],
        "tickets": tickets[in_period(dt_column(tickets, "created_at", "tickets"), bounds)],
        "messages": messages[in_period(dt_column(messages, "queued_at", "messages"), bounds)],
    }


def _period_values(ws, as_of: pd.Timestamp, period: str, previous: bool, bounds=None) -> dict[str, float]:
    p = period_tables(ws, as_of, period, previous=previous, bounds=bounds)
    start, end = p["bounds"]
    s = ws.settings
    orders = p["orders"]
    from ..orderstore import is_relation, orders_of

    if is_relation(orders):          # an order source: DuckDB counts and sums the period's orders
        n_orders, revenue = orders.aggregate("count_if(coalesce(amount, 0) >= 0), "
                                             "coalesce(sum(coalesce(amount, 0.0)), 0.0)").fetchall()[0]
    else:
        amount = pd.to_numeric(col_of(orders, "amount", "orders"), errors="coerce").fillna(0.0)
        n_orders, revenue = int((amount >= 0).sum()), float(amount.sum())
    sla = ticket_sla(p["tickets"], end)
    camp = campaign_kpis(ws["campaigns"], p["messages"], s, as_of=end)
    camp = camp[camp["target"] > 0]
    ct = campaign_totals(camp)
    deals = ws["deals"]
    won = (col_of(deals, "stage", "deals") == "won").fillna(False) & in_period(
        dt_column(deals, "closed_at", "deals").fillna(dt_column(deals, "stage_changed_at", "deals")), (start, end))
    cust = ws["customers"]
    cust_then = cust[(dt_column(cust, "created_at", "customers") <= end).fillna(True)]
    cad = cadence_compliance(cust_then, ws["interactions"], s, end, orders=orders_of(ws))
    rated = sla["rated"].sum()
    return {
        "revenue": float(revenue),
        "orders": int(n_orders),
        "new_customers": int(len(p["customers"])),
        "won_customers": int(won.sum()),
        "follow_up_compliance": ratio(cad["on_cadence"].sum(), cad["customers"].sum()),
        "sla_compliance": ratio(sla["met"].sum(), sla["met"].sum() + sla["breached"].sum()),
        "satisfaction": ratio((sla["satisfaction"].fillna(0) * sla["rated"]).sum(), rated),
        "reach": ct["reach"], "open_rate": ct["open_rate"], "conversion": ct["conversion"],
        "campaign_roi": ct["roi"],
    }


def kpi_summary(ws, as_of: object = None, period: str = "month", *,
                duplicates_frame: pd.DataFrame | None = None, bounds: tuple | None = None,
                previous_bounds: tuple | None = None) -> pd.DataFrame:
    """The manager's KPIs with targets, for the period ending ``as_of``.

    One row per KPI of :data:`KPIS`: ``kpi`` (code; label with
    ``i18n.t("kpi_" + code)``), ``kind`` (rate/count/money/score),
    ``value``, ``previous`` (same KPI for the previous period; NA for
    snapshots that cannot be rebuilt), ``target`` (from Settings; NA when
    none), ``ok`` (value meets target: >= for most, NA without target or
    value).  Definitions:

    * revenue / orders: net amount / purchases (amount >= 0) of orders dated
      in the period; target ``target_revenue_month`` (month reports only,
      when > 0);
    * new_customers: customers created in the period; won_customers: deals
      won (closed) in the period;
    * lead_conversion (snapshot): customers at stage won / customers with a
      stage (:func:`funnel`), target ``target_lead_conversion``;
    * follow_up_compliance: :func:`cadence_compliance` as of the period end
      (customers created by then), target ``target_follow_up_compliance``;
    * overdue_tasks (snapshot): open tasks past due (:func:`tasks_by_owner`);
    * sla_compliance / satisfaction: :func:`ticket_sla` over tickets created in
      the period, targets ``target_sla_compliance`` / ``target_satisfaction``;
    * reach / open_rate / conversion / campaign_roi: :func:`campaign_kpis`
      over messages queued in the period, rates recomputed from the summed
      counts; targets ``target_reach`` / ``target_open`` / ``target_conversion``;
    * completeness (snapshot): :func:`completeness` overall, target
      ``completeness_target``;
    * duplicate_groups (snapshot): distinct groups of possible duplicates
      (:func:`duplicates`, ``attrs["groups"]``; pass ``duplicates_frame`` when
      it is already computed: matching phone numbers is the slow part).
    """
    as_of = ws.as_of(as_of) if as_of is None else pd.Timestamp(as_of)
    s = ws.settings
    bounds = bounds if bounds is not None else period_bounds(as_of, period)
    previous_bounds = previous_bounds if previous_bounds is not None else period_bounds(as_of, period, previous=True)
    cur = _period_values(ws, as_of, period, previous=False, bounds=bounds)
    prev = _period_values(ws, as_of, period, previous=True, bounds=previous_bounds)
    customers = ws["customers"]
    fn = stage_counts(customers)
    with_stage = fn["customers"].sum()
    cur["lead_conversion"] = ratio(fn.loc[fn["stage"] == "won", "customers"].sum(), with_stage)
    cur["overdue_tasks"] = int(tasks_by_owner(ws["tasks"], as_of)["overdue"].sum())
    comp = completeness(customers, float(s.get("completeness_target", 0.9)))
    cur["completeness"] = comp.attrs["overall"]
    dups = duplicates_frame if duplicates_frame is not None else duplicates(
        customers, s.get("dedupe_keys") or None, region=s.get("phone_region") or "CN")
    cur["duplicate_groups"] = int(dups.attrs["groups"])
    rows = []
    for code, (kind, tkey, higher) in KPIS.items():
        target = s.get(tkey) if tkey else None
        if code == "revenue" and (period != "month" or not target):
            target = None
        value = cur.get(code, np.nan)
        value = float(value) if value is not None and not pd.isna(value) else np.nan
        pv = prev.get(code, np.nan)
        pv = float(pv) if pv is not None and not pd.isna(pv) else np.nan
        tv = float(target) if target is not None and not pd.isna(target) else np.nan
        ok = pd.NA if (np.isnan(tv) or np.isnan(value)) else bool(value >= tv if higher else value <= tv)
        rows.append({"kpi": code, "kind": kind, "value": value, "previous": pv, "target": tv, "ok": ok})
    out = pd.DataFrame(rows)
    out["kpi"] = out["kpi"].astype("string")
    out["kind"] = out["kind"].astype("string")
    out["ok"] = out["ok"].astype("boolean")
    out.attrs.update(as_of=as_of, period=period, bounds=bounds, previous_bounds=previous_bounds)
    return out



#: the sheets that belong to customers (kept for the chosen customers only)
CUSTOMER_SHEETS = ("orders", "interactions", "deals", "tickets", "messages")


class WorkspaceScope:
    """A workspace seen through a dashboard's filters, for every figure of the page alike.

    ``ws[entity]`` gives the chosen customers (``owner``, ``source`` and
    ``created`` = (start, end), both ends included), their orders,
    interactions, deals, tickets and messages; tasks of ``owner`` (and, when
    the customers are narrowed by source or creation date, of the chosen
    customers); every other sheet whole.  Everything else (settings,
    ``as_of()``, ``path`` ...) is the workspace's own, so :func:`kpi_summary`,
    :func:`funnel` and the rest work on it unchanged.
    """

    #: tells :func:`crmkit.orderstore.workspace_orders` that ``self["customers"]`` is a filtered view,
    #: so orders from an order source are limited to those customers (as ``self["orders"]`` is)
    filters_customers = True

    def __init__(self, ws, *, owner: str | None = None, source: str | None = None,
                 created: tuple[pd.Timestamp | None, pd.Timestamp] | None = None):
        self._ws = ws
        self.owner, self.source, self.created = owner, source, created
        customers = ws["customers"]
        keep = pd.Series(True, index=customers.index)
        if owner is not None:
            keep &= (col_of(customers, "owner", "customers").astype("string") == str(owner)).fillna(False)
        if source is not None:
            keep &= (col_of(customers, "source", "customers").astype("string") == str(source)).fillna(False)
        if created is not None:
            start, end = created
            when = dt_column(customers, "created_at", "customers")
            inside = when <= pd.Timestamp(end)
            if start is not None:
                inside &= when >= pd.Timestamp(start)
            keep &= inside.fillna(False)
        self._keep = keep.to_numpy(dtype=bool)
        self.customer_ids = pd.Index(customers.loc[self._keep, "customer_id"].astype("string").dropna().unique())
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in self._frames:
            df = self._ws[key]
            if key == "customers":
                df = df[self._keep]
            elif key in CUSTOMER_SHEETS and "customer_id" in df.columns:
                df = df[df["customer_id"].astype("string").isin(self.customer_ids).fillna(False).to_numpy(dtype=bool)]
            elif key == "tasks":
                keep = pd.Series(True, index=df.index)
                if self.owner is not None:
                    keep &= (col_of(df, "owner", "tasks").astype("string") == str(self.owner)).fillna(False)
                if self.source is not None or self.created is not None:
                    keep &= col_of(df, "customer_id", "tasks").astype("string").isin(self.customer_ids).fillna(False)
                df = df[keep.to_numpy(dtype=bool)]
            self._frames[key] = df
        return self._frames[key]

    def __getattr__(self, name: str):
        return getattr(self._ws, name)

    def __repr__(self) -> str:
        return (f"<WorkspaceScope of {self._ws!r}: owner={self.owner!r} source={self.source!r} "
                f"created={self.created!r}, {len(self.customer_ids)} customers>")


def scope_workspace(ws, *, owner: str | None = None, source: str | None = None,
                    created: tuple[pd.Timestamp | None, pd.Timestamp] | None = None):
    """``ws`` restricted to the customers a dashboard's filters choose (:class:`WorkspaceScope`);
    ``ws`` itself when nothing is filtered.

    >>> kpi_summary(scope_workspace(ws, owner="王经理", source="website_form"), period="month")
    """
    if owner is None and source is None and created is None:
        return ws
    return WorkspaceScope(ws, owner=owner, source=source, created=created)
