"""The user's formula cells: where they are, and their cached results kept through an update.

openpyxl keeps a user's formulas but writes them without their cached
results, so a reader that does not calculate (pandas, fastexcel, crmkit
itself) would see blanks.  The results are read from the file before an
update (:func:`cached_formula_values`) and written back next to the formulas
after it (:func:`restore_cached_values`).  :func:`entity_formula_rows` tells
the rule actions which cells hold a formula, so they never overwrite one.
Every pattern stops at the next ``<``, so a hostile part is still scanned in
linear time.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

from ..schema import Entity
from .archive import attr, check_archive, read_part, sheet_parts
from .reading import find_sheet
from .typing import map_columns

_CACHED = re.compile(rb'<c\b([^<>]*)>(?:<f\b[^<>]*/>|<f\b[^<>]*>[^<]*</f>)<v>([^<]*)</v></c>')
_FORMULA_CELL = re.compile(rb'<c\b([^<>]*)>\s*<f\b')
_EMPTY_FORMULA = re.compile(rb'<c\b([^<>]*)>(<f\b[^<>]*>[^<]*</f>|<f\b[^<>]*/>)(?:<v\s*/>|<v></v>)?</c>')


def cached_formula_values(path: str | os.PathLike) -> dict[str, dict[str, tuple[bytes, bytes]]]:
    """Sheet name -> {cell reference: (type, cached result)} of every formula cell that has one."""
    out: dict[str, dict[str, tuple[bytes, bytes]]] = {}
    with zipfile.ZipFile(path) as zf:
        for name, part in sheet_parts(zf).items():
            xml = read_part(zf, part)
            if b"<f" not in xml:
                continue
            cells = {}
            for m in _CACHED.finditer(xml):
                ref = attr(m.group(1), b"r")
                if ref:
                    cells[ref.decode("ascii", "replace")] = (attr(m.group(1), b"t") or b"n", m.group(2))
            if cells:
                out[name] = cells
    return out


def formula_rows(path: str | os.PathLike, sheet: str) -> dict[str, set[int]]:
    """Header text -> the Excel rows whose cell in that column holds a formula, for one sheet.

    Empty when the sheet holds no formula (found from the zip part alone).
    """
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    with zipfile.ZipFile(path) as zf:
        check_archive(path, zf)
        part = sheet_parts(zf).get(sheet)
        xml = read_part(zf, part) if part else b""
    if b"<f" not in xml:
        return {}
    by_col: dict[int, set[int]] = {}
    for m in _FORMULA_CELL.finditer(xml):
        ref = attr(m.group(1), b"r")
        if not ref:
            continue
        try:
            letters, row = coordinate_from_string(ref.decode("ascii", "replace"))
        except ValueError:
            continue
        if row >= 2:
            by_col.setdefault(column_index_from_string(letters), set()).add(row)
    if not by_col:
        return {}
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        head = next(book[sheet].iter_rows(min_row=1, max_row=1, values_only=True), ())
    finally:
        book.close()
    return {str(head[c - 1]): rows for c, rows in by_col.items() if c - 1 < len(head) and head[c - 1] is not None}


def entity_formula_rows(path: str | os.PathLike, ent: Entity) -> dict[str, set[int]]:
    """Field key -> the Excel rows of ``ent``'s sheet in ``path`` whose cell holds the user's formula."""
    p = Path(path)
    if not p.is_file() or p.suffix.lower() not in (".xlsx", ".xlsm"):
        return {}
    with zipfile.ZipFile(p) as zf:
        names = list(sheet_parts(zf))
    sheet = find_sheet(names, ent)
    if sheet is None:
        return {}
    by_header = formula_rows(p, sheet)
    keys = map_columns(list(by_header), ent)
    return {keys[h]: rows for h, rows in by_header.items() if h in keys}


def restore_cached_values(path: Path, values: dict[str, dict[str, tuple[bytes, bytes]]]) -> int:
    """Write cached results next to the formulas openpyxl saved without them; returns how many."""
    if not values:
        return 0
    with open(path, "rb") as fh:
        data = fh.read()
    restored = 0
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        parts = {part: values[name] for name, part in sheet_parts(zin).items() if name in values}
        if not parts:
            return 0
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in zin.infolist():
                body = zin.read(info.filename)
                cells = parts.get(info.filename)
                if cells:
                    def put(m, cells=cells):
                        nonlocal restored
                        attrs = m.group(1)
                        ref = attr(attrs, b"r")
                        got = cells.get(ref.decode("ascii", "replace")) if ref else None
                        if got is None:
                            return m.group(0)
                        kind, value = got
                        restored += 1
                        if kind != b"n" and attr(attrs, b"t") is None:
                            attrs = attrs + b' t="' + kind + b'"'
                        return b"<c" + attrs + b">" + m.group(2) + b"<v>" + value + b"</v></c>"
                    body = _EMPTY_FORMULA.sub(put, body)
                zout.writestr(info, body)
    return restored


