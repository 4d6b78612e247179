"""Running processes: start, the clerk's task list, claim, release, delegate, complete, return; timers;
explicit migration to a new version; time-limit clocks.

Each use case loads the instance at the revision it saw, drives the engine, writes the new state with the
next revision, brings the task rows in line, and records history and audit in the same transaction. A
step that fails (a script error, a refused action) leaves nothing behind: the whole transaction rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wanshi.forms import api as forms
from wanshi.identity import api as identity
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock as kclock
from wanshi.kernel.actor import SYSTEM, Actor
from wanshi.kernel.errors import NotFound, ValidationFailed, WanshiError
from wanshi.org import api as org
from wanshi.workflow import policies, repository
from wanshi.workflow.actions import ActionRegistry
from wanshi.workflow.domain.clocks import ClockUnit, PauseReason
from wanshi.workflow.domain.records import (
    EventKind,
    HistoryEntry,
    Instance,
    InstanceStatus,
    Task,
    TaskState,
)
from wanshi.workflow.engine.runtime import Run
from wanshi.workflow.steps import (
    LazyCalendar,
    clock_of,
    clock_values,
    deployed,
    deployed_for,
    event_row,
    pause_clocks,
    readings,
    resume_clocks,
    save_instance,
    script_engine,
    start_clock,
    stop_clocks,
    sync_tasks,
)

OPINION_MAX = 2000
DATA_KEYS_MAX = 200
TIMER_BATCH = 100
# A timer whose step fails is tried again after this, and meanwhile does not block the queue.
TIMER_RETRY = timedelta(minutes=15)
log = logging.getLogger(__name__)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimeLimit(Command):
    amount: int = Field(ge=0, le=3660)
    unit: ClockUnit = ClockUnit.WORKING_DAY


class StartProcess(Command):
    definition_key: str = Field(max_length=60)
    version: int | None = Field(default=None, ge=1, description="不填则用最新部署的版本")
    organisation_id: int = Field(description="承办部门")
    business_key: str = Field(default="", max_length=100, description="业务编号，如办件编号")
    data: dict[str, Any] = Field(default_factory=dict, description="流程变量")
    legal_limit: TimeLimit | None = None
    promised_limit: TimeLimit | None = None


class CompleteTask(Command):
    task_id: int
    # Answers to the step's form, by field path (as a page posts them); checked against the form version.
    answers: dict[str, list[str]] | None = None
    outcome: str = Field(default="", max_length=40, description="办理结果，如 approve / reject")
    opinion: str = Field(default="", max_length=OPINION_MAX, description="办理意见")


class ReturnTask(Command):
    task_id: int
    to_element: str = Field(max_length=100)
    reason: str = Field(min_length=2, max_length=OPINION_MAX)


class DelegateTask(Command):
    task_id: int
    to_user_id: int
    note: str = Field(default="", max_length=OPINION_MAX)


class ClockPause(Command):
    instance_id: int
    reason: PauseReason
    note: str = Field(default="", max_length=500)


class MigrateInstances(Command):
    definition_key: str = Field(max_length=60)
    from_version: int = Field(ge=1)
    to_version: int = Field(ge=1)
    dry_run: bool = False


class TaskQuery(Command):
    view: Literal["mine", "claimable", "done"] = "mine"
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=30, ge=1, le=200)


@dataclass(frozen=True)
class InstanceView:
    instance: Instance
    tasks: list[Task]
    history: list[HistoryEntry]
    clocks: list[tuple[str, Any]]
    data: dict[str, Any]
    returnable: list[tuple[str, str]]


@dataclass(frozen=True)
class MigrationReport:
    migrated: list[int]
    refused: list[tuple[int, str]]


def _load_instance(uow: UnitOfWork, instance_id: int) -> Instance:
    found = repository.get_instance(uow.session, instance_id)
    if found is None:
        raise NotFound("流程实例不存在")
    return found


def _load_task(uow: UnitOfWork, task_id: int) -> Task:
    found = repository.get_task(uow.session, task_id)
    if found is None:
        raise NotFound("待办不存在")
    return found


def _open(
    uow: UnitOfWork, instance: Instance, actions: ActionRegistry, actor: Actor, calendar: LazyCalendar
) -> Run:
    if instance.status is not InstanceStatus.RUNNING:
        raise ValidationFailed("流程已结束", code="workflow_instance_ended")
    engine = script_engine(uow, actions, instance, actor, calendar)
    return Run.load(deployed_for(uow, instance.version_id, instance.digest), instance.state, engine)


def _finish_step(
    uow: UnitOfWork,
    before: Instance,
    run: Run,
    actor: Actor,
    calendar: LazyCalendar,
    events: list[dict[str, Any]],
    *,
    known_open: list[Task] | None = None,
) -> Instance:
    """Save the state, align the tasks, stop the clocks of a finished instance, write history."""
    after = save_instance(uow, before, run)
    sync_tasks(uow, after, run, actor, calendar, events, known_open=known_open)
    if after.status is InstanceStatus.COMPLETED:
        stop_clocks(uow, after, kclock.today_in_china(), calendar)
        events.append(event_row(EventKind.COMPLETED, actor, after.division_code, instance_id=after.id))
    repository.add_events(uow.session, events)
    return after


# --- start -------------------------------------------------------------------------------------------------
def start_process(uow: UnitOfWork, cmd: StartProcess, actions: ActionRegistry, actor: Actor) -> Instance:
    organisation = org.get_organisation(uow, cmd.organisation_id, SYSTEM)
    uow.authorize(
        policies.can_start(actor, organisation.id, organisation.division_code),
        actor,
        "workflow.instance.start",
    )
    head = repository.find_version_head(uow.session, cmd.definition_key, cmd.version)
    if head is None:
        raise NotFound(f"流程“{cmd.definition_key}”没有已部署的版本")
    version_id, version_number, digest = head
    if len(cmd.data) > DATA_KEYS_MAX:
        raise ValidationFailed("流程变量过多", code="workflow_data_too_large")
    now = kclock.now()
    placeholder = Instance(
        0,
        version_id,
        cmd.definition_key,
        version_number,
        cmd.business_key,
        organisation.id,
        organisation.division_code,
        InstanceStatus.RUNNING,
        b"",
        0,
        actor.label,
        now,
        now,
        None,
        None,
        digest,
    )
    created = replace(placeholder, id=repository.add_instance(uow.session, placeholder))
    calendar = LazyCalendar(uow)
    engine = script_engine(uow, actions, created, actor, calendar)
    run = Run.start(deployed_for(uow, version_id, digest), cmd.data, engine)
    after = save_instance(uow, created, run)
    today = kclock.today_in_china()
    ended = after.status is InstanceStatus.COMPLETED
    # Clocks start with the instance; one that ends in its first transaction is stored already stopped.
    for kind, limit in (("legal", cmd.legal_limit), ("promised", cmd.promised_limit)):
        if limit is not None:
            start_clock(uow, after, kind, limit.amount, limit.unit, today, calendar, stopped=ended)
    events = [
        event_row(
            EventKind.STARTED,
            actor,
            created.division_code,
            instance_id=created.id,
            detail={"version": version_number},
        )
    ]
    sync_tasks(uow, after, run, actor, calendar, events, known_open=[])
    if ended:
        events.append(event_row(EventKind.COMPLETED, actor, after.division_code, instance_id=after.id))
    repository.add_events(uow.session, events)
    uow.audit(
        actor,
        "workflow.instance.start",
        object_type="workflow_instance",
        object_id=after.id,
        tenant=after.division_code,
        detail={
            "definition": cmd.definition_key,
            "version": version_number,
            "business_key": cmd.business_key,
        },
    )
    uow.commit()
    return after


# --- task list and the steps of a task ---------------------------------------------------------------------
def list_tasks(
    uow: UnitOfWork, query: TaskQuery, actor: Actor
) -> tuple[list[tuple[Task, dict[str, Any]]], int]:
    uow.authorize(policies.can_list_tasks(actor), actor, "workflow.task.list")
    return repository.list_tasks(
        uow.session, actor, view=query.view, limit=query.page_size, offset=(query.page - 1) * query.page_size
    )


def get_task(uow: UnitOfWork, task_id: int, actor: Actor) -> tuple[Task, Instance]:
    found = _load_task(uow, task_id)
    owner = _load_instance(uow, found.instance_id)
    allowed = (
        policies.is_candidate(actor, found)
        or (actor.user_id is not None and found.assignee_id == actor.user_id)
        or policies.can_view_instance(actor, owner.organisation_id, owner.division_code)
    )
    uow.authorize(allowed, actor, "workflow.task.view", object_type="workflow_task", object_id=task_id)
    return found, owner


def get_task_view(uow: UnitOfWork, task_id: int, actions: ActionRegistry, actor: Actor) -> InstanceView:
    """The instance as a task's page shows it, to whoever may see the task (a candidate of another
    department in joint handling included), under the same rule as ``get_task``."""
    owner = get_task(uow, task_id, actor)[1]
    return _instance_view(uow, owner, actions, actor)


def claim_task(uow: UnitOfWork, task_id: int, actor: Actor) -> Task:
    found = _load_task(uow, task_id)
    uow.authorize(
        policies.can_claim(actor, found),
        actor,
        "workflow.task.claim",
        object_type="workflow_task",
        object_id=task_id,
    )
    now = kclock.now()
    if not repository.update_task(
        uow.session,
        found.id,
        TaskState.OPEN,
        assignee_id=actor.user_id,
        assignee_name=actor.label,
        claimed_at=now,
    ):
        raise ValidationFailed("该待办已被他人办理", code="workflow_task_not_ready")
    _task_event(uow, EventKind.TASK_CLAIMED, found, actor)
    uow.commit()
    return replace(found, assignee_id=actor.user_id, assignee_name=actor.label, claimed_at=now)


def release_task(uow: UnitOfWork, task_id: int, actor: Actor) -> Task:
    found = _load_task(uow, task_id)
    uow.authorize(
        policies.can_work(actor, found),
        actor,
        "workflow.task.release",
        object_type="workflow_task",
        object_id=task_id,
    )
    if not repository.update_task(
        uow.session,
        found.id,
        TaskState.OPEN,
        assignee=_held(found),
        assignee_id=None,
        assignee_name="",
        claimed_at=None,
    ):
        raise ValidationFailed("该待办已被他人办理", code="workflow_task_not_ready")
    _task_event(uow, EventKind.TASK_RELEASED, found, actor)
    uow.commit()
    return replace(found, assignee_id=None, assignee_name="", claimed_at=None)


def delegate_task(uow: UnitOfWork, cmd: DelegateTask, actor: Actor) -> Task:
    """Hand one's task to a colleague (委派) who holds one of its roles there; recorded with the note."""
    found = _load_task(uow, cmd.task_id)
    uow.authorize(
        policies.can_work(actor, found),
        actor,
        "workflow.task.delegate",
        object_type="workflow_task",
        object_id=cmd.task_id,
    )
    colleague = identity.load_actor(uow, cmd.to_user_id)
    if colleague is None or not policies.is_candidate(colleague, found):
        raise ValidationFailed("只能委派给在该部门担任相应角色的工作人员", code="workflow_delegate_invalid")
    if not repository.update_task(
        uow.session,
        found.id,
        TaskState.OPEN,
        assignee=_held(found),
        assignee_id=colleague.user_id,
        assignee_name=colleague.label,
        claimed_at=kclock.now(),
        delegated_by=actor.label,
    ):
        raise ValidationFailed("该待办已被他人办理", code="workflow_task_not_ready")
    _task_event(uow, EventKind.TASK_DELEGATED, found, actor, {"to": colleague.label, "note": cmd.note})
    uow.commit()
    return replace(
        found, assignee_id=colleague.user_id, assignee_name=colleague.label, delegated_by=actor.label
    )


