"""One permission rule per ops service function.

Jobs serve every tenant at once (their errors can name any of them), so only a province-level system
administrator sees and retries them.
"""

from __future__ import annotations

from wanshi.kernel.actor import Actor, ActorKind, Role


def _province_sys_admin(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF and any(
        d.endswith("0000") for d in actor.divisions_for(Role.SYS_ADMIN)
    )


def can_view_jobs(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM or _province_sys_admin(actor)


def can_retry_job(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM or _province_sys_admin(actor)


def can_view_schedules(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM or _province_sys_admin(actor)
