"""Work queues, the "next case" lease, reassignment and bulk transfer.

A queue is the open cases in the actor's scope, in priority order: days past due (most
first), then amount overdue, then case id. Cases with an active agency placement are
the agency's, not the collectors'. ``next_case`` hands a collector one case under a
lease that expires (default 30 minutes); taking the lease is one INSERT … ON CONFLICT
DO UPDATE … WHERE the old lease expired, atomic on PostgreSQL and SQLite, so two
collectors asking at once never get the same case. Every change of assignee is kept in
``case_assignments``.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Numeric,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy import case as sql_case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from arrears.channels.gating import (
    HISTORY_COLUMNS,
    GateInputs,
    _in_force,
    history_for,
    load_gate_inputs,
)
from arrears.compliance import Attempt, Gate, Verdict
from arrears.compliance.gate import normalize_contact
from arrears.services import audit
from arrears.services.clock import DEFAULT_TIME_ZONE
from arrears.services.workbench.access import (
    ALL_CASES,
    SUPERVISORS,
    Actor,
    case_scope,
    hide_staff_in,
    require_role,
    visible_case,
)
from arrears.services.workbench.contacts import pack as contact_pack
from arrears.services.workbench.errors import Forbidden, Invalid, NotFound
from arrears.services.workbench.ranking import STORE_TIERS, Ranking, load_ranking, loan_risks
from arrears.store.contact_models import BlacklistEntry, ContactAttempt
from arrears.store.contact_models import Hold as HoldRow
from arrears.store.models import CaseRow, Customer
from arrears.store.workbench_models import (
    CaseAssignment,
    CaseLease,
    ContactLog,
    Placement,
    Promise,
    Team,
    User,
)

DEFAULT_LEASE = timedelta(minutes=30)
PAGE_MAX = 200


@dataclass(frozen=True)
class QueueItem:
    """One row of a work queue: the case, why it is ranked where it is (``tier``, or
    None and its ``score``), what happened last and what to do next."""

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
    tier: str | None = None
    risk: Decimal | None = None
    score: Decimal = Decimal(0)
    contactable: bool | None = None
    blocked_rules: tuple[str, ...] = ()
    blocked_reasons: tuple[str, ...] = ()
    last_contact_at: datetime | None = None
    last_contact_channel: str | None = None
    last_outcome: str | None = None
    last_contact_allowed: bool | None = None
    promise_id: int | None = None
    promise_amount: Decimal | None = None
    promise_due: date | None = None
    promise_status: str | None = None
    callback_at: datetime | None = None
    next_action: str = "call"
    ranked: bool = True


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive UTC values
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``, one parameter: the
    statement's text is the same for any number of values, so neither SQLAlchemy nor
    the driver renders a list into it per request, and the driver can prepare it."""
    if session.get_bind().dialect.name == "postgresql":
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)


def not_placed() -> ColumnElement[bool]:
    """Cases with no active agency placement."""
    return not_(exists().where(and_(Placement.case_id == CaseRow.id, Placement.status == "active")))


@functools.cache
def pending_callbacks() -> Select[tuple[int, datetime]]:
    """(case id, callback_at) of every case whose latest logged contact asked for a
    callback: one a later contact on the case has answered is no longer pending."""
    later = aliased(ContactLog)
    return select(ContactLog.case_id, ContactLog.callback_at).where(
        ContactLog.callback_at.is_not(None),
        not_(exists().where(later.case_id == ContactLog.case_id, later.id > ContactLog.id)),
    )


def _tier_sets(
    today: date | Any, moment: datetime | Any, yesterday: date | Any = None
) -> dict[str, ColumnElement[bool]]:
    """For each store tier, the WHERE clause on ``cases`` of the cases in it (the
    values may be bind parameters, ``yesterday`` then too)."""
    due_today = select(Promise.case_id).where(
        Promise.status == "pending", Promise.due_date == today
    )
    if yesterday is None:
        yesterday = today - timedelta(days=1)
    broken = select(Promise.case_id).where(
        Promise.status.in_(("broken", "pending")), Promise.due_date == yesterday
    )
    callbacks = pending_callbacks().where(ContactLog.callback_at <= moment)
    return {
        "promise_due_today": CaseRow.id.in_(due_today),
        "promise_broken_yesterday": CaseRow.id.in_(broken),
        "callback_due": CaseRow.id.in_(select(callbacks.subquery().c.case_id)),
    }


# what a queue item shows besides the ranking's columns (``_ranked_shape``)
_PAGE_COLUMNS = (
    Customer.name,
    CaseRow.bucket,
    CaseRow.assigned_to,
    CaseRow.amount_overdue,
    CaseLease.username,
    CaseLease.expires_at,
)
_COLUMNS = (
    CaseRow.id,
    CaseRow.loan_id,
    CaseRow.customer_id,
    Customer.name,
    CaseRow.dpd,
    CaseRow.bucket,
    CaseRow.amount_overdue,
    CaseRow.assigned_to,
    CaseLease.username,
    CaseLease.expires_at,
)


@dataclass(frozen=True)
class Worklist:
    """What ranking a list needs besides the store: the workspace's ranking, its rule
    pack, and its loans' risk (``ranking.loan_risks``)."""

    ranking: Ranking = field(default_factory=Ranking)
    pack_name: str = "cn"
    risks: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def of_workspace(cls, root: Path | None, pack_name: str = "cn") -> Worklist:
        """The worklist settings of the workspace at ``root``."""
        ranking = load_ranking(root)
        return cls(ranking, pack_name, loan_risks(root, ranking.risk_model))


def _scoped(session: Session, actor: Actor, moment: datetime) -> Select[Any]:
    live = and_(CaseLease.case_id == CaseRow.id, CaseLease.expires_at > moment)
    query = (
        select(*_COLUMNS)
        .join(Customer, Customer.customer_id == CaseRow.customer_id)
        .outerjoin(CaseLease, live)
        .where(CaseRow.status == "open", case_scope(session, actor))
    )
    if actor.role != "agency":
        query = query.where(not_placed())
    return query


def _store_order(tiers: dict[str, ColumnElement[bool]], ranking: Ranking) -> list[Any]:
    """SQL order: the cases of any store tier first (so they are in the window), then
    amount overdue, DPD, id."""
    wanted = [tiers[t] for t in ranking.tiers if t in tiers]
    first = [sql_case((or_(*wanted), 0), else_=1)] if wanted else []
    return [*first, CaseRow.amount_overdue.desc(), CaseRow.dpd.desc(), CaseRow.id]


def gate_verdicts(
    session: Session, rows: Sequence[Any], moment: datetime, pack_name: str
) -> dict[int, Verdict]:
    """Case id → the compliance gate's verdict on a call to the debtor at ``moment``
    (a dry run, nothing recorded), for query rows with ``id``, ``loan_id`` and
    ``customer_id``: holds, the blacklist, the pack's hours and caps."""
    if not rows:
        return {}
    customer_ids = sorted({r.customer_id for r in rows})
    inputs = load_gate_inputs(session, customer_ids, moment, history_for(contact_pack(pack_name)))
    mobiles = dict(
        session.execute(
            select(Customer.customer_id, Customer.mobile).where(
                Customer.customer_id.in_(customer_ids)
            )
        ).all()
    )
    rule_pack = contact_pack(pack_name)
    out = {}
    for r in rows:
        gate = inputs.gate(rule_pack, [r.customer_id])
        attempt = Attempt(
            f"rank-{r.id}", r.customer_id, r.loan_id, "call", moment,
            inputs.zones.get(r.customer_id),
        )  # fmt: skip
        out[r.id] = gate.check(attempt, mobiles.get(r.customer_id))
    return out


