"""Updating a user's workbook keeps what crmkit does not own, and refuses what it cannot keep."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

from crmkit.exceptions import UnsafeWriteError
from crmkit.io.contents import inspect_workbook
from crmkit.workspace import open_workspace

YELLOW = "00FFFF00"


def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C1", "C2", "C3"],
        "name": ["Acme", "Bolt", "Cogs"],
        "source": ["referral", "other", "trade_show"],
        "stage": ["lead", "won", "lead"],
        "created_at": pd.to_datetime(["2026-01-05", "2026-02-01", "2026-03-01"]),
    })


def new_customer(cid: str = "C4", name: str = "Dyna") -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [cid], "name": [name], "source": ["website_form"],
                         "created_at": [pd.Timestamp("2026-04-01")]})


@pytest.fixture
def user_workbook(make_workspace):
    """A workspace whose customers.xlsx a user has edited with everything crmkit must keep."""
    folder = make_workspace({"customers": customers()})
    path = folder / "customers.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["Customers"]
    last = sheet.max_column
    sheet.cell(1, last + 1, "Margin")                      # an extra column with formulas
    for r in (2, 3, 4):
        sheet.cell(r, last + 1, f"=LEN(B{r})*2")
    sheet["B2"].fill = PatternFill("solid", fgColor="FFFF00")
    sheet["B2"].font = Font(bold=True)
    sheet["B2"].comment = Comment("key account", "Li")
    sheet.column_dimensions["B"].width = 44
    dv = DataValidation(type="whole", operator="between", formula1="0", formula2="100")
    sheet.add_data_validation(dv)
    dv.add("AZ2:AZ500")
    sheet.conditional_formatting.add("B2:B500", CellIsRule(operator="equal", formula=['"Bolt"'],
                                                           fill=PatternFill("solid", fgColor="FF0000")))
    book.defined_names["key_account"] = DefinedName("key_account", attr_text="Customers!$B$2")
    sheet.freeze_panes = "C2"
    notes = book.create_sheet("My notes")
    notes["A1"] = "call Acme on Monday"
    notes["B1"] = "=Customers!B2"
    book.save(path)
    return folder, last + 1


def load(folder: Path):
    return openpyxl.load_workbook(folder / "customers.xlsx")


def test_a_workbook_crmkit_wrote_and_nobody_saved_is_recognised(make_workspace):
    folder = make_workspace({"customers": customers()})
    info = inspect_workbook(folder / "customers.xlsx")
    assert info.written_by_crmkit and not info.unsafe


def test_a_workbook_saved_by_someone_else_is_not_taken_for_crmkits_own(user_workbook):
    folder, _ = user_workbook
    info = inspect_workbook(folder / "customers.xlsx")
    assert not info.written_by_crmkit
    assert info.has_formulas and info.has_comments and not info.unsafe


def test_appending_a_customer_keeps_every_user_addition(user_workbook):
    folder, margin_col = user_workbook
    ws = open_workspace(folder)
    ws.append("customers", new_customer())
    ws.save()

    book = load(folder)
    sheet = book["Customers"]
    assert book.sheetnames[-1] == "My notes"
    assert book["My notes"]["A1"].value == "call Acme on Monday"
    assert book["My notes"]["B1"].value == "=Customers!B2"
    assert sheet.cell(1, margin_col).value == "Margin"
    assert [sheet.cell(r, margin_col).value for r in (2, 3, 4)] == ["=LEN(B2)*2", "=LEN(B3)*2", "=LEN(B4)*2"]
    assert sheet["B2"].fill.fgColor.rgb == YELLOW and sheet["B2"].font.b
    assert sheet["B2"].comment.text == "key account"
    assert sheet.column_dimensions["B"].width == 44
    assert any(str(dv.sqref) == "AZ2:AZ500" for dv in sheet.data_validations.dataValidation)
    assert [str(r.sqref) for r in sheet.conditional_formatting] == ["B2:B500"]
    assert "key_account" in book.defined_names
    assert sheet.freeze_panes == "C2"
    # the new row is there, and the Excel table grew to cover it
    assert [sheet.cell(r, 1).value for r in range(2, 6)] == ["C1", "C2", "C3", "C4"]
    assert sheet["B5"].value == "Dyna"
    assert sheet.tables["tbl_customers"].ref.endswith("5")
    # crmkit reads it all back
    back = open_workspace(folder)["customers"]
    assert back["customer_id"].tolist() == ["C1", "C2", "C3", "C4"]


def test_the_new_row_takes_the_number_format_of_the_row_above(user_workbook):
    folder, _ = user_workbook
    ws = open_workspace(folder)
    ws.append("customers", new_customer())
    ws.save()
    sheet = load(folder)["Customers"]
    col = [c.value for c in sheet[1]].index("Created *") + 1
    assert sheet.cell(5, col).number_format == sheet.cell(4, col).number_format
    assert sheet.cell(5, col).value.date().isoformat() == "2026-04-01"


def test_changing_a_value_changes_only_that_cell_and_keeps_its_formatting(user_workbook):
    folder, _ = user_workbook
    ws = open_workspace(folder)
    df = ws["customers"].copy()
    df.loc[df["customer_id"] == "C1", "name"] = "Acme Ltd"
    ws.replace("customers", df)
    ws.save()
    sheet = load(folder)["Customers"]
    assert sheet["B2"].value == "Acme Ltd"
    assert sheet["B2"].fill.fgColor.rgb == YELLOW and sheet["B2"].comment.text == "key account"
    assert sheet["B3"].value == "Bolt"


def test_a_formula_in_a_crmkit_column_is_never_overwritten(user_workbook):
    folder, _ = user_workbook
    path = folder / "customers.xlsx"
    book = openpyxl.load_workbook(path)
    book["Customers"]["B4"] = '="Co" & "gs"'
    book.save(path)
    ws = open_workspace(folder)
    ws.append("customers", new_customer())
    ws.save()
    assert load(folder)["Customers"]["B4"].value == '="Co" & "gs"'


def test_a_value_crmkit_could_not_read_is_not_erased(user_workbook):
    folder, _ = user_workbook
    path = folder / "customers.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["Customers"]
    col = [c.value for c in sheet[1]].index("Created *") + 1
    sheet.cell(3, col).value = "next spring"          # not a date: crmkit holds a blank
    book.save(path)
    ws = open_workspace(folder)
    assert pd.isna(ws["customers"].loc[3, "created_at"])
    ws.append("customers", new_customer())
    ws.save()
    assert load(folder)["Customers"].cell(3, col).value == "next spring"


def test_removing_a_customer_moves_the_rows_below_up_with_their_formulas(user_workbook):
    folder, margin_col = user_workbook
    ws = open_workspace(folder)
    df = ws["customers"]
    ws.replace("customers", df[df["customer_id"] != "C2"])      # e.g. merged as a duplicate
    ws.save()
    sheet = load(folder)["Customers"]
    assert [sheet.cell(r, 1).value for r in (2, 3, 4)] == ["C1", "C3", None]
    assert sheet.cell(3, margin_col).value == "=LEN(B3)*2"
    assert sheet["B2"].comment.text == "key account"
    assert open_workspace(folder)["customers"]["customer_id"].tolist() == ["C1", "C3"]


def test_a_frame_built_afresh_is_matched_to_the_sheet_by_id(user_workbook):
    folder, _ = user_workbook
    ws = open_workspace(folder)
    df = ws["customers"].iloc[::-1].reset_index(drop=True)       # new order, no row numbers
    df.loc[df["customer_id"] == "C1", "stage"] = "won"
    ws.replace("customers", df)
    ws.save()
    back = open_workspace(folder)["customers"]
    assert back["customer_id"].tolist() == ["C1", "C2", "C3"]
    assert back.set_index("customer_id")["stage"].to_dict() == {"C1": "won", "C2": "won", "C3": "lead"}
    assert load(folder)["Customers"]["B2"].fill.fgColor.rgb == YELLOW


def test_an_untouched_crmkit_workbook_is_rewritten_and_stays_crmkits(make_workspace):
    folder = make_workspace({"customers": customers()})
    ws = open_workspace(folder)
    ws.append("customers", new_customer())
    ws.save()
    assert inspect_workbook(folder / "customers.xlsx").written_by_crmkit
    assert open_workspace(folder)["customers"]["customer_id"].tolist() == ["C1", "C2", "C3", "C4"]


def test_a_sheet_the_user_deleted_comes_back_only_when_there_are_rows_for_it(user_workbook):
    folder, _ = user_workbook
    path = folder / "customers.xlsx"
    book = openpyxl.load_workbook(path)
    del book["Deals"]
    book.save(path)
    ws = open_workspace(folder)
    ws.append("customers", new_customer())
    ws.save()
    assert "Deals" not in load(folder).sheetnames
    ws = open_workspace(folder)
    ws.append("deals", pd.DataFrame({"deal_id": ["D1"], "customer_id": ["C1"], "name": ["Renewal"],
                                     "stage": ["lead"], "created_at": [pd.Timestamp("2026-04-02")]}))
    ws.save()
    assert open_workspace(folder)["deals"]["deal_id"].tolist() == ["D1"]


# --------------------------------------------------------------------------- refusals

def add_zip_parts(path: Path, parts: dict[str, bytes]) -> None:
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        for name, data in parts.items():
            dst.writestr(name, data)
    shutil.move(tmp, path)


def add_chart(path: Path) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book.create_sheet("Chart data")
    for row in (("a", 1), ("b", 2)):
        sheet.append(row)
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=2))
    sheet.add_chart(chart, "D2")
    book.save(path)


X14_SHEET = (b'<extLst><ext uri="{05C60535-1F16-4fd2-B633-F4F36F0B64E0}" '
             b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"/></extLst>')


def add_sparklines(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        name = "xl/worksheets/sheet1.xml"
        xml = zf.read(name)
    xml = xml.replace(b"</worksheet>", X14_SHEET + b"</worksheet>")
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, xml if item.filename == name else src.read(item.filename))
    shutil.move(tmp, path)


DRAWING_WITH_SHAPE = (b'<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing">'
                      b'<xdr:twoCellAnchor><xdr:sp macro=""/></xdr:twoCellAnchor></xdr:wsDr>')


@pytest.mark.parametrize("content, add", [
    ("charts", add_chart),
    ("images", lambda p: add_zip_parts(p, {"xl/media/image1.png": b"\x89PNG\r\n\x1a\n"})),
    ("pivot tables", lambda p: add_zip_parts(p, {"xl/pivotTables/pivotTable1.xml": b"<pivotTableDefinition/>"})),
    ("macros", lambda p: add_zip_parts(p, {"xl/vbaProject.bin": b"\x00" * 64})),
    ("shapes", lambda p: add_zip_parts(p, {"xl/drawings/drawing9.xml": DRAWING_WITH_SHAPE})),
    ("sparklines", add_sparklines),
    ("slicers", lambda p: add_zip_parts(p, {"xl/slicers/slicer1.xml": b"<slicers/>"})),
])
def test_a_workbook_with_content_crmkit_would_drop_is_refused_and_left_unchanged(make_workspace, content, add):
    folder = make_workspace({"customers": customers()})
    path = folder / "customers.xlsx"
    add(path)
    before = path.read_bytes()
    ws = open_workspace(folder)
    ws.append("customers", new_customer())
    with pytest.raises(UnsafeWriteError) as err:
        ws.save()
    message = str(err.value)
    assert content in message
    assert str(path) in message
    assert "another workbook" in message and "new file" in message
    assert err.value.exit_code == 2
    assert path.read_bytes() == before
    assert not list(folder.glob(".customers.tmp-*"))
