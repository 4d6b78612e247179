"""Tables of quality operations.

Resources belong to the catalogue, organisations to org, tickets to tickets, loads to ingest: they are
referred to by id (and code) only, never by foreign key. Every row carries the provider's division code so
the tables can be partitioned by tenant later; runs carry the provider organisation, copied at run time,
so the dashboard groups by department without asking the catalogue about every run.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

rule_set = Table(
    "quality_rule_set",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("resource_id", BigInteger, nullable=False),
    Column("resource_code", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("provider_organisation_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("dataset", String(63), nullable=False),
    Column("rule_count", Integer, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("resource_id", "version"),
)

run = Table(
    "quality_run",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("resource_id", BigInteger, nullable=False),
    Column("resource_code", String(20), nullable=False),
    Column("resource_name", String(200), nullable=False),
    Column("provider_organisation_id", BigInteger, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("dataset", String(63), nullable=False),
    Column("rule_set_version", Integer, nullable=False),
    Column("load_id", BigInteger, nullable=True),
    Column("rows", BigInteger, nullable=False),
    Column("score", Float, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("detail", String(200), nullable=False, server_default=""),
    # Set once the run's tickets are opened, updated or closed: a sweep finishes what a crash left undone.
    Column("tickets_synced", Boolean, nullable=False, server_default=false()),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_quality_run_resource_id_at", "resource_id", "at"),
    Index("ix_quality_run_division_code_at", "division_code", "at"),
    Index("ix_quality_run_provider_organisation_id_at", "provider_organisation_id", "at"),
)

rule_result = Table(
    "quality_rule_result",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", BigId, ForeignKey("quality_run.id"), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("rule_id", String(100), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("field", String(63), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("checked", BigInteger, nullable=False),
    Column("failed", BigInteger, nullable=False),
    # Masked keys of some failing rows: never the raw identifiers.
    Column("sample_keys", JSON, nullable=False),
    Column("ticket_id", BigInteger, nullable=True),
    UniqueConstraint("run_id", "rule_id"),
)

# One row per ticket raised for a (resource, rule); the open one is the one without closed_run_id.
ticket_link = Table(
    "quality_ticket",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("resource_id", BigInteger, nullable=False),
    Column("rule_id", String(100), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("organisation_id", BigInteger, nullable=False),
    Column("ticket_id", BigInteger, nullable=False),
    Column("ticket_number", String(20), nullable=False),
    Column("opened_run_id", BigInteger, nullable=False),
    Column("last_run_id", BigInteger, nullable=False),
    Column("closed_run_id", BigInteger, nullable=True),
    UniqueConstraint("ticket_id"),
    Index("ix_quality_ticket_resource_id_rule_id", "resource_id", "rule_id"),
)
