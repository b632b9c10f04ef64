"""The import graph: the alerts package imports one way (its documented LAYERS), and ingest/ and
connectors/ have no import cycle. Imports are read from the source (inside functions too; those under
`if TYPE_CHECKING:` are for annotations only and never run, so they are left out)."""

from __future__ import annotations

import ast
from pathlib import Path

import ingest.alerts

ROOT = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST):
    """Every node, except what sits under `if TYPE_CHECKING:` (imports for annotations only, never run)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in _runtime_nodes_of(child))
            continue
        yield node
        yield from _runtime_nodes(node)


def _runtime_nodes_of(node: ast.AST):
    yield node
    yield from _runtime_nodes(node)


def imports(path: Path) -> set[str]:
    """Every module of ours that `path` imports when it runs, at any depth of its code."""
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in ("ingest", "connectors")}


def graph() -> dict[str, set[str]]:
    files = [p for folder in ("ingest", "connectors") for p in (ROOT / folder).rglob("*.py")]
    modules = {module_name(p): p for p in files}
    return {name: {i for i in imports(path) if i in modules and i != name} for name, path in modules.items()}


def test_the_alert_modules_import_only_earlier_layers():
    layers = ingest.alerts.LAYERS
    package = {p.stem for p in (ROOT / "ingest" / "alerts").glob("*.py") if p.stem != "__init__"}
    assert package == set(layers), "every module of ingest/alerts is in LAYERS, and only those"
    wrong = []
    for name in layers:
        for target in imports(ROOT / "ingest" / "alerts" / f"{name}.py"):
            if target.startswith("ingest.alerts."):
                other = target.removeprefix("ingest.alerts.")
                if layers.index(other) >= layers.index(name):
                    wrong.append(f"{name} imports {other}")
    assert not wrong, wrong


def test_no_import_cycles_in_ingest_and_connectors():
    edges = graph()
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                cycles.append(" → ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, [*path, target])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles
