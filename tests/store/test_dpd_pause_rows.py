"""A stored DPD pause row means what the domain core's pause and resume mean
(``DpdPause.last_paused_day``, which the close and the workbench both read): resumed on
a day the pause covers after its first, its last paused day is the one the domain's
``resume`` gives; resumed on its first day (or before it, when the workbench calls it
off) it pauses nothing; never resumed, it is the pause as placed. Hypothesis draws the
pause and the resume."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from arrears.domain.pauses import Pause, PauseReason, resume
from arrears.store.models import DpdPause

DAY0 = date(2026, 1, 1)
days = st.integers(0, 400).map(lambda n: DAY0 + timedelta(days=n))


@given(on=days, length=st.none() | st.integers(0, 200), resumed=st.none() | days)
def test_a_stored_row_is_the_domains_pause_and_resume(
    on: date, length: int | None, resumed: date | None
) -> None:
    until = None if length is None else on + timedelta(days=length)
    last = DpdPause.last_paused_day(on, until, resumed)
    placed = Pause(on, until, PauseReason.DISPUTE)
    if resumed is None:
        assert last == until
    elif resumed <= on:
        assert last is not None and last < on  # paused nothing
    elif placed.covers(resumed):
        (ended,) = resume((placed,), resumed)
        assert last == ended.until
    else:  # resumed after the pause had ended: the pause as placed
        assert last == until
    # the days it pauses are those of the placed pause before the resume
    for offset in range(-2, 30):
        day = on + timedelta(days=offset)
        paused = day >= on and (last is None or day <= last)
        assert paused == (placed.covers(day) and (resumed is None or day < resumed))
