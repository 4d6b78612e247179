"""Malware scanning hook: every upload is scanned before it is stored; a scanner that fails fails the upload.

``SignatureScanner`` is the built-in default: it finds byte signatures in the raw stream (not inside
archives) and knows the EICAR test file, which is how operators check that scanning is switched on.

A ClamAV daemon plugs in as another ``Scanner`` (not written yet): connect to clamd (TCP 3310 or its
Unix socket), send ``zINSTREAM\\0``, then the content in chunks each prefixed with its length as a
4-byte big-endian integer, then a zero-length chunk; the reply is ``stream: OK\\0`` when clean or
``stream: <signature> FOUND\\0`` when not. clamd's ``StreamMaxLength`` must be at least
``file_max_bytes``, or it answers ``INSTREAM size limit exceeded``; that answer, a timeout or a refused
connection must raise rather than return clean, so an unavailable scanner blocks uploads instead of
waving them through. ClamAV also looks inside archives and office documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from wanshi.infra.files.blobstore import CHUNK_BYTES, ByteSource


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    detail: str = ""


class Scanner(Protocol):
    def scan(self, stream: ByteSource) -> ScanResult: ...


@dataclass(frozen=True)
class Signature:
    name: str
    pattern: bytes


# Assembled from two halves so that this source file is not itself reported by antivirus software.
EICAR = Signature(
    "EICAR-Test-File",
    b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
)


class SignatureScanner:
    def __init__(self, signatures: Sequence[Signature] = (EICAR,)) -> None:
        if not signatures or not all(s.pattern for s in signatures):
            raise ValueError("a signature scanner needs at least one non-empty signature")
        self._signatures = tuple(signatures)
        # Bytes carried from one chunk to the next so that a signature split across chunks is found.
        self._overlap = max(len(s.pattern) for s in signatures) - 1

    def scan(self, stream: ByteSource) -> ScanResult:
        carried = b""
        while chunk := stream.read(CHUNK_BYTES):
            window = carried + chunk
            for signature in self._signatures:
                if signature.pattern in window:
                    return ScanResult(clean=False, detail=signature.name)
            carried = window[len(window) - self._overlap :]
        return ScanResult(clean=True, detail=f"signature scan: {len(self._signatures)} signatures, no match")
