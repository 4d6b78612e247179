"""Persistence of legal persons and delegations. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from wanshi.identity.domain.enterprise import LEGAL_REP_SCOPES, Delegation, LegalPerson
from wanshi.identity.tables import user
from wanshi.identity.tables.enterprise import delegation, legal_person
from wanshi.kernel import clock
from wanshi.kernel.actor import Assurance


def _legal_person(row: Any) -> LegalPerson:
    return LegalPerson(
        id=int(row.id),
        credit_code=row.credit_code,
        name=row.name,
        legal_rep_user_id=int(row.legal_rep_user_id),
        assurance=Assurance(row.assurance) if row.assurance else None,
        created_at=clock.as_utc(row.created_at),
    )


def _delegation(row: Any) -> Delegation:
    return Delegation(
        id=int(row.id),
        legal_person_id=int(row.legal_person_id),
        agent_user_id=int(row.agent_user_id),
        agent_name=row.agent_name,
        agent_id_masked=row.agent_id_masked or "",
        scopes=frozenset(row.scopes.split()),
        valid_from=clock.as_utc(row.valid_from),
        valid_until=clock.as_utc(row.valid_until),
        granted_by_user_id=int(row.granted_by_user_id),
        created_at=clock.as_utc(row.created_at),
        revoked_at=clock.as_utc(row.revoked_at) if row.revoked_at is not None else None,
    )


# --- legal persons ---------------------------------------------------------------------------------------
def add_legal_person(session: Session, values: dict[str, Any]) -> int:
    stmt = insert(legal_person).values(**values).returning(legal_person.c.id)
    return int(session.execute(stmt).scalar_one())


def get_legal_person(session: Session, legal_person_id: int) -> LegalPerson | None:
    row = session.execute(select(legal_person).where(legal_person.c.id == legal_person_id)).first()
    return _legal_person(row) if row is not None else None


def legal_person_by_code(session: Session, credit_code: str) -> LegalPerson | None:
    row = session.execute(select(legal_person).where(legal_person.c.credit_code == credit_code)).first()
    return _legal_person(row) if row is not None else None


def represented_by(session: Session, user_id: int) -> list[LegalPerson]:
    rows = session.execute(
        select(legal_person).where(legal_person.c.legal_rep_user_id == user_id).order_by(legal_person.c.name)
    )
    return [_legal_person(r) for r in rows]


# --- delegations -----------------------------------------------------------------------------------------
def _delegations() -> Any:
    return select(
        delegation,
        user.c.display_name.label("agent_name"),
        user.c.id_number_masked.label("agent_id_masked"),
    ).join(user, user.c.id == delegation.c.agent_user_id)


def add_delegation(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(delegation).values(**values).returning(delegation.c.id)).scalar_one())


def get_delegation(session: Session, delegation_id: int) -> Delegation | None:
    row = session.execute(_delegations().where(delegation.c.id == delegation_id)).first()
    return _delegation(row) if row is not None else None


def delegations_of(session: Session, legal_person_id: int) -> list[Delegation]:
    rows = session.execute(
        _delegations()
        .where(delegation.c.legal_person_id == legal_person_id)
        .order_by(delegation.c.created_at.desc(), delegation.c.id.desc())
    )
    return [_delegation(r) for r in rows]


def open_delegations(session: Session, legal_person_id: int, agent_user_id: int, now: datetime) -> int:
    """Delegations of this agent for this legal person that are in force or still to come."""
    rows = session.execute(
        select(delegation.c.id).where(
            delegation.c.legal_person_id == legal_person_id,
            delegation.c.agent_user_id == agent_user_id,
            delegation.c.revoked_at.is_(None),
            delegation.c.valid_until > now,
        )
    )
    return len(rows.all())


def live_delegations_of_agent(
    session: Session, agent_user_id: int, now: datetime, legal_person_id: int | None = None
) -> list[tuple[Delegation, LegalPerson]]:
    """The delegations in force now for this agent (for one legal person, when given)."""
    where = [
        delegation.c.agent_user_id == agent_user_id,
        delegation.c.revoked_at.is_(None),
        delegation.c.valid_from <= now,
        delegation.c.valid_until > now,
    ]
    if legal_person_id is not None:
        where.append(delegation.c.legal_person_id == legal_person_id)
    rows = session.execute(
        _delegations().where(*where).order_by(delegation.c.legal_person_id, delegation.c.id)
    ).all()
    found = {lp.id: lp for lp in _legal_persons(session, {int(r.legal_person_id) for r in rows})}
    return [(_delegation(r), found[int(r.legal_person_id)]) for r in rows]


def _legal_persons(session: Session, ids: set[int]) -> list[LegalPerson]:
    if not ids:
        return []
    rows = session.execute(select(legal_person).where(legal_person.c.id.in_(sorted(ids))))
    return [_legal_person(r) for r in rows]


def revoke_delegation(session: Session, delegation_id: int, now: datetime, by_user_id: int | None) -> bool:
    """Compare-and-set, so that a delegation is revoked (and its revocation audited) once."""
    result = session.execute(
        update(delegation)
        .where(delegation.c.id == delegation_id, delegation.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=by_user_id)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def acting_scopes(
    session: Session, user_id: int, legal_person_id: int, now: datetime
) -> frozenset[str] | None:
    """On every request of a session switched to a legal person: what the person may do for it now, or
    None when they hold nothing for it (any more): the legal representative everything, an agent the
    scopes of the delegation in force."""
    rep = session.execute(
        select(legal_person.c.legal_rep_user_id).where(legal_person.c.id == legal_person_id)
    ).scalar_one_or_none()
    if rep is None:
        return None
    if int(rep) == user_id:
        return LEGAL_REP_SCOPES
    scopes = session.execute(
        select(delegation.c.scopes)
        .where(
            delegation.c.legal_person_id == legal_person_id,
            delegation.c.agent_user_id == user_id,
            delegation.c.revoked_at.is_(None),
            delegation.c.valid_from <= now,
            delegation.c.valid_until > now,
        )
        .order_by(delegation.c.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return frozenset(str(scopes).split()) if scopes is not None else None
