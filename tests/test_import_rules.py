"""The shape of the tree: imports point one way, from the carrier edges down to the ground floor.

    cli → api → ivr → reports → recordings → routing, staff → speech, hotline

A package may import only the packages its row of `MAY_IMPORT` names; no domain package imports FastAPI; no two
modules of a package import each other in a ring. Imports under `if TYPE_CHECKING:` are left out: they never run,
and type annotations across a package's modules are not a dependency at run time. Alembic's migration scripts are
left out too: they are loaded by path by Alembic, not imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each package, and the packages it may import. The ground floor (`hotline`: settings, database, job queue,
# Twilio client) and `speech` import no other package of ours.
MAY_IMPORT: dict[str, set[str]] = {
    "cli": {"api", "asterisk", "ivr", "reports", "recordings", "routing", "staff", "speech", "hotline", "emulator"},
    "api": {"ivr", "reports", "recordings", "routing", "staff", "speech", "hotline"},
    "asterisk": {"ivr", "reports", "recordings", "routing", "staff", "speech", "hotline"},
    "ivr": {"reports", "recordings", "routing", "staff", "speech", "hotline"},
    "reports": {"recordings", "routing", "staff", "speech", "hotline"},
    "recordings": {"routing", "staff", "speech", "hotline"},
    "routing": {"staff", "speech", "hotline"},
    "staff": {"speech", "hotline"},
    "speech": set(),
    "hotline": set(),
    "emulator": {"speech"},  # Twilio's stand-in: it knows Twilio's formats and audio, nothing of the service
}
WEB_FRAMEWORKS = {"fastapi", "starlette"}
WEB_EDGES = {"api", "cli"}  # where HTTP is served and the app is wired


def _runtime_imports(tree: ast.AST) -> list[str]:
    """Absolute module names imported when the module runs (`from x import y` gives x and x.y)."""
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _modules() -> dict[str, list[str]]:
    """Every module of our packages and what it imports at run time."""
    found: dict[str, list[str]] = {}
    for package in MAY_IMPORT:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
            found[name] = _runtime_imports(ast.parse(path.read_text(encoding="utf-8"), str(relative)))
    return found


MODULES = _modules()


def test_each_package_imports_only_the_packages_below_it():
    wrong = []
    for module, imports in MODULES.items():
        package = module.split(".")[0]
        for name in imports:
            top = name.split(".")[0]
            if top in MAY_IMPORT and top != package and top not in MAY_IMPORT[package]:
                wrong.append(f"{module} imports {name}")
    assert not sorted(set(wrong)), "imports against the direction of the tree:\n" + "\n".join(sorted(set(wrong)))


def test_no_package_below_the_web_edge_imports_fastapi():
    wrong = sorted(
        {
            f"{module} imports {name}"
            for module, imports in MODULES.items()
            if module.split(".")[0] not in WEB_EDGES
            for name in imports
            if name.split(".")[0] in WEB_FRAMEWORKS
        }
    )
    assert not wrong, "\n".join(wrong)


def _module_rings() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), following imports between our own modules."""
    graph = {
        module: sorted({n for n in imports if n in MODULES and n != module and n != module.split(".")[0]})
        for module, imports in MODULES.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    rings: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            ring = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                ring.append(member)
                if member == node:
                    break
            if len(ring) > 1:
                rings.append(sorted(ring))

    for node in graph:
        if node not in index:
            connect(node)
    return rings


def test_no_modules_import_each_other_in_a_ring():
    assert _module_rings() == []
