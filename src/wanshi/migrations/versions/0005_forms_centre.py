"""Forms centre: form records with their drafts and revisions, published versions, history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 14:55:09.697283
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "form_record",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("organisation_id", sa.BigInteger(), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("draft", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=True),
        sa.Column("draft_changed", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_record")),
        sa.UniqueConstraint("key", name=op.f("uq_form_record_key")),
    )
    with op.batch_alter_table("form_record", schema=None) as batch_op:
        batch_op.create_index("ix_form_record_kind_division_code", ["kind", "division_code"], unique=False)
        batch_op.create_index("ix_form_record_organisation_id", ["organisation_id"], unique=False)

    op.create_table(
        "form_event",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["form_record.id"], name=op.f("fk_form_event_record_id_form_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_event")),
    )
    with op.batch_alter_table("form_event", schema=None) as batch_op:
        batch_op.create_index("ix_form_event_record_id", ["record_id"], unique=False)

    op.create_table(
        "form_version",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=6), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("published_by", sa.String(length=120), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["form_record.id"], name=op.f("fk_form_version_record_id_form_record")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_version")),
        sa.UniqueConstraint("record_id", "number", name=op.f("uq_form_version_record_id_number")),
    )


def downgrade() -> None:
    op.drop_table("form_version")
    with op.batch_alter_table("form_event", schema=None) as batch_op:
        batch_op.drop_index("ix_form_event_record_id")

    op.drop_table("form_event")
    with op.batch_alter_table("form_record", schema=None) as batch_op:
        batch_op.drop_index("ix_form_record_organisation_id")
        batch_op.drop_index("ix_form_record_kind_division_code")

    op.drop_table("form_record")
