"""Team mode on files, end to end: ``crmkit split`` of the sample workspace, three reps editing their
workbooks as people do (openpyxl for Excel; one rep's workbook re-saved by LibreOffice headless), the
manager editing the main workspace meanwhile, then ``crmkit merge`` of each rep and a second merge.

Scripted edits:

- Alex (rep): a phone changed (only the rep: applied); the stage of a customer whose stage the manager
  also changed, to something else (a conflict, not applied, then applied with ``--prefer rep``); the
  notes of a customer whose e-mail the manager changed (both kept); one interaction deleted (listed,
  never deleted); a new customer with two new interactions (main IDs, references rewritten).
- Sam (rep): next follow-up and notes on a customer the manager reassigned to Jordan since the split
  (the edits are applied, the reassignment reported).
- Jordan (rep): the region of one customer, then LibreOffice re-saves the whole workspace: only that
  cell is applied, every other row is unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.cli import main as cli
from crmkit.schema import ENTITIES
from crmkit.teamwork.merge import merge_rep
from crmkit.teamwork.split import split_workspace
from crmkit.validate import validate_path
from crmkit.workspace import open_workspace

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
REPS = ("Alex Chen", "Sam Patel", "Jordan Kim")
RECORDS = ("customers", "interactions", "orders", "deals", "tasks", "tickets")


# --------------------------------------------------------------------------- editing as a person would

def _header(ws, startswith: str) -> int:
    for cell in ws[1]:
        if str(cell.value or "").rstrip(" *") == startswith:
            return cell.column
    raise AssertionError(f"no column {startswith!r} in {ws.title}: {[c.value for c in ws[1]]}")


def _row_of(ws, record_id: str) -> int:
    for row in range(2, ws.max_row + 1):
        if ws.cell(row, 1).value == record_id:
            return row
    raise AssertionError(f"{record_id} not in {ws.title}")


def edit(path: Path, sheet: str, changes: list[tuple[str, str, object]]) -> None:
    """``(record id, column header, value)`` typed into ``sheet`` of the workbook at ``path``."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    for rid, header, value in changes:
        ws.cell(_row_of(ws, rid), _header(ws, header), value)
    wb.save(path)


