"""Tables of the process centre.

Definitions keep a draft with a revision (as forms do) and immutable deployed versions. An instance keeps
its state (the task tree and process data, compressed, without the definition, which its version holds) and
a revision checked on every write, so two steps racing on one instance cannot both land. Tasks waiting for
people are rows of their own, for task lists; history rows are written in the same transaction as the step.
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
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wanshi.infra.db import metadata
from wanshi.infra.tables import BigId

definition = Table(
    "workflow_definition",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("key", String(60), nullable=False),
    Column("organisation_id", BigInteger, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("name", String(100), nullable=False),
    Column("draft_bpmn", Text, nullable=False),
    Column("draft_dmn", JSON, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("latest_version", Integer, nullable=True),
    Column("draft_changed", Boolean, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(120), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("key"),
    Index("ix_workflow_definition_organisation_id", "organisation_id"),
)

version = Table(
    "workflow_version",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("definition_id", BigId, ForeignKey("workflow_definition.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("process_id", String(100), nullable=False),
    Column("name", String(100), nullable=False),
    # SHA-256 of the BPMN and DMN: each process keeps the parsed definition by it, so a step reads the
    # digest with its instance and the documents only when this process has not parsed them yet.
    Column("digest", String(64), nullable=False),
    Column("bpmn", Text, nullable=False),
    Column("dmn", JSON, nullable=False),
    Column("note", Text, nullable=False, server_default=""),
    Column("deployed_by", String(120), nullable=False),
    Column("deployed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("definition_id", "number"),
)

instance = Table(
    "workflow_instance",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("version_id", BigId, ForeignKey("workflow_version.id"), nullable=False),
    Column("definition_key", String(60), nullable=False),
    Column("version_number", Integer, nullable=False),
    Column("business_key", String(100), nullable=False, server_default=""),
    Column("organisation_id", BigInteger, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("status", String(20), nullable=False),
    Column("state", LargeBinary, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("started_by", String(120), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("next_timer_at", DateTime(timezone=True), nullable=True),
    Index("ix_workflow_instance_next_timer_at", "next_timer_at"),
    Index("ix_workflow_instance_business_key", "business_key"),
    Index("ix_workflow_instance_definition_key_status", "definition_key", "status"),
)

task = Table(
    "workflow_task",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("instance_id", BigId, ForeignKey("workflow_instance.id"), nullable=False),
    Column("task_uuid", String(36), nullable=False),
    Column("element_id", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("form_key", String(60), nullable=False, server_default=""),
    Column("organisation_id", BigInteger, nullable=True),
    Column("division_code", String(6), nullable=False),
    # ",clerk,supervisor,": matched with LIKE '%,role,%' against the actor's grants.
    Column("roles", String(200), nullable=False),
    Column("assignee_id", BigInteger, nullable=True),
    Column("assignee_name", String(120), nullable=False, server_default=""),
    Column("state", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("ended_by", String(120), nullable=False, server_default=""),
    Column("outcome", String(40), nullable=False, server_default=""),
    Column("due_date", Date, nullable=True),
    Column("pause", String(20), nullable=False, server_default=""),
    Column("delegated_by", String(120), nullable=False, server_default=""),
    # Not unique: a step that was returned to runs again under its engine task id, as a new row.
    Index("ix_workflow_task_instance_id_task_uuid", "instance_id", "task_uuid"),
    Index("ix_workflow_task_state_organisation_id", "state", "organisation_id"),
    Index("ix_workflow_task_assignee_id_state", "assignee_id", "state"),
)

event = Table(
    "workflow_event",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("instance_id", BigId, nullable=True),
    Column("definition_id", BigId, nullable=True),
    Column("task_id", BigId, nullable=True),
    Column("division_code", String(6), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("actor", String(120), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail", JSON, nullable=False),
    Index("ix_workflow_event_instance_id", "instance_id"),
    Index("ix_workflow_event_definition_id", "definition_id"),
)

clock = Table(
    "workflow_clock",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("instance_id", BigId, ForeignKey("workflow_instance.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("definition_key", String(60), nullable=False),
    Column("organisation_id", BigInteger, nullable=False),
    Column("division_code", String(6), nullable=False),
    Column("started_on", Date, nullable=False),
    Column("limit_amount", Integer, nullable=False),
    Column("unit", String(20), nullable=False),
    Column("pauses", JSON, nullable=False),
    Column("stopped_on", Date, nullable=True),
    # Derived from the above and the calendar whenever either changes, so lists can filter in SQL.
    Column("due_date", Date, nullable=True),
    Column("warn_on", Date, nullable=True),
    Column("paused", Boolean, nullable=False),
    Column("late", Boolean, nullable=True),
    UniqueConstraint("instance_id", "kind"),
    Index("ix_workflow_clock_stopped_on_due_date", "stopped_on", "due_date"),
)
