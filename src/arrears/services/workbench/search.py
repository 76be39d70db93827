"""Finding a customer's cases: by name, phone number, the last digits of the 身份证
number, loan id or customer id, and the inbound-call flow (a caller's number opens their
case, or a pick-list when several match).

Every lookup reads an index (``arrears.store.search_keys``, migration 0011): phone
numbers are compared without spaces, dashes, brackets, dots or ``+`` and with or
without the 86 / 0086 country code, on the customer's mobile and on their contact
points (home, work, a second mobile); 身份证 digits by the index on the number's last
four characters; names by prefix. The answers are the cases ``actor`` may see
(``access.case_scope``), open cases first, and personal data in them is masked for
the actor's role (``masking``): a full number is only ever seen through a logged
reveal on the case page (``reveal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, bindparam, false, select
from sqlalchemy.orm import Session

from arrears.services.workbench.access import Actor, case_scope, hide_staff_in, require_role
from arrears.services.workbench.errors import Invalid
from arrears.services.workbench.masking import mask
from arrears.store.models import CaseRow, ContactPoint, Customer
from arrears.store.search_keys import ID_TAIL, id_tail_key, phone_digits, phone_key, phone_variants
from arrears.store.workbench_models import Placement

KEYS = ("any", "name", "phone", "id_number", "loan_id", "customer_id")
SEARCHERS = frozenset({"collector", "team_lead", "manager", "compliance", "admin", "agency"})
MAX_QUERY = 64
MIN_PHONE = 7
MAX_HITS = 50
PHONE_KINDS = ("mobile", "home", "work")


@dataclass(frozen=True)
class SearchHit:
    """One case of a customer the search found, masked for the actor's role."""

    case_id: int
    case_status: str
    loan_id: str
    customer_id: str
    customer_name: str
    mobile: str | None
    id_number: str | None
    dpd: int
    bucket: str
    amount_overdue: Decimal
    assigned_to: str | None
    opened_on: date
    placed: bool
    matched_by: str


def _conditions(session: Session, text: str, key: str) -> list[tuple[str, ColumnElement[bool]]]:
    """(the key, a WHERE clause on ``cases`` joined to ``customers``) for each way
    ``text`` may name a customer under ``key``."""
    out: list[tuple[str, ColumnElement[bool]]] = []
    upper = text.upper()
    if key in ("any", "loan_id"):
        out.append(("loan_id", CaseRow.loan_id == text))
    if key in ("any", "customer_id"):
        out.append(("customer_id", CaseRow.customer_id == text))
    digits = phone_digits(text)
    looks_like_phone = len(digits) >= MIN_PHONE and all(
        ch in "0123456789 -+().\u00a0" for ch in text
    )
    if key == "phone" or (key == "any" and looks_like_phone):
        if len(digits) < MIN_PHONE:
            raise Invalid(f"q: a phone number has at least {MIN_PHONE} digits")
        variants = phone_variants(digits)
        points = select(ContactPoint.customer_id).where(
            phone_key(ContactPoint.value).in_(variants), ContactPoint.kind.in_(PHONE_KINDS)
        )
        # two lookups, each by its own index (an OR of the two would not use both)
        out.append(("phone", phone_key(Customer.mobile).in_(variants)))
        out.append(("phone", Customer.customer_id.in_(points)))
    tail = upper.replace(" ", "")
    looks_like_id = ID_TAIL <= len(tail) <= 18 and tail[:-1].isdigit() and tail[-1] in "0123456789X"
    if key == "id_number" or (key == "any" and looks_like_id):
        if not looks_like_id:
            raise Invalid(
                f"q: give at least the last {ID_TAIL} characters of the ID number (digits, X)"
            )
        suffix = bindparam("id_suffix", "%" + _like_escape(tail), literal_execute=True)
        out.append(
            (
                "id_number",
                (id_tail_key(Customer.id_number) == _literal(tail[-ID_TAIL:]))
                & Customer.id_number.like(suffix, escape="\\"),
            )
        )
    if key == "name" or (key == "any" and not (looks_like_phone or looks_like_id)):
        out.append(("name", _name_prefix(session, text)))
    return out


