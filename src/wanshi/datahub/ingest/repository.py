"""Persistence of loads, watermarks, pushed batches and pull schedules. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, insert, or_, select, true, update
from sqlalchemy.orm import Session

from wanshi.datahub.ingest.domain import (
    Load,
    LoadCounts,
    LoadScope,
    LoadStatus,
    PullSchedule,
    SourceFormat,
)
from wanshi.datahub.ingest.tables import load, pull_schedule, push, watermark
from wanshi.kernel import clock
from wanshi.org.api import scope_filter


def _load(row: Any) -> Load:
    return Load(
        id=int(row.id),
        dataset=row.dataset,
        source=row.source,
        format=SourceFormat(row.format),
        content_hash=row.content_hash,
        load_key=row.load_key,
        encoding=row.encoding,
        status=LoadStatus(row.status),
        counts=LoadCounts(
            read=int(row.rows_read),
            stored=int(row.rows_stored),
            quarantined=int(row.rows_quarantined),
            duplicate=int(row.rows_duplicate),
            chunks=int(row.chunks),
        ),
        started_at=clock.as_utc(row.started_at),
        finished_at=None if row.finished_at is None else clock.as_utc(row.finished_at),
        created_by=row.created_by,
        error=row.error,
        resource_code=row.resource_code,
        organisation_id=None if row.organisation_id is None else int(row.organisation_id),
        division_code=row.division_code,
    )


def get_by_key(session: Session, key: str, *, lock: bool = False) -> Load | None:
    stmt = select(load).where(load.c.load_key == key)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return _load(row) if row else None


def unfinished(session: Session, dataset: str, content_hash: str) -> Load | None:
    row = session.execute(
        select(load)
        .where(
            load.c.dataset == dataset,
            load.c.content_hash == content_hash,
            load.c.status != LoadStatus.COMPLETE.value,
        )
        .order_by(load.c.id.desc())
        .limit(1)
    ).first()
    return _load(row) if row else None


def get(session: Session, load_id: int) -> Load | None:
    row = session.execute(select(load).where(load.c.id == load_id)).first()
    return _load(row) if row else None


def _visible(scope: LoadScope) -> ColumnElement[bool]:
    if scope.everything:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if scope.organisations:
        clauses.append(load.c.organisation_id.in_(sorted(scope.organisations)))
    if scope.divisions:
        clauses.append(and_(load.c.division_code != "", scope_filter(load.c.division_code, scope.divisions)))
    if scope.unowned:
        clauses.append(and_(load.c.division_code == "", load.c.organisation_id.is_(None)))
    return or_(*clauses) if clauses else false()


def list_loads(
    session: Session,
    scope: LoadScope,
    dataset: str | None,
    limit: int,
    offset: int,
    status: LoadStatus | None = None,
) -> tuple[list[Load], int]:
    where = [_visible(scope)]
    if dataset:
        where.append(load.c.dataset == dataset)
    if status is not None:
        where.append(load.c.status == status.value)
    total = session.execute(select(func.count()).select_from(load).where(*where)).scalar_one()
    stmt = (
        select(load)
        .where(*where)
        .order_by(load.c.started_at.desc(), load.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_load(r) for r in session.execute(stmt)], int(total)


def record_progress(session: Session, load_id: int, counts: LoadCounts) -> None:
    """Counts so far of a running load, for the console's progress display."""
    session.execute(
        update(load)
        .where(load.c.id == load_id, load.c.status == LoadStatus.RUNNING.value)
        .values(
            rows_read=counts.read,
            rows_stored=counts.stored,
            rows_quarantined=counts.quarantined,
            rows_duplicate=counts.duplicate,
            chunks=counts.chunks,
        )
    )


def add(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(load).values(**values).returning(load.c.id)).scalar_one())


def restart(session: Session, load_id: int, source: str, encoding: str) -> None:
    session.execute(
        update(load)
        .where(load.c.id == load_id)
        .values(
            status=LoadStatus.RUNNING.value,
            source=source[:500],
            encoding=encoding,
            error="",
            finished_at=None,
        )
    )


def finish(
    session: Session, load_id: int, status: LoadStatus, counts: LoadCounts, at: datetime, error: str = ""
) -> None:
    session.execute(
        update(load)
        .where(load.c.id == load_id)
        .values(
            status=status.value,
            rows_read=counts.read,
            rows_stored=counts.stored,
            rows_quarantined=counts.quarantined,
            rows_duplicate=counts.duplicate,
            chunks=counts.chunks,
            error=error,
            finished_at=at,
        )
    )


def get_watermark(session: Session, source_key: str) -> str | None:
    value = session.execute(select(watermark.c.value).where(watermark.c.source_key == source_key)).scalar()
    return None if value is None else str(value)


