"""Rows typed in Excel without an ID get one on the next write, then the rules act on them;
rows with validation errors are never acted on: RuleLog lists them as skipped, with the reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from crmkit.rules.engine import run_rules
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ids") / "w"
    r = subprocess.run([sys.executable, "-m", "crmkit", "sample", str(folder), "--customers", "200"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return folder


def type_rows(path: Path, rows: list[dict]) -> None:
    """Append rows to the Customers sheet as a person would in Excel (by header)."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Customers"]
    headers = {c.value: c.column for c in ws[1] if c.value}
    for row in rows:
        r = ws.max_row + 1
        for header, value in row.items():
            ws.cell(row=r, column=headers[header], value=value)
    wb.save(path)


def lead(name: str, created) -> dict:
    return {"Customer ID *": None, "Customer name *": name, "Source *": "Website form", "Intent level": "A",
            "Stage": "Lead", "Created *": created}


def headers_ok(path: Path) -> None:
    wb = openpyxl.load_workbook(path, read_only=True)
    hs = [c.value for c in next(wb["Customers"].iter_rows(max_row=1))]
    wb.close()
    for h in ("Customer ID *", "Customer name *", "Source *", "Intent level", "Stage", "Created *"):
        assert h in hs, hs


def test_blank_id_row_gets_an_id_recorded_in_history_and_the_rules_act_on_it(sample, tmp_path):
    ws_dir = tmp_path / "w"
    shutil.copytree(sample, ws_dir)
    headers_ok(ws_dir / "customers.xlsx")
    before = open_workspace(ws_dir)["customers"]["customer_id"].dropna().tolist()
    type_rows(ws_dir / "customers.xlsx", [lead("Typed By Hand Ltd", "2026-11-20")])

    ws = open_workspace(ws_dir)
    result = run_rules(ws)
    assert not result.errors

    after = open_workspace(ws_dir)
    cust = after["customers"]
    row = cust[cust["name"] == "Typed By Hand Ltd"]
    assert len(row) == 1
    new_id = str(row["customer_id"].iloc[0])
    assert new_id and new_id not in before
    assert new_id == f"C{max(int(x[1:]) for x in before) + 1:05d}"       # the import's allocator
    hist = after["history"]
    rec = hist[(hist["record_id"] == new_id) & (hist["field"] == "customer_id")]
    assert len(rec) == 1 and rec["by"].iloc[0] == "crmkit" and rec["new"].iloc[0] == new_id
    assert rec["old"].isna().iloc[0]
    log = after["rule_log"]
    acted = log[(log["record_id"] == new_id) & (log["outcome"] == "done")]
    assert "R01A" in set(acted["rule_id"])            # a website lead with intent A got an owner
    assert row["owner"].notna().iloc[0]


def test_a_row_with_errors_is_skipped_with_the_reason_then_acted_on_once_fixed(sample, tmp_path):
    ws_dir = tmp_path / "w"
    shutil.copytree(sample, ws_dir)
    type_rows(ws_dir / "customers.xlsx", [lead("Broken Date Co", "next tuesday-ish")])

    result = run_rules(open_workspace(ws_dir))
    assert result.summary()["skipped_invalid"] >= 1
    w = open_workspace(ws_dir)
    cust = w["customers"]
    row = cust[cust["name"] == "Broken Date Co"]
    rid = str(row["customer_id"].iloc[0])
    assert row["owner"].isna().iloc[0]                # R01A did not act on it
    log = w["rule_log"]
    mine = log[log["record_id"] == rid]
    assert len(mine) and set(mine["outcome"]) == {"skipped"}
    assert mine["detail"].str.contains("Created").all()
    assert not (mine["outcome"] == "done").any()

    # run again the same day: not logged twice
    run_rules(open_workspace(ws_dir))
    log2 = open_workspace(ws_dir)["rule_log"]
    assert len(log2[log2["record_id"] == rid]) == len(mine)

    # fixed in Excel: acted on at the next run, the same day
    wb = openpyxl.load_workbook(ws_dir / "customers.xlsx")
    sh = wb["Customers"]
    hs = {c.value: c.column for c in sh[1] if c.value}
    for r in range(2, sh.max_row + 1):
        if sh.cell(row=r, column=hs["Customer name *"]).value == "Broken Date Co":
            sh.cell(row=r, column=hs["Created *"]).value = "2026-11-20"
    wb.save(ws_dir / "customers.xlsx")
    res = run_rules(open_workspace(ws_dir))
    assert res.summary()["skipped_invalid"] == 0
    log3 = open_workspace(ws_dir)["rule_log"]
    assert ((log3["record_id"] == rid) & (log3["rule_id"] == "R01A") & (log3["outcome"] == "done")).any()


def test_dry_run_shows_the_skipped_rows_and_json_counts_them(sample, tmp_path):
    ws_dir = tmp_path / "w"
    shutil.copytree(sample, ws_dir)
    type_rows(ws_dir / "customers.xlsx", [lead("Broken Date Co", "not a date")])
    r = subprocess.run([sys.executable, "-m", "crmkit", "run", str(ws_dir), "--json"], capture_output=True,
                       text=True)
    import json

    payload = json.loads(r.stdout)
    assert payload["skipped_invalid"] >= 1
