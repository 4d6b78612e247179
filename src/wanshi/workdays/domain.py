"""Working days under the official Chinese holiday schedule (法定节假日与调休).

For a date, the first layer that has something to say decides whether it is a working day:

1. an administrator's override for that date (a local arrangement, a late correction);
2. a year schedule the administrator imported from the State Council notice (国务院办公厅关于某年部分
   节假日安排的通知), for the dates it lists;
3. the ``chinese_calendar`` package, for years it covers and that have no imported schedule (an imported
   schedule replaces the package for its year, so a correction can also remove a holiday);
4. the plain week: Monday to Friday.

A year with neither package data nor an imported schedule is *unconfirmed*: answers are still given by
the plain week, but deadlines say so, because the State Council publishes next year's schedule only late
in the year and a deadline running into that year may still move.

Counting convention (民法典第二百零一条: the day a period starts is not counted): working day 1 of a
period is the first working day *after* its start date.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar

import chinese_calendar
import yaml

from wanshi.kernel.errors import ValidationFailed
from wanshi.kernel.events import Event

# A guard, not a rule: no legal time limit comes near it, and a huge amount from bad input would otherwise
# make the calendar build thousands of years.
MAX_AMOUNT = 3660
# A schedule's notice may start 元旦 in the last days of the previous year (2019's ran 2018-12-29..31).
SPILL_OVER_FROM = (12, 25)
MAX_HOLIDAY_DAYS = 31
MIN_YEAR, MAX_YEAR = 2000, 2099
NAME_MAX = 60
NOTE_MAX = 500
NOTICE_MAX = 200
DEFAULT_WORKDAY_NAME = "调休上班"
WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


class TimeLimitUnit(StrEnum):
    WORKING_DAY = "working_day"
    NATURAL_DAY = "natural_day"

    @property
    def label(self) -> str:
        return "工作日" if self is TimeLimitUnit.WORKING_DAY else "自然日"

    @classmethod
    def parse(cls, text: str) -> TimeLimitUnit:
        """Accept the stored value or the Chinese label packs and forms use."""
        for unit in cls:
            if text in (unit.value, unit.label):
                return unit
        raise ValidationFailed(f"不认识的时限单位“{text}”，应为“工作日”或“自然日”", field="unit")


class DaySource(StrEnum):
    OVERRIDE = "override"
    SCHEDULE = "schedule"
    PACKAGE = "package"
    WEEK = "week"


@dataclass(frozen=True)
class DayInfo:
    day: date
    is_workday: bool
    # The holiday or adjustment name ("国庆节", "春节调休上班"); empty for an ordinary day.
    name: str
    source: DaySource
    confirmed: bool


@dataclass(frozen=True)
class DayOverride:
    day: date
    is_workday: bool
    name: str
    note: str = ""

    @classmethod
    def create(cls, day: date, is_workday: bool, name: str, note: str = "") -> DayOverride:
        name, note = name.strip(), note.strip()
        if not name:
            raise ValidationFailed("请填写名称，例如“春节”或“调休上班”", field="name")
        if len(name) > NAME_MAX:
            raise ValidationFailed(f"名称不能超过{NAME_MAX}个字", field="name")
        if len(note) > NOTE_MAX:
            raise ValidationFailed(f"备注不能超过{NOTE_MAX}个字", field="note")
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise ValidationFailed(f"日期应在{MIN_YEAR}年至{MAX_YEAR}年之间", field="day")
        return cls(day, is_workday, name, note)


@dataclass(frozen=True)
class OverrideView:
    override: DayOverride
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


@dataclass(frozen=True)
class WorkdayCalendarChanged(Event):
    """Deadlines counted over any date in first_date..last_date (ISO dates) may have moved: recompute them."""

    name: ClassVar[str] = "workdays.calendar_changed"
    first_date: str
    last_date: str


# --- year schedules (the State Council notice) ------------------------------------------------------------


@dataclass(frozen=True)
class HolidayRange:
    name: str
    start: date
    end: date

    def days(self) -> Iterable[date]:
        for offset in range((self.end - self.start).days + 1):
            yield self.start + timedelta(days=offset)


@dataclass(frozen=True)
class AdjustedWorkday:
    day: date
    name: str = DEFAULT_WORKDAY_NAME


@dataclass(frozen=True)
class ScheduleProblem:
    code: str
    message: str


class ScheduleInvalid(ValidationFailed):
    """All problems of a submitted schedule at once, each with a stable code, so a form can list them."""

    code = "workdays_schedule_invalid"
    default_message = "节假日安排有误"
    SHOWN = 5

    def __init__(self, problems: Sequence[ScheduleProblem]) -> None:
        shown = "；".join(p.message for p in problems[: self.SHOWN])
        more = f"；另有{len(problems) - self.SHOWN}处问题" if len(problems) > self.SHOWN else ""
        super().__init__(
            f"节假日安排有误：{shown}{more}",
            problems=[{"code": p.code, "message": p.message} for p in problems],
        )
        self.problems = tuple(problems)


@dataclass(frozen=True)
class YearSchedule:
    year: int
    holidays: tuple[HolidayRange, ...]
    workdays: tuple[AdjustedWorkday, ...] = ()
    notice: str = ""

    @classmethod
    def parse(cls, document: Mapping[str, Any] | str) -> YearSchedule:
        """Validate a schedule given as parsed data or as YAML/JSON text; raises ScheduleInvalid."""
        return _ScheduleParser().parse(_load_text(document) if isinstance(document, str) else document)

    def to_document(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "notice": self.notice,
            "holidays": [
                {"name": h.name, "start": h.start.isoformat(), "end": h.end.isoformat()}
                for h in self.holidays
            ],
            "workdays": [{"date": w.day.isoformat(), "name": w.name} for w in self.workdays],
        }

    def marks(self) -> dict[date, tuple[bool, str]]:
        marks = {day: (False, h.name) for h in self.holidays for day in h.days()}
        marks.update({w.day: (True, w.name) for w in self.workdays})
        return marks

    @property
    def span(self) -> tuple[date, date]:
        """The dates this schedule can change: its whole year and any days it lists before it."""
        return min([date(self.year, 1, 1), *self.marks()]), date(self.year, 12, 31)


@dataclass(frozen=True)
class YearScheduleView:
    schedule: YearSchedule
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


def _load_text(text: str) -> Any:
    # JSON is (for schedules, entirely) a subset of YAML, so one reader serves both formats.
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行附近" if mark is not None else ""
        raise ScheduleInvalid(
            [ScheduleProblem("document_unreadable", f"内容{where}格式有误，无法按 YAML 或 JSON 读取")]
        ) from exc


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _describe(day: date) -> str:
    return f"{day.isoformat()}（{WEEKDAY_NAMES[day.weekday()]}）"


@dataclass
class _ScheduleParser:
    problems: list[ScheduleProblem] = field(default_factory=list)

    def problem(self, code: str, message: str) -> None:
        self.problems.append(ScheduleProblem(code, message))

    def parse(self, data: Any) -> YearSchedule:
        if not isinstance(data, Mapping):
            raise ScheduleInvalid(
                [ScheduleProblem("document_invalid", "内容应是包含 year、holidays、workdays 的对象")]
            )
        self.unknown_keys(data, {"year", "notice", "holidays", "workdays"}, "顶层")
        year = data.get("year")
        if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
            # Without a valid year no date can be checked against it: report this one problem alone.
            self.problem("year_invalid", f"年份（year）应是{MIN_YEAR}至{MAX_YEAR}之间的整数")
            raise ScheduleInvalid(self.problems)
        notice = self.notice(data.get("notice") or "")
        listed = self.list_of(data, "holidays")
        if data.get("holidays") in (None, []):
            self.problem("holidays_missing", "未列出任何法定节假日（holidays）")
        holidays = [h for i, item in enumerate(listed, 1) if (h := self.holiday(i, item))]
        workdays = [
            w for i, item in enumerate(self.list_of(data, "workdays"), 1) if (w := self.workday(i, item))
        ]
        self.check_dates(year, holidays, workdays)
        if self.problems:
            raise ScheduleInvalid(self.problems)
        return YearSchedule(
            year=year,
            holidays=tuple(sorted(holidays, key=lambda h: h.start)),
            workdays=tuple(sorted(workdays, key=lambda w: w.day)),
            notice=notice,
        )

    def unknown_keys(self, data: Mapping[str, Any], known: set[str], where: str) -> None:
        for key in data:
            if key not in known:
                self.problem(
                    "key_unknown", f"{where}有不认识的字段“{key}”，可用的字段：{'、'.join(sorted(known))}"
                )

    def notice(self, value: Any) -> str:
        if not isinstance(value, str) or len(value.strip()) > NOTICE_MAX:
            self.problem("notice_invalid", f"通知名称（notice）应是不超过{NOTICE_MAX}个字的文字")
            return ""
        return value.strip()

    def list_of(self, data: Mapping[str, Any], key: str) -> list[Any]:
        value = data.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(f"{key}_invalid", f"{key} 应是列表")
            return []
        return value

    def name(self, value: Any, where: str, default: str | None = None) -> str | None:
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or not value.strip():
            self.problem("name_missing", f"{where}缺少名称（name）")
            return None
        if len(value.strip()) > NAME_MAX:
            self.problem("name_too_long", f"{where}的名称超过{NAME_MAX}个字")
            return None
        return value.strip()

    def date_field(self, item: Mapping[str, Any], key: str, where: str) -> date | None:
        value = item.get(key)
        parsed = _as_date(value)
        if parsed is None:
            shown = "（未填写）" if value is None else f"“{value}”"
            self.problem("date_invalid", f"{where}的 {key} {shown}不是有效日期，格式应为 YYYY-MM-DD")
        return parsed

    def holiday(self, index: int, item: Any) -> HolidayRange | None:
        where = f"holidays 第{index}项"
        if not isinstance(item, Mapping):
            self.problem("holiday_invalid", f"{where}应包含 name、start、end")
            return None
        self.unknown_keys(item, {"name", "start", "end"}, where)
        name = self.name(item.get("name"), where)
        if name:
            where = f"{where}（{name}）"
        start = self.date_field(item, "start", where)
        # A one-day holiday may leave out its end.
        end = self.date_field(item, "end", where) if "end" in item else start
        if name is None or start is None or end is None:
            return None
        if end < start:
            self.problem("range_reversed", f"{where}的结束日期 {end} 早于开始日期 {start}")
            return None
        if (end - start).days + 1 > MAX_HOLIDAY_DAYS:
            self.problem(
                "range_too_long",
                f"{where}长达{(end - start).days + 1}天，超过{MAX_HOLIDAY_DAYS}天，请核对日期",
            )
            return None
        return HolidayRange(name, start, end)

    def workday(self, index: int, item: Any) -> AdjustedWorkday | None:
        where = f"workdays 第{index}项"
        if not isinstance(item, Mapping):
            self.problem("workday_invalid", f"{where}应包含 date 和 name")
            return None
        self.unknown_keys(item, {"date", "name"}, where)
        name = self.name(item.get("name"), where, default=DEFAULT_WORKDAY_NAME)
        day = self.date_field(item, "date", where)
        if name is None or day is None:
            return None
        if day.weekday() < 5:
            self.problem(
                "workday_not_weekend", f"{where}的调休上班日 {_describe(day)} 本来就是工作日，请核对日期"
            )
            return None
        return AdjustedWorkday(day, name)

    def check_dates(self, year: int, holidays: list[HolidayRange], workdays: list[AdjustedWorkday]) -> None:
        first, last = date(year - 1, *SPILL_OVER_FROM), date(year, 12, 31)
        entries = [(False, f"假期“{h.name}”", list(h.days())) for h in holidays]
        entries += [(True, f"调休上班日“{w.name}”", [w.day]) for w in workdays]
        seen: dict[date, tuple[bool, str]] = {}
        for is_workday, label, days in entries:
            for day in days:
                if not first <= day <= last:
                    self.problem(
                        "date_outside_year",
                        f"{label}的日期 {day} 不在{year}年内（只有元旦安排可以从上一年12月下旬开始）",
                    )
                    break
                if day not in seen:
                    seen[day] = (is_workday, label)
                    continue
                earlier_is_workday, earlier = seen[day]
                if earlier_is_workday != is_workday:
                    self.problem(
                        "holiday_workday_clash", f"{_describe(day)}既是放假日又是上班日：{earlier}与{label}"
                    )
                else:
                    self.problem("date_duplicated", f"{_describe(day)}重复出现：{earlier}与{label}")


# --- the chinese_calendar package ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageData:
    years: range
    marks: Mapping[date, tuple[bool, str]]


@cache
def package_data() -> PackageData:
    """The package's dates, read once per process (its own functions re-validate the year on every call)."""
    holidays: Mapping[date, str] = chinese_calendar.holidays
    workdays: Mapping[date, str] = chinese_calendar.workdays
    marks = {day: (False, chinese_calendar.Holiday(english).chinese) for day, english in holidays.items()}
    marks.update(
        {
            day: (True, f"{chinese_calendar.Holiday(english).chinese}调休上班")
            for day, english in workdays.items()
        }
    )
    # The same rule the package applies: a year is covered when it lies between its first and last holiday.
    return PackageData(years=range(min(holidays).year, max(holidays).year + 1), marks=marks)


