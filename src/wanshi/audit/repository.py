"""Reads of the audit chain (infra_audit_entry). Never writes: only the unit of work appends entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from wanshi.audit.domain import AuditEntry
from wanshi.infra.tables import audit_entry
from wanshi.kernel.actor import division_prefix
from wanshi.org.api import scope_filter


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=int(row.seq),
        at=row.at,
        actor=row.actor,
        actor_kind=row.actor_kind,
        tenant=row.tenant,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        outcome=row.outcome,
        request_id=row.request_id,
        source_address=row.source_address,
        detail=dict(row.detail or {}),
    )


def search_entries(
    session: Session,
    *,
    scopes: Sequence[str],
    include_platform: bool,
    since: datetime | None,
    until: datetime | None,
    actor: str,
    action_prefix: str,
    object_type: str,
    object_id: str,
    outcome: str,
    tenant: str,
    request_id: str,
    limit: int,
    before_seq: int | None,
) -> tuple[list[AuditEntry], bool]:
    """Newest first; returns the page and whether older entries follow it.

    No total count: on a log of tens of millions of rows a count costs more than the page itself.
    """
    visible: ColumnElement[bool] = scope_filter(audit_entry.c.tenant, scopes)
    if include_platform:
        visible = or_(visible, audit_entry.c.tenant == "")
    where = [visible]
    if before_seq is not None:
        where.append(audit_entry.c.seq < before_seq)
    if since is not None:
        where.append(audit_entry.c.at >= since)
    if until is not None:
        where.append(audit_entry.c.at < until)
    if tenant:
        where.append(audit_entry.c.tenant.startswith(division_prefix(tenant)))
    if action_prefix:
        where.append(audit_entry.c.action.startswith(action_prefix, autoescape=True))
    for column, value in (
        (audit_entry.c.actor, actor),
        (audit_entry.c.object_type, object_type),
        (audit_entry.c.object_id, object_id),
        (audit_entry.c.outcome, outcome),
        (audit_entry.c.request_id, request_id),
    ):
        if value:
            where.append(column == value)
    rows = session.execute(
        select(audit_entry).where(*where).order_by(audit_entry.c.seq.desc()).limit(limit + 1)
    ).all()
    return [_entry(r) for r in rows[:limit]], len(rows) > limit
