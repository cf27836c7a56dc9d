"""crmkit split: one workspace per team member, holding only that member's records (issue 17, item 2).

The sample workspace (300 customers, seed 7; a manager and four reps) is split for three reps and the
manager once per module; each test reads what a rep or the manager would open.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.cli import main as crmkit
from crmkit.exceptions import UsageError
from crmkit.sample import generate_workspace
from crmkit.schema import ENTITIES, WORKBOOKS, workbook_file
from crmkit.teamwork.manifest import SplitManifest, row_texts, workspace_id
from crmkit.teamwork.split import RECORDS, REFERENCE, member_folder, split_workspace
from crmkit.workspace import open_workspace

REPS = ["Alex Chen", "Sam Patel", "Jordan Kim"]
MANAGER = "Morgan Lee"
OTHER_REP = "Taylor Brooks"          # not split: their customers are reported as not split


@pytest.fixture(scope="module")
def main(tmp_path_factory) -> Path:
    return generate_workspace(tmp_path_factory.mktemp("split") / "main", customers=300, seed=7)


@pytest.fixture(scope="module")
def split(main):
    out = main.parent / "reps"
    return split_workspace(main, out, [*REPS, MANAGER])


@pytest.fixture(scope="module")
def tables(main):
    return open_workspace(main).load_all()


class Ran:
    def __init__(self, code: int, out: str, err: str):
        self.exit_code, self.stdout, self.output = code, out, out + err


def run(capsys, *args: str) -> Ran:
    """``crmkit ARGS``: exit code, stdout, and stdout + stderr."""
    capsys.readouterr()
    code = crmkit([str(a) for a in args])
    got = capsys.readouterr()
    return Ran(code, got.out, got.err)


def _ids(df: pd.DataFrame, key: str) -> set[str]:
    return set(df[ENTITIES[key].id_field].dropna().astype(str))


def _expected(tables: dict, owners: set[str]) -> dict[str, set[str]]:
    """IDs of every record table a member seeing ``owners`` must get, computed here from the main's tables."""
    cust = tables["customers"]
    mine = set(cust.loc[cust["owner"].isin(owners).fillna(False).to_numpy(), "customer_id"].astype(str))
    out = {"customers": mine}
    for key in RECORDS[1:]:
        df = tables[key]
        hit = df["customer_id"].astype("string").isin(mine).fillna(False)
        if "owner" in df.columns:
            hit |= df["customer_id"].isna() & df["owner"].isin(owners).fillna(False)
        out[key] = _ids(df[hit.to_numpy()], key)
    return out


def _every_cell(folder: Path) -> set[str]:
    """The text of every cell of every sheet of every workbook in ``folder`` (read with openpyxl)."""
    seen: set[str] = set()
    for wb in WORKBOOKS:
        book = openpyxl.load_workbook(folder / workbook_file(wb), read_only=True)
        for sh in book.worksheets:
            for row in sh.iter_rows(values_only=True):
                seen.update(str(v) for v in row if v is not None)
        book.close()
    return seen


@pytest.mark.parametrize("rep", REPS)
def test_each_rep_workspace_holds_exactly_that_reps_customers_and_all_their_rows(split, tables, rep):
    folder = next(m.folder for m in split.members if m.name == rep)
    ws = open_workspace(folder)
    want = _expected(tables, {rep})
    assert want["customers"] and want["interactions"] and want["orders"]
    for key in RECORDS:
        assert _ids(ws[key], key) == want[key], key
    assert set(ws["customers"]["owner"]) == {rep}


@pytest.mark.parametrize("rep", REPS)
def test_no_id_name_or_phone_of_another_reps_customer_appears_anywhere_in_a_rep_workspace(split, tables, rep):
    folder = next(m.folder for m in split.members if m.name == rep)
    cust = tables["customers"]
    mine = cust[cust["owner"] == rep]
    others = cust[(cust["owner"] != rep).fillna(True)]
    cells = _every_cell(folder)
    for col in ("customer_id", "name", "phone"):
        theirs = set(others[col].dropna().astype(str)) - set(mine[col].dropna().astype(str))
        assert not theirs & cells, (col, sorted(theirs & cells)[:5])


def test_the_managers_workspace_holds_the_whole_teams_records(split, tables):
    team = set(tables["team"]["name"])
    m = next(m for m in split.members if m.name == MANAGER)
    assert m.role == "manager" and set(m.owners) == team
    ws = open_workspace(m.folder)
    want = _expected(tables, team)
    for key in RECORDS:
        assert _ids(ws[key], key) == want[key], key


