"""The building blocks of every process use case: parsed versions, the engine bound to one unit of work,
task rows in step with the engine, time-limit clocks, and history rows written with the change."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from threading import Lock
from typing import Any

from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock as kclock
from wanshi.kernel.actor import Actor, Role
from wanshi.kernel.errors import Conflict, NotFound, WanshiError
from wanshi.org import api as org
from wanshi.workdays import api as workdays
from wanshi.workflow import repository
from wanshi.workflow.actions import ActionContext, ActionRegistry
from wanshi.workflow.domain.clocks import Clock, ClockUnit, Pause, PauseReason
from wanshi.workflow.domain.records import (
    DefinitionVersion,
    EventKind,
    Instance,
    InstanceStatus,
    Task,
    TaskState,
    definition_digest,
)
from wanshi.workflow.engine.runtime import Deployed, Run, parse_definition
from wanshi.workflow.engine.scripting import PlatformScriptEngine

SPEC_CACHE_SIZE = 256
DEFAULT_ROLES = (Role.CLERK.value,)
_specs: OrderedDict[str, Deployed] = OrderedDict()
_specs_lock = Lock()


def deployed(version: DefinitionVersion) -> Deployed:
    """The parsed definition of a version, parsed once per process. Keyed by content, not by id: ids are
    reused by a restored or re-created database, content never lies."""
    return _cached(version.digest or definition_digest(version.bpmn, version.dmn), lambda: version)


def deployed_for(uow: UnitOfWork, version_id: int, digest: str) -> Deployed:
    """The parsed definition an instance runs on; its documents are read only on this process's first use."""
    return _cached(digest, lambda: load_version(uow, version_id))


def _cached(digest: str, source: Callable[[], DefinitionVersion]) -> Deployed:
    with _specs_lock:
        found = _specs.get(digest)
        if found is not None:
            _specs.move_to_end(digest)
            return found
    version = source()
    parsed = parse_definition(version.bpmn, version.dmn)
    with _specs_lock:
        _specs[digest] = parsed
        while len(_specs) > SPEC_CACHE_SIZE:
            _specs.popitem(last=False)
    return parsed


class LazyCalendar:
    """The working-day calendar, read from the database only when a script or timer asks for it."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._calendar: workdays.WorkdayCalendar | None = None

    def get(self) -> workdays.WorkdayCalendar:
        if self._calendar is None:
            self._calendar = workdays.load_calendar(self._uow)
        return self._calendar

    def add_working_days(self, start: date, n: int) -> date:
        return self.get().add_working_days(start, n)


def script_engine(
    uow: UnitOfWork, actions: ActionRegistry, instance: Instance, actor: Actor, calendar: LazyCalendar
) -> PlatformScriptEngine:
    def run(name: str, inputs: dict[str, Any]) -> Mapping[str, Any]:
        ctx = ActionContext(
            uow, instance.id, instance.business_key, instance.organisation_id, instance.division_code, actor
        )
        return actions.run(ctx, name, inputs)

    return PlatformScriptEngine(calendar, actions=run)


def load_version(uow: UnitOfWork, version_id: int) -> DefinitionVersion:
    found = repository.get_version(uow.session, version_id)
    if found is None:
        raise NotFound("流程版本不存在")
    return found


def event_row(
    kind: EventKind,
    actor: Actor,
    division_code: str,
    *,
    instance_id: int | None = None,
    definition_id: int | None = None,
    task_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "instance_id": instance_id,
        "definition_id": definition_id,
        "task_id": task_id,
        "division_code": division_code,
        "kind": kind.value,
        "actor": actor.label,
        "at": kclock.now(),
        "detail": detail or {},
    }


def save_instance(
    uow: UnitOfWork, before: Instance, run: Run, *, version: DefinitionVersion | None = None
) -> Instance:
    """Write the run's state over the instance the step started from; a concurrent step wins, this one
    is refused (``workflow_instance_changed``) and rolled back whole."""
    now = kclock.now()
    done = run.completed
    after = replace(
        before,
        state=run.dump(),
        revision=before.revision + 1,
        status=InstanceStatus.COMPLETED if done else before.status,
        updated_at=now,
        ended_at=now if done else before.ended_at,
        next_timer_at=None if done else run.next_timer_at(),
        version_id=version.id if version else before.version_id,
        version_number=version.number if version else before.version_number,
    )
    if not repository.save_instance(uow.session, after, expected_revision=before.revision):
        raise Conflict("流程实例已被他人同时办理，请刷新后重试", code="workflow_instance_changed")
    return after


def _organisation_for(
    uow: UnitOfWork, instance: Instance, tokens: tuple[str, ...], data: Mapping[str, Any]
) -> int:
    """The organisation a task goes to: the first token (a code, an id, or ``$variable`` holding either),
    else the instance's own organisation."""
    for token in tokens:
        value = data.get(token[1:]) if token.startswith("$") else token
        if value in (None, ""):
            continue
        text = str(value)
        if text.isdigit() and len(text) < 18:
            return int(text)
        try:
            return org.organisation_by_code(uow, text).id
        except WanshiError:
            continue
    return instance.organisation_id


