"""Persistence of loads, watermarks and pushed batches. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from wanshi.datahub.ingest.domain import Load, LoadCounts, LoadStatus, SourceFormat
from wanshi.datahub.ingest.tables import load, push, watermark
from wanshi.kernel import clock


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


def list_loads(session: Session, dataset: str | None, limit: int, offset: int) -> list[Load]:
    stmt = select(load).order_by(load.c.started_at.desc(), load.c.id.desc()).limit(limit).offset(offset)
    if dataset:
        stmt = stmt.where(load.c.dataset == dataset)
    return [_load(r) for r in session.execute(stmt)]


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
