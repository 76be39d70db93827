"""One small demo book with month-end history for the whole folder (the helpers are in
``analytics_support``)."""

from __future__ import annotations

import pytest
from analytics_support import DEMO_AS_OF, DEMO_LOANS, DemoBook, import_book, make_workspace

from arrears.analytics.history import book_month_ends
from arrears.batch.reference import close_book
from arrears.ingest.generator import generate_portfolio


@pytest.fixture(scope="session")
def demo_book(tmp_path_factory: pytest.TempPathFactory) -> DemoBook:
    """What `arrears demo --loans 2000` builds, closed with every month end recorded."""
    root = tmp_path_factory.mktemp("analytics-demo")
    ws = make_workspace(root / "ws")
    data = root / "data"
    generate_portfolio(data, DEMO_LOANS, DEMO_AS_OF, seed=42, catalog=ws.catalog)
    import_book(ws, data)
    ends = book_month_ends(ws.engine, DEMO_AS_OF)
    close_book(ws, DEMO_AS_OF, 7, extra_days=ends)
    return DemoBook(ws, data, ends)
