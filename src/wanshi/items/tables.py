"""Tables of the service-item catalogue.

Organisations belong to the org context and are referred to by id only. Every row carries its division code
so the tables can be partitioned by tenant later. The record row holds the columns the catalogue is browsed
and filtered by, copied from the version readers see; versions hold the whole document.
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

record = Table(
    "item_record",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("code", String(80), nullable=False),
    Column("basic_code", String(20), nullable=False, server_default=""),
    Column("organisation_id", BigInteger, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("state", String(20), nullable=False),
    Column("published_version", Integer, nullable=True),
    Column("working_version", Integer, nullable=True),
    Column("name", String(200), nullable=False),
    Column("item_type", String(2), nullable=False, server_default=""),
    Column("audience", String(40), nullable=False, server_default=""),
    Column("withdrawn_reason", Text, nullable=False, server_default=""),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("lock", Integer, nullable=False),
    UniqueConstraint("code"),
    Index("ix_item_record_kind_state_division_code", "kind", "state", "division_code"),
    Index("ix_item_record_basic_code", "basic_code"),
    Index("ix_item_record_organisation_id", "organisation_id"),
)

version = Table(
    "item_version",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("record_id", BigId, ForeignKey("item_record.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("status", String(20), nullable=False),
    Column("document", JSON, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=True),
    Column("reviewed_by", String(120), nullable=False, server_default=""),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("review_note", Text, nullable=False, server_default=""),
    UniqueConstraint("record_id", "number"),
)

# History: append only, one row per transition and edit, written in the change's transaction.
event = Table(
    "item_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("record_id", BigId, ForeignKey("item_record.id"), nullable=False),
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
    Index("ix_item_event_record_id_id", "record_id", "id"),
    Index("ix_item_event_kind_id", "kind", "id"),
)