def sync_tasks(
    uow: UnitOfWork,
    instance: Instance,
    run: Run,
    actor: Actor,
    calendar: LazyCalendar,
    events: list[dict[str, Any]],
    *,
    known_open: list[Task] | None = None,
) -> list[Task]:
    """Make the task rows match what the engine has waiting: new steps become open tasks, steps the engine
    withdrew (a boundary timer, a return) are cancelled. Pausing steps stop the clocks while they wait."""
    now = kclock.now()
    today = kclock.today_in_china()
    waiting = {t.id: t for t in run.ready_tasks()}
    current = known_open if known_open is not None else repository.open_tasks(uow.session, instance.id)
    open_rows = {t.task_uuid: t for t in current}
    for uuid, row in open_rows.items():
        if uuid in waiting:
            continue
        repository.update_task(
            uow.session, row.id, TaskState.OPEN, state=TaskState.CANCELLED.value, ended_at=now
        )
        events.append(
            event_row(
                EventKind.TASK_CANCELLED,
                actor,
                instance.division_code,
                instance_id=instance.id,
                task_id=row.id,
            )
        )
        if row.pause:
            resume_clocks(uow, instance, today, calendar, actor, events)
    created: list[Task] = []
    for uuid, ready in waiting.items():
        if uuid in open_rows:
            continue
        ext = ready.extensions
        limit = ext.get("timeLimit")
        new = Task(
            id=0,
            instance_id=instance.id,
            task_uuid=uuid,
            element_id=ready.element_id,
            name=ready.name[:200],
            form_key=str(ext.get("form", "")),
            organisation_id=_organisation_for(uow, instance, tuple(ext.get("orgs", ())), ready.data),
            division_code=instance.division_code,
            roles=tuple(ext.get("roles", DEFAULT_ROLES)),
            assignee_id=None,
            assignee_name="",
            state=TaskState.OPEN,
            created_at=now,
            claimed_at=None,
            ended_at=None,
            ended_by="",
            outcome="",
            due_date=calendar.add_working_days(today, int(limit)) if isinstance(limit, int) else None,
            pause=str(ext.get("pause", "")),
            delegated_by="",
        )
        created.append(new)
    ids = repository.add_tasks(uow.session, created)
    created = [replace(t, id=i) for t, i in zip(created, ids, strict=True)]
    for t in created:
        events.append(
            event_row(
                EventKind.TASK_CREATED,
                actor,
                instance.division_code,
                instance_id=instance.id,
                task_id=t.id,
                detail={"element": t.element_id, "name": t.name},
            )
        )
        if t.pause:
            pause_clocks(uow, instance, PauseReason(t.pause), today, calendar, actor, events, note=t.name)
    return created


# --- clocks ---------------------------------------------------------------------------------------------
def clock_of(row: Any) -> Clock:
    pauses = tuple(
        Pause(
            PauseReason(p["reason"]),
            date.fromisoformat(p["started_on"]),
            date.fromisoformat(p["ended_on"]) if p.get("ended_on") else None,
            p.get("note", ""),
        )
        for p in row.pauses
    )
    return Clock(row.started_on, int(row.limit_amount), ClockUnit(row.unit), pauses, row.stopped_on)


