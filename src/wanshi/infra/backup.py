"""Backup and restore (IN-2, 等保 备份恢复): the database and the file store, with a manifest.

A backup is a folder: manifest.json (what, when, schema revision, checksums), database.sqlite3 or
database.pgdump, files/ (the content-addressed blobs) and datahub/ (the analytical store's Parquet batches),
hard-linked where the filesystem allows.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

from wanshi.kernel.errors import Conflict, ValidationFailed, WanshiError

Progress = Callable[[str, int, int], None]


class BackupToolFailed(WanshiError):
    code = "backup_tool_failed"
    default_message = "备份或恢复工具执行失败"


def _run(args: list[str]) -> None:
    """Run pg_dump or pg_restore; their error text (which does not echo passwords) becomes the message."""
    try:
        subprocess.run(args, check=True, capture_output=True, text=True)  # noqa: S603 - fixed programs
    except FileNotFoundError as exc:
        raise BackupToolFailed(f"找不到程序 {args[0]}：请安装 PostgreSQL 客户端或设置其路径") from exc
    except subprocess.CalledProcessError as exc:
        raise BackupToolFailed(f"{args[0]} 执行失败：{(exc.stderr or '').strip()[-500:]}") from exc


MANIFEST = "manifest.json"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    database_file: str
    files: int
    bytes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def libpq_url(url: str) -> str:
    """pg_dump and pg_restore want a libpq URL, not SQLAlchemy's postgresql+psycopg://."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _copy_files(source: Path, dest: Path, progress: Progress | None) -> int:
    if not source.exists():
        return 0
    # Names starting with a dot are writes in progress (temporary files): never part of a backup.
    blobs = [p for p in source.rglob("*") if p.is_file() and not p.name.startswith(".")]
    for index, blob in enumerate(blobs, start=1):
        target = dest / blob.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            try:
                os.link(blob, target)  # blobs are immutable (content-addressed): a hard link is a safe copy
            except OSError:
                shutil.copy2(blob, target)
        if progress:
            progress("files", index, len(blobs))
    return len(blobs)


def backup(
    engine: Engine,
    files_dir: Path,
    dest_root: Path,
    *,
    datahub_dir: Path | None = None,
    revision: str | None,
    at: datetime,
    pg_dump: str = "pg_dump",
    progress: Progress | None = None,
) -> BackupResult:
    dest = dest_root / at.strftime("wanshi-%Y%m%dT%H%M%SZ")
    dest.mkdir(parents=True, exist_ok=False)
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "sqlite":
        database_file = "database.sqlite3"
        source = sqlite3.connect(engine.url.database or "")
        target = sqlite3.connect(dest / database_file)
        try:
            # The online backup API copies a consistent snapshot while the platform keeps writing.
            source.backup(
                target,
                pages=256,
                progress=(lambda _s, left, total: progress("database", total - left, total))
                if progress
                else None,
            )
        finally:
            target.close()
            source.close()
    else:
        database_file = "database.pgdump"
        _run([pg_dump, "--format=custom", "--no-owner", "--file", str(dest / database_file), libpq_url(url)])
    count = _copy_files(files_dir, dest / "files", progress)
    if datahub_dir is not None:
        # Batch files are replaced by rename, never rewritten in place, so a hard link is a stable copy.
        _copy_files(datahub_dir, dest / "datahub", progress)
    manifest = {
        "format": 1,
        "created_at": at.isoformat(),
        "dialect": engine.dialect.name,
        "schema_revision": revision,
        "database_file": database_file,
        "database_sha256": _sha256(dest / database_file),
        "file_count": count,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
    return BackupResult(dest, database_file, count, size)


def read_manifest(source: Path) -> dict[str, object]:
    path = source / MANIFEST
    if not path.exists():
        raise ValidationFailed(f"{source} 不是备份目录（缺少 {MANIFEST}）", code="backup_invalid")
    manifest: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    database = source / str(manifest["database_file"])
    if not database.exists() or _sha256(database) != manifest["database_sha256"]:
        raise ValidationFailed("备份的数据库文件缺失或校验不符，拒绝恢复", code="backup_corrupt")
    return manifest


def restore(
    engine: Engine,
    files_dir: Path,
    source: Path,
    *,
    datahub_dir: Path | None = None,
    force: bool = False,
    pg_restore: str = "pg_restore",
    progress: Progress | None = None,
) -> dict[str, object]:
    manifest = read_manifest(source)
    if manifest["dialect"] != engine.dialect.name:
        raise ValidationFailed(
            f"备份来自 {manifest['dialect']}，不能恢复到 {engine.dialect.name}", code="backup_dialect"
        )
    if inspect(engine).get_table_names() and not force:
        raise Conflict("目标数据库不是空库；确认覆盖请加 --force", code="restore_target_not_empty")
    database = source / str(manifest["database_file"])
    if engine.dialect.name == "sqlite":
        engine.dispose()
        src = sqlite3.connect(database)
        dst = sqlite3.connect(engine.url.database or "")
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
    else:
        url = libpq_url(engine.url.render_as_string(hide_password=False))
        args = [pg_restore, "--no-owner", "--exit-on-error", "--dbname", url]
        if force:
            args[1:1] = ["--clean", "--if-exists"]
        engine.dispose()
        _run([*args, str(database)])
    _copy_files(source / "files", files_dir, progress)
    if datahub_dir is not None:
        _copy_files(source / "datahub", datahub_dir, progress)
    return manifest
