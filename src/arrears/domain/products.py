"""Product and portfolio rules: every configurable rule of the book, defined once.

A catalog is read from a TOML file (see ``products/default.toml``) with a
``[portfolio]`` table (currency, ageing buckets, five-tier thresholds) and one
``[products.CODE]`` table per product (schedule method, rates, day count, rounding of
the equal principal, grace, penalty, late fee, cost cap, payment waterfall).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Any

from arrears.domain.calendar import DayCount
from arrears.domain.errors import DomainError, ProductError
from arrears.domain.money import DEFAULT_CURRENCY, MINOR_UNITS, to_decimal


class ScheduleMethod(StrEnum):
    ANNUITY = "annuity"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_ONLY = "interest_only"  # 先息后本
    CARD_MINIMUM = "card_minimum"  # 信用卡账单, minimum payment each statement


class PrincipalRounding(StrEnum):
    """How an equal-principal (等额本金) schedule rounds its monthly principal P / n to the
    minor unit; the last installment takes whatever is left either way."""

    HALF_UP = "half_up"  # 2,777.777… → 2,777.78, as published mortgage calculators do
    DOWN = "down"  # 2,777.777… → 2,777.77, the last installment a little larger


class Component(StrEnum):
    """What a receivable amount is. COST, FEE, PENALTY and COMPOUND are kept per loan;
    INTEREST and PRINCIPAL per installment."""

    COST = "cost"  # 实现债权的有关费用: legal and collection costs of enforcing the debt
    FEE = "fee"
    PENALTY = "penalty"  # 罚息 on overdue principal
    COMPOUND = "compound"  # 复利 on overdue interest
    INTEREST = "interest"
    PRINCIPAL = "principal"

    @property
    def per_installment(self) -> bool:
        return self in (Component.INTEREST, Component.PRINCIPAL)


PAYABLE_COMPONENTS = tuple(Component)
CHARGE_COMPONENTS = (Component.FEE, Component.PENALTY, Component.COMPOUND)
# a waterfall that does not name costs settles them first (Civil Code art. 561)
ORDERED_COMPONENTS = tuple(c for c in Component if c is not Component.COST)


class InstallmentOrder(StrEnum):
    OLDEST_FIRST = "oldest_first"
    CURRENT_FIRST = "current_first"


class WaterfallMode(StrEnum):
    BY_COMPONENT = "by_component"  # all interest of all installments, then all principal
    BY_INSTALLMENT = "by_installment"  # interest+principal of the oldest, then the next


@dataclass(frozen=True, slots=True)
class Waterfall:
    """The order in which a payment settles what is due (还款顺序)."""

    order: tuple[Component, ...] = (
        Component.FEE,
        Component.PENALTY,
        Component.COMPOUND,
        Component.INTEREST,
        Component.PRINCIPAL,
    )
    installments: InstallmentOrder = InstallmentOrder.OLDEST_FIRST
    mode: WaterfallMode = WaterfallMode.BY_INSTALLMENT

    def __post_init__(self) -> None:
        named = sorted((c for c in self.order if c is not Component.COST), key=lambda c: c.value)
        if named != sorted(ORDERED_COMPONENTS, key=lambda c: c.value) or (
            self.order.count(Component.COST) > 1
        ):
            raise DomainError(
                "waterfall order must name each of fee, penalty, compound, interest, "
                f"principal exactly once (and cost at most once), got "
                f"{[c.value for c in self.order]}"
            )
        if self.mode is WaterfallMode.BY_INSTALLMENT:
            i, p = self.order.index(Component.INTEREST), self.order.index(Component.PRINCIPAL)
            if abs(i - p) != 1:
                raise DomainError(
                    "waterfall mode by_installment needs interest and principal next to each "
                    "other in the order"
                )

    @property
    def full_order(self) -> tuple[Component, ...]:
        """The order with costs placed: first unless the order names them."""
        return self.order if Component.COST in self.order else (Component.COST, *self.order)


# Civil Code art. 561: what is paid settles the costs of enforcing the debt, then interest
# (罚息 and 复利 with the contract interest), then the principal; anything else (a late
# fee, 违约金) after the debt itself. By component, oldest installment first.
CIVIL_CODE_561 = Waterfall(
    order=(
        Component.COST,
        Component.PENALTY,
        Component.COMPOUND,
        Component.INTEREST,
        Component.PRINCIPAL,
        Component.FEE,
    ),
    installments=InstallmentOrder.OLDEST_FIRST,
    mode=WaterfallMode.BY_COMPONENT,
)
NAMED_WATERFALLS = {"civil_code_561": CIVIL_CODE_561}


@dataclass(frozen=True, slots=True)
class BucketScheme:
    """Ageing buckets by days past due. ``edges`` are the inclusive upper DPD bounds of
    M0, M1, ...; anything above the last edge is the final open bucket (M7+ by default)."""

    edges: tuple[int, ...] = (0, 30, 60, 90, 120, 150, 180)

    def __post_init__(self) -> None:
        if not self.edges or self.edges[0] != 0:
            raise DomainError("bucket edges must start at 0 (M0 = current)")
        if any(b <= a for a, b in pairwise(self.edges)):
            raise DomainError(f"bucket edges must increase strictly, got {list(self.edges)}")

    @property
    def names(self) -> tuple[str, ...]:
        last = len(self.edges)
        return (*(f"M{i}" for i in range(last)), f"M{last}+")

    def index(self, dpd: int) -> int:
        """Position of the bucket that ``dpd`` falls in (0 = M0)."""
        for i, edge in enumerate(self.edges):
            if dpd <= edge:
                return i
        return len(self.edges)

    def bucket(self, dpd: int) -> str:
        return self.names[self.index(dpd)]

    def label(self, index: int) -> str:
        """Human range of a bucket, e.g. 'M2 (31–60)'."""
        name = self.names[index]
        if index == 0:
            return f"{name} (current)"
        low = self.edges[index - 1] + 1
        if index == len(self.edges):
            return f"{name} (>{self.edges[-1]})"
        return f"{name} ({low}–{self.edges[index]})"


class LoanClass(StrEnum):
    """五级分类, the regulatory five-tier classification."""

    NORMAL = "normal"  # 正常
    SPECIAL_MENTION = "special_mention"  # 关注
    SUBSTANDARD = "substandard"  # 次级
    DOUBTFUL = "doubtful"  # 可疑
    LOSS = "loss"  # 损失

    @property
    def zh(self) -> str:
        return _CLASS_ZH[self]


_CLASS_ZH = {
    LoanClass.NORMAL: "正常",
    LoanClass.SPECIAL_MENTION: "关注",
    LoanClass.SUBSTANDARD: "次级",
    LoanClass.DOUBTFUL: "可疑",
    LoanClass.LOSS: "损失",
}


@dataclass(frozen=True, slots=True)
class ClassificationScheme:
    """Upper DPD bounds (inclusive) of 正常, 关注, 次级 and 可疑; above is 损失.

    Defaults follow the 2023 NFRA rule on risk classification: any overdue day makes a
    loan at least 关注, over 90 days 次级, over 270 可疑, over 360 损失."""

    normal: int = 0
    special_mention: int = 90
    substandard: int = 270
    doubtful: int = 360

    def __post_init__(self) -> None:
        bounds = [self.normal, self.special_mention, self.substandard, self.doubtful]
        if bounds[0] < 0 or any(b <= a for a, b in pairwise(bounds)):
            raise DomainError(f"classification thresholds must increase strictly, got {bounds}")

    def classify(self, dpd: int) -> LoanClass:
        if dpd <= self.normal:
            return LoanClass.NORMAL
        if dpd <= self.special_mention:
            return LoanClass.SPECIAL_MENTION
        if dpd <= self.substandard:
            return LoanClass.SUBSTANDARD
        if dpd <= self.doubtful:
            return LoanClass.DOUBTFUL
        return LoanClass.LOSS


class CapBasis(StrEnum):
    """What the cost cap's yearly rate is applied to (docs/loan-rules.md)."""

    # contract interest fallen due plus every charge ≤ rate × the original principal ×
    # days since disbursement / 365 (the project's first convention)
    ORIGINAL = "original"
    # 罚息, 复利 and fees ≤ rate × the principal past due, day by day / 365: an
    # annualised cost on the outstanding principal in arrears (the courts' measure)
    OVERDUE = "overdue"


