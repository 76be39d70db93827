"""Seeded, reproducible synthetic loan book (合成贷款账簿) in the Parquet import format.

``generate_portfolio`` writes four files: ``customers.parquet``, ``loans.parquet`` and
``payments.parquet`` (the book, columns exactly as the importer expects, see the
``*_SCHEMA`` constants) and ``behaviour.parquet`` (the ground truth of how each customer
was simulated, kept apart from the book for model tests).

Installment amounts come from the domain core's exact schedule
(:func:`arrears.domain.schedule.build_schedule`), cached per distinct contract as int64
cents, so every payment is derived from what the book itself says is due.

Repayment behaviour is drawn per customer and applies to all of the customer's loans:

=================  =====  ==========================================================
class              share  what the customer does
=================  =====  ==========================================================
always_pays        72%    pays each installment exactly: 80% by auto-debit (代扣) on
                          the due date, 20% 1–3 days early; 5% of them pay a
                          round amount slightly above (the excess becomes credit).
late_then_cures    12%    pays like always_pays, except that 45% of installments start
                          a late episode of 1–90 days (65% under 11, 93% under 31);
                          every installment falling due meanwhile is paid when the
                          episode ends, in one payment with a margin for penalty
                          interest and late fees from the product's charge rules
                          (rounded up to the next 10 yuan).
willing_unable      8%    愿还无力: 0–12 normal installments, then each month pays
                          20–80% of the installment 0–20 days late, or (50%) catches
                          up within 10 days: arrears + installment + charge margin;
                          15% give up entirely 2–9 months into the hardship.
able_unwilling      5%    有能力无意愿: pays 1–6 installments, then stops. Half of them
                          come back 60–180 days after the first missed due date with a
                          lump sum of the arrears plus 8% for charges (rounded up to 10
                          yuan) and pay on time afterwards; the other half never pay again.
fraud               3%    60% never pay; 40% pay only the first installment.
=================  =====  ==========================================================

Debt given up for good (the quitters among willing_unable, the able_unwilling who do
not come back, fraud) is not all lost: 40% of those loans settle (协商还款) once,
190–540 days after their first unpaid due date, past the write-off point (M7+), paying
20–60% of the installments fallen due by then in whole hundreds of yuan. These are the
book's recoveries; the rest of such a loan stays unpaid.

At a typical as_of this gives a book in which ~11% of the active (not fully repaid)
loans are past due, M1→M2 roll ~35–40%, about half of M1 cures within a month, and
~4% of active loans sit in M7+ (see ``benchmarks/generate_portfolio.py --stats``).
Payments are written only where ``paid_on <= as_of``. Payment references are
``P<loan no>-<installment no>-<kind>`` with kind 1 on schedule, 2 partial, 3 catch-up with
charges, 4 lump sum after a stop, 5 settlement; the installment is the first one the
payment covers (for a settlement, the first one left unpaid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arrears.domain.calendar import DayCount
from arrears.domain.products import Catalog, load_catalog
from arrears.domain.schedule import LoanTerms, build_schedule, due_dates
from arrears.files import make_private, open_private, private_dir
from arrears.ingest import names

MONEY, RATE, TEXT, DAY = pa.decimal128(18, 2), pa.decimal128(9, 6), pa.string(), pa.date32()
CUSTOMER_SCHEMA = pa.schema(
    dict.fromkeys(["customer_id", "name", "id_number", "customer_type", "mobile", "email",
                   "address", "time_zone", "language"], TEXT)
)  # fmt: skip
LOAN_SCHEMA = pa.schema(
    {"loan_id": TEXT, "customer_id": TEXT, "product_code": TEXT, "currency": TEXT,
     "principal": MONEY, "annual_rate": RATE, "term_months": pa.int32(), "disbursed_on": DAY,
     "first_due_date": DAY}
)  # fmt: skip
PAYMENT_SCHEMA = pa.schema(
    {"payment_ref": TEXT, "loan_id": TEXT, "paid_on": DAY, "amount": MONEY, "currency": TEXT,
     "channel": TEXT}
)  # fmt: skip
BEHAVIOUR_SCHEMA = pa.schema({"customer_id": TEXT, "behaviour": TEXT})

BEHAVIOURS = ("always_pays", "late_then_cures", "willing_unable", "able_unwilling", "fraud")
BEHAVIOUR_SHARES = (0.72, 0.12, 0.08, 0.05, 0.03)
ALWAYS, LATE, UNABLE, UNWILLING, FRAUD = range(5)
ON_SCHEDULE, PARTIAL, CATCH_UP, LUMP, SETTLEMENT = 1, 2, 3, 4, 5
SETTLE_SHARE = 0.4  # of the loans given up for good, the share that settle later
CUSTOMER_TYPES = ("individual", "sme", "corporate")
CUSTOMER_TYPE_SHARES = (0.90, 0.075, 0.025)  # sme and corporate customers borrow SME loans
LOANS_PER_CUSTOMER = (0.83, 0.14, 0.03)  # 1, 2 or 3 loans: 1.2 on average
CHANNELS = ("bank_transfer", "card", "wechat", "alipay", "cash", "agency")
_CHANNEL_MIX = (
    np.cumsum([0.25, 0.12, 0.25, 0.30, 0.03, 0.05]),  # payments on schedule
    np.cumsum([0.35, 0.05, 0.15, 0.15, 0.05, 0.25]),  # catch-ups, often through an agency
)
_VINTAGE_DAYS = 730  # loans are disbursed over the two years before as_of
_EPOCH = date(1970, 1, 1).toordinal()
_BIG = np.int64(1 << 24)  # > any day number here: separates loans in running maxima


@dataclass(frozen=True, slots=True)
class ProductMix:
    """How loans of one product are drawn: share of the book, principal grid
    ``(low, high, step)`` in yuan with a log-normal (right-skewed) size around
    ``median``, term choices, and risk-priced rate variants as factors of the product rate."""

    code: str
    share: float
    grid: tuple[int, int, int]
    median: int
    sigma: float
    terms: tuple[int, ...]
    term_weights: tuple[float, ...]
    rate_factors: tuple[str, ...]
    rate_weights: tuple[float, ...]


PRODUCT_MIX = (
    ProductMix("CONSUMER", 0.45, (3_000, 100_000, 1_000), 15_000, 0.8, (6, 12, 24, 36),
               (0.15, 0.45, 0.25, 0.15), ("0.85", "1", "1.15"), (0.25, 0.6, 0.15)),
    ProductMix("CARD", 0.25, (2_000, 50_000, 500), 8_000, 0.8, (12,), (1.0,), ("1",), (1.0,)),
    ProductMix("MICRO", 0.20, (500, 20_000, 500), 3_000, 0.8, (3, 6, 12), (0.25, 0.5, 0.25),
               ("0.9", "1", "1.1"), (0.2, 0.6, 0.2)),
    ProductMix("SME", 0.10, (100_000, 3_000_000, 50_000), 400_000, 0.9, (12, 24), (0.7, 0.3),
               ("0.75", "1", "1.2"), (0.3, 0.5, 0.2)),
)  # fmt: skip
PRODUCT_CODES = tuple(m.code for m in PRODUCT_MIX)
_SME, _CARD = PRODUCT_CODES.index("SME"), PRODUCT_CODES.index("CARD")
_FILES = {"customers": CUSTOMER_SCHEMA, "loans": LOAN_SCHEMA, "payments": PAYMENT_SCHEMA,
          "behaviour": BEHAVIOUR_SCHEMA}  # fmt: skip


@dataclass(frozen=True, slots=True)
class GeneratedPortfolio:
    """What ``generate_portfolio`` wrote: the four files, row counts, and the share of
    customers in each behaviour class."""

    customers_path: Path
    loans_path: Path
    payments_path: Path
    behaviour_path: Path
    customers: int
    loans: int
    payments: int
    behaviour_shares: dict[str, float]


def canonical_days(days: np.ndarray) -> np.ndarray:
    """For each disbursement day (days since 1970-01-01), a day whose due dates lie the
    same number of days after it: the 1st of its month for days 1–28, else itself."""
    d = np.asarray(days).astype("datetime64[D]")
    first = d.astype("datetime64[M]").astype("datetime64[D]")
    return np.where((d - first).astype(np.int64) < 28, first, d).astype(np.int64)


class ScheduleCache:
    """Exact schedules of the domain core as int64 cents, built once per distinct
    contract (product, principal, rate, term, and for ACT/365 and ACT/360 products the
    canonical disbursement day, or the canonical first due day and the days before it),
    plus the days from a date to the same day of the following months (the due-date
    rule of ``due_dates``)."""

    def __init__(self, catalog: Catalog, codes: tuple[str, ...] = PRODUCT_CODES) -> None:
        self.products = tuple(catalog.product(c) for c in codes)
        self.actual_days = np.array([p.day_count is not DayCount.THIRTY_360 for p in self.products])
        self._amounts: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._offsets: dict[int, np.ndarray] = {}

    def amounts(
        self,
        product: int,
        principal_cents: int,
        rate_micro: int,
        term: int,
        day: int,
        first_gap: int = -1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(principal, interest) cents per installment; ``day`` is the canonical
        disbursement day, ignored (pass -1) for 30/360 products. With ``first_gap`` >= 0,
        ``day`` is the canonical first due day and the loan was disbursed ``first_gap``
        days before it (the amounts of an ACT product depend on both)."""
        key = (product, principal_cents, rate_micro, term, day, first_gap)
        if key not in self._amounts:
            start = date.fromordinal(_EPOCH + day) if day >= 0 else date(2000, 1, 1)
            first_due = None
            if first_gap >= 0:
                start, first_due = start - timedelta(days=first_gap), start
            terms = LoanTerms(
                Decimal(principal_cents).scaleb(-2),
                Decimal(rate_micro).scaleb(-6),
                term,
                start,
                first_due,
            )
            rows = build_schedule(self.products[product], terms)
            principal = np.array([int(i.principal.scaleb(2)) for i in rows], dtype=np.int64)
            interest = np.array([int(i.interest.scaleb(2)) for i in rows], dtype=np.int64)
            self._amounts[key] = (principal, interest)
        return self._amounts[key]

    def offsets(self, day: int, count: int) -> np.ndarray:
        """Days from the (canonical) ``day`` to the same day 0, 1, … ``count - 1`` months on."""
        have = self._offsets.get(day)
        if have is None or len(have) < count:
            start = date.fromordinal(_EPOCH + day)
            dates = due_dates(LoanTerms(Decimal(1), Decimal(0), 1, start), max(count, 48))
            have = self._offsets[day] = np.array([0] + [(d - start).days for d in dates])
        return have[:count]


