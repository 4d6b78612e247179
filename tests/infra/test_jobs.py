from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pytest
from sqlalchemy import Column, Integer, String, Table, func, insert, select

from wanshi.bootstrap import Platform
from wanshi.infra.jobs import JobContext
from wanshi.infra.tables import job
from wanshi.infra.uow import JobRequest, UnitOfWork
from wanshi.kernel.events import Event


@dataclasses.dataclass(frozen=True)
class ThingHappened(Event):
    name: ClassVar[str] = "ThingHappened"
    thing_id: int


def _status(platform: Platform) -> dict[str, int]:
    with platform.engine.connect() as conn:
        rows = conn.execute(select(job.c.status, func.count()).group_by(job.c.status)).all()
    return {r[0]: r[1] for r in rows}


def test_enqueue_is_idempotent_and_rolled_back_with_the_change(platform: Platform) -> None:
    seen: list[int] = []
    platform.jobs.handler("t.record", lambda uow, p, ctx: seen.append(p["n"]))
    with platform.uow() as uow:
        uow.enqueue(JobRequest("t.record", {"n": 1}, "key-1"))
        uow.enqueue(JobRequest("t.record", {"n": 1}, "key-1"))
        uow.commit()
    with platform.uow() as uow:
        uow.enqueue(JobRequest("t.record", {"n": 2}, "key-2"))
    platform.worker().run_until_idle()
    assert seen == [1]
    assert _status(platform) == {"done": 1}


def test_events_reach_each_subscriber_once(platform: Platform) -> None:
    got: list[tuple[str, int]] = []
    platform.jobs.handler("a", lambda uow, p, ctx: got.append(("a", p["thing_id"])))
    platform.jobs.handler("b", lambda uow, p, ctx: got.append(("b", p["thing_id"])))
    platform.jobs.subscribe("ThingHappened", "a")
    platform.jobs.subscribe("ThingHappened", "b")
    with platform.uow() as uow:
        uow.emit(ThingHappened(thing_id=7))
        uow.commit()
    worker = platform.worker()
    worker.run_until_idle()
    worker.run_until_idle()
    assert sorted(got) == [("a", 7), ("b", 7)]


def test_failures_retry_with_backoff_then_go_dead(platform: Platform) -> None:
    attempts: list[int] = []

    def flaky(uow: UnitOfWork, payload: dict[str, Any], ctx: JobContext) -> None:
        attempts.append(ctx.attempt)
        raise RuntimeError("gateway down")

    platform.jobs.handler("t.flaky", flaky)
    with platform.uow() as uow:
        uow.enqueue(JobRequest("t.flaky", {}, "flaky", max_attempts=3))
        uow.commit()
    worker = platform.worker()
    import time

    deadline = time.monotonic() + 10
    while _status(platform).get("dead") != 1 and time.monotonic() < deadline:
        worker.run_once()
        time.sleep(0.02)
    assert attempts == [1, 2, 3]
    with platform.engine.connect() as conn:
        row = conn.execute(select(job)).one()
    assert row.status == "dead"
    assert "gateway down" in row.last_error


def test_failed_handler_effects_roll_back(platform: Platform) -> None:
    effect = Table(
        "t_effect_rollback",
        __import__("sqlalchemy").MetaData(),
        Column("id", Integer, primary_key=True),
        Column("note", String(20)),
    )
    effect.create(platform.engine, checkfirst=True)
    try:

        def half(uow: UnitOfWork, payload: dict[str, Any], ctx: JobContext) -> None:
            uow.session.execute(insert(effect).values(note="partial"))
            raise RuntimeError("boom")

        platform.jobs.handler("t.half", half)
        with platform.uow() as uow:
            uow.enqueue(JobRequest("t.half", {}, "half", max_attempts=1))
            uow.commit()
        platform.worker().run_once()
        with platform.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(effect)).scalar_one() == 0
        assert _status(platform) == {"dead": 1}
    finally:
        effect.drop(platform.engine)


@pytest.mark.parametrize("kind", ["t.unknown"])
def test_unknown_kind_goes_dead_with_a_reason(platform: Platform, kind: str) -> None:
    with platform.uow() as uow:
        uow.enqueue(JobRequest(kind, {}, "u"))
        uow.commit()
    platform.worker().run_once()
    with platform.engine.connect() as conn:
        row = conn.execute(select(job)).one()
    assert row.status == "dead"
    assert "no handler" in row.last_error
