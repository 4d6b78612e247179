"""Background jobs as an operator sees them. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class JobState(StrEnum):
    PENDING = "pending"  # waiting for its first run
    RETRYING = "retrying"  # failed, waiting out its backoff before the next attempt
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"  # out of attempts: the dead letter an operator looks at


RETRYABLE = frozenset({JobState.RETRYING, JobState.DEAD})


def job_state(status: str, last_error: str | None) -> JobState:
    """The runner stores a failed job as pending with its error; an operator needs to tell them apart."""
    if status == "pending" and last_error:
        return JobState.RETRYING
    return JobState(status)


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    state: JobState
    attempts: int
    max_attempts: int
    run_at: datetime
    created_at: datetime
    finished_at: datetime | None
    last_error: str | None

    @property
    def retryable(self) -> bool:
        return self.state in RETRYABLE


@dataclass(frozen=True)
class Schedule:
    name: str
    kind: str
    interval_seconds: int
    next_run_at: datetime
    enabled: bool
