"""Tables of legal-person accounts (法人账号) and their agents' delegations (经办人授权)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, String, Table, UniqueConstraint

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

legal_person = Table(
    "identity_legal_person",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("credit_code", String(18), nullable=False),
    Column("name", String(100), nullable=False),
    # The natural person's account of the legal representative, matched in the legal-person registry.
    Column("legal_rep_user_id", BigId, ForeignKey("identity_user.id"), nullable=False),
    Column("assurance", String(20), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("credit_code"),
    Index("ix_identity_legal_person_legal_rep", "legal_rep_user_id"),
)

delegation = Table(
    "identity_delegation",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column(
        "legal_person_id", BigId, ForeignKey("identity_legal_person.id", ondelete="CASCADE"), nullable=False
    ),
    Column("agent_user_id", BigId, ForeignKey("identity_user.id", ondelete="CASCADE"), nullable=False),
    # Space-separated names from the fixed vocabulary in domain/enterprise.py.
    Column("scopes", String(100), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),  # exclusive
    Column("granted_by_user_id", BigId, ForeignKey("identity_user.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_by", BigId, ForeignKey("identity_user.id"), nullable=True),
    Index("ix_identity_delegation_agent", "agent_user_id", "legal_person_id"),
    Index("ix_identity_delegation_legal_person", "legal_person_id"),
)
