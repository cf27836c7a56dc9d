"""Reading messy source files for import: exports from other systems, typed lists.

A source is an ``.xlsx`` / ``.xlsm`` (also ``.xls``, ``.xlsb``, ``.ods``)
workbook or a ``.csv`` / ``.tsv`` / ``.txt`` text table.  People put title
rows (often merged cells) above the header, leave blank rows, mix Chinese and
English headers, and Chinese Excel saves CSV in GBK.  :func:`read_source`
copes with all of that and returns every cell as text, with the row numbers a
user sees when opening the file, so that each value can be traced back.

* Text files: BOM detection (UTF-8, UTF-16), then strict UTF-8, then
  charset-normalizer among GB18030 (a superset of GBK), Big5 and
  Windows-1252; the whole file must decode cleanly, else it is refused at
  the line of the first bad byte (never decoded with U+FFFD);
  delimiter sniffed among ``, ; tab |``.  Files over :data:`MAX_TEXT_BYTES`
  are refused; the others are parsed from disk, without a second copy.
* The header row is the row, among the first :data:`HEADER_SCAN_ROWS`, whose
  cells name the most fields of the target entity (canonical key, English or
  Chinese header, or a synonym).  Rows above it are title rows.
* Every problem is a :class:`~crmkit.exceptions.WorkbookError` (exit code 2)
  naming the file: empty, wrong type, corrupt zip, encrypted, undecodable,
  no recognisable header.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..exceptions import WorkbookError
from ..i18n import msg
from ..schema import ENTITIES, Entity, match_header, norm_token
from .reading import find_sheet, open_reader, short_error

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
        raise WorkbookError(msg("e_cannot_read_sheet", detail=short_error(exc)), file=str(p), sheet=chosen) from exc
    return grid, chosen


def _load(reader, name: str, n_rows: int | None = None) -> pd.DataFrame:
    """All cells of a sheet as text; index = Excel row number (leading blank rows kept)."""
    try:
        sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string", n_rows=n_rows)
        df = sheet.to_pandas()
    except Exception as exc:  # noqa: BLE001
        raise WorkbookError(msg("e_cannot_read_sheet", detail=short_error(exc)), sheet=name) from exc
    df.columns = range(df.shape[1])
    df.index = pd.RangeIndex(1, 1 + len(df))
    return df


# --------------------------------------------------------------------------- text

#: Encodings a text file without a BOM may be in when it is not UTF-8 (charset-normalizer picks among them):
#: Chinese Excel saves CSV in GBK (GB18030 is its superset), Taiwan/Hong Kong in Big5, Western Excel in Windows-1252.
LEGACY_ENCODINGS = ("gb18030", "big5", "cp1252")
#: Largest text file import reads (its cells are held in memory): split bigger files.
MAX_TEXT_BYTES = 512 * 1024 * 1024
_CHUNK = 1 << 20
_PLAUSIBLE = re.compile("[\u00c0-\u024f\u2000-\u206f\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def _decode_error(file: str, encoding: str, line: int, bad: bytes) -> WorkbookError:
    shown = " ".join(f"{b:02X}" for b in bad[:4])
    return WorkbookError(
        f"bytes {shown} are not valid {encoding}; the file does not decode cleanly (nothing was "
        "imported): fix that line, or save the file again from Excel as 'CSV UTF-8'", file=file, row=line)


def _check_decodes(stream, encoding: str, *, file: str, skip: int = 0) -> int:
    """Decode ``stream`` (bytes chunks) strictly as ``encoding``; return the number of lines.

    Raises a :class:`WorkbookError` naming the line of the first byte that does not decode.
    """
    import codecs

    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    lines = 1
    for chunk in stream:
        if skip:
            chunk, skip = chunk[skip:], 0
        try:
            dec.decode(chunk)
        except UnicodeDecodeError as exc:
            # the decoder may hold a few bytes of the previous chunk: the place is within this chunk
            start = max(exc.start - (len(exc.object) - len(chunk)), 0)
            raise _decode_error(file, encoding, lines + chunk[:start].count(b"\n"),
                                chunk[start:start + 4]) from None
        lines += chunk.count(b"\n")
    try:
        dec.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        if encoding.startswith("utf-16"):
            raise WorkbookError("the UTF-16 text ends in the middle of a character (an odd number "
                                "of bytes): the file is cut or damaged; save it again", file=file, row=lines) from None
        raise _decode_error(file, encoding, lines, exc.object[exc.start:exc.start + 4]) from None
    return lines


def _chunks(p: Path):
    with p.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            yield chunk


def detect_encoding(p: Path) -> str:
    """The encoding of a text file, checked over the whole file (read in chunks).

    A BOM (UTF-8, UTF-16) says it; else strict UTF-8 when every byte decodes;
    else, when the file holds valid UTF-8 text and some bytes that are not,
    the file is refused at the line of the first bad byte (never U+FFFD);
    else charset-normalizer picks among :data:`LEGACY_ENCODINGS`, and the
    file must decode cleanly in the encoding picked.
    """
    file = str(p)
    with p.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PK\x03\x04"):
        raise WorkbookError("this is an Excel workbook (zip), not a CSV text file: give it the .xlsx extension",
                            file=file)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise WorkbookError("this is an Excel/Office binary file, not a CSV text file", file=file)
    if head.startswith(b"\xef\xbb\xbf"):
        _check_decodes(_chunks(p), "utf-8", file=file, skip=3)
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"
        _check_decodes(_chunks(p), enc, file=file, skip=2)
        return "utf-16"
    if b"\x00" in head:
        raise WorkbookError("not a text file (binary content): import reads .xlsx, .xlsm or .csv files", file=file)
    try:
        _check_decodes(_chunks(p), "utf-8", file=file)
        return "utf-8"
    except WorkbookError as exc:
        utf8_error = exc
    raw = p.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    # letters a UTF-8 file holds (Latin accents, CJK, CJK and full-width punctuation); GBK and Windows-1252
    # bytes that happen to form valid UTF-8 give other characters (U+0370-U+07FF...) or none
    plausible = len(_PLAUSIBLE.findall(text))
    if plausible > text.count("\ufffd"):
        # mostly real UTF-8 text (ä, 中) with some bytes that are not: a damaged file, not another encoding
        raise utf8_error
    del text
    from charset_normalizer import from_bytes

    best = from_bytes(raw, cp_isolation=list(LEGACY_ENCODINGS)).best()
    if best is None:
        raise WorkbookError("cannot tell the text encoding: it is neither UTF-8 nor GBK/GB18030, Big5 or "
                            "Windows-1252; save it from Excel as 'CSV UTF-8'", file=file)
    enc = best.encoding
    if enc == "cp1252" and (b"\xc2" in raw or b"\xc3" in raw):
        # Â/Ã (0xC2/0xC3) are the lead bytes of UTF-8's accented letters and rare capitals in Western text:
        # a UTF-8 file with a broken sequence (Caf\xc3\x28), not Windows-1252
        raise utf8_error
    _check_decodes(iter([raw]), enc, file=file)
    return enc


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
    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(MAX_TEXT_BYTES)   # a long cell is read (and flagged later), not a parser crash
        return _parse_text(p, tab=tab)
    except csv.Error as exc:   # e.g. a cell past the csv module's field limit: a located one-line error
        raise WorkbookError(f"cannot read the text table: {exc}; a cell or line is far longer than a "
                            "spreadsheet holds", file=str(p)) from None
    finally:
        csv.field_size_limit(limit)


def _parse_text(p: Path, *, tab: bool = False) -> tuple[pd.DataFrame, str]:
    size = p.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise WorkbookError(f"the file is {size / 2**20:,.0f} MB: import reads text files up to "
                            f"{MAX_TEXT_BYTES / 2**20:,.0f} MB; split it into smaller files", file=str(p))
    encoding = detect_encoding(p)
    # the file is parsed from disk in the encoding found (pandas reads it in chunks): no second copy of its text
    with p.open(encoding=encoding, newline="") as fh:
        head = fh.read(256 * 1024)
    if not head.strip():
        raise WorkbookError(msg("e_no_data_lines"), file=str(p))
    delim = "\t" if tab or encoding == "utf-16" and "\t" in head[:2000] else sniff_delimiter(head)
    sample = head.splitlines()[:HEADER_SCAN_ROWS + 30]
    width = max((len(r) for r in csv.reader(sample, delimiter=delim)), default=1)
    try:
        grid = pd.read_csv(p, sep=delim, header=None, names=range(width), dtype=str, encoding=encoding,
                           keep_default_na=False, skip_blank_lines=False, engine="c")
    except (pd.errors.ParserError, ValueError):
        with p.open(encoding=encoding, newline="") as fh:
            rows = list(csv.reader(fh, delimiter=delim))
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