class PenaltyFrom(StrEnum):
    """From when 罚息 and 复利 run on an installment that misses its grace period."""

    GRACE_END = "grace_end"  # from the first day after grace (the first convention)
    DUE_DATE = "due_date"  # back-charged for the grace days too, once grace is missed


class ChargeDays(StrEnum):
    """How the days of 罚息 and 复利 are counted: how many days one calendar day counts
    for, and over how many days a year."""

    ACTUAL = "actual"  # every day is one day of base × rate / basis (the first convention)
    THIRTY_360 = "30/360"  # true 30/360: a month is 30 days, the 31st counts 0, 1 Mar 3
    # ACT/ACT (ISDA): every day is one day of its year, base × rate / 365 or / 366 in a
    # leap year (the year of the day before: a day's charge covers the night before it)
    ACT_ACT = "ACT/ACT"


class AccrualRounding(StrEnum):
    """When a day's 罚息 and 复利 are rounded to the minor unit."""

    DAILY = "daily"  # each day rounded and posted on its own (the first convention)
    # accrued exactly, posted rounded at the end of each calendar month and before any
    # payment or other posting; the sub-cent remainder carried on
    MONTHLY = "monthly"
    # accrued exactly, posted rounded only before a payment or other posting (利随本清)
    AT_PAYMENT = "at_payment"


LprTable = tuple[tuple[date, Decimal], ...]  # (effective from, one-year LPR), ascending


