"""``crmkit merge DIR REP_FOLDER``: a rep's workspace merged back into the main one, cell by cell.

The story, on the sample workspace: Alex Chen's records are split into a rep
workspace (copied workbooks cut down to Alex's scope by the workspace API,
and a split manifest: the base).  Then Alex edits some customers, deletes
one and adds two with an interaction each (one of them the same company as a
customer of Sam Patel's, by phone), while the main side edits, conflicts and
reassigns one of Alex's customers to Sam.  Each test merges a fresh copy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from crmkit.cli import main as cli_main
from crmkit.team import scope_for, scoped_tables
from crmkit.teamwork.manifest import SplitManifest, workspace_id
from crmkit.teamwork.merge import MERGED, conflict_workbook_path, merge_rep
from crmkit.teamwork.merge_record import path as record_path
from crmkit.validate import validate_path
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
REP = "Alex Chen"
BY = f"merge:{REP}"
AT = pd.Timestamp("2026-11-20 10:00")


# --------------------------------------------------------------------------- building the story

def split_rep(main: Path, folder: Path, owner: str) -> Path:
    """A rep workspace of ``owner``'s records with its split manifest (what ``crmkit split`` writes)."""
    folder.mkdir(parents=True)
    for p in main.glob("*.xlsx"):
        shutil.copy2(p, folder / p.name)
    ws = open_workspace(folder)
    for k, df in scoped_tables(scope_for(ws["team"], owner), {k: ws[k] for k in MERGED}).items():
        ws.replace(k, df)
    ws.save()
    ws = open_workspace(folder)
    man = SplitManifest(owner=owner, role="rep", owners=[owner], workspace_id=workspace_id(main, create=True),
                        main=str(main), lang=ws.lang, split_at=AT.isoformat())
    for k in MERGED:
        man.add_table(k, ws[k])
    man.write(folder)
    return folder


def edit(folder: Path, entity: str, change) -> None:
    """Change one table of a workspace through the workspace API (as a person in Excel would, then saved)."""
    ws = open_workspace(folder)
    df = ws[entity].copy()
    df = change(df)
    ws.replace(entity, df)
    ws.save()


def at_id(df: pd.DataFrame, cid: str, field: str, value) -> pd.DataFrame:
    df.loc[df["customer_id"] == cid, field] = value
    return df


class Story:
    """The IDs the story uses (Alex's first customers, by ID) and a customer of Sam's."""

    def __init__(self, main: Path):
        c = open_workspace(main)["customers"].sort_values("customer_id")
        alex = c[c["owner"] == REP]["customer_id"].tolist()
        self.rep_only, self.main_only, self.conflict, self.reassigned, self.deleted = alex[:5]
        self.untouched = alex[5]
        sam = c[(c["owner"] == "Sam Patel") & c["phone"].notna()].iloc[0]
        self.sam_id, self.sam_phone, self.sam_name = sam["customer_id"], sam["phone"], sam["name"]


def new_customers(story: Story) -> pd.DataFrame:
    return pd.DataFrame([
        {"customer_id": "C-NEW-1", "name": "Harbour Lights Trading 港灯贸易", "contact_name": "Lin Hai",
         "phone": "+8613900001111", "source": "referral", "owner": REP, "created_at": pd.Timestamp("2026-11-18"),
         "stage": "lead"},
        {"customer_id": "C-NEW-2", "name": story.sam_name, "phone": story.sam_phone, "source": "trade_show",
         "owner": REP, "created_at": pd.Timestamp("2026-11-18"), "notes": "met at the fair"},
    ])


def new_interactions() -> pd.DataFrame:
    return pd.DataFrame([
        {"interaction_id": None, "customer_id": "C-NEW-1", "at": pd.Timestamp("2026-11-19 09:30"),
         "method": "phone", "content": "First call with Lin Hai", "owner": REP},
        {"interaction_id": None, "customer_id": "C-NEW-2", "at": pd.Timestamp("2026-11-19 11:00"),
         "method": "visit", "content": "Visited the stand", "owner": REP},
    ])


