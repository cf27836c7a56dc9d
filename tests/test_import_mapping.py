"""Imports that take what teams have: --map, saved mappings, defaults, kept bad values (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

from crmkit.cli import main
from crmkit.importer import import_file
from crmkit.templates import write_workspace
from crmkit.workspace import open_workspace


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _ws(tmp_path: Path, lang: str = "zh", **settings) -> Path:
    return write_workspace(tmp_path / "ws", {}, lang=lang, settings=settings or None)


LEADS = ("公司名称,名字,姓氏,Mobile,email_work,来源,生日\n"
         "甲公司,三,张,13800138000,zhang@jia.cn,朋友介绍,2024-02-31\n"
         "乙公司,四,李,12345,li@@yi,展会,1990-01-02\n")


def test_entity_names_in_either_language_are_accepted_by_import_and_export(tmp_path, capsys):
    ws = _ws(tmp_path)
    src = _csv(tmp_path / "a.csv", "客户名称,客户来源\n甲,展会\n")
    assert main(["import", str(src), "--into", str(ws), "--entity", "客户", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["imported"] == 1
    assert main(["export", str(ws), "--entity", "Customers", "--format", "csv", "--json"]) == 0
    capsys.readouterr()
    assert main(["import", str(src), "--into", str(ws), "--entity", "客户们"]) == 2
    err = capsys.readouterr().err
    assert "unknown entity '客户们'" in err and "customers (客户)" in err


def test_a_bad_phone_email_date_and_unknown_source_keep_the_row_and_every_problem_is_reported(tmp_path):
    ws = _ws(tmp_path)
    src = _csv(tmp_path / "leads.csv", LEADS)
    res = import_file(src, ws, mapping=["Mobile=phone,email_work=email"])
    assert (res.imported, res.rejected, res.errors) == (2, 0, 0)
    by_row = res.issues.groupby("row")["field"].apply(set).to_dict()
    assert by_row == {2: {"source", "birthday"}, 3: {"phone", "email"}}
    assert set(res.issues["severity"]) == {"warning"}
    cust = open_workspace(ws)["customers"].set_index("name")
    assert cust.loc["甲公司", "source"] == "朋友介绍"              # kept as typed
    assert cust.loc["甲公司", "contact_name"] == "张三"            # 姓 + 名, no space
    assert "生日: 2024-02-31" in cust.loc["甲公司", "notes"]       # a date column cannot hold it: Notes does
    assert (cust.loc["乙公司", "phone"], cust.loc["乙公司", "email"]) == ("12345", "li@@yi")


def test_only_a_missing_name_rejects_a_lead(tmp_path):
    ws = _ws(tmp_path)
    src = _csv(tmp_path / "m.csv", "客户名称,联系电话,客户来源\n,13800138000,展会\n无来源,13800138001,\n")
    res = import_file(src, ws)
    assert res.outcome["outcome"].tolist() == ["rejected", "imported"]
    assert res.issues.set_index("row").loc[3, "severity"] == "warning"
    assert "--default source=" in res.issues.set_index("row").loc[3, "reason"]


def test_default_from_the_option_and_from_settings(tmp_path):
    import pandas as pd

    from crmkit.settings import settings_frame

    frame = settings_frame("zh")
    frame = pd.concat([frame, pd.DataFrame({"key": ["default_source"], "value": ["其他"],
                                            "description": ["导入时客户来源的默认值"]}, dtype="string")],
                      ignore_index=True)
    ws = write_workspace(tmp_path / "ws", {"settings": frame}, lang="zh")
    src = _csv(tmp_path / "d.csv", "客户名称,客户来源\n甲,\n乙,展会\n")
    res = import_file(src, ws)
    assert res.warnings == 0 and res.defaults_applied == {"source": "其他"}
    assert open_workspace(ws)["customers"]["source"].tolist() == ["other", "trade_show"]
    src2 = _csv(tmp_path / "d2.csv", "客户名称\n丙\n")
    res = import_file(src2, ws, defaults=["客户来源=客户推荐"])           # the option wins over Settings
    assert open_workspace(ws)["customers"]["source"].tolist()[-1] == "referral"


def test_a_saved_mapping_is_reused_by_the_next_import(tmp_path, capsys):
    ws = _ws(tmp_path)
    first = _csv(tmp_path / "one.csv", "Company,Mobile,Lead Source\nAcme,13800138000,展会\n")
    assert main(["import", str(first), "--into", str(ws), "--map", "Mobile=phone", "--save-map", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["map_saved"] is True
    saved = open_workspace(ws)["import_map"]
    assert saved[["entity", "source_column", "field"]].values.tolist() == [["customers", "Mobile", "phone"]]
    second = _csv(tmp_path / "two.csv", "Company,Mobile,Lead Source\nBolt,13900139000,展会\n")
    res = import_file(second, ws)
    assert res.column_map["Mobile"] == "phone"
    assert open_workspace(ws)["customers"]["phone"].tolist() == ["+8613800138000", "+8613900139000"]


def test_map_errors_name_the_column_and_the_field(tmp_path, capsys):
    ws = _ws(tmp_path)
    src = _csv(tmp_path / "e.csv", "Company,Mobile\nAcme,13800138000\n")
    assert main(["import", str(src), "--into", str(ws), "--map", "Handy=phone"]) == 2
    assert "no column 'Handy'" in capsys.readouterr().err
    assert main(["import", str(src), "--into", str(ws), "--map", "Mobile=phon"]) == 2
    assert "did you mean 'phone'" in capsys.readouterr().err


def test_a_note_longer_than_an_excel_cell_is_reported_with_its_place(tmp_path):
    ws = _ws(tmp_path, lang="en")
    src = _csv(tmp_path / "long.csv", "Customer name,Source,Notes\nAcme,referral," + "x" * 40003 + "\n")
    res = import_file(src, ws, dry_run=True)
    rec = res.issues.to_dict("records")
    assert [(r["row"], r["column"], r["severity"]) for r in rec] == [(2, "Notes", "warning")]
    assert "40,003 characters" in rec[0]["reason"] and "32,767" in rec[0]["reason"]