def _ranked_rows(
    session: Session,
    query: Select[Any],
    tiers: dict[str, ColumnElement[bool]],
    work: Worklist,
    moment: datetime,
    upto: int | None = None,
    *,
    fetch: int | None = None,
) -> list[QueueItem]:
    """The rows of ``query`` (``_COLUMNS``) in ranking order, ``work.ranking.window``
    at most (the first ``upto`` of them when given: only those become items).

    Whether each is contactable now takes the gate (``_Contactable``): every row's
    debtor is checked, but a debtor the store knows nothing about for the gate (no hold
    in force, no allowed contact in the gate's history, recipient not blacklisted) is
    checked once per time zone, not once per row.

    When no loan has a risk of its own (every score is the amount times one factor) and
    ``upto`` is given, the head of the window is read first (``_head_query``: ``fetch``
    rows, by default ``_head_size(upto)``, in the order every row being contactable
    would give); it is the answer when it settles it (``_settled``), else the whole
    window is read."""
    ranking = work.ranking
    plan = _Plan.of(work)
    dialect = session.get_bind().dialect.name
    fetch = fetch or _head_size(work, upto)
    numerator = plan.factor[0] if upto is not None and fetch and plan.factor else None
    window = _window_query(dialect, query.whereclause, tiers, ranking, ranking.window, numerator)
    if upto is not None and fetch:
        head = _head_query(
            dialect, window, plan.contact_rank, plan.factor, fetch,
            _gate_bounds(moment, plan.history), plan.needs_gate,
        )  # fmt: skip
        rows = session.connection().execute(head).all()
        settled = _settle(session, rows, work, plan, moment, upto, fetch)
        if settled is not None:
            return _items(session, query, rows, *settled, work, plan.last)
    if plan.needs_gate:
        # the window's rows in any order (``_best`` orders their keys)
        win = window.subquery("win")
        lean = select(
            win.c.id, win.c.loan_id, win.c.customer_id, win.c.amount, win.c.dpd, win.c.tier
        )
        window = _with_gate_columns(
            dialect, lean, win, win.c.customer_id, *_gate_bounds(moment, plan.history)
        )
    rows = session.connection().execute(window).all()
    contactable = (
        _Contactable(session, rows, moment, plan.rule_pack, plan.history)
        if plan.needs_gate
        else None
    )
    top = _best(_keys(rows, work, contactable, plan.contact_rank), rows, contactable, upto)
    return _items(session, query, rows, top, contactable, work, plan.last)


@dataclass(frozen=True)
class _Plan:
    """What ranking a list takes from its ``Worklist``: whether the gate ranks
    (``contactable_now`` is a tier), the contactable tier's rank (``last`` when not),
    the rank after every tier, the rule pack and its history in days, and the factor
    of a loan without a risk of its own (``_default_factor``)."""

    needs_gate: bool
    contact_rank: int
    last: int
    rule_pack: Any
    history: int
    factor: tuple[int, int] | None

    @classmethod
    def of(cls, work: Worklist) -> _Plan:
        tiers = work.ranking.tiers
        needs_gate = "contactable_now" in tiers
        last = len(tiers)
        rule_pack = contact_pack(work.pack_name)
        contact_rank = tiers.index("contactable_now") if needs_gate else last
        return cls(
            needs_gate, contact_rank, last, rule_pack, history_for(rule_pack),
            _default_factor(work.ranking),
        )  # fmt: skip


def _head_size(work: Worklist, upto: int | None) -> int:
    """How many rows of the window a page of the first ``upto`` reads first (0: the
    whole window at once): ``2 × upto + 20`` when every loan scores with one factor (no
    risks of their own) and that is fewer than the window."""
    if upto is None or work.risks or _default_factor(work.ranking) is None:
        return 0
    fetch = 2 * upto + 20
    return fetch if fetch < work.ranking.window else 0


def _settle(
    session: Session,
    rows: Sequence[Any],
    work: Worklist,
    plan: _Plan,
    moment: datetime,
    upto: int,
    fetch: int,
) -> tuple[list[_Key], _Contactable | None] | None:
    """The first ``upto`` keys of the window and the verdicts they took, ranked from
    ``rows``, the first ``fetch`` of the window by ``_head_query``; None when those do
    not settle them (``_settled``)."""
    contactable = (
        _Contactable(session, rows, moment, plan.rule_pack, plan.history)
        if plan.needs_gate
        else None
    )
    top = _best(_keys(rows, work, contactable, plan.contact_rank), rows, contactable, upto)
    if len(rows) < fetch or _settled(top, rows[-1], work.ranking, plan.contact_rank, upto):
        return top, contactable
    return None


def _window_query(
    dialect: str,
    where: Any,
    tiers: dict[str, ColumnElement[bool]],
    ranking: Ranking,
    size: Any,
    numerator: Any = None,
) -> Select[Any]:
    """The ranking window of the cases ``where`` selects: the first ``size`` in the
    store's order (``_store_order``), with only what ranks them (a Core query: no ORM
    row handling; the page's rows are read whole afterwards): id, loan, customer,
    amount, DPD and the rank of the row's best store tier, worked out by the database
    (CASE in the ranking's order: the first tier it is in); with a ``numerator``, last,
    ``x``: the amount in cents times it (``_head_query``'s score before division)."""
    order = {t: i for i, t in enumerate(ranking.tiers)}
    last = len(order)
    store = sorted((order[t], t) for t in STORE_TIERS if t in order)
    tier_rank = (
        sql_case(*((tiers[t], rank) for rank, t in store), else_=last) if store else literal(last)
    )
    amount: Any = CaseRow.amount_overdue
    if dialect == "postgresql":
        # numeric(…, 2) arrives as a Decimal of cents already: no Money processing
        amount = type_coerce(CaseRow.amount_overdue, Numeric(asdecimal=True))
    columns = [
        CaseRow.id, CaseRow.loan_id, CaseRow.customer_id, amount.label("amount"), CaseRow.dpd,
        tier_rank.label("tier"),
    ]  # fmt: skip
    if numerator is not None:
        if dialect == "postgresql":
            cents: Any = cast(amount * 100, BigInteger)
        else:  # SQLite keeps money in cents
            cents = type_coerce(CaseRow.amount_overdue, BigInteger)
        columns.append((cents * _whole(numerator)).label("x"))
    lean = select(*columns).where(where).subquery("ranked")
    # ``_store_order`` on the rank worked out once (any wanted store tier ranks before
    # ``last``): the statement holds the tiers' SQL once, short enough for the driver
    # to cache its parsing
    first = sql_case((lean.c.tier < last, 0), else_=1)
    return (
        select(lean).order_by(first, lean.c.amount.desc(), lean.c.dpd.desc(), lean.c.id).limit(size)
    )


@dataclass(frozen=True)
class _Shape:
    """The WHERE of a queue that ``queue`` reads through statements built once
    (``_shape_statements``): a collector's own cases (``own``) or, for a role that sees
    every case, all of them; any assignee, the unassigned pool or one collector's
    (``assignee``: None, "pool", "one"); one bucket or all. The same cases as
    ``_scoped`` and ``queue``'s filters select, with the values as bind parameters."""

    own: bool
    assignee: str | None
    bucket: bool

    @staticmethod
    def of(
        actor: Actor, assignee: str | None, bucket: str | None
    ) -> tuple[_Shape, dict[str, Any]] | None:
        """The shape of the actor's queue and its values, or None for a role whose
        scope is built per request (``case_scope``: a team lead's, an agency's)."""
        values: dict[str, Any] = {}
        if actor.role == "collector":
            values["scope_user"] = actor.username
        elif actor.role not in ALL_CASES:
            return None
        mode = None
        if assignee == "":
            mode = "pool"
        elif assignee is not None:
            mode, values["assignee"] = "one", assignee
        if bucket is not None:
            values["bucket"] = bucket
        return _Shape(actor.role == "collector", mode, bucket is not None), values

    def where(self) -> ColumnElement[bool]:
        """The WHERE on ``cases``, its values bind parameters."""
        clauses = [CaseRow.status == "open"]
        if self.own:
            clauses.append(CaseRow.assigned_to == bindparam("scope_user", type_=String))
        clauses.append(not_placed())
        if self.assignee == "pool":
            clauses.append(CaseRow.assigned_to.is_(None))
        elif self.assignee == "one":
            clauses.append(CaseRow.assigned_to == bindparam("assignee", type_=String))
        if self.bucket:
            clauses.append(CaseRow.bucket == bindparam("bucket", type_=String))
        return and_(*clauses)


