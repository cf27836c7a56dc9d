"""Hostile inputs end with a located one-line error or a clean result: never a traceback or a hang.

The corpus lives in ``tests/hostile`` (built by code).  Each case runs the
commands it names; the count of cases is pinned so that the corpus only
grows.  Cases that may block or exhaust memory run in a child process with a
time limit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hostile import CASES, Hostile

from crmkit.cli import main

TIME_LIMIT = 180          # seconds for one command in a child process; a hang fails the test


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory) -> Path:
    from crmkit.sample import generate_workspace

    return generate_workspace(tmp_path_factory.mktemp("hostile") / "good", customers=40, seed=3)


def argv_for(command: str, path: Path, good_ws: Path) -> list[str]:
    return {
        "validate": ["validate", str(path)],
        "import": ["import", str(path), "--into", str(good_ws), "--dry-run"],
        "import-orders": ["import", str(path), "--into", str(good_ws), "--entity", "orders", "--dry-run"],
        "run": ["run", str(path), "--dry-run"],
        "run-write": ["run", str(path)],
        "rfm": ["rfm", str(path)],
    }[command]


def snapshot(path: Path) -> dict[str, bytes]:
    try:
        if path.is_symlink() or not path.exists():
            return {"link": os.fsencode(os.readlink(path))} if path.is_symlink() else {}
        if path.is_file():
            return {path.name: path.read_bytes()}
        return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
                if p.is_file() and ".crmkit" not in p.parts and "reports" not in p.parts}
    except OSError:
        return {"unreadable": b""}


def terminal_unsafe(text: str) -> list[str]:
    """Characters that would drive a terminal: C0/C1 controls (but tab/newline) and bidi overrides."""
    bad = []
    for ch in text:
        if ch in "\n\t":
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc" or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
            bad.append(repr(ch))
    return bad


CALLS = [(case, command) for case in CASES for command in case.commands]


def test_the_corpus_holds_at_least_fifty_hostile_inputs():
    assert len(CASES) >= 50
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("case, command", CALLS, ids=[f"{c.name}-{cmd}".replace(" ", "_") for c, cmd in CALLS])
def test_a_hostile_input_ends_cleanly_with_a_located_message(case: Hostile, command, sample_ws, tmp_path,
                                                               capsys, monkeypatch):
    import shutil

    good_ws = tmp_path / "target-ws"
    shutil.copytree(sample_ws, good_ws, ignore=shutil.ignore_patterns(".crmkit"))
    path = case.build(tmp_path, sample_ws)
    argv = argv_for(command, path, good_ws)
    before = snapshot(path)
    monkeypatch.setenv("CRMKIT_WAIT", "0")
    if case.subprocess:
        env = {**os.environ, "CRMKIT_WAIT": "0", "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent)] + os.environ.get("PYTHONPATH", "").split(os.pathsep))}
        try:
            proc = subprocess.run([sys.executable, "-m", "crmkit", *argv], capture_output=True, text=True,
                                  timeout=TIME_LIMIT, env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            pytest.fail(f"crmkit {command} did not finish within {TIME_LIMIT} s on {case.name}")
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    else:
        code = main(argv)
        out, err = capsys.readouterr()
    shown = f"exit {code}\nout={out[-800:]!r}\nerr={err[-800:]!r}"
    assert code in case.extra.get("codes", {}).get(command, case.codes), shown
    assert "Traceback" not in out + err, shown
    assert "unexpected error" not in err, shown
    assert "panicked" not in err and "RUST_BACKTRACE" not in err, shown
    assert terminal_unsafe(out + err) == [], shown
    # (a line the Rust reader prints on its own, such as "'worksheet' not a valid worksheet", is not crmkit's)
    lines = [x for x in err.splitlines() if x.strip() and not x.endswith("not a valid worksheet")]
    if code == 2:
        assert len(lines) == 1, shown
        names = {path.name, path.parent.name} | ({p.name for p in path.iterdir()} if path.is_dir() else set())
        assert any(n and n in lines[0] for n in names), shown
    if command != "run-write":
        assert snapshot(path) == before, "a hostile input was changed"


def test_random_bytes_the_reader_takes_for_an_empty_sheet_are_refused(tmp_path):
    """Some random bytes in a sheet's part read as an empty sheet (about 1 in 200 draws of 2 KB): such a
    workbook is refused, never taken for one without rows.  ``tests/data/garbage-sheet-part.bin`` is such a
    draw; a truly empty sheet still reads as empty."""
    import openpyxl
    from hostile import base_book, rezip, sheet_part

    from crmkit.exceptions import WorkbookError
    from crmkit.io.reading import open_reader, read_raw

    base = base_book(tmp_path)
    garbage = (Path(__file__).resolve().parent / "data" / "garbage-sheet-part.bin").read_bytes()
    book = rezip(base, tmp_path / "garbage.xlsx", {sheet_part(base): garbage})
    reader = open_reader(book)
    with pytest.raises(WorkbookError, match="not a worksheet"):
        read_raw(book, reader.sheet_names[0], reader)
    empty = openpyxl.Workbook()
    empty.active.title = "Customers"
    empty.save(tmp_path / "empty.xlsx")
    assert read_raw(tmp_path / "empty.xlsx", "Customers").empty
