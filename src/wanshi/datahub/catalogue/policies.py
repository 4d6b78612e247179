"""Who may do what with the catalogue: one rule per service function.

- Providers: the clerks, supervisors and organisation administrators of the providing organisation
  register its resources, edit their drafts, mount them, submit them and start new versions.
- Reviewers (the data bureau, 数据资源局) publish or return submitted versions and withdraw published
  resources. Decision: a system administrator granted at the province reviews every resource in the
  province; one granted at a prefecture (a city's data bureau) reviews the resources of providers in
  that city and its counties. A county has no reviewing bureau of its own: its catalogue is compiled
  by the city, as the 编制指南 has prefecture-level catalogues cover their counties. Reviewers may also
  act for a provider (the bureau compiling the catalogue from an Excel file sent in by a department).
- Reading: every staff member sees published (and withdrawn) resources; a resource not yet published is
  seen only by its provider's staff and its reviewers, so a county department never sees a sibling
  county's drafts.
"""

from __future__ import annotations

from wanshi.kernel.actor import (
    Actor,
    ActorKind,
    Role,
    data_bureau_divisions,
    division_covers,
    provider_organisations,
)

ANY_ROLE = tuple(Role)


def _system(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM


def _staff(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF


def review_scopes(actor: Actor) -> tuple[str, ...] | None:
    """Division codes whose resources the actor reviews; None: all (the system itself)."""
    return None if _system(actor) else data_bureau_divisions(actor)


def can_review(actor: Actor, division_code: str) -> bool:
    scopes = review_scopes(actor)
    return scopes is None or any(division_covers(s, division_code) for s in scopes)


def can_provide(actor: Actor, organisation_id: int, division_code: str) -> bool:
    """Register, edit, mount, submit and start versions for this provider."""
    return organisation_id in provider_organisations(actor) or can_review(actor, division_code)


def can_register_somewhere(actor: Actor) -> bool:
    return _system(actor) or bool(provider_organisations(actor)) or bool(review_scopes(actor))


def can_view(actor: Actor, organisation_id: int, division_code: str, published: bool) -> bool:
    if _system(actor):
        return True
    if not _staff(actor):
        return False
    return published or can_provide(actor, organisation_id, division_code)


def can_see_working(actor: Actor, organisation_id: int, division_code: str) -> bool:
    """May the actor see a published resource's unpublished next version."""
    return can_provide(actor, organisation_id, division_code)


def can_withdraw(actor: Actor, division_code: str) -> bool:
    return can_review(actor, division_code)


def can_browse(actor: Actor) -> bool:
    return _system(actor) or _staff(actor)


def can_import(actor: Actor) -> bool:
    return can_register_somewhere(actor)
