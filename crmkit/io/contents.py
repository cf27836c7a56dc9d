"""What a workbook file holds, read from its zip parts without loading it.

:func:`inspect_workbook` lists a workbook's sheets, whether crmkit wrote it
and nobody has saved it since (:data:`MARKER`), and the content an openpyxl
save would drop (charts, images, pivot tables, macros, Excel-2010
extensions...).  :func:`check_safe_to_update` refuses such a workbook with
:class:`~crmkit.exceptions.UnsafeWriteError` before :mod:`crmkit.io.preserve`
touches it.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import UnsafeWriteError, WorkbookError
from ..i18n import msg, word
from .archive import attr, check_archive, element_text, read_part, tags, unescape

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
    protected: list[str] = field(default_factory=list)   # names of the sheets under sheet protection

    @property
    def safe_to_update(self) -> bool:
        return not self.unsafe


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
                xml = read_part(zf, n)
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
        locked: set[str] = set()
        for n in names:
            if n.startswith("xl/worksheets/sheet") and n.endswith(".xml"):
                xml = read_part(zf, n)
                if b"<sheetProtection" in xml:
                    locked.add(n)
                if b"<f>" in xml or b"<f " in xml:
                    info.has_formulas = True
                if b"<extLst" in xml:
                    for tag in tags(xml, b"<ext"):
                        uri = attr(tag, b"uri")
                        label = _EXT_URIS.get(uri.decode("ascii", "replace")) if uri else None
                        if label:
                            found[label] = None
        wbxml = read_part(zf, "xl/workbook.xml")
        if _STRICT_NS in wbxml[:4096]:
            info.strict = True
            found["the 'Strict Open XML' format"] = None
        info.sheets = [unescape(s.decode("utf-8", "replace")) for s in
                       (attr(tag, b"name") for tag in tags(wbxml, b"<sheet")) if s is not None]
        if locked:
            info.protected = _protected_sheets(zf, wbxml, locked)
        core = read_part(zf, "docProps/core.xml")
        desc = element_text(core, b"dc:description")
        created = element_text(core, b"dcterms:created")
        modified = element_text(core, b"dcterms:modified")
        info.written_by_crmkit = bool(
            desc is not None and desc.strip() == MARKER.encode()
            and created and modified and created.strip() == modified.strip())
        info.unsafe = list(found)
    return info


def _protected_sheets(zf: zipfile.ZipFile, wbxml: bytes, parts: set[str]) -> list[str]:
    """The names of the sheets whose parts (``xl/worksheets/sheetN.xml``) are among ``parts``."""
    target = {}
    for tag in tags(read_part(zf, "xl/_rels/workbook.xml.rels"), b"<Relationship"):
        rid, where = attr(tag, b"Id"), attr(tag, b"Target")
        if rid and where:
            where = where.decode("utf-8", "replace").lstrip("/")
            target[rid] = where if where.startswith("xl/") else "xl/" + where
    out = []
    for tag in tags(wbxml, b"<sheet"):
        name, rid = attr(tag, b"name"), attr(tag, b"r:id")
        if name is not None and target.get(rid) in parts:
            out.append(unescape(name.decode("utf-8", "replace")))
    return out


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

