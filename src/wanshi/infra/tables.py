"""Tables owned by the infrastructure: audit chain, outbox, jobs, schedules, files."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wanshi.infra.db import metadata

# BigInteger ids become INTEGER PRIMARY KEY (rowid) on SQLite, BIGINT identity on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")

audit_entry = Table(
    "infra_audit_entry",
    metadata,
    Column("seq", BigId, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("tenant", String(12), nullable=False, server_default=""),
    Column("action", String(120), nullable=False),
    Column("object_type", String(60), nullable=False, server_default=""),
    Column("object_id", String(120), nullable=False, server_default=""),
    Column("outcome", String(20), nullable=False),
    Column("request_id", String(64), nullable=False, server_default=""),
    Column("source_address", String(64), nullable=False, server_default=""),
    Column("detail", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_infra_audit_entry_at", "at"),
    Index("ix_infra_audit_entry_tenant_at", "tenant", "at"),
    Index("ix_infra_audit_entry_action", "action"),
)

# One row: the chain's tip (detects deletion of the newest entries) and the anchor left by retention purges.
audit_head = Table(
    "infra_audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
    Column("anchor_seq", BigInteger, nullable=False),
    Column("anchor_hash", String(64), nullable=False),
)

outbox_event = Table(
    "infra_outbox_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("event_type", String(120), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("request_id", String(64), nullable=False, server_default=""),
    Column("dispatched_at", DateTime(timezone=True), nullable=True),
    Index("ix_infra_outbox_event_pending", "dispatched_at", "id"),
)

job = Table(
    "infra_job",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(120), nullable=False),
    Column("payload", JSON, nullable=False),
    # Same key, same job: enqueueing twice (retries, duplicate events, schedules) adds nothing.
    Column("idempotency_key", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False),
    Column("run_at", DateTime(timezone=True), nullable=False),
    Column("locked_by", String(80), nullable=True),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("idempotency_key"),
    Index("ix_infra_job_ready", "status", "run_at"),
)

schedule = Table(
    "infra_schedule",
    metadata,
    Column("name", String(120), primary_key=True),
    Column("kind", String(120), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("next_run_at", DateTime(timezone=True), nullable=False),
    Column("enabled", Integer, nullable=False, server_default="1"),
)
