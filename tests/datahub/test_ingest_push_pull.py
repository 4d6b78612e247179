"""Pushed JSON batches with an idempotency key, and database pulls with an incremental watermark."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from wanshi.bootstrap import Platform
from wanshi.datahub.ingest import api as ingest
from wanshi.kernel.actor import SYSTEM, Actor, ActorKind, Role, RoleGrant
from wanshi.kernel.errors import Conflict, PermissionDenied
from wanshi.kernel.identifiers import generate_resident_id

SCHEMA = ingest.parse_schema(
    {
        "fields": [
            {"name": "id_number", "label": "身份证号", "required": True, "identifier": "resident_id"},
            {"name": "name", "label": "姓名", "required": True},
            {"name": "version", "label": "版本", "type": "integer"},
        ]
    }
)
CLERK = Actor(
    kind=ActorKind.STAFF,
    user_id=3,
    username="clerk",
    division_code="340100",
    grants=(RoleGrant(Role.CLERK, 1, "340100"),),
)


def _person(i: int) -> dict[str, object]:
    return {
        "id_number": generate_resident_id("340102", date(1990, 1, 1 + i), i),
        "name": f"人{i}",
        "version": i,
    }


def _push(platform: Platform, key: str, records: list[dict[str, object]]) -> ingest.Load:
    cmd = ingest.PushBatch(dataset="pushed", schema=SCHEMA, idempotency_key=key, records=tuple(records))
    with platform.uow() as uow:
        return ingest.push_batch(uow, platform.datastore, cmd, CLERK)


def test_a_pushed_batch_is_stored_once_per_idempotency_key(platform: Platform) -> None:
    records = [_person(1), _person(2), {"id_number": "123", "name": "坏", "version": "x"}]
    first = _push(platform, "batch-1", records)
    assert (first.counts.stored, first.counts.quarantined) == (2, 1)
    assert first.format is ingest.SourceFormat.PUSH

    again = _push(platform, "batch-1", records)
    assert again.repeated
    assert again.id == first.id
    assert platform.datastore.count("pushed") == 2
    with pytest.raises(Conflict):
        _push(platform, "batch-1", [_person(3)])

    # The same records under a new key are a new delivery; duplicates of stored rows are the provider's.
    assert _push(platform, "batch-2", [_person(3)]).counts.stored == 1
    assert platform.datastore.count("pushed") == 3


def test_pushing_needs_a_loading_role(platform: Platform) -> None:
    auditor = Actor(
        kind=ActorKind.STAFF, user_id=4, username="a", grants=(RoleGrant(Role.AUDIT_ADMIN, 1, "340100"),)
    )
    cmd = ingest.PushBatch(dataset="pushed", schema=SCHEMA, idempotency_key="k", records=(_person(1),))
    with platform.uow() as uow, pytest.raises(PermissionDenied):
        ingest.push_batch(uow, platform.datastore, cmd, auditor)


def test_database_pull_moves_its_watermark(platform: Platform, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'department.db'}"
    source = create_engine(url)
    with source.begin() as conn:
        conn.execute(text("CREATE TABLE person (id_number TEXT, name TEXT, version INTEGER)"))
        conn.execute(
            text("INSERT INTO person VALUES (:id_number, :name, :version)"), [_person(1), _person(2)]
        )
    cmd = ingest.PullDatabase(
        dataset="pulled", schema=SCHEMA, url=url, query="SELECT * FROM person", watermark_column="version"
    )

    def pull() -> ingest.Load:
        with platform.uow() as uow:
            return ingest.pull_database(uow, platform.datastore, cmd, SYSTEM)

    assert pull().counts.stored == 2
    assert pull().counts.read == 0
    with source.begin() as conn:
        conn.execute(text("INSERT INTO person VALUES (:id_number, :name, :version)"), [_person(3)])
    third = pull()
    assert third.counts.read == 1
    assert third.counts.stored == 1
    assert platform.datastore.count("pulled") == 3
    source.dispose()
