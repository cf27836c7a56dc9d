"""Every dashboard notebook runs top to bottom (nbval, lax) against a small workspace copy.

nbval runs in a child pytest so that CRMKIT_WORKSPACE reaches the kernels
without touching this process's environment; the notebooks never see the
committed sample_data/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_dashboard import small_workspace

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def test_every_dashboard_notebook_runs_without_errors(tmp_path):
    workspace = small_workspace(tmp_path / "crm")
    before = {p.name: p.stat().st_mtime_ns for p in workspace.glob("*.xlsx")}
    env = dict(os.environ, CRMKIT_WORKSPACE=str(workspace), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q", "-p", "no:cacheprovider",
           "-o", "addopts=", "-o", "testpaths=", "--rootdir", str(tmp_path),
           *sorted(str(p) for p in NOTEBOOKS.glob("*.ipynb"))]
    run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "passed" in run.stdout and "failed" not in run.stdout
    # opening a dashboard changes nothing in the workbooks
    assert before == {p.name: p.stat().st_mtime_ns for p in workspace.glob("*.xlsx")}