def set_watermark(
    session: Session, source_key: str, dataset: str, column: str, value: str, at: datetime
) -> None:
    if get_watermark(session, source_key) is None:
        session.execute(
            insert(watermark).values(
                source_key=source_key, dataset=dataset, column_name=column, value=value, updated_at=at
            )
        )
    else:
        session.execute(
            update(watermark).where(watermark.c.source_key == source_key).values(value=value, updated_at=at)
        )


def get_push(session: Session, dataset: str, key: str) -> tuple[str, int] | None:
    row = session.execute(
        select(push.c.content_hash, push.c.load_id).where(
            push.c.dataset == dataset, push.c.idempotency_key == key
        )
    ).first()
    return None if row is None else (str(row.content_hash), int(row.load_id))


def add_push(session: Session, dataset: str, key: str, content_hash: str, load_id: int, at: datetime) -> None:
    session.execute(
        insert(push).values(
            dataset=dataset, idempotency_key=key, content_hash=content_hash, load_id=load_id, created_at=at
        )
    )


# --- pull schedules ---------------------------------------------------------------------------------------
def _schedule(row: Any) -> PullSchedule:
    return PullSchedule(
        id=int(row.id),
        resource_code=row.resource_code,
        dataset=row.dataset,
        watermark_column=row.watermark_column,
        interval_seconds=int(row.interval_seconds),
        enabled=bool(row.enabled),
        next_run_at=clock.as_utc(row.next_run_at),
        organisation_id=int(row.organisation_id),
        division_code=row.division_code,
        created_by=row.created_by,
        last_run_at=None if row.last_run_at is None else clock.as_utc(row.last_run_at),
        last_load_id=None if row.last_load_id is None else int(row.last_load_id),
        last_status=row.last_status,
        last_error=row.last_error,
    )


def get_schedule(session: Session, schedule_id: int, *, lock: bool = False) -> PullSchedule | None:
    stmt = select(pull_schedule).where(pull_schedule.c.id == schedule_id)
    if lock:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return _schedule(row) if row else None


def find_schedule(session: Session, resource_code: str) -> PullSchedule | None:
    row = session.execute(select(pull_schedule).where(pull_schedule.c.resource_code == resource_code)).first()
    return _schedule(row) if row else None


def save_schedule(session: Session, s: PullSchedule, at: datetime) -> int:
    values = {
        "resource_code": s.resource_code,
        "dataset": s.dataset,
        "watermark_column": s.watermark_column,
        "interval_seconds": s.interval_seconds,
        "enabled": s.enabled,
        "next_run_at": s.next_run_at,
        "organisation_id": s.organisation_id,
        "division_code": s.division_code,
        "updated_at": at,
    }
    if s.id:
        session.execute(update(pull_schedule).where(pull_schedule.c.id == s.id).values(**values))
        return s.id
    stmt = (
        insert(pull_schedule)
        .values(**values, created_by=s.created_by, created_at=at)
        .returning(pull_schedule.c.id)
    )
    return int(session.execute(stmt).scalar_one())


def list_schedules(session: Session, scope: LoadScope) -> list[PullSchedule]:
    stmt = select(pull_schedule).order_by(pull_schedule.c.resource_code)
    if not scope.everything:
        clauses: list[ColumnElement[bool]] = []
        if scope.organisations:
            clauses.append(pull_schedule.c.organisation_id.in_(sorted(scope.organisations)))
        if scope.divisions:
            clauses.append(scope_filter(pull_schedule.c.division_code, scope.divisions))
        stmt = stmt.where(or_(*clauses) if clauses else false())
    return [_schedule(r) for r in session.execute(stmt)]


def due_schedules(session: Session, now: datetime) -> list[PullSchedule]:
    rows = session.execute(
        select(pull_schedule)
        .where(pull_schedule.c.enabled.is_(True), pull_schedule.c.next_run_at <= now)
        .order_by(pull_schedule.c.id)
        .with_for_update(skip_locked=True)
    )
    return [_schedule(r) for r in rows]


def set_next_run(session: Session, schedule_id: int, at: datetime) -> None:
    session.execute(update(pull_schedule).where(pull_schedule.c.id == schedule_id).values(next_run_at=at))


def record_run(
    session: Session, schedule_id: int, at: datetime, status: str, load_id: int | None, error: str
) -> None:
    values: dict[str, Any] = {"last_run_at": at, "last_status": status, "last_error": error}
    if load_id is not None:
        values["last_load_id"] = load_id
    session.execute(update(pull_schedule).where(pull_schedule.c.id == schedule_id).values(**values))