def _literal(value: str) -> ColumnElement[str]:
    # rendered into the SQL, as the expression index's own literals are
    return bindparam("id_tail", value, literal_execute=True)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name_prefix(session: Session, text: str) -> ColumnElement[bool]:
    """Names starting with ``text``: LIKE 'text%' on PostgreSQL (the text_pattern_ops
    index), a range on SQLite's binary index."""
    if not text:
        return false()
    if session.get_bind().dialect.name == "postgresql":
        pattern = bindparam("name_prefix", _like_escape(text) + "%", literal_execute=True)
        return Customer.name.like(pattern, escape="\\")
    return (Customer.name >= text) & (Customer.name < text + "\U0010ffff")


def search(
    session: Session, actor: Actor, q: str, *, key: str = "any", limit: int = 20
) -> list[SearchHit]:
    """The cases (open first, newest first) of the customers ``q`` names under ``key``
    (``KEYS``; "any" tries each that fits what was typed) that ``actor`` may see,
    masked for their role. Invalid for an empty or unusable query."""
    require_role(actor, SEARCHERS, "search customers")
    text = q.strip()
    if key not in KEYS:
        raise Invalid(f"by: must be one of {', '.join(KEYS)}")
    if not text:
        raise Invalid("q: type a name, phone number, ID number digits, loan or customer id")
    if len(text) > MAX_QUERY:
        raise Invalid(f"q: at most {MAX_QUERY} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise Invalid("q: holds a control character no name, number or id has")
    if not 1 <= limit <= MAX_HITS:
        raise Invalid(f"limit: must be between 1 and {MAX_HITS}")
    hits: dict[int, SearchHit] = {}
    for matched_by, where in _conditions(session, text, key):
        placed = (
            select(Placement.case_id)
            .where(Placement.case_id == CaseRow.id, Placement.status == "active")
            .exists()
        )
        rows = session.execute(
            select(
                CaseRow.id,
                CaseRow.status,
                CaseRow.loan_id,
                CaseRow.customer_id,
                Customer.name,
                Customer.mobile,
                Customer.id_number,
                CaseRow.dpd,
                CaseRow.bucket,
                CaseRow.amount_overdue,
                CaseRow.assigned_to,
                CaseRow.opened_on,
                placed.label("placed"),
            )
            .join(Customer, Customer.customer_id == CaseRow.customer_id)
            .where(where, case_scope(session, actor))
            .order_by((CaseRow.status == "open").desc(), CaseRow.opened_on.desc(), CaseRow.id)
            .limit(limit)
        )
        for r in rows:
            if r.id in hits:
                continue
            hits[r.id] = SearchHit(
                case_id=r.id,
                case_status=r.status,
                loan_id=r.loan_id,
                customer_id=r.customer_id,
                customer_name=r.name,
                mobile=mask("mobile", r.mobile, actor.role),
                id_number=mask("id_number", r.id_number, actor.role),
                dpd=r.dpd,
                bucket=r.bucket,
                amount_overdue=r.amount_overdue,
                assigned_to=r.assigned_to,
                opened_on=r.opened_on,
                placed=bool(r.placed),
                matched_by=matched_by,
            )
    ordered = sorted(
        hits.values(),
        key=lambda h: (h.case_status != "open", -h.opened_on.toordinal(), h.case_id),
    )
    return hide_staff_in(session, actor, ordered[:limit])


@dataclass(frozen=True)
class InboundMatch:
    """What an inbound call from a number finds: the case to open (exactly one open
    case of one customer, or a single case), else the cases to pick from."""

    case_id: int | None
    hits: list[SearchHit]


def inbound(session: Session, actor: Actor, phone: str) -> InboundMatch:
    """The case a call from ``phone`` opens, or the pick-list when it is not one."""
    try:
        hits = search(session, actor, phone, key="phone", limit=MAX_HITS)
    except Invalid as error:  # the inbound form's field is the phone
        raise Invalid(str(error).replace("q: ", "phone: ", 1)) from None
    open_hits = [h for h in hits if h.case_status == "open"]
    if len(open_hits) == 1:
        return InboundMatch(open_hits[0].case_id, hits)
    if len(hits) == 1:
        return InboundMatch(hits[0].case_id, hits)
    return InboundMatch(None, hits)