@dataclass(frozen=True, slots=True)
class ChargeRules:
    """Overdue charges and the cost cap.

    Penalty (罚息) accrues daily on overdue principal at ``penalty_rate`` per year, compound
    interest (复利) daily on overdue interest at ``compound_rate``; each day's amount is
    rounded half-up to the cent, or with ``accrual_rounding`` monthly / at_payment
    accrued exactly and rounded when posted (the remainder carried on); ``charge_days``
    says how the days count (actual, true 30/360, ACT/ACT). A late fee (fixed, or a
    share of the missed installment) is charged once per installment when it passes the
    grace period. The cost cap is a
    yearly rate, ``cost_cap``, or ``cost_cap_lpr_multiple`` × the one-year LPR in force
    on the contract date (from ``lpr``), applied as ``cost_cap_basis`` says; charges are
    cut to the headroom and stop there.
    """

    penalty_rate: Decimal = Decimal(0)
    compound_rate: Decimal = Decimal(0)
    late_fee_fixed: Decimal = Decimal(0)
    late_fee_rate: Decimal = Decimal(0)
    cost_cap: Decimal | None = None
    cost_cap_basis: CapBasis = CapBasis.ORIGINAL
    cost_cap_lpr_multiple: Decimal | None = None
    lpr: LprTable = ()
    penalty_from: PenaltyFrom = PenaltyFrom.GRACE_END
    charge_days: ChargeDays = ChargeDays.ACTUAL
    accrual_rounding: AccrualRounding = AccrualRounding.DAILY

    @property
    def exact(self) -> bool:
        """Whether 罚息 and 复利 accrue unrounded and are rounded when posted."""
        return self.accrual_rounding is not AccrualRounding.DAILY

    @property
    def capped(self) -> bool:
        return self.cost_cap is not None or self.cost_cap_lpr_multiple is not None

    def cap_rate(self, contract_date: date) -> Decimal | None:
        """The cap's yearly rate for a contract made on ``contract_date`` (None: no cap)."""
        if self.cost_cap_lpr_multiple is None:
            return self.cost_cap
        return self.cost_cap_lpr_multiple * lpr_on(self.lpr, contract_date)


def lpr_on(table: LprTable, day: date) -> Decimal:
    """The one-year LPR in force on ``day``."""
    rate = None
    for since, value in table:
        if since > day:
            break
        rate = value
    if rate is None:
        first = table[0][0] if table else None
        raise DomainError(f"no one-year LPR in force on {day} (the table starts {first})")
    return rate


# the order recoveries after a charge-off reduce the shadow balances, by name
PRINCIPAL_FIRST: tuple[Component, ...] = (
    Component.PRINCIPAL,
    Component.INTEREST,
    Component.PENALTY,
    Component.COMPOUND,
    Component.FEE,
    Component.COST,
)
NAMED_RECOVERY_ORDERS: dict[str, tuple[Component, ...]] = {"principal_first": PRINCIPAL_FIRST}


@dataclass(frozen=True, slots=True)
class ChargeOffRule:
    """When the daily close charges a loan off (核销 by rule): at the end of the first
    day its DPD reaches ``at_dpd``, or reaches the first DPD of class ``at_class``
    (``class_dpd``, resolved against the product's classification when the catalogue
    is loaded), whichever comes first; neither set: never. ``recovery_order`` is the
    order in which money received afterwards reduces the shadow balances (None: the
    components in the order of the product's waterfall)."""

    at_dpd: int | None = None
    at_class: LoanClass | None = None
    class_dpd: int | None = None
    recovery_order: tuple[Component, ...] | None = None

    def __post_init__(self) -> None:
        if self.at_dpd is not None and self.at_dpd < 1:
            raise DomainError(f"at_dpd {self.at_dpd} must be at least 1")
        if self.at_class is LoanClass.NORMAL:
            raise DomainError(
                "at_class cannot be normal (a loan not past due is never charged off)"
            )
        if self.recovery_order is not None and sorted(self.recovery_order) != sorted(Component):
            raise DomainError(
                "recovery_order must name each of cost, fee, penalty, compound, interest, "
                f"principal exactly once, got {[c.value for c in self.recovery_order]}"
            )

    @property
    def active(self) -> bool:
        return self.at_dpd is not None or self.at_class is not None

    def threshold(self, classes: ClassificationScheme | None = None) -> int | None:
        """The DPD at which the rule fires (None: never). ``class_dpd`` when resolved,
        else the first DPD of ``at_class`` under ``classes`` (the NFRA defaults)."""
        found = [] if self.at_dpd is None else [self.at_dpd]
        if self.at_class is not None:
            found.append(
                self.class_dpd
                if self.class_dpd is not None
                else first_dpd_of(classes or ClassificationScheme(), self.at_class)
            )
        return min(found, default=None)

    def order(self, waterfall: Waterfall) -> tuple[Component, ...]:
        """The order of the shadow balances' components for recoveries."""
        return self.recovery_order or waterfall.full_order


