"""The case page in Chromium shows the loan's model scores of the latest score file the
close wrote: score, model, PD and day."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from browser_harness import VIEWPORT, Server, Staff, shot, sign_in
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from arrears.models.scoring import SCORE_SCHEMA, write_scores
from arrears.services.book_models import scores_path
from arrears.store.models import CaseRow
from arrears.workspace import Workspace

pytestmark = pytest.mark.browser


def test_the_case_header_shows_the_loans_latest_scores(
    browser: Browser, server: Server, staff: Staff, workspace_root: Path
) -> None:
    ws = Workspace.at(workspace_root)
    with ws.engine.connect() as conn:
        case_id, loan_id, customer_id = conn.execute(
            select(CaseRow.id, CaseRow.loan_id, CaseRow.customer_id)
            .where(CaseRow.status == "open")
            .order_by(CaseRow.id)
            .limit(1)
        ).one()
    day = date.today() - timedelta(days=1)
    table = pa.table(
        {
            "loan_id": [loan_id, loan_id],
            "customer_id": [customer_id, customer_id],
            "model": ["early_warning_30", "roll_forward"],
            "version": ["v1", "v1"],
            "score": [512, 580],
            "pd": [0.2345, 0.08],
        },
        schema=SCORE_SCHEMA,
    )
    path = write_scores(table, scores_path(workspace_root, day))
    try:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, server.base_url, staff.manager)  # her own setting: en
        page.goto(f"{server.base_url}/cases/{case_id}")
        header = page.get_by_test_id("case-header")
        expect(header).to_contain_text("Risk score")
        first = page.get_by_test_id("risk-score-early_warning_30")
        expect(first).to_have_text(f"512 early_warning_30 · PD 23.4% · {day}")
        expect(page.get_by_test_id("risk-score-roll_forward")).to_contain_text("580")
        shot(page, "case-scores")
        context.close()
    finally:
        path.unlink()
