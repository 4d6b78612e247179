"""Tables of the tickets context.

Organisations, users and the records a ticket came from belong to other contexts: they are referred to
by id only, never by foreign key. Every row carries the assigned organisation's division code so the
tables can be partitioned by tenant later.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
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

ticket = Table(
    "tickets_ticket",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("number", String(16), nullable=False),
    Column("category", String(40), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("source_type", String(60), nullable=False, server_default=""),
    Column("source_id", String(120), nullable=False, server_default=""),
    Column("priority", String(12), nullable=False),
    Column("organisation_id", BigInteger, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("assignee_user_id", BigInteger, nullable=True),
    Column("state", String(20), nullable=False),
    Column("time_limit_amount", Integer, nullable=False),
    Column("time_limit_unit", String(20), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("deadline_date", Date, nullable=False),
    Column("deadline_confirmed", Boolean, nullable=False),
    # Who, as the audit log names them: the label stays readable after the account is gone.
    Column("created_by", String(120), nullable=False),
    Column("created_by_kind", String(20), nullable=False),
    Column("created_by_user_id", BigInteger, nullable=True),
    Column("creator_organisation_id", BigInteger, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("version", Integer, nullable=False),
    UniqueConstraint("number"),
    Index("ix_tickets_ticket_division_code_state", "division_code", "state"),
    Index("ix_tickets_ticket_organisation_id_state", "organisation_id", "state"),
    # The reminder job and the overdue filter: active tickets by deadline.
    Index("ix_tickets_ticket_state_deadline_date", "state", "deadline_date"),
    Index("ix_tickets_ticket_source", "source_type", "source_id"),
    Index("ix_tickets_ticket_creator_organisation_id", "creator_organisation_id"),
)

# History: append only. One row per transition, transfer, comment, reminder and deadline change.
event = Table(
    "tickets_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("ticket_id", BigId, ForeignKey("tickets_ticket.id"), nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=True),
    Column("actor", String(120), nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_user_id", BigInteger, nullable=True),
    Column("note", Text, nullable=False, server_default=""),
    Column("file_ids", JSON, nullable=False),
    Column("from_organisation_id", BigInteger, nullable=True),
    Column("to_organisation_id", BigInteger, nullable=True),
    Column("detail", JSON, nullable=False),
    # Set on reminders only: the unique key makes "one reminder per ticket per day" hold under retries
    # and concurrent workers (NULLs never collide, so other rows are unaffected).
    Column("reminder_date", Date, nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("ticket_id", "reminder_date"),
    Index("ix_tickets_event_ticket_id_id", "ticket_id", "id"),
)

# One row per China day: the last sequence number handed out that day. Updated inside the opening
# transaction, so a rolled-back ticket gives its number back and numbers stay gapless and unique.
counter = Table(
    "tickets_counter",
    metadata,
    Column("day_date", Date, primary_key=True),
    Column("last_value", Integer, nullable=False),
)
