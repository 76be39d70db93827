"""The outbox dispatcher: claims due messages with a lease, re-checks compliance at
send time, sends each through its channel's adapter with the message's idempotency
key, retries with exponential backoff and jitter, and dead-letters after
``max_attempts``. Every status change is a delivery event.

Claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several dispatchers can share
one outbox; on SQLite run one dispatcher at a time. A claim is fenced by the row's
attempt counter: a dispatcher whose lease ran out (and whose message another dispatcher
re-claimed) cannot overwrite the newer outcome.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Update, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from arrears.channels.adapters.base import (
    Adapter,
    OutgoingMessage,
    PermanentSendError,
    SendResult,
    TransientSendError,
)
from arrears.channels.outbox import as_utc, record_event
from arrears.store.contact_models import DeliveryEvent, OutboxMessage

Clock = Callable[[], datetime]
Recheck = Callable[[OutgoingMessage], Any]


@dataclass(frozen=True)
class Deferred:
    """A re-check answer meaning "not now, later": the message goes back to ``queued``
    until ``retry_at`` (e.g. outside contact hours), without using up an attempt."""

    verdict: Any
    retry_at: datetime


def utc_clock() -> datetime:
    """The real clock, in UTC."""
    return datetime.now(UTC)


@dataclass
class DispatchReport:
    """What a run did: messages claimed, and how each claim ended, by outcome
    (sent, delivered, failed, dead, blocked, deferred, lost_lease)."""

    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, other: DispatchReport) -> None:
        self.claimed += other.claimed
        self.outcomes.update(other.outcomes)


def backoff_delay(idempotency_key: str, attempt: int, base: timedelta, cap: timedelta) -> timedelta:
    """How long to wait after failed ``attempt`` (1-based): ``base * 2**(attempt-1)``
    capped at ``cap``, scaled by a jitter factor in [0.5, 1.0) drawn from a hash of the
    key and attempt, so retries of many messages spread out but the same message and
    attempt always wait the same (deterministic under an injected clock)."""
    delay = min(cap, base * (2 ** (attempt - 1)))
    digest = hashlib.sha256(f"{idempotency_key}:{attempt}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return delay * (0.5 + fraction / 2)


class Dispatcher:
    """Sends due outbox messages of the channels it has adapters for."""

    def __init__(
        self,
        engine: Engine,
        adapters: Mapping[str, Adapter],
        recheck: Recheck | None = None,
        *,
        max_attempts: int = 5,
        backoff_base: timedelta = timedelta(seconds=30),
        backoff_cap: timedelta = timedelta(hours=1),
        lease: timedelta = timedelta(minutes=5),
        clock: Clock = utc_clock,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.engine = engine
        self.adapters = dict(adapters)
        self.recheck = recheck
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.lease = lease
        self.clock = clock

    def run_once(self, limit: int = 50) -> DispatchReport:
        """Claim up to ``limit`` due messages and try each once. Returns what happened."""
        report = DispatchReport()
        claims = self._claim(limit)
        report.claimed = len(claims)
        prepare = getattr(self.recheck, "prepare", None)
        if claims and prepare is not None:
            # One look-up for the batch instead of one per message. If it fails, each
            # message's own re-check looks up alone (and is retried if that fails too).
            with contextlib.suppress(Exception):
                prepare([message for message, _ in claims])
        for message, lease_end in claims:
            if as_utc(self.clock()) >= lease_end:
                # Our lease ran out while earlier messages were sent: leave this one to
                # whoever claims it next rather than race them.
                report.outcomes["lost_lease"] += 1
                continue
            report.outcomes[self._process(message)] += 1
        return report

    def run_until_idle(self, limit: int = 50, max_rounds: int = 10_000) -> DispatchReport:
        """``run_once`` until no message is due now (retries scheduled later stay
        queued as ``failed``). Returns the summed report."""
        total = DispatchReport()
        for _ in range(max_rounds):
            report = self.run_once(limit)
            total.add(report)
            if report.claimed == 0:
                break
        return total

    def _claim(self, limit: int) -> list[tuple[OutgoingMessage, datetime]]:
        now = as_utc(self.clock())
        lease_end = now + self.lease
        due = or_(
            and_(
                OutboxMessage.status.in_(("queued", "failed")),
                OutboxMessage.next_attempt_at <= now,
            ),
            and_(OutboxMessage.status == "sending", OutboxMessage.claimed_until < now),
        )
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.channel.in_(sorted(self.adapters)), due)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if self.engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        claims = []
        with Session(self.engine) as session, session.begin():
            for row in session.scalars(query).all():
                reclaimed = row.status == "sending"
                row.attempts += 1
                row.claimed_until = lease_end
                detail = f"attempt {row.attempts}" + (" (lease expired, re-claimed)" * reclaimed)
                record_event(session, row, "sending", now, detail)
                claims.append((_outgoing(row), lease_end))
        return claims

    def _process(self, message: OutgoingMessage) -> str:
        try:
            verdict = self.recheck(message) if self.recheck is not None else None
        except Exception as exc:  # cannot verify compliance: do not send, try later
            return self._failed(message, f"compliance re-check failed: {exc!r}")
        if isinstance(verdict, Deferred):
            detail = f"deferred by {', '.join(verdict.verdict.rules)} until {verdict.retry_at}"
            return self._finish(
                message, ("queued", detail), error=", ".join(verdict.verdict.rules),
                retry_at=as_utc(verdict.retry_at), give_back_attempt=True,
            )  # fmt: skip
        if verdict is not None and not verdict.allowed:
            detail = json.dumps(
                {"rules": list(verdict.rules), "reasons": list(verdict.reasons)},
                ensure_ascii=False,
            )
            return self._finish(message, ("blocked", detail), error=", ".join(verdict.rules))
        adapter = self.adapters[message.channel]
        try:
            result = adapter.send(message)
        except PermanentSendError as exc:
            rejected = ("dead", f"rejected by the channel: {exc}")
            return self._finish(message, rejected, error=str(exc))
        except TransientSendError as exc:
            return self._failed(message, str(exc))
        except Exception as exc:  # an adapter bug or an unforeseen I/O error: retry
            return self._failed(message, f"{type(exc).__name__}: {exc}")
        return self._sent(message, result)

    def _failed(self, message: OutgoingMessage, error: str) -> str:
        if message.attempt >= self.max_attempts:
            detail = f"attempt {message.attempt} of {self.max_attempts} failed: {error}"
            return self._finish(message, ("dead", detail), error=error)
        delay = backoff_delay(
            message.idempotency_key, message.attempt, self.backoff_base, self.backoff_cap
        )
        retry_at = as_utc(self.clock()) + delay
        detail = f"attempt {message.attempt} failed: {error}; retry at {retry_at.isoformat()}"
        return self._finish(message, ("failed", detail), error=error, retry_at=retry_at)

    def _sent(self, message: OutgoingMessage, result: SendResult) -> str:
        sent = ("sent", result.detail)
        if result.status != "delivered":
            return self._finish(message, sent, provider_message_id=result.provider_message_id)
        # confirmed on send: both events in the one transaction, the row left delivered
        delivered = ("delivered", "confirmed by the channel on send")
        return self._finish(
            message, sent, delivered, provider_message_id=result.provider_message_id
        )

    def _finish(
        self,
        message: OutgoingMessage,
        *steps: tuple[str, str],
        error: str | None = None,
        retry_at: datetime | None = None,
        provider_message_id: str | None = None,
        give_back_attempt: bool = False,
    ) -> str:
        """Record the claim's outcome: ``steps`` are (status, detail) events in order,
        the row left at the last status."""
        now = as_utc(self.clock())
        status = steps[-1][0]
        values: dict[str, Any] = {"status": status, "updated_at": now, "claimed_until": None}
        if error is not None:
            values["last_error"] = error
        if retry_at is not None:
            values["next_attempt_at"] = retry_at
        if provider_message_id is not None:
            values["provider_message_id"] = provider_message_id
        fence = {"outbox_id": message.outbox_id, "attempt": message.attempt}
        # One fenced UPDATE and the events' INSERT, in one transaction per message (so a
        # kill loses at most the outcome of the message in flight): the row changes only
        # if it is still ours (in ``sending`` at the attempt we claimed).
        with self.engine.begin() as connection:
            update_row = _fenced_update(tuple(values), give_back_attempt)
            if connection.execute(update_row, {**values, **fence}).rowcount != 1:
                return "lost_lease"  # someone re-claimed it: their outcome stands
            connection.execute(
                _INSERT_EVENT,
                [
                    {"outbox_id": message.outbox_id, "status": step, "at": now, "detail": detail}
                    for step, detail in steps
                ],
            )
        return "deferred" if give_back_attempt else status


_INSERT_EVENT = insert(DeliveryEvent)


@functools.cache
def _fenced_update(columns: tuple[str, ...], give_back_attempt: bool) -> Update:
    """The UPDATE of an outcome; the columns it sets come from the parameters' names
    (``columns``). Built once for each set of columns: building and compiling it for
    each message cost more than the database's own work."""
    table = OutboxMessage.__table__
    statement = update(table).where(
        table.c.id == bindparam("outbox_id"),
        table.c.status == "sending",
        table.c.attempts == bindparam("attempt"),
    )
    if give_back_attempt:
        statement = statement.values(attempts=table.c.attempts - 1)
    return statement


def _outgoing(row: OutboxMessage) -> OutgoingMessage:
    return OutgoingMessage(
        outbox_id=row.id,
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        recipient=row.recipient,
        language=row.language,
        subject=row.subject,
        body=row.body,
        attachment=row.attachment,
        attempt=row.attempts,
    )
