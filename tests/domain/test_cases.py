"""The case rule: a loan has an open case exactly while it is active and past due, or
charged off by its product's rule and still in recovery."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from arrears.domain.account import Payment, advance, open_account, shadow_of
from arrears.domain.cases import CaseMove, Recovery, case_move, ended_on, needs_case, recovery_of
from arrears.domain.operations import write_off
from arrears.domain.products import ChargeOffRule, load_catalog
from arrears.domain.schedule import LoanTerms


@pytest.mark.parametrize(
    ("status", "dpd", "has_case", "move"),
    [
        ("active", 0, False, CaseMove.NONE),
        ("active", 1, False, CaseMove.OPEN),
        ("active", 45, True, CaseMove.REFRESH),
        ("active", 0, True, CaseMove.CURED),
        ("closed", 0, True, CaseMove.REPAID),
        ("closed", 0, False, CaseMove.NONE),
        ("written_off", 200, True, CaseMove.WRITTEN_OFF),
        ("written_off", 200, False, CaseMove.NONE),
    ],
)
def test_case_move(status: str, dpd: int, has_case: bool, move: CaseMove):
    assert case_move(status, dpd, has_case) is move
    # the check agrees with the close: after the move, a case is open iff one is needed
    open_after = move in (CaseMove.OPEN, CaseMove.REFRESH)
    assert open_after == needs_case(status, dpd)


@pytest.mark.parametrize(
    ("status", "dpd", "has_case", "recovery", "move"),
    [
        # charged off by the product's rule, a shadow balance still owed: worked on
        ("written_off", 200, True, Recovery.WORKING, CaseMove.REFRESH),
        ("written_off", 200, False, Recovery.WORKING, CaseMove.OPEN),
        # recovered in full: the case closes as recovered
        ("written_off", 230, True, Recovery.DONE, CaseMove.RECOVERED),
        ("written_off", 230, False, Recovery.DONE, CaseMove.NONE),
        # written off by hand: as before
        ("written_off", 200, True, Recovery.NONE, CaseMove.WRITTEN_OFF),
    ],
)
def test_case_move_in_recovery(
    status: str, dpd: int, has_case: bool, recovery: Recovery, move: CaseMove
):
    assert case_move(status, dpd, has_case, recovery) is move
    open_after = move in (CaseMove.OPEN, CaseMove.REFRESH)
    assert open_after == needs_case(status, dpd, recovery)


def test_a_charged_off_loan_is_in_recovery_until_its_shadow_is_recovered():
    product = replace(load_catalog().product("CONSUMER"), charge_off=ChargeOffRule(at_dpd=180))
    terms = LoanTerms(Decimal("6000.00"), Decimal("0.18"), 12, date(2025, 3, 5))
    acc, _ = advance(open_account("L", product, terms), date(2025, 10, 2))  # charged off
    assert recovery_of(acc) is Recovery.WORKING and ended_on(acc) is None
    owed = shadow_of(acc).total
    part, _ = advance(acc, date(2025, 10, 20), [Payment("r1", date(2025, 10, 20), owed / 2)])
    assert recovery_of(part) is Recovery.WORKING
    rest = owed - owed / 2
    done, _ = advance(part, date(2025, 11, 30), [Payment("r2", date(2025, 11, 3), rest)])
    assert recovery_of(done) is Recovery.DONE and ended_on(done) == date(2025, 11, 3)
    # a loan written off by hand is not in recovery: its case closes with the write-off
    by_hand, _ = advance(
        open_account("M", load_catalog().product("CONSUMER"), terms), date(2025, 6, 1)
    )
    by_hand = replace(by_hand, ledger=write_off(by_hand.ledger, "wo", date(2025, 6, 1)).ledger)
    assert recovery_of(by_hand) is Recovery.NONE and ended_on(by_hand) == date(2025, 6, 1)
