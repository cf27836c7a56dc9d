"""One import gives the whole API: submodules load lazily on first use (issue 14)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fresh(code: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_submodules_are_reachable_after_one_import_and_load_only_when_touched():
    got = _fresh(
        "import json, sys, crmkit\n"
        "before = [m for m in ('crmkit.rfm', 'crmkit.analytics', 'crmkit.rules.engine', 'crmkit.dashboard',"
        " 'crmkit.dashboard.pages') if m in sys.modules]\n"
        "rfm = crmkit.rfm.rfm_scores.__name__\n"
        "engine = crmkit.rules.engine.run_rules.__name__\n"
        "names = [crmkit.analytics.__name__, crmkit.importer.__name__, crmkit.export.__name__]\n"
        "print(json.dumps({'before': before, 'rfm': rfm, 'engine': engine, 'names': names,"
        " 'ui_loaded': 'crmkit.dashboard.pages' in sys.modules, 'dir': 'rfm' in dir(crmkit)}))")
    assert got == {"before": [], "rfm": "rfm_scores", "engine": "run_rules",
                   "names": ["crmkit.analytics", "crmkit.importer", "crmkit.export"], "ui_loaded": False,
                   "dir": True}


def test_an_unknown_attribute_is_still_an_attribute_error():
    got = _fresh("import json, crmkit\n"
                 "try:\n    crmkit.nope\n    r = 'no error'\n"
                 "except AttributeError as e:\n    r = str(e)\n"
                 "print(json.dumps({'r': r}))")
    assert got == {"r": "module 'crmkit' has no attribute 'nope'"}


def test_every_module_of_the_package_is_an_attribute():
    """The list of lazily reachable submodules is the package folder itself: a new module needs no registering."""
    files = sorted(p.stem if p.suffix == ".py" else p.name for p in (ROOT / "crmkit").iterdir()
                   if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").exists()))
    got = _fresh("import json, crmkit\n"
                 "print(json.dumps({'names': list(crmkit.SUBMODULES),"
                 " 'loaded': [getattr(crmkit, n).__name__ for n in crmkit.SUBMODULES]}))")
    assert got["names"] == files
    assert got["loaded"] == [f"crmkit.{n}" for n in files]
    assert {"merge", "phones", "ids", "io", "dashboard", "tasks"} <= set(files)
