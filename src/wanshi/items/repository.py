"""Persistence of catalogue records, their versions and their history. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from wanshi.items.domain.documents import RecordKind
from wanshi.items.domain.records import EventKind, HistoryEntry, Record, RecordState, Version, VersionStatus
from wanshi.items.tables import event, record, version
from wanshi.kernel import clock
from wanshi.org.api import scope_filter


def _utc(value: Any) -> Any:
    return clock.as_utc(value) if value is not None else None


@dataclass(frozen=True)
class Columns:
    """What the record row copies from the version readers see, to browse and filter without the JSON."""

    name: str
    item_type: str = ""
    audience: str = ""


def _record(row: Any) -> Record:
    return Record(
        id=int(row.id),
        kind=RecordKind(row.kind),
        code=row.code,
        basic_code=row.basic_code,
        organisation_id=int(row.organisation_id),
        division_code=row.division_code,
        state=RecordState(row.state),
        published_version=row.published_version,
        working_version=row.working_version,
        name=row.name,
        created_by=row.created_by,
        created_at=clock.as_utc(row.created_at),
        updated_at=clock.as_utc(row.updated_at),
        lock=int(row.lock),
        withdrawn_reason=row.withdrawn_reason,
    )


def _record_values(r: Record, shown: Columns) -> dict[str, Any]:
    return {
        "kind": r.kind.value,
        "code": r.code,
        "basic_code": r.basic_code,
        "organisation_id": r.organisation_id,
        "division_code": r.division_code,
        "state": r.state.value,
        "published_version": r.published_version,
        "working_version": r.working_version,
        "name": shown.name,
        "item_type": shown.item_type,
        "audience": shown.audience,
        "withdrawn_reason": r.withdrawn_reason,
        "created_by": r.created_by,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "lock": r.lock,
    }


def add_record(session: Session, new: Record, shown: Columns) -> int:
    stmt = insert(record).values(**_record_values(new, shown)).returning(record.c.id)
    return int(session.execute(stmt).scalar_one())


def get_record(session: Session, record_id: int, *, for_update: bool = False) -> Record | None:
    stmt = select(record).where(record.c.id == record_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return _record(row) if row else None


def find_by_code(session: Session, code: str, *, for_update: bool = False) -> Record | None:
    stmt = select(record).where(record.c.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return _record(row) if row else None


def save_record(session: Session, changed: Record, shown: Columns) -> bool:
    """Write unless someone changed the record since it was read; returns whether it was written."""
    values = _record_values(changed, shown)
    values["lock"] = changed.lock + 1
    result = session.execute(
        update(record).where(record.c.id == changed.id, record.c.lock == changed.lock).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def implementations_of(session: Session, basic_code: str) -> list[Record]:
    stmt = (
        select(record)
        .where(record.c.kind == RecordKind.IMPLEMENTATION.value, record.c.basic_code == basic_code)
        .order_by(record.c.code)
    )
    return [_record(r) for r in session.execute(stmt)]


# --- versions ---------------------------------------------------------------------------------------------
def _version(row: Any) -> Version:
    return Version(
        record_id=int(row.record_id),
        number=int(row.number),
        status=VersionStatus(row.status),
        document=dict(row.document),
        created_by=row.created_by,
        created_at=clock.as_utc(row.created_at),
        updated_at=clock.as_utc(row.updated_at),
        submitted_at=_utc(row.submitted_at),
        reviewed_by=row.reviewed_by,
        reviewed_at=_utc(row.reviewed_at),
        review_note=row.review_note,
    )


def _version_values(v: Version) -> dict[str, Any]:
    return {
        "status": v.status.value,
        "document": v.document,
        "updated_at": v.updated_at,
        "submitted_at": v.submitted_at,
        "reviewed_by": v.reviewed_by,
        "reviewed_at": v.reviewed_at,
        "review_note": v.review_note,
    }


def add_version(session: Session, new: Version, division_code: str) -> None:
    session.execute(
        insert(version).values(
            record_id=new.record_id,
            number=new.number,
            division_code=division_code,
            created_by=new.created_by,
            created_at=new.created_at,
            **_version_values(new),
        )
    )


def save_version(session: Session, changed: Version) -> None:
    session.execute(
        update(version)
        .where(version.c.record_id == changed.record_id, version.c.number == changed.number)
        .values(**_version_values(changed))
    )


def get_version(session: Session, record_id: int, number: int) -> Version | None:
    row = session.execute(
        select(version).where(version.c.record_id == record_id, version.c.number == number)
    ).first()
    return _version(row) if row else None


def list_versions(session: Session, record_id: int) -> list[Version]:
    stmt = select(version).where(version.c.record_id == record_id).order_by(version.c.number)
    return [_version(r) for r in session.execute(stmt)]


def published(
    session: Session, kind: RecordKind, *, codes: Sequence[str] | None = None
) -> list[tuple[Record, Version]]:
    """Published records of a kind with the versions readers see, in code order."""
    stmt = (
        select(record, version)
        .join(
            version,
            and_(version.c.record_id == record.c.id, version.c.number == record.c.published_version),
        )
        .where(record.c.kind == kind.value, record.c.state == RecordState.PUBLISHED.value)
        .order_by(record.c.code)
    )
    if codes is not None:
        stmt = stmt.where(record.c.code.in_(list(codes)))
    out = []
    for row in session.execute(stmt):
        m = row._mapping
        r = _record(_Row(m, record))
        v = _version(_Row(m, version))
        out.append((r, v))
    return out


class _Row:
    """The columns of one table out of a joined row (both tables have ``id`` and ``division_code``)."""

    def __init__(self, mapping: Any, table: Any) -> None:
        self._values = {c.name: mapping[c] for c in table.c}

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


# --- history ----------------------------------------------------------------------------------------------
def add_history(
    session: Session, entry: HistoryEntry, division_code: str, actor_kind: str, actor_user_id: int | None
) -> int:
    stmt = (
        insert(event)
        .values(
            record_id=entry.record_id,
            version_number=entry.version_number,
            division_code=division_code,
            kind=entry.kind.value,
            from_state=entry.from_state,
            to_state=entry.to_state,
            actor=entry.actor,
            actor_kind=actor_kind,
            actor_user_id=actor_user_id,
            note=entry.note,
            detail=entry.detail,
            occurred_at=entry.occurred_at,
        )
        .returning(event.c.id)
    )
    return int(session.execute(stmt).scalar_one())


def list_history(session: Session, record_id: int) -> list[HistoryEntry]:
    stmt = select(event).where(event.c.record_id == record_id).order_by(event.c.id)
    return [
        HistoryEntry(
            id=int(r.id),
            record_id=int(r.record_id),
            version_number=r.version_number,
            kind=EventKind(r.kind),
            from_state=r.from_state,
            to_state=r.to_state,
            actor=r.actor,
            note=r.note,
            detail=dict(r.detail),
            occurred_at=clock.as_utc(r.occurred_at),
        )
        for r in session.execute(stmt)
    ]


# How far before the last mark a refresh looks again. History ids are allocated before commit, so on
# PostgreSQL a publication can become visible after one with a higher id; it still lies within this many ids.
LOOK_BACK = 500


def publication_mark(session: Session) -> tuple[int, int]:
    """(last id, count) of the publications and withdrawals in the history: it moves whenever what readers see
    changes, including when a transaction with a lower id commits after a higher one. Caches key on it."""
    stmt = select(func.max(event.c.id), func.count()).where(
        event.c.kind.in_([EventKind.PUBLISHED.value, EventKind.WITHDRAWN.value])
    )
    last, count = session.execute(stmt).one()
    return int(last or 0), int(count)


def changed_since(session: Session, mark: tuple[int, int]) -> list[tuple[Record, Version | None]]:
    """Records published or withdrawn since the publication mark ``mark`` (and within LOOK_BACK before it),
    each with the version readers now see (None: withdrawn)."""
    ids = select(event.c.record_id).where(
        event.c.id > mark[0] - LOOK_BACK,
        event.c.kind.in_([EventKind.PUBLISHED.value, EventKind.WITHDRAWN.value]),
    )
    out: list[tuple[Record, Version | None]] = []
    for row in session.execute(select(record).where(record.c.id.in_(ids))):
        r = _record(row)
        shown = None
        if r.state is RecordState.PUBLISHED and r.published_version is not None:
            shown = get_version(session, r.id, r.published_version)
        out.append((r, shown))
    return out


# --- the staff's list -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visibility:
    """Published records for every reader; others for their organisation's staff and the reviewers over
    them. ``review_scopes`` None means every record (the system itself)."""

    organisations: frozenset[int]
    review_scopes: Sequence[str] | None

    def clause(self) -> ColumnElement[bool]:
        if self.review_scopes is None:
            return record.c.id.is_not(None)
        return or_(
            record.c.state.in_([RecordState.PUBLISHED.value, RecordState.WITHDRAWN.value]),
            record.c.organisation_id.in_(sorted(self.organisations)),
            scope_filter(record.c.division_code, self.review_scopes),
        )


@dataclass(frozen=True)
class Filters:
    q: str = ""
    kind: RecordKind | None = None
    organisation_id: int | None = None
    division_code: str = ""  # a division and everything within it
    item_type: str = ""
    state: RecordState | None = None
    basic_code: str = ""


def _where(visibility: Visibility, filters: Filters) -> list[ColumnElement[bool]]:
    where = [visibility.clause()]
    if filters.q:
        where.append(or_(record.c.name.contains(filters.q), record.c.code.startswith(filters.q.upper())))
    if filters.kind is not None:
        where.append(record.c.kind == filters.kind.value)
    if filters.organisation_id is not None:
        where.append(record.c.organisation_id == filters.organisation_id)
    if filters.division_code:
        where.append(scope_filter(record.c.division_code, [filters.division_code]))
    if filters.item_type:
        where.append(record.c.item_type == filters.item_type)
    if filters.state is not None:
        where.append(record.c.state == filters.state.value)
    if filters.basic_code:
        where.append(record.c.basic_code == filters.basic_code)
    return where


def search(
    session: Session, visibility: Visibility, filters: Filters, *, limit: int | None, offset: int
) -> tuple[list[Record], int]:
    where = _where(visibility, filters)
    total = session.execute(select(func.count()).select_from(record).where(*where)).scalar_one()
    stmt = select(record).where(*where).order_by(record.c.kind, record.c.code).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_record(r) for r in session.execute(stmt)], int(total)
