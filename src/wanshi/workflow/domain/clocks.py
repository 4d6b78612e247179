"""Time-limit clocks (办理时限): a legal or promised limit in working or natural days that pauses.

A case keeps one clock per limit (法定时限, 承诺时限) and reads it for every list and dashboard, so a
clock is an immutable value and a reading is a pure function of the clock, the reading day and the
working-day calendar.

Conventions (the lead's docs quote these):

* Counting (民法典第二百零一条): the start day is not counted. A day d counts as one unit used when
  ``started_on < d <= as_of``, d is a working day (working-day clock) or any day (natural-day clock), and d
  lies in no pause. ``as_of`` is the reading day, or the stop day for a concluded clock.
* Pauses (补正, expert review, hearing, publicity): the days d with ``started_on < d <= ended_on`` are not
  counted. The day the notice goes out still counts as used; the day the applicant responds does not;
  counting resumes the day after. An open pause stops the clock as of the reading day. Paused days are
  counted in the clock's unit: a pause over a weekend costs a working-day clock nothing.
* Due date: the last day on which concluding is in time. Without pauses it is the limit-th counted day,
  the same as the working-day calendar's deadline; it is always a working day: a natural-day limit ending
  on a non-working day ends on the next working day (民法典第二百零三条), and so does a same-day limit
  (即办件, limit 0) started on a non-working day. A pause that begins on or before the due date suspends
  the limit: when it ends, the units still left are counted afresh from the end day, as a new deadline would
  be (with nothing left, the end day itself, or the next working day). A pause that begins after the due
  date has passed does not revive the clock: it stays overdue.
* While paused, and not already overdue, the due date is unknown (None): it depends on when the applicant
  answers. Show "暂停中" with the units remaining instead of a date that would only mislead.
* Levels, first match wins: a concluded clock is DONE_LATE when it stopped after its due date, otherwise
  DONE_IN_TIME; RED (超期) when the reading day is after the due date, even while paused; PAUSED; YELLOW
  (预警) when ``used * 5 >= limit * 4`` (80%, in integers so the boundary is exact: 4 of 5 and 6 of 7
  warn, 5 of 7 does not); NORMAL. Lateness is decided by the due date, not by ``used > limit``: a
  natural-day clock may use more days than its limit during the 第二百零三条 grace days without being late,
  and a working-day clock whose last day rolled forward to a working day (a same-day limit started on a
  rest day, an answer to a last-day notice arriving on a rest day) reads one day over on that due day.
* A reading is as of its day: pauses, resumptions and a stop recorded for later days are ignored, so a
  reading for a past day shows what the dashboard showed then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from wanshi.kernel.errors import ValidationFailed

# The working-day calendar refuses to count further than this; refusing it here names the field at fault.
MAX_LIMIT = 3660
NOTE_MAX = 500


class ClockCalendar(Protocol):
    """What a clock needs of the working-day calendar (``wanshi.workdays.domain.WorkdayCalendar`` fits)."""

    def workday_on_or_after(self, day: date) -> date: ...

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after start (working day 1 is the first after it); start itself for n=0."""
        ...

    def working_days_between(self, start: date, end: date) -> int:
        """The working days d with start < d <= end."""
        ...


class ClockUnit(StrEnum):
    # The values of wanshi.workdays' TimeLimitUnit, so a stored unit serves both.
    WORKING_DAY = "working_day"
    NATURAL_DAY = "natural_day"

    @property
    def label(self) -> str:
        return _UNIT_LABELS[self]


class PauseReason(StrEnum):
    SUPPLEMENT = "supplement"
    EXPERT = "expert"
    HEARING = "hearing"
    PUBLICITY = "publicity"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


class Level(StrEnum):
    NORMAL = "normal"
    YELLOW = "yellow"
    RED = "red"
    PAUSED = "paused"
    DONE_IN_TIME = "done_in_time"
    DONE_LATE = "done_late"

    @property
    def label(self) -> str:
        return _LEVEL_LABELS[self]


_UNIT_LABELS = {ClockUnit.WORKING_DAY: "工作日", ClockUnit.NATURAL_DAY: "自然日"}
_REASON_LABELS = {
    PauseReason.SUPPLEMENT: "补正",
    PauseReason.EXPERT: "专家评审（鉴定、检验、检测）",
    PauseReason.HEARING: "听证",
    PauseReason.PUBLICITY: "公示",
    PauseReason.OTHER: "其他（须注明）",
}
_LEVEL_LABELS = {
    Level.NORMAL: "正常",
    Level.YELLOW: "预警",
    Level.RED: "超期",
    Level.PAUSED: "暂停",
    Level.DONE_IN_TIME: "按时办结",
    Level.DONE_LATE: "超期办结",
}


def _refusal(code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code=code)


@dataclass(frozen=True)
class Pause:
    """Days d with started_on < d <= ended_on are not counted; ended_on None while still paused."""

    reason: PauseReason
    started_on: date
    ended_on: date | None
    note: str = ""

    def __post_init__(self) -> None:
        if self.ended_on is not None and self.ended_on < self.started_on:
            raise _refusal("clock_date_out_of_order", f"恢复计时日期不能早于暂停日期（{self.started_on}）")
        if self.reason is PauseReason.OTHER and not self.note.strip():
            raise ValidationFailed(
                "暂停原因为“其他”时，请注明具体原因", code="clock_pause_note_required", field="note"
            )
        if len(self.note) > NOTE_MAX:
            raise ValidationFailed(
                f"暂停说明不能超过{NOTE_MAX}个字", code="clock_note_too_long", field="note"
            )


