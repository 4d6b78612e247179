"""Issue #2 acceptance: SIGKILL a worker amid 1,000 jobs, restart, and every effect happens once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kill_worker_process import effect  # type: ignore[import-not-found]
from sqlalchemy import func, select

from wanshi.bootstrap import Platform
from wanshi.infra.tables import job
from wanshi.infra.uow import JobRequest

JOBS = 1000
SCRIPT = Path(__file__).with_name("kill_worker_process.py")


def _counts(platform: Platform) -> tuple[int, int, int]:
    with platform.engine.connect() as conn:
        done = conn.execute(
            select(func.count()).select_from(job).where(job.c.kind == "t.kill", job.c.status == "done")
        ).scalar_one()
        effects = conn.execute(select(func.count()).select_from(effect)).scalar_one()
        distinct = conn.execute(select(func.count(func.distinct(effect.c.job_id)))).scalar_one()
    return done, effects, distinct


def _start(url: str, threads: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(SCRIPT.parent)}
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), url, str(threads)], env=env, stderr=subprocess.DEVNULL
    )


@pytest.mark.slow
def test_sigkill_mid_run_then_restart_leaves_each_effect_exactly_once(
    platform: Platform, database_url: str
) -> None:
    effect.create(platform.engine, checkfirst=True)
    try:
        with platform.uow() as uow:
            for n in range(JOBS):
                uow.enqueue(JobRequest("t.kill", {"n": n}, f"kill-{n}"))
            uow.commit()
        # Several workers on PostgreSQL; SQLite serialises writers, so one.
        threads = 1 if database_url.startswith("sqlite") else 3
        first = _start(database_url, threads)
        deadline = time.monotonic() + 120
        while _counts(platform)[0] < JOBS // 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        done_at_kill = _counts(platform)[0]
        assert 0 < done_at_kill < JOBS, "the kill must land in the middle of the run"

        second = _start(database_url, threads)
        try:
            deadline = time.monotonic() + 180
            while _counts(platform)[0] < JOBS and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            second.kill()
            second.wait()
        done, effects, distinct = _counts(platform)
        assert (done, effects, distinct) == (JOBS, JOBS, JOBS)
    finally:
        effect.drop(platform.engine)
