"""Arrangements through the approval chain, with the ledger and schedule results exact."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from web_support import COMPOUND, PENALTY, TERMS

from arrears.domain.account import Payment, advance, resume_account, state_of, status_of
from arrears.domain.arrangements import forgiven
from arrears.domain.calendar import add_months
from arrears.domain.ledger import Account, EntryKind
from arrears.domain.products import load_catalog
from arrears.domain.schedule import Installment
from arrears.services.workbench import restructure
from arrears.store.unit_of_work import UnitOfWork

CATALOG = load_catalog()
CONSUMER = CATALOG.product("CONSUMER")


def _ledger(engine, loan_id: str):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        return uow.entries.ledger(loan_id), uow.loans.schedule(loan_id)


def _propose(client, case: int, kind: str, terms: dict) -> dict:  # type: ignore[no-untyped-def]
    body = {"kind": kind, "terms": terms}
    response = client.post(f"/api/v1/cases/{case}/arrangements", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _decide(client, arrangement: dict, approve: bool = True):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/arrangements/{arrangement['id']}/decision", json={"approve": approve}
    )


def test_waiver_above_the_collectors_limit_goes_to_the_team_lead_and_posts_exactly(
    login, book
) -> None:
    c1, tl = login("c1"), login("tl")
    before, _ = _ledger(book.engine, "L1")
    interest = before.balance(Account.INTEREST)
    waiver = _propose(c1, book.case_ids[0], "waiver", {"component": "interest", "amount": "150.00"})
    assert (waiver["required_role"], waiver["relief"]) == ("team_lead", "150.00")
    assert [a["id"] for a in tl.get("/api/v1/approvals").json()] == [waiver["id"]]
    approved = _decide(tl, waiver)
    assert approved.status_code == 200
    assert json.loads(approved.json()["ledger_refs"]) == [f"arr:{waiver['id']}:waive"]
    after, _ = _ledger(book.engine, "L1")
    assert after.balance(Account.INTEREST) == interest - Decimal("150.00")
    assert after.total_outstanding == before.total_outstanding - Decimal("150.00")
    # a decided arrangement cannot be decided again
    assert _decide(tl, waiver).status_code == 409


def test_settlement_above_the_team_leads_limit_needs_a_manager_and_leaves_exactly_the_amount(
    login, book
) -> None:
    c1, tl, mgr = login("c1"), login("tl"), login("mgr")
    before, schedule = _ledger(book.engine, "L1")
    amount = before.total_outstanding - Decimal("2500.00")
    terms = {"amount": str(amount), "pay_by": "2026-12-20"}
    offer = _propose(c1, book.case_ids[0], "settlement", terms)
    assert (offer["required_role"], Decimal(offer["relief"])) == ("manager", Decimal("2500.00"))
    refused = _decide(tl, offer)
    assert refused.status_code == 403 and "manager" in refused.json()["detail"]
    assert _decide(mgr, offer).status_code == 200
    after, new_schedule = _ledger(book.engine, "L1")
    assert after.total_outstanding == amount
    # penalty, compound and fee are forgiven first, then interest, then due principal
    assert after.balance(Account.PENALTY) == 0 and after.balance(Account.COMPOUND) == 0
    interest_left = before.balance(Account.INTEREST) - (Decimal("2500.00") - PENALTY - COMPOUND)
    assert after.balance(Account.INTEREST) == max(interest_left, Decimal(0))
    # the installments not yet due are now one, due on the pay-by date, holding the
    # principal not yet due without its future interest: exactly the amount is left
    assert new_schedule[:3] == schedule[:3]
    assert [(i.seq, i.due_date, i.interest) for i in new_schedule[3:]] == [
        (4, date(2026, 12, 20), Decimal("0.00"))
    ]
    assert new_schedule[3].principal == after.balance(Account.NOT_DUE)
    assert after.total_due + new_schedule[3].principal == amount
    entry = after.entry(f"arr:{offer['id']}:forgive")
    assert entry is not None and (entry.kind, entry.amount) == (
        EntryKind.SETTLEMENT,
        Decimal("2500.00"),
    )


def test_a_settlement_forgives_principal_not_yet_due_and_paid_closes_the_loan(login, book) -> None:
    # L1 owes #1-#3 (3,300.48), 罚息 50.00, 复利 5.00 and 9,000.00-odd not yet due: a
    # settlement for 2,000.00 forgives all that is due and most of what is not
    c1, mgr = login("c1"), login("mgr")
    before, _ = _ledger(book.engine, "L1")
    terms = {"amount": "2000.00", "pay_by": "2026-12-20"}
    offer = _propose(c1, book.case_ids[0], "settlement", terms)
    relief = before.total_outstanding - Decimal("2000.00")
    assert Decimal(offer["relief"]) == relief and relief > before.total_due
    assert _decide(mgr, offer).status_code == 200
    after, new_schedule = _ledger(book.engine, "L1")
    assert after.total_due == 0 and after.total_outstanding == Decimal("2000.00")
    assert new_schedule[3].principal == Decimal("2000.00")
    assert forgiven(after)[Account.NOT_DUE] == before.balance(Account.NOT_DUE) - Decimal(2000)
    # paid by the pay-by date, the loan is repaid (status closed) when that day closes
    acc = resume_account("L1", CONSUMER, TERMS, new_schedule, after, date(2026, 11, 30))
    acc, _ = advance(acc, date(2026, 12, 20), [Payment("s", date(2026, 12, 15), Decimal(2000))])
    assert (status_of(acc), acc.ledger.total_outstanding) == ("closed", 0)


def test_extension_moves_the_installments_not_yet_due(login, book) -> None:
    c1, tl = login("c1"), login("tl")
    _, schedule = _ledger(book.engine, "L1")
    extension = _propose(c1, book.case_ids[0], "extension", {"months": 3})
    assert (extension["required_role"], extension["relief"]) == ("team_lead", "0.00")
    assert _decide(tl, extension).status_code == 200
    _, moved = _ledger(book.engine, "L1")
    assert moved[:3] == schedule[:3]  # fallen due: untouched
    assert [i.due_date for i in moved[3:]] == [add_months(i.due_date, 3) for i in schedule[3:]]
    assert [(i.principal, i.interest) for i in moved] == [
        (i.principal, i.interest) for i in schedule
    ]


def test_installment_plan_respreads_the_remaining_schedule_to_the_cent(login, book) -> None:
    c1, tl = login("c1"), login("tl")
    _, schedule = _ledger(book.engine, "L1")
    terms = {"count": 4, "first_due": "2027-01-10"}
    plan = _propose(c1, book.case_ids[0], "installment_plan", terms)
    assert _decide(tl, plan).status_code == 200
    _, new = _ledger(book.engine, "L1")
    assert len(new) == 3 + 4
    assert sum(i.principal for i in new[3:]) == sum(i.principal for i in schedule[3:])
    assert sum(i.interest for i in new[3:]) == sum(i.interest for i in schedule[3:])
    assert [i.due_date for i in new[3:]] == [
        date(2027, 1, 10),
        date(2027, 2, 10),
        date(2027, 3, 10),
        date(2027, 4, 10),
    ]


def test_a_plan_reamortises_what_is_overdue_with_what_is_not_yet_due(login, book) -> None:
    c1, tl = login("c1"), login("tl")
    before, schedule = _ledger(book.engine, "L1")
    terms = {"count": 6, "first_due": "2027-01-10", "method": "annuity", "rate": "0.12"}
    plan = _propose(c1, book.case_ids[0], "installment_plan", terms)
    assert (plan["required_role"], plan["relief"]) == ("team_lead", "0.00")
    approved = _decide(tl, plan)
    assert approved.status_code == 200
    assert json.loads(approved.json()["ledger_refs"]) == [f"arr:{plan['id']}:plan"]
    after, new = _ledger(book.engine, "L1")
    # principal and interest of #1-#3 and the principal not yet due: one new principal
    principal = before.balance(Account.NOT_DUE) + sum(i.amount for i in schedule[:3])
    assert new[:3] == schedule[:3] and len(new) == 3 + 6
    assert sum(i.principal for i in new[3:]) == principal == after.balance(Account.NOT_DUE)
    assert new[3].interest == (principal * Decimal("0.01")).quantize(Decimal("0.01"))
    assert [i.due_date for i in new[3:5]] == [date(2027, 1, 10), date(2027, 2, 10)]
    # nothing created or lost; the charges stay owed, due now
    assert after.total_outstanding == before.total_outstanding
    assert after.total_due == PENALTY + COMPOUND
    # the store's schedule and ledger close on: current until the first new instalment
    # (10 Jan 2027) is missed, then past due from it once its grace (3 days) is over
    acc = resume_account("L1", CONSUMER, TERMS, new, after, date(2026, 11, 30))
    acc, _ = advance(acc, date(2026, 12, 31))
    assert state_of(acc, CATALOG).dpd == 0
    acc, _ = advance(acc, date(2027, 1, 15))
    state = state_of(acc, CATALOG)
    assert (state.dpd, state.principal_due) == (5, new[3].principal)
    assert state.principal_not_due == principal - new[3].principal
    # with the charges too, on case 2 (L2), equal principal at the contract's rate
    terms = {"count": 3, "first_due": "2027-01-01", "method": "equal_principal", "charges": True}
    both = _propose(login("c2"), book.case_ids[1], "installment_plan", terms)
    assert _decide(tl, both).status_code == 200
    after2, new2 = _ledger(book.engine, "L2")
    assert after2.total_due == 0 and after2.total_outstanding == before.total_outstanding
    assert sum(i.principal for i in new2[3:]) == before.total_outstanding


def test_bad_terms_are_refused_with_the_field_named(login, book) -> None:
    c1 = login("c1")
    case = book.case_ids[0]
    for terms, field in [
        ({"component": "penalty", "amount": "50.01"}, "terms.amount"),
        ({"component": "bribe", "amount": "1.00"}, "terms.component"),
    ]:
        response = c1.post(
            f"/api/v1/cases/{case}/arrangements", json={"kind": "waiver", "terms": terms}
        )
        assert response.status_code == 422 and field in response.json()["detail"]
    response = c1.post(
        f"/api/v1/cases/{case}/arrangements", json={"kind": "extension", "terms": {"months": 0}}
    )
    assert response.status_code == 422 and "terms.months" in response.json()["detail"]
    plan = {"count": 6, "first_due": "2027-01-10", "method": "annuity"}
    for change, field in [
        ({"method": "balloon"}, "terms.method"),
        ({"rate": "12"}, "terms.rate"),
        ({"rate": 0.12}, "terms.rate"),
        ({"charges": "yes"}, "terms.charges"),
        ({"first_due": "2026-12-01"}, "terms.first_due"),
    ]:
        body = {"kind": "installment_plan", "terms": {**plan, **change}}
        response = c1.post(f"/api/v1/cases/{case}/arrangements", json=body)
        assert response.status_code == 422 and field in response.json()["detail"], change


amounts = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("99999.99"), places=2)


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.tuples(amounts, amounts), min_size=1, max_size=24),
    count=st.integers(1, 36),
)
def test_respread_keeps_principal_and_interest_to_the_cent(parts, count) -> None:
    remaining = [
        Installment(4 + n, add_months(date(2027, 1, 31), n), p, i) for n, (p, i) in enumerate(parts)
    ]
    new = restructure.respread(remaining, count, date(2027, 3, 31))
    assert len(new) == count
    assert sum(i.principal for i in new) == sum(i.principal for i in remaining)
    assert sum(i.interest for i in new) == sum(i.interest for i in remaining)
    assert all(i.principal >= 0 and i.interest >= 0 for i in new)
    assert [i.seq for i in new] == list(range(4, 4 + count))
