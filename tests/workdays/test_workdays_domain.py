from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from typing import Any

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wanshi.kernel.errors import ValidationFailed
from wanshi.workdays.domain import (
    DayOverride,
    DaySource,
    PackageData,
    ScheduleInvalid,
    TimeLimitUnit,
    WorkdayCalendar,
    YearSchedule,
    package_data,
)

CAL = WorkdayCalendar()
WD, ND = TimeLimitUnit.WORKING_DAY, TimeLimitUnit.NATURAL_DAY


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def problem_codes(document: dict[str, Any] | str) -> list[str]:
    with pytest.raises(ScheduleInvalid) as caught:
        YearSchedule.parse(document)
    return [p.code for p in caught.value.problems]


def schedule_2030(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "year": 2030,
        "notice": "测试用安排",
        "holidays": [
            {"name": "元旦", "start": "2030-01-01"},
            {"name": "国庆节", "start": "2030-10-01", "end": "2030-10-07"},
        ],
        "workdays": [{"date": "2030-09-29", "name": "国庆节调休上班"}],
    }
    document.update(changes)
    return document


# --- the package ----------------------------------------------------------------------------------------


def test_package_years_are_what_the_package_covers() -> None:
    assert CAL.package_years == range(2004, 2027)
    assert CAL.is_confirmed(2004)
    assert CAL.is_confirmed(2026)
    assert not CAL.is_confirmed(2027)
    assert not CAL.is_confirmed(2003)


def test_agrees_with_the_package_on_every_covered_day() -> None:
    covered = days(date(2004, 1, 1), date(2026, 12, 31))
    assert [d for d in covered if CAL.is_workday(d) != chinese_calendar.is_workday(d)] == []


def test_national_day_2025_with_its_adjusted_working_weekends() -> None:
    assert not any(CAL.is_workday(d) for d in days(date(2025, 10, 1), date(2025, 10, 8)))
    for adjusted in (date(2025, 9, 28), date(2025, 10, 11)):  # Sunday, Saturday
        assert adjusted.weekday() >= 5
        info = CAL.day_info(adjusted)
        assert (info.is_workday, info.name, info.source, info.confirmed) == (
            True,
            "国庆节调休上班",
            DaySource.PACKAGE,
            True,
        )
    assert CAL.day_info(date(2025, 10, 3)).name == "国庆节"


def test_spring_festival_2024() -> None:
    assert not any(CAL.is_workday(d) for d in days(date(2024, 2, 10), date(2024, 2, 17)))
    assert CAL.is_workday(date(2024, 2, 4))  # Sunday before
    assert CAL.is_workday(date(2024, 2, 18))  # Sunday after
    assert CAL.day_info(date(2024, 2, 12)).name == "春节"


def test_an_ordinary_day_comes_from_the_plain_week() -> None:
    info = CAL.day_info(date(2025, 3, 12))
    assert (info.is_workday, info.name, info.source) == (True, "", DaySource.WEEK)
    assert not CAL.is_workday(date(2025, 3, 15))  # Saturday


# --- counting -------------------------------------------------------------------------------------------


def test_add_working_days_across_national_day() -> None:
    start = date(2025, 9, 30)  # Tuesday, the last working day before the holiday
    assert CAL.add_working_days(start, 0) == start
    assert CAL.add_working_days(start, 1) == date(2025, 10, 9)
    assert CAL.add_working_days(start, 3) == date(2025, 10, 11)  # the adjusted Saturday counts
    assert CAL.add_working_days(start, 4) == date(2025, 10, 13)
    assert CAL.add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Friday -> adjusted Sunday


def test_day_one_is_the_first_working_day_after_a_start_on_a_holiday() -> None:
    assert CAL.add_working_days(date(2025, 10, 3), 1) == date(2025, 10, 9)


def test_add_working_days_across_years() -> None:
    assert CAL.add_working_days(date(2024, 12, 31), 1) == date(2025, 1, 2)
    start = date(2024, 6, 3)
    far = CAL.add_working_days(start, 600)
    assert CAL.working_days_between(start, far) == 600


