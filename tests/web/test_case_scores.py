"""The case page shows the loan's model scores of the latest scored day: the score file
the daily close writes (``<ws>/scores/as_of=D/part-0.parquet``), read as it is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
from web_support import NOW, Book, login_client

from arrears.models.scoring import SCORE_SCHEMA, write_scores
from arrears.services.book_models import scores_path
from arrears.web.app import Settings, create_app


def _scores(root: Path, day: date, rows: list[tuple[str, str, int, float]]) -> None:
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        {
            "loan_id": columns[0],
            "customer_id": [f"C{loan[1:]}" for loan in columns[0]],
            "model": columns[1],
            "version": ["v1"] * len(rows),
            "score": columns[2],
            "pd": columns[3],
        },
        schema=SCORE_SCHEMA,
    )
    write_scores(table, scores_path(root, day))


def test_the_case_page_shows_the_loans_latest_scores(book: Book, tmp_path: Path) -> None:
    app = create_app(
        engine=book.engine, workspace_root=tmp_path, settings=Settings(clock=lambda: NOW),
        migrate=False,
    )  # fmt: skip
    client = login_client(app, "c1")  # prefers zh_CN
    case = f"/cases/{book.case_ids[0]}"
    assert "风险评分" not in client.get(case).text  # never scored: nothing shown
    assert client.get(f"/api/v1{case}").json()["scores"] == []
    _scores(tmp_path, date(2026, 11, 29), [("L1", "early_warning_30", 700, 0.01)])
    latest = [("L1", "early_warning_30", 512, 0.2345), ("L1", "roll_forward", 580, 0.08)]
    _scores(tmp_path, date(2026, 11, 30), [*latest, ("L2", "early_warning_30", 640, 0.03)])
    page = client.get(case).text
    start = page.index('data-testid="case-header"')
    head = page[start : page.index("</section>", start)]
    assert head.count("风险评分") == 2 and ">512</span>" in head and ">580</span>" in head
    assert "early_warning_30 · PD 23.4%" in head and "roll_forward · PD 8.0%" in head
    assert "2026-11-30" in head and "700" not in head and "640" not in head
    scores = client.get(f"/api/v1{case}").json()["scores"]
    assert [(s["model"], s["score"], s["as_of"]) for s in scores] == [
        ("early_warning_30", 512, "2026-11-30"),
        ("roll_forward", 580, "2026-11-30"),
    ]
    client.close()
