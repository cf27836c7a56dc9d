"""Templates: generated from the schema, styled for people, committed copies not stale."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import crmkit
from crmkit.cli import main
from crmkit.schema import ENTITIES, WORKBOOKS
from crmkit.templates import init_workspace, write_templates

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_committed_templates_are_not_stale(tmp_path):
    write_templates(tmp_path)
    for lang in ("en", "zh"):
        for wb in WORKBOOKS:
            fresh, committed = tmp_path / lang / f"{wb}.xlsx", TEMPLATES / lang / f"{wb}.xlsx"
            assert committed.exists(), f"missing {committed}; run `make templates`"
            assert _members(fresh) == _members(committed), (
                f"templates/{lang}/{wb}.xlsx is stale: run `make templates` and commit")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_template_sheets_are_tables_with_frozen_headers_dropdowns_and_readme(lang):
    wb = openpyxl.load_workbook(TEMPLATES / lang / "customers.xlsx")
    readme = "README" if lang == "en" else "说明"
    assert readme in wb.sheetnames
    for key in WORKBOOKS["customers"]:
        ent = ENTITIES[key]
        ws = wb[ent.sheet_name(lang)]
        assert ws.freeze_panes == "A2"
        assert len(ws.tables) == 1
        headers = [c.value for c in ws[1]]
        expected = [f.header(lang) + (" *" if f.required else "") for f in ent.input_fields]
        assert headers[: len(expected)] == expected
        assert ws[1][0].font.bold
        # every enumeration column carries a dropdown list, and so does every person column (the team)
        lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
        enum_cols = [f for f in ent.input_fields if (f.enum is not None and f.type != "multi") or f.type == "person"]
        assert len(lists) == len(enum_cols)
        # widths fit the header rather than Excel's default
        assert ws.column_dimensions["B"].width > 8
    ws = wb[ENTITIES["customers"].sheet_name(lang)]
    stage_col = [f.key for f in ENTITIES["customers"].input_fields].index("stage")
    dv = next(d for d in ws.data_validations.dataValidation
              if d.type == "list" and str(d.sqref).startswith(openpyxl.utils.get_column_letter(stage_col + 1)))
    assert ("商务谈判" if lang == "zh" else "negotiation") in dv.formula1
    # header hints are shown as input messages
    assert any(d.prompt for d in ws.data_validations.dataValidation)
    # the README explains every input field
    text = " ".join(str(c.value) for row in wb[readme].iter_rows() for c in row if c.value)
    for f in ENTITIES["customers"].input_fields:
        assert f.header(lang) in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_rules_template_ships_default_rules_as_disabled_examples_and_settings_but_no_team(lang):
    ws = crmkit.open_workspace(_copy_templates(lang))
    rules = ws["rules"]
    scenarios = {r[:3] for r in rules["rule_id"]}
    assert scenarios == {f"R{n:02d}" for n in range(1, 14)}     # the twelve seed scenarios and R13 (low stock)
    assert not rules["enabled"].fillna(False).astype(bool).any()     # examples: a team switches them on
    assert len(ws["team"]) == 0 and len(ws["routing"]) == 0            # no made-up team in a new workspace
    assert ws.settings["daily_message_cap"] == 2
    assert ws.lang == lang


def _copy_templates(lang: str) -> Path:
    import shutil
    import tempfile

    d = Path(tempfile.mkdtemp()) / "ws"
    shutil.copytree(TEMPLATES / lang, d)
    return d


def test_a_workspace_with_chinese_headers_reads_equal_to_the_english_one(make_workspace):
    customers = pd.DataFrame({
        "customer_id": ["C001", "C002"], "name": ["华星科技", "Acme Ltd"], "phone": ["+8613800138000", None],
        "source": ["website_form", "referral"], "intent_level": ["A", "C"], "stage": ["negotiation", "lead"],
        "created_at": pd.to_datetime(["2026-01-05", "2026-02-10"]), "marketing_consent": [True, False],
        "tags": ["vip;to_reactivate", None], "notes": ["需要技术支持：安装", None],
    })
    orders = pd.DataFrame({"order_id": ["O1"], "customer_id": ["C001"], "order_date": pd.to_datetime(["2026-03-01"]),
                           "amount": [1234.5], "channel": ["direct"]})
    en = crmkit.open_workspace(make_workspace({"customers": customers, "orders": orders}, lang="en"))
    zh = crmkit.open_workspace(make_workspace({"customers": customers, "orders": orders}, lang="zh"))
    for key in ("customers", "orders", "rules", "team"):
        a, b = en[key], zh[key]
        if key in ("rules", "team"):  # texts differ by language, structure does not
            assert list(a.columns) == list(b.columns) and len(a) == len(b)
            continue
        assert_frame_equal(a, b)
    c = zh["customers"]
    assert c.loc[2, "stage"] == "negotiation" and c.loc[2, "marketing_consent"] == True  # noqa: E712
    assert c.loc[2, "notes"] == "需要技术支持：安装"


def test_init_creates_a_workspace_in_either_language(tmp_path):
    for lang in ("en", "zh"):
        path = init_workspace(tmp_path / lang, lang)
        assert sorted(p.name for p in path.glob("*.xlsx")) == sorted(f"{w}.xlsx" for w in WORKBOOKS)
        wb = openpyxl.load_workbook(path / "rules.xlsx", read_only=True)
        assert ("规则" if lang == "zh" else "Rules") in wb.sheetnames


def test_init_refuses_to_overwrite_an_existing_workspace(tmp_path, capsys):
    target = tmp_path / "crm"
    assert main(["init", str(target)]) == 0
    before = {p.name: p.read_bytes() for p in target.glob("*.xlsx")}
    assert main(["init", str(target), "--lang", "zh"]) == 2
    err = capsys.readouterr().err
    assert "已包含工作区" in err and str(target) in err        # init --lang zh speaks Chinese (issue 14)
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in target.glob("*.xlsx")} == before
