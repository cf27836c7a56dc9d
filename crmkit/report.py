"""The weekly / monthly Excel report a manager forwards (``crmkit report``).

>>> from crmkit.report import write_report
>>> write_report(ws, period="week")          # DIR/reports/report-week-<date>.xlsx

The workbook is written in the workspace's language:

* **Summary**: the KPIs of :func:`crmkit.analytics.kpi_summary` for the
  period and the previous one, against their targets (green on target, red
  below), and native Excel charts: funnel, conversion by source, RFM segment
  sizes and revenue, campaign KPIs against targets, overdue tasks by owner
  and ticket SLA compliance;
* then one sheet per table (funnel, channels, cycle time, follow-up, tasks,
  tickets, campaigns, segments, data quality, trend), each an Excel table,
  with the previous period beside the current one where the table is about
  the period.

Every number comes from :mod:`crmkit.analytics` / :mod:`crmkit.rfm`
(:func:`report_tables` gathers them), so the report and the dashboards agree.
The file is written through :func:`crmkit.io.safety.replace_file`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from . import analytics as an
from .i18n import msg, t
from .report_book import build_report, is_na

__all__ = ["report_tables", "write_report", "default_report_path"]



# --------------------------------------------------------------------------- the numbers

def _prefixed(df: pd.DataFrame, cols: list[str], key: str, suffix: str = "_prev") -> pd.DataFrame:
    return df[[key, *cols]].rename(columns={c: c + suffix for c in cols})


def report_tables(ws, period: str = "month", as_of: object = None, *, month: str | None = None,
                  week: str | None = None) -> dict[str, pd.DataFrame]:
    """Every table of the report, keyed by name, computed with :mod:`crmkit.analytics`.

    The period is a calendar month or a Monday-to-Sunday week
    (:func:`crmkit.analytics.calendar_period`): by default the last full one
    before ``as_of``, or ``month="2026-11"`` / ``week="2026-W47"``; the
    comparison is the calendar month or week before it.  Snapshots (the
    funnel, open tasks, data quality, RFM) are taken at ``as_of``.

    Keys: ``kpis``, ``funnel``, ``channels``, ``revenue_by_channel``,
    ``stage_durations``, ``days_to_close``, ``follow_up``, ``tasks``,
    ``tickets``, ``campaigns``, ``campaign_targets``, ``segments``,
    ``value_tiers``, ``completeness``, ``duplicates``, ``trend``.  Period
    tables carry ``*_prev`` columns for the previous period.
    """
    from .orderstore import orders_of
    from .rfm import rfm_scores

    as_of = ws.as_of(as_of)
    orders = orders_of(ws)       # the Orders sheet, or a relation over the order source (aggregated by DuckDB)
    settings = ws.settings
    bounds = an.calendar_period(as_of, period, month=month, week=week)
    prev_bounds = an.calendar_period(as_of, period, month=month, week=week, previous=True)
    cur = an.period_tables(ws, as_of, period, bounds=bounds)
    prev = an.period_tables(ws, as_of, period, bounds=prev_bounds)
    customers = ws["customers"]
    out: dict[str, pd.DataFrame] = {}

    dups = an.duplicates(customers, settings.get("dedupe_keys") or None, region=settings.get("phone_region") or "CN")
    out["kpis"] = an.kpi_summary(ws, as_of, period, duplicates_frame=dups, bounds=bounds, previous_bounds=prev_bounds)

    fn = an.funnel(customers)
    new_c = an.stage_counts(cur["customers"]).rename(columns={"customers": "new_leads"})
    new_p = an.stage_counts(prev["customers"]).rename(columns={"customers": "new_leads_prev"})
    out["funnel"] = fn.merge(new_c, on="stage", how="left").merge(new_p, on="stage", how="left")
    out["funnel"].attrs.update(fn.attrs)

    ch = an.conversion_by_source(customers)
    nc = an.conversion_by_source(cur["customers"])[["source", "customers"]].rename(columns={"customers": "new_leads"})
    npv = an.conversion_by_source(prev["customers"])[["source", "customers"]].rename(
        columns={"customers": "new_leads_prev"})
    ch = ch.merge(nc, on="source", how="left").merge(npv, on="source", how="left")
    out["channels"] = ch.fillna({"new_leads": 0, "new_leads_prev": 0}).astype(
        {"new_leads": "int64", "new_leads_prev": "int64"})

    rc = an.revenue_by_channel(cur["orders"])
    rp = an.revenue_by_channel(prev["orders"])
    out["revenue_by_channel"] = rc.merge(_prefixed(rp, ["orders", "revenue"], "channel"), on="channel",
                                         how="outer").fillna({"orders": 0, "revenue": 0.0, "orders_prev": 0,
                                                              "revenue_prev": 0.0}).astype(
        {"orders": "int64", "orders_prev": "int64"})

    out["stage_durations"] = an.stage_durations(ws["deals"], as_of, ws["history"])
    out["days_to_close"] = an.days_to_close(ws["deals"])

    start_prev_end = prev["bounds"][1]
    fu = an.cadence_compliance(customers, ws["interactions"], settings, as_of, orders=orders)
    cust_then = customers[(pd.to_datetime(customers["created_at"]) <= start_prev_end).fillna(True)]
    fp = an.cadence_compliance(cust_then, ws["interactions"], settings, start_prev_end, orders=orders)
    out["follow_up"] = fu.merge(_prefixed(fp, ["compliance"], "stage"), on="stage", how="left")

    out["tasks"] = an.tasks_by_owner(ws["tasks"], as_of)

    tk = an.ticket_sla(cur["tickets"], as_of)
    tp = an.ticket_sla(prev["tickets"], start_prev_end)
    out["tickets"] = tk.merge(_prefixed(tp, ["tickets", "compliance", "satisfaction"], "type"), on="type",
                              how="outer")
    out["tickets"]["tickets"] = out["tickets"]["tickets"].fillna(0).astype("int64")
    out["tickets"]["tickets_prev"] = out["tickets"]["tickets_prev"].fillna(0).astype("int64")
    for c in ("open", "with_sla", "met", "breached", "pending", "rated", "low_satisfaction"):
        out["tickets"][c] = out["tickets"][c].fillna(0).astype("int64")

    camp = an.campaign_kpis(ws["campaigns"], cur["messages"], settings, as_of=as_of)
    camp_prev = an.campaign_kpis(ws["campaigns"], prev["messages"], settings, as_of=start_prev_end)
    camp_cur = camp[camp["target"] > 0].reset_index(drop=True)
    out["campaigns"] = camp_cur
    tot = an.campaign_totals(camp_cur)
    tot_p = an.campaign_totals(camp_prev[camp_prev["target"] > 0])
    out["campaign_targets"] = pd.DataFrame({
        "kpi": pd.array(["reach", "open_rate", "conversion"], dtype="string"),
        "value": [tot["reach"], tot["open_rate"], tot["conversion"]],
        "previous": [tot_p["reach"], tot_p["open_rate"], tot_p["conversion"]],
        "target": [float(settings["target_reach"]), float(settings["target_open"]),
                   float(settings["target_conversion"])],
    })

    thresholds = settings.get("rfm_thresholds")
    scores = rfm_scores(orders, as_of, customers=customers, thresholds=thresholds)
    scores_prev = rfm_scores(orders, start_prev_end, customers=cust_then, thresholds=thresholds)
    seg = an.segments(scores)
    out["segments"] = seg.merge(_prefixed(an.segments(scores_prev), ["customers", "revenue"], "segment"),
                                on="segment", how="left")
    tiers = an.value_tiers(scores)
    out["value_tiers"] = tiers.merge(_prefixed(an.value_tiers(scores_prev), ["customers", "revenue"], "value_tier"),
                                     on="value_tier", how="left")

    out["completeness"] = an.completeness(customers, float(settings.get("completeness_target", 0.9)))
    out["duplicates"] = dups
    last_instant = min(pd.Timestamp(as_of), bounds.end - pd.Timedelta(1, "ns"))   # the report's period is the last bucket
    out["trend"] = an.trend(customers, orders, last_instant, "W" if period == "week" else "M", 12)
    for df in out.values():
        df.attrs.setdefault("as_of", as_of)
    out["kpis"].attrs["period"] = period
    return out


def default_report_path(ws, period: str, as_of: pd.Timestamp, *, month: str | None = None,
                        week: str | None = None) -> Path:
    """``DIR/reports/report-<period>-<label>.xlsx``, the label of the calendar period (2026-10, 2026-W46)."""
    label = an.calendar_period(as_of, period, month=month, week=week).label
    return Path(ws.path) / "reports" / f"report-{period}-{label}.xlsx"


def write_report(ws, period: str = "month", as_of: object = None, out: str | os.PathLike | None = None,
                 *, lang: str | None = None, tables: dict[str, pd.DataFrame] | None = None,
                 return_tables: bool = False, month: str | None = None, week: str | None = None,
                 force: bool = False):
    """Write the period report of ``ws`` and return its path.

    ``period`` is ``week`` or ``month``: a calendar month or a week from
    Monday to Sunday, the last full one before ``as_of`` unless ``month``
    (``"2026-11"``) or ``week`` (``"2026-W47"``) names another; ``as_of``
    defaults to the workspace's as-of time; ``out`` defaults to :func:`default_report_path`; ``lang`` to
    the workspace language.  Written through the safe write path.  With
    ``return_tables`` returns ``(path, tables)`` (the :func:`report_tables`).
    ``out`` is checked by :func:`crmkit.io.outputs.check_output_path` (``force``
    replaces an existing file crmkit did not write; a workspace workbook is
    always refused).
    """
    import xlsxwriter

    from .io.outputs import check_output_path, mark_output
    from .io.safety import replace_file

    if out is not None:
        check_output_path(out, workspace=ws.path, force=force)
    an.period_bounds(pd.Timestamp("2000-01-01"), period)  # validates the period name
    as_of = ws.as_of(as_of)
    lang = lang or ws.lang
    tables = tables if tables is not None else report_tables(ws, period, as_of, month=month, week=week)
    path = Path(out) if out is not None else default_report_path(ws, period, as_of, month=month, week=week)
    if path.suffix.lower() != ".xlsx":
        from .exceptions import UsageError

        raise UsageError(msg("e_report_xlsx"), file=str(path))

    def produce(target: Path) -> None:
        wb = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "nan_inf_to_errors": False})
        wb.set_properties({"title": f"{t('rep_title', lang)} {as_of:%Y-%m-%d}", "comments": t("rep_generated", lang)})
        mark_output(wb, "report")
        try:
            build_report(wb, ws, tables, period, as_of, lang)
        finally:
            wb.close()

    replace_file(path, produce, workspace=ws.path)
    from .io.outputs import record_output

    record_output(path, ws.path)
    return (path, tables) if return_tables else path


def report_payload(path: Path, tables: dict[str, pd.DataFrame]) -> dict:
    """The ``crmkit report --json`` object: path, period, as_of, bounds and the KPIs with targets."""
    kpis = tables["kpis"]

    def num(v):
        return None if is_na(v) else round(float(v), 6)

    below = [str(k) for k, ok in zip(kpis["kpi"], kpis["ok"]) if not is_na(ok) and not ok]
    bounds = kpis.attrs["bounds"]
    start, end = bounds[0], bounds[1]
    return {
        "path": str(path),
        "period": kpis.attrs.get("period"),
        "label": getattr(bounds, "label", None),
        "as_of": pd.Timestamp(kpis.attrs["as_of"]).isoformat(sep=" "),
        "start": start.isoformat(sep=" "),
        "end": end.isoformat(sep=" "),
        "kpis": {str(r.kpi): {"value": num(r.value), "previous": num(r.previous), "target": num(r.target),
                              "ok": None if is_na(r.ok) else bool(r.ok)} for r in kpis.itertuples(index=False)},
        "below_target": below,
        "on_target": int((kpis["ok"] == True).sum()),  # noqa: E712 - nullable boolean
        "with_target": int(kpis["ok"].notna().sum()),
    }