@functools.cache
def _shape_statements(
    dialect: str, shape: _Shape, tiers: tuple[str, ...], needs_gate: bool
) -> Select[Any]:
    """The head of a ``shape``'s ranking window (``_head_query``), each row followed by
    what a queue item shows of it besides (``_PAGE_COLUMNS``), built once per dialect,
    shape and ranking tiers; every value a bind parameter (``_ranked_shape``)."""
    moment = bindparam("moment", type_=CaseLease.expires_at.type)
    day = bindparam("today", type_=Promise.due_date.type)
    yesterday = bindparam("yesterday", type_=Promise.due_date.type)
    sets = _tier_sets(day, moment, yesterday)
    where = shape.where()
    ranking = Ranking(tiers=tiers)
    window = _window_query(
        dialect, where, sets, ranking, bindparam("window", type_=Integer),
        bindparam("numerator", type_=BigInteger),
    )  # fmt: skip
    last = len(tiers)
    head = _head_query(
        dialect, window, tiers.index("contactable_now") if needs_gate else last,
        (bindparam("numerator", type_=BigInteger), bindparam("denominator", type_=BigInteger)),
        bindparam("fetch", type_=Integer),
        (bindparam("on", type_=HoldRow.placed_on.type),
         bindparam("since", type_=ContactAttempt.at.type)),
        needs_gate,
    )  # fmt: skip
    # the head's rows (by key: CaseRow, Customer), each with its live lease, in its order
    h = head.order_by(None).subquery("h")  # ordered outside
    live = and_(CaseLease.case_id == h.c.id, CaseLease.expires_at > moment)
    return (
        select(h, *_PAGE_COLUMNS)
        .join(CaseRow, CaseRow.id == h.c.id)
        .join(Customer, Customer.customer_id == h.c.customer_id)
        .outerjoin(CaseLease, live)
        .order_by(h.c.best, h.c.score.desc(), h.c.dpd.desc(), h.c.id)
    )


def _ranked_shape(
    session: Session,
    shape: _Shape,
    values: dict[str, Any],
    work: Worklist,
    moment: datetime,
    today: date,
    upto: int,
) -> list[QueueItem] | None:
    """``_ranked_rows`` of a queue of ``shape`` (``_Shape.of``) through its statements
    built once (``_shape_statements``); None when it takes the whole window (no head
    of it, or one that does not settle the page): the caller ranks that per request."""
    fetch = _head_size(work, upto)
    if not fetch:
        return None
    plan = _Plan.of(work)
    assert plan.factor is not None
    dialect = session.get_bind().dialect.name
    head = _shape_statements(dialect, shape, work.ranking.tiers, plan.needs_gate)
    on, since = _gate_bounds(moment, plan.history)
    values = values | {
        "moment": moment, "today": today, "yesterday": today - timedelta(days=1),
        "on": on, "since": since, "window": work.ranking.window, "fetch": fetch,
        "numerator": plan.factor[0], "denominator": plan.factor[1],
    }  # fmt: skip
    rows = session.connection().execute(head, values).all()
    settled = _settle(session, rows, work, plan, moment, upto, fetch)
    if settled is None:
        return None
    top, contactable = settled
    # ``_COLUMNS`` of each chosen row, from its own columns and the page's after them
    page = len(rows[0]) - len(_PAGE_COLUMNS) if rows else 0
    read = [
        (r[0], r[1], r[2], r[page], r[4], r[page + 1], r[page + 3], r[page + 2],
         r[page + 4], r[page + 5])
        for r in (rows[k[4]] for k in top)
    ]  # fmt: skip
    return _items(session, None, rows, top, contactable, work, plan.last, read)


def _default_factor(ranking: Ranking) -> tuple[int, int] | None:
    """The factor of a loan without a risk of its own (``Ranking.score``) as a ratio of
    whole numbers (numerator, denominator), or None when either is too long for the
    database to multiply an amount in cents by it in 64 bits."""
    weight = ranking.risk_weight
    ratio = (Decimal(1) - weight + weight * ranking.default_risk).as_integer_ratio()
    return ratio if max(ratio) <= 10**6 else None


def _head_query(
    dialect: str,
    window: Select[Any],
    contact_rank: int,
    factor: tuple[Any, Any],
    fetch: Any,
    bound: tuple[Any, Any],
    needs_gate: bool,
) -> Select[Any]:
    """The first ``fetch`` rows of the ``window`` query (``_window_query``'s columns, with
    ``x`` of ``factor``'s numerator) by the key each would have if every debtor were
    contactable now (the better of its store tier's rank and ``contact_rank``, its
    score as a loan without a risk of its own, DPD descending, id), with the gate's
    columns
    (``_with_gate_columns``, on the day and since the start of the history ``bound``)
    read for those rows only. The values may be bind parameters.

    The score is worked out by the database exactly as ``Ranking.score`` does it: the
    amount in cents times ``factor`` (numerator, denominator: ``x`` over the
    denominator), rounded half to even to a whole cent, in integers (so ties of two
    amounts on one score are ties here too)."""
    win = window.subquery("win")
    best = (
        sql_case((win.c.tier < contact_rank, win.c.tier), else_=contact_rank)
        if needs_gate
        else win.c.tier
    )
    score = _half_even(win.c.x, _whole(factor[1]))
    best_label, score_label = best.label("best"), score.label("score")
    head = (
        select(win, best_label, score_label)
        .order_by(best_label, score_label.desc(), win.c.dpd.desc(), win.c.id)
        .limit(fetch)
        .subquery("head")
    )
    query = select(
        head.c.id, head.c.loan_id, head.c.customer_id, head.c.amount, head.c.dpd, head.c.tier
    )
    if needs_gate:
        query = _with_gate_columns(dialect, query, head, head.c.customer_id, *bound)
    # last, after the columns ``_keys`` reads by position: the head's order
    return (
        query.add_columns(head.c.best, head.c.score)
        .select_from(head)
        .order_by(head.c.best, head.c.score.desc(), head.c.dpd.desc(), head.c.id)
    )


def _gate_bounds(moment: datetime, history_days: int) -> tuple[date, datetime]:
    """The day a hold must be in force on and the moment the gate's history starts
    after, for a call at ``moment`` (as ``gating.load_gate_inputs`` reads them)."""
    at = moment.astimezone(UTC)
    return at.date(), at - timedelta(days=history_days)


def _whole(value: Any) -> Any:
    """A whole number for SQL: a bind parameter as it is, a number as a BIGINT literal."""
    return value if isinstance(value, ColumnElement) else literal(value, BigInteger)


