"""One day's store rows for scoring, read from a real store on SQLite and PostgreSQL: the
same features as the whole store gives."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine

from arrears.batch.reference import close_book
from arrears.ingest.generator import generate_portfolio
from arrears.ingest.importer import import_file
from arrears.models.book import PAYMENT_WINDOW_DAYS, features_at
from arrears.services.book_models import book_inputs
from arrears.workspace import Workspace

DAY = date(2026, 11, 30)


def test_one_days_rows_give_the_whole_stores_features_on_each_backend(
    engine: Engine, tmp_path: Path
):
    book = tmp_path / "book"
    generate_portfolio(book, 150, DAY, seed=5)
    ws = Workspace.at(tmp_path / "ws", engine.url.render_as_string(hide_password=False))
    ws.init()
    for kind in ("customers", "loans", "payments"):
        import_file(ws.engine, book / f"{kind}.parquet", kind=kind)
    close_book(ws, DAY, 1)
    whole, one_day = book_inputs(ws), book_inputs(ws, DAY)
    assert whole.payments is not None and one_day.payments is not None
    start = DAY - timedelta(days=PAYMENT_WINDOW_DAYS)
    in_window = whole.payments[(whole.payments["paid_on"] > start)]
    before = one_day.payments[one_day.payments["paid_on"] <= start]
    assert len(in_window) > 0 and len(before) > 0
    assert len(one_day.payments) == len(in_window[in_window["paid_on"] <= DAY]) + len(before)
    assert before["loan_id"].is_unique and before["amount"].isna().all()
    full, read = features_at(whole, DAY), features_at(one_day, DAY)
    assert full.equals(read)
    assert full["payment_ratio_90d"].notna().any() and (full["days_since_payment"] > 90).any()
