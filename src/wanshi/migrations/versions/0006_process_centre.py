"""Process centre: definitions with drafts and versions, instances, tasks, clocks, history

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 15:17:51.002255
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workflow_definition",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("draft_bpmn", sa.Text(), nullable=False),
        sa.Column("draft_dmn", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=True),
        sa.Column("draft_changed", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_definition")),
        sa.UniqueConstraint("key", name=op.f("uq_workflow_definition_key")),
    )
    with op.batch_alter_table("workflow_definition", schema=None) as batch_op:
        batch_op.create_index("ix_workflow_definition_organisation_id", ["organisation_id"], unique=False)

    op.create_table(
        "workflow_event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("definition_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_event")),
    )
    with op.batch_alter_table("workflow_event", schema=None) as batch_op:
        batch_op.create_index("ix_workflow_event_definition_id", ["definition_id"], unique=False)
        batch_op.create_index("ix_workflow_event_instance_id", ["instance_id"], unique=False)

    op.create_table(
        "workflow_version",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("definition_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("process_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("bpmn", sa.Text(), nullable=False),
        sa.Column("dmn", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("deployed_by", sa.String(length=120), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["workflow_definition.id"],
            name=op.f("fk_workflow_version_definition_id_workflow_definition"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_version")),
        sa.UniqueConstraint("definition_id", "number", name=op.f("uq_workflow_version_definition_id_number")),
    )
    op.create_table(
        "workflow_instance",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("definition_key", sa.String(length=60), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("business_key", sa.String(length=100), server_default="", nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=120), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_timer_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["workflow_version.id"],
            name=op.f("fk_workflow_instance_version_id_workflow_version"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_instance")),
    )
    with op.batch_alter_table("workflow_instance", schema=None) as batch_op:
        batch_op.create_index("ix_workflow_instance_business_key", ["business_key"], unique=False)
        batch_op.create_index(
            "ix_workflow_instance_definition_key_status", ["definition_key", "status"], unique=False
        )
        batch_op.create_index("ix_workflow_instance_next_timer_at", ["next_timer_at"], unique=False)

    op.create_table(
        "workflow_clock",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("definition_key", sa.String(length=60), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("limit_amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("pauses", sa.JSON(), nullable=False),
        sa.Column("stopped_on", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("warn_on", sa.Date(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["workflow_instance.id"],
            name=op.f("fk_workflow_clock_instance_id_workflow_instance"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_clock")),
        sa.UniqueConstraint("instance_id", "kind", name=op.f("uq_workflow_clock_instance_id_kind")),
    )
    with op.batch_alter_table("workflow_clock", schema=None) as batch_op:
        batch_op.create_index(
            "ix_workflow_clock_stopped_on_due_date", ["stopped_on", "due_date"], unique=False
        )

    op.create_table(
        "workflow_task",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("task_uuid", sa.String(length=36), nullable=False),
        sa.Column("element_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("form_key", sa.String(length=60), server_default="", nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=True),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_name", sa.String(length=120), server_default="", nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=120), server_default="", nullable=False),
        sa.Column("outcome", sa.String(length=40), server_default="", nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("pause", sa.String(length=20), server_default="", nullable=False),
        sa.Column("delegated_by", sa.String(length=120), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["workflow_instance.id"],
            name=op.f("fk_workflow_task_instance_id_workflow_instance"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_task")),
    )
    with op.batch_alter_table("workflow_task", schema=None) as batch_op:
        batch_op.create_index("ix_workflow_task_assignee_id_state", ["assignee_id", "state"], unique=False)
        batch_op.create_index(
            "ix_workflow_task_instance_id_task_uuid", ["instance_id", "task_uuid"], unique=False
        )
        batch_op.create_index(
            "ix_workflow_task_state_organisation_id", ["state", "organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("workflow_task", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_task_state_organisation_id")
        batch_op.drop_index("ix_workflow_task_instance_id_task_uuid")
        batch_op.drop_index("ix_workflow_task_assignee_id_state")

    op.drop_table("workflow_task")
    with op.batch_alter_table("workflow_clock", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_clock_stopped_on_due_date")

    op.drop_table("workflow_clock")
    with op.batch_alter_table("workflow_instance", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_instance_next_timer_at")
        batch_op.drop_index("ix_workflow_instance_definition_key_status")
        batch_op.drop_index("ix_workflow_instance_business_key")

    op.drop_table("workflow_instance")
    op.drop_table("workflow_version")
    with op.batch_alter_table("workflow_event", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_event_instance_id")
        batch_op.drop_index("ix_workflow_event_definition_id")

    op.drop_table("workflow_event")
    with op.batch_alter_table("workflow_definition", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_definition_organisation_id")

    op.drop_table("workflow_definition")
