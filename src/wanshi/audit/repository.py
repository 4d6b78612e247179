"""Reads of the audit chain (infra_audit_entry). Never writes: only the unit of work appends entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from wanshi.audit.domain import SECURITY_KINDS, AuditEntry, SecurityKind
from wanshi.infra.tables import audit_entry
from wanshi.kernel import clock
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
    # In UTC: SQLite compares stored UTC text with the value's digits, whatever the value's zone.
    if since is not None:
        where.append(audit_entry.c.at >= clock.as_utc(since))
    if until is not None:
        where.append(audit_entry.c.at < clock.as_utc(until))
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


# --- the security view ------------------------------------------------------------------------------------
def _visible(scopes: Sequence[str] | None, include_platform: bool) -> ColumnElement[bool]:
    """Scopes None: every entry (the system's own checks)."""
    visible: ColumnElement[bool] = scope_filter(audit_entry.c.tenant, scopes)
    if include_platform:
        visible = or_(visible, audit_entry.c.tenant == "")
    return visible


def _of_kind(kind: SecurityKind) -> ColumnElement[bool]:
    rule = SECURITY_KINDS[kind]
    where: list[ColumnElement[bool]] = []
    if rule.actions:
        where.append(audit_entry.c.action.in_(rule.actions))
    if rule.action_prefix:
        where.append(audit_entry.c.action.startswith(rule.action_prefix, autoescape=True))
    if rule.outcomes:
        where.append(audit_entry.c.outcome.in_(rule.outcomes))
    return and_(true(), *where)


def _china_day(session: Session) -> ColumnElement[Any]:
    """The China calendar day of an entry, computed by the database so only one row per day comes back."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", audit_entry.c.at))
    # SQLite keeps UTC as text; China has had no daylight saving since 1991, so the offset is fixed.
    return func.date(audit_entry.c.at, "+8 hours")


def count_security_events(
    session: Session,
    *,
    scopes: Sequence[str] | None,
    include_platform: bool,
    kinds: Sequence[SecurityKind],
    since: datetime,
    recent: datetime,
) -> dict[SecurityKind, tuple[int, int]]:
    """Per kind: (entries at or after `recent`, entries at or after `since`), in one pass over the window."""
    columns = []
    for kind in kinds:
        matches = _of_kind(kind)
        columns.append(func.sum(case((and_(matches, audit_entry.c.at >= recent), 1), else_=0)))
        columns.append(func.sum(case((matches, 1), else_=0)))
    row = session.execute(
        select(*columns).where(_visible(scopes, include_platform), audit_entry.c.at >= since)
    ).one()
    return {kind: (int(row[2 * i] or 0), int(row[2 * i + 1] or 0)) for i, kind in enumerate(kinds)}


def daily_security_counts(
    session: Session,
    *,
    scopes: Sequence[str] | None,
    include_platform: bool,
    kinds: Sequence[SecurityKind],
    since: datetime,
) -> dict[date, dict[SecurityKind, int]]:
    """Entries per China day and kind since the given time; days without any are absent."""
    day = _china_day(session).label("day")
    columns = [func.sum(case((_of_kind(kind), 1), else_=0)) for kind in kinds]
    rows = session.execute(
        select(day, *columns)
        .where(
            _visible(scopes, include_platform),
            audit_entry.c.at >= since,
            or_(*(_of_kind(kind) for kind in kinds)),
        )
        .group_by(day)
    ).all()
    found: dict[date, dict[SecurityKind, int]] = {}
    for row in rows:
        key = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0]))
        found[key] = {kind: int(row[i + 1] or 0) for i, kind in enumerate(kinds)}
    return found


def top_failure_sources(
    session: Session,
    *,
    scopes: Sequence[str] | None,
    include_platform: bool,
    since: datetime,
    limit: int,
) -> list[tuple[str, int]]:
    failures = func.count().label("failures")
    rows = session.execute(
        select(audit_entry.c.source_address, failures)
        .where(
            _visible(scopes, include_platform),
            audit_entry.c.at >= since,
            _of_kind(SecurityKind.FAILED_LOGIN),
        )
        .group_by(audit_entry.c.source_address)
        .order_by(failures.desc(), audit_entry.c.source_address)
        .limit(limit)
    ).all()
    return [(str(r.source_address), int(r.failures)) for r in rows]


def latest_security_events(
    session: Session,
    *,
    scopes: Sequence[str] | None,
    include_platform: bool,
    kinds: Sequence[SecurityKind],
    since: datetime,
    limit: int,
) -> list[AuditEntry]:
    rows = session.execute(
        select(audit_entry)
        .where(
            _visible(scopes, include_platform),
            audit_entry.c.at >= since,
            or_(*(_of_kind(kind) for kind in kinds)),
        )
        .order_by(audit_entry.c.seq.desc())
        .limit(limit)
    ).all()
    return [_entry(r) for r in rows]


def failure_times_of_busy_sources(
    session: Session,
    *,
    scopes: Sequence[str] | None,
    include_platform: bool,
    since: datetime,
    until: datetime,
    more_than: int,
) -> dict[str, list[tuple[datetime, int]]]:
    """(time, seq) of every failed sign-in since the given time, for addresses with more than that many.

    Only addresses over the threshold in the whole window can have a burst over it, so the rest are
    never read.
    """
    visible = and_(_visible(scopes, include_platform), audit_entry.c.at <= until)
    failed = _of_kind(SecurityKind.FAILED_LOGIN)
    busy = (
        select(audit_entry.c.source_address)
        .where(visible, audit_entry.c.at >= since, failed)
        .group_by(audit_entry.c.source_address)
        .having(func.count() > more_than)
    )
    rows = session.execute(
        select(audit_entry.c.source_address, audit_entry.c.at, audit_entry.c.seq)
        .where(visible, audit_entry.c.at >= since, failed, audit_entry.c.source_address.in_(busy))
        .order_by(audit_entry.c.source_address, audit_entry.c.at, audit_entry.c.seq)
    ).all()
    found: dict[str, list[tuple[datetime, int]]] = {}
    for row in rows:
        found.setdefault(str(row.source_address), []).append((row.at, int(row.seq)))
    return found


def repeated_lockouts(
    session: Session,
    *,
    scopes: Sequence[str] | None,
    include_platform: bool,
    since: datetime,
    until: datetime,
    more_than: int,
) -> list[tuple[str, int, datetime, datetime, int]]:
    """Accounts locked more than the given number of times: (user id, count, first, last, latest seq)."""
    count = func.count().label("locks")
    rows = session.execute(
        select(
            audit_entry.c.object_id,
            count,
            func.min(audit_entry.c.at).label("first_at"),
            func.max(audit_entry.c.at).label("last_at"),
            func.max(audit_entry.c.seq).label("last_seq"),
        )
        .where(
            _visible(scopes, include_platform),
            audit_entry.c.at >= since,
            audit_entry.c.at <= until,
            _of_kind(SecurityKind.LOCKOUT),
        )
        .group_by(audit_entry.c.object_id)
        .having(func.count() > more_than)
        .order_by(count.desc(), audit_entry.c.object_id)
    ).all()
    return [(str(r.object_id), int(r.locks), r.first_at, r.last_at, int(r.last_seq)) for r in rows]


def entries_by_seq(session: Session, seqs: Sequence[int]) -> list[AuditEntry]:
    if not seqs:
        return []
    rows = session.execute(select(audit_entry).where(audit_entry.c.seq.in_(seqs))).all()
    return [_entry(r) for r in rows]


def role_grants(
    session: Session,
    *,
    scopes: Sequence[str] | None,
    include_platform: bool,
    since: datetime,
    until: datetime,
) -> list[AuditEntry]:
    """Successful role grants, oldest first; few enough per day to read whole (the role is in the detail)."""
    rows = session.execute(
        select(audit_entry)
        .where(
            _visible(scopes, include_platform),
            audit_entry.c.at >= since,
            audit_entry.c.at <= until,
            audit_entry.c.action == "identity.role.grant",
            audit_entry.c.outcome == "success",
        )
        .order_by(audit_entry.c.seq)
    ).all()
    return [_entry(r) for r in rows]
