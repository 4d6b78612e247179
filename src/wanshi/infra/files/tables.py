"""File store tables: one row per distinct content (blob) and one per upload that refers to it."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, String, Table

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

# Content addressed: the primary key is the SHA-256 of the bytes, so identical uploads share one blob.
file_blob = Table(
    "infra_file_blob",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(127), nullable=False),
    Column("scan_status", String(20), nullable=False),
    Column("scan_detail", String(500), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

file = Table(
    "infra_file",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("blob_sha256", String(64), ForeignKey("infra_file_blob.sha256"), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("media_type", String(127), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("tenant", String(12), nullable=False),
    # Whatever record the file belongs to (a case, a licence, an import), by kind and id, never by join.
    Column("owner_kind", String(60), nullable=False),
    Column("owner_id", String(120), nullable=False),
    Column("uploaded_by", String(120), nullable=False),
    Column("uploaded_by_kind", String(20), nullable=False),
    Column("uploaded_by_id", BigInteger, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_infra_file_owner", "owner_kind", "owner_id"),
    Index("ix_infra_file_tenant_created_at", "tenant", "created_at"),
    Index("ix_infra_file_blob_sha256", "blob_sha256"),
)
