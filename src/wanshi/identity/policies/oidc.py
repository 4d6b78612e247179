"""One permission rule per OpenID Connect service function.

An organisation's administrator (单位管理员) registers and manages the systems of their own organisation;
the data bureau (数据资源局) sees every system registered in its divisions and can disable any of them.
"""

from __future__ import annotations

from wanshi.kernel.actor import Actor, ActorKind, Role, data_bureau_divisions, division_covers

PERSON_KINDS = frozenset({ActorKind.CITIZEN, ActorKind.ENTERPRISE, ActorKind.STAFF})


def _bureau_covers(actor: Actor, division_code: str) -> bool:
    return any(division_covers(d, division_code) for d in data_bureau_divisions(actor))


def _org_admin_of(actor: Actor, organisation_id: int) -> bool:
    return actor.kind is ActorKind.STAFF and organisation_id in actor.organisations_for(Role.ORG_ADMIN)


def can_register_client(actor: Actor, organisation_id: int) -> bool:
    return actor.kind is ActorKind.SYSTEM or _org_admin_of(actor, organisation_id)


def can_view_client(actor: Actor, organisation_id: int, division_code: str) -> bool:
    return (
        actor.kind is ActorKind.SYSTEM
        or _org_admin_of(actor, organisation_id)
        or _bureau_covers(actor, division_code)
    )


def can_list_clients(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM or bool(
        actor.kind is ActorKind.STAFF
        and (actor.organisations_for(Role.ORG_ADMIN) or data_bureau_divisions(actor))
    )


def client_scopes(actor: Actor) -> tuple[frozenset[int], tuple[str, ...]] | None:
    """Which clients a listing shows: (own organisations, bureau divisions); None for all."""
    if actor.kind is ActorKind.SYSTEM:
        return None
    return actor.organisations_for(Role.ORG_ADMIN), data_bureau_divisions(actor)


def can_rotate_client_secret(actor: Actor, organisation_id: int) -> bool:
    """Only the owner: a new secret is handed to whoever asks, so the bureau does not get one."""
    return actor.kind is ActorKind.SYSTEM or _org_admin_of(actor, organisation_id)


def can_disable_client(actor: Actor, organisation_id: int, division_code: str) -> bool:
    return can_view_client(actor, organisation_id, division_code)


def can_authorize_client(actor: Actor) -> bool:
    """Sign in to a relying system (the consent screen and the code): a signed-in person."""
    return actor.kind in PERSON_KINDS and actor.user_id is not None and actor.session_id is not None


def can_list_own_consents(actor: Actor) -> bool:
    return actor.kind in PERSON_KINDS and actor.user_id is not None


def can_revoke_own_consent(actor: Actor) -> bool:
    return can_list_own_consents(actor)


def can_end_sso_session(actor: Actor, owner_id: int) -> bool:
    """RP-initiated logout ends only the browser's own session."""
    return actor.kind in PERSON_KINDS and actor.user_id == owner_id


def can_rotate_keys(actor: Actor) -> bool:
    """The rotation job and the operator's CLI act as the system; a province-level system administrator too
    (the keys sign for every system in the province)."""
    return actor.kind is ActorKind.SYSTEM or any(
        d.endswith("0000") for d in actor.divisions_for(Role.SYS_ADMIN)
    )
