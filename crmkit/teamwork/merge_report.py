"""What a rep merge says: its result and counts, the summary text of ``crmkit merge`` and the conflict workbook.

The conflict workbook (``<rep folder>-conflicts.xlsx``, next to the rep
folder) is written for the person who decides: a Summary sheet with the
counts, Conflicts (sheet, record, customer, field, base, main, rep,
resolution), the rows the rep deleted, the new rows and edits rejected and the
customers reassigned since the split.  Headers and values are in the
workspace's language; every cell is written as text or a number, never as a
formula.  It is an output file (:mod:`crmkit.io.outputs`): replaced by the
next merge unless someone saved it since.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

import pandas as pd

from ..i18n import t
from ..io.outputs import check_output_path, mark_output, record_output
from ..io.safety import replace_file
from ..schema import ENTITIES, field_label

CONFLICT_COLUMNS = ["entity", "record_id", "name", "field", "base", "main", "rep", "resolution"]

COUNT_KEYS = ("rows", "applied", "unchanged", "conflicting", "new", "deleted", "cells_applied", "conflicts",
              "kept_main", "new_added", "new_matched", "new_rejected", "cells_rejected")
LIST_LIMIT = 20


@dataclass
class EntityCounts:
    """What the merge saw and did in one table (rows: applied + unchanged + conflicting + new + deleted)."""

    applied: int = 0
    unchanged: int = 0
    conflicting: int = 0
    new: int = 0
    deleted: int = 0
    cells_applied: int = 0
    conflicts: int = 0
    kept_main: int = 0
    new_added: int = 0
    new_matched: int = 0
    new_rejected: int = 0
    cells_rejected: int = 0          # edits of existing rows not applied: invalid, or outside the rep's scope

    @property
    def rows(self) -> int:
        return self.applied + self.unchanged + self.conflicting + self.new + self.deleted

    def as_dict(self) -> dict:
        return {"rows": self.rows, **{k: getattr(self, k) for k in self.__dataclass_fields__}}


@dataclass
class RepMergeResult:
    """What merging a rep's workspace did (or, in a dry run, would do)."""

    main: str
    rep: str
    owner: str
    split_id: str
    prefer: str | None = None
    dry_run: bool = False
    lang: str = "en"
    by: str = ""
    counts: dict[str, EntityCounts] = dc_field(default_factory=dict)
    conflicts: pd.DataFrame = dc_field(default_factory=lambda: pd.DataFrame(columns=CONFLICT_COLUMNS))
    deletions: pd.DataFrame = dc_field(default_factory=pd.DataFrame)
    reassigned: pd.DataFrame = dc_field(default_factory=pd.DataFrame)
    rejected: pd.DataFrame = dc_field(default_factory=pd.DataFrame)
    new_ids: pd.DataFrame = dc_field(default_factory=pd.DataFrame)
    history_rows: int = 0
    written: list = dc_field(default_factory=list)
    conflict_workbook: str | None = None
    seconds: float = 0.0

    def total(self, key: str) -> int:
        return sum(getattr(c, key) for c in self.counts.values())

    @property
    def open_conflicts(self) -> int:
        """Conflicts still waiting for a person (not resolved by ``prefer``)."""
        if self.conflicts.empty:
            return 0
        return int((~self.conflicts["resolution"].isin(["rep", "main"])).sum())

    @property
    def exit_code(self) -> int:
        """1 when a person must look: conflicts left open, rows the rep deleted, new rows or edits rejected."""
        return 1 if (self.open_conflicts or self.total("deleted") or self.total("new_rejected")
                     or self.total("cells_rejected")) else 0

    def summary(self) -> dict:
        keys = ("applied", "unchanged", "conflicting", "new", "deleted", "cells_applied", "conflicts",
                "kept_main", "new_added", "new_matched", "new_rejected", "cells_rejected")
        out = {"main": self.main, "rep": self.rep, "owner": self.owner, "split_id": self.split_id,
               "dry_run": self.dry_run, "prefer": self.prefer, "rows": self.total("rows")}
        out.update({k: self.total(k) for k in keys})
        out.update({"open_conflicts": self.open_conflicts, "reassigned": int(len(self.reassigned)),
                    "history_rows": self.history_rows, "by_entity": {k: c.as_dict() for k, c in self.counts.items()},
                    "conflict_list": _records(self.conflicts), "deleted_list": _records(self.deletions),
                    "reassigned_list": _records(self.reassigned), "rejected_list": _records(self.rejected),
                    "new_ids": _records(self.new_ids), "conflict_workbook": self.conflict_workbook,
                    "written": self.written, "seconds": self.seconds, "exit_code": self.exit_code})
        return out

    def text(self) -> str:
        return summary_text(self)


def _records(df: pd.DataFrame, limit: int = 1000) -> list[dict]:
    if df is None or df.empty:
        return []
    out = df.head(limit).astype(object).where(df.head(limit).notna(), None)
    return out.to_dict("records")



def _sheet(entity: str, lang: str) -> str:
    return ENTITIES[entity].sheet_name(lang) if entity in ENTITIES else str(entity)


def _field(entity: str, key: str, lang: str) -> str:
    return field_label(key, lang, ENTITIES.get(entity))


def shown(entity: str, key: str, value, lang: str):
    """A cell's text as the user reads it: an enumeration's codes as their labels in ``lang``."""
    ent = ENTITIES.get(entity)
    f = ent.field(key) if ent is not None and ent.has(key) else None
    if f is None or f.enum is None or f.type == "bool" or not isinstance(value, str):
        return value
    return ";".join(f.enum.label(x, lang) if x in f.enum.codes else x for x in value.split(";"))


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
                                               conflicts=s["conflicts"], open=s["open_conflicts"],
                                               rejected=s["cells_rejected"])]
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
            b, m, rp = (_v(shown(r.entity, r.field, x, lang)) for x in (r.base, r.main, r.rep))
            lines.append(f"    {_sheet(r.entity, lang)} {r.record_id} {_v(r.name)} | {_field(r.entity, r.field, lang)}: "
                         f"{t('rm_base', lang)} {b!r}, {t('rm_main', lang)} {m!r}, "
                         f"{t('rm_rep', lang)} {rp!r} -> {t('rm_res_' + r.resolution, lang)}")
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
            or s["new_rejected"] or s["cells_rejected"]):
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
            c0 = res.conflicts
            conf = c0.assign(
                **{k: [shown(e, f, v, lang) for e, f, v in zip(c0["entity"], c0["field"], c0[k])]
                   for k in ("base", "main", "rep")},
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
