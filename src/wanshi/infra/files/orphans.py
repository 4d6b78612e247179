"""Removing blobs that no database row names.

A blob is written (and fsync'd) before its rows, so a transaction that rolls back, or a process that
dies before committing, leaves the blob behind. Such orphans are removed once they are older than a
grace period; the grace period must be longer than any transaction that stores files, because until
the transaction commits its blob looks exactly like an orphan. A put of content already on storage
refreshes the blob's modification time, so a blob about to be reused is never old.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wanshi.infra.files.blobstore import BlobStore
from wanshi.infra.files.tables import file_blob
from wanshi.infra.jobs import JobContext, JobRegistry
from wanshi.infra.uow import UnitOfWork

log = logging.getLogger(__name__)

COLLECT_ORPHANS_JOB = "files.collect_orphans"
DEFAULT_GRACE = timedelta(days=1)
_BATCH = 500


@dataclass(frozen=True)
class OrphanReport:
    blobs_removed: int
    temp_files_handled: int


def collect_orphans(session: Session, blobs: BlobStore, older_than: timedelta) -> OrphanReport:
    # Ages are judged against storage modification times, which the operating system stamps with real
    # time; the platform clock may be frozen or shifted in tests and demos.
    cutoff = datetime.now(UTC) - older_than
    temp_handled = blobs.purge_stale_temp(cutoff)
    removed = 0
    for batch in _batches(info.sha256 for info in blobs.iter_all() if info.modified_at < cutoff):
        known = set(
            session.execute(select(file_blob.c.sha256).where(file_blob.c.sha256.in_(batch))).scalars()
        )
        for sha256 in batch:
            if sha256 not in known and blobs.delete(sha256, modified_before=cutoff):
                removed += 1
    if removed or temp_handled:
        log.info("file store: removed %d orphan blobs, handled %d temporary leftovers", removed, temp_handled)
    return OrphanReport(removed, temp_handled)


def register_jobs(registry: JobRegistry, blobs: BlobStore, *, grace: timedelta = DEFAULT_GRACE) -> None:
    """The daily orphan collection. Call once from the composition root with the platform's blob store."""

    def run(uow: UnitOfWork, payload: dict[str, Any], ctx: JobContext) -> None:
        collect_orphans(uow.session, blobs, grace)

    registry.handler(COLLECT_ORPHANS_JOB, run)
    registry.every(COLLECT_ORPHANS_JOB, COLLECT_ORPHANS_JOB, 24 * 60 * 60)


def _batches(items: Iterator[str]) -> Iterator[list[str]]:
    while batch := list(islice(items, _BATCH)):
        yield batch
