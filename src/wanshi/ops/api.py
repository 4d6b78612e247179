"""What the web layer, the CLI and other contexts may use from ops."""

from wanshi.ops.domain import RETRYABLE, Job, JobState, Schedule
from wanshi.ops.services import JobQuery, job_counts, list_jobs, list_schedules, retry_job

__all__ = [
    "RETRYABLE",
    "Job",
    "JobQuery",
    "JobState",
    "Schedule",
    "job_counts",
    "list_jobs",
    "list_schedules",
    "retry_job",
]
