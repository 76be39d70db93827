"""Payment processors: what every processor adapter promises, the signed-webhook
scheme, and the local STAND-IN processor (docs/payments.md).

A processor adapter does two things. ``create_checkout`` asks the processor for a
hosted payment page for an exact amount and currency (the debtor types their card or
wallet details there, never here: no card data touches the project). ``verify_webhook``
takes the raw bytes and headers of a webhook delivery and returns the event they carry,
or raises ``WebhookRejected`` saying why (with the HTTP status to answer).

The signature scheme of this module (the stand-in's; a real processor's adapter
verifies its vendor's own):

    Processor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

``v1`` may appear more than once (a processor rotating its secret signs with both);
any secret of the workspace may match (rotation on our side). A timestamp further than
``tolerance`` seconds from now, either way, is refused: a captured delivery cannot be
replayed later. The body is JSON::

    {"id": "evt_…", "type": "paid" | "refunded" | "chargeback", "created": <unix>,
     "data": {"checkout_id": "…", "amount": "123.45", "currency": "CNY",
              "payment_id": "…"}}

Amounts are decimal strings (a JSON number is read as a Decimal, never a float).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Protocol

SIGNATURE_HEADER = "Processor-Signature"
DEFAULT_TOLERANCE = 300  # seconds either side of now a signed timestamp may be
STANDIN = "standin"
STANDIN_PREFIX = "/standin/processor"
MAX_BODY = 64 * 1024  # a webhook body larger than this is not an event of ours


class EventKind(StrEnum):
    PAID = "paid"
    REFUNDED = "refunded"
    CHARGEBACK = "chargeback"


class ProcessorError(Exception):
    """The processor could not do what was asked (no checkout made)."""


class WebhookRejected(Exception):
    """A webhook delivery refused; ``status`` is the HTTP status to answer (400 odd
    body or header, 401 no valid signature, 409 replay or conflict, 404 unknown
    checkout, 422 amounts that do not match), ``reason`` a short code."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.reason, self.detail = status, reason, detail


@dataclass(frozen=True)
class CheckoutRequest:
    """What the project asks a processor for: a page taking exactly ``amount``
    ``currency`` for checkout ``checkout_id``, sending the debtor back to
    ``return_url``."""

    checkout_id: str
    amount: Decimal
    currency: str
    description: str
    return_url: str
    # after this the page takes no payment (a processor's session expiry); None: never
    expires_at: datetime | None = None


@dataclass(frozen=True)
class HostedCheckout:
    """The processor's answer: its own id for the payment and the page's address."""

    processor_ref: str
    url: str


@dataclass(frozen=True)
class Event:
    """A verified webhook event. ``signed_at`` is the delivery's signed timestamp."""

    event_id: str
    kind: EventKind
    checkout_id: str
    amount: Decimal
    currency: str
    payment_id: str
    created: int
    signed_at: int
    body_sha256: str