def first_dpd_of(classes: ClassificationScheme, klass: LoanClass) -> int:
    """The lowest DPD classed ``klass`` (or worse) under ``classes``."""
    bounds = {
        LoanClass.NORMAL: 0,
        LoanClass.SPECIAL_MENTION: classes.normal + 1,
        LoanClass.SUBSTANDARD: classes.special_mention + 1,
        LoanClass.DOUBTFUL: classes.substandard + 1,
        LoanClass.LOSS: classes.doubtful + 1,
    }
    return bounds[klass]


@dataclass(frozen=True, slots=True)
class RestructuredRules:
    """A restructured loan (重组: an instalment plan or an extension, NFRA 2023 arts.
    17-20) under observation: from the day it is restructured its class is at least
    ``floor``; the observation period runs from the first instalment due after the
    restructuring and lasts at least ``periods`` instalment periods and at least
    ``months`` months (whichever ends later); the mark clears, and the class follows
    DPD again, at the end of the first day from the period's end on which the last
    ``on_time_payments`` instalments fallen due since the restructuring were each paid
    in full within their grace and nothing is past due."""

    floor: LoanClass = LoanClass.SUBSTANDARD
    periods: int = 2
    months: int = 12
    on_time_payments: int = 2

    def __post_init__(self) -> None:
        if self.periods < 1:
            raise DomainError(f"periods {self.periods} must be at least 1")
        if self.months < 0:
            raise DomainError(f"months {self.months} must not be negative")
        if self.on_time_payments < 1:
            raise DomainError(f"on_time_payments {self.on_time_payments} must be at least 1")


CLASS_ORDER: tuple[LoanClass, ...] = tuple(LoanClass)  # best to worst


def worse_class(a: LoanClass, b: LoanClass) -> LoanClass:
    """The worse of two classes (正常 < 关注 < 次级 < 可疑 < 损失)."""
    return a if CLASS_ORDER.index(a) >= CLASS_ORDER.index(b) else b


@dataclass(frozen=True, slots=True)
class CardRules:
    """Minimum payment of a card statement: interest and fees plus the larger of
    ``min_rate`` × balance and ``min_floor`` (never more than what is owed)."""

    min_rate: Decimal = Decimal("0.10")
    min_floor: Decimal = Decimal("100")
    max_statements: int = 120


class InterestBasis(StrEnum):
    """What a revolving card charges interest on when a statement is not paid in full
    by its due date (its purchases lose the interest-free period, 免息期)."""

    # 全额计息: each purchase from its posting day on its whole balance, the part repaid
    # by the due date included for the days before it was repaid
    FULL_BALANCE = "full_balance"
    # 按未还部分计息: each purchase from its posting day only on the part still unpaid
    # at the end of the due date (grace included); the actual balance after that
    UNPAID_BALANCE = "unpaid_balance"


class FreePeriod(StrEnum):
    """When a revolving card's purchases are interest-free (免息期)."""

    # China: a purchase is free when the statement that bills it is paid in full by its
    # due date (grace included); otherwise it bears interest from its posting day
    STATEMENT = "statement"
    # also the previous statement paid in full (no balance carried into the cycle): a
    # purchase of a cycle that starts with a balance carried bears interest from its
    # posting day; one of a cycle that starts clean, billed on a statement not paid in
    # full, from that statement day only (the US rule, with no double-cycle billing)
    PREVIOUS_STATEMENT = "previous_statement"


