"""Tables of the org context: divisions, their revisions, organisations."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

division_revision = Table(
    "org_division_revision",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("revision", String(20), nullable=False),
    Column("division_count", Integer, nullable=False),
    Column("loaded_by", String(120), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)

division = Table(
    "org_division",
    metadata,
    Column("code", String(6), primary_key=True),
    Column("name", String(60), nullable=False),
    Column("level", String(12), nullable=False),
    Column("parent_code", String(6), nullable=True),
    # Codes that left the table stay (old records refer to them) but are no longer current.
    Column("active", Boolean, nullable=False),
    Column("revision", String(20), nullable=False),
    Index("ix_org_division_parent_code", "parent_code"),
)

organisation = Table(
    "org_organisation",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False),
    Column("short_name", String(60), nullable=False, server_default=""),
    Column("code", String(40), nullable=False, server_default=""),
    Column("kind", String(20), nullable=False),
    Column("division_code", String(6), ForeignKey("org_division.code"), nullable=False),
    Column("parent_id", BigId, ForeignKey("org_organisation.id"), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("division_code", "name"),
    Index("ix_org_organisation_division_code", "division_code"),
)
