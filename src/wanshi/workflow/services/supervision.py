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


SEVERITY = (Level.RED, Level.YELLOW, Level.PAUSED, Level.NORMAL, Level.DONE_LATE, Level.DONE_IN_TIME)


def _worst(levels: list[Level]) -> Level:
    return min(levels, key=SEVERITY.index)


def supervise(uow: UnitOfWork, actor: Actor) -> Supervision:
    """Counted per instance, each at the level of its most pressing clock (an instance keeps a legal and a
    promised limit; the promised one is usually the first to warn)."""
    uow.authorize(policies.can_supervise(actor), actor, "workflow.supervise")
    scopes = policies.supervision_scopes(actor)
    today = kclock.today_in_china()
    rows = repository.clocks_since(uow.session, scopes, today - timedelta(days=TREND_DAYS))
    by_instance: dict[int, list[Any]] = {}
    for row in rows:
        by_instance.setdefault(int(row.instance_id), []).append(row)
    running = {i: clocks for i, clocks in by_instance.items() if all(c.stopped_on is None for c in clocks)}
    level_of = {i: _worst([level_today(c, today) for c in clocks]) for i, clocks in running.items()}
    levels = Counter(level_of.values())
    by_process: dict[str, Counter[Level]] = {}
    by_organisation: dict[int, Counter[Level]] = {}
    for instance_id, clocks in running.items():
        first = clocks[0]
        by_process.setdefault(first.definition_key, Counter())[level_of[instance_id]] += 1
        by_organisation.setdefault(int(first.organisation_id), Counter())[level_of[instance_id]] += 1
    overdue = []
    for instance_id, clocks in running.items():
        late = [c for c in clocks if level_today(c, today) is Level.RED]
        if late:
            worst = min(late, key=lambda c: c.due_date or today)
            overdue.append(
                {
                    "instance_id": instance_id,
                    "kind": worst.kind,
                    "definition_key": worst.definition_key,
                    "due_date": worst.due_date,
                    "days_late": (today - worst.due_date).days if worst.due_date else 0,
                }
            )
    overdue.sort(key=lambda o: o["due_date"] or today)
    trend = []
    for offset in range(TREND_DAYS, -1, -1):
        day = today - timedelta(days=offset)
        late_count = sum(1 for clocks in by_instance.values() if any(_late_on(c, day) for c in clocks))
        ended = sum(1 for clocks in by_instance.values() if clocks[0].stopped_on == day)
        trend.append((day, late_count, ended))
    stopped = [clocks for clocks in by_instance.values() if all(c.stopped_on is not None for c in clocks)]
    late_ended = sum(1 for clocks in stopped if any(c.late for c in clocks))
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
        overdue=overdue[:LIST_MAX],
        trend=trend,
        concluded=(len(stopped) - late_ended, late_ended),
    )


def _late_on(row: Any, day: date) -> bool:
    """Whether a clock stood past its due date on a day (running then, due before it)."""
    return (
        row.due_date is not None
        and row.due_date < day
        and row.started_on <= day
        and (row.stopped_on is None or row.stopped_on >= day)
    )
