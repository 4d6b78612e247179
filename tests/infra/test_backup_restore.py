"""Backup then restore into an empty database gives identical data (IN-2)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine, select

from wanshi.bootstrap import Platform
from wanshi.datahub.store import ParquetDuckDBStore
from wanshi.infra import backup
from wanshi.infra.db import create_db_engine
from wanshi.kernel import clock
from wanshi.kernel.actor import SYSTEM
from wanshi.kernel.errors import Conflict, ValidationFailed
from wanshi.org import api as org
from wanshi.schema import load_metadata


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with engine.connect() as conn:
        for table in load_metadata().sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def _some_data(platform: Platform) -> None:
    with platform.uow() as uow:
        org.load_divisions(uow, org.LoadDivisions(table_text=org.bundled_division_table()), SYSTEM)
    with platform.uow() as uow:
        org.create_organisation(
            uow, org.CreateOrganisation(name="省数据资源局", division_code="340000"), SYSTEM
        )
    with platform.uow() as uow:
        platform.files.put(
            uow,
            io.BytesIO(b"%PDF-1.4\n%test\n"),
            "a.pdf",
            owner_kind="test",
            owner_id="1",
            tenant="340000",
            actor=SYSTEM,
        )
        uow.commit()


def test_backup_then_restore_into_an_empty_database_is_identical(
    platform: Platform, empty_database_url: str, tmp_path: Path
) -> None:
    _some_data(platform)
    platform.datastore.write_batch("population", "b1", pa.table({"id": [1, 2], "name": ["张三", "李四"]}))
    before = _snapshot(platform.engine)
    result = backup.backup(
        platform.engine,
        platform.settings.resolved_files_dir,
        tmp_path / "backups",
        datahub_dir=platform.settings.resolved_datahub_dir,
        revision=None,
        at=clock.now(),
    )
    assert result.files == 1
    target = create_db_engine(empty_database_url)
    restored_files = tmp_path / "restored-files"
    try:
        backup.restore(target, restored_files, result.path, datahub_dir=tmp_path / "restored-datahub")
        assert _snapshot(target) == before
        restored_store = ParquetDuckDBStore(tmp_path / "restored-datahub")
        assert restored_store.query("SELECT name FROM population ORDER BY id").to_pylist() == [
            {"name": "张三"},
            {"name": "李四"},
        ]
        assert sorted(p.name for p in restored_files.rglob("*") if p.is_file()) == sorted(
            p.name for p in platform.settings.resolved_files_dir.rglob("*") if p.is_file()
        )
        with pytest.raises(Conflict):
            backup.restore(target, restored_files, result.path)
    finally:
        target.dispose()


def test_a_corrupted_backup_is_refused(platform: Platform, empty_database_url: str, tmp_path: Path) -> None:
    _some_data(platform)
    result = backup.backup(
        platform.engine, platform.settings.resolved_files_dir, tmp_path / "b", revision=None, at=clock.now()
    )
    with (result.path / result.database_file).open("ab") as handle:
        handle.write(b"tampered")
    target = create_db_engine(empty_database_url)
    try:
        with pytest.raises(ValidationFailed, match="校验不符"):
            backup.restore(target, tmp_path / "f", result.path)
    finally:
        target.dispose()


def test_a_missing_dump_tool_gets_a_clear_message(platform: Platform, tmp_path: Path) -> None:
    if platform.engine.dialect.name != "postgresql":
        pytest.skip("SQLite backups use the online backup API, not an external tool")
    with pytest.raises(backup.BackupToolFailed, match="找不到程序"):
        backup.backup(
            platform.engine,
            platform.settings.resolved_files_dir,
            tmp_path / "b",
            revision=None,
            at=clock.now(),
            pg_dump=str(tmp_path / "no-such-pg_dump"),
        )
