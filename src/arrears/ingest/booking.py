"""The rows a loan import books for each loan: its schedule and its disbursement.

A book of 50,000 loans has about 1,700 distinct (product, principal, rate, term)
combinations but 47,000 distinct terms once the dates count, and building a schedule
costs a quarter of a millisecond. The domain's schedules depend on the dates in two
ways only: the due dates follow from the disbursement and first due dates, and the
amounts depend on the periods' day counts under an ACT convention (under 30/360 not
at all). So due dates and amounts are cached apart, each built by the domain the
first time it is needed and converted for the store once; a loan's installment rows
are then zipped from the two. Card schedules under an ACT convention (whose length
depends on the balance) are cached by their full terms. tests/ingest/test_booking.py
checks the rows against ``build_schedule`` and ``disburse`` for every product.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import repeat
from typing import Any

from sqlalchemy import Connection

from arrears.domain.calendar import DayCount
from arrears.domain.ledger import Ledger
from arrears.domain.operations import disburse
from arrears.domain.products import Product, ScheduleMethod
from arrears.domain.schedule import LoanTerms, build_schedule, due_dates
from arrears.store.rows import column_encoders, entry_rows

CACHE_SIZE = 20_000  # schedules' amounts, and whole schedules
DATES_CACHE_SIZE = 10_000  # due dates by disbursement and first due date
INSTALLMENT_COLUMNS = ("loan_id", "seq", "due_date", "principal", "interest")
ENTRY_COLUMNS = (
    "loan_id",
    "ref",
    "kind",
    "posted_on",
    "amount",
    "reverses",
    "memo",
    "seq",
    "created_at",
)
LEG_COLUMNS = ("loan_id", "ref", "line", "installment", "account", "amount")

Encoder = Callable[[Any], Any]
Row = tuple[Any, ...]


def _encoding(encoder: Encoder | None) -> Encoder:
    return encoder if encoder is not None else (lambda value: value)


class Schedule:
    """A loan's installments as the store takes them (seq, due date, principal,
    interest), column by column; ``rows(loan_id)`` zips them into table rows."""

    __slots__ = ("dues", "interests", "principals", "seqs")

    def __init__(
        self, seqs: Sequence[int], dues: Sequence[Any], principals: Sequence[Any], interests: Any
    ) -> None:
        self.seqs, self.dues, self.principals, self.interests = seqs, dues, principals, interests

    def __len__(self) -> int:
        return len(self.seqs)

    def rows(self, loan_id: str) -> zip[Row]:
        return zip(repeat(loan_id), self.seqs, self.dues, self.principals, self.interests)


class Booking:
    """Builds, with caches, the installments and disbursement rows of imported loans
    for the store behind ``connection`` (values already converted for its driver)."""

    def __init__(self, connection: Connection) -> None:
        due, principal, interest = map(
            _encoding, column_encoders(connection, "installments", INSTALLMENT_COLUMNS[2:])
        )
        self._due, self._principal, self._interest = due, principal, interest
        posted, money, created = map(
            _encoding, column_encoders(connection, "entries", ("posted_on", "amount", "created_at"))
        )
        self._posted, self._money, self._created = posted, money, created
        self._leg_money = _encoding(column_encoders(connection, "legs", ("amount",))[0])
        self._dates: dict[tuple[Any, ...], tuple[list[date], tuple[Any, ...]]] = {}
        self._amounts: dict[tuple[Any, ...], tuple[tuple[int, ...], tuple[Any, ...], Any]] = {}
        self._whole: dict[tuple[Any, ...], Schedule] = {}
        self._disbursements: dict[tuple[str, Decimal], tuple[Any, ...]] = {}
        self._whole_only: set[str] = set()  # products whose due dates surprised us

    def schedule(self, product: Product, terms: LoanTerms) -> Schedule:
        """The schedule ``build_schedule(product, terms)`` gives, converted for the
        store; raises what it raises (``DomainError``)."""
        if product.code in self._whole_only:
            return self._by_terms(product, terms)
        if product.day_count is DayCount.THIRTY_360:
            return self._split(product, terms, ())
        if product.method is ScheduleMethod.CARD_MINIMUM:
            return self._by_terms(product, terms)
        dates, _ = self._due_dates(terms, terms.term_months)
        starts = [terms.disbursed_on, *dates[:-1]]
        days = tuple((end - start).days for start, end in zip(starts, dates, strict=True))
        return self._split(product, terms, days)

    def _due_dates(self, terms: LoanTerms, count: int) -> tuple[list[date], tuple[Any, ...]]:
        """The first ``count`` due dates of ``terms``, and the same converted."""
        key = (terms.disbursed_on, terms.first_due)
        found = self._dates.get(key)
        if found is None or len(found[0]) < count:
            # Due date k does not depend on how many are asked for.
            dates = due_dates(terms, max(count, 2 * len(found[0])) if found else count)
            entry = (dates, tuple(map(self._due, dates)))
            found = self._remember(self._dates, key, entry, DATES_CACHE_SIZE)
        if len(found[0]) == count:
            return found
        return found[0][:count], found[1][:count]

    def _split(self, product: Product, terms: LoanTerms, days: tuple[int, ...]) -> Schedule:
        key = (product.code, terms.principal, terms.annual_rate, terms.term_months, days)
        amounts = self._amounts.get(key)
        if amounts is None:
            built = build_schedule(product, terms)
            if [i.due_date for i in built] != self._due_dates(terms, len(built))[0]:
                self._whole_only.add(product.code)  # never the case today; stay exact
                return self._by_terms(product, terms)
            amounts = self._remember(
                self._amounts,
                key,
                (
                    tuple(i.seq for i in built),
                    tuple(self._principal(i.principal) for i in built),
                    tuple(self._interest(i.interest) for i in built),
                ),
            )
        seqs, principals, interests = amounts
        return Schedule(seqs, self._due_dates(terms, len(seqs))[1], principals, interests)

    def _by_terms(self, product: Product, terms: LoanTerms) -> Schedule:
        key = (product.code, terms)
        found = self._whole.get(key)
        if found is None:
            built = build_schedule(product, terms)
            found = Schedule(
                tuple(i.seq for i in built),
                tuple(self._due(i.due_date) for i in built),
                tuple(self._principal(i.principal) for i in built),
                tuple(self._interest(i.interest) for i in built),
            )
            self._remember(self._whole, key, found)
        return found

    def disbursement(
        self, loan_id: str, currency: str, on: date, principal: Decimal, created_at: Any
    ) -> tuple[Row, list[Row]]:
        """The ``entries`` row (seq 1) and ``legs`` rows of ``disburse`` for the loan,
        converted for the store; ``created_at`` is already converted (see
        ``created``)."""
        ref = f"disb:{loan_id}"
        key = (currency, principal)
        template = self._disbursements.get(key)
        if template is None:
            entry = disburse(Ledger(loan_id, currency), ref, on, principal).entry
            if entry.ref != ref or entry.posted_on != on:
                raise AssertionError("a disbursement is not booked under its ref and date")
            head, legs = entry_rows(loan_id, entry, seq=1)
            template = self._remember(
                self._disbursements,
                key,
                (
                    head["kind"],
                    self._money(head["amount"]),
                    head["reverses"],
                    head["memo"],
                    [
                        (
                            leg["line"],
                            leg["installment"],
                            leg["account"],
                            self._leg_money(leg["amount"]),
                        )
                        for leg in legs
                    ],
                ),
            )
        kind, amount, reverses, memo, legs_template = template
        head_row = (loan_id, ref, kind, self._posted(on), amount, reverses, memo, 1, created_at)
        return head_row, [(loan_id, ref, *leg) for leg in legs_template]

    def created(self, now: datetime) -> Any:
        """``now`` converted for the entries' ``created_at`` column."""
        return self._created(now)

    @staticmethod
    def _remember(cache: dict[Any, Any], key: Any, value: Any, size: int = CACHE_SIZE) -> Any:
        if len(cache) >= size:
            cache.clear()
        cache[key] = value
        return value