def _half_even(whole: Any, d: Any) -> Any:
    """SQL for ``whole / d`` rounded half to even, on whole numbers (the rounding of
    ``Decimal.quantize`` in the default context), for either sign."""

    # the constants as SQL text, not bind parameters: the statement stays short
    zero, one, two = (literal_column(str(n), BigInteger) for n in (0, 1, 2))

    def rounded(x: Any) -> Any:  # x ≥ 0: integer division truncates to the floor
        q = x.op("/", return_type=BigInteger)(d)
        twice = (x % d) * two
        up = sql_case((twice > d, one), (twice == d, q % two), else_=zero)
        return q + up

    return sql_case((whole < zero, -rounded(-whole)), else_=rounded(whole))


def _settled(
    top: Sequence[_Key], edge: Any, ranking: Ranking, contact_rank: int, upto: int
) -> bool:
    """Whether the ``upto`` keys ``top`` ranked from a head of the window (``_head``,
    its last row ``edge``) are the first ``upto`` of the whole window. A row past the
    head comes after ``edge`` in the head's order, and its key is no better than the
    one it has there (a debtor's rank is the head's when contactable, else worse; its
    score, DPD and id are the same): so every key up to ``edge``'s in the head's order
    is before every row past the head."""
    if len(top) < upto:
        return False
    score = ranking.score(edge[3], ranking.default_risk)
    bound = (min(edge[_TIER], contact_rank), -score, -edge[4], edge[0])
    return top[-1][:4] <= bound


def _keys(
    rows: Sequence[Any], work: Worklist, contactable: _Contactable | None, contact_rank: int
) -> list[_Key]:
    """The ranking key of each row (``_Key``; ``_best`` orders them): its rank (its best
    store tier's, or the contactable tier's when the gate allows a call now), -score,
    -DPD, id, its position, score, risk, and the rank it goes back to if it was put in
    at the contactable tier before its debtor was checked (-1 when it was not)."""
    ranking = work.ranking
    risks, default_risk = work.risks, ranking.default_risk
    # ``Ranking.score`` with its factor worked out once per risk
    factors: dict[Decimal, Decimal] = {}
    one, weight = Decimal(1), ranking.risk_weight
    # a row whose debtor the store knows something about for the gate (``_Contactable``)
    # costs a check of its own: it goes in at the contactable tier, marked, and is
    # checked only when it comes up (``_best``); blocked, it goes back at its own rank
    known_debtors = contactable.known if contactable is not None else frozenset()
    keyed = []
    by_class = contactable.by_class if contactable is not None else {}
    default_factor = one - weight + weight * default_risk
    for n, r in enumerate(rows):  # by position: a row's attributes cost a lookup each
        rank = r[_TIER]
        unsure = -1
        if contact_rank < rank:
            if r[2] in known_debtors:
                rank, unsure = contact_rank, rank
            else:
                # ``_Contactable.allowed`` of a debtor the store knows nothing about:
                # its class's verdict, looked up here once known (a call a row costs
                # more than the lookup), checked by ``allowed`` the first time
                mobile = r[_MOBILE]
                ok = by_class.get((r[_ZONE], None if mobile is None else bool(mobile)))
                if ok is None:
                    ok = contactable.allowed(r)  # type: ignore[union-attr]
                if ok:
                    rank = contact_rank
        risk: Decimal | None = risks.get(r[1]) if risks else None
        if risk is None:
            factor = default_factor
        else:
            found = factors.get(risk)
            if found is None:
                found = factors[risk] = one - weight + weight * risk
            factor = found
        value = (r[3] * factor).quantize(CENT)
        keyed.append((rank, -value, -r[4], r[0], n, value, risk, unsure))
    return keyed


def _items(
    session: Session,
    query: Select[Any] | None,
    rows: Sequence[Any],
    top: Sequence[_Key],
    contactable: _Contactable | None,
    work: Worklist,
    last: int,
    read: Any = None,
) -> list[QueueItem]:
    """The items of the keys ``top``, their rows of ``query`` read whole (or ``read``,
    those rows read already)."""
    if read is None and top:
        assert query is not None
        read = session.connection().execute(
            query.where(_among(session, CaseRow.id, [rows[k[4]].id for k in top]))
        )
    whole = {r[0]: r for r in read} if top else {}
    items = []
    for rank, _, _, case_id, n, value, risk, _unsure in top:
        row = whole.get(case_id)
        if row is None:
            # gone from the list between the two reads (another collector leased it for
            # ``next_case``, or it closed): it is no longer the actor's to work
            continue
        verdict = contactable.verdict(rows[n]) if contactable is not None else None
        tier = work.ranking.tiers[rank] if rank < last else None
        items.append(_item(row, work, tier, verdict, value, risk))
    return items


CENT = Decimal("0.01")
_Key = tuple[int, Decimal, int, int, int, Decimal, Decimal | None, int]


def _best(
    keyed: list[_Key], rows: Sequence[Any], contactable: _Contactable | None, upto: int | None
) -> list[_Key]:
    """The first ``upto`` (all when None) of ``keyed`` in ranking order (rank, -score,
    -DPD, case id: ids are unique, so the rest of a key is never compared). A key
    whose last field is a rank (not -1) was put in at the contactable tier before its
    debtor was checked: it is checked when it comes up, and, blocked, goes back in at
    that rank. The order is the one every row checked first would give."""
    if contactable is None or all(k[7] < 0 for k in keyed):
        keyed.sort()
        return keyed if upto is None else keyed[:upto]
    heapq.heapify(keyed)
    top: list[_Key] = []
    while keyed and (upto is None or len(top) < upto):
        key = heapq.heappop(keyed)
        unsure = key[7]
        if unsure < 0 or contactable.allowed(rows[key[4]]):
            top.append((*key[:7], -1))
        else:
            heapq.heappush(keyed, (unsure, *key[1:7], -1))
    return top


# the ranking query's columns: id, loan, customer, amount, DPD, the rank of the row's
# best store tier, then the gate's
_TIER = 5
_ZONE, _MOBILE, _HELD, _CONTACTED = range(6, 10)


def _with_gate_columns(
    dialect: str,
    query: Select[Any],
    base: Any,
    customer_id: Any,
    on: date | Any,
    since: datetime | Any,
) -> Select[Any]:
    """``query`` from ``base`` (``cases``, or a subquery of it with the column
    ``customer_id``) with what the gate needs to know of each row's debtor: the time
    zone, the mobile (a call's recipient), whether a hold is in force on the day and
    whether an allowed contact falls in the gate's history (the same filters as
    ``gating.load_gate_inputs``: holds in force ``on`` the day, contacts after
    ``since``; either may be a bind parameter). On PostgreSQL the debtor's row is read
    by key for each case (LATERAL): joined, it hashes every customer for a collector's
    thousand cases."""
    held = exists().where(HoldRow.customer_id == customer_id, _in_force(on))
    contacted = exists().where(
        ContactAttempt.customer_id == customer_id,
        ContactAttempt.allowed.is_(True),
        ContactAttempt.at > since,
    )
    debtor: Any = Customer
    joined = Customer.customer_id == customer_id
    if dialect == "postgresql":
        # LIMIT 1 (one row by key anyway) keeps PostgreSQL from flattening it to a join
        debtor = (
            select(Customer.time_zone, Customer.mobile).where(joined).limit(1).lateral("debtor")
        )
        joined = true()
    return (
        query.add_columns(debtor.time_zone if debtor is Customer else debtor.c.time_zone)
        .add_columns(debtor.mobile if debtor is Customer else debtor.c.mobile)
        .add_columns(held.label("gate_held"), contacted.label("gate_contacted"))
        .select_from(base)
        .join(debtor, joined)
    )


_HOLD_COLUMNS = (
    HoldRow.customer_id,
    HoldRow.loan_id,
    HoldRow.kind,
    HoldRow.channel,
    HoldRow.reason,
    HoldRow.recipient,
    HoldRow.placed_on,
    HoldRow.released_on,
)


