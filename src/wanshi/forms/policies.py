"""Who may do what in the forms centre: one rule per service function.

- A form belongs to a department (its organisation). That department's own staff design it, save drafts and
  publish versions; the data bureau (数据资源局) of the department's division may do the same, to help or to
  take over. Many departments work at once, each on its own forms.
- Shared field groups (共享字段组) and templates are designed the same way, and once published every member
  of staff may build on them.
- A published form is public: whoever applies must be able to read it and have answers checked against it.
"""

from __future__ import annotations

from wanshi.forms.domain.records import FormKind
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


def can_design(actor: Actor, organisation_id: int, division_code: str) -> bool:
    """Create, save, publish, archive and restore the organisation's forms."""
    if _system(actor):
        return True
    bureau = any(division_covers(d, division_code) for d in data_bureau_divisions(actor))
    return organisation_id in provider_organisations(actor) or bureau


def can_view(actor: Actor, organisation_id: int, division_code: str, kind: FormKind, published: bool) -> bool:
    """A record's draft and history: its designers; a shared record's, any member of staff once published."""
    return can_design(actor, organisation_id, division_code) or (kind.shared and published and _staff(actor))


def can_list(actor: Actor) -> bool:
    return _system(actor) or _staff(actor)


def can_read_published(actor: Actor) -> bool:
    """Published forms are what applicants fill in: public."""
    return True
