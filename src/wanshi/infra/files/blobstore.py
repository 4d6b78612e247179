"""Where file bytes live, named by their SHA-256.

``BlobStore`` is the seam for storage back ends. ``LocalDiskBlobStore`` is the default. An
S3-compatible store is a later implementation of the same Protocol: ``put_stream`` would spool to a
local temporary file (the key is the hash, known only at the end), run ``inspect`` on it, then upload
it under ``<sha256>`` unless ``HeadObject`` finds it (and otherwise refresh its modification time by
copying it onto itself); ``purge_stale_temp`` would abort stale multipart uploads; ``delete`` with
``modified_before`` would use a conditional delete where the service offers one.

Invariants every implementation keeps:
- a blob becomes visible under its name only complete and durable (temp file, fsync, atomic rename),
  so a database row written afterwards never points at a partial or missing blob;
- a blob already present is not rewritten, but its modification time is refreshed, which is what tells
  the orphan collector that a transaction may be about to refer to it;
- reading a blob verifies its hash, so silent corruption or tampering on disk is an error, not data.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ClassVar, Protocol

from wanshi.kernel.errors import WanshiError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK_BYTES = 256 * 1024

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_HEX_PAIR = re.compile(r"[0-9a-f]{2}")
_TRASH_PREFIX = "del-"


class ByteSource(Protocol):
    """Anything with ``read(size)`` returning bytes: an open file, an upload's spool file, a socket stream."""

    def read(self, size: int, /) -> bytes: ...


# Called with the complete, fsync'd content (opened for reading, at offset 0) and its size, before the
# blob becomes visible; raising rejects the content and nothing is stored.
Inspector = Callable[[BinaryIO, int], None]


class BlobTooLargeError(Exception):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"content exceeds {max_bytes} bytes")
        self.max_bytes = max_bytes


class BlobCorruptedError(WanshiError):
    """A stored blob is missing or its bytes no longer match its hash: an integrity failure to investigate."""

    code: ClassVar[str] = "file_corrupted"
    http_status: ClassVar[int] = 500
    default_message: ClassVar[str] = "文件已损坏或丢失，请联系系统管理员"


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int
    modified_at: datetime


class BlobStore(Protocol):
    def put_stream(
        self, stream: ByteSource, *, max_bytes: int | None = None, inspect: Inspector | None = None
    ) -> tuple[str, int]:
        """Store the stream's bytes; returns (sha256, size). Raises BlobTooLargeError past max_bytes."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """A reader that raises BlobCorruptedError when the bytes do not hash to the name."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str, *, modified_before: datetime | None = None) -> bool:
        """Remove a blob, returning whether it did; with modified_before, only if not put since then."""
        ...

    def iter_all(self) -> Iterator[BlobInfo]: ...

    def purge_stale_temp(self, modified_before: datetime) -> int:
        """Clean up what crashed writers left behind; returns how many leftovers were handled."""
        ...


class LocalDiskBlobStore:
    """Blobs at ``root/ab/cd/<sha256>``; work in progress in ``root/tmp``, on the same file system so
    that renames are atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"

    def path(self, sha256: str) -> Path:
        if not _SHA256_HEX.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put_stream(
        self, stream: ByteSource, *, max_bytes: int | None = None, inspect: Inspector | None = None
    ) -> tuple[str, int]:
        self._tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        staged = Path(name)
        try:
            digest = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_BYTES):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise BlobTooLargeError(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if inspect is not None:
                with staged.open("rb") as content:
                    inspect(content, size)
            sha256 = digest.hexdigest()
            self._place(staged, sha256)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return sha256, size

    def _place(self, staged: Path, sha256: str) -> None:
        target = self.path(sha256)
        try:
            os.utime(target)
        except FileNotFoundError:
            pass
        else:
            staged.unlink()
            return
        created = not target.parent.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        _fsync_dir(target.parent)
        if created:
            _fsync_dir(target.parent.parent)
            _fsync_dir(self.root)

    def open(self, sha256: str) -> BinaryIO:
        try:
            raw = self.path(sha256).open("rb")
        except FileNotFoundError:
            raise BlobCorruptedError(sha256=sha256, problem="missing") from None
        return io.BufferedReader(_VerifyingReader(raw, sha256), CHUNK_BYTES)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def delete(self, sha256: str, *, modified_before: datetime | None = None) -> bool:
        target = self.path(sha256)
        if modified_before is None:
            try:
                target.unlink()
            except FileNotFoundError:
                return False
            return True
        # Move it aside first, then judge its age: a concurrent put either refreshed the time before
        # the move (seen here, so the blob goes back) or finds the name free and writes its own copy.
        self._tmp.mkdir(parents=True, exist_ok=True)
        trash = self._tmp / f"{_TRASH_PREFIX}{sha256}-{uuid.uuid4().hex}"
        try:
            os.replace(target, trash)
        except FileNotFoundError:
            return False
        if trash.stat().st_mtime < modified_before.timestamp():
            trash.unlink()
            return True
        os.replace(trash, target)
        return False

    def iter_all(self) -> Iterator[BlobInfo]:
        for level1 in _subdirs(self.root):
            for level2 in _subdirs(Path(level1.path)):
                with os.scandir(level2.path) as entries:
                    for entry in entries:
                        if not _SHA256_HEX.fullmatch(entry.name):
                            continue
                        try:
                            st = entry.stat()
                        except FileNotFoundError:
                            continue
                        yield BlobInfo(entry.name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def purge_stale_temp(self, modified_before: datetime) -> int:
        if not self._tmp.is_dir():
            return 0
        handled = 0
        cutoff = modified_before.timestamp()
        with os.scandir(self._tmp) as scan:
            entries = list(scan)
        for entry in entries:
            try:
                st = entry.stat()
            except FileNotFoundError:  # an upload finished or a collector judged it meanwhile
                continue
            sha256 = entry.name.removeprefix(_TRASH_PREFIX).split("-", 1)[0]
            if entry.name.startswith(_TRASH_PREFIX) and _SHA256_HEX.fullmatch(sha256):
                # A collector died between moving a blob aside and judging it (the move set ctime, and
                # no live collector holds one that long): put it back, since it may be in use; the next
                # collection judges it again.
                if st.st_ctime < cutoff:
                    target = self.path(sha256)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(entry.path, target)
                    handled += 1
            elif st.st_mtime < cutoff:
                Path(entry.path).unlink(missing_ok=True)
                handled += 1
        return handled


class _VerifyingReader(io.RawIOBase):
    """Hashes while reading and raises before handing out the last bytes if they do not match."""

    def __init__(self, raw: io.BufferedReader, sha256: str) -> None:
        super().__init__()
        self._raw = raw
        self._sha256 = sha256
        self._size = os.fstat(raw.fileno()).st_size
        self._read = 0
        self._digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer)
        n = self._raw.readinto(view)
        self._digest.update(view[:n])
        self._read += n
        if n == 0 or self._read >= self._size:
            self._verify()
        return n

    def _verify(self) -> None:
        if self._read != self._size or self._digest.hexdigest() != self._sha256:
            raise BlobCorruptedError(sha256=self._sha256, problem="content does not match its SHA-256")

    def close(self) -> None:
        self._raw.close()
        super().close()


def _subdirs(path: Path) -> list[os.DirEntry[str]]:
    if not path.is_dir():
        return []
    with os.scandir(path) as entries:
        return sorted(
            (e for e in entries if _HEX_PAIR.fullmatch(e.name) and e.is_dir()),
            key=lambda e: e.name,
        )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
