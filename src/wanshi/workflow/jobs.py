"""The process centre's background work: timers every minute, clocks again after a calendar change, and
the platform's built-in actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wanshi.datahub.registry import api as registry
from wanshi.infra.jobs import JobContext, JobRegistry
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel.actor import SYSTEM
from wanshi.workdays.api import WorkdayCalendarChanged
from wanshi.workflow.actions import ActionRegistry
from wanshi.workflow.builtin_actions import register_builtin_actions
from wanshi.workflow.services import instances

TIMERS_JOB = "workflow.fire_timers"
TIMERS_SCHEDULE = "workflow.timers"
CLOCKS_JOB = "workflow.recompute_clocks"
TIMER_INTERVAL_SECONDS = 60


def register_jobs(
    jobs: JobRegistry, actions: ActionRegistry, registries: Callable[[], registry.Registry]
) -> None:
    register_builtin_actions(actions, registries)

    def fire(uow: UnitOfWork, _payload: dict[str, Any], _ctx: JobContext) -> None:
        instances.fire_due_timers(uow, actions, SYSTEM)

    def recompute(uow: UnitOfWork, _payload: dict[str, Any], _ctx: JobContext) -> None:
        instances.recompute_clocks(uow, SYSTEM)

    jobs.handler(TIMERS_JOB, fire)
    jobs.every(TIMERS_SCHEDULE, TIMERS_JOB, TIMER_INTERVAL_SECONDS)
    jobs.handler(CLOCKS_JOB, recompute)
    jobs.subscribe(WorkdayCalendarChanged.name, CLOCKS_JOB)