@dataclass(frozen=True, slots=True)
class Installments:
    """Installments of a batch of loans due up to a day, one row each: row r is
    installment ``seq[r]`` (0-based) of loan ``loan[r]``, in loan then seq order.
    ``count``, ``total_cents`` and ``first_due_day`` are per loan, over the whole schedule."""

    loan: np.ndarray
    seq: np.ndarray
    due_day: np.ndarray
    due_cents: np.ndarray
    count: np.ndarray
    total_cents: np.ndarray
    first_due_day: np.ndarray


def _unique_rows(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the given columns and each row's index among them (a lexsort is
    much faster than ``np.unique(axis=0)``)."""
    keys = np.stack(columns, axis=1).astype(np.int64)
    order = np.lexsort(keys.T[::-1])
    ordered = keys[order]
    new = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)][: len(keys)]
    inverse = np.empty(len(keys), np.int64)
    inverse[order] = np.cumsum(new) - 1
    return ordered[new], inverse


def expand_installments(
    cache: ScheduleCache,
    product: np.ndarray,
    principal_cents: np.ndarray,
    rate_micro: np.ndarray,
    term: np.ndarray,
    disbursed_day: np.ndarray,
    until_day: int,
    first_due_day: np.ndarray | None = None,
) -> Installments:
    """The exact installments due on or before ``until_day`` of each loan, vectorized:
    Python work is one cache lookup per distinct contract, not per loan. Days count from
    1970-01-01; ``first_due_day`` is -1 for the default (a month after disbursement)."""
    explicit = np.zeros(len(product), bool) if first_due_day is None else first_due_day >= 0
    base = np.where(explicit, first_due_day, disbursed_day)  # type: ignore[arg-type]
    shift = (~explicit).astype(np.int64)  # default: due dates start one month after base
    actual = cache.actual_days[product]
    # An ACT product's amounts follow its periods' lengths: the months from the
    # (canonical) first due day on, and for an explicit first due day the days before it.
    day_key = np.where(actual, canonical_days(base), -1)
    gap_key = np.where(actual & explicit, base - disbursed_day, -1)
    uniq, inverse = _unique_rows([product, principal_cents, rate_micro, term, day_key, gap_key])
    scheds = [np.add(*cache.amounts(*(int(v) for v in row))) for row in uniq]
    lengths = np.array([len(s) for s in scheds], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    pool = np.concatenate([np.zeros(0, np.int64), *scheds])
    totals = np.add.reduceat(pool, starts) if len(pool) else lengths
    count, width = lengths[inverse], int(lengths.max(initial=1)) + 1
    days, day_idx = np.unique(canonical_days(base), return_inverse=True)
    offsets = np.stack([cache.offsets(int(d), width) for d in days] or [np.zeros(width, np.int64)])
    flat = (offsets + np.arange(len(offsets))[:, None] * _BIG).ravel()
    limit = np.clip(until_day - base, -1, _BIG - 1)  # stay inside the loan's own row
    pos = np.searchsorted(flat, day_idx * _BIG + limit, side="right")
    due_n = np.minimum(np.clip(pos - day_idx * width - shift, 0, None), count)
    loan = np.repeat(np.arange(len(count)), due_n)
    seq = np.arange(len(loan)) - np.repeat(np.cumsum(due_n) - due_n, due_n)
    return Installments(
        loan=loan,
        seq=seq,
        due_day=base[loan] + offsets[day_idx[loan], seq + shift[loan]],
        due_cents=pool[starts[inverse][loan] + seq],
        count=count,
        total_cents=totals[inverse],
        first_due_day=base + offsets[day_idx, shift],
    )


def _due_on_day(earliest: np.ndarray, day_of_month: np.ndarray) -> np.ndarray:
    """The first date on ``day_of_month`` (1–28) on or after ``earliest``."""
    start = earliest.astype("datetime64[D]")
    month = start.astype("datetime64[M]")
    due = month.astype("datetime64[D]") + (day_of_month - 1)
    later = (month + 1).astype("datetime64[D]") + (day_of_month - 1)
    return np.where(due < start, later, due).astype(np.int64)


def _ceil(cents: np.ndarray, unit: int | np.ndarray) -> np.ndarray:
    return np.ceil(cents / unit).astype(np.int64) * unit


def _running_max(values: np.ndarray, loan: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` (days) restarting at each loan."""
    separate = loan.astype(np.int64) * _BIG
    return np.maximum.accumulate(values + separate) - separate


