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
