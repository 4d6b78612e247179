"""The file store on the test database: content typing, dedupe, limits, scanning, orphans, integrity."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from wanshi.bootstrap import Platform
from wanshi.infra.files import (
    COLLECT_ORPHANS_JOB,
    EICAR,
    BlobCorruptedError,
    FileStore,
    LocalDiskBlobStore,
    StoredFile,
    collect_orphans,
    register_jobs,
    sanitize_filename,
)
from wanshi.infra.files.blobstore import CHUNK_BYTES
from wanshi.infra.files.tables import file, file_blob
from wanshi.infra.jobs import JobRegistry, Worker
from wanshi.infra.tables import audit_entry
from wanshi.kernel.actor import Actor, ActorKind
from wanshi.kernel.errors import FileRejected, NotFound

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 100
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
CLERK = Actor(kind=ActorKind.STAFF, user_id=7, username="clerk1", division_code="340100")
TENANT = "340100"
DAY = timedelta(days=1)


@pytest.fixture
def blobs(tmp_path: Path) -> LocalDiskBlobStore:
    return LocalDiskBlobStore(tmp_path / "blobs")


@pytest.fixture
def store(platform: Platform, blobs: LocalDiskBlobStore) -> FileStore:
    s = platform.settings
    return FileStore(blobs, max_bytes=s.file_max_bytes, allowed_types=s.file_allowed_types)


def _put(
    platform: Platform, store: FileStore, data: bytes, name: str, *, commit: bool = True, owner_id: str = "1"
) -> StoredFile:
    with platform.uow() as uow:
        stored = store.put(
            uow, io.BytesIO(data), name, owner_kind="case", owner_id=owner_id, tenant=TENANT, actor=CLERK
        )
        if commit:
            uow.commit()
    return stored


def _counts(platform: Platform) -> tuple[int, int]:
    with platform.engine.connect() as conn:
        blobs = conn.execute(select(func.count()).select_from(file_blob)).scalar_one()
        files = conn.execute(select(func.count()).select_from(file)).scalar_one()
    return blobs, files


def _files_on_disk(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _reject(platform: Platform, store: FileStore, data: bytes, name: str) -> FileRejected:
    with pytest.raises(FileRejected) as caught:
        _put(platform, store, data, name)
    return caught.value


def test_pdf_named_txt_is_stored_as_pdf_with_its_rows_and_audit_entry(
    platform: Platform, store: FileStore, blobs: LocalDiskBlobStore
) -> None:
    stored = _put(platform, store, PDF, "申请表.txt")
    assert stored.media_type == "application/pdf"
    assert (stored.filename, stored.size, stored.tenant) == ("申请表.txt", len(PDF), TENANT)
    assert (stored.owner_kind, stored.owner_id, stored.uploaded_by) == ("case", "1", "clerk1")
    assert _files_on_disk(blobs.root) == [blobs.path(stored.sha256)]
    with platform.uow() as uow:
        assert store.get(uow, stored.id) == stored
        record, stream = store.open(uow, stored.id)
        with stream:
            assert stream.read() == PDF
        assert record == stored
    with platform.engine.connect() as conn:
        blob_row = conn.execute(select(file_blob)).one()
        entry = conn.execute(select(audit_entry).where(audit_entry.c.action == "file.stored")).one()
    assert (blob_row.media_type, blob_row.scan_status) == ("application/pdf", "clean")
    assert (entry.object_type, entry.object_id, entry.tenant) == ("file", str(stored.id), TENANT)
    assert entry.detail["sha256"] == stored.sha256


def test_same_content_twice_is_one_blob_and_two_files(
    platform: Platform, store: FileStore, blobs: LocalDiskBlobStore
) -> None:
    first = _put(platform, store, PDF, "a.pdf", owner_id="1")
    second = _put(platform, store, PDF, "b.pdf", owner_id="2")
    assert first.sha256 == second.sha256
    assert first.id != second.id
    assert _counts(platform) == (1, 2)
    assert len(_files_on_disk(blobs.root)) == 1


class _EndlessZeros:
    def __init__(self) -> None:
        self.consumed = 0

    def read(self, size: int, /) -> bytes:
        self.consumed += size
        return b"\x00" * size


def test_size_limit_is_enforced_while_streaming_and_leaves_no_temp_file(
    platform: Platform, blobs: LocalDiskBlobStore
) -> None:
    limit = 1024 * 1024
    store = FileStore(blobs, max_bytes=limit, allowed_types=["application/pdf"])
    source = _EndlessZeros()
    with platform.uow() as uow, pytest.raises(FileRejected) as caught:
        store.put(uow, source, "huge.pdf", owner_kind="case", owner_id="1", tenant=TENANT, actor=CLERK)
    assert caught.value.details == {"reason": "too_large", "max_bytes": limit}
    assert caught.value.message == "文件超过大小限制（最大 1 MB）"
    assert source.consumed <= limit + CHUNK_BYTES
    assert _files_on_disk(blobs.root) == []
    assert _counts(platform) == (0, 0)


def test_exactly_the_limit_is_accepted(platform: Platform, blobs: LocalDiskBlobStore) -> None:
    store = FileStore(blobs, max_bytes=len(PDF), allowed_types=["application/pdf"])
    assert _put(platform, store, PDF, "x.pdf").size == len(PDF)


def test_executable_named_pdf_is_rejected_and_nothing_is_stored(
    platform: Platform, blobs: LocalDiskBlobStore
) -> None:
    # Even an allowed-type list that names executables cannot let them in.
    store = FileStore(blobs, max_bytes=10**6, allowed_types=["application/pdf", "application/x-msdownload"])
    error = _reject(platform, store, EXE, "invoice.pdf")
    assert error.details["reason"] == "executable"
    assert error.message == "不支持的文件类型：可执行程序"
    assert _files_on_disk(blobs.root) == []
    assert _counts(platform) == (0, 0)


def test_types_outside_the_allowed_list_and_empty_files_are_rejected(
    platform: Platform, store: FileStore, blobs: LocalDiskBlobStore
) -> None:
    error = _reject(platform, store, GIF, "photo.png")
    assert error.details == {"reason": "unsupported_type", "media_type": "image/gif"}
    assert error.message == "不支持的文件类型：image/gif"
    assert _reject(platform, store, b"", "empty.pdf").details["reason"] == "empty"
    assert _files_on_disk(blobs.root) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("姓名,年龄\n张三,30\n李四,41\n".encode(), "text/csv"),
        ("姓名,年龄\n张三,30\n李四,41\n".encode("gbk"), "text/csv"),
        ('{"事项": "营业执照"}'.encode(), "application/json"),
        ("办件材料清单\n身份证\n".encode(), "text/plain"),
        ("办件材料清单\n身份证\n".encode("gbk"), "text/plain"),
    ],
)
def test_text_uploads_are_typed_by_content(
    platform: Platform, store: FileStore, data: bytes, expected: str
) -> None:
    assert _put(platform, store, data, "upload.pdf").media_type == expected


def test_eicar_is_rejected_and_nothing_is_stored(
    platform: Platform, store: FileStore, blobs: LocalDiskBlobStore
) -> None:
    error = _reject(platform, store, EICAR.pattern + b"\r\n", "eicar.txt")
    assert error.details == {"reason": "infected"}
    assert error.message == "文件未通过安全扫描"
    assert _files_on_disk(blobs.root) == []
    assert _counts(platform) == (0, 0)


def test_a_rejection_never_removes_a_blob_in_use(
    platform: Platform, store: FileStore, blobs: LocalDiskBlobStore
) -> None:
    stored = _put(platform, store, PDF, "a.pdf")
    stricter = FileStore(blobs, max_bytes=10**6, allowed_types=["text/plain"])
    assert _reject(platform, stricter, PDF, "a.pdf").details["reason"] == "unsupported_type"
    with platform.uow() as uow:
        _, stream = store.open(uow, stored.id)
        with stream:
            assert stream.read() == PDF


def test_rolled_back_upload_leaves_an_orphan_that_collection_removes_after_the_grace_period(
    platform: Platform, store: FileStore, blobs: LocalDiskBlobStore
) -> None:
    kept = _put(platform, store, PDF, "kept.pdf")
    orphan = _put(platform, store, b"rolled back\n", "gone.txt", commit=False)
    assert blobs.exists(orphan.sha256)
    assert _counts(platform) == (1, 1)
    with platform.uow() as uow:
        assert collect_orphans(uow.session, blobs, DAY).blobs_removed == 0
    assert blobs.exists(orphan.sha256)
    with platform.uow() as uow:
        report = collect_orphans(uow.session, blobs, timedelta(0))
    assert report.blobs_removed == 1
    assert not blobs.exists(orphan.sha256)
    assert blobs.exists(kept.sha256)


def test_reusing_an_old_orphan_refreshes_it_so_collection_spares_it(
    platform: Platform, store: FileStore, blobs: LocalDiskBlobStore
) -> None:
    orphan = _put(platform, store, PDF, "first.pdf", commit=False)
    two_days_ago = time.time() - 2 * 86400
    os.utime(blobs.path(orphan.sha256), (two_days_ago, two_days_ago))
    with platform.uow() as uow:
        store.put(
            uow, io.BytesIO(PDF), "again.pdf", owner_kind="case", owner_id="9", tenant=TENANT, actor=CLERK
        )
        # The upload's transaction is still open (its rows invisible) when the collector runs.
        with platform.uow() as collector:
            assert collect_orphans(collector.session, blobs, DAY).blobs_removed == 0
        uow.commit()
    assert blobs.exists(orphan.sha256)


def test_conditional_delete_and_temp_leftovers(blobs: LocalDiskBlobStore) -> None:
    sha256, _ = blobs.put_stream(io.BytesIO(PDF))
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert not blobs.delete(sha256, modified_before=an_hour_ago)
    assert blobs.exists(sha256)
    # A collector that died mid-delete leaves the blob aside; it is put back, not lost.
    trash = blobs.root / "tmp" / f"del-{sha256}-dead"
    os.replace(blobs.path(sha256), trash)
    stale_upload = blobs.root / "tmp" / "put-crashed"
    stale_upload.write_bytes(b"partial")
    assert blobs.purge_stale_temp(datetime.now(UTC) + timedelta(minutes=1)) == 2
    assert blobs.exists(sha256)
    assert _files_on_disk(blobs.root) == [blobs.path(sha256)]
    assert blobs.delete(sha256, modified_before=datetime.now(UTC) + timedelta(minutes=1))
    assert not blobs.delete(sha256)


def test_the_daily_job_collects_orphans(
    platform: Platform, store: FileStore, blobs: LocalDiskBlobStore
) -> None:
    # The platform registers the production job (one day's grace); this test's own registry uses none.
    assert platform.jobs.schedules[COLLECT_ORPHANS_JOB].interval_seconds == 86400
    registry = JobRegistry()
    register_jobs(registry, blobs, grace=timedelta(0))
    orphan = _put(platform, store, b"never committed\n", "x.txt", commit=False)
    worker = Worker(platform.session_factory, registry, platform.worker_config())
    worker.sync_schedules()
    worker.run_until_idle()
    assert not blobs.exists(orphan.sha256)


def test_tampered_blob_is_detected_on_read(
    platform: Platform, store: FileStore, blobs: LocalDiskBlobStore
) -> None:
    stored = _put(platform, store, PDF, "a.pdf")
    blobs.path(stored.sha256).write_bytes(PDF.replace(b"Catalog", b"Katalog"))
    with platform.uow() as uow:
        _, stream = store.open(uow, stored.id)
        with stream, pytest.raises(BlobCorruptedError) as caught:
            stream.read()
    assert caught.value.details == {"sha256": stored.sha256, "problem": "content does not match its SHA-256"}
    blobs.path(stored.sha256).unlink()
    with platform.uow() as uow, pytest.raises(BlobCorruptedError, match="文件已损坏或丢失"):
        store.open(uow, stored.id)


def test_unknown_file_id_is_not_found(platform: Platform, store: FileStore) -> None:
    with platform.uow() as uow, pytest.raises(NotFound):
        store.get(uow, 424242)


def test_from_settings_stores_under_the_configured_files_dir(platform: Platform) -> None:
    store = FileStore.from_settings(platform.settings)
    stored = _put(platform, store, PDF, "a.pdf")
    assert (
        platform.settings.resolved_files_dir / stored.sha256[:2] / stored.sha256[2:4] / stored.sha256
    ).is_file()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\张三\\Desktop\\营业执照.pdf", "营业执照.pdf"),
        ('a<b>:"c"|?*.pdf', "a_b___c____.pdf"),
        ("line\nbreak\x00.txt", "line_break_.txt"),
        ("..", "file"),
        (".hidden", "hidden"),
        ("", "file"),
        ("长" * 300 + ".pdf", "长" * 251 + ".pdf"),
    ],
)
def test_filenames_are_sanitised(raw: str, expected: str) -> None:
    assert sanitize_filename(raw) == expected
