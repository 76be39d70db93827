"""Fixtures of the import tests: an importer bound to the test's store, and stores
already holding customers, or customers and loans."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ingest_corpus import AS_OF, CUSTOMER_HEADER, CUSTOMERS, LOAN_HEADER, LOANS, write_csv
from sqlalchemy import Engine

from arrears.domain.products import Catalog, load_catalog
from arrears.ingest import import_file


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def importer(engine: Engine, catalog: Catalog) -> Callable[..., Any]:
    """``import_file`` bound to the test's engine, the default catalog and AS_OF."""

    def run(path: Path, **kwargs: Any) -> Any:
        kwargs.setdefault("catalog", catalog)
        kwargs.setdefault("as_of", AS_OF)
        return import_file(engine, path, **kwargs)

    return run


@pytest.fixture
def with_customers(engine: Engine, importer: Callable[..., Any], tmp_path: Path) -> Engine:
    """The store holding customers C1, C2, C3."""
    importer(write_csv(tmp_path / "customers.csv", CUSTOMER_HEADER, CUSTOMERS))
    return engine


@pytest.fixture
def with_loans(with_customers: Engine, importer: Callable[..., Any], tmp_path: Path) -> Engine:
    """The store holding customers C1..C3 and loans L1..L3."""
    importer(write_csv(tmp_path / "loans.csv", LOAN_HEADER, LOANS))
    return with_customers
