"""Every command, given a bad path, exits 1 or 2 with a one-line message naming the place; no traceback.

The table crosses the commands (a fixed list: a command missing from the
command line fails its cases) with the bad inputs a user meets: a missing
path, a folder where a file belongs (or a file where a folder belongs), a
folder that is not a workspace, a corrupt workbook, a workbook missing its
sheet or a required column, and a file that is not a workbook at all.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit import cli as cli_module
from crmkit.cli import cli, main

# --------------------------------------------------------------------------- the bad inputs


def good_workspace(folder: Path) -> Path:
    from crmkit.templates import write_workspace

    return write_workspace(folder, {"customers": pd.DataFrame({
        "customer_id": ["C1", "C2"], "name": ["Acme", "Bolt"], "source": ["referral", "other"],
        "created_at": pd.to_datetime(["2026-01-05", "2026-02-01"])})}, settings={"as_of": "2026-11-20 10:00"})


def plain_customers_book(path: Path, *, sheet: str = "Customers", drop: str | None = None,
                         header: list[str] | None = None) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    header = header or ["Customer ID", "Customer name", "Source", "Created"]
    rows = [["C9", "Zeta", "referral", "2026-03-01"], ["C8", "Yolk", "other", "2026-03-02"]]
    keep = [i for i, h in enumerate(header) if h != drop]
    ws.append([header[i] for i in keep])
    for r in rows:
        ws.append([r[i] for i in keep])
    book.save(path)
    return path


def truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """name -> (path, the place a message must name)."""
    root = tmp_path_factory.mktemp("bad")
    out: dict[str, tuple[Path, str]] = {}
    out["missing"] = (root / "no-such-thing", "no-such-thing")
    (root / "empty-folder").mkdir()
    out["empty folder"] = (root / "empty-folder", "empty-folder")
    (root / "notes.txt").write_text("this is not a workbook\n")
    out["text file"] = (root / "notes.txt", "notes.txt")
    out["corrupt xlsx"] = (truncate(plain_customers_book(root / "corrupt.xlsx")), "corrupt.xlsx")
    (root / "fake.xlsx").write_text("name,phone\nAcme,1\n")
    out["text named xlsx"] = (root / "fake.xlsx", "fake.xlsx")
    # no sheet holds customers (an import picks the sheet whose header fits: here none does)
    out["xlsx without the sheet"] = (plain_customers_book(root / "nosheet.xlsx", sheet="Data",
                                                          header=["Colour", "Weight", "Flavour", "Mood"]),
                                     "nosheet.xlsx")
    out["xlsx without a required column"] = (plain_customers_book(root / "nocol.xlsx", drop="Customer name"),
                                             "nocol.xlsx")
    # workspaces with one broken workbook
    template = good_workspace(root / "template-ws")
    out["good workspace"] = (template, "template-ws")

    def broken_ws(name: str, damage) -> None:
        folder = root / name
        shutil.copytree(template, folder, ignore=shutil.ignore_patterns(".crmkit"))
        damage(folder / "customers.xlsx")
        out[name] = (folder, "customers.xlsx")

    broken_ws("ws with corrupt customers.xlsx", truncate)
    broken_ws("ws with text as customers.xlsx", lambda p: p.write_text("customer_id,name\nC1,Acme\n"))
    broken_ws("ws with customers.xlsx a folder", lambda p: (p.unlink(), p.mkdir()))

    def drop_sheet(p: Path) -> None:
        book = openpyxl.load_workbook(p)
        del book["Customers"]
        book.save(p)

    def drop_id_column(p: Path) -> None:
        book = openpyxl.load_workbook(p)
        book["Customers"].delete_cols(1)
        book.save(p)

    broken_ws("ws without the Customers sheet", drop_sheet)
    broken_ws("ws without the customer ID column", drop_id_column)
    return out


WORKSPACE_BAD = ["missing", "empty folder", "text file", "corrupt xlsx", "ws with corrupt customers.xlsx",
                 "ws with text as customers.xlsx", "ws with customers.xlsx a folder",
                 "ws without the Customers sheet", "ws without the customer ID column"]
FILE_BAD = ["missing", "empty folder", "text file", "corrupt xlsx", "text named xlsx", "xlsx without the sheet",
            "xlsx without a required column"]
NEW_FOLDER_BAD = ["text file", "corrupt xlsx", "good workspace"]     # init/sample refuse these

CASES = (
    [("init", b, lambda p: ["init", str(p)]) for b in NEW_FOLDER_BAD]
    + [("sample", b, lambda p: ["sample", str(p), "--customers", "5"]) for b in NEW_FOLDER_BAD]
    + [("validate", b, lambda p: ["validate", str(p)]) for b in FILE_BAD + WORKSPACE_BAD[4:]]
    + [("import", b, lambda p: ["import", str(p), "--into", "{good workspace}"]) for b in FILE_BAD]
    + [("import", b, lambda p: ["import", "{good source}", "--into", str(p)]) for b in WORKSPACE_BAD]
    + [("results", b, lambda p: ["results", str(p), "--into", "{good workspace}"]) for b in FILE_BAD]
    + [("results", b, lambda p: ["results", "{good results}", "--into", str(p)]) for b in WORKSPACE_BAD]
    + [(cmd, b, (lambda c: lambda p: [c, str(p)])(cmd)) for cmd in ("dedupe", "run", "rfm", "report", "export",
                                                                     "send", "clv")
       for b in WORKSPACE_BAD]
    + [("send", b, lambda p: ["send", str(p), "--dry-run"]) for b in WORKSPACE_BAD]
    + [("dedupe", b, lambda p: ["dedupe", str(p), "--apply"]) for b in WORKSPACE_BAD]
    + [("campaign", b, lambda p: ["campaign", str(p), "CP01"]) for b in WORKSPACE_BAD]
    + [("cycle", b, lambda p: ["cycle", str(p)]) for b in WORKSPACE_BAD]
    + [("merge", b, lambda p: ["merge", str(p), "{good workspace}"]) for b in WORKSPACE_BAD]
    + [("merge", b, lambda p: ["merge", "{good workspace}", str(p)]) for b in ("missing", "empty folder", "text file",
                                                                             "good workspace")]
    # (templates --refresh adds a missing column back: that repair is its job, so that case is left out)
    + [("templates", b, lambda p: ["templates", "--refresh", str(p)]) for b in WORKSPACE_BAD
       if b != "ws without the customer ID column"]
    + [("dashboard", b, lambda p: ["dashboard", str(p), "--no-browser", "--port", "8999"]) for b in WORKSPACE_BAD]
    + [("split", b, lambda p: ["split", str(p), "--out", "{new folder}"]) for b in WORKSPACE_BAD]
    + [("split", "text file", lambda p: ["split", "{good workspace}", "--out", str(p)])]
    # (user reads only the Team sheet: a damaged customers workbook is not its to report)
    + [("user", b, lambda p: ["user", str(p), "list"]) for b in WORKSPACE_BAD[:4]]
    + [("user", b, lambda p: ["user", str(p), "remove", "Alex Chen"]) for b in WORKSPACE_BAD[:4]]
)


class WouldServe(BaseException):
    """Raised instead of starting a dashboard server on a bad workspace."""


@pytest.mark.parametrize("command, case, argv", CASES,
                         ids=[f"{c}-{b}".replace(" ", "_") for c, b, _ in CASES])
def test_a_bad_path_gives_a_one_line_error_naming_the_place(bad, tmp_path, capsys, monkeypatch, command, case, argv):
    assert command in cli.commands, f"crmkit {command} is not a command"
    path, place = bad[case]
    good_source = plain_customers_book(tmp_path / "good-source.xlsx")
    good_results = tmp_path / "good-results.csv"
    good_results.write_text("message_id,event,time\nM000001,opened,2026-11-01 10:00\n", encoding="utf-8")
    good_ws = tmp_path / "good-ws"
    shutil.copytree(bad["good workspace"][0], good_ws, ignore=shutil.ignore_patterns(".crmkit"))
    args = [a.replace("{good workspace}", str(good_ws)).replace("{good source}", str(good_source))
            .replace("{good results}", str(good_results)).replace("{new folder}", str(tmp_path / "new"))
            for a in argv(path)]
    if command == "dashboard":
        import crmkit.dashboard.server as dash

        def refuse(*a, **k):
            raise WouldServe(f"the dashboard would start on a bad workspace ({case})")
        monkeypatch.setattr(dash.subprocess, "Popen", refuse)
    monkeypatch.setenv("CRMKIT_WAIT", "0")
    before = snapshot(path)
    try:
        code = main(args)
    except WouldServe:
        pytest.fail(f"crmkit dashboard would start serving a broken workspace ({case})")
    out, err = capsys.readouterr()
    assert code in (1, 2), f"exit {code}; out={out[-500:]!r} err={err[-500:]!r}"
    assert "Traceback" not in out + err
    assert "unexpected error" not in err, err
    lines = [x for x in err.splitlines() if x.strip()]
    if code == 2:
        assert len(lines) == 1, err
        assert place in lines[0], err
    else:
        assert len(lines) <= 1, err
        assert place in out + err, (out[-500:], err)
    assert snapshot(path) == before, "a bad input was changed"


def snapshot(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {path.name: path.read_bytes()}
    if path.is_dir():
        return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
                if p.is_file() and ".crmkit" not in p.parts and "reports" not in p.parts}
    return {}


def test_the_fixed_command_list_covers_every_command_that_takes_a_path():
    covered = {c for c, _, _ in CASES} | {"demo"}
    takes_path = {name for name, cmd in cli.commands.items()
                  if any(getattr(p, "type", None) is not None and "Path" in type(p.type).__name__
                         for p in cmd.params)}
    assert takes_path - covered == set(), "add the new command to CASES"


def test_a_usage_mistake_is_one_line_too(capsys):
    code = main(["rfm"])                       # the folder argument is missing
    _, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in err
    assert cli_module is not None
