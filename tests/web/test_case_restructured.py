"""The case page shows a loan's restructured mark (issue 25, contract 3): a loan
re-amortised by an approved instalment plan is restructured and under observation,
its class at least 次级 and never better than before (domain/observation.py); a loan
never restructured shows none."""

from __future__ import annotations

import json

from arrears.services.workbench.case_view import loan_view
from arrears.store.models import Loan
from arrears.store.unit_of_work import UnitOfWork


def _header(client, case: int) -> str:  # type: ignore[no-untyped-def]
    page = client.get(f"/cases/{case}").text
    start = page.index('data-testid="case-header"')
    return page[start : page.index("</section>", start)]


def test_a_reamortised_loan_shows_its_restructured_mark_and_observation(login, book) -> None:
    c1, tl = login("c1"), login("tl")
    case = book.case_ids[0]
    assert 'data-testid="case-restructured"' not in _header(c1, case)
    terms = {"count": 6, "first_due": "2027-01-10", "method": "annuity", "rate": "0.12"}
    body = {"kind": "installment_plan", "terms": terms}
    plan = c1.post(f"/api/v1/cases/{case}/arrangements", json=body).json()
    decided = tl.post(f"/api/v1/arrangements/{plan['id']}/decision", json={"approve": True})
    assert json.loads(decided.json()["ledger_refs"]) == [f"arr:{plan['id']}:plan"]
    with UnitOfWork(book.engine) as uow:
        view = loan_view(uow.session, uow.session.get(Loan, "L1"))
    r = view["restructuring"]
    # observed from the first new due date (10 Jan 2027) for the later of 2 periods
    # (10 Feb 2027) and 12 months (10 Jan 2028); #1 (due 15 Feb 2026) was over 270 days
    # past due before the plan, 可疑, and a restructured loan is never better than that
    assert (r["observation_end"].isoformat(), r["floor"], r["marked"]) == (
        "2028-01-10",
        "doubtful",
        True,
    )
    header = _header(c1, case)
    assert 'data-testid="case-restructured"' in header
    assert "observed to 2028-01-10" in header or "观察期至 2028-01-10" in header
    # the other case's loan (c2's) was not restructured
    assert 'data-testid="case-restructured"' not in _header(login("c2"), book.case_ids[1])
