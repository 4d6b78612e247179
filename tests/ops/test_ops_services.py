from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from wanshi.audit import api as audit
from wanshi.bootstrap import Platform
from wanshi.infra.jobs import JobContext
from wanshi.infra.uow import JobRequest, UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind, Role, RoleGrant
from wanshi.kernel.errors import Conflict, NotFound, PermissionDenied
from wanshi.ops import api as ops


def _staff(name: str, role: Role, division: str) -> Actor:
    return Actor(
        kind=ActorKind.STAFF,
        user_id=1,
        username=name,
        division_code=division,
        grants=(RoleGrant(role, 1, division),),
    )


PROVINCE_SYS_ADMIN = _staff("admin.ah", Role.SYS_ADMIN, "340000")
CITY_SYS_ADMIN = _staff("admin.hf", Role.SYS_ADMIN, "340100")
AUDITOR = _staff("auditor.ah", Role.AUDIT_ADMIN, "340000")


class Flaky:
    """A handler that fails until told to work."""

    def __init__(self) -> None:
        self.working = False
        self.ran: list[int] = []

    def __call__(self, uow: UnitOfWork, payload: dict[str, Any], ctx: JobContext) -> None:
        if not self.working:
            raise RuntimeError(f"gateway down for {payload['n']}")
        self.ran.append(payload["n"])


@pytest.fixture
def flaky(platform: Platform) -> Flaky:
    handler = Flaky()
    platform.jobs.handler("t.flaky", handler)
    platform.jobs.handler("t.fine", lambda uow, payload, ctx: None)
    return handler


def _enqueue(platform: Platform, kind: str, n: int, max_attempts: int) -> None:
    with platform.uow() as uow:
        uow.enqueue(JobRequest(kind, {"n": n}, f"{kind}:{n}", max_attempts=max_attempts))
        uow.commit()


def _one_of_each(platform: Platform) -> None:
    """A done job, a dead letter, a failed job waiting to retry, and a pending one."""
    _enqueue(platform, "t.fine", 1, 3)
    _enqueue(platform, "t.flaky", 2, 1)
    platform.worker().run_until_idle()
    _enqueue(platform, "t.flaky", 3, 5)
    worker = platform.worker()
    claimed = worker.claim()
    assert claimed is not None
    worker.execute(claimed)
    _enqueue(platform, "t.fine", 4, 3)


def _jobs(platform: Platform, **query: Any) -> list[ops.Job]:
    with platform.uow() as uow:
        return ops.list_jobs(uow, ops.JobQuery(**query), PROVINCE_SYS_ADMIN)[0]


@pytest.mark.usefixtures("flaky")
def test_counts_and_lists_tell_failed_jobs_from_dead_letters(platform: Platform) -> None:
    _one_of_each(platform)
    with platform.uow() as uow:
        counts = ops.job_counts(uow, PROVINCE_SYS_ADMIN)
    assert counts == {
        ops.JobState.PENDING: 1,
        ops.JobState.RETRYING: 1,
        ops.JobState.RUNNING: 0,
        ops.JobState.DONE: 1,
        ops.JobState.DEAD: 1,
    }
    dead = _jobs(platform, status="dead")
    assert [(j.kind, j.attempts, j.retryable) for j in dead] == [("t.flaky", 1, True)]
    assert "gateway down for 2" in (dead[0].last_error or "")
    assert [j.state for j in _jobs(platform, kind="t.fine")] == [ops.JobState.PENDING, ops.JobState.DONE]
    with platform.uow() as uow:
        page, total = ops.list_jobs(uow, ops.JobQuery(limit=2, offset=2), PROVINCE_SYS_ADMIN)
    assert total == 4
    assert [j.state for j in page] == [ops.JobState.DEAD, ops.JobState.DONE]


def test_retrying_a_dead_letter_runs_it_again_with_a_fresh_budget_and_is_audited(
    platform: Platform, flaky: Flaky
) -> None:
    _one_of_each(platform)
    dead = _jobs(platform, status="dead")[0]
    with platform.uow() as uow:
        retried = ops.retry_job(uow, dead.id, PROVINCE_SYS_ADMIN)
    assert (retried.state, retried.attempts, retried.last_error) == (ops.JobState.PENDING, 0, None)
    flaky.working = True
    # Job 3 waits out its retry backoff (about 10 ms); a fast run would otherwise find it not yet due.
    later = clock.now() + timedelta(seconds=1)
    previous = clock.set_clock(lambda: later)
    try:
        platform.worker().run_until_idle()
    finally:
        clock.set_clock(previous)
    assert sorted(flaky.ran) == [2, 3]
    assert {j.state for j in _jobs(platform)} == {ops.JobState.DONE}
    with platform.uow() as uow:
        entries = audit.search_audit(uow, audit.AuditQuery(action="ops.job.retry"), AUDITOR).entries
    assert [(e.actor, e.object_id, e.detail["previous_state"]) for e in entries] == [
        ("admin.ah", str(dead.id), "dead")
    ]
    assert "gateway down" in entries[0].detail["last_error"]


@pytest.mark.usefixtures("flaky")
def test_a_failed_job_can_be_retried_now_but_a_done_or_pending_one_cannot(platform: Platform) -> None:
    _one_of_each(platform)
    failed = _jobs(platform, status="retrying")[0]
    with platform.uow() as uow:
        assert ops.retry_job(uow, failed.id, PROVINCE_SYS_ADMIN).attempts == 0
    for job in _jobs(platform, kind="t.fine"):
        with platform.uow() as uow, pytest.raises(Conflict):
            ops.retry_job(uow, job.id, PROVINCE_SYS_ADMIN)
    with platform.uow() as uow, pytest.raises(NotFound):
        ops.retry_job(uow, 999_999, PROVINCE_SYS_ADMIN)


@pytest.mark.usefixtures("flaky")
def test_only_a_province_system_administrator_sees_and_retries_jobs(platform: Platform) -> None:
    _one_of_each(platform)
    dead = _jobs(platform, status="dead")[0]
    for actor in (CITY_SYS_ADMIN, AUDITOR):
        with platform.uow() as uow, pytest.raises(PermissionDenied):
            ops.list_jobs(uow, ops.JobQuery(), actor)
        with platform.uow() as uow, pytest.raises(PermissionDenied):
            ops.job_counts(uow, actor)
        with platform.uow() as uow, pytest.raises(PermissionDenied):
            ops.retry_job(uow, dead.id, actor)
        with platform.uow() as uow, pytest.raises(PermissionDenied):
            ops.list_schedules(uow, actor)
    assert _jobs(platform, status="dead")[0].state is ops.JobState.DEAD


def test_schedules_are_listed_once_the_worker_has_synchronised_them(platform: Platform) -> None:
    platform.jobs.every("t.tick", "t.tick", 600)
    with platform.uow() as uow:
        assert ops.list_schedules(uow, SYSTEM) == []
    platform.worker().sync_schedules()
    with platform.uow() as uow:
        schedules = {s.name: s for s in ops.list_schedules(uow, PROVINCE_SYS_ADMIN)}
    assert set(schedules) == set(platform.jobs.schedules)
    assert (schedules["t.tick"].interval_seconds, schedules["t.tick"].enabled) == (600, True)