@dataclass(frozen=True, slots=True)
class RevolvingProduct:
    """A revolving credit card (信用卡循环信用): monthly statements on ``statement_day``,
    due ``due_days`` days later (``grace_days`` more before it is late), purchases
    interest-free when their statement is paid in full by then, cash advances charged
    from their day, a minimum payment, over-limit amounts and a late fee (违约金).
    ``domain/revolving.py`` runs it; ``docs/loan-rules.md`` explains every rule."""

    code: str
    name: str
    name_zh: str = ""
    currency: str = DEFAULT_CURRENCY
    credit_limit: Decimal = Decimal("10000")  # an account's limit unless it gives one
    statement_day: int = 5  # 账单日, 1-28
    due_days: int = 20  # 到期还款日 = statement day + due_days
    grace_days: int = 3  # 宽限期: paid by due + grace counts as on time
    daily_rate: Decimal = Decimal("0.0005")  # 日息万分之五
    interest_basis: InterestBasis = InterestBasis.FULL_BALANCE
    free_period: FreePeriod = FreePeriod.STATEMENT
    # 复利: interest billed and left unpaid bears interest from its statement day (按月计收
    # 复利, 银行卡业务管理办法 art. 23); fees and late fees never do
    interest_on_interest: bool = False
    min_rate: Decimal = Decimal("0.10")  # of the principal-like balance within the limit
    min_floor: Decimal = Decimal(0)  # a minimum below it is raised to it (≤ the balance)
    cash_advance_fee_rate: Decimal = Decimal(0)  # 取现手续费, of the amount
    cash_advance_fee_min: Decimal = Decimal(0)
    cash_limit_rate: Decimal = Decimal("1")  # cash advances outstanding ≤ this × limit
    over_limit_rate: Decimal = Decimal(0)  # purchases may take the balance this × limit over
    late_fee_rate: Decimal = Decimal(0)  # 违约金: of the minimum unpaid when grace ends
    late_fee_fixed: Decimal = Decimal(0)
    late_fee_min: Decimal = Decimal(0)
    late_fee_max: Decimal | None = None
    classification: ClassificationScheme | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.statement_day <= 28:
            raise DomainError(f"statement_day {self.statement_day} must be 1-28")
        if self.due_days < 1 or self.grace_days < 0 or self.due_days + self.grace_days > 28:
            raise DomainError(
                f"due_days {self.due_days} + grace_days {self.grace_days} must be 1-28, "
                "so a statement is settled or late before the next one is cut"
            )
        if not 0 < self.min_rate <= 1:
            raise DomainError(f"min_rate {self.min_rate} must be in (0, 1]")
        if not 0 <= self.daily_rate < Decimal("0.01"):
            raise DomainError(f"daily_rate {self.daily_rate} must be a day's rate (0.0005)")
        if not 0 < self.cash_limit_rate <= 1:
            raise DomainError(f"cash_limit_rate {self.cash_limit_rate} must be in (0, 1]")
        if self.credit_limit <= 0:
            raise DomainError(f"credit_limit {self.credit_limit} must be positive")
        if self.late_fee_max is not None and self.late_fee_max < self.late_fee_min:
            raise DomainError("late_fee_max must not be below late_fee_min")


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name: str
    method: ScheduleMethod
    annual_rate: Decimal
    term_months: int
    name_zh: str = ""
    currency: str = DEFAULT_CURRENCY
    day_count: DayCount = DayCount.THIRTY_360
    principal_rounding: PrincipalRounding = PrincipalRounding.HALF_UP
    grace_days: int = 0
    arrears_tolerance: Decimal = Decimal(0)
    charges: ChargeRules = field(default_factory=ChargeRules)
    waterfall: Waterfall = field(default_factory=Waterfall)
    card: CardRules = field(default_factory=CardRules)
    # 五级分类 DPD thresholds of this product; None: the portfolio's
    classification: ClassificationScheme | None = None
    charge_off: ChargeOffRule = field(default_factory=ChargeOffRule)
    # the class floor and observation period of a restructured loan (重组)
    restructured: RestructuredRules = field(default_factory=RestructuredRules)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The portfolio-wide schemes and the products, as loaded from one file."""

    products: Mapping[str, Product]
    buckets: BucketScheme = field(default_factory=BucketScheme)
    classification: ClassificationScheme = field(default_factory=ClassificationScheme)
    currency: str = DEFAULT_CURRENCY
    # revolving card products (``method = "revolving"``), kept apart: they have no
    # schedule, and the book's instalment engines do not run them
    revolving: Mapping[str, RevolvingProduct] = field(default_factory=dict)

    def revolving_product(self, code: str) -> RevolvingProduct | None:
        """The revolving product ``code``, or None when it is not one."""
        return self.revolving.get(code)

    def classification_of(self, product: Product) -> ClassificationScheme:
        """The product's own classification thresholds, else the portfolio's."""
        return product.classification or self.classification

    def product(self, code: str) -> Product:
        try:
            return self.products[code]
        except KeyError:
            known = ", ".join(sorted(self.products))
            raise DomainError(f"unknown product {code!r} (known: {known})") from None


DEFAULT_CATALOG_PATH = Path(__file__).resolve().parent.parent / "products" / "default.toml"


def load_catalog(path: Path | str = DEFAULT_CATALOG_PATH) -> Catalog:
    """Read and validate a product file; errors name the file, product and field."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProductError(f"{path}: product file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProductError(f"{path}: not valid TOML: {exc}") from None
    return parse_catalog(data, str(path))


def parse_catalog(data: Mapping[str, Any], source: str = "<products>") -> Catalog:
    """Build a Catalog from already-parsed TOML data."""
    portfolio = dict(data.get("portfolio", {}))
    reader = _Reader(source, "portfolio", portfolio)
    currency = reader.text("currency", DEFAULT_CURRENCY)
    if currency not in MINOR_UNITS:
        raise ProductError(f"{source}: portfolio.currency: unknown currency {currency!r}")
    buckets = reader.build(
        "bucket_edges", lambda v: BucketScheme(tuple(int(x) for x in v)), BucketScheme()
    )
    classification = reader.build(
        "classification", lambda v: ClassificationScheme(**v), ClassificationScheme()
    )
    lpr = reader.build("lpr_1y", _parse_lpr, ())
    reader.finish()
    raw_products = data.get("products")
    if not isinstance(raw_products, Mapping) or not raw_products:
        raise ProductError(f"{source}: no [products.CODE] tables defined")
    revolving = {
        code: _parse_revolving(source, code, dict(body), currency)
        for code, body in raw_products.items()
        if isinstance(body, Mapping) and body.get("method") == REVOLVING_METHOD
    }
    products = {
        code: _parse_product(source, code, dict(body), currency, lpr)
        for code, body in raw_products.items()
        if code not in revolving
    }
    products = {code: _resolve_charge_off(p, classification) for code, p in products.items()}
    unknown = set(data) - {"portfolio", "products"}
    if unknown:
        raise ProductError(f"{source}: unknown top-level tables {sorted(unknown)}")
    return Catalog(products, buckets, classification, currency, revolving)