def _held(found: Task) -> int:
    """Who held the task when it was read: a step applies only if that has not changed since."""
    return found.assignee_id if found.assignee_id is not None else repository.UNASSIGNED


def _task_event(
    uow: UnitOfWork, kind: EventKind, found: Task, actor: Actor, detail: dict[str, Any] | None = None
) -> None:
    repository.add_events(
        uow.session,
        [
            event_row(
                kind,
                actor,
                found.division_code,
                instance_id=found.instance_id,
                task_id=found.id,
                detail=detail,
            )
        ],
    )
    uow.audit(
        actor,
        f"workflow.task.{kind.value.removeprefix('task_')}",
        object_type="workflow_task",
        object_id=found.id,
        tenant=found.division_code,
        detail=detail,
    )


def _form_values(uow: UnitOfWork, found: Task, answers: Mapping[str, Sequence[str]] | None) -> dict[str, Any]:
    if not found.form_key:
        return {}
    # A task keeps its form even if the form was archived after the process reached it.
    published = forms.published_form(uow, found.form_key, SYSTEM, include_archived=True)
    evaluation = forms.check_answers(published.document, answers or {})
    if not evaluation.ok:
        raise ValidationFailed(
            "表单填写有误：" + "；".join(p.message for p in evaluation.problems),
            code="workflow_form_invalid",
            problems=[{"path": p.path, "code": p.code, "message": p.message} for p in evaluation.problems],
        )
    return dict(evaluation.values)