def test_counts_add_up_every_owned_customer_lands_in_exactly_one_rep_workspace(split, tables):
    cust = tables["customers"]
    reps = [m for m in split.members if m.role == "rep"]
    assert [m.name for m in reps] == REPS
    seen: dict[str, int] = {}
    for m in reps:
        for cid in open_workspace(m.folder)["customers"]["customer_id"]:
            seen[cid] = seen.get(cid, 0) + 1
    assert set(seen.values()) == {1}
    owned = cust[cust["owner"].isin(REPS).fillna(False).to_numpy()]
    assert set(seen) == set(owned["customer_id"])
    # the reported rest: no owner, or an owner without a workspace here; together: every customer
    no_owner = set(cust.loc[cust["owner"].isna().to_numpy(), "customer_id"])
    assert set(split.no_owner) == no_owner
    manager_sees = set(open_workspace(next(m.folder for m in split.members if m.name == MANAGER))["customers"]
                       ["customer_id"])
    assert not set(split.not_split)                     # the manager's workspace covers Taylor's customers
    assert len(manager_sees) + len(no_owner) == len(cust)
    assert sum(m.counts["customers"] for m in reps) + (cust["owner"] == OTHER_REP).sum() + len(no_owner) \
        == split.totals["customers"] == len(cust)
    for key in RECORDS:      # the manager's rows are the main's rows of every customer with an owner
        assert next(m for m in split.members if m.name == MANAGER).counts[key] == len(_expected(
            tables, set(tables["team"]["name"]))[key])


def test_a_rep_split_alone_reports_the_customers_of_members_it_leaves_out(main, tmp_path, tables):
    res = split_workspace(main, tmp_path / "one", ["Alex Chen"])
    cust = tables["customers"]
    others = cust[cust["owner"].notna().to_numpy() & (cust["owner"] != "Alex Chen").fillna(False).to_numpy()]
    assert set(res.not_split) == set(others["customer_id"])
    assert res.as_dict()["customers_not_split"] == len(others)


def test_rep_workspaces_open_and_validate_like_the_main(split, main, capsys):
    first = run(capsys, "validate", main, "--json")
    base = json.loads(first.stdout)
    for m in split.members:
        r = run(capsys, "validate", m.folder, "--json")
        assert r.exit_code == first.exit_code, r.output
        assert json.loads(r.stdout)["errors"] == base["errors"] == 0


def _validations(path: Path, sheet: str) -> list[tuple[str, str]]:
    sh = openpyxl.load_workbook(path)[sheet]
    return sorted((str(dv.sqref), f"{dv.type}:{dv.formula1}") for dv in sh.data_validations.dataValidation)


def test_dropdowns_and_formats_of_the_customers_sheet_are_the_mains(split, main):
    rep = split.members[0].folder
    for wb, sheet in (("customers", "Customers"), ("customers", "Orders"), ("tasks", "Tasks")):
        mine, theirs = _validations(rep / workbook_file(wb), sheet), _validations(main / workbook_file(wb), sheet)
        assert mine == theirs and mine, sheet
    book = openpyxl.load_workbook(rep / "customers.xlsx")
    assert "team_names" in book.defined_names             # the Owner dropdown lists the team
    owner_col = [c.value for c in book["Customers"][1]].index("Owner") + 1
    assert any("team_names" in str(dv.formula1) for dv in book["Customers"].data_validations.dataValidation
               if openpyxl.utils.get_column_letter(owner_col) in str(dv.sqref))
    created = book["Customers"].cell(2, [c.value for c in book["Customers"][1]].index("Created *") + 1)
    assert created.number_format == "yyyy-mm-dd" and created.is_date
    assert "README" in book.sheetnames


def test_reference_sheets_are_protected_and_record_sheets_are_not(split):
    folder = split.members[0].folder
    for wb in WORKBOOKS:
        book = openpyxl.load_workbook(folder / workbook_file(wb))
        for key in WORKBOOKS[wb]:
            sheet = book[ENTITIES[key].en]
            assert sheet.protection.sheet == (key in REFERENCE), (wb, key)
            if key in REFERENCE:
                assert not sheet.protection.password          # no password: anyone can lift it on purpose
    readme = openpyxl.load_workbook(folder / "rules.xlsx")["README"]
    assert "not merged back" in str(readme["A4"].value)
    team = open_workspace(folder)["team"]
    assert list(team["name"]) == list(open_workspace(split.main)["team"]["name"])    # the whole team, as reference


