"""Merging keeps good values: the surviving record's own values stay, blanks are filled, notes appended."""

from __future__ import annotations

import json

import pandas as pd

from crmkit.cli import main
from crmkit.dedupe import find_duplicates
from crmkit.importer import import_file
from crmkit.merge import dedupe_workspace, merge_plan
from crmkit.workspace import open_workspace


def _pair() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C00001", "C00007"], "name": ["上海华星科技有限公司", "华星科技"],
        "contact_name": ["周明", "周明"], "phone": ["+8613912340001", "139 1234 0001"],
        "email": [None, "zhou@huaxing.cn"], "source": ["website_form", "trade_show"],
        "owner": ["王经理", None], "notes": ["老客户，年采购约 50 万", "展会重复登记"],
        "created_at": pd.to_datetime(["2023-03-01", "2024-06-01"])})


def _hist(folder) -> list[tuple]:
    h = open_workspace(folder)["history"]
    return [tuple(None if pd.isna(v) else v for v in r)
            for r in h[["record_id", "field", "old", "new"]].itertuples(index=False, name=None)]


def test_dedupe_keeps_the_survivors_name_and_notes_and_fills_its_blanks(make_workspace):
    folder = make_workspace({"customers": _pair()}, lang="zh")
    res = dedupe_workspace(folder, apply=True)
    assert res.id_map == {"C00007": "C00001"}
    c = open_workspace(folder)["customers"].set_index("customer_id").loc["C00001"]
    assert c["name"] == "上海华星科技有限公司"
    assert c["notes"] == "老客户，年采购约 50 万\n展会重复登记"
    assert (c["email"], c["source"], c["owner"]) == ("zhou@huaxing.cn", "website_form", "王经理")
    hist = _hist(folder)
    assert ("C00001", "email", None, "zhou@huaxing.cn") in hist                      # filled
    assert ("C00001", "notes", "老客户，年采购约 50 万", "老客户，年采购约 50 万\n展会重复登记") in hist
    assert ("C00007", "name", "华星科技", "上海华星科技有限公司") in hist               # not taken, kept here
    assert ("C00007", "source", "trade_show", "website_form") in hist
    assert ("C00007", "merged_into", "C00007", "C00001") in hist


def test_the_preview_shows_which_value_wins_per_field_without_changing_anything(make_workspace, capsys):
    folder = make_workspace({"customers": _pair()}, lang="zh")
    before = (folder / "customers.xlsx").read_bytes()
    assert main(["dedupe", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "C00001  上海华星科技有限公司" in out and "<- 保留" in out
    assert "客户名称: '上海华星科技有限公司' (保留记录的原值); 未采用: '华星科技' (C00007)" in out
    assert "电子邮箱: 'zh***@huaxing.cn' (空值取自 C00007)" in out
    assert "客户来源: '官网表单' (保留记录的原值); 未采用: '展会' (C00007)" in out
    assert main(["dedupe", str(folder), "--json"]) == 0
    detail = json.loads(capsys.readouterr().out)["groups_detail"][0]
    notes = next(f for f in detail["fields"] if f["field"] == "notes")
    assert notes["rule"] == "appended" and notes["value"] == "老客户，年采购约 50 万\n展会重复登记"
    assert (folder / "customers.xlsx").read_bytes() == before
    # the same plan from Python
    customers = open_workspace(folder)["customers"]
    plan = merge_plan(customers, find_duplicates(customers))
    source = plan.decisions[plan.decisions["field"] == "source"]
    assert source[["customer_id", "value", "rule"]].values.tolist() == [["C00001", "website_form", "kept"]]
    assert "owner" not in set(plan.decisions["field"])           # one value only: nothing to decide
    assert plan.survivors["customer_id"].tolist() == ["C00001"]


HEAD = "客户名称,联系人,手机,电子邮箱,客户来源,负责人,备注\n"


def _existing(make_workspace):
    return make_workspace({"customers": _pair().iloc[:1]}, lang="zh")


def test_an_import_fills_blanks_and_keeps_the_original_source_by_default(make_workspace, tmp_path):
    folder = _existing(make_workspace)
    src = tmp_path / "leads.csv"
    src.write_text(HEAD + "上海华星科技有限公司,周明,13912340001,zhou@huaxing.cn,展会,李四,展会上又聊了一次\n",
                   encoding="utf-8")
    res = import_file(src, folder)
    assert (res.updated, res.update) == (1, "fill-blanks")
    c = open_workspace(folder)["customers"].iloc[0]
    assert (c["source"], c["owner"], c["email"]) == ("website_form", "王经理", "zhou@huaxing.cn")
    assert c["notes"] == "老客户，年采购约 50 万\n展会上又聊了一次"
    kept = res.issues[res.issues["severity"] == "info"]
    assert sorted(kept["column"].tolist()) == ["", "客户来源", "负责人"]      # the match itself, and two values kept
    assert any("保留已有值 '官网表单'" in r for r in kept["reason"])
    # re-importing the same file changes nothing
    again = import_file(src, folder)
    assert (again.updated, again.unchanged, again.history_rows) == (1, 1, 0)


def test_import_update_overwrite_replaces_values_and_history_keeps_the_old_ones(make_workspace, tmp_path, capsys):
    folder = _existing(make_workspace)
    src = tmp_path / "leads.csv"
    src.write_text(HEAD + "上海华星科技有限公司,周明,13912340001,,展会,李四,\n", encoding="utf-8")
    assert main(["import", str(src), "--into", str(folder), "--update", "overwrite", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["update"] == "overwrite"
    c = open_workspace(folder)["customers"].iloc[0]
    assert (c["source"], c["owner"]) == ("trade_show", "李四")
    assert c["notes"] == "老客户，年采购约 50 万"               # a blank never erases
    hist = _hist(folder)
    assert ("C00001", "source", "website_form", "trade_show") in hist
    assert ("C00001", "owner", "王经理", "李四") in hist


def test_an_unknown_update_mode_is_usage_error(make_workspace, tmp_path, capsys):
    folder = _existing(make_workspace)
    src = tmp_path / "x.csv"
    src.write_text(HEAD, encoding="utf-8")
    assert main(["import", str(src), "--into", str(folder), "--update", "replace"]) == 2
    assert "--update" in capsys.readouterr().err


def test_rows_of_one_file_keep_the_first_rows_values_and_fill_its_blanks(make_workspace, tmp_path):
    folder = make_workspace({}, lang="zh")
    src = tmp_path / "two.csv"
    src.write_text(HEAD + "甲公司,张三,13912340005,,展会,王五,第一次\n甲公司,张三,13912340005,z@jia.cn,官网表单,赵六,第二次\n",
                   encoding="utf-8")
    res = import_file(src, folder)
    assert (res.imported, res.merged) == (1, 1)
    c = open_workspace(folder)["customers"].iloc[0]
    assert (c["owner"], c["source"], c["email"]) == ("王五", "trade_show", "z@jia.cn")
    assert c["notes"] == "第一次\n第二次"
    over = import_file(src, make_workspace({}, lang="zh", name="ow"), update="overwrite")
    assert over.merged == 1