@dataclass(frozen=True)
class ClockReading:
    # The last day counted: the reading day, or the stop day of a concluded clock.
    as_of: date
    limit: int
    unit: ClockUnit
    used: int
    # Units (working or natural days, as the clock counts) that fell inside pauses up to as_of.
    paused_days: int
    # Set while the clock is paused as of the reading day.
    pause_reason: PauseReason | None
    due_date: date | None
    level: Level

    @property
    def paused(self) -> bool:
        return self.pause_reason is not None

    @property
    def remaining(self) -> int:
        """Units left; negative once more were used than the limit allows."""
        return self.limit - self.used

    @property
    def fraction(self) -> float:
        """Share of the limit used, capped at 1 for a progress bar; the level tells whether it is late."""
        if self.limit == 0:
            return 1.0
        return min(self.used, self.limit) / self.limit


@dataclass(frozen=True)
class Clock:
    started_on: date
    limit: int
    unit: ClockUnit
    pauses: tuple[Pause, ...] = ()
    stopped_on: date | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.limit <= MAX_LIMIT:
            raise ValidationFailed(
                f"时限天数应在0至{MAX_LIMIT}之间", code="clock_limit_invalid", field="limit", limit=self.limit
            )
        boundary: date | None = self.started_on
        boundary_name = "开始计时日期"
        for pause in self.pauses:
            if boundary is None:
                raise _refusal("clock_already_paused", "办理已暂停，不能重复暂停")
            if pause.started_on < boundary:
                raise _refusal("clock_date_out_of_order", f"暂停日期不能早于{boundary_name}（{boundary}）")
            boundary, boundary_name = pause.ended_on, "上次恢复计时日期"
        if self.stopped_on is not None:
            if boundary is None:
                raise _refusal("clock_stopped_while_paused", "已办结的计时不能仍处于暂停状态")
            if self.stopped_on < boundary:
                raise _refusal("clock_date_out_of_order", f"办结日期不能早于{boundary_name}（{boundary}）")

    @property
    def open_pause(self) -> Pause | None:
        last = self.pauses[-1] if self.pauses else None
        return last if last is not None and last.ended_on is None else None

    def pause(self, reason: PauseReason, on: date, note: str = "") -> Clock:
        self._refuse_when_stopped("办理已办结，不能再暂停计时")
        if self.open_pause is not None:
            raise _refusal("clock_already_paused", "办理已暂停，不能重复暂停")
        return replace(self, pauses=(*self.pauses, Pause(reason, on, None, note.strip())))

    def resume(self, on: date) -> Clock:
        self._refuse_when_stopped("办理已办结，不能恢复计时")
        current = self.open_pause
        if current is None:
            raise _refusal("clock_not_paused", "办理未暂停，无需恢复计时")
        return replace(self, pauses=(*self.pauses[:-1], replace(current, ended_on=on)))

    def stop(self, on: date) -> Clock:
        """Conclude (办结) on ``on``; a pause still open ends that day."""
        self._refuse_when_stopped("办理已办结，不能重复办结")
        current = self.open_pause
        if current is None:
            return replace(self, stopped_on=on)
        if on < current.started_on:
            raise _refusal("clock_date_out_of_order", f"办结日期不能早于暂停日期（{current.started_on}）")
        return replace(self, pauses=(*self.pauses[:-1], replace(current, ended_on=on)), stopped_on=on)

    def reading(self, today: date, calendar: ClockCalendar) -> ClockReading:
        stopped_on = self.stopped_on if self.stopped_on is not None and self.stopped_on <= today else None
        as_of = stopped_on or today
        known = [p for p in self.pauses if p.started_on <= as_of]
        # Pauses are ordered and do not overlap, so only the last one known can still be running.
        current = known[-1] if known and (known[-1].ended_on is None or known[-1].ended_on > as_of) else None
        paused_days = sum(
            self._count(calendar, p.started_on, as_of if p is current or p.ended_on is None else p.ended_on)
            for p in known
        )
        used = self._count(calendar, self.started_on, as_of) - paused_days
        due = self._due_date(calendar, known, current)
        if stopped_on is not None:
            level = Level.DONE_LATE if due is not None and stopped_on > due else Level.DONE_IN_TIME
        elif due is not None and today > due:
            level = Level.RED
        elif current is not None:
            level = Level.PAUSED
        elif used * 5 >= self.limit * 4:
            level = Level.YELLOW
        else:
            level = Level.NORMAL
        return ClockReading(
            as_of=as_of,
            limit=self.limit,
            unit=self.unit,
            used=used,
            paused_days=paused_days,
            pause_reason=current.reason if current is not None else None,
            due_date=due,
            level=level,
        )

    def _due_date(self, calendar: ClockCalendar, known: list[Pause], current: Pause | None) -> date | None:
        left, counting_after = self.limit, self.started_on
        for pause in known:
            due = self._last_day(calendar, counting_after, left)
            if due < pause.started_on:
                return due
            left -= self._count(calendar, counting_after, pause.started_on)
            if pause is current or pause.ended_on is None:
                return None
            counting_after = pause.ended_on
        return self._last_day(calendar, counting_after, left)

    def _last_day(self, calendar: ClockCalendar, after: date, units: int) -> date:
        # Units go below zero only for a natural-day clock paused in its 第二百零三条 grace days.
        units = max(units, 0)
        if self.unit is ClockUnit.WORKING_DAY:
            return calendar.workday_on_or_after(calendar.add_working_days(after, units))
        return calendar.workday_on_or_after(after + timedelta(days=units))

    def _count(self, calendar: ClockCalendar, after: date, through: date) -> int:
        if through <= after:
            return 0
        if self.unit is ClockUnit.WORKING_DAY:
            return calendar.working_days_between(after, through)
        return (through - after).days

    def _refuse_when_stopped(self, message: str) -> None:
        if self.stopped_on is not None:
            raise _refusal("clock_stopped", message)
