"""Who may do what with tickets: one rule per service function.

- Seeing: a department's staff see the tickets assigned to their own organisation, and the creating
  organisation's staff keep seeing a ticket it raised wherever it was transferred. Overseers (supervisors,
  system, security and audit administrators) see every ticket of their division subtree (a county's never
  see a sibling county's); system administrators only see. A department never sees another department's
  tickets: they can carry its data (a quality ticket holds failure counts and sample keys).
- Working a ticket (accept, resolve, attach evidence): clerks and supervisors of the assigned organisation.
- Transferring: those who work it, or a supervisor over its division; the receiving organisation must
  lie in the actor's own working scope.
- Deciding on a resolution (close, reopen): supervisors over the ticket's division, the creating
  organisation's clerks and supervisors, and the person who created it.
- ``raise_ticket`` has no rule: the calling context authorised the action the ticket belongs to.
"""

from __future__ import annotations

from wanshi.kernel.actor import Actor, ActorKind, Role
from wanshi.tickets.domain import Ticket

WORKING_ROLES = (Role.CLERK, Role.SUPERVISOR)
ANY_ROLE = tuple(Role)
OVERSEER_ROLES = (Role.SUPERVISOR, Role.SYS_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN)


def _system(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM


def _staff(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF


def visible_scopes(actor: Actor) -> tuple[str, ...] | None:
    """Division codes whose subtree the actor sees; None means everything (the system itself)."""
    if _system(actor):
        return None
    if not _staff(actor):
        return ()
    return actor.divisions_for(*OVERSEER_ROLES)


def own_organisations(actor: Actor) -> frozenset[int]:
    """Organisations whose assigned tickets the actor sees because they work there."""
    return actor.organisations_for(*ANY_ROLE) if _staff(actor) else frozenset()


def member_organisations(actor: Actor) -> frozenset[int]:
    """Organisations whose raised tickets the actor keeps seeing wherever they go."""
    return actor.organisations_for(*WORKING_ROLES) if _staff(actor) else frozenset()


def can_view(actor: Actor, ticket: Ticket) -> bool:
    if _system(actor):
        return True
    if not _staff(actor):
        return False
    return (
        actor.can_in_division(ticket.division_code, *OVERSEER_ROLES)
        or ticket.organisation_id in own_organisations(actor)
        or ticket.creator_organisation_id in member_organisations(actor)
    )


def can_list(actor: Actor) -> bool:
    return _system(actor) or _staff(actor)


def can_open_somewhere(actor: Actor) -> bool:
    return _system(actor) or (_staff(actor) and bool(actor.divisions_for(*WORKING_ROLES)))


def can_open(actor: Actor, division_code: str) -> bool:
    return _system(actor) or (_staff(actor) and actor.can_in_division(division_code, *WORKING_ROLES))


def can_work(actor: Actor, ticket: Ticket) -> bool:
    return _system(actor) or (
        _staff(actor) and ticket.organisation_id in actor.organisations_for(*WORKING_ROLES)
    )


def can_transfer(actor: Actor, ticket: Ticket) -> bool:
    return can_work(actor, ticket) or (
        _staff(actor) and actor.can_in_division(ticket.division_code, Role.SUPERVISOR)
    )


def can_receive(actor: Actor, division_code: str) -> bool:
    """May the actor send a ticket to an organisation in this division."""
    return can_open(actor, division_code)


def can_decide(actor: Actor, ticket: Ticket) -> bool:
    if _system(actor):
        return True
    if not _staff(actor):
        return False
    return (
        actor.can_in_division(ticket.division_code, Role.SUPERVISOR)
        or ticket.creator_organisation_id in actor.organisations_for(*WORKING_ROLES)
        or (
            ticket.created_by_kind == ActorKind.STAFF.value
            and actor.user_id is not None
            and actor.user_id == ticket.created_by_user_id
        )
    )


def can_comment(actor: Actor, ticket: Ticket) -> bool:
    return can_view(actor, ticket) and (_system(actor) or any(actor.has_role(role) for role in WORKING_ROLES))
