"""Print the code base's shape: lines per module, the longest functions, and where a backend is named.

Run: uv run python bench/architecture.py [ROOT]   (ROOT: a checkout, default: this one)

"Naming a backend" means a string literal equal to a config `backend:` value (e.g. "drive") in
`ingest/`: each such place is one more edit when a backend is added or renamed. (Connectors name the
Google API they call, "drive" v3 or "gmail" v1, which is not wiring and is not counted.)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

BACKEND_NAMES = {"forms_export", "forms_api", "forms_sheet", "local_folder", "drive", "xlsx", "google_sheets",
                 "outbox", "smtp", "gmail"}
PACKAGES = ("ingest", "connectors")


def modules(root: Path) -> list[Path]:
    return sorted(p for package in PACKAGES for p in (root / package).rglob("*.py"))


def functions(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append((node.end_lineno - node.lineno + 1, node.name))
    return found


def backend_literals(tree: ast.AST) -> list[tuple[int, str]]:
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in BACKEND_NAMES]


def main(root: Path) -> None:
    longest: list[tuple[int, str]] = []
    naming: dict[str, list[tuple[int, str]]] = {}
    total = 0
    print("lines  module")
    for path in modules(root):
        text = path.read_text(encoding="utf-8")
        lines = text.count("\n")
        total += lines
        name = str(path.relative_to(root))
        print(f"{lines:5d}  {name}")
        tree = ast.parse(text)
        longest += [(length, f"{name}:{func}") for length, func in functions(tree)]
        if name.startswith("ingest") and (hits := backend_literals(tree)):
            naming[name] = hits
    print(f"{total:5d}  total in {len(modules(root))} modules")
    print("\nlongest functions (lines)")
    for length, where in sorted(longest, reverse=True)[:12]:
        print(f"{length:5d}  {where}")
    print(f"\nplaces naming a backend: {sum(map(len, naming.values()))} literals in {len(naming)} modules")
    for name, hits in sorted(naming.items()):
        print(f"  {name}: " + ", ".join(f"{value}@{line}" for line, value in hits))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
