"""No dead fallbacks: crmkit (and its benchmarks) never guard an import of crmkit's own modules, and no
test skips on crmkit's own code.

crmkit's modules ship together, so ``try: from .x import ... except ImportError``
around one of them only hides a real failure behind fallback code that never
runs.  A guard around a third-party package that an extra makes optional
(plotly, pyarrow, tqdm ...) is fine.  Likewise a test that skips when a
command is "not registered yet" or when a crmkit module is missing would pass
with the command deleted: it must fail instead.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "crmkit"
TESTS = ROOT / "tests"
BENCHMARKS = ROOT / "benchmarks"
IMPORT_ERRORS = {"ImportError", "ModuleNotFoundError"}


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _name(node: ast.expr) -> str:
    """``ImportError`` for ``ImportError`` and ``builtins.ImportError``; '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_crmkit_module(name: str | None) -> bool:
    return bool(name) and (name == "crmkit" or name.startswith("crmkit."))


def _crmkit_imports(statements: list[ast.stmt]) -> Iterator[ast.AST]:
    """Imports of crmkit modules anywhere in ``statements``: relative or ``crmkit.`` imports,
    and ``importlib.import_module`` / ``__import__`` calls."""
    for stmt in statements:
        for node in ast.walk(stmt):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or _is_crmkit_module(node.module)):
                yield node
            elif isinstance(node, ast.Import) and any(_is_crmkit_module(a.name) for a in node.names):
                yield node
            elif isinstance(node, ast.Call) and _name(node.func) in ("import_module", "__import__"):
                arg = node.args[0] if node.args else None
                # a module name that is not a constant might be crmkit's: count it
                if not isinstance(arg, ast.Constant) or _is_crmkit_module(str(arg.value)) \
                        or str(arg.value).startswith("."):
                    yield node


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:            # a bare except catches ImportError too
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(_name(t) in IMPORT_ERRORS for t in types)


def _suppresses_import_error(item: ast.withitem) -> bool:
    call = item.context_expr
    return (isinstance(call, ast.Call) and _name(call.func) == "suppress"
            and any(_name(a) in IMPORT_ERRORS for a in call.args))


def guarded_crmkit_imports(path: Path) -> list[int]:
    """Lines of the crmkit imports inside a try (or ``suppress``) that catches ImportError."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Try | ast.TryStar):
            guarded = any(_catches_import_error(h) for h in node.handlers)
            body = node.body
        elif isinstance(node, ast.With | ast.AsyncWith):
            guarded = any(_suppresses_import_error(i) for i in node.items)
            body = node.body
        else:
            continue
        if guarded:
            found += [imp.lineno for imp in _crmkit_imports(body)]
    return sorted(set(found))


@pytest.mark.parametrize("path", _python_files(PACKAGE) + _python_files(BENCHMARKS),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_crmkit_never_guards_an_import_of_its_own_modules(path):
    assert guarded_crmkit_imports(path) == [], f"{path.relative_to(ROOT)}: guarded imports of crmkit's own modules"


def skips_on_crmkit(path: Path) -> list[int]:
    """Lines of each ``importorskip`` of a crmkit module and each skip decided by ``cli.commands``
    (directly, or through a helper of the same file that looks at it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def mentions_commands(node: ast.AST) -> bool:
        return any(isinstance(n, ast.Attribute) and n.attr == "commands" for n in ast.walk(node))

    helpers = {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and mentions_commands(f)}

    def asks_commands(node: ast.AST) -> bool:
        return mentions_commands(node) or any(isinstance(n, ast.Call) and _name(n.func) in helpers
                                               for n in ast.walk(node))

    def skips(statements: list[ast.stmt]) -> bool:
        return any(isinstance(n, ast.Call) and _name(n.func) in ("skip", "xfail")
                   for s in statements for n in ast.walk(s))

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) == "importorskip":
            arg = node.args[0] if node.args else None
            if not isinstance(arg, ast.Constant) or _is_crmkit_module(str(arg.value)):
                found.append(node.lineno)
        elif isinstance(node, ast.If) and asks_commands(node.test) and (skips(node.body) or skips(node.orelse)):
            found.append(node.lineno)
        elif isinstance(node, ast.Call) and _name(node.func) in ("skipif", "xfail") and any(
                asks_commands(a) for a in [*node.args, *(k.value for k in node.keywords)]):
            found.append(node.lineno)
    return sorted(set(found))


def test_no_test_skips_on_a_missing_crmkit_module_or_command():
    found = {str(path.relative_to(ROOT)): lines for path in _python_files(TESTS) if (lines := skips_on_crmkit(path))}
    assert found == {}


# --------------------------------------------------------------------------- the checks themselves


def test_the_checks_find_the_patterns_they_forbid(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import contextlib\nimport importlib\n"
        "try:\n    from .x import y\nexcept ImportError:\n    y = None\n"                      # 3-6
        "try:\n    import crmkit.rfm\nexcept (ValueError, ModuleNotFoundError):\n    pass\n"   # 7-10
        "def f():\n    try:\n        return importlib.import_module('crmkit.rules.engine')\n"  # 11-13
        "    except ImportError:\n        return None\n"                                       # 14-15
        "with contextlib.suppress(ImportError):\n    from . import z\n"                          # 16-17
        "try:\n    import plotly\nexcept ImportError:\n    plotly = None\n"                  # 18-21: third party
        "try:\n    from .x import y\nexcept ValueError:\n    pass\n")                        # 22-25: not a guard
    assert guarded_crmkit_imports(bad) == [4, 8, 13, 17]
    test = tmp_path / "test_bad.py"
    test.write_text(
        "import shutil\nimport pytest\nfrom crmkit.cli import cli\n"
        "engine = pytest.importorskip('crmkit.rules.engine')\n"                                # 4
        "hyp = pytest.importorskip('hypothesis')\n"
        "def has(name):\n    return name in cli.commands\n"
        "def test_a():\n    if 'run' not in cli.commands:\n        pytest.skip('not yet')\n"   # 9
        "def test_b():\n    if not has('import'):\n        pytest.skip('not yet')\n"           # 12
        "def test_c():\n    if not shutil.which('soffice'):\n        pytest.skip('no soffice')\n")
    assert skips_on_crmkit(test) == [4, 9, 12]
