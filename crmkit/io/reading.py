"""Reading crmkit workbooks: every cell as text (fastexcel), then typed by :mod:`crmkit.io.typing`.

Reading uses fastexcel (Rust calamine) and loads every cell as text, then
converts each column by the schema: fast, and no value is lost to a wrong
type guess.  A read sheet is a DataFrame whose columns are canonical field
keys (unknown columns are kept under their own header) and whose index is
the Excel row number, so every value can be traced back to its cell.  Values
that do not convert are listed in ``df.attrs["problems"]``.  A zip bomb is
refused before any part is unpacked (:func:`crmkit.io.archive.check_archive`).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from ..exceptions import WorkbookError
from ..i18n import msg, word
from ..schema import ENTITIES, Entity, norm_token
from .archive import check_archive
from .typing import convert, empty_frame


def open_reader(path: str | os.PathLike):
    """A fastexcel reader for ``path``, with crmkit errors for bad files."""
    import fastexcel  # a compiled reader: imported when a workbook is first read

    p = Path(path)
    if not p.exists():
        raise WorkbookError(msg("e_file_not_found"), file=str(p))
    if p.is_dir():
        raise WorkbookError(msg("e_folder_not_workbook"), file=str(p))
    if p.suffix.lower() not in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        raise WorkbookError(msg("e_not_excel", ext=p.suffix or word("none")), file=str(p))
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        with open(p, "rb") as fh:
            head = fh.read(8)
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise WorkbookError(msg("e_encrypted"),
                                file=str(p))
        if not zipfile.is_zipfile(p):
            raise WorkbookError(msg("e_not_zip"), file=str(p))
        check_archive(p)                     # a zip bomb is refused before any part is unpacked
    try:
        return fastexcel.read_excel(str(p))
    except Exception as exc:  # fastexcel raises its own error types
        raise WorkbookError(msg("e_cannot_read_workbook", detail=short_error(exc)), file=str(p)) from exc


def short_error(exc: Exception) -> str:
    """The first line of an error's text (at most 200 characters), else its type's name."""
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


def find_sheet(sheet_names: Iterable[str], entity: Entity) -> str | None:
    """The sheet holding ``entity``: by English or Chinese name or a synonym."""
    wanted = {norm_token(s) for s in (entity.key, entity.en, entity.zh, *entity.synonyms)}
    for name in sheet_names:
        if norm_token(name) in wanted:
            return name
    return None


def read_raw(path: str | os.PathLike, sheet: str, reader=None) -> pd.DataFrame:
    """Every cell of ``sheet`` as text, header from row 1, index = Excel row number.

    Rows that are entirely blank are left out (they hold no data).
    """
    reader = reader or open_reader(path)
    try:
        df = reader.load_sheet(sheet, dtypes="string").to_pandas()
    except Exception as exc:
        raise WorkbookError(msg("e_cannot_read_sheet", detail=short_error(exc)), file=str(path), sheet=sheet) from exc
    df.index = pd.RangeIndex(2, 2 + len(df), name="_row")
    if not len(df.columns) and not sheet_part_is_xml(path, sheet):
        raise WorkbookError(msg("e_cannot_read_sheet", detail="not a worksheet"), file=str(path), sheet=sheet)
    if len(df.columns):
        blank = df.isna().all(axis=1)
        if blank.any():
            df = df[~blank]
    return df


def sheet_part_is_xml(path: str | os.PathLike, sheet: str) -> bool:
    """Whether the part holding ``sheet`` of an .xlsx/.xlsm starts as a worksheet's XML.

    Asked only of a sheet that read as empty: the reader takes some random
    bytes in a sheet's part for an empty sheet, and an empty sheet must never
    stand for one that could not be read (a later save would write it empty).
    Other formats, and parts that cannot be found, count as XML.
    """
    import re

    p = Path(path)
    if p.suffix.lower() not in (".xlsx", ".xlsm"):
        return True
    try:
        with zipfile.ZipFile(p) as z:
            book = z.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            rid = None
            for tag in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", book):
                name = re.search(r'\bname="([^"]*)"', tag)
                if name and _xml_unescape(name.group(1)) == sheet:
                    rid = re.search(r'\br:id="([^"]*)"|\b\w+:id="([^"]*)"', tag)
                    break
            if rid is None:
                return True
            rid = rid.group(1) or rid.group(2)
            target = None
            for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
                if re.search(rf'\bId="{re.escape(rid)}"', tag):
                    target = re.search(r'\bTarget="([^"]*)"', tag)
                    break
            if target is None:
                return True
            name = target.group(1).lstrip("/")
            name = name if name.startswith("xl/") else "xl/" + name
            with z.open(name) as fh:
                head = fh.read(4096)
    except (KeyError, OSError, zipfile.BadZipFile, RuntimeError):
        return True
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return text.startswith(b"<") and b"worksheet" in head


def _xml_unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def read_sheet(path: str | os.PathLike, entity: Entity | str, *, sheet: str | None = None,
               reader=None, dayfirst: bool = False, required: bool = True) -> pd.DataFrame:
    """Read one entity's sheet into a typed DataFrame keyed by canonical field keys.

    Headers may be canonical keys, English or Chinese headers or known
    synonyms; enumeration values may be codes or labels in either language.
    Every schema field is present as a column (blank when the sheet lacks it).
    Missing sheets give an empty frame unless ``required``.
    """
    ent = ENTITIES[entity] if isinstance(entity, str) else entity
    reader = reader or open_reader(path)
    name = sheet or find_sheet(reader.sheet_names, ent)
    if name is None:
        if required:
            raise WorkbookError(
                msg("e_no_sheet", en=ent.en, zh=ent.zh, sheets=", ".join(reader.sheet_names)), file=str(path))
        return empty_frame(ent)
    raw = read_raw(path, name, reader)
    return convert(raw, ent, file=str(path), sheet=name, dayfirst=dayfirst)

