"""Tables of the base-registry service: the call log and the grants of registry functions to departments.

The log never holds an identifier in clear: the subject is a keyed hash (to trace the calls about one
person) and a masked form (to read). Rows carry the caller's division code so the table can be
partitioned by tenant later.
"""

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
from wanshi.infra.tables import BigId

call = Table(
    "registry_call",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_user_id", BigInteger, nullable=True),
    Column("organisation_id", BigInteger, nullable=True),
    Column("division_code", String(6), nullable=False, server_default=""),
    Column("purpose", String(200), nullable=False),
    Column("operation", String(30), nullable=False),
    Column("subject_hash", String(64), nullable=False),
    Column("subject_masked", String(40), nullable=False),
    Column("result", String(30), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("request_id", String(64), nullable=False, server_default=""),
    Index("ix_registry_call_at", "at"),
    Index("ix_registry_call_organisation_id_at", "organisation_id", "at"),
    Index("ix_registry_call_subject_hash", "subject_hash"),
)

grant = Table(
    "registry_grant",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("organisation_id", BigInteger, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("operations", JSON, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("granted_by", String(120), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("organisation_id"),
)
