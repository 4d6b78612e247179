"""One permission rule per org service function."""

from __future__ import annotations

from wanshi.kernel.actor import Actor, ActorKind, Role

PROVINCE_LEVEL_ADMIN = (Role.SYS_ADMIN,)
ANY_STAFF_ROLE = tuple(Role)


def can_load_divisions(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM or any(
        d.endswith("0000") for d in actor.divisions_for(Role.SYS_ADMIN)
    )


def can_manage_organisation(actor: Actor, division_code: str) -> bool:
    return actor.kind is ActorKind.SYSTEM or actor.can_in_division(division_code, Role.SYS_ADMIN)


def can_view_organisations(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF or actor.kind is ActorKind.SYSTEM


def visible_division_scopes(actor: Actor) -> tuple[str, ...] | None:
    """Division codes whose subtree the actor may see; None means everything (the system itself)."""
    if actor.kind is ActorKind.SYSTEM:
        return None
    return actor.divisions_for(*ANY_STAFF_ROLE)