def complete_task(uow: UnitOfWork, cmd: CompleteTask, actions: ActionRegistry, actor: Actor) -> Instance:
    context = repository.step_context(uow.session, cmd.task_id)
    if context is None:
        raise NotFound("待办不存在")
    found, before = context
    uow.authorize(
        policies.can_work(actor, found),
        actor,
        "workflow.task.complete",
        object_type="workflow_task",
        object_id=cmd.task_id,
    )
    calendar = LazyCalendar(uow)
    run = _open(uow, before, actions, actor, calendar)
    data = _form_values(uow, found, cmd.answers)
    if cmd.outcome:
        data["outcome"] = cmd.outcome
    if cmd.opinion:
        data["opinion"] = cmd.opinion
    data["handled_by"] = actor.label
    run.complete(found.task_uuid, data)
    detail = {"element": found.element_id, "outcome": cmd.outcome, "opinion": cmd.opinion[:200]}
    return _close_task(
        uow,
        found,
        before,
        run,
        actor,
        calendar,
        EventKind.TASK_COMPLETED,
        cmd.outcome,
        detail,
        {"outcome": cmd.outcome},
    )


def _close_task(
    uow: UnitOfWork,
    found: Task,
    before: Instance,
    run: Run,
    actor: Actor,
    calendar: LazyCalendar,
    kind: EventKind,
    outcome: str,
    detail: dict[str, Any],
    audit_detail: dict[str, Any],
) -> Instance:
    """The end of a person's step, whatever it was: the task done (only if nobody took it meanwhile), the
    clocks running again after a pausing step, the instance saved, history and audit, commit."""
    if not repository.update_task(
        uow.session,
        found.id,
        TaskState.OPEN,
        assignee=_held(found),
        state=TaskState.DONE.value,
        ended_at=kclock.now(),
        ended_by=actor.label,
        outcome=outcome,
    ):
        raise ValidationFailed("该待办已被他人办理", code="workflow_task_not_ready")
    events = [
        event_row(kind, actor, before.division_code, instance_id=before.id, task_id=found.id, detail=detail)
    ]
    if found.pause:
        resume_clocks(uow, before, kclock.today_in_china(), calendar, actor, events)
    after = _finish_step(uow, before, run, actor, calendar, events)
    uow.audit(
        actor,
        "workflow.task.complete" if kind is EventKind.TASK_COMPLETED else "workflow.task.return",
        object_type="workflow_task",
        object_id=found.id,
        tenant=found.division_code,
        detail=audit_detail,
    )
    uow.commit()
    return after


