"""Agencies (委外): placing cases by hand or by rule, recall, re-place, commission rates
by bucket or by amount tier, and each agency's performance.

Commission is owed on money collected while a case was placed: every payment on the
placed loan from ``placed_on`` until the recall (exclusive) earns the agency the rate
of the placement's bucket (a ``bucket`` rate), else of the tier the placed balance falls
in (``amount_tier`` rates, [min, max)), rounded half-up to the cent per placement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import and_, delete, exists, not_, select
from sqlalchemy.orm import Session

from arrears.domain.money import ZERO, quantize
from arrears.services import audit
from arrears.services.workbench.access import (
    IDS_PER_STATEMENT,
    Actor,
    require_role,
    visible_case,
)
from arrears.services.workbench.errors import Conflict, Invalid, NotFound
from arrears.store.models import CaseRow, PaymentRow
from arrears.store.payment_rows import standing
from arrears.store.repositories import EntryRepository
from arrears.store.rows import batched
from arrears.store.workbench_models import Agency, CommissionRate, Placement

PLACERS = frozenset({"manager", "admin"})
READERS = frozenset({"manager", "admin", "compliance", "agency"})


def _agency(session: Session, agency_id: int) -> Agency:
    agency = session.get(Agency, agency_id)
    if agency is None or not agency.active:
        raise Invalid(f"agency_id: no active agency {agency_id}", "no_agency", id=agency_id)
    return agency


def agencies(session: Session) -> list[Agency]:
    """Every agency, by code."""
    return list(session.scalars(select(Agency).order_by(Agency.code)))


def _rate(value: object, where: str) -> Decimal:
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(f"{where}.rate: {value!r} is not a number") from None
    if not rate.is_finite() or not 0 <= rate <= 1:
        raise Invalid(f"{where}.rate: must be between 0 and 1 (0.15 = 15%)")
    return rate


def set_commission_rates(
    session: Session, actor: Actor, agency_id: int, rates: list[dict[str, object]]
) -> list[CommissionRate]:
    """Replace the agency's commission rates. Each rate is ``{"bucket": "M2", "rate":
    "0.15"}`` or ``{"min_amount": "0", "max_amount": "5000", "rate": "0.2"}`` (max
    None = no upper end)."""
    require_role(actor, PLACERS, "set commission rates")
    audit.begin_write(session)
    _agency(session, agency_id)
    rows = []
    for n, spec in enumerate(rates, start=1):
        where = f"rates[{n}]"
        rate = _rate(spec.get("rate"), where)
        if spec.get("bucket"):
            rows.append(
                CommissionRate(
                    agency_id=agency_id, basis="bucket", bucket=str(spec["bucket"]), rate=rate
                )
            )
            continue
        try:
            low = Decimal(str(spec.get("min_amount", "0")))
            high = None if spec.get("max_amount") is None else Decimal(str(spec["max_amount"]))
        except InvalidOperation:
            raise Invalid(f"{where}: min_amount/max_amount must be amounts") from None
        if low < 0 or (high is not None and high <= low):
            raise Invalid(f"{where}: needs 0 <= min_amount < max_amount")
        rows.append(
            CommissionRate(
                agency_id=agency_id,
                basis="amount_tier",
                min_amount=quantize(low),
                max_amount=None if high is None else quantize(high),
                rate=rate,
            )
        )
    session.execute(delete(CommissionRate).where(CommissionRate.agency_id == agency_id))
    session.add_all(rows)
    session.flush()
    audit.append(
        session,
        actor.username,
        "agency.rates",
        "agency",
        agency_id,
        {"rates": [{k: str(v) for k, v in r.items()} for r in rates]},
    )
    return rows


def commission_rate(rates: list[CommissionRate], bucket: str, balance: Decimal) -> Decimal:
    """The rate a placement earns: its bucket's, else its balance tier's, else 0."""
    for r in rates:
        if r.basis == "bucket" and r.bucket == bucket:
            return r.rate
    for r in rates:
        if (
            r.basis == "amount_tier"
            and r.min_amount is not None
            and r.min_amount <= balance
            and (r.max_amount is None or balance < r.max_amount)
        ):
            return r.rate
    return ZERO


def _active(session: Session, case_id: int) -> Placement | None:
    return session.scalar(
        select(Placement).where(Placement.case_id == case_id, Placement.status == "active")
    )


def place(
    session: Session,
    actor: Actor,
    case_id: int,
    agency_id: int,
    *,
    on: date,
    rule: str = "manual",
) -> Placement:
    """Place open case ``case_id`` with the agency from ``on``; the balance placed is
    the loan's outstanding in the ledger now."""
    require_role(actor, PLACERS, "place cases with agencies")
    audit.begin_write(session)
    _agency(session, agency_id)
    case = visible_case(session, actor, case_id)
    if case.status != "open":
        raise Conflict(f"case {case_id} is closed", "case_closed", id=case_id)
    current = _active(session, case_id)
    if current is not None:
        raise Conflict(
            f"case {case_id} is placed with agency {current.agency_id} already",
            "placed_already",
            id=case_id,
        )
    balance = EntryRepository(session).ledger(case.loan_id).total_outstanding
    placement = Placement(
        case_id=case_id,
        agency_id=agency_id,
        status="active",
        placed_on=on,
        bucket=case.bucket,
        balance_placed=balance,
        rule=rule,
        placed_by=actor.username,
    )
    session.add(placement)
    session.flush()
    audit.append(
        session,
        actor.username,
        "placement.place",
        "case",
        case_id,
        {"agency_id": agency_id, "rule": rule, "balance": balance},
    )
    return placement


