"""效能监察: how the time limits of the supervisor's divisions stand today, and how they have gone lately.

Read from the stored clocks (their due date and the day their warning starts are kept current whenever a
clock or the calendar changes), so a dashboard over many thousand instances stays cheap.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock as kclock
from wanshi.kernel.actor import Actor
from wanshi.workflow import policies, repository
from wanshi.workflow.domain.clocks import Level

TREND_DAYS = 30
LIST_MAX = 50


def level_today(row: Any, today: date) -> Level:
    if row.stopped_on is not None:
        return Level.DONE_LATE if row.late else Level.DONE_IN_TIME
    if row.due_date is not None and today > row.due_date:
        return Level.RED
    if row.paused:
        return Level.PAUSED
    if row.warn_on is not None and today >= row.warn_on:
        return Level.YELLOW
    return Level.NORMAL


@dataclass(frozen=True)
class Supervision:
    today: date
    levels: dict[Level, int]
    by_process: list[tuple[str, dict[Level, int]]]
    by_organisation: list[tuple[int, dict[Level, int]]]
    overdue: list[dict[str, Any]]
    trend: list[tuple[date, int, int]] = field(default_factory=list)
    concluded: tuple[int, int] = (0, 0)


def supervise(uow: UnitOfWork, actor: Actor) -> Supervision:
    uow.authorize(policies.can_supervise(actor), actor, "workflow.supervise")
    scopes = policies.supervision_scopes(actor)
    today = kclock.today_in_china()
    rows = repository.clocks_since(uow.session, scopes, today - timedelta(days=TREND_DAYS))
    running = [r for r in rows if r.stopped_on is None]
    levels = Counter(level_today(r, today) for r in running)
    by_process: dict[str, Counter[Level]] = {}
    by_organisation: dict[int, Counter[Level]] = {}
    for r in running:
        level = level_today(r, today)
        by_process.setdefault(r.definition_key, Counter())[level] += 1
        by_organisation.setdefault(int(r.organisation_id), Counter())[level] += 1
    overdue = sorted(
        (r for r in running if level_today(r, today) is Level.RED), key=lambda r: r.due_date or today
    )[:LIST_MAX]
    trend = []
    for offset in range(TREND_DAYS, -1, -1):
        day = today - timedelta(days=offset)
        late = sum(
            1
            for r in rows
            if r.due_date is not None
            and r.due_date < day
            and r.started_on <= day
            and (r.stopped_on is None or r.stopped_on >= day)
        )
        ended = sum(1 for r in rows if r.stopped_on == day)
        trend.append((day, late, ended))
    stopped = [r for r in rows if r.stopped_on is not None]
    return Supervision(
        today=today,
        levels={
            level: levels.get(level, 0) for level in (Level.NORMAL, Level.YELLOW, Level.RED, Level.PAUSED)
        },
        by_process=sorted(
            ((k, dict(v)) for k, v in by_process.items()), key=lambda kv: -kv[1].get(Level.RED, 0)
        ),
        by_organisation=sorted(
            ((k, dict(v)) for k, v in by_organisation.items()), key=lambda kv: -kv[1].get(Level.RED, 0)
        ),
        overdue=[
            {
                "instance_id": int(r.instance_id),
                "kind": r.kind,
                "definition_key": r.definition_key,
                "due_date": r.due_date,
                "days_late": (today - r.due_date).days if r.due_date else 0,
            }
            for r in overdue
        ],
        trend=trend,
        concluded=(sum(1 for r in stopped if not r.late), sum(1 for r in stopped if r.late)),
    )