def test_negative_amount_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        CAL.add_working_days(date(2025, 1, 1), -1)
    with pytest.raises(ValidationFailed):
        CAL.deadline(date(2025, 1, 1), -3, ND)
    with pytest.raises(ValidationFailed):
        CAL.add_working_days(date(2025, 1, 1), 10**9)


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == 1
    assert CAL.working_days_between(date(2025, 9, 30), date(2025, 10, 8)) == 0
    assert CAL.working_days_between(date(2025, 10, 9), date(2025, 9, 30)) == -1
    assert CAL.working_days_between(date(2025, 9, 30), date(2025, 9, 30)) == 0


def test_next_workday_and_on_or_after() -> None:
    assert CAL.next_workday(date(2025, 9, 30)) == date(2025, 10, 9)
    assert CAL.workday_on_or_after(date(2025, 9, 30)) == date(2025, 9, 30)
    assert CAL.workday_on_or_after(date(2025, 10, 1)) == date(2025, 10, 9)


@given(
    start=st.dates(min_value=date(2003, 6, 1), max_value=date(2029, 12, 31)),
    n=st.integers(min_value=0, max_value=400),
)
def test_counting_is_consistent(start: date, n: int) -> None:
    due = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, due) == n
    if n:
        assert CAL.is_workday(due)
        assert CAL.working_days_between(start, due - timedelta(days=1)) == n - 1
        assert CAL.add_working_days(start, n - 1) < due


# --- deadlines ------------------------------------------------------------------------------------------


def test_working_day_deadline_in_a_confirmed_year() -> None:
    limit = CAL.deadline(date(2025, 9, 26), 5, WD)
    # Day 1 is the adjusted Sunday 9-28, then 9-29, 9-30, 10-9, 10-10.
    assert limit.due_date == date(2025, 10, 10)
    assert limit.confirmed
    assert limit.warning is None


def test_natural_day_deadline_ends_on_the_next_working_day() -> None:
    assert CAL.deadline(date(2025, 9, 25), 5, ND).due_date == date(2025, 9, 30)
    assert CAL.deadline(date(2025, 9, 26), 5, ND).due_date == date(2025, 10, 9)
    assert CAL.deadline(date(2025, 9, 26), 5, ND, roll_forward=False).due_date == date(2025, 10, 1)
    assert CAL.deadline(date(2025, 9, 26), 0, WD).due_date == date(2025, 9, 26)


def test_fallback_year_is_plain_week_and_flagged_unconfirmed() -> None:
    assert CAL.is_workday(date(2030, 10, 1))  # a Tuesday: nobody has entered 2030 yet
    assert not CAL.is_workday(date(2030, 10, 5))
    assert CAL.day_info(date(2030, 10, 1)).confirmed is False
    limit = CAL.deadline(date(2030, 9, 27), 3, WD)
    assert limit.due_date == date(2030, 10, 2)
    assert not limit.confirmed
    assert limit.unconfirmed_years == (2030,)
    assert limit.warning is not None
    assert "2030年法定节假日安排尚未录入" in limit.warning


def test_a_deadline_running_into_an_unconfirmed_year_is_flagged() -> None:
    limit = CAL.deadline(date(2026, 12, 28), 5, WD)
    assert limit.unconfirmed_years == (2027,)
    assert CAL.deadline(date(2026, 12, 1), 5, WD).confirmed
    assert CAL.deadline(date(2026, 12, 30), 5, ND).unconfirmed_years == (2027,)
    assert CAL.deadline(date(2026, 12, 30), 5, ND, roll_forward=False).confirmed
    assert CAL.unconfirmed_years(date(2026, 1, 1), date(2028, 1, 1)) == (2027, 2028)


def test_time_limit_unit_parses_labels() -> None:
    assert TimeLimitUnit.parse("工作日") is WD
    assert TimeLimitUnit.parse("natural_day") is ND
    assert ND.label == "自然日"
    with pytest.raises(ValidationFailed):
        TimeLimitUnit.parse("月")


# --- overrides and imported schedules ------------------------------------------------------------------