def rep_edits(rep: Path, s: Story) -> None:
    def customers(df):
        at_id(df, s.rep_only, "notes", "Prefers WeChat 喜欢微信联系")
        at_id(df, s.rep_only, "title", "Purchasing lead")
        at_id(df, s.conflict, "stage", "proposal")
        at_id(df, s.conflict, "notes", "rep note on the conflict customer")
        at_id(df, s.reassigned, "intent_level", "A")
        df = df[df["customer_id"] != s.deleted]
        return pd.concat([df, new_customers(s)], ignore_index=True)

    edit(rep, "customers", customers)
    edit(rep, "interactions", lambda df: pd.concat([df, new_interactions()], ignore_index=True))
    edit(rep, "tasks", lambda df: pd.concat([df, pd.DataFrame([{
        "task_id": "T-NEW-1", "customer_id": "C-NEW-1", "title": "Send the catalogue", "owner": REP,
        "due_at": pd.Timestamp("2026-11-25 10:00"), "status": "open", "created_by": REP,
        "created_at": pd.Timestamp("2026-11-19 10:00")}])], ignore_index=True))


def main_edits(main: Path, s: Story) -> None:
    def customers(df):
        at_id(df, s.main_only, "industry", "manufacturing")
        at_id(df, s.conflict, "stage", "negotiation")
        at_id(df, s.reassigned, "owner", "Sam Patel")
        return df

    edit(main, "customers", customers)


@pytest.fixture(scope="module")
def story_dirs(tmp_path_factory):
    """main (as after the main side's edits) and Alex's rep folder (after Alex's edits), built once."""
    root = tmp_path_factory.mktemp("story")
    main = root / "main"
    shutil.copytree(SAMPLE, main)
    rep = split_rep(main, root / "reps" / "alex", REP)
    s = Story(main)
    rep_edits(rep, s)
    main_edits(main, s)
    return main, rep, s


@pytest.fixture
def story(story_dirs, tmp_path):
    main0, rep0, s = story_dirs
    main, rep = tmp_path / "main", tmp_path / "reps" / "alex"
    shutil.copytree(main0, main)
    shutil.copytree(rep0, rep)
    return main, rep, s


def customer(main: Path, cid: str) -> pd.Series:
    c = open_workspace(main)["customers"]
    return c[c["customer_id"] == cid].iloc[0]


def history(main: Path) -> pd.DataFrame:
    return open_workspace(main)["history"]


def file_state(main: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(main.glob("*.xlsx"))}


# --------------------------------------------------------------------------- the merge

def test_rep_only_changes_are_applied_with_history_and_main_only_changes_kept(story):
    main, rep, s = story
    res = merge_rep(main, rep)
    c = customer(main, s.rep_only)
    assert c["notes"] == "Prefers WeChat 喜欢微信联系" and c["title"] == "Purchasing lead"
    assert customer(main, s.main_only)["industry"] == "manufacturing"
    h = history(main)
    mine = h[(h["record_id"] == s.rep_only) & (h["by"] == BY)]
    assert set(mine["field"]) == {"notes", "title"}
    assert mine.set_index("field").loc["title", "new"] == "Purchasing lead"
    assert res.counts["customers"].kept_main >= 1
    assert validate_path(main).errors == 0


def test_a_conflict_is_listed_not_applied_then_applied_with_prefer_rep(story):
    main, rep, s = story
    res = merge_rep(main, rep)
    conf = res.conflicts
    assert conf[["record_id", "field", "base", "main", "rep", "resolution"]].to_dict("records") == [
        {"record_id": s.conflict, "field": "stage", "base": customer(SAMPLE, s.conflict)["stage"],
         "main": "negotiation", "rep": "proposal", "resolution": "open"}]
    assert customer(main, s.conflict)["stage"] == "negotiation"
    # the other edit of the same row is applied
    assert customer(main, s.conflict)["notes"] == "rep note on the conflict customer"
    assert res.exit_code == 1
    book = conflict_workbook_path(rep)
    assert res.conflict_workbook == str(book) and book.parent == rep.parent
    sheets = pd.read_excel(book, sheet_name=None, engine="openpyxl")
    assert list(sheets) == ["Summary", "Conflicts", "Deleted by the rep", "Rejected new rows", "Reassigned"]
    row = sheets["Conflicts"].iloc[0]
    assert (row["Record ID"], row["Field"], row["Main workspace now"], row["Rep workspace"]) == (
        s.conflict, "Stage", "negotiation", "proposal")
    again = merge_rep(main, rep, prefer="rep")
    assert customer(main, s.conflict)["stage"] == "proposal"
    assert again.total("cells_applied") == 1
    assert again.open_conflicts == 0 and again.conflicts["resolution"].tolist() == ["rep"]
    h = history(main)
    assert ((h["record_id"] == s.conflict) & (h["field"] == "stage") & (h["new"] == "proposal")
            & (h["by"] == BY)).sum() == 1
    # settled: a third merge lists no conflict
    third = merge_rep(main, rep)
    assert third.total("conflicts") == 0 and third.total("cells_applied") == 0


