"""Composition root: builds the platform (engine, sessions, job registry, services' wiring) from settings.

Nothing here runs at import time; the CLI, the web app factory and the tests call ``build_platform``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from wanshi.config import Settings
from wanshi.datahub.store import ParquetDuckDBStore
from wanshi.identity.api import IdentityService, Passwords
from wanshi.infra.db import create_db_engine, make_session_factory
from wanshi.infra.files import FileStore
from wanshi.infra.jobs import JobRegistry, Worker, WorkerConfig
from wanshi.infra.migrations import upgrade
from wanshi.infra.uow import UnitOfWork
from wanshi.schema import seed_required_rows

# Each context that owns jobs, event handlers or schedules adds its register function here.
Registrar = Callable[["Platform"], None]


def _registrars() -> list[Registrar]:
    from wanshi.audit.api import register_jobs as register_audit_jobs
    from wanshi.datahub.ingest.api import register_jobs as register_ingest_jobs
    from wanshi.datahub.quality.api import register_jobs as register_quality_jobs
    from wanshi.datahub.registry.api import register_jobs as register_registry_jobs
    from wanshi.infra.files import register_jobs as register_file_jobs
    from wanshi.notify.api import register_jobs as register_notify_jobs
    from wanshi.notify.api import sandbox_gateways
    from wanshi.tickets.api import register_jobs as register_ticket_jobs

    return [
        lambda p: register_audit_jobs(p.jobs, p.settings.audit_retention_days),
        lambda p: register_file_jobs(p.jobs, p.files.blobs),
        lambda p: register_notify_jobs(p.jobs, sandbox_gateways(p.settings.sms_sign)),
        lambda p: register_ticket_jobs(p.jobs, reminder_days=p.settings.ticket_reminder_days),
        lambda p: register_quality_jobs(p.jobs, p.datastore, p.files, p.settings),
        lambda p: register_ingest_jobs(p.jobs, p.datastore, p.settings),
        lambda p: register_registry_jobs(p.jobs, p.settings, p.datastore),
    ]


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    identity: IdentityService
    files: FileStore
    datastore: ParquetDuckDBStore
    jobs: JobRegistry = field(default_factory=JobRegistry)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, default_max_attempts=self.settings.job_max_attempts)

    def worker_config(self) -> WorkerConfig:
        s = self.settings
        return WorkerConfig(
            max_attempts=s.job_max_attempts,
            backoff_base_seconds=s.job_backoff_base_seconds,
            backoff_max_seconds=s.job_backoff_max_seconds,
            lease_seconds=s.job_lease_seconds,
            poll_seconds=s.worker_poll_seconds,
        )

    def worker(self, worker_id: str | None = None) -> Worker:
        return Worker(self.session_factory, self.jobs, self.worker_config(), worker_id)

    def dispose(self) -> None:
        self.engine.dispose()


def migrate_database(platform: Platform) -> None:
    """Alembic to head, then the rows the platform cannot run without."""
    upgrade(platform.engine)
    with platform.engine.begin() as conn:
        seed_required_rows(conn)


def build_platform(settings: Settings) -> Platform:
    engine = create_db_engine(
        settings.resolved_database_url, pool_size=settings.db_pool_size, echo=settings.db_echo
    )
    identity = IdentityService(
        Passwords(settings),
        max_failures=settings.login_max_failures,
        lockout=timedelta(minutes=settings.login_lockout_minutes),
    )
    platform = Platform(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        identity=identity,
        files=FileStore.from_settings(settings),
        datastore=ParquetDuckDBStore(
            settings.resolved_datahub_dir,
            threads=settings.datahub_threads or None,
            memory_limit=settings.datahub_memory_limit,
            compression=settings.datahub_compression,
        ),
    )
    for register in _registrars():
        register(platform)
    return platform
