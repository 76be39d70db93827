"""Helpers of the channel tests: the SMTP sink, a free port, a store with one customer
and queued messages."""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from arrears.channels.outbox import enqueue
from arrears.store.contact_models import ContactAttempt, OutboxMessage
from arrears.store.models import Customer

_HEADERS = BytesHeaderParser()


@dataclass
class MailSink:
    """What the SMTP server received: every DATA in order (``received``) and the
    mailbox a Message-ID-deduplicating recipient would show (``mailbox``)."""

    delay: float = 0.0
    fail_next: list[str] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            # Kept raw: parsing here would hold up the reply (and the sender) each time.
            self.raw.append(envelope.content)  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"

    @property
    def received(self) -> list[EmailMessage]:
        with self.lock:
            raw = list(self.raw)
        return [message_from_bytes(data, policy=policy.default) for data in raw]  # type: ignore[misc]

    def message_ids(self) -> list[str]:
        with self.lock:
            raw = list(self.raw)
        return [_HEADERS.parsebytes(data)["Message-ID"] for data in raw]

    @property
    def mailbox(self) -> dict[str, EmailMessage]:
        return {m["Message-ID"]: m for m in self.received}


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def add_customer(session: Session, customer_id: str = "C1") -> None:
    session.add(
        Customer(
            customer_id=customer_id,
            name="张三",
            mobile="+8613800138000",
            email="zhang@example.com",
            time_zone="Asia/Shanghai",
            language="zh_CN",
        )
    )
    session.flush()


def queue_messages(
    engine: Engine,
    count: int,
    *,
    channel: str = "email",
    recipient: str = "zhang@example.com",
    customer_id: str = "C1",
) -> list[int]:
    """``count`` allowed contact attempts and their outbox messages, in one transaction
    as the daily close writes them. Returns the outbox ids."""
    ids = []
    with Session(engine) as session, session.begin():
        if session.get(Customer, customer_id) is None:
            add_customer(session, customer_id)
        for i in range(count):
            attempt = ContactAttempt(
                attempt_id=f"{customer_id}-{channel}-{i}",
                customer_id=customer_id,
                channel=channel,
                party="debtor",
                at=datetime.now(UTC),
                source="strategy",
                allowed=True,
            )
            session.add(attempt)
            session.flush()
            message = enqueue(
                session,
                contact_attempt_id=attempt.id,
                channel=channel,
                recipient=recipient,
                language="zh_CN",
                subject=f"提醒 {i}",
                body=f"<p>您好，第 {i} 封</p>",
                idempotency_key=f"{customer_id}-{channel}-{i}",
            )
            ids.append(message.id)
    return ids


def statuses(engine: Engine) -> dict[int, str]:
    with Session(engine) as session:
        return dict(session.query(OutboxMessage.id, OutboxMessage.status).all())


# The lender's merge fields (the workspace's [lender] settings) of the hand-built
# MergeFields of the template tests: a fictional lender, as the defaults are.
LENDER_FIELDS = {
    "zh_CN": {
        "lender_name": "示例消费金融有限公司",
        "brand_name": "示例贷",
        "service_hotline": "400-000-0000",
        "repayment_bank": "示例银行上海示例路支行",
        "repayment_account_name": "示例消费金融有限公司",
        "repayment_account_number": "0000 1234 5678 9012 345",
        "law_firm_name": "示例律师事务所",
        "law_firm_address": "上海市示例区示例路200号",
        "law_firm_phone": "021-0000-0200",
    },
    "en": {
        "lender_name": "Example Consumer Finance Co., Ltd.",
        "brand_name": "ExampleLoan",
        "service_hotline": "400-000-0000",
        "repayment_bank": "Example Bank, Shanghai",
        "repayment_account_name": "Example Consumer Finance Co., Ltd.",
        "repayment_account_number": "0000 1234 5678 9012 345",
        "law_firm_name": "Example & Partners Law Firm",
        "law_firm_address": "200 Example Road, Shanghai",
        "law_firm_phone": "021-0000-0200",
    },
}
