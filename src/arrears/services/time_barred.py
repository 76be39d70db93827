"""Time-barred debts in the day's treatments (``arrears.compliance.limitation`` has the
rules): which open debts are past their limitation period, the legal steps the strategy
may not take on them, and their queued messages: one that mentions suit is not sent,
the others carry the state's disclosure (California, New York)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from arrears.channels.letters import Letter
from arrears.channels.templates import TemplateError, get_template
from arrears.compliance import RulePack
from arrears.compliance.limitation import (
    SUIT_RULE,
    Limitation,
    barred_from,
    disclosure,
    is_time_barred,
    state_of,
    suit_findings,
)
from arrears.store.contact_models import ContactAttempt, OutboxMessage
from arrears.store.models import CaseRow, Customer, Loan

if TYPE_CHECKING:
    from arrears.services.settings import Settings

# Strategy steps that take (or threaten) legal action.
LEGAL_STEPS = frozenset({"lawyer_letter", "litigation"})
NOT_DONE = "legal: time-barred debt"


@dataclass(frozen=True)
class BarredDebt:
    """An open debt past its limitation period on the day asked."""

    loan_id: str
    customer_id: str
    state: str | None
    product: str
    limitation: Limitation
    defaulted_on: date

    @property
    def barred_from(self) -> date:
        return barred_from(self.defaulted_on, self.limitation)


def time_barred_debts(
    session: Session, pack: RulePack, on: date, loan_ids: Collection[str] | None = None
) -> dict[str, BarredDebt]:
    """The debts with an open case (among ``loan_ids`` when given) that are time-barred
    on ``on`` under ``pack``'s periods (none when the pack has no ``[limitation]``). A
    debt defaulted on its first missed due date (``on`` minus the case's days past
    due)."""
    table = pack.limitation
    if table is None:
        return {}
    found: dict[str, BarredDebt] = {}
    rows = session.execute(
        select(
            CaseRow.loan_id, CaseRow.customer_id, CaseRow.dpd, Loan.product_code, Customer.address
        )
        .join(Loan, Loan.loan_id == CaseRow.loan_id)
        .join(Customer, Customer.customer_id == CaseRow.customer_id)
        .where(CaseRow.status == "open")
        .where(CaseRow.loan_id.in_(list(loan_ids)) if loan_ids is not None else true())
    )
    for loan_id, customer_id, dpd, product, address in rows:
        state = state_of(address)
        limitation = table.period(state=state, product=product)
        defaulted_on = on - timedelta(days=dpd)
        if limitation is not None and is_time_barred(defaulted_on, on, limitation):
            found[loan_id] = BarredDebt(
                loan_id, customer_id, state, product, limitation, defaulted_on
            )
    return found


def drop_legal_steps(
    actions: Iterable[dict[str, Any]], barred: dict[str, BarredDebt], not_done: Counter[str]
) -> list[dict[str, Any]]:
    """``actions`` without the legal steps on time-barred debts (each counted in
    ``not_done``): no suit, no lawyer letter on a debt that cannot be sued on."""
    kept = []
    for action in actions:
        if action["channel"] in LEGAL_STEPS and action["loan_id"] in barred:
            not_done[NOT_DONE] += 1
            continue
        kept.append(action)
    return kept


def apply_to_queued(
    session: Session,
    settings: Settings,
    barred: dict[str, BarredDebt],
    on: date,
    not_done: Counter[str],
) -> None:
    """The queued texts, emails, pushes and letters about time-barred debts: one that
    mentions suit is blocked (``time_barred.suit``, its contact no longer counted), the
    others get the state's disclosure (once)."""
    if not barred:
        return
    rows = session.execute(
        select(OutboxMessage, ContactAttempt)
        .join(ContactAttempt, ContactAttempt.id == OutboxMessage.contact_attempt_id)
        .where(
            OutboxMessage.status == "queued",
            OutboxMessage.channel.in_(("sms", "email", "push", "letter")),
            ContactAttempt.loan_id.in_(sorted(barred)),
        )
    )
    for message, attempt in rows:
        debt = barred[str(attempt.loan_id)]
        collector = settings.lender_for(debt.product).voice("en").legal_name
        text = disclosure(debt.state, collector=collector, defaulted_on=debt.defaulted_on, on=on)
        if text is not None and text in message.body:
            continue  # seen already (the disclosure itself speaks of suit)
        letter = Letter.from_json(message.body) if message.channel == "letter" else None
        findings = suit_findings(_text(session, message, letter), message.language)
        if findings:
            why = f"{SUIT_RULE}: {findings[0].message}; says {findings[0].phrase!r}"
            message.status, message.last_error = "blocked", why
            attempt.allowed, attempt.reason = False, why
            attempt.blocked_rules = json.dumps([SUIT_RULE])
            not_done[f"message: {SUIT_RULE}"] += 1
        elif text is None:
            continue
        elif letter is not None:
            extra = {**letter.extra, "disclosure": text}
            message.body = replace(letter, extra=extra).to_json()
        elif message.channel == "email":
            message.body += f"\n<p>{text}</p>"
        else:
            message.body += f"\n{text}"
    session.flush()


# What the collector is told before a call script's disclosure, in the script's language
# (the disclosure is the state's English wording).
SCRIPT_LEAD = {
    "zh_CN": "（该债务已过诉讼时效：须向债务人宣读下列州法规定的告知，不得提及起诉。）",
    "en": "(This debt is time-barred: read the debtor this disclosure the state requires;"
    " do not mention suit.)",
}


def script_disclosure(
    session: Session, settings: Settings, loan_id: str, on: date, language: str
) -> str | None:
    """What a call script (话术) about ``loan_id`` must add on ``on`` when the debt is
    time-barred under the workspace's pack and its state prescribes a disclosure
    (California, New York): a lead for the collector in ``language`` and the state's
    text, as the texts, emails and letters carry it (None otherwise)."""
    from arrears.compliance import load_pack

    debt = time_barred_debts(session, load_pack(settings.compliance_pack), on, [loan_id])
    barred = debt.get(loan_id)
    if barred is None:
        return None
    collector = settings.lender_for(barred.product).voice("en").legal_name
    text = disclosure(barred.state, collector=collector, defaulted_on=barred.defaulted_on, on=on)
    if text is None:
        return None
    return f"{SCRIPT_LEAD.get(language, SCRIPT_LEAD['en'])}\n{text}"


def _text(session: Session, message: OutboxMessage, letter: Letter | None) -> str:
    """What the debtor will read: the message, or a letter's template."""
    if letter is None:
        return f"{message.subject or ''}\n{message.body}"
    try:
        template = get_template(session, letter.template, letter.language)
    except TemplateError:
        return ""  # the validation notice has its own fixed wording
    return f"{template.subject or ''}\n{template.body}"
