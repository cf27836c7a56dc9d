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
from crmkit.exceptions import UsageError
from crmkit.team import scope_for, scoped_tables
from crmkit.teamwork.manifest import SplitManifest, record_split, workspace_id
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
    record_split(main, folder)          # as crmkit split does: the main workspace keeps the manifest's sha256
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
    assert list(sheets) == ["Summary", "Conflicts", "Deleted by the rep", "Rejected rows and edits", "Reassigned"]
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
    assert len(pd.read_excel(conflict_workbook_path(rep), sheet_name="Rejected rows and edits", engine="openpyxl")) == 3


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


# --------------------------------------------------------------------------- edits of existing rows are checked

def set_cells(book: Path, sheet: str, changes: dict[tuple[str, str], object]) -> None:
    """Change cells of a rep workbook as a person in Excel would: (row ID, header without the *) -> value."""
    import openpyxl

    wb = openpyxl.load_workbook(book)
    sh = wb[sheet]
    head = [str(c.value or "").rstrip(" *") for c in sh[1]]
    rows = {sh.cell(r, 1).value: r for r in range(2, sh.max_row + 1)}
    for (rid, header), value in changes.items():
        sh.cell(rows[rid], head.index(header) + 1).value = value
    wb.save(book)


def test_a_reps_edits_that_break_the_data_contract_or_leave_the_scope_are_rejected_not_applied(story):
    main, rep, s = story
    c = open_workspace(rep)["customers"].sort_values("customer_id")
    blank_name, bad_mail, stranger, to_sam, plus = c["customer_id"].tolist()[5:10]
    inter = open_workspace(rep)["interactions"]
    mine = inter[inter["customer_id"] == plus]["interaction_id"].tolist() + \
        inter[inter["customer_id"].isin([blank_name, bad_mail])]["interaction_id"].tolist()
    to_nowhere, to_other = mine[:2]
    set_cells(rep / "customers.xlsx", "Customers", {
        (blank_name, "Customer name"): None, (bad_mail, "E-mail"): "not-an-email",
        (bad_mail, "Notes"): "a good edit of the same row", (stranger, "Owner"): "Mallory Nobody",
        (to_sam, "Owner"): "Sam Patel", (plus, "Phone"): "8613800138000"})
    m = open_workspace(main)["customers"]
    sams = m[(m["owner"] == "Sam Patel") & (m["customer_id"] != s.sam_id)]["customer_id"].tolist()
    set_cells(rep / "customers.xlsx", "Interactions", {(to_nowhere, "Customer ID"): "C99999",
                                                         (to_other, "Customer ID"): sams[0]})
    before = {k: customer(main, k) for k in (blank_name, bad_mail, stranger, to_sam)}
    i0 = open_workspace(main)["interactions"].set_index("interaction_id")["customer_id"]
    res = merge_rep(main, rep, prefer="rep")        # --prefer rep does not apply them either
    for cid, field in ((blank_name, "name"), (bad_mail, "email"), (stranger, "owner"), (to_sam, "owner")):
        assert customer(main, cid)[field] == before[cid][field], (cid, field)
    assert customer(main, bad_mail)["notes"] == "a good edit of the same row"
    assert customer(main, plus)["phone"] == "8613800138000"         # a warning is applied, as an import would
    i1 = open_workspace(main)["interactions"].set_index("interaction_id")["customer_id"]
    assert i1[to_nowhere] == i0[to_nowhere] and i1[to_other] == i0[to_other]
    rej = res.rejected[res.rejected["rep_id"].isin([blank_name, bad_mail, stranger, to_sam, to_nowhere, to_other])]
    got = {(r["rep_id"], r["column"]): r for r in rej.to_dict("records")}
    assert set(got) == {(blank_name, "Customer name"), (bad_mail, "E-mail"), (stranger, "Owner"), (to_sam, "Owner"),
                        (to_nowhere, "Customer ID"), (to_other, "Customer ID")}
    assert got[(bad_mail, "E-mail")]["value"] == "not-an-email"
    assert got[(bad_mail, "E-mail")]["sheet"] == "Customers" and got[(bad_mail, "E-mail")]["row"] >= 2
    assert got[(bad_mail, "E-mail")]["file"].endswith("customers.xlsx")
    assert "required" in got[(blank_name, "Customer name")]["reason"].lower()
    assert "scope" in got[(to_sam, "Owner")]["reason"] and "Sam Patel" in got[(to_sam, "Owner")]["reason"]
    assert "scope" in got[(stranger, "Owner")]["reason"]
    assert got[(to_other, "Customer ID")]["value"] == sams[0]
    assert res.counts["customers"].cells_rejected == 4 and res.counts["interactions"].cells_rejected == 2
    assert res.exit_code == 1 and validate_path(main).errors == 0
    sm = res.summary()
    assert sm["rows"] == sm["applied"] + sm["unchanged"] + sm["conflicting"] + sm["new"] + sm["deleted"]
    assert len(pd.read_excel(conflict_workbook_path(rep), sheet_name="Rejected rows and edits",
                             engine="openpyxl")) == len(res.rejected)
    h = history(main)
    assert not ((h["record_id"] == to_sam) & (h["field"] == "owner")).any()
    # still listed by the next merge (the rep has to fix them), still not applied
    again = merge_rep(main, rep)
    assert again.total("cells_rejected") == 6 and again.total("cells_applied") == 0
    assert customer(main, to_sam)["owner"] == REP