# --- the calendar -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    start: date
    amount: int
    unit: TimeLimitUnit
    due_date: date
    # Years without a confirmed holiday schedule that the count ran through: the due date may still move.
    unconfirmed_years: tuple[int, ...]

    @property
    def confirmed(self) -> bool:
        return not self.unconfirmed_years

    @property
    def warning(self) -> str | None:
        return unconfirmed_warning(self.unconfirmed_years) if self.unconfirmed_years else None


def unconfirmed_warning(years: Iterable[int]) -> str:
    listed = "、".join(f"{y}年" for y in sorted(years))
    return f"{listed}法定节假日安排尚未录入，期限暂按周一至周五为工作日推算，安排公布后可能变化"


@dataclass(frozen=True)
class _Year:
    first_ordinal: int
    flags: bytes
    # Sorted ordinals of the year's working days: counting is a bisect, not a walk over days.
    workdays: tuple[int, ...]


class WorkdayCalendar:
    """An immutable answer to "is this a working day", fast enough for deadlines of thousands of cases.

    Each year is resolved into a bitmap and a sorted list of working days on first use, so the layers are
    consulted once per day of a year, not once per question.
    """

    def __init__(
        self,
        *,
        overrides: Iterable[DayOverride] = (),
        schedules: Iterable[YearSchedule] = (),
        package: PackageData | None = None,
    ) -> None:
        self._package = package if package is not None else package_data()
        self._overrides = {o.day: o for o in overrides}
        by_year = {s.year: s for s in schedules}
        self._schedule_years = frozenset(by_year)
        self._schedule_marks: dict[date, tuple[bool, str]] = {}
        # When two notices list the same date (a spill-over into December), the later notice wins.
        for year in sorted(by_year):
            self._schedule_marks.update(by_year[year].marks())
        self._years: dict[int, _Year] = {}

    # --- coverage -----------------------------------------------------------------------------------------
    @property
    def package_years(self) -> range:
        return self._package.years

    @property
    def imported_years(self) -> frozenset[int]:
        return self._schedule_years

    @property
    def confirmed_years(self) -> frozenset[int]:
        return frozenset(self._package.years) | self._schedule_years

    def is_confirmed(self, year: int) -> bool:
        return year in self._schedule_years or year in self._package.years

    def unconfirmed_years(self, first: date, last: date) -> tuple[int, ...]:
        """Unconfirmed years among those of the dates first..last (inclusive)."""
        return tuple(y for y in range(first.year, last.year + 1) if not self.is_confirmed(y))

    # --- single days --------------------------------------------------------------------------------------
    def day_info(self, day: date) -> DayInfo:
        is_workday, name, source = self._decide(day)
        return DayInfo(day, is_workday, name, source, self.is_confirmed(day.year))

    def is_workday(self, day: date) -> bool:
        year = self._year(day.year)
        return bool(year.flags[day.toordinal() - year.first_ordinal])

    def next_workday(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def workday_on_or_after(self, day: date) -> date:
        return day if self.is_workday(day) else self.next_workday(day)

    # --- counting -----------------------------------------------------------------------------------------
    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start``: day 1 is the first working day after start; n=0 is start."""
        _check_amount(n)
        if n == 0:
            return start
        ordinal, year, remaining = start.toordinal(), start.year, n
        while True:
            days = self._year(year).workdays
            index = bisect_right(days, ordinal)
            if remaining <= len(days) - index:
                return date.fromordinal(days[index + remaining - 1])
            remaining -= len(days) - index
            year += 1

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end, negative when end is before start.

        The inverse of add_working_days: ``working_days_between(s, add_working_days(s, n)) == n``.
        """
        if end < start:
            return -self.working_days_between(end, start)
        low, high = start.toordinal(), end.toordinal()
        return sum(
            bisect_right(days, high) - bisect_right(days, low)
            for days in (self._year(y).workdays for y in range(start.year, end.year + 1))
        )

    def deadline(
        self, start: date, amount: int, unit: TimeLimitUnit, *, roll_forward: bool = True
    ) -> Deadline:
        """The last day of a time limit of ``amount`` units counted from ``start`` (start itself not counted).

        A natural-day limit whose last day is not a working day ends on the next working day
        (民法典第二百零三条), unless ``roll_forward`` is off.
        """
        _check_amount(amount)
        if unit is TimeLimitUnit.WORKING_DAY:
            due = self.add_working_days(start, amount)
            looked_at = (start + timedelta(days=1), due) if amount else None
        else:
            raw = start + timedelta(days=amount)
            due = self.workday_on_or_after(raw) if roll_forward else raw
            looked_at = (raw, due) if roll_forward else None
        unconfirmed = self.unconfirmed_years(*looked_at) if looked_at else ()
        return Deadline(start, amount, unit, due, unconfirmed)

    # --- resolution ---------------------------------------------------------------------------------------
    def _decide(self, day: date) -> tuple[bool, str, DaySource]:
        override = self._overrides.get(day)
        if override is not None:
            return override.is_workday, override.name, DaySource.OVERRIDE
        mark = self._schedule_marks.get(day)
        if mark is not None:
            return mark[0], mark[1], DaySource.SCHEDULE
        if day.year not in self._schedule_years and day.year in self._package.years:
            mark = self._package.marks.get(day)
            if mark is not None:
                return mark[0], mark[1], DaySource.PACKAGE
        return day.weekday() < 5, "", DaySource.WEEK

    def _year(self, year: int) -> _Year:
        resolved = self._years.get(year)
        if resolved is None:
            first = date(year, 1, 1).toordinal()
            ordinals = range(first, date(year, 12, 31).toordinal() + 1)
            flags = bytes(self._decide(date.fromordinal(o))[0] for o in ordinals)
            workdays = tuple(o for o, flag in zip(ordinals, flags, strict=True) if flag)
            resolved = self._years[year] = _Year(first, flags, workdays)
        return resolved


def _check_amount(n: int) -> None:
    if n < 0:
        raise ValidationFailed("期限天数不能为负数", field="amount", amount=n)
    if n > MAX_AMOUNT:
        raise ValidationFailed(f"期限天数不能超过{MAX_AMOUNT}天", field="amount", amount=n)
