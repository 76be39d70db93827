"""Masking by role with logged reveals; contacts through the compliance gate."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from web_support import login_client

from arrears.services.workbench.masking import mask
from arrears.store.contact_models import ContactAttempt
from arrears.store.unit_of_work import UnitOfWork
from arrears.store.workbench_models import AuditEvent
from arrears.web.app import Settings, create_app


@pytest.mark.parametrize(
    ("field", "value", "role", "shown"),
    [
        ("mobile", "13812345678", "collector", "138****5678"),
        ("mobile", "13812345678", "agency", "*******5678"),
        ("id_number", "11010119900101123X", "collector", "110101********123X"),
        ("id_number", "11010119900101123X", "agency", "**************123X"),
        ("address", "北京市朝阳区建国路1号院3单元", "collector", "北京市朝阳区" + "*" * 9),
        ("address", "北京市朝阳区建国路1号院3单元", "agency", "北京市" + "*" * 12),
        ("email", "zhang.wei@example.com", "manager", "z***@example.com"),
        ("email", "zhang.wei@example.com", "agency", "***@e***"),
        ("mobile", None, "collector", None),
    ],
)
def test_values_are_masked_by_role(field, value, role, shown) -> None:
    assert mask(field, value, role) == shown


def test_case_view_is_masked_and_a_reveal_is_logged(login, book) -> None:
    c1 = login("c1")
    case = book.case_ids[0]
    customer = c1.get(f"/api/v1/cases/{case}").json()["customer"]
    assert customer["mobile"] == "138****0001"
    assert customer["id_number"] == "110101********001X"
    assert "13812340001" not in c1.get(f"/api/v1/cases/{case}").text
    shown = c1.post(
        f"/api/v1/cases/{case}/reveal", json={"field": "mobile", "reason_code": "inbound_call"}
    )
    assert shown.json() == {"field": "mobile", "value": "13812340001"}
    with UnitOfWork(book.engine) as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "pii.reveal"))
        assert (event.actor, event.entity, event.entity_id) == ("c1", "customer", "C1")
        assert '"field":"mobile"' in event.payload
    # the agency sees even less, and may not reveal at all
    ag = login("ag")
    placed = ag.get(f"/api/v1/cases/{book.case_ids[3]}").json()["customer"]
    assert placed["mobile"] == "*******0004"


def test_the_case_view_has_the_whole_picture(login, book) -> None:
    c1 = login("c1")
    view = c1.get(f"/api/v1/cases/{book.case_ids[0]}").json()
    loan = view["loans"][0]
    assert loan["balances"]["penalty"] == "50.00" and loan["balances"]["compound"] == "5.00"
    assert [s["fallen_due"] for s in loan["schedule"]] == [True] * 3 + [False] * 9
    assert loan["entries"][0]["kind"] == "disbursement"
    assert {c["channel"] for c in view["compliance"]} >= {"call", "sms", "email"}
    for key in ("contacts", "promises", "arrangements", "notes", "documents", "holds", "legal"):
        assert key in view


def test_the_case_view_sends_every_amount_as_an_exact_decimal_string(login, book) -> None:
    # the contract of the API: money never travels as a JSON float
    c1 = login("c1")
    c1.post(
        f"/api/v1/cases/{book.case_ids[0]}/promises",
        json={"amount": "300.10", "due_date": "2026-12-20"},
    )
    view = c1.get(f"/api/v1/cases/{book.case_ids[0]}").json()
    loan = view["loans"][0]
    amounts = [loan["principal"], loan["total_outstanding"], *loan["balances"].values()]
    amounts += [s[k] for s in loan["schedule"] for k in ("principal", "interest", "owed_principal")]
    amounts += [e["amount"] for e in loan["entries"]] + [view["case"]["amount_overdue"]]
    amounts += [p["amount"] for p in view["promises"]]
    assert all(isinstance(a, str) for a in amounts), [a for a in amounts if not isinstance(a, str)]
    assert all(re.fullmatch(r"-?\d+(\.\d\d)?", a) for a in amounts), amounts  # 0 is "0"
    assert "300.10" in [p["amount"] for p in view["promises"]]


def test_a_contact_is_logged_and_a_disputed_customer_cannot_be_called(login, book) -> None:
    c1 = login("c1")
    case = book.case_ids[0]
    ok = c1.post(f"/api/v1/cases/{case}/contacts", json={"disposition": "RPC", "note": "ok"})
    assert ok.status_code == 201 and ok.json()["allowed"] is True
    hold = c1.post(
        f"/api/v1/cases/{case}/holds", json={"kind": "dispute", "reason": "says paid in full"}
    )
    assert hold.status_code == 201
    blocked = c1.post(f"/api/v1/cases/{case}/contacts", json={"disposition": "RPC"})
    assert blocked.status_code == 409
    assert blocked.json()["rules"] == ["hold.dispute"]
    assert "disputed" in blocked.json()["reasons"][0]
    status = c1.get(f"/api/v1/cases/{case}").json()["compliance"]
    call = next(s for s in status if s["channel"] == "call")
    assert call["allowed"] is False and call["rules"] == ["hold.dispute"]
    with UnitOfWork(book.engine) as uow:
        attempts = uow.session.scalars(select(ContactAttempt).order_by(ContactAttempt.id)).all()
        assert [(a.allowed, a.source) for a in attempts] == [
            (True, "collector"),
            (False, "collector"),
        ]
    # the collector may not lift the hold; the team lead may
    assert c1.post(f"/api/v1/holds/{hold.json()['id']}/release").status_code == 403
    assert login("tl").post(f"/api/v1/holds/{hold.json()['id']}/release").status_code == 200


def test_a_call_at_night_in_the_debtors_zone_is_refused(book) -> None:
    night = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # 22:30 in Shanghai
    app = create_app(engine=book.engine, settings=Settings(clock=lambda: night), migrate=False)
    client = login_client(app, "c1")
    blocked = client.post(f"/api/v1/cases/{book.case_ids[0]}/contacts", json={"disposition": "NA"})
    assert blocked.status_code == 409 and "cn.hours" in blocked.json()["rules"]
    client.close()


def test_blacklisted_number_blocks_the_call(login, book) -> None:
    comp = login("comp")
    added = comp.post(
        "/api/v1/blacklist", json={"kind": "phone", "value": "138-1234-0001", "reason": "complaint"}
    )
    assert added.status_code == 201
    c1 = login("c1")
    blocked = c1.post(f"/api/v1/cases/{book.case_ids[0]}/contacts", json={"disposition": "NA"})
    assert blocked.status_code == 409 and blocked.json()["rules"] == ["blacklist"]
    # the case page says so for the channels that use that number, and only for them
    status = {
        s["channel"]: s for s in c1.get(f"/api/v1/cases/{book.case_ids[0]}").json()["compliance"]
    }
    assert "blacklist" in status["call"]["rules"] and "blacklist" in status["sms"]["rules"]
    assert "blacklist" not in status["email"]["rules"]
    # another debtor's number is untouched by this entry
    other = c1.post(f"/api/v1/cases/{book.case_ids[1]}/contacts", json={"disposition": "NA"})
    assert "blacklist" not in other.json().get("rules", [])


def test_blacklisted_address_blocks_letters_and_visits_not_calls(login, book) -> None:
    comp = login("comp")
    added = comp.post(
        "/api/v1/blacklist",
        json={"kind": "address", "value": "北京市朝阳区建国路1号院3单元", "reason": "cease"},
    )
    assert added.status_code == 201
    c1 = login("c1")
    case = f"/api/v1/cases/{book.case_ids[0]}"
    status = {s["channel"]: s for s in c1.get(case).json()["compliance"]}
    assert "blacklist" in status["letter"]["rules"] and "blacklist" in status["visit"]["rules"]
    assert "blacklist" not in status["call"]["rules"]
    visit = c1.post(f"{case}/contacts", json={"channel": "visit", "disposition": "RPC"})
    assert visit.status_code == 409 and "blacklist" in visit.json()["rules"]
    call = c1.post(f"{case}/contacts", json={"channel": "call", "disposition": "NA"})
    assert "blacklist" not in call.json().get("rules", [])