REVOLVING_METHOD = "revolving"


def _parse_revolving(
    source: str, code: str, body: dict[str, Any], currency: str
) -> RevolvingProduct:
    """``method = "revolving"`` with a ``revolving`` table of the card's rules (every key
    optional; the defaults are ``RevolvingProduct``'s)."""
    r = _Reader(source, f"products.{code}", body)
    r.seen.add("method")
    raw = body.get("revolving", {})
    r.seen.add("revolving")
    if not isinstance(raw, Mapping):
        raise ProductError(f"{source}: products.{code}.revolving: must be a table")
    rules = dict(raw)
    t = _Reader(source, f"products.{code}.revolving", rules)
    d = RevolvingProduct(code, code)
    currency_code = r.text("currency", currency)
    if currency_code not in MINOR_UNITS:
        raise ProductError(
            f"{source}: products.{code}.currency: unknown currency {currency_code!r}"
        )
    fields: dict[str, Any] = {
        "credit_limit": t.amount("credit_limit", d.credit_limit),
        "statement_day": t.integer("statement_day", d.statement_day),
        "due_days": t.integer("due_days", d.due_days),
        "grace_days": t.integer("grace_days", d.grace_days),
        "daily_rate": t.rate("daily_rate", d.daily_rate),
        "interest_basis": t.build("interest_basis", InterestBasis, d.interest_basis),
        "free_period": t.build("free_period", FreePeriod, d.free_period),
        "interest_on_interest": t.build("interest_on_interest", _strict_bool, False),
        "min_rate": t.rate("min_rate", d.min_rate),
        "min_floor": t.amount("min_floor", d.min_floor),
        "cash_advance_fee_rate": t.rate("cash_advance_fee_rate", d.cash_advance_fee_rate),
        "cash_advance_fee_min": t.amount("cash_advance_fee_min", d.cash_advance_fee_min),
        "cash_limit_rate": t.rate("cash_limit_rate", d.cash_limit_rate),
        "over_limit_rate": t.rate("over_limit_rate", d.over_limit_rate),
        "late_fee_rate": t.rate("late_fee_rate", d.late_fee_rate),
        "late_fee_fixed": t.amount("late_fee_fixed", d.late_fee_fixed),
        "late_fee_min": t.amount("late_fee_min", d.late_fee_min),
        "late_fee_max": t.amount("late_fee_max", Decimal(0)) if "late_fee_max" in rules else None,
    }
    t.finish()
    classification = (
        r.build("classification", lambda v: ClassificationScheme(**v), None)
        if "classification" in body
        else None
    )
    try:
        product = RevolvingProduct(
            code=code,
            name=r.text("name", code),
            name_zh=r.text("name_zh", ""),
            currency=currency_code,
            classification=classification,
            **fields,
        )
    except DomainError as exc:
        raise ProductError(f"{source}: products.{code}.revolving: {exc}") from None
    r.finish()
    return product


def _resolve_charge_off(product: Product, book: ClassificationScheme) -> Product:
    """Fix a charge-off ``at_class`` to its first DPD under the product's thresholds."""
    rule = product.charge_off
    if rule.at_class is None:
        return product
    classes = product.classification or book
    resolved = replace(rule, class_dpd=first_dpd_of(classes, rule.at_class))
    return replace(product, charge_off=resolved)


def _parse_charge_off(value: Mapping[str, Any]) -> ChargeOffRule:
    """``{ at_dpd = 180 }``, ``{ at_class = "loss" }`` or both (the first reached), with
    ``recovery_order = "principal_first" | "waterfall" | [components…]``."""
    extra = set(value) - {"at_dpd", "at_class", "recovery_order"}
    if extra:
        raise DomainError(f"unknown keys {sorted(extra)}")
    if "at_dpd" not in value and "at_class" not in value:
        raise DomainError("give at_dpd, at_class or both")
    order = value.get("recovery_order", "waterfall")
    if isinstance(order, str):
        if order != "waterfall" and order not in NAMED_RECOVERY_ORDERS:
            named = ", ".join(["waterfall", *NAMED_RECOVERY_ORDERS])
            raise DomainError(f"unknown recovery_order {order!r} (named ones: {named})")
        recovery = NAMED_RECOVERY_ORDERS.get(order)
    else:
        recovery = tuple(Component(c) for c in order)
    return ChargeOffRule(
        at_dpd=_strict_int(value["at_dpd"]) if "at_dpd" in value else None,
        at_class=LoanClass(value["at_class"]) if "at_class" in value else None,
        recovery_order=recovery,
    )