def test_overrides_win_over_the_package() -> None:
    cal = WorkdayCalendar(
        overrides=[
            DayOverride(date(2025, 10, 8), True, "提前上班"),
            DayOverride(date(2025, 9, 28), False, "取消调休"),
            DayOverride(date(2030, 10, 1), False, "国庆节"),
        ]
    )
    assert cal.is_workday(date(2025, 10, 8))
    assert not cal.is_workday(date(2025, 9, 28))
    assert cal.day_info(date(2025, 10, 8)).source == DaySource.OVERRIDE
    assert cal.add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 29)
    assert not cal.is_workday(date(2030, 10, 1))
    # A single override does not make a whole year's schedule known.
    assert not cal.is_confirmed(2030)


def test_override_input_is_checked() -> None:
    assert DayOverride.create(date(2027, 2, 8), False, " 春节 ").name == "春节"
    for name, note in (("  ", ""), ("节" * 61, ""), ("春节", "注" * 501)):
        with pytest.raises(ValidationFailed):
            DayOverride.create(date(2027, 2, 8), False, name, note)
    with pytest.raises(ValidationFailed):
        DayOverride.create(date(1999, 2, 8), False, "春节")


def test_imported_schedule_confirms_its_year() -> None:
    cal = WorkdayCalendar(schedules=[YearSchedule.parse(schedule_2030())])
    assert cal.is_confirmed(2030)
    assert 2030 in cal.confirmed_years
    assert cal.imported_years == frozenset({2030})
    assert not cal.is_workday(date(2030, 1, 1))
    assert not any(cal.is_workday(d) for d in days(date(2030, 10, 1), date(2030, 10, 7)))
    info = cal.day_info(date(2030, 9, 29))
    assert (info.is_workday, info.name, info.source) == (True, "国庆节调休上班", DaySource.SCHEDULE)
    limit = cal.deadline(date(2030, 9, 27), 3, WD)
    assert (limit.due_date, limit.confirmed) == (date(2030, 10, 8), True)


def test_imported_schedule_replaces_the_package_for_its_year() -> None:
    corrected = {"year": 2025, "holidays": [{"name": "国庆节", "start": "2025-10-01", "end": "2025-10-07"}]}
    cal = WorkdayCalendar(schedules=[YearSchedule.parse(corrected)])
    assert cal.is_workday(date(2025, 10, 8))
    assert not cal.is_workday(date(2025, 9, 28))  # the package's adjusted Sunday is not in the import
    # The import is the whole year: what it leaves out is no longer a holiday.
    assert cal.is_workday(date(2025, 1, 1))
    assert cal.is_workday(date(2025, 1, 28))
    assert cal.is_workday(date(2024, 10, 8)) == CAL.is_workday(date(2024, 10, 8))


def test_new_years_schedule_may_start_in_late_december() -> None:
    document = schedule_2030(
        holidays=[{"name": "元旦", "start": "2029-12-30", "end": "2030-01-01"}],
        workdays=[{"date": "2029-12-29", "name": "元旦调休上班"}],
    )
    cal = WorkdayCalendar(schedules=[YearSchedule.parse(document)])
    assert cal.is_workday(date(2029, 12, 29))  # a Saturday, listed by the 2030 notice
    assert not cal.is_workday(date(2029, 12, 31))
    assert not cal.is_confirmed(2029)


def test_no_package_means_every_year_is_unconfirmed() -> None:
    cal = WorkdayCalendar(package=PackageData(years=range(0), marks={}))
    assert cal.is_workday(date(2025, 10, 1))
    assert not cal.is_confirmed(2025)


def test_package_data_is_read_once() -> None:
    assert package_data() is package_data()


# --- schedule validation --------------------------------------------------------------------------------


def test_schedule_round_trips_through_its_document() -> None:
    schedule = YearSchedule.parse(schedule_2030())
    assert YearSchedule.parse(schedule.to_document()) == schedule
    assert schedule.holidays[0].end == date(2030, 1, 1)  # one-day holiday without an end
    assert schedule.span == (date(2030, 1, 1), date(2030, 12, 31))
    assert YearSchedule.parse(schedule_2030(notice=None)).notice == ""


