"""Turning an allowed contact into its outbox message, in the caller's transaction:
render the template (or serialise the letter / call task) and ``enqueue`` it with the
idempotency key ``<attempt_id>:<channel>``, so one decision is one message, due at the
moment the contact was decided for (``attempt.at``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from arrears.channels.adapters.dialer import CallTask
from arrears.channels.fields import MergeFields
from arrears.channels.letters import Letter
from arrears.channels.outbox import OutboxBatch, OutboxError, enqueue
from arrears.channels.templates import Template, render
from arrears.store.contact_models import ContactAttempt, OutboxMessage


def idempotency_key_for(attempt: ContactAttempt) -> str:
    """The outbox key of the message of ``attempt``: stable across re-runs of a day."""
    return f"{attempt.attempt_id}:{attempt.channel}"


def _check(attempt: ContactAttempt, channel: str) -> None:
    if not attempt.allowed:
        raise OutboxError(f"contact {attempt.attempt_id} was blocked: it gets no message")
    if attempt.id is None:
        raise OutboxError(f"contact {attempt.attempt_id} is not flushed yet (no id)")
    if attempt.channel != channel:
        raise OutboxError(
            f"contact {attempt.attempt_id} is by {attempt.channel}, the message by {channel}"
        )


def enqueue_message(
    into: Session | OutboxBatch,
    attempt: ContactAttempt,
    template: Template,
    merge: MergeFields,
    recipient: str,
) -> OutboxMessage:
    """Render ``template`` with ``merge`` and queue it for the allowed ``attempt``
    (SMS, email, push). A missing merge field raises before anything is queued."""
    _check(attempt, template.channel)
    message = render(template, merge)
    return _queue(
        into,
        contact_attempt_id=attempt.id,
        channel=template.channel,
        recipient=recipient,
        language=template.language,
        subject=message.subject,
        body=message.body,
        idempotency_key=idempotency_key_for(attempt),
        not_before=attempt.at,
    )


def enqueue_letter(
    into: Session | OutboxBatch, attempt: ContactAttempt, letter: Letter, address: str
) -> OutboxMessage:
    """Queue ``letter`` for the allowed ``attempt``; the letter spool renders the PDF."""
    _check(attempt, "letter")
    return _queue(
        into,
        contact_attempt_id=attempt.id,
        channel="letter",
        recipient=address,
        language=letter.language,
        subject=letter.reference,
        body=letter.to_json(),
        idempotency_key=idempotency_key_for(attempt),
        not_before=attempt.at,
    )


def enqueue_call(
    into: Session | OutboxBatch, attempt: ContactAttempt, task: CallTask, phone: str, language: str
) -> OutboxMessage:
    """Queue a call for the allowed ``attempt``; ``export_dialer_list`` lists it."""
    _check(attempt, "call")
    return _queue(
        into,
        contact_attempt_id=attempt.id,
        channel="call",
        recipient=phone,
        language=language,
        subject=task.script,
        body=task.to_json(),
        idempotency_key=idempotency_key_for(attempt),
        not_before=attempt.at,
    )


def _queue(into: Session | OutboxBatch, **fields: Any) -> OutboxMessage:
    """Into ``into``'s batch (written at its flush), or, given a session, at once."""
    return into.add(**fields) if isinstance(into, OutboxBatch) else enqueue(into, **fields)
