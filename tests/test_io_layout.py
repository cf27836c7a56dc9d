"""crmkit/io is a layer: it imports only the base modules below it, and no circle runs inside it.

Custom fields (:mod:`crmkit.fields`), rules, RFM and dashboards sit above
io; they may import it, io never imports them, not even lazily inside a
function.  Checked twice: by importing each io module in a fresh
interpreter, and by reading the source of every io module.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IO = ROOT / "crmkit" / "io"
#: what crmkit.io may import outside itself
BASE = {"crmkit", "crmkit.exceptions", "crmkit.i18n", "crmkit.schema", "crmkit.normalize", "crmkit.logsheets",
        "crmkit.settings"}
MODULES = sorted("crmkit.io" if p.name == "__init__.py" else f"crmkit.io.{p.stem}" for p in IO.glob("*.py"))
#: every module of crmkit, to tell ``from .. import fields`` (a module) from ``from ..schema import Field``
EVERY = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
         for p in (ROOT / "crmkit").rglob("*.py")}


def allowed(name: str) -> bool:
    return name in BASE or name == "crmkit.io" or name.startswith("crmkit.io.")


def crmkit_imports(module: str) -> list[tuple[str, list[str], int]]:
    """(imported crmkit module, names taken from it, line) of every import in ``module``'s source, at any depth."""
    path = IO / ("__init__.py" if module == "crmkit.io" else module.rsplit(".", 1)[1] + ".py")
    package = "crmkit.io"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "crmkit"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "crmkit":
                continue
            names = [a.name for a in node.names]
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in EVERY]
            if submodules:         # from . import bulk, from .. import normalize
                out += [(s, [], node.lineno) for s in submodules]
            else:
                out.append((target, names, node.lineno))
    return out


def test_the_io_package_lists_its_modules():
    assert {"crmkit.io.reading", "crmkit.io.typing", "crmkit.io.writer", "crmkit.io.bulk", "crmkit.io.preserve",
            "crmkit.io.safety", "crmkit.io.journal", "crmkit.io.cache"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_importing_an_io_module_in_a_fresh_interpreter_loads_no_crmkit_module_above_io(module):
    # crmkit/__init__.py itself opens the whole toolkit (``crmkit.open_workspace``): the package is
    # stood in for by an empty one, so what is loaded is what the io module itself needs
    code = ("import json, sys, types\n"
            f"package = types.ModuleType('crmkit')\npackage.__path__ = [{str(ROOT / 'crmkit')!r}]\n"
            "sys.modules['crmkit'] = package\n"
            f"import {module}\n"
            "print(json.dumps(sorted(m for m in sys.modules if m == 'crmkit' or m.startswith('crmkit.'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert module in loaded
    assert [m for m in loaded if not allowed(m)] == []


@pytest.mark.parametrize("module", MODULES)
def test_no_import_in_an_io_module_points_above_io_even_inside_a_function(module):
    bad = [f"line {line}: {target}" for target, _, line in crmkit_imports(module) if not allowed(target)]
    assert bad == []


@pytest.mark.parametrize("module", MODULES)
def test_no_io_module_takes_a_private_name_from_another_module(module):
    bad = [f"line {line}: {target}.{n}" for target, names, line in crmkit_imports(module)
           for n in names if n.startswith("_")]
    assert bad == []


def test_the_io_modules_import_each_other_without_a_circle():
    graph = {m: {t for t, _, _ in crmkit_imports(m) if t in MODULES and t != m} for m in MODULES}
    done: set[str] = set()
    path: list[str] = []

    def visit(m: str) -> None:
        if m in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(m):] + [m]))
        if m in done:
            return
        path.append(m)
        for t in sorted(graph[m]):
            visit(t)
        path.pop()
        done.add(m)

    for m in MODULES:
        visit(m)
