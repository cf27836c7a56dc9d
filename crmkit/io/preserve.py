"""Updating a user's workbook while keeping what crmkit does not own (DESIGN §8).

A workbook crmkit wrote itself and nobody has saved since can simply be
written again from the frames (xlsxwriter, fast).  Once a person has opened
and saved it, it may hold their additions: extra sheets and columns,
formulas, formatting, column widths, validation, conditional formats,
comments, defined names, freeze panes.  Such a workbook is *updated in
place* with openpyxl: only the cells of crmkit's columns on crmkit's sheets
change, new rows take the formatting of the row above, the Excel table grows
to cover them, and everything else is left as it was.

openpyxl cannot carry some content through a save (charts are rebuilt,
images need Pillow, shapes, form controls, slicers, sparklines and Excel-2010
extensions are lost, macros need care).  :func:`check_safe_to_update`
inspects the file's zip parts first and refuses with
:class:`~crmkit.exceptions.UnsafeWriteError`, saying what was found and what
to do, so such a workbook is never damaged.

Row matching: a frame read from the sheet is indexed by Excel row number;
rows keep their place, rows missing from the frame are removed (the rows
below move up, their formulas translated), new rows are appended after the
last one.  When the index does not fit the sheet (a frame built afresh), rows
are matched by the entity's ID column.  Cells holding a formula are never
overwritten, and a value crmkit could not read (so it holds a blank) is never
erased.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import os
import re
from collections.abc import Mapping
from copy import copy
from pathlib import Path

import pandas as pd

from ..exceptions import WorkbookError
from ..i18n import msg
from ..schema import ENTITIES, Entity, Field, match_header, norm_token
from .cells import HEADER_COLOR, excel_value, header_text
from .contents import check_safe_to_update
from .formulas import cached_formula_values, restore_cached_values
from .reading import find_sheet, short_error
from .safety import DEFAULT_BACKUPS, replace_file
from .typing import convert_column

# --------------------------------------------------------------------------- updating in place

def _isna(v) -> bool:
    if v is None:
        return True
    try:
        out = pd.isna(v)
    except (TypeError, ValueError):
        return False
    return bool(out) if not hasattr(out, "__len__") else False


def _as_text(v) -> str | None:
    """A cell value as the text the reader would have seen."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v.isoformat(sep=" ") if isinstance(v, _dt.datetime) else v.isoformat()
    if isinstance(v, str):
        return v
    return str(v)


def _same(old, new) -> bool:
    """Is the cell's value already what crmkit would write?"""
    if old is None:
        return new is None
    if new is None:
        return False
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return float(old) == float(new)
    if isinstance(old, (int, float)) and isinstance(new, str):
        try:
            return float(new) == float(old)
        except ValueError:
            return False
    if isinstance(old, _dt.datetime) and isinstance(new, _dt.datetime):
        return old == new
    if isinstance(old, _dt.datetime) and isinstance(new, _dt.date):
        return old == _dt.datetime(new.year, new.month, new.day)
    return old == new


def _eq_canonical(a, b) -> bool:
    na, nb = _isna(a), _isna(b)
    if na or nb:
        return na and nb
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def _set_value(cell, value) -> None:
    """Write ``value``; text is always stored as text (``=...`` never becomes a formula)."""
    if isinstance(value, str):
        value = _ILLEGAL.sub("", value)
        cell.value = value
        cell.data_type = "s"
    else:
        cell.value = value


def _header_lookup(ent: Entity, fields: list[Field]) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in fields:
        for s in (f.key, f.en, f.zh, *f.synonyms):
            out.setdefault(norm_token(s), f.key)
    return out


def _match(ent: Entity, lookup: dict[str, str], header) -> str | None:
    if header is None or (isinstance(header, str) and not header.strip()):
        return None
    key = lookup.get(norm_token(header))
    return key or match_header(ent, header)


def _fields_for(ent: Entity, df: pd.DataFrame | None, fields_of) -> list[Field]:
    fields = list(fields_of(ent)) if fields_of else list(ent.input_fields)
    if df is not None:
        keys = {f.key for f in fields}
        fields += [f for f in ent.fields if f.derived and f.key in df.columns and f.key not in keys
                   and df[f.key].notna().any()]
    return fields


def _delete_rows(ws, rows: list[int]) -> None:
    """Remove whole rows; the rows below move up, their formulas translated."""
    dels = sorted(set(rows))
    if not dels:
        return
    first = dels[0]
    delset = set(dels)
    for (r, c) in sorted(rc for rc in ws._cells if rc[0] >= first):
        if r in delset:
            del ws._cells[(r, c)]
            continue
        shift = bisect.bisect_left(dels, r)
        if shift:
            ws._move_cell(r, c, -shift, 0, translate=True)
    dims = {r: d for r, d in ws.row_dimensions.items() if r >= first}
    for r in dims:
        del ws.row_dimensions[r]
    for r, d in dims.items():
        if r in delset:
            continue
        nr = r - bisect.bisect_left(dels, r)
        d.index = nr
        ws.row_dimensions[nr] = d


