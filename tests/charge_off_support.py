"""The default catalogue less its charge-off rules, for tests whose loans must stay on
the book: they compare the close loan by loan with what does not follow a loan off it
yet (the batch engine's journal, the engine's hand-over), or book payments on loans
that a charge-off at 180 DPD would take off it. A loan charged off is tested on its own
(tests/batch/test_charge_off_*.py, tests/services/test_recovery_treatments.py)."""

from __future__ import annotations

from pathlib import Path

from arrears.domain.products import DEFAULT_CATALOG_PATH
from arrears.workspace import Workspace


def write_catalogue_without_charge_off(path: Path) -> None:
    """Write the default catalogue to ``path`` less its ``charge_off = …`` lines."""
    lines = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(x for x in lines if not x.startswith("charge_off = ")), "utf-8")


def init_without_charge_off(ws: Workspace) -> Workspace:
    """Set up ``ws`` with that catalogue as its products file (``init`` keeps a products
    file it finds) and return it; checked: no product charges off."""
    ws.root.mkdir(parents=True, exist_ok=True)
    write_catalogue_without_charge_off(ws.products_path)
    ws.init()
    assert not any(p.charge_off.active for p in ws.catalog.products.values())
    return ws


def without_charge_off(ws: Workspace) -> Workspace:
    """``ws`` (set up already) again, its products file that catalogue: a workspace reads
    its catalogue once, so this is a new one on the same folder and store."""
    write_catalogue_without_charge_off(ws.products_path)
    again = Workspace.at(ws.root, ws.database_url)
    assert not any(p.charge_off.active for p in again.catalog.products.values())
    return again
