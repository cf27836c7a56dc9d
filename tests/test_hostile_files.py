"""Hostile and unusual workbooks (issue 14, items 6 and 9).

* ``contents.inspect_workbook`` scans parts in linear time: a part with
  tens of thousands of unclosed tags took minutes with the old regexes.
* A zip bomb is refused from the zip directory, before any part is read,
  with a clear error naming the limit to raise.
* A workbook saved as "Strict Open XML" is read (never as empty) and never
  rebuilt from frames; Power Query connections, a data model and custom XML
  parts are refused like charts, so they are never dropped in silence.
"""

from __future__ import annotations

import hashlib
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.exceptions import UnsafeWriteError, WorkbookError
from crmkit.io.archive import check_archive
from crmkit.io.contents import inspect_workbook
from crmkit.io.reading import open_reader, read_sheet
from crmkit.io.writer import write_workbook


def user_workbook(path: Path) -> Path:
    """A Customers sheet a person made in a spreadsheet program, with a column of their own."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Customers"
    ws.append(["Customer ID", "Customer name", "Source", "Created", "微信号"])
    ws.append(["C00001", "Acme", "referral", "2026-11-01", "wx_001"])
    ws.append(["C00002", "Birch", "trade_show", "2026-11-02", "wx_002"])
    book.save(path)
    return path


def rewrite_parts(src: Path, dst: Path, change=None, add: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if change is not None:
                data = change(info.filename, data)
            zout.writestr(info, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


# --------------------------------------------------------------------------- linear scans

def swap_part(name: str, part: str, payload: bytes):
    def change(filename: str, data: bytes) -> bytes:
        return payload if filename == part else data
    return change


HOSTILE = {
    # 60,000 unclosed <ext tags: the old pattern <ext\b[^>]*\buri="..." rescanned the rest each time
    "xl/worksheets/sheet1.xml": b'<worksheet><extLst>' + b'<ext x="1" ' * 60_000 + b"</worksheet>",
    "xl/workbook.xml": b"<workbook><sheets>" + b'<sheet a="1" ' * 60_000 + b"</workbook>",
    "docProps/core.xml": b"<cp:coreProperties>" + b"<dc:description>x" * 60_000 + b"</cp:coreProperties>",
}


@pytest.mark.parametrize("part", list(HOSTILE))
def test_inspecting_a_part_full_of_unclosed_tags_takes_linear_time(tmp_path, part):
    path = rewrite_parts(user_workbook(tmp_path / "u.xlsx"), tmp_path / "hostile.xlsx",
                         swap_part("", part, HOSTILE[part]))
    assert len(HOSTILE[part]) > 600_000
    began = time.perf_counter()
    inspect_workbook(path)
    took = time.perf_counter() - began
    # the old regexes needed minutes for a third of this; a linear scan needs milliseconds
    assert took < 10, f"inspect_workbook took {took:.1f} s"


# --------------------------------------------------------------------------- zip bombs

def zip_bomb(src: Path, dst: Path, megabytes: int) -> Path:
    """``src`` with its first sheet swollen to ``megabytes`` of empty rows (deflated about 700:1)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                zout.writestr(info, data)
                continue
            head, tail = data.split(b"</sheetData>")
            zi = zipfile.ZipInfo(info.filename, info.date_time)
            zi.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(zi, "w", force_zip64=True) as fh:
                fh.write(head)
                chunk = b"<row/>" * (1 << 20)
                for _ in range(megabytes // 6):
                    fh.write(chunk)
                fh.write(b"</sheetData>" + tail)
    return dst


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bomb")
    return zip_bomb(user_workbook(folder / "u.xlsx"), folder / "customers.xlsx", 120)


def test_a_zip_bomb_is_refused_from_the_zip_directory_with_the_limit_to_raise(bomb):
    assert bomb.stat().st_size < 400_000
    with pytest.raises(WorkbookError, match="CRMKIT_MAX_ZIP_RATIO") as err:
        open_reader(bomb)
    assert str(bomb) in str(err.value) and "xl/worksheets/sheet1.xml" in str(err.value)
    with pytest.raises(WorkbookError, match="zip bomb"):
        inspect_workbook(bomb)


def test_the_total_size_limit_is_configurable(bomb, monkeypatch):
    monkeypatch.setenv("CRMKIT_MAX_ZIP_RATIO", "0")            # ratio check off: the total limit still holds
    monkeypatch.setenv("CRMKIT_MAX_UNCOMPRESSED_MB", "50")
    with pytest.raises(WorkbookError, match="CRMKIT_MAX_UNCOMPRESSED_MB"):
        check_archive(bomb)
    monkeypatch.setenv("CRMKIT_MAX_UNCOMPRESSED_MB", "500")
    check_archive(bomb)                                         # within the raised limits


def test_validate_and_import_of_a_zip_bomb_give_one_line_and_exit_2(bomb, tmp_path, capsys):
    assert main(["validate", str(bomb)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "zip bomb" in err and "Traceback" not in err and "panicked" not in err


def test_a_genuine_workbook_passes_the_archive_check(tmp_path):
    check_archive(user_workbook(tmp_path / "u.xlsx"))


# --------------------------------------------------------------------------- Strict Open XML

_STRICT = [
    (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
    (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
     b"http://purl.oclc.org/ooxml/officeDocument/relationships"),
    (b"http://schemas.openxmlformats.org/drawingml/2006/main", b"http://purl.oclc.org/ooxml/drawingml/main"),
]


def to_strict(filename: str, data: bytes) -> bytes:
    """What Excel's "Strict Open XML Spreadsheet" changes: the namespaces, and conformance="strict"."""
    if not filename.endswith((".xml", ".rels")):
        return data
    for a, b in _STRICT:
        data = data.replace(a, b)
    if filename == "xl/workbook.xml":
        data = data.replace(b"<workbook ", b'<workbook conformance="strict" ', 1)
    return data


@pytest.fixture
def strict(tmp_path) -> Path:
    path = rewrite_parts(user_workbook(tmp_path / "u.xlsx"), tmp_path / "customers.xlsx", to_strict)
    assert openpyxl.load_workbook(path).worksheets == []       # what openpyxl makes of it: nothing
    return path


def test_a_strict_open_xml_workbook_is_read_with_its_rows_and_columns(strict):
    df = read_sheet(strict, "customers")
    assert df["customer_id"].tolist() == ["C00001", "C00002"]
    assert df["微信号"].tolist() == ["wx_001", "wx_002"]


def test_a_strict_open_xml_workbook_is_never_rebuilt_from_frames(strict):
    before = hashlib.sha256(strict.read_bytes()).hexdigest()
    df = read_sheet(strict, "customers")
    df.loc[df.index[0], "name"] = "Acme Ltd"
    with pytest.raises(UnsafeWriteError, match="Strict Open XML"):
        write_workbook(strict, {"customers": df}, "en", workspace=strict.parent)
    assert hashlib.sha256(strict.read_bytes()).hexdigest() == before


# --------------------------------------------------------------------------- parts openpyxl drops

CONNECTIONS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<connections xmlns="http://schemas.'
               b'openxmlformats.org/spreadsheetml/2006/main"><connection id="1" name="Query - Leads" type="5" '
               b'refreshedVersion="6" background="1"><dbPr connection="Provider=Microsoft.Mashup.OleDb.1;" '
               b'command="SELECT * FROM [Leads]"/></connection></connections>')


@pytest.mark.parametrize("parts, what", [
    ({"xl/connections.xml": CONNECTIONS}, "Power Query or data connections"),
    ({"xl/model/item.data": b"\0" * 64}, "data model"),
    ({"customXml/item1.xml": b'<?xml version="1.0"?><DataMashup xmlns="http://schemas.microsoft.com/'
                             b'DataMashup">AAAA</DataMashup>'}, "custom XML parts"),
], ids=["connections", "data-model", "customXml"])
def test_a_workbook_with_parts_openpyxl_would_drop_is_refused_and_left_untouched(tmp_path, parts, what):
    path = rewrite_parts(user_workbook(tmp_path / "u.xlsx"), tmp_path / "customers.xlsx", add=parts)
    before = path.read_bytes()
    assert what in " ".join(inspect_workbook(path).unsafe)
    df = read_sheet(path, "customers")
    df.loc[df.index[0], "name"] = "Acme Ltd"
    with pytest.raises(UnsafeWriteError, match=what.split()[0]):
        write_workbook(path, {"customers": df}, "en", workspace=tmp_path)
    assert path.read_bytes() == before


def test_a_frame_read_from_a_plain_user_workbook_is_still_updated_in_place(tmp_path):
    path = user_workbook(tmp_path / "customers.xlsx")
    df = read_sheet(path, "customers")
    df.loc[df.index[0], "name"] = "Acme Ltd"
    write_workbook(path, {"customers": df}, "en", workspace=tmp_path)
    back = pd.read_excel(path, engine="openpyxl", dtype=str)
    assert back["Customer name"].tolist() == ["Acme Ltd", "Birch"]
    assert back["微信号"].tolist() == ["wx_001", "wx_002"]


def test_a_zip_bomb_in_place_of_a_workbook_is_never_replaced(bomb, tmp_path):
    target = tmp_path / "customers.xlsx"
    target.write_bytes(bomb.read_bytes())
    frame = pd.DataFrame({"customer_id": ["C1"], "name": ["Acme"], "source": ["referral"],
                          "created_at": pd.to_datetime(["2026-11-01"])})
    with pytest.raises(WorkbookError, match="zip bomb"):
        write_workbook(target, {"customers": frame}, "en", workspace=tmp_path)
    assert target.read_bytes() == bomb.read_bytes()


def test_reading_cached_formula_results_of_a_hostile_part_takes_linear_time(tmp_path):
    from crmkit.io.formulas import cached_formula_values, formula_rows

    payload = b"<worksheet><sheetData>" + b'<c r="A2" t="n" ' * 60_000 + b"<f>1</f><v>1</v></c></worksheet>"
    path = rewrite_parts(user_workbook(tmp_path / "u.xlsx"), tmp_path / "hostile.xlsx",
                         swap_part("", "xl/worksheets/sheet1.xml", payload))
    began = time.perf_counter()
    cached_formula_values(path)
    formula_rows(path, "Customers")
    assert time.perf_counter() - began < 10