@functools.cache
def _gate_reads(dialect: str) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """What ``_Contactable`` reads, built once per dialect: the blacklist, the holds in
    force on the day ``on`` and the allowed contacts after ``since`` of the debtors
    ``ids`` (on PostgreSQL one array parameter, as ``_among``), with the filters of
    ``gating.load_gate_inputs``."""

    def among(column: Any) -> ColumnElement[bool]:
        if dialect == "postgresql":
            return column == any_(bindparam("ids", type_=postgresql.ARRAY(column.type)))
        return column.in_(bindparam("ids", expanding=True))

    on = bindparam("on", type_=HoldRow.placed_on.type)
    since = bindparam("since", type_=ContactAttempt.at.type)
    holds = select(*_HOLD_COLUMNS).where(among(HoldRow.customer_id), _in_force(on))
    history = select(*HISTORY_COLUMNS).where(
        among(ContactAttempt.customer_id),
        ContactAttempt.allowed.is_(True),
        ContactAttempt.at > since,
    )
    return select(BlacklistEntry.value), holds, history


class _Contactable:
    """The gate's verdict on a call now to the debtor of each queue row (a dry run).

    A debtor with a hold in force, an allowed contact in the gate's history or a
    blacklisted mobile is checked on the inputs ``gating.load_gate_inputs`` reads. For
    any other debtor the gate sees no holds, no history and no blacklisted recipient:
    whether it blocks the call depends only on the debtor's zone and whether a recipient
    is known (a rule may word its reason with the recipient), so the first such debtor
    of a zone is checked and an *allowed* verdict holds for the zone's others; a
    blocked one is worked out for each debtor that is shown (``verdict``)."""

    def __init__(
        self, session: Session, rows: Sequence[Any], moment: datetime, rule_pack: Any, history: int
    ) -> None:
        self.moment, self.pack = moment, rule_pack
        connection = session.connection()
        listing, holding, contacting = _gate_reads(session.get_bind().dialect.name)
        # the blacklist whole, as ``gating.blacklisted(session, None)`` reads it
        listed = list(connection.execute(listing).scalars())
        self.blacklist = frozenset(normalize_contact(v) for v in listed)
        if self.blacklist:
            known = {r[2]: r[_ZONE] for r in rows if self._known(r)}
        else:  # the usual case: only a hold or a contact makes a debtor known
            known = {r[2]: r[_ZONE] for r in rows if r[_HELD] or r[_CONTACTED]}
        self.known = set(known)
        self.inputs: GateInputs | None = None
        self.shared: Gate | None = None
        if known:
            # ``gating.load_gate_inputs`` for these debtors, from what the rows hold
            # already (zones, the blacklist): their holds in force and history only
            ids = sorted(known)
            on = moment.astimezone(UTC).date()
            self.inputs = GateInputs(zones=known, blacklist=listed)
            # what ``GateInputs.add_holds`` and ``load_history`` read, as columns; each
            # only for the debtors whose row says they have some (``_with_gate_columns``
            # asks the same of the store: a hold in force on the day, an allowed contact
            # since the same moment), so a window with no hold in force, or no contact
            # in the gate's history, costs no round trip for it
            held_ids = sorted({r[2] for r in rows if r[_HELD]})
            if held_ids:
                held = connection.execute(holding, {"ids": held_ids, "on": on})
                self.inputs.add_holds(held, on)  # type: ignore[arg-type]
            contacted_ids = sorted({r[2] for r in rows if r[_CONTACTED]})
            since = moment - timedelta(days=history)
            if contacted_ids:
                contacts = connection.execute(contacting, {"ids": contacted_ids, "since": since})
                self.inputs.add_history(contacts)
            # one gate for all of them: it keeps each debtor's holds and history apart,
            # so a debtor's first check on it is the check on a gate of its own (a
            # debtor's second case gets a gate of its own: the first check's attempt,
            # if allowed, would count toward its caps)
            self.shared = self.inputs.gate(rule_pack, ids)
        self.checked: set[str] = set()
        self.by_class: dict[tuple[str | None, bool | None], bool] = {}
        self.verdicts: dict[int, Verdict] = {}

    def _known(self, r: Any) -> bool:
        """Whether the store holds anything the gate looks at about the row's debtor."""
        mobile = r[_MOBILE]
        return bool(
            r[_HELD]
            or r[_CONTACTED]
            or (self.blacklist and mobile and normalize_contact(mobile) in self.blacklist)
        )

    def _check(self, r: Any) -> Verdict:
        attempt = Attempt(f"rank-{r.id}", r.customer_id, r.loan_id, "call", self.moment, r[_ZONE])
        if r.customer_id in self.known:
            assert self.inputs is not None
            if r.customer_id in self.checked:
                gate = self.inputs.gate(self.pack, [r.customer_id])
            else:
                self.checked.add(r.customer_id)
                assert self.shared is not None
                gate = self.shared
        else:
            gate = Gate(self.pack)
        verdict = gate.check(attempt, r[_MOBILE])
        self.verdicts[r.id] = verdict
        return verdict

    def allowed(self, r: Any) -> bool:
        """Whether a call now to the row's debtor passes the gate."""
        if r[2] in self.known:
            return self._check(r).allowed
        mobile = r[_MOBILE]
        key = (r[_ZONE], None if mobile is None else bool(mobile))
        found = self.by_class.get(key)
        if found is None:
            found = self.by_class[key] = self._check(r).allowed
        return found

    def verdict(self, r: Any) -> Verdict | None:
        """The row's verdict: checked, or the allowed one of its class; None when only
        its class's blocked verdict is known (``annotate`` checks it)."""
        found = self.verdicts.get(r.id)
        if found is not None:
            return found
        if self.allowed(r):
            return Verdict(f"rank-{r.id}", True, (), ())
        return None


def _item(
    r: Any,
    work: Worklist,
    tier: str | None,
    verdict: Verdict | None,
    score: Decimal | None = None,
    risk: Decimal | None = None,
) -> QueueItem:
    if score is None:
        risk = work.risks.get(r.loan_id)
        known = work.ranking.default_risk if risk is None else risk
        score = work.ranking.score(r.amount_overdue, known)
    return QueueItem(
        *r[: len(_COLUMNS)],
        tier=tier,
        risk=risk,
        score=score,
        contactable=None if verdict is None else verdict.allowed,
        blocked_rules=() if verdict is None else verdict.rules,
        blocked_reasons=() if verdict is None else verdict.reasons,
    )


def queue(
    session: Session,
    actor: Actor,
    *,
    assignee: str | None = None,
    bucket: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
    today: date | None = None,
    work: Worklist | None = None,
) -> list[QueueItem]:
    """The open cases ``actor`` may see, ranked (``arrears.services.workbench.ranking``)
    and annotated with their last contact, promise, callback and next action;
    ``assignee`` narrows to one collector ("" = the unassigned pool), ``bucket`` to one
    bucket."""
    if not 1 <= limit <= PAGE_MAX:
        raise Invalid(f"limit: must be between 1 and {PAGE_MAX}")
    if offset < 0:
        raise Invalid("offset: must not be negative")
    moment = now or _now()
    day = today or moment.date()
    work = work or Worklist()
    window = work.ranking.window
    items: list[QueueItem] | None = None
    shape = _Shape.of(actor, assignee, bucket)
    if offset < window and shape is not None:
        # a collector's or a manager's page: statements built once for its shape
        ranked = _ranked_shape(session, *shape, work, moment, day, offset + limit)
        items = None if ranked is None else ranked[offset:]
        if items is not None and len(items) == limit:
            return hide_staff_in(
                session, actor, annotate(session, items, moment, day, work.pack_name)
            )
    query = _scoped(session, actor, moment)
    if assignee is not None:
        query = query.where(
            CaseRow.assigned_to.is_(None) if assignee == "" else CaseRow.assigned_to == assignee
        )
    if bucket is not None:
        query = query.where(CaseRow.bucket == bucket)
    tiers = _tier_sets(day, moment)
    if items is None:
        items = []
        if offset < window:
            items = _ranked_rows(session, query, tiers, work, moment, offset + limit)[offset:]
    if len(items) < limit:
        # past the ranked window: the rest in amount order, as the window was filled
        skip = max(offset, window)
        rest = session.execute(
            query.order_by(*_store_order(tiers, work.ranking))
            .offset(skip)
            .limit(limit - len(items))
        ).all()
        items += [replace(_item(r, work, None, None), ranked=False) for r in rest]
    return hide_staff_in(session, actor, annotate(session, items, moment, day, work.pack_name))


