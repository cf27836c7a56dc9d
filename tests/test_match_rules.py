"""Which records are the same: IDs first, placeholder contacts never, chains only when every member agrees."""

from __future__ import annotations

import pandas as pd
import pytest

from crmkit.dedupe import find_duplicates, placeholder_mask
from crmkit.importer import import_file
from crmkit.merge import dedupe_workspace
from crmkit.workspace import open_workspace

ROOT = __import__("pathlib").Path(__file__).resolve().parent
CDNOW = ROOT / "data" / "public" / "cdnow" / "CDNOW_master.txt"


def _cdnow() -> pd.DataFrame:
    df = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})
    return df


# --------------------------------------------------------------------------- orders without IDs

def test_every_cdnow_purchase_arrives_although_some_are_identical(make_workspace, tmp_path):
    raw = _cdnow()
    assert len(raw) == 69_659
    ids = "U" + raw["customer_id"]
    customers = pd.DataFrame({"customer_id": ids.drop_duplicates().to_numpy()})
    customers["name"] = "Customer " + customers["customer_id"]
    customers["source"] = "ecommerce"
    customers["created_at"] = pd.Timestamp("1997-01-01")
    ws = make_workspace({"customers": customers})
    src = tmp_path / "cdnow-orders.csv"
    orders = pd.DataFrame({"customer_id": ids, "order_date": pd.to_datetime(raw["date"]).dt.strftime("%Y-%m-%d"),
                           "amount": raw["dollar_value"]})
    identical = int(orders.duplicated().sum())
    assert identical == 255                     # same customer, same day, same amount: real purchases
    orders.to_csv(src, index=False)
    res = import_file(src, ws, entity="orders")
    assert (res.source_rows, res.imported, res.merged, res.rejected) == (69_659, 69_659, 0, 0)
    assert res.exit_code == 0
    got = open_workspace(ws)["orders"]
    assert len(got) == 69_659 and got["order_id"].is_unique
    assert got["amount"].sum() == pytest.approx(raw["dollar_value"].sum())


def test_orders_without_ids_are_all_kept_and_only_a_repeated_id_is_a_duplicate(make_workspace, tmp_path):
    ws = make_workspace({"customers": pd.DataFrame({
        "customer_id": ["C1"], "name": ["甲"], "source": ["referral"], "created_at": [pd.Timestamp("2024-01-01")]})})
    src = tmp_path / "o.csv"
    src.write_text("order_id,customer_id,order_date,amount\n,C1,2024-05-01,50\n,C1,2024-05-01,50\n"
                   "O9,C1,2024-05-02,10\nO9,C1,2024-05-02,10\n", encoding="utf-8")
    res = import_file(src, ws, entity="orders")
    assert (res.imported, res.merged) == (3, 1)
    assert res.outcome["outcome"].tolist() == ["imported", "imported", "imported", "merged"]
    assert sorted(open_workspace(ws)["orders"]["amount"].tolist()) == [10.0, 50.0, 50.0]
    # importing the file again: the ID'd order is found again, the others are new purchases
    again = import_file(src, ws, entity="orders")
    assert (again.imported, again.updated, again.merged) == (2, 1, 1)


# --------------------------------------------------------------------------- placeholders

@pytest.mark.parametrize("value, kind", [
    ("noemail@example.com", "email"), ("none@qq.com", "email"), ("test@test.com", "email"),
    ("a@example.com", "email"), ("无@163.com", "email"), ("+8613800000000", "phone"),
    ("+8600000000", "phone"), ("+861234567890", "phone"), ("+8613888888888", "phone"),
])
def test_placeholder_contacts_are_recognised(value, kind):
    assert placeholder_mask(pd.Series([value]), kind).tolist() == [True]


@pytest.mark.parametrize("value, kind", [("zhang@huawei.com", "email"), ("+8613912345678", "phone"),
                                         ("+14152933313", "phone")])