def _update_sheet(ws, ent: Entity, df: pd.DataFrame, fields: list[Field], lang: str) -> None:
    from openpyxl.formula.translate import Translator
    from openpyxl.utils import get_column_letter

    # header: which column holds which field
    lookup = _header_lookup(ent, fields)
    width = max((c for (r, c), cell in ws._cells.items() if r == 1 and cell.value is not None), default=0)
    col_of: dict[str, int] = {}
    for c in range(1, width + 1):
        key = _match(ent, lookup, ws.cell(row=1, column=c).value)
        if key and key not in col_of:
            col_of[key] = c
    last = max((r for (r, c), cell in ws._cells.items() if r >= 2 and c <= max(width, 1)
                and cell.value is not None), default=1)

    # which sheet row each frame row goes to (None: a new row)
    targets = _row_targets(ws, ent, df, col_of, last)
    kept = {t for t in targets if t is not None}
    data_rows = {r for (r, c), cell in ws._cells.items()
                 if 2 <= r <= last and c in set(col_of.values()) and cell.value is not None}
    deleted = sorted(data_rows - kept)
    if deleted:
        _delete_rows(ws, deleted)
        shift = [bisect.bisect_left(deleted, t) if t is not None else 0 for t in targets]
        targets = [None if t is None else t - s for t, s in zip(targets, shift)]
        last -= len(deleted)
    nxt = last + 1
    style_row = last if last >= 2 else None
    new_rows = []
    for i, t in enumerate(targets):
        if t is None:
            targets[i] = nxt
            new_rows.append(nxt)
            nxt += 1

    # columns crmkit has values for but the sheet lacks: added at the right
    header_src = ws.cell(row=1, column=1) if width else None
    added_to = first_added = 0
    for f in fields:
        if f.key in col_of or f.key not in df.columns or not df[f.key].notna().any():
            continue
        width += 1
        added_to = width
        first_added = first_added or width
        col_of[f.key] = width
        cell = ws.cell(row=1, column=width)
        _set_value(cell, header_text(f, lang))
        if header_src is not None and header_src.has_style:
            cell._style = copy(header_src._style)
        ws.column_dimensions[get_column_letter(width)].width = max(10, min(40, len(str(cell.value)) + 4))

    # extra columns (added by hand in the table, or by an import): found by their header text; new ones with
    # values are added at the right.  Their values flow like crmkit's own (a formula is never overwritten)
    extra_col = _extra_columns(ws, ent, df, fields, col_of, width)
    for name in [n for n in extra_col if extra_col[n] is None]:
        width += 1
        added_to = width
        first_added = first_added or width
        extra_col[name] = width
        cell = ws.cell(row=1, column=width)
        _set_value(cell, name)
        if header_src is not None and header_src.has_style:
            cell._style = copy(header_src._style)
        ws.column_dimensions[get_column_letter(width)].width = max(10, min(40, len(name) * 2 + 4))

    # new rows take the look of the row above; calculated (formula) columns continue
    if new_rows and style_row is not None:
        from openpyxl.utils import range_boundaries

        in_table = set()
        for tbl in ws.tables.values():
            c0, r0, c1, _ = range_boundaries(tbl.ref)
            if r0 == 1:
                in_table.update(range(c0, c1 + 1))
        for c in range(1, width + 1):
            src = ws._cells.get((style_row, c))
            if src is None:
                continue
            is_crmkit_col = c in set(col_of.values())
            for r in new_rows:
                dst = ws.cell(row=r, column=c)
                if src.has_style:
                    dst._style = copy(src._style)
                if (not is_crmkit_col and c in in_table and src.data_type == "f"
                        and isinstance(src.value, str)):      # a calculated column of the table
                    dst.value = Translator(src.value, origin=src.coordinate).translate_formula(dst.coordinate)
        if style_row in ws.row_dimensions and ws.row_dimensions[style_row].height:
            for r in new_rows:
                ws.row_dimensions[r].height = ws.row_dimensions[style_row].height

    # the values of crmkit's columns
    rows = targets
    for f in fields:
        c = col_of.get(f.key)
        if c is None or f.key not in df.columns:
            continue
        new_canon = df[f.key].tolist()
        cells = [ws._cells.get((r, c)) for r in rows]
        olds = [None if cell is None else cell.value for cell in cells]
        text = pd.Series([_as_text(o) for o in olds], dtype="string")
        try:
            conv, bad = convert_column(text, f)
            conv_l, bad_l = conv.tolist(), bad.tolist()
        except Exception:  # noqa: BLE001 - a custom type without converter: compare raw values only
            conv_l, bad_l = [pd.NA] * len(olds), [False] * len(olds)
        for r, cell, old, canon, oc, ob in zip(rows, cells, olds, new_canon, conv_l, bad_l):
            if cell is not None and cell.data_type == "f":
                continue                      # a formula is the user's: never overwritten
            if _isna(canon):
                if old is None or ob or _isna(oc):
                    continue                  # blank already, or a value crmkit could not read: kept
                _set_value(ws.cell(row=r, column=c), None)
                continue
            if old is not None and _eq_canonical(oc, canon):
                continue
            new = excel_value(canon, f, lang)
            if _same(old, new):
                continue
            _set_value(ws.cell(row=r, column=c), new)

    for name, c in extra_col.items():
        for r, v in zip(rows, df[name].tolist()):
            v = _plain_value(v)
            if v is None:
                continue                      # an extra value is never erased
            cell = ws._cells.get((r, c))
            if cell is not None and cell.data_type == "f":
                continue
            old = None if cell is None else cell.value
            if old is not None and _as_text(old) == _as_text(v):
                continue                      # the same value (a number stays a number)
            _set_value(ws.cell(row=r, column=c), v)

    # the Excel table grows with the data and crmkit's new columns (openpyxl does not do it)
    _extend_tables(ws, added_to, max(nxt - 1, last), first_added)


