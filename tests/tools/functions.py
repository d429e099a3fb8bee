"""The longest functions of the product's code, read with `ast`: `python -m tests.tools.functions [N] [DIR ...]`.

A function's length is its lines from `def` to its last line, decorators and docstring included; nested functions
count on their own and inside their parent. Defaults: the ten longest under services/, gateway/ and shared/.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "gateway", "shared")


def functions(root: Path, folders: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(length, "path:line name") for every function and method under the folders."""
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                    length = (node.end_lineno or node.lineno) - start + 1
                    yield length, f"{path.relative_to(root)}:{node.lineno} {node.name}"


def longest(root: Path, folders: Iterable[str], count: int) -> list[tuple[int, str]]:
    return sorted(functions(root, folders), key=lambda found: (-found[0], found[1]))[:count]


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv and argv[0].isdigit() else 10
    folders = [a for a in argv if not a.isdigit()] or list(PACKAGES)
    for length, where in longest(ROOT, folders, count):
        print(f"{length:4d}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
