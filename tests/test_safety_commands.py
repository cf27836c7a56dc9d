"""Every command that writes goes through the safe write path.

For each writing command (a fixed list; a command missing from the command
line fails) on a small sample workspace:

* while the workbooks are open in Excel (``~$name.xlsx``) it refuses with a
  one-line message, and no workbook changes;
* when the workbooks hold a chart it refuses, says what to do, and no
  workbook changes;
* on workbooks a user has saved with their own sheet and a formula column, it
  does its work and keeps them, leaves a backup of each workbook it changed
  and no temporary file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.chart import BarChart, Reference

from crmkit.cli import cli, main
from crmkit.io.safety import backups_of

WORKBOOKS = ("customers.xlsx", "tasks.xlsx", "campaigns.xlsx", "rules.xlsx", "log.xlsx")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    from crmkit.sample import generate_workspace

    folder = tmp_path_factory.mktemp("cmds") / "crm"
    generate_workspace(folder, customers=25, seed=11, lang="en")
    return folder


def new_customers_csv(folder: Path) -> Path:
    path = folder / "new.csv"
    pd.DataFrame({"Customer name": ["Nova Trading", "Orbit Foods"], "Source": ["referral", "trade_show"],
                  "Created": ["2026-11-18", "2026-11-19"], "Phone": ["+86 139 1111 2222", "+86 139 3333 4444"]}
                 ).to_csv(path, index=False)
    return path


COMMANDS = {
    "import": lambda ws, tmp: ["import", str(new_customers_csv(tmp)), "--into", str(ws)],
    "dedupe": lambda ws, tmp: ["dedupe", str(ws), "--apply"],
    "run": lambda ws, tmp: ["run", str(ws)],
    "rfm": lambda ws, tmp: ["rfm", str(ws)],
    "send": lambda ws, tmp: ["send", str(ws)],
    "campaign": lambda ws, tmp: ["campaign", str(ws), "CP01"],
    "cycle": lambda ws, tmp: ["cycle", str(ws)],
}
ALWAYS_WRITES = ("import", "run", "rfm")


def workspace_copy(sample: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "crm"
    shutil.copytree(sample, folder, ignore=shutil.ignore_patterns(".crmkit"))
    return folder


def contents(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in WORKBOOKS if (folder / name).exists()}


def run_command(name: str, folder: Path, tmp_path: Path, capsys) -> tuple[int, str, str]:
    assert name in cli.commands, f"crmkit {name} is not a command"
    code = main(COMMANDS[name](folder, tmp_path))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_writing_command_refuses_while_the_workbooks_are_open_in_excel(sample, tmp_path, capsys, name,
                                                                         monkeypatch):
    monkeypatch.setenv("CRMKIT_WAIT", "0")
    folder = workspace_copy(sample, tmp_path)
    for wb in WORKBOOKS:
        (folder / f"~${wb}").write_text("")
    before = contents(folder)
    code, out, err = run_command(name, folder, tmp_path, capsys)
    assert contents(folder) == before
    assert "Traceback" not in out + err
    if name in ALWAYS_WRITES or code != 0 or err:     # (dedupe with nothing to merge writes nothing)
        assert code == 2, (out, err)
        lines = [x for x in err.splitlines() if x.strip()]
        assert len(lines) == 1 and "open in Excel" in lines[0] and ".xlsx" in lines[0]


def add_chart(path: Path) -> None:
    book = openpyxl.load_workbook(path)
    sheet = book.create_sheet("Chart")
    sheet.append(["month", "won"])
    sheet.append(["Nov", 3])
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=2))
    sheet.add_chart(chart, "D2")
    book.save(path)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_writing_command_refuses_to_drop_a_chart_and_changes_nothing(sample, tmp_path, capsys, name):
    folder = workspace_copy(sample, tmp_path)
    for wb in WORKBOOKS:
        add_chart(folder / wb)
    before = contents(folder)
    code, out, err = run_command(name, folder, tmp_path, capsys)
    assert contents(folder) == before
    assert "Traceback" not in out + err
    if name in ALWAYS_WRITES or code != 0 or err:
        assert code == 2, (out, err)
        lines = [x for x in err.splitlines() if x.strip()]
        assert len(lines) == 1 and "charts" in lines[0] and "another workbook" in lines[0]


def user_edit(path: Path) -> None:
    book = openpyxl.load_workbook(path)
    first = book.worksheets[0]
    col = first.max_column + 1
    first.cell(1, col, "Mine")
    for r in range(2, first.max_row + 1):
        first.cell(r, col, f"=ROW()*{r}")
    first["A1"].comment = None
    book.create_sheet("My notes")["A1"] = "remember the Q4 push"
    book.save(path)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_writing_command_keeps_user_sheets_and_formulas_and_leaves_backups(sample, tmp_path, capsys, name):
    folder = workspace_copy(sample, tmp_path)
    before_rows = {}
    for wb in WORKBOOKS:
        user_edit(folder / wb)
        before_rows[wb] = openpyxl.load_workbook(folder / wb, read_only=True).worksheets[0].max_row
    before = contents(folder)
    code, out, err = run_command(name, folder, tmp_path, capsys)
    assert code in (0, 1), err
    assert "Traceback" not in out + err
    after = contents(folder)
    changed = [wb for wb in WORKBOOKS if before.get(wb) != after.get(wb)]
    if name in ALWAYS_WRITES:
        assert changed, f"{name} wrote nothing"
    for wb in WORKBOOKS:
        book = openpyxl.load_workbook(folder / wb)
        assert book["My notes"]["A1"].value == "remember the Q4 push", wb
        first = book.worksheets[0]
        heads = [c.value for c in first[1]]
        assert "Mine" in heads, wb
        col = heads.index("Mine") + 1
        if before_rows[wb] >= 2:
            assert first.cell(2, col).value == "=ROW()*2", wb
    for wb in changed:
        assert backups_of(folder / wb, folder), f"no backup of {wb}"
    assert not list(folder.glob(".*.tmp-*"))


def test_crmkit_wait_lets_a_command_go_ahead_once_excel_closes_the_workbook(sample, tmp_path, capsys):
    import threading

    from crmkit.io.safety import set_default_wait

    assert "rfm" in cli.commands
    folder = workspace_copy(sample, tmp_path)
    lock = folder / "~$customers.xlsx"
    lock.write_text("")
    threading.Timer(0.5, lock.unlink).start()
    try:
        code = main(["--wait", "60", "rfm", str(folder)])
    finally:
        set_default_wait(None)
    _, err = capsys.readouterr()
    assert code == 0, err
    assert backups_of(folder / "customers.xlsx", folder)


def test_crmkit_wait_waits_for_another_run_to_release_the_workspace(sample, tmp_path, capsys):
    import subprocess
    import sys

    from crmkit.io.safety import set_default_wait

    assert "rfm" in cli.commands
    folder = workspace_copy(sample, tmp_path)
    root = Path(__file__).resolve().parent.parent
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom crmkit.io.journal import workspace_lock\n"
         "with workspace_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(1)\n", str(folder)],
        cwd=root, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    try:
        refused = main(["rfm", str(folder)])
        _, err = capsys.readouterr()
        waited = main(["--wait", "60", "rfm", str(folder)])
    finally:
        set_default_wait(None)
        holder.wait()
    assert refused == 2 and "another crmkit run" in err
    assert waited == 0
