"""Persistence of the working-day calendar. Repositories never commit: the service owns the transaction."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from wanshi.kernel.clock import as_utc
from wanshi.workdays.domain import DayOverride, OverrideView, YearSchedule, YearScheduleView
from wanshi.workdays.tables import override, revision, year_schedule

REVISION_ID = 1


def lock_calendar(session: Session, now: datetime) -> None:
    """Give the calendar a new revision token; call first in every change.

    The upsert takes the revision row's lock, so changes to the calendar run one after another on
    PostgreSQL (SQLite serialises all writers anyway) and a read-then-write inside a change cannot race.
    """
    values = {"id": REVISION_ID, "token": uuid.uuid4().hex, "changed_at": now}
    # A calendar this transaction read before changing it is stale from here on (see load_calendar).
    session.info.pop("workdays.calendar", None)
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = dialect_insert(revision).values(**values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"], set_={"token": stmt.excluded.token, "changed_at": stmt.excluded.changed_at}
        )
    )


def revision_token(session: Session) -> str:
    """The current token; empty while the calendar was never changed."""
    token = session.execute(select(revision.c.token).where(revision.c.id == REVISION_ID)).scalar_one_or_none()
    return token or ""


def get_override(session: Session, day: date) -> OverrideView | None:
    row = session.execute(select(override).where(override.c.day_date == day)).first()
    return _override_view(row) if row else None


def list_overrides(session: Session, year: int | None = None) -> list[OverrideView]:
    query = select(override).order_by(override.c.day_date)
    if year is not None:
        query = query.where(override.c.day_date.between(date(year, 1, 1), date(year, 12, 31)))
    return [_override_view(row) for row in session.execute(query)]


def add_override(session: Session, item: DayOverride, by: str, now: datetime) -> None:
    session.execute(
        insert(override).values(
            day_date=item.day,
            is_workday=item.is_workday,
            name=item.name,
            note=item.note,
            created_by=by,
            created_at=now,
            updated_by=by,
            updated_at=now,
        )
    )


def update_override(session: Session, item: DayOverride, by: str, now: datetime) -> None:
    session.execute(
        update(override)
        .where(override.c.day_date == item.day)
        .values(is_workday=item.is_workday, name=item.name, note=item.note, updated_by=by, updated_at=now)
    )


def delete_override(session: Session, day: date) -> None:
    session.execute(delete(override).where(override.c.day_date == day))


def get_year_schedule(session: Session, year: int) -> YearScheduleView | None:
    row = session.execute(select(year_schedule).where(year_schedule.c.year == year)).first()
    return _schedule_view(row) if row else None


def list_year_schedules(session: Session) -> list[YearScheduleView]:
    rows = session.execute(select(year_schedule).order_by(year_schedule.c.year))
    return [_schedule_view(row) for row in rows]


def add_year_schedule(session: Session, schedule: YearSchedule, by: str, now: datetime) -> None:
    session.execute(
        insert(year_schedule).values(
            year=schedule.year,
            notice=schedule.notice,
            document=schedule.to_document(),
            created_by=by,
            created_at=now,
            updated_by=by,
            updated_at=now,
        )
    )


def replace_year_schedule(session: Session, schedule: YearSchedule, by: str, now: datetime) -> None:
    session.execute(
        update(year_schedule)
        .where(year_schedule.c.year == schedule.year)
        .values(notice=schedule.notice, document=schedule.to_document(), updated_by=by, updated_at=now)
    )


def _override_view(row: Any) -> OverrideView:
    return OverrideView(
        override=DayOverride(row.day_date, bool(row.is_workday), row.name, row.note),
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
        updated_by=row.updated_by,
        updated_at=as_utc(row.updated_at),
    )


def _schedule_view(row: Any) -> YearScheduleView:
    return YearScheduleView(
        # Stored documents passed the same validation when imported.
        schedule=YearSchedule.parse(row.document),
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
        updated_by=row.updated_by,
        updated_at=as_utc(row.updated_at),
    )
