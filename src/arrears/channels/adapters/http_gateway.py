"""SMS and app push through an HTTP gateway (an SMS operator or push service).

The adapter POSTs JSON to ``{base_url}/v1/messages`` with an ``Idempotency-Key`` header
(the outbox key): a gateway that honours it answers a repeated request with the
original message id instead of sending again, which is what makes a resend after a
crash harmless. Delivery receipts are pulled from ``{base_url}/v1/receipts`` and
applied to the outbox with ``apply_receipts`` (a push callback can call
``record_delivery`` directly). Replies from debtors are pulled from
``{base_url}/v1/inbound``; ``apply_inbound`` records a reply STOP / 退订 as an opt-out of
texts to that number in the consent ledger (``arrears.compliance.consent``), which the
gate enforces from then on.

Protocol, as this adapter speaks it::

    POST /v1/messages  {"channel", "to", "body", "title", "language", "sender",
                        "client_reference"}
      -> 200/201/202 {"message_id": "..."}   (a duplicate key: the first message's id)
      -> 429 / 5xx: try later;  other 4xx: refused for good
    GET /v1/receipts?after=CURSOR
      -> {"receipts": [{"message_id", "status", "detail"}], "cursor": N}
    GET /v1/inbound?after=CURSOR
      -> {"messages": [{"from", "body", "at"}], "cursor": N}   (at: ISO 8601 with zone)
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from arrears.channels.adapters.base import (
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from arrears.channels.outbox import OutboxError, as_utc, record_delivery
from arrears.compliance.consent import is_stop_reply, record_opt_out
from arrears.compliance.model import normalize_contact
from arrears.store.contact_models import ContactAttempt, OutboxMessage
from arrears.store.models import Customer
from arrears.store.search_keys import phone_digits, phone_key, phone_variants

# Operator receipt states (SMPP "stat" values and plain words) to outbox statuses.
RECEIPT_STATES = {
    "DELIVRD": "delivered",
    "DELIVERED": "delivered",
    "UNDELIV": "bounced",
    "REJECTD": "bounced",
    "BOUNCED": "bounced",
    "EXPIRED": "failed",
    "DELETED": "failed",
    "FAILED": "failed",
}


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt from the gateway, status already in outbox words."""

    message_id: str
    status: str
    detail: str = ""


@dataclass(frozen=True)
class Inbound:
    """A text a debtor sent to us: the number it came from, its body and when."""

    sender: str
    body: str
    at: datetime


