"""Request and response models of the JSON API (the contract; money as decimal strings)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from arrears.domain.contact import CHANNELS, HOLD_KINDS, OUTCOMES, PARTIES

# The API's enumerations are the domain's vocabulary (Literal of a tuple: its values).
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
HoldKind = Literal[HOLD_KINDS]  # type: ignore[valid-type]
Outcome = Literal[OUTCOMES]  # type: ignore[valid-type]
Party = Literal[PARTIES]  # type: ignore[valid-type]

Amount = Annotated[Decimal, Field(gt=0, max_digits=16, decimal_places=2)]
Cost = Annotated[Decimal, Field(ge=0, max_digits=16, decimal_places=2)]
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]
Text = Annotated[str, Field(max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=64)]


class Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class QueueItemOut(Orm):
    case_id: int
    loan_id: str
    customer_id: str
    customer_name: str
    dpd: int
    bucket: str
    amount_overdue: Decimal
    assigned_to: str | None
    leased_by: str | None
    lease_expires_at: datetime | None
    # why the case is ranked where it is: its tier, else its score (risk × amount)
    tier: str | None = None
    risk: Decimal | None = None
    score: Decimal = Decimal(0)
    ranked: bool = True
    contactable: bool | None = None
    blocked_rules: list[str] = []
    blocked_reasons: list[str] = []
    last_contact_at: datetime | None = None
    last_contact_channel: str | None = None
    last_outcome: str | None = None
    last_contact_allowed: bool | None = None
    promise_amount: Decimal | None = None
    promise_due: date | None = None
    promise_status: str | None = None
    callback_at: datetime | None = None
    next_action: str = "call"


class CollectorLoadOut(Orm):
    username: str
    display_name: str
    open_cases: int
    promises_due_today: int
    promises_broken_yesterday: int
    callbacks_due: int
    callbacks_later: int
    contacts_today: int


class SearchHitOut(Orm):
    """A case the search found; ``mobile`` and ``id_number`` are masked for the role."""

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


class InboundOut(BaseModel):
    """The case a call from the number opens (null when none or several match), and the
    matching cases to pick from."""

    case_id: int | None
    hits: list[SearchHitOut]


class CaseOut(Orm):
    id: int
    loan_id: str
    customer_id: str
    status: str
    dpd: int
    bucket: str
    amount_overdue: Decimal
    assigned_to: str | None


class ReassignIn(BaseModel):
    to_user: Name | None = None
    reason: Text = ""


class TransferIn(BaseModel):
    from_user: Name
    to_users: list[Name] = Field(default_factory=list, max_length=100)
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    new_team_id: Id | None = None
    deactivate: bool = False


class AssignmentOut(Orm):
    id: int
    from_user: str | None
    to_user: str | None
    reason: str
    by_user: str
    at: datetime


class RevealIn(BaseModel):
    """A reveal needs a reason: a code (``other`` also needs ``reason_text``)."""

    field: Literal["mobile", "id_number", "address", "email"] = "mobile"
    contact_point_id: Id | None = None
    reason_code: Literal[
        "inbound_call", "verify_identity", "outbound_call", "dispute_handling", "legal", "other"
    ]
    reason_text: Annotated[str, Field(max_length=500)] = ""


class RevealOut(BaseModel):
    field: str
    value: str


class ContactIn(BaseModel):
    channel: Literal["call", "sms", "email", "letter", "visit"] = "call"
    disposition: Annotated[str, Field(min_length=1, max_length=16)]
    note: Text = ""
    # required by a CALLBACK disposition: when to call back, with its offset
    callback_at: AwareDatetime | None = None


class ContactOut(BaseModel):
    attempt_id: str
    allowed: bool
    rules: list[str]
    reasons: list[str]
    disposition: str


class DispositionOut(Orm):
    code: str
    label_en: str
    label_zh: str
    outcome: str
    party: str
    right_party: bool
    needs_promise: bool
    active: bool


class DispositionIn(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=16)]
    label_en: Annotated[str, Field(min_length=1, max_length=100)]
    label_zh: Annotated[str, Field(min_length=1, max_length=100)]
    outcome: Outcome
    party: Party = "debtor"
    right_party: bool = False
    needs_promise: bool = False
    active: bool = True


class PromiseIn(BaseModel):
    amount: Amount
    due_date: date


class PromiseOut(Orm):
    id: int
    case_id: int
    loan_id: str
    amount: Decimal
    promised_on: date
    due_date: date
    status: str
    paid_amount: Decimal
    settled_on: date | None
    created_by: str


class ArrangementIn(BaseModel):
    kind: Literal["installment_plan", "extension", "waiver", "settlement"]
    terms: dict[str, Any] = Field(
        description='waiver {"component","amount"}; settlement {"amount","pay_by"}; '
        'extension {"months"}; installment_plan {"count","first_due"}'
    )
    note: Text = ""


class DecisionIn(BaseModel):
    approve: bool
    note: Text = ""


class ArrangementOut(Orm):
    id: int
    case_id: int
    loan_id: str
    kind: str
    status: str
    relief: Decimal
    terms: str
    required_role: str
    maker: str
    checker: str | None
    decided_at: datetime | None
    decision_note: str
    ledger_refs: str


class HoldIn(BaseModel):
    kind: HoldKind
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    channel: Channel | None = None
    whole_customer: bool = False


class HoldOut(Orm):
    id: int
    customer_id: str
    loan_id: str | None
    kind: str
    channel: str | None
    reason: str
    placed_on: date
    placed_by: str | None
    released_on: date | None


class DpdPauseIn(BaseModel):
    reason: Literal["hardship", "dispute", "other"]
    on: date | None = None  # the first paused day; today by default
    until: date | None = None  # the last paused day; None: until resumed
    note: Annotated[str, Field(max_length=2000)] = ""


class DpdResumeIn(BaseModel):
    on: date | None = None  # the first day DPD counts again; today by default


class DpdPauseOut(Orm):
    id: int
    loan_id: str
    reason: str
    pause_on: date
    pause_until: date | None
    resumed_on: date | None
    note: str
    placed_by: str | None
    resumed_by: str | None


class BlacklistIn(BaseModel):
    kind: Literal["phone", "email", "address", "other"]
    value: Annotated[str, Field(min_length=1, max_length=200)]
    reason: Text = ""


class BlacklistOut(Orm):
    id: int
    kind: str
    value: str
    reason: str
    added_by: str | None
    added_at: datetime


class VisitIn(BaseModel):
    scheduled_on: date
    assigned_to: Name | None = None
    notes: Text = ""


class VisitResultIn(BaseModel):
    outcome: Literal[
        "met_debtor",
        "promise",
        "paid",
        "not_home",
        "moved",
        "address_wrong",
        "refused",
        "third_party",
    ]
    notes: Text = ""


class VisitOut(Orm):
    id: int
    case_id: int
    assigned_to: str | None
    scheduled_on: date
    status: str
    outcome: str | None
    notes: str
    visited_on: date | None


class NoteIn(BaseModel):
    body: Annotated[str, Field(min_length=1, max_length=4000)]


class NoteOut(Orm):
    id: int
    case_id: int
    body: str
    author: str
    created_at: datetime


class DocumentOut(BaseModel):
    id: int
    file_name: str
    content_type: str
    size: int
    sha256: str
    legal_action_id: int | None
    uploaded_by: str
    uploaded_at: datetime


class AgencyIn(BaseModel):
    code: Annotated[str, Field(min_length=1, max_length=32)]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class AgencyOut(Orm):
    id: int
    code: str
    name: str
    active: bool


class RateIn(BaseModel):
    bucket: Annotated[str, Field(max_length=8)] | None = None
    min_amount: Cost | None = None
    max_amount: Cost | None = None
    rate: Annotated[Decimal, Field(ge=0, le=1, max_digits=9, decimal_places=8)]


class RateOut(Orm):
    id: int
    basis: str
    bucket: str | None
    min_amount: Decimal | None
    max_amount: Decimal | None
    rate: Decimal


class PlaceIn(BaseModel):
    agency_id: Id


class PlaceRuleIn(BaseModel):
    agency_ids: list[Id] = Field(min_length=1, max_length=50)
    buckets: list[Annotated[str, Field(max_length=8)]] | None = None
    min_dpd: Annotated[int, Field(ge=0, le=100000)] = 0
    limit: Annotated[int, Field(ge=1, le=10000)] = 1000


class PlacementOut(Orm):
    id: int
    case_id: int
    agency_id: int
    status: str
    placed_on: date
    recalled_on: date | None
    bucket: str
    balance_placed: Decimal
    rule: str


class PerformanceOut(BaseModel):
    agency_id: int
    code: str
    name: str
    placements: int
    active: int
    balance_placed: Decimal
    collected: Decimal
    collection_rate: Decimal
    commission_owed: Decimal


class LegalIn(BaseModel):
    stage: Literal[
        "lawyer_letter",
        "filing",
        "judgment",
        "enforcement",
        "asset_preservation",
        "asset_disposal",
    ]
    started_on: date
    court: Annotated[str, Field(max_length=200)] = ""
    court_case_number: Annotated[str, Field(max_length=100)] = ""
    costs: Cost = Decimal("0.00")
    notes: Text = ""


class LegalOut(Orm):
    id: int
    case_id: int
    stage: str
    started_on: date
    court: str
    court_case_number: str
    costs: Decimal
    notes: str
    created_by: str


class UserIn(BaseModel):
    username: Name
    password: Annotated[str, Field(min_length=8, max_length=256)]
    role: Literal["collector", "team_lead", "manager", "compliance", "agency", "admin"]
    display_name: Annotated[str, Field(max_length=100)] = ""
    team_id: Id | None = None
    agency_id: Id | None = None
    language: Literal["zh_CN", "en"] = "zh_CN"
    approval_limit: Cost = Decimal("0.00")


class UserOut(Orm):
    id: int
    username: str
    display_name: str
    role: str
    team_id: int | None
    agency_id: int | None
    language: str
    approval_limit: Decimal
    active: bool


class TeamIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]


class TeamOut(Orm):
    id: int
    name: str


class VerdictOut(BaseModel):
    ok: bool
    checked: int
    first_bad: int | None
    reason: str


class SettleOut(BaseModel):
    kept: int
    broken: int
    pending: int
