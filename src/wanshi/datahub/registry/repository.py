"""Persistence of the call log and the grants. Repositories never commit."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, false, func, insert, or_, select, update
from sqlalchemy.orm import Session

from wanshi.datahub.registry.domain import Operation
from wanshi.datahub.registry.tables import call, grant
from wanshi.kernel.actor import division_prefix


@dataclass(frozen=True)
class CallRow:
    id: int
    at: datetime
    actor: str
    actor_kind: str
    actor_user_id: int | None
    organisation_id: int | None
    division_code: str
    purpose: str
    operation: str
    subject_hash: str
    subject_masked: str
    result: str
    duration_ms: int
    request_id: str


@dataclass(frozen=True)
class GrantRow:
    organisation_id: int
    division_code: str
    operations: tuple[Operation, ...]
    note: str
    granted_by: str
    granted_at: datetime


def add_call(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(call).values(**values))


@dataclass(frozen=True)
class CallFilter:
    everything: bool
    divisions: tuple[str, ...]
    organisations: frozenset[int]
    since: datetime | None
    until: datetime | None
    operation: str | None
    organisation_id: int | None
    subject_hash: str | None


def _conditions(f: CallFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not f.everything:
        visible = [call.c.division_code.startswith(division_prefix(d)) for d in f.divisions]
        if f.organisations:
            visible.append(call.c.organisation_id.in_(sorted(f.organisations)))
        conditions.append(or_(*visible) if visible else false())
    if f.since is not None:
        conditions.append(call.c.at >= f.since)
    if f.until is not None:
        conditions.append(call.c.at < f.until)
    if f.operation:
        conditions.append(call.c.operation == f.operation)
    if f.organisation_id is not None:
        conditions.append(call.c.organisation_id == f.organisation_id)
    if f.subject_hash:
        conditions.append(call.c.subject_hash == f.subject_hash)
    return conditions


def search_calls(session: Session, f: CallFilter, limit: int, offset: int) -> tuple[list[CallRow], int]:
    conditions = _conditions(f)
    total = session.execute(select(func.count()).select_from(call).where(*conditions)).scalar_one()
    rows = session.execute(
        select(call)
        .where(*conditions)
        .order_by(call.c.at.desc(), call.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [CallRow(**row._mapping) for row in rows], int(total)


def _grant(row: Any) -> GrantRow:
    return GrantRow(
        organisation_id=int(row.organisation_id),
        division_code=row.division_code,
        operations=tuple(Operation(o) for o in row.operations if o in Operation.__members__.values()),
        note=row.note,
        granted_by=row.granted_by,
        granted_at=row.granted_at,
    )


def granted_operations(session: Session, organisation_ids: Collection[int]) -> frozenset[Operation]:
    if not organisation_ids:
        return frozenset()
    rows = session.execute(select(grant).where(grant.c.organisation_id.in_(sorted(organisation_ids)))).all()
    return frozenset(o for row in rows for o in _grant(row).operations)


def get_grant(session: Session, organisation_id: int) -> GrantRow | None:
    row = session.execute(select(grant).where(grant.c.organisation_id == organisation_id)).first()
    return _grant(row) if row is not None else None


def list_grants(session: Session, divisions: tuple[str, ...] | None) -> list[GrantRow]:
    query = select(grant).order_by(grant.c.division_code, grant.c.organisation_id)
    if divisions is not None:
        query = query.where(
            or_(false(), *(grant.c.division_code.startswith(division_prefix(d)) for d in divisions))
        )
    return [_grant(row) for row in session.execute(query).all()]


def save_grant(session: Session, g: GrantRow) -> None:
    values = {
        "division_code": g.division_code,
        "operations": [o.value for o in g.operations],
        "note": g.note,
        "granted_by": g.granted_by,
        "granted_at": g.granted_at,
    }
    changed = session.execute(
        update(grant).where(grant.c.organisation_id == g.organisation_id).values(**values)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        session.execute(insert(grant).values(organisation_id=g.organisation_id, **values))


def delete_grant(session: Session, organisation_id: int) -> bool:
    deleted = session.execute(delete(grant).where(grant.c.organisation_id == organisation_id))
    return bool(deleted.rowcount)  # type: ignore[attr-defined]
