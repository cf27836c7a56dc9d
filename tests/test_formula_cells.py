"""A user's formula cells (issue 14, item 10).

The fixture ``tests/data/formulas/customers_libreoffice.xlsx`` was re-saved
by LibreOffice (``make_formula_fixture.py``): every formula carries its
cached result, as in files saved by Excel or LibreOffice.

* crmkit's in-place update keeps the formulas *and* their cached results, so
  pandas and crmkit's own reader still see the values after a rewrite, also
  when rows above move up.
* A rule ``set`` on a cell that holds the user's formula does not claim
  "done": the record is logged as skipped with the reason (en/zh), the
  formula is kept, and the rule tries again on a later day.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.io.reading import read_sheet
from crmkit.io.writer import write_workbook
from crmkit.rules.engine import run_rules
from crmkit.workspace import open_workspace

FIXTURE = Path(__file__).resolve().parent / "data" / "formulas" / "customers_libreoffice.xlsx"
AS_OF = "2026-11-20 10:00"


@pytest.fixture
def book(tmp_path) -> Path:
    path = tmp_path / "customers.xlsx"
    shutil.copy(FIXTURE, path)
    return path


def test_the_fixture_holds_formulas_with_cached_results():
    ws = openpyxl.load_workbook(FIXTURE)["Customers"]
    assert ws["G2"].value == "=LEN(B2)*10" and ws["F2"].data_type == "f"
    cached = pd.read_excel(FIXTURE, engine="openpyxl")
    assert cached["Score"].tolist() == [40, 130, 50]


def test_an_update_keeps_the_cached_results_of_the_users_formula_columns(book, tmp_path):
    df = read_sheet(book, "customers")
    df.loc[df["customer_id"] == "C00003", "intent_level"] = "A"
    write_workbook(book, {"customers": df}, "en", workspace=tmp_path)
    back = pd.read_excel(book, engine="openpyxl")
    assert back["Score"].tolist() == [40, 130, 50]
    assert back["Greeting"].tolist() == ["Dear Acme", "Dear Birch Trading", "Dear Cedar"]
    assert back["Notes"].tolist()[0] == "call Acme back"
    again = read_sheet(book, "customers")                  # crmkit's own reader sees them too
    assert again["Score"].astype(float).tolist() == [40, 130, 50]
    assert again["intent_level"].tolist() == ["A", "B", "A"]
    ws = openpyxl.load_workbook(book)["Customers"]
    assert ws["G3"].value == "=LEN(B3)*10"                  # still a formula


def test_cached_results_follow_their_rows_when_a_row_above_is_removed(book, tmp_path):
    df = read_sheet(book, "customers")
    df = df[df["customer_id"] != "C00002"]
    write_workbook(book, {"customers": df}, "en", workspace=tmp_path)
    back = pd.read_excel(book, engine="openpyxl")
    assert back["Customer ID *"].tolist() == ["C00001", "C00003"]
    assert back["Score"].tolist() == [40, 50]
    assert back["Greeting"].tolist() == ["Dear Acme", "Dear Cedar"]
    assert openpyxl.load_workbook(book)["Customers"]["G3"].value == "=LEN(B3)*10"


@pytest.mark.parametrize("lang, word", [("en", "formula"), ("zh", "公式")])
def test_a_rule_that_sets_a_cell_holding_a_formula_is_skipped_with_the_reason(make_workspace, lang, word):
    rules = pd.DataFrame([{"rule_id": "NOTE", "name": "note", "enabled": True, "entity": "customers",
                           "when": 'intent_level in ["A", "B"]', "action": "set",
                           "params": 'field=notes; value="hot lead"', "once": "ever", "priority": 1}])
    folder = make_workspace({"rules": rules}, settings={"as_of": AS_OF}, lang=lang)
    shutil.copy(FIXTURE, folder / "customers.xlsx")
    res = run_rules(open_workspace(folder))
    log = res.actions.set_index("record_id")
    assert log.loc["C00001", "outcome"] == "skipped"
    assert word in log.loc["C00001", "detail"]
    assert log.loc["C00002", "outcome"] == "done"
    ws = openpyxl.load_workbook(folder / "customers.xlsx")["Customers"]
    assert ws["F2"].value == '="call "&B2&" back"'          # the user's formula is kept
    assert ws["F3"].value == "hot lead"
    assert pd.read_excel(folder / "customers.xlsx", engine="openpyxl")["Score"].tolist() == [40, 130, 50]
    rule_log = open_workspace(folder)["rule_log"].set_index("record_id")
    assert rule_log.loc["C00001", "outcome"] == "skipped"
    # skipped is not final: a later day tries again (the user may have replaced the formula)
    later = run_rules(open_workspace(folder), as_of="2026-11-21 10:00", dry_run=True)
    assert "C00001" in set(later.actions["record_id"])