def test_the_manifest_holds_the_base_text_of_every_row_of_the_rep_workspace(split, main):
    wid = workspace_id(main, create=False)
    for m in split.members:
        man = SplitManifest.read(m.folder)
        assert (man.owner, man.role, man.split_id, man.workspace_id, man.lang) == (m.name, m.role, m.split_id, wid,
                                                                                   "en")
        assert Path(man.main) == main.resolve()
        ws = open_workspace(m.folder)
        for key in RECORDS:
            assert man.base[key] == row_texts(ws[key], key), (m.name, key)
            assert set(man.base[key]) == _ids(ws[key], key)
    assert len({SplitManifest.read(m.folder).split_id for m in split.members}) == len(split.members)


def test_a_second_split_of_the_same_rep_is_refused_unless_force_and_keeps_the_reps_edits(main, tmp_path, capsys):
    out = tmp_path / "reps"
    first = split_workspace(main, out, ["Alex Chen"]).members[0]
    ws = open_workspace(first.folder)
    c = ws["customers"].copy()
    c.loc[c.index[0], "notes"] = "edited by Alex, not merged yet"
    ws.replace("customers", c)
    ws.save(["customers"])
    edited = (first.folder / "customers.xlsx").read_bytes()
    r = run(capsys, *["split", str(main), "--out", str(out), "--owner", "Alex Chen"])
    assert r.exit_code == 2 and "--force" in r.output and "not be merged" in r.output
    assert (first.folder / "customers.xlsx").read_bytes() == edited
    again = split_workspace(main, out, ["Alex Chen"], force=True).members[0]
    assert again.split_id != first.split_id
    assert "edited by Alex, not merged yet" not in set(open_workspace(again.folder)["customers"]["notes"].dropna())
    kept = list((first.folder / ".crmkit" / "backups").rglob("customers*.xlsx"))
    assert any(p.read_bytes() == edited for p in kept)


def test_a_folder_holding_another_members_split_is_refused_even_with_force(main, tmp_path):
    out = tmp_path / "reps"
    split_workspace(main, out, ["Alex Chen"])
    (out / "Alex_Chen").rename(out / "Sam_Patel")
    before = sorted(p.name for p in (out / "Sam_Patel").iterdir())
    with pytest.raises(UsageError, match="split of Alex Chen, not of Sam Patel"):
        split_workspace(main, out, ["Sam Patel"], force=True)
    assert sorted(p.name for p in (out / "Sam_Patel").iterdir()) == before
    assert SplitManifest.read(out / "Sam_Patel").owner == "Alex Chen"


def test_a_non_empty_folder_that_is_no_split_is_refused_and_nothing_is_written(main, tmp_path, capsys):
    out = tmp_path / "reps"
    (out / "Sam_Patel").mkdir(parents=True)
    (out / "Sam_Patel" / "notes.txt").write_text("mine")
    r = run(capsys, *["split", str(main), "--out", str(out), "--owner", "Alex Chen", "--owner",
                                 "Sam Patel", "--force"])
    assert r.exit_code == 2 and "Sam_Patel" in r.output and "no crmkit split" in r.output
    assert not (out / "Alex_Chen").exists()            # every folder is checked before any is written
    assert [p.name for p in (out / "Sam_Patel").iterdir()] == ["notes.txt"]


def test_an_unknown_owner_is_a_usage_error_naming_it(main, tmp_path, capsys):
    r = run(capsys, *["split", str(main), "--out", str(tmp_path / "o"), "--owner", "Nobody Here"])
    assert r.exit_code == 2 and "Nobody Here" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_splitting_into_the_workspace_itself_is_refused(main):
    with pytest.raises(UsageError):
        split_workspace(main, main / "reps", ["Alex Chen"])


