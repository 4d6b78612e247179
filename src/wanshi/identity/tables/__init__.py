"""Tables of the identity context."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

user = Table(
    "identity_user",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("display_name", String(60), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("password_hash", String(255), nullable=True),
    Column("organisation_id", BigId, ForeignKey("org_organisation.id"), nullable=True),
    Column("division_code", String(6), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("failed_login_count", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("username"),
    Index("ix_identity_user_division_code", "division_code"),
)

role_grant = Table(
    "identity_role_grant",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigId, ForeignKey("identity_user.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(30), nullable=False),
    Column("organisation_id", BigId, ForeignKey("org_organisation.id"), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("granted_by", String(120), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("user_id", "role", "organisation_id"),
)
