"""Use cases of the working-day calendar: change it (province-level system administrators) and read it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import NotFound, PermissionDenied, ValidationFailed
from wanshi.workdays import policies, repository
from wanshi.workdays.domain import (
    MAX_YEAR,
    MIN_YEAR,
    DayOverride,
    OverrideView,
    WorkdayCalendar,
    WorkdayCalendarChanged,
    YearSchedule,
    YearScheduleView,
)


@dataclass(frozen=True)
class SetOverride:
    day: date
    is_workday: bool
    name: str
    note: str = ""


@dataclass(frozen=True)
class RemoveOverride:
    day: date


@dataclass(frozen=True)
class ImportYearSchedule:
    # Parsed data, or the YAML/JSON text as uploaded; see schedule-example.yaml for the format.
    document: Mapping[str, Any] | str


@dataclass(frozen=True)
class ImportResult:
    schedule: YearScheduleView
    replaced_existing: bool
    # Dates of the schedule on which an administrator's override still decides; worth a second look.
    overridden_dates: tuple[date, ...]


@dataclass(frozen=True)
class ListOverrides:
    year: int | None = None


def _authorise_change(
    uow: UnitOfWork,
    actor: Actor,
    rule: Callable[[Actor], None],
    action: str,
    *,
    object_type: str,
    object_id: str,
) -> None:
    """Apply the rule; the unit of work audits a refusal like every other (等保 安全审计)."""
    try:
        rule(actor)
    except PermissionDenied:
        uow.authorize(False, actor, action, object_type=object_type, object_id=object_id)


def set_override(uow: UnitOfWork, cmd: SetOverride, actor: Actor) -> OverrideView:
    action, object_id = "workdays.override_set", cmd.day.isoformat()
    _authorise_change(
        uow,
        actor,
        policies.authorise_set_override,
        action,
        object_type="workdays_override",
        object_id=object_id,
    )
    item = DayOverride.create(cmd.day, cmd.is_workday, cmd.name, cmd.note)
    now = clock.now()
    repository.lock_calendar(uow.session, now)
    previous = repository.get_override(uow.session, item.day)
    if previous is None:
        repository.add_override(uow.session, item, actor.label, now)
    else:
        repository.update_override(uow.session, item, actor.label, now)
    uow.audit(
        actor,
        action,
        object_type="workdays_override",
        object_id=object_id,
        detail={
            "is_workday": item.is_workday,
            "name": item.name,
            "note": item.note,
            "previous": _override_detail(previous.override) if previous else None,
        },
    )
    uow.emit(WorkdayCalendarChanged(first_date=object_id, last_date=object_id))
    uow.commit()
    return OverrideView(
        override=item,
        created_by=previous.created_by if previous else actor.label,
        created_at=previous.created_at if previous else now,
        updated_by=actor.label,
        updated_at=now,
    )


def remove_override(uow: UnitOfWork, cmd: RemoveOverride, actor: Actor) -> None:
    action, object_id = "workdays.override_removed", cmd.day.isoformat()
    _authorise_change(
        uow,
        actor,
        policies.authorise_remove_override,
        action,
        object_type="workdays_override",
        object_id=object_id,
    )
    repository.lock_calendar(uow.session, clock.now())
    previous = repository.get_override(uow.session, cmd.day)
    if previous is None:
        raise NotFound(f"{object_id} 没有工作日调整记录")
    repository.delete_override(uow.session, cmd.day)
    uow.audit(
        actor,
        action,
        object_type="workdays_override",
        object_id=object_id,
        detail={"previous": _override_detail(previous.override)},
    )
    uow.emit(WorkdayCalendarChanged(first_date=object_id, last_date=object_id))
    uow.commit()


def import_year_schedule(uow: UnitOfWork, cmd: ImportYearSchedule, actor: Actor) -> ImportResult:
    """Store a year's State Council schedule; it replaces an earlier import and the package for that year."""
    action = "workdays.year_schedule_imported"
    # The year is not known before parsing, and parsing comes after authorisation.
    _authorise_change(
        uow,
        actor,
        policies.authorise_import_year_schedule,
        action,
        object_type="workdays_year_schedule",
        object_id="",
    )
    schedule = YearSchedule.parse(cmd.document)
    now = clock.now()
    repository.lock_calendar(uow.session, now)
    previous = repository.get_year_schedule(uow.session, schedule.year)
    if previous is None:
        repository.add_year_schedule(uow.session, schedule, actor.label, now)
    else:
        repository.replace_year_schedule(uow.session, schedule, actor.label, now)
    marks = schedule.marks()
    overridden = tuple(
        v.override.day for v in repository.list_overrides(uow.session) if v.override.day in marks
    )
    first, last = schedule.span
    if previous is not None:
        first = min(first, previous.schedule.span[0])
    uow.audit(
        actor,
        action,
        object_type="workdays_year_schedule",
        object_id=schedule.year,
        detail={
            "notice": schedule.notice,
            "holidays": len(schedule.holidays),
            "workdays": len(schedule.workdays),
            "replaced_existing": previous is not None,
            "overridden_dates": [d.isoformat() for d in overridden],
        },
    )
    uow.emit(WorkdayCalendarChanged(first_date=first.isoformat(), last_date=last.isoformat()))
    uow.commit()
    view = YearScheduleView(
        schedule=schedule,
        created_by=previous.created_by if previous else actor.label,
        created_at=previous.created_at if previous else now,
        updated_by=actor.label,
        updated_at=now,
    )
    return ImportResult(view, previous is not None, overridden)


def list_overrides(uow: UnitOfWork, query: ListOverrides, actor: Actor) -> tuple[OverrideView, ...]:
    policies.authorise_list_overrides(actor)
    if query.year is not None and not MIN_YEAR <= query.year <= MAX_YEAR:
        raise ValidationFailed(f"年份应在{MIN_YEAR}年至{MAX_YEAR}年之间", field="year")
    return tuple(repository.list_overrides(uow.session, query.year))


def list_year_schedules(uow: UnitOfWork, actor: Actor) -> tuple[YearScheduleView, ...]:
    policies.authorise_list_year_schedules(actor)
    return tuple(repository.list_year_schedules(uow.session))


_MEMO = "workdays.calendar"
# Per database: (revision token, calendar built at that revision).
_calendars: dict[str, tuple[str, WorkdayCalendar]] = {}


def load_calendar(uow: UnitOfWork) -> WorkdayCalendar:
    """The calendar as the database has it now, rebuilt only when its revision token has changed.

    Costs one small query when nothing changed. The token is read before the rows: a change committed in
    between then leaves newer rows under an older token, which the next call rebuilds, never the reverse.
    """
    session = uow.session
    # Within one transaction the calendar cannot change under us: ask for the token once per transaction.
    memo = session.info.get(_MEMO)
    if memo is not None and memo[0] is session.get_transaction():
        return memo[1]  # type: ignore[no-any-return]
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    token = repository.revision_token(session)
    cached = _calendars.get(key)
    if cached is not None and cached[0] == token:
        calendar = cached[1]
    else:
        calendar = WorkdayCalendar(
            overrides=[v.override for v in repository.list_overrides(session)],
            schedules=[v.schedule for v in repository.list_year_schedules(session)],
        )
        _calendars[key] = (token, calendar)
    session.info[_MEMO] = (session.get_transaction(), calendar)
    return calendar


def _override_detail(item: DayOverride) -> dict[str, Any]:
    return {"is_workday": item.is_workday, "name": item.name, "note": item.note}
