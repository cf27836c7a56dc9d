"""Reading workbooks: any header language, typed values, nothing lost, places reported."""

from __future__ import annotations

import pandas as pd
import pytest
import xlsxwriter

from crmkit import normalize as nz
from crmkit.exceptions import WorkbookError, WorkspaceNotFound
from crmkit.io.reading import read_sheet
from crmkit.schema import ENTITIES
from crmkit.workspace import open_workspace


def _xlsx(path, sheet, rows):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet(sheet)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is not None:
                ws.write(i, j, v)
    wb.close()
    return path


def test_reader_accepts_mixed_header_languages_and_keeps_unknown_columns(tmp_path):
    path = _xlsx(tmp_path / "c.xlsx", "客户", [
        ["客户编号", "Customer name", "source", "手机号", "意向等级", "建档日期", "Favourite colour"],
        ["C1", "华星科技", "官网表单", "13800138000", "A级", "2024/5/1", "blue"],
        [None, None, None, None, None, None, None],
        ["C2", "Acme", "Referral", "+44 20 7946 0958", "c", 45413, "red"],
    ])
    df = read_sheet(path, "customers")
    assert list(df.index) == [2, 4]                     # Excel row numbers, blank row skipped
    assert df["source"].tolist() == ["website_form", "referral"]
    assert df["intent_level"].tolist() == ["A", "C"]
    assert df["created_at"].tolist() == [pd.Timestamp("2024-05-01"), pd.Timestamp("2024-05-01")]
    assert df["phone"].tolist() == ["13800138000", "+44 20 7946 0958"]
    assert df["Favourite colour"].tolist() == ["blue", "red"]
    assert df.attrs["extra_columns"] == ["Favourite colour"]
    assert df.attrs["problems"] == []


def test_values_that_do_not_convert_are_kept_and_reported_with_their_place(tmp_path):
    path = _xlsx(tmp_path / "o.xlsx", "Orders", [
        ["Order ID", "Customer ID", "Order date", "Amount", "Sales channel"],
        ["O1", "C1", "2024-13-45", "1,200", "直销"],
        ["O2", "C1", "2024年5月1日", "abc", "telepathy"],
    ])
    df = read_sheet(path, "orders")
    assert df.loc[2, "amount"] == 1200.0 and df.loc[2, "channel"] == "direct"
    assert pd.isna(df.loc[2, "order_date"]) and df.loc[3, "order_date"] == pd.Timestamp("2024-05-01")
    assert df.loc[3, "channel"] == "telepathy"          # kept as typed, flagged
    places = {(p.row, p.column) for p in df.attrs["problems"]}
    assert places == {(2, "Order date"), (3, "Amount"), (3, "Sales channel")}
    assert all(p.sheet == "Orders" and p.file.endswith("o.xlsx") for p in df.attrs["problems"])


def test_missing_sheet_names_the_file_and_the_sheets_it_has(tmp_path):
    path = _xlsx(tmp_path / "x.xlsx", "Other", [["a"], [1]])
    with pytest.raises(WorkbookError, match="no sheet 'Customers' / '客户'.*Other"):
        read_sheet(path, "customers")


@pytest.mark.parametrize("content, message", [
    (b"not a zip at all", "corrupt"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "password-protected"),
])
def test_unreadable_workbooks_raise_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(WorkbookError, match=message):
        read_sheet(path, "customers")


def test_open_workspace_refuses_a_folder_without_workbooks(tmp_path):
    with pytest.raises(WorkspaceNotFound, match="not a crmkit workspace"):
        open_workspace(tmp_path)
    with pytest.raises(WorkspaceNotFound, match="not found"):
        open_workspace(tmp_path / "missing")


@pytest.mark.parametrize("text, expected", [
    ("2024-05-01", "2024-05-01 00:00"),
    ("2024/5/1", "2024-05-01 00:00"),
    ("2024.5.1 13:30", "2024-05-01 13:30"),
    ("2024年5月1日", "2024-05-01 00:00"),
    ("２０２４年５月１日", "2024-05-01 00:00"),
    ("45413", "2024-05-01 00:00"),
    ("20240501", "2024-05-01 00:00"),
    ("5/1/2024", "2024-05-01 00:00"),
])
def test_date_parser_understands_common_forms(text, expected):
    out, bad = nz.to_datetime(pd.Series([text]))
    assert not bad.iloc[0]
    assert out.iloc[0].strftime("%Y-%m-%d %H:%M") == expected


def test_day_first_dates_follow_the_setting():
    out, _ = nz.to_datetime(pd.Series(["1/5/2024"]), dayfirst=True)
    assert out.iloc[0] == pd.Timestamp("2024-05-01")


def test_appended_rows_are_written_back_and_only_that_workbook_changes(make_workspace):
    path = make_workspace({}, settings={"as_of": "2026-11-20 10:00"})
    before = {p.name: p.read_bytes() for p in path.glob("*.xlsx")}
    ws = open_workspace(path)
    ws.append("tasks", pd.DataFrame({"task_id": ["T1"], "title": ["Call"], "owner": ["Alex Chen"],
                                     "due_at": [pd.Timestamp("2026-11-21 09:00")], "status": ["open"],
                                     "created_at": [pd.Timestamp("2026-11-20 10:00")]}))
    assert [p.name for p in ws.save()] == ["tasks.xlsx"]
    after = {p.name: p.read_bytes() for p in path.glob("*.xlsx")}
    assert [n for n in after if after[n] != before[n]] == ["tasks.xlsx"]
    tasks = open_workspace(path)["tasks"]
    assert tasks["task_id"].tolist() == ["T1"] and tasks.loc[2, "due_at"] == pd.Timestamp("2026-11-21 09:00")
    assert list(tasks.columns[: len(ENTITIES["tasks"].fields)]) == ENTITIES["tasks"].keys