def delete_row(path: Path, sheet: str, record_id: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    ws.delete_rows(_row_of(ws, record_id))
    wb.save(path)


def add_row(path: Path, sheet: str, values: dict[str, object]) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    row = ws.max_row + 1
    while row > 2 and ws.cell(row - 1, 1).value is None and ws.cell(row - 1, 2).value is None:
        row -= 1
    for header, value in values.items():
        ws.cell(row, _header(ws, header), value)
    wb.save(path)


def libreoffice_resave(folder: Path, tmp: Path) -> bool:
    """Open and save every workbook of ``folder`` with LibreOffice headless (as a person saving in Calc);
    False when LibreOffice is not installed."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return False
    out = tmp / "lo-out"
    out.mkdir()
    files = sorted(folder.glob("*.xlsx"))
    profile = (tmp / "lo-profile").as_uri()
    subprocess.run([soffice, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "xlsx",
                    "--outdir", str(out), *map(str, files)], check=True, timeout=240,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for f in files:
        shutil.copyfile(out / f.name, f)
    return True


# --------------------------------------------------------------------------- the scenario

@pytest.fixture(scope="module")
def team(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("team")
    main = tmp / "main"
    shutil.copytree(SAMPLE, main, ignore=shutil.ignore_patterns(".crmkit"))
    split = split_workspace(main, tmp / "reps", REPS)
    folders = {m.name: m.folder for m in split.members}
    ws = open_workspace(main)
    cust = ws["customers"]
    inter = ws["interactions"]

    def owned(name, n):
        return cust.loc[cust["owner"] == name, "customer_id"].astype(str).tolist()[:n]

    a_phone, a_conflict, a_both = owned("Alex Chen", 3)
    a_inter = inter.loc[inter["customer_id"] == a_phone, "interaction_id"].astype(str).tolist()[0]
    (s_moved,) = owned("Sam Patel", 1)
    (j_region,) = owned("Jordan Kim", 1)
    ids = {"a_phone": a_phone, "a_conflict": a_conflict, "a_both": a_both, "a_inter": a_inter,
           "s_moved": s_moved, "j_region": j_region}
    base = {k: v.copy() for k, v in ws.load_all().items()}

    # the manager, in the main workspace, after the split
    mcust = cust.copy()
    at = mcust["customer_id"].astype(str)
    mcust.loc[at == a_conflict, "stage"] = "negotiation"
    mcust.loc[at == a_both, "email"] = "new.address@example.com"
    mcust.loc[at == s_moved, "owner"] = "Jordan Kim"
    ws.replace("customers", mcust)
    ws.save()

    # the reps, in their own workbooks
    alex = folders["Alex Chen"] / "customers.xlsx"
    stage = ENTITIES["customers"].field("stage").enum
    edit(alex, "Customers", [(a_phone, "Phone", "+8613912345678"),
                             (a_conflict, "Stage", stage.label("proposal", "en")),
                             (a_both, "Notes", "Prefers calls after 3 pm")])
    delete_row(alex, "Interactions", a_inter)
    add_row(alex, "Customers", {"Customer ID": "NEW-1", "Customer name": "Brand New Ltd", "Phone": "+8613700000001",
                                "Source": "referral", "Owner": "Alex Chen", "Created": "2026-11-30"})
    for n in (1, 2):
        add_row(alex, "Interactions", {"Customer ID": "NEW-1", "Time": f"2026-12-0{n} 10:00",
                                       "Content": f"Visit {n}", "Owner": "Alex Chen"})
    edit(folders["Sam Patel"] / "customers.xlsx", "Customers",
         [(s_moved, "Notes", "Renewal talk booked"), (s_moved, "Next follow-up", "2026-12-15 09:30")])
    edit(folders["Jordan Kim"] / "customers.xlsx", "Customers", [(j_region, "Region", "Chengdu")])
    resaved = libreoffice_resave(folders["Jordan Kim"], tmp)

    results = {name: merge_rep(main, folders[name]) for name in REPS}
    return {"main": main, "folders": folders, "ids": ids, "base": base, "results": results, "split": split,
            "resaved": resaved}


def _customer(main: Path, cid: str) -> pd.Series:
    c = open_workspace(main)["customers"]
    return c[c["customer_id"].astype(str) == cid].iloc[0]


def test_split_gave_each_rep_only_their_customers(team):
    base = team["base"]["customers"]
    for m in team["split"].members:
        assert m.counts["customers"] == int((base["owner"] == m.name).sum())
        mine = open_workspace(m.folder)["customers"]
        assert set(mine["owner"].dropna()) == {m.name}      # the split, and what the rep added


def test_alex_merge_applies_keeps_lists_and_adds(team):
    res, ids, main = team["results"]["Alex Chen"], team["ids"], team["main"]
    assert _customer(main, ids["a_phone"])["phone"] == "+8613912345678"
    # the manager's e-mail and Alex's notes on the same customer are both there
    both = _customer(main, ids["a_both"])
    assert both["email"] == "new.address@example.com" and both["notes"] == "Prefers calls after 3 pm"
    # the conflict: listed with base, main and rep, not applied
    assert _customer(main, ids["a_conflict"])["stage"] == "negotiation"
    conflict = res.conflicts[res.conflicts["record_id"] == ids["a_conflict"]]
    assert len(conflict) == 1 and conflict.iloc[0]["field"] == "stage"
    assert res.open_conflicts == 1 and res.exit_code == 1
    assert res.conflict_workbook and Path(res.conflict_workbook).is_file()
    # the deleted interaction is listed and still in main
    assert ids["a_inter"] in res.deletions["record_id"].astype(str).tolist()
    inter = open_workspace(main)["interactions"]
    assert ids["a_inter"] in inter["interaction_id"].astype(str).tolist()
    # the new customer got a main ID, and its two interactions point to it
    cust = open_workspace(main)["customers"]
    new = cust[cust["name"] == "Brand New Ltd"]
    assert len(new) == 1
    new_id = str(new["customer_id"].iloc[0])
    assert new_id != "NEW-1" and new_id.startswith("C")
    visits = inter[inter["content"].astype(str).str.startswith("Visit ")]
    assert sorted(visits["customer_id"].astype(str)) == [new_id, new_id]
    assert not (inter["customer_id"].astype(str) == "NEW-1").any()
    assert res.total("new") == 3


def test_counts_add_up_and_history_names_the_rep_workspace(team):
    for name, res in team["results"].items():
        man_rows = {k: len(open_workspace(team["folders"][name])[k]) for k in RECORDS}
        for entity, c in res.counts.items():
            # every row of the rep workspace is applied, unchanged, conflicting or new; deleted rows come on top
            assert c.applied + c.unchanged + c.conflicting + c.new == man_rows[entity], (name, entity)
        hist = open_workspace(team["main"])["history"]
        mine = hist[hist["by"].astype(str) == res.by]
        assert len(mine) == res.history_rows >= res.total("cells_applied") > 0
    alex = team["results"]["Alex Chen"]
    assert alex.total("applied") == 2          # the phone, the notes


def test_reassigned_customer_still_takes_the_reps_edits(team):
    res, ids, main = team["results"]["Sam Patel"], team["ids"], team["main"]
    moved = _customer(main, ids["s_moved"])
    assert moved["owner"] == "Jordan Kim"
    assert moved["notes"] == "Renewal talk booked"
    assert moved["next_follow_up_at"] == pd.Timestamp("2026-12-15 09:30")
    assert ids["s_moved"] in res.reassigned["customer_id"].astype(str).tolist()
    assert res.exit_code == 0


def test_libreoffice_resaved_workspace_merges_only_the_edit(team):
    if not team["resaved"]:
        pytest.skip("LibreOffice (soffice) is not installed")
    res, ids, main = team["results"]["Jordan Kim"], team["ids"], team["main"]
    assert _customer(main, ids["j_region"])["region"] == "Chengdu"
    assert res.total("cells_applied") == 1
    assert res.total("conflicting") == 0 and res.total("deleted") == 0 and res.total("new") == 0
    assert res.exit_code == 0


def test_main_validates_and_a_second_merge_is_a_no_op(team):
    main = team["main"]
    assert validate_path(main).errors == 0
    before = {k: v.copy() for k, v in open_workspace(main).load_all().items()}
    for name in REPS:
        again = merge_rep(main, team["folders"][name])
        assert again.total("cells_applied") == 0 and again.total("new_added") == 0, name
        assert again.history_rows == 0 and not again.written, name
    after = open_workspace(main).load_all()
    for k in RECORDS + ("history",):
        pd.testing.assert_frame_equal(before[k].reset_index(drop=True), after[k].reset_index(drop=True))


def test_prefer_rep_settles_the_conflict_from_the_command_line(team, capsys):
    main, ids = team["main"], team["ids"]
    code = cli(["merge", str(main), str(team["folders"]["Alex Chen"]), "--prefer", "rep", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert _customer(main, ids["a_conflict"])["stage"] == "proposal"
    assert out["open_conflicts"] == 0 and out["new_added"] == 0
    assert code == 1          # the deleted interaction still waits for a person
    assert os.path.isfile(out["conflict_workbook"])
