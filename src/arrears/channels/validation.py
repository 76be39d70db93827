"""The Regulation F validation notice (12 CFR 1006.34), laid out after Model Form B-1
(12 CFR part 1006, appendix B), as a PDF letter, and the hold that keeps every other
contact about a debt waiting until the notice is sent.

A notice is a ``Letter`` whose template is ``validation_notice``; its itemization and
dates travel in ``Letter.extra`` (``validation_extra``), so it goes through the outbox,
the letter spool and the print runs like any other letter. ``letters._set_letter``
hands such a letter to ``set_validation_notice``.

The notice says, as the model form does:

* who the debt collector is and that it is trying to collect a debt owed to the creditor;
* the itemization date (1006.34(b)(3): here the last statement date, taken as the due
  date of the first instalment missed), what was owed then, the interest, fees and
  payments or credits since, and the amount owed now (1006.34(c)(2)(vi)-(viii));
* the end of the validation period (1006.34(b)(5)): 30 days after the consumer is
  assumed to receive the notice, which is 5 days after it is sent not counting
  Saturdays, Sundays and the legal public holidays of 5 U.S.C. 6103(a);
* how to dispute the debt, how to ask for the original creditor's name and address,
  the CFPB's website, and a tear-off response form with those prompts
  (1006.34(c)(3)-(4)).

For a ``us-regf`` (or a pack extending it) workspace, ``queue_validation_notices`` sends
the notice as the first communication about each debt in collection: it places a
``validation_pending`` hold on the debt (every channel but letters) and queues the
notice; ``release_sent_notices`` lifts the hold once the notice's outbox message is
sent. Until then the gate blocks calls, texts and emails about the debt, naming
``hold.validation_pending``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fpdf.enums import Align, XPos, YPos
from sqlalchemy import select
from sqlalchemy.orm import Session

from arrears.channels.fields import format_amount, format_date, mask_account
from arrears.channels.gating import recipient_for, store_gate
from arrears.channels.letters import FONT_FAMILY, AmountLine, Letter, LetterError, _paragraph
from arrears.channels.queueing import enqueue_letter
from arrears.compliance import Attempt, RulePack
from arrears.services import audit
from arrears.store.contact_models import ContactAttempt, Hold, OutboxMessage
from arrears.store.models import CaseRow, Customer, Loan

if TYPE_CHECKING:
    from arrears.channels.letters import _LetterPdf
    from arrears.services.settings import Settings

VALIDATION_TEMPLATE = "validation_notice"
HOLD_KIND = "validation_pending"
RECEIPT_BUSINESS_DAYS = 5  # 1006.34(b)(5): assumed received 5 days after it is sent
VALIDATION_DAYS = 30
CFPB_URL = "www.cfpb.gov/debt-collection"
SEND_HOUR = 9  # local time the notice is dated and queued for (letters have no hours)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (0 = Monday) of the month; ``n`` = -1: the last."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def legal_public_holidays(year: int) -> frozenset[date]:
    """The legal public holidays of 5 U.S.C. 6103(a) in ``year`` (on their dates; a
    holiday on a weekend changes nothing here, weekends are not counted anyway)."""
    return frozenset(
        {
            date(year, 1, 1),  # New Year's Day
            _nth_weekday(year, 1, 0, 3),  # Birthday of Martin Luther King, Jr.
            _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
            _nth_weekday(year, 5, 0, -1),  # Memorial Day
            date(year, 6, 19),  # Juneteenth National Independence Day
            date(year, 7, 4),  # Independence Day
            _nth_weekday(year, 9, 0, 1),  # Labor Day
            _nth_weekday(year, 10, 0, 2),  # Columbus Day
            date(year, 11, 11),  # Veterans Day
            _nth_weekday(year, 11, 3, 4),  # Thanksgiving Day
            date(year, 12, 25),  # Christmas Day
        }
    )


def assumed_receipt(sent_on: date) -> date:
    """The day the consumer is assumed to receive a notice sent on ``sent_on``: 5 days
    later not counting Saturdays, Sundays and legal public holidays."""
    day, left = sent_on, RECEIPT_BUSINESS_DAYS
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in legal_public_holidays(day.year):
            left -= 1
    return day


def validation_end_date(sent_on: date) -> date:
    """The last day of the validation period of a notice sent on ``sent_on``."""
    return assumed_receipt(sent_on) + timedelta(days=VALIDATION_DAYS)


@dataclass(frozen=True)
class Itemization:
    """The debt's itemization (1006.34(c)(2)(vi)-(viii)): owed on ``itemization_date``,
    then interest, fees and payments or credits since; ``now`` is what is owed today."""

    itemization_date: date
    owed_then: Decimal
    interest: Decimal = Decimal("0")
    fees: Decimal = Decimal("0")
    paid: Decimal = Decimal("0")

    @property
    def now(self) -> Decimal:
        return self.owed_then + self.interest + self.fees - self.paid


def validation_extra(
    itemization: Itemization,
    sent_on: date,
    *,
    creditor: str,
    original_creditor: str | None = None,
    account_type: str = "consumer loan",
    dispute_online: str | None = None,
) -> dict[str, str]:
    """The ``Letter.extra`` of a notice (strings, as the outbox stores letters)."""
    return {
        "itemization_date": itemization.itemization_date.isoformat(),
        "owed_then": str(itemization.owed_then),
        "interest": str(itemization.interest),
        "fees": str(itemization.fees),
        "paid": str(itemization.paid),
        "validation_end_date": validation_end_date(sent_on).isoformat(),
        "creditor": creditor,
        "original_creditor": original_creditor or creditor,
        "account_type": account_type,
        "dispute_online": dispute_online or "",
    }


def _itemization_of(letter: Letter) -> tuple[Itemization, date]:
    try:
        e = letter.extra
        item = Itemization(
            date.fromisoformat(e["itemization_date"]),
            Decimal(e["owed_then"]),
            Decimal(e["interest"]),
            Decimal(e["fees"]),
            Decimal(e["paid"]),
        )
        return item, date.fromisoformat(e["validation_end_date"])
    except (KeyError, ValueError, ArithmeticError) as exc:
        raise LetterError(
            f"letter {letter.reference}: a validation notice needs its itemization and "
            f"validation end date in extra ({exc!r})"
        ) from None


def set_validation_notice(pdf: _LetterPdf, letter: Letter) -> None:
    """Set ``letter`` (template ``validation_notice``) on a new page of ``pdf`` after
    Model Form B-1. The notice is in English (1006.34(d)(3)(vi): a Spanish or other
    translation may be offered in addition)."""
    item, end = _itemization_of(letter)
    e = letter.extra
    cur = letter.currency

    def money(amount: Decimal) -> str:
        return format_amount(amount, cur, "en")

    def day(value: date) -> str:
        return format_date(value, "en")

    pdf.begin(letter)
    width = pdf.epw
    sender, address, phone = letter.sender()
    pdf.set_text_color(0)
    pdf.set_font(FONT_FAMILY, size=10)
    left = [sender, *address, f"Tel. {phone}"]
    right = [f"Reference: {letter.reference}", f"Date: {day(letter.letter_date)}"]
    top = pdf.get_y()
    for line in left:
        pdf.cell(width * 0.6, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    bottom = pdf.get_y()
    pdf.set_y(top)
    for line in right:
        pdf.set_x(pdf.l_margin + width * 0.6)
        pdf.cell(width * 0.4, 5, line, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(bottom + 4)
    for line in (letter.addressee_name, *letter.addressee_address):
        pdf.cell(width, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(5)

    pdf.set_font(FONT_FAMILY, size=10)
    _paragraph(
        pdf,
        f"{sender} is a debt collector. We are trying to collect a debt that you owe to "
        f"{e['creditor']}. We will use any information you give us to help collect the debt.",
        5.5,
        Align.L,
    )
    pdf.ln(3)
    _heading(pdf, "Our information shows:")
    _paragraph(
        pdf,
        f"You had a {e['account_type']} from {e['original_creditor']} with account number "
        f"{mask_account(letter.account)}.",
        5.5,
        Align.L,
    )
    pdf.ln(1)
    rows = [
        (f"As of {day(item.itemization_date)}, you owed:", money(item.owed_then)),
        (f"Between {day(item.itemization_date)} and today:", ""),
        ("   You were charged this amount in interest:", "+ " + money(item.interest)),
        ("   You were charged this amount in fees:", "+ " + money(item.fees)),
        ("   You paid or were credited this amount toward the debt:", "– " + money(item.paid)),
        ("Total amount of the debt now:", money(item.now)),
    ]
    for index, (label, amount) in enumerate(rows):
        last = index == len(rows) - 1
        if last:
            pdf.set_draw_color(0)
            pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.cell(width * 0.75, 6, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.cell(width * 0.25, 6, amount, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    if e.get("disclosure"):  # a state's time-barred debt notice
        _paragraph(pdf, e["disclosure"], 5.5, Align.L)
        pdf.ln(3)

    _heading(pdf, "How can you dispute the debt?")
    online = (
        f" We accept disputes electronically at {e['dispute_online']}."
        if e.get("dispute_online")
        else ""
    )
    for text in (
        f"Call or write to us by {day(end)}, to dispute all or part of the debt. If you do "
        "not, we will assume that our information is correct.",
        f"If you write to us by {day(end)}, we must stop collection on any amount you "
        "dispute until we send you information that shows you owe the debt. You may use "
        "the form below or write to us without the form. You may also include supporting "
        f"documents.{online}",
    ):
        _bullet(pdf, text)
    pdf.ln(2)
    _heading(pdf, "What else can you do?")
    for text in (
        "Write to ask for the name and address of the original creditor, if different "
        f"from the current creditor. If you write by {day(end)}, we must stop collection "
        "until we send you that information. You may use the form below or write to us "
        "without the form.",
        f"Go to {CFPB_URL} to learn more about your rights under federal law.",
        f"Contact us about your payment options: {phone}, or {letter.pay_link}.",
    ):
        _bullet(pdf, text)
    pdf.ln(3)

    # The tear-off response form.
    y = pdf.get_y()
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
    pdf.set_dash_pattern()
    pdf.ln(3)
    _heading(pdf, "How do you want to respond?")
    pdf.set_font(FONT_FAMILY, size=9.5)
    pdf.cell(width, 5, f"Mail this form to: {sender}, " + ", ".join(address),
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.cell(width, 5, f"{letter.addressee_name} · Reference {letter.reference}",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.ln(1)
    pdf.cell(width, 5, "Check all that apply:", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for text in (
        "I want to dispute the debt because I think:",
        "      This is not my debt.",
        "      The amount is wrong.",
        "      Other (please describe on reverse or attach additional information).",
        "I want you to send me the name and address of the original creditor.",
        f"I enclosed this amount: {cur} ____________",
    ):
        indent = 6 if text.startswith(" ") else 0
        pdf.set_x(pdf.l_margin + indent)
        pdf.rect(pdf.get_x(), pdf.get_y() + 1, 3, 3)
        pdf.set_x(pdf.get_x() + 5)
        pdf.cell(width - indent - 5, 5, text.strip(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _heading(pdf: _LetterPdf, text: str) -> None:
    pdf.set_font(FONT_FAMILY, size=11.5)
    pdf.set_text_color(20, 50, 100)
    pdf.cell(pdf.epw, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0)
    pdf.set_font(FONT_FAMILY, size=10)


def _bullet(pdf: _LetterPdf, text: str) -> None:
    pdf.set_x(pdf.l_margin)
    pdf.cell(5, 5.5, "•", new_x=XPos.RIGHT, new_y=YPos.TOP)
    margin = pdf.l_margin
    pdf.set_left_margin(margin + 5)
    _paragraph(pdf, text, 5.5, Align.L)
    pdf.set_left_margin(margin)
    pdf.set_x(margin)


# ---------------------------------------------------------------- sending


def requires_validation_notice(pack: RulePack) -> bool:
    """True for ``us-regf`` and the packs that extend it (they keep its rules)."""
    return any(rule_id.startswith("us-regf.") for rule_id in pack.rule_ids)


def release_sent_notices(session: Session, on: date, actor: str = "system") -> int:
    """Lift, from ``on``, each ``validation_pending`` hold whose debt's notice has been
    sent (its outbox message is sent or delivered). Audited. Returns how many."""
    sent = {
        loan_id
        for (loan_id,) in session.execute(
            select(ContactAttempt.loan_id)
            .join(OutboxMessage, OutboxMessage.contact_attempt_id == ContactAttempt.id)
            .where(
                ContactAttempt.template == VALIDATION_TEMPLATE,
                OutboxMessage.status.in_(("sent", "delivered")),
            )
        )
    }
    released = 0
    for hold in session.scalars(
        select(Hold).where(Hold.kind == HOLD_KIND, Hold.released_on.is_(None))
    ):
        if hold.loan_id in sent:
            hold.released_on = max(on, hold.placed_on)
            released += 1
            payload = {"kind": HOLD_KIND, "loan_id": hold.loan_id, "why": "notice sent"}
            audit.append(session, actor, "hold.release", "hold", hold.id, payload)
    session.flush()
    return released


def _send_moment(send_on: date, zone: str | None) -> datetime:
    try:
        tz = ZoneInfo(zone) if zone else ZoneInfo("America/New_York")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("America/New_York")
    return datetime.combine(send_on, time(SEND_HOUR), tz).astimezone(UTC)


def queue_validation_notices(
    session: Session,
    settings: Settings,
    pack: RulePack,
    as_of: date,
    balances: Callable[[list[str]], Mapping[str, Mapping[str, Decimal]]],
) -> int:
    """For each debt with an open case that has had no validation notice sent or
    queued: hold every contact about it but letters (``validation_pending``, from
    ``as_of``) and queue the notice for the next day through the gate. ``balances``
    gives each loan's overdue components (as the close's snapshot has them). Does
    nothing unless ``pack`` is us-regf or extends it. Returns the notices queued."""
    if not requires_validation_notice(pack):
        return 0
    release_sent_notices(session, as_of)
    noticed = select(ContactAttempt.loan_id).where(
        ContactAttempt.template == VALIDATION_TEMPLATE, ContactAttempt.allowed.is_(True)
    )
    cases = list(
        session.execute(
            select(CaseRow.loan_id, CaseRow.customer_id, CaseRow.dpd)
            .where(CaseRow.status == "open", CaseRow.loan_id.not_in(noticed))
            .order_by(CaseRow.loan_id)
        )
    )
    if not cases:
        return 0
    held = set(
        session.scalars(
            select(Hold.loan_id).where(Hold.kind == HOLD_KIND, Hold.released_on.is_(None))
        )
    )
    loan_ids = [loan_id for loan_id, _, _ in cases]
    amounts = balances(loan_ids)
    customers = {
        c.customer_id: c
        for c in session.scalars(
            select(Customer).where(Customer.customer_id.in_({c for _, c, _ in cases}))
        )
    }
    loans = {
        loan.loan_id: loan
        for loan in session.scalars(select(Loan).where(Loan.loan_id.in_(loan_ids)))
    }
    send_on = as_of + timedelta(days=1)
    gate = store_gate(session, pack, sorted(customers), _send_moment(send_on, None))
    queued = 0
    for loan_id, customer_id, dpd in cases:
        customer, loan = customers[customer_id], loans[loan_id]
        if loan_id not in held:
            hold = Hold(customer_id=customer_id, loan_id=loan_id, kind=HOLD_KIND, channel=None,
                        reason="Reg F 1006.34: validation notice not yet sent",
                        placed_on=as_of, placed_by="system")  # fmt: skip
            session.add(hold)
            session.flush()
            audit.append(session, "system", "hold.place", "hold", hold.id,
                         {"kind": HOLD_KIND, "loan_id": loan_id})  # fmt: skip
        address = recipient_for(customer, "letter")
        at = _send_moment(send_on, customer.time_zone)
        attempt_id = f"{as_of.isoformat()}:validation:{loan_id}"
        verdict = gate.check(
            Attempt(attempt_id, customer_id, loan_id, "letter", at, customer.time_zone),
            recipient=address,
        )
        allowed = verdict.allowed and address is not None
        rules = list(verdict.rules) if address is not None else ["no_recipient"]
        row = ContactAttempt(
            attempt_id=attempt_id, customer_id=customer_id, loan_id=loan_id, channel="letter",
            party="debtor", at=at, source="system", template=VALIDATION_TEMPLATE,
            allowed=allowed, blocked_rules=json.dumps(rules),
            reason="; ".join(verdict.reasons) if address else "no postal address on file",
        )  # fmt: skip
        session.add(row)
        session.flush()
        if not allowed:
            continue
        # the last statement date: the due date of the first instalment missed
        item = itemization_of(amounts.get(loan_id, {}), as_of - timedelta(days=dpd))
        lender = settings.lender_for(loan.product_code)
        letter = lender.letter(
            "en", template=VALIDATION_TEMPLATE, reference=f"VN-{loan_id}", letter_date=send_on,
            addressee_name=customer.name,
            addressee_address=tuple((customer.address or "").splitlines()),
            loan_id=loan_id, currency=loan.currency, amounts=_lines(item),
            due_date=item.itemization_date,
        )  # fmt: skip
        creditor = letter.institution_name
        letter = _with_extra(letter, validation_extra(item, send_on, creditor=creditor))
        enqueue_letter(session, row, letter, address or "")
        queued += 1
    return queued


def itemization_of(balance: Mapping[str, Decimal], itemization_date: date) -> Itemization:
    """The itemization of a debt from the close's overdue components: owed on the
    itemization date the principal and interest then due; interest (penalty, compound)
    and fees charged since; payments since are already netted out of the components."""
    zero = Decimal("0")
    return Itemization(
        itemization_date,
        balance.get("overdue_principal", zero) + balance.get("overdue_interest", zero),
        balance.get("penalty", zero) + balance.get("compound", zero),
        balance.get("fee", zero),
    )


def _lines(item: Itemization) -> tuple[AmountLine, ...]:
    return (
        AmountLine(f"Owed as of {item.itemization_date.isoformat()}", item.owed_then),
        AmountLine("Interest since", item.interest),
        AmountLine("Fees since", item.fees),
        AmountLine("Paid or credited since", -item.paid),
    )


def _with_extra(letter: Letter, extra: dict[str, str]) -> Letter:
    return replace(letter, extra={**letter.extra, **extra})
