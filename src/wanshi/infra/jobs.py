"""Durable background work: the outbox relay, scheduled jobs and the job runner.

Delivery is at-least-once. A job's database effect commits in the same transaction that marks the job
done, and only while this worker still holds the job's lease, so database effects happen exactly once;
handlers with effects outside the database must be idempotent (use the job id as the key).
PostgreSQL runs many workers (FOR UPDATE SKIP LOCKED); SQLite runs one (writes are serialised).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from wanshi.infra.context import RequestContext, new_request_id, reset_request, set_request
from wanshi.infra.tables import job, outbox_event, schedule
from wanshi.infra.uow import JobRequest, UnitOfWork, insert_job
from wanshi.kernel import clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobContext:
    job_id: int
    kind: str
    attempt: int


Handler = Callable[[UnitOfWork, dict[str, Any], JobContext], None]


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    kind: str
    interval_seconds: int


@dataclass
class JobRegistry:
    """What each job kind does, which events feed which kinds, and what runs on a timer."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    subscriptions: dict[str, list[str]] = field(default_factory=dict)
    schedules: dict[str, ScheduleSpec] = field(default_factory=dict)

    def handler(self, kind: str, fn: Handler) -> None:
        if kind in self.handlers:
            raise ValueError(f"job kind {kind!r} registered twice")
        self.handlers[kind] = fn

    def subscribe(self, event_type: str, kind: str) -> None:
        self.subscriptions.setdefault(event_type, []).append(kind)

    def every(self, name: str, kind: str, interval_seconds: int) -> None:
        self.schedules[name] = ScheduleSpec(name, kind, interval_seconds)


@dataclass(frozen=True)
class WorkerConfig:
    max_attempts: int = 8
    backoff_base_seconds: float = 2.0
    backoff_max_seconds: float = 3600.0
    lease_seconds: int = 300
    poll_seconds: float = 1.0


def backoff_delay(attempts: int, config: WorkerConfig) -> float:
    """Exponential backoff with ±10 % jitter so a burst of failures does not retry in lockstep."""
    delay = min(config.backoff_base_seconds * 2 ** max(attempts - 1, 0), config.backoff_max_seconds)
    return float(delay * random.uniform(0.9, 1.1))  # noqa: S311 - jitter, not security


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


