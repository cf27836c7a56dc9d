"""crmkit export: filtered tables to Excel or CSV, in the workspace language, contacts masked."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from crmkit.export import export, export_frame
from crmkit.fields import fields_frame
from crmkit.io import bulk
from crmkit.workspace import open_workspace

CUSTOMERS = pd.DataFrame({
    "customer_id": ["C1", "C2", "C3", "C4"],
    "name": ["甲公司", "=HYPERLINK(\"http://x\",\"点我\")", "丙商贸", "丁科技"],
    "phone": ["+8613812345678", "+8613900001111", None, "+8613700002222"],
    "email": ["li@example.com", None, None, None],
    "source": ["website_form", "referral", "trade_show", "website_form"],
    "intent_level": ["A", "A", "B", "A"],
    "industry": ["manufacturing", "retail", "retail", "it_internet"],
    "created_at": ["2026-11-01", "2026-10-01", "2026-09-01", "2026-11-10"],
    "marketing_consent": [True, False, None, True],
    "expected_amount": [200000, 5000, None, 80000],
    "need_tags": ["technical_support", "price_sensitive", None, "technical_support;price_sensitive"],
})


@pytest.fixture(scope="module")
def ws_dir(tmp_path_factory):
    from crmkit.templates import write_workspace

    root = tmp_path_factory.mktemp("export")
    return write_workspace(root / "ws", {"customers": CUSTOMERS, "fields": fields_frame("zh").assign(enabled=True)},
                           lang="zh", settings={"as_of": "2026-11-20 10:00"})


def test_an_xlsx_export_holds_exactly_the_matching_rows_in_the_workspace_language(ws_dir, tmp_path):
    out = tmp_path / "a.xlsx"
    res = export(ws_dir, "customers", out, where='intent_level == "A" and 客户来源 == "官网表单"',
                 columns=["name", "联系电话", "industry", "marketing_consent", "需求标签"])
    assert (res.rows, res.format, res.masked) == (2, "xlsx", True)
    sheet = openpyxl.load_workbook(out)["客户"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows == [
        ["客户名称", "联系电话", "所属行业", "同意接收营销信息", "需求标签"],
        ["甲公司", "138****5678", "制造业", "是", "技术支持"],
        ["丁科技", "137****2222", "IT/互联网", "是", "技术支持;价格敏感"],
    ]


def test_a_csv_export_is_utf8_with_bom_and_neutralises_formula_text(ws_dir, tmp_path):
    out = tmp_path / "a.csv"
    res = export(ws_dir, "客户", out, where="expected_amount >= 5000", columns="customer_id,name,phone,预计成交金额")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert df.columns.tolist() == ["客户编号", "客户名称", "联系电话", "预计成交金额"]
    assert df["客户编号"].tolist() == ["C1", "C2", "C4"] and res.rows == 3
    assert df.loc[1, "客户名称"] == "'=HYPERLINK(\"http://x\",\"点我\")"
    assert df.loc[0, "联系电话"] == "138****5678"


def test_unmasked_exports_show_full_contacts(ws_dir):
    df, _ = export_frame(open_workspace(ws_dir), "customers", where='customer_id == "C1"',
                         columns=["phone", "email"], unmasked=True)
    assert df.iloc[0].tolist() == ["+8613812345678", "li@example.com"]
    masked, _ = export_frame(open_workspace(ws_dir), "customers", where='customer_id == "C1"',
                             columns=["phone", "email"])
    assert masked.iloc[0].tolist() == ["138****5678", "li***@example.com"]


def test_derived_fields_may_be_filtered_on_and_exported(ws_dir):
    df, fields = export_frame(open_workspace(ws_dir), "customers", where="days_since(created_at) > 30",
                              columns=["customer_id", "days_since_interaction"])
    assert df["customer_id"].tolist() == ["C2", "C3"]
    assert [f.key for f in fields] == ["customer_id", "days_since_interaction"]


def test_cli_export_prints_json_and_maps_bad_input_to_exit_codes(ws_dir, tmp_path, capsys):
    from crmkit.cli import main

    out = tmp_path / "x.csv"
    capsys.readouterr()
    assert main(["export", str(ws_dir), "--where", 'industry == "retail"', "--out", str(out), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["rows"], payload["format"], payload["entity"]) == (2, "csv", "customers")
    assert main(["export", str(ws_dir), "--where", "industry ==", "--out", str(out)]) == 2   # usage (README)
    assert main(["export", str(ws_dir), "--columns", "nme", "--out", str(out)]) == 2
    assert main(["export", str(ws_dir), "--entity", "planets", "--out", str(out)]) == 2
    assert main(["export", str(ws_dir), "--format", "xlsx", "--out", str(out)]) == 2


def test_a_big_export_written_in_bulk_holds_the_same_cells_as_a_small_one(ws_dir, tmp_path, monkeypatch):

    def cells(path):
        return [[c.value for c in r] for r in openpyxl.load_workbook(path)["客户"].iter_rows()]

    cols = ["customer_id", "name", "联系电话", "industry", "marketing_consent", "需求标签", "created_at"]
    monkeypatch.setattr(bulk, "FAST_MIN_CELLS", 10**9)
    export(ws_dir, "customers", tmp_path / "cell_by_cell.xlsx", columns=cols)
    monkeypatch.setattr(bulk, "FAST_MIN_CELLS", 1)
    export(ws_dir, "customers", tmp_path / "bulk.xlsx", columns=cols)
    assert cells(tmp_path / "bulk.xlsx") == cells(tmp_path / "cell_by_cell.xlsx")
    assert len(cells(tmp_path / "bulk.xlsx")) == 1 + len(CUSTOMERS)
