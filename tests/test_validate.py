"""Validation: phones, e-mails, dates, enumerations, required values, IDs, references, completeness."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crmkit import normalize as nz
from crmkit import phones
from crmkit.cli import main
from crmkit.derived import completeness_scores
from crmkit.validate import validate_frame, validate_path, validate_workspace


@pytest.mark.parametrize("typed, expected", [
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("138-0013-8000", "+8613800138000"),
    ("１３８００１３８０００", "+8613800138000"),
    ("+86 138 0013 8000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("8613800138000", "+8613800138000"),
    ("010-12345678", "+861012345678"),
    ("(021) 6123 4567", "+862161234567"),
    ("+1 650 253 0000", "+16502530000"),
])
def test_phone_numbers_are_normalised_to_e164(typed, expected):
    out, bad = phones.to_phone(pd.Series([typed]), "CN")
    assert not bad.iloc[0]
    assert out.iloc[0] == expected


@pytest.mark.parametrize("typed", ["12345", "call me", "138001380001234", "+86 999"])
def test_bad_phone_numbers_are_flagged_and_kept_as_typed(typed):
    out, bad = phones.to_phone(pd.Series([typed]), "CN")
    assert bad.iloc[0]
    assert out.iloc[0] == nz.nfkc(pd.Series([typed])).iloc[0]


def test_phone_default_region_comes_from_the_setting():
    out, bad = phones.to_phone(pd.Series(["(650) 253-0000"]), "US")
    assert out.iloc[0] == "+16502530000" and not bad.iloc[0]


@pytest.mark.parametrize("typed, expected, is_bad", [
    ("Ann@Example.COM", "Ann@example.com", False),
    ("ann＠example.com", "ann@example.com", False),
    ("mailto:bob@x.cn", "bob@x.cn", False),
    ("张三@例子.中国", "张三@例子.中国", False),
    ("bad@", "bad@", True),
    ("a..b@x.com", "a..b@x.com", True),
    ("x@@y.com", "x@@y.com", True),
    ("no at sign", "no at sign", True),
])
def test_email_syntax_is_checked_offline(typed, expected, is_bad):
    out, bad = nz.to_email(pd.Series([typed]))
    assert bool(bad.iloc[0]) is is_bad
    assert out.iloc[0] == expected


def _customers(**cols):
    n = len(next(iter(cols.values())))
    base = {"customer_id": [f"C{i}" for i in range(1, n + 1)], "name": [f"n{i}" for i in range(n)],
            "source": ["referral"] * n, "created_at": ["2024-05-01"] * n}
    base.update(cols)
    df = pd.DataFrame(base, dtype="string")
    df.index = pd.RangeIndex(2, 2 + n)
    return df


def test_validate_frame_reports_row_column_value_and_reason():
    df = _customers(phone=["13800138000", "12345"], email=["a@b.cn", "bad@"])
    out, issues = validate_frame(df, "customers")
    assert out.loc[2, "phone"] == "+8613800138000"
    got = issues[["row", "field", "value", "severity"]].to_dict("records")
    assert {"row": 3, "field": "phone", "value": "12345", "severity": "error"} in got
    assert {"row": 3, "field": "email", "value": "bad@", "severity": "error"} in got
    assert set(issues["column"]) == {"Phone", "E-mail"}


def test_enumerations_accept_either_language_and_synonyms():
    df = _customers(source=["官网表单", "website", "展会"], intent_level=["A级", "b", "高意向"])
    out, issues = validate_frame(df, "customers")
    assert issues.empty
    assert out["source"].tolist() == ["website_form", "website_form", "trade_show"]
    assert out["intent_level"].tolist() == ["A", "B", "A"]


def test_unknown_optional_enumeration_is_a_warning_and_kept_as_typed():
    df = _customers(industry=["汽车"])
    out, issues = validate_frame(df, "customers")
    assert issues["severity"].tolist() == ["warning"]
    assert out.loc[2, "industry"] == "汽车"


def test_unknown_required_enumeration_is_an_error():
    df = _customers(source=["carrier pigeon"])
    _, issues = validate_frame(df, "customers")
    assert issues[["field", "severity"]].values.tolist() == [["source", "error"]]


@pytest.mark.parametrize("typed", ["2024-05-01", "2024/5/1", "2024年5月1日", "45413", "20240501", "2024.5.1"])
def test_dates_in_many_forms_become_real_dates(typed):
    out, issues = validate_frame(_customers(created_at=[typed]), "customers")
    assert issues.empty
    assert out.loc[2, "created_at"] == pd.Timestamp("2024-05-01")


def test_day_first_dates_follow_the_setting():
    df = _customers(created_at=["02/05/2024"])
    out, _ = validate_frame(df, "customers", settings={"date_dayfirst": True})
    assert out.loc[2, "created_at"] == pd.Timestamp("2024-05-02")
    out, _ = validate_frame(df, "customers", settings={"date_dayfirst": False})
    assert out.loc[2, "created_at"] == pd.Timestamp("2024-02-05")


def test_required_values_duplicate_ids_and_dangling_references_are_errors():
    orders = pd.DataFrame({"order_id": ["O1", "O1", "O3"], "customer_id": ["C1", "C1", "C9"],
                           "order_date": ["2024-05-01"] * 3, "amount": ["10", "", "5"]}, dtype="string")
    orders.index = pd.RangeIndex(2, 5)
    customers = pd.DataFrame({"customer_id": ["C1"]})
    _, issues = validate_frame(orders, "orders", existing={"customers": customers})
    got = sorted(issues[["row", "field", "reason"]].itertuples(index=False))
    assert got == [(3, "amount", "required value missing"),
                   (3, "order_id", "duplicate ID (also in row 2)"),
                   (4, "customer_id", "refers to a record that does not exist in Orders".replace("Orders",
                                                                                                 "Customers"))]


def test_reasons_are_given_in_chinese_for_a_chinese_workspace():
    _, issues = validate_frame(_customers(email=["bad@"]), "customers", lang="zh")
    assert issues["reason"].iloc[0] == "不是有效的电子邮箱地址"
    assert issues["column"].iloc[0] == "电子邮箱"


def test_completeness_per_record_and_per_field():
    df = pd.DataFrame({"name": ["a", "b"], "phone": ["1", None]})
    per_record, per_field = completeness_scores(df, fields=["name", "phone"])
    assert per_record.tolist() == [1.0, 0.5]
    assert per_field.to_dict() == {"name": 1.0, "phone": 0.5}


def test_validate_workspace_counts_errors_warnings_duplicates_and_completeness(make_workspace):
    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3"], "name": ["甲", "甲有限公司", "丙"],     # same company as C1
        "phone": ["13800138000", "+86 138 0013 8000", "12345"], "source": ["referral"] * 3,
        "created_at": pd.to_datetime(["2024-01-01"] * 3)})
    orders = pd.DataFrame({"order_id": ["O1"], "customer_id": ["C404"], "order_date": pd.to_datetime(["2024-02-01"]),
                           "amount": [5.0]})
    ws = make_workspace({"customers": customers, "orders": orders}, settings={"completeness_target": "0.5"})
    rep = validate_workspace(ws)
    assert rep.errors == 2            # the bad phone and the unknown customer of O1
    assert rep.warnings == 1          # C2 duplicates C1 by phone
    assert rep.duplicates == 1
    assert rep.completeness["target"] == 0.5
    assert rep.sheets["orders"]["errors"] == 1
    rec = rep.issues[rep.issues["field"] == "phone"].iloc[0]
    assert (rec["sheet"], rec["row"], rec["value"]) == ("Customers", 4, "12345")


def test_validate_cli_json_and_exit_code(make_workspace, capsys, tmp_path):
    ws = make_workspace({"customers": pd.DataFrame({"customer_id": ["C1"], "name": ["甲"], "email": ["bad@"],
                                                    "source": ["referral"],
                                                    "created_at": pd.to_datetime(["2024-01-01"])})})
    report = tmp_path / "v.xlsx"
    code = main(["validate", str(ws), "--json", "--report", str(report)])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1
    assert payload["errors"] == 1 and "completeness" in payload and "customers" in payload["sheets"]
    assert report.exists()


def test_validate_a_single_messy_source_file(tmp_path):
    src = tmp_path / "leads.csv"
    src.write_text("客户名称,手机,客户来源,建档日期\n甲,13800138000,官网,2024-05-01\n乙,123,展会,2024-05-01\n",
                   encoding="utf-8")
    rep = validate_path(src)
    assert rep.errors == 1
    assert rep.issues.iloc[0]["column"] == "手机"
    assert rep.issues.iloc[0]["row"] == 3


def test_validate_clean_workspace_exits_zero(make_workspace, capsys):
    ws = make_workspace({})
    assert main(["validate", str(ws)]) == 0


def test_validate_missing_path_is_usage_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.xlsx")]) == 2
    assert "not found" in capsys.readouterr().err


def test_validate_one_workbook_of_a_workspace(make_workspace):
    customers = pd.DataFrame({"customer_id": ["C1", "C1"], "name": ["甲", "乙"], "source": ["referral", "展会"],
                              "created_at": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    ws = make_workspace({"customers": customers}, lang="zh")
    rep = validate_path(ws / "customers.xlsx")
    assert rep.errors == 1
    rec = rep.issues.iloc[0]
    assert (rec["sheet"], rec["row"], rec["column"], rec["reason"]) == ("客户", 3, "客户编号", "编号重复（与第 2 行相同）")


@pytest.mark.parametrize("content, fragment", [
    (b"", "empty"),
    (b"not a zip at all", "corrupt"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "password"),
])
def test_validate_unreadable_workbooks_exit_two(tmp_path, capsys, content, fragment):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(content)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "broken.xlsx" in err and fragment in err and "Traceback" not in err


def test_a_rule_expression_that_does_not_parse_is_an_error(make_workspace):
    from crmkit.rules.defaults import default_rules

    rules = default_rules("en")
    rules.loc[rules.index[0], "when"] = 'source == "website_form" and ('
    ws = make_workspace({"rules": rules})
    rep = validate_workspace(ws)
    bad = rep.issues[rep.issues["field"] == "when"]
    assert len(bad) == 1 and bad.iloc[0]["severity"] == "error"
    assert bad.iloc[0]["sheet"] == "Rules" and bad.iloc[0]["row"] == 2
    assert rep.sheets["rules"]["errors"] == 1 and rep.errors == 1


def test_the_report_lists_customers_below_the_completeness_target(make_workspace, tmp_path, capsys):
    import openpyxl

    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["甲", "乙"], "source": ["referral"] * 2,
                              "created_at": pd.to_datetime(["2024-01-01"] * 2),
                              "contact_name": ["张", None], "phone": ["13800138000", None]})
    ws = make_workspace({"customers": customers}, settings={"completeness_target": "0.25"})
    report = tmp_path / "v.xlsx"
    assert main(["validate", str(ws), "--report", str(report)]) == 0
    rows = list(openpyxl.load_workbook(report)["Incomplete records"].iter_rows(values_only=True))
    assert rows[0] == ("Row", "Record ID", "Name", "Completeness", "Blank fields")
    assert [r[:3] for r in rows[1:]] == [(3, "C2", "乙")]
    assert rows[1][3] == pytest.approx(3 / 14, abs=1e-4)
    assert rows[1][4].startswith("Contact; Job title; Phone")


def _messy_workspace(make_workspace):
    """Problems on several sheets of several workbooks, a broken rule, a duplicate and incomplete customers."""
    from crmkit.rules.defaults import default_rules

    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C3"], "name": ["甲", "甲有限公司", "丙", "丁"],   # C2 duplicates C1
        "phone": ["13800138000", "+86 138 0013 8000", "12345", None], "source": ["referral", "展会", "??", None],
        "created_at": pd.to_datetime(["2024-01-01"] * 4)})
    orders = pd.DataFrame({"order_id": ["O1", "O2"], "customer_id": ["C404", "C1"],
                           "order_date": pd.to_datetime(["2024-02-01", "2024-02-02"]), "amount": [5.0, 7.0]})
    tasks = pd.DataFrame({"task_id": ["T1"], "customer_id": ["C9"], "title": ["call"], "owner": ["Nobody"],
                          "due_at": pd.to_datetime(["2024-03-01"]), "status": ["open"]})
    rules = default_rules("en")
    rules.loc[rules.index[1], "when"] = "days_since_interaction >"
    return make_workspace({"customers": customers, "orders": orders, "tasks": tasks, "rules": rules},
                          settings={"completeness_target": "0.95"})


def test_checking_each_table_as_it_is_read_gives_the_report_of_the_loaded_workspace(make_workspace):
    from crmkit.workspace import open_workspace

    folder = _messy_workspace(make_workspace)
    streamed = validate_workspace(open_workspace(folder))     # tables checked while the next are read
    loaded = open_workspace(folder)
    loaded.load_all()
    whole = validate_workspace(loaded)
    pd.testing.assert_frame_equal(streamed.issues, whole.issues)
    assert streamed.sheets == whole.sheets
    assert list(streamed.sheets) == ["customers", "interactions", "orders", "deals", "products", "tasks", "tickets",
                                     "campaigns", "messages", "rules", "routing", "team"]
    assert streamed.completeness == whole.completeness and streamed.duplicates == whole.duplicates == 1
    pd.testing.assert_frame_equal(streamed.incomplete, whole.incomplete)
    found = {(r.sheet, r.field) for r in streamed.issues.itertuples()}
    assert {("Customers", "phone"), ("Customers", "customer_id"), ("Orders", "customer_id"),
            ("Tasks", "customer_id"), ("Tasks", "owner"), ("Rules", "when")} <= found
    assert streamed.sheets["rules"]["errors"] == 1


def test_a_frame_replaced_in_memory_is_converted_again_before_it_is_checked(make_workspace):
    """Values put in by code are not in normal form: ' C1 ' and 'C1' are the same ID once trimmed."""
    from crmkit.workspace import open_workspace

    folder = make_workspace({"customers": pd.DataFrame({
        "customer_id": ["C1", "C2"], "name": ["甲", "乙"], "source": ["referral"] * 2,
        "created_at": pd.to_datetime(["2024-01-01"] * 2)})})
    ws = open_workspace(folder)
    customers = ws["customers"].copy()
    customers["customer_id"] = pd.array([" C1 ", "C1"], dtype="string")
    customers["source"] = pd.array(["转介绍", "referral"], dtype="string")   # a Chinese label, not yet a code
    ws.replace("customers", customers)
    rep = validate_workspace(ws)
    ids = rep.issues[rep.issues["field"] == "customer_id"]
    assert len(ids[ids["severity"] == "error"]) == 1 and ids.iloc[0]["row"] == 3
    assert rep.issues[rep.issues["field"] == "source"].empty


def test_a_workspace_missing_a_workbook_validates_and_runs(make_workspace, capsys):
    folder = make_workspace({"customers": pd.DataFrame({
        "customer_id": ["C1"], "name": ["甲"], "source": ["referral"], "created_at": pd.to_datetime(["2024-01-01"])})})
    (folder / "tasks.xlsx").unlink()
    (folder / "campaigns.xlsx").unlink()
    assert main(["validate", str(folder)]) == 0
    assert main(["run", str(folder), "--dry-run"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_a_rules_workbook_validated_on_its_own_has_its_expressions_checked(make_workspace):
    from crmkit.rules.defaults import default_rules

    rules = default_rules("en")
    rules.loc[rules.index[0], "when"] = 'source == "website_form" and ('
    folder = make_workspace({"rules": rules})
    rep = validate_path(folder / "rules.xlsx")
    bad = rep.issues[rep.issues["field"] == "when"]
    assert len(bad) == 1 and bad.iloc[0]["row"] == 2 and rep.sheets["rules"]["errors"] == 1


def test_a_tags_cell_of_separators_only_is_flagged_not_blanked_in_silence(make_workspace):
    from crmkit.io.typing import convert_column
    from crmkit.schema import ENTITIES

    out, bad = convert_column(pd.Series([";", " ；、 ", "vip; 老客户", None], dtype=object), ENTITIES["customers"].field("tags"))
    assert bad.tolist() == [True, True, False, False]
    assert out.tolist()[2] == "vip;老客户"
    ws = make_workspace({"customers": pd.DataFrame({
        "customer_id": ["C1", "C2"], "name": ["甲", "乙"], "source": ["referral"] * 2, "tags": [";", "vip"],
        "created_at": pd.to_datetime(["2024-01-01"] * 2)})}, lang="zh")
    rep = validate_workspace(ws)
    rec = rep.issues[rep.issues["field"] == "tags"]
    assert len(rec) == 1 and rec.iloc[0]["row"] == 2 and rec.iloc[0]["severity"] == "warning"
    assert rec.iloc[0]["reason"] == "只有分隔符，没有填写选项"
