"""The report workbook's sheets: the Summary (KPIs against targets, native Excel charts, print
layout) and one Excel table per report table, with labels in the report's language.

:func:`build_report` fills an open xlsxwriter workbook with the tables of
:func:`crmkit.report.report_tables`; :func:`crmkit.report.write_report` opens the
workbook through the safe write path and calls it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import analytics as an
from .i18n import TEXT, t
from .schema import (
    CHANNEL,
    ENTITIES,
    ORDER_CHANNEL,
    RFM_SEGMENT,
    SOURCE,
    STAGE,
    TICKET_TYPE,
    VALUE_TIER,
    field_label,
)

GREEN = {"bg_color": "#C6EFCE", "font_color": "#006100"}
RED = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}
GREY = {"font_color": "#7F7F7F"}
HEADER_COLOR = "#1F4E78"


# --------------------------------------------------------------------------- labels

_ENUM_COLUMNS = {
    "stage": STAGE, "source": SOURCE, "segment": RFM_SEGMENT, "value_tier": VALUE_TIER, "type": TICKET_TYPE,
    "outcome": STAGE,
}


def _labels(values: pd.Series, column: str, lang: str, table: str) -> list:
    """Display labels for a key column: enumeration labels, field names, KPI names."""
    vals = values.tolist()
    if column == "channel":
        enum = ORDER_CHANNEL if table == "revenue_by_channel" else CHANNEL
        return [t("rep_blank", lang) if is_na(v) else enum.label(str(v), lang) for v in vals]
    if column == "value_tier":
        return [("" if table == "segments" else t("rep_blank", lang)) if is_na(v) else
                (RFM_SEGMENT.label("no_orders", lang) if v == "no_orders" else VALUE_TIER.label(str(v), lang))
                for v in vals]
    if column in _ENUM_COLUMNS:
        enum = _ENUM_COLUMNS[column]
        return [("" if table == "segments" else t("rep_blank", lang)) if is_na(v) else enum.label(str(v), lang)
                for v in vals]
    if column in ("owner", "assignee"):
        return [t("rep_unassigned", lang) if is_na(v) else str(v) for v in vals]
    if column == "kpi":
        return [t("kpi_" + str(v), lang) for v in vals]
    if column == "field":
        return [field_label(str(v), lang, ENTITIES["customers"]) for v in vals]
    if column == "key":
        return ["+".join(field_label(p, lang, ENTITIES["customers"]) for p in str(v).split("+")) for v in vals]
    return vals


def is_na(v) -> bool:
    try:
        return v is None or bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _header(column: str, lang: str, table: str) -> str:
    if table == "campaigns" and column == "target":
        return t("col_target_count", lang)
    if column.endswith("_prev") and ("col_" + column) not in TEXT:
        base = column[:-5]
        return f"{_header(base, lang, table)} ({t('rep_previous_period', lang)})"
    if column == "value" and table in ("kpis", "campaign_targets"):
        return t("col_value", lang)
    if column == "previous":
        return t("col_previous", lang)
    return t("col_" + column, lang)


# column -> kind, for number formats
_KINDS = {
    "rate": {"conversion", "compliance", "reach", "open_rate", "roi", "target_reach", "target_open",
             "target_conversion", "rate", "customers_share", "revenue_share"},
    "money": {"revenue", "cost", "amount"},
    "number": {"avg_days", "median_days", "max_days", "satisfaction", "avg_response_hours"},
    "bool": {"weakest", "reach_ok", "open_ok", "conversion_ok", "ok"},
    "date": {"period"},
}


def _kind(column: str) -> str:
    base = column[:-5] if column.endswith("_prev") else column
    for kind, cols in _KINDS.items():
        if base in cols:
            return kind
    return "other"


# --------------------------------------------------------------------------- writing

@dataclass
class _Placed:
    """Where a table landed: sheet name, header row, first/last data row, column of each key."""

    sheet: str
    header_row: int
    first: int
    last: int
    cols: dict[str, int]

    def ref(self, column: str) -> list:
        c = self.cols[column]
        return [self.sheet, self.first, c, self.last, c]


class _Writer:
    def __init__(self, wb, lang: str):
        self.wb = wb
        self.lang = lang
        base = {"border": 1, "border_color": "#D9D9D9"}
        self.f = {
            "title": wb.add_format({"bold": True, "font_size": 16, "font_color": HEADER_COLOR}),
            "subtitle": wb.add_format({"bold": True, "font_size": 12, "font_color": HEADER_COLOR}),
            "note": wb.add_format(GREY),
            "header": wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": HEADER_COLOR,
                                     "text_wrap": True, "valign": "vcenter", "border": 1}),
            "rate": wb.add_format({**base, "num_format": "0.0%"}),
            "money": wb.add_format({**base, "num_format": "#,##0.00"}),
            "number": wb.add_format({**base, "num_format": "0.0"}),
            "int": wb.add_format({**base, "num_format": "#,##0"}),
            "date": wb.add_format({**base, "num_format": "yyyy-mm-dd"}),
            "text": wb.add_format(base),
            "green": wb.add_format({**base, **GREEN, "bold": True}),
            "red": wb.add_format({**base, **RED, "bold": True}),
            "grey": wb.add_format({**base, **GREY}),
        }
        self._kind_fmt = {"rate": "rate", "money": "money", "number": "number", "date": "date"}
        self._tables = 0
        self._widths: dict[tuple[str, int], float] = {}

    def fmt_for(self, kind: str, value) -> object:
        if kind in self._kind_fmt:
            return self.f[self._kind_fmt[kind]]
        if isinstance(value, (int, np.integer)):
            return self.f["int"]
        return self.f["text"]

    def cell(self, sheet, r: int, c: int, value, fmt) -> None:
        if is_na(value):
            sheet.write_blank(r, c, None, fmt)
        elif isinstance(value, (bool, np.bool_)):
            sheet.write_string(r, c, t("yes" if value else "no", self.lang), fmt)
        elif isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date)):
            sheet.write_datetime(r, c, pd.Timestamp(value).to_pydatetime(), fmt)
        elif isinstance(value, (int, float, np.integer, np.floating)):
            v = float(value)
            if np.isinf(v):
                sheet.write_blank(r, c, None, fmt)
            else:
                sheet.write_number(r, c, v, fmt)
        else:
            sheet.write_string(r, c, str(value), fmt)

    def table(self, sheet, name: str, df: pd.DataFrame, table: str, row: int, col: int = 0,
              title: str | None = None, note: str | None = None) -> _Placed:
        """Write ``df`` as an Excel table with labelled headers at (row, col), under a title and a note."""
        lang = self.lang
        if title:
            sheet.write_string(row, col, title, self.f["subtitle"])
            row += 1
        if note:
            sheet.write_string(row, col, note, self.f["note"])
            row += 1
        columns = list(df.columns)
        headers = []
        for c in columns:
            h = _header(c, lang, table)
            while h in headers:
                h += " "
            headers.append(h)
        n = len(df)
        shown = {c: (_labels(df[c], c, lang, table) if c in _ENUM_COLUMNS or c in
                     ("channel", "owner", "assignee", "kpi", "field", "key", "value_tier") else df[c].tolist())
                 for c in columns}
        for j, c in enumerate(columns):
            kind = "rate" if table == "campaign_targets" and c in ("value", "previous", "target") else _kind(c)
            for i in range(n):
                v = shown[c][i]
                fmt = self.fmt_for(kind, v)
                if kind == "bool" and not is_na(v):
                    good = (not v) if c == "weakest" else bool(v)
                    fmt = self.f["green" if good else "red"] if (c != "weakest" or v) else fmt
                self.cell(sheet, row + 1 + i, col + j, v, fmt)
            width = max([_width(headers[j])] + [_width(_text(v)) for v in shown[c][:200]])
            width = min(max(width + 2, 10), 45)
            key = (sheet.get_name(), col + j)
            if width > self._widths.get(key, 0):      # tables stacked on one sheet share columns
                self._widths[key] = width
                sheet.set_column(col + j, col + j, width)
        self._tables += 1
        sheet.add_table(row, col, row + max(n, 1), col + len(columns) - 1, {
            "name": f"t_{name}_{self._tables}", "style": "Table Style Light 9",
            "columns": [{"header": h, "header_format": self.f["header"]} for h in headers]})
        if n == 0:
            sheet.write_string(row + 1, col, t("rep_no_data", lang), self.f["note"])
        sheet.set_landscape()
        sheet.set_paper(9)
        sheet.fit_to_pages(1, 0)
        return _Placed(sheet.get_name(), row, row + 1, row + max(n, 1), {c: col + j for j, c in enumerate(columns)})


def _text(v) -> str:
    if is_na(v):
        return ""
    if isinstance(v, float):
        return f"{v:,.2f}"
    return str(v)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def build_report(wb, ws, tables: dict[str, pd.DataFrame], period: str, as_of: pd.Timestamp, lang: str) -> None:
    w = _Writer(wb, lang)
    summary = wb.add_worksheet(t("rep_summary", lang)[:31])
    sheets = {}
    for key in ("rep_funnel", "rep_channels", "rep_cycle", "rep_follow_up", "rep_tasks", "rep_tickets",
                "rep_campaigns", "rep_segments", "rep_data_quality", "rep_trend"):
        sheets[key] = wb.add_worksheet(t(key, lang)[:31])

    # table sheets first: the charts on the summary refer to them
    placed: dict[str, _Placed] = {}
    placed["funnel"] = w.table(sheets["rep_funnel"], "funnel", tables["funnel"], "funnel", 0,
                               title=t("rep_funnel", lang), note=t("rep_note_funnel", lang))
    placed["channels"] = w.table(sheets["rep_channels"], "channels", tables["channels"], "channels", 0,
                                 title=t("rep_channels", lang), note=t("rep_note_channels", lang))
    w.table(sheets["rep_channels"], "revenue_by_channel", tables["revenue_by_channel"], "revenue_by_channel",
            placed["channels"].last + 3, title=t("rep_revenue_by_channel", lang))
    p = w.table(sheets["rep_cycle"], "stage_durations", tables["stage_durations"], "stage_durations", 0,
                title=t("rep_cycle", lang), note=t("rep_note_cycle", lang))
    w.table(sheets["rep_cycle"], "days_to_close", tables["days_to_close"], "days_to_close", p.last + 3,
            title=t("rep_days_to_close", lang))
    w.table(sheets["rep_follow_up"], "follow_up", tables["follow_up"], "follow_up", 0,
            title=t("rep_follow_up", lang), note=t("rep_note_follow_up", lang))
    placed["tasks"] = w.table(sheets["rep_tasks"], "tasks", tables["tasks"], "tasks", 0, title=t("rep_tasks", lang), note=t("rep_note_tasks", lang))
    placed["tickets"] = w.table(sheets["rep_tickets"], "tickets", tables["tickets"], "tickets", 0,
                                title=t("rep_tickets", lang), note=t("rep_note_tickets", lang))
    p = w.table(sheets["rep_campaigns"], "campaigns", tables["campaigns"], "campaigns", 0,
                title=t("rep_campaigns", lang), note=t("rep_note_campaigns", lang))
    placed["campaign_targets"] = w.table(sheets["rep_campaigns"], "campaign_targets", tables["campaign_targets"],
                                         "campaign_targets", p.last + 3, title=t("rep_chart_campaigns", lang))
    placed["segments"] = w.table(sheets["rep_segments"], "segments", tables["segments"], "segments", 0,
                                 title=t("rep_segments", lang), note=t("rep_note_segments", lang))
    w.table(sheets["rep_segments"], "value_tiers", tables["value_tiers"], "value_tiers", placed["segments"].last + 3,
            title=t("rep_value_tiers", lang))
    comp = tables["completeness"]
    p = w.table(sheets["rep_data_quality"], "completeness", comp, "completeness", 0,
                title=f"{t('kpi_completeness', lang)}: {comp.attrs.get('overall', float('nan')):.1%}",
                note=t("rep_note_data_quality", lang))
    w.table(sheets["rep_data_quality"], "duplicates", tables["duplicates"], "duplicates", p.last + 3,
            title=t("rep_duplicates", lang))
    w.table(sheets["rep_trend"], "trend", tables["trend"], "trend", 0, title=t("rep_trend", lang), note=t("rep_note_trend", lang))

    _summary(w, summary, ws, tables, placed, period, as_of, lang)
    summary.activate()


def _period_text(bounds) -> str:
    """``2026-10 (2026-10-01 – 2026-10-31)`` for a calendar period (last day inclusive), else both instants."""
    label = getattr(bounds, "label", None)
    if label is not None:
        return f"{label} ({bounds[0]:%Y-%m-%d} – {bounds[1] - pd.Timedelta(days=1):%Y-%m-%d})"
    return f"{bounds[0]:%Y-%m-%d %H:%M} – {bounds[1]:%Y-%m-%d %H:%M}"


def _summary(w: _Writer, sh, ws, tables, placed: dict[str, _Placed], period: str, as_of: pd.Timestamp,
             lang: str) -> None:
    kpis = tables["kpis"]
    bounds = kpis.attrs.get("bounds") or an.period_bounds(as_of, period)
    prev = kpis.attrs.get("previous_bounds") or an.period_bounds(as_of, period, previous=True)
    sh.write_string(0, 0, f"{t('rep_title', lang)} — {t('rep_' + period, lang)}", w.f["title"])
    info = [
        (t("rep_as_of", lang), f"{as_of:%Y-%m-%d %H:%M}"),
        (t("rep_period", lang), _period_text(bounds)),
        (t("rep_previous", lang), _period_text(prev)),
        (t("rep_workspace", lang), Path(ws.path).resolve().name),
    ]
    for i, (k, v) in enumerate(info, start=1):
        sh.write_string(i, 0, k, w.f["note"])
        sh.write_string(i, 1, v)
    sh.write_string(len(info) + 2, 0, t("rep_kpis", lang), w.f["subtitle"])
    top = len(info) + 3
    headers = [t("col_kpi", lang), t("col_value", lang), t("col_previous", lang), t("col_change", lang),
               t("col_target", lang), t("col_status", lang)]
    for j, h in enumerate(headers):
        sh.write_string(top, j, h, w.f["header"])
    kind_fmt = {"rate": "rate", "money": "money", "score": "number", "count": "int"}
    for i, row in enumerate(kpis.itertuples(index=False), start=1):  # one row per KPI (15)
        r = top + i
        fmt = w.f[kind_fmt.get(row.kind, "number")]
        ok = row.ok
        status_fmt = w.f["grey"] if is_na(ok) else (w.f["green"] if ok else w.f["red"])
        value_fmt = fmt if is_na(ok) else wb_fmt(w, row.kind, bool(ok))
        sh.write_string(r, 0, t("kpi_" + row.kpi, lang), w.f["text"])
        w.cell(sh, r, 1, row.value, value_fmt)
        w.cell(sh, r, 2, row.previous, fmt)
        change = row.value - row.previous if not (is_na(row.value) or is_na(row.previous)) else None
        w.cell(sh, r, 3, change, fmt)
        w.cell(sh, r, 4, row.target, fmt)
        if is_na(ok):
            status = t("rep_no_target" if is_na(row.target) else "rep_no_value", lang)
        else:
            status = t("rep_on_target" if ok else "rep_below_target", lang)
        sh.write_string(r, 5, status, status_fmt)
    sh.set_column(0, 0, 30)
    sh.set_column(1, 4, 15)
    sh.set_column(5, 5, 14)
    sh.freeze_panes(top + 1, 0)
    sh.set_landscape()
    sh.set_paper(9)                # A4
    sh.fit_to_pages(1, 0)          # one page wide when printed or saved as PDF

    # --- charts, two per row to the right of / below the KPI table
    charts = []
    f = placed["funnel"]
    c = w.wb.add_chart({"type": "bar"})
    c.add_series({"name": t("col_reached", lang), "categories": f.ref("stage"), "values": f.ref("reached"),
                  "data_labels": {"value": True}, "fill": {"color": HEADER_COLOR}})
    c.set_y_axis({"reverse": True})
    c.set_title({"name": t("rep_chart_funnel", lang), "name_font": {"size": 12}})
    c.set_legend({"none": True})
    charts.append(c)

    ch = placed["channels"]
    c = w.wb.add_chart({"type": "column"})
    c.add_series({"name": t("col_conversion", lang), "categories": ch.ref("source"), "values": ch.ref("conversion"),
                  "data_labels": {"value": True, "num_format": "0%"}, "fill": {"color": "#2E75B6"}})
    c.set_y_axis({"num_format": "0%", "min": 0})
    c.set_title({"name": t("rep_chart_channels", lang), "name_font": {"size": 12}})
    c.set_legend({"none": True})
    charts.append(c)

    s = placed["segments"]
    # the named segments only: "no orders yet" (the last row) would dwarf them
    s = _Placed(s.sheet, s.header_row, s.first, max(s.first, s.last - 1), s.cols)
    c = w.wb.add_chart({"type": "column"})
    c.add_series({"name": t("col_customers", lang), "categories": s.ref("segment"), "values": s.ref("customers"),
                  "fill": {"color": "#5B9BD5"}})
    line = w.wb.add_chart({"type": "line"})
    line.add_series({"name": t("col_revenue", lang), "categories": s.ref("segment"), "values": s.ref("revenue"),
                     "y2_axis": True, "marker": {"type": "circle"}, "line": {"color": "#ED7D31"}})
    c.combine(line)
    c.set_title({"name": t("rep_chart_segments", lang), "name_font": {"size": 12}})
    c.set_legend({"position": "bottom"})
    charts.append(c)

    ct = placed["campaign_targets"]
    c = w.wb.add_chart({"type": "column"})
    c.add_series({"name": t("col_value", lang), "categories": ct.ref("kpi"), "values": ct.ref("value"),
                  "data_labels": {"value": True, "num_format": "0%"}, "fill": {"color": "#2E75B6"}})
    c.add_series({"name": t("col_target", lang), "categories": ct.ref("kpi"), "values": ct.ref("target"),
                  "fill": {"color": "#BFBFBF"}})
    c.set_y_axis({"num_format": "0%", "min": 0})
    c.set_title({"name": t("rep_chart_campaigns", lang), "name_font": {"size": 12}})
    c.set_legend({"position": "bottom"})
    charts.append(c)

    tk = placed["tasks"]
    c = w.wb.add_chart({"type": "bar"})
    c.add_series({"name": t("col_overdue", lang), "categories": tk.ref("owner"), "values": tk.ref("overdue"),
                  "fill": {"color": "#C00000"}, "data_labels": {"value": True}})
    c.add_series({"name": t("col_due_today", lang), "categories": tk.ref("owner"), "values": tk.ref("due_today"),
                  "fill": {"color": "#FFC000"}})
    c.set_y_axis({"reverse": True})
    c.set_title({"name": t("rep_chart_overdue", lang), "name_font": {"size": 12}})
    c.set_legend({"position": "bottom"})
    charts.append(c)

    ti = placed["tickets"]
    c = w.wb.add_chart({"type": "column"})
    c.add_series({"name": t("col_compliance", lang), "categories": ti.ref("type"), "values": ti.ref("compliance"),
                  "data_labels": {"value": True, "num_format": "0%"}, "fill": {"color": "#70AD47"}})
    c.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
    c.set_title({"name": t("rep_chart_sla", lang), "name_font": {"size": 12}})
    c.set_legend({"none": True})
    charts.append(c)

    first_row = top + len(kpis) + 3
    for i, chart in enumerate(charts):
        chart.set_size({"width": CHART_WIDTH, "height": CHART_HEIGHT})
        r = first_row + (i // 2) * CHART_ROWS
        col = 0 if i % 2 == 0 else 4
        sh.insert_chart(r, col, chart, {"x_offset": 5, "y_offset": 5})
    _print_layout(sh, first_row, (len(charts) + 1) // 2, [30, 15, 15, 15, 15, 14])


# --------------------------------------------------------------------------- printing the summary

CHART_WIDTH, CHART_HEIGHT = 520, 300   # pixels
CHART_ROWS = 16                        # rows of 20 px from one row of charts to the next (300 px + a gap)
#: A4 landscape less the margins xlsxwriter writes (0.7 in left/right, 0.75 in top/bottom), in pixels at 96 dpi
PRINTABLE_WIDTH_PX = (297 / 25.4 - 1.4) * 96
PRINTABLE_HEIGHT_PX = (210 / 25.4 - 1.5) * 96


def _col_px(width: float) -> int:
    """A column's width in pixels, as Excel draws a width of ``width`` characters (Calibri 11)."""
    return int(width * 7 + 0.5) + 5 if width >= 1 else int(width * 12 + 0.5)


