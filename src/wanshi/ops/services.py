"""Ops use cases: see the job queue by state, retry dead letters and failed jobs, list the schedules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import Conflict, NotFound
from wanshi.ops import policies, repository
from wanshi.ops.domain import Job, JobState, Schedule

RETRY_ACTION = "ops.job.retry"


class JobQuery(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    status: JobState | None = None
    kind: str = Field(default="", max_length=120)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)


def list_jobs(uow: UnitOfWork, query: JobQuery, actor: Actor) -> tuple[list[Job], int]:
    """Newest first; returns the page and the total matching."""
    uow.authorize(policies.can_view_jobs(actor), actor, "ops.job.list", object_type="job")
    return repository.list_jobs(
        uow.session, state=query.status, kind=query.kind, limit=query.limit, offset=query.offset
    )


def job_counts(uow: UnitOfWork, actor: Actor) -> dict[JobState, int]:
    uow.authorize(policies.can_view_jobs(actor), actor, "ops.job.list", object_type="job")
    return repository.count_by_state(uow.session)


def retry_job(uow: UnitOfWork, job_id: int, actor: Actor) -> Job:
    """Put a dead or failed job back in line to run now, with its attempts reset."""
    uow.authorize(policies.can_retry_job(actor), actor, RETRY_ACTION, object_type="job", object_id=job_id)
    current = repository.get_job(uow.session, job_id)
    if current is None:
        raise NotFound("后台任务不存在")
    if not current.retryable:
        raise Conflict("只有失败或已进入死信的任务可以重试", code="job_not_retryable")
    if not repository.requeue(uow.session, current, clock.now()):
        raise Conflict("任务状态刚刚发生了变化，请刷新后重试")
    uow.audit(
        actor,
        RETRY_ACTION,
        object_type="job",
        object_id=job_id,
        detail={
            "kind": current.kind,
            "previous_state": current.state.value,
            "attempts": current.attempts,
            # The error is cleared on the job; the audit entry keeps what the operator acted on.
            "last_error": (current.last_error or "")[:500],
        },
    )
    uow.commit()
    retried = repository.get_job(uow.session, job_id)
    assert retried is not None
    return retried


def list_schedules(uow: UnitOfWork, actor: Actor) -> list[Schedule]:
    uow.authorize(policies.can_view_schedules(actor), actor, "ops.schedule.list", object_type="schedule")
    return repository.list_schedules(uow.session)
