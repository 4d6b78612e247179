"""Who may do what with quality operations: one rule per service function.

The same people as the catalogue (see its policies): a resource's provider (clerks, supervisors and
organisation administrators of the providing organisation) and the data bureau over the provider's
division (a system administrator granted at the province or a prefecture; a county has no reviewing
bureau of its own).

- Seeing runs, scores and rule sets: the provider sees its own resources; the data bureau sees every
  resource in its division, so the province's bureau sees all. A department never sees a sibling
  department's scores (a bad score is the department's business until the bureau acts on it).
- Running a check on demand: the provider (after a reload of its own) and the bureau.
- Writing a resource's rule set: the data bureau only. Decision: the rules are the bureau's standard
  for the data, and a provider able to edit them could make a failing rule pass by deleting it; the
  provider reads the rules and answers the tickets they raise.
- Cross-source consistency compares several departments' data, so only the bureau runs it, and only
  over sources inside its division.
"""

from __future__ import annotations

from wanshi.kernel.actor import (
    Actor,
    ActorKind,
    data_bureau_divisions,
    division_covers,
    provider_organisations,
)


def _system(actor: Actor) -> bool:
    return actor.kind is ActorKind.SYSTEM


def _staff(actor: Actor) -> bool:
    return actor.kind is ActorKind.STAFF


def bureau_scopes(actor: Actor) -> tuple[str, ...] | None:
    """Division codes whose resources the actor oversees as the data bureau; None: all (the system)."""
    return None if _system(actor) else data_bureau_divisions(actor)


def is_bureau_over(actor: Actor, division_code: str) -> bool:
    scopes = bureau_scopes(actor)
    return scopes is None or any(division_covers(s, division_code) for s in scopes)


def can_view(actor: Actor, organisation_id: int, division_code: str) -> bool:
    return organisation_id in provider_organisations(actor) or is_bureau_over(actor, division_code)


def can_browse(actor: Actor) -> bool:
    """May open the console at all: somebody's provider or a bureau."""
    return _system(actor) or bool(provider_organisations(actor)) or bool(bureau_scopes(actor))


def can_run(actor: Actor, organisation_id: int, division_code: str) -> bool:
    return can_view(actor, organisation_id, division_code)


def can_edit_rules(actor: Actor, division_code: str) -> bool:
    return is_bureau_over(actor, division_code)


def can_check_consistency(actor: Actor, division_codes: list[str]) -> bool:
    return bool(division_codes) and all(is_bureau_over(actor, d) for d in division_codes)
