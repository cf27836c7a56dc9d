"""Excel's limits and missing sheets (issue 14, item 7)."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from crmkit import importer
from crmkit.cli import main
from crmkit.importer import import_file
from crmkit.templates import write_workspace
from crmkit.workspace import open_workspace

CUSTOMERS = pd.DataFrame({
    "customer_id": ["C00001", "C00002", "C00003"], "name": ["Acme", "Bolt", "Cogs"],
    "source": ["referral", "other", "other"], "created_at": pd.to_datetime(["2026-01-05"] * 3)})
ORDERS = pd.DataFrame({
    "order_id": ["O1", "O2", "O3"], "customer_id": ["C00001", "C00002", "C00003"],
    "order_date": pd.to_datetime(["2026-10-01", "2026-10-02", "2026-10-03"]), "amount": [100.0, 250.0, 80.0]})


@pytest.fixture
def ws(tmp_path):
    return write_workspace(tmp_path / "ws", {"customers": CUSTOMERS, "orders": ORDERS},
                           settings={"as_of": "2026-11-20 10:00"})


def _rename(path, old, new=None):
    book = openpyxl.load_workbook(path)
    if new is None:
        del book[old]
    else:
        book[old].title = new
    book.save(path)


@pytest.mark.parametrize("command", [["validate"], ["rfm"], ["run", "--dry-run"]])
def test_a_renamed_orders_sheet_is_an_error_naming_the_lookalike(ws, command, capsys):
    _rename(ws / "customers.xlsx", "Orders", "Orders 2024")
    code = main([command[0], str(ws), *command[1:]])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in out + err and "No orders yet" not in out
    assert "no sheet 'Orders'" in err and "sheet 'Orders 2024' has its columns" in err
    assert err.count("\n") == 1


def test_a_deleted_orders_sheet_is_an_error(ws, capsys):
    _rename(ws / "customers.xlsx", "Orders")
    assert main(["rfm", str(ws)]) == 2
    assert "no sheet 'Orders' / '订单'" in capsys.readouterr().err


def test_a_sheet_added_by_a_later_version_may_be_missing(ws):
    _rename(ws / "rules.xlsx", "ImportMap")
    _rename(ws / "customers.xlsx", "Deals")
    w = open_workspace(ws)
    assert len(w["import_map"]) == 0 and len(w["deals"]) == 0 and len(w["orders"]) == 3


def test_an_import_past_excels_rows_is_refused_before_writing(ws, tmp_path, monkeypatch, capsys):
    # the limit is lowered so the test stays small; the count is the same arithmetic at 1,048,576
    monkeypatch.setattr(importer, "EXCEL_MAX_ROWS", 5)
    src = tmp_path / "more.csv"
    src.write_text("Customer name,Source\nDelta,referral\nEcho,referral\n", encoding="utf-8")
    before = (ws / "customers.xlsx").read_bytes()
    assert main(["import", str(src), "--into", str(ws)]) == 1
    err = capsys.readouterr().err
    assert "3 existing + 2 new rows = 5 rows" in err and "sheet 'Customers'" in err and "nothing was written" in err
    assert (ws / "customers.xlsx").read_bytes() == before
    src.write_text("Customer name,Source\nDelta,referral\n", encoding="utf-8")
    assert import_file(src, ws).imported == 1                       # 4 rows + header fit


@pytest.mark.slow
def test_an_import_of_a_million_rows_into_a_full_sheet_is_refused(ws, tmp_path, capsys):
    src = tmp_path / "huge.csv"
    with src.open("w", encoding="utf-8") as fh:
        fh.write("Customer name,Source\n")
        fh.writelines(f"Firm {i},referral\n" for i in range(importer.EXCEL_MAX_ROWS - 3))
    assert main(["import", str(src), "--into", str(ws)]) == 1
    assert "rows below its header" in capsys.readouterr().err
