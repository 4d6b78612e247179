"""Persistence of form records, versions and history. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from wanshi.forms.domain.records import EventKind, FormEvent, FormKind, FormRecord, FormVersion
from wanshi.forms.tables import event, record, version
from wanshi.kernel import clock

PAGE_MAX = 200


def _record(row: Any) -> FormRecord:
    return FormRecord(
        id=int(row.id),
        key=row.key,
        kind=FormKind(row.kind),
        organisation_id=int(row.organisation_id),
        division_code=row.division_code,
        title=row.title,
        draft=dict(row.draft),
        revision=int(row.revision),
        latest_version=row.latest_version,
        draft_changed=bool(row.draft_changed),
        archived=bool(row.archived),
        created_by=row.created_by,
        created_at=clock.as_utc(row.created_at),
        updated_by=row.updated_by,
        updated_at=clock.as_utc(row.updated_at),
    )


def add_record(session: Session, new: FormRecord) -> int:
    values = {
        "key": new.key,
        "kind": new.kind.value,
        "organisation_id": new.organisation_id,
        "division_code": new.division_code,
        "title": new.title,
        "draft": new.draft,
        "revision": new.revision,
        "latest_version": new.latest_version,
        "draft_changed": int(new.draft_changed),
        "archived": int(new.archived),
        "created_by": new.created_by,
        "created_at": new.created_at,
        "updated_by": new.updated_by,
        "updated_at": new.updated_at,
    }
    return int(session.execute(insert(record).values(**values).returning(record.c.id)).scalar_one())


def get_record(session: Session, record_id: int) -> FormRecord | None:
    row = session.execute(select(record).where(record.c.id == record_id)).first()
    return _record(row) if row else None


def get_record_by_key(session: Session, key: str) -> FormRecord | None:
    row = session.execute(select(record).where(record.c.key == key)).first()
    return _record(row) if row else None


def key_taken(session: Session, key: str) -> bool:
    return session.execute(select(record.c.id).where(record.c.key == key)).first() is not None


def save_record(session: Session, changed: FormRecord, *, expected_revision: int) -> bool:
    """Write the record if nobody saved since ``expected_revision``; False when somebody did."""
    stmt = (
        update(record)
        .where(and_(record.c.id == changed.id, record.c.revision == expected_revision))
        .values(
            title=changed.title,
            draft=changed.draft,
            revision=changed.revision,
            latest_version=changed.latest_version,
            draft_changed=int(changed.draft_changed),
            archived=int(changed.archived),
            updated_by=changed.updated_by,
            updated_at=changed.updated_at,
        )
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def add_version(session: Session, new: FormVersion, division_code: str) -> None:
    session.execute(
        insert(version).values(
            record_id=new.record_id,
            number=new.number,
            division_code=division_code,
            document=new.document,
            note=new.note,
            published_by=new.published_by,
            published_at=new.published_at,
        )
    )


def get_version(
    session: Session, key: str, number: int | None, *, include_archived: bool = True
) -> FormVersion | None:
    """A published version by number, or the latest one; of an archived record only when asked."""
    stmt = (
        select(version, record.c.key)
        .join(record, record.c.id == version.c.record_id)
        .where(record.c.key == key)
    )
    stmt = stmt.where(version.c.number == (number if number is not None else record.c.latest_version))
    if not include_archived:
        stmt = stmt.where(record.c.archived == 0)
    row = session.execute(stmt).first()
    if row is None:
        return None
    return FormVersion(
        record_id=int(row.record_id),
        key=row.key,
        division_code=row.division_code,
        number=int(row.number),
        document=dict(row.document),
        note=row.note,
        published_by=row.published_by,
        published_at=clock.as_utc(row.published_at),
    )


def list_versions(session: Session, record_id: int) -> list[tuple[int, str, str, Any]]:
    """(number, note, published_by, published_at), newest first."""
    stmt = (
        select(version.c.number, version.c.note, version.c.published_by, version.c.published_at)
        .where(version.c.record_id == record_id)
        .order_by(version.c.number.desc())
    )
    return [
        (int(r.number), r.note, r.published_by, clock.as_utc(r.published_at)) for r in session.execute(stmt)
    ]


def add_event(session: Session, record_id: int, division_code: str, entry: FormEvent) -> None:
    session.execute(
        insert(event).values(
            record_id=record_id,
            division_code=division_code,
            kind=entry.kind.value,
            revision=entry.revision,
            version=entry.version,
            note=entry.note,
            actor=entry.actor,
            at=entry.at,
        )
    )


def list_events(session: Session, record_id: int, limit: int = 50) -> list[FormEvent]:
    stmt = select(event).where(event.c.record_id == record_id).order_by(event.c.id.desc()).limit(limit)
    return [
        FormEvent(EventKind(r.kind), int(r.revision), r.version, r.note, r.actor, clock.as_utc(r.at))
        for r in session.execute(stmt)
    ]


def list_records(
    session: Session,
    *,
    kinds: Sequence[FormKind],
    own_organisations: frozenset[int] | None,
    shared_published: bool,
    q: str = "",
    include_archived: bool = False,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[FormRecord], int]:
    """Records of the given kinds: the actor's own organisations' (None: all), plus, when asked, every
    published fragment and template (they are there to be shared)."""
    own = (
        record.c.organisation_id.in_(own_organisations)
        if own_organisations is not None
        else record.c.id.is_not(None)
    )
    shared = and_(record.c.kind != FormKind.FORM.value, record.c.latest_version.is_not(None))
    stmt = select(record).where(record.c.kind.in_([k.value for k in kinds]))
    stmt = stmt.where(or_(own, shared) if shared_published else own)
    if not include_archived:
        stmt = stmt.where(record.c.archived == 0)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(record.c.title.like(like), record.c.key.like(like)))
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    rows = session.execute(
        stmt.order_by(record.c.updated_at.desc(), record.c.id.desc()).offset(offset).limit(limit)
    )
    return [_record(r) for r in rows], total