def _parse_restructured(value: Mapping[str, Any]) -> RestructuredRules:
    """``{ floor = "substandard", periods = 2, months = 12, on_time_payments = 2 }``,
    each optional (these are the defaults)."""
    extra = set(value) - {"floor", "periods", "months", "on_time_payments"}
    if extra:
        raise DomainError(f"unknown keys {sorted(extra)}")
    default = RestructuredRules()
    return RestructuredRules(
        floor=LoanClass(value.get("floor", default.floor.value)),
        periods=_strict_int(value.get("periods", default.periods)),
        months=_strict_int(value.get("months", default.months)),
        on_time_payments=_strict_int(value.get("on_time_payments", default.on_time_payments)),
    )


def _parse_lpr(value: Mapping[str, Any]) -> LprTable:
    """``{ "2024-10-21" = 0.031, … }``: each one-year LPR from the day it took effect."""
    rows = []
    for since, rate in value.items():
        rows.append((date.fromisoformat(str(since)), _dec(rate)))
        if not 0 < rows[-1][1] < 1:
            raise DomainError(f"{since}: LPR {rate} must be a fraction such as 0.031")
    return tuple(sorted(rows))


def _parse_cap(
    r: _Reader, body: dict[str, Any], lpr: LprTable
) -> tuple[Decimal | None, CapBasis, Decimal | None]:
    """``cost_cap = 0.24`` (on the original principal), or a table: ``{ rate = 0.24,
    basis = "overdue" }`` or ``{ lpr_multiple = 4, basis = "overdue" }``."""
    if "cost_cap" not in body:
        return None, CapBasis.ORIGINAL, None
    if not isinstance(body["cost_cap"], Mapping):
        return r.rate("cost_cap", None), CapBasis.ORIGINAL, None
    table = dict(body["cost_cap"])
    cap = _Reader(r.source, f"{r.table}.cost_cap", table)
    r.seen.add("cost_cap")
    basis = cap.build("basis", CapBasis, CapBasis.ORIGINAL)
    rate = cap.rate("rate", None) if "rate" in table else None
    multiple = cap.rate("lpr_multiple", None) if "lpr_multiple" in table else None
    cap.finish()
    if (rate is None) == (multiple is None):
        raise ProductError(f"{r.source}: {r.table}.cost_cap: give one of rate or lpr_multiple")
    if multiple is not None and not lpr:
        raise ProductError(
            f"{r.source}: {r.table}.cost_cap.lpr_multiple: needs the portfolio's lpr_1y table"
        )
    return rate, basis, multiple


def _parse_product(
    source: str, code: str, body: dict[str, Any], currency: str, lpr: LprTable = ()
) -> Product:
    r = _Reader(source, f"products.{code}", body)
    cap_rate, cap_basis, cap_multiple = _parse_cap(r, body, lpr)
    method = r.build("method", ScheduleMethod, None)
    annual_rate = r.rate("annual_rate", None)
    multiplier = r.rate("penalty_rate_multiplier", Decimal(0))
    compound_multiplier = r.rate("compound_rate_multiplier", Decimal(0))
    charges = ChargeRules(
        penalty_rate=r.rate("penalty_rate", annual_rate * multiplier),
        compound_rate=r.rate("compound_rate", annual_rate * compound_multiplier),
        late_fee_fixed=r.amount("late_fee", Decimal(0)),
        late_fee_rate=r.rate("late_fee_rate", Decimal(0)),
        penalty_from=r.build("penalty_from", PenaltyFrom, PenaltyFrom.GRACE_END),
        charge_days=r.build("charge_days", ChargeDays, ChargeDays.ACTUAL),
        accrual_rounding=r.build("accrual_rounding", AccrualRounding, AccrualRounding.DAILY),
        cost_cap=cap_rate,
        cost_cap_basis=cap_basis,
        cost_cap_lpr_multiple=cap_multiple,
        lpr=lpr if cap_multiple is not None else (),
    )
    currency_code = r.text("currency", currency)
    # a product of the Chinese book that names no order follows the Civil Code's
    default_waterfall = CIVIL_CODE_561 if currency_code == "CNY" else Waterfall()
    waterfall = r.build("waterfall", _parse_waterfall, default_waterfall)
    card = r.build("card", _parse_card, CardRules())
    if currency_code not in MINOR_UNITS:
        raise ProductError(
            f"{source}: products.{code}.currency: unknown currency {currency_code!r}"
        )
    product = Product(
        code=code,
        name=r.text("name", code),
        name_zh=r.text("name_zh", ""),
        method=method,
        annual_rate=annual_rate,
        term_months=r.integer("term_months", None),
        currency=currency_code,
        day_count=r.build("day_count", DayCount, DayCount.THIRTY_360),
        principal_rounding=r.build(
            "principal_rounding", PrincipalRounding, PrincipalRounding.HALF_UP
        ),
        grace_days=r.integer("grace_days", 0),
        arrears_tolerance=r.amount("arrears_tolerance", Decimal(0)),
        charges=charges,
        waterfall=waterfall,
        card=card,
        classification=r.build("classification", lambda v: ClassificationScheme(**v), None)
        if "classification" in body
        else None,
        charge_off=r.build("charge_off", _parse_charge_off, ChargeOffRule()),
        restructured=r.build("restructured", _parse_restructured, RestructuredRules()),
    )
    r.finish()
    if (
        charges.charge_days is not ChargeDays.ACTUAL
        and charges.penalty_from is PenaltyFrom.DUE_DATE
    ):
        raise ProductError(
            f"{source}: products.{code}.charge_days: {charges.charge_days.value} charges "
            'cannot yet be combined with penalty_from = "due_date"'
        )
    if charges.exact and charges.penalty_from is PenaltyFrom.DUE_DATE:
        raise ProductError(
            f"{source}: products.{code}.accrual_rounding: {charges.accrual_rounding.value} "
            'cannot yet be combined with penalty_from = "due_date"'
        )
    if product.term_months <= 0:
        raise ProductError(f"{source}: products.{code}.term_months: must be positive")
    if product.grace_days < 0:
        raise ProductError(f"{source}: products.{code}.grace_days: must not be negative")
    return product