def return_task(uow: UnitOfWork, cmd: ReturnTask, actions: ActionRegistry, actor: Actor) -> Instance:
    """退回: send the instance back to a step already done, with the reason; that step is open again."""
    found = _load_task(uow, cmd.task_id)
    uow.authorize(
        policies.can_work(actor, found),
        actor,
        "workflow.task.return",
        object_type="workflow_task",
        object_id=cmd.task_id,
    )
    before = _load_instance(uow, found.instance_id)
    calendar = LazyCalendar(uow)
    run = _open(uow, before, actions, actor, calendar)
    run.return_to(cmd.to_element)
    detail = {"from": found.element_id, "to": cmd.to_element, "reason": cmd.reason}
    return _close_task(
        uow,
        found,
        before,
        run,
        actor,
        calendar,
        EventKind.RETURNED,
        "returned",
        detail,
        {"to": cmd.to_element},
    )


# --- instance, clocks, timers, migration ----------------------------------------------------------------
def get_instance(uow: UnitOfWork, instance_id: int, actions: ActionRegistry, actor: Actor) -> InstanceView:
    found = _load_instance(uow, instance_id)
    uow.authorize(
        policies.can_view_instance(actor, found.organisation_id, found.division_code),
        actor,
        "workflow.instance.view",
        object_type="workflow_instance",
        object_id=instance_id,
    )
    return _instance_view(uow, found, actions, actor)


