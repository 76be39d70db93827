"""Merge fields of a message: the typed values a template may use, and how each is
written in the message's language (masked account, money with currency, dates)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

from arrears.domain.money import quantize

LANGUAGES = ("zh_CN", "en")
CURRENCY_SIGNS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "HKD": "HK$"}
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


class FieldError(ValueError):
    """A merge field value that cannot be written (wrong type, bad language)."""


def mask_account(account: str, visible: int = 4) -> str:
    """``account`` with all but its last ``visible`` characters hidden: ``****1234``.
    An account of ``visible`` characters or fewer is fully masked."""
    digits = account.strip()
    if len(digits) <= visible:
        return "*" * 4
    return "****" + digits[-visible:]


def format_amount(amount: Decimal, currency: str, language: str) -> str:
    """``amount`` quantized to the currency's minor unit, with thousands separators and
    the currency written the way the language writes it: ``¥1,234.56`` (zh_CN) or
    ``CNY 1,234.56`` (en). Refuses float (money is Decimal)."""
    if not isinstance(amount, Decimal):
        raise FieldError(f"amount must be a Decimal, got {type(amount).__name__} {amount!r}")
    text = f"{quantize(amount, currency):,}"
    if language == "zh_CN":
        return f"{CURRENCY_SIGNS.get(currency, currency + ' ')}{text}"
    return f"{currency} {text}"


def format_date(day: date, language: str) -> str:
    """``day`` as the language writes it: ``2026年12月1日`` or ``1 December 2026``."""
    if language == "zh_CN":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class MergeFields:
    """What a template may say about one debtor and one debt, and about the lender
    sending it (the workspace's ``[lender]`` settings, per product). A field left None
    is absent: a template that uses it fails with an error naming the field.

    ``institution_name`` is the lender's legal name under its older name: either of
    ``institution_name`` and ``lender_name`` given stands for the other."""

    customer_name: str | None = None
    account: str | None = None
    amount_due: Decimal | None = None
    currency: str = "CNY"
    due_date: date | None = None
    pay_link: str | None = None
    collector_name: str | None = None
    collector_phone: str | None = None
    institution_name: str | None = None
    reference: str | None = None
    lender_name: str | None = None
    brand_name: str | None = None
    service_hotline: str | None = None
    repayment_bank: str | None = None
    repayment_account_name: str | None = None
    repayment_account_number: str | None = None
    law_firm_name: str | None = None
    law_firm_address: str | None = None
    law_firm_phone: str | None = None

    def context(self, language: str) -> dict[str, str]:
        """The Jinja2 context in ``language``: every present field as text
        (``masked_account`` instead of the account itself, which never reaches a
        template)."""
        if language not in LANGUAGES:
            raise FieldError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
        out: dict[str, str] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is None or field.name in ("account", "amount_due", "due_date", "currency"):
                continue
            out[field.name] = str(value)
        if self.account is not None:
            out["masked_account"] = mask_account(self.account)
        if self.amount_due is not None:
            out["amount_due"] = format_amount(self.amount_due, self.currency, language)
        if self.due_date is not None:
            out["due_date"] = format_date(self.due_date, language)
        if "lender_name" in out:
            out.setdefault("institution_name", out["lender_name"])
        elif "institution_name" in out:
            out["lender_name"] = out["institution_name"]
        return out


MERGE_FIELD_NAMES = (
    "customer_name",
    "masked_account",
    "amount_due",
    "due_date",
    "pay_link",
    "collector_name",
    "collector_phone",
    "institution_name",
    "reference",
    "lender_name",
    "brand_name",
    "service_hotline",
    "repayment_bank",
    "repayment_account_name",
    "repayment_account_number",
    "law_firm_name",
    "law_firm_address",
    "law_firm_phone",
)
"""The documented merge fields (docs/channels.md), the only names a template may use."""
