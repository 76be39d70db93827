"""Routes of payments through a processor (docs/payments.md).

* ``POST /webhooks/processor/{name}``: the processor's webhook. No session and no CSRF
  token: the request is authenticated by its signature (HMAC of the raw body with the
  workspace's processor secret, timestamp within tolerance). Answers: 200 accepted or
  duplicate (a retry of an event already applied: nothing changes); 400 odd body,
  missing or malformed signature header, stale timestamp; 401 no valid signature; 404
  another processor's name or an unknown checkout; 409 a replay (the same signed
  delivery again), the same event id with another body, paying a checkout paid
  already, reversing one not paid; 413 a body over 64 KiB; 422 amount or currency other
  than the checkout's; 503 no secret configured or the store busy (try again). Never a
  500 for what a sender can send.
* ``/standin/processor/checkout/{id}`` (GET) and ``…/{id}/{pay|refund|chargeback}``
  (POST): the STAND-IN processor's hosted page, for tests and the demo only, served
  only while the workspace's processor is the stand-in. Its buttons post a webhook
  signed with the workspace's secret to the webhook above, through this very app.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Message

from arrears.channels.adapters.processor import (
    MAX_BODY,
    STANDIN,
    STANDIN_PREFIX,
    EventKind,
    Processor,
    StandInProcessor,
    WebhookRejected,
    event_body,
    form_token,
)
from arrears.domain.products import Catalog
from arrears.services.payment_config import PaymentConfigError, configured_processor
from arrears.services.payments import Receipt, expired, receive_webhook
from arrears.store.payment_models import Checkout
from arrears.web.ui.i18n import normalise_language, request_language
from arrears.web.ui.render import ENVIRONMENT
from arrears.workspace import Workspace

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
WEBHOOK_PATH = "/webhooks/processor/{name}"

# the stand-in page's words: key -> (en, zh_CN)
WORDS: dict[str, tuple[str, str]] = {
    "title": ("Stand-in payment processor", "模拟支付机构"),
    "banner": (
        "STAND-IN for tests and demos: no money moves and no card is charged.",
        "模拟页面，仅用于测试和演示：不会扣款，也不会动用任何银行卡。",
    ),
    "amount": ("Amount", "金额"),
    "reference": ("Checkout", "支付单号"),
    "status": ("Status", "状态"),
    "status.open": ("waiting for payment", "待支付"),
    "status.paid": ("paid", "已支付"),
    "status.refunded": ("refunded", "已退款"),
    "status.charged_back": ("charged back", "已拒付"),
    "status.expired": (
        "expired: this page no longer takes payment; start again from the lender's site",
        "已过期：此页面不再接受支付，请回到贷款机构页面重新发起",
    ),
    "pay": ("Pay", "支付"),
    "refund": ("Refund (simulate)", "退款（模拟）"),
    "chargeback": ("Chargeback (simulate)", "拒付（模拟）"),
    "back": ("Back to the lender's site", "返回贷款机构页面"),
    "refused": ("The lender's site refused the notification:", "贷款机构拒收了支付通知："),
    "no_secret": (
        "No processor secret is configured, so payments cannot be confirmed.",
        "未配置支付密钥，无法确认支付。",
    ),
}


def _words(lang: str) -> Callable[[str], str]:
    column = 1 if lang == "zh_CN" else 0
    return lambda key: WORDS[key][column]


def _processor(request: Request) -> Processor:
    """The app's processor, made once from the workspace's settings."""
    state = request.app.state
    found = getattr(state, "payment_processor", None)
    if found is None:
        found = state.payment_processor = configured_processor(state.workspace_root)
    return found


def _catalog(request: Request) -> Catalog:
    """The product catalog of the app's workspace (the one its close uses), read once."""
    state = request.app.state
    found = getattr(state, "product_catalog", None)
    if found is None:
        found = state.product_catalog = Workspace.at(state.workspace_root).catalog
    return found


def _problem(status: int, reason: str, detail: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"status": "rejected", "reason": reason, "detail": detail},
        status_code=status,
        headers=headers or None,
    )


