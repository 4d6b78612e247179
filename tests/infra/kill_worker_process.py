"""A worker process for the SIGKILL test: its handler records each job's effect in the job's transaction."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from wanshi.bootstrap import build_platform
from wanshi.config import Settings
from wanshi.infra.jobs import JobContext
from wanshi.infra.uow import UnitOfWork

effect = Table(
    "t_kill_effect",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "job_id", Integer, nullable=False
    ),  # deliberately not unique: a duplicate effect must be countable
    Column("worker", String(80), nullable=False),
)


def main(url: str, threads: int) -> None:
    platform = build_platform(
        Settings(env="test", database_url=url, job_lease_seconds=5, worker_poll_seconds=0.05)
    )

    def handle(uow: UnitOfWork, payload: dict[str, Any], ctx: JobContext) -> None:
        uow.session.execute(insert(effect).values(job_id=ctx.job_id, worker=str(payload["n"])))
        time.sleep(0.002)

    platform.jobs.handler("t.kill", handle)
    stop = threading.Event()
    runners = [
        threading.Thread(target=platform.worker(f"w{i}").run_forever, args=(stop,)) for i in range(threads)
    ]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
