"""Tables of the notify context: the in-app inbox, channel deliveries and the sandbox gateways' outbox.

Recipients are identity's users, referred to by id only (no cross-context foreign keys).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

inbox_message = Table(
    "notify_inbox_message",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # Shared by the inbox row and the deliveries of one notice, so the admin can see them together.
    Column("notification_key", String(32), nullable=False),
    Column("tenant", String(12), nullable=False, server_default=""),
    Column("recipient_user_id", BigInteger, nullable=False),
    Column("category", String(60), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("link", String(500), nullable=False, server_default=""),
    Column("reference_type", String(60), nullable=False, server_default=""),
    Column("reference_id", String(120), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=True),
    Index("ix_notify_inbox_message_recipient", "recipient_user_id", "id"),
    # "My unread messages" and the unread badge on every page: a small partial index.
    Index(
        "ix_notify_inbox_message_unread",
        "recipient_user_id",
        "id",
        postgresql_where=text("read_at IS NULL"),
        sqlite_where=text("read_at IS NULL"),
    ),
)

delivery = Table(
    "notify_delivery",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("notification_key", String(32), nullable=False),
    Column("tenant", String(12), nullable=False, server_default=""),
    Column("channel", String(10), nullable=False),
    Column("recipient_user_id", BigInteger, nullable=True),
    Column("category", String(60), nullable=False),
    # Full while pending (the gateway needs it); replaced by its masked form once sent or failed.
    Column("address", String(254), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("gateway", String(40), nullable=True),
    Column("gateway_message_id", String(120), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Index("ix_notify_delivery_notification_key", "notification_key"),
    Index("ix_notify_delivery_status", "status", "id"),
)

sandbox_message = Table(
    "notify_sandbox_message",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", String(10), nullable=False),
    Column("address", String(254), nullable=False),
    Column("subject", String(200), nullable=False, server_default=""),
    Column("body", Text, nullable=False),
    # The key the gateway was given (one per delivery): a send repeated after a retry adds nothing.
    Column("idempotency_key", String(120), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("idempotency_key"),
    Index("ix_notify_sandbox_message_channel", "channel", "id"),
)
