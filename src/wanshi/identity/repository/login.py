"""Persistence of accounts as login sees them, sessions, devices and login challenges. Never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.orm import Session

from wanshi.identity.domain import Account
from wanshi.identity.repository import grants_of
from wanshi.identity.tables import device, login_failure, login_session, otp_challenge, qr_login, user
from wanshi.kernel.actor import ActorKind, Assurance


def account_from_row(session: Session, row: Any) -> Account:
    kind = ActorKind(row.kind)
    return Account(
        id=int(row.id),
        kind=kind,
        username=row.username,
        display_name=row.display_name,
        public_id=row.public_id or "",
        active=bool(row.active),
        locked_until=row.locked_until,
        assurance=Assurance(row.assurance) if row.assurance else None,
        id_number_masked=row.id_number_masked,
        phone_masked=row.phone_masked,
        totp_enabled=row.totp_enabled_at is not None,
        organisation_id=int(row.organisation_id) if row.organisation_id is not None else None,
        division_code=row.division_code,
        grants=grants_of(session, int(row.id)) if kind is ActorKind.STAFF else (),
    )


def user_row_by(session: Session, column: str, value: str) -> Any:
    return session.execute(select(user).where(user.c[column] == value)).first()


# --- sessions -------------------------------------------------------------------------------------------
def add_session(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(login_session).values(**values))


def get_session(session: Session, session_id: str) -> Any:
    return session.execute(select(login_session).where(login_session.c.id == session_id)).first()


def session_and_user(session: Session, session_id: str) -> Any:
    """One query for the hot path of every signed-in request."""
    return session.execute(
        select(
            login_session.c.created_at.label("session_created_at"),
            login_session.c.last_seen_at,
            login_session.c.expires_at,
            login_session.c.ended_at,
            login_session.c.auth_methods,
            login_session.c.legal_person_id,
            user,
        )
        .join(user, user.c.id == login_session.c.user_id)
        .where(login_session.c.id == session_id)
    ).first()


def update_session(session: Session, session_id: str, values: dict[str, Any]) -> None:
    session.execute(update(login_session).where(login_session.c.id == session_id).values(**values))


def end_sessions_of(session: Session, user_id: int, now: datetime, reason: str, keep: str | None) -> int:
    where = [login_session.c.user_id == user_id, login_session.c.ended_at.is_(None)]
    if keep is not None:
        where.append(login_session.c.id != keep)
    result = session.execute(update(login_session).where(*where).values(ended_at=now, ended_reason=reason))
    return int(result.rowcount)  # type: ignore[attr-defined]


def live_sessions_of(session: Session, user_id: int, now: datetime) -> list[Any]:
    return list(
        session.execute(
            select(login_session)
            .where(
                login_session.c.user_id == user_id,
                login_session.c.ended_at.is_(None),
                login_session.c.expires_at > now,
            )
            .order_by(login_session.c.last_seen_at.desc())
        ).all()
    )


# --- devices --------------------------------------------------------------------------------------------
def find_device(session: Session, user_id: int, digest: str) -> Any:
    return session.execute(
        select(device).where(device.c.user_id == user_id, device.c.device_digest == digest)
    ).first()


def has_devices(session: Session, user_id: int) -> bool:
    return (
        session.execute(select(device.c.id).where(device.c.user_id == user_id).limit(1)).first() is not None
    )


def add_device(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(device).values(**values).returning(device.c.id)).scalar_one())


def touch_device(session: Session, device_id: int, now: datetime) -> None:
    session.execute(update(device).where(device.c.id == device_id).values(last_seen_at=now))


# --- one-time codes -------------------------------------------------------------------------------------
def add_otp(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(otp_challenge).values(**values))


def get_otp(session: Session, challenge_id: str) -> Any:
    return session.execute(select(otp_challenge).where(otp_challenge.c.id == challenge_id)).first()


def update_otp(session: Session, challenge_id: str, values: dict[str, Any]) -> None:
    session.execute(update(otp_challenge).where(otp_challenge.c.id == challenge_id).values(**values))


def consume_otp(session: Session, challenge_id: str, now: datetime) -> bool:
    """Compare-and-set, so two requests racing with the same code cannot both succeed."""
    result = session.execute(
        update(otp_challenge)
        .where(otp_challenge.c.id == challenge_id, otp_challenge.c.consumed_at.is_(None))
        .values(consumed_at=now)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


def otp_sent_since(session: Session, *, phone_digest: str | None, source: str | None, since: datetime) -> int:
    where = [otp_challenge.c.created_at >= since]
    if phone_digest is not None:
        where.append(otp_challenge.c.phone_digest == phone_digest)
    if source is not None:
        where.append(otp_challenge.c.source_address == source)
    return int(
        session.execute(select(func.count()).select_from(otp_challenge).where(and_(*where))).scalar_one()
    )


def last_otp_at(session: Session, phone_digest: str) -> datetime | None:
    value = session.execute(
        select(func.max(otp_challenge.c.created_at)).where(otp_challenge.c.phone_digest == phone_digest)
    ).scalar_one()
    return value  # type: ignore[no-any-return]


# --- scan to log in -------------------------------------------------------------------------------------
def add_qr(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(qr_login).values(**values))


def get_qr(session: Session, qr_id: str) -> Any:
    return session.execute(select(qr_login).where(qr_login.c.id == qr_id)).first()


def decide_qr(session: Session, qr_id: str, expected: str, values: dict[str, Any]) -> bool:
    """Moves the challenge on only from the status the caller saw (compare-and-set)."""
    result = session.execute(
        update(qr_login).where(qr_login.c.id == qr_id, qr_login.c.status == expected).values(**values)
    )
    return int(result.rowcount) == 1  # type: ignore[attr-defined]


# --- throttling and upkeep ----------------------------------------------------------------------------------
def add_login_failure(session: Session, source: str, now: datetime) -> None:
    session.execute(insert(login_failure).values(source_address=source[:64], created_at=now))


def login_failures_since(session: Session, source: str, since: datetime) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(login_failure)
            .where(login_failure.c.source_address == source[:64], login_failure.c.created_at >= since)
        ).scalar_one()
    )


def purge_login_leftovers(session: Session, *, before: datetime, sessions_before: datetime) -> int:
    """Spent codes, old failures and long-ended sessions: none of them is a record anybody needs later
    (the audit log keeps what happened)."""
    removed = 0
    for statement in (
        delete(otp_challenge).where(otp_challenge.c.expires_at < before),
        delete(qr_login).where(qr_login.c.expires_at < before),
        delete(login_failure).where(login_failure.c.created_at < before),
        delete(login_session).where(login_session.c.ended_at < sessions_before),
        delete(login_session).where(login_session.c.expires_at < sessions_before),
    ):
        removed += int(session.execute(statement).rowcount)  # type: ignore[attr-defined]
    return removed
