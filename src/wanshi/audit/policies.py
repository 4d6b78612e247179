"""One permission rule per audit service function.

三员分立: reading and checking the audit log is the audit administrator's duty alone; the system and
security administrators, whose actions the log records, do not read it.
"""

from __future__ import annotations

from wanshi.kernel.actor import Actor, ActorKind, Role


def _is_province(code: str) -> bool:
    return code.endswith("0000")


def can_search_audit(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF and actor.has_role(Role.AUDIT_ADMIN)


def can_verify_audit(actor: Actor) -> bool:
    # The chain is one for the whole platform; the check reveals sequence numbers, never content.
    return actor.kind is ActorKind.STAFF and actor.has_role(Role.AUDIT_ADMIN)


def can_purge_audit(actor: Actor) -> bool:
    """The retention job, or a province-level auditor; the cutoff always comes from the retention setting."""
    return actor.kind is ActorKind.SYSTEM or (
        actor.kind is ActorKind.STAFF and any(_is_province(d) for d in actor.divisions_for(Role.AUDIT_ADMIN))
    )


def audit_scopes(actor: Actor) -> tuple[str, ...]:
    """Division codes whose subtree of entries the auditor may read."""
    return actor.divisions_for(Role.AUDIT_ADMIN)


def sees_platform_entries(actor: Actor) -> bool:
    """Entries with no tenant (the system's own work, sign-ins of unknown names) belong to the top level."""
    return any(_is_province(d) for d in audit_scopes(actor))


# --- the security view (态势感知) -----------------------------------------------------------------------
# The security administrator watches sign-ins and privilege changes as part of the duty; the audit
# administrator sees the same figures to check on it. Both see only the divisions of their grants.
SECURITY_VIEW_ROLES = (Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)


def _watches_security(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF and any(actor.has_role(r) for r in SECURITY_VIEW_ROLES)


def can_summarise_security(actor: Actor) -> bool:
    return _watches_security(actor)


def can_list_security_events(actor: Actor) -> bool:
    return _watches_security(actor)


def can_check_security_alerts(actor: Actor) -> bool:
    """Also the system, so a scheduled check can raise the same alerts the page shows."""
    return actor.kind is ActorKind.SYSTEM or _watches_security(actor)


def security_scopes(actor: Actor) -> tuple[str, ...] | None:
    """Division codes whose entries the actor may count and read; None for the system: all of them."""
    if actor.kind is ActorKind.SYSTEM:
        return None
    return actor.divisions_for(*SECURITY_VIEW_ROLES)


def sees_platform_security_events(actor: Actor) -> bool:
    """Failed sign-ins of unknown names carry no tenant: only the province level and the system see them."""
    scopes = security_scopes(actor)
    return scopes is None or any(_is_province(d) for d in scopes)
