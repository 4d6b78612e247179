"""Persistence of divisions and organisations. Never commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, insert, or_, select, update
from sqlalchemy.orm import Session

from wanshi.kernel.actor import division_prefix
from wanshi.org.domain import Division, DivisionLevel, Organisation, OrganisationKind
from wanshi.org.tables import division, division_revision, organisation


def scope_filter(column: Any, scopes: Sequence[str] | None) -> ColumnElement[bool]:
    """Restrict a division-code column to the subtrees of the given scope codes (None: no restriction)."""
    if scopes is None:
        return column.is_not(None)  # type: ignore[no-any-return]
    if not scopes:
        return false()
    return or_(*(column.startswith(division_prefix(code)) for code in scopes))


def _division(row: Any) -> Division:
    return Division(row.code, row.name, DivisionLevel(row.level), row.parent_code)


def get_division(session: Session, code: str) -> Division | None:
    row = session.execute(select(division).where(division.c.code == code)).first()
    return _division(row) if row else None


def list_divisions(session: Session, *, parent_code: str | None, active_only: bool = True) -> list[Division]:
    stmt = select(division).order_by(division.c.code)
    stmt = stmt.where(
        division.c.parent_code.is_(None) if parent_code is None else division.c.parent_code == parent_code
    )
    if active_only:
        stmt = stmt.where(division.c.active.is_(True))
    return [_division(r) for r in session.execute(stmt)]


def divisions_at(session: Session, prefix: str, level: DivisionLevel) -> list[Division]:
    rows = session.execute(
        select(division)
        .where(
            division.c.code.startswith(prefix), division.c.level == level.value, division.c.active.is_(True)
        )
        .order_by(division.c.code)
    )
    return [_division(r) for r in rows]


def count_divisions(session: Session, prefix: str, level: DivisionLevel) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(division)
            .where(
                division.c.code.startswith(prefix),
                division.c.level == level.value,
                division.c.active.is_(True),
            )
        ).scalar_one()
    )


def current_revision(session: Session) -> Any:
    return session.execute(select(division_revision).order_by(division_revision.c.id.desc()).limit(1)).first()


def replace_divisions(
    session: Session,
    divisions: Iterable[Division],
    *,
    source: str,
    revision: str,
    loaded_by: str,
    at: datetime,
) -> tuple[int, int, int]:
    """Upsert the new table and deactivate codes it no longer has; returns (added, changed, retired)."""
    existing = {r.code: r for r in session.execute(select(division))}
    incoming = {d.code: d for d in divisions}
    added = changed = 0
    new_rows: list[dict[str, Any]] = []
    for code, d in incoming.items():
        values = {
            "name": d.name,
            "level": d.level.value,
            "parent_code": d.parent_code,
            "active": True,
            "revision": revision,
        }
        old = existing.get(code)
        if old is None:
            new_rows.append({"code": code, **values})
            added += 1
        elif (old.name, old.level, old.parent_code, old.active) != (
            d.name,
            d.level.value,
            d.parent_code,
            True,
        ):
            session.execute(update(division).where(division.c.code == code).values(**values))
            changed += 1
    # Parents first, so a child's parent_code always refers to a row that exists.
    new_rows.sort(key=lambda r: (r["code"][2:] != "0000", r["code"][4:] != "00", r["code"]))
    if new_rows:
        session.execute(insert(division), new_rows)
    retired = [code for code, row in existing.items() if code not in incoming and row.active]
    if retired:
        session.execute(update(division).where(division.c.code.in_(retired)).values(active=False))
    session.execute(
        insert(division_revision).values(
            source=source, revision=revision, division_count=len(incoming), loaded_by=loaded_by, loaded_at=at
        )
    )
    return added, changed, len(retired)


def _organisation(row: Any) -> Organisation:
    return Organisation(
        id=int(row.id),
        name=row.name,
        short_name=row.short_name,
        code=row.code,
        kind=OrganisationKind(row.kind),
        division_code=row.division_code,
        parent_id=row.parent_id,
        active=bool(row.active),
    )


def get_organisation(session: Session, organisation_id: int) -> Organisation | None:
    row = session.execute(select(organisation).where(organisation.c.id == organisation_id)).first()
    return _organisation(row) if row else None


def find_organisation(session: Session, division_code: str, name: str) -> Organisation | None:
    row = session.execute(
        select(organisation).where(organisation.c.division_code == division_code, organisation.c.name == name)
    ).first()
    return _organisation(row) if row else None


def find_organisation_by_code(session: Session, code: str) -> Organisation | None:
    row = session.execute(select(organisation).where(organisation.c.code == code)).first()
    return _organisation(row) if row else None


def add_organisation(session: Session, values: dict[str, Any]) -> int:
    return int(
        session.execute(insert(organisation).values(**values).returning(organisation.c.id)).scalar_one()
    )


def update_organisation(session: Session, organisation_id: int, values: dict[str, Any]) -> None:
    session.execute(update(organisation).where(organisation.c.id == organisation_id).values(**values))


def list_organisations(
    session: Session,
    *,
    scopes: Sequence[str] | None,
    division_code: str | None,
    q: str,
    limit: int,
    offset: int,
) -> tuple[list[Organisation], int]:
    where = [scope_filter(organisation.c.division_code, scopes)]
    if division_code:
        where.append(organisation.c.division_code.startswith(division_prefix(division_code)))
    if q:
        where.append(
            or_(
                organisation.c.name.contains(q),
                organisation.c.short_name.contains(q),
                organisation.c.code == q,
            )
        )
    total = session.execute(select(func.count()).select_from(organisation).where(*where)).scalar_one()
    rows = session.execute(
        select(organisation)
        .where(*where)
        .order_by(organisation.c.division_code, organisation.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [_organisation(r) for r in rows], int(total)
