"""The package's import graph: layers that only look down, no circles, no private names across modules.

Every import of a crmkit module counts, at the top of a file or inside a
function (those run too); only imports under ``if TYPE_CHECKING:`` do not.
The layers, from the bottom:

====================  =====================================================================
base                  i18n (the catalogue), then exceptions
facts                 schema, settings, normalize, phones, logsheets, ids, console
io                    crmkit.io: reading, typing, writing, preserving, safe writes, cache
workspace             fields (custom fields), team (roles and scopes), workspace
domain                validate, importer, dedupe, derived, rules, rfm, analytics, reports ...
dashboard             crmkit.dashboard: server, page helpers, charts, widgets, forms page
apps                  cli, demo, the package's lazy attributes
====================  =====================================================================

A module may import from its own layer or below; within a layer there is no
circle.  The README's Architecture section draws the same picture.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "crmkit"

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("crmkit.i18n",)),
    ("base", ("crmkit.exceptions",)),
    ("facts", ("crmkit.schema", "crmkit.settings", "crmkit.normalize", "crmkit.phones", "crmkit.logsheets", "crmkit.ids",
               "crmkit.console")),
    ("io", ("crmkit.io",)),
    ("workspace", ("crmkit.fields", "crmkit.team", "crmkit.workspace")),
    ("domain", ()),                       # everything not named elsewhere
    ("dashboard", ("crmkit.dashboard",)),
    ("apps", ("crmkit.cli", "crmkit.demo", "crmkit.__main__", "crmkit")),
]
DOMAIN = next(i for i, (name, _) in enumerate(LAYERS) if name == "domain")


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = modules()


def layer(module: str) -> int:
    best, best_len = DOMAIN, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            hit = module == p or (module.startswith(p + ".") and p != "crmkit")
            if hit and len(p) > best_len:
                best, best_len = i, len(p)
    return best


def _type_only(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _owner(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports() -> list[tuple[str, str, str, int]]:
    """Every (importer, imported module, imported name or '', line) among crmkit modules."""
    out = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_only(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _owner(alias.name)
                    if target and alias.name.startswith("crmkit"):
                        out.append((module, target, "", node.lineno))
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, path, node)
                if not base.startswith("crmkit"):
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in MODULES:
                        out.append((module, full, "", node.lineno))
                    elif (target := _owner(base)) is not None:
                        out.append((module, target, alias.name, node.lineno))
    return [edge for edge in out if edge[0] != edge[1]]


EDGES = imports()


def _cycles(edges) -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for a, b, _, _ in edges:
        graph.setdefault(a, set()).add(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_the_package():
    assert {"crmkit.workspace", "crmkit.io.safety", "crmkit.dashboard.server", "crmkit.rules.engine"} <= set(MODULES)
    assert any(a == "crmkit.workspace" and b.startswith("crmkit.io.") for a, b, _, _ in EDGES)


def test_no_import_circles():
    assert _cycles(EDGES) == []


def test_imports_only_look_down():
    upward = [f"{a} (line {line}) imports {b}: layer {LAYERS[layer(a)][0]} -> {LAYERS[layer(b)][0]}"
              for a, b, _, line in EDGES if layer(b) > layer(a)]
    assert upward == []


def test_no_private_names_across_modules():
    private = [f"{a} (line {line}) imports {b}.{name}" for a, b, name, line in EDGES
               if name.startswith("_") and not name.startswith("__")]
    assert private == []


@pytest.mark.parametrize("module,expected", [("crmkit.io.safety", "io"), ("crmkit.dashboard.server", "dashboard"),
                                             ("crmkit.rules.engine", "domain"), ("crmkit.cli", "apps"),
                                             ("crmkit", "apps"), ("crmkit.i18n", "base")])
def test_layers_are_assigned(module, expected):
    assert LAYERS[layer(module)][0] == expected


def test_the_checker_catches_an_upward_arrow_and_a_circle():
    fake = [("crmkit.io.safety", "crmkit.rfm", "", 1), ("crmkit.rfm", "crmkit.io.safety", "", 1)]
    assert [(a, b) for a, b, _, _ in fake if layer(b) > layer(a)] == [("crmkit.io.safety", "crmkit.rfm")]
    assert _cycles(fake) == [["crmkit.io.safety", "crmkit.rfm"]]


def test_no_module_over_600_lines_without_a_reason():
    """A module longer than about 600 lines says in its docstring why it is one file."""
    long = []
    for module, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 650:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if "one file" not in doc.lower():
                long.append(f"{module}: {text.count(chr(10))} lines")
    assert long == []
