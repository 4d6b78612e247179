"""Tables of the aggregation (归集) context: load bookkeeping, pull watermarks, pushed batches.

The rows themselves live in the analytical store; these tables say what was loaded, from where, by whom,
and whether it finished. Every row carries a division code so the tables can be partitioned by tenant.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
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
from wanshi.infra.tables import BigId

load = Table(
    "datahub_load",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("dataset", String(63), nullable=False),
    Column("source", String(500), nullable=False),
    Column("format", String(20), nullable=False),
    Column("content_hash", String(64), nullable=False),
    # SHA-256 of content, dataset, schema and mapping: the same load is recognised and never repeated.
    Column("load_key", String(64), nullable=False),
    Column("encoding", String(40), nullable=False, server_default=""),
    Column("status", String(20), nullable=False),
    Column("rows_read", BigInteger, nullable=False, server_default="0"),
    Column("rows_stored", BigInteger, nullable=False, server_default="0"),
    Column("rows_quarantined", BigInteger, nullable=False, server_default="0"),
    Column("rows_duplicate", BigInteger, nullable=False, server_default="0"),
    Column("chunks", Integer, nullable=False, server_default="0"),
    Column("error", Text, nullable=False, server_default=""),
    Column("division_code", String(12), nullable=False, server_default=""),
    Column("created_by", String(120), nullable=False),
    Column("created_by_kind", String(20), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    # The catalogue resource loaded into and its provider: a department sees its own loads.
    Column("resource_code", String(40), nullable=False, server_default=""),
    Column("organisation_id", BigInteger, nullable=True),
    UniqueConstraint("load_key", name="uq_datahub_load_load_key"),
    Index("ix_datahub_load_dataset_started_at", "dataset", "started_at"),
    Index("ix_datahub_load_organisation_id_started_at", "organisation_id", "started_at"),
)

# The newest watermark value pulled from a database source, as text (it may be a time or a number).
watermark = Table(
    "datahub_watermark",
    metadata,
    Column("source_key", String(64), primary_key=True),
    Column("dataset", String(63), nullable=False),
    Column("column_name", String(120), nullable=False),
    Column("value", String(120), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A pushed batch is identified by the pusher's idempotency key within a dataset.
push = Table(
    "datahub_push",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("dataset", String(63), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("load_id", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("dataset", "idempotency_key", name="uq_datahub_push_key"),
)

# A database-mounted resource pulled on a timer by the job runner (one schedule per resource).
pull_schedule = Table(
    "ingest_pull_schedule",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("resource_code", String(40), nullable=False),
    Column("dataset", String(63), nullable=False),
    Column("watermark_column", String(120), nullable=False),
    Column("interval_seconds", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("next_run_at", DateTime(timezone=True), nullable=False),
    Column("last_run_at", DateTime(timezone=True), nullable=True),
    Column("last_load_id", BigInteger, nullable=True),
    Column("last_status", String(20), nullable=False, server_default=""),
    Column("last_error", Text, nullable=False, server_default=""),
    Column("organisation_id", BigInteger, nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("resource_code", name="uq_ingest_pull_schedule_resource_code"),
    Index("ix_ingest_pull_schedule_enabled_next_run_at", "enabled", "next_run_at"),
)