def test_prefer_main_keeps_the_main_value_and_settles_the_conflict(story):
    main, rep, s = story
    res = merge_rep(main, rep, prefer="main")
    assert customer(main, s.conflict)["stage"] == "negotiation"
    assert res.conflicts["resolution"].tolist() == ["main"] and res.open_conflicts == 0
    assert merge_rep(main, rep).total("conflicts") == 0


def test_a_customer_reassigned_in_main_still_takes_the_reps_edits_and_is_reported(story):
    main, rep, s = story
    res = merge_rep(main, rep)
    c = customer(main, s.reassigned)
    assert c["owner"] == "Sam Patel" and c["intent_level"] == "A"
    assert res.reassigned[["customer_id", "base_owner", "main_owner", "cells_applied"]].to_dict("records") == [
        {"customer_id": s.reassigned, "base_owner": REP, "main_owner": "Sam Patel", "cells_applied": 1}]


def test_a_rep_deletion_is_listed_and_not_applied(story):
    main, rep, s = story
    res = merge_rep(main, rep)
    assert customer(main, s.deleted)["owner"] == REP
    assert res.deletions[["entity", "record_id"]].to_dict("records") == [{"entity": "customers",
                                                                          "record_id": s.deleted}]
    assert res.counts["customers"].deleted == 1 and res.exit_code == 1


def test_new_customers_get_main_ids_their_interactions_follow_and_a_duplicate_merges_as_an_import(story):
    main, rep, s = story
    before = open_workspace(main)
    n_cust, n_int = len(before["customers"]), len(before["interactions"])
    res = merge_rep(main, rep)
    ws = open_workspace(main)
    c, i, t = ws["customers"], ws["interactions"], ws["tasks"]
    ids = res.new_ids.set_index(["entity", "rep_id"])
    new1 = ids.loc[("customers", "C-NEW-1"), "record_id"]
    assert new1.startswith("C") and new1 != "C-NEW-1" and new1 not in set(before["customers"]["customer_id"])
    assert ids.loc[("customers", "C-NEW-1"), "outcome"] == "imported"
    # the duplicate (Sam's customer's phone) was matched to that customer as an import would
    assert ids.loc[("customers", "C-NEW-2"), ["record_id", "outcome"]].tolist() == [s.sam_id, "updated"]
    assert len(c) == n_cust + 1 and "C-NEW-1" not in set(c["customer_id"]) and "C-NEW-2" not in set(c["customer_id"])
    assert c.loc[c["customer_id"] == s.sam_id, "notes"].iloc[0].endswith("met at the fair")
    # references rewritten: the new interactions and the new task point at the main IDs
    got = i.iloc[n_int:]
    assert dict(zip(got["content"], got["customer_id"])) == {"First call with Lin Hai": new1,
                                                             "Visited the stand": s.sam_id}
    assert got["interaction_id"].notna().all()
    task = t[t["title"] == "Send the catalogue"].iloc[0]
    assert task["customer_id"] == new1 and task["task_id"] != "T-NEW-1"
    h = history(main)
    made = h[(h["record_id"] == new1) & (h["field"] == "customer_id")]
    assert made[["old", "new", "by"]].to_dict("records") == [{"old": "C-NEW-1", "new": new1, "by": BY}]
    assert res.counts["customers"].new == 2 and res.counts["customers"].new_added == 1
    assert res.counts["customers"].new_matched == 1 and res.counts["interactions"].new_added == 2
    assert validate_path(main).errors == 0


