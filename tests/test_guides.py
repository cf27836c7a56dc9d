"""The analyst guides (notebooks/guides/) run top to bottom and are committed clean.

Each guide is executed with nbval (lax: errors fail, outputs are not compared)
in a child pytest, with CRMKIT_WORKSPACE pointing to a temporary copy of
sample_data, as tests/test_notebooks.py runs the dashboards.  The guides only
read: the copy's workbooks are unchanged afterwards.  Committed notebooks hold
no outputs and no execution counts, so a diff shows only what a person wrote.

The guides live in notebooks/guides/, which is not part of what the dashboard
server (Voila) serves: that is crmkit/dashboard/notebooks/ (package data), and
notebooks/ holds only links to those five dashboards.  A guide served there would
be a page of the dashboards that opens the whole workspace, whoever signed in
(team mode shows a member only their own customers).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dotted import resolve

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ROOT / "notebooks" / "guides"
NAMES = ["01_first_hour", "02_rfm_and_clv", "03_cohorts_and_retention", "04_campaign_results"]


def notebook(name: str) -> dict:
    return json.loads((GUIDES / f"{name}.ipynb").read_text(encoding="utf-8"))


def test_every_guide_is_there_and_not_served_by_the_dashboards():
    from crmkit.dashboard.server import NOTEBOOK_DIR

    assert sorted(p.stem for p in GUIDES.glob("*.ipynb")) == NAMES
    served = {p.resolve() for p in NOTEBOOK_DIR.rglob("*.ipynb")}
    assert not served & {p.resolve() for p in GUIDES.glob("*.ipynb")}
    assert not any("guide" in str(p.relative_to(NOTEBOOK_DIR.resolve())) for p in served)


@pytest.mark.parametrize("name", NAMES)
def test_guide_is_committed_without_outputs(name):
    book = notebook(name)
    for cell in book["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{name}: a code cell has outputs"
            assert cell.get("execution_count") is None, f"{name}: a code cell has an execution count"
    # a title in both languages, and the workspace taken from $CRMKIT_WORKSPACE
    first = "".join(book["cells"][0]["source"])
    assert first.startswith("# ") and "·" in first.splitlines()[0]
    code = "\n".join("".join(c["source"]) for c in book["cells"] if c["cell_type"] == "code")
    assert 'os.environ.get("CRMKIT_WORKSPACE"' in code


def _called_functions(name: str) -> set[str]:
    """``module.function`` for every call in the guide's code on a name imported from crmkit."""
    code = "\n".join("".join(c["source"]) for c in notebook(name)["cells"] if c["cell_type"] == "code")
    tree = ast.parse(code)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "crmkit":
                    aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "crmkit":
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in aliases:
            found.add(aliases[f.id])
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in aliases:
            found.add(f"{aliases[f.value.id]}.{f.attr}")
    return found




def _example_lines(doc: str | None) -> list[str]:
    return [ln.strip() for ln in (doc or "").splitlines() if ln.strip().startswith((">>>", "..."))]


@pytest.mark.parametrize("name", NAMES)
def test_every_crmkit_function_a_guide_calls_has_an_example(name):
    """Its own docstring has an example, or its module's docstring shows a call of it."""
    called = _called_functions(name)
    assert called, name
    for dotted in sorted(called):
        obj = resolve(dotted)
        if isinstance(obj, type) or not callable(obj):
            continue
        fname = dotted.rpartition(".")[2]
        module = sys.modules[obj.__module__]
        shown = _example_lines(obj.__doc__) or [ln for ln in _example_lines(module.__doc__) if f"{fname}(" in ln]
        assert shown, f"{name} calls {dotted}, whose docstring has no example"


def test_every_guide_runs_top_to_bottom(tmp_path):
    workspace = tmp_path / "crm"
    shutil.copytree(ROOT / "sample_data", workspace)
    def user_files() -> dict[str, bytes]:        # crmkit's own .crmkit/ (the read cache) may appear
        return {str(p.relative_to(workspace)): p.read_bytes() for p in workspace.rglob("*")
                if p.is_file() and ".crmkit" not in p.relative_to(workspace).parts}

    before = user_files()
    env = dict(os.environ, CRMKIT_WORKSPACE=str(workspace), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q", "-p", "no:cacheprovider",
           "-o", "addopts=", "-o", "testpaths=", "--rootdir", str(tmp_path),
           *[str(GUIDES / f"{n}.ipynb") for n in NAMES]]
    run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "passed" in run.stdout and "failed" not in run.stdout
    # the guides only read: no workbook changed, nothing was added beside them
    assert before == user_files()