def _instance_view(uow: UnitOfWork, found: Instance, actions: ActionRegistry, actor: Actor) -> InstanceView:
    run = Run.load(
        deployed_for(uow, found.version_id, found.digest),
        found.state,
        script_engine(uow, actions, found, actor, LazyCalendar(uow)),
    )
    return InstanceView(
        found,
        repository.instance_tasks(uow.session, found.id),
        repository.history(uow.session, instance_id=found.id),
        readings(uow, found, kclock.today_in_china()),
        run.data(),
        run.completed_user_steps(),
    )


def pause_clock(uow: UnitOfWork, cmd: ClockPause, actor: Actor) -> None:
    """Stop the time limits while waiting for the applicant or for experts, outside a pausing step."""
    found = _load_instance(uow, cmd.instance_id)
    uow.authorize(
        policies.can_start(actor, found.organisation_id, found.division_code), actor, "workflow.clock.pause"
    )
    events: list[dict[str, Any]] = []
    pause_clocks(
        uow, found, cmd.reason, kclock.today_in_china(), LazyCalendar(uow), actor, events, note=cmd.note
    )
    repository.add_events(uow.session, events)
    uow.audit(
        actor,
        "workflow.clock.pause",
        object_type="workflow_instance",
        object_id=found.id,
        tenant=found.division_code,
        detail={"reason": cmd.reason.value},
    )
    uow.commit()


def resume_clock(uow: UnitOfWork, instance_id: int, actor: Actor) -> None:
    found = _load_instance(uow, instance_id)
    uow.authorize(
        policies.can_start(actor, found.organisation_id, found.division_code), actor, "workflow.clock.resume"
    )
    events: list[dict[str, Any]] = []
    resume_clocks(uow, found, kclock.today_in_china(), LazyCalendar(uow), actor, events)
    repository.add_events(uow.session, events)
    uow.audit(
        actor,
        "workflow.clock.resume",
        object_type="workflow_instance",
        object_id=found.id,
        tenant=found.division_code,
    )
    uow.commit()


def fire_due_timers(uow: UnitOfWork, actions: ActionRegistry, actor: Actor) -> int:
    """The worker's round: every instance whose earliest timer is due moves on, each in its own commit.
    An instance whose step fails is put back by ``TIMER_RETRY`` with the failure in its history (and the
    log), so one broken definition never holds up the others' timers. Returns how many moved."""
    uow.authorize(policies.can_fire_timers(actor), actor, "workflow.timers.fire")
    moved = 0
    for instance_id in repository.due_timer_instances(uow.session, kclock.now(), TIMER_BATCH):
        before = _load_instance(uow, instance_id)
        calendar = LazyCalendar(uow)
        try:
            run = _open(uow, before, actions, actor, calendar)
            run.fire_timers()
            events = [event_row(EventKind.TIMER_FIRED, actor, before.division_code, instance_id=before.id)]
            _finish_step(uow, before, run, actor, calendar, events)
        except WanshiError as exc:
            uow.rollback()
            log.error("timer of workflow instance %s failed: %s %s", instance_id, exc.error_code, exc.message)
            repository.postpone_timer(uow.session, instance_id, kclock.now() + TIMER_RETRY)
            failure = {"error": exc.error_code, "message": exc.message[:500]}
            repository.add_events(
                uow.session,
                [
                    event_row(
                        EventKind.TIMER_FAILED,
                        actor,
                        before.division_code,
                        instance_id=instance_id,
                        detail=failure,
                    )
                ],
            )
        else:
            moved += 1
        uow.commit()
    return moved