def recall(session: Session, actor: Actor, case_id: int, *, on: date) -> Placement:
    """Take the case back from its agency from ``on``."""
    require_role(actor, PLACERS, "recall placements")
    audit.begin_write(session)
    visible_case(session, actor, case_id)
    placement = _active(session, case_id)
    if placement is None:
        raise NotFound(f"case {case_id} is not placed with an agency", "not_placed", id=case_id)
    placement.status, placement.recalled_on = "recalled", max(on, placement.placed_on)
    audit.append(
        session,
        actor.username,
        "placement.recall",
        "case",
        case_id,
        {"agency_id": placement.agency_id},
    )
    session.flush()
    return placement


def re_place(
    session: Session, actor: Actor, case_id: int, agency_id: int, *, on: date
) -> Placement:
    """Recall the case from its agency and place it with another, from ``on``."""
    current = _active(session, case_id)
    if current is not None and current.agency_id == agency_id:
        raise Conflict(
            f"case {case_id} is with agency {agency_id} already", "placed_already", id=case_id
        )
    if current is not None:
        recall(session, actor, case_id, on=on)
    return place(session, actor, case_id, agency_id, on=on, rule="re-place")


def place_by_rule(
    session: Session,
    actor: Actor,
    agency_ids: list[int],
    *,
    on: date,
    buckets: list[str] | None = None,
    min_dpd: int = 0,
    limit: int = 1000,
) -> dict[int, int]:
    """Place the open, unplaced cases in ``buckets`` with at least ``min_dpd`` days past
    due (worst first, at most ``limit``) with the agencies in turn. Returns cases placed
    per agency."""
    require_role(actor, PLACERS, "place cases with agencies")
    if not agency_ids:
        raise Invalid("agency_ids: name at least one agency", "required", field="agency_id")
    if not 1 <= limit <= 10000:
        raise Invalid(
            "limit: must be between 1 and 10000", "whole_between", field="limit", low=1, high=10000
        )
    for agency_id in agency_ids:
        _agency(session, agency_id)
    query = select(CaseRow.id).where(
        CaseRow.status == "open",
        CaseRow.dpd >= min_dpd,
        not_(exists().where(and_(Placement.case_id == CaseRow.id, Placement.status == "active"))),
    )
    if buckets:
        query = query.where(CaseRow.bucket.in_(buckets))
    ids = list(session.scalars(query.order_by(CaseRow.dpd.desc(), CaseRow.id).limit(limit)))
    rule = f"rule: buckets={','.join(buckets or ['*'])} min_dpd={min_dpd}"
    placed: dict[int, int] = {a: 0 for a in agency_ids}
    for i, case_id in enumerate(ids):
        agency_id = agency_ids[i % len(agency_ids)]
        place(session, actor, case_id, agency_id, on=on, rule=rule)
        placed[agency_id] += 1
    return placed


@dataclass(frozen=True)
class AgencyPerformance:
    """An agency's results over a period."""

    agency_id: int
    code: str
    name: str
    placements: int
    active: int
    balance_placed: Decimal
    collected: Decimal
    collection_rate: Decimal
    commission_owed: Decimal


def performance(
    session: Session, actor: Actor, start: date, end: date, agency_id: int | None = None
) -> list[AgencyPerformance]:
    """Collection rate (collected ÷ balance placed) and commission owed per agency, for
    payments received from ``start`` through ``end`` while placed. Agency users see
    only their own agency."""
    require_role(actor, READERS, "read agency performance")
    if end < start:
        raise Invalid("end: before start", "end_before_start")
    if actor.role == "agency":
        agency_id = actor.agency_id
    out = []
    for agency in agencies(session):
        if agency_id is not None and agency.id != agency_id:
            continue
        rates = list(
            session.scalars(select(CommissionRate).where(CommissionRate.agency_id == agency.id))
        )
        rows = session.execute(
            select(Placement, CaseRow.loan_id)
            .join(CaseRow, CaseRow.id == Placement.case_id)
            .where(Placement.agency_id == agency.id, Placement.placed_on <= end)
        ).all()
        placed = collected = owed = ZERO
        active = 0
        for placement, loan_id in rows:
            if placement.recalled_on is not None and placement.recalled_on < start:
                continue
            placed += placement.balance_placed
            active += placement.status == "active"
            window = [
                PaymentRow.loan_id == loan_id,
                PaymentRow.paid_on >= max(start, placement.placed_on),
                PaymentRow.paid_on <= end,
                standing(),  # a bounced payment earns no commission
            ]
            if placement.recalled_on is not None:
                window.append(PaymentRow.paid_on < placement.recalled_on)
            paid = sum(session.scalars(select(PaymentRow.amount).where(*window)), ZERO)
            collected += paid
            rate = commission_rate(rates, placement.bucket, placement.balance_placed)
            owed += quantize(paid * rate)
        rate_out = (collected / placed).quantize(Decimal("0.0001")) if placed else ZERO
        out.append(
            AgencyPerformance(
                agency.id,
                agency.code,
                agency.name,
                len(rows),
                active,
                placed,
                collected,
                rate_out,
                owed,
            )
        )
    return out


