"""Two crmkit processes on one workspace at once: no update is lost; the second waits or refuses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from crmkit.cli import cli
from crmkit.io.journal import workspace_lock
from crmkit.workspace import open_workspace

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "CRMKIT_WAIT": ""}


def crmkit(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "crmkit", *args], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def sample_workspace(tmp_path_factory) -> Path:
    from crmkit.sample import generate_workspace

    folder = tmp_path_factory.mktemp("concurrency") / "crm"
    generate_workspace(folder, customers=30, seed=3, lang="en")
    return folder


def copy_workspace(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".crmkit"))
    return dst


def test_two_rule_runs_at_once_both_land_and_none_of_their_work_is_lost(sample_workspace, tmp_path):
    assert "run" in cli.commands
    folder = copy_workspace(sample_workspace, tmp_path / "crm")
    tasks_before = len(open_workspace(folder)["tasks"])
    first = crmkit("run", str(folder), "--as-of", "2026-11-20 10:00", "--json", "--wait", "300")
    second = crmkit("run", str(folder), "--as-of", "2026-11-27 10:00", "--json", "--wait", "300")
    results = [finish(first), finish(second)]
    assert [r[0] for r in results] == [0, 0], [r[1][-800:] + r[2] for r in results]
    import json

    payloads = [json.loads(r[1]) for r in results]
    log = open_workspace(folder)["rule_log"]
    done = log[log["outcome"] == "done"]
    per_run = done.groupby("run_id").size()
    assert len(per_run) == 2                         # both runs' log entries are there
    assert sorted(per_run.tolist()) == sorted(p["actions"] for p in payloads)
    made = set(done["detail"].astype(str).str.findall(r"\btask (T\d+)").explode().dropna())
    tasks = open_workspace(folder)["tasks"]
    assert made and made <= set(tasks["task_id"])      # every task either run created is there
    assert len(tasks) >= tasks_before + len(made)


def test_a_run_refuses_at_once_with_a_clear_message_while_another_holds_the_workspace(sample_workspace, tmp_path):
    assert "run" in cli.commands
    folder = copy_workspace(sample_workspace, tmp_path / "crm")
    before = {p.name: p.read_bytes() for p in folder.glob("*.xlsx")}
    with workspace_lock(folder):
        code, out, err = finish(crmkit("run", str(folder)))
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2
    assert len(lines) == 1 and "another crmkit run" in lines[0] and str(folder) in lines[0]
    assert "Traceback" not in err + out
    assert {p.name: p.read_bytes() for p in folder.glob("*.xlsx")} == before


def test_a_run_with_wait_goes_ahead_once_the_other_has_finished(sample_workspace, tmp_path):
    assert "run" in cli.commands
    folder = copy_workspace(sample_workspace, tmp_path / "crm")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom crmkit.io.journal import workspace_lock\n"
         "with workspace_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(1.5)\n", str(folder)],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    code, out, err = finish(crmkit("run", str(folder), "--wait", "300", "--json"))
    holder.wait()
    assert code == 0, err
    assert len(open_workspace(folder)["rule_log"]) > 0


def customer_csv(path: Path, prefix: str, n: int) -> Path:
    pd.DataFrame({
        "Customer ID": [f"{prefix}{i:03d}" for i in range(n)],
        "Customer name": [f"{prefix} Trading {i}" for i in range(n)],
        "Source": ["referral"] * n,
        "Created": ["2026-11-01"] * n,
        "Phone": [f"+86 139{hash(prefix) % 1000:03d}{i:05d}" for i in range(n)],
    }).to_csv(path, index=False)
    return path


def test_imports_at_once_either_land_or_refuse_clearly_and_never_lose_rows(sample_workspace, tmp_path):
    assert "import" in cli.commands
    folder = copy_workspace(sample_workspace, tmp_path / "crm")
    before = set(open_workspace(folder)["customers"]["customer_id"])
    sources = {p: customer_csv(tmp_path / f"{p}.csv", p, 5) for p in ("IMPA", "IMPB")}
    procs = {p: crmkit("import", str(src), "--into", str(folder)) for p, src in sources.items()}
    outcomes = {p: finish(proc) for p, proc in procs.items()}
    after = set(open_workspace(folder)["customers"]["customer_id"])
    assert before <= after
    for prefix, (code, out, err) in outcomes.items():
        assert "Traceback" not in out + err
        mine = {f"{prefix}{i:03d}" for i in range(5)}
        if code == 0:
            assert mine <= after, f"{prefix}: rows lost"
        else:
            assert code == 2 and "another crmkit run" in err, err
            assert not mine & after
    assert any(code == 0 for code, _, _ in outcomes.values())


APPEND_ONE = """
import sys
import pandas as pd
from crmkit.io.journal import workspace_lock
from crmkit.workspace import open_workspace

folder, task_id = sys.argv[1], sys.argv[2]
with workspace_lock(folder, wait=300):
    ws = open_workspace(folder)                  # read inside the lock: sees the others' writes
    ws.append("tasks", pd.DataFrame({"task_id": [task_id], "title": ["call back"], "owner": ["Li Na"],
                                     "due_at": [pd.Timestamp("2026-11-21 10:00")], "status": ["open"],
                                     "created_at": [pd.Timestamp("2026-11-20 10:00")]}))
    ws.save()
"""


def test_writers_holding_the_workspace_lock_lose_no_update(sample_workspace, tmp_path):
    folder = copy_workspace(sample_workspace, tmp_path / "crm")
    before = len(open_workspace(folder)["tasks"])
    ids = [f"TX{i}" for i in range(4)]
    procs = [subprocess.Popen([sys.executable, "-c", APPEND_ONE, str(folder), i], cwd=ROOT, env=ENV,
                              stderr=subprocess.PIPE, text=True) for i in ids]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    tasks = open_workspace(folder)["tasks"]
    assert len(tasks) == before + 4
    assert set(ids) <= set(tasks["task_id"])


def test_the_lock_is_released_when_a_holder_is_killed(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom crmkit.io.journal import workspace_lock\n"
         "with workspace_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n", str(tmp_path)],
        cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    started = time.monotonic()
    with workspace_lock(tmp_path, wait=30):
        pass
    assert time.monotonic() - started < 30