def migrate_instances(
    uow: UnitOfWork, cmd: MigrateInstances, actions: ActionRegistry, actor: Actor
) -> MigrationReport:
    """Move the running instances of one version onto another (an explicit command, never automatic).
    Each instance moves in its own transaction; one that cannot (a waiting step was deleted) stays and is
    reported with the reason."""
    source = repository.find_version(uow.session, cmd.definition_key, cmd.from_version)
    target = repository.find_version(uow.session, cmd.definition_key, cmd.to_version)
    if source is None or target is None:
        raise NotFound("流程版本不存在")
    owner = repository.get_definition(uow.session, source.definition_id)
    assert owner is not None
    uow.authorize(
        policies.can_design(actor, owner.organisation_id, owner.division_code),
        actor,
        "workflow.instance.migrate",
    )
    migrated: list[int] = []
    refused: list[tuple[int, str]] = []
    for instance_id in repository.running_instances_of(uow.session, source.id):
        before = _load_instance(uow, instance_id)
        calendar = LazyCalendar(uow)
        run = _open(uow, before, actions, actor, calendar)
        try:
            removed = run.migrate_to(deployed(target))
        except ValidationFailed as exc:
            # Whatever the engine did for this instance before refusing is not kept.
            uow.rollback()
            refused.append((instance_id, exc.message))
            continue
        if cmd.dry_run:
            migrated.append(instance_id)
            continue
        after = save_instance(uow, before, run, version=target)
        events = [
            event_row(
                EventKind.MIGRATED,
                actor,
                after.division_code,
                instance_id=after.id,
                detail={"from": source.number, "to": target.number, "removed": removed},
            )
        ]
        sync_tasks(uow, after, run, actor, calendar, events)
        repository.add_events(uow.session, events)
        uow.audit(
            actor,
            "workflow.instance.migrate",
            object_type="workflow_instance",
            object_id=after.id,
            tenant=after.division_code,
            detail={"from": source.number, "to": target.number},
        )
        uow.commit()
        migrated.append(instance_id)
    return MigrationReport(migrated, refused)


def recompute_clocks(uow: UnitOfWork, actor: Actor) -> int:
    """After an administrator changed the calendar: every running clock's due date and warning day again."""
    uow.authorize(policies.can_fire_timers(actor), actor, "workflow.clocks.recompute")
    calendar = LazyCalendar(uow)
    today = kclock.today_in_china()
    count = 0
    for row in repository.open_clocks(uow.session, None):
        repository.save_clock(uow.session, int(row.id), clock_values(clock_of(row), calendar, today))
        count += 1
    uow.commit()
    return count


def list_running(uow: UnitOfWork, definition_key: str, actor: Actor) -> list[Instance]:
    """The latest instances of a definition that the actor may see (for the designer and migration)."""
    uow.authorize(policies.can_list_definitions(actor), actor, "workflow.instance.list")
    scopes = None if actor.kind.value == "system" else policies.visible_scopes(actor)
    return repository.list_instances(uow.session, scopes=scopes, key=definition_key, limit=50)


def open_task_list(uow: UnitOfWork, instance_id: int) -> list[Task]:
    """The open tasks of an instance, read in the unit of work that just moved it (for API answers)."""
    return repository.open_tasks(uow.session, instance_id)


def count_instances(uow: UnitOfWork, definition_key: str) -> int:
    """How many instances a definition has (the demo's check that it started its own already)."""
    return repository.count_instances(uow.session, definition_key)
