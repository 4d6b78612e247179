"""Who may do what with the service-item catalogue: one rule per service function.

- The basic directory (基本目录) is the province's: a provincial department drafts the entries of its field
  and submits them; the province's bureau (a system administrator granted at the province, the
  数据资源局 / 政务服务管理局) publishes or returns them and withdraws published ones.
- An implementation list entry (实施清单) is its implementing body's: that body's staff claim items and edit
  their drafts; the bureau covering the body's division reviews them (the city's bureau for the city and
  its counties; the province's for provincial bodies). Reviewers may also act for a body (compiling the
  list from a department's Excel file).
- 一件事 bundles are compiled by the bureau of their division and published by it.
- Reading: published items, bundles and their guides are public (the portal serves everyone, signed in or
  not); a record not yet published is seen only by its organisation's staff and its reviewers.
"""

from __future__ import annotations

from wanshi.kernel.actor import (
    Actor,
    ActorKind,
    data_bureau_divisions,
    division_covers,
    provider_organisations,
)

PROVINCE_PREFIX_LENGTH = 2


def _system(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM


def review_scopes(actor: Actor) -> tuple[str, ...] | None:
    """Division codes whose records the actor reviews; None: all (the system itself)."""
    return None if _system(actor) else data_bureau_divisions(actor)


def can_review(actor: Actor, division_code: str) -> bool:
    scopes = review_scopes(actor)
    return scopes is None or any(division_covers(s, division_code) for s in scopes)


def can_edit(actor: Actor, organisation_id: int, division_code: str) -> bool:
    """Draft, edit, submit and start versions for this organisation's records."""
    return organisation_id in provider_organisations(actor) or can_review(actor, division_code)


def can_propose_basic(actor: Actor, department_id: int, province_code: str) -> bool:
    return can_edit(actor, department_id, province_code)


def can_claim(actor: Actor, organisation_id: int, division_code: str) -> bool:
    return can_edit(actor, organisation_id, division_code)


def can_compile_bundle(actor: Actor, division_code: str) -> bool:
    return can_review(actor, division_code)


def can_withdraw(actor: Actor, division_code: str) -> bool:
    return can_review(actor, division_code)


def can_view(actor: Actor, organisation_id: int, division_code: str, published: bool) -> bool:
    return published or can_edit(actor, organisation_id, division_code)


def can_list(actor: Actor) -> bool:
    """The staff's catalogue list: each sees what ``repository.Visibility`` lets through."""
    return _system(actor) or actor.kind is ActorKind.STAFF


def can_import(actor: Actor) -> bool:
    return _system(actor) or bool(provider_organisations(actor)) or bool(review_scopes(actor))


def can_read_published(actor: Actor) -> bool:
    """The portal, the guide, the exports and the open read API: public information (政务公开)."""
    return True
