"""A column a user adds inside a table (微信号) flows like crmkit's own: read, update, merge, History, export."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.export import export, export_frame
from crmkit.importer import import_file
from crmkit.merge import dedupe_workspace
from crmkit.workspace import open_workspace


def _customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C00001", "C00002", "C00003"], "name": ["张记餐饮", "李记贸易", "张记餐饮有限公司"],
        "contact_name": ["张军", "李四", "张军"],
        "phone": ["+8613912340001", "+8613912340002", "+8613912340001"], "source": ["referral"] * 3,
        "created_at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-03-01"])})


def _by_hand(folder, values=("wx_001", None, "wx_zj")):
    """The user adds 微信号 as the last column of the table in Excel (saved by another program)."""
    path = folder / "customers.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["客户"]
    col = sheet.max_column + 1
    sheet.cell(1, col, "微信号")
    for r, v in enumerate(values, start=2):
        if v is not None:
            sheet.cell(r, col, v)
    book.save(path)
    return col


def _sheet_column(folder, header: str) -> dict:
    sheet = openpyxl.load_workbook(folder / "customers.xlsx")["客户"]
    heads = [str(c.value or "").replace(" *", "") for c in sheet[1]]
    id_col = heads.index("客户编号") + 1
    col = heads.index(header) + 1
    return {sheet.cell(r, id_col).value: sheet.cell(r, col).value for r in range(2, sheet.max_row + 1)
            if sheet.cell(r, id_col).value}


@pytest.fixture(params=["kept in place", "written fresh"])
def workspace(request, make_workspace):
    """The same data two ways: a workbook a person saved (updated in place) and one crmkit wrote itself."""
    folder = make_workspace({"customers": _customers().iloc[:2]}, lang="zh")
    if request.param == "kept in place":
        _by_hand(folder, ("wx_001", "wx_002"))
    else:
        w = open_workspace(folder)
        cur = w["customers"].copy()
        cur["微信号"] = pd.array(["wx_001", "wx_002"], dtype="string")
        w.replace("customers", cur)
        w.save()
    return folder


def test_an_import_writes_the_extra_column_into_the_cell_history_names(workspace, tmp_path):
    src = tmp_path / "wx.csv"
    src.write_text("客户编号,客户名称,微信号\nC00002,李记贸易,zjg888\n", encoding="utf-8")
    res = import_file(src, workspace, update="overwrite")
    assert (res.updated, res.history_rows) == (1, 1)
    hist = open_workspace(workspace)["history"]
    assert hist[["record_id", "field", "old", "new"]].values.tolist() == [["C00002", "微信号", "wx_002", "zjg888"]]
    assert _sheet_column(workspace, "微信号")["C00002"] == "zjg888"          # the cell says what History says
    assert open_workspace(workspace)["customers"]["微信号"].tolist() == ["wx_001", "zjg888"]
    again = import_file(src, workspace, update="overwrite")
    assert (again.updated, again.unchanged, again.history_rows) == (1, 1, 0)   # nothing changes the second time


def test_new_customers_get_their_extra_values(workspace, tmp_path):
    src = tmp_path / "new.csv"
    src.write_text("客户名称,手机,客户来源,建档日期,微信号\n王记五金,13912340009,展会,2024-05-01,wx_wang\n",
                   encoding="utf-8")
    assert import_file(src, workspace).imported == 1
    assert _sheet_column(workspace, "微信号") == {"C00001": "wx_001", "C00002": "wx_002", "C00003": "wx_wang"}
    again = import_file(src, workspace)
    assert (again.imported, again.updated, again.unchanged) == (0, 1, 1)


def test_fill_blanks_keeps_the_extra_value_and_says_so(workspace, tmp_path):
    src = tmp_path / "wx.csv"
    src.write_text("客户编号,客户名称,微信号\nC00002,李记贸易,zjg888\n", encoding="utf-8")
    res = import_file(src, workspace)
    assert (res.updated, res.unchanged, res.history_rows) == (1, 1, 0)
    note = res.issues[res.issues["severity"] == "info"]
    assert note[["row", "column", "value"]].values.tolist() == [[2, "微信号", "zjg888"]]
    assert _sheet_column(workspace, "微信号")["C00002"] == "wx_002"


def test_dedupe_fills_the_survivors_blank_extra_value_from_its_duplicate(make_workspace):
    folder = make_workspace({"customers": _customers()}, lang="zh")
    _by_hand(folder, (None, "wx_li", "wx_zj"))
    res = dedupe_workspace(folder, apply=True)
    assert res.id_map == {"C00003": "C00001"}
    assert _sheet_column(folder, "微信号") == {"C00001": "wx_zj", "C00002": "wx_li"}
    hist = open_workspace(folder)["history"]
    assert [["C00001", None, "wx_zj"]] == [
        [r, None if pd.isna(o) else o, n] for r, o, n in
        hist.loc[hist["field"] == "微信号", ["record_id", "old", "new"]].itertuples(index=False)]


def test_a_user_formula_in_an_extra_column_is_never_overwritten(make_workspace, tmp_path):
    folder = make_workspace({"customers": _customers().iloc[:2]}, lang="zh")
    path = folder / "customers.xlsx"
    book = openpyxl.load_workbook(path)
    sheet = book["客户"]
    col = sheet.max_column + 1
    sheet.cell(1, col, "等级")
    sheet.cell(2, col, "=1+1")
    sheet.cell(3, col, 7)                              # a number stays a number
    book.save(path)
    src = tmp_path / "x.csv"
    src.write_text("客户编号,客户名称,等级\nC00001,张记餐饮,9\nC00002,李记贸易,7\n", encoding="utf-8")
    import_file(src, folder, update="overwrite")
    sheet = openpyxl.load_workbook(path)["客户"]
    assert sheet.cell(2, col).value == "=1+1"
    assert sheet.cell(3, col).value == 7 and sheet.cell(3, col).data_type == "n"


def test_export_takes_extra_columns_by_name(workspace, tmp_path, capsys):
    df, fields = export_frame(open_workspace(workspace), "customers", columns="客户名称,微信号")
    assert df.values.tolist() == [["张记餐饮", "wx_001"], ["李记贸易", "wx_002"]]
    out = tmp_path / "wx.csv"
    assert main(["export", str(workspace), "--entity", "customers", "--columns", "客户名称,微信号",
                 "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8-sig").splitlines() == ["客户名称,微信号", "张记餐饮,wx_001", "李记贸易,wx_002"]
    # a default export carries them too
    res = export(workspace, "customers", tmp_path / "all.xlsx")
    assert res.columns[-1] == "微信号"
    capsys.readouterr()


def test_an_unknown_export_column_lists_the_extra_columns(workspace, capsys):
    assert main(["export", str(workspace), "--columns", "客户名称,QQ号", "--out", str(workspace / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "'QQ号'" in err and "微信号" in err
    assert json.dumps(err)
