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


# --- people's own accounts, sessions and login ----------------------------------------------------------
PERSON_KINDS = frozenset({ActorKind.CITIZEN, ActorKind.ENTERPRISE, ActorKind.STAFF})


def is_signed_in(actor: Actor) -> bool:
    return actor.kind in PERSON_KINDS and actor.user_id is not None


def can_list_own_sessions(actor: Actor) -> bool:
    return is_signed_in(actor)


def can_end_session(actor: Actor, owner_id: int, owner_division: str | None) -> bool:
    """One's own sessions; a security administrator those of staff in their divisions."""
    if actor.kind is ActorKind.SYSTEM or (is_signed_in(actor) and actor.user_id == owner_id):
        return True
    return owner_division is not None and actor.can_in_division(owner_division, Role.SECURITY_ADMIN)


def can_approve_qr(actor: Actor) -> bool:
    """A signed-in phone approves a desktop login; staff only from a session that passed two factors."""
    if not is_signed_in(actor):
        return False
    return actor.kind is not ActorKind.STAFF or "mfa" in actor.auth_methods


def can_manage_own_account(actor: Actor) -> bool:
    return is_signed_in(actor)


def can_verify_in_person(actor: Actor) -> bool:
    """临柜核验: a counter clerk (or their supervisor) checks the identity document face to face."""
    return actor.kind is ActorKind.STAFF and bool(actor.organisations_for(Role.CLERK, Role.SUPERVISOR))