def annotate(
    session: Session, items: list[QueueItem], moment: datetime, today: date, pack_name: str
) -> list[QueueItem]:
    """``items`` with their last contact (and its outcome), pending (or just broken)
    promise, pending callback, the gate's verdict on a call now, and next action."""
    if not items:
        return items
    last, promises, callbacks = _page_facts(session, [i.case_id for i in items], moment, today)
    missing = [i for i in items if i.contactable is None]
    verdicts = (
        gate_verdicts(
            session,
            [_GateRow(i.case_id, i.loan_id, i.customer_id) for i in missing],
            moment,
            pack_name,
        )
        if missing
        else {}
    )
    out = []
    for item in items:
        attempt = last.get(item.case_id)
        promise = promises.get(item.case_id)
        verdict = verdicts.get(item.case_id)
        contactable = item.contactable if verdict is None else verdict.allowed
        done = _updated(
            item,
            contactable=contactable,
            blocked_rules=item.blocked_rules if verdict is None else verdict.rules,
            blocked_reasons=item.blocked_reasons if verdict is None else verdict.reasons,
            last_contact_at=_aware(attempt.at) if attempt else None,
            last_contact_channel=attempt.channel if attempt else None,
            last_outcome=(attempt.disposition or attempt.outcome) if attempt else None,
            last_contact_allowed=attempt.allowed if attempt else None,
            promise_id=promise.id if promise else None,
            promise_amount=promise.amount if promise else None,
            promise_due=promise.due_date if promise else None,
            promise_status=promise.status if promise else None,
            callback_at=_aware(callbacks.get(item.case_id)),
        )
        # the next action reads only what ``done`` holds: set on the same new object
        object.__setattr__(done, "next_action", _next_action(done, moment, today))
        out.append(done)
    return out


def _updated(item: QueueItem, **changes: Any) -> QueueItem:
    """``dataclasses.replace(item, **changes)`` for a page of items: a new QueueItem with
    ``item``'s fields and ``changes`` copied into its ``__dict__`` (QueueItem has no
    ``__post_init__`` and no slots), not each field set again by a frozen ``__init__``:
    1.3 against 6.4 µs an item, fifty items a page."""
    unknown = changes.keys() - _ITEM_FIELDS
    if unknown:
        raise TypeError(f"QueueItem has no field {sorted(unknown)[0]}")
    done = object.__new__(QueueItem)
    state = done.__dict__
    state.update(item.__dict__)
    state.update(changes)
    return done


_ITEM_FIELDS = frozenset(f.name for f in fields(QueueItem))


# ``_page_facts``' columns: which part a row is of, the case, then each part's own
_FACT_LAST, _FACT_PROMISE, _FACT_CALLBACK = 0, 1, 2


def _page_facts(
    session: Session, ids: list[int], moment: datetime, today: date
) -> tuple[dict[int, Any], dict[int, Any], dict[int, datetime]]:
    """For the cases ``ids`` of a page: the latest contact made by ``moment`` (not one
    the strategy dated later) with its logged disposition, the pending promise (the
    last by due date and id) or else the earliest one broken in the last seven days,
    and the pending callback's time. One round trip (``_page_facts_query``)."""
    params = {"ids": ids, "moment": moment, "broken_since": today - timedelta(days=7)}
    query = _page_facts_query(session.get_bind().dialect.name)
    rows = session.connection().execute(query, params).all()
    last: dict[int, Any] = {}
    promises: dict[int, Any] = {}
    callbacks: dict[int, datetime] = {}
    found = []
    for r in rows:
        if r[0] == _FACT_LAST:
            last[r[1]] = _LastContact(*r[2:7])
        elif r[0] == _FACT_CALLBACK:
            callbacks[r[1]] = r[11]
        else:
            found.append(_PagePromise(r[7], r[1], r[8], r[9], r[10]))
    # a pending promise wins over a broken one, the later pending over the earlier
    for p in sorted(found, key=lambda p: (p.due_date, p.id)):
        if p.case_id not in promises or p.status == "pending":
            promises[p.case_id] = p
    return last, promises, callbacks


@functools.cache
def _page_facts_query(dialect: str) -> Any:
    """``_page_facts``' statement, built once per dialect (its values are parameters:
    ``ids``, ``moment``, ``broken_since``): the three selects as one UNION ALL, each
    row tagged with its part, the rest of a part's columns NULL of the right type."""

    def typed(column: Any) -> Any:
        # cast: PostgreSQL types a UNION's column from its branches two at a time, and
        # two bare NULLs make text, which matches no timestamp or number after them
        return cast(null(), column.type)

    def among(column: Any) -> Any:
        # as ``_among``: one array parameter on PostgreSQL
        if dialect == "postgresql":
            return column == any_(bindparam("ids", type_=postgresql.ARRAY(column.type)))
        return column.in_(bindparam("ids", expanding=True))

    moment = bindparam("moment", type_=ContactAttempt.at.type)
    last_ids = select(func.max(ContactAttempt.id)).where(
        among(ContactAttempt.case_id), ContactAttempt.at <= moment
    )
    contact: tuple[Any, ...] = (ContactAttempt.at, ContactAttempt.channel, ContactAttempt.outcome)
    contact += (ContactAttempt.allowed, ContactLog.disposition)
    promise = (Promise.id, Promise.amount, Promise.due_date, Promise.status)
    last_part = select(
        literal(_FACT_LAST), ContactAttempt.case_id, *contact,
        *(typed(c) for c in promise), typed(ContactLog.callback_at),
    )  # fmt: skip
    last_part = last_part.outerjoin(
        ContactLog, ContactLog.contact_attempt_id == ContactAttempt.id
    ).where(ContactAttempt.id.in_(last_ids.group_by(ContactAttempt.case_id)))
    promise_part = select(
        literal(_FACT_PROMISE), Promise.case_id, *(typed(c) for c in contact), *promise,
        typed(ContactLog.callback_at),
    ).where(
        among(Promise.case_id),
        or_(
            Promise.status == "pending",
            and_(
                Promise.status == "broken",
                Promise.due_date >= bindparam("broken_since", type_=Promise.due_date.type),
            ),
        ),
    )  # fmt: skip
    pending = pending_callbacks().where(among(ContactLog.case_id)).subquery()
    callback_part = select(
        literal(_FACT_CALLBACK), pending.c.case_id, *(typed(c) for c in contact),
        *(typed(c) for c in promise), pending.c.callback_at,
    )  # fmt: skip
    return union_all(last_part, promise_part, callback_part)


@dataclass(frozen=True)
class _LastContact:
    at: datetime
    channel: str
    outcome: str
    allowed: bool
    disposition: str | None


@dataclass(frozen=True)
class _PagePromise:
    id: int
    case_id: int
    amount: Decimal
    due_date: date
    status: str