def test_json_output_lists_each_member_with_counts_and_folder(main, tmp_path, capsys):
    r = run(capsys, *["split", str(main), "--out", str(tmp_path / "o"), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    names = [m["name"] for m in data["members"]]
    assert names == [MANAGER, *REPS, OTHER_REP]          # the default: every active rep and manager with records
    for m in data["members"]:
        assert set(m) >= {"name", "role", *RECORDS, "folder"}
        assert Path(m["folder"]).is_dir()
    reps = [m for m in data["members"] if m["role"] == "rep"]
    assert sum(m["customers"] for m in reps) + data["customers_without_owner"] == data["main_totals"]["customers"]
    text = run(capsys, *["split", str(main), "--out", str(tmp_path / "p"), "--owner", "Alex Chen"])
    assert "Alex Chen" in text.output and "sales rep" in text.output and "Interactions" in text.output


@pytest.mark.parametrize("name, folder", [
    ("Alex Chen", "Alex_Chen"), ("李娜", "李娜"), ("a/b:c*d", "a_b_c_d"), ("..", "member"), ("CON", "_CON"),
    (" O'Neil  Jr. ", "O'Neil_Jr"),
])
def test_member_folder_names_work_on_every_file_system(name, folder):
    assert member_folder(name) == folder


def test_a_chinese_workspace_splits_with_chinese_labels_and_folders(tmp_path, capsys):
    main = generate_workspace(tmp_path / "zh", customers=60, seed=3, lang="zh")
    r = run(capsys, *["split", str(main), "--out", str(tmp_path / "reps"), "--owner", "李娜",
                                 "--owner", "王经理"])
    assert r.exit_code == 0, r.output
    assert "销售代表" in r.output and "主管" in r.output and "跟进记录" in r.output and "文件夹" in r.output
    assert "只读参考表" in r.output
    folder = tmp_path / "reps" / "李娜"
    book = openpyxl.load_workbook(folder / "customers.xlsx", read_only=True)
    assert book.sheetnames[0] == "客户" and "说明" in book.sheetnames
    assert set(open_workspace(folder)["customers"]["owner"]) == {"李娜"}
    assert SplitManifest.read(folder).lang == "zh"
    readme = openpyxl.load_workbook(folder / "rules.xlsx")["说明"]
    assert "不会合并回主工作区" in str(readme["A4"].value)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_a_rep_workspace_resaved_by_libreoffice_reads_back_the_manifests_base_texts(main, tmp_path):
    # awkward values first: whole and fractional amounts past Excel's 15 digits, times with seconds,
    # text that looks like a number, a formula, or has a line break
    work = tmp_path / "main"
    shutil.copytree(main, work)
    ws = open_workspace(work)
    c, o = ws["customers"].copy(), ws["orders"].copy()
    rows = c.index[c["owner"] == "Alex Chen"][:5]
    for i, text in zip(rows, ["00123", "=1+2", "line1\nline2", "12345678901234567890", "1e5"]):
        c.loc[i, "notes"] = text
    c.loc[rows[0], "first_contact_at"] = pd.Timestamp("2024-05-01 10:30:59")
    mine = o.index[o["customer_id"].isin(set(c.loc[rows, "customer_id"]))][:4]
    for i, amount in zip(mine, [0.1 + 0.2, 1 / 3, 12345678901234567.0, 2.675]):
        o.loc[i, "amount"] = amount
    ws.replace("customers", c)
    ws.replace("orders", o)
    ws.save()
    rep = split_workspace(work, tmp_path / "reps", ["Alex Chen"]).members[0].folder
    saved = tmp_path / "lo"
    files = [str(rep / workbook_file(wb)) for wb in WORKBOOKS]
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
                    "--convert-to", "xlsx", "--outdir", str(saved), *files],
                   check=True, capture_output=True, timeout=180)
    for wb in WORKBOOKS:
        assert "LibreOffice" in (openpyxl.load_workbook(saved / workbook_file(wb), read_only=True)
                                 .properties.creator or "") or (saved / workbook_file(wb)).read_bytes() != \
            (rep / workbook_file(wb)).read_bytes()
        shutil.copy(saved / workbook_file(wb), rep / workbook_file(wb))
    base = SplitManifest.read(rep).base
    again = open_workspace(rep)
    for key in RECORDS:
        assert row_texts(again[key], key) == base[key], key
    assert openpyxl.load_workbook(rep / "rules.xlsx")["Rules"].protection.sheet   # LibreOffice keeps protection


