"""The product catalogue end to end: validation, import, analytics, the low-stock rule, team mode."""

from __future__ import annotations

import doctest
import shutil
import subprocess
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from crmkit import orderstore
from crmkit.analytics import products as pa
from crmkit.importer import import_file
from crmkit.rfm import rfm_scores
from crmkit.rules.engine import run_rules
from crmkit.validate import format_issue, validate_workspace
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
AS_OF = pd.Timestamp("2026-11-20 10:00")


def _orders(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"order_id": [f"O{i + 1}" for i in range(n)], "customer_id": ["C1"] * n,
            "order_date": pd.to_datetime(["2026-01-05"] * n), "amount": [10.0] * n}
    base.update(cols)
    return pd.DataFrame(base)


CATALOGUE = pd.DataFrame({
    "product_id": ["P1", "P2", "P3"], "name": ["Tea", "Cup", "Pot"], "category": ["Drinks", "Ware", "Ware"],
    "unit_price": [10.0, 5.0, 40.0], "unit_cost": [4.0, 2.0, 30.0], "stock": [3.0, 50.0, 1.0],
    "reorder_level": [5.0, 10.0, 1.0], "status": ["active", "active", "discontinued"], "owner": ["Ann", "Bo", "Bo"]})


# --------------------------------------------------------------------------- validation

def _workspace_with_orders(make_workspace, orders, products=CATALOGUE, lang="en"):
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Acme", "Beta"],
                              "created_at": pd.to_datetime(["2026-01-01"] * 2)})
    return make_workspace({"customers": customers, "orders": orders, "products": products}, lang=lang)


def test_an_order_of_an_unknown_product_is_a_warning_with_its_place_and_still_counts(make_workspace):
    orders = _orders(product_id=["P1", "P404"], quantity=[1.0, 1.0], unit_price=[10.0, 10.0])
    rep = validate_workspace(_workspace_with_orders(make_workspace, orders))
    bad = rep.issues[rep.issues["field"] == "product_id"]
    assert len(bad) == 1 and not (rep.issues[rep.issues["sheet"] == "Orders"]["severity"] == "error").any()
    rec = bad.iloc[0].to_dict()
    assert rec["severity"] == "warning" and rec["sheet"] == "Orders" and rec["row"] == 3
    assert rec["file"].endswith("customers.xlsx") and rec["column"] == "Product ID" and rec["value"] == "P404"
    line = format_issue(rec)
    assert "customers.xlsx, sheet 'Orders', row 3, column 'Product ID': warning: not in Products" in line
    # the order still counts: revenue includes it, on its own row
    rev = pa.product_revenue(orders, CATALOGUE)
    assert rev.set_index("product_id").loc["P404", "revenue"] == 10.0 and rev["revenue"].sum() == 20.0


def test_the_unknown_product_warning_is_in_chinese_in_a_chinese_workspace(make_workspace):
    orders = _orders(product_id=["P404"])
    rep = validate_workspace(_workspace_with_orders(make_workspace, orders, lang="zh"))
    rec = rep.issues[rep.issues["field"] == "product_id"].iloc[0].to_dict()
    assert rec["sheet"] == "订单" and rec["column"] == "产品编号"
    assert "不在产品中" in format_issue(rec, "zh") and "第 2 行" in format_issue(rec, "zh")