@dataclass(frozen=True)
class _GateRow:
    id: int
    loan_id: str
    customer_id: str


def _next_action(item: QueueItem, moment: datetime, today: date) -> str:
    """What the collector does next on the case (a message key under ``floor.next.``)."""
    if item.contactable is False:
        return "wait_blocked"
    if item.promise_status == "pending" and item.promise_due == today:
        return "confirm_promise"
    broken = item.promise_status in ("broken", "pending") and item.promise_due is not None
    if broken and item.promise_due < today:  # type: ignore[operator]
        return "chase_broken"
    if item.callback_at is not None:
        return "call_back" if item.callback_at <= moment else "call_back_later"
    if item.promise_status == "pending":
        return "await_promise"
    return "call"


def _listed(
    session: Session,
    actor: Actor,
    where: ColumnElement[bool],
    order: Sequence[Any],
    *,
    assignee: str | None,
    limit: int,
    offset: int,
    moment: datetime,
    today: date,
    work: Worklist,
) -> list[QueueItem]:
    if not 1 <= limit <= PAGE_MAX:
        raise Invalid(f"limit: must be between 1 and {PAGE_MAX}")
    if offset < 0:
        raise Invalid("offset: must not be negative")
    query = _scoped(session, actor, moment).where(where)
    if assignee is not None:
        query = query.where(
            CaseRow.assigned_to.is_(None) if assignee == "" else CaseRow.assigned_to == assignee
        )
    tiers = _tier_sets(today, moment)
    flags = [tiers[t].label(t) for t in STORE_TIERS]
    rows = session.execute(
        query.add_columns(*flags).order_by(*order).limit(limit).offset(offset)
    ).all()
    items = []
    for r in rows:
        met = [t for t in work.ranking.tiers if t in STORE_TIERS and getattr(r, t)]
        items.append(_item(r, work, met[0] if met else None, None))
    return hide_staff_in(session, actor, annotate(session, items, moment, today, work.pack_name))


def promise_list(
    session: Session,
    actor: Actor,
    *,
    assignee: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
    today: date | None = None,
    work: Worklist | None = None,
) -> list[QueueItem]:
    """ "My promises": the open cases in the actor's scope with a pending promise, or
    one broken in the last seven days, the earliest due first (a collector's own; a
    team lead's team, or ``assignee``'s)."""
    moment = now or _now()
    day = today or moment.date()
    recent = or_(
        Promise.status == "pending",
        and_(Promise.status == "broken", Promise.due_date >= day - timedelta(days=7)),
    )
    due = (
        select(func.min(Promise.due_date))
        .where(Promise.case_id == CaseRow.id, recent)
        .scalar_subquery()
    )
    return _listed(
        session, actor, due.is_not(None), [due, CaseRow.id],
        assignee=assignee, limit=limit, offset=offset, moment=moment, today=day,
        work=work or Worklist(),
    )  # fmt: skip


def callback_list(
    session: Session,
    actor: Actor,
    *,
    assignee: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
    today: date | None = None,
    work: Worklist | None = None,
) -> list[QueueItem]:
    """ "My callbacks": the open cases in the actor's scope whose debtor asked to be
    called back and was not called since, the earliest callback first."""
    moment = now or _now()
    pending = pending_callbacks().subquery()
    at = select(pending.c.callback_at).where(pending.c.case_id == CaseRow.id).scalar_subquery()
    return _listed(
        session, actor, at.is_not(None), [at, CaseRow.id],
        assignee=assignee, limit=limit, offset=offset, moment=moment,
        today=today or moment.date(), work=work or Worklist(),
    )  # fmt: skip


@dataclass(frozen=True)
class CollectorLoad:
    """One collector's work today: open cases, promises due today, promises broken
    yesterday, callbacks due now and later, contacts made today (allowed by the gate)."""

    username: str
    display_name: str
    open_cases: int
    promises_due_today: int
    promises_broken_yesterday: int
    callbacks_due: int
    callbacks_later: int
    contacts_today: int


