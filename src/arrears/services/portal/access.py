"""Who is at the portal: opening a personal link, proving who one is, portal sessions.

1. ``open_link``: a token that unseals (``links``), is not expired and was not replaced
   by a newer verified link starts a portal session (a random cookie token, its CSRF
   token), showing nothing personal yet. Every opening is audited (``portal.visit``).
2. ``check_identity``: the date of birth (from the 身份证 number on file) or the last
   four characters of the ID number.
3. ``send_code``: a six-digit one-time code to the mobile or email on file, as an outbox
   message (a ``system`` contact) sent at once through the workspace's SMS/email adapter
   (``deliver_now``).
4. ``check_code``: the right code, within its minutes and tries, verifies the session:
   the cookie token is replaced (no fixation), the code is spent, and older links of the
   loan are revoked (links rotate: the newest verified one stands).

Throttles (``Limits``), counted in ``portal_failures`` so they hold across processes:
wrong answers per link (identity and code together) and per browser address within
``window``; unknown tokens per address; codes sent per session and per link. A refusal
is a ``TooMany`` with the seconds to wait. Sessions end after ``idle`` without a
request or ``absolute`` after they began (unverified ones after ``unverified``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from arrears.services import audit
from arrears.services.portal.links import (
    decode_link_token,
    decode_short_code,
    load_keys,
    token_digest,
    unseal,
)
from arrears.services.workbench.access import Actor
from arrears.services.workbench.errors import Conflict, Invalid, NotFound, TooMany
from arrears.store.contact_models import ContactAttempt
from arrears.store.models import CaseRow, Customer, Loan
from arrears.store.portal_models import PortalFailure, PortalLink, PortalSession

# the services of the workbench act for the portal as this actor; the portal itself
# keeps every action inside the verified session's loan (it never takes an id)
PORTAL_ACTOR = Actor(0, "portal", "admin")
CODE_CHANNELS = ("sms", "email")


@dataclass(frozen=True)
class Limits:
    """The portal's throttles and timeouts (see the module docstring)."""

    window: timedelta = timedelta(hours=1)
    link_failures: int = 5  # wrong identity answers and codes per link per window
    address_failures: int = 20  # wrong answers and unknown tokens per address
    codes_per_session: int = 3
    codes_per_link: int = 5  # per window
    code_tries: int = 5  # per code
    code_life: timedelta = timedelta(minutes=10)
    unverified: timedelta = timedelta(minutes=30)
    idle: timedelta = timedelta(minutes=15)
    absolute: timedelta = timedelta(hours=2)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _fail(session: Session, kind: str, address: str, link_id: int | None, now: datetime) -> None:
    session.add(PortalFailure(kind=kind, address=address[:64], link_id=link_id, at=now))
    session.flush()


def _count(session: Session, now: datetime, limits: Limits, *where: object) -> int:
    since = now - limits.window
    return session.scalar(
        select(func.count()).select_from(PortalFailure).where(PortalFailure.at > since, *where)
    )


def _retry(session: Session, now: datetime, limits: Limits, *where: object) -> int:
    oldest = session.scalar(
        select(func.min(PortalFailure.at)).where(PortalFailure.at > now - limits.window, *where)
    )
    if oldest is None:
        return 1
    return max(1, int((_aware(oldest) + limits.window - now).total_seconds()) + 1)


def check_address(session: Session, address: str, now: datetime, limits: Limits) -> None:
    """TooMany when ``address`` has given too many wrong answers within the window."""
    where = (
        PortalFailure.address == address[:64],
        PortalFailure.kind.in_(("token", "identity", "code")),
    )
    if _count(session, now, limits, *where) >= limits.address_failures:
        raise TooMany(
            "too many wrong answers from this address", _retry(session, now, limits, *where)
        )


def _one_at_a_time(session: Session, portal: PortalSession) -> None:
    """Judge one answer of a link at a time: lock its row (PostgreSQL; SQLite has one
    writer already), then read the session afresh, so answers sent at once cannot all
    pass the throttle's count before any of them is written."""
    session.execute(select(PortalLink.id).where(PortalLink.id == portal.link_id).with_for_update())
    session.refresh(portal)


def _check_link(session: Session, link_id: int, now: datetime, limits: Limits) -> None:
    where = (PortalFailure.link_id == link_id, PortalFailure.kind.in_(("identity", "code")))
    if _count(session, now, limits, *where) >= limits.link_failures:
        raise TooMany("too many wrong answers for this link", _retry(session, now, limits, *where))


@dataclass(frozen=True)
class Opened:
    """A new portal session: its row and the cookie token (given to the browser only)."""

    portal: PortalSession
    cookie: str


