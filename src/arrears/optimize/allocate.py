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
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
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
    from arrears.optimize.assign import _highs

    if not todo:
        return []
    import highspy

    n, m = len(todo), len(members)
    total = n + sum(kept.get(u, 0) for u in members)
    capacity = math.ceil(total / m)
    room = np.array([max(capacity - kept.get(u, 0), 0) for u in members], float)
    if room.sum() < n:  # more kept than an even share: the others take what is left
        room += math.ceil((n - room.sum()) / m)
    amount = np.array([float(a) for _, a in todo])
    rate = np.array([rates.get(u, 0.0) for u in members])
    # column k = i * m + u
    value = (amount[:, None] * rate[None, :]).ravel()
    cols = np.arange(n * m)
    case_row = cols // m
    member_row = n + cols % m
    index = np.column_stack([case_row, member_row]).ravel().astype(np.int32)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n * m, n + m
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.col_cost_ = value
    lp.col_lower_, lp.col_upper_ = np.zeros(n * m), np.ones(n * m)
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(m, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.ones(n), room])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = (np.arange(n * m + 1) * 2).astype(np.int32)
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = np.ones(2 * n * m)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * (n * m)
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
    x = np.asarray(h.getSolution().col_value).reshape(n, m)
    chosen = x.argmax(axis=1)
    return [(case, a, members[int(u)]) for (case, a), u in zip(todo, chosen, strict=True)]
