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
from wanshi.datahub.registry.api import (
    IndexUnavailable,
    Registry,
    VerifyEnterprise,
    VerifyPerson,
    verify_enterprise,
    verify_person,
)
from wanshi.datahub.registry.api import Result as RegistryResult
from wanshi.datahub.store import ParquetDuckDBStore
from wanshi.identity.api import (
    IdentityRules,
    IdentityService,
    OtpRules,
    Passwords,
    RealNameAnswer,
    SessionTimes,
)
from wanshi.infra.crypto import Sealer
from wanshi.infra.db import create_db_engine, make_session_factory
from wanshi.infra.files import FileStore
from wanshi.infra.jobs import JobRegistry, Worker, WorkerConfig
from wanshi.infra.migrations import upgrade
from wanshi.infra.uow import UnitOfWork
from wanshi.items.api import PublishedCatalogue
from wanshi.kernel.actor import SYSTEM
from wanshi.schema import seed_required_rows
from wanshi.workflow.actions import ActionRegistry

# Each context that owns jobs, event handlers or schedules adds its register function here.
Registrar = Callable[["Platform"], None]


def _registrars() -> list[Registrar]:
    from wanshi.audit.api import register_jobs as register_audit_jobs
    from wanshi.datahub.ingest.api import register_jobs as register_ingest_jobs
    from wanshi.datahub.quality.api import register_jobs as register_quality_jobs
    from wanshi.datahub.registry.api import register_jobs as register_registry_jobs
    from wanshi.identity.api import register_oidc_jobs, register_upkeep_jobs
    from wanshi.infra.files import register_jobs as register_file_jobs
    from wanshi.notify.api import register_jobs as register_notify_jobs
    from wanshi.notify.api import sandbox_gateways
    from wanshi.tickets.api import register_jobs as register_ticket_jobs
    from wanshi.workflow.api import register_jobs as register_workflow_jobs

    return [
        lambda p: register_audit_jobs(p.jobs, p.settings.audit_retention_days),
        lambda p: register_file_jobs(p.jobs, p.files.blobs),
        lambda p: register_notify_jobs(p.jobs, sandbox_gateways(p.settings.sms_sign)),
        lambda p: register_ticket_jobs(p.jobs, reminder_days=p.settings.ticket_reminder_days),
        lambda p: register_quality_jobs(p.jobs, p.datastore, p.files, p.settings),
        lambda p: register_ingest_jobs(p.jobs, p.datastore, p.settings),
        lambda p: register_registry_jobs(p.jobs, p.settings, p.datastore),
        lambda p: register_oidc_jobs(p.jobs, p.settings, p.sealer),
        lambda p: register_upkeep_jobs(p.jobs),
        lambda p: register_workflow_jobs(p.jobs, p.actions, lambda: Registry.build(p.settings, p.datastore)),
    ]


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    read_session_factory: sessionmaker[Session]
    identity: IdentityService
    items: PublishedCatalogue
    files: FileStore
    datastore: ParquetDuckDBStore
    sealer: Sealer
    jobs: JobRegistry = field(default_factory=JobRegistry)
    # Named platform actions that BPMN service tasks may run; contexts add theirs at start-up.
    actions: ActionRegistry = field(default_factory=ActionRegistry)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, default_max_attempts=self.settings.job_max_attempts)

    def reader(self) -> UnitOfWork:
        """A unit of work that only reads: on SQLite it takes no lock, so readers never queue behind a
        writer (hot read paths: the session behind every signed-in request, token checks)."""
        return UnitOfWork(self.read_session_factory, refusals_to=self.session_factory)

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
    sealer = Sealer(settings.data_key)
    identity = IdentityService(Passwords(settings), sealer, identity_rules(settings))
    platform = Platform(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        read_session_factory=make_session_factory(engine, read_only=True),
        identity=identity,
        items=PublishedCatalogue(),
        files=FileStore.from_settings(settings),
        datastore=ParquetDuckDBStore(
            settings.resolved_datahub_dir,
            threads=settings.datahub_threads or None,
            memory_limit=settings.datahub_memory_limit,
            compression=settings.datahub_compression,
        ),
        sealer=sealer,
    )
    identity.accounts.registry = RegistryRealName(Registry.build(settings, platform.datastore))
    for register in _registrars():
        register(platform)
    return platform


def identity_rules(settings: Settings) -> IdentityRules:
    return IdentityRules(
        max_failures=settings.login_max_failures,
        lockout=timedelta(minutes=settings.login_lockout_minutes),
        session=SessionTimes(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
        ),
        otp=OtpRules(
            ttl=timedelta(seconds=settings.otp_ttl_seconds),
            max_attempts=settings.otp_max_attempts,
            per_phone_per_hour=settings.otp_per_phone_per_hour,
            per_source_per_hour=settings.otp_per_source_per_hour,
            resend_after=timedelta(seconds=settings.otp_resend_seconds),
        ),
        qr_ttl=timedelta(seconds=settings.qr_login_ttl_seconds),
        source_limit=settings.login_source_max_failures,
        delegation_max_days=settings.delegation_max_days,
        # The sandbox sends nothing; in development the code is shown on screen so the demo can be used.
        show_sandbox_codes=settings.env == "development" and settings.sms_gateway == "sandbox",
    )


class RegistryRealName:
    """实名核验 for identity, answered by the data centre's base registries (logged like every call)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def verify_person(self, uow: UnitOfWork, id_number: str, name: str) -> RealNameAnswer:
        cmd = VerifyPerson(id_number=id_number, name=name, purpose=REAL_NAME_PURPOSE)
        try:
            answer = verify_person(uow, self.registry, cmd, SYSTEM)
        except IndexUnavailable:
            return UNAVAILABLE
        return RealNameAnswer(_verdict(answer.result), answer.result.value, answer.message)

    def verify_enterprise(
        self, uow: UnitOfWork, credit_code: str, name: str, legal_representative: str
    ) -> RealNameAnswer:
        cmd = VerifyEnterprise(
            credit_code=credit_code,
            name=name,
            legal_representative=legal_representative,
            purpose=REAL_NAME_PURPOSE,
        )
        try:
            answer = verify_enterprise(uow, self.registry, cmd, SYSTEM)
        except IndexUnavailable:
            return UNAVAILABLE
        return RealNameAnswer(_verdict(answer.result), answer.result.value, answer.message)


# The registry cannot answer now (index not built): for people, the same as no record. The reason for the
# administrator (run the reindex) is in the registry's log and the admin pages, not on a citizen's screen.
UNAVAILABLE = RealNameAnswer("unknown", "unavailable", "基础库暂时无法核验")


REAL_NAME_PURPOSE = "统一身份认证实名核验"
_UNKNOWN = frozenset({RegistryResult.NOT_FOUND, RegistryResult.UNAVAILABLE})


def _verdict(result: RegistryResult) -> str:
    if result is RegistryResult.MATCH:
        return "match"
    return "unknown" if result in _UNKNOWN else "mismatch"
