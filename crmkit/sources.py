"""Reading messy source files for import: exports from other systems, typed lists.

A source is an ``.xlsx`` / ``.xlsm`` (also ``.xls``, ``.xlsb``, ``.ods``)
workbook or a ``.csv`` / ``.tsv`` / ``.txt`` text table.  People put title
rows (often merged cells) above the header, leave blank rows, mix Chinese and
English headers, and Chinese Excel saves CSV in GBK.  :func:`read_source`
copes with all of that and returns every cell as text, with the row numbers a
user sees when opening the file, so that each value can be traced back.

* Text files: BOM detection (UTF-8, UTF-16), then strict UTF-8, then
  GB18030 (a superset of GBK and GB2312); delimiter sniffed among ``, ; tab |``.
* The header row is the row, among the first :data:`HEADER_SCAN_ROWS`, whose
  cells name the most fields of the target entity (canonical key, English or
  Chinese header, or a synonym).  Rows above it are title rows.
* Every problem is a :class:`~crmkit.exceptions.WorkbookError` (exit code 2)
  naming the file: empty, wrong type, corrupt zip, encrypted, undecodable,
  no recognisable header.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .exceptions import WorkbookError
from .i18n import msg
from .schema import ENTITIES, Entity, match_header, norm_token

HEADER_SCAN_ROWS = 20
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


@dataclass
class SourceTable:
    """The cells of one source table, as text.

    ``data`` has one column per source column (named by its header text,
    made unique) and is indexed by the source row number (the Excel row, or
    the record number of a CSV file, header included), blank rows left out.
    """

    file: str
    sheet: str | None
    header_row: int
    headers: list[str]
    data: pd.DataFrame
    blank_rows: int = 0
    title: str | None = None
    encoding: str | None = None
    matched: dict[str, str] = field(default_factory=dict)   # header -> canonical key

    @property
    def name(self) -> str:
        return Path(self.file).name

    @property
    def unmatched(self) -> list[str]:
        return [h for h in self.headers if h not in self.matched]


# --------------------------------------------------------------------------- entry point

def read_source(path: str | os.PathLike, entity: Entity | str = "customers", *,
                sheet: str | None = None) -> SourceTable:
    """Read a source file, find its header row and return its cells as text."""
    ent = ENTITIES[entity] if isinstance(entity, str) else entity
    p = Path(path)
    if not p.exists():
        raise WorkbookError(msg("e_file_not_found"), file=str(p))
    if p.is_dir():
        raise WorkbookError(msg("e_folder_not_source"), file=str(p))
    if p.stat().st_size == 0:
        raise WorkbookError(msg("e_file_empty"), file=str(p))
    suffix = p.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        grid, sheet_name = _excel_grid(p, ent, sheet)
        encoding = None
    elif suffix in TEXT_SUFFIXES:
        grid, encoding = _text_grid(p, tab=suffix == ".tsv")
        sheet_name = None
    else:
        raise WorkbookError(
            msg("e_unsupported_type", suffix=suffix or "(none)"), file=str(p))
    return _table_from_grid(grid, ent, file=str(p), sheet=sheet_name, encoding=encoding)


# --------------------------------------------------------------------------- Excel

def _excel_grid(p: Path, ent: Entity, sheet: str | None) -> tuple[pd.DataFrame, str]:
    from .workbook import _short, find_sheet, open_reader

    reader = open_reader(p)   # reports encrypted, corrupt and non-zip files
    names = list(reader.sheet_names)
    if not names:
        raise WorkbookError(msg("e_no_sheets"), file=str(p))
    if sheet is not None:
        if sheet not in names:
            raise WorkbookError(msg("e_no_such_sheet", sheet=sheet, sheets=", ".join(names)), file=str(p))
        chosen = sheet
    else:
        # the entity's own sheet if there is one, else the sheet whose header names most fields
        chosen = find_sheet(names, ent)
        if chosen is None:
            best = -1
            for name in names:
                try:
                    top = _load(reader, name, n_rows=HEADER_SCAN_ROWS)
                except WorkbookError:
                    continue
                score = max((s for s, _ in _row_scores(top, ent)), default=0)
                if score > best:
                    best, chosen = score, name
            chosen = chosen or names[0]
    try:
        grid = _load(reader, chosen)
    except WorkbookError as exc:
        raise WorkbookError(exc.message, file=str(p), sheet=chosen) from exc
    except Exception as exc:  # noqa: BLE001 - reader errors become crmkit errors
        raise WorkbookError(msg("e_cannot_read_sheet", detail=_short(exc)), file=str(p), sheet=chosen) from exc
    return grid, chosen


def _load(reader, name: str, n_rows: int | None = None) -> pd.DataFrame:
    """All cells of a sheet as text; index = Excel row number (leading blank rows kept)."""
    try:
        sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string", n_rows=n_rows)
        df = sheet.to_pandas()
    except Exception as exc:  # noqa: BLE001
        from .workbook import _short

        raise WorkbookError(msg("e_cannot_read_sheet", detail=_short(exc)), sheet=name) from exc
    df.columns = range(df.shape[1])
    df.index = pd.RangeIndex(1, 1 + len(df))
    return df


# --------------------------------------------------------------------------- text

def decode_text(raw: bytes, *, file: str = "") -> tuple[str, str]:
    """Text and encoding of a CSV file's bytes: BOM, then UTF-8, then GB18030 (GBK)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if raw.startswith(b"PK\x03\x04"):
        raise WorkbookError("this is an Excel workbook (zip), not a CSV text file: give it the .xlsx extension",
                            file=file)
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise WorkbookError("this is an Excel/Office binary file, not a CSV text file", file=file)
    if b"\x00" in raw[:4096]:
        raise WorkbookError("not a text file (binary content): import reads .xlsx, .xlsm or .csv files", file=file)
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise WorkbookError("cannot decode the text: it is neither UTF-8 nor GBK/GB18030; "
                            "save it from Excel as 'CSV UTF-8'", file=file) from None