def _extra_columns(ws, ent: Entity, df: pd.DataFrame, fields: list[Field], col_of: dict[str, int],
                   width: int) -> dict[str, int | None]:
    """The frame's extra (non-field) columns -> their sheet column (None: not in the sheet yet, has values)."""
    keys = {f.key for f in fields}
    extras = [c for c in df.columns if isinstance(c, str) and c not in keys and not ent.has(c)
              and not c.startswith("__UNNAMED__") and not c.startswith("_")]
    if not extras:
        return {}
    taken = set(col_of.values())
    heads: dict[str, int] = {}
    for c in range(1, width + 1):
        cell = ws._cells.get((1, c))
        if c in taken or cell is None or cell.value is None:
            continue
        heads.setdefault(str(cell.value).strip(), c)
    out: dict[str, int | None] = {}
    for name in extras:
        c = heads.get(name.strip())
        if c is not None:
            out[name] = c
        elif df[name].notna().any():
            out[name] = None
    return out


def _plain_value(v):
    """An extra column's value as a cell value (None when blank)."""
    if _isna(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if hasattr(v, "item") and not isinstance(v, str):
        try:
            return v.item()
        except (AttributeError, ValueError):
            return v
    return v


def _row_targets(ws, ent: Entity, df: pd.DataFrame, col_of: dict[str, int], last: int) -> list[int | None]:
    idx = df.index
    id_key = ent.id_field
    id_col = col_of.get(id_key) if id_key else None
    ints = pd.api.types.is_integer_dtype(idx.dtype) and idx.is_unique and (len(idx) == 0 or int(idx.min()) >= 2)
    if ints:
        rows = [int(r) for r in idx]
        ok = True
        if id_col is not None and id_key in df.columns:
            ids = df[id_key].tolist()
            for r, v in zip(rows, ids):
                if r > last or _isna(v):
                    continue
                cur = ws._cells.get((r, id_col))
                cur_v = None if cur is None else _as_text(cur.value)
                if cur_v is None or str(cur_v).strip() != str(v).strip():
                    ok = False
                    break
        if ok:
            return [r if r <= last else None for r in rows]
    if id_col is not None and id_key in df.columns:
        ids = df[id_key]
        if ids.notna().all() and ids.is_unique:
            where: dict[str, int] = {}
            for r in range(2, last + 1):
                cell = ws._cells.get((r, id_col))
                if cell is not None and cell.value is not None:
                    where.setdefault(str(_as_text(cell.value)).strip(), r)
            return [where.get(str(v).strip()) for v in ids.tolist()]
    # nothing to match on: rows in order
    return [r if r <= last else None for r in range(2, 2 + len(df))]


def _extend_tables(ws, width: int, last_row: int, first_added: int = 0) -> None:
    from openpyxl.utils import get_column_letter, range_boundaries
    from openpyxl.worksheet.table import TableColumn

    for name in list(ws.tables.keys()):
        tbl = ws.tables[name]
        min_col, min_row, max_col, max_row = range_boundaries(tbl.ref)
        if min_row != 1:
            continue
        # crmkit's new columns join the table when it reaches the column before them
        new_max_col = width if (first_added and max_col >= first_added - 1) else max_col
        new_max_row = max(last_row, 2)
        if (new_max_col, new_max_row) == (max_col, max_row):
            continue
        if new_max_col > max_col and tbl.tableColumns:
            used = {tc.name for tc in tbl.tableColumns}
            next_id = max((tc.id for tc in tbl.tableColumns), default=0) + 1
            for c in range(max_col + 1, new_max_col + 1):
                head = ws.cell(row=1, column=c).value
                label = str(head) if head not in (None, "") else f"Column{c}"
                while label in used:
                    label += "_"
                if head in (None, ""):
                    _set_value(ws.cell(row=1, column=c), label)
                used.add(label)
                tbl.tableColumns.append(TableColumn(id=next_id, name=label))
                next_id += 1
        ref = f"{get_column_letter(min_col)}1:{get_column_letter(new_max_col)}{new_max_row}"
        tbl.ref = ref
        if tbl.autoFilter is not None:
            tbl.autoFilter.ref = ref


def _new_sheet(wb, ent: Entity, df: pd.DataFrame, fields: list[Field], lang: str):
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    ws = wb.create_sheet(ent.sheet_name(lang))
    fill = PatternFill("solid", fgColor=HEADER_COLOR.lstrip("#"))
    for j, f in enumerate(fields, start=1):
        cell = ws.cell(row=1, column=j)
        _set_value(cell, header_text(f, lang))
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = fill
        ws.column_dimensions[get_column_letter(j)].width = max(10, min(40, len(str(cell.value)) + 4))
    ws.freeze_panes = "A2"
    if fields:
        ref = f"A1:{get_column_letter(len(fields))}{max(len(df) + 1, 2)}"
        names = {t for s in wb.worksheets for t in s.tables.keys()}
        name = f"tbl_{ent.key}"
        while name in names:
            name += "_1"
        tbl = Table(displayName=name, ref=ref)
        tbl.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        ws.add_table(tbl)
    return ws


def update_workbook(path: str | os.PathLike, frames: Mapping[str, pd.DataFrame | None], lang: str, *,
                    workbook_key: str | None = None, fields_of=None,
                    workspace: str | os.PathLike | None = None, keep_backups: int | None = None,
                    wait: float | None = None) -> Path:
    """Write entity frames into an existing workbook, keeping everything else in it.

    Refuses (:class:`UnsafeWriteError`) when the workbook holds content an
    openpyxl save would drop; the file is then left untouched.  Saved
    through :func:`crmkit.io.safety.replace_file`.
    """
    import openpyxl

    path = Path(path)
    info = check_safe_to_update(path)
    try:
        cached = cached_formula_values(path) if info.has_formulas else {}
        wb = openpyxl.load_workbook(path, rich_text=True, keep_links=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for broken files
        raise WorkbookError(msg("e_cannot_open_update", detail=short_error(exc)), file=str(path)) from exc
    # the formula cells with a cached result, followed through row moves by the cell objects
    from openpyxl.utils.cell import coordinate_to_tuple

    formula_cells: list[tuple[object, object, tuple[bytes, bytes]]] = []
    for title, cells in cached.items():
        if title not in wb.sheetnames:
            continue
        sheet = wb[title]
        for ref, value in cells.items():
            try:
                cell = sheet._cells.get(coordinate_to_tuple(ref))
            except (ValueError, TypeError):
                continue
            if cell is not None and cell.data_type == "f":
                formula_cells.append((sheet, cell, value))
    for key, df in frames.items():
        ent = ENTITIES[key]
        fields = _fields_for(ent, df, fields_of)
        name = find_sheet(wb.sheetnames, ent)
        if name is None:
            if df is None or df.empty:
                continue
            ws = _new_sheet(wb, ent, df, fields, lang)
        else:
            ws = wb[name]
        if df is None:
            continue
        _update_sheet(ws, ent, df, fields, lang)

    restore: dict[str, dict[str, tuple[bytes, bytes]]] = {}
    for sheet, cell, value in formula_cells:
        if sheet._cells.get((cell.row, cell.column)) is cell and cell.data_type == "f":
            restore.setdefault(sheet.title, {})[cell.coordinate] = value
    if formula_cells:
        from openpyxl.workbook.properties import CalcProperties

        if wb.calculation is None:
            wb.calculation = CalcProperties()
        wb.calculation.fullCalcOnLoad = True      # results of changed inputs are recalculated on opening

    def produce(target: Path) -> None:
        wb.save(str(target))
        restore_cached_values(target, restore)

    replace_file(path, produce, workspace=workspace,
                 keep_backups=DEFAULT_BACKUPS if keep_backups is None else keep_backups, wait=wait)
    return path
