"""The processor webhook refuses what it must with a 4xx, never a 500, on SQLite and
PostgreSQL: no or bad signature, a stale or future timestamp, a replayed delivery, an
event id reused with another body, an unknown checkout or processor, an amount or
currency other than the checkout's, odd JSON; a retried delivery (signed anew) is
idempotent; the webhook needs no session and no CSRF token (its signature instead)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from payment_support import SECRET, body_for, checkout, post_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.channels.adapters.processor import EventKind, signature_header
from arrears.services.payment_config import ENV_PROCESSOR_SECRET
from arrears.store.models import PaymentRow
from arrears.store.payment_models import ProcessorEvent
from arrears.workspace import Workspace


def _count(ws: Workspace, model: type) -> int:
    with Session(ws.engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _now(client: TestClient) -> int:
    return int(client.app.state.settings.now().timestamp())  # type: ignore[attr-defined]


def test_a_paid_event_is_booked_once_and_a_retry_is_idempotent(
    ws: Workspace, client: TestClient
) -> None:
    made = checkout(ws)
    body = body_for(made, event_id="evt_1")
    first = post_event(client, body)  # no session cookie, no CSRF token: the signature
    assert first.status_code == 200 and first.json()["status"] == "accepted"
    retry = post_event(client, body, at=_now(client) + 1)  # the processor signs anew
    assert retry.status_code == 200 and retry.json()["status"] == "duplicate"
    assert _count(ws, PaymentRow) == 1 and _count(ws, ProcessorEvent) == 1
    with Session(ws.engine) as session:
        assert session.get(PaymentRow, f"pp:{made.checkout_id}").amount == Decimal("1234.56")


def test_a_replayed_delivery_is_409(ws: Workspace, client: TestClient) -> None:
    body = body_for(checkout(ws), event_id="evt_r")
    at = _now(client)
    assert post_event(client, body, at=at).status_code == 200
    again = post_event(client, body, at=at)
    assert (again.status_code, again.json()["reason"]) == (409, "replay")


def test_an_event_id_reused_with_another_body_is_409(ws: Workspace, client: TestClient) -> None:
    made = checkout(ws)
    assert post_event(client, body_for(made, event_id="evt_c")).status_code == 200
    other = body_for(made, EventKind.REFUNDED, event_id="evt_c")
    answer = post_event(client, other, at=_now(client) + 2)
    assert (answer.status_code, answer.json()["reason"]) == (409, "conflict")
    assert _count(ws, ProcessorEvent) == 1


@pytest.mark.parametrize(
    ("offset", "reason"), [(-301, "stale_timestamp"), (301, "stale_timestamp")]
)
def test_a_timestamp_outside_the_tolerance_is_400(
    ws: Workspace, client: TestClient, offset: int, reason: str
) -> None:
    answer = post_event(client, body_for(checkout(ws)), at=_now(client) + offset)
    assert (answer.status_code, answer.json()["reason"]) == (400, reason)
    assert _count(ws, PaymentRow) == 0


def test_signatures_that_do_not_match_are_refused(ws: Workspace, client: TestClient) -> None:
    body = body_for(checkout(ws))
    wrong = post_event(client, body, secret=b"another-secret-of-enough-length")
    assert (wrong.status_code, wrong.json()["reason"]) == (401, "bad_signature")
    tampered = body.replace(b"1234.56", b"1234.57")
    at = _now(client)
    header = signature_header(SECRET, at, body)  # signs the original, sends another
    assert post_event(client, tampered, header=header).status_code == 401
    for header in ("", "t=abc,v1=00", f"t={at}", "v1=00", "garbage"):
        answer = post_event(client, body, header=header)
        assert answer.status_code == 400, header
    missing = client.post("/webhooks/processor/standin", content=body)
    assert (missing.status_code, missing.json()["reason"]) == (400, "no_signature")
    assert _count(ws, PaymentRow) == 0


def test_unknown_checkout_and_processor(ws: Workspace, client: TestClient) -> None:
    made = checkout(ws)
    ghost = body_for(made).replace(made.checkout_id.encode(), b"no-such-checkout")
    assert post_event(client, ghost).status_code == 404
    assert post_event(client, body_for(made), name="stripe").status_code == 404
    assert client.get("/webhooks/processor/standin").status_code == 405
    odd_ids = ("99999999999999999999", "-1", "0", "x" * 300, "%00", "%F0%9F%98%80", "..%2F..")
    for odd in odd_ids:
        for method, path in (
            ("POST", f"/webhooks/processor/{odd}"),
            ("GET", f"/standin/processor/checkout/{odd}"),
            ("POST", f"/standin/processor/checkout/{odd}/pay"),
            ("POST", f"/standin/processor/checkout/{made.checkout_id}/{odd}"),
        ):
            answer = client.request(method, path, content=b"token=x")
            assert 400 <= answer.status_code < 500, (method, path, answer.status_code)


def test_wrong_amount_or_currency_is_422(ws: Workspace, client: TestClient) -> None:
    made = checkout(ws, "100.00")
    for body in (
        body_for(made, amount=Decimal("100.01")),
        body_for(made, amount=Decimal("99.99")),
        body_for(made, currency="USD"),
    ):
        answer = post_event(client, body)
        assert (answer.status_code, answer.json()["reason"]) == (422, "amount_mismatch")
    assert post_event(client, body_for(made, amount=Decimal("100.000"))).status_code == 200
    over = post_event(client, body_for(made, EventKind.REFUNDED, amount=Decimal("100.01")))
    assert (over.status_code, over.json()["reason"]) == (422, "amount_mismatch")
    cents = post_event(client, body_for(made, EventKind.REFUNDED, amount=Decimal("0.001")))
    assert cents.status_code == 422  # finer than the currency's cent


def test_paying_twice_or_reversing_what_was_not_paid_is_409(
    ws: Workspace, client: TestClient
) -> None:
    made = checkout(ws)
    refund = post_event(client, body_for(made, EventKind.REFUNDED))
    assert (refund.status_code, refund.json()["reason"]) == (409, "not_paid")
    assert post_event(client, body_for(made)).status_code == 200
    twice = post_event(client, body_for(made))  # another event id, the same checkout
    assert (twice.status_code, twice.json()["reason"]) == (409, "already_paid")
    assert _count(ws, PaymentRow) == 1


def _event(**changes: object) -> bytes:
    event: dict[str, object] = {
        "id": "evt_odd",
        "type": "paid",
        "created": 1,
        "data": {"checkout_id": "x", "amount": "1.00", "currency": "CNY", "payment_id": "p"},
    }
    data = dict(event["data"])  # type: ignore[arg-type]
    for key, value in changes.items():
        if key in data and key != "data":
            data[key] = value
        else:
            event[key] = value
    event["data"] = changes.get("data", data)
    return json.dumps(event).encode()


ODD_BODIES = [
    b"",
    b"not json",
    b"[]",
    b"null",
    b"\xff\xfe\x00",
    b'{"id": "evt", "type": "paid"}',
    b"[" * 5000 + b"]" * 5000,
    _event(type="refund_of_sorts"),
    _event(id=7),
    _event(id=""),
    _event(id="x" * 500),
    _event(id="evt\u0000"),
    _event(created="yesterday"),
    _event(created=1.5),
    _event(amount="NaN"),
    _event(amount="Infinity"),
    _event(amount="-5.00"),
    _event(amount="0"),
    _event(amount="1e999999999"),
    _event(amount=None),
    _event(amount=[1]),
    _event(currency="CNYX"),
    _event(data="flat"),
    _event(checkout_id={"a": 1}),
    json.dumps({"id": "\ud800", "type": "paid"}).encode(),
]


def test_odd_bodies_are_400_never_500(ws: Workspace, client: TestClient) -> None:
    for n, body in enumerate(ODD_BODIES):
        answer = post_event(client, body)
        assert answer.status_code == 400, (n, answer.text)
        assert answer.json()["status"] == "rejected"
    assert _count(ws, ProcessorEvent) == 0


def test_a_body_too_large_is_413(ws: Workspace, client: TestClient) -> None:
    body = b'{"pad": "' + b"x" * 70_000 + b'"}'
    assert post_event(client, body).status_code == 413


def test_without_a_secret_the_webhook_is_503(
    ws: Workspace, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = body_for(checkout(ws))
    monkeypatch.setenv(ENV_PROCESSOR_SECRET, "short")
    client.app.state.payment_processor = None  # type: ignore[attr-defined]
    answer = post_event(client, body)
    assert answer.status_code == 503
    assert "short" not in answer.text  # the secret is never echoed
