"""Scheduled pulls: a resource mounted on a department database is pulled by the job runner on its interval,
each run taking only the rows past the watermark; a failing pull is retried by the runner and shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text
from test_catalogue_world import World, build_world, register

from wanshi.bootstrap import Platform
from wanshi.datahub.catalogue import api as catalogue
from wanshi.datahub.ingest import api as ingest
from wanshi.infra.tables import job
from wanshi.kernel import clock
from wanshi.kernel.errors import PermissionDenied, ValidationFailed

CODE = "331007001/000001"
START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def now(platform: Platform) -> Iterator[Clock]:
    c = Clock()
    previous = clock.set_clock(lambda: c.at)
    yield c
    clock.set_clock(previous)


@pytest.fixture
def world(platform: Platform, now: Clock) -> World:
    return build_world(platform)


def _source(platform: Platform) -> str:
    folder = platform.settings.resolved_live_sqlite_dir
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'market.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE entity (uscc TEXT, name TEXT, founded_on TEXT, seq INTEGER)"))
    engine.dispose()
    _add(url, 1, 2)
    return url


def _add(url: str, *numbers: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO entity VALUES (:u, :n, '2020-01-01', :s)"),
            [{"u": f"9134010{n:011d}", "n": f"企业{n}", "s": n} for n in numbers],
        )
    engine.dispose()


def _database_resource(
    platform: Platform, world: World, url: str, query: str = "SELECT * FROM entity"
) -> int:
    r = register(platform, world, "yh_clerk", "yaohai", CODE)
    with platform.uow() as uow:
        catalogue.mount_resource(
            uow,
            catalogue.MountResource(resource_id=r.id, kind="database", url=url, query=query),
            world["yh_clerk"],
        )
    with platform.uow() as uow:
        catalogue.submit_resource(uow, catalogue.SubmitResource(resource_id=r.id), world["yh_clerk"])
    with platform.uow() as uow:
        catalogue.review_resource(
            uow, catalogue.ReviewResource(resource_id=r.id, publish=True), world["prov_admin"]
        )
    return r.id


def _schedule(
    platform: Platform, world: World, actor: str = "yh_clerk", **changes: object
) -> ingest.PullSchedule:
    values: dict[str, object] = {
        "resource_code": CODE,
        "dataset": "pulled_entity",
        "watermark_column": "seq",
        "interval_minutes": 60,
        **changes,
    }
    with platform.uow() as uow:
        return ingest.schedule_pull(uow, ingest.SchedulePull(**values), world[actor])  # type: ignore[arg-type]


def _schedules(platform: Platform, world: World) -> list[ingest.PullSchedule]:
    with platform.uow() as uow:
        return ingest.list_pull_schedules(uow, world["yh_clerk"])


def _pull_jobs(platform: Platform) -> list[tuple[str, int, str | None]]:
    with platform.engine.connect() as conn:
        rows = conn.execute(
            select(job.c.status, job.c.attempts, job.c.last_error)
            .where(job.c.kind == "ingest.pull")
            .order_by(job.c.id)
        )
        return [(r.status, int(r.attempts), r.last_error) for r in rows]


def test_two_scheduled_runs_pull_only_the_new_rows(platform: Platform, world: World, now: Clock) -> None:
    url = _source(platform)
    _database_resource(platform, world, url)
    _schedule(platform, world)
    worker = platform.worker()
    worker.sync_schedules()

    worker.run_until_idle()
    assert platform.datastore.count("pulled_entity") == 2
    (first,) = _schedules(platform, world)
    assert first.last_status == "complete"
    assert first.next_run_at == START + timedelta(hours=1)

    _add(url, 3)
    now.advance(minutes=30)
    worker.run_until_idle()  # not due yet
    assert platform.datastore.count("pulled_entity") == 2

    now.advance(minutes=31)
    worker.run_until_idle()
    assert platform.datastore.count("pulled_entity") == 3
    (second,) = _schedules(platform, world)
    assert second.last_load_id != first.last_load_id
    with platform.uow() as uow:
        latest = ingest.get_load(uow, second.last_load_id or 0, world["yh_clerk"])
    assert (latest.counts.read, latest.counts.stored) == (1, 1)
    assert latest.resource_code == CODE
    assert latest.format is ingest.SourceFormat.DATABASE
    assert [s for s, _a, _e in _pull_jobs(platform)] == ["done", "done"]

    # Nothing new: the third run reads nothing and stores nothing.
    now.advance(hours=1, minutes=1)
    worker.run_until_idle()
    (third,) = _schedules(platform, world)
    with platform.uow() as uow:
        assert ingest.get_load(uow, third.last_load_id or 0, world["yh_clerk"]).counts.read == 0
    assert platform.datastore.count("pulled_entity") == 3


def test_a_failing_pull_is_retried_by_the_runner_and_shown(
    platform: Platform, world: World, now: Clock
) -> None:
    url = _source(platform)
    _database_resource(platform, world, url, query="SELECT * FROM missing_table")
    _schedule(platform, world)
    worker = platform.worker()
    worker.sync_schedules()
    worker.run_until_idle()

    (status, attempts, error) = _pull_jobs(platform)[0]
    assert (status, attempts) == ("pending", 1)
    assert error is not None
    assert "missing_table" in error
    (failed,) = _schedules(platform, world)
    assert failed.last_status == "failed"
    assert "missing_table" in failed.last_error

    # The department fixes its source; the runner's retry then succeeds without a new schedule slot.
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE missing_table AS SELECT * FROM entity"))
    engine.dispose()
    now.advance(seconds=5)
    worker.run_until_idle()
    assert [(s, a) for s, a, _e in _pull_jobs(platform)] == [("done", 2)]
    assert platform.datastore.count("pulled_entity") == 2
    (fixed,) = _schedules(platform, world)
    assert (fixed.last_status, fixed.last_error) == ("complete", "")


def test_scheduling_is_checked_and_scoped(platform: Platform, world: World) -> None:
    url = _source(platform)
    _database_resource(platform, world, url)
    with pytest.raises(PermissionDenied):
        _schedule(platform, world, "ly_clerk")
    for changes, code in (
        ({"watermark_column": "seq; drop"}, "ingest_watermark_invalid"),
        ({"interval_minutes": 1}, "ingest_interval_invalid"),
        ({"dataset": "Bad Name"}, "datastore_invalid"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            _schedule(platform, world, **changes)
        assert refused.value.error_code == code
    _schedule(platform, world)
    # Setting it again changes the one schedule of the resource.
    _schedule(platform, world, interval_minutes=120, enabled=False)
    (only,) = _schedules(platform, world)
    assert (only.interval_seconds, only.enabled) == (7200, False)
    with platform.uow() as uow:
        assert ingest.list_pull_schedules(uow, world["ly_clerk"]) == []
        assert len(ingest.list_pull_schedules(uow, world["city_admin"])) == 1


def test_only_database_mounts_can_be_scheduled(platform: Platform, world: World) -> None:
    from test_catalogue_world import publish

    r = register(platform, world, "yh_clerk", "yaohai", CODE)
    publish(platform, world, "yh_clerk", r.id)  # mounted on a dataset
    with pytest.raises(ValidationFailed) as refused:
        _schedule(platform, world)
    assert refused.value.error_code == "ingest_resource_not_database"