def _print_layout(sh, first_chart_row: int, chart_rows: int, widths: list[float]) -> None:
    """Print the summary so that no chart is cut: one page for the KPI table, one per row of charts.

    Excel and LibreOffice ignore manual page breaks on a sheet set to "fit to N pages", so the
    summary is scaled to the width of its widest row of charts instead, and a page break is put
    above every row of charts.  The print area ends with the last chart.
    """
    lefts = [0]
    for w_ in widths:
        lefts.append(lefts[-1] + _col_px(w_))
    right = max(lefts[-1], lefts[4] + 5 + CHART_WIDTH)          # the second chart of a row starts at column E
    scale = max(10, min(100, int(PRINTABLE_WIDTH_PX / right * 100) - 1))
    breaks = [first_chart_row + i * CHART_ROWS for i in range(chart_rows)]
    sh.set_h_pagebreaks(breaks)
    sh.set_print_scale(scale)           # clears xlsxwriter's fit-to-pages, which would override the breaks
    last_col, edge = len(widths) - 1, lefts[-1]
    while edge < right:                 # the column holding the charts' right edge (default widths there)
        last_col += 1
        edge += _col_px(8.43)
    sh.print_area(0, 0, first_chart_row + chart_rows * CHART_ROWS - 1, last_col)


def wb_fmt(w: _Writer, kind: str, ok: bool):
    """A value cell coloured green/red with the KPI's number format."""
    key = f"{kind}_{'green' if ok else 'red'}"
    if key not in w.f:
        num = {"rate": "0.0%", "money": "#,##0.00", "score": "0.0", "count": "#,##0"}.get(kind, "0.00")
        w.f[key] = w.wb.add_format({"border": 1, "border_color": "#D9D9D9", "num_format": num,
                                    **(GREEN if ok else RED)})
    return w.f[key]
