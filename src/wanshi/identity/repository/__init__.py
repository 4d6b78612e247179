"""Persistence of accounts and role grants. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from wanshi.identity.domain import StaffUser
from wanshi.identity.tables import role_grant, user
from wanshi.kernel.actor import Role, RoleGrant
from wanshi.org.api import scope_filter


def _grants(session: Session, user_ids: Sequence[int]) -> dict[int, tuple[RoleGrant, ...]]:
    found: dict[int, list[RoleGrant]] = {uid: [] for uid in user_ids}
    if user_ids:
        rows = session.execute(
            select(role_grant).where(role_grant.c.user_id.in_(user_ids)).order_by(role_grant.c.id)
        )
        for r in rows:
            found[int(r.user_id)].append(RoleGrant(Role(r.role), int(r.organisation_id), r.division_code))
    return {uid: tuple(gs) for uid, gs in found.items()}


def grants_of(session: Session, user_id: int) -> tuple[RoleGrant, ...]:
    return _grants(session, [user_id])[user_id]


def _staff(row: Any, grants: tuple[RoleGrant, ...]) -> StaffUser:
    return StaffUser(
        id=int(row.id),
        username=row.username,
        display_name=row.display_name,
        organisation_id=int(row.organisation_id),
        division_code=row.division_code,
        active=bool(row.active),
        locked_until=row.locked_until,
        grants=grants,
    )


def get_user_row(session: Session, *, user_id: int | None = None, username: str | None = None) -> Any:
    stmt = select(user)
    stmt = (
        stmt.where(user.c.id == user_id) if user_id is not None else stmt.where(user.c.username == username)
    )
    return session.execute(stmt).first()


def get_staff(session: Session, user_id: int) -> StaffUser | None:
    row = get_user_row(session, user_id=user_id)
    if row is None or row.kind != "staff":
        return None
    return _staff(row, _grants(session, [int(row.id)])[int(row.id)])


def add_user(session: Session, values: dict[str, Any]) -> int:
    return int(session.execute(insert(user).values(**values).returning(user.c.id)).scalar_one())


def update_user(session: Session, user_id: int, values: dict[str, Any]) -> None:
    session.execute(update(user).where(user.c.id == user_id).values(**values))


def add_grant(session: Session, values: dict[str, Any]) -> None:
    session.execute(insert(role_grant).values(**values))


def remove_grant(session: Session, user_id: int, role: Role, organisation_id: int) -> int:
    result = session.execute(
        delete(role_grant).where(
            role_grant.c.user_id == user_id,
            role_grant.c.role == role.value,
            role_grant.c.organisation_id == organisation_id,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def list_staff(
    session: Session, *, scopes: Sequence[str] | None, q: str, limit: int, offset: int
) -> tuple[list[StaffUser], int]:
    where = [user.c.kind == "staff", scope_filter(user.c.division_code, scopes)]
    if q:
        where.append(or_(user.c.username.contains(q), user.c.display_name.contains(q)))
    total = session.execute(select(func.count()).select_from(user).where(*where)).scalar_one()
    rows = session.execute(
        select(user).where(*where).order_by(user.c.division_code, user.c.username).limit(limit).offset(offset)
    ).all()
    grants = _grants(session, [int(r.id) for r in rows])
    return [_staff(r, grants[int(r.id)]) for r in rows], int(total)


def staff_user_ids(session: Session, organisation_ids: Sequence[int], roles: Sequence[Role]) -> list[int]:
    """Active staff accounts holding one of the roles at one of the organisations."""
    if not organisation_ids:
        return []
    rows = session.execute(
        select(user.c.id)
        .join(role_grant, role_grant.c.user_id == user.c.id)
        .where(
            role_grant.c.organisation_id.in_(sorted(set(organisation_ids))),
            role_grant.c.role.in_([r.value for r in roles]),
            user.c.active.is_(True),
            user.c.kind == "staff",
        )
        .distinct()
        .order_by(user.c.id)
    )
    return [int(i) for i in rows.scalars()]
