"""Duplicate customers: found by normalised keys, merged without losing anything."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.dedupe import duplicate_groups_count, find_duplicates, normalize_name
from crmkit.merge import dedupe_workspace
from crmkit.workspace import open_workspace


def _customers():
    return pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
        "name": ["华为技术有限公司", "华为技术", "Acme Co., Ltd.", "Beta", "ACME", "Solo"],
        "contact_name": ["张三", "张三", "Bob", "Xu", "Bob", "Yan"],
        "phone": ["13800138000", "+86 138 0013 8000", None, "13900139000", None, "13700137000"],
        "email": [None, "z@hw.com", "bob@acme.com", "Z@HW.com", None, None],
        "source": ["referral"] * 6,
        "created_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-01-15", "2024-04-01",
                                      "2024-01-01"]),
        "tags": ["a", "b;c", None, "a;d", None, None],
        "notes": ["old note", None, None, "newer note", "n5", None],
    })


@pytest.mark.parametrize("a, b", [
    ("华为技术有限公司", "华为技术"),
    ("北京华星科技股份有限公司", "北京华星科技"),
    ("华星科技（北京）有限公司", "华星科技"),
    ("Acme Co., Ltd.", "ACME"),
    ("Contoso Inc.", "contoso"),
    ("Ｎｏｒｔｈｗｉｎｄ Ltd", "Northwind"),
])
def test_company_names_match_without_legal_suffixes_and_punctuation(a, b):
    out = normalize_name(pd.Series([a, b]))
    assert out.iloc[0] == out.iloc[1]


def test_duplicates_are_grouped_by_phone_email_and_company_contact_when_members_agree():
    df = _customers()
    df.index = pd.RangeIndex(2, 8)
    d = find_duplicates(df)
    # C4 (Beta, Xu) shares an e-mail with C2 but is another company: the chain stops there
    assert d[["group", "customer_id", "key"]].values.tolist() == [
        [1, "C1", "phone"], [1, "C2", "phone"],
        [2, "C3", "name+contact_name"], [2, "C5", "name+contact_name"]]
    assert d["row"].tolist() == [2, 3, 4, 6]
    assert duplicate_groups_count(df) == 2


def test_dedupe_keys_are_configurable():
    df = _customers()
    assert find_duplicates(df, keys="phone")["customer_id"].tolist() == ["C1", "C2"]
    assert find_duplicates(df, keys="email").empty                      # 华为 and Beta do not agree
    assert duplicate_groups_count(df, keys=["name+contact_name"]) == 2   # 华为 + 张三, Acme + Bob


def test_no_customers_no_duplicates():
    assert find_duplicates(pd.DataFrame({"customer_id": [], "phone": []})).empty


def test_dedupe_without_apply_changes_nothing(make_workspace, capsys):
    ws = make_workspace({"customers": _customers()})
    mtime = (ws / "customers.xlsx").stat().st_mtime_ns
    assert main(["dedupe", str(ws), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["groups"] == 2 and payload["duplicates"] == 2 and not payload["applied"]
    assert payload["groups_detail"][0]["members"][0]["match_value"] == "138****8000"   # masked
    # the preview says which value each field keeps
    fields = {f["field"]: f for f in payload["groups_detail"][0]["fields"]}
    assert payload["groups_detail"][0]["keep"] == "C1"
    assert fields["name"]["value"] == "华为技术有限公司" and fields["name"]["rule"] == "kept"
    assert fields["name"]["not_taken"] == [{"customer_id": "C2", "value": "华为技术"}]
    assert fields["email"]["rule"] == "filled" and fields["email"]["from"] == "C2"
    assert fields["email"]["value"] == "z***@hw.com"                                     # masked
    assert (ws / "customers.xlsx").stat().st_mtime_ns == mtime


def test_apply_merges_repoints_and_records_history(make_workspace):
    orders = pd.DataFrame({"order_id": ["O1", "O2", "O3"], "customer_id": ["C2", "C5", "C6"],
                           "order_date": pd.to_datetime(["2024-05-01"] * 3), "amount": [10.0, 20.0, 30.0]})
    tasks = pd.DataFrame({"task_id": ["T1"], "customer_id": ["C4"], "title": ["call"], "owner": ["Li"],
                          "due_at": pd.to_datetime(["2024-05-01"]), "status": ["open"],
                          "created_at": pd.to_datetime(["2024-05-01"])})
    customers = _customers()
    customers.loc[1, "notes"] = "dup note"
    ws_dir = make_workspace({"customers": customers, "orders": orders, "tasks": tasks})
    res = dedupe_workspace(ws_dir, apply=True)
    assert res.merged == 2 and res.id_map == {"C2": "C1", "C5": "C3"}
    assert res.repointed == {"orders": 2}
    ws = open_workspace(ws_dir)
    cust = ws["customers"].set_index("customer_id")
    assert sorted(cust.index) == ["C1", "C3", "C4", "C6"]
    c1 = cust.loc["C1"]
    assert c1["created_at"] == pd.Timestamp("2024-01-01")           # the survivor's own date
    assert c1["name"] == "华为技术有限公司"                             # the survivor's own value stays
    assert c1["email"] == "z@hw.com"                                 # its blank filled from the duplicate
    assert c1["phone"] == "+8613800138000"                           # stored normalised
    assert c1["tags"] == "a;b;c"                                     # tags unioned
    assert c1["notes"] == "old note\ndup note"                       # differing notes appended
    assert ws["orders"]["customer_id"].tolist() == ["C1", "C3", "C6"]
    assert ws["tasks"]["customer_id"].tolist() == ["C4"]
    hist = ws["history"]
    merged = hist[hist["field"] == "merged_into"]
    assert sorted(zip(merged["record_id"], merged["new"])) == [("C2", "C1"), ("C5", "C3")]
    # values that were not taken are kept in History: nothing deleted that was not moved
    lost = hist[(hist["record_id"] == "C2") & (hist["field"] == "name")]
    assert lost[["old", "new"]].values.tolist() == [["华为技术", "华为技术有限公司"]]
    filled = hist[(hist["record_id"] == "C1") & (hist["field"] == "email")]
    assert filled[["old", "new"]].values.tolist() == [[None, "z@hw.com"]] or filled["new"].tolist() == ["z@hw.com"]
    assert not ((hist["record_id"] == "C2") & (hist["field"] == "notes")).any()   # appended, not lost
    repointed = hist[(hist["entity"] == "orders")]
    assert sorted(zip(repointed["record_id"], repointed["old"], repointed["new"])) == [
        ("O1", "C2", "C1"), ("O2", "C5", "C3")]
    assert (hist["by"] == "dedupe").all()
    # a second run finds nothing more
    assert dedupe_workspace(ws_dir, apply=True).merged == 0


def test_dedupe_of_a_missing_folder_is_usage_error(tmp_path, capsys):
    assert main(["dedupe", str(tmp_path / "nope")]) == 2
    assert "not found" in capsys.readouterr().err


def test_dedupe_apply_after_rfm_and_run_merges_a_workspace_with_typed_score_columns(tmp_path, capsys):
    # the RFM and derived columns written by rfm/run are typed (Int64...): merging must still assign them
    from crmkit.cli import main
    from crmkit.workspace import open_workspace

    folder = tmp_path / "ws"
    assert main(["sample", str(folder), "--customers", "200"]) == 0
    assert main(["rfm", str(folder)]) == 0
    assert main(["run", str(folder)]) in (0, 1)
    before = len(open_workspace(folder)["customers"])
    capsys.readouterr()
    assert main(["dedupe", str(folder), "--apply"]) == 0
    out, err = capsys.readouterr()
    assert "unexpected error" not in err
    assert len(open_workspace(folder)["customers"]) < before
