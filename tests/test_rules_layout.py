"""The expression language's layers: context → nodes → functions → compiler, with no way back up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules_loaded_by(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(m for m in sys.modules if m.startswith('crmkit')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return set(out.stdout.split())


def test_the_function_registry_sits_below_the_compiler():
    loaded = _modules_loaded_by("crmkit.rules.functions")
    assert "crmkit.rules.functions" in loaded
    assert "crmkit.rules.compiler" not in loaded


def test_nodes_and_context_need_neither_the_functions_nor_the_compiler():
    for module in ("crmkit.rules.nodes", "crmkit.rules.context"):
        loaded = _modules_loaded_by(module)
        assert module in loaded
        assert "crmkit.rules.functions" not in loaded, module
        assert "crmkit.rules.compiler" not in loaded, module


def test_the_public_entry_points_still_load_from_crmkit_rules():
    from crmkit import rules
    from crmkit.rules.compiler import compile_expression, evaluate_filter

    assert rules.compile_expression is compile_expression
    assert rules.evaluate_filter is evaluate_filter