def clock_values(value: Clock, calendar: LazyCalendar, today: date) -> dict[str, Any]:
    """The stored form of a clock, with the due date and the day the warning starts worked out now."""
    reading = value.reading(today, calendar.get())
    due = reading.due_date
    return {
        "started_on": value.started_on,
        "limit_amount": value.limit,
        "unit": value.unit.value,
        "pauses": [
            {
                "reason": p.reason.value,
                "started_on": p.started_on.isoformat(),
                "ended_on": p.ended_on.isoformat() if p.ended_on else None,
                "note": p.note,
            }
            for p in value.pauses
        ],
        "stopped_on": value.stopped_on,
        "due_date": due,
        "warn_on": _warn_on(value, due, calendar) if due is not None else None,
        "paused": reading.paused,
        "late": (value.stopped_on > due) if value.stopped_on is not None and due is not None else None,
    }


def _warn_on(value: Clock, due: date, calendar: LazyCalendar) -> date:
    """The first day the clock reads 预警 (80% used) if it keeps running: counted back from the due date."""
    if value.unit is not ClockUnit.WORKING_DAY:
        threshold = -(-value.limit * 4 // 5)
        return date.fromordinal(due.toordinal() - (value.limit - threshold))
    cal = calendar.get()
    threshold = -(-value.limit * 4 // 5)
    back = value.limit - threshold
    day = due
    while back > 0:
        day = date.fromordinal(day.toordinal() - 1)
        if cal.is_workday(day):
            back -= 1
    return day


def start_clock(
    uow: UnitOfWork,
    instance: Instance,
    kind: str,
    limit: int,
    unit: ClockUnit,
    today: date,
    calendar: LazyCalendar,
    *,
    stopped: bool = False,
) -> None:
    started = Clock(today, limit, unit)
    values = clock_values(started.stop(today) if stopped else started, calendar, today)
    values.update(
        instance_id=instance.id,
        kind=kind,
        definition_key=instance.definition_key,
        organisation_id=instance.organisation_id,
        division_code=instance.division_code,
    )
    repository.add_clock(uow.session, values)


def _each_clock(uow: UnitOfWork, instance: Instance) -> list[tuple[int, Clock]]:
    return [(int(r.id), clock_of(r)) for r in repository.get_clocks(uow.session, instance.id)]


def pause_clocks(
    uow: UnitOfWork,
    instance: Instance,
    reason: PauseReason,
    today: date,
    calendar: LazyCalendar,
    actor: Actor,
    events: list[dict[str, Any]],
    *,
    note: str = "",
) -> None:
    for clock_id, value in _each_clock(uow, instance):
        if value.stopped_on is not None or value.open_pause is not None:
            continue
        repository.save_clock(
            uow.session, clock_id, clock_values(value.pause(reason, today, note), calendar, today)
        )
    events.append(
        event_row(
            EventKind.CLOCK_PAUSED,
            actor,
            instance.division_code,
            instance_id=instance.id,
            detail={"pause": reason.value, "pause_label": reason.label, "note": note},
        )
    )


def resume_clocks(
    uow: UnitOfWork,
    instance: Instance,
    today: date,
    calendar: LazyCalendar,
    actor: Actor,
    events: list[dict[str, Any]],
) -> None:
    for clock_id, value in _each_clock(uow, instance):
        if value.open_pause is None or value.stopped_on is not None:
            continue
        resumed_on = max(today, value.open_pause.started_on)
        repository.save_clock(uow.session, clock_id, clock_values(value.resume(resumed_on), calendar, today))
    events.append(event_row(EventKind.CLOCK_RESUMED, actor, instance.division_code, instance_id=instance.id))


def stop_clocks(uow: UnitOfWork, instance: Instance, today: date, calendar: LazyCalendar) -> None:
    for clock_id, value in _each_clock(uow, instance):
        if value.stopped_on is None:
            on = max(today, value.open_pause.started_on) if value.open_pause else today
            repository.save_clock(uow.session, clock_id, clock_values(value.stop(on), calendar, today))


def readings(uow: UnitOfWork, instance: Instance, today: date) -> list[tuple[str, Any]]:
    calendar = LazyCalendar(uow)
    return [
        (str(r.kind), clock_of(r).reading(today, calendar.get()))
        for r in repository.get_clocks(uow.session, instance.id)
    ]
