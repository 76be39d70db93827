"""What a verified debtor does in the portal lands where a collector's action would:
the promise, the arrangement (approved by the policy, or pending for a person), the
dispute hold with its compliance task, the hardship request with its documents, the
opt-out the gate enforces; each on the case page's history and in the audit chain.
On SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from portal_support import verify
from sqlalchemy import select
from web_support import COMPOUND, NOW, PENALTY, TODAY

from arrears.domain.ledger import Account
from arrears.services.portal import actions
from arrears.services.settings import load_settings
from arrears.services.workbench.access import Actor
from arrears.services.workbench.case_view import case_view
from arrears.store.contact_models import Hold
from arrears.store.models import CaseRow, Customer, Loan
from arrears.store.portal_models import PortalRequest
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import Arrangement, AuditEvent, CaseNote, Promise

ADMIN = Actor(99, "admin", "admin")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_the_debtor_sees_what_is_owed_by_component_as_of_the_close(client, workspace) -> None:
    verify(client, workspace)
    page = client.get("/portal/home").text
    for label in ("本金", "利息", "罚息", "复利", "费用"):
        assert label in page
    assert "2026-11-30" in page  # the day the amounts are as of
    assert "3,355.48" in page  # due now: 3 instalments + 50.00 penalty + 5.00 compound
    assert "400-000-0000" in page  # how to reach a person
    assert "验证码" not in page  # the one-time code is not a contact about the debt


def test_a_promise_within_the_window_is_a_promise_on_the_case(client, workspace, book) -> None:
    csrf = verify(client, workspace)
    due = (TODAY + timedelta(days=7)).isoformat()
    done = client.post(
        "/portal/promise", data={"amount": "500.00", "due_date": due, "csrf_token": csrf}
    )
    assert done.status_code == 303 and done.headers["location"] == "/portal/home?done=promise"
    with UnitOfWork(book.engine) as uow:
        promise = uow.session.scalars(select(Promise)).one()
        assert (promise.case_id, promise.amount, promise.status) == (
            book.case_ids[0],
            Decimal("500.00"),
            "pending",
        )
        assert promise.created_by == "portal"
        view = case_view(uow.session, ADMIN, book.case_ids[0], now=NOW)
        assert any(n["body"].startswith("[portal] promise") for n in view["notes"])
    too_far = (TODAY + timedelta(days=15)).isoformat()
    refused = client.post(
        "/portal/promise", data={"amount": "500.00", "due_date": too_far, "csrf_token": csrf}
    )
    assert refused.status_code == 422
    assert "日期太远了" in refused.text


def test_a_pre_approved_plan_is_in_place_and_another_waits_for_a_team_lead(
    client, workspace, book
) -> None:
    csrf = verify(client, workspace)
    first = (TODAY + timedelta(days=20)).isoformat()
    done = client.post("/portal/plan", data={"count": "6", "first_due": first, "csrf_token": csrf})
    assert done.status_code == 303
    with UnitOfWork(book.engine) as uow:
        plan = uow.session.scalars(select(Arrangement)).one()
        assert (plan.kind, plan.status, plan.maker, plan.checker) == (
            "installment_plan",
            "approved",
            "portal",
            "portal-policy",
        )
    asked = client.post("/portal/plan", data={"count": "7", "first_due": first, "csrf_token": csrf})
    assert asked.status_code == 303
    with UnitOfWork(book.engine) as uow:
        pending = uow.session.scalars(select(Arrangement).where(Arrangement.status == "pending"))
        row = pending.one()
        assert row.required_role == "team_lead"
        request = uow.session.scalars(select(PortalRequest)).one()
        assert (request.kind, request.assigned_role, request.arrangement_id) == (
            "arrangement",
            "team_lead",
            row.id,
        )


def test_the_settlement_offer_forgives_penalty_and_fees_within_the_limit(
    client, workspace, book
) -> None:
    csrf = verify(client, workspace)
    page = client.get("/portal/settlement").text
    assert "55.00" in page  # 50.00 penalty + 5.00 compound forgiven
    pay_by = (TODAY + timedelta(days=30)).isoformat()
    done = client.post("/portal/settlement", data={"pay_by": pay_by, "csrf_token": csrf})
    assert done.status_code == 303
    with UnitOfWork(book.engine) as uow:
        row = uow.session.scalars(select(Arrangement)).one()
        assert (row.kind, row.status, row.relief) == ("settlement", "approved", Decimal("55.00"))


def test_a_dispute_holds_the_debt_and_gives_compliance_a_task(client, workspace, book) -> None:
    csrf = verify(client, workspace)
    sent = client.post(
        "/portal/dispute",
        data={"reason": "我已经在10月还清了", "csrf_token": csrf},
        files={"documents": ("receipt.pdf", PDF, "application/pdf")},
    )
    assert sent.status_code == 303, sent.text
    with UnitOfWork(book.engine) as uow:
        request = uow.session.scalars(select(PortalRequest)).one()
        assert (request.kind, request.assigned_role, request.due_on) == (
            "dispute",
            "compliance",
            TODAY + timedelta(days=actions.DISPUTE_DAYS),
        )
        hold = uow.session.get(Hold, request.hold_id)
        assert hold is not None and (hold.kind, hold.loan_id, hold.released_on) == (
            "dispute",
            "L1",
            None,
        )
        assert json.loads(request.details)["documents"]
        view = case_view(uow.session, ADMIN, book.case_ids[0], now=NOW)
        assert [d["file_name"] for d in view["documents"]] == ["receipt.pdf"]
        blocked = {c["channel"]: c for c in view["compliance"]}
        assert not blocked["call"]["allowed"]
        comp = Actor(98, "comp", "compliance")
        assert [r.id for r in actions.open_requests(uow.session, comp)] == [request.id]
        actions.resolve(
            uow.session, comp, request.id, "rejected", note="paid in full? no", today=TODAY,
            pack="cn",
        )  # fmt: skip
        uow.commit()
    with UnitOfWork(book.engine) as uow:
        assert uow.session.get(Hold, request.hold_id).released_on == TODAY  # type: ignore[union-attr]
    again = client.get("/portal/home").text
    assert "已答复" in again


def test_under_regulation_f_the_hold_stays_until_verification_is_sent(
    client, workspace, book
) -> None:
    csrf = verify(client, workspace)
    client.post("/portal/dispute", data={"reason": "not mine", "csrf_token": csrf})
    with UnitOfWork(book.engine) as uow:
        request = uow.session.scalars(select(PortalRequest)).one()
        # the app's pack is cn; a us-regf request records the pause
        request.details = json.dumps({"paused_until_verification": True})
        comp = Actor(98, "comp", "compliance")
        try:
            actions.resolve(uow.session, comp, request.id, "rejected", note="", today=TODAY,
                            pack="us-regf")  # fmt: skip
        except actions.Conflict as exc:
            assert exc.code == "portal_verification_first"
        else:
            raise AssertionError("released before verification was sent")
        actions.resolve(uow.session, comp, request.id, "verification_sent", note="mailed",
                        today=TODAY, pack="us-regf")  # fmt: skip
        assert uow.session.get(Hold, request.hold_id).released_on == TODAY  # type: ignore[union-attr]


def test_hardship_with_documents_is_a_task_for_the_team_lead(client, workspace, book) -> None:
    csrf = verify(client, workspace)
    sent = client.post(
        "/portal/hardship",
        data={"reason": "I lost my job in October", "csrf_token": csrf},
        files=[
            ("documents", ("letter.pdf", PDF, "application/pdf")),
            ("documents", ("p.pdf", PDF, "application/pdf")),
        ],
    )
    assert sent.status_code == 303, sent.text
    with UnitOfWork(book.engine) as uow:
        request = uow.session.scalars(select(PortalRequest)).one()
        assert (request.kind, request.assigned_role) == ("hardship", "team_lead")
        assert len(json.loads(request.details)["documents"]) == 2
    bad = client.post(
        "/portal/hardship",
        data={"reason": "x", "csrf_token": csrf},
        files={"documents": ("a.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
    )
    assert bad.status_code == 422


def test_an_sms_opt_out_is_enforced_by_the_gate(client, workspace, book) -> None:
    csrf = verify(client, workspace)
    done = client.post(
        "/portal/preferences", data={"channel": "sms", "allow": "0", "csrf_token": csrf}
    )
    assert done.status_code == 303
    with UnitOfWork(book.engine) as uow:
        view = case_view(uow.session, ADMIN, book.case_ids[0], now=NOW)
        status = {c["channel"]: c for c in view["compliance"]}
        assert not status["sms"]["allowed"]
        assert any("consent_withdrawn" in r for r in status["sms"]["rules"])
        assert status["email"]["allowed"]
    page = client.get("/portal/preferences").text
    assert 'data-testid="toggle-sms">开启' in page
    client.post("/portal/preferences", data={"channel": "sms", "allow": "1", "csrf_token": csrf})
    with UnitOfWork(book.engine) as uow:
        view = case_view(uow.session, ADMIN, book.case_ids[0], now=NOW)
        assert {c["channel"]: c for c in view["compliance"]}["sms"]["allowed"]


def test_every_visit_and_action_is_audited(client, workspace, book) -> None:
    csrf = verify(client, workspace)
    client.post(
        "/portal/promise",
        data={"amount": "100", "due_date": TODAY.isoformat(), "csrf_token": csrf},
    )
    with UnitOfWork(book.engine) as uow:
        actions_seen = [
            a for (a,) in uow.session.execute(select(AuditEvent.action).order_by(AuditEvent.seq))
        ]
        notes = uow.session.scalars(select(CaseNote.author)).all()
    for action in ("portal.visit", "portal.identity_ok", "portal.code_sent", "portal.verified",
                   "portal.view", "promise.create"):  # fmt: skip
        assert action in actions_seen
    assert notes == ["portal"]


def test_compliance_answers_the_dispute_on_its_page(client, workspace, book, app) -> None:
    from fastapi.testclient import TestClient
    from web_support import log_in

    csrf = verify(client, workspace)
    client.post("/portal/dispute", data={"reason": "我没有借过这笔钱", "csrf_token": csrf})
    with TestClient(app, follow_redirects=False) as staff:
        log_in(staff, "c1")
        assert staff.get("/debtor-requests").status_code == 403  # a collector
        log_in(staff, "comp")
        page = staff.get("/debtor-requests")
        assert page.status_code == 200 and "我没有借过这笔钱" in page.text
        with UnitOfWork(book.engine) as uow:
            request = uow.session.scalars(select(PortalRequest)).one()
        staff_csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        assert (
            staff.post(
                f"/debtor-requests/{request.id}",
                data={"outcome": "rejected"},
                headers={"X-CSRF-Token": "wrong"},
            ).status_code
            == 403
        )  # a wrong CSRF token
        done = staff.post(
            f"/debtor-requests/{request.id}",
            data={
                "outcome": "rejected",
                "note": "signed contract on file",
                "csrf_token": staff_csrf,
            },
        )
        assert done.status_code == 303
        after = staff.get("/debtor-requests").text
        assert "我没有借过这笔钱" not in after
        assert "1 verified visits" in after or "验证访问 1 次" in after
    with UnitOfWork(book.engine) as uow:
        assert uow.session.get(Hold, request.hold_id).released_on == TODAY  # type: ignore[union-attr]


def test_self_service_figures_count_what_debtors_did_themselves(client, workspace, book) -> None:
    from arrears.services.portal.stats import self_service
    from arrears.services.workbench import promises

    csrf = verify(client, workspace)
    client.post(
        "/portal/promise",
        data={"amount": "100", "due_date": TODAY.isoformat(), "csrf_token": csrf},
    )
    with UnitOfWork(book.engine) as uow:
        collector = Actor(1, "c2", "collector")
        promises.create_promise(uow.session, collector, book.case_ids[1], Decimal("9"), TODAY,
                                on=TODAY)  # fmt: skip
        uow.commit()
    with UnitOfWork(book.engine) as uow:
        promises.settle_session(uow.session, TODAY)  # neither paid by its due day: broken
        uow.commit()
        figures = self_service(
            uow.session, TODAY - timedelta(days=400), TODAY + timedelta(days=400)
        )
    assert (figures.promises, figures.portal_promises, figures.verified_visits) == (2, 1, 1)
    assert figures.self_service_share == Decimal("0.5")
    assert (figures.portal_kept, figures.portal_broken) == (0, 1)
    assert figures.digital_kept_rate == Decimal("0")


def test_a_settlement_offer_may_forgive_the_principal_not_yet_due(book, tmp_path) -> None:
    # issue 25, contract 7: "not_due" in settlement_waives forgives the principal not
    # yet due too; approved by the policy, exactly the offer's amount is left to pay
    (tmp_path / "arrears.toml").write_text(
        '[portal.policy]\nsettlement_waives = ["penalty", "compound", "not_due"]\n'
        'max_relief = "20000.00"\n',
        encoding="utf-8",
    )
    policy = load_settings(tmp_path).portal.policy_for(None)
    with UnitOfWork(book.engine) as uow:
        loan = uow.session.get(Loan, "L1")
        case = uow.session.get(CaseRow, book.case_ids[0])
        customer = uow.session.get(Customer, "C1")
        assert loan is not None and case is not None and customer is not None
        ledger = uow.entries.ledger("L1")
        offer = actions.settlement_offer(uow.session, loan, policy)
        not_due = ledger.balance(Account.NOT_DUE)
        assert offer == (ledger.total_due - PENALTY - COMPOUND, not_due + PENALTY + COMPOUND)
        terms = {"amount": str(offer[0]), "pay_by": (TODAY + timedelta(days=20)).isoformat()}
        done = actions._arrange(
            uow.session, actions.Target(customer, loan, case), "settlement", terms, True, TODAY
        )
        assert done.arrangement.status == "approved" and done.request is None
        after = uow.entries.ledger("L1")
        assert after.total_outstanding == offer[0]
        # forgiven in the one settlement order (what is due first), so what is left is
        # principal that falls due on the pay-by date
        assert after.total_due == 0 and after.balance(Account.NOT_DUE) == offer[0]
        uow.commit()


def test_a_plan_under_a_reamortising_policy_spreads_the_arrears_too(
    client, workspace, book
) -> None:
    # plan_method = "annuity": the chosen plan re-amortises #1-#3 (overdue) with the
    # principal not yet due at the contract's rate; the charges stay owed
    (workspace / "arrears.toml").write_text(
        '[portal.policy]\nplan_method = "annuity"\n', encoding="utf-8"
    )
    csrf = verify(client, workspace)
    first = (TODAY + timedelta(days=20)).isoformat()
    done = client.post("/portal/plan", data={"count": "6", "first_due": first, "csrf_token": csrf})
    assert done.status_code == 303
    with UnitOfWork(book.engine) as uow:
        plan = uow.session.scalars(select(Arrangement)).one()
        assert (plan.status, json.loads(plan.terms)["method"]) == ("approved", "annuity")
        ledger, schedule = uow.entries.ledger("L1"), uow.loans.schedule("L1")
        assert ledger.total_due == PENALTY + COMPOUND and len(schedule) == 3 + 6
        assert sum(i.principal for i in schedule[3:]) == ledger.balance(Account.NOT_DUE)