def test_by_default_an_inactive_member_and_the_admin_get_no_workspace_but_may_be_named(main, tmp_path, tables):
    work = tmp_path / "main"
    shutil.copytree(main, work)
    ws = open_workspace(work)
    team = ws["team"].copy()
    team["active"] = team["active"].astype("object")
    team.loc[team["name"] == OTHER_REP, "active"] = False
    extra = pd.DataFrame([{"name": "Robin Admin", "role": "admin", "email": "robin@example.com"},
                          {"name": "Casey New", "role": "rep", "manager": MANAGER}])
    ws.replace("team", pd.concat([team, extra], ignore_index=True))
    ws.save(["rules"])
    res = split_workspace(work, tmp_path / "reps")
    assert [m.name for m in res.members] == [MANAGER, *REPS]     # no inactive, no admin, no rep without records
    cust = tables["customers"]
    theirs = set(cust.loc[(cust["owner"] == OTHER_REP).fillna(False).to_numpy(), "customer_id"])
    assert theirs <= set(open_workspace(res.members[0].folder)["customers"]["customer_id"])   # the manager's
    named = split_workspace(work, tmp_path / "named", ["taylor brooks", "Robin Admin"])
    assert [(m.name, m.role) for m in named.members] == [(OTHER_REP, "rep"), ("Robin Admin", "admin")]
    assert set(open_workspace(named.members[0].folder)["customers"]["customer_id"]) == theirs
    assert named.members[1].counts["customers"] == len(tables["customers"])    # an admin's copy: everything
    assert named.members[1].owners is None


def test_a_cell_of_the_main_that_does_not_read_as_its_type_is_reported_with_its_place(main, tmp_path, capsys):
    work = tmp_path / "main"
    shutil.copytree(main, work)
    book = openpyxl.load_workbook(work / "customers.xlsx")
    sh = book["Customers"]
    head = [c.value for c in sh[1]]
    row = next(r for r in range(2, sh.max_row + 1) if sh.cell(r, head.index("Owner") + 1).value == "Alex Chen")
    sh.cell(row, head.index("Next follow-up") + 1).value = "after the fair"
    book.save(work / "customers.xlsx")
    r = run(capsys, "split", work, "--out", tmp_path / "reps", "--owner", "Alex Chen", "--json")
    assert r.exit_code == 0, r.output
    bad = json.loads(r.stdout)["unreadable_cells"]
    assert [(b["row"], b["value"]) for b in bad] == [(row, "after the fair")]
    text = run(capsys, "split", work, "--out", tmp_path / "more", "--owner", "Alex Chen")
    assert f"row {row}" in text.output and "after the fair" in text.output


def test_reference_sheets_stay_protected_when_crmkit_rewrites_the_rules_workbook_of_a_rep(main, tmp_path):
    rep = split_workspace(main, tmp_path / "reps", ["Alex Chen"]).members[0].folder
    ws = open_workspace(rep)
    ws.set_settings({"daily_message_cap": 3})
    ws.save(["rules"])
    book = openpyxl.load_workbook(rep / "rules.xlsx")
    assert all(book[ENTITIES[k].en].protection.sheet for k in WORKBOOKS["rules"])
    assert open_workspace(rep).settings["daily_message_cap"] == 3


def _with_order_source(main: Path, folder: Path, source: str) -> Path:
    """A copy of ``main`` whose orders live in a Parquet folder named by Settings order_source (sheet emptied)."""
    shutil.copytree(main, folder, ignore=shutil.ignore_patterns(".crmkit"))
    ws = open_workspace(folder)
    store = folder / "store" if not Path(source).is_absolute() else Path(source)
    store.mkdir(parents=True)
    ws["orders"].to_parquet(store / "part-0.parquet", index=False)
    ws.replace("orders", ws["orders"].iloc[0:0])
    ws.set_settings({"order_source": source})
    ws.save(["customers", "rules"])
    return folder


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_a_split_is_refused_while_settings_name_an_order_source_and_nothing_is_written(main, tmp_path, capsys,
                                                                                        where):
    # an absolute source would give each rep every order of the store; a relative one none of theirs
    source = "store" if where == "relative" else str(tmp_path / "shared" / "store")
    ws = _with_order_source(main, tmp_path / "main", source)
    before = {p: p.read_bytes() for p in ws.glob("*.xlsx")}
    out = tmp_path / "reps"
    r = run(capsys, "split", ws, "--out", out, "--owner", "Alex Chen")
    assert r.exit_code == 2 and "order_source" in r.output and "Orders sheet" in r.output
    assert "Traceback" not in r.output
    assert not out.exists()
    assert {p: p.read_bytes() for p in ws.glob("*.xlsx")} == before
    r = run(capsys, "--lang", "zh", "split", ws, "--out", out)
    assert r.exit_code == 2 and "order_source" in r.output and "订单表" in r.output and not out.exists()
