"""Properties of time-limit clocks over the real calendar (2025-2027: package years and a plain-week year)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from wanshi.workdays.domain import TimeLimitUnit, WorkdayCalendar
from wanshi.workflow.domain.clocks import Clock, ClockUnit, Level, PauseReason

CAL = WorkdayCalendar()
WD = ClockUnit.WORKING_DAY

starts = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31))
limits = st.integers(min_value=0, max_value=40)
units = st.sampled_from(ClockUnit)
reasons = st.sampled_from([r for r in PauseReason if r is not PauseReason.OTHER])
offsets = st.integers(min_value=0, max_value=25)


@st.composite
def clocks(draw: st.DrawFn) -> Clock:
    """A clock with up to three pauses, the last possibly open, possibly concluded."""
    clock = Clock(draw(starts), draw(limits), draw(units))
    day = clock.started_on
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        day += timedelta(days=draw(offsets))
        clock = clock.pause(draw(reasons), day)
        if draw(st.booleans()):
            break
        day += timedelta(days=draw(offsets))
        clock = clock.resume(day)
    if draw(st.booleans()):
        clock = clock.stop(day + timedelta(days=draw(offsets)))
    return clock


def units_between(unit: ClockUnit, after: date, through: date) -> int:
    if through <= after:
        return 0
    return CAL.working_days_between(after, through) if unit is WD else (through - after).days


def after_everything(clock: Clock) -> date:
    last = max([clock.started_on, *(p.ended_on or p.started_on for p in clock.pauses)])
    return (clock.stopped_on or last) + timedelta(days=1)


@given(clock=clocks(), days_later=st.integers(min_value=-5, max_value=120))
def test_used_and_paused_days_account_for_every_unit(clock: Clock, days_later: int) -> None:
    today = clock.started_on + timedelta(days=days_later)
    reading = clock.reading(today, CAL)
    assert reading.as_of == min(today, clock.stopped_on or today)
    assert min(reading.used, reading.paused_days) >= 0
    assert reading.used + reading.paused_days == units_between(clock.unit, clock.started_on, reading.as_of)
    assert reading.used + reading.remaining == clock.limit


@given(clock=clocks(), days_later=st.integers(min_value=-5, max_value=120))
def test_used_grows_by_at_most_one_unit_a_day(clock: Clock, days_later: int) -> None:
    today = clock.started_on + timedelta(days=days_later)
    step = clock.reading(today + timedelta(days=1), CAL).used - clock.reading(today, CAL).used
    assert step in (0, 1)


@given(clock=clocks(), days_later=st.integers(min_value=0, max_value=120))
def test_overdue_is_being_past_the_due_date(clock: Clock, days_later: int) -> None:
    today = clock.started_on + timedelta(days=days_later)
    reading = clock.reading(today, CAL)
    if reading.due_date is not None:
        assert CAL.is_workday(reading.due_date)
    if reading.level in (Level.DONE_IN_TIME, Level.DONE_LATE):
        assert reading.due_date is not None
        assert clock.stopped_on is not None
        late = clock.stopped_on > reading.due_date
        assert (reading.level is Level.DONE_LATE) == late
    else:
        late = reading.due_date is not None and today > reading.due_date
        assert (reading.level is Level.RED) == late
    # More working days used than allowed is late, except on a due day that rolled forward from a rest day
    # (that working day is one unit past a limit already used up). The converse fails only on the rest days
    # after the due date, which are late without using a unit.
    if clock.unit is WD and reading.used > clock.limit:
        assert late or reading.as_of == reading.due_date
    if reading.level is Level.PAUSED:
        assert reading.paused
        assert reading.due_date is None


@given(start=starts, limit=st.integers(min_value=1, max_value=40), unit=units)
def test_an_unpaused_clock_is_due_on_the_calendars_deadline(start: date, limit: int, unit: ClockUnit) -> None:
    clock = Clock(start, limit, unit)
    due = CAL.deadline(start, limit, TimeLimitUnit(unit.value)).due_date
    assert clock.reading(start, CAL).due_date == due
    assert clock.reading(due, CAL).level is Level.YELLOW
    assert clock.reading(due + timedelta(days=1), CAL).level is Level.RED
    assert clock.stop(due).reading(due + timedelta(days=30), CAL).level is Level.DONE_IN_TIME
    assert clock.stop(due + timedelta(days=1)).reading(due, CAL).level is Level.YELLOW
    assert clock.stop(due + timedelta(days=1)).reading(due + timedelta(days=9), CAL).level is Level.DONE_LATE


@given(clock=clocks(), gap=offsets, length=offsets)
def test_a_further_pause_never_makes_the_due_date_earlier(clock: Clock, gap: int, length: int) -> None:
    running = Clock(clock.started_on, clock.limit, clock.unit, clock.pauses)
    if running.open_pause is not None:
        running = running.resume(running.open_pause.started_on + timedelta(days=gap))
    paused_on = after_everything(running) + timedelta(days=gap)
    paused = running.pause(PauseReason.HEARING, paused_on).resume(paused_on + timedelta(days=length))
    today = after_everything(paused)
    before, after = running.reading(today, CAL).due_date, paused.reading(today, CAL).due_date
    assert before is not None
    assert after is not None
    assert after >= before


@given(start=starts, limit=limits, unit=units, gap=st.integers(min_value=0, max_value=60), length=offsets)
def test_one_pause_moves_the_due_date_exactly(
    start: date, limit: int, unit: ClockUnit, gap: int, length: int
) -> None:
    """Begun before the last unit, a pause moves the due date by the units paused; begun on the due date
    or in the grace days before it, to the answer; begun after it, not at all."""
    paused_on = start + timedelta(days=gap)
    resumed_on = paused_on + timedelta(days=length)
    clock = Clock(start, limit, unit)
    due = clock.reading(start, CAL).due_date
    assert due is not None
    last_unit = CAL.add_working_days(start, limit) if unit is WD else start + timedelta(days=limit)
    if paused_on > due:
        expected = due
    elif paused_on < last_unit:
        paused_units = units_between(unit, paused_on, resumed_on)
        if unit is WD:
            expected = CAL.add_working_days(last_unit, paused_units)
        else:
            expected = CAL.workday_on_or_after(last_unit + timedelta(days=paused_units))
    else:
        expected = CAL.workday_on_or_after(resumed_on)
    reading = clock.pause(PauseReason.SUPPLEMENT, paused_on).resume(resumed_on).reading(resumed_on, CAL)
    assert reading.due_date == expected


@given(start=starts, limit=limits, data=st.data())
def test_a_pause_over_rest_days_only_changes_nothing_for_a_working_day_clock(
    start: date, limit: int, data: st.DataObject
) -> None:
    paused_on = start + timedelta(days=data.draw(st.integers(min_value=0, max_value=60)))
    rest_days = 0
    while not CAL.is_workday(paused_on + timedelta(days=rest_days + 1)):
        rest_days += 1
    resumed_on = paused_on + timedelta(days=data.draw(st.integers(min_value=0, max_value=rest_days)))
    clock = Clock(start, limit, WD)
    paused = clock.pause(PauseReason.EXPERT, paused_on).resume(resumed_on)
    for today in (resumed_on, resumed_on + timedelta(days=1), resumed_on + timedelta(days=40)):
        plain, with_pause = clock.reading(today, CAL), paused.reading(today, CAL)
        assert (with_pause.used, with_pause.paused_days) == (plain.used, 0)
        # A notice sent on the last day is the one exception: the decision waits for the answer, and the
        # answer came on a rest day, so it falls due on the next working day.
        on_the_last_day = plain.due_date == paused_on and resumed_on > paused_on
        expected = CAL.workday_on_or_after(resumed_on) if on_the_last_day else plain.due_date
        assert with_pause.due_date == expected
        if not on_the_last_day:
            assert with_pause.level is plain.level
