"""Who may aggregate data: one rule per service function.

Loading is the providing department's work (its clerks, supervisors and organisation administrators) and
the system's (scheduled pulls, the CLI). The three separated duties (system, security, audit
administration) do not load data. Reading load records is open to the same people, to auditors and to
the data bureau (数据资源局: a system administrator granted at the province or a city, as in the
catalogue's review rule), each within a scope: a department sees its own organisations' loads, an
auditor and the bureau every load in their division subtree, the province-level bureau also the loads
made without a resource (the CLI's).
"""

from __future__ import annotations

from wanshi.datahub.ingest.domain import Load, LoadScope
from wanshi.kernel.actor import Actor, ActorKind, Role, data_bureau_divisions, division_covers

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


def can_schedule_pull(actor: Actor) -> bool:
    """Set up a scheduled pull (the pull itself then runs as the system, on the resource's own mount)."""
    return can_load_file(actor)


def can_list_loads(actor: Actor) -> bool:
    return _system(actor) or _staff_with(actor, READING_ROLES) or bool(data_bureau_divisions(actor))


def load_scope(actor: Actor) -> LoadScope:
    if _system(actor):
        return LoadScope(everything=True)
    if actor.kind is not ActorKind.STAFF:
        return LoadScope()
    divisions = (*data_bureau_divisions(actor), *actor.divisions_for(Role.AUDIT_ADMIN))
    return LoadScope(
        organisations=actor.organisations_for(*LOADING_ROLES),
        divisions=tuple(sorted(set(divisions))),
        unowned=any(d.endswith("0000") for d in divisions),
    )


def can_see_load(actor: Actor, load: Load) -> bool:
    scope = load_scope(actor)
    if scope.everything:
        return True
    if load.organisation_id is not None and load.organisation_id in scope.organisations:
        return True
    if not load.division_code:
        return scope.unowned
    return any(division_covers(d, load.division_code) for d in scope.divisions)
