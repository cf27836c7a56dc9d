"""Temporary files and failed writes (issue 14, items 5 and 11).

* A write's temporary file is created exclusively (O_EXCL) under a random
  name that does not end in ``.xlsx``: a file or link planted under the old,
  guessable name ``.customers.tmp-PID.xlsx`` is never followed.
* Stale temporary files of both namings are cleaned up.
* A full disk, a read-only file or a read-only folder gives a one-line error
  naming the file, never a traceback, and the old file is kept.  Real tiny
  and read-only tmpfs mounts are used when this process may mount them
  (root); the full disk is also simulated by making ``os.fsync`` fail.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.exceptions import WriteFailedError
from crmkit.io import safety
from crmkit.io.safety import clean_stale_temps, replace_file
from crmkit.io.writer import write_workbook


def customers(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"C{i:05d}" for i in range(n)], "name": [f"Firm {i}" for i in range(n)],
                         "source": ["referral"] * n, "created_at": pd.to_datetime(["2026-11-01"] * n)})


def test_a_planted_link_under_the_old_temp_name_is_never_followed(tmp_path):
    target = tmp_path / "customers.xlsx"
    write_workbook(target, {"customers": customers()}, "en", workspace=tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / f".customers.tmp-{os.getpid()}.xlsx").symlink_to(victim)
    write_workbook(target, {"customers": customers(5)}, "en", workspace=tmp_path)
    assert victim.read_text() == "precious"
    assert len(pd.read_excel(target, engine="openpyxl")) == 5


def test_temp_files_are_new_files_that_no_spreadsheet_program_lists_as_workbooks(tmp_path):
    seen = []

    def produce(tmp: Path) -> None:
        st = os.lstat(tmp)
        seen.append((tmp.name, st.st_size, oct(st.st_mode & 0o777)))
        tmp.write_text("new")

    replace_file(tmp_path / "customers.xlsx", produce, workspace=tmp_path, verify=False)
    replace_file(tmp_path / "customers.xlsx", produce, workspace=tmp_path, verify=False)
    (a, size_a, _), (b, _, _) = seen
    assert a != b                                   # a random part: not guessable from the pid
    assert a.startswith(f".customers.xlsx.{os.getpid()}-") and a.endswith(".crmkit-tmp")
    assert not a.lower().endswith((".xlsx", ".xlsm", ".xls", ".csv"))
    assert size_a == 0
    assert [p.name for p in tmp_path.iterdir() if p.name != ".crmkit"] == ["customers.xlsx"]


def test_a_new_file_gets_the_usual_permissions_not_the_temp_files_private_ones(tmp_path):
    old = os.umask(0o022)
    try:
        replace_file(tmp_path / "notes.txt", lambda p: p.write_text("x"), workspace=tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / "notes.txt").stat().st_mode & 0o777 == 0o644


def dead_pid() -> int:
    out = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_stale_temp_files_of_both_namings_are_cleaned_and_live_ones_kept(tmp_path):
    pid = dead_pid()
    old = tmp_path / f".customers.tmp-{pid}.xlsx"
    new = tmp_path / f".customers.xlsx.{pid}-k2j4h5x_.crmkit-tmp"
    live = tmp_path / f".customers.xlsx.{os.getppid()}-abcd1234.crmkit-tmp"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    link = tmp_path / f".tasks.xlsx.{pid}-zzzzzzzz.crmkit-tmp"
    link.symlink_to(victim)
    for p in (old, new, live):
        p.write_text("half")
    removed = {p.name for p in clean_stale_temps(tmp_path)}
    assert removed == {old.name, new.name, link.name}
    assert live.exists() and victim.read_text() == "keep"


# --------------------------------------------------------------------------- failed writes

def test_a_full_disk_gives_a_located_one_line_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "customers.xlsx"
    write_workbook(target, {"customers": customers()}, "en", workspace=tmp_path)
    before = target.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safety.os, "fsync", full)
    with pytest.raises(WriteFailedError) as err:
        write_workbook(target, {"customers": customers(9)}, "en", workspace=tmp_path)
    assert "disk is full" in str(err.value) and str(target) in str(err.value)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name != ".crmkit"] == ["customers.xlsx"]


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "1m"):
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a tmpfs")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from crmkit.sample import generate_workspace

    folder = tmp_path_factory.mktemp("tempfiles") / "crm"
    generate_workspace(folder, customers=20, seed=3, lang="en")
    return folder


def test_an_export_to_a_really_full_disk_says_so_in_one_line(sample, tmp_path, capsys):
    with tmpfs(tmp_path / "tiny", "64k") as disk:
        with open(disk / "filler", "wb") as fh:
            with contextlib.suppress(OSError):
                fh.write(b"\0" * (63 * 1024))
        code = main(["export", str(sample), "--out", str(disk / "out.xlsx")])
        err = capsys.readouterr().err
        assert code == 2
        assert err.count("\n") == 1 and "Traceback" not in err
        assert "disk is full" in err and str(disk / "out.xlsx") in err
        assert sorted(p.name for p in disk.iterdir()) == ["filler"]


def test_a_workspace_on_a_read_only_file_system_gives_a_located_error(sample, tmp_path, capsys):
    with tmpfs(tmp_path / "ro", "8m") as disk:
        ws = disk / "crm"
        shutil.copytree(sample, ws, ignore=shutil.ignore_patterns(".crmkit"))
        r = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True)
        if r.returncode != 0:
            pytest.skip("cannot remount read-only")
        before = (ws / "customers.xlsx").read_bytes()
        code = main(["rfm", str(ws)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
        assert "read-only" in err and str(ws) in err
        assert (ws / "customers.xlsx").read_bytes() == before


def test_a_workbook_marked_read_only_is_not_replaced_even_by_root(sample, tmp_path, capsys):
    ws = tmp_path / "crm"
    shutil.copytree(sample, ws, ignore=shutil.ignore_patterns(".crmkit"))
    book = ws / "customers.xlsx"
    before = book.read_bytes()
    book.chmod(0o444)
    code = main(["rfm", str(ws)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "read-only" in err and str(book) in err
    assert book.read_bytes() == before
    book.chmod(0o644)
    assert openpyxl.load_workbook(book, read_only=True).sheetnames


def test_a_broken_utf16_character_in_a_value_gives_a_located_error_not_a_traceback(tmp_path):
    target = tmp_path / "notes.csv"
    replace_file(target, lambda p: p.write_text("name\nAcme\n", encoding="utf-8"), workspace=tmp_path)
    with pytest.raises(WriteFailedError) as err:
        replace_file(target, lambda p: p.write_text("name\nAc\udc80me\n", encoding="utf-8"), workspace=tmp_path)
    assert str(target) in str(err.value) and "broken character" in str(err.value) and "Ac" in str(err.value)
    assert target.read_text(encoding="utf-8") == "name\nAcme\n"
    assert [p.name for p in tmp_path.iterdir() if p.name != ".crmkit"] == ["notes.csv"]