def collector_load(
    session: Session,
    actor: Actor,
    *,
    now: datetime | None = None,
    today: date | None = None,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> list[CollectorLoad]:
    """The load of each active collector the actor supervises (a team lead's team;
    managers and admins every collector), by user name; "today" starts at midnight in
    ``time_zone`` (the business zone)."""
    require_role(actor, SUPERVISORS, "see the team's load")
    moment = now or _now()
    day = today or moment.date()
    users = select(User.username, User.display_name).where(
        User.role == "collector", User.active.is_(True)
    )
    if actor.role == "team_lead":
        users = (
            users.where(User.team_id == actor.team_id) if actor.team_id else users.where(false())
        )
    people = session.execute(users.order_by(User.username)).all()
    names = [p.username for p in people]
    if not names:
        return []
    base = select(CaseRow.assigned_to, func.count()).where(
        CaseRow.status == "open", CaseRow.assigned_to.in_(names), not_placed()
    )
    tiers = _tier_sets(day, moment)
    pending = pending_callbacks().subquery()

    def counts(*where: ColumnElement[bool]) -> dict[str, int]:
        rows = session.execute(base.where(*where).group_by(CaseRow.assigned_to))
        return {name: n for name, n in rows}

    opened = counts()
    due = counts(tiers["promise_due_today"])
    broken = counts(tiers["promise_broken_yesterday"])
    cb_due = counts(tiers["callback_due"])
    cb_later = counts(
        CaseRow.id.in_(select(pending.c.case_id).where(pending.c.callback_at > moment))
    )
    start = datetime.combine(day, time(0), ZoneInfo(time_zone)).astimezone(UTC)
    contacts = dict(
        session.execute(
            select(ContactAttempt.actor, func.count())
            .where(
                ContactAttempt.actor.in_(names),
                ContactAttempt.allowed.is_(True),
                ContactAttempt.at >= start,
            )
            .group_by(ContactAttempt.actor)
        ).all()
    )
    return [
        CollectorLoad(
            p.username,
            p.display_name,
            opened.get(p.username, 0),
            due.get(p.username, 0),
            broken.get(p.username, 0),
            cb_due.get(p.username, 0),
            cb_later.get(p.username, 0),
            contacts.get(p.username, 0),
        )
        for p in people
    ]


def queue_sizes(session: Session, actor: Actor) -> dict[str, int]:
    """Open, unplaced cases in the actor's scope by assignee ("" = unassigned)."""
    rows = session.execute(
        select(func.coalesce(CaseRow.assigned_to, ""), func.count())
        .where(CaseRow.status == "open", case_scope(session, actor), not_placed())
        .group_by(CaseRow.assigned_to)
    )
    return {name: count for name, count in rows}


def _insert(session: Session):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(CaseLease)


def take_lease(
    session: Session, case_id: int, username: str, now: datetime, lease: timedelta
) -> bool:
    """Lease ``case_id`` to ``username`` until ``now + lease`` unless someone else holds
    a live lease on it; True when the lease is now theirs. One atomic statement."""
    statement = _insert(session).values(case_id=case_id, username=username, expires_at=now + lease)
    statement = statement.on_conflict_do_update(
        index_elements=[CaseLease.case_id],
        set_={"username": username, "expires_at": now + lease},
        where=or_(CaseLease.expires_at <= now, CaseLease.username == username),
    ).returning(CaseLease.case_id)
    # RETURNING, not rowcount: the driver reports -1 rows for an upsert on PostgreSQL
    return session.execute(statement).first() is not None


def release_leases(session: Session, username: str) -> int:
    """Drop every lease ``username`` holds; returns how many."""
    return session.execute(delete(CaseLease).where(CaseLease.username == username)).rowcount


def record_assignment(
    session: Session,
    case: CaseRow,
    to_user: str | None,
    by: str,
    reason: str,
    at: datetime | None = None,
) -> None:
    """Give ``case`` to ``to_user`` (None: the pool) and keep the move in its assignment
    history, dated ``at`` (default: now). The caller writes the audit entry."""
    moved = CaseAssignment(
        case_id=case.id, from_user=case.assigned_to, to_user=to_user, reason=reason, by_user=by
    )
    if at is not None:
        moved.at = at
    session.add(moved)
    case.assigned_to = to_user


def _assign(session: Session, case: CaseRow, to_user: str | None, by: str, reason: str) -> None:
    if case.assigned_to == to_user:
        return
    audit.append(
        session,
        by,
        "case.assign",
        "case",
        case.id,
        {"from": case.assigned_to, "to": to_user, "reason": reason},
    )
    record_assignment(session, case, to_user, by, reason)


def next_case(
    session: Session,
    actor: Actor,
    *,
    lease: timedelta = DEFAULT_LEASE,
    now: datetime | None = None,
    today: date | None = None,
    candidates: int = 20,
    work: Worklist | None = None,
) -> CaseRow | None:
    """The top-ranked case for ``actor`` to work now (the same ranking as the queue),
    leased to them: their own open cases first, then the unassigned pool (a pool case
    becomes theirs). Their earlier leases are released. None when nothing is free."""
    require_role(actor, {"collector", "team_lead", "manager", "admin"}, "take cases")
    audit.begin_write(session)
    moment = now or _now()
    day = today or moment.date()
    work = work or Worklist()
    release_leases(session, actor.username)
    other = aliased(CaseLease)
    free = not_(
        exists().where(
            and_(
                other.case_id == CaseRow.id,
                other.expires_at > moment,
                other.username != actor.username,
            )
        )
    )
    live = and_(CaseLease.case_id == CaseRow.id, CaseLease.expires_at > moment)
    base = (
        select(*_COLUMNS)
        .join(Customer, Customer.customer_id == CaseRow.customer_id)
        .outerjoin(CaseLease, live)
        .where(CaseRow.status == "open", not_placed(), free)
    )
    tiers = _tier_sets(day, moment)
    # the unassigned pool is open to every collector (assignment is the team lead's tool)
    for pool in (
        CaseRow.assigned_to == actor.username,
        CaseRow.assigned_to.is_(None),
    ):
        ranked = _ranked_rows(session, base.where(pool), tiers, work, moment, candidates)
        for item in ranked[:candidates]:
            if take_lease(session, item.case_id, actor.username, moment, lease):
                case = session.get(CaseRow, item.case_id)
                assert case is not None
                session.refresh(case)
                if case.status != "open":
                    continue
                if case.assigned_to is None:
                    _assign(session, case, actor.username, actor.username, "next case")
                elif case.assigned_to != actor.username:
                    continue
                audit.append(
                    session,
                    actor.username,
                    "case.lease",
                    "case",
                    case.id,
                    {"until": moment + lease, "tier": item.tier, "score": item.score},
                )
                return case
    return None


def release_case(session: Session, actor: Actor, case_id: int) -> bool:
    """Give back the actor's lease on ``case_id``; True when there was one."""
    audit.begin_write(session)
    visible_case(session, actor, case_id)
    gone = session.execute(
        delete(CaseLease).where(CaseLease.case_id == case_id, CaseLease.username == actor.username)
    ).rowcount
    if gone:
        audit.append(session, actor.username, "case.release", "case", case_id, {})
    return bool(gone)


def _collector(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or user.role != "collector":
        raise Invalid(f"to_user: {username!r} is not an active collector")
    return user


def _may_manage(session: Session, actor: Actor, username: str | None) -> None:
    """Team leads move cases only between members of their own team (a lead of no
    team has no members: two users without a team are not a team)."""
    if actor.role != "team_lead" or username is None:
        return
    user = session.scalar(select(User).where(User.username == username))
    if user is None or actor.team_id is None or user.team_id != actor.team_id:
        raise NotFound(f"no collector {username!r} in your team")


def _may_move_to_team(session: Session, actor: Actor, team_id: int) -> None:
    """Team leads keep a collector in their own team; managers and admins move anyone
    to any team that exists."""
    if actor.role == "team_lead" and team_id != actor.team_id:
        raise Forbidden("new_team_id: a team lead may not move a collector to another team")
    if session.get(Team, team_id) is None:
        raise Invalid(f"new_team_id: no team {team_id}")


def reassign(
    session: Session, actor: Actor, case_id: int, to_user: str | None, reason: str = ""
) -> CaseRow:
    """Give case ``case_id`` to collector ``to_user`` (None: back to the pool); team
    leads within their team, managers and admins anywhere. Any lease is dropped."""
    require_role(actor, SUPERVISORS, "reassign cases")
    audit.begin_write(session)
    case = visible_case(session, actor, case_id)
    if to_user is not None:
        _collector(session, to_user)
    _may_manage(session, actor, to_user)
    session.execute(delete(CaseLease).where(CaseLease.case_id == case_id))
    _assign(session, case, to_user, actor.username, reason or "reassigned")
    session.flush()
    return case


def bulk_transfer(
    session: Session,
    actor: Actor,
    from_user: str,
    to_users: list[str],
    reason: str,
    *,
    new_team_id: int | None = None,
    deactivate: bool = False,
) -> dict[str, int]:
    """Move every open case of ``from_user`` (a collector who leaves or changes team)
    to ``to_users`` round-robin (empty: to the pool), keeping the history; optionally
    move the collector to ``new_team_id`` or deactivate them. Returns cases moved per
    receiver. Team leads move cases and the collector only within their own team (or
    to the pool); managers and admins anywhere."""
    require_role(actor, SUPERVISORS, "transfer cases")
    if not reason.strip():
        raise Invalid("reason: say why the cases move (leaver, team change …)")
    audit.begin_write(session)
    leaver = session.scalar(select(User).where(User.username == from_user))
    if leaver is None:
        raise Invalid(f"from_user: no user {from_user!r}")
    _may_manage(session, actor, from_user)
    for name in to_users:
        _collector(session, name)
        _may_manage(session, actor, name)
    if from_user in to_users:
        raise Invalid("to_users: must not include from_user")
    if new_team_id is not None:
        _may_move_to_team(session, actor, new_team_id)
    cases = list(
        session.scalars(
            select(CaseRow)
            .where(CaseRow.assigned_to == from_user, CaseRow.status == "open")
            .order_by(CaseRow.dpd.desc(), CaseRow.id)
        )
    )
    moved: dict[str, int] = {}
    session.execute(delete(CaseLease).where(CaseLease.username == from_user))
    for i, case in enumerate(cases):
        target = to_users[i % len(to_users)] if to_users else None
        _assign(session, case, target, actor.username, f"transfer: {reason}")
        moved[target or ""] = moved.get(target or "", 0) + 1
    if new_team_id is not None:
        leaver.team_id = new_team_id
    if deactivate:
        leaver.active = False
    audit.append(
        session,
        actor.username,
        "case.bulk_transfer",
        "user",
        leaver.id,
        {
            "from": from_user,
            "to": to_users,
            "moved": len(cases),
            "new_team_id": new_team_id,
            "deactivated": deactivate,
            "reason": reason,
        },
    )
    session.flush()
    return moved


def assignment_history(session: Session, actor: Actor, case_id: int) -> list[CaseAssignment]:
    """Every change of the case's assignee, oldest first."""
    visible_case(session, actor, case_id)
    return list(
        session.scalars(
            select(CaseAssignment)
            .where(CaseAssignment.case_id == case_id)
            .order_by(CaseAssignment.at, CaseAssignment.id)
        )
    )
