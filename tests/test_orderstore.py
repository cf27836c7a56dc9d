"""Orders outside the workbook (crmkit.orderstore): one order source in Settings, read through DuckDB.

The same orders give the same RFM scores, CLV summary and order analytics whether they sit in the
Orders sheet, a CSV file, a Parquet file or folder, or a DuckDB database; ``crmkit import --entity
orders`` appends to a Parquet folder with the checks of an import into the sheet; the README's
warehouse SQL is the text the code runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crmkit import analytics as an
from crmkit import clv, orderstore
from crmkit.cli import main
from crmkit.derived import add_derived
from crmkit.exceptions import UsageError
from crmkit.importer import import_file
from crmkit.rfm import rfm_scores, rfm_sql, workspace_scores
from crmkit.schema import ENTITIES
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
ORDER_FACTS = ["last_order_at", "orders_30d", "amount_30d"]


@pytest.fixture(scope="module")
def sheet(tmp_path_factory):
    """The sample workspace (orders in the Orders sheet) and what crmkit computes from its sheet."""
    folder = tmp_path_factory.mktemp("sheet") / "ws"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns(".crmkit"))
    ws = open_workspace(folder)
    as_of = ws.as_of()
    out = {"folder": folder, "orders": ws["orders"].copy(), "as_of": as_of,
           "rfm": workspace_scores(ws),
           "clv": clv.summary(orderstore.workspace_orders(ws), as_of, customers=ws["customers"]),
           "derived": add_derived(ws, as_of)[ORDER_FACTS],
           "channels": an.revenue_by_channel(ws["orders"]),
           "trend": an.trend(ws["customers"], ws["orders"], as_of, "M", 12),
           "kpis": an.kpi_summary(ws, as_of, "month")}
    return out


def _with_source(sheet, tmp_path: Path, name: str, write, **settings) -> Path:
    """A copy of the sample workspace whose orders live in ``name`` (written by ``write``), its sheet emptied."""
    folder = tmp_path / "ws"
    shutil.copytree(sheet["folder"], folder, ignore=shutil.ignore_patterns(".crmkit"))
    write(folder / name, sheet["orders"])
    ws = open_workspace(folder)
    ws.replace("orders", ws["orders"].iloc[0:0])
    ws.set_settings({"order_source": name, **settings})
    ws.save(["customers", "rules"])
    return folder


def _headers(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    ent = ENTITIES["orders"]
    return df.rename(columns={c: ent.field(c).header(lang) for c in df.columns if ent.has(c)})


def _csv_zh(path: Path, orders: pd.DataFrame) -> None:
    out = orders.copy()
    out["order_date"] = out["order_date"].dt.strftime("%Y/%m/%d")       # a date spelling of Chinese exports
    _headers(out, "zh").to_csv(path, index=False, encoding="utf-8")


def _parquet(path: Path, orders: pd.DataFrame) -> None:
    pq.write_table(pa.Table.from_pandas(orders, preserve_index=False), path)


def _parquet_folder(path: Path, orders: pd.DataFrame) -> None:
    path.mkdir()
    half = len(orders) // 2
    _parquet(path / "part-1.parquet", orders.iloc[:half])
    (path / "2026").mkdir()                                   # parts in subfolders count too
    _parquet(path / "2026" / "part-2.parquet", orders.iloc[half:])


def _duckdb(path: Path, orders: pd.DataFrame) -> None:
    con = duckdb.connect(str(path))
    frame = _headers(orders, "en")                            # English headers: "Customer ID", "Order date" ...
    con.register("frame", frame)
    con.execute("CREATE TABLE sales AS SELECT * FROM frame")
    con.close()


SOURCES = {
    "csv with Chinese headers": ("orders.csv", _csv_zh, {}),
    "parquet file": ("orders.parquet", _parquet, {}),
    "parquet folder": ("store", _parquet_folder, {}),
    "duckdb table": ("crm.duckdb", _duckdb, {"order_source_table": "sales"}),
}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_the_same_orders_give_equal_rfm_clv_and_order_analytics_from_the_sheet_and_from_a_source(sheet, tmp_path,
                                                                                                  kind):
    name, write, settings = SOURCES[kind]
    folder = _with_source(sheet, tmp_path, name, write, **settings)
    ws = open_workspace(folder)
    assert ws["orders"].empty and not orderstore.sheet_is_source(ws)
    as_of = ws.as_of()
    pd.testing.assert_frame_equal(workspace_scores(ws), sheet["rfm"], check_exact=True)
    pd.testing.assert_frame_equal(clv.summary(orderstore.workspace_orders(ws), as_of, customers=ws["customers"]),
                                  sheet["clv"])
    pd.testing.assert_frame_equal(add_derived(ws, as_of)[ORDER_FACTS], sheet["derived"])
    pd.testing.assert_frame_equal(an.revenue_by_channel(orderstore.orders_of(ws)), sheet["channels"])
    pd.testing.assert_frame_equal(an.trend(ws["customers"], orderstore.orders_of(ws), as_of, "M", 12), sheet["trend"])
    pd.testing.assert_frame_equal(an.kpi_summary(ws, as_of, "month"), sheet["kpis"])


def test_a_source_is_read_with_typed_canonical_columns(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("订单编号,客户编号,下单日期,订单金额,备注\nO1, C1 ,2026年1月4日,\"1,000.50\",x\n"
                    "O2,C2,2026-01-05 10:30,abc,y\n", encoding="utf-8")
    rel = orderstore.read_source(path)
    assert tuple(rel.columns) == orderstore.ORDER_COLUMNS
    assert [str(t) for t in rel.types][:4] == ["VARCHAR", "VARCHAR", "TIMESTAMP", "DOUBLE"]
    rows = rel.fetchall()
    assert rows[0][:4] == ("O1", "C1", pd.Timestamp("2026-01-04").to_pydatetime(), 1000.5)
    assert rows[1][2] == pd.Timestamp("2026-01-05 10:30").to_pydatetime() and rows[1][3] is None   # not a number


def test_a_folder_of_csv_files_with_differently_spelt_headers_reads_as_one_table(tmp_path):
    (tmp_path / "2025").mkdir()
    (tmp_path / "a.csv").write_text("customer_id,order_date,amount\nC1,2026-01-01,5\n", encoding="utf-8")
    (tmp_path / "2025" / "b.csv").write_text("客户编号,下单日期,订单金额,销售渠道\nC2,2025-01-02,7,online\n",
                                             encoding="utf-8")
    assert orderstore.source_kind(tmp_path) == "csv_folder"
    rows = sorted(orderstore.read_source(tmp_path).project("customer_id, order_date, amount, channel").fetchall())
    assert rows == [("C1", pd.Timestamp("2026-01-01").to_pydatetime(), 5.0, None),
                    ("C2", pd.Timestamp("2025-01-02").to_pydatetime(), 7.0, "online")]


@pytest.mark.parametrize(("setup", "expect"), [
    (lambda d: None, "no such file or folder"),
    (lambda d: (d / "orders.parquet").write_bytes(b"PAR1 not really"), "orders.parquet"),
    (lambda d: pd.DataFrame({"Customer ID": ["C1"], "Total": [1]}).to_parquet(d / "orders.parquet"),
     "no column for order_date (Order date / 下单日期)"),
])
def test_an_unreadable_or_incomplete_order_source_stops_rfm_with_exit_2_naming_path_and_reason(
        make_workspace, capsys, setup, expect):
    folder = make_workspace(settings={"order_source": "orders.parquet"})
    setup(folder)
    assert main(["rfm", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "orders.parquet" in err and expect in err and "Traceback" not in err


def test_a_duckdb_source_without_the_table_names_the_tables_it_has(tmp_path):
    path = tmp_path / "x.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales AS SELECT 'C1' AS customer_id, DATE '2026-01-01' AS order_date, 5.0 AS amount")
    con.close()
    with pytest.raises(UsageError, match="no table orders .tables: sales."):
        orderstore.read_source(path)
    assert orderstore.read_source(path, table="sales").aggregate("sum(amount)").fetchall() == [(5.0,)]


def test_validate_warns_when_the_orders_sheet_holds_rows_a_source_leaves_uncounted(sheet, tmp_path):
    folder = tmp_path / "ws"
    shutil.copytree(sheet["folder"], folder, ignore=shutil.ignore_patterns(".crmkit"))
    (folder / "store").mkdir()
    ws = open_workspace(folder)
    ws.set_settings({"order_source": "store"})
    ws.save(["rules"])
    from crmkit.validate import validate_workspace

    rep = validate_workspace(folder)
    hit = rep.issues[rep.issues["reason"].astype(str).str.contains("not counted")]
    assert len(hit) == 1 and hit["severity"].iloc[0] == "warning"
    assert f"{len(sheet['orders'])} rows in the Orders sheet" in hit["reason"].iloc[0]


# --------------------------------------------------------------------------- import into the Parquet store


@pytest.fixture
def store_ws(sheet, tmp_path):
    """The sample workspace with its orders moved into a Parquet folder ``store`` (one part file)."""
    def write(path: Path, orders: pd.DataFrame) -> None:
        path.mkdir()
        _parquet(path / "part-0.parquet", orders)
    return _with_source(sheet, tmp_path, "store", write)


def _parts(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted((folder / "store").glob("*.parquet"))}


def test_import_appends_hostile_rows_checked_like_the_sheet_as_one_new_part_file(store_ws, tmp_path, capsys):
    before = _parts(store_ws)
    src = tmp_path / "new orders.csv"
    src.write_text("Order ID,Customer ID,Order date,Amount,Sales channel,Colour\n"
                   ",C00001,2026-11-18,120.5,online,red\n"          # imported with the next ID
                   ",C00002,2026-11-31,80,online,\n"               # no such date
                   ",C99999,2026-11-18,80,online,\n"               # unknown customer
                   ",C00003,2026-11-18,eighty,online,\n"           # not an amount
                   ",,2026-11-18,10,online,\n"                     # no customer
                   "O000001,C00004,2026-11-18,10,online,\n"        # an order ID the store has
                   "O900000,C00005,2026-11-19,-30,store,\n",        # its own new ID, a return
                   encoding="utf-8")
    code = main(["import", str(src), "--into", str(store_ws), "--entity", "orders", "--json"])
    import json

    got = json.loads(capsys.readouterr().out)
    assert code == 1
    assert (got["source_rows"], got["imported"], got["rejected"]) == (7, 2, 5)
    assert got["store_rows_before"] == 2966 and got["unmatched_columns"] == ["Colour"]
    part = Path(got["store_part"])
    assert got["written"] == [str(part)] and part.parent == store_ws / "store"
    after = _parts(store_ws)
    assert {k: v for k, v in after.items() if k in before} == before            # old parts untouched
    assert set(after) - set(before) == {part.name}
    new = pd.read_parquet(part)
    assert list(new.columns) == list(orderstore.ORDER_COLUMNS)
    assert new["order_id"].tolist() == ["O900001", "O900000"] or sorted(new["order_id"]) == ["O900000", "O900001"]
    assert set(new["customer_id"]) == {"C00001", "C00005"}
    assert not [p for p in (store_ws / "store").iterdir() if not p.name.endswith(".parquet")]   # no temp left
    ws = open_workspace(store_ws)
    assert ws["orders"].empty                                                  # the sheet was not written
    assert orderstore.workspace_orders(ws).aggregate("count(*)").fetchall() == [(2968,)]


def test_new_order_ids_continue_the_stores_highest_and_a_repeat_import_is_refused(store_ws, tmp_path):
    src = tmp_path / "o.csv"
    src.write_text("Customer ID,Order date,Amount\nC00001,2026-11-18,10\nC00002,2026-11-18,20\n", encoding="utf-8")
    res = import_file(src, store_ws, entity="orders")
    assert res.imported == 2
    ids = sorted(pd.read_parquet(res.order_store["store_part"])["order_id"])
    assert ids == ["O002967", "O002968"]                                       # the sample's last is O002966
    again = tmp_path / "again.csv"
    pd.read_parquet(res.order_store["store_part"]).to_csv(again, index=False)
    res2 = import_file(again, store_ws, entity="orders")
    assert (res2.imported, res2.rejected) == (0, 2) and res2.written == []
    assert res2.issues["reason"].str.contains("already in the order store").sum() == 2


def test_dry_run_into_the_store_writes_nothing(store_ws, tmp_path):
    src = tmp_path / "o.csv"
    src.write_text("Customer ID,Order date,Amount\nC00001,2026-11-18,10\n", encoding="utf-8")
    before = _parts(store_ws)
    res = import_file(src, store_ws, entity="orders", dry_run=True)
    assert res.imported == 1 and res.written == [] and _parts(store_ws) == before


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_a_csv_re_saved_by_libreoffice_imports_into_the_store(store_ws, tmp_path):
    raw = tmp_path / "raw" / "orders.csv"
    raw.parent.mkdir()
    raw.write_text("客户编号,下单日期,订单金额,产品\nC00001,2026-11-01,\"1,200.50\",苹果\n"
                   "C00002,2026/11/02,80,香蕉\nC00003,2026-11-03 14:30,-20,退货\n", encoding="utf-8")
    out = tmp_path / "lo"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
                    "--convert-to", "csv", "--outdir", str(out), str(raw)],
                   check=True, capture_output=True, timeout=180)
    res = import_file(out / "orders.csv", store_ws, entity="orders")
    assert (res.imported, res.rejected) == (3, 0)
    new = pd.read_parquet(res.order_store["store_part"]).sort_values("customer_id")
    assert new["amount"].tolist() == [1200.5, 80.0, -20.0]
    assert new["product"].tolist() == ["苹果", "香蕉", "退货"]
    # order_date is a date field: as in the sheet, the time of day is not kept
    assert new["order_date"].tolist() == [pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-02"),
                                          pd.Timestamp("2026-11-03")]


def test_an_import_interrupted_while_writing_leaves_no_part_file_and_the_store_unchanged(store_ws, tmp_path,
                                                                                          monkeypatch):
    src = tmp_path / "o.csv"
    src.write_text("Customer ID,Order date,Amount\nC00001,2026-11-18,10\n", encoding="utf-8")
    before = _parts(store_ws)
    real = pq.write_table

    def half_then_interrupt(table, where, **kw):
        real(table, where, **kw)
        with open(where, "r+b") as fh:      # half of the file on disk, then Ctrl-C
            fh.truncate(os.path.getsize(where) // 2)
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        import_file(src, store_ws, entity="orders")
    assert _parts(store_ws) == before
    assert not [p for p in (store_ws / "store").iterdir() if p.name != "part-0.parquet"]
    ws = open_workspace(store_ws)
    assert orderstore.workspace_orders(ws).aggregate("count(*)").fetchall() == [(2966,)]


def test_orders_cannot_be_imported_into_a_single_file_source(sheet, tmp_path):
    folder = _with_source(sheet, tmp_path, "orders.parquet", _parquet)
    src = tmp_path / "o.csv"
    src.write_text("Customer ID,Order date,Amount\nC00001,2026-11-18,10\n", encoding="utf-8")
    with pytest.raises(UsageError, match="appends to a Parquet folder"):
        import_file(src, folder, entity="orders")


# --------------------------------------------------------------------------- SQL for a warehouse


def test_the_readmes_warehouse_sql_is_the_sql_rfm_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", readme, flags=re.S)
    assert rfm_sql("2026-12-01", table="orders").strip() in [b.strip() for b in blocks]


def test_rfm_sql_run_by_plain_duckdb_gives_the_metrics_rfm_scores_uses(sheet):
    con = duckdb.connect()
    con.register("orders", sheet["orders"])
    got = con.sql(rfm_sql(sheet["as_of"])).df().set_index("customer_id").sort_index()
    scores = rfm_scores(sheet["orders"], sheet["as_of"])
    assert got.index.tolist() == scores.index.tolist()
    assert got["frequency"].tolist() == scores["frequency"].tolist()
    assert got["monetary"].round(6).tolist() == scores["monetary"].round(6).tolist()


def test_an_import_killed_while_writing_leaves_only_a_temp_file_that_readers_ignore_and_the_next_import_removes(
        store_ws, tmp_path):
    src = tmp_path / "o.csv"
    src.write_text("Customer ID,Order date,Amount\nC00001,2026-11-18,10\n", encoding="utf-8")
    before = _parts(store_ws)
    script = (
        "import sys, time, pyarrow.parquet as pq\n"
        "real = pq.write_table\n"
        "def slow(table, where, **kw):\n"
        "    real(table, where, **kw)\n"
        "    print('written', flush=True)\n"
        "    time.sleep(60)\n"
        "pq.write_table = slow\n"
        "from crmkit.importer import import_file\n"
        f"import_file({str(src)!r}, {str(store_ws)!r}, entity='orders')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "written"
    finally:
        proc.kill()
        proc.wait(timeout=30)
    left = [p.name for p in (store_ws / "store").iterdir()]
    assert _parts(store_ws) == before and any(n.endswith(".crmkit-tmp") for n in left)
    ws = open_workspace(store_ws)
    assert orderstore.workspace_orders(ws).aggregate("count(*)").fetchall() == [(2966,)]
    res = import_file(src, store_ws, entity="orders")                       # the next import cleans up
    assert res.imported == 1
    assert not [p for p in (store_ws / "store").iterdir() if p.name.endswith(".crmkit-tmp")]


# --------------------------------------------------------------------------- reading a source: zones, paths, text


def test_a_time_zone_aware_parquet_reads_as_utc_wall_time_whatever_the_machines_zone(tmp_path):
    path = tmp_path / "tz.parquet"
    pd.DataFrame({"customer_id": ["C1", "C2"], "amount": [1.0, 2.0],
                  "order_date": pd.to_datetime(["2026-01-01 00:30:00+08:00", "2026-03-31 23:30:00-05:00"],
                                                utc=True).tz_convert("Asia/Shanghai")}
                 ).to_parquet(path)
    script = ("from crmkit import orderstore\n"
              f"rel = orderstore.read_source({str(path)!r})\n"
              "print(rel.aggregate('min(order_date), max(order_date), count(DISTINCT CAST(order_date AS DATE))')"
              ".fetchall())\n")
    seen = set()
    for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TZ": zone}
        seen.add(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                                check=True, timeout=120).stdout.strip())
    assert seen == {"[(datetime.datetime(2025, 12, 31, 16, 30), datetime.datetime(2026, 4, 1, 4, 30), 2)]"}


def test_a_folder_with_brackets_in_its_name_is_read_and_hidden_files_in_it_are_not(tmp_path):
    folder = tmp_path / "orders [2026]"
    (folder / ".hidden").mkdir(parents=True)
    rows = pd.DataFrame({"customer_id": ["C1", "C2"], "order_date": pd.to_datetime(["2026-01-02", "2026-01-03"]),
                         "amount": [10.0, 20.0]})
    _parquet(folder / "part-0.parquet", rows)
    (folder / "._part-0.parquet").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")   # not Parquet at all
    _parquet(folder / ".part-x.parquet", rows)                                           # a stray hidden part
    _parquet(folder / ".hidden" / "part-9.parquet", rows)
    assert orderstore.read_source(folder).aggregate("count(*), sum(amount)").fetchall() == [(2, 30.0)]
    empty = tmp_path / "empty [x]"
    empty.mkdir()
    assert orderstore.read_source(empty).aggregate("count(*)").fetchall() == [(0,)]
    csvs = tmp_path / "csv [*]"
    csvs.mkdir()
    (csvs / "a.csv").write_text("customer_id,order_date,amount\nC1,2026-01-02,5\n", encoding="utf-8")
    (csvs / ".~lock.a.csv#").write_text("lock", encoding="utf-8")
    (csvs / "._a.csv").write_bytes(b"\x00\x05\x16\x07")
    assert orderstore.read_source(csvs).aggregate("count(*), sum(amount)").fetchall() == [(1, 5.0)]


def test_csv_text_amounts_and_dates_read_as_in_the_sheet_and_unreadable_ones_are_counted(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,order_date,amount\n"
                    'C1,1/5/2026,"￥1,673.00"\n'
                    "C2,05.01.2026,1200元\n"
                    "C3,2026年1月2日,RMB 100\n"
                    "C4,2026/1/2,CNY 100\n"
                    "C5,someday,eighty\n"
                    "C6,,-\n"
                    "C7,2026-01-02,eighty\n", encoding="utf-8")
    df = orderstore.read_source(path).df().set_index("customer_id")
    assert df["amount"].tolist()[:4] == [1673.0, 1200.0, 100.0, 100.0]
    assert df["amount"].iloc[4:].isna().all()
    assert df["order_date"].iloc[:4].tolist() == [pd.Timestamp(d) for d in
                                                    ("2026-01-05", "2026-05-01", "2026-01-02", "2026-01-02")]
    first = orderstore.read_source(path, dayfirst=True).df()["order_date"].iloc[:2].tolist()
    assert first == [pd.Timestamp("2026-05-01"), pd.Timestamp("2026-01-05")]       # Settings date_dayfirst
    bad = {d["field"]: d for d in orderstore.unreadable_values(path)}
    assert bad["amount"] == {"column": "amount", "field": "amount", "rows": 2, "example": "eighty"}
    assert bad["order_date"] == {"column": "order_date", "field": "order_date", "rows": 1, "example": "someday"}


def test_validate_warns_of_unreadable_amounts_in_the_order_source_naming_file_and_column(make_workspace):
    from crmkit.validate import validate_workspace

    folder = make_workspace(settings={"order_source": "orders.csv"})
    (folder / "orders.csv").write_text("customer_id,order_date,amount\nC1,2026-01-02,eighty\nC1,2026-01-03,5\n",
                                       encoding="utf-8")
    rep = validate_workspace(folder)
    hit = rep.issues[rep.issues["reason"].astype(str).str.contains("no readable number")]
    assert len(hit) == 1 and hit["severity"].iloc[0] == "warning"
    row = hit.iloc[0]
    assert row["file"].endswith("orders.csv") and row["column"] == "amount" and row["value"] == "eighty"
    assert "1 row(s)" in row["reason"]


def test_an_excel_workbook_as_order_source_says_to_import_it_with_exit_2(make_workspace, capsys):
    folder = make_workspace(settings={"order_source": "orders.xlsx"})
    pd.DataFrame({"customer_id": ["C1"], "order_date": ["2026-01-02"], "amount": [1]}).to_excel(
        folder / "orders.xlsx", index=False)
    assert main(["rfm", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "orders.xlsx" in err and "an Excel workbook cannot be an order source" in err
    assert "--entity orders" in err and "Traceback" not in err and "sniffing" not in err
    assert "Excel 工作簿不能作为订单数据源" in orderstore.msg("e_order_source_excel").render("zh")


def test_an_order_id_the_store_has_spelt_differently_is_refused_as_a_duplicate(store_ws, tmp_path):
    src = tmp_path / "o.csv"
    src.write_text("Order ID,Customer ID,Order date,Amount\n1001,C00001,2026-11-18,10\n", encoding="utf-8")
    assert import_file(src, store_ws, entity="orders").imported == 1
    again = tmp_path / "again.csv"
    again.write_text("Order ID,Customer ID,Order date,Amount\n1001.0,C00001,2026-11-18,10\n"
                     ",C00002,2026-11-19,20\n", encoding="utf-8")
    res = import_file(again, store_ws, entity="orders")
    assert (res.imported, res.rejected) == (1, 1)
    hit = res.issues[res.issues["reason"].astype(str).str.contains("already in the order store")]
    assert hit["row"].tolist() == [2] and hit["value"].tolist() == ["1001"]
    ws = open_workspace(store_ws)
    rel = orderstore.workspace_orders(ws)
    assert rel.filter("order_id = '1001'").aggregate("count(*)").fetchall() == [(1,)]
    assert rel.aggregate("count(*)").fetchall() == [(2968,)]
def _page(ws, as_of, **filters) -> dict:
    """What the Overview shows under ``filters`` (owner / source / created), read as its notebook reads it."""
    from crmkit.dashboard.products_view import product_view

    scope = an.scope_workspace(ws, **filters)
    orders = orderstore.orders_of(scope)
    view = product_view(ws, orders, as_of, "en")
    return {"kpis": an.kpi_summary(scope, as_of, "month"),
            "trend": an.trend(scope["customers"], orders, as_of, "M", 12),
            "revenue": an.product_revenue(orders, ws["products"], as_of=as_of),
            "html": (view.note, view.categories_html, view.products_html, view.low_stock_html, view.top_html)}


def test_the_overviews_owner_and_channel_filters_choose_the_same_orders_from_the_sheet_and_from_a_source(sheet,
                                                                                                       tmp_path):
    folder = _with_source(sheet, tmp_path, "store.parquet", _parquet)
    src = open_workspace(folder)
    ws = open_workspace(sheet["folder"])
    as_of = ws.as_of()
    customers = ws["customers"]
    owner = customers["owner"].dropna().value_counts().index[0]
    channel = customers["source"].dropna().value_counts().index[0]
    whole = _page(ws, as_of)
    for filters in ({"owner": owner}, {"source": channel}, {"owner": owner, "source": channel}):
        want, got = _page(ws, as_of, **filters), _page(src, as_of, **filters)
        pd.testing.assert_frame_equal(got["kpis"], want["kpis"])
        pd.testing.assert_frame_equal(got["trend"], want["trend"])
        pd.testing.assert_frame_equal(got["revenue"], want["revenue"])
        assert got["html"] == want["html"]
        # the filter narrows the orders (it is not ignored): less revenue than the whole workspace's
        assert 0 < want["revenue"]["revenue"].sum() < whole["revenue"]["revenue"].sum()
        assert want["trend"]["revenue"].sum() < whole["trend"]["revenue"].sum()
    assert _page(src, as_of)["html"] == whole["html"]            # unfiltered too, RFM segments included
    assert "crmkit-top-products" in whole["html"][4] and not whole["html"][0]