def test_products_rows_are_checked_like_every_sheet(make_workspace):
    products = pd.DataFrame({
        "product_id": ["P1", "P1", "P3", "P4"], "name": ["Tea", "Cup", None, "Pot"],
        "unit_price": [10.0, -5.0, 3.0, 4.0], "unit_cost": [4.0, 2.0, 1.0, 9.0],
        "stock": [0.0, 3.0, -2.0, 1.0], "reorder_level": [0.0, -1.0, 0.0, 0.0]})
    rep = validate_workspace(_workspace_with_orders(make_workspace, _orders(product_id=["P1"]), products))
    got = {(r.row, r.field, r.severity) for r in rep.issues[rep.issues["sheet"] == "Products"].itertuples()}
    assert got == {
        (3, "product_id", "error"),          # duplicate ID
        (3, "unit_price", "error"),          # negative price
        (3, "reorder_level", "error"),       # negative reorder level
        (4, "name", "error"),                # required name blank
        (4, "stock", "warning"),             # negative stock: oversold?
        (5, "unit_cost", "warning"),         # cost above price
    }
    assert rep.sheets["products"]["rows"] == 4
    assert (2, "stock") not in {(r.row, r.field) for r in rep.issues.itertuples()}   # stock 0 is fine


def test_an_amount_that_disagrees_with_quantity_times_unit_price_is_a_warning(make_workspace):
    orders = _orders(product_id=["P1"] * 5, quantity=[3.0, 3.0, 3.0, -2.0, 2.0],
                     unit_price=[19.99, 19.99, 19.99, 10.0, 10.0], amount=[59.97, 59.98, 66.0, -20.0, -20.0])
    rep = validate_workspace(_workspace_with_orders(make_workspace, orders))
    amount = rep.issues[rep.issues["field"] == "amount"]
    # 59.98 is rounding, a return written either way agrees, 66 is off
    assert amount["row"].tolist() == [4] and amount["severity"].tolist() == ["warning"]
    assert "does not match quantity × unit price (59.97)" in amount["reason"].iloc[0]


def test_a_blank_amount_with_quantity_and_unit_price_says_what_it_should_be(make_workspace):
    orders = _orders(product_id=["P1", "P1"], quantity=[2.0, None], unit_price=[12.5, 10.0], amount=[None, None])
    rep = validate_workspace(_workspace_with_orders(make_workspace, orders))
    amount = rep.issues[rep.issues["field"] == "amount"].sort_values("row")
    assert amount["severity"].tolist() == ["error", "error"]
    assert "quantity × unit price is 25.00" in amount["reason"].iloc[0]
    assert amount["reason"].iloc[1] == "required value missing"


def test_the_sample_workspace_validates_without_product_issues():
    rep = validate_workspace(SAMPLE)
    assert rep.errors == 0
    assert not rep.issues["field"].isin(["product_id", "quantity", "unit_price"]).any()
    assert rep.sheets["products"]["rows"] == 24 and rep.sheets["products"]["warnings"] == 0


# --------------------------------------------------------------------------- import

