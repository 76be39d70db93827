"""How much debtors resolve themselves: the portal's figures over a period of business
days, from the store.

* self-service share: of the promises and arrangements made in the period, the share
  the debtor made in the portal (``created_by`` / ``maker`` ``portal``), no person
  involved; and of the payments received, the share paid through the portal's checkout;
* digital promise-kept rate: of the portal promises settled in the period, the share
  kept (the collectors' rate alongside, the same rule as ``analytics.collections``);
* verified visits, disputes and hardship requests made in the portal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arrears.store.models import PaymentRow
from arrears.store.payment_rows import standing
from arrears.store.portal_models import PortalRequest, PortalSession
from arrears.store.workbench_models import Arrangement, Promise

PORTAL = "portal"


def _ratio(part: int, whole: int) -> Decimal | None:
    return None if whole == 0 else (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class SelfService:
    """The portal's figures of one period (see the module docstring)."""

    start: date
    end: date
    verified_visits: int
    promises: int
    portal_promises: int
    arrangements: int
    portal_arrangements: int
    payments: int
    portal_payments: int
    portal_kept: int
    portal_broken: int
    other_kept: int
    other_broken: int
    disputes: int
    hardship: int

    @property
    def self_service_share(self) -> Decimal | None:
        """Promises and arrangements made in the portal / all made."""
        return _ratio(
            self.portal_promises + self.portal_arrangements, self.promises + self.arrangements
        )

    @property
    def payment_share(self) -> Decimal | None:
        """Payments through the portal's checkout / all payments received."""
        return _ratio(self.portal_payments, self.payments)

    @property
    def digital_kept_rate(self) -> Decimal | None:
        """Portal promises kept / (kept + broken), settled in the period."""
        return _ratio(self.portal_kept, self.portal_kept + self.portal_broken)

    @property
    def other_kept_rate(self) -> Decimal | None:
        """The same for promises taken by people."""
        return _ratio(self.other_kept, self.other_kept + self.other_broken)


def self_service(session: Session, start: date, end: date) -> SelfService:
    """The portal's figures for the business days ``start`` to ``end`` (inclusive)."""
    since = datetime.combine(start, time(), tzinfo=UTC)
    until = datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC)

    def count(*where: object) -> int:
        return int(session.scalar(select(func.count()).where(*where)) or 0)

    made = (Promise.promised_on >= start, Promise.promised_on <= end)
    settled = (Promise.settled_on >= start, Promise.settled_on <= end)
    proposed = (Arrangement.created_at >= since, Arrangement.created_at < until)
    paid = (PaymentRow.paid_on >= start, PaymentRow.paid_on <= end, standing())
    by_portal = Promise.created_by == PORTAL
    return SelfService(
        start=start,
        end=end,
        verified_visits=count(
            PortalSession.verified_at >= since, PortalSession.verified_at < until
        ),
        promises=count(*made),
        portal_promises=count(*made, by_portal),
        arrangements=count(*proposed),
        portal_arrangements=count(*proposed, Arrangement.maker == PORTAL),
        payments=count(*paid),
        portal_payments=_portal_payments(session, start, end),
        portal_kept=count(*settled, by_portal, Promise.status == "kept"),
        portal_broken=count(*settled, by_portal, Promise.status == "broken"),
        other_kept=count(*settled, Promise.created_by != PORTAL, Promise.status == "kept"),
        other_broken=count(*settled, Promise.created_by != PORTAL, Promise.status == "broken"),
        disputes=_requests(session, "dispute", since, until),
        hardship=_requests(session, "hardship", since, until),
    )


def _requests(session: Session, kind: str, since: datetime, until: datetime) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                PortalRequest.kind == kind,
                PortalRequest.created_at >= since,
                PortalRequest.created_at < until,
            )
        )
        or 0
    )


def _portal_payments(session: Session, start: date, end: date) -> int:
    try:
        from arrears.store.payment_models import Checkout
    except ImportError:  # the payments module is not installed
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(PaymentRow)
            .join(Checkout, Checkout.payment_ref == PaymentRow.payment_ref)
            .where(
                Checkout.origin == PORTAL,
                PaymentRow.paid_on >= start,
                PaymentRow.paid_on <= end,
                standing(),
            )
        )
        or 0
    )
