"""The identity context's background upkeep: purge spent login challenges, old failures and ended sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from wanshi.identity.repository import login as repo
from wanshi.infra.jobs import JobContext, JobRegistry
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock

PURGE_JOB = "identity.purge_login_leftovers"
PURGE_INTERVAL_SECONDS = 3600
# Challenges and failures matter for minutes; a day leaves room for investigating an incident from the rows.
LEFTOVER_AGE = timedelta(days=1)
# Ended sessions stay a month so a person's account page and an administrator can still see recent sign-ins.
SESSION_AGE = timedelta(days=30)


def purge_login_leftovers(uow: UnitOfWork) -> int:
    """Runs as the system, inside the job's transaction (the runner commits)."""
    now = clock.now()
    return repo.purge_login_leftovers(
        uow.session, before=now - LEFTOVER_AGE, sessions_before=now - SESSION_AGE
    )


def register_jobs(registry: JobRegistry) -> None:
    def run(uow: UnitOfWork, _payload: dict[str, Any], _ctx: JobContext) -> None:
        purge_login_leftovers(uow)

    registry.handler(PURGE_JOB, run)
    registry.every(PURGE_JOB, PURGE_JOB, PURGE_INTERVAL_SECONDS)
