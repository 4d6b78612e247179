"""Who may call the base registries, and who reads the call log: one rule per service function.

- The data bureau (数据资源局: a system administrator granted at the province or a prefecture, as in the
  catalogue) may call every function and grants them to departments.
- A department's staff (clerks, supervisors, organisation administrators) may call the functions the
  bureau granted to their organisation (registry_grant); no grant, no call. Decision: grants are per
  organisation and function rather than a new staff role, because sharing of the base registries is
  approved department by department (共享申请), and a role would let any clerk anywhere call them.
- The system itself (jobs, other contexts' background work) may call every function.
- A person (ActorKind.CITIZEN) may fetch only their own prefill: ``citizen_may_prefill_own``. Until the
  identity issue (#4) gives citizens an account with a verified ID number, the services pass no number
  and every citizen call is refused.
- The call log: audit administrators and the data bureau read the calls made in their division and
  below; a department's organisation administrators and supervisors read their organisation's calls.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from wanshi.datahub.registry.domain import Operation
from wanshi.kernel.actor import Actor, ActorKind, Role, data_bureau_divisions, division_covers

CALLER_ROLES = (Role.CLERK, Role.SUPERVISOR, Role.ORG_ADMIN)
DEPARTMENT_READERS = (Role.ORG_ADMIN, Role.SUPERVISOR)


def bureau_scopes(actor: Actor) -> tuple[str, ...]:
    return data_bureau_divisions(actor)


def can_call(actor: Actor, operation: Operation, granted: Collection[Operation]) -> bool:
    """``granted``: the operations granted to the actor's organisations (looked up by the service)."""
    if actor.kind is ActorKind.SYSTEM:
        return True
    if actor.kind is not ActorKind.STAFF:
        return False
    return bool(bureau_scopes(actor)) or (
        operation in granted and bool(actor.organisations_for(*CALLER_ROLES))
    )


def citizen_may_prefill_own(actor: Actor, own_id_number: str | None, subject: str) -> bool:
    """A person fetches their own data, and nobody else's, to fill in their own forms (免填报)."""
    return actor.kind is ActorKind.CITIZEN and own_id_number is not None and own_id_number == subject


def can_grant(actor: Actor, division_code: str) -> bool:
    if actor.kind is ActorKind.SYSTEM:
        return True
    return any(division_covers(scope, division_code) for scope in bureau_scopes(actor))


def can_list_grants(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM or bool(bureau_scopes(actor))


def can_reindex(actor: Actor) -> bool:
    """Rebuilding the indexes is province-wide work: the system (CLI, jobs) or the provincial bureau."""
    return actor.kind is ActorKind.SYSTEM or any(d.endswith("0000") for d in bureau_scopes(actor))


@dataclass(frozen=True)
class CallScope:
    everything: bool
    divisions: tuple[str, ...]
    organisations: frozenset[int]

    @property
    def empty(self) -> bool:
        return not (self.everything or self.divisions or self.organisations)


def call_log_scope(actor: Actor) -> CallScope:
    if actor.kind is ActorKind.SYSTEM:
        return CallScope(True, (), frozenset())
    if actor.kind is not ActorKind.STAFF:
        return CallScope(False, (), frozenset())
    divisions = tuple(sorted({*actor.divisions_for(Role.AUDIT_ADMIN), *bureau_scopes(actor)}))
    return CallScope(False, divisions, actor.organisations_for(*DEPARTMENT_READERS))


def can_read_call_log(actor: Actor) -> bool:
    return not call_log_scope(actor).empty


def can_see_registry(actor: Actor) -> bool:
    """The admin-area section: whoever reads the log or manages the grants."""
    return can_read_call_log(actor) or can_list_grants(actor)
