"""Masking holds for every phone-looking value, normalised or not, in exports, dashboards and pages (issue 14)."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pytest
from crmkit.dashboard.server.formatting import display_frame, mask_contacts

from crmkit import normalize as nz
from crmkit.dashboard.pages import duplicate_rows, issue_frame
from crmkit.export import export
from crmkit.templates import write_workspace


@pytest.mark.parametrize("typed, shown", [
    ("186 1234 5678", "186****5678"),
    ("0755-8888 6666", "075****6666"),
    ("+86-137-0013-7000", "137****7000"),
    ("+8613700137000", "137****7000"),
    ("(0755) 8888-6666", "075****6666"),
    ("１８６ １２３４ ５６７８", "186****5678"),
    ("+12015550123", "+120****0123"),
    ("+15108637227 ext. 152", "+151****7227 ext. 152"),
    ("510.863.7227 x152", "51****7227 ext. 152"),
    ("88886666", "****6666"),
    ("call 186 1234 5678 after 5pm", "call 186****5678 after 5pm"),
    ("annie@acme.com", "an***@acme.com"),
    ("12345", "12345"),          # not a phone: too short to identify anyone
])
def test_any_phone_looking_value_is_masked_by_its_digits(typed, shown):
    assert nz.mask_contact(pd.Series([typed])).tolist() == [shown]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.mark.parametrize("typed", ["186 1234 5678", "0755-8888 6666", "+86-137-0013-7000", "13700137000",
                                   "+1 (415) 293-3313", "1-787-299-9241 x198"])
def test_a_masked_value_never_shows_seven_digits_of_the_number_in_a_row(typed):
    shown = nz.mask_contact(pd.Series([typed])).iloc[0].split(" ext. ")[0]
    assert "****" in shown and len(_digits(shown)) <= 7


# phones that phonenumbers rejects are kept as typed: these must be masked too
RAW = ["186 1234 567", "0755-8888 666", "+86-137-0013-700", "+8613812345678"]


@pytest.fixture(scope="module")
def ws_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("mask")
    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4"], "name": ["甲", "乙", "丙", "丁"], "phone": RAW,
        "source": ["referral"] * 4, "created_at": ["2026-11-01"] * 4})
    return write_workspace(root / "ws", {"customers": customers}, lang="zh", settings={"as_of": "2026-11-20 10:00"})


def _no_full_number(values):
    for v in values:
        assert len(_digits(str(v))) <= 7, v


def test_masked_csv_and_xlsx_exports_hide_numbers_that_were_not_normalised(ws_dir, tmp_path):
    export(ws_dir, "customers", tmp_path / "c.csv", columns="phone")
    shown = pd.read_csv(tmp_path / "c.csv", encoding="utf-8-sig", dtype=str).iloc[:, 0].tolist()
    assert shown == ["18****4567", "075****8666", "13****3700", "138****5678"]
    export(ws_dir, "customers", tmp_path / "c.xlsx", columns="phone")
    sheet = openpyxl.load_workbook(tmp_path / "c.xlsx").worksheets[0]
    _no_full_number([c.value for c in sheet["A"][1:]])


def test_dashboard_tables_and_problem_lists_mask_by_digits():
    df = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "phone": ["186 1234 5678", "0755-8888 6666",
                                                                    "+86-137-0013-7000"]})
    for frame in (mask_contacts(df), display_frame(df, "zh", entity="customers")):
        assert frame.iloc[:, 1].tolist() == ["186****5678", "075****6666", "137****7000"]
    issues = pd.DataFrame({"sheet": ["客户"] * 3, "row": [2, 3, 4], "column": ["联系电话"] * 3,
                           "field": ["phone"] * 3, "value": df["phone"], "severity": ["error"] * 3,
                           "reason": ["x"] * 3})
    shown = issue_frame(issues, "zh", columns=["row", "value"])
    _no_full_number(shown.iloc[:, 1])


def test_duplicate_lists_mask_the_matching_number():
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["甲公司", "甲公司"], "contact_name": ["a", "a"],
                              "phone": ["+86-137-0013-7000", "137 0013 7000"], "email": [None, None],
                              "owner": [None, None]})
    out = duplicate_rows(customers, keys=["phone"])
    assert len(out) == 2
    _no_full_number(out["match_value"])