class Worker:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        registry: JobRegistry,
        config: WorkerConfig,
        worker_id: str | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.registry = registry
        self.config = config
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, default_max_attempts=self.config.max_attempts)

    # --- outbox relay and schedules -------------------------------------------------------------------
    def relay_events(self, limit: int = 500) -> int:
        with self.uow() as uow:
            rows = uow.session.execute(
                select(outbox_event)
                .where(outbox_event.c.dispatched_at.is_(None))
                .order_by(outbox_event.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            now = clock.now()
            for row in rows:
                for kind in self.registry.subscriptions.get(row.event_type, []):
                    payload = {"event_id": row.id, "event_type": row.event_type, **row.payload}
                    insert_job(
                        uow.session,
                        JobRequest(kind, payload, f"event:{row.id}:{kind}"),
                        now,
                        self.config.max_attempts,
                    )
            if rows:
                uow.session.execute(
                    update(outbox_event)
                    .where(outbox_event.c.id.in_([r.id for r in rows]))
                    .values(dispatched_at=now)
                )
            uow.commit()
            return len(rows)

    def sync_schedules(self) -> None:
        with self.uow() as uow:
            existing = {r.name: r for r in uow.session.execute(select(schedule)).all()}
            now = clock.now()
            for spec in self.registry.schedules.values():
                if spec.name not in existing:
                    uow.session.execute(
                        schedule.insert().values(
                            name=spec.name,
                            kind=spec.kind,
                            interval_seconds=spec.interval_seconds,
                            next_run_at=now,
                        )
                    )
                elif (existing[spec.name].kind, existing[spec.name].interval_seconds) != (
                    spec.kind,
                    spec.interval_seconds,
                ):
                    uow.session.execute(
                        update(schedule)
                        .where(schedule.c.name == spec.name)
                        .values(kind=spec.kind, interval_seconds=spec.interval_seconds)
                    )
            uow.commit()

    def enqueue_due_schedules(self) -> int:
        with self.uow() as uow:
            now = clock.now()
            due = uow.session.execute(
                select(schedule)
                .where(schedule.c.enabled == 1, schedule.c.next_run_at <= now)
                .with_for_update(skip_locked=True)
            ).all()
            for row in due:
                slot = clock.as_utc(row.next_run_at)
                insert_job(
                    uow.session,
                    JobRequest(
                        row.kind,
                        {"schedule": row.name, "slot": slot.isoformat()},
                        f"schedule:{row.name}:{slot.isoformat()}",
                    ),
                    now,
                    self.config.max_attempts,
                )
                # A worker that was down skips the missed slots instead of firing them all at once.
                interval = timedelta(seconds=row.interval_seconds)
                next_at = slot + interval
                if next_at <= now:
                    next_at = now + interval
                uow.session.execute(
                    update(schedule).where(schedule.c.name == row.name).values(next_run_at=next_at)
                )
            uow.commit()
            return len(due)

    # --- jobs -----------------------------------------------------------------------------------------
    def claim(self) -> ClaimedJob | None:
        with self.uow() as uow:
            now = clock.now()
            ready = or_(
                and_(job.c.status == "pending", job.c.run_at <= now),
                and_(job.c.status == "running", job.c.locked_until < now),
            )
            candidate = (
                select(job.c.id)
                .where(ready)
                .order_by(job.c.run_at, job.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            row = uow.session.execute(
                update(job)
                .where(job.c.id == candidate)
                .values(
                    status="running",
                    locked_by=self.worker_id,
                    locked_until=now + timedelta(seconds=self.config.lease_seconds),
                    attempts=job.c.attempts + 1,
                )
                .returning(job.c.id, job.c.kind, job.c.payload, job.c.attempts, job.c.max_attempts)
            ).first()
            uow.commit()
        if row is None:
            return None
        return ClaimedJob(int(row.id), row.kind, dict(row.payload), int(row.attempts), int(row.max_attempts))

    def execute(self, claimed: ClaimedJob) -> bool:
        """Run one claimed job; returns True when it completed."""
        token = set_request(RequestContext(request_id=new_request_id(), channel="worker"))
        try:
            if claimed.attempts > claimed.max_attempts:
                self._fail(claimed, "attempts exhausted (worker died while running it)", dead=True)
                return False
            handler = self.registry.handlers.get(claimed.kind)
            if handler is None:
                self._fail(claimed, f"no handler registered for job kind {claimed.kind!r}", dead=True)
                return False
            try:
                with self.uow() as uow:
                    handler(uow, claimed.payload, JobContext(claimed.id, claimed.kind, claimed.attempts))
                    done = uow.session.execute(
                        update(job)
                        .where(
                            job.c.id == claimed.id,
                            job.c.locked_by == self.worker_id,
                            job.c.status == "running",
                        )
                        .values(status="done", finished_at=clock.now(), locked_by=None, locked_until=None)
                    )
                    if done.rowcount != 1:  # type: ignore[attr-defined]
                        log.warning(
                            "job %s lost its lease before completing; its work is rolled back", claimed.id
                        )
                        return False
                    uow.commit()
                    return True
            except Exception as exc:
                log.exception("job %s (%s) failed on attempt %s", claimed.id, claimed.kind, claimed.attempts)
                self._fail(
                    claimed, f"{type(exc).__name__}: {exc}", dead=claimed.attempts >= claimed.max_attempts
                )
                return False
        finally:
            reset_request(token)

    def _fail(self, claimed: ClaimedJob, error: str, *, dead: bool) -> None:
        with self.uow() as uow:
            now = clock.now()
            uow.session.execute(
                update(job)
                .where(job.c.id == claimed.id, job.c.locked_by == self.worker_id)
                .values(
                    status="dead" if dead else "pending",
                    run_at=now + timedelta(seconds=backoff_delay(claimed.attempts, self.config)),
                    last_error=error[:4000],
                    locked_by=None,
                    locked_until=None,
                    finished_at=now if dead else None,
                )
            )
            uow.commit()

    def run_once(self, max_jobs: int = 100) -> int:
        """Relay, fire due schedules, then run up to max_jobs ready jobs; returns how many ran."""
        self.relay_events()
        self.enqueue_due_schedules()
        ran = 0
        while ran < max_jobs:
            claimed = self.claim()
            if claimed is None:
                break
            self.execute(claimed)
            ran += 1
        return ran

    def run_until_idle(self, max_rounds: int = 1000) -> int:
        total = 0
        for _ in range(max_rounds):
            ran = self.run_once()
            total += ran
            if ran == 0 and self.relay_events() == 0:
                break
        return total

    def run_forever(self, stop: threading.Event) -> None:
        self.sync_schedules()
        while not stop.is_set():
            try:
                ran = self.run_once()
            except Exception:
                log.exception("worker loop error; retrying after the poll interval")
                ran = 0
            if ran == 0:
                stop.wait(self.config.poll_seconds)
