"""Sample letters and merge fields in each language, for previews, the eye check of
the PDF and the tests: a made-up debtor of the workspace's lender (the fictional
default lender unless one is given)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from arrears.channels.fields import LANGUAGES, MergeFields
from arrears.channels.letters import AmountLine, Letter, LetterError

if TYPE_CHECKING:
    from arrears.services.settings import Institution

SAMPLE_ACCOUNT = "6222020012341234"
SAMPLE_REFERENCE = "ARR-2026-000123"
SAMPLE_DUE_DATE = date(2026, 11, 15)


def _lender(lender: Institution | None) -> Institution:
    from arrears.services.settings import Institution

    return lender or Institution()


def _check(language: str, what: str) -> None:
    if language not in LANGUAGES:
        raise LetterError(f"sample {what}: language must be one of {', '.join(LANGUAGES)}")


def sample_letter(
    language: str, template: str = "demand_letter", lender: Institution | None = None
) -> Letter:
    """A realistic, made-up letter in ``language`` (zh_CN or en) for ``template``; the
    lawyer letter comes from ``lender``'s law firm."""
    _check(language, "letter")
    zh = language == "zh_CN"
    return _lender(lender).letter(
        language,
        template=template,
        reference=SAMPLE_REFERENCE,
        letter_date=date(2026, 12, 1),
        addressee_name="张三" if zh else "Jane Smith",
        addressee_address=("北京市朝阳区建国路88号", "3单元1201室", "100022")
        if zh
        else ("12 Elm Street", "Springfield, IL 62704"),
        loan_id=SAMPLE_ACCOUNT,
        currency="CNY",
        amounts=(
            AmountLine("逾期本金" if zh else "Overdue principal", Decimal("1200.00")),
            AmountLine("利息" if zh else "Interest", Decimal("34.50")),
            AmountLine("罚息" if zh else "Penalty interest", Decimal("12.06")),
        ),
        due_date=SAMPLE_DUE_DATE,
        from_law_firm=template == "lawyer_letter",
    )


def sample_merge_fields(language: str, lender: Institution | None = None) -> MergeFields:
    """Made-up merge fields of a message in ``language`` from ``lender``: every
    documented field is present."""
    _check(language, "merge fields")
    return _lender(lender).merge_fields(
        language,
        customer_name="张三" if language == "zh_CN" else "Jane Smith",
        loan_id=SAMPLE_ACCOUNT,
        amount_due=Decimal("1246.56"),
        currency="CNY",
        due_date=SAMPLE_DUE_DATE,
        reference=SAMPLE_REFERENCE,
    )
