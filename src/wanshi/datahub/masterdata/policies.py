"""Who may run and read master data linkage: one rule per service function.

Master data spans every department's records, so it is the data bureau's work (数据资源局), as in the
catalogue: a system administrator granted at the province or at a prefecture (a city's bureau), and the
system itself (the CLI, scheduled runs). A county-level grant, a department's clerks and the separated
security duty do not link records. Auditors may read the run records (not the data) as well.
"""

from __future__ import annotations

from wanshi.kernel.actor import Actor, ActorKind, Role, data_bureau_divisions


def _system(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM


def _bureau(actor: Actor) -> bool:
    return bool(data_bureau_divisions(actor))


def can_link_records(actor: Actor) -> bool:
    return _system(actor) or _bureau(actor)


def can_list_runs(actor: Actor) -> bool:
    return can_link_records(actor) or (actor.kind is ActorKind.STAFF and actor.has_role(Role.AUDIT_ADMIN))
