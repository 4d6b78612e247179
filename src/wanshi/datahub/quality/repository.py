"""Persistence of rule sets, runs, rule results and ticket links. Repositories never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.orm import Session

from wanshi.datahub.quality.domain import (
    RuleOutcome,
    Run,
    RunKind,
    StoredRuleSet,
    TicketLink,
    Trigger,
)
from wanshi.datahub.quality.tables import rule_result, rule_set, run, ticket_link
from wanshi.kernel import clock
from wanshi.org.api import scope_filter


# --- rule sets --------------------------------------------------------------------------------------------
def _rule_set(row: Any) -> StoredRuleSet:
    return StoredRuleSet(
        resource_id=int(row.resource_id),
        resource_code=row.resource_code,
        version=int(row.version),
        text=row.text,
        dataset=row.dataset,
        rule_count=int(row.rule_count),
        created_by=row.created_by,
        created_at=clock.as_utc(row.created_at),
    )


def add_rule_set(
    session: Session, stored: StoredRuleSet, division_code: str, provider_organisation_id: int
) -> None:
    session.execute(
        insert(rule_set).values(
            resource_id=stored.resource_id,
            resource_code=stored.resource_code,
            version=stored.version,
            division_code=division_code,
            provider_organisation_id=provider_organisation_id,
            text=stored.text,
            dataset=stored.dataset,
            rule_count=stored.rule_count,
            created_by=stored.created_by,
            created_at=stored.created_at,
        )
    )


def latest_rule_set(session: Session, resource_id: int) -> StoredRuleSet | None:
    row = session.execute(
        select(rule_set)
        .where(rule_set.c.resource_id == resource_id)
        .order_by(rule_set.c.version.desc())
        .limit(1)
    ).first()
    return _rule_set(row) if row else None


def rule_set_versions(session: Session, resource_id: int) -> list[StoredRuleSet]:
    rows = session.execute(
        select(rule_set).where(rule_set.c.resource_id == resource_id).order_by(rule_set.c.version.desc())
    )
    return [_rule_set(r) for r in rows]


def resources_with_rule_sets(session: Session) -> list[int]:
    rows = session.execute(select(rule_set.c.resource_id).distinct().order_by(rule_set.c.resource_id))
    return [int(r) for r in rows.scalars()]


# --- runs -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visibility:
    """Runs of the actor's own organisations and of the divisions it oversees (None: every division)."""

    organisations: frozenset[int]
    scopes: Sequence[str] | None

    def clause(self, org_column: Any, division_column: Any) -> ColumnElement[bool]:
        if self.scopes is None:
            return division_column.is_not(None)  # type: ignore[no-any-return]
        return or_(org_column.in_(sorted(self.organisations)), scope_filter(division_column, self.scopes))


def _run(row: Any) -> Run:
    return Run(
        id=int(row.id),
        kind=RunKind(row.kind),
        resource_id=int(row.resource_id),
        resource_code=row.resource_code,
        resource_name=row.resource_name,
        provider_organisation_id=int(row.provider_organisation_id),
        division_code=row.division_code,
        dataset=row.dataset,
        rule_set_version=int(row.rule_set_version),
        load_id=None if row.load_id is None else int(row.load_id),
        rows=int(row.rows),
        score=float(row.score),
        seconds=float(row.seconds),
        trigger=Trigger(row.trigger),
        actor=row.actor,
        at=clock.as_utc(row.at),
        detail=row.detail,
    )


def add_run(session: Session, new: Run, outcomes: Sequence[RuleOutcome]) -> int:
    values = {
        "kind": new.kind.value,
        "resource_id": new.resource_id,
        "resource_code": new.resource_code,
        "resource_name": new.resource_name[:200],
        "provider_organisation_id": new.provider_organisation_id,
        "division_code": new.division_code,
        "dataset": new.dataset,
        "rule_set_version": new.rule_set_version,
        "load_id": new.load_id,
        "rows": new.rows,
        "score": new.score,
        "seconds": new.seconds,
        "trigger": new.trigger.value,
        "actor": new.actor,
        "detail": new.detail[:200],
        "at": new.at,
    }
    run_id = int(session.execute(insert(run).values(**values).returning(run.c.id)).scalar_one())
    if outcomes:
        session.execute(
            insert(rule_result),
            [
                {
                    "run_id": run_id,
                    "division_code": new.division_code,
                    "rule_id": o.rule_id,
                    "kind": o.kind,
                    "field": o.field,
                    "severity": o.severity,
                    "message": o.message,
                    "checked": o.checked,
                    "failed": o.failed,
                    "sample_keys": list(o.sample_keys),
                    "ticket_id": None,
                }
                for o in outcomes
            ],
        )
    return run_id


def get_run(session: Session, run_id: int) -> Run | None:
    row = session.execute(select(run).where(run.c.id == run_id)).first()
    return _run(row) if row else None


def outcomes(session: Session, run_id: int) -> list[RuleOutcome]:
    rows = session.execute(
        select(rule_result).where(rule_result.c.run_id == run_id).order_by(rule_result.c.id)
    )
    return [
        RuleOutcome(
            rule_id=r.rule_id,
            kind=r.kind,
            field=r.field,
            severity=r.severity,
            message=r.message,
            checked=int(r.checked),
            failed=int(r.failed),
            sample_keys=tuple(str(k) for k in r.sample_keys),
            ticket_id=None if r.ticket_id is None else int(r.ticket_id),
        )
        for r in rows
    ]


def set_result_ticket(session: Session, run_id: int, rule_id: str, ticket_id: int) -> None:
    session.execute(
        update(rule_result)
        .where(rule_result.c.run_id == run_id, rule_result.c.rule_id == rule_id)
        .values(ticket_id=ticket_id)
    )


