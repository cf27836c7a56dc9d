"""Opening a workbook's zip safely: limits against zip bombs, and linear scans of its XML parts.

An .xlsx is a zip of XML parts.  :func:`check_archive` refuses a file whose
zip directory promises more than the limits, before any part is unpacked.
The scans (:func:`tags`, :func:`attr`, :func:`element_text`) move forward
only, so a hostile part holding millions of unclosed tags still takes time
in proportion to its size.  Used by the reader, the content inspection, the
in-place update and the output-path checks.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from ..exceptions import WorkbookError


def read_part(zf: zipfile.ZipFile, name: str) -> bytes:
    """The bytes of part ``name`` (empty when the zip has no such part)."""
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

def tags(xml: bytes, start: bytes):
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


def attr(tag: bytes, name: bytes) -> bytes | None:
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


def element_text(xml: bytes, tag: bytes) -> bytes | None:
    """The text of the first ``<tag ...>text</tag>`` (linear)."""
    for head in tags(xml, b"<" + tag):
        if head.endswith(b"/"):
            return b""
        start = xml.find(head) + len(head) + 1
        end = xml.find(b"</" + tag + b">", start)
        return None if end < 0 else xml[start:end]
    return None


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part (``xl/worksheets/sheet1.xml``), from workbook.xml and its relationships."""
    wbxml = read_part(zf, "xl/workbook.xml")
    rels = read_part(zf, "xl/_rels/workbook.xml.rels")
    target = {}
    for tag in tags(rels, b"<Relationship"):
        rid, tgt = attr(tag, b"Id"), attr(tag, b"Target")
        if rid and tgt:
            t = tgt.decode("utf-8", "replace")
            target[rid] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    out = {}
    for tag in tags(wbxml, b"<sheet"):
        name, rid = attr(tag, b"name"), attr(tag, b"r:id")
        if name is not None and rid in target:
            out[unescape(name.decode("utf-8", "replace"))] = target[rid]
    return out


def unescape(s: str) -> str:
    """Text of an XML attribute with its five entities resolved."""
    return (s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))
