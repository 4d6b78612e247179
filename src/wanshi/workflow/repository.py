"""Persistence of definitions, versions, instances, tasks, clocks and history. Never commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from wanshi.kernel import clock as kclock
from wanshi.kernel.actor import Actor, ActorKind, division_prefix
from wanshi.workflow.domain.records import (
    Definition,
    DefinitionVersion,
    EventKind,
    HistoryEntry,
    Instance,
    InstanceStatus,
    Task,
    TaskState,
)
from wanshi.workflow.tables import clock, definition, event, instance, task, version


def _utc(value: Any) -> Any:
    return kclock.as_utc(value) if value is not None else None


# --- definitions ----------------------------------------------------------------------------------------
def _definition(row: Any) -> Definition:
    return Definition(
        id=int(row.id),
        key=row.key,
        organisation_id=int(row.organisation_id),
        division_code=row.division_code,
        name=row.name,
        draft_bpmn=row.draft_bpmn,
        draft_dmn=tuple(row.draft_dmn or ()),
        revision=int(row.revision),
        latest_version=row.latest_version,
        draft_changed=bool(row.draft_changed),
        updated_by=row.updated_by,
        updated_at=kclock.as_utc(row.updated_at),
    )


def add_definition(session: Session, new: Definition, created_by: str) -> int:
    values = {
        "key": new.key,
        "organisation_id": new.organisation_id,
        "division_code": new.division_code,
        "name": new.name,
        "draft_bpmn": new.draft_bpmn,
        "draft_dmn": list(new.draft_dmn),
        "revision": new.revision,
        "latest_version": new.latest_version,
        "draft_changed": new.draft_changed,
        "created_by": created_by,
        "created_at": new.updated_at,
        "updated_by": new.updated_by,
        "updated_at": new.updated_at,
    }
    return int(session.execute(insert(definition).values(**values).returning(definition.c.id)).scalar_one())


def get_definition(session: Session, definition_id: int) -> Definition | None:
    row = session.execute(select(definition).where(definition.c.id == definition_id)).first()
    return _definition(row) if row else None


def get_definition_by_key(session: Session, key: str) -> Definition | None:
    row = session.execute(select(definition).where(definition.c.key == key)).first()
    return _definition(row) if row else None


def save_definition(session: Session, changed: Definition, *, expected_revision: int) -> bool:
    stmt = (
        update(definition)
        .where(and_(definition.c.id == changed.id, definition.c.revision == expected_revision))
        .values(
            name=changed.name,
            draft_bpmn=changed.draft_bpmn,
            draft_dmn=list(changed.draft_dmn),
            revision=changed.revision,
            latest_version=changed.latest_version,
            draft_changed=changed.draft_changed,
            updated_by=changed.updated_by,
            updated_at=changed.updated_at,
        )
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def list_definitions(session: Session, organisations: frozenset[int] | None) -> list[Definition]:
    stmt = select(definition).order_by(definition.c.updated_at.desc())
    if organisations is not None:
        stmt = stmt.where(definition.c.organisation_id.in_(organisations))
    return [_definition(r) for r in session.execute(stmt)]


def _version(row: Any) -> DefinitionVersion:
    return DefinitionVersion(
        id=int(row.id),
        definition_id=int(row.definition_id),
        key=row.key,
        number=int(row.number),
        process_id=row.process_id,
        name=row.name,
        bpmn=row.bpmn,
        dmn=tuple(row.dmn or ()),
        note=row.note,
        deployed_by=row.deployed_by,
        deployed_at=kclock.as_utc(row.deployed_at),
        digest=row.digest,
    )


def add_version(session: Session, new: DefinitionVersion, division_code: str) -> int:
    values = {
        "definition_id": new.definition_id,
        "number": new.number,
        "division_code": division_code,
        "process_id": new.process_id,
        "digest": new.digest,
        "name": new.name,
        "bpmn": new.bpmn,
        "dmn": list(new.dmn),
        "note": new.note,
        "deployed_by": new.deployed_by,
        "deployed_at": new.deployed_at,
    }
    return int(session.execute(insert(version).values(**values).returning(version.c.id)).scalar_one())


def _versions() -> Any:
    return select(version, definition.c.key).join(definition, definition.c.id == version.c.definition_id)


def get_version(session: Session, version_id: int) -> DefinitionVersion | None:
    row = session.execute(_versions().where(version.c.id == version_id)).first()
    return _version(row) if row else None


def find_version(session: Session, key: str, number: int | None) -> DefinitionVersion | None:
    """A deployed version by number, or the latest."""
    wanted = version.c.number == (number if number is not None else definition.c.latest_version)
    row = session.execute(_versions().where(definition.c.key == key, wanted)).first()
    return _version(row) if row else None


def find_version_head(session: Session, key: str, number: int | None) -> tuple[int, int, str] | None:
    """(id, number, digest) of a deployed version, without its documents: what starting an instance needs
    when this process has parsed the definition already."""
    wanted = version.c.number == (number if number is not None else definition.c.latest_version)
    stmt = (
        select(version.c.id, version.c.number, version.c.digest)
        .join(definition, definition.c.id == version.c.definition_id)
        .where(definition.c.key == key, wanted)
    )
    row = session.execute(stmt).first()
    return (int(row.id), int(row.number), str(row.digest)) if row else None


def list_versions(session: Session, definition_id: int) -> list[DefinitionVersion]:
    stmt = _versions().where(version.c.definition_id == definition_id).order_by(version.c.number.desc())
    return [_version(r) for r in session.execute(stmt)]


# --- instances ------------------------------------------------------------------------------------------
def _instance(row: Any) -> Instance:
    return Instance(
        id=int(row.id),
        version_id=int(row.version_id),
        definition_key=row.definition_key,
        version_number=int(row.version_number),
        business_key=row.business_key,
        organisation_id=int(row.organisation_id),
        division_code=row.division_code,
        status=InstanceStatus(row.status),
        state=bytes(row.state),
        revision=int(row.revision),
        started_by=row.started_by,
        started_at=kclock.as_utc(row.started_at),
        updated_at=kclock.as_utc(row.updated_at),
        ended_at=_utc(row.ended_at),
        next_timer_at=_utc(row.next_timer_at),
        digest=getattr(row, "digest", "") or "",
    )


def add_instance(session: Session, new: Instance) -> int:
    values = {
        "version_id": new.version_id,
        "definition_key": new.definition_key,
        "version_number": new.version_number,
        "business_key": new.business_key,
        "organisation_id": new.organisation_id,
        "division_code": new.division_code,
        "status": new.status.value,
        "state": new.state,
        "revision": new.revision,
        "started_by": new.started_by,
        "started_at": new.started_at,
        "updated_at": new.updated_at,
        "ended_at": new.ended_at,
        "next_timer_at": new.next_timer_at,
    }
    return int(session.execute(insert(instance).values(**values).returning(instance.c.id)).scalar_one())


def _instances() -> Any:
    return select(instance, version.c.digest).join(version, version.c.id == instance.c.version_id)


def get_instance(session: Session, instance_id: int) -> Instance | None:
    row = session.execute(_instances().where(instance.c.id == instance_id)).first()
    return _instance(row) if row else None


def step_context(session: Session, task_id: int) -> tuple[Task, Instance] | None:
    """A task with its instance (and the definition's digest) in one query: what every step starts from."""
    stmt = select(
        task, *[c.label(f"i_{c.name}") for c in instance.columns], version.c.digest.label("i_digest")
    )
    stmt = stmt.join(instance, instance.c.id == task.c.instance_id).join(
        version, version.c.id == instance.c.version_id
    )
    row = session.execute(stmt.where(task.c.id == task_id)).first()
    if row is None:
        return None
    values = row._mapping
    owner = _instance(_Prefixed(values, "i_"))
    return _task(row), owner


class _Prefixed:
    def __init__(self, values: Any, prefix: str) -> None:
        self._values = values
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return self._values[f"{self._prefix}{name}"]


def save_instance(session: Session, changed: Instance, *, expected_revision: int) -> bool:
    stmt = (
        update(instance)
        .where(and_(instance.c.id == changed.id, instance.c.revision == expected_revision))
        .values(
            version_id=changed.version_id,
            version_number=changed.version_number,
            status=changed.status.value,
            state=changed.state,
            revision=changed.revision,
            updated_at=changed.updated_at,
            ended_at=changed.ended_at,
            next_timer_at=changed.next_timer_at,
        )
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def due_timer_instances(session: Session, now: datetime, limit: int) -> list[int]:
    stmt = (
        select(instance.c.id)
        .where(instance.c.status == InstanceStatus.RUNNING.value, instance.c.next_timer_at <= now)
        .order_by(instance.c.next_timer_at)
        .limit(limit)
    )
    return [int(i) for i in session.execute(stmt).scalars()]


def running_instances_of(session: Session, version_id: int) -> list[int]:
    stmt = select(instance.c.id).where(
        instance.c.version_id == version_id, instance.c.status == InstanceStatus.RUNNING.value
    )
    return [int(i) for i in session.execute(stmt.order_by(instance.c.id)).scalars()]


def list_instances(
    session: Session, *, scopes: Sequence[str] | None, key: str = "", status: str = "", limit: int = 50
) -> list[Instance]:
    stmt = _instances().order_by(instance.c.id.desc()).limit(limit)
    if scopes is not None:
        stmt = stmt.where(_in_scopes(instance.c.division_code, scopes))
    if key:
        stmt = stmt.where(instance.c.definition_key == key)
    if status:
        stmt = stmt.where(instance.c.status == status)
    return [_instance(r) for r in session.execute(stmt)]


def _in_scopes(column: Any, scopes: Sequence[str]) -> ColumnElement[bool]:
    if not scopes:
        return column.is_(None)  # type: ignore[no-any-return]
    return or_(*(column.startswith(division_prefix(code)) for code in scopes))


# --- tasks ----------------------------------------------------------------------------------------------
def _task(row: Any) -> Task:
    return Task(
        id=int(row.id),
        instance_id=int(row.instance_id),
        task_uuid=row.task_uuid,
        element_id=row.element_id,
        name=row.name,
        form_key=row.form_key,
        organisation_id=row.organisation_id,
        division_code=row.division_code,
        roles=tuple(r for r in row.roles.split(",") if r),
        assignee_id=row.assignee_id,
        assignee_name=row.assignee_name,
        state=TaskState(row.state),
        created_at=kclock.as_utc(row.created_at),
        claimed_at=_utc(row.claimed_at),
        ended_at=_utc(row.ended_at),
        ended_by=row.ended_by,
        outcome=row.outcome,
        due_date=row.due_date,
        pause=row.pause,
        delegated_by=row.delegated_by,
    )


def add_tasks(session: Session, new: Iterable[Task]) -> list[int]:
    ids = []
    for t in new:
        values = {
            "instance_id": t.instance_id,
            "task_uuid": t.task_uuid,
            "element_id": t.element_id,
            "name": t.name,
            "form_key": t.form_key,
            "organisation_id": t.organisation_id,
            "division_code": t.division_code,
            "roles": f",{','.join(t.roles)}," if t.roles else "",
            "assignee_id": t.assignee_id,
            "assignee_name": t.assignee_name,
            "state": t.state.value,
            "created_at": t.created_at,
            "due_date": t.due_date,
            "pause": t.pause,
        }
        ids.append(int(session.execute(insert(task).values(**values).returning(task.c.id)).scalar_one()))
    return ids


def get_task(session: Session, task_id: int) -> Task | None:
    row = session.execute(select(task).where(task.c.id == task_id)).first()
    return _task(row) if row else None


def open_tasks(session: Session, instance_id: int) -> list[Task]:
    stmt = select(task).where(task.c.instance_id == instance_id, task.c.state == TaskState.OPEN.value)
    return [_task(r) for r in session.execute(stmt.order_by(task.c.id))]


def instance_tasks(session: Session, instance_id: int) -> list[Task]:
    return [
        _task(r)
        for r in session.execute(select(task).where(task.c.instance_id == instance_id).order_by(task.c.id))
    ]


UNASSIGNED = -1


def update_task(
    session: Session, task_id: int, expected_state: TaskState, *, assignee: int | None = None, **values: Any
) -> bool:
    """Change a task still in the expected state (and, when ``assignee`` is given, still held by that user,
    or unassigned for ``UNASSIGNED``): two clerks racing for one task cannot both win."""
    stmt = update(task).where(task.c.id == task_id, task.c.state == expected_state.value)
    if assignee == UNASSIGNED:
        stmt = stmt.where(task.c.assignee_id.is_(None))
    elif assignee is not None:
        stmt = stmt.where(task.c.assignee_id == assignee)
    return bool(session.execute(stmt.values(**values)).rowcount)  # type: ignore[attr-defined]


def postpone_timer(session: Session, instance_id: int, until: datetime) -> None:
    session.execute(update(instance).where(instance.c.id == instance_id).values(next_timer_at=until))


def candidate_filter(actor: Actor) -> ColumnElement[bool]:
    """Open tasks this member of staff may claim: one of their grants' roles, in that grant's organisation
    (or, for a task bound to no organisation, within that grant's division)."""
    if actor.kind is ActorKind.SYSTEM:
        return task.c.id.is_not(None)
    clauses = []
    for grant in actor.grants:
        role = task.c.roles.like(f"%,{grant.role.value},%")
        place = or_(
            task.c.organisation_id == grant.organisation_id,
            and_(
                task.c.organisation_id.is_(None),
                task.c.division_code.startswith(division_prefix(grant.division_code)),
            ),
        )
        clauses.append(and_(role, place))
    return or_(*clauses) if clauses else task.c.id.is_(None)


def list_tasks(
    session: Session, actor: Actor, *, view: str, limit: int, offset: int
) -> tuple[list[tuple[Task, dict[str, Any]]], int]:
    """``mine``: open and assigned to the actor; ``claimable``: open, unassigned, matching a grant;
    ``done``: completed by the actor. Each task comes with its instance's key facts."""
    if view == "mine":
        where: ColumnElement[bool] = and_(
            task.c.state == TaskState.OPEN.value, task.c.assignee_id == actor.user_id
        )
    elif view == "claimable":
        where = and_(
            task.c.state == TaskState.OPEN.value, task.c.assignee_id.is_(None), candidate_filter(actor)
        )
    else:
        where = and_(task.c.state == TaskState.DONE.value, task.c.ended_by == actor.label)
    count = select(func.count()).select_from(task).where(where)
    total = int(session.execute(count).scalar_one())
    stmt = (
        select(
            task,
            instance.c.definition_key.label("i_key"),
            instance.c.business_key.label("i_business_key"),
            instance.c.started_at.label("i_started_at"),
        )
        .join(instance, instance.c.id == task.c.instance_id)
        .where(where)
        .order_by(task.c.ended_at.desc() if view == "done" else task.c.id)
        .limit(limit)
        .offset(offset)
    )
    out = []
    for row in session.execute(stmt):
        facts = {
            "definition_key": row.i_key,
            "business_key": row.i_business_key,
            "started_at": _utc(row.i_started_at),
        }
        out.append((_task(row), facts))
    return out, total


# --- history --------------------------------------------------------------------------------------------
def add_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(event), list(rows))


def history(
    session: Session, *, instance_id: int | None = None, definition_id: int | None = None
) -> list[HistoryEntry]:
    stmt = select(event).order_by(event.c.id)
    if instance_id is not None:
        stmt = stmt.where(event.c.instance_id == instance_id)
    if definition_id is not None:
        stmt = stmt.where(event.c.definition_id == definition_id)
    return [
        HistoryEntry(EventKind(r.kind), r.actor, kclock.as_utc(r.at), r.task_id, dict(r.detail or {}))
        for r in session.execute(stmt)
    ]


# --- clocks ---------------------------------------------------------------------------------------------
def get_clocks(session: Session, instance_id: int) -> list[Any]:
    return list(
        session.execute(select(clock).where(clock.c.instance_id == instance_id).order_by(clock.c.kind))
    )


def add_clock(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(clock).values(**values))


def save_clock(session: Session, clock_id: int, values: dict[str, Any]) -> None:
    session.execute(update(clock).where(clock.c.id == clock_id).values(**values))


def open_clocks(session: Session, scopes: Sequence[str] | None) -> list[Any]:
    stmt = select(clock).where(clock.c.stopped_on.is_(None))
    if scopes is not None:
        stmt = stmt.where(_in_scopes(clock.c.division_code, scopes))
    return list(session.execute(stmt))


def clocks_since(session: Session, scopes: Sequence[str] | None, since: date) -> list[Any]:
    """Clocks running at some point on or after ``since``: for the supervision trend."""
    stmt = select(clock).where(or_(clock.c.stopped_on.is_(None), clock.c.stopped_on >= since))
    if scopes is not None:
        stmt = stmt.where(_in_scopes(clock.c.division_code, scopes))
    return list(session.execute(stmt))


def count_instances(session: Session, definition_key: str) -> int:
    stmt = select(func.count()).select_from(instance).where(instance.c.definition_key == definition_key)
    return int(session.execute(stmt).scalar_one())