def _sample_copy(tmp_path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(SAMPLE, dst)
    return dst


def test_import_orders_fills_a_blank_amount_from_quantity_and_unit_price(tmp_path):
    ws_dir = _sample_copy(tmp_path)
    src = tmp_path / "orders.csv"
    src.write_text("客户编号,下单日期,产品编号,数量,单价,订单金额\n"
                   "C00001,2026-11-01,P0001,2,2980,\n"
                   "C00001,2026-11-02,P9999,1,100,100\n", encoding="utf-8")
    res = import_file(src, ws_dir, entity="订单", at=AS_OF)
    assert res.imported == 2 and res.rejected == 0
    filled = res.issues[res.issues["field"] == "amount"]
    assert filled["severity"].tolist() == ["info"] and filled["row"].tolist() == [2]
    unknown = res.issues[res.issues["field"] == "product_id"]
    assert unknown["severity"].tolist() == ["warning"] and unknown["row"].tolist() == [3]
    orders = open_workspace(ws_dir)["orders"]
    new = orders[orders["order_date"] >= "2026-11-01"].tail(2)
    assert new["amount"].tolist() == [5960.0, 100.0] and new["product_id"].tolist() == ["P0001", "P9999"]


CN_PRODUCTS = ("产品编号,产品名称,产品类别,规格,单价,成本单价,库存,补货点,状态,负责人\n"
               "P0101,茶叶礼盒,食品,500克,168,90,12,20,在售,李娜\n"
               ",保温杯,日用品,350毫升,89,40,0,5,停售,张伟\n")


def _check_product_import(ws_dir: Path, res) -> None:
    assert res.imported == 2 and res.rejected == 0 and res.errors == 0, res.text()
    prods = open_workspace(ws_dir)["products"].set_index("product_id")
    assert prods.loc["P0101", "name"] == "茶叶礼盒" and prods.loc["P0101", "unit_cost"] == 90.0
    assert prods.loc["P0101", "status"] == "active" and prods.loc["P0101", "reorder_level"] == 20.0
    new = prods[prods["name"] == "保温杯"]
    assert len(new) == 1 and new["status"].iloc[0] == "discontinued" and new["stock"].iloc[0] == 0.0
    assert new.index[0].startswith("P") and new.index[0] not in {"P0101"}


def test_import_products_with_chinese_headers(tmp_path):
    ws_dir = _sample_copy(tmp_path)
    src = tmp_path / "产品.csv"
    src.write_text(CN_PRODUCTS, encoding="utf-8-sig")
    _check_product_import(ws_dir, import_file(src, ws_dir, entity="products", at=AS_OF))


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_import_products_from_a_csv_resaved_by_libreoffice(tmp_path):
    ws_dir = _sample_copy(tmp_path)
    raw = tmp_path / "raw.csv"
    raw.write_text(CN_PRODUCTS, encoding="utf-8")
    out = tmp_path / "lo"
    # CSV -> xlsx -> CSV through LibreOffice, as a person opening and saving it would
    profile = f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}"
    subprocess.run(["soffice", profile, "--headless", "--infilter=CSV:44,34,76", "--convert-to", "xlsx",
                    "--outdir", str(out), str(raw)], check=True, capture_output=True, timeout=180)
    subprocess.run(["soffice", profile, "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76",
                    "--outdir", str(out / "csv"), str(out / "raw.xlsx")], check=True, capture_output=True,
                   timeout=180)
    resaved = out / "csv" / "raw.csv"
    assert "茶叶礼盒" in resaved.read_text(encoding="utf-8")
    _check_product_import(ws_dir, import_file(resaved, ws_dir, entity="产品", at=AS_OF))


# --------------------------------------------------------------------------- analytics

def test_revenue_units_cost_and_margin_per_product_with_returns_and_orders_without_product():
    orders = _orders(customer_id=["C1", "C2", "C1", "C2", "C3", None],
                     product_id=["P1", "P1", "P1", None, "P2", "P1"], quantity=[3.0, 1.0, 1.0, None, 2.0, 5.0],
                     amount=[30.0, 10.0, -10.0, 7.0, 10.0, 50.0])
    rev = pa.product_revenue(orders, CATALOGUE).set_index("name")
    tea = rev.loc["Tea"]
    # the return (-10, quantity written positive) lowers revenue and units; the order without customer is out
    assert (tea["orders"], tea["customers"], tea["units"], tea["revenue"], tea["returns"]) == (2, 2, 3.0, 30.0, 10.0)
    assert tea["cost"] == 12.0 and tea["margin"] == 18.0 and tea["margin_pct"] == pytest.approx(0.6)
    none = rev.loc["no product"]
    assert pd.isna(none["product_id"]) and none["revenue"] == 7.0 and pd.isna(none["margin"])
    assert none["lines_without_quantity"] == 1
    assert rev.index[-1] == "no product"
    assert rev["revenue"].sum() == 47.0          # every counted order is in exactly one row
    zh = pa.product_revenue(orders, CATALOGUE, lang="zh")
    assert zh["name"].iloc[-1] == "未指定产品"