def test_real_contacts_are_not_placeholders(value, kind):
    assert placeholder_mask(pd.Series([value]), kind).tolist() == [False]


def _companies():
    # five different companies: one placeholder e-mail, and two of them share one phone (a switchboard)
    return pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5"],
        "name": ["甲科技", "乙贸易", "丙物流", "丁食品", "戊建材"],
        "contact_name": ["张一", "李二", "王三", "赵四", "钱五"],
        "phone": ["13912345671", "13912345671", "13912345673", "13912345674", "13912345675"],
        "email": ["noemail@example.com"] * 5,
        "source": ["referral"] * 5,
        "created_at": pd.to_datetime([f"2024-01-0{i}" for i in range(1, 6)]),
    })


def test_different_companies_sharing_a_placeholder_email_and_one_phone_are_not_duplicates():
    assert find_duplicates(_companies()).empty


def test_dedupe_apply_merges_none_of_five_different_companies(make_workspace):
    ws = make_workspace({"customers": _companies()})
    res = dedupe_workspace(ws, apply=True)
    assert res.merged == 0
    assert len(open_workspace(ws)["customers"]) == 5


def test_a_value_shared_by_more_records_than_the_setting_allows_never_matches():
    df = pd.DataFrame({"customer_id": [f"C{i}" for i in range(7)], "name": ["同名公司"] * 7,
                       "contact_name": [None] * 7, "phone": ["13912345678"] * 7})
    assert find_duplicates(df, keys="phone").empty                      # 7 > default 5
    assert len(find_duplicates(df, keys="phone", max_shared=10)) == 7


def test_a_chain_is_cut_where_its_members_disagree():
    # A and B: same company, same phone; B and C share an e-mail but C is another company
    df = pd.DataFrame({"customer_id": ["A", "B", "C"], "name": ["甲公司", "甲", "乙公司"],
                       "contact_name": ["张三", None, "李四"],
                       "phone": ["13912345678", "139 1234 5678", None],
                       "email": [None, "shared@jia.cn", "shared@jia.cn"]})
    d = find_duplicates(df)
    assert d["customer_id"].tolist() == ["A", "B"]


def test_records_agree_when_blanks_meet_values():
    df = pd.DataFrame({"customer_id": ["A", "B", "C"], "name": ["甲公司", "甲有限公司", "甲"],
                       "contact_name": ["张三", None, "张三"],
                       "phone": ["13912345678", "13912345678", None],
                       "email": [None, "z@jia.cn", "z@jia.cn"]})
    assert find_duplicates(df)["customer_id"].tolist() == ["A", "B", "C"]


# --------------------------------------------------------------------------- IDs in imports

HEAD = "客户编号,客户名称,联系人,手机,电子邮箱,客户来源,建档日期\n"


def test_rows_with_different_ids_are_never_merged_on_company_and_contact(make_workspace, tmp_path):
    ws = make_workspace({})
    src = tmp_path / "ids.csv"
    src.write_text(HEAD + "X1,甲公司,张三,,,展会,2024-05-01\nX2,甲公司,张三,,,展会,2024-05-01\n", encoding="utf-8")
    res = import_file(src, ws)
    assert (res.imported, res.merged) == (2, 0)
    assert sorted(open_workspace(ws)["customers"]["customer_id"]) == ["X1", "X2"]


