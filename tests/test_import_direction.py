"""The arrows of ARCHITECTURE.md's package table that the snapshot module settled
(issue 23, point 7), read from the source with ``ast``:

- ``arrears.snapshots`` imports only the domain (and ``arrears.files``, the file helpers
  that import nothing of arrears);
- ``arrears.workspace`` imports nothing of ``arrears.batch``;
- ``arrears.analytics`` opens no Parquet file: it reads snapshots through
  ``arrears.snapshots`` only;
- no function outside ``arrears.snapshots`` both locates a snapshot (``snapshot_path``,
  ``snapshots_dir``, ``snapshot_file``) and opens a Parquet file itself.

Every import counts, also one inside a function or under ``TYPE_CHECKING``. Each check
is also run on a small tree that breaks it, so it is known to fail when the arrow is
drawn again.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import arrears

SRC = Path(arrears.__file__).parent
READS = {"read_table", "read_parquet", "ParquetFile", "ParquetDataset"}
LOCATES = {"snapshot_path", "snapshots_dir", "snapshot_file"}
SNAPSHOTS_MAY_IMPORT = {"arrears.domain", "arrears.files"}


def module_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def sources(root: Path, package: str | None = None) -> Iterator[tuple[Path, str, ast.Module]]:
    """(file, module, tree) of every module under ``root`` (``package`` only, if given)."""
    for path in sorted(root.rglob("*.py")):
        module = module_of(path, root)
        if package is None or package_of(module) == package:
            yield path, module, ast.parse(path.read_text(encoding="utf-8"), str(path))


def imports(path: Path, module: str, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, module imported) for every import of the file, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the file's package upwards
                base = module.split(".")
                base = base if path.name == "__init__.py" else base[:-1]
                base = base[: len(base) - node.level + 1]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            else:
                yield node.lineno, node.module or ""


def arrows_from(root: Path, package: str) -> list[str]:
    """``file:line -> package`` for each import of another arrears package by ``package``."""
    out = []
    for path, module, tree in sources(root, package):
        for line, target in imports(path, module, tree):
            if target.startswith(f"{root.name}.") and package_of(target) != package:
                out.append(f"{path.relative_to(root.parent)}:{line} -> {package_of(target)}")
    return out


def disallowed(root: Path, package: str, allowed: set[str]) -> list[str]:
    return [a for a in arrows_from(root, package) if a.rsplit(" -> ", 1)[1] not in allowed]


def named(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def parquet_reads(tree: ast.AST) -> list[int]:
    """Lines of calls that open Parquet files (pyarrow's or an Ibis backend's)."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and named(node.func) in READS
    ]


def parquet_modules(path: Path, module: str, tree: ast.Module) -> list[int]:
    return [
        line
        for line, target in imports(path, module, tree)
        if target in ("pyarrow.parquet", "pyarrow.dataset")
    ]


def analytics_opening_files(root: Path) -> list[str]:
    out = []
    for path, module, tree in sources(root, f"{root.name}.analytics"):
        for line in parquet_reads(tree) + parquet_modules(path, module, tree):
            out.append(f"{path.relative_to(root.parent)}:{line}")
    return out


def snapshot_files_opened_outside(root: Path) -> list[str]:
    """Functions outside the snapshots module that locate a snapshot and open Parquet."""
    out = []
    for path, module, tree in sources(root):
        if package_of(module) == f"{root.name}.snapshots":
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            locates = any(named(n) in LOCATES for n in ast.walk(node))
            reads = parquet_reads(node)
            if locates and reads:
                out.append(f"{path.relative_to(root.parent)}:{reads[0]} in {node.name}")
    return out


def test_snapshots_imports_only_the_domain():
    assert disallowed(SRC, "arrears.snapshots", SNAPSHOTS_MAY_IMPORT) == []
    assert arrows_from(SRC, "arrears.files") == []  # a leaf: the helpers import no arrears


def test_the_workspace_imports_nothing_of_the_batch_engine():
    assert [a for a in arrows_from(SRC, "arrears.workspace") if a.endswith("arrears.batch")] == []


def test_analytics_reads_snapshots_only_through_the_snapshots_module():
    assert analytics_opening_files(SRC) == []
    assert any(a.endswith("-> arrears.snapshots") for a in arrows_from(SRC, "arrears.analytics"))


def test_no_function_outside_the_snapshots_module_opens_a_snapshot_file():
    assert snapshot_files_opened_outside(SRC) == []


def test_each_check_fails_when_the_arrow_comes_back(tmp_path: Path):
    root = tmp_path / "arrears"
    files = {
        "__init__.py": "",
        "files.py": "import os\n",
        "snapshots/__init__.py": "from arrears.domain import money\nfrom ..batch import engine\n",
        "workspace.py": "def init():\n    from arrears.batch.snapshot import snapshot_file\n",
        "analytics/ageing.py": "def table(con, p):\n    return con.read_parquet(str(p))\n",
        "analytics/kpis.py": "import pyarrow.parquet as pq\n",
        "services/day.py": (
            "import pyarrow.parquet as pq\n\n"
            "def rows(ws, day):\n    return pq.read_table(ws.snapshot_path(day))\n"
        ),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert disallowed(root, "arrears.snapshots", SNAPSHOTS_MAY_IMPORT) == [
        "arrears/snapshots/__init__.py:2 -> arrears.batch"
    ]
    assert arrows_from(root, "arrears.workspace") == ["arrears/workspace.py:2 -> arrears.batch"]
    assert analytics_opening_files(root) == [
        "arrears/analytics/ageing.py:2",
        "arrears/analytics/kpis.py:1",
    ]
    assert snapshot_files_opened_outside(root) == ["arrears/services/day.py:4 in rows"]