def test_counts_add_up(story):
    main, rep, s = story
    n_hist = len(history(main))
    res = merge_rep(main, rep)
    sm = res.summary()
    assert sm["rows"] == sm["applied"] + sm["unchanged"] + sm["conflicting"] + sm["new"] + sm["deleted"]
    assert sm["new"] == sm["new_added"] + sm["new_matched"] + sm["new_rejected"]
    rep_ws, base = open_workspace(rep), SplitManifest.read(rep).base
    for k in MERGED:
        c = sm["by_entity"][k]
        keys = set(rep_ws[k][rep_ws.entity(k).id_field].dropna()) | set(base[k])
        blank = int(rep_ws[k][rep_ws.entity(k).id_field].isna().sum())
        assert c["rows"] == len(keys) + blank, k
    cust = sm["by_entity"]["customers"]
    assert (cust["applied"], cust["conflicting"], cust["new"], cust["deleted"]) == (2, 1, 2, 1)
    assert sm["cells_applied"] == 4 and sm["conflicts"] == 1          # notes+title, notes, intent_level
    assert sm["history_rows"] == len(history(main)) - n_hist > sm["cells_applied"]


def test_dry_run_writes_nothing(story):
    main, rep, s = story
    before, rep_before = file_state(main), file_state(rep)
    res = merge_rep(main, rep, dry_run=True)
    assert res.dry_run and res.total("cells_applied") == 4 and res.total("new_added") == 4
    assert file_state(main) == before and file_state(rep) == rep_before
    assert not record_path(main, SplitManifest.read(rep).split_id).exists()
    assert not conflict_workbook_path(rep).exists()


def test_a_second_merge_applies_nothing_and_adds_no_row_twice(story):
    main, rep, s = story
    first = merge_rep(main, rep)
    assert first.total("new_added") == 4 and record_path(main, SplitManifest.read(rep).split_id).is_file()
    before = file_state(main)
    n_hist = len(history(main))
    again = merge_rep(main, rep)
    assert again.total("cells_applied") == 0 and again.total("new") == 0 and again.written == []
    assert again.total("rows") == first.total("rows") - first.total("new_rejected")
    assert file_state(main) == before and len(history(main)) == n_hist
    # still listed for a person: the open conflict and the deletion
    assert again.open_conflicts == 1 and again.total("deleted") == 1


def test_a_rep_workspace_re_saved_by_libreoffice_merges_the_same(story, tmp_path):
    main, rep, s = story
    plain = tmp_path / "plain"
    shutil.copytree(main, plain)
    expected = merge_rep(plain, rep, dry_run=True).summary()
    out = tmp_path / "lo"
    profile = f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}"
    files = [str(p) for p in sorted(rep.glob("*.xlsx"))]
    done = subprocess.run(["soffice", profile, "--headless", "--convert-to", "xlsx", "--outdir", str(out), *files],
                          capture_output=True, timeout=240)
    assert done.returncode == 0, done.stderr
    for p in out.glob("*.xlsx"):
        shutil.copy2(p, rep / p.name)
    got = merge_rep(main, rep).summary()
    keys = ("rows", "applied", "unchanged", "conflicting", "new", "deleted", "cells_applied", "conflicts",
            "new_added", "new_matched", "new_rejected")
    assert {k: got[k] for k in keys} == {k: expected[k] for k in keys}
    assert customer(main, s.rep_only)["title"] == "Purchasing lead"


def test_a_rep_workspace_of_another_workspace_is_refused(story, tmp_path):
    main, rep, s = story
    other = tmp_path / "other"
    shutil.copytree(SAMPLE, other)
    before = file_state(other)
    code = cli_main(["merge", str(other), str(rep)])
    assert code == 2 and file_state(other) == before
    assert cli_main(["merge", str(main), str(main)]) == 2
    assert cli_main(["merge", str(main), str(other)]) == 2          # no manifest


