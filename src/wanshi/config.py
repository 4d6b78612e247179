"""The one typed settings object. Every key is documented in docs/configuration.md.

Nothing reads the environment anywhere else; nothing is read at import time: call ``get_settings()``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "dev-insecure-secret-change-me"  # noqa: S105 - the known default production refuses
DEFAULT_DATA_KEY = "dev-insecure-data-key-change-me"  # the known default production refuses
DEFAULT_ADMIN_PASSWORD = "Wanshi@2026demo"  # noqa: S105 - demo pack only; production refuses it too

# 等保 2.0 level 3: audit records are kept at least six months.
MIN_AUDIT_RETENTION_DAYS = 180


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WANSHI_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    debug: bool = False
    secret_key: str = DEFAULT_SECRET_KEY
    data_key: str = DEFAULT_DATA_KEY
    admin_password: str = DEFAULT_ADMIN_PASSWORD

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("var")
    database_url: str = ""
    db_pool_size: int = Field(default=10, ge=1)
    db_echo: bool = False

    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_cookie_secure: bool = False
    trusted_proxies: list[str] = Field(default_factory=list)

    # argon2id (RFC 9106 second recommended option): 3 passes over 64 MiB with 2 lanes.
    password_time_cost: int = Field(default=3, ge=1)
    password_memory_kib: int = Field(default=64 * 1024, ge=8)
    password_parallelism: int = Field(default=2, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    login_source_max_failures: int = Field(default=50, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1, le=24 * 30)
    otp_ttl_seconds: int = Field(default=300, ge=60, le=3600)
    otp_max_attempts: int = Field(default=5, ge=1, le=20)
    otp_resend_seconds: int = Field(default=60, ge=0, le=3600)
    otp_per_phone_per_hour: int = Field(default=5, ge=1)
    otp_per_source_per_hour: int = Field(default=30, ge=1)
    qr_login_ttl_seconds: int = Field(default=120, ge=30, le=900)
    delegation_max_days: int = Field(default=366, ge=1, le=3660)
    public_url: str = ""
    oidc_access_token_seconds: int = Field(default=600, ge=60, le=86400)
    oidc_refresh_token_days: int = Field(default=30, ge=1, le=365)
    oidc_key_rotation_days: int = Field(default=90, ge=2, le=3650)
    oidc_key_overlap_days: int = Field(default=7, ge=1, le=365)

    log_level: str = "INFO"
    log_json: bool = False
    access_log: bool = True

    audit_retention_days: int = Field(default=MIN_AUDIT_RETENTION_DAYS, ge=1)
    security_failure_burst: int = Field(default=20, ge=1)

    worker_in_process: bool = True
    worker_concurrency: int = Field(default=1, ge=1, le=64)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    job_max_attempts: int = Field(default=8, ge=1)
    job_backoff_base_seconds: float = Field(default=2.0, gt=0)
    job_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    job_lease_seconds: int = Field(default=300, ge=5)

    files_dir: Path | None = None
    file_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    file_allowed_types: list[str] = Field(
        default_factory=lambda: [
            "application/pdf",
            "image/jpeg",
            "image/png",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/ofd",
            "application/zip",
            "text/plain",
            "text/csv",
            "application/json",
        ]
    )

    sms_gateway: Literal["sandbox"] = "sandbox"
    sms_sign: str = "【皖事通办】"
    email_gateway: Literal["sandbox"] = "sandbox"
    ticket_reminder_days: int = Field(default=2, ge=0)

    datahub_dir: Path | None = None
    datahub_threads: int = Field(default=0, ge=0)
    datahub_memory_limit: str = "2GB"
    datahub_compression: Literal["lz4", "zstd", "snappy", "none"] = "lz4"
    quality_ticket_days: int = Field(default=5, ge=1, le=250)
    quality_sweep_seconds: int = Field(default=300, ge=10)
    registry_population_dataset: str = "population"
    registry_legal_person_dataset: str = "legal_person"
    # Live sources (mounted department databases and HTTP APIs) and the secrets their mounts refer to.
    live_allowed_hosts: list[str] = Field(default_factory=list)
    live_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    live_max_rows: int = Field(default=1000, ge=1, le=100_000)
    live_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    live_sqlite_dir: Path | None = None
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    secrets_dir: Path | None = None
    ingest_push_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    ingest_upload_max_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)

    backup_dir: Path | None = None
    pg_dump_path: str = "pg_dump"
    pg_restore_path: str = "pg_restore"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("WANSHI_SECRET_KEY must be set to a random value of at least 32 characters")
        if self.data_key == DEFAULT_DATA_KEY or len(self.data_key) < 32:
            problems.append("WANSHI_DATA_KEY must be set to a random value of at least 32 characters")
        if self.admin_password == DEFAULT_ADMIN_PASSWORD:
            problems.append("WANSHI_ADMIN_PASSWORD must not be the demo default")
        if self.debug:
            problems.append("WANSHI_DEBUG must be off")
        if self.audit_retention_days < MIN_AUDIT_RETENTION_DAYS:
            problems.append(f"WANSHI_AUDIT_RETENTION_DAYS must be at least {MIN_AUDIT_RETENTION_DAYS}")
        if not self.session_cookie_secure:
            problems.append("WANSHI_SESSION_COOKIE_SECURE must be on (HTTPS only)")
        if problems:
            raise ValueError("production mode refuses to start: " + "; ".join(problems))
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'wanshi.db'}"

    @property
    def resolved_files_dir(self) -> Path:
        return self.files_dir or self.data_dir / "files"

    @property
    def resolved_datahub_dir(self) -> Path:
        return self.datahub_dir or self.data_dir / "datahub"

    @property
    def resolved_secrets_dir(self) -> Path:
        return self.secrets_dir or self.data_dir / "secrets"

    @property
    def resolved_live_sqlite_dir(self) -> Path:
        return self.live_sqlite_dir or self.data_dir / "live"

    @property
    def resolved_backup_dir(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
