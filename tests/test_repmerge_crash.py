"""SIGKILL during ``crmkit merge`` at random moments: the main workspace is never half-merged.

Each trial copies the story of tests/test_repmerge.py (the sample workspace
after the main side's edits, and Alex Chen's rep workspace after Alex's: rep
edits, a conflict, a reassignment, a deletion, new customers with
interactions and a task), starts ``python -m crmkit merge MAIN REP`` in a
child process and kills it with SIGKILL after a random delay: one trial in
four early, one late in the run, one a moment after the save has begun (its
staging folder appeared), one just after it was decided (its journal
appeared).  Then:

* the main workspace opens (finishing or undoing the interrupted save) and
  validates with no more errors than before;
* its typed tables (Customers, Interactions, Tasks, History but its ``at``
  column) are exactly as before the merge or exactly as after one
  uninterrupted merge, and the merge record exists exactly when they are
  merged;
* ``crmkit merge`` runs again to the end and leaves exactly the fully merged
  tables (no row added twice, no edit applied twice).

The figures are printed; ``-m slow`` runs the 12-trial version.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_repmerge import REP, SAMPLE, Story, main_edits, rep_edits, split_rep

from crmkit.merge import as_text
from crmkit.teamwork.manifest import SplitManifest
from crmkit.teamwork.merge_record import path as record_path
from crmkit.validate import validate_path
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), "CRMKIT_WAIT": "0"}
TABLES = ("customers", "interactions", "tasks", "history")


def merge(main: Path, rep: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crmkit", "merge", str(main), str(rep)], capture_output=True,
                          text=True, env=ENV, timeout=600)


def tables(main: Path) -> dict[str, str]:
    """The typed tables as canonical text (History without its time, which is the merge's own)."""
    ws = open_workspace(main)
    out = {}
    for k in TABLES:
        df = ws[k]
        if k == "history":
            df = df.drop(columns=["at"])
        out[k] = "\n".join("\t".join("" if v is None else str(v) for v in row)
                           for row in zip(*(as_text(df[c]).astype(object).where(df[c].notna(), None)
                                            for c in df.columns)))
    return out


def trials(tmp: Path, n: int, seed: int) -> dict:
    base = tmp / "base"
    shutil.copytree(SAMPLE, base / "main")
    rep = split_rep(base / "main", base / "reps" / "alex", REP)
    story = Story(base / "main")
    rep_edits(rep, story)
    main_edits(base / "main", story)
    before = tables(base / "main")
    errors_before = validate_path(base / "main").errors
    split_id = SplitManifest.read(rep).split_id
    ref = tmp / "ref"
    shutil.copytree(base, ref)
    t0 = time.monotonic()
    r = merge(ref / "main", ref / "reps" / "alex")
    span = time.monotonic() - t0
    assert r.returncode == 1, r.stderr            # the conflict and the deletion wait for a person
    merged = tables(ref / "main")
    assert merged != before
    rng = random.Random(seed)
    figures = {"trials_wanted": n, "merge_seconds": round(span, 2), "killed": 0, "finished_before_kill": 0,
               "left_as_before": 0, "left_merged": 0, "half_merged": 0, "record_disagrees": 0,
               "not_valid": 0, "rerun_differs": 0}
    i = 0
    while figures["killed"] < n and i < 3 * n:
        i += 1
        trial = tmp / f"t{i}"
        shutil.copytree(base, trial)
        main, rp = trial / "main", trial / "reps" / "alex"
        proc = subprocess.Popen([sys.executable, "-m", "crmkit", "merge", str(main), str(rp)], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        mode = i % 4
        if mode >= 2:               # once the save has begun (staging), or once it is decided (journal)
            want = "txn-*" if mode == 2 else "journal.json"
            started = time.monotonic()
            while proc.poll() is None and not any((main / ".crmkit").glob(want)) \
                    and time.monotonic() - started < 4 * span:
                time.sleep(0.001)
            delay = rng.uniform(0.0, 0.4) if mode == 2 else rng.uniform(0.0, 0.01)
        else:
            delay = span * (rng.uniform(0.6, 1.0) if mode == 1 else rng.uniform(0.05, 0.6))
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            figures["killed"] += 1
        else:
            figures["finished_before_kill"] += 1
            if mode < 2:
                span = max(0.5, min(span, delay) * 0.95)
        proc.wait(timeout=600)
        got = tables(main)                        # opening finishes or undoes the interrupted save
        has_record = record_path(main, split_id).is_file()
        if got == before:
            figures["left_as_before"] += 1
            figures["record_disagrees"] += int(has_record)
        elif got == merged:
            figures["left_merged"] += 1
            figures["record_disagrees"] += int(not has_record)
        else:
            figures["half_merged"] += 1
        if validate_path(main).errors > errors_before:
            figures["not_valid"] += 1
        again = merge(main, rp)
        if again.returncode != 1 or tables(main) != merged:
            figures["rerun_differs"] += 1
            figures.setdefault("stderr", []).append(again.stderr[-300:])
        shutil.rmtree(trial)
    figures["trials"] = i
    return figures


def _check(figures: dict) -> None:
    print(json.dumps(figures))
    assert figures["killed"] >= figures["trials_wanted"], figures
    for k in ("half_merged", "record_disagrees", "not_valid", "rerun_differs"):
        assert figures[k] == 0, figures


@pytest.mark.timeout(600)
def test_merge_killed_at_random_moments_leaves_main_as_before_or_fully_merged(tmp_path):
    _check(trials(tmp_path, 3, seed=17))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_merge_killed_at_random_moments_12_trials(tmp_path):
    _check(trials(tmp_path, 12, seed=1717))
