"""Import behaviour a user relies on: dry runs, re-imports, History, the report, IDs, locks."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.ids import next_ids
from crmkit.importer import import_file
from crmkit.workspace import open_workspace

HEADER = "客户编号,客户名称,联系人,手机,电子邮箱,客户来源,建档日期,标签,微信号\n"


def _existing():
    return {"customers": pd.DataFrame({
        "customer_id": ["C00007"], "name": ["老客户"], "contact_name": ["钱七"], "phone": ["+8613800138000"],
        "email": ["qian@old.cn"], "source": ["referral"], "created_at": pd.to_datetime(["2023-01-01"]),
        "tags": ["vip"]})}


def _csv(path, body: str):
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_dry_run_writes_nothing_but_reports_the_same_counts(make_workspace, tmp_path):
    ws = make_workspace(_existing())
    src = _csv(tmp_path / "s.csv", ",新客户,周一,13900139000,,展会,2024-05-01,,\n,老客户,,138 0013 8000,,,,renewal,\n")
    before = {p.name: p.stat().st_mtime_ns for p in ws.glob("*.xlsx")}
    res = import_file(src, ws, dry_run=True)
    assert (res.imported, res.updated, res.merged, res.rejected) == (1, 1, 0, 0)
    assert {p.name: p.stat().st_mtime_ns for p in ws.glob("*.xlsx")} == before
    assert len(open_workspace(ws)["customers"]) == 1


def test_updates_are_written_to_history_with_old_and_new_values(make_workspace, tmp_path):
    ws = make_workspace(_existing())
    src = _csv(tmp_path / "upd.csv", ",老客户,,13800138000,qian@new.cn,,,renewal,wx_qian\n")
    res = import_file(src, ws, at=pd.Timestamp("2026-11-20 10:00"), update="overwrite")
    assert res.updated == 1 and res.history_rows == 4
    hist = open_workspace(ws)["history"]
    got = sorted(tuple(None if pd.isna(v) else v for v in r)
                 for r in hist[["record_id", "field", "old", "new", "by"]].itertuples(index=False, name=None))
    assert got == [("C00007", "email", "qian@old.cn", "qian@new.cn", "import:upd.csv"),
                   ("C00007", "merged_from", "upd.csv row 2", "C00007", "import:upd.csv"),   # matched by phone
                   ("C00007", "tags", "vip", "vip;renewal", "import:upd.csv"),
                   ("C00007", "微信号", None, "wx_qian", "import:upd.csv")]
    assert (hist["at"] == pd.Timestamp("2026-11-20 10:00")).all()
    cust = open_workspace(ws)["customers"].iloc[0]
    assert cust["created_at"] == pd.Timestamp("2023-01-01")   # created_at keeps the existing value
    assert cust["customer_id"] == "C00007"


def test_importing_the_same_file_twice_changes_nothing_the_second_time(make_workspace, tmp_path):
    ws = make_workspace({})
    src = _csv(tmp_path / "same.csv", ",甲公司,周一,13900139001,a@jia.cn,展会,2024-05-01,x,\n"
                                      ",乙公司,吴二,13900139002,b@yi.cn,官网,2024-05-02,,\n")
    first = import_file(src, ws)
    assert first.imported == 2
    mtime = (ws / "customers.xlsx").stat().st_mtime_ns
    second = import_file(src, ws)
    assert (second.imported, second.updated, second.unchanged, second.history_rows) == (0, 2, 2, 0)
    assert (ws / "customers.xlsx").stat().st_mtime_ns == mtime
    assert len(open_workspace(ws)["customers"]) == 2


def test_new_ids_follow_the_existing_pattern_and_source_ids_are_kept(make_workspace, tmp_path):
    ws = make_workspace(_existing())
    src = _csv(tmp_path / "ids.csv", ",甲,,13900139001,,展会,2024-05-01,,\nX-1,乙,,13900139002,,展会,2024-05-01,,\n"
                                     ",丙,,13900139003,,展会,2024-05-01,,\n")
    res = import_file(src, ws)
    assert res.outcome["record_id"].tolist() == ["C00008", "X-1", "C00009"]
    assert next_ids("customers", pd.Series(["C00007", "C00012", None]), 2) == ["C00013", "C00014"]
    assert next_ids("orders", pd.Series([], dtype="string"), 1) == ["O000001"]      # the schema shape of orders


def test_report_lists_bad_rows_with_red_cells(make_workspace, tmp_path):
    ws = make_workspace({})
    src = _csv(tmp_path / "bad.csv", ",好公司,,13900139001,ok@ok.cn,展会,2024-05-01,,\n"
                                     ",坏公司,,12345,bad@,展会,2024-05-01,,\n")
    report = tmp_path / "r.xlsx"
    res = import_file(src, ws, report=report)
    # issue 14: a bad phone or e-mail no longer loses the row; it is kept as typed and flagged
    assert res.rejected == 0 and res.imported == 2 and res.warnings == 2 and res.exit_code == 0
    wb = openpyxl.load_workbook(report)
    issues = list(wb["Issues"].iter_rows(values_only=True))
    assert issues[0][:6] == ("File", "Sheet", "Row", "Column", "Value", "Severity")
    assert {(r[2], r[3], r[4]) for r in issues[1:]} == {(3, "手机", "12345"), (3, "电子邮箱", "bad@")}
    rows = wb["Rows with issues"]
    header = [c.value for c in rows[1]]
    assert rows.cell(row=2, column=header.index("手机") + 1).fill.fgColor.rgb.endswith("FFEB9C")   # a warning
    assert rows.cell(row=2, column=header.index("客户名称") + 1).fill.fgColor.rgb in (None, "00000000")
    assert rows.cell(row=2, column=header.index("Row") + 1).value == 3
    assert rows.cell(row=2, column=header.index("Outcome") + 1).value == "imported"


def test_unmatched_columns_survive_a_later_save(make_workspace, tmp_path):
    ws = make_workspace({})
    import_file(_csv(tmp_path / "x.csv", ",甲,,13900139001,,展会,2024-05-01,,wx_jia\n"), ws)
    w = open_workspace(ws)
    w.replace("customers", w["customers"])   # any later rewrite by another command
    w.save()
    assert open_workspace(ws)["customers"]["微信号"].tolist() == ["wx_jia"]


def test_import_refuses_while_the_workbook_is_open_in_excel(make_workspace, tmp_path, capsys):
    ws = make_workspace({})
    (ws / "~$customers.xlsx").write_bytes(b"lock")
    src = _csv(tmp_path / "s.csv", ",甲,,13900139001,,展会,2024-05-01,,\n")
    assert main(["import", str(src), "--into", str(ws)]) == 2
    assert "open in Excel" in capsys.readouterr().err
    assert len(open_workspace(ws)["customers"]) == 0


def test_import_into_a_folder_that_is_not_a_workspace_is_usage_error(tmp_path, capsys):
    src = _csv(tmp_path / "s.csv", ",甲,,13900139001,,展会,2024-05-01,,\n")
    assert main(["import", str(src), "--into", str(tmp_path / "nowhere")]) == 2
    assert "workspace" in capsys.readouterr().err


def test_text_output_adds_up_and_names_the_file(make_workspace, tmp_path, capsys):
    ws = make_workspace({})
    src = _csv(tmp_path / "t.csv", ",甲,,13900139001,,展会,2024-05-01,,\n,甲,,139-0013-9001,,,,,\n,乙,,1,,展会,,,\n")
    assert main(["import", str(src), "--into", str(ws)]) == 0   # issue 14: a bad phone keeps the row
    out = capsys.readouterr().out
    assert out.startswith("t.csv, header row 1: 3 source rows = 2 imported + 0 updated (0 unchanged) + "
                          "1 merged as duplicate + 0 rejected")
    assert "t.csv, row 4, column '手机': warning: not a valid phone number" in out


@pytest.mark.parametrize("n", [1000])
def test_a_thousand_rows_with_duplicates_import_in_one_pass(make_workspace, tmp_path, n):
    ws = make_workspace({})
    lines = [f",公司{i % (n // 2)},联系人{i % (n // 2)},139{(i % (n // 2)):08d},,展会,2024-05-01,t{i % 3},\n"
             for i in range(n)]
    res = import_file(_csv(tmp_path / "big.csv", "".join(lines)), ws)
    assert (res.source_rows, res.imported, res.merged) == (n, n // 2, n // 2)
    cust = open_workspace(ws)["customers"]
    assert cust["customer_id"].is_unique and len(cust) == n // 2
    assert json.loads(json.dumps(res.summary(), default=str))["source_rows"] == n


def test_random_cells_never_crash_and_every_row_is_accounted_for(make_workspace, tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    ws = make_workspace({})
    cell = st.one_of(st.just(""), st.sampled_from(["13800138000", "+86 139 0013 9000", "a@b.cn", "bad@", "=1+1",
                                                   "官网表单", "A级", "2024/5/1", "45413", "１２３", "合计"]),
                     st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                             max_size=8))
    row = st.lists(cell, min_size=9, max_size=9)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(row, min_size=0, max_size=6))
    def check(rows):
        src = tmp_path / "fuzz.csv"
        import csv

        with open(src, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADER.strip().split(","))
            w.writerows(rows)
        res = import_file(src, ws, dry_run=True)
        s = res.summary()
        assert s["source_rows"] == s["imported"] + s["updated"] + s["merged"] + s["rejected"]
        assert s["source_rows"] + s["blank_rows"] >= len([r for r in rows if any(c.strip() for c in r)])

    check()


def test_custom_fields_declared_in_the_fields_sheet_are_matched_and_typed(make_workspace, tmp_path):
    from crmkit.fields import fields_frame

    ws = make_workspace({"fields": fields_frame("en", sample=True).assign(enabled=True)})
    src = tmp_path / "custom.csv"
    src.write_text("客户名称,客户来源,建档日期,预计成交金额,需求标签\n甲,展会,2024-05-01,\"1,200\",产品采购\n",
                   encoding="utf-8")
    res = import_file(src, ws)
    assert res.unmatched_columns == [] and res.imported == 1
    row = open_workspace(ws)["customers"].iloc[0]
    assert row["expected_amount"] == 1200.0


def test_a_named_sheet_that_does_not_exist_is_usage_error(make_workspace, tmp_path, capsys):
    import xlsxwriter

    ws = make_workspace({})
    path = tmp_path / "macro.xlsm"
    wb = xlsxwriter.Workbook(str(path))
    sheet = wb.add_worksheet("Leads")
    sheet.write_row(0, 0, ["客户名称", "客户来源", "建档日期"])
    sheet.write_row(1, 0, ["甲", "展会", "2024-05-01"])
    wb.close()
    assert main(["import", str(path), "--into", str(ws), "--sheet", "Nope"]) == 2
    assert "no sheet 'Nope'" in capsys.readouterr().err
    assert main(["import", str(path), "--into", str(ws), "--sheet", "Leads", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == 1


def test_orders_without_ids_are_each_a_purchase_even_when_identical(make_workspace, tmp_path):
    # issue 14: identical orders without an ID are real purchases (CDNOW has 255); only a repeated ID folds
    ws = make_workspace({"customers": _existing()["customers"]})
    src = tmp_path / "orders.csv"
    src.write_text("客户编号,下单日期,订单金额,产品\nC00007,2024-05-01,100,A\nC00007,2024-05-02,50,B\n"
                   "C00007,2024-05-02,50,B\n", encoding="utf-8")
    first = import_file(src, ws, entity="orders")
    assert (first.imported, first.merged, first.identical_without_id) == (3, 0, 1)
    assert "rows without an ID that repeat another row's values (kept as separate records): 1" in first.text()
    orders = open_workspace(ws)["orders"]
    assert orders["order_id"].tolist() == ["O000001", "O000002", "O000003"]
    assert orders["amount"].tolist() == [100.0, 50.0, 50.0]


def test_row_numbers_are_the_excel_rows_below_title_rows_and_merged_cells(make_workspace, tmp_path):
    from messy import ZH_HEADER, xlsx

    ws = make_workspace({})
    src = xlsx(tmp_path / "t.xlsx", [ZH_HEADER, ["甲", "", "13800138000", "", "展会", "2024-05-01"], [],
                                     ["乙", "", "12345", "", "展会", "2024-05-01"]],
               title="客户名单", merge_title=5, blank_before=2)
    res = import_file(src, ws, dry_run=True)
    assert res.header_row == 4
    assert res.issues[["row", "column", "value"]].values.tolist() == [[7, "联系电话", "12345"]]
    assert res.outcome["outcome"].to_dict() == {5: "imported", 7: "imported"}   # kept, flagged (issue 14)