def open_link(
    session: Session,
    root: Path | None,
    token: str,
    *,
    address: str,
    now: datetime,
    today: date,
    link_days: int,
    language: str,
    short_code: bool = False,
    limits: Limits = Limits(),
) -> Opened:
    """Start a portal session from a link's token (``short_code``: as typed from a
    letter). NotFound for a token that is not one of ours (the same answer for a forged
    one and for a loan that does not exist), Conflict ``link_expired`` or
    ``link_replaced``; TooMany after too many unknown tokens from ``address``."""
    audit.begin_write(session)
    now = _aware(now)
    check_address(session, address, now, limits)
    raw = decode_short_code(token) if short_code else decode_link_token(token)
    claim = unseal(load_keys(root), raw) if raw is not None else None
    loan = session.get(Loan, claim.loan_id) if claim is not None else None
    if raw is None or claim is None or loan is None:
        _fail(session, "token", address, None, now)
        session.commit()  # the failure counts even though the request is refused
        raise NotFound("no such link", "portal_no_link")
    expires_on = claim.issued_on + timedelta(days=link_days)
    if claim.issued_on > today + timedelta(days=1) or expires_on < today:
        raise Conflict("this link has expired", "portal_link_expired")
    digest = token_digest(raw)
    link = session.scalar(select(PortalLink).where(PortalLink.token_digest == digest))
    if link is None:
        link = PortalLink(
            token_digest=digest,
            loan_id=loan.loan_id,
            customer_id=loan.customer_id,
            issued_on=claim.issued_on,
            expires_on=expires_on,
            first_seen_at=now,
            last_seen_at=now,
            visits=0,
        )
        session.add(link)
        session.flush()
    if link.revoked_at is not None:
        raise Conflict("a newer link replaced this one", "portal_link_replaced")
    link.visits += 1
    link.last_seen_at = now
    cookie = secrets.token_urlsafe(32)
    portal = PortalSession(
        token_digest=_digest(cookie),
        csrf_token=secrets.token_urlsafe(32),
        link_id=link.id,
        customer_id=loan.customer_id,
        loan_id=loan.loan_id,
        language=language,
        identity_ok=False,
        code_tries=0,
        codes_sent=0,
        created_at=now,
        last_seen_at=now,
        expires_at=now + limits.unverified,
    )
    session.add(portal)
    session.flush()
    audit.append(
        session,
        "portal",
        "portal.visit",
        "portal_link",
        link.id,
        {"loan_id": loan.loan_id, "session": portal.id, "address": address},
        at=now,
    )
    return Opened(portal, cookie)


def current(
    session: Session, cookie: str | None, now: datetime, limits: Limits = Limits()
) -> PortalSession | None:
    """The live portal session of ``cookie``, or None (unknown, ended, idle too long,
    past its end). The caller moves ``last_seen_at`` on when it writes."""
    if not cookie or len(cookie) > 100:
        return None
    portal = session.scalar(
        select(PortalSession).where(PortalSession.token_digest == _digest(cookie))
    )
    now = _aware(now)
    if portal is None or portal.ended_at is not None or _aware(portal.expires_at) <= now:
        return None
    if portal.verified_at is not None and _aware(portal.last_seen_at) + limits.idle <= now:
        return None
    return portal


def touch(session: Session, portal: PortalSession, now: datetime) -> None:
    """Note a request of the session (its idle deadline moves on)."""
    session.execute(
        update(PortalSession).where(PortalSession.id == portal.id).values(last_seen_at=now)
    )


def _birth_date(id_number: str) -> date | None:
    digits = id_number.strip()
    if len(digits) != 18 or not digits[:17].isdigit():
        return None
    try:
        return date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return None


def _id_tail(id_number: str) -> str:
    return id_number.strip().upper()[-4:]


def _wrong(session: Session, portal: PortalSession, kind: str, address: str, now: datetime) -> None:
    _fail(session, kind, address, portal.link_id, now)
    audit.append(
        session,
        "portal",
        f"portal.{kind}_failed",
        "portal_session",
        portal.id,
        {"address": address},
        at=now,
    )
    session.commit()  # the failure counts even though the answer is refused


def check_identity(
    session: Session,
    portal: PortalSession,
    *,
    birth_date: date | None,
    id_last4: str,
    address: str,
    now: datetime,
    limits: Limits = Limits(),
) -> None:
    """Accept the debtor's date of birth or the last four characters of their ID
    number (either; one given must match). Invalid ``portal_identity_wrong`` when it
    does not, TooMany when the link or address has had too many wrong answers."""
    audit.begin_write(session)
    _one_at_a_time(session, portal)
    now = _aware(now)
    check_address(session, address, now, limits)
    _check_link(session, portal.link_id, now, limits)
    customer = session.get(Customer, portal.customer_id)
    assert customer is not None
    id_number = customer.id_number or ""
    tail = id_last4.strip().upper()
    ok = False
    if birth_date is not None:
        ok = _birth_date(id_number) == birth_date
    elif tail:
        ok = (
            len(tail) == 4
            and len(id_number) >= 4
            and hmac.compare_digest(tail.encode(), _id_tail(id_number).encode())
        )
    if not ok:
        _wrong(session, portal, "identity", address, now)
        raise Invalid("those details do not match ours", "portal_identity_wrong")
    portal.identity_ok = True
    audit.append(session, "portal", "portal.identity_ok", "portal_session", portal.id, {}, at=now)


