"""The one write path: temp file + fsync + atomic replace, backups, lock files, formula injection."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.exceptions import FileLockedError, WorkbookError
from crmkit.io import safety
from crmkit.io.journal import holds_workspace_lock, workspace_lock
from crmkit.io.neutralise import neutralise_csv, neutralise_csv_cell
from crmkit.io.safety import backups_of, check_not_open, clean_stale_temps, replace_file
from crmkit.io.writer import write_workbook
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent


def write_text(text: str):
    def produce(tmp: Path) -> None:
        tmp.write_text(text)
    return produce


def customers(**cols) -> pd.DataFrame:
    base = {"customer_id": ["C1", "C2"], "name": ["Acme", "Bolt"], "source": ["referral", "other"],
            "created_at": pd.to_datetime(["2026-01-05", "2026-02-01"])}
    base.update(cols)
    return pd.DataFrame(base)


# --------------------------------------------------------------------------- replace_file

def test_replace_file_writes_the_new_content_and_keeps_the_old_one_as_a_backup(tmp_path):
    target = tmp_path / "notes.txt"
    replace_file(target, write_text("one"), workspace=tmp_path)
    replace_file(target, write_text("two"), workspace=tmp_path)
    assert target.read_text() == "two"
    kept = backups_of(target, tmp_path)
    assert [p.read_text() for p in kept] == ["one"]
    assert kept[0].parent == tmp_path / ".crmkit" / "backups"


def test_backups_are_bounded_to_the_number_asked_for_and_the_newest_are_kept(tmp_path):
    target = tmp_path / "notes.txt"
    for i in range(6):
        replace_file(target, write_text(f"v{i}"), workspace=tmp_path, keep_backups=3)
    assert [p.read_text() for p in backups_of(target, tmp_path)] == ["v2", "v3", "v4"]


def test_a_failing_write_leaves_the_old_file_untouched_and_no_temporary_file(tmp_path):
    target = tmp_path / "notes.txt"
    replace_file(target, write_text("old"), workspace=tmp_path)

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        replace_file(target, broken, workspace=tmp_path)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".crmkit") == ["notes.txt"]


def test_a_damaged_new_workbook_never_replaces_the_old_one(tmp_path):
    target = tmp_path / "customers.xlsx"
    write_workbook(target, {"customers": customers()}, "en", workspace=tmp_path)
    before = target.read_bytes()
    with pytest.raises(WorkbookError, match="damaged"):
        replace_file(target, write_text("not a zip"), workspace=tmp_path)
    assert target.read_bytes() == before


@pytest.mark.parametrize("lock_name", ["~$customers.xlsx", ".~lock.customers.xlsx#"])
def test_writing_is_refused_while_excel_or_libreoffice_has_the_workbook_open(tmp_path, lock_name):
    target = tmp_path / "customers.xlsx"
    write_workbook(target, {"customers": customers()}, "en", workspace=tmp_path)
    before = target.read_bytes()
    (tmp_path / lock_name).write_text("")
    with pytest.raises(FileLockedError) as err:
        write_workbook(target, {"customers": customers(name=["X", "Y"])}, "en", workspace=tmp_path)
    assert lock_name in str(err.value) and str(target) in str(err.value)
    assert err.value.exit_code == 2
    assert target.read_bytes() == before


def test_wait_lets_a_write_proceed_once_the_workbook_is_closed(tmp_path):
    lock = tmp_path / "~$notes.txt"
    lock.write_text("")
    threading.Timer(0.3, lock.unlink).start()
    replace_file(tmp_path / "notes.txt", write_text("saved"), workspace=tmp_path, wait=10)
    assert (tmp_path / "notes.txt").read_text() == "saved"


def test_wait_gives_up_with_the_same_clear_message_after_the_time_asked(tmp_path):
    (tmp_path / "~$notes.txt").write_text("")
    with pytest.raises(FileLockedError, match="open in Excel"):
        check_not_open(tmp_path / "notes.txt", wait=0.3)


def test_the_crmkit_wait_environment_variable_sets_the_default_wait(tmp_path, monkeypatch):
    monkeypatch.setenv("CRMKIT_WAIT", "10")
    lock = tmp_path / "~$notes.txt"
    lock.write_text("")
    threading.Timer(0.3, lock.unlink).start()
    check_not_open(tmp_path / "notes.txt")
    assert safety.default_wait() == 10


def test_temporary_files_of_a_killed_write_are_cleaned_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".notes.tmp-{dead_pid}.txt"
    stale.write_text("half-written")
    alive = tmp_path / f".notes.tmp-{os.getppid()}.txt"      # a write still running elsewhere
    alive.write_text("in progress")
    replace_file(tmp_path / "notes.txt", write_text("new"), workspace=tmp_path)
    assert not stale.exists()
    assert alive.exists()
    assert clean_stale_temps(tmp_path) == []


def test_replace_file_refuses_a_folder_in_place_of_the_file(tmp_path):
    (tmp_path / "customers.xlsx").mkdir()
    with pytest.raises(WorkbookError, match="folder"):
        replace_file(tmp_path / "customers.xlsx", write_text("x"), workspace=tmp_path)


# --------------------------------------------------------------------------- workspace lock

HOLD_LOCK = """
import sys, time
from crmkit.io.journal import workspace_lock
with workspace_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock_in_another_process(folder: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder), str(seconds)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_the_workspace_lock_refuses_while_another_process_holds_it(tmp_path):
    proc = hold_lock_in_another_process(tmp_path, 5)
    try:
        with pytest.raises(FileLockedError, match="another crmkit run"):
            with workspace_lock(tmp_path, wait=0):
                pass
    finally:
        proc.kill()
        proc.wait()


