"""Templates fit what people type, and Owner offers the team as a dropdown (issue 14)."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

from crmkit.schema import ENTITIES
from crmkit.templates import write_workspace
from crmkit.workspace import open_workspace

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _column(sheet, header_start: str) -> str:
    for c in sheet[1]:
        if str(c.value).startswith(header_start):
            return get_column_letter(c.column)
    raise AssertionError(f"no column {header_start!r} in {[c.value for c in sheet[1]]}")


def _team_lists(sheet) -> list[str]:
    """Columns (as letters) whose dropdown is the team_names list."""
    return [re.match(r"[A-Z]+", str(d.sqref)).group(0) for d in sheet.data_validations.dataValidation
            if d.type == "list" and d.formula1 == "team_names"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_phone_and_email_columns_are_wide_enough_for_real_values(lang):
    sheet = openpyxl.load_workbook(TEMPLATES / lang / "customers.xlsx")[ENTITIES["customers"].sheet_name(lang)]
    phone, email = (ENTITIES["customers"].field(k).header(lang) for k in ("phone", "email"))
    assert sheet.column_dimensions[_column(sheet, phone)].width >= len("+15108637227 ext. 152")
    assert sheet.column_dimensions[_column(sheet, email)].width >= len("firstname.lastname@company.com")


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("entity, field", [("customers", "owner"), ("deals", "owner"), ("tasks", "owner"),
                                           ("tickets", "assignee"), ("campaigns", "owner"),
                                           ("team", "manager")])
def test_every_person_column_of_the_templates_has_a_team_dropdown(lang, entity, field):
    ent = ENTITIES[entity]
    book = openpyxl.load_workbook(TEMPLATES / lang / f"{ent.workbook}.xlsx")
    assert "team_names" in book.defined_names
    sheet = book[ent.sheet_name(lang)]
    col = _column(sheet, ent.field(field).header(lang))
    assert col in _team_lists(sheet)
    if ent.workbook == "rules":      # the Team sheet itself: new members show up at once
        assert book.defined_names["team_names"].attr_text.startswith(ENTITIES["team"].sheet_name(lang))


def test_a_workspace_offers_its_own_team_and_keeps_it_current_on_save(tmp_path):
    team = pd.DataFrame({"name": ["Ana Díaz", "Bo Li"], "role": ["rep", "manager"]})
    customers = pd.DataFrame({"customer_id": ["C1"], "name": ["Acme"], "source": ["referral"],
                              "created_at": ["2026-01-02"], "owner": ["Ana Díaz"]})
    folder = write_workspace(tmp_path / "ws", {"customers": customers, "team": team})

    def offered():
        book = openpyxl.load_workbook(folder / "customers.xlsx")
        ref = book.defined_names["team_names"].attr_text
        sheet_name, cells = ref.split("!")
        return [c.value for row in book[sheet_name.strip("'")][cells.replace("$", "")] for c in row]

    assert offered() == ["Ana Díaz", "Bo Li"]
    ws = open_workspace(folder)
    ws.replace("team", pd.concat([ws["team"], pd.DataFrame({"name": ["Cy Park"], "role": ["rep"]})]))
    ws.save(["rules"])
    ws = open_workspace(folder)
    ws.replace("customers", ws["customers"])
    ws.save(["customers"])
    assert offered() == ["Ana Díaz", "Bo Li", "Cy Park"]
    assert open_workspace(folder)["customers"]["owner"].tolist() == ["Ana Díaz"]
