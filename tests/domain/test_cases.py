"""The case rule: a loan has an open case exactly while it is active and past due."""

from __future__ import annotations

import pytest

from arrears.domain.cases import CaseMove, case_move, needs_case


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
