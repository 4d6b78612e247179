"""Reads of the job and schedule tables, and the one write an operator makes: putting a job back in line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from wanshi.infra.tables import job, schedule
from wanshi.ops.domain import Job, JobState, Schedule, job_state


def _job(row: Any) -> Job:
    return Job(
        id=int(row.id),
        kind=row.kind,
        state=job_state(row.status, row.last_error),
        attempts=int(row.attempts),
        max_attempts=int(row.max_attempts),
        run_at=row.run_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
        last_error=row.last_error,
    )


def _state_filter(state: JobState) -> ColumnElement[bool]:
    if state is JobState.PENDING:
        return and_(job.c.status == "pending", job.c.last_error.is_(None))
    if state is JobState.RETRYING:
        return and_(job.c.status == "pending", job.c.last_error.is_not(None))
    return job.c.status == state.value


def list_jobs(
    session: Session, *, state: JobState | None, kind: str, limit: int, offset: int
) -> tuple[list[Job], int]:
    where = []
    if state is not None:
        where.append(_state_filter(state))
    if kind:
        where.append(job.c.kind == kind)
    total = session.execute(select(func.count()).select_from(job).where(*where)).scalar_one()
    rows = session.execute(
        select(job).where(*where).order_by(job.c.id.desc()).limit(limit).offset(offset)
    ).all()
    return [_job(r) for r in rows], int(total)


def count_by_state(session: Session) -> dict[JobState, int]:
    counts = dict.fromkeys(JobState, 0)
    rows = session.execute(
        select(job.c.status, job.c.last_error.is_not(None), func.count()).group_by(
            job.c.status, job.c.last_error.is_not(None)
        )
    ).all()
    for status, has_error, count in rows:
        counts[job_state(status, "error" if has_error else None)] += int(count)
    return counts


def get_job(session: Session, job_id: int) -> Job | None:
    row = session.execute(select(job).where(job.c.id == job_id)).first()
    return _job(row) if row else None


def requeue(session: Session, current: Job, now: datetime) -> bool:
    """Back to pending with a fresh attempt budget, unless a worker touched the job since it was read."""
    result = session.execute(
        update(job)
        .where(
            job.c.id == current.id,
            job.c.status == ("dead" if current.state is JobState.DEAD else "pending"),
            job.c.attempts == current.attempts,
        )
        .values(
            status="pending",
            attempts=0,
            run_at=now,
            last_error=None,
            finished_at=None,
            locked_by=None,
            locked_until=None,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def list_schedules(session: Session) -> list[Schedule]:
    rows = session.execute(select(schedule).order_by(schedule.c.name)).all()
    return [
        Schedule(
            name=r.name,
            kind=r.kind,
            interval_seconds=int(r.interval_seconds),
            next_run_at=r.next_run_at,
            enabled=bool(r.enabled),
        )
        for r in rows
    ]
