"""Test fixtures. WANSHI_TEST_DB chooses the database: "sqlite" (default) or a PostgreSQL URL.

`make test` runs the whole suite once per database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from wanshi.bootstrap import Platform, build_platform
from wanshi.config import Settings
from wanshi.infra.db import create_db_engine, is_sqlite
from wanshi.schema import load_metadata, seed_required_rows

TEST_DB = os.environ.get("WANSHI_TEST_DB", "sqlite")


def pytest_report_header() -> str:
    return f"wanshi test database: {'sqlite' if TEST_DB == 'sqlite' else TEST_DB}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DB == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'wanshi.db'}"
    return TEST_DB


@pytest.fixture(scope="session")
def schema_engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    metadata = load_metadata()
    with engine.begin() as conn:
        metadata.drop_all(conn)
        if not is_sqlite(database_url):
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        metadata.create_all(conn)
    yield engine
    engine.dispose()


def _empty_all_tables(engine: Engine) -> None:
    metadata = load_metadata()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        seed_required_rows(conn)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        database_url=database_url,
        worker_in_process=False,
        job_backoff_base_seconds=0.01,
        job_backoff_max_seconds=0.05,
    )


@pytest.fixture
def platform(settings: Settings, schema_engine: Engine) -> Iterator[Platform]:
    _empty_all_tables(schema_engine)
    p = build_platform(settings)
    yield p
    p.dispose()
