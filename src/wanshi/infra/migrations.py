"""Alembic, driven from code: one history under wanshi/migrations, used by the CLI, readiness and tests."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine


def _base_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("wanshi") / "migrations"))
    return config


def alembic_config(engine: Engine) -> Config:
    config = _base_config()
    # env.py takes the engine from here instead of reading a URL (no second source of settings).
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_base_config()).get_current_head()


def current_and_head(conn: Connection) -> tuple[str | None, str | None]:
    return MigrationContext.configure(conn).get_current_revision(), head_revision()
