"""Test fixtures. WANSHI_TEST_DB chooses the database: "sqlite" (default) or a PostgreSQL URL.

`make test` runs the whole suite once per database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hypothesis
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from dbtools import empty_all_tables
from wanshi.bootstrap import Platform, build_platform
from wanshi.config import Settings
from wanshi.infra.db import create_db_engine
from wanshi.schema import load_metadata

TEST_DB = os.environ.get("WANSHI_TEST_DB", "sqlite")

# The suite runs on a shared two-core machine (and twice in CI, once per database): time-based health checks
# would fail on a busy moment, not on a defect. Properties are still checked on every generated example.
hypothesis.settings.register_profile(
    "wanshi", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
hypothesis.settings.load_profile("wanshi")


def pytest_report_header() -> str:
    return f"wanshi test database: {'sqlite' if TEST_DB == 'sqlite' else TEST_DB}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if TEST_DB == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'wanshi.db'}"
        return
    # A database of its own per run, so runs in parallel (and leftovers of a killed run) never collide.
    with scratch_pg_database(TEST_DB, f"wanshi_t_{os.getpid()}_{uuid.uuid4().hex[:6]}") as url:
        yield url


@contextmanager
def scratch_pg_database(server_url: str, name: str) -> Iterator[str]:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def schema_engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    metadata = load_metadata()
    with engine.begin() as conn:
        metadata.create_all(conn)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        database_url=database_url,
        worker_in_process=False,
        job_backoff_base_seconds=0.01,
        job_backoff_max_seconds=0.05,
        # Cheap hashing keeps the suite fast; production parameters are the settings' defaults.
        password_time_cost=1,
        password_memory_kib=64,
        password_parallelism=1,
    )


@pytest.fixture
def platform(settings: Settings, schema_engine: Engine) -> Iterator[Platform]:
    empty_all_tables(schema_engine)
    p = build_platform(settings)
    yield p
    p.dispose()


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind (migrations, restore targets)."""
    if TEST_DB == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_pg_database(TEST_DB, f"wanshi_e_{os.getpid()}_{uuid.uuid4().hex[:6]}") as url:
        yield url
