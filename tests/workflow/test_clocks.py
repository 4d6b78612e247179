"""Time-limit clocks against the real 2026 calendar (chinese_calendar, no overrides).

2026 around National Day: 中秋 09-25..27 off, 国庆 10-01..10-07 off, Saturday 10-10 an adjusted workday,
Sunday 10-11 an ordinary rest day. The first test pins these facts so every number below rests on them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import chinese_calendar
import pytest

from wanshi.kernel.errors import ValidationFailed
from wanshi.workdays.domain import DayOverride, TimeLimitUnit, WorkdayCalendar
from wanshi.workflow.domain.clocks import Clock, ClockUnit, Level, Pause, PauseReason

CAL = WorkdayCalendar()
WD, ND = ClockUnit.WORKING_DAY, ClockUnit.NATURAL_DAY
SUPPLEMENT = PauseReason.SUPPLEMENT


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def five_days() -> Clock:
    """The acceptance clock: 5 working days from Tuesday 2026-09-29, due Monday 10-12."""
    return Clock(d(9, 29), 5, WD)


def test_the_2026_holiday_facts_the_tests_rely_on() -> None:
    off = [d(9, 25), d(9, 26), d(9, 27), *(d(10, day) for day in range(1, 8)), d(10, 11)]
    on = [d(9, 28), d(9, 29), d(9, 30), d(10, 8), d(10, 9), d(10, 10), d(10, 12), d(10, 13)]
    assert [day for day in off if chinese_calendar.is_workday(day)] == []
    assert [day for day in on if not chinese_calendar.is_workday(day)] == []
    assert d(10, 10).weekday() == 5
    assert [day for day in off + on if CAL.is_workday(day) != chinese_calendar.is_workday(day)] == []


# --- the acceptance case ----------------------------------------------------------------------------------


def test_five_working_days_across_national_day_are_due_on_october_12() -> None:
    clock = five_days()
    reading = clock.reading(d(9, 30), CAL)
    assert reading.due_date == d(10, 12)
    assert reading.due_date == CAL.deadline(d(9, 29), 5, TimeLimitUnit.WORKING_DAY).due_date


def test_used_days_across_the_holiday() -> None:
    clock = five_days()
    expected = {d(9, 29): 0, d(9, 30): 1, d(10, 8): 2, d(10, 9): 3, d(10, 10): 4, d(10, 11): 4, d(10, 12): 5}
    expected |= {d(10, day): 1 for day in range(1, 8)}
    assert {day: clock.reading(day, CAL).used for day in expected} == expected


def test_levels_across_the_holiday() -> None:
    clock = five_days()
    assert clock.reading(d(10, 5), CAL).level is Level.NORMAL
    assert clock.reading(d(10, 9), CAL).level is Level.NORMAL  # 3 of 5
    saturday = clock.reading(d(10, 10), CAL)  # the adjusted workday: 4 of 5 is exactly 80%
    assert (saturday.used, saturday.remaining, saturday.level) == (4, 1, Level.YELLOW)
    due_day = clock.reading(d(10, 12), CAL)
    assert (due_day.used, due_day.remaining, due_day.level) == (5, 0, Level.YELLOW)
    overdue = clock.reading(d(10, 13), CAL)
    assert (overdue.used, overdue.remaining, overdue.level) == (6, -1, Level.RED)
    assert overdue.due_date == d(10, 12)
    assert overdue.fraction == 1.0


def test_the_start_day_is_not_counted_and_a_reading_before_it_is_untouched() -> None:
    for day in (d(9, 28), d(9, 29)):
        reading = five_days().reading(day, CAL)
        assert (reading.used, reading.remaining, reading.fraction, reading.level) == (0, 5, 0.0, Level.NORMAL)


# --- pauses -----------------------------------------------------------------------------------------------


def test_a_supplement_pause_across_the_holiday_shifts_the_due_date_by_the_paused_working_days() -> None:
    # Notice on 09-30 (still counted), the applicant answers on 10-09: 10-08 and 10-09 are not counted.
    clock = five_days().pause(SUPPLEMENT, d(9, 30), "缺营业执照副本").resume(d(10, 9))
    after = clock.reading(d(10, 9), CAL)
    assert (after.used, after.paused_days, after.paused) == (1, 2, False)
    assert after.due_date == CAL.add_working_days(d(10, 12), 2) == d(10, 14)
    assert clock.reading(d(10, 13), CAL).used == 4
    assert clock.reading(d(10, 14), CAL).level is Level.YELLOW
    assert clock.reading(d(10, 15), CAL).level is Level.RED


def test_while_paused_the_clock_stands_still_and_has_no_due_date() -> None:
    clock = five_days().pause(SUPPLEMENT, d(9, 30))
    for day, paused_days in ((d(9, 30), 0), (d(10, 5), 0), (d(10, 8), 1), (d(10, 20), 10)):
        reading = clock.reading(day, CAL)
        assert (reading.used, reading.remaining, reading.paused_days) == (1, 4, paused_days)
        assert reading.paused
        assert reading.pause_reason is SUPPLEMENT
        assert reading.level is Level.PAUSED
        assert reading.due_date is None


def test_a_pause_on_the_due_day_waits_for_the_answer() -> None:
    # The notice goes out on the last day: nothing remains, so the decision falls due when the answer comes,
    # here on a Saturday, so on the next working day.
    paused = five_days().pause(SUPPLEMENT, d(10, 12))
    waiting = paused.reading(d(10, 14), CAL)
    assert (waiting.level, waiting.remaining, waiting.due_date) == (Level.PAUSED, 0, None)
    resumed = paused.resume(d(10, 17))
    assert resumed.reading(d(10, 17), CAL).due_date == d(10, 19)
    assert resumed.reading(d(10, 19), CAL).level is Level.YELLOW
    assert resumed.reading(d(10, 20), CAL).level is Level.RED


def test_a_pause_after_the_due_date_does_not_revive_an_overdue_clock() -> None:
    reading = five_days().pause(SUPPLEMENT, d(10, 13)).reading(d(10, 15), CAL)
    assert reading.paused
    assert reading.due_date == d(10, 12)
    assert reading.level is Level.RED


def test_a_pause_over_a_weekend_costs_a_working_day_clock_nothing() -> None:
    clock = Clock(d(11, 2), 10, WD)
    # The notice goes out on Friday 11-06 and the report comes on Sunday 11-08.
    paused = clock.pause(PauseReason.EXPERT, d(11, 6), "质检报告").resume(d(11, 8))
    assert paused.reading(d(11, 20), CAL).due_date == clock.reading(d(11, 20), CAL).due_date == d(11, 16)
    assert paused.reading(d(11, 20), CAL).paused_days == 0


def test_several_pauses_add_up() -> None:
    clock = (
        Clock(d(11, 2), 10, WD)
        .pause(PauseReason.HEARING, d(11, 3))
        .resume(d(11, 5))  # 11-04, 11-05 not counted
        .pause(PauseReason.PUBLICITY, d(11, 10))
        .resume(d(11, 13))  # 11-11..11-13 not counted
    )
    reading = clock.reading(d(11, 13), CAL)
    assert (reading.used, reading.paused_days) == (4, 5)  # 11-03, 11-06, 11-09, 11-10
    assert reading.due_date == CAL.add_working_days(d(11, 16), 5) == d(11, 23)


def test_the_reading_uses_the_calendar_it_is_given() -> None:
    typhoon = WorkdayCalendar(overrides=[DayOverride.create(d(10, 9), False, "台风停工")])
    assert five_days().reading(d(10, 9), typhoon).used == 2
    assert five_days().reading(d(10, 9), typhoon).due_date == d(10, 13)


# --- natural days -----------------------------------------------------------------------------------------


def test_a_natural_day_limit_ending_inside_the_holiday_rolls_to_october_8() -> None:
    clock = Clock(d(9, 28), 5, ND)  # 5 calendar days end on 10-03, a holiday
    assert clock.reading(d(9, 28), CAL).due_date == d(10, 8)
    assert CAL.deadline(d(9, 28), 5, TimeLimitUnit.NATURAL_DAY).due_date == d(10, 8)
    in_grace = clock.reading(d(10, 5), CAL)
    # More calendar days used than the limit, yet not late: the period ends on the next working day.
    assert (in_grace.used, in_grace.remaining, in_grace.level) == (7, -2, Level.YELLOW)
    assert clock.reading(d(10, 8), CAL).level is Level.YELLOW
    assert clock.reading(d(10, 9), CAL).level is Level.RED


def test_a_natural_day_pause_excludes_calendar_days() -> None:
    clock = Clock(d(9, 1), 10, ND).pause(PauseReason.EXPERT, d(9, 3), "检测").resume(d(9, 6))
    reading = clock.reading(d(9, 6), CAL)
    assert (reading.used, reading.paused_days) == (2, 3)
    assert reading.due_date == d(9, 14)  # 09-11 plus the 3 paused days


def test_a_natural_day_clock_paused_in_its_grace_days_is_due_when_the_answer_comes() -> None:
    clock = Clock(d(9, 28), 5, ND).pause(SUPPLEMENT, d(10, 5)).resume(d(10, 9))
    assert clock.reading(d(10, 9), CAL).due_date == d(10, 9)
    assert clock.reading(d(10, 10), CAL).level is Level.RED


# --- the 80% warning --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "last_normal", "first_yellow"),
    [(5, 3, 4), (7, 5, 6), (10, 7, 8), (15, 11, 12), (1, 0, 1)],
)
def test_yellow_starts_exactly_at_80_percent(limit: int, last_normal: int, first_yellow: int) -> None:
    start = d(11, 2)  # no holiday in November 2026
    clock = Clock(start, limit, WD)
    normal = clock.reading(CAL.add_working_days(start, last_normal), CAL)
    yellow = clock.reading(CAL.add_working_days(start, first_yellow), CAL)
    assert (normal.used, normal.level) == (last_normal, Level.NORMAL)
    assert (yellow.used, yellow.level) == (first_yellow, Level.YELLOW)
    assert normal.fraction == pytest.approx(last_normal / limit)


# --- same-day limits (即办件) -------------------------------------------------------------------------------


def test_a_same_day_limit_is_due_the_start_day() -> None:
    clock = Clock(d(9, 29), 0, WD)
    today = clock.reading(d(9, 29), CAL)
    assert (today.due_date, today.level, today.fraction) == (d(9, 29), Level.YELLOW, 1.0)
    assert clock.reading(d(9, 30), CAL).level is Level.RED
    assert clock.stop(d(9, 29)).reading(d(10, 20), CAL).level is Level.DONE_IN_TIME


def test_a_same_day_limit_started_on_a_holiday_is_due_the_next_working_day() -> None:
    clock = Clock(d(10, 3), 0, WD)
    assert clock.reading(d(10, 3), CAL).due_date == d(10, 8)
    due_day = clock.reading(d(10, 8), CAL)
    assert (due_day.used, due_day.remaining, due_day.level) == (1, -1, Level.YELLOW)
    assert clock.reading(d(10, 7), CAL).level is Level.YELLOW
    assert clock.reading(d(10, 9), CAL).level is Level.RED
    assert Clock(d(10, 3), 0, ND).reading(d(10, 3), CAL).due_date == d(10, 8)


# --- concluding -------------------------------------------------------------------------------------------


def test_concluded_on_the_due_day_is_in_time_and_the_count_stops() -> None:
    reading = five_days().stop(d(10, 12)).reading(d(12, 1), CAL)
    assert (reading.as_of, reading.used, reading.level) == (d(10, 12), 5, Level.DONE_IN_TIME)
    assert five_days().stop(d(10, 9)).reading(d(10, 9), CAL).level is Level.DONE_IN_TIME


def test_concluded_after_the_due_day_is_late() -> None:
    reading = five_days().stop(d(10, 13)).reading(d(12, 1), CAL)
    assert (reading.used, reading.remaining, reading.level) == (6, -1, Level.DONE_LATE)


def test_concluding_during_a_pause_ends_the_pause_that_day() -> None:
    stopped = five_days().pause(SUPPLEMENT, d(9, 30)).stop(d(10, 8))
    assert stopped.pauses[-1].ended_on == d(10, 8)
    assert stopped.open_pause is None
    reading = stopped.reading(d(10, 20), CAL)
    assert (reading.used, reading.paused_days, reading.level) == (1, 1, Level.DONE_IN_TIME)
    assert not reading.paused


def test_a_reading_for_an_earlier_day_ignores_what_happened_later() -> None:
    clock = five_days().pause(SUPPLEMENT, d(9, 30)).resume(d(10, 9)).stop(d(10, 13))
    assert clock.reading(d(9, 29), CAL).level is Level.NORMAL
    assert clock.reading(d(10, 5), CAL).level is Level.PAUSED
    assert (clock.reading(d(10, 12), CAL).used, clock.reading(d(10, 12), CAL).level) == (3, Level.NORMAL)
    assert clock.reading(d(10, 13), CAL).level is Level.DONE_IN_TIME


def test_clocks_are_immutable_values() -> None:
    clock = five_days()
    paused = clock.pause(SUPPLEMENT, d(9, 30))
    assert clock.pauses == ()
    assert clock.open_pause is None
    assert paused.open_pause == Pause(SUPPLEMENT, d(9, 30), None)
    assert paused.resume(d(10, 9)) == paused.resume(d(10, 9))
    assert paused.open_pause is not None


# --- refusals ---------------------------------------------------------------------------------------------


def assert_refused(code: str, action: Callable[[], object]) -> str:
    with pytest.raises(ValidationFailed) as caught:
        action()
    assert caught.value.error_code == code
    return caught.value.message


def test_pausing_twice_is_refused() -> None:
    paused = five_days().pause(SUPPLEMENT, d(9, 30))
    message = assert_refused("clock_already_paused", lambda: paused.pause(PauseReason.EXPERT, d(10, 8)))
    assert message == "办理已暂停，不能重复暂停"


def test_resuming_a_running_clock_is_refused() -> None:
    message = assert_refused("clock_not_paused", lambda: five_days().resume(d(10, 8)))
    assert message == "办理未暂停，无需恢复计时"


def test_resuming_before_the_pause_began_is_refused() -> None:
    paused = five_days().pause(SUPPLEMENT, d(10, 8))
    message = assert_refused("clock_date_out_of_order", lambda: paused.resume(d(10, 7)))
    assert "2026-10-08" in message


def test_pausing_before_the_start_or_before_the_last_resumption_is_refused() -> None:
    assert_refused("clock_date_out_of_order", lambda: five_days().pause(SUPPLEMENT, d(9, 28)))
    resumed = five_days().pause(SUPPLEMENT, d(9, 30)).resume(d(10, 9))
    message = assert_refused("clock_date_out_of_order", lambda: resumed.pause(SUPPLEMENT, d(10, 8)))
    assert "上次恢复计时" in message


def test_pausing_or_resuming_a_concluded_clock_is_refused() -> None:
    stopped = five_days().stop(d(10, 9))
    assert_refused("clock_stopped", lambda: stopped.pause(SUPPLEMENT, d(10, 12)))
    assert_refused("clock_stopped", lambda: stopped.resume(d(10, 12)))
    assert_refused("clock_stopped", lambda: stopped.stop(d(10, 12)))


def test_concluding_before_the_start_or_the_pause_is_refused() -> None:
    assert_refused("clock_date_out_of_order", lambda: five_days().stop(d(9, 28)))
    paused = five_days().pause(SUPPLEMENT, d(10, 8))
    assert_refused("clock_date_out_of_order", lambda: paused.stop(d(10, 7)))


@pytest.mark.parametrize("limit", [-1, 3661])
def test_a_limit_out_of_range_is_refused(limit: int) -> None:
    with pytest.raises(ValidationFailed) as caught:
        Clock(d(9, 29), limit, WD)
    assert (caught.value.error_code, caught.value.details["field"]) == ("clock_limit_invalid", "limit")


def test_other_reason_needs_a_note() -> None:
    assert_refused("clock_pause_note_required", lambda: five_days().pause(PauseReason.OTHER, d(9, 30), "  "))
    paused = five_days().pause(PauseReason.OTHER, d(9, 30), "  等待上级批复  ")
    assert paused.pauses[0].note == "等待上级批复"
    assert_refused("clock_note_too_long", lambda: five_days().pause(SUPPLEMENT, d(9, 30), "缺" * 501))


def test_stored_clocks_are_checked_too() -> None:
    open_pause = Pause(SUPPLEMENT, d(9, 30), None)
    assert_refused("clock_already_paused", lambda: Clock(d(9, 29), 5, WD, (open_pause, open_pause)))
    overlapping = (Pause(SUPPLEMENT, d(9, 30), d(10, 9)), Pause(SUPPLEMENT, d(10, 8), d(10, 12)))
    assert_refused("clock_date_out_of_order", lambda: Clock(d(9, 29), 5, WD, overlapping))
    assert_refused("clock_stopped_while_paused", lambda: Clock(d(9, 29), 5, WD, (open_pause,), d(10, 9)))
    closed = (Pause(SUPPLEMENT, d(9, 30), d(10, 9)),)
    assert_refused("clock_date_out_of_order", lambda: Clock(d(9, 29), 5, WD, closed, d(10, 8)))


# --- labels -----------------------------------------------------------------------------------------------


def test_units_share_their_stored_values_with_the_workday_calendar() -> None:
    assert {u.value: u.label for u in ClockUnit} == {u.value: u.label for u in TimeLimitUnit}


def test_labels_are_chinese() -> None:
    assert [level.label for level in Level] == ["正常", "预警", "超期", "暂停", "按时办结", "超期办结"]
    assert PauseReason.SUPPLEMENT.label == "补正"
    assert PauseReason.EXPERT.label == "专家评审（鉴定、检验、检测）"
    assert [r.label for r in (PauseReason.HEARING, PauseReason.PUBLICITY)] == ["听证", "公示"]
    assert PauseReason.OTHER.label == "其他（须注明）"


def test_daily_readings_pass_through_the_levels_in_order() -> None:
    clock = five_days().pause(SUPPLEMENT, d(9, 30)).resume(d(10, 9))
    levels = [clock.reading(d(9, 1) + timedelta(days=i), CAL).level for i in range(90)]
    changes = [level for i, level in enumerate(levels) if i == 0 or level is not levels[i - 1]]
    assert changes == [Level.NORMAL, Level.PAUSED, Level.NORMAL, Level.YELLOW, Level.RED]
    assert levels.index(Level.RED) == (d(10, 15) - d(9, 1)).days
