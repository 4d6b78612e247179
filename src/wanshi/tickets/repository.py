"""Persistence of tickets, their history and their daily numbering. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from wanshi.kernel import clock
from wanshi.org.api import scope_filter
from wanshi.tickets.domain import (
    ACTIVE_STATES,
    HistoryEntry,
    HistoryKind,
    Ticket,
    TicketPriority,
    TicketState,
)
from wanshi.tickets.tables import counter, event, ticket

_ACTIVE = [s.value for s in ACTIVE_STATES]


def _dialect_insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def next_sequence(session: Session, day: date) -> int:
    """The day's next number. The upsert takes the counter row's lock until the caller's commit, so
    concurrent openings queue on it instead of colliding; a rollback returns the number."""
    stmt = _dialect_insert(session)(counter).values(day_date=day, last_value=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["day_date"], set_={"last_value": counter.c.last_value + 1}
    ).returning(counter.c.last_value)
    return int(session.execute(stmt).scalar_one())


def _utc(value: Any) -> Any:
    return clock.as_utc(value) if value is not None else None


def _ticket(row: Any) -> Ticket:
    return Ticket(
        id=int(row.id),
        number=row.number,
        category=row.category,
        title=row.title,
        description=row.description,
        source_type=row.source_type,
        source_id=row.source_id,
        priority=TicketPriority(row.priority),
        organisation_id=int(row.organisation_id),
        division_code=row.division_code,
        assignee_user_id=None if row.assignee_user_id is None else int(row.assignee_user_id),
        state=TicketState(row.state),
        time_limit_amount=int(row.time_limit_amount),
        time_limit_unit=row.time_limit_unit,
        start_date=row.start_date,
        deadline_date=row.deadline_date,
        deadline_confirmed=bool(row.deadline_confirmed),
        created_by=row.created_by,
        created_by_kind=row.created_by_kind,
        created_by_user_id=None if row.created_by_user_id is None else int(row.created_by_user_id),
        creator_organisation_id=(
            None if row.creator_organisation_id is None else int(row.creator_organisation_id)
        ),
        created_at=clock.as_utc(row.created_at),
        updated_at=clock.as_utc(row.updated_at),
        resolved_at=_utc(row.resolved_at),
        closed_at=_utc(row.closed_at),
        version=int(row.version),
    )


def _values(t: Ticket) -> dict[str, Any]:
    return {
        "number": t.number,
        "category": t.category,
        "title": t.title,
        "description": t.description,
        "source_type": t.source_type,
        "source_id": t.source_id,
        "priority": t.priority.value,
        "organisation_id": t.organisation_id,
        "division_code": t.division_code,
        "assignee_user_id": t.assignee_user_id,
        "state": t.state.value,
        "time_limit_amount": t.time_limit_amount,
        "time_limit_unit": t.time_limit_unit,
        "start_date": t.start_date,
        "deadline_date": t.deadline_date,
        "deadline_confirmed": t.deadline_confirmed,
        "created_by": t.created_by,
        "created_by_kind": t.created_by_kind,
        "created_by_user_id": t.created_by_user_id,
        "creator_organisation_id": t.creator_organisation_id,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "resolved_at": t.resolved_at,
        "closed_at": t.closed_at,
        "version": t.version,
    }


def add_ticket(session: Session, new: Ticket) -> int:
    return int(session.execute(insert(ticket).values(**_values(new)).returning(ticket.c.id)).scalar_one())


def get_ticket(session: Session, ticket_id: int, *, for_update: bool = False) -> Ticket | None:
    stmt = select(ticket).where(ticket.c.id == ticket_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return _ticket(row) if row else None


def find_by_number(session: Session, number: str) -> Ticket | None:
    row = session.execute(select(ticket).where(ticket.c.number == number)).first()
    return _ticket(row) if row else None


def save_ticket(session: Session, changed: Ticket) -> bool:
    """Write a changed ticket unless someone changed it since it was read; returns whether it was written."""
    values = _values(changed)
    values["version"] = changed.version + 1
    result = session.execute(
        update(ticket).where(ticket.c.id == changed.id, ticket.c.version == changed.version).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def for_source(session: Session, source_type: str, source_id: str) -> list[Ticket]:
    rows = session.execute(
        select(ticket)
        .where(ticket.c.source_type == source_type, ticket.c.source_id == source_id)
        .order_by(ticket.c.id)
    )
    return [_ticket(r) for r in rows]


# --- history ----------------------------------------------------------------------------------------------
def _history_values(entry: HistoryEntry, division_code: str) -> dict[str, Any]:
    return {
        "ticket_id": entry.ticket_id,
        "division_code": division_code,
        "kind": entry.kind.value,
        "from_state": entry.from_state.value if entry.from_state else None,
        "to_state": entry.to_state.value if entry.to_state else None,
        "actor": entry.actor,
        "actor_kind": entry.actor_kind,
        "actor_user_id": entry.actor_user_id,
        "note": entry.note,
        "file_ids": list(entry.file_ids),
        "from_organisation_id": entry.from_organisation_id,
        "to_organisation_id": entry.to_organisation_id,
        "detail": entry.detail,
        "occurred_at": entry.occurred_at,
    }


def add_history(session: Session, entry: HistoryEntry, division_code: str) -> int:
    stmt = insert(event).values(**_history_values(entry, division_code)).returning(event.c.id)
    return int(session.execute(stmt).scalar_one())


def add_reminder(session: Session, entry: HistoryEntry, division_code: str, day: date) -> bool:
    """Record a reminder unless the ticket already had one that day; returns whether this one is new."""
    stmt = (
        _dialect_insert(session)(event)
        .values(**_history_values(entry, division_code), reminder_date=day)
        .on_conflict_do_nothing(index_elements=["ticket_id", "reminder_date"])
        # RETURNING tells whether a row was written; the row count of this upsert is -1 on PostgreSQL.
        .returning(event.c.id)
    )
    return session.execute(stmt).first() is not None


def list_history(session: Session, ticket_id: int) -> list[HistoryEntry]:
    rows = session.execute(select(event).where(event.c.ticket_id == ticket_id).order_by(event.c.id))
    return [
        HistoryEntry(
            id=int(r.id),
            ticket_id=int(r.ticket_id),
            kind=HistoryKind(r.kind),
            from_state=TicketState(r.from_state) if r.from_state else None,
            to_state=TicketState(r.to_state) if r.to_state else None,
            actor=r.actor,
            actor_kind=r.actor_kind,
            actor_user_id=None if r.actor_user_id is None else int(r.actor_user_id),
            note=r.note,
            file_ids=tuple(int(f) for f in r.file_ids),
            from_organisation_id=None if r.from_organisation_id is None else int(r.from_organisation_id),
            to_organisation_id=None if r.to_organisation_id is None else int(r.to_organisation_id),
            detail=dict(r.detail),
            occurred_at=clock.as_utc(r.occurred_at),
        )
        for r in rows
    ]


# --- queries ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Visibility:
    """Division subtrees (None: everything), plus the tickets assigned to the actor's organisations and
    those their organisations raised."""

    scopes: Sequence[str] | None
    creator_organisations: frozenset[int]
    organisations: frozenset[int] = frozenset()

    def clause(self) -> ColumnElement[bool]:
        by_division = scope_filter(ticket.c.division_code, self.scopes)
        if self.scopes is None:
            return by_division
        alternatives = [by_division]
        if self.creator_organisations:
            alternatives.append(ticket.c.creator_organisation_id.in_(sorted(self.creator_organisations)))
        if self.organisations:
            alternatives.append(ticket.c.organisation_id.in_(sorted(self.organisations)))
        return or_(*alternatives)


def _overdue(today: date) -> ColumnElement[bool]:
    return and_(ticket.c.state.in_(_ACTIVE), ticket.c.deadline_date < today)


@dataclass(frozen=True)
class Filters:
    state: TicketState | None = None
    category: str | None = None
    organisation_id: int | None = None
    overdue: bool | None = None
    q: str = ""


def _where(visibility: Visibility, filters: Filters, today: date) -> list[ColumnElement[bool]]:
    where = [visibility.clause()]
    if filters.state is not None:
        where.append(ticket.c.state == filters.state.value)
    if filters.category:
        where.append(ticket.c.category == filters.category)
    if filters.organisation_id is not None:
        where.append(ticket.c.organisation_id == filters.organisation_id)
    if filters.overdue is True:
        where.append(_overdue(today))
    elif filters.overdue is False:
        where.append(~_overdue(today))
    if filters.q:
        where.append(or_(ticket.c.number == filters.q.upper(), ticket.c.title.contains(filters.q)))
    return where


def list_tickets(
    session: Session, visibility: Visibility, filters: Filters, today: date, *, limit: int, offset: int
) -> tuple[list[Ticket], int]:
    where = _where(visibility, filters, today)
    total = session.execute(select(func.count()).select_from(ticket).where(*where)).scalar_one()
    # Work still owed first, soonest deadline first: the order a clerk works in.
    active_first = case((ticket.c.state.in_(_ACTIVE), 0), else_=1)
    rows = session.execute(
        select(ticket)
        .where(*where)
        .order_by(active_first, ticket.c.deadline_date, ticket.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [_ticket(r) for r in rows], int(total)


@dataclass(frozen=True)
class OrganisationRow:
    organisation_id: int
    by_state: dict[TicketState, int]
    overdue: int


def statistics(
    session: Session, visibility: Visibility, filters: Filters, today: date, *, organisations: int
) -> tuple[dict[TicketState, int], int, list[OrganisationRow]]:
    """Counts by state, the overdue count, and per organisation (the most active ``organisations``)."""
    where = _where(visibility, filters, today)
    overdue_flag = case((_overdue(today), 1), else_=0)
    by_state = dict.fromkeys(TicketState, 0)
    for state, count in session.execute(
        select(ticket.c.state, func.count()).where(*where).group_by(ticket.c.state)
    ):
        by_state[TicketState(state)] = int(count)
    overdue = session.execute(
        select(func.coalesce(func.sum(overdue_flag), literal(0))).where(*where)
    ).scalar_one()
    active = func.sum(case((ticket.c.state.in_(_ACTIVE), 1), else_=0))
    top = (
        select(ticket.c.organisation_id)
        .where(*where)
        .group_by(ticket.c.organisation_id)
        .order_by(active.desc(), func.count().desc(), ticket.c.organisation_id)
        .limit(organisations)
    )
    top_ids = [int(i) for i in session.execute(top).scalars()]
    counts = {i: dict.fromkeys(TicketState, 0) for i in top_ids}
    late_by = dict.fromkeys(top_ids, 0)
    if top_ids:
        for org_id, state, count, late in session.execute(
            select(ticket.c.organisation_id, ticket.c.state, func.count(), func.sum(overdue_flag))
            .where(*where, ticket.c.organisation_id.in_(top_ids))
            .group_by(ticket.c.organisation_id, ticket.c.state)
        ):
            counts[int(org_id)][TicketState(state)] = int(count)
            late_by[int(org_id)] += int(late)
    return by_state, int(overdue), [OrganisationRow(i, counts[i], late_by[i]) for i in top_ids]


def due_by(session: Session, horizon: date) -> list[Ticket]:
    """Active tickets whose deadline is on or before the horizon (overdue ones included)."""
    rows = session.execute(
        select(ticket)
        .where(ticket.c.state.in_(_ACTIVE), ticket.c.deadline_date <= horizon)
        .order_by(ticket.c.deadline_date, ticket.c.id)
    )
    return [_ticket(r) for r in rows]


def active_counting_over(session: Session, first: date, last: date) -> list[Ticket]:
    """Active tickets whose time limit counts over a date in first..last.

    A count covers the days after start_date up to the deadline (a natural-day limit also looks at the
    deadline day itself, to roll it forward), so only tickets whose count began before ``last`` and has
    not ended before ``first`` can move.
    """
    rows = session.execute(
        select(ticket)
        .where(
            ticket.c.state.in_(_ACTIVE),
            ticket.c.start_date < last,
            ticket.c.deadline_date >= first,
        )
        .order_by(ticket.c.id)
        .with_for_update()
    )
    return [_ticket(r) for r in rows]