@dataclass
class HttpGatewayAdapter:
    """An HTTP SMS/push gateway at ``base_url`` (see the module doc for the protocol)."""

    base_url: str
    token: str | None = None
    sender: str = "ARREARS"
    timeout: float = 10.0

    def _request(self, method: str, path: str, payload: Any = None, key: str | None = None):
        headers = {"Accept": "application/json"}
        data = None
        if payload is not None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        if key is not None:
            headers["Idempotency-Key"] = key
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.base_url.rstrip("/") + path, data=data, headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read().decode("utf-8") or "{}")

    def send(self, message: OutgoingMessage) -> SendResult:
        """POST the message with its idempotency key; see the module doc for replies."""
        payload = {
            "channel": message.channel,
            "to": message.recipient,
            "body": message.body,
            "title": message.subject,
            "language": message.language,
            "sender": self.sender,
            "client_reference": message.idempotency_key,
        }
        try:
            answer = self._request("POST", "/v1/messages", payload, message.idempotency_key)
        except urllib.error.HTTPError as exc:
            text = f"gateway HTTP {exc.code}: {exc.read()[:200].decode('utf-8', 'replace')}"
            if exc.code == 429 or exc.code >= 500:
                raise TransientSendError(text) from exc
            raise PermanentSendError(text) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TransientSendError(f"gateway {self.base_url}: {exc}") from exc
        message_id = answer.get("message_id")
        if not message_id:
            raise TransientSendError(f"gateway answered without a message_id: {answer!r}")
        return SendResult(provider_message_id=str(message_id))

    def fetch_receipts(self, after: int = 0) -> tuple[list[Receipt], int]:
        """Receipts the gateway has after ``after``, and the cursor to ask from next."""
        try:
            answer = self._request("GET", f"/v1/receipts?after={int(after)}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TransientSendError(f"gateway {self.base_url} receipts: {exc}") from exc
        receipts = []
        for item in answer.get("receipts", []):
            state = str(item.get("status", "")).upper()
            status = RECEIPT_STATES.get(state)
            if status is None:
                raise OutboxError(f"gateway receipt {item!r}: unknown status {state!r}")
            receipts.append(Receipt(str(item["message_id"]), status, str(item.get("detail", ""))))
        return receipts, int(answer.get("cursor", after))

    def fetch_inbound(self, after: int = 0) -> tuple[list[Inbound], int]:
        """Replies the gateway has after ``after``, and the cursor to ask from next."""
        try:
            answer = self._request("GET", f"/v1/inbound?after={int(after)}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TransientSendError(f"gateway {self.base_url} inbound: {exc}") from exc
        messages = []
        for item in answer.get("messages", []):
            try:
                at = datetime.fromisoformat(str(item["at"]))
                sender, body = str(item["from"]), str(item["body"])
            except (KeyError, ValueError) as exc:
                raise OutboxError(f"gateway inbound message {item!r}: {exc}") from exc
            if at.tzinfo is None:
                raise OutboxError(f"gateway inbound message {item!r}: 'at' has no time zone")
            messages.append(Inbound(sender, body, at))
        return messages, int(answer.get("cursor", after))


def apply_receipts(engine: Engine, receipts: list[Receipt]) -> Counter[str]:
    """Record each receipt on its outbox message (``record_delivery``); returns how
    many were applied by status, and ``unknown`` for receipts of messages not in this
    outbox (a gateway shared with another system), which are skipped."""
    applied: Counter[str] = Counter()
    for receipt in receipts:
        try:
            record_delivery(engine, receipt.message_id, receipt.status, receipt.detail)
        except OutboxError as exc:
            if "no such outbox message" not in str(exc):
                raise
            applied["unknown"] += 1
            continue
        applied[receipt.status] += 1
    return applied


def apply_inbound(engine: Engine, messages: list[Inbound]) -> Counter[str]:
    """Record each reply that asks to stop (``STOP``, ``退订`` …) as an opt-out of texts
    to the number it came from (source ``reply_stop``, the reply's text), for the
    debtor we last texted at that number (else the customer whose mobile it is).
    Returns counts: ``opt_out``, ``other`` (not a stop word), ``unknown`` (no debtor
    has that number)."""
    done: Counter[str] = Counter()
    with Session(engine) as session, session.begin():
        for message in messages:
            if not is_stop_reply(message.body):
                done["other"] += 1
                continue
            found = _texted(session, message.sender)
            if found is None:
                done["unknown"] += 1
                continue
            customer_id, number = found
            record_opt_out(
                session, customer_id=customer_id, channel="sms", recipient=number,
                source="reply_stop", text=message.body, at=as_utc(message.at),
                actor="sms-gateway",
            )  # fmt: skip
            done["opt_out"] += 1
    return done


def _texted(session: Session, sender: str) -> tuple[str, str] | None:
    """(customer id, number as we texted it) for a reply from ``sender``."""
    key = normalize_contact(sender)
    variants = phone_variants(phone_digits(sender))
    row = session.execute(
        select(ContactAttempt.customer_id, OutboxMessage.recipient)
        .join(ContactAttempt, ContactAttempt.id == OutboxMessage.contact_attempt_id)
        .where(OutboxMessage.channel == "sms", phone_key(OutboxMessage.recipient).in_(variants))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        return str(row[0]), str(row[1])
    customer = session.execute(
        select(Customer.customer_id, Customer.mobile)
        .where(phone_key(Customer.mobile).in_(variants))
        .order_by(Customer.customer_id)
        .limit(1)
    ).first()
    return (str(customer[0]), str(customer[1] or key)) if customer is not None else None
