"""The project's import graph read with `ast`, and its cycles: `python -m tests.tools.imports` exits 1 on any.

Every import counts, at module level or inside a function (a deferred import only hides a cycle), and so do
relative imports; `from x import y` points at the submodule x.y when there is one, else at x. Only imports of
modules inside the walked packages are kept.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "gateway", "shared")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name → file, for every .py file under the packages (a package is its __init__.py)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _base(module: str, path: Path, node: ast.ImportFrom) -> str | None:
    """The absolute module `from <this> import …` names; None when a relative import climbs out of the tree."""
    if not node.level:
        return node.module
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    if node.level - 1 > len(package) - 1:
        return None
    anchor = package[: len(package) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def _known(name: str, known: dict[str, Path]) -> str | None:
    """The module itself, or the nearest enclosing module the project has (`import a.b.c` where a.b is the module)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, path: Path, known: dict[str, Path]) -> Iterator[Edge]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, path, node)
            if base is None:
                continue
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for name in targets:
            target = _known(name, known)
            if target is not None:
                yield Edge(module, target, node.lineno)


def graph(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, list[Edge]]:
    """Each module's project-internal imports, one edge per importing statement and target."""
    known = modules(root, packages)
    return {
        module: sorted(set(imports_of(module, path, known)), key=lambda e: (e.target, e.line))
        for module, path in known.items()
    }


def cycles(edges: dict[str, list[Edge]]) -> list[list[str]]:
    """The strongly connected components of more than one module, and modules that import themselves (Tarjan)."""
    successors = {module: sorted({e.target for e in out}) for module, out in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in successors.get(module, []):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in successors.get(module, []):
                found.append(sorted(component))

    for module in sorted(successors):
        if module not in index:
            visit(module)
    return sorted(found)


def describe(edges: dict[str, list[Edge]], cycle: list[str]) -> list[str]:
    """The imports that close a cycle: each edge between its members, with its line."""
    members = set(cycle)
    return [
        f"  {e.source}:{e.line} -> {e.target}" for module in cycle for e in edges.get(module, []) if e.target in members
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.tools.imports", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the directory holding the packages")
    parser.add_argument("packages", nargs="*", default=list(PACKAGES), help="top-level packages to walk")
    args = parser.parse_args(argv)
    edges = graph(args.root, args.packages)
    for module, out in sorted(edges.items()):
        targets = sorted({e.target for e in out})
        if targets:
            print(f"{module} -> {', '.join(targets)}")
    found = cycles(edges)
    if not found:
        print("no import cycles")
        return 0
    print(f"{len(found)} import cycle(s):")
    for cycle in found:
        print(" <-> ".join(cycle))
        print("\n".join(describe(edges, cycle)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