class Processor(Protocol):
    """A payment processor; ``name`` is the one in the webhook's path
    (``/webhooks/processor/{name}``) and in ``[payments] processor``."""

    @property
    def name(self) -> str: ...

    def create_checkout(self, request: CheckoutRequest) -> HostedCheckout: ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: int) -> Event: ...


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """The header ``name`` of ``headers`` whatever the case of its key (HTTP header
    names are case-insensitive; servers hand them over lower-cased)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + body`` under ``secret``."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes | Sequence[bytes], timestamp: int, body: bytes) -> str:
    """The ``Processor-Signature`` value for ``body`` signed at ``timestamp`` (with each
    secret, when several are given)."""
    keys = [secret] if isinstance(secret, bytes) else list(secret)
    return ",".join([f"t={timestamp}", *(f"v1={sign(k, timestamp, body)}" for k in keys)])


def verify_signature(
    header: str | None,
    body: bytes,
    keys: Sequence[bytes],
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """The signed timestamp of a delivery whose ``header`` signs ``body`` with one of
    ``keys`` within ``tolerance`` seconds of ``now``; else ``WebhookRejected``."""
    if not header:
        raise WebhookRejected(400, "no_signature", f"the {SIGNATURE_HEADER} header is missing")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise WebhookRejected(
            400, "bad_signature_header", f"{SIGNATURE_HEADER} needs t=<unix time> and v1=<hmac>"
        )
    if abs(now - timestamp) > tolerance:
        raise WebhookRejected(
            400,
            "stale_timestamp",
            f"signed at {timestamp}, {now - timestamp:+d} s from now; "
            f"more than {tolerance} s is refused (replay protection)",
        )
    expected = [sign(key, timestamp, body) for key in keys]
    if not any(hmac.compare_digest(e, s) for e in expected for s in signatures):
        raise WebhookRejected(401, "bad_signature", "no signature matches the body")
    return timestamp


def parse_event(body: bytes, signed_at: int) -> Event:
    """The event of a webhook body in the format of the module doc; ``WebhookRejected``
    (400) naming the field when it is not."""
    if len(body) > MAX_BODY:
        raise WebhookRejected(400, "too_large", f"a webhook body of {len(body)} bytes")
    try:
        data = json.loads(body.decode("utf-8"), parse_float=Decimal, parse_int=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WebhookRejected(400, "bad_json", f"the body is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise WebhookRejected(400, "bad_json", "the body must be a JSON object")
    inner = data.get("data")
    if not isinstance(inner, dict):
        raise WebhookRejected(400, "bad_field", "data: must be an object")
    try:
        kind = EventKind(_text(data, "type", 32))
    except ValueError:
        kinds = ", ".join(k.value for k in EventKind)
        raise WebhookRejected(400, "bad_field", f"type: must be one of {kinds}") from None
    created = data.get("created")
    # unix seconds have at most 12 digits (a number like 1e100000000 would take int()
    # minutes to build)
    if (
        not isinstance(created, Decimal)
        or not created.is_finite()
        or created.adjusted() >= 12
        or created != created.to_integral_value()
    ):
        raise WebhookRejected(400, "bad_field", "created: must be a whole number (unix time)")
    return Event(
        event_id=_text(data, "id", 128),
        kind=kind,
        checkout_id=_text(inner, "checkout_id", 64),
        amount=_amount(inner),
        currency=_text(inner, "currency", 3),
        payment_id=_text(inner, "payment_id", 128),
        created=int(created),
        signed_at=signed_at,
        body_sha256=hashlib.sha256(body).hexdigest(),
    )


def _text(data: Mapping[str, Any], field: str, longest: int) -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise WebhookRejected(
            400, "bad_field", f"{field}: must be a non-empty string of at most {longest} chars"
        )
    if not value.isprintable():
        raise WebhookRejected(400, "bad_field", f"{field}: holds control characters")
    return value


def _amount(data: Mapping[str, Any]) -> Decimal:
    value = data.get("amount")
    try:
        amount = Decimal(value) if isinstance(value, (str, Decimal)) else None
    except InvalidOperation:
        amount = None
    # NUMERIC(18,2) holds at most 16 digits before the point
    if amount is None or not amount.is_finite() or amount <= 0 or amount.adjusted() >= 16:
        raise WebhookRejected(400, "bad_field", f"amount: {value!r} is not a positive amount")
    return amount


def event_body(
    kind: EventKind | str,
    checkout_id: str,
    amount: Decimal,
    currency: str,
    *,
    payment_id: str,
    created: int,
    event_id: str | None = None,
) -> bytes:
    """A webhook body in this module's format (the stand-in's, and tests')."""
    return json.dumps(
        {
            "id": event_id or f"evt_{secrets.token_hex(12)}",
            "type": str(kind),
            "created": created,
            "data": {
                "checkout_id": checkout_id,
                "amount": str(amount),
                "currency": currency,
                "payment_id": payment_id,
            },
        },
        separators=(",", ":"),
    ).encode("utf-8")


@dataclass(frozen=True)
class StandInProcessor:
    """A STAND-IN for a payment processor (the real ones are outside this machine): its
    hosted page is served by this very app under ``/standin/processor/`` and labelled
    as a stand-in; "pay" there posts a webhook signed with the workspace's processor
    secret to ``/webhooks/processor/standin``. For tests and the demo only."""

    keys: tuple[bytes, ...]
    tolerance: int = DEFAULT_TOLERANCE
    name: str = STANDIN

    def create_checkout(self, request: CheckoutRequest) -> HostedCheckout:
        """A page of this app: the checkout's own id names it."""
        return HostedCheckout(
            processor_ref=f"standin_{request.checkout_id}",
            url=f"{STANDIN_PREFIX}/checkout/{request.checkout_id}",
        )

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, now: int) -> Event:
        """The event of a delivery signed by this module's scheme with one of ``keys``."""
        signed_at = verify_signature(
            header_value(headers, SIGNATURE_HEADER), body, self.keys, now, self.tolerance
        )
        return parse_event(body, signed_at)

    def signed(self, body: bytes, now: int) -> dict[str, str]:
        """The headers of a delivery of ``body`` signed at ``now`` with the current key
        (the first)."""
        return {
            SIGNATURE_HEADER: signature_header(self.keys[0], now, body),
            "Content-Type": "application/json",
        }


def form_token(keys: Sequence[bytes], checkout_id: str) -> str:
    """The stand-in page's form token for ``checkout_id``: a form posted to the
    stand-in must carry it (its CSRF protection; it names one checkout only)."""
    return hmac.new(keys[0], f"standin-form:{checkout_id}".encode(), hashlib.sha256).hexdigest()


def checkout_timestamp(moment: datetime) -> int:
    """``moment`` as whole unix seconds (the signed timestamp's unit)."""
    return int(moment.timestamp())