def test_revenue_by_category_sums_the_products_and_counts_buyers_once():
    orders = _orders(customer_id=["C1", "C1", "C2", "C3"], product_id=["P2", "P3", "P3", "P9"],
                     quantity=[1.0, 1.0, 1.0, 1.0], amount=[5.0, 40.0, 40.0, 3.0])
    cat = pa.category_revenue(orders, CATALOGUE).set_index("category")
    assert list(cat.index) == ["Ware", "no category"]
    ware = cat.loc["Ware"]
    assert (ware["products"], ware["customers"], ware["revenue"], ware["cost"], ware["margin"]) == \
        (2, 2, 85.0, 62.0, 23.0)
    assert cat.loc["no category", "revenue"] == 3.0 and pd.isna(cat.loc["no category", "margin"])
    assert list(pa.category_revenue(orders, CATALOGUE, lang="zh")["category"]) == ["Ware", "未分类"]


def test_orders_after_as_of_do_not_count():
    orders = _orders(product_id=["P1", "P1"], quantity=[1.0, 1.0],
                     order_date=pd.to_datetime(["2026-01-01", "2026-12-01"]))
    assert pa.product_revenue(orders, CATALOGUE, as_of="2026-11-20")["revenue"].tolist() == [10.0]
    assert pa.product_revenue(orders, CATALOGUE)["revenue"].tolist() == [20.0]


def test_a_relation_a_frame_and_parquet_give_the_same_numbers(tmp_path):
    ws = open_workspace(SAMPLE)
    orders, products, customers = ws["orders"], ws["products"], ws["customers"]
    pq = tmp_path / "orders.parquet"
    orders.reset_index(drop=True).to_parquet(pq)
    con = duckdb.connect()
    sources = [orders, orderstore.workspace_orders(ws), con.read_parquet(str(pq))]
    scores = rfm_scores(orders, ws.as_of(), customers=customers)
    for src in sources[1:]:
        pd.testing.assert_frame_equal(pa.product_revenue(src, products, as_of=ws.as_of()),
                                      pa.product_revenue(orders, products, as_of=ws.as_of()))
        pd.testing.assert_frame_equal(pa.top_products_by_segment(src, scores, products, as_of=ws.as_of()),
                                      pa.top_products_by_segment(orders, scores, products, as_of=ws.as_of()))
        pd.testing.assert_frame_equal(pa.cross_sell(src, "P0001", "P0003"), pa.cross_sell(orders, "P0001", "P0003"))
        pd.testing.assert_frame_equal(pa.product_pairs(src, products), pa.product_pairs(orders, products))


def test_the_sample_catalogue_adds_up_to_the_whole_order_book():
    ws = open_workspace(SAMPLE)
    orders, products = ws["orders"], ws["products"]
    rev = pa.product_revenue(orders, products, as_of=ws.as_of())
    counted = orderstore.counted_orders(orderstore.as_relation(orders), ws.as_of()).aggregate("sum(amount)")
    assert rev["revenue"].sum() == pytest.approx(counted.fetchall()[0][0])
    cat = pa.category_revenue(orders, products, as_of=ws.as_of())
    assert cat["revenue"].sum() == pytest.approx(rev["revenue"].sum())
    assert set(cat["category"]) == {"Software", "Services", "Hardware", "Add-ons"}
    assert (orders["quantity"] * orders["unit_price"] - orders["amount"]).abs().max() < 1e-6


def test_top_products_per_segment_ranks_by_revenue_within_each_group():
    orders = _orders(customer_id=["C1", "C1", "C2", "C2", "C3"], product_id=["P1", "P2", "P2", "P2", "P1"],
                     quantity=[1.0] * 5, amount=[10.0, 30.0, 5.0, 5.0, 99.0])
    seg = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "value_tier": ["high_value", "high_value", "regular"]})
    top = pa.top_products_by_segment(orders, seg, CATALOGUE, by="value_tier", n=1)
    assert top[["group", "rank", "product_id", "name", "customers", "revenue"]].values.tolist() == [
        ["high_value", 1, "P2", "Cup", 2, 40.0], ["regular", 1, "P1", "Tea", 1, 99.0]]
    assert top["share"].tolist() == [pytest.approx(0.8), 1.0]
    two = pa.top_products_by_segment(orders, seg, CATALOGUE, by="value_tier", n=5)
    assert two[two["group"] == "high_value"]["rank"].tolist() == [1, 2]


