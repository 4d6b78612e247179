"""Foundation and the data centre's first tables: audit chain, outbox and jobs, files, divisions and
organisations, staff accounts, working days, notifications, tickets, data catalogue, ingest bookkeeping.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 04:44:51.000916
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalogue_resource",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("top_class", sa.String(length=1), nullable=False),
        sa.Column("provider_organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("provider_code", sa.String(length=40), server_default="", nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("working_version", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("share_type", sa.String(length=20), nullable=False),
        sa.Column("open_type", sa.String(length=20), nullable=False),
        sa.Column("withdrawn_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lock", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_resource")),
        sa.UniqueConstraint("code", name=op.f("uq_catalogue_resource_code")),
    )
    with op.batch_alter_table("catalogue_resource", schema=None) as batch_op:
        batch_op.create_index(
            "ix_catalogue_resource_division_code_state", ["division_code", "state"], unique=False
        )
        batch_op.create_index(
            "ix_catalogue_resource_provider_organisation_id", ["provider_organisation_id"], unique=False
        )

    op.create_table(
        "datahub_load",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("dataset", sa.String(length=63), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("load_key", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.String(length=40), server_default="", nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_stored", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_quarantined", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_duplicate", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("chunks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), server_default="", nullable=False),
        sa.Column("division_code", sa.String(length=12), server_default="", nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_by_kind", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datahub_load")),
        sa.UniqueConstraint("load_key", name="uq_datahub_load_load_key"),
    )
    with op.batch_alter_table("datahub_load", schema=None) as batch_op:
        batch_op.create_index("ix_datahub_load_dataset_started_at", ["dataset", "started_at"], unique=False)

    op.create_table(
        "datahub_push",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("dataset", sa.String(length=63), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("load_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datahub_push")),
        sa.UniqueConstraint("dataset", "idempotency_key", name="uq_datahub_push_key"),
    )
    op.create_table(
        "datahub_watermark",
        sa.Column("source_key", sa.String(length=64), nullable=False),
        sa.Column("dataset", sa.String(length=63), nullable=False),
        sa.Column("column_name", sa.String(length=120), nullable=False),
        sa.Column("value", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source_key", name=op.f("pk_datahub_watermark")),
    )
    op.create_table(
        "infra_audit_entry",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("tenant", sa.String(length=12), server_default="", nullable=False),
        sa.Column("action", sa.String(length=120), nullable=False),
        sa.Column("object_type", sa.String(length=60), server_default="", nullable=False),
        sa.Column("object_id", sa.String(length=120), server_default="", nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("request_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("source_address", sa.String(length=64), server_default="", nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_infra_audit_entry")),
    )
    with op.batch_alter_table("infra_audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_infra_audit_entry_action", ["action"], unique=False)
        batch_op.create_index("ix_infra_audit_entry_at", ["at"], unique=False)
        batch_op.create_index("ix_infra_audit_entry_tenant_at", ["tenant", "at"], unique=False)

    op.create_table(
        "infra_audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("anchor_seq", sa.BigInteger(), nullable=False),
        sa.Column("anchor_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infra_audit_head")),
    )
    op.create_table(
        "infra_file_blob",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("scan_status", sa.String(length=20), nullable=False),
        sa.Column("scan_detail", sa.String(length=500), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_infra_file_blob")),
    )
    op.create_table(
        "infra_job",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("kind", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=80), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infra_job")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_infra_job_idempotency_key")),
    )
    with op.batch_alter_table("infra_job", schema=None) as batch_op:
        batch_op.create_index("ix_infra_job_ready", ["status", "run_at"], unique=False)

    op.create_table(
        "infra_outbox_event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infra_outbox_event")),
    )
    with op.batch_alter_table("infra_outbox_event", schema=None) as batch_op:
        batch_op.create_index("ix_infra_outbox_event_pending", ["dispatched_at", "id"], unique=False)

    op.create_table(
        "infra_schedule",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=120), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_infra_schedule")),
    )
    op.create_table(
        "notify_delivery",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("notification_key", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=12), server_default="", nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient_user_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("gateway", sa.String(length=40), nullable=True),
        sa.Column("gateway_message_id", sa.String(length=120), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_delivery")),
    )
    with op.batch_alter_table("notify_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_notify_delivery_notification_key", ["notification_key"], unique=False)
        batch_op.create_index("ix_notify_delivery_status", ["status", "id"], unique=False)

    op.create_table(
        "notify_inbox_message",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("notification_key", sa.String(length=32), nullable=False),
        sa.Column("tenant", sa.String(length=12), server_default="", nullable=False),
        sa.Column("recipient_user_id", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), server_default="", nullable=False),
        sa.Column("reference_type", sa.String(length=60), server_default="", nullable=False),
        sa.Column("reference_id", sa.String(length=120), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_inbox_message")),
    )
    with op.batch_alter_table("notify_inbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_notify_inbox_message_recipient", ["recipient_user_id", "id"], unique=False)
        batch_op.create_index(
            "ix_notify_inbox_message_unread",
            ["recipient_user_id", "id"],
            unique=False,
            postgresql_where=sa.text("read_at IS NULL"),
            sqlite_where=sa.text("read_at IS NULL"),
        )

    op.create_table(
        "notify_sandbox_message",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), server_default="", nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_sandbox_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notify_sandbox_message_idempotency_key")),
    )
    with op.batch_alter_table("notify_sandbox_message", schema=None) as batch_op:
        batch_op.create_index("ix_notify_sandbox_message_channel", ["channel", "id"], unique=False)

    op.create_table(
        "org_division",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("parent_code", sa.String(length=6), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_org_division")),
    )
    with op.batch_alter_table("org_division", schema=None) as batch_op:
        batch_op.create_index("ix_org_division_parent_code", ["parent_code"], unique=False)

    op.create_table(
        "org_division_revision",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("revision", sa.String(length=20), nullable=False),
        sa.Column("division_count", sa.Integer(), nullable=False),
        sa.Column("loaded_by", sa.String(length=120), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_division_revision")),
    )
    op.create_table(
        "tickets_counter",
        sa.Column("day_date", sa.Date(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day_date", name=op.f("pk_tickets_counter")),
    )
    op.create_table(
        "tickets_ticket",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_type", sa.String(length=60), server_default="", nullable=False),
        sa.Column("source_id", sa.String(length=120), server_default="", nullable=False),
        sa.Column("priority", sa.String(length=12), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("assignee_user_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("time_limit_amount", sa.Integer(), nullable=False),
        sa.Column("time_limit_unit", sa.String(length=20), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("deadline_date", sa.Date(), nullable=False),
        sa.Column("deadline_confirmed", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_by_kind", sa.String(length=20), nullable=False),
        sa.Column("created_by_user_id", sa.BigInteger(), nullable=True),
        sa.Column("creator_organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets_ticket")),
        sa.UniqueConstraint("number", name=op.f("uq_tickets_ticket_number")),
    )
    with op.batch_alter_table("tickets_ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tickets_ticket_creator_organisation_id", ["creator_organisation_id"], unique=False
        )
        batch_op.create_index(
            "ix_tickets_ticket_division_code_state", ["division_code", "state"], unique=False
        )
        batch_op.create_index(
            "ix_tickets_ticket_organisation_id_state", ["organisation_id", "state"], unique=False
        )
        batch_op.create_index("ix_tickets_ticket_source", ["source_type", "source_id"], unique=False)
        batch_op.create_index(
            "ix_tickets_ticket_state_deadline_date", ["state", "deadline_date"], unique=False
        )

    op.create_table(
        "workdays_override",
        sa.Column("day_date", sa.Date(), nullable=False),
        sa.Column("is_workday", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day_date", name=op.f("pk_workdays_override")),
    )
    op.create_table(
        "workdays_revision",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workdays_revision")),
    )
    op.create_table(
        "workdays_year_schedule",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("notice", sa.String(length=200), server_default="", nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_workdays_year_schedule")),
    )
    op.create_table(
        "catalogue_event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("resource_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=20), server_default="", nullable=False),
        sa.Column("to_state", sa.String(length=20), server_default="", nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalogue_resource.id"],
            name=op.f("fk_catalogue_event_resource_id_catalogue_resource"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_event")),
    )
    with op.batch_alter_table("catalogue_event", schema=None) as batch_op:
        batch_op.create_index("ix_catalogue_event_resource_id_id", ["resource_id", "id"], unique=False)

    op.create_table(
        "catalogue_version",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("resource_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("mount", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=120), server_default="", nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["catalogue_resource.id"],
            name=op.f("fk_catalogue_version_resource_id_catalogue_resource"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_version")),
        sa.UniqueConstraint("resource_id", "number", name=op.f("uq_catalogue_version_resource_id_number")),
    )
    op.create_table(
        "infra_file",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("tenant", sa.String(length=12), nullable=False),
        sa.Column("owner_kind", sa.String(length=60), nullable=False),
        sa.Column("owner_id", sa.String(length=120), nullable=False),
        sa.Column("uploaded_by", sa.String(length=120), nullable=False),
        sa.Column("uploaded_by_kind", sa.String(length=20), nullable=False),
        sa.Column("uploaded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_sha256"],
            ["infra_file_blob.sha256"],
            name=op.f("fk_infra_file_blob_sha256_infra_file_blob"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_infra_file")),
    )
    with op.batch_alter_table("infra_file", schema=None) as batch_op:
        batch_op.create_index("ix_infra_file_blob_sha256", ["blob_sha256"], unique=False)
        batch_op.create_index("ix_infra_file_owner", ["owner_kind", "owner_id"], unique=False)
        batch_op.create_index("ix_infra_file_tenant_created_at", ["tenant", "created_at"], unique=False)

    op.create_table(
        "org_organisation",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("short_name", sa.String(length=60), server_default="", nullable=False),
        sa.Column("code", sa.String(length=40), server_default="", nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("parent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["division_code"],
            ["org_division.code"],
            name=op.f("fk_org_organisation_division_code_org_division"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["org_organisation.id"],
            name=op.f("fk_org_organisation_parent_id_org_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_organisation")),
        sa.UniqueConstraint("division_code", "name", name=op.f("uq_org_organisation_division_code_name")),
    )
    with op.batch_alter_table("org_organisation", schema=None) as batch_op:
        batch_op.create_index("ix_org_organisation_division_code", ["division_code"], unique=False)

    op.create_table(
        "tickets_event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("ticket_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("actor_kind", sa.String(length=20), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("file_ids", sa.JSON(), nullable=False),
        sa.Column("from_organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("to_organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("reminder_date", sa.Date(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets_ticket.id"], name=op.f("fk_tickets_event_ticket_id_tickets_ticket")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets_event")),
        sa.UniqueConstraint(
            "ticket_id", "reminder_date", name=op.f("uq_tickets_event_ticket_id_reminder_date")
        ),
    )
    with op.batch_alter_table("tickets_event", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_event_ticket_id_id", ["ticket_id", "id"], unique=False)

    op.create_table(
        "identity_user",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("division_code", sa.String(length=6), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_login_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["org_organisation.id"],
            name=op.f("fk_identity_user_organisation_id_org_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_user")),
        sa.UniqueConstraint("username", name=op.f("uq_identity_user_username")),
    )
    with op.batch_alter_table("identity_user", schema=None) as batch_op:
        batch_op.create_index("ix_identity_user_division_code", ["division_code"], unique=False)

    op.create_table(
        "identity_role_grant",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("organisation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("granted_by", sa.String(length=120), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["org_organisation.id"],
            name=op.f("fk_identity_role_grant_organisation_id_org_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["identity_user.id"],
            name=op.f("fk_identity_role_grant_user_id_identity_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_role_grant")),
        sa.UniqueConstraint(
            "user_id",
            "role",
            "organisation_id",
            name=op.f("uq_identity_role_grant_user_id_role_organisation_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("identity_role_grant")
    with op.batch_alter_table("identity_user", schema=None) as batch_op:
        batch_op.drop_index("ix_identity_user_division_code")

    op.drop_table("identity_user")
    with op.batch_alter_table("tickets_event", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_event_ticket_id_id")

    op.drop_table("tickets_event")
    with op.batch_alter_table("org_organisation", schema=None) as batch_op:
        batch_op.drop_index("ix_org_organisation_division_code")

    op.drop_table("org_organisation")
    with op.batch_alter_table("infra_file", schema=None) as batch_op:
        batch_op.drop_index("ix_infra_file_tenant_created_at")
        batch_op.drop_index("ix_infra_file_owner")
        batch_op.drop_index("ix_infra_file_blob_sha256")

    op.drop_table("infra_file")
    op.drop_table("catalogue_version")
    with op.batch_alter_table("catalogue_event", schema=None) as batch_op:
        batch_op.drop_index("ix_catalogue_event_resource_id_id")

    op.drop_table("catalogue_event")
    op.drop_table("workdays_year_schedule")
    op.drop_table("workdays_revision")
    op.drop_table("workdays_override")
    with op.batch_alter_table("tickets_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_ticket_state_deadline_date")
        batch_op.drop_index("ix_tickets_ticket_source")
        batch_op.drop_index("ix_tickets_ticket_organisation_id_state")
        batch_op.drop_index("ix_tickets_ticket_division_code_state")
        batch_op.drop_index("ix_tickets_ticket_creator_organisation_id")

    op.drop_table("tickets_ticket")
    op.drop_table("tickets_counter")
    op.drop_table("org_division_revision")
    with op.batch_alter_table("org_division", schema=None) as batch_op:
        batch_op.drop_index("ix_org_division_parent_code")

    op.drop_table("org_division")
    with op.batch_alter_table("notify_sandbox_message", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_sandbox_message_channel")

    op.drop_table("notify_sandbox_message")
    with op.batch_alter_table("notify_inbox_message", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_notify_inbox_message_unread",
            postgresql_where=sa.text("read_at IS NULL"),
            sqlite_where=sa.text("read_at IS NULL"),
        )
        batch_op.drop_index("ix_notify_inbox_message_recipient")

    op.drop_table("notify_inbox_message")
    with op.batch_alter_table("notify_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_delivery_status")
        batch_op.drop_index("ix_notify_delivery_notification_key")

    op.drop_table("notify_delivery")
    op.drop_table("infra_schedule")
    with op.batch_alter_table("infra_outbox_event", schema=None) as batch_op:
        batch_op.drop_index("ix_infra_outbox_event_pending")

    op.drop_table("infra_outbox_event")
    with op.batch_alter_table("infra_job", schema=None) as batch_op:
        batch_op.drop_index("ix_infra_job_ready")

    op.drop_table("infra_job")
    op.drop_table("infra_file_blob")
    op.drop_table("infra_audit_head")
    with op.batch_alter_table("infra_audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_infra_audit_entry_tenant_at")
        batch_op.drop_index("ix_infra_audit_entry_at")
        batch_op.drop_index("ix_infra_audit_entry_action")

    op.drop_table("infra_audit_entry")
    op.drop_table("datahub_watermark")
    op.drop_table("datahub_push")
    with op.batch_alter_table("datahub_load", schema=None) as batch_op:
        batch_op.drop_index("ix_datahub_load_dataset_started_at")

    op.drop_table("datahub_load")
    with op.batch_alter_table("catalogue_resource", schema=None) as batch_op:
        batch_op.drop_index("ix_catalogue_resource_provider_organisation_id")
        batch_op.drop_index("ix_catalogue_resource_division_code_state")

    op.drop_table("catalogue_resource")
