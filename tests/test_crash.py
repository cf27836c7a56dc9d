"""Kill a crmkit write with SIGKILL at random moments: the workbook is always whole, old or new.

A child process (forked, so it starts at once) writes customers.xlsx over and over, alternating two known
versions (A: N rows named A*, B: N + 1 rows named B*), through the real
write path: ``write_workbook`` -> ``replace_file`` (xlsxwriter rewrite of a
crmkit workbook), or the in-place openpyxl update of a workbook a user has
saved.  The test kills it after a random delay and checks that the workbook
opens and holds exactly version A or version B, that no stray temporary
file survives the next write, and that the backups stay bounded.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crmkit.io.reading import read_sheet
from crmkit.io.safety import backups_of, clean_stale_temps
from crmkit.io.writer import write_workbook

ROWS = 2000

def version(tag: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [f"{tag}{i:06d}" for i in range(n)],
        "name": [f"{tag} customer {i} " + "x" * 40 for i in range(n)],
        "source": ["referral"] * n,
        "notes": ["=not a formula; " + "y" * 80] * n,
        "created_at": pd.date_range("2026-01-01", periods=n, freq="h"),
    })


def write(path: Path, frame: pd.DataFrame) -> None:
    write_workbook(path, {"customers": frame}, "en", workbook_key="customers", workspace=path.parent,
                   keep_backups=3)


def write_forever(path: Path, rows: int) -> None:
    """The child: alternate versions B and A until killed (never returns)."""
    frames = [version("B", rows + 1), version("A", rows)]
    i = 0
    while True:
        write(path, frames[i % 2])
        i += 1


def fingerprint(path: Path) -> tuple[int, str, str]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    df = read_sheet(path, "customers")
    return len(df), str(df["customer_id"].iloc[0]), str(df["customer_id"].iloc[-1])


def versions(rows: int):
    return (rows, "A000000", f"A{rows - 1:06d}"), (rows + 1, "B000000", f"B{rows:06d}")


def make_start(folder: Path, rows: int, user_saved: bool) -> tuple[Path, float]:
    """Version A on disk (with ``user_saved``, saved by 'a user': in-place updates); and a write's duration."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "customers.xlsx"
    write(path, version("A", rows))
    if user_saved:
        book = openpyxl.load_workbook(path)
        book.create_sheet("My notes")["A1"] = "keep me"
        book.save(path)
    began = time.monotonic()
    write(path, version("A", rows))
    return path, time.monotonic() - began


def kill_trials(folder: Path, trials: int, seed: int, user_saved: bool) -> Counter:
    rows = ROWS if not user_saved else ROWS // 2
    A, B = versions(rows)
    rng = random.Random(seed)
    path, duration = make_start(folder, rows, user_saved)
    assert fingerprint(path) == A
    fork = multiprocessing.get_context("fork")
    seen: Counter = Counter()
    for _ in range(trials):
        child = fork.Process(target=write_forever, args=(path, rows), daemon=True)
        child.start()
        time.sleep(rng.uniform(0.0, 2.5 * duration))    # anywhere in the first two or three writes
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        got = fingerprint(path)              # opens, is whole, and is one of the two versions
        assert got in (A, B), f"corrupt or mixed workbook after kill: {got}"
        seen["A" if got == A else "B"] += 1
        if user_saved:
            assert "My notes" in openpyxl.load_workbook(path, read_only=True).sheetnames
        # a killed write leaves at most its own temp file behind, and the next write removes it
        # (named .customers.xlsx.<pid>-<random>.crmkit-tmp: never a file that looks like a broken workbook)
        leftovers = [p for p in folder.iterdir() if p.name.startswith(".customers.")]
        assert all(p.name.startswith(f".customers.xlsx.{child.pid}-") and p.name.endswith(".crmkit-tmp")
                   for p in leftovers), leftovers
        assert not [p for p in folder.iterdir() if p.suffix.lower() == ".xlsx" and p.name != "customers.xlsx"]
        clean_stale_temps(folder)
        assert not [p for p in folder.iterdir() if p.name.startswith(".customers.")]
        assert len(backups_of(path, folder)) <= 3
    return seen


@pytest.mark.parametrize("user_saved", [False, True], ids=["rewrite", "in-place-update"])
def test_a_write_killed_at_random_moments_leaves_the_old_or_the_new_workbook(tmp_path, user_saved):
    seen = kill_trials(tmp_path, trials=6, seed=20261123, user_saved=user_saved)
    assert sum(seen.values()) == 6          # 12 trials in all (both write paths)


@pytest.mark.slow
def test_fifty_random_kills_never_corrupt_the_workbook(tmp_path, request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow: run with -m slow")
    seen = kill_trials(tmp_path / "rw", trials=40, seed=7, user_saved=False)
    seen += kill_trials(tmp_path / "up", trials=20, seed=8, user_saved=True)
    assert sum(seen.values()) == 60
    print(f"\ncrash trials: 60, corruptions: 0, outcomes: {dict(seen)}")
