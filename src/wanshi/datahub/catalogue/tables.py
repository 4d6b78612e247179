"""Tables of the data resource catalogue.

Organisations belong to the org context and are referred to by id only. Every row carries the
provider's division code so the tables can be partitioned by tenant later. The resource row holds the
columns the catalogue is searched by, copied from the version readers see (the published one, else the
working one); the versions hold the full metadata snapshot.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

resource = Table(
    "catalogue_resource",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(20), nullable=False),
    Column("top_class", String(1), nullable=False),
    Column("provider_organisation_id", BigInteger, nullable=False),
    Column("provider_code", String(40), nullable=False, server_default=""),
    Column("division_code", String(6), nullable=False),
    Column("state", String(20), nullable=False),
    Column("published_version", Integer, nullable=True),
    Column("working_version", Integer, nullable=True),
    Column("name", String(200), nullable=False),
    Column("share_type", String(20), nullable=False),
    Column("open_type", String(20), nullable=False),
    Column("withdrawn_reason", Text, nullable=False, server_default=""),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("lock", Integer, nullable=False),
    UniqueConstraint("code"),
    Index("ix_catalogue_resource_division_code_state", "division_code", "state"),
    Index("ix_catalogue_resource_provider_organisation_id", "provider_organisation_id"),
)

version = Table(
    "catalogue_version",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("resource_id", BigId, ForeignKey("catalogue_resource.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("status", String(20), nullable=False),
    Column("metadata", JSON, nullable=False),
    Column("mount", JSON, nullable=True),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=True),
    Column("reviewed_by", String(120), nullable=False, server_default=""),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("review_note", Text, nullable=False, server_default=""),
    UniqueConstraint("resource_id", "number"),
)

# History: append only, one row per transition and edit, written in the change's transaction.
event = Table(
    "catalogue_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("resource_id", BigId, ForeignKey("catalogue_resource.id"), nullable=False),
    Column("version_number", Integer, nullable=True),
    Column("division_code", String(6), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("from_state", String(20), nullable=False, server_default=""),
    Column("to_state", String(20), nullable=False, server_default=""),
    Column("actor", String(120), nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_user_id", BigInteger, nullable=True),
    Column("note", Text, nullable=False, server_default=""),
    Column("detail", JSON, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_catalogue_event_resource_id_id", "resource_id", "id"),
)
