"""Writing styled crmkit workbooks (xlsxwriter).

Writing produces styled, people-friendly sheets: an Excel table per sheet, a
frozen styled header row, dropdowns for every enumeration, input hints, date
and number formats, fitting widths.  The cells of big sheets are written in
bulk by :mod:`crmkit.io.bulk` (the same cells, an order of magnitude less
CPU).  Files are written through :mod:`crmkit.io.safety` (temp file, fsync,
atomic replace, backup); a workbook a person has saved since crmkit wrote it
is updated in place instead (:mod:`crmkit.io.preserve`).
"""

from __future__ import annotations

import datetime as _dt
import os
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .. import normalize as nz
from ..exceptions import WorkbookError
from ..i18n import t
from ..logsheets import frames_with_labels
from ..schema import DATE_TYPES, ENTITIES, Entity, Field
from . import bulk
from .cells import DERIVED_COLOR, HEADER_COLOR, excel_value, excel_values, header_text
from .contents import MARKER, inspect_workbook
from .preserve import update_workbook
from .safety import DEFAULT_BACKUPS, replace_file


def column_width(header: str, values: pd.Series | None = None) -> float:
    """A fitting width in Excel units; CJK characters count double."""
    def w(text: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    width = w(header) + 3  # room for the filter button
    if values is not None and len(values):
        sample = values.dropna().astype(str).head(200)
        if len(sample):
            width = max(width, int(np.percentile([w(x) for x in sample], 90)) + 2)
    return float(min(max(width, 8), 60))


#: Room an empty column needs for what people type in it, by field type (Excel width units):
#: +15108637227 ext. 152, firstname.lastname@company.com, 2024-05-01 13:30 ...
TYPE_WIDTHS = {"phone": 22, "email": 30, "longtext": 30, "text": 14, "person": 14, "date": 12, "datetime": 17,
               "money": 14, "number": 12, "id": 11, "multi": 20}
#: defined name of the Team sheet's names, the source of every person field's dropdown
TEAM_NAMES = "team_names"
#: what a person may still do on a protected (reference) sheet: look, filter, sort, widen columns
PROTECTED_ALLOWS = {"autofilter": True, "sort": True, "format_columns": True, "select_locked_cells": True,
                    "select_unlocked_cells": True}
TEAM_ROWS = 1000        # the Team sheet's dropdown range reaches this row, so new members show up at once


def field_width(f: Field, lang: str) -> float:
    """The least width of ``f``'s column: by its type, and wide enough for its longest choice."""
    width = TYPE_WIDTHS.get(f.type, 10)
    if f.enum is not None:
        labels = [t("yes", lang), t("no", lang)] if f.type == "bool" else f.enum.labels(lang)
        width = max(width, min(30, max((column_width(x) for x in labels), default=0)))
    return float(width)


class SheetWriter:
    """Writes styled entity sheets into one xlsxwriter workbook.

    With ``fast=None`` (``True``) the cells of big sheets (all sheets) are not
    written through xlsxwriter (see :mod:`crmkit.io.bulk`): they are planned
    in :attr:`plans`, and :meth:`complete` must be called once the workbook
    is closed.  The default, ``False``, writes every cell through xlsxwriter.
    """

    def __init__(self, workbook, lang: str, *, fast: bool | None = False):
        self.wb = workbook
        self.lang = lang
        self.fast = fast
        self.plans: list = []
        self.header = workbook.add_format({
            "bold": True, "font_color": "#FFFFFF", "bg_color": HEADER_COLOR, "border": 1,
            "text_wrap": True, "valign": "vcenter"})
        self.derived = workbook.add_format({
            "bold": True, "italic": True, "font_color": "#FFFFFF", "bg_color": DERIVED_COLOR, "border": 1,
            "text_wrap": True, "valign": "vcenter"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.money = workbook.add_format({"num_format": "#,##0.00"})
        self.number = workbook.add_format({"num_format": "0.00"})
        self.int = workbook.add_format({"num_format": "0"})
        self.text = workbook.add_format({"num_format": "@"})
        self.wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        self._lists = None
        self._list_row: dict[str, str] = {}
        self._table_names: set[str] = set()
        self.team_list: str | None = None      # the dropdown source of person fields, once defined

    def _lists_column(self) -> int:
        """A new column of the hidden ``_lists`` sheet (created on first use)."""
        if self._lists is None:
            self._lists = self.wb.add_worksheet("_lists")
            self._lists.hide()
            self._lists_col = 0
        col = self._lists_col
        self._lists_col += 1
        return col

    def team_dropdown(self, team: pd.DataFrame | None = None, names: Iterable[str] | None = None,
                      fields: list[Field] | None = None) -> None:
        """Define ``team_names`` for the Owner / Assignee dropdowns.

        With ``team`` (the Team sheet is in this workbook) the name refers to
        its name column, so members added in Excel show up at once; else the
        ``names`` given are copied into the hidden ``_lists`` sheet (crmkit
        refreshes them whenever it writes the workbook; with no names yet the
        dropdown is empty until then).
        """
        from xlsxwriter.utility import quote_sheetname, xl_rowcol_to_cell

        if team is not None:
            ent = ENTITIES["team"]
            keys = [f.key for f in (fields or ent.input_fields)]
            col = keys.index("name") if "name" in keys else 0
            ref = (f"={quote_sheetname(ent.sheet_name(self.lang))}!{xl_rowcol_to_cell(1, col, True, True)}:"
                   f"{xl_rowcol_to_cell(TEAM_ROWS - 1, col, True, True)}")
        else:
            clean = [str(n).strip() for n in (names or ()) if n is not None and not pd.isna(n) and str(n).strip()]
            # no team yet: the name still exists (one blank cell), so the dropdown is there once crmkit
            # writes the workbook again with the team's names
            self._team_pending = list(dict.fromkeys(clean)) or [""]     # written after the entity sheets (a hidden sheet never comes first)
            self.team_list = f"={TEAM_NAMES}"
            return
        self.wb.define_name(TEAM_NAMES, ref)
        self.team_list = f"={TEAM_NAMES}"

    def finish(self) -> None:
        """Write what waits for the entity sheets (the team names copied for the dropdowns)."""
        from xlsxwriter.utility import xl_rowcol_to_cell

        names = getattr(self, "_team_pending", None)
        if names is not None:
            col = self._lists_column()
            self._lists.write_column(0, col, [n for n in names if n])
            self.wb.define_name(TEAM_NAMES, f"=_lists!{xl_rowcol_to_cell(0, col, True, True)}:"
                                            f"{xl_rowcol_to_cell(len(names) - 1, col, True, True)}")
            self._team_pending = None

    def _fmt(self, f: Field | None):
        if f is None:
            return None
        return {"date": self.date, "datetime": self.datetime, "money": self.money, "number": self.number,
                "int": self.int, "rating": self.int, "id": self.text, "phone": self.text}.get(f.type)

    def _list_source(self, f: Field) -> str | list[str]:
        labels = [t("yes", self.lang), t("no", self.lang)] if f.type == "bool" else f.enum.labels(self.lang)
        if sum(len(x) + 1 for x in labels) < 250:
            return labels
        name = f"list_{f.enum.name}"
        if name not in self._list_row:
            col = self._lists_column()
            self._lists.write_column(0, col, labels)
            from xlsxwriter.utility import xl_rowcol_to_cell
            ref = f"=_lists!{xl_rowcol_to_cell(0, col, True, True)}:{xl_rowcol_to_cell(len(labels) - 1, col, True, True)}"
            self.wb.define_name(name, ref)
            self._list_row[name] = f"={name}"
        return self._list_row[name]

    def write(self, ent: Entity, df: pd.DataFrame | None, *, fields: list[Field] | None = None,
              extra_columns: Iterable[str] = (), validation_rows: int = 5000, protect: bool = False) -> None:
        """Write one entity sheet: header, data, table, dropdowns, hints, formats.

        ``protect``: the sheet is protected without a password (read-only reference: Excel and WPS
        refuse an edit and say so; filtering, sorting and widening columns still work).
        """
        lang = self.lang
        fields = list(fields) if fields is not None else list(ent.input_fields)
        if df is not None:
            present_derived = [f for f in ent.fields if f.derived and f.key in df.columns
                               and f not in fields and df[f.key].notna().any()]
            fields += present_derived
        extras = [c for c in extra_columns if df is not None and c in df.columns]
        ws = self.wb.add_worksheet(ent.sheet_name(lang))
        n = 0 if df is None else len(df)
        headers = [header_text(f, lang) for f in fields] + list(extras)
        plan = bulk.SheetPlan(ws, n) if bulk.use_fast(n, len(headers), self.fast) else None
        for j, f in enumerate(fields):
            col = None if df is None or f.key not in df.columns else df[f.key]
            fmt = self._fmt(f)
            if col is not None and n:
                if plan is not None:
                    plan.add(j, col, f, fmt, lang)
                else:
                    values = excel_values(col, f, lang)
                    self._write_column(ws, j, values, fmt, f)
            width = max(field_width(f, lang), column_width(headers[j], None if col is None else col.head(200).map(
                lambda v, f=f: excel_value(v, f, lang))))
            ws.set_column(j, j, width, fmt if f.type not in ("longtext",) else self.wrap)
            # hints and dropdowns, over the whole data area
            last = max(validation_rows, n + 1000)
            opts: dict = {}
            hint = f.hint(lang)
            if f.enum is not None or f.type == "bool":
                opts = {"validate": "list", "source": self._list_source(f),
                        "error_type": "warning",
                        "error_title": f.header(lang)[:32],
                        "error_message": ("请从下拉列表中选择。" if lang == "zh"
                                           else "Please choose a value from the list.")}
                if f.type == "multi":
                    opts = {}
            elif f.type == "person" and self.team_list is not None:
                opts = {"validate": "list", "source": self.team_list, "error_type": "warning",
                        "error_title": f.header(lang)[:32],
                        "error_message": ("请从团队成员中选择（团队表）。" if lang == "zh"
                                          else "Please choose a member of the Team sheet.")}
            elif f.type == "rating":
                opts = {"validate": "integer", "criteria": "between", "minimum": 1, "maximum": 5,
                        "error_type": "warning", "error_message": "1-5"}
            elif f.type in DATE_TYPES:
                opts = {"validate": "date", "criteria": ">", "value": _dt.date(1900, 1, 2),
                        "error_type": "warning",
                        "error_message": "请输入日期，如 2024-05-01" if lang == "zh" else "Enter a date, e.g. 2024-05-01"}
            if hint or opts:
                opts.setdefault("validate", "any")
                if hint:
                    opts["input_title"] = f.header(lang)[:32]
                    opts["input_message"] = hint[:255]
                ws.data_validation(1, j, last, j, opts)
        for k, c in enumerate(extras):
            j = len(fields) + k
            if plan is not None:
                plan.add(j, df[c], None, None, lang)
            else:
                self._write_column(ws, j, [nz.none_if_nan(v) for v in df[c].tolist()], None, None)
            ws.set_column(j, j, column_width(c, df[c]))
        ncols = len(headers)
        if ncols:
            columns = []
            for j, h in enumerate(headers):
                f = fields[j] if j < len(fields) else None
                columns.append({"header": h, "header_format": self.derived if f is not None and f.derived else self.header})
            tname = f"tbl_{ent.key}"
            big = plan is not None and n > 1
            ws.add_table(0, 0, 1 if big else max(n, 1), ncols - 1, {
                "name": tname, "columns": columns, "style": "Table Style Medium 2",
                "autofilter": True})
            if big:
                bulk.extend_table(ws, n, ncols)
        ws.set_row(0, 30 if lang == "en" else 24)
        ws.freeze_panes(1, 0)
        if protect:
            ws.protect("", PROTECTED_ALLOWS)
        for j, f in enumerate(fields):
            if f.derived:
                ws.write_comment(0, j, t("derived_note", lang))
        if plan is not None:
            self.plans.append(plan)

    def complete(self, path: str | os.PathLike) -> None:
        """Write the planned cells into the closed workbook at ``path`` (no-op without plans)."""
        if self.plans:
            bulk.complete(path, self.wb, self.plans)

    def _write_column(self, ws, j: int, values: list, fmt, f: Field | None) -> None:
        for i, v in enumerate(values, start=1):
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(i, j, v, fmt)
            elif isinstance(v, (_dt.datetime, _dt.date)):
                ws.write_datetime(i, j, v, fmt)
            elif isinstance(v, bool):
                ws.write_boolean(i, j, v, fmt)
            elif isinstance(v, (int, float)):
                if isinstance(v, float) and (np.isnan(v) or np.isinf(v)):
                    continue
                ws.write_number(i, j, v, fmt)
            else:
                ws.write_string(i, j, str(v), fmt)

    def readme(self, workbook_key: str, entities: list[Entity], fields_of=None,
               protected: Iterable[Entity] = ()) -> None:
        """A README sheet that explains every field, in the workbook's language (and which sheets are
        read-only reference, when some are ``protected``)."""
        lang = self.lang
        ws = self.wb.add_worksheet(t("readme", lang))
        title = self.wb.add_format({"bold": True, "font_size": 14, "font_color": HEADER_COLOR})
        bold = self.wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        sheetf = self.wb.add_format({"bold": True, "font_size": 12, "font_color": HEADER_COLOR})
        ws.write(0, 0, f"{t('readme_title', lang)} — {workbook_key}.xlsx", title)
        ws.write(1, 0, t("wb_" + workbook_key, lang))
        ws.merge_range(2, 0, 2, 5, t("readme_intro", lang), self.wrap)
        ws.set_row(2, 60)
        protected = list(protected)
        if protected:
            note = self.wb.add_format({"bold": True, "font_color": "#C00000"})
            ws.write(3, 0, t("readme_reference", lang).format(
                sheets=("、" if lang == "zh" else ", ").join(e.sheet_name(lang) for e in protected)), note)
        r = 4
        for ent in entities:
            ws.write(r, 0, f"{t('sheet', lang)}: {ent.sheet_name(lang)}", sheetf)
            r += 1
            for j, h in enumerate(("field", "key", "type", "required", "allowed_values", "description")):
                ws.write(r, j, t(h, lang), bold)
            r += 1
            flds = fields_of(ent) if fields_of else ent.input_fields
            for f in flds:
                allowed = ""
                if f.type == "bool":
                    allowed = f"{t('yes', lang)} / {t('no', lang)}"
                elif f.enum is not None:
                    allowed = " / ".join(f.enum.labels(lang))
                ws.write_row(r, 0, [f.header(lang), f.key, t("type_" + f.type, lang),
                                    t("yes", lang) if f.required else "", allowed, f.hint(lang)], self.wrap)
                r += 1
            r += 1
        for j, w in enumerate((22, 20, 18, 8, 50, 60)):
            ws.set_column(j, j, w)
        ws.freeze_panes(0, 0)


def write_workbook(path: str | os.PathLike, frames: Mapping[str, pd.DataFrame | None], lang: str, *,
                   workbook_key: str | None = None, readme: bool = True, fields_of=None,
                   safe: bool = True, workspace: str | os.PathLike | None = None,
                   preserve: bool = True, keep_backups: int | None = None,
                   wait: float | None = None, fast: bool | None = None,
                   team_names: Iterable[str] | None = None, protect: Iterable[str] = ()) -> Path:
    """Write entity frames (keyed by entity key, in order) as one styled workbook.

    With ``safe`` (the default) the file is written through
    :func:`crmkit.io.safety.replace_file`: temp file, fsync, atomic replace,
    backup of the previous version (``keep_backups``, default 10), refusal
    while the workbook is open in Excel (after waiting up to ``wait`` seconds).

    With ``preserve`` (the default), an existing workbook that a person (or
    another program) has saved since crmkit wrote it is updated in place
    instead (:func:`crmkit.io.preserve.update_workbook`): only crmkit's cells
    change, the user's sheets, columns, formulas and formatting stay, and a
    workbook holding content that cannot be kept (charts, images, pivot
    tables, macros...) is refused with :class:`~crmkit.exceptions.UnsafeWriteError`.

    The cells of big sheets are written in bulk (:mod:`crmkit.io.bulk`, same
    cells as through xlsxwriter); ``fast`` forces that path on (``True``) or
    off (``False``) for every sheet.

    Person fields (Owner, Assignee, Manager) get a dropdown of the team:
    the Team sheet itself when it is among ``frames``, else ``team_names``
    (the workspace's Team names) copied into a hidden sheet.

    The sheets of the entities in ``protect`` are protected, without a
    password (a split's reference sheets: :mod:`crmkit.teamwork.split`), and
    so are the sheets protected in the crmkit-written workbook being replaced.
    """
    import xlsxwriter

    path = Path(path)
    frames = frames_with_labels(frames, lang)   # log sheets: action, entity and field as labels
    ents = [ENTITIES[k] for k in frames]
    protect = frozenset(protect)

    def produce(target: Path) -> None:
        wb = xlsxwriter.Workbook(str(target), {
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
            "nan_inf_to_errors": False, "default_date_format": "yyyy-mm-dd"})
        # a fixed creation date keeps generated files reproducible (templates are compared)
        wb.set_properties({"created": _dt.datetime(2026, 1, 1), "title": workbook_key or ents[0].workbook,
                           "comments": MARKER})
        sw = None
        try:
            sw = SheetWriter(wb, lang, fast=fast)
            if "team" in frames:
                sw.team_dropdown(team=frames["team"], fields=fields_of(ENTITIES["team"]) if fields_of else None)
            elif any(f.type == "person" for e in ents for f in e.fields):
                sw.team_dropdown(names=team_names)
            for key, df in frames.items():
                ent = ENTITIES[key]
                flds = fields_of(ent) if fields_of else None
                extra = df.attrs.get("extra_columns", []) if df is not None else []
                if df is not None:
                    extra = list(dict.fromkeys(list(extra) + [c for c in df.columns if not ent.has(c)
                                                              and (flds is None or c not in [f.key for f in flds])]))
                sw.write(ent, df, fields=flds, extra_columns=extra, protect=key in protect)
            sw.finish()
            if readme:
                sw.readme(workbook_key or ents[0].workbook, ents, fields_of=fields_of,
                          protected=[e for e in ents if e.key in protect])
        finally:
            wb.close()
        if sw is not None:
            sw.complete(target)

    if not safe:
        path.parent.mkdir(parents=True, exist_ok=True)
        produce(path)
        return path
    if preserve and path.is_file():
        try:
            content = inspect_workbook(path)
        except WorkbookError:
            if zipfile.is_zipfile(path):
                raise               # a zip crmkit refuses to open (a zip bomb): never replaced
            content = None          # not a workbook at all: replaced (the old file is kept as a backup)
        if content is not None and (content.unsafe or not content.written_by_crmkit):
            return update_workbook(path, frames, lang, workbook_key=workbook_key, fields_of=fields_of,
                                   workspace=workspace, keep_backups=keep_backups, wait=wait)
        if content is not None and content.protected:     # a protected sheet stays protected (a split's reference)
            protect = protect | {k for k in frames if ENTITIES[k].sheet_name(lang) in content.protected}
    replace_file(path, produce, workspace=workspace, wait=wait,
                 keep_backups=DEFAULT_BACKUPS if keep_backups is None else keep_backups)
    return path
