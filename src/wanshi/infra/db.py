"""Database engine, metadata and sessions (SQLAlchemy 2). SQLite is the embedded default.

On SQLite every transaction starts with BEGIN IMMEDIATE: the web process and its in-process worker
both write, and a deferred transaction that later upgrades to a write lock can fail with
"database is locked" instead of waiting for the busy timeout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

# Stable constraint names so Alembic migrations are reproducible on both databases.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


# Execution option of connections that only read: on SQLite their transaction begins without a lock.
READ_ONLY = "wanshi_read_only"


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_db_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Connections are kept (a new one costs the PRAGMAs below and, on the last close, a WAL checkpoint
        # with a disk flush: measured a millisecond of every unit of work). A file database only.
        pooled = bool(database) and database != ":memory:"
        engine = create_engine(
            url,
            echo=echo,
            poolclass=QueuePool if pooled else NullPool,
            connect_args={"check_same_thread": False, "timeout": 30},
            **({"pool_size": pool_size, "max_overflow": pool_size * 2} if pooled else {}),
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_size=pool_size, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so that BEGIN IMMEDIATE is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers take no lock in WAL mode; a writer's BEGIN IMMEDIATE would queue every reader behind it
        # (and SQLite's busy handler sleeps in steps of milliseconds while it waits).
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """``read_only``: sessions for units of work that only read (see ``UnitOfWork.read_only``)."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)
