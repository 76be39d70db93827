"""A revolving credit card account (信用卡循环信用), replayed to a date.

A card has no schedule: it has transactions (purchases, cash advances, fees, payments,
refunds) and, on each statement day (账单日), a statement (账单) with its balance, its
minimum payment (最低还款额) and its payment due date (到期还款日). The rules, each a
setting of the product (``RevolvingProduct``; docs/loan-rules.md, "Revolving cards"):

* **Cycles.** Statement ``n`` is cut at the end of its statement day ``S_n`` and bills
  what was posted after ``S_(n-1)`` up to and including ``S_n``. It is due ``due_days``
  later (``D_n``); paid by ``E_n = D_n + grace_days`` counts as paid on time.
* **Interest-free period (免息期).** A purchase bears no interest when the statement that
  bills it is paid in full by ``E_n`` (the payments and refunds after ``S_n`` through
  ``E_n`` reach its balance). Otherwise it bears interest from its posting day: on its
  whole balance day by day (``full_balance``, 全额计息), or, for the days through
  ``E_n``, only on the part still unpaid at the end of ``E_n`` (``unpaid_balance``,
  按未还部分计息). With ``free_period = "previous_statement"`` (the US rule) a purchase
  also needs the previous statement paid in full: one made while a balance is carried
  bears interest from its posting day, and one of a clean cycle whose statement is not
  paid in full only from that statement day. Cash advances always bear interest from
  their day (and a fee, ``cash_advance_fee_rate``, at least ``cash_advance_fee_min``).
* **Interest** is ``daily_rate`` × the balance for each day from the posting day up to
  the day before the statement day (a payment's day counts at the lower balance),
  summed unrounded and rounded half-up once per statement; it is posted on the
  statement day, so it appears on that statement. Fees and late fees never bear
  interest; interest left unpaid does, from its statement day, when
  ``interest_on_interest`` (按月计收复利).
* **Minimum payment.** ``C`` = unpaid fees and interest on the statement, ``P`` = the
  principal-like rest (purchases and cash advances), ``U`` = the previous minimum not
  paid by this statement day, of which ``U_p = U − C_old`` is principal (``C_old`` the
  fees and interest billed before this cycle, still unpaid); ``O`` = over the limit,
  ``O_p = O − C`` its principal part (what is left over once the charges are paid).
  ``X = max(U_p, O_p)`` is principal due in full, and the minimum is
  ``C + X + min_rate × (P − X)`` (the percentage rounded half-up), raised to
  ``min_floor``, never more than the balance.
* **Payments** settle what is billed before what is not; among either, fees, then
  interest, then cash advances, then purchases, the oldest first. What is paid beyond
  everything owed is held as credit (溢缴款) and settles the next debits as they post.
  A refund (退货) is a credit like a payment.
* **Late fee (违约金).** The day after ``E_n``, if the minimum is not paid (payments and
  refunds since ``S_n``): ``late_fee_fixed + late_fee_rate`` × what is unpaid of it,
  kept within ``late_fee_min`` .. ``late_fee_max``.
* **DPD** counts from the due date of the oldest statement whose minimum is not paid
  (payments and refunds since its statement day below it), once its grace is over:
  0 within grace, then days since ``D_n``. Paying a later minimum pays every earlier one
  (each minimum holds the unpaid previous one), so the loan cures when it is paid.
* **Limit.** A purchase may take the balance up to ``credit_limit × (1 +
  over_limit_rate)``; a cash advance must keep cash advances within ``credit_limit ×
  cash_limit_rate`` and the balance within the limit; beyond that the transaction is
  refused. Interest and fees may take the balance over the limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from arrears.domain.calendar import add_months
from arrears.domain.delinquency import assess
from arrears.domain.errors import DomainError
from arrears.domain.money import ZERO, quantize
from arrears.domain.products import (
    Catalog,
    FreePeriod,
    InterestBasis,
    LoanClass,
    RevolvingProduct,
)

ONE_DAY = timedelta(days=1)


class TxKind(StrEnum):
    """What a card transaction is. Debits raise the balance, credits lower it."""

    PURCHASE = "purchase"  # 消费
    CASH_ADVANCE = "cash_advance"  # 取现
    CASH_ADVANCE_FEE = "cash_advance_fee"  # 取现手续费
    FEE = "fee"  # any other fee (年费 …)
    LATE_FEE = "late_fee"  # 违约金
    INTEREST = "interest"  # 利息
    PAYMENT = "payment"  # 还款
    REFUND = "refund"  # 退货

    @property
    def credit(self) -> bool:
        return self in (TxKind.PAYMENT, TxKind.REFUND)

    @property
    def principal_like(self) -> bool:
        """Purchases and cash advances: what the percentage of the minimum is taken of."""
        return self in (TxKind.PURCHASE, TxKind.CASH_ADVANCE)

    @property
    def charge(self) -> bool:
        """Fees and interest: due in full in the minimum."""
        return not self.credit and not self.principal_like


# the order a payment settles the debits of one group (billed, then unbilled)
SETTLE_RANK = {
    TxKind.FEE: 0,
    TxKind.CASH_ADVANCE_FEE: 0,
    TxKind.LATE_FEE: 0,
    TxKind.INTEREST: 1,
    TxKind.CASH_ADVANCE: 2,
    TxKind.PURCHASE: 3,
}
# what a customer can do to the account (the rest the account does itself)
EVENT_KINDS = (TxKind.PURCHASE, TxKind.CASH_ADVANCE, TxKind.PAYMENT, TxKind.REFUND, TxKind.FEE)


@dataclass(frozen=True, slots=True)
class CardEvent:
    """Something that happened to the card on day ``on``: one of ``EVENT_KINDS``."""

    kind: TxKind
    on: date
    amount: Decimal
    ref: str = ""
    memo: str = ""
    number: int = 0  # its place in a scenario file (events #N), 0 when it has none

    @property
    def label(self) -> str:
        where = f"events #{self.number} " if self.number else ""
        return f"{where}({self.kind.value} on {self.on})"

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            known = " | ".join(k.value for k in EVENT_KINDS)
            raise DomainError(f"{self.kind.value} is not a card event (one of {known})")
        if self.amount <= 0:
            raise DomainError(f"amount {self.amount} must be positive")


@dataclass(frozen=True, slots=True)
class CardAccount:
    """One card account: its product, limit and opening day."""

    product: RevolvingProduct
    opened_on: date
    credit_limit: Decimal

    @classmethod
    def open(
        cls, product: RevolvingProduct, opened_on: date, credit_limit: Decimal | None = None
    ) -> CardAccount:
        limit = product.credit_limit if credit_limit is None else credit_limit
        if limit <= 0:
            raise DomainError(f"credit_limit {limit} must be positive")
        return cls(product, opened_on, limit)


@dataclass(frozen=True, slots=True)
class Transaction:
    """A posted transaction: an event, or what the account charged itself (interest,
    a late fee, a cash advance fee)."""

    seq: int
    kind: TxKind
    on: date
    amount: Decimal
    ref: str
    statement: int | None  # the statement that billed it (None: not yet billed)


@dataclass(frozen=True, slots=True)
class MinimumParts:
    """What a statement's minimum is made of (before the floor and the balance cap)."""

    charges: Decimal  # C: unpaid fees and interest, in full
    past_due: Decimal  # U: the previous minimum unpaid on the statement day
    over_limit: Decimal  # O: the balance over the credit limit
    principal_in_full: Decimal  # X = max(U - C_old, O - C): principal due in full
    percentage: Decimal  # min_rate × (P - X), rounded half-up


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement (账单) as cut on its statement day, and how it stood on the
    as-of day (``paid`` onwards)."""

    number: int
    statement_date: date
    due_date: date
    grace_end: date  # paid by this day counts as on time
    opening_balance: Decimal  # the previous statement's balance
    purchases: Decimal  # posted in the cycle
    cash_advances: Decimal
    fees: Decimal  # fees, cash advance fees and late fees posted in the cycle
    interest: Decimal  # interest posted on the statement day
    payments: Decimal  # posted in the cycle
    refunds: Decimal
    balance: Decimal  # opening + debits - credits; negative: a credit balance
    minimum: Decimal
    parts: MinimumParts
    paid: Decimal = ZERO  # payments and refunds after the statement day through as-of
    # paid in full by the grace end (its purchases interest-free); None: not yet known
    paid_in_full: bool | None = None
    minimum_paid: bool = False  # payments and refunds since the statement reach it

    @property
    def over_limit(self) -> Decimal:
        return self.parts.over_limit


@dataclass(frozen=True, slots=True)
class CardState:
    """A card account replayed to ``as_of``."""

    as_of: date
    account: CardAccount
    statements: tuple[Statement, ...]
    transactions: tuple[Transaction, ...]
    balance: Decimal  # what is owed (negative: credit held)
    principal_billed: Decimal  # purchases and cash advances on a statement, unpaid
    principal_unbilled: Decimal  # posted since the last statement day, unpaid
    unbilled: Decimal  # everything posted since the last statement day, unpaid
    interest_due: Decimal
    fees_due: Decimal
    credit: Decimal  # 溢缴款: paid beyond everything owed
    charged_interest: Decimal  # since the account opened
    charged_fees: Decimal
    dpd: int
    bucket: str
    loan_class: LoanClass
    # unpaid of the minimum of the latest statement past its due date (which holds every
    # earlier unpaid minimum); 0 when none is unpaid
    past_due: Decimal
    minimum_due: Decimal  # the latest statement's minimum not yet paid

    @property
    def debits(self) -> Decimal:
        return sum((t.amount for t in self.transactions if not t.kind.credit), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((t.amount for t in self.transactions if t.kind.credit), ZERO)

    @property
    def over_limit(self) -> Decimal:
        return max(ZERO, self.balance - self.account.credit_limit)

    @property
    def available_credit(self) -> Decimal:
        return max(ZERO, self.account.credit_limit - self.balance)


def statement_dates(product: RevolvingProduct, opened_on: date, through: date) -> list[date]:
    """The statement days after ``opened_on`` up to ``through``."""
    first = date(opened_on.year, opened_on.month, product.statement_day)
    if first <= opened_on:
        first = add_months(first, 1)
    out = []
    day = first
    while day <= through:
        out.append(day)
        day = add_months(day, 1, product.statement_day)
    return out


def replay_card(
    account: CardAccount, events: Iterable[CardEvent], as_of: date, catalog: Catalog
) -> CardState:
    """The account with ``events`` (each on its day, in the order given within a day;
    those after ``as_of`` not yet happened) posted, statements cut and interest and late
    fees charged, as it stands at the end of ``as_of``."""
    if as_of < account.opened_on:
        raise DomainError(f"as-of {as_of} is before the account opened {account.opened_on}")
    by_day: dict[date, list[CardEvent]] = {}
    for event in events:
        if event.on < account.opened_on:
            raise DomainError(
                f"{event.kind.value} on {event.on} is before the account opened {account.opened_on}"
            )
        if event.on <= as_of:
            by_day.setdefault(event.on, []).append(event)
    book = _Book(account)
    cuts = statement_dates(account.product, account.opened_on, as_of)
    late_days: dict[date, int] = {}
    cut_at = {day: n for n, day in enumerate(cuts, start=1)}
    day = account.opened_on
    while day <= as_of:
        if day in late_days:
            book.late_fee(late_days.pop(day), day)
        for event in by_day.get(day, ()):
            try:
                book.post_event(event)
            except DomainError as exc:
                raise DomainError(f"{event.label}: {exc}") from None
        if day in cut_at:
            stmt = book.cut(cut_at[day], day)
            late_days[stmt.grace_end + ONE_DAY] = stmt.number
        day += ONE_DAY
    return book.state(as_of, catalog)


@dataclass(eq=False)
class _Debit:
    seq: int
    kind: TxKind
    on: date
    amount: Decimal
    ref: str
    statement: int | None = None
    settled: list[tuple[date, Decimal]] = field(default_factory=list)
    charged_to: date | None = None  # interest charged for the days before this one

    @property
    def unpaid(self) -> Decimal:
        return self.amount - sum((a for _, a in self.settled), ZERO)

    def balance_at(self, day: date) -> Decimal:
        """Unpaid at the end of ``day``."""
        return self.amount - sum((a for d, a in self.settled if d <= day), ZERO)

    def settle(self, day: date, amount: Decimal) -> None:
        self.settled.append((day, amount))


@dataclass
class _Book:
    account: CardAccount
    debits: list[_Debit] = field(default_factory=list)
    credits: list[Transaction] = field(default_factory=list)
    credit: Decimal = ZERO  # paid beyond everything owed, not yet used
    statements: list[Statement] = field(default_factory=list)
    seq: int = 0

    @property
    def product(self) -> RevolvingProduct:
        return self.account.product

    def _q(self, amount: Decimal) -> Decimal:
        return quantize(amount, self.product.currency)

    # --- posting ---------------------------------------------------------------

    def balance(self) -> Decimal:
        return sum((d.unpaid for d in self.debits), ZERO) - self.credit

    def post_event(self, event: CardEvent) -> None:
        if event.kind.credit:
            self._credit(event.kind, event.on, event.amount, event.ref)
            return
        limit = self.account.credit_limit
        if event.kind is TxKind.PURCHASE:
            ceiling = limit * (1 + self.product.over_limit_rate)
            if self.balance() + event.amount > ceiling:
                raise DomainError(
                    f"purchase of {event.amount} would take the balance to "
                    f"{self.balance() + event.amount}, over the {self._q(ceiling)} allowed "
                    f"(credit limit {limit}, over-limit {self.product.over_limit_rate})"
                )
        if event.kind is TxKind.CASH_ADVANCE:
            cash = sum((d.unpaid for d in self.debits if d.kind is TxKind.CASH_ADVANCE), ZERO)
            cash_limit = self._q(limit * self.product.cash_limit_rate)
            if cash + event.amount > cash_limit:
                raise DomainError(
                    f"cash advance of {event.amount} would take cash advances to "
                    f"{cash + event.amount}, over the cash limit {cash_limit}"
                )
            if self.balance() + event.amount > limit:
                raise DomainError(
                    f"cash advance of {event.amount} would take the balance to "
                    f"{self.balance() + event.amount}, over the credit limit {limit}"
                )
        posted = self._debit(event.kind, event.on, event.amount, event.ref)
        if event.kind is TxKind.CASH_ADVANCE:
            p = self.product
            fee = self._q(max(p.cash_advance_fee_min, event.amount * p.cash_advance_fee_rate))
            if fee > 0:
                self._debit(TxKind.CASH_ADVANCE_FEE, event.on, fee, f"{posted.ref}:fee")

    def _debit(self, kind: TxKind, on: date, amount: Decimal, ref: str) -> _Debit:
        """Post a debit; credit held settles it at once."""
        self.seq += 1
        debit = _Debit(self.seq, kind, on, amount, ref or f"{kind.value}#{self.seq}")
        debit.charged_to = on
        self.debits.append(debit)
        if self.credit > 0:
            used = min(self.credit, amount)
            debit.settle(on, used)
            self.credit -= used
        return debit

    def _credit(self, kind: TxKind, on: date, amount: Decimal, ref: str) -> None:
        """Post a payment or refund: it settles the debits in ``_settle_order``; what is
        left is held as credit."""
        self.seq += 1
        ref = ref or f"{kind.value}#{self.seq}"
        self.credits.append(Transaction(self.seq, kind, on, amount, ref, None))
        left = amount
        for debit in sorted(self.debits, key=_settle_order):
            if left <= 0:
                break
            owed = debit.unpaid
            if owed > 0:
                part = min(owed, left)
                debit.settle(on, part)
                left -= part
        self.credit += left

    def credited(self, after: date, through: date) -> Decimal:
        """Payments and refunds posted after ``after`` through ``through``."""
        return sum((c.amount for c in self.credits if after < c.on <= through), ZERO)

    def late_fee(self, number: int, day: date) -> None:
        """The late fee (违约金) of statement ``number`` on ``day``, the day after its
        grace ended, if its minimum was not paid by then."""
        stmt = self.statements[number - 1]
        unpaid = stmt.minimum - self.credited(stmt.statement_date, stmt.grace_end)
        if unpaid <= 0:
            return
        p = self.product
        fee = max(p.late_fee_min, p.late_fee_fixed + unpaid * p.late_fee_rate)
        if p.late_fee_max is not None:
            fee = min(fee, p.late_fee_max)
        fee = self._q(fee)
        if fee > 0:
            self._debit(TxKind.LATE_FEE, day, fee, f"late_fee:{number}")

    # --- statements --------------------------------------------------------------

    def paid_in_full(self, number: int) -> bool:
        """Whether statement ``number`` was paid in full by its grace end (only asked
        once that day has passed)."""
        stmt = self.statements[number - 1]
        return self.credited(stmt.statement_date, stmt.grace_end) >= stmt.balance

    def interest(self, day: date, number: int) -> Decimal:
        """Interest for the days up to the day before ``day``, the day statement
        ``number`` is cut, on every debit that bears it, summed unrounded; moves each
        one's ``charged_to``."""
        p = self.product
        total = ZERO
        for debit in self.debits:
            bears = debit.kind.principal_like or (
                debit.kind is TxKind.INTEREST and p.interest_on_interest
            )
            if not bears or debit.charged_to is None:
                continue
            start = debit.charged_to
            hold_to: date | None = None  # unpaid_balance: the base through the grace end
            if debit.kind is TxKind.PURCHASE:
                b = number if debit.statement is None else debit.statement
                carried = (
                    p.free_period is FreePeriod.PREVIOUS_STATEMENT
                    and b > 1
                    and not self.paid_in_full(b - 1)
                )
                if not carried:
                    if b == number:
                        continue  # free unless this statement is not paid in full
                    if self.paid_in_full(b):
                        debit.charged_to = None  # interest-free for good
                        continue
                    if p.free_period is FreePeriod.PREVIOUS_STATEMENT:
                        # lost its free period from the statement day only
                        start = max(start, self.statements[b - 1].statement_date)
                if (
                    b < number
                    and p.interest_basis is InterestBasis.UNPAID_BALANCE
                    and not self.paid_in_full(b)
                ):
                    hold_to = self.statements[b - 1].grace_end
            t = start
            while t < day:
                base = debit.balance_at(max(t, hold_to) if hold_to else t)
                total += base * p.daily_rate
                t += ONE_DAY
            debit.charged_to = day
        return total

    def cut(self, number: int, day: date) -> Statement:
        """Cut statement ``number`` at the end of ``day``: charge the cycle's interest,
        bill what was posted since the last statement, work out the minimum."""
        p = self.product
        previous = self.statements[-1] if self.statements else None
        since = previous.statement_date if previous else self.account.opened_on - ONE_DAY
        interest = self._q(self.interest(day, number))
        if interest > 0:
            self._debit(TxKind.INTEREST, day, interest, f"interest:{number}")
        cycle = [d for d in self.debits if d.statement is None]
        c_old = sum((d.unpaid for d in self.debits if d.statement and d.kind.charge), ZERO)
        for debit in cycle:
            debit.statement = number
        balance = self.balance()
        charges = sum((d.unpaid for d in self.debits if d.kind.charge), ZERO)
        principal = sum((d.unpaid for d in self.debits if d.kind.principal_like), ZERO)
        past_due = ZERO
        if previous is not None:
            past_due = max(ZERO, previous.minimum - self.credited(since, day))
        over = max(ZERO, balance - self.account.credit_limit)
        in_full = min(principal, max(past_due - c_old, over - charges, ZERO))
        percentage = self._q(p.min_rate * (principal - in_full))
        parts = MinimumParts(charges, past_due, over, in_full, percentage)
        minimum = ZERO
        if balance > 0:
            raw = charges + in_full + percentage
            minimum = min(balance, max(raw, min(p.min_floor, balance)))

        def cycle_sum(*kinds: TxKind) -> Decimal:
            return sum((d.amount for d in cycle if d.kind in kinds), ZERO)

        due = day + timedelta(days=p.due_days)
        stmt = Statement(
            number=number,
            statement_date=day,
            due_date=due,
            grace_end=due + timedelta(days=p.grace_days),
            opening_balance=previous.balance if previous else ZERO,
            purchases=cycle_sum(TxKind.PURCHASE),
            cash_advances=cycle_sum(TxKind.CASH_ADVANCE),
            fees=cycle_sum(TxKind.FEE, TxKind.CASH_ADVANCE_FEE, TxKind.LATE_FEE),
            interest=cycle_sum(TxKind.INTEREST),
            payments=sum(
                (
                    c.amount
                    for c in self.credits
                    if since < c.on <= day and c.kind is TxKind.PAYMENT
                ),
                ZERO,
            ),
            refunds=sum(
                (c.amount for c in self.credits if since < c.on <= day and c.kind is TxKind.REFUND),
                ZERO,
            ),
            balance=balance,
            minimum=minimum,
            parts=parts,
        )
        self.statements.append(stmt)
        return stmt

    # --- the state on the as-of day ---------------------------------------------

    def state(self, as_of: date, catalog: Catalog) -> CardState:
        p = self.product
        statements = tuple(self._as_of(s, as_of) for s in self.statements)
        oldest = next((s for s in statements if s.due_date < as_of and not s.minimum_paid), None)
        dpd = 0
        past_due = ZERO
        if oldest is not None:
            raw = (as_of - oldest.due_date).days
            dpd = raw if raw > p.grace_days else 0
            latest_due = [s for s in statements if s.due_date < as_of][-1]
            past_due = max(ZERO, latest_due.minimum - latest_due.paid)
        classes = p.classification or catalog.classification
        assessed = assess(dpd, None, catalog.buckets, classes)
        latest = statements[-1] if statements else None
        minimum_due = max(ZERO, latest.minimum - latest.paid) if latest else ZERO
        transactions = sorted(
            [
                *(
                    Transaction(d.seq, d.kind, d.on, d.amount, d.ref, d.statement)
                    for d in self.debits
                ),
                *self.credits,
            ],
            key=lambda t: t.seq,
        )
        billed = [d for d in self.debits if d.statement is not None]
        return CardState(
            as_of=as_of,
            account=self.account,
            statements=statements,
            transactions=tuple(transactions),
            balance=self.balance(),
            principal_billed=_unpaid(billed, principal=True),
            principal_unbilled=_unpaid(
                [d for d in self.debits if d.statement is None], principal=True
            ),
            unbilled=sum((d.unpaid for d in self.debits if d.statement is None), ZERO),
            interest_due=sum((d.unpaid for d in self.debits if d.kind is TxKind.INTEREST), ZERO),
            fees_due=sum(
                (d.unpaid for d in self.debits if d.kind.charge and d.kind is not TxKind.INTEREST),
                ZERO,
            ),
            credit=self.credit,
            charged_interest=sum(
                (d.amount for d in self.debits if d.kind is TxKind.INTEREST), ZERO
            ),
            charged_fees=sum(
                (d.amount for d in self.debits if d.kind.charge and d.kind is not TxKind.INTEREST),
                ZERO,
            ),
            dpd=assessed.dpd,
            bucket=assessed.bucket,
            loan_class=assessed.loan_class,
            past_due=past_due,
            minimum_due=minimum_due,
        )

    def _as_of(self, stmt: Statement, as_of: date) -> Statement:
        paid = self.credited(stmt.statement_date, as_of)
        decided = stmt.grace_end < as_of
        return replace(
            stmt,
            paid=paid,
            paid_in_full=self.paid_in_full(stmt.number) if decided else None,
            minimum_paid=paid >= stmt.minimum,
        )


def _settle_order(debit: _Debit) -> tuple[int, int, int, date, int]:
    """Billed before unbilled; within either fees, interest, cash, purchases; oldest
    first."""
    billed = 0 if debit.statement is not None else 1
    return (billed, SETTLE_RANK[debit.kind], debit.statement or 0, debit.on, debit.seq)


def _unpaid(debits: Sequence[_Debit], principal: bool) -> Decimal:
    return sum((d.unpaid for d in debits if d.kind.principal_like == principal), ZERO)
