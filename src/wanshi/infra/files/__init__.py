"""File store: content-addressed (SHA-256) blobs, type and size checked by content, malware scan hook.

Upload path: the bytes stream into a temporary file (hashing, stopping at the size limit), are typed by
content and scanned, and only then become a blob; the caller's unit of work gets the database rows and
the audit entry. Blobs of transactions that never committed are removed by ``files.collect_orphans``.
"""

from wanshi.infra.files.blobstore import (
    BlobCorruptedError,
    BlobInfo,
    BlobStore,
    BlobTooLargeError,
    ByteSource,
    LocalDiskBlobStore,
)
from wanshi.infra.files.orphans import COLLECT_ORPHANS_JOB, OrphanReport, collect_orphans, register_jobs
from wanshi.infra.files.scan import EICAR, Scanner, ScanResult, Signature, SignatureScanner
from wanshi.infra.files.sniff import EXECUTABLE_TYPES, sniff_media_type
from wanshi.infra.files.store import FileStore, StoredFile, sanitize_filename

__all__ = [
    "COLLECT_ORPHANS_JOB",
    "EICAR",
    "EXECUTABLE_TYPES",
    "BlobCorruptedError",
    "BlobInfo",
    "BlobStore",
    "BlobTooLargeError",
    "ByteSource",
    "FileStore",
    "LocalDiskBlobStore",
    "OrphanReport",
    "ScanResult",
    "Scanner",
    "Signature",
    "SignatureScanner",
    "StoredFile",
    "collect_orphans",
    "register_jobs",
    "sanitize_filename",
    "sniff_media_type",
]
