"""Persistence of resources, their versions and their history. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, insert, or_, select, update
from sqlalchemy.orm import Session

from wanshi.datahub.catalogue.domain import (
    EventKind,
    HistoryEntry,
    Metadata,
    Mount,
    OpenType,
    Resource,
    ResourceState,
    ShareType,
    TopClass,
    Version,
    VersionStatus,
    classify,
)
from wanshi.datahub.catalogue.tables import event, resource, version
from wanshi.kernel import clock
from wanshi.org.api import scope_filter


def _utc(value: Any) -> Any:
    return clock.as_utc(value) if value is not None else None


def _resource(row: Any) -> Resource:
    return Resource(
        id=int(row.id),
        code=row.code,
        provider_organisation_id=int(row.provider_organisation_id),
        provider_code=row.provider_code,
        division_code=row.division_code,
        state=ResourceState(row.state),
        published_version=row.published_version,
        working_version=row.working_version,
        created_by=row.created_by,
        created_at=clock.as_utc(row.created_at),
        updated_at=clock.as_utc(row.updated_at),
        lock=int(row.lock),
        withdrawn_reason=row.withdrawn_reason,
    )


def _resource_values(r: Resource, shown: Metadata) -> dict[str, Any]:
    return {
        "code": r.code,
        "top_class": classify(r.code).top.value,
        "provider_organisation_id": r.provider_organisation_id,
        "provider_code": r.provider_code,
        "division_code": r.division_code,
        "state": r.state.value,
        "published_version": r.published_version,
        "working_version": r.working_version,
        "name": shown.name,
        "share_type": shown.share_type.value,
        "open_type": shown.open_type.value,
        "withdrawn_reason": r.withdrawn_reason,
        "created_by": r.created_by,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "lock": r.lock,
    }


def add_resource(session: Session, new: Resource, shown: Metadata) -> int:
    stmt = insert(resource).values(**_resource_values(new, shown)).returning(resource.c.id)
    return int(session.execute(stmt).scalar_one())


def get_resource(session: Session, resource_id: int, *, for_update: bool = False) -> Resource | None:
    stmt = select(resource).where(resource.c.id == resource_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return _resource(row) if row else None


def find_by_code(session: Session, code: str, *, for_update: bool = False) -> Resource | None:
    stmt = select(resource).where(resource.c.code == code)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).first()
    return _resource(row) if row else None


def save_resource(session: Session, changed: Resource, shown: Metadata) -> bool:
    """Write unless someone changed the resource since it was read; returns whether it was written."""
    values = _resource_values(changed, shown)
    values["lock"] = changed.lock + 1
    result = session.execute(
        update(resource).where(resource.c.id == changed.id, resource.c.lock == changed.lock).values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- versions ---------------------------------------------------------------------------------------------
def _version(row: Any) -> Version:
    return Version(
        resource_id=int(row.resource_id),
        number=int(row.number),
        status=VersionStatus(row.status),
        metadata=Metadata.of(row.metadata),
        mount=Mount.of(row.mount) if row.mount else None,
        created_by=row.created_by,
        created_at=clock.as_utc(row.created_at),
        updated_at=clock.as_utc(row.updated_at),
        submitted_at=_utc(row.submitted_at),
        reviewed_by=row.reviewed_by,
        reviewed_at=_utc(row.reviewed_at),
        review_note=row.review_note,
    )


def _version_values(v: Version) -> dict[str, Any]:
    return {
        "status": v.status.value,
        "metadata": v.metadata.as_dict(),
        "mount": v.mount.as_dict() if v.mount else None,
        "updated_at": v.updated_at,
        "submitted_at": v.submitted_at,
        "reviewed_by": v.reviewed_by,
        "reviewed_at": v.reviewed_at,
        "review_note": v.review_note,
    }


def add_version(session: Session, new: Version, division_code: str) -> None:
    session.execute(
        insert(version).values(
            resource_id=new.resource_id,
            number=new.number,
            division_code=division_code,
            created_by=new.created_by,
            created_at=new.created_at,
            **_version_values(new),
        )
    )


def save_version(session: Session, changed: Version) -> None:
    session.execute(
        update(version)
        .where(version.c.resource_id == changed.resource_id, version.c.number == changed.number)
        .values(**_version_values(changed))
    )


def get_version(session: Session, resource_id: int, number: int) -> Version | None:
    row = session.execute(
        select(version).where(version.c.resource_id == resource_id, version.c.number == number)
    ).first()
    return _version(row) if row else None


def list_versions(session: Session, resource_id: int) -> list[Version]:
    rows = session.execute(
        select(version).where(version.c.resource_id == resource_id).order_by(version.c.number)
    )
    return [_version(r) for r in rows]


# --- history ----------------------------------------------------------------------------------------------
def add_history(session: Session, entry: HistoryEntry, division_code: str) -> int:
    stmt = (
        insert(event)
        .values(
            resource_id=entry.resource_id,
            version_number=entry.version_number,
            division_code=division_code,
            kind=entry.kind.value,
            from_state=entry.from_state,
            to_state=entry.to_state,
            actor=entry.actor,
            actor_kind=entry.actor_kind,
            actor_user_id=entry.actor_user_id,
            note=entry.note,
            detail=entry.detail,
            occurred_at=entry.occurred_at,
        )
        .returning(event.c.id)
    )
    return int(session.execute(stmt).scalar_one())


def list_history(session: Session, resource_id: int) -> list[HistoryEntry]:
    rows = session.execute(select(event).where(event.c.resource_id == resource_id).order_by(event.c.id))
    return [
        HistoryEntry(
            id=int(r.id),
            resource_id=int(r.resource_id),
            version_number=r.version_number,
            kind=EventKind(r.kind),
            from_state=r.from_state,
            to_state=r.to_state,
            actor=r.actor,
            actor_kind=r.actor_kind,
            actor_user_id=None if r.actor_user_id is None else int(r.actor_user_id),
            note=r.note,
            detail=dict(r.detail),
            occurred_at=clock.as_utc(r.occurred_at),
        )
        for r in rows
    ]


# --- search -----------------------------------------------------------------------------------------------
_VISIBLE_TO_ALL = (ResourceState.PUBLISHED.value, ResourceState.WITHDRAWN.value)


@dataclass(frozen=True)
class Visibility:
    """Published resources for every reader; others for the provider's staff and the reviewers over them.

    ``review_scopes`` None means every resource (the system itself)."""

    organisations: frozenset[int]
    review_scopes: Sequence[str] | None

    def clause(self) -> ColumnElement[bool]:
        if self.review_scopes is None:
            return resource.c.id.is_not(None)
        return or_(
            resource.c.state.in_(_VISIBLE_TO_ALL),
            resource.c.provider_organisation_id.in_(sorted(self.organisations)),
            scope_filter(resource.c.division_code, self.review_scopes),
        )


@dataclass(frozen=True)
class Filters:
    q: str = ""
    provider_organisation_id: int | None = None
    top_class: TopClass | None = None
    classification: str = ""  # a prefix of the code's 前段码, e.g. "101" for 类 1 项 01
    share_type: ShareType | None = None
    open_type: OpenType | None = None
    state: ResourceState | None = None


def _where(visibility: Visibility, filters: Filters) -> list[ColumnElement[bool]]:
    where = [visibility.clause()]
    if filters.q:
        where.append(or_(resource.c.name.contains(filters.q), resource.c.code.startswith(filters.q)))
    if filters.provider_organisation_id is not None:
        where.append(resource.c.provider_organisation_id == filters.provider_organisation_id)
    if filters.top_class is not None:
        where.append(resource.c.top_class == filters.top_class.value)
    if filters.classification:
        where.append(resource.c.code.startswith(filters.classification))
    if filters.share_type is not None:
        where.append(resource.c.share_type == filters.share_type.value)
    if filters.open_type is not None:
        where.append(resource.c.open_type == filters.open_type.value)
    if filters.state is not None:
        where.append(resource.c.state == filters.state.value)
    return where


def search(
    session: Session, visibility: Visibility, filters: Filters, *, limit: int | None, offset: int
) -> tuple[list[Resource], int]:
    where = _where(visibility, filters)
    total = session.execute(select(func.count()).select_from(resource).where(*where)).scalar_one()
    stmt = select(resource).where(*where).order_by(resource.c.code).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_resource(r) for r in session.execute(stmt)], int(total)
