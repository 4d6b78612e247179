"""One permission rule per enterprise service function.

Only natural persons act for legal persons (a person switched to an enterprise is still that person); staff
accounts never do. The legal representative alone manages agents; an agent sees their own delegations only.
"""

from __future__ import annotations

from wanshi.identity.domain.enterprise import LegalPerson
from wanshi.kernel.actor import Actor, ActorKind

NATURAL_PERSONS = frozenset({ActorKind.CITIZEN, ActorKind.ENTERPRISE})


def _person(actor: Actor) -> bool:
    return actor.kind in NATURAL_PERSONS and actor.user_id is not None


def can_claim_legal_person(actor: Actor) -> bool:
    return _person(actor)


def can_list_my_enterprises(actor: Actor) -> bool:
    return _person(actor)


def _is_legal_rep(actor: Actor, legal_person: LegalPerson) -> bool:
    return _person(actor) and actor.user_id == legal_person.legal_rep_user_id


def can_view_legal_person(actor: Actor, legal_person: LegalPerson, holds_delegation: bool) -> bool:
    return _is_legal_rep(actor, legal_person) or (_person(actor) and holds_delegation)


def can_list_delegations(actor: Actor, legal_person: LegalPerson) -> bool:
    return _is_legal_rep(actor, legal_person)


def can_grant_delegation(actor: Actor, legal_person: LegalPerson) -> bool:
    return _is_legal_rep(actor, legal_person)


def can_revoke_delegation(actor: Actor, legal_person: LegalPerson) -> bool:
    return _is_legal_rep(actor, legal_person)


def can_act_for(actor: Actor, holds_something: bool) -> bool:
    """Switching a session to a legal person: the actor's live session, and a role for that legal person."""
    return _person(actor) and actor.session_id is not None and holds_something


def can_act_as_self(actor: Actor) -> bool:
    return _person(actor) and actor.session_id is not None
