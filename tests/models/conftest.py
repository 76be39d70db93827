"""A small real book for the model tests: generated, imported and closed day by day,
with month-end snapshots over its whole life (as the demo records them) plus the last
95 days daily."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arrears.cli import app

AS_OF = date(2026, 11, 30)


@pytest.fixture(scope="session")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from arrears.analytics.history import book_month_ends
    from arrears.batch.reference import close_book
    from arrears.workspace import Workspace

    root = tmp_path_factory.mktemp("book") / "ws"
    data = root.parent / "data"
    runner = CliRunner()
    day = AS_OF.isoformat()
    steps = [
        ["init", "-w", str(root)],
        ["generate", "--loans", "500", "--out", str(data), "--as-of", day],
        [
            "import",
            *(str(data / f"{n}.parquet") for n in ("customers", "loans", "payments")),
            "-w",
            str(root),
        ],
    ]
    for args in steps:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    ws = Workspace.at(root)
    close_book(ws, AS_OF, days=95, extra_days=book_month_ends(ws.engine, AS_OF))
    return root


GERMAN_COLUMNS = [
    "status_of_existing_checking_account",
    "duration_in_month",
    "credit_history",
    "credit_amount",
    "age_in_years",
    "installment_rate_in_percentage_of_disposable_income",
]


def german_sample(rows: int, columns: int, seed: int):  # type: ignore[no-untyped-def]
    """``rows`` random rows of the first ``columns`` of ``GERMAN_COLUMNS`` of the German
    credit data: (features, target, the categorical ones among them)."""
    import numpy as np

    from arrears.models.data import german_credit

    data = german_credit()
    kept = GERMAN_COLUMNS[:columns]
    picked = np.random.default_rng(seed).choice(len(data.target), rows, replace=False)
    return (
        data.features.iloc[picked][kept],
        data.target[picked],
        [c for c in data.categorical if c in kept],
    )


@pytest.fixture(scope="module")
def german_sample_of():  # type: ignore[no-untyped-def]
    """``german_sample`` for a test module's own fixture."""
    return german_sample