def _last_marked(flags: np.ndarray) -> np.ndarray:
    """For each row, the index of the latest row at or before it where ``flags`` holds."""
    return np.maximum.accumulate(np.where(flags, np.arange(len(flags)), 0))


def _simulate(
    rng: np.random.Generator, ins: Installments, behaviour: np.ndarray, product: np.ndarray,
    disbursed: np.ndarray, as_of_day: int, charges: tuple[np.ndarray, ...],
) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Payments (loan, seq, kind, day, cents, channel) made on the installments ``ins``
    by loans of the given behaviour classes, up to ``as_of_day``."""
    n, nl = len(ins.loan), len(behaviour)
    loan, k, due, amt = ins.loan, ins.seq, ins.due_day, ins.due_cents
    b, rows = behaviour[loan], np.arange(n)
    # Each row is paid (or not) as part of one payment, identified by its first row `rep`.
    # most on-time repayment is auto-debit (代扣) on the due date; a fifth pay 1-3 days early
    early = np.where(rng.random(n) < 0.2, rng.integers(1, 4, n), 0)
    pay_day, contrib, paid, rep = due - early, amt.copy(), np.ones(n, bool), rows
    kind, since, extra = np.full(n, ON_SCHEDULE), due.copy(), np.zeros(n, np.int64)

    # late_then_cures: an episode's end settles every installment due before it.
    late, u = b == LATE, rng.random(n)
    delay = np.select([u < 0.65, u < 0.93], [rng.integers(1, 11, n), rng.integers(11, 31, n)],
                      rng.integers(31, 91, n))  # fmt: skip
    settle = _running_max(np.where(late & (rng.random(n) < 0.45), due + delay, pay_day), loan)
    behind = late & (settle > due)
    pay_day = np.where(late, settle, pay_day)
    same = np.r_[False, behind[:-1] & (settle[:-1] == settle[1:])] & (k > 0)
    rep = np.where(behind, _last_marked(behind & ~same), rep)
    kind = np.where(behind, CATCH_UP, kind)

    # willing_unable: partial payments, now and then a catch-up, some give up.
    hard_from = rng.integers(0, 13, nl)[loan]
    hard = (b == UNABLE) & (k >= hard_from)
    quit_at = np.where(rng.random(nl) < 0.15, rng.integers(2, 10, nl), 10**6)[loan]
    gone = hard & (k - hard_from >= quit_at)
    catch = hard & ~gone & (rng.random(n) < 0.5)
    partial = hard & ~gone & ~catch
    part = (amt * rng.uniform(0.2, 0.8, n)).astype(np.int64) // 100 * 100  # whole yuan
    part = np.minimum(np.maximum(part, 100), amt)
    short = np.where(partial, amt - part, 0)
    short_before, parts_before = np.cumsum(short) - short, np.cumsum(partial) - partial
    seg = _last_marked((k == 0) | np.r_[False, catch[:-1]])  # first row since the last catch-up
    contrib = np.select([partial, catch], [part, amt + short_before - short_before[seg]], contrib)
    pay_day = np.select([partial, catch], [due + rng.integers(0, 21, n),
                                           due + rng.integers(0, 11, n)], pay_day)  # fmt: skip
    kind = np.select([partial, catch], [PARTIAL, CATCH_UP], kind)
    since = np.where(catch, due[seg], since)
    extra = np.where(catch, parts_before - parts_before[seg], extra)
    paid &= ~gone

    # able_unwilling: stops after 1–6 installments; half come back with a lump sum.
    stop_k = rng.integers(1, 7, nl)[loan]
    stopped = (b == UNWILLING) & (k >= stop_k)
    first_missed = _last_marked(k == stop_k)
    back = due[first_missed] + rng.integers(60, 181, nl)[loan]
    comes_back = (rng.random(nl) < 0.5)[loan]
    lump = stopped & comes_back & (due <= back)
    rep, pay_day = np.where(lump, first_missed, rep), np.where(lump, back, pay_day)
    kind = np.where(lump, LUMP, kind)
    paid &= ~(stopped & ~comes_back)

    # fraud: never pays, or only the first installment.
    paid &= ~((b == FRAUD) & ~((rng.random(nl) < 0.4)[loan] & (k == 0)))

    rounder = ((behaviour == ALWAYS) & (rng.random(nl) < 0.05))[loan]
    sel = np.flatnonzero(paid)
    first = np.flatnonzero(np.r_[True, rep[sel][1:] != rep[sel][:-1]])[: len(sel)]
    total = np.add.reduceat(contrib[sel], first) if len(sel) else contrib[:0]
    ev = rep[sel][first]
    ev_kind, ev_prod = kind[ev], product[loan[ev]]
    ev_day = np.maximum(pay_day[ev], disbursed[loan[ev]])
    daily, fee_rate, fee_fixed = charges
    n_inst = np.diff(np.r_[first, len(sel)]) + extra[ev]
    charge = total * (daily[ev_prod] * (ev_day - since[ev]) + fee_rate[ev_prod])
    cents = np.select(
        [ev_kind == CATCH_UP, ev_kind == LUMP, rounder[ev] & (ev_kind == ON_SCHEDULE)],
        [_ceil(total + charge + fee_fixed[ev_prod] * n_inst, 1000), _ceil(total * 1.08, 1000),
         _ceil(total, np.where(total >= 100_000, 10_000, 1_000))],
        total,
    )  # fmt: skip
    u = rng.random(len(ev))
    on_schedule, collected = (np.searchsorted(m, u, side="right") for m in _CHANNEL_MIX)
    channel = np.minimum(np.where(ev_kind >= CATCH_UP, collected, on_schedule), len(CHANNELS) - 1)
    keep = (ev_day <= as_of_day) & (cents > 0)
    events = [c[keep] for c in (loan[ev], k[ev] + 1, ev_kind, ev_day, cents, channel)]
    # drawn after everything above, so the book's other payments stay as they were
    settled = _settlements(rng, ins, ~paid, as_of_day)
    order = np.lexsort((np.r_[events[1], settled[1]], np.r_[events[0], settled[0]]))
    return tuple(np.r_[a, b][order] for a, b in zip(events, settled, strict=True))


def _settlements(
    rng: np.random.Generator, ins: Installments, unpaid: np.ndarray, as_of_day: int
) -> tuple[np.ndarray, ...]:
    """Settlements (协商还款) of debt given up for good, in the shape ``_simulate``
    returns: every installment left unpaid belongs to a loan whose customer stopped for
    good; ``SETTLE_SHARE`` of those loans pay once, 190–540 days after their first
    unpaid due date (past the write-off point, M7+), 20–60% of what fell due by then,
    in whole hundreds of yuan."""
    rows = np.flatnonzero(unpaid)
    loan_of = ins.loan[rows]
    starts = rows[np.r_[True, loan_of[1:] != loan_of[:-1]]] if len(rows) else rows
    n = len(starts)
    settles = rng.random(n) < SETTLE_SHARE
    day = ins.due_day[starts] + rng.integers(190, 541, n)
    share = rng.uniform(0.2, 0.6, n)
    channel = np.searchsorted(_CHANNEL_MIX[1], rng.random(n), side="right")
    at = np.searchsorted(ins.loan[starts], loan_of)
    owed = np.zeros(n, np.int64)
    np.add.at(owed, at, np.where(ins.due_day[rows] <= day[at], ins.due_cents[rows], 0))
    cents = (owed * share).astype(np.int64) // 10_000 * 10_000
    keep = settles & (day <= as_of_day) & (cents > 0)
    kind = np.full(n, SETTLEMENT)
    out = (ins.loan[starts], ins.seq[starts] + 1, kind, day, cents, channel)
    return tuple(np.asarray(c)[keep] for c in out)


def _decimals(units: np.ndarray, type_: pa.Decimal128Type) -> pa.Array:
    """Exact decimals from integer minor units (cents for money, millionths for rates):
    the int64 is the low word of the 128-bit unscaled value, its sign the high word."""
    words = np.empty((len(units), 2), dtype="<i8")
    words[:, 0], words[:, 1] = units, np.asarray(units, dtype=np.int64) >> 63
    return pa.Array.from_buffers(type_, len(units), [None, pa.py_buffer(words)])


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(days.astype(np.int32), pa.int32(), mask=mask).cast(DAY)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(numbers, pa.int64()).cast(TEXT), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


@dataclass(frozen=True, slots=True)
class _Book:
    cache: ScheduleCache
    seed: int
    as_of_day: int
    rates: tuple[np.ndarray, ...]  # per product: the rate variants in millionths
    charges: tuple[np.ndarray, ...]  # per product: daily charge rate, fee rate, fee cents
    currencies: pa.Array

    @classmethod
    def of(cls, catalog: Catalog, seed: int, as_of: date) -> _Book:
        missing = [code for code in PRODUCT_CODES if code not in catalog.products]
        if missing:
            raise ValueError(f"the generator needs products {missing} in the catalog")
        cache = ScheduleCache(catalog)
        rates = tuple(
            np.array([int((p.annual_rate * Decimal(f)).quantize(Decimal("0.0001")).scaleb(6))
                      for f in mix.rate_factors])
            for p, mix in zip(cache.products, PRODUCT_MIX, strict=True)
        )  # fmt: skip
        ch = [p.charges for p in cache.products]
        charges = (
            np.array([float(max(c.penalty_rate, c.compound_rate)) / 365 for c in ch]),
            np.array([float(c.late_fee_rate) for c in ch]),
            np.array([float(c.late_fee_fixed * 100) for c in ch]),
        )
        currencies = pa.array([p.currency for p in cache.products])
        return cls(cache, seed, as_of.toordinal() - _EPOCH, rates, charges, currencies)


def _chunk(book: _Book, index: int, first_loan: int, n: int, first_customer: int) -> list[pa.Table]:
    """Customers, loans, payments and behaviour of one chunk of ``n`` loans, seeded by
    (seed, chunk index) alone."""
    rng = np.random.default_rng([book.seed, index])
    per = rng.choice(3, size=n, p=LOANS_PER_CUSTOMER) + 1
    n_cust = int(np.searchsorted(np.cumsum(per), n)) + 1
    per = per[:n_cust]
    per[-1] -= int(per.sum()) - n
    cust_no = first_customer + np.arange(1, n_cust + 1)
    cust_ids = _ids("C", cust_no, 8)
    ctype = rng.choice(len(CUSTOMER_TYPES), size=n_cust, p=CUSTOMER_TYPE_SHARES)
    behaviour = rng.choice(len(BEHAVIOURS), size=n_cust, p=BEHAVIOUR_SHARES)
    customers = pa.Table.from_pydict(
        {"customer_id": cust_ids, "customer_type": pa.array(CUSTOMER_TYPES).take(ctype),
         **names.draw_people(rng, cust_no, book.as_of_day)},
        schema=CUSTOMER_SCHEMA,
    )  # fmt: skip

    owner = np.repeat(np.arange(n_cust), per)
    retail = [i for i in range(len(PRODUCT_MIX)) if i != _SME]
    retail_p = np.array([PRODUCT_MIX[i].share for i in retail])
    retail_draw = rng.choice(retail, size=n, p=retail_p / retail_p.sum())
    product = np.where(ctype[owner] > 0, _SME, retail_draw)
    low, high, step = np.array([m.grid for m in PRODUCT_MIX])[product].T
    median, sigma = np.array([(m.median, m.sigma) for m in PRODUCT_MIX])[product].T
    size = median * np.exp(sigma * rng.standard_normal(n))  # right-skewed around the median
    principal = np.clip(np.round(size / step) * step, low, high).astype(np.int64) * 100
    term, rate = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for i, mix in enumerate(PRODUCT_MIX):
        at = product == i
        term[at] = rng.choice(mix.terms, size=int(at.sum()), p=mix.term_weights)
        rate[at] = rng.choice(book.rates[i], size=int(at.sum()), p=mix.rate_weights)
    # Vintage volume grows linearly (x3 over two years): inverse CDF of density 1 + 2t.
    t = (np.sqrt(1 + 8 * rng.random(n)) - 1) / 2
    disbursed = book.as_of_day - _VINTAGE_DAYS + np.floor(t * _VINTAGE_DAYS).astype(np.int64)
    # Cards fall due on the holder's 还款日 (5th … 25th), 20–50 days after the first draw.
    card_due = _due_on_day(disbursed + 20, rng.choice([5, 10, 15, 20, 25], size=n))
    first_due = np.where(product == _CARD, card_due, -1)
    ins = expand_installments(book.cache, product, principal, rate, term, disbursed,
                              book.as_of_day + 3, first_due)  # fmt: skip
    loan_no = first_loan + np.arange(1, n + 1)
    loan_ids, currency = _ids("L", loan_no, 9), book.currencies.take(pa.array(product))
    loans = pa.Table.from_arrays(
        [loan_ids, cust_ids.take(pa.array(owner)), pa.array(PRODUCT_CODES).take(product),
         currency, _decimals(principal, MONEY), _decimals(rate, RATE), term.astype(np.int32),
         _dates(disbursed), _dates(ins.first_due_day, mask=first_due < 0)],
        schema=LOAN_SCHEMA,
    )  # fmt: skip

    loan, seq, kind, day, cents, channel = _simulate(
        rng, ins, behaviour[owner], product, disbursed, book.as_of_day, book.charges
    )
    seq_text = pc.utf8_lpad(pa.array(seq, pa.int64()).cast(TEXT), width=2, padding="0")
    refs = [_ids("P", loan_no[loan], 9), seq_text, pa.array(kind, pa.int64()).cast(TEXT)]
    payments = pa.Table.from_arrays(
        [pc.binary_join_element_wise(*refs, "-"), loan_ids.take(loan), _dates(day),
         _decimals(cents, MONEY), currency.take(loan), pa.array(CHANNELS).take(channel)],
        schema=PAYMENT_SCHEMA,
    )  # fmt: skip
    truth = pa.Table.from_arrays(
        [cust_ids, pa.array(BEHAVIOURS).take(behaviour)], schema=BEHAVIOUR_SCHEMA
    )
    return [customers, loans, payments, truth]


def generate_portfolio(
    out_dir: Path,
    loans: int,
    as_of: date,
    seed: int = 42,
    catalog: Catalog | None = None,
    chunk_size: int = 200_000,
    progress: Callable[[int], None] | None = None,
) -> GeneratedPortfolio:
    """Write a synthetic book of ``loans`` loans as it stands on ``as_of`` to ``out_dir``.

    The same arguments give byte-identical files (each chunk is seeded by ``seed`` and its
    index, so ``chunk_size`` is part of the recipe); another seed gives another book.
    Loans are processed ``chunk_size`` at a time, each chunk one Parquet row group, so
    memory does not grow with ``loans``. Files appear only when complete (written under
    a temporary name, renamed at the end). ``catalog`` (default: the bundled one) must
    define CONSUMER, CARD, MICRO and SME; ``progress`` gets the loans done after each chunk.
    """
    if loans < 0 or chunk_size <= 0:
        raise ValueError(f"need loans >= 0 and chunk_size > 0, got {loans} and {chunk_size}")
    book = _Book.of(catalog or load_catalog(), seed, as_of)
    out_dir = Path(out_dir)
    private_dir(out_dir)
    paths = {name: out_dir / f"{name}.parquet" for name in _FILES}
    temp = {name: path.with_suffix(".parquet.partial") for name, path in paths.items()}
    for partial in temp.values():  # created 0600 first: the writers truncate, keeping the mode
        open_private(partial, "wb").close()
    writers = {name: pq.ParquetWriter(temp[name], schema) for name, schema in _FILES.items()}
    rows, classes = dict.fromkeys(_FILES, 0), np.zeros(len(BEHAVIOURS), np.int64)
    try:
        for index, first in enumerate(range(0, loans, chunk_size)):
            n = min(chunk_size, loans - first)
            tables = _chunk(book, index, first, n, rows["customers"])
            for name, table in zip(_FILES, tables, strict=True):
                writers[name].write_table(table, row_group_size=max(len(table), 1))
                rows[name] += len(table)
            truth = tables[-1]["behaviour"]
            classes += [pc.sum(pc.equal(truth, b)).as_py() or 0 for b in BEHAVIOURS]
            if progress is not None:
                progress(first + n)
    except BaseException:
        for name, writer in writers.items():
            writer.close()
            temp[name].unlink(missing_ok=True)
        raise
    for name, writer in writers.items():
        writer.close()
        make_private(temp[name]).replace(paths[name])
    shares = (classes / max(int(classes.sum()), 1)).tolist()
    return GeneratedPortfolio(
        customers_path=paths["customers"],
        loans_path=paths["loans"],
        payments_path=paths["payments"],
        behaviour_path=paths["behaviour"],
        customers=rows["customers"],
        loans=rows["loans"],
        payments=rows["payments"],
        behaviour_shares=dict(zip(BEHAVIOURS, shares, strict=True)),
    )
