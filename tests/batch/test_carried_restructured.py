"""A restructured loan is never resumed from its carried state: its mark (the floor of
the class it had before, the on-time instalments that clear it) is judged on its
ledger's history, which a carried ledger does not hold (issue 25, contract 3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arrears.batch.carried import carried_account, carried_row, carried_states, carried_table
from arrears.domain.account import LoanAccount, Payment, advance, open_account, state_of
from arrears.domain.arrangements import Plan, reamortise
from arrears.domain.products import ScheduleMethod, load_catalog
from arrears.domain.schedule import LoanTerms

D = Decimal
CAT = load_catalog()
ON = date(2025, 4, 20)


def _worked(loan_id: str) -> LoanAccount:
    terms = LoanTerms(D("12000.00"), D("0.18"), 12, date(2025, 1, 10))
    acc = open_account(loan_id, CAT.product("CONSUMER"), terms)
    return advance(acc, ON, [Payment(f"{loan_id}-1", date(2025, 2, 10), D("1100.16"))])[0]


def test_a_restructured_loan_is_carried_untrusted_and_a_plain_one_as_stored():
    plan = Plan(6, ScheduleMethod.ANNUITY, D("0.12"), date(2025, 5, 5))
    restructured = reamortise(_worked("R"), "plan", ON, plan)
    plain = _worked("P")
    rows = [carried_row(restructured, 9, None, None), carried_row(plain, 4, None, None)]
    states = carried_states(carried_table(rows))
    # no stored last entry number is None: the close replays R from its entries
    assert (states["R"].seq, states["P"].seq) == (None, 4)
    # what resuming R from its carried ledger would lose: the mark and its floor
    assert state_of(restructured, CAT).loan_class == "substandard"
    resumed = carried_account(
        "R", restructured.product, restructured.terms, restructured.schedule, "CNY", states["R"]
    )
    assert not resumed.restructured_on
    assert state_of(resumed, CAT).loan_class == "normal"  # by DPD alone: nothing overdue
