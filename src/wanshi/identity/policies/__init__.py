"""One permission rule per identity service function.

三员分立: the security administrator manages accounts and roles.
"""

from __future__ import annotations

from wanshi.kernel.actor import Actor, ActorKind, Role

# Roles an organisation's own administrator may hand out; administrator roles need the security admin.
ORG_GRANTABLE = frozenset({Role.CLERK, Role.SUPERVISOR})


def can_create_staff(actor: Actor, organisation_id: int, division_code: str) -> bool:
    return (
        actor.kind is ActorKind.SYSTEM
        or actor.can_in_division(division_code, Role.SECURITY_ADMIN)
        or organisation_id in actor.organisations_for(Role.ORG_ADMIN)
    )


def can_grant(actor: Actor, role: Role, organisation_id: int, division_code: str) -> bool:
    if actor.kind is ActorKind.SYSTEM or actor.can_in_division(division_code, Role.SECURITY_ADMIN):
        return True
    return role in ORG_GRANTABLE and organisation_id in actor.organisations_for(Role.ORG_ADMIN)


def can_manage_account(actor: Actor, organisation_id: int, division_code: str) -> bool:
    return can_create_staff(actor, organisation_id, division_code)


def can_view_staff(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM or bool(
        actor.divisions_for(Role.SECURITY_ADMIN, Role.SYS_ADMIN, Role.ORG_ADMIN, Role.AUDIT_ADMIN)
    )


def staff_scopes(actor: Actor) -> tuple[str, ...] | None:
    if actor.kind is ActorKind.SYSTEM:
        return None
    return actor.divisions_for(Role.SECURITY_ADMIN, Role.SYS_ADMIN, Role.ORG_ADMIN, Role.AUDIT_ADMIN)