def test_cross_sell_lists_who_bought_a_and_never_b_by_product_or_category():
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["A", "B", "C"], "owner": ["Ann"] * 3})
    orders = _orders(customer_id=["C1", "C2", "C2", "C3", "C3"], product_id=["P1", "P1", "P2", "P1", "P3"],
                     amount=[10.0, 20.0, 5.0, 30.0, -40.0])
    out = pa.cross_sell(orders, bought="P1", never="P2", customers=customers)
    assert out["customer_id"].tolist() == ["C3", "C1"]          # most spent first; C3 only returned a P3
    assert out.columns.tolist()[:4] == ["customer_id", "orders_of_a", "spent_on_a", "last_order"]
    assert out["name"].tolist() == ["C", "A"] and out["owner"].tolist() == ["Ann", "Ann"]
    by_cat = pa.cross_sell(orders, bought=["Drinks"], never="Ware", products=CATALOGUE, level="category")
    assert by_cat["customer_id"].tolist() == ["C3", "C1"]
    assert pa.cross_sell(orders, bought="P1", never=[])["customer_id"].tolist() == ["C3", "C2", "C1"]
    with pytest.raises(ValueError):
        pa.cross_sell(orders, bought=[], never="P1")
    quote = pa.cross_sell(orders, bought="P1' OR '1'='1", never="P2")
    assert quote.empty                                          # an ID is a value, never SQL


def test_product_pairs_counts_common_buyers_with_confidence_and_lift():
    orders = _orders(customer_id=["C1", "C1", "C2", "C2", "C3", "C4"], product_id=["P1", "P2", "P1", "P2", "P1", "P3"],
                     amount=[1.0] * 6)
    pairs = pa.product_pairs(orders, CATALOGUE, min_customers=2)
    assert pairs[["a", "a_name", "b", "b_name", "customers", "a_customers", "b_customers"]].values.tolist() == [
        ["P1", "Tea", "P2", "Cup", 2, 3, 2]]
    assert pairs["confidence"].iloc[0] == pytest.approx(2 / 3) and pairs["confidence_ba"].iloc[0] == 1.0
    assert pairs["lift"].iloc[0] == pytest.approx((2 / 3) / (2 / 4))
    cats = pa.product_pairs(orders, CATALOGUE, level="category", min_customers=1)
    assert cats[["a", "b", "customers"]].values.tolist() == [["Drinks", "Ware", 2]]


def test_low_stock_is_at_or_below_the_reorder_level_on_sale_only():
    low = pa.low_stock(CATALOGUE)
    assert low[["product_id", "stock", "reorder_level", "short_by", "owner"]].values.tolist() == [
        ["P1", 3.0, 5.0, 2.0, "Ann"]]          # P3 is at its level but discontinued
    assert pa.low_stock_mask(pd.DataFrame({"stock": [1.0]})).tolist() == [False]


@pytest.mark.parametrize("fn", [pa.product_revenue, pa.category_revenue, pa.top_products_by_segment, pa.cross_sell,
                                pa.product_pairs, pa.low_stock, pa.low_stock_mask])
def test_every_function_has_a_docstring_example_that_runs(fn):
    assert ">>>" in (fn.__doc__ or "")
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(fn, globs={"pd": pd, **vars(pa)}):
        runner.run(test)
    assert runner.failures == 0


def test_the_analytics_package_exports_the_product_functions():
    from crmkit import analytics

    for name in ("product_revenue", "category_revenue", "top_products_by_segment", "cross_sell", "product_pairs",
                 "low_stock"):
        assert getattr(analytics, name) is getattr(pa, name) and name in analytics.__all__


# --------------------------------------------------------------------------- rules