@router.post(WEBHOOK_PATH)
async def processor_webhook(name: str, request: Request) -> Response:
    """A processor's signed event (see the module doc for the answers)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return _problem(413, "too_large", f"a webhook body is at most {MAX_BODY} bytes")
    # read no further than the limit (a chunked body declares no length)
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > MAX_BODY:
            return _problem(413, "too_large", f"a webhook body is at most {MAX_BODY} bytes")
    body = bytes(received)
    try:
        processor = _processor(request)
    except PaymentConfigError as exc:
        log.error("processor webhook refused: %s", exc)
        return _problem(503, "not_configured", "the payment processor is not configured")
    if name != processor.name:
        return _problem(404, "unknown_processor", f"this workspace takes no {name!r} webhooks")
    if isinstance(processor, StandInProcessor) and not processor.keys:
        return _problem(503, "no_secret", "no processor secret is configured")
    headers = dict(request.headers)
    settings = request.app.state.settings
    try:
        receipt = await run_in_threadpool(
            _receive,
            request.app.state.engine,
            processor,
            headers,
            body,
            settings,
            _catalog(request),
        )
    except WebhookRejected as exc:
        log.warning("processor %s webhook refused: %s %s", name, exc.status, exc.reason)
        return _problem(exc.status, exc.reason, exc.detail)
    except OperationalError:
        log.warning("processor %s webhook: the store is busy", name)
        return _problem(503, "busy", "the store is busy; deliver again", **{"Retry-After": "5"})
    return JSONResponse(
        {
            "status": receipt.status,
            "event_id": receipt.event_id,
            "kind": receipt.kind,
            "outcome": receipt.outcome,
        }
    )


def _receive(
    engine: Any,
    processor: Processor,
    headers: dict[str, str],
    body: bytes,
    settings: Any,
    catalog: Catalog | None = None,
) -> Receipt:
    for attempt in (1, 2):
        with Session(engine) as session:
            try:
                receipt = receive_webhook(
                    session,
                    processor,
                    headers,
                    body,
                    now=settings.now(),
                    today=settings.today(),
                    catalog=catalog,
                )
                session.commit()
                return receipt
            except IntegrityError:
                # the same event delivered twice at once: the other one won; look again
                session.rollback()
                if attempt == 2:
                    raise WebhookRejected(409, "conflict", "delivered concurrently") from None
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------- the stand-in


def _standin(request: Request) -> StandInProcessor | None:
    try:
        processor = _processor(request)
    except PaymentConfigError:
        return None
    return processor if isinstance(processor, StandInProcessor) else None


def _checkout(request: Request, checkout_id: str) -> Checkout | None:
    with Session(request.app.state.read_engine) as session:
        checkout = session.get(Checkout, checkout_id[:64])
        if checkout is None or checkout.processor != STANDIN:
            return None
        session.expunge(checkout)
        return checkout


def _language(request: Request) -> str:
    return request_language(request, normalise_language(request.query_params.get("lang")))


def _page(
    request: Request,
    processor: StandInProcessor,
    checkout: Checkout,
    *,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    lang = _language(request)
    now = request.app.state.settings.now()
    html = ENVIRONMENT.get_template("standin_processor.html").render(
        lang=lang,
        w=_words(lang),
        checkout=checkout,
        status="expired" if expired(checkout, now) else checkout.status,
        token=form_token(processor.keys, checkout.checkout_id) if processor.keys else "",
        action=f"{STANDIN_PREFIX}/checkout/{checkout.checkout_id}",
        error=error,
    )
    if status_code == 200 and expired(checkout, now):
        status_code = 410  # gone: a processor's expired session
    return HTMLResponse(html, status_code=status_code)


def _not_found() -> HTMLResponse:
    return HTMLResponse("<p role='alert'>no such checkout / 无此支付单</p>", status_code=404)


@router.get(STANDIN_PREFIX + "/checkout/{checkout_id}", response_class=HTMLResponse)
def standin_checkout_page(checkout_id: str, request: Request) -> HTMLResponse:
    """The stand-in's hosted page for one checkout (labelled as a stand-in)."""
    processor = _standin(request)
    checkout = _checkout(request, checkout_id) if processor is not None else None
    if processor is None or checkout is None:
        return _not_found()
    return _page(request, processor, checkout)


ACTIONS = {"pay": EventKind.PAID, "refund": EventKind.REFUNDED, "chargeback": EventKind.CHARGEBACK}


@router.post(STANDIN_PREFIX + "/checkout/{checkout_id}/{action}")
async def standin_action(checkout_id: str, action: str, request: Request) -> Response:
    """Pay, refund or charge back at the stand-in: a signed webhook posted to this app's
    own webhook endpoint; after paying, back to the checkout's return address."""
    processor = _standin(request)
    checkout = _checkout(request, checkout_id) if processor is not None else None
    kind = ACTIONS.get(action)
    if processor is None or checkout is None or kind is None:
        return _not_found()
    if not processor.keys:
        return _page(request, processor, checkout, error=_words(_language(request))("no_secret"))
    if kind is EventKind.PAID and expired(checkout, request.app.state.settings.now()):
        return _page(request, processor, checkout)  # 410: the page takes no payment now
    form = await request.form()
    token = form.get("token")
    if not isinstance(token, str) or token != form_token(processor.keys, checkout_id):
        return HTMLResponse("<p role='alert'>form token missing or wrong</p>", status_code=403)
    now = int(request.app.state.settings.now().timestamp())
    body = event_body(
        kind,
        checkout.checkout_id,
        checkout.amount,
        checkout.currency,
        payment_id=checkout.processor_ref or f"standin_{checkout.checkout_id}",
        created=now,
    )
    status, answer = await deliver(
        request.app, WEBHOOK_PATH.format(name=STANDIN), body, processor.signed(body, now)
    )
    if status != 200:
        reason = _reason(answer)
        words = _words(_language(request))
        fresh = _checkout(request, checkout_id) or checkout
        return _page(
            request,
            processor,
            fresh,
            error=f"{words('refused')} {status} {reason}",
            status_code=409,
        )
    if kind is EventKind.PAID:
        return RedirectResponse(_back(checkout), status_code=303)
    return RedirectResponse(f"{STANDIN_PREFIX}/checkout/{checkout_id}", status_code=303)


def _back(checkout: Checkout) -> str:
    sep = "&" if "?" in checkout.return_url else "?"
    return checkout.return_url + sep + urlencode({"checkout": checkout.checkout_id})


def _reason(answer: bytes) -> str:
    try:
        return str(json.loads(answer).get("reason", ""))
    except (ValueError, AttributeError):
        return ""


async def deliver(app: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST ``body`` to ``path`` of the ASGI ``app`` in this process (the stand-in's
    delivery to its own workspace: every middleware and check of a real delivery,
    without a network); returns the status and the response body."""
    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw_headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 0),
        "server": ("standin", 80),
    }
    sent = False
    status, chunks = 500, []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()
        return {"type": "http.disconnect"}  # pragma: no cover

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)
