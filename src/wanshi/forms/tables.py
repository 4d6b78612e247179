"""Tables of the forms centre.

A form record holds the draft being designed (with a revision number that every save must quote, so two
editors cannot overwrite each other) and points at its latest published version; versions are immutable
and are what applications are checked against. History rows are written in the same transaction as the
change they record.
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
    "form_record",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(60), nullable=False),
    # form: an application form; fragment: a shared field group (共享字段组); template: a starting point.
    Column("kind", String(20), nullable=False),
    Column("organisation_id", BigInteger, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("title", String(100), nullable=False),
    Column("draft", JSON, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("latest_version", Integer, nullable=True),
    # Whether the draft differs from the latest version (so the designer can say "未发布的修改").
    Column("draft_changed", Integer, nullable=False),
    Column("archived", Integer, nullable=False, server_default="0"),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(120), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("key"),
    Index("ix_form_record_organisation_id", "organisation_id"),
    Index("ix_form_record_kind_division_code", "kind", "division_code"),
)

version = Table(
    "form_version",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("record_id", BigId, ForeignKey("form_record.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("document", JSON, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("published_by", String(120), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("record_id", "number"),
)

event = Table(
    "form_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("record_id", BigId, ForeignKey("form_record.id"), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("version", Integer, nullable=True),
    Column("note", Text, nullable=False, server_default=""),
    Column("actor", String(120), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_form_event_record_id", "record_id"),
)