def _rule_workspace(make_workspace, products, *, when="low_stock()", once="per_week", lang="en"):
    from crmkit.rules.defaults import default_team

    rules = pd.DataFrame({"rule_id": ["R13"], "name": ["Low stock"], "enabled": pd.array([True], dtype="boolean"),
                          "entity": ["products" if lang == "en" else "产品"], "when": [when], "action": ["notify"],
                          "params": ['to=owner; text="Low stock: {name} has {stock} left"'], "once": [once],
                          "priority": pd.array([1], dtype="Int64")})
    team = default_team(lang)
    return make_workspace({"products": products, "rules": rules, "team": team}, lang=lang,
                          settings={"as_of": "2026-11-20 10:00"})


def _stock(stock=(3.0, 50.0, 1.0), owner=("Alex Chen", "Sam Patel", None)):
    p = CATALOGUE.copy()
    p["stock"] = list(stock)
    p["owner"] = list(owner)
    p["status"] = ["active", "active", "active"]
    return p


def test_the_low_stock_rule_notifies_the_products_owner_once_a_week(make_workspace):
    folder = _rule_workspace(make_workspace, _stock())
    res = run_rules(open_workspace(folder), as_of=AS_OF)
    done = res.actions[res.actions["rule_id"] == "R13"]
    assert set(done["record_id"]) == {"P1", "P3"} and set(done["outcome"]) == {"done"}
    tasks = open_workspace(folder)["tasks"]
    mine = tasks[tasks["created_by"] == "rule:R13"].set_index("title")
    assert mine.loc["Low stock: Tea has 3 left", "owner"] == "Alex Chen"
    assert mine.loc["Low stock: Pot has 1 left", "owner"] == "Morgan Lee"      # no owner: the manager
    assert mine["customer_id"].isna().all()
    # later the same week: nobody is told again; the next week, still low: told again
    again = run_rules(open_workspace(folder), as_of=AS_OF + pd.Timedelta(days=1))
    assert again.actions[again.actions["rule_id"] == "R13"].empty
    week = run_rules(open_workspace(folder), as_of=AS_OF + pd.Timedelta(days=7))
    assert set(week.actions[week.actions["rule_id"] == "R13"]["record_id"]) == {"P1", "P3"}


def test_a_restocked_product_is_not_low_and_a_plain_comparison_works_too(make_workspace):
    folder = _rule_workspace(make_workspace, _stock(stock=(9.0, 50.0, None)), when="stock <= reorder_level")
    res = run_rules(open_workspace(folder), as_of=AS_OF, dry_run=True)
    assert res.actions[res.actions["rule_id"] == "R13"].empty
    folder = _rule_workspace(make_workspace, _stock(stock=(5.0, 50.0, None)), when="库存 <= 补货点")
    res = run_rules(open_workspace(folder), as_of=AS_OF, dry_run=True)
    assert res.actions["record_id"].tolist() == ["P1"] and not res.errors


def test_the_low_stock_rule_runs_in_a_chinese_workspace(make_workspace):
    from crmkit.rules.defaults import default_rules

    rule = default_rules("zh").set_index("rule_id").loc["R13"]
    assert rule["entity"] == "products" and rule["when"] == "low_stock()" and "库存不足" in rule["params"]
    products = _stock(owner=("李娜", "张伟", "刘洋"))
    folder = _rule_workspace(make_workspace, products, lang="zh")
    res = run_rules(open_workspace(folder), as_of=AS_OF, dry_run=True)
    assert set(res.actions["record_id"]) == {"P1", "P3"} and not res.errors


def test_low_stock_on_another_entity_is_a_clear_rule_error(make_workspace):
    from crmkit.exceptions import ExpressionError
    from crmkit.rules.compiler import compile_expression

    expr = compile_expression("low_stock()", fields="customers")
    with pytest.raises(ExpressionError, match="rule on products"):
        expr.evaluate(pd.DataFrame({"customer_id": ["C1"], "name": ["x"]}), None)