@dataclass(frozen=True)
class CodeSent:
    """A one-time code queued: the outbox row to send now, and where it went (masked)."""

    outbox_id: int
    channel: str
    masked: str


def masked_recipient(channel: str, value: str) -> str:
    """A phone as ``138****5678``, an email as ``z***@example.com``."""
    if channel == "email":
        name, _, domain = value.partition("@")
        return f"{name[:1]}***@{domain}"
    digits = value.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****" + digits[-2:]


CODE_TEXT = {
    ("sms", "zh_CN"): "【{brand}】您的验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。",
    ("sms", "en"): "{brand}: your verification code is {code}. It expires in {minutes} minutes. "
    "Never share it.",
    ("email", "zh_CN"): "您的验证码是 {code}，{minutes} 分钟内有效。如非本人操作，请忽略本邮件。",
    ("email", "en"): "Your verification code is {code}. It expires in {minutes} minutes. "
    "If you did not ask for it, ignore this email.",
}
CODE_SUBJECT = {"zh_CN": "{brand} 验证码", "en": "{brand} verification code"}


def send_code(
    session: Session,
    portal: PortalSession,
    channel: str,
    *,
    brand: str,
    now: datetime,
    limits: Limits = Limits(),
) -> CodeSent:
    """Make a new one-time code for a session whose identity answer was right and queue
    it to the customer's mobile (``sms``) or email on file. The code replaces any
    earlier one of the session. The caller commits, then sends (``deliver_now``)."""
    from arrears.channels.outbox import enqueue

    audit.begin_write(session)
    _one_at_a_time(session, portal)
    now = _aware(now)
    if not portal.identity_ok:
        raise Conflict("answer the identity question first", "portal_identity_first")
    if channel not in CODE_CHANNELS:
        raise Invalid("channel: sms or email", "one_of", field="channel")
    customer = session.get(Customer, portal.customer_id)
    assert customer is not None
    recipient = (customer.mobile if channel == "sms" else customer.email) or ""
    if not recipient.strip():
        raise Invalid(f"no {channel} on file", "portal_no_recipient", channel=channel)
    sent_for_link = _count(
        session,
        now,
        limits,
        PortalFailure.link_id == portal.link_id,
        PortalFailure.kind == "code_sent",
    )
    if portal.codes_sent >= limits.codes_per_session or sent_for_link >= limits.codes_per_link:
        raise TooMany(
            "too many codes sent; wait before asking again", int(limits.window.total_seconds())
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    portal.code_digest = _digest(f"{portal.id}:{code}")
    portal.code_channel = channel
    portal.code_expires_at = now + limits.code_life
    portal.code_tries = 0
    portal.codes_sent += 1
    _fail(session, "code_sent", "-", portal.link_id, now)
    case_id = session.scalar(
        select(CaseRow.id).where(CaseRow.loan_id == portal.loan_id).order_by(CaseRow.id.desc())
    )
    attempt = ContactAttempt(
        attempt_id=f"portal-code-{portal.id}-{portal.codes_sent}",
        customer_id=portal.customer_id,
        loan_id=portal.loan_id,
        case_id=case_id,
        channel=channel,
        party="debtor",
        at=now,
        source="system",
        template="portal_code",
        allowed=True,
        reason="one-time code the debtor asked for in the portal",
        actor="portal",
    )
    session.add(attempt)
    session.flush()
    language = portal.language if portal.language in ("zh_CN", "en") else "zh_CN"
    minutes = int(limits.code_life.total_seconds() // 60)
    message = enqueue(
        session,
        contact_attempt_id=attempt.id,
        channel=channel,
        recipient=recipient,
        language=language,
        subject=CODE_SUBJECT[language].format(brand=brand) if channel == "email" else None,
        body=CODE_TEXT[(channel, language)].format(brand=brand, code=code, minutes=minutes),
        idempotency_key=f"{attempt.attempt_id}:{channel}",
        at=now,
    )
    audit.append(
        session,
        "portal",
        "portal.code_sent",
        "portal_session",
        portal.id,
        {"channel": channel, "outbox_id": message.id},
        at=now,
    )
    return CodeSent(message.id, channel, masked_recipient(channel, recipient))


@dataclass(frozen=True)
class Verified:
    """The session is verified; the browser gets ``cookie`` instead of the old one."""

    portal: PortalSession
    cookie: str


def check_code(
    session: Session,
    portal: PortalSession,
    code: str,
    *,
    address: str,
    now: datetime,
    limits: Limits = Limits(),
) -> Verified:
    """Verify the session with its one-time code: Invalid ``portal_code_wrong`` or
    ``portal_code_expired`` (no code, spent, or too old), Conflict
    ``portal_link_replaced`` (a newer link was verified meanwhile), TooMany after too many wrong
    codes for the link or address (the code is then spent too)."""
    audit.begin_write(session)
    _one_at_a_time(session, portal)
    now = _aware(now)
    check_address(session, address, now, limits)
    _check_link(session, portal.link_id, now, limits)
    link = session.get(PortalLink, portal.link_id)
    assert link is not None
    if link.revoked_at is not None:  # replaced while this session was answering
        raise Conflict("a newer link replaced this one", "portal_link_replaced")
    if (
        portal.code_digest is None
        or portal.code_expires_at is None
        or _aware(portal.code_expires_at) <= now
    ):
        raise Invalid("the code has expired or was used; ask for a new one", "portal_code_expired")
    given = _digest(f"{portal.id}:{code.strip()}")
    if not hmac.compare_digest(given, portal.code_digest):
        portal.code_tries += 1
        if portal.code_tries >= limits.code_tries:
            portal.code_digest = None
        _wrong(session, portal, "code", address, now)
        raise Invalid("that code is not right", "portal_code_wrong")
    cookie = secrets.token_urlsafe(32)
    portal.code_digest = None
    portal.token_digest = _digest(cookie)
    portal.csrf_token = secrets.token_urlsafe(32)
    portal.verified_at = now
    portal.last_seen_at = now
    portal.expires_at = now + limits.absolute
    revoked = session.execute(
        update(PortalLink)
        .where(
            PortalLink.loan_id == link.loan_id,
            PortalLink.issued_on < link.issued_on,
            PortalLink.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    ).rowcount
    audit.append(
        session,
        "portal",
        "portal.verified",
        "portal_session",
        portal.id,
        {"loan_id": portal.loan_id, "channel": portal.code_channel, "links_revoked": revoked},
        at=now,
    )
    return Verified(portal, cookie)


def end(session: Session, portal: PortalSession, now: datetime) -> None:
    """Sign the session out (audited)."""
    portal.ended_at = _aware(now)
    audit.append(session, "portal", "portal.sign_out", "portal_session", portal.id, {}, at=now)


ENV_SMS_GATEWAY = "ARREARS_PORTAL_SMS_GATEWAY"
ENV_SMTP = "ARREARS_PORTAL_SMTP"


def code_adapters() -> dict[str, Any]:
    """The channels the served app sends one-time codes through: the SMS gateway at
    ``$ARREARS_PORTAL_SMS_GATEWAY`` and the SMTP server ``$ARREARS_PORTAL_SMTP``
    (``host`` or ``host:port``) when set, else the workspace's spool (as ``arrears outbox
    dispatch`` without ``--gateway`` / ``--smtp-host``)."""
    from arrears.channels.adapters.http_gateway import HttpGatewayAdapter
    from arrears.channels.adapters.smtp import SmtpAdapter

    out: dict[str, Any] = {}
    gateway = os.environ.get(ENV_SMS_GATEWAY)
    if gateway:
        out["gateway"] = HttpGatewayAdapter(gateway)
    smtp = os.environ.get(ENV_SMTP)
    if smtp:
        host, _, port = smtp.partition(":")
        out["smtp"] = SmtpAdapter(host, int(port) if port.isdigit() else 25)
    return out


def deliver_now(engine: Engine, root: Path, outbox_id: int) -> str:
    """Send the one outbox message ``outbox_id`` (a one-time code) through the
    workspace's adapters now, recording its events as the dispatcher does; returns the
    outcome (``sent``, ``failed`` …). Not re-checked by the gate: the debtor asked for
    it this minute, and it is not a collection contact."""
    from arrears.channels.dispatcher import Dispatcher
    from arrears.channels.service import workspace_adapters

    class _One(Dispatcher):
        def _claim(self, limit: int):  # type: ignore[no-untyped-def]
            from arrears.channels.dispatcher import _outgoing
            from arrears.channels.outbox import as_utc, record_event
            from arrears.store.contact_models import OutboxMessage

            now = as_utc(self.clock())
            with Session(self.engine) as s, s.begin():
                row = s.get(OutboxMessage, outbox_id, with_for_update=True)
                if row is None or row.status != "queued":
                    return []
                row.attempts += 1
                row.claimed_until = now + self.lease
                record_event(s, row, "sending", now, f"attempt {row.attempts} (portal code)")
                return [(_outgoing(row), now + self.lease)]

    report = _One(engine, workspace_adapters(root, **code_adapters())).run_once(1)
    return next(iter(report.outcomes), "not_sent")
