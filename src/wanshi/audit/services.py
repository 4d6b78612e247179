"""Audit use cases: search the log, verify its hash chain, purge entries past retention.

Reading audit records is itself an audited action (等保 2.0 安全审计): every search and every check leaves
an entry naming who looked and with which filters.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wanshi.audit import policies, repository
from wanshi.audit.domain import AuditPage, ChainProblem, ChainReport
from wanshi.infra import audit as chain
from wanshi.infra.jobs import JobContext, JobRegistry
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor
from wanshi.kernel.errors import ValidationFailed

SEARCH_ACTION = "audit.search"
VERIFY_ACTION = "audit.verify"
PURGE_ACTION = "audit.purge"
PURGE_JOB = "audit.purge"
PURGE_INTERVAL_SECONDS = 24 * 60 * 60


class AuditQuery(BaseModel):
    """Filters are combined with AND; empty ones are ignored. Times without a zone are China time."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    since: datetime | None = Field(default=None, description="entries at or after this time")
    until: datetime | None = Field(default=None, description="entries before this time")
    actor: str = Field(default="", max_length=120, description="who acted (username), exact")
    action: str = Field(
        default="", max_length=120, description="action prefix, e.g. 'identity.' or 'org.organisation.create'"
    )
    object_type: str = Field(default="", max_length=60)
    object_id: str = Field(default="", max_length=120)
    outcome: str = Field(default="", max_length=20, description="success, failure, denied, locked, ...")
    tenant: str = Field(default="", pattern=r"^(\d{6})?$", description="division code: its whole subtree")
    request_id: str = Field(default="", max_length=64)
    limit: int = Field(default=50, ge=1, le=200)
    # A cursor, not an offset: every search appends an entry, which would shift offset pages by one.
    before_seq: int | None = Field(default=None, ge=1, description="entries older than this sequence number")

    @field_validator("since", "until")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=clock.CHINA_TZ)
        return value


def search_audit(uow: UnitOfWork, query: AuditQuery, actor: Actor) -> AuditPage:
    uow.authorize(policies.can_search_audit(actor), actor, SEARCH_ACTION, object_type="audit_entry")
    entries, has_more = repository.search_entries(
        uow.session,
        scopes=policies.audit_scopes(actor),
        include_platform=policies.sees_platform_entries(actor),
        since=query.since,
        until=query.until,
        actor=query.actor,
        action_prefix=query.action,
        object_type=query.object_type,
        object_id=query.object_id,
        outcome=query.outcome,
        tenant=query.tenant,
        request_id=query.request_id,
        limit=query.limit,
        before_seq=query.before_seq,
    )
    # Recorded after the read, so a search never finds itself.
    uow.audit(
        actor,
        SEARCH_ACTION,
        object_type="audit_entry",
        detail={"filters": query.model_dump(mode="json", exclude_defaults=True), "returned": len(entries)},
    )
    uow.commit()
    return AuditPage(tuple(entries), has_more)


def verify_audit(uow: UnitOfWork, actor: Actor) -> ChainReport:
    uow.authorize(policies.can_verify_audit(actor), actor, VERIFY_ACTION, object_type="audit_chain")
    found = chain.verify(uow.session)
    report = ChainReport(found.checked, tuple(ChainProblem(p.seq, p.problem) for p in found.problems))
    uow.audit(
        actor,
        VERIFY_ACTION,
        object_type="audit_chain",
        detail={
            "checked": report.checked,
            "intact": report.intact,
            "broken": [p.seq for p in report.problems],
        },
    )
    uow.commit()
    return report


def purge_expired_audit(uow: UnitOfWork, actor: Actor, retention_days: int) -> int:
    """Delete entries older than the retention period; returns how many. The purge itself is audited."""
    uow.authorize(policies.can_purge_audit(actor), actor, PURGE_ACTION, object_type="audit_chain")
    purged = _purge(uow, actor, retention_days)
    uow.commit()
    return purged


def _purge(uow: UnitOfWork, actor: Actor, retention_days: int) -> int:
    if retention_days < 1:
        raise ValidationFailed("审计日志保存期限至少为 1 天", field="retention_days")
    cutoff = clock.now() - timedelta(days=retention_days)
    purged = chain.purge_before(uow.session, cutoff)
    uow.audit(
        actor,
        PURGE_ACTION,
        object_type="audit_chain",
        detail={"cutoff": cutoff.isoformat(), "retention_days": retention_days, "purged": purged},
    )
    return purged


def register_jobs(registry: JobRegistry, retention_days: int) -> None:
    """The daily retention purge. Call once from the composition root with settings.audit_retention_days."""

    def run(uow: UnitOfWork, _payload: dict[str, Any], _ctx: JobContext) -> None:
        # No commit here: the job runner commits the purge together with marking the job done.
        _purge(uow, SYSTEM, retention_days)

    registry.handler(PURGE_JOB, run)
    registry.every(PURGE_JOB, PURGE_JOB, PURGE_INTERVAL_SECONDS)
