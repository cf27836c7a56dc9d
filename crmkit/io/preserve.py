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
import zipfile
from collections.abc import Mapping
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..exceptions import UnsafeWriteError, WorkbookError
from ..i18n import msg, word
from ..schema import ENTITIES, Entity, Field, match_header, norm_token

#: The docProps "comments" (dc:description) crmkit's writer sets.
MARKER = "Written by crmkit"

# Excel-2010+ extension lists in worksheets that openpyxl drops, by their ext uri.
_EXT_URIS = {
    "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}": "data validation that refers to another sheet (Excel 2010 style)",
    "{78C0D931-6437-407d-A8EE-F0AAD7539E65}": "Excel 2010 conditional formats (data bars, icon sets)",
    "{05C60535-1F16-4fd2-B633-F4F36F0B64E0}": "sparklines",
    "{A8765BA9-456A-4dab-B4F3-ACF838C121DE}": "slicers",
    "{3A4CF648-6AED-40f4-86FF-DC5316D8AED3}": "slicers",
    "{7E03D99C-DC04-49d9-9315-930204A7B6E9}": "timelines",
}


@dataclass
class WorkbookContent:
    """What a workbook file holds, read from its zip parts (no full load)."""

    path: Path
    sheets: list[str] = field(default_factory=list)
    written_by_crmkit: bool = False     # crmkit's marker, and not saved by anyone since
    unsafe: list[str] = field(default_factory=list)   # content an openpyxl save would drop
    has_formulas: bool = False
    has_comments: bool = False
    has_macros: bool = False
    strict: bool = False                # saved as "Strict Open XML Spreadsheet"

    @property
    def safe_to_update(self) -> bool:
        return not self.unsafe


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        return zf.read(name)
    except KeyError:
        return b""


# --------------------------------------------------------------------------- hostile archives

#: Limits on what a workbook's zip directory promises, checked before any part is read.
#: ``CRMKIT_MAX_UNCOMPRESSED_MB``: total uncompressed size of all parts (default 4096 MB; a
#: 1,000,000-row, 25-column sheet is about 1,500 MB).  ``CRMKIT_MAX_ZIP_RATIO``: the largest
#: uncompressed/compressed ratio of a part bigger than 64 MB (default 500; real sheets stay
#: well under 200).  Set either to 0 to switch that check off.
MAX_UNCOMPRESSED_ENV = "CRMKIT_MAX_UNCOMPRESSED_MB"
MAX_RATIO_ENV = "CRMKIT_MAX_ZIP_RATIO"
DEFAULT_MAX_UNCOMPRESSED_MB = 4096
DEFAULT_MAX_RATIO = 500
_RATIO_FROM = 64 * 2**20


def _limit(env: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(env, "") or default))
    except ValueError:
        return float(default)


def check_archive(path: str | os.PathLike, zf: zipfile.ZipFile | None = None) -> None:
    """Refuse a zip bomb: sizes promised by the zip directory beyond the limits (no part is read).

    Raises :class:`~crmkit.exceptions.WorkbookError` naming the file, the
    part, the sizes and the setting that raises the limit.
    """
    p = Path(path)
    own = zf is None
    if own:
        try:
            zf = zipfile.ZipFile(p)
        except (zipfile.BadZipFile, OSError, ValueError):
            return                      # not a zip: the reader reports it
    try:
        infos = zf.infolist()
    finally:
        if own:
            zf.close()
    max_total = _limit(MAX_UNCOMPRESSED_ENV, DEFAULT_MAX_UNCOMPRESSED_MB) * 2**20
    max_ratio = _limit(MAX_RATIO_ENV, DEFAULT_MAX_RATIO)
    total = 0
    for info in infos:
        total += info.file_size
        if (max_ratio and info.file_size > _RATIO_FROM
                and info.file_size > max_ratio * max(info.compress_size, 1)):
            raise WorkbookError(
                f"refused: part {info.filename} would unpack from {info.compress_size:,} to "
                f"{info.file_size:,} bytes (more than {max_ratio:g} times; a zip bomb?). If the file is "
                f"genuine, raise the limit with the environment variable {MAX_RATIO_ENV}", file=str(p))
    if max_total and total > max_total:
        raise WorkbookError(
            f"refused: the workbook would unpack to {total / 2**20:,.0f} MB, more than the limit of "
            f"{max_total / 2**20:,.0f} MB (a zip bomb?). If the file is genuine, raise the limit with the "
            f"environment variable {MAX_UNCOMPRESSED_ENV}", file=str(p))


# --------------------------------------------------------------------------- linear scans
# Hostile parts may hold millions of unclosed tags: every scan below moves forward only, so
# it takes time in proportion to the part's size (a backtracking regex took minutes).

def _tags(xml: bytes, start: bytes):
    """The text of every tag that begins with ``start`` (up to its ``>``), in one forward pass."""
    pos, k = 0, len(start)
    while True:
        i = xml.find(start, pos)
        if i < 0:
            return
        nxt = xml[i + k:i + k + 1]
        j = xml.find(b">", i + k)
        if j < 0:
            return
        if nxt in (b" ", b"\t", b"\n", b"\r", b"/", b">"):
            yield xml[i:j]
        pos = j + 1