def _parse_waterfall(value: Mapping[str, Any] | str) -> Waterfall:
    if isinstance(value, str):
        if value not in NAMED_WATERFALLS:
            raise DomainError(f"unknown waterfall (named ones: {', '.join(NAMED_WATERFALLS)})")
        return NAMED_WATERFALLS[value]
    extra = set(value) - {"order", "installments", "mode"}
    if extra:
        raise DomainError(f"unknown keys {sorted(extra)}")
    default = Waterfall()
    return Waterfall(
        order=tuple(Component(c) for c in value.get("order", [c.value for c in default.order])),
        installments=InstallmentOrder(value.get("installments", default.installments.value)),
        mode=WaterfallMode(value.get("mode", default.mode.value)),
    )


def _parse_card(value: Mapping[str, Any]) -> CardRules:
    extra = set(value) - {"min_rate", "min_floor", "max_statements"}
    if extra:
        raise DomainError(f"unknown keys {sorted(extra)}")
    rules = CardRules(
        min_rate=_dec(value.get("min_rate", "0.10")),
        min_floor=_dec(value.get("min_floor", "100")),
        max_statements=_strict_int(value.get("max_statements", 120)),
    )
    if not 0 < rules.min_rate <= 1:
        raise DomainError(f"min_rate {rules.min_rate} must be in (0, 1]")
    if rules.min_floor <= 0:
        raise DomainError(f"min_floor {rules.min_floor} must be positive")
    if rules.max_statements <= 0:
        raise DomainError(f"max_statements {rules.max_statements} must be positive")
    return rules


def _strict_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise DomainError(f"{value!r} is not true or false")
    return value


def _strict_int(value: object) -> int:
    """A whole number as written (2, not 2.5, not true)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"{value!r} is not a whole number")
    return value


def _dec(value: object) -> Decimal:
    # TOML gives floats for 0.18; repr() is the shortest exact spelling of what was written.
    return to_decimal(repr(value) if isinstance(value, float) else value)


class _Reader:
    """Reads fields from one TOML table, turning any failure into a ProductError that
    names the file, the table and the field, and rejecting unknown fields."""

    _MISSING = object()

    def __init__(self, source: str, table: str, body: dict[str, Any]) -> None:
        self.source, self.table, self.body, self.seen = source, table, body, set[str]()

    def _fail(self, key: str, reason: str) -> ProductError:
        return ProductError(f"{self.source}: {self.table}.{key}: {reason}")

    def build(self, key: str, convert: Any, default: Any) -> Any:
        self.seen.add(key)
        if key not in self.body:
            if default is None:
                raise self._fail(key, "required field is missing")
            return default
        try:
            return convert(self.body[key])
        except (DomainError, ValueError, TypeError, KeyError) as exc:
            raise self._fail(key, f"invalid value {self.body[key]!r}: {exc}") from None

    def text(self, key: str, default: str | None) -> str:
        return str(self.build(key, str, default))

    def integer(self, key: str, default: int | None) -> int:
        return int(self.build(key, _strict_int, default))

    def rate(self, key: str, default: Decimal | None) -> Decimal:
        value: Decimal = self.build(key, _dec, default)
        if value < 0 or value > 10:
            raise self._fail(key, f"rate {value} is outside 0..10 (write 0.18 for 18%)")
        return value

    def amount(self, key: str, default: Decimal) -> Decimal:
        value: Decimal = self.build(key, _dec, default)
        if value < 0:
            raise self._fail(key, f"amount {value} must not be negative")
        return value

    def finish(self) -> None:
        unknown = set(self.body) - self.seen
        if unknown:
            raise ProductError(f"{self.source}: {self.table}: unknown fields {sorted(unknown)}")