def placements_of(session: Session, case_id: int) -> list[Placement]:
    """The case's placements, newest first."""
    return list(
        session.scalars(
            select(Placement).where(Placement.case_id == case_id).order_by(Placement.id.desc())
        )
    )


# Placements made by a strategy's agency step last this many days; the treatments of a
# later day recall them (docs/strategies.md, "Steps that create work").
PLACEMENT_DAYS = 90
STRATEGY_RULE = "strategy:"  # the rule of a placement a strategy step made starts so


class StrategyPlacer:
    """Chooses the agency of a strategy's agency step, by the agencies' rules: an
    active agency whose commission rates pay on the case (its bucket's rate, else its
    balance tier's, above 0), or one with no rates at all (it takes any case); of
    those, the one with the fewest active placements (then by code), so the day's
    referrals are spread. Loads the agencies, rates and counts once per day."""

    def __init__(self, session: Session) -> None:
        self.agencies = [a for a in agencies(session) if a.active]
        rates = list(session.scalars(select(CommissionRate)))
        self.rates = {a.id: [r for r in rates if r.agency_id == a.id] for a in self.agencies}
        self.load = {a.id: 0 for a in self.agencies}
        for agency_id in session.scalars(
            select(Placement.agency_id).where(Placement.status == "active")
        ):
            if agency_id in self.load:
                self.load[agency_id] += 1

    def pick(self, bucket: str, balance: Decimal) -> tuple[int | None, str]:
        """(agency id, "") or (None, the reason no agency takes the case)."""
        if not self.agencies:
            return None, "no active agency"
        takers = [
            a
            for a in self.agencies
            if not self.rates[a.id] or commission_rate(self.rates[a.id], bucket, balance) > 0
        ]
        if not takers:
            return None, f"no agency's commission rates cover bucket {bucket}, balance {balance}"
        chosen = min(takers, key=lambda a: (self.load[a.id], a.code))
        self.load[chosen.id] += 1
        return chosen.id, ""


def active_placements(session: Session, case_ids: Iterable[int]) -> dict[int, Placement]:
    """The active placement of each of ``case_ids`` that has one (``IDS_PER_STATEMENT``
    ids a statement)."""
    found: dict[int, Placement] = {}
    for chunk in batched(sorted(set(case_ids)), IDS_PER_STATEMENT):
        found.update(
            (p.case_id, p)
            for p in session.scalars(
                select(Placement).where(Placement.case_id.in_(chunk), Placement.status == "active")
            )
        )
    return found


def place_for_strategy(
    session: Session,
    actor: Actor,
    placer: StrategyPlacer,
    case_id: int,
    *,
    on: date,
    step: str,
    placed: dict[int, Placement],
) -> tuple[Placement | None, str]:
    """Place case ``case_id`` for a strategy's agency step with the agency ``placer``
    picks, from ``on`` (audited as ``placement.place``, rule ``strategy:<step>``).
    ``placed``: the active placements of the day's cases (``active_placements``), kept
    up to date here. Returns (the placement, "") or (None, why not): the case is closed
    (it cured after the day) or placed already, or no agency takes it
    (``placement.not_placed`` is audited with the reason)."""
    case = visible_case(session, actor, case_id)
    if case.status != "open":
        return None, "the case is closed"
    current = placed.get(case_id)
    if current is not None:
        return None, f"placed with agency {current.agency_id} already"
    agency_id, reason = placer.pick(case.bucket, case.amount_overdue)
    if agency_id is None:
        audit.append(
            session,
            actor.username,
            "placement.not_placed",
            "case",
            case_id,
            {"step": step, "reason": reason},
        )
        return None, reason
    placement = place(session, actor, case_id, agency_id, on=on, rule=f"{STRATEGY_RULE}{step}")
    placed[case_id] = placement
    return placement, ""


def recall_expired(session: Session, actor: Actor, *, on: date) -> int:
    """Recall, from ``on``, every active placement a strategy step made that has run
    its ``PLACEMENT_DAYS`` (placed on or before ``on`` − PLACEMENT_DAYS). One query
    finds them; each recall is audited. Returns how many."""
    due = list(
        session.scalars(
            select(Placement.case_id)
            .where(
                Placement.status == "active",
                Placement.rule.startswith(STRATEGY_RULE),
                Placement.placed_on <= on - timedelta(days=PLACEMENT_DAYS),
            )
            .order_by(Placement.case_id)
        )
    )
    for case_id in due:
        recall(session, actor, case_id, on=on)
    return len(due)
