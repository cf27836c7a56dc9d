"""Custom fields declared in the Fields sheet flow through templates, reading, writing,
validation, import, the rule language and `crmkit templates --refresh`."""

from __future__ import annotations

import json
import shutil

import openpyxl
import pandas as pd
import pytest

from crmkit.fields import custom_fields, fields_frame, parse_options
from crmkit.schema import ENTITIES
from crmkit.templates import refresh_workspace, sheet_headers
from crmkit.workspace import open_workspace


def enabled_samples(lang: str = "en") -> pd.DataFrame:
    return fields_frame(lang).assign(enabled=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Workspaces written once per module (writing workbooks is the slow part); tests copy them."""
    from crmkit.templates import write_workspace

    root = tmp_path_factory.mktemp("built")
    base = {"customers": customers(phone=["13812345678", None])}
    return {
        "plain": write_workspace(root / "plain", base),
        "custom": write_workspace(root / "custom", {**base, "fields": enabled_samples()}),
        "valued": write_workspace(root / "valued", {"fields": enabled_samples(), "customers": customers(
            expected_amount=[150000, 20000], need_tags=["technical_support", "price_sensitive"])}),
    }


@pytest.fixture
def copy_of(built, tmp_path):
    def copy(name: str):
        return shutil.copytree(built[name], tmp_path / name)
    return copy


def customers(**extra) -> pd.DataFrame:
    base = {"customer_id": ["C1", "C2"], "name": ["Acme", "Bolt"], "source": ["referral", "website_form"],
            "created_at": ["2026-01-02", "2026-02-03"]}
    base.update(extra)
    return pd.DataFrame(base)


def test_template_ships_the_two_sample_fields_disabled(copy_of):
    ws = open_workspace(copy_of("plain"))
    sheet = ws["fields"]
    assert sheet["key"].tolist() == ["expected_amount", "need_tags"]
    assert sheet["label_zh"].tolist() == ["预计成交金额", "需求标签"]
    assert sheet["enabled"].tolist() == [False, False]
    assert [f.key for f in ws.fields("customers")] == ENTITIES["customers"].keys


def test_enabled_custom_fields_join_their_entity_after_the_schema_fields(copy_of):
    ws = open_workspace(copy_of("custom"))
    fields = ws.fields("customers")
    assert [f.key for f in fields][-2:] == ["expected_amount", "need_tags"]
    amount, needs = fields[-2:]
    assert (amount.type, amount.custom, amount.zh) == ("money", True, "预计成交金额")
    assert needs.type == "multi"
    assert needs.enum.codes == ("product_purchase", "service_consulting", "technical_support", "price_sensitive")
    assert [f.key for f in ws.fields("orders")] == ENTITIES["orders"].keys


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_custom_values_round_trip_through_the_workbook_with_labels_in_the_workspace_language(make_workspace, lang):
    folder = make_workspace({"fields": enabled_samples(lang),
                             "customers": customers(expected_amount=[120000, None],
                                                    need_tags=["technical_support;product_purchase", None])},
                            lang=lang)
    headers = sheet_headers(folder / "customers.xlsx")[ENTITIES["customers"].sheet_name(lang)]
    assert headers[-2:] == (["Expected amount", "Needs"] if lang == "en" else ["预计成交金额", "需求标签"])
    df = open_workspace(folder)["customers"]
    assert df["expected_amount"].tolist()[0] == 120000.0
    assert df["need_tags"].tolist()[0] == "technical_support;product_purchase"
    # the cell holds the labels of the workbook's language
    book = openpyxl.load_workbook(folder / "customers.xlsx")
    cell = book[ENTITIES["customers"].sheet_name(lang)].cell(row=2, column=len(headers)).value
    assert cell == ("technical support;product purchase" if lang == "en" else "技术支持;产品采购")


def test_a_custom_label_wins_over_a_builtin_header_synonym(make_workspace):
    # 需求标签 is a synonym of Tags until an admin declares a field with that label
    folder = make_workspace({"fields": enabled_samples("zh"),
                             "customers": customers(tags=["vip", None], need_tags=["价格敏感", None])}, lang="zh")
    df = open_workspace(folder)["customers"]
    assert df["tags"].tolist()[0] == "vip"
    assert df["need_tags"].tolist()[0] == "price_sensitive"


def test_bad_rows_of_the_fields_sheet_are_reported_with_their_row_and_left_out():
    frame = pd.DataFrame({
        "entity": ["customers", "customers", "customers", "customers", "rules", "customers"],
        "key": ["budget", "phone", "Bad Key", "level", "x", "budget"],
        "label_en": ["Budget", "Phone again", "Bad", "Level", "X", "Budget again"],
        "label_zh": ["预算", None, None, None, None, None],
        "type": ["money", "text", "text", "enum", "text", "number"],
        "options": [None, None, None, None, None, None],
        "required": [True, False, False, False, False, False],
        "enabled": [True, True, True, True, True, True],
    }, index=pd.RangeIndex(2, 8))
    found, problems = custom_fields(frame, file="rules.xlsx", sheet="Fields")
    assert [f.key for f in found["customers"]] == ["budget"]
    assert found["customers"][0].required is True
    assert [(p.row, p.column) for p in problems] == [(3, "key"), (4, "key"), (5, "options"), (6, "entity"),
                                                     (7, "key")]
    assert "already has a field" in problems[0].reason


def test_options_name_both_languages_with_a_bar():
    enum = parse_options("Hot lead|热门; 普通；cold", "x")
    assert enum.codes == ("hot_lead", "普通", "cold")
    assert enum.labels("zh") == ["热门", "普通", "cold"]


def test_validation_checks_custom_fields_like_builtin_ones():
    from crmkit.fields import extend_entity
    from crmkit.validate import validate_frame

    frame = enabled_samples()
    frame.loc[2, "required"] = True          # expected_amount becomes required
    custom, _ = custom_fields(frame)
    fields = extend_entity(ENTITIES["customers"], tuple(custom["customers"])).fields
    raw = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Acme", "Bolt"], "source": ["referral", "referral"],
                        "created_at": ["2026-01-02", "2026-01-02"], "expected_amount": ["12万", "lots"],
                        "need_tags": ["技术支持", None]}, index=[2, 3], dtype="string")
    out, issues = validate_frame(raw, "customers", fields=fields)
    assert out.loc[2, "expected_amount"] == 120000.0
    assert out.loc[2, "need_tags"] == "technical_support"
    bad = issues[issues["field"] == "expected_amount"]
    assert bad["row"].tolist() == [3] and bad["severity"].tolist() == ["error"]


def test_import_fills_custom_columns_from_their_labels(copy_of, tmp_path):
    from crmkit.importer import import_file

    folder = copy_of("custom")
    src = tmp_path / "leads.csv"
    pd.DataFrame({"客户名称": ["华星科技"], "客户来源": ["展会"], "建档日期": ["2026-11-01"], "预计成交金额": ["50000"],
                  "需求标签": ["服务咨询;价格敏感"]}).to_csv(src, index=False, encoding="utf-8-sig")
    import_file(src, folder, entity="customers")
    df = open_workspace(folder)["customers"].set_index("name")
    assert df.loc["华星科技", "expected_amount"] == 50000.0
    assert df.loc["华星科技", "need_tags"] == "service_consulting;price_sensitive"


@pytest.mark.parametrize("expression, expected", [
    ("expected_amount >= 100000", ["C1"]),
    ("预计成交金额 < 100000", ["C2"]),
    ('需求标签 == "技术支持"', ["C1"]),
    ('need_tags == "price sensitive"', ["C2"]),
])
def test_rule_expressions_use_custom_fields_by_key_or_label(built, expression, expected):
    from crmkit.rules.compiler import compile_expression
    from crmkit.rules.context import EvalContext, FieldSet

    ws = open_workspace(built["valued"])
    frame = ws["customers"]
    fields = FieldSet(ws.entity("customers"))
    mask = compile_expression(expression, fields=fields).evaluate(frame, EvalContext(frame, fields=fields))
    assert frame.loc[mask, "customer_id"].tolist() == expected


def test_refresh_adds_custom_columns_to_a_crmkit_workbook_and_keeps_the_data(copy_of):
    folder = copy_of("plain")
    ws = open_workspace(folder)
    ws.replace("fields", enabled_samples())
    ws.save(["rules"])
    report = refresh_workspace(folder)
    assert report == {"customers": {"created": False, "sheets": [], "columns": {
        "customers": ["expected_amount", "need_tags"]}}}
    assert sheet_headers(folder / "customers.xlsx")["Customers"][-2:] == ["Expected amount", "Needs"]
    df = open_workspace(folder)["customers"]
    assert df["name"].tolist() == ["Acme", "Bolt"]
    assert df["expected_amount"].isna().all()
    assert refresh_workspace(folder) == {}


def test_refresh_adds_columns_in_place_to_a_workbook_a_person_saved(copy_of):
    folder = copy_of("plain")
    path = folder / "customers.xlsx"
    book = openpyxl.load_workbook(path)
    book.create_sheet("My notes")["A1"] = "keep me"
    book["Customers"]["B3"] = "Bolt Ltd"              # typed by hand
    book.save(path)
    frame = enabled_samples()
    frame.loc[3, "type"] = "enum"                     # a single choice field gets a dropdown
    ws = open_workspace(folder)
    ws.replace("fields", frame)
    ws.save(["rules"])
    refresh_workspace(folder)
    book = openpyxl.load_workbook(path)
    assert book["My notes"]["A1"].value == "keep me"
    sheet = book["Customers"]
    headers = [c.value for c in sheet[1]]
    assert headers[-2:] == ["Expected amount", "Needs"]
    assert sheet.cell(row=1, column=len(headers)).fill.fgColor.rgb == sheet.cell(row=1, column=1).fill.fgColor.rgb
    table = next(iter(sheet.tables.values()))
    assert table.ref.split(":")[1].rstrip("0123456789") == openpyxl.utils.get_column_letter(len(headers))
    lists = [dv.formula1 for dv in sheet.data_validations.dataValidation if dv.type == "list"]
    assert '"product purchase,service consulting,technical support,price sensitive"' in lists
    assert open_workspace(folder)["customers"]["name"].tolist() == ["Acme", "Bolt Ltd"]


def test_refresh_adds_the_fields_and_forms_sheets_to_an_older_rules_workbook(copy_of):
    from crmkit.io.workbook import write_workbook
    from crmkit.templates import template_frames

    folder = copy_of("plain")
    frames = template_frames("en")["rules"]
    write_workbook(folder / "rules.xlsx", {k: frames[k] for k in ("rules", "routing", "team", "settings")}, "en",
                   workbook_key="rules", workspace=folder)
    report = refresh_workspace(folder)
    assert report["rules"]["sheets"] == ["fields", "forms", "import_map"]   # ImportMap: saved import mappings
    ws = open_workspace(folder)
    assert ws["forms"]["name"].tolist() == ["New customer registration", "Follow-up record"]
    assert len(ws["rules"]) == len(frames["rules"])


def test_cli_templates_refresh_prints_one_json_object_and_exits_2_on_a_missing_folder(copy_of, capsys):
    from crmkit.cli import main

    folder = copy_of("plain")
    ws = open_workspace(folder)
    ws.replace("fields", enabled_samples())
    ws.save(["rules"])
    capsys.readouterr()
    assert main(["templates", "--refresh", str(folder), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["workbooks"]["customers"]["columns"] == {"customers": ["expected_amount", "need_tags"]}
    assert main(["templates", "--refresh", str(folder / "missing")]) == 2


def test_refresh_warns_about_refused_custom_fields_with_their_row(copy_of, capsys):
    from crmkit.cli import main

    folder = copy_of("plain")
    ws = open_workspace(folder)
    ws.replace("fields", pd.DataFrame({"entity": ["customers"], "key": ["phone"], "label_en": ["Phone 2"],
                                       "type": ["text"], "enabled": [True]}))
    ws.save(["rules"])
    capsys.readouterr()
    assert main(["templates", "--refresh", str(folder)]) == 0
    err = capsys.readouterr().err
    assert "sheet 'Fields', row 2, column 'key'" in err and "already has a field named 'phone'" in err