def test_cli_json_and_exit_codes(story, capsys):
    main, rep, s = story
    code = cli_main(["merge", str(main), str(rep), "--json", "--dry-run"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["dry_run"] and out["conflicts"] == 1 and out["deleted"] == 1
    assert out["rows"] == out["applied"] + out["unchanged"] + out["conflicting"] + out["new"] + out["deleted"]
    code = cli_main(["--lang", "zh", "merge", str(main), str(rep), "--prefer", "rep"])
    text = capsys.readouterr().out
    assert code == 1 and "已合并单元格" in text and "销售代表工作区中删除的记录" in text


def test_a_rep_that_changed_nothing_merges_with_exit_0(tmp_path):
    main = tmp_path / "main"
    shutil.copytree(SAMPLE, main)
    rep = split_rep(main, tmp_path / "sam", "Sam Patel")
    res = merge_rep(main, rep)
    assert res.exit_code == 0 and res.written == [] and res.total("rows") == res.total("unchanged")
    assert cli_main(["merge", str(main), str(rep)]) == 0


def test_the_merge_cli_runs_as_a_module(story):
    main, rep, s = story
    done = subprocess.run([sys.executable, "-m", "crmkit", "merge", str(main), str(rep), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["new_added"] == 4


def test_new_rows_that_break_the_data_contract_are_rejected_and_listed_with_their_interactions(story):
    main, rep, s = story

    def more(df):
        return pd.concat([df, pd.DataFrame([{"customer_id": "C-BAD", "name": None, "source": "referral",
                                             "owner": REP, "created_at": pd.Timestamp("2026-11-18")}])],
                         ignore_index=True)

    edit(rep, "customers", more)
    edit(rep, "interactions", lambda df: pd.concat([df, pd.DataFrame([
        {"customer_id": "C-BAD", "at": pd.Timestamp("2026-11-19 09:00"), "method": "phone", "content": "x"},
        {"customer_id": "C-NOWHERE", "at": pd.Timestamp("2026-11-19 09:00"), "method": "phone", "content": "y"},
    ])], ignore_index=True))
    n_int = len(open_workspace(main)["interactions"])
    res = merge_rep(main, rep)
    rej = res.rejected
    assert rej.loc[rej["entity"] == "customers", "rep_id"].tolist() == ["C-BAD"]
    assert res.counts["customers"].new_rejected == 1 and res.counts["interactions"].new_rejected == 2
    assert any("C-BAD" in str(r) for r in rej.loc[rej["entity"] == "interactions", "reason"])
    assert len(open_workspace(main)["interactions"]) == n_int + 2       # the two good ones only
    assert res.exit_code == 1
    sm = res.summary()
    assert sm["new"] == sm["new_added"] + sm["new_matched"] + sm["new_rejected"]
    assert len(pd.read_excel(conflict_workbook_path(rep), sheet_name="Rejected new rows", engine="openpyxl")) == 3


def test_a_rep_value_that_is_not_valid_for_its_field_is_listed_and_never_applied(story):
    import openpyxl

    main, rep, s = story
    book = rep / "customers.xlsx"
    wb = openpyxl.load_workbook(book)
    sh = wb["Customers"]
    head = [c.value for c in sh[1]]
    col = head.index("Next follow-up") + 1 if "Next follow-up" in head else \
        next(i for i, h in enumerate(head, 1) if h and "follow" in str(h).lower())
    row = next(r for r in range(2, sh.max_row + 1) if sh.cell(r, 1).value == s.untouched)
    sh.cell(row, col).value = "31/02/2026"
    wb.save(book)
    before = customer(main, s.untouched)["next_follow_up_at"]
    res = merge_rep(main, rep, prefer="rep")
    bad = res.conflicts[res.conflicts["record_id"] == s.untouched]
    assert bad[["field", "rep", "resolution"]].to_dict("records") == [
        {"field": "next_follow_up_at", "rep": "31/02/2026", "resolution": "invalid"}]
    after = customer(main, s.untouched)["next_follow_up_at"]
    assert after == before or (pd.isna(after) and pd.isna(before))
    assert res.open_conflicts == 1 and res.exit_code == 1


def test_a_conflict_workbook_someone_saved_since_stops_the_next_merge_before_it_writes(story):
    import openpyxl

    from crmkit.exceptions import OutputPathError

    main, rep, s = story
    merge_rep(main, rep)
    book = conflict_workbook_path(rep)
    wb = openpyxl.load_workbook(book)
    wb["Conflicts"]["I2"] = "take the rep's stage"
    wb.save(book)
    before = file_state(main)
    with pytest.raises(OutputPathError):
        merge_rep(main, rep, prefer="rep")
    assert file_state(main) == before and customer(main, s.conflict)["stage"] == "negotiation"
