"""An outside tester's probes of the processor webhook and the stand-in checkout, each
kept as a regression test: odd amounts and numbers in a signed body, refunds beyond
what was paid, headers in another case or missing, another checkout's event; on SQLite
and PostgreSQL. (Signed bodies: only a holder of the secret can send them, yet they must
never hang or 500 the app.)"""

from __future__ import annotations

import json
import time
from decimal import Decimal

from fastapi.testclient import TestClient
from payment_support import SECRET, body_for, checkout, post_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.channels.adapters.processor import SIGNATURE_HEADER, signature_header
from arrears.store.models import PaymentRow
from arrears.workspace import Workspace


def _signed(client: TestClient, payload: dict) -> object:
    return post_event(client, json.dumps(payload).encode())


def _payload(made, **changes) -> dict:
    payload = json.loads(body_for(made))
    data = payload["data"]
    for key, value in changes.items():
        (data if key in data else payload)[key] = value
    return payload


def test_odd_amounts_in_a_signed_body_are_4xx(ws: Workspace, client: TestClient) -> None:
    made = checkout(ws, amount="1000.00")
    odd = ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "-0", "0", "-1000.00", "1e16"]
    odd += ["1000.001", "1e-2", 999, 1000.001, None, [], {}, True, "1,000"]
    for amount in odd:
        answer = _signed(client, _payload(made, amount=amount, id=f"evt_{amount!r}"[:100]))
        assert 400 <= answer.status_code < 500, (amount, answer.status_code, answer.text)
    with Session(ws.engine) as session:
        assert session.scalar(select(func.count()).select_from(PaymentRow)) == 0


def test_an_amount_equal_to_the_checkout_in_any_notation_books_the_checkout_amount(
    ws: Workspace, client: TestClient
) -> None:
    made = checkout(ws, amount="1000.00")
    answer = _signed(client, _payload(made, amount="1e3", id="evt_e"))
    assert answer.status_code == 200, answer.text
    with Session(ws.engine) as session:
        assert session.get(PaymentRow, f"pp:{made.checkout_id}").amount == Decimal("1000.00")


def test_odd_json_types_are_400(ws: Workspace, client: TestClient) -> None:
    made = checkout(ws)
    odd = [
        _payload(made, created="1796000000"),
        _payload(made, created=1.5),
        _payload(made, type=["paid"]),
        _payload(made, id=7),
        _payload(made, checkout_id=None),
        _payload(made, currency="CNYX"),
        {**_payload(made), "data": []},
        [],
        "paid",
    ]
    for payload in odd:
        answer = _signed(client, payload)
        assert answer.status_code == 400, (payload, answer.text)


def test_a_huge_created_number_is_400_at_once(ws: Workspace, client: TestClient) -> None:
    made = checkout(ws)
    body = body_for(made).replace(b'"created":1796000000', b'"created":1e100000000')
    started = time.monotonic()
    answer = post_event(client, body)
    assert answer.status_code == 400, answer.text
    assert time.monotonic() - started < 5


def test_refunds_beyond_what_was_paid_are_refused(ws: Workspace, client: TestClient) -> None:
    made = checkout(ws, amount="100.00")
    assert _signed(client, _payload(made, id="evt_pay")).status_code == 200
    refund = {"type": "refunded"}
    assert (
        _signed(client, _payload(made, amount="100.01", id="evt_r1", **refund)).status_code == 422
    )
    assert _signed(client, _payload(made, amount="60.00", id="evt_r2", **refund)).status_code == 200
    assert _signed(client, _payload(made, amount="40.01", id="evt_r3", **refund)).status_code == 422
    assert _signed(client, _payload(made, amount="40.00", id="evt_r4", **refund)).status_code == 200
    assert _signed(client, _payload(made, amount="0.01", id="evt_r5", **refund)).status_code in (
        409,
        422,
    )


def test_the_signature_header_in_any_case_and_its_absence(
    ws: Workspace, client: TestClient
) -> None:
    made = checkout(ws)
    body = body_for(made, event_id="evt_case")
    now = int(client.app.state.settings.now().timestamp())  # type: ignore[attr-defined]
    header = signature_header(SECRET, now, body)
    assert client.post("/webhooks/processor/standin", content=body).status_code == 400
    v1 = header.split(",")[1]
    bads = [header.upper(), header.replace("v1=", "v0="), f"t={now},v1=", "t=,v1=x"]
    for bad in [*bads, f"t={now}.0,{v1}", f"t=+{now},{v1}"]:
        answer = client.post(
            "/webhooks/processor/standin", content=body, headers={SIGNATURE_HEADER: bad}
        )
        assert answer.status_code in (400, 401), (bad, answer.text)
    # the body re-encoded (same JSON, other bytes) is not what was signed
    spaced = json.dumps(json.loads(body), indent=1).encode()
    answer = client.post(
        "/webhooks/processor/standin", content=spaced, headers={SIGNATURE_HEADER: header}
    )
    assert answer.status_code == 401
    answer = client.post(
        "/webhooks/processor/standin",
        content=body,
        headers={SIGNATURE_HEADER.lower(): header, "content-type": "text/plain"},
    )
    assert answer.status_code == 200, answer.text


def test_a_chunked_body_is_cut_off_at_the_limit(ws: Workspace, client: TestClient) -> None:
    """A body without a declared length is read no further than 64 KiB (it was all
    buffered first: a stranger could stream gigabytes into the server's memory)."""
    import anyio

    app = client.app
    pulled = 0

    async def receive() -> dict:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 4096, "more_body": pulled < 10_000}

    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/webhooks/processor/standin",
        "raw_path": b"/webhooks/processor/standin", "query_string": b"", "root_path": "",
        "headers": [(b"transfer-encoding", b"chunked")], "client": ("127.0.0.1", 1),
        "server": ("testserver", 80), "state": {},
    }  # fmt: skip

    async def run() -> None:
        await app(scope, receive, send)  # type: ignore[operator]

    anyio.run(run)
    assert sent[0]["status"] == 413
    assert pulled <= 64 * 1024 // 4096 + 1, pulled
