"""Who may do what in the process centre: one rule per service function.

- A process definition belongs to a department: its own staff design and deploy it; the data bureau of its
  division may too.
- An instance is handled by the department it was started for. A user task names candidate roles (and
  organisations): a member of staff holding such a role there may claim it; the claimant (or the person it
  was delegated to) completes, returns or delegates it.
- Supervisors (效能监察) and the data bureau see the time limits of their divisions; the system fires timers.
"""

from __future__ import annotations

from wanshi.kernel.actor import (
    Actor,
    ActorKind,
    Role,
    data_bureau_divisions,
    division_covers,
    division_prefix,
    provider_organisations,
)
from wanshi.workflow.domain.records import Task, TaskState


def _system(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM


def _bureau_covers(actor: Actor, division_code: str) -> bool:
    return any(division_covers(d, division_code) for d in data_bureau_divisions(actor))


def can_design(actor: Actor, organisation_id: int, division_code: str) -> bool:
    """Create, save and deploy definitions; migrate their running instances."""
    return (
        _system(actor)
        or organisation_id in provider_organisations(actor)
        or _bureau_covers(actor, division_code)
    )


def can_list_definitions(actor: Actor) -> bool:
    return _system(actor) or actor.kind is ActorKind.STAFF


def can_start(actor: Actor, organisation_id: int, division_code: str) -> bool:
    return can_design(actor, organisation_id, division_code)


def can_view_instance(actor: Actor, organisation_id: int, division_code: str) -> bool:
    return can_design(actor, organisation_id, division_code) or can_supervise_division(actor, division_code)


def is_candidate(actor: Actor, task: Task) -> bool:
    """The actor holds one of the task's roles where the task is handled."""
    if _system(actor):
        return True
    for grant in actor.grants:
        if grant.role.value not in task.roles:
            continue
        if task.organisation_id is not None and grant.organisation_id == task.organisation_id:
            return True
        if task.organisation_id is None and task.division_code.startswith(
            division_prefix(grant.division_code)
        ):
            return True
    return False


def can_claim(actor: Actor, task: Task) -> bool:
    return task.state is TaskState.OPEN and task.assignee_id is None and is_candidate(actor, task)


def can_work(actor: Actor, task: Task) -> bool:
    """Complete, return, delegate or release: the task is the actor's (or the system acts)."""
    if task.state is not TaskState.OPEN:
        return False
    return _system(actor) or (actor.user_id is not None and task.assignee_id == actor.user_id)


def can_list_tasks(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF


def supervision_scopes(actor: Actor) -> tuple[str, ...] | None:
    """Divisions whose time limits the actor watches; None: all (the system)."""
    if _system(actor):
        return None
    return tuple(sorted(set(actor.divisions_for(Role.SUPERVISOR)) | set(data_bureau_divisions(actor))))


def can_supervise(actor: Actor) -> bool:
    scopes = supervision_scopes(actor)
    return scopes is None or bool(scopes)


def can_supervise_division(actor: Actor, division_code: str) -> bool:
    scopes = supervision_scopes(actor)
    return scopes is None or any(division_covers(s, division_code) for s in scopes)


def can_fire_timers(actor: Actor) -> bool:
    return _system(actor)


def visible_scopes(actor: Actor) -> tuple[str, ...]:
    """Divisions whose instances a member of staff sees in lists: where they work, supervise or act as the
    data bureau."""
    return tuple(sorted({g.division_code for g in actor.grants}))