def test_the_sample_run_notifies_the_owners_of_its_low_stock_products(tmp_path):
    ws_dir = _sample_copy(tmp_path)
    res = run_rules(open_workspace(ws_dir), dry_run=True)
    low = res.actions[res.actions["rule_id"] == "R13"]
    products = open_workspace(ws_dir)["products"].set_index("product_id")
    assert set(low["record_id"]) == set(pa.low_stock(products.reset_index())["product_id"]) == \
        {"P0016", "P0017", "P0023"}
    assert all(products.loc[r, "owner"] in d for r, d in zip(low["record_id"], low["detail"]))


# --------------------------------------------------------------------------- team mode

def test_split_carries_the_catalogue_protected_and_merge_ignores_edits_to_it(tmp_path):
    from crmkit.teamwork.merge import merge_rep
    from crmkit.teamwork.split import split_workspace

    main = _sample_copy(tmp_path)
    rep = split_workspace(main, tmp_path / "reps", ["Alex Chen"]).members[0].folder
    rep_ws = open_workspace(rep)
    assert len(rep_ws["products"]) == 24
    sheet = openpyxl.load_workbook(rep / "customers.xlsx")["Products"]
    assert sheet.protection.sheet
    p = rep_ws["products"].copy()
    p.loc[p.index[0], "unit_price"] = 1.0
    rep_ws.replace("products", p)
    rep_ws.save()
    before = open_workspace(main)["products"]
    merge_rep(main, rep, at=AS_OF)
    pd.testing.assert_frame_equal(open_workspace(main)["products"], before)


# --------------------------------------------------------------------------- dashboard

def test_the_overview_products_view_shows_crmkits_numbers_in_both_languages():
    from crmkit.dashboard.charts import is_empty_chart
    from crmkit.dashboard.products_view import product_view

    ws = open_workspace(SAMPLE)
    rev = pa.product_revenue(ws["orders"], ws["products"], as_of=ws.as_of())
    for lang, heads in (("en", ("Product name", "Margin %", "Short by")), ("zh", ("产品名称", "毛利率", "缺口"))):
        view = product_view(ws, ws["orders"], ws.as_of(), lang)
        assert view.note == "" and not is_empty_chart(view.category_figure)
        assert all(h in view.products_html + view.low_stock_html for h in heads)
        assert 'id="crmkit-products" data-rows="21"' in view.products_html
        assert f"{rev['revenue'].iloc[0]:,.0f}" in view.products_html
        assert 'id="crmkit-low-stock" data-rows="3"' in view.low_stock_html
        assert "crmkit-top-products" in view.top_html and "crmkit-product-categories" in view.categories_html
    assert "不能失去的客户" in product_view(ws, ws["orders"], ws.as_of(), "zh").top_html


def test_the_products_view_says_why_it_is_empty_when_no_order_names_a_product(make_workspace):
    from crmkit.dashboard.products_view import product_view

    folder = _workspace_with_orders(make_workspace, _orders(amount=[5.0]), products=CATALOGUE.iloc[:0], lang="zh")
    ws = open_workspace(folder)
    view = product_view(ws, ws["orders"], AS_OF, "zh")
    assert "订单尚未关联产品" in view.note and "没有库存低于补货点的产品" in view.low_stock_html


def test_import_never_fills_over_an_amount_that_is_not_a_number(tmp_path):
    ws_dir = _sample_copy(tmp_path)
    src = tmp_path / "orders.csv"
    src.write_text("Customer ID,Order date,Product ID,Quantity,Unit price,Amount\n"
                   "C00001,2026-11-01,P0001,2,2980,abc\n"
                   "C00001,2026-11-01,P0001,2,2980\n", encoding="utf-8")
    res = import_file(src, ws_dir, entity="orders", at=AS_OF, dry_run=True)
    amount = res.issues[res.issues["field"] == "amount"].set_index("row")
    assert amount.loc[2, "severity"] == "error" and amount.loc[3, "severity"] == "info"
    assert res.rejected == 1 and res.imported == 1
