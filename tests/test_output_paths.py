"""Output paths never destroy the workspace (issue 14, item 8).

``export --out``, ``report --out``, ``validate --report`` and ``import
--report`` refuse a workspace workbook (links resolved, letter case ignored),
the file being read, and any existing file crmkit did not write, unless
``--force`` (which never unlocks a workspace workbook).  crmkit recognises its
own output by the custom document property ``crmkit_output`` of an .xlsx (and
its unchanged "modified" time), and a CSV by the SHA-256 it recorded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.cli import main
from crmkit.io.outputs import is_crmkit_output

WORKBOOKS = ("customers.xlsx", "tasks.xlsx", "campaigns.xlsx", "rules.xlsx", "log.xlsx")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from crmkit.sample import generate_workspace

    folder = tmp_path_factory.mktemp("outpaths") / "crm"
    generate_workspace(folder, customers=20, seed=5, lang="en")
    return folder


@pytest.fixture
def ws(sample, tmp_path) -> Path:
    folder = tmp_path / "crm"
    shutil.copytree(sample, folder, ignore=shutil.ignore_patterns(".crmkit"))
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in WORKBOOKS}


def new_csv(folder: Path) -> Path:
    path = folder / "new.csv"
    pd.DataFrame({"Customer name": ["Nova Trading"], "Source": ["referral"], "Created": ["2026-11-18"]}
                 ).to_csv(path, index=False)
    return path


def commands(ws: Path, target: Path, tmp: Path) -> dict[str, list[str]]:
    return {
        "export": ["export", str(ws), "--out", str(target)],
        "validate": ["validate", str(ws), "--report", str(target)],
        "report": ["report", str(ws), "--out", str(target)],
        "import": ["import", str(new_csv(tmp)), "--into", str(ws), "--report", str(target)],
    }


@pytest.mark.parametrize("command", ["export", "validate", "report", "import"])
@pytest.mark.parametrize("name", ["customers.xlsx", "tasks.xlsx", "rules.xlsx", "CUSTOMERS.XLSX"])
def test_an_output_path_that_is_a_workspace_workbook_is_refused_and_nothing_changes(ws, tmp_path, capsys,
                                                                                   command, name):
    before = digests(ws)
    code = main(commands(ws, ws / name, tmp_path)[command])
    err = capsys.readouterr().err
    assert code == 2
    assert "workbook of the workspace" in err and "Traceback" not in err
    assert digests(ws) == before
    assert not (ws / "CUSTOMERS.XLSX").exists()


@pytest.mark.parametrize("command", ["export", "report"])
def test_force_never_unlocks_a_workspace_workbook(ws, tmp_path, capsys, command):
    before = digests(ws)
    assert main([*commands(ws, ws / "customers.xlsx", tmp_path)[command], "--force"]) == 2
    assert digests(ws) == before


def test_a_link_to_a_workspace_workbook_is_refused(ws, tmp_path, capsys):
    link = tmp_path / "out.xlsx"
    link.symlink_to(ws / "customers.xlsx")
    before = digests(ws)
    assert main(["export", str(ws), "--out", str(link), "--force"]) == 2
    assert "workbook of the workspace" in capsys.readouterr().err
    assert digests(ws) == before


def test_a_path_through_a_linked_folder_is_refused(ws, tmp_path, capsys):
    alias = tmp_path / "alias"
    alias.symlink_to(ws, target_is_directory=True)
    before = digests(ws)
    assert main(["report", str(ws), "--out", str(alias / "tasks.xlsx")]) == 2
    assert digests(ws) == before


def test_validate_report_over_the_file_being_checked_is_refused(tmp_path, capsys):
    src = new_csv(tmp_path)
    book = tmp_path / "leads.xlsx"
    pd.read_csv(src).to_excel(book, index=False, engine="openpyxl")
    before = book.read_bytes()
    assert main(["validate", str(book), "--report", str(book), "--force"]) == 2
    assert "being read" in capsys.readouterr().err
    assert book.read_bytes() == before


def test_an_existing_file_crmkit_did_not_write_is_refused_without_force(ws, tmp_path, capsys):
    mine = tmp_path / "budget.xlsx"
    book = openpyxl.Workbook()
    book.active["A1"] = "my budget"
    book.save(mine)
    before = mine.read_bytes()
    for command, args in commands(ws, mine, tmp_path).items():
        assert main(args) == 2, command
        assert "--force" in capsys.readouterr().err
        assert mine.read_bytes() == before, command
    assert main(["export", str(ws), "--out", str(mine), "--force"]) == 0
    assert openpyxl.load_workbook(mine).active["A1"].value != "my budget"


def test_crmkit_may_write_again_over_its_own_output_but_not_once_a_user_saved_it(ws, tmp_path, capsys):
    out = tmp_path / "reports" / "customers.xlsx"     # the same name as a workbook, but not in a workspace
    for args in commands(ws, out, tmp_path).values():
        assert main(args) in (0, 1), args
        assert is_crmkit_output(out, ws)
    book = openpyxl.load_workbook(out)               # a user opens and saves it: it is theirs now
    book.active["A1"] = "my notes"
    book.save(out)
    assert not is_crmkit_output(out, ws)
    assert main(["export", str(ws), "--out", str(out)]) == 2
    assert openpyxl.load_workbook(out).active["A1"].value == "my notes"


def test_a_validation_report_of_a_lone_file_is_known_by_its_document_property(tmp_path, capsys):
    src = new_csv(tmp_path)
    out = tmp_path / "issues.xlsx"
    assert main(["validate", str(src), "--report", str(out)]) in (0, 1)
    assert is_crmkit_output(out)
    assert main(["validate", str(src), "--report", str(out)]) in (0, 1)
    time.sleep(1.1)                                  # Excel's "modified" time has whole seconds
    book = openpyxl.load_workbook(out)
    book.active["A1"] = "my notes"
    book.save(out)
    assert not is_crmkit_output(out)
    assert main(["validate", str(src), "--report", str(out)]) == 2
    assert openpyxl.load_workbook(out).active["A1"].value == "my notes"


def test_a_csv_export_may_be_written_again_unless_someone_changed_it(ws, tmp_path, capsys):
    out = tmp_path / "customers.csv"
    assert main(["export", str(ws), "--out", str(out)]) == 0
    assert main(["export", str(ws), "--out", str(out)]) == 0
    with open(out, "a", encoding="utf-8") as fh:
        fh.write("my own line\n")
    assert main(["export", str(ws), "--out", str(out)]) == 2
    assert out.read_text(encoding="utf-8-sig").endswith("my own line\n")


def test_the_default_report_path_is_reused_without_force(ws, capsys):
    assert main(["report", str(ws)]) == 0
    assert main(["report", str(ws)]) == 0


def test_an_output_inside_the_crmkit_folder_is_refused(ws, capsys):
    (ws / ".crmkit").mkdir(exist_ok=True)
    assert main(["export", str(ws), "--out", str(ws / ".crmkit" / "x.xlsx")]) == 2
    assert not (ws / ".crmkit" / "x.xlsx").exists()


def test_a_workspace_found_by_its_folder_is_protected_too(ws, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(ws, other)
    before = digests(other)
    # the output names another workspace's workbook: refused, although that workspace is not the one read
    assert main(["export", str(ws), "--out", str(other / "campaigns.xlsx"), "--force"]) == 2
    assert digests(other) == before
    assert os.path.exists(other / "campaigns.xlsx")