@dataclass(frozen=True)
class RunFilters:
    resource_id: int | None = None
    organisation_id: int | None = None
    kind: RunKind | None = None
    since: datetime | None = None


def _where(visibility: Visibility, filters: RunFilters) -> list[ColumnElement[bool]]:
    where = [visibility.clause(run.c.provider_organisation_id, run.c.division_code)]
    if filters.resource_id is not None:
        where.append(run.c.resource_id == filters.resource_id)
    if filters.organisation_id is not None:
        where.append(run.c.provider_organisation_id == filters.organisation_id)
    if filters.kind is not None:
        where.append(run.c.kind == filters.kind.value)
    if filters.since is not None:
        where.append(run.c.at >= filters.since)
    return where


def list_runs(
    session: Session, visibility: Visibility, filters: RunFilters, *, limit: int | None, offset: int = 0
) -> tuple[list[Run], int]:
    where = _where(visibility, filters)
    total = session.execute(select(func.count()).select_from(run).where(*where)).scalar_one()
    stmt = select(run).where(*where).order_by(run.c.at.desc(), run.c.id.desc()).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_run(r) for r in session.execute(stmt)], int(total)


def latest_runs(session: Session, visibility: Visibility, filters: RunFilters) -> list[Run]:
    """The newest run of each (resource, kind) the filters select: the current state of each resource."""
    where = _where(visibility, filters)
    newest = (
        select(func.max(run.c.id).label("id"))
        .where(*where)
        .group_by(run.c.resource_id, run.c.kind)
        .subquery()
    )
    rows = session.execute(select(run).where(run.c.id.in_(select(newest.c.id))).order_by(run.c.resource_code))
    return [_run(r) for r in rows]


def outcomes_of(session: Session, run_ids: Sequence[int]) -> dict[int, list[RuleOutcome]]:
    found: dict[int, list[RuleOutcome]] = {i: [] for i in run_ids}
    if not run_ids:
        return found
    rows = session.execute(
        select(rule_result).where(rule_result.c.run_id.in_(list(run_ids))).order_by(rule_result.c.id)
    )
    for r in rows:
        found[int(r.run_id)].append(
            RuleOutcome(
                r.rule_id, r.kind, r.field, r.severity, r.message, int(r.checked), int(r.failed), (),
                None if r.ticket_id is None else int(r.ticket_id),
            )
        )  # fmt: skip
    return found


def mark_synced(session: Session, run_id: int) -> None:
    session.execute(update(run).where(run.c.id == run_id).values(tickets_synced=True))


def unsynced_runs(session: Session, resource_id: int) -> list[Run]:
    """Runs of the resource whose ticket step did not finish, oldest first."""
    rows = session.execute(
        select(run)
        .where(run.c.resource_id == resource_id, run.c.tickets_synced.is_(False))
        .order_by(run.c.id)
    )
    return [_run(r) for r in rows]


def newer_run_exists(session: Session, stale: Run) -> bool:
    found = session.execute(
        select(run.c.id)
        .where(run.c.resource_id == stale.resource_id, run.c.kind == stale.kind.value, run.c.id > stale.id)
        .limit(1)
    ).first()
    return found is not None


def last_load_checked(session: Session, resource_id: int) -> int | None:
    """The newest load a rule run of the resource has measured (the sweep's high-water mark)."""
    found = session.execute(
        select(func.max(run.c.load_id)).where(
            run.c.resource_id == resource_id, run.c.kind == RunKind.RULES.value
        )
    ).scalar_one()
    return None if found is None else int(found)


# --- ticket links -----------------------------------------------------------------------------------------
def _link(row: Any) -> TicketLink:
    return TicketLink(
        id=int(row.id),
        resource_id=int(row.resource_id),
        rule_id=row.rule_id,
        ticket_id=int(row.ticket_id),
        ticket_number=row.ticket_number,
        organisation_id=int(row.organisation_id),
        opened_run_id=int(row.opened_run_id),
        last_run_id=int(row.last_run_id),
        closed_run_id=None if row.closed_run_id is None else int(row.closed_run_id),
    )


def open_link(
    session: Session, resource_id: int, rule_id: str, *, for_update: bool = False
) -> TicketLink | None:
    stmt = (
        select(ticket_link)
        .where(
            ticket_link.c.resource_id == resource_id,
            ticket_link.c.rule_id == rule_id,
            ticket_link.c.closed_run_id.is_(None),
        )
        .order_by(ticket_link.c.id.desc())
        .limit(1)
    )
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return _link(row) if row else None


def add_link(session: Session, link: TicketLink, division_code: str) -> None:
    session.execute(
        insert(ticket_link).values(
            resource_id=link.resource_id,
            rule_id=link.rule_id,
            division_code=division_code,
            organisation_id=link.organisation_id,
            ticket_id=link.ticket_id,
            ticket_number=link.ticket_number,
            opened_run_id=link.opened_run_id,
            last_run_id=link.last_run_id,
            closed_run_id=None,
        )
    )


def touch_link(session: Session, link_id: int, run_id: int, *, closed: bool = False) -> None:
    values: dict[str, Any] = {"last_run_id": run_id}
    if closed:
        values["closed_run_id"] = run_id
    session.execute(update(ticket_link).where(ticket_link.c.id == link_id).values(**values))


def links_of_run(session: Session, resource_id: int, run_id: int) -> list[TicketLink]:
    """Tickets this run opened, commented, reopened or closed."""
    rows = session.execute(
        select(ticket_link)
        .where(
            ticket_link.c.resource_id == resource_id,
            or_(ticket_link.c.opened_run_id == run_id, ticket_link.c.last_run_id == run_id),
        )
        .order_by(ticket_link.c.id)
    )
    return [_link(r) for r in rows]
