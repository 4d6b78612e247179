"""The admin area's home page, and the background-job pages and JSON API for the system administrator."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from starlette.responses import RedirectResponse, Response

from wanshi.bootstrap import Platform
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import Conflict
from wanshi.ops import api as ops
from wanshi.ops import policies
from wanshi.web.auth import csrf_protect, get_platform, require_staff
from wanshi.web.web_registry import AdminSection, Stat, render_admin, visible_admin_sections

PAGE = 50
DEAD_LETTERS_SHOWN = 20

STATE_NAMES = {
    ops.JobState.PENDING: "待运行",
    ops.JobState.RETRYING: "失败待重试",
    ops.JobState.RUNNING: "运行中",
    ops.JobState.DONE: "已完成",
    ops.JobState.DEAD: "死信",
}
STATE_TONES = {ops.JobState.RETRYING: "warn", ops.JobState.DONE: "ok", ops.JobState.DEAD: "bad"}

pages = APIRouter(prefix="/admin", dependencies=[Depends(csrf_protect)], include_in_schema=False)
jobs_api = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], dependencies=[Depends(csrf_protect)])

PlatformDep = Annotated[Platform, Depends(get_platform)]
StaffDep = Annotated[Actor, Depends(require_staff)]


def interval_text(seconds: int) -> tuple[str, int]:
    """A message id with its number: schedules read as "every 24 hours", not as 86400."""
    for unit, msgid in ((86400, "每 %d 天"), (3600, "每 %d 小时"), (60, "每 %d 分钟")):
        if seconds % unit == 0:
            return msgid, seconds // unit
    return "每 %d 秒", seconds


@pages.get("")
def admin_home(request: Request, platform: PlatformDep, actor: StaffDep) -> Response:
    cards = [
        {"section": s, "stats": s.stats(platform, actor) if s.stats else []}
        for s in visible_admin_sections(actor)
    ]
    return render_admin(request, actor, "admin/home.html", {"cards": cards})


def _jobs_page(
    request: Request,
    platform: Platform,
    actor: Actor,
    *,
    state: ops.JobState | None,
    kind: str,
    page: int,
    retried: int | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    with platform.uow() as uow:
        counts = ops.job_counts(uow, actor)
        listed, total = ops.list_jobs(
            uow, ops.JobQuery(status=state, kind=kind, limit=PAGE, offset=(page - 1) * PAGE), actor
        )
        dead, dead_total = ops.list_jobs(
            uow, ops.JobQuery(status=ops.JobState.DEAD, limit=DEAD_LETTERS_SHOWN), actor
        )
        schedules = ops.list_schedules(uow, actor)
    return render_admin(
        request,
        actor,
        "admin/jobs.html",
        {
            "stats": _stats(counts),
            "jobs": listed,
            "total": total,
            "dead": dead,
            "dead_total": dead_total,
            "schedules": schedules,
            "state": state.value if state else "",
            "kind": kind,
            "kinds": sorted(platform.jobs.handlers),
            "page": page,
            "has_next": page * PAGE < total,
            "state_names": STATE_NAMES,
            "state_tones": STATE_TONES,
            "interval_text": interval_text,
            "retried": retried,
            "error": error,
        },
        status_code=status_code,
    )


@pages.get("/jobs")
def jobs_page(
    request: Request,
    platform: PlatformDep,
    actor: StaffDep,
    state: ops.JobState | None = None,
    kind: Annotated[str, Query(max_length=120)] = "",
    page: Annotated[int, Query(ge=1)] = 1,
    retried: int | None = None,
) -> Response:
    return _jobs_page(request, platform, actor, state=state, kind=kind, page=page, retried=retried)


@pages.post("/jobs/{job_id}/retry")
def retry_job_page(request: Request, job_id: int, platform: PlatformDep, actor: StaffDep) -> Response:
    try:
        with platform.uow() as uow:
            ops.retry_job(uow, job_id, actor)
    except Conflict as exc:
        return _jobs_page(
            request, platform, actor, state=None, kind="", page=1, error=exc.message, status_code=409
        )
    return RedirectResponse(f"/admin/jobs?retried={job_id}", status_code=303)


def _stats(counts: dict[ops.JobState, int]) -> list[Stat]:
    return [Stat(STATE_NAMES[s], counts.get(s, 0), STATE_TONES.get(s, "")) for s in ops.JobState]


def _job_stats(platform: Platform, actor: Actor) -> list[Stat]:
    with platform.uow() as uow:
        return _stats(ops.job_counts(uow, actor))


class JobOut(BaseModel):
    id: int
    kind: str
    state: ops.JobState
    attempts: int
    max_attempts: int
    run_at: datetime
    created_at: datetime
    finished_at: datetime | None
    last_error: str | None
    retryable: bool


class JobListOut(BaseModel):
    total: int
    items: list[JobOut]


class ScheduleOut(BaseModel):
    name: str
    kind: str
    interval_seconds: int
    next_run_at: datetime
    enabled: bool


def _job_out(j: ops.Job) -> JobOut:
    return JobOut(
        id=j.id,
        kind=j.kind,
        state=j.state,
        attempts=j.attempts,
        max_attempts=j.max_attempts,
        run_at=clock.as_utc(j.run_at),
        created_at=clock.as_utc(j.created_at),
        finished_at=clock.as_utc(j.finished_at) if j.finished_at else None,
        last_error=j.last_error,
        retryable=j.retryable,
    )


@jobs_api.get("", response_model=JobListOut, summary="Background jobs, newest first")
def list_jobs_api(
    platform: PlatformDep, actor: StaffDep, query: Annotated[ops.JobQuery, Query()]
) -> JobListOut:
    with platform.uow() as uow:
        found, total = ops.list_jobs(uow, query, actor)
    return JobListOut(total=total, items=[_job_out(j) for j in found])


@jobs_api.get("/counts", response_model=dict[ops.JobState, int], summary="How many jobs are in each state")
def job_counts_api(platform: PlatformDep, actor: StaffDep) -> dict[ops.JobState, int]:
    with platform.uow() as uow:
        return ops.job_counts(uow, actor)


@jobs_api.get("/schedules", response_model=list[ScheduleOut], summary="Recurring jobs and their next run")
def list_schedules_api(platform: PlatformDep, actor: StaffDep) -> list[ScheduleOut]:
    with platform.uow() as uow:
        found = ops.list_schedules(uow, actor)
    return [
        ScheduleOut(
            name=s.name,
            kind=s.kind,
            interval_seconds=s.interval_seconds,
            next_run_at=clock.as_utc(s.next_run_at),
            enabled=s.enabled,
        )
        for s in found
    ]


@jobs_api.post("/{job_id}/retry", response_model=JobOut, summary="Run a dead or failed job again now")
def retry_job_api(job_id: int, platform: PlatformDep, actor: StaffDep) -> JobOut:
    with platform.uow() as uow:
        return _job_out(ops.retry_job(uow, job_id, actor))


admin_sections = [
    AdminSection(
        "/admin/jobs",
        "后台任务",
        50,
        policies.can_view_jobs,
        description="各状态的任务数，死信重试，定时任务。",
        stats=_job_stats,
        chart=True,
    )
]

routers = [pages, jobs_api]
