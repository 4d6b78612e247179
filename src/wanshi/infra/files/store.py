"""The file store: uploads checked by content, stored once per content, recorded in the caller's transaction.

``FileStore`` has no permission rules of its own: the service that owns the record a file belongs to
decides who may upload or read it, then calls ``put``/``open`` inside its unit of work and commits.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from wanshi.config import Settings
from wanshi.infra.files.blobstore import BlobStore, BlobTooLargeError, ByteSource, LocalDiskBlobStore
from wanshi.infra.files.scan import Scanner, SignatureScanner
from wanshi.infra.files.sniff import EXECUTABLE_TYPES, sniff_media_type
from wanshi.infra.files.tables import file, file_blob
from wanshi.infra.uow import UnitOfWork
from wanshi.kernel import clock
from wanshi.kernel.actor import Actor
from wanshi.kernel.errors import FileRejected, NotFound

log = logging.getLogger(__name__)

_MIB = 1024 * 1024
_MAX_FILENAME = 255
# Path separators, characters Windows forbids, and controls: the name is shown and offered back on
# download (Content-Disposition), where these break headers or land the file outside the download
# folder. Leading dots go too, so that no name reads as "..", "." or a hidden file.
_UNSAFE_FILENAME_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


@dataclass(frozen=True)
class StoredFile:
    id: int
    sha256: str
    filename: str
    media_type: str
    size: int
    tenant: str
    owner_kind: str
    owner_id: str
    uploaded_by: str
    created_at: datetime


@dataclass(frozen=True)
class _Verdict:
    media_type: str
    scan_detail: str


class FileStore:
    def __init__(
        self,
        blobs: BlobStore,
        *,
        max_bytes: int,
        allowed_types: Iterable[str],
        scanner: Scanner | None = None,
    ) -> None:
        self.blobs = blobs
        self._max_bytes = max_bytes
        self._allowed_types = frozenset(allowed_types)
        self._scanner = scanner or SignatureScanner()

    @classmethod
    def from_settings(cls, settings: Settings, *, scanner: Scanner | None = None) -> FileStore:
        return cls(
            LocalDiskBlobStore(settings.resolved_files_dir),
            max_bytes=settings.file_max_bytes,
            allowed_types=settings.file_allowed_types,
            scanner=scanner,
        )

    def put(
        self,
        uow: UnitOfWork,
        stream: ByteSource,
        filename: str,
        *,
        owner_kind: str,
        owner_id: str | int,
        tenant: str,
        actor: Actor,
    ) -> StoredFile:
        """Store an upload and record it in the caller's unit of work (which the caller commits).

        Raises FileRejected (details["reason"]: too_large, empty, executable, unsupported_type,
        infected) and then leaves nothing behind.
        """
        verdicts: list[_Verdict] = []

        def inspect(content: BinaryIO, size: int) -> None:
            verdicts.append(self._inspect(content, size))

        try:
            sha256, size = self.blobs.put_stream(stream, max_bytes=self._max_bytes, inspect=inspect)
        except BlobTooLargeError:
            limit = f"{max(round(self._max_bytes / _MIB, 2), 0.01):g}"
            raise FileRejected(
                f"文件超过大小限制（最大 {limit} MB）", reason="too_large", max_bytes=self._max_bytes
            ) from None
        verdict = verdicts[0]
        now = clock.now()
        session = uow.session
        # The blob is durable before any row names it; a concurrent upload of the same content may
        # insert the blob row first, which is fine.
        dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(
            dialect_insert(file_blob)
            .values(
                sha256=sha256,
                size=size,
                media_type=verdict.media_type,
                scan_status="clean",
                scan_detail=verdict.scan_detail[:500],
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["sha256"])
        )
        values: dict[str, Any] = {
            "blob_sha256": sha256,
            "filename": sanitize_filename(filename),
            "media_type": verdict.media_type,
            "size": size,
            "tenant": tenant,
            "owner_kind": owner_kind,
            "owner_id": str(owner_id),
            "uploaded_by": actor.label,
            "uploaded_by_kind": actor.kind.value,
            "uploaded_by_id": actor.user_id,
            "created_at": now,
        }
        file_id = session.execute(insert(file).values(**values).returning(file.c.id)).scalar_one()
        stored = _to_dto({**values, "id": file_id})
        uow.audit(
            actor,
            "file.stored",
            object_type="file",
            object_id=file_id,
            tenant=tenant,
            detail={
                "sha256": sha256,
                "size": size,
                "media_type": stored.media_type,
                "filename": stored.filename,
                "owner_kind": stored.owner_kind,
                "owner_id": stored.owner_id,
            },
        )
        return stored

    def _inspect(self, content: BinaryIO, size: int) -> _Verdict:
        if size == 0:
            raise FileRejected("文件为空", reason="empty")
        media_type = sniff_media_type(content)
        if media_type in EXECUTABLE_TYPES:
            raise FileRejected("不支持的文件类型：可执行程序", reason="executable", media_type=media_type)
        if media_type not in self._allowed_types:
            raise FileRejected(
                f"不支持的文件类型：{media_type}", reason="unsupported_type", media_type=media_type
            )
        content.seek(0)
        result = self._scanner.scan(content)
        if not result.clean:
            log.warning("upload refused by the malware scan: %s", result.detail)
            raise FileRejected("文件未通过安全扫描", reason="infected")
        return _Verdict(media_type, result.detail)

    def get(self, uow: UnitOfWork, file_id: int) -> StoredFile:
        row = uow.session.execute(select(file).where(file.c.id == file_id)).mappings().first()
        if row is None:
            raise NotFound("找不到该文件", file_id=file_id)
        return _to_dto(row)

    def open(self, uow: UnitOfWork, file_id: int) -> tuple[StoredFile, BinaryIO]:
        """The record and a reader that raises BlobCorruptedError if the bytes on storage were altered."""
        stored = self.get(uow, file_id)
        return stored, self.blobs.open(stored.sha256)


def sanitize_filename(name: str) -> str:
    """The uploader's file name as a safe display name: last path part, no controls, at most 255 chars."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_FILENAME_CHARS.sub("_", name).strip().lstrip(".")
    if len(name) > _MAX_FILENAME:
        suffix = Path(name).suffix
        if len(suffix) > 16:
            suffix = ""
        name = name[: _MAX_FILENAME - len(suffix)] + suffix
    return name or "file"


def _to_dto(row: Any) -> StoredFile:
    return StoredFile(
        id=int(row["id"]),
        sha256=row["blob_sha256"],
        filename=row["filename"],
        media_type=row["media_type"],
        size=int(row["size"]),
        tenant=row["tenant"],
        owner_kind=row["owner_kind"],
        owner_id=row["owner_id"],
        uploaded_by=row["uploaded_by"],
        created_at=clock.as_utc(row["created_at"]),
    )
