"""arrears.compliance depends on the standard library and arrears.domain only (except
consent.py, the consent ledger, which reads and writes the store)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import arrears.compliance

PACKAGE = Path(arrears.compliance.__file__).parent
# The consent ledger is a table; the gate enforces it through the holds it places.
STORE_MODULES = {"consent.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_compliance_imports_only_stdlib_and_the_domain():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in STORE_MODULES:
            continue
        for name in imported_modules(path):
            top = name.split(".")[0]
            allowed = (
                top in sys.stdlib_module_names
                or top == "__future__"
                or name.startswith(("arrears.domain", "arrears.compliance"))
            )
            if not allowed:
                offenders.append(f"{path.name}: {name}")
    assert offenders == []