def test_reimporting_an_export_of_the_workspace_touches_each_row_own_record_only(make_workspace, tmp_path):
    existing = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4"], "name": ["甲", "乙", "丙", "丁"],
        "contact_name": ["张", "李", "王", "赵"],
        "phone": ["+8613912345601", "+8613912345602", "+8613912345603", "+8613912345604"],
        "email": ["a@x.cn", "b@x.cn", "c@x.cn", "d@x.cn"], "source": ["referral"] * 4,
        "created_at": pd.to_datetime(["2024-01-01"] * 4)})
    ws = make_workspace({"customers": existing})
    # the rows carry their own IDs, but phones and e-mails were shuffled by hand since the export
    src = tmp_path / "export.csv"
    src.write_text(HEAD + "C1,甲,张,13912345602,c@x.cn,推荐,2024-01-01\nC2,乙,李,13912345603,d@x.cn,推荐,2024-01-01\n"
                   "C3,丙,王,13912345604,a@x.cn,推荐,2024-01-01\nC4,丁,赵,13912345601,b@x.cn,推荐,2024-01-01\n",
                   encoding="utf-8")
    res = import_file(src, ws)
    assert (res.updated, res.merged, res.imported) == (4, 0, 0)
    assert res.outcome["record_id"].tolist() == ["C1", "C2", "C3", "C4"]
    cust = open_workspace(ws)["customers"].set_index("customer_id")
    assert cust["name"].to_dict() == {"C1": "甲", "C2": "乙", "C3": "丙", "C4": "丁"}


def test_every_merge_of_an_import_is_listed_with_its_key(make_workspace, tmp_path):
    ws = make_workspace({})
    src = tmp_path / "dup.csv"
    src.write_text(HEAD + ",甲公司,张三,13912345678,,展会,2024-05-01\n,甲公司,张三,139 1234 5678,,展会,2024-05-01\n",
                   encoding="utf-8")
    res = import_file(src, ws)
    assert res.merged == 1
    notes = res.issues[res.issues["severity"] == "info"]
    assert notes["row"].tolist() == [3]
    assert "row 2" in notes["reason"].iloc[0] and "phone" in notes["reason"].iloc[0]


def test_the_shared_value_limit_comes_from_settings(make_workspace):
    df = pd.DataFrame({"customer_id": [f"C{i}" for i in range(7)], "name": ["同名公司"] * 7,
                       "contact_name": [None] * 7, "phone": ["13912345678"] * 7, "source": ["referral"] * 7,
                       "created_at": pd.to_datetime(["2024-01-01"] * 7)})
    assert dedupe_workspace(make_workspace({"customers": df})).group_count == 0
    ws = make_workspace({"customers": df}, settings={"dedupe_max_shared": 10})
    assert dedupe_workspace(ws).group_count == 1


def test_a_row_sharing_a_phone_with_another_company_is_imported_apart_with_a_note(make_workspace, tmp_path):
    ws = make_workspace({"customers": pd.DataFrame({
        "customer_id": ["C1"], "name": ["甲科技"], "contact_name": ["张一"], "phone": ["+8613912345671"],
        "source": ["referral"], "created_at": [pd.Timestamp("2024-01-01")]})})
    src = tmp_path / "x.csv"
    src.write_text(HEAD + ",乙贸易,李二,13912345671,,展会,2024-05-01\n", encoding="utf-8")
    res = import_file(src, ws)
    assert (res.imported, res.updated) == (1, 0)
    note = res.issues[res.issues["severity"] == "info"]
    assert note["reason"].tolist() == ["shares phone with existing record C1, but company or contact differ: "
                                       "kept apart"]


def test_importing_five_companies_with_a_placeholder_email_and_one_shared_phone_keeps_five(make_workspace,
                                                                                          tmp_path):
    ws = make_workspace({})
    src = tmp_path / "five.csv"
    rows = "".join(f",{n},{c},{p},noemail@example.com,展会,2024-05-01\n" for n, c, p in [
        ("甲科技", "张一", "13912345671"), ("乙贸易", "李二", "13912345671"), ("丙物流", "王三", "13912345673"),
        ("丁食品", "赵四", "13912345674"), ("戊建材", "钱五", "13912345675")])
    src.write_text(HEAD + rows, encoding="utf-8")
    res = import_file(src, ws)
    assert (res.imported, res.merged) == (5, 0)
    assert len(open_workspace(ws)["customers"]) == 5
