"""Who may aggregate data: one rule per service function.

Loading is the providing department's work (its clerks, supervisors and organisation administrators) and
the system's (scheduled pulls, the CLI). The three separated duties (system, security, audit
administration) do not load data. Reading load records is open to the same people and to auditors.
"""

from __future__ import annotations

from wanshi.kernel.actor import Actor, ActorKind, Role

LOADING_ROLES = (Role.CLERK, Role.SUPERVISOR, Role.ORG_ADMIN)
READING_ROLES = (*LOADING_ROLES, Role.AUDIT_ADMIN)


def _system(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM


def _staff_with(actor: Actor, roles: tuple[Role, ...]) -> bool:
    return actor.kind is ActorKind.STAFF and any(actor.has_role(role) for role in roles)


def can_load_file(actor: Actor) -> bool:
    return _system(actor) or _staff_with(actor, LOADING_ROLES)


def can_push_batch(actor: Actor) -> bool:
    return can_load_file(actor)


def can_pull_database(actor: Actor) -> bool:
    # A pull reaches into a department's database with a URL and query chosen by the caller: the system only.
    return _system(actor)


def can_list_loads(actor: Actor) -> bool:
    return _system(actor) or _staff_with(actor, READING_ROLES)