def sniff_delimiter(text: str) -> str:
    """The delimiter among ``, ; tab |`` that splits the first lines most consistently."""
    lines = [ln for ln in text.splitlines()[:HEADER_SCAN_ROWS + 10] if ln.strip()]
    best, best_score = ",", (-1, -1)
    for d in (",", "\t", ";", "|"):
        counts = sorted(len(r) for r in csv.reader(lines, delimiter=d))
        if not counts:
            continue
        median = counts[len(counts) // 2]
        score = (median, -counts.count(1))
        if median > 1 and score > best_score:
            best, best_score = d, score
    return best


def _text_grid(p: Path, *, tab: bool = False) -> tuple[pd.DataFrame, str]:
    raw = p.read_bytes()
    text, encoding = decode_text(raw, file=str(p))
    if not text.strip():
        raise WorkbookError(msg("e_no_data_lines"), file=str(p))
    delim = "\t" if tab or encoding == "utf-16" and "\t" in text[:2000] else sniff_delimiter(text)
    sample = text.splitlines()[:HEADER_SCAN_ROWS + 30]
    width = max((len(r) for r in csv.reader(sample, delimiter=delim)), default=1)
    try:
        grid = pd.read_csv(io.StringIO(text), sep=delim, header=None, names=range(width), dtype=str,
                           keep_default_na=False, skip_blank_lines=False, engine="c")
    except (pd.errors.ParserError, ValueError):
        rows = list(csv.reader(io.StringIO(text), delimiter=delim))
        width = max(len(r) for r in rows)
        grid = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype="string")
    grid = grid.astype("string")
    grid = grid.mask(grid.apply(lambda c: c.str.strip() == ""))
    grid.columns = range(grid.shape[1])
    grid.index = pd.RangeIndex(1, 1 + len(grid))
    return grid, encoding


# --------------------------------------------------------------------------- header row

def _row_scores(grid: pd.DataFrame, ent: Entity) -> list[tuple[int, int]]:
    """(number of distinct fields named, row number) for the first rows of ``grid``."""
    out = []
    for row, values in grid.head(HEADER_SCAN_ROWS).iterrows():  # at most 20 rows
        keys = {match_header(ent, v) for v in values.dropna().tolist()}
        keys.discard(None)
        out.append((len(keys), int(row)))
    return out


def find_header_row(grid: pd.DataFrame, ent: Entity) -> int | None:
    """The row number whose cells name the most fields (the first such row); None if none."""
    scores = _row_scores(grid, ent)
    if not scores:
        return None
    best = max(s for s, _ in scores)
    if best == 0:
        return None
    return next(r for s, r in scores if s == best)


def _table_from_grid(grid: pd.DataFrame, ent: Entity, *, file: str, sheet: str | None,
                     encoding: str | None) -> SourceTable:
    nonblank = grid.notna().any(axis=1)
    if not nonblank.any():
        raise WorkbookError(msg("e_no_data_cells"), file=file, sheet=sheet)
    header_row = find_header_row(grid, ent)
    if header_row is None:
        examples = ", ".join(f"'{f.zh}'/'{f.en}'" for f in ent.fields if f.required)
        raise WorkbookError(
            msg("e_no_header", n=HEADER_SCAN_ROWS, entity=ent.en, entity_zh=ent.zh, examples=examples),
            file=file, sheet=sheet)
    title_cells = [str(v) for v in grid.loc[: header_row - 1].stack().tolist() if pd.notna(v)] if header_row > 1 else []
    header_cells = grid.loc[header_row]
    body = grid.loc[header_row + 1:]
    # columns without header and without data hold nothing
    keep = [c for c in grid.columns if pd.notna(header_cells[c]) or body[c].notna().any()]
    headers, seen = [], {}
    for c in keep:
        h = header_cells[c]
        h = " ".join(str(h).split()) if pd.notna(h) and str(h).strip() else f"column {_col_letter(c)}"
        n = seen.get(norm_token(h), 0)
        seen[norm_token(h)] = n + 1
        headers.append(h if n == 0 else f"{h} ({n + 1})")
    data = body[keep].copy()
    data.columns = headers
    blank = data.isna().all(axis=1)
    blank_rows = int(blank.sum())
    data = data[~blank]
    data.index.name = "_row"
    matched = {}
    taken = set()
    for h in headers:
        key = match_header(ent, h)
        if key and key not in taken and not ent.field(key).derived:
            matched[h] = key
            taken.add(key)
    return SourceTable(file=file, sheet=sheet, header_row=int(header_row), headers=headers, data=data,
                       blank_rows=blank_rows, title=" ".join(title_cells) or None, encoding=encoding,
                       matched=matched)


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s
