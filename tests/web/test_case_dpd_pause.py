"""The case page shows a loan's DPD pause (issue 25, contract 3): a team lead pauses the
DPD of a case's loan from the page's form, the header shows it while in force, in the
reader's language, the pauses panel lists it with a resume button for those who may
resume it, and resuming it from the page takes the badge away. Collectors see the pause
but get no form and no button."""

from __future__ import annotations

import re

from web_support import TODAY

from arrears.store.models import Loan
from arrears.store.unit_of_work import UnitOfWork
from arrears.web.ui.i18n import translator

API = "/api/v1"


def _header(client, case: int) -> str:  # type: ignore[no-untyped-def]
    page = client.get(f"/cases/{case}").text
    start = page.index('data-testid="case-header"')
    return page[start : page.index("</section>", start)]


def _resume_buttons(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-testid="resume-dpd-(\d+)"', page)}


def test_a_pause_from_the_case_page_shows_in_the_header_until_resumed(login, book) -> None:
    tl, c1 = login("tl"), login("c1")
    case = book.case_ids[0]
    page = tl.get(f"/cases/{case}").text
    assert 'data-testid="form-dpd-pause"' in page
    assert 'data-testid="form-dpd-pause"' not in c1.get(f"/cases/{case}").text
    assert 'data-testid="case-dpd-paused"' not in _header(tl, case)

    made = tl.post(
        f"/cases/{case}/dpd-pause",
        data={"reason": "dispute", "on": "2026-12-01", "until": "", "note": "费用有争议"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    header = _header(tl, case)
    assert 'data-testid="case-dpd-paused"' in header
    assert "逾期天数暂停（争议）自 2026-12-01" in header  # the users read Chinese
    en = translator("en")
    assert en("dpd_pause.badge", reason=en("dpd_pause.reason.dispute"), on="2026-12-01") == (
        "DPD paused (Dispute) from 2026-12-01"
    )
    # the collector sees the pause, with no button to resume it
    assert 'data-testid="case-dpd-paused"' in _header(c1, case)
    (pause,) = tl.get(f"{API}/cases/{case}/dpd-pauses").json()
    assert _resume_buttons(c1.get(f"/cases/{case}").text) == set()
    assert _resume_buttons(tl.get(f"/cases/{case}").text) == {pause["id"]}
    refused = c1.post(f"/cases/{case}/dpd-pause/{pause['id']}/resume", follow_redirects=False)
    assert refused.status_code == 403
    # a pause of another case's loan is not resumed from this case's page
    other = tl.post(
        f"/cases/{book.case_ids[1]}/dpd-pause/{pause['id']}/resume", follow_redirects=False
    )
    assert other.status_code == 404

    resumed = tl.post(f"/cases/{case}/dpd-pause/{pause['id']}/resume", follow_redirects=False)
    assert resumed.status_code == 303, resumed.text
    assert 'data-testid="case-dpd-paused"' not in _header(tl, case)
    assert _resume_buttons(tl.get(f"/cases/{case}").text) == set()


def test_a_bad_pause_form_is_refused_on_the_page_naming_the_field(login, book) -> None:
    tl = login("tl")
    case = book.case_ids[0]
    for data, status in (
        ({"reason": "holiday"}, 422),
        ({"reason": "dispute", "on": "someday"}, 422),
        ({"reason": "dispute", "on": "2026-11-30"}, 422),  # closed through 30 Nov
        ({"reason": "dispute", "until": "2026-11-01"}, 422),
    ):
        response = tl.post(f"/cases/{case}/dpd-pause", data=data, follow_redirects=False)
        assert response.status_code == status, (data, response.text[:300])
    assert tl.get(f"{API}/cases/{case}/dpd-pauses").json() == []


def test_no_resume_button_once_the_close_has_passed_the_day(login, book) -> None:
    """Once the loan's close has taken today (closed through it), a resume from today
    would be refused: the page offers none, and the service says why."""
    tl = login("tl")
    case = book.case_ids[0]
    made = tl.post(f"{API}/cases/{case}/dpd-pauses", json={"reason": "hardship"})
    assert made.status_code == 201, made.text
    assert _resume_buttons(tl.get(f"/cases/{case}").text) == {made.json()["id"]}
    with UnitOfWork(book.engine) as uow:
        loan = uow.session.get(Loan, "L1")
        assert loan is not None
        loan.closed_through = TODAY
        uow.commit()
    assert _resume_buttons(tl.get(f"/cases/{case}").text) == set()
    refused = tl.post(f"{API}/dpd-pauses/{made.json()['id']}/resume")
    assert refused.status_code == 422 and refused.json()["detail"].startswith("on: ")
