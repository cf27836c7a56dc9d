"""What a rep merge says: the summary text of ``crmkit merge`` and the conflict workbook.

The conflict workbook (``<rep folder>-conflicts.xlsx``, next to the rep
folder) is written for the person who decides: a Summary sheet with the
counts, Conflicts (sheet, record, customer, field, base, main, rep,
resolution), the rows the rep deleted, the new rows rejected and the
customers reassigned since the split.  Headers and values are in the
workspace's language; every cell is written as text or a number, never as a
formula.  It is an output file (:mod:`crmkit.io.outputs`): replaced by the
next merge unless someone saved it since.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..i18n import t
from ..io.outputs import check_output_path, mark_output, record_output
from ..io.safety import replace_file
from ..schema import ENTITIES, field_label

COUNT_KEYS = ("rows", "applied", "unchanged", "conflicting", "new", "deleted", "cells_applied", "conflicts",
              "kept_main", "new_added", "new_matched", "new_rejected")
LIST_LIMIT = 20


def _sheet(entity: str, lang: str) -> str:
    return ENTITIES[entity].sheet_name(lang) if entity in ENTITIES else str(entity)


def _field(entity: str, key: str, lang: str) -> str:
    return field_label(key, lang, ENTITIES.get(entity))


def _v(v) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).replace("\n", " / ")[:60]


def summary_text(res) -> str:
    """The text ``crmkit merge`` prints, as an import summary does: the counts, then the lists."""
    lang = res.lang
    s = res.summary()
    lines = [t("rm_title", lang).format(rep=Path(res.rep).name, owner=res.owner, main=res.main),
             "  " + t("rm_rows", lang).format(**{k: s[k] for k in ("rows", "applied", "unchanged", "conflicting",
                                                                    "new", "deleted")}),
             "  " + t("rm_cells", lang).format(cells=s["cells_applied"], kept=s["kept_main"],
                                               conflicts=s["conflicts"], open=s["open_conflicts"])]
    if s["new"]:
        lines.append("  " + t("rm_new", lang).format(new=s["new"], added=s["new_added"], matched=s["new_matched"],
                                                     rejected=s["new_rejected"]))
    for entity, c in res.counts.items():
        if c.rows:
            lines.append(f"    {_sheet(entity, lang)}: " + ", ".join(
                f"{t('rm_c_' + k, lang)} {getattr(c, k) if k != 'rows' else c.rows}"
                for k in COUNT_KEYS if (getattr(c, k) if k != "rows" else c.rows)))
    if len(res.conflicts):
        lines.append(f"  {t('rm_conflicts', lang)}:")
        for r in res.conflicts.head(LIST_LIMIT).itertuples(index=False):
            lines.append(f"    {_sheet(r.entity, lang)} {r.record_id} {_v(r.name)} | {_field(r.entity, r.field, lang)}: "
                         f"{t('rm_base', lang)} {_v(r.base)!r}, {t('rm_main', lang)} {_v(r.main)!r}, "
                         f"{t('rm_rep', lang)} {_v(r.rep)!r} -> {t('rm_res_' + r.resolution, lang)}")
        _more(lines, len(res.conflicts), lang)
        if res.open_conflicts and res.prefer is None:
            lines.append("  " + t("rm_prefer_hint", lang))
    if len(res.reassigned):
        lines.append(f"  {t('rm_reassigned', lang)}:")
        for r in res.reassigned.head(LIST_LIMIT).itertuples(index=False):
            lines.append(f"    {r.customer_id} {_v(r.name)}: {_v(r.base_owner)} -> {_v(r.main_owner)} "
                         f"({t('rm_cells_applied', lang)} {r.cells_applied})")
        _more(lines, len(res.reassigned), lang)
    if len(res.deletions):
        lines.append(f"  {t('rm_deleted', lang)}:")
        for r in res.deletions.head(LIST_LIMIT).itertuples(index=False):
            lines.append(f"    {_sheet(r.entity, lang)} {r.record_id} {_v(r.name)}")
        _more(lines, len(res.deletions), lang)
    if len(res.rejected):
        lines.append(f"  {t('rm_rejected', lang)}:")
        for r in res.rejected.head(LIST_LIMIT).itertuples(index=False):
            lines.append(f"    {Path(str(r.file)).name} {r.sheet} {t('row', lang)} {r.row} {_v(r.rep_id)}: "
                         f"{_v(r.column)} {_v(r.reason)}")
        _more(lines, len(res.rejected), lang)
    if not (s["cells_applied"] or s["new_added"] or s["new_matched"] or s["conflicts"] or s["deleted"]
            or s["new_rejected"]):
        lines.append("  " + t("rm_nothing", lang))
    if res.history_rows:
        lines.append("  " + t("rm_history", lang).format(n=res.history_rows))
    if res.conflict_workbook:
        lines.append("  " + t("rm_workbook", lang).format(path=res.conflict_workbook))
    if res.dry_run:
        lines.append("  " + t("dry_run_note", lang))
    return "\n".join(lines)


def _more(lines: list[str], n: int, lang: str) -> None:
    if n > LIST_LIMIT:
        lines.append("    " + t("more_issues", lang).format(n=n - LIST_LIMIT))


def write_conflict_workbook(path: str | os.PathLike, res, *, workspace=None, inputs=()) -> Path:
    """Write the conflict workbook of ``res`` to ``path`` (see the module text); returns the path."""
    import xlsxwriter

    path = check_output_path(path, workspace=workspace, inputs=inputs, option="conflict workbook")
    lang = res.lang
    s = res.summary()

    def produce(target: Path) -> None:
        wb = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False, "nan_inf_to_errors": False})
        mark_output(wb, "merge_conflicts")
        try:
            head = wb.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78", "border": 1})
            bold = wb.add_format({"bold": True})
            open_fmt = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
            sh = wb.add_worksheet(t("summary", lang))
            sh.write_string(0, 0, t("rm_title", lang).format(rep=Path(res.rep).name, owner=res.owner,
                                                             main=res.main), bold)
            for i, k in enumerate(COUNT_KEYS, start=2):
                sh.write_string(i, 0, t("rm_c_" + k, lang))
                sh.write_number(i, 1, int(s[k]))
            sh.set_column(0, 0, 40)
            conf = res.conflicts.assign(
                entity=[_sheet(e, lang) for e in res.conflicts["entity"]],
                field=[_field(e, f, lang) for e, f in zip(res.conflicts["entity"], res.conflicts["field"])],
                resolution=[t("rm_res_" + r, lang) for r in res.conflicts["resolution"]])
            _table(wb, t("rm_sheet_conflicts", lang), conf,
                   [("entity", t("sheet", lang)), ("record_id", t("record_id", lang)), ("name", t("rm_name", lang)),
                    ("field", t("field", lang)), ("base", t("rm_base", lang)), ("main", t("rm_main", lang)),
                    ("rep", t("rm_rep", lang)), ("resolution", t("rm_resolution", lang))], head,
                   mark=(res.conflicts["resolution"] != "rep") & (res.conflicts["resolution"] != "main"),
                   mark_fmt=open_fmt)
            dele = res.deletions.assign(entity=[_sheet(e, lang) for e in res.deletions["entity"]])
            _table(wb, t("rm_sheet_deleted", lang), dele,
                   [("entity", t("sheet", lang)), ("record_id", t("record_id", lang)),
                    ("customer_id", _field("customers", "customer_id", lang)), ("name", t("rm_name", lang))], head)
            rej = res.rejected.assign(entity=[_sheet(e, lang) for e in res.rejected["entity"]],
                                      file=[Path(str(f)).name for f in res.rejected["file"]])
            _table(wb, t("rm_sheet_rejected", lang), rej,
                   [("file", t("file", lang)), ("sheet", t("sheet", lang)), ("row", t("row", lang)),
                    ("rep_id", t("rm_rep_id", lang)), ("column", t("column", lang)), ("value", t("value", lang)),
                    ("reason", t("reason", lang))], head)
            _table(wb, t("rm_sheet_reassigned", lang), res.reassigned,
                   [("customer_id", _field("customers", "customer_id", lang)), ("name", t("rm_name", lang)),
                    ("base_owner", t("rm_base_owner", lang)), ("main_owner", t("rm_main_owner", lang)),
                    ("rep_owner", t("rm_rep_owner", lang)), ("cells_applied", t("rm_cells_applied", lang))], head)
        finally:
            wb.close()

    replace_file(path, produce, workspace=Path(path).parent)
    record_output(path, workspace)
    return Path(path)


def _table(wb, name: str, df: pd.DataFrame, cols: list[tuple[str, str]], head, *, mark=None, mark_fmt=None) -> None:
    sh = wb.add_worksheet(name[:31])
    sh.write_row(0, 0, [label for _, label in cols], head)
    flags = [False] * len(df) if mark is None else list(mark.to_numpy(dtype=bool))
    for i, rec in enumerate(df[[c for c, _ in cols]].itertuples(index=False), start=1):
        fmt = mark_fmt if flags[i - 1] else None
        for j, v in enumerate(rec):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                sh.write_blank(i, j, None, fmt)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                sh.write_number(i, j, v, fmt)
            else:
                sh.write_string(i, j, str(v), fmt)
    sh.autofilter(0, 0, max(len(df), 1), len(cols) - 1)
    sh.freeze_panes(1, 0)
    sh.set_column(0, len(cols) - 1, 18)
