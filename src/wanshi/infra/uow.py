"""Unit of work: one transaction that carries the change, its outbox events, its jobs and its audit entries.

Services own the transaction (ARCHITECTURE rule 3): they call ``uow.commit()``; repositories never commit.
Events, jobs and audit entries are written only when the change itself commits, so they can neither be
lost nor outlive a rolled-back change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from wanshi.infra import audit
from wanshi.infra.context import current_request
from wanshi.infra.tables import job, outbox_event
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import PermissionDenied
from wanshi.kernel.events import Event


@dataclass(frozen=True)
class JobRequest:
    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    run_at: datetime | None = None
    max_attempts: int | None = None


class UnitOfWork:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        default_max_attempts: int = 8,
        refusals_to: sessionmaker[Session] | None = None,
    ) -> None:
        """``refusals_to``: given for a read-only unit of work (its sessions cannot write), the sessions in
        which a refusal is audited; such a unit of work never commits."""
        self._session_factory = session_factory
        self._refusals_to = refusals_to
        self._default_max_attempts = default_max_attempts
        self._session: Session | None = None
        self._events: list[Event] = []
        self._jobs: list[JobRequest] = []
        self._audit: list[audit.AuditRecord] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its 'with' block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._session_factory()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.rollback()
        finally:
            self.session.close()
            self._session = None

    def emit(self, event: Event) -> None:
        self._events.append(event)

    def enqueue(self, request: JobRequest) -> None:
        self._jobs.append(request)

    def audit(
        self,
        actor: Actor,
        action: str,
        *,
        object_type: str = "",
        object_id: str | int = "",
        tenant: str = "",
        outcome: str = "success",
        detail: dict[str, Any] | None = None,
    ) -> None:
        self._audit.append(build_audit_record(actor, action, object_type, object_id, tenant, outcome, detail))

    def authorize(
        self, allowed: bool, actor: Actor, action: str, *, object_type: str = "", object_id: str | int = ""
    ) -> None:
        """Raise PermissionDenied unless allowed; every refusal is itself audited (等保 安全审计).

        A refusal ends the use case: its pending work is rolled back and the refusal alone is committed
        (a second transaction would deadlock against this one's write lock on SQLite).
        """
        if allowed:
            return
        self.rollback()
        refusal = [build_audit_record(actor, action, object_type, object_id, outcome="denied")]
        if self._refusals_to is not None:
            with self._refusals_to() as session:
                audit.append(session, refusal, clock.now())
                session.commit()
            raise PermissionDenied()
        audit.append(self.session, refusal, clock.now())
        self.session.commit()
        raise PermissionDenied()

    def commit(self) -> None:
        if self._refusals_to is not None:
            raise RuntimeError("a read-only unit of work cannot commit: use platform.uow() for changes")
        now = clock.now()
        self._flush_outbox(now)
        self._flush_jobs(now)
        # Last before commit: the audit head lock is then held for the shortest time.
        audit.append(self.session, self._audit, now)
        self.session.commit()
        self._events, self._jobs, self._audit = [], [], []

    def rollback(self) -> None:
        self._events, self._jobs, self._audit = [], [], []
        if self._session is not None:
            self._session.rollback()

    def _flush_outbox(self, now: datetime) -> None:
        if not self._events:
            return
        request_id = current_request().request_id
        self.session.execute(
            insert(outbox_event),
            [
                {"event_type": e.name, "payload": e.payload(), "occurred_at": now, "request_id": request_id}
                for e in self._events
            ],
        )

    def _flush_jobs(self, now: datetime) -> None:
        for request in self._jobs:
            insert_job(self.session, request, now, self._default_max_attempts)


def build_audit_record(
    actor: Actor,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    tenant: str = "",
    outcome: str = "success",
    detail: dict[str, Any] | None = None,
) -> audit.AuditRecord:
    ctx = current_request()
    return audit.AuditRecord(
        actor=actor.label,
        actor_kind=actor.kind.value,
        tenant=tenant or (actor.division_code or ""),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        outcome=outcome,
        request_id=ctx.request_id,
        source_address=ctx.source_address,
        detail=detail or {},
    )


def insert_job(session: Session, request: JobRequest, now: datetime, default_max_attempts: int) -> bool:
    """Insert unless a job with the same idempotency key exists; returns whether it was new."""
    values = {
        "kind": request.kind,
        "payload": request.payload,
        "idempotency_key": request.idempotency_key,
        "status": "pending",
        "attempts": 0,
        "max_attempts": request.max_attempts or default_max_attempts,
        "run_at": request.run_at or now,
        "created_at": now,
    }
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(job).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]
