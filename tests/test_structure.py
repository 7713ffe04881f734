"""The package's structure, redrawn from its imports: one direction, no circles.

Every ``import`` of a ``mockspice`` module counts, also those inside functions and under
``TYPE_CHECKING``: a late import hides a circle, it does not remove it.
"""

import ast
from pathlib import Path

import pytest

import mockspice

ROOT = Path(mockspice.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = ("mockspice", *path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The mockspice modules ``name`` imports (a package's name counts for the package)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        found.update(t for t in targets if t in MODULES and t != name)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _circles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    return circles


def test_the_walk_sees_the_imports_it_must():
    # The walk itself: known edges, a relative-free package import, a function-level import.
    assert "mockspice.domain.scope" in GRAPH["mockspice.domain.cases"]
    assert "mockspice.domain.case_search" in GRAPH["mockspice.domain.search"]
    assert "mockspice.partner" in GRAPH["mockspice.app"]  # imported inside create_app


def test_no_module_imports_itself_back():
    assert _circles() == []


def test_the_circle_finder_finds_a_circle(monkeypatch):
    monkeypatch.setitem(
        GRAPH, "mockspice.wire.build", {*GRAPH["mockspice.wire.build"], "mockspice.cli"}
    )
    assert any("mockspice.cli" in c and "mockspice.wire.build" in c for c in _circles())


def _reach(name: str) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        for w in GRAPH[todo.pop()] - seen:
            seen.add(w)
            todo.append(w)
    return seen


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        # The reference partner is another system: it shares the wire formats only.
        ("mockspice.partner", ("mockspice.domain", "mockspice.store", "mockspice.surfaces")),
        # The web-call engine and its CLI know no store.
        ("mockspice.webcalls", ("mockspice.domain", "mockspice.store", "mockspice.surfaces")),
        # The conformance suite drives the web-call engine against a partner: no store either.
        ("mockspice.verify", ("mockspice.domain", "mockspice.store", "mockspice.surfaces")),
        # The wire formats are the bottom layer: I/O-free, importing nothing of the rest.
        ("mockspice.wire", ("mockspice.domain", "mockspice.store", "mockspice.webcalls")),
        # The store knows nothing of SpiceCSM's operations nor of HTTP.
        ("mockspice.store", ("mockspice.domain", "mockspice.surfaces", "mockspice.webcalls")),
        ("mockspice.domain", ("mockspice.surfaces", "mockspice.app", "mockspice.server")),
    ],
)
def test_layers_import_one_way(package, forbidden):
    members = [n for n in GRAPH if n == package or n.startswith(package + ".")]
    wrong = {
        (n, w)
        for n in members
        for w in _reach(n)
        if any(w == f or w.startswith(f + ".") for f in forbidden)
    }
    assert not wrong, f"{package} reaches {sorted(wrong)}"