def test_a_managers_split_may_move_a_customer_within_the_team(tmp_path):
    from crmkit.teamwork.split import split_workspace

    main = tmp_path / "main"
    shutil.copytree(SAMPLE, main)
    team = open_workspace(main)["team"]
    mgr = team[team["role"] == "manager"].iloc[0]
    scope = scope_for(team, mgr["name"])
    reps = sorted(n for n in scope.owners if n != mgr["name"])
    folder = split_workspace(main, tmp_path / "reps", [mgr["name"]]).members[0].folder
    c = open_workspace(folder)["customers"]
    cid = c[c["owner"] == reps[0]]["customer_id"].iloc[0]
    set_cells(folder / "customers.xlsx", "Customers", {(cid, "Owner"): reps[-1] if len(reps) > 1 else mgr["name"]})
    res = merge_rep(main, folder)
    assert res.total("cells_rejected") == 0 and res.total("cells_applied") == 1
    assert customer(main, cid)["owner"] != reps[0]


# --------------------------------------------------------------------------- the manifest is checked against main

def test_a_manifest_the_rep_edited_is_refused(story):
    main, rep, s = story
    path = rep / ".crmkit" / "split-manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["base"]["customers"][s.sam_id] = {}          # take over a customer of Sam's
    path.write_text(json.dumps(data), encoding="utf-8")
    before = file_state(main)
    with pytest.raises(UsageError, match="changed since the split"):
        merge_rep(main, rep)
    assert file_state(main) == before
    assert cli_main(["merge", str(main), str(rep)]) == 2


def test_a_rep_folder_whose_split_main_never_recorded_is_refused(story, capsys):
    main, rep, s = story
    record = main / ".crmkit" / "splits" / f"{SplitManifest.read(rep).split_id}.json"
    assert record.is_file()
    record.unlink()
    before = file_state(main)
    assert cli_main(["--lang", "zh", "merge", str(main), str(rep)]) == 2
    err = capsys.readouterr().err
    assert "没有此次拆分的记录" in err and len([x for x in err.splitlines() if x.strip()]) == 1
    assert file_state(main) == before


def test_split_records_each_manifest_in_main(tmp_path):
    import hashlib

    from crmkit.teamwork.split import split_workspace

    main = tmp_path / "main"
    shutil.copytree(SAMPLE, main)
    res = split_workspace(main, tmp_path / "reps", [REP, "Sam Patel"])
    for m in res.members:
        rec = json.loads((main / ".crmkit" / "splits" / f"{m.split_id}.json").read_text(encoding="utf-8"))
        data = (m.folder / ".crmkit" / "split-manifest.json").read_bytes()
        assert rec["sha256"] == hashlib.sha256(data).hexdigest()
        assert (rec["owner"], rec["owners"], rec["split_id"]) == (m.name, m.owners, m.split_id)
        assert rec["split_at"] == SplitManifest.read(m.folder).split_at
    assert merge_rep(main, res.members[0].folder).exit_code == 0


@pytest.mark.parametrize("content, words", [
    ("[1, 2]", "JSON object"), ('{"format": 1, "owner": "Alex Chen"}', "missing"),
    ('{"format": 1, "owner": "A", "role": "rep", "owners": "A", "workspace_id": "x", "main": "", "lang": "en", '
     '"split_at": "t", "split_id": "s", "base": []}', "wrong shape"), ("{not json", "cannot be read")])
def test_a_manifest_of_the_wrong_shape_is_one_clear_line(story, capsys, content, words):
    main, rep, s = story
    (rep / ".crmkit" / "split-manifest.json").write_text(content, encoding="utf-8")
    assert cli_main(["merge", str(main), str(rep)]) == 2
    err = [x for x in capsys.readouterr().err.splitlines() if x.strip()]
    assert len(err) == 1 and "cannot be read" in err[0] and words in err[0] and "split-manifest.json" in err[0]
    assert cli_main(["--lang", "zh", "merge", str(main), str(rep)]) == 2
    assert "无法读取拆分清单" in capsys.readouterr().err


def test_a_file_given_as_the_rep_folder_is_said_to_be_no_folder(story, tmp_path, capsys):
    main, rep, s = story
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert cli_main(["merge", str(main), str(afile)]) == 2
    err = capsys.readouterr().err
    assert "not a folder" in err and "afile" in err and "manifest" not in err


def test_a_merge_is_refused_while_main_names_an_order_source_and_nothing_is_written(tmp_path, capsys):
    main = tmp_path / "main"
    shutil.copytree(SAMPLE, main)
    rep = split_rep(main, tmp_path / "sam", "Sam Patel")
    ws = open_workspace(main)
    (main / "store").mkdir()
    ws["orders"].to_parquet(main / "store" / "part-0.parquet", index=False)
    ws.replace("orders", ws["orders"].iloc[0:0])
    ws.set_settings({"order_source": "store"})
    ws.save(["customers", "rules"])
    before = file_state(main)
    with pytest.raises(UsageError, match="order_source"):
        merge_rep(main, rep)
    capsys.readouterr()
    assert cli_main(["merge", str(main), str(rep)]) == 2
    assert "order_source" in capsys.readouterr().err
    assert file_state(main) == before and not conflict_workbook_path(rep).exists()