def test_the_workspace_lock_waits_for_the_other_process_when_asked(tmp_path):
    proc = hold_lock_in_another_process(tmp_path, 0.5)
    try:
        with workspace_lock(tmp_path, wait=30):
            assert holds_workspace_lock(tmp_path)
    finally:
        proc.wait()
    assert not holds_workspace_lock(tmp_path)


def test_the_workspace_lock_is_reentrant_in_one_thread(tmp_path):
    with workspace_lock(tmp_path):
        with workspace_lock(tmp_path):     # e.g. rfm's save inside a rule run
            assert holds_workspace_lock(tmp_path)
        assert holds_workspace_lock(tmp_path)


def test_inside_the_workspace_lock_writes_wait_as_long_for_an_open_workbook(tmp_path):
    lock = tmp_path / "~$notes.txt"
    lock.write_text("")
    threading.Timer(0.3, lock.unlink).start()
    with workspace_lock(tmp_path, wait=10):
        replace_file(tmp_path / "notes.txt", write_text("saved"), workspace=tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "saved"


# --------------------------------------------------------------------------- workspace saves

def test_workspace_save_keeps_as_many_backups_as_settings_say(make_workspace):
    folder = make_workspace({"customers": customers()}, settings={"backups_keep": 2})
    for i in range(4):
        ws = open_workspace(folder)
        ws.append("customers", pd.DataFrame({"customer_id": [f"N{i}"], "name": [f"New {i}"],
                                             "source": ["other"], "created_at": [pd.Timestamp("2026-03-01")]}))
        ws.save()
    assert len(backups_of(folder / "customers.xlsx", folder)) == 2
    assert list(open_workspace(folder)["customers"]["customer_id"]) == ["C1", "C2", "N0", "N1", "N2", "N3"]


# --------------------------------------------------------------------------- formula injection

@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+1+2", "'+1+2"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1", "'\t=1"),
    ("-5", "-5"),                        # a plain number runs nothing
    ("+8613800000000", "+8613800000000"),  # a phone number in E.164
    ("Acme", "Acme"),
    ("a=b", "a=b"),
    ("", ""),
])
def test_csv_cells_that_would_run_as_formulas_get_a_leading_quote(value, expected):
    out = neutralise_csv_cell(pd.Series([value], dtype=object))
    assert out.iloc[0] == expected


def test_neutralising_leaves_numbers_and_blanks_alone():
    s = pd.Series(["=1", None, 3.5, pd.NA], dtype=object)
    assert neutralise_csv_cell(s).tolist()[:3] == ["'=1", None, 3.5]
    nums = pd.Series([-1.0, 2.0])
    pd.testing.assert_series_equal(neutralise_csv_cell(nums), nums)


def test_neutralise_csv_defuses_every_text_column_of_a_frame():
    df = pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "ok"], "amount": [-3.0, 4.0],
                       "note": pd.Series(["@x", pd.NA], dtype="string")})
    out = neutralise_csv(df)
    assert out["name"].tolist() == ["'=cmd|' /C calc'!A0", "ok"]
    assert out["amount"].tolist() == [-3.0, 4.0]
    assert out["note"].tolist()[0] == "'@x"
    assert df["name"].iloc[0].startswith("=")        # the input is not changed


def test_imported_text_that_looks_like_a_formula_is_written_as_text_in_xlsx(tmp_path):
    target = tmp_path / "customers.xlsx"
    evil = ["=HYPERLINK(\"http://evil\",\"click\")", "@SUM(1)"]
    write_workbook(target, {"customers": customers(name=evil, notes=["+1+1", "-1-1"])}, "en", workspace=tmp_path)
    sheet = openpyxl.load_workbook(target)["Customers"]
    cells = [sheet["B2"], sheet["B3"]]
    assert [c.value for c in cells] == evil
    assert all(c.data_type == "s" for c in cells)
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_formula_like_text_stays_text_when_a_user_edited_workbook_is_updated(make_workspace):
    folder = make_workspace({"customers": customers()})
    path = folder / "customers.xlsx"
    book = openpyxl.load_workbook(path)
    book.create_sheet("Mine")
    book.save(path)                     # now a user's workbook: updated in place
    ws = open_workspace(folder)
    ws.append("customers", pd.DataFrame({"customer_id": ["C3"], "name": ["=1+1"], "source": ["other"],
                                         "created_at": [pd.Timestamp("2026-03-01")]}))
    ws.save()
    cell = openpyxl.load_workbook(path)["Customers"]["B4"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")
    assert "Mine" in openpyxl.load_workbook(path).sheetnames


def test_a_symlinked_workbook_stays_a_link_and_its_target_gets_the_new_content(tmp_path):
    real = tmp_path / "shared" / "notes.txt"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "notes.txt"
    link.symlink_to(real)
    replace_file(link, write_text("new"), workspace=tmp_path)
    assert link.is_symlink() and real.read_text() == "new"


def test_the_new_version_keeps_the_permissions_of_the_old_one(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("old")
    target.chmod(0o640)
    replace_file(target, write_text("new"), workspace=tmp_path)
    assert target.stat().st_mode & 0o777 == 0o640
