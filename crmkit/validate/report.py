"""The issue-report workbook: Summary, Issues, flagged source rows and incomplete records.

:func:`write_report` writes what :mod:`crmkit.validate` found (or an import's
outcome) to an Excel file with the bad cells highlighted, through the safe
write path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .. import normalize as nz
from ..i18n import TEXT, t
from ..io.outputs import check_output_path, mark_output, record_output
from ..io.safety import replace_file
from ..schema import ENTITIES, field_label
from .checks import ERROR, WARNING

# --------------------------------------------------------------------------- Excel report

def write_report(path: str | os.PathLike, issues: pd.DataFrame, *, rows: pd.DataFrame | None = None,
                 summary: Mapping[str, object] | None = None, completeness: Mapping | None = None,
                 outcome: pd.DataFrame | None = None, incomplete: pd.DataFrame | None = None,
                 lang: str = "en", workspace: str | os.PathLike | None = None, inputs=(),
                 force: bool = False) -> Path:
    """An Excel report: Summary, Issues, and (given ``rows``) the flagged source rows with bad cells
    filled red (errors) or yellow (warnings).

    ``rows`` holds source cells as text, indexed by source row number, with the
    source headers as columns; ``issues`` names cells by ``row`` and ``column``
    (a source header).  ``outcome`` (indexed by row) adds outcome and record ID
    columns.  Cell text is always written as text, never as a formula.
    ``path`` is checked by :func:`crmkit.io.outputs.check_output_path`: never a
    workspace workbook or one of ``inputs``; an existing file only when crmkit
    wrote it (else ``force``).
    """
    import xlsxwriter

    path = check_output_path(path, workspace=workspace, inputs=inputs, force=force, option="--report")

    def produce(target: Path) -> None:
        wb = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False, "nan_inf_to_errors": False})
        mark_output(wb, "report")
        try:
            head = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78", "border": 1})
            red = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
            yellow = wb.add_format({"bg_color": "#FFEB9C", "font_color": "#9C5700"})
            bold = wb.add_format({"bold": True})
            # Summary
            ws = wb.add_worksheet(t("summary", lang))
            r = 0
            for k, v in (summary or {}).items():
                ws.write_string(r, 0, t(f"sum_{k}", lang) if f"sum_{k}" in TEXT else t(str(k), lang), bold)
                v = t("yes" if v else "no", lang) if isinstance(v, bool) else v
                _write_cell(ws, r, 1, v)
                r += 1
            if completeness:
                r += 1
                ws.write_string(r, 0, t("completeness", lang), bold)
                _write_cell(ws, r, 1, completeness.get("overall"))
                ws.write_string(r, 2, t("target", lang))
                _write_cell(ws, r, 3, completeness.get("target"))
                r += 1
                for k, v in (completeness.get("by_field") or {}).items():
                    ws.write_string(r, 0, field_label(k, lang, ENTITIES["customers"]))
                    ws.write_number(r, 1, float(v), yellow if v < completeness.get("target", 0) else None)
                    r += 1
            ws.set_column(0, 0, 28)
            ws.set_column(1, 3, 16)
            # Issues
            ws = wb.add_worksheet(t("issues", lang))
            cols = [c for c in ("file", "sheet", "row", "column", "value", "severity", "reason") if c in issues.columns]
            ws.write_row(0, 0, [t(c, lang) if c != "sheet" else t("sheet", lang) for c in cols], head)
            for i, rec in enumerate(issues[cols].itertuples(index=False), start=1):
                for j, v in enumerate(rec):
                    fmt = None
                    if cols[j] == "severity":
                        fmt = red if v == ERROR else yellow
                        v = t(str(v), lang)
                    elif cols[j] == "file" and v:
                        v = Path(str(v)).name
                    _write_cell(ws, i, j, v, fmt)
            ws.autofilter(0, 0, max(len(issues), 1), max(len(cols) - 1, 0))
            ws.freeze_panes(1, 0)
            widths = {"file": 18, "sheet": 12, "row": 7, "column": 16, "value": 24, "severity": 9, "reason": 60}
            for j, c in enumerate(cols):
                ws.set_column(j, j, widths.get(c, 14))
            # Flagged rows, source layout
            if rows is not None:
                ws = wb.add_worksheet(t("flagged_rows", lang))
                flagged = sorted(set(int(x) for x in issues["row"].dropna())) if len(issues) else []
                flagged = [x for x in flagged if x in rows.index]
                headers = [str(c) for c in rows.columns]
                extra = [t("row", lang)]
                if outcome is not None:
                    extra += [t("outcome", lang), t("record_id", lang)]
                extra.append(t("reason", lang))
                ws.write_row(0, 0, headers + extra, head)
                colpos = {h: j for j, h in enumerate(headers)}
                marks: dict[tuple[int, int], str] = {}
                reasons: dict[int, list[str]] = {}
                for rec in issues.to_dict("records"):
                    if rec.get("row") is None or pd.isna(rec.get("row")):
                        continue
                    rr = int(rec["row"])
                    j = colpos.get(str(rec.get("column")))
                    if j is not None and marks.get((rr, j)) != ERROR:
                        marks[(rr, j)] = rec["severity"]
                    reasons.setdefault(rr, []).append(f"{rec.get('column')}: {rec.get('reason')}")
                sub = rows.loc[flagged]
                for i, (rr, vals) in enumerate(zip(sub.index, sub.itertuples(index=False)), start=1):
                    for j, v in enumerate(vals):
                        sev = marks.get((int(rr), j))
                        fmt = red if sev == ERROR else yellow if sev == WARNING else None
                        _write_cell(ws, i, j, v, fmt, blank_fmt=fmt is not None)
                    k = len(headers)
                    ws.write_number(i, k, int(rr))
                    if outcome is not None and int(rr) in outcome.index:
                        o = outcome.loc[int(rr)]
                        _write_cell(ws, i, k + 1, t(str(o.get("outcome")), lang))
                        _write_cell(ws, i, k + 2, o.get("record_id"))
                    _write_cell(ws, i, len(headers) + len(extra) - 1, "; ".join(reasons.get(int(rr), [])))
                ws.freeze_panes(1, 0)
                ws.set_column(0, len(headers) - 1, 16)
                ws.set_column(len(headers) + len(extra) - 1, len(headers) + len(extra) - 1, 60)
            # records below the completeness target
            if incomplete is not None and len(incomplete):
                ws = wb.add_worksheet(t("incomplete_records", lang))
                cols = ["row", "record_id", "name", "completeness", "missing"]
                ws.write_row(0, 0, [t(c, lang) for c in cols], head)
                pct = wb.add_format({"num_format": "0%"})
                for i, rec in enumerate(incomplete[cols].itertuples(index=False), start=1):
                    for j, v in enumerate(rec):
                        _write_cell(ws, i, j, v, pct if cols[j] == "completeness" else None)
                ws.autofilter(0, 0, len(incomplete), len(cols) - 1)
                ws.freeze_panes(1, 0)
                for j, w in enumerate((7, 12, 24, 12, 60)):
                    ws.set_column(j, j, w)
        finally:
            wb.close()

    replace_file(path, produce, workspace=path.parent)
    record_output(path, workspace)
    return path


def _write_cell(ws, r: int, c: int, v, fmt=None, blank_fmt: bool = False) -> None:
    """Write one value: numbers as numbers, everything else as text (never a formula)."""
    v = nz.none_if_nan(v)
    if v is None:
        if blank_fmt:
            ws.write_blank(r, c, None, fmt)
        return
    if isinstance(v, bool):
        ws.write_string(r, c, str(v), fmt)
    elif isinstance(v, (int, float)):
        ws.write_number(r, c, v, fmt)
    elif isinstance(v, (list, tuple)):
        ws.write_string(r, c, ", ".join(map(str, v)), fmt)
    elif isinstance(v, dict):
        ws.write_string(r, c, ", ".join(f"{k}={x}" for k, x in v.items()), fmt)
    else:
        ws.write_string(r, c, str(v), fmt)
