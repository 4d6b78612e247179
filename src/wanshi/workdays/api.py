"""The working-day calendar as other contexts use it.

Deadlines::

    calendar = load_calendar(uow)
    limit = calendar.deadline(accepted_on, 20, TimeLimitUnit.WORKING_DAY)
    limit.due_date, limit.confirmed, limit.warning

Working day 1 is the first working day after the start date; subscribe to ``WorkdayCalendarChanged`` to
recompute stored deadlines when an administrator changes the calendar.
"""

from __future__ import annotations

from wanshi.workdays.domain import (
    AdjustedWorkday,
    DayInfo,
    DayOverride,
    DaySource,
    Deadline,
    HolidayRange,
    OverrideView,
    ScheduleInvalid,
    ScheduleProblem,
    TimeLimitUnit,
    WorkdayCalendar,
    WorkdayCalendarChanged,
    YearSchedule,
    YearScheduleView,
    unconfirmed_warning,
)
from wanshi.workdays.services import (
    ImportResult,
    ImportYearSchedule,
    ListOverrides,
    RemoveOverride,
    SetOverride,
    import_year_schedule,
    list_overrides,
    list_year_schedules,
    load_calendar,
    remove_override,
    set_override,
)

__all__ = [
    "AdjustedWorkday",
    "DayInfo",
    "DayOverride",
    "DaySource",
    "Deadline",
    "HolidayRange",
    "ImportResult",
    "ImportYearSchedule",
    "ListOverrides",
    "OverrideView",
    "RemoveOverride",
    "ScheduleInvalid",
    "ScheduleProblem",
    "SetOverride",
    "TimeLimitUnit",
    "WorkdayCalendar",
    "WorkdayCalendarChanged",
    "YearSchedule",
    "YearScheduleView",
    "import_year_schedule",
    "list_overrides",
    "list_year_schedules",
    "load_calendar",
    "remove_override",
    "set_override",
    "unconfirmed_warning",
]