def _attr(tag: bytes, name: bytes) -> bytes | None:
    """The value of attribute ``name`` in one tag's text (a bounded piece: linear)."""
    pos = 0
    key = name + b'="'
    while True:
        i = tag.find(key, pos)
        if i < 0:
            return None
        if i == 0 or tag[i - 1:i] in (b" ", b"\t", b"\n", b"\r"):
            j = tag.find(b'"', i + len(key))
            return None if j < 0 else tag[i + len(key):j]
        pos = i + 1


def _element_text(xml: bytes, tag: bytes) -> bytes | None:
    """The text of the first ``<tag ...>text</tag>`` (linear)."""
    for head in _tags(xml, b"<" + tag):
        if head.endswith(b"/"):
            return b""
        start = xml.find(head) + len(head) + 1
        end = xml.find(b"</" + tag + b">", start)
        return None if end < 0 else xml[start:end]
    return None


# --------------------------------------------------------------------------- formula cells
# openpyxl keeps a user's formulas but writes them without their cached results, so a reader
# that does not calculate (pandas, fastexcel, crmkit itself) would see blanks.  The results
# are read from the file before the update and written back next to the formulas after it.
# (Every pattern stops at the next '<', so a hostile part is still scanned in linear time.)

_CACHED = re.compile(rb'<c\b([^<>]*)>(?:<f\b[^<>]*/>|<f\b[^<>]*>[^<]*</f>)<v>([^<]*)</v></c>')
_FORMULA_CELL = re.compile(rb'<c\b([^<>]*)>\s*<f\b')
_EMPTY_FORMULA = re.compile(rb'<c\b([^<>]*)>(<f\b[^<>]*>[^<]*</f>|<f\b[^<>]*/>)(?:<v\s*/>|<v></v>)?</c>')


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part (``xl/worksheets/sheet1.xml``), from workbook.xml and its relationships."""
    wbxml = _read(zf, "xl/workbook.xml")
    rels = _read(zf, "xl/_rels/workbook.xml.rels")
    target = {}
    for tag in _tags(rels, b"<Relationship"):
        rid, tgt = _attr(tag, b"Id"), _attr(tag, b"Target")
        if rid and tgt:
            t = tgt.decode("utf-8", "replace")
            target[rid] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    out = {}
    for tag in _tags(wbxml, b"<sheet"):
        name, rid = _attr(tag, b"name"), _attr(tag, b"r:id")
        if name is not None and rid in target:
            out[_unescape(name.decode("utf-8", "replace"))] = target[rid]
    return out


def cached_formula_values(path: str | os.PathLike) -> dict[str, dict[str, tuple[bytes, bytes]]]:
    """Sheet name -> {cell reference: (type, cached result)} of every formula cell that has one."""
    out: dict[str, dict[str, tuple[bytes, bytes]]] = {}
    with zipfile.ZipFile(path) as zf:
        for name, part in sheet_parts(zf).items():
            xml = _read(zf, part)
            if b"<f" not in xml:
                continue
            cells = {}
            for m in _CACHED.finditer(xml):
                ref = _attr(m.group(1), b"r")
                if ref:
                    cells[ref.decode("ascii", "replace")] = (_attr(m.group(1), b"t") or b"n", m.group(2))
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
        xml = _read(zf, part) if part else b""
    if b"<f" not in xml:
        return {}
    by_col: dict[int, set[int]] = {}
    for m in _FORMULA_CELL.finditer(xml):
        ref = _attr(m.group(1), b"r")
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
    from .workbook import find_sheet, map_columns

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


def _restore_cached_values(path: Path, values: dict[str, dict[str, tuple[bytes, bytes]]]) -> int:
    """Write cached results next to the formulas openpyxl saved without them; returns how many."""
    if not values:
        return 0
    import io

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
                        ref = _attr(attrs, b"r")
                        got = cells.get(ref.decode("ascii", "replace")) if ref else None
                        if got is None:
                            return m.group(0)
                        kind, value = got
                        restored += 1
                        if kind != b"n" and _attr(attrs, b"t") is None:
                            attrs = attrs + b' t="' + kind + b'"'
                        return b"<c" + attrs + b">" + m.group(2) + b"<v>" + value + b"</v></c>"
                    body = _EMPTY_FORMULA.sub(put, body)
                zout.writestr(info, body)
    return restored


#: Namespaces of a workbook saved as "Strict Open XML Spreadsheet": openpyxl reads it as empty.
_STRICT_NS = b"http://purl.oclc.org/ooxml/spreadsheetml/main"


def inspect_workbook(path: str | os.PathLike) -> WorkbookContent:
    """Look inside an .xlsx (a zip of XML parts) for content that matters to a safe update."""
    p = Path(path)
    info = WorkbookContent(p)
    try:
        zf = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(msg("e_corrupt_detail", detail=str(exc)), file=str(p)) from None
    with zf:
        check_archive(p, zf)
        names = zf.namelist()
        found: dict[str, None] = {}

        def has(prefix: str) -> bool:
            return any(n.startswith(prefix) for n in names)

        if has("xl/charts/") or has("xl/chartsheets/"):
            found["charts"] = None
        if has("xl/media/"):
            found["images"] = None
        if has("xl/pivotTables/") or has("xl/pivotCache/"):
            found["pivot tables"] = None
        if "xl/vbaProject.bin" in names or p.suffix.lower() == ".xlsm":
            found["macros (VBA)"] = None
            info.has_macros = True
        if has("xl/ctrlProps/") or has("xl/activeX/"):
            found["form controls"] = None
        if has("xl/slicers/") or has("xl/slicerCaches/"):
            found["slicers"] = None
        if has("xl/timelines/") or has("xl/timelineCaches/"):
            found["timelines"] = None
        if has("xl/embeddings/"):
            found["embedded objects"] = None
        if has("xl/threadedComments/"):
            found["threaded comments (replies would become plain notes)"] = None
        for n in names:
            if n.startswith("xl/drawings/drawing") and n.endswith(".xml"):
                xml = _read(zf, n)
                if b"<xdr:sp>" in xml or b"<xdr:sp " in xml or b"<xdr:cxnSp" in xml:
                    found["shapes or text boxes"] = None
                if b":pic>" in xml or b"<xdr:pic" in xml:
                    found["images"] = None
        if has("xl/comments") or any(n.startswith("xl/comments") for n in names):
            info.has_comments = True
        if "xl/connections.xml" in names or has("xl/queryTables/"):
            found["Power Query or data connections"] = None
        if has("xl/model/"):
            found["a data model (Power Pivot)"] = None
        if has("customXml/"):
            found["custom XML parts (e.g. Power Query queries)"] = None
        for n in names:
            if n.startswith("xl/worksheets/sheet") and n.endswith(".xml"):
                xml = _read(zf, n)
                if b"<f>" in xml or b"<f " in xml:
                    info.has_formulas = True
                if b"<extLst" in xml:
                    for tag in _tags(xml, b"<ext"):
                        uri = _attr(tag, b"uri")
                        label = _EXT_URIS.get(uri.decode("ascii", "replace")) if uri else None
                        if label:
                            found[label] = None
        wbxml = _read(zf, "xl/workbook.xml")
        if _STRICT_NS in wbxml[:4096]:
            info.strict = True
            found["the 'Strict Open XML' format"] = None
        info.sheets = [_unescape(s.decode("utf-8", "replace")) for s in
                       (_attr(tag, b"name") for tag in _tags(wbxml, b"<sheet")) if s is not None]
        core = _read(zf, "docProps/core.xml")
        desc = _element_text(core, b"dc:description")
        created = _element_text(core, b"dcterms:created")
        modified = _element_text(core, b"dcterms:modified")
        info.written_by_crmkit = bool(
            desc is not None and desc.strip() == MARKER.encode()
            and created and modified and created.strip() == modified.strip())
        info.unsafe = list(found)
    return info


def _unescape(s: str) -> str:
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def check_safe_to_update(path: str | os.PathLike, content: WorkbookContent | None = None) -> WorkbookContent:
    """Raise :class:`UnsafeWriteError` when updating ``path`` would drop content; else its content."""
    info = content or inspect_workbook(path)
    if info.strict:
        raise UnsafeWriteError(
            "this workbook is saved as 'Strict Open XML Spreadsheet', which crmkit cannot update without "
            "losing your sheets and columns, so it was not changed. Save it as 'Excel Workbook (*.xlsx)' "
            "(File > Save As) and run the command again", file=str(path))
    if info.unsafe:
        what = tuple(word(u) for u in info.unsafe)
        raise UnsafeWriteError(
            msg("e_unsafe_content", what=what), file=str(path))
    return info


# --------------------------------------------------------------------------- updating in place

def _excel_value(v, f: Field, lang: str):
    from .workbook import _excel_value as xv

    return xv(v, f, lang)


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

    from .workbook import convert_column, header_text

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
            new = _excel_value(canon, f, lang)
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

    from .workbook import HEADER_COLOR, header_text

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

    from .safety import DEFAULT_BACKUPS, replace_file
    from .workbook import find_sheet

    path = Path(path)
    info = check_safe_to_update(path)
    try:
        cached = cached_formula_values(path) if info.has_formulas else {}
        wb = openpyxl.load_workbook(path, rich_text=True, keep_links=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for broken files
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise WorkbookError(msg("e_cannot_open_update", detail=text), file=str(path)) from exc
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
        _restore_cached_values(target, restore)

    replace_file(path, produce, workspace=workspace,
                 keep_backups=DEFAULT_BACKUPS if keep_backups is None else keep_backups, wait=wait)
    return path
