"""A workspace: the folder a collections team works in.

It holds the product catalog (``products.toml``), the dated snapshots of the daily
close (``snapshots/as_of=YYYY-MM-DD/``) and, by default, the SQLite store
(``arrears.sqlite``). ``ARREARS_DATABASE_URL`` moves the store to PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from arrears.domain.products import DEFAULT_CATALOG_PATH, Catalog, load_catalog
from arrears.files import PRIVATE_DIR, make_private, open_private, private_dir
from arrears.snapshots import snapshot_dates, snapshot_file
from arrears.store.db import database_url, make_engine, redact, upgrade
from arrears.store.unit_of_work import UnitOfWork

ENV_WORKSPACE = "ARREARS_WORKSPACE"


@dataclass
class Workspace:
    root: Path
    url: str | None = None

    @classmethod
    def at(cls, root: Path | str | None = None, url: str | None = None) -> Workspace:
        """The workspace at ``root``, else ``$ARREARS_WORKSPACE``, else the current folder."""
        chosen = root or os.environ.get(ENV_WORKSPACE) or Path.cwd()
        return cls(Path(chosen).expanduser().resolve(), url)

    @property
    def products_path(self) -> Path:
        return self.root / "products.toml"

    @property
    def snapshots_dir(self) -> Path:
        return self.root / "snapshots"

    def snapshot_path(self, as_of: date) -> Path:
        return snapshot_file(self.snapshots_dir, as_of)

    def snapshot_dates(self) -> list[date]:
        return snapshot_dates(self.snapshots_dir)

    @property
    def database_url(self) -> str:
        return database_url(self.url, self.root)

    @property
    def display_url(self) -> str:
        return redact(self.database_url)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.url, self.root)

    @cached_property
    def catalog(self) -> Catalog:
        path = self.products_path if self.products_path.exists() else DEFAULT_CATALOG_PATH
        return load_catalog(path)

    def init(self) -> None:
        """Create the folder, the product file (from the defaults), the settings file
        (``arrears.toml`` with the fictional default lender, when there is none) and the
        schema; record the products in the store. Safe to run again."""
        # The folder holds the store, snapshots, spools and reports: the owner's only.
        private_dir(self.root)
        os.chmod(self.root, PRIVATE_DIR)
        private_dir(self.snapshots_dir)
        if not self.products_path.exists():
            shutil.copyfile(DEFAULT_CATALOG_PATH, self.products_path)
            make_private(self.products_path)
        from arrears.services.settings import write_default_settings

        write_default_settings(self.root)  # the fictional lender, for the lender to edit
        self._make_store_file_private()
        upgrade(self.engine)
        with UnitOfWork(self.engine) as uow:
            uow.products.ensure(self.catalog)
            uow.commit()

    def _make_store_file_private(self) -> None:
        """A SQLite store file exists, mode 0600, before SQLite first opens it: SQLite
        gives its journal and WAL files the mode of the database file."""
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return
        store = Path(url.database)
        if store.exists():
            make_private(store)
        else:
            open_private(store, "ab").close()  # SQLite takes an empty file as a new database
