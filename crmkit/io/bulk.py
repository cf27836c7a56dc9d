"""Bulk writing of the cells of big sheets into a workbook made by xlsxwriter.

xlsxwriter stores and then writes every cell through Python, a few
microseconds per cell: rewriting ``customers.xlsx`` of a large workspace
(customers, interactions, orders and deals, eleven million cells at 100,000
customers) took about a minute of CPU; this path takes about 4.5 seconds.  For a sheet with many cells (:data:`FAST_MIN_CELLS`) crmkit lets
xlsxwriter write everything structural (header row, formats, table,
dropdowns, hints, widths, comments, freeze panes, README) and produces the
cell data itself, with whole-column operations:

1. Before the workbook is closed (:meth:`SheetPlan.add`), every column is
   reduced to its distinct values (``pandas.factorize``) and each distinct
   value is classified exactly as ``SheetWriter._write_column`` hands it to
   xlsxwriter: shared string, number, date serial, boolean, or no cell.
   While xlsxwriter writes the sheet, the cell formats are registered where
   it would have met them, so ``styles.xml`` is the same too.
2. After the workbook is closed (:func:`complete`), the sheet XML that
   xlsxwriter wrote (holding the header row only) gets its data rows: each
   row is assembled by one pyarrow ``take`` over a table of small pieces
   (``<row r="``, row numbers, spans, cell references, value suffixes), the
   new strings are appended to xlsxwriter's shared-string table, and the
   package is written again with every other part unchanged.

The result is the same workbook, cell for cell: values, cell types, style
indexes, the ``<dimension>`` and the row ``spans`` are those xlsxwriter
writes (``tests/test_fast_writer.py`` compares both paths).  The shared
strings are numbered differently (crmkit's come after xlsxwriter's own), and
the big parts are deflated at level 1 rather than 6.

The two steps share the plan, the cell kinds and their tests, and are read
together, so they stay in one file of a little over 600 lines.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .cells import excel_value

#: sheets with at least this many cells (rows x columns) are written in bulk
FAST_MIN_CELLS = 20_000
#: cells assembled per step (bounds the memory of one step)
CHUNK_CELLS = 2_000_000
#: deflate level of the parts written here when they are big
FAST_LEVEL = 1
BIG_PART = 1 << 20

SKIP, STR, NUM, DATE, BOOL = 0, 1, 2, 3, 4

_SST_PART = "xl/sharedStrings.xml"
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_SST_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def use_fast(n_rows: int, n_cols: int, fast: bool | None = None) -> bool:
    """Whether a sheet of ``n_rows`` x ``n_cols`` cells is written in bulk.

    ``fast`` forces the choice (tests); ``None`` decides by :data:`FAST_MIN_CELLS`.
    """
    if n_rows <= 0 or n_cols <= 0:
        return False
    if fast is not None:
        return bool(fast)
    return n_rows * n_cols >= FAST_MIN_CELLS


# --------------------------------------------------------------------------- classifying


def _passthrough(f) -> bool:
    """:func:`crmkit.io.cells.excel_value` returns non-blank values of this field unchanged
    (apart from Timestamps, which become datetimes with the same serial)."""
    if f is None:
        return True
    if f.type == "bool":
        return False
    return not (f.type in ("enum", "multi") and f.enum is not None)


def _number_texts(values: np.ndarray) -> np.ndarray:
    """``f"{v:.16G}"`` (xlsxwriter's number format) of float64 values; object array."""
    import pyarrow as pa

    out = np.empty(len(values), dtype=object)
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        integral = finite & (np.abs(values) < 1e15) & (values == np.trunc(values)) \
            & ~((values == 0) & np.signbit(values))
    if integral.any():
        out[integral] = pa.array(values[integral].astype(np.int64)).cast(pa.string()).to_numpy(zero_copy_only=False)
    rest = finite & ~integral
    if rest.any():
        out[rest] = [f"{v:.16G}" for v in values[rest].tolist()]
    return out


_EPOCH_US = (_dt.datetime(1899, 12, 31) - _dt.datetime(1970, 1, 1)) // _dt.timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_UNIT_US = {"s": (1_000_000, 1), "ms": (1000, 1), "us": (1, 1), "ns": (1, 1000)}


def _excel_serials(values: np.ndarray) -> np.ndarray | None:
    """Excel serials (1900 epoch) of naive datetime64 values, computed as
    ``xlsxwriter.utility._datetime_to_excel_datetime`` does for the
    (microsecond) datetimes that ``Timestamp.to_pydatetime`` gives."""
    unit, _ = np.datetime_data(values.dtype)
    if unit not in _UNIT_US:
        return None
    mul, div = _UNIT_US[unit]
    us = values.view(np.int64)
    us = us * mul if mul != 1 else us // div
    delta = us - _EPOCH_US
    days = delta // _DAY_US
    rem = delta - days * _DAY_US
    seconds = rem // 1_000_000
    micro = rem - seconds * 1_000_000
    serial = days + (seconds.astype(np.float64) + micro.astype(np.float64) / 1e6) / 86400
    serial = np.where(days == 1, serial - 1, serial)        # 1900-01-01 (ISO 1900-W01-1)
    return np.where(serial > 59, serial + 1, serial)         # Excel's 1900 leap year


def _classify(v, date_1904: bool, remove_timezone: bool) -> tuple[int, str | None]:
    """The cell xlsxwriter writes for one converted value (mirrors ``SheetWriter._write_column``)."""
    if v is None:
        return SKIP, None
    if isinstance(v, str):
        return STR, v
    if isinstance(v, (_dt.datetime, _dt.date)):
        from xlsxwriter.utility import _datetime_to_excel_datetime

        return DATE, f"{_datetime_to_excel_datetime(v, date_1904, remove_timezone):.16G}"
    if isinstance(v, bool):
        return BOOL, "1" if v else "0"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
            return SKIP, None
        return NUM, f"{v:.16G}"
    return STR, str(v)


def _truncate_long(strings: np.ndarray) -> None:
    """Cut strings over Excel's 32,767 UTF-16 units, as xlsxwriter's ``write_string`` does."""
    from xlsxwriter.utility import _utf16_len, _utf16_truncate

    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=len(strings)) if len(strings) else None
    if lengths is None:
        return
    for i in np.flatnonzero(lengths > 32767 // 2):
        s = strings[i]
        if _utf16_len(s) > 32767:
            strings[i] = _utf16_truncate(s, 32767)


@dataclass
class ColumnCells:
    """One column's cells: ``codes`` (per row, index of its distinct value, -1
    blank), ``kinds`` and ``texts`` (per distinct value: the string, or the
    text of the number), and the format given by the writer."""

    col: int
    codes: np.ndarray
    kinds: np.ndarray
    texts: np.ndarray
    fmt: object = None

    def valid(self) -> np.ndarray:
        ok = self.codes >= 0
        if (self.kinds == SKIP).any():
            ok &= self.kinds[np.where(ok, self.codes, 0)] != SKIP
        return ok


def classify_column(col: pd.Series, f, lang: str, *, date_1904: bool = False,
                    remove_timezone: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(codes, kinds, texts)`` of a column written as ``SheetWriter`` writes it.

    Strings, dates and numbers of plain fields are converted for whole
    columns; the other values go value by value through
    :func:`crmkit.io.cells.excel_value` (once per distinct value, or once per value for
    ``object`` columns, whose 1, 1.0 and True must not merge).
    """
    dtype = col.dtype
    if pd.api.types.is_object_dtype(dtype):
        codes = np.arange(len(col), dtype=np.int64)
        return (codes, *_classify_values([excel_value(v, f, lang) for v in col.tolist()], date_1904, remove_timezone))
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    codes = codes.astype(np.int64, copy=False)
    m = len(uniques)
    if _passthrough(f):
        kind = getattr(dtype, "kind", "O")
        if isinstance(dtype, pd.StringDtype) or str(dtype) == "str":
            texts = np.asarray(uniques, dtype=object)
            if m and pd.Series(uniques, copy=False).str.len().max() > 32767 // 2:
                _truncate_long(texts)
            return codes, np.full(m, STR, dtype=np.int8), texts
        if kind == "M" and getattr(dtype, "tz", None) is None and not date_1904:
            serials = _excel_serials(np.asarray(uniques))
            if serials is not None:
                return codes, np.full(m, DATE, dtype=np.int8), _number_texts(serials)
        if kind in "iuf" and not pd.api.types.is_bool_dtype(dtype):
            values = np.asarray(uniques, dtype=np.float64)
            kinds = np.where(np.isfinite(values), NUM, SKIP).astype(np.int8)
            return codes, kinds, _number_texts(values)
    return (codes, *_classify_values([excel_value(v, f, lang) for v in uniques.tolist()], date_1904, remove_timezone))


def _classify_values(values: list, date_1904: bool, remove_timezone: bool) -> tuple[np.ndarray, np.ndarray]:
    pairs = [_classify(v, date_1904, remove_timezone) for v in values]
    kinds = np.fromiter((k for k, _ in pairs), dtype=np.int8, count=len(pairs))
    texts = np.empty(len(pairs), dtype=object)
    texts[:] = [x for _, x in pairs]
    strs = kinds == STR
    if strs.any():
        sub = texts[strs]
        _truncate_long(sub)
        texts[strs] = sub
    return kinds, texts


@dataclass
class SheetPlan:
    """The cells of one sheet, written by :func:`complete` after ``Workbook.close``."""

    worksheet: object
    n_rows: int
    columns: list[ColumnCells] = field(default_factory=list)

    def __post_init__(self) -> None:
        # xlsxwriter numbers cell formats as it first meets them while writing the
        # sheets; the planned cells register theirs at the same point, in the same order
        ws = self.worksheet
        write_sheet_data = ws._write_sheet_data

        def write_then_register() -> None:
            write_sheet_data()
            self._register_formats()

        ws._write_sheet_data = write_then_register

    def add(self, col: int, values: pd.Series, f, fmt, lang: str) -> None:
        """Plan column ``col`` (0-based) holding ``values`` (rows 2.. of the sheet)."""
        ws = self.worksheet
        codes, kinds, texts = classify_column(values, f, lang, date_1904=ws.date_1904,
                                              remove_timezone=ws.remove_timezone)
        self.columns.append(ColumnCells(col, codes, kinds, texts, fmt))

    def _register_formats(self) -> None:
        """``Format._get_xf_index`` of the formats of the planned cells, in row-major order of first use."""
        first: dict[int, tuple[int, int, object]] = {}
        for c in self.columns:
            row_kinds = np.where(c.codes >= 0, c.kinds[np.maximum(c.codes, 0)], SKIP) if len(c.kinds) else None
            for kind in (STR, NUM, DATE, BOOL):
                if row_kinds is None or not (c.kinds == kind).any():
                    continue
                hits = row_kinds == kind
                if not hits.any():
                    continue
                fmt = _format_of(self.worksheet, c, kind)
                if fmt is not None:
                    at = (int(np.argmax(hits)), c.col)
                    if id(fmt) not in first or at < first[id(fmt)][:2]:
                        first[id(fmt)] = (*at, fmt)
        for _, _, fmt in sorted(first.values(), key=lambda x: x[:2]):
            fmt._get_xf_index()


def extend_table(worksheet, n_rows: int, n_cols: int) -> None:
    """Grow the table just added over rows 0-1 to rows 0-``n_rows``.

    ``add_table`` records every cell of its range (to refuse overlaps): over
    a big sheet that costs seconds, so big tables are added small and their
    ranges set afterwards, the XML of the table is the same.
    """
    from xlsxwriter.utility import xl_range

    table = worksheet.tables[-1]
    small, full = xl_range(0, 0, 1, n_cols - 1), xl_range(0, 0, n_rows, n_cols - 1)
    for key in ("range", "a_range", "autofilter"):
        if table.get(key) == small:
            table[key] = full


# --------------------------------------------------------------------------- writing


def _pa_strings(values) -> object:
    import pyarrow as pa

    return pa.array(values, type=pa.string(), from_pandas=True)


def _buffer(arr) -> memoryview:
    """The concatenated bytes of a pyarrow string array (no copy)."""
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=arr.offset + len(arr) + 1)
    return memoryview(arr.buffers()[2])[offsets[arr.offset]:offsets[-1]] if len(arr) else memoryview(b"")


_WS_CHARS: list[str] | None = None
_CONTROL = r"[\x00-\x08\x0b-\x1f\x{fffe}\x{ffff}]|_x[0-9a-fA-F]{4}_"


def _whitespace() -> list[str]:
    """The characters Python's ``\\s`` matches (xlsxwriter's whitespace test)."""
    global _WS_CHARS
    if _WS_CHARS is None:
        _WS_CHARS = [chr(c) for c in range(0x3001) if chr(c).isspace()]
    return _WS_CHARS


def sst_items(strings) -> memoryview:
    """``<si>`` elements of strings, escaped as xlsxwriter's ``SharedStrings._write_si``.

    Control characters become ``_xHHHH_`` (and literal ``_xHHHH_`` text is
    protected), ``&<>`` are escaped, leading or trailing whitespace gets
    ``xml:space="preserve"``.  Unlike xlsxwriter, text shaped like
    ``<r>...</r>`` is escaped too (it is data, not rich-text markup).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from xlsxwriter.xmlwriter import XMLwriter

    s = strings
    if len(s) == 0:
        return memoryview(b"")
    ctrl = pc.fill_null(pc.match_substring_regex(s, _CONTROL), False).to_numpy(zero_copy_only=False)
    if ctrl.any():
        obj = s.to_numpy(zero_copy_only=False).astype(object)
        obj[ctrl] = [XMLwriter._escape_control_characters(x) for x in obj[ctrl]]
        s = _pa_strings(obj)
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        s = pc.replace_substring(s, a, b)
    ws = pa.array(_whitespace(), type=pa.string())
    edge = pc.or_(pc.is_in(pc.utf8_slice_codeunits(s, 0, 1), value_set=ws),
                  pc.is_in(pc.utf8_slice_codeunits(s, -1, 2**31 - 1), value_set=ws))
    head = pc.if_else(edge, '<si><t xml:space="preserve">', "<si><t>")
    return _buffer(pc.binary_join_element_wise(head, s, "</t></si>", ""))


def _dimension_ref(rowmin, rowmax, colmin, colmax) -> str:
    """``Worksheet._write_dimension``."""
    from xlsxwriter.utility import xl_rowcol_to_cell as cell

    if rowmin is None and colmin is None:
        return "A1"
    if rowmin is None:
        return cell(0, colmin) if colmin == colmax else f"{cell(0, colmin)}:{cell(0, colmax)}"
    if rowmin == rowmax and colmin == colmax:
        return cell(rowmin, colmin)
    return f"{cell(rowmin, colmin)}:{cell(rowmax, colmax)}"


class _SheetData:
    """The data rows of one planned sheet, as XML bytes produced step by step."""

    def __init__(self, plan: SheetPlan, string_ids: list[np.ndarray]):
        import pyarrow as pa
        import pyarrow.compute as pc
        from xlsxwriter.utility import xl_col_to_name

        ws = plan.worksheet
        self.plan = plan
        n = plan.n_rows
        cols = plan.columns
        self.k = k = len(cols)
        self.valid = np.column_stack([c.valid() for c in cols]) if k else np.zeros((n, 0), bool)
        self.has = self.valid.any(axis=1)
        col_nums = np.array([c.col for c in cols], dtype=np.int64)

        # spans: first and last cell of every block of 16 rows (Worksheet._calculate_spans)
        rows_with = np.flatnonzero(self.has)
        first = col_nums[np.argmax(self.valid[rows_with], axis=1)] if k else np.zeros(0, np.int64)
        last = col_nums[k - 1 - np.argmax(self.valid[rows_with, ::-1], axis=1)] if k else np.zeros(0, np.int64)
        blocks = (rows_with + 1) // 16
        nb = (n + 1) // 16 + 1
        lo = np.full(nb, np.iinfo(np.int64).max)
        hi = np.full(nb, -1, dtype=np.int64)
        np.minimum.at(lo, blocks, first)
        np.maximum.at(hi, blocks, last)
        empty = hi < 0
        lo[empty], hi[empty] = 0, 0
        self.own_spans: dict[int, str] = {}
        for b, text in ws.row_spans.items():           # xlsxwriter's own rows (the header)
            a, z = (int(x) - 1 for x in text.split(":"))
            if b < nb:
                lo[b], hi[b] = min(lo[b], a), max(hi[b], z)
                self.own_spans[b] = f"{lo[b] + 1}:{hi[b] + 1}"
        # dimension
        dims = [ws.dim_rowmin, ws.dim_rowmax, ws.dim_colmin, ws.dim_colmax]
        if len(rows_with):
            r0, r1 = int(rows_with[0]) + 1, int(rows_with[-1]) + 1
            c0, c1 = int(first.min()), int(last.max())
            dims = [r0 if dims[0] is None else min(dims[0], r0), r1 if dims[1] is None else max(dims[1], r1),
                    c0 if dims[2] is None else min(dims[2], c0), c1 if dims[3] is None else max(dims[3], c1)]
        self.dimension = _dimension_ref(*dims)

        # the pieces every row is assembled from
        span_key = lo * (1 << 20) + hi
        keys, span_of_block = np.unique(span_key, return_inverse=True)
        span_texts = [f'" spans="{int(x >> 20) + 1}:{int(x & ((1 << 20) - 1)) + 1}">' for x in keys.tolist()]
        pieces = [_pa_strings(['<row r="', "</row>"]), _pa_strings(span_texts),
                  _pa_strings([f'<c r="{xl_col_to_name(c.col)}' for c in cols]),
                  pa.array(np.arange(2, n + 2, dtype=np.int64)).cast(pa.string())]
        self.span_base = 2
        self.span_of_block = span_of_block + self.span_base
        self.cpre_base = self.span_base + len(span_texts)
        self.rows_base = self.cpre_base + k
        base = self.rows_base + n
        self.suffix_base = []
        for c, ids in zip(cols, string_ids):
            pieces.append(_suffixes(ws, c, ids))
            self.suffix_base.append(base)
            base += len(c.kinds)
        self.pieces = pa.concat_arrays([p.cast(pa.string()) for p in pieces])
        # an upper bound of the XML size (a part over 2 GiB needs ZIP64 records)
        longest = [int(pc.max(pc.binary_length(p)).as_py() or 0) for p in pieces[4:]]
        self.size_bound = n * (64 + sum(20 + x for x in longest))

    def chunks(self):
        import pyarrow as pa

        n, k = self.plan.n_rows, self.k
        width = 3 + 3 * k + 1
        codes = [c.codes for c in self.plan.columns]
        step = max(16, CHUNK_CELLS // max(k, 1))
        itype = np.int32 if len(self.pieces) < 2**31 else np.int64
        for a in range(0, n, step):
            b = min(n, a + step)
            m = b - a
            rows = np.arange(a, b, dtype=itype)
            idx = np.empty((m, width), dtype=itype)
            mask = np.empty((m, width), dtype=bool)
            has = self.has[a:b]
            idx[:, 0] = 0
            idx[:, 1] = self.rows_base + rows
            idx[:, 2] = self.span_of_block[(rows + 1) // 16]
            idx[:, -1] = 1
            for pos in (0, 1, 2, width - 1):
                mask[:, pos] = has
            for j in range(k):
                p = 3 + 3 * j
                idx[:, p] = self.cpre_base + j
                idx[:, p + 1] = self.rows_base + rows
                idx[:, p + 2] = self.suffix_base[j] + np.maximum(codes[j][a:b], 0)
                mask[:, p:p + 3] = self.valid[a:b, j][:, None]
            flat = idx.ravel() if has.all() and self.valid[a:b].all() else idx[mask]
            if len(flat):
                yield _buffer(self.pieces.take(pa.array(flat)))


def _format_of(ws, c: ColumnCells, kind: int):
    """The format xlsxwriter gives a cell of this column (``Worksheet._write_datetime``, ``_write_cell``)."""
    fmt = c.fmt
    if fmt is None and kind == DATE:
        fmt = ws.default_date_format
    if fmt is None:
        info = ws.col_info.get(c.col)
        fmt = info.column_format if info is not None else None
    return fmt


def _style(ws, c: ColumnCells, kind: int) -> str:
    """The ``s`` attribute of a cell of this column."""
    fmt = _format_of(ws, c, kind)
    if fmt is None:
        return ""
    # a format equal to a registered one shares its index (Format._get_xf_index);
    # one that xlsxwriter never registered would be missing from styles.xml
    if fmt.xf_index is None and fmt._get_format_key() not in fmt.xf_format_indices:
        raise RuntimeError(f"format of column {c.col} was not registered by xlsxwriter")
    return f' s="{fmt._get_xf_index()}"'


def _suffixes(ws, c: ColumnCells, string_ids: np.ndarray | None):
    """Per distinct value: the end of its cell, from the closing quote of ``r``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = c.kinds
    values = c.texts.copy()
    strs = kinds == STR
    if strs.any():
        values[strs] = pa.array(string_ids).cast(pa.string()).to_numpy(zero_copy_only=False)
    values[kinds == SKIP] = None
    heads = np.empty(5, dtype=object)
    heads[SKIP] = None
    heads[STR] = f'"{_style(ws, c, STR)} t="s"><v>' if strs.any() else None
    heads[NUM] = f'"{_style(ws, c, NUM)}><v>' if (kinds == NUM).any() else None
    heads[DATE] = f'"{_style(ws, c, DATE)}><v>' if (kinds == DATE).any() else None
    heads[BOOL] = f'"{_style(ws, c, BOOL)} t="b"><v>' if (kinds == BOOL).any() else None
    return pc.binary_join_element_wise(_pa_strings(heads[kinds]), _pa_strings(values), "</v></c>", "")


def _string_ids(plans: list[SheetPlan], existing: list[str]) -> tuple[list[list[np.ndarray]], object, int]:
    """Shared-string ids of every planned string, the new strings, and the number of string cells."""

    parts, counts = [], 0
    for plan in plans:
        for c in plan.columns:
            strs = c.kinds == STR
            parts.append(c.texts[strs])
            if strs.any():
                used = np.bincount(c.codes[c.codes >= 0], minlength=len(c.kinds))
                counts += int(used[strs].sum())
    # xlsxwriter's strings first: factorize numbers distinct values in order of first
    # appearance, so its (distinct) strings keep their numbers and a planned string
    # equal to one of them gets that number; new strings follow, numbered as listed
    known = np.empty(len(existing), dtype=object)
    known[:] = existing
    index, distinct = pd.factorize(np.concatenate([known, *parts]))
    ids = index[len(existing):].astype(np.int64)
    new = _pa_strings(distinct[len(existing):])
    out, at = [], 0
    for plan in plans:
        per = []
        for c in plan.columns:
            m = int((c.kinds == STR).sum())
            per.append(ids[at:at + m])
            at += m
        out.append(per)
    return out, new, counts


def _zinfo(info: zipfile.ZipInfo, level: int) -> zipfile.ZipInfo:
    z = zipfile.ZipInfo(info.filename, info.date_time)
    z.compress_type = zipfile.ZIP_DEFLATED
    z.external_attr = info.external_attr
    z.create_system = info.create_system
    # ZipFile.open(zinfo, "w") takes the level from the ZipInfo
    setattr(z, "compress_level" if hasattr(z, "compress_level") else "_compresslevel", level)
    return z


def complete(path: str | Path, workbook, plans: list[SheetPlan]) -> None:
    """Write the planned cells into the closed xlsxwriter workbook at ``path``."""
    plans = [p for p in plans if p.n_rows and p.columns]
    if not plans:
        return
    path = Path(path)
    sheets = [s for s in workbook.worksheets() if not s.is_chartsheet]
    for p in plans:
        ws = p.worksheet
        if any(r > 0 for r in ws.table) or any(r > 0 for r in ws.row_info) or any(r > 0 for r in ws.comments):
            raise RuntimeError(f"sheet {ws.name!r}: cells below the header were written by xlsxwriter")
    string_ids, new_strings, string_cells = _string_ids(plans, workbook.str_table.string_array)
    parts = {f"xl/worksheets/sheet{sheets.index(p.worksheet) + 1}.xml": _SheetData(p, ids)
             for p, ids in zip(plans, string_ids)}

    source = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as zin:
        infos = zin.infolist()
        names = {i.filename for i in infos}
        sst_new = sst_items(new_strings)
        extra_sst = _SST_PART not in names and string_cells
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
            for info in infos:
                data = zin.read(info)
                if info.filename in parts:
                    _write_sheet(zout, info, data, parts[info.filename])
                elif info.filename == _SST_PART:
                    _write_sst(zout, info, data, sst_new, len(new_strings), string_cells)
                elif extra_sst and info.filename == "[Content_Types].xml":
                    zout.writestr(info, data.replace(
                        b"</Types>", f'<Override PartName="/{_SST_PART}" ContentType="{_SST_TYPE}"/></Types>'.encode()))
                elif extra_sst and info.filename == "xl/_rels/workbook.xml.rels":
                    ids = [int(x) for x in re.findall(rb'Id="rId(\d+)"', data)]
                    rel = f'<Relationship Id="rId{max(ids, default=0) + 1}" Type="{_SST_REL}" Target="sharedStrings.xml"/>'
                    zout.writestr(info, data.replace(b"</Relationships>", rel.encode() + b"</Relationships>"))
                else:
                    zout.writestr(info, data)
            if extra_sst:
                info = zipfile.ZipInfo(_SST_PART, infos[0].date_time)
                info.external_attr = infos[0].external_attr
                _write_sst(zout, info, f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                           f'<sst xmlns="{_SST_NS}" count="0" uniqueCount="0"></sst>'.encode(),
                           sst_new, len(new_strings), string_cells)


def _write_sheet(zout: zipfile.ZipFile, info: zipfile.ZipInfo, xml: bytes, data: _SheetData) -> None:
    end = xml.index(b"</sheetData>")
    head, tail = xml[:end], xml[end:]
    head = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{data.dimension}"/>'.encode(), head, count=1)
    for b, span in data.own_spans.items():
        # the header row's span also covers the data rows of its block of 16
        if b == 0:
            head = re.sub(rb'(<row r="1") spans="[^"]*"', rb'\1 spans="' + span.encode() + b'"', head, count=1)
    with zout.open(_zinfo(info, FAST_LEVEL), "w", force_zip64=data.size_bound > (1 << 31) - (1 << 26)) as out:
        out.write(head)
        for chunk in data.chunks():
            out.write(chunk)
        out.write(tail)


def _write_sst(zout, info, xml: bytes, items: memoryview, n_new: int, string_cells: int) -> None:
    close = xml.rindex(b"</sst>")
    m = re.search(rb'<sst [^>]*count="(\d+)" uniqueCount="(\d+)"', xml)
    count, unique = int(m.group(1)) + string_cells, int(m.group(2)) + n_new
    head = xml[:m.start()] + re.sub(rb'count="\d+" uniqueCount="\d+"',
                                    f'count="{count}" uniqueCount="{unique}"'.encode(), m.group(0))
    rest = xml[m.end():close]
    level = FAST_LEVEL if len(items) > BIG_PART else None
    z = _zinfo(info, level) if level is not None else info
    with zout.open(z, "w") as out:
        out.write(head)
        out.write(rest)
        out.write(items)
        out.write(b"</sst>")
