"""`arrears allocate --optimize`: a team's cases to its collectors by expected
collections under capacity, solved by HiGHS (the solver of ``optimize assign``).

Specialisation is the allocation rules' own: a team works the buckets its rule names,
so a case is only offered to the collectors of its bucket's team. Each collector's
**recovery rate** is what the loans of the cases they hold were paid in the last 90
days over that plus what those loans still owe, shrunk toward the team's rate (a prior
worth one average book), so a collector with a short record is taken as near the
team's average. A case's expected collections with a collector is its amount overdue times the
collector's rate. Each collector's **capacity** is an even share of the team's cases
(``ceil(cases / members)``, cases they keep counted), so every book is full and the best
recoverers get the cases worth most.

Maximise ``Σ amount_i · rate_u · x[i, u]`` subject to ``Σ_u x[i, u] = 1`` (every case is
allocated) and ``Σ_i x[i, u] ≤ capacity_u - kept_u``, ``x`` binary.

**Agencies** (``allocate --optimize --agency-intake CODE=N``): an agency is one more
resource a waiting case may go to, worth its amount overdue times the agency's recovery
rate (paid while placed over the balance placed, last 90 days, shrunk toward the
collectors' mean rate) times one less its commission on the case; at most ``N`` new
cases each (its intake). Agencies are shared by the teams, so every team's waiting
cases are one MIP.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

WINDOW_DAYS = 90


def recovery_rates(
    session: Any, teams: Mapping[int, Sequence[str]], on: date, states: Mapping[str, Any]
) -> dict[str, float]:
    """Each collector's recovery rate on ``on`` (see the module docstring); ``states``:
    loan id → its state on ``on`` (``amount_overdue``)."""
    from sqlalchemy import func, select

    from arrears.store.models import CaseRow, PaymentRow

    users = [u for members in teams.values() for u in members]
    paid = dict(
        session.execute(
            select(CaseRow.assigned_to, func.sum(PaymentRow.amount))
            .join(PaymentRow, PaymentRow.loan_id == CaseRow.loan_id)
            .where(
                CaseRow.assigned_to.in_(users),
                PaymentRow.paid_on > on - timedelta(days=WINDOW_DAYS),
                PaymentRow.paid_on <= on,
                PaymentRow.paid_on >= CaseRow.opened_on,
            )
            .group_by(CaseRow.assigned_to)
        ).all()
    )
    held: dict[str, float] = {}
    for user, loan_id in session.execute(
        select(CaseRow.assigned_to, CaseRow.loan_id).where(
            CaseRow.assigned_to.in_(users), CaseRow.closed_on.is_(None)
        )
    ):
        state = states.get(loan_id)
        owed = float(state.amount_overdue) if state is not None else 0.0
        held[user] = held.get(user, 0.0) + owed
    rates: dict[str, float] = {}
    for members in teams.values():
        got = {u: float(paid.get(u) or 0) for u in members}
        books = {u: got[u] + held.get(u, 0.0) for u in members}  # paid + still owed
        total_books = sum(books.values())
        team_rate = sum(got.values()) / max(total_books, 1.0)
        prior = max(total_books / max(len(members), 1), 1.0)  # one average book
        for u in members:
            rates[u] = (got[u] + prior * team_rate) / (books[u] + prior)
    return rates


def optimize_team(
    todo: Sequence[tuple[Any, Decimal]],
    members: Sequence[str],
    kept: Mapping[str, int],
    rates: Mapping[str, float],
) -> list[tuple[Any, Decimal, str]]:
    """``todo`` (case, amount overdue) allocated to ``members``: each case with the
    collector chosen by the MIP. ``kept``: cases each member keeps (they count toward
    capacity)."""
    chosen = optimize_allocation({0: list(todo)}, {0: list(members)}, kept, rates)
    return [(case, amount, str(to)) for case, amount, to in chosen]


def room(todo: int, members: Sequence[str], kept: Mapping[str, int]) -> np.ndarray:
    """Each member's room for new cases: an even share of the team's cases
    (``ceil(cases / members)``, kept cases counted), widened evenly when members keep
    more than their share, so every case fits."""
    total = todo + sum(kept.get(u, 0) for u in members)
    capacity = math.ceil(total / len(members))
    out = np.array([max(capacity - kept.get(u, 0), 0) for u in members], float)
    if out.sum() < todo:  # more kept than an even share: the others take what is left
        out += math.ceil((todo - out.sum()) / len(members))
    return out


@dataclass(frozen=True)
class AgencyOffer:
    """An agency that may take new cases in this allocation: at most ``intake`` of
    them, each worth its amount overdue times ``rate`` (its recovery rate) times one
    less the commission it would earn on it (``commission(case bucket, amount)``; None
    where the agency does not take such a case)."""

    agency_id: int
    intake: int
    rate: float
    commission: Callable[[str, Decimal], Decimal | None]


def optimize_allocation(
    waiting: Mapping[int, Sequence[tuple[Any, Decimal]]],
    members: Mapping[int, Sequence[str]],
    kept: Mapping[str, int],
    rates: Mapping[str, float],
    agencies: Sequence[AgencyOffer] = (),
    bucket_of: Callable[[Any], str] | None = None,
) -> list[tuple[Any, Decimal, str | int]]:
    """Every team's waiting cases (team → (case, amount overdue)) to one of the team's
    collectors (a username) or to an agency (its id), in one MIP: maximise the expected
    collections net of commission, every case allocated, each collector within their
    room (``room``), each agency within its intake. Agencies are shared by the teams, so
    their intake couples them. ``bucket_of(case)``: the case's bucket (for agencies'
    commission rates)."""
    cases: list[tuple[Any, Decimal]] = []
    rows: list[int] = []  # per variable: its case
    cols: list[int] = []  # per variable: its resource (collectors, then agencies)
    value: list[float] = []
    resources: list[str | int] = []
    capacity: list[float] = []
    for team, todo in waiting.items():
        if not todo:
            continue
        team_members = list(members[team])
        first = len(resources)
        resources += team_members
        capacity += list(room(len(todo), team_members, kept))
        for case, amount in todo:
            i = len(cases)
            cases.append((case, amount))
            for k, u in enumerate(team_members):
                rows.append(i)
                cols.append(first + k)
                value.append(float(amount) * rates.get(u, 0.0))
    if not cases:
        return []
    for offer in agencies:
        if offer.intake <= 0:
            continue
        j = len(resources)
        resources.append(offer.agency_id)
        capacity.append(float(offer.intake))
        for i, (case, amount) in enumerate(cases):
            commission = offer.commission(bucket_of(case) if bucket_of else "", amount)
            if commission is None:
                continue
            rows.append(i)
            cols.append(j)
            value.append(float(amount) * offer.rate * (1 - float(commission)))
    chosen = _solve_allocation(
        len(cases), np.array(rows), np.array(cols), np.array(value), np.array(capacity)
    )
    return [(case, amount, resources[r]) for (case, amount), r in zip(cases, chosen, strict=True)]


def _solve_allocation(
    n: int, rows: np.ndarray, cols: np.ndarray, value: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """The resource of each of ``n`` cases maximising the total ``value`` of the chosen
    (case ``rows``, resource ``cols``) pairs: each case exactly once, each resource at
    most its ``capacity``. HiGHS MIP."""
    import highspy

    from arrears.optimize.assign import _highs

    k, r = len(rows), len(capacity)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = k, n + r
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = value.astype(float)
    lp.col_lower_, lp.col_upper_ = np.zeros(k), np.ones(k)
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(r, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.ones(n), capacity.astype(float)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = (np.arange(k + 1) * 2).astype(np.int32)
    lp.a_matrix_.index_ = np.column_stack([rows, n + cols]).ravel().astype(np.int32)
    lp.a_matrix_.value_ = np.ones(2 * k)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * k
    h = _highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.setOptionValue("time_limit", 60.0)
    h.passModel(lp)
    h.run()
    if h.getInfo().primal_solution_status != 2:
        raise RuntimeError(
            f"allocation: HiGHS found no allocation ({h.modelStatusToString(h.getModelStatus())})"
        )
    x = np.asarray(h.getSolution().col_value)
    chosen = np.full(n, -1, np.int64)
    best = np.full(n, -1.0)
    for v, i, j in zip(x, rows, cols, strict=True):
        if v > best[i]:
            best[i], chosen[i] = v, j
    return chosen


def agency_offers(
    session: Any, on: date, intake: Mapping[str, int], rates: Mapping[str, float]
) -> list[AgencyOffer]:
    """The agencies of ``intake`` (code → the most new cases it takes today) as offers.
    An agency's recovery rate is what the loans it held were paid while placed in the
    last 90 days over the balance placed, shrunk toward the collectors' mean rate
    (``rates``) with a prior worth one average agency book; its commission on a case is
    its rates' (``agencies.commission_rate``: the bucket's, else the amount tier's); an
    agency with rates that give 0 on a case does not take it, one with no rates takes
    any case (the strategy placer's rule). Raises ``Invalid`` for an unknown or inactive
    agency code or a negative intake."""
    from sqlalchemy import select

    from arrears.services.workbench.agencies import commission_rate
    from arrears.services.workbench.errors import Invalid
    from arrears.store.models import CaseRow, PaymentRow
    from arrears.store.workbench_models import Agency, CommissionRate, Placement

    by_code = {a.code: a for a in session.scalars(select(Agency))}
    for code, n in intake.items():
        agency = by_code.get(code)
        if agency is None or not agency.active:
            raise Invalid(f"agency intake: no active agency {code!r}", "no_agency", id=code)
        if n < 0:
            raise Invalid(f"agency intake: {code} = {n} is negative", "agency_intake")
    since = on - timedelta(days=WINDOW_DAYS - 1)
    books: dict[int, list[float]] = {}  # agency id -> [collected, placed]
    for placement, loan_id in session.execute(
        select(Placement, CaseRow.loan_id)
        .join(CaseRow, CaseRow.id == Placement.case_id)
        .where(Placement.placed_on <= on)
    ):
        if placement.recalled_on is not None and placement.recalled_on <= since:
            continue
        window = [
            PaymentRow.loan_id == loan_id,
            PaymentRow.paid_on >= max(since, placement.placed_on),
            PaymentRow.paid_on <= on,
        ]
        if placement.recalled_on is not None:
            window.append(PaymentRow.paid_on < placement.recalled_on)
        paid = sum(session.scalars(select(PaymentRow.amount).where(*window)), Decimal(0))
        book = books.setdefault(placement.agency_id, [0.0, 0.0])
        book[0] += float(paid)
        book[1] += float(placement.balance_placed)
    base = float(np.mean(list(rates.values()))) if rates else 0.0
    prior = max(float(np.mean([b[1] for b in books.values()])) if books else 0.0, 1.0)
    all_rates = list(session.scalars(select(CommissionRate)))
    offers = []
    for code, n in intake.items():
        agency = by_code[code]
        collected, placed = books.get(agency.id, [0.0, 0.0])
        own = [r for r in all_rates if r.agency_id == agency.id]

        def commission(bucket: str, amount: Decimal, own: list[Any] = own) -> Decimal | None:
            rate = commission_rate(own, bucket, amount)
            return None if own and rate <= 0 else rate

        offers.append(
            AgencyOffer(agency.id, n, (collected + prior * base) / (placed + prior), commission)
        )
    return offers
