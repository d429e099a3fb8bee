"""No module of services/, gateway/ or shared/ imports in a circle (tests/tools/imports.py), and the check does
find a circle when there is one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.tools import imports


def test_the_tree_has_no_import_cycles() -> None:
    edges = imports.graph()
    found = imports.cycles(edges)
    assert not found, "import cycles:\n" + "\n".join(
        " <-> ".join(cycle) + "\n" + "\n".join(imports.describe(edges, cycle)) for cycle in found
    )


def test_the_command_says_so_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.tools.imports"], cwd=imports.ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("no import cycles")
    assert "services.identity.service -> " in done.stdout  # the graph itself is printed


def _package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_it_finds_cycles_through_deferred_relative_and_from_imports(tmp_path: Path, capsys) -> None:
    _package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\n",  # `from x import y` where y is a submodule
            "pkg/b.py": "def later():\n    from . import c\n",  # deferred and relative
            "pkg/c.py": "import pkg.a\n",
            "pkg/self.py": "from pkg.self import X\nX = 1\n",  # a self-loop
            "pkg/sub/__init__.py": "from .. import d\n",  # relative from a package's __init__
            "pkg/d.py": "from pkg.sub import name\n",  # a name of pkg.sub, not a submodule: an edge to pkg.sub
            "pkg/free.py": "import pkg.a\nimport json\n",  # imports into a cycle without being in one
        },
    )
    edges = imports.graph(tmp_path, ["pkg"])
    assert imports.cycles(edges) == [["pkg.a", "pkg.b", "pkg.c"], ["pkg.d", "pkg.sub"], ["pkg.self"]]
    assert imports.main(["--root", str(tmp_path), "pkg"]) == 1
    out = capsys.readouterr().out
    assert "pkg.a <-> pkg.b <-> pkg.c" in out
    assert "  pkg.b:2 -> pkg.c" in out
    assert "no import cycles" not in out


def test_it_says_no_cycles_for_an_acyclic_package(tmp_path: Path, capsys) -> None:
    _package(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from pkg import b\n", "pkg/b.py": "import os\n"})
    assert imports.main(["--root", str(tmp_path), "pkg"]) == 0
    out = capsys.readouterr().out
    assert "pkg.a -> pkg.b" in out
    assert out.rstrip().endswith("no import cycles")
