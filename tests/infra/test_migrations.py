"""One Alembic history: up and down on both databases, and the models match the head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from wanshi.bootstrap import build_platform, migrate_database
from wanshi.config import Settings
from wanshi.infra import audit
from wanshi.infra.db import create_db_engine
from wanshi.infra.migrations import downgrade, head_revision, upgrade
from wanshi.schema import load_metadata
from wanshi.web.app import create_app


def test_upgrade_matches_models_then_downgrade_leaves_nothing(empty_database_url: str) -> None:
    engine = create_db_engine(empty_database_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), load_metadata()
            )
            assert diff == [], f"models and migrations differ: {diff}"
            assert MigrationContext.configure(conn).get_current_revision() == head_revision()
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert "infra_audit_entry" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_migrated_platform_is_ready_and_its_audit_chain_starts_clean(
    empty_database_url: str, tmp_path: object
) -> None:
    settings = Settings(
        env="test", database_url=empty_database_url, data_dir=tmp_path, worker_in_process=False
    )  # type: ignore[arg-type]
    platform = build_platform(settings)
    try:
        with TestClient(create_app(platform)) as client:
            assert client.get("/readyz").status_code == 503
            migrate_database(platform)
            migrate_database(platform)  # a second run changes nothing
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
        with platform.engine.connect() as conn:
            assert audit.verify(conn).ok
    finally:
        platform.dispose()