def test_schedule_reads_yaml_and_json_text() -> None:
    yaml_text = "year: 2030\nholidays:\n  - {name: 元旦, start: 2030-01-01}\nworkdays: []\n"
    json_text = '{"year": 2030, "holidays": [{"name": "元旦", "start": "2030-01-01"}]}'
    assert YearSchedule.parse(yaml_text) == YearSchedule.parse(json_text)
    assert YearSchedule.parse(yaml_text).workdays == ()
    assert problem_codes("year: [2030\n") == ["document_unreadable"]
    assert problem_codes("- 2030\n") == ["document_invalid"]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"year": "2030"}, "year_invalid"),
        ({"year": 1990}, "year_invalid"),
        ({"year": True}, "year_invalid"),
        ({"holidays": []}, "holidays_missing"),
        ({"holidays": "元旦"}, "holidays_invalid"),
        ({"holidays": ["元旦"]}, "holiday_invalid"),
        ({"holidays": [{"start": "2030-01-01"}]}, "name_missing"),
        ({"holidays": [{"name": "元" * 61, "start": "2030-01-01"}]}, "name_too_long"),
        ({"holidays": [{"name": "元旦", "start": "2030-02-30"}]}, "date_invalid"),
        ({"holidays": [{"name": "元旦"}]}, "date_invalid"),
        ({"holidays": [{"name": "国庆节", "start": "2030-10-07", "end": "2030-10-01"}]}, "range_reversed"),
        ({"holidays": [{"name": "国庆节", "start": "2030-10-01", "end": "2030-12-01"}]}, "range_too_long"),
        ({"holidays": [{"name": "元旦", "start": "2031-01-01"}]}, "date_outside_year"),
        ({"holidays": [{"name": "元旦", "start": "2029-12-10", "end": "2029-12-12"}]}, "date_outside_year"),
        ({"holidays": [{"name": "元旦", "start": "2030-01-01", "stop": "2030-01-03"}]}, "key_unknown"),
        ({"holiday": []}, "key_unknown"),
        ({"notice": 7}, "notice_invalid"),
        ({"workdays": [{"date": "2030-10-08", "name": "调休"}]}, "workday_not_weekend"),
        ({"workdays": [{"name": "调休"}]}, "date_invalid"),
        ({"workdays": [{"date": "2030-10-05"}]}, "holiday_workday_clash"),
        ({"workdays": [{"date": "2030-09-29"}, {"date": "2030-09-29"}]}, "date_duplicated"),
    ],
)
def test_schedule_problems_have_stable_codes(changes: dict[str, Any], code: str) -> None:
    assert code in problem_codes(schedule_2030(**changes))


def test_all_problems_are_reported_at_once_in_chinese() -> None:
    document = schedule_2030(
        holidays=[
            {"name": "春节", "start": "2030-02-02", "end": "2030-02-10"},
            {"name": "元宵", "start": "2030-02-10"},
            {"name": "国庆节", "start": "2031-10-01", "end": "2031-10-07"},
        ],
        workdays=[{"date": "2030-02-09", "name": "春节调休上班"}, {"date": "2030-02-11", "name": "调休"}],
    )
    with pytest.raises(ScheduleInvalid) as caught:
        YearSchedule.parse(document)
    error = caught.value
    assert [p.code for p in error.problems] == [
        "workday_not_weekend",
        "date_duplicated",
        "date_outside_year",
        "holiday_workday_clash",
    ]
    assert error.code == "workdays_schedule_invalid"
    assert error.http_status == 422
    assert error.message.startswith("节假日安排有误：")
    assert "2030-02-10（星期日）重复出现" in error.message
    assert "2030-02-09（星期六）既是放假日又是上班日" in error.message
    assert error.details["problems"][0]["code"] == "workday_not_weekend"


def test_the_shipped_example_is_the_2026_schedule_of_the_package() -> None:
    text = resources.files("wanshi.workdays").joinpath("schedule-example.yaml").read_text(encoding="utf-8")
    schedule = YearSchedule.parse(text)
    assert schedule.year == 2026
    imported = WorkdayCalendar(schedules=[schedule])
    for day in days(date(2026, 1, 1), date(2026, 12, 31)):
        assert imported.is_workday(day) == chinese_calendar.is_workday(day), day
